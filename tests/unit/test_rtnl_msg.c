/* The requests kernel-helpers builds, read back by the decoders that its dumps and its event
 * monitor share (a request has the layout of the notification it causes): they must give back
 * the plain data that went in, and the header must carry the flags that make the kernel do
 * the right thing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/monitor.h"
#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtmsg.h"

static struct addr_prefix
P(const char *text) {
	struct addr_prefix p;

	assert_int_equal(addr_prefix_parse(text, &p), 0);
	return p;
}

static struct addr
A(const char *text) {
	struct addr a;

	assert_int_equal(addr_parse(text, &a), 0);
	return a;
}

struct one {
	struct kh_event ev;
	int n;
};

static void
one_event(const struct kh_event *ev, void *arg)
{
	struct one *o = arg;

	o->ev = *ev;
	o->n++;
}

/* The decoders, as if the kernel had sent the message. */
static struct kh_event
own_parse_hdr(struct nlmsghdr *h)
{
	struct kh_monitor_stats st;
	struct one o;
	struct kh_monitor_input in = {.buf = h, .len = h->nlmsg_len, .sender = 0};

	memset(&st, 0, sizeof(st));
	memset(&o, 0, sizeof(o));
	kh_monitor_process(&in, one_event, &o, &st);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(o.n, 1);
	return o.ev;
}

static struct kh_event
own_parse(struct nl_msg *msg)
{
	return own_parse_hdr(nlmsg_hdr(msg));
}

static void
assert_route_equal(const struct kh_route *a, const struct kh_route *b)
{
	assert_true(addr_prefix_equal(&a->dst, &b->dst));
	assert_int_equal(a->table, b->table);
	assert_int_equal(a->protocol, b->protocol);
	assert_int_equal(a->metric, b->metric);
	assert_int_equal(a->oif, b->oif);
	assert_true(addr_equal(&a->gateway, &b->gateway));
	assert_int_equal(a->mtu, b->mtu);
}

static void
test_route_requests(void **state)
{
	struct kh_route want;
	struct kh_event ev;
	struct kh_route_msg msg;

	(void)state;
	memset(&want, 0, sizeof(want));
	want.dst = P("10.200.0.0/24");
	want.table = 51820;
	want.protocol = 200;
	want.oif = 7;
	want.metric = 10;
	want.mtu = 1400;
	assert_int_equal(kh_msg_route(&want, false, &msg), 0);
	assert_int_equal(msg.h.nlmsg_type, RTM_NEWROUTE);
	/* Replace: an install is idempotent, and a changed MTU takes effect. */
	assert_int_equal(msg.h.nlmsg_flags & (NLM_F_CREATE | NLM_F_REPLACE | NLM_F_EXCL),
	                 NLM_F_CREATE | NLM_F_REPLACE);
	ev = own_parse_hdr(&msg.h);
	assert_int_equal(ev.type, KH_EV_ROUTE_NEW);
	assert_route_equal(&ev.u.route, &want);
	assert_int_equal(ev.u.route.scope, RT_SCOPE_LINK); /* no gateway: on-link, as with ip */
	assert_int_equal(ev.u.route.type, RTN_UNICAST);

	/* A delete names the route but matches any scope. */
	assert_int_equal(kh_msg_route(&want, true, &msg), 0);
	assert_int_equal(msg.h.nlmsg_type, RTM_DELROUTE);
	assert_int_equal(((struct rtmsg *)NLMSG_DATA(&msg.h))->rtm_scope, RT_SCOPE_NOWHERE);
	ev = own_parse_hdr(&msg.h);
	assert_int_equal(ev.type, KH_EV_ROUTE_DEL);
	assert_route_equal(&ev.u.route, &want);

	memset(&want, 0, sizeof(want));
	want.dst = P("2001:db8:200::/48");
	want.table = 254;
	want.protocol = 200;
	want.gateway = A("fe80::2");
	want.oif = 3;
	want.metric = 1024;
	want.mtu = 1280; /* every attribute there is: the largest request fits */
	assert_int_equal(kh_msg_route(&want, false, &msg), 0);
	ev = own_parse_hdr(&msg.h);
	assert_route_equal(&ev.u.route, &want);
	assert_int_equal(ev.u.route.scope, RT_SCOPE_UNIVERSE);

	/* A reject route: no next hop, global as `ip` makes it, and read back as sent. */
	memset(&want, 0, sizeof(want));
	want.dst = P("10.200.0.0/16");
	want.table = 51820;
	want.protocol = 200;
	want.type = KH_ROUTE_UNREACHABLE;
	want.metric = 65535;
	assert_int_equal(kh_msg_route(&want, false, &msg), 0);
	assert_int_equal(((struct rtmsg *)NLMSG_DATA(&msg.h))->rtm_type, RTN_UNREACHABLE);
	ev = own_parse_hdr(&msg.h);
	assert_route_equal(&ev.u.route, &want);
	assert_int_equal(ev.u.route.type, RTN_UNREACHABLE);
	assert_int_equal(ev.u.route.scope, RT_SCOPE_UNIVERSE);
	/* A delete that names no type matches any. */
	want.type = 0;
	assert_int_equal(kh_msg_route(&want, true, &msg), 0);
	assert_int_equal(((struct rtmsg *)NLMSG_DATA(&msg.h))->rtm_type, RTN_UNSPEC);
	/* A reject route through a device is no reject route. */
	want.type = KH_ROUTE_BLACKHOLE;
	want.oif = 3;
	assert_int_equal(kh_msg_route(&want, false, &msg), -EINVAL);

	/* Refused without a message. */
	memset(&want, 0, sizeof(want));
	want.table = 254;
	want.oif = 3;
	want.dst = P("2001:db8:200::1/48");
	assert_int_equal(kh_msg_route(&want, false, &msg), -EINVAL);
}

