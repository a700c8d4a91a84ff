/* The readiness datagram: what arrives at $NOTIFY_SOCKET, a path or an abstract name, and
 * nothing sent (nor an error) when it is unset. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "netd/notify.h"

/* A datagram socket bound to name (a path, or "@..." abstract); its fd. */
static int
listener(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(sun.sun_path, name, len);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		alen++;
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, alen), 0);
	return fd;
}

static void
expect_datagram(int fd, const char *want)
{
	char buf[600];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
test_path(void **state)
{
	char path[] = "/tmp/netd-notify-XXXXXX", sock[64];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/notify", path);
	fd = listener(sock);
	setenv("NOTIFY_SOCKET", sock, 1);
	assert_int_equal(notify_send("READY=1"), 0);
	expect_datagram(fd, "READY=1");
	assert_int_equal(notify_sendf("READY=1\nSTATUS=serving site %s", "alpha"), 0);
	expect_datagram(fd, "READY=1\nSTATUS=serving site alpha");
	close(fd);
	unlink(sock);
	rmdir(path);
	/* Nobody listening any more: the error is the caller's to report. */
	assert_int_equal(notify_send("STOPPING=1"), -ENOENT);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_abstract(void **state)
{
	char name[64];
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "@netd-notify-test-%d", (int)getpid());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(notify_send("STOPPING=1"), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_unset_or_bad(void **state)
{
	char longname[200];

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(notify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(notify_send("READY=1"), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	assert_int_equal(notify_send("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_path),
	        cmocka_unit_test(test_abstract),
	        cmocka_unit_test(test_unset_or_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
