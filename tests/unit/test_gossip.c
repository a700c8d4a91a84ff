/* The gossip core: the SWIM conflict rules as a table, refutation, Lifeguard's timeouts,
 * anti-entropy and joins, and the refusal of forged, replayed, malformed and untrusted
 * datagrams without any change of state. Sites other than the one under test are
 * puppets: a seal and a key, sending exactly the datagrams a case needs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netd/gossip.h"
#include "tests/unit/heap.h"

/* A: under test; B: a peer; X: the member; C: untrusted; D: another peer */
enum { A, B, X, C, D, NSITES };

struct puppet {
	const char *name;
	uint8_t priv[32], pub[32];
	struct seal *seal;
	struct wire_desc desc;
	struct addr_endpoint addr;
};

struct sent {
	struct addr_endpoint to;
	uint8_t buf[WIRE_DATAGRAM_MAX];
	size_t len;
};

struct world {
	struct puppet p[NSITES];
	struct gossip_trust *trust;
	struct gossip *g;
	struct gossip_event events[64];
	size_t nevents;
	struct sent out[256];
	size_t nout;
	gossip_time now;
	struct seal_opened opened;            /* of the last datagram a puppet opened */
	const struct gossip_profile *profile; /* A's timing; NULL: the LAN profile */
};

static void
cb_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	struct world *w = arg;

	if (w->nout < sizeof(w->out) / sizeof(w->out[0])) {
		w->out[w->nout].to = *to;
		memcpy(w->out[w->nout].buf, buf, len);
		w->out[w->nout].len = len;
		w->nout++;
	}
}

static void
cb_event(void *arg, const struct gossip_event *ev)
{
	struct world *w = arg;

	if (w->nevents < sizeof(w->events) / sizeof(w->events[0]))
		w->events[w->nevents++] = *ev;
}

static void
make_desc(struct puppet *p, uint8_t n)
{
	memset(&p->desc, 0, sizeof(p->desc));
	strcpy(p->desc.name, p->name);
	p->addr.addr.family = AF_INET;
	p->addr.addr.u.bytes[0] = 192;
	p->addr.addr.u.bytes[2] = 2;
	p->addr.addr.u.bytes[3] = n;
	p->addr.port = 7946;
	p->desc.gossip = p->addr;
	p->desc.nprefixes = 1;
	p->desc.prefixes[0].addr.family = AF_INET;
	p->desc.prefixes[0].addr.u.bytes[0] = 10;
	p->desc.prefixes[0].addr.u.bytes[1] = n;
	p->desc.prefixes[0].len = 16;
	p->desc.nvnis = 1;
	p->desc.vnis[0] = 100;
}

