/* The mesh's rules, checked on the whole desired state printed as text: admission by trust,
 * trimming to what trust allows, prefix conflicts, suspect and dead sites, NAT keepalive,
 * MTUs, segments and their FDB entries, and an output that does not depend on the view's
 * order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "kernel-helpers/kh.h"
#include "netd/conf.h"
#include "netd/mesh.h"
#include "tests/unit/fake/fixtures.h"

#define S MESH_USEC

static int
group_setup(void **state)
{
	(void)state;
	return fixture_keyfile_create("mesh");
}

static int
group_teardown(void **state)
{
	(void)state;
	return fixture_keyfile_remove();
}

/* The site alpha with two segments and three trusted sites: beta and gamma with their
 * overlay addresses pinned, delta without (its overlay must lie in its prefixes); extra is
 * appended inside the top level (e.g. a routing group or an MTU). */
static struct conf *
load_conf(const char *wg_extra, const char *overlay, const char *extra)
{
	char text[4096];

	snprintf(text, sizeof(text),
	         "site = { name = \"alpha\"; };\n"
	         "wireguard = { interface = \"wg0\"; private_key_file = \"%s\"; %s };\n"
	         "overlay = [ %s ];\n"
	         "prefixes = [ \"10.1.0.0/16\" ];\n"
	         "segments = (\n"
	         "  { name = \"tenant-a\"; vni = 100; ports = [ \"eth1\" ]; },\n"
	         "  { name = \"storage\"; vni = 200; }\n"
	         ");\n"
	         "trust = (\n"
	         "  { name = \"beta\"; public_key = \"%s\";\n"
	         "    prefixes = [ \"10.2.0.0/16\", \"2001:db8:2::/48\" ];\n"
	         "    overlay = [ \"10.99.0.2\", \"fd99::2\" ]; vnis = [ 100 ]; },\n"
	         "  { name = \"gamma\"; public_key = \"%s\";\n"
	         "    prefixes = [ \"10.3.0.0/16\" ]; overlay = [ \"10.99.0.3\", \"fd99::3\" ];\n"
	         "    vnis = [ 100, 200 ]; },\n"
	         "  { name = \"delta\"; public_key = \"%s\";\n"
	         "    prefixes = [ \"10.4.0.0/16\", \"198.51.100.0/24\" ]; }\n"
	         ");\n"
	         "%s",
	         fixture_keyfile, wg_extra, overlay, fixture_pubkey_text(1), fixture_pubkey_text(2),
	         fixture_pubkey_text(3), extra);
	return fixture_conf(text);
}

static struct conf *
default_conf(void)
{
	return load_conf("", "\"10.99.0.1\", \"fd99::1\"", "");
}

/* --- the desired state as text --- */

struct text {
	char buf[8192];
	size_t len;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(t->buf) - t->len);
	t->len += (size_t)n;
}

static void
describe_peers(struct text *t, const struct mesh_desired *d)
{
	char a[ADDR_PREFIX_STRLEN];

	for (size_t i = 0; i < d->npeers; i++) {
		const struct mesh_peer *p = &d->peers[i];

		add(t, "peer %s %s%s", p->site, mesh_state_name(p->state),
		    p->standby ? " standby" : "");
		if (p->endpoint.family)
			add(t, " endpoint %s:%u%s", addr_format(&p->endpoint, a), p->endpoint_port,
			    p->endpoint_roams ? " roams" : "");
		if (p->keepalive)
			add(t, " keepalive %u", p->keepalive);
		for (size_t j = 0; j < p->nallowed; j++)
			add(t, "%s%s", j ? "," : " allowed ",
			    addr_prefix_format(&p->allowed[j], a));
		add(t, "\n");
	}
}

static void
describe_segments(struct text *t, const struct mesh_desired *d)
{
	char a[ADDR_STRLEN];

	for (size_t i = 0; i < d->nsegments; i++) {
		const struct mesh_segment *s = &d->segments[i];

		add(t, "segment %s vni %u %s %s local %s port %u mtu %u", s->name, s->vni, s->vxlan,
		    s->bridge, addr_format(&s->local, a), s->port, s->mtu);
		for (size_t j = 0; j < s->nports; j++)
			add(t, "%s%s", j ? "," : " ports ", s->ports[j]);
		for (size_t j = 0; j < s->nvteps; j++)
			add(t, "%s%s(%s)", j ? "," : " vteps ", addr_format(&s->vteps[j].addr, a),
			    s->vteps[j].site);
		add(t, "\n");
	}
}

/* What a test looks at: peers, routes, rules, segments, reports, or all of it. */
enum part {
	PEERS = 1,
	ROUTES = 2,
	RULES = 4,
	SEGMENTS = 8,
	REPORTS = 16,
	WG = 32,
	FAILCLOSED = 64,
	ALL = 127
};

static void
describe(struct text *t, const struct mesh_desired *d, unsigned parts)
{
	char a[ADDR_PREFIX_STRLEN];

	memset(t, 0, sizeof(*t));
	if (parts & WG) {
		add(t, "wg %s port %u fwmark %u mtu %u", d->wg.name, d->wg.listen_port,
		    d->wg.fwmark, d->wg.mtu);
		for (size_t i = 0; i < d->wg.naddrs; i++)
			add(t, "%s%s", i ? "," : " addrs ", addr_prefix_format(&d->wg.addrs[i], a));
		add(t, "\n");
	}
	if (parts & PEERS)
		describe_peers(t, d);
	if (parts & ROUTES)
		for (size_t i = 0; i < d->nroutes; i++)
			add(t, "route %s table %u proto %u metric %u via %s\n",
			    addr_prefix_format(mesh_route_dst(d, &d->routes[i]), a), d->table,
			    d->protocol, d->metric, d->peers[d->routes[i].peer].site);
	if (parts & RULES)
		for (size_t i = 0; i < d->nrules; i++)
			add(t, "rule %s priority %u table %u proto %u\n",
			    d->rules[i].family == AF_INET6 ? "inet6" : "inet", d->rules[i].priority,
			    d->rules[i].table, d->rules[i].protocol);
	if (parts & SEGMENTS)
		describe_segments(t, d);
	if (parts & FAILCLOSED)
		for (size_t i = 0; i < d->nfailclosed; i++)
			add(t, "unreachable %s table %u proto %u metric %u\n",
			    addr_prefix_format(&d->failclosed[i], a), d->table, d->protocol,
			    d->failclosed_metric);
	if (parts & REPORTS)
		for (size_t i = 0; i < d->nreports; i++)
			add(t, "report %s [%s] %s\n", mesh_report_kind_name(d->reports[i].kind),
			    d->reports[i].site, d->reports[i].text);
}

