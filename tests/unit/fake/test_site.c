/* The running site against the fake kernel: the status socket's replies (status, peers,
 * segments, routes, metrics) are built from the site's snapshot with the keys, order and
 * types netdctl and monitoring rely on, and never read the WireGuard device on the request
 * path, where a stopped userspace implementation would hold the event loop; the read they
 * show is kept without its allowed-ips. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <cmocka.h>

#include <ev.h>
#include <jansson.h>
#include <sodium.h>

#include "kernel-helpers/fake/fake.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/wg.h"
#include "netd/conf.h"
#include "netd/cred.h"
#include "netd/ctl.h"
#include "netd/gossip.h"
#include "netd/key.h"
#include "netd/mesh.h"
#include "netd/reconcile.h"
#include "netd/seen.h"
#include "netd/site.h"
#include "netd/state.h"
#include "netd/status.h"
#include "tests/unit/capture.h"

/* A UDP port free on 127.0.0.1 just now, for the site's gossip. */
static unsigned
free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* The rows of a routes reply as "PREFIX TYPE VIA METRIC INSTALLED REASON" lines. */
static void
expect_routes(const json_t *reply, const char *want)
{
	const json_t *rows = json_object_get(reply, "routes"), *row;
	char have[1024];
	size_t i, len = 0;

	have[0] = '\0';
	assert_true(json_is_array(rows));
	json_array_foreach(rows, i, row)
	{
		const char *via = json_string_value(json_object_get(row, "via"));
		const char *why = json_string_value(json_object_get(row, "reason"));

		len += (size_t)snprintf(
		        have + len, sizeof(have) - len, "%s %s %s %" JSON_INTEGER_FORMAT " %s %s\n",
		        json_string_value(json_object_get(row, "prefix")),
		        json_string_value(json_object_get(row, "type")), via ? via : "-",
		        json_integer_value(json_object_get(row, "metric")),
		        json_is_true(json_object_get(row, "installed")) ? "yes" : "no",
		        why ? why : "-");
		assert_true(len < sizeof(have));
	}
	assert_string_equal(have, want);
}

/* A running site alpha on the fake kernel that trusts beta, which it never hears from unless
 * a test runs beta's gossip (with beta_priv, to alpha's gossip port). */
struct fixture {
	char dir[32], key[64], sock[64], st[64];
	uint8_t alpha_pub[KEY_LEN], beta_priv[KEY_LEN];
	unsigned port;
	struct ev_loop *loop;
	struct ctl_server *ctl;
	struct conf *conf;
	struct site *site;
	struct site_snapshot snap;
	struct status_daemon daemon;
};

/* What a test adds to alpha's config; NULL: nothing. */
struct more_conf {
	const char *wireguard; /* settings of the wireguard group */
	const char *gossip;    /* settings of the gossip group */
	const char *trust;     /* trusted sites after beta, each "{ ... }" preceded by a comma */
	const char *groups;    /* groups of their own, such as federation */
};

static int
setup_with_conf(void **state, void (*before)(void), const struct more_conf *more)
{
	static const struct ctl_command none[] = {{NULL, false, NULL}};
	struct fixture *f = calloc(1, sizeof(*f));
	char text[8192], b64[KEY_BASE64_SIZE], beta[KEY_BASE64_SIZE];
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	struct conf_errors errs = {0};
	FILE *kf;

	fake_reset();
	if (before)
		before();
	assert_non_null(f);
	assert_int_equal(key_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/netd-site-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->key, sizeof(f->key), "%s/site.key", f->dir);
	snprintf(f->sock, sizeof(f->sock), "%s/site.sock", f->dir);
	snprintf(f->st, sizeof(f->st), "%s/site.state", f->dir);
	key_generate_private(priv);
	key_to_base64(b64, priv);
	key_public_from_private(f->alpha_pub, priv);
	key_generate_private(f->beta_priv);
	key_public_from_private(pub, f->beta_priv);
	key_to_base64(beta, pub);
	f->port = free_port();
	assert_non_null(kf = fopen(f->key, "w"));
	fprintf(kf, "%s\n", b64);
	fclose(kf);
	assert_int_equal(chmod(f->key, 0600), 0);
	snprintf(text, sizeof(text),
	         "site = { name = \"alpha\"; };\n"
	         "wireguard = { interface = \"wg0\"; private_key_file = \"%s\"; %s };\n"
	         "control = { socket = \"%s\"; };\n"
	         "gossip = { bind = \"127.0.0.1:%u\"; state_file = \"%s\"; %s };\n"
	         "overlay = [ \"10.99.0.1\" ];\n"
	         "prefixes = [ \"10.1.0.0/16\" ];\n"
	         "segments = ( { name = \"tenant-a\"; vni = 100; } );\n"
	         "trust = ( { name = \"beta\"; public_key = \"%s\";\n"
	         "            prefixes = [ \"10.2.0.0/16\" ]; overlay = [ \"10.99.0.2\" ];\n"
	         "            vnis = [ 100 ]; }%s );\n"
	         "%s",
	         f->key, more->wireguard ? more->wireguard : "", f->sock, f->port, f->st,
	         more->gossip ? more->gossip : "", beta, more->trust ? more->trust : "",
	         more->groups ? more->groups : "");
	f->conf = conf_load_string(text, "site.conf", &errs);
	for (size_t i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	assert_non_null(f->conf);
	assert_non_null(f->loop = ev_loop_new(EVFLAG_AUTO));
	f->ctl = ctl_server_new(f->loop, &(struct ctl_config){.path = f->sock, .mode = 0600}, none,
	                        NULL);
	assert_non_null(f->ctl);
	assert_int_equal(site_new(f->loop, f->conf, f->ctl, &f->site), 0);
	site_snapshot(f->site, &f->snap);
	f->daemon = (struct status_daemon){
	        .conf = f->conf,
	        .conf_path = "site.conf",
	        .backend = "kernel",
	        .uptime = 12.7,
	        .started_at = 1,
	        .last_reload_error = "site.conf:3: an error",
	};
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_with_conf(state, NULL, &(struct more_conf){0});
}

/* The first run's routes all refused by the kernel, what netd logs of it captured. */
static struct capture first_run_log;

static void
refuse_routes(void)
{
	fake_fail(FAKE_OP_ROUTE_REPLACE, 100000, ENOBUFS);
	capture_start(&first_run_log);
}

/* n trusted sites more than beta, none alive, as more_conf's trust: site<i> has
 * 10.<10+i>.0.0/16 and overlay address 10.99.1.<i+1>. */
static void
more_sites(char *more, size_t cap, int n)
{
	char b64[KEY_BASE64_SIZE];
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	size_t len = 0;

	assert_int_equal(key_init(), 0);
	more[0] = '\0';
	for (int i = 0; i < n; i++) {
		key_generate_private(priv);
		key_public_from_private(pub, priv);
		key_to_base64(b64, pub);
		len += (size_t)snprintf(
		        more + len, cap - len,
		        ", { name = \"site%d\"; public_key = \"%s\"; "
		        "prefixes = [ \"10.%d.0.0/16\" ]; overlay = [ \"10.99.1.%d\" ]; }",
		        i, b64, 10 + i, i + 1);
		assert_true(len < cap);
	}
}

/* Twelve trusted sites more than beta: a fence for each one's prefix and overlay address. */
static int
setup_refused_fences(void **state)
{
	char more[4096];

	more_sites(more, sizeof(more), 12);
	return setup_with_conf(state, refuse_routes, &(struct more_conf){.trust = more});
}

/* What netd logs of its routes' overlaps, from before the first run to the site's end. */
static struct capture overlap_log;

/* An operator's blackhole route in main inside each of 26 trusted sites' fenced prefixes
 * (10.10.5.0/24 ... 10.35.5.0/24), as a route meant for a whole /8 can be. */
static void
add_operator_routes(void)
{
	fake_act_as(FAKE_SETUP);
	for (int i = 0; i < 26; i++) {
		struct kh_route r = {.table = 254, .protocol = 4, .type = KH_ROUTE_BLACKHOLE};
		char dst[32];

		snprintf(dst, sizeof(dst), "10.%d.5.0/24", 10 + i);
		assert_int_equal(addr_prefix_parse(dst, &r.dst), 0);
		assert_int_equal(kh_route_replace(&r), 0);
	}
	fake_act_as(FAKE_NETD);
	capture_start(&overlap_log);
}

static int
setup_overlap_crowd(void **state)
{
	char more[8192];

	more_sites(more, sizeof(more), 26);
	return setup_with_conf(state, add_operator_routes, &(struct more_conf){.trust = more});
}

/* Gossip in tenths of a second: a suspicion within a second of silence. */
static int
setup_fast_gossip(void **state)
{
	return setup_with_conf(
	        state, NULL,
	        &(struct more_conf){
	                .gossip = "probe_interval = 100; probe_timeout = 50; gossip_interval = 20; "
	                          "suspicion_mult = 3; suspicion_max_mult = 6; "
	                          "reconnect_interval = 200; join_backoff_min = 50; "
	                          "join_backoff_max = 200; dead_hold = 1;"});
}

static int
setup_behind_nat(void **state)
{
	return setup_with_conf(state, NULL, &(struct more_conf){.wireguard = "behind_nat = true;"});
}

/* Authority n of the federation "lab": its key pair, made from a seed of n. */
static void
lab_authority(int n, uint8_t pub[CRED_KEY_LEN], uint8_t secret[64])
{
	uint8_t seed[32];

	assert_int_equal(key_init(), 0);
	memset(seed, n, sizeof(seed));
	assert_int_equal(cred_authority_from_seed(seed, pub, secret), 0);
}

/* alpha in the federation "lab" of authority 1 alone, pinned or not. */
static int
setup_lab(void **state, bool pinned)
{
	uint8_t pub[CRED_KEY_LEN], secret[64];
	char b64[KEY_BASE64_SIZE], groups[256];

	lab_authority(1, pub, secret);
	key_to_base64(b64, pub);
	snprintf(groups, sizeof(groups),
	         "federation = { name = \"lab\"; authorities = [ \"%s\" ]; threshold = 1;\n"
	         "\tpin_authorities = %s; };\n",
	         b64, pinned ? "true" : "false");
	return setup_with_conf(state, NULL, &(struct more_conf){.groups = groups});
}

static int
setup_lab_pinned(void **state)
{
	return setup_lab(state, true);
}

static int
setup_lab_unpinned(void **state)
{
	return setup_lab(state, false);
}

/* An operator's blackhole route in main inside beta's fenced 10.2.0.0/16. */
static void
add_operator_route(void)
{
	struct kh_route r = {.table = 254, .protocol = 4, .type = KH_ROUTE_BLACKHOLE};

	assert_int_equal(addr_prefix_parse("10.2.5.0/24", &r.dst), 0);
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_route_replace(&r), 0);
	fake_act_as(FAKE_NETD);
}

