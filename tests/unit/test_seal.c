/* Datagram sealing: round trip, tampering anywhere, wrong keys and names, the replay
 * window's edges, sessions (no keystream shared by two runs, confirmation by challenge), and
 * descriptor signatures tied to the X25519 key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "netd/seal.h"
#include "tests/unit/heap.h"

struct pair {
	uint8_t priv_a[32], priv_b[32], priv_c[32];
	struct seal *a, *b, *c;
};

/* A session as a start draws it: nothing stored, nothing shared with an earlier run. */
static struct seal *
start(const char *name, const uint8_t priv[32])
{
	uint64_t session = 0;

	while (session == 0)
		randombytes_buf(&session, sizeof(session));
	return seal_new(name, priv, session);
}

static int
setup(void **state)
{
	static struct pair p;

	if (sodium_init() < 0)
		return -1;
	memset(p.priv_a, 1, 32);
	memset(p.priv_b, 2, 32);
	memset(p.priv_c, 3, 32);
	p.a = start("a", p.priv_a);
	p.b = start("b", p.priv_b);
	p.c = start("c", p.priv_c);
	*state = &p;
	return p.a && p.b && p.c ? 0 : -1;
}

static int
teardown(void **state)
{
	struct pair *p = *state;

	seal_free(p->a);
	seal_free(p->b);
	seal_free(p->c);
	return 0;
}

enum { ID_A = 1, ID_B = 2, ID_C = 3 };

/* b confirms the session of the datagram d from `from`, as a response to b's challenge in d
 * would. */
static void
confirm(struct seal *b, uint32_t from_id, struct seal *from, const uint8_t *d, size_t len)
{
	uint8_t out[WIRE_DATAGRAM_MAX], nonce[WIRE_NONCE_LEN];
	struct seal_opened op;
	size_t olen;

	assert_int_equal(seal_unwrap(b, from_id, seal_public_key(from), d, len, out, sizeof(out),
	                             &olen, &op),
	                 0);
	assert_int_equal(seal_challenge(b, from_id, seal_public_key(from), nonce), 0);
	assert_true(seal_confirm(b, from_id, &op, nonce));
}

static size_t
wrap_ab(struct pair *p, const char *text, uint8_t *out)
{
	size_t len;

	assert_int_equal(seal_wrap(p->a, ID_B, seal_public_key(p->b), (const uint8_t *)text,
	                           strlen(text), out, WIRE_DATAGRAM_MAX, &len),
	                 0);
	return len;
}

/* 0: accepted; 1: authentic, but from a session b has not confirmed; or an error. */
static int
unwrap_b(struct pair *p, const uint8_t *d, size_t len, char *text)
{
	uint8_t out[WIRE_DATAGRAM_MAX];
	struct seal_opened op;
	size_t olen = 0;
	int rc = seal_unwrap(p->b, ID_A, seal_public_key(p->a), d, len, out, sizeof(out), &olen,
	                     &op);

	if (rc == 0 && text != NULL) {
		memcpy(text, out, olen);
		text[olen] = '\0';
	}
	return rc == 0 && !op.fresh ? 1 : rc;
}

/* a's first datagram is authentic but not accepted at b until a's session answered b's
 * challenge; then it is. */
static void
confirm_ab(struct pair *p)
{
	uint8_t d[WIRE_DATAGRAM_MAX];
	size_t len = wrap_ab(p, "first", d);

	assert_int_equal(unwrap_b(p, d, len, NULL), 1);
	confirm(p->b, ID_A, p->a, d, len);
	assert_int_equal(unwrap_b(p, d, len, NULL), SEAL_ERR_REPLAYED);
}

static void
test_round_trip(void **state)
{
	struct pair *p = *state;
	uint8_t d[WIRE_DATAGRAM_MAX];
	char name[WIRE_NAME_MAX + 1], text[64];
	size_t len;

	confirm_ab(p);
	len = wrap_ab(p, "hello", d);
	assert_int_equal(len, 1 + 1 + 1 + 8 + 4 + 5 + SEAL_TAG_LEN);
	assert_int_equal(seal_sender(d, len, name), 0);
	assert_string_equal(name, "a");
	assert_int_equal(unwrap_b(p, d, len, text), 0);
	assert_string_equal(text, "hello");
	/* The payload is not in the clear. */
	assert_null(memmem(d, len, "hello", 5));
}

