#include "netd/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t nlen, state_len = strlen(state);
	socklen_t alen;
	ssize_t sent;
	int fd, err = 0;

	if (name == NULL || name[0] == '\0')
		return 0;
	nlen = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || nlen >= sizeof(sun.sun_path))
		return -EINVAL;
	memcpy(sun.sun_path, name, nlen);
	/* An abstract name starts with a NUL byte and is as long as it is, unterminated. */
	if (name[0] == '@') {
		sun.sun_path[0] = '\0';
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + nlen);
	} else {
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + nlen + 1);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, state, state_len, MSG_NOSIGNAL, (struct sockaddr *)&sun, alen);
	if (sent < 0)
		err = -errno;
	else if ((size_t)sent != state_len)
		err = -EMSGSIZE;
	close(fd);
	return err;
}

int
notify_sendf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EMSGSIZE;
	return notify_send(buf);
}
