/* The gossip membership core: SWIM with Lifeguard's local health awareness, descriptor
 * dissemination and anti-entropy, as a pure state machine. It opens no socket, reads no
 * clock and draws randomness only from the seed it is given: the daemon and the
 * simulator feed it time and datagrams and take datagrams and events out. */
#ifndef NETD_GOSSIP_H
#define NETD_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/cred.h"
#include "netd/gossip_profile.h"
#include "netd/seal.h"
#include "netd/wire.h"

/* Microseconds on a monotonic clock of the caller's choosing. */
typedef int64_t gossip_time;
#define GOSSIP_MSEC ((gossip_time)1000)
#define GOSSIP_SEC  ((gossip_time)1000000)

/* Which sites are admitted and what each may advertise. Immutable once handed to a
 * gossip instance, which borrows it: it must outlive every instance using it (one table
 * may serve many instances, as in the simulator). Free with gossip_trust_free(). */
struct gossip_trust;

struct gossip_trust *gossip_trust_new(void);
void gossip_trust_free(struct gossip_trust *t);
/* What a trust entry grants a site: prefixes it may advertise (subnets of them too), the
 * ranges its overlay (VTEP) addresses must lie in -- none: they must lie in its prefixes --
 * and the VNIs it may join. */
struct gossip_grant {
	const struct addr_prefix *prefixes;
	size_t nprefixes;
	const struct addr_prefix *overlay;
	size_t noverlay;
	const uint32_t *vnis;
	size_t nvnis;
};

/* Adds a site with its key and grant (copied). Returns 0, or -1 for a bad or duplicate
 * name or no memory. */
int gossip_trust_add(struct gossip_trust *t, const char *name, const uint8_t key[WIRE_KEY_LEN],
                     const struct gossip_grant *grant);
size_t gossip_trust_count(const struct gossip_trust *t);
/* The index of name, or -1. */
int gossip_trust_find(const struct gossip_trust *t, const char *name);

/* Why a descriptor is not admitted as it is. */
enum gossip_refusal {
	GOSSIP_REFUSAL_NONE,
	GOSSIP_REFUSAL_UNTRUSTED, /* no trust entry has its name */
	GOSSIP_REFUSAL_KEY,       /* not the key its trust entry names */
	GOSSIP_REFUSAL_PREFIX,    /* a prefix outside the granted ones */
	GOSSIP_REFUSAL_OVERLAY,   /* an overlay address outside the granted overlay */
	GOSSIP_REFUSAL_VNI,       /* a VNI not granted */
};

const char *gossip_refusal_name(enum gossip_refusal r);

/* GOSSIP_REFUSAL_NONE when d is admitted as it is: a trusted name, its key, only granted
 * prefixes, overlay addresses and VNIs. Otherwise the first thing refused, and, when why is
 * not NULL, a sentence naming it ("prefix 10.9.0.0/16 is outside ..."). */
enum gossip_refusal gossip_trust_check(const struct gossip_trust *t, const struct wire_desc *d,
                                       char *why, size_t len);

/* A site credential as gossip holds it: the encoded document, passed on byte for byte, and
 * its fields read in place. Shared by reference like descriptors; verified is set once its
 * signatures were checked against the authority set of the instance that checked them (a
 * simulator's sites share one set). The bytes are kept but for each signature's authority key,
 * which a federation's credentials all repeat: each names its key by an index into a table of
 * the keys held (gossip_cred_encode puts them back). */
struct gossip_cred {
	unsigned refs;
	bool verified;
	uint8_t nsigs;
	uint16_t len; /* encoded */
	/* The encoding up to its signatures (their count included), then per signature its
	 * key's index (4 bytes, unaligned) and the signature. */
	uint8_t kept[];
};

/* A copy of an encoded credential, decoded into c (which may be NULL) to check it is one:
 * NULL for bytes that are not a site credential, or no memory. */
struct gossip_cred *gossip_cred_new(const uint8_t *bytes, size_t len, struct cred *c);
struct gossip_cred *gossip_cred_ref(struct gossip_cred *gc);
void gossip_cred_unref(struct gossip_cred *gc);
/* The bytes gc was made of, into buf: their length (gc->len), or -1 when cap is short. */
int gossip_cred_encode(const struct gossip_cred *gc, uint8_t *buf, size_t cap);
/* gc decoded into c: 0, or -1 with the reason in err. */
int gossip_cred_decode(const struct gossip_cred *gc, struct cred *c, char *err, size_t errlen);
/* gc's serial, read where its encoding holds it. */
uint64_t gossip_cred_serial(const struct gossip_cred *gc);

