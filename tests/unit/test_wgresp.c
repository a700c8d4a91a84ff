/* netd-load's WireGuard responder: BLAKE2s against RFC 7693's vector and the BLAKE2
 * reference's keyed one, HMAC-BLAKE2s and the whitepaper's KDF against Python's hashlib and
 * hmac, and the responder against an initiator built here from the whitepaper's steps: what
 * it answers, what it refuses and counts, and when it sends a keepalive. The authority on the
 * wire format is a real WireGuard: tests/load/load.test has wireguard-go handshake with
 * every simulated site. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "tests/load/wgresp.h"

static const uint8_t abc_hash[32] = {0x50, 0x8c, 0x5e, 0x8c, 0x32, 0x7c, 0x14, 0xe2,
                                     0xe1, 0xa7, 0x2b, 0xa3, 0x4e, 0xeb, 0x45, 0x2f,
                                     0x37, 0x45, 0x8b, 0x20, 0x9e, 0xd6, 0x3a, 0x29,
                                     0x4d, 0x99, 0x9b, 0x4c, 0x86, 0x67, 0x59, 0x82};
/* BLAKE2s-256 of the empty message under the key 00 01 .. 1f (the reference's keyed KAT). */
static const uint8_t empty_keyed[32] = {0x48, 0xa8, 0x99, 0x7d, 0xa4, 0x07, 0x87, 0x6b,
                                        0x3d, 0x79, 0xc0, 0xd9, 0x23, 0x25, 0xad, 0x3b,
                                        0x89, 0xcb, 0xb7, 0x54, 0xd8, 0x6a, 0xb7, 0x1a,
                                        0xee, 0x04, 0x7a, 0xd3, 0x45, 0xfd, 0x2c, 0x49};
/* Of the 200 bytes 00 01 .. c7: unkeyed, keyed with 00 .. 1f to 16 bytes (hashlib.blake2s),
 * HMAC under 00 .. 1f (hmac.new(key, msg, hashlib.blake2s)). */
static const uint8_t long_hash[32] = {0x6d, 0x24, 0x4e, 0x1a, 0x06, 0xce, 0x4e, 0xf5,
                                      0x78, 0xdd, 0x0f, 0x63, 0xaf, 0xf0, 0x93, 0x67,
                                      0x06, 0x73, 0x51, 0x19, 0xca, 0x9c, 0x8d, 0x22,
                                      0xd8, 0x6c, 0x80, 0x14, 0x14, 0xab, 0x97, 0x41};
static const uint8_t long_keyed16[16] = {0x42, 0xa6, 0xf8, 0xff, 0x59, 0x0a, 0xf2, 0x1b,
                                         0x51, 0x2e, 0x9e, 0x08, 0x82, 0x57, 0xaa, 0x34};
static const uint8_t long_hmac[32] = {0x54, 0x3e, 0xec, 0x9b, 0x22, 0x64, 0x63, 0x65,
                                      0xef, 0x78, 0x2d, 0x72, 0xda, 0xe1, 0x37, 0xcc,
                                      0x76, 0x1d, 0x01, 0x80, 0x05, 0xf8, 0xd3, 0x3d,
                                      0x0f, 0x20, 0xbf, 0xbd, 0x01, 0xe6, 0x29, 0x74};
/* KDF3(00 .. 1f, "abc") from Python's hmac: T1 = HMAC(T0, 1), T2 = HMAC(T0, T1 || 2), ... */
static const uint8_t kdf_abc[3][32] = {
        {0xc6, 0x7e, 0x0b, 0x21, 0x1e, 0xbf, 0x48, 0xc1, 0x2c, 0x6d, 0x41,
         0xda, 0x8f, 0xce, 0xe2, 0x07, 0xd4, 0xc3, 0x25, 0xa8, 0xc3, 0x0f,
         0x05, 0x4d, 0x97, 0x40, 0x1b, 0x14, 0xed, 0x21, 0x2f, 0x9f},
        {0x92, 0x3b, 0x03, 0x28, 0x67, 0xc5, 0x97, 0xd1, 0xdf, 0x12, 0x40,
         0x53, 0x32, 0x5e, 0x55, 0x3b, 0x10, 0x4b, 0xf3, 0xb7, 0x61, 0x80,
         0xa4, 0x6e, 0x0c, 0x21, 0xb4, 0x40, 0x01, 0xec, 0x50, 0xf6},
        {0x73, 0xe5, 0xea, 0xe9, 0xc5, 0xd2, 0x30, 0xea, 0x6b, 0xec, 0xb2,
         0x9a, 0xb8, 0xa4, 0x9f, 0x62, 0x7a, 0xff, 0x1e, 0xb2, 0x75, 0x86,
         0xb9, 0x38, 0xa7, 0x1a, 0xe0, 0x90, 0xd4, 0xc7, 0xa1, 0x84}};

