/* Sealing built with a session of three datagrams (the real one has 2^32 - 1, years of a
 * gateway's gossip): the fourth datagram goes out in a new session with its counter at 1, so
 * no (key, nonce) pair is ever used twice; a peer that had confirmed the old session takes
 * the new one after one exchange, as after a restart. */
#define SEAL_COUNTER_MAX 3
#include "netd/seal.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define ID_A 1
#define ID_B 2

/* What a sealed datagram carries in clear after its kind, name length and name: the
 * session (8 bytes) and the counter (4). */
static void
header_of(const uint8_t *dgram, size_t namelen, uint64_t *session, uint32_t *counter)
{
	const uint8_t *at = dgram + 2 + namelen;

	*session = 0;
	for (int i = 0; i < 8; i++)
		*session = *session << 8 | at[i];
	*counter = (uint32_t)at[8] << 24 | (uint32_t)at[9] << 16 | (uint32_t)at[10] << 8 | at[11];
}

static void
test_session_ends_before_counter_wraps(void **state)
{
	uint8_t priv_a[32], priv_b[32], dgram[WIRE_DATAGRAM_MAX], out[WIRE_DATAGRAM_MAX],
	        nonce[WIRE_NONCE_LEN];
	struct seal *a, *b;
	struct seal_opened op;
	uint64_t first = 0, session;
	uint32_t counter;
	size_t len, olen;

	(void)state;
	assert_true(sodium_init() >= 0);
	memset(priv_a, 1, sizeof(priv_a));
	memset(priv_b, 2, sizeof(priv_b));
	assert_non_null(a = seal_new("a", priv_a, 7));
	assert_non_null(b = seal_new("b", priv_b, 9));
	for (uint32_t i = 1; i <= 4; i++) {
		assert_int_equal(seal_wrap(a, ID_B, seal_public_key(b), (const uint8_t *)"x", 1,
		                           dgram, sizeof(dgram), &len),
		                 0);
		header_of(dgram, 1, &session, &counter);
		assert_int_equal(seal_unwrap(b, ID_A, seal_public_key(a), dgram, len, out,
		                             sizeof(out), &olen, &op),
		                 0);
		if (i == 1) {
			/* b confirms a's first session by a challenge a echoes. */
			assert_false(op.fresh);
			assert_int_equal(seal_challenge(b, ID_A, seal_public_key(a), nonce), 0);
			assert_true(seal_confirm(b, ID_A, &op, nonce));
			first = session;
		}
		if (i <= 3) {
			assert_int_equal(session, first);
			assert_int_equal(counter, i);
			assert_true(i == 1 || op.fresh);
			continue;
		}
		/* The fourth: a new session, its counter at 1, unconfirmed at b until an
		 * exchange. */
		assert_int_not_equal(session, first);
		assert_int_not_equal(session, 0);
		assert_int_equal(counter, 1);
		assert_int_equal(seal_session(a), session);
		assert_false(op.fresh);
		assert_int_equal(seal_challenge(b, ID_A, seal_public_key(a), nonce), 0);
		assert_true(seal_confirm(b, ID_A, &op, nonce));
	}
	assert_int_equal(seal_next_counter(a), 2);
	seal_free(a);
	seal_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_session_ends_before_counter_wraps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