/* A descriptor shared by reference: one received copy serves the whole membership view,
 * and a simulator can share one across thousands of views. */
struct gossip_desc {
	unsigned refs;
	bool verified; /* signature checked against the wg_key */
	struct wire_cdesc d;
	uint32_t room[]; /* d's lists, at their real length */
};

/* A copy of d at its real size with one reference, verified = false. */
struct gossip_desc *gossip_desc_new(const struct wire_desc *d);
struct gossip_desc *gossip_desc_ref(struct gossip_desc *gd);
void gossip_desc_unref(struct gossip_desc *gd);
/* Checks the signature once; sets verified. 0 or -1. */
int gossip_desc_verify(struct gossip_desc *gd);

enum gossip_state {
	GOSSIP_NONE = 0, /* not heard of */
	GOSSIP_ALIVE = WIRE_STATE_ALIVE,
	GOSSIP_SUSPECT = WIRE_STATE_SUSPECT,
	GOSSIP_DEAD = WIRE_STATE_DEAD,
	GOSSIP_LEFT = WIRE_STATE_LEFT,
};

const char *gossip_state_name(enum gossip_state s);

enum gossip_event_type {
	GOSSIP_EV_JOIN,    /* a site appeared, or came back after dead/left */
	GOSSIP_EV_ALIVE,   /* a suspect site refuted */
	GOSSIP_EV_SUSPECT, /* see .local: raised by this site's own probe */
	GOSSIP_EV_DEAD,
	GOSSIP_EV_LEFT,
	GOSSIP_EV_UPDATE,   /* granted descriptor content changed */
	GOSSIP_EV_REFUSED,  /* a new descriptor content asks for more than the trust grants */
	GOSSIP_EV_REVOKED,  /* its credential was revoked: out of the view at once, for good */
	GOSSIP_EV_EXPIRED,  /* its credential expired: out of the view until a renewal arrives */
	GOSSIP_EV_DISOWNED, /* an authority update left its credential short of signatures */
};

const char *gossip_event_name(enum gossip_event_type t);

struct gossip_event {
	enum gossip_event_type type;
	gossip_time at;
	const char *name;
	int index; /* trust index */
	uint32_t incarnation;
	const struct wire_cdesc *desc; /* may be NULL for a site known only by name */
	bool local;                    /* SUSPECT: this site's probe raised it */
	enum gossip_refusal refusal;   /* REFUSED: what, and why as a sentence */
	const char *why;
};

struct gossip_callbacks {
	/* A datagram to send; buf is only valid during the call. */
	void (*send)(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len);
	void (*event)(void *arg, const struct gossip_event *ev);
	void *arg;
};

struct gossip_config {
	const char *name;
	const uint8_t *private_key; /* X25519, WIRE_KEY_LEN bytes: the WireGuard key */
	uint64_t session;           /* random and non-zero, new for every instance (seal.h) */
	uint32_t incarnation;       /* starting incarnation */
	/* The site's own descriptor: name, keys, incarnation and signature are filled in. */
	const struct wire_desc *desc;
	struct gossip_profile profile;
	const struct gossip_trust *trust; /* borrowed */
	/* The federation: sites whose credentials verify against these authorities are admitted
	 * beside the trust table's (which wins for a name in both). NULL: the trust table alone.
	 * Copied. */
	const struct cred_authorities *authorities;
	/* This site's own credential, encoded, passed to every site that does not know it yet;
	 * NULL when it has none. Copied. */
	const uint8_t *credential;
	size_t credential_len;
	/* The credential for the key this site moves to next, encoded (NULL: none): spread ahead
	 * of the switch, so that the others stand ready for the new key. Copied. */
	const uint8_t *next_credential;
	size_t next_credential_len;
	/* The time of day in Unix seconds (called with cb.arg), for the validity of credentials:
	 * required with authorities. */
	int64_t (*unix_now)(void *arg);
	/* The authorities stay as given: authority updates are refused. */
	bool pin_authorities;
	const struct addr_endpoint *seeds;
	size_t nseeds;
	uint64_t rng_seed;
	struct gossip_callbacks cb;
	seal_dh_fn dh; /* NULL: X25519 from libsodium */
	void *dh_arg;
	/* A simulator's converged start, where every site has long confirmed the others'
	 * sessions: true when session is the one site `peer` (trust index) runs, which is then
	 * confirmed without an exchange. NULL (the daemon): every new session is challenged. */
	bool (*session_known)(void *arg, uint32_t peer, uint64_t session);
	void *session_arg;
	/* A simulator's site that stands for one holding the whole view without holding it (a
	 * view of N members at each of N simulated sites costs N^2): true when a member holding
	 * the whole view would hold the site named `name` already. Such a member, not held, is
	 * taken as held wherever it is named (another's anti-entropy entries, its descriptor
	 * passed on, a datagram from it): no credential or descriptor is asked for it, as a
	 * member holding it would not. A site it says false of (one joining) is learnt as
	 * usual; a join presented to this site itself is always taken. NULL (the daemon): every
	 * site not held is learnt. */
	bool (*view_holds)(void *arg, const char *name);
	void *view_arg;
};

