/* netd-sim's federation: three authorities whose keys come from the seed, a credential per
 * site signed by two of them, and what credentials do at scale: a site admitted on its
 * credential alone, and a revocation spreading (across a restart, through a partition). */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netd/conf.h"
#include "netd/cred.h"
#include "netd/state.h"
#include "netd/view.h"
#include "tests/sim/sim.h"

#define FED_NAME        "sim"
#define FED_AUTHORITIES 3
#define FED_THRESHOLD   2
/* 2026-01-01T00:00:00Z: the Unix time of the simulation's time 0. */
#define FED_T0  1767225600
#define FED_DAY 86400

static struct {
	struct cred_authorities set;
	uint8_t secret[FED_AUTHORITIES][64]; /* in the order of set.keys */
} F;

/* what: "the credential of site 3" and the like; err: why, or "". */
static void
fail(const char *what, size_t i, const char *err)
{
	fprintf(stderr, "netd-sim: %s %zu%s%s\n", what, i, *err ? ": " : "", err);
	exit(1);
}

static int64_t
fed_unix_now(void *arg)
{
	(void)arg;
	return FED_T0 + now / GOSSIP_SEC;
}

/* The authorities' keys from the seed, sorted as an authority set keeps them. */
static void
authorities(void)
{
	uint8_t seedkey[32] = {0}, seed[32], pub[CRED_KEY_LEN];

	memcpy(seedkey, &O.seed, sizeof(O.seed));
	memset(&F.set, 0, sizeof(F.set));
	strcpy(F.set.federation, FED_NAME);
	F.set.threshold = FED_THRESHOLD;
	for (size_t a = 0; a < FED_AUTHORITIES; a++) {
		char label[] = "authority-0";
		uint8_t secret[64];
		size_t k;

		label[sizeof(label) - 2] = (char)('0' + a);
		crypto_generichash(seed, sizeof(seed), (const uint8_t *)label, sizeof(label) - 1,
		                   seedkey, sizeof(seedkey));
		if (cred_authority_from_seed(seed, pub, secret) != 0)
			fail("the key of authority", a, "");
		for (k = F.set.nkeys; k > 0 && memcmp(F.set.keys[k - 1], pub, CRED_KEY_LEN) > 0;
		     k--) {
			memcpy(F.set.keys[k], F.set.keys[k - 1], CRED_KEY_LEN);
			memcpy(F.secret[k], F.secret[k - 1], 64);
		}
		memcpy(F.set.keys[k], pub, CRED_KEY_LEN);
		memcpy(F.secret[k], secret, 64);
		F.set.nkeys++;
	}
}

/* Site i's credential, granting what its trust entry would, signed by two authorities (a
 * different pair from site to site). */
static void
credential(size_t i)
{
	uint8_t buf[CRED_ENCODED_MAX];
	struct cred c;
	int len;

	memset(&c, 0, sizeof(c));
	strcpy(c.federation, FED_NAME);
	strcpy(c.site, S[i].desc.name);
	memcpy(c.wg_key, S[i].pub, CRED_KEY_LEN);
	c.serial = 1;
	c.not_before = FED_T0 - FED_DAY;
	c.not_after = FED_T0 + 365 * FED_DAY;
	site_grant(i, &c.prefixes[0], &c.vnis[0]);
	c.nprefixes = c.nvnis = 1;
	c.overlay[0] = S[i].desc.overlay[0];
	c.noverlay = 1;
	if (cred_normalize(&c) != 0 || cred_sign(&c, F.secret[i % FED_AUTHORITIES]) != 0 ||
	    cred_sign(&c, F.secret[(i + 1) % FED_AUTHORITIES]) != 0 ||
	    (len = cred_encode(&c, buf, sizeof(buf))) < 0 ||
	    (S[i].cred = gossip_cred_new(buf, (size_t)len, NULL)) == NULL)
		fail("the credential of site", i, "");
}

void
fed_setup(void)
{
	authorities();
	for (size_t i = 0; i < O.sites; i++)
		credential(i);
}