static void
test_tamper_every_byte(void **state)
{
	struct pair *p = *state;
	uint8_t d[WIRE_DATAGRAM_MAX];
	size_t len = wrap_ab(p, "tamper me", d);

	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			int rc;

			d[i] ^= (uint8_t)(1 << bit);
			rc = unwrap_b(p, d, len, NULL);
			/* Header bytes may break parsing or the name lookup; anything else
			 * fails authentication. Never accepted. */
			assert_true(rc < 0);
			d[i] ^= (uint8_t)(1 << bit);
		}
	}
	/* Every truncation. */
	for (size_t cut = 0; cut < len; cut++)
		assert_true(unwrap_b(p, d, cut, NULL) < 0);
	/* The untouched datagram still opens: failures moved nothing. */
	assert_int_equal(unwrap_b(p, d, len, NULL), 0);
}

static void
test_replay_and_order(void **state)
{
	struct pair *p = *state;
	uint8_t d1[WIRE_DATAGRAM_MAX], d2[WIRE_DATAGRAM_MAX];
	size_t l1 = wrap_ab(p, "one", d1), l2 = wrap_ab(p, "two", d2);

	assert_int_equal(unwrap_b(p, d2, l2, NULL), 0);
	assert_int_equal(unwrap_b(p, d1, l1, NULL), 0); /* reordered within the window */
	assert_int_equal(unwrap_b(p, d1, l1, NULL), SEAL_ERR_REPLAYED);
	assert_int_equal(unwrap_b(p, d2, l2, NULL), SEAL_ERR_REPLAYED);
}

static void
test_wrong_key_and_name(void **state)
{
	struct pair *p = *state;
	uint8_t d[WIRE_DATAGRAM_MAX], out[WIRE_DATAGRAM_MAX];
	struct seal_opened op;
	size_t len, olen;

	/* Meant for b, opened by c with a's key: the pairwise key differs. */
	len = wrap_ab(p, "for b", d);
	assert_int_equal(seal_unwrap(p->c, ID_A, seal_public_key(p->a), d, len, out, sizeof(out),
	                             &olen, &op),
	                 SEAL_ERR_FORGED);
	/* c claims to be a: the header names a, so b uses a's key and fails. */
	assert_int_equal(seal_wrap(p->c, ID_B, seal_public_key(p->b), (const uint8_t *)"x", 1, d,
	                           sizeof(d), &len),
	                 0);
	d[2] = 'a';
	assert_int_equal(unwrap_b(p, d, len, NULL), SEAL_ERR_FORGED);
	/* Reflected back to its sender: the directions have different keys. */
	len = wrap_ab(p, "reflect", d);
	assert_int_equal(seal_unwrap(p->a, ID_B, seal_public_key(p->b), d, len, out, sizeof(out),
	                             &olen, &op),
	                 SEAL_ERR_FORGED);
	/* A low-order public key gives no shared secret. */
	uint8_t zero[32] = {0};
	assert_int_equal(seal_wrap(p->a, 99, zero, (const uint8_t *)"x", 1, d, sizeof(d), &len),
	                 SEAL_ERR_KEY);
}

static void
test_malformed_header(void **state)
{
	struct pair *p = *state;
	uint8_t d[WIRE_DATAGRAM_MAX + 8];
	char name[WIRE_NAME_MAX + 1];
	size_t len = wrap_ab(p, "hdr", d);

	d[0] = 0x12;
	assert_int_equal(seal_sender(d, len, name), SEAL_ERR_MALFORMED);
	d[0] = SEAL_KIND;
	d[1] = 0;
	assert_int_equal(seal_sender(d, len, name), SEAL_ERR_MALFORMED);
	d[1] = WIRE_NAME_MAX + 1;
	assert_int_equal(seal_sender(d, len, name), SEAL_ERR_MALFORMED);
	d[1] = 1;
	d[2] = 'A';
	assert_int_equal(seal_sender(d, len, name), SEAL_ERR_MALFORMED);
	d[2] = 'a';
	assert_int_equal(seal_sender(d, 1 + 1 + 1 + 8 + 4 + SEAL_TAG_LEN - 1, name),
	                 SEAL_ERR_MALFORMED);
	assert_int_equal(seal_sender(d, WIRE_DATAGRAM_MAX + 1, name), SEAL_ERR_MALFORMED);
	/* Too large a payload is refused on the way out. */
	static uint8_t big[SEAL_PAYLOAD_MAX + 1];
	size_t olen;
	assert_int_equal(
	        seal_wrap(p->a, ID_B, seal_public_key(p->b), big, sizeof(big), d, sizeof(d), &olen),
	        SEAL_ERR_MALFORMED);
	assert_int_equal(seal_wrap(p->a, ID_B, seal_public_key(p->b), big, SEAL_PAYLOAD_MAX, d,
	                           sizeof(d), &olen),
	                 0);
	assert_true(olen <= WIRE_DATAGRAM_MAX);
}

