/* wgresp: a WireGuard responder for netd-load's simulated sites. It answers netd's handshake
 * initiations and keeps WireGuard's passive keepalive (data that came arms a keepalive 10 s
 * later unless one is armed, in which case one more follows it; anything the site sends
 * disarms it), so that netd's WireGuard neither retries an unanswered initiation every 5 s
 * nor starts a new handshake 15 s after sending data, as it would against sites that never
 * answer: a keepalive sent at once and then not for 10 s leaves data sent in those 10 s
 * unanswered, and netd's WireGuard handshakes anew for each such burst. It opens data to its
 * inner packet and seals small packets of its own (wgresp_open, wgresp_seal), for the caller
 * to answer what needs an answer. A WireGuard under load refuses a response without a mac2
 * and sends a cookie instead; the site keeps it and sets mac2 on its responses for 115 s, as
 * a peer does, so that the initiator's next try is taken. It sends no cookies and checks no
 * mac2 (nothing it answers is costly enough to need them), keeps no replay window and takes
 * any timestamp (a replayed datagram earns at most a response, or a keepalive in 10 s). */
#include "tests/load/wgresp.h"

#include <sodium.h>
#include <string.h>

/* BLAKE2s (RFC 7693, section 3 and appendix). The initial vector is SHA-256's. */
static const uint32_t blake2s_iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static const uint8_t blake2s_sigma[10][16] = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
        {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
        {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
        {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
        {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
        {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
        {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
        {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
        {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

static uint32_t
ror32(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	for (int k = 0; k < 8; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static void
blake2s_g(uint32_t v[16], int a, int b, int c, int d, uint32_t x, uint32_t y)
{
	v[a] = v[a] + v[b] + x;
	v[d] = ror32(v[d] ^ v[a], 16);
	v[c] = v[c] + v[d];
	v[b] = ror32(v[b] ^ v[c], 12);
	v[a] = v[a] + v[b] + y;
	v[d] = ror32(v[d] ^ v[a], 8);
	v[c] = v[c] + v[d];
	v[b] = ror32(v[b] ^ v[c], 7);
}

static void
blake2s_compress(struct wgresp_blake2s *s, const uint8_t block[64], bool last)
{
	uint32_t v[16], m[16];

	for (int k = 0; k < 16; k++)
		m[k] = le32(block + 4 * k);
	memcpy(v, s->h, sizeof(s->h));
	memcpy(v + 8, blake2s_iv, sizeof(blake2s_iv));
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	if (last)
		v[14] = ~v[14];
	for (int r = 0; r < 10; r++) {
		const uint8_t *x = blake2s_sigma[r];

		blake2s_g(v, 0, 4, 8, 12, m[x[0]], m[x[1]]);
		blake2s_g(v, 1, 5, 9, 13, m[x[2]], m[x[3]]);
		blake2s_g(v, 2, 6, 10, 14, m[x[4]], m[x[5]]);
		blake2s_g(v, 3, 7, 11, 15, m[x[6]], m[x[7]]);
		blake2s_g(v, 0, 5, 10, 15, m[x[8]], m[x[9]]);
		blake2s_g(v, 1, 6, 11, 12, m[x[10]], m[x[11]]);
		blake2s_g(v, 2, 7, 8, 13, m[x[12]], m[x[13]]);
		blake2s_g(v, 3, 4, 9, 14, m[x[14]], m[x[15]]);
	}
	for (int k = 0; k < 8; k++)
		s->h[k] ^= v[k] ^ v[k + 8];
}

static void
blake2s_count(struct wgresp_blake2s *s, uint32_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

void
wgresp_blake2s_init(struct wgresp_blake2s *s, size_t outlen, const uint8_t *key, size_t keylen)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	s->h[0] ^= 0x01010000u ^ (uint32_t)keylen << 8 ^ (uint32_t)outlen;
	s->outlen = outlen;
	/* A key is a first block of its own, zero-padded. */
	if (keylen > 0) {
		memcpy(s->buf, key, keylen);
		s->buflen = 64;
	}
}

void
wgresp_blake2s_update(struct wgresp_blake2s *s, const uint8_t *in, size_t len)
{
	/* The last block is compressed differently, so a full buffer waits for more input. */
	while (len > 0) {
		size_t take;

		if (s->buflen == 64) {
			blake2s_count(s, 64);
			blake2s_compress(s, s->buf, false);
			s->buflen = 0;
		}
		take = 64 - s->buflen < len ? 64 - s->buflen : len;
		memcpy(s->buf + s->buflen, in, take);
		s->buflen += take;
		in += take;
		len -= take;
	}
}

void
wgresp_blake2s_final(struct wgresp_blake2s *s, uint8_t *out)
{
	uint8_t full[32];

	blake2s_count(s, (uint32_t)s->buflen);
	memset(s->buf + s->buflen, 0, 64 - s->buflen);
	blake2s_compress(s, s->buf, true);
	for (int k = 0; k < 8; k++)
		put_le32(full + 4 * k, s->h[k]);
	memcpy(out, full, s->outlen);
	sodium_memzero(full, sizeof(full));
	sodium_memzero(s, sizeof(*s));
}

void
wgresp_blake2s(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen, const uint8_t *in,
               size_t len)
{
	struct wgresp_blake2s s;

	wgresp_blake2s_init(&s, outlen, key, keylen);
	wgresp_blake2s_update(&s, in, len);
	wgresp_blake2s_final(&s, out);
}

void
wgresp_hmac(uint8_t out[WGRESP_HASH_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
            size_t len)
{
	struct wgresp_blake2s s;
	uint8_t pad[64] = {0}, inner[WGRESP_HASH_LEN];

	memcpy(pad, key, keylen);
	for (int k = 0; k < 64; k++)
		pad[k] ^= 0x36;
	wgresp_blake2s_init(&s, WGRESP_HASH_LEN, NULL, 0);
	wgresp_blake2s_update(&s, pad, 64);
	wgresp_blake2s_update(&s, in, len);
	wgresp_blake2s_final(&s, inner);
	for (int k = 0; k < 64; k++)
		pad[k] ^= 0x36 ^ 0x5c;
	wgresp_blake2s_init(&s, WGRESP_HASH_LEN, NULL, 0);
	wgresp_blake2s_update(&s, pad, 64);
	wgresp_blake2s_update(&s, inner, sizeof(inner));
	wgresp_blake2s_final(&s, out);
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
}

void
wgresp_kdf(uint8_t *const out[], size_t n, const uint8_t key[WGRESP_HASH_LEN], const uint8_t *in,
           size_t len)
{
	uint8_t prk[WGRESP_HASH_LEN], t[WGRESP_HASH_LEN + 1];

	wgresp_hmac(prk, key, WGRESP_HASH_LEN, in, len);
	for (size_t k = 0; k < n; k++) {
		size_t tlen = 0;

		if (k > 0) {
			memcpy(t, out[k - 1], WGRESP_HASH_LEN);
			tlen = WGRESP_HASH_LEN;
		}
		t[tlen++] = (uint8_t)(k + 1);
		wgresp_hmac(out[k], prk, sizeof(prk), t, tlen);
	}
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
}

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

/* HASH(label || key). */
static void
label_key(uint8_t out[WGRESP_HASH_LEN], const char *label, const uint8_t key[WGRESP_KEY_LEN])
{
	struct wgresp_blake2s s;

	wgresp_blake2s_init(&s, WGRESP_HASH_LEN, NULL, 0);
	wgresp_blake2s_update(&s, (const uint8_t *)label, strlen(label));
	wgresp_blake2s_update(&s, key, WGRESP_KEY_LEN);
	wgresp_blake2s_final(&s, out);
}

void
wgresp_initiator_init(struct wgresp_initiator *ini, const uint8_t pub[WGRESP_KEY_LEN])
{
	memcpy(ini->pub, pub, WGRESP_KEY_LEN);
	label_key(ini->mac1_key, label_mac1, pub);
	label_key(ini->cookie_key, label_cookie, pub);
}

/* HASH(a || b), the transcript's step. */
static void
mix_hash(uint8_t h[WGRESP_HASH_LEN], const uint8_t *in, size_t len)
{
	struct wgresp_blake2s s;

	wgresp_blake2s_init(&s, WGRESP_HASH_LEN, NULL, 0);
	wgresp_blake2s_update(&s, h, WGRESP_HASH_LEN);
	wgresp_blake2s_update(&s, in, len);
	wgresp_blake2s_final(&s, h);
}

/* C = KDF1(C, in). */
static void
mix_key(uint8_t c[WGRESP_HASH_LEN], const uint8_t *in, size_t len)
{
	uint8_t *out[1] = {c};

	wgresp_kdf(out, 1, c, in, len);
}

/* The chaining key and hash every handshake starts from, then mixed with the responder's
 * public key. */
static void
handshake_start(uint8_t c[WGRESP_HASH_LEN], uint8_t h[WGRESP_HASH_LEN],
                const uint8_t pub[WGRESP_KEY_LEN])
{
	wgresp_blake2s(c, WGRESP_HASH_LEN, NULL, 0, (const uint8_t *)construction,
	               strlen(construction));
	memcpy(h, c, WGRESP_HASH_LEN);
	mix_hash(h, (const uint8_t *)identifier, strlen(identifier));
	mix_hash(h, pub, WGRESP_KEY_LEN);
}

static void
nonce(uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES], uint64_t counter)
{
	memset(n, 0, 4);
	put_le64(n + 4, counter);
}

/* AEAD(key, 0, plain, h) into out, and h mixed with what it wrote. */
static void
seal_hash(uint8_t *out, const uint8_t key[WGRESP_KEY_LEN], const uint8_t *plain, size_t len,
          uint8_t h[WGRESP_HASH_LEN])
{
	uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	nonce(n, 0);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, plain, len, h, WGRESP_HASH_LEN, NULL,
	                                          n, key);
	mix_hash(h, out, len + crypto_aead_chacha20poly1305_IETF_ABYTES);
}

/* The reverse: opens len sealed bytes into plain, then mixes them into h. */
static int
open_hash(uint8_t *plain, const uint8_t key[WGRESP_KEY_LEN], const uint8_t *in, size_t len,
          uint8_t h[WGRESP_HASH_LEN])
{
	uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	nonce(n, 0);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(plain, NULL, NULL, in, len, h,
	                                              WGRESP_HASH_LEN, n, key) != 0)
		return -1;
	mix_hash(h, in, len);
	return 0;
}

static bool
mac1_ok(const uint8_t pub[WGRESP_KEY_LEN], const uint8_t *msg, size_t maclen)
{
	uint8_t key[WGRESP_HASH_LEN], mac[WGRESP_MAC_LEN];

	label_key(key, label_mac1, pub);
	wgresp_blake2s(mac, sizeof(mac), key, sizeof(key), msg, maclen);
	return sodium_memcmp(mac, msg + maclen, WGRESP_MAC_LEN) == 0;
}

/* The initiation's layout: type and reserved (4), sender index (4), ephemeral key (32),
 * sealed static key (48), sealed TAI64N timestamp (28), mac1, mac2. The response's: type
 * (4), sender and receiver index (8), ephemeral key (32), sealed nothing (16), mac1, mac2. */
enum {
	INI_SENDER = 4,
	INI_EPHEMERAL = 8,
	INI_STATIC = 40,
	INI_TIMESTAMP = 88,
	INI_MAC1 = 116,
	RESP_SENDER = 4,
	RESP_RECEIVER = 8,
	RESP_EPHEMERAL = 12,
	RESP_NOTHING = 44,
	RESP_MAC1 = 60,
	RESP_MAC2 = 76,
	COOKIE_RECEIVER = 4,
	COOKIE_NONCE = 8,
	COOKIE_SEALED = 32,
	DATA_RECEIVER = 4,
	DATA_COUNTER = 8,
	DATA_SEALED = 16,
	TIMESTAMP_LEN = 12,
};

static size_t
initiation(struct wgresp_site *site, const uint8_t priv[WGRESP_KEY_LEN],
           const uint8_t pub[WGRESP_KEY_LEN], const struct wgresp_initiator *ini, int64_t now_ms,
           const uint8_t *in, uint8_t out[WGRESP_REPLY_MAX], struct wgresp_counters *c)
{
	uint8_t ck[WGRESP_HASH_LEN], h[WGRESP_HASH_LEN], k[WGRESP_KEY_LEN], dh[WGRESP_KEY_LEN],
	        spub[WGRESP_KEY_LEN], stamp[TIMESTAMP_LEN], epriv[WGRESP_KEY_LEN],
	        epub[WGRESP_KEY_LEN], t[WGRESP_HASH_LEN], zero[WGRESP_KEY_LEN] = {0};
	uint8_t *two[2] = {ck, k}, *three[3] = {ck, t, k};
	const uint8_t *ei = in + INI_EPHEMERAL;
	struct wgresp_session *s = &site->s[0];
	size_t n = 0;

	if (!mac1_ok(pub, in, INI_MAC1))
		goto drop;
	handshake_start(ck, h, pub);
	mix_key(ck, ei, WGRESP_KEY_LEN);
	mix_hash(h, ei, WGRESP_KEY_LEN);
	if (crypto_scalarmult(dh, priv, ei) != 0)
		goto drop;
	wgresp_kdf(two, 2, ck, dh, sizeof(dh));
	if (open_hash(spub, k, in + INI_STATIC, WGRESP_KEY_LEN + 16, h) != 0)
		goto drop;
	if (sodium_memcmp(spub, ini->pub, WGRESP_KEY_LEN) != 0) {
		c->strangers++;
		goto out;
	}
	if (!site->have_ss) {
		if (crypto_scalarmult(site->ss, priv, ini->pub) != 0)
			goto drop;
		site->have_ss = true;
	}
	wgresp_kdf(two, 2, ck, site->ss, sizeof(site->ss));
	if (open_hash(stamp, k, in + INI_TIMESTAMP, TIMESTAMP_LEN + 16, h) != 0)
		goto drop;

	/* The response, in a new session; the current one becomes the previous. */
	randombytes_buf(epriv, sizeof(epriv));
	crypto_scalarmult_base(epub, epriv);
	memset(out, 0, WGRESP_RESPONSE_LEN);
	out[0] = WGRESP_RESPONSE;
	site->s[1] = site->s[0];
	memset(s, 0, sizeof(*s));
	do
		s->local = randombytes_random();
	while (site->s[1].valid && s->local == site->s[1].local);
	s->remote = le32(in + INI_SENDER);
	put_le32(out + RESP_SENDER, s->local);
	memcpy(out + RESP_RECEIVER, in + INI_SENDER, 4);
	memcpy(out + RESP_EPHEMERAL, epub, WGRESP_KEY_LEN);
	mix_key(ck, epub, WGRESP_KEY_LEN);
	mix_hash(h, epub, WGRESP_KEY_LEN);
	if (crypto_scalarmult(dh, epriv, ei) != 0)
		goto drop;
	mix_key(ck, dh, sizeof(dh));
	if (crypto_scalarmult(dh, epriv, ini->pub) != 0)
		goto drop;
	mix_key(ck, dh, sizeof(dh));
	/* No preshared key: WireGuard's is then 32 zero bytes. */
	wgresp_kdf(three, 3, ck, zero, sizeof(zero));
	mix_hash(h, t, sizeof(t));
	seal_hash(out + RESP_NOTHING, k, NULL, 0, h);
	wgresp_blake2s(out + RESP_MAC1, WGRESP_MAC_LEN, ini->mac1_key, WGRESP_HASH_LEN, out,
	               RESP_MAC1);
	memcpy(site->mac1, out + RESP_MAC1, WGRESP_MAC_LEN);
	if (site->have_cookie && now_ms - site->cookie_ms < WGRESP_COOKIE_MS)
		wgresp_blake2s(out + RESP_MAC2, WGRESP_MAC_LEN, site->cookie, WGRESP_COOKIE_LEN,
		               out, RESP_MAC2);
	/* The initiator's sending key first, its receiving key second. */
	two[0] = s->recv;
	two[1] = s->send;
	wgresp_kdf(two, 2, ck, NULL, 0);
	s->valid = true;
	/* A response is a message sent: WireGuard's keepalive timer waits for none after it. */
	site->keepalive_at = 0;
	site->keepalive_again = false;
	c->initiations++;
	n = WGRESP_RESPONSE_LEN;
	goto out;
drop:
	c->dropped++;
out:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(k, sizeof(k));
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(epriv, sizeof(epriv));
	sodium_memzero(t, sizeof(t));
	return n;
}

static struct wgresp_session *
session_of(struct wgresp_site *site, uint32_t local)
{
	for (size_t k = 0; k < 2; k++)
		if (site->s[k].valid && site->s[k].local == local)
			return &site->s[k];
	return NULL;
}

/* Decrypts a transport message of len bytes (at least a keepalive's) under the session it
 * names into plain (NULL: the tag checked alone). Returns the session, or NULL. */
static struct wgresp_session *
open_transport(struct wgresp_site *site, const uint8_t *in, size_t len, uint8_t *plain)
{
	uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	struct wgresp_session *s = session_of(site, le32(in + DATA_RECEIVER));

	memset(n, 0, 4);
	memcpy(n + 4, in + DATA_COUNTER, 8);
	if (s == NULL || crypto_aead_chacha20poly1305_ietf_decrypt_detached(
	                         plain, NULL, in + DATA_SEALED, len - DATA_SEALED - 16,
	                         in + len - 16, NULL, 0, n, s->recv) != 0)
		return NULL;
	return s;
}

static size_t
transport(struct wgresp_site *site, int64_t now_ms, const uint8_t *in, size_t len,
          struct wgresp_counters *c)
{
	/* libsodium checks the tag alone when given no buffer for the plain text. */
	struct wgresp_session *s = open_transport(site, in, len, NULL);

	if (s == NULL) {
		c->dropped++;
		return 0;
	}
	c->transport++;
	/* A keepalive asks for nothing; data arms the passive keepalive, as WireGuard's does. */
	if (len == WGRESP_KEEPALIVE_LEN)
		return 0;
	if (site->keepalive_at == 0)
		site->keepalive_at = now_ms + WGRESP_KEEPALIVE_MS;
	else
		site->keepalive_again = true;
	site->keepalive_session = s->local;
	return 0;
}

/* A transport message of plain (len bytes, padded with zeros to a multiple of 16 as
 * WireGuard pads) under s; out holds WGRESP_REPLY_MAX. Returns its length. */
static size_t
seal_transport(struct wgresp_session *s, const uint8_t *plain, size_t len,
               uint8_t out[WGRESP_REPLY_MAX])
{
	uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	size_t padded = (len + 15) / 16 * 16;

	out[0] = WGRESP_TRANSPORT;
	memset(out + 1, 0, 3);
	put_le32(out + DATA_RECEIVER, s->remote);
	put_le64(out + DATA_COUNTER, s->counter);
	nonce(n, s->counter++);
	memset(out + DATA_SEALED, 0, padded);
	if (len)
		memcpy(out + DATA_SEALED, plain, len);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(
	        out + DATA_SEALED, out + DATA_SEALED + padded, NULL, out + DATA_SEALED, padded,
	        NULL, 0, NULL, n, s->send);
	return DATA_SEALED + padded + 16;
}

size_t
wgresp_open(struct wgresp_site *site, const uint8_t *in, size_t len, uint8_t *plain)
{
	if (len <= WGRESP_KEEPALIVE_LEN || in[0] != WGRESP_TRANSPORT ||
	    open_transport(site, in, len, plain) == NULL)
		return 0;
	return len - WGRESP_KEEPALIVE_LEN;
}

size_t
wgresp_seal(struct wgresp_site *site, const uint8_t *plain, size_t len,
            uint8_t out[WGRESP_REPLY_MAX], struct wgresp_counters *c)
{
	struct wgresp_session *s = session_of(site, site->keepalive_session);

	if (s == NULL || len == 0 || len > WGRESP_DATA_MAX)
		return 0;
	/* A message sent: WireGuard's keepalive timer waits for none after it. */
	site->keepalive_at = 0;
	site->keepalive_again = false;
	c->data++;
	return seal_transport(s, plain, len, out);
}

int64_t
wgresp_deadline(const struct wgresp_site *site)
{
	return site->keepalive_at ? site->keepalive_at : INT64_MAX;
}

size_t
wgresp_poll(struct wgresp_site *site, int64_t now_ms, uint8_t out[WGRESP_REPLY_MAX],
            struct wgresp_counters *c)
{
	struct wgresp_session *s;

	if (site->keepalive_at == 0 || now_ms < site->keepalive_at)
		return 0;
	site->keepalive_at = site->keepalive_again ? now_ms + WGRESP_KEEPALIVE_MS : 0;
	site->keepalive_again = false;
	s = session_of(site, site->keepalive_session);
	if (s == NULL) /* replaced by two handshakes since: their own data arms their keepalives */
		return 0;
	c->keepalives++;
	return seal_transport(s, NULL, 0, out);
}

/* A cookie for the site's last response (to the index it sent, sealed with the mac1 it
 * sent as associated data): kept for the responses to come. */
static void
cookie_reply(struct wgresp_site *site, const struct wgresp_initiator *ini, int64_t now_ms,
             const uint8_t *in, struct wgresp_counters *c)
{
	uint8_t cookie[WGRESP_COOKIE_LEN];

	if (!site->s[0].valid || le32(in + COOKIE_RECEIVER) != site->s[0].local ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(
	            cookie, NULL, NULL, in + COOKIE_SEALED, WGRESP_COOKIE_LEN + 16, site->mac1,
	            WGRESP_MAC_LEN, in + COOKIE_NONCE, ini->cookie_key) != 0) {
		c->dropped++;
		return;
	}
	memcpy(site->cookie, cookie, sizeof(cookie));
	site->cookie_ms = now_ms;
	site->have_cookie = true;
	c->cookies++;
}

size_t
wgresp_receive(struct wgresp_site *site, const uint8_t priv[WGRESP_KEY_LEN],
               const uint8_t pub[WGRESP_KEY_LEN], const struct wgresp_initiator *ini,
               int64_t now_ms, const uint8_t *in, size_t len, uint8_t out[WGRESP_REPLY_MAX],
               struct wgresp_counters *c)
{
	/* The type is a little-endian 32-bit word: three zero bytes follow the first. */
	if (len < 4 || in[1] != 0 || in[2] != 0 || in[3] != 0) {
		c->dropped++;
		return 0;
	}
	if (in[0] == WGRESP_INITIATION && len == WGRESP_INITIATION_LEN)
		return initiation(site, priv, pub, ini, now_ms, in, out, c);
	if (in[0] == WGRESP_TRANSPORT && len >= WGRESP_KEEPALIVE_LEN)
		return transport(site, now_ms, in, len, c);
	if (in[0] == WGRESP_COOKIE && len == WGRESP_COOKIE_REPLY_LEN)
		cookie_reply(site, ini, now_ms, in, c);
	else
		c->dropped++;
	return 0;
}
