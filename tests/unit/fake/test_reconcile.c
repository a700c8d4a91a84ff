/* The reconciler against the fake kernel: the exact requests from an empty kernel, nothing at
 * all when the kernel already matches (a second run, a restart adopting a data plane), only
 * the difference when a site comes or goes, repair after someone else's deletions (events) and
 * after lost events (resync), another owner's routes left alone, failures reported and
 * retried with backoff, and a teardown that removes netd's objects and nothing else. */
#include <errno.h>
#include <malloc.h>
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
#include <net/if.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "kernel-helpers/fake/fake.h"
#include "kernel-helpers/kh.h"
#include "kernel-helpers/monitor.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/wg.h"
#include "netd/conf.h"
#include "netd/key.h"
#include "netd/mesh.h"
#include "netd/reconcile.h"
#include "tests/unit/fake/fixtures.h"

#define S    MESH_USEC
#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct kh_monitor *mon;

static int
group_setup(void **state)
{
	(void)state;
	if (fixture_keyfile_create("reconcile") < 0)
		return -1;
	return kh_monitor_open(0, &mon);
}

static int
group_teardown(void **state)
{
	(void)state;
	kh_monitor_close(mon);
	/* Gives back the last test's kernel; a fresh one's few objects stay the fake's. */
	fake_reset();
	return fixture_keyfile_remove();
}

/* A fresh namespace with the site's LAN port eth1 (up), as it is before netd starts. */
static int
setup(void **state)
{
	(void)state;
	fake_reset();
	fake_act_as(FAKE_SETUP);
	if (fake_link_add("eth1", "veth", 1500, NULL) < 0)
		return -1;
	fake_act_as(FAKE_NETD);
	return 0;
}

/* The site alpha: IPv4 overlay, two trusted sites granted the prefixes of beta_grant and
 * gamma_grant (lists as the config writes them). */
static struct conf *
granting(const char *wg_extra, const char *beta_grant, const char *gamma_grant, const char *extra)
{
	char text[4096];

	snprintf(text, sizeof(text),
	         "site = { name = \"alpha\"; };\n"
	         "wireguard = { private_key_file = \"%s\"; %s };\n"
	         "overlay = [ \"10.99.0.1\" ];\n"
	         "prefixes = [ \"10.1.0.0/16\" ];\n"
	         "trust = (\n"
	         "  { name = \"beta\"; public_key = \"%s\"; prefixes = [ %s ];\n"
	         "    overlay = [ \"10.99.0.2\" ]; vnis = [ 100 ]; },\n"
	         "  { name = \"gamma\"; public_key = \"%s\"; prefixes = [ %s ];\n"
	         "    overlay = [ \"10.99.0.3\" ]; vnis = [ 100 ]; }\n"
	         ");\n"
	         "%s",
	         fixture_keyfile, wg_extra, fixture_pubkey_text(1), beta_grant,
	         fixture_pubkey_text(2), gamma_grant, extra);
	return fixture_conf(text);
}

/* beta granted 10.2.0.0/16, gamma 10.3.0.0/16. */
static struct conf *
load_conf(const char *wg_extra, const char *extra)
{
	return granting(wg_extra, "\"10.2.0.0/16\"", "\"10.3.0.0/16\"", extra);
}

#define WG0 "interface = \"wg0\";"

static const char segments[] =
        "segments = ( { name = \"tenant-a\"; vni = 100; ports = [ \"eth1\" ]; } );\n";

static struct conf *
default_conf(void)
{
	return load_conf(WG0, segments);
}

/* --- views --- */

static const struct fixture_site beta =
        FIXTURE_SITE("beta", 1, "192.0.2.2 51820", "10.99.0.2", "10.2.0.0/16", "100");
static const struct fixture_site gamma =
        FIXTURE_SITE("gamma", 2, "192.0.2.3 51820", "10.99.0.3", "10.3.0.0/16", "100");

static struct mesh_desired *
desired_of(const struct conf *conf, const struct fixture_site *const *view, size_t n)
{
	struct fixture_site sites[4];

	assert_true(n <= N(sites));
	for (size_t i = 0; i < n; i++)
		sites[i] = *view[i];
	return fixture_compute(conf, sites, n, NULL, 0);
}

/* --- the log and the events --- */

/* Replaces @PRIV@, @BETA@, @GAMMA@ and @HIGH@ (key 255) by the keys' base64. */
static char *
with_keys(const char *text)
{
	const struct {
		const char *tag, *value;
	} tags[] = {{"@PRIV@", fixture_private_key},
	            {"@BETA@", fixture_pubkey_text(1)},
	            {"@GAMMA@", fixture_pubkey_text(2)},
	            {"@HIGH@", fixture_pubkey_text(255)}};
	size_t cap = strlen(text) * 2 + 256, len = 0;
	char *out = malloc(cap);

	assert_non_null(out);
	while (*text) {
		size_t i;

		for (i = 0; i < N(tags); i++)
			if (!strncmp(text, tags[i].tag, strlen(tags[i].tag)))
				break;
		if (i < N(tags)) {
			len += (size_t)snprintf(out + len, cap - len, "%s", tags[i].value);
			text += strlen(tags[i].tag);
		} else {
			out[len++] = *text++;
		}
	}
	out[len] = '\0';
	return out;
}

/* The changes netd asked for since the last fake_clear_ops, exactly; then forgets them. */
static void
expect_changes(const char *want)
{
	char *log = fake_log(true), *w = with_keys(want);

	assert_non_null(log);
	assert_string_equal(log, w);
	free(log);
	free(w);
	fake_clear_ops();
}

static void
on_event(const struct kh_event *ev, void *arg)
{
	reconcile_note_event(arg, ev);
}

/* Hands every waiting event to the reconciler, as the daemon's loop does. */
static void
drain(struct reconcile *r)
{
	while (kh_monitor_read(mon, on_event, r) > 0)
		;
}

/* Forgets what is waiting on the monitor (changes made while nothing listened). */
static void
forget_events(void)
{
	struct reconcile *r;

	assert_int_equal(reconcile_new(&r), 0);
	drain(r);
	reconcile_free(r);
}

static struct reconcile *
started(const struct mesh_desired *d)
{
	struct reconcile *r;

	assert_int_equal(reconcile_new(&r), 0);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, 0), 0);
	forget_events();
	fake_clear_ops();
	return r;
}

/* A report of kind and err on object (as the logs name it) whose words hold text_part. */
static const struct reconcile_report *
expect_report(const struct reconcile *r, enum reconcile_report_kind kind, int err,
              const char *object, const char *text_part)
{
	size_t n;
	const struct reconcile_report *reps = reconcile_reports(r, &n);
	char line[RECONCILE_REPORT_STRLEN];

	for (size_t i = 0; i < n; i++) {
		reconcile_report_format(&reps[i], true, line, sizeof(line));
		if (reps[i].kind == kind && reps[i].err == err &&
		    !strncmp(line, object, strlen(object)) &&
		    !strncmp(line + strlen(object), ": ", 2) && strstr(line, text_part))
			return &reps[i];
	}
	for (size_t i = 0; i < n; i++)
		print_error("report %d (%d): %s\n", reps[i].kind, reps[i].err,
		            reconcile_report_format(&reps[i], true, line, sizeof(line)));
	fail_msg("no report of kind %d on %s with \"%s\"", kind, object, text_part);
	return NULL;
}

static size_t
report_count(const struct reconcile *r)
{
	size_t n;

	reconcile_reports(r, &n);
	return n;
}

static int
route_prefix_qcmp(const void *a, const void *b)
{
	return addr_prefix_cmp(&((const struct kh_route *)a)->dst,
	                       &((const struct kh_route *)b)->dst);
}

/* Routes of table and protocol in the kernel, as "PREFIX dev NAME" lines (a throw route:
 * "PREFIX throw metric N proto P"), or with reject set its reject routes as "PREFIX TYPE
 * metric N" lines; read unlogged. */
static char *
routes_of(uint32_t table, int protocol, bool reject)
{
	struct kh_route *routes = NULL;
	size_t n = 0, len = 0;
	char *out = calloc(1, 1024);

	assert_non_null(out);
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_route_list(AF_UNSPEC, table, protocol, &routes, &n), 0);
	/* The fake lists in the order of installation; fences by prefix. */
	if (reject && n > 1)
		qsort(routes, n, sizeof(*routes), route_prefix_qcmp);
	for (size_t i = 0; i < n; i++) {
		char p[ADDR_PREFIX_STRLEN], t[16];
		struct kh_link l;

		if (kh_route_type_rejects(routes[i].type) != reject)
			continue;
		if (reject) {
			len += (size_t)snprintf(out + len, 1024 - len, "%s %s metric %u\n",
			                        addr_prefix_format(&routes[i].dst, p),
			                        kh_route_type_name(routes[i].type, t),
			                        routes[i].metric);
			continue;
		}
		if (routes[i].type == KH_ROUTE_THROW) {
			len += (size_t)snprintf(out + len, 1024 - len,
			                        "%s throw metric %u proto %u\n",
			                        addr_prefix_format(&routes[i].dst, p),
			                        routes[i].metric, routes[i].protocol);
			continue;
		}
		assert_int_equal(kh_link_get_index(routes[i].oif, &l), 0);
		len += (size_t)snprintf(out + len, 1024 - len, "%s dev %s proto %u\n",
		                        addr_prefix_format(&routes[i].dst, p), l.name,
		                        routes[i].protocol);
	}
	free(routes);
	fake_act_as(FAKE_NETD);
	return out;
}

static char *
routes_text(uint32_t table, int protocol)
{
	return routes_of(table, protocol, false);
}

static void
expect_routes(uint32_t table, int protocol, const char *want)
{
	char *have = routes_text(table, protocol);

	assert_string_equal(have, want);
	free(have);
}

/* netd's fail-closed routes in table. */
static void
expect_failclosed(uint32_t table, const char *want)
{
	char *have = routes_of(table, 200, true);

	assert_string_equal(have, want);
	free(have);
}

/* reconcile_fences as "PREFIX yes" or "PREFIX no: REASON" lines. */
static void
expect_fences(const struct reconcile *r, const char *want)
{
	char have[2048];
	size_t n, len = 0;
	const struct reconcile_fence *f = reconcile_fences(r, &n);

	have[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char p[ADDR_PREFIX_STRLEN], why[RECONCILE_REPORT_STRLEN];
		const char *reason = reconcile_fence_reason(r, &f[i], why, sizeof(why));
		struct addr_prefix dst = addr_prefix_unpack(&f[i].dst);

		assert_true(f[i].installed == (reason == NULL));
		assert_true(f[i].installed == (f[i].report == RECONCILE_NO_REPORT));
		len += (size_t)snprintf(have + len, sizeof(have) - len, "%s %s%s%s\n",
		                        addr_prefix_format(&dst, p), f[i].installed ? "yes" : "no",
		                        reason ? ": " : "", reason ? reason : "");
		assert_true(len < sizeof(have));
	}
	assert_string_equal(have, want);
}

/* reconcile_route_changes as "ACTION PREFIX via SITE" lines, a move with " from SITE", a
 * blocked route or a yield with ": REASON", a withdrawn blocked one with " (withdrawn)"; an
 * unknown site is "-". */
static void
expect_route_changes(const struct reconcile *r, const char *want)
{
	static const char *const actions[] = {
	        [RECONCILE_ROUTE_ADDED] = "added",     [RECONCILE_ROUTE_REPLACED] = "replaced",
	        [RECONCILE_ROUTE_MOVED] = "moved",     [RECONCILE_ROUTE_WITHDRAWN] = "withdrawn",
	        [RECONCILE_ROUTE_BLOCKED] = "blocked", [RECONCILE_ROUTE_UNBLOCKED] = "unblocked",
	        [RECONCILE_ROUTE_YIELDED] = "yielded", [RECONCILE_ROUTE_RECLAIMED] = "reclaimed",
	};
	char have[2048];
	size_t n, len = 0;
	const struct reconcile_route_change *c = reconcile_route_changes(r, &n);

	have[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char p[ADDR_PREFIX_STRLEN], why[RECONCILE_REPORT_STRLEN];

		assert_true((c[i].action == RECONCILE_ROUTE_BLOCKED ||
		             c[i].action == RECONCILE_ROUTE_YIELDED) == (c[i].report != NULL));
		len += (size_t)snprintf(
		        have + len, sizeof(have) - len, "%s %s via %s%s%s%s%s%s\n",
		        actions[c[i].action], addr_prefix_format(&c[i].dst, p),
		        c[i].via[0] ? c[i].via : "-", c[i].from[0] ? " from " : "", c[i].from,
		        c[i].withdrawn ? " (withdrawn)" : "", c[i].report ? ": " : "",
		        c[i].report ? reconcile_report_format(c[i].report, false, why, sizeof(why))
		                    : "");
		assert_true(len < sizeof(have));
	}
	assert_string_equal(have, want);
}

/* reconcile_overlaps as "OTHER table T proto P over NETD-ROUTE via SITE: ACTION" lines, a
 * yield with " (in)" or " (out)" for its throw route; a fence is "via -". */
static void
expect_overlaps(const struct reconcile *r, const char *want)
{
	char have[2048];
	size_t n, len = 0;
	const struct reconcile_overlap *o = reconcile_overlaps(r, &n);

	have[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct reconcile_report *rep = o[i].report;
		bool yield = o[i].action == RECONCILE_OVERLAP_YIELDED;
		char p[ADDR_PREFIX_STRLEN], q[ADDR_PREFIX_STRLEN];

		len += (size_t)snprintf(
		        have + len, sizeof(have) - len,
		        "%s table %u proto %u over %s via %s: %s%s\n",
		        addr_prefix_format(&rep->other.dst, p), rep->other.table,
		        rep->other.protocol,
		        addr_prefix_format(yield ? &rep->netd_route : &rep->object.dst, q),
		        rep->site[0] ? rep->site : "-", reconcile_overlap_action_name(o[i].action),
		        !yield           ? ""
		        : o[i].installed ? " (in)"
		                         : " (out)");
		assert_true(len < sizeof(have));
	}
	assert_string_equal(have, want);
}

static bool
link_exists(const char *name, struct kh_link *out)
{
	struct kh_link l;
	int err;

	fake_act_as(FAKE_SETUP);
	err = kh_link_get(name, &l);
	fake_act_as(FAKE_NETD);
	if (err == 0 && out)
		*out = l;
	return err == 0;
}

/* What a fresh start writes, in order: devices first, then what goes through them. */
static const char start_log[] =
        "route replace unreachable 10.2.0.0/16 table 51820 proto 200 metric 65535\n"
        "route replace unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n"
        "route replace unreachable 10.99.0.2/32 table 51820 proto 200 metric 65535\n"
        "route replace unreachable 10.99.0.3/32 table 51820 proto 200 metric 65535\n"
        "rule add inet pref 32000 lookup 51820 proto 200\n"
        "wg add wg0 kernel\n"
        "wg set wg0 private-key @PRIV@ listen-port 51820\n"
        "addr add 10.99.0.1/32 dev wg0\n"
        "link set wg0 up\n"
        "wg set wg0 peer @BETA@ endpoint 192.0.2.2:51820 persistent-keepalive 1 "
        "replace-allowed-ips allowed-ips 10.2.0.0/16,10.99.0.2/32 "
        "peer @BETA@ update-only persistent-keepalive 0\n"
        "link add vxlan vxlan100 vni 100 local 10.99.0.1 port 4789 nolearning mtu 1370\n"
        "link add bridge br-tenant-a mtu 1370\n"
        "link set vxlan100 master br-tenant-a\n"
        "link set eth1 master br-tenant-a\n"
        "link set vxlan100 up\n"
        "link set br-tenant-a up\n"
        "route replace 10.2.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
        "route replace 10.99.0.2/32 dev wg0 table 51820 proto 200 metric 10\n"
        "fdb append 00:00:00:00:00:00 dev vxlan100 dst 10.99.0.2\n";

/* --- tests --- */

static void
test_start_from_empty(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile_stats st;
	struct reconcile *r;

	(void)state;
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	expect_changes(start_log);
	assert_int_equal(report_count(r), 0);
	expect_route_changes(r, "added 10.2.0.0/16 via beta\nadded 10.99.0.2/32 via beta\n");
	/* beta's handshake is looked at once more, whichever side starts it again. */
	assert_int_equal(reconcile_retry_at(r), RECONCILE_HANDSHAKE_RETRY);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.last_applied, 19);
	assert_int_equal(st.applied[RECONCILE_OP_PEER_ADD], 1);
	assert_int_equal(st.applied[RECONCILE_OP_ROUTE_ADD], 6);
	assert_int_equal(st.applied[RECONCILE_OP_LINK_CREATE], 2);
	assert_int_equal(st.applied[RECONCILE_OP_LINK_MASTER], 2);
	assert_int_equal(st.applied[RECONCILE_OP_FDB_ADD], 1);
	assert_int_equal(st.last_failed, 0);
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, RECONCILE_HANDSHAKE_RETRY), 0);
	assert_int_equal(fake_changes(), 0);
	assert_int_equal(reconcile_retry_at(r), 0);
	expect_routes(51820, 200,
	              "10.2.0.0/16 dev wg0 proto 200\n10.99.0.2/32 dev wg0 proto 200\n");
	/* Every grant, prefixes and overlay, of a site seen or not (gamma). */
	expect_failclosed(51820, "10.2.0.0/16 unreachable metric 65535\n"
	                         "10.3.0.0/16 unreachable metric 65535\n"
	                         "10.99.0.2/32 unreachable metric 65535\n"
	                         "10.99.0.3/32 unreachable metric 65535\n");
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* The second run, and the run the echoes of the first one's link changes ask for, change
 * nothing; a run that changes nothing reads each kind of object once. */
static void
test_again_changes_nothing(void **state)
{
	const struct fixture_site *view[] = {&beta, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile_stats st;
	struct reconcile *r;

	(void)state;
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	drain(r);
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, S), 0);
	assert_int_equal(fake_changes(), 0);
	expect_route_changes(r, "");
	reconcile_get_stats(r, &st);
	assert_int_equal(st.last_applied, 0);
	/* Links, the WireGuard device, its addresses, the routes of the table and of main, the
	 * table's rules, and the FDB of the one segment. */
	print_message("a run that changes nothing makes %zu calls\n", fake_count(FAKE_OP_ANY));
	assert_int_equal(fake_count(FAKE_OP_ANY), 7);
	assert_int_equal(fake_count(FAKE_OP_LINK_LIST), 1);
	assert_int_equal(fake_count(FAKE_OP_WG_GET), 1);
	assert_int_equal(fake_count(FAKE_OP_ADDR_LIST), 1);
	assert_int_equal(fake_count(FAKE_OP_ROUTE_LIST), 2);
	assert_int_equal(fake_count(FAKE_OP_RULE_LIST), 1);
	assert_int_equal(fake_count(FAKE_OP_FDB_LIST), 1);
	/* Nothing changed, nothing announced. */
	drain(r);
	assert_false(reconcile_dirty(r));
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A restart on a kernel that holds everything already: adopted without a single change,
 * whichever WireGuard implementation serves the interface. */
static void
test_adopt(void **state)
{
	static const struct {
		bool kernel_then, kernel_now;
	} cases[] = {{true, true}, {false, true}, {false, false}};
	const struct fixture_site *view[] = {&beta, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct reconcile *before, *r;
		struct reconcile_stats st;

		setup(NULL);
		fake_wg_set_kernel(cases[i].kernel_then);
		fake_act_as(FAKE_SETUP);
		assert_int_equal(reconcile_new(&before), 0);
		assert_int_equal(reconcile_run(before, d, 0), 0);
		reconcile_free(before);
		fake_act_as(FAKE_NETD);
		fake_wg_set_kernel(cases[i].kernel_now);
		fake_clear_ops();

		assert_int_equal(reconcile_new(&r), 0);
		assert_int_equal(reconcile_run(r, d, 0), 0);
		expect_changes("");
		/* Nothing done, nothing to tell. */
		expect_route_changes(r, "");
		reconcile_get_stats(r, &st);
		assert_int_equal(st.last_applied, 0);
		assert_int_equal(report_count(r), 0);
		reconcile_free(r);
	}
	mesh_desired_free(d);
	conf_free(conf);
}