/* Why datagrams were dropped, and what the protocol did: for metrics. */
struct gossip_counters {
	uint64_t rx_datagrams, rx_bytes, tx_datagrams, tx_bytes;
	uint64_t drop_malformed; /* bad header or payload */
	uint64_t drop_unknown;   /* sender not in the trust table */
	uint64_t drop_forged;    /* authentication failed */
	uint64_t drop_replayed;  /* counter seen or too old */
	uint64_t drop_stale;     /* from a sender session never confirmed (a recording?) */
	uint64_t drop_self;      /* claims to come from this site */
	uint64_t drop_refused;   /* descriptor not granted (per version), bad signature or key */
	uint64_t drop_rate;      /* answers to hellos and to trusted senders over budget */
	uint64_t drop_cookie;    /* hello with a stale or forged cookie; unasked cookie reply */
	uint64_t probes, probe_failures, indirect_probes;
	uint64_t suspicions;  /* raised by this site */
	uint64_t refutations; /* this site refuted a suspicion of itself */
	uint64_t syncs;       /* anti-entropy exchanges started */
	uint64_t joins;       /* join attempts to seeds or dead members */
	/* Members up but not reached directly: a probe answered only through helpers, or a
	 * helper pinging this site for a prober whose own ping went unanswered. */
	uint64_t direct_failures;
	uint64_t challenges;     /* freshness challenges sent in a datagram of their own */
	uint64_t creds_admitted; /* credentials verified and taken (new sites and renewals) */
	uint64_t creds_refused;  /* credentials that did not verify, were revoked or expired */
	uint64_t revocations;    /* revocations verified and taken */
	uint64_t drop_revoked;   /* from a site whose credential was revoked */
};

struct gossip;

/* Validates cfg, signs the initial descriptor. Returns NULL with a message in err on
 * failure. Free with gossip_free(). */
struct gossip *gossip_new(const struct gossip_config *cfg, char *err, size_t errlen);
void gossip_free(struct gossip *g);

/* Starts: the first probe, gossip and sync times, and the seed joins. */
void gossip_start(struct gossip *g, gossip_time now);
void gossip_tick(struct gossip *g, gossip_time now);
void gossip_receive(struct gossip *g, gossip_time now, const struct addr_endpoint *from,
                    const uint8_t *buf, size_t len);
/* Whether datagrams wait unread (the last read stopped at its limit, not at an empty
 * socket): with Lifeguard, deadlines that ran out meanwhile wait a little longer for the
 * answers among them. */
void gossip_set_backlog(struct gossip *g, bool waiting);
/* When gossip_tick next has something to do; INT64_MAX when nothing is left (a site that
 * left and has passed its leave on). */
gossip_time gossip_next_deadline(const struct gossip *g);

/* One above inc, or inc itself at the top: incarnations saturate instead of wrapping to 0,
 * which every other site would take for the oldest version. */
uint32_t gossip_next_incarnation(uint32_t inc);

/* A new version of this site's descriptor (keys and name are kept). */
int gossip_update(struct gossip *g, gossip_time now, const struct wire_desc *desc);
/* Announces a graceful leave; keep ticking a little so it spreads. */
void gossip_leave(struct gossip *g, gossip_time now);

/* Inserts a member this site already verified (a state cache, a simulator's converged
 * start): gd must be verified and carry its trusted key; what its trust does not grant is
 * refused as gossip_receive would. Takes a reference. 0 or -1. */
int gossip_add_member(struct gossip *g, gossip_time now, struct gossip_desc *gd);

/* A member's descriptor is its newest one signed by its trusted key: that is what proves
 * it alive and what is passed on, even when its trust entry does not grant all of it.
 * granted is what of it the trust grants -- the data plane's share -- and refusal says
 * what was left out. */
