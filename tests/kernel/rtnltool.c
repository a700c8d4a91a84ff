/* rtnltool: drives netd's rtnetlink helpers from the command line, one operation per run, so
 * that the namespace tests configure the kernel through netd's own code and check the result
 * with ip and bridge. Prints what it reads one object per line; exits 0, or 1 with the
 * helper's error text. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/monitor.h"
#include "kernel-helpers/rtnl.h"

static const char usage_text[] =
        "usage: rtnltool COMMAND [ARGS]\n"
        "  vxlan-add NAME VNI LOCAL PORT [dev UNDERLAY] [mtu N] [learning]\n"
        "  bridge-add NAME [mtu N]\n"
        "  link-del NAME | link-show NAME | enslave PORT BRIDGE | release PORT\n"
        "  mtu NAME N | up NAME | down NAME\n"
        "  addr-add NAME PREFIX | addr-del NAME PREFIX | addr-show NAME\n"
        "  route-replace TABLE PROTO PREFIX [type T] [dev NAME] [via GW] [metric N] [mtu N]\n"
        "  route-del TABLE PROTO PREFIX [type T] [dev NAME] [via GW] [metric N]\n"
        "  route-show TABLE PROTO|any | route-flush TABLE PROTO\n"
        "  route-walk TABLE PROTO|any [STOP]: route-show one at a time, refusing the STOPth\n"
        "  route-batch replace|del TABLE PROTO < LINES: one batch call, a route a line\n"
        "              (PREFIX and the options of route-replace, oif N for a raw ifindex)\n"
        "  route-collisions TABLE PROTO PREFIX [dev NAME] [via GW] [metric N]\n"
        "  rule-add|rule-del PRIO TABLE [from PREFIX] [to PREFIX] [fwmark MARK/MASK] [proto N]\n"
        "           [family 4|6]\n"
        "  rule-show TABLE\n"
        "  fdb-append|fdb-replace|fdb-del DEV MAC DST | fdb-show DEV\n"
        "  fdb-batch DEV < LINES: one append batch call, \"MAC DST\" a line\n"
        "  neigh-replace DEV IP MAC | neigh-del DEV IP | neigh-show DEV\n"
        "  monitor [-b RCVBUF] [-d DELAY_MS] [-t SECONDS]\n"
        "  spoof PORT\n";

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

static int
failed(int err)
{
	fprintf(stderr, "rtnltool: %s\n",
	        err < 0 && kh_last_error()[0] ? kh_last_error() : strerror(-err));
	return 1;
}

static void
die(const char *what, const char *arg)
{
	fprintf(stderr, "rtnltool: %s: %s\n", what, arg);
	exit(2);
}

static uint32_t
number(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > UINT32_MAX)
		die("not a number", s);
	return (uint32_t)v;
}

static uint32_t
ifindex_of(const char *name)
{
	struct kh_link link;
	int err = kh_link_get(name, &link);

	if (err < 0)
		exit(failed(err));
	return link.ifindex;
}

static const char *
ifname(uint32_t ifindex, char buf[IF_NAMESIZE])
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "%u", ifindex);
	return buf;
}

static struct addr
addr_arg(const char *s)
{
	struct addr a;

	if (addr_parse(s, &a) < 0)
		die("not an address", s);
	return a;
}

static struct addr_prefix
prefix_arg(const char *s)
{
	struct addr_prefix p;

	if (addr_prefix_parse(s, &p) < 0)
		die("not a prefix", s);
	return p;
}

static void
mac_arg(const char *s, uint8_t mac[KH_MAC_LEN])
{
	if (kh_mac_parse(s, mac) < 0)
		die("not a MAC address", s);
}

static void
print_link(const struct kh_link *l)
{
	char a[ADDR_STRLEN], m[IF_NAMESIZE], u[IF_NAMESIZE];

	printf("name=%s ifindex=%u kind=%s mtu=%u up=%d master=%s", l->name, l->ifindex,
	       l->kind[0] ? l->kind : "none", l->mtu, (l->flags & IFF_UP) != 0,
	       l->master ? ifname(l->master, m) : "none");
	if (l->has_vxlan)
		printf(" vni=%u local=%s port=%u learning=%d underlay=%s", l->vxlan.vni,
		       addr_format(&l->vxlan.local, a), l->vxlan.port, l->vxlan.learning,
		       l->vxlan.underlay ? ifname(l->vxlan.underlay, u) : "none");
	printf("\n");
}

static void
print_route(const struct kh_route *r)
{
	char p[ADDR_PREFIX_STRLEN], g[ADDR_STRLEN], d[IF_NAMESIZE], t[16];

	printf("%s", addr_prefix_format(&r->dst, p));
	if (r->type != KH_ROUTE_UNICAST)
		printf(" type %s", kh_route_type_name(r->type, t));
	if (r->oif)
		printf(" dev %s", ifname(r->oif, d));
	if (r->gateway.family != AF_UNSPEC)
		printf(" via %s", addr_format(&r->gateway, g));
	printf(" table %u proto %u metric %u", r->table, r->protocol, r->metric);
	if (r->mtu)
		printf(" mtu %u", r->mtu);
	printf("\n");
}

/* Route options after the prefix: type, dev, via, metric, mtu. */
static void
route_opts(struct kh_route *r, int argc, char **argv)
{
	for (int i = 0; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "type") == 0 && kh_route_type_parse(argv[i + 1], &r->type) == 0)
			continue;
		if (strcmp(argv[i], "dev") == 0)
			r->oif = ifindex_of(argv[i + 1]);
		else if (strcmp(argv[i], "oif") == 0)
			r->oif = number(argv[i + 1]);
		else if (strcmp(argv[i], "via") == 0)
			r->gateway = addr_arg(argv[i + 1]);
		else if (strcmp(argv[i], "metric") == 0)
			r->metric = number(argv[i + 1]);
		else if (strcmp(argv[i], "mtu") == 0)
			r->mtu = number(argv[i + 1]);
		else
			usage();
	}
}