/* The window's edges, table-driven: counters relative to the highest seen. */
static void
test_window_edges(void **state)
{
	static const struct {
		uint64_t counter;
		bool accept;
	} steps[] = {
	        {0, false},                           /* never valid */
	        {100, true},                          /* first */
	        {100, false},                         /* duplicate of the top */
	        {100 - SEAL_REPLAY_WINDOW + 1, true}, /* oldest still inside */
	        {100 - SEAL_REPLAY_WINDOW + 1, false},
	        {100 - SEAL_REPLAY_WINDOW, false}, /* just outside */
	        {99, true},
	        {164, true}, /* jump by exactly the window: 100 now falls out */
	        {100, false},
	        {101, true},
	        {1000, true}, /* far jump clears everything */
	        {999, true},
	        {164, false},
	};
	struct seal_replay r = {0, 0};

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		bool ok = seal_replay_check(&r, steps[i].counter);

		assert_int_equal(ok, steps[i].accept);
		if (ok)
			seal_replay_update(&r, steps[i].counter);
	}
}

/* A sender that starts again from nothing (its state file gone, or a clone of its machine)
 * counts from 1 again, but under a key of its new session: the keystream of its first run is
 * never used again, so XORing two ciphertexts does not give the XOR of their plaintexts. */
static void
test_restart_never_reuses_a_nonce(void **state)
{
	struct pair *p = *state;
	static const char t1[] = "membership of run one", t2[] = "membership of run two";
	uint8_t d1[WIRE_DATAGRAM_MAX], d2[WIRE_DATAGRAM_MAX];
	size_t l1, l2, hl, same = 0;

	for (int run = 0; run < 16; run++) {
		struct seal *r1 = start("a", p->priv_a), *r2 = start("a", p->priv_a);

		assert_non_null(r1);
		assert_non_null(r2);
		assert_int_equal(seal_next_counter(r1), seal_next_counter(r2));
		assert_int_equal(seal_wrap(r1, ID_B, seal_public_key(p->b), (const uint8_t *)t1,
		                           sizeof(t1), d1, sizeof(d1), &l1),
		                 0);
		assert_int_equal(seal_wrap(r2, ID_B, seal_public_key(p->b), (const uint8_t *)t2,
		                           sizeof(t2), d2, sizeof(d2), &l2),
		                 0);
		assert_int_equal(l1, l2);
		hl = l1 - sizeof(t1) - SEAL_TAG_LEN;
		for (size_t i = 0; i < sizeof(t1); i++)
			same += (uint8_t)(d1[hl + i] ^ d2[hl + i]) == (uint8_t)(t1[i] ^ t2[i]);
		seal_free(r1);
		seal_free(r2);
	}
	/* A shared keystream makes every byte match; independent ones about 1 in 256. */
	assert_true(same < 16 * sizeof(t1) / 8);
}

/* A session is confirmed only by a response to this site's own outstanding challenge: a
 * recording of the sender's earlier session, or a response to some other nonce, confirms
 * nothing; the new session is confirmed at once by the right response. */
