/* The netlink event parser on crafted datagrams: every kind of notification netd follows,
 * several per datagram, and everything that must not turn into an event -- truncated and
 * malformed messages, other senders, other families -- plus overruns becoming "resync". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/monitor.h"

/* A datagram under construction: messages, attributes and nests, written as the kernel
 * lays them out. */
struct dgram {
	uint8_t b[4096] __attribute__((aligned(4)));
	size_t len;
	size_t msg;
	size_t nest[4];
	int depth;
};

static void
put(struct dgram *d, const void *data, size_t len)
{
	assert_true(d->len + len <= sizeof(d->b));
	if (len == 0)
		return;
	memcpy(d->b + d->len, data, len);
	d->len += len;
}

static void
pad(struct dgram *d)
{
	static const uint8_t zero[4];

	put(d, zero, NLMSG_ALIGN(d->len) - d->len);
}

static void
msg_begin(struct dgram *d, uint16_t type, const void *hdr, size_t hdrlen)
{
	struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_seq = 0, .nlmsg_pid = 0};

	pad(d);
	d->msg = d->len;
	put(d, &h, sizeof(h));
	put(d, hdr, hdrlen);
	pad(d);
}

static void
msg_end(struct dgram *d)
{
	uint32_t len = (uint32_t)(d->len - d->msg);

	memcpy(d->b + d->msg, &len, sizeof(len));
}

static void
attr(struct dgram *d, uint16_t type, const void *data, size_t len)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};

	pad(d);
	put(d, &a, sizeof(a));
	put(d, data, len);
}

static void
attr_u32(struct dgram *d, uint16_t type, uint32_t v)
{
	attr(d, type, &v, sizeof(v));
}

static void
attr_str(struct dgram *d, uint16_t type, const char *s)
{
	attr(d, type, s, strlen(s) + 1);
}

static void
attr_ip(struct dgram *d, uint16_t type, const char *text)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, text, a) == 1) {
		attr(d, type, a, 4);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, a), 1);
		attr(d, type, a, 16);
	}
}

static void
nest_begin(struct dgram *d, uint16_t type)
{
	pad(d);
	d->nest[d->depth++] = d->len;
	attr(d, type | NLA_F_NESTED, NULL, 0);
}

static void
nest_end(struct dgram *d)
{
	size_t at = d->nest[--d->depth];
	uint16_t len = (uint16_t)(d->len - at);

	memcpy(d->b + at, &len, sizeof(len));
}

/* What the callback saw. */
struct seen {
	struct kh_event ev[16];
	int n;
};

static void
collect(const struct kh_event *ev, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 16);
	s->ev[s->n++] = *ev;
}

static struct kh_monitor_stats stats;
static struct seen seen;

static void
feed(const struct dgram *d, uint32_t sender)
{
	struct kh_monitor_input in = {.buf = d->b, .len = d->len, .sender = sender};

	memset(&seen, 0, sizeof(seen));
	memset(&stats, 0, sizeof(stats));
	kh_monitor_process(&in, collect, &seen, &stats);
}

static void
link_msg(struct dgram *d, uint16_t type, int family, int ifindex, uint32_t change)
{
	struct ifinfomsg ifi = {.ifi_family = (uint8_t)family,
	                        .ifi_index = ifindex,
	                        .ifi_flags = IFF_UP | IFF_BROADCAST,
	                        .ifi_change = change};
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x42};

	msg_begin(d, type, &ifi, sizeof(ifi));
	attr_str(d, IFLA_IFNAME, "vx100");
	attr_u32(d, IFLA_MTU, 1450);
	attr_u32(d, IFLA_MASTER, 9);
	attr(d, IFLA_ADDRESS, mac, sizeof(mac));
	nest_begin(d, IFLA_LINKINFO);
	attr_str(d, IFLA_INFO_KIND, "vxlan");
	nest_begin(d, IFLA_INFO_DATA);
	attr_u32(d, IFLA_VXLAN_ID, 100);
	attr_ip(d, IFLA_VXLAN_LOCAL, "192.0.2.1");
	uint16_t port = htons(4789);
	attr(d, IFLA_VXLAN_PORT, &port, 2);
	attr(d, IFLA_VXLAN_LEARNING, "\0", 1);
	attr_u32(d, IFLA_VXLAN_LINK, 3);
	nest_end(d);
	nest_end(d);
	msg_end(d);
}