static void
expect(const struct conf *conf, const struct fixture_site *specs, size_t n,
       const struct mesh_params *params, int64_t now, unsigned parts, const char *want)
{
	struct mesh_desired *d = fixture_compute(conf, specs, n, params, now);
	struct text t;

	describe(&t, d, parts);
	assert_string_equal(t.buf, want);
	mesh_desired_free(d);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- the rules --- */

static void
test_nothing_but_this_site(void **state)
{
	struct conf *conf = default_conf();

	(void)state;
	/* No site seen yet: what they are granted, prefixes and pinned overlay, is fenced all
	 * the same. */
	expect(conf, NULL, 0, NULL, 0, ALL,
	       "wg wg0 port 51820 fwmark 0 mtu 1420 addrs 10.99.0.1/32,fd99::1/128\n"
	       "rule inet priority 32000 table 51820 proto 200\n"
	       "rule inet6 priority 32000 table 51820 proto 200\n"
	       "segment tenant-a vni 100 vxlan100 br-tenant-a local 10.99.0.1 port 4789 mtu "
	       "1370 ports eth1\n"
	       "segment storage vni 200 vxlan200 br-storage local 10.99.0.1 port 4789 mtu "
	       "1370\n"
	       "unreachable 10.2.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.4.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.99.0.2/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.99.0.3/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.0/24 table 51820 proto 200 metric 65535\n"
	       "unreachable 2001:db8:2::/48 table 51820 proto 200 metric 65535\n"
	       "unreachable fd99::2/128 table 51820 proto 200 metric 65535\n"
	       "unreachable fd99::3/128 table 51820 proto 200 metric 65535\n");
	conf_free(conf);
}

static void
test_malformed_claims(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("beta", 1, "192.0.2.2 51820", "10.99.0.2,fd99::2",
	                     "10.2.0.0/16,10.2.5.0/24,2001:db8:2:1::/64,10.2.0.1/16", "100"),
	};
	struct conf *conf = default_conf();

	(void)state;
	expect(conf, view, N(view), NULL, 0, PEERS | SEGMENTS | REPORTS,
	       "peer beta alive endpoint 192.0.2.2:51820 allowed "
	       "10.2.0.0/16,10.2.5.0/24,10.99.0.2/32,2001:db8:2:1::/64,fd99::2/128\n"
	       "segment tenant-a vni 100 vxlan100 br-tenant-a local 10.99.0.1 port 4789 mtu "
	       "1370 ports eth1 vteps 10.99.0.2(beta)\n"
	       "segment storage vni 200 vxlan200 br-storage local 10.99.0.1 port 4789 mtu 1370\n"
	       "report invalid [beta] site beta: prefix 10.2.0.1/16 is not a prefix (host bits "
	       "set)\n");
	conf_free(conf);
}

/* Whatever admission let through (the config keeps grants apart, gossip keeps each site
 * inside its own), an overlay address that is this site's own, lies in this site's prefixes
 * or in another site's grant is never routed. */
static void
test_overlay_denied(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("beta", 1, NULL, "10.1.0.9", "10.2.0.0/16", ""),
	        FIXTURE_SITE("delta", 3, NULL, "10.99.0.3", "", ""), /* gamma's */
	        FIXTURE_SITE("gamma", 2, NULL, "10.99.0.1,fd99::3/64", "", ""),
	};
	struct conf *conf = default_conf();

	(void)state;
	expect(conf, view, N(view), NULL, 0, PEERS | ROUTES | REPORTS,
	       "peer beta alive allowed 10.2.0.0/16\n"
	       "peer delta alive\n"
	       "peer gamma alive\n"
	       "route 10.2.0.0/16 table 51820 proto 200 metric 10 via beta\n"
	       "report overlay-denied [beta] site beta: overlay address 10.1.0.9 lies in this "
	       "site's prefix 10.1.0.0/16\n"
	       "report overlay-denied [delta] site delta: overlay address 10.99.0.3 lies in what "
	       "site gamma may advertise or use as its overlay\n"
	       "report overlay-denied [gamma] site gamma: overlay address 10.99.0.1 is this "
	       "site's own\n"
	       "report invalid [gamma] site gamma: overlay address fd99::3/64 is not a host "
	       "address\n");
	conf_free(conf);
}

/* The federation's fence makes its whole space fail closed, sites admitted by credential and
 * never seen included, less this site's own prefixes and overlay address and the tunnel
 * endpoints in it: a tunnel route to a site inside it is more specific, or the same prefix
 * at a lower metric. */
static void
test_federation_fence(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("beta", 1, "10.77.0.9 51820", "10.99.0.2", "10.2.0.0/16", ""),
	};
	char extra[512];
	struct conf *conf;
	struct mesh_desired *d;
	struct addr_prefix own, endpoint, unseen, tunnel, overlay;
	bool unseen_fenced = false, tunnel_fenced = false;

	(void)state;
	snprintf(extra, sizeof(extra),
	         "federation = { name = \"lab\"; authorities = [ \"%s\" ]; threshold = 1;\n"
	         "  fence = [ \"10.0.0.0/8\" ]; };\n",
	         fixture_pubkey_text(5));
	conf = load_conf("", "\"10.99.0.1\"", extra);
	d = fixture_compute(conf, view, N(view), NULL, 0);
	assert_int_equal(addr_prefix_parse("10.1.0.0/16", &own), 0);
	assert_int_equal(addr_prefix_parse("10.99.0.1/32", &overlay), 0);
	assert_int_equal(addr_prefix_parse("10.77.0.9/32", &endpoint), 0);
	assert_int_equal(addr_prefix_parse("10.200.0.0/16", &unseen), 0);
	assert_int_equal(addr_prefix_parse("10.2.0.0/16", &tunnel), 0);
	for (size_t i = 0; i < d->nfailclosed; i++) {
		const struct addr_prefix *f = &d->failclosed[i];

		assert_false(addr_prefix_overlap(f, &own));
		assert_false(addr_prefix_overlap(f, &overlay));
		assert_false(addr_prefix_overlap(f, &endpoint));
		unseen_fenced |= addr_prefix_contains(f, &unseen);
		tunnel_fenced |= addr_prefix_contains(f, &tunnel);
	}
	assert_true(unseen_fenced);
	assert_true(tunnel_fenced);
	assert_int_equal(d->nroutes, 2); /* beta's prefix and overlay, through its tunnel */
	mesh_desired_free(d);
	conf_free(conf);
}

