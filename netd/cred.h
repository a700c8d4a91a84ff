/* Federation credentials: the documents a federation's authorities sign offline and sites
 * carry in gossip. A site credential is a site's signed self-description -- who it is, the
 * WireGuard key it runs, what it may claim, its attributes and validity. A revocation takes a
 * credential (by serial) or a key out of the federation for good. An authority update changes
 * the authority set or the threshold. Each is valid with signatures of at least `threshold`
 * distinct authorities of the federation.
 *
 * Pure functions on plain data and byte buffers: a versioned, bounded, canonical binary
 * encoding (what decodes re-encodes to the same bytes), a text armour for files and mail, and
 * Ed25519 signatures over domain-separated bytes. No I/O, no clock: the caller passes now. */
#ifndef NETD_CRED_H
#define NETD_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/addr.h"
#include "netd/wire.h"

#define CRED_VERSION 1
#define CRED_KEY_LEN 32 /* Ed25519 public key of an authority; X25519 key of a site */
#define CRED_SIG_LEN 64
#define CRED_MAX_AUTHORITIES                                                                       \
	7 /* in a federation's authority set: an update of a full set                              \
	   * signed by all of it still fits CRED_ENCODED_MAX */
#define CRED_MAX_SIGS      CRED_MAX_AUTHORITIES
#define CRED_MAX_LABELS    8
#define CRED_LABEL_KEY_MAX 32   /* a-z, 0-9, '-', '_', '.', not empty */
#define CRED_VALUE_MAX     64   /* label values and provider: printable ASCII, no '"' or '\' */
#define CRED_ENCODED_MAX   1024 /* any encoded document, signatures included */
#define CRED_ARMOR_MAX     2048 /* its armoured text */

/* The kinds of document, the first byte after the version in every encoding. */
enum cred_kind {
	CRED_KIND_SITE = 1,
	CRED_KIND_REVOCATION = 2,
	CRED_KIND_AUTHORITIES = 3,
};

struct cred_sig {
	uint8_t authority[CRED_KEY_LEN]; /* which authority signed: its public key */
	uint8_t sig[CRED_SIG_LEN];
};

struct cred_label {
	char key[CRED_LABEL_KEY_MAX + 1];
	char value[CRED_VALUE_MAX + 1];
};

/* A site's signed self-description. Lists are kept sorted and without duplicates (the
 * encoder refuses anything else), so one content has one encoding. */
struct cred {
	char federation[WIRE_NAME_MAX + 1];
	char site[WIRE_NAME_MAX + 1];
	uint8_t wg_key[CRED_KEY_LEN]; /* the site's WireGuard (X25519) public key */
	uint64_t serial;              /* a renewal carries a higher one */
	int64_t not_before;           /* Unix seconds, inclusive */
	int64_t not_after;            /* Unix seconds, exclusive; > not_before */
	/* What the site may claim, as a static trust entry grants it: prefixes (and subnets of
	 * them), overlay ranges (none: overlay addresses must lie in the prefixes), VNIs. Prefixes
	 * and overlay ranges canonical (host bits zero). */
	struct addr_prefix prefixes[WIRE_MAX_PREFIXES];
	uint8_t nprefixes;
	struct addr_prefix overlay[WIRE_MAX_OVERLAY];
	uint8_t noverlay;
	uint32_t vnis[WIRE_MAX_VNIS]; /* 1..WIRE_VNI_MAX */
	uint8_t nvnis;
	char provider[CRED_VALUE_MAX + 1]; /* "" when not stated */
	char jurisdiction[3];              /* ISO 3166-1 alpha-2, upper case; "" when not stated */
	struct cred_label labels[CRED_MAX_LABELS]; /* sorted by key, keys unique */
	uint8_t nlabels;
	struct cred_sig sigs[CRED_MAX_SIGS]; /* sorted by authority key, one per authority */
	uint8_t nsigs;
};

enum cred_revocation_kind {
	CRED_REVOKE_SERIAL = 1, /* site's credentials with a serial <= serial */
	CRED_REVOKE_KEY = 2,    /* every credential binding key, for good */
};

struct cred_revocation {
	char federation[WIRE_NAME_MAX + 1];
	uint8_t kind;                    /* enum cred_revocation_kind */
	char site[WIRE_NAME_MAX + 1];    /* SERIAL: the site */
	uint64_t serial;                 /* SERIAL */
	uint8_t key[CRED_KEY_LEN];       /* KEY: the WireGuard key */
	int64_t issued;                  /* Unix seconds: for people, not for ordering */
	char reason[CRED_VALUE_MAX + 1]; /* free text, may be "" */
	struct cred_sig sigs[CRED_MAX_SIGS];
	uint8_t nsigs;
};

/* A federation's authority set: what a site's config names, and what an authority update
 * (signed by threshold of the set it replaces) changes. Keys sorted and unique. */
struct cred_authorities {
	char federation[WIRE_NAME_MAX + 1];
	uint64_t version; /* the config's set is version 0; each update is higher than the last */
	uint8_t keys[CRED_MAX_AUTHORITIES][CRED_KEY_LEN];
	uint8_t nkeys;
	uint8_t threshold; /* 1..nkeys */
	struct cred_sig sigs[CRED_MAX_SIGS];
	uint8_t nsigs;
};

/* ---- encoding ---- */

/* Canonical binary encodings (version byte, kind byte, body, signatures). Encoders return
 * the length or -1 for anything the decoder would refuse (out of bounds, unsorted,
 * duplicate, not canonical, over CRED_ENCODED_MAX). Decoders take exactly one document and
 * return 0, or -1 with the first problem named in err. */
