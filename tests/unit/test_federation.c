/* Admission by federation credential, with real gossip instances and no trust table at all:
 * a site joins through a seed by presenting its credential, a third learns of it through the
 * seed's gossip, a credential short of the threshold or past its time admits nothing, a
 * descriptor claiming beyond its credential is refused as beyond a trust entry, and a
 * revocation spreads, takes the site out at once and survives a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netd/conf.h"
#include "netd/cred.h"
#include "netd/gossip.h"
#include "netd/mesh.h"
#include "netd/seal.h"
#include "netd/view.h"
#include "tests/unit/heap.h"

#define NSITES 3
#define T0     1790000000 /* the federation's clock at simulated time 0 */
#define STEP   (10 * GOSSIP_MSEC)

struct datagram {
	int to;
	struct addr_endpoint from;
	size_t len;
	uint8_t buf[WIRE_DATAGRAM_MAX];
};

struct fsite {
	const char *name;
	uint8_t priv[32], pub[32];
	struct addr_endpoint addr;
	struct wire_desc desc;
	uint8_t cred[CRED_ENCODED_MAX];
	size_t cred_len;
	uint8_t next[CRED_ENCODED_MAX]; /* the credential for its next key, when next_len > 0 */
	size_t next_len;
	uint64_t serial; /* of the credentials issue makes; 0: 1 */
	struct gossip *g;
	uint64_t sessions;
	size_t revoked_events, expired_events, disowned_events;
	bool pin;
	const char *holds;          /* a fixed view's: the site it takes as held; NULL: none */
	struct gossip_trust *trust; /* its operator's trust table; NULL: F->empty */
};

struct fed {
	struct fsite s[NSITES];
	struct cred_authorities set;
	uint8_t secret[4][64]; /* the fourth's key is in no set until an update adds it */
	struct gossip_trust *empty;
	struct datagram *q;
	size_t nq, cap;
	gossip_time now;
	int cut[2];     /* datagrams between these two sites are lost; {0, 0}: none */
	bool seed_mute; /* site 0's sealed datagrams are lost, its clear ones not */
	int creds_lost; /* site 0's next datagrams to site 2 carrying a credential are lost */
	size_t asked;   /* names site 0 asked site 1 for credentials of */
};

static struct fed *F;

static int64_t
fed_unix_now(void *arg)
{
	(void)arg;
	return T0 + F->now / GOSSIP_SEC;
}

static int
site_at(const struct addr_endpoint *to)
{
	for (int i = 0; i < NSITES; i++)
		if (addr_endpoint_equal(&F->s[i].addr, to))
			return i;
	return -1;
}

/* Whether a datagram site 0 sealed for site 2 carries a credential: opened as site 2 would. */
static bool
carries_cred(const uint8_t *buf, size_t len)
{
	uint8_t plain[WIRE_DATAGRAM_MAX];
	struct seal *s = seal_new(F->s[2].name, F->s[2].priv, 1);
	struct wire_msg *m = malloc(sizeof(*m));
	struct seal_opened op;
	struct wire_reader r;
	bool found = false;
	size_t plen;

	assert_non_null(s);
	assert_non_null(m);
	if (seal_unwrap(s, 0, F->s[0].pub, buf, len, plain, sizeof(plain), &plen, &op) == 0 &&
	    wire_reader_init(&r, plain, plen) == 0)
		while (!found && wire_next(&r, m) == 1)
			found = m->type == WIRE_CRED;
	free(m);
	seal_free(s);
	return found;
}

/* The names a datagram site 0 sealed for site 1 asks credentials of: opened as site 1
 * would. */
static size_t
names_asked(const uint8_t *buf, size_t len)
{
	uint8_t plain[WIRE_DATAGRAM_MAX];
	struct seal *s = seal_new(F->s[1].name, F->s[1].priv, 1);
	struct wire_msg *m = malloc(sizeof(*m));
	struct seal_opened op;
	struct wire_reader r;
	size_t plen, n = 0;

	assert_non_null(s);
	assert_non_null(m);
	if (seal_unwrap(s, 0, F->s[0].pub, buf, len, plain, sizeof(plain), &plen, &op) == 0 &&
	    wire_reader_init(&r, plain, plen) == 0)
		while (wire_next(&r, m) == 1)
			n += m->type == WIRE_CRED_REQ ? m->count : 0;
	free(m);
	seal_free(s);
	return n;
}

static void
cb_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	struct fsite *from = arg;
	int dst = site_at(to);

	if (from == &F->s[0] && dst == 1 && buf[0] == SEAL_KIND)
		F->asked += names_asked(buf, len);

	if (dst < 0 || (F->cut[0] != F->cut[1] && ((from == &F->s[F->cut[0]] && dst == F->cut[1]) ||
	                                           (from == &F->s[F->cut[1]] && dst == F->cut[0]))))
		return;
	if (F->seed_mute && from == &F->s[0] && buf[0] == SEAL_KIND)
		return;
	if (F->creds_lost > 0 && from == &F->s[0] && dst == 2 && buf[0] == SEAL_KIND &&
	    carries_cred(buf, len)) {
		F->creds_lost--;
		return;
	}
	if (F->nq == F->cap) {
		F->cap = F->cap ? F->cap * 2 : 64;
		F->q = realloc(F->q, F->cap * sizeof(*F->q));
		assert_non_null(F->q);
	}
	F->q[F->nq].to = dst;
	F->q[F->nq].from = from->addr;
	F->q[F->nq].len = len;
	memcpy(F->q[F->nq].buf, buf, len);
	F->nq++;
}

static void
cb_event(void *arg, const struct gossip_event *ev)
{
	struct fsite *s = arg;

	if (ev->type == GOSSIP_EV_REVOKED)
		s->revoked_events++;
	if (ev->type == GOSSIP_EV_EXPIRED)
		s->expired_events++;
	if (ev->type == GOSSIP_EV_DISOWNED)
		s->disowned_events++;
}

/* Site i's credential: its prefix 10.i.0.0/16 and VNI 100, valid for a day from T0 (or
 * until T0 + lifetime), signed by nsigs authorities from the first'th on. */
static void
issue_by(int i, int first, int nsigs, int64_t lifetime)
{
	struct fsite *s = &F->s[i];
	struct cred c;
	int len;

	memset(&c, 0, sizeof(c));
	strcpy(c.federation, "test");
	strcpy(c.site, s->name);
	memcpy(c.wg_key, s->pub, 32);
	c.serial = s->serial > 0 ? s->serial : 1;
	c.not_before = T0 - 60;
	c.not_after = T0 + lifetime;
	c.nprefixes = 1;
	c.prefixes[0].addr.family = AF_INET;
	c.prefixes[0].addr.u.bytes[0] = 10;
	c.prefixes[0].addr.u.bytes[1] = (uint8_t)(i + 1);
	c.prefixes[0].len = 16;
	c.nvnis = 1;
	c.vnis[0] = 100;
	strcpy(c.provider, "acme");
	strcpy(c.jurisdiction, "DE");
	assert_int_equal(cred_normalize(&c), 0);
	for (int k = first; k < first + nsigs; k++)
		assert_int_equal(cred_sign(&c, F->secret[k]), 0);
	len = cred_encode(&c, s->cred, sizeof(s->cred));
	assert_true(len > 0);
	s->cred_len = (size_t)len;
}

static void
issue(int i, int nsigs, int64_t lifetime)
{
	issue_by(i, 0, nsigs, lifetime);
}

/* Starts site i (again) with its credential, seeded by site seed (-1: none), carrying
 * carry over when given. */
/* A simulator's stand-in for a member holding the whole view, which holds one site here. */
static bool
fixed_view_holds(void *arg, const char *name)
{
	const struct fsite *s = arg;

	return strcmp(name, s->holds) == 0;
}

static void
start(int i, int seed, const struct state *carry)
{
	struct fsite *s = &F->s[i];
	struct gossip_config cfg = {0};
	char err[160];

	gossip_free(s->g);
	cfg.name = s->name;
	cfg.private_key = s->priv;
	cfg.session = ++s->sessions + 100 * (uint64_t)i;
	cfg.incarnation = carry != NULL ? gossip_next_incarnation(carry->incarnation) : 1;
	cfg.desc = &s->desc;
	gossip_profile_lan(&cfg.profile);
	cfg.trust = s->trust != NULL ? s->trust : F->empty;
	cfg.seeds = seed >= 0 ? &F->s[seed].addr : NULL;
	cfg.nseeds = seed >= 0 ? 1 : 0;
	cfg.rng_seed = 7 + (uint64_t)i;
	cfg.cb = (struct gossip_callbacks){cb_send, cb_event, s};
	cfg.authorities = &F->set;
	cfg.credential = s->cred;
	cfg.credential_len = s->cred_len;
	cfg.next_credential = s->next_len > 0 ? s->next : NULL;
	cfg.next_credential_len = s->next_len;
	cfg.unix_now = fed_unix_now;
	cfg.pin_authorities = s->pin;
	cfg.view_holds = s->holds != NULL ? fixed_view_holds : NULL;
	cfg.view_arg = s;
	s->g = gossip_new(&cfg, err, sizeof(err));
	assert_non_null(s->g);
	if (carry != NULL)
		view_adopt(s->g, carry, F->now);
	gossip_start(s->g, F->now);
}

