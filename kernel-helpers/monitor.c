/* The netlink event monitor: its own socket subscribed to the rtnetlink groups netd follows,
 * and a parser that checks every length and attribute against a table before turning the
 * kernel's notifications into plain-data events. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "kernel-helpers/monitor.h"
#include "kernel-helpers/nl.h"

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

/* The outcome of parsing one message. */
enum verdict {
	DELIVER,
	IGNORE,
	MALFORMED,
};

static const struct kh_attr_policy link_policy[IFLA_MAX + 1] = {
        [IFLA_IFNAME] = {KH_ATTR_STRING, 0, IFNAMSIZ}, [IFLA_MTU] = {KH_ATTR_U32, 0, 0},
        [IFLA_MASTER] = {KH_ATTR_U32, 0, 0},           [IFLA_ADDRESS] = {KH_ATTR_BINARY, 0, 32},
        [IFLA_LINKINFO] = {KH_ATTR_NESTED, 0, 0},
};

static const struct kh_attr_policy linkinfo_policy[IFLA_INFO_MAX + 1] = {
        [IFLA_INFO_KIND] = {KH_ATTR_STRING, 0, KH_KIND_SIZE},
        [IFLA_INFO_DATA] = {KH_ATTR_NESTED, 0, 0},
};

/* The port is read as the kernel reads it, from the first two bytes: libnl's requests carry
 * it in four, the kernel's messages in two. */
static const struct kh_attr_policy vxlan_policy[IFLA_VXLAN_MAX + 1] = {
        [IFLA_VXLAN_ID] = {KH_ATTR_U32, 0, 0},          [IFLA_VXLAN_LOCAL] = {KH_ATTR_BINARY, 4, 4},
        [IFLA_VXLAN_LOCAL6] = {KH_ATTR_BINARY, 16, 16}, [IFLA_VXLAN_PORT] = {KH_ATTR_BINARY, 2, 4},
        [IFLA_VXLAN_LEARNING] = {KH_ATTR_U8, 0, 0},     [IFLA_VXLAN_LINK] = {KH_ATTR_U32, 0, 0},
};

static const struct kh_attr_policy rule_policy[FRA_MAX + 1] = {
        [FRA_DST] = {KH_ATTR_ADDR, 0, 0},     [FRA_SRC] = {KH_ATTR_ADDR, 0, 0},
        [FRA_PRIORITY] = {KH_ATTR_U32, 0, 0}, [FRA_TABLE] = {KH_ATTR_U32, 0, 0},
        [FRA_FWMARK] = {KH_ATTR_U32, 0, 0},   [FRA_FWMASK] = {KH_ATTR_U32, 0, 0},
        [FRA_PROTOCOL] = {KH_ATTR_U8, 0, 0},
};

static const struct kh_attr_policy addr_policy[IFA_MAX + 1] = {
        [IFA_ADDRESS] = {KH_ATTR_ADDR, 0, 0},
        [IFA_LOCAL] = {KH_ATTR_ADDR, 0, 0},
};

static const struct kh_attr_policy route_policy[RTA_MAX + 1] = {
        [RTA_DST] = {KH_ATTR_ADDR, 0, 0},
        [RTA_GATEWAY] = {KH_ATTR_ADDR, 0, 0},
        [RTA_OIF] = {KH_ATTR_U32, 0, 0},
        [RTA_PRIORITY] = {KH_ATTR_U32, 0, 0},
        [RTA_TABLE] = {KH_ATTR_U32, 0, 0},
        [RTA_METRICS] = {KH_ATTR_NESTED, 0, 0},
        [RTA_MULTIPATH] = {KH_ATTR_BINARY, sizeof(struct rtnexthop), 0},
};

static const struct kh_attr_policy metrics_policy[RTAX_MAX + 1] = {
        [RTAX_MTU] = {KH_ATTR_U32, 0, 0},
};