static void
test_link_requests(void **state)
{
	struct kh_vxlan vx = {.vni = 100, .port = 4789, .learning = false, .underlay = 3};
	struct kh_event ev;
	struct nl_msg *msg;
	char a[ADDR_STRLEN];

	(void)state;
	vx.local = A("192.0.2.1");
	assert_int_equal(kh_msg_vxlan_add("vx100", &vx, 1450, &msg), 0);
	assert_int_equal(nlmsg_hdr(msg)->nlmsg_type, RTM_NEWLINK);
	/* Create, never take over an existing link of that name. */
	assert_int_equal(nlmsg_hdr(msg)->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL),
	                 NLM_F_CREATE | NLM_F_EXCL);
	/* A request names no index; a notification always does. */
	((struct ifinfomsg *)nlmsg_data(nlmsg_hdr(msg)))->ifi_index = 7;
	ev = own_parse(msg);
	const struct kh_link *l = &ev.u.link;
	assert_string_equal(l->name, "vx100");
	assert_int_equal(l->mtu, 1450);
	assert_string_equal(l->kind, "vxlan");
	assert_true(l->has_vxlan);
	assert_int_equal(l->vxlan.vni, 100);
	assert_string_equal(addr_format(&l->vxlan.local, a), "192.0.2.1");
	assert_int_equal(l->vxlan.port, 4789);
	assert_false(l->vxlan.learning); /* said explicitly: the kernel's default is to learn */
	assert_int_equal(l->vxlan.underlay, 3);
	nlmsg_free(msg);

	vx.local = A("2001:db8::1");
	vx.underlay = 0;
	assert_int_equal(kh_msg_vxlan_add("vx6", &vx, 0, &msg), 0);
	((struct ifinfomsg *)nlmsg_data(nlmsg_hdr(msg)))->ifi_index = 8;
	ev = own_parse(msg);
	assert_string_equal(addr_format(&ev.u.link.vxlan.local, a), "2001:db8::1");
	assert_int_equal(ev.u.link.mtu, 0);
	assert_int_equal(ev.u.link.vxlan.underlay, 0);
	nlmsg_free(msg);

	assert_int_equal(kh_msg_link_add("br100", "bridge", 1500, &msg), 0);
	((struct ifinfomsg *)nlmsg_data(nlmsg_hdr(msg)))->ifi_index = 9;
	ev = own_parse(msg);
	assert_string_equal(ev.u.link.kind, "bridge");
	assert_false(ev.u.link.has_vxlan);
	nlmsg_free(msg);

	vx.vni = 1u << 24; /* VNIs have 24 bits */
	assert_int_equal(kh_msg_vxlan_add("vx100", &vx, 0, &msg), -EINVAL);
}

