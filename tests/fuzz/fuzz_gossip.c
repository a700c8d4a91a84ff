/* libFuzzer harness: the input is the plaintext payload of a datagram that a trusted site
 * seals with its real pairwise key and sends to a started gossip instance, so the bytes get
 * past authentication to the freshness exchange and, after one, to the message handlers.
 * The first byte chooses the sender and the situation; the rest is the payload. Whatever it
 * says, a payload from a session that has not answered a challenge changes nothing. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netd/gossip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_FROM_X   0x01 /* the sender is x, not b */
#define F_EXCHANGE 0x02 /* the sender's session is confirmed first */
#define F_MEMBERS  0x04 /* b and x are members already (a restart's remembered view) */
#define F_TICK     0x08 /* time runs on afterwards: timers act on what the payload did */
#define F_TWICE    0x10 /* the same payload is sealed and sent again */
#define F_FEDERATE 0x20 /* a is in a federation: credentials and revocations are taken */

enum { A, B, X, NSITES };

struct site {
	const char *name;
	uint8_t priv[32];
	struct seal *seal;
	struct wire_desc desc;
};

static struct site sites[NSITES] = {{.name = "a"}, {.name = "b"}, {.name = "x"}};
static struct gossip_trust *trust;
static struct cred_authorities authorities; /* one key, threshold 1: its seed is 0x5a... */
static struct wire_msg scratch;
static size_t events;

/* What a sends, kept until the sender has read the challenges in it. */
static struct {
	uint8_t buf[WIRE_DATAGRAM_MAX];
	size_t len;
} out[64];
static size_t nout;

static void
on_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)arg;
	(void)to;
	if (nout < sizeof(out) / sizeof(out[0]) && len <= sizeof(out[0].buf)) {
		memcpy(out[nout].buf, buf, len);
		out[nout++].len = len;
	}
}

static void
on_event(void *arg, const struct gossip_event *ev)
{
	(void)arg;
	(void)ev;
	events++;
}

static void
make_desc(struct site *s, uint8_t n)
{
	struct wire_desc *d = &s->desc;
	uint8_t buf[WIRE_DATAGRAM_MAX];
	int len;

	memset(d, 0, sizeof(*d));
	strcpy(d->name, s->name);
	d->incarnation = 1;
	memcpy(d->wg_key, seal_public_key(s->seal), 32);
	memcpy(d->sign_key, seal_sign_key(s->seal), 32);
	d->gossip.addr.family = AF_INET;
	memcpy(d->gossip.addr.u.bytes, (uint8_t[]){192, 0, 2, n}, 4);
	d->gossip.port = 7946;
	d->nprefixes = 1;
	d->prefixes[0].addr.family = AF_INET;
	memcpy(d->prefixes[0].addr.u.bytes, (uint8_t[]){10, n, 0, 0}, 4);
	d->prefixes[0].len = 16;
	d->nvnis = 1;
	d->vnis[0] = 100;
	len = wire_desc_signed_bytes(d, buf, sizeof(buf));
	if (len < 0 || seal_sign(s->seal, buf, (size_t)len, d->sig) != 0)
		abort();
}

static void
init(void)
{
	struct addr_prefix allowed = {{AF_INET, {.bytes = {10}}}, 8};
	uint32_t vni = 100;
	struct gossip_grant grant = {&allowed, 1, NULL, 0, &vni, 1};

	uint8_t seed[32], secret[64];

	trust = gossip_trust_new();
	if (trust == NULL)
		abort();
	memset(seed, 0x5a, sizeof(seed));
	strcpy(authorities.federation, "fuzz");
	authorities.nkeys = 1;
	authorities.threshold = 1;
	if (cred_authority_from_seed(seed, authorities.keys[0], secret) != 0)
		abort();
	for (int i = 0; i < NSITES; i++) {
		memset(sites[i].priv, 0x21 + i, 32);
		sites[i].seal = seal_new(sites[i].name, sites[i].priv, 0x100 + (uint64_t)i);
		if (sites[i].seal == NULL)
			abort();
		make_desc(&sites[i], (uint8_t)(i + 1));
		if (gossip_trust_add(trust, sites[i].name, seal_public_key(sites[i].seal),
		                     &grant) != 0)
			abort();
	}
}