static const struct kh_attr_policy nexthop_policy[RTA_MAX + 1] = {
        [RTA_GATEWAY] = {KH_ATTR_ADDR, 0, 0},
};

static const struct kh_attr_policy neigh_policy[NDA_MAX + 1] = {
        [NDA_DST] = {KH_ATTR_ADDR, 0, 0},
        [NDA_LLADDR] = {KH_ATTR_BINARY, 0, 32},
        [NDA_MASTER] = {KH_ATTR_U32, 0, 0},
};

#define PARSE(p, len, pol, tb, what)                                                               \
	kh_attr_parse(p, len, pol, sizeof(pol) / sizeof(pol[0]), tb, what)

/* The fixed header of a message and the attributes after it, or -1 if it is too short. */
static int
split(const uint8_t *msg, size_t len, void *hdr, size_t hdrlen, const uint8_t **attrs, size_t *alen)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen);

	if (len < NLMSG_HDRLEN + hdrlen)
		return -1;
	memcpy(hdr, msg + NLMSG_HDRLEN, hdrlen);
	*attrs = msg + (off < len ? off : len);
	*alen = off < len ? len - off : 0;
	return 0;
}

/* Copies an address attribute that must be exactly as long as the family's addresses. */
static bool
get_addr(const struct nlattr *a, int family, struct addr *out)
{
	size_t len = addr_len(family);

	if (!len || kh_attr_len(a) != len)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
	memcpy(out->u.bytes, kh_attr_data(a), len);
	return true;
}

/* An address attribute whose family is told by its length (FDB VTEPs). */
static bool
get_addr_any(const struct nlattr *a, struct addr *out)
{
	return get_addr(a, kh_attr_len(a) == 4 ? AF_INET : AF_INET6, out);
}

static enum verdict
parse_vxlan(const struct nlattr *data, struct kh_vxlan *vx)
{
	const struct nlattr *tb[IFLA_VXLAN_MAX + 1];

	if (PARSE(kh_attr_data(data), kh_attr_len(data), vxlan_policy, tb, "VXLAN data") < 0)
		return MALFORMED;
	if (tb[IFLA_VXLAN_ID])
		vx->vni = kh_attr_u32(tb[IFLA_VXLAN_ID]);
	if (tb[IFLA_VXLAN_LOCAL])
		get_addr(tb[IFLA_VXLAN_LOCAL], AF_INET, &vx->local);
	else if (tb[IFLA_VXLAN_LOCAL6])
		get_addr(tb[IFLA_VXLAN_LOCAL6], AF_INET6, &vx->local);
	if (tb[IFLA_VXLAN_PORT])
		vx->port = ntohs(kh_attr_u16(tb[IFLA_VXLAN_PORT]));
	/* The kernel's default is to learn; it always reports the attribute anyway. */
	vx->learning = tb[IFLA_VXLAN_LEARNING] ? kh_attr_u8(tb[IFLA_VXLAN_LEARNING]) != 0 : true;
	if (tb[IFLA_VXLAN_LINK])
		vx->underlay = kh_attr_u32(tb[IFLA_VXLAN_LINK]);
	return DELIVER;
}

