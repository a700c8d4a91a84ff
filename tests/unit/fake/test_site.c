/* The running site against the fake kernel: the status socket's replies (status, peers,
 * segments, routes, metrics) are built from the site's snapshot with the keys, order and
 * types netdctl and monitoring rely on, and never read the WireGuard device on the request
 * path, where a stopped userspace implementation would hold the event loop; the read they
 * show is kept without its allowed-ips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <ev.h>
#include <jansson.h>

#include "kernel-helpers/fake/fake.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/wg.h"
#include "netd/conf.h"
#include "netd/ctl.h"
#include "netd/key.h"
#include "netd/reconcile.h"
#include "netd/seen.h"
#include "netd/site.h"
#include "netd/status.h"

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

/* A running site alpha on the fake kernel that trusts beta, which it never hears from. */
struct fixture {
	char dir[32], key[64], sock[64], st[64];
	struct ev_loop *loop;
	struct ctl_server *ctl;
	struct conf *conf;
	struct site *site;
	struct site_snapshot snap;
	struct status_daemon daemon;
};

static int
setup_with(void **state, void (*before)(void))
{
	static const struct ctl_command none[] = {{NULL, false, NULL}};
	struct fixture *f = calloc(1, sizeof(*f));
	char text[1024], b64[KEY_BASE64_SIZE], beta[KEY_BASE64_SIZE];
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
	key_generate_private(priv);
	key_public_from_private(pub, priv);
	key_to_base64(beta, pub);
	assert_non_null(kf = fopen(f->key, "w"));
	fprintf(kf, "%s\n", b64);
	fclose(kf);
	assert_int_equal(chmod(f->key, 0600), 0);
	snprintf(text, sizeof(text),
	         "site = { name = \"alpha\"; };\n"
	         "wireguard = { interface = \"wg0\"; private_key_file = \"%s\"; };\n"
	         "control = { socket = \"%s\"; };\n"
	         "gossip = { bind = \"127.0.0.1:%u\"; state_file = \"%s\"; };\n"
	         "overlay = [ \"10.99.0.1\" ];\n"
	         "prefixes = [ \"10.1.0.0/16\" ];\n"
	         "segments = ( { name = \"tenant-a\"; vni = 100; } );\n"
	         "trust = ( { name = \"beta\"; public_key = \"%s\";\n"
	         "            prefixes = [ \"10.2.0.0/16\" ]; overlay = [ \"10.99.0.2\" ];\n"
	         "            vnis = [ 100 ]; } );\n",
	         f->key, f->sock, free_port(), f->st, beta);
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
	return setup_with(state, NULL);
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
	return setup_with(state, add_operator_route);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_replies_do_not_read_the_device, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_reply_keys, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_status_values, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_kept_read_figures_only, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_due_run_not_dropped, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_runs_spaced_by_cost, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_overlap_reported, setup_overlap, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
