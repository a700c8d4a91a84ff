/* khstack: builds one site's side of netd's data plane through kernel-helpers alone --
 * WireGuard, a VXLAN segment bridged over it, netd's routes and rule -- so that the stack tests
 * configure everything with netd's own code and check the result with wg, ip and bridge.
 *
 *   khstack wireguard NAME kernel|userspace underlay DEV key FILE port N address A/L
 *           peer KEY endpoint ADDR:PORT allowed-ips A/L,...
 *       create the device (or adopt it), key, port and the one peer, MTU = underlay's - 80,
 *       the overlay address, up; prints "created|started|adopted mtu N"
 *   khstack segment VXLAN over WG vni N local ADDR port N bridge BR address A/L remote ADDR
 *       VXLAN device (MTU = WG's - 50, no learning) in bridge BR with an address, flooded to
 *       the remote VTEP; prints "mtu N"
 *   khstack routes DEV table N proto N metric N rule PRIO PREFIX...
 *       each prefix through DEV unless another owner holds the same prefix (collisions are
 *       printed either way), and a rule "to PREFIX lookup table" for it
 *   khstack iface DEV address A/L [gateway ADDR]
 *       a plain interface up with an address (and a default route in the main table)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/wg.h"

/* What a WireGuard MTU leaves for VXLAN: outer IPv4, UDP and VXLAN headers plus the inner
 * Ethernet header. */
#define VXLAN_OVERHEAD 50
/* What WireGuard adds to a packet over IPv6 (the larger case): IP, UDP and its own 32 bytes. */
#define WG_OVERHEAD 80

static const char usage_text[] =
        "usage: khstack wireguard NAME kernel|userspace underlay DEV key FILE port N address A/L\n"
        "               peer KEY endpoint ADDR:PORT allowed-ips A/L,...\n"
        "       khstack segment VXLAN over WG vni N local ADDR port N bridge BR address A/L\n"
        "               remote ADDR\n"
        "       khstack routes DEV table N proto N metric N rule PRIO PREFIX...\n"
        "       khstack iface DEV address A/L [gateway ADDR]\n";

static int
usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

/* kernel-helpers' own text names the operation and the object; what is for when there is
 * none. */
static int
kh_failed(const char *what, int err)
{
	if (kh_last_error()[0])
		fprintf(stderr, "khstack: %s\n", kh_last_error());
	else
		fprintf(stderr, "khstack: %s: %s\n", what, strerror(-err));
	return 1;
}

static int
bad(const char *what, const char *arg)
{
	fprintf(stderr, "khstack: %s: '%s'\n", what, arg);
	return 2;
}

/* The value after keyword key among the name/value pairs of argv, or NULL. */
static const char *
opt(int argc, char **argv, const char *key)
{
	for (int i = 0; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], key))
			return argv[i + 1];
	return NULL;
}

/* Every key of the pairs is one of those listed and has a value. */
static bool
opts_known(int argc, char **argv, const char *const *keys)
{
	if (argc % 2)
		return false;
	for (int i = 0; i < argc; i += 2) {
		const char *const *k;

		for (k = keys; *k && strcmp(*k, argv[i]); k++)
			;
		if (!*k)
			return false;
	}
	return true;
}

static int
number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
key_parse(const char *text, uint8_t key[WG_KEY_SIZE])
{
	size_t len;

	if (sodium_base642bin(key, WG_KEY_SIZE, text, strlen(text), " \n", &len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != WG_KEY_SIZE)
		return -1;
	return 0;
}

static int
key_read(const char *path, uint8_t key[WG_KEY_SIZE])
{
	char text[128];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return key_parse(text, key);
}

/* ADDR:PORT or [ADDR6]:PORT */
static int
endpoint_parse(const char *text, union wg_endpoint *ep)
{
	char host[ADDR_STRLEN + 2];
	const char *colon = strrchr(text, ':');
	unsigned long port;
	struct addr a;
	size_t len;

	if (!colon || number(colon + 1, 65535, &port) < 0)
		return -1;
	len = (size_t)(colon - text);
	if (len >= sizeof(host))
		return -1;
	memcpy(host, text, len);
	host[len] = '\0';
	if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
		host[len - 1] = '\0';
		if (addr_parse(host + 1, &a) < 0 || a.family != AF_INET6)
			return -1;
	} else if (addr_parse(host, &a) < 0 || a.family != AF_INET) {
		return -1;
	}
	memset(ep, 0, sizeof(*ep));
	if (a.family == AF_INET) {
		ep->sin.sin_family = AF_INET;
		ep->sin.sin_addr = a.u.v4;
		ep->sin.sin_port = htons((uint16_t)port);
	} else {
		ep->sin6.sin6_family = AF_INET6;
		ep->sin6.sin6_addr = a.u.v6;
		ep->sin6.sin6_port = htons((uint16_t)port);
	}
	return 0;
}