static void
test_ifaddr_requests(void **state)
{
	struct kh_ifaddr want = {.ifindex = 5};
	struct kh_event ev;
	struct nl_msg *msg;

	(void)state;
	want.prefix = P("10.100.0.1/24");
	assert_int_equal(kh_msg_ifaddr(&want, false, &msg), 0);
	assert_int_equal(nlmsg_hdr(msg)->nlmsg_type, RTM_NEWADDR);
	ev = own_parse(msg);
	assert_int_equal(ev.type, KH_EV_ADDR_NEW);
	assert_int_equal(ev.u.addr.ifindex, 5);
	assert_true(addr_prefix_equal(&ev.u.addr.prefix, &want.prefix));
	nlmsg_free(msg);

	want.prefix = P("2001:db8:100::1/64");
	assert_int_equal(kh_msg_ifaddr(&want, true, &msg), 0);
	assert_int_equal(nlmsg_hdr(msg)->nlmsg_type, RTM_DELADDR);
	ev = own_parse(msg);
	assert_int_equal(ev.type, KH_EV_ADDR_DEL);
	assert_true(addr_prefix_equal(&ev.u.addr.prefix, &want.prefix));
	nlmsg_free(msg);
}

static void
test_fdb_requests(void **state)
{
	static const uint8_t zero[KH_MAC_LEN];
	struct kh_fdb want = {.ifindex = 4};
	struct kh_event ev;
	struct kh_fdb_msg msg;

	(void)state;
	want.dst = A("192.0.2.2");
	assert_int_equal(kh_msg_fdb(&want, KH_NEIGH_APPEND, &msg), 0);
	/* Append: one all-zero entry per remote VTEP, each one kept. */
	assert_int_equal(msg.h.nlmsg_type, RTM_NEWNEIGH);
	assert_int_equal(msg.h.nlmsg_flags &
	                         (NLM_F_CREATE | NLM_F_APPEND | NLM_F_REPLACE | NLM_F_EXCL),
	                 NLM_F_CREATE | NLM_F_APPEND);
	ev = own_parse_hdr(&msg.h);
	assert_int_equal(ev.type, KH_EV_FDB_NEW);
	assert_int_equal(ev.u.fdb.ifindex, 4);
	assert_memory_equal(ev.u.fdb.mac, zero, KH_MAC_LEN);
	assert_true(addr_equal(&ev.u.fdb.dst, &want.dst));
	assert_int_equal(ev.u.fdb.state, NUD_PERMANENT);
	assert_int_equal(ev.u.fdb.flags, NTF_SELF);

	assert_int_equal(kh_mac_parse("02:00:00:00:00:07", want.mac), 0);
	want.dst = A("2001:db8::2");
	assert_int_equal(kh_msg_fdb(&want, KH_NEIGH_REPLACE, &msg), 0);
	assert_int_equal(msg.h.nlmsg_flags &
	                         (NLM_F_CREATE | NLM_F_APPEND | NLM_F_REPLACE | NLM_F_EXCL),
	                 NLM_F_CREATE | NLM_F_REPLACE);
	ev = own_parse_hdr(&msg.h);
	assert_memory_equal(ev.u.fdb.mac, want.mac, KH_MAC_LEN);
	assert_true(addr_equal(&ev.u.fdb.dst, &want.dst));

	assert_int_equal(kh_msg_fdb(&want, KH_NEIGH_DELETE, &msg), 0);
	assert_int_equal(msg.h.nlmsg_type, RTM_DELNEIGH);
	ev = own_parse_hdr(&msg.h);
	assert_int_equal(ev.type, KH_EV_FDB_DEL);
	/* Deleting one VTEP's entry must name it, or the kernel drops all of them. */
	assert_true(addr_equal(&ev.u.fdb.dst, &want.dst));

	/* The largest request fits its buffer; the delete asks for no creation. */
	assert_true(msg.h.nlmsg_len <= sizeof(msg.bytes));
	assert_int_equal(
	        msg.h.nlmsg_flags & (NLM_F_CREATE | NLM_F_APPEND | NLM_F_REPLACE | NLM_F_EXCL), 0);

	want.dst.family = AF_UNSPEC;
	assert_int_equal(kh_msg_fdb(&want, KH_NEIGH_APPEND, &msg), -EINVAL);
	want.dst = A("192.0.2.2");
	want.ifindex = 0;
	assert_int_equal(kh_msg_fdb(&want, KH_NEIGH_APPEND, &msg), -EINVAL);
}