static void
route_msg(struct dgram *d, uint16_t type, int family, const char *dst, uint8_t dst_len)
{
	struct rtmsg rtm = {.rtm_family = (uint8_t)family,
	                    .rtm_dst_len = dst_len,
	                    .rtm_table = RT_TABLE_COMPAT,
	                    .rtm_protocol = 200,
	                    .rtm_scope = RT_SCOPE_LINK,
	                    .rtm_type = RTN_UNICAST};

	msg_begin(d, type, &rtm, sizeof(rtm));
	attr_u32(d, RTA_TABLE, 51820);
	if (dst)
		attr_ip(d, RTA_DST, dst);
	attr_u32(d, RTA_PRIORITY, 10);
	attr_u32(d, RTA_OIF, 7);
	nest_begin(d, RTA_METRICS);
	attr_u32(d, RTAX_MTU, 1400);
	nest_end(d);
	msg_end(d);
}

static void
test_link_events(void **state)
{
	char a[ADDR_STRLEN];
	struct dgram d;

	(void)state;
	memset(&d, 0, sizeof(d));
	link_msg(&d, RTM_NEWLINK, AF_UNSPEC, 5, 0xffffffff);
	link_msg(&d, RTM_NEWLINK, AF_UNSPEC, 5, IFF_UP);
	link_msg(&d, RTM_DELLINK, AF_UNSPEC, 5, 0);
	feed(&d, 0);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.ev[0].type, KH_EV_LINK_NEW);
	assert_int_equal(seen.ev[1].type, KH_EV_LINK_CHANGE);
	assert_int_equal(seen.ev[2].type, KH_EV_LINK_DEL);
	const struct kh_link *l = &seen.ev[0].u.link;
	assert_string_equal(l->name, "vx100");
	assert_int_equal(l->ifindex, 5);
	assert_int_equal(l->flags, IFF_UP | IFF_BROADCAST);
	assert_int_equal(l->mtu, 1450);
	assert_int_equal(l->master, 9);
	assert_int_equal(l->mac[5], 0x42);
	assert_string_equal(l->kind, "vxlan");
	assert_true(l->has_vxlan);
	assert_int_equal(l->vxlan.vni, 100);
	assert_string_equal(addr_format(&l->vxlan.local, a), "192.0.2.1");
	assert_int_equal(l->vxlan.port, 4789);
	assert_false(l->vxlan.learning);
	assert_int_equal(l->vxlan.underlay, 3);
	assert_int_equal(stats.datagrams, 1);
	assert_int_equal(stats.events, 3);
	assert_int_equal(stats.malformed, 0);
}