void
fed_config(size_t i, struct gossip_config *cfg)
{
	/* Read by gossip_new, which comes before the next site's config. */
	static uint8_t cred[CRED_ENCODED_MAX];

	cfg->authorities = &F.set;
	cfg->credential = cred;
	cfg->credential_len = (size_t)gossip_cred_encode(S[i].cred, cred, sizeof(cred));
	cfg->unix_now = fed_unix_now;
}

void
fed_admit_all(size_t i, size_t nsites)
{
	char err[200];

	for (size_t j = 0; j < nsites; j++)
		if (j != i &&
		    gossip_admit(S[i].g, net_site_now(i), S[j].cred, err, sizeof(err)) != 0)
			fail("the converged start's admissions at site", i, err);
}

static gossip_time
joined_at(size_t i)
{
	return S[i].joined;
}

static gossip_time
revoked_at(size_t i)
{
	return S[i].revoked;
}

/* The time from t0 to when(i) for each site i but skip and skip2, in seconds; INFINITY where
 * it is not set. Writes how many times to *n, returns how many are set. */
static size_t
times_since(gossip_time t0, size_t skip, size_t skip2, gossip_time (*when)(size_t), double *out,
            size_t *n)
{
	size_t set = 0;

	*n = 0;
	for (size_t i = 0; i < O.sites; i++) {
		gossip_time at = when(i);

		if (i == skip || i == skip2)
			continue;
		set += at != INT64_MAX;
		out[(*n)++] = at == INT64_MAX ? INFINITY : (double)(at - t0) / GOSSIP_SEC;
	}
	return set;
}

/* p50, p99 and max of n times, in seconds and in gossip rounds, under prefix. */
static void
out_times(const char *prefix, double *v, size_t n, bool rounds)
{
	static const double ps[] = {50, 99, 100};
	static const char *const names[] = {"p50", "p99", "max"};
	char key[80];

	for (size_t k = 0; k < 3; k++) {
		double t = pct(v, n, ps[k]);

		snprintf(key, sizeof(key), "%s_%s_s", prefix, names[k]);
		out_num(key, t);
		if (!rounds)
			continue;
		snprintf(key, sizeof(key), "%s_%s_rounds", prefix, names[k]);
		out_num(key, t / round_s());
	}
}

/* ---- admission ---- */

static size_t joiner;

static bool
everyone_holds_joiner(void)
{
	if (S[joiner].full_view == INT64_MAX && gossip_alive_count(S[joiner].g) == O.sites)
		S[joiner].full_view = now;
	for (size_t i = 0; i < O.sites; i++)
		if (i != joiner && S[i].joined == INT64_MAX)
			return false;
	return S[joiner].full_view != INT64_MAX;
}

/* A converged federation of all sites but the last; at the warm-up's end the last starts
 * from nothing but its credential and the seeds, as a new site's daemon does: how long
 * until each site holds it. Without --federation it is a trusted site starting late. */
void
sc_admit(double wall0)
{
	double limit = O.duration_s ? O.duration_s : 60, *lat = xcalloc(O.sites, sizeof(double));
	uint64_t admitted = 0, refused = 0;
	size_t held, n;
	gossip_time t0;

	run_until(now + (gossip_time)(O.warmup_s * GOSSIP_SEC));
	joiner = O.sites - 1;
	track_site = (int)joiner;
	/* Its first run: no one has confirmed its session (not the one the converged start
	 * would hold), and it has confirmed no one's. */
	S[joiner].cold = true;
	S[joiner].restarts = 1;
	site_new(joiner, site_session(joiner), 1);
	site_start(joiner);
	t0 = now;
	run_until_true(everyone_holds_joiner, 0.1, limit);
	held = times_since(t0, joiner, joiner, joined_at, lat, &n);
	for (size_t i = 0; i < O.sites; i++) {
		admitted += gossip_counters(S[i].g)->creds_admitted;
		refused += gossip_counters(S[i].g)->creds_refused;
	}
	out_begin(wall0);
	out_num("round_s", round_s());
	out_times("admit", lat, n, true);
	out_num("admitted_sites", (double)held);
	out_num("joiner_full_view_s", S[joiner].full_view == INT64_MAX
	                                      ? INFINITY
	                                      : (double)(S[joiner].full_view - t0) / GOSSIP_SEC);
	out_num("creds_admitted", (double)admitted);
	out_num("creds_refused", (double)refused);
	out_num("false_dead", (double)false_dead);
	printf("}\n");
	free(lat);
}

