/* Gossip datagram sealing: XChaCha20-Poly1305 under direction-specific keys derived from
 * X25519 between the two sites, its nonce the sender's session and counter (so the key
 * ChaCha20 runs under is derived from the direction key and the session), the whole clear
 * header as associated data, and XEdDSA-style signatures so descriptors relayed by third
 * parties stay attributable. */
#include "netd/seal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char kdf_context[] = "netd seal v1";
static const char nonce_context[] = "netd xeddsa nonce v1";

/* One per peer this site sealed for or opened from: 80 bytes (a static assertion holds it).
 * The X25519 secret is kept, not the two direction keys: the one a datagram needs is hashed
 * from it as it is sealed or opened (a BLAKE2b call besides the AEAD). The peer's public key
 * is kept as a keyed 64-bit fingerprint (SipHash under a key drawn for this seal, so no one
 * outside can pick keys that collide): enough to see that the caller's key for the id
 * changed. An outstanding challenge is its number: the nonce is this seal's session and it. */
struct peer {
	uint8_t shared[32];
	uint64_t fingerprint;
	uint64_t session; /* the peer's confirmed session, 0 before the first */
	struct seal_replay replay;
	uint64_t chal; /* the outstanding challenge's number, 0: none */
	uint32_t id;
};
_Static_assert(sizeof(struct peer) <= 80, "a seal peer grew");

/* The key and what is derived from it: in memory locked against swapping, left out of core
 * dumps and wiped when freed. Apart from the rest, whose heap pointers a leak checker must
 * see (sodium_malloc's guarded pages are outside what it scans). */
struct seal_secret {
	uint8_t priv[32];
	uint8_t pub[32];
	uint8_t sign_scalar[32]; /* a, with a·B == sign_pub */
	uint8_t sign_pub[32];
	uint8_t fingerprint_key[crypto_shorthash_KEYBYTES];
};

struct seal {
	char name[WIRE_NAME_MAX + 1];
	struct seal_secret *sec;
	uint64_t session;
	uint64_t counter;    /* of the last datagram sealed */
	uint64_t challenges; /* made in this session: a challenge nonce is (session, this) */
	seal_dh_fn dh;
	void *dh_arg;
	/* Never evicted, because a replay window must outlive any cache policy; bounded by the
	 * number of trusted sites. The peers side by side, in the order first seen, found through
	 * an open-addressing index of their positions: an empty slot of the index costs 4 bytes,
	 * not a peer's 80 (the table held the peers themselves, a quarter to five eighths of them
	 * empty). */
	struct peer *peers;
	size_t npeers, cap;
	uint32_t *slots; /* a peer's position + 1; 0: empty */
	size_t nslots;   /* a power of two, at most 3/4 used */
};

static int
default_dh(void *arg, uint8_t shared[32], const uint8_t priv[32], const uint8_t pub[32])
{
	(void)arg;
	return crypto_scalarmult(shared, priv, pub) == 0 ? 0 : -1;
}

/* The Edwards scalar and point for a Montgomery private key: A = a·B with A's sign bit
 * clear, negating the scalar when needed, so the public Ed25519 key is a function of the
 * X25519 public key alone (XEdDSA's convention). */
static int
derive_signing(struct seal *s)
{
	uint8_t wide[64] = {0}, a0[32], point[32];
	int rc = -1;

	memcpy(wide, s->sec->priv, 32);
	wide[0] &= 248;
	wide[31] = (wide[31] & 127) | 64;
	crypto_core_ed25519_scalar_reduce(a0, wide);
	if (crypto_scalarmult_ed25519_base_noclamp(point, a0) != 0)
		goto out;
	if (point[31] & 0x80) {
		crypto_core_ed25519_scalar_negate(s->sec->sign_scalar, a0);
		point[31] &= 0x7f;
	} else {
		memcpy(s->sec->sign_scalar, a0, 32);
	}
	memcpy(s->sec->sign_pub, point, 32);
	rc = 0;
out:
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(a0, sizeof(a0));
	return rc;
}

