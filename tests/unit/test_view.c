/* The membership view: the descriptor and trust table a config gives gossip, and gossip's
 * members as the mesh and the state file take them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "netd/conf.h"
#include "netd/gossip.h"
#include "netd/key.h"
#include "netd/seal.h"
#include "netd/seen.h"
#include "netd/view.h"
#include "tests/unit/heap.h"

static char dir[] = "/tmp/netd-view-XXXXXX";
static char key_file[64];
static uint8_t beta_priv[KEY_LEN];
static char beta_pub[KEY_BASE64_SIZE];

/* A config of site alpha with the lines given, its private key in key_file. */
static struct conf *
load(const char *lines)
{
	struct conf_errors errs = {0};
	char text[2048];
	struct conf *conf;

	snprintf(text, sizeof(text),
	         "site = { name = \"alpha\"; };\n"
	         "wireguard = { private_key_file = \"%s\"; listen_port = 51821; };\n%s",
	         key_file, lines);
	conf = conf_load_string(text, "view.conf", &errs);
	for (size_t i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	conf_errors_free(&errs);
	assert_non_null(conf);
	return conf;
}

static void
test_public_address(void **state)
{
	static const struct {
		const char *lines;
		const char *want; /* NULL: none */
	} cases[] = {
	        {"gossip = { bind = \"198.51.100.1:7000\"; };\n", "198.51.100.1:7000"},
	        {"gossip = { bind = \"0.0.0.0:7000\"; };\n", NULL},
	        {"gossip = { bind = \"[::]:7000\"; };\n", NULL},
	        /* advertise names the address, the bind address the port */
	        {"gossip = { bind = \"0.0.0.0:7000\"; advertise = \"192.0.2.9\"; };\n",
	         "192.0.2.9:7000"},
	        {"gossip = { bind = \"[::]:7000\"; advertise = \"2001:db8::9\"; };\n",
	         "[2001:db8::9]:7000"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *conf = load(cases[i].lines);
		struct addr_endpoint ep;
		char buf[ADDR_ENDPOINT_STRLEN];
		bool have = view_public_address(conf, &ep);

		if (have != (cases[i].want != NULL) ||
		    (have && strcmp(addr_endpoint_format(&ep, buf), cases[i].want) != 0))
			fail_msg("case %zu: %s, want %s", i, have ? buf : "none",
			         cases[i].want ? cases[i].want : "none");
		conf_free(conf);
	}
}

static void
test_descriptor(void **state)
{
	struct conf *conf = load("gossip = { bind = \"198.51.100.1:7000\"; };\n"
	                         "overlay = [ \"10.99.0.1\" ];\n"
	                         "prefixes = [ \"10.1.0.0/16\", \"10.11.0.0/16\" ];\n"
	                         "segments = ( { name = \"a\"; vni = 100; },\n"
	                         "             { name = \"b\"; vni = 200; } );\n");
	struct wire_desc d;
	char buf[ADDR_ENDPOINT_STRLEN];

	(void)state;
	view_descriptor(conf, &d);
	assert_string_equal(d.name, "alpha");
	assert_string_equal(addr_endpoint_format(&d.gossip, buf), "198.51.100.1:7000");
	/* WireGuard is reached at the same address, on its own port. */
	assert_int_equal(d.nendpoints, 1);
	assert_string_equal(addr_endpoint_format(&d.endpoints[0], buf), "198.51.100.1:51821");
	assert_int_equal(d.noverlay, 1);
	assert_string_equal(addr_prefix_format(&d.overlay[0], buf), "10.99.0.1/32");
	assert_int_equal(d.nprefixes, 2);
	assert_string_equal(addr_prefix_format(&d.prefixes[1], buf), "10.11.0.0/16");
	assert_int_equal(d.nvnis, 2);
	assert_int_equal(d.vnis[1], 200);
	conf_free(conf);

	/* Behind a wildcard with nothing advertised: no address to give. */
	conf = load("gossip = { bind = \"0.0.0.0:7000\"; };\n");
	view_descriptor(conf, &d);
	assert_int_equal(d.nendpoints, 0);
	conf_free(conf);

	/* Behind NAT: its own address reaches nobody, so it is not published (gossip adds what
	 * others see); the flags and the accepted relays are. */
	conf = load("gossip = { bind = \"172.16.2.2:7000\"; };\n");
	conf->wg.behind_nat = true;
	conf->wg.relay = true;
	strcpy(conf->wg.relays[0], "hub");
	conf->wg.nrelays = 1;
	view_descriptor(conf, &d);
	assert_int_equal(d.nendpoints, 0);
	assert_string_equal(addr_endpoint_format(&d.gossip, buf), "172.16.2.2:7000");
	assert_int_equal(d.flags, WIRE_DESC_NAT | WIRE_DESC_RELAY);
	assert_int_equal(d.nrelays, 1);
	assert_string_equal(d.relays[0], "hub");
	conf_free(conf);
}

static void
cb_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)arg;
	(void)to;
	(void)buf;
	(void)len;
}

