/* WireGuard-compatible key generation and base64 encoding, on top of libsodium. */
#include "netd/key.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

int
key_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

uint8_t *
key_secret_new(void)
{
	uint8_t *key;

	/* Guarded allocation needs libsodium started (idempotent). */
	if (sodium_init() < 0)
		return NULL;
	key = sodium_malloc(KEY_LEN);
	if (key != NULL)
		sodium_memzero(key, KEY_LEN);
	return key;
}

void
key_secret_free(uint8_t *key)
{
	sodium_free(key); /* wipes it; NULL is a no-op */
}

void
key_generate_private(uint8_t key[KEY_LEN])
{
	randombytes_buf(key, KEY_LEN);
	/* The same clamping as `wg genkey`, so the stored key is already a valid scalar. */
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
}

void
key_public_from_private(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN])
{
	crypto_scalarmult_curve25519_base(pub, priv);
}

void
key_to_base64(char out[KEY_BASE64_SIZE], const uint8_t key[KEY_LEN])
{
	sodium_bin2base64(out, KEY_BASE64_SIZE, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

bool
key_base64_chars(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (!(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') &&
		    c != '+' && c != '/' && c != '=')
			return false;
	}
	return true;
}

int
key_from_base64(uint8_t key[KEY_LEN], const char *text, size_t len)
{
	uint8_t tmp[KEY_LEN];
	size_t decoded;
	const char *end;

	while (len > 0 && isspace((unsigned char)text[0])) {
		text++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len != KEY_BASE64_LEN || text[KEY_BASE64_LEN - 1] != '=' ||
	    !key_base64_chars(text, len))
		return -1;
	if (sodium_base642bin(tmp, sizeof(tmp), text, len, NULL, &decoded, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    decoded != KEY_LEN || end != text + len) {
		sodium_memzero(tmp, sizeof(tmp));
		return -1;
	}
	memcpy(key, tmp, KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}