int cred_encode(const struct cred *c, uint8_t *buf, size_t cap);
int cred_decode(const uint8_t *buf, size_t len, struct cred *c, char *err, size_t errlen);
int cred_revocation_encode(const struct cred_revocation *r, uint8_t *buf, size_t cap);
int cred_revocation_decode(const uint8_t *buf, size_t len, struct cred_revocation *r, char *err,
                           size_t errlen);
int cred_authorities_encode(const struct cred_authorities *a, uint8_t *buf, size_t cap);
int cred_authorities_decode(const uint8_t *buf, size_t len, struct cred_authorities *a, char *err,
                            size_t errlen);
/* The kind of an encoded document (its second byte), or -1. */
int cred_kind_of(const uint8_t *buf, size_t len);
/* The serial and end of validity of an encoded site credential, read in place (the bytes
 * before its signatures suffice): 0, or -1 when buf does not hold them. */
int cred_site_validity(const uint8_t *buf, size_t len, uint64_t *serial, int64_t *not_after);

/* The armour: "-----BEGIN NETD <KIND>-----", base64 lines of at most 64 characters, and
 * "-----END NETD <KIND>-----", KIND being CREDENTIAL, REVOCATION or AUTHORITIES. Text around
 * the block (comments, mail headers) is ignored; exactly one block. cred_armor returns the
 * text length or -1; cred_dearmor the decoded length or -1 with err. */
int cred_armor(const uint8_t *bin, size_t len, char *text, size_t cap);
int cred_dearmor(const char *text, size_t len, uint8_t *bin, size_t cap, char *err, size_t errlen);

/* Sorts the lists and drops exact duplicates, so that a document built by hand (from a
 * config) encodes. Returns 0, or -1 when two labels share a key. */
int cred_normalize(struct cred *c);

/* ---- signing ---- */

/* An authority's key pair, Ed25519, from its 32-byte seed (the form kept in an authority's
 * key file, base64 like a WireGuard key): the public key and libsodium's 64-byte secret key
 * form. 0 or -1. */
int cred_authority_from_seed(const uint8_t seed[32], uint8_t pub[CRED_KEY_LEN], uint8_t secret[64]);
/* Adds the signature of the authority whose secret key is secret: over the document's
 * signed bytes (everything but the signatures, behind a context string per kind). Replaces
 * that authority's earlier signature. Returns 0, or -1 when the list is full or the body does
 * not encode. */
int cred_sign(struct cred *c, const uint8_t secret[64]);
int cred_revocation_sign(struct cred_revocation *r, const uint8_t secret[64]);
int cred_authorities_sign(struct cred_authorities *a, const uint8_t secret[64]);

/* ---- verification ---- */

/* Why a document is not accepted, first problem first. */
enum cred_status {
	CRED_OK = 0,
	CRED_WRONG_FEDERATION, /* names another federation */
	CRED_BAD_SIGNATURE,    /* a signature of a known authority does not verify */
	CRED_TOO_FEW_SIGNERS,  /* fewer than threshold distinct known authorities signed */
	CRED_NOT_YET_VALID,    /* now < not_before */
	CRED_EXPIRED,          /* now >= not_after */
	CRED_REVOKED_SERIAL,   /* a revocation covers its serial */
	CRED_REVOKED_KEY,      /* a revocation covers its key */
	CRED_STALE,            /* authority update: version not above the current one */
};

const char *cred_status_name(enum cred_status s);

/* What verification found: the status, and for people a sentence that says exactly what is
 * missing ("2 of 3 needed signatures: 1 more from the authorities not yet signed: ..."). */
struct cred_verdict {
	enum cred_status status;
	unsigned signers; /* distinct known authorities whose signatures verify */
	unsigned needed;  /* the threshold */
	unsigned unknown; /* signatures by keys not in the set (ignored, not an error) */
	char why[256];
};

/* Verifies c against the authority set at time now (Unix seconds): federation, signatures
 * (a duplicate signer counts once; a bad signature by a known authority refuses the whole
 * document), threshold, validity. Revocations are checked by cred_revoked. */
enum cred_status cred_verify(const struct cred *c, const struct cred_authorities *set, int64_t now,
                             struct cred_verdict *v);
enum cred_status cred_revocation_verify(const struct cred_revocation *r,
                                        const struct cred_authorities *set, struct cred_verdict *v);
/* An update is accepted when signed by threshold of the current set and its version is
 * higher than the current one's. */
enum cred_status cred_authorities_verify(const struct cred_authorities *update,
                                         const struct cred_authorities *current,
                                         struct cred_verdict *v);

/* CRED_OK, or CRED_REVOKED_SERIAL / CRED_REVOKED_KEY when one of the n (verified)
 * revocations covers c. */
enum cred_status cred_revoked(const struct cred *c, const struct cred_revocation *revs, size_t n);

/* A stable 8-byte identity of a revocation's content (not of its signatures): for the
 * anti-entropy of revocation sets and for deduplication. */
uint64_t cred_revocation_id(const struct cred_revocation *r);

/* A document's time (Unix seconds) as people and JSON read it: UTC ISO 8601,
 * "2026-12-03T23:00:00Z"; "@SECONDS" for one the calendar cannot show. Returns out. */
#define CRED_TIME_STRLEN 32
const char *cred_format_time(int64_t t, char out[CRED_TIME_STRLEN]);

/* True when label key (or "provider", "jurisdiction") has value in c. */
const char *cred_attribute(const struct cred *c, const char *key);

#endif