/* A site that announced its next key gets a second peer with that key, its endpoint and no
 * allowed IPs, after every site's own: its routes stay with the current key's peer. */
static void
test_next_key_standby(void **state)
{
	struct fixture_site view[] = {
	        FIXTURE_SITE("beta", 1, "192.0.2.2 51820", "", "10.2.0.0/16", ""),
	        FIXTURE_SITE("gamma", 2, "192.0.2.3 51820", "", "10.3.0.0/16", ""),
	};
	struct conf *conf = default_conf();
	struct mesh_desired *d;
	uint8_t next[KEY_LEN];

	(void)state;
	view[0].next_key = 4;
	expect(conf, view, N(view), NULL, 0, PEERS | ROUTES,
	       "peer beta alive endpoint 192.0.2.2:51820 allowed 10.2.0.0/16\n"
	       "peer gamma alive endpoint 192.0.2.3:51820 allowed 10.3.0.0/16\n"
	       "peer beta alive standby endpoint 192.0.2.2:51820\n"
	       "route 10.2.0.0/16 table 51820 proto 200 metric 10 via beta\n"
	       "route 10.3.0.0/16 table 51820 proto 200 metric 10 via gamma\n");
	d = fixture_compute(conf, view, N(view), NULL, 0);
	fixture_pubkey(4, next);
	assert_int_equal(d->npeers, 3);
	assert_memory_equal(d->peers[2].public_key, next, KEY_LEN);
	mesh_desired_free(d);
	conf_free(conf);
}

/* The site with the lowest name claims another's VTEP address: the owner keeps its route
 * and its FDB entries, whatever the order of the view. */
static void
test_vtep_hijack(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("gamma", 2, NULL, "10.99.0.3", "10.3.0.0/16", "100"),
	        FIXTURE_SITE("delta", 3, NULL, "10.4.0.7", "10.4.0.0/16", ""),
	        FIXTURE_SITE("beta", 1, NULL, "10.99.0.3", "10.2.0.0/16", "100"),
	};
	static const char want[] =
	        "peer beta alive allowed 10.2.0.0/16\n"
	        "peer delta alive allowed 10.4.0.0/16,10.4.0.7/32\n"
	        "peer gamma alive allowed 10.3.0.0/16,10.99.0.3/32\n"
	        "route 10.2.0.0/16 table 51820 proto 200 metric 10 via beta\n"
	        "route 10.3.0.0/16 table 51820 proto 200 metric 10 via gamma\n"
	        "route 10.4.0.0/16 table 51820 proto 200 metric 10 via delta\n"
	        "route 10.4.0.7/32 table 51820 proto 200 metric 10 via delta\n"
	        "route 10.99.0.3/32 table 51820 proto 200 metric 10 via gamma\n"
	        "segment tenant-a vni 100 vxlan100 br-tenant-a local 10.99.0.1 port 4789 mtu "
	        "1370 ports eth1 vteps 10.99.0.3(gamma)\n"
	        "segment storage vni 200 vxlan200 br-storage local 10.99.0.1 port 4789 mtu 1370\n"
	        "report overlay-denied [beta] site beta: overlay address 10.99.0.3 lies in what "
	        "site gamma may advertise or use as its overlay\n"
	        "report segment [beta] segment tenant-a: site beta joined VNI 100 but has no "
	        "usable IPv4 overlay address\n";
	static const size_t orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {1, 0, 2}};
	struct conf *conf = default_conf();

	(void)state;
	for (size_t o = 0; o < N(orders); o++) {
		struct fixture_site shuffled[3];

		for (size_t i = 0; i < 3; i++)
			shuffled[i] = view[orders[o][i]];
		expect(conf, shuffled, 3, NULL, 0, PEERS | ROUTES | SEGMENTS | REPORTS, want);
	}
	conf_free(conf);
}

/* Defence in depth: should grants overlap after all (the config refuses it; here the
 * config is changed behind its back), an address pinned to one site is still not routed
 * to another whose prefixes hold it, and equal claims keep their deterministic winner. */
static void
test_overlapping_grants(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("delta", 3, NULL, "10.99.0.3", "10.99.0.0/24", ""),
	        FIXTURE_SITE("gamma", 2, NULL, "10.99.0.3", "", ""),
	};
	struct conf *conf = default_conf();
	struct conf_trust *delta = &conf->trust[2];

	(void)state;
	assert_string_equal(delta->name, "delta");
	delta->prefixes[1] = (struct addr_prefix){{AF_INET, {.bytes = {10, 99}}}, 24};
	expect(conf, view, N(view), NULL, 0, PEERS | REPORTS,
	       "peer delta alive allowed 10.99.0.0/24\n"
	       "peer gamma alive allowed 10.99.0.3/32\n"
	       "report overlay-denied [delta] site delta: overlay address 10.99.0.3 lies in what "
	       "site gamma may advertise or use as its overlay\n");
	conf_free(conf);
}

/* A site admitted by credential (no trust entry names it) gets what its grant allows only
 * outside this site's own prefixes and overlay and outside every trust entry's grant: even
 * authorities that signed it anything, a prefix equal to, holding or inside one of those is
 * refused here and reported, never won by name order or by being more specific. */
