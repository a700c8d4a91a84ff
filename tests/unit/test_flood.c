/* What an outsider can do to joins and partition heals: flood a seed with hellos that name
 * trusted sites, from spoofed sources or from one address of its own, and replay or forge
 * cookies. A genuine joiner must still get in within a second, trusted senders must still
 * get their join answers and tell-the-dead, and an unproven source must get nothing sealed
 * and nothing longer than what it sent. All in virtual time, on the real gossip core. */
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

#define FLOOD_RATE  10000 /* hellos per second */
#define LATENCY     (1 * GOSSIP_MSEC)
#define NFLOODNAMES 16

enum { SEED, JOINER, NREAL };

struct net;

struct site {
	struct net *net;
	const char *name;
	uint8_t priv[32], pub[32];
	struct wire_desc desc;
	struct addr_endpoint addr;
	struct gossip *g;
};

struct flight {
	gossip_time at;
	int to; /* SEED or JOINER */
	struct addr_endpoint from;
	size_t len;
	uint8_t buf[WIRE_DATAGRAM_MAX];
};

/* A trusted site other than the two real ones, speaking through its own seal. */
struct puppet {
	char name[16];
	uint8_t priv[32];
	struct seal *seal;
	struct addr_endpoint addr;
	size_t dead_about_self; /* tell-the-dead it got */
	size_t digests;         /* join answers it got */
	bool challenged;        /* the seed asked it to prove its session: it answers next */
	uint8_t nonce[WIRE_NONCE_LEN];
};

struct net {
	struct site s[NREAL];
	struct gossip_trust *trust;
	char names[NFLOODNAMES][16];
	struct puppet puppets[3];
	struct flight q[4096];
	size_t nq;
	gossip_time now;
	uint64_t rng;
	struct addr_endpoint attacker;
	/* What reached sources that never sent anything: the spoofed ones. */
	size_t to_spoofed, sealed_to_spoofed, longer_than_hello, longest_to_spoofed;
	size_t cookies_to_attacker, sealed_to_attacker;
	/* The last datagram to an address nobody here owns. */
	struct addr_endpoint last_to;
	uint8_t last[WIRE_DATAGRAM_MAX];
	size_t last_len;
};

static uint64_t
rnd(struct net *n)
{
	n->rng = n->rng * 6364136223846793005ull + 1442695040888963407ull;
	return n->rng >> 17;
}

static void
endpoint(struct addr_endpoint *e, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->addr.family = AF_INET;
	e->addr.u.bytes[0] = a;
	e->addr.u.bytes[1] = b;
	e->addr.u.bytes[2] = c;
	e->addr.u.bytes[3] = d;
	e->port = port;
}

static void
enqueue(struct net *n, int to, const struct addr_endpoint *from, const uint8_t *buf, size_t len)
{
	struct flight *f;

	assert_true(n->nq < sizeof(n->q) / sizeof(n->q[0]));
	f = &n->q[n->nq++];
	f->at = n->now + LATENCY;
	f->to = to;
	f->from = *from;
	f->len = len;
	memcpy(f->buf, buf, len);
}

/* The attacker's own address takes its cookies and sends them back with another hello. */
static void
attacker_answers(struct net *n, const uint8_t *buf, size_t len)
{
	struct wire_cookie c;
	struct wire_hello h = {0};
	uint8_t out[WIRE_HELLO_LEN];

	if (wire_cookie_decode(buf, len, &c) != 0) {
		n->sealed_to_attacker++;
		return;
	}
	n->cookies_to_attacker++;
	/* The cookie is bound to the name it was asked for: the nonce tells which. */
	strcpy(h.name, n->names[c.nonce % NFLOODNAMES]);
	h.nonce = c.nonce;
	h.has_cookie = true;
	memcpy(h.cookie, c.cookie, sizeof(h.cookie));
	assert_int_equal(wire_hello_encode(&h, out, sizeof(out)), WIRE_HELLO_LEN);
	enqueue(n, SEED, &n->attacker, out, sizeof(out));
}

/* What the seed says to a puppet: tell-the-dead about it, or a join answer. Each comes in
 * a datagram of its own; an ack to the puppet's ping may carry the same news piggybacked,
 * which is not what is counted here. */
