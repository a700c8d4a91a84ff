/* Netlink plumbing: the sockets, the exchange of a request for its whole answer (sequence
 * checks, acks, extended-ack text, interrupted dumps run again, bounded waits) and attribute
 * validation, for rtnetlink and WireGuard's generic netlink alike, so that every call is bounded
 * in time and every kernel error comes back as -errno with the kernel's own words. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>

#include <sodium.h>

#include "kernel-helpers/monitor.h"
#include "kernel-helpers/nl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

/* What a receive buffer starts with; a datagram that needs more gets more. */
#define RECV_SIZE 32768

struct conn {
	int fd;
	uint32_t port;
	uint8_t *buf; /* an answer may carry a private key: locked, kept out of core dumps */
	size_t cap;
};

/* The sockets, by bus: see nl.h for why they stay open. Strict checking makes the kernel
 * filter route dumps itself; it is kept off the socket of other requests, whose checks
 * older kernels know in a form of their own. */
enum { CONN_ROUTE, CONN_ROUTE_STRICT, CONN_GENERIC, NCONNS };
static struct conn conns[NCONNS] = {{.fd = -1}, {.fd = -1}, {.fd = -1}};
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t next_seq;

static int
conn_open(struct conn *c, int bus, bool strict)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	socklen_t salen = sizeof(sa);
	int one = 1, err;

	memset(c, 0, sizeof(*c));
	c->buf = sodium_init() < 0 ? NULL : sodium_malloc(RECV_SIZE);
	if (!c->buf)
		return -ENOMEM;
	c->cap = RECV_SIZE;
	c->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, bus);
	if (c->fd < 0)
		goto fail;
	/* Both are optional: an older kernel just gives terser errors and unfiltered dumps,
	 * which the callers filter again anyway. */
	(void)setsockopt(c->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(c->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (strict)
		(void)setsockopt(c->fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(c->fd, (struct sockaddr *)&sa, &salen) < 0)
		goto fail;
	c->port = sa.nl_pid;
	return 0;
fail:
	err = -errno;
	if (c->fd >= 0)
		close(c->fd);
	sodium_free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	return err;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	sodium_free(c->buf); /* wipes it */
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static int
conn_send(struct conn *c, struct nlmsghdr *h, uint32_t seq, bool dump)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t n;

	h->nlmsg_seq = seq;
	h->nlmsg_pid = c->port;
	h->nlmsg_flags |= NLM_F_REQUEST;
	/* A dump ends with its done message; anything else is acknowledged. */
	if (dump)
		h->nlmsg_flags &= ~NLM_F_ACK;
	else
		h->nlmsg_flags |= NLM_F_ACK;
	do
		n = sendto(c->fd, h, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)h->nlmsg_len ? 0 : -EMSGSIZE;
}

/* Makes room for a datagram of size bytes; what the buffer held is not kept. */
static int
conn_reserve(struct conn *c, size_t size)
{
	uint8_t *buf;

	if (size <= c->cap)
		return 0;
	buf = sodium_malloc(size);
	if (!buf)
		return -ENOMEM;
	sodium_free(c->buf);
	c->buf = buf;
	c->cap = size;
	return 0;
}

/* Waits at most KH_NL_TIMEOUT_MS for fd to have something to read. */
static int
wait_readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;

	do
		r = poll(&pfd, 1, KH_NL_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* Receives one datagram from the kernel into c->buf, waiting at most KH_NL_TIMEOUT_MS. */
static int
conn_recv(struct conn *c, size_t *len)
{
	struct sockaddr_nl from;
	struct iovec iov;
	struct msghdr mh = {
	        .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;
	int r;

	for (;;) {
		r = wait_readable(c->fd);
		if (r < 0)
			return r;
		/* Peek at the size first: a single message may outgrow any fixed buffer. */
		iov.iov_base = NULL;
		iov.iov_len = 0;
		n = recvmsg(c->fd, &mh, MSG_PEEK | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		r = conn_reserve(c, (size_t)n);
		if (r < 0)
			return r;
		iov.iov_base = c->buf;
		iov.iov_len = c->cap;
		mh.msg_namelen = sizeof(from);
		n = recvmsg(c->fd, &mh, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		/* Only the kernel answers requests; anything else on our port is not ours. */
		if (mh.msg_namelen != sizeof(from) || from.nl_pid != 0)
			continue;
		*len = (size_t)n;
		return 0;
	}
}

/* --- the answer to one request --- */

static int local_failure(struct kh_nl_status *st, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
local_failure(struct kh_nl_status *st, int err, const char *fmt, ...)
{
	va_list ap;

	st->err = err;
	st->local = true;
	va_start(ap, fmt);
	vsnprintf(st->text, sizeof(st->text), fmt, ap);
	va_end(ap);
	return err;
}

static const struct kh_attr_policy extack_policy[NLMSGERR_ATTR_MAX + 1] = {
        [NLMSGERR_ATTR_MSG] = {KH_ATTR_STRING, 0, 0},
};

/* The kernel's errno, and the extended-ack text in the attributes after the fixed part of
 * an error or done message. */
static void
kernel_failure(const struct nlmsghdr *h, size_t fixed, int err, struct kh_nl_status *st)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	/* Anything but a small negative number is no errno. */
	st->err = err < 0 && err > -4096 ? err : -EPROTO;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || h->nlmsg_len < fixed)
		return;
	if (kh_attr_parse((const uint8_t *)h + fixed, h->nlmsg_len - fixed, extack_policy,
	                  NLMSGERR_ATTR_MAX + 1, tb, "extended ack") < 0 ||
	    !tb[NLMSGERR_ATTR_MSG])
		return;
	snprintf(st->text, sizeof(st->text), "%s",
	         (const char *)kh_attr_data(tb[NLMSGERR_ATTR_MSG]));
}

static void
error_message(const struct nlmsghdr *h, struct kh_nl_status *st)
{
	struct nlmsgerr e;
	size_t fixed = NLMSG_HDRLEN + sizeof(e);

	if (h->nlmsg_len < fixed) {
		local_failure(st, -EBADMSG, "truncated error message from the kernel");
		return;
	}
	memcpy(&e, NLMSG_DATA(h), sizeof(e));
	st->done = true;
	if (e.error == 0)
		return;
	/* Without NLM_F_CAPPED the kernel echoes our whole request before the attributes. */
	if (!(h->nlmsg_flags & NLM_F_CAPPED) && e.msg.nlmsg_len >= NLMSG_HDRLEN)
		fixed += NLMSG_ALIGN(e.msg.nlmsg_len - NLMSG_HDRLEN);
	kernel_failure(h, fixed, e.error, st);
}

static void
done_message(const struct nlmsghdr *h, struct kh_nl_status *st)
{
	int32_t status = 0;

	st->done = true;
	/* A dump that failed part-way says so in the done message. */
	if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(status))
		memcpy(&status, NLMSG_DATA(h), sizeof(status));
	if (status < 0)
		kernel_failure(h, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(status)), status, st);
}

static void
data_message(const struct nlmsghdr *h, kh_nl_cb cb, void *arg, struct kh_nl_status *st)
{
	int err;

	if (h->nlmsg_flags & NLM_F_DUMP_INTR)
		st->interrupted = true;
	/* What an interrupted dump still brings is read to its end, and thrown away. */
	if (!cb || st->interrupted)
		return;
	kh_clear_error();
	err = cb(h, arg);
	if (err < 0)
		local_failure(st, err, "%s", kh_last_error()[0] ? kh_last_error() : strerror(-err));
}

int
kh_nl_run(const void *buf, size_t len, uint32_t seq, uint32_t port, kh_nl_cb cb, void *arg,
          struct kh_nl_status *st)
{
	const uint8_t *p = buf;

	while (len > 0 && !st->done && !st->err) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)p;
		size_t step;

		if (len < NLMSG_HDRLEN || h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len)
			return local_failure(st, -EBADMSG, "malformed reply from the kernel");
		step = NLMSG_ALIGN(h->nlmsg_len) < len ? NLMSG_ALIGN(h->nlmsg_len) : len;
		p += step;
		len -= step;
		/* A late answer to an earlier request on this socket is not ours. */
		if ((seq && h->nlmsg_seq != seq) || (port && h->nlmsg_pid != port))
			continue;
		switch (h->nlmsg_type) {
		case NLMSG_ERROR:
			error_message(h, st);
			break;
		case NLMSG_DONE:
			done_message(h, st);
			break;
		case NLMSG_OVERRUN:
			local_failure(st, -ENOBUFS, "the kernel lost part of the reply");
			break;
		default:
			if (h->nlmsg_type >= NLMSG_MIN_TYPE)
				data_message(h, cb, arg, st);
			break;
		}
	}
	return st->err ? st->err : st->done ? 0 : KH_NL_MORE;
}