static uint8_t seq32[32], seq200[200];

static int
setup(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(seq200); k++)
		seq200[k] = (uint8_t)k;
	memcpy(seq32, seq200, sizeof(seq32));
	return sodium_init() < 0 ? -1 : 0;
}

static void
test_blake2s_vectors(void **state)
{
	uint8_t out[32];
	struct wgresp_blake2s s;

	(void)state;
	wgresp_blake2s(out, 32, NULL, 0, (const uint8_t *)"abc", 3);
	assert_memory_equal(out, abc_hash, 32);
	wgresp_blake2s(out, 32, seq32, 32, NULL, 0);
	assert_memory_equal(out, empty_keyed, 32);
	wgresp_blake2s(out, 32, NULL, 0, seq200, sizeof(seq200));
	assert_memory_equal(out, long_hash, 32);
	wgresp_blake2s(out, 16, seq32, 32, seq200, sizeof(seq200));
	assert_memory_equal(out, long_keyed16, 16);
	/* Fed in pieces that end on, before and after block boundaries: the same digest. */
	static const size_t cuts[][3] = {{64, 64, 72}, {1, 63, 136}, {65, 0, 135}, {128, 72, 0}};
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		size_t off = 0;

		wgresp_blake2s_init(&s, 32, NULL, 0);
		for (size_t k = 0; k < 3; k++) {
			wgresp_blake2s_update(&s, seq200 + off, cuts[c][k]);
			off += cuts[c][k];
		}
		wgresp_blake2s_final(&s, out);
		assert_memory_equal(out, long_hash, 32);
	}
}

static void
test_hmac_kdf_vectors(void **state)
{
	uint8_t out[32], t[3][32], one[32];
	uint8_t *three[3] = {t[0], t[1], t[2]}, *first[1] = {one};

	(void)state;
	wgresp_hmac(out, seq32, 32, seq200, sizeof(seq200));
	assert_memory_equal(out, long_hmac, 32);
	wgresp_kdf(three, 3, seq32, (const uint8_t *)"abc", 3);
	assert_memory_equal(t, kdf_abc, sizeof(kdf_abc));
	wgresp_kdf(first, 1, seq32, (const uint8_t *)"abc", 3);
	assert_memory_equal(one, kdf_abc[0], 32);
}

/* The initiator's side, step by step as the whitepaper gives it. */
struct initiator {
	uint8_t priv[32], pub[32], epriv[32], ck[32], h[32];
	uint8_t send[32], recv[32];
	uint32_t index, remote;
	uint64_t counter;
};

static void
hash2(uint8_t h[32], const uint8_t *in, size_t len)
{
	struct wgresp_blake2s s;

	wgresp_blake2s_init(&s, 32, NULL, 0);
	wgresp_blake2s_update(&s, h, 32);
	wgresp_blake2s_update(&s, in, len);
	wgresp_blake2s_final(&s, h);
}

static void
kdf1(uint8_t ck[32], const uint8_t *in, size_t len)
{
	uint8_t *o[1] = {ck};

	wgresp_kdf(o, 1, ck, in, len);
}

static void
nonce_of(uint8_t n[12], uint64_t counter)
{
	memset(n, 0, 12);
	for (int k = 0; k < 8; k++)
		n[4 + k] = (uint8_t)(counter >> (8 * k));
}