static void
test_confirmation(void **state)
{
	struct pair *p = *state;
	uint8_t old[WIRE_DATAGRAM_MAX], d[WIRE_DATAGRAM_MAX], out[WIRE_DATAGRAM_MAX],
	        nonce[WIRE_NONCE_LEN], again[WIRE_NONCE_LEN], wrong[WIRE_NONCE_LEN];
	struct seal *b = start("b", p->priv_b), *a2;
	struct seal_opened op_old, op;
	size_t oldlen, len, olen;

	assert_non_null(b);
	/* Recorded from a's current session, replayed at a b that restarted. */
	assert_int_equal(seal_wrap(p->a, ID_B, seal_public_key(b), (const uint8_t *)"old", 3, old,
	                           sizeof(old), &oldlen),
	                 0);
	assert_int_equal(seal_unwrap(b, ID_A, seal_public_key(p->a), old, oldlen, out, sizeof(out),
	                             &olen, &op_old),
	                 0);
	assert_false(op_old.fresh);
	assert_false(seal_challenge_pending(b, ID_A, nonce));
	assert_int_equal(seal_challenge(b, ID_A, seal_public_key(p->a), nonce), 0);
	/* One outstanding challenge: asking again gives the same nonce. */
	assert_int_equal(seal_challenge(b, ID_A, seal_public_key(p->a), again), 0);
	assert_memory_equal(nonce, again, WIRE_NONCE_LEN);
	assert_true(seal_challenge_pending(b, ID_A, again));
	memcpy(wrong, nonce, sizeof(wrong));
	wrong[WIRE_NONCE_LEN - 1] ^= 1;
	assert_false(seal_confirm(b, ID_A, &op_old, wrong));
	/* a restarts; its new session answers: confirmed, the window starts at its counter. */
	a2 = start("a", p->priv_a);
	assert_non_null(a2);
	assert_int_equal(seal_wrap(a2, ID_B, seal_public_key(b), (const uint8_t *)"resp", 4, d,
	                           sizeof(d), &len),
	                 0);
	assert_int_equal(
	        seal_unwrap(b, ID_A, seal_public_key(p->a), d, len, out, sizeof(out), &olen, &op),
	        0);
	assert_true(seal_confirm(b, ID_A, &op, nonce));
	assert_false(seal_challenge_pending(b, ID_A, again));
	/* The challenge is spent, and the old session's datagram stays refused. */
	assert_false(seal_confirm(b, ID_A, &op_old, nonce));
	assert_int_equal(seal_unwrap(b, ID_A, seal_public_key(p->a), old, oldlen, out, sizeof(out),
	                             &olen, &op_old),
	                 0);
	assert_false(op_old.fresh);
	assert_int_equal(
	        seal_unwrap(b, ID_A, seal_public_key(p->a), d, len, out, sizeof(out), &olen, &op),
	        SEAL_ERR_REPLAYED);
	/* A new challenge is a new nonce. */
	assert_int_equal(seal_challenge(b, ID_A, seal_public_key(p->a), again), 0);
	assert_memory_not_equal(nonce, again, WIRE_NONCE_LEN);
	seal_free(a2);
	seal_free(b);
}

/* A receiver that restarted while the sender's session went on: the session's response
 * confirms it, but what it sent before the response may be recorded from before the restart.
 * All of that counts as seen, the last datagram before the response too: nothing sealed
 * before the proof is ever fresh. */
static void
test_confirmation_after_receiver_restart(void **state)
{
	struct pair *p = *state;
	uint8_t d[4][WIRE_DATAGRAM_MAX], out[WIRE_DATAGRAM_MAX], nonce[WIRE_NONCE_LEN];
	struct seal *b = start("b", p->priv_b);
	struct seal_opened op[4];
	size_t len[4], olen;

	assert_non_null(b);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(seal_wrap(p->a, ID_B, seal_public_key(b), (const uint8_t *)"x", 1,
		                           d[i], sizeof(d[i]), &len[i]),
		                 0);
		assert_int_equal(seal_unwrap(b, ID_A, seal_public_key(p->a), d[i], len[i], out,
		                             sizeof(out), &olen, &op[i]),
		                 0);
		assert_false(op[i].fresh);
	}
	assert_int_equal(seal_challenge(b, ID_A, seal_public_key(p->a), nonce), 0);
	assert_true(seal_confirm(b, ID_A, &op[3], nonce));
	for (int i = 0; i < 4; i++) {
		struct seal_opened again;

		assert_int_equal(seal_unwrap(b, ID_A, seal_public_key(p->a), d[i], len[i], out,
		                             sizeof(out), &olen, &again),
		                 SEAL_ERR_REPLAYED);
	}
	seal_free(b);
}