int
kh_nl_acks(const void *buf, size_t len, uint32_t base, size_t n, uint32_t port, kh_nl_ack_cb ack,
           void *arg)
{
	const uint8_t *p = buf;

	while (len > 0) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)p;
		struct kh_nl_status st = {0};
		size_t step;

		if (len < NLMSG_HDRLEN || h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len)
			return -EBADMSG;
		step = NLMSG_ALIGN(h->nlmsg_len) < len ? NLMSG_ALIGN(h->nlmsg_len) : len;
		p += step;
		len -= step;
		/* Unsigned: a number below base wraps far above n. */
		if (h->nlmsg_seq - base >= n || (port && h->nlmsg_pid != port) ||
		    h->nlmsg_type != NLMSG_ERROR)
			continue;
		error_message(h, &st);
		ack(h->nlmsg_seq - base, &st, arg);
	}
	return 0;
}

/* Sends the request and runs its answer, datagram by datagram, into st. */
static void
exchange(const struct kh_nl_call *call, bool dump, struct kh_nl_status *st)
{
	bool strict = dump && call->bus == NETLINK_ROUTE;
	struct conn *c = &conns[call->bus == NETLINK_GENERIC ? CONN_GENERIC
	                        : strict                     ? CONN_ROUTE_STRICT
	                                                     : CONN_ROUTE];
	size_t used = 0;
	uint32_t seq;
	int err;

	memset(st, 0, sizeof(*st));
	if (c->fd < 0) {
		err = conn_open(c, call->bus, strict);
		if (err < 0) {
			local_failure(st, err, "cannot open a netlink socket: %s", strerror(-err));
			return;
		}
	}
	seq = ++next_seq ? next_seq : ++next_seq;
	err = conn_send(c, call->req, seq, dump);
	if (err < 0)
		local_failure(st, err, "cannot send to the kernel: %s", strerror(-err));
	while (!st->done && !st->err) {
		size_t len = 0;

		err = conn_recv(c, &len);
		if (err < 0) {
			local_failure(st, err, "%s",
			              err == -ETIMEDOUT ? "no answer from the kernel in time"
			                                : strerror(-err));
			break;
		}
		used = len > used ? len : used;
		kh_nl_run(c->buf, len, seq, c->port, call->cb, call->arg, st);
	}
	sodium_memzero(c->buf, used);
	/* A kernel's refusal leaves the socket in step; a failure of ours may not. */
	if (st->err && st->local)
		conn_close(c);
}