static void
test_credential_grant_bounded(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("aardvark", 4, "192.0.2.9 51820", "10.99.0.9",
	                     "10.1.7.0/24,10.0.0.0/8,10.2.0.0/16,10.3.5.0/24,10.2.0.0/15,"
	                     "10.99.0.0/30,fd99::/64,10.50.0.0/16",
	                     ""),
	        FIXTURE_SITE("beta", 1, "192.0.2.2 51820", "10.99.0.2", "10.2.0.0/16", ""),
	        FIXTURE_SITE("gamma", 2, "192.0.2.3 51820", "10.99.0.3", "10.3.0.0/16", ""),
	};
	struct conf *conf = default_conf();

	(void)state;
	expect(conf, view, N(view), NULL, 0, PEERS | REPORTS,
	       "peer aardvark alive endpoint 192.0.2.9:51820 allowed 10.50.0.0/16,10.99.0.9/32\n"
	       "peer beta alive endpoint 192.0.2.2:51820 allowed 10.2.0.0/16,10.99.0.2/32\n"
	       "peer gamma alive endpoint 192.0.2.3:51820 allowed 10.3.0.0/16,10.99.0.3/32\n"
	       "report prefix-denied [aardvark] site aardvark: prefix 10.1.7.0/24 overlaps this "
	       "site's prefix 10.1.0.0/16\n"
	       "report prefix-denied [aardvark] site aardvark: prefix 10.0.0.0/8 overlaps this "
	       "site's prefix 10.1.0.0/16\n"
	       "report prefix-denied [aardvark] site aardvark: prefix 10.2.0.0/16 overlaps what "
	       "site beta may advertise or use as its overlay\n"
	       "report prefix-denied [aardvark] site aardvark: prefix 10.3.5.0/24 overlaps what "
	       "site gamma may advertise or use as its overlay\n"
	       "report prefix-denied [aardvark] site aardvark: prefix 10.2.0.0/15 overlaps what "
	       "site beta may advertise or use as its overlay\n"
	       "report prefix-denied [aardvark] site aardvark: prefix 10.99.0.0/30 holds this "
	       "site's overlay address 10.99.0.1\n"
	       "report prefix-denied [aardvark] site aardvark: prefix fd99::/64 holds this site's "
	       "overlay address fd99::1\n");
	conf_free(conf);
}

/* Suspect is not gone; dead keeps everything for the hold; left goes at once. */
static void
test_membership_states(void **state)
{
	static const struct {
		enum mesh_state state;
		int64_t died_at, now;
		bool kept;
	} cases[] = {
	        {MESH_ALIVE, 0, 1000 * S, true},      {MESH_SUSPECT, 0, 1000 * S, true},
	        {MESH_DEAD, 100 * S, 100 * S, true},  {MESH_DEAD, 100 * S, 129 * S, true},
	        {MESH_DEAD, 100 * S, 130 * S, false}, {MESH_DEAD, 100 * S, 1000 * S, false},
	        {MESH_LEFT, 100 * S, 129 * S, true},  {MESH_LEFT, 100 * S, 130 * S, false},
	};
	struct conf *conf = default_conf();
	struct mesh_params params;

	(void)state;
	mesh_params_init(&params);
	params.dead_hold = 30 * S;
	for (size_t i = 0; i < N(cases); i++) {
		struct fixture_site view[] = {
		        {"beta", 1, "192.0.2.2 51820", "10.99.0.2", "10.2.0.0/16", "100",
		         cases[i].state, cases[i].died_at, false, 0},
		        FIXTURE_SITE("gamma", 2, "192.0.2.3 51820", "10.99.0.3", "", "100"),
		};
		struct mesh_desired *d = fixture_compute(conf, view, 2, &params, cases[i].now);
		struct text t;
		char want[2048];

		describe(&t, d, PEERS | ROUTES | SEGMENTS);
		if (cases[i].kept)
			snprintf(want, sizeof(want),
			         "peer beta %s endpoint 192.0.2.2:51820 allowed "
			         "10.2.0.0/16,10.99.0.2/32\n",
			         mesh_state_name(cases[i].state));
		else
			want[0] = '\0';
		strcat(want, "peer gamma alive endpoint 192.0.2.3:51820 allowed 10.99.0.3/32\n");
		if (cases[i].kept)
			strcat(want,
			       "route 10.2.0.0/16 table 51820 proto 200 metric 10 via beta\n"
			       "route 10.99.0.2/32 table 51820 proto 200 metric 10 via beta\n");
		strcat(want, "route 10.99.0.3/32 table 51820 proto 200 metric 10 via gamma\n");
		strcat(want, cases[i].kept ? "segment tenant-a vni 100 vxlan100 br-tenant-a local "
		                             "10.99.0.1 port 4789 mtu 1370 ports eth1 vteps "
		                             "10.99.0.2(beta),10.99.0.3(gamma)\n"
		                           : "segment tenant-a vni 100 vxlan100 br-tenant-a local "
		                             "10.99.0.1 port 4789 mtu 1370 ports eth1 vteps "
		                             "10.99.0.3(gamma)\n");
		strcat(want, "segment storage vni 200 vxlan200 br-storage local 10.99.0.1 port "
		             "4789 mtu 1370\n");
		if (strcmp(t.buf, want) != 0)
			print_error("case %zu (%s)\n", i, mesh_state_name(cases[i].state));
		assert_string_equal(t.buf, want);
		mesh_desired_free(d);
	}
	conf_free(conf);
}

static void
test_nat_keepalive(void **state)
{
	static const struct {
		bool remote, local;
		const char *want;
	} cases[] = {
	        {false, false, "peer beta alive endpoint 192.0.2.2:51820\n"},
	        {true, false, "peer beta alive endpoint 192.0.2.2:51820 roams keepalive 25\n"},
	        {false, true, "peer beta alive endpoint 192.0.2.2:51820 keepalive 25\n"},
	        {true, true, "peer beta alive endpoint 192.0.2.2:51820 roams keepalive 25\n"},
	};
	struct conf *conf = default_conf();
	struct mesh_params params;

	(void)state;
	mesh_params_init(&params);
	for (size_t i = 0; i < N(cases); i++) {
		struct fixture_site view[] = {
		        {"beta", 1, "192.0.2.2 51820", "", "", "", MESH_ALIVE, 0, cases[i].remote,
		         0},
		};

		params.behind_nat = cases[i].local;
		expect(conf, view, 1, &params, 0, PEERS, cases[i].want);
	}
	conf_free(conf);
}

