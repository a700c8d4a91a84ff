/* Datagram sealing: round trip, tampering anywhere, wrong keys and names, the replay
 * window's edges, a restarted sender, and descriptor signatures tied to the X25519 key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "netd/seal.h"

struct pair {
	uint8_t priv_a[32], priv_b[32], priv_c[32];
	struct seal *a, *b, *c;
};

static int
setup(void **state)
{
	static struct pair p;

	if (sodium_init() < 0)
		return -1;
	memset(p.priv_a, 1, 32);
	memset(p.priv_b, 2, 32);
	memset(p.priv_c, 3, 32);
	p.a = seal_new("a", p.priv_a, 1);
	p.b = seal_new("b", p.priv_b, 1);
	p.c = seal_new("c", p.priv_c, 1);
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

static size_t
wrap_ab(struct pair *p, const char *text, uint8_t *out)
{
	size_t len;

	assert_int_equal(seal_wrap(p->a, ID_B, seal_public_key(p->b), (const uint8_t *)text,
	                           strlen(text), out, WIRE_DATAGRAM_MAX, &len),
	                 0);
	return len;
}

static int
unwrap_b(struct pair *p, const uint8_t *d, size_t len, char *text)
{
	uint8_t out[WIRE_DATAGRAM_MAX];
	size_t olen = 0;
	int rc = seal_unwrap(p->b, ID_A, seal_public_key(p->a), d, len, out, sizeof(out), &olen);

	if (rc == 0 && text != NULL) {
		memcpy(text, out, olen);
		text[olen] = '\0';
	}
	return rc;
}

static void
test_round_trip(void **state)
{
	struct pair *p = *state;
	uint8_t d[WIRE_DATAGRAM_MAX];
	char name[WIRE_NAME_MAX + 1], text[64];
	size_t len = wrap_ab(p, "hello", d);

	assert_int_equal(len, 1 + 1 + 1 + 8 + 5 + SEAL_TAG_LEN);
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
	size_t len, olen;

	/* Meant for b, opened by c with a's key: the pairwise key differs. */
	len = wrap_ab(p, "for b", d);
	assert_int_equal(
	        seal_unwrap(p->c, ID_A, seal_public_key(p->a), d, len, out, sizeof(out), &olen),
	        SEAL_ERR_FORGED);
	/* c claims to be a: the header names a, so b uses a's key and fails. */
	assert_int_equal(seal_wrap(p->c, ID_B, seal_public_key(p->b), (const uint8_t *)"x", 1, d,
	                           sizeof(d), &len),
	                 0);
	d[2] = 'a';
	assert_int_equal(unwrap_b(p, d, len, NULL), SEAL_ERR_FORGED);
	/* Reflected back to its sender: the directions have different keys. */
	len = wrap_ab(p, "reflect", d);
	assert_int_equal(
	        seal_unwrap(p->a, ID_B, seal_public_key(p->b), d, len, out, sizeof(out), &olen),
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
	assert_int_equal(seal_sender(d, 1 + 1 + 1 + 8 + SEAL_TAG_LEN - 1, name),
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

/* A restarted sender uses a higher epoch: the receiver accepts it at once, and the
 * datagrams of the earlier run stay refused. */
static void
test_restart(void **state)
{
	struct pair *p = *state;
	uint8_t old[WIRE_DATAGRAM_MAX], d[WIRE_DATAGRAM_MAX];
	size_t oldlen = wrap_ab(p, "before", old), len;
	struct seal *a2;

	assert_int_equal(unwrap_b(p, old, oldlen, NULL), 0);
	a2 = seal_new("a", p->priv_a, 2);
	assert_non_null(a2);
	assert_int_equal(seal_next_counter(a2), (uint64_t)2 << 32 | 1);
	assert_int_equal(seal_wrap(a2, ID_B, seal_public_key(p->b), (const uint8_t *)"after", 5, d,
	                           sizeof(d), &len),
	                 0);
	assert_int_equal(unwrap_b(p, d, len, NULL), 0);
	assert_int_equal(unwrap_b(p, old, oldlen, NULL), SEAL_ERR_REPLAYED);
	/* A restart that reused the old epoch would be locked out until it passed the old
	 * counter: the reason the epoch must grow. */
	struct seal *a1 = seal_new("a", p->priv_a, 1);
	assert_int_equal(seal_wrap(a1, ID_B, seal_public_key(p->b), (const uint8_t *)"x", 1, d,
	                           sizeof(d), &len),
	                 0);
	assert_int_equal(unwrap_b(p, d, len, NULL), SEAL_ERR_REPLAYED);
	seal_free(a1);
	seal_free(a2);
	/* The receiver restarting forgets its windows (documented in PROTOCOL.md). */
	seal_forget_peers(p->b);
	assert_int_equal(unwrap_b(p, old, oldlen, NULL), 0);
}

static void
test_counter_wraps_into_next_epoch(void **state)
{
	struct pair *p = *state;
	struct seal *s = seal_new("a", p->priv_a, 5);
	uint8_t d[WIRE_DATAGRAM_MAX];
	size_t len;

	(void)state;
	assert_non_null(s);
	assert_int_equal(seal_next_counter(s), (uint64_t)5 << 32 | 1);
	assert_int_equal(seal_wrap(s, ID_B, seal_public_key(p->b), (const uint8_t *)"x", 1, d,
	                           sizeof(d), &len),
	                 0);
	assert_int_equal(seal_next_counter(s), (uint64_t)5 << 32 | 2);
	seal_free(s);
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
		s = seal_new("k", priv, 1);
		assert_non_null(s);
		assert_int_equal(seal_sign(s, msg, sizeof(msg), sig), 0);
		assert_true(
		        seal_verify(seal_public_key(s), seal_sign_key(s), msg, sizeof(msg), sig));
		seal_free(s);
	}
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
	        cmocka_unit_test(test_restart),
	        cmocka_unit_test(test_counter_wraps_into_next_epoch),
	        cmocka_unit_test(test_signatures),
	        cmocka_unit_test(test_new_refuses_bad_name),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