static void
puppet_receives(struct net *n, struct puppet *p, const uint8_t *buf, size_t len)
{
	static struct wire_msg m;
	uint8_t plain[WIRE_DATAGRAM_MAX];
	struct seal_opened op;
	struct wire_reader r;
	bool ack = false, dead = false, digest = false;
	size_t plen;

	assert_int_equal(
	        seal_unwrap(p->seal, 0, n->s[SEED].pub, buf, len, plain, sizeof(plain), &plen, &op),
	        0);
	assert_int_equal(wire_reader_init(&r, plain, plen), 0);
	while (wire_next(&r, &m) == 1) {
		if (m.type == WIRE_CHALLENGE) {
			p->challenged = true;
			memcpy(p->nonce, m.nonce, WIRE_NONCE_LEN);
		}
		ack |= m.type == WIRE_ACK;
		dead |= m.type == WIRE_DEAD && strcmp(m.target, p->name) == 0;
		digest |= m.type == WIRE_DIGEST;
	}
	p->dead_about_self += !ack && dead;
	p->digests += !ack && digest;
}

static void
cb_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	struct site *site = arg;
	struct net *n = site->net;
	int self = (int)(site - n->s);

	for (int i = 0; i < NREAL; i++) {
		if (addr_endpoint_equal(to, &n->s[i].addr)) {
			enqueue(n, i, &n->s[self].addr, buf, len);
			return;
		}
	}
	if (addr_endpoint_equal(to, &n->attacker)) {
		attacker_answers(n, buf, len);
		return;
	}
	for (size_t i = 0; i < sizeof(n->puppets) / sizeof(n->puppets[0]); i++) {
		if (addr_endpoint_equal(to, &n->puppets[i].addr)) {
			puppet_receives(n, &n->puppets[i], buf, len);
			return;
		}
	}
	n->last_to = *to;
	memcpy(n->last, buf, len);
	n->last_len = len;
	n->to_spoofed++;
	n->sealed_to_spoofed += len > 0 && buf[0] == SEAL_KIND;
	n->longer_than_hello += len > WIRE_HELLO_LEN;
	if (len > n->longest_to_spoofed)
		n->longest_to_spoofed = len;
}

static void
cb_event(void *arg, const struct gossip_event *ev)
{
	(void)arg;
	(void)ev;
}

static struct net *
net_new(void)
{
	static const char *const names[NREAL] = {"seed", "joiner"};
	struct net *n = calloc(1, sizeof(*n));
	struct addr_prefix allowed = {{AF_INET, {.bytes = {10}}}, 8};
	uint32_t vni = 100;
	struct gossip_grant grant = {&allowed, 1, NULL, 0, &vni, 1};

	assert_non_null(n);
	n->trust = gossip_trust_new();
	n->rng = 7;
	n->now = 1000 * GOSSIP_SEC;
	endpoint(&n->attacker, 198, 51, 100, 66, 4000);
	for (int i = 0; i < NREAL; i++) {
		struct site *s = &n->s[i];

		s->net = n;
		s->name = names[i];
		memset(s->priv, 0x20 + i, 32);
		crypto_scalarmult_base(s->pub, s->priv);
		endpoint(&s->addr, 192, 0, 2, (uint8_t)(i + 1), 7946);
		memset(&s->desc, 0, sizeof(s->desc));
		strcpy(s->desc.name, s->name);
		s->desc.gossip = s->addr;
		s->desc.nprefixes = 1;
		s->desc.prefixes[0] =
		        (struct addr_prefix){{AF_INET, {.bytes = {10, (uint8_t)(i + 1)}}}, 16};
		s->desc.nvnis = 1;
		s->desc.vnis[0] = vni;
		assert_int_equal(gossip_trust_add(n->trust, s->name, s->pub, &grant), 0);
	}
	/* The names the flood claims: trusted ones, the joiner's among them. The first few
	 * are puppets with keys of their own. */
	strcpy(n->names[0], "joiner");
	for (int i = 1; i < NFLOODNAMES; i++) {
		uint8_t key[32];

		snprintf(n->names[i], sizeof(n->names[i]), "site%d", i);
		randombytes_buf(key, sizeof(key));
		if ((size_t)i <= sizeof(n->puppets) / sizeof(n->puppets[0])) {
			struct puppet *p = &n->puppets[i - 1];

			strcpy(p->name, n->names[i]);
			memset(p->priv, 0x40 + i, sizeof(p->priv));
			p->seal = seal_new(p->name, p->priv, 1);
			assert_non_null(p->seal);
			memcpy(key, seal_public_key(p->seal), sizeof(key));
			endpoint(&p->addr, 192, 0, 2, (uint8_t)(100 + i), 7946);
		}
		assert_int_equal(gossip_trust_add(n->trust, n->names[i], key, &grant), 0);
	}
	return n;
}