/* The desired state of conf with view, site i relayed through relay_via[i], as text. */
static void
expect_relayed(const struct conf *conf, const struct fixture_site *view,
               const char *const *relay_via, size_t n, const char *want)
{
	struct mesh_desired *d = fixture_compute_relayed(conf, view, relay_via, n, NULL, 0);
	struct text t;

	describe(&t, d, PEERS | ROUTES);
	assert_string_equal(t.buf, want);
	mesh_desired_free(d);
}

/* beta relayed through gamma (then delta through gamma): its prefixes and overlay addresses
 * move to gamma's peer, and its routes with them; its own peer keeps its endpoint, no allowed
 * IPs, and a keepalive that keeps asking for a handshake (7 s: alpha's key is the higher of
 * each pair here; the lower key's end asks every 5 s). Through a relay that is relayed
 * itself, nothing moves: traffic is never sent two relays deep. */
static void
test_relayed_addresses_move(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("beta", 1, "192.0.2.2 51820", "10.99.0.2", "10.2.0.0/16", "100"),
	        FIXTURE_SITE("gamma", 2, "192.0.2.3 51820", "10.99.0.3", "10.3.0.0/16", "100"),
	        FIXTURE_SITE("delta", 3, "192.0.2.4 51820", "", "10.4.0.0/16", ""),
	};
	static const char *const via_gamma[] = {"gamma", NULL, NULL};
	static const char *const via_chain[] = {"gamma", "delta", NULL};
	static const char *const via_delta_gamma[] = {NULL, NULL, "gamma"};
	struct conf *conf = default_conf();

	(void)state;
	expect_relayed(conf, view, via_gamma, N(view),
	               "peer beta alive endpoint 192.0.2.2:51820 keepalive 7\n"
	               "peer delta alive endpoint 192.0.2.4:51820 allowed 10.4.0.0/16\n"
	               "peer gamma alive endpoint 192.0.2.3:51820 allowed "
	               "10.2.0.0/16,10.3.0.0/16,10.99.0.2/32,10.99.0.3/32\n"
	               "route 10.2.0.0/16 table 51820 proto 200 metric 10 via gamma\n"
	               "route 10.3.0.0/16 table 51820 proto 200 metric 10 via gamma\n"
	               "route 10.4.0.0/16 table 51820 proto 200 metric 10 via delta\n"
	               "route 10.99.0.2/32 table 51820 proto 200 metric 10 via gamma\n"
	               "route 10.99.0.3/32 table 51820 proto 200 metric 10 via gamma\n");
	expect_relayed(conf, view, via_chain, N(view),
	               "peer beta alive endpoint 192.0.2.2:51820 allowed 10.2.0.0/16,10.99.0.2/32\n"
	               "peer delta alive endpoint 192.0.2.4:51820 allowed "
	               "10.3.0.0/16,10.4.0.0/16,10.99.0.3/32\n"
	               "peer gamma alive endpoint 192.0.2.3:51820 keepalive 7\n"
	               "route 10.2.0.0/16 table 51820 proto 200 metric 10 via beta\n"
	               "route 10.3.0.0/16 table 51820 proto 200 metric 10 via delta\n"
	               "route 10.4.0.0/16 table 51820 proto 200 metric 10 via delta\n"
	               "route 10.99.0.2/32 table 51820 proto 200 metric 10 via beta\n"
	               "route 10.99.0.3/32 table 51820 proto 200 metric 10 via delta\n");
	expect_relayed(conf, view, via_delta_gamma, N(view),
	               "peer beta alive endpoint 192.0.2.2:51820 allowed 10.2.0.0/16,10.99.0.2/32\n"
	               "peer delta alive endpoint 192.0.2.4:51820 keepalive 7\n"
	               "peer gamma alive endpoint 192.0.2.3:51820 allowed "
	               "10.3.0.0/16,10.4.0.0/16,10.99.0.3/32\n"
	               "route 10.2.0.0/16 table 51820 proto 200 metric 10 via beta\n"
	               "route 10.3.0.0/16 table 51820 proto 200 metric 10 via gamma\n"
	               "route 10.4.0.0/16 table 51820 proto 200 metric 10 via gamma\n"
	               "route 10.99.0.2/32 table 51820 proto 200 metric 10 via beta\n"
	               "route 10.99.0.3/32 table 51820 proto 200 metric 10 via gamma\n");
	conf_free(conf);
}

/* At the end with the lower key the relayed site's own peer asks for a handshake every 5 s,
 * not 7: omega's key (all 0xff bytes) is above alpha's, so alpha is that end here, and the two
 * ends' tries do not cross in step. */
static void
test_relayed_keepalive_lower_end(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("gamma", 2, "192.0.2.3 51820", "10.99.0.3", "10.3.0.0/16", ""),
	        FIXTURE_SITE("omega", 255, "192.0.2.9 51820", "10.99.0.9", "10.9.0.0/16", ""),
	};
	static const char *const via_gamma[] = {NULL, "gamma"};
	struct conf *conf = default_conf();

	(void)state;
	expect_relayed(conf, view, via_gamma, N(view),
	               "peer gamma alive endpoint 192.0.2.3:51820 allowed "
	               "10.3.0.0/16,10.9.0.0/16,10.99.0.3/32,10.99.0.9/32\n"
	               "peer omega alive endpoint 192.0.2.9:51820 keepalive 5\n"
	               "route 10.3.0.0/16 table 51820 proto 200 metric 10 via gamma\n"
	               "route 10.9.0.0/16 table 51820 proto 200 metric 10 via gamma\n"
	               "route 10.99.0.3/32 table 51820 proto 200 metric 10 via gamma\n"
	               "route 10.99.0.9/32 table 51820 proto 200 metric 10 via gamma\n");
	conf_free(conf);
}