static int __attribute__((format(printf, 2, 0)))
vtalk(const struct kh_nl_call *call, const char *fmt, va_list ap)
{
	bool dump = (call->req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	struct kh_nl_status st;
	char what[256];
	int tries = 0;

	pthread_mutex_lock(&conns_lock);
	for (;;) {
		exchange(call, dump, &st);
		if (st.err || !st.interrupted)
			break;
		if (++tries == KH_NL_DUMP_TRIES) {
			local_failure(&st, -EAGAIN, "kept changing while it was listed");
			break;
		}
		if (call->restart) {
			int err = call->restart(call->arg);

			if (err < 0) {
				local_failure(&st, err, "%s", strerror(-err));
				break;
			}
		}
	}
	pthread_mutex_unlock(&conns_lock);
	if (!st.err)
		return 0;
	vsnprintf(what, sizeof(what), fmt, ap);
	if (st.local)
		return kh_fail(st.err, "%s: %s", what, st.text);
	if (st.text[0])
		return kh_fail(st.err, "%s: %s (kernel: %s)", what, strerror(-st.err), st.text);
	return kh_fail(st.err, "%s: %s", what, strerror(-st.err));
}

int
kh_nl_talk(const struct kh_nl_call *call, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vtalk(call, fmt, ap);
	va_end(ap);
	return err;
}

/* --- rtnetlink requests built with libnl --- */

int
kh_nl_request(struct nl_msg *req, const char *fmt, ...)
{
	struct kh_nl_call call = {.bus = NETLINK_ROUTE, .req = nlmsg_hdr(req)};
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vtalk(&call, fmt, ap);
	va_end(ap);
	return err;
}

/* Requests packed into one datagram, and the most left unacknowledged: the acknowledgements
 * of a window (a few hundred bytes of socket memory each, an error's with its text) stay well
 * inside the default receive buffer, and 32 route requests fill about 3 KiB. */
#define BATCH_PER_DATAGRAM 32
#define BATCH_WINDOW       128

/* The outcomes of a batch so far. Only the last request of a datagram asks for an
 * acknowledgement: the kernel runs a datagram's requests in order and answers any that fails
 * whatever its flags, so when the last one's answer comes, those before it that have none
 * were applied (thousands of acknowledgements spared, each a message to queue and read). */
struct batch {
	size_t n, inflight;
	bool *answered;
	int *err;
	char **why;     /* of the failed entries */
	size_t *opened; /* of a datagram's last entry: its first */
};

static void
batch_settle(struct batch *b, size_t i, int err, const char *why)
{
	if (b->answered[i])
		return; /* the kernel answers each request once; a repeat is not trusted */
	b->answered[i] = true;
	b->err[i] = err;
	if (err)
		b->why[i] = strdup(why);
}

static void
batch_answered(struct batch *b, size_t i, int err, const char *why)
{
	if (!b->answered[i])
		b->inflight--;
	batch_settle(b, i, err, why);
}

static void
batch_ack(size_t i, const struct kh_nl_status *st, void *arg)
{
	struct batch *b = arg;

	batch_answered(b, i, st->err, st->err ? st->text : NULL);
	if (b->opened[i] == SIZE_MAX)
		return; /* not the last of its datagram: a failure */
	for (size_t j = b->opened[i]; j < i; j++)
		batch_answered(b, j, 0, NULL);
}

/* Fails entries [from, to) that have no answer yet: sent ones may or may not have been
 * applied. */
static void
batch_fail(struct batch *b, size_t from, size_t to, int err, const char *why)
{
	for (size_t i = from; i < to; i++)
		batch_settle(b, i, err, why);
}

/* Sends entries [from, to) in one datagram, gathered where they lie: no copy. */
static int
batch_send(struct conn *c, struct nlmsghdr *const *reqs, struct batch *b, size_t from, size_t to,
           uint32_t base)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct iovec iov[BATCH_PER_DATAGRAM];
	struct msghdr mh = {.msg_name = &kernel,
	                    .msg_namelen = sizeof(kernel),
	                    .msg_iov = iov,
	                    .msg_iovlen = to - from};
	size_t size = 0;
	ssize_t sent;

	for (size_t i = from; i < to; i++) {
		struct nlmsghdr *h = reqs[i];

		h->nlmsg_seq = base + (uint32_t)i;
		h->nlmsg_pid = c->port;
		h->nlmsg_flags |= NLM_F_REQUEST;
		if (i + 1 < to) {
			h->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
			b->opened[i] = SIZE_MAX;
		} else {
			h->nlmsg_flags |= NLM_F_ACK;
			b->opened[i] = from;
		}
		/* A message's padding goes with it, except the last one's. */
		iov[i - from].iov_base = h;
		iov[i - from].iov_len = i + 1 < to ? NLMSG_ALIGN(h->nlmsg_len) : h->nlmsg_len;
		size += iov[i - from].iov_len;
	}
	do
		sent = sendmsg(c->fd, &mh, 0);
	while (sent < 0 && errno == EINTR);
	if (sent < 0)
		return -errno;
	return sent == (ssize_t)size ? 0 : -EMSGSIZE;
}