static enum verdict
parse_link(const uint8_t *msg, size_t len, uint16_t type, struct kh_event *ev)
{
	const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	struct ifinfomsg ifi;
	struct kh_link *l = &ev->u.link;
	const uint8_t *attrs;
	size_t alen;

	if (split(msg, len, &ifi, sizeof(ifi), &attrs, &alen) < 0 ||
	    PARSE(attrs, alen, link_policy, tb, "link") < 0 || ifi.ifi_index <= 0)
		return MALFORMED;
	/* Bridge port state comes as AF_BRIDGE link messages, and a port leaving its bridge as
	 * an AF_BRIDGE RTM_DELLINK: the link itself is still there. */
	if (ifi.ifi_family != AF_UNSPEC)
		return IGNORE;
	if (type == RTM_DELLINK)
		ev->type = KH_EV_LINK_DEL;
	else /* a link announces itself once with every flag marked as changed */
		ev->type = ifi.ifi_change == 0xffffffffu ? KH_EV_LINK_NEW : KH_EV_LINK_CHANGE;
	l->ifindex = (uint32_t)ifi.ifi_index;
	l->flags = ifi.ifi_flags;
	if (tb[IFLA_IFNAME])
		snprintf(l->name, sizeof(l->name), "%s",
		         (const char *)kh_attr_data(tb[IFLA_IFNAME]));
	if (tb[IFLA_MTU])
		l->mtu = kh_attr_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MASTER])
		l->master = kh_attr_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_ADDRESS] && kh_attr_len(tb[IFLA_ADDRESS]) == KH_MAC_LEN)
		memcpy(l->mac, kh_attr_data(tb[IFLA_ADDRESS]), KH_MAC_LEN);
	if (!tb[IFLA_LINKINFO])
		return DELIVER;
	if (PARSE(kh_attr_data(tb[IFLA_LINKINFO]), kh_attr_len(tb[IFLA_LINKINFO]), linkinfo_policy,
	          info, "link info") < 0)
		return MALFORMED;
	if (info[IFLA_INFO_KIND])
		snprintf(l->kind, sizeof(l->kind), "%s",
		         (const char *)kh_attr_data(info[IFLA_INFO_KIND]));
	if (strcmp(l->kind, "vxlan") == 0 && info[IFLA_INFO_DATA]) {
		l->has_vxlan = true;
		return parse_vxlan(info[IFLA_INFO_DATA], &l->vxlan);
	}
	return DELIVER;
}