/* ---- revocation ---- */

/* The revocation of site v's credentials (serial 1 and below), signed by two authorities. */
static size_t
revocation(size_t v, uint8_t *buf, size_t cap)
{
	struct cred_revocation r;
	int len;

	memset(&r, 0, sizeof(r));
	strcpy(r.federation, FED_NAME);
	r.kind = CRED_REVOKE_SERIAL;
	strcpy(r.site, S[v].desc.name);
	r.serial = 1;
	r.issued = fed_unix_now(NULL);
	strcpy(r.reason, "key compromise");
	if (cred_revocation_sign(&r, F.secret[0]) != 0 ||
	    cred_revocation_sign(&r, F.secret[2]) != 0 ||
	    (len = cred_revocation_encode(&r, buf, cap)) < 0)
		fail("the revocation of site", v, "");
	return (size_t)len;
}

static size_t
random_site_but(size_t a, size_t b, int side)
{
	size_t i;

	do
		i = (size_t)(rnd() % O.sites);
	while (i == a || i == b || (side >= 0 && S[i].side != side));
	return i;
}

/* Whether site i's view gives v to the mesh: what the daemon builds routes and tunnels from
 * (the sites here set no local policy). */
static bool
mesh_has(size_t i, size_t v)
{
	static const struct conf_policy no_policy;
	size_t count = gossip_member_count(S[i].g) + 1, n;
	struct mesh_site *sites = xcalloc(count, sizeof(*sites));
	struct view_room *rooms = xcalloc(count, sizeof(*rooms));
	int64_t hold_end;
	bool has = false;

	n = view_mesh_sites(S[i].g, &no_policy, (int64_t)CONF_DEFAULT_DEAD_HOLD * GOSSIP_SEC,
	                    net_site_now(i), sites, rooms, &hold_end);
	for (size_t k = 0; k < n && !has; k++)
		has = strcmp(sites[k].name, S[v].desc.name) == 0;
	free(sites);
	free(rooms);
	return has;
}

static bool
holds_site(size_t i, size_t v)
{
	struct gossip_member_info m;
	int idx = member_index(i, v);

	return idx >= 0 && gossip_member(S[i].g, (size_t)idx, &m) == 0;
}

/* What happens during the run, in time order. */
struct revoke_plan {
	size_t v, first, again;
	gossip_time heal, stop, back, end;
	size_t far_holding_at_heal; /* sites of the other side holding it when the split heals */
	struct state st;
};

static void
revoke_run(struct revoke_plan *p)
{
	for (;;) {
		gossip_time next = p->end;

		next = p->heal < next ? p->heal : next;
		next = p->stop < next ? p->stop : next;
		next = p->back < next ? p->back : next;
		run_until(next);
		if (next == p->heal) {
			for (size_t i = 0; i < O.sites; i++)
				p->far_holding_at_heal += S[i].side != S[p->first].side &&
				                          S[i].g != NULL &&
				                          gossip_revocation_count(S[i].g) > 0;
			partitioned = false;
			p->heal = INT64_MAX;
		} else if (next == p->stop) {
			site_stop(p->again, &p->st);
			p->stop = INT64_MAX;
		} else if (next == p->back) {
			site_restart(p->again, gossip_next_incarnation(p->st.incarnation), &p->st);
			state_clear(&p->st);
			p->back = INT64_MAX;
		} else {
			return;
		}
	}
}