static struct kh_route
route_args(int argc, char **argv)
{
	struct kh_route r;

	if (argc < 3)
		usage();
	memset(&r, 0, sizeof(r));
	r.table = number(argv[0]);
	r.protocol = (uint8_t)number(argv[1]);
	r.dst = prefix_arg(argv[2]);
	route_opts(&r, argc - 3, argv + 3);
	return r;
}

static struct kh_rule
rule_args(int argc, char **argv)
{
	struct kh_rule r;

	if (argc < 2)
		usage();
	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	r.priority = number(argv[0]);
	r.table = number(argv[1]);
	for (int i = 2; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "from") == 0) {
			r.src = prefix_arg(argv[i + 1]);
			r.family = r.src.addr.family;
		} else if (strcmp(argv[i], "to") == 0) {
			r.dst = prefix_arg(argv[i + 1]);
			r.family = r.dst.addr.family;
		} else if (strcmp(argv[i], "fwmark") == 0) {
			char *slash = strchr(argv[i + 1], '/');
			if (!slash)
				die("fwmark wants MARK/MASK", argv[i + 1]);
			*slash = '\0';
			r.fwmark = number(argv[i + 1]);
			r.fwmask = number(slash + 1);
		} else if (strcmp(argv[i], "proto") == 0) {
			r.protocol = (uint8_t)number(argv[i + 1]);
		} else if (strcmp(argv[i], "family") == 0) {
			r.family = strcmp(argv[i + 1], "6") == 0 ? AF_INET6 : AF_INET;
		} else {
			usage();
		}
	}
	return r;
}

static int
cmd_link(const char *cmd, int argc, char **argv)
{
	struct kh_link link;
	uint32_t ifindex;
	int err;

	if (strcmp(cmd, "vxlan-add") == 0) {
		struct kh_vxlan vx;
		uint32_t mtu = 0;

		if (argc < 4)
			usage();
		memset(&vx, 0, sizeof(vx));
		vx.vni = number(argv[1]);
		vx.local = addr_arg(argv[2]);
		vx.port = (uint16_t)number(argv[3]);
		for (int i = 4; i < argc; i++) {
			if (strcmp(argv[i], "learning") == 0)
				vx.learning = true;
			else if (i + 1 >= argc)
				usage();
			else if (strcmp(argv[i], "dev") == 0)
				vx.underlay = ifindex_of(argv[++i]);
			else if (strcmp(argv[i], "mtu") == 0)
				mtu = number(argv[++i]);
			else
				usage();
		}
		err = kh_link_add_vxlan(argv[0], &vx, mtu, &ifindex);
		if (err == 0)
			printf("ifindex=%u\n", ifindex);
		return err;
	}
	if (strcmp(cmd, "bridge-add") == 0) {
		uint32_t mtu = 0;

		if (argc == 3 && strcmp(argv[1], "mtu") == 0)
			mtu = number(argv[2]);
		else if (argc != 1)
			usage();
		err = kh_link_add_bridge(argv[0], mtu, &ifindex);
		if (err == 0)
			printf("ifindex=%u\n", ifindex);
		return err;
	}
	if (argc < 1)
		usage();
	if (strcmp(cmd, "link-show") == 0) {
		err = kh_link_get(argv[0], &link);
		if (err == 0)
			print_link(&link);
		return err;
	}
	ifindex = ifindex_of(argv[0]);
	if (strcmp(cmd, "link-del") == 0)
		return kh_link_del(ifindex);
	if (strcmp(cmd, "enslave") == 0 && argc == 2)
		return kh_link_set_master(ifindex, ifindex_of(argv[1]));
	if (strcmp(cmd, "release") == 0)
		return kh_link_set_master(ifindex, 0);
	if (strcmp(cmd, "mtu") == 0 && argc == 2)
		return kh_link_set_mtu(ifindex, number(argv[1]));
	if (strcmp(cmd, "up") == 0 || strcmp(cmd, "down") == 0)
		return kh_link_set_up(ifindex, cmd[0] == 'u');
	usage();
	return 0;
}