static int
allowedips_parse(struct wg_peer *peer, const char *list)
{
	char *copy = strdup(list), *item, *save = NULL;
	int ret = copy ? 0 : -1;

	for (item = copy ? strtok_r(copy, ",", &save) : NULL; item && ret == 0;
	     item = strtok_r(NULL, ",", &save)) {
		struct addr_prefix p;

		if (!strchr(item, '/') || addr_prefix_parse(item, &p) < 0 ||
		    wg_peer_add_allowedip(peer, &p) < 0)
			ret = -1;
	}
	free(copy);
	return ret;
}

static int
link_index(const char *name, struct kh_link *link)
{
	int err = kh_link_get(name, link);

	return err < 0 ? kh_failed(name, err) : 0;
}

static int
address_add(uint32_t ifindex, const char *text)
{
	struct kh_ifaddr a = {.ifindex = ifindex};
	int err;

	if (!strchr(text, '/') || addr_prefix_parse(text, &a.prefix) < 0)
		return bad("not an address with a prefix length", text);
	err = kh_ifaddr_add(&a);
	return err < 0 ? kh_failed(text, err) : 0;
}

/* Creates the device of this backend unless one serves name already. */
static int
wg_create(const char *name, enum wg_backend backend, const char **how)
{
	enum wg_backend existing;
	bool adopted = false;
	int err;

	if (wg_device_backend(name, &existing) == 0) {
		if (existing != backend) {
			fprintf(stderr, "khstack: %s exists with the other backend\n", name);
			return 1;
		}
		*how = "adopted";
		return 0;
	}
	if (backend == WG_BACKEND_USERSPACE) {
		err = wg_userspace_start(name, NULL, &adopted);
		*how = adopted ? "adopted" : "started";
	} else {
		err = wg_add_device(name, WG_BACKEND_KERNEL, NULL);
		*how = "created";
	}
	return err < 0 ? kh_failed(name, err) : 0;
}

static int
cmd_wireguard(int argc, char **argv)
{
	static const char *const keys[] = {"underlay", "key",      "port",        "address",
	                                   "peer",     "endpoint", "allowed-ips", NULL};
	const char *name = argv[0], *how = NULL, *v;
	struct wg_device *dev = NULL;
	struct wg_peer *peer;
	struct kh_link under, wgl;
	enum wg_backend backend;
	unsigned long port;
	uint32_t mtu;
	int ret = 2, err;

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "kernel"))
		backend = WG_BACKEND_KERNEL;
	else if (!strcmp(argv[1], "userspace"))
		backend = WG_BACKEND_USERSPACE;
	else
		return usage();
	argc -= 2;
	argv += 2;
	if (!opts_known(argc, argv, keys))
		return usage();
	for (const char *const *k = keys; *k; k++)
		if (!opt(argc, argv, *k))
			return usage();

	dev = wg_device_new(name);
	peer = dev ? wg_device_add_peer(dev) : NULL;
	if (!peer) {
		fprintf(stderr, "khstack: %s: out of memory\n", name);
		goto out;
	}
	dev->flags =
	        WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
	if (key_read((v = opt(argc, argv, "key")), dev->private_key) < 0) {
		ret = bad("no private key in", v);
		goto out;
	}
	if (number((v = opt(argc, argv, "port")), 65535, &port) < 0) {
		ret = bad("not a port", v);
		goto out;
	}
	dev->listen_port = (uint16_t)port;
	peer->flags = WG_PEER_HAS_ENDPOINT | WG_PEER_REPLACE_ALLOWEDIPS;
	if (key_parse((v = opt(argc, argv, "peer")), peer->public_key) < 0) {
		ret = bad("not a public key", v);
		goto out;
	}
	if (endpoint_parse((v = opt(argc, argv, "endpoint")), &peer->endpoint) < 0) {
		ret = bad("not an endpoint", v);
		goto out;
	}
	if (allowedips_parse(peer, (v = opt(argc, argv, "allowed-ips"))) < 0) {
		ret = bad("not a list of prefixes", v);
		goto out;
	}

	ret = 1;
	if (link_index(opt(argc, argv, "underlay"), &under) != 0)
		goto out;
	if (under.mtu <= WG_OVERHEAD + 68) {
		fprintf(stderr, "khstack: underlay MTU %u leaves no room for WireGuard\n",
		        under.mtu);
		goto out;
	}
	mtu = under.mtu - WG_OVERHEAD;
	if (wg_create(name, backend, &how) != 0)
		goto out;
	err = wg_set_device(dev);
	if (err < 0) {
		kh_failed(name, err);
		goto out;
	}
	if (link_index(name, &wgl) != 0)
		goto out;
	err = kh_link_set_mtu(wgl.ifindex, mtu);
	if (err < 0) {
		kh_failed(name, err);
		goto out;
	}
	if (address_add(wgl.ifindex, opt(argc, argv, "address")) != 0)
		goto out;
	err = kh_link_set_up(wgl.ifindex, true);
	if (err < 0) {
		kh_failed(name, err);
		goto out;
	}
	printf("%s mtu %u\n", how, mtu);
	ret = 0;
