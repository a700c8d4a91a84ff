/* The fake kernel: state semantics, the operation log, monitors and injected failures. The
 * scenarios where the fake must answer as the kernel does are a table in rtnltool's command
 * syntax: here they run against the fake, and `test_fake --scenarios` prints them for
 * tests/kernel/fake-fidelity.test to run against a real kernel through rtnltool. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <sodium.h>

#include "kernel-helpers/fake/fake.h"
#include "kernel-helpers/kh.h"
#include "kernel-helpers/monitor.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/wg.h"

/* --- scenarios shared with the real kernel --- */

#define OK 0

struct step {
	const char *cmd; /* rtnltool's syntax; "veth NAME" makes NAME and NAME-p */
	int err;         /* what the call returns: 0 or -errno */
	const char *out; /* for a show: its lines, in any order; NULL: not checked */
};

struct scenario {
	const char *name;
	struct step steps[24];
};

static const struct scenario scenarios[] = {
        {"links",
         {
                 {"vxlan-add vx0 100 192.0.2.1 4789", OK, NULL},
                 {"vxlan-add vx0 101 192.0.2.1 4789", -EEXIST, NULL},
                 {"vxlan-add vx1 100 192.0.2.2 4789", -EEXIST, NULL},
                 {"vxlan-add vx1 100 192.0.2.2 4790", OK, NULL},
                 {"vxlan-add vx2 16777216 192.0.2.1 4789", -EINVAL, NULL},
                 {"bridge-add br0", OK, NULL},
                 {"enslave vx0 br0", OK, NULL},
                 {"enslave vx1 vx0", -EOPNOTSUPP, NULL},
                 {"bridge-add br1", OK, NULL},
                 {"enslave br1 br0", -ELOOP, NULL},
                 {"link-del br1", OK, NULL},
                 {"link-show vx0", OK,
                  "name=vx0 ifindex=2 kind=vxlan mtu=1500 up=0 master=br0 vni=100 "
                  "local=192.0.2.1 port=4789 learning=0 underlay=none\n"},
                 {"mtu vx0 60", -EINVAL, NULL},
                 {"mtu vx0 1400", OK, NULL},
                 {"link-show br0", OK,
                  "name=br0 ifindex=4 kind=bridge mtu=1400 up=0 master=none\n"},
                 {"link-del br0", OK, NULL},
                 {"link-show vx0", OK,
                  "name=vx0 ifindex=2 kind=vxlan mtu=1400 up=0 master=none vni=100 "
                  "local=192.0.2.1 port=4789 learning=0 underlay=none\n"},
                 {"link-show br0", -ENODEV, NULL},
         }},
        {"underlay",
         {
                 {"veth e0", OK, NULL},
                 {"mtu e0 1400", OK, NULL},
                 {"vxlan-add vx0 7 192.0.2.1 4789 dev e0", OK, NULL},
                 {"link-show vx0", OK,
                  "name=vx0 ifindex=4 kind=vxlan mtu=1350 up=0 master=none vni=7 "
                  "local=192.0.2.1 port=4789 learning=0 underlay=e0\n"},
                 {"vxlan-add vx1 8 192.0.2.1 4789 dev e0 mtu 1400", OK, NULL},
                 {"link-show vx1", OK,
                  "name=vx1 ifindex=5 kind=vxlan mtu=1350 up=0 master=none vni=8 "
                  "local=192.0.2.1 port=4789 learning=0 underlay=e0\n"},
                 {"vxlan-add vx2 9 192.0.2.1 4789 mtu 65536", -EINVAL, NULL},
                 {"mtu vx0 1351", -EINVAL, NULL},
                 {"link-del e0", OK, NULL},
                 {"link-show vx0", -ENODEV, NULL},
         }},
        {"routes",
         {
                 {"veth e0", OK, NULL},
                 {"route-del 51820 200 10.2.0.0/16", -ESRCH, NULL},
                 {"route-replace 51820 200 10.2.0.0/16 dev e0", -ENETDOWN, NULL},
                 {"route-del 51820 200 10.2.0.0/16", -ESRCH, NULL},
                 {"route-replace 51820 200 2001:db8:2::/48 dev e0", -ENETDOWN, NULL},
                 {"up e0", OK, NULL},
                 {"route-replace 51820 200 10.2.0.0/16 dev e0", OK, NULL},
                 {"route-replace 51820 200 10.2.0.0/16 dev e0", OK, NULL},
                 {"route-replace 51820 200 10.2.0.0/16 dev e0 metric 10", OK, NULL},
                 {"route-replace 51820 201 10.2.0.0/16 dev e0", OK, NULL},
                 {"route-replace 51820 200 2001:db8:2::/48 dev e0", OK, NULL},
                 {"route-replace 51820 200 10.2.0.1/16 dev e0", -EINVAL, NULL},
                 {"route-show 51820 any", OK,
                  "10.2.0.0/16 dev e0 table 51820 proto 201 metric 0\n"
                  "10.2.0.0/16 dev e0 table 51820 proto 200 metric 10\n"
                  "2001:db8:2::/48 dev e0 table 51820 proto 200 metric 1024\n"},
                 {"route-show 51820 200", OK,
                  "10.2.0.0/16 dev e0 table 51820 proto 200 metric 10\n"
                  "2001:db8:2::/48 dev e0 table 51820 proto 200 metric 1024\n"},
                 {"route-del 51820 200 10.3.0.0/16", -ESRCH, NULL},
                 {"route-del 51820 202 10.2.0.0/16", -ESRCH, NULL},
                 {"route-del 51820 200 10.2.0.0/16", OK, NULL},
                 {"route-show 51820 any", OK,
                  "10.2.0.0/16 dev e0 table 51820 proto 201 metric 0\n"
                  "2001:db8:2::/48 dev e0 table 51820 proto 200 metric 1024\n"},
                 {"down e0", OK, NULL},
                 {"route-show 51820 any", OK, ""},
                 {"route-del 51820 200 10.2.0.0/16", -ESRCH, NULL},
         }},
        {"reject routes",
         {
                 {"veth e0", OK, NULL},
                 {"up e0", OK, NULL},
                 {"route-replace 51820 200 10.2.0.0/16 dev e0 metric 10", OK, NULL},
                 {"route-replace 51820 200 10.2.0.0/16 type unreachable metric 65535", OK, NULL},
                 {"route-replace 51820 200 2001:db8:2::/48 dev e0 metric 10", OK, NULL},
                 {"route-replace 51820 200 2001:db8:2::/48 type unreachable metric 65535", OK,
                  NULL},
                 {"route-replace 51820 200 10.3.0.0/16 type blackhole metric 65535", OK, NULL},
                 {"route-replace 51820 200 10.4.0.0/16 type prohibit metric 65535", OK, NULL},
                 {"route-replace 51820 200 10.5.0.0/16 type unreachable dev e0", -EINVAL, NULL},
                 {"route-show 51820 200", OK,
                  "10.2.0.0/16 dev e0 table 51820 proto 200 metric 10\n"
                  "10.2.0.0/16 type unreachable table 51820 proto 200 metric 65535\n"
                  "10.3.0.0/16 type blackhole table 51820 proto 200 metric 65535\n"
                  "10.4.0.0/16 type prohibit table 51820 proto 200 metric 65535\n"
                  "2001:db8:2::/48 dev e0 table 51820 proto 200 metric 10\n"
                  "2001:db8:2::/48 type unreachable table 51820 proto 200 metric 65535\n"},
                 /* The device's routes go with it; the reject routes stay. */
                 {"link-del e0", OK, NULL},
                 {"route-show 51820 200", OK,
                  "10.2.0.0/16 type unreachable table 51820 proto 200 metric 65535\n"
                  "10.3.0.0/16 type blackhole table 51820 proto 200 metric 65535\n"
                  "10.4.0.0/16 type prohibit table 51820 proto 200 metric 65535\n"
                  "2001:db8:2::/48 type unreachable table 51820 proto 200 metric 65535\n"},
                 /* A delete of a given type misses a route of another; without one it
                  * matches any. */
                 {"route-del 51820 200 10.3.0.0/16 type unreachable metric 65535", -ESRCH, NULL},
                 {"route-del 51820 200 10.3.0.0/16 metric 65535", OK, NULL},
                 {"route-del 51820 200 2001:db8:2::/48 type unreachable metric 65535", OK, NULL},
                 {"route-flush 51820 200", OK, "deleted=2\n"},
                 {"route-show 51820 any", OK, ""},
         }},
        {"throw routes",
         {
                 {"veth e0", OK, NULL},
                 {"up e0", OK, NULL},
                 {"route-replace 51820 200 10.2.0.0/16 dev e0 metric 10", OK, NULL},
                 {"route-replace 51820 200 10.2.0.0/24 type throw metric 10", OK, NULL},
                 {"route-replace 51820 200 2001:db8:2::/64 type throw metric 10", OK, NULL},
                 {"route-replace 51820 200 10.2.1.0/24 type throw dev e0", -EINVAL, NULL},
                 {"route-show 51820 200", OK,
                  "10.2.0.0/16 dev e0 table 51820 proto 200 metric 10\n"
                  "10.2.0.0/24 type throw table 51820 proto 200 metric 10\n"
                  "2001:db8:2::/64 type throw table 51820 proto 200 metric 10\n"},
                 /* Like a reject route, a throw route hangs on no device. */
                 {"link-del e0", OK, NULL},
                 {"route-show 51820 200", OK,
                  "10.2.0.0/24 type throw table 51820 proto 200 metric 10\n"
                  "2001:db8:2::/64 type throw table 51820 proto 200 metric 10\n"},
                 {"route-flush 51820 200", OK, "deleted=2\n"},
                 {"route-show 51820 any", OK, ""},
         }},
        {"gateways",
         {
                 {"veth e0", OK, NULL},
                 {"up e0", OK, NULL},
                 {"addr-add e0 192.0.2.1/24", OK, NULL},
                 {"route-replace 51820 200 10.5.0.0/16 via 192.0.2.9", OK, NULL},
                 {"route-replace 51820 200 10.6.0.0/16 via 198.51.100.9", -ENETUNREACH, NULL},
                 {"addr-add e0 2001:db8::1/64", OK, NULL},
                 {"route-replace 51820 200 2001:db8:6::/48 via 2001:db8:1::9", -EHOSTUNREACH, NULL},
                 {"route-replace 51820 200 2001:db8:7::/48 via 2001:db8::9", OK, NULL},
                 {"route-show 51820 200", OK,
                  "10.5.0.0/16 dev e0 via 192.0.2.9 table 51820 proto 200 metric 0\n"
                  "2001:db8:7::/48 dev e0 via 2001:db8::9 table 51820 proto 200 metric 1024\n"},
                 {"route-flush 51820 200", OK, "deleted=2\n"},
                 {"route-show 51820 any", OK, ""},
         }},
        {"rules",
         {
                 {"rule-add 100 51820", OK, NULL},
                 {"rule-add 100 51820", -EEXIST, NULL},
                 {"rule-add 100 51820 proto 200", OK, NULL},
                 {"rule-add 101 51820 fwmark 0x1/0xff proto 200", OK, NULL},
                 {"rule-add 102 51820 from 10.0.0.1/8", -EINVAL, NULL},
                 {"rule-show 51820", OK,
                  "100: family 4 from all to all table 51820 proto 0\n"
                  "100: family 4 from all to all table 51820 proto 200\n"
                  "101: family 4 from all to all table 51820 proto 200 fwmark 0x1/0xff\n"},
                 {"rule-del 103 51820", -ENOENT, NULL},
                 {"rule-del 101 51820 fwmark 0x1/0xff", OK, NULL},
                 {"rule-del 100 51820 proto 200", OK, NULL},
                 {"rule-show 51820", OK, "100: family 4 from all to all table 51820 proto 0\n"},
                 {"rule-del 100 51820", OK, NULL},
                 {"rule-show 51820", OK, ""},
         }},
        {"fdb",
         {
                 {"vxlan-add vx0 100 192.0.2.1 4789", OK, NULL},
                 {"fdb-append vx0 00:00:00:00:00:00 192.0.2.2", OK, NULL},
                 {"fdb-append vx0 00:00:00:00:00:00 192.0.2.3", OK, NULL},
                 {"fdb-append vx0 00:00:00:00:00:00 192.0.2.3", OK, NULL},
                 {"fdb-replace vx0 00:00:00:00:00:00 192.0.2.4", -EOPNOTSUPP, NULL},
                 {"fdb-append vx0 02:00:00:00:00:01 192.0.2.2", OK, NULL},
                 {"fdb-append vx0 02:00:00:00:00:01 192.0.2.3", OK, NULL},
                 {"fdb-replace vx0 02:00:00:00:00:02 192.0.2.2", OK, NULL},
                 {"fdb-replace vx0 02:00:00:00:00:02 192.0.2.5", OK, NULL},
                 {"fdb-append vx0 00:00:00:00:00:00 2001:db8::1", -EAFNOSUPPORT, NULL},
                 {"fdb-show vx0", OK,
                  "00:00:00:00:00:00 dst 192.0.2.2 self\n"
                  "00:00:00:00:00:00 dst 192.0.2.3 self\n"
                  "02:00:00:00:00:01 dst 192.0.2.2 self\n"
                  "02:00:00:00:00:02 dst 192.0.2.5 self\n"},
                 {"fdb-del vx0 02:00:00:00:00:09 192.0.2.9", -ENOENT, NULL},
                 {"fdb-del vx0 02:00:00:00:00:02 192.0.2.9", OK, NULL},
                 {"fdb-del vx0 00:00:00:00:00:00 192.0.2.2", OK, NULL},
                 {"fdb-del vx0 02:00:00:00:00:01 192.0.2.2", OK, NULL},
                 {"fdb-show vx0", OK,
                  "00:00:00:00:00:00 dst 192.0.2.3 self\n"
                  "02:00:00:00:00:02 dst 192.0.2.5 self\n"},
         }},
        {"addresses",
         {
                 {"veth e0", OK, NULL},
                 {"addr-add e0 10.1.1.1/24", OK, NULL},
                 {"addr-add e0 10.1.1.1/24", OK, NULL},
                 {"addr-add e0 10.1.1.1/25", OK, NULL},
                 {"addr-del e0 10.1.1.1/26", -EADDRNOTAVAIL, NULL},
                 {"addr-del e0 10.1.1.1/24", OK, NULL},
                 {"addr-show e0", OK, "10.1.1.1/25\n"},
                 {"up e0", OK, NULL},
                 {"neigh-replace e0 10.1.1.5 02:00:00:00:00:05", OK, NULL},
                 {"neigh-replace e0 10.1.1.5 02:00:00:00:00:06", OK, NULL},
                 {"neigh-show e0", OK, "10.1.1.5 lladdr 02:00:00:00:00:06 state 0x80\n"},
                 {"neigh-del e0 10.1.1.6", -ENOENT, NULL},
                 {"down e0", OK, NULL},
                 {"neigh-show e0", OK, ""},
                 {"neigh-del e0 10.1.1.5", -ENOENT, NULL},
         }},
};

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* --- an interpreter of rtnltool's commands over the fake --- */

