/* WireGuard-format keys: 32-byte Curve25519 keys as 44-character base64, interchangeable
 * with `wg genkey` / `wg pubkey`. */
#ifndef NETD_KEY_H
#define NETD_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_LEN         32
#define KEY_BASE64_LEN  44 /* without the terminating NUL */
#define KEY_BASE64_SIZE (KEY_BASE64_LEN + 1)

/* Must be called once before any other key_ function (initialises libsodium). */
int key_init(void);

/* A new random private key, clamped as Curve25519 requires. */
void key_generate_private(uint8_t key[KEY_LEN]);
void key_public_from_private(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN]);

/* A home for a private key: KEY_LEN zeroed bytes in memory locked against swapping, left out
 * of core dumps and wiped when freed with key_secret_free (libsodium's guarded allocation).
 * NULL when out of memory. Every long-lived copy of the key lives in one. */
uint8_t *key_secret_new(void);
void key_secret_free(uint8_t *key);

void key_to_base64(char out[KEY_BASE64_SIZE], const uint8_t key[KEY_LEN]);

/* Whether each of the len bytes is of base64's alphabet or its padding '='. libsodium 1.0.18
 * decodes every byte from 0x80 up as '/', so its decoder alone takes text that is not base64:
 * the one key (or document) would have many spellings. */
bool key_base64_chars(const char *text, size_t len);

/* Accepts exactly 44 base64 characters ending in '=' that decode to 32 bytes, with
 * surrounding whitespace allowed (key files end in a newline). Returns 0 or -1. */
int key_from_base64(uint8_t key[KEY_LEN], const char *text, size_t len);

#endif