/* Signs p's descriptor at incarnation inc, as the site itself would. */
static void
sign_desc(struct puppet *p, uint32_t inc, struct wire_desc *d)
{
	uint8_t buf[WIRE_DATAGRAM_MAX];
	int len;

	*d = p->desc;
	d->incarnation = inc;
	memcpy(d->wg_key, seal_public_key(p->seal), 32);
	memcpy(d->sign_key, seal_sign_key(p->seal), 32);
	len = wire_desc_signed_bytes(d, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(seal_sign(p->seal, buf, (size_t)len, d->sig), 0);
}

/* Seals one payload from puppet `from` to A and hands it over. */
static void
deliver_payload(struct world *w, int from, const uint8_t *payload, size_t plen)
{
	uint8_t dgram[WIRE_DATAGRAM_MAX];
	size_t len;

	assert_int_equal(seal_wrap(w->p[from].seal, 0, w->p[A].pub, payload, plen, dgram,
	                           sizeof(dgram), &len),
	                 0);
	gossip_receive(w->g, w->now, &w->p[from].addr, dgram, len);
}

/* Has A confirm puppet who's session, as a live peer gets it to: who asks A for a proof of
 * A's own session, and answers the challenge A sends back with its response. */
static void
handshake(struct world *w, int who)
{
	uint8_t payload[1 + 1 + WIRE_NONCE_LEN], plain[WIRE_DATAGRAM_MAX];
	struct wire_reader r;
	struct wire_msg *m = calloc(1, sizeof(*m));
	size_t n = w->nout, plen;
	bool answered = false;

	assert_non_null(m);
	payload[0] = WIRE_VERSION;
	payload[1] = WIRE_CHALLENGE;
	memset(payload + 2, who, WIRE_NONCE_LEN);
	deliver_payload(w, who, payload, sizeof(payload));
	for (size_t i = n; i < w->nout && !answered; i++) {
		if (seal_unwrap(w->p[who].seal, 0, w->p[A].pub, w->out[i].buf, w->out[i].len, plain,
		                sizeof(plain), &plen, &w->opened) != 0)
			continue;
		assert_int_equal(wire_reader_init(&r, plain, plen), 0);
		while (!answered && wire_next(&r, m) == 1) {
			if (m->type != WIRE_CHALLENGE)
				continue;
			payload[1] = WIRE_RESPONSE;
			memcpy(payload + 2, m->nonce, WIRE_NONCE_LEN);
			deliver_payload(w, who, payload, sizeof(payload));
			answered = true;
		}
	}
	assert_true(answered);
	free(m);
	w->nout = n;
}

/* (Re)starts A in session `session`: a restart forgets everything but what it is given. */
static void
start_a(struct world *w, uint64_t session, bool lifeguard)
{
	struct gossip_config cfg = {0};
	char err[128];

	gossip_free(w->g);
	cfg.name = "a";
	cfg.private_key = w->p[A].priv;
	cfg.session = session;
	cfg.incarnation = 1;
	cfg.desc = &w->p[A].desc;
	if (w->profile != NULL)
		cfg.profile = *w->profile;
	else
		gossip_profile_lan(&cfg.profile);
	cfg.profile.lifeguard = lifeguard;
	cfg.trust = w->trust;
	cfg.rng_seed = 42;
	cfg.cb = (struct gossip_callbacks){cb_send, cb_event, w};
	w->g = gossip_new(&cfg, err, sizeof(err));
	assert_non_null(w->g);
	gossip_start(w->g, w->now);
	w->nout = 0;
}

/* A with puppets b, x and d trusted and handshaken (c untrusted), A's timing that of
 * profile (NULL: the LAN profile). */
static struct world *
world_new_timed(bool lifeguard, const struct gossip_profile *profile)
{
	static const char *const names[NSITES] = {"a", "b", "x", "c", "d"};
	struct world *w = calloc(1, sizeof(*w));
	struct addr_prefix allowed = {{AF_INET, {.bytes = {10}}}, 8};
	uint32_t vni = 100;
	struct gossip_grant grant = {&allowed, 1, NULL, 0, &vni, 1};

	assert_non_null(w);
	w->profile = profile;
	w->trust = gossip_trust_new();
	for (int i = 0; i < NSITES; i++) {
		struct puppet *p = &w->p[i];

		p->name = names[i];
		memset(p->priv, 0x10 + i, 32);
		p->seal = seal_new(p->name, p->priv, 100);
		assert_non_null(p->seal);
		memcpy(p->pub, seal_public_key(p->seal), 32);
		make_desc(p, (uint8_t)(i + 1));
		if (i != C)
			assert_int_equal(gossip_trust_add(w->trust, p->name, p->pub, &grant), 0);
	}
	w->now = 1000 * GOSSIP_SEC;
	start_a(w, 1, lifeguard);
	handshake(w, B);
	handshake(w, X);
	handshake(w, D);
	return w;
}

static struct world *
world_new(bool lifeguard)
{
	return world_new_timed(lifeguard, NULL);
}

static void
world_free(struct world *w)
{
	gossip_free(w->g);
	for (int i = 0; i < NSITES; i++)
		seal_free(w->p[i].seal);
	gossip_trust_free(w->trust);
	free(w);
}

/* Encodes msgs as one payload from puppet `from` to A and hands it over. */
static void
deliver(struct world *w, int from, const struct wire_msg *const *msgs, size_t n)
{
	uint8_t payload[SEAL_PAYLOAD_MAX];
	struct wire_writer wr;

	wire_begin(&wr, payload, sizeof(payload));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(wire_put_msg(&wr, msgs[i]), 0);
	deliver_payload(w, from, payload, wr.len);
}

static void
send1(struct world *w, int from, const struct wire_msg *m)
{
	const struct wire_msg *list[1] = {m};

	deliver(w, from, list, 1);
}

static struct wire_msg *
msg_new(void)
{
	struct wire_msg *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	return m;
}

static void
send_alive(struct world *w, int from, int about, uint32_t inc)
{
	struct wire_msg *m = msg_new();

	m->type = WIRE_ALIVE;
	sign_desc(&w->p[about], inc, &m->desc);
	send1(w, from, m);
	free(m);
}

/* An accusation of about at inc naming accuser, signed by signer (the accuser itself,
 * unless the case is a forgery), sent by sender. */
static void
accuse(struct world *w, int sender, uint8_t type, int about, uint32_t inc, int accuser, int signer)
{
	struct wire_msg *m = msg_new();
	uint8_t buf[128];
	int len;

	m->type = type;
	strcpy(m->target, w->p[about].name);
	strcpy(m->from, w->p[accuser].name);
	m->incarnation = inc;
	len = wire_accuse_signed_bytes(m->target, inc, m->from, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(seal_sign(w->p[signer].seal, buf, (size_t)len, m->sig), 0);
	send1(w, sender, m);
	free(m);
}

static void
send_accuse(struct world *w, uint8_t type, int about, uint32_t inc, int accuser)
{
	accuse(w, B, type, about, inc, accuser, accuser);
}

static void
send_left(struct world *w, int about, uint32_t inc)
{
	struct wire_msg *m = msg_new();
	uint8_t buf[128];
	int len = wire_left_signed_bytes(w->p[about].name, inc, buf, sizeof(buf));

	m->type = WIRE_LEFT;
	strcpy(m->target, w->p[about].name);
	m->incarnation = inc;
	assert_int_equal(seal_sign(w->p[about].seal, buf, (size_t)len, m->sig), 0);
	send1(w, B, m);
	free(m);
}

static void
state_of(struct world *w, int site, enum gossip_state *st, uint32_t *inc)
{
	struct gossip_member_info info;
	int idx = gossip_trust_find(w->trust, w->p[site].name);

	if (gossip_member(w->g, (size_t)idx, &info) != 0) {
		*st = GOSSIP_NONE;
		*inc = 0;
		return;
	}
	*st = info.state;
	*inc = info.incarnation;
}

/* Brings X to state st at incarnation 5, the starting point of every transition. B is
 * known (its accusations can be checked); X is dead only once A's own suspicion ran out. */
static void
prepare(struct world *w, enum gossip_state st)
{
	send_alive(w, B, B, 1);
	send_alive(w, B, X, 5);
	if (st == GOSSIP_SUSPECT || st == GOSSIP_DEAD)
		send_accuse(w, WIRE_SUSPECT, X, 5, B);
	if (st == GOSSIP_DEAD) {
		/* Ticks close together: one late tick looks like a stall and is extended. */
		for (int i = 0; i < 300; i++) {
			w->now += 100 * GOSSIP_MSEC;
			gossip_tick(w->g, w->now);
		}
	} else if (st == GOSSIP_LEFT) {
		send_left(w, X, 5);
	}
	w->nevents = 0;
}

static void
test_transitions(void **state)
{
	static const struct {
		enum gossip_state from;
		uint8_t msg; /* WIRE_ALIVE, _SUSPECT, _DEAD, _LEFT */
		uint32_t inc;
		enum gossip_state to;
		uint32_t to_inc;
		int event; /* -1: none */
	} cases[] = {
	        /* Alive: an accusation at the signed incarnation starts a suspicion, whether
	         * it says suspect or dead; above it, it is not believed. */
	        {GOSSIP_ALIVE, WIRE_SUSPECT, 4, GOSSIP_ALIVE, 5, -1},
	        {GOSSIP_ALIVE, WIRE_SUSPECT, 5, GOSSIP_SUSPECT, 5, GOSSIP_EV_SUSPECT},
	        {GOSSIP_ALIVE, WIRE_SUSPECT, 6, GOSSIP_ALIVE, 5, -1},
	        {GOSSIP_ALIVE, WIRE_DEAD, 4, GOSSIP_ALIVE, 5, -1},
	        {GOSSIP_ALIVE, WIRE_DEAD, 5, GOSSIP_SUSPECT, 5, GOSSIP_EV_SUSPECT},
	        {GOSSIP_ALIVE, WIRE_DEAD, 6, GOSSIP_ALIVE, 5, -1},
	        {GOSSIP_ALIVE, WIRE_DEAD, UINT32_MAX, GOSSIP_ALIVE, 5, -1},
	        {GOSSIP_ALIVE, WIRE_ALIVE, 4, GOSSIP_ALIVE, 5, -1},
	        {GOSSIP_ALIVE, WIRE_ALIVE, 5, GOSSIP_ALIVE, 5, -1},
	        {GOSSIP_ALIVE, WIRE_ALIVE, 6, GOSSIP_ALIVE, 6, -1},
	        {GOSSIP_ALIVE, WIRE_LEFT, 4, GOSSIP_ALIVE, 5, -1},
	        {GOSSIP_ALIVE, WIRE_LEFT, 5, GOSSIP_LEFT, 5, GOSSIP_EV_LEFT},
	        /* Suspect: alive wins only with a higher incarnation; another's dead does
	         * not kill. */
	        {GOSSIP_SUSPECT, WIRE_ALIVE, 5, GOSSIP_SUSPECT, 5, -1},
	        {GOSSIP_SUSPECT, WIRE_ALIVE, 6, GOSSIP_ALIVE, 6, GOSSIP_EV_ALIVE},
	        {GOSSIP_SUSPECT, WIRE_SUSPECT, 5, GOSSIP_SUSPECT, 5, -1},
	        {GOSSIP_SUSPECT, WIRE_SUSPECT, 6, GOSSIP_SUSPECT, 5, -1},
	        {GOSSIP_SUSPECT, WIRE_DEAD, 4, GOSSIP_SUSPECT, 5, -1},
	        {GOSSIP_SUSPECT, WIRE_DEAD, 5, GOSSIP_SUSPECT, 5, -1},
	        {GOSSIP_SUSPECT, WIRE_DEAD, UINT32_MAX, GOSSIP_SUSPECT, 5, -1},
	        {GOSSIP_SUSPECT, WIRE_LEFT, 5, GOSSIP_LEFT, 5, GOSSIP_EV_LEFT},
	        /* Dead: only the site's own higher incarnation brings it back. */
	        {GOSSIP_DEAD, WIRE_ALIVE, 5, GOSSIP_DEAD, 5, -1},
	        {GOSSIP_DEAD, WIRE_ALIVE, 6, GOSSIP_ALIVE, 6, GOSSIP_EV_JOIN},
	        {GOSSIP_DEAD, WIRE_SUSPECT, 6, GOSSIP_DEAD, 5, -1},
	        {GOSSIP_DEAD, WIRE_DEAD, 5, GOSSIP_DEAD, 5, -1},
	        {GOSSIP_DEAD, WIRE_DEAD, UINT32_MAX, GOSSIP_DEAD, 5, -1},
	        {GOSSIP_DEAD, WIRE_LEFT, 5, GOSSIP_DEAD, 5, -1},
	        {GOSSIP_DEAD, WIRE_LEFT, 6, GOSSIP_LEFT, 6, GOSSIP_EV_LEFT},
	        /* Left: likewise. */
	        {GOSSIP_LEFT, WIRE_ALIVE, 5, GOSSIP_LEFT, 5, -1},
	        {GOSSIP_LEFT, WIRE_ALIVE, 6, GOSSIP_ALIVE, 6, GOSSIP_EV_JOIN},
	        {GOSSIP_LEFT, WIRE_SUSPECT, 6, GOSSIP_LEFT, 5, -1},
	        {GOSSIP_LEFT, WIRE_DEAD, 5, GOSSIP_LEFT, 5, -1},
	        {GOSSIP_LEFT, WIRE_DEAD, 6, GOSSIP_LEFT, 5, -1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world *w = world_new(true);
		enum gossip_state st;
		uint32_t inc;

		prepare(w, cases[i].from);
		state_of(w, X, &st, &inc);
		assert_int_equal(st, cases[i].from);
		if (cases[i].msg == WIRE_ALIVE)
			send_alive(w, B, X, cases[i].inc);
		else if (cases[i].msg == WIRE_LEFT)
			send_left(w, X, cases[i].inc);
		else
			send_accuse(w, cases[i].msg, X, cases[i].inc, B);
		state_of(w, X, &st, &inc);
		if (st != cases[i].to || inc != cases[i].to_inc)
			fail_msg("case %zu: %s@5 + msg %u@%u: got %s@%u, want %s@%u", i,
			         gossip_state_name(cases[i].from), cases[i].msg, cases[i].inc,
			         gossip_state_name(st), inc, gossip_state_name(cases[i].to),
			         cases[i].to_inc);
		if (cases[i].event < 0)
			assert_int_equal(w->nevents, 0);
		else
			assert_true(w->nevents >= 1 &&
			            w->events[0].type == (unsigned)cases[i].event);
		world_free(w);
	}
}

static void
test_join_and_update_events(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();

	(void)state;
	send_alive(w, B, X, 5);
	assert_int_equal(w->nevents, 1);
	assert_int_equal(w->events[0].type, GOSSIP_EV_JOIN);
	assert_string_equal(w->events[0].name, "x");
	/* A new version with different content: an update. */
	w->p[X].desc.vnis[0] = 100;
	w->p[X].desc.prefixes[0].len = 24;
	w->nevents = 0;
	send_alive(w, B, X, 6);
	assert_int_equal(w->nevents, 1);
	assert_int_equal(w->events[0].type, GOSSIP_EV_UPDATE);
	assert_int_equal(wire_cdesc_prefixes(w->events[0].desc)[0].len, 24);
	free(m);
	world_free(w);
}

/* n more trusted sites q0, q1, ... (puppets in q, which untrust_many frees), which A takes
 * as it starts again; B is known once more. */
static void
trust_many(struct world *w, struct puppet *q, size_t n)
{
	struct addr_prefix allowed = {{AF_INET, {.bytes = {10}}}, 8};
	uint32_t vni = 100;
	struct gossip_grant grant = {&allowed, 1, NULL, 0, &vni, 1};

	assert_non_null(q);
	for (size_t i = 0; i < n; i++) {
		char *name = malloc(8);

		assert_non_null(name);
		snprintf(name, 8, "q%zu", i);
		q[i].name = name;
		memset(q[i].priv, (int)i + 1, 32);
		q[i].priv[30] = (uint8_t)(i >> 8);
		q[i].priv[31] = 0x40;
		q[i].seal = seal_new(name, q[i].priv, 100);
		assert_non_null(q[i].seal);
		memcpy(q[i].pub, seal_public_key(q[i].seal), 32);
		make_desc(&q[i], (uint8_t)(i + 10));
		q[i].addr.addr.u.bytes[1] = (uint8_t)(i >> 8); /* one address each */
		q[i].desc.gossip = q[i].addr;
		assert_int_equal(gossip_trust_add(w->trust, name, q[i].pub, &grant), 0);
	}
	start_a(w, 2, true);
	handshake(w, B);
	send_alive(w, B, B, 1);
}

static void
untrust_many(struct puppet *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		seal_free(q[i].seal);
		free((char *)q[i].name);
	}
	free(q);
}

#define QUEUE_SITES 200
/* The ALIVEs a join brings, one per member, wait in the broadcast queue until they went out
 * often enough: each holds a reference to the member's descriptor, not a copy of its
 * encoding (319 bytes a member with its descriptor and entries; 569 with the copy, 378 while
 * the descriptor kept its name in a 33-byte array and a pointer per list), and goes out byte
 * for byte as it came, its signature intact: the descriptor's fields read back from its room
 * encode to the signed bytes. */
static void
test_alive_queue_footprint(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new(), *got = msg_new();
	struct puppet *q = calloc(QUEUE_SITES, sizeof(*q));
	uint8_t(*enc)[WIRE_DATAGRAM_MAX] = calloc(QUEUE_SITES, sizeof(*enc));
	int enc_len[QUEUE_SITES];
	size_t before, per_site, passed_on = 0;

	(void)state;
	assert_non_null(q);
	assert_non_null(enc);
	trust_many(w, q, QUEUE_SITES);
	before = heap_in_use();
	for (size_t i = 0; i < QUEUE_SITES; i++) {
		memset(m, 0, sizeof(*m));
		m->type = WIRE_ALIVE;
		sign_desc(&q[i], 3, &m->desc);
		enc_len[i] = wire_encode_msg(m, enc[i], sizeof(enc[i]));
		assert_true(enc_len[i] > 0);
		send1(w, B, m);
	}
	per_site = (heap_in_use() - before) / QUEUE_SITES;
	assert_true(gossip_pending_broadcasts(w->g) >= QUEUE_SITES);
	if (heap_in_use() == 0)
		print_message("mallinfo2 counts no heap here (a sanitizer's allocator): the "
		              "bytes per member are not checked\n");
	else
		print_message("a member and its queued ALIVE hold %zu bytes\n", per_site);
	assert_true(per_site <= 352);

	/* What A piggybacks on its probes: each ALIVE about a q site is the bytes it came as. */
	w->nout = 0;
	for (int t = 0; t < 40 && w->nout < 200; t++) {
		w->now += 200 * GOSSIP_MSEC;
		gossip_tick(w->g, w->now);
	}
	for (size_t o = 0; o < w->nout; o++) {
		uint8_t plain[WIRE_DATAGRAM_MAX];
		struct wire_reader r;
		size_t plen;
		struct seal *to = NULL;

		for (int i = B; i < NSITES && to == NULL; i++)
			if (addr_endpoint_equal(&w->out[o].to, &w->p[i].addr))
				to = w->p[i].seal;
		for (size_t i = 0; i < QUEUE_SITES && to == NULL; i++)
			if (addr_endpoint_equal(&w->out[o].to, &q[i].addr))
				to = q[i].seal;
		if (to == NULL || seal_unwrap(to, 0, w->p[A].pub, w->out[o].buf, w->out[o].len,
		                              plain, sizeof(plain), &plen, &w->opened) != 0)
			continue;
		assert_int_equal(wire_reader_init(&r, plain, plen), 0);
		while (wire_next(&r, got) == 1) {
			uint8_t buf[WIRE_DATAGRAM_MAX];
			unsigned i;

			if (got->type != WIRE_ALIVE || sscanf(got->desc.name, "q%u", &i) != 1)
				continue;
			assert_true(i < QUEUE_SITES);
			assert_int_equal(wire_encode_msg(got, buf, sizeof(buf)), enc_len[i]);
			assert_memory_equal(buf, enc[i], (size_t)enc_len[i]);
			passed_on++;
		}
	}
	print_message("%zu queued ALIVEs seen passed on\n", passed_on);
	assert_true(passed_on > 0);

	untrust_many(q, QUEUE_SITES);
	free(enc);
	free(got);
	free(m);
	world_free(w);
}

/* Only a site raises its own incarnation: accused, it refutes above the accusation. */
static void
test_refute(void **state)
{
	struct world *w = world_new(true);

	(void)state;
	assert_int_equal(gossip_self(w->g)->incarnation, 1);
	send_accuse(w, WIRE_SUSPECT, A, 0, B); /* older than us: nothing to do */
	assert_int_equal(gossip_self(w->g)->incarnation, 1);
	send_accuse(w, WIRE_SUSPECT, A, 1, B);
	assert_int_equal(gossip_self(w->g)->incarnation, 2);
	assert_int_equal(gossip_counters(w->g)->refutations, 1);
	assert_int_equal(gossip_awareness(w->g), 1); /* Lifeguard: being suspected counts */
	/* Above what we signed: a lie, or a version of an earlier run that only its
	 * signed descriptor proves. */
	send_accuse(w, WIRE_DEAD, A, 7, B);
	assert_int_equal(gossip_self(w->g)->incarnation, 2);
	assert_true(gossip_pending_broadcasts(w->g) >= 1);
	world_free(w);
}

/* At the top, incarnations stay there: a refutation or an update never wraps to 0, which
 * every other site would take for the oldest version. */
static void
test_incarnation_saturates(void **state)
{
	struct world *w = world_new(true);
	struct gossip_config cfg = {0};
	char err[128];

	(void)state;
	assert_int_equal(gossip_next_incarnation(7), 8);
	assert_int_equal(gossip_next_incarnation(UINT32_MAX), UINT32_MAX);
	gossip_free(w->g);
	cfg.name = "a";
	cfg.private_key = w->p[A].priv;
	cfg.session = 2;
	cfg.incarnation = UINT32_MAX - 1;
	cfg.desc = &w->p[A].desc;
	gossip_profile_lan(&cfg.profile);
	cfg.trust = w->trust;
	cfg.cb = (struct gossip_callbacks){cb_send, cb_event, w};
	w->g = gossip_new(&cfg, err, sizeof(err));
	assert_non_null(w->g);
	gossip_start(w->g, w->now);
	handshake(w, B);
	send_alive(w, B, B, 1);
	send_accuse(w, WIRE_SUSPECT, A, UINT32_MAX - 1, B);
	assert_int_equal(gossip_self(w->g)->incarnation, UINT32_MAX);
	send_accuse(w, WIRE_DEAD, A, UINT32_MAX, B);
	assert_int_equal(gossip_self(w->g)->incarnation, UINT32_MAX);
	assert_int_equal(gossip_update(w->g, w->now, &w->p[A].desc), -1);
	assert_int_equal(gossip_self(w->g)->incarnation, UINT32_MAX);
	world_free(w);
}

/* A probe with no answer: indirect probes, then suspicion raised locally; Lifeguard adds
 * the missing nacks to the local health score. */
static void
probe_until_suspect(struct world *w)
{
	for (int i = 0; i < 100 && gossip_counters(w->g)->suspicions == 0; i++) {
		w->now = gossip_next_deadline(w->g);
		gossip_tick(w->g, w->now);
	}
}

static void
test_probe_failure(void **state)
{
	struct world *w = world_new(true);
	enum gossip_state st;
	uint32_t inc;

	(void)state;
	send_alive(w, B, X, 5);
	probe_until_suspect(w);
	assert_int_equal(gossip_counters(w->g)->suspicions, 1);
	assert_true(gossip_counters(w->g)->probes >= 1);
	state_of(w, X, &st, &inc);
	/* b was probed and asked nothing of; or x was probed with b as the helper. */
	assert_true(st == GOSSIP_SUSPECT || st == GOSSIP_ALIVE);
	assert_true(gossip_awareness(w->g) >= 1);
	world_free(w);
}

/* Datagrams waiting unread (the embedder's word) hold a failed probe's accusation back,
 * for a bounded number of timeouts: the ack may be among them. Once nothing waits, or past
 * the bound, the probe fails as before. Returns the ms from the first probe to the first
 * suspicion, ticks every 50 ms. */
static gossip_time
ms_to_suspicion(bool backlog, bool cleared_at_3s)
{
	struct world *w = world_new(true);
	gossip_time t0 = w->now, at = 0;

	send_alive(w, B, X, 5);
	gossip_set_backlog(w->g, backlog);
	for (int t = 0; t < 60000 && at == 0; t += 50) {
		w->now = t0 + (gossip_time)t * GOSSIP_MSEC;
		if (cleared_at_3s && t == 3000)
			gossip_set_backlog(w->g, false);
		gossip_tick(w->g, w->now);
		if (gossip_counters(w->g)->suspicions > 0)
			at = (w->now - t0) / GOSSIP_MSEC;
	}
	world_free(w);
	return at;
}

static void
test_backlog_holds_accusation(void **state)
{
	gossip_time plain, held, cleared;

	(void)state;
	plain = ms_to_suspicion(false, false);
	held = ms_to_suspicion(true, false);
	cleared = ms_to_suspicion(true, true);
	assert_true(plain > 0 && held > 0 && cleared > 0);
	/* Eight more timeouts of 500 ms at least, over the probe's deadlines. */
	assert_true(held >= plain + 8 * 500);
	/* Bounded: a flood that never lets the socket empty delays detection, never stops it
	 * (each timeout at most eight times as long, as Lifeguard's awareness stretches it). */
	assert_true(held <= plain + 8 * 500 * 8);
	/* Back to the plain pace once nothing waits. */
	assert_true(cleared > 3000 - 50 && cleared < held);
}

/* Lifeguard's suspicion: starts at max, one independent confirmation takes it down;
 * without Lifeguard it is the minimum from the start. X is accused by B (and D, when
 * confirm); returns when A's suspicion of X runs out, in ms after the accusation, with the
 * timing of profile (NULL: the LAN profile). */
static gossip_time
suspicion_ms_timed(const struct gossip_profile *profile, bool lifeguard, bool confirm)
{
	struct world *w = world_new_timed(lifeguard, profile);
	struct gossip_member_info info;
	gossip_time t0;

	send_alive(w, B, X, 5);
	send_alive(w, X, B, 5);
	send_alive(w, B, D, 5);
	t0 = w->now;
	send_accuse(w, WIRE_SUSPECT, X, 5, B);
	if (confirm)
		send_accuse(w, WIRE_SUSPECT, X, 5, D); /* a second, independent accuser */
	assert_int_equal(gossip_member(w->g, (size_t)gossip_trust_find(w->trust, "x"), &info), 0);
	assert_int_equal(info.state, GOSSIP_SUSPECT);
	world_free(w);
	return (info.suspect_until - t0) / GOSSIP_MSEC;
}

static gossip_time
suspicion_ms(bool lifeguard, bool confirm)
{
	return suspicion_ms_timed(NULL, lifeguard, confirm);
}

/* X accused by B and D, then ticked every 100 ms for `ms`; x_answers: X sends A a
 * datagram every second (it is up). X's state at the end. */
static enum gossip_state
suspect_after(bool lifeguard, bool x_answers, int ms)
{
	struct world *w = world_new(lifeguard);
	struct wire_msg *m = msg_new();
	enum gossip_state st;
	uint32_t inc;

	send_alive(w, B, X, 5);
	send_alive(w, X, B, 5);
	send_alive(w, B, D, 5);
	send_accuse(w, WIRE_SUSPECT, X, 5, B);
	send_accuse(w, WIRE_SUSPECT, X, 5, D);
	m->type = WIRE_NACK; /* nobody asked: it only says x is there */
	for (int t = 100; t <= ms; t += 100) {
		w->now += 100 * GOSSIP_MSEC;
		if (x_answers && t % 1000 == 0)
			send1(w, X, m);
		gossip_tick(w->g, w->now);
	}
	state_of(w, X, &st, &inc);
	free(m);
	world_free(w);
	return st;
}

static void
test_suspicion_timeouts(void **state)
{
	(void)state;
	/* 4 members (n <= 10): min = 3 * 1 s; max = 6 * min = 18 s; k = 1. */
	assert_int_equal(suspicion_ms(false, false), 3000);
	assert_int_equal(suspicion_ms(true, false), 18000);
	assert_int_equal(suspicion_ms(true, true), 3000);
	/* X silent: A's own probe fails too, and X is dead once the suspicion ran out. */
	assert_int_equal(suspect_after(false, false, 2900), GOSSIP_SUSPECT);
	assert_int_equal(suspect_after(false, false, 8000), GOSSIP_DEAD);
	assert_int_equal(suspect_after(true, false, 8000), GOSSIP_DEAD);
	/* X heard from: however many accuse it, it is not dead here. */
	assert_int_equal(suspect_after(true, true, 30000), GOSSIP_SUSPECT);
	assert_int_equal(suspect_after(false, true, 30000), GOSSIP_SUSPECT);
}

/* Forged, replayed, truncated, bit-flipped, from outside the trust table, claiming to be
 * us, or carrying a descriptor that claims too much: each refused, counted, and nothing
 * about the membership changes. */
static void
test_refusals(void **state)
{
	struct world *w = world_new(true);
	uint8_t payload[SEAL_PAYLOAD_MAX], dgram[WIRE_DATAGRAM_MAX], copy[WIRE_DATAGRAM_MAX];
	struct wire_msg *m = msg_new();
	struct wire_writer wr;
	const struct gossip_counters *c = gossip_counters(w->g);
	enum gossip_state st;
	uint32_t inc;
	size_t len;

	(void)state;
	send_alive(w, B, B, 1);
	send_alive(w, B, X, 5);
	w->nevents = 0;
	/* A valid datagram that would make X suspect. */
	m->type = WIRE_SUSPECT;
	strcpy(m->target, "x");
	strcpy(m->from, "b");
	m->incarnation = 5;
	{
		uint8_t sb[128];
		int sl = wire_accuse_signed_bytes("x", 5, "b", sb, sizeof(sb));

		assert_int_equal(seal_sign(w->p[B].seal, sb, (size_t)sl, m->sig), 0);
	}
	wire_begin(&wr, payload, sizeof(payload));
	assert_int_equal(wire_put_msg(&wr, m), 0);
	assert_int_equal(seal_wrap(w->p[B].seal, 0, w->p[A].pub, payload, wr.len, dgram,
	                           sizeof(dgram), &len),
	                 0);

	/* Bit flips in the body and the tag. */
	for (size_t i = 4; i < len; i += 7) {
		memcpy(copy, dgram, len);
		copy[i] ^= 0x04;
		gossip_receive(w->g, w->now, &w->p[B].addr, copy, len);
	}
	assert_true(c->drop_forged > 0);
	/* Truncations. */
	for (size_t cut = 0; cut < len; cut += 5)
		gossip_receive(w->g, w->now, &w->p[B].addr, dgram, cut);
	assert_true(c->drop_malformed > 0);
	/* From a site outside the trust table. */
	uint8_t other[WIRE_DATAGRAM_MAX];
	size_t olen;
	assert_int_equal(seal_wrap(w->p[C].seal, 0, w->p[A].pub, payload, wr.len, other,
	                           sizeof(other), &olen),
	                 0);
	gossip_receive(w->g, w->now, &w->p[C].addr, other, olen);
	assert_int_equal(c->drop_unknown, 1);
	/* C seals with its own key but claims to be B: opened with B's key, it fails. */
	other[2] = 'b';
	{
		uint64_t forged = c->drop_forged;

		gossip_receive(w->g, w->now, &w->p[C].addr, other, olen);
		assert_int_equal(c->drop_forged, forged + 1);
	}
	/* Claims to be us. */
	assert_int_equal(seal_wrap(w->p[A].seal, 0, w->p[A].pub, payload, wr.len, other,
	                           sizeof(other), &olen),
	                 0);
	gossip_receive(w->g, w->now, &w->p[A].addr, other, olen);
	assert_int_equal(c->drop_self, 1);
	/* A hello from an unknown name. */
	olen = (size_t)wire_hello_encode(&(struct wire_hello){.name = "c"}, other, sizeof(other));
	gossip_receive(w->g, w->now, &w->p[C].addr, other, olen);
	assert_int_equal(c->drop_unknown, 2);

	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_ALIVE);
	assert_int_equal(w->nevents, 0);

	/* The genuine datagram works once, then is a replay. */
	gossip_receive(w->g, w->now, &w->p[B].addr, dgram, len);
	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_SUSPECT);
	gossip_receive(w->g, w->now, &w->p[B].addr, dgram, len);
	assert_int_equal(c->drop_replayed, 1);

	/* A payload malformed at its end changes nothing, even for the valid part before. */
	m->incarnation = 9;
	wire_begin(&wr, payload, sizeof(payload));
	assert_int_equal(wire_put_msg(&wr, m), 0);
	payload[wr.len++] = 0xee;
	assert_int_equal(seal_wrap(w->p[B].seal, 0, w->p[A].pub, payload, wr.len, dgram,
	                           sizeof(dgram), &len),
	                 0);
	uint64_t before = c->drop_malformed;
	gossip_receive(w->g, w->now, &w->p[B].addr, dgram, len);
	assert_int_equal(c->drop_malformed, before + 1);
	state_of(w, X, &st, &inc);
	assert_int_equal(inc, 5);

	/* Descriptors: a bad signature, a key not the trusted one. */
	m->type = WIRE_ALIVE;
	sign_desc(&w->p[X], 7, &m->desc);
	m->desc.sig[10] ^= 1;
	send1(w, B, m);
	assert_int_equal(c->drop_refused, 1);
	sign_desc(&w->p[B], 7, &m->desc); /* b's key and signature, x's name */
	strcpy(m->desc.name, "x");
	send1(w, B, m);
	assert_int_equal(c->drop_refused, 2);
	/* x's own X25519 key, but signed with b's signing key: a signing key other than the
	 * one already accepted for x gets the full check, not the shortcut. */
	m->desc = w->p[X].desc;
	m->desc.incarnation = 8;
	memcpy(m->desc.wg_key, seal_public_key(w->p[X].seal), 32);
	memcpy(m->desc.sign_key, seal_sign_key(w->p[B].seal), 32);
	{
		uint8_t sb[WIRE_DATAGRAM_MAX];
		int sl = wire_desc_signed_bytes(&m->desc, sb, sizeof(sb));

		assert_true(sl > 0);
		assert_int_equal(seal_sign(w->p[B].seal, sb, (size_t)sl, m->desc.sig), 0);
	}
	send1(w, B, m);
	assert_int_equal(c->drop_refused, 3);
	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_SUSPECT);
	assert_int_equal(inc, 5);
	/* More than granted, signed by x: refused in part, and proof that x is alive. */
	w->p[X].desc.prefixes[0].addr.u.bytes[0] = 11; /* outside 10.0.0.0/8 */
	sign_desc(&w->p[X], 7, &m->desc);
	send1(w, B, m);
	assert_int_equal(c->drop_refused, 4);
	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_ALIVE);
	assert_int_equal(inc, 7);
	free(m);
	world_free(w);
}