/* A restart on a kernel that holds a little more and a little less than wanted: only the
 * difference changes, and what goes leaves before what it went through. */
static void
test_adopt_difference(void **state)
{
	const struct fixture_site *then[] = {&beta, &gamma}, *now[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *old = desired_of(conf, then, N(then));
	struct mesh_desired *d = desired_of(conf, now, N(now));
	struct kh_route stale = {.table = 51820, .protocol = 200, .metric = 10};
	struct kh_ifaddr extra = {0};
	struct reconcile *r;
	struct kh_link wg;

	(void)state;
	fake_act_as(FAKE_SETUP);
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, old, 0), 0);
	reconcile_free(r);
	assert_true(link_exists("wg0", &wg));
	fake_act_as(FAKE_SETUP);
	stale.oif = wg.ifindex;
	assert_int_equal(addr_prefix_parse("10.7.0.0/16", &stale.dst), 0);
	assert_int_equal(kh_route_replace(&stale), 0);
	extra.ifindex = wg.ifindex;
	assert_int_equal(addr_prefix_parse("10.98.0.1/24", &extra.prefix), 0);
	assert_int_equal(kh_ifaddr_add(&extra), 0);
	fake_act_as(FAKE_NETD);

	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	expect_changes("route del 10.3.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
	               "route del 10.7.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
	               "route del 10.99.0.3/32 dev wg0 table 51820 proto 200 metric 10\n"
	               "fdb del 00:00:00:00:00:00 dev vxlan100 dst 10.99.0.3\n"
	               "addr del 10.98.0.1/24 dev wg0\n"
	               "wg set wg0 peer @GAMMA@ remove\n");
	/* An earlier netd's routes: where they led is not known. */
	expect_route_changes(r, "withdrawn 10.3.0.0/16 via -\n"
	                        "withdrawn 10.7.0.0/16 via -\n"
	                        "withdrawn 10.99.0.3/32 via -\n");
	reconcile_free(r);
	mesh_desired_free(old);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A site comes: its peer, routes and FDB entry, nothing else; it goes: the same, removed. The
 * echoes of those changes do not call for another run. */
static void
test_site_added_and_removed(void **state)
{
	const struct fixture_site *one[] = {&beta}, *two[] = {&beta, &gamma}, *other[] = {&gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d1 = desired_of(conf, one, N(one));
	struct mesh_desired *d2 = desired_of(conf, two, N(two));
	struct mesh_desired *d3 = desired_of(conf, other, N(other));
	struct reconcile *r = started(d1);

	(void)state;
	assert_int_equal(reconcile_run(r, d2, S), 0);
	/* Its grant, prefixes and overlay, was fenced before it came. Its peer is written with
	 * keepalive 1 and then its own 0, which makes WireGuard handshake at once. */
	expect_changes("wg set wg0 peer @GAMMA@ endpoint 192.0.2.3:51820 persistent-keepalive 1 "
	               "replace-allowed-ips allowed-ips 10.3.0.0/16,10.99.0.3/32 "
	               "peer @GAMMA@ update-only persistent-keepalive 0\n"
	               "route replace 10.3.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
	               "route replace 10.99.0.3/32 dev wg0 table 51820 proto 200 metric 10\n"
	               "fdb append 00:00:00:00:00:00 dev vxlan100 dst 10.99.0.3\n");
	expect_route_changes(r, "added 10.3.0.0/16 via gamma\nadded 10.99.0.3/32 via gamma\n");
	drain(r);
	assert_false(reconcile_dirty(r));

	assert_int_equal(reconcile_run(r, d3, 2 * S), 0);
	expect_changes("route del 10.2.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
	               "route del 10.99.0.2/32 dev wg0 table 51820 proto 200 metric 10\n"
	               "fdb del 00:00:00:00:00:00 dev vxlan100 dst 10.99.0.2\n"
	               "wg set wg0 peer @BETA@ remove\n");
	expect_route_changes(r,
	                     "withdrawn 10.2.0.0/16 via beta\nwithdrawn 10.99.0.2/32 via beta\n");
	drain(r);
	assert_false(reconcile_dirty(r));
	expect_routes(51820, KH_ROUTE_ANY_PROTOCOL,
	              "10.3.0.0/16 dev wg0 proto 200\n10.99.0.3/32 dev wg0 proto 200\n");
	/* beta's grant, its overlay too, stays fenced: its trust entry is there. */
	expect_failclosed(51820, "10.2.0.0/16 unreachable metric 65535\n"
	                         "10.3.0.0/16 unreachable metric 65535\n"
	                         "10.99.0.2/32 unreachable metric 65535\n"
	                         "10.99.0.3/32 unreachable metric 65535\n");
	reconcile_free(r);
	mesh_desired_free(d1);
	mesh_desired_free(d2);
	mesh_desired_free(d3);
	conf_free(conf);
}

/* Someone else deletes a route and an FDB entry of netd's: the events make the reconciler
 * dirty and the next run puts back exactly those. Changes elsewhere leave it clean. */
static void
test_repair_after_deletion(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r = started(d);
	struct kh_route route = {.table = 51820, .protocol = 200, .metric = 10};
	struct kh_route elsewhere = {.table = 254, .protocol = 4, .metric = 0};
	struct kh_fdb fdb = {0};
	struct kh_link vx, eth1;

	(void)state;
	assert_true(link_exists("vxlan100", &vx));
	assert_true(link_exists("eth1", &eth1));
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_link_set_up(eth1.ifindex, true), 0);
	elsewhere.oif = eth1.ifindex;
	assert_int_equal(addr_prefix_parse("10.60.0.0/16", &elsewhere.dst), 0);
	assert_int_equal(kh_route_replace(&elsewhere), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_false(reconcile_dirty(r));

	fake_act_as(FAKE_OTHER);
	assert_int_equal(addr_prefix_parse("10.2.0.0/16", &route.dst), 0);
	assert_int_equal(kh_route_del(&route), 0);
	fdb.ifindex = vx.ifindex;
	assert_int_equal(addr_parse("10.99.0.2", &fdb.dst), 0);
	assert_int_equal(kh_fdb_del(&fdb), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, S), 0);
	assert_false(reconcile_dirty(r));
	expect_changes("route replace 10.2.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
	               "fdb append 00:00:00:00:00:00 dev vxlan100 dst 10.99.0.2\n");
	/* Put back: the kernel had lost it, and has it again. */
	expect_route_changes(r, "added 10.2.0.0/16 via beta\n");
	expect_routes(254, 4, "10.60.0.0/16 dev eth1 proto 4\n");
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* netd's lookup rule deleted by hand is an event that calls for a run, which puts it back;
 * another owner's rule for another table, and the echo of netd's own add, change nothing. */
static void
test_repair_rule(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r = started(d);
	struct kh_rule other = {.family = AF_INET, .priority = 100, .table = 100, .protocol = 4};

	(void)state;
	assert_int_equal(d->nrules, 1);
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_rule_add(&other), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_false(reconcile_dirty(r));
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_rule_del(&d->rules[0]), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("rule add inet pref 32000 lookup 51820 proto 200\n");
	drain(r);
	assert_false(reconcile_dirty(r));
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* Someone takes the WireGuard link down: its IPv4 routes vanish without a word, the link's
 * event is enough to bring both back. An MTU changed behind netd's back is put right too. */
static void
test_repair_link(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r = started(d);
	struct kh_link wg, vx;

	(void)state;
	assert_true(link_exists("wg0", &wg));
	assert_true(link_exists("vxlan100", &vx));
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_link_set_up(wg.ifindex, false), 0);
	assert_int_equal(kh_link_set_mtu(vx.ifindex, 1300), 0);
	fake_act_as(FAKE_NETD);
	expect_routes(51820, 200, "");
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("link set wg0 up\n"
	               "link set vxlan100 mtu 1370\n"
	               "route replace 10.2.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
	               "route replace 10.99.0.2/32 dev wg0 table 51820 proto 200 metric 10\n");
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* Addresses on netd's WireGuard device are netd's: one taken away comes back, one added by
 * someone else goes; the kernel's IPv6 link-local addresses are left alone. */
/* Fail closed. The WireGuard device deleted takes its routes but not the unreachable ones, so
 * beta's traffic is refused, not sent through main, until the run its deletion asks for. A
 * fail-closed route deleted by someone else is put back by the run the event asks for. A
 * withdrawn site keeps its fences, and a restart adopts them; another owner's route of the
 * same prefix and metric is left alone; teardown removes them. */
static void
test_failclosed(void **state)
{
	/* Dead since its whole hold: withdrawn. */
	static const struct fixture_site dead_beta = {
	        .name = "beta",
	        .key = 1,
	        .endpoint = "192.0.2.2 51820",
	        .overlay = "10.99.0.2",
	        .prefixes = "10.2.0.0/16",
	        .vnis = "100",
	        .state = MESH_DEAD,
	        .died_at = -MESH_DEFAULT_DEAD_HOLD,
	};
	static const char all[] = "10.2.0.0/16 unreachable metric 65535\n"
	                          "10.3.0.0/16 unreachable metric 65535\n"
	                          "10.99.0.2/32 unreachable metric 65535\n"
	                          "10.99.0.3/32 unreachable metric 65535\n";
	const struct fixture_site *view[] = {&beta}, *withdrawn[] = {&dead_beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct mesh_desired *dw = desired_of(conf, withdrawn, N(withdrawn));
	struct reconcile *r = started(d);
	struct kh_route fence = {.table = 51820, .protocol = 200, .metric = 65535};
	struct kh_route theirs = {.table = 51820, .protocol = 4, .metric = 65535};
	struct kh_link wg;

	(void)state;
	assert_int_equal(dw->npeers, 0);
	assert_true(link_exists("wg0", &wg));
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_link_del(wg.ifindex), 0);
	fake_act_as(FAKE_NETD);
	expect_routes(51820, 200, "");
	expect_failclosed(51820, all);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_routes(51820, 200,
	              "10.2.0.0/16 dev wg0 proto 200\n10.99.0.2/32 dev wg0 proto 200\n");
	expect_failclosed(51820, all);
	forget_events();
	fake_clear_ops();

	fake_act_as(FAKE_OTHER);
	assert_int_equal(addr_prefix_parse("10.3.0.0/16", &fence.dst), 0);
	assert_int_equal(kh_route_del(&fence), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, 2 * S), 0);
	expect_changes(
	        "route replace unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n");
	drain(r);
	assert_false(reconcile_dirty(r));

	/* Withdrawn: its tunnel goes, its fences stay. */
	assert_int_equal(reconcile_run(r, dw, 3 * S), 0);
	expect_changes("route del 10.2.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
	               "route del 10.99.0.2/32 dev wg0 table 51820 proto 200 metric 10\n"
	               "fdb del 00:00:00:00:00:00 dev vxlan100 dst 10.99.0.2\n"
	               "wg set wg0 peer @BETA@ remove\n");
	expect_failclosed(51820, all);
	drain(r);
	reconcile_free(r);
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, dw, 4 * S), 0);
	assert_int_equal(fake_changes(), 0);

	/* Another owner's route in the place of one: not replaced, reported. */
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_route_del(&fence), 0);
	theirs.type = KH_ROUTE_BLACKHOLE;
	theirs.dst = fence.dst;
	assert_int_equal(kh_route_replace(&theirs), 0);
	fake_act_as(FAKE_NETD);
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, dw, 5 * S), 0);
	assert_int_equal(fake_changes(), 0);
	expect_report(r, RECONCILE_REPORT_FENCE_COLLISION, 0,
	              "route 10.3.0.0/16 table 51820 metric 65535", "same prefix and metric");
	expect_fences(r,
	              "10.2.0.0/16 yes\n"
	              "10.3.0.0/16 no: fail-closed route not installed: another owner's route "
	              "(protocol 4) has the same prefix and metric; traffic there is not fenced\n"
	              "10.99.0.2/32 yes\n"
	              "10.99.0.3/32 yes\n");

	assert_int_equal(reconcile_teardown(r, dw), 0);
	expect_failclosed(51820, "");
	expect_fences(r, "");
	expect_routes(51820, 4, "");
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(dw);
	conf_free(conf);
}

/* A grant over a subnet of this gateway's interfaces (an underlay inside it, say): the fence
 * leaves that subnet to the local routes, says so, and follows the address as it goes and
 * comes back. */
static void
test_failclosed_local(void **state)
{
	static const char carved[] = "10.2.0.0/16 unreachable metric 65535\n"
	                             "10.3.0.0/22 unreachable metric 65535\n"
	                             "10.3.4.0/23 unreachable metric 65535\n"
	                             "10.3.6.0/24 unreachable metric 65535\n"
	                             "10.3.8.0/21 unreachable metric 65535\n"
	                             "10.3.16.0/20 unreachable metric 65535\n"
	                             "10.3.32.0/19 unreachable metric 65535\n"
	                             "10.3.64.0/18 unreachable metric 65535\n"
	                             "10.3.128.0/17 unreachable metric 65535\n"
	                             "10.99.0.2/32 unreachable metric 65535\n"
	                             "10.99.0.3/32 unreachable metric 65535\n";
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct kh_ifaddr local = {0};
	struct kh_link eth1;
	struct reconcile *r;

	(void)state;
	assert_true(link_exists("eth1", &eth1));
	local.ifindex = eth1.ifindex;
	assert_int_equal(addr_prefix_parse("10.3.7.1/24", &local.prefix), 0);
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_ifaddr_add(&local), 0);
	fake_act_as(FAKE_NETD);
	r = started(d);
	expect_failclosed(51820, carved);
	expect_report(r, RECONCILE_REPORT_FENCE_LEFT_OUT, 0,
	              "route 10.3.0.0/16 table 51820 metric 65535", "leaves out 10.3.7.0/24");
	/* The status socket shows the pieces and the part left out. */
	expect_fences(r,
	              "10.2.0.0/16 yes\n"
	              "10.3.0.0/22 yes\n"
	              "10.3.4.0/23 yes\n"
	              "10.3.6.0/24 yes\n"
	              "10.3.7.0/24 no: fail-closed route leaves out 10.3.7.0/24, a subnet of this "
	              "gateway's interfaces: traffic there is not fenced\n"
	              "10.3.8.0/21 yes\n"
	              "10.3.16.0/20 yes\n"
	              "10.3.32.0/19 yes\n"
	              "10.3.64.0/18 yes\n"
	              "10.3.128.0/17 yes\n"
	              "10.99.0.2/32 yes\n"
	              "10.99.0.3/32 yes\n");

	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_ifaddr_del(&local), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_failclosed(51820, "10.2.0.0/16 unreachable metric 65535\n"
	                         "10.3.0.0/16 unreachable metric 65535\n"
	                         "10.99.0.2/32 unreachable metric 65535\n"
	                         "10.99.0.3/32 unreachable metric 65535\n");
	assert_int_equal(report_count(r), 0);
	drain(r);
	assert_false(reconcile_dirty(r));

	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_ifaddr_add(&local), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, 2 * S), 0);
	expect_failclosed(51820, carved);

	/* Addresses of subnets no fence covers do not concern it. */
	drain(r);
	assert_int_equal(addr_prefix_parse("192.0.2.1/24", &local.prefix), 0);
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_ifaddr_add(&local), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_false(reconcile_dirty(r));
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

static void
test_repair_addresses(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r = started(d);
	struct kh_ifaddr own = {0}, extra = {0}, ll = {0};
	struct kh_link wg;

	(void)state;
	assert_true(link_exists("wg0", &wg));
	own.ifindex = extra.ifindex = ll.ifindex = wg.ifindex;
	assert_int_equal(addr_prefix_parse("10.99.0.1/32", &own.prefix), 0);
	assert_int_equal(addr_prefix_parse("10.98.0.1/24", &extra.prefix), 0);
	assert_int_equal(addr_prefix_parse("fe80::1/64", &ll.prefix), 0);
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_ifaddr_add(&ll), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_false(reconcile_dirty(r));

	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_ifaddr_del(&own), 0);
	assert_int_equal(kh_ifaddr_add(&extra), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("addr del 10.98.0.1/24 dev wg0\n"
	               "addr add 10.99.0.1/32 dev wg0\n");
	drain(r);
	assert_false(reconcile_dirty(r));
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* Another owner's route on the same prefix, inside, or around one of netd's: netd's is not
 * installed (or withdrawn), the collision is reported, and the other route is left alone. */
static void
test_collisions(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct kh_route theirs = {.table = 51820, .protocol = 4, .metric = 10};
	struct kh_route around = {.table = 51820, .protocol = 4, .metric = 5};
	struct kh_route deflt = {.table = 51820, .protocol = 4, .metric = 5};
	const struct reconcile_report *rep;
	struct reconcile_stats st;
	struct reconcile *r;
	struct kh_link eth1;

	(void)state;
	assert_true(link_exists("eth1", &eth1));
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_link_set_up(eth1.ifindex, true), 0);
	theirs.oif = around.oif = deflt.oif = eth1.ifindex;
	assert_int_equal(addr_prefix_parse("10.2.0.0/16", &theirs.dst), 0);
	assert_int_equal(kh_route_replace(&theirs), 0);
	/* A default route harms nobody. */
	assert_int_equal(addr_prefix_parse("0.0.0.0/0", &deflt.dst), 0);
	assert_int_equal(kh_route_replace(&deflt), 0);
	fake_act_as(FAKE_NETD);

	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	rep = expect_report(r, RECONCILE_REPORT_ROUTE_COLLISION, 0,
	                    "route 10.2.0.0/16 table 51820 metric 10", "has the same prefix");
	assert_int_equal(report_count(r), 1);
	/* The same as data: netd's route, the other owner's, how they meet, the site. */
	assert_true(addr_prefix_equal(&rep->object.dst, &theirs.dst));
	assert_int_equal(rep->object.table, 51820);
	assert_int_equal(rep->object.metric, 10);
	assert_true(addr_prefix_equal(&rep->other.dst, &theirs.dst));
	assert_int_equal(rep->other.protocol, 4);
	assert_int_equal(rep->overlap, KH_OVERLAP_SAME);
	assert_string_equal(rep->site, "beta");
	expect_route_changes(r,
	                     "added 10.99.0.2/32 via beta\n"
	                     "blocked 10.2.0.0/16 via beta: not installed: another owner's route "
	                     "10.2.0.0/16 (protocol 4) has the same prefix; site beta's traffic "
	                     "there is not taken\n");
	expect_routes(51820, KH_ROUTE_ANY_PROTOCOL,
	              "10.2.0.0/16 dev eth1 proto 4\n0.0.0.0/0 dev eth1 proto 4\n"
	              "10.99.0.2/32 dev wg0 proto 200\n");
	expect_overlaps(r, "10.2.0.0/16 table 51820 proto 4 over 10.2.0.0/16 via beta: not-"
	                   "installed\n");
	forget_events();
	fake_clear_ops();

	/* The other owner gives it up: netd takes it. */
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_route_del(&theirs), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("route replace 10.2.0.0/16 dev wg0 table 51820 proto 200 metric 10\n");
	assert_int_equal(report_count(r), 0);
	expect_route_changes(r, "unblocked 10.2.0.0/16 via beta\nadded 10.2.0.0/16 via beta\n");

	/* Another owner covers it later: netd steps back from the covered route. */
	fake_act_as(FAKE_OTHER);
	assert_int_equal(addr_prefix_parse("10.0.0.0/8", &around.dst), 0);
	assert_int_equal(kh_route_replace(&around), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, 2 * S), 0);
	expect_changes("route del 10.2.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
	               "route del 10.99.0.2/32 dev wg0 table 51820 proto 200 metric 10\n");
	expect_report(r, RECONCILE_REPORT_ROUTE_COLLISION, 0,
	              "route 10.2.0.0/16 table 51820 metric 10", "covers it");
	expect_report(r, RECONCILE_REPORT_ROUTE_COLLISION, 0,
	              "route 10.99.0.2/32 table 51820 metric 10", "covers it");
	expect_routes(51820, 4, "0.0.0.0/0 dev eth1 proto 4\n10.0.0.0/8 dev eth1 proto 4\n");
	expect_route_changes(r,
	                     "blocked 10.2.0.0/16 via beta (withdrawn): not installed: another "
	                     "owner's route 10.0.0.0/8 (protocol 4) covers it; site beta's traffic "
	                     "there is not taken\n"
	                     "blocked 10.99.0.2/32 via beta (withdrawn): not installed: another "
	                     "owner's route 10.0.0.0/8 (protocol 4) covers it; site beta's traffic "
	                     "there is not taken\n");
	expect_overlaps(r,
	                "10.0.0.0/8 table 51820 proto 4 over 10.2.0.0/16 via beta: withdrawn\n"
	                "10.0.0.0/8 table 51820 proto 4 over 10.99.0.2/32 via beta: withdrawn\n");
	reconcile_get_stats(r, &st);
	assert_int_equal(st.overlap_withdrawals, 2);
	/* Still kept out: reported, but nothing new to tell. */
	assert_int_equal(reconcile_run(r, d, 3 * S), 0);
	assert_int_equal(report_count(r), 2);
	expect_route_changes(r, "");
	expect_overlaps(r,
	                "10.0.0.0/8 table 51820 proto 4 over 10.2.0.0/16 via beta: withdrawn\n"
	                "10.0.0.0/8 table 51820 proto 4 over 10.99.0.2/32 via beta: withdrawn\n");
	reconcile_get_stats(r, &st);
	assert_int_equal(st.overlap_withdrawals, 2);
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* More specific wins, whoever owns it: a route in main inside a tunnel route or a fence gets
 * a throw route of its prefix in netd's table, reported and told as a change, until it goes;
 * one equal to netd's or covering it does not. */