/* Runs every started site for ms milliseconds of simulated time, delivering at once. */
static void
run(int64_t ms)
{
	gossip_time end = F->now + ms * GOSSIP_MSEC;

	while (F->now < end) {
		for (int i = 0; i < NSITES; i++)
			if (F->s[i].g != NULL)
				gossip_tick(F->s[i].g, F->now);
		while (F->nq > 0) {
			struct datagram d = F->q[0];

			memmove(F->q, F->q + 1, --F->nq * sizeof(*F->q));
			if (F->s[d.to].g != NULL)
				gossip_receive(F->s[d.to].g, F->now, &d.from, d.buf, d.len);
		}
		F->now += STEP;
	}
}

/* The state observer holds of site `of`: GOSSIP_NONE when it does not admit it. */
static enum gossip_state
seen(int observer, int of)
{
	struct gossip_member_info mi;
	int idx = gossip_member_find(F->s[observer].g, F->s[of].name);

	if (idx < 0 || gossip_member(F->s[observer].g, (size_t)idx, &mi) != 0)
		return GOSSIP_NONE;
	return mi.state;
}

static int
cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int
setup(void **state)
{
	static const char *const names[NSITES] = {"a", "b", "c"};
	uint8_t seed[32];

	(void)state;
	F = calloc(1, sizeof(*F));
	assert_non_null(F);
	F->empty = gossip_trust_new();
	strcpy(F->set.federation, "test");
	F->set.nkeys = 3;
	F->set.threshold = 2;
	for (int k = 0; k < 4; k++) {
		uint8_t pub[32];

		memset(seed, 0x60 + k, sizeof(seed));
		assert_int_equal(
		        cred_authority_from_seed(seed, k < 3 ? F->set.keys[k] : pub, F->secret[k]),
		        0);
	}
	qsort(F->set.keys, 3, 32, cmp_key); /* sorted, as a config's are */
	for (int i = 0; i < NSITES; i++) {
		struct fsite *s = &F->s[i];

		s->name = names[i];
		memset(s->priv, 0x30 + i, 32);
		s->priv[0] &= 248;
		s->priv[31] = (s->priv[31] & 127) | 64;
		crypto_scalarmult_base(s->pub, s->priv);
		s->addr.addr.family = AF_INET;
		s->addr.addr.u.bytes[0] = 192;
		s->addr.addr.u.bytes[2] = 2;
		s->addr.addr.u.bytes[3] = (uint8_t)(i + 1);
		s->addr.port = 7946;
		s->desc.gossip = s->addr;
		s->desc.nprefixes = 1;
		s->desc.prefixes[0].addr.family = AF_INET;
		s->desc.prefixes[0].addr.u.bytes[0] = 10;
		s->desc.prefixes[0].addr.u.bytes[1] = (uint8_t)(i + 1);
		s->desc.prefixes[0].len = 16;
		s->desc.nvnis = 1;
		s->desc.vnis[0] = 100;
		issue(i, 2, 86400);
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NSITES; i++) {
		gossip_free(F->s[i].g);
		gossip_trust_free(F->s[i].trust);
	}
	gossip_trust_free(F->empty);
	free(F->q);
	free(F);
	return 0;
}

/* b joins through a with nothing but its credential; c, seeded by a too, learns b from a's
 * gossip, and b learns c. */