static void
test_mtu(void **state)
{
	static const struct {
		const char *wg_extra, *overlay;
		uint32_t underlay;
		const char *want;
	} cases[] = {
	        {"", "\"10.99.0.1\"", 1500,
	         "wg wg0 port 51820 fwmark 0 mtu 1420 addrs 10.99.0.1/32\nvxlan 1370\n"},
	        {"", "\"10.99.0.1\"", 9000,
	         "wg wg0 port 51820 fwmark 0 mtu 8920 addrs 10.99.0.1/32\nvxlan 8870\n"},
	        {"mtu = 1400;", "\"10.99.0.1\"", 9000,
	         "wg wg0 port 51820 fwmark 0 mtu 1400 addrs 10.99.0.1/32\nvxlan 1350\n"},
	        /* An IPv6 VTEP's encapsulation takes 20 bytes more. */
	        {"", "\"fd99::1\"", 1500,
	         "wg wg0 port 51820 fwmark 0 mtu 1420 addrs fd99::1/128\nvxlan 1350\n"},
	        {"", "\"10.99.0.1\"", 1300,
	         "wg wg0 port 51820 fwmark 0 mtu 1220 addrs 10.99.0.1/32\nvxlan 1170\n"
	         "report mtu [] WireGuard MTU 1220 (underlay 1300 - 80) is below 1280, which "
	         "IPv6 needs\n"},
	        {"", "\"10.99.0.1\"", 80,
	         "wg wg0 port 51820 fwmark 0 mtu 0 addrs 10.99.0.1/32\nvxlan 0\n"
	         "report mtu [] underlay MTU 80 leaves no room for WireGuard: its MTU is left "
	         "as it is\n"},
	};
	struct mesh_params params;

	(void)state;
	mesh_params_init(&params);
	for (size_t i = 0; i < N(cases); i++) {
		struct conf *conf = load_conf(cases[i].wg_extra, cases[i].overlay, "");
		struct mesh_desired *d;
		struct text t, r;

		params.underlay_mtu = cases[i].underlay;
		d = fixture_compute(conf, NULL, 0, &params, 0);
		describe(&t, d, WG);
		add(&t, "vxlan %u\n", d->segments[0].mtu);
		describe(&r, d, REPORTS);
		add(&t, "%s", r.buf);
		assert_string_equal(t.buf, cases[i].want);
		mesh_desired_free(d);
		conf_free(conf);
	}
}

/* Each segment floods to the sites that joined its VNI, and to no other. */
static void
test_segments(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("delta", 3, NULL, "10.4.0.4", "", ""),
	        FIXTURE_SITE("gamma", 2, NULL, "10.99.0.3", "", "100,200"),
	        FIXTURE_SITE("beta", 1, NULL, "10.99.0.2", "", "100"),
	};
	struct conf *conf = default_conf();

	(void)state;
	expect(conf, view, N(view), NULL, 0, SEGMENTS | REPORTS,
	       "segment tenant-a vni 100 vxlan100 br-tenant-a local 10.99.0.1 port 4789 mtu 1370 "
	       "ports eth1 vteps 10.99.0.2(beta),10.99.0.3(gamma)\n"
	       "segment storage vni 200 vxlan200 br-storage local 10.99.0.1 port 4789 mtu 1370 "
	       "vteps 10.99.0.3(gamma)\n");
	conf_free(conf);
}

/* A path MTU below the tunnel's: that peer's routes carry it, the segments it joined shrink
 * to it less VXLAN's overhead; a path at the tunnel's MTU leaves routes at the device's. */
static void
test_path_mtu(void **state)
{
	struct conf *conf = default_conf();
	struct mesh_site sites[2] = {
	        {.name = "beta", .path_mtu = 1420},
	        {.name = "gamma", .path_mtu = 1340},
	};
	static const uint32_t vnis[] = {100, 200};
	uint8_t keys[2][KEY_LEN];
	struct addr_prefix overlays[2];
	struct mesh_params params;
	struct mesh_desired *d;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		fixture_pubkey((int)i + 1, keys[i]);
		sites[i].public_key = keys[i];
		assert_int_equal(addr_prefix_parse(i ? "10.99.0.3" : "10.99.0.2", &overlays[i]), 0);
		sites[i].overlay = &overlays[i];
		sites[i].noverlay = 1;
		sites[i].vnis = vnis;
		sites[i].nvnis = i ? 2 : 1;
	}
	mesh_params_init(&params);
	assert_int_equal(mesh_compute(conf, sites, 2, &params, 0, &d), 0);
	assert_int_equal(d->npeers, 2);
	assert_int_equal(d->peers[0].path_mtu, 1420);
	assert_int_equal(d->peers[1].path_mtu, 1340);
	for (size_t i = 0; i < d->nroutes; i++)
		assert_int_equal(mesh_route_mtu(d, &d->routes[i]),
		                 d->routes[i].peer == 1 ? 1340 : 0);
	assert_int_equal(d->nsegments, 2);
	assert_int_equal(d->segments[0].mtu, 1340 - MESH_VXLAN_OVERHEAD);
	assert_int_equal(d->segments[1].mtu, 1340 - MESH_VXLAN_OVERHEAD);
	mesh_desired_free(d);
	/* Not known: assumed, the tunnel's. */
	sites[1].path_mtu = 0;
	assert_int_equal(mesh_compute(conf, sites, 2, &params, 0, &d), 0);
	assert_int_equal(d->peers[1].path_mtu, 1420);
	assert_int_equal(d->segments[1].mtu, 1370);
	mesh_desired_free(d);
	/* The way back counts for a segment, not for routes. */
	sites[0].return_path_mtu = 1300;
	assert_int_equal(mesh_compute(conf, sites, 2, &params, 0, &d), 0);
	assert_int_equal(d->peers[0].path_mtu, 1420);
	assert_int_equal(d->segments[0].mtu, 1300 - MESH_VXLAN_OVERHEAD);
	assert_int_equal(d->segments[1].mtu, 1370);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A prefix that holds a tunnel endpoint would route the tunnel into itself. */
