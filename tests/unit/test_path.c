/* The path table: when a site goes through a relay, which relay, and when it comes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netd/path.h"

#define S PATH_USEC

static const char relays_r[][WIRE_NAME_MAX + 1] = {"r"};
static const char relays_rq[][WIRE_NAME_MAX + 1] = {"q", "r"};

/* "c", the site the tests are about, and two relays that offer to relay and have handshaken
 * with this site: "q" and "r". */
struct view {
	struct path_site sites[3];
};

static void
view_init(struct view *v, int64_t now)
{
	memset(v, 0, sizeof(*v));
	v->sites[0] = (struct path_site){
	        .name = "c", .live = true, .relays = relays_rq, .nrelays = 2, .has_wg = true};
	v->sites[1] = (struct path_site){.name = "q",
	                                 .live = true,
	                                 .offers_relay = true,
	                                 .has_wg = true,
	                                 .handshake_at = now};
	v->sites[2] = (struct path_site){.name = "r",
	                                 .live = true,
	                                 .offers_relay = true,
	                                 .has_wg = true,
	                                 .handshake_at = now};
}

static int
update(struct path_table *p, struct view *v, const char (*relays)[WIRE_NAME_MAX + 1], size_t n,
       int64_t now)
{
	return path_update(p, v->sites, 3, relays, n, now, 1700000000 * S + now);
}

/* No handshake within PATH_DIRECT_WAIT of the site's appearance: relayed; both ends of the
 * pair pick the same relay. */
static void
test_no_handshake_relays(void **state)
{
	struct path_table *a = path_new("a"), *c = path_new("c");
	struct view v;
	struct path_info pi;
	int64_t t = 10 * S;

	(void)state;
	view_init(&v, t);
	assert_int_equal(update(a, &v, relays_rq, 2, t), 0);
	assert_null(path_relay(a, "c"));
	assert_int_equal(update(a, &v, relays_rq, 2, t + PATH_DIRECT_WAIT - 1), 0);
	assert_null(path_relay(a, "c"));
	assert_true(path_next_deadline(a) == t + PATH_DIRECT_WAIT);
	assert_int_equal(update(a, &v, relays_rq, 2, t + PATH_DIRECT_WAIT), 1);
	assert_non_null(path_relay(a, "c"));
	assert_int_equal(path_get(a, "c", &pi), 0);
	assert_int_equal(pi.mode, PATH_RELAYED);
	assert_non_null(pi.reason);
	assert_true(path_fresh_after(a, "c") > 1700000000);

	/* The other end, which sees "a" as "c" sees ... the same pair: the same relay. */
	v.sites[0].name = "a";
	assert_int_equal(update(c, &v, relays_rq, 2, t), 0);
	assert_int_equal(update(c, &v, relays_rq, 2, t + PATH_DIRECT_WAIT), 1);
	assert_string_equal(path_relay(c, "a"), path_relay(a, "c"));
	path_free(a);
	path_free(c);
}

/* A relay must offer, be accepted by this site and by the other end, be up and reached
 * directly: otherwise the site stays direct and the reason says none is there. */
static void
test_relay_needs_every_opt_in(void **state)
{
	struct path_table *a = path_new("a");
	struct view v;
	struct path_info pi;
	int64_t t = 10 * S;

	(void)state;
	view_init(&v, t);
	v.sites[0].nrelays = 0; /* "c" accepts none */
	update(a, &v, relays_rq, 2, t);
	assert_int_equal(update(a, &v, relays_rq, 2, t + 3 * S), 0);
	assert_null(path_relay(a, "c"));
	assert_int_equal(path_get(a, "c", &pi), 0);
	assert_int_equal(pi.mode, PATH_DIRECT);
	assert_non_null(strstr(pi.reason, "no relay"));

	view_init(&v, t);
	update(a, &v, NULL, 0, t); /* this site accepts none */
	assert_int_equal(update(a, &v, NULL, 0, t + 3 * S), 0);
	assert_null(path_relay(a, "c"));

	view_init(&v, t);
	v.sites[1].offers_relay = v.sites[2].offers_relay = false;
	update(a, &v, relays_rq, 2, t);
	assert_int_equal(update(a, &v, relays_rq, 2, t + 3 * S), 0);

	view_init(&v, t);
	v.sites[1].live = false;
	v.sites[2].handshake_at = 0; /* not reached directly from here */
	update(a, &v, relays_rq, 2, t);
	assert_int_equal(update(a, &v, relays_rq, 2, t + 3 * S), 0);

	/* Only "r" is left: chosen, whatever the hash would have said of "q". */
	view_init(&v, t);
	v.sites[1].live = false;
	update(a, &v, relays_rq, 2, t);
	assert_int_equal(update(a, &v, relays_rq, 2, t + 3 * S), 1);
	assert_string_equal(path_relay(a, "c"), "r");
	path_free(a);
}