static void
send_payload(struct gossip *g, gossip_time now, struct seal *from, const uint8_t *payload,
             size_t len)
{
	uint8_t dgram[WIRE_DATAGRAM_MAX];
	struct addr_endpoint ep = {{AF_INET, {.bytes = {192, 0, 2, 9}}}, 7946};
	size_t dlen;

	if (seal_wrap(from, 0, seal_public_key(sites[A].seal), payload, len, dgram, sizeof(dgram),
	              &dlen) == 0)
		gossip_receive(g, now, &ep, dgram, dlen);
}

/* The sender asks for a's proof and answers a's challenge, as a live site does. */
static void
exchange(struct gossip *g, gossip_time now, struct seal *from)
{
	uint8_t p[2 + WIRE_NONCE_LEN] = {WIRE_VERSION, WIRE_CHALLENGE};
	uint8_t plain[WIRE_DATAGRAM_MAX];
	struct seal_opened op;
	struct wire_reader r;
	size_t plen, n;

	nout = 0;
	send_payload(g, now, from, p, sizeof(p));
	n = nout;
	for (size_t i = 0; i < n; i++) {
		if (seal_unwrap(from, 0, seal_public_key(sites[A].seal), out[i].buf, out[i].len,
		                plain, sizeof(plain), &plen, &op) != 0 ||
		    wire_reader_init(&r, plain, plen) != 0)
			continue;
		while (wire_next(&r, &scratch) == 1) {
			if (scratch.type != WIRE_CHALLENGE)
				continue;
			p[1] = WIRE_RESPONSE;
			memcpy(p + 2, scratch.nonce, WIRE_NONCE_LEN);
			send_payload(g, now, from, p, sizeof(p));
			return;
		}
	}
	abort(); /* a must challenge a session it has not confirmed */
}

static int64_t
fuzz_unix_now(void *arg)
{
	(void)arg;
	return 1790000000;
}

static bool
has_response(const uint8_t *payload, size_t len)
{
	struct wire_reader r;

	if (wire_reader_init(&r, payload, len) != 0)
		return false;
	while (wire_next(&r, &scratch) == 1)
		if (scratch.type == WIRE_RESPONSE)
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gossip_config cfg = {0};
	struct gossip *g;
	struct site *from;
	gossip_time now = 1000 * GOSSIP_SEC;
	uint8_t flags;
	char err[128];

	if (trust == NULL)
		init();
	if (size < 1 || size - 1 > SEAL_PAYLOAD_MAX)
		return 0;
	flags = data[0];
	data++;
	size--;
	from = &sites[flags & F_FROM_X ? X : B];
	/* Each input meets a new instance, so a finding replays alone. The senders' seals go
	 * on: a new session of a would be confirmed anew either way. */
	cfg.name = "a";
	cfg.private_key = sites[A].priv;
	cfg.session = 0xa0;
	cfg.incarnation = 1;
	cfg.desc = &sites[A].desc;
	gossip_profile_lan(&cfg.profile);
	cfg.trust = trust;
	cfg.rng_seed = 1;
	cfg.cb = (struct gossip_callbacks){on_send, on_event, NULL};
	if (flags & F_FEDERATE) {
		cfg.authorities = &authorities;
		cfg.unix_now = fuzz_unix_now;
	}
	g = gossip_new(&cfg, err, sizeof(err));
	if (g == NULL)
		abort();
	if (flags & F_MEMBERS) {
		for (int i = B; i < NSITES; i++) {
			struct gossip_desc *gd = gossip_desc_new(&sites[i].desc);

			if (gd == NULL || gossip_desc_verify(gd) != 0 ||
			    gossip_add_member(g, now, gd) != 0)
				abort();
			gossip_desc_unref(gd);
		}
	}
	gossip_start(g, now);
	events = 0;
	if (flags & F_EXCHANGE)
		exchange(g, now, from->seal);
	send_payload(g, now, from->seal, data, size);
	if (flags & F_TWICE)
		send_payload(g, now, from->seal, data, size);
	/* Unconfirmed, nothing the payload says is acted on. (A response could only confirm
	 * with a's nonce, which a fixed session here makes guessable, unlike a real one.) */
	if (!(flags & F_EXCHANGE) && events != 0 && !has_response(data, size))
		abort();
	if (flags & F_TICK) {
		for (int i = 0; i < 40; i++) {
			now = gossip_next_deadline(g);
			gossip_tick(g, now);
		}
	}
	nout = 0;
	gossip_free(g);
	return 0;
}