static void
revoke_report(double wall0, const struct revoke_plan *p, gossip_time t0, double steady)
{
	double *lat = xcalloc(O.sites, sizeof(double));
	size_t n, holding = 0, kept = 0;
	/* The restarted site, down a while, is reported apart. */
	size_t revoked = times_since(t0, p->v, p->again, revoked_at, lat, &n);
	uint64_t refused = 0;

	for (size_t i = 0; i < O.sites; i++) {
		/* Down at the end (a --duration shorter than its restart): nothing to count. */
		if (i == p->v || S[i].g == NULL)
			continue;
		holding += gossip_revocation_count(S[i].g) > 0;
		kept += mesh_has(i, p->v);
		refused += gossip_counters(S[i].g)->drop_revoked;
	}
	out_begin(wall0);
	printf(",\"revoked_site\":%zu", p->v);
	out_num("steady_bytes_per_site_s", steady);
	out_times("revoke", lat, n, false);
	out_num("revoked_sites",
	        (double)revoked + (p->again != SIZE_MAX && S[p->again].revoked != INT64_MAX));
	out_num("sites_holding_revocation", (double)holding);
	out_num("routes_kept_for_revoked", (double)kept);
	out_num("datagrams_of_revoked_dropped", (double)refused);
	if (O.partition_s > 0) {
		out_num("partition_s", O.partition_s);
		out_num("far_side_holding_at_heal", (double)p->far_holding_at_heal);
	}
	if (p->again != SIZE_MAX && S[p->again].g != NULL) {
		out_num("restart_during_s", O.restart_during_s);
		out_num("restarted_holds_revocation", gossip_revocation_count(S[p->again].g) > 0);
		out_num("restarted_holds_revoked_site", holds_site(p->again, p->v));
		/* Before its stop, or by its new run: from the state file or from the others. */
		out_num("restarted_revoked_s",
		        S[p->again].revoked == INT64_MAX
		                ? INFINITY
		                : (double)(S[p->again].revoked - t0) / GOSSIP_SEC);
	}
	/* A split has each side declare the other dead, as it should: not counted then. */
	if (O.partition_s <= 0)
		out_num("false_dead", (double)false_dead);
	printf("}\n");
	free(lat);
}

/* A converged federation; after a quiet stretch (the bandwidth with credentials), a
 * revocation of a random site V is handed to one other site while V keeps running: how long
 * until each site takes V out of its view, and whether any still gives V to its mesh at the
 * end. --restart-during S: a third site restarts S seconds in with its state file, down for
 * --down s; --partition S: it is handed in during a split that heals after S seconds. */
void
sc_revoke(double wall0)
{
	struct revoke_plan p = {.heal = INT64_MAX, .stop = INT64_MAX, .back = INT64_MAX};
	double quiet_s = 10, steady, dur = 60;
	size_t ngroups = O.split > 0 ? 2 : O.islands, *sizes = xcalloc(ngroups, sizeof(*sizes));
	uint8_t buf[CRED_ENCODED_MAX];
	char err[200];
	size_t len;
	uint64_t tx0;
	gossip_time t0;

	run_until(now + (gossip_time)(O.warmup_s * GOSSIP_SEC));
	tx0 = total_tx();
	run_until(now + (gossip_time)(quiet_s * GOSSIP_SEC));
	steady = (double)(total_tx() - tx0) / quiet_s / (double)O.sites;
	t0 = now;
	p.v = (size_t)(rnd() % O.sites);
	if (O.partition_s > 0) {
		partition_groups(sizes, ngroups);
		partitioned = true;
		p.heal = t0 + (gossip_time)(O.partition_s * GOSSIP_SEC);
		dur = fmax(dur, O.partition_s + 60);
	}
	p.first = random_site_but(p.v, p.v, O.partition_s > 0 ? 0 : -1);
	p.again = SIZE_MAX;
	if (O.restart_during_s >= 0) {
		p.again = random_site_but(p.v, p.first, -1);
		p.stop = t0 + (gossip_time)(O.restart_during_s * GOSSIP_SEC);
		p.back = p.stop + (gossip_time)(O.down_s * GOSSIP_SEC);
		dur = fmax(dur, O.restart_during_s + O.down_s + 60);
	}
	p.end = t0 + (gossip_time)((O.duration_s ? O.duration_s : dur) * GOSSIP_SEC);
	track_site = (int)p.v;
	S[p.v].outcast = true;
	len = revocation(p.v, buf, sizeof(buf));
	if (gossip_add_revocation(S[p.first].g, net_site_now(p.first), buf, len, err,
	                          sizeof(err)) != 0)
		fail("the revocation handed to site", p.first, err);
	schedule(p.first);
	revoke_run(&p);
	revoke_report(wall0, &p, t0, steady);
	state_clear(&p.st);
	free(sizes);
}