/* Sequence numbers for n requests in a row, none of them 0. */
static uint32_t
batch_seqs(size_t n)
{
	uint32_t base;

	if (next_seq > UINT32_MAX - n - 1)
		next_seq = 0;
	base = next_seq + 1;
	next_seq += (uint32_t)n;
	return base;
}

/* The acknowledgements are read many at a time (each is a datagram of its own): one system
 * call for up to BATCH_SLOTS of them rather than three each. A capped ack is 36 bytes, an
 * error's with its extended-ack text a few hundred. */
#define BATCH_SLOTS     64
#define BATCH_SLOT_SIZE 1024

struct batch_rx {
	uint8_t buf[BATCH_SLOTS][BATCH_SLOT_SIZE];
	struct mmsghdr mm[BATCH_SLOTS];
	struct iovec iov[BATCH_SLOTS];
	struct sockaddr_nl from[BATCH_SLOTS];
};

/* Receives at least one datagram into rx, waiting at most KH_NL_TIMEOUT_MS; got receives how
 * many. */
static int
batch_recv(struct conn *c, struct batch_rx *rx, unsigned *got)
{
	int n, r;

	for (;;) {
		for (unsigned i = 0; i < BATCH_SLOTS; i++) {
			rx->iov[i].iov_base = rx->buf[i];
			rx->iov[i].iov_len = BATCH_SLOT_SIZE;
			memset(&rx->mm[i], 0, sizeof(rx->mm[i]));
			rx->mm[i].msg_hdr.msg_name = &rx->from[i];
			rx->mm[i].msg_hdr.msg_namelen = sizeof(rx->from[i]);
			rx->mm[i].msg_hdr.msg_iov = &rx->iov[i];
			rx->mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(c->fd, rx->mm, BATCH_SLOTS, MSG_DONTWAIT, NULL);
		if (n > 0) {
			*got = (unsigned)n;
			return 0;
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (n < 0 && errno == EINTR)
			continue;
		r = wait_readable(c->fd);
		if (r < 0)
			return r;
	}
}

/* The exchange of a batch, under the sockets' lock. */
static void
batch_run(struct nlmsghdr *const *reqs, struct batch *b, struct batch_rx *rx)
{
	struct conn *c = &conns[CONN_ROUTE];
	size_t sent = 0;
	uint32_t base = batch_seqs(b->n);
	unsigned got = 0;
	int err;

	while (sent < b->n || b->inflight > 0) {
		if (c->fd < 0) {
			err = conn_open(c, NETLINK_ROUTE, false);
			if (err < 0) {
				batch_fail(b, sent, b->n, err, "cannot open a netlink socket");
				return;
			}
			/* A new socket knows nothing of the old one's numbers. */
			base = batch_seqs(b->n);
		}
		while (sent < b->n && b->inflight < BATCH_WINDOW) {
			size_t to = sent + BATCH_PER_DATAGRAM;

			to = to < b->n ? to : b->n;
			to = to - sent < BATCH_WINDOW - b->inflight
			             ? to
			             : sent + BATCH_WINDOW - b->inflight;
			err = batch_send(c, reqs, b, sent, to, base);
			if (err < 0) {
				batch_fail(b, sent, b->n, err, "cannot send to the kernel");
				b->inflight = 0;
				sent = b->n;
				break;
			}
			b->inflight += to - sent;
			sent = to;
		}
		if (b->inflight == 0)
			break;
		err = batch_recv(c, rx, &got);
		if (err == -ENOBUFS) {
			/* Acknowledgements were dropped: which ones is unknown, so every entry
			 * in flight is unknown too. The socket goes, and with it any late
			 * answers; what is left is sent on a new one. */
			batch_fail(b, 0, sent, err, "acknowledgement lost: receive buffer overrun");
			b->inflight = 0;
			conn_close(c);
			continue;
		}
		if (err < 0) {
			batch_fail(b, 0, b->n, err,
			           err == -ETIMEDOUT ? "no answer from the kernel in time"
			                             : "cannot receive from the kernel");
			conn_close(c);
			return;
		}
		for (unsigned i = 0; i < got; i++) {
			const struct msghdr *mh = &rx->mm[i].msg_hdr;

			/* Only the kernel answers requests; anything else is not ours. */
			if (mh->msg_namelen != sizeof(rx->from[i]) || rx->from[i].nl_pid != 0)
				continue;
			if ((mh->msg_flags & MSG_TRUNC) ||
			    kh_nl_acks(rx->buf[i], rx->mm[i].msg_len, base, sent, c->port,
			               batch_ack, b) < 0) {
				batch_fail(b, 0, b->n, -EBADMSG, "malformed reply from the kernel");
				conn_close(c);
				return;
			}
		}
	}
}

size_t
kh_nl_batch(struct nlmsghdr *const *reqs, size_t n, kh_nl_done_cb done, void *arg)
{
	struct batch b = {.n = n};
	struct batch_rx *rx;
	size_t failed = 0;

	b.answered = calloc(n ? n : 1, sizeof(*b.answered));
	b.err = calloc(n ? n : 1, sizeof(*b.err));
	b.why = calloc(n ? n : 1, sizeof(*b.why));
	b.opened = calloc(n ? n : 1, sizeof(*b.opened));
	rx = malloc(sizeof(*rx));
	if (!b.answered || !b.err || !b.why || !b.opened || !rx) {
		for (size_t i = 0; i < n; i++)
			done(i, -ENOMEM, "out of memory", arg);
		failed = n;
		goto out;
	}
	pthread_mutex_lock(&conns_lock);
	batch_run(reqs, &b, rx);
	pthread_mutex_unlock(&conns_lock);
	for (size_t i = 0; i < n; i++) {
		if (b.err[i])
			failed++;
		done(i, b.err[i], b.why[i] ? b.why[i] : "", arg);
	}
out:
	for (size_t i = 0; b.why && i < n; i++)
		free(b.why[i]);
	free(b.why);
	free(b.opened);
	free(b.err);
	free(b.answered);
	free(rx);
	return failed;
}

/* The items of a list so far. */
struct collected {
	const struct kh_nl_list *list;
	uint8_t *items;
	size_t n, cap;
};

static int
collect_message(const struct nlmsghdr *h, void *arg)
{
	struct collected *c = arg;
	const struct kh_nl_list *l = c->list;
	struct kh_event ev;

	switch (l->decode(h, &ev)) {
	case KH_MALFORMED:
		return kh_fail(-EBADMSG, "malformed message (type %u) from the kernel%s%s",
		               h->nlmsg_type, kh_last_error()[0] ? ": " : "", kh_last_error());
	case KH_IGNORED:
		return 0;
	case KH_DECODED:
		break;
	}
	if (!l->keep(&ev, l->filter))
		return 0;
	if (l->each) {
		c->n++;
		return l->each(&ev.u, l->arg);
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		uint8_t *items = realloc(c->items, cap * l->item_size);

		if (!items)
			return kh_fail(-ENOMEM, "out of memory");
		c->items = items;
		c->cap = cap;
	}
	memcpy(c->items + c->n++ * l->item_size, &ev.u, l->item_size);
	return 0;
}

static int
collect_restart(void *arg)
{
	struct collected *c = arg;

	c->n = 0;
	return c->list->restart ? c->list->restart(c->list->arg) : 0;
}

int
kh_nl_list(struct nl_msg *req, const struct kh_nl_list *l, void **items, size_t *n, const char *fmt,
           ...)
{
	struct collected c = {.list = l};
	struct kh_nl_call call = {
	        .bus = NETLINK_ROUTE,
	        .req = nlmsg_hdr(req),
	        .cb = collect_message,
	        .restart = collect_restart,
	        .arg = &c,
	};
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vtalk(&call, fmt, ap);
	va_end(ap);
	if (err < 0 && !(l->empty_err && err == l->empty_err)) {
		free(c.items);
		return err;
	}
	if (err < 0 || c.n == 0) {
		free(c.items);
		c.items = NULL;
		c.n = 0;
	}
	*items = c.items;
	*n = c.n;
	return 0;
}

int
kh_nl_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_SUCCESS:
		return 0;
	case NLE_INTR:
		return -EINTR;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NOATTR:
	case NLE_MISSING_ATTR:
		return -EINVAL;
	case NLE_AF_MISMATCH:
		return -EAFNOSUPPORT;
	case NLE_SEQ_MISMATCH:
	case NLE_MSG_OVERFLOW:
	case NLE_MSG_TRUNC:
	case NLE_MSG_TOOSHORT:
	case NLE_MSGTYPE_NOSUPPORT:
	case NLE_PARSE_ERR:
		return -EBADMSG;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_SRCRT_NOSUPPORT:
		return -EOPNOTSUPP;
	case NLE_OBJ_MISMATCH:
	case NLE_NOCACHE:
	case NLE_IMMUTABLE:
		return -EINVAL;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_PROTO_MISMATCH:
		return -EPROTONOSUPPORT;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_PERM:
		return -EPERM;
	case NLE_NODEV:
		return -ENODEV;
	default:
		return -EIO;
	}
}