out:
	wg_free_device(dev);
	return ret;
}

static int
cmd_segment(int argc, char **argv)
{
	static const char *const keys[] = {"over",   "vni",     "local",  "port",
	                                   "bridge", "address", "remote", NULL};
	static const uint8_t all_zero[KH_MAC_LEN];
	const char *name = argv[0], *v;
	struct kh_vxlan vx = {.learning = false};
	struct kh_fdb fdb = {0};
	struct kh_link over;
	unsigned long n;
	uint32_t vxi, bri, mtu;
	int err;

	argc--;
	argv++;
	if (!opts_known(argc, argv, keys))
		return usage();
	for (const char *const *k = keys; *k; k++)
		if (!opt(argc, argv, *k))
			return usage();
	if (number((v = opt(argc, argv, "vni")), 0xffffff, &n) < 0)
		return bad("not a VNI", v);
	vx.vni = (uint32_t)n;
	if (number((v = opt(argc, argv, "port")), 65535, &n) < 0)
		return bad("not a port", v);
	vx.port = (uint16_t)n;
	if (addr_parse((v = opt(argc, argv, "local")), &vx.local) < 0)
		return bad("not an address", v);
	if (addr_parse((v = opt(argc, argv, "remote")), &fdb.dst) < 0)
		return bad("not an address", v);

	/* The encapsulation is routed into the tunnel, not bound to it: the underlay stays
	 * unset and the MTU is what WireGuard leaves. */
	if (link_index(opt(argc, argv, "over"), &over) != 0)
		return 1;
	if (over.mtu <= VXLAN_OVERHEAD + 68) {
		fprintf(stderr, "khstack: %s MTU %u leaves no room for VXLAN\n", over.name,
		        over.mtu);
		return 1;
	}
	mtu = over.mtu - VXLAN_OVERHEAD;
	err = kh_link_add_vxlan(name, &vx, mtu, &vxi);
	if (err < 0)
		return kh_failed(name, err);
	v = opt(argc, argv, "bridge");
	err = kh_link_add_bridge(v, mtu, &bri);
	if (err < 0)
		return kh_failed(v, err);
	err = kh_link_set_master(vxi, bri);
	if (err == 0)
		err = kh_link_set_up(vxi, true);
	if (err == 0)
		err = kh_link_set_up(bri, true);
	if (err < 0)
		return kh_failed(name, err);
	if (address_add(bri, opt(argc, argv, "address")) != 0)
		return 1;
	fdb.ifindex = vxi;
	memcpy(fdb.mac, all_zero, KH_MAC_LEN);
	err = kh_fdb_append(&fdb);
	if (err < 0)
		return kh_failed(name, err);
	printf("mtu %u\n", mtu);
	return 0;
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
	case KH_OVERLAP_NONE:
		break;
	}
	return "none";
}

/* Reports every collision of route; *blocked when another owner has the very prefix, which
 * netd must not replace. */