/* A ping is answered with an ack carrying the same sequence number, to the sender. */
static void
test_ping_ack(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	uint8_t plain[WIRE_DATAGRAM_MAX];
	char name[WIRE_NAME_MAX + 1];
	struct wire_reader r;
	size_t plen;
	bool acked = false;

	(void)state;
	send_alive(w, B, B, 3);
	w->nout = 0;
	m->type = WIRE_PING;
	m->seq = 77;
	send1(w, B, m);
	assert_true(w->nout >= 1);
	assert_true(addr_endpoint_equal(&w->out[0].to, &w->p[B].addr));
	assert_int_equal(seal_sender(w->out[0].buf, w->out[0].len, name), 0);
	assert_string_equal(name, "a");
	assert_int_equal(seal_unwrap(w->p[B].seal, 0, w->p[A].pub, w->out[0].buf, w->out[0].len,
	                             plain, sizeof(plain), &plen, &w->opened),
	                 0);
	assert_int_equal(wire_reader_init(&r, plain, plen), 0);
	while (wire_next(&r, m) == 1)
		acked |= m->type == WIRE_ACK && m->seq == 77;
	assert_true(acked);
	free(m);
	world_free(w);
}

/* Anti-entropy: a digest from a peer with a different view gets entries back; entries
 * naming a newer incarnation get a descriptor request. */
/* from lists x, alive at inc, as its only entry. */
static void
send_entry_x(struct world *w, int from, uint32_t inc)
{
	struct wire_msg *m = msg_new();

	m->type = WIRE_ENTRIES;
	m->nbuckets = 1;
	m->count = 1;
	strcpy(m->entries[0].name, "x");
	m->entries[0].incarnation = inc;
	m->entries[0].state = WIRE_STATE_ALIVE;
	send1(w, from, m);
	free(m);
}

static void
test_anti_entropy(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	uint8_t plain[WIRE_DATAGRAM_MAX];
	size_t plen;
	bool entries = false, req = false;

	(void)state;
	send_alive(w, B, B, 3);
	send_alive(w, B, X, 5);
	w->nout = 0;
	m->type = WIRE_DIGEST;
	m->nbuckets = 1;
	m->count = 1;
	m->hashes[0] = 12345;
	send1(w, B, m);
	assert_true(w->nout >= 1);
	assert_int_equal(seal_unwrap(w->p[B].seal, 0, w->p[A].pub, w->out[0].buf, w->out[0].len,
	                             plain, sizeof(plain), &plen, &w->opened),
	                 0);
	struct wire_reader r;
	assert_int_equal(wire_reader_init(&r, plain, plen), 0);
	while (wire_next(&r, m) == 1)
		if (m->type == WIRE_ENTRIES)
			entries = m->count == 3 && (m->flags & WIRE_ENTRIES_REPLY);
	assert_true(entries);

	/* B says x is at 9: A asks for the descriptor. */
	w->nout = 0;
	send_entry_x(w, B, 9);
	assert_true(w->nout >= 1);
	assert_int_equal(seal_unwrap(w->p[B].seal, 0, w->p[A].pub, w->out[0].buf, w->out[0].len,
	                             plain, sizeof(plain), &plen, &w->opened),
	                 0);
	assert_int_equal(wire_reader_init(&r, plain, plen), 0);
	while (wire_next(&r, m) == 1)
		if (m->type == WIRE_DESC_REQ)
			req = m->count == 1 && strcmp(m->names[0], "x") == 0;
	assert_true(req);
	free(m);
	world_free(w);
}

/* A view handed in before the start (a restart's remembered members) is checked with a
 * fanout of them within a gossip interval; without one the first sync waits for the sync
 * interval. */
static void
test_adopted_view_syncs_soon(void **state)
{
	struct world *w = world_new(true);
	struct gossip_config cfg = {0};
	struct gossip_profile lan;
	struct gossip *g;
	struct gossip_desc *gd;
	struct wire_desc d;
	char err[128];

	(void)state;
	gossip_profile_lan(&lan);
	cfg.name = "a";
	cfg.private_key = w->p[A].priv;
	cfg.session = 2;
	cfg.incarnation = 2;
	cfg.desc = &w->p[A].desc;
	cfg.profile = lan;
	cfg.trust = w->trust;
	cfg.rng_seed = 7;
	cfg.cb = (struct gossip_callbacks){cb_send, cb_event, w};
	g = gossip_new(&cfg, err, sizeof(err));
	assert_non_null(g);
	for (int who = B; who <= X; who++) {
		sign_desc(&w->p[who], 4, &d);
		gd = gossip_desc_new(&d);
		assert_int_equal(gossip_desc_verify(gd), 0);
		assert_int_equal(gossip_add_member(g, w->now, gd), 0);
		gossip_desc_unref(gd);
	}
	gossip_start(g, w->now);
	assert_true(gossip_next_deadline(g) <= w->now + lan.gossip_interval_ms * GOSSIP_MSEC);
	for (gossip_time t = w->now; t <= w->now + lan.gossip_interval_ms * GOSSIP_MSEC;
	     t += 10 * GOSSIP_MSEC) {
		gossip_tick(g, t);
		gossip_tick(w->g, t);
	}
	assert_int_equal(gossip_counters(g)->syncs, 2); /* both, with a fanout of 4 */
	assert_int_equal(gossip_counters(w->g)->syncs, 0);
	gossip_free(g);
	world_free(w);
}

/* A in a new session, with B's address as its seed and the timing of profile (NULL: the
 * LAN profile); not started. */
static struct gossip *
seeded_a_timed(struct world *w, const struct gossip_profile *profile)
{
	struct gossip_config cfg = {0};
	struct gossip *g;
	char err[128];

	cfg.name = "a";
	cfg.private_key = w->p[A].priv;
	cfg.session = 2;
	cfg.incarnation = 1;
	cfg.desc = &w->p[A].desc;
	if (profile != NULL)
		cfg.profile = *profile;
	else
		gossip_profile_lan(&cfg.profile);
	cfg.trust = w->trust;
	cfg.rng_seed = 42;
	cfg.seeds = &w->p[B].addr;
	cfg.nseeds = 1;
	cfg.cb = (struct gossip_callbacks){cb_send, cb_event, w};
	g = gossip_new(&cfg, err, sizeof(err));
	assert_non_null(g);
	return g;
}

static struct gossip *
seeded_a(struct world *w)
{
	return seeded_a_timed(w, NULL);
}

/* A world whose A started anew with B's address as its seed, B's session confirmed. */
static struct world *
seeded_world(void)
{
	struct world *w = world_new(true);

	gossip_free(w->g);
	w->g = seeded_a(w);
	gossip_start(w->g, w->now);
	handshake(w, B);
	return w;
}

/* Starts g (A, seeded by B, which never answers) and ticks it until it has sent n hellos or
 * for at most limit: the times of those it sent, in at. Returns how many. */
static size_t
hello_times(struct world *w, struct gossip *g, gossip_time *at, size_t n, gossip_time limit)
{
	gossip_time t = w->now;
	size_t got = 0;

	w->nout = 0;
	gossip_start(g, t);
	while (got < n && t < w->now + limit) {
		size_t before = w->nout;

		t = gossip_next_deadline(g);
		gossip_tick(g, t);
		for (size_t i = before; i < w->nout && got < n; i++)
			if (w->out[i].buf[0] == WIRE_HELLO_KIND)
				at[got++] = t;
		if (w->nout > 200)
			w->nout = 0;
	}
	return got;
}

/* A seed that is not in the view gets a hello, and again later with a longer wait. */
static void
test_seed_backoff(void **state)
{
	struct world *w = world_new(true);
	struct gossip *g = seeded_a(w);
	gossip_time at[3];

	(void)state;
	assert_int_equal(hello_times(w, g, at, 3, 60 * GOSSIP_SEC), 3);
	assert_true(at[1] > at[0] && at[2] > at[1]);
	assert_true(at[2] - at[1] > at[1] - at[0]);
	gossip_free(g);
	world_free(w);
}

/* join_backoff_min and join_backoff_max as configured: a silent seed's hellos 50, 100, 200
 * and 200 ms apart (each within the 25 % jitter), not the profile's 1, 2, 4, 8 s. */
static void
test_seed_backoff_configured(void **state)
{
	static const double want_ms[] = {50, 100, 200, 200, 200};
	struct world *w = world_new(true);
	struct gossip_profile prof;
	struct gossip *g;
	gossip_time at[6];

	(void)state;
	gossip_profile_lan(&prof);
	prof.join_backoff_min_ms = 50;
	prof.join_backoff_max_ms = 200;
	g = seeded_a_timed(w, &prof);
	assert_int_equal(hello_times(w, g, at, 6, 10 * GOSSIP_SEC), 6);
	for (size_t i = 0; i < 5; i++) {
		double gap = (double)(at[i + 1] - at[i]) / GOSSIP_MSEC;

		if (gap < want_ms[i] * 0.74 || gap > want_ms[i] * 1.26)
			fail_msg("hello %zu came %.0f ms after the one before, want %.0f +-25 %%",
			         i + 2, gap, want_ms[i]);
	}
	gossip_free(g);
	world_free(w);
}

/* Ticks A for ms, a tenth of a second at a time; A's joins meanwhile. */
static uint64_t
joins_over(struct world *w, int ms)
{
	uint64_t before = gossip_counters(w->g)->joins;

	for (int i = 0; i < ms / 100; i++) {
		w->nout = 0;
		w->now += 100 * GOSSIP_MSEC;
		gossip_tick(w->g, w->now);
	}
	return gossip_counters(w->g)->joins - before;
}

/* A seed whose entries come is answering: while its own descriptor waits behind the view it
 * lists, the join is not sent again on the backoff (1, 2, 4, 8 s), which would bring the
 * whole list and its asks once more; it is sent again after the longest wait (30 s) if the
 * seed is still not in the view and sent nothing more meanwhile. */
static void
test_seed_answering_not_joined_again(void **state)
{
	struct world *w = seeded_world();
	struct wire_msg *m = msg_new();

	(void)state;
	gossip_tick(w->g, w->now);
	assert_int_equal(gossip_counters(w->g)->joins, 1);

	send_entry_x(w, B, 1);
	assert_int_equal(joins_over(w, 20000), 0);
	assert_true(joins_over(w, 15000) >= 1);
	free(m);
	world_free(w);
}

static void
test_leave(void **state)
{
	struct world *w = world_new(true);

	(void)state;
	send_alive(w, B, B, 3);
	w->nout = 0;
	gossip_leave(w->g, w->now);
	assert_true(w->nout >= 1); /* sent at once to a gossip target */
	assert_int_equal(gossip_update(w->g, w->now, &w->p[A].desc), -1);
	/* Past the last probe time: a site that left starts no probe, so its next deadline
	 * is not that time (a caller's timer would spin on it), and it comes to an end. */
	w->now += 10 * GOSSIP_SEC;
	for (int i = 0; i < 100 && gossip_next_deadline(w->g) != INT64_MAX; i++) {
		if (gossip_next_deadline(w->g) > w->now)
			w->now = gossip_next_deadline(w->g);
		gossip_tick(w->g, w->now);
		assert_true(gossip_next_deadline(w->g) > w->now);
	}
	assert_int_equal(gossip_next_deadline(w->g), INT64_MAX);
	world_free(w);
}

/* The members A probes: every puppet but c, whom it does not trust. */
static const int members[] = {B, X, D};

/* Opens datagram k of A's last step as the member it went to would (a second opening is a
 * replay, refused): the member's index with a reader on the payload, or -1. */
static int
open_sent(struct world *w, size_t k, uint8_t *plain, struct wire_reader *r)
{
	size_t plen;

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		int to = members[i];

		if (!addr_endpoint_equal(&w->out[k].to, &w->p[to].addr))
			continue;
		if (seal_unwrap(w->p[to].seal, 0, w->p[A].pub, w->out[k].buf, w->out[k].len, plain,
		                WIRE_DATAGRAM_MAX, &plen, &w->opened) != 0 ||
		    wire_reader_init(r, plain, plen) != 0)
			return -1;
		return to;
	}
	return -1;
}

