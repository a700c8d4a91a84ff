/* Netlink plumbing for the rtnetlink helpers: libnl builds the requests and parses the objects,
 * this file owns the socket, the waiting and the error reporting, so that every call is
 * bounded in time and every kernel error comes back as -errno with its extended-ack text. */
#include <errno.h>
#include <poll.h>
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

/* Restarts of a dump the kernel marked as interrupted before giving up. */
#define DUMP_TRIES 5

struct conn {
	int fd;
	uint32_t port;
	uint32_t seq;
	uint8_t *buf;
	size_t cap;
};

/* What one exchange brought back. */
struct reply {
	const struct kh_nl_dump *dump; /* NULL: a plain request, only the ack matters */
	uint8_t *items;
	size_t n, cap;
	bool done, interrupted;
	int err;          /* kernel errno (negative) or a local failure */
	char extack[256]; /* the kernel's explanation, if any */
	char local[128];  /* what went wrong on this side, if the failure is ours */
};

static uint32_t next_seq;

/* One socket per kind (strict dump checking or not), kept open between requests: opening,
 * binding and closing a netlink socket per request costs more than the request itself when
 * thousands of routes are programmed. Sequence numbers keep each request's replies apart;
 * a socket whose exchange failed on our side is closed, so nothing stale is ever read. */
static struct conn conns[2] = {{.fd = -1}, {.fd = -1}};

