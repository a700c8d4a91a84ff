/* WireGuard-format keys: base64 both ways, what is refused, clamping, and the public key
 * against RFC 7748's test vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "netd/key.h"

/* RFC 7748, section 6.1. */
static const uint8_t alice_priv[KEY_LEN] = {0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d,
                                            0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
                                            0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a,
                                            0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a};
static const uint8_t alice_pub[KEY_LEN] = {0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54,
                                           0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
                                           0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4,
                                           0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};
static const uint8_t bob_priv[KEY_LEN] = {0x5d, 0xab, 0x08, 0x7e, 0x62, 0x4a, 0x8a, 0x4b,
                                          0x79, 0xe1, 0x7f, 0x8b, 0x83, 0x80, 0x0e, 0xe6,
                                          0x6f, 0x3b, 0xb1, 0x29, 0x26, 0x18, 0xb6, 0xfd,
                                          0x1c, 0x2f, 0x8b, 0x27, 0xff, 0x88, 0xe0, 0xeb};
static const uint8_t bob_pub[KEY_LEN] = {0xde, 0x9e, 0xdb, 0x7d, 0x7b, 0x7d, 0xc1, 0xb4,
                                         0xd3, 0x5b, 0x61, 0xc2, 0xec, 0xe4, 0x35, 0x37,
                                         0x3f, 0x83, 0x43, 0xc8, 0x5b, 0x78, 0x67, 0x4d,
                                         0xad, 0xfc, 0x7e, 0x14, 0x6f, 0x88, 0x2b, 0x4f};

#define ALICE_PRIV_B64 "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="

static int
setup(void **state)
{
	(void)state;
	return key_init();
}

static void
test_base64_known(void **state)
{
	char text[KEY_BASE64_SIZE];
	uint8_t key[KEY_LEN];

	(void)state;
	key_to_base64(text, alice_priv);
	assert_string_equal(text, ALICE_PRIV_B64);
	assert_int_equal(strlen(text), KEY_BASE64_LEN);
	assert_int_equal(key_from_base64(key, ALICE_PRIV_B64, strlen(ALICE_PRIV_B64)), 0);
	assert_memory_equal(key, alice_priv, KEY_LEN);
}

static void
test_base64_round_trip(void **state)
{
	char text[KEY_BASE64_SIZE];
	uint8_t key[KEY_LEN], back[KEY_LEN];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		key_generate_private(key);
		key_to_base64(text, key);
		assert_int_equal(strlen(text), KEY_BASE64_LEN);
		assert_int_equal(text[KEY_BASE64_LEN - 1], '=');
		memset(back, 0, sizeof(back));
		assert_int_equal(key_from_base64(back, text, strlen(text)), 0);
		assert_memory_equal(back, key, KEY_LEN);
	}
	/* Every byte value in every position. */
	for (int i = 0; i < 256; i++) {
		for (int j = 0; j < KEY_LEN; j++)
			key[j] = (uint8_t)(i + j * 7);
		key_to_base64(text, key);
		assert_int_equal(key_from_base64(back, text, strlen(text)), 0);
		assert_memory_equal(back, key, KEY_LEN);
	}
}

/* Key files and `wg genkey` output end in a newline; surrounding blanks are accepted. */
static void
test_whitespace(void **state)
{
	uint8_t key[KEY_LEN];
	static const char *const texts[] = {
	        ALICE_PRIV_B64 "\n",
	        "  " ALICE_PRIV_B64 "\t\r\n",
	        "\n" ALICE_PRIV_B64,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		memset(key, 0, sizeof(key));
		assert_int_equal(key_from_base64(key, texts[i], strlen(texts[i])), 0);
		assert_memory_equal(key, alice_priv, KEY_LEN);
	}
	/* The length given counts, not the NUL: a longer buffer's tail is not read. */
	assert_int_equal(key_from_base64(key, ALICE_PRIV_B64 "garbage", KEY_BASE64_LEN), 0);
	assert_memory_equal(key, alice_priv, KEY_LEN);
}

static void
test_rejected(void **state)
{
	static const char *const bad[] = {
	        "",
	        "\n",
	        /* 43 characters */
	        "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC=",
	        /* 45 characters */
	        "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCoA=",
	        /* 44 characters without the '=' */
	        "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCoA",
	        /* characters outside the alphabet */
	        "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC*=",
	        "dwdt-nMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=",
	        "dwdt_nMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=",
	        "dwdtCnMYpX08FsFy bJmRd9ML4frwJkqsXf7pR25LCo=",
	        /* 33 bytes' worth of padding */
	        "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25L===",
	        /* two keys on a line */
	        ALICE_PRIV_B64 " " ALICE_PRIV_B64,
	};
	uint8_t key[KEY_LEN], untouched[KEY_LEN];

	(void)state;
	memset(untouched, 0xa5, sizeof(untouched));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(key, untouched, sizeof(key));
		if (key_from_base64(key, bad[i], strlen(bad[i])) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		/* Out-parameters are written only on success. */
		assert_memory_equal(key, untouched, KEY_LEN);
	}
}

/* The last character carries 2 bits that must be zero in a canonical 32-byte encoding;
 * 'o' (40) in ALICE's key is canonical, 'p' (41) would set a padding bit. */
static void
test_non_canonical(void **state)
{
	uint8_t key[KEY_LEN];

	(void)state;
	assert_int_equal(key_from_base64(key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp=",
	                                 KEY_BASE64_LEN),
	                 -1);
}

static void
test_clamping(void **state)
{
	uint8_t key[KEY_LEN];
	int low_bits = 0, high_bit = 0, second_bit = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		key_generate_private(key);
		low_bits |= key[0] & 7;
		high_bit |= key[31] & 128;
		second_bit += (key[31] & 64) != 0;
	}
	assert_int_equal(low_bits, 0);
	assert_int_equal(high_bit, 0);
	assert_int_equal(second_bit, 1000);
}

static void
test_random(void **state)
{
	uint8_t a[KEY_LEN], b[KEY_LEN];

	(void)state;
	key_generate_private(a);
	key_generate_private(b);
	assert_memory_not_equal(a, b, KEY_LEN);
}

static void
test_public_vectors(void **state)
{
	uint8_t pub[KEY_LEN];

	(void)state;
	key_public_from_private(pub, alice_priv);
	assert_memory_equal(pub, alice_pub, KEY_LEN);
	key_public_from_private(pub, bob_priv);
	assert_memory_equal(pub, bob_pub, KEY_LEN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_base64_known),  cmocka_unit_test(test_base64_round_trip),
	        cmocka_unit_test(test_whitespace),    cmocka_unit_test(test_rejected),
	        cmocka_unit_test(test_non_canonical), cmocka_unit_test(test_clamping),
	        cmocka_unit_test(test_random),        cmocka_unit_test(test_public_vectors),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