/* Scans what A sent to puppet `to` (opening each datagram once, as `to` would) for a
 * message of `type`; true with it in m. */
static bool
took(struct world *w, int to, uint8_t type, struct wire_msg *m)
{
	uint8_t plain[WIRE_DATAGRAM_MAX];
	struct wire_reader r;

	for (size_t k = 0; k < w->nout; k++) {
		if (!addr_endpoint_equal(&w->out[k].to, &w->p[to].addr) ||
		    open_sent(w, k, plain, &r) != to)
			continue;
		while (wire_next(&r, m) == 1)
			if (m->type == type)
				return true;
	}
	return false;
}

/* who asks A for X's descriptor: whether A's answer holds a message of type (in m). */
static bool
asked_for_x(struct world *w, int who, uint8_t type, struct wire_msg *m)
{
	m->type = WIRE_DESC_REQ;
	m->count = 1;
	strcpy(m->names[0], "x");
	w->nout = 0;
	send1(w, who, m);
	return took(w, who, type, m);
}

/* Ticks A, deadline by deadline, until it sends `to` a message of `type`. */
static bool
tick_until_sent(struct world *w, int to, uint8_t type, struct wire_msg *m)
{
	for (int i = 0; i < 50; i++) {
		w->nout = 0;
		w->now = gossip_next_deadline(w->g);
		gossip_tick(w->g, w->now);
		if (took(w, to, type, m))
			return true;
	}
	return false;
}

/* A with the timing of profile, b, x and d alive in its view (nobody answers a probe). */
static struct world *
world_alive_timed(const struct gossip_profile *profile)
{
	struct world *w = world_new_timed(true, profile);

	send_alive(w, B, B, 5);
	send_alive(w, B, X, 5);
	send_alive(w, B, D, 5);
	return w;
}

/* A's next step: its deadline reached, what it sends then in w->out alone. */
static void
tick_next(struct world *w)
{
	w->nout = 0;
	w->now = gossip_next_deadline(w->g);
	gossip_tick(w->g, w->now);
}

/* Indirect probe requests A sends before its first suspicion, with indirect_checks k: every
 * probe fails here (no puppet answers), and each asks k of the two other members. */
static uint64_t
ping_reqs_until_suspect(uint32_t k)
{
	struct gossip_profile prof;
	struct world *w;
	uint64_t n;

	gossip_profile_lan(&prof);
	prof.indirect_checks = k;
	w = world_alive_timed(&prof);
	for (int i = 0; i < 1000 && gossip_counters(w->g)->suspicions == 0; i++)
		tick_next(w);
	print_message("indirect_checks %u: %llu suspicions, %llu probes, %llu failed, %llu "
	              "indirect\n",
	              k, (unsigned long long)gossip_counters(w->g)->suspicions,
	              (unsigned long long)gossip_counters(w->g)->probes,
	              (unsigned long long)gossip_counters(w->g)->probe_failures,
	              (unsigned long long)gossip_counters(w->g)->indirect_probes);
	assert_int_equal(gossip_counters(w->g)->suspicions, 1);
	n = gossip_counters(w->g)->indirect_probes;
	world_free(w);
	return n;
}

/* The highest Lifeguard score A reaches while every probe fails for 30 s, with awareness_max
 * max. */
static unsigned
highest_awareness(uint32_t max)
{
	struct gossip_profile prof;
	struct world *w;
	gossip_time end;
	unsigned high = 0;

	gossip_profile_lan(&prof);
	prof.awareness_max = max;
	w = world_alive_timed(&prof);
	end = w->now + 30 * GOSSIP_SEC;
	while (w->now < end) {
		tick_next(w);
		if (gossip_awareness(w->g) > high)
			high = gossip_awareness(w->g);
	}
	world_free(w);
	return high;
}

/* gossip.awareness_max as configured: the score, by which probes stretch, stops one below
 * it (at 1 it never moves), where the default's goes on to 7. */
static void
test_awareness_max_configured(void **state)
{
	(void)state;
	assert_int_equal(highest_awareness(1), 0);
	assert_int_equal(highest_awareness(3), 2);
	/* The same failures take the default's score to its own cap. */
	assert_int_equal(highest_awareness(8), 7);
}

/* The most members A sends to in one tick over a second of gossip rounds, news of x and d
 * to pass on, with gossip_fanout fanout (probes and syncs kept out of that second). */
static size_t
widest_round(uint32_t fanout)
{
	struct gossip_profile prof;
	struct world *w;
	gossip_time end;
	size_t widest = 0;

	gossip_profile_lan(&prof);
	prof.gossip_fanout = fanout;
	prof.probe_interval_ms = 600000;
	prof.sync_interval_ms = 3600000;
	prof.reconnect_interval_ms = 3600000;
	w = world_alive_timed(&prof);
	end = w->now + GOSSIP_SEC;
	while (w->now < end) {
		size_t to = 0;

		tick_next(w);
		for (int site = 0; site < NSITES; site++)
			for (size_t k = 0; k < w->nout; k++)
				if (addr_endpoint_equal(&w->out[k].to, &w->p[site].addr)) {
					to++;
					break;
				}
		if (to > widest)
			widest = to;
	}
	world_free(w);
	return widest;
}

/* gossip.gossip_fanout as configured: a round passes news on to that many members. */
static void
test_gossip_fanout_configured(void **state)
{
	(void)state;
	assert_int_equal(widest_round(1), 1);
	assert_int_equal(widest_round(2), 2);
	assert_int_equal(widest_round(3), 3);
}

/* A's anti-entropy syncs over 10 s with sync_interval sync_ms (0: the LAN profile's 15 s),
 * probes kept out of those seconds. */
static uint64_t
syncs_over_10s(uint32_t sync_ms)
{
	struct gossip_profile prof;
	struct world *w;
	gossip_time end;
	uint64_t before, n;

	gossip_profile_lan(&prof);
	prof.probe_interval_ms = 600000;
	if (sync_ms)
		prof.sync_interval_ms = sync_ms;
	w = world_alive_timed(&prof);
	before = gossip_counters(w->g)->syncs;
	end = w->now + 10 * GOSSIP_SEC;
	while (w->now < end)
		tick_next(w);
	n = gossip_counters(w->g)->syncs - before;
	world_free(w);
	return n;
}

/* gossip.sync_interval as configured: a sync about every second (within the 20 % jitter)
 * where the profile's comes at most once in those 10 s. */
static void
test_sync_interval_configured(void **state)
{
	uint64_t every_second = syncs_over_10s(1000);

	(void)state;
	assert_true(every_second >= 8 && every_second <= 13);
	assert_true(syncs_over_10s(0) <= 1);
}

/* gossip.indirect_checks as configured: none, one or two helpers asked. */
static void
test_indirect_checks_configured(void **state)
{
	(void)state;
	assert_int_equal(ping_reqs_until_suspect(0), 0);
	assert_int_equal(ping_reqs_until_suspect(1), 1);
	assert_int_equal(ping_reqs_until_suspect(2), 2);
}

/* Each ping of A's last step acked at once by the member it went to: nobody is down, so no
 * probe fails and nothing stretches A's timing. */
static void
ack_pings(struct world *w)
{
	uint8_t plain[WIRE_DATAGRAM_MAX];
	struct wire_msg *m = msg_new(), *ack = msg_new();
	struct wire_reader r;
	size_t n = w->nout;

	ack->type = WIRE_ACK;
	for (size_t k = 0; k < n; k++) {
		int to = open_sent(w, k, plain, &r);

		while (to >= 0 && wire_next(&r, m) == 1) {
			if (m->type != WIRE_PING)
				continue;
			ack->seq = m->seq;
			send1(w, to, ack);
		}
	}
	free(ack);
	free(m);
}

/* Whether A's last step sent a member a message of type (each datagram opened once). */
static bool
sent_any(struct world *w, uint8_t type)
{
	uint8_t plain[WIRE_DATAGRAM_MAX];
	struct wire_msg *m = msg_new();
	struct wire_reader r;
	bool found = false;

	for (size_t k = 0; k < w->nout && !found; k++) {
		int to = open_sent(w, k, plain, &r);

		while (to >= 0 && !found && wire_next(&r, m) == 1)
			found = m->type == type;
	}
	free(m);
	return found;
}

/* A's probes over its first 10 s with the timing of profile, b, x and d answering every
 * one. */
static uint64_t
probes_over_10s(const struct gossip_profile *profile)
{
	struct world *w = world_alive_timed(profile);
	gossip_time end = w->now + 10 * GOSSIP_SEC;
	uint64_t n;

	while (gossip_next_deadline(w->g) < end) {
		tick_next(w);
		ack_pings(w);
	}
	assert_int_equal(gossip_counters(w->g)->probe_failures, 0);
	n = gossip_counters(w->g)->probes;
	world_free(w);
	return n;
}

/* gossip.probe_interval as configured: a probe every 2.5 s, 4 in 10 s where the profile's
 * interval makes 10 (the first comes within one interval of the start). */
static void
test_probe_interval_configured(void **state)
{
	struct gossip_profile prof;

	(void)state;
	gossip_profile_lan(&prof);
	prof.probe_interval_ms = 2500;
	assert_int_equal(probes_over_10s(&prof), 4);
	gossip_profile_lan(&prof);
	assert_int_equal(probes_over_10s(&prof), 10);
}

/* With the timing of profile and nobody answering: the ms from A's first ping to the ping-reqs
 * that ask others to probe the member for it. */
static gossip_time
ping_req_wait_ms(const struct gossip_profile *profile)
{
	struct world *w = world_alive_timed(profile);
	gossip_time pinged = 0, asked = 0;

	for (int i = 0; i < 100 && asked == 0; i++) {
		tick_next(w);
		if (pinged == 0 && sent_any(w, WIRE_PING))
			pinged = w->now;
		else if (pinged != 0 && sent_any(w, WIRE_PING_REQ))
			asked = w->now;
	}
	assert_true(pinged != 0 && asked != 0);
	world_free(w);
	return (asked - pinged) / GOSSIP_MSEC;
}

/* gossip.probe_timeout as configured: a ping's ack is waited for 100 ms before helpers are
 * asked, not the profile's 500 ms. */
static void
test_probe_timeout_configured(void **state)
{
	struct gossip_profile prof;

	(void)state;
	gossip_profile_lan(&prof);
	prof.probe_timeout_ms = 100;
	assert_int_equal(ping_req_wait_ms(&prof), 100);
	gossip_profile_lan(&prof);
	assert_int_equal(ping_req_wait_ms(&prof), 500);
}

/* gossip.suspicion_mult and suspicion_max_mult as configured, in the 4-member view of
 * test_suspicion_timeouts: a suspicion lasts suspicion_mult probe intervals without
 * Lifeguard (5 s, not the profile's 3 s), and with Lifeguard it starts at
 * suspicion_max_mult times that (2 x 3 s, not the profile's 6 x 3 s). */
static void
test_suspicion_mults_configured(void **state)
{
	struct gossip_profile prof;

	(void)state;
	gossip_profile_lan(&prof);
	prof.suspicion_mult = 5;
	assert_int_equal(suspicion_ms_timed(&prof, false, false), 5000);
	assert_int_equal(suspicion_ms_timed(&prof, true, false), 6 * 5000);
	gossip_profile_lan(&prof);
	prof.suspicion_max_mult = 2;
	assert_int_equal(suspicion_ms_timed(&prof, true, false), 2 * 3000);
	assert_int_equal(suspicion_ms_timed(&prof, false, false), 3000);
	/* suspicion_mult - 2 confirmations are waited for: at 2 none, and the maximum never
	 * applies. */
	gossip_profile_lan(&prof);
	prof.suspicion_mult = 2;
	assert_int_equal(suspicion_ms_timed(&prof, true, false), 2000);
}

/* How many datagrams carry A's new descriptor, announced with b, x and d alive, with
 * retransmit_mult mult (0: the LAN profile's); probes, syncs and reconnects kept out. */
static size_t
descriptor_sends(uint32_t mult)
{
	uint8_t plain[WIRE_DATAGRAM_MAX];
	struct wire_msg *m = msg_new();
	struct gossip_profile prof;
	struct wire_reader r;
	struct world *w;
	gossip_time end;
	uint32_t inc;
	size_t n = 0;

	gossip_profile_lan(&prof);
	if (mult)
		prof.retransmit_mult = mult;
	prof.probe_interval_ms = 600000;
	prof.sync_interval_ms = 3600000;
	prof.reconnect_interval_ms = 3600000;
	w = world_alive_timed(&prof);
	end = w->now + 10 * GOSSIP_SEC;
	w->nout = 0;
	assert_int_equal(gossip_update(w->g, w->now, &w->p[A].desc), 0);
	inc = gossip_self(w->g)->incarnation;
	do {
		for (size_t k = 0; k < w->nout; k++) {
			int to = open_sent(w, k, plain, &r);
			bool carried = false;

			while (to >= 0 && !carried && wire_next(&r, m) == 1)
				carried = m->type == WIRE_ALIVE && strcmp(m->desc.name, "a") == 0 &&
				          m->desc.incarnation == inc;
			n += carried;
		}
		tick_next(w);
	} while (w->now < end);
	assert_int_equal(gossip_pending_broadcasts(w->g), 0);
	free(m);
	world_free(w);
	return n;
}

/* gossip.retransmit_mult as configured: an update is passed on ceil(retransmit_mult x
 * (log10(members + 1) + 1)) times, the members being the four sites A holds alive, itself
 * included: 2 times at 1 and 6 at 3 (SWIM's mult x ceil(log10(n + 1)) would be 3), where
 * the profile's 4 makes 7. */
static void
test_retransmit_mult_configured(void **state)
{
	(void)state;
	assert_int_equal(descriptor_sends(1), 2);
	assert_int_equal(descriptor_sends(3), 6);
	assert_int_equal(descriptor_sends(0), 7);
}

/* The gaps, in ms, between A's reconnects once it holds x dead, with the timing of
 * profile. */
static void
reconnect_gaps_ms(const struct gossip_profile *profile, gossip_time gaps[3])
{
	struct world *w = world_new_timed(true, profile);
	gossip_time at[4];
	enum gossip_state st;
	uint32_t inc;
	uint64_t joins;
	size_t got = 0;

	prepare(w, GOSSIP_DEAD);
	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_DEAD);
	joins = gossip_counters(w->g)->joins;
	for (int i = 0; i < 1000 && got < 4; i++) {
		tick_next(w);
		if (gossip_counters(w->g)->joins != joins)
			at[got++] = w->now;
		joins = gossip_counters(w->g)->joins;
	}
	assert_int_equal(got, 4);
	for (size_t i = 0; i < 3; i++)
		gaps[i] = (at[i + 1] - at[i]) / GOSSIP_MSEC;
	world_free(w);
}

/* gossip.reconnect_interval as configured: a member held dead is tried every second, within
 * the 20 % jitter, where the profile's tries come 8 to 12 s apart. */
static void
test_reconnect_interval_configured(void **state)
{
	struct gossip_profile prof;
	gossip_time gaps[3];

	(void)state;
	gossip_profile_lan(&prof);
	prof.reconnect_interval_ms = 1000;
	reconnect_gaps_ms(&prof, gaps);
	for (size_t i = 0; i < 3; i++)
		if (gaps[i] < 800 || gaps[i] > 1200)
			fail_msg("reconnect %zu came %lld ms after the one before, want 800..1200",
			         i + 2, (long long)gaps[i]);
	gossip_profile_lan(&prof);
	reconnect_gaps_ms(&prof, gaps);
	for (size_t i = 0; i < 3; i++)
		assert_true(gaps[i] >= 8000 && gaps[i] <= 12000);
}

/* gossip.profile "wan" as netd.conf(5) gives it, where the LAN profile's figures are those
 * of the tests above: a probe every 2 s, 1 s for its ack, a suspicion of 4 probe intervals
 * (6 times that with Lifeguard), a member held dead tried every 15 s. */
static void
test_wan_profile(void **state)
{
	struct gossip_profile wan;
	gossip_time gaps[3];

	(void)state;
	gossip_profile_wan(&wan);
	assert_int_equal(probes_over_10s(&wan), 5);
	assert_int_equal(ping_req_wait_ms(&wan), 1000);
	assert_int_equal(suspicion_ms_timed(&wan, false, false), 4 * 2000);
	assert_int_equal(suspicion_ms_timed(&wan, true, false), 6 * 4 * 2000);
	reconnect_gaps_ms(&wan, gaps);
	for (size_t i = 0; i < 3; i++)
		assert_true(gaps[i] >= 12000 && gaps[i] <= 18000);
}

