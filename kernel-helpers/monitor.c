/* The netlink event monitor: its own socket subscribed to the rtnetlink groups netd follows,
 * checking the length of every notification before the decoders the dumps use too (rtmsg.h)
 * turn it into a plain-data event. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "kernel-helpers/monitor.h"
#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtmsg.h"

/* Datagrams per kh_monitor_read: enough to drain a burst, few enough to keep the loop
 * responsive. */
#define READ_BATCH 256
/* Notifications are small (links come without VF data); a bigger one is reported as a
 * truncation, i.e. a resync. */
#define RECV_SIZE 65536

struct kh_monitor {
	int fd;
	uint8_t *buf;
	struct kh_monitor_stats stats;
};

/* One decoder per kind of object, shared with the dumps (rtmsg.h). */
static enum kh_decoded
decode(const struct nlmsghdr *h, struct kh_event *ev)
{
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return kh_link_decode(h, ev);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return kh_ifaddr_decode(h, ev);
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return kh_route_decode(h, ev);
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		return kh_neigh_decode(h, ev);
	case RTM_NEWRULE:
	case RTM_DELRULE:
		return kh_rule_decode(h, ev);
	default:
		return KH_IGNORED;
	}
}

static void
deliver_resync(kh_event_cb cb, void *arg, struct kh_monitor_stats *st)
{
	struct kh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = KH_EV_RESYNC;
	st->resyncs++;
	st->events++;
	cb(&ev, arg);
}

void
kh_monitor_process(const struct kh_monitor_input *in, kh_event_cb cb, void *arg,
                   struct kh_monitor_stats *st)
{
	const uint8_t *p = in->buf;
	size_t left = in->len;

	if (in->err) {
		/* Anything but an overrun is the reader's problem, not an event. */
		if (in->err == ENOBUFS)
			deliver_resync(cb, arg, st);
		return;
	}
	st->datagrams++;
	if (in->sender != 0) {
		st->foreign++;
		return;
	}
	/* What a cut datagram still holds is whole, but what was cut is lost. */
	if (in->truncated)
		deliver_resync(cb, arg, st);
	while (left >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		struct kh_event ev;
		size_t step;

		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > left) {
			/* The length chain is broken: nothing after this can be trusted. */
			st->malformed++;
			return;
		}
		switch (decode((const struct nlmsghdr *)p, &ev)) {
		case KH_DECODED:
			st->events++;
			cb(&ev, arg);
			break;
		case KH_IGNORED:
			st->ignored++;
			break;
		case KH_MALFORMED:
			st->malformed++;
			break;
		}
		step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= left)
			return;
		p += step;
		left -= step;
	}
	if (left)
		st->malformed++;
}

int
kh_monitor_open(size_t rcvbuf, struct kh_monitor **out)
{
	static const int groups[] = {RTNLGRP_LINK,       RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
	                             RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,  RTNLGRP_NEIGH,
	                             RTNLGRP_IPV4_RULE,  RTNLGRP_IPV6_RULE};
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	struct kh_monitor *m;
	int size, err;

	if (rcvbuf == 0)
		rcvbuf = KH_MONITOR_RCVBUF;
	size = rcvbuf > (size_t)(1 << 30) ? 1 << 30 : (int)rcvbuf;
	m = calloc(1, sizeof(*m));
	if (!m)
		return kh_fail(-ENOMEM, "open netlink monitor: out of memory");
	m->buf = malloc(RECV_SIZE);
	m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (!m->buf || m->fd < 0) {
		err = m->buf ? -errno : -ENOMEM;
		kh_fail(err, "open netlink monitor: %s", strerror(-err));
		goto fail;
	}
	/* Beyond net.core.rmem_max only with CAP_NET_ADMIN; the limit is better than nothing. */
	if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0) {
		err = -errno;
		kh_fail(err, "open netlink monitor: receive buffer of %d bytes: %s", size,
		        strerror(-err));
		goto fail;
	}
	if (bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		kh_fail(err, "open netlink monitor: bind: %s", strerror(-err));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (setsockopt(m->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
		               sizeof(groups[i])) < 0) {
			err = -errno;
			kh_fail(err, "open netlink monitor: join group %d: %s", groups[i],
			        strerror(-err));
			goto fail;
		}
	}
	*out = m;
	return 0;
fail:
	kh_monitor_close(m);
	return err;
}

void
kh_monitor_close(struct kh_monitor *mon)
{
	if (!mon)
		return;
	if (mon->fd >= 0)
		close(mon->fd);
	free(mon->buf);
	free(mon);
}

int
kh_monitor_fd(const struct kh_monitor *mon)
{
	return mon->fd;
}

void
kh_monitor_get_stats(const struct kh_monitor *mon, struct kh_monitor_stats *stats)
{
	*stats = mon->stats;
}

int
kh_monitor_read(struct kh_monitor *mon, kh_event_cb cb, void *arg)
{
	uint64_t before = mon->stats.events;

	for (int i = 0; i < READ_BATCH; i++) {
		struct sockaddr_nl from;
		struct iovec iov = {.iov_base = mon->buf, .iov_len = RECV_SIZE};
		struct msghdr mh = {.msg_name = &from,
		                    .msg_namelen = sizeof(from),
		                    .msg_iov = &iov,
		                    .msg_iovlen = 1};
		struct kh_monitor_input in;
		ssize_t n;

		memset(&in, 0, sizeof(in));
		n = recvmsg(mon->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno != ENOBUFS)
				return kh_fail(-errno, "read netlink monitor: %s", strerror(errno));
			/* The socket stays usable: what comes next is whole again. */
			in.err = ENOBUFS;
		} else {
			in.buf = mon->buf;
			in.len = (size_t)n;
			/* A sender address we cannot read is not the kernel's. */
			in.sender = mh.msg_namelen == sizeof(from) ? from.nl_pid : UINT32_MAX;
			in.truncated = (mh.msg_flags & MSG_TRUNC) != 0;
		}
		kh_monitor_process(&in, cb, arg, &mon->stats);
	}
	return (int)(mon->stats.events - before);
}