/* Starts site i now, with the seed as its seed unless it is the seed. */
static void
net_start(struct net *n, int i)
{
	struct site *s = &n->s[i];
	struct gossip_config cfg = {0};
	char err[128];

	cfg.name = s->name;
	cfg.private_key = s->priv;
	cfg.session = 1 + (uint64_t)i;
	cfg.incarnation = 1;
	cfg.desc = &s->desc;
	gossip_profile_lan(&cfg.profile);
	cfg.trust = n->trust;
	if (i != SEED) {
		cfg.seeds = &n->s[SEED].addr;
		cfg.nseeds = 1;
	}
	cfg.rng_seed = 1000 + (uint64_t)i;
	cfg.cb = (struct gossip_callbacks){cb_send, cb_event, s};
	s->g = gossip_new(&cfg, err, sizeof(err));
	assert_non_null(s->g);
	gossip_start(s->g, n->now);
}

static void
net_free(struct net *n)
{
	for (int i = 0; i < NREAL; i++)
		gossip_free(n->s[i].g);
	for (size_t i = 0; i < sizeof(n->puppets) / sizeof(n->puppets[0]); i++)
		seal_free(n->puppets[i].seal);
	gossip_trust_free(n->trust);
	free(n);
}

static bool
knows_alive(struct net *n, int who, int whom)
{
	struct gossip_member_info info;
	int idx = gossip_trust_find(n->trust, n->s[whom].name);

	return gossip_member(n->s[who].g, (size_t)idx, &info) == 0 && info.state == GOSSIP_ALIVE;
}

/* A hello without a cookie from a random spoofed source, naming a random trusted site; one
 * in ten claims the joiner's own address, so that cookie replies it never asked for reach
 * it. */
static void
spoofed_hello(struct net *n)
{
	struct wire_hello h = {0};
	struct addr_endpoint from;
	uint8_t buf[WIRE_HELLO_LEN];
	uint64_t r = rnd(n);

	endpoint(&from, 203, 0, (uint8_t)(113 + (r & 1)), (uint8_t)(r >> 1),
	         (uint16_t)(1024 + (r >> 9)));
	if (r % 10 == 0)
		from = n->s[JOINER].addr;
	strcpy(h.name, n->names[(r >> 30) % NFLOODNAMES]);
	h.nonce = rnd(n);
	assert_int_equal(wire_hello_encode(&h, buf, sizeof(buf)), WIRE_HELLO_LEN);
	gossip_receive(n->s[SEED].g, n->now, &from, buf, sizeof(buf));
}

/* A hello from the attacker's own address, which it answers when cookies come back. */
static void
attacker_hello(struct net *n)
{
	struct wire_hello h = {0};
	uint8_t buf[WIRE_HELLO_LEN];
	uint64_t r = rnd(n);

	h.nonce = r;
	strcpy(h.name, n->names[r % NFLOODNAMES]);
	assert_int_equal(wire_hello_encode(&h, buf, sizeof(buf)), WIRE_HELLO_LEN);
	gossip_receive(n->s[SEED].g, n->now, &n->attacker, buf, sizeof(buf));
}

/* Runs the net until `until` with a flood of FLOOD_RATE hellos/s at the seed; returns the
 * first time the seed and the joiner hold each other alive, or -1. */
