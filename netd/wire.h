/* The gossip wire format: site descriptors and protocol messages in a versioned binary
 * encoding with an explicit bound on every field. Pure functions on byte buffers. */
#ifndef NETD_WIRE_H
#define NETD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/addr.h"

#define WIRE_VERSION       3
#define WIRE_DATAGRAM_MAX  1200 /* every datagram, sealed, fits this */
#define WIRE_NAME_MAX      32   /* site names: 1..32 of a-z, 0-9, '-', not starting with '-' */
#define WIRE_KEY_LEN       32
#define WIRE_SIG_LEN       64
#define WIRE_MAX_ENDPOINTS 4
#define WIRE_MAX_OVERLAY   2
#define WIRE_MAX_PREFIXES  16
#define WIRE_MAX_VNIS      32
#define WIRE_VNI_MAX       16777215u
#define WIRE_MAX_HASHES    128  /* digest bucket sums in one message */
#define WIRE_MAX_BUCKETS   1024 /* digest granularity (power of two) */
#define WIRE_MAX_ENTRIES   100  /* (site, incarnation, state) entries in one message */
#define WIRE_MAX_NAMES     64   /* names in one descriptor request */
#define WIRE_RELAY_MAX     160  /* a sealed ack carried by a helper (ACK_FOR) */
#define WIRE_NONCE_LEN     16   /* a freshness challenge */
#define WIRE_BLOB_MAX      1024 /* an encoded federation document (cred.h) in one message */
#define WIRE_MAX_IDS       64   /* revocation ids in one message */
#define WIRE_MAX_RELAYS    4    /* sites a descriptor accepts as its relays */

/* What a site tells the federation about itself. Only the site itself issues new versions
 * (a higher incarnation), signed with the Edwards form of its X25519 key. */
struct wire_desc {
	char name[WIRE_NAME_MAX + 1];
	uint32_t incarnation;
	uint8_t wg_key[WIRE_KEY_LEN];   /* X25519: WireGuard and gossip identity */
	uint8_t sign_key[WIRE_KEY_LEN]; /* Ed25519 form of wg_key, sign bit clear */
	struct addr_endpoint gossip;    /* where this site receives gossip */
	struct addr_endpoint endpoints[WIRE_MAX_ENDPOINTS]; /* WireGuard underlay endpoints */
	uint8_t nendpoints;
	/* Prefixes have their host bits past len zero: decoding refuses anything else, so every
	 * accepted encoding is canonical and signatures over re-encoded descriptors verify. */
	struct addr_prefix overlay[WIRE_MAX_OVERLAY]; /* VTEP addresses (full length) */
	uint8_t noverlay;
	struct addr_prefix prefixes[WIRE_MAX_PREFIXES];
	uint8_t nprefixes;
	uint32_t vnis[WIRE_MAX_VNIS];
	uint8_t nvnis;
	/* The serial of the federation credential the site runs under (cred.h); 0: none. A
	 * receiver holding an older one asks for this one before taking the descriptor. */
	uint64_t cred_serial;
	/* The serial of the credential for the key the site moves to next (0: none): the others
	 * fetch it and stand ready for the switch. */
	uint64_t next_serial;
	uint8_t flags; /* WIRE_DESC_* */
	/* The sites this one lets carry its traffic when no direct path works (a relay sees the
	 * inner packets): a pair uses a relay both name, and only one that offers relaying. */
	char relays[WIRE_MAX_RELAYS][WIRE_NAME_MAX + 1];
	uint8_t nrelays;
	uint8_t sig[WIRE_SIG_LEN];
};

/* A descriptor held at its real size: the fields of struct wire_desc, each list pointing
 * into a room that holds only its entries (wire_cdesc_pack). gossip keeps one per member,
 * where a struct wire_desc would keep the room of the longest lists for every site. */
struct wire_cdesc {
	char name[WIRE_NAME_MAX + 1];
	uint32_t incarnation;
	uint8_t wg_key[WIRE_KEY_LEN];
	uint8_t sign_key[WIRE_KEY_LEN];
	struct addr_endpoint gossip;
	const struct addr_endpoint *endpoints;
	const struct addr_prefix *overlay;
	const struct addr_prefix *prefixes;
	const uint32_t *vnis;
	const char (*relays)[WIRE_NAME_MAX + 1];
	uint8_t nendpoints;
	uint8_t noverlay;
	uint8_t nprefixes;
	uint8_t nvnis;
	uint8_t nrelays;
	uint8_t flags;
	uint64_t cred_serial;
	uint64_t next_serial;
	uint8_t sig[WIRE_SIG_LEN];
};

/* The bytes of room d's lists take, a multiple of 4 (every list is 4-byte aligned but the
 * relays, which come last). */
size_t wire_cdesc_room(const struct wire_desc *d);
/* Fills c from d, its lists copied into room (4-byte aligned, wire_cdesc_room(d) bytes). */
void wire_cdesc_pack(struct wire_cdesc *c, void *room, const struct wire_desc *d);
void wire_cdesc_unpack(const struct wire_cdesc *c, struct wire_desc *d);
bool wire_cdesc_same_content(const struct wire_cdesc *a, const struct wire_cdesc *b);