static void
test_join_by_credential(void **state)
{
	(void)state;
	start(0, -1, NULL);
	start(1, 0, NULL);
	run(2000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	assert_int_equal(seen(1, 0), GOSSIP_ALIVE);
	start(2, 0, NULL);
	run(3000);
	for (int i = 0; i < NSITES; i++)
		for (int j = 0; j < NSITES; j++)
			if (i != j)
				assert_int_equal(seen(i, j), GOSSIP_ALIVE);
	assert_true(gossip_counters(F->s[1].g)->creds_admitted >= 2);
	assert_int_equal(gossip_counters(F->s[0].g)->creds_refused, 0);
}

/* b's join goes to a once a's credential answers b's presentation, and a's answer is lost:
 * b's next try comes a backoff (doubled to 2 s, jittered by a quarter) after that join, not
 * when the hello's backoff (1 s) runs out, which a slow seed's presentation can reach within
 * a millisecond of the join, bringing a's whole view twice. */
static void
test_join_waits_from_the_join(void **state)
{
	uint64_t joins;
	int64_t ms = 0;

	(void)state;
	F->seed_mute = true;
	start(0, -1, NULL);
	start(1, 0, NULL);
	while (gossip_member_find(F->s[1].g, F->s[0].name) < 0 && ms < 1000) {
		run(10);
		ms += 10;
	}
	assert_true(ms < 100);
	joins = gossip_counters(F->s[1].g)->joins;
	run(1400);
	assert_int_equal(gossip_counters(F->s[1].g)->joins, joins);
	run(1200);
	assert_true(gossip_counters(F->s[1].g)->joins > joins);
}

/* b joined through a 20 s ago; datagrams between b and c are lost, so c, started later,
 * can hear of b only from a. */
static void
b_joined_apart_from_c(void)
{
	F->cut[0] = 1;
	F->cut[1] = 2;
	start(0, -1, NULL);
	start(1, 0, NULL);
	run(20000);
}

/* c can hear of b only from a, and a's answer to c's ask for b's credential is lost: c
 * syncs with a again once answers stop coming, is told of b again and asks again, well
 * before its own first sync (7.5 to 22.5 s after its start) would, and the follow-ups stop
 * once one brings nothing. */
static void
test_lost_cred_answer_asked_again(void **state)
{
	(void)state;
	b_joined_apart_from_c();
	F->creds_lost = 1;
	start(2, 0, NULL);
	run(1000);
	assert_int_equal(F->creds_lost, 0);
	assert_int_equal(seen(2, 1), GOSSIP_NONE);
	assert_int_equal(gossip_counters(F->s[2].g)->syncs, 0);
	run(2000);
	assert_int_equal(seen(2, 1), GOSSIP_ALIVE);
	assert_int_equal(gossip_counters(F->s[2].g)->syncs, 1);
	/* One more follow-up, since the last brought a credential, then none: c's own
	 * first sync is 7.5 s away at the earliest. */
	run(4000);
	assert_int_equal(gossip_counters(F->s[2].g)->syncs, 2);
}

/* c can hear of b only from a (datagrams between b and c are lost). c learns b from a's
 * anti-entropy entries; restarted with a fixed view (a simulator's stand-in for a member
 * holding the whole view), it asks a for no credential or descriptor of b, at the join nor
 * at the syncs that follow, and is still admitted by a. */
static void
test_fixed_view_asks_nothing(void **state)
{
	(void)state;
	b_joined_apart_from_c();
	start(2, 0, NULL);
	run(40000);
	assert_int_equal(seen(2, 1), GOSSIP_ALIVE);
	F->s[2].holds = F->s[1].name;
	start(2, 0, NULL);
	run(40000);
	assert_int_equal(seen(2, 0), GOSSIP_ALIVE);
	assert_int_equal(seen(0, 2), GOSSIP_ALIVE);
	assert_int_equal(seen(2, 1), GOSSIP_NONE);
	assert_int_equal(gossip_counters(F->s[2].g)->creds_admitted, 1);
	assert_true(gossip_counters(F->s[2].g)->syncs >= 1);
}

/* c, a fixed view, is up when b joins through a (datagrams between b and c are lost): a
 * passes b's descriptor on to c, before c's first sync. Returns whether c learnt b. */
static bool
fixed_view_hears_join(const char *holds)
{
	F->s[2].holds = holds;
	F->cut[0] = 1;
	F->cut[1] = 2;
	start(0, -1, NULL);
	start(2, 0, NULL);
	run(2000);
	assert_int_equal(seen(2, 0), GOSSIP_ALIVE);
	start(1, 0, NULL);
	run(4000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	assert_int_equal(gossip_counters(F->s[2].g)->syncs, 0);
	return seen(2, 1) == GOSSIP_ALIVE;
}

/* A fixed view that would hold b asks for nothing when b's descriptor is passed on to it:
 * simulated sites learning each other that way would each come to hold all of them. */
static void
test_fixed_view_passed_on_asks_nothing(void **state)
{
	(void)state;
	assert_false(fixed_view_hears_join(F->s[1].name));
	assert_int_equal(gossip_counters(F->s[2].g)->creds_admitted, 1);
}

/* A joiner the fixed view would not hold (netd, joining a simulated federation) is learnt
 * from its descriptor passed on, as any site learns it. */
static void
test_fixed_view_learns_joiner(void **state)
{
	(void)state;
	assert_true(fixed_view_hears_join("another"));
	assert_int_equal(gossip_counters(F->s[2].g)->creds_admitted, 2);
}

/* b, which learnt c from a, reaches c directly: c, a fixed view that would hold b, asks no
 * one for the credential of the unknown sender of b's datagrams (nor learns b from what a
 * passes on or lists), as a member holding b would not. */
static void
test_fixed_view_unknown_sender_asks_nothing(void **state)
{
	(void)state;
	F->s[2].holds = F->s[1].name;
	start(0, -1, NULL);
	start(2, 0, NULL);
	run(2000);
	start(1, 0, NULL);
	run(20000);
	assert_int_equal(seen(1, 2), GOSSIP_ALIVE);
	assert_true(gossip_counters(F->s[2].g)->drop_unknown > 0);
	assert_int_equal(seen(2, 1), GOSSIP_NONE);
	assert_int_equal(gossip_counters(F->s[2].g)->creds_admitted, 1);
}

/* One signature where two are needed: b is never admitted, and says so in the counters. */
static void
test_short_of_threshold(void **state)
{
	(void)state;
	issue(1, 1, 86400);
	start(0, -1, NULL);
	start(1, 0, NULL);
	run(3000);
	assert_int_equal(seen(0, 1), GOSSIP_NONE);
	assert_true(gossip_counters(F->s[0].g)->creds_refused > 0);
	assert_int_equal(gossip_member_count(F->s[0].g), 0);
}

/* The sites of a's view that the mesh gets (tunnel, routes, FDB), with an hour's dead hold. */
static size_t
mesh_sites_of_a(void)
{
	struct conf_policy policy;
	struct mesh_site sites[NSITES];
	struct view_room rooms[NSITES];
	int64_t hold_end;

	memset(&policy, 0, sizeof(policy));
	return view_mesh_sites(F->s[0].g, &policy, 3600 * GOSSIP_SEC, F->now, sites, rooms,
	                       &hold_end);
}

/* A credential that runs out takes its site out of the view when it does, and its tunnel,
 * routes and FDB entries with it, not at the end of the dead hold. */
static void
test_expiry(void **state)
{
	(void)state;
	issue(1, 2, 5);
	start(0, -1, NULL);
	start(1, 0, NULL);
	run(2000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	assert_int_equal(mesh_sites_of_a(), 1);
	run(5000);
	assert_int_equal(seen(0, 1), GOSSIP_NONE);
	assert_int_equal(F->s[0].expired_events, 1);
	assert_int_equal(mesh_sites_of_a(), 0);
}

/* b's credential is valid from 3 s on (issued ahead, as a renewal may be): before that a
 * refuses it, after it a admits b at b's next try. */
static void
test_not_yet_valid(void **state)
{
	struct cred c;
	char err[128];

	(void)state;
	assert_int_equal(cred_decode(F->s[1].cred, F->s[1].cred_len, &c, err, sizeof(err)), 0);
	c.not_before = T0 + 3;
	c.nsigs = 0;
	assert_int_equal(cred_sign(&c, F->secret[0]), 0);
	assert_int_equal(cred_sign(&c, F->secret[1]), 0);
	F->s[1].cred_len = (size_t)cred_encode(&c, F->s[1].cred, sizeof(F->s[1].cred));
	start(0, -1, NULL);
	start(1, 0, NULL);
	run(2900);
	assert_int_equal(seen(0, 1), GOSSIP_NONE);
	assert_true(gossip_counters(F->s[0].g)->creds_refused > 0);
	run(10000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	assert_int_equal(seen(1, 0), GOSSIP_ALIVE);
}

/* b's descriptor claims a prefix its credential does not grant: refused whole, as beyond a
 * trust entry, with the credential named. */
static void
test_claims_beyond_credential(void **state)
{
	struct gossip_member_info mi;

	(void)state;
	F->s[1].desc.prefixes[0].addr.u.bytes[1] = 99;
	start(0, -1, NULL);
	start(1, 0, NULL);
	run(2000);
	assert_int_equal(gossip_member(F->s[0].g, (size_t)gossip_member_find(F->s[0].g, "b"), &mi),
	                 0);
	assert_int_equal(mi.refusal, GOSSIP_REFUSAL_PREFIX);
	assert_non_null(strstr(mi.why, "its credential"));
	assert_int_equal(mi.granted->nprefixes, 0);
	assert_non_null(mi.cred);
	assert_true(gossip_cred_serial(mi.cred) == 1);
}

/* A revocation of site's credentials up to serial 1, signed by nsigs authorities. */
static void
revoke(const char *site, uint8_t *buf, size_t *len, int nsigs)
{
	struct cred_revocation r;
	int n;

	memset(&r, 0, sizeof(r));
	strcpy(r.federation, "test");
	r.kind = CRED_REVOKE_SERIAL;
	strcpy(r.site, site);
	r.serial = 1;
	r.issued = T0;
	strcpy(r.reason, "key compromised");
	for (int k = 0; k < nsigs; k++)
		assert_int_equal(cred_revocation_sign(&r, F->secret[k]), 0);
	n = cred_revocation_encode(&r, buf, CRED_ENCODED_MAX);
	assert_true(n > 0);
	*len = (size_t)n;
}

/* A revocation handed to a spreads to b, takes c out of both views at once, is refused with
 * too few signatures, and is kept across a restart: b restarted from what it saved never
 * admits c again, though c keeps presenting its credential. */
static void
test_revocation(void **state)
{
	uint8_t rev[CRED_ENCODED_MAX];
	struct state carry = {0};
	char err[256];
	size_t len;

	(void)state;
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(4000);
	assert_int_equal(seen(1, 2), GOSSIP_ALIVE);

	revoke("c", rev, &len, 1);
	assert_int_equal(gossip_add_revocation(F->s[0].g, F->now, rev, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "1 more"));
	revoke("c", rev, &len, 2);
	assert_int_equal(gossip_add_revocation(F->s[0].g, F->now, rev, len, err, sizeof(err)), 0);
	assert_int_equal(seen(0, 2), GOSSIP_NONE);
	assert_int_equal(F->s[0].revoked_events, 1);
	run(2000);
	assert_int_equal(seen(1, 2), GOSSIP_NONE);
	assert_int_equal(F->s[1].revoked_events, 1);
	assert_int_equal(gossip_revocation_count(F->s[1].g), 1);
	assert_true(gossip_counters(F->s[1].g)->drop_revoked > 0);

	assert_int_equal(view_carry(F->s[1].g, &carry), 0);
	carry.incarnation = gossip_self(F->s[1].g)->incarnation;
	assert_int_equal(carry.nrevocations, 1);
	start(1, 2, &carry); /* seeded by the revoked site itself */
	state_clear(&carry);
	run(4000);
	assert_int_equal(seen(1, 2), GOSSIP_NONE);
	assert_int_equal(seen(1, 0), GOSSIP_ALIVE);
	assert_int_equal(gossip_revocation_count(F->s[1].g), 1);
}

/* A site that missed a revocation (restarted without its state) gets it from the
 * revocation anti-entropy. */
static void
test_revocation_anti_entropy(void **state)
{
	uint8_t rev[CRED_ENCODED_MAX];
	char err[256];
	size_t len;

	(void)state;
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(4000);
	revoke("c", rev, &len, 2);
	assert_int_equal(gossip_add_revocation(F->s[0].g, F->now, rev, len, err, sizeof(err)), 0);
	run(3000);
	gossip_free(F->s[1].g);
	F->s[1].g = NULL;
	run(1000);
	start(1, 0, NULL);
	run(12000);
	assert_int_equal(gossip_revocation_count(F->s[1].g), 1);
	assert_int_equal(seen(1, 2), GOSSIP_NONE);
	assert_int_equal(seen(1, 0), GOSSIP_ALIVE);
}

/* b alive at a, and its credential decoded into c, serial 2 and unsigned: the renewal a test
 * then shapes. */
static void
renewal_begin(struct cred *c)
{
	char err[128];

	start(0, -1, NULL);
	start(1, 0, NULL);
	run(2000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	assert_int_equal(cred_decode(F->s[1].cred, F->s[1].cred_len, c, err, sizeof(err)), 0);
	c->serial = 2;
	c->nsigs = 0;
}

/* c signed by two authorities becomes b's credential, and b starts a new gossip instance with
 * it, as a reload does; after 3 s, what a holds of b in *mi. */
static void
renewal_end(struct cred *c, struct gossip_member_info *mi)
{
	struct state carry = {0};

	assert_int_equal(cred_normalize(c), 0);
	assert_int_equal(cred_sign(c, F->secret[1]), 0);
	assert_int_equal(cred_sign(c, F->secret[2]), 0);
	F->s[1].cred_len = (size_t)cred_encode(c, F->s[1].cred, sizeof(F->s[1].cred));
	assert_int_equal(view_carry(F->s[1].g, &carry), 0);
	carry.incarnation = gossip_self(F->s[1].g)->incarnation;
	start(1, 0, &carry);
	state_clear(&carry);
	run(3000);
	assert_int_equal(gossip_member(F->s[0].g, (size_t)gossip_member_find(F->s[0].g, "b"), mi),
	                 0);
}

/* A renewed credential (higher serial, a wider grant) reaches the others when its site
 * starts a new gossip instance with it, as a reload does: the new descriptor names the new
 * serial, the others fetch the credential before they take the descriptor, and its grant
 * holds from then on. */
static void
test_renewal(void **state)
{
	struct gossip_member_info mi;
	struct cred c;

	(void)state;
	renewal_begin(&c);
	c.prefixes[c.nprefixes] = c.prefixes[0];
	c.prefixes[c.nprefixes++].addr.u.bytes[1] = 42;
	F->s[1].desc.prefixes[F->s[1].desc.nprefixes] = c.prefixes[1];
	F->s[1].desc.nprefixes++;
	renewal_end(&c, &mi);
	assert_true(gossip_cred_serial(mi.cred) == 2);
	assert_true(mi.desc->cred_serial == 2);
	assert_int_equal(mi.refusal, GOSSIP_REFUSAL_NONE);
	assert_int_equal(mi.granted->nprefixes, 2);
}

/* A renewal that changes nothing but the serial and the expiry, as most do: the others take
 * it (counted in creds_admitted, which netd watches to save its state file, since no
 * membership changes) and hold the new serial and expiry. */
static void
test_renewal_same_grant(void **state)
{
	struct gossip_member_info mi;
	struct cred c;
	uint64_t admitted;
	int64_t not_after;
	char err[128];

	(void)state;
	renewal_begin(&c);
	admitted = gossip_counters(F->s[0].g)->creds_admitted;
	not_after = c.not_after += 86400;
	renewal_end(&c, &mi);
	assert_true(gossip_cred_serial(mi.cred) == 2);
	assert_int_equal(gossip_cred_decode(mi.cred, &c, err, sizeof(err)), 0);
	assert_true(c.not_after == not_after);
	assert_int_equal(mi.state, GOSSIP_ALIVE);
	assert_true(gossip_counters(F->s[0].g)->creds_admitted == admitted + 1);
}

/* b's operator installs a "renewal" one authority signed (short of the threshold), with a
 * prefix more, and reloads: b's new descriptor, naming serial 2 and the prefix, is not taken
 * at a, which keeps b's credential of serial 1, its last descriptor and what it granted. */
static void
test_renewal_short_of_threshold_takes_nothing(void **state)
{
	struct gossip_member_info mi;
	struct state carry = {0};
	struct cred c;

	(void)state;
	renewal_begin(&c);
	c.prefixes[c.nprefixes] = c.prefixes[0];
	c.prefixes[c.nprefixes++].addr.u.bytes[1] = 42;
	F->s[1].desc.prefixes[F->s[1].desc.nprefixes] = c.prefixes[1];
	F->s[1].desc.nprefixes++;
	assert_int_equal(cred_normalize(&c), 0);
	assert_int_equal(cred_sign(&c, F->secret[1]), 0);
	F->s[1].cred_len = (size_t)cred_encode(&c, F->s[1].cred, sizeof(F->s[1].cred));
	assert_int_equal(view_carry(F->s[1].g, &carry), 0);
	carry.incarnation = gossip_self(F->s[1].g)->incarnation;
	start(1, 0, &carry);
	state_clear(&carry);
	run(5000);
	assert_int_equal(gossip_member(F->s[0].g, (size_t)gossip_member_find(F->s[0].g, "b"), &mi),
	                 0);
	assert_true(gossip_cred_serial(mi.cred) == 1);
	assert_true(mi.desc->cred_serial == 1);
	assert_int_equal(mi.desc->nprefixes, 1);
	assert_int_equal(mi.granted->nprefixes, 1);
	assert_true(gossip_counters(F->s[0].g)->creds_refused > 0);
}

/* Site i starts a new gossip instance with what it holds, as a reload does, seeded by a. */
static void
reload(int i)
{
	struct state carry = {0};

	assert_int_equal(view_carry(F->s[i].g, &carry), 0);
	carry.incarnation = gossip_self(F->s[i].g)->incarnation;
	start(i, 0, &carry);
	state_clear(&carry);
}

/* Site i announces its next key (its private key filled with fill): the credential for it,
 * serial 2, kept aside as the next one, the current one issued again, and a new instance
 * with both, as the reload that announces does (seed: as start's). */
static void
announce_next_key(int i, int seed, uint8_t fill, uint8_t next_priv[32], uint8_t next_pub[32])
{
	struct fsite *s = &F->s[i];
	struct state carry = {0};
	uint8_t old_pub[32];

	memcpy(old_pub, s->pub, 32);
	memset(next_priv, fill, 32);
	next_priv[0] &= 248;
	next_priv[31] = (next_priv[31] & 127) | 64;
	crypto_scalarmult_base(next_pub, next_priv);
	memcpy(s->pub, next_pub, 32);
	s->serial = 2;
	issue(i, 2, 86400);
	s->serial = 1;
	memcpy(s->next, s->cred, s->cred_len);
	s->next_len = s->cred_len;
	memcpy(s->pub, old_pub, 32);
	issue(i, 2, 86400);
	assert_int_equal(view_carry(s->g, &carry), 0);
	carry.incarnation = gossip_self(s->g)->incarnation;
	start(i, seed, &carry);
	state_clear(&carry);
}

/* Make before break: b announces its next key with a credential for it; a stands ready (the
 * member carries the next key, the key it is admitted under is still the old one); b switches
 * (a new instance with the new key and that credential, as the reload that switches does), and
 * a takes it under the new key on its first datagram, without b ever leaving a's view. */
static void
test_key_rotation(void **state)
{
	struct gossip_member_info mi;
	struct fsite *b = &F->s[1];
	struct state carry = {0};
	uint8_t old_pub[32], next_priv[32], next_pub[32];

	(void)state;
	start(0, -1, NULL);
	start(1, 0, NULL);
	run(2000);
	memcpy(old_pub, b->pub, 32);
	announce_next_key(1, 0, 0x77, next_priv, next_pub);
	run(2000);
	assert_int_equal(gossip_member(F->s[0].g, (size_t)gossip_member_find(F->s[0].g, "b"), &mi),
	                 0);
	assert_int_equal(mi.state, GOSSIP_ALIVE);
	assert_memory_equal(mi.key, old_pub, 32);
	assert_non_null(mi.next_key);
	assert_memory_equal(mi.next_key, next_pub, 32);

	/* The switch. */
	assert_int_equal(view_carry(b->g, &carry), 0);
	carry.incarnation = gossip_self(b->g)->incarnation;
	memcpy(b->priv, next_priv, 32);
	memcpy(b->pub, next_pub, 32);
	memcpy(b->cred, b->next, b->next_len);
	b->cred_len = b->next_len;
	b->next_len = 0;
	start(1, 0, &carry);
	state_clear(&carry);
	for (int ms = 0; ms < 2000; ms += 10) {
		run(10);
		assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	}
	assert_int_equal(gossip_member(F->s[0].g, (size_t)gossip_member_find(F->s[0].g, "b"), &mi),
	                 0);
	assert_memory_equal(mi.key, next_pub, 32);
	assert_null(mi.next_key);
	assert_true(gossip_cred_serial(mi.cred) == 2);
	assert_memory_equal(mi.desc->wg_key, next_pub, 32);
	assert_int_equal(seen(1, 0), GOSSIP_ALIVE);
}

/* b announces its next key and switches while nothing passes between a and b: a takes b under
 * the new key from b's descriptor signed with it, naming the announced serial, that c passes
 * on, b staying in a's view throughout (suspect at worst, as a's own probes of it are lost). */
static void
test_key_rotation_by_descriptor(void **state)
{
	struct gossip_member_info mi;
	struct fsite *b = &F->s[1];
	uint8_t next_priv[32], next_pub[32];

	(void)state;
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(3000);
	announce_next_key(1, 0, 0x77, next_priv, next_pub);
	run(3000);
	assert_int_equal(gossip_member(F->s[0].g, (size_t)gossip_member_find(F->s[0].g, "b"), &mi),
	                 0);
	assert_non_null(mi.next_key);

	F->cut[0] = 0;
	F->cut[1] = 1;
	memcpy(b->priv, next_priv, 32);
	memcpy(b->pub, next_pub, 32);
	memcpy(b->cred, b->next, b->next_len);
	b->cred_len = b->next_len;
	b->next_len = 0;
	reload(1);
	for (int ms = 0; ms < 3000; ms += 10) {
		run(10);
		/* Suspect at worst: a's own probes of b are lost. */
		assert_true(seen(0, 1) == GOSSIP_ALIVE || seen(0, 1) == GOSSIP_SUSPECT);
	}
	assert_int_equal(gossip_member(F->s[0].g, (size_t)gossip_member_find(F->s[0].g, "b"), &mi),
	                 0);
	assert_memory_equal(mi.key, next_pub, 32);
	assert_null(mi.next_key);
	assert_true(gossip_cred_serial(mi.cred) == 2);
	assert_memory_equal(mi.desc->wg_key, next_pub, 32);
}

/* The credential of site i for key, serial serial, signed as issue signs: what a thief who
 * copied an announcement, or an authority's old signature, would hold. Site i's own
 * credential is left as it was. */
static size_t
cred_for_key(int i, const uint8_t key[32], uint64_t serial, uint8_t out[CRED_ENCODED_MAX])
{
	struct fsite *s = &F->s[i];
	uint8_t pub[32], cred[CRED_ENCODED_MAX];
	size_t len = s->cred_len, n;
	uint64_t was = s->serial;

	memcpy(pub, s->pub, 32);
	memcpy(cred, s->cred, len);
	memcpy(s->pub, key, 32);
	s->serial = serial;
	issue(i, 2, 86400);
	n = s->cred_len;
	memcpy(out, s->cred, n);
	memcpy(s->pub, pub, 32);
	memcpy(s->cred, cred, len);
	s->cred_len = len;
	s->serial = was;
	return n;
}

/* Credentials for another key reach a while b is alive, one with a lower serial than b's
 * (an old one) and one with a higher (a copied announcement): neither takes b over. b stays
 * alive under its own key, and the one a holds aside as b's next key is made current only by
 * a datagram of that key, which nobody sends. */
static void
test_credential_for_another_key_takes_nothing(void **state)
{
	struct gossip_member_info mi;
	uint8_t other_pub[32], other_priv[32], cred[CRED_ENCODED_MAX];
	char err[256];
	size_t len;

	(void)state;
	memset(other_priv, 0x5a, sizeof(other_priv));
	other_priv[0] &= 248;
	other_priv[31] = (other_priv[31] & 127) | 64;
	crypto_scalarmult_base(other_pub, other_priv);
	F->s[1].serial = 5;
	issue(1, 2, 86400);
	start(0, -1, NULL);
	start(1, 0, NULL);
	run(2000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);

	for (uint64_t serial = 3; serial <= 9; serial += 6) {
		len = cred_for_key(1, other_pub, serial, cred);
		(void)gossip_add_credential(F->s[0].g, F->now, cred, len, err, sizeof(err));
		for (int ms = 0; ms < 3000; ms += 100) {
			run(100);
			assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
		}
		assert_int_equal(
		        gossip_member(F->s[0].g, (size_t)gossip_member_find(F->s[0].g, "b"), &mi),
		        0);
		if (memcmp(mi.key, F->s[1].pub, 32) != 0)
			fail_msg("a credential of serial %llu for another key took b over",
			         (unsigned long long)serial);
		assert_true(gossip_cred_serial(mi.cred) == 5);
		assert_memory_equal(mi.desc->wg_key, F->s[1].pub, 32);
	}
	assert_int_equal(seen(1, 0), GOSSIP_ALIVE);
}

/* a's operator trusts b with a grant of its own: the trust entry wins over b's credential (b
 * is admitted by it, with its grant, not the credential's), and a revocation of b's
 * credential leaves b in a's view while c, admitted by credential, takes it out there. */
static void
test_trust_entry_wins_over_credential(void **state)
{
	static const uint32_t vnis[] = {100};
	struct addr_prefix granted[2];
	struct gossip_grant grant = {.prefixes = granted, .nprefixes = 2, .vnis = vnis, .nvnis = 1};
	struct gossip_member_info mi;
	uint8_t rev[CRED_ENCODED_MAX];
	char err[256];
	size_t len;

	(void)state;
	memset(granted, 0, sizeof(granted));
	for (int k = 0; k < 2; k++) {
		granted[k].addr.family = AF_INET;
		granted[k].addr.u.bytes[0] = 10;
		granted[k].addr.u.bytes[1] = (uint8_t)(k == 0 ? 2 : 77);
		granted[k].len = 16;
	}
	/* b claims a prefix its credential does not grant and the trust entry does. */
	F->s[1].desc.prefixes[1] = granted[1];
	F->s[1].desc.nprefixes = 2;
	assert_non_null(F->s[0].trust = gossip_trust_new());
	assert_int_equal(gossip_trust_add(F->s[0].trust, "b", F->s[1].pub, &grant), 0);
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(4000);
	assert_int_equal(gossip_member(F->s[0].g, (size_t)gossip_member_find(F->s[0].g, "b"), &mi),
	                 0);
	assert_int_equal(mi.state, GOSSIP_ALIVE);
	assert_null(mi.cred);
	assert_int_equal(mi.refusal, GOSSIP_REFUSAL_NONE);
	assert_int_equal(mi.granted->nprefixes, 2);
	assert_int_equal(seen(0, 2), GOSSIP_ALIVE);

	for (int site = 1; site <= 2; site++) {
		revoke(F->s[site].name, rev, &len, 2);
		assert_int_equal(
		        gossip_add_revocation(F->s[0].g, F->now, rev, len, err, sizeof(err)), 0);
	}
	run(3000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	assert_int_equal(seen(0, 2), GOSSIP_NONE);
	assert_int_equal(gossip_revocation_count(F->s[0].g), 2);
}

/* Sealed datagrams from 1,000 names a admits nowhere, a second for 3 s (anyone may claim a
 * name), and as many from out, sealed by a site a took out, when not NULL: a asks b for the
 * credentials of the unknown names 20 times a second, after a burst of 40, no more and hardly
 * fewer, and drops the datagrams. */
static void
unknown_senders_flood(struct seal *out)
{
	uint8_t priv[32], dgram[WIRE_DATAGRAM_MAX], ping[16];
	struct addr_endpoint from = {.addr.family = AF_INET, .port = 7946};
	struct wire_msg *m = calloc(1, sizeof(*m));
	size_t len, sent = 0, members = gossip_member_count(F->s[0].g);
	struct wire_writer w;
	gossip_time t0;

	assert_non_null(m);
	m->type = WIRE_PING;
	wire_begin(&w, ping, sizeof(ping));
	assert_int_equal(wire_put_msg(&w, m), 0);
	free(m);
	F->asked = 0;
	t0 = F->now;
	memset(priv, 0x44, sizeof(priv));
	from.addr.u.bytes[0] = 203;
	from.addr.u.bytes[2] = 113;
	while (F->now < t0 + 3 * GOSSIP_SEC) {
		for (int i = 0; i < 10; i++, sent++) {
			char name[16];
			struct seal *x;

			snprintf(name, sizeof(name), "x%zu", sent % 1000);
			assert_non_null(x = seal_new(name, priv, 1 + sent));
			assert_int_equal(seal_wrap(x, 0, F->s[0].pub, (const uint8_t *)"?", 1,
			                           dgram, sizeof(dgram), &len),
			                 0);
			seal_free(x);
			from.addr.u.bytes[3] = (uint8_t)sent;
			gossip_receive(F->s[0].g, F->now, &from, dgram, len);
			if (out == NULL)
				continue;
			assert_int_equal(seal_wrap(out, 0, F->s[0].pub, ping, w.len, dgram,
			                           sizeof(dgram), &len),
			                 0);
			gossip_receive(F->s[0].g, F->now, &F->s[2].addr, dgram, len);
		}
		run(10);
	}
	print_message("%zu datagrams from unknown names in 3 s: %zu credentials asked\n", sent,
	              F->asked);
	/* All the budget gives, the burst and the rate, within a couple. */
	assert_true(F->asked >= 40 + 3 * 20 - 2);
	assert_true(F->asked <= 40 + 3 * 20 + 1);
	assert_int_equal(gossip_member_count(F->s[0].g), members);
}

static void
test_unknown_senders_asked_within_budget(void **state)
{
	(void)state;
	start(0, -1, NULL);
	start(1, 0, NULL);
	run(2000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	unknown_senders_flood(NULL);
}

/* c's credential ran out at a, and c keeps talking to a, 1,000 datagrams a second: a still
 * asks for the credentials of the unknown senders of the same time as often as without c (c's
 * datagrams spend the budget of asks only when c's name is due to be asked again). */
static void
test_out_site_talking_spends_few_asks(void **state)
{
	struct seal *c;

	(void)state;
	issue(2, 2, 5);
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(7000);
	assert_int_equal(seen(0, 2), GOSSIP_NONE);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	assert_non_null(c = seal_new("c", F->s[2].priv, 777));
	unknown_senders_flood(c);
	seal_free(c);
	assert_int_equal(seen(0, 2), GOSSIP_NONE);
}

/* a announces the credential for its next key, and the answers carrying a credential from a
 * to c are lost for a while (LOST of them): c asks again while it lacks it, not only while
 * a's new descriptor is still being passed around, and stands ready for the switch. */
#define LOST 6
static void
test_next_cred_asked_until_it_comes(void **state)
{
	struct gossip_member_info mi;
	uint8_t next_priv[32], next_pub[32];

	(void)state;
	start(0, -1, NULL);
	start(2, 0, NULL);
	run(2000);
	assert_int_equal(seen(2, 0), GOSSIP_ALIVE);
	F->creds_lost = LOST;
	announce_next_key(0, -1, 0x55, next_priv, next_pub);
	run(20000);
	assert_int_equal(F->creds_lost, 0);
	assert_int_equal(gossip_member(F->s[2].g, (size_t)gossip_member_find(F->s[2].g, "a"), &mi),
	                 0);
	assert_int_equal(mi.state, GOSSIP_ALIVE);
	assert_non_null(mi.next_key);
	assert_memory_equal(mi.next_key, next_pub, 32);
}

/* An update of the authority set to authorities 1, 2 and 3 (the first leaves, the fourth
 * comes), threshold 2, signed by the current set's authorities 0 .. nsigs-1. */
static size_t
update(uint8_t *buf, int nsigs, uint64_t version)
{
	struct cred_authorities a;
	uint8_t secret[64], seed[32];
	int n;

	memset(&a, 0, sizeof(a));
	strcpy(a.federation, "test");
	a.version = version;
	a.threshold = 2;
	a.nkeys = 3;
	for (int k = 0; k < 3; k++) {
		memset(seed, 0x61 + k, sizeof(seed));
		assert_int_equal(cred_authority_from_seed(seed, a.keys[k], secret), 0);
	}
	qsort(a.keys, 3, 32, cmp_key);
	for (int k = 0; k < nsigs; k++)
		assert_int_equal(cred_authorities_sign(&a, F->secret[k]), 0);
	n = cred_authorities_encode(&a, buf, CRED_ENCODED_MAX);
	assert_true(n > 0);
	return (size_t)n;
}

/* The authority set changes by a document k of the current authorities signed: taken at a,
 * spread to c, kept across c's restart. b's credential, signed by the authority that left and
 * one that stayed, is short of the threshold now: b goes until it gets another. Too few
 * signatures, or a config that pins the set, refuse it. */
static void
test_authority_update(void **state)
{
	uint8_t doc[CRED_ENCODED_MAX];
	struct state carry = {0};
	char err[256];
	size_t len;

	(void)state;
	issue_by(0, 1, 2, 86400); /* a and c: by authorities 1 and 2, who stay */
	issue_by(2, 1, 2, 86400);
	start(0, -1, NULL);
	start(1, 0, NULL); /* b: by authorities 0 and 1 */
	start(2, 0, NULL);
	run(4000);
	assert_int_equal(seen(2, 1), GOSSIP_ALIVE);

	len = update(doc, 1, 1);
	assert_int_equal(gossip_add_authorities(F->s[0].g, F->now, doc, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "1 more"));
	len = update(doc, 2, 1);
	assert_int_equal(gossip_add_authorities(F->s[0].g, F->now, doc, len, err, sizeof(err)), 0);
	assert_true(gossip_authorities(F->s[0].g)->version == 1);
	assert_int_equal(seen(0, 1), GOSSIP_NONE);
	assert_int_equal(seen(0, 2), GOSSIP_ALIVE);
	assert_int_equal(F->s[0].disowned_events, 1);
	run(3000);
	assert_int_equal(F->s[2].disowned_events, 1);
	assert_true(gossip_authorities(F->s[2].g)->version == 1);
	assert_int_equal(seen(2, 1), GOSSIP_NONE);
	assert_int_equal(seen(2, 0), GOSSIP_ALIVE);
	assert_int_equal(gossip_add_authorities(F->s[2].g, F->now, doc, len, err, sizeof(err)), 0);

	assert_int_equal(view_carry(F->s[2].g, &carry), 0);
	carry.incarnation = gossip_self(F->s[2].g)->incarnation;
	assert_true(carry.authorities.len > 0);
	start(2, 0, &carry);
	state_clear(&carry);
	assert_true(gossip_authorities(F->s[2].g)->version == 1);

	/* a restarted without its state and seeded by c is sent the update by gossip and takes
	 * it; pinned, it refuses it from gossip as from its operator. */
	start(0, 2, NULL);
	assert_true(gossip_authorities(F->s[0].g)->version == 0);
	run(5000);
	assert_true(gossip_authorities(F->s[0].g)->version == 1);
	F->s[0].pin = true;
	start(0, 2, NULL);
	assert_int_equal(gossip_add_authorities(F->s[0].g, F->now, doc, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "pins"));
	run(5000);
	assert_int_equal(seen(0, 2), GOSSIP_ALIVE);
	assert_true(gossip_authorities(F->s[0].g)->version == 0);
}

/* b disowned by an authority update (its credential signed by the authority that left and
 * one that stayed), then reloaded with a credential the new set signed: renewed (serial 2,
 * by authorities 1 and 2), or as it held it with authority 2's signature added (what
 * `netd federation sign` does to a credential file), the same serial. Either way a and c
 * admit b again. */
static void
disowned_back(bool renewed)
{
	uint8_t doc[CRED_ENCODED_MAX];
	struct cred c;
	char err[256];
	size_t len;

	issue_by(0, 1, 2, 86400);
	issue_by(2, 1, 2, 86400);
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(4000);
	len = update(doc, 2, 1);
	assert_int_equal(gossip_add_authorities(F->s[0].g, F->now, doc, len, err, sizeof(err)), 0);
	run(3000);
	assert_int_equal(seen(0, 1), GOSSIP_NONE);
	assert_int_equal(seen(2, 1), GOSSIP_NONE);

	if (renewed) {
		F->s[1].serial = 2;
		issue_by(1, 1, 2, 86400);
	} else {
		assert_int_equal(cred_decode(F->s[1].cred, F->s[1].cred_len, &c, err, sizeof(err)),
		                 0);
		assert_int_equal(cred_sign(&c, F->secret[2]), 0);
		F->s[1].cred_len = (size_t)cred_encode(&c, F->s[1].cred, sizeof(F->s[1].cred));
	}
	reload(1);
	run(5000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	assert_int_equal(seen(2, 1), GOSSIP_ALIVE);
	assert_int_equal(seen(1, 0), GOSSIP_ALIVE);
}

static void
test_disowned_back_renewed(void **state)
{
	(void)state;
	disowned_back(true);
}

static void
test_disowned_back_signed_again(void **state)
{
	(void)state;
	disowned_back(false);
}

/* b's credential runs out at a and c; its operator installs a renewal (serial 2) and
 * reloads: a admits b again, as a renewal before the end would have kept it, and c, which
 * cannot reach b directly, takes b back from what a passes on. */
static void
test_expired_back_renewed(void **state)
{
	(void)state;
	F->cut[0] = 1;
	F->cut[1] = 2;
	issue(1, 2, 5);
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(7000);
	assert_int_equal(seen(0, 1), GOSSIP_NONE);
	assert_int_equal(seen(2, 1), GOSSIP_NONE);
	F->s[1].serial = 2;
	issue(1, 2, 86400);
	reload(1);
	run(5000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	assert_int_equal(seen(2, 1), GOSSIP_ALIVE);
	assert_int_equal(seen(1, 0), GOSSIP_ALIVE);
}

/* c's credentials up to serial 1 are revoked; its operator is issued serial 2, which the
 * revocation does not cover, and starts c again without its state file: c joins through a,
 * presenting the new credential, and a and b admit it again, while the revoked credential
 * takes nothing back. */
static void
test_revoked_back_renewed(void **state)
{
	uint8_t rev[CRED_ENCODED_MAX], old[CRED_ENCODED_MAX];
	size_t len, old_len = F->s[2].cred_len;
	struct gossip_member_info mi;
	char err[256];

	(void)state;
	memcpy(old, F->s[2].cred, old_len);
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(4000);
	revoke("c", rev, &len, 2);
	assert_int_equal(gossip_add_revocation(F->s[0].g, F->now, rev, len, err, sizeof(err)), 0);
	run(3000);
	assert_int_equal(seen(0, 2), GOSSIP_NONE);
	assert_int_equal(seen(1, 2), GOSSIP_NONE);
	F->s[2].serial = 2;
	issue(2, 2, 86400);
	start(2, 0, NULL);
	run(5000);
	assert_int_equal(seen(0, 2), GOSSIP_ALIVE);
	assert_int_equal(seen(1, 2), GOSSIP_ALIVE);
	assert_int_equal(seen(2, 0), GOSSIP_ALIVE);
	(void)gossip_add_credential(F->s[1].g, F->now, old, old_len, err, sizeof(err));
	run(1000);
	assert_int_equal(seen(1, 2), GOSSIP_ALIVE);
	assert_int_equal(gossip_member(F->s[1].g, (size_t)gossip_member_find(F->s[1].g, "c"), &mi),
	                 0);
	assert_true(gossip_cred_serial(mi.cred) == 2);
}

/* c's key is revoked: c's credentials for it admit nothing any more, a renewal (serial 2) for
 * the same key neither, whether c's datagrams carry it after a reload, c presents it at a
 * join or it is handed to a; c's datagrams are dropped. */
static void
test_revoked_key_never_back(void **state)
{
	uint8_t rev[CRED_ENCODED_MAX];
	struct cred_revocation r;
	char err[256];
	int n;

	(void)state;
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(4000);
	memset(&r, 0, sizeof(r));
	strcpy(r.federation, "test");
	r.kind = CRED_REVOKE_KEY;
	memcpy(r.key, F->s[2].pub, 32);
	r.issued = T0;
	for (int k = 0; k < 2; k++)
		assert_int_equal(cred_revocation_sign(&r, F->secret[k]), 0);
	n = cred_revocation_encode(&r, rev, sizeof(rev));
	assert_true(n > 0);
	assert_int_equal(gossip_add_revocation(F->s[0].g, F->now, rev, (size_t)n, err, sizeof(err)),
	                 0);
	run(3000);
	assert_int_equal(seen(1, 2), GOSSIP_NONE);
	F->s[2].serial = 2;
	issue(2, 2, 86400);
	reload(2);
	run(10000);
	assert_int_equal(seen(0, 2), GOSSIP_NONE);
	assert_int_equal(seen(1, 2), GOSSIP_NONE);
	assert_true(gossip_counters(F->s[0].g)->drop_revoked > 0);
	assert_int_equal(gossip_add_credential(F->s[0].g, F->now, F->s[2].cred, F->s[2].cred_len,
	                                       err, sizeof(err)),
	                 -1);
	start(2, 0, NULL);
	run(10000);
	assert_int_equal(seen(0, 2), GOSSIP_NONE);
	assert_int_equal(seen(1, 2), GOSSIP_NONE);
}

/* Whether the mesh a's view gives under policy holds site `name`. */
static bool
in_mesh_of_a(const struct conf_policy *policy, const char *name)
{
	struct mesh_site sites[NSITES];
	struct view_room rooms[NSITES];
	int64_t hold_end;
	size_t n = view_mesh_sites(F->s[0].g, policy, 3600 * GOSSIP_SEC, F->now, sites, rooms,
	                           &hold_end);

	for (size_t i = 0; i < n; i++)
		if (strcmp(sites[i].name, name) == 0)
			return true;
	return false;
}

/* a's operator trusts b by a trust entry and admits c by its credential (jurisdiction DE). A
 * rule requiring jurisdiction FR keeps c out of a's mesh and leaves b, admitted by the
 * operator's own entry, in it; a deny of b takes b out. Both stay members all along: gossip is
 * the federation's. */
static void
test_policy_refuses_mesh_not_membership(void **state)
{
	static const uint32_t vnis[] = {100};
	char values[1][CRED_VALUE_MAX + 1] = {"FR"};
	struct conf_rule rule = {.key = "jurisdiction",
	                         .values = values,
	                         .nvalues = 1,
	                         .name = "require jurisdiction=FR",
	                         .text = "jurisdiction=FR",
	                         .line = 7};
	struct conf_policy_deny deny = {.site = "b", .line = 8};
	struct gossip_grant grant = {
	        .prefixes = F->s[1].desc.prefixes, .nprefixes = 1, .vnis = vnis, .nvnis = 1};
	struct conf_policy policy = {.file = "t.conf"};

	(void)state;
	assert_non_null(F->s[0].trust = gossip_trust_new());
	assert_int_equal(gossip_trust_add(F->s[0].trust, "b", F->s[1].pub, &grant), 0);
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(4000);
	assert_true(in_mesh_of_a(&policy, "b"));
	assert_true(in_mesh_of_a(&policy, "c"));

	policy.require = &rule;
	policy.nrequire = 1;
	assert_true(in_mesh_of_a(&policy, "b"));
	assert_false(in_mesh_of_a(&policy, "c"));
	policy.deny = &deny;
	policy.ndeny = 1;
	assert_false(in_mesh_of_a(&policy, "b"));
	assert_false(in_mesh_of_a(&policy, "c"));
	run(3000);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	assert_int_equal(seen(0, 2), GOSSIP_ALIVE);
	assert_int_equal(seen(2, 0), GOSSIP_ALIVE);
}

/* The update of update() at version, signed by authorities 1 and 2, who are in the set
 * before it and in the set after it. */
static size_t
update_by_stayers(uint8_t *buf, uint64_t version)
{
	struct cred_authorities a;
	char err[128];
	int n;

	assert_int_equal(
	        cred_authorities_decode(buf, update(buf, 0, version), &a, err, sizeof(err)), 0);
	assert_int_equal(cred_authorities_sign(&a, F->secret[1]), 0);
	assert_int_equal(cred_authorities_sign(&a, F->secret[2]), 0);
	n = cred_authorities_encode(&a, buf, CRED_ENCODED_MAX);
	assert_true(n > 0);
	return (size_t)n;
}

/* Version 1 replayed at a site holding version 2 (by its operator, or by c, restarted from a
 * state file that saved version 1), though signed by enough of version 2's set, changes
 * nothing there, and c is sent version 2. */
static void
test_old_update_refused(void **state)
{
	uint8_t v1[CRED_ENCODED_MAX], v2[CRED_ENCODED_MAX];
	struct state carry = {0};
	size_t len1, len2;
	char err[256];

	(void)state;
	issue_by(0, 1, 2, 86400);
	issue_by(2, 1, 2, 86400);
	start(0, -1, NULL);
	start(2, 0, NULL);
	run(3000);
	len1 = update_by_stayers(v1, 1);
	assert_int_equal(gossip_add_authorities(F->s[0].g, F->now, v1, len1, err, sizeof(err)), 0);
	run(3000);
	assert_true(gossip_authorities(F->s[2].g)->version == 1);
	assert_int_equal(view_carry(F->s[2].g, &carry), 0);
	carry.incarnation = gossip_self(F->s[2].g)->incarnation;
	gossip_free(F->s[2].g);
	F->s[2].g = NULL;

	len2 = update_by_stayers(v2, 2);
	assert_int_equal(gossip_add_authorities(F->s[0].g, F->now, v2, len2, err, sizeof(err)), 0);
	assert_true(gossip_authorities(F->s[0].g)->version == 2);
	assert_int_equal(gossip_add_authorities(F->s[0].g, F->now, v1, len1, err, sizeof(err)), -1);
	assert_true(gossip_authorities(F->s[0].g)->version == 2);

	start(2, 0, &carry);
	state_clear(&carry);
	assert_true(gossip_authorities(F->s[2].g)->version == 1);
	run(10000);
	assert_true(gossip_authorities(F->s[0].g)->version == 2);
	assert_true(gossip_authorities(F->s[2].g)->version == 2);
}

/* What observer holds of site `of` is the credential of's as it was signed, byte for byte:
 * gossip keeps it without its authority keys and puts them back as it sends it on. */
static void
assert_holds_as_signed(int observer, int of)
{
	struct gossip_member_info mi;
	uint8_t buf[CRED_ENCODED_MAX];
	int idx = gossip_member_find(F->s[observer].g, F->s[of].name);

	assert_true(idx >= 0);
	assert_int_equal(gossip_member(F->s[observer].g, (size_t)idx, &mi), 0);
	assert_non_null(mi.cred);
	assert_int_equal(gossip_cred_encode(mi.cred, buf, sizeof(buf)), (int)F->s[of].cred_len);
	assert_memory_equal(buf, F->s[of].cred, F->s[of].cred_len);
	assert_int_equal(gossip_cred_encode(mi.cred, buf, F->s[of].cred_len - 1), -1);
}

/* Credentials signed by different authorities (a and c by 1 and 2, b by 0, 1 and 2) are
 * passed on as they came: c learns b's from a, the state file saves them, and after an
 * update takes authority 0 out of the set, b's (still signed by two that stayed) is passed on
 * with the key of the authority that left. */
static void
test_creds_passed_on_as_signed(void **state)
{
	uint8_t doc[CRED_ENCODED_MAX];
	struct state carry = {0};
	char err[256];
	size_t len, saved = 0, file_len;
	uint8_t *file;

	(void)state;
	issue_by(0, 1, 2, 86400);
	issue_by(1, 0, 3, 86400);
	issue_by(2, 1, 2, 86400);
	start(0, -1, NULL);
	start(1, 0, NULL);
	start(2, 0, NULL);
	run(4000);
	for (int o = 0; o < NSITES; o++)
		for (int of = 0; of < NSITES; of++)
			if (of != o)
				assert_holds_as_signed(o, of);

	/* Carried as the gossip's own credentials, no copies (a save of 10,000 held 3 MB of
	 * them); the file holds their bytes as signed. */
	assert_int_equal(view_carry(F->s[0].g, &carry), 0);
	assert_int_equal(carry.ncreds, 0);
	assert_int_equal(carry.ncred_refs, 2);
	for (size_t i = 0; i < carry.ncred_refs; i++) {
		bool own = false;

		for (size_t m = 0; m < gossip_member_count(F->s[0].g); m++)
			own |= carry.cred_refs[i] == gossip_member_cred(F->s[0].g, m);
		assert_true(own);
	}
	assert_int_equal(state_encode(&carry, &file, &file_len), 0);
	state_clear(&carry);
	assert_int_equal(state_decode(file, file_len, &carry, err, sizeof(err)), 0);
	free(file);
	for (size_t i = 0; i < carry.ncreds; i++)
		for (int of = 1; of < NSITES; of++)
			if (carry.creds[i].len == F->s[of].cred_len &&
			    memcmp(carry.creds[i].bytes, F->s[of].cred, F->s[of].cred_len) == 0)
				saved++;
	assert_int_equal(saved, 2);
	state_clear(&carry);

	len = update(doc, 2, 1);
	assert_int_equal(gossip_add_authorities(F->s[0].g, F->now, doc, len, err, sizeof(err)), 0);
	assert_int_equal(seen(0, 1), GOSSIP_ALIVE);
	start(2, 0, NULL); /* c again, knowing nobody: it learns b from a */
	run(4000);
	assert_true(gossip_authorities(F->s[2].g)->version == 1);
	assert_int_equal(seen(2, 1), GOSSIP_ALIVE);
	assert_holds_as_signed(0, 1);
	assert_holds_as_signed(2, 1);
	assert_holds_as_signed(2, 0);
}

#define HELD_CREDS 200

/* The heap each of n things took since before, as the output says; 0 where mallinfo2 counts
 * nothing (a sanitizer's allocator), which any bound passes. */
static size_t
heap_per(size_t before, size_t n, const char *what)
{
	size_t per = (heap_in_use() - before) / n;

	if (heap_in_use() == 0)
		print_message(
		        "mallinfo2 counts no heap here (a sanitizer's allocator): the bytes of %s "
		        "are not checked\n",
		        what);
	else
		print_message("%s takes %zu bytes\n", what, per);
	return heap_in_use() == 0 ? 0 : per;
}
/* The credential of a site named s<100 + i> (none of the three sites'): a /24 prefix, an
 * overlay address, VNI 100, signed by two of the set's authorities; its length. */
static int
many_cred(int i, uint8_t buf[CRED_ENCODED_MAX])
{
	struct cred c;
	int len;

	memset(&c, 0, sizeof(c));
	strcpy(c.federation, "test");
	snprintf(c.site, sizeof(c.site), "s%d", 100 + i);
	memset(c.wg_key, i + 1, sizeof(c.wg_key));
	c.serial = 1;
	c.not_before = T0 - 60;
	c.not_after = T0 + 86400;
	c.nprefixes = 1;
	c.prefixes[0].addr.family = AF_INET;
	c.prefixes[0].addr.u.bytes[0] = 10;
	c.prefixes[0].addr.u.bytes[1] = (uint8_t)i;
	c.prefixes[0].len = 24;
	c.noverlay = 1;
	c.overlay[0].addr.family = AF_INET;
	c.overlay[0].addr.u.bytes[0] = 100;
	c.overlay[0].addr.u.bytes[3] = (uint8_t)i;
	c.overlay[0].len = 32;
	c.nvnis = 1;
	c.vnis[0] = 100;
	assert_int_equal(cred_normalize(&c), 0);
	assert_int_equal(cred_sign(&c, F->secret[i % 3]), 0);
	assert_int_equal(cred_sign(&c, F->secret[(i + 1) % 3]), 0);
	len = cred_encode(&c, buf, CRED_ENCODED_MAX);
	assert_true(len > 0);
	return len;
}
/* Held credentials, as netd holds one per admitted site: each keeps its signatures' authority
 * keys as indices into one table of the keys and reads its serial and validity in place (a
 * credential of a site named s123 with a prefix, an overlay range, a VNI and two signatures,
 * 281 bytes encoded, takes a block of 256 bytes from the allocator, 336 with the keys and the
 * figures decoded beside; blocks the allocator kept for reuse make the count read a little
 * less), and encodes to the bytes it was made of. */
static void
test_held_cred_footprint(void **state)
{
	static uint8_t enc[HELD_CREDS][CRED_ENCODED_MAX];
	struct gossip_cred **held = calloc(HELD_CREDS, sizeof(*held));
	int len[HELD_CREDS];
	size_t before;

	(void)state;
	assert_non_null(held);
	for (int i = 0; i < HELD_CREDS; i++)
		len[i] = many_cred(i, enc[i]);
	before = heap_in_use();
	for (int i = 0; i < HELD_CREDS; i++)
		assert_non_null(held[i] = gossip_cred_new(enc[i], (size_t)len[i], NULL));
	assert_true(heap_per(before, HELD_CREDS, "a held credential") <= 256);
	for (int i = 0; i < HELD_CREDS; i++) {
		uint8_t buf[CRED_ENCODED_MAX];
		struct cred c;
		char err[128];

		assert_int_equal(gossip_cred_encode(held[i], buf, sizeof(buf)), len[i]);
		assert_memory_equal(buf, enc[i], (size_t)len[i]);
		assert_int_equal(gossip_cred_decode(held[i], &c, err, sizeof(err)), 0);
		assert_int_equal(c.nsigs, 2);
	}
	for (int i = 0; i < HELD_CREDS; i++)
		gossip_cred_unref(held[i]);
	free(held);
}

/* A site admitted by credential as gossip holds it, its credential taken in: the member, the
 * admission record, the credential and a trust entry of its name and key, without lists of
 * its own: what it is granted is read from the credential (577 bytes a site with the room the
 * arrays grew by; 634 with a member that kept copies of what it was told it is seen at, 691
 * with the entry's own block of lists besides). */
static void
test_admitted_footprint(void **state)
{
	static uint8_t enc[HELD_CREDS][CRED_ENCODED_MAX];
	int len[HELD_CREDS];
	size_t before;
	char err[128];

	(void)state;
	for (int i = 0; i < HELD_CREDS; i++)
		len[i] = many_cred(i, enc[i]);
	start(0, -1, NULL);
	before = heap_in_use();
	for (int i = 0; i < HELD_CREDS; i++)
		assert_int_equal(gossip_add_credential(F->s[0].g, F->now, enc[i], (size_t)len[i],
		                                       err, sizeof(err)),
		                 0);
	assert_true(heap_per(before, HELD_CREDS, "a site admitted by credential") <= 600);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_join_by_credential, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_join_waits_from_the_join, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lost_cred_answer_asked_again, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fixed_view_asks_nothing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fixed_view_passed_on_asks_nothing, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_fixed_view_learns_joiner, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fixed_view_unknown_sender_asks_nothing, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_short_of_threshold, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_yet_valid, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_claims_beyond_credential, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_revocation, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_revocation_anti_entropy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_renewal, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_renewal_same_grant, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_renewal_short_of_threshold_takes_nothing,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_next_cred_asked_until_it_comes, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_key_rotation, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_key_rotation_by_descriptor, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unknown_senders_asked_within_budget, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_out_site_talking_spends_few_asks, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_credential_for_another_key_takes_nothing,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_trust_entry_wins_over_credential, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_authority_update, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_old_update_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_disowned_back_renewed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_disowned_back_signed_again, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_expired_back_renewed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_revoked_back_renewed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_revoked_key_never_back, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_policy_refuses_mesh_not_membership, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_creds_passed_on_as_signed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_held_cred_footprint, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_admitted_footprint, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