static int
collisions(const struct kh_route *route, bool *blocked)
{
	char mine[ADDR_PREFIX_STRLEN], theirs[ADDR_PREFIX_STRLEN];
	struct kh_route *found;
	bool same = false;
	size_t n;
	int err = kh_route_collisions(route, &found, &n);

	if (err < 0)
		return kh_failed("collision check", err);
	addr_prefix_format(&route->dst, mine);
	for (size_t i = 0; i < n; i++) {
		enum kh_overlap o = kh_route_overlap(route, &found[i]);

		printf("collision %s: %s %s table %u proto %u\n", mine, overlap_name(o),
		       addr_prefix_format(&found[i].dst, theirs), found[i].table,
		       found[i].protocol);
		same |= o == KH_OVERLAP_SAME;
	}
	free(found);
	*blocked = same;
	return 0;
}

static int
cmd_routes(int argc, char **argv)
{
	struct kh_route route = {0};
	struct kh_rule rule = {0};
	struct kh_link dev;
	unsigned long table, proto, metric, prio;
	int i, err;

	if (argc < 10 || strcmp(argv[1], "table") || strcmp(argv[3], "proto") ||
	    strcmp(argv[5], "metric") || strcmp(argv[7], "rule"))
		return usage();
	if (number(argv[2], UINT32_MAX, &table) < 0 || table == 0)
		return bad("not a table", argv[2]);
	if (number(argv[4], 255, &proto) < 0)
		return bad("not a protocol number", argv[4]);
	if (number(argv[6], UINT32_MAX, &metric) < 0)
		return bad("not a metric", argv[6]);
	if (number(argv[8], UINT32_MAX, &prio) < 0)
		return bad("not a rule priority", argv[8]);
	if (link_index(argv[0], &dev) != 0)
		return 1;
	route.table = (uint32_t)table;
	route.protocol = (uint8_t)proto;
	route.metric = (uint32_t)metric;
	route.oif = dev.ifindex;
	rule.priority = (uint32_t)prio;
	rule.table = (uint32_t)table;
	rule.protocol = (uint8_t)proto;
	for (i = 9; i < argc; i++) {
		bool blocked = false;

		if (addr_prefix_parse(argv[i], &route.dst) < 0 ||
		    !addr_prefix_is_canonical(&route.dst))
			return bad("not a prefix", argv[i]);
		if (collisions(&route, &blocked) != 0)
			return 1;
		if (blocked) {
			printf("kept %s: another owner's\n", argv[i]);
			continue;
		}
		err = kh_route_replace(&route);
		if (err < 0)
			return kh_failed(argv[i], err);
		rule.family = route.dst.addr.family;
		rule.dst = route.dst;
		err = kh_rule_add(&rule);
		if (err < 0 && err != -EEXIST)
			return kh_failed(argv[i], err);
		printf("installed %s\n", argv[i]);
	}
	return 0;
}

static int
cmd_iface(int argc, char **argv)
{
	static const char *const keys[] = {"address", "gateway", NULL};
	struct kh_link link, lo;
	const char *gw;
	int err;

	if (!opts_known(argc - 1, argv + 1, keys) || !opt(argc - 1, argv + 1, "address"))
		return usage();
	if (link_index("lo", &lo) != 0 || link_index(argv[0], &link) != 0)
		return 1;
	err = kh_link_set_up(lo.ifindex, true);
	if (err == 0)
		err = kh_link_set_up(link.ifindex, true);
	if (err < 0)
		return kh_failed(argv[0], err);
	if (address_add(link.ifindex, opt(argc - 1, argv + 1, "address")) != 0)
		return 1;
	gw = opt(argc - 1, argv + 1, "gateway");
	if (gw) {
		struct kh_route r = {.table = 254, .protocol = 4, .oif = link.ifindex};

		if (addr_parse(gw, &r.gateway) < 0)
			return bad("not an address", gw);
		r.dst.addr.family = r.gateway.family;
		err = kh_route_replace(&r);
		if (err < 0)
			return kh_failed("default route", err);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 2 ? argv[1] : "";

	if (sodium_init() < 0)
		return 1;
	if (!strcmp(cmd, "wireguard"))
		return cmd_wireguard(argc - 2, argv + 2);
	if (!strcmp(cmd, "segment"))
		return cmd_segment(argc - 2, argv + 2);
	if (!strcmp(cmd, "routes"))
		return cmd_routes(argc - 2, argv + 2);
	if (!strcmp(cmd, "iface"))
		return cmd_iface(argc - 2, argv + 2);
	return usage();
}