/* Relay `bad` (1: "q", 2: "r") is itself relayed from here (it handshook once, then gossip
 * reaches it only through helpers and nothing comes back on its tunnel), through the other
 * one, never itself; then "c" fails. The relay of "c" is the other one too, whatever the hash
 * ranks first: traffic is never sent through a relay this site does not reach directly. */
static void
relayed_relay_skipped(size_t bad)
{
	struct path_table *a = path_new("a");
	const char *good = bad == 1 ? "r" : "q";
	struct view v;
	int64_t t = 10 * S;

	view_init(&v, t);
	for (size_t i = 1; i < 3; i++) {
		v.sites[i].relays = relays_rq;
		v.sites[i].nrelays = 2;
	}
	v.sites[bad].rx_bytes = 100;
	path_update(a, &v.sites[1], 2, relays_rq, 2, t, 1700000000 * S + t);
	v.sites[bad].direct_fail_at = t + S;
	assert_int_equal(
	        path_update(a, &v.sites[1], 2, relays_rq, 2, t + S, 1700000000 * S + t + S), 1);
	assert_string_equal(path_relay(a, v.sites[bad].name), good);
	update(a, &v, relays_rq, 2, t + 2 * S);
	assert_int_equal(update(a, &v, relays_rq, 2, t + 2 * S + PATH_DIRECT_WAIT), 1);
	assert_string_equal(path_relay(a, "c"), good);
	path_free(a);
}

static void
test_relayed_relay_skipped(void **state)
{
	(void)state;
	relayed_relay_skipped(1);
	relayed_relay_skipped(2);
}

/* "c" accepts "q" alone, this site "q" and "r": "q" relays, whatever the hash ranks first. */
static void
test_relay_accepted_by_both(void **state)
{
	static const char relays_q[][WIRE_NAME_MAX + 1] = {"q"};
	struct path_table *a = path_new("a");
	struct view v;
	int64_t t = 10 * S;

	(void)state;
	view_init(&v, t);
	v.sites[0].relays = relays_q;
	v.sites[0].nrelays = 1;
	update(a, &v, relays_rq, 2, t);
	assert_int_equal(update(a, &v, relays_rq, 2, t + PATH_DIRECT_WAIT), 1);
	assert_string_equal(path_relay(a, "c"), "q");
	path_free(a);
}

/* Relayed, then a handshake on the site's own peer: direct again, and counted. */
static void
test_back_to_direct(void **state)
{
	struct path_table *a = path_new("a");
	struct view v;
	struct path_info pi;
	int64_t t = 10 * S;

	(void)state;
	view_init(&v, t);
	update(a, &v, relays_r, 1, t);
	update(a, &v, relays_r, 1, t + 3 * S);
	assert_string_equal(path_relay(a, "c"), "r");
	/* Still nothing: relayed it stays. */
	assert_int_equal(update(a, &v, relays_r, 1, t + 8 * S), 0);
	v.sites[0].handshake_at = t + 9 * S;
	assert_int_equal(update(a, &v, relays_r, 1, t + 9 * S + S / 2), 1);
	assert_null(path_relay(a, "c"));
	assert_int_equal(path_fresh_after(a, "c"), 0);
	assert_int_equal(path_get(a, "c", &pi), 0);
	assert_int_equal(pi.switches, 2);
	assert_null(pi.reason);
	path_free(a);
}

/* A site that handshook once: gossip reaching it only through helpers relays it only while
 * nothing comes back on its tunnel; a site that goes down is direct (and forgotten) again. */
static void
test_gossip_failure_and_traffic(void **state)
{
	struct path_table *a = path_new("a");
	struct view v;
	int64_t t = 10 * S;

	(void)state;
	view_init(&v, t);
	v.sites[0].handshake_at = t;
	v.sites[0].rx_bytes = 100;
	update(a, &v, relays_r, 1, t);
	/* Answered only through helpers, but bytes keep coming: direct. */
	v.sites[0].direct_fail_at = t + S;
	v.sites[0].rx_bytes = 200;
	assert_int_equal(update(a, &v, relays_r, 1, t + S), 0);
	assert_null(path_relay(a, "c"));
	/* A second without a byte: relayed. */
	assert_int_equal(update(a, &v, relays_r, 1, t + 2 * S), 1);
	assert_string_equal(path_relay(a, "c"), "r");
	/* Down: direct again, for when it comes back. */
	v.sites[0].live = false;
	assert_int_equal(update(a, &v, relays_r, 1, t + 3 * S), 1);
	assert_null(path_relay(a, "c"));
	path_free(a);
}