static void
test_bridge_port_messages_are_not_link_events(void **state)
{
	struct dgram d;

	(void)state;
	/* A port leaving its bridge: the link itself stays. */
	memset(&d, 0, sizeof(d));
	link_msg(&d, RTM_DELLINK, AF_BRIDGE, 5, 0);
	feed(&d, 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(stats.ignored, 1);
	assert_int_equal(stats.malformed, 0);
}

static void
test_route_events(void **state)
{
	char p[ADDR_PREFIX_STRLEN], g[ADDR_STRLEN];
	struct dgram d;

	(void)state;
	memset(&d, 0, sizeof(d));
	route_msg(&d, RTM_NEWROUTE, AF_INET, "10.20.0.0", 24);
	route_msg(&d, RTM_DELROUTE, AF_INET, NULL, 0); /* the default route has no RTA_DST */
	feed(&d, 0);
	assert_int_equal(seen.n, 2);
	const struct kh_route *r = &seen.ev[0].u.route;
	assert_int_equal(seen.ev[0].type, KH_EV_ROUTE_NEW);
	assert_string_equal(addr_prefix_format(&r->dst, p), "10.20.0.0/24");
	assert_int_equal(r->table, 51820); /* RTA_TABLE wins over the header's 8 bits */
	assert_int_equal(r->protocol, 200);
	assert_int_equal(r->scope, RT_SCOPE_LINK);
	assert_int_equal(r->type, RTN_UNICAST);
	assert_int_equal(r->metric, 10);
	assert_int_equal(r->oif, 7);
	assert_int_equal(r->mtu, 1400);
	assert_int_equal(r->gateway.family, AF_UNSPEC);
	assert_int_equal(seen.ev[1].type, KH_EV_ROUTE_DEL);
	assert_string_equal(addr_prefix_format(&seen.ev[1].u.route.dst, p), "0.0.0.0/0");

	/* IPv6, multipath: the first hop is what a kh_route shows. */
	struct rtmsg rtm = {.rtm_family = AF_INET6,
	                    .rtm_dst_len = 48,
	                    .rtm_table = RT_TABLE_MAIN,
	                    .rtm_protocol = 3};
	uint8_t hops[64];
	struct rtnexthop nh = {.rtnh_len = sizeof(nh) + 20, .rtnh_ifindex = 4};
	struct nlattr gw = {.nla_len = 20, .nla_type = RTA_GATEWAY};
	memcpy(hops, &nh, sizeof(nh));
	memcpy(hops + sizeof(nh), &gw, sizeof(gw));
	assert_int_equal(inet_pton(AF_INET6, "fe80::1", hops + sizeof(nh) + 4), 1);
	memset(&d, 0, sizeof(d));
	msg_begin(&d, RTM_NEWROUTE, &rtm, sizeof(rtm));
	attr_ip(&d, RTA_DST, "2001:db8:200::");
	attr(&d, RTA_MULTIPATH, hops, sizeof(nh) + 20);
	msg_end(&d);
	feed(&d, 0);
	assert_int_equal(seen.n, 1);
	r = &seen.ev[0].u.route;
	assert_string_equal(addr_prefix_format(&r->dst, p), "2001:db8:200::/48");
	assert_int_equal(r->table, RT_TABLE_MAIN);
	assert_int_equal(r->oif, 4);
	assert_string_equal(addr_format(&r->gateway, g), "fe80::1");

	/* An IPv6 reject route names the loopback device; it has no next hop. */
	rtm.rtm_type = RTN_UNREACHABLE;
	memset(&d, 0, sizeof(d));
	msg_begin(&d, RTM_NEWROUTE, &rtm, sizeof(rtm));
	attr_ip(&d, RTA_DST, "2001:db8:200::");
	attr_u32(&d, RTA_OIF, 1);
	msg_end(&d);
	feed(&d, 0);
	assert_int_equal(seen.n, 1);
	r = &seen.ev[0].u.route;
	assert_int_equal(r->type, KH_ROUTE_UNREACHABLE);
	assert_int_equal(r->oif, 0);

	/* Cached clones are nobody's routes. */
	rtm.rtm_type = RTN_UNICAST;
	rtm.rtm_flags = RTM_F_CLONED;
	memset(&d, 0, sizeof(d));
	msg_begin(&d, RTM_NEWROUTE, &rtm, sizeof(rtm));
	attr_ip(&d, RTA_DST, "2001:db8:200::");
	msg_end(&d);
	feed(&d, 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(stats.ignored, 1);
}

static void
test_rule_events(void **state)
{
	struct fib_rule_hdr frh = {.family = AF_INET6,
	                           .src_len = 48,
	                           .table = RT_TABLE_COMPAT,
	                           .action = FR_ACT_TO_TBL};
	char p[ADDR_PREFIX_STRLEN];
	struct dgram d;
	uint8_t proto = 200;

	(void)state;
	memset(&d, 0, sizeof(d));
	msg_begin(&d, RTM_DELRULE, &frh, sizeof(frh));
	attr_u32(&d, FRA_TABLE, 51820);
	attr_u32(&d, FRA_PRIORITY, 32000);
	attr_ip(&d, FRA_SRC, "2001:db8:1::");
	attr(&d, FRA_PROTOCOL, &proto, 1);
	msg_end(&d);
	frh.family = AF_INET;
	frh.src_len = 0;
	frh.table = RT_TABLE_MAIN;
	msg_begin(&d, RTM_NEWRULE, &frh, sizeof(frh));
	attr_u32(&d, FRA_PRIORITY, 32766);
	msg_end(&d);
	feed(&d, 0);
	assert_int_equal(seen.n, 2);
	const struct kh_rule *r = &seen.ev[0].u.rule;
	assert_int_equal(seen.ev[0].type, KH_EV_RULE_DEL);
	assert_int_equal(r->family, AF_INET6);
	assert_int_equal(r->table, 51820); /* FRA_TABLE wins over the header's 8 bits */
	assert_int_equal(r->priority, 32000);
	assert_int_equal(r->protocol, 200);
	assert_string_equal(addr_prefix_format(&r->src, p), "2001:db8:1::/48");
	assert_int_equal(r->dst.len, 0);
	assert_int_equal(seen.ev[1].type, KH_EV_RULE_NEW);
	assert_int_equal(seen.ev[1].u.rule.table, RT_TABLE_MAIN);

	/* A prefix longer than its family allows, an address of the wrong size: malformed. */
	memset(&d, 0, sizeof(d));
	frh.src_len = 33;
	msg_begin(&d, RTM_NEWRULE, &frh, sizeof(frh));
	msg_end(&d);
	frh.src_len = 24;
	msg_begin(&d, RTM_NEWRULE, &frh, sizeof(frh));
	attr_ip(&d, FRA_SRC, "2001:db8::");
	msg_end(&d);
	feed(&d, 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(stats.malformed, 2);
}

static void
test_addr_and_neigh_events(void **state)
{
	char p[ADDR_PREFIX_STRLEN], a[ADDR_STRLEN], m[KH_MAC_STRLEN];
	struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = 24, .ifa_index = 6};
	struct ndmsg ndm = {.ndm_family = AF_INET, .ndm_ifindex = 6, .ndm_state = NUD_PERMANENT};
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x05};
	struct dgram d;

	(void)state;
	memset(&d, 0, sizeof(d));
	/* Point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer's. */
	msg_begin(&d, RTM_NEWADDR, &ifa, sizeof(ifa));
	attr_ip(&d, IFA_ADDRESS, "10.100.0.2");
	attr_ip(&d, IFA_LOCAL, "10.100.0.1");
	msg_end(&d);
	ifa.ifa_family = AF_INET6;
	ifa.ifa_prefixlen = 64;
	msg_begin(&d, RTM_DELADDR, &ifa, sizeof(ifa));
	attr_ip(&d, IFA_ADDRESS, "2001:db8:100::1");
	msg_end(&d);
	msg_begin(&d, RTM_NEWNEIGH, &ndm, sizeof(ndm));
	attr_ip(&d, NDA_DST, "10.100.0.5");
	attr(&d, NDA_LLADDR, mac, 6);
	msg_end(&d);
	ndm.ndm_family = AF_BRIDGE;
	ndm.ndm_flags = NTF_SELF;
	msg_begin(&d, RTM_DELNEIGH, &ndm, sizeof(ndm));
	attr(&d, NDA_LLADDR, "\0\0\0\0\0\0", 6);
	attr_ip(&d, NDA_DST, "2001:db8::2"); /* a VTEP's family is told by its length */
	attr_u32(&d, NDA_MASTER, 9);
	msg_end(&d);
	feed(&d, 0);
	assert_int_equal(seen.n, 4);
	assert_int_equal(seen.ev[0].type, KH_EV_ADDR_NEW);
	assert_int_equal(seen.ev[0].u.addr.ifindex, 6);
	assert_string_equal(addr_prefix_format(&seen.ev[0].u.addr.prefix, p), "10.100.0.1/24");
	assert_int_equal(seen.ev[1].type, KH_EV_ADDR_DEL);
	assert_string_equal(addr_prefix_format(&seen.ev[1].u.addr.prefix, p), "2001:db8:100::1/64");
	assert_int_equal(seen.ev[2].type, KH_EV_NEIGH_NEW);
	assert_string_equal(addr_format(&seen.ev[2].u.neigh.ip, a), "10.100.0.5");
	assert_string_equal(kh_mac_format(seen.ev[2].u.neigh.mac, m), "02:00:00:00:00:05");
	assert_int_equal(seen.ev[2].u.neigh.state, NUD_PERMANENT);
	assert_int_equal(seen.ev[3].type, KH_EV_FDB_DEL);
	const struct kh_fdb *f = &seen.ev[3].u.fdb;
	assert_int_equal(f->ifindex, 6);
	assert_string_equal(kh_mac_format(f->mac, m), "00:00:00:00:00:00");
	assert_string_equal(addr_format(&f->dst, a), "2001:db8::2");
	assert_int_equal(f->master, 9);
	assert_int_equal(f->flags, NTF_SELF);
}

static void
test_foreign_sender(void **state)
{
	struct dgram d;

	(void)state;
	memset(&d, 0, sizeof(d));
	link_msg(&d, RTM_DELLINK, AF_UNSPEC, 1, 0);
	feed(&d, 4242);
	assert_int_equal(seen.n, 0);
	assert_int_equal(stats.foreign, 1);
	assert_int_equal(stats.events, 0);
	feed(&d, 0);
	assert_int_equal(seen.n, 1);
}

static void
test_overrun_and_truncation(void **state)
{
	struct kh_monitor_input in = {.err = ENOBUFS};
	struct dgram d;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	memset(&stats, 0, sizeof(stats));
	kh_monitor_process(&in, collect, &seen, &stats);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ev[0].type, KH_EV_RESYNC);
	assert_int_equal(stats.resyncs, 1);

	/* Other receive errors are the reader's to report, not events. */
	in.err = EIO;
	kh_monitor_process(&in, collect, &seen, &stats);
	assert_int_equal(seen.n, 1);

	/* A datagram cut short: what arrived whole is delivered after the resync. */
	memset(&d, 0, sizeof(d));
	route_msg(&d, RTM_NEWROUTE, AF_INET, "10.20.0.0", 24);
	size_t whole = d.len;
	route_msg(&d, RTM_NEWROUTE, AF_INET, "10.21.0.0", 24);
	memset(&seen, 0, sizeof(seen));
	memset(&stats, 0, sizeof(stats));
	in = (struct kh_monitor_input){.buf = d.b, .len = whole + 20, .truncated = true};
	kh_monitor_process(&in, collect, &seen, &stats);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.ev[0].type, KH_EV_RESYNC);
	assert_int_equal(seen.ev[1].type, KH_EV_ROUTE_NEW);
	assert_int_equal(stats.malformed, 1); /* the cut message */
}