static void
cb_event(void *arg, const struct gossip_event *ev)
{
	(void)arg;
	(void)ev;
}

/* alpha's gossip under conf and trust, its descriptor written to self (which it keeps). */
static struct gossip *
alpha_gossip(const struct conf *conf, const struct gossip_trust *trust, struct wire_desc *self)
{
	struct gossip_config cfg = {0};
	struct gossip *g;
	char err[256];

	view_descriptor(conf, self);
	cfg.name = "alpha";
	cfg.private_key = conf->wg.private_key;
	cfg.session = 1;
	cfg.incarnation = 1;
	cfg.desc = self;
	cfg.profile = conf->gossip.timing;
	cfg.trust = trust;
	cfg.cb = (struct gossip_callbacks){cb_send, cb_event, NULL};
	g = gossip_new(&cfg, err, sizeof(err));
	assert_non_null(g);
	return g;
}

/* d, whose name and content are written, signed with priv as its site signs it. */
static void
sign_desc(struct wire_desc *d, const uint8_t priv[KEY_LEN])
{
	struct seal *seal = seal_new(d->name, priv, 1);
	uint8_t buf[WIRE_DATAGRAM_MAX];
	int len;

	assert_non_null(seal);
	memcpy(d->wg_key, seal_public_key(seal), KEY_LEN);
	memcpy(d->sign_key, seal_sign_key(seal), KEY_LEN);
	len = wire_desc_signed_bytes(d, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(seal_sign(seal, buf, (size_t)len, d->sig), 0);
	seal_free(seal);
}

/* beta's descriptor as beta signs it: it claims 10.2.0.0/16 and 10.3.0.0/16, VNI 100. */
static void
beta_desc(struct wire_desc *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->name, "beta");
	d->incarnation = 3;
	assert_int_equal(addr_parse("192.0.2.2", &d->gossip.addr), 0);
	d->gossip.port = 7946;
	assert_int_equal(addr_prefix_parse("10.2.0.0/16", &d->prefixes[0]), 0);
	assert_int_equal(addr_prefix_parse("10.3.0.0/16", &d->prefixes[1]), 0);
	d->nprefixes = 2;
	d->vnis[0] = 100;
	d->nvnis = 1;
	sign_desc(d, beta_priv);
}

/* beta, remembered, is taken into the view and reaches the mesh with what its trust entry
 * grants; a remembered descriptor whose signature fails is not taken. */