static void
test_loop(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("delta", 3, "198.51.100.7 51820", "10.4.0.4",
	                     "198.51.100.0/24,10.4.0.0/16", ""),
	        FIXTURE_SITE("beta", 1, "10.4.1.1 51820", "10.99.0.2", "", ""),
	};
	struct conf *conf = default_conf();

	(void)state;
	expect(conf, view, N(view), NULL, 0, PEERS | REPORTS,
	       "peer beta alive endpoint 10.4.1.1:51820 allowed 10.99.0.2/32\n"
	       "peer delta alive endpoint 198.51.100.7:51820 allowed 10.4.0.4/32\n"
	       "report loop [delta] site delta: 10.4.0.0/16 holds the tunnel endpoint 10.4.1.1 "
	       "of site beta: routed into the tunnel it would loop\n"
	       "report loop [delta] site delta: 198.51.100.0/24 holds the tunnel endpoint "
	       "198.51.100.7 of site delta: routed into the tunnel it would loop\n");
	conf_free(conf);
}

/* Fail closed: every grant of every trust entry, prefixes and pinned overlay, whatever the view
 * says of its site -- alive, withdrawn or absent -- and nothing else: not an
 * overlay address outside every grant (an untrusted site's, this site's, one the mesh
 * refuses). delta pins no overlay, so its overlay address lies in its prefixes and is fenced
 * with them. Tunnel endpoints and seeds inside a grant are left out (the tunnels and gossip
 * would be refused too); the metric is worse than the tunnel routes'. */
static void
test_failclosed(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("beta", 1, "192.0.2.2 51820", "10.99.0.2,fd99::2", "10.2.0.0/16", ""),
	        {"delta", 3, "198.51.100.7 51820", "10.4.0.4", "10.4.0.0/16", "", MESH_DEAD, 0,
	         false, 0}, /* withdrawn */
	        FIXTURE_SITE("alpha", 7, "192.0.2.1 51820", "10.99.0.7", "10.1.0.0/16",
	                     ""), /* this site */
	};
	static const struct fixture_site refused[] = {
	        FIXTURE_SITE("beta", 1, "192.0.2.2 51820", "10.1.0.9", "",
	                     ""), /* in this site's prefix */
	};
	struct conf *conf = load_conf("", "\"10.99.0.1\"",
	                              "gossip = { seeds = [ \"198.51.100.6:7946\" ]; };\n");
	struct mesh_params params;

	(void)state;
	mesh_params_init(&params);
	params.dead_hold = 30 * S;
	/* delta's endpoint 198.51.100.7 and the seed 198.51.100.6 are holes in its grant
	 * 198.51.100.0/24: 198.51.100.6/31 is carved out, the rest in halves around it. */
	expect(conf, view, N(view), &params, 100 * S, ROUTES | FAILCLOSED,
	       "route 10.2.0.0/16 table 51820 proto 200 metric 10 via beta\n"
	       "route 10.99.0.2/32 table 51820 proto 200 metric 10 via beta\n"
	       "route fd99::2/128 table 51820 proto 200 metric 10 via beta\n"
	       "unreachable 10.2.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.4.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.99.0.2/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.99.0.3/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.0/30 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.4/31 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.8/29 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.16/28 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.32/27 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.64/26 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.128/25 table 51820 proto 200 metric 65535\n"
	       "unreachable 2001:db8:2::/48 table 51820 proto 200 metric 65535\n"
	       "unreachable fd99::2/128 table 51820 proto 200 metric 65535\n"
	       "unreachable fd99::3/128 table 51820 proto 200 metric 65535\n");
	/* An overlay address the mesh refuses is not fenced: it is this site's. beta's own
	 * grant is, though beta does not use it now. */
	expect(conf, refused, N(refused), &params, 0, FAILCLOSED,
	       "unreachable 10.2.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.4.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.99.0.2/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.99.0.3/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.0/30 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.4/31 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.7/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.8/29 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.16/28 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.32/27 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.64/26 table 51820 proto 200 metric 65535\n"
	       "unreachable 198.51.100.128/25 table 51820 proto 200 metric 65535\n"
	       "unreachable 2001:db8:2::/48 table 51820 proto 200 metric 65535\n"
	       "unreachable fd99::2/128 table 51820 proto 200 metric 65535\n"
	       "unreachable fd99::3/128 table 51820 proto 200 metric 65535\n");
	conf_free(conf);
}

/* A site the view does not hold -- never seen, or forgotten across a restart (the dead are not
 * saved) -- has its pinned overlay fenced from its trust entry alone: a range grant whole, less
 * the seeds and the other sites' tunnel endpoints inside it. The view changes only those
 * holes, never what beta's trust entry fences. */
static void
test_failclosed_unseen(void **state)
{
	static const struct fixture_site endpoint_inside[] = {
	        FIXTURE_SITE("gamma", 2, "10.98.2.1 51820", "10.3.0.3", "10.3.0.0/16", ""),
	};
	static const struct fixture_site beta_back[] = {
	        FIXTURE_SITE("beta", 1, "192.0.2.2 51820", "10.98.2.3", "10.2.0.0/16", ""),
	};
	char text[2048];
	struct conf *conf;

	(void)state;
	snprintf(text, sizeof(text),
	         "site = { name = \"alpha\"; };\n"
	         "wireguard = { interface = \"wg0\"; private_key_file = \"%s\"; };\n"
	         "overlay = [ \"10.99.0.1\" ];\n"
	         "prefixes = [ \"10.1.0.0/16\" ];\n"
	         "gossip = { seeds = [ \"10.98.2.5:7946\" ]; };\n"
	         "trust = (\n"
	         "  { name = \"beta\"; public_key = \"%s\"; prefixes = [ \"10.2.0.0/16\" ];\n"
	         "    overlay = [ \"10.98.2.0/29\", \"fd98::2\" ]; },\n"
	         "  { name = \"gamma\"; public_key = \"%s\"; prefixes = [ \"10.3.0.0/16\" ]; }\n"
	         ");\n",
	         fixture_keyfile, fixture_pubkey_text(1), fixture_pubkey_text(2));
	conf = fixture_conf(text);
	/* The seed 10.98.2.5 is carved out of 10.98.2.0/29. */
	expect(conf, NULL, 0, NULL, 0, FAILCLOSED,
	       "unreachable 10.2.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.98.2.0/30 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.98.2.4/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.98.2.6/31 table 51820 proto 200 metric 65535\n"
	       "unreachable fd98::2/128 table 51820 proto 200 metric 65535\n");
	/* gamma's tunnel endpoint 10.98.2.1 too. */
	expect(conf, endpoint_inside, N(endpoint_inside), NULL, 0, FAILCLOSED,
	       "unreachable 10.2.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.98.2.0/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.98.2.2/31 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.98.2.4/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.98.2.6/31 table 51820 proto 200 metric 65535\n"
	       "unreachable fd98::2/128 table 51820 proto 200 metric 65535\n");
	/* beta in the view using 10.98.2.3 adds nothing: the grant holds it already. */
	expect(conf, beta_back, N(beta_back), NULL, 0, ROUTES | FAILCLOSED,
	       "route 10.2.0.0/16 table 51820 proto 200 metric 10 via beta\n"
	       "route 10.98.2.3/32 table 51820 proto 200 metric 10 via beta\n"
	       "unreachable 10.2.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.98.2.0/30 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.98.2.4/32 table 51820 proto 200 metric 65535\n"
	       "unreachable 10.98.2.6/31 table 51820 proto 200 metric 65535\n"
	       "unreachable fd98::2/128 table 51820 proto 200 metric 65535\n");
	conf_free(conf);
}