/* Sending while nothing comes back asks for an early probe, once per wait. */
static void
test_quiet_tunnel_asks_for_a_probe(void **state)
{
	struct path_table *a = path_new("a");
	struct view v;
	int64_t t = 10 * S;

	(void)state;
	view_init(&v, t);
	v.sites[0].handshake_at = t;
	v.sites[0].rx_bytes = v.sites[0].tx_bytes = 100;
	update(a, &v, relays_r, 1, t);
	assert_false(path_want_probe(a, "c", t));
	v.sites[0].tx_bytes = 300;
	update(a, &v, relays_r, 1, t + PATH_RX_QUIET);
	assert_true(path_want_probe(a, "c", t + PATH_RX_QUIET));
	assert_false(path_want_probe(a, "c", t + PATH_RX_QUIET + 1));
	assert_false(path_want_probe(a, "nobody", t));
	path_free(a);
}

/* The table keeps names of its own: the sites' names given to an update may be gone by the
 * next, the relay of a site relayed from one update to the next included. */
static void
test_names_owned(void **state)
{
	struct path_table *a = path_new("a");
	struct view v;
	char names[3][WIRE_NAME_MAX + 1] = {"c", "q", "r"};
	const char *relay;
	struct path_info pi;
	int64_t t = 10 * S;

	(void)state;
	view_init(&v, t);
	for (size_t i = 0; i < 3; i++)
		v.sites[i].name = names[i];
	update(a, &v, relays_rq, 2, t);
	assert_int_equal(update(a, &v, relays_rq, 2, t + PATH_DIRECT_WAIT), 1);
	assert_non_null(relay = path_relay(a, "c"));
	assert_true(strcmp(relay, "q") == 0 || strcmp(relay, "r") == 0);
	memset(names, 'x', sizeof(names));
	assert_true(strcmp(path_relay(a, "c"), "q") == 0 || strcmp(path_relay(a, "c"), "r") == 0);

	/* Given again in other storage: the relay carried over into the new table is its own. */
	strcpy(names[0], "c");
	strcpy(names[1], "q");
	strcpy(names[2], "r");
	assert_int_equal(update(a, &v, relays_rq, 2, t + PATH_DIRECT_WAIT + S), 0);
	memset(names, 'y', sizeof(names));
	assert_int_equal(path_get(a, "c", &pi), 0);
	assert_int_equal(pi.mode, PATH_RELAYED);
	assert_true(strcmp(pi.relay, "q") == 0 || strcmp(pi.relay, "r") == 0);
	assert_int_equal(path_get(a, "q", &pi), 0);
	assert_null(pi.relay);
	path_free(a);
}

/* A site that handshook on its direct path starts a new direct attempt when its tunnel is tried
 * from another endpoint (another port, another family), and not when it stays where it was. */
static void
test_endpoint_moved(void **state)
{
	struct path_table *a = path_new("a");
	/* One address, then another port, then IPv6. */
	struct addr_endpoint ep[3] = {{.port = 51820}, {.port = 51821}, {.port = 51821}}, same;
	struct view v;
	struct path_info pi;
	int64_t t = 10 * S;

	(void)state;
	assert_int_equal(addr_parse("192.0.2.7", &ep[0].addr), 0);
	ep[1].addr = ep[0].addr;
	assert_int_equal(addr_parse("2001:db8::7", &ep[2].addr), 0);
	view_init(&v, t);
	v.sites[0].handshake_at = t;
	for (int i = 0; i < 6; i++) {
		/* Even steps: elsewhere; odd ones: where it was, in another struct. */
		if (i % 2 == 0) {
			v.sites[0].endpoint = &ep[i / 2];
		} else {
			same = ep[i / 2];
			v.sites[0].endpoint = &same;
		}
		assert_int_equal(update(a, &v, relays_r, 1, t + i * S), 0);
		assert_int_equal(path_get(a, "c", &pi), 0);
		assert_true(pi.since == t + (i - i % 2) * S);
		assert_int_equal(pi.mode, PATH_DIRECT);
	}
	path_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_no_handshake_relays),
	        cmocka_unit_test(test_relay_needs_every_opt_in),
	        cmocka_unit_test(test_relayed_relay_skipped),
	        cmocka_unit_test(test_relay_accepted_by_both),
	        cmocka_unit_test(test_back_to_direct),
	        cmocka_unit_test(test_gossip_failure_and_traffic),
	        cmocka_unit_test(test_quiet_tunnel_asks_for_a_probe),
	        cmocka_unit_test(test_names_owned),
	        cmocka_unit_test(test_endpoint_moved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