/* Each builder makes one bad message; a good route follows it in the same datagram, and must
 * still be delivered, because the length chain itself is intact. */
static void
bad_short_header(struct dgram *d)
{
	struct rtmsg rtm = {.rtm_family = AF_INET};

	msg_begin(d, RTM_NEWROUTE, &rtm, 8);
	msg_end(d);
}

static void
bad_dst_len(struct dgram *d)
{
	route_msg(d, RTM_NEWROUTE, AF_INET, "10.0.0.0", 33);
}

static void
bad_dst_size(struct dgram *d)
{
	route_msg(d, RTM_NEWROUTE, AF_INET, "2001:db8::", 24);
}

static void
bad_gateway_size(struct dgram *d)
{
	struct rtmsg rtm = {.rtm_family = AF_INET, .rtm_dst_len = 8};

	msg_begin(d, RTM_NEWROUTE, &rtm, sizeof(rtm));
	attr(d, RTA_GATEWAY, "\1\2\3\4\5", 5);
	msg_end(d);
}

static void
bad_attr_overrun(struct dgram *d)
{
	struct rtmsg rtm = {.rtm_family = AF_INET, .rtm_dst_len = 8};
	struct nlattr a = {.nla_len = 200, .nla_type = RTA_OIF};

	msg_begin(d, RTM_NEWROUTE, &rtm, sizeof(rtm));
	put(d, &a, sizeof(a));
	put(d, "\0\0\0\0", 4);
	msg_end(d);
}

