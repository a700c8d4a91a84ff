/* Logging: one formatter feeding stderr and/or syslog, filtered by level. */
#include "netd/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_LEVEL_INFO;
static bool use_stderr = true;
static bool use_syslog;
static bool stamp_stderr;

static const char *const level_names[] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARNING] = "warning",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

static const int syslog_priorities[] = {
        [LOG_LEVEL_ERROR] = LOG_ERR,
        [LOG_LEVEL_WARNING] = LOG_WARNING,
        [LOG_LEVEL_INFO] = LOG_INFO,
        [LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

/* Whether stderr is journald's stream: systemd names the stream it connected as
 * JOURNAL_STREAM=DEVICE:INODE, and the journal dates every line itself. */
static bool
stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (stream == NULL || sscanf(stream, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *ident, enum log_level level, bool to_stderr, bool to_syslog)
{
	current_level = level;
	use_stderr = to_stderr;
	use_syslog = to_syslog;
	/* A log kept in a file or read from a terminal at 3 a.m. needs its times; the journal
	 * has its own. */
	stamp_stderr = to_stderr && !stderr_is_journal();
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level
log_get_level(void)
{
	return current_level;
}

void
log_close(void)
{
	if (use_syslog)
		closelog();
	use_syslog = false;
}

int
log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if ((size_t)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "unknown";
	return level_names[level];
}

/* The wall clock in UTC to the millisecond, as RFC 3339 writes it:
 * 2026-12-05T16:40:01.123Z. */
static const char *
stamp(char *buf, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (gmtime_r(&ts.tv_sec, &tm) == NULL)
		return "-";
	n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0)
		return "-";
	snprintf(buf + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return buf;
}

static void
log_emit(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char msg[1024], stamp_buf[40];
	int n;

	if (level > current_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errnum != 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnum));
	if (use_stderr && stamp_stderr)
		fprintf(stderr, "%s %s: %s\n", stamp(stamp_buf, sizeof(stamp_buf)),
		        level_names[level], msg);
	else if (use_stderr)
		fprintf(stderr, "%s: %s\n", level_names[level], msg);
	if (use_syslog)
		syslog(syslog_priorities[level], "%s", msg);
}

#define LOG_FN(name, level, with_errno)                                                            \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_emit(level, with_errno ? saved : 0, fmt, ap);                                  \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	}

LOG_FN(log_err, LOG_LEVEL_ERROR, 1)
LOG_FN(log_errx, LOG_LEVEL_ERROR, 0)
LOG_FN(log_warn, LOG_LEVEL_WARNING, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARNING, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)

static void log_at(enum log_level level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
log_at(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(level, 0, fmt, ap);
	va_end(ap);
}

static double
monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Ends the current interval: the count of what it suppressed is logged, if any. */
static void
limit_restart(struct log_limit *l, double now)
{
	if (l->suppressed > 0)
		log_at(l->level, "%s: %llu more not logged (at most %u per %g s)", l->what,
		       l->suppressed, l->burst, l->interval);
	l->start = now;
	l->used = 0;
	l->suppressed = 0;
}

bool
log_limit_allow(struct log_limit *l)
{
	double now = monotonic_seconds();

	if (l->used == 0 || now - l->start >= l->interval)
		limit_restart(l, now);
	if (l->used < l->burst) {
		l->used++;
		return true;
	}
	l->suppressed++;
	return false;
}

void
log_limit_flush(struct log_limit *l, bool at_once)
{
	double now;

	if (l->suppressed == 0)
		return;
	now = monotonic_seconds();
	/* With nothing used, the next occurrence starts an interval of its own. */
	if (at_once || now - l->start >= l->interval)
		limit_restart(l, now);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