int
kh_nl_addr_new(const struct addr *addr, unsigned prefixlen, struct nl_addr **out)
{
	size_t len = addr_len(addr->family);
	struct nl_addr *na;

	if (!len || prefixlen > len * 8)
		return -EINVAL;
	na = nl_addr_build(addr->family, addr->u.bytes, len);
	if (!na)
		return -ENOMEM;
	nl_addr_set_prefixlen(na, (int)prefixlen);
	*out = na;
	return 0;
}

int
kh_nl_mac_new(const uint8_t mac[KH_MAC_LEN], struct nl_addr **out)
{
	struct nl_addr *na = nl_addr_build(AF_LLC, mac, KH_MAC_LEN);

	if (!na)
		return -ENOMEM;
	*out = na;
	return 0;
}

int
kh_nl_split(const struct nlmsghdr *h, void *hdr, size_t hdrlen, const void **attrs, size_t *alen)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen);

	if (h->nlmsg_len < NLMSG_HDRLEN + hdrlen)
		return -EBADMSG;
	memcpy(hdr, (const uint8_t *)h + NLMSG_HDRLEN, hdrlen);
	*attrs = (const uint8_t *)h + (off < h->nlmsg_len ? off : h->nlmsg_len);
	*alen = off < h->nlmsg_len ? h->nlmsg_len - off : 0;
	return 0;
}