static int
cmd_addr(const char *cmd, int argc, char **argv)
{
	struct kh_ifaddr a;
	struct kh_ifaddr *addrs;
	char p[ADDR_PREFIX_STRLEN];
	size_t n;
	int err;

	if (argc < 1)
		usage();
	memset(&a, 0, sizeof(a));
	a.ifindex = ifindex_of(argv[0]);
	if (strcmp(cmd, "addr-show") == 0) {
		err = kh_ifaddr_list(a.ifindex, AF_UNSPEC, &addrs, &n);
		for (size_t i = 0; err == 0 && i < n; i++)
			printf("%s\n", addr_prefix_format(&addrs[i].prefix, p));
		if (err == 0)
			free(addrs);
		return err;
	}
	if (argc != 2)
		usage();
	a.prefix = prefix_arg(argv[1]);
	return strcmp(cmd, "addr-add") == 0 ? kh_ifaddr_add(&a) : kh_ifaddr_del(&a);
}

static const char *
overlap_name(enum kh_overlap o)
{
	switch (o) {
	case KH_OVERLAP_SAME:
		return "same";
	case KH_OVERLAP_MORE_SPECIFIC:
		return "more-specific";
	case KH_OVERLAP_LESS_SPECIFIC:
		return "less-specific";
	default:
		return "none";
	}
}

static void
batch_done(size_t i, int err, const char *why, void *arg)
{
	(void)arg;
	if (err < 0)
		printf("failed %zu: %s\n", i, why);
}

/* Reads a route a line from stdin into one kh_route_*_many call; prints each failure by its
 * line number (from 0) and the count. */
static int
cmd_route_batch(int argc, char **argv)
{
	struct kh_route *routes = NULL;
	size_t n = 0, cap = 0, nfailed;
	char line[512];
	bool del;

	if (argc != 3 || (strcmp(argv[0], "replace") != 0 && strcmp(argv[0], "del") != 0))
		usage();
	del = strcmp(argv[0], "del") == 0;
	while (fgets(line, sizeof(line), stdin)) {
		char *words[16] = {argv[1], argv[2]};
		int nw = 2;

		for (char *w = strtok(line, " \t\n"); w && nw < 16; w = strtok(NULL, " \t\n"))
			words[nw++] = w;
		if (nw == 2)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			routes = realloc(routes, cap * sizeof(*routes));
			if (!routes)
				die("out of memory", "routes");
		}
		routes[n++] = route_args(nw, words);
	}
	nfailed = del ? kh_route_del_many(routes, n, batch_done, NULL)
	              : kh_route_replace_many(routes, n, batch_done, NULL);
	printf("entries=%zu failed=%zu\n", n, nfailed);
	free(routes);
	return 0;
}

/* How many routes a walk has printed, and the one it refuses (0: none). */
struct walked {
	size_t n, stop;
};

static int
walk_print(const struct kh_route *route, void *arg)
{
	struct walked *w = arg;

	if (++w->n == w->stop)
		return -ECANCELED;
	print_route(route);
	return 0;
}