static void
mac1_for(uint8_t *msg, size_t maclen, const uint8_t pub[32])
{
	uint8_t key[32];
	struct wgresp_blake2s s;

	wgresp_blake2s_init(&s, 32, NULL, 0);
	wgresp_blake2s_update(&s, (const uint8_t *)"mac1----", 8);
	wgresp_blake2s_update(&s, pub, 32);
	wgresp_blake2s_final(&s, key);
	wgresp_blake2s(msg + maclen, 16, key, 32, msg, maclen);
}

static void
make_initiation(struct initiator *i, const uint8_t rpub[32], uint8_t msg[148])
{
	uint8_t dh[32], k[32], epub[32], n[12] = {0}, stamp[12] = {0x40, 0, 0, 0, 0x6a, 1};
	uint8_t *two[2] = {i->ck, k};

	memset(msg, 0, 148);
	msg[0] = 1;
	i->index = randombytes_random();
	memcpy(msg + 4, &i->index, 4); /* an opaque value: whichever byte order */
	wgresp_blake2s(i->ck, 32, NULL, 0, (const uint8_t *)"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s",
	               37);
	memcpy(i->h, i->ck, 32);
	hash2(i->h, (const uint8_t *)"WireGuard v1 zx2c4 Jason@zx2c4.com", 34);
	hash2(i->h, rpub, 32);
	randombytes_buf(i->epriv, 32);
	crypto_scalarmult_base(epub, i->epriv);
	kdf1(i->ck, epub, 32);
	memcpy(msg + 8, epub, 32);
	hash2(i->h, epub, 32);
	assert_int_equal(crypto_scalarmult(dh, i->epriv, rpub), 0);
	wgresp_kdf(two, 2, i->ck, dh, 32);
	crypto_aead_chacha20poly1305_ietf_encrypt(msg + 40, NULL, i->pub, 32, i->h, 32, NULL, n, k);
	hash2(i->h, msg + 40, 48);
	assert_int_equal(crypto_scalarmult(dh, i->priv, rpub), 0);
	wgresp_kdf(two, 2, i->ck, dh, 32);
	crypto_aead_chacha20poly1305_ietf_encrypt(msg + 88, NULL, stamp, 12, i->h, 32, NULL, n, k);
	hash2(i->h, msg + 88, 28);
	mac1_for(msg, 116, rpub);
}

/* Checks the response as the initiator would and derives the transport keys. */
static void
take_response(struct initiator *i, const uint8_t msg[92])
{
	uint8_t dh[32], k[32], t[32], zero[32] = {0}, n[12] = {0}, mac[16], key[32];
	uint8_t *three[3] = {i->ck, t, k}, *two[2] = {i->send, i->recv};
	struct wgresp_blake2s s;

	assert_int_equal(msg[0], 2);
	assert_memory_equal(msg + 8, &i->index, 4);
	wgresp_blake2s_init(&s, 32, NULL, 0);
	wgresp_blake2s_update(&s, (const uint8_t *)"mac1----", 8);
	wgresp_blake2s_update(&s, i->pub, 32);
	wgresp_blake2s_final(&s, key);
	wgresp_blake2s(mac, 16, key, 32, msg, 60);
	assert_memory_equal(mac, msg + 60, 16);
	kdf1(i->ck, msg + 12, 32);
	hash2(i->h, msg + 12, 32);
	assert_int_equal(crypto_scalarmult(dh, i->epriv, msg + 12), 0);
	kdf1(i->ck, dh, 32);
	assert_int_equal(crypto_scalarmult(dh, i->priv, msg + 12), 0);
	kdf1(i->ck, dh, 32);
	wgresp_kdf(three, 3, i->ck, zero, 32);
	hash2(i->h, t, 32);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(NULL, NULL, NULL, msg + 44, 16,
	                                                           i->h, 32, n, k),
	                 0);
	wgresp_kdf(two, 2, i->ck, NULL, 0);
	memcpy(&i->remote, msg + 4, 4);
	i->counter = 0;
}