int
kh_attr_walk(const void *p, size_t len, const char *what,
             int (*fn)(const struct nlattr *a, void *arg), void *arg)
{
	const uint8_t *cur = p;

	while (len > 0) {
		struct nlattr hdr;
		size_t step;
		int err;

		if (len < NLA_HDRLEN)
			return kh_fail(-EBADMSG, "%s: %zu bytes after the last attribute", what,
			               len);
		memcpy(&hdr, cur, sizeof(hdr));
		if (hdr.nla_len < NLA_HDRLEN || hdr.nla_len > len)
			return kh_fail(-EBADMSG, "%s: malformed attribute", what);
		err = fn((const struct nlattr *)cur, arg);
		if (err < 0)
			return err;
		/* The last attribute needs no padding after it. */
		step = NLA_ALIGN(hdr.nla_len);
		if (step >= len)
			break;
		cur += step;
		len -= step;
	}
	return 0;
}

static bool
attr_fits(const struct nlattr *a, const struct kh_attr_policy *pol)
{
	size_t len = kh_attr_len(a);
	const char *s = kh_attr_data(a);
	sa_family_t family;

	switch (pol->kind) {
	case KH_ATTR_U8:
		return len == sizeof(uint8_t);
	case KH_ATTR_U16:
		return len == sizeof(uint16_t);
	case KH_ATTR_U32:
		return len == sizeof(uint32_t);
	case KH_ATTR_U64:
		return len == sizeof(uint64_t);
	case KH_ATTR_STRING:
		return len > 0 && memchr(s, '\0', len) != NULL &&
		       (!pol->max || strnlen(s, len) < pol->max);
	case KH_ATTR_BINARY:
		return len >= pol->min && (!pol->max || len <= pol->max);
	case KH_ATTR_ADDR:
		return len == 4 || len == 16;
	case KH_ATTR_SOCKADDR:
		if (len < sizeof(family))
			return false;
		memcpy(&family, s, sizeof(family));
		return (family == AF_INET && len == sizeof(struct sockaddr_in)) ||
		       (family == AF_INET6 && len == sizeof(struct sockaddr_in6));
	default:
		return true; /* a nest is checked by whoever descends into it */
	}
}