static enum verdict
parse_addr(const uint8_t *msg, size_t len, uint16_t type, struct kh_event *ev)
{
	const struct nlattr *tb[IFA_MAX + 1], *a;
	struct ifaddrmsg ifa;
	const uint8_t *attrs;
	size_t alen;

	if (split(msg, len, &ifa, sizeof(ifa), &attrs, &alen) < 0 ||
	    PARSE(attrs, alen, addr_policy, tb, "address") < 0)
		return MALFORMED;
	if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
		return IGNORE;
	/* IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on a
	 * point-to-point link, and the only one IPv6 sends. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || !get_addr(a, ifa.ifa_family, &ev->u.addr.prefix.addr) ||
	    ifa.ifa_prefixlen > addr_len(ifa.ifa_family) * 8)
		return MALFORMED;
	ev->type = type == RTM_NEWADDR ? KH_EV_ADDR_NEW : KH_EV_ADDR_DEL;
	ev->u.addr.ifindex = ifa.ifa_index;
	ev->u.addr.prefix.len = ifa.ifa_prefixlen;
	return DELIVER;
}

/* The first hop of a multipath route, which is what struct kh_route can show. */
static enum verdict
parse_multipath(const struct nlattr *mp, int family, struct kh_route *r)
{
	const struct nlattr *tb[RTA_MAX + 1];
	struct rtnexthop nh;
	size_t len = kh_attr_len(mp);

	memcpy(&nh, kh_attr_data(mp), sizeof(nh));
	if (nh.rtnh_len < sizeof(nh) || nh.rtnh_len > len)
		return MALFORMED;
	if (PARSE((const uint8_t *)kh_attr_data(mp) + RTNH_ALIGN(sizeof(nh)),
	          nh.rtnh_len > RTNH_ALIGN(sizeof(nh)) ? nh.rtnh_len - RTNH_ALIGN(sizeof(nh)) : 0,
	          nexthop_policy, tb, "next hop") < 0)
		return MALFORMED;
	r->oif = (uint32_t)nh.rtnh_ifindex;
	if (tb[RTA_GATEWAY] && !get_addr(tb[RTA_GATEWAY], family, &r->gateway))
		return MALFORMED;
	return DELIVER;
}

static enum verdict
parse_route(const uint8_t *msg, size_t len, uint16_t type, struct kh_event *ev)
{
	const struct nlattr *tb[RTA_MAX + 1], *mx[RTAX_MAX + 1];
	struct kh_route *r = &ev->u.route;
	struct rtmsg rtm;
	const uint8_t *attrs;
	size_t alen;

	if (split(msg, len, &rtm, sizeof(rtm), &attrs, &alen) < 0 ||
	    PARSE(attrs, alen, route_policy, tb, "route") < 0)
		return MALFORMED;
	if (rtm.rtm_family != AF_INET && rtm.rtm_family != AF_INET6)
		return IGNORE;
	/* Cached clones (IPv6 exceptions, PMTU entries) are not routes anyone installed. */
	if (rtm.rtm_flags & RTM_F_CLONED)
		return IGNORE;
	if (rtm.rtm_dst_len > addr_len(rtm.rtm_family) * 8)
		return MALFORMED;
	ev->type = type == RTM_NEWROUTE ? KH_EV_ROUTE_NEW : KH_EV_ROUTE_DEL;
	r->dst.addr.family = rtm.rtm_family;
	if (tb[RTA_DST] && !get_addr(tb[RTA_DST], rtm.rtm_family, &r->dst.addr))
		return MALFORMED;
	r->dst.len = rtm.rtm_dst_len;
	r->table = tb[RTA_TABLE] ? kh_attr_u32(tb[RTA_TABLE]) : rtm.rtm_table;
	r->protocol = rtm.rtm_protocol;
	r->scope = rtm.rtm_scope;
	r->type = rtm.rtm_type;
	if (tb[RTA_PRIORITY])
		r->metric = kh_attr_u32(tb[RTA_PRIORITY]);
	if (tb[RTA_OIF])
		r->oif = kh_attr_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY] && !get_addr(tb[RTA_GATEWAY], rtm.rtm_family, &r->gateway))
		return MALFORMED;
	if (tb[RTA_METRICS]) {
		if (PARSE(kh_attr_data(tb[RTA_METRICS]), kh_attr_len(tb[RTA_METRICS]),
		          metrics_policy, mx, "route metrics") < 0)
			return MALFORMED;
		if (mx[RTAX_MTU])
			r->mtu = kh_attr_u32(mx[RTAX_MTU]);
	}
	/* A reject route has no next hop; IPv6 names the loopback device as one. */
	if (kh_route_type_rejects(r->type)) {
		r->oif = 0;
		memset(&r->gateway, 0, sizeof(r->gateway));
		return DELIVER;
	}
	if (tb[RTA_MULTIPATH] && !tb[RTA_OIF])
		return parse_multipath(tb[RTA_MULTIPATH], rtm.rtm_family, r);
	return DELIVER;
}

static enum verdict
parse_neigh(const uint8_t *msg, size_t len, uint16_t type, struct kh_event *ev)
{
	const struct nlattr *tb[NDA_MAX + 1];
	struct ndmsg ndm;
	const uint8_t *attrs;
	size_t alen;
	bool add = type == RTM_NEWNEIGH;

	if (split(msg, len, &ndm, sizeof(ndm), &attrs, &alen) < 0 ||
	    PARSE(attrs, alen, neigh_policy, tb, "neighbour") < 0 || ndm.ndm_ifindex <= 0)
		return MALFORMED;
	if (ndm.ndm_family == AF_BRIDGE) {
		struct kh_fdb *e = &ev->u.fdb;

		if (!tb[NDA_LLADDR] || kh_attr_len(tb[NDA_LLADDR]) != KH_MAC_LEN)
			return MALFORMED;
		ev->type = add ? KH_EV_FDB_NEW : KH_EV_FDB_DEL;
		e->ifindex = (uint32_t)ndm.ndm_ifindex;
		memcpy(e->mac, kh_attr_data(tb[NDA_LLADDR]), KH_MAC_LEN);
		if (tb[NDA_DST] && !get_addr_any(tb[NDA_DST], &e->dst))
			return MALFORMED;
		if (tb[NDA_MASTER])
			e->master = kh_attr_u32(tb[NDA_MASTER]);
		e->state = ndm.ndm_state;
		e->flags = ndm.ndm_flags;
		return DELIVER;
	}
	if (ndm.ndm_family != AF_INET && ndm.ndm_family != AF_INET6)
		return IGNORE;
	ev->type = add ? KH_EV_NEIGH_NEW : KH_EV_NEIGH_DEL;
	ev->u.neigh.ifindex = (uint32_t)ndm.ndm_ifindex;
	if (!tb[NDA_DST] || !get_addr(tb[NDA_DST], ndm.ndm_family, &ev->u.neigh.ip))
		return MALFORMED;
	/* Incomplete entries have no link-layer address, other link types other lengths. */
	if (tb[NDA_LLADDR] && kh_attr_len(tb[NDA_LLADDR]) == KH_MAC_LEN)
		memcpy(ev->u.neigh.mac, kh_attr_data(tb[NDA_LLADDR]), KH_MAC_LEN);
	ev->u.neigh.state = ndm.ndm_state;
	return DELIVER;
}