static int
cmd_route(const char *cmd, int argc, char **argv)
{
	struct kh_route *routes, r;
	size_t n;
	int err;

	if (strcmp(cmd, "route-show") == 0) {
		if (argc != 2)
			usage();
		err = kh_route_list(AF_UNSPEC, number(argv[0]),
		                    strcmp(argv[1], "any") == 0 ? KH_ROUTE_ANY_PROTOCOL
		                                                : (int)number(argv[1]),
		                    &routes, &n);
		for (size_t i = 0; err == 0 && i < n; i++)
			print_route(&routes[i]);
		if (err == 0)
			free(routes);
		return err;
	}
	if (strcmp(cmd, "route-walk") == 0) {
		struct walked w = {0};
		struct kh_route_walk walk = {.each = walk_print, .arg = &w};

		if (argc != 2 && argc != 3)
			usage();
		if (argc == 3)
			w.stop = number(argv[2]);
		return kh_route_walk(AF_UNSPEC, number(argv[0]),
		                     strcmp(argv[1], "any") == 0 ? KH_ROUTE_ANY_PROTOCOL
		                                                 : (int)number(argv[1]),
		                     &walk);
	}
	if (strcmp(cmd, "route-batch") == 0)
		return cmd_route_batch(argc, argv);
	if (strcmp(cmd, "route-flush") == 0) {
		if (argc != 2)
			usage();
		err = kh_route_flush(AF_UNSPEC, number(argv[0]), (uint8_t)number(argv[1]), &n);
		if (err == 0)
			printf("deleted=%zu\n", n);
		return err;
	}
	r = route_args(argc, argv);
	if (strcmp(cmd, "route-replace") == 0)
		return kh_route_replace(&r);
	if (strcmp(cmd, "route-del") == 0)
		return kh_route_del(&r);
	if (strcmp(cmd, "route-collisions") == 0) {
		err = kh_route_collisions(&r, &routes, &n);
		for (size_t i = 0; err == 0 && i < n; i++) {
			printf("%s ", overlap_name(kh_route_overlap(&r, &routes[i])));
			print_route(&routes[i]);
		}
		if (err == 0)
			free(routes);
		return err;
	}
	usage();
	return 0;
}

static int
cmd_rule(const char *cmd, int argc, char **argv)
{
	struct kh_rule *rules, r;
	char s[ADDR_PREFIX_STRLEN], d[ADDR_PREFIX_STRLEN];
	size_t n;
	int err;

	if (strcmp(cmd, "rule-show") == 0) {
		if (argc != 1)
			usage();
		err = kh_rule_list(AF_UNSPEC, number(argv[0]), &rules, &n);
		for (size_t i = 0; err == 0 && i < n; i++) {
			printf("%u: family %d from %s to %s table %u proto %u", rules[i].priority,
			       rules[i].family == AF_INET6 ? 6 : 4,
			       rules[i].src.len ? addr_prefix_format(&rules[i].src, s) : "all",
			       rules[i].dst.len ? addr_prefix_format(&rules[i].dst, d) : "all",
			       rules[i].table, rules[i].protocol);
			if (rules[i].fwmask)
				printf(" fwmark 0x%x/0x%x", rules[i].fwmark, rules[i].fwmask);
			printf("\n");
		}
		if (err == 0)
			free(rules);
		return err;
	}
	r = rule_args(argc, argv);
	return strcmp(cmd, "rule-add") == 0 ? kh_rule_add(&r) : kh_rule_del(&r);
}

/* Reads "MAC DST" a line from stdin into one kh_fdb_append_many call on the device; prints
 * each failure by its line number (from 0) and the count. */
static int
cmd_fdb_batch(uint32_t ifindex, int argc, char **argv)
{
	struct kh_fdb *entries = NULL;
	size_t n = 0, cap = 0, nfailed;
	char line[256];

	(void)argv;
	if (argc != 1)
		usage();
	while (fgets(line, sizeof(line), stdin)) {
		char *mac = strtok(line, " \t\n"), *dst = mac ? strtok(NULL, " \t\n") : NULL;

		if (!mac)
			continue;
		if (!dst)
			die("a line without its VTEP", mac);
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			entries = realloc(entries, cap * sizeof(*entries));
			if (!entries)
				die("out of memory", "FDB entries");
		}
		memset(&entries[n], 0, sizeof(entries[n]));
		entries[n].ifindex = ifindex;
		mac_arg(mac, entries[n].mac);
		entries[n++].dst = addr_arg(dst);
	}
	nfailed = kh_fdb_append_many(entries, n, batch_done, NULL);
	printf("entries=%zu failed=%zu\n", n, nfailed);
	free(entries);
	return 0;
}