/* A seed's sealed datagrams, while its own descriptor has not come, answer A's join: A does
 * not join it again on each one past the answer gap, which would bring its whole view once
 * more. A trusted site A knows nothing of and did not join gets A's join, and with it an ask
 * for its descriptor, which would otherwise wait behind the whole view it lists. */
static void
test_seed_answer_not_joined_again(void **state)
{
	struct world *w = seeded_world();
	struct wire_msg *m = msg_new();

	(void)state;
	handshake(w, D);
	for (int i = 0; i < 10; i++) {
		w->now += 300 * GOSSIP_MSEC;
		w->nout = 0;
		send_entry_x(w, B, 1);
		assert_true(took(w, B, WIRE_DESC_REQ, m)); /* x's, as the entry asks */
		assert_false(took(w, B, WIRE_DIGEST, m));
	}
	w->nout = 0;
	m->type = WIRE_PING;
	m->seq = 7;
	send1(w, D, m);
	assert_true(took(w, D, WIRE_DIGEST, m));
	assert_true(took(w, D, WIRE_DESC_REQ, m));
	assert_int_equal(m->count, 1);
	assert_string_equal(m->names[0], "d");
	free(m);
	world_free(w);
}

#define RECONNECT_SITES 1000
/* A site held dead here alone among a thousand live ones (nobody else tells it) is tried at
 * every reconnect: each one's digest goes to a member held dead, where a random pick of all
 * members found one about once in 60 reconnects. */
static void
test_reconnect_finds_the_dead(void **state)
{
	struct world *w = world_new(true);
	struct puppet *q = calloc(RECONNECT_SITES, sizeof(*q));
	struct wire_msg *m = msg_new();
	enum gossip_state st;
	uint32_t inc;
	size_t alive = 0;

	(void)state;
	trust_many(w, q, RECONNECT_SITES);
	handshake(w, X);
	for (size_t i = 0; i < RECONNECT_SITES; i++) {
		memset(m, 0, sizeof(*m));
		m->type = WIRE_ALIVE;
		sign_desc(&q[i], 3, &m->desc);
		send1(w, B, m);
	}
	for (size_t i = 0; i < RECONNECT_SITES; i++) {
		struct gossip_member_info info;

		assert_int_equal(
		        gossip_member(w->g, (size_t)gossip_trust_find(w->trust, q[i].name), &info),
		        0);
		alive += info.state == GOSSIP_ALIVE;
	}
	assert_int_equal(alive, RECONNECT_SITES);
	send_alive(w, B, X, 5);
	send_accuse(w, WIRE_SUSPECT, X, 5, B);
	for (int i = 0; i < 1200; i++) {
		w->now += 100 * GOSSIP_MSEC;
		gossip_tick(w->g, w->now);
		state_of(w, X, &st, &inc);
		if (st == GOSSIP_DEAD)
			break;
	}
	assert_int_equal(st, GOSSIP_DEAD);

	/* Three reconnect intervals (10 s on a LAN, jittered by a fifth): a digest to a member
	 * held dead in each, counted by A as a join. */
	for (int round = 0; round < 3; round++) {
		uint64_t joins = gossip_counters(w->g)->joins;
		bool sent = false;

		for (int i = 0; i < 130 && gossip_counters(w->g)->joins == joins; i++) {
			w->nout = 0;
			w->now += 100 * GOSSIP_MSEC;
			gossip_tick(w->g, w->now);
		}
		assert_int_equal(gossip_counters(w->g)->joins, joins + 1);
		for (size_t k = 0; k < w->nout && !sent; k++) {
			int idx = -1;

			if (addr_endpoint_equal(&w->out[k].to, &w->p[X].addr)) {
				idx = gossip_trust_find(w->trust, "x");
			} else {
				for (size_t i = 0; i < RECONNECT_SITES && idx < 0; i++)
					if (addr_endpoint_equal(&w->out[k].to, &q[i].addr))
						idx = gossip_trust_find(w->trust, q[i].name);
			}
			if (idx >= 0) {
				struct gossip_member_info info;

				assert_int_equal(gossip_member(w->g, (size_t)idx, &info), 0);
				sent = info.state == GOSSIP_DEAD;
			}
		}
		assert_true(sent);
	}
	untrust_many(q, RECONNECT_SITES);
	free(m);
	world_free(w);
}

/* A site that lost its state file comes back at incarnation 1 while A holds it dead at 3:
 * told it is dead at 3, it asks A for its own descriptor, and A hands it over although X is
 * dead (a third site asking for a dead member's gets nothing), so X can refute. */
static void
test_dead_site_gets_its_own_descriptor(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	enum gossip_state st;
	uint32_t inc;

	(void)state;
	send_alive(w, B, X, 3);
	send_alive(w, X, B, 5);
	send_alive(w, B, D, 5);
	send_accuse(w, WIRE_SUSPECT, X, 3, B);
	send_accuse(w, WIRE_SUSPECT, X, 3, D);
	for (int t = 0; t < 300; t++) {
		w->now += 100 * GOSSIP_MSEC;
		gossip_tick(w->g, w->now);
	}
	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_DEAD);
	assert_int_equal(inc, 3);
	assert_false(asked_for_x(w, B, WIRE_ALIVE, m));
	assert_true(asked_for_x(w, X, WIRE_ALIVE, m));
	assert_string_equal(m->desc.name, "x");
	assert_int_equal(m->desc.incarnation, 3);
	free(m);
	world_free(w);
}

/* A site that left (its leave signed at 4, its descriptor at 3) and came back without its
 * state file at incarnation 1: its own descriptor alone cannot lift it above 4. Asking for
 * it, it gets the leave it signed as well, and nobody else does. */
static void
test_left_site_gets_its_own_leave(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	enum gossip_state st;
	uint32_t inc;

	(void)state;
	send_alive(w, B, X, 3);
	send_left(w, X, 4);
	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_LEFT);
	assert_int_equal(inc, 4);
	assert_false(asked_for_x(w, B, WIRE_LEFT, m));
	assert_true(asked_for_x(w, X, WIRE_LEFT, m));
	assert_string_equal(m->target, "x");
	assert_int_equal(m->incarnation, 4);
	/* Back alive above it: the leave is not handed out any more. */
	send_alive(w, X, X, 5);
	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_ALIVE);
	assert_false(asked_for_x(w, X, WIRE_LEFT, m));
	free(m);
	world_free(w);
}

/* A leave in this site's name moves it above that incarnation only when this site signed it:
 * anyone else's would push its incarnation to the top for good. */
static void
test_own_leave_only_when_signed(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	uint8_t buf[128];
	int len = wire_left_signed_bytes("a", 0xfffffffe, buf, sizeof(buf));

	(void)state;
	m->type = WIRE_LEFT;
	strcpy(m->target, "a");
	m->incarnation = 0xfffffffe;
	assert_int_equal(seal_sign(w->p[B].seal, buf, (size_t)len, m->sig), 0);
	send1(w, B, m);
	assert_int_equal(gossip_self(w->g)->incarnation, 1);
	send_left(w, A, 4);
	assert_int_equal(gossip_self(w->g)->incarnation, 5);
	free(m);
	world_free(w);
}

/* A refutation lost on its way to A: before A's suspicion of X runs out, A asks members for
 * X's descriptor (a round trip before the deadline), and the refuted version one of them
 * sends back keeps X alive here. Without the answer X would be dead (suspect_after). */
static void
test_refutation_pulled(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	struct gossip_member_info info;
	enum gossip_state st;
	int asked = -1;
	uint32_t inc;

	(void)state;
	send_alive(w, B, X, 5);
	send_alive(w, X, B, 5);
	send_alive(w, B, D, 5);
	send_accuse(w, WIRE_SUSPECT, X, 5, B);
	send_accuse(w, WIRE_SUSPECT, X, 5, D);
	assert_int_equal(gossip_member(w->g, (size_t)gossip_trust_find(w->trust, "x"), &info), 0);
	for (int i = 0; i < 200 && asked < 0; i++) {
		w->nout = 0;
		w->now = gossip_next_deadline(w->g);
		gossip_tick(w->g, w->now);
		for (int to = B; to <= D && asked < 0; to++)
			if (to != X && took(w, to, WIRE_DESC_REQ, m) && m->count == 1 &&
			    strcmp(m->names[0], "x") == 0)
				asked = to;
	}
	assert_true(asked >= 0);
	assert_true(w->now < info.suspect_until);
	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_SUSPECT);
	send_alive(w, asked, X, 6);
	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_ALIVE);
	assert_int_equal(inc, 6);
	/* Past the old deadline: alive (or suspected afresh by A's own probes, X being silent
	 * here), never dead at the refuted incarnation. */
	while (w->now < info.suspect_until + 1000 * GOSSIP_MSEC) {
		w->now += 100 * GOSSIP_MSEC;
		gossip_tick(w->g, w->now);
	}
	state_of(w, X, &st, &inc);
	assert_int_not_equal(st, GOSSIP_DEAD);
	assert_int_equal(inc, 6);
	free(m);
	world_free(w);
}

static void
send_entry(struct world *w, int about, uint32_t inc, uint8_t st)
{
	struct wire_msg *m = msg_new();

	m->type = WIRE_ENTRIES;
	m->nbuckets = 1;
	m->count = 1;
	strcpy(m->entries[0].name, w->p[about].name);
	m->entries[0].incarnation = inc;
	m->entries[0].state = st;
	send1(w, B, m);
	free(m);
}

/* A trusted liar (b, with its real key) accuses at any incarnation, claims others'
 * names, or says so in anti-entropy: only an accusation at the incarnation the accused
 * signed counts, it never kills at once, and no one's incarnation is driven up. */
static void
test_lies_accusations(void **state)
{
	enum { ACCUSE, ENTRY };
	static const struct {
		const char *what;
		int how;
		uint8_t type; /* ACCUSE: WIRE_SUSPECT/_DEAD; ENTRY: WIRE_STATE_* */
		int about, accuser, signer;
		uint32_t inc;
		enum gossip_state x;
		uint32_t x_inc, self_inc;
		bool asks; /* a descriptor request goes back to b */
	} cases[] = {
	        {"dead at the top", ACCUSE, WIRE_DEAD, X, B, B, UINT32_MAX, GOSSIP_ALIVE, 5, 1,
	         true},
	        {"suspect at the top", ACCUSE, WIRE_SUSPECT, X, B, B, UINT32_MAX, GOSSIP_ALIVE, 5,
	         1, true},
	        {"suspect above the signed", ACCUSE, WIRE_SUSPECT, X, B, B, 6, GOSSIP_ALIVE, 5, 1,
	         true},
	        {"dead at the signed", ACCUSE, WIRE_DEAD, X, B, B, 5, GOSSIP_SUSPECT, 5, 1, false},
	        {"in d's name", ACCUSE, WIRE_SUSPECT, X, D, B, 5, GOSSIP_ALIVE, 5, 1, false},
	        {"us dead at the top", ACCUSE, WIRE_DEAD, A, B, B, UINT32_MAX, GOSSIP_ALIVE, 5, 1,
	         true},
	        {"us dead at 1000", ACCUSE, WIRE_DEAD, A, B, B, 1000, GOSSIP_ALIVE, 5, 1, true},
	        {"us suspect at ours", ACCUSE, WIRE_SUSPECT, A, B, B, 1, GOSSIP_ALIVE, 5, 2, false},
	        {"entry: dead at the top", ENTRY, WIRE_STATE_DEAD, X, B, B, UINT32_MAX,
	         GOSSIP_ALIVE, 5, 1, true},
	        {"entry: left above", ENTRY, WIRE_STATE_LEFT, X, B, B, 6, GOSSIP_ALIVE, 5, 1, true},
	        {"entry: dead at the signed", ENTRY, WIRE_STATE_DEAD, X, B, B, 5, GOSSIP_ALIVE, 5,
	         1, false},
	        {"entry: us alive at the top", ENTRY, WIRE_STATE_ALIVE, A, B, B, UINT32_MAX,
	         GOSSIP_ALIVE, 5, 1, true},
	        {"entry: us suspect at the top", ENTRY, WIRE_STATE_SUSPECT, A, B, B, UINT32_MAX,
	         GOSSIP_ALIVE, 5, 1, true},
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world *w = world_new(true);
		struct wire_msg *m = msg_new();
		enum gossip_state st;
		uint32_t inc;
		bool asked;

		send_alive(w, B, B, 1);
		send_alive(w, B, D, 1);
		send_alive(w, B, X, 5);
		w->nout = 0;
		if (cases[i].how == ACCUSE)
			accuse(w, B, cases[i].type, cases[i].about, cases[i].inc, cases[i].accuser,
			       cases[i].signer);
		else
			send_entry(w, cases[i].about, cases[i].inc, cases[i].type);
		asked = took(w, B, WIRE_DESC_REQ, m);
		state_of(w, X, &st, &inc);
		if (st != cases[i].x || inc != cases[i].x_inc ||
		    gossip_self(w->g)->incarnation != cases[i].self_inc || asked != cases[i].asks) {
			bad++;
			print_error("%s: x %s@%u (want %s@%u), self at %u (want %u), desc-req %d\n",
			            cases[i].what, gossip_state_name(st), inc,
			            gossip_state_name(cases[i].x), cases[i].x_inc,
			            gossip_self(w->g)->incarnation, cases[i].self_inc, asked);
		}
		free(m);
		world_free(w);
	}
	assert_int_equal(bad, 0); /* every case, not just the first, says what it got */
}

/* Lifeguard counts accusers, not names or copies: a liar repeating itself under other
 * names or through anti-entropy is one accuser, and the timeout stays at its maximum;
 * an honest site passing on d's signed accusation is d's confirmation. */
static void
test_lies_confirmations(void **state)
{
	/* 4 members: min 3 s, max 18 s. */
	for (int honest = 0; honest < 2; honest++) {
		struct world *w = world_new(true);
		struct gossip_member_info info;
		gossip_time t0;

		(void)state;
		send_alive(w, B, B, 1);
		send_alive(w, B, D, 1);
		send_alive(w, B, X, 5);
		t0 = w->now;
		send_accuse(w, WIRE_SUSPECT, X, 5, B);
		if (honest) {
			accuse(w, B, WIRE_SUSPECT, X, 5, D, D);
		} else {
			accuse(w, B, WIRE_SUSPECT, X, 5, D, B);
			accuse(w, B, WIRE_DEAD, X, 5, D, B);
			send_entry(w, X, 5, WIRE_STATE_DEAD);
			accuse(w, B, WIRE_DEAD, X, 5, B, B);
		}
		assert_int_equal(
		        gossip_member(w->g, (size_t)gossip_trust_find(w->trust, "x"), &info), 0);
		if (info.state != GOSSIP_SUSPECT ||
		    info.suspect_until - t0 != (honest ? 3 : 18) * GOSSIP_SEC)
			fail_msg("%s: x %s until %lld ms after the accusation",
			         honest ? "relayed confirmation" : "one liar, many names",
			         gossip_state_name(info.state),
			         (long long)((info.suspect_until - t0) / GOSSIP_MSEC));
		world_free(w);
	}
}

/* An entry saying x is dead at its signed incarnation is hearsay (an honest site passes on
 * a liar's word as readily): no suspicion, and x is the next member probed, so this site
 * finds out first-hand. */
static void
test_entry_hearsay_probes(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	enum gossip_state st;
	uint32_t inc;
	bool pinged = false;

	(void)state;
	send_alive(w, B, B, 1);
	send_alive(w, B, D, 1);
	send_alive(w, B, X, 5);
	send_entry(w, X, 5, WIRE_STATE_DEAD);
	state_of(w, X, &st, &inc);
	assert_int_equal(st, GOSSIP_ALIVE);
	for (int i = 0; i < 50 && !pinged; i++) {
		w->nout = 0;
		w->now = gossip_next_deadline(w->g);
		gossip_tick(w->g, w->now);
		pinged = took(w, X, WIRE_PING, m);
		assert_false(took(w, B, WIRE_PING, m) || took(w, D, WIRE_PING, m));
	}
	assert_true(pinged);
	free(m);
	world_free(w);
}

/* Sets up a probe of X by A that X does not answer: returns the probe's seq once A has
 * asked B (the only other live member) to probe X for it. */
static uint32_t
probe_x_via_b(struct world *w, struct wire_msg *m)
{
	uint32_t seq;

	send_alive(w, X, X, 5);
	assert_true(tick_until_sent(w, X, WIRE_PING, m));
	seq = m->seq;
	send_alive(w, B, B, 1);
	assert_true(tick_until_sent(w, B, WIRE_PING_REQ, m));
	assert_int_equal(m->seq, seq);
	return seq;
}