struct gossip_member_info {
	const char *name;
	enum gossip_state state;
	uint32_t incarnation;
	const struct wire_cdesc *desc;    /* NULL when only the name is known */
	const struct wire_cdesc *granted; /* desc, or desc less what was refused */
	enum gossip_refusal refusal;      /* of desc; GOSSIP_REFUSAL_NONE: granted == desc */
	const char *why;                  /* the refusal as a sentence; "" when none */
	gossip_time changed_at;
	gossip_time suspect_until;      /* SUSPECT: when this site's suspicion runs out, else 0 */
	const struct gossip_cred *cred; /* admitted by credential: the one it holds; else NULL */
	const uint8_t *key;      /* the key it is admitted under (its descriptor may be older) */
	const uint8_t *next_key; /* the key it announced it moves to; NULL: none */
	/* Where its authenticated datagrams come from, what gossip sends to; NULL: not heard. */
	const struct addr_endpoint *seen;
	/* When a probe of it was last answered directly, and last only through helpers (its
	 * direct path fails while it is up); 0: never. */
	gossip_time direct_ok_at, direct_fail_at;
};

/* The member's descriptor as held, NULL when only its name is known: a reference keeps it
 * past the member's next one, for a state file or a new instance to carry. */
struct gossip_desc *gossip_member_desc(const struct gossip *g, size_t index);
/* The credential the member is admitted by, NULL when none: the same for a reference. */
struct gossip_cred *gossip_member_cred(const struct gossip *g, size_t index);

/* Members by index: the trust table's entries first (a member's index is its trust index),
 * then the sites admitted by credential, in the order they were. -1 for an index not known. */
int gossip_member(const struct gossip *g, size_t index, struct gossip_member_info *out);
size_t gossip_member_count(const struct gossip *g);
/* The index of the member named, or -1. */
int gossip_member_find(const struct gossip *g, const char *name);

/* The member's next probe comes out of turn, as a suspect's does (every other probe at
 * most): its tunnel went quiet, and whether it is reached directly is wanted soon. */
void gossip_probe_soon(struct gossip *g, const char *name);

/* Where WireGuard sees the member's handshakes come from (its peer's endpoint): told to the
 * member when its descriptor does not list it, so that a site behind NAT learns and publishes
 * its public WireGuard endpoint. */
void gossip_member_wg_seen(struct gossip *g, gossip_time now, const char *name,
                           const struct addr_endpoint *ep);

/* Federation documents handed in by the operator (through the status socket) or by a state
 * file: each is verified against the current authority set, taken and spread. Return 0 (also
 * for one already held), or -1 with the reason in err. */
int gossip_add_credential(struct gossip *g, gossip_time now, const uint8_t *bytes, size_t len,
                          char *err, size_t errlen);
/* gossip_add_credential for a credential shared by reference (a simulator's sites share one
 * per site, verified once): takes a reference when admitted. */
int gossip_admit(struct gossip *g, gossip_time now, struct gossip_cred *gc, char *err,
                 size_t errlen);
int gossip_add_revocation(struct gossip *g, gossip_time now, const uint8_t *bytes, size_t len,
                          char *err, size_t errlen);
/* An authority update signed by threshold of the current set, with a higher version: its set
 * replaces the current one (unless pinned), spreads, and the credentials admitted so far are
 * checked against it again. 0 (also for the one held), or -1 with the reason in err. */
int gossip_add_authorities(struct gossip *g, gossip_time now, const uint8_t *bytes, size_t len,
                           char *err, size_t errlen);
/* The authority set in force (the config's, or the newest update taken); NULL outside a
 * federation. */
const struct cred_authorities *gossip_authorities(const struct gossip *g);
/* The update in force, encoded, for the state file; NULL when it is the config's set. */
const uint8_t *gossip_authorities_update(const struct gossip *g, size_t *len);

/* The revocations held, encoded: for the state file and the catalogue. */
size_t gossip_revocation_count(const struct gossip *g);
const uint8_t *gossip_revocation(const struct gossip *g, size_t i, size_t *len);

size_t gossip_alive_count(const struct gossip *g); /* alive or suspect, self included */
const struct gossip_counters *gossip_counters(const struct gossip *g);
const struct wire_desc *gossip_self(const struct gossip *g);
unsigned gossip_awareness(const struct gossip *g); /* Lifeguard score, 0 = healthy */
size_t gossip_pending_broadcasts(const struct gossip *g);

#endif