struct attr_table {
	const struct kh_attr_policy *policy;
	size_t npolicy;
	const struct nlattr **tb;
	const char *what;
};

static int
attr_take(const struct nlattr *a, void *arg)
{
	struct attr_table *t = arg;
	uint16_t type;

	memcpy(&type, &a->nla_type, sizeof(type));
	type &= NLA_TYPE_MASK;
	if (type >= t->npolicy || t->policy[type].kind == KH_ATTR_IGNORE)
		return 0;
	if (t->tb[type])
		return kh_fail(-EBADMSG, "%s: attribute %u repeated", t->what, type);
	if (!attr_fits(a, &t->policy[type]))
		return kh_fail(-EBADMSG, "%s: attribute %u has a bad length or content", t->what,
		               type);
	t->tb[type] = a;
	return 0;
}

int
kh_attr_parse(const void *p, size_t len, const struct kh_attr_policy *policy, size_t npolicy,
              const struct nlattr **tb, const char *what)
{
	struct attr_table t = {policy, npolicy, tb, what};

	memset(tb, 0, npolicy * sizeof(*tb));
	return kh_attr_walk(p, len, what, attr_take, &t);
}

const void *
kh_attr_data(const struct nlattr *a)
{
	return (const uint8_t *)a + NLA_HDRLEN;
}

size_t
kh_attr_len(const struct nlattr *a)
{
	struct nlattr hdr;

	memcpy(&hdr, a, sizeof(hdr));
	return hdr.nla_len - NLA_HDRLEN;
}

uint8_t
kh_attr_u8(const struct nlattr *a)
{
	return *(const uint8_t *)kh_attr_data(a);
}

uint16_t
kh_attr_u16(const struct nlattr *a)
{
	uint16_t v;

	memcpy(&v, kh_attr_data(a), sizeof(v));
	return v;
}

uint32_t
kh_attr_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, kh_attr_data(a), sizeof(v));
	return v;
}

bool
kh_attr_addr(const struct nlattr *a, int family, struct addr *out)
{
	size_t len = addr_len(family);

	if (!len || kh_attr_len(a) != len)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
	memcpy(out->u.bytes, kh_attr_data(a), len);
	return true;
}