static int
setup_overlap(void **state)
{
	return setup_with_conf(state, add_operator_route, &(struct more_conf){0});
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char lock[sizeof(f->st) + 8];

	site_free(f->site);
	ctl_server_free(f->ctl);
	conf_free(f->conf);
	ev_loop_destroy(f->loop);
	unlink(f->key);
	unlink(f->st);
	snprintf(lock, sizeof(lock), "%s.lock", f->st);
	unlink(lock);
	/* Whatever else netd left in its directory would be left on the machine. */
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

static void
test_replies_do_not_read_the_device(void **state)
{
	struct fixture *f = *state;
	json_t *peers, *status, *routes, *metrics;

	assert_int_equal(fake_count(FAKE_OP_WG_ADD), 1);
	fake_clear_ops();
	site_snapshot(f->site, &f->snap);
	peers = status_peers_json(&f->snap);
	status = status_json(&f->daemon, &f->snap);
	routes = status_routes_json(&f->snap);
	metrics = status_metrics_json(&f->daemon, &f->snap);
	assert_non_null(peers);
	assert_non_null(status);
	assert_non_null(metrics);
	assert_int_equal(json_array_size(json_object_get(peers, "peers")), 1);
	/* beta was never seen: no tunnel route, but its grant, prefix and overlay, is fenced. */
	expect_routes(routes, "10.2.0.0/16 unreachable - 65535 yes -\n"
	                      "10.99.0.2/32 unreachable - 65535 yes -\n");
	if (fake_count(FAKE_OP_WG_GET) != 0)
		fail_msg("the replies read the WireGuard device %zu times",
		         fake_count(FAKE_OP_WG_GET));

	json_decref(peers);
	json_decref(status);
	json_decref(routes);
	json_decref(metrics);
}

/* The first run finds the operator's route inside a fence: yielded to, listed with the
 * routes and counted by the metrics. */
static void
test_overlap_reported(void **state)
{
	struct fixture *f = *state;
	json_t *routes = status_routes_json(&f->snap);
	json_t *metrics = status_metrics_json(&f->daemon, &f->snap);
	const json_t *o = json_array_get(json_object_get(routes, "overlaps"), 0);
	const char *text = json_string_value(json_object_get(metrics, "text"));

	assert_int_equal(json_array_size(json_object_get(routes, "overlaps")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "prefix")), "10.2.5.0/24");
	assert_int_equal(json_integer_value(json_object_get(o, "table")), 254);
	assert_int_equal(json_integer_value(json_object_get(o, "protocol")), 4);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "blackhole");
	assert_string_equal(json_string_value(json_object_get(o, "route")), "10.2.0.0/16");
	assert_true(json_is_null(json_object_get(o, "via")));
	assert_string_equal(json_string_value(json_object_get(o, "action")), "yield");
	assert_true(json_is_true(json_object_get(o, "installed")));
	assert_non_null(text);
	assert_non_null(strstr(text, "netd_route_overlaps{table=\"254\",action=\"yield\"} 1\n"));
	assert_non_null(
	        strstr(text, "netd_route_overlaps{table=\"51820\",action=\"withdrawn\"} 0\n"));
	assert_non_null(strstr(text, "netd_route_overlap_withdrawals_total 0\n"));
	json_decref(routes);
	json_decref(metrics);
}