static void
test_yields(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct kh_route lan = {.table = 254, .protocol = 4, .metric = 100};
	struct kh_route same = {.table = 254, .protocol = 4, .metric = 100};
	struct kh_route deflt = {.table = 254, .protocol = 3, .metric = 0};
	struct kh_route fenced = {.table = 254, .protocol = 4, .type = KH_ROUTE_BLACKHOLE};
	struct reconcile *r;
	struct kh_link eth1;

	(void)state;
	assert_true(link_exists("eth1", &eth1));
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_link_set_up(eth1.ifindex, true), 0);
	lan.oif = same.oif = deflt.oif = eth1.ifindex;
	assert_int_equal(addr_prefix_parse("10.2.0.0/24", &lan.dst), 0);
	assert_int_equal(addr_prefix_parse("10.2.0.0/16", &same.dst), 0);
	assert_int_equal(addr_prefix_parse("0.0.0.0/0", &deflt.dst), 0);
	assert_int_equal(addr_prefix_parse("10.3.1.0/24", &fenced.dst), 0);
	assert_int_equal(kh_route_replace(&lan), 0);
	assert_int_equal(kh_route_replace(&same), 0);
	assert_int_equal(kh_route_replace(&deflt), 0);
	fake_act_as(FAKE_NETD);

	r = started(d);
	expect_routes(51820, 200,
	              "10.2.0.0/24 throw metric 10 proto 200\n10.2.0.0/16 dev wg0 proto 200\n"
	              "10.99.0.2/32 dev wg0 proto 200\n");
	expect_report(
	        r, RECONCILE_REPORT_ROUTE_YIELDED, 0, "route 10.2.0.0/24 table 51820 metric 10",
	        "yields to table 254: another owner's unicast route 10.2.0.0/24 (protocol 4) "
	        "lies inside site beta's tunnel route 10.2.0.0/16 and takes its traffic there");
	assert_int_equal(report_count(r), 1);
	expect_overlaps(r, "10.2.0.0/24 table 254 proto 4 over 10.2.0.0/16 via beta: yield (in)\n");
	expect_route_changes(
	        r, "added 10.2.0.0/16 via beta\n"
	           "added 10.99.0.2/32 via beta\n"
	           "yielded 10.2.0.0/24 via beta: yields to table 254: another owner's "
	           "unicast route 10.2.0.0/24 (protocol 4) lies inside site beta's tunnel "
	           "route 10.2.0.0/16 and takes its traffic there\n");
	drain(r);
	assert_false(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_route_changes(r, "");
	fake_clear_ops();

	/* Inside a fence: the operator's route is no accident; it wins there too, reported. */
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_route_replace(&fenced), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, 2 * S), 0);
	expect_changes("route replace throw 10.3.1.0/24 table 51820 proto 200 metric 10\n");
	expect_overlaps(r, "10.2.0.0/24 table 254 proto 4 over 10.2.0.0/16 via beta: yield (in)\n"
	                   "10.3.1.0/24 table 254 proto 4 over 10.3.0.0/16 via -: yield (in)\n");
	expect_route_changes(r, "yielded 10.3.1.0/24 via -: yields to table 254: another owner's "
	                        "blackhole route 10.3.1.0/24 (protocol 4) lies inside the "
	                        "fail-closed route 10.3.0.0/16 and takes its traffic there, "
	                        "unfenced\n");

	/* The operator's routes go: netd's take their traffic back. */
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_route_del(&lan), 0);
	assert_int_equal(kh_route_del(&fenced), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, 3 * S), 0);
	expect_changes("route del throw 10.2.0.0/24 table 51820 proto 200 metric 10\n"
	               "route del throw 10.3.1.0/24 table 51820 proto 200 metric 10\n");
	expect_route_changes(r, "reclaimed 10.2.0.0/24 via beta\nreclaimed 10.3.1.0/24 via -\n");
	expect_overlaps(r, "");
	assert_int_equal(report_count(r), 0);
	expect_routes(51820, 200,
	              "10.2.0.0/16 dev wg0 proto 200\n10.99.0.2/32 dev wg0 proto 200\n");
	/* Routes of main equal to or covering netd's are no event of its. */
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_route_del(&same), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_false(reconcile_dirty(r));
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* Tunnel routes, fences carved around a local subnet and yields to main's routes, listed in
 * main out of order, planned together: each is installed once, in the table's order, and the
 * next run finds every one of them where it belongs and changes nothing. */
static void
test_planned_in_order(void **state)
{
	static const struct fixture_site beta2 = FIXTURE_SITE(
	        "beta", 1, "192.0.2.2 51820", "10.99.0.2", "10.2.0.0/16,10.4.0.0/16", "100");
	const struct fixture_site *view[] = {&beta2, &gamma};
	struct conf *conf =
	        granting(WG0, "\"10.2.0.0/16\", \"10.4.0.0/16\"", "\"10.3.0.0/16\"", segments);
	struct mesh_desired *d = desired_of(conf, view, N(view));
	static const char *const mains[] = {"10.4.7.0/24", "10.3.200.0/24", "10.2.200.0/24",
	                                    "10.3.1.0/24", "10.2.3.0/24"};
	struct kh_ifaddr local = {0};
	struct kh_link eth1;
	struct reconcile *r;

	(void)state;
	assert_true(link_exists("eth1", &eth1));
	local.ifindex = eth1.ifindex;
	assert_int_equal(addr_prefix_parse("10.4.9.1/24", &local.prefix), 0);
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_link_set_up(eth1.ifindex, true), 0);
	assert_int_equal(kh_ifaddr_add(&local), 0);
	for (size_t i = 0; i < N(mains); i++) {
		struct kh_route main = {
		        .table = 254, .protocol = 4, .metric = 100, .oif = eth1.ifindex};

		assert_int_equal(addr_prefix_parse(mains[i], &main.dst), 0);
		assert_int_equal(kh_route_replace(&main), 0);
	}
	fake_act_as(FAKE_NETD);

	r = started(d);
	/* The yields go in first: none of netd's routes is ever over another's prefix. */
	expect_routes(51820, 200,
	              "10.2.3.0/24 throw metric 10 proto 200\n"
	              "10.2.200.0/24 throw metric 10 proto 200\n"
	              "10.3.1.0/24 throw metric 10 proto 200\n"
	              "10.3.200.0/24 throw metric 10 proto 200\n"
	              "10.4.7.0/24 throw metric 10 proto 200\n"
	              "10.2.0.0/16 dev wg0 proto 200\n"
	              "10.3.0.0/16 dev wg0 proto 200\n"
	              "10.4.0.0/16 dev wg0 proto 200\n"
	              "10.99.0.2/32 dev wg0 proto 200\n"
	              "10.99.0.3/32 dev wg0 proto 200\n");
	expect_failclosed(51820, "10.2.0.0/16 unreachable metric 65535\n"
	                         "10.3.0.0/16 unreachable metric 65535\n"
	                         "10.4.0.0/21 unreachable metric 65535\n"
	                         "10.4.8.0/24 unreachable metric 65535\n"
	                         "10.4.10.0/23 unreachable metric 65535\n"
	                         "10.4.12.0/22 unreachable metric 65535\n"
	                         "10.4.16.0/20 unreachable metric 65535\n"
	                         "10.4.32.0/19 unreachable metric 65535\n"
	                         "10.4.64.0/18 unreachable metric 65535\n"
	                         "10.4.128.0/17 unreachable metric 65535\n"
	                         "10.99.0.2/32 unreachable metric 65535\n"
	                         "10.99.0.3/32 unreachable metric 65535\n");
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("");
	expect_route_changes(r, "");
	drain(r);
	assert_false(reconcile_dirty(r));
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A prefix moved from one site to another (its grant moved by a reload, and the sites
 * advertise accordingly) moves its route, which stays as it is in the table; netd's route
 * changed behind its back is replaced. */
static void
test_route_moves(void **state)
{
	static const struct fixture_site beta_now =
	        FIXTURE_SITE("beta", 1, "192.0.2.2 51820", "10.99.0.2", "10.4.0.0/16", "100");
	static const struct fixture_site gamma_now = FIXTURE_SITE(
	        "gamma", 2, "192.0.2.3 51820", "10.99.0.3", "10.2.0.0/16,10.3.0.0/16", "100");
	const struct fixture_site *view[] = {&beta, &gamma}, *now[] = {&beta_now, &gamma_now};
	struct conf *conf = load_conf(WG0, "");
	struct conf *moved =
	        granting(WG0, "\"10.4.0.0/16\"", "\"10.2.0.0/16\", \"10.3.0.0/16\"", "");
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct mesh_desired *d2 = desired_of(moved, now, N(now));
	struct reconcile *r = started(d);
	struct kh_route changed = {.table = 51820, .protocol = 200, .metric = 10, .mtu = 1300};
	struct kh_link wg;

	(void)state;
	expect_route_changes(r, "added 10.2.0.0/16 via beta\n"
	                        "added 10.3.0.0/16 via gamma\n"
	                        "added 10.99.0.2/32 via beta\n"
	                        "added 10.99.0.3/32 via gamma\n");
	assert_int_equal(reconcile_run(r, d2, S), 0);
	expect_changes("route replace unreachable 10.4.0.0/16 table 51820 proto 200 metric 65535\n"
	               "wg set wg0 peer @BETA@ replace-allowed-ips allowed-ips "
	               "10.4.0.0/16,10.99.0.2/32 "
	               "peer @GAMMA@ replace-allowed-ips allowed-ips "
	               "10.2.0.0/16,10.3.0.0/16,10.99.0.3/32\n"
	               "route replace 10.4.0.0/16 dev wg0 table 51820 proto 200 metric 10\n");
	expect_route_changes(r, "moved 10.2.0.0/16 via gamma from beta\n"
	                        "added 10.4.0.0/16 via beta\n");
	expect_routes(51820, 200,
	              "10.2.0.0/16 dev wg0 proto 200\n10.3.0.0/16 dev wg0 proto 200\n"
	              "10.99.0.2/32 dev wg0 proto 200\n10.99.0.3/32 dev wg0 proto 200\n"
	              "10.4.0.0/16 dev wg0 proto 200\n");
	drain(r);

	assert_true(link_exists("wg0", &wg));
	changed.oif = wg.ifindex;
	assert_int_equal(addr_prefix_parse("10.3.0.0/16", &changed.dst), 0);
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_route_replace(&changed), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d2, 2 * S), 0);
	expect_changes("route replace 10.3.0.0/16 dev wg0 table 51820 proto 200 metric 10\n");
	expect_route_changes(r, "replaced 10.3.0.0/16 via gamma\n");
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(d2);
	conf_free(conf);
	conf_free(moved);
}

/* A change larger than RECONCILE_BATCH_MIN routes goes as one batch: the entry the kernel
 * refuses is reported and counted alone, every other one is installed, and the next run
 * retries just that one. */
static void
test_batch_one_failure(void **state)
{
	/* A site announces at most 8 prefixes: two of them make the large change. */
	char blist[256], glist[256];
	size_t blen = 0, glen = 0, nroutes = 16;
	struct fixture_site b8 = beta, g8 = gamma;
	const struct fixture_site *one[] = {&beta, &gamma}, *view[] = {&b8, &g8};
	struct conf *conf = default_conf();
	struct mesh_desired *d1, *d;
	struct reconcile_stats before, after;
	struct reconcile *r;
	char *log;

	(void)state;
	for (size_t i = 0; i < nroutes / 2; i++) {
		blen += (size_t)snprintf(blist + blen, sizeof(blist) - blen, "%s10.2.%zu.0/24",
		                         i ? "," : "", i);
		glen += (size_t)snprintf(glist + glen, sizeof(glist) - glen, "%s10.3.%zu.0/24",
		                         i ? "," : "", i);
	}
	assert_true(nroutes > RECONCILE_BATCH_MIN);
	b8.prefixes = blist;
	g8.prefixes = glist;
	d1 = desired_of(conf, one, N(one));
	d = desired_of(conf, view, N(view));
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, d1, 100 * S), 0);
	reconcile_get_stats(r, &before);
	forget_events();
	fake_clear_ops();

	fake_fail_after(FAKE_OP_ROUTE_REPLACE, 10, EIO);
	assert_int_equal(reconcile_run(r, d, 101 * S), -EAGAIN);
	assert_int_equal(report_count(r), 1);
	expect_report(r, RECONCILE_REPORT_ROUTE_FAILED, -EIO,
	              "route 10.3.2.0/24 table 51820 metric 10", "injected failure");
	reconcile_get_stats(r, &after);
	assert_int_equal(
	        after.failed[RECONCILE_OP_ROUTE_ADD] - before.failed[RECONCILE_OP_ROUTE_ADD], 1);
	assert_int_equal(after.applied[RECONCILE_OP_ROUTE_ADD] -
	                         before.applied[RECONCILE_OP_ROUTE_ADD],
	                 nroutes - 1);
	assert_int_equal(fake_count(FAKE_OP_ROUTE_REPLACE), nroutes);
	log = fake_log(true);
	assert_non_null(log);
	assert_non_null(strstr(log, "10.3.2.0/24 dev wg0 table 51820 proto 200 metric 10 -> EIO"));
	assert_non_null(strstr(log, " -> EIO"));
	assert_null(strstr(strstr(log, " -> EIO") + 1, " -> EIO"));
	free(log);
	forget_events();
	fake_clear_ops();

	assert_int_not_equal(reconcile_retry_at(r), 0);
	assert_int_equal(reconcile_run(r, d, reconcile_retry_at(r)), 0);
	assert_int_equal(report_count(r), 0);
	assert_int_equal(fake_count(FAKE_OP_ROUTE_REPLACE), 1);
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(d1);
	conf_free(conf);
}

/* A failed request is reported with the kernel's words, counted, and retried by the next run
 * at a time the caller is given; the delay doubles while runs keep failing. */
static void
test_failures_retried(void **state)
{
	const struct fixture_site *view[] = {&beta}, *two[] = {&beta, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct mesh_desired *d2 = desired_of(conf, two, N(two));
	struct kh_route fence = {.table = 51820, .protocol = 200, .metric = 65535};
	struct reconcile_stats st;
	struct reconcile *r;

	(void)state;
	assert_int_equal(reconcile_new(&r), 0);
	fake_fail(FAKE_OP_ROUTE_REPLACE, 1, EIO);
	assert_int_equal(reconcile_run(r, d, 100 * S), -EAGAIN);
	expect_report(r, RECONCILE_REPORT_ROUTE_FAILED, -EIO,
	              "route 10.2.0.0/16 table 51820 metric 65535", "injected failure");
	assert_int_equal(report_count(r), 1);
	expect_fences(r, "10.2.0.0/16 no: route-add failed: route replace unreachable 10.2.0.0/16 "
	                 "table 51820 proto 200 metric 65535: Input/output error (injected "
	                 "failure)\n"
	                 "10.3.0.0/16 yes\n"
	                 "10.99.0.2/32 yes\n"
	                 "10.99.0.3/32 yes\n");
	/* Before the retry, the look at the handshake the run started. */
	assert_int_equal(reconcile_retry_at(r), 100 * S + RECONCILE_HANDSHAKE_RETRY);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.failed[RECONCILE_OP_ROUTE_ADD], 1);
	assert_int_equal(st.applied[RECONCILE_OP_ROUTE_ADD], 5);
	forget_events();
	fake_clear_ops();

	assert_int_equal(reconcile_run(r, d, 101 * S), 0);
	expect_changes(
	        "route replace unreachable 10.2.0.0/16 table 51820 proto 200 metric 65535\n");
	assert_int_equal(reconcile_retry_at(r), 0);
	assert_int_equal(report_count(r), 0);
	expect_fences(r, "10.2.0.0/16 yes\n10.3.0.0/16 yes\n10.99.0.2/32 yes\n10.99.0.3/32 yes\n");

	/* A delta of peers fails as a whole: each of its peers counts, one report says why. */
	fake_fail(FAKE_OP_WG_SET, 3, EBUSY);
	for (int64_t i = 0, delay = 1; i < 3; i++, delay *= 2) {
		assert_int_equal(reconcile_run(r, d2, 200 * S), -EAGAIN);
		assert_int_equal(reconcile_retry_at(r), 200 * S + delay * S);
		expect_report(r, RECONCILE_REPORT_PEERS_FAILED, -EBUSY, "peers of wg0",
		              "peer-add failed");
		/* Nothing is routed to a site whose peer is not written. */
		expect_route_changes(r, "");
	}
	reconcile_get_stats(r, &st);
	assert_int_equal(st.failed[RECONCILE_OP_PEER_ADD], 3);
	forget_events();
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d2, 210 * S), 0);
	assert_int_equal(reconcile_retry_at(r), 210 * S + RECONCILE_HANDSHAKE_RETRY);
	/* Its grant was fenced from the start. */
	expect_changes("wg set wg0 peer @GAMMA@ endpoint 192.0.2.3:51820 persistent-keepalive 1 "
	               "replace-allowed-ips allowed-ips 10.3.0.0/16,10.99.0.3/32 "
	               "peer @GAMMA@ update-only persistent-keepalive 0\n"
	               "route replace 10.3.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
	               "route replace 10.99.0.3/32 dev wg0 table 51820 proto 200 metric 10\n"
	               "fdb append 00:00:00:00:00:00 dev vxlan100 dst 10.99.0.3\n");
	expect_route_changes(r, "added 10.3.0.0/16 via gamma\nadded 10.99.0.3/32 via gamma\n");

	/* A read that fails leaves what depends on it alone, for the retry. */
	fake_fail(FAKE_OP_ROUTE_LIST, 1, ENOBUFS);
	assert_int_equal(reconcile_run(r, d, 300 * S), -EAGAIN);
	expect_report(r, RECONCILE_REPORT_READ_FAILED, -ENOBUFS, "routes table 51820",
	              "read failed");
	/* Its peer stays while its routes may still be there. */
	expect_changes("fdb del 00:00:00:00:00:00 dev vxlan100 dst 10.99.0.3\n");
	/* Whether the fences are in is not known, and not claimed. */
	expect_fences(r, "10.2.0.0/16 no: not known: the routes of the table could not be read\n"
	                 "10.3.0.0/16 no: not known: the routes of the table could not be read\n"
	                 "10.99.0.2/32 no: not known: the routes of the table could not be read\n"
	                 "10.99.0.3/32 no: not known: the routes of the table could not be read\n");
	assert_int_equal(reconcile_run(r, d, 301 * S), 0);
	expect_changes("route del 10.3.0.0/16 dev wg0 table 51820 proto 200 metric 10\n"
	               "route del 10.99.0.3/32 dev wg0 table 51820 proto 200 metric 10\n"
	               "wg set wg0 peer @GAMMA@ remove\n");

	/* Without the addresses the fences are kept as they are, and shown as the table has
	 * them: one deleted meanwhile is missing. */
	fake_act_as(FAKE_OTHER);
	assert_int_equal(addr_prefix_parse("10.3.0.0/16", &fence.dst), 0);
	assert_int_equal(kh_route_del(&fence), 0);
	fake_act_as(FAKE_NETD);
	fake_fail(FAKE_OP_ADDR_LIST, 1, ENOBUFS);
	assert_int_equal(reconcile_run(r, d, 302 * S), -EAGAIN);
	expect_changes("");
	expect_fences(r,
	              "10.2.0.0/16 yes\n"
	              "10.3.0.0/16 no: not installed: the addresses of this gateway's interfaces "
	              "could not be read\n"
	              "10.99.0.2/32 yes\n"
	              "10.99.0.3/32 yes\n");
	assert_int_equal(reconcile_run(r, d, 303 * S), 0);
	expect_changes(
	        "route replace unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n");

	/* Every kind of request failing at once: reported, never a crash, then all is done. */
	setup(NULL);
	reconcile_free(r);
	assert_int_equal(reconcile_new(&r), 0);
	fake_fail(FAKE_OP_ANY, 1000, EPERM);
	assert_int_equal(reconcile_run(r, d, 400 * S), -EAGAIN);
	assert_true(report_count(r) >= 1);
	fake_fail(FAKE_OP_ANY, 0, 0);
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, 401 * S), 0);
	expect_changes(start_log);
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(d2);
	conf_free(conf);
}