static void
test_counter_within_session(void **state)
{
	struct pair *p = *state;
	struct seal *s = seal_new("a", p->priv_a, 5);
	uint8_t d[WIRE_DATAGRAM_MAX];
	size_t len;

	assert_non_null(s);
	assert_null(seal_new("a", p->priv_a, 0)); /* 0 is "no session" */
	assert_int_equal(seal_session(s), 5);
	assert_int_equal(seal_next_counter(s), 1);
	assert_int_equal(seal_wrap(s, ID_B, seal_public_key(p->b), (const uint8_t *)"x", 1, d,
	                           sizeof(d), &len),
	                 0);
	assert_int_equal(seal_next_counter(s), 2);
	seal_free(s);
}

/* A session that has sealed all its 4-byte counters goes on in a new one: a peer that
 * confirmed the old session sees an unconfirmed one, confirms it after one exchange, and
 * the old session's datagrams stay where its window left them. */
static void
test_rotation(void **state)
{
	struct pair *p = *state;
	uint8_t before[WIRE_DATAGRAM_MAX], after[WIRE_DATAGRAM_MAX], out[WIRE_DATAGRAM_MAX],
	        nonce[WIRE_NONCE_LEN];
	struct seal_opened op;
	size_t blen, alen, olen;
	uint64_t old;

	assert_int_equal(seal_wrap(p->a, ID_B, seal_public_key(p->b), (const uint8_t *)"x", 1,
	                           before, sizeof(before), &blen),
	                 0);
	assert_int_equal(seal_unwrap(p->b, ID_A, seal_public_key(p->a), before, blen, out,
	                             sizeof(out), &olen, &op),
	                 0);
	assert_true(op.fresh);
	old = seal_session(p->a);
	seal_rotate(p->a);
	assert_int_not_equal(seal_session(p->a), old);
	assert_int_not_equal(seal_session(p->a), 0);
	assert_int_equal(seal_next_counter(p->a), 1);
	assert_int_equal(seal_wrap(p->a, ID_B, seal_public_key(p->b), (const uint8_t *)"y", 1,
	                           after, sizeof(after), &alen),
	                 0);
	assert_int_equal(seal_unwrap(p->b, ID_A, seal_public_key(p->a), after, alen, out,
	                             sizeof(out), &olen, &op),
	                 0);
	assert_false(op.fresh);
	assert_int_equal(seal_challenge(p->b, ID_A, seal_public_key(p->a), nonce), 0);
	assert_true(seal_confirm(p->b, ID_A, &op, nonce));
	assert_int_equal(seal_unwrap(p->b, ID_A, seal_public_key(p->a), before, blen, out,
	                             sizeof(out), &olen, &op),
	                 0);
	assert_false(op.fresh);
}

static void
test_signatures(void **state)
{
	struct pair *p = *state;
	uint8_t sig[WIRE_SIG_LEN], msg[] = "descriptor bytes", u[32];

	assert_int_equal(seal_sign(p->a, msg, sizeof(msg), sig), 0);
	assert_true(seal_verify(seal_public_key(p->a), seal_sign_key(p->a), msg, sizeof(msg), sig));
	/* The Edwards key maps back to the X25519 key. */
	assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(u, seal_sign_key(p->a)), 0);
	assert_memory_equal(u, seal_public_key(p->a), 32);
	assert_int_equal(seal_sign_key(p->a)[31] & 0x80, 0);
	/* Standard Ed25519 verification accepts it too. */
	assert_int_equal(
	        crypto_sign_ed25519_verify_detached(sig, msg, sizeof(msg), seal_sign_key(p->a)), 0);
	/* Wrong message, wrong signer, a signing key not tied to the X25519 key. */
	msg[0] ^= 1;
	assert_false(
	        seal_verify(seal_public_key(p->a), seal_sign_key(p->a), msg, sizeof(msg), sig));
	msg[0] ^= 1;
	assert_false(
	        seal_verify(seal_public_key(p->b), seal_sign_key(p->a), msg, sizeof(msg), sig));
	assert_false(
	        seal_verify(seal_public_key(p->a), seal_sign_key(p->b), msg, sizeof(msg), sig));
	uint8_t other_pk[32], other_sk[64], other_sig[64];
	crypto_sign_keypair(other_pk, other_sk);
	crypto_sign_detached(other_sig, NULL, msg, sizeof(msg), other_sk);
	assert_false(seal_verify(seal_public_key(p->a), other_pk, msg, sizeof(msg), other_sig));
	/* Many keys: the sign bit convention holds for both parities of the point. */
	for (int i = 0; i < 32; i++) {
		uint8_t priv[32];
		struct seal *s;

		randombytes_buf(priv, sizeof(priv));
		s = start("k", priv);
		assert_non_null(s);
		assert_int_equal(seal_sign(s, msg, sizeof(msg), sig), 0);
		assert_true(
		        seal_verify(seal_public_key(s), seal_sign_key(s), msg, sizeof(msg), sig));
		seal_free(s);
	}
}