static void
bad_name_unterminated(struct dgram *d)
{
	struct ifinfomsg ifi = {.ifi_index = 3};

	msg_begin(d, RTM_NEWLINK, &ifi, sizeof(ifi));
	attr(d, IFLA_IFNAME, "vx100", 5);
	msg_end(d);
}

static void
bad_name_too_long(struct dgram *d)
{
	struct ifinfomsg ifi = {.ifi_index = 3};

	msg_begin(d, RTM_NEWLINK, &ifi, sizeof(ifi));
	attr_str(d, IFLA_IFNAME, "a-name-of-16-byt");
	msg_end(d);
}

static void
bad_mtu_size(struct dgram *d)
{
	struct ifinfomsg ifi = {.ifi_index = 3};

	msg_begin(d, RTM_NEWLINK, &ifi, sizeof(ifi));
	attr(d, IFLA_MTU, "\5\0", 2);
	msg_end(d);
}

static void
bad_nested_kind(struct dgram *d)
{
	struct ifinfomsg ifi = {.ifi_index = 3};

	msg_begin(d, RTM_NEWLINK, &ifi, sizeof(ifi));
	nest_begin(d, IFLA_LINKINFO);
	attr(d, IFLA_INFO_KIND, "vxlan", 5);
	nest_end(d);
	msg_end(d);
}