struct seal *
seal_new(const char *name, const uint8_t priv[32], uint64_t session)
{
	struct seal *s;

	if (!wire_name_valid(name) || session == 0 || sodium_init() < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->sec = sodium_malloc(sizeof(*s->sec));
	if (s->sec == NULL) {
		free(s);
		return NULL;
	}
	strcpy(s->name, name);
	memcpy(s->sec->priv, priv, 32);
	s->session = session;
	s->dh = default_dh;
	crypto_shorthash_keygen(s->sec->fingerprint_key);
	if (crypto_scalarmult_base(s->sec->pub, s->sec->priv) != 0 || derive_signing(s) != 0) {
		seal_free(s);
		return NULL;
	}
	return s;
}

void
seal_free(struct seal *s)
{
	if (s == NULL)
		return;
	if (s->peers != NULL) {
		sodium_memzero(s->peers, s->cap * sizeof(*s->peers));
		free(s->peers);
	}
	free(s->slots);
	sodium_free(s->sec); /* wipes it */
	free(s);
}

void
seal_set_dh(struct seal *s, seal_dh_fn fn, void *arg)
{
	s->dh = fn != NULL ? fn : default_dh;
	s->dh_arg = arg;
}

const uint8_t *
seal_public_key(const struct seal *s)
{
	return s->sec->pub;
}

const uint8_t *
seal_sign_key(const struct seal *s)
{
	return s->sec->sign_pub;
}

uint64_t
seal_session(const struct seal *s)
{
	return s->session;
}

uint64_t
seal_next_counter(const struct seal *s)
{
	return s->counter + 1;
}

void
seal_rotate(struct seal *s)
{
	uint64_t session;

	do
		randombytes_buf(&session, sizeof(session));
	while (session == 0 || session == s->session);
	s->session = session;
	s->counter = 0;
	/* A challenge's nonce is the session it was made in and its number: those made in the
	 * old one are dropped, and the next challenge of each peer is made in the new one. */
	for (size_t i = 0; i < s->npeers; i++)
		s->peers[i].chal = 0;
}

/* ---- peer table ---- */

static size_t
slot_of(uint32_t id, size_t nslots)
{
	return (size_t)(id * 2654435761u) & (nslots - 1);
}

static struct peer *
peer_find(struct seal *s, uint32_t id)
{
	if (s->nslots == 0)
		return NULL;
	for (size_t i = slot_of(id, s->nslots);; i = (i + 1) & (s->nslots - 1)) {
		if (s->slots[i] == 0)
			return NULL;
		if (s->peers[s->slots[i] - 1].id == id)
			return &s->peers[s->slots[i] - 1];
	}
}

static void
slot_put(uint32_t *slots, size_t nslots, uint32_t id, size_t pos)
{
	size_t i = slot_of(id, nslots);

	while (slots[i] != 0)
		i = (i + 1) & (nslots - 1);
	slots[i] = (uint32_t)pos + 1;
}

/* Room for one more peer. The peers are moved by hand rather than realloc'd, so that no
 * copy of their keys is left in freed memory. */
static int
grow(struct seal *s)
{
	if (s->npeers == UINT32_MAX - 1)
		return -1;
	if ((s->npeers + 1) * 4 > s->nslots * 3) {
		size_t nslots = s->nslots == 0 ? 16 : s->nslots * 2;
		uint32_t *slots = calloc(nslots, sizeof(*slots));

		if (slots == NULL)
			return -1;
		for (size_t i = 0; i < s->npeers; i++)
			slot_put(slots, nslots, s->peers[i].id, i);
		free(s->slots);
		s->slots = slots;
		s->nslots = nslots;
	}
	if (s->npeers == s->cap) {
		size_t cap = s->cap == 0 ? 8 : s->cap * 2;
		struct peer *np = malloc(cap * sizeof(*np));

		if (np == NULL)
			return -1;
		if (s->peers != NULL) {
			memcpy(np, s->peers, s->npeers * sizeof(*np));
			sodium_memzero(s->peers, s->cap * sizeof(*s->peers));
			free(s->peers);
		}
		s->peers = np;
		s->cap = cap;
	}
	return 0;
}

static int
derive_shared(struct seal *s, const uint8_t peer_pub[32], uint8_t shared[32])
{
	if (s->dh(s->dh_arg, shared, s->sec->priv, peer_pub) != 0 || sodium_is_zero(shared, 32)) {
		sodium_memzero(shared, 32);
		return -1;
	}
	return 0;
}

/* The key of one direction: both public keys in a fixed order per direction, so the two
 * directions get different keys and a datagram cannot be reflected back to its sender. */
static void
direction_key(const struct peer *p, const uint8_t from[32], const uint8_t to[32], uint8_t key[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, p->shared, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)kdf_context, sizeof(kdf_context));
	crypto_generichash_update(&st, from, 32);
	crypto_generichash_update(&st, to, 32);
	crypto_generichash_final(&st, key, 32);
	sodium_memzero(&st, sizeof(st));
}