static int
line_qcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text in sorted order: the kernel's listing order is no part of its state. */
static char *
sorted_lines(char *text)
{
	char *lines[128], *save = NULL, *out;
	size_t n = 0, len = 0, cap = strlen(text) + 1;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_true(n < N(lines));
		lines[n++] = l;
	}
	qsort(lines, n, sizeof(lines[0]), line_qcmp);
	out = calloc(1, cap);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s\n", lines[i]);
	free(text);
	return out;
}

static const char *
name_of(const struct kh_link *links, size_t n, uint32_t ifindex)
{
	for (size_t i = 0; i < n; i++)
		if (links[i].ifindex == ifindex)
			return links[i].name;
	return "none";
}

/* The kernel's state netd cares about as text, read without a trace in the log. */
static char *
snapshot(void)
{
	struct kh_link *links = NULL;
	struct kh_fdb *fdb = NULL;
	struct kh_rule *rules = NULL;
	struct kh_ifaddr *addrs = NULL;
	struct wg_device *dev = NULL;
	size_t nlinks = 0, nfdb = 0, nrules = 0, naddrs = 0, len = 0, cap = 8192;
	char *out = calloc(1, cap), *routes = routes_text(0, KH_ROUTE_ANY_PROTOCOL);
	char a[ADDR_PREFIX_STRLEN];

	assert_non_null(out);
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_link_list(&links, &nlinks), 0);
	for (size_t i = 0; i < nlinks; i++)
		len += (size_t)snprintf(out + len, cap - len, "link %s mtu %u up %d master %s\n",
		                        links[i].name, links[i].mtu, !!(links[i].flags & IFF_UP),
		                        name_of(links, nlinks, links[i].master));
	for (size_t i = 0; i < nlinks; i++) {
		if (strcmp(links[i].kind, "vxlan") != 0)
			continue;
		assert_int_equal(kh_fdb_list(links[i].ifindex, &fdb, &nfdb), 0);
		/* The bridge's own entries follow the ports, already shown by the links. */
		for (size_t j = 0; j < nfdb; j++)
			if (!fdb[j].master)
				len += (size_t)snprintf(out + len, cap - len, "fdb %s %s\n",
				                        links[i].name, addr_format(&fdb[j].dst, a));
		free(fdb);
	}
	assert_int_equal(kh_rule_list(AF_UNSPEC, 0, &rules, &nrules), 0);
	for (size_t i = 0; i < nrules; i++)
		len += (size_t)snprintf(out + len, cap - len, "rule %u table %u proto %u\n",
		                        rules[i].priority, rules[i].table, rules[i].protocol);
	assert_int_equal(kh_ifaddr_list(0, AF_INET, &addrs, &naddrs), 0);
	for (size_t i = 0; i < naddrs; i++)
		len += (size_t)snprintf(out + len, cap - len, "addr %s dev %s\n",
		                        addr_prefix_format(&addrs[i].prefix, a),
		                        name_of(links, nlinks, addrs[i].ifindex));
	if (wg_get_device("wg0", &dev) == 0) {
		len += (size_t)snprintf(out + len, cap - len, "wg port %u key %d\n",
		                        dev->listen_port,
		                        !!(dev->flags & WG_DEVICE_HAS_PRIVATE_KEY));
		for (size_t i = 0; i < dev->npeers; i++)
			len += (size_t)snprintf(out + len, cap - len, "peer %u allowed %zu\n",
			                        dev->peers[i].public_key[0],
			                        dev->peers[i].nallowedips);
		wg_free_device(dev);
	}
	fake_act_as(FAKE_NETD);
	len += (size_t)snprintf(out + len, cap - len, "%s", routes);
	assert_true(len < cap - 1);
	free(links);
	free(rules);
	free(addrs);
	free(routes);
	return sorted_lines(out);
}

/* Whichever request fails, the run reports it and schedules a retry, and the retry ends in
 * the state a run without failures makes. */
static void
test_every_failure_heals(void **state)
{
	const struct fixture_site *view[] = {&beta, &gamma};
	struct conf *conf = load_conf(WG0 "backend = \"kernel\";", segments);
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r;
	char *clean;

	(void)state;
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	reconcile_free(r);
	clean = snapshot();
	for (int kind = FAKE_OP_ANY + 1; kind < FAKE_OP_KIND_COUNT; kind++) {
		char *now;
		int rc;

		setup(NULL);
		assert_int_equal(reconcile_new(&r), 0);
		fake_fail((enum fake_op_kind)kind, 1, EIO);
		rc = reconcile_run(r, d, 10 * S);
		if (fake_count((enum fake_op_kind)kind)) {
			if (rc != -EAGAIN)
				print_error("a failing %s went unnoticed\n",
				            fake_op_name((enum fake_op_kind)kind));
			assert_int_equal(rc, -EAGAIN);
			assert_true(report_count(r) >= 1);
			/* The retry, or before it the look at the handshake started. */
			assert_true(reconcile_retry_at(r) == 11 * S ||
			            reconcile_retry_at(r) == 10 * S + RECONCILE_HANDSHAKE_RETRY);
		} else {
			assert_int_equal(rc, 0);
		}
		fake_fail((enum fake_op_kind)kind, 0, 0);
		assert_int_equal(reconcile_run(r, d, 11 * S), 0);
		/* Nothing to retry; a look at the handshakes the run started, if it did. */
		assert_true(reconcile_retry_at(r) == 0 ||
		            reconcile_retry_at(r) == 11 * S + RECONCILE_HANDSHAKE_RETRY);
		fake_clear_ops();
		assert_int_equal(reconcile_run(r, d, 12 * S), 0);
		assert_int_equal(fake_changes(), 0);
		now = snapshot();
		if (strcmp(now, clean) != 0)
			print_error("after a failing %s\n", fake_op_name((enum fake_op_kind)kind));
		assert_string_equal(now, clean);
		free(now);
		reconcile_free(r);
	}
	free(clean);
	mesh_desired_free(d);
	conf_free(conf);
}

/* Changes the monitor never heard of are found by the full read a resync calls for. */
static void
test_resync(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r = started(d);
	struct kh_route route = {.table = 51820, .protocol = 200, .metric = 10};
	struct kh_fdb fdb = {0};
	struct reconcile_stats st;
	struct kh_link vx;

	(void)state;
	assert_true(link_exists("vxlan100", &vx));
	fake_act_as(FAKE_SETUP);
	assert_int_equal(addr_prefix_parse("10.99.0.2/32", &route.dst), 0);
	assert_int_equal(kh_route_del(&route), 0);
	fdb.ifindex = vx.ifindex;
	assert_int_equal(addr_parse("10.99.0.2", &fdb.dst), 0);
	assert_int_equal(kh_fdb_del(&fdb), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_false(reconcile_dirty(r));

	fake_monitor_overrun();
	drain(r);
	assert_true(reconcile_dirty(r));
	reconcile_get_stats(r, &st);
	assert_int_equal(st.resyncs, 1);
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("route replace 10.99.0.2/32 dev wg0 table 51820 proto 200 metric 10\n"
	               "fdb append 00:00:00:00:00:00 dev vxlan100 dst 10.99.0.2\n");
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* Teardown removes netd's routes (a throw route yielding to an operator's included), rule,
 * segment devices and WireGuard device -- and leaves every other owner's route, rule and
 * link, and the port, as they were. */
static void
test_teardown(void **state)
{
	const struct fixture_site *view[] = {&beta, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r = started(d);
	struct kh_route main_route = {.table = 254, .protocol = 4, .metric = 0};
	struct kh_route table_route = {.table = 51820, .protocol = 4, .metric = 10};
	struct kh_route lan = {.table = 254, .protocol = 4, .metric = 100};
	struct kh_rule rule = {.family = AF_INET, .priority = 100, .table = 100, .protocol = 4};
	struct kh_rule *rules = NULL;
	struct kh_link eth1, dummy;
	size_t nrules = 0;

	(void)state;
	assert_true(link_exists("eth1", &eth1));
	fake_act_as(FAKE_SETUP);
	assert_int_equal(fake_link_add("dummy0", "dummy", 0, NULL), 0);
	assert_int_equal(kh_link_set_up(eth1.ifindex, true), 0);
	main_route.oif = table_route.oif = lan.oif = eth1.ifindex;
	assert_int_equal(addr_prefix_parse("10.2.7.0/24", &lan.dst), 0);
	assert_int_equal(addr_prefix_parse("10.60.0.0/16", &main_route.dst), 0);
	assert_int_equal(kh_route_replace(&main_route), 0);
	assert_int_equal(addr_prefix_parse("10.50.0.0/16", &table_route.dst), 0);
	assert_int_equal(kh_route_replace(&table_route), 0);
	assert_int_equal(kh_rule_add(&rule), 0);
	fake_act_as(FAKE_NETD);
	/* An operator's route in main inside beta's: netd's table yields it a throw route. */
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_route_replace(&lan), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("route replace throw 10.2.7.0/24 table 51820 proto 200 metric 10\n");

	assert_int_equal(reconcile_teardown(r, d), 0);
	expect_changes("route del unreachable 10.2.0.0/16 table 51820 proto 200 metric 65535\n"
	               "route del unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n"
	               "route del unreachable 10.99.0.2/32 table 51820 proto 200 metric 65535\n"
	               "route del unreachable 10.99.0.3/32 table 51820 proto 200 metric 65535\n"
	               "route del 10.2.0.0/16 table 51820 proto 200 metric 10\n"
	               "route del 10.3.0.0/16 table 51820 proto 200 metric 10\n"
	               "route del 10.99.0.2/32 table 51820 proto 200 metric 10\n"
	               "route del 10.99.0.3/32 table 51820 proto 200 metric 10\n"
	               "route del throw 10.2.7.0/24 table 51820 proto 200 metric 10\n"
	               "rule del inet pref 32000 lookup 51820 proto 200\n"
	               "link del vxlan100\n"
	               "link del br-tenant-a\n"
	               "wg del wg0\n");
	assert_false(link_exists("wg0", NULL));
	assert_false(link_exists("vxlan100", NULL));
	assert_false(link_exists("br-tenant-a", NULL));
	assert_true(link_exists("dummy0", &dummy));
	assert_true(link_exists("eth1", &eth1));
	assert_int_equal(eth1.master, 0);
	expect_routes(254, KH_ROUTE_ANY_PROTOCOL,
	              "10.60.0.0/16 dev eth1 proto 4\n10.2.7.0/24 dev eth1 proto 4\n");
	expect_routes(51820, KH_ROUTE_ANY_PROTOCOL, "10.50.0.0/16 dev eth1 proto 4\n");
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_rule_list(AF_INET, 0, &rules, &nrules), 0);
	fake_act_as(FAKE_NETD);
	/* local, the other owner's, main, default. */
	assert_int_equal(nrules, 4);
	assert_int_equal(rules[1].table, 100);
	free(rules);

	/* Nothing of netd's is left to remove. */
	assert_int_equal(reconcile_teardown(r, d), 0);
	expect_changes("");
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A reloaded config: the segment's devices go with the segment, the routes and rule move to
 * the new table (the old ones go once the new ones are in, so a fence is always in force),
 * the WireGuard device to its new name. */
static void
test_config_change(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct conf *conf2 = load_conf("interface = \"wg1\";", "routing = { table = 100; };\n");
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct mesh_desired *d2 = desired_of(conf2, view, N(view));
	struct reconcile *r = started(d);

	(void)state;
	assert_int_equal(reconcile_run(r, d2, S), 0);
	/* The old table and its rule go last: until the new table holds its fences and its rule
	 * is in, the old rule keeps the old fences in force (with wg0 gone, its tunnel routes
	 * refuse too), and nothing falls through to main. */
	expect_changes("link del vxlan100\n"
	               "link del br-tenant-a\n"
	               "wg del wg0\n"
	               "route replace unreachable 10.2.0.0/16 table 100 proto 200 metric 65535\n"
	               "route replace unreachable 10.3.0.0/16 table 100 proto 200 metric 65535\n"
	               "route replace unreachable 10.99.0.2/32 table 100 proto 200 metric 65535\n"
	               "route replace unreachable 10.99.0.3/32 table 100 proto 200 metric 65535\n"
	               "rule add inet pref 32000 lookup 100 proto 200\n"
	               "wg add wg1 kernel\n"
	               "wg set wg1 private-key @PRIV@ listen-port 51820\n"
	               "addr add 10.99.0.1/32 dev wg1\n"
	               "link set wg1 up\n"
	               "wg set wg1 peer @BETA@ endpoint 192.0.2.2:51820 persistent-keepalive 1 "
	               "replace-allowed-ips allowed-ips 10.2.0.0/16,10.99.0.2/32 "
	               "peer @BETA@ update-only persistent-keepalive 0\n"
	               "route replace 10.2.0.0/16 dev wg1 table 100 proto 200 metric 10\n"
	               "route replace 10.99.0.2/32 dev wg1 table 100 proto 200 metric 10\n"
	               "route del unreachable 10.2.0.0/16 table 51820 proto 200 metric 65535\n"
	               "route del unreachable 10.3.0.0/16 table 51820 proto 200 metric 65535\n"
	               "route del unreachable 10.99.0.2/32 table 51820 proto 200 metric 65535\n"
	               "route del unreachable 10.99.0.3/32 table 51820 proto 200 metric 65535\n"
	               "rule del inet pref 32000 lookup 51820 proto 200\n");
	/* Out of the old table, into the new one. */
	expect_route_changes(r, "withdrawn 10.2.0.0/16 via beta\n"
	                        "withdrawn 10.99.0.2/32 via beta\n"
	                        "added 10.2.0.0/16 via beta\n"
	                        "added 10.99.0.2/32 via beta\n");
	/* And teardown from there knows about nothing it no longer owns. */
	assert_int_equal(reconcile_teardown(r, d2), 0);
	expect_changes("route del unreachable 10.2.0.0/16 table 100 proto 200 metric 65535\n"
	               "route del unreachable 10.3.0.0/16 table 100 proto 200 metric 65535\n"
	               "route del unreachable 10.99.0.2/32 table 100 proto 200 metric 65535\n"
	               "route del unreachable 10.99.0.3/32 table 100 proto 200 metric 65535\n"
	               "route del 10.2.0.0/16 table 100 proto 200 metric 10\n"
	               "route del 10.99.0.2/32 table 100 proto 200 metric 10\n"
	               "rule del inet pref 32000 lookup 100 proto 200\n"
	               "wg del wg1\n");
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(d2);
	conf_free(conf);
	conf_free(conf2);
}

/* routing.table changed by a reload, the device kept: a route still wanted carries its
 * traffic in the old table until its copy is in the new one, and is told of as replaced; a
 * site's routes the reload's view no longer holds are withdrawn before anything goes in; a
 * copy the new table refuses is withdrawn (the old one goes all the same), and told of as
 * added once a later run puts it in. */
static void
test_table_move_events(void **state)
{
	const struct fixture_site *view[] = {&beta, &gamma};
	const struct fixture_site *view2[] = {&beta};
	struct conf *conf = default_conf();
	char extra[512];
	struct conf *conf2 =
	        (snprintf(extra, sizeof(extra), "%srouting = { table = 100; };\n", segments),
	         load_conf(WG0, extra));
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct mesh_desired *d2 = desired_of(conf2, view2, N(view2));
	struct reconcile *r = started(d);

	(void)state;
	/* The new table's four fences go in first, then beta's two routes: the first refused. */
	fake_fail_after(FAKE_OP_ROUTE_REPLACE, 4, -EPERM);
	assert_int_equal(reconcile_run(r, d2, S), -EAGAIN);
	expect_route_changes(r, "withdrawn 10.3.0.0/16 via gamma\n"
	                        "withdrawn 10.99.0.3/32 via gamma\n"
	                        "withdrawn 10.2.0.0/16 via beta\n"
	                        "replaced 10.99.0.2/32 via beta\n");
	expect_routes(51820, KH_ROUTE_ANY_PROTOCOL, "");
	expect_routes(100, KH_ROUTE_ANY_PROTOCOL, "10.99.0.2/32 dev wg0 proto 200\n");
	assert_int_equal(reconcile_run(r, d2, 2 * S), 0);
	expect_route_changes(r, "added 10.2.0.0/16 via beta\n");
	expect_routes(100, KH_ROUTE_ANY_PROTOCOL,
	              "10.99.0.2/32 dev wg0 proto 200\n10.2.0.0/16 dev wg0 proto 200\n");
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(d2);
	conf_free(conf);
	conf_free(conf2);
}

/* routing.protocol changed by a reload: the routes and rule netd made under the old
 * protocol are its own, not another owner's: they move to the new protocol in place (never
 * a moment without a fence), nothing is reported as an overlap, and the tunnel routes stay
 * installed. */
static void
test_protocol_change(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	char extra[512];
	struct conf *conf2 =
	        (snprintf(extra, sizeof(extra), "%srouting = { protocol = 201; };\n", segments),
	         load_conf(WG0, extra));
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct mesh_desired *d2 = desired_of(conf2, view, N(view));
	struct reconcile *r = started(d);

	(void)state;
	assert_int_equal(reconcile_run(r, d2, S), 0);
	/* In place: each route replaced by its prefix and metric, the old rule gone after the
	 * new one is in. */
	expect_changes("route replace unreachable 10.2.0.0/16 table 51820 proto 201 metric 65535\n"
	               "route replace unreachable 10.3.0.0/16 table 51820 proto 201 metric 65535\n"
	               "route replace unreachable 10.99.0.2/32 table 51820 proto 201 metric 65535\n"
	               "route replace unreachable 10.99.0.3/32 table 51820 proto 201 metric 65535\n"
	               "rule add inet pref 32000 lookup 51820 proto 201\n"
	               "route replace 10.2.0.0/16 dev wg0 table 51820 proto 201 metric 10\n"
	               "route replace 10.99.0.2/32 dev wg0 table 51820 proto 201 metric 10\n"
	               "rule del inet pref 32000 lookup 51820 proto 200\n");
	/* The traffic never stopped: each route was replaced, none withdrawn. */
	expect_route_changes(r, "replaced 10.2.0.0/16 via beta\nreplaced 10.99.0.2/32 via beta\n");
	assert_int_equal(reconcile_run(r, d2, S), 0);
	expect_changes("");
	expect_route_changes(r, "");
	assert_int_equal(reconcile_teardown(r, d2), 0);
	expect_changes("route del unreachable 10.2.0.0/16 table 51820 proto 201 metric 65535\n"
	               "route del unreachable 10.3.0.0/16 table 51820 proto 201 metric 65535\n"
	               "route del unreachable 10.99.0.2/32 table 51820 proto 201 metric 65535\n"
	               "route del unreachable 10.99.0.3/32 table 51820 proto 201 metric 65535\n"
	               "route del 10.2.0.0/16 table 51820 proto 201 metric 10\n"
	               "route del 10.99.0.2/32 table 51820 proto 201 metric 10\n"
	               "rule del inet pref 32000 lookup 51820 proto 201\n"
	               "link del vxlan100\n"
	               "link del br-tenant-a\n"
	               "wg del wg0\n");
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(d2);
	conf_free(conf);
	conf_free(conf2);
}

/* netd's routes in the main table: no policy rule, no throw route for an operator's more
 * specific route, and neither it nor a covering route keeps a tunnel route out (the longest
 * prefix decides there by itself); one of a tunnel route's own prefix does, reported. The
 * operator's routes stay through runs and teardown. */
static void
test_main_table(void **state)
{
	const struct fixture_site *view[] = {&beta};
	char extra[512];
	struct conf *conf;
	struct mesh_desired *d;
	struct kh_route lan = {.table = 254, .protocol = 4, .metric = 100};
	struct kh_route deflt = {.table = 254, .protocol = 3, .metric = 0};
	struct kh_route wide = {.table = 254, .protocol = 4, .metric = 0};
	struct kh_route same = {.table = 254, .protocol = 4, .metric = 0};
	struct reconcile *r;
	struct kh_link eth1;
	char *text;

	(void)state;
	snprintf(extra, sizeof(extra), "%srouting = { table = \"main\"; };\n", segments);
	conf = load_conf(WG0, extra);
	d = desired_of(conf, view, N(view));
	assert_true(link_exists("eth1", &eth1));
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_link_set_up(eth1.ifindex, true), 0);
	lan.oif = deflt.oif = wide.oif = same.oif = eth1.ifindex;
	assert_int_equal(addr_prefix_parse("10.2.0.0/24", &lan.dst), 0);
	assert_int_equal(addr_prefix_parse("0.0.0.0/0", &deflt.dst), 0);
	assert_int_equal(addr_prefix_parse("10.0.0.0/8", &wide.dst), 0);
	assert_int_equal(addr_prefix_parse("10.99.0.2/32", &same.dst), 0);
	assert_int_equal(kh_route_replace(&lan), 0);
	assert_int_equal(kh_route_replace(&deflt), 0);
	assert_int_equal(kh_route_replace(&wide), 0);
	fake_act_as(FAKE_NETD);

	r = started(d);
	assert_int_equal(fake_count(FAKE_OP_RULE_ADD), 0);
	expect_routes(254, 200, "10.2.0.0/16 dev wg0 proto 200\n10.99.0.2/32 dev wg0 proto 200\n");
	expect_overlaps(r, "");
	assert_int_equal(report_count(r), 0);
	drain(r);
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("");

	/* An operator's route of a tunnel route's prefix competes for its traffic. */
	fake_act_as(FAKE_OTHER);
	assert_int_equal(kh_route_replace(&same), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, 2 * S), 0);
	expect_changes("route del 10.99.0.2/32 dev wg0 table 254 proto 200 metric 10\n");
	expect_overlaps(r,
	                "10.99.0.2/32 table 254 proto 4 over 10.99.0.2/32 via beta: withdrawn\n");

	assert_int_equal(reconcile_teardown(r, d), 0);
	expect_routes(254, 200, "");
	text = routes_of(254, 4, false);
	assert_string_equal(text, "10.2.0.0/24 dev eth1 proto 4\n10.0.0.0/8 dev eth1 proto 4\n"
	                          "10.99.0.2/32 dev eth1 proto 4\n");
	free(text);
	text = routes_of(254, 3, false);
	assert_string_equal(text, "0.0.0.0/0 dev eth1 proto 3\n");
	free(text);
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A segment's vxlan_port, which a VXLAN device cannot change in place, changed by a reload:
 * the device is made again with it and put back in its bridge, its FDB entries with it. */
static void
test_vxlan_port_change(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct conf *conf2 = load_conf(WG0, "segments = ( { name = \"tenant-a\"; vni = 100; "
	                                    "ports = [ \"eth1\" ]; vxlan_port = 8472; } );\n");
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct mesh_desired *d2 = desired_of(conf2, view, N(view));
	struct reconcile *r = started(d);

	(void)state;
	assert_int_equal(reconcile_run(r, d2, S), 0);
	expect_changes(
	        "link del vxlan100\n"
	        "link add vxlan vxlan100 vni 100 local 10.99.0.1 port 8472 nolearning mtu 1370\n"
	        "link set vxlan100 master br-tenant-a\n"
	        "link set vxlan100 up\n"
	        "fdb append 00:00:00:00:00:00 dev vxlan100 dst 10.99.0.2\n");
	assert_int_equal(reconcile_run(r, d2, 2 * S), 0);
	expect_changes("");
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(d2);
	conf_free(conf);
	conf_free(conf2);
}

/* A removal of what the config dropped that fails is tried again by the next runs, until
 * it works -- or until the config names the object again. */
static void
test_stale_retried(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct conf *bare = load_conf(WG0, "");
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct mesh_desired *d2 = desired_of(bare, view, N(view));
	struct reconcile *r = started(d);

	(void)state;
	fake_fail(FAKE_OP_LINK_DEL, 2, EBUSY);
	assert_int_equal(reconcile_run(r, d2, S), -EAGAIN);
	expect_report(r, RECONCILE_REPORT_LINK_FAILED, -EBUSY, "link vxlan100",
	              "link-delete failed");
	expect_changes("link del vxlan100 -> EBUSY\n"
	               "link del br-tenant-a -> EBUSY\n");
	assert_int_equal(reconcile_run(r, d2, 2 * S), 0);
	expect_changes("link del vxlan100\n"
	               "link del br-tenant-a\n");
	assert_int_equal(reconcile_run(r, d2, 3 * S), 0);
	expect_changes("");

	/* Back in the config before the retry: kept, and taken up again. */
	reconcile_free(r);
	r = started(d);
	fake_fail(FAKE_OP_LINK_DEL, 2, EBUSY);
	assert_int_equal(reconcile_run(r, d2, S), -EAGAIN);
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, 2 * S), 0);
	assert_int_equal(fake_count(FAKE_OP_LINK_DEL), 0);
	assert_true(link_exists("vxlan100", NULL));
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(d2);
	conf_free(conf);
	conf_free(bare);
}