struct out {
	char buf[4096];
	size_t len;
};

static void __attribute__((format(printf, 2, 3))) emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(o->buf) - o->len);
	o->len += (size_t)n;
}

static uint32_t
ifindex_of(const char *name)
{
	struct kh_link l;

	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_link_get(name, &l), 0);
	fake_act_as(FAKE_NETD);
	return l.ifindex;
}

static const char *
ifname(uint32_t ifindex, char buf[IFNAMSIZ])
{
	struct kh_link l;

	fake_act_as(FAKE_SETUP);
	if (kh_link_get_index(ifindex, &l) == 0)
		snprintf(buf, IFNAMSIZ, "%s", l.name);
	else
		snprintf(buf, IFNAMSIZ, "%u", ifindex);
	fake_act_as(FAKE_NETD);
	return buf;
}

static struct addr
addr_of(const char *s)
{
	struct addr a;

	assert_int_equal(addr_parse(s, &a), 0);
	return a;
}

static struct addr_prefix
prefix_of(const char *s)
{
	struct addr_prefix p;

	assert_int_equal(addr_prefix_parse(s, &p), 0);
	return p;
}

static uint32_t
num(const char *s)
{
	return (uint32_t)strtoul(s, NULL, 0);
}

static void
print_link(struct out *o, const struct kh_link *l)
{
	char a[ADDR_STRLEN], m[IFNAMSIZ], u[IFNAMSIZ];

	emit(o, "name=%s ifindex=%u kind=%s mtu=%u up=%d master=%s", l->name, l->ifindex,
	     l->kind[0] ? l->kind : "none", l->mtu, (l->flags & IFF_UP) != 0,
	     l->master ? ifname(l->master, m) : "none");
	if (l->has_vxlan)
		emit(o, " vni=%u local=%s port=%u learning=%d underlay=%s", l->vxlan.vni,
		     addr_format(&l->vxlan.local, a), l->vxlan.port, l->vxlan.learning,
		     l->vxlan.underlay ? ifname(l->vxlan.underlay, u) : "none");
	emit(o, "\n");
}

static struct kh_route
route_of(int argc, char **argv)
{
	struct kh_route r;

	memset(&r, 0, sizeof(r));
	r.table = num(argv[0]);
	r.protocol = (uint8_t)num(argv[1]);
	r.dst = prefix_of(argv[2]);
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "type") && kh_route_type_parse(argv[i + 1], &r.type) == 0)
			continue;
		if (!strcmp(argv[i], "dev"))
			r.oif = ifindex_of(argv[i + 1]);
		else if (!strcmp(argv[i], "via"))
			r.gateway = addr_of(argv[i + 1]);
		else if (!strcmp(argv[i], "metric"))
			r.metric = num(argv[i + 1]);
		else
			fail_msg("route option %s", argv[i]);
	}
	return r;
}

static struct kh_rule
rule_of(int argc, char **argv)
{
	struct kh_rule r;

	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	r.priority = num(argv[0]);
	r.table = num(argv[1]);
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "from")) {
			r.src = prefix_of(argv[i + 1]);
		} else if (!strcmp(argv[i], "proto")) {
			r.protocol = (uint8_t)num(argv[i + 1]);
		} else if (!strcmp(argv[i], "fwmark")) {
			r.fwmark = num(argv[i + 1]);
			r.fwmask = num(strchr(argv[i + 1], '/') + 1);
		} else {
			fail_msg("rule option %s", argv[i]);
		}
	}
	return r;
}