/* Appends "PATH TYPE" lines of v and what it holds, in order; an array by its first item. */
static void
shape(const json_t *v, const char *path, char *out, size_t cap)
{
	static const char *const types[] = {
	        [JSON_OBJECT] = "object",   [JSON_ARRAY] = "array", [JSON_STRING] = "string",
	        [JSON_INTEGER] = "integer", [JSON_REAL] = "real",   [JSON_TRUE] = "boolean",
	        [JSON_FALSE] = "boolean",   [JSON_NULL] = "null",
	};
	size_t len = strlen(out);
	char sub[256];
	const char *key;
	json_t *child;

	if (path[0] != '\0')
		snprintf(out + len, cap - len, "%s %s\n", path, types[json_typeof(v)]);
	assert_true(strlen(out) < cap - 1);
	json_object_foreach((json_t *)v, key, child)
	{
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", key);
		shape(child, sub, out, cap);
	}
	if (json_is_array(v) && json_array_size(v) > 0) {
		snprintf(sub, sizeof(sub), "%s[]", path);
		shape(json_array_get(v, 0), sub, out, cap);
	}
}

static void
expect_shape(json_t *reply, const char *want)
{
	char have[4096] = "";

	assert_non_null(reply);
	shape(reply, "", have, sizeof(have));
	assert_string_equal(have, want);
	json_decref(reply);
}

/* The keys of the replies, their order and their types: netdctl prints them in this order,
 * and monitoring and the tests read them by name. */
static void
test_reply_keys(void **state)
{
	struct fixture *f = *state;

	expect_shape(status_json(&f->daemon, &f->snap),
	             "site string\nversion string\nuptime_seconds integer\nstarted_at string\n"
	             "config_file string\ninterface string\nbackend object\n"
	             "backend.configured string\nbackend.active string\ncounts object\n"
	             "counts.trusted_sites integer\ncounts.segments integer\n"
	             "counts.prefixes integer\ncounts.control_clients integer\n"
	             "counts.peers integer\ncounts.routes integer\nreloads object\n"
	             "reloads.ok integer\nreloads.failed integer\nreloads.last null\n"
	             "reloads.last_error string\ngossip object\ngossip.bind string\n"
	             "gossip.profile string\ngossip.session string\ngossip.incarnation integer\n"
	             "gossip.awareness integer\ngossip.members object\n"
	             "gossip.members.alive integer\ngossip.members.suspect integer\n"
	             "gossip.members.dead integer\ngossip.members.left integer\n"
	             "gossip.rx_datagrams integer\ngossip.tx_datagrams integer\n"
	             "gossip.pending_broadcasts integer\ngossip.published object\n"
	             "gossip.published.behind_nat boolean\ngossip.published.gossip string\n"
	             "gossip.published.endpoints array\ngossip.published.endpoints[] string\n"
	             "gossip.published.relay boolean\n"
	             "gossip.published.relays array\nreconcile object\nreconcile.runs integer\n"
	             "reconcile.failed_runs integer\nreconcile.applied integer\n"
	             "reconcile.failed integer\nreconcile.last_applied integer\n"
	             "reconcile.events integer\nreconcile.resyncs integer\n"
	             "reconcile.resyncs_by object\nreconcile.resyncs_by.events-lost integer\n"
	             "reconcile.resyncs_by.drift integer\nreconcile.resyncs_by.timer integer\n"
	             "reconcile.drifted_peers object\nreconcile.drifted_peers.removed integer\n"
	             "reconcile.drifted_peers.changed integer\n"
	             "reconcile.drifted_peers.foreign integer\n"
	             "reconcile.handshakes_started integer\n"
	             "reconcile.handshakes_retried integer\n"
	             "reconcile.handshakes_one_way integer\n"
	             "reconcile.handshakes_waiting integer\n"
	             "reconcile.dirty boolean\n");
	expect_shape(status_peers_json(&f->snap),
	             "peers array\npeers[] object\npeers[].name string\npeers[].state string\n"
	             "peers[].incarnation integer\npeers[].tunnel boolean\npeers[].path_mtu null\n"
	             "peers[].path_mtu_learnt null\npeers[].path_mtu_probes integer\n"
	             "peers[].prefixes array\n"
	             "peers[].segments array\npeers[].refused null\npeers[].endpoint null\n"
	             "peers[].last_handshake null\npeers[].rx_bytes integer\n"
	             "peers[].tx_bytes integer\npeers[].admitted_by string\n"
	             "peers[].credential null\npeers[].policy null\npeers[].next_key null\n"
	             "peers[].path object\npeers[].path.mode string\npeers[].path.relay null\n"
	             "peers[].path.reason null\npeers[].path.switches integer\n"
	             "peers[].path.gossip_seen null\npeers[].path.behind_nat boolean\n"
	             "peers[].path.offers_relay boolean\n");
	expect_shape(status_segments_json(&f->snap),
	             "segments array\nsegments[] object\nsegments[].name string\n"
	             "segments[].vni integer\nsegments[].vxlan string\nsegments[].bridge string\n"
	             "segments[].mtu integer\nsegments[].mss integer\nsegments[].members array\n"
	             "segments[].vteps array\n");
	expect_shape(status_routes_json(&f->snap),
	             "routes array\nroutes[] object\nroutes[].prefix string\nroutes[].type string\n"
	             "routes[].via null\nroutes[].dev null\nroutes[].metric integer\n"
	             "routes[].installed boolean\nroutes[].reason null\ntable integer\n"
	             "protocol integer\nproblems array\noverlaps array\n");
	expect_shape(status_metrics_json(&f->daemon, &f->snap), "text string\n");
}

/* The status reply's figures: the daemon's, and the site's counts of what it wants. */
static void
test_status_values(void **state)
{
	struct fixture *f = *state;
	json_t *st = status_json(&f->daemon, &f->snap);
	char text[512];

	assert_non_null(st);
	snprintf(
	        text, sizeof(text),
	        "%s %" JSON_INTEGER_FORMAT " %s %s/%s trusted %" JSON_INTEGER_FORMAT
	        " segments %" JSON_INTEGER_FORMAT " peers %" JSON_INTEGER_FORMAT
	        " routes %" JSON_INTEGER_FORMAT,
	        json_string_value(json_object_get(st, "site")),
	        json_integer_value(json_object_get(st, "uptime_seconds")),
	        json_string_value(json_object_get(st, "started_at")),
	        json_string_value(json_object_get(json_object_get(st, "backend"), "configured")),
	        json_string_value(json_object_get(json_object_get(st, "backend"), "active")),
	        json_integer_value(json_object_get(json_object_get(st, "counts"), "trusted_sites")),
	        json_integer_value(json_object_get(json_object_get(st, "counts"), "segments")),
	        json_integer_value(json_object_get(json_object_get(st, "counts"), "peers")),
	        json_integer_value(json_object_get(json_object_get(st, "counts"), "routes")));
	/* beta is unknown: no peer, no route; the segment has no other member yet. */
	assert_string_equal(text, "alpha 12 1970-01-01T00:00:01Z auto/kernel trusted 1 segments 1 "
	                          "peers 0 routes 0");
	json_decref(st);
}