/* Policy rules: netd's own lookup rule can be deleted by hand like a route. */
static enum verdict
parse_rule(const uint8_t *msg, size_t len, uint16_t type, struct kh_event *ev)
{
	const struct nlattr *tb[FRA_MAX + 1];
	struct kh_rule *r = &ev->u.rule;
	struct fib_rule_hdr frh;
	const uint8_t *attrs;
	size_t alen;

	if (split(msg, len, &frh, sizeof(frh), &attrs, &alen) < 0 ||
	    PARSE(attrs, alen, rule_policy, tb, "rule") < 0)
		return MALFORMED;
	if (frh.family != AF_INET && frh.family != AF_INET6)
		return IGNORE;
	if (frh.dst_len > addr_len(frh.family) * 8 || frh.src_len > addr_len(frh.family) * 8)
		return MALFORMED;
	ev->type = type == RTM_NEWRULE ? KH_EV_RULE_NEW : KH_EV_RULE_DEL;
	r->family = frh.family;
	r->table = tb[FRA_TABLE] ? kh_attr_u32(tb[FRA_TABLE]) : frh.table;
	if (tb[FRA_PRIORITY])
		r->priority = kh_attr_u32(tb[FRA_PRIORITY]);
	r->dst.addr.family = r->src.addr.family = frh.family;
	r->dst.len = frh.dst_len;
	r->src.len = frh.src_len;
	if (tb[FRA_DST] && !get_addr(tb[FRA_DST], frh.family, &r->dst.addr))
		return MALFORMED;
	if (tb[FRA_SRC] && !get_addr(tb[FRA_SRC], frh.family, &r->src.addr))
		return MALFORMED;
	if (tb[FRA_FWMARK])
		r->fwmark = kh_attr_u32(tb[FRA_FWMARK]);
	if (tb[FRA_FWMASK])
		r->fwmask = kh_attr_u32(tb[FRA_FWMASK]);
	if (tb[FRA_PROTOCOL])
		r->protocol = kh_attr_u8(tb[FRA_PROTOCOL]);
	return DELIVER;
}

static enum verdict
parse_message(const uint8_t *msg, size_t len, uint16_t type, struct kh_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	switch (type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return parse_link(msg, len, type, ev);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return parse_addr(msg, len, type, ev);
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return parse_route(msg, len, type, ev);
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		return parse_neigh(msg, len, type, ev);
	case RTM_NEWRULE:
	case RTM_DELRULE:
		return parse_rule(msg, len, type, ev);
	default:
		return IGNORE;
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
		switch (parse_message(p, h.nlmsg_len, h.nlmsg_type, &ev)) {
		case DELIVER:
			st->events++;
			cb(&ev, arg);
			break;
		case IGNORE:
			st->ignored++;
			break;
		case MALFORMED:
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
