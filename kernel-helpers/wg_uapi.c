/* Userspace WireGuard over its UAPI socket (WG_USERSPACE_SOCKET_DIR/NAME.sock): one request
 * and its reply per connection, every exchange bounded in time and in size.
 *
 * The bound is on inactivity (wg_set_wait_ms), never a blocking wait: netd calls in from its
 * event loop, where a stopped or wedged process must cost milliseconds, not the seconds that
 * get its site suspected by the others. Connecting does not wait at all (a full backlog is
 * a failure to retry later), and a reply that keeps streaming -- a get of thousands of peers
 * -- keeps the exchange alive however long it is, up to WG_UAPI_TOTAL_MS. Doing the
 * exchange asynchronously instead would split every caller around it; a failure here is
 * already something each caller retries. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <sodium.h>

#include "kernel-helpers/wg_internal.h"

int
wg_uapi_socket_path(const char *name, char *path, size_t pathlen)
{
	int n = snprintf(path, pathlen, "%s/%s.sock", WG_USERSPACE_SOCKET_DIR, name);

	if (n < 0 || (size_t)n >= pathlen)
		return -ENAMETOOLONG;
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
uapi_connect(const char *name, int *out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = -1, ret;

	ret = wg_uapi_socket_path(name, sun.sun_path, sizeof(sun.sun_path));
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A unix connect completes at once or fails with EAGAIN when the backlog is full
	 * (the process does not accept): that is a stall, not something to wait for. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

/* The reply may hold the private key: it grows in memory kept out of swap and core dumps,
 * and every buffer it leaves is wiped (sodium_free). */
static int
grow_secret(char **buf, size_t len, size_t *cap)
{
	size_t ncap = *cap ? *cap * 2 : 65536;
	char *nbuf;

	if (ncap > WG_UAPI_MAX_REPLY + 1)
		ncap = WG_UAPI_MAX_REPLY + 1;
	if (ncap <= len)
		return -EPROTO;
	nbuf = sodium_malloc(ncap);
	if (!nbuf)
		return -ENOMEM;
	if (*buf) {
		memcpy(nbuf, *buf, len);
		sodium_free(*buf);
	}
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/* Write the request while reading the reply, so that an early error reply (the process
 * stops reading at the first bad line) is not missed; stop at the reply's empty line. */
static int
exchange(int fd, const char *req, size_t reqlen, char **reply, size_t *replylen)
{
	int64_t start = now_ms(), idle = wg_wait_ms(), idle_deadline = start + idle;
	size_t sent = 0, len = 0, cap = 0;
	char *buf = NULL;
	bool complete = false, can_send = true;
	int ret;

	while (!complete) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t now = now_ms(), left = idle_deadline - now;
		ssize_t n;

		if (start + WG_UAPI_TOTAL_MS - now < left)
			left = start + WG_UAPI_TOTAL_MS - now;

		if (can_send && sent < reqlen)
			pfd.events |= POLLOUT;
		if (left <= 0) {
			ret = -ETIMEDOUT;
			goto fail;
		}
		n = poll(&pfd, 1, (int)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto fail;
		}
		if (n == 0)
			continue;
		if (pfd.revents & POLLOUT) {
			n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				sent += (size_t)n;
				idle_deadline = now_ms() + idle;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR)
				can_send = false; /* the reply may still be there to read */
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (cap - len < 4096) {
				ret = grow_secret(&buf, len, &cap);
				if (ret < 0)
					goto fail;
			}
			n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				ret = -errno;
				goto fail;
			}
			if (n == 0) {
				ret = -ECONNRESET;
				goto fail;
			}
			/* Only the reply's end has an empty line. */
			for (size_t i = len ? len - 1 : 0; i + 1 < len + (size_t)n; i++)
				if (buf[i] == '\n' && buf[i + 1] == '\n')
					complete = true;
			len += (size_t)n;
			idle_deadline = now_ms() + idle;
		}
	}
	*reply = buf;
	*replylen = len;
	return 0;
fail:
	sodium_free(buf);
	return ret;
}

/* One request, one reply; errors are described with the device's name. */
static int
request(const char *name, const char *req, size_t reqlen, char **reply, size_t *replylen)
{
	int fd = -1, ret;

	if (sodium_init() < 0) {
		wg_set_error("%s: libsodium cannot start", name);
		return -ENOMEM;
	}
	ret = uapi_connect(name, &fd);
	if (ret < 0) {
		wg_set_error("%s: cannot connect to %s/%s.sock: %s", name, WG_USERSPACE_SOCKET_DIR,
		             name, strerror(-ret));
		return ret;
	}
	ret = exchange(fd, req, reqlen, reply, replylen);
	close(fd);
	if (ret == -ETIMEDOUT)
		wg_set_error("%s: userspace implementation stalled (nothing for %d ms, or no "
		             "answer within %d ms)",
		             name, wg_wait_ms(), WG_UAPI_TOTAL_MS);
	else if (ret == -ECONNRESET)
		wg_set_error("%s: userspace implementation closed the connection mid-reply", name);
	else if (ret == -EPROTO)
		wg_set_error("%s: userspace reply larger than %u bytes", name, WG_UAPI_MAX_REPLY);
	else if (ret < 0)
		wg_set_error("%s: userspace socket: %s", name, strerror(-ret));
	return ret;
}

static const char get_request[] = "get=1\n\n";

bool
wg_uapi_answers(const char *name)
{
	struct wg_device *dev;
	char *reply;
	size_t len;
	int ret;

	ret = request(name, get_request, sizeof(get_request) - 1, &reply, &len);
	if (ret < 0)
		return false;
	ret = wg_uapi_parse_get(reply, len, name, &dev);
	sodium_free(reply);
	if (ret < 0)
		return false;
	wg_free_device(dev);
	return true;
}

int
wg_uapi_get_device(const char *name, struct wg_device **dev)
{
	struct wg_device *d;
	char *reply;
	size_t len;
	int ret;

	ret = request(name, get_request, sizeof(get_request) - 1, &reply, &len);
	if (ret < 0)
		return ret;
	ret = wg_uapi_parse_get(reply, len, name, &d);
	sodium_free(reply);
	if (ret < 0)
		return ret;
	*dev = d;
	return 0;
}

int
wg_uapi_set_device(const struct wg_device *dev)
{
	char *text, *reply;
	size_t len, replylen;
	int ret;

	ret = wg_uapi_build_set(dev, &text, &len);
	if (ret < 0)
		return ret;
	ret = request(dev->name, text, len, &reply, &replylen);
	sodium_free(text);
	if (ret < 0)
		return ret;
	ret = wg_uapi_parse_set(reply, replylen, dev->name);
	sodium_free(reply);
	return ret;
}