static uint64_t
runs_of(const struct site *site)
{
	struct site_snapshot snap;
	struct reconcile_stats st;

	site_snapshot(site, &snap);
	reconcile_get_stats(snap.reconcile, &st);
	return st.runs;
}

/* A reload, from a timer that expires before the site's work timer in the same loop turn:
 * libev invokes it first, as it does gossip's timer while a join streams in. */
static void
reload_first(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = w->data;

	(void)loop;
	(void)revents;
	assert_int_equal(site_reconfigure(f->site, f->conf), 0);
}

/* A run that is due (its timer expired, its callback not yet invoked) is not dropped by a
 * change earlier in the same loop turn, which reschedules the work: here a reload, whose own
 * run reschedules it; in a join, every gossip timer's new member did, at every turn, and the
 * first run waited for the stream to pause. */
static void
test_due_run_not_dropped(void **state)
{
	struct fixture *f = *state;
	struct kh_link wg;
	ev_timer earlier;
	uint64_t runs;

	for (int i = 0; i < 30; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(50 * 1000);
	}
	/* Someone sets netd's interface down: the monitor's event asks for a run, debounced. */
	assert_int_equal(kh_link_get("wg0", &wg), 0);
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_link_set_up(wg.ifindex, false), 0);
	fake_act_as(FAKE_NETD);
	runs = runs_of(f->site);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(runs_of(f->site), runs);
	ev_timer_init(&earlier, reload_first, 0.02, 0);
	earlier.data = f;
	ev_timer_start(f->loop, &earlier);
	usleep(300 * 1000);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_false(ev_is_active(&earlier));
	/* The reload's run, then the one that was due. */
	assert_int_equal(runs_of(f->site) - runs, 2);
}

/* A teardown is final: while the leave spreads, neither a reload nor anything else that
 * moves puts back the data plane it removed (netd exits once the leave has spread). */
static void
test_teardown_is_final(void **state)
{
	struct fixture *f = *state;
	struct kh_link wg;
	uint64_t runs;

	for (int i = 0; i < 30; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(50 * 1000);
	}
	assert_int_equal(kh_link_get("wg0", &wg), 0);
	assert_int_equal(site_teardown(f->site), 0);
	assert_int_not_equal(kh_link_get("wg0", &wg), 0);
	runs = runs_of(f->site);
	site_leave(f->site);
	assert_int_equal(site_reconfigure(f->site, f->conf), 0);
	for (int i = 0; i < 30; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(50 * 1000);
	}
	assert_int_not_equal(kh_link_get("wg0", &wg), 0);
	assert_int_equal(runs_of(f->site), runs);
}

/* The device read kept for the replies holds its peers' figures only: the drift check, which
 * needs the allowed-ips too, has the whole read (it still sees a peer netd did not set). */
static void
test_kept_read_figures_only(void **state)
{
	struct fixture *f = *state;
	struct wg_device *d = wg_device_new("wg0");
	struct addr_prefix aip;
	struct wg_peer *p;
	const struct seen_peer *kept = NULL;
	json_t *st;

	assert_non_null(d);
	assert_non_null(p = wg_device_add_peer(d));
	memset(p->public_key, 0x5a, sizeof(p->public_key));
	assert_int_equal(addr_prefix_parse("10.7.0.0/16", &aip), 0);
	assert_int_equal(wg_peer_add_allowedip(p, &aip), 0);
	/* Once the runs of the start are done: a peer there before is removed by them. */
	for (int i = 0; i < 30; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(50 * 1000);
	}
	fake_act_as(FAKE_SETUP);
	assert_int_equal(wg_set_device(d), 0);
	fake_act_as(FAKE_NETD);
	for (int i = 0; i < 100 && kept == NULL; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		site_snapshot(f->site, &f->snap);
		kept = seen_peer_find(f->snap.device, p->public_key);
		if (kept == NULL)
			usleep(50 * 1000);
	}
	assert_non_null(kept);
	assert_int_equal(kept->endpoint.addr.family, AF_UNSPEC);
	assert_int_equal(kept->last_handshake_us, 0);
	st = status_json(&f->daemon, &f->snap);
	assert_non_null(st);
	assert_int_equal(json_integer_value(json_object_get(
	                         json_object_get(json_object_get(st, "reconcile"), "drifted_peers"),
	                         "foreign")),
	                 1);
	json_decref(st);
	wg_free_device(d);
}

/* A read a userspace implementation finished in the background, that no status read waits
 * for, is taken for the next run as soon as it lands (made small), not left whole until that
 * run; the run uses it and reads the device no more. */
static void
test_finished_read_taken_at_once(void **state)
{
	struct fixture *f = *state;
	struct wg_device *dev = NULL;
	struct kh_link wg;
	uint64_t runs;

	for (int i = 0; i < 30; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(50 * 1000);
	}
	runs = runs_of(f->site);
	assert_int_equal(fake_wg_finish_get("wg0"), 0);
	for (int i = 0; i < 5; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(10 * 1000);
	}
	assert_int_equal(runs_of(f->site), runs);
	assert_int_equal(wg_get_finished("wg0", &dev), -EAGAIN);
	assert_null(dev);
	/* A run the monitor asks for compares against it. */
	fake_clear_ops();
	assert_int_equal(kh_link_get("wg0", &wg), 0);
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_link_set_up(wg.ifindex, false), 0);
	fake_act_as(FAKE_NETD);
	for (int i = 0; i < 200 && runs_of(f->site) == runs; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(5 * 1000);
	}
	assert_int_not_equal(runs_of(f->site), runs);
	assert_int_equal(fake_count(FAKE_OP_WG_GET), 0);
}

/* A status read that goes on in the background and finishes while a run is due is taken by
 * the status as the run begins, not left whole through the run's view, mesh and plan until
 * its collection comes (libev invokes the expired run timer before the readable eventfd in
 * the same loop turn, as it did while a join streamed in). */
static void
test_status_read_taken_before_run(void **state)
{
	struct fixture *f = *state;
	struct wg_device *dev = NULL;
	struct kh_link wg;
	uint64_t runs, failures;

	for (int i = 0; i < 30; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(50 * 1000);
	}
	site_snapshot(f->site, &f->snap);
	failures = f->snap.wg_read_failures;
	fake_fail(FAKE_OP_WG_GET, 1, -ETIMEDOUT);
	for (int i = 0; i < 1000 && f->snap.wg_read_failures == failures; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		site_snapshot(f->site, &f->snap);
		if (f->snap.wg_read_failures == failures)
			usleep(5 * 1000);
	}
	assert_int_equal(f->snap.wg_read_failures, failures + 1);
	/* Its collection is 0.25 s away; a run is asked for, due in 0.1 s. */
	runs = runs_of(f->site);
	assert_int_equal(kh_link_get("wg0", &wg), 0);
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_link_set_up(wg.ifindex, false), 0);
	fake_act_as(FAKE_NETD);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(runs_of(f->site), runs);
	assert_int_equal(fake_wg_finish_get("wg0"), 0);
	usleep(150 * 1000);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(runs_of(f->site), runs + 1);
	assert_int_equal(wg_get_finished("wg0", &dev), -EAGAIN);
	assert_null(dev);
	site_snapshot(f->site, &f->snap);
	assert_int_equal(f->snap.wg_read_failures, failures + 1);
	assert_non_null(f->snap.device);
}

