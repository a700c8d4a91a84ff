/* The gossip UDP socket: bind, send, and the receive loop that hands each datagram on. */
#include "netd/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netd/log.h"
#include "netd/wire.h"

/* Datagrams read per wake-up: a flood cannot hold the loop from its timers. */
#define TRANSPORT_RX_BURST 64

struct transport {
	struct ev_loop *loop;
	struct transport_handler handler;
	int fd;
	int family; /* of the socket */
	ev_io watcher;
	uint64_t oversize;
};

/* The socket address of ep for a socket of family; an IPv4 address on an IPv6 socket is
 * v4-mapped. Returns its length, or 0 when such a socket cannot reach ep. */
static socklen_t
sockaddr_from_endpoint(int family, const struct addr_endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (ep->addr.family != AF_INET)
			return 0;
		sin->sin_family = AF_INET;
		sin->sin_addr = ep->addr.u.v4;
		sin->sin_port = htons(ep->port);
		return sizeof(*sin);
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		if (ep->addr.family == AF_INET) {
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&sin6->sin6_addr.s6_addr[12], &ep->addr.u.v4, 4);
		} else if (ep->addr.family == AF_INET6) {
			sin6->sin6_addr = ep->addr.u.v6;
		} else {
			return 0;
		}
		sin6->sin6_port = htons(ep->port);
		return sizeof(*sin6);
	}
	return 0;
}

/* The sender of a datagram; a v4-mapped address is the IPv4 site it stands for. Returns 0,
 * or -1 for an address family gossip does not speak. */
static int
endpoint_from_sockaddr(const struct sockaddr_storage *ss, struct addr_endpoint *out)
{
	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		out->addr.family = AF_INET;
		out->addr.u.v4 = sin->sin_addr;
		out->port = ntohs(sin->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			out->addr.family = AF_INET;
			memcpy(&out->addr.u.v4, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			out->addr.family = AF_INET6;
			out->addr.u.v6 = sin6->sin6_addr;
		}
		out->port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -1;
}

/* Bytes of the gossip socket's receive buffer (the kernel doubles it for its overhead). */
#define TRANSPORT_RCVBUF (8 << 20)

static int
transport_socket(const struct addr_endpoint *bind_to)
{
	struct sockaddr_storage ss;
	socklen_t sl = sockaddr_from_endpoint(bind_to->addr.family, bind_to, &ss);
	char text[ADDR_ENDPOINT_STRLEN];
	int fd, one = 1, zero = 0, rcvbuf = TRANSPORT_RCVBUF;

	addr_endpoint_format(bind_to, text);
	fd = socket(bind_to->addr.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("gossip: socket for %s", text);
		return -1;
	}
	/* A wildcard IPv6 socket serves IPv4 sites too, whatever the sysctl says. */
	if (bind_to->addr.family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* A joiner's anti-entropy with a large federation's seed brings a credential and a
	 * descriptor per site in one burst, faster than they are verified: the default buffer
	 * (about 200 KiB) drops most of a 1,000-site one. Past net.core.rmem_max with
	 * CAP_NET_ADMIN, else as far as it allows. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		log_err("gossip: cannot bind %s", text);
		close(fd);
		return -1;
	}
	return fd;
}

static void
transport_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct transport *t = w->data;
	uint8_t buf[WIRE_DATAGRAM_MAX + 1];
	int i;

	(void)loop;
	(void)revents;
	for (i = 0; i < TRANSPORT_RX_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct addr_endpoint from;
		/* MSG_TRUNC: the length as sent, so a longer datagram is told from one that fits.
		 */
		ssize_t n = recvfrom(t->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
		                     (struct sockaddr *)&ss, &sl);

		if (n < 0)
			break;
		if ((size_t)n > WIRE_DATAGRAM_MAX) {
			t->oversize++;
			continue;
		}
		if (endpoint_from_sockaddr(&ss, &from) == 0)
			t->handler.datagram(t->handler.arg, &from, buf, (size_t)n);
	}
	t->handler.drained(t->handler.arg, i == TRANSPORT_RX_BURST);
}

int
transport_open(struct ev_loop *loop, const struct addr_endpoint *bind_to,
               const struct transport_handler *handler, struct transport **out)
{
	struct transport *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		log_errx("out of memory");
		return -1;
	}
	t->fd = transport_socket(bind_to);
	if (t->fd < 0) {
		free(t);
		return -1;
	}
	t->loop = loop;
	t->handler = *handler;
	t->family = bind_to->addr.family;
	ev_io_init(&t->watcher, transport_on_read, t->fd, EV_READ);
	t->watcher.data = t;
	ev_io_start(loop, &t->watcher);
	*out = t;
	return 0;
}

int
transport_rebind(struct transport *t, const struct addr_endpoint *bind_to)
{
	int fd = transport_socket(bind_to);

	if (fd < 0)
		return -1;
	ev_io_stop(t->loop, &t->watcher);
	close(t->fd);
	t->fd = fd;
	t->family = bind_to->addr.family;
	ev_io_set(&t->watcher, fd, EV_READ);
	ev_io_start(t->loop, &t->watcher);
	return 0;
}

void
transport_send(struct transport *t, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sockaddr_from_endpoint(t->family, to, &ss);

	if (sl == 0)
		return;
	if (sendto(t->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0)
		log_debug("gossip: sendto: %s", strerror(errno));
}

uint64_t
transport_oversize(const struct transport *t)
{
	return t->oversize;
}

void
transport_close(struct transport *t)
{
	if (t == NULL)
		return;
	ev_io_stop(t->loop, &t->watcher);
	close(t->fd);
	free(t);
}