static gossip_time
run(struct net *n, gossip_time until, bool from_attacker)
{
	gossip_time next_flood = n->now;

	while (n->now < until) {
		gossip_time t = next_flood;

		for (int i = 0; i < NREAL; i++)
			if (n->s[i].g != NULL && gossip_next_deadline(n->s[i].g) < t)
				t = gossip_next_deadline(n->s[i].g);
		for (size_t i = 0; i < n->nq; i++)
			if (n->q[i].at < t)
				t = n->q[i].at;
		if (t > n->now)
			n->now = t;
		for (size_t i = 0; i < n->nq;) {
			struct flight f;

			if (n->q[i].at > n->now) {
				i++;
				continue;
			}
			f = n->q[i];
			n->q[i] = n->q[--n->nq];
			if (n->s[f.to].g != NULL)
				gossip_receive(n->s[f.to].g, n->now, &f.from, f.buf, f.len);
		}
		for (; next_flood <= n->now; next_flood += GOSSIP_SEC / FLOOD_RATE) {
			if (from_attacker)
				attacker_hello(n);
			else
				spoofed_hello(n);
		}
		for (int i = 0; i < NREAL; i++)
			if (n->s[i].g != NULL && gossip_next_deadline(n->s[i].g) <= n->now)
				gossip_tick(n->s[i].g, n->now);
		if (n->s[JOINER].g != NULL && knows_alive(n, SEED, JOINER) &&
		    knows_alive(n, JOINER, SEED))
			return n->now;
	}
	return -1;
}

static void
flood_then_join(bool from_attacker)
{
	struct net *n = net_new();
	const struct gossip_counters *c;
	gossip_time start, joined;

	net_start(n, SEED);
	c = gossip_counters(n->s[SEED].g);
	/* A second of flood first: whatever burst the seed had is long spent. */
	assert_int_equal(run(n, n->now + GOSSIP_SEC, from_attacker), -1);
	start = n->now;
	net_start(n, JOINER);
	joined = run(n, start + 5 * GOSSIP_SEC, from_attacker);
	print_message("flood from %s: joined after %.3f s; seed: %llu answers over budget, %llu "
	              "replies to spoofed sources\n",
	              from_attacker ? "one real source" : "spoofed sources",
	              joined < 0 ? -1.0 : (double)(joined - start) / GOSSIP_SEC,
	              (unsigned long long)c->drop_rate, (unsigned long long)n->to_spoofed);
	assert_true(joined >= 0);
	assert_true(joined - start <= GOSSIP_SEC);
	/* Cookie replies the joiner did not ask for (its address spoofed) were refused. */
	if (!from_attacker)
		assert_true(gossip_counters(n->s[JOINER].g)->drop_cookie > 0);
	/* Nothing sealed and nothing longer than a hello to a source that never spoke. */
	assert_int_equal(n->sealed_to_spoofed, 0);
	assert_int_equal(n->longer_than_hello, 0);
	/* The attacker's own address gets its cookies, but few sealed answers: a handful per
	 * second, not one per hello. */
	if (from_attacker) {
		double secs = (double)(n->now - start + GOSSIP_SEC) / GOSSIP_SEC;

		assert_true(n->cookies_to_attacker > 1000);
		assert_true((double)n->sealed_to_attacker <= 4 + 2 * secs + 1);
	}
	net_free(n);
}

static void
test_join_under_spoofed_flood(void **state)
{
	(void)state;
	flood_then_join(false);
}

static void
test_join_under_flood_from_one_source(void **state)
{
	(void)state;
	flood_then_join(true);
}

/* Sends the seed one sealed payload of m (after the response to a challenge, when resp is
 * not NULL) from puppet p. */
static void
puppet_seals(struct net *n, struct puppet *p, const struct wire_msg *resp, const struct wire_msg *m)
{
	uint8_t payload[SEAL_PAYLOAD_MAX], dgram[WIRE_DATAGRAM_MAX];
	struct wire_writer w;
	size_t len;

	wire_begin(&w, payload, sizeof(payload));
	if (resp != NULL)
		assert_int_equal(wire_put_msg(&w, resp), 0);
	assert_int_equal(wire_put_msg(&w, m), 0);
	assert_int_equal(
	        seal_wrap(p->seal, 0, n->s[SEED].pub, payload, w.len, dgram, sizeof(dgram), &len),
	        0);
	gossip_receive(n->s[SEED].g, n->now, &p->addr, dgram, len);
}