/* Ticks past the end of the probe (half a period after the ping-req), not to the end of
 * the next; X's state then. */
static enum gossip_state
probe_outcome(struct world *w)
{
	enum gossip_state st;
	uint32_t inc;

	/* Local health stretches the probe. */
	for (unsigned i = 0; i < 7 * (gossip_awareness(w->g) + 1); i++) {
		w->now += 100 * GOSSIP_MSEC;
		gossip_tick(w->g, w->now);
	}
	state_of(w, X, &st, &inc);
	return st;
}

/* An ack sealed by `sealer` for A, acking seq. */
static void
sealed_ack(struct world *w, int sealer, uint32_t seq, struct wire_msg *relay)
{
	uint8_t payload[16];
	struct wire_writer wr;
	struct wire_msg ack = {.type = WIRE_ACK, .seq = seq};
	size_t len;

	wire_begin(&wr, payload, sizeof(payload));
	assert_int_equal(wire_put_msg(&wr, &ack), 0);
	assert_int_equal(seal_wrap(w->p[sealer].seal, 0, w->p[A].pub, payload, wr.len, relay->relay,
	                           sizeof(relay->relay), &len),
	                 0);
	relay->relay_len = (uint16_t)len;
}

/* Acks count only from the member probed, relayed acks only when the target sealed them
 * for us, nacks only from the helpers asked: x stays silent, so anything that keeps it
 * from being suspected is a forgery that worked. */
static void
test_lies_acks(void **state)
{
	enum { DIRECT_BY_B, RELAY_BY_B, RELAY_REPLAYED, RELAY_GENUINE, NACK_BY_D };
	static const struct {
		const char *what;
		int lie;
		enum gossip_state x;
		int awareness; /* after the probe; -1: not checked (other probes ran first) */
	} cases[] = {
	        {"b acks the probe of x", DIRECT_BY_B, GOSSIP_SUSPECT, 1},
	        {"b relays an ack it sealed itself", RELAY_BY_B, GOSSIP_SUSPECT, 1},
	        {"b relays x's ack of an earlier probe", RELAY_REPLAYED, GOSSIP_SUSPECT, -1},
	        {"b relays x's genuine ack", RELAY_GENUINE, GOSSIP_ALIVE, 0},
	        {"d, not asked, nacks", NACK_BY_D, GOSSIP_SUSPECT, 1},
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world *w = world_new(true);
		struct wire_msg *m = msg_new(), *old = msg_new();
		uint32_t seq = probe_x_via_b(w, m);
		enum gossip_state st;

		memset(m, 0, sizeof(*m));
		m->seq = seq;
		switch (cases[i].lie) {
		case DIRECT_BY_B:
			m->type = WIRE_ACK;
			send1(w, B, m);
			break;
		case RELAY_BY_B:
			m->type = WIRE_ACK_FOR;
			sealed_ack(w, B, seq, m);
			send1(w, B, m);
			break;
		case RELAY_REPLAYED:
			/* x's genuine ack, used once already. */
			old->type = WIRE_ACK_FOR;
			old->seq = seq;
			sealed_ack(w, X, seq, old);
			send1(w, B, old);
			probe_outcome(w);
			w->nevents = 0;
			seq = probe_x_via_b(w, m);
			old->seq = seq;
			send1(w, B, old);
			break;
		case RELAY_GENUINE:
			m->type = WIRE_ACK_FOR;
			sealed_ack(w, X, seq, m);
			send1(w, B, m);
			break;
		case NACK_BY_D:
			m->type = WIRE_NACK;
			send1(w, D, m);
			break;
		}
		st = probe_outcome(w);
		if (st != cases[i].x || (cases[i].awareness >= 0 &&
		                         gossip_awareness(w->g) != (unsigned)cases[i].awareness)) {
			bad++;
			print_error("%s: x %s (want %s), awareness %u (want %d)\n", cases[i].what,
			            gossip_state_name(st), gossip_state_name(cases[i].x),
			            gossip_awareness(w->g), cases[i].awareness);
		}
		free(old);
		free(m);
		world_free(w);
	}
	assert_int_equal(bad, 0);
}

/* As a helper, A pings x naming b as the prober, and passes on only x's own answer; as a
 * target, it seals its answer for the prober, whom the helper cannot impersonate. */
static void
test_indirect_ack_path(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	uint8_t plain[WIRE_DATAGRAM_MAX];
	char name[WIRE_NAME_MAX + 1];
	struct wire_reader r;
	uint32_t fseq;
	size_t plen;

	(void)state;
	send_alive(w, B, B, 1);
	send_alive(w, B, X, 5);
	send_alive(w, B, D, 1);
	w->nout = 0;
	m->type = WIRE_PING_REQ;
	m->seq = 42;
	strcpy(m->target, "x");
	m->addr = w->p[X].addr;
	m->flags = WIRE_PING_REQ_NACK;
	send1(w, B, m);
	assert_true(took(w, X, WIRE_PING_FOR, m));
	assert_string_equal(m->from, "b");
	assert_int_equal(m->origin_seq, 42);
	fseq = m->seq;
	/* d answers for x: not passed on. */
	w->nout = 0;
	memset(m, 0, sizeof(*m));
	m->type = WIRE_ACK_FOR;
	m->seq = fseq;
	sealed_ack(w, D, 42, m);
	send1(w, D, m);
	assert_false(took(w, B, WIRE_ACK_FOR, m));
	/* x answers: passed on unopened, with b's sequence number. */
	memset(m, 0, sizeof(*m));
	m->type = WIRE_ACK_FOR;
	m->seq = fseq;
	sealed_ack(w, X, 42, m);
	send1(w, X, m);
	assert_true(took(w, B, WIRE_ACK_FOR, m));
	assert_int_equal(m->seq, 42);

	/* As the target of b's ping for d: the answer is sealed for d. */
	w->nout = 0;
	memset(m, 0, sizeof(*m));
	m->type = WIRE_PING_FOR;
	m->seq = 9;
	strcpy(m->target, "a");
	strcpy(m->from, "d");
	m->origin_seq = 77;
	send1(w, B, m);
	assert_true(took(w, B, WIRE_ACK_FOR, m));
	assert_int_equal(m->seq, 9);
	assert_int_equal(seal_sender(m->relay, m->relay_len, name), 0);
	assert_string_equal(name, "a");
	assert_int_not_equal(seal_unwrap(w->p[B].seal, 0, w->p[A].pub, m->relay, m->relay_len,
	                                 plain, sizeof(plain), &plen, &w->opened),
	                     0);
	assert_int_equal(seal_unwrap(w->p[D].seal, 0, w->p[A].pub, m->relay, m->relay_len, plain,
	                             sizeof(plain), &plen, &w->opened),
	                 0);
	assert_int_equal(wire_reader_init(&r, plain, plen), 0);
	assert_int_equal(wire_next(&r, m), 1);
	assert_int_equal(m->type, WIRE_ACK);
	assert_int_equal(m->seq, 77);
	free(m);
	world_free(w);
}

static void
test_profile_check(void **state)
{
	struct gossip_profile p;
	char err[128];

	(void)state;
	gossip_profile_lan(&p);
	assert_int_equal(gossip_profile_check(&p, err, sizeof(err)), 0);
	gossip_profile_wan(&p);
	assert_int_equal(gossip_profile_check(&p, err, sizeof(err)), 0);
	p.probe_timeout_ms = p.probe_interval_ms;
	assert_int_equal(gossip_profile_check(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "probe timeout"));
	gossip_profile_lan(&p);
	p.gossip_fanout = 0;
	assert_int_equal(gossip_profile_check(&p, err, sizeof(err)), -1);
	gossip_profile_lan(&p);
	p.join_backoff_min_ms = p.join_backoff_max_ms + 1;
	assert_int_equal(gossip_profile_check(&p, err, sizeof(err)), -1);
}

static void
test_trust_table(void **state)
{
	struct gossip_trust *t = gossip_trust_new();
	uint8_t key[32] = {1};
	struct addr_prefix p = {{AF_INET, {.bytes = {10, 1}}}, 16};
	uint32_t vni = 5;
	struct gossip_grant grant = {&p, 1, NULL, 0, &vni, 1}, none = {0};
	char name[16];

	(void)state;
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		assert_int_equal(gossip_trust_add(t, name, key, &grant), 0);
	}
	assert_int_equal(gossip_trust_add(t, "s7", key, &none), -1);
	assert_int_equal(gossip_trust_add(t, "Bad", key, &none), -1);
	assert_int_equal(gossip_trust_count(t), 200);
	assert_int_equal(gossip_trust_find(t, "s199"), 199);
	assert_int_equal(gossip_trust_find(t, "s200"), -1);
	gossip_trust_free(t);
}

/* Admission names what it refuses and why. Site "b" has its VTEP pinned to 10.255.0.2,
 * site "c" to the range 10.255.1.0/24, site "d" pins nothing: its overlay must lie in its
 * prefixes. */
static void
test_trust_check(void **state)
{
	static const struct {
		const char *name;
		uint8_t key0;
		struct addr_prefix prefix, overlay;
		uint32_t vni;
		enum gossip_refusal want;
		const char *why;
	} cases[] = {
	        {"b",
	         2,
	         {{AF_INET, {.bytes = {10, 2, 1}}}, 24},
	         {{AF_INET, {.bytes = {10, 255, 0, 2}}}, 32},
	         5,
	         GOSSIP_REFUSAL_NONE,
	         ""},
	        {"c",
	         3,
	         {{AF_INET, {.bytes = {10, 3}}}, 16},
	         {{AF_INET, {.bytes = {10, 255, 1, 77}}}, 32},
	         5,
	         GOSSIP_REFUSAL_NONE,
	         ""},
	        {"d",
	         4,
	         {{AF_INET, {.bytes = {10, 4}}}, 16},
	         {{AF_INET, {.bytes = {10, 4, 0, 1}}}, 32},
	         5,
	         GOSSIP_REFUSAL_NONE,
	         ""},
	        {"b",
	         2,
	         {{AF_INET, {.bytes = {10, 2}}}, 16},
	         {{AF_INET, {.bytes = {8, 8, 8, 8}}}, 32},
	         5,
	         GOSSIP_REFUSAL_OVERLAY,
	         "overlay address 8.8.8.8 is outside the overlay its trust entry grants"},
	        {"b",
	         2,
	         {{AF_INET, {.bytes = {10, 2}}}, 16},
	         {{AF_INET, {.bytes = {10, 255, 1, 3}}}, 32}, /* in c's range */
	         5,
	         GOSSIP_REFUSAL_OVERLAY,
	         "overlay address 10.255.1.3 is outside the overlay its trust entry grants"},
	        {"d",
	         4,
	         {{AF_INET, {.bytes = {10, 4}}}, 16},
	         {{AF_INET, {.bytes = {10, 255, 0, 2}}}, 32}, /* b's VTEP */
	         5,
	         GOSSIP_REFUSAL_OVERLAY,
	         "overlay address 10.255.0.2 is outside the prefixes its trust entry grants (no "
	         "overlay pinned)"},
	        {"b",
	         2,
	         {{AF_INET, {.bytes = {10, 9}}}, 16},
	         {{AF_INET, {.bytes = {10, 255, 0, 2}}}, 32},
	         5,
	         GOSSIP_REFUSAL_PREFIX,
	         "prefix 10.9.0.0/16 is outside the prefixes its trust entry grants"},
	        {"b",
	         2,
	         {{AF_INET, {.bytes = {10, 2}}}, 16},
	         {{AF_INET, {.bytes = {10, 255, 0, 2}}}, 32},
	         6,
	         GOSSIP_REFUSAL_VNI,
	         "VNI 6 is not among the segments its trust entry grants"},
	        {"b",
	         9,
	         {{AF_INET, {.bytes = {10, 2}}}, 16},
	         {{AF_INET, {.bytes = {10, 255, 0, 2}}}, 32},
	         5,
	         GOSSIP_REFUSAL_KEY,
	         "its key is not the one its trust entry names"},
	        {"e",
	         2,
	         {{AF_INET, {.bytes = {10, 2}}}, 16},
	         {{AF_INET, {.bytes = {10, 255, 0, 2}}}, 32},
	         5,
	         GOSSIP_REFUSAL_UNTRUSTED,
	         "site e has no trust entry"},
	};
	struct gossip_trust *t = gossip_trust_new();
	struct addr_prefix pb = {{AF_INET, {.bytes = {10, 2}}}, 16},
	                   ob = {{AF_INET, {.bytes = {10, 255, 0, 2}}}, 32};
	struct addr_prefix pc = {{AF_INET, {.bytes = {10, 3}}}, 16},
	                   oc = {{AF_INET, {.bytes = {10, 255, 1}}}, 24};
	struct addr_prefix pd = {{AF_INET, {.bytes = {10, 4}}}, 16};
	uint32_t vni = 5;
	const struct {
		const char *name;
		struct gossip_grant grant;
	} entries[] = {
	        {"b", {&pb, 1, &ob, 1, &vni, 1}},
	        {"c", {&pc, 1, &oc, 1, &vni, 1}},
	        {"d", {&pd, 1, NULL, 0, &vni, 1}},
	};
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		uint8_t key[32] = {(uint8_t)(2 + i)};

		assert_int_equal(gossip_trust_add(t, entries[i].name, key, &entries[i].grant), 0);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wire_desc d;

		memset(&d, 0, sizeof(d));
		strcpy(d.name, cases[i].name);
		d.wg_key[0] = cases[i].key0;
		d.nprefixes = 1;
		d.prefixes[0] = cases[i].prefix;
		d.noverlay = 1;
		d.overlay[0] = cases[i].overlay;
		d.nvnis = 1;
		d.vnis[0] = cases[i].vni;
		assert_int_equal(gossip_trust_check(t, &d, why, sizeof(why)), cases[i].want);
		assert_string_equal(why, cases[i].why);
		assert_int_equal(gossip_trust_check(t, &d, NULL, 0), cases[i].want);
	}
	gossip_trust_free(t);
}

static size_t
count_events(const struct world *w, enum gossip_event_type type)
{
	size_t n = 0;

	for (size_t i = 0; i < w->nevents; i++)
		n += w->events[i].type == type;
	return n;
}

/* A descriptor signed by x that asks for more than x's trust grants: x stays alive at its
 * incarnation and keeps its granted prefix, the refusal is reported once per content with
 * its reason, the whole signed descriptor is passed on, and neither a refutation nor a
 * restart (leave, then a new incarnation with the same content) loses x or repeats it. */
static void
test_refused_descriptor(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	struct gossip_member_info mi;
	int idx = gossip_trust_find(w->trust, "x");
	const struct gossip_event *ev;

	(void)state;
	send_alive(w, B, X, 2); /* 10.3.0.0/16: granted */
	w->nevents = 0;
	/* x now also advertises 11.0.0.0/16, outside 10.0.0.0/8. */
	w->p[X].desc.nprefixes = 2;
	w->p[X].desc.prefixes[1] = (struct addr_prefix){{AF_INET, {.bytes = {11}}}, 16};
	m->type = WIRE_ALIVE;
	sign_desc(&w->p[X], 3, &m->desc);
	w->nout = 0;
	send1(w, B, m);
	assert_int_equal(count_events(w, GOSSIP_EV_REFUSED), 1);
	ev = &w->events[w->nevents - 1];
	assert_int_equal(ev->type, GOSSIP_EV_REFUSED);
	assert_string_equal(ev->name, "x");
	assert_int_equal(ev->incarnation, 3);
	assert_int_equal(ev->refusal, GOSSIP_REFUSAL_PREFIX);
	assert_string_equal(ev->why,
	                    "prefix 11.0.0.0/16 is outside the prefixes its trust entry grants");
	assert_int_equal(count_events(w, GOSSIP_EV_UPDATE), 0); /* the granted part is as it was */
	assert_int_equal(gossip_member(w->g, (size_t)idx, &mi), 0);
	assert_int_equal(mi.state, GOSSIP_ALIVE);
	assert_int_equal(mi.incarnation, 3);
	assert_int_equal(mi.refusal, GOSSIP_REFUSAL_PREFIX);
	assert_int_equal(mi.desc->nprefixes, 2);
	assert_int_equal(mi.granted->nprefixes, 1);
	assert_int_equal(wire_cdesc_prefixes(mi.granted)[0].addr.u.bytes[1], 3);
	/* Passed on whole: sites whose trust grants it need the signed original. */
	assert_true(gossip_pending_broadcasts(w->g) > 0);

	/* The same version again, then a refutation of the same content: no news. */
	send1(w, B, m);
	sign_desc(&w->p[X], 4, &m->desc);
	send1(w, B, m);
	assert_int_equal(count_events(w, GOSSIP_EV_REFUSED), 1);

	/* x restarts: a leave, then its next incarnation with the same content. */
	send_left(w, X, 5);
	assert_int_equal(gossip_member(w->g, (size_t)idx, &mi), 0);
	assert_int_equal(mi.state, GOSSIP_LEFT);
	sign_desc(&w->p[X], 6, &m->desc);
	send1(w, B, m);
	assert_int_equal(gossip_member(w->g, (size_t)idx, &mi), 0);
	assert_int_equal(mi.state, GOSSIP_ALIVE);
	assert_int_equal(mi.incarnation, 6);
	assert_int_equal(mi.granted->nprefixes, 1);
	assert_int_equal(wire_cdesc_prefixes(mi.granted)[0].addr.u.bytes[1], 3);
	assert_int_equal(count_events(w, GOSSIP_EV_REFUSED), 1);

	/* A new content that is refused too is news again; one granted whole clears it. */
	w->p[X].desc.prefixes[1].addr.u.bytes[0] = 12;
	sign_desc(&w->p[X], 7, &m->desc);
	send1(w, B, m);
	assert_int_equal(count_events(w, GOSSIP_EV_REFUSED), 2);
	w->p[X].desc.nprefixes = 1;
	sign_desc(&w->p[X], 8, &m->desc);
	send1(w, B, m);
	assert_int_equal(gossip_member(w->g, (size_t)idx, &mi), 0);
	assert_int_equal(mi.refusal, GOSSIP_REFUSAL_NONE);
	assert_string_equal(mi.why, "");
	assert_ptr_equal(mi.granted, mi.desc);
	free(m);
	world_free(w);
}