static void
test_neigh_requests(void **state)
{
	struct kh_neigh want = {.ifindex = 6};
	struct kh_event ev;
	struct nl_msg *msg;

	(void)state;
	want.ip = A("10.100.0.5");
	assert_int_equal(kh_mac_parse("02:00:00:00:00:05", want.mac), 0);
	assert_int_equal(kh_msg_neigh(&want, KH_NEIGH_REPLACE, &msg), 0);
	ev = own_parse(msg);
	assert_int_equal(ev.type, KH_EV_NEIGH_NEW);
	assert_int_equal(ev.u.neigh.ifindex, 6);
	assert_true(addr_equal(&ev.u.neigh.ip, &want.ip));
	assert_memory_equal(ev.u.neigh.mac, want.mac, KH_MAC_LEN);
	assert_int_equal(ev.u.neigh.state, NUD_PERMANENT);
	nlmsg_free(msg);

	want.ip = A("2001:db8::5");
	assert_int_equal(kh_msg_neigh(&want, KH_NEIGH_DELETE, &msg), 0);
	ev = own_parse(msg);
	assert_int_equal(ev.type, KH_EV_NEIGH_DEL);
	assert_true(addr_equal(&ev.u.neigh.ip, &want.ip));
	nlmsg_free(msg);

	assert_int_equal(kh_msg_neigh(&want, KH_NEIGH_APPEND, &msg), -EINVAL);
}

static void
test_rule_requests(void **state)
{
	struct kh_rule want, got;
	struct nl_msg *msg;
	struct nlattr *table;

	(void)state;
	memset(&want, 0, sizeof(want));
	want.family = AF_INET;
	want.priority = 1000;
	want.table = 51820;
	want.dst = P("10.200.0.0/16");
	want.protocol = 200;
	assert_int_equal(kh_msg_rule(&want, false, &msg), 0);
	assert_int_equal(nlmsg_hdr(msg)->nlmsg_type, RTM_NEWRULE);
	assert_int_equal(nlmsg_hdr(msg)->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL),
	                 NLM_F_CREATE | NLM_F_EXCL);
	/* Tables beyond 255 only fit the attribute. */
	table = nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct fib_rule_hdr), FRA_TABLE);
	assert_non_null(table);
	assert_int_equal(nla_get_u32(table), 51820);
	got = own_parse(msg).u.rule;
	assert_int_equal(got.family, AF_INET);
	assert_int_equal(got.priority, 1000);
	assert_int_equal(got.table, 51820);
	assert_int_equal(got.src.len, 0);
	assert_true(addr_prefix_equal(&got.dst, &want.dst));
	assert_int_equal(got.protocol, 200);
	assert_int_equal(got.fwmask, 0);
	nlmsg_free(msg);

	memset(&want, 0, sizeof(want));
	want.family = AF_INET6;
	want.priority = 1001;
	want.table = 51820;
	want.src = P("2001:db8::/32");
	want.fwmark = 0x10;
	want.fwmask = 0xff;
	assert_int_equal(kh_msg_rule(&want, true, &msg), 0);
	assert_int_equal(nlmsg_hdr(msg)->nlmsg_type, RTM_DELRULE);
	got = own_parse(msg).u.rule;
	assert_int_equal(got.family, AF_INET6);
	assert_true(addr_prefix_equal(&got.src, &want.src));
	assert_int_equal(got.fwmark, 0x10);
	assert_int_equal(got.fwmask, 0xff);
	nlmsg_free(msg);
}