/* Sends the seed m from puppet p; p answers a challenge that comes back as a live site does:
 * the response, and what it sent again. */
static void
puppet_says(struct net *n, struct puppet *p, const struct wire_msg *m)
{
	static struct wire_msg resp;

	puppet_seals(n, p, NULL, m);
	if (p->challenged) {
		p->challenged = false;
		memset(&resp, 0, sizeof(resp));
		resp.type = WIRE_RESPONSE;
		memcpy(resp.nonce, p->nonce, WIRE_NONCE_LEN);
		puppet_seals(n, p, &resp, m);
	}
}

static void
puppet_pings(struct net *n, struct puppet *p)
{
	static struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_PING;
	m.seq = 1;
	puppet_says(n, p, &m);
}

/* Partition heals and joins through trusted senders: a site the seed holds dead is told so,
 * and a trusted site the seed never heard of gets a join answer, whatever the hello flood;
 * each sender's answers are bounded by a budget of its own. */
static void
test_trusted_answers_under_flood(void **state)
{
	struct net *n = net_new();
	struct puppet *dead = &n->puppets[0], *fresh = &n->puppets[1], *other = &n->puppets[2];
	struct gossip_member_info info;
	struct gossip_desc *gd;
	struct wire_desc d = {0};
	uint8_t buf[WIRE_DATAGRAM_MAX];
	int idx, len;

	(void)state;
	net_start(n, SEED);
	/* The seed knows `dead` from an earlier run, and declares it dead by its own probes
	 * as it never answers. */
	strcpy(d.name, dead->name);
	d.incarnation = 3;
	memcpy(d.wg_key, seal_public_key(dead->seal), 32);
	memcpy(d.sign_key, seal_sign_key(dead->seal), 32);
	d.gossip = dead->addr;
	d.nprefixes = 1;
	d.prefixes[0] = (struct addr_prefix){{AF_INET, {.bytes = {10, 99}}}, 16};
	d.nvnis = 1;
	d.vnis[0] = 100;
	len = wire_desc_signed_bytes(&d, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(seal_sign(dead->seal, buf, (size_t)len, d.sig), 0);
	gd = gossip_desc_new(&d);
	assert_int_equal(gossip_desc_verify(gd), 0);
	assert_int_equal(gossip_add_member(n->s[SEED].g, n->now, gd), 0);
	gossip_desc_unref(gd);
	idx = gossip_trust_find(n->trust, dead->name);
	for (int i = 0; i < 600; i++) {
		n->now = gossip_next_deadline(n->s[SEED].g);
		gossip_tick(n->s[SEED].g, n->now);
		if (gossip_member(n->s[SEED].g, (size_t)idx, &info) == 0 &&
		    info.state == GOSSIP_DEAD)
			break;
	}
	assert_int_equal(gossip_member(n->s[SEED].g, (size_t)idx, &info), 0);
	assert_int_equal(info.state, GOSSIP_DEAD);

	/* A second of spoofed hellos, then both speak up. */
	assert_int_equal(run(n, n->now + GOSSIP_SEC, false), -1);
	puppet_pings(n, dead);
	puppet_pings(n, fresh);
	assert_int_equal(dead->dead_about_self, 1);
	assert_int_equal(fresh->digests, 1);

	/* A trusted sender that keeps asking, every 5 ms for half a second, gets an answer
	 * every 200 ms, and takes none from others. */
	for (int i = 0; i < 100; i++) {
		n->now += 5 * GOSSIP_MSEC;
		puppet_pings(n, dead);
		puppet_pings(n, fresh);
	}
	assert_in_range(dead->dead_about_self, 3, 4);
	assert_in_range(fresh->digests, 3, 4);
	puppet_pings(n, other);
	assert_int_equal(other->digests, 1);
	net_free(n);
}

/* Sends the seed a hello naming name from `from`; returns the kind of its only answer to
 * that address, 0 for none, and keeps a cookie reply in *c. */
static int
hello_answer(struct net *n, const struct addr_endpoint *from, const char *name,
             const uint8_t *cookie, struct wire_cookie *c)
{
	struct wire_hello h = {0};
	uint8_t buf[WIRE_HELLO_LEN];

	strcpy(h.name, name);
	h.nonce = 0x1234;
	if (cookie != NULL) {
		h.has_cookie = true;
		memcpy(h.cookie, cookie, WIRE_COOKIE_LEN);
	}
	assert_int_equal(wire_hello_encode(&h, buf, sizeof(buf)), WIRE_HELLO_LEN);
	n->last_len = 0;
	gossip_receive(n->s[SEED].g, n->now, from, buf, sizeof(buf));
	if (n->last_len == 0)
		return 0;
	assert_true(addr_endpoint_equal(&n->last_to, from));
	assert_true(n->last_len <= sizeof(buf));
	if (n->last[0] == WIRE_COOKIE_KIND) {
		assert_int_equal(wire_cookie_decode(n->last, n->last_len, c), 0);
		assert_true(c->nonce == h.nonce);
	}
	return n->last[0];
}

/* A hello costs a sealed answer only with a cookie made for its source address and port
 * and its name within the last 10..20 s; anything else gets a cookie reply no longer than
 * the hello, and a cookie that was offered and did not pass is counted. */
static void
test_cookie_proves_the_source(void **state)
{
	struct net *n = net_new();
	const struct gossip_counters *cnt;
	struct addr_endpoint a, a2, b;
	struct wire_cookie c, other;
	uint8_t forged[WIRE_COOKIE_LEN];
	gossip_time t0;

	(void)state;
	net_start(n, SEED);
	cnt = gossip_counters(n->s[SEED].g);
	t0 = n->now;
	endpoint(&a, 198, 51, 100, 7, 5000);
	endpoint(&a2, 198, 51, 100, 7, 5001);
	endpoint(&b, 198, 51, 100, 8, 5000);

	assert_int_equal(hello_answer(n, &a, "site1", NULL, &c), WIRE_COOKIE_KIND);
	assert_int_equal(hello_answer(n, &a, "site1", c.cookie, &other), SEAL_KIND);
	assert_int_equal(cnt->drop_cookie, 0);
	/* Another port, another address, another name. */
	assert_int_equal(hello_answer(n, &a2, "site1", c.cookie, &other), WIRE_COOKIE_KIND);
	assert_int_equal(hello_answer(n, &b, "site1", c.cookie, &other), WIRE_COOKIE_KIND);
	assert_int_equal(hello_answer(n, &a, "site2", c.cookie, &other), WIRE_COOKIE_KIND);
	assert_int_equal(cnt->drop_cookie, 3);
	/* Forged: each bit flipped in turn. */
	for (int bit = 0; bit < 8 * WIRE_COOKIE_LEN; bit++) {
		memcpy(forged, c.cookie, sizeof(forged));
		forged[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		assert_int_equal(hello_answer(n, &a, "site1", forged, &other), WIRE_COOKIE_KIND);
	}
	assert_int_equal(cnt->drop_cookie, 3 + 8 * WIRE_COOKIE_LEN);
	/* Still good in the next slot, stale after it. */
	n->now = t0 + 15 * GOSSIP_SEC;
	assert_int_equal(hello_answer(n, &a, "site1", c.cookie, &other), SEAL_KIND);
	n->now = t0 + 25 * GOSSIP_SEC;
	assert_int_equal(hello_answer(n, &a, "site1", c.cookie, &other), WIRE_COOKIE_KIND);
	assert_int_equal(cnt->drop_cookie, 4 + 8 * WIRE_COOKIE_LEN);
	/* Untrusted names get nothing at all. */
	assert_int_equal(hello_answer(n, &a, "stranger", NULL, &other), 0);
	net_free(n);
}

/* An IPv6 source: 2001:db8:66:<net>::<host>, port port. */
static void
endpoint6(struct addr_endpoint *e, uint16_t net, uint16_t host, uint16_t port)
{
	static const uint8_t prefix[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x66};

	memset(e, 0, sizeof(*e));
	e->addr.family = AF_INET6;
	memcpy(e->addr.u.bytes, prefix, sizeof(prefix));
	e->addr.u.bytes[6] = (uint8_t)(net >> 8);
	e->addr.u.bytes[7] = (uint8_t)net;
	e->addr.u.bytes[14] = (uint8_t)(host >> 8);
	e->addr.u.bytes[15] = (uint8_t)host;
	e->port = port;
}

/* Whether a hello from `from` that proves its source with a fresh cookie gets a sealed
 * answer. */
static bool
proven_hello_answered(struct net *n, const struct addr_endpoint *from)
{
	struct wire_cookie c, other;

	assert_int_equal(hello_answer(n, from, "site1", NULL, &c), WIRE_COOKIE_KIND);
	return hello_answer(n, from, "site1", c.cookie, &other) == SEAL_KIND;
}

/* Sources that prove themselves still get few sealed answers: the addresses of one IPv6 /64
 * share one budget (2/s, burst 4) whatever their host part and port, another /64 has its
 * own, and all sources together get at most 100/s (burst 100), however many addresses they
 * cycle through. */
static void
test_sealed_answers_bounded(void **state)
{
	struct net *n = net_new();
	struct addr_endpoint from;
	size_t answered = 0, dropped;
	gossip_time t0;

	(void)state;
	net_start(n, SEED);
	t0 = n->now;
	/* 200 addresses of one /64, at once and a second later. */
	for (uint16_t h = 1; h <= 200; h++) {
		endpoint6(&from, 1, h, (uint16_t)(4000 + h));
		answered += proven_hello_answered(n, &from);
	}
	assert_int_equal(answered, 4);
	n->now = t0 + GOSSIP_SEC;
	for (uint16_t h = 1; h <= 200; h++) {
		endpoint6(&from, 1, h, (uint16_t)(4000 + h));
		answered += proven_hello_answered(n, &from);
	}
	assert_int_equal(answered, 6);
	/* Ten other /64s: a full budget each. */
	answered = 0;
	for (uint16_t net = 2; net < 12; net++)
		for (uint16_t h = 1; h <= 10; h++) {
			endpoint6(&from, net, h, 4000);
			answered += proven_hello_answered(n, &from);
		}
	assert_int_equal(answered, 40);
	net_free(n);

	/* 300 IPv4 sources a step, every 100 ms for 2 s, never the same address twice: the
	 * global budget alone holds them. */
	n = net_new();
	net_start(n, SEED);
	t0 = n->now;
	answered = 0;
	for (int step = 0; step <= 20; step++) {
		n->now = t0 + step * (GOSSIP_SEC / 10);
		for (int i = 0; i < 300; i++) {
			int a = step * 300 + i;

			endpoint(&from, 198, 18, (uint8_t)(a >> 8), (uint8_t)a, 5000);
			answered += proven_hello_answered(n, &from);
		}
	}
	dropped = (size_t)gossip_counters(n->s[SEED].g)->drop_rate;
	print_message("6,300 proven sources over 2 s: %zu answered, %zu over budget\n", answered,
	              dropped);
	assert_true(answered >= 100 + 2 * 100 - 2 && answered <= 100 + 2 * 100 + 1);
	assert_int_equal(answered + dropped, 21 * 300);
	net_free(n);
}

/* n hellos without a cookie at the seed, now, each from a spoofed source of its own. */
static void
hellos_from_many(struct net *n, int count)
{
	struct wire_hello h = {0};
	struct addr_endpoint from;
	uint8_t buf[WIRE_HELLO_LEN];

	strcpy(h.name, n->names[1]);
	for (int i = 0; i < count; i++) {
		endpoint(&from, 203, 0, 113, (uint8_t)i, (uint16_t)(1024 + i));
		h.nonce = rnd(n);
		assert_int_equal(wire_hello_encode(&h, buf, sizeof(buf)), WIRE_HELLO_LEN);
		gossip_receive(n->s[SEED].g, n->now, &from, buf, sizeof(buf));
	}
}

/* Cookie replies are cheap but bounded too: 20,000/s with a burst of 2,000. A flood past it
 * is counted (rate) and not answered, so a seed is never a reflector of unbounded rate. */
static void
test_cookie_replies_bounded(void **state)
{
	struct net *n = net_new();
	const struct gossip_counters *c;

	(void)state;
	net_start(n, SEED);
	c = gossip_counters(n->s[SEED].g);
	hellos_from_many(n, 5000);
	assert_int_equal(n->to_spoofed, 2000);
	assert_int_equal(c->drop_rate, 3000);
	/* 100 ms later: 2,000 more, never more than the burst. */
	n->now += 100 * GOSSIP_MSEC;
	hellos_from_many(n, 5000);
	assert_int_equal(n->to_spoofed, 4000);
	assert_int_equal(c->drop_rate, 6000);
	assert_int_equal(n->longest_to_spoofed, WIRE_COOKIE_REPLY_LEN);
	net_free(n);
}

/* Replays, 100 times in a second from a source nobody here owns, a recording of a datagram
 * that trusted site `name` (key priv) sealed for the seed in a session the seed never
 * confirmed, holding a challenge alone. Returns the recording's length. */
static size_t
replay_recorded_challenge(struct net *n, const char *name, const uint8_t priv[32])
{
	uint8_t nonce[WIRE_NONCE_LEN], dgram[WIRE_DATAGRAM_MAX],
	        payload[1 + 1 + WIRE_NONCE_LEN] = {WIRE_VERSION, WIRE_CHALLENGE};
	struct seal *recorded = seal_new(name, priv, 77);
	struct addr_endpoint victim;
	size_t len;

	assert_non_null(recorded);
	assert_int_equal(seal_challenge(recorded, 0, n->s[SEED].pub, nonce), 0);
	memcpy(payload + 2, nonce, WIRE_NONCE_LEN);
	assert_int_equal(seal_wrap(recorded, 0, n->s[SEED].pub, payload, sizeof(payload), dgram,
	                           sizeof(dgram), &len),
	                 0);
	seal_free(recorded);
	endpoint(&victim, 203, 0, 113, 9, 53);
	for (int i = 0; i < 100; i++) {
		n->now += 10 * GOSSIP_MSEC;
		gossip_receive(n->s[SEED].g, n->now, &victim, dgram, len);
	}
	return len;
}

/* A recorded challenge, replayed from a spoofed source, gets each time one datagram no larger
 * than itself (the response alone; the seed's own challenge goes apart, at most every
 * 100 ms), and one at most every 100 ms where the seed's name makes even the response longer:
 * replaying cannot make a site an amplifier. */
static void
test_recorded_challenge_amplifies_nothing(void **state)
{
	struct net *n = net_new();
	struct addr_prefix allowed = {{AF_INET, {.bytes = {10}}}, 8};
	uint32_t vni = 100;
	struct gossip_grant grant = {&allowed, 1, NULL, 0, &vni, 1};
	uint8_t priv[32], pub[32];
	size_t len;

	(void)state;
	/* "s", a trusted name shorter than "seed". */
	memset(priv, 0x66, sizeof(priv));
	crypto_scalarmult_base(pub, priv);
	assert_int_equal(gossip_trust_add(n->trust, "s", pub, &grant), 0);
	net_start(n, SEED);

	/* "site1" is longer than "seed": every replay answered, never by more bytes. */
	len = replay_recorded_challenge(n, n->puppets[0].name, n->puppets[0].priv);
	assert_true(n->longest_to_spoofed <= len);
	assert_true(n->to_spoofed >= 100 && n->to_spoofed <= 100 + 11);
	assert_int_equal(gossip_counters(n->s[SEED].g)->drop_stale, 0);

	/* "s" is shorter: a few answers a second, each at most the seed's name longer. */
	n->to_spoofed = 0;
	n->longest_to_spoofed = 0;
	len = replay_recorded_challenge(n, "s", priv);
	assert_true(n->to_spoofed >= 2 && n->to_spoofed <= 2 * 11);
	assert_true(n->longest_to_spoofed <= len + strlen("seed") - strlen("s"));
	net_free(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_join_under_spoofed_flood),
	        cmocka_unit_test(test_join_under_flood_from_one_source),
	        cmocka_unit_test(test_trusted_answers_under_flood),
	        cmocka_unit_test(test_cookie_proves_the_source),
	        cmocka_unit_test(test_sealed_answers_bounded),
	        cmocka_unit_test(test_cookie_replies_bounded),
	        cmocka_unit_test(test_recorded_challenge_amplifies_nothing),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