static int
run_show(const char *cmd, char **argv, struct out *o)
{
	char p[ADDR_PREFIX_STRLEN], a[ADDR_STRLEN], m[KH_MAC_STRLEN], d[IFNAMSIZ], t[16];
	size_t n = 0;
	int err;

	if (!strcmp(cmd, "link-show")) {
		struct kh_link l;

		err = kh_link_get(argv[0], &l);
		if (err == 0)
			print_link(o, &l);
		return err;
	}
	if (!strcmp(cmd, "route-show")) {
		struct kh_route *r = NULL;

		err = kh_route_list(AF_UNSPEC, num(argv[0]),
		                    !strcmp(argv[1], "any") ? KH_ROUTE_ANY_PROTOCOL
		                                            : (int)num(argv[1]),
		                    &r, &n);
		for (size_t i = 0; err == 0 && i < n; i++) {
			emit(o, "%s", addr_prefix_format(&r[i].dst, p));
			if (r[i].type != KH_ROUTE_UNICAST)
				emit(o, " type %s", kh_route_type_name(r[i].type, t));
			if (r[i].oif)
				emit(o, " dev %s", ifname(r[i].oif, d));
			if (r[i].gateway.family != AF_UNSPEC)
				emit(o, " via %s", addr_format(&r[i].gateway, a));
			emit(o, " table %u proto %u metric %u\n", r[i].table, r[i].protocol,
			     r[i].metric);
		}
		free(r);
		return err;
	}
	if (!strcmp(cmd, "rule-show")) {
		struct kh_rule *r = NULL;

		err = kh_rule_list(AF_UNSPEC, num(argv[0]), &r, &n);
		for (size_t i = 0; err == 0 && i < n; i++) {
			emit(o, "%u: family %d from %s to all table %u proto %u", r[i].priority,
			     r[i].family == AF_INET6 ? 6 : 4,
			     r[i].src.len ? addr_prefix_format(&r[i].src, p) : "all", r[i].table,
			     r[i].protocol);
			if (r[i].fwmask)
				emit(o, " fwmark 0x%x/0x%x", r[i].fwmark, r[i].fwmask);
			emit(o, "\n");
		}
		free(r);
		return err;
	}
	if (!strcmp(cmd, "fdb-show")) {
		struct kh_fdb *e = NULL;

		err = kh_fdb_list(ifindex_of(argv[0]), &e, &n);
		for (size_t i = 0; err == 0 && i < n; i++) {
			emit(o, "%s", kh_mac_format(e[i].mac, m));
			if (e[i].dst.family != AF_UNSPEC)
				emit(o, " dst %s", addr_format(&e[i].dst, a));
			emit(o, "%s\n", e[i].master ? " master" : " self");
		}
		free(e);
		return err;
	}
	if (!strcmp(cmd, "addr-show")) {
		struct kh_ifaddr *x = NULL;

		err = kh_ifaddr_list(ifindex_of(argv[0]), AF_UNSPEC, &x, &n);
		for (size_t i = 0; err == 0 && i < n; i++)
			emit(o, "%s\n", addr_prefix_format(&x[i].prefix, p));
		free(x);
		return err;
	}
	if (!strcmp(cmd, "neigh-show")) {
		struct kh_neigh *e = NULL;

		err = kh_neigh_list(ifindex_of(argv[0]), AF_UNSPEC, &e, &n);
		for (size_t i = 0; err == 0 && i < n; i++)
			emit(o, "%s lladdr %s state 0x%x\n", addr_format(&e[i].ip, a),
			     kh_mac_format(e[i].mac, m), e[i].state);
		free(e);
		return err;
	}
	fail_msg("unknown command %s", cmd);
	return -EINVAL;
}

static int
run_cmd(int argc, char **argv, struct out *o)
{
	const char *cmd = argv[0];

	argc--;
	argv++;
	if (!strcmp(cmd, "veth")) {
		char peer[IFNAMSIZ];

		snprintf(peer, sizeof(peer), "%s-p", argv[0]);
		/* Made by whoever set the namespace up, not by the code under test. */
		fake_act_as(FAKE_SETUP);
		/* The peer first, as the kernel numbers them. */
		assert_int_equal(fake_link_add(peer, "veth", 0, NULL), 0);
		assert_int_equal(fake_link_add(argv[0], "veth", 0, NULL), 0);
		fake_act_as(FAKE_NETD);
		return 0;
	}
	if (!strcmp(cmd, "vxlan-add")) {
		struct kh_vxlan vx;
		uint32_t mtu = 0, ifindex;
		int err;

		memset(&vx, 0, sizeof(vx));
		vx.vni = num(argv[1]);
		vx.local = addr_of(argv[2]);
		vx.port = (uint16_t)num(argv[3]);
		for (int i = 4; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "dev"))
				vx.underlay = ifindex_of(argv[i + 1]);
			else if (!strcmp(argv[i], "mtu"))
				mtu = num(argv[i + 1]);
		}
		err = kh_link_add_vxlan(argv[0], &vx, mtu, &ifindex);
		if (err == 0)
			emit(o, "ifindex=%u\n", ifindex);
		return err;
	}
	if (!strcmp(cmd, "bridge-add")) {
		uint32_t ifindex;
		int err = kh_link_add_bridge(argv[0], 0, &ifindex);

		if (err == 0)
			emit(o, "ifindex=%u\n", ifindex);
		return err;
	}
	if (!strcmp(cmd, "link-del"))
		return kh_link_del(ifindex_of(argv[0]));
	if (!strcmp(cmd, "enslave"))
		return kh_link_set_master(ifindex_of(argv[0]), ifindex_of(argv[1]));
	if (!strcmp(cmd, "mtu"))
		return kh_link_set_mtu(ifindex_of(argv[0]), num(argv[1]));
	if (!strcmp(cmd, "up") || !strcmp(cmd, "down"))
		return kh_link_set_up(ifindex_of(argv[0]), cmd[0] == 'u');
	if (!strcmp(cmd, "addr-add") || !strcmp(cmd, "addr-del")) {
		struct kh_ifaddr a = {.ifindex = ifindex_of(argv[0]), .prefix = prefix_of(argv[1])};

		return cmd[5] == 'a' ? kh_ifaddr_add(&a) : kh_ifaddr_del(&a);
	}
	if (!strcmp(cmd, "route-replace") || !strcmp(cmd, "route-del")) {
		struct kh_route r = route_of(argc, argv);

		return cmd[6] == 'r' ? kh_route_replace(&r) : kh_route_del(&r);
	}
	if (!strcmp(cmd, "route-flush")) {
		size_t deleted = 0;
		int err = kh_route_flush(AF_UNSPEC, num(argv[0]), (uint8_t)num(argv[1]), &deleted);

		if (err == 0)
			emit(o, "deleted=%zu\n", deleted);
		return err;
	}
	if (!strcmp(cmd, "rule-add") || !strcmp(cmd, "rule-del")) {
		struct kh_rule r = rule_of(argc, argv);

		return cmd[5] == 'a' ? kh_rule_add(&r) : kh_rule_del(&r);
	}
	if (!strncmp(cmd, "fdb-", 4) && strcmp(cmd, "fdb-show") != 0) {
		struct kh_fdb e;

		memset(&e, 0, sizeof(e));
		e.ifindex = ifindex_of(argv[0]);
		assert_int_equal(kh_mac_parse(argv[1], e.mac), 0);
		e.dst = addr_of(argv[2]);
		if (!strcmp(cmd, "fdb-append"))
			return kh_fdb_append(&e);
		if (!strcmp(cmd, "fdb-replace"))
			return kh_fdb_replace(&e);
		return kh_fdb_del(&e);
	}
	if (!strcmp(cmd, "neigh-replace") || !strcmp(cmd, "neigh-del")) {
		struct kh_neigh e;

		memset(&e, 0, sizeof(e));
		e.ifindex = ifindex_of(argv[0]);
		e.ip = addr_of(argv[1]);
		if (!strcmp(cmd, "neigh-del"))
			return kh_neigh_del(&e);
		assert_int_equal(kh_mac_parse(argv[2], e.mac), 0);
		return kh_neigh_replace(&e);
	}
	return run_show(cmd, argv, o);
}