#define WIRE_DESC_NAT   0x01 /* behind NAT: its endpoints are what others saw of it */
#define WIRE_DESC_RELAY 0x02 /* offers to relay between sites that name it */
#define WIRE_DESC_FLAGS (WIRE_DESC_NAT | WIRE_DESC_RELAY)

enum wire_type {
	WIRE_PING = 1,
	WIRE_PING_REQ = 2,
	WIRE_ACK = 3,
	WIRE_NACK = 4,
	WIRE_ALIVE = 5,
	WIRE_SUSPECT = 6,
	WIRE_DEAD = 7,
	WIRE_LEFT = 8,
	WIRE_DIGEST = 9,
	WIRE_ENTRIES = 10,
	WIRE_DESC_REQ = 11,
	WIRE_PING_FOR = 12,    /* a helper's ping on behalf of a prober */
	WIRE_ACK_FOR = 13,     /* the target's sealed ack for that prober, relayed */
	WIRE_CHALLENGE = 14,   /* prove your session is live: echo this nonce */
	WIRE_RESPONSE = 15,    /* the echo */
	WIRE_CRED = 16,        /* a site credential, encoded (cred.h) */
	WIRE_CRED_REQ = 17,    /* send me the credentials of these sites */
	WIRE_REVOKE = 18,      /* a revocation, encoded (cred.h) */
	WIRE_FED_SUM = 19,     /* my authority set's version, how many revocations I hold and
	                        * the sum of their ids */
	WIRE_REVOKE_IDS = 20,  /* the ids of the revocations I hold */
	WIRE_AUTHORITIES = 21, /* an authority update, encoded (cred.h) */
	WIRE_OBSERVED = 22,    /* where your datagrams come from, as I see them */
};

enum wire_state {
	WIRE_STATE_ALIVE = 1,
	WIRE_STATE_SUSPECT = 2,
	WIRE_STATE_DEAD = 3,
	WIRE_STATE_LEFT = 4,
};

#define WIRE_PING_REQ_NACK 0x01 /* the prober wants a nack if the target stays silent */
#define WIRE_ENTRIES_REPLY 0x01 /* answer with your own entries of this bucket */
#define WIRE_IDS_REPLY     0x01 /* REVOKE_IDS: answer with the ids you hold too */
#define WIRE_OBSERVED_WG   0x01 /* OBSERVED: the WireGuard endpoint follows */

struct wire_entry {
	char name[WIRE_NAME_MAX + 1];
	uint32_t incarnation;
	uint8_t state; /* enum wire_state */
};

/* One protocol message. Which members mean something depends on type. */
struct wire_msg {
	uint8_t type; /* enum wire_type */
	uint8_t flags;
	uint32_t seq;                   /* PING, PING_REQ, ACK, NACK, PING_FOR, ACK_FOR */
	uint32_t incarnation;           /* SUSPECT, DEAD, LEFT */
	uint32_t origin_seq;            /* PING_FOR: the prober's sequence number */
	char target[WIRE_NAME_MAX + 1]; /* PING_REQ, SUSPECT, DEAD, LEFT, PING_FOR */
	char from[WIRE_NAME_MAX + 1];   /* SUSPECT, DEAD: the accuser; PING_FOR: the prober */
	struct addr_endpoint addr;      /* PING_REQ: where the target is; OBSERVED: your gossip */
	struct addr_endpoint wg;        /* OBSERVED: your WireGuard endpoint (flags) */
	uint8_t sig[WIRE_SIG_LEN];      /* SUSPECT, DEAD: the accuser's; LEFT: the target's */
	uint16_t relay_len;             /* ACK_FOR: a sealed datagram, opaque to the relay */
	uint8_t relay[WIRE_RELAY_MAX];
	uint8_t nonce[WIRE_NONCE_LEN];    /* CHALLENGE, RESPONSE */
	struct wire_desc desc;            /* ALIVE */
	uint16_t nbuckets;                /* DIGEST, ENTRIES */
	uint16_t bucket;                  /* DIGEST: first bucket; ENTRIES: the bucket */
	uint8_t count;                    /* DIGEST, ENTRIES, DESC_REQ, CRED_REQ, REVOKE_IDS */
	uint64_t hashes[WIRE_MAX_HASHES]; /* DIGEST; FED_SUM: [0]; REVOKE_IDS: the ids */
	uint16_t total;                   /* FED_SUM: revocations held */
	uint64_t version;                 /* FED_SUM: of the authority set */
	uint16_t blob_len;                /* CRED, REVOKE, AUTHORITIES */
	uint8_t blob[WIRE_BLOB_MAX];
	struct wire_entry entries[WIRE_MAX_ENTRIES];
	char names[WIRE_MAX_NAMES][WIRE_NAME_MAX + 1]; /* DESC_REQ, CRED_REQ */
};