/* ---- freshness: restarts of either side ---- */

/* How many messages of type A sent to puppet who (from out[first] on) carry, in datagrams
 * addressed to at (NULL: anywhere); seq, when not 0, must match too. */
static size_t
count_to_at(struct world *w, int who, size_t first, uint8_t type, uint32_t seq,
            const struct addr_endpoint *at)
{
	uint8_t plain[WIRE_DATAGRAM_MAX];
	struct wire_msg *m = msg_new();
	struct wire_reader r;
	size_t n = 0, plen;

	for (size_t i = first; i < w->nout; i++) {
		if ((at != NULL && !addr_endpoint_equal(&w->out[i].to, at)) ||
		    seal_unwrap(w->p[who].seal, 0, w->p[A].pub, w->out[i].buf, w->out[i].len, plain,
		                sizeof(plain), &plen, &w->opened) != 0 ||
		    wire_reader_init(&r, plain, plen) != 0)
			continue;
		while (wire_next(&r, m) == 1)
			n += m->type == type && (seq == 0 || m->seq == seq);
	}
	free(m);
	return n;
}

static size_t
count_to(struct world *w, int who, size_t first, uint8_t type, uint32_t seq)
{
	return count_to_at(w, who, first, type, seq, NULL);
}

/* Puppet who answers the challenges A sent it from out[first] on; a live site sends what it
 * sent lately again with its response (resend, or NULL for nothing). */
static size_t
answer_challenges(struct world *w, int who, size_t first, const struct wire_msg *resend)
{
	uint8_t plain[WIRE_DATAGRAM_MAX], payload[WIRE_DATAGRAM_MAX];
	struct wire_msg *m = msg_new();
	struct wire_reader r;
	struct wire_writer wr;
	size_t n = 0, plen, last = w->nout;

	for (size_t i = first; i < last; i++) {
		if (seal_unwrap(w->p[who].seal, 0, w->p[A].pub, w->out[i].buf, w->out[i].len, plain,
		                sizeof(plain), &plen, &w->opened) != 0 ||
		    wire_reader_init(&r, plain, plen) != 0)
			continue;
		while (wire_next(&r, m) == 1) {
			if (m->type != WIRE_CHALLENGE)
				continue;
			uint8_t response[1 + WIRE_NONCE_LEN] = {WIRE_RESPONSE};

			memcpy(response + 1, m->nonce, WIRE_NONCE_LEN);
			wire_begin(&wr, payload, sizeof(payload));
			assert_int_equal(wire_put_raw(&wr, response, sizeof(response)), 0);
			if (resend != NULL)
				assert_int_equal(wire_put_msg(&wr, resend), 0);
			deliver_payload(w, who, payload, wr.len);
			n++;
		}
	}
	free(m);
	return n;
}

/* B's pings with seqs 1..n, sealed, delivered to A and kept as an attacker on the path
 * keeps them. */
static size_t
record_pings(struct world *w, struct sent *rec, size_t n)
{
	uint8_t payload[64];
	struct wire_msg *m = msg_new();
	struct wire_writer wr;

	m->type = WIRE_PING;
	for (size_t i = 0; i < n; i++) {
		m->seq = (uint32_t)(i + 1);
		wire_begin(&wr, payload, sizeof(payload));
		assert_int_equal(wire_put_msg(&wr, m), 0);
		assert_int_equal(seal_wrap(w->p[B].seal, 0, w->p[A].pub, payload, wr.len,
		                           rec[i].buf, sizeof(rec[i].buf), &rec[i].len),
		                 0);
		gossip_receive(w->g, w->now, &w->p[B].addr, rec[i].buf, rec[i].len);
	}
	free(m);
	return n;
}

/* A restarted receiver has no window for anyone: a recording of B from before the restart
 * is authentic, but it acts on none of it (0 of 22 pings answered, no event); it only asks B
 * to prove its session. When B, still in the recorded session, answers, nothing recorded is
 * taken, not even the last to arrive: only what B seals after the challenge is. A
 * recording of a session B no longer has is never taken: nobody can answer for it. */
static void
test_restarted_receiver_refuses_recordings(void **state)
{
	static struct sent rec[22];
	struct world *w = world_new(true);
	const size_t n = sizeof(rec) / sizeof(rec[0]);
	struct wire_msg *m = msg_new();
	uint64_t session = 0;
	size_t first;

	(void)state;
	send_alive(w, B, B, 3);
	record_pings(w, rec, n);
	assert_int_equal(count_to(w, B, 0, WIRE_ACK, 0), n); /* all answered the first time */

	start_a(w, 2, true);
	w->nevents = 0;
	for (size_t i = 0; i < n; i++)
		gossip_receive(w->g, w->now, &w->p[B].addr, rec[i].buf, rec[i].len);
	assert_int_equal(count_to(w, B, 0, WIRE_ACK, 0), 0);
	assert_int_equal(w->nevents, 0);
	assert_int_equal(gossip_counters(w->g)->drop_stale, n);
	first = w->nout;
	assert_int_equal(answer_challenges(w, B, 0, NULL), 1);
	assert_int_equal(count_to(w, B, first, WIRE_ACK, 0), 0);
	first = w->nout;
	for (size_t i = 0; i < n; i++)
		gossip_receive(w->g, w->now, &w->p[B].addr, rec[i].buf, rec[i].len);
	assert_int_equal(count_to(w, B, first, WIRE_ACK, 0), 0);
	assert_int_equal(gossip_counters(w->g)->drop_replayed, n);

	/* Both restart: B's old session cannot answer, so its recordings stay refused, while
	 * the new B is taken after one exchange. */
	start_a(w, 3, true);
	while (session == 0)
		randombytes_buf(&session, sizeof(session));
	seal_free(w->p[B].seal);
	w->p[B].seal = seal_new("b", w->p[B].priv, session);
	assert_non_null(w->p[B].seal);
	for (size_t i = 0; i < n; i++)
		gossip_receive(w->g, w->now, &w->p[B].addr, rec[i].buf, rec[i].len);
	m->type = WIRE_PING;
	m->seq = 1000;
	send1(w, B, m);
	for (size_t i = 0; i < n; i++)
		gossip_receive(w->g, w->now, &w->p[B].addr, rec[i].buf, rec[i].len);
	assert_int_equal(answer_challenges(w, B, 0, NULL), 1);
	assert_int_equal(count_to(w, B, 0, WIRE_ACK, 0), 0);
	send1(w, B, m);
	assert_int_equal(count_to(w, B, 0, WIRE_ACK, 1000), 1);
	assert_int_equal(count_to(w, B, 0, WIRE_ACK, 0), 1);
	free(m);
	world_free(w);
}

/* A remembered descriptor (state file, reload) is judged as a received one: refused in
 * part, still alive. */
static void
test_add_member_refused(void **state)
{
	struct world *w = world_new(true);
	struct gossip_member_info mi;
	struct gossip_desc *gd;
	struct wire_desc d;

	(void)state;
	w->p[X].desc.noverlay = 1;
	w->p[X].desc.overlay[0] = (struct addr_prefix){{AF_INET, {.bytes = {8, 8, 8, 8}}}, 32};
	sign_desc(&w->p[X], 4, &d);
	gd = gossip_desc_new(&d);
	assert_int_equal(gossip_desc_verify(gd), 0);
	assert_int_equal(gossip_add_member(w->g, w->now, gd), 0);
	gossip_desc_unref(gd);
	assert_int_equal(gossip_member(w->g, (size_t)gossip_trust_find(w->trust, "x"), &mi), 0);
	assert_int_equal(mi.state, GOSSIP_ALIVE);
	assert_int_equal(mi.refusal, GOSSIP_REFUSAL_OVERLAY);
	assert_int_equal(mi.granted->noverlay, 0);
	assert_int_equal(mi.granted->nprefixes, 1);
	assert_int_equal(count_events(w, GOSSIP_EV_REFUSED), 1);
	world_free(w);
}

/* B starts again from nothing (its state file deleted): it counts from 1 again, in a new
 * session. A, which still holds B's old session, takes B's first ping after one exchange
 * (B sends it again with its response, as gossip does) instead of dropping it as a replay
 * until A itself restarts. */
static void
test_sender_without_state_is_taken_at_once(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	uint64_t session = 0;
	size_t answered;

	(void)state;
	send_alive(w, B, B, 3);
	m->type = WIRE_PING;
	m->seq = 1;
	for (int i = 0; i < 5; i++)
		send1(w, B, m);
	w->nout = 0;
	/* As a start draws it. */
	while (session == 0)
		randombytes_buf(&session, sizeof(session));
	seal_free(w->p[B].seal);
	w->p[B].seal = seal_new("b", w->p[B].priv, session);
	assert_non_null(w->p[B].seal);
	m->seq = 77;
	send1(w, B, m);
	assert_int_equal(count_to(w, B, 0, WIRE_ACK, 77), 0);
	answered = answer_challenges(w, B, 0, m);
	assert_int_equal(count_to(w, B, 0, WIRE_ACK, 77), 1);
	assert_int_equal(answered, 1);
	assert_int_equal(gossip_counters(w->g)->drop_replayed, 0);
	free(m);
	world_free(w);
}

/* B restarted: whatever A sent it lately was refused there, sealed before B could challenge.
 * A's answer to B's challenge carries it again, sealed anew: once, only what went to where
 * the challenge came from (a challenge from elsewhere gets its response there and nothing
 * more), and only what went in the last 3 s. */
static void
test_challenge_gets_recent_sends_again(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	struct addr_endpoint elsewhere;
	uint8_t nonce[WIRE_NONCE_LEN],
	        payload[1 + 1 + WIRE_NONCE_LEN] = {WIRE_VERSION, WIRE_CHALLENGE};
	uint64_t session = 0;
	size_t first;

	(void)state;
	m->type = WIRE_PING;
	m->seq = 5;
	send1(w, B, m);
	assert_int_equal(count_to(w, B, 0, WIRE_ACK, 5), 1);
	while (session == 0)
		randombytes_buf(&session, sizeof(session));
	seal_free(w->p[B].seal);
	w->p[B].seal = seal_new("b", w->p[B].priv, session);
	assert_non_null(w->p[B].seal);
	assert_int_equal(seal_challenge(w->p[B].seal, 0, w->p[A].pub, nonce), 0);
	memcpy(payload + 2, nonce, WIRE_NONCE_LEN);
	elsewhere = w->p[B].addr;
	elsewhere.port++;

	first = w->nout;
	w->now += 2 * GOSSIP_SEC;
	{
		uint8_t dgram[WIRE_DATAGRAM_MAX];
		size_t len;

		assert_int_equal(seal_wrap(w->p[B].seal, 0, w->p[A].pub, payload, sizeof(payload),
		                           dgram, sizeof(dgram), &len),
		                 0);
		gossip_receive(w->g, w->now, &elsewhere, dgram, len);
		/* To elsewhere: the response alone, then A's own challenge alone, since both
		 * would not fit in a datagram no larger than the one that asked. */
		assert_int_equal(w->nout, first + 2);
		for (size_t i = first; i < w->nout; i++) {
			assert_true(addr_endpoint_equal(&w->out[i].to, &elsewhere));
			assert_true(w->out[i].len <= len);
		}
	}
	assert_int_equal(count_to_at(w, B, first, WIRE_ACK, 5, &w->p[B].addr), 0);
	assert_int_equal(count_to(w, B, first, WIRE_RESPONSE, 0), 1);
	assert_int_equal(count_to(w, B, first, WIRE_CHALLENGE, 0), 1);
	assert_int_equal(count_to(w, B, first, WIRE_ACK, 0), 0);

	first = w->nout;
	deliver_payload(w, B, payload, sizeof(payload));
	assert_int_equal(count_to_at(w, B, first, WIRE_ACK, 5, &w->p[B].addr), 1);
	assert_int_equal(count_to(w, B, first, WIRE_RESPONSE, 0), 1);

	/* Asked again: answered, but nothing goes a third time. */
	first = w->nout;
	deliver_payload(w, B, payload, sizeof(payload));
	assert_int_equal(count_to_at(w, B, first, WIRE_ACK, 5, &w->p[B].addr), 0);
	assert_int_equal(count_to(w, B, first, WIRE_RESPONSE, 0), 1);
	assert_int_equal(count_to(w, B, first, WIRE_ACK, 0), 0);

	/* What went more than 3 s ago does not go again. */
	m->seq = 6;
	send1(w, B, m);
	w->now += 3 * GOSSIP_SEC + GOSSIP_MSEC;
	first = w->nout;
	deliver_payload(w, B, payload, sizeof(payload));
	assert_int_equal(count_to(w, B, first, WIRE_ACK, 0), 0);
	free(m);
	world_free(w);
}

/* What A sends again on a challenge is bounded: at most its last 32 datagrams, whoever they
 * went to. After 40 acks to B within the 3 s, B's challenge gets the last 32 again, the 8
 * before them never; after 40 to B then 8 to X, the last 24 of B's. */
static void
test_challenge_resends_at_most_32(void **state)
{
	enum { SENT = 40, RING = 32, TO_X = 8 };
	uint8_t nonce[WIRE_NONCE_LEN],
	        payload[1 + 1 + WIRE_NONCE_LEN] = {WIRE_VERSION, WIRE_CHALLENGE};
	struct wire_msg *m = msg_new();
	uint64_t session = 0;

	(void)state;
	while (session == 0)
		randombytes_buf(&session, sizeof(session));
	for (size_t to_x = 0; to_x <= TO_X; to_x += TO_X) {
		struct world *w = world_new(true);
		size_t first;

		m->type = WIRE_PING;
		for (uint32_t i = 1; i <= SENT; i++) {
			m->seq = i;
			send1(w, B, m);
			assert_int_equal(count_to(w, B, w->nout - 1, WIRE_ACK, i), 1);
		}
		for (uint32_t i = 1; i <= to_x; i++) {
			m->seq = 1000 + i;
			send1(w, X, m);
		}
		/* B restarts and challenges A from where A sent it all. */
		seal_free(w->p[B].seal);
		w->p[B].seal = seal_new("b", w->p[B].priv, session);
		assert_non_null(w->p[B].seal);
		assert_int_equal(seal_challenge(w->p[B].seal, 0, w->p[A].pub, nonce), 0);
		memcpy(payload + 2, nonce, WIRE_NONCE_LEN);
		first = w->nout;
		deliver_payload(w, B, payload, sizeof(payload));
		assert_int_equal(count_to(w, B, first, WIRE_RESPONSE, 0), 1);
		assert_int_equal(count_to(w, B, first, WIRE_ACK, 0), RING - to_x);
		for (uint32_t i = 1; i <= SENT; i++)
			assert_int_equal(count_to(w, B, first, WIRE_ACK, i),
			                 i > SENT - (RING - to_x) ? 1 : 0);
		world_free(w);
	}
	free(m);
}