/* The answers to a batch: one acknowledgement or error per entry, matched by sequence
 * number; messages of other numbers, other ports or other types are not the batch's, and a
 * message that overruns the datagram stops the reading. */
struct acks {
	int err[4];
	char text[4][256];
	int n;
};

static void
take_ack(size_t i, const struct kh_nl_status *st, void *arg)
{
	struct acks *a = arg;

	assert_true(i < 4);
	a->err[i] = st->err;
	snprintf(a->text[i], sizeof(a->text[i]), "%s", st->text);
	a->n++;
}

/* Appends an error message (err 0: an ack) for seq from port, with extended-ack text. */
static size_t
put_ack(uint8_t *buf, size_t off, uint32_t seq, uint32_t port, int err, const char *text)
{
	struct nlmsghdr h = {.nlmsg_type = NLMSG_ERROR,
	                     .nlmsg_flags = NLM_F_CAPPED,
	                     .nlmsg_seq = seq,
	                     .nlmsg_pid = port};
	struct nlmsgerr e = {.error = err};
	size_t len = NLMSG_HDRLEN + sizeof(e);

	e.msg.nlmsg_len = NLMSG_HDRLEN;
	memcpy(buf + off + NLMSG_HDRLEN, &e, sizeof(e));
	if (text) {
		struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + strlen(text) + 1),
		                   .nla_type = NLMSGERR_ATTR_MSG};

		h.nlmsg_flags |= NLM_F_ACK_TLVS;
		memcpy(buf + off + len, &a, sizeof(a));
		memcpy(buf + off + len + NLA_HDRLEN, text, strlen(text) + 1);
		len += NLA_ALIGN(a.nla_len);
	}
	h.nlmsg_len = (uint32_t)len;
	memcpy(buf + off, &h, sizeof(h));
	return off + NLMSG_ALIGN(len);
}

static void
test_batch_acks(void **state)
{
	uint8_t buf[1024] = {0};
	struct acks a = {0};
	struct nlmsghdr h;
	size_t len = 0;

	(void)state;
	len = put_ack(buf, len, 101, 7, -ENODEV, "no such device");
	len = put_ack(buf, len, 100, 7, 0, NULL);
	len = put_ack(buf, len, 99, 7, -EEXIST, NULL);  /* before the batch */
	len = put_ack(buf, len, 104, 7, -EEXIST, NULL); /* after it */
	len = put_ack(buf, len, 103, 8, -EEXIST, NULL); /* another port */
	len = put_ack(buf, len, 103, 7, -ENETUNREACH, NULL);
	assert_int_equal(kh_nl_acks(buf, len, 100, 4, 7, take_ack, &a), 0);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.err[0], 0);
	assert_int_equal(a.err[1], -ENODEV);
	assert_string_equal(a.text[1], "no such device");
	assert_int_equal(a.err[3], -ENETUNREACH);

	/* The last message claims more than the datagram holds. */
	memset(&a, 0, sizeof(a));
	len = put_ack(buf, 0, 102, 7, 0, NULL);
	memcpy(&h, buf, sizeof(h));
	h.nlmsg_len = (uint32_t)len + 8;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(kh_nl_acks(buf, len, 100, 4, 7, take_ack, &a), -EBADMSG);
	assert_int_equal(a.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_route_requests),  cmocka_unit_test(test_link_requests),
	        cmocka_unit_test(test_ifaddr_requests), cmocka_unit_test(test_fdb_requests),
	        cmocka_unit_test(test_neigh_requests),  cmocka_unit_test(test_rule_requests),
	        cmocka_unit_test(test_batch_acks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