static uint64_t
fingerprint(const struct seal *s, const uint8_t pub[32])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, pub, 32, s->sec->fingerprint_key);
	memcpy(&v, h, sizeof(v));
	return v;
}

/* The peer's entry, created on first use; the secret is derived again when the caller's
 * public key for the id changed (a trust reload), which also resets its window. */
static int
peer_get(struct seal *s, uint32_t id, const uint8_t pub[32], struct peer **out)
{
	struct peer *p = peer_find(s, id);
	uint64_t fp = fingerprint(s, pub);
	struct peer fresh;

	if (p != NULL && p->fingerprint == fp) {
		*out = p;
		return 0;
	}
	memset(&fresh, 0, sizeof(fresh));
	fresh.id = id;
	fresh.fingerprint = fp;
	if (derive_shared(s, pub, fresh.shared) != 0)
		return SEAL_ERR_KEY;
	if (p == NULL) {
		if (grow(s) != 0) {
			sodium_memzero(&fresh, sizeof(fresh));
			return SEAL_ERR_NOMEM;
		}
		slot_put(s->slots, s->nslots, id, s->npeers);
		p = &s->peers[s->npeers++];
	}
	*p = fresh;
	sodium_memzero(&fresh, sizeof(fresh));
	*out = p;
	return 0;
}

/* ---- datagrams ---- */

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* XChaCha20's first 16 nonce bytes go into HChaCha20 with the key: the session there makes
 * the key ChaCha20 runs under one of this session only, and the counter is the nonce under
 * it. Sessions are random, so no (key, nonce) pair is used twice even when a restarted
 * site's counter starts again at 1. */
static void
make_nonce(uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES], uint64_t session,
           uint64_t counter)
{
	memset(nonce, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	put_u64(nonce, session);
	put_u64(nonce + 16, counter);
}

/* Header: kind, name length, name, session, counter. Returns the header length or -1. */
static int
parse_header(const uint8_t *d, size_t len, char name[WIRE_NAME_MAX + 1], uint64_t *session,
             uint64_t *counter)
{
	size_t n, hl;
	char tmp[WIRE_NAME_MAX + 1];

	if (len < 2 || d[0] != SEAL_KIND || len > WIRE_DATAGRAM_MAX)
		return -1;
	n = d[1];
	if (n == 0 || n > WIRE_NAME_MAX)
		return -1;
	hl = 2 + n + 12;
	if (len < hl + SEAL_TAG_LEN)
		return -1;
	memcpy(tmp, d + 2, n);
	tmp[n] = '\0';
	if (memchr(tmp, '\0', n) != NULL || !wire_name_valid(tmp))
		return -1;
	if (name != NULL)
		memcpy(name, tmp, sizeof(tmp));
	if (session != NULL)
		*session = get_u64(d + 2 + n);
	if (counter != NULL)
		*counter = get_u32(d + 2 + n + 8);
	return (int)hl;
}

int
seal_sender(const uint8_t *dgram, size_t len, char name[WIRE_NAME_MAX + 1])
{
	return parse_header(dgram, len, name, NULL, NULL) < 0 ? SEAL_ERR_MALFORMED : 0;
}

int
seal_wrap(struct seal *s, uint32_t peer_id, const uint8_t peer_pub[32], const uint8_t *payload,
          size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n = strlen(s->name), hl = 2 + n + 12;
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES], key[32];
	unsigned long long clen;
	struct peer *p;
	int rc;

	if (len > SEAL_PAYLOAD_MAX || cap < hl + len + SEAL_TAG_LEN)
		return SEAL_ERR_MALFORMED;
	/* A counter that wrapped would reuse nonces. */
	if (s->counter >= SEAL_COUNTER_MAX)
		seal_rotate(s);
	rc = peer_get(s, peer_id, peer_pub, &p);
	if (rc != 0)
		return rc;
	s->counter++;
	out[0] = SEAL_KIND;
	out[1] = (uint8_t)n;
	memcpy(out + 2, s->name, n);
	put_u64(out + 2 + n, s->session);
	put_u32(out + 2 + n + 8, (uint32_t)s->counter);
	make_nonce(nonce, s->session, s->counter);
	direction_key(p, s->sec->pub, peer_pub, key);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + hl, &clen, payload, len, out, hl, NULL,
	                                           nonce, key);
	sodium_memzero(key, sizeof(key));
	*outlen = hl + (size_t)clen;
	return 0;
}