static int
cmd_fdb(const char *cmd, int argc, char **argv)
{
	struct kh_fdb e, *entries;
	char m[KH_MAC_STRLEN], a[ADDR_STRLEN];
	size_t n;
	int err;

	if (argc < 1)
		usage();
	memset(&e, 0, sizeof(e));
	e.ifindex = ifindex_of(argv[0]);
	if (strcmp(cmd, "fdb-batch") == 0)
		return cmd_fdb_batch(e.ifindex, argc, argv);
	if (strcmp(cmd, "fdb-show") == 0) {
		err = kh_fdb_list(e.ifindex, &entries, &n);
		for (size_t i = 0; err == 0 && i < n; i++) {
			printf("%s", kh_mac_format(entries[i].mac, m));
			if (entries[i].dst.family != AF_UNSPEC)
				printf(" dst %s", addr_format(&entries[i].dst, a));
			printf("%s\n", entries[i].master ? " master" : " self");
		}
		if (err == 0)
			free(entries);
		return err;
	}
	if (argc != 3)
		usage();
	mac_arg(argv[1], e.mac);
	e.dst = addr_arg(argv[2]);
	if (strcmp(cmd, "fdb-append") == 0)
		return kh_fdb_append(&e);
	if (strcmp(cmd, "fdb-replace") == 0)
		return kh_fdb_replace(&e);
	return kh_fdb_del(&e);
}

static int
cmd_neigh(const char *cmd, int argc, char **argv)
{
	struct kh_neigh e, *neighs;
	char m[KH_MAC_STRLEN], a[ADDR_STRLEN];
	size_t n;
	int err;

	if (argc < 1)
		usage();
	memset(&e, 0, sizeof(e));
	e.ifindex = ifindex_of(argv[0]);
	if (strcmp(cmd, "neigh-show") == 0) {
		err = kh_neigh_list(e.ifindex, AF_UNSPEC, &neighs, &n);
		for (size_t i = 0; err == 0 && i < n; i++)
			printf("%s lladdr %s state 0x%x\n", addr_format(&neighs[i].ip, a),
			       kh_mac_format(neighs[i].mac, m), neighs[i].state);
		if (err == 0)
			free(neighs);
		return err;
	}
	if (argc < 2)
		usage();
	e.ip = addr_arg(argv[1]);
	if (strcmp(cmd, "neigh-del") == 0)
		return kh_neigh_del(&e);
	if (argc != 3)
		usage();
	mac_arg(argv[2], e.mac);
	return kh_neigh_replace(&e);
}

static void
print_event(const struct kh_event *ev, void *arg)
{
	static const char *const names[] = {
	        [KH_EV_RESYNC] = "resync",           [KH_EV_LINK_NEW] = "link new",
	        [KH_EV_LINK_CHANGE] = "link change", [KH_EV_LINK_DEL] = "link del",
	        [KH_EV_ADDR_NEW] = "addr new",       [KH_EV_ADDR_DEL] = "addr del",
	        [KH_EV_ROUTE_NEW] = "route new",     [KH_EV_ROUTE_DEL] = "route del",
	        [KH_EV_NEIGH_NEW] = "neigh new",     [KH_EV_NEIGH_DEL] = "neigh del",
	        [KH_EV_FDB_NEW] = "fdb new",         [KH_EV_FDB_DEL] = "fdb del",
	        [KH_EV_RULE_NEW] = "rule new",       [KH_EV_RULE_DEL] = "rule del",
	};
	char p[ADDR_PREFIX_STRLEN], a[ADDR_STRLEN], m[KH_MAC_STRLEN], d[IF_NAMESIZE];

	(void)arg;
	printf("%s", names[ev->type]);
	switch (ev->type) {
	case KH_EV_RESYNC:
		break;
	case KH_EV_LINK_NEW:
	case KH_EV_LINK_CHANGE:
	case KH_EV_LINK_DEL:
		printf(" %s ifindex %u %s mtu %u", ev->u.link.name, ev->u.link.ifindex,
		       ev->u.link.flags & IFF_UP ? "up" : "down", ev->u.link.mtu);
		break;
	case KH_EV_ADDR_NEW:
	case KH_EV_ADDR_DEL:
		printf(" %s %s", ifname(ev->u.addr.ifindex, d),
		       addr_prefix_format(&ev->u.addr.prefix, p));
		break;
	case KH_EV_ROUTE_NEW:
	case KH_EV_ROUTE_DEL:
		printf(" ");
		print_route(&ev->u.route);
		fflush(stdout);
		return;
	case KH_EV_NEIGH_NEW:
	case KH_EV_NEIGH_DEL:
		printf(" %s %s %s", ifname(ev->u.neigh.ifindex, d), addr_format(&ev->u.neigh.ip, a),
		       kh_mac_format(ev->u.neigh.mac, m));
		break;
	case KH_EV_FDB_NEW:
	case KH_EV_FDB_DEL:
		printf(" %s %s dst %s", ifname(ev->u.fdb.ifindex, d),
		       kh_mac_format(ev->u.fdb.mac, m), addr_format(&ev->u.fdb.dst, a));
		break;
	case KH_EV_RULE_NEW:
	case KH_EV_RULE_DEL:
		printf(" priority %u table %u proto %u", ev->u.rule.priority, ev->u.rule.table,
		       ev->u.rule.protocol);
		break;
	}
	printf("\n");
	fflush(stdout);
}

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Prints events until the time is up or a signal arrives, then the counters. The optional
 * delay before the first read lets a test overflow a small receive buffer on purpose. */