static void
bad_vxlan_local(struct dgram *d)
{
	struct ifinfomsg ifi = {.ifi_index = 3};

	msg_begin(d, RTM_NEWLINK, &ifi, sizeof(ifi));
	nest_begin(d, IFLA_LINKINFO);
	attr_str(d, IFLA_INFO_KIND, "vxlan");
	nest_begin(d, IFLA_INFO_DATA);
	attr(d, IFLA_VXLAN_LOCAL, "\1\2\3\4\5\6", 6);
	nest_end(d);
	nest_end(d);
	msg_end(d);
}

static void
bad_link_index(struct dgram *d)
{
	struct ifinfomsg ifi = {.ifi_index = 0};

	msg_begin(d, RTM_NEWLINK, &ifi, sizeof(ifi));
	msg_end(d);
}

static void
bad_fdb_without_mac(struct dgram *d)
{
	struct ndmsg ndm = {.ndm_family = AF_BRIDGE, .ndm_ifindex = 4};

	msg_begin(d, RTM_NEWNEIGH, &ndm, sizeof(ndm));
	attr_ip(d, NDA_DST, "192.0.2.2");
	msg_end(d);
}

static void
bad_neigh_without_ip(struct dgram *d)
{
	struct ndmsg ndm = {.ndm_family = AF_INET, .ndm_ifindex = 4};

	msg_begin(d, RTM_NEWNEIGH, &ndm, sizeof(ndm));
	attr(d, NDA_LLADDR, "\2\0\0\0\0\1", 6);
	msg_end(d);
}

static void
bad_addr_prefixlen(struct dgram *d)
{
	struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = 40, .ifa_index = 2};

	msg_begin(d, RTM_NEWADDR, &ifa, sizeof(ifa));
	attr_ip(d, IFA_LOCAL, "10.0.0.1");
	msg_end(d);
}

static void
bad_multipath_hop(struct dgram *d)
{
	struct rtmsg rtm = {.rtm_family = AF_INET, .rtm_dst_len = 8};
	struct rtnexthop nh = {.rtnh_len = 100, .rtnh_ifindex = 2};

	msg_begin(d, RTM_NEWROUTE, &rtm, sizeof(rtm));
	attr(d, RTA_MULTIPATH, &nh, sizeof(nh));
	msg_end(d);
}