/* A transport message of len bytes of payload under the initiator's sending key. */
static size_t
make_data(struct initiator *i, size_t len, uint8_t *msg)
{
	uint8_t n[12], payload[64] = {0x45};

	msg[0] = 4;
	msg[1] = msg[2] = msg[3] = 0;
	memcpy(msg + 4, &i->remote, 4);
	nonce_of(n, i->counter);
	memcpy(msg + 8, n + 4, 8);
	i->counter++;
	crypto_aead_chacha20poly1305_ietf_encrypt(msg + 16, NULL, payload, len, NULL, 0, NULL, n,
	                                          i->send);
	return 16 + len + 16;
}

/* A keepalive the responder sent: to our index, under our receiving key, empty. */
static void
check_keepalive(struct initiator *i, const uint8_t *msg, uint64_t counter)
{
	uint8_t n[12];
	uint64_t c = 0;

	assert_int_equal(msg[0], 4);
	assert_memory_equal(msg + 4, &i->index, 4);
	for (int k = 7; k >= 0; k--)
		c = c << 8 | msg[8 + k];
	assert_int_equal(c, counter);
	nonce_of(n, c);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(NULL, NULL, NULL, msg + 16, 16,
	                                                           NULL, 0, n, i->recv),
	                 0);
}

struct fixture {
	struct initiator netd;
	struct wgresp_initiator ini;
	uint8_t rpriv[32], rpub[32];
	struct wgresp_site site;
	struct wgresp_counters c;
};

static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	randombytes_buf(f->netd.priv, 32);
	crypto_scalarmult_base(f->netd.pub, f->netd.priv);
	randombytes_buf(f->rpriv, 32);
	crypto_scalarmult_base(f->rpub, f->rpriv);
	wgresp_initiator_init(&f->ini, f->netd.pub);
}

static size_t
rx(struct fixture *f, int64_t now, const uint8_t *in, size_t len, uint8_t *out)
{
	return wgresp_receive(&f->site, f->rpriv, f->rpub, &f->ini, now, in, len, out, &f->c);
}

/* A whole handshake of i with the fixture's site. */
static void
handshake(struct fixture *f, struct initiator *i)
{
	uint8_t msg[WGRESP_INITIATION_LEN], out[WGRESP_REPLY_MAX];

	make_initiation(i, f->rpub, msg);
	assert_int_equal(rx(f, 0, msg, sizeof(msg), out), WGRESP_RESPONSE_LEN);
	take_response(i, out);
}

static void
test_handshake_and_keepalive(void **state)
{
	struct fixture f;
	uint8_t msg[148], out[WGRESP_REPLY_MAX], data[96];
	size_t n;

	(void)state;
	fixture_init(&f);
	make_initiation(&f.netd, f.rpub, msg);
	assert_int_equal(rx(&f, 1000, msg, sizeof(msg), out), WGRESP_RESPONSE_LEN);
	take_response(&f.netd, out);
	assert_int_equal(f.c.initiations, 1);

	/* The initiator's keepalive confirms the session and asks for nothing. */
	n = make_data(&f.netd, 0, data);
	assert_int_equal(rx(&f, 1100, data, n, out), 0);
	assert_int_equal(wgresp_deadline(&f.site), INT64_MAX);
	/* Data arms a keepalive 10 s later, as WireGuard's passive keepalive; data in those
	 * 10 s owes one more, 10 s after the first. */
	n = make_data(&f.netd, 40, data);
	assert_int_equal(rx(&f, 2000, data, n, out), 0);
	assert_int_equal(wgresp_deadline(&f.site), 2000 + WGRESP_KEEPALIVE_MS);
	n = make_data(&f.netd, 40, data);
	assert_int_equal(rx(&f, 5000, data, n, out), 0);
	assert_int_equal(wgresp_deadline(&f.site), 2000 + WGRESP_KEEPALIVE_MS);
	assert_int_equal(wgresp_poll(&f.site, 2000 + WGRESP_KEEPALIVE_MS - 1, out, &f.c), 0);
	assert_int_equal(wgresp_poll(&f.site, 2000 + WGRESP_KEEPALIVE_MS, out, &f.c),
	                 WGRESP_KEEPALIVE_LEN);
	check_keepalive(&f.netd, out, 0);
	assert_int_equal(wgresp_deadline(&f.site), 2000 + 2 * WGRESP_KEEPALIVE_MS);
	assert_int_equal(wgresp_poll(&f.site, 2000 + 2 * WGRESP_KEEPALIVE_MS, out, &f.c),
	                 WGRESP_KEEPALIVE_LEN);
	check_keepalive(&f.netd, out, 1);
	/* Nothing came since: nothing more is due. */
	assert_int_equal(wgresp_deadline(&f.site), INT64_MAX);
	assert_int_equal(wgresp_poll(&f.site, 2000 + 5 * WGRESP_KEEPALIVE_MS, out, &f.c), 0);
	assert_int_equal(f.c.transport, 3);
	assert_int_equal(f.c.keepalives, 2);
	assert_int_equal(f.c.dropped, 0);
	assert_int_equal(f.c.strangers, 0);
}