/* 32 little-endian bytes: value v below 2^64 plus k * p, p = 2^255 - 19, for k in 0..1. */
static void
le_plus_p(uint8_t out[32], uint64_t v, int k)
{
	memset(out, 0, 32);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
	if (k == 1) {
		/* p's bytes: ed ff .. ff 7f, added byte by byte. */
		unsigned carry = 0;

		for (int i = 0; i < 32; i++) {
			unsigned pb = i == 0 ? 0xed : i == 31 ? 0x7f : 0xff;
			unsigned sum = out[i] + pb + carry;

			out[i] = (uint8_t)sum;
			carry = sum >> 8;
		}
	}
}

/* The Edwards form of an X25519 key, checked as XEdDSA maps it: against libsodium's own
 * conversion for keys it converts, against the curves' base points, and refused for
 * encodings that are not canonical even where the equation would hold. */
static void
test_keys_bound(void **state)
{
	/* u = 9 and y = 4/5: the base points of Curve25519 and Ed25519. */
	static const uint8_t base_u[32] = {9};
	uint8_t base_y[32], u[32], y[32], pk[32], sk[64];
	int converted = 0;

	(void)state;
	memset(base_y, 0x66, sizeof(base_y));
	base_y[0] = 0x58;
	assert_true(seal_keys_bound(base_u, base_y));
	base_y[31] |= 0x80; /* the other point of that y */
	assert_false(seal_keys_bound(base_u, base_y));
	for (int i = 0; i < 2000; i++) {
		crypto_sign_keypair(pk, sk);
		assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(u, pk), 0);
		if (pk[31] & 0x80) {
			assert_false(seal_keys_bound(u, pk));
			pk[31] &= 0x7f; /* -A: the same u */
			assert_true(seal_keys_bound(u, pk) ==
			            (crypto_sign_ed25519_pk_to_curve25519(y, pk) == 0 &&
			             memcmp(y, u, 32) == 0));
			continue;
		}
		assert_true(seal_keys_bound(u, pk));
		u[i % 31] ^= (uint8_t)(1u << (i % 8));
		assert_false(seal_keys_bound(u, pk));
	}
	/* Any 255-bit y libsodium converts agrees; the rest of the equation's pairs fail. */
	for (int i = 0; i < 4000; i++) {
		randombytes_buf(y, sizeof(y));
		y[31] &= 0x7f;
		randombytes_buf(u, sizeof(u));
		u[31] &= 0x7f;
		assert_false(seal_keys_bound(u, y));
		if (crypto_sign_ed25519_pk_to_curve25519(u, y) == 0) {
			converted++;
			assert_true(seal_keys_bound(u, y));
		}
	}
	assert_true(converted > 0);
	/* y = 0 gives u = 1, y = 2 gives u = -3: true canonically, false with either coordinate
	 * written as itself plus p. */
	le_plus_p(u, 1, 0);
	le_plus_p(y, 0, 0);
	assert_true(seal_keys_bound(u, y));
	le_plus_p(u, 1, 1);
	assert_false(seal_keys_bound(u, y));
	memset(u, 0xff, sizeof(u));
	u[0] = 0xea; /* p - 3 */
	u[31] = 0x7f;
	le_plus_p(y, 2, 0);
	assert_true(seal_keys_bound(u, y));
	le_plus_p(y, 2, 1);
	assert_false(seal_keys_bound(u, y));
	/* y = 1 has no u; -1 maps to u = 0. */
	le_plus_p(y, 1, 0);
	for (int i = 0; i < 64; i++) {
		randombytes_buf(u, sizeof(u));
		u[31] &= 0x7f;
		assert_false(seal_keys_bound(u, y));
	}
	memset(y, 0xff, sizeof(y));
	y[0] = 0xec; /* p - 1 */
	y[31] = 0x7f;
	le_plus_p(u, 0, 0);
	assert_true(seal_keys_bound(u, y));
}