/* Sets netd's interface down, or deletes it, as someone else would (the monitor's event asks
 * for a run) and turns the loop until a run has come: returns when the turn that made it
 * began, *end when it ended. */
static double
run_after_change(struct fixture *f, bool delete, double *end)
{
	struct kh_link wg;
	uint64_t runs = runs_of(f->site);
	double t;

	assert_int_equal(kh_link_get("wg0", &wg), 0);
	fake_act_as(FAKE_OTHER);
	if (delete)
		assert_int_equal(kh_link_del(wg.ifindex), 0);
	else
		assert_int_equal(kh_link_set_up(wg.ifindex, false), 0);
	fake_act_as(FAKE_NETD);
	for (int i = 0; i < 1000; i++) {
		t = ev_time();
		ev_run(f->loop, EVRUN_NOWAIT);
		if (runs_of(f->site) != runs) {
			*end = ev_time();
			return t;
		}
		usleep(5 * 1000);
	}
	fail_msg("no run within 5 s of a change");
	return 0;
}

/* A run is followed by twice its wall time for gossip before the next, however soon the next
 * change comes: at thousands of sites a run costs seconds, and runs one after the other took
 * most of the loop from a join streaming in. Not a run that made a device: that cost comes
 * once. Here the kernel's route lists are slowed, so a run (two lists, netd's table and main)
 * takes at least 0.2 s. */
static void
test_runs_spaced_by_cost(void **state)
{
	struct fixture *f = *state;
	double start, end, next, next_end;

	for (int i = 0; i < 30; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(50 * 1000);
	}
	fake_slow(FAKE_OP_ROUTE_LIST, 100 * 1000);
	start = run_after_change(f, false, &end);
	assert_true(end - start >= 0.2);
	next = run_after_change(f, false, &next_end);
	/* Not the 0.1 s debounce: at least twice the slow run's 0.2 s after it ended. */
	assert_true(next - end >= 0.4);
	/* Nor much later than twice what the run took. */
	assert_true(next - end <= 2 * (end - start) + 1.0);

	/* The device deleted: the run that makes it anew leaves no room after it. */
	usleep(1000 * 1000);
	start = run_after_change(f, true, &end);
	assert_true(end - start >= 0.2);
	next = run_after_change(f, false, &next_end);
	assert_true(next - end < 0.4);

	/* A change read in the loop turn of a run, after it, keeps the whole room: the loop's
	 * clock, taken as the turn began, is older than the run's end. */
	usleep(1000 * 1000);
	{
		struct kh_link wg;
		uint64_t runs;

		assert_int_equal(kh_link_get("wg0", &wg), 0);
		fake_act_as(FAKE_OTHER);
		assert_int_equal(kh_link_set_up(wg.ifindex, false), 0);
		fake_act_as(FAKE_NETD);
		ev_run(f->loop, EVRUN_NOWAIT); /* the event read: a run due 0.1 s on */
		usleep(200 * 1000);
		fake_act_as(FAKE_OTHER);
		assert_int_equal(kh_link_set_mtu(wg.ifindex, 1300), 0);
		fake_act_as(FAKE_NETD);
		runs = runs_of(f->site);
		start = ev_time();
		ev_run(f->loop, EVRUN_NOWAIT); /* the run, then the event of the MTU */
		end = ev_time();
		assert_int_equal(runs_of(f->site), runs + 1);
		assert_true(end - start >= 0.2);
		for (int i = 0; i < 1000 && runs_of(f->site) == runs + 1; i++) {
			next = ev_time();
			ev_run(f->loop, EVRUN_NOWAIT);
			usleep(5 * 1000);
		}
		assert_int_equal(runs_of(f->site), runs + 2);
		assert_true(next - end >= 0.4);
	}
	fake_slow(FAKE_OP_ROUTE_LIST, 0);
}

/* beta's side of the gossip, run by the test over a UDP socket of its own on loopback. */
struct beta {
	struct gossip_trust *trust;
	struct gossip *g;
	int fd;
};

static gossip_time
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gossip_time)ts.tv_sec * GOSSIP_SEC + ts.tv_nsec / 1000;
}

static void
loopback_endpoint(unsigned port, struct addr_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	assert_int_equal(addr_parse("127.0.0.1", &ep->addr), 0);
	ep->port = (uint16_t)port;
}

static void
beta_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	struct beta *b = arg;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(to->port)};

	memcpy(&sin.sin_addr, to->addr.u.bytes, 4);
	sendto(b->fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin));
}