int
seal_unwrap(struct seal *s, uint32_t peer_id, const uint8_t peer_pub[32], const uint8_t *dgram,
            size_t len, uint8_t *out, size_t cap, size_t *outlen, struct seal_opened *op)
{
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES], key[32];
	unsigned long long plen;
	uint64_t session, counter;
	struct peer *p;
	int hl, rc;

	hl = parse_header(dgram, len, NULL, &session, &counter);
	/* No sender uses session or counter 0. */
	if (hl < 0 || cap < len - (size_t)hl - SEAL_TAG_LEN || session == 0 || counter == 0)
		return SEAL_ERR_MALFORMED;
	rc = peer_get(s, peer_id, peer_pub, &p);
	if (rc != 0)
		return rc;
	/* Authenticate before looking at the window: a forgery is counted as one, and
	 * forged counters never move the window. */
	make_nonce(nonce, session, counter);
	direction_key(p, peer_pub, s->sec->pub, key);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
	        out, &plen, NULL, dgram + hl, len - (size_t)hl, dgram, (size_t)hl, nonce, key);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		return SEAL_ERR_FORGED;
	op->session = session;
	op->counter = counter;
	op->fresh = session == p->session;
	if (op->fresh) {
		if (!seal_replay_check(&p->replay, counter))
			return SEAL_ERR_REPLAYED;
		seal_replay_update(&p->replay, counter);
	}
	*outlen = (size_t)plen;
	return 0;
}

/* ---- freshness ---- */

static void
challenge_nonce(const struct seal *s, const struct peer *p, uint8_t nonce[WIRE_NONCE_LEN])
{
	put_u64(nonce, s->session);
	put_u64(nonce + 8, p->chal);
}

int
seal_challenge(struct seal *s, uint32_t peer_id, const uint8_t peer_pub[32],
               uint8_t nonce[WIRE_NONCE_LEN])
{
	struct peer *p;
	int rc = peer_get(s, peer_id, peer_pub, &p);

	if (rc != 0)
		return rc;
	/* Unique for ever: sessions are, and the number within one only grows. Nothing secret
	 * about it; a response counts because it is sealed by the peer. */
	if (p->chal == 0)
		p->chal = ++s->challenges;
	challenge_nonce(s, p, nonce);
	return 0;
}

bool
seal_challenge_pending(struct seal *s, uint32_t peer_id, uint8_t nonce[WIRE_NONCE_LEN])
{
	struct peer *p = peer_find(s, peer_id);

	if (p == NULL || p->chal == 0)
		return false;
	challenge_nonce(s, p, nonce);
	return true;
}

bool
seal_confirm(struct seal *s, uint32_t peer_id, const struct seal_opened *op,
             const uint8_t nonce[WIRE_NONCE_LEN])
{
	struct peer *p = peer_find(s, peer_id);
	uint8_t want[WIRE_NONCE_LEN];

	if (p == NULL || p->chal == 0)
		return false;
	challenge_nonce(s, p, want);
	if (sodium_memcmp(want, nonce, WIRE_NONCE_LEN) != 0)
		return false;
	p->chal = 0;
	if (op->session == p->session)
		return true;
	/* Everything the session sent before its response could have been recorded before
	 * this site started: all of it counts as seen. */
	p->session = op->session;
	p->replay = (struct seal_replay){.top = op->counter, .bitmap = UINT64_MAX};
	return true;
}

void
seal_assume(struct seal *s, uint32_t peer_id, const struct seal_opened *op)
{
	struct peer *p = peer_find(s, peer_id);

	if (p == NULL)
		return;
	p->session = op->session;
	p->replay = (struct seal_replay){.top = op->counter, .bitmap = 1};
}

