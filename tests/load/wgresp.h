/* wgresp: the responder's side of WireGuard's handshake (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s
 * as the WireGuard whitepaper defines it, no preshared key, and the cookie an initiator under
 * load sends back), for netd-load's simulated sites:
 * each answers netd's initiations and keeps netd's sessions to it alive, as a WireGuard peer
 * does, without carrying any traffic. Sans-I/O: a datagram in, at most one datagram out. */
#ifndef NETD_TESTS_LOAD_WGRESP_H
#define NETD_TESTS_LOAD_WGRESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WGRESP_KEY_LEN        32
#define WGRESP_HASH_LEN       32
#define WGRESP_MAC_LEN        16
#define WGRESP_INITIATION_LEN 148
#define WGRESP_RESPONSE_LEN   92
/* A keepalive: a transport message carrying nothing, its header and Poly1305 tag. */
#define WGRESP_KEEPALIVE_LEN 32
#define WGRESP_REPLY_MAX     WGRESP_RESPONSE_LEN
/* The most a site sends in one transport message: what fits WGRESP_REPLY_MAX padded. */
#define WGRESP_DATA_MAX 48
/* WireGuard's passive keepalive: a peer that got data and sent nothing for 10 s answers. */
#define WGRESP_KEEPALIVE_MS     10000
#define WGRESP_COOKIE_LEN       16
#define WGRESP_COOKIE_REPLY_LEN 64
/* How long a cookie is used: WireGuard's secret lives 120 s, less 5 s of latency. */
#define WGRESP_COOKIE_MS 115000

enum wgresp_type {
	WGRESP_INITIATION = 1,
	WGRESP_RESPONSE = 2,
	WGRESP_COOKIE = 3,
	WGRESP_TRANSPORT = 4,
};

/* BLAKE2s (RFC 7693), keyed or not, digest of 1..32 bytes. */
struct wgresp_blake2s {
	uint32_t h[8], t[2];
	uint8_t buf[64];
	size_t buflen, outlen;
};

void wgresp_blake2s_init(struct wgresp_blake2s *s, size_t outlen, const uint8_t *key,
                         size_t keylen);
void wgresp_blake2s_update(struct wgresp_blake2s *s, const uint8_t *in, size_t len);
void wgresp_blake2s_final(struct wgresp_blake2s *s, uint8_t *out);
void wgresp_blake2s(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
                    const uint8_t *in, size_t len);
/* HMAC (RFC 2104) over BLAKE2s-256, a key of up to 64 bytes. */
void wgresp_hmac(uint8_t out[WGRESP_HASH_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
                 size_t len);
/* The whitepaper's KDF_n, n of 1..3: out[k] is the (k+1)-th derived 32-byte key. */
void wgresp_kdf(uint8_t *const out[], size_t n, const uint8_t key[WGRESP_HASH_LEN],
                const uint8_t *in, size_t len);

/* The one initiator the sites accept (netd): its public key, the key of the mac1 on
 * messages to it, HASH("mac1----" || its key), and that of the cookies it sends,
 * HASH("cookie--" || its key). */
struct wgresp_initiator {
	uint8_t pub[WGRESP_KEY_LEN];
	uint8_t mac1_key[WGRESP_HASH_LEN];
	uint8_t cookie_key[WGRESP_HASH_LEN];
};

void wgresp_initiator_init(struct wgresp_initiator *ini, const uint8_t pub[WGRESP_KEY_LEN]);

struct wgresp_session {
	uint32_t local, remote; /* the indexes: ours, in the initiator's transport messages */
	uint64_t counter;       /* of our next transport message */
	uint8_t send[WGRESP_KEY_LEN], recv[WGRESP_KEY_LEN];
	bool valid;
};

/* A site's state: its last two sessions (the newest first, the one before kept while the
 * initiator's data under it may still arrive), the static-static DH with the initiator,
 * computed at the first initiation, its passive keepalive (when it is due, 0: none; whether
 * data came while it was armed, which owes one more; the session the data came under), the
 * mac1 of its last response and the cookie the initiator sent back for it, if any, with when
 * it came. Zeroed to start. */
struct wgresp_site {
	struct wgresp_session s[2];
	uint8_t ss[WGRESP_KEY_LEN];
	bool have_ss;
	bool keepalive_again;
	uint32_t keepalive_session;
	int64_t keepalive_at;
	uint8_t mac1[WGRESP_MAC_LEN];
	uint8_t cookie[WGRESP_COOKIE_LEN];
	int64_t cookie_ms;
	bool have_cookie;
};

struct wgresp_counters {
	uint64_t initiations; /* answered */
	uint64_t transport;   /* authenticated transport messages received */
	uint64_t keepalives;  /* sent */
	uint64_t data;        /* transport messages with data sent (wgresp_seal) */
	uint64_t cookies;     /* cookie replies taken: the next response carries a mac2 */
	/* Initiations sealed to the site from a static key other than the initiator's: a
	 * WireGuard that sends before it holds its private key (wireguard-go then sends zeros). */
	uint64_t strangers;
	uint64_t dropped; /* anything else: malformed, unauthenticated, unknown index */
};

/* Takes one datagram to the site (private and public key priv, pub) at now_ms; returns the
 * length of the answer written to out (0: none) and counts what it did in c. */
size_t wgresp_receive(struct wgresp_site *site, const uint8_t priv[WGRESP_KEY_LEN],
                      const uint8_t pub[WGRESP_KEY_LEN], const struct wgresp_initiator *ini,
                      int64_t now_ms, const uint8_t *in, size_t len, uint8_t out[WGRESP_REPLY_MAX],
                      struct wgresp_counters *c);

/* The plain text of a transport message with data that wgresp_receive took (an inner IP
 * packet): written to plain, which holds len bytes; returns its length (the padding
 * included), 0 when it is no such message. */
size_t wgresp_open(struct wgresp_site *site, const uint8_t *in, size_t len, uint8_t *plain);

/* A transport message carrying plain (1..WGRESP_DATA_MAX bytes, an inner IP packet) to the
 * initiator, under the session its last data came in: written to out, its length returned
 * (0: no such session). A message sent, it disarms the passive keepalive. */
size_t wgresp_seal(struct wgresp_site *site, const uint8_t *plain, size_t len,
                   uint8_t out[WGRESP_REPLY_MAX], struct wgresp_counters *c);

/* When the site's passive keepalive is due (INT64_MAX: none is). */
int64_t wgresp_deadline(const struct wgresp_site *site);

/* At or after wgresp_deadline: writes the site's keepalive to out and returns its length (0:
 * none due, or its session is gone), and arms the next one if data came meanwhile. */
size_t wgresp_poll(struct wgresp_site *site, int64_t now_ms, uint8_t out[WGRESP_REPLY_MAX],
                   struct wgresp_counters *c);

#endif