static void
test_duplicate_and_nameless(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("beta", 1, NULL, "10.99.0.2", "", ""),
	        FIXTURE_SITE("gamma", 2, NULL, "10.99.0.3", "", ""),
	        FIXTURE_SITE("beta", 1, NULL, "10.99.0.9", "", ""),
	        FIXTURE_SITE("", 1, NULL, "", "", ""),
	};
	struct conf *conf = default_conf();

	(void)state;
	expect(conf, view, N(view), NULL, 0, PEERS | REPORTS,
	       "peer gamma alive allowed 10.99.0.3/32\n"
	       "report invalid [] a site of the view has no name\n"
	       "report invalid [beta] site beta: 2 entries of that name in the view; none is "
	       "used\n");
	conf_free(conf);
}

static void
test_rules_and_routing(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("beta", 1, NULL, "10.99.0.2", "10.2.0.0/16", "")};
	struct conf *conf = load_conf("fwmark = 0x51820; listen_port = 51000;", "\"10.99.0.1\"",
	                              "routing = { table = \"main\"; protocol = 201; };\n");
	struct mesh_params params;

	(void)state;
	mesh_params_init(&params);
	params.route_metric = 50;
	/* The main table needs no rule. */
	expect(conf, view, N(view), &params, 0, WG | ROUTES | RULES,
	       "wg wg0 port 51000 fwmark 333856 mtu 1420 addrs 10.99.0.1/32\n"
	       "route 10.2.0.0/16 table 254 proto 201 metric 50 via beta\n"
	       "route 10.99.0.2/32 table 254 proto 201 metric 50 via beta\n");
	conf_free(conf);
	/* Another table: a rule per family the config routes (beta's IPv6 prefix counts). */
	conf = load_conf("", "\"10.99.0.1\"", "routing = { table = 100; };\n");
	params.rule_priority = 900;
	expect(conf, view, N(view), &params, 0, RULES,
	       "rule inet priority 900 table 100 proto 200\n"
	       "rule inet6 priority 900 table 100 proto 200\n");
	conf_free(conf);
}

/* The same view in any order gives the same state, down to the reports. */
static void
test_deterministic(void **state)
{
	static const struct fixture_site view[] = {
	        FIXTURE_SITE("gamma", 2, "192.0.2.3 51820", "10.99.0.3", "10.3.0.0/16,10.3.1.0/24",
	                     "200,100"),
	        {"beta", 1, "192.0.2.2 51820", "10.99.0.2,fd99::2", "2001:db8:2::/48,10.2.0.0/16",
	         "100", MESH_SUSPECT, 0, false, 0},
	        {"delta", 3, "192.0.2.4 51820", "10.99.0.3", "10.4.0.0/16,10.5.0.0/16", "",
	         MESH_DEAD, 0, true, 0},
	        FIXTURE_SITE("zeta", 5, NULL, "", "", ""),
	};
	struct conf *conf = default_conf();
	struct text first;

	(void)state;
	for (unsigned perm = 0; perm < 24; perm++) {
		struct fixture_site shuffled[4];
		bool used[4] = {false};
		unsigned rest = perm;
		struct mesh_desired *d;
		struct text t;

		/* The perm-th permutation in the factorial number system. */
		for (size_t i = 0; i < 4; i++) {
			size_t k = rest % (4 - i), j = 0;

			rest /= (unsigned)(4 - i);
			for (j = 0; used[j] || k-- > 0; j++)
				;
			used[j] = true;
			shuffled[i] = view[j];
		}
		d = fixture_compute(conf, shuffled, 4, NULL, 10 * S);
		describe(&t, d, ALL);
		if (perm == 0)
			first = t;
		else
			assert_string_equal(t.buf, first.buf);
		mesh_desired_free(d);
	}
	conf_free(conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_nothing_but_this_site),
	        cmocka_unit_test(test_malformed_claims),
	        cmocka_unit_test(test_overlay_denied),
	        cmocka_unit_test(test_next_key_standby),
	        cmocka_unit_test(test_federation_fence),
	        cmocka_unit_test(test_vtep_hijack),
	        cmocka_unit_test(test_overlapping_grants),
	        cmocka_unit_test(test_credential_grant_bounded),
	        cmocka_unit_test(test_membership_states),
	        cmocka_unit_test(test_nat_keepalive),
	        cmocka_unit_test(test_relayed_addresses_move),
	        cmocka_unit_test(test_relayed_keepalive_lower_end),
	        cmocka_unit_test(test_mtu),
	        cmocka_unit_test(test_segments),
	        cmocka_unit_test(test_path_mtu),
	        cmocka_unit_test(test_loop),
	        cmocka_unit_test(test_failclosed),
	        cmocka_unit_test(test_failclosed_unseen),
	        cmocka_unit_test(test_duplicate_and_nameless),
	        cmocka_unit_test(test_rules_and_routing),
	        cmocka_unit_test(test_deterministic),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