/* A response is a message sent: a keepalive armed before it is not due after it. */
static void
test_response_disarms_keepalive(void **state)
{
	struct fixture f;
	uint8_t out[WGRESP_REPLY_MAX], data[96];
	size_t n;

	(void)state;
	fixture_init(&f);
	handshake(&f, &f.netd);
	n = make_data(&f.netd, 40, data);
	assert_int_equal(rx(&f, 0, data, n, out), 0);
	assert_int_equal(wgresp_deadline(&f.site), WGRESP_KEEPALIVE_MS);
	handshake(&f, &f.netd);
	assert_int_equal(wgresp_deadline(&f.site), INT64_MAX);
	assert_int_equal(wgresp_poll(&f.site, WGRESP_KEEPALIVE_MS, out, &f.c), 0);
	assert_int_equal(f.c.keepalives, 0);
}

/* Data in is opened to its inner packet; data out goes under the session the data came
 * in, padded as WireGuard pads, and disarms the keepalive it would owe. */
static void
test_open_and_seal(void **state)
{
	struct fixture f;
	uint8_t out[WGRESP_REPLY_MAX], data[96], plain[96], mine[20], n[12], got[48];
	size_t len;

	(void)state;
	fixture_init(&f);
	handshake(&f, &f.netd);
	len = make_data(&f.netd, 40, data);
	assert_int_equal(rx(&f, 0, data, len, out), 0);
	assert_int_equal(wgresp_open(&f.site, data, len, plain), 40);
	assert_int_equal(plain[0], 0x45);
	for (size_t k = 1; k < 40; k++)
		assert_int_equal(plain[k], 0);
	data[20] ^= 1; /* tampered: not opened */
	assert_int_equal(wgresp_open(&f.site, data, len, plain), 0);
	len = make_data(&f.netd, 0, data); /* a keepalive carries nothing */
	assert_int_equal(wgresp_open(&f.site, data, len, plain), 0);

	assert_int_equal(wgresp_deadline(&f.site), WGRESP_KEEPALIVE_MS);
	for (size_t k = 0; k < sizeof(mine); k++)
		mine[k] = (uint8_t)(k + 1);
	len = wgresp_seal(&f.site, mine, sizeof(mine), out, &f.c);
	assert_int_equal(len, 16 + 32 + 16);
	assert_int_equal(out[0], 4);
	assert_memory_equal(out + 4, &f.netd.index, 4);
	nonce_of(n, 0);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(got, NULL, NULL, out + 16, 48,
	                                                           NULL, 0, n, f.netd.recv),
	                 0);
	assert_memory_equal(got, mine, sizeof(mine));
	for (size_t k = sizeof(mine); k < 32; k++)
		assert_int_equal(got[k], 0);
	assert_int_equal(wgresp_deadline(&f.site), INT64_MAX);
	assert_int_equal(f.c.data, 1);
	assert_int_equal(wgresp_seal(&f.site, plain, WGRESP_DATA_MAX + 1, out, &f.c), 0);
	assert_int_equal(f.c.data, 1);
}