static void
test_members(void **state)
{
	char lines[512];
	struct conf *conf;
	struct gossip_trust *trust;
	struct wire_desc self, remembered[2];
	struct gossip_desc *held[2];
	struct state carried = {0};
	struct mesh_site sites[2];
	struct view_room rooms[2];
	struct gossip *g;
	int64_t hold_end = -1;
	size_t n;
	char buf[ADDR_PREFIX_STRLEN];

	(void)state;
	snprintf(lines, sizeof(lines),
	         "trust = ( { name = \"beta\"; public_key = \"%s\";\n"
	         "            prefixes = [ \"10.2.0.0/16\" ]; vnis = [ 100 ]; } );\n",
	         beta_pub);
	conf = load(lines);
	trust = view_trust(conf);
	assert_non_null(trust);
	assert_int_equal(gossip_trust_count(trust), 1);
	g = alpha_gossip(conf, trust, &self);

	beta_desc(&remembered[0]);
	remembered[1] = remembered[0];
	remembered[1].sig[0] ^= 1;
	for (size_t i = 0; i < 2; i++)
		assert_non_null(held[i] = gossip_desc_new(&remembered[i]));
	view_adopt(g, &(struct state){.members = &held[1], .nmembers = 1}, 0);
	assert_int_equal(view_mesh_sites(g, &conf->policy, 0, 0, sites, rooms, &hold_end), 0);
	view_adopt(g, &(struct state){.members = &held[0], .nmembers = 1}, 0);
	for (size_t i = 0; i < 2; i++)
		gossip_desc_unref(held[i]);

	n = view_mesh_sites(g, &conf->policy, 30 * MESH_USEC, 0, sites, rooms, &hold_end);
	assert_int_equal(n, 1);
	assert_int_equal(hold_end, 0);
	assert_string_equal(sites[0].name, "beta");
	assert_int_equal(sites[0].state, MESH_ALIVE);
	assert_memory_equal(sites[0].public_key, remembered[0].wg_key, KEY_LEN);
	/* 10.3.0.0/16 is not beta's to claim. */
	assert_int_equal(sites[0].nprefixes, 1);
	assert_string_equal(addr_prefix_format(&sites[0].prefixes[0], buf), "10.2.0.0/16");
	assert_int_equal(sites[0].nvnis, 1);
	/* No endpoint in the descriptor: beta is behind NAT. */
	assert_true(sites[0].behind_nat);

	/* What is remembered is what beta said, refused part included: beta signed that. */
	assert_int_equal(view_carry(g, &carried), 0);
	assert_int_equal(carried.nmembers, 1);
	assert_int_equal(carried.members[0]->d.nprefixes, 2);
	assert_int_equal(carried.ncreds, 0);
	assert_int_equal(carried.nrevocations, 0);
	state_clear(&carried);

	gossip_free(g);
	gossip_trust_free(trust);
	conf_free(conf);
}

/* beta's lists reach the mesh as its descriptor holds them, its room not written (a run's
 * rooms stay off the resident set); with a narrow entry for beta, they are written to its
 * room, and an entry that keeps nothing keeps nothing. */
static void
test_rooms_only_when_narrowed(void **state)
{
	static const char *const narrow[] = {
	        "",
	        "policy = { narrow = ( { site = \"beta\"; prefixes = [ \"10.0.0.0/8\" ]; } ); };\n",
	        "policy = { narrow = ( { site = \"beta\"; prefixes = [ \"10.9.0.0/16\" ]; } ); "
	        "};\n",
	};

	(void)state;
	for (size_t v = 0; v < sizeof(narrow) / sizeof(narrow[0]); v++) {
		char lines[768], buf[ADDR_PREFIX_STRLEN];
		struct wire_desc self, beta;
		struct gossip_desc *held;
		struct mesh_site sites[1];
		struct view_room rooms[1];
		struct gossip_trust *trust;
		struct conf *conf;
		struct gossip *g;
		int64_t hold_end;
		const uint8_t *room_bytes = (const uint8_t *)rooms;

		snprintf(lines, sizeof(lines),
		         "trust = ( { name = \"beta\"; public_key = \"%s\";\n"
		         "            prefixes = [ \"10.2.0.0/16\" ]; vnis = [ 100 ]; } );\n%s",
		         beta_pub, narrow[v]);
		conf = load(lines);
		assert_non_null(trust = view_trust(conf));
		g = alpha_gossip(conf, trust, &self);
		beta_desc(&beta);
		assert_non_null(held = gossip_desc_new(&beta));
		view_adopt(g, &(struct state){.members = &held, .nmembers = 1}, 0);
		gossip_desc_unref(held);

		memset(rooms, 0xa5, sizeof(rooms));
		assert_int_equal(view_mesh_sites(g, &conf->policy, 0, 0, sites, rooms, &hold_end),
		                 1);
		assert_int_equal(sites[0].nvnis, 1);
		assert_int_equal(sites[0].vnis[0], 100);
		assert_ptr_not_equal(sites[0].vnis, rooms[0].vnis);
		if (v == 0) {
			assert_ptr_not_equal(sites[0].prefixes, rooms[0].prefixes);
			for (size_t i = 0; i < sizeof(rooms); i++)
				assert_int_equal(room_bytes[i], 0xa5);
		} else {
			assert_ptr_equal(sites[0].prefixes, rooms[0].prefixes);
		}
		if (v < 2) {
			assert_int_equal(sites[0].nprefixes, 1);
			assert_string_equal(addr_prefix_format(&sites[0].prefixes[0], buf),
			                    "10.2.0.0/16");
		} else {
			assert_int_equal(sites[0].nprefixes, 0);
		}
		gossip_free(g);
		gossip_trust_free(trust);
		conf_free(conf);
	}
}