/* Lines in a fixed order, so that the kernel's hash order does not matter. */
static int
cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
sort_lines(const char *text, char *out, size_t outlen)
{
	char copy[4096], *lines[64], *save = NULL;
	size_t n = 0, len = 0;

	snprintf(copy, sizeof(copy), "%s", text);
	for (char *l = strtok_r(copy, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(lines[0]), cmp_lines);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s\n", lines[i]);
}

/* Splits cmd into argv (at most 16 words, in line) and runs it on the fake. */
static int
run_line(const char *cmd, struct out *o)
{
	char line[256], *argv[16], *save = NULL;
	int argc = 0;

	snprintf(line, sizeof(line), "%s", cmd);
	for (char *w = strtok_r(line, " ", &save); w && argc < 16; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	o->len = 0;
	o->buf[0] = '\0';
	return run_cmd(argc, argv, o);
}

static void
test_scenarios(void **state)
{
	(void)state;
	for (size_t s = 0; s < NSCENARIOS; s++) {
		fake_reset();
		for (const struct step *st = scenarios[s].steps; st->cmd; st++) {
			char want[4096], got[4096];
			struct out o;
			int err = run_line(st->cmd, &o);

			if (err != st->err)
				fail_msg("%s: \"%s\" returned %d (%s), expected %d",
				         scenarios[s].name, st->cmd, err, kh_last_error(), st->err);
			if (err < 0)
				assert_true(strlen(kh_last_error()) > 0);
			if (st->out) {
				sort_lines(st->out, want, sizeof(want));
				sort_lines(o.buf, got, sizeof(got));
				if (strcmp(want, got) != 0)
					fail_msg("%s: \"%s\" printed\n%s\nexpected\n%s",
					         scenarios[s].name, st->cmd, got, want);
			}
		}
	}
	fake_reset();
}

/* The table for the namespace test: one "scenario NAME" line, then per step a tab-separated
 * line "step", what rtnltool must say ("ok", or the fake's error text without its own
 * explanation: the operation and strerror's words, which the real library prints too), and
 * the command; "out" and "line" lines after a show give its expected output, "end" closes
 * the scenario. */
static int
print_scenarios(void)
{
	for (size_t s = 0; s < NSCENARIOS; s++) {
		fake_reset();
		printf("scenario %s\n", scenarios[s].name);
		for (const struct step *st = scenarios[s].steps; st->cmd; st++) {
			struct out o;
			int err = run_line(st->cmd, &o);

			if (err != st->err) {
				fprintf(stderr, "%s: \"%s\" returned %d on the fake\n",
				        scenarios[s].name, st->cmd, err);
				return 1;
			}
			if (err == 0) {
				printf("step\tok\t%s\n", st->cmd);
			} else {
				const char *msg = kh_last_error();
				const char *own = strstr(msg, " (kernel: ");

				printf("step\t%.*s\t%s\n",
				       own ? (int)(own - msg) : (int)strlen(msg), msg, st->cmd);
			}
			if (!st->out)
				continue;
			printf("out\n");
			for (const char *p = st->out; *p;) {
				const char *nl = strchr(p, '\n');
				int len = nl ? (int)(nl - p) : (int)strlen(p);

				printf("line\t%.*s\n", len, p);
				p += len + (nl ? 1 : 0);
			}
		}
		printf("end\n");
	}
	fake_reset();
	return 0;
}

/* --- helpers for the tests below --- */

static uint32_t
setup_link(const char *name, bool up)
{
	uint32_t ifindex;

	fake_act_as(FAKE_SETUP);
	assert_int_equal(fake_link_add(name, "veth", 0, &ifindex), 0);
	if (up)
		assert_int_equal(kh_link_set_up(ifindex, true), 0);
	fake_act_as(FAKE_NETD);
	return ifindex;
}

static struct kh_route
route(const char *prefix, uint32_t table, uint8_t proto, uint32_t oif, uint32_t metric)
{
	struct kh_route r;

	memset(&r, 0, sizeof(r));
	r.dst = prefix_of(prefix);
	r.table = table;
	r.protocol = proto;
	r.oif = oif;
	r.metric = metric;
	return r;
}

static char *
log_of(bool changes_only)
{
	char *log = fake_log(changes_only);

	assert_non_null(log);
	return log;
}

static void
assert_log(bool changes_only, const char *expected)
{
	char *log = log_of(changes_only);

	assert_string_equal(log, expected);
	free(log);
}

/* --- state --- */

static void
test_fresh_namespace(void **state)
{
	struct kh_link *links = NULL;
	struct kh_rule *rules = NULL;
	size_t n;

	(void)state;
	fake_reset();
	assert_int_equal(kh_link_list(&links, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(links[0].name, "lo");
	assert_int_equal(links[0].ifindex, 1);
	assert_false(links[0].flags & IFF_UP);
	free(links);
	assert_int_equal(kh_rule_list(AF_INET, 0, &rules, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(rules[0].priority, 0);
	assert_int_equal(rules[1].table, 254);
	assert_int_equal(rules[2].priority, 32767);
	free(rules);
	assert_int_equal(kh_rule_list(AF_INET6, 0, &rules, &n), 0);
	assert_int_equal(n, 2);
	free(rules);
	assert_int_equal(kh_link_del(1), -EOPNOTSUPP);
	assert_int_equal(fake_link_add("wg9", "wireguard", 0, NULL), -EINVAL);
	assert_int_equal(fake_link_add("lo", "veth", 0, NULL), -EEXIST);
	fake_reset();
}

static void
test_links(void **state)
{
	struct kh_vxlan vx = {.vni = 100, .port = 0};
	struct kh_link l;
	uint32_t vx0, vx1, br;

	(void)state;
	fake_reset();
	assert_int_equal(kh_link_add_vxlan("vx0", &vx, 0, &vx0), 0);
	assert_int_equal(vx0, 2);
	assert_int_equal(kh_link_get("vx0", &l), 0);
	assert_true(l.has_vxlan);
	assert_int_equal(l.vxlan.port, 8472); /* the kernel's default */
	assert_int_equal(l.mtu, 1500);
	assert_false(l.flags & IFF_UP);
	assert_int_equal(kh_link_add_vxlan("vx0", &vx, 0, NULL), -EEXIST);
	assert_non_null(strstr(kh_last_error(), "vx0"));
	assert_int_equal(kh_link_add_vxlan("bad/name", &vx, 0, NULL), -EINVAL);
	vx.vni = 101;
	vx.underlay = 99;
	assert_int_equal(kh_link_add_vxlan("vx1", &vx, 0, NULL), -ENODEV);
	vx.underlay = 0;
	assert_int_equal(kh_link_add_vxlan("vx1", &vx, 1400, &vx1), 0);
	/* Indexes are never reused. */
	assert_int_equal(vx1, 3);
	assert_int_equal(kh_link_del(vx1), 0);
	assert_int_equal(kh_link_del(vx1), -ENODEV);
	assert_int_equal(kh_link_get_index(vx1, &l), -ENODEV);
	assert_int_equal(kh_link_add_bridge("br0", 9000, &br), 0);
	assert_int_equal(br, 4);
	/* A creation MTU does not stop the bridge from following its ports... */
	assert_int_equal(kh_link_set_master(vx0, br), 0);
	assert_int_equal(kh_link_get_index(br, &l), 0);
	assert_int_equal(l.mtu, 1500);
	assert_int_equal(kh_link_set_mtu(vx0, 1450), 0);
	assert_int_equal(kh_link_get_index(br, &l), 0);
	assert_int_equal(l.mtu, 1450);
	/* ...an MTU set later does. */
	assert_int_equal(kh_link_set_mtu(br, 1400), 0);
	assert_int_equal(kh_link_set_mtu(vx0, 1300), 0);
	assert_int_equal(kh_link_get_index(br, &l), 0);
	assert_int_equal(l.mtu, 1400);
	assert_int_equal(kh_link_set_master(br, br), -ELOOP);
	assert_int_equal(kh_link_set_master(vx0, 77), -EINVAL);
	assert_int_equal(kh_link_set_up(77, true), -ENODEV);
	assert_int_equal(kh_link_set_up(vx0, true), 0);
	assert_int_equal(kh_link_get_index(vx0, &l), 0);
	assert_true(l.flags & IFF_UP);
	assert_int_equal(l.master, br);
	fake_reset();
}

static void
test_link_del_takes_what_hangs_off_it(void **state)
{
	struct kh_vxlan vx = {.vni = 7, .local = addr_of("192.0.2.1")};
	struct kh_fdb e = {.dst = addr_of("192.0.2.2")};
	struct kh_ifaddr a;
	struct kh_route r4, r6;
	struct kh_route *routes = NULL;
	struct kh_ifaddr *addrs = NULL;
	struct kh_fdb *entries = NULL;
	struct kh_link l;
	uint32_t eth, vxi, br;
	size_t n;

	(void)state;
	fake_reset();
	eth = setup_link("eth0", true);
	vx.underlay = eth;
	assert_int_equal(kh_link_add_vxlan("vx0", &vx, 0, &vxi), 0);
	assert_int_equal(kh_link_add_bridge("br0", 0, &br), 0);
	assert_int_equal(kh_link_set_master(vxi, br), 0);
	e.ifindex = vxi;
	assert_int_equal(kh_fdb_append(&e), 0);
	/* The bridge shows the port's own MAC as its entry. */
	assert_int_equal(kh_fdb_list(vxi, &entries, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(entries[0].master, br);
	assert_int_equal(entries[0].dst.family, AF_UNSPEC);
	assert_int_equal(entries[1].master, 0);
	free(entries);
	a = (struct kh_ifaddr){.ifindex = eth, .prefix = prefix_of("192.0.2.1/24")};
	assert_int_equal(kh_ifaddr_add(&a), 0);
	r4 = route("10.2.0.0/16", 51820, 200, eth, 0);
	r6 = route("2001:db8:2::/48", 51820, 200, eth, 0);
	assert_int_equal(kh_route_replace(&r4), 0);
	assert_int_equal(kh_route_replace(&r6), 0);

	assert_int_equal(kh_link_del(eth), 0);
	assert_int_equal(kh_link_get("vx0", &l), -ENODEV);
	assert_int_equal(kh_link_get("br0", &l), 0);
	assert_int_equal(kh_route_list(AF_UNSPEC, 0, KH_ROUTE_ANY_PROTOCOL, &routes, &n), 0);
	assert_int_equal(n, 0);
	assert_null(routes);
	assert_int_equal(kh_ifaddr_list(0, AF_UNSPEC, &addrs, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(kh_fdb_list(vxi, &entries, &n), 0);
	assert_int_equal(n, 0);
	fake_reset();
}

static void
test_routes(void **state)
{
	struct kh_route *routes = NULL, r;
	uint32_t eth;
	size_t n, deleted = 99;

	(void)state;
	fake_reset();
	eth = setup_link("eth0", true);
	/* Replace: same table, prefix and metric is the same route, whoever owns it. */
	r = route("10.2.0.0/16", 51820, 200, eth, 0);
	assert_int_equal(kh_route_replace(&r), 0);
	r.protocol = 4;
	assert_int_equal(kh_route_replace(&r), 0);
	r.protocol = 200;
	r.metric = 5;
	assert_int_equal(kh_route_replace(&r), 0);
	r = route("10.3.0.0/16", 100, 200, eth, 0);
	assert_int_equal(kh_route_replace(&r), 0);
	r = route("2001:db8::/32", 51820, 200, eth, 0);
	assert_int_equal(kh_route_replace(&r), 0);
	assert_int_equal(kh_route_list(AF_UNSPEC, 51820, KH_ROUTE_ANY_PROTOCOL, &routes, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(routes[0].protocol, 4);
	assert_int_equal(routes[0].scope, 253); /* link: no gateway */
	assert_int_equal(routes[0].type, 1);    /* unicast */
	assert_int_equal(routes[1].metric, 5);
	assert_int_equal(routes[2].metric, 1024); /* IPv6's default */
	free(routes);
	assert_int_equal(kh_route_list(AF_INET, 51820, 200, &routes, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(routes[0].metric, 5);
	free(routes);
	assert_int_equal(kh_route_list(AF_INET6, 0, 200, &routes, &n), 0);
	assert_int_equal(n, 1);
	free(routes);
	assert_int_equal(kh_route_list(AF_INET, 0, KH_ROUTE_ANY_PROTOCOL, &routes, &n), 0);
	assert_int_equal(n, 3);
	free(routes);
	assert_int_equal(kh_route_list(AF_PACKET, 0, 200, &routes, &n), -EAFNOSUPPORT);
	assert_int_equal(kh_route_list(AF_INET, 0, 256, &routes, &n), -EINVAL);

	/* The collision rule against what is installed. */
	r = route("10.2.0.0/24", 51820, 200, eth, 0);
	assert_int_equal(kh_route_collisions(&r, &routes, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(routes[0].protocol, 4);
	assert_int_equal(kh_route_overlap(&r, &routes[0]), KH_OVERLAP_LESS_SPECIFIC);
	free(routes);

	/* A flush takes only its owner's routes of that table. */
	fake_clear_ops();
	assert_int_equal(kh_route_flush(AF_UNSPEC, 51820, 200, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_log(true, "route del 10.2.0.0/16 table 51820 proto 200 metric 5\n"
	                 "route del 2001:db8::/32 table 51820 proto 200 metric 1024\n");
	assert_int_equal(kh_route_flush(AF_UNSPEC, 0, 200, &deleted), -EINVAL);
	assert_int_equal(kh_route_list(AF_UNSPEC, 0, KH_ROUTE_ANY_PROTOCOL, &routes, &n), 0);
	assert_int_equal(n, 2);
	free(routes);

	r = route("10.9.0.0/16", 51820, 200, 0, 0);
	assert_int_equal(kh_route_replace(&r), -EINVAL);
	assert_non_null(strstr(kh_last_error(), "neither an output interface nor a gateway"));
	r.oif = 42;
	assert_int_equal(kh_route_replace(&r), -ENODEV);
	fake_reset();
}

static void
test_fdb_flood_list(void **state)
{
	struct kh_vxlan vx = {.vni = 100, .local = addr_of("192.0.2.1")};
	struct kh_fdb *entries = NULL, e;
	uint32_t ifindex;
	size_t n;

	(void)state;
	fake_reset();
	assert_int_equal(kh_link_add_vxlan("vx100", &vx, 0, &ifindex), 0);
	memset(&e, 0, sizeof(e));
	e.ifindex = ifindex;
	for (int i = 2; i <= 6; i++) {
		char a[16];

		snprintf(a, sizeof(a), "192.0.2.%d", i);
		e.dst = addr_of(a);
		assert_int_equal(kh_fdb_append(&e), 0);
	}
	assert_int_equal(kh_fdb_list(ifindex, &entries, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		static const uint8_t zero[KH_MAC_LEN];

		assert_memory_equal(entries[i].mac, zero, KH_MAC_LEN);
		assert_int_equal(entries[i].flags, 2 /* NTF_SELF */);
		assert_int_equal(entries[i].state, 0x80 /* NUD_PERMANENT */);
		assert_int_equal(entries[i].dst.u.bytes[3], i + 2);
	}
	free(entries);
	e.ifindex = 0;
	assert_int_equal(kh_fdb_append(&e), -EINVAL);
	fake_reset();
}

/* --- WireGuard --- */

static void
key_of(uint8_t seed, uint8_t key[WG_KEY_SIZE])
{
	for (int i = 0; i < WG_KEY_SIZE; i++)
		key[i] = (uint8_t)(seed * 7 + i);
}

static struct wg_peer *
add_peer(struct wg_device *d, uint8_t seed, uint32_t flags, const char *aips)
{
	struct wg_peer *p = wg_device_add_peer(d);
	char copy[256], *save = NULL;

	assert_non_null(p);
	key_of(seed, p->public_key);
	p->flags = flags;
	if (!aips)
		return p;
	snprintf(copy, sizeof(copy), "%s", aips);
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		struct addr_prefix pr = prefix_of(w);

		assert_int_equal(wg_peer_add_allowedip(p, &pr), 0);
	}
	return p;
}

/* The device as "seed: aip,aip; seed: ..." in the kernel's order. */
static void
describe(const char *name, char *buf, size_t len)
{
	struct wg_device *d = NULL;
	size_t off = 0;

	assert_int_equal(wg_get_device(name, &d), 0);
	buf[0] = '\0';
	for (size_t i = 0; i < d->npeers; i++) {
		const struct wg_peer *p = &d->peers[i];

		off += (size_t)snprintf(buf + off, len - off, "%s%u:", i ? "; " : "",
		                        (unsigned)((p->public_key[0]) / 7));
		for (size_t j = 0; j < p->nallowedips; j++) {
			char a[ADDR_PREFIX_STRLEN];

			off += (size_t)snprintf(buf + off, len - off, "%s%s", j ? "," : " ",
			                        addr_prefix_format(&p->allowedips[j], a));
		}
	}
	wg_free_device(d);
}

struct wg_case {
	const char *name;
	const char *before; /* peers set up first: "seed=aips seed=aips", aips comma-separated */
	uint32_t dev_flags;
	struct {
		uint8_t seed;
		uint32_t flags;
		const char *aips;
	} delta[3];
	const char *after; /* describe()'s form */
};

/* The sparse-delta semantics of the kernel's set-device (and wireguard-go's). */
static const struct wg_case wg_cases[] = {
        {"new peer", "", 0, {{1, 0, "10.1.0.0/16"}}, "1: 10.1.0.0/16"},
        {"add to a peer",
         "1=10.1.0.0/16",
         0,
         {{1, 0, "10.9.0.0/16"}},
         "1: 10.1.0.0/16,10.9.0.0/16"},
        {"replace allowed-ips",
         "1=10.1.0.0/16,10.2.0.0/16",
         0,
         {{1, WG_PEER_REPLACE_ALLOWEDIPS, "10.3.0.0/16"}},
         "1: 10.3.0.0/16"},
        {"replace with none", "1=10.1.0.0/16", 0, {{1, WG_PEER_REPLACE_ALLOWEDIPS, NULL}}, "1:"},
        {"host bits cleared",
         "",
         0,
         {{1, 0, "10.1.2.3/16,2001:db8::1/32"}},
         "1: 10.1.0.0/16,2001:db8::/32"},
        {"an allowed-ip moves",
         "1=10.1.0.0/16,10.2.0.0/16 2=10.3.0.0/16",
         0,
         {{2, 0, "10.1.0.0/16"}},
         "1: 10.2.0.0/16; 2: 10.3.0.0/16,10.1.0.0/16"},
        {"re-adding moves it last",
         "1=10.1.0.0/16,10.2.0.0/16",
         0,
         {{1, 0, "10.1.0.0/16"}},
         "1: 10.2.0.0/16,10.1.0.0/16"},
        {"remove-me",
         "1=10.1.0.0/16 2=10.2.0.0/16",
         0,
         {{1, WG_PEER_REMOVE_ME, NULL}},
         "2: 10.2.0.0/16"},
        {"remove-me of a stranger",
         "1=10.1.0.0/16",
         0,
         {{3, WG_PEER_REMOVE_ME, "10.3.0.0/16"}},
         "1: 10.1.0.0/16"},
        {"update-only of a stranger",
         "1=10.1.0.0/16",
         0,
         {{3, WG_PEER_UPDATE_ONLY, "10.1.0.0/16"}},
         "1: 10.1.0.0/16"},
        {"update-only of a peer",
         "1=10.1.0.0/16",
         0,
         {{1, WG_PEER_UPDATE_ONLY, "10.5.0.0/16"}},
         "1: 10.1.0.0/16,10.5.0.0/16"},
        {"replace-peers",
         "1=10.1.0.0/16 2=10.2.0.0/16",
         WG_DEVICE_REPLACE_PEERS,
         {{2, 0, "10.9.0.0/16"}},
         "2: 10.9.0.0/16"},
        {"replace-peers with none", "1=10.1.0.0/16", WG_DEVICE_REPLACE_PEERS, {{0, 0, NULL}}, ""},
        {"peers keep their order",
         "1= 2= 3=",
         0,
         {{1, WG_PEER_REMOVE_ME, NULL}, {1, 0, NULL}},
         "2:; 3:; 1:"},
};

static void
apply_before(const char *before)
{
	struct wg_device *d = wg_device_new("wg0");
	char copy[256], *save = NULL;

	assert_non_null(d);
	snprintf(copy, sizeof(copy), "%s", before);
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(w, '=');

		*eq = '\0';
		add_peer(d, (uint8_t)atoi(w), 0, eq[1] ? eq + 1 : NULL);
	}
	assert_int_equal(wg_set_device(d), 0);
	wg_free_device(d);
}

static void
test_wg_deltas(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(wg_cases) / sizeof(wg_cases[0]); c++) {
		const struct wg_case *wc = &wg_cases[c];
		struct wg_device *d;
		char got[512];

		fake_reset();
		assert_int_equal(wg_add_device("wg0", WG_BACKEND_KERNEL, NULL), 0);
		apply_before(wc->before);
		d = wg_device_new("wg0");
		assert_non_null(d);
		d->flags = wc->dev_flags;
		for (int i = 0; i < 3 && wc->delta[i].seed; i++)
			add_peer(d, wc->delta[i].seed, wc->delta[i].flags, wc->delta[i].aips);
		assert_int_equal(wg_set_device(d), 0);
		wg_free_device(d);
		describe("wg0", got, sizeof(got));
		if (strcmp(got, wc->after) != 0)
			fail_msg("%s: got \"%s\", expected \"%s\"", wc->name, got, wc->after);
	}
	fake_reset();
}

/* A peer of the table in khtool's wg-set syntax. */
static void
print_peer_args(uint8_t seed, uint32_t flags, const char *aips)
{
	uint8_t key[WG_KEY_SIZE];
	char b64[sodium_base64_ENCODED_LEN(WG_KEY_SIZE, sodium_base64_VARIANT_ORIGINAL)];

	key_of(seed, key);
	sodium_bin2base64(b64, sizeof(b64), key, WG_KEY_SIZE, sodium_base64_VARIANT_ORIGINAL);
	printf(" peer %s", b64);
	if (flags & WG_PEER_REMOVE_ME)
		printf(" remove");
	if (flags & WG_PEER_UPDATE_ONLY)
		printf(" update-only");
	if (flags & WG_PEER_REPLACE_ALLOWEDIPS)
		printf(" replace-allowed-ips");
	if (aips && *aips)
		printf(" allowed-ips %s", aips);
}

static int
cmp_aip_text(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* The WireGuard table for the namespace test, run through khtool on a userspace device:
 * "wgcase NAME", "set ARGS" lines (khtool wg-set's arguments after the name), "peer KEY
 * AIPS" lines of the state the fake reached (allowed-ips sorted, "(none)" when empty: the
 * userspace implementation keeps no order of its own), "end". */
static int
print_wg_scenarios(void)
{
	for (size_t c = 0; c < sizeof(wg_cases) / sizeof(wg_cases[0]); c++) {
		const struct wg_case *wc = &wg_cases[c];
		char copy[256], *save = NULL;
		struct wg_device *d;

		printf("wgcase %s\n", wc->name);
		if (*wc->before) {
			printf("set");
			snprintf(copy, sizeof(copy), "%s", wc->before);
			for (char *w = strtok_r(copy, " ", &save); w;
			     w = strtok_r(NULL, " ", &save)) {
				char *eq = strchr(w, '=');

				*eq = '\0';
				print_peer_args((uint8_t)atoi(w), 0, eq + 1);
			}
			printf("\n");
		}
		printf("set%s", wc->dev_flags & WG_DEVICE_REPLACE_PEERS ? " replace-peers" : "");
		for (int i = 0; i < 3 && wc->delta[i].seed; i++)
			print_peer_args(wc->delta[i].seed, wc->delta[i].flags, wc->delta[i].aips);
		printf("\n");

		fake_reset();
		if (wg_add_device("wg0", WG_BACKEND_USERSPACE, NULL) < 0)
			return 1;
		apply_before(wc->before);
		d = wg_device_new("wg0");
		if (!d)
			return 1;
		d->flags = wc->dev_flags;
		for (int i = 0; i < 3 && wc->delta[i].seed; i++)
			add_peer(d, wc->delta[i].seed, wc->delta[i].flags, wc->delta[i].aips);
		if (wg_set_device(d) < 0)
			return 1;
		wg_free_device(d);
		if (wg_get_device("wg0", &d) < 0)
			return 1;
		for (size_t i = 0; i < d->npeers; i++) {
			char b64[sodium_base64_ENCODED_LEN(WG_KEY_SIZE,
			                                   sodium_base64_VARIANT_ORIGINAL)];
			char aips[16][ADDR_PREFIX_STRLEN];
			size_t n = d->peers[i].nallowedips < 16 ? d->peers[i].nallowedips : 16;

			sodium_bin2base64(b64, sizeof(b64), d->peers[i].public_key, WG_KEY_SIZE,
			                  sodium_base64_VARIANT_ORIGINAL);
			for (size_t j = 0; j < n; j++)
				addr_prefix_format(&d->peers[i].allowedips[j], aips[j]);
			qsort(aips, n, sizeof(aips[0]), cmp_aip_text);
			printf("peer %s ", b64);
			for (size_t j = 0; j < n; j++)
				printf("%s%s", j ? "," : "", aips[j]);
			printf("%s\n", n ? "" : "(none)");
		}
		wg_free_device(d);
		printf("end\n");
	}
	fake_reset();
	return 0;
}

static void
test_wg_device(void **state)
{
	struct wg_device *d, *got = NULL;
	enum wg_backend backend;
	uint8_t pub[WG_KEY_SIZE];
	char **names = NULL;
	struct wg_peer *p;
	bool adopted = true;
	uint32_t ifindex;

	(void)state;
	fake_reset();
	assert_int_equal(sodium_init() < 0, 0);
	assert_int_equal(wg_add_device("wg0", WG_BACKEND_AUTO, NULL), 0);
	assert_int_equal(wg_add_device("wg0", WG_BACKEND_USERSPACE, NULL), -EEXIST);
	assert_int_equal(wg_device_backend("wg0", &backend), 0);
	assert_int_equal(backend, WG_BACKEND_KERNEL);
	assert_int_equal(wg_device_backend("lo", &backend), -ENODEV);
	assert_non_null(strstr(kh_last_error(), "not a WireGuard interface"));
	assert_int_equal(wg_get_device("nope", &got), -ENODEV);

	/* What a get reports of a fresh device: port and mark, no keys, no peers. */
	assert_int_equal(wg_get_device("wg0", &got), 0);
	assert_int_equal(got->flags, WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK);
	assert_int_equal(got->listen_port, 0);
	assert_int_equal(got->npeers, 0);
	ifindex = got->ifindex;
	assert_int_equal(ifindex, 2);
	wg_free_device(got);

	d = wg_device_new("wg0");
	assert_non_null(d);
	d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_FWMARK;
	key_of(9, d->private_key);
	d->fwmark = 0x51820;
	/* The device's own key as a peer is quietly ignored. */
	assert_int_equal(crypto_scalarmult_curve25519_base(pub, d->private_key), 0);
	p = add_peer(d, 1, WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_PRESHARED_KEY, "10.1.0.0/16");
	p->endpoint.sin.sin_family = AF_INET;
	p->endpoint.sin.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.2", &p->endpoint.sin.sin_addr);
	key_of(5, p->preshared_key);
	p = add_peer(d, 0, 0, "10.9.0.0/16");
	memcpy(p->public_key, pub, WG_KEY_SIZE);
	assert_int_equal(wg_set_device(d), 0);
	wg_free_device(d);

	assert_int_equal(wg_get_device("wg0", &got), 0);
	assert_true(got->flags & WG_DEVICE_HAS_PRIVATE_KEY);
	assert_true(got->flags & WG_DEVICE_HAS_PUBLIC_KEY);
	assert_memory_equal(got->public_key, pub, WG_KEY_SIZE);
	/* Stored clamped, as the kernel keeps it. */
	assert_int_equal(got->private_key[0] & 7, 0);
	assert_int_equal(got->private_key[31] & 0xc0, 0x40);
	assert_int_equal(got->fwmark, 0x51820);
	assert_int_equal(got->npeers, 1);
	assert_int_equal(got->peers[0].flags,
	                 WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(ntohs(got->peers[0].endpoint.sin.sin_port), 51820);
	assert_int_equal(got->peers[0].last_handshake.tv_sec, 0);
	wg_free_device(got);

	/* What only traffic changes, made up by the test. */
	{
		struct timespec hs = {.tv_sec = 1700000000};
		uint8_t k[WG_KEY_SIZE];

		key_of(1, k);
		assert_int_equal(fake_wg_set_peer_stats("wg0", k, &hs, 100, 200), 0);
		assert_int_equal(fake_wg_set_peer_stats("lo", k, &hs, 1, 1), -ENODEV);
		key_of(42, k);
		assert_int_equal(fake_wg_set_peer_stats("wg0", k, &hs, 1, 1), -ENOENT);
		assert_int_equal(wg_get_device("wg0", &got), 0);
		assert_int_equal(got->peers[0].last_handshake.tv_sec, 1700000000);
		assert_int_equal(got->peers[0].rx_bytes, 100);
		assert_int_equal(got->peers[0].tx_bytes, 200);
		wg_free_device(got);
	}

	/* A key whose public half is a peer's removes that peer. */
	d = wg_device_new("wg0");
	assert_non_null(d);
	add_peer(d, 2, 0, NULL);
	key_of(11, d->private_key);
	assert_int_equal(crypto_scalarmult_curve25519_base(d->peers[0].public_key, d->private_key),
	                 0);
	assert_int_equal(wg_set_device(d), 0);
	d->npeers = 0;
	d->flags = WG_DEVICE_HAS_PRIVATE_KEY;
	assert_int_equal(wg_set_device(d), 0);
	wg_free_device(d);
	assert_int_equal(wg_get_device("wg0", &got), 0);
	assert_int_equal(got->npeers, 1);
	wg_free_device(got);

	/* A bad delta changes nothing. */
	d = wg_device_new("wg0");
	assert_non_null(d);
	d->flags = WG_DEVICE_REPLACE_PEERS;
	p = add_peer(d, 3, WG_PEER_HAS_ENDPOINT, NULL);
	p->endpoint.sa.sa_family = AF_UNIX;
	assert_int_equal(wg_set_device(d), -EINVAL);
	wg_free_device(d);
	assert_int_equal(wg_get_device("wg0", &got), 0);
	assert_int_equal(got->npeers, 1);
	wg_free_device(got);

	/* Ports: a running device without one gets one; a taken one is refused. */
	assert_int_equal(kh_link_set_up(ifindex, true), 0);
	assert_int_equal(wg_get_device("wg0", &got), 0);
	assert_int_not_equal(got->listen_port, 0);
	wg_free_device(got);
	assert_int_equal(wg_userspace_start("wg1", NULL, &adopted), 0);
	assert_false(adopted);
	assert_int_equal(wg_userspace_start("wg1", NULL, &adopted), 0);
	assert_true(adopted);
	assert_int_equal(wg_device_backend("wg1", &backend), 0);
	assert_int_equal(backend, WG_BACKEND_USERSPACE);
	{
		struct kh_link l;

		assert_int_equal(kh_link_get("wg1", &l), 0);
		assert_string_equal(l.kind, "tun");
	}
	d = wg_device_new("wg1");
	assert_non_null(d);
	d->flags = WG_DEVICE_HAS_LISTEN_PORT;
	d->listen_port = 51820;
	assert_int_equal(wg_set_device(d), 0);
	wg_free_device(d);
	d = wg_device_new("wg0");
	assert_non_null(d);
	d->flags = WG_DEVICE_HAS_LISTEN_PORT;
	d->listen_port = 51820;
	assert_int_equal(wg_set_device(d), 0); /* wg1 is down: not bound */
	wg_free_device(d);

	assert_int_equal(wg_list_devices(&names), 0);
	assert_string_equal(names[0], "wg0");
	assert_string_equal(names[1], "wg1");
	assert_null(names[2]);
	wg_free_names(names);
	assert_int_equal(wg_del_device("wg1"), 0);
	assert_int_equal(wg_del_device("wg1"), -ENODEV);
	assert_int_equal(kh_link_del(ifindex), 0);
	assert_int_equal(wg_get_device("wg0", &got), -ENODEV);

	fake_wg_set_kernel(false);
	assert_false(wg_kernel_available());
	assert_int_equal(wg_add_device("wg2", WG_BACKEND_KERNEL, NULL), -EOPNOTSUPP);
	assert_int_equal(wg_add_device("wg2", WG_BACKEND_AUTO, NULL), 0);
	assert_int_equal(wg_device_backend("wg2", &backend), 0);
	assert_int_equal(backend, WG_BACKEND_USERSPACE);
	fake_reset();
}

/* --- the log --- */

static void
test_log(void **state)
{
	const struct fake_op *ops;
	struct kh_route r, *routes = NULL;
	uint32_t eth;
	size_t n;
	char *log;

	(void)state;
	fake_reset();
	eth = setup_link("wg-netd", true);
	assert_int_equal(fake_changes(), 0);
	assert_int_equal(fake_count(FAKE_OP_ANY), 0);
	r = route("10.2.0.0/16", 51820, 200, eth, 0);
	assert_int_equal(kh_route_replace(&r), 0);
	assert_int_equal(kh_route_list(AF_INET, 51820, 200, &routes, &n), 0);
	free(routes);
	r.dst = prefix_of("10.3.0.0/16");
	assert_int_equal(kh_route_del(&r), -ESRCH);
	assert_int_equal(fake_ops(&ops), 3);
	assert_int_equal(ops[0].kind, FAKE_OP_ROUTE_REPLACE);
	assert_true(ops[0].change);
	assert_int_equal(ops[0].result, 0);
	assert_string_equal(ops[0].text,
	                    "route replace 10.2.0.0/16 dev wg-netd table 51820 proto 200");
	assert_false(ops[1].change);
	assert_int_equal(ops[2].result, -ESRCH);
	assert_int_equal(fake_count(FAKE_OP_ROUTE_REPLACE), 1);
	assert_int_equal(fake_count(FAKE_OP_ROUTE_DEL), 1);
	assert_int_equal(fake_count(FAKE_OP_ANY), 3);
	assert_int_equal(fake_changes(), 2);
	log = log_of(false);
	assert_string_equal(log,
	                    "route replace 10.2.0.0/16 dev wg-netd table 51820 proto 200\n"
	                    "route list inet table 51820 proto 200\n"
	                    "route del 10.3.0.0/16 dev wg-netd table 51820 proto 200 -> ESRCH\n");
	free(log);

	/* Someone else's changes and the set-up are not the code under test's. */
	fake_act_as(FAKE_OTHER);
	r.dst = prefix_of("10.2.0.0/16");
	assert_int_equal(kh_route_del(&r), 0);
	fake_act_as(FAKE_NETD);
	assert_int_equal(fake_changes(), 2);
	fake_clear_ops();
	assert_int_equal(fake_changes(), 0);
	assert_int_equal(fake_ops(&ops), 0);
	assert_log(false, "");

	/* Every kind of call leaves its canonical line. */
	{
		struct kh_vxlan vx = {.vni = 100, .local = addr_of("192.0.2.1"), .port = 4789};
		struct kh_fdb e = {.dst = addr_of("192.0.2.2")};
		struct kh_rule rule = {.family = AF_INET,
		                       .priority = 100,
		                       .table = 51820,
		                       .fwmark = 1,
		                       .fwmask = 0xff,
		                       .protocol = 200};
		struct kh_neigh ne = {.ip = addr_of("10.0.0.2")};
		struct wg_device *d = NULL;
		struct wg_peer *p;
		uint32_t vxi;

		assert_int_equal(kh_link_add_vxlan("vx100", &vx, 1400, &vxi), 0);
		e.ifindex = vxi;
		ne.ifindex = vxi;
		assert_int_equal(kh_fdb_append(&e), 0);
		assert_int_equal(kh_rule_add(&rule), 0);
		assert_int_equal(kh_neigh_replace(&ne), 0);
		assert_int_equal(wg_add_device("wg0", WG_BACKEND_KERNEL, NULL), 0);
		d = wg_device_new("wg0");
		assert_non_null(d);
		d->flags = WG_DEVICE_HAS_LISTEN_PORT;
		d->listen_port = 51820;
		p = add_peer(d, 1, WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_KEEPALIVE,
		             "10.2.0.0/16,10.3.0.0/16");
		p->endpoint.sin6.sin6_family = AF_INET6;
		p->endpoint.sin6.sin6_port = htons(51820);
		inet_pton(AF_INET6, "2001:db8::2", &p->endpoint.sin6.sin6_addr);
		p->persistent_keepalive = 25;
		add_peer(d, 2, WG_PEER_REMOVE_ME, NULL);
		assert_int_equal(wg_set_device(d), 0);
		wg_free_device(d);
		assert_int_equal(kh_link_set_up(vxi, true), 0);
		assert_int_equal(kh_link_del(vxi), 0);
		assert_log(
		        true,
		        "link add vxlan vx100 vni 100 local 192.0.2.1 port 4789 nolearning mtu "
		        "1400\n"
		        "fdb append 00:00:00:00:00:00 dev vx100 dst 192.0.2.2\n"
		        "rule add inet pref 100 fwmark 0x1/0xff lookup 51820 proto 200\n"
		        "neigh replace 10.0.0.2 lladdr 00:00:00:00:00:00 dev vx100\n"
		        "wg add wg0 kernel\n"
		        "wg set wg0 listen-port 51820 peer BwgJCgsMDQ4PEBESExQVFhcYGRobHB0e"
		        "HyAhIiMkJSY= endpoint [2001:db8::2]:51820 persistent-keepalive 25 "
		        "allowed-ips 10.2.0.0/16,10.3.0.0/16 peer Dg8QERITFBUWFxgZGhscHR4fICEiIyQ"
		        "lJicoKSorLC0= remove\n"
		        "link set vx100 up\n"
		        "link del vx100\n");
		assert_int_equal(fake_count(FAKE_OP_WG_SET), 1);
		assert_string_equal(fake_op_name(FAKE_OP_FDB_APPEND), "fdb append");
	}
	fake_reset();
}

/* --- monitors --- */

struct seen {
	struct kh_event ev[512];
	size_t n;
};

static void
collect(const struct kh_event *ev, void *arg)
{
	struct seen *s = arg;

	if (s->n < sizeof(s->ev) / sizeof(s->ev[0]))
		s->ev[s->n] = *ev;
	s->n++;
}

static bool
readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void
test_monitor(void **state)
{
	static struct seen seen;
	struct kh_monitor *mon = NULL;
	struct kh_monitor_stats st;
	struct kh_route r4, r6;
	struct kh_fdb e;
	struct kh_vxlan vx = {.vni = 5, .local = addr_of("192.0.2.1")};
	uint32_t eth, vxi;

	(void)state;
	fake_reset();
	eth = setup_link("eth0", true);
	assert_int_equal(kh_monitor_open(0, &mon), 0);
	assert_false(readable(kh_monitor_fd(mon)));
	assert_int_equal(kh_monitor_read(mon, collect, &seen), 0);

	/* The code under test hears its own changes, like from the kernel. */
	r4 = route("10.2.0.0/16", 51820, 200, eth, 0);
	assert_int_equal(kh_route_replace(&r4), 0);
	assert_true(readable(kh_monitor_fd(mon)));
	seen.n = 0;
	assert_int_equal(kh_monitor_read(mon, collect, &seen), 1);
	assert_int_equal(seen.ev[0].type, KH_EV_ROUTE_NEW);
	assert_int_equal(seen.ev[0].u.route.oif, eth);
	assert_false(readable(kh_monitor_fd(mon)));

	/* Someone else deletes it, sets a link down, removes an FDB entry. */
	assert_int_equal(kh_link_add_vxlan("vx0", &vx, 0, &vxi), 0);
	e = (struct kh_fdb){.ifindex = vxi, .dst = addr_of("192.0.2.2")};
	assert_int_equal(kh_fdb_append(&e), 0);
	r6 = route("2001:db8::/32", 51820, 200, eth, 0);
	assert_int_equal(kh_route_replace(&r6), 0);
	seen.n = 0;
	assert_int_equal(kh_monitor_read(mon, collect, &seen), 3);
	fake_clear_ops();
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_fdb_del(&e), 0);
	assert_int_equal(kh_link_set_up(eth, false), 0);
	fake_act_as(FAKE_NETD);
	assert_int_equal(fake_changes(), 0);
	assert_true(readable(kh_monitor_fd(mon)));
	assert_int_equal(fake_monitor_pending(mon), 4);
	seen.n = 0;
	assert_int_equal(kh_monitor_read(mon, collect, &seen), 4);
	assert_int_equal(seen.ev[0].type, KH_EV_FDB_DEL);
	assert_int_equal(seen.ev[0].u.fdb.ifindex, vxi);
	assert_int_equal(seen.ev[1].type, KH_EV_LINK_CHANGE);
	assert_false(seen.ev[1].u.link.flags & IFF_UP);
	/* The IPv4 route went silently, the IPv6 one with a word. */
	assert_int_equal(seen.ev[2].type, KH_EV_ROUTE_DEL);
	assert_int_equal(seen.ev[2].u.route.dst.addr.family, AF_INET6);
	/* IPv6 addresses, the link-local one too, go with the link going down. */
	assert_int_equal(seen.ev[3].type, KH_EV_ADDR_DEL);
	assert_int_equal(seen.ev[3].u.addr.prefix.addr.u.bytes[0], 0xfe);

	/* Set-up state is there without a word. */
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_link_set_up(eth, true), 0);
	fake_act_as(FAKE_NETD);
	assert_false(readable(kh_monitor_fd(mon)));

	/* An overrun loses what waited and says so once. */
	assert_int_equal(kh_link_set_mtu(eth, 1400), 0);
	assert_int_equal(kh_link_set_mtu(eth, 1300), 0);
	fake_monitor_overrun();
	assert_true(readable(kh_monitor_fd(mon)));
	seen.n = 0;
	assert_int_equal(kh_monitor_read(mon, collect, &seen), 1);
	assert_int_equal(seen.ev[0].type, KH_EV_RESYNC);
	assert_false(readable(kh_monitor_fd(mon)));

	/* A flood is handed out in bounded batches; the descriptor stays readable. */
	for (uint32_t i = 0; i < 300; i++)
		assert_int_equal(kh_link_set_mtu(eth, 1000 + i), 0);
	seen.n = 0;
	assert_int_equal(kh_monitor_read(mon, collect, &seen), 256);
	assert_true(readable(kh_monitor_fd(mon)));
	assert_int_equal(kh_monitor_read(mon, collect, &seen), 44);
	assert_false(readable(kh_monitor_fd(mon)));
	assert_int_equal(seen.ev[299].u.link.mtu, 1299);
	kh_monitor_get_stats(mon, &st);
	assert_int_equal(st.resyncs, 1);
	assert_int_equal(st.events, 1 + 3 + 4 + 1 + 300);

	/* A reset empties the queue but leaves the monitor the caller's. */
	assert_int_equal(kh_link_set_mtu(eth, 1500), 0);
	fake_reset();
	assert_false(readable(kh_monitor_fd(mon)));
	kh_monitor_close(mon);
	fake_reset();
}

/* --- injected failures --- */

static void
test_injected(void **state)
{
	struct kh_route r, *routes = NULL;
	struct kh_monitor *mon = NULL;
	uint32_t eth;
	size_t n;

	(void)state;
	fake_reset();
	eth = setup_link("eth0", true);
	r = route("10.2.0.0/16", 51820, 200, eth, 0);
	fake_fail(FAKE_OP_ROUTE_REPLACE, 2, EBUSY);
	assert_int_equal(kh_route_replace(&r), -EBUSY);
	assert_non_null(strstr(kh_last_error(), "injected"));
	assert_non_null(strstr(kh_last_error(), "route replace 10.2.0.0/16"));
	assert_int_equal(kh_route_replace(&r), -EBUSY);
	assert_int_equal(kh_route_list(AF_INET, 51820, 200, &routes, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(kh_route_replace(&r), 0);
	assert_log(true, "route replace 10.2.0.0/16 dev eth0 table 51820 proto 200 -> EBUSY\n"
	                 "route replace 10.2.0.0/16 dev eth0 table 51820 proto 200 -> EBUSY\n"
	                 "route replace 10.2.0.0/16 dev eth0 table 51820 proto 200\n");

	/* Any kind, negative errno accepted; someone else's calls are not affected. */
	fake_fail(FAKE_OP_ANY, 1, -ENOBUFS);
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_route_list(AF_INET, 0, 200, &routes, &n), 0);
	free(routes);
	fake_act_as(FAKE_NETD);
	assert_int_equal(kh_monitor_open(0, &mon), -ENOBUFS);
	assert_int_equal(kh_monitor_open(0, &mon), 0);
	kh_monitor_close(mon);

	/* WireGuard calls report through kh_last_error too. */
	fake_fail(FAKE_OP_WG_ADD, 1, EPERM);
	assert_int_equal(wg_add_device("wg0", WG_BACKEND_KERNEL, NULL), -EPERM);
	assert_non_null(strstr(kh_last_error(), "injected"));
	assert_int_equal(wg_add_device("wg0", WG_BACKEND_KERNEL, NULL), 0);

	/* A failing delete stops a flush half way. */
	fake_fail(FAKE_OP_ROUTE_DEL, 1, EIO);
	assert_int_equal(kh_route_flush(AF_INET, 51820, 200, &n), -EIO);
	fake_fail(FAKE_OP_ROUTE_DEL, 0, 0);
	assert_int_equal(kh_route_flush(AF_INET, 51820, 200, &n), 0);
	assert_int_equal(n, 1);
	fake_reset();
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fresh_namespace),
	        cmocka_unit_test(test_scenarios),
	        cmocka_unit_test(test_links),
	        cmocka_unit_test(test_link_del_takes_what_hangs_off_it),
	        cmocka_unit_test(test_routes),
	        cmocka_unit_test(test_fdb_flood_list),
	        cmocka_unit_test(test_wg_deltas),
	        cmocka_unit_test(test_wg_device),
	        cmocka_unit_test(test_log),
	        cmocka_unit_test(test_monitor),
	        cmocka_unit_test(test_injected),
	};

	if (argc == 2 && strcmp(argv[1], "--scenarios") == 0)
		return print_scenarios();
	if (argc == 2 && strcmp(argv[1], "--wg-scenarios") == 0)
		return print_wg_scenarios();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
