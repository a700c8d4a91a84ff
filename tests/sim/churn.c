/* netd-sim's membership churn: a federation starting from nothing but its seeds, sites
 * restarting with and without their state file, and graceful leaves. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "netd/state.h"
#include "tests/sim/sim.h"

static bool
holds(size_t observer, size_t member, enum gossip_state state, uint32_t *inc)
{
	struct gossip_member_info m;
	int idx = member_index(observer, member);

	if (idx < 0 || gossip_member(S[observer].g, (size_t)idx, &m) != 0 || m.state != state)
		return false;
	if (inc != NULL)
		*inc = m.incarnation;
	return true;
}

/* Site i holds every other site alive (not suspect). */
static bool
full_view(size_t i)
{
	if (gossip_alive_count(S[i].g) != O.sites)
		return false;
	for (size_t j = 0; j < O.sites; j++)
		if (j != i && !holds(i, j, GOSSIP_ALIVE, NULL))
			return false;
	return true;
}

static bool
everyone_full_view(void)
{
	bool all = true;

	for (size_t i = 0; i < O.sites; i++) {
		if (S[i].down || !full_view(i)) {
			all = false;
			continue;
		}
		if (S[i].full_view == INT64_MAX)
			S[i].full_view = now;
	}
	return all;
}

/* The site numbers in a random order of the network's generator (the caller frees it). */
static size_t *
shuffled_sites(void)
{
	size_t *order = xcalloc(O.sites, sizeof(*order));

	for (size_t i = 0; i < O.sites; i++)
		order[i] = i;
	for (size_t i = O.sites - 1; i > 0; i--) {
		size_t j = (size_t)(rnd() % (i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	return order;
}

/* Every site starts from nothing but its seeds, one after the other over --start-spread
 * seconds in a random order, with every session unconfirmed (as daemons start): how long
 * until every site holds every other alive. */
void
sc_join(double wall0)
{
	double limit = O.duration_s ? O.duration_s : 300, all;
	size_t *order = shuffled_sites(), nfull = 0;
	double *site_s = xcalloc(O.sites, sizeof(*site_s));
	uint64_t joins = 0;

	for (size_t k = 0; k < O.sites; k++) {
		run_until((gossip_time)(O.start_spread_s * (double)GOSSIP_SEC * (double)k /
		                        (double)O.sites));
		site_new(order[k], site_session(order[k]), 1);
		site_start(order[k]);
	}
	all = run_until_true(everyone_full_view, 0.25, limit);
	if (!isinf(all))
		all = (double)now / GOSSIP_SEC; /* from the first start */
	for (size_t i = 0; i < O.sites; i++) {
		joins += gossip_counters(S[i].g)->joins;
		if (S[i].full_view != INT64_MAX)
			site_s[nfull++] = (double)S[i].full_view / GOSSIP_SEC;
	}
	out_begin(wall0);
	out_num("start_spread_s", O.start_spread_s);
	out_num("seeds", (double)O.nseeds);
	out_num("full_view_everywhere_s", all);
	out_num("full_view_median_s", pct(site_s, nfull, 50));
	out_num("full_view_p99_s", pct(site_s, nfull, 99));
	out_num("sites_with_full_view", (double)nfull);
	out_num("join_attempts", (double)joins);
	out_num("false_dead", (double)false_dead);
	printf("}\n");
	free(order);
	free(site_s);
}

/* ---- restarts ---- */

static size_t restarted;
static gossip_time rejoin_alive, rejoin_view;

/* Every live site holds the restarted one alive at the incarnation it now runs, and it
 * holds every other site alive. */
static bool
rejoined(void)
{
	uint32_t inc = gossip_self(S[restarted].g)->incarnation, held;
	bool alive = true;

	for (size_t j = 0; j < O.sites && alive; j++)
		if (j != restarted && !S[j].down &&
		    (!holds(j, restarted, GOSSIP_ALIVE, &held) || held != inc))
			alive = false;
	if (alive && rejoin_alive == INT64_MAX)
		rejoin_alive = now;
	if (rejoin_view == INT64_MAX && full_view(restarted))
		rejoin_view = now;
	return rejoin_alive != INT64_MAX && rejoin_view != INT64_MAX;
}

struct rejoin {
	double alive_s, view_s;
	size_t held_down; /* sites holding it dead or left when it came back */
};

/* Stops site who for --down seconds and starts it again: with its state (what the daemon's
 * state file keeps: the members it last held alive, their credentials, the revocations, and
 * the next incarnation), or from nothing at incarnation 1. It stops by crashing, or with
 * --graceful by leaving (as netd does on SIGTERM) and exiting --linger seconds later. */
static void
restart_one(size_t who, bool keep_state, double limit, struct rejoin *r)
{
	struct state st;
	gossip_time t0, stop = now;

	if (O.graceful) {
		gossip_leave(S[who].g, net_site_now(who));
		run_until(now + (gossip_time)(O.linger_s * GOSSIP_SEC));
	}
	site_stop(who, &st);
	run_until(stop + (gossip_time)(O.down_s * GOSSIP_SEC));
	r->held_down = 0;
	for (size_t j = 0; j < O.sites; j++)
		r->held_down += !S[j].down && (holds(j, who, GOSSIP_DEAD, NULL) ||
		                               holds(j, who, GOSSIP_LEFT, NULL));
	site_restart(who, keep_state ? gossip_next_incarnation(st.incarnation) : 1,
	             keep_state ? &st : NULL);
	state_clear(&st);
	restarted = who;
	rejoin_alive = rejoin_view = INT64_MAX;
	t0 = now;
	run_until_true(rejoined, 0.1, limit);
	r->alive_s =
	        rejoin_alive == INT64_MAX ? INFINITY : (double)(rejoin_alive - t0) / GOSSIP_SEC;
	r->view_s = rejoin_view == INT64_MAX ? INFINITY : (double)(rejoin_view - t0) / GOSSIP_SEC;
}

static void
out_rejoins(const char *prefix, struct rejoin *r, size_t n)
{
	double *alive = xcalloc(n, sizeof(double)), *view = xcalloc(n, sizeof(double)),
	       held_down = 0;
	char key[80];

	for (size_t k = 0; k < n; k++) {
		alive[k] = r[k].alive_s;
		view[k] = r[k].view_s;
		held_down += (double)r[k].held_down;
	}
	snprintf(key, sizeof(key), "%s_alive_everywhere_median_s", prefix);
	out_num(key, pct(alive, n, 50));
	snprintf(key, sizeof(key), "%s_alive_everywhere_max_s", prefix);
	out_num(key, pct(alive, n, 100));
	snprintf(key, sizeof(key), "%s_full_view_max_s", prefix);
	out_num(key, pct(view, n, 100));
	/* Whether the others had declared it dead (or, --graceful, held it left) while it was
	 * down, the usual case after --down 30, or still held it alive or suspect. */
	snprintf(key, sizeof(key), "%s_held_down_at_restart", prefix);
	out_num(key, held_down / (double)n / (double)(O.sites - 1));
	free(alive);
	free(view);
}

/* One after the other: --events sites restart with their state; --events others, never
 * restarted, without it; then the first ones again, without it, so above incarnation 1. */
void
sc_restart(double wall0)
{
	size_t n = O.events ? O.events : 3, *order = shuffled_sites();
	double limit = O.duration_s ? O.duration_s : 120;
	struct rejoin *r = xcalloc(3 * n, sizeof(*r));

	run_until(now + (gossip_time)(O.warmup_s * GOSSIP_SEC));
	false_dead = 0;
	for (size_t e = 0; e < 3 * n; e++)
		restart_one(order[e % (2 * n)], e < n, limit, &r[e]);
	out_begin(wall0);
	out_num("restarts", (double)(3 * n));
	out_num("down_s", O.down_s);
	out_rejoins("with_state", r, n);
	out_rejoins("without_state", r + n, n);
	out_rejoins("without_state_after_restart", r + 2 * n, n);
	out_num("false_dead", (double)false_dead);
	printf("}\n");
	free(order);
	free(r);
}

/* ---- graceful leaves ---- */

static size_t *leavers, nleavers;
static gossip_time leavers_stop, left_at;

static bool
left_everywhere(void)
{
	for (size_t j = 0; j < O.sites; j++)
		for (size_t k = 0; k < nleavers && !S[j].down && !S[j].left; k++)
			if (!holds(j, leavers[k], GOSSIP_LEFT, NULL))
				return false;
	return true;
}

/* The leavers' processes exit once they have lingered. */
static bool
leave_done(void)
{
	if (left_at == INT64_MAX && left_everywhere())
		left_at = now;
	if (now >= leavers_stop)
		for (size_t k = 0; k < nleavers; k++)
			crash(leavers[k]);
	return now >= leavers_stop && left_at != INT64_MAX;
}

/* --events sites leave at the same moment, keep running --linger seconds so the leave
 * spreads, and stop: how long until every other site holds them left, and whether any
 * site ever declared one dead. */
void
sc_leave(double wall0)
{
	double dur = O.duration_s ? O.duration_s : 60, took;
	gossip_time t0;

	nleavers = O.events ? O.events : 3;
	leavers = xcalloc(nleavers, sizeof(*leavers));
	run_until(now + (gossip_time)(O.warmup_s * GOSSIP_SEC));
	t0 = now;
	for (size_t k = 0; k < nleavers; k++) {
		size_t who;

		do
			who = (size_t)(rnd() % O.sites);
		while (S[who].left);
		leavers[k] = who;
		S[who].left = true;
		gossip_leave(S[who].g, net_site_now(who));
		schedule(who);
	}
	leavers_stop = t0 + (gossip_time)(O.linger_s * GOSSIP_SEC);
	left_at = INT64_MAX;
	run_until_true(leave_done, 0.1, dur);
	took = left_at == INT64_MAX ? INFINITY : (double)(left_at - t0) / GOSSIP_SEC;
	/* Then the rest of the run: a left site must stay left, never turn dead. */
	run_until(t0 + (gossip_time)(dur * GOSSIP_SEC));
	out_begin(wall0);
	out_num("leaves", (double)nleavers);
	out_num("linger_s", O.linger_s);
	out_num("left_everywhere_s", took);
	out_num("left_everywhere_at_end", left_everywhere() ? 1 : 0);
	out_num("dead_of_left", (double)left_dead);
	out_num("false_dead", (double)false_dead);
	printf("}\n");
	free(leavers);
}