#define FOOTPRINT_SITES 256

/* The endpoint a kept peer shows for peer i of a read, i % 3 being 1 (IPv4) or 2 (IPv6). */
static const char *
kept_endpoint(size_t i, char buf[ADDR_ENDPOINT_STRLEN])
{
	snprintf(buf, ADDR_ENDPOINT_STRLEN, i % 3 == 1 ? "192.0.2.%zu:%zu" : "[2001:db8::%zx]:%zu",
	         i % 250 + 1, 5000 + i);
	return buf;
}

/* The once-a-second work on a device read of every member's peer, sorted by key as netd sorts
 * it and kept as its figures: each member finds its own peer's by key (a device left
 * unsorted loses most), its handshake to the microsecond (none for a peer that never
 * handshook) and its endpoint (none, IPv4, IPv6); a key the read does not hold finds none,
 * and so does no read. */
static void
sorted_device_lookups(struct gossip *g, const struct wire_desc *descs)
{
	struct wg_device *dev = wg_device_new("wg0");
	struct path_site *ps = calloc(FOOTPRINT_SITES, sizeof(*ps));
	struct seen_device *seen;
	size_t n;

	assert_non_null(dev);
	assert_non_null(ps);
	for (size_t i = 0; i < FOOTPRINT_SITES; i++) {
		struct wg_peer *p = wg_device_add_peer(dev);

		assert_non_null(p);
		memcpy(p->public_key, descs[i].wg_key, KEY_LEN);
		p->rx_bytes = 1000 + i;
		/* Site 0's peer never handshook: a zero second with nanoseconds is still never. */
		p->last_handshake.tv_sec = (time_t)(i == 0 ? 0 : 100 + i);
		p->last_handshake.tv_nsec = 500000;
		if (i % 3 == 1) {
			p->endpoint.sin.sin_family = AF_INET;
			p->endpoint.sin.sin_port = htons((uint16_t)(5000 + i));
			p->endpoint.sin.sin_addr.s_addr =
			        htonl(0xc0000200u + (uint32_t)(i % 250 + 1));
		} else if (i % 3 == 2) {
			p->endpoint.sin6.sin6_family = AF_INET6;
			p->endpoint.sin6.sin6_port = htons((uint16_t)(5000 + i));
			inet_pton(AF_INET6, "2001:db8::", &p->endpoint.sin6.sin6_addr);
			p->endpoint.sin6.sin6_addr.s6_addr[14] = (uint8_t)((i % 250 + 1) >> 8);
			p->endpoint.sin6.sin6_addr.s6_addr[15] = (uint8_t)(i % 250 + 1);
		}
		if (i % 3 != 0)
			p->flags |= WG_PEER_HAS_ENDPOINT;
	}
	wg_device_sort_peers(dev);
	seen = seen_device_new(dev);
	assert_non_null(seen);
	wg_free_device(dev);
	assert_null(seen_peer_find(seen, (uint8_t[KEY_LEN]){0}));
	assert_null(seen_peer_find(NULL, descs[0].wg_key));
	for (size_t i = 0; i < FOOTPRINT_SITES; i++) {
		const struct seen_peer *k = seen_peer_find(seen, descs[i].wg_key);
		char want[ADDR_ENDPOINT_STRLEN], have[ADDR_ENDPOINT_STRLEN];

		assert_non_null(k);
		if (i % 3 == 0)
			assert_int_equal(k->endpoint.addr.family, AF_UNSPEC);
		else
			assert_string_equal(addr_endpoint_format(&k->endpoint, have),
			                    kept_endpoint(i, want));
	}
	view_feed_wg(g, seen, 0);
	n = view_path_sites(g, seen, 0, 0, ps);
	assert_int_equal(n, FOOTPRINT_SITES);
	for (size_t i = 0; i < n; i++) {
		size_t site = strtoul(ps[i].name + 1, NULL, 10);

		assert_true(ps[i].has_wg);
		assert_int_equal(ps[i].rx_bytes, 1000 + site);
		assert_int_equal(ps[i].handshake_at,
		                 site == 0 ? 0 : (int64_t)(100 + site) * 1000000 + 500);
	}
	free(ps);
	free(seen);
}
/* What gossip holds for each site netd sees, counted by the allocator (deterministic, no
 * timing): the sites a state file brings, taken in through the same path as at start, cost
 * at most 304 bytes each (337 while a descriptor kept its name in a 33-byte array and a
 * pointer per list), and every one reaches the mesh. */