/* A new handshake keeps the session before it: data under either is answered. */
static void
test_rekey_keeps_previous(void **state)
{
	struct fixture f;
	struct initiator old;
	uint8_t out[WGRESP_REPLY_MAX], data[96];
	size_t n;

	(void)state;
	fixture_init(&f);
	handshake(&f, &f.netd);
	old = f.netd;
	handshake(&f, &f.netd);
	assert_int_not_equal(f.netd.remote, old.remote);
	n = make_data(&old, 10, data);
	assert_int_equal(rx(&f, 0, data, n, out), 0);
	assert_int_equal(wgresp_poll(&f.site, WGRESP_KEEPALIVE_MS, out, &f.c),
	                 WGRESP_KEEPALIVE_LEN);
	check_keepalive(&old, out, 0);
	n = make_data(&f.netd, 10, data);
	assert_int_equal(rx(&f, 20000, data, n, out), 0);
	assert_int_equal(wgresp_poll(&f.site, 20000 + WGRESP_KEEPALIVE_MS, out, &f.c),
	                 WGRESP_KEEPALIVE_LEN);
	check_keepalive(&f.netd, out, 0);
	/* A third handshake drops the first session. */
	handshake(&f, &f.netd);
	n = make_data(&old, 10, data);
	assert_int_equal(rx(&f, 40000, data, n, out), 0);
	assert_int_equal(f.c.dropped, 1);
	assert_int_equal(f.c.initiations, 3);
}

/* What is refused: each counted once, as dropped or as a stranger's, never answered. */
static void
test_refused(void **state)
{
	struct fixture f;
	struct initiator stranger;
	uint8_t msg[148], bad[160], out[WGRESP_REPLY_MAX], data[96];
	uint64_t dropped = 0;
	size_t n;

	(void)state;
	fixture_init(&f);
	/* Every byte of an initiation matters: mac1 covers the rest, mac2 alone is free. */
	make_initiation(&f.netd, f.rpub, msg);
	for (size_t k = 0; k < 132; k++) {
		memcpy(bad, msg, sizeof(msg));
		bad[k] ^= 0x01;
		assert_int_equal(rx(&f, 0, bad, sizeof(msg), out), 0);
		assert_int_equal(f.c.dropped, ++dropped);
	}
	memcpy(bad, msg, sizeof(msg));
	bad[140] ^= 0xff;
	assert_int_equal(rx(&f, 0, bad, sizeof(msg), out), WGRESP_RESPONSE_LEN);
	/* Lengths other than 148, and types of no message. */
	for (size_t len = 0; len < sizeof(bad); len += len < 40 || len > 140 ? 1 : 17) {
		if (len == sizeof(msg))
			continue;
		memset(bad, 0, sizeof(bad));
		memcpy(bad, msg, len < sizeof(msg) ? len : sizeof(msg));
		assert_int_equal(rx(&f, 0, bad, len, out), 0);
		assert_int_equal(f.c.dropped, ++dropped);
	}
	memcpy(bad, msg, sizeof(msg));
	bad[0] = 9;
	assert_int_equal(rx(&f, 0, bad, sizeof(msg), out), 0);
	assert_int_equal(f.c.dropped, ++dropped);
	/* A valid initiation from another key than netd's, and one with the zero key a
	 * WireGuard without its private key sends: counted apart, not dropped. */
	memset(&stranger, 0, sizeof(stranger));
	randombytes_buf(stranger.priv, 32);
	crypto_scalarmult_base(stranger.pub, stranger.priv);
	make_initiation(&stranger, f.rpub, msg);
	assert_int_equal(rx(&f, 0, msg, sizeof(msg), out), 0);
	memset(stranger.pub, 0, sizeof(stranger.pub));
	make_initiation(&stranger, f.rpub, msg);
	assert_int_equal(rx(&f, 0, msg, sizeof(msg), out), 0);
	assert_int_equal(f.c.strangers, 2);
	assert_int_equal(f.c.dropped, dropped);
	/* Transport to an unknown index, or with a wrong tag. */
	handshake(&f, &f.netd);
	n = make_data(&f.netd, 10, data);
	data[20] ^= 1;
	assert_int_equal(rx(&f, 0, data, n, out), 0);
	assert_int_equal(f.c.dropped, ++dropped);
	n = make_data(&f.netd, 10, data);
	data[4] ^= 1;
	assert_int_equal(rx(&f, 0, data, n, out), 0);
	assert_int_equal(f.c.dropped, ++dropped);
	assert_int_equal(rx(&f, 0, data, 31, out), 0);
	assert_int_equal(f.c.dropped, ++dropped);
	/* A cookie reply that does not open. */
	memset(bad, 0, 64);
	bad[0] = 3;
	memcpy(bad + 4, &f.netd.remote, 4);
	assert_int_equal(rx(&f, 0, bad, 64, out), 0);
	assert_int_equal(f.c.dropped, ++dropped);
	assert_int_equal(f.c.cookies, 0);
	assert_int_equal(f.c.initiations, 2);
	assert_int_equal(f.c.keepalives, 0);
}