/* A port the config no longer lists leaves the bridge, which stays. */
static void
test_port_dropped(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct conf *portless =
	        load_conf(WG0, "segments = ( { name = \"tenant-a\"; vni = 100; } );\n");
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct mesh_desired *d2 = desired_of(portless, view, N(view));
	struct reconcile *r = started(d);
	struct kh_link eth1;

	(void)state;
	assert_int_equal(reconcile_run(r, d2, S), 0);
	expect_changes("link set eth1 nomaster\n");
	assert_true(link_exists("eth1", &eth1));
	assert_int_equal(eth1.master, 0);
	assert_int_equal(reconcile_run(r, d2, 2 * S), 0);
	expect_changes("");
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(d2);
	conf_free(conf);
	conf_free(portless);
}

/* A port that is not there yet is reported; its arrival is an event that brings it in. */
static void
test_port_arrives(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf =
	        load_conf(WG0, "segments = ( { name = \"tenant-a\"; vni = 100; ports = [ \"eth1\", "
	                       "\"eth2\" ]; } );\n");
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r;

	(void)state;
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	expect_report(r, RECONCILE_REPORT_PORT_MISSING, 0, "link eth2",
	              "segment tenant-a: port eth2 does not exist");
	drain(r);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	drain(r);
	assert_false(reconcile_dirty(r));
	fake_clear_ops();

	fake_act_as(FAKE_OTHER);
	assert_int_equal(fake_link_add("eth2", "veth", 0, NULL), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	assert_true(reconcile_dirty(r));
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("link set eth2 master br-tenant-a\n");
	assert_int_equal(report_count(r), 0);
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A link of netd's name that is not netd's kind is reported and never touched. */
static void
test_foreign_links(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r;

	(void)state;
	fake_act_as(FAKE_SETUP);
	assert_int_equal(fake_link_add("vxlan100", "dummy", 0, NULL), 0);
	fake_act_as(FAKE_NETD);
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	expect_report(r, RECONCILE_REPORT_LINK_IN_THE_WAY, 0, "link vxlan100",
	              "segment tenant-a: a dummy link has that name: left alone");
	assert_int_equal(fake_count(FAKE_OP_LINK_ADD_VXLAN) + fake_count(FAKE_OP_LINK_DEL), 0);
	fake_clear_ops();
	assert_int_equal(reconcile_teardown(r, d), 0);
	assert_true(link_exists("vxlan100", NULL));
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* The configured implementation: the userspace one with the configured program, or "auto"
 * without kernel WireGuard. */
static void
test_backends(void **state)
{
	static const struct {
		const char *wg_extra;
		bool kernel;
		const char *want;
	} cases[] = {
	        {WG0 "backend = \"userspace\";", true, "wg userspace-start wg0\n"},
	        {WG0 "backend = \"auto\";", false, "wg userspace-start wg0\n"},
	        {WG0 "backend = \"auto\";", true, "wg add wg0 kernel\n"},
	        {WG0 "backend = \"userspace\"; userspace_command = \"/opt/wg/boringtun\";", true,
	         "wg userspace-start wg0 command /opt/wg/boringtun\n"},
	};
	const struct fixture_site *view[] = {&beta};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct conf *conf = load_conf(cases[i].wg_extra, "");
		struct mesh_desired *d = desired_of(conf, view, N(view));
		struct reconcile *r;
		char *log;

		setup(NULL);
		fake_wg_set_kernel(cases[i].kernel);
		assert_int_equal(reconcile_new(&r), 0);
		assert_int_equal(reconcile_run(r, d, 0), 0);
		log = fake_log(true);
		assert_non_null(log);
		assert_non_null(strstr(log, cases[i].want));
		free(log);
		reconcile_free(r);
		mesh_desired_free(d);
		conf_free(conf);
	}
}

/* wireguard.fwmark: set on the device as it is made, and put back when changed by hand. */
static void
test_fwmark(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = load_conf(WG0 "fwmark = 0x51820;", segments);
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct wg_device *set;
	struct reconcile *r;
	char *log;

	(void)state;
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	log = fake_log(true);
	assert_non_null(log);
	if (strstr(log, " listen-port 51820 fwmark 0x51820\n") == NULL)
		fail_msg("no fwmark set as the device was made: %s", log);
	free(log);
	fake_clear_ops();
	drain(r);

	set = wg_device_new("wg0");
	assert_non_null(set);
	set->flags = WG_DEVICE_HAS_FWMARK;
	set->fwmark = 7;
	fake_act_as(FAKE_OTHER);
	assert_int_equal(wg_set_device(set), 0);
	fake_act_as(FAKE_NETD);
	wg_free_device(set);
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("wg set wg0 fwmark 0x51820\n");
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A segment's bridge named in the config: made under that name, the VXLAN device and the
 * port enslaved to it, no bridge of the default name. */
static void
test_bridge_named(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = load_conf(WG0, "segments = ( { name = \"tenant-a\"; vni = 100; "
	                                   "bridge = \"br0\"; ports = [ \"eth1\" ]; } );\n");
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r;
	struct kh_link br, vx, eth1;
	char *log;

	(void)state;
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	log = fake_log(true);
	assert_non_null(log);
	assert_non_null(strstr(log, "link add bridge br0 mtu 1370\n"));
	assert_non_null(strstr(log, "link set vxlan100 master br0\nlink set eth1 master br0\n"));
	assert_null(strstr(log, "br-tenant-a"));
	free(log);
	assert_true(link_exists("br0", &br));
	assert_true(link_exists("vxlan100", &vx));
	assert_true(link_exists("eth1", &eth1));
	assert_int_equal(vx.master, br.ifindex);
	assert_int_equal(eth1.master, br.ifindex);
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A run at 100 s that starts a userspace WireGuard, which does not answer yet. */
static struct reconcile *
start_userspace(const struct mesh_desired *d)
{
	struct reconcile *r;

	assert_int_equal(reconcile_new(&r), 0);
	fake_fail(FAKE_OP_WG_USERSPACE_START, 1, EINPROGRESS);
	assert_int_equal(reconcile_run(r, d, 100 * S), 0);
	return r;
}

/* A userspace WireGuard that does not answer yet when the run ends is no failure: the run
 * looks again RECONCILE_RETRY_START later, and then configures it. */
static void
test_start_in_progress(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = load_conf(WG0 "backend = \"userspace\";", "");
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r = start_userspace(d);
	struct reconcile_stats st;
	char *log;

	(void)state;
	assert_int_equal(reconcile_retry_at(r), 100 * S + RECONCILE_RETRY_START);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.last_failed, 0);
	assert_int_equal(st.applied[RECONCILE_OP_WG_CREATE], 0);
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, 100 * S + RECONCILE_RETRY_START), 0);
	assert_int_equal(reconcile_retry_at(r),
	                 100 * S + RECONCILE_RETRY_START + RECONCILE_HANDSHAKE_RETRY);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.applied[RECONCILE_OP_WG_CREATE], 1);
	assert_int_equal(st.failed[RECONCILE_OP_WG_CREATE], 0);
	log = fake_log(true);
	assert_non_null(log);
	assert_non_null(strstr(log, "wg userspace-start wg0\n"));
	assert_non_null(strstr(log, "wg set wg0 peer "));
	free(log);
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A device whose key could not be set (a userspace WireGuard not answering yet, a request
 * left going on in the background) is given no peers: it would start their handshakes under
 * whatever identity it holds. They wait, unrouted, for the run that sets the key first. */
static void
test_peers_wait_for_key(void **state)
{
	const struct fixture_site *view[] = {&beta};
	struct conf *conf = load_conf(WG0 "backend = \"userspace\";", "");
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r = start_userspace(d);
	char *log;

	(void)state;
	forget_events();
	fake_clear_ops();
	for (int err = ETIMEDOUT, i = 0; i < 2; i++, err = EBUSY) {
		fake_fail(FAKE_OP_WG_SET, 1, err);
		assert_int_equal(reconcile_run(r, d, (101 + i) * S), -EAGAIN);
		expect_report(r, RECONCILE_REPORT_WIREGUARD_FAILED, -err, "wireguard wg0",
		              "wg-config failed");
		log = fake_log(true);
		assert_non_null(log);
		assert_null(strstr(log, " peer "));
		assert_null(strstr(log, "route replace 10.2.0.0/16"));
		free(log);
		assert_true(reconcile_peer_pending(r, 0));
		fake_clear_ops();
	}
	assert_int_equal(reconcile_run(r, d, 110 * S), 0);
	log = fake_log(true);
	assert_non_null(log);
	assert_non_null(strstr(log, "private-key"));
	assert_true(strstr(log, "private-key") < strstr(log, " peer "));
	assert_non_null(strstr(log, "route replace 10.2.0.0/16"));
	free(log);
	assert_false(reconcile_peer_pending(r, 0));
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* The endpoint WireGuard learnt for a site behind NAT stays; another site's endpoint, and the
 * device's key, port and keepalives, are put back when someone changes them. */
static void
test_wireguard_drift(void **state)
{
	struct fixture_site roaming = beta;
	const struct fixture_site *view[] = {&roaming, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d;
	struct wg_device *set;
	struct wg_peer *p;
	struct reconcile *r;

	(void)state;
	roaming.nat = true;
	d = desired_of(conf, view, N(view));
	r = started(d);
	set = wg_device_new("wg0");
	assert_non_null(set);
	set->flags = WG_DEVICE_HAS_LISTEN_PORT;
	set->listen_port = 4000;
	for (int k = 1; k <= 2; k++) {
		p = wg_device_add_peer(set);
		assert_non_null(p);
		fixture_pubkey(k, p->public_key);
		p->flags = WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_KEEPALIVE;
		p->endpoint.sin.sin_family = AF_INET;
		p->endpoint.sin.sin_port = htons(40000);
		inet_pton(AF_INET, "203.0.113.9", &p->endpoint.sin.sin_addr);
		p->persistent_keepalive = 25;
	}
	fake_act_as(FAKE_OTHER);
	assert_int_equal(wg_set_device(set), 0);
	fake_act_as(FAKE_NETD);
	wg_free_device(set);

	assert_int_equal(reconcile_run(r, d, S), 0);
	/* gamma's endpoint put back starts a handshake: keepalive off, on, and its own. */
	expect_changes("wg set wg0 listen-port 51820\n"
	               "wg set wg0 peer @GAMMA@ endpoint 192.0.2.3:51820 persistent-keepalive 0 "
	               "peer @GAMMA@ update-only persistent-keepalive 1 "
	               "peer @GAMMA@ update-only persistent-keepalive 0\n");
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* --- drift: the device read once a second, compared with what the last run left --- */

/* The device as a once-a-second read finds it; freed with wg_free_device. */
static struct wg_device *
read_wg0(void)
{
	struct wg_device *dev = NULL;

	assert_int_equal(wg_get_device("wg0", &dev), 0);
	return dev;
}

/* Whether the device drifted, as reconcile_note_device says; *out says how. */
static bool
note_wg0(struct reconcile *r, struct drift *out)
{
	struct wg_device *dev = read_wg0();
	bool drifted = reconcile_note_device(r, dev, out);

	wg_free_device(dev);
	return drifted;
}

/* Someone else's change to wg0: set as a sparse delta. */
static void
hand_set(struct wg_device *set)
{
	fake_act_as(FAKE_OTHER);
	assert_int_equal(wg_set_device(set), 0);
	fake_act_as(FAKE_NETD);
	wg_free_device(set);
}

static struct wg_peer *
hand_peer(struct wg_device *set, int key, uint32_t flags)
{
	struct wg_peer *p = wg_device_add_peer(set);

	assert_non_null(p);
	fixture_pubkey(key, p->public_key);
	p->flags = flags;
	return p;
}

/* A read a userspace implementation finished in the background is taken before the run and
 * is that run's read of the device: the run does not ask again, and repairs what the read
 * shows. It serves that run only. */
static void
test_run_takes_finished_read(void **state)
{
	const struct fixture_site *view[] = {&beta, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	uint8_t key[WG_KEY_SIZE];
	struct wg_device *set;
	struct reconcile *r;

	(void)state;
	r = started(d);
	assert_false(reconcile_collect(r, "wg0")); /* nothing waits */
	set = wg_device_new("wg0");
	assert_non_null(set);
	hand_peer(set, 2, WG_PEER_REMOVE_ME);
	hand_set(set);
	assert_int_equal(fake_wg_finish_get("wg0"), 0);
	assert_true(reconcile_collect(r, "wg0"));
	assert_false(reconcile_collect(r, "wg0")); /* taken once */
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, S), 0);
	assert_int_equal(fake_count(FAKE_OP_WG_GET), 0);
	fixture_pubkey(2, key);
	assert_true(fake_wg_has_peer("wg0", key));
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, 2 * S), 0);
	assert_int_equal(fake_count(FAKE_OP_WG_GET), 1);
	assert_int_equal(fake_changes(), 0);
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A taken read older than a userspace implementation keeps its answer is not used: the run
 * reads the device. A taken read no run used is freed with the reconciler. */
static void
test_taken_read_too_old(void **state)
{
	const struct fixture_site *view[] = {&beta, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r;

	(void)state;
	r = started(d);
	assert_int_equal(fake_wg_finish_get("wg0"), 0);
	fake_wg_age_finished(6000);
	assert_true(reconcile_collect(r, "wg0"));
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, d, S), 0);
	assert_int_equal(fake_count(FAKE_OP_WG_GET), 1);
	assert_int_equal(fake_changes(), 0);
	assert_int_equal(fake_wg_finish_get("wg0"), 0);
	assert_true(reconcile_collect(r, "wg0"));
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* The device's pace, on a fake clock. A read of a small device (10 ms: 1,000 peers from
 * wireguard-go) is followed by the next a second later; a slow one waits 20 times its cost,
 * a stalled one no longer than the slow resync's 30 s. */
static void
test_drift_read_pace(void **state)
{
	const int64_t ms = MESH_USEC / 1000;
	const int64_t cost[] = {-1, 0, 10 * ms, 50 * ms, 51 * ms, 250 * ms, 1500 * ms, 60000 * ms};
	const int64_t want[] = {1000 * ms, 1000 * ms, 1000 * ms,  1000 * ms,
	                        1020 * ms, 5000 * ms, 30000 * ms, 30000 * ms};

	(void)state;
	for (size_t i = 0; i < N(cost); i++)
		assert_int_equal(drift_read_delay(cost[i]), want[i]);

	/* A minute of reads that cost c each, and a hand change just after the first: the next
	 * read finds it within max(1 s, 20 c), and reading takes at most 1/20 of the time. */
	for (int64_t c = 5 * ms; c <= 400 * ms; c *= 2) {
		int64_t now = 0, busy = 0, changed_at = c + 1, found = -1, bound;

		while (now < 60 * MESH_USEC) {
			if (found < 0 && now >= changed_at)
				found = now + c;
			busy += c;
			now += c + drift_read_delay(c);
		}
		bound = 20 * c > MESH_USEC ? 20 * c : MESH_USEC;
		assert_true(found > changed_at);
		assert_true(found - changed_at <= bound + c);
		assert_true(busy * 20 <= now);
		if (c <= 50 * ms)
			assert_true(found - changed_at <= 2 * MESH_USEC);
	}
}

/* The pace follows the cheapest of the last four reads: one slow read (the machine busy) or
 * a slow first few leave it at a second; four slow ones in a row stretch it, and one cheap
 * read brings it back. */
static void
test_drift_pace_cheapest(void **state)
{
	const int64_t ms = MESH_USEC / 1000;
	struct drift_pace pace = {0};

	(void)state;
	for (int i = 0; i < DRIFT_PACE_READS - 1; i++)
		assert_int_equal(drift_pace_note(&pace, 400 * ms), 1000 * ms);
	assert_int_equal(drift_pace_note(&pace, 400 * ms), 8000 * ms);
	assert_int_equal(drift_pace_note(&pace, 250 * ms), 5000 * ms);
	assert_int_equal(drift_pace_note(&pace, 3 * ms), 1000 * ms);
	for (int i = 0; i < DRIFT_PACE_READS - 1; i++)
		assert_int_equal(drift_pace_note(&pace, 300 * ms), 1000 * ms);
	assert_int_equal(drift_pace_note(&pace, 300 * ms), 6000 * ms);
	assert_int_equal(drift_pace_note(&pace, 2 * ms), 1000 * ms);
	assert_int_equal(drift_pace_note(&pace, 500 * ms), 1000 * ms);
}

/* A peer removed by hand: found once, repaired by the next run, which counts as a resync;
 * the repaired device compares equal again. */
static void
test_drift_peer_removed(void **state)
{
	const struct fixture_site *view[] = {&beta, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct reconcile *r = started(d);
	struct wg_device *set = wg_device_new("wg0");
	struct reconcile_stats st;
	struct drift drift;
	char text[256];

	(void)state;
	assert_false(note_wg0(r, &drift));
	assert_false(reconcile_dirty(r));
	hand_peer(set, 2, WG_PEER_REMOVE_ME);
	hand_set(set);
	forget_events();
	fake_clear_ops();

	assert_true(note_wg0(r, &drift));
	assert_true(reconcile_dirty(r));
	assert_int_equal(drift.count[DRIFT_PEER_REMOVED], 1);
	assert_int_equal(drift.count[DRIFT_PEER_CHANGED], 0);
	assert_int_equal(drift.count[DRIFT_PEER_FOREIGN], 0);
	assert_string_equal(drift_format(&drift, text, sizeof(text)), "peer of site gamma removed");
	/* Once per repair: the run that repairs it is already called for. */
	assert_false(note_wg0(r, &drift));

	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("wg set wg0 peer @GAMMA@ endpoint 192.0.2.3:51820 persistent-keepalive 1 "
	               "replace-allowed-ips allowed-ips 10.3.0.0/16,10.99.0.3/32 peer @GAMMA@ "
	               "update-only persistent-keepalive 0\n");
	reconcile_get_stats(r, &st);
	assert_int_equal(st.resyncs, 1);
	assert_int_equal(st.resyncs_by[RECONCILE_RESYNC_DRIFT], 1);
	assert_int_equal(st.drifted[DRIFT_PEER_REMOVED], 1);
	assert_false(note_wg0(r, &drift));
	assert_int_equal(reconcile_run(r, d, 2 * S), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.resyncs, 1);
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* Allowed-ips, keepalive and a fixed endpoint changed by hand and a foreign peer added are
 * each named; a roaming site's endpoint learnt by WireGuard is not drift. */
static void
test_drift_changed_and_foreign(void **state)
{
	struct fixture_site roaming = beta;
	const struct fixture_site *view[] = {&roaming, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d;
	struct reconcile *r;
	struct wg_device *set;
	struct wg_peer *p;
	struct addr_prefix extra, foreign;
	struct reconcile_stats st;
	struct drift drift;
	char text[512];

	(void)state;
	roaming.nat = true;
	d = desired_of(conf, view, N(view));
	r = started(d);
	set = wg_device_new("wg0");
	p = hand_peer(set, 1, WG_PEER_HAS_ENDPOINT);
	p->endpoint.sin.sin_family = AF_INET;
	p->endpoint.sin.sin_port = htons(40000);
	inet_pton(AF_INET, "203.0.113.9", &p->endpoint.sin.sin_addr);
	hand_set(set);
	assert_false(note_wg0(r, &drift));

	set = wg_device_new("wg0");
	p = hand_peer(set, 2, WG_PEER_HAS_KEEPALIVE | WG_PEER_HAS_ENDPOINT);
	p->persistent_keepalive = 7;
	p->endpoint.sin.sin_family = AF_INET;
	p->endpoint.sin.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.33", &p->endpoint.sin.sin_addr);
	assert_int_equal(addr_prefix_parse("10.77.0.0/16", &extra), 0);
	p = hand_peer(set, 1, 0);
	assert_int_equal(wg_peer_add_allowedip(p, &extra), 0);
	/* An allowed-ip is one peer's: the foreign peer's is another. */
	assert_int_equal(addr_prefix_parse("10.78.0.0/16", &foreign), 0);
	p = hand_peer(set, 3, 0);
	assert_int_equal(wg_peer_add_allowedip(p, &foreign), 0);
	hand_set(set);

	assert_true(note_wg0(r, &drift));
	assert_int_equal(drift.count[DRIFT_PEER_REMOVED], 0);
	assert_int_equal(drift.count[DRIFT_PEER_CHANGED], 2);
	assert_int_equal(drift.count[DRIFT_PEER_FOREIGN], 1);
	assert_string_equal(
	        drift_format(&drift, text, sizeof(text)),
	        "peer of site beta changed (allowed-ips), peer of site gamma changed "
	        "(endpoint,keepalive), foreign peer AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM= "
	        "added");
	assert_int_equal(reconcile_run(r, d, S), 0);
	expect_changes("wg set wg0 peer @BETA@ replace-allowed-ips allowed-ips "
	               "10.2.0.0/16,10.99.0.2/32 peer @GAMMA@ endpoint 192.0.2.3:51820 "
	               "persistent-keepalive 0 peer @GAMMA@ update-only persistent-keepalive 1 "
	               "peer @GAMMA@ update-only persistent-keepalive 0 peer "
	               "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM= remove\n");
	assert_false(note_wg0(r, &drift));

	/* As many allowed-ips as netd set, one of them another: the set differs all the same. */
	set = wg_device_new("wg0");
	p = hand_peer(set, 1, WG_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(addr_prefix_parse("10.2.0.0/16", &extra), 0);
	assert_int_equal(wg_peer_add_allowedip(p, &extra), 0);
	assert_int_equal(addr_prefix_parse("10.99.0.9/32", &extra), 0);
	assert_int_equal(wg_peer_add_allowedip(p, &extra), 0);
	hand_set(set);
	assert_true(note_wg0(r, &drift));
	assert_int_equal(drift.count[DRIFT_PEER_CHANGED], 1);
	assert_string_equal(drift_format(&drift, text, sizeof(text)),
	                    "peer of site beta changed (allowed-ips)");
	assert_int_equal(reconcile_run(r, d, 2 * S), 0);
	expect_changes("wg set wg0 peer @BETA@ replace-allowed-ips allowed-ips "
	               "10.2.0.0/16,10.99.0.2/32\n");
	assert_false(note_wg0(r, &drift));
	reconcile_get_stats(r, &st);
	assert_int_equal(st.resyncs_by[RECONCILE_RESYNC_DRIFT], 2);
	assert_int_equal(st.drifted[DRIFT_PEER_CHANGED], 3);
	assert_int_equal(st.drifted[DRIFT_PEER_FOREIGN], 1);
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* A site with no peers yet: any peer on its device is foreign. */
static void
test_drift_no_peers(void **state)
{
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, NULL, 0);
	struct reconcile *r = started(d);
	struct wg_device *set = wg_device_new("wg0");
	struct drift drift;

	(void)state;
	assert_false(note_wg0(r, &drift));
	hand_peer(set, 3, 0);
	hand_set(set);
	assert_true(note_wg0(r, &drift));
	assert_int_equal(drift.count[DRIFT_PEER_FOREIGN], 1);
	assert_int_equal(reconcile_run(r, d, S), 0);
	assert_false(note_wg0(r, &drift));
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

/* After a run whose peer change failed the peers are not known: no drift is claimed, the
 * retry repairs them. The slow timer's run is a resync only when it changes something. */
static void
test_drift_unknown_and_timer(void **state)
{
	const struct fixture_site *view[] = {&beta};
	const struct fixture_site *both[] = {&beta, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d = desired_of(conf, view, N(view));
	struct mesh_desired *more = desired_of(conf, both, N(both));
	struct reconcile *r = started(d);
	struct kh_route route = {.table = 51820, .protocol = 200, .metric = 10};
	struct reconcile_stats st;
	struct drift drift;

	(void)state;
	fake_fail(FAKE_OP_WG_SET, 1, -EIO);
	assert_int_equal(reconcile_run(r, more, S), -EAGAIN);
	assert_false(note_wg0(r, &drift));
	assert_int_equal(reconcile_run(r, more, 2 * S), 0);
	assert_false(note_wg0(r, &drift));
	/* Another device's read is not compared. */
	assert_false(reconcile_note_device(r, NULL, &drift));

	reconcile_note_resync(r);
	assert_int_equal(reconcile_run(r, more, 3 * S), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.resyncs, 0);
	fake_act_as(FAKE_SETUP);
	assert_int_equal(addr_prefix_parse("10.99.0.2/32", &route.dst), 0);
	assert_int_equal(kh_route_del(&route), 0);
	fake_act_as(FAKE_NETD);
	reconcile_note_resync(r);
	assert_int_equal(reconcile_run(r, more, 4 * S), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.resyncs, 1);
	assert_int_equal(st.resyncs_by[RECONCILE_RESYNC_TIMER], 1);
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(more);
	conf_free(conf);
}

/* The changes made since the last check hold part (keys as expect_changes writes them). */
static void
expect_changes_hold(const char *part)
{
	char *log = fake_log(true), *w = with_keys(part);

	assert_non_null(log);
	if (!strstr(log, w))
		fail_msg("no \"%s\" in:\n%s", w, log);
	free(log);
	free(w);
	fake_clear_ops();
}

static uint64_t
handshakes_started(const struct reconcile *r)
{
	struct reconcile_stats st;

	reconcile_get_stats(r, &st);
	return st.handshakes_started;
}

static uint64_t
handshakes_waiting(const struct reconcile *r)
{
	struct reconcile_stats st;

	reconcile_get_stats(r, &st);
	return st.handshakes_waiting;
}

/* A request the loop stopped waiting for goes on in the background (a userspace WireGuard
 * with thousands of peers): the starts it asks for are counted as those of a request applied
 * at once. */
static void
test_handshakes_counted_as_sent(void **state)
{
	const struct fixture_site *one[] = {&beta}, *two[] = {&beta, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d1 = desired_of(conf, one, N(one)),
	                    *d2 = desired_of(conf, two, N(two));
	struct reconcile *r = started(d1);

	(void)state;
	assert_int_equal(handshakes_started(r), 1);
	fake_fail(FAKE_OP_WG_SET, 1, ETIMEDOUT);
	assert_int_equal(reconcile_run(r, d2, S), -EAGAIN);
	assert_int_equal(handshakes_started(r), 2);
	reconcile_free(r);
	mesh_desired_free(d1);
	mesh_desired_free(d2);
	conf_free(conf);
}

/* Every peer whose endpoint is set or changes is told to handshake at once, by turning its
 * keepalive on from off in the request that sets the endpoint; a peer without an endpoint is
 * not. The same with keepalives on, as behind NAT: turning one on from off is the start. */
static void
test_endpoint_starts_handshake(void **state)
{
	struct fixture_site unknown = gamma, moved = beta;
	const struct fixture_site *one[] = {&beta}, *two[] = {&beta, &unknown};
	const struct fixture_site *known[] = {&moved, &gamma};
	struct conf *conf = default_conf();
	struct mesh_desired *d1 = desired_of(conf, one, N(one)), *d2, *d3, *nat1, *nat2;
	struct mesh_params params;
	struct reconcile *r = started(d1);

	(void)state;
	unknown.endpoint = NULL;
	moved.endpoint = "192.0.2.22 51820";
	d2 = desired_of(conf, two, N(two));
	d3 = desired_of(conf, known, N(known));
	assert_int_equal(handshakes_started(r), 1);

	assert_int_equal(reconcile_run(r, d2, S), 0);
	expect_changes_hold("wg set wg0 peer @GAMMA@ persistent-keepalive 0 replace-allowed-ips "
	                    "allowed-ips 10.3.0.0/16,10.99.0.3/32\n");
	assert_int_equal(handshakes_started(r), 1);
	assert_int_equal(reconcile_run(r, d3, 2 * S), 0);
	/* gamma, which never had an endpoint nor a handshake, is replaced: a new peer tries at
	 * once, where the old one may have tried to nowhere less than 5 s ago. */
	expect_changes("wg set wg0 peer @BETA@ endpoint 192.0.2.22:51820 persistent-keepalive 1 "
	               "peer @BETA@ update-only persistent-keepalive 0 peer @GAMMA@ remove "
	               "peer @GAMMA@ endpoint 192.0.2.3:51820 persistent-keepalive 1 "
	               "replace-allowed-ips allowed-ips 10.3.0.0/16,10.99.0.3/32 "
	               "peer @GAMMA@ update-only persistent-keepalive 0\n");
	assert_int_equal(handshakes_started(r), 3);
	reconcile_free(r);

	mesh_params_init(&params);
	params.behind_nat = true;
	nat1 = fixture_compute(conf, &beta, 1, &params, 0);
	nat2 = fixture_compute(conf, &moved, 1, &params, 0);
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, nat1, 0), 0);
	/* beta, at 192.0.2.22 with keepalive off since the runs above, is on at once. */
	expect_changes_hold(
	        "wg set wg0 peer @BETA@ endpoint 192.0.2.2:51820 persistent-keepalive 25 "
	        "peer @GAMMA@ remove\n");
	assert_int_equal(reconcile_run(r, nat2, S), 0);
	/* Behind NAT, this end tries again the handshake that did not complete (beta, not behind
	 * NAT, cannot reach it first): a new peer, which starts one as its keepalive comes on. */
	expect_changes("wg set wg0 peer @BETA@ remove peer @BETA@ endpoint 192.0.2.22:51820 "
	               "persistent-keepalive 25 replace-allowed-ips "
	               "allowed-ips 10.2.0.0/16,10.99.0.2/32\n");
	assert_int_equal(handshakes_started(r), 2);
	reconcile_free(r);
	mesh_desired_free(nat1);
	mesh_desired_free(nat2);
	mesh_desired_free(d1);
	mesh_desired_free(d2);
	mesh_desired_free(d3);
	conf_free(conf);
}

/* A handshake started here that has not completed RECONCILE_HANDSHAKE_RETRY later is started
 * once more, by removing and adding the peer, when the peer's key is above this site's (here
 * gamma's key 255; not beta's, key 1, whose side does it), also when the other side's own
 * initiation came in meanwhile (the two crossed: each dropped the answer to its own); one that
 * completed is not. */
static void
test_handshake_retried(void **state)
{
	struct fixture_site high = gamma, moved;
	const struct fixture_site *view[] = {&beta, &high}, *later[] = {&beta, &moved};
	struct conf *conf = default_conf();
	struct mesh_desired *d, *d2;
	const int64_t T = RECONCILE_HANDSHAKE_RETRY;
	uint8_t key[WG_KEY_SIZE];
	struct timespec now = {.tv_sec = 1};
	struct reconcile_stats st;
	struct reconcile *r;

	(void)state;
	high.key = 255;
	moved = high;
	moved.endpoint = "192.0.2.33 51820";
	d = desired_of(conf, view, N(view));
	d2 = desired_of(conf, later, N(later));
	fixture_pubkey(1, key);
	assert_true(memcmp(d->wg.public_key, key, WG_KEY_SIZE) > 0);
	fixture_pubkey(255, key);
	assert_true(memcmp(d->wg.public_key, key, WG_KEY_SIZE) < 0);
	r = started(d);
	assert_int_equal(reconcile_retry_at(r), T);
	assert_int_equal(reconcile_run(r, d, T / 2), 0);
	assert_int_equal(fake_changes(), 0);
	assert_int_equal(reconcile_retry_at(r), T);

	assert_int_equal(fake_wg_set_peer_stats("wg0", key, &(struct timespec){0}, 148, 240), 0);
	assert_int_equal(reconcile_run(r, d, T), 0);
	expect_changes("wg set wg0 peer @HIGH@ remove "
	               "peer @HIGH@ endpoint 192.0.2.3:51820 persistent-keepalive 1 "
	               "replace-allowed-ips allowed-ips 10.3.0.0/16,10.99.0.3/32 "
	               "peer @HIGH@ update-only persistent-keepalive 0\n");
	assert_int_equal(handshakes_started(r), 3);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.handshakes_retried, 1);
	assert_int_equal(st.handshakes_one_way, 0);
	assert_int_equal(reconcile_retry_at(r), 0);
	assert_int_equal(reconcile_run(r, d, 2 * T), 0);
	assert_int_equal(fake_changes(), 0);

	/* Moved, it is started and looked at again; its handshake completes meanwhile. */
	assert_int_equal(reconcile_run(r, d2, 3 * T), 0);
	expect_changes("wg set wg0 peer @HIGH@ endpoint 192.0.2.33:51820 persistent-keepalive 1 "
	               "peer @HIGH@ update-only persistent-keepalive 0\n");
	assert_int_equal(reconcile_retry_at(r), 4 * T);
	assert_int_equal(fake_wg_set_peer_stats("wg0", key, &now, 92, 148), 0);
	assert_int_equal(reconcile_run(r, d2, 4 * T), 0);
	assert_int_equal(fake_changes(), 0);
	assert_int_equal(handshakes_started(r), 4);
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(d2);
	conf_free(conf);
}

/* Crossed initiations can leave a session that carries one way: a handshake on both sides,
 * and one side receives nothing but handshake messages (the other's initiation among them)
 * while it sends. That side starts its handshake once more RECONCILE_HANDSHAKE_RETRY after
 * the start, whichever side would have tried again had none completed (beta, key 1, is the
 * one here; gamma, key 255, is not); a session that brought traffic back, even traffic whose
 * bytes handshake messages could also make, or one this side sent nothing on, is left
 * alone, and the look is made once. */
static void
test_one_way_session_restarted(void **state)
{
	struct fixture_site high = gamma;
	const struct fixture_site *view[] = {&beta, &high};
	struct conf *conf = default_conf();
	struct mesh_desired *d;
	const int64_t T = RECONCILE_HANDSHAKE_RETRY;
	const uint64_t hs = 148 + 92; /* the other side's initiation, the answer to this one */
	uint8_t low_key[WG_KEY_SIZE], high_key[WG_KEY_SIZE];
	struct timespec now = {.tv_sec = 1};
	struct reconcile_stats st;
	struct reconcile *r;

	(void)state;
	high.key = 255;
	d = desired_of(conf, view, N(view));
	fixture_pubkey(1, low_key);
	fixture_pubkey(255, high_key);

	/* beta deaf, gamma's session fine both ways: beta is started once more. */
	r = started(d);
	assert_int_equal(reconcile_retry_at(r), T);
	assert_int_equal(fake_wg_set_peer_stats("wg0", low_key, &now, hs, 148 + 32 + 1460), 0);
	assert_int_equal(fake_wg_set_peer_stats("wg0", high_key, &now, hs + 32, 148 + 32), 0);
	assert_int_equal(reconcile_run(r, d, T), 0);
	expect_changes("wg set wg0 peer @BETA@ remove "
	               "peer @BETA@ endpoint 192.0.2.2:51820 persistent-keepalive 1 "
	               "replace-allowed-ips allowed-ips 10.2.0.0/16,10.99.0.2/32 "
	               "peer @BETA@ update-only persistent-keepalive 0\n");
	reconcile_get_stats(r, &st);
	assert_int_equal(st.handshakes_retried, 1);
	assert_int_equal(st.handshakes_one_way, 1);
	assert_int_equal(reconcile_retry_at(r), 0);
	/* Once: deaf again, it is left to WireGuard. */
	assert_int_equal(fake_wg_set_peer_stats("wg0", low_key, &now, hs, 148 + 32 + 1460), 0);
	assert_int_equal(reconcile_run(r, d, 2 * T), 0);
	assert_int_equal(fake_changes(), 0);
	reconcile_free(r);

	/* gamma deaf, the side that would not try again: started once more too; beta answered
	 * and sent a 240-byte packet (332 bytes, as an initiation and two answers would be):
	 * left alone. */
	setup(NULL);
	r = started(d);
	assert_int_equal(fake_wg_set_peer_stats("wg0", low_key, &now, 92 + 240, 148 + 32 + 1460),
	                 0);
	assert_int_equal(fake_wg_set_peer_stats("wg0", high_key, &now, hs, 92 + 32 + 1460), 0);
	assert_int_equal(reconcile_run(r, d, T), 0);
	expect_changes("wg set wg0 peer @HIGH@ remove "
	               "peer @HIGH@ endpoint 192.0.2.3:51820 persistent-keepalive 1 "
	               "replace-allowed-ips allowed-ips 10.3.0.0/16,10.99.0.3/32 "
	               "peer @HIGH@ update-only persistent-keepalive 0\n");
	reconcile_get_stats(r, &st);
	assert_int_equal(st.handshakes_retried, 1);
	reconcile_free(r);
	mesh_desired_free(d);
	conf_free(conf);
}

#define MANY_SITES 250
/* More than one run adds (RECONCILE_PEER_ADDS) or starts (RECONCILE_HANDSHAKE_BURST). */
#define PACED_SITES (RECONCILE_PEER_ADDS + 276)

/* The view of sites 0 to n - 1 of many: keys that share this site's first bytes up to one
 * that is neither low nor high (this site's key is random) and differ in that one (spread
 * over i), so that in both halves some are above its key and some below; past 256 sites, the
 * byte after the next tells them apart. */
static struct mesh_desired *
desired_many(const struct conf *conf, const uint8_t self[KEY_LEN], size_t n)
{
	static char names[PACED_SITES][8];
	static uint8_t keys[PACED_SITES][KEY_LEN];
	static struct addr_prefix prefixes[PACED_SITES], overlays[PACED_SITES];
	static const uint32_t vni = 100;
	struct mesh_site *sites = calloc(n, sizeof(*sites));
	struct mesh_desired *d = NULL;
	struct mesh_params params;
	size_t at = 0;

	assert_true(sites && n <= PACED_SITES);
	while (at < KEY_LEN - 2 && (self[at] < 16 || self[at] > 239))
		at++;
	assert_true(n <= 256 || at + 2 < KEY_LEN);
	for (size_t i = 0; i < n; i++) {
		struct mesh_site *s = &sites[i];

		snprintf(names[i], sizeof(names[i]), "s%03zu", i);
		s->name = names[i];
		memset(keys[i], 0x11, KEY_LEN);
		memcpy(keys[i], self, at);
		keys[i][at] = (uint8_t)(i * 151);
		keys[i][at + 1] = (uint8_t)i;
		if (i >> 8)
			keys[i][at + 2] = (uint8_t)(i >> 8);
		s->public_key = keys[i];
		assert_int_equal(addr_parse("198.51.100.0", &s->endpoint), 0);
		s->endpoint.u.bytes[2] = (uint8_t)(100 + i / 250);
		s->endpoint.u.bytes[3] = (uint8_t)(i % 250 + 1);
		s->endpoint_port = 51820;
		assert_int_equal(addr_prefix_parse("10.99.1.0/32", &overlays[i]), 0);
		overlays[i].addr.u.bytes[2] = (uint8_t)(1 + i / 250);
		overlays[i].addr.u.bytes[3] = (uint8_t)(i % 250 + 1);
		s->overlay = &overlays[i];
		s->noverlay = 1;
		assert_int_equal(addr_prefix_parse("10.0.0.0/16", &prefixes[i]), 0);
		prefixes[i].addr.u.bytes[0] = (uint8_t)(10 + i / 250);
		prefixes[i].addr.u.bytes[1] = (uint8_t)(i % 250 + 1);
		s->prefixes = &prefixes[i];
		s->nprefixes = 1;
		s->vnis = &vni;
		s->nvnis = 1;
	}
	mesh_params_init(&params);
	assert_int_equal(mesh_compute(conf, sites, n, &params, 0, &d), 0);
	assert_int_equal(d->npeers, n);
	free(sites);
	return d;
}

/* A join of hundreds of sites that do not answer yet: every handshake this end started is
 * watched, those of a second run's new peers beside the first's, and at each one's time
 * exactly the peers whose key is above this site's are started once more. */
static void
test_handshakes_retried_many(void **state)
{
	const size_t half = MANY_SITES / 2;
	const int64_t T = RECONCILE_HANDSHAKE_RETRY;
	struct conf *conf = default_conf();
	struct mesh_desired *self = desired_of(conf, NULL, 0), *first, *all;
	size_t above_first = 0, above = 0;
	struct reconcile_stats st;
	struct reconcile *r;

	(void)state;
	first = desired_many(conf, self->wg.public_key, half);
	all = desired_many(conf, self->wg.public_key, MANY_SITES);
	for (size_t i = 0; i < all->npeers; i++) {
		bool retried_here = all->peers[i].retries_handshake;

		above += retried_here;
		above_first += retried_here && strcmp(all->peers[i].site, "s125") < 0;
	}
	/* Both kinds among both runs' peers, or the test shows nothing. */
	assert_true(above_first > 0 && above_first < half);
	assert_true(above > above_first && above - above_first < MANY_SITES - half);

	r = started(first);
	assert_int_equal(reconcile_run(r, all, T / 4), 0);
	assert_int_equal(reconcile_retry_at(r), T);
	assert_int_equal(reconcile_run(r, all, T), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.handshakes_retried, above_first);
	assert_int_equal(reconcile_retry_at(r), T + T / 4);
	assert_int_equal(reconcile_run(r, all, T + T / 4), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.handshakes_retried, above);
	assert_int_equal(reconcile_retry_at(r), 0);
	fake_clear_ops();
	assert_int_equal(reconcile_run(r, all, 3 * T), 0);
	assert_int_equal(fake_changes(), 0);
	reconcile_free(r);
	mesh_desired_free(self);
	mesh_desired_free(first);
	mesh_desired_free(all);
	conf_free(conf);
}

/* How many of the changes since the last fake_clear_ops hold part; then forgets them. */
static size_t
changes_holding(const char *part)
{
	char *log = fake_log(true);
	size_t n = 0;

	assert_non_null(log);
	for (const char *at = log; (at = strstr(at, part)) != NULL; at += strlen(part))
		n++;
	free(log);
	fake_clear_ops();
	return n;
}

/* A join of more sites than one run may add and start handshakes with: the first run adds
 * RECONCILE_PEER_ADDS peers and nothing routed to the others, and asks for the next run at
 * once; that one adds the rest. RECONCILE_HANDSHAKE_BURST peers are started at once
 * (keepalive on, then off), the rest written with their keepalive off, and later runs start
 * RECONCILE_HANDSHAKE_RATE a second of them in the desired order, one with a persistent
 * keepalive by turning it on; a held peer that traffic started meanwhile is not started
 * again. (No peer here is this end's to start once more, so that only the pace decides.) */
static void
test_handshakes_paced(void **state)
{
	const size_t burst = RECONCILE_HANDSHAKE_BURST, rate = RECONCILE_HANDSHAKE_RATE;
	const size_t adds = RECONCILE_PEER_ADDS, n = PACED_SITES;
	const int64_t t0 = S; /* not 0: a next run due at once is due at t0 */
	struct conf *conf = default_conf();
	struct mesh_desired *self = desired_of(conf, NULL, 0), *all;
	struct timespec never = {0};
	struct reconcile_stats st;
	struct mesh_peer *nat, *busy;
	char want[160], key[KEY_BASE64_SIZE], *log;
	struct reconcile *r;
	size_t started;
	int64_t t = 0;

	(void)state;
	all = desired_many(conf, self->wg.public_key, n);
	for (size_t i = 0; i < all->npeers; i++)
		all->peers[i].retries_handshake = false;
	nat = &all->peers[n - 1]; /* started last */
	nat->keepalive = 25;
	busy = &all->peers[burst + rate / 2]; /* the first of the third run's */

	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, all, t0), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.applied[RECONCILE_OP_PEER_ADD], adds);
	assert_int_equal(st.applied[RECONCILE_OP_FDB_ADD], adds);
	assert_int_equal(st.handshakes_started, burst);
	assert_int_equal(st.handshakes_waiting, adds - burst);
	assert_int_equal(changes_holding("persistent-keepalive 1 "), burst);
	/* The rest are added by a run at once, after the loop has turned; until then they are
	 * not on the device. */
	assert_int_equal(reconcile_retry_at(r), t0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(reconcile_peer_pending(r, i),
		                 !fake_wg_has_peer("wg0", all->peers[i].public_key));
	assert_true(reconcile_peer_pending(r, n - 1));
	assert_false(reconcile_peer_pending(r, 0));
	assert_true(reconcile_unfinished(r));

	/* Half a second on, the rest are added, half a second's worth started. */
	assert_int_equal(reconcile_run(r, all, t0 + S / 2), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.applied[RECONCILE_OP_PEER_ADD], n);
	assert_int_equal(st.applied[RECONCILE_OP_FDB_ADD], n);
	assert_int_equal(st.handshakes_started, burst + rate / 2);
	assert_int_equal(st.handshakes_waiting, n - burst - rate / 2);
	assert_int_equal(changes_holding("persistent-keepalive 1 "), rate / 2);
	for (size_t i = 0; i < n; i++)
		assert_false(reconcile_peer_pending(r, i));
	assert_false(reconcile_unfinished(r));
	/* None left to add: the next run once a second's worth of starts is there. */
	assert_int_equal(reconcile_retry_at(r), t0 + S / 2 + S);

	/* Traffic for busy: WireGuard sent its initiation already. */
	assert_int_equal(fake_wg_set_peer_stats("wg0", busy->public_key, &never, 0, 148), 0);
	assert_int_equal(reconcile_run(r, all, t0 + S / 2 + S), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.handshakes_started, burst + rate / 2 + rate);
	assert_int_equal(st.handshakes_waiting, n - burst - rate / 2 - rate - 1);
	key_to_base64(key, busy->public_key);
	snprintf(want, sizeof(want), "peer %s ", key);
	log = fake_log(true);
	assert_null(strstr(log, want));
	free(log);
	assert_int_equal(changes_holding("persistent-keepalive 1 "), rate);

	/* The rest, a second's worth a run, nat's keepalive turned on from off as its start;
	 * then the look at the last ones started. */
	while (handshakes_waiting(r)) {
		t = reconcile_retry_at(r);
		started = handshakes_started(r);
		assert_int_equal(reconcile_run(r, all, t), 0);
		assert_true(handshakes_started(r) > started &&
		            handshakes_started(r) <= started + rate);
	}
	assert_int_equal(reconcile_retry_at(r), t + RECONCILE_HANDSHAKE_RETRY);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.handshakes_started, n - 1);
	assert_int_equal(st.handshakes_waiting, 0);
	key_to_base64(key, nat->public_key);
	snprintf(want, sizeof(want), "peer %s persistent-keepalive 25\n", key);
	expect_changes_hold(want);
	assert_int_equal(reconcile_run(r, all, t0 + 10 * S), 0);
	assert_int_equal(fake_changes(), 0);
	reconcile_free(r);
	mesh_desired_free(self);
	mesh_desired_free(all);
	conf_free(conf);
}

/* While peers wait for their paced start the device is still watched: a held peer whose
 * keepalive is off where its site wants 25 is no drift (turning it on is its start), but a
 * held peer removed by hand is found, and the next run puts it back. */
static void
test_drift_while_held(void **state)
{
	const size_t n = PACED_SITES;
	struct conf *conf = default_conf();
	struct mesh_desired *self = desired_of(conf, NULL, 0), *all;
	struct wg_device *set = wg_device_new("wg0");
	struct reconcile_stats st;
	struct wg_peer *gone;
	struct drift drift;
	struct reconcile *r;

	(void)state;
	all = desired_many(conf, self->wg.public_key, n);
	for (size_t i = 0; i < all->npeers; i++)
		all->peers[i].retries_handshake = false;
	all->peers[n - 1].keepalive = 25; /* started last: held through the first runs */

	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, all, 0), 0);
	assert_int_equal(reconcile_run(r, all, S / 2), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.applied[RECONCILE_OP_PEER_ADD], n);
	assert_true(st.handshakes_waiting > 0);
	assert_false(note_wg0(r, &drift));

	gone = wg_device_add_peer(set);
	assert_non_null(gone);
	memcpy(gone->public_key, all->peers[n - 2].public_key, WG_KEY_SIZE);
	gone->flags = WG_PEER_REMOVE_ME;
	hand_set(set);
	fake_clear_ops();
	assert_true(note_wg0(r, &drift));
	assert_int_equal(drift.count[DRIFT_PEER_REMOVED], 1);
	assert_int_equal(drift.count[DRIFT_PEER_CHANGED], 0);
	assert_int_equal(drift.count[DRIFT_PEER_FOREIGN], 0);

	assert_int_equal(reconcile_run(r, all, S / 2 + S), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.resyncs_by[RECONCILE_RESYNC_DRIFT], 1);
	assert_int_equal(st.applied[RECONCILE_OP_PEER_ADD], n + 1);
	assert_false(note_wg0(r, &drift));
	reconcile_free(r);
	mesh_desired_free(self);
	mesh_desired_free(all);
	conf_free(conf);
}

/* A delta of peers that fails leaves its sites pending: among hundreds, none of their VTEPs
 * is appended, while a VTEP deleted by hand of a site whose peer is written is; once the
 * peers are written, every pending one follows. The site whose VTEP is deleted is one whose
 * peer the failing run leaves alone: not one that starts its handshake again (whether a
 * site does depends on its key against this site's, which is random). */
static void
test_fdb_waits_for_pending_peers(void **state)
{
	const size_t half = MANY_SITES / 2;
	struct conf *conf = default_conf();
	struct mesh_desired *self = desired_of(conf, NULL, 0), *first, *all;
	struct kh_fdb fdb = {0};
	struct reconcile *r;
	struct kh_link vx;
	char *log, want[80];
	size_t quiet = 0;

	(void)state;
	first = desired_many(conf, self->wg.public_key, half);
	all = desired_many(conf, self->wg.public_key, MANY_SITES);
	for (; quiet < half; quiet++) {
		char name[8];
		size_t j = 0;

		snprintf(name, sizeof(name), "s%03zu", quiet);
		while (j < all->npeers && strcmp(all->peers[j].site, name) != 0)
			j++;
		assert_true(j < all->npeers);
		if (!all->peers[j].retries_handshake)
			break;
	}
	assert_true(quiet < half);
	r = started(first);
	assert_true(link_exists("vxlan100", &vx));
	fake_act_as(FAKE_SETUP);
	fdb.ifindex = vx.ifindex;
	assert_int_equal(addr_parse("10.99.1.0", &fdb.dst), 0);
	fdb.dst.u.bytes[3] = (uint8_t)(quiet + 1); /* as desired_many numbers overlays */
	assert_int_equal(kh_fdb_del(&fdb), 0);
	fake_act_as(FAKE_NETD);
	drain(r);
	fake_clear_ops();

	fake_fail(FAKE_OP_WG_SET, 1, EBUSY);
	assert_int_equal(reconcile_run(r, all, S), -EAGAIN);
	assert_int_equal(fake_count(FAKE_OP_FDB_APPEND), 1);
	log = fake_log(true);
	snprintf(want, sizeof(want), "fdb append 00:00:00:00:00:00 dev vxlan100 dst 10.99.1.%zu\n",
	         quiet + 1);
	assert_non_null(strstr(log, want));
	free(log);
	forget_events();
	fake_clear_ops();

	assert_int_equal(reconcile_run(r, all, 2 * S), 0);
	assert_int_equal(fake_count(FAKE_OP_FDB_APPEND), MANY_SITES - half);
	reconcile_free(r);
	mesh_desired_free(self);
	mesh_desired_free(first);
	mesh_desired_free(all);
	conf_free(conf);
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

#define SCALE_SITES 1000
#define SCALE_MAIN  10000

/* An operator's main table of SCALE_MAIN routes beside d (SCALE_SITES sites of 10.16.0.0/24
 * and up, the first one withdrawn but fenced), a hundred of them inside those prefixes: one
 * yield each, and the runs stay cheap. */
static void
scale_main_table(struct reconcile *r, const struct mesh_desired *d, int64_t t)
{
	struct reconcile_stats before, after;
	struct timespec t0;
	struct kh_link eth1;
	size_t n;

	assert_true(link_exists("eth1", &eth1));
	fake_act_as(FAKE_SETUP);
	assert_int_equal(kh_link_set_up(eth1.ifindex, true), 0);
	for (size_t k = 0; k < SCALE_MAIN; k++) {
		struct kh_route m = {
		        .table = 254, .protocol = 4, .metric = 100, .oif = eth1.ifindex};

		assert_int_equal(
		        addr_prefix_parse(k < 100 ? "10.16.0.128/25" : "100.64.0.0/32", &m.dst), 0);
		m.dst.addr.u.bytes[2] = (uint8_t)(k < 100 ? k : k >> 8);
		if (k >= 100)
			m.dst.addr.u.bytes[3] = (uint8_t)k;
		assert_int_equal(kh_route_replace(&m), 0);
	}
	fake_act_as(FAKE_NETD);
	reconcile_get_stats(r, &before);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(reconcile_run(r, d, t), 0);
	print_message("%d sites, %d routes in main: 100 yields %.3f s\n", SCALE_SITES, SCALE_MAIN,
	              seconds_since(&t0));
	reconcile_get_stats(r, &after);
	assert_int_equal(after.applied[RECONCILE_OP_ROUTE_ADD] -
	                         before.applied[RECONCILE_OP_ROUTE_ADD],
	                 100);
	reconcile_overlaps(r, &n);
	assert_int_equal(n, 100);
	fake_clear_ops();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(reconcile_run(r, d, t + S), 0);
	print_message("%d sites, %d routes in main: run with nothing to do %.3f s\n", SCALE_SITES,
	              SCALE_MAIN, seconds_since(&t0));
	assert_int_equal(fake_changes(), 0);
	reconcile_overlaps(r, &n);
	assert_int_equal(n, 100);
}

static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* SCALE_SITES sites, each with a /24, an overlay address and VNI 100, in a view and trusted by
 * the config. */
struct scale {
	char *text, name[SCALE_SITES][16];
	uint8_t key[SCALE_SITES][KEY_LEN];
	struct mesh_site *sites;
	struct addr_prefix *prefixes, *overlays;
	struct conf *conf;
};

static const uint32_t scale_vni = 100;

static void
scale_init(struct scale *sc)
{
	size_t cap = 256 * SCALE_SITES + 4096, len = 0;

	sc->text = malloc(cap);
	sc->sites = calloc(SCALE_SITES, sizeof(*sc->sites));
	sc->prefixes = calloc(SCALE_SITES, sizeof(*sc->prefixes));
	sc->overlays = calloc(SCALE_SITES, sizeof(*sc->overlays));
	assert_non_null(sc->overlays);
	assert_non_null(sc->text);
	assert_non_null(sc->sites);
	assert_non_null(sc->prefixes);
	len += (size_t)snprintf(sc->text + len, cap - len,
	                        "site = { name = \"alpha\"; };\n"
	                        "wireguard = { interface = \"wg0\"; private_key_file = \"%s\"; };\n"
	                        "overlay = [ \"10.99.0.1\" ];\n%strust = (\n",
	                        fixture_keyfile, segments);
	for (size_t i = 0; i < SCALE_SITES; i++) {
		struct mesh_site *site = &sc->sites[i];
		char key[KEY_BASE64_SIZE];

		snprintf(sc->name[i], sizeof(sc->name[i]), "site-%04zu", i);
		site->name = sc->name[i];
		memset(sc->key[i], 0x5a, KEY_LEN);
		sc->key[i][0] = (uint8_t)(i >> 8);
		sc->key[i][1] = (uint8_t)i;
		site->public_key = sc->key[i];
		key_to_base64(key, site->public_key);
		len += (size_t)snprintf(sc->text + len, cap - len,
		                        "%s{ name = \"%s\"; public_key = \"%s\"; prefixes = [ "
		                        "\"10.%zu.%zu.0/24\" ]; overlay = [ \"172.16.%zu.%zu\" ]; "
		                        "vnis = [ 100 ]; }\n",
		                        i ? "," : "", sc->name[i], key, 16 + i / 256, i % 256,
		                        i >> 8, i & 0xff);
		assert_int_equal(addr_parse("192.0.2.1", &site->endpoint), 0);
		site->endpoint.u.bytes[2] = (uint8_t)(i >> 8);
		site->endpoint.u.bytes[3] = (uint8_t)i;
		site->endpoint.u.bytes[0] = 100;
		site->endpoint_port = 51820;
		assert_int_equal(addr_prefix_parse("172.16.0.0/32", &sc->overlays[i]), 0);
		sc->overlays[i].addr.u.bytes[2] = (uint8_t)(i >> 8);
		sc->overlays[i].addr.u.bytes[3] = (uint8_t)i;
		site->overlay = &sc->overlays[i];
		site->noverlay = 1;
		assert_int_equal(addr_prefix_parse("10.16.0.0/24", &sc->prefixes[i]), 0);
		sc->prefixes[i].addr.u.bytes[1] = (uint8_t)(16 + i / 256);
		sc->prefixes[i].addr.u.bytes[2] = (uint8_t)(i % 256);
		site->prefixes = &sc->prefixes[i];
		site->nprefixes = 1;
		site->vnis = &scale_vni;
		site->nvnis = 1;
	}
	snprintf(sc->text + len, cap - len, ");\n");
	sc->conf = fixture_conf(sc->text);
}

static void
scale_free(struct scale *sc)
{
	conf_free(sc->conf);
	free(sc->prefixes);
	free(sc->overlays);
	free(sc->sites);
	free(sc->text);
}

/* A federation of SCALE_SITES sites: the first run builds everything, a run that changes
 * nothing still reads each kind of object once and keeps nothing of the first run's record
 * of route changes (a change per route, counted by mallinfo2), one site going changes only
 * its tunnel's objects (its fences stay with its trust entry). */
static void
test_scale(void **state)
{
	static struct scale sc;
	struct mesh_site *sites;
	struct mesh_desired *d = NULL, *less = NULL;
	struct mesh_params params;
	struct reconcile_stats st;
	struct wg_device *dev;
	struct drift drift;
	struct timespec t0;
	struct reconcile *r;
	struct conf *conf;
	size_t held, desired;
	int64_t t;

	(void)state;
	scale_init(&sc);
	sites = sc.sites;
	conf = sc.conf;
	mesh_params_init(&params);

	held = heap_in_use();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mesh_compute(conf, sites, SCALE_SITES, &params, 0, &d), 0);
	print_message("%d sites: mesh %.3f s\n", SCALE_SITES, seconds_since(&t0));
	desired = heap_in_use() - held;
	assert_int_equal(d->npeers, SCALE_SITES);
	assert_int_equal(d->nroutes, 2 * SCALE_SITES);
	assert_int_equal(d->nfailclosed, 2 * SCALE_SITES);
	assert_int_equal(d->nreports, 0);
	/* What the desired state holds a site (its peer, allowed-ips, two routes, two fail-closed
	 * prefixes, a VTEP, its name): 259 bytes with each route two 32-bit places (its prefix
	 * among the allowed-ips, its peer), 307 with its prefix and MTU, 323 with a size_t place,
	 * 339 with a block of allowed-ips a peer. */
	if (held == 0) {
		print_message(
		        "%d sites: desired state not measured: mallinfo2 counts nothing under "
		        "this allocator\n",
		        SCALE_SITES);
	} else {
		print_message("%d sites: desired state %zu bytes a site\n", SCALE_SITES,
		              desired / SCALE_SITES);
		assert_true(desired <= (size_t)SCALE_SITES * 268);
	}

	assert_int_equal(reconcile_new(&r), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(reconcile_run(r, d, 0), 0);
	print_message("%d sites: first run %.3f s\n", SCALE_SITES, seconds_since(&t0));
	reconcile_get_stats(r, &st);
	assert_int_equal(st.applied[RECONCILE_OP_PEER_ADD], SCALE_SITES);
	assert_int_equal(st.applied[RECONCILE_OP_ROUTE_ADD], 4 * SCALE_SITES);
	assert_int_equal(st.applied[RECONCILE_OP_FDB_ADD], SCALE_SITES);
	assert_int_equal(fake_count(FAKE_OP_WG_SET), 2);

	/* The handshakes beyond the first run's burst, started at their pace by runs that
	 * change nothing else (and keep nothing of the first run's record). */
	held = heap_in_use();
	for (t = S; reconcile_retry_at(r); t = reconcile_retry_at(r))
		assert_int_equal(reconcile_run(r, d, t), 0);
	reconcile_get_stats(r, &st);
	assert_int_equal(st.handshakes_started, SCALE_SITES);
	assert_int_equal(st.applied[RECONCILE_OP_ROUTE_ADD], 4 * SCALE_SITES);
	fake_clear_ops();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(reconcile_run(r, d, t + S), 0);
	print_message("%d sites: run with nothing to do %.3f s, %zu calls\n", SCALE_SITES,
	              seconds_since(&t0), fake_count(FAKE_OP_ANY));
	assert_int_equal(fake_changes(), 0);
	assert_int_equal(fake_count(FAKE_OP_ANY), 7);
	/* A sanitizer's allocator leaves glibc's counters at zero: nothing to compare there. */
	if (held == 0) {
		print_message("%d sites: heap not checked: mallinfo2 counts nothing under this "
		              "allocator\n",
		              SCALE_SITES);
	} else {
		print_message("%d sites: the heap after it %zd bytes from the first run's\n",
		              SCALE_SITES, (ssize_t)heap_in_use() - (ssize_t)held);
		assert_true(heap_in_use() + SCALE_SITES * sizeof(struct reconcile_route_change) <=
		            held);
	}

	dev = read_wg0();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 100; i++)
		assert_false(reconcile_note_device(r, dev, &drift));
	print_message("%d sites: drift check of a device read %.1f us\n", SCALE_SITES,
	              seconds_since(&t0) * 1e6 / 100);
	wg_free_device(dev);

	assert_int_equal(mesh_compute(conf, sites + 1, SCALE_SITES - 1, &params, 0, &less), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(reconcile_run(r, less, t + 2 * S), 0);
	print_message("%d sites: one site gone %.3f s\n", SCALE_SITES, seconds_since(&t0));
	expect_changes("route del 10.16.0.0/24 dev wg0 table 51820 proto 200 metric 10\n"
	               "route del 172.16.0.0/32 dev wg0 table 51820 proto 200 metric 10\n"
	               "fdb del 00:00:00:00:00:00 dev vxlan100 dst 172.16.0.0\n"
	               "wg set wg0 peer AABaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo= remove\n");
	scale_main_table(r, less, t + 3 * S);
	reconcile_free(r);
	mesh_desired_free(d);
	mesh_desired_free(less);
	scale_free(&sc);
}

/* SCALE_SITES sites programmed, every handshake started at its pace: the reconciler, the
 * desired state (*d) and the time of its last run (*t). */
static struct reconcile *
scale_settled(struct scale *sc, struct mesh_desired **d, int64_t *t)
{
	struct mesh_params params;
	struct reconcile *r;

	scale_init(sc);
	mesh_params_init(&params);
	assert_int_equal(mesh_compute(sc->conf, sc->sites, SCALE_SITES, &params, 0, d), 0);
	assert_int_equal(reconcile_new(&r), 0);
	assert_int_equal(reconcile_run(r, *d, 0), 0);
	for (*t = S; reconcile_retry_at(r); *t = reconcile_retry_at(r))
		assert_int_equal(reconcile_run(r, *d, *t), 0);
	return r;
}

/* What a reconciler keeps between runs for SCALE_SITES sites (two tunnel routes and two fences
 * each, a peer on the drift table), counted by mallinfo2 as what freeing it returns: the
 * saved scope's routes took 80 bytes each, with a copy of the fail-closed prefixes besides
 * (684 bytes a site; 445 without), and the drift table a copy of each peer's allowed-ips and
 * its endpoint's socket address (381 without), and each fence of the last run a prefix of 24
 * bytes (349 with 18). */
static void
test_kept_footprint(void **state)
{
	static struct scale sc;
	struct mesh_desired *d = NULL;
	struct reconcile *r;
	size_t kept;
	int64_t t;

	(void)state;
	r = scale_settled(&sc, &d, &t);
	kept = heap_in_use();
	reconcile_free(r);
	if (kept == 0) {
		print_message("%d sites: not measured: mallinfo2 counts nothing under this "
		              "allocator\n",
		              SCALE_SITES);
	} else {
		kept -= heap_in_use();
		print_message("%d sites: the reconciler keeps %zu bytes a site\n", SCALE_SITES,
		              kept / SCALE_SITES);
		assert_true(kept <= (size_t)SCALE_SITES * 364);
	}
	mesh_desired_free(d);
	scale_free(&sc);
}

/* The most a run holds at any kernel call, above what was held before it, when it puts back
 * a peer and a route another hand removed: it reads the table, the addresses and the device
 * and plans the routes, and at SCALE_SITES sites (four routes each) the largest moment was the
 * peers' change with all of them alive: 900 bytes a site. The table now goes before the
 * device is read, a planned route is made small (484), of the device's read the run keeps
 * only what it compares (392); the table's routes are held small and a planned route borrows
 * its prefix, metric, MTU and peer (280). */
static void
test_run_peak(void **state)
{
	static struct scale sc;
	struct kh_route gone = {.table = 51820, .protocol = 200, .metric = 10};
	struct mesh_desired *d = NULL;
	struct wg_device *set = wg_device_new("wg0");
	struct wg_peer *p;
	struct reconcile *r;
	size_t before, held;
	int64_t t;

	(void)state;
	assert_non_null(set);
	r = scale_settled(&sc, &d, &t);
	fake_act_as(FAKE_OTHER);
	assert_int_equal(addr_prefix_parse("10.16.0.0/24", &gone.dst), 0);
	assert_int_equal(kh_route_del(&gone), 0);
	p = wg_device_add_peer(set);
	assert_non_null(p);
	memcpy(p->public_key, d->peers[SCALE_SITES / 2].public_key, WG_KEY_SIZE);
	p->flags = WG_PEER_REMOVE_ME;
	assert_int_equal(wg_set_device(set), 0);
	wg_free_device(set);
	fake_act_as(FAKE_NETD);
	fake_clear_ops();
	fake_measure_at(FAKE_OP_ANY, heap_in_use);
	before = heap_in_use();
	assert_int_equal(reconcile_run(r, d, t + S), 0);
	assert_int_equal(fake_count(FAKE_OP_WG_SET), 1);
	assert_int_equal(fake_count(FAKE_OP_ROUTE_REPLACE), 1);
	held = fake_measured();
	fake_measure_at(FAKE_OP_ANY, NULL);
	if (before == 0) {
		print_message("%d sites: not measured: mallinfo2 counts nothing under this "
		              "allocator\n",
		              SCALE_SITES);
	} else {
		assert_true(held > before);
		print_message("%d sites: a run putting back a peer and a route holds at most %zu "
		              "bytes a site more\n",
		              SCALE_SITES, (held - before) / SCALE_SITES);
		assert_true(held - before <= (size_t)SCALE_SITES * 320);
	}
	reconcile_free(r);
	mesh_desired_free(d);
	scale_free(&sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_start_from_empty, setup),
	        cmocka_unit_test_setup(test_again_changes_nothing, setup),
	        cmocka_unit_test_setup(test_adopt, setup),
	        cmocka_unit_test_setup(test_adopt_difference, setup),
	        cmocka_unit_test_setup(test_site_added_and_removed, setup),
	        cmocka_unit_test_setup(test_repair_after_deletion, setup),
	        cmocka_unit_test_setup(test_repair_rule, setup),
	        cmocka_unit_test_setup(test_repair_link, setup),
	        cmocka_unit_test_setup(test_failclosed, setup),
	        cmocka_unit_test_setup(test_failclosed_local, setup),
	        cmocka_unit_test_setup(test_repair_addresses, setup),
	        cmocka_unit_test_setup(test_collisions, setup),
	        cmocka_unit_test_setup(test_yields, setup),
	        cmocka_unit_test_setup(test_planned_in_order, setup),
	        cmocka_unit_test_setup(test_route_moves, setup),
	        cmocka_unit_test_setup(test_failures_retried, setup),
	        cmocka_unit_test_setup(test_every_failure_heals, setup),
	        cmocka_unit_test_setup(test_resync, setup),
	        cmocka_unit_test_setup(test_teardown, setup),
	        cmocka_unit_test_setup(test_config_change, setup),
	        cmocka_unit_test_setup(test_protocol_change, setup),
	        cmocka_unit_test_setup(test_table_move_events, setup),
	        cmocka_unit_test_setup(test_main_table, setup),
	        cmocka_unit_test_setup(test_vxlan_port_change, setup),
	        cmocka_unit_test_setup(test_stale_retried, setup),
	        cmocka_unit_test_setup(test_port_dropped, setup),
	        cmocka_unit_test_setup(test_port_arrives, setup),
	        cmocka_unit_test_setup(test_foreign_links, setup),
	        cmocka_unit_test_setup(test_backends, setup),
	        cmocka_unit_test_setup(test_fwmark, setup),
	        cmocka_unit_test_setup(test_bridge_named, setup),
	        cmocka_unit_test(test_drift_read_pace),
	        cmocka_unit_test(test_drift_pace_cheapest),
	        cmocka_unit_test_setup(test_drift_peer_removed, setup),
	        cmocka_unit_test_setup(test_drift_changed_and_foreign, setup),
	        cmocka_unit_test_setup(test_drift_no_peers, setup),
	        cmocka_unit_test_setup(test_drift_unknown_and_timer, setup),

	        cmocka_unit_test_setup(test_start_in_progress, setup),
	        cmocka_unit_test_setup(test_peers_wait_for_key, setup),
	        cmocka_unit_test_setup(test_wireguard_drift, setup),
	        cmocka_unit_test_setup(test_run_takes_finished_read, setup),
	        cmocka_unit_test_setup(test_taken_read_too_old, setup),
	        cmocka_unit_test_setup(test_endpoint_starts_handshake, setup),
	        cmocka_unit_test_setup(test_handshakes_counted_as_sent, setup),
	        cmocka_unit_test_setup(test_handshake_retried, setup),
	        cmocka_unit_test_setup(test_one_way_session_restarted, setup),
	        cmocka_unit_test_setup(test_handshakes_retried_many, setup),
	        cmocka_unit_test_setup(test_handshakes_paced, setup),
	        cmocka_unit_test_setup(test_drift_while_held, setup),
	        cmocka_unit_test_setup(test_fdb_waits_for_pending_peers, setup),
	        cmocka_unit_test_setup(test_scale, setup),
	        cmocka_unit_test_setup(test_kept_footprint, setup),
	        cmocka_unit_test_setup(test_run_peak, setup),
	        cmocka_unit_test_setup(test_batch_one_failure, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