/* ---- replay window ---- */

bool
seal_replay_check(const struct seal_replay *r, uint64_t counter)
{
	if (counter == 0)
		return false;
	if (counter > r->top)
		return true;
	if (r->top - counter >= SEAL_REPLAY_WINDOW)
		return false;
	return !(r->bitmap & (UINT64_C(1) << (r->top - counter)));
}

void
seal_replay_update(struct seal_replay *r, uint64_t counter)
{
	if (counter > r->top) {
		uint64_t shift = counter - r->top;

		r->bitmap = shift >= 64 ? 0 : r->bitmap << shift;
		r->bitmap |= 1;
		r->top = counter;
	} else if (r->top - counter < SEAL_REPLAY_WINDOW) {
		r->bitmap |= UINT64_C(1) << (r->top - counter);
	}
}

/* ---- signatures ---- */

int
seal_sign(const struct seal *s, const uint8_t *msg, size_t len, uint8_t sig[WIRE_SIG_LEN])
{
	uint8_t h[64], r[32], k[32], ka[32];
	crypto_hash_sha512_state st;
	int rc = -1;

	/* Deterministic nonce from the secret scalar and the message, as Ed25519 does. */
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, (const uint8_t *)nonce_context, sizeof(nonce_context));
	crypto_hash_sha512_update(&st, s->sec->sign_scalar, 32);
	crypto_hash_sha512_update(&st, msg, len);
	crypto_hash_sha512_final(&st, h);
	crypto_core_ed25519_scalar_reduce(r, h);
	if (crypto_scalarmult_ed25519_base_noclamp(sig, r) != 0)
		goto out;
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, sig, 32);
	crypto_hash_sha512_update(&st, s->sec->sign_pub, 32);
	crypto_hash_sha512_update(&st, msg, len);
	crypto_hash_sha512_final(&st, h);
	crypto_core_ed25519_scalar_reduce(k, h);
	crypto_core_ed25519_scalar_mul(ka, k, s->sec->sign_scalar);
	crypto_core_ed25519_scalar_add(sig + 32, ka, r);
	rc = 0;
out:
	sodium_memzero(h, sizeof(h));
	sodium_memzero(r, sizeof(r));
	sodium_memzero(ka, sizeof(ka));
	return rc;
}

/* Integers mod p = 2^255 - 19 in five limbs of 51 bits, for the one equation that ties an
 * Edwards key to a Montgomery one. Only public keys pass through here. */
#define LIMB_MASK ((UINT64_C(1) << 51) - 1)

struct fe {
	uint64_t v[5];
};

static uint64_t
load_le64(const uint8_t *b)
{
	uint64_t r = 0;

	for (int i = 7; i >= 0; i--)
		r = r << 8 | b[i];
	return r;
}

/* The low 255 bits of b. */
static void
fe_load(struct fe *h, const uint8_t b[32])
{
	h->v[0] = load_le64(b) & LIMB_MASK;
	h->v[1] = load_le64(b + 6) >> 3 & LIMB_MASK;
	h->v[2] = load_le64(b + 12) >> 6 & LIMB_MASK;
	h->v[3] = load_le64(b + 19) >> 1 & LIMB_MASK;
	h->v[4] = load_le64(b + 24) >> 12 & LIMB_MASK;
}

/* Limbs below 2^51 again, the top's excess folded in as 2^255 == 19. */
static void
fe_carry(uint64_t v[5])
{
	for (int i = 0; i < 4; i++) {
		v[i + 1] += v[i] >> 51;
		v[i] &= LIMB_MASK;
	}
	v[0] += 19 * (v[4] >> 51);
	v[4] &= LIMB_MASK;
	v[1] += v[0] >> 51;
	v[0] &= LIMB_MASK;
}