/* Appends to a caller's buffer; a put that does not fit writes nothing and returns -1. */
struct wire_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
};

/* Starts a payload: the version byte. */
int wire_begin(struct wire_writer *w, uint8_t *buf, size_t cap);
int wire_put_msg(struct wire_writer *w, const struct wire_msg *m);
/* Bytes produced by wire_encode_msg earlier (piggybacked broadcasts). */
int wire_put_raw(struct wire_writer *w, const uint8_t *bytes, size_t len);
/* One message alone, without the version byte; returns its length or -1. */
int wire_encode_msg(const struct wire_msg *m, uint8_t *buf, size_t cap);
/* The ALIVE message carrying d, as wire_encode_msg encodes it, without a struct wire_msg. */
int wire_encode_alive(const struct wire_desc *d, uint8_t *buf, size_t cap);

/* Walks a payload message by message. */
struct wire_reader {
	const uint8_t *buf;
	size_t len;
	size_t off;
};

/* Checks the version byte. Returns 0, or -1 for an empty payload or unknown version. */
int wire_reader_init(struct wire_reader *r, const uint8_t *buf, size_t len);
/* Returns 1 with the next message in m, 0 at the clean end, -1 on anything malformed
 * (m is then unspecified). A payload holding no message at all is malformed. */
int wire_next(struct wire_reader *r, struct wire_msg *m);

/* The bytes a descriptor's signature covers (everything but the signature, behind a
 * context string). Returns the length or -1. */
int wire_desc_signed_bytes(const struct wire_desc *d, uint8_t *buf, size_t cap);
/* The bytes a LEFT message's signature covers. */
int wire_left_signed_bytes(const char *name, uint32_t incarnation, uint8_t *buf, size_t cap);
/* The bytes an accusation's (SUSPECT or DEAD) signature covers: the same for both, so that
 * one accuser is one accuser whichever it said. */
int wire_accuse_signed_bytes(const char *target, uint32_t incarnation, const char *accuser,
                             uint8_t *buf, size_t cap);

bool wire_name_valid(const char *name);
bool wire_desc_equal(const struct wire_desc *a, const struct wire_desc *b);
/* Same content apart from incarnation and signature. */
bool wire_desc_same_content(const struct wire_desc *a, const struct wire_desc *b);

/* Unauthenticated join greeting, sent to a seed whose identity is not known yet. A seed
 * answers a hello without a valid cookie with a cookie reply only; a hello that repeats the
 * cookie proves its source address and may cost the seed a sealed answer. Every hello is
 * padded to WIRE_HELLO_LEN, longer than a cookie reply, so answering a hello from a spoofed
 * source sends the victim fewer bytes than the spoofer spent. */
#define WIRE_HELLO_KIND       0x12
#define WIRE_COOKIE_KIND      0x13
#define WIRE_COOKIE_LEN       16
#define WIRE_HELLO_LEN        64 /* kind, name, nonce, cookie, zero padding */
#define WIRE_COOKIE_REPLY_LEN 25 /* kind, nonce, cookie */
/* A joiner whose credential (not a trust entry) admits it repeats the hello's cookie in a
 * presentation carrying the credential; the seed answers a valid one with its own
 * credential before its sealed answer, so that each can open the other's datagrams. */
#define WIRE_PRESENT_KIND   0x14
#define WIRE_PRESENTED_KIND 0x15

struct wire_hello {
	char name[WIRE_NAME_MAX + 1];
	uint64_t nonce; /* echoed by the cookie reply: the joiner takes only its own */
	bool has_cookie;
	uint8_t cookie[WIRE_COOKIE_LEN];
};

struct wire_cookie {
	uint64_t nonce; /* the hello's */
	uint8_t cookie[WIRE_COOKIE_LEN];
};

/* Encoders return the length (WIRE_HELLO_LEN, WIRE_COOKIE_REPLY_LEN) or -1; decoders 0, or
 * -1 for anything but the exact length with zero padding. */
int wire_hello_encode(const struct wire_hello *h, uint8_t *buf, size_t cap);
int wire_hello_decode(const uint8_t *buf, size_t len, struct wire_hello *h);
int wire_cookie_encode(const struct wire_cookie *c, uint8_t *buf, size_t cap);
int wire_cookie_decode(const uint8_t *buf, size_t len, struct wire_cookie *c);

/* A presentation (kind, nonce, cookie, credential) and its answer (kind, nonce, the seed's
 * credential). The credential is only carried here: cred.h decodes it. */
struct wire_present {
	uint64_t nonce;
	bool has_cookie; /* false: the answer */
	uint8_t cookie[WIRE_COOKIE_LEN];
	uint16_t cred_len;
	uint8_t cred[WIRE_BLOB_MAX];
};

int wire_present_encode(const struct wire_present *p, uint8_t *buf, size_t cap);
int wire_present_decode(const uint8_t *buf, size_t len, struct wire_present *p);

#endif