static void
test_malformed_messages(void **state)
{
	static void (*const bad[])(struct dgram *) = {
	        bad_short_header,     bad_dst_len,           bad_dst_size,      bad_gateway_size,
	        bad_attr_overrun,     bad_name_unterminated, bad_name_too_long, bad_mtu_size,
	        bad_nested_kind,      bad_vxlan_local,       bad_link_index,    bad_fdb_without_mac,
	        bad_neigh_without_ip, bad_addr_prefixlen,    bad_multipath_hop,
	};
	char p[ADDR_PREFIX_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dgram d;

		memset(&d, 0, sizeof(d));
		bad[i](&d);
		route_msg(&d, RTM_NEWROUTE, AF_INET, "10.30.0.0", 16);
		feed(&d, 0);
		if (stats.malformed != 1 || seen.n != 1)
			fail_msg("bad message %zu: malformed %llu, events %d", i,
			         (unsigned long long)stats.malformed, seen.n);
		assert_string_equal(addr_prefix_format(&seen.ev[0].u.route.dst, p), "10.30.0.0/16");
	}
}

static void
test_broken_length_chain(void **state)
{
	struct dgram d;

	(void)state;
	/* A message claiming more bytes than the datagram has: nothing after it is trusted. */
	memset(&d, 0, sizeof(d));
	route_msg(&d, RTM_NEWROUTE, AF_INET, "10.20.0.0", 24);
	size_t second = NLMSG_ALIGN(d.len);
	route_msg(&d, RTM_NEWROUTE, AF_INET, "10.21.0.0", 24);
	uint32_t huge = 10000;
	memcpy(d.b + second, &huge, sizeof(huge));
	feed(&d, 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(stats.malformed, 1);

	/* One shorter than its own header. */
	uint32_t tiny = 8;
	memcpy(d.b + second, &tiny, sizeof(tiny));
	feed(&d, 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(stats.malformed, 1);

	/* Stray bytes after the last message. */
	memset(&d, 0, sizeof(d));
	route_msg(&d, RTM_NEWROUTE, AF_INET, "10.20.0.0", 24);
	put(&d, "\1\2\3\4\5\6\7\10", 8);
	feed(&d, 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(stats.malformed, 1);

	/* Nothing at all. */
	memset(&d, 0, sizeof(d));
	feed(&d, 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(stats.malformed, 0);
	assert_int_equal(stats.datagrams, 1);
}

static void
test_uninteresting_messages(void **state)
{
	struct rtmsg rtm = {.rtm_family = AF_INET};
	struct rtgenmsg gen = {.rtgen_family = AF_INET};
	struct dgram d;

	(void)state;
	memset(&d, 0, sizeof(d));
	msg_begin(&d, NLMSG_DONE, &gen, sizeof(gen));
	msg_end(&d);
	msg_begin(&d, RTM_NEWQDISC, &rtm, sizeof(rtm));
	msg_end(&d);
	rtm.rtm_family = RTNL_FAMILY_IPMR;
	msg_begin(&d, RTM_NEWROUTE, &rtm, sizeof(rtm));
	msg_end(&d);
	route_msg(&d, RTM_NEWROUTE, AF_INET, "10.20.0.0", 24);
	feed(&d, 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(stats.ignored, 3);
	assert_int_equal(stats.malformed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_link_events),
	        cmocka_unit_test(test_bridge_port_messages_are_not_link_events),
	        cmocka_unit_test(test_route_events),
	        cmocka_unit_test(test_rule_events),
	        cmocka_unit_test(test_addr_and_neigh_events),
	        cmocka_unit_test(test_foreign_sender),
	        cmocka_unit_test(test_overrun_and_truncation),
	        cmocka_unit_test(test_malformed_messages),
	        cmocka_unit_test(test_broken_length_chain),
	        cmocka_unit_test(test_uninteresting_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