/* A signature that the equation [S]B = R + [h]A alone accepts for a key A of small order
 * (`order` 1, 2 or 4): R = rB and S = r hold whenever h is a multiple of A's order. */
static void
forge_small_order(const uint8_t pk[32], unsigned order, const uint8_t *msg, size_t len,
                  uint8_t sig[WIRE_SIG_LEN])
{
	crypto_hash_sha512_state st;
	uint8_t wide[64], h[32];

	do {
		randombytes_buf(wide, sizeof(wide));
		crypto_core_ed25519_scalar_reduce(sig + 32, wide);
		assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(sig, sig + 32), 0);
		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, sig, 32);
		crypto_hash_sha512_update(&st, pk, 32);
		crypto_hash_sha512_update(&st, msg, len);
		crypto_hash_sha512_final(&st, wide);
		crypto_core_ed25519_scalar_reduce(h, wide);
	} while (h[0] % order != 0);
}

/* A descriptor signed under an Ed25519 key of small order is refused, even where the key is
 * the one an X25519 key maps to (the order-2 point (0, -1) for u = 0, an order-4 point
 * (x, 0) for u = 1) and the signature satisfies the verification equation: such a key lets
 * anyone sign anything. The identity (y = 1), canonical or written as p + 1, has no u. */
static void
test_small_order_sign_key_refused(void **state)
{
	static const uint8_t msg[] = "descriptor bytes";
	static const unsigned order[4] = {1, 1, 2, 4};
	uint8_t u[4][32] = {{0}}, y[4][32] = {{1}}, sig[WIRE_SIG_LEN];

	(void)state;
	le_plus_p(y[1], 1, 1);
	u[1][0] = 9;
	le_plus_p(y[2], 0, 1);
	y[2][0]--; /* p - 1: -1 */
	u[3][0] = 1;
	for (size_t i = 0; i < 4; i++) {
		forge_small_order(y[i], order[i], msg, sizeof(msg), sig);
		if (seal_verify(u[i], y[i], msg, sizeof(msg), sig))
			fail_msg("key %zu: a signature under a key of order %u verifies", i,
			         order[i]);
		assert_false(seal_verify_bound(y[i], msg, sizeof(msg), sig));
	}
}

/* The entry of an id whose public key the caller changed (a trust reload) is made anew from
 * the new key, its window reset: the old key's datagrams no longer open under the id, the new
 * key's do, unconfirmed; and so do the old key's again once it is back. */
static void
test_key_changed_for_id(void **state)
{
	struct pair *p = *state;
	uint8_t d[WIRE_DATAGRAM_MAX], out[WIRE_DATAGRAM_MAX];
	struct seal_opened op;
	size_t len = wrap_ab(p, "a", d), olen;

	assert_int_equal(seal_unwrap(p->b, ID_A, seal_public_key(p->c), d, len, out, sizeof(out),
	                             &olen, &op),
	                 SEAL_ERR_FORGED);
	assert_int_equal(seal_wrap(p->c, ID_B, seal_public_key(p->b), (const uint8_t *)"c", 1, d,
	                           sizeof(d), &len),
	                 0);
	assert_int_equal(seal_unwrap(p->b, ID_A, seal_public_key(p->c), d, len, out, sizeof(out),
	                             &olen, &op),
	                 0);
	assert_false(op.fresh);
	assert_int_equal(out[0], 'c');
	assert_int_equal(unwrap_b(p, d, wrap_ab(p, "a", d), NULL), 1);
}

/* A challenge is its session and number: one outstanding when the session rotates is
 * dropped, and a response to it confirms nothing; the next is made in the new session. */
