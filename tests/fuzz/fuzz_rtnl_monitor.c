/* libFuzzer harness: the netlink event monitor and the decoders it shares with the dumps, fed
 * what one receive could return, and the same datagram read as the acknowledgements of a batch
 * of requests (kh_nl_acks). The first byte says how it was received (bit 0: truncated, bit 1:
 * from another port than the kernel's, bit 2: the receive failed with ENOBUFS); the rest is the
 * datagram. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kernel-helpers/monitor.h"
#include "kernel-helpers/nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
prefix_ok(const struct addr_prefix *p)
{
	return (p->addr.family == AF_INET || p->addr.family == AF_INET6) &&
	       p->len <= addr_len(p->addr.family) * 8;
}

/* A rule's selector: "any" (all zero), or a prefix of the rule's family. */
static bool
selector_ok(const struct addr_prefix *p, int family)
{
	if (p->len == 0)
		return p->addr.family == AF_UNSPEC;
	return p->addr.family == family && prefix_ok(p);
}

static bool
addr_ok(const struct addr *a)
{
	return a->family == AF_UNSPEC || a->family == AF_INET || a->family == AF_INET6;
}

/* What a consumer of the events relies on. */
static void
check(const struct kh_event *ev, void *arg)
{
	uint64_t *count = arg;

	(*count)++;
	switch (ev->type) {
	case KH_EV_RESYNC:
		break;
	case KH_EV_LINK_NEW:
	case KH_EV_LINK_CHANGE:
	case KH_EV_LINK_DEL:
		if (ev->u.link.ifindex == 0 || !memchr(ev->u.link.name, '\0', IFNAMSIZ) ||
		    !memchr(ev->u.link.kind, '\0', KH_KIND_SIZE) ||
		    !addr_ok(&ev->u.link.vxlan.local))
			abort();
		break;
	case KH_EV_ADDR_NEW:
	case KH_EV_ADDR_DEL:
		if (!prefix_ok(&ev->u.addr.prefix))
			abort();
		break;
	case KH_EV_ROUTE_NEW:
	case KH_EV_ROUTE_DEL:
		if (!prefix_ok(&ev->u.route.dst) ||
		    (ev->u.route.gateway.family != AF_UNSPEC &&
		     ev->u.route.gateway.family != ev->u.route.dst.addr.family))
			abort();
		break;
	case KH_EV_NEIGH_NEW:
	case KH_EV_NEIGH_DEL:
		if (ev->u.neigh.ifindex == 0 || ev->u.neigh.ip.family == AF_UNSPEC ||
		    !addr_ok(&ev->u.neigh.ip))
			abort();
		break;
	case KH_EV_FDB_NEW:
	case KH_EV_FDB_DEL:
		if (ev->u.fdb.ifindex == 0 || !addr_ok(&ev->u.fdb.dst))
			abort();
		break;
	case KH_EV_RULE_NEW:
	case KH_EV_RULE_DEL:
		if (!selector_ok(&ev->u.rule.src, ev->u.rule.family) ||
		    !selector_ok(&ev->u.rule.dst, ev->u.rule.family))
			abort();
		break;
	default:
		abort();
	}
}

/* A batch of BATCH_N requests numbered from BATCH_BASE. */
#define BATCH_BASE 100
#define BATCH_N    64

/* What the batch relies on: an entry it sent, an errno or 0, a terminated text. */
static void
check_ack(size_t i, const struct kh_nl_status *st, void *arg)
{
	unsigned *acks = arg;

	if (i >= BATCH_N || st->err > 0 || st->err <= -4096 ||
	    !memchr(st->text, '\0', sizeof(st->text)) || (st->err == 0 && st->text[0]))
		abort();
	(*acks)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kh_monitor_stats st;
	struct kh_monitor_input in;
	uint64_t count = 0;
	uint8_t *buf;

	if (size < 1)
		return 0;
	/* A receive buffer is aligned; the bytes in it are not trusted. */
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	memset(&st, 0, sizeof(st));
	memset(&in, 0, sizeof(in));
	in.buf = buf;
	in.len = size - 1;
	in.truncated = data[0] & 1;
	in.sender = data[0] & 2 ? 4242 : 0;
	in.err = data[0] & 4 ? ENOBUFS : 0;
	kh_monitor_process(&in, check, &count, &st);
	if (count != st.events || (in.sender && !in.err && count != 0))
		abort();
	{
		unsigned acks = 0;
		int err = kh_nl_acks(buf, size - 1, BATCH_BASE, BATCH_N, 0, check_ack, &acks);

		/* At most one message per NLMSG_HDRLEN bytes. */
		if ((err != 0 && err != -EBADMSG) || acks > (size - 1) / 16)
			abort();
	}
	free(buf);
	return 0;
}
