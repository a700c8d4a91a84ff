/* WireGuard-format keys: base64 both ways, what is refused, clamping, and the public key
 * against RFC 7748's test vectors. Every long-lived copy of the private key -- its own home,
 * the loaded config's, the desired state's, the gossip seal's -- sits in a page locked
 * against swapping and left out of core dumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "netd/conf.h"
#include "netd/key.h"
#include "netd/mesh.h"
#include "netd/seal.h"
#include "tests/unit/vmflags.h"

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
	        /* a byte from 0x80 up, which libsodium 1.0.18 decodes as '/' */
	        "\xb3"
	        "wdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=",
	        "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25"
	        "\xff"
	        "Co=",
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

static void
test_secret_memory(void **state)
{
	uint8_t *key = key_secret_new();

	(void)state;
	assert_non_null(key);
	for (size_t i = 0; i < KEY_LEN; i++)
		assert_int_equal(key[i], 0);
	assert_locked_nodump(key, "key_secret_new");
	key_secret_free(key);
	key_secret_free(NULL);
}

/* A config loaded from a key file, and what is computed from it. */
static void
test_loaded_key_memory(void **state)
{
	char dir[] = "/tmp/netd-key-XXXXXX", path[64], text[256], b64[KEY_BASE64_SIZE];
	struct conf_errors errs = {0};
	struct mesh_params params;
	struct mesh_desired *d = NULL;
	struct seal *seal;
	struct conf *conf;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/site.key", dir);
	key_to_base64(b64, alice_priv);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", b64);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	snprintf(text, sizeof(text),
	         "site = { name = \"alpha\"; };\n"
	         "wireguard = { interface = \"wg0\"; private_key_file = \"%s\"; };\n",
	         path);
	conf = conf_load_string(text, "key.conf", &errs);
	unlink(path);
	rmdir(dir);
	if (conf == NULL)
		fail_msg("config rejected: %s", errs.n ? errs.msgs[0] : "?");
	assert_memory_equal(conf->wg.private_key, alice_priv, KEY_LEN);
	assert_locked_nodump(conf->wg.private_key, "the config's private key");

	mesh_params_init(&params);
	assert_int_equal(mesh_compute(conf, NULL, 0, &params, 0, &d), 0);
	assert_memory_equal(d->wg.private_key, alice_priv, KEY_LEN);
	assert_locked_nodump(d->wg.private_key, "the desired state's private key");
	mesh_desired_free(d);

	/* The seal keeps the key with what it derives from it, public key included. */
	assert_non_null(seal = seal_new("alpha", conf->wg.private_key, 1));
	assert_memory_equal(seal_public_key(seal), alice_pub, KEY_LEN);
	assert_locked_nodump(seal_public_key(seal), "the seal's keys");
	seal_free(seal);
	conf_free(conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_base64_known),  cmocka_unit_test(test_base64_round_trip),
	        cmocka_unit_test(test_whitespace),    cmocka_unit_test(test_rejected),
	        cmocka_unit_test(test_non_canonical), cmocka_unit_test(test_clamping),
	        cmocka_unit_test(test_random),        cmocka_unit_test(test_public_vectors),
	        cmocka_unit_test(test_secret_memory), cmocka_unit_test(test_loaded_key_memory),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