static void
test_challenge_across_rotation(void **state)
{
	struct pair *p = *state;
	uint8_t old[WIRE_NONCE_LEN], now[WIRE_NONCE_LEN];
	struct seal_opened op = {.session = 5, .counter = 1};

	assert_int_equal(seal_challenge(p->b, ID_A, seal_public_key(p->a), old), 0);
	assert_true(seal_challenge_pending(p->b, ID_A, now));
	assert_memory_equal(old, now, WIRE_NONCE_LEN);
	seal_rotate(p->b);
	assert_false(seal_challenge_pending(p->b, ID_A, now));
	assert_false(seal_confirm(p->b, ID_A, &op, old));
	assert_int_equal(seal_challenge(p->b, ID_A, seal_public_key(p->a), now), 0);
	assert_memory_not_equal(old, now, WIRE_NONCE_LEN);
	assert_true(seal_confirm(p->b, ID_A, &op, now));
	assert_false(seal_challenge_pending(p->b, ID_A, now));
}

#define MANY_PEERS 1000
/* What the peer table holds a peer for, with many peers (an entry of 80 bytes in an array
 * grown by doubling and a 4-byte slot of its index: 92 bytes a peer at 1,000; 161 with the
 * entries of 144 that kept both direction keys and the public key); a peer is found again
 * by its id among the others, its keys intact. */
static void
test_many_peers(void **state)
{
	struct pair *p = *state;
	uint8_t priv[32], pub[MANY_PEERS][32], d[WIRE_DATAGRAM_MAX], out[WIRE_DATAGRAM_MAX];
	size_t base = heap_in_use(), len, olen, held;
	struct seal *m = start("m", p->priv_c);
	struct seal_opened op;

	assert_non_null(m);
	for (uint32_t i = 0; i < MANY_PEERS; i++) {
		memset(priv, 0, sizeof(priv));
		memcpy(priv, &i, sizeof(i));
		priv[31] = 0x40;
		assert_int_equal(crypto_scalarmult_base(pub[i], priv), 0);
	}
	memcpy(pub[MANY_PEERS / 2], seal_public_key(p->b), 32);
	for (uint32_t i = 0; i < MANY_PEERS; i++)
		assert_int_equal(
		        seal_wrap(m, 100 + i, pub[i], (const uint8_t *)"x", 1, d, sizeof(d), &len),
		        0);
	held = heap_in_use();
	/* Each found again: no entry made anew. */
	for (uint32_t i = 0; i < MANY_PEERS; i++)
		assert_int_equal(
		        seal_wrap(m, 100 + i, pub[i], (const uint8_t *)"y", 1, d, sizeof(d), &len),
		        0);
	assert_int_equal(heap_in_use(), held);
	/* The last datagram to the peer that is b opens at b: its keys are its own. */
	assert_int_equal(seal_wrap(m, 100 + MANY_PEERS / 2, pub[MANY_PEERS / 2],
	                           (const uint8_t *)"z", 1, d, sizeof(d), &len),
	                 0);
	assert_int_equal(
	        seal_unwrap(p->b, 77, seal_public_key(m), d, len, out, sizeof(out), &olen, &op), 0);
	assert_int_equal(olen, 1);
	assert_int_equal(out[0], 'z');
	if (held == 0) {
		print_message("peer table not measured: mallinfo2 counts nothing under this "
		              "allocator\n");
	} else {
		print_message("%d peers: %zu bytes a peer\n", MANY_PEERS,
		              (held - base) / MANY_PEERS);
		assert_true(held - base <= (size_t)MANY_PEERS * 104);
	}
	seal_free(m);
}

static void
test_new_refuses_bad_name(void **state)
{
	struct pair *p = *state;

	assert_null(seal_new("Bad", p->priv_a, 1));
	assert_null(seal_new("", p->priv_a, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_tamper_every_byte),
	        cmocka_unit_test(test_replay_and_order),
	        cmocka_unit_test(test_wrong_key_and_name),
	        cmocka_unit_test(test_malformed_header),
	        cmocka_unit_test(test_window_edges),
	        cmocka_unit_test(test_restart_never_reuses_a_nonce),
	        cmocka_unit_test(test_confirmation),
	        cmocka_unit_test(test_confirmation_after_receiver_restart),
	        cmocka_unit_test(test_counter_within_session),
	        cmocka_unit_test(test_rotation),
	        cmocka_unit_test(test_signatures),
	        cmocka_unit_test(test_keys_bound),
	        cmocka_unit_test(test_small_order_sign_key_refused),
	        cmocka_unit_test(test_key_changed_for_id),
	        cmocka_unit_test(test_challenge_across_rotation),
	        cmocka_unit_test(test_many_peers),
	        cmocka_unit_test(test_new_refuses_bad_name),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
