/* Lines on stderr: dated to the millisecond in UTC, unless stderr is the journal that
 * systemd named in JOURNAL_STREAM (the journal dates lines itself). */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "netd/log.h"

/* Points stderr at a new temporary file for one log_init and one line; returns the line. */
static void
log_one_line(const char *journal_stream, char *out, size_t cap)
{
	char path[] = "/tmp/test_log.XXXXXX";
	int saved = dup(STDERR_FILENO), fd = mkstemp(path);
	char stream[64];
	struct stat st;
	FILE *f;

	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	if (journal_stream == NULL) {
		unsetenv("JOURNAL_STREAM");
	} else {
		/* "this": stderr's own device and inode; anything else is taken literally. */
		if (strcmp(journal_stream, "this") == 0)
			snprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long)st.st_dev,
			         (unsigned long long)st.st_ino);
		else
			snprintf(stream, sizeof(stream), "%s", journal_stream);
		setenv("JOURNAL_STREAM", stream, 1);
	}
	log_init("test", LOG_LEVEL_INFO, true, false);
	log_info("site %s: join", "beta");
	log_debug("not at this level");
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	assert_non_null(fgets(out, (int)cap, f));
	assert_null(fgets((char[64]){0}, 64, f));
	fclose(f);
	unlink(path);
	unsetenv("JOURNAL_STREAM");
}

static void
assert_dated(const char *line)
{
	regex_t re;
	struct tm tm = {0};
	time_t then, now = time(NULL);

	assert_int_equal(
	        regcomp(&re,
	                "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
	                "info: site beta: join\n$",
	                REG_EXTENDED | REG_NOSUB),
	        0);
	assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
	regfree(&re);
	/* UTC, and now: within a minute of the test's own clock. */
	assert_non_null(strptime(line, "%Y-%m-%dT%H:%M:%S", &tm));
	then = timegm(&tm);
	assert_true(then <= now + 1 && now - then < 60);
}

static void
test_stderr_lines_dated(void **state)
{
	char line[256];

	(void)state;
	log_one_line(NULL, line, sizeof(line));
	assert_dated(line);
}

static void
test_journal_lines_not_dated(void **state)
{
	char line[256];

	(void)state;
	log_one_line("this", line, sizeof(line));
	assert_string_equal(line, "info: site beta: join\n");
}

/* A JOURNAL_STREAM inherited by a process whose stderr went elsewhere (a shell started from
 * a unit, redirecting to a file), or one that is malformed, still dates the lines. */
static void
test_other_stream_dated(void **state)
{
	char line[256];

	(void)state;
	log_one_line("1:2", line, sizeof(line));
	assert_dated(line);
	log_one_line("garbage", line, sizeof(line));
	assert_dated(line);
	log_one_line("", line, sizeof(line));
	assert_dated(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_stderr_lines_dated),
	        cmocka_unit_test(test_journal_lines_not_dated),
	        cmocka_unit_test(test_other_stream_dated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