static int
conn_open(struct conn *c, bool strict)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	socklen_t salen = sizeof(sa);
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (c->fd < 0)
		return -errno;
	/* Both are optional: an older kernel just gives terser errors and unfiltered dumps,
	 * which the callers filter again anyway. */
	(void)setsockopt(c->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(c->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (strict)
		(void)setsockopt(c->fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(c->fd, (struct sockaddr *)&sa, &salen) < 0) {
		int err = -errno;
		close(c->fd);
		c->fd = -1;
		return err;
	}
	c->port = sa.nl_pid;
	c->seq = ++next_seq;
	if (c->seq == 0)
		c->seq = next_seq = 1;
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

static int
conn_send(struct conn *c, struct nl_msg *req, bool dump)
{
	struct nlmsghdr *h = nlmsg_hdr(req);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t n;

	h->nlmsg_seq = c->seq;
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

/* Receives one datagram from the kernel into c->buf, waiting at most KH_NL_TIMEOUT_MS. */
static int
conn_recv(struct conn *c, size_t *len)
{
	struct sockaddr_nl from;
	struct iovec iov;
	struct msghdr mh = {
	        .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	ssize_t n;
	int r;

	for (;;) {
		do
			r = poll(&pfd, 1, KH_NL_TIMEOUT_MS);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		/* Peek at the size first: a single message may outgrow any fixed buffer. */
		iov.iov_base = NULL;
		iov.iov_len = 0;
		n = recvmsg(c->fd, &mh, MSG_PEEK | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if ((size_t)n > c->cap) {
			size_t cap = (size_t)n < 32768 ? 32768 : (size_t)n;
			uint8_t *b = realloc(c->buf, cap);
			if (!b)
				return -ENOMEM;
			c->buf = b;
			c->cap = cap;
		}
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

static const struct kh_attr_policy extack_policy[NLMSGERR_ATTR_MAX + 1] = {
        [NLMSGERR_ATTR_MSG] = {KH_ATTR_STRING, 0, 0},
};

/* The extended-ack attributes that follow an error or done message's fixed part. */
static void
parse_extack(const struct nlmsghdr *h, size_t fixed, char *out, size_t outlen)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || h->nlmsg_len < fixed)
		return;
	if (kh_attr_parse((const uint8_t *)h + fixed, h->nlmsg_len - fixed, extack_policy,
	                  NLMSGERR_ATTR_MAX + 1, tb, "extended ack") < 0 ||
	    !tb[NLMSGERR_ATTR_MSG])
		return;
	snprintf(out, outlen, "%s", (const char *)kh_attr_data(tb[NLMSGERR_ATTR_MSG]));
}

static void
parse_error(const struct nlmsghdr *h, struct reply *r)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t fixed = NLMSG_HDRLEN + sizeof(*e);

	if (h->nlmsg_len < fixed) {
		r->err = -EBADMSG;
		snprintf(r->local, sizeof(r->local), "truncated error message from the kernel");
		return;
	}
	r->done = true;
	if (e->error == 0)
		return;
	/* Without NLM_F_CAPPED the kernel echoes our whole request before the attributes. */
	if (!(h->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= NLMSG_HDRLEN)
		fixed += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	r->err = e->error < 0 ? e->error : -e->error;
	parse_extack(h, fixed, r->extack, sizeof(r->extack));
}

static void
parse_done(const struct nlmsghdr *h, struct reply *r)
{
	int32_t status = 0;

	r->done = true;
	/* A dump that failed part-way says so in the done message. */
	if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(status))
		memcpy(&status, NLMSG_DATA(h), sizeof(status));
	if (status < 0) {
		r->err = status;
		parse_extack(h, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(status)), r->extack,
		             sizeof(r->extack));
	}
}

static void
collect(struct nl_object *obj, void *arg)
{
	struct reply *r = arg;
	const struct kh_nl_dump *d = r->dump;
	int keep;

	if (r->err)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		uint8_t *items = realloc(r->items, cap * d->item_size);
		if (!items) {
			r->err = -ENOMEM;
			snprintf(r->local, sizeof(r->local), "out of memory");
			return;
		}
		r->items = items;
		r->cap = cap;
	}
	memset(r->items + r->n * d->item_size, 0, d->item_size);
	keep = d->convert(obj, r->items + r->n * d->item_size, d->filter);
	if (keep < 0) {
		r->err = keep;
		snprintf(r->local, sizeof(r->local), "cannot convert a %s object",
		         nl_object_get_type(obj));
	} else if (keep > 0) {
		r->n++;
	}
}

static void
parse_data(struct nlmsghdr *h, struct reply *r)
{
	struct nl_msg *msg;
	int err;

	if (h->nlmsg_flags & NLM_F_DUMP_INTR)
		r->interrupted = true;
	if (!r->dump)
		return;
	msg = nlmsg_convert(h);
	if (!msg) {
		r->err = -ENOMEM;
		snprintf(r->local, sizeof(r->local), "out of memory");
		return;
	}
	nlmsg_set_proto(msg, NETLINK_ROUTE);
	err = nl_msg_parse(msg, collect, r);
	nlmsg_free(msg);
	if (err < 0 && !r->err) {
		r->err = kh_nl_errno(err);
		snprintf(r->local, sizeof(r->local), "cannot parse message type %u: %s",
		         h->nlmsg_type, nl_geterror(err));
	}
	/* Without NLM_F_MULTI the one reply to a get is all there is, but the ack follows. */
}

static void
handle(const struct conn *c, struct nlmsghdr *h, struct reply *r)
{
	/* A late answer to some earlier request on a reused port is not ours. */
	if (h->nlmsg_seq != c->seq || h->nlmsg_pid != c->port)
		return;
	switch (h->nlmsg_type) {
	case NLMSG_ERROR:
		parse_error(h, r);
		break;
	case NLMSG_DONE:
		parse_done(h, r);
		break;
	case NLMSG_NOOP:
		break;
	case NLMSG_OVERRUN:
		r->err = -ENOBUFS;
		snprintf(r->local, sizeof(r->local), "the kernel lost part of the reply");
		break;
	default:
		parse_data(h, r);
		break;
	}
}

/* Sends req and processes the replies until the kernel's ack, error or done message. */
static int
exchange(struct nl_msg *req, bool dump, bool strict, struct reply *r)
{
	struct conn *c = &conns[strict];
	int err;

	if (c->fd < 0) {
		err = conn_open(c, strict);
		if (err < 0) {
			snprintf(r->local, sizeof(r->local), "cannot open a netlink socket: %s",
			         strerror(-err));
			return err;
		}
	} else {
		c->seq = ++next_seq;
		if (c->seq == 0)
			c->seq = next_seq = 1;
	}
	err = conn_send(c, req, dump);
	if (err < 0) {
		snprintf(r->local, sizeof(r->local), "cannot send to the kernel: %s",
		         strerror(-err));
		goto out;
	}
	while (!r->done && !r->err) {
		size_t len = 0, step;
		uint8_t *p;

		err = conn_recv(c, &len);
		if (err < 0) {
			snprintf(r->local, sizeof(r->local), "%s",
			         err == -ETIMEDOUT ? "no answer from the kernel in time"
			                           : strerror(-err));
			goto out;
		}
		for (p = c->buf; len >= NLMSG_HDRLEN && !r->done && !r->err;
		     p += step, len -= step) {
			struct nlmsghdr *h = (struct nlmsghdr *)p;

			if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len) {
				r->err = -EBADMSG;
				snprintf(r->local, sizeof(r->local),
				         "malformed reply from the kernel");
				break;
			}
			handle(c, h, r);
			step = NLMSG_ALIGN(h->nlmsg_len);
			if (step >= len)
				break;
		}
	}
	err = r->err;
out:
	/* A kernel's refusal leaves the socket in step; a failure of ours may not. */
	if (err < 0 && r->local[0] != '\0')
		conn_close(c);
	return err;
}

static int
fail_reply(const struct reply *r, int err, const char *fmt, va_list ap)
{
	char what[256];

	vsnprintf(what, sizeof(what), fmt, ap);
	if (r->extack[0])
		return kh_fail(err, "%s: %s (kernel: %s)", what, strerror(-err), r->extack);
	if (r->local[0])
		return kh_fail(err, "%s: %s", what, r->local);
	return kh_fail(err, "%s: %s", what, strerror(-err));
}

int
kh_nl_request(struct nl_msg *req, const char *fmt, ...)
{
	struct reply r;
	va_list ap;
	int err;

	memset(&r, 0, sizeof(r));
	err = exchange(req, false, false, &r);
	if (err < 0) {
		va_start(ap, fmt);
		err = fail_reply(&r, err, fmt, ap);
		va_end(ap);
	}
	return err;
}

int
kh_nl_dump(struct nl_msg *req, const struct kh_nl_dump *d, void **items, size_t *n, const char *fmt,
           ...)
{
	bool dump = (nlmsg_hdr(req)->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	struct reply r;
	va_list ap;
	int err = 0;

	for (int tries = 0; tries < DUMP_TRIES; tries++) {
		memset(&r, 0, sizeof(r));
		r.dump = d;
		err = exchange(req, dump, dump, &r);
		if (err < 0 && d->empty_err && err == d->empty_err) {
			free(r.items);
			*items = NULL;
			*n = 0;
			return 0;
		}
		if (err < 0 || !r.interrupted)
			break;
		free(r.items);
		r.items = NULL;
		err = -EAGAIN;
		snprintf(r.local, sizeof(r.local), "kept changing while it was listed");
	}
	if (err < 0) {
		free(r.items);
		va_start(ap, fmt);
		err = fail_reply(&r, err, fmt, ap);
		va_end(ap);
		return err;
	}
	if (r.n == 0) {
		free(r.items);
		r.items = NULL;
	}
	*items = r.items;
	*n = r.n;
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

void
kh_nl_addr_get(struct nl_addr *na, struct addr *out)
{
	unsigned len;

	memset(out, 0, sizeof(*out));
	if (!na)
		return;
	len = nl_addr_get_len(na);
	if (len == 4)
		out->family = AF_INET;
	else if (len == 16)
		out->family = AF_INET6;
	else
		return;
	memcpy(out->u.bytes, nl_addr_get_binary_addr(na), len);
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

void
kh_nl_mac_get(struct nl_addr *na, uint8_t mac[KH_MAC_LEN])
{
	memset(mac, 0, KH_MAC_LEN);
	if (na && nl_addr_get_len(na) == KH_MAC_LEN)
		memcpy(mac, nl_addr_get_binary_addr(na), KH_MAC_LEN);
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