/* A cookie reply for the last response, as a WireGuard under load sends it. */
static void
make_cookie_reply(const struct initiator *i, const uint8_t response[WGRESP_RESPONSE_LEN],
                  const uint8_t cookie[16], uint8_t msg[WGRESP_COOKIE_REPLY_LEN])
{
	uint8_t key[32];
	struct wgresp_blake2s s;

	wgresp_blake2s_init(&s, 32, NULL, 0);
	wgresp_blake2s_update(&s, (const uint8_t *)"cookie--", 8);
	wgresp_blake2s_update(&s, i->pub, 32);
	wgresp_blake2s_final(&s, key);
	memset(msg, 0, WGRESP_COOKIE_REPLY_LEN);
	msg[0] = 3;
	memcpy(msg + 4, response + 4, 4);
	randombytes_buf(msg + 8, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(msg + 32, NULL, cookie, 16, response + 60, 16,
	                                           NULL, msg + 8, key);
}

/* After a cookie reply, responses carry mac2 = MAC(cookie, the response up to mac2) for
 * 115 s; a cookie sealed for another response is refused. */
static void
test_cookie(void **state)
{
	struct fixture f;
	uint8_t msg[148], out[WGRESP_REPLY_MAX], reply[WGRESP_COOKIE_REPLY_LEN], cookie[16],
	        mac2[16], zero[16] = {0}, first[WGRESP_RESPONSE_LEN];

	(void)state;
	fixture_init(&f);
	randombytes_buf(cookie, sizeof(cookie));
	make_initiation(&f.netd, f.rpub, msg);
	assert_int_equal(rx(&f, 1000, msg, sizeof(msg), first), WGRESP_RESPONSE_LEN);
	make_initiation(&f.netd, f.rpub, msg);
	assert_int_equal(rx(&f, 1000, msg, sizeof(msg), out), WGRESP_RESPONSE_LEN);
	make_cookie_reply(&f.netd, first, cookie, reply);
	assert_int_equal(rx(&f, 1000, reply, sizeof(reply), out), 0);
	assert_int_equal(f.c.dropped, 1);
	make_cookie_reply(&f.netd, out, cookie, reply);
	assert_int_equal(rx(&f, 1000, reply, sizeof(reply), out), 0);
	assert_int_equal(f.c.cookies, 1);

	make_initiation(&f.netd, f.rpub, msg);
	assert_int_equal(rx(&f, 1000 + WGRESP_COOKIE_MS - 1, msg, sizeof(msg), out),
	                 WGRESP_RESPONSE_LEN);
	take_response(&f.netd, out);
	wgresp_blake2s(mac2, 16, cookie, 16, out, 76);
	assert_memory_equal(out + 76, mac2, 16);
	make_initiation(&f.netd, f.rpub, msg);
	assert_int_equal(rx(&f, 1000 + WGRESP_COOKIE_MS, msg, sizeof(msg), out),
	                 WGRESP_RESPONSE_LEN);
	assert_memory_equal(out + 76, zero, 16);
	assert_int_equal(f.c.initiations, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_blake2s_vectors),
	        cmocka_unit_test(test_hmac_kdf_vectors),
	        cmocka_unit_test(test_handshake_and_keepalive),
	        cmocka_unit_test(test_response_disarms_keepalive),
	        cmocka_unit_test(test_open_and_seal),
	        cmocka_unit_test(test_rekey_keeps_previous),
	        cmocka_unit_test(test_refused),
	        cmocka_unit_test(test_cookie),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
