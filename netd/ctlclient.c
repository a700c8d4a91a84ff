/* The client side of the status socket: one connection, request lines out, reply and event
 * lines in, every wait and every line bounded. */
#include "netd/ctlclient.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "netd/ctl.h"

#define CTLCLIENT_BUF_START 4096

struct ctlclient {
	int fd;
	char *buf;
	size_t len;     /* bytes in buf */
	size_t used;    /* buf[0..used) was returned by the last call */
	size_t scanned; /* buf[0..scanned) holds no newline */
	size_t cap;
	bool eof;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
ctlclient_connect(const char *path, int timeout_ms, struct ctlclient **client)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	struct ctlclient *c;
	struct timeval tv;
	int fd, err;

	if (plen == 0 || plen >= sizeof(addr.sun_path))
		return plen == 0 ? -ENOENT : -ENAMETOOLONG;
	memcpy(addr.sun_path, path, plen + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A Unix socket's connect() waits for room in the listener's backlog under the send
	 * timeout: a daemon that stopped accepting must not hang us. */
	if (timeout_ms >= 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		if (tv.tv_sec == 0 && tv.tv_usec == 0)
			tv.tv_usec = 1;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
			goto fail;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (errno == EAGAIN && timeout_ms >= 0)
			errno = ETIMEDOUT;
		goto fail;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto fail;
	c->fd = fd;
	*client = c;
	return 0;
fail:
	err = errno;
	close(fd);
	return -err;
}

void
ctlclient_free(struct ctlclient *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

int
ctlclient_send(struct ctlclient *c, const char *command, const json_t *args)
{
	json_t *req;
	char *text = NULL;
	size_t len, off = 0;
	ssize_t n;
	int rc = -ENOMEM;

	req = json_pack("{s:s}", "command", command);
	if (req == NULL) {
		/* The one way packing a string fails apart from memory. */
		return -EINVAL;
	}
	if (args != NULL && json_object_set(req, "args", (json_t *)args) < 0)
		goto out;
	text = json_dumps(req, JSON_COMPACT);
	if (text == NULL)
		goto out;
	len = strlen(text);
	text[len++] = '\n'; /* over the NUL: the length is known from here on */
	while (off < len) {
		n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		off += (size_t)n;
	}
	rc = 0;
out:
	free(text);
	json_decref(req);
	return rc;
}

int
ctlclient_read_line(struct ctlclient *c, int timeout_ms, const char **line, size_t *len)
{
	long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	size_t cap;
	ssize_t n;
	char *nl, *p;
	int wait, r;

	if (c->used > 0) {
		memmove(c->buf, c->buf + c->used, c->len - c->used);
		c->len -= c->used;
		c->used = 0;
		c->scanned = 0;
	}
	for (;;) {
		nl = c->len > c->scanned ? memchr(c->buf + c->scanned, '\n', c->len - c->scanned)
		                         : NULL;
		if (nl != NULL) {
			*nl = '\0';
			*line = c->buf;
			*len = (size_t)(nl - c->buf);
			c->used = *len + 1;
			return 1;
		}
		c->scanned = c->len;
		if (c->eof)
			return c->len == 0 ? 0 : -EPROTO;
		if (c->len >= CTL_MAX_REPLY)
			return -EMSGSIZE;
		if (c->len == c->cap) {
			cap = c->cap != 0 ? c->cap * 2 : CTLCLIENT_BUF_START;
			if (cap > CTL_MAX_REPLY)
				cap = CTL_MAX_REPLY;
			p = realloc(c->buf, cap);
			if (p == NULL)
				return -ENOMEM;
			c->buf = p;
			c->cap = cap;
		}
		wait = -1;
		if (timeout_ms >= 0) {
			long long left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			wait = left > 1000000 ? 1000000 : (int)left;
		}
		r = poll(&pfd, 1, wait);
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
		if (n == 0)
			c->eof = true;
		c->len += (size_t)n;
	}
}