static int
cmd_monitor(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct kh_monitor_stats st;
	struct kh_monitor *mon;
	struct sockaddr_nl self;
	socklen_t len = sizeof(self);
	struct timespec start;
	uint32_t rcvbuf = 0, delay = 0, seconds = 10;
	int err = 0;

	for (int i = 0; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "-b") == 0)
			rcvbuf = number(argv[i + 1]);
		else if (strcmp(argv[i], "-d") == 0)
			delay = number(argv[i + 1]);
		else if (strcmp(argv[i], "-t") == 0)
			seconds = number(argv[i + 1]);
		else
			usage();
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	err = kh_monitor_open(rcvbuf, &mon);
	if (err < 0)
		return err;
	if (getsockname(kh_monitor_fd(mon), (struct sockaddr *)&self, &len) < 0)
		self.nl_pid = 0;
	printf("ready port %u\n", self.nl_pid);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (delay)
		usleep(delay * 1000);
	while (!stop && elapsed_ms(&start) < (long)seconds * 1000) {
		struct pollfd pfd = {.fd = kh_monitor_fd(mon), .events = POLLIN};

		if (poll(&pfd, 1, 100) > 0) {
			err = kh_monitor_read(mon, print_event, NULL);
			if (err < 0)
				break;
			err = 0;
		}
	}
	kh_monitor_get_stats(mon, &st);
	printf("stats datagrams %llu events %llu resyncs %llu foreign %llu malformed %llu\n",
	       (unsigned long long)st.datagrams, (unsigned long long)st.events,
	       (unsigned long long)st.resyncs, (unsigned long long)st.foreign,
	       (unsigned long long)st.malformed);
	kh_monitor_close(mon);
	return err;
}

/* Sends a forged "link deleted" notification for the loopback device to a monitor's port
 * from an ordinary netlink socket: a monitor must not believe it. */
static int
cmd_spoof(int argc, char **argv)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg ifi;
	} msg;
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};
	int fd, err = 0;

	if (argc != 1)
		usage();
	to.nl_pid = number(argv[0]);
	memset(&msg, 0, sizeof(msg));
	msg.h.nlmsg_len = sizeof(msg);
	msg.h.nlmsg_type = RTM_DELLINK;
	msg.ifi.ifi_index = 1;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0 || sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		err = -errno;
		fprintf(stderr, "rtnltool: spoof: %s\n", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return err < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;
	int err;

	if (argc < 2)
		usage();
	cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (strcmp(cmd, "monitor") == 0)
		err = cmd_monitor(argc, argv);
	else if (strcmp(cmd, "spoof") == 0)
		return cmd_spoof(argc, argv);
	else if (strncmp(cmd, "addr-", 5) == 0)
		err = cmd_addr(cmd, argc, argv);
	else if (strncmp(cmd, "route-", 6) == 0)
		err = cmd_route(cmd, argc, argv);
	else if (strncmp(cmd, "rule-", 5) == 0)
		err = cmd_rule(cmd, argc, argv);
	else if (strncmp(cmd, "fdb-", 4) == 0)
		err = cmd_fdb(cmd, argc, argv);
	else if (strncmp(cmd, "neigh-", 6) == 0)
		err = cmd_neigh(cmd, argc, argv);
	else
		err = cmd_link(cmd, argc, argv);
	return err < 0 ? failed(err) : 0;
}