/* Replays cost A at most one small challenge to the sender per 100 ms, however many come. */
static void
test_challenge_rate_limit(void **state)
{
	static struct sent rec[40];
	struct world *w = world_new(true);
	const size_t n = sizeof(rec) / sizeof(rec[0]);
	const struct gossip_counters *c;

	(void)state;
	send_alive(w, B, B, 3);
	record_pings(w, rec, n);
	start_a(w, 2, true);
	c = gossip_counters(w->g);
	for (size_t i = 0; i < n / 2; i++)
		gossip_receive(w->g, w->now, &w->p[B].addr, rec[i].buf, rec[i].len);
	assert_int_equal(c->challenges, 1);
	assert_int_equal(w->nout, 1);
	assert_true(w->out[0].len <= 1 + 1 + 1 + 16 + 1 + 1 + WIRE_NONCE_LEN + SEAL_TAG_LEN);
	w->now += 99 * GOSSIP_MSEC;
	gossip_receive(w->g, w->now, &w->p[B].addr, rec[n / 2].buf, rec[n / 2].len);
	assert_int_equal(c->challenges, 1);
	w->now += 1 * GOSSIP_MSEC;
	for (size_t i = n / 2 + 1; i < n; i++)
		gossip_receive(w->g, w->now, &w->p[B].addr, rec[i].buf, rec[i].len);
	assert_int_equal(c->challenges, 2);
	assert_int_equal(w->nout, 2);
	world_free(w);
}

static struct addr_endpoint
endpoint4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct addr_endpoint ep = {.addr = {.family = AF_INET, .u.bytes = {a, b, c, d}},
	                           .port = port};

	return ep;
}

/* A PING from B, wait after the last. */
static void
ping_b_after(struct world *w, struct wire_msg *m, gossip_time wait)
{
	w->now += wait;
	w->nout = 0;
	m->type = WIRE_PING;
	send1(w, B, m);
}

/* A member behind NAT: its datagrams come from where its descriptor does not say. A answers
 * there, sends there from then on, and tells it where it is seen; once WireGuard sees its
 * handshakes elsewhere too, A tells that; once its descriptor says both, A says nothing. */
static void
test_observed_endpoints_told(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	struct addr_endpoint mapped = endpoint4(203, 0, 113, 9, 40001);
	struct addr_endpoint wg = endpoint4(203, 0, 113, 9, 51820);
	struct gossip_member_info mi;

	(void)state;
	send_alive(w, B, B, 1);
	w->p[B].addr = mapped;
	w->nout = 0;
	m->type = WIRE_PING;
	m->seq = 7;
	send1(w, B, m);
	assert_true(took(w, B, WIRE_ACK, m));
	assert_true(took(w, B, WIRE_OBSERVED, m));
	assert_true(addr_endpoint_equal(&m->addr, &mapped));
	assert_false(m->flags & WIRE_OBSERVED_WG);
	assert_int_equal(gossip_member(w->g, B, &mi), 0);
	assert_true(mi.seen != NULL && addr_endpoint_equal(mi.seen, &mapped));

	w->now += 300 * GOSSIP_MSEC;
	w->nout = 0;
	gossip_member_wg_seen(w->g, w->now, "b", &wg);
	assert_true(took(w, B, WIRE_OBSERVED, m));
	assert_true(m->flags & WIRE_OBSERVED_WG);
	assert_true(addr_endpoint_equal(&m->wg, &wg));

	/* Seen where it was told: not told again before the retelling is due; seen elsewhere:
	 * told at once. */
	ping_b_after(w, m, 300 * GOSSIP_MSEC);
	assert_true(took(w, B, WIRE_ACK, m));
	assert_false(took(w, B, WIRE_OBSERVED, m));
	w->p[B].addr = endpoint4(203, 0, 113, 9, 40002);
	ping_b_after(w, m, 0);
	assert_true(took(w, B, WIRE_OBSERVED, m));
	assert_true(addr_endpoint_equal(&m->addr, &w->p[B].addr));
	assert_true(m->flags & WIRE_OBSERVED_WG);
	w->p[B].addr = mapped;
	ping_b_after(w, m, 300 * GOSSIP_MSEC);
	assert_true(took(w, B, WIRE_OBSERVED, m));
	assert_true(addr_endpoint_equal(&m->addr, &mapped));

	/* Its new descriptor says both: nothing more to tell. */
	w->p[B].desc.gossip = mapped;
	w->p[B].desc.endpoints[0] = wg;
	w->p[B].desc.nendpoints = 1;
	send_alive(w, B, B, 2);
	ping_b_after(w, m, 60 * GOSSIP_SEC);
	assert_true(took(w, B, WIRE_ACK, m));
	assert_false(took(w, B, WIRE_OBSERVED, m));
	free(m);
	world_free(w);
}

static void
tell_observed(struct world *w, int from, struct addr_endpoint g, struct addr_endpoint wg)
{
	struct wire_msg *m = msg_new();

	m->type = WIRE_OBSERVED;
	m->flags = WIRE_OBSERVED_WG;
	m->addr = g;
	m->wg = wg;
	send1(w, from, m);
	free(m);
	w->now += 3 * GOSSIP_SEC;
	gossip_tick(w->g, w->now);
}

/* What others see of A goes into A's descriptor: behind NAT, its public gossip endpoint and
 * its public WireGuard endpoint first. Two observers that agree outweigh one that lies. */
static void
test_observed_endpoints_published(void **state)
{
	struct world *w = world_new(true);
	struct addr_endpoint g1 = endpoint4(203, 0, 113, 1, 7946),
	                     w1 = endpoint4(203, 0, 113, 1, 51820);
	struct addr_endpoint g2 = endpoint4(198, 18, 0, 1, 9), w2 = endpoint4(198, 18, 0, 1, 10);
	const struct wire_desc *d;
	uint32_t inc;

	(void)state;
	send_alive(w, B, B, 1);
	send_alive(w, X, X, 1);
	send_alive(w, D, D, 1);
	inc = gossip_self(w->g)->incarnation;
	assert_false(gossip_self(w->g)->flags & WIRE_DESC_NAT);

	/* One observer, the only one: taken. */
	tell_observed(w, B, g1, w1);
	d = gossip_self(w->g);
	assert_true(d->incarnation > inc);
	assert_true(d->flags & WIRE_DESC_NAT);
	assert_true(addr_endpoint_equal(&d->gossip, &g1));
	assert_true(addr_endpoint_equal(&d->endpoints[0], &w1));
	assert_true(addr_endpoint_equal(&d->endpoints[1], &w->p[A].desc.endpoints[0]) ||
	            w->p[A].desc.nendpoints == 0);

	/* A second agrees, a third lies: what two say stays. */
	tell_observed(w, D, g1, w1);
	inc = gossip_self(w->g)->incarnation;
	tell_observed(w, X, g2, w2);
	d = gossip_self(w->g);
	assert_int_equal(d->incarnation, inc);
	assert_true(addr_endpoint_equal(&d->gossip, &g1));
	assert_true(addr_endpoint_equal(&d->endpoints[0], &w1));

	/* The config's own descriptor, reloaded, keeps what others see. */
	assert_int_equal(gossip_update(w->g, w->now, &w->p[A].desc), 0);
	d = gossip_self(w->g);
	assert_true(addr_endpoint_equal(&d->endpoints[0], &w1));
	world_free(w);
}

/* Two observers that disagree (a symmetric NAT shows each another port, or one lies): A
 * publishes neither's endpoint, though it took the first while it was the only one; its
 * descriptor goes back to the config's endpoints (still flagged behind NAT), and a third
 * observer agreeing with either brings that one. */
static void
test_observers_disagree(void **state)
{
	struct world *w = world_new(true);
	struct addr_endpoint g1 = endpoint4(203, 0, 113, 1, 7946),
	                     w1 = endpoint4(203, 0, 113, 1, 51820);
	struct addr_endpoint g2 = endpoint4(198, 18, 0, 1, 9), w2 = endpoint4(198, 18, 0, 1, 10);
	const struct wire_desc *d;

	(void)state;
	send_alive(w, B, B, 1);
	send_alive(w, X, X, 1);
	send_alive(w, D, D, 1);
	tell_observed(w, B, g1, w1);
	assert_true(addr_endpoint_equal(&gossip_self(w->g)->gossip, &g1));

	tell_observed(w, X, g2, w2);
	d = gossip_self(w->g);
	assert_true(d->flags & WIRE_DESC_NAT);
	assert_true(addr_endpoint_equal(&d->gossip, &w->p[A].desc.gossip));
	assert_int_equal(d->nendpoints, w->p[A].desc.nendpoints);
	for (size_t i = 0; i < d->nendpoints; i++)
		assert_true(addr_endpoint_equal(&d->endpoints[i], &w->p[A].desc.endpoints[i]));

	tell_observed(w, D, g2, w2);
	d = gossip_self(w->g);
	assert_true(addr_endpoint_equal(&d->gossip, &g2));
	assert_true(addr_endpoint_equal(&d->endpoints[0], &w2));
	world_free(w);
}

/* Where gossip sends to B moves with B's authenticated datagrams alone: B's ping from a new
 * address moves it there, and that same datagram replayed from yet another address (by
 * someone who recorded it) is dropped before it counts, so A goes on sending where B is. */
static void
test_replay_moves_no_address(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	struct addr_endpoint mapped = endpoint4(203, 0, 113, 9, 40001),
	                     thief = endpoint4(198, 51, 100, 66, 666);
	uint8_t payload[SEAL_PAYLOAD_MAX], dgram[WIRE_DATAGRAM_MAX];
	struct gossip_member_info mi;
	struct wire_writer wr;
	size_t len;

	(void)state;
	send_alive(w, B, B, 1);
	m->type = WIRE_PING;
	m->seq = 7;
	wire_begin(&wr, payload, sizeof(payload));
	assert_int_equal(wire_put_msg(&wr, m), 0);
	assert_int_equal(seal_wrap(w->p[B].seal, 0, w->p[A].pub, payload, wr.len, dgram,
	                           sizeof(dgram), &len),
	                 0);
	gossip_receive(w->g, w->now, &mapped, dgram, len);
	assert_int_equal(gossip_member(w->g, B, &mi), 0);
	assert_true(mi.seen != NULL && addr_endpoint_equal(mi.seen, &mapped));

	w->now += GOSSIP_SEC;
	w->nout = 0;
	gossip_receive(w->g, w->now, &thief, dgram, len);
	assert_int_equal(gossip_counters(w->g)->drop_replayed, 1);
	assert_int_equal(gossip_member(w->g, B, &mi), 0);
	assert_true(addr_endpoint_equal(mi.seen, &mapped));
	for (size_t i = 0; i < w->nout; i++)
		assert_false(addr_endpoint_equal(&w->out[i].to, &thief));
	free(m);
	world_free(w);
}

/* A lone observer that changes its story every 300 ms (lies, or a NAT that remaps) moves A's
 * endpoints, since it is the only one, but makes a new version of A's descriptor at most
 * every 2 s: it cannot make A's descriptor churn through the federation. */
static void
test_observed_publish_paced(void **state)
{
	struct world *w = world_new(true);
	struct wire_msg *m = msg_new();
	uint32_t inc;

	(void)state;
	send_alive(w, B, B, 1);
	inc = gossip_self(w->g)->incarnation;
	for (int i = 0; i < 100; i++) {
		m->type = WIRE_OBSERVED;
		m->flags = WIRE_OBSERVED_WG;
		m->addr = endpoint4(203, 0, 113, 1, (uint16_t)(7000 + i % 2));
		m->wg = endpoint4(203, 0, 113, 1, (uint16_t)(51000 + i % 2));
		send1(w, B, m);
		w->now += 300 * GOSSIP_MSEC;
		gossip_tick(w->g, w->now);
	}
	/* 30 s: a first version at once, then one every 2 s at most. */
	print_message("%u versions in 30 s\n", gossip_self(w->g)->incarnation - inc);
	assert_true(gossip_self(w->g)->incarnation - inc <= 1 + 30 / 2);
	assert_true(gossip_self(w->g)->incarnation - inc >= 2);
	free(m);
	world_free(w);
}

/* An observation counts for 120 s: B's, told once and not again, no longer weighs against
 * X's told 121 s later, which A takes as the only one; told 119 s later, the two disagree and
 * A publishes neither. */
static void
test_observation_expires(void **state)
{
	struct addr_endpoint g1 = endpoint4(203, 0, 113, 1, 7946),
	                     w1 = endpoint4(203, 0, 113, 1, 51820);
	struct addr_endpoint g2 = endpoint4(198, 18, 0, 1, 9), w2 = endpoint4(198, 18, 0, 1, 10);

	(void)state;
	for (int late = 0; late < 2; late++) {
		struct world *w = world_new(true);
		struct wire_msg *m = msg_new();

		send_alive(w, B, B, 1);
		send_alive(w, X, X, 1);
		tell_observed(w, B, g1, w1);
		assert_true(addr_endpoint_equal(&gossip_self(w->g)->gossip, &g1));
		/* No tick meanwhile: B stays what it was, alive. tell_observed went 3 s on. */
		w->now += (late ? 118 : 116) * GOSSIP_SEC;
		m->type = WIRE_OBSERVED;
		m->flags = WIRE_OBSERVED_WG;
		m->addr = g2;
		m->wg = w2;
		send1(w, X, m);
		if (late) {
			assert_true(addr_endpoint_equal(&gossip_self(w->g)->gossip, &g2));
			assert_true(addr_endpoint_equal(&gossip_self(w->g)->endpoints[0], &w2));
		} else {
			assert_true(addr_endpoint_equal(&gossip_self(w->g)->gossip,
			                                &w->p[A].desc.gossip));
		}
		free(m);
		world_free(w);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_transitions),
	        cmocka_unit_test(test_join_and_update_events),
	        cmocka_unit_test(test_alive_queue_footprint),
	        cmocka_unit_test(test_refute),
	        cmocka_unit_test(test_incarnation_saturates),
	        cmocka_unit_test(test_probe_failure),
	        cmocka_unit_test(test_indirect_checks_configured),
	        cmocka_unit_test(test_awareness_max_configured),
	        cmocka_unit_test(test_gossip_fanout_configured),
	        cmocka_unit_test(test_sync_interval_configured),
	        cmocka_unit_test(test_probe_interval_configured),
	        cmocka_unit_test(test_probe_timeout_configured),
	        cmocka_unit_test(test_suspicion_mults_configured),
	        cmocka_unit_test(test_retransmit_mult_configured),
	        cmocka_unit_test(test_reconnect_interval_configured),
	        cmocka_unit_test(test_wan_profile),
	        cmocka_unit_test(test_backlog_holds_accusation),
	        cmocka_unit_test(test_suspicion_timeouts),
	        cmocka_unit_test(test_refutation_pulled),
	        cmocka_unit_test(test_reconnect_finds_the_dead),
	        cmocka_unit_test(test_dead_site_gets_its_own_descriptor),
	        cmocka_unit_test(test_refusals),
	        cmocka_unit_test(test_ping_ack),
	        cmocka_unit_test(test_anti_entropy),
	        cmocka_unit_test(test_seed_backoff),
	        cmocka_unit_test(test_seed_backoff_configured),
	        cmocka_unit_test(test_seed_answering_not_joined_again),
	        cmocka_unit_test(test_seed_answer_not_joined_again),
	        cmocka_unit_test(test_leave),
	        cmocka_unit_test(test_adopted_view_syncs_soon),
	        cmocka_unit_test(test_lies_accusations),
	        cmocka_unit_test(test_lies_confirmations),
	        cmocka_unit_test(test_entry_hearsay_probes),
	        cmocka_unit_test(test_lies_acks),
	        cmocka_unit_test(test_indirect_ack_path),
	        cmocka_unit_test(test_profile_check),
	        cmocka_unit_test(test_trust_table),
	        cmocka_unit_test(test_trust_check),
	        cmocka_unit_test(test_refused_descriptor),
	        cmocka_unit_test(test_add_member_refused),
	        cmocka_unit_test(test_restarted_receiver_refuses_recordings),
	        cmocka_unit_test(test_sender_without_state_is_taken_at_once),
	        cmocka_unit_test(test_left_site_gets_its_own_leave),
	        cmocka_unit_test(test_own_leave_only_when_signed),
	        cmocka_unit_test(test_challenge_gets_recent_sends_again),
	        cmocka_unit_test(test_challenge_resends_at_most_32),
	        cmocka_unit_test(test_challenge_rate_limit),
	        cmocka_unit_test(test_observed_endpoints_told),
	        cmocka_unit_test(test_observed_endpoints_published),
	        cmocka_unit_test(test_observers_disagree),
	        cmocka_unit_test(test_observed_publish_paced),
	        cmocka_unit_test(test_observation_expires),
	        cmocka_unit_test(test_replay_moves_no_address),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