/* What a federated gossip instance checks credentials' validity against. */
static int64_t
beta_unix_now(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

/* federation: the authority set beta's gossip starts with; NULL: beta is in no federation. */
static void
beta_start(struct fixture *f, struct beta *b, const struct cred_authorities *federation)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	struct gossip_grant grant = {0};
	struct gossip_config cfg = {0};
	struct addr_prefix alpha_prefix, alpha_overlay;
	struct addr_endpoint seed;
	struct wire_desc d = {0};
	uint32_t vni = 100;
	char err[200];

	b->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(b->fd >= 0);
	assert_int_equal(bind(b->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(b->fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(addr_prefix_parse("10.1.0.0/16", &alpha_prefix), 0);
	assert_int_equal(addr_prefix_parse("10.99.0.1/32", &alpha_overlay), 0);
	grant = (struct gossip_grant){.prefixes = &alpha_prefix,
	                              .nprefixes = 1,
	                              .overlay = &alpha_overlay,
	                              .noverlay = 1,
	                              .vnis = &vni,
	                              .nvnis = 1};
	assert_non_null(b->trust = gossip_trust_new());
	assert_int_equal(gossip_trust_add(b->trust, "alpha", f->alpha_pub, &grant), 0);

	snprintf(d.name, sizeof(d.name), "beta");
	loopback_endpoint(ntohs(sin.sin_port), &d.gossip);
	loopback_endpoint(51999, &d.endpoints[0]);
	d.nendpoints = 1;
	assert_int_equal(addr_prefix_parse("10.99.0.2/32", &d.overlay[0]), 0);
	d.noverlay = 1;
	assert_int_equal(addr_prefix_parse("10.2.0.0/16", &d.prefixes[0]), 0);
	d.nprefixes = 1;
	d.vnis[0] = vni;
	d.nvnis = 1;
	loopback_endpoint(f->port, &seed);

	cfg.name = "beta";
	cfg.private_key = f->beta_priv;
	cfg.session = ((uint64_t)randombytes_random() << 32 | randombytes_random()) | 1;
	cfg.incarnation = 1;
	cfg.desc = &d;
	gossip_profile_lan(&cfg.profile);
	cfg.profile.probe_interval_ms = 100;
	cfg.profile.probe_timeout_ms = 50;
	cfg.profile.gossip_interval_ms = 20;
	cfg.profile.reconnect_interval_ms = 200;
	cfg.profile.join_backoff_min_ms = 50;
	cfg.profile.join_backoff_max_ms = 200;
	cfg.trust = b->trust;
	cfg.authorities = federation;
	cfg.unix_now = beta_unix_now;
	cfg.seeds = &seed;
	cfg.nseeds = 1;
	cfg.rng_seed = randombytes_random();
	cfg.cb.send = beta_send;
	cfg.cb.arg = b;
	b->g = gossip_new(&cfg, err, sizeof(err));
	if (b->g == NULL)
		fail_msg("beta's gossip: %s", err);
	gossip_start(b->g, mono_us());
}

static void
beta_stop(struct beta *b)
{
	gossip_free(b->g);
	gossip_trust_free(b->trust);
	close(b->fd);
}

/* A loop turn of alpha and of beta, then 5 ms of sleep. A deaf beta drops what it receives
 * and says nothing: to alpha it is gone. */
static void
turn(struct fixture *f, struct beta *b, bool deaf)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	uint8_t buf[2048];
	gossip_time now;
	ssize_t n;

	ev_run(f->loop, EVRUN_NOWAIT);
	now = mono_us();
	while ((n = recvfrom(b->fd, buf, sizeof(buf), 0, (struct sockaddr *)&sin, &len)) > 0) {
		struct addr_endpoint from;

		loopback_endpoint(ntohs(sin.sin_port), &from);
		if (!deaf)
			gossip_receive(b->g, now, &from, buf, (size_t)n);
		len = sizeof(sin);
	}
	if (!deaf && gossip_next_deadline(b->g) <= now)
		gossip_tick(b->g, now);
	usleep(5 * 1000);
}

/* beta as alpha sees it: its state, and its incarnation in *inc. */
static enum gossip_state
beta_state(const struct fixture *f, uint32_t *inc)
{
	struct site_snapshot snap;
	struct gossip_member_info mi;
	int i;

	site_snapshot(f->site, &snap);
	i = gossip_member_find(snap.gossip, "beta");
	if (i < 0 || gossip_member(snap.gossip, (size_t)i, &mi) != 0)
		return GOSSIP_NONE;
	*inc = mi.incarnation;
	return mi.state;
}

/* Turns the loops until alpha holds beta in state want (up to 10 s): the turns it took. */
static int
turn_until(struct fixture *f, struct beta *b, bool deaf, enum gossip_state want)
{
	uint32_t inc;

	for (int i = 0; i < 2000; i++) {
		if (beta_state(f, &inc) == want)
			return i;
		turn(f, b, deaf);
	}
	fail_msg("alpha did not hold beta %s within 10 s", gossip_state_name(want));
	return -1;
}

/* A suspicion and its refutation leave the desired state as it was (a suspect keeps its
 * peer, routes and segments): neither costs a run of the whole view. Death does: its hold
 * begins. */
static void
test_suspicion_costs_no_run(void **state)
{
	struct fixture *f = *state;
	struct beta b;
	uint32_t inc, refuted;
	uint64_t runs;
	int quiet = 0;

	beta_start(f, &b, NULL);
	turn_until(f, &b, false, GOSSIP_ALIVE);
	/* beta's peer in the device, and whatever else its arrival set off, done: half a second
	 * without a run (5 probe periods of gossip). */
	runs = runs_of(f->site);
	for (int i = 0; i < 2000 && quiet < 100; i++) {
		turn(f, &b, false);
		quiet = runs_of(f->site) == runs ? quiet + 1 : 0;
		runs = runs_of(f->site);
	}
	assert_int_equal(quiet, 100);
	site_snapshot(f->site, &f->snap);
	assert_non_null(mesh_desired_peer(f->snap.desired, "beta"));
	assert_int_equal(beta_state(f, &inc), GOSSIP_ALIVE);

	turn_until(f, &b, true, GOSSIP_SUSPECT);
	turn_until(f, &b, false, GOSSIP_ALIVE);
	assert_int_equal(beta_state(f, &refuted), GOSSIP_ALIVE);
	assert_true(refuted > inc);
	for (int i = 0; i < 40; i++) /* past the 0.1 s debounce of a run */
		turn(f, &b, false);
	assert_int_equal(runs_of(f->site), runs);

	turn_until(f, &b, true, GOSSIP_DEAD);
	for (int i = 0; i < 40; i++)
		turn(f, &b, true);
	assert_true(runs_of(f->site) > runs);
	beta_stop(&b);
}

/* The gossip timing of the config is the site's: a silent beta's suspicion, raised by
 * alpha's own failed probe, lasts suspicion_mult 3 x probe_interval 100 ms (a view of two
 * waits for no confirmation), not the LAN profile's 3 s. */
static void
test_gossip_timing_configured(void **state)
{
	struct fixture *f = *state;
	struct gossip_member_info mi;
	struct beta b;

	beta_start(f, &b, NULL);
	turn_until(f, &b, false, GOSSIP_ALIVE);
	turn_until(f, &b, true, GOSSIP_SUSPECT);
	beta_stop(&b);
	site_snapshot(f->site, &f->snap);
	assert_int_equal(gossip_member(f->snap.gossip,
	                               (size_t)gossip_member_find(f->snap.gossip, "beta"), &mi),
	                 0);
	assert_int_equal((mi.suspect_until - mi.changed_at) / GOSSIP_MSEC, 300);
}

/* Runs beta until alpha holds it alive and has put its peer in the device: that peer's
 * persistent keepalive as the kernel holds it. */
static uint16_t
beta_peer_keepalive(struct fixture *f)
{
	struct wg_device *dev = NULL;
	uint8_t pub[KEY_LEN];
	uint16_t keepalive = 0;
	bool found = false;
	struct beta b;

	key_public_from_private(pub, f->beta_priv);
	beta_start(f, &b, NULL);
	turn_until(f, &b, false, GOSSIP_ALIVE);
	for (int i = 0; i < 400 && !fake_wg_has_peer("wg0", pub); i++)
		turn(f, &b, false);
	beta_stop(&b);
	fake_act_as(FAKE_SETUP);
	assert_int_equal(wg_get_device("wg0", &dev), 0);
	fake_act_as(FAKE_NETD);
	for (size_t i = 0; i < dev->npeers && !found; i++) {
		found = memcmp(dev->peers[i].public_key, pub, KEY_LEN) == 0;
		keepalive = dev->peers[i].persistent_keepalive;
	}
	wg_free_device(dev);
	assert_true(found);
	return keepalive;
}

/* wireguard.behind_nat as configured: alpha's descriptor says it is behind NAT and names no
 * WireGuard endpoint of its own (its private address reaches nobody), and its peers get a
 * persistent keepalive that holds the NAT's mappings open. */
static void
test_behind_nat_configured(void **state)
{
	struct fixture *f = *state;
	const struct wire_desc *self;

	site_snapshot(f->site, &f->snap);
	self = gossip_self(f->snap.gossip);
	assert_true(self->flags & WIRE_DESC_NAT);
	assert_int_equal(self->nendpoints, 0);
	assert_int_equal(beta_peer_keepalive(f), MESH_KEEPALIVE);
}

/* Not behind NAT (the default), as beta sees it too: alpha names its endpoint, and its peer
 * of beta, which is not behind NAT either, gets no keepalive. */
static void
test_not_behind_nat(void **state)
{
	struct fixture *f = *state;
	const struct wire_desc *self;
	char ep[ADDR_ENDPOINT_STRLEN];

	site_snapshot(f->site, &f->snap);
	self = gossip_self(f->snap.gossip);
	assert_false(self->flags & WIRE_DESC_NAT);
	assert_int_equal(self->nendpoints, 1);
	addr_endpoint_format(&self->endpoints[0], ep);
	assert_string_equal(ep, "127.0.0.1:51820");
	assert_int_equal(beta_peer_keepalive(f), 0);
}

/* An update of lab's authority set to authority 2 alone, signed by authority 1, which the
 * set in force names: its encoding in doc, its length returned. */
static size_t
lab_update(uint8_t doc[CRED_ENCODED_MAX])
{
	struct cred_authorities a = {.version = 1, .nkeys = 1, .threshold = 1};
	uint8_t pub[CRED_KEY_LEN], secret[64];
	int n;

	snprintf(a.federation, sizeof(a.federation), "lab");
	lab_authority(2, a.keys[0], secret);
	lab_authority(1, pub, secret);
	assert_int_equal(cred_authorities_sign(&a, secret), 0);
	n = cred_authorities_encode(&a, doc, CRED_ENCODED_MAX);
	assert_true(n > 0);
	return (size_t)n;
}

/* A revocation by lab's authority 1 of site zeta's credentials up to serial 1: zeta is no
 * member, so taking it changes no membership. Its encoding in doc, its length returned. */
static size_t
lab_revocation(uint8_t doc[CRED_ENCODED_MAX])
{
	struct cred_revocation r = {.kind = CRED_REVOKE_SERIAL, .serial = 1, .issued = 1};
	uint8_t pub[CRED_KEY_LEN], secret[64];
	int n;

	snprintf(r.federation, sizeof(r.federation), "lab");
	snprintf(r.site, sizeof(r.site), "zeta");
	lab_authority(1, pub, secret);
	assert_int_equal(cred_revocation_sign(&r, secret), 0);
	n = cred_revocation_encode(&r, doc, CRED_ENCODED_MAX);
	assert_true(n > 0);
	return (size_t)n;
}

/* Whether alpha's gossip holds the lab_update authority set, or the lab_revocation. */
static bool
holds_update(const struct gossip *g)
{
	return gossip_authorities(g)->version == 1;
}

static bool
holds_revocation(const struct gossip *g)
{
	return gossip_revocation_count(g) == 1;
}

/* beta, in lab with alpha's authority set, is handed the document doc (an authority update or
 * a revocation, as revocation says) once alpha holds it alive, and spreads it by gossip: true
 * once alpha's gossip holds it, false once it refused it. */
static bool
doc_from_beta_taken(struct fixture *f, const uint8_t *doc, size_t len, bool revocation)
{
	bool (*holds)(const struct gossip *) = revocation ? holds_revocation : holds_update;
	struct cred_authorities set;
	uint64_t refused;
	bool taken = false;
	struct beta b;
	char err[256];
	int rc;

	conf_federation_set(f->conf, &set);
	beta_start(f, &b, &set);
	turn_until(f, &b, false, GOSSIP_ALIVE);
	site_snapshot(f->site, &f->snap);
	refused = gossip_counters(f->snap.gossip)->drop_refused;
	rc = revocation ? gossip_add_revocation(b.g, mono_us(), doc, len, err, sizeof(err))
	                : gossip_add_authorities(b.g, mono_us(), doc, len, err, sizeof(err));
	if (rc != 0)
		fail_msg("beta refused the document: %s", err);
	for (int i = 0; i < 2000; i++) {
		site_snapshot(f->site, &f->snap);
		taken = holds(f->snap.gossip);
		if (taken || gossip_counters(f->snap.gossip)->drop_refused != refused)
			break;
		turn(f, &b, false);
	}
	beta_stop(&b);
	assert_true(taken || gossip_counters(f->snap.gossip)->drop_refused != refused);
	return taken;
}

static bool
update_from_beta_taken(struct fixture *f)
{
	uint8_t doc[CRED_ENCODED_MAX];
	size_t len = lab_update(doc);

	return doc_from_beta_taken(f, doc, len, false);
}

/* Runs alpha's loop until its state file holds doc as its authority update (or, with
 * revocation, as its only revocation), at most 10 s: whether it came to. */
static bool
state_file_holds(struct fixture *f, const uint8_t *doc, size_t len, bool revocation)
{
	struct state st = {0};
	bool saved = false;
	char err[256];

	for (int i = 0; i < 1000 && !saved; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(10000);
		assert_int_equal(state_load(f->st, &st, err, sizeof(err)), 0);
		if (revocation)
			saved = st.nrevocations == 1 && st.revocations[0].len == len &&
			        memcmp(st.revocations[0].bytes, doc, len) == 0;
		else
			saved = st.authorities.len == len &&
			        memcmp(st.authorities.bytes, doc, len) == 0;
		state_clear(&st);
	}
	return saved;
}

/* What the one subscriber of a test read and has not looked at yet. */
static char events_buf[65536];
static size_t events_have;

/* A client of alpha's status socket, subscribed to its events once the loop has taken the
 * request. */
static int
events_subscribe(struct fixture *f)
{
	static const char req[] = "{\"command\":\"events\"}\n";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	events_have = 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	for (int i = 0; i < 10; i++)
		ev_run(f->loop, EVRUN_NOWAIT);
	return fd;
}

/* The first event line of type that the subscriber fd receives within 2 s of alpha's loop,
 * as its event object (the caller's), or NULL. */
static json_t *
events_next(struct fixture *f, int fd, const char *type)
{
	char *buf = events_buf, *nl;
	size_t have = events_have;
	ssize_t n;

	for (int i = 0; i < 200; i++) {
		while ((nl = memchr(buf, '\n', have)) != NULL) {
			json_t *line = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
			json_t *ev = json_incref(json_object_get(line, "event"));

			json_decref(line);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
			events_have = have;
			if (ev != NULL && json_is_string(json_object_get(ev, "type")) &&
			    strcmp(json_string_value(json_object_get(ev, "type")), type) == 0)
				return ev;
			json_decref(ev);
		}
		ev_run(f->loop, EVRUN_NOWAIT);
		n = read(fd, buf + have, sizeof(events_buf) - have);
		if (n > 0)
			events_have = have += (size_t)n;
		else
			usleep(10000);
	}
	return NULL;
}

/* A federation event: from source, of document, and what alpha holds after it. */
static void
assert_federation_event(json_t *ev, const char *source, const char *document, json_int_t version,
                        json_int_t revocations)
{
	assert_non_null(ev);
	assert_string_equal(json_string_value(json_object_get(ev, "federation")), "lab");
	assert_string_equal(json_string_value(json_object_get(ev, "source")), source);
	assert_string_equal(json_string_value(json_object_get(ev, "document")), document);
	assert_int_equal(json_integer_value(json_object_get(ev, "authority_version")), version);
	assert_int_equal(json_integer_value(json_object_get(ev, "revocations")), revocations);
	json_decref(ev);
}

/* federation.pin_authorities from the config: an authority update signed by the threshold
 * of the set in force, coming by gossip, is refused and the config's set stays; the
 * operator's publish of it is refused too (netdctl(8)). */
static void
test_authorities_pinned(void **state)
{
	struct fixture *f = *state;
	uint8_t doc[CRED_ENCODED_MAX], pub[CRED_KEY_LEN], secret[64];
	size_t len = lab_update(doc);
	const struct cred_authorities *set;
	char err[256];

	assert_false(update_from_beta_taken(f));
	lab_authority(1, pub, secret);
	site_snapshot(f->site, &f->snap);
	set = gossip_authorities(f->snap.gossip);
	assert_true(set->version == 0 && set->nkeys == 1);
	assert_memory_equal(set->keys[0], pub, CRED_KEY_LEN);
	assert_int_equal(site_publish_document(f->site, doc, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "pins"));
}

/* Not pinned (the default), the same update by gossip replaces the config's set; it is
 * logged, and the state file holds it within a few seconds, though no membership changed:
 * a restart keeps it whether or not a member is there to send it again. */
static void
test_authorities_not_pinned(void **state)
{
	struct fixture *f = *state;
	uint8_t pub[CRED_KEY_LEN], secret[64], doc[CRED_ENCODED_MAX];
	size_t len = lab_update(doc), lines;
	const struct cred_authorities *set;
	struct capture cap;
	char *text;

	int sub = events_subscribe(f);

	capture_start(&cap);
	assert_true(doc_from_beta_taken(f, doc, len, false));
	lab_authority(2, pub, secret);
	set = gossip_authorities(f->snap.gossip);
	assert_true(set->version == 1 && set->nkeys == 1);
	assert_memory_equal(set->keys[0], pub, CRED_KEY_LEN);
	assert_true(state_file_holds(f, doc, len, false));
	text = capture_end(&cap, &lines);
	assert_non_null(strstr(text, "federation lab: authority set version 1 taken from gossip"));
	free(text);
	assert_federation_event(events_next(f, sub, "federation"), "gossip", "authorities", 1, 0);
	close(sub);
}

/* A revocation by gossip of a site that is no member (nothing leaves the view) is logged and
 * saved the same way. */
static void
test_revocation_from_gossip_saved(void **state)
{
	struct fixture *f = *state;
	uint8_t doc[CRED_ENCODED_MAX];
	size_t len = lab_revocation(doc), lines;
	struct capture cap;
	char *text;

	int sub = events_subscribe(f);

	capture_start(&cap);
	assert_true(doc_from_beta_taken(f, doc, len, true));
	assert_true(state_file_holds(f, doc, len, true));
	text = capture_end(&cap, &lines);
	assert_non_null(strstr(text, "federation lab: 1 revocation taken from gossip, 1 held"));
	free(text);
	assert_federation_event(events_next(f, sub, "federation"), "gossip", "revocation", 0, 1);
	close(sub);
}

/* The operator's publish of the same documents is told as theirs, each as it is taken; a
 * document refused is no event. */
static void
test_published_documents_are_events(void **state)
{
	struct fixture *f = *state;
	uint8_t rev[CRED_ENCODED_MAX], upd[CRED_ENCODED_MAX];
	size_t rlen = lab_revocation(rev), ulen = lab_update(upd);
	int sub = events_subscribe(f);
	char err[256];
	json_t *ev;

	assert_int_equal(site_publish_document(f->site, rev, rlen, err, sizeof(err)), 0);
	assert_federation_event(events_next(f, sub, "federation"), "operator", "revocation", 0, 1);
	assert_int_equal(site_publish_document(f->site, upd, ulen, err, sizeof(err)), 0);
	assert_federation_event(events_next(f, sub, "federation"), "operator", "authorities", 1, 1);
	assert_int_equal(site_publish_document(f->site, (const uint8_t *)"no document", 11, err,
	                                       sizeof(err)),
	                 -1);
	ev = events_next(f, sub, "federation");
	assert_null(ev);
	close(sub);
}

/* A cause that fails every route of a run (26 fences here) logs 20 of its reports and a
 * line that counts the rest; the reports themselves are all kept. */
static void
test_refused_routes_logged_within_budget(void **state)
{
	struct fixture *f = *state;
	size_t lines, n, failed = 0, named = 0;
	const struct reconcile_report *rep = reconcile_reports(f->snap.reconcile, &n);
	char *text = capture_end(&first_run_log, &lines), more[64];

	for (size_t i = 0; i < n; i++)
		failed += rep[i].err != 0 && rep[i].object.type == RECONCILE_OBJECT_ROUTE;
	assert_int_equal(failed, 26);
	for (const char *at = text; (at = strstr(at, ": route-add failed: ")) != NULL; at++)
		named++;
	assert_int_equal(named, 20);
	snprintf(more, sizeof(more), "warning: %zu more reports of this run not logged",
	         failed - 20);
	assert_non_null(strstr(text, more));
	free(text);
}

/* 26 operator routes inside fences: every one is yielded to and listed, 20 are logged and
 * the rest counted in a line, at the latest as netd stops. */
static void
test_overlaps_logged_within_budget(void **state)
{
	struct fixture *f = *state;
	json_t *routes = status_routes_json(&f->snap);
	size_t lines, named = 0;
	char *text;

	assert_int_equal(json_array_size(json_object_get(routes, "overlaps")), 26);
	json_decref(routes);
	site_free(f->site);
	f->site = NULL;
	text = capture_end(&overlap_log, &lines);
	for (const char *at = text;
	     (at = strstr(at, "netd's table yields it to table 254")) != NULL; at++)
		named++;
	assert_int_equal(named, 20);
	assert_non_null(strstr(text, "route overlaps: 6 more not logged"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_replies_do_not_read_the_device, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_reply_keys, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_status_values, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_kept_read_figures_only, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_finished_read_taken_at_once, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_status_read_taken_before_run, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_due_run_not_dropped, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_teardown_is_final, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_runs_spaced_by_cost, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_overlap_reported, setup_overlap, teardown),
	        cmocka_unit_test_setup_teardown(test_refused_routes_logged_within_budget,
	                                        setup_refused_fences, teardown),
	        cmocka_unit_test_setup_teardown(test_overlaps_logged_within_budget,
	                                        setup_overlap_crowd, teardown),
	        cmocka_unit_test_setup_teardown(test_suspicion_costs_no_run, setup_fast_gossip,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_gossip_timing_configured, setup_fast_gossip,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_behind_nat_configured, setup_behind_nat,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_not_behind_nat, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_authorities_pinned, setup_lab_pinned,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_authorities_not_pinned, setup_lab_unpinned,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_revocation_from_gossip_saved,
	                                        setup_lab_unpinned, teardown),
	        cmocka_unit_test_setup_teardown(test_published_documents_are_events,
	                                        setup_lab_unpinned, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