static void
test_member_footprint(void **state)
{
	static uint8_t priv[FOOTPRINT_SITES][KEY_LEN];
	size_t cap = 256 + FOOTPRINT_SITES * 200, len, before, per_site, n;
	char *text = malloc(cap);
	struct wire_desc *descs = calloc(FOOTPRINT_SITES, sizeof(*descs));
	struct gossip_desc **held = calloc(FOOTPRINT_SITES, sizeof(*held));
	struct mesh_site *sites = calloc(FOOTPRINT_SITES, sizeof(*sites));
	struct view_room *rooms = calloc(FOOTPRINT_SITES, sizeof(*rooms));
	struct conf_errors errs = {0};
	struct gossip_trust *trust;
	struct wire_desc self;
	struct conf *conf;
	struct gossip *g;
	int64_t hold_end;

	(void)state;
	assert_non_null(text);
	assert_non_null(descs);
	assert_non_null(held);
	assert_non_null(sites);
	assert_non_null(rooms);
	len = (size_t)snprintf(text, cap,
	                       "site = { name = \"alpha\"; };\n"
	                       "wireguard = { private_key_file = \"%s\"; listen_port = 51821; };\n"
	                       "trust = (",
	                       key_file);
	for (size_t i = 0; i < FOOTPRINT_SITES; i++) {
		uint8_t pub[KEY_LEN];
		char b64[KEY_BASE64_SIZE];

		key_generate_private(priv[i]);
		key_public_from_private(pub, priv[i]);
		key_to_base64(b64, pub);
		len += (size_t)snprintf(text + len, cap - len,
		                        "%s{ name = \"s%zu\"; public_key = \"%s\";"
		                        " prefixes = [ \"10.%zu.%zu.0/24\" ]; vnis = [ 100 ]; }\n",
		                        i ? "," : "", i, b64, i / 256, i % 256);
	}
	snprintf(text + len, cap - len, ");\n");
	conf = conf_load_string(text, "footprint.conf", &errs);
	for (size_t i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	conf_errors_free(&errs);
	assert_non_null(conf);
	trust = view_trust(conf);
	assert_non_null(trust);
	g = alpha_gossip(conf, trust, &self);

	for (size_t i = 0; i < FOOTPRINT_SITES; i++) {
		struct wire_desc *d = &descs[i];

		snprintf(d->name, sizeof(d->name), "s%zu", i);
		d->incarnation = 1;
		assert_int_equal(addr_parse("192.0.2.2", &d->gossip.addr), 0);
		d->gossip.port = (uint16_t)(7000 + i);
		d->endpoints[0] = d->gossip;
		d->nendpoints = 1;
		d->prefixes[0] = conf->trust[i].prefixes[0];
		d->nprefixes = 1;
		d->vnis[0] = 100;
		d->nvnis = 1;
		sign_desc(d, priv[i]);
	}

	/* The descriptors as a state file's reader makes them, and lets go of them once gossip
	 * took them. */
	before = heap_in_use();
	for (size_t i = 0; i < FOOTPRINT_SITES; i++)
		assert_non_null(held[i] = gossip_desc_new(&descs[i]));
	view_adopt(g, &(struct state){.members = held, .nmembers = FOOTPRINT_SITES}, 0);
	for (size_t i = 0; i < FOOTPRINT_SITES; i++)
		gossip_desc_unref(held[i]);
	per_site = (heap_in_use() - before) / FOOTPRINT_SITES;
	/* A descriptor of one endpoint, prefix and VNI is held at its size, its name and lists
	 * found from one pointer: the room for the longest lists (struct wire_desc, 1,016
	 * bytes) alone would exceed this many times over. */
	if (heap_in_use() == 0)
		print_message("mallinfo2 counts no heap here (a sanitizer's allocator): the "
		              "bytes per site are not checked\n");
	else
		print_message("gossip holds %zu bytes per site\n", per_site);
	assert_true(per_site <= 304);
	n = view_mesh_sites(g, &conf->policy, 0, 0, sites, rooms, &hold_end);
	assert_int_equal(n, FOOTPRINT_SITES);
	sorted_device_lookups(g, descs);

	gossip_free(g);
	gossip_trust_free(trust);
	conf_free(conf);
	free(rooms);
	free(sites);
	free(held);
	free(descs);
	free(text);
}

#define TRUST_SITES 1000
/* What the trust table holds a site for, whose grant names a prefix, an overlay address and
 * a VNI: the entry (88 bytes, 128 while it kept the name's hash and a pointer and a size_t
 * count a list) and one block for its three lists (three blocks were 96 bytes of the
 * allocator's at least; the entries 235 bytes a site in all, then 202), and the lists read
 * back. */
static void
test_trust_footprint(void **state)
{
	struct gossip_trust *t = gossip_trust_new();
	uint8_t key[WIRE_KEY_LEN] = {0};
	size_t before = heap_in_use(), per_site;
	char name[16];

	(void)state;
	assert_non_null(t);
	for (uint32_t i = 0; i < TRUST_SITES; i++) {
		struct addr_prefix prefix = {.len = 24}, overlay = {.len = 32};
		uint32_t vni = 100 + i;

		prefix.addr.family = overlay.addr.family = AF_INET;
		prefix.addr.u.v4.s_addr = htonl(0x0a000000u | i << 8);
		overlay.addr.u.v4.s_addr = htonl(0x0a000001u | i << 8);
		snprintf(name, sizeof(name), "s%u", i);
		memcpy(key, &i, sizeof(i));
		assert_int_equal(
		        gossip_trust_add(t, name, key,
		                         &(struct gossip_grant){&prefix, 1, &overlay, 1, &vni, 1}),
		        0);
	}
	per_site = (heap_in_use() - before) / TRUST_SITES;
	if (heap_in_use() == 0)
		print_message("mallinfo2 counts no heap here (a sanitizer's allocator): the "
		              "bytes per site are not checked\n");
	else
		print_message("the trust table holds %zu bytes per site\n", per_site);
	assert_true(per_site <= 176);
	/* Each site's grant is its own: its prefix, overlay address and VNI pass, its
	 * neighbour's VNI does not. */
	for (uint32_t i = 0; i < TRUST_SITES; i += 111) {
		struct wire_desc d = {.nprefixes = 1, .noverlay = 1, .nvnis = 1};

		snprintf(d.name, sizeof(d.name), "s%u", i);
		memset(d.wg_key, 0, sizeof(d.wg_key));
		memcpy(d.wg_key, &i, sizeof(i));
		d.prefixes[0].len = 24;
		d.prefixes[0].addr.family = d.overlay[0].addr.family = AF_INET;
		d.prefixes[0].addr.u.v4.s_addr = htonl(0x0a000000u | i << 8);
		d.overlay[0].len = 32;
		d.overlay[0].addr.u.v4.s_addr = htonl(0x0a000001u | i << 8);
		d.vnis[0] = 100 + i;
		assert_int_equal(gossip_trust_find(t, d.name), (int)i);
		assert_int_equal(gossip_trust_check(t, &d, NULL, 0), GOSSIP_REFUSAL_NONE);
		d.vnis[0] = 101 + i;
		assert_int_equal(gossip_trust_check(t, &d, NULL, 0), GOSSIP_REFUSAL_VNI);
	}
	gossip_trust_free(t);
}

static int
setup(void **state)
{
	char b64[KEY_BASE64_SIZE];
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	FILE *f;

	(void)state;
	if (key_init() < 0 || mkdtemp(dir) == NULL)
		return -1;
	snprintf(key_file, sizeof(key_file), "%s/alpha.key", dir);
	key_generate_private(priv);
	key_to_base64(b64, priv);
	f = fopen(key_file, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%s\n", b64);
	fclose(f);
	if (chmod(key_file, 0600) < 0)
		return -1;
	key_generate_private(beta_priv);
	key_public_from_private(pub, beta_priv);
	key_to_base64(beta_pub, pub);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(key_file);
	rmdir(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_public_address),
	        cmocka_unit_test(test_descriptor),
	        cmocka_unit_test(test_members),
	        cmocka_unit_test(test_rooms_only_when_narrowed),
	        cmocka_unit_test(test_member_footprint),
	        cmocka_unit_test(test_trust_footprint),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
