/* Datagram protection for gossip: pairwise keys from the sites' X25519 keys, an AEAD over
 * each datagram under a key of the sender's session, a per-session counter with a sliding
 * replay window, the freshness state that decides which of a sender's sessions is live,
 * and descriptor signatures made with the Edwards form of the same X25519 key. */
#ifndef NETD_SEAL_H
#define NETD_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/wire.h"

#define SEAL_KIND          0x11 /* first byte of a sealed datagram */
#define SEAL_TAG_LEN       16
#define SEAL_OVERHEAD_MAX  (1 + 1 + WIRE_NAME_MAX + 8 + 4 + SEAL_TAG_LEN)
#define SEAL_PAYLOAD_MAX   (WIRE_DATAGRAM_MAX - SEAL_OVERHEAD_MAX)
#define SEAL_REPLAY_WINDOW 64 /* counters this far behind the highest seen still count */
/* The counter is 4 bytes on the wire: a session seals this many datagrams (years of a
 * gateway's gossip), then seal_wrap goes on in a new one (seal_rotate). A test builds
 * seal.c with a few, to see the rotation come. */
#ifndef SEAL_COUNTER_MAX
#define SEAL_COUNTER_MAX UINT32_MAX
#endif

enum seal_error {
	SEAL_ERR_MALFORMED = -1, /* header not parseable, too short or too long */
	SEAL_ERR_FORGED = -2,    /* authentication failed: wrong key, tampered, truncated */
	SEAL_ERR_REPLAYED = -3,  /* counter already seen or behind the window */
	SEAL_ERR_NOMEM = -4,
	SEAL_ERR_KEY = -5, /* the peer's public key gives no usable shared secret */
};

/* X25519 of priv and pub into shared; 0 or -1. Replaceable so that a simulator holding
 * thousands of sites can compute each pair's secret once. */
typedef int (*seal_dh_fn)(void *arg, uint8_t shared[32], const uint8_t priv[32],
                          const uint8_t pub[32]);

struct seal;

/* A site's sealing state for one session. session is a non-zero number drawn at random for
 * every start (the caller's CSPRNG): it is in every datagram's clear header and the AEAD key
 * of a direction is derived from it, so two sessions never share a (key, nonce) pair, whatever
 * became of earlier ones. Free with seal_free(). */
struct seal *seal_new(const char *name, const uint8_t priv[32], uint64_t session);
void seal_free(struct seal *s);
void seal_set_dh(struct seal *s, seal_dh_fn fn, void *arg);

const uint8_t *seal_public_key(const struct seal *s);
/* The Ed25519 key that verifies this site's signatures (sign bit clear). */
const uint8_t *seal_sign_key(const struct seal *s);
uint64_t seal_session(const struct seal *s);
/* The counter the next datagram will carry: 1, 2, ... within the session. */
uint64_t seal_next_counter(const struct seal *s);
/* Goes on in a new session, drawn from libsodium's CSPRNG, its counter starting again at 1:
 * what seal_wrap does once a session has sealed SEAL_COUNTER_MAX datagrams. Peers take the
 * new session after one exchange, as after a restart. */
void seal_rotate(struct seal *s);

/* The sender name from a sealed datagram's clear header; 0 or SEAL_ERR_MALFORMED. */
int seal_sender(const uint8_t *dgram, size_t len, char name[WIRE_NAME_MAX + 1]);

/* Seals payload for the peer identified by peer_id (a stable small number chosen by the
 * caller, e.g. its trust table index) with public key peer_pub. out needs len +
 * SEAL_OVERHEAD_MAX bytes. Returns 0 or a negative enum seal_error. */
int seal_wrap(struct seal *s, uint32_t peer_id, const uint8_t peer_pub[32], const uint8_t *payload,
              size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* What seal_unwrap learnt from an authentic datagram. */
struct seal_opened {
	uint64_t session; /* the sender's session */
	uint64_t counter;
	/* From the session this site confirmed for the peer, and new in its window (which has
	 * moved). false: from a session not confirmed (yet), nothing moved; the caller does not
	 * act on it and challenges the peer (seal_challenge) until a session answers
	 * (seal_confirm). */
	bool fresh;
};

/* Opens a datagram from the peer that seal_sender named. On success (0) the payload is in
 * out and *op says whether it is fresh; on any failure the window is unchanged and out holds
 * nothing usable. */
int seal_unwrap(struct seal *s, uint32_t peer_id, const uint8_t peer_pub[32], const uint8_t *dgram,
                size_t len, uint8_t *out, size_t cap, size_t *outlen, struct seal_opened *op);

/* Freshness. A receiver cannot tell a recording of an earlier session from a live one, so a
 * session is confirmed only when it echoes a nonce this site made in this session: a
 * challenge. One challenge is outstanding per peer until a response to it arrives. */

/* The outstanding challenge to the peer, made now when there is none. 0 or a negative enum
 * seal_error. */
int seal_challenge(struct seal *s, uint32_t peer_id, const uint8_t peer_pub[32],
                   uint8_t nonce[WIRE_NONCE_LEN]);
/* The outstanding challenge to the peer without making one; false when there is none. */
bool seal_challenge_pending(struct seal *s, uint32_t peer_id, uint8_t nonce[WIRE_NONCE_LEN]);
/* A response echoing nonce came in the authentic datagram op. When it answers the
 * outstanding challenge, the challenge is spent and op's session becomes the peer's confirmed
 * one, every counter up to op's counting as seen: true. Otherwise false and nothing changes. */
bool seal_confirm(struct seal *s, uint32_t peer_id, const struct seal_opened *op,
                  const uint8_t nonce[WIRE_NONCE_LEN]);
/* Confirms op's session for the peer without an exchange, op's counter in its window: for an
 * embedder that knows the session runs (a simulator's converged start), never for anything
 * a datagram or a file says. */
void seal_assume(struct seal *s, uint32_t peer_id, const struct seal_opened *op);

int seal_sign(const struct seal *s, const uint8_t *msg, size_t len, uint8_t sig[WIRE_SIG_LEN]);
/* True when sign_key is the Edwards form of x25519_pub and sig is its signature on msg. */
bool seal_verify(const uint8_t x25519_pub[32], const uint8_t sign_key[32], const uint8_t *msg,
                 size_t len, const uint8_t sig[WIRE_SIG_LEN]);
/* True when sign_key, sign bit clear, is the Edwards form of x25519_pub as XEdDSA maps it,
 * both in canonical encoding. Whether sign_key is a point on the curve is left to the
 * signature check that follows. */
bool seal_keys_bound(const uint8_t x25519_pub[32], const uint8_t sign_key[32]);
/* seal_verify without tying sign_key to the X25519 key: only for a sign_key seal_verify
 * already accepted for that X25519 key. */
bool seal_verify_bound(const uint8_t sign_key[32], const uint8_t *msg, size_t len,
                       const uint8_t sig[WIRE_SIG_LEN]);

/* Replay window on its own, for tests and for callers that keep their own state. */
struct seal_replay {
	uint64_t top;    /* highest counter accepted, 0 before the first */
	uint64_t bitmap; /* bit i: counter top - i was accepted */
};

bool seal_replay_check(const struct seal_replay *r, uint64_t counter);
void seal_replay_update(struct seal_replay *r, uint64_t counter);

#endif