/* h = f * g, limbs of f and g below 2^54. */
static void
fe_mul(struct fe *h, const struct fe *f, const struct fe *g)
{
	typedef unsigned __int128 u128;
	const uint64_t *a = f->v, *b = g->v;
	uint64_t b19[5];
	u128 r[5];

	for (int i = 1; i < 5; i++)
		b19[i] = 19 * b[i];
	r[0] = (u128)a[0] * b[0] + (u128)a[1] * b19[4] + (u128)a[2] * b19[3] + (u128)a[3] * b19[2] +
	       (u128)a[4] * b19[1];
	r[1] = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * b19[4] + (u128)a[3] * b19[3] +
	       (u128)a[4] * b19[2];
	r[2] = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0] + (u128)a[3] * b19[4] +
	       (u128)a[4] * b19[3];
	r[3] = (u128)a[0] * b[3] + (u128)a[1] * b[2] + (u128)a[2] * b[1] + (u128)a[3] * b[0] +
	       (u128)a[4] * b19[4];
	r[4] = (u128)a[0] * b[4] + (u128)a[1] * b[3] + (u128)a[2] * b[2] + (u128)a[3] * b[1] +
	       (u128)a[4] * b[0];
	for (int i = 0; i < 4; i++) {
		r[i + 1] += r[i] >> 51;
		h->v[i] = (uint64_t)r[i] & LIMB_MASK;
	}
	h->v[4] = (uint64_t)r[4] & LIMB_MASK;
	h->v[0] += 19 * (uint64_t)(r[4] >> 51);
	fe_carry(h->v);
}

/* The representative below p. */
static void
fe_canonical(struct fe *h)
{
	uint64_t q;

	fe_carry(h->v);
	fe_carry(h->v);
	/* q: 1 when h >= p, that is when h + 19 reaches 2^255. */
	q = (h->v[0] + 19) >> 51;
	for (int i = 1; i < 5; i++)
		q = (h->v[i] + q) >> 51;
	h->v[0] += 19 * q;
	for (int i = 0; i < 4; i++) {
		h->v[i + 1] += h->v[i] >> 51;
		h->v[i] &= LIMB_MASK;
	}
	h->v[4] &= LIMB_MASK;
}

/* Whether the 32 bytes are an integer below p, top bit clear. */
static bool
below_p(const uint8_t b[32])
{
	if (b[31] != 0x7f)
		return b[31] < 0x7f;
	for (int i = 30; i > 0; i--)
		if (b[i] != 0xff)
			return true;
	return b[0] < 0xed;
}

bool
seal_keys_bound(const uint8_t x25519_pub[32], const uint8_t sign_key[32])
{
	/* p + 1 in limbs, then twice p plus one: what 1 - y is taken from, so no limb goes
	 * below zero. */
	static const uint64_t two_p_plus_1[5] = {
	        (UINT64_C(1) << 52) - 37, (UINT64_C(1) << 52) - 2, (UINT64_C(1) << 52) - 2,
	        (UINT64_C(1) << 52) - 2,  (UINT64_C(1) << 52) - 2,
	};
	struct fe u, y, num, den, rhs;

	/* XEdDSA's convention: the sign bit clear, both coordinates canonical, and the
	 * birational map u = (1 + y) / (1 - y) checked as 1 + y == u (1 - y), which needs no
	 * inversion (y == 1, the point at infinity on the Montgomery side, fails it). That y is
	 * on the curve at all is the signature check's to find (it decodes the point). */
	if ((sign_key[31] & 0x80) || !below_p(sign_key) || !below_p(x25519_pub))
		return false;
	fe_load(&u, x25519_pub);
	fe_load(&y, sign_key);
	for (int i = 0; i < 5; i++) {
		num.v[i] = y.v[i] + (i == 0);
		den.v[i] = two_p_plus_1[i] - y.v[i];
	}
	fe_mul(&rhs, &u, &den);
	fe_canonical(&num);
	fe_canonical(&rhs);
	return memcmp(num.v, rhs.v, sizeof(num.v)) == 0;
}

bool
seal_verify(const uint8_t x25519_pub[32], const uint8_t sign_key[32], const uint8_t *msg,
            size_t len, const uint8_t sig[WIRE_SIG_LEN])
{
	/* The Edwards key is only trusted if it is the one the X25519 key maps to. */
	return seal_keys_bound(x25519_pub, sign_key) && seal_verify_bound(sign_key, msg, len, sig);
}

bool
seal_verify_bound(const uint8_t sign_key[32], const uint8_t *msg, size_t len,
                  const uint8_t sig[WIRE_SIG_LEN])
{
	return crypto_sign_ed25519_verify_detached(sig, msg, len, sign_key) == 0;
}
