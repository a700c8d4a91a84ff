/* The SWIM + Lifeguard membership state machine: probing, suspicion, dissemination by
 * piggybacking and gossip rounds, anti-entropy by bucketed digests, seed re-joins. No
 * I/O: time, datagrams and randomness come from the caller. */
#include "netd/gossip.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONFIRMERS 8
#define MAX_FORWARDS   64
#define MAX_URGENT     16 /* suspects waiting for this site's own probe */
#define SELF_ID        UINT32_MAX
/* What answering outsiders may cost (PROTOCOL.md, "Joins and re-merge"). A cookie reply
 * costs a MAC and is shorter than the hello it answers: its cap is twice the flood a seed is
 * specified to withstand (10,000 hellos/s), so such a flood cannot crowd out a joiner's
 * hello. A sealed answer goes only to a source that proved its address with a cookie: a few
 * per second per address, and a global cap that bounds the sealing work. */
#define COOKIE_SLOT   (10 * GOSSIP_SEC) /* a cookie is good for 10..20 s */
#define COOKIE_RATE   20000             /* cookie replies per second ... */
#define COOKIE_BURST  2000              /* ... and in a burst */
#define HELLO_RATE    100               /* sealed answers to hellos per second ... */
#define HELLO_BURST   100
#define SOURCE_RATE   2 /* ... and per source address (an IPv6 /64) */
#define SOURCE_BURST  4
#define SOURCES       64  /* source addresses tracked; the least recently seen is replaced */
#define ANSWER_GAP_MS 200 /* join answers and tell-the-dead, per trusted sender */
#define PULL_FANOUT   3   /* members asked for a suspect's descriptor before it is dead here */
#define ANSWERED      64  /* senders answered lately, kept to enforce that gap */
/* A challenge in a datagram of its own goes to a sender at most this often; datagrams that go
 * to it anyway carry the challenge as well. */
#define CHALLENGE_GAP (100 * GOSSIP_MSEC)
#define CHALLENGE_LEN (1 + WIRE_NONCE_LEN) /* a CHALLENGE or RESPONSE message */
#define FRESH_ROOM    (2 * CHALLENGE_LEN)  /* kept free in every payload for both */
/* What was sent lately, kept so that a peer that challenges this site (it could not take
 * what this site sent, since it has not confirmed this site's session) gets it again, sealed
 * anew, with the response: the datagrams of the last RESEND_WINDOW, RESEND_RING at most. */
#define WANTED   64                  /* names whose credentials were asked for lately */
#define WANT_GAP (300 * GOSSIP_MSEC) /* a lost ask is retried while the news spreads */
/* A list whose names this site asked credentials for is synced again with its sender once
 * the answers stop coming for FOLLOW_QUIET: what a full socket or a lost datagram took is
 * named, and asked for, again. Follow-ups go on while they bring credentials, and stop after
 * FOLLOW_BARREN in a row that bring none (names this site refuses, or the sender lacks). */
#define FOLLOW_QUIET       (2 * GOSSIP_SEC)
#define FOLLOW_BARREN      1
#define BACKLOG_EXTENSIONS 8  /* of one deadline, while datagrams wait unread */
#define ASK_RATE           20 /* credentials asked for unknown senders, per second ... */
#define ASK_BURST          40
#define OUT_REVOKED        1
#define OUT_EXPIRED        2
#define OUT_DISOWNED       3 /* no longer signed by enough of the current authorities */
/* Broadcasts about revocations are told apart from those about members by this bit; the
 * authority update has a number of its own, below it and above every member's. */
#define REVOKE_ABOUT      0x80000000u
#define AUTHORITIES_ABOUT 0x7fffffffu
/* The sealing state of a member's announced next key is kept under its index with this bit,
 * apart from its current key's. */
#define NEXT_KEY_ID 0x80000000u
#define RESEND_RING 32
/* Observed endpoints: how many other sites' word is kept, for how long, how often it is
 * repeated to a site that does not publish it, and how often it changes this descriptor. */
#define OBSERVERS            8
#define OBSERVED_TTL         (120 * GOSSIP_SEC)
#define OBSERVED_GAP         (200 * GOSSIP_MSEC)
#define OBSERVED_RETELL      (30 * GOSSIP_SEC)
#define OBSERVED_PUBLISH_GAP (2 * GOSSIP_SEC)
#define RESEND_WINDOW        (3 * GOSSIP_SEC)

/* ---- trust table ---- */

struct trust_entry {
	char name[WIRE_NAME_MAX + 1];
	uint8_t key[WIRE_KEY_LEN];
	uint32_t nprefixes, noverlay, nvnis;
	/* The prefixes, the overlay ranges (none: the overlay must lie in the prefixes) and the
	 * VNIs, one after the other in one block (one allocation a site, not three); NULL when
	 * all three are empty, and for a site admitted by credential, whose grant is read from
	 * the credential it holds (member_grant()). entry_grant() finds each list. */
	void *lists;
};

/* One per trusted site and per site admitted by credential: the name's hash is computed
 * again where needed rather than kept (88 bytes; 128 with it, a pointer and a size_t count a
 * list). */
_Static_assert(sizeof(struct trust_entry) <= 88, "a trust entry grew");

struct gossip_trust {
	struct trust_entry *e;
	size_t n, cap;
	int32_t *slots; /* open addressing over name hashes, -1 = empty */
	size_t nslots;
};

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* e's lists, found in their block. */
static struct gossip_grant
entry_grant(const struct trust_entry *e)
{
	const struct addr_prefix *p = e->lists;

	if (p == NULL)
		return (struct gossip_grant){0};
	return (struct gossip_grant){p,
	                             e->nprefixes,
	                             p + e->nprefixes,
	                             e->noverlay,
	                             (const uint32_t *)(p + e->nprefixes + e->noverlay),
	                             e->nvnis};
}

/* Copies grant's lists into one block for e. 0, or -1 with e's lists untouched. */
static int
lists_copy(struct trust_entry *e, const struct gossip_grant *grant)
{
	size_t np = grant->nprefixes * sizeof(struct addr_prefix),
	       no = grant->noverlay * sizeof(struct addr_prefix),
	       nv = grant->nvnis * sizeof(uint32_t);
	uint8_t *block = NULL;

	if (grant->nprefixes > UINT32_MAX || grant->noverlay > UINT32_MAX ||
	    grant->nvnis > UINT32_MAX ||
	    (np + no + nv > 0 && (block = malloc(np + no + nv)) == NULL))
		return -1;
	if (np > 0)
		memcpy(block, grant->prefixes, np);
	if (no > 0)
		memcpy(block + np, grant->overlay, no);
	if (nv > 0)
		memcpy(block + np + no, grant->vnis, nv);
	e->lists = block;
	e->nprefixes = (uint32_t)grant->nprefixes;
	e->noverlay = (uint32_t)grant->noverlay;
	e->nvnis = (uint32_t)grant->nvnis;
	return 0;
}

struct gossip_trust *
gossip_trust_new(void)
{
	return calloc(1, sizeof(struct gossip_trust));
}

void
gossip_trust_free(struct gossip_trust *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].lists);
	free(t->e);
	free(t->slots);
	free(t);
}

static int
trust_rehash(struct gossip_trust *t, size_t nslots)
{
	int32_t *s = malloc(nslots * sizeof(*s));

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < nslots; i++)
		s[i] = -1;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = name_hash(t->e[i].name) & (nslots - 1);

		while (s[j] >= 0)
			j = (j + 1) & (nslots - 1);
		s[j] = (int32_t)i;
	}
	free(t->slots);
	t->slots = s;
	t->nslots = nslots;
	return 0;
}

int
gossip_trust_find(const struct gossip_trust *t, const char *name)
{
	uint64_t h;

	if (t->nslots == 0)
		return -1;
	h = name_hash(name);
	for (size_t j = h & (t->nslots - 1); t->slots[j] >= 0; j = (j + 1) & (t->nslots - 1)) {
		const struct trust_entry *e = &t->e[t->slots[j]];

		if (strcmp(e->name, name) == 0)
			return t->slots[j];
	}
	return -1;
}

int
gossip_trust_add(struct gossip_trust *t, const char *name, const uint8_t key[WIRE_KEY_LEN],
                 const struct gossip_grant *grant)
{
	struct trust_entry e;

	if (!wire_name_valid(name) || gossip_trust_find(t, name) >= 0 || t->n >= INT32_MAX / 2)
		return -1;
	memset(&e, 0, sizeof(e));
	strcpy(e.name, name);
	memcpy(e.key, key, WIRE_KEY_LEN);
	if (lists_copy(&e, grant) != 0)
		return -1;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct trust_entry *ne = realloc(t->e, ncap * sizeof(*ne));

		if (ne == NULL)
			goto fail;
		t->e = ne;
		t->cap = ncap;
	}
	t->e[t->n++] = e;
	if (t->n * 2 > t->nslots) {
		/* Half full at most: the index grows by doubling, so an insert costs O(1) on
		 * average, and a credential admitted among 10,000 no O(n). */
		if (trust_rehash(t, t->nslots ? t->nslots * 2 : 32) != 0) {
			t->n--;
			goto fail;
		}
	} else {
		size_t j = name_hash(name) & (t->nslots - 1);

		while (t->slots[j] >= 0)
			j = (j + 1) & (t->nslots - 1);
		t->slots[j] = (int32_t)(t->n - 1);
	}
	return 0;
fail:
	free(e.lists);
	return -1;
}

/* Gives entry i a new key (a credential for another key); its name stays. */
static void
trust_rekey(struct gossip_trust *t, int i, const uint8_t key[WIRE_KEY_LEN])
{
	memcpy(t->e[i].key, key, WIRE_KEY_LEN);
}

size_t
gossip_trust_count(const struct gossip_trust *t)
{
	return t->n;
}

static const char *const refusal_names[] = {
        [GOSSIP_REFUSAL_NONE] = "none",       [GOSSIP_REFUSAL_UNTRUSTED] = "untrusted",
        [GOSSIP_REFUSAL_KEY] = "key",         [GOSSIP_REFUSAL_PREFIX] = "prefix",
        [GOSSIP_REFUSAL_OVERLAY] = "overlay", [GOSSIP_REFUSAL_VNI] = "vni",
};

const char *
gossip_refusal_name(enum gossip_refusal r)
{
	return (unsigned)r < sizeof(refusal_names) / sizeof(refusal_names[0]) ? refusal_names[r]
	                                                                      : "unknown";
}

static bool
within_any(const struct addr_prefix *p, const struct addr_prefix *grants, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (addr_prefix_contains(&grants[i], p))
			return true;
	return false;
}

/* An overlay address is granted by the entry's overlay ranges; an entry without any grants
 * only addresses inside its prefixes, which the config keeps apart from everyone else's. */
static bool
overlay_granted(const struct gossip_grant *gr, const struct addr_prefix *p)
{
	return gr->noverlay > 0 ? within_any(p, gr->overlay, gr->noverlay)
	                        : within_any(p, gr->prefixes, gr->nprefixes);
}

static bool
vni_granted(const struct gossip_grant *gr, uint32_t vni)
{
	for (size_t i = 0; i < gr->nvnis; i++)
		if (gr->vnis[i] == vni)
			return true;
	return false;
}

/* Checks d against key and what gr grants; grantor names them in the sentence ("its trust
 * entry", "its credential"). */
static enum gossip_refusal
grant_check(const uint8_t key[WIRE_KEY_LEN], const struct gossip_grant *gr, const char *grantor,
            const struct wire_desc *d, char *why, size_t len)
{
	char text[ADDR_PREFIX_STRLEN];
	enum gossip_refusal r = GOSSIP_REFUSAL_NONE;

	if (memcmp(key, d->wg_key, WIRE_KEY_LEN) != 0)
		r = GOSSIP_REFUSAL_KEY;
	for (size_t i = 0; i < d->nprefixes && r == GOSSIP_REFUSAL_NONE; i++)
		if (!within_any(&d->prefixes[i], gr->prefixes, gr->nprefixes)) {
			r = GOSSIP_REFUSAL_PREFIX;
			addr_prefix_format(&d->prefixes[i], text);
		}
	for (size_t i = 0; i < d->noverlay && r == GOSSIP_REFUSAL_NONE; i++)
		if (!overlay_granted(gr, &d->overlay[i])) {
			r = GOSSIP_REFUSAL_OVERLAY;
			/* Full length: the decoder refuses anything else. */
			addr_format(&d->overlay[i].addr, text);
		}
	for (size_t i = 0; i < d->nvnis && r == GOSSIP_REFUSAL_NONE; i++)
		if (!vni_granted(gr, d->vnis[i])) {
			r = GOSSIP_REFUSAL_VNI;
			snprintf(text, sizeof(text), "%u", d->vnis[i]);
		}
	if (why == NULL || len == 0)
		return r;
	switch (r) {
	case GOSSIP_REFUSAL_NONE:
	case GOSSIP_REFUSAL_UNTRUSTED:
		why[0] = '\0';
		break;
	case GOSSIP_REFUSAL_KEY:
		snprintf(why, len, "its key is not the one %s names", grantor);
		break;
	case GOSSIP_REFUSAL_PREFIX:
		snprintf(why, len, "prefix %s is outside the prefixes %s grants", text, grantor);
		break;
	case GOSSIP_REFUSAL_OVERLAY:
		snprintf(why, len, "overlay address %s is outside the %s %s grants%s", text,
		         gr->noverlay > 0 ? "overlay" : "prefixes", grantor,
		         gr->noverlay > 0 ? "" : " (no overlay pinned)");
		break;
	case GOSSIP_REFUSAL_VNI:
		snprintf(why, len, "VNI %s is not among the segments %s grants", text, grantor);
		break;
	}
	return r;
}

enum gossip_refusal
gossip_trust_check(const struct gossip_trust *t, const struct wire_desc *d, char *why, size_t len)
{
	int idx = gossip_trust_find(t, d->name);
	struct gossip_grant gr;

	if (idx < 0) {
		if (why != NULL && len > 0)
			snprintf(why, len, "site %s has no trust entry", d->name);
		return GOSSIP_REFUSAL_UNTRUSTED;
	}
	gr = entry_grant(&t->e[idx]);
	return grant_check(t->e[idx].key, &gr, "its trust entry", d, why, len);
}

/* What of d gr grants: d with the refused prefixes, overlay addresses and VNIs left out. */
static void
grant_trim(const struct gossip_grant *gr, const struct wire_desc *d, struct wire_desc *out)
{
	*out = *d;
	out->nprefixes = out->noverlay = out->nvnis = 0;
	for (size_t i = 0; i < d->nprefixes; i++)
		if (within_any(&d->prefixes[i], gr->prefixes, gr->nprefixes))
			out->prefixes[out->nprefixes++] = d->prefixes[i];
	for (size_t i = 0; i < d->noverlay; i++)
		if (overlay_granted(gr, &d->overlay[i]))
			out->overlay[out->noverlay++] = d->overlay[i];
	for (size_t i = 0; i < d->nvnis; i++)
		if (vni_granted(gr, d->vnis[i]))
			out->vnis[out->nvnis++] = d->vnis[i];
}

/* ---- descriptors ---- */

struct gossip_desc *
gossip_desc_new(const struct wire_desc *d)
{
	struct gossip_desc *gd = malloc(sizeof(*gd) + wire_cdesc_room(d));

	if (gd == NULL)
		return NULL;
	gd->refs = 1;
	gd->verified = false;
	wire_cdesc_pack(&gd->d, gd->room, d);
	return gd;
}

struct gossip_desc *
gossip_desc_ref(struct gossip_desc *gd)
{
	gd->refs++;
	return gd;
}

void
gossip_desc_unref(struct gossip_desc *gd)
{
	if (gd != NULL && --gd->refs == 0)
		free(gd);
}

/* prev: a verified earlier descriptor of the same site, or NULL. A new version signed with
 * the same keys skips re-checking that the signing key belongs to the X25519 key, which
 * would otherwise cost every site as much again on every refutation. */
static int
desc_verify(struct gossip_desc *gd, const struct gossip_desc *prev)
{
	uint8_t buf[WIRE_DATAGRAM_MAX];
	struct wire_desc d;
	int len;
	bool ok;

	if (gd->verified)
		return 0;
	wire_cdesc_unpack(&gd->d, &d);
	len = wire_desc_signed_bytes(&d, buf, sizeof(buf));
	if (len < 0)
		return -1;
	if (prev != NULL && prev->verified &&
	    memcmp(prev->d.wg_key, gd->d.wg_key, WIRE_KEY_LEN) == 0 &&
	    memcmp(prev->d.sign_key, gd->d.sign_key, WIRE_KEY_LEN) == 0)
		ok = seal_verify_bound(gd->d.sign_key, buf, (size_t)len, gd->d.sig);
	else
		ok = seal_verify(gd->d.wg_key, gd->d.sign_key, buf, (size_t)len, gd->d.sig);
	if (!ok)
		return -1;
	gd->verified = true;
	return 0;
}

int
gossip_desc_verify(struct gossip_desc *gd)
{
	return desc_verify(gd, NULL);
}

/* ---- credentials ---- */

/* The authority keys the held credentials' signatures name, each once, with the count of
 * signatures naming it: a federation has a few authorities and every credential repeats
 * their keys. Process-wide, as credentials are (a simulator's instances share them; netd is
 * one thread); freed when the last signature naming a key goes. A key whose authority left
 * the set stays while credentials signed by it are held. */
struct akey {
	uint8_t key[CRED_KEY_LEN];
	uint32_t refs; /* 0: a free slot */
};

static struct akey *akeys;
static uint32_t nakeys, akeys_live;

#define SIG_WIRE (CRED_KEY_LEN + CRED_SIG_LEN)
#define SIG_KEPT (sizeof(uint32_t) + CRED_SIG_LEN)

/* The index of key in the table, taken once more: 0 on success, -1 for no memory. The keys
 * are few, so they are scanned. */
static int
akey_take(const uint8_t key[CRED_KEY_LEN], uint32_t *idx)
{
	uint32_t free_slot = UINT32_MAX;

	for (uint32_t i = 0; i < nakeys; i++) {
		if (akeys[i].refs > 0 && memcmp(akeys[i].key, key, CRED_KEY_LEN) == 0) {
			akeys[i].refs++;
			*idx = i;
			return 0;
		}
		if (akeys[i].refs == 0 && free_slot == UINT32_MAX)
			free_slot = i;
	}
	if (free_slot == UINT32_MAX) {
		struct akey *n;

		if (nakeys == UINT32_MAX ||
		    (n = realloc(akeys, ((size_t)nakeys + 1) * sizeof(*n))) == NULL)
			return -1;
		akeys = n;
		free_slot = nakeys++;
	}
	memcpy(akeys[free_slot].key, key, CRED_KEY_LEN);
	akeys[free_slot].refs = 1;
	akeys_live++;
	*idx = free_slot;
	return 0;
}

static void
akey_drop(uint32_t idx)
{
	if (--akeys[idx].refs > 0 || --akeys_live > 0)
		return;
	free(akeys);
	akeys = NULL;
	nakeys = 0;
}

/* Where gc's signatures begin in what it keeps: the encoding up to them. */
static size_t
cred_body_len(const struct gossip_cred *gc)
{
	return gc->len - gc->nsigs * SIG_WIRE;
}

static uint32_t
sig_key_index(const struct gossip_cred *gc, size_t i)
{
	uint32_t idx;

	memcpy(&idx, gc->kept + cred_body_len(gc) + i * SIG_KEPT, sizeof(idx));
	return idx;
}

/* The credential's serial and validity, read in place: gossip_cred_new decoded the bytes,
 * so they hold them. */
uint64_t
gossip_cred_serial(const struct gossip_cred *gc)
{
	uint64_t serial = 0;
	int64_t not_after;

	cred_site_validity(gc->kept, cred_body_len(gc), &serial, &not_after);
	return serial;
}

static int64_t
cred_not_after(const struct gossip_cred *gc)
{
	uint64_t serial;
	int64_t not_after = 0;

	cred_site_validity(gc->kept, cred_body_len(gc), &serial, &not_after);
	return not_after;
}

struct gossip_cred *
gossip_cred_new(const uint8_t *bytes, size_t len, struct cred *c)
{
	struct cred scratch;
	struct gossip_cred *gc;
	size_t body;
	char err[128];

	if (c == NULL)
		c = &scratch;
	if (len > CRED_ENCODED_MAX || cred_decode(bytes, len, c, err, sizeof(err)) != 0)
		return NULL;
	/* The decoder took the signatures, each an authority key and its signature, from the
	 * end of the bytes, in order. */
	body = len - c->nsigs * SIG_WIRE;
	gc = malloc(sizeof(*gc) + body + c->nsigs * SIG_KEPT);
	if (gc == NULL)
		return NULL;
	gc->refs = 1;
	gc->verified = false;
	gc->nsigs = c->nsigs;
	gc->len = (uint16_t)len;
	memcpy(gc->kept, bytes, body);
	for (uint8_t i = 0; i < c->nsigs; i++) {
		const uint8_t *sig = bytes + body + i * SIG_WIRE;
		uint8_t *at = gc->kept + body + i * SIG_KEPT;
		uint32_t idx;

		if (akey_take(sig, &idx) != 0) {
			while (i-- > 0)
				akey_drop(sig_key_index(gc, i));
			free(gc);
			return NULL;
		}
		memcpy(at, &idx, sizeof(idx));
		memcpy(at + sizeof(idx), sig + CRED_KEY_LEN, CRED_SIG_LEN);
	}
	return gc;
}

int
gossip_cred_encode(const struct gossip_cred *gc, uint8_t *buf, size_t cap)
{
	size_t body = cred_body_len(gc);

	if (cap < gc->len)
		return -1;
	memcpy(buf, gc->kept, body);
	for (size_t i = 0; i < gc->nsigs; i++) {
		uint8_t *out = buf + body + i * SIG_WIRE;

		memcpy(out, akeys[sig_key_index(gc, i)].key, CRED_KEY_LEN);
		memcpy(out + CRED_KEY_LEN, gc->kept + body + i * SIG_KEPT + sizeof(uint32_t),
		       CRED_SIG_LEN);
	}
	return gc->len;
}

int
gossip_cred_decode(const struct gossip_cred *gc, struct cred *c, char *err, size_t errlen)
{
	uint8_t buf[CRED_ENCODED_MAX];

	/* Fits: gossip_cred_new took no more than CRED_ENCODED_MAX bytes. */
	gossip_cred_encode(gc, buf, sizeof(buf));
	return cred_decode(buf, gc->len, c, err, errlen);
}

struct gossip_cred *
gossip_cred_ref(struct gossip_cred *gc)
{
	gc->refs++;
	return gc;
}

void
gossip_cred_unref(struct gossip_cred *gc)
{
	if (gc == NULL || --gc->refs > 0)
		return;
	for (size_t i = 0; i < gc->nsigs; i++)
		akey_drop(sig_key_index(gc, i));
	free(gc);
}

const char *
gossip_state_name(enum gossip_state s)
{
	switch (s) {
	case GOSSIP_NONE:
		return "none";
	case GOSSIP_ALIVE:
		return "alive";
	case GOSSIP_SUSPECT:
		return "suspect";
	case GOSSIP_DEAD:
		return "dead";
	case GOSSIP_LEFT:
		return "left";
	}
	return "?";
}

const char *
gossip_event_name(enum gossip_event_type t)
{
	static const char *const names[] = {"join",   "alive",   "suspect", "dead",    "left",
	                                    "update", "refused", "revoked", "expired", "disowned"};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* ---- the instance ---- */

/* Accusers are authenticated: the first one and each confirmer either signed its
 * accusation or is the sender of the anti-entropy entry that carried it, so a site counts
 * once however many names it claims or however often honest sites pass its word on. */
struct suspicion {
	gossip_time start;
	gossip_time deadline;
	uint32_t accuser;
	uint32_t k; /* confirmations that bring the timeout down to the minimum */
	uint32_t n;
	uint32_t confirmers[MAX_CONFIRMERS];
	uint8_t extended; /* times the deadline was moved for a stall or a backlog */
	bool own_signed;  /* own_sig: this site's accusation at the member's incarnation */
	uint8_t own_sig[WIRE_SIG_LEN];
	/* This site's own evidence since the suspicion began: the member was heard from
	 * (an authenticated datagram), or a probe of it by this site failed. */
	bool heard;
	bool probed;
	bool pulled;    /* its descriptor asked of PULL_FANOUT members before the deadline */
	uint8_t checks; /* deadlines put off waiting for a probe of our own */
};

/* What a member's trust entry does not grant of its descriptor. Kept in a side table of the
 * few members it concerns, so that a member stays small (the simulator holds 10^8). */
struct refusal {
	uint32_t idx; /* the member's trust index */
	enum gossip_refusal reason;
	char why[128];
	struct gossip_desc *granted; /* the descriptor less what was refused */
};

struct member {
	struct gossip_desc *desc; /* the newest signed by its key, granted or not */
	struct suspicion *susp;
	gossip_time changed_at;
	uint32_t incarnation;
	uint8_t state;
	bool in_probe_list;
	bool refused; /* desc is not granted whole: see the gossip's refusals */
	/* Where its authenticated datagrams come from (has_seen): what gossip sends to, since
	 * behind NAT that is the only address that reaches it. Forgotten when its descriptor
	 * names another gossip endpoint. */
	bool has_seen, has_wg_seen;
	bool told_any; /* this site told it how it is seen (OBSERVED), at told_at */
	/* seen or wg_seen moved since it was told: a flag, not a copy of what it was told (48
	 * bytes a member). */
	bool told_stale;
	bool check_path; /* its tunnel went quiet: probed out of turn, like a suspect */
	struct addr_endpoint seen;
	struct addr_endpoint wg_seen; /* where its WireGuard handshakes come from */
	gossip_time told_at;
	/* The last probe of it answered directly, and the last answered only through helpers. */
	gossip_time direct_ok_at, direct_fail_at;
};
/* One a site in the view: no holes between the fields. */
_Static_assert(sizeof(struct member) <= 112, "a member grew");

/* A member's own signed leave, kept while it is held left: the proof a restarted member
 * without its state file needs to move above the incarnation it left at (its descriptor
 * is one below). */
struct leave_proof {
	uint32_t idx;
	uint32_t incarnation;
	uint8_t sig[WIRE_SIG_LEN];
};

/* A member's ALIVE, the most of the queue after a join (one per member), keeps a reference
 * to the member's descriptor and is encoded each time it goes out: the same bytes, without
 * a copy of them per member. Every other message keeps its encoding. */
struct bcast {
	uint32_t about; /* trust index or SELF_ID */
	uint32_t transmits;
	uint16_t len;
	bool is_desc;
	union {
		uint8_t *bytes;
		struct gossip_desc *desc; /* is_desc */
	};
};

struct forward {
	bool used;
	bool want_nack;
	uint32_t origin; /* trust index of the prober */
	uint32_t target; /* trust index of the member pinged for it */
	struct addr_endpoint origin_addr;
	uint32_t origin_seq;
	uint32_t seq; /* our ping to the target */
	gossip_time nack_at;
};

struct probe {
	bool active;
	bool indirect_sent;
	uint8_t extended; /* times a deadline was moved for a stall or a backlog */
	uint32_t target;
	uint32_t seq;         /* drawn at random: a target's acks cannot be collected in advance */
	uint32_t helpers[16]; /* asked for indirect probes: only they may nack or relay */
	uint32_t nhelpers;
	uint32_t nacked; /* bit i: helpers[i] nacked */
	uint32_t expected_nacks;
	uint32_t nacks;
	gossip_time timeout_at;
	gossip_time end_at;
};

/* A sender heard from in a session this site has not confirmed: where to send the challenge,
 * and when one last went in a datagram of its own. */
struct unconfirmed {
	struct addr_endpoint from;
	gossip_time challenged_at;
	bool challenged;
	gossip_time answered_at; /* a response larger than the challenge that asked for it */
	bool answered;
};

/* A payload this site sent lately (freshness messages left out), to send again once. */
struct sent_copy {
	uint32_t to;
	struct addr_endpoint addr;
	gossip_time at;
	bool resent;
	size_t len;
	uint8_t *buf;
};

struct follow {
	uint32_t to;       /* the member whose list raised the asks */
	gossip_time at;    /* when it is synced again, unless answers still come */
	uint64_t admitted; /* the credentials admitted when the asks went */
	unsigned barren;   /* follow-ups in a row that brought no credential */
	bool armed;
};

struct seed {
	struct addr_endpoint ep;
	gossip_time next;
	gossip_time backoff;
	uint64_t nonce; /* of the last hello, while its cookie reply is awaited */
	bool awaiting;
	bool presented; /* our credential went with the cookie: the seed's is awaited */
	bool answered;  /* its entries came since the last look: the join is answered */
	bool joined;    /* a join went since the last hello: its sealed datagrams answer it */
};

struct bucket {
	gossip_time at;
	uint32_t tokens;
};

/* A join answer or tell-the-dead to a trusted sender, and when. */
struct answer {
	uint32_t who;
	gossip_time at;
};

/* A source address of hellos with valid cookies: IPv4, or the /64 of IPv6. */
struct source {
	uint8_t family;
	uint8_t addr[8];
	struct bucket b;
};

/* A site admitted by its credential, by its index in the instance's own admission table. */
struct admitted {
	struct gossip_cred *cred;
	/* A credential for the key the site announced it moves to, verified; it replaces cred
	 * when the site speaks with that key. */
	struct gossip_cred *next;
	/* next's key (WIRE_KEY_LEN bytes): allocated when a first next credential comes, as
	 * few sites ever move keys, and kept. */
	uint8_t *next_key;
	uint8_t out; /* OUT_*: revoked or expired, no longer a member */
};

/* How another site sees this one: the source of our gossip datagrams and of our WireGuard
 * handshakes at it. */
struct observation {
	bool used, has_wg;
	uint32_t by;
	gossip_time at;
	struct addr_endpoint gossip, wg;
};

/* A verified revocation held and spread. */
struct revocation {
	uint64_t id;
	struct cred_revocation r;
	uint16_t len;
	uint8_t bytes[WIRE_BLOB_MAX];
};

/* A name whose credential was asked for lately. */
struct wanted {
	uint64_t hash;
	gossip_time at;
};

struct gossip {
	char name[WIRE_NAME_MAX + 1];
	int self_index; /* own trust index, -1 when the table does not list this site */
	struct gossip_profile prof;
	const struct gossip_trust *trust;
	size_t nstatic; /* the trust table's entries: members 0 .. nstatic-1 */

	/* The federation: sites admitted by credential are members nstatic.. in the order they
	 * were admitted; their entries never move, so that indices stay stable. */
	bool federated;
	int64_t (*unix_now)(void *arg);
	struct cred_authorities authorities; /* the config's, or the newest update taken */
	bool pin_authorities;                /* the config's set stays, whatever updates say */
	uint8_t auth_bytes[WIRE_BLOB_MAX];   /* the update taken, encoded, to pass on */
	uint16_t auth_len;                   /* 0: the config's set */
	struct gossip_trust *admitted_trust; /* their names and keys: grants are the credentials' */
	struct admitted *admitted;           /* by index in admitted_trust */
	size_t admitted_cap;
	struct gossip_cred *self_cred;
	struct gossip_cred *self_next; /* the credential for this site's next key */
	struct revocation **revs;
	size_t nrevs, revs_cap;
	uint64_t revs_sum;
	struct wanted wanted[WANTED];
	struct bucket ask_budget; /* credentials asked for on behalf of unknown senders */
	gossip_time next_expiry_check;
	/* No admitted credential runs out before this (Unix seconds; lower is only early): the
	 * once-a-second check walks them only then. */
	int64_t expiry_first;
	/* A descriptor announced a next credential: the once-a-second check looks for those
	 * not held yet until none is missing. */
	bool next_creds_due;
	struct gossip_callbacks cb;
	struct seal *seal;
	bool (*session_known)(void *arg, uint32_t peer, uint64_t session);
	void *session_arg;
	bool (*view_holds)(void *arg, const char *name); /* gossip_config's */
	void *view_arg;
	uint64_t rng[4];

	struct wire_desc self_d; /* this site's signed descriptor: what ALIVE carries */
	struct wire_desc base;   /* the config's descriptor, which observations complete */
	struct observation observations[OBSERVERS];
	bool observed_dirty; /* an observation waits for OBSERVED_PUBLISH_GAP to be published */
	gossip_time next_observed_publish;
	uint32_t self_inc;  /* == self_d.incarnation, or one above after a leave */
	uint8_t self_state; /* ALIVE, or LEFT after gossip_leave */

	struct member *members; /* by member index */
	size_t nmembers;        /* trust table and admitted credentials */
	size_t members_cap, unconfirmed_cap;
	struct unconfirmed **unconfirmed; /* by member index, allocated while one is */
	struct sent_copy sent[RESEND_RING];
	size_t sent_next;
	gossip_time clock; /* the now of the call being served */
	/* The response owed for a challenge being received: it rides on the first datagram to
	 * that peer while the datagram is taken, else goes alone at the end. */
	struct {
		bool owed;
		uint32_t to;
		uint8_t nonce[WIRE_NONCE_LEN];
	} answer;
	size_t nlive; /* alive or suspect, self excluded */
	uint64_t bucket_sum[WIRE_MAX_BUCKETS];

	uint32_t *order; /* probe order: shuffled round robin over live members */
	size_t norder, order_cap, order_pos;

	uint32_t *suspects;
	size_t nsuspects, suspects_cap;

	struct refusal **refusals; /* of the members with refused set, in no order */
	size_t nrefusals, refusals_cap;

	struct leave_proof *leaves; /* of the members held left, in no order */
	size_t nleaves, leaves_cap;

	struct bcast *bq;      /* least-sent first */
	struct bcast *bq_sent; /* bq_cap of them: piggyback's scratch */
	size_t nbq, bq_cap;

	struct forward fw[MAX_FORWARDS];
	struct probe probe;
	uint32_t urgent[MAX_URGENT]; /* suspects to probe before the round goes on */
	size_t nurgent;
	bool urgent_turn; /* urgent and round-robin probes alternate */
	uint32_t seq;
	unsigned awareness;
	bool backlog; /* the embedder's word: datagrams wait unread */

	struct seed *seeds;
	size_t nseeds;

	gossip_time next_probe, next_gossip, next_sync, next_reconnect;
	bool sync_wide; /* the next sync goes to gossip_fanout members, not one */
	struct follow follow;
	uint8_t cookie_key[crypto_shorthash_siphashx24_KEYBYTES];
	uint64_t hellos; /* sent: numbers the nonces */
	struct bucket cookie_budget, hello_budget;
	struct source sources[SOURCES];
	size_t nsources;
	struct answer answered[ANSWERED];
	size_t nanswered;
	bool started;

	struct gossip_counters ctr;
	uint8_t scratch[WIRE_DATAGRAM_MAX];
	struct wire_msg msg;         /* what is being decoded: large, kept off the stack */
	struct wire_msg out;         /* what is being built */
	struct wire_msg inner;       /* a relayed ack's payload */
	struct wire_present present; /* a presentation being built or read */
};

/* ---- randomness (xoshiro256**, seeded by splitmix64) ---- */

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct gossip *g)
{
	uint64_t *s = g->rng, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static uint32_t
rng_below(struct gossip *g, uint32_t n)
{
	return n == 0 ? 0 : (uint32_t)(((rng_next(g) >> 32) * (uint64_t)n) >> 32);
}

/* A duration scaled by a random factor in [1 - spread, 1 + spread), so sites that start
 * together drift apart instead of synchronising their rounds. */
static gossip_time
jitter(struct gossip *g, gossip_time d, double spread)
{
	double f = 1.0 - spread + 2.0 * spread * (double)(rng_next(g) >> 11) / 9007199254740992.0;

	return (gossip_time)((double)d * f);
}

/* ---- helpers ---- */

/* Natural logarithm for x >= 1, without libm (the core links into everything): halve into
 * [1, 2), then the atanh series, which converges fast there. */
static double
ln(double x)
{
	double e = 0, y, y2, term, sum = 0;

	while (x >= 2.0) {
		x /= 2.0;
		e += 1.0;
	}
	y = (x - 1.0) / (x + 1.0);
	y2 = y * y;
	term = y;
	for (int k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= y2;
	}
	return e * 0.69314718055994530942 + 2.0 * sum;
}

static const struct trust_entry *
tentry(const struct gossip *g, uint32_t idx)
{
	return idx < g->nstatic ? &g->trust->e[idx] : &g->admitted_trust->e[idx - g->nstatic];
}

/* The admission record of a member admitted by credential; NULL for a trust table's. */
static struct admitted *
admitted_of(const struct gossip *g, uint32_t idx)
{
	return idx < g->nstatic ? NULL : &g->admitted[idx - g->nstatic];
}

static const char *
grantor(const struct gossip *g, uint32_t idx)
{
	return idx < g->nstatic ? "its trust entry" : "its credential";
}

static size_t
cluster_size(const struct gossip *g)
{
	return g->nlive + 1;
}

static uint64_t
entry_hash(uint64_t nh, uint32_t inc, uint8_t state)
{
	return mix64(nh ^ mix64(((uint64_t)inc << 8) | state));
}

static uint64_t
self_hash(const struct gossip *g)
{
	return name_hash(g->name);
}

static void
refusal_free(struct refusal *r)
{
	gossip_desc_unref(r->granted);
	free(r);
}

static struct refusal *
refusal_of(const struct gossip *g, uint32_t idx)
{
	if (!g->members[idx].refused)
		return NULL;
	for (size_t i = 0; i < g->nrefusals; i++)
		if (g->refusals[i]->idx == idx)
			return g->refusals[i];
	return NULL;
}

static void
refusal_drop(struct gossip *g, uint32_t idx)
{
	for (size_t i = 0; g->members[idx].refused && i < g->nrefusals; i++) {
		if (g->refusals[i]->idx != idx)
			continue;
		refusal_free(g->refusals[i]);
		g->refusals[i] = g->refusals[--g->nrefusals];
		break;
	}
	g->members[idx].refused = false;
}

static void
emit(struct gossip *g, gossip_time now, enum gossip_event_type type, uint32_t idx, bool local)
{
	const struct member *m = &g->members[idx];
	const struct refusal *r = refusal_of(g, idx);
	struct gossip_event ev = {
	        .type = type,
	        .at = now,
	        .name = tentry(g, idx)->name,
	        .index = (int)idx,
	        .incarnation = m->incarnation,
	        .desc = m->desc != NULL ? &m->desc->d : NULL,
	        .local = local,
	        .refusal = r != NULL ? r->reason : GOSSIP_REFUSAL_NONE,
	        .why = r != NULL ? r->why : "",
	};

	if (g->cb.event != NULL)
		g->cb.event(g->cb.arg, &ev);
}

static int
list_add(uint32_t **arr, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		uint32_t *na = realloc(*arr, ncap * sizeof(*na));

		if (na == NULL)
			return -1;
		*arr = na;
		*cap = ncap;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

static bool
live(uint8_t state)
{
	return state == GOSSIP_ALIVE || state == GOSSIP_SUSPECT;
}

/* The highest incarnation of a member that the member itself signed and this site holds
 * (its descriptor, or its leave): the most anyone may accuse it at. */
static uint32_t
signed_inc(const struct gossip *g, uint32_t idx)
{
	const struct member *m = &g->members[idx];
	uint32_t inc = m->desc != NULL ? m->desc->d.incarnation : 0;

	return m->state == GOSSIP_LEFT && m->incarnation > inc ? m->incarnation : inc;
}

static struct leave_proof *
leave_proof_of(const struct gossip *g, uint32_t idx)
{
	for (size_t i = 0; i < g->nleaves; i++)
		if (g->leaves[i].idx == idx)
			return &g->leaves[i];
	return NULL;
}

static void
leave_proof_keep(struct gossip *g, uint32_t idx, uint32_t inc, const uint8_t sig[WIRE_SIG_LEN])
{
	struct leave_proof *p = leave_proof_of(g, idx);

	if (p == NULL) {
		if (g->nleaves == g->leaves_cap) {
			size_t cap = g->leaves_cap ? g->leaves_cap * 2 : 4;
			struct leave_proof *na = realloc(g->leaves, cap * sizeof(*na));

			if (na == NULL)
				return;
			g->leaves = na;
			g->leaves_cap = cap;
		}
		p = &g->leaves[g->nleaves++];
	}
	p->idx = idx;
	p->incarnation = inc;
	memcpy(p->sig, sig, WIRE_SIG_LEN);
}

static void
leave_proof_drop(struct gossip *g, uint32_t idx)
{
	struct leave_proof *p = leave_proof_of(g, idx);

	if (p != NULL)
		*p = g->leaves[--g->nleaves];
}

/* Every change of a member's (incarnation, state) goes through here, so the digest sums,
 * the live count and the probe order stay in step. */
static void
set_state(struct gossip *g, gossip_time now, uint32_t idx, uint32_t inc, uint8_t state)
{
	struct member *m = &g->members[idx];
	uint64_t nh = name_hash(tentry(g, idx)->name);
	size_t b = nh & (WIRE_MAX_BUCKETS - 1);

	if (m->state != GOSSIP_NONE)
		g->bucket_sum[b] -= entry_hash(nh, m->incarnation, m->state);
	g->bucket_sum[b] += entry_hash(nh, inc, state);
	if (live(m->state) && !live(state))
		g->nlive--;
	else if (!live(m->state) && live(state))
		g->nlive++;
	if (m->state == GOSSIP_LEFT && state != GOSSIP_LEFT)
		leave_proof_drop(g, idx);
	if (m->state != state)
		m->changed_at = now;
	m->incarnation = inc;
	m->state = state;
	if (live(state) && !m->in_probe_list &&
	    list_add(&g->order, &g->norder, &g->order_cap, idx) == 0) {
		/* A random place in the rest of this round, as SWIM's join rule. */
		size_t lo = g->order_pos < g->norder ? g->order_pos : g->norder - 1;
		size_t pos = lo + rng_below(g, (uint32_t)(g->norder - lo));

		g->order[g->norder - 1] = g->order[pos];
		g->order[pos] = idx;
		m->in_probe_list = true;
	}
}

static void
self_entry_update(struct gossip *g, uint32_t inc, uint8_t state)
{
	uint64_t nh = self_hash(g);
	size_t b = nh & (WIRE_MAX_BUCKETS - 1);

	g->bucket_sum[b] -= entry_hash(nh, g->self_inc, g->self_state);
	g->bucket_sum[b] += entry_hash(nh, inc, state);
	g->self_inc = inc;
	g->self_state = state;
}

/* ---- broadcasts ---- */

/* retransmit_mult × (log10(n+1) + 1), rounded up. SWIM's retransmit_mult × ⌈log10(n+1)⌉
 * steps from 8 to 12 (mult 4) between 99 and 100 sites, so a view just below a power of ten
 * was the likeliest to miss an update (a refutation: a false dead). This one grows by one at
 * a time and is never below the stepped count. */
static size_t
retransmit_limit(const struct gossip *g)
{
	double x = (double)g->prof.retransmit_mult *
	           (ln((double)cluster_size(g) + 1.0) / ln(10.0) + 1.0);
	size_t r = (size_t)x;

	/* Up, but not for the rounding error of an exact power of ten. */
	return (double)r + 1e-9 < x ? r + 1 : r;
}

static void
bcast_free(struct bcast *b)
{
	if (b->is_desc)
		gossip_desc_unref(b->desc);
	else
		free(b->bytes);
}

/* Keeps the order. */
static void
bq_remove(struct gossip *g, size_t i)
{
	bcast_free(&g->bq[i]);
	memmove(&g->bq[i], &g->bq[i + 1], (--g->nbq - i) * sizeof(*g->bq));
}

/* Queues b for piggybacking (the queue takes its bytes or reference; on failure they are
 * freed); a newer message about the same site replaces an older. */
static void
bq_add(struct gossip *g, struct bcast b)
{
	size_t at = 0;

	for (size_t i = 0; i < g->nbq; i++) {
		if (g->bq[i].about == b.about) {
			bq_remove(g, i);
			break;
		}
	}
	if (g->nbq == g->bq_cap) {
		size_t ncap = g->bq_cap ? g->bq_cap * 2 : 16;
		struct bcast *nb = realloc(g->bq, ncap * sizeof(*nb));

		if (nb == NULL) {
			bcast_free(&b);
			return;
		}
		g->bq = nb;
		nb = realloc(g->bq_sent, ncap * sizeof(*nb));
		if (nb == NULL) {
			bcast_free(&b);
			return;
		}
		g->bq_sent = nb;
		g->bq_cap = ncap;
	}
	/* After the others never sent, before those sent once. */
	while (at < g->nbq && g->bq[at].transmits == 0)
		at++;
	memmove(&g->bq[at + 1], &g->bq[at], (g->nbq - at) * sizeof(*g->bq));
	g->bq[at] = b;
	g->nbq++;
}

static void
broadcast(struct gossip *g, uint32_t about, const struct wire_msg *msg)
{
	uint8_t buf[WIRE_DATAGRAM_MAX];
	int len = wire_encode_msg(msg, buf, sizeof(buf));
	struct bcast b = {.about = about};

	if (len < 0)
		return;
	b.bytes = malloc((size_t)len);
	if (b.bytes == NULL)
		return;
	memcpy(b.bytes, buf, (size_t)len);
	b.len = (uint16_t)len;
	bq_add(g, b);
}

/* Queues the ALIVE of member idx carrying gd, by reference. */
static void
broadcast_desc(struct gossip *g, uint32_t idx, struct gossip_desc *gd)
{
	uint8_t buf[WIRE_DATAGRAM_MAX];
	struct wire_desc d;
	int len;

	wire_cdesc_unpack(&gd->d, &d);
	len = wire_encode_alive(&d, buf, sizeof(buf));
	if (len < 0)
		return;
	bq_add(g, (struct bcast){.about = idx,
	                         .len = (uint16_t)len,
	                         .is_desc = true,
	                         .desc = gossip_desc_ref(gd)});
}

/* Appends b's message to w; -1 when it does not fit. */
static int
bcast_put(struct wire_writer *w, const struct bcast *b)
{
	struct wire_desc d;
	int len;

	if (!b->is_desc)
		return wire_put_raw(w, b->bytes, b->len);
	if (b->len > w->cap - w->len)
		return -1;
	wire_cdesc_unpack(&b->desc->d, &d);
	len = wire_encode_alive(&d, w->buf + w->len, w->cap - w->len);
	if (len < 0)
		return -1;
	w->len += (size_t)len;
	return 0;
}

/* Fills the rest of w with the least-sent pending updates. Returns how many went in. The
 * queue stays least-sent first without a sort per datagram: of the n looked at, those sent
 * (each now sent once more) are merged back into the others, which are still in order, in
 * one pass; those sent as often as the limit are then at the end. */
static size_t
piggyback(struct gossip *g, struct wire_writer *w)
{
	size_t limit = retransmit_limit(g), added = 0, n = 0, kept = 0;

	for (; n < g->nbq && w->cap - w->len > 2; n++) {
		struct bcast b = g->bq[n];

		if (bcast_put(w, &b) == 0) {
			b.transmits++;
			g->bq_sent[added++] = b;
		} else {
			g->bq[kept++] = b;
		}
	}
	/* The unsent looked at, then the rest: in order. Merged from the back with the sent. */
	memmove(&g->bq[kept], &g->bq[n], (g->nbq - n) * sizeof(*g->bq));
	for (size_t i = kept + g->nbq - n, j = added, out = g->nbq; j > 0;) {
		if (i > 0 && g->bq[i - 1].transmits > g->bq_sent[j - 1].transmits)
			g->bq[--out] = g->bq[--i];
		else
			g->bq[--out] = g->bq_sent[--j];
	}
	while (g->nbq > 0 && g->bq[g->nbq - 1].transmits >= limit)
		bq_remove(g, g->nbq - 1);
	return added;
}

/* ---- sending ---- */

struct pkt {
	uint32_t to;
	struct addr_endpoint addr;
	struct wire_writer w;
	uint8_t buf[SEAL_PAYLOAD_MAX];
};

/* Room for a challenge and a response stays free in every payload until it is sealed. */
static void
pkt_init(struct pkt *p, uint32_t to, const struct addr_endpoint *addr)
{
	p->to = to;
	p->addr = *addr;
	wire_begin(&p->w, p->buf, sizeof(p->buf) - FRESH_ROOM);
}

static void
pkt_put_nonce(struct pkt *p, uint8_t type, const uint8_t nonce[WIRE_NONCE_LEN])
{
	uint8_t m[CHALLENGE_LEN];

	m[0] = type;
	memcpy(m + 1, nonce, WIRE_NONCE_LEN);
	p->w.cap = sizeof(p->buf);
	wire_put_raw(&p->w, m, sizeof(m));
}

/* Seals and sends what p holds as it is. */
static void
pkt_emit(struct gossip *g, struct pkt *p)
{
	size_t len;

	if (seal_wrap(g->seal, p->to, tentry(g, p->to)->key, p->buf, p->w.len, g->scratch,
	              sizeof(g->scratch), &len) == 0) {
		g->ctr.tx_datagrams++;
		g->ctr.tx_bytes += len;
		if (g->cb.send != NULL)
			g->cb.send(g->cb.arg, &p->addr, g->scratch, len);
	}
	wire_begin(&p->w, p->buf, sizeof(p->buf) - FRESH_ROOM);
}

/* While a challenge to the peer is outstanding, everything sent to it asks again: the
 * answer then comes with the traffic to where the peer really is, whoever else sends stale
 * datagrams in its name. A response owed to the peer goes with the first datagram. */
static void
pkt_put_fresh(struct gossip *g, struct pkt *p)
{
	uint8_t nonce[WIRE_NONCE_LEN];

	if (seal_challenge_pending(g->seal, p->to, nonce))
		pkt_put_nonce(p, WIRE_CHALLENGE, nonce);
	if (g->answer.owed && g->answer.to == p->to) {
		pkt_put_nonce(p, WIRE_RESPONSE, g->answer.nonce);
		g->answer.owed = false;
	}
}

/* Keeps a copy of the content of a payload being sent (resent: it is itself a copy sent
 * again, which goes no third time). */
static void
sent_keep(struct gossip *g, const struct pkt *p, bool resent)
{
	struct sent_copy *c = &g->sent[g->sent_next];
	uint8_t *buf = realloc(c->buf, p->w.len);

	if (buf == NULL)
		return;
	g->sent_next = (g->sent_next + 1) % RESEND_RING;
	memcpy(buf, p->buf, p->w.len);
	*c = (struct sent_copy){p->to, p->addr, g->clock, resent, p->w.len, buf};
}

static void
pkt_flush_copy(struct gossip *g, struct pkt *p, bool resent)
{
	if (p->w.len <= 1)
		return;
	sent_keep(g, p, resent);
	pkt_put_fresh(g, p);
	pkt_emit(g, p);
}

static void
pkt_flush(struct gossip *g, struct pkt *p)
{
	pkt_flush_copy(g, p, false);
}

/* Peer id challenged this site from addr: it has not taken what this site sent since its
 * session began, and it takes nothing sealed before the response it is about to get. So
 * what went to it there lately goes again, sealed anew, each datagram once, the response
 * riding on the first. What went to other addresses in its name stays: a challenge
 * redirects nothing, and the response goes where the challenge came from. */
static void
resend_recent(struct gossip *g, uint32_t id, const struct addr_endpoint *addr)
{
	/* Oldest first. Each copy sent again takes the place of the oldest, so it never
	 * overwrites one this loop has yet to reach. */
	size_t oldest = g->sent_next;

	for (size_t k = 0; k < RESEND_RING; k++) {
		struct sent_copy *c = &g->sent[(oldest + k) % RESEND_RING];
		struct pkt p;

		if (c->buf == NULL || c->resent || c->to != id ||
		    g->clock - c->at > RESEND_WINDOW || !addr_endpoint_equal(&c->addr, addr))
			continue;
		c->resent = true;
		pkt_init(&p, id, &c->addr);
		memcpy(p.buf, c->buf, c->len);
		p.w.len = c->len;
		pkt_flush_copy(g, &p, true);
	}
}

/* A datagram of freshness messages alone, when there are any. */
static void
send_fresh(struct gossip *g, uint32_t to, const struct addr_endpoint *addr)
{
	struct pkt p;

	pkt_init(&p, to, addr);
	pkt_put_fresh(g, &p);
	if (p.w.len > 1)
		pkt_emit(g, &p);
}

/* Adds a message, sending what is already there first when it does not fit. */
static void
pkt_put(struct gossip *g, struct pkt *p, const struct wire_msg *m)
{
	if (wire_put_msg(&p->w, m) == 0)
		return;
	pkt_flush(g, p);
	wire_put_msg(&p->w, m);
}

static void
pkt_send(struct gossip *g, struct pkt *p, bool with_updates)
{
	if (with_updates)
		piggyback(g, &p->w);
	pkt_flush(g, p);
}

/* Where a member's own datagrams come from, else where its descriptor says it listens. */
static const struct addr_endpoint *
member_addr(const struct gossip *g, uint32_t idx)
{
	const struct member *m = &g->members[idx];

	return m->has_seen ? &m->seen : &m->desc->d.gossip;
}

static void
msg_clear(struct wire_msg *m, uint8_t type)
{
	m->type = type;
	m->flags = 0;
	m->seq = 0;
	m->incarnation = 0;
	m->count = 0;
}

static void
put_self_alive(struct gossip *g, struct pkt *p)
{
	struct wire_msg *m = &g->out;

	msg_clear(m, WIRE_ALIVE);
	m->desc = g->self_d;
	pkt_put(g, p, m);
}

/* ---- self ---- */

static int
sign_self(struct gossip *g, struct wire_desc *d)
{
	uint8_t buf[WIRE_DATAGRAM_MAX];
	int len = wire_desc_signed_bytes(d, buf, sizeof(buf));

	if (len < 0)
		return -1;
	return seal_sign(g->seal, buf, (size_t)len, d->sig);
}

static int
self_publish(struct gossip *g, const struct wire_desc *src, uint32_t inc)
{
	struct wire_desc d = *src;

	strcpy(d.name, g->name);
	memcpy(d.wg_key, seal_public_key(g->seal), WIRE_KEY_LEN);
	memcpy(d.sign_key, seal_sign_key(g->seal), WIRE_KEY_LEN);
	d.incarnation = inc;
	d.cred_serial = g->self_cred != NULL ? gossip_cred_serial(g->self_cred) : 0;
	d.next_serial = g->self_next != NULL ? gossip_cred_serial(g->self_next) : 0;
	if (sign_self(g, &d) != 0)
		return -1;
	/* Named once published: the first version has no entry to update yet. */
	if (g->self_d.name[0] != '\0')
		self_entry_update(g, inc, g->self_state);
	g->self_d = d;
	g->self_inc = inc;
	if (g->self_state == GOSSIP_ALIVE) {
		struct wire_msg *m = &g->out;

		msg_clear(m, WIRE_ALIVE);
		m->desc = d;
		broadcast(g, SELF_ID, m);
	}
	return 0;
}

/* Only this site raises its own incarnation: to refute, above what was claimed. claimed
 * is never above what this site signed, so refutations climb one at a time and stop at the
 * top instead of wrapping to 0 (which only a fresh key gets past). */
static void
refute(struct gossip *g, uint32_t claimed)
{
	uint32_t inc = claimed > g->self_inc ? claimed : g->self_inc;

	if (g->self_state != GOSSIP_ALIVE || inc == UINT32_MAX)
		return;
	g->ctr.refutations++;
	/* Being accused says little about our own health when anyone can accuse: it raises
	 * the score from 0 only, so a liar can halve our probing at most. */
	if (g->prof.lifeguard && g->awareness == 0 && g->prof.awareness_max > 1)
		g->awareness++;
	self_publish(g, &g->self_d, inc + 1);
}

/* ---- observed endpoints ---- */

static bool
endpoint_listed(const struct wire_desc *d, const struct addr_endpoint *ep)
{
	for (size_t i = 0; i < d->nendpoints && i < WIRE_MAX_ENDPOINTS; i++)
		if (addr_endpoint_equal(&d->endpoints[i], ep))
			return true;
	return false;
}

/* Tells member idx where its datagrams come from as this site sees them, when its descriptor
 * says otherwise: behind NAT, that is how a site learns its public endpoints. At once when
 * what this site sees changed, else again every OBSERVED_RETELL, so a lost one costs that
 * much at most. */
static void
observed_tell(struct gossip *g, gossip_time now, uint32_t idx, const struct addr_endpoint *to)
{
	struct member *m = &g->members[idx];
	const struct wire_cdesc *d = m->desc != NULL ? &m->desc->d : NULL;
	bool news;
	struct pkt p;

	if (d == NULL || !m->has_seen || !live(m->state) ||
	    (addr_endpoint_equal(&m->seen, &d->gossip) &&
	     (!m->has_wg_seen || (d->nendpoints > 0 &&
	                          addr_endpoint_equal(&wire_cdesc_endpoints(d)[0], &m->wg_seen)))))
		return;
	news = !m->told_any || m->told_stale;
	if (m->told_any && now - m->told_at < (news ? OBSERVED_GAP : OBSERVED_RETELL))
		return;
	m->told_any = true;
	m->told_at = now;
	m->told_stale = false;
	pkt_init(&p, idx, to);
	msg_clear(&g->out, WIRE_OBSERVED);
	g->out.addr = m->seen;
	if (m->has_wg_seen) {
		g->out.flags = WIRE_OBSERVED_WG;
		g->out.wg = m->wg_seen;
	}
	pkt_put(g, &p, &g->out);
	pkt_send(g, &p, true);
}

static bool
observation_valid(const struct gossip *g, const struct observation *o, gossip_time now, bool wg)
{
	return o->used && now - o->at < OBSERVED_TTL && (!wg || o->has_wg) &&
	       live(g->members[o->by].state);
}

/* The endpoint most observers agree on (the latest of a tie); one observer's word is enough
 * only when it is the only one, so a lying member cannot move this site's endpoints alone
 * while another sees it too. */
static bool
observed_consensus(const struct gossip *g, gossip_time now, bool wg, struct addr_endpoint *out)
{
	size_t reporting = 0, best = 0;
	gossip_time best_at = 0;

	for (size_t i = 0; i < OBSERVERS; i++) {
		const struct observation *o = &g->observations[i];
		const struct addr_endpoint *ep = wg ? &o->wg : &o->gossip;
		size_t agree = 0;

		if (!observation_valid(g, o, now, wg))
			continue;
		reporting++;
		for (size_t j = 0; j < OBSERVERS; j++) {
			const struct observation *q = &g->observations[j];

			if (observation_valid(g, q, now, wg) &&
			    addr_endpoint_equal(ep, wg ? &q->wg : &q->gossip))
				agree++;
		}
		if (agree > best || (agree == best && o->at > best_at)) {
			best = agree;
			best_at = o->at;
			*out = *ep;
		}
	}
	return best > 0 && best >= (reporting >= 2 ? 2 : 1);
}

/* Behind NAT, by others' word: enough of them (as for a consensus) see our gossip come from
 * elsewhere than where we listen. A symmetric NAT shows each observer another port, so this
 * does not ask them to agree on where. */
static bool
observed_nat(const struct gossip *g, gossip_time now)
{
	size_t reporting = 0, elsewhere = 0;

	for (size_t i = 0; i < OBSERVERS; i++) {
		const struct observation *o = &g->observations[i];

		if (!observation_valid(g, o, now, false))
			continue;
		reporting++;
		if (!addr_endpoint_equal(&o->gossip, &g->base.gossip))
			elsewhere++;
	}
	return elsewhere > 0 && elsewhere >= (reporting >= 2 ? 2 : 1);
}

/* The config's descriptor completed with what others see: behind NAT, the public gossip
 * endpoint they agree on, and the public WireGuard endpoint first among the endpoints. */
static void
self_compose(const struct gossip *g, gossip_time now, struct wire_desc *d)
{
	struct addr_endpoint ep;

	*d = g->base;
	if (observed_nat(g, now))
		d->flags |= WIRE_DESC_NAT;
	if (!(d->flags & WIRE_DESC_NAT))
		return;
	if (observed_consensus(g, now, false, &ep))
		d->gossip = ep;
	if (observed_consensus(g, now, true, &ep) && !endpoint_listed(d, &ep)) {
		memmove(&d->endpoints[1], &d->endpoints[0],
		        sizeof(d->endpoints[0]) * (WIRE_MAX_ENDPOINTS - 1));
		d->endpoints[0] = ep;
		if (d->nendpoints < WIRE_MAX_ENDPOINTS)
			d->nendpoints++;
	}
}

/* A new version of this site's descriptor when observations changed what it says, at most
 * every OBSERVED_PUBLISH_GAP (the rest waits for the tick): lies cannot make it churn. One
 * that adds endpoints goes at once: the first public endpoint is what a site behind NAT
 * waits for, and taking endpoints away again waits for the gap. */
static void
observed_publish(struct gossip *g, gossip_time now)
{
	struct wire_desc d;
	const struct wire_desc *cur = &g->self_d;
	bool same = true;

	if (g->self_state != GOSSIP_ALIVE || g->self_inc == UINT32_MAX)
		return;
	self_compose(g, now, &d);
	same = d.flags == cur->flags && addr_endpoint_equal(&d.gossip, &cur->gossip) &&
	       d.nendpoints == cur->nendpoints;
	for (size_t i = 0; same && i < d.nendpoints; i++)
		same = addr_endpoint_equal(&d.endpoints[i], &cur->endpoints[i]);
	g->observed_dirty = !same;
	if (same || (now < g->next_observed_publish && d.nendpoints <= cur->nendpoints))
		return;
	g->observed_dirty = false;
	g->next_observed_publish = now + OBSERVED_PUBLISH_GAP;
	self_publish(g, &d, gossip_next_incarnation(g->self_inc));
}

/* A member says where our datagrams come from: one slot per observer, the oldest given up. */
static void
on_observed(struct gossip *g, gossip_time now, uint32_t from, const struct wire_msg *m)
{
	struct observation *o = NULL, *free_slot = NULL, *oldest = NULL;

	for (size_t i = 0; i < OBSERVERS && o == NULL; i++) {
		struct observation *q = &g->observations[i];

		if (q->used && q->by == from)
			o = q;
		else if (!q->used && free_slot == NULL)
			free_slot = q;
		else if (q->used && (oldest == NULL || q->at < oldest->at))
			oldest = q;
	}
	if (o == NULL)
		o = free_slot != NULL ? free_slot : oldest;
	*o = (struct observation){
	        .used = true,
	        .by = from,
	        .at = now,
	        .gossip = m->addr,
	        .has_wg = (m->flags & WIRE_OBSERVED_WG) != 0,
	        .wg = m->wg,
	};
	observed_publish(g, now);
}

/* An authenticated, fresh datagram from member id came from this address. */
static void
member_seen(struct gossip *g, gossip_time now, uint32_t id, const struct addr_endpoint *from)
{
	struct member *m = &g->members[id];

	if (!addr_endpoint_equal(&m->seen, from))
		m->told_stale = true;
	m->seen = *from;
	m->has_seen = true;
	observed_tell(g, now, id, from);
}

/* ---- suspicion ---- */

static gossip_time
suspicion_min(const struct gossip *g)
{
	double n = (double)cluster_size(g), scale = n > 10 ? ln(n) / ln(10.0) : 1.0;

	return (gossip_time)(g->prof.suspicion_mult * scale * g->prof.probe_interval_ms) *
	       GOSSIP_MSEC;
}

/* Lifeguard: start at the maximum and shrink towards the minimum with the logarithm of
 * independent confirmations; plain SWIM uses the minimum throughout. */
static gossip_time
suspicion_timeout(const struct gossip *g, const struct suspicion *s)
{
	gossip_time lo = suspicion_min(g), hi = lo * g->prof.suspicion_max_mult;
	double frac;

	if (!g->prof.lifeguard || s->k == 0 || hi <= lo)
		return lo;
	frac = ln((double)s->n + 1.0) / ln((double)s->k + 1.0);
	if (frac >= 1.0)
		return lo;
	return hi - (gossip_time)((double)(hi - lo) * frac);
}

static void
suspicion_clear(struct gossip *g, uint32_t idx)
{
	struct member *m = &g->members[idx];

	if (m->susp == NULL)
		return;
	free(m->susp);
	m->susp = NULL;
	for (size_t i = 0; i < g->nsuspects; i++) {
		if (g->suspects[i] == idx) {
			g->suspects[i] = g->suspects[--g->nsuspects];
			break;
		}
	}
}

static void
suspicion_start(struct gossip *g, gossip_time now, uint32_t idx, uint32_t accuser)
{
	struct member *m = &g->members[idx];
	struct suspicion *s;
	size_t n = cluster_size(g);
	uint32_t k = g->prof.suspicion_mult > 2 ? g->prof.suspicion_mult - 2 : 0;

	suspicion_clear(g, idx);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return;
	if (list_add(&g->suspects, &g->nsuspects, &g->suspects_cap, idx) != 0) {
		free(s);
		return;
	}
	/* Fewer members than confirmations asked for: do not wait for the impossible. */
	if (n < 3)
		k = 0;
	else if (k > n - 2)
		k = (uint32_t)(n - 2);
	if (k > MAX_CONFIRMERS)
		k = MAX_CONFIRMERS;
	s->start = now;
	s->accuser = accuser;
	s->k = k;
	s->deadline = now + suspicion_timeout(g, s);
	m->susp = s;
}

/* True when accuser would be a new, independent confirmation of idx's suspicion. */
static bool
suspicion_counts(const struct gossip *g, uint32_t idx, uint32_t accuser)
{
	const struct suspicion *s = g->members[idx].susp;

	if (s == NULL || !g->prof.lifeguard || s->n >= s->k || accuser == s->accuser)
		return false;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->confirmers[i] == accuser)
			return false;
	return true;
}

static bool
suspicion_confirm(struct gossip *g, uint32_t idx, uint32_t accuser)
{
	struct suspicion *s = g->members[idx].susp;

	if (!suspicion_counts(g, idx, accuser))
		return false;
	s->confirmers[s->n++] = accuser;
	s->deadline = s->start + suspicion_timeout(g, s);
	return true;
}

/* ---- state transitions (the SWIM conflict rules) ---- */

/* A suspect this site will probe itself before its round-robin goes on: what others say
 * is checked first-hand, and a live member answers (and hears it is suspected). At the
 * front: its suspicion ran out and waits for this probe. When full, the oldest new
 * suspicion makes room (it will come back at the front if it runs out unchecked). */
static void
urgent_add(struct gossip *g, uint32_t idx, bool front)
{
	size_t i;

	for (i = 0; i < g->nurgent && g->urgent[i] != idx; i++)
		;
	if (i < g->nurgent) {
		if (!front)
			return;
		memmove(g->urgent + 1, g->urgent, i * sizeof(*g->urgent));
	} else if (front) {
		if (g->nurgent < MAX_URGENT)
			g->nurgent++;
		memmove(g->urgent + 1, g->urgent, (g->nurgent - 1) * sizeof(*g->urgent));
	} else {
		if (g->nurgent == MAX_URGENT)
			memmove(g->urgent, g->urgent + 1, --g->nurgent * sizeof(*g->urgent));
		g->urgent[g->nurgent++] = idx;
		return;
	}
	g->urgent[0] = idx;
}

static bool
urgent_next(struct gossip *g, uint32_t *target)
{
	while (g->nurgent > 0) {
		uint32_t idx = g->urgent[0];

		memmove(g->urgent, g->urgent + 1, --g->nurgent * sizeof(*g->urgent));
		if (g->members[idx].state == GOSSIP_SUSPECT ||
		    (g->members[idx].check_path && live(g->members[idx].state))) {
			g->members[idx].check_path = false;
			*target = idx;
			return true;
		}
	}
	return false;
}

/* This site's own signed accusation of idx at its current incarnation, built in g->out;
 * NULL if it cannot be signed. The signature is kept with the suspicion: the same bytes
 * serve a suspect, the buddy's warning and the dead at the end. */
static const struct wire_msg *
own_accusation(struct gossip *g, uint32_t idx, uint8_t type)
{
	struct member *m = &g->members[idx];
	struct suspicion *s = m->susp;
	struct wire_msg *out = &g->out;
	uint8_t buf[128];
	int len;

	msg_clear(out, type);
	strcpy(out->target, tentry(g, idx)->name);
	strcpy(out->from, g->name);
	out->incarnation = m->incarnation;
	if (s != NULL && s->own_signed) {
		memcpy(out->sig, s->own_sig, WIRE_SIG_LEN);
		return out;
	}
	len = wire_accuse_signed_bytes(out->target, out->incarnation, g->name, buf, sizeof(buf));
	if (len < 0 || seal_sign(g->seal, buf, (size_t)len, out->sig) != 0)
		return NULL;
	if (s != NULL) {
		memcpy(s->own_sig, out->sig, WIRE_SIG_LEN);
		s->own_signed = true;
	}
	return out;
}

/* An accusation of idx at its current incarnation. accuser: SELF_ID when this site's own
 * probe failed (signed_msg is then NULL: this site signs), else the trust index of the
 * accuser whose signature signed_msg carries, passed on as it came so that every site
 * hears the accused and the accused hears it too. Others' word never kills: it starts or
 * confirms a suspicion, and only this site's own timeout makes the member dead here. */
static void
on_suspect(struct gossip *g, gossip_time now, uint32_t idx, uint32_t accuser,
           const struct wire_msg *signed_msg)
{
	struct member *m = &g->members[idx];
	bool local = accuser == SELF_ID, started = false;

	if (!live(m->state))
		return;
	if (local && m->susp != NULL)
		m->susp->probed = true;
	if (m->state == GOSSIP_SUSPECT) {
		if (!suspicion_confirm(g, idx, accuser))
			return;
	} else {
		set_state(g, now, idx, m->incarnation, GOSSIP_SUSPECT);
		suspicion_start(g, now, idx, accuser);
		started = true;
		if (local) {
			g->ctr.suspicions++;
			if (m->susp != NULL)
				m->susp->probed = true;
		} else {
			urgent_add(g, idx, false);
		}
	}
	if (local)
		signed_msg = own_accusation(g, idx, WIRE_SUSPECT);
	if (signed_msg != NULL)
		broadcast(g, idx, signed_msg);
	if (started)
		emit(g, now, GOSSIP_EV_SUSPECT, idx, local);
}

/* This site's suspicion of idx timed out. */
static void
declare_dead(struct gossip *g, gossip_time now, uint32_t idx)
{
	const struct wire_msg *msg = own_accusation(g, idx, WIRE_DEAD);

	suspicion_clear(g, idx);
	set_state(g, now, idx, g->members[idx].incarnation, GOSSIP_DEAD);
	if (msg != NULL)
		broadcast(g, idx, msg);
	emit(g, now, GOSSIP_EV_DEAD, idx, true);
}

static bool
own_leave_signed(const struct gossip *g, const struct wire_msg *lm)
{
	uint8_t buf[WIRE_DATAGRAM_MAX];
	int len = wire_left_signed_bytes(g->name, lm->incarnation, buf, sizeof(buf));

	return len > 0 && seal_verify_bound(seal_sign_key(g->seal), buf, (size_t)len, lm->sig);
}

static void
on_left(struct gossip *g, gossip_time now, uint32_t idx, const struct wire_msg *lm)
{
	struct member *m = &g->members[idx];
	uint8_t buf[WIRE_DATAGRAM_MAX];
	int len;

	if (m->desc == NULL || lm->incarnation < m->incarnation)
		return;
	if (m->state == GOSSIP_LEFT && lm->incarnation <= m->incarnation)
		return;
	if (m->state == GOSSIP_DEAD && lm->incarnation <= m->incarnation)
		return;
	len = wire_left_signed_bytes(lm->target, lm->incarnation, buf, sizeof(buf));
	if (len < 0 ||
	    !seal_verify(tentry(g, idx)->key, m->desc->d.sign_key, buf, (size_t)len, lm->sig)) {
		g->ctr.drop_refused++;
		return;
	}
	suspicion_clear(g, idx);
	set_state(g, now, idx, lm->incarnation, GOSSIP_LEFT);
	leave_proof_keep(g, idx, lm->incarnation, lm->sig);
	broadcast(g, idx, lm);
	emit(g, now, GOSSIP_EV_LEFT, idx, false);
}

#define LOOKUP_OUT (-2) /* a site whose credential was revoked or expired */

/* SELF_ID for this site's own name, a member index, -1 for a name not admitted, or LOOKUP_OUT.
 * The trust table wins over credentials for a name in both. */
static int64_t
lookup(const struct gossip *g, const char *name)
{
	int idx;

	if (strcmp(name, g->name) == 0)
		return SELF_ID;
	idx = gossip_trust_find(g->trust, name);
	if (idx >= 0)
		return idx == g->self_index ? -1 : idx;
	if (!g->federated || (idx = gossip_trust_find(g->admitted_trust, name)) < 0)
		return -1;
	return g->admitted[idx].out ? LOOKUP_OUT : (int64_t)(g->nstatic + (size_t)idx);
}

/* The data plane's share of a member's descriptor. */
static const struct wire_cdesc *
member_granted(const struct gossip *g, uint32_t idx)
{
	const struct refusal *r = refusal_of(g, idx);

	if (g->members[idx].desc == NULL)
		return NULL;
	return r != NULL ? &r->granted->d : &g->members[idx].desc->d;
}

/* What idx is granted: its trust entry's lists, or for a site admitted by credential those of
 * the credential it holds, decoded into c (its entry keeps none). */
static struct gossip_grant
member_grant(const struct gossip *g, uint32_t idx, struct cred *c)
{
	if (idx < g->nstatic)
		return entry_grant(tentry(g, idx));
	/* It decoded when it was taken; were it not to now, it would grant nothing. */
	if (gossip_cred_decode(g->admitted[idx - g->nstatic].cred, c, NULL, 0) != 0)
		return (struct gossip_grant){0};
	return (struct gossip_grant){c->prefixes, c->nprefixes, c->overlay,
	                             c->noverlay, c->vnis,      c->nvnis};
}

/* What idx's grant refuses of gd, as a new refusal with room made for it in the side table;
 * NULL when gd is granted whole, or (*ok false) when memory ran out. */
static struct refusal *
refusal_new(struct gossip *g, uint32_t idx, const struct gossip_desc *gd, bool *ok)
{
	struct cred c;
	struct gossip_grant gr = member_grant(g, idx, &c);
	struct refusal *r;
	char why[sizeof(r->why)];
	struct wire_desc d, granted;
	enum gossip_refusal reason;

	wire_cdesc_unpack(&gd->d, &d);
	reason = grant_check(tentry(g, idx)->key, &gr, grantor(g, idx), &d, why, sizeof(why));
	*ok = true;
	if (reason == GOSSIP_REFUSAL_NONE)
		return NULL;
	if (g->nrefusals == g->refusals_cap) {
		size_t ncap = g->refusals_cap ? g->refusals_cap * 2 : 4;
		struct refusal **nr = realloc(g->refusals, ncap * sizeof(*nr));

		if (nr == NULL) {
			*ok = false;
			return NULL;
		}
		g->refusals = nr;
		g->refusals_cap = ncap;
	}
	grant_trim(&gr, &d, &granted);
	r = malloc(sizeof(*r));
	if (r == NULL || (r->granted = gossip_desc_new(&granted)) == NULL) {
		free(r);
		*ok = false;
		return NULL;
	}
	r->idx = idx;
	r->reason = reason;
	snprintf(r->why, sizeof(r->why), "%s", why);
	g->ctr.drop_refused++;
	return r;
}

/* Gives idx the refusal r (NULL: none) of its new descriptor content; true when that is news:
 * reported once per refused content, as a refutation or a restart with the same descriptor is
 * no news. */
static bool
refusal_set(struct gossip *g, uint32_t idx, const struct gossip_desc *gd, struct refusal *r)
{
	struct member *m = &g->members[idx];
	bool news = r != NULL && (!m->refused || m->desc == NULL ||
	                          !wire_cdesc_same_content(&m->desc->d, &gd->d));

	refusal_drop(g, idx);
	if (r != NULL) {
		g->refusals[g->nrefusals++] = r;
		m->refused = true;
	}
	return news;
}

/* Makes gd, verified and carrying the trusted key, the member's descriptor at its
 * incarnation: alive, whatever its trust grants of it. A descriptor signed by the site's
 * key proves it alive at that incarnation, so refusing part of it must not leave the site
 * suspect, dead or left; the data plane gets only the granted part, and the whole signed
 * descriptor is passed on, as sites whose trust grants it need it. -1: no memory. */
static int
member_take(struct gossip *g, gossip_time now, uint32_t idx, struct gossip_desc *gd,
            bool disseminate)
{
	struct member *m = &g->members[idx];
	const struct wire_cdesc *was = member_granted(g, idx);
	bool ok, news, changed;
	struct refusal *r = refusal_new(g, idx, gd, &ok);
	uint8_t old = m->state;

	if (!ok)
		return -1;
	changed = was != NULL && !wire_cdesc_same_content(was, r != NULL ? &r->granted->d : &gd->d);
	suspicion_clear(g, idx);
	news = refusal_set(g, idx, gd, r);
	if (m->desc != NULL && !addr_endpoint_equal(&m->desc->d.gossip, &gd->d.gossip))
		m->has_seen = false;
	gossip_desc_unref(m->desc);
	m->desc = gossip_desc_ref(gd);
	if (gd->d.next_serial != 0)
		g->next_creds_due = true;
	set_state(g, now, idx, gd->d.incarnation, GOSSIP_ALIVE);
	if (disseminate)
		broadcast_desc(g, idx, gd);
	if (old == GOSSIP_SUSPECT)
		emit(g, now, GOSSIP_EV_ALIVE, idx, false);
	else if (!live(old))
		emit(g, now, GOSSIP_EV_JOIN, idx, false);
	if (changed)
		emit(g, now, GOSSIP_EV_UPDATE, idx, false);
	if (news)
		emit(g, now, GOSSIP_EV_REFUSED, idx, false);
	return 0;
}

/* The member's grant changed (a renewed credential): what of its descriptor is granted is
 * worked out again, its state left as it is. */
static void
member_regrant(struct gossip *g, gossip_time now, uint32_t idx)
{
	struct member *m = &g->members[idx];
	struct gossip_desc *gd = m->desc;
	struct gossip_desc *was;
	struct refusal *r, *old;
	bool ok, news, changed;

	if (gd == NULL)
		return;
	r = refusal_new(g, idx, gd, &ok);
	if (!ok)
		return;
	/* The grant before, held while refusal_set drops the refusal that holds it. */
	old = refusal_of(g, idx);
	was = gossip_desc_ref(old != NULL ? old->granted : gd);
	/* Its content is the same descriptor's: news only if nothing was refused before. */
	news = r != NULL && !m->refused;
	refusal_set(g, idx, gd, r);
	changed = !wire_cdesc_same_content(&was->d, member_granted(g, idx));
	gossip_desc_unref(was);
	if (changed)
		emit(g, now, GOSSIP_EV_UPDATE, idx, false);
	if (news)
		emit(g, now, GOSSIP_EV_REFUSED, idx, false);
}

/* ---- federation: admission by credential, revocation ---- */

static int64_t
unix_now(const struct gossip *g)
{
	return g->unix_now(g->cb.arg);
}

/* Makes room for need items in *arr (capacity *cap, items of size bytes). 0 or -1. The room
 * is not zeroed: the caller zeroes each item as it takes it, so that the pages of a large
 * array's unused room (up to half of it after a doubling) are not touched and never become
 * resident. */
static int
reserve(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *na;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	na = realloc(*arr, ncap * size);
	if (na == NULL)
		return -1;
	*arr = na;
	*cap = ncap;
	return 0;
}

/* Takes idx out of the view: no state, no descriptor, nothing pending about it. Its index
 * stays, so that a renewal or a new key can take it back. */
static void
member_forget(struct gossip *g, uint32_t idx)
{
	struct member *m = &g->members[idx];
	uint64_t nh = name_hash(tentry(g, idx)->name);

	if (m->state != GOSSIP_NONE)
		g->bucket_sum[nh & (WIRE_MAX_BUCKETS - 1)] -=
		        entry_hash(nh, m->incarnation, m->state);
	if (live(m->state))
		g->nlive--;
	suspicion_clear(g, idx);
	refusal_drop(g, idx);
	leave_proof_drop(g, idx);
	gossip_desc_unref(m->desc);
	m->desc = NULL;
	m->state = GOSSIP_NONE;
	m->incarnation = 0;
	free(g->unconfirmed[idx]);
	g->unconfirmed[idx] = NULL;
	for (size_t i = g->nbq; i-- > 0;)
		if (g->bq[i].about == idx)
			bq_remove(g, i);
	for (size_t i = 0; i < g->nurgent; i++)
		if (g->urgent[i] == idx)
			g->urgent[i--] = g->urgent[--g->nurgent];
	if (g->probe.active && g->probe.target == idx)
		g->probe.active = false;
}

/* A credential member revoked or expired: out of the view at once, not after a dead hold. */
static void
member_out(struct gossip *g, gossip_time now, uint32_t idx, uint8_t why)
{
	struct admitted *a = admitted_of(g, idx);

	if (a == NULL || a->out == OUT_REVOKED)
		return;
	a->out = why;
	emit(g, now,
	     why == OUT_REVOKED   ? GOSSIP_EV_REVOKED
	     : why == OUT_EXPIRED ? GOSSIP_EV_EXPIRED
	                          : GOSSIP_EV_DISOWNED,
	     idx, false);
	member_forget(g, idx);
}

/* Whether a revocation held covers a credential of site, with key and serial. */
static bool
revoked(const struct gossip *g, const char *site, const uint8_t key[WIRE_KEY_LEN], uint64_t serial)
{
	struct cred c;

	memset(&c, 0, sizeof(c));
	strcpy(c.federation, g->authorities.federation);
	strcpy(c.site, site);
	memcpy(c.wg_key, key, WIRE_KEY_LEN);
	c.serial = serial;
	for (size_t i = 0; i < g->nrevs; i++)
		if (cred_revoked(&c, &g->revs[i]->r, 1) != CRED_OK)
			return true;
	return false;
}

/* Whether a credential of serial may bring back name, a site taken out (LOOKUP_OUT): a higher
 * serial (a renewal; a revocation by serial need not cover it), or, unless it was revoked, the
 * same serial signed anew (by the current authorities, after an update disowned it). */
static bool
out_may_return(const struct gossip *g, const char *name, uint64_t serial)
{
	int i = g->federated ? gossip_trust_find(g->admitted_trust, name) : -1;
	uint64_t held;

	if (i < 0 || !g->admitted[i].out)
		return false;
	held = gossip_cred_serial(g->admitted[i].cred);
	return serial > held || (serial == held && g->admitted[i].out != OUT_REVOKED);
}

/* Whether gc holds the bytes held holds. */
static bool
cred_same(const struct gossip_cred *gc, const struct gossip_cred *held)
{
	uint8_t a[CRED_ENCODED_MAX], b[CRED_ENCODED_MAX];
	int n = gossip_cred_encode(gc, a, sizeof(a));

	return n >= 0 && gossip_cred_encode(held, b, sizeof(b)) == n &&
	       memcmp(a, b, (size_t)n) == 0;
}

static void
say(char *err, size_t errlen, const char *text)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", text);
}

/* Whether c, held in gc, admits its site now: its signatures verified once (gc->verified),
 * its validity and the revocations checked every time. */
static bool
cred_admissible(struct gossip *g, struct gossip_cred *gc, const struct cred *c, char *err,
                size_t errlen)
{
	int64_t t = unix_now(g);
	struct cred_verdict v;
	enum cred_status st;

	/* The cheap checks first: a revoked site that keeps talking costs no signature checks. */
	if (revoked(g, c->site, c->wg_key, c->serial)) {
		say(err, errlen, "revoked");
		return false;
	}
	if (t < c->not_before || t >= c->not_after) {
		say(err, errlen, t < c->not_before ? "not valid yet" : "expired");
		return false;
	}
	if (!gc->verified) {
		st = cred_verify(c, &g->authorities, t, &v);
		if (st != CRED_OK) {
			say(err, errlen, v.why);
			return false;
		}
		gc->verified = true;
	}
	return true;
}

static void
expiry_note(struct gossip *g, int64_t not_after)
{
	if (not_after < g->expiry_first)
		g->expiry_first = not_after;
}

/* A new member admitted by credential c: its grant, its record and its member slot. */
static int64_t
admit_new(struct gossip *g, struct gossip_cred *gc, const struct cred *c)
{
	/* What the credential grants is read from it (member_grant): the entry holds the name
	 * and key alone. */
	const struct gossip_grant none = {0};
	size_t n = gossip_trust_count(g->admitted_trust);

	if (reserve((void **)&g->members, &g->members_cap, g->nmembers + 1, sizeof(*g->members)) !=
	            0 ||
	    reserve((void **)&g->unconfirmed, &g->unconfirmed_cap, g->nmembers + 1,
	            sizeof(*g->unconfirmed)) != 0 ||
	    reserve((void **)&g->admitted, &g->admitted_cap, n + 1, sizeof(*g->admitted)) != 0 ||
	    gossip_trust_add(g->admitted_trust, c->site, c->wg_key, &none) != 0)
		return -1;
	memset(&g->members[g->nmembers], 0, sizeof(*g->members));
	memset(&g->unconfirmed[g->nmembers], 0, sizeof(*g->unconfirmed));
	memset(&g->admitted[n], 0, sizeof(*g->admitted));
	g->admitted[n].cred = gossip_cred_ref(gc);
	expiry_note(g, c->not_after);
	return (int64_t)g->nmembers++;
}

/* Admits the site gc speaks for (c: gc decoded), or takes its renewal, unless the trust table
 * names the site: the operator's own entry wins. Returns its member index, or -1 with the
 * reason in err. */
static int64_t
cred_take(struct gossip *g, gossip_time now, struct gossip_cred *gc, const struct cred *c,
          char *err, size_t errlen)
{
	struct admitted *a;
	uint32_t idx;
	bool rekey;
	int i;

	if (!g->federated || strcmp(c->federation, g->authorities.federation) != 0) {
		say(err, errlen, "not a credential of this site's federation");
		return -1;
	}
	if (strcmp(c->site, g->name) == 0 || gossip_trust_find(g->trust, c->site) >= 0) {
		say(err, errlen, "a site this one does not admit by credential");
		return -1;
	}
	i = gossip_trust_find(g->admitted_trust, c->site);
	a = i >= 0 ? &g->admitted[i] : NULL;
	if (a != NULL && c->serial <= gossip_cred_serial(a->cred) &&
	    !(out_may_return(g, c->site, c->serial) && !cred_same(gc, a->cred))) {
		/* Held already (or older): verified once per serial. Out, it may come back with
		 * its serial signed anew, which is checked like a new one. */
		say(err, errlen, a->out ? "revoked or expired" : "");
		return a->out ? -1 : (int64_t)(g->nstatic + (size_t)i);
	}
	if (!cred_admissible(g, gc, c, err, errlen)) {
		g->ctr.creds_refused++;
		return -1;
	}
	g->ctr.creds_admitted++;
	if (g->follow.armed)
		g->follow.at = now + FOLLOW_QUIET;
	if (a == NULL)
		return admit_new(g, gc, c);
	idx = (uint32_t)(g->nstatic + (size_t)i);
	rekey = memcmp(tentry(g, idx)->key, c->wg_key, WIRE_KEY_LEN) != 0;
	/* A live site's credential for another key is its next one: the site still speaks with
	 * its current key, and moves when it does with the new one (admitted_promote). */
	if (rekey && !a->out && live(g->members[idx].state)) {
		if (a->next == NULL || gossip_cred_serial(a->next) < c->serial) {
			if (a->next_key == NULL && (a->next_key = malloc(WIRE_KEY_LEN)) == NULL)
				return -1;
			gossip_cred_unref(a->next);
			a->next = gossip_cred_ref(gc);
			memcpy(a->next_key, c->wg_key, WIRE_KEY_LEN);
			emit(g, now, GOSSIP_EV_UPDATE, idx, false);
		}
		return idx;
	}
	gossip_cred_unref(a->next);
	a->next = NULL;
	trust_rekey(g->admitted_trust, i, c->wg_key);
	gossip_cred_unref(a->cred);
	a->cred = gossip_cred_ref(gc);
	a->out = 0;
	expiry_note(g, c->not_after);
	/* Descriptors signed with another key say nothing about the site now. */
	if (rekey)
		member_forget(g, idx);
	else
		member_regrant(g, now, idx);
	return idx;
}

/* idx spoke with the key it announced: its next credential becomes its credential, and it stays
 * what it was (alive, its tunnel kept) while its descriptor signed with the new key comes. */
static void
admitted_promote(struct gossip *g, gossip_time now, uint32_t idx)
{
	struct admitted *a = admitted_of(g, idx);

	if (a == NULL || a->next == NULL)
		return;
	trust_rekey(g->admitted_trust, (int)(idx - g->nstatic), a->next_key);
	gossip_cred_unref(a->cred);
	a->cred = a->next;
	a->next = NULL;
	expiry_note(g, cred_not_after(a->cred));
	emit(g, now, GOSSIP_EV_UPDATE, idx, false);
}

/* Credentials that ran out take their sites out of the view; a renewal brings them back.
 * Once a second: true when it ran. */
static bool
expiry_tick(struct gossip *g, gossip_time now)
{
	int64_t t, first = INT64_MAX;

	if (!g->federated || now < g->next_expiry_check)
		return false;
	g->next_expiry_check = now + GOSSIP_SEC;
	t = unix_now(g);
	if (t < g->expiry_first)
		return true;
	for (size_t i = 0; i < gossip_trust_count(g->admitted_trust); i++) {
		int64_t not_after;

		if (g->admitted[i].out)
			continue;
		not_after = cred_not_after(g->admitted[i].cred);
		if (t >= not_after)
			member_out(g, now, (uint32_t)(g->nstatic + i), OUT_EXPIRED);
		else if (not_after < first)
			first = not_after;
	}
	g->expiry_first = first;
	return true;
}

/* Takes a revocation: verified against the authority set, held, spread, and acted on. 1 when
 * new, 0 when held already, -1 with the reason in err. */
static int
revocation_take(struct gossip *g, gossip_time now, const uint8_t *bytes, size_t len, char *err,
                size_t errlen)
{
	struct revocation *rv;
	struct cred_verdict v;
	struct wire_msg *m = &g->out;

	if (!g->federated) {
		say(err, errlen, "this site is in no federation");
		return -1;
	}
	rv = calloc(1, sizeof(*rv));
	if (rv == NULL || len > sizeof(rv->bytes) ||
	    cred_revocation_decode(bytes, len, &rv->r, err, errlen) != 0)
		goto fail;
	rv->id = cred_revocation_id(&rv->r);
	for (size_t i = 0; i < g->nrevs; i++) {
		if (g->revs[i]->id == rv->id) {
			free(rv);
			return 0;
		}
	}
	if (cred_revocation_verify(&rv->r, &g->authorities, &v) != CRED_OK) {
		say(err, errlen, v.why);
		goto fail;
	}
	if (g->nrevs == g->revs_cap) {
		size_t ncap = g->revs_cap ? g->revs_cap * 2 : 8;
		struct revocation **nr = realloc(g->revs, ncap * sizeof(*nr));

		if (nr == NULL)
			goto fail;
		g->revs = nr;
		g->revs_cap = ncap;
	}
	memcpy(rv->bytes, bytes, len);
	rv->len = (uint16_t)len;
	g->revs[g->nrevs] = rv;
	g->revs_sum += rv->id;
	g->ctr.revocations++;
	msg_clear(m, WIRE_REVOKE);
	m->blob_len = rv->len;
	memcpy(m->blob, rv->bytes, rv->len);
	broadcast(g, REVOKE_ABOUT | (uint32_t)g->nrevs++, m);
	for (size_t i = 0; i < gossip_trust_count(g->admitted_trust); i++) {
		const struct trust_entry *e = &g->admitted_trust->e[i];

		if (revoked(g, e->name, e->key, gossip_cred_serial(g->admitted[i].cred)))
			member_out(g, now, (uint32_t)(g->nstatic + i), OUT_REVOKED);
	}
	return 1;
fail:
	free(rv);
	return -1;
}

/* Takes an authority update signed by threshold of the current set: the set it names replaces
 * the current one, spreads, and every credential admitted so far is checked against it again
 * (one no longer signed by enough of its authorities takes its site out until a credential
 * they signed comes). 1 when taken, 0 when held already, -1 with the reason in err. */
static int
authorities_take(struct gossip *g, gossip_time now, const uint8_t *bytes, size_t len, char *err,
                 size_t errlen)
{
	struct cred_authorities *next = calloc(1, sizeof(*next));
	struct cred_verdict v;
	struct cred c;
	int rc = -1;

	if (next == NULL || !g->federated || g->pin_authorities) {
		say(err, errlen,
		    next == NULL         ? "out of memory"
		    : g->pin_authorities ? "the config pins the authority set"
		                         : "this site is in no federation");
		goto out;
	}
	if (len > sizeof(g->auth_bytes) ||
	    cred_authorities_decode(bytes, len, next, err, errlen) != 0)
		goto out;
	if (g->auth_len == len && memcmp(g->auth_bytes, bytes, len) == 0) {
		rc = 0;
		goto out;
	}
	if (cred_authorities_verify(next, &g->authorities, &v) != CRED_OK) {
		say(err, errlen, v.why);
		goto out;
	}
	g->authorities = *next;
	memcpy(g->auth_bytes, bytes, len);
	g->auth_len = (uint16_t)len;
	msg_clear(&g->out, WIRE_AUTHORITIES);
	g->out.blob_len = g->auth_len;
	memcpy(g->out.blob, g->auth_bytes, g->auth_len);
	broadcast(g, AUTHORITIES_ABOUT, &g->out);
	for (size_t i = 0; i < gossip_trust_count(g->admitted_trust); i++) {
		struct admitted *a = &g->admitted[i];

		if (a->out || gossip_cred_decode(a->cred, &c, NULL, 0) != 0)
			continue;
		if (cred_verify(&c, &g->authorities, unix_now(g), &v) != CRED_OK)
			member_out(g, now, (uint32_t)(g->nstatic + i), OUT_DISOWNED);
	}
	rc = 1;
out:
	free(next);
	return rc;
}

/* True when the credential of name was not asked for in the last WANT_GAP: it is now. */
static bool
want_now(struct gossip *g, gossip_time now, const char *name)
{
	uint64_t h = name_hash(name);
	struct wanted *slot = &g->wanted[0];

	for (size_t i = 0; i < WANTED; i++) {
		if (g->wanted[i].hash == h) {
			if (now - g->wanted[i].at < WANT_GAP)
				return false;
			slot = &g->wanted[i];
			break;
		}
		if (g->wanted[i].at < slot->at)
			slot = &g->wanted[i];
	}
	slot->hash = h;
	slot->at = now;
	return true;
}

/* A simulator's stand-in for a member holding the whole view holds name already
 * (gossip_config.view_holds). */
static bool
held_elsewhere(const struct gossip *g, const char *name)
{
	return g->view_holds != NULL && g->view_holds(g->view_arg, name);
}

/* Asks to for the credentials of the names not asked for lately. A guess (to may not hold
 * them) is not remembered: it must not hold back, for WANT_GAP, the ask of a site that passed
 * the name on and so holds its credential. */
static size_t
cred_ask(struct gossip *g, gossip_time now, uint32_t to, const struct addr_endpoint *addr,
         char (*names)[WIRE_NAME_MAX + 1], size_t n, bool guess)
{
	struct wire_msg *req = &g->out;
	size_t asked = 0;
	struct pkt p;

	if (!g->federated)
		return 0;
	pkt_init(&p, to, addr);
	msg_clear(req, WIRE_CRED_REQ);
	for (size_t i = 0; i < n; i++) {
		if (guess || want_now(g, now, names[i])) {
			strcpy(req->names[req->count++], names[i]);
			asked++;
		}
		if (req->count > 0 && (req->count == WIRE_MAX_NAMES || i + 1 == n)) {
			pkt_put(g, &p, req);
			req->count = 0;
		}
	}
	if (p.w.len > 1)
		pkt_send(g, &p, false);
	return asked;
}

/* Members whose descriptor announces a next key this site holds no credential for are asked
 * for it themselves, until it comes: they hold it, which the site that relayed the
 * descriptor may not have yet, and an ask or its answer may be lost. */
static void
next_cred_asks(struct gossip *g, gossip_time now)
{
	char want[1][WIRE_NAME_MAX + 1];

	if (!g->next_creds_due)
		return;
	g->next_creds_due = false;
	for (size_t i = 0; i < gossip_trust_count(g->admitted_trust); i++) {
		const struct admitted *a = &g->admitted[i];
		uint32_t idx = (uint32_t)(g->nstatic + i);
		const struct member *m = &g->members[idx];
		uint64_t held =
		        a->next != NULL ? gossip_cred_serial(a->next) : gossip_cred_serial(a->cred);

		if (a->out || !live(m->state) || m->desc == NULL || m->desc->d.next_serial <= held)
			continue;
		strcpy(want[0], g->admitted_trust->e[i].name);
		cred_ask(g, now, idx, member_addr(g, idx), want, 1, false);
		/* Asked again next second while it does not come. */
		g->next_creds_due = true;
	}
}

static void
put_blob(struct gossip *g, struct pkt *p, uint8_t type, const uint8_t *bytes, size_t len)
{
	struct wire_msg *m = &g->out;

	msg_clear(m, type);
	m->blob_len = (uint16_t)len;
	memcpy(m->blob, bytes, len);
	pkt_put(g, p, m);
}

static void
put_cred(struct gossip *g, struct pkt *p, const struct gossip_cred *gc)
{
	struct wire_msg *m = &g->out;

	msg_clear(m, WIRE_CRED);
	m->blob_len = gc->len;
	gossip_cred_encode(gc, m->blob, sizeof(m->blob));
	pkt_put(g, p, m);
}

/* A member asks for credentials: each known one goes with the descriptor it admits, so the
 * asker takes both in one go. */
static void
on_cred_req(struct gossip *g, uint32_t from, const struct addr_endpoint *addr,
            const struct wire_msg *m)
{
	struct pkt p;

	pkt_init(&p, from, addr);
	for (size_t i = 0; i < m->count; i++) {
		int64_t id = lookup(g, m->names[i]);
		const struct admitted *a;

		if (id == SELF_ID && g->self_cred != NULL) {
			put_cred(g, &p, g->self_cred);
			if (g->self_next != NULL)
				put_cred(g, &p, g->self_next);
			if (g->self_state == GOSSIP_ALIVE)
				put_self_alive(g, &p);
		} else if (id >= 0 && id != SELF_ID && (a = admitted_of(g, (uint32_t)id)) != NULL) {
			put_cred(g, &p, a->cred);
			if (a->next != NULL)
				put_cred(g, &p, a->next);
			if (g->members[id].desc != NULL && live(g->members[id].state)) {
				msg_clear(&g->out, WIRE_ALIVE);
				wire_cdesc_unpack(&g->members[id].desc->d, &g->out.desc);
				pkt_put(g, &p, &g->out);
			}
		}
	}
	if (p.w.len > 1)
		pkt_send(g, &p, false);
}

static void
on_cred(struct gossip *g, gossip_time now, const struct wire_msg *m)
{
	struct cred c;
	struct gossip_cred *gc = gossip_cred_new(m->blob, m->blob_len, &c);

	if (gc == NULL) {
		g->ctr.drop_malformed++;
		return;
	}
	cred_take(g, now, gc, &c, NULL, 0);
	gossip_cred_unref(gc);
}

/* Federation anti-entropy: the authority set's version and a count and sum of revocation ids
 * ride on every digest. A site with an older set gets the newer update; a site holding other
 * revocations answers with its ids, and each side sends what the other lacks. */
static void
put_fed_sum(struct gossip *g, struct pkt *p)
{
	struct wire_msg *m = &g->out;

	msg_clear(m, WIRE_FED_SUM);
	m->version = g->authorities.version;
	m->total = (uint16_t)(g->nrevs > UINT16_MAX ? UINT16_MAX : g->nrevs);
	m->hashes[0] = g->revs_sum;
	pkt_put(g, p, m);
}

static void
put_revoke_ids(struct gossip *g, struct pkt *p, bool reply)
{
	struct wire_msg *m = &g->out;

	msg_clear(m, WIRE_REVOKE_IDS);
	m->flags = reply ? WIRE_IDS_REPLY : 0;
	/* The newest ones: a federation revokes rarely, and older ones were spread long ago. */
	for (size_t i = g->nrevs; i-- > 0 && m->count < WIRE_MAX_IDS;)
		m->hashes[m->count++] = g->revs[i]->id;
	pkt_put(g, p, m);
}

static void
on_fed_sum(struct gossip *g, uint32_t from, const struct addr_endpoint *addr,
           const struct wire_msg *m)
{
	bool newer = g->auth_len > 0 && m->version < g->authorities.version;
	struct pkt p;

	if (!g->federated || (!newer && m->total == g->nrevs && m->hashes[0] == g->revs_sum))
		return;
	pkt_init(&p, from, addr);
	if (newer)
		put_blob(g, &p, WIRE_AUTHORITIES, g->auth_bytes, g->auth_len);
	if (m->total != g->nrevs || m->hashes[0] != g->revs_sum)
		put_revoke_ids(g, &p, true);
	pkt_send(g, &p, false);
}

static bool
ids_hold(const struct wire_msg *m, uint64_t id)
{
	for (size_t i = 0; i < m->count; i++)
		if (m->hashes[i] == id)
			return true;
	return false;
}

static void
on_revoke_ids(struct gossip *g, uint32_t from, const struct addr_endpoint *addr,
              const struct wire_msg *m)
{
	bool lacking = false;
	struct pkt p;

	if (!g->federated)
		return;
	pkt_init(&p, from, addr);
	for (size_t i = 0; i < g->nrevs; i++)
		if (!ids_hold(m, g->revs[i]->id))
			put_blob(g, &p, WIRE_REVOKE, g->revs[i]->bytes, g->revs[i]->len);
	for (size_t i = 0; i < m->count && !lacking; i++) {
		lacking = true;
		for (size_t j = 0; j < g->nrevs && lacking; j++)
			lacking = g->revs[j]->id != m->hashes[i];
	}
	if (lacking && (m->flags & WIRE_IDS_REPLY))
		put_revoke_ids(g, &p, false);
	if (p.w.len > 1)
		pkt_send(g, &p, false);
}

/* from told us of d: a site this site does not admit yet may be one a credential admits,
 * and a member running a newer credential than the one held needs it before its descriptor
 * can be judged. Both are asked of from, which answers with the credential and the
 * descriptor together. */
static void
on_alive(struct gossip *g, gossip_time now, uint32_t from, const struct addr_endpoint *addr,
         const struct wire_desc *d)
{
	char want[1][WIRE_NAME_MAX + 1];
	const struct admitted *a;
	struct gossip_desc *gd;
	struct member *m;
	int64_t id = lookup(g, d->name);

	if (id == SELF_ID) {
		/* A version of this site newer than ours (from an earlier run): move above
		 * it, but only for one this site really signed. */
		if (d->incarnation >= g->self_inc &&
		    memcmp(d->wg_key, seal_public_key(g->seal), WIRE_KEY_LEN) == 0) {
			gd = gossip_desc_new(d);
			if (gd != NULL && gossip_desc_verify(gd) == 0 &&
			    !wire_desc_equal(d, &g->self_d))
				refute(g, d->incarnation);
			gossip_desc_unref(gd);
		}
		return;
	}
	strcpy(want[0], d->name);
	if (id == -1 && g->federated) {
		if (!held_elsewhere(g, d->name))
			cred_ask(g, now, from, addr, want, 1, false);
		return;
	}
	/* A site taken out that from admits again runs a credential that may bring it back
	 * here: a renewal, or its serial signed anew. One a revocation covers is not asked for. */
	if (id == LOOKUP_OUT && out_may_return(g, d->name, d->cred_serial) &&
	    !revoked(g, d->name, d->wg_key, d->cred_serial)) {
		cred_ask(g, now, from, addr, want, 1, false);
		return;
	}
	if (id < 0) {
		g->ctr.drop_refused++;
		return;
	}
	m = &g->members[id];
	/* Stale or already known: no signature check spent on it. Unless the one held is signed
	 * with a key the site left: its first descriptor with its new key is taken whatever its
	 * incarnation (a site that lost its state file with its old key starts again at 1). */
	if (m->state != GOSSIP_NONE && d->incarnation <= m->incarnation &&
	    (m->desc == NULL ||
	     memcmp(m->desc->d.wg_key, tentry(g, (uint32_t)id)->key, WIRE_KEY_LEN) == 0))
		return;
	a = admitted_of(g, (uint32_t)id);
	if (a != NULL && a->next != NULL && d->cred_serial == gossip_cred_serial(a->next) &&
	    memcmp(d->wg_key, a->next_key, WIRE_KEY_LEN) == 0) {
		gd = gossip_desc_new(d);
		if (gd != NULL && desc_verify(gd, NULL) == 0) {
			admitted_promote(g, now, (uint32_t)id);
			member_take(g, now, (uint32_t)id, gd, true);
		}
		gossip_desc_unref(gd);
		return;
	}
	if (a != NULL && (d->cred_serial > gossip_cred_serial(a->cred) ||
	                  (d->next_serial > gossip_cred_serial(a->cred) &&
	                   (a->next == NULL || d->next_serial > gossip_cred_serial(a->next))))) {
		cred_ask(g, now, from, addr, want, 1, false);
		if (d->cred_serial > gossip_cred_serial(a->cred))
			return;
	}
	/* Only the trusted key's signature says anything about the site. */
	if (memcmp(tentry(g, (uint32_t)id)->key, d->wg_key, WIRE_KEY_LEN) != 0) {
		g->ctr.drop_refused++;
		return;
	}
	gd = gossip_desc_new(d);
	if (gd == NULL)
		return;
	if (desc_verify(gd, m->desc) != 0)
		g->ctr.drop_refused++;
	else
		member_take(g, now, (uint32_t)id, gd, true);
	gossip_desc_unref(gd);
}

/* ---- choosing members ---- */

/* Up to want distinct live members other than exclude, at random. */
static size_t
pick_live(struct gossip *g, uint32_t exclude, uint32_t *out, size_t want)
{
	size_t n = 0;

	for (size_t tries = 0; n < want && g->norder > 0 && tries < 4 * want + 8; tries++) {
		uint32_t idx = g->order[rng_below(g, (uint32_t)g->norder)];
		bool dup = false;

		if (idx == exclude || !live(g->members[idx].state))
			continue;
		for (size_t i = 0; i < n && !dup; i++)
			dup = out[i] == idx;
		if (!dup)
			out[n++] = idx;
	}
	return n;
}

static void
reshuffle(struct gossip *g)
{
	size_t n = 0;

	for (size_t i = 0; i < g->norder; i++) {
		uint32_t idx = g->order[i];

		if (live(g->members[idx].state))
			g->order[n++] = idx;
		else
			g->members[idx].in_probe_list = false;
	}
	g->norder = n;
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_below(g, (uint32_t)i);
		uint32_t t = g->order[i - 1];

		g->order[i - 1] = g->order[j];
		g->order[j] = t;
	}
	g->order_pos = 0;
}

/* ---- probing ---- */

/* Hearsay about idx (an anti-entropy entry saying suspect, dead or left): this site looks
 * for itself, by making idx the next probe of this round if it has not had one yet. The
 * displaced member moves later in the same round, so nobody is skipped and no probe is
 * added: a liar can reorder a round, not stretch it. */
static void
probe_soon(struct gossip *g, uint32_t idx)
{
	for (size_t i = g->order_pos; i < g->norder; i++) {
		if (g->order[i] == idx) {
			g->order[i] = g->order[g->order_pos];
			g->order[g->order_pos] = idx;
			return;
		}
	}
}

static gossip_time
scaled(const struct gossip *g, uint32_t ms)
{
	return (gossip_time)ms * GOSSIP_MSEC * (g->awareness + 1);
}

static void
awareness_add(struct gossip *g, int delta)
{
	int v = (int)g->awareness + delta;

	if (!g->prof.lifeguard)
		return;
	if (v < 0)
		v = 0;
	if (v > (int)g->prof.awareness_max - 1)
		v = (int)g->prof.awareness_max - 1;
	g->awareness = (unsigned)v;
}

static void
probe_start(struct gossip *g, gossip_time now)
{
	struct pkt p;
	struct wire_msg *m = &g->out;
	uint32_t target = 0;
	bool found = false;

	g->next_probe = now + scaled(g, g->prof.probe_interval_ms);
	/* Every other probe at most goes to a suspect out of turn, so accusations, true or
	 * not, slow the round by half at worst. */
	found = g->urgent_turn && urgent_next(g, &target);
	g->urgent_turn = !found;
	for (size_t tries = 0; tries <= g->norder && !found; tries++) {
		if (g->order_pos >= g->norder)
			reshuffle(g);
		if (g->norder == 0)
			break;
		target = g->order[g->order_pos++];
		found = live(g->members[target].state);
	}
	if (!found)
		return;
	g->probe = (struct probe){
	        .active = true,
	        .target = target,
	        .seq = (uint32_t)rng_next(g),
	        .timeout_at = now + scaled(g, g->prof.probe_timeout_ms),
	        .end_at = g->next_probe,
	};
	g->ctr.probes++;
	pkt_init(&p, target, member_addr(g, target));
	msg_clear(m, WIRE_PING);
	m->seq = g->probe.seq;
	pkt_put(g, &p, m);
	/* Lifeguard's buddy system: a suspect hears of it first from whoever probes it. */
	if (g->prof.lifeguard && g->members[target].state == GOSSIP_SUSPECT) {
		const struct wire_msg *acc = own_accusation(g, target, WIRE_SUSPECT);

		if (acc != NULL)
			pkt_put(g, &p, acc);
	}
	pkt_send(g, &p, true);
}

static void
probe_indirect(struct gossip *g)
{
	uint32_t helpers[16];
	size_t n = pick_live(g, g->probe.target, helpers, g->prof.indirect_checks);
	struct wire_msg *m = &g->out;

	g->probe.indirect_sent = true;
	for (size_t i = 0; i < n; i++) {
		struct pkt p;

		pkt_init(&p, helpers[i], member_addr(g, helpers[i]));
		msg_clear(m, WIRE_PING_REQ);
		m->seq = g->probe.seq;
		strcpy(m->target, tentry(g, g->probe.target)->name);
		m->addr = *member_addr(g, g->probe.target);
		m->flags = g->prof.lifeguard ? WIRE_PING_REQ_NACK : 0;
		pkt_put(g, &p, m);
		pkt_send(g, &p, true);
		g->ctr.indirect_probes++;
		g->probe.helpers[i] = helpers[i];
	}
	g->probe.nhelpers = (uint32_t)n;
	g->probe.expected_nacks = g->prof.lifeguard ? (uint32_t)n : 0;
}

static void
probe_end(struct gossip *g, gossip_time now)
{
	uint32_t target = g->probe.target;

	g->probe.active = false;
	g->ctr.probe_failures++;
	/* Lifeguard: missing nacks mean the fault may be ours; all nacks back mean the
	 * helpers are fine and the target is not. */
	if (g->probe.expected_nacks > 0) {
		if (g->probe.nacks < g->probe.expected_nacks)
			awareness_add(g, (int)(g->probe.expected_nacks - g->probe.nacks));
	} else {
		awareness_add(g, 1);
	}
	on_suspect(g, now, target, SELF_ID, NULL);
}

/* Lifeguard: a deadline met this late means this site was not running (a stall). Acks may
 * be waiting unread, so look at them before accusing anyone, once per deadline; and again,
 * up to BACKLOG_EXTENSIONS times, while the embedder says datagrams wait unread: behind a
 * joiner's stream of credentials, each a few signature checks, an ack can wait for seconds.
 * A flood holds an accusation back that long at most. */
static bool
stalled(struct gossip *g, gossip_time now, gossip_time deadline, uint8_t *extended)
{
	if (!g->prof.lifeguard)
		return false;
	if (*extended == 0 &&
	    now - deadline > (gossip_time)g->prof.probe_timeout_ms * GOSSIP_MSEC / 2) {
		*extended = 1;
		awareness_add(g, 1);
		return true;
	}
	if (g->backlog && *extended < BACKLOG_EXTENSIONS) {
		(*extended)++;
		return true;
	}
	return false;
}

void
gossip_set_backlog(struct gossip *g, bool waiting)
{
	g->backlog = waiting;
}

static void
probe_tick(struct gossip *g, gossip_time now)
{
	struct probe *pr = &g->probe;

	if (pr->active && !live(g->members[pr->target].state))
		pr->active = false;
	if (pr->active && !pr->indirect_sent && now >= pr->timeout_at) {
		if (stalled(g, now, pr->timeout_at, &pr->extended)) {
			gossip_time gap = pr->end_at - pr->timeout_at;

			pr->timeout_at = now + scaled(g, g->prof.probe_timeout_ms);
			pr->end_at = pr->timeout_at + gap;
			if (g->next_probe < pr->end_at)
				g->next_probe = pr->end_at;
			return;
		}
		probe_indirect(g);
	}
	if (pr->active && pr->indirect_sent && now >= pr->end_at) {
		if (stalled(g, now, pr->end_at, &pr->extended)) {
			pr->end_at = now + scaled(g, g->prof.probe_timeout_ms);
			if (g->next_probe < pr->end_at)
				g->next_probe = pr->end_at;
			return;
		}
		probe_end(g, now);
	}
	if (!pr->active && now >= g->next_probe && g->self_state == GOSSIP_ALIVE)
		probe_start(g, now);
}

/* An ack counts only from the member probed, for the probe outstanding: anyone else
 * saying "it answered me" proves nothing about it. */
static void
on_ack(struct gossip *g, uint32_t from, uint32_t seq)
{
	if (g->probe.active && from == g->probe.target && seq == g->probe.seq) {
		g->probe.active = false;
		g->members[from].direct_ok_at = g->clock;
		awareness_add(g, -1);
	}
}

/* Anything authenticated from a suspect is first-hand news that it is up. */
static void
heard_from(struct gossip *g, uint32_t idx)
{
	if (g->members[idx].susp != NULL)
		g->members[idx].susp->heard = true;
}

/* The position of from among the helpers of the probe outstanding for seq, or -1. */
static int
probe_helper(const struct gossip *g, uint32_t from, uint32_t seq)
{
	if (!g->probe.active || !g->probe.indirect_sent || seq != g->probe.seq)
		return -1;
	for (uint32_t i = 0; i < g->probe.nhelpers; i++)
		if (g->probe.helpers[i] == from)
			return (int)i;
	return -1;
}

/* A nack counts once per helper asked: one that was not asked cannot vouch for our
 * health, nor can one helper for several. */
static void
on_nack(struct gossip *g, uint32_t from, uint32_t seq)
{
	int i = probe_helper(g, from, seq);

	if (i >= 0 && !(g->probe.nacked & 1u << i)) {
		g->probe.nacked |= 1u << i;
		g->probe.nacks++;
	}
}

static void
on_ping(struct gossip *g, uint32_t from, const struct addr_endpoint *addr, const struct wire_msg *m)
{
	struct pkt p;

	/* No target to check: only this site can open a datagram sealed for it, so a ping
	 * sent to whoever had this address before fails authentication here. */
	pkt_init(&p, from, addr);
	msg_clear(&g->out, WIRE_ACK);
	g->out.seq = m->seq;
	pkt_put(g, &p, &g->out);
	pkt_send(g, &p, true);
}

/* A helper pings us for a prober: the ack is sealed for the prober itself, so the helper
 * can pass it on but cannot make one up for a target that does not answer. */
static void
on_ping_for(struct gossip *g, uint32_t from, const struct addr_endpoint *addr,
            const struct wire_msg *m)
{
	uint8_t payload[16];
	struct wire_writer w;
	int64_t origin = lookup(g, m->from);
	struct pkt p;
	size_t len;

	if (strcmp(m->target, g->name) != 0 || origin < 0 || origin == SELF_ID)
		return;
	/* The prober asks others only once its own ping went unanswered: its direct path to
	 * this site fails, which this site learns at the same moment as the prober. */
	if (live(g->members[origin].state)) {
		g->members[origin].direct_fail_at = g->clock;
		g->ctr.direct_failures++;
	}
	wire_begin(&w, payload, sizeof(payload));
	msg_clear(&g->out, WIRE_ACK);
	g->out.seq = m->origin_seq;
	if (wire_put_msg(&w, &g->out) != 0 ||
	    seal_wrap(g->seal, (uint32_t)origin, tentry(g, (uint32_t)origin)->key, payload, w.len,
	              g->scratch, sizeof(g->scratch), &len) != 0 ||
	    len > WIRE_RELAY_MAX)
		return;
	msg_clear(&g->out, WIRE_ACK_FOR);
	g->out.seq = m->seq;
	g->out.relay_len = (uint16_t)len;
	memcpy(g->out.relay, g->scratch, len);
	pkt_init(&p, from, addr);
	pkt_put(g, &p, &g->out);
	pkt_send(g, &p, true);
}

/* seal_unwrap from the peer, a session the embedder vouches for (gossip_config.session_known)
 * taken as confirmed. */
static int
open_sealed(struct gossip *g, uint32_t id, const uint8_t *buf, size_t len, uint8_t *plain,
            size_t cap, size_t *plen, struct seal_opened *op)
{
	int rc = seal_unwrap(g->seal, id, tentry(g, id)->key, buf, len, plain, cap, plen, op);

	if (rc == 0 && !op->fresh && g->session_known != NULL &&
	    g->session_known(g->session_arg, id, op->session)) {
		seal_assume(g->seal, id, op);
		op->fresh = true;
	}
	return rc;
}

/* True when relay is a datagram sealed by the probe's target for us, holding an ack of
 * the probe: the target's own answer, whoever carried it. */
static bool
relayed_ack_valid(struct gossip *g, const struct wire_msg *m)
{
	uint32_t target = g->probe.target;
	uint8_t plain[WIRE_DATAGRAM_MAX];
	char name[WIRE_NAME_MAX + 1];
	struct seal_opened op;
	struct wire_reader r;
	size_t plen;
	int rc;

	if (seal_sender(m->relay, m->relay_len, name) != 0 ||
	    strcmp(name, tentry(g, target)->name) != 0) {
		g->ctr.drop_forged++;
		return false;
	}
	rc = open_sealed(g, target, m->relay, m->relay_len, plain, sizeof(plain), &plen, &op);
	if (rc == SEAL_ERR_REPLAYED) {
		g->ctr.drop_replayed++;
		return false;
	}
	if (rc != 0) {
		g->ctr.drop_forged++;
		return false;
	}
	/* Only the target's confirmed session speaks for it now: anything else may be a
	 * recording of an earlier run, so it proves nothing about the target's life. */
	if (!op.fresh) {
		g->ctr.drop_stale++;
		return false;
	}
	return wire_reader_init(&r, plain, plen) == 0 && wire_next(&r, &g->inner) == 1 &&
	       g->inner.type == WIRE_ACK && g->inner.seq == g->probe.seq &&
	       wire_next(&r, &g->inner) == 0;
}

static void
on_ack_for(struct gossip *g, uint32_t from, const struct wire_msg *m)
{
	/* As a helper: the target answered our ping for a prober; pass it on unopened. */
	for (size_t i = 0; i < MAX_FORWARDS; i++) {
		struct forward *f = &g->fw[i];
		struct pkt p;

		if (!f->used || f->seq != m->seq || f->target != from)
			continue;
		f->used = false;
		pkt_init(&p, f->origin, &f->origin_addr);
		g->out = *m;
		g->out.seq = f->origin_seq;
		pkt_put(g, &p, &g->out);
		pkt_send(g, &p, true);
		return;
	}
	/* As the prober: from a helper we asked, sealed by the target for us. */
	if (probe_helper(g, from, m->seq) >= 0 && relayed_ack_valid(g, m)) {
		g->probe.active = false;
		/* Up, but not reached directly: a path a relay may have to stand in for. */
		g->members[g->probe.target].direct_fail_at = g->clock;
		g->ctr.direct_failures++;
		awareness_add(g, -1);
		heard_from(g, g->probe.target);
	}
}

static void
on_ping_req(struct gossip *g, gossip_time now, uint32_t from, const struct addr_endpoint *addr,
            const struct wire_msg *m)
{
	int64_t target = lookup(g, m->target);
	struct forward *f = &g->fw[0];
	struct pkt p;

	if (target < 0 || target == SELF_ID)
		return;
	/* The oldest slot goes when all are taken: a helper's memory is bounded. */
	for (size_t i = 0; i < MAX_FORWARDS; i++) {
		if (!g->fw[i].used) {
			f = &g->fw[i];
			break;
		}
		if (g->fw[i].nack_at < f->nack_at)
			f = &g->fw[i];
	}
	*f = (struct forward){
	        .used = true,
	        .want_nack = (m->flags & WIRE_PING_REQ_NACK) != 0,
	        .origin = from,
	        .target = (uint32_t)target,
	        .origin_addr = *addr,
	        .origin_seq = m->seq,
	        .seq = ++g->seq,
	        .nack_at = now + (gossip_time)g->prof.probe_timeout_ms * GOSSIP_MSEC * 8 / 10,
	};
	pkt_init(&p, (uint32_t)target,
	         g->members[target].desc != NULL ? member_addr(g, (uint32_t)target) : &m->addr);
	msg_clear(&g->out, WIRE_PING_FOR);
	g->out.seq = f->seq;
	strcpy(g->out.target, m->target);
	strcpy(g->out.from, tentry(g, from)->name);
	g->out.origin_seq = m->seq;
	pkt_put(g, &p, &g->out);
	pkt_send(g, &p, true);
}

static void
forward_tick(struct gossip *g, gossip_time now)
{
	for (size_t i = 0; i < MAX_FORWARDS; i++) {
		struct forward *f = &g->fw[i];
		struct pkt p;

		if (!f->used || now < f->nack_at)
			continue;
		f->used = false;
		if (!f->want_nack)
			continue;
		pkt_init(&p, f->origin, &f->origin_addr);
		msg_clear(&g->out, WIRE_NACK);
		g->out.seq = f->origin_seq;
		pkt_put(g, &p, &g->out);
		pkt_send(g, &p, false);
	}
}

/* ---- anti-entropy ---- */

static unsigned
digest_buckets(const struct gossip *g)
{
	unsigned b = 1;

	while (b < WIRE_MAX_HASHES && (size_t)b * 16 < cluster_size(g))
		b <<= 1;
	return b;
}

static void
coarse_sums(const struct gossip *g, unsigned nb, uint64_t *out)
{
	memset(out, 0, nb * sizeof(*out));
	for (size_t f = 0; f < WIRE_MAX_BUCKETS; f++)
		out[f & (nb - 1)] += g->bucket_sum[f];
}

/* A join asks for the descriptor of whom it joins when it holds none: the answer to the
 * digest lists the whole view, and the joined site's own entry, asked for with the rest,
 * would wait behind thousands of others while its sealed datagrams find it unknown. */
static void
send_digest(struct gossip *g, uint32_t to, const struct addr_endpoint *addr, bool join)
{
	struct wire_msg *m = &g->out;
	unsigned nb = digest_buckets(g);
	struct pkt p;

	pkt_init(&p, to, addr);
	if (join) {
		put_self_alive(g, &p);
		if (g->members[to].desc == NULL) {
			msg_clear(m, WIRE_DESC_REQ);
			strcpy(m->names[m->count++], tentry(g, to)->name);
			pkt_put(g, &p, m);
		}
	}
	msg_clear(m, WIRE_DIGEST);
	m->nbuckets = (uint16_t)nb;
	m->bucket = 0;
	m->count = (uint8_t)nb;
	coarse_sums(g, nb, m->hashes);
	pkt_put(g, &p, m);
	if (g->federated)
		put_fed_sum(g, &p);
	pkt_send(g, &p, true);
}

/* The entries an ENTRIES message holds: as many as fit an empty payload whatever their names'
 * lengths (a header of 7 bytes; per entry a name with its length byte, incarnation, state).
 * WIRE_MAX_ENTRIES of them do not fit, and a message that does not fit is never sent. */
#define ENTRIES_PER_MSG ((SEAL_PAYLOAD_MAX - FRESH_ROOM - 1 - 7) / (1 + WIRE_NAME_MAX + 4 + 1))

static void
entry_add(struct gossip *g, struct pkt *p, unsigned nb, unsigned b, bool *first, bool reply,
          const char *name, uint32_t inc, uint8_t state)
{
	struct wire_msg *m = &g->out;

	if (m->count == ENTRIES_PER_MSG) {
		pkt_put(g, p, m);
		*first = false;
		msg_clear(m, WIRE_ENTRIES);
		m->nbuckets = (uint16_t)nb;
		m->bucket = (uint16_t)b;
	}
	m->flags = reply && *first ? WIRE_ENTRIES_REPLY : 0;
	strcpy(m->entries[m->count].name, name);
	m->entries[m->count].incarnation = inc;
	m->entries[m->count].state = state;
	m->count++;
}

/* Our (site, incarnation, state) entries of every marked bucket of nb. */
static void
send_entries(struct gossip *g, uint32_t to, const struct addr_endpoint *addr, unsigned nb,
             const bool *marked, bool reply)
{
	uint64_t self_b = self_hash(g) & (nb - 1);
	struct wire_msg *m = &g->out;
	struct pkt p;

	pkt_init(&p, to, addr);
	for (unsigned b = 0; b < nb; b++) {
		bool first = true;

		if (!marked[b])
			continue;
		msg_clear(m, WIRE_ENTRIES);
		m->nbuckets = (uint16_t)nb;
		m->bucket = (uint16_t)b;
		m->flags = reply ? WIRE_ENTRIES_REPLY : 0;
		if (self_b == b)
			entry_add(g, &p, nb, b, &first, reply, g->name, g->self_inc, g->self_state);
		for (size_t i = 0; i < g->nmembers; i++) {
			const struct member *mm = &g->members[i];

			if (mm->state == GOSSIP_NONE ||
			    (name_hash(tentry(g, (uint32_t)i)->name) & (nb - 1)) != b)
				continue;
			entry_add(g, &p, nb, b, &first, reply, tentry(g, (uint32_t)i)->name,
			          mm->incarnation, mm->state);
		}
		pkt_put(g, &p, m);
	}
	pkt_send(g, &p, false);
}

static void
on_digest(struct gossip *g, uint32_t from, const struct addr_endpoint *addr,
          const struct wire_msg *m)
{
	uint64_t mine[WIRE_MAX_BUCKETS];
	bool marked[WIRE_MAX_BUCKETS] = {false};
	bool any = false;

	coarse_sums(g, m->nbuckets, mine);
	for (unsigned i = 0; i < m->count; i++) {
		unsigned b = m->bucket + i;

		if (mine[b] != m->hashes[i]) {
			marked[b] = true;
			any = true;
		}
	}
	if (any)
		send_entries(g, from, addr, m->nbuckets, marked, true);
}

/* Asks to for the descriptors named: for a member said to be at an incarnation above the
 * one this site holds signed, only the member's own signature may move it there. */
static void
desc_ask(struct gossip *g, uint32_t to, const struct addr_endpoint *addr,
         char (*names)[WIRE_NAME_MAX + 1], size_t n)
{
	struct wire_msg *req = &g->out;
	struct pkt p;

	if (n == 0)
		return;
	pkt_init(&p, to, addr);
	msg_clear(req, WIRE_DESC_REQ);
	for (size_t i = 0; i < n; i++) {
		strcpy(req->names[req->count++], names[i]);
		if (req->count == WIRE_MAX_NAMES || i + 1 == n) {
			pkt_put(g, &p, req);
			req->count = 0;
		}
	}
	pkt_send(g, &p, false);
}

static struct seed *
seed_at(struct gossip *g, const struct addr_endpoint *addr)
{
	for (size_t i = 0; i < g->nseeds; i++)
		if (addr_endpoint_equal(&g->seeds[i].ep, addr))
			return &g->seeds[i];
	return NULL;
}

/* Entries from a seed answer the join (or a later sync): the view is on its way, and the
 * seed's own descriptor, asked for with the names it lists, may wait behind thousands of
 * them. A join sent again meanwhile would only bring the whole list, and every ask it
 * raises, once more. */
static void
seed_answered(struct gossip *g, const struct addr_endpoint *addr)
{
	struct seed *s = seed_at(g, addr);

	if (s != NULL)
		s->answered = true;
}

static void
follow_arm(struct gossip *g, uint32_t to)
{
	struct follow *f = &g->follow;

	if (f->to != to) {
		f->to = to;
		f->barren = 0;
	}
	if (!f->armed)
		f->admitted = g->ctr.creds_admitted;
	f->armed = true;
	f->at = g->clock + FOLLOW_QUIET;
}

/* The sync that follows a list's asks once their answers stop coming: its answer names
 * again, in the buckets that still differ, what did not come. */
static void
follow_tick(struct gossip *g, gossip_time now)
{
	struct follow *f = &g->follow;

	if (!f->armed || now < f->at)
		return;
	f->armed = false;
	if (g->ctr.creds_admitted > f->admitted)
		f->barren = 0;
	else if (f->barren++ >= FOLLOW_BARREN)
		return;
	if (!live(g->members[f->to].state))
		return;
	g->ctr.syncs++;
	send_digest(g, f->to, member_addr(g, f->to), false);
}

static void
on_entries(struct gossip *g, uint32_t from, const struct addr_endpoint *addr,
           const struct wire_msg *m)
{
	char want[WIRE_MAX_ENTRIES][WIRE_NAME_MAX + 1];
	char creds[WIRE_MAX_ENTRIES][WIRE_NAME_MAX + 1];
	size_t nwant = 0, ncreds = 0;

	for (size_t i = 0; i < m->count; i++) {
		const struct wire_entry *e = &m->entries[i];
		int64_t id = lookup(g, e->name);
		struct member *mm;
		bool ask = false;

		if (id == -1) {
			/* Maybe a site a credential admits: its credential comes with its
			 * descriptor. */
			if (!held_elsewhere(g, e->name) &&
			    (e->state == WIRE_STATE_ALIVE || e->state == WIRE_STATE_SUSPECT))
				strcpy(creds[ncreds++], e->name);
		} else if (id == SELF_ID) {
			/* Above our own: an earlier run's version, if we really signed it. */
			ask = e->incarnation > g->self_inc;
			if (e->state != WIRE_STATE_ALIVE && e->incarnation == g->self_inc)
				refute(g, e->incarnation);
		} else if (id >= 0) {
			mm = &g->members[id];
			if (mm->state == GOSSIP_NONE)
				ask = e->state == WIRE_STATE_ALIVE ||
				      e->state == WIRE_STATE_SUSPECT;
			else if (e->state == WIRE_STATE_ALIVE || e->incarnation > signed_inc(g, id))
				ask = e->incarnation > mm->incarnation;
			else if (mm->state == GOSSIP_ALIVE && e->incarnation == mm->incarnation)
				/* Suspect, dead or left elsewhere: hearsay, which an honest
				 * sender passes on as readily as a liar makes it up, and which
				 * the accused would never hear of. It is checked first-hand. */
				probe_soon(g, (uint32_t)id);
		}
		if (ask)
			strcpy(want[nwant++], e->name);
	}
	seed_answered(g, addr);
	desc_ask(g, from, addr, want, nwant);
	if (ncreds > 0 && cred_ask(g, g->clock, from, addr, creds, ncreds, false) > 0)
		follow_arm(g, from);
	if (m->flags & WIRE_ENTRIES_REPLY) {
		bool marked[WIRE_MAX_BUCKETS] = {false};

		marked[m->bucket] = true;
		send_entries(g, from, addr, m->nbuckets, marked, false);
	}
}

static void
on_desc_req(struct gossip *g, uint32_t from, const struct addr_endpoint *addr,
            const struct wire_msg *m)
{
	struct pkt p;

	pkt_init(&p, from, addr);
	for (size_t i = 0; i < m->count; i++) {
		int64_t id = lookup(g, m->names[i]);

		if (id == SELF_ID) {
			if (g->self_state == GOSSIP_ALIVE)
				put_self_alive(g, &p);
		} else if (id >= 0 && g->members[id].desc != NULL &&
		           (live(g->members[id].state) || (uint32_t)id == from)) {
			/* Only live members: a dead one handed out as a descriptor would
			 * come back to life at a site that never heard of it. But a member
			 * asking for its own gets it whatever its state: a site restarted
			 * without its state file hears it is dead at an incarnation it cannot
			 * remember signing, and only its own descriptor lets it move above
			 * that one and refute. */
			const struct leave_proof *lp = leave_proof_of(g, (uint32_t)id);

			msg_clear(&g->out, WIRE_ALIVE);
			wire_cdesc_unpack(&g->members[id].desc->d, &g->out.desc);
			pkt_put(g, &p, &g->out);
			/* Held left (so the asker is the member itself): the leave it signed,
			 * one above that descriptor. */
			if (lp != NULL) {
				msg_clear(&g->out, WIRE_LEFT);
				strcpy(g->out.target, m->names[i]);
				g->out.incarnation = lp->incarnation;
				memcpy(g->out.sig, lp->sig, WIRE_SIG_LEN);
				pkt_put(g, &p, &g->out);
			}
		}
	}
	pkt_send(g, &p, false);
}

/* True when msg carries accuser's own signature, checked against the signing key of the
 * descriptor this site holds for it (bound to its trusted key when accepted). */
static bool
accusation_signed(const struct gossip *g, uint32_t accuser, const struct wire_msg *msg)
{
	const struct member *a = &g->members[accuser];
	uint8_t buf[128];
	int len;

	if (a->desc == NULL)
		return false;
	len = wire_accuse_signed_bytes(msg->target, msg->incarnation, msg->from, buf, sizeof(buf));
	return len > 0 && seal_verify_bound(a->desc->d.sign_key, buf, (size_t)len, msg->sig);
}

/* SUSPECT or DEAD from a member. Acted on only at the incarnation the accused signed last:
 * a lower one is stale, a higher one is news of a version we lack (asked for, not
 * believed). The signature is checked only when the accuser would count. */
static void
on_accusation(struct gossip *g, gossip_time now, uint32_t from, const struct addr_endpoint *addr,
              const struct wire_msg *msg)
{
	char name[1][WIRE_NAME_MAX + 1];
	int64_t target = lookup(g, msg->target), accuser = lookup(g, msg->from);
	struct member *m;

	if (target == SELF_ID) {
		if (msg->incarnation == g->self_inc) {
			refute(g, msg->incarnation);
		} else if (msg->incarnation > g->self_inc) {
			strcpy(name[0], g->name);
			desc_ask(g, from, addr, name, 1);
		}
		return;
	}
	/* Our own accusation come back is no confirmation of itself. */
	if (target < 0 || accuser < 0 || accuser == SELF_ID)
		return;
	m = &g->members[target];
	if (!live(m->state) || msg->incarnation < m->incarnation)
		return;
	if (msg->incarnation > signed_inc(g, (uint32_t)target)) {
		strcpy(name[0], msg->target);
		desc_ask(g, from, addr, name, 1);
		return;
	}
	if (m->state == GOSSIP_SUSPECT && !suspicion_counts(g, (uint32_t)target, (uint32_t)accuser))
		return;
	if (!accusation_signed(g, (uint32_t)accuser, msg)) {
		g->ctr.drop_refused++;
		return;
	}
	on_suspect(g, now, (uint32_t)target, (uint32_t)accuser, msg);
}

/* ---- joins, seeds, reconnects ---- */

/* A token bucket holding up to burst tokens, refilled at rate per second. */
static bool
bucket_take(struct bucket *b, gossip_time now, uint32_t rate, uint32_t burst)
{
	gossip_time per = GOSSIP_SEC / rate;

	if (now - b->at >= per) {
		gossip_time add = (now - b->at) / per;

		b->tokens =
		        add >= (gossip_time)(burst - b->tokens) ? burst : b->tokens + (uint32_t)add;
		b->at += add * per;
	}
	if (b->tokens == 0)
		return false;
	b->tokens--;
	return true;
}

/* Sealed answers a hello with a valid cookie may cost its source address. */
static bool
source_take(struct gossip *g, gossip_time now, const struct addr_endpoint *from)
{
	struct source key = {.family = from->addr.family}, *s = NULL;

	memcpy(key.addr, from->addr.u.bytes, from->addr.family == AF_INET ? 4 : 8);
	for (size_t i = 0; i < g->nsources && s == NULL; i++)
		if (g->sources[i].family == key.family &&
		    memcmp(g->sources[i].addr, key.addr, sizeof(key.addr)) == 0)
			s = &g->sources[i];
	if (s == NULL) {
		/* A source forgotten gets a full bucket again: only the global cap holds one
		 * that cycles through more addresses than the table keeps. */
		if (g->nsources < SOURCES) {
			s = &g->sources[g->nsources++];
		} else {
			s = &g->sources[0];
			for (size_t i = 1; i < SOURCES; i++)
				if (g->sources[i].b.at < s->b.at)
					s = &g->sources[i];
		}
		*s = key;
		s->b = (struct bucket){now, SOURCE_BURST};
	}
	return bucket_take(&s->b, now, SOURCE_RATE, SOURCE_BURST);
}

/* A cookie: a MAC, under a key of this process, over the time slot, the hello's source
 * address and port and the name it claims. Only who receives at that address learns it. */
static void
cookie_make(const struct gossip *g, gossip_time slot, const struct addr_endpoint *from,
            const char *name, uint8_t out[WIRE_COOKIE_LEN])
{
	uint8_t in[8 + 1 + 16 + 2 + 1 + WIRE_NAME_MAX];
	size_t n = 0, alen = addr_len(from->addr.family), nlen = strlen(name);

	for (int i = 7; i >= 0; i--)
		in[n++] = (uint8_t)((uint64_t)slot >> (8 * i));
	in[n++] = from->addr.family;
	memcpy(in + n, from->addr.u.bytes, alen);
	n += alen;
	in[n++] = (uint8_t)(from->port >> 8);
	in[n++] = (uint8_t)from->port;
	in[n++] = (uint8_t)nlen;
	memcpy(in + n, name, nlen);
	n += nlen;
	crypto_shorthash_siphashx24(out, in, n, g->cookie_key);
}

/* Secret (keyed by the private key) and new with every process (the daemon's seed is
 * random): cookies of another run or another site do not pass. */
static void
cookie_key(struct gossip *g, const uint8_t priv[WIRE_KEY_LEN], uint64_t seed)
{
	static const char context[] = "netd cookie v1";
	uint8_t in[sizeof(context) + 8];

	memcpy(in, context, sizeof(context));
	for (int i = 0; i < 8; i++)
		in[sizeof(context) + i] = (uint8_t)(seed >> (8 * i));
	crypto_generichash(g->cookie_key, sizeof(g->cookie_key), in, sizeof(in), priv,
	                   WIRE_KEY_LEN);
}

/* Made in this slot or the one before. */
static bool
cookie_valid(const struct gossip *g, gossip_time now, const struct addr_endpoint *from,
             const char *name, const uint8_t cookie[WIRE_COOKIE_LEN])
{
	uint8_t want[WIRE_COOKIE_LEN];

	for (gossip_time slot = now / COOKIE_SLOT; slot >= now / COOKIE_SLOT - 1; slot--) {
		cookie_make(g, slot, from, name, want);
		if (sodium_memcmp(want, cookie, WIRE_COOKIE_LEN) == 0)
			return true;
	}
	return false;
}

/* Join answers and tell-the-dead answer authenticated datagrams, so an outsider cannot ask
 * for them: each trusted sender has a budget of its own, which only it can spend. A sender
 * forgotten among many others gets its next answer early, which costs no one else theirs. */
static bool
may_answer(struct gossip *g, gossip_time now, uint32_t who)
{
	struct answer *a = NULL;

	for (size_t i = 0; i < g->nanswered && a == NULL; i++)
		if (g->answered[i].who == who)
			a = &g->answered[i];
	if (a != NULL && now - a->at < (gossip_time)ANSWER_GAP_MS * GOSSIP_MSEC) {
		g->ctr.drop_rate++;
		return false;
	}
	if (a == NULL && g->nanswered < ANSWERED) {
		a = &g->answered[g->nanswered++];
	} else if (a == NULL) {
		a = &g->answered[0];
		for (size_t i = 1; i < ANSWERED; i++)
			if (g->answered[i].at < a->at)
				a = &g->answered[i];
	}
	a->who = who;
	a->at = now;
	return true;
}

static void
send_clear(struct gossip *g, const struct addr_endpoint *to, const uint8_t *buf, int len)
{
	if (len <= 0 || g->cb.send == NULL)
		return;
	g->ctr.tx_datagrams++;
	g->ctr.tx_bytes += (uint64_t)len;
	g->cb.send(g->cb.arg, to, buf, (size_t)len);
}

/* The trust index of a datagram's claimed sender, or -1 after counting why it is dropped:
 * it claims to be this site, or no trusted site has the name. */
static int64_t
lookup_sender(struct gossip *g, const char *name)
{
	int64_t id = lookup(g, name);

	if (id == SELF_ID) {
		g->ctr.drop_self++;
		return -1;
	}
	if (id == LOOKUP_OUT)
		g->ctr.drop_revoked++;
	else if (id < 0)
		g->ctr.drop_unknown++;
	return id < 0 ? -1 : id;
}

/* The sealed answer to a joiner whose source is proven: it tells the joiner who we are, and
 * the joiner follows with its join. */
static void
hello_answer(struct gossip *g, uint32_t id, const struct addr_endpoint *from)
{
	struct pkt p;

	pkt_init(&p, id, from);
	msg_clear(&g->out, WIRE_PING);
	g->out.seq = ++g->seq;
	pkt_put(g, &p, &g->out);
	pkt_send(g, &p, false);
}

/* Whether a hello's source, proven by its cookie, may cost this site an answer now. */
static bool
hello_budget(struct gossip *g, gossip_time now, const struct addr_endpoint *from)
{
	if (!source_take(g, now, from) ||
	    !bucket_take(&g->hello_budget, now, HELLO_RATE, HELLO_BURST)) {
		g->ctr.drop_rate++;
		return false;
	}
	return true;
}

static void
on_hello(struct gossip *g, gossip_time now, const struct addr_endpoint *from, const uint8_t *buf,
         size_t len)
{
	uint8_t reply[WIRE_COOKIE_REPLY_LEN];
	struct wire_hello h;
	struct wire_cookie c;
	int64_t id;

	if (wire_hello_decode(buf, len, &h) != 0) {
		g->ctr.drop_malformed++;
		return;
	}
	/* In a federation a name not known yet may be a site its credential admits, and one taken
	 * out may come back with a renewal: it gets a cookie, and presents its credential with
	 * it. */
	id = lookup(g, h.name);
	if (id == SELF_ID ||
	    (id < 0 && !((id == -1 || id == LOOKUP_OUT) && g->federated && !h.has_cookie))) {
		lookup_sender(g, h.name);
		return;
	}
	if (!h.has_cookie || !cookie_valid(g, now, from, h.name, h.cookie)) {
		if (h.has_cookie)
			g->ctr.drop_cookie++;
		/* The source is not proven yet: a cookie, never a sealed answer. */
		if (!bucket_take(&g->cookie_budget, now, COOKIE_RATE, COOKIE_BURST)) {
			g->ctr.drop_rate++;
			return;
		}
		c.nonce = h.nonce;
		cookie_make(g, now / COOKIE_SLOT, from, h.name, c.cookie);
		send_clear(g, from, reply, wire_cookie_encode(&c, reply, sizeof(reply)));
		return;
	}
	if (hello_budget(g, now, from))
		hello_answer(g, (uint32_t)id, from);
}

/* A joiner's credential with the cookie of its hello: admitted if it verifies, then answered
 * with this site's own credential and the sealed answer a hello gets. */
static void
on_present(struct gossip *g, gossip_time now, const struct addr_endpoint *from,
           const struct wire_present *wp)
{
	uint8_t out[WIRE_DATAGRAM_MAX];
	struct wire_present mine;
	struct gossip_cred *gc;
	struct cred c;
	int64_t id;

	gc = gossip_cred_new(wp->cred, wp->cred_len, &c);
	if (gc == NULL) {
		g->ctr.drop_malformed++;
		return;
	}
	if (!cookie_valid(g, now, from, c.site, wp->cookie)) {
		g->ctr.drop_cookie++;
		goto out;
	}
	if (!hello_budget(g, now, from))
		goto out;
	id = lookup(g, c.site);
	if (id == -1 || id == LOOKUP_OUT)
		id = cred_take(g, now, gc, &c, NULL, 0);
	if (id < 0 || id == SELF_ID) {
		lookup_sender(g, c.site);
		goto out;
	}
	if (g->self_cred != NULL) {
		memset(&mine, 0, sizeof(mine));
		mine.nonce = wp->nonce;
		mine.cred_len = g->self_cred->len;
		gossip_cred_encode(g->self_cred, mine.cred, sizeof(mine.cred));
		send_clear(g, from, out, wire_present_encode(&mine, out, sizeof(out)));
	}
	hello_answer(g, (uint32_t)id, from);
out:
	gossip_cred_unref(gc);
}

/* A seed's credential, answering our presentation: taken only for the nonce we sent. */
static void
on_presented(struct gossip *g, gossip_time now, const struct wire_present *wp)
{
	struct gossip_cred *gc;
	struct seed *s = NULL;
	struct cred c;
	int64_t id;

	for (size_t i = 0; i < g->nseeds && s == NULL; i++)
		if (g->seeds[i].presented && g->seeds[i].nonce == wp->nonce)
			s = &g->seeds[i];
	if (s == NULL) {
		g->ctr.drop_cookie++;
		return;
	}
	s->presented = false;
	gc = gossip_cred_new(wp->cred, wp->cred_len, &c);
	if (gc == NULL) {
		g->ctr.drop_malformed++;
		return;
	}
	id = cred_take(g, now, gc, &c, NULL, 0);
	gossip_cred_unref(gc);
	/* The join goes now: the seed's sealed answer may have come before its credential and
	 * been dropped, and waiting for the next try costs the joiner its backoff. The next try
	 * waits a backoff from this join, not from the hello: one due meanwhile would go while
	 * the seed's answer, the whole view, is on its way. */
	if (id >= 0) {
		send_digest(g, (uint32_t)id, &s->ep, true);
		s->joined = true;
		s->next = now + jitter(g, s->backoff, 0.25);
	}
}

static void
on_clear(struct gossip *g, gossip_time now, const struct addr_endpoint *from, const uint8_t *buf,
         size_t len)
{
	struct wire_present *wp = &g->present;

	if (!g->federated || wire_present_decode(buf, len, wp) != 0) {
		g->ctr.drop_malformed++;
		return;
	}
	if (wp->has_cookie)
		on_present(g, now, from, wp);
	else
		on_presented(g, now, wp);
}

/* A seed's answer to our hello: repeat the hello with the cookie, once; a site with a
 * credential presents it with the cookie instead. */
static void
on_cookie(struct gossip *g, const uint8_t *buf, size_t len)
{
	uint8_t out[WIRE_DATAGRAM_MAX];
	struct wire_cookie c;
	struct wire_hello h = {0};
	struct seed *s = NULL;

	if (wire_cookie_decode(buf, len, &c) != 0) {
		g->ctr.drop_malformed++;
		return;
	}
	/* By nonce, not by address: a seed may answer from another of its addresses. */
	for (size_t i = 0; i < g->nseeds && s == NULL; i++)
		if (g->seeds[i].awaiting && g->seeds[i].nonce == c.nonce)
			s = &g->seeds[i];
	if (s == NULL) {
		g->ctr.drop_cookie++;
		return;
	}
	s->awaiting = false;
	if (g->self_cred != NULL) {
		struct wire_present *wp = &g->present;

		memset(wp, 0, sizeof(*wp));
		wp->nonce = c.nonce;
		wp->has_cookie = true;
		memcpy(wp->cookie, c.cookie, WIRE_COOKIE_LEN);
		wp->cred_len = g->self_cred->len;
		gossip_cred_encode(g->self_cred, wp->cred, sizeof(wp->cred));
		s->presented = true;
		send_clear(g, &s->ep, out, wire_present_encode(wp, out, sizeof(out)));
		return;
	}
	strcpy(h.name, g->name);
	h.nonce = c.nonce;
	h.has_cookie = true;
	memcpy(h.cookie, c.cookie, WIRE_COOKIE_LEN);
	send_clear(g, &s->ep, out, wire_hello_encode(&h, out, sizeof(out)));
}

static bool
seed_alive(const struct gossip *g, const struct addr_endpoint *ep)
{
	if (addr_endpoint_equal(ep, &g->self_d.gossip))
		return true;
	for (size_t i = 0; i < g->nmembers; i++) {
		const struct member *m = &g->members[i];

		if (live(m->state) && addr_endpoint_equal(&m->desc->d.gossip, ep))
			return true;
	}
	return false;
}

static void
join_seed(struct gossip *g, struct seed *s)
{
	uint8_t buf[WIRE_HELLO_LEN];
	struct wire_hello h = {0};

	g->ctr.joins++;
	for (size_t i = 0; i < g->nmembers; i++) {
		const struct member *m = &g->members[i];

		if (m->desc != NULL && addr_endpoint_equal(&m->desc->d.gossip, &s->ep)) {
			send_digest(g, (uint32_t)i, &s->ep, true);
			s->joined = true;
			return;
		}
	}
	s->joined = false;
	/* Unpredictable, so that only the seed, which saw it, can send a cookie reply the
	 * joiner takes; a keyed hash rather than the core's generator, which it would reveal. */
	g->hellos++;
	crypto_shorthash((uint8_t *)&h.nonce, (const uint8_t *)&g->hellos, sizeof(g->hellos),
	                 g->cookie_key);
	strcpy(h.name, g->name);
	s->nonce = h.nonce;
	s->awaiting = true;
	send_clear(g, &s->ep, buf, wire_hello_encode(&h, buf, sizeof(buf)));
}

static void
seeds_tick(struct gossip *g, gossip_time now)
{
	gossip_time lo = (gossip_time)g->prof.join_backoff_min_ms * GOSSIP_MSEC,
	            hi = (gossip_time)g->prof.join_backoff_max_ms * GOSSIP_MSEC;

	for (size_t i = 0; i < g->nseeds; i++) {
		struct seed *s = &g->seeds[i];

		if (now < s->next)
			continue;
		/* A seed that answered is tried again only if it is still not in the view
		 * after the longest wait and sent nothing more meanwhile. */
		if (seed_alive(g, &s->ep) || s->answered) {
			s->answered = false;
			s->backoff = lo;
			s->next = now + jitter(g, hi, 0.1);
			continue;
		}
		join_seed(g, s);
		s->next = now + jitter(g, s->backoff, 0.25);
		s->backoff = s->backoff * 2 > hi ? hi : s->backoff * 2;
	}
}

static bool
reconnectable(const struct member *m)
{
	return m->state == GOSSIP_DEAD && m->desc != NULL;
}

/* Members held dead are tried now and then: with seeds on one side only, this is what
 * lets both halves of a healed partition find each other, and it is how a site held dead
 * here alone, which nobody else tells, hears of it. One of them, each as likely as any
 * other: a few dead among thousands of members are tried every time, not when a random
 * pick of all happens on one. */
static void
reconnect_tick(struct gossip *g)
{
	uint32_t ndead = 0, pick;

	for (size_t i = 0; i < g->nmembers; i++)
		ndead += reconnectable(&g->members[i]);
	if (ndead == 0)
		return;
	pick = rng_below(g, ndead);
	for (uint32_t i = 0; i < g->nmembers; i++) {
		if (!reconnectable(&g->members[i]) || pick-- > 0)
			continue;
		g->ctr.joins++;
		send_digest(g, i, member_addr(g, i), true);
		return;
	}
}

static void
gossip_round(struct gossip *g)
{
	uint32_t to[16];
	size_t n;

	if (g->nbq == 0)
		return;
	n = pick_live(g, SELF_ID, to, g->prof.gossip_fanout);
	for (size_t i = 0; i < n; i++) {
		struct pkt p;

		pkt_init(&p, to[i], member_addr(g, to[i]));
		pkt_send(g, &p, true);
	}
}

/* A suspicion about to run out: the suspect's refutation may have been lost on its way
 * here while every other site has it. Its descriptor is asked of a few members a round trip
 * before the deadline (any of them answers with the refuted version), so that a lost
 * refutation costs a round trip, not a false death. When the pull is due. */
static gossip_time
pull_at(const struct gossip *g, const struct suspicion *s)
{
	return s->deadline - (gossip_time)g->prof.probe_timeout_ms * GOSSIP_MSEC;
}

static void
pull_suspect(struct gossip *g, gossip_time now, uint32_t idx)
{
	struct suspicion *s = g->members[idx].susp;
	char name[1][WIRE_NAME_MAX + 1];
	uint32_t to[PULL_FANOUT];
	size_t n = pick_live(g, idx, to, PULL_FANOUT);

	s->pulled = true;
	strcpy(name[0], tentry(g, idx)->name);
	for (size_t i = 0; i < n; i++)
		desc_ask(g, to[i], member_addr(g, to[i]), name, 1);
	/* A deadline moved closer by a confirmation still leaves the answers a round trip. */
	if (n > 0 && s->deadline < now + (gossip_time)g->prof.probe_timeout_ms * GOSSIP_MSEC)
		s->deadline = now + (gossip_time)g->prof.probe_timeout_ms * GOSSIP_MSEC;
}

static void
suspects_tick(struct gossip *g, gossip_time now)
{
	for (size_t i = g->nsuspects; i-- > 0;) {
		uint32_t idx;
		struct suspicion *s;

		if (i >= g->nsuspects)
			continue;
		idx = g->suspects[i];
		s = g->members[idx].susp;
		if (!s->pulled && now >= pull_at(g, s))
			pull_suspect(g, now, idx);
		if (now < s->deadline)
			continue;
		if (stalled(g, now, s->deadline, &s->extended)) {
			s->deadline = now + scaled(g, g->prof.probe_timeout_ms);
			continue;
		}
		/* Others' word is not enough: a suspect this site heard from is up, and its
		 * refutation is on the way; one it has not probed yet gets a probe first. */
		if (s->heard) {
			s->heard = s->probed = s->pulled = false;
			s->checks = 0;
			s->deadline = now + suspicion_min(g);
			urgent_add(g, idx, false);
			continue;
		}
		if (!s->probed && s->checks < 2) {
			s->checks++;
			/* Not scaled by local health: accusations (refuted) raise it, and what
			 * they raise must not stretch how long a crash goes undeclared. */
			s->deadline =
			        now + 2 * (gossip_time)g->prof.probe_interval_ms * GOSSIP_MSEC;
			urgent_add(g, idx, true);
			continue;
		}
		declare_dead(g, now, idx);
	}
}

/* ---- entry points ---- */

void
gossip_tick(struct gossip *g, gossip_time now)
{
	g->clock = now;
	if (!g->started)
		return;
	forward_tick(g, now);
	if (expiry_tick(g, now))
		next_cred_asks(g, now);
	probe_tick(g, now);
	suspects_tick(g, now);
	if (now >= g->next_gossip) {
		gossip_round(g);
		g->next_gossip = now + (gossip_time)g->prof.gossip_interval_ms * GOSSIP_MSEC;
	}
	if (g->self_state != GOSSIP_ALIVE)
		return;
	if (now >= g->next_sync) {
		uint32_t to[16];
		size_t n = pick_live(g, SELF_ID, to, g->sync_wide ? g->prof.gossip_fanout : 1);

		for (size_t i = 0; i < n; i++) {
			g->ctr.syncs++;
			send_digest(g, to[i], member_addr(g, to[i]), false);
		}
		g->sync_wide = false;
		g->next_sync =
		        now + jitter(g, (gossip_time)g->prof.sync_interval_ms * GOSSIP_MSEC, 0.2);
	}
	follow_tick(g, now);
	if (now >= g->next_reconnect) {
		reconnect_tick(g);
		g->next_reconnect =
		        now +
		        jitter(g, (gossip_time)g->prof.reconnect_interval_ms * GOSSIP_MSEC, 0.2);
	}
	seeds_tick(g, now);
	if (g->observed_dirty && now >= g->next_observed_publish)
		observed_publish(g, now);
}

gossip_time
gossip_next_deadline(const struct gossip *g)
{
	/* A site that left starts no probe: its next probe time stays where it was, in the
	 * past, and a caller's timer would fire at once over and over until it exits. */
	gossip_time t = g->self_state == GOSSIP_ALIVE ? g->next_probe : INT64_MAX;

#define EARLIER(x)                                                                                 \
	do {                                                                                       \
		if ((x) < t)                                                                       \
			t = (x);                                                                   \
	} while (0)
	if (g->probe.active)
		EARLIER(g->probe.indirect_sent ? g->probe.end_at : g->probe.timeout_at);
	if (g->nbq > 0)
		EARLIER(g->next_gossip);
	if (g->self_state == GOSSIP_ALIVE) {
		EARLIER(g->next_sync);
		EARLIER(g->next_reconnect);
		if (g->follow.armed)
			EARLIER(g->follow.at);
		for (size_t i = 0; i < g->nseeds; i++)
			EARLIER(g->seeds[i].next);
		if (g->observed_dirty)
			EARLIER(g->next_observed_publish);
	}
	for (size_t i = 0; i < g->nsuspects; i++) {
		const struct suspicion *s = g->members[g->suspects[i]].susp;

		EARLIER(s->pulled ? s->deadline : pull_at(g, s));
	}
	for (size_t i = 0; i < MAX_FORWARDS; i++)
		if (g->fw[i].used)
			EARLIER(g->fw[i].nack_at);
	if (g->federated && gossip_trust_count(g->admitted_trust) > 0)
		EARLIER(g->next_expiry_check);
#undef EARLIER
	return t;
}

static void
dispatch(struct gossip *g, gossip_time now, uint32_t from, const struct addr_endpoint *addr,
         const struct wire_msg *m)
{
	int64_t target;

	switch (m->type) {
	case WIRE_PING:
		on_ping(g, from, addr, m);
		break;
	case WIRE_PING_REQ:
		on_ping_req(g, now, from, addr, m);
		break;
	case WIRE_ACK:
		on_ack(g, from, m->seq);
		break;
	case WIRE_NACK:
		on_nack(g, from, m->seq);
		break;
	case WIRE_PING_FOR:
		on_ping_for(g, from, addr, m);
		break;
	case WIRE_ACK_FOR:
		on_ack_for(g, from, m);
		break;
	case WIRE_ALIVE:
		on_alive(g, now, from, addr, &m->desc);
		break;
	case WIRE_SUSPECT:
	case WIRE_DEAD:
		on_accusation(g, now, from, addr, m);
		break;
	case WIRE_LEFT:
		target = lookup(g, m->target);
		if (target == SELF_ID) {
			/* Our own signed leave from an earlier run: outgrow it. Only one we
			 * signed: anyone else's word would push our incarnation to the top. */
			if (m->incarnation >= g->self_inc && own_leave_signed(g, m))
				refute(g, m->incarnation);
		} else if (target >= 0) {
			on_left(g, now, (uint32_t)target, m);
		}
		break;
	case WIRE_DIGEST:
		on_digest(g, from, addr, m);
		break;
	case WIRE_ENTRIES:
		on_entries(g, from, addr, m);
		break;
	case WIRE_DESC_REQ:
		on_desc_req(g, from, addr, m);
		break;
	case WIRE_OBSERVED:
		on_observed(g, now, from, m);
		break;
	case WIRE_CHALLENGE:
	case WIRE_RESPONSE:
		break; /* taken before any dispatch: fresh_walk */
	case WIRE_CRED:
		on_cred(g, now, m);
		break;
	case WIRE_CRED_REQ:
		on_cred_req(g, from, addr, m);
		break;
	case WIRE_REVOKE:
		if (revocation_take(g, now, m->blob, m->blob_len, NULL, 0) < 0)
			g->ctr.drop_refused++;
		break;
	case WIRE_FED_SUM:
		on_fed_sum(g, from, addr, m);
		break;
	case WIRE_AUTHORITIES:
		if (authorities_take(g, now, m->blob, m->blob_len, NULL, 0) < 0)
			g->ctr.drop_refused++;
		break;
	case WIRE_REVOKE_IDS:
		on_revoke_ids(g, from, addr, m);
		break;
	}
}

/* ---- freshness ---- */

static struct unconfirmed *
unconfirmed_get(struct gossip *g, uint32_t id)
{
	if (g->unconfirmed[id] == NULL)
		g->unconfirmed[id] = calloc(1, sizeof(*g->unconfirmed[id]));
	return g->unconfirmed[id];
}

static void
send_challenge(struct gossip *g, gossip_time now, uint32_t id, struct unconfirmed *h)
{
	uint8_t nonce[WIRE_NONCE_LEN];

	if (seal_challenge(g->seal, id, tentry(g, id)->key, nonce) != 0)
		return;
	send_fresh(g, id, &h->from);
	h->challenged = true;
	h->challenged_at = now;
	g->ctr.challenges++;
}

/* Bytes of a datagram this site seals around a payload of plen bytes. */
static size_t
sealed_len(const struct gossip *g, size_t plen)
{
	return 1 + 1 + strlen(g->name) + 8 + 4 + plen + SEAL_TAG_LEN;
}

/* Answers a challenge that came from a session not confirmed, in a datagram of its own: such
 * a datagram may be a recording, replayed from any source address as often as one likes, so
 * the answer is never larger than the datagram that asked. Our own challenge rides along
 * where it fits (two sites that both restarted are then confirmed both ways after one and a
 * half round trips); else it goes alone, within its own budget (refuse_unconfirmed). A
 * response larger by itself (this site's name is the longer) goes at most every
 * CHALLENGE_GAP per sender. */
static void
answer_unconfirmed(struct gossip *g, gossip_time now, uint32_t id, const struct addr_endpoint *from,
                   size_t asked_len)
{
	struct unconfirmed *h = unconfirmed_get(g, id);
	size_t alone = sealed_len(g, 1 + CHALLENGE_LEN);
	uint8_t mine[WIRE_NONCE_LEN];
	struct pkt p;

	g->answer.owed = false;
	if (h == NULL)
		return;
	if (alone > asked_len) {
		if (h->answered && now - h->answered_at < CHALLENGE_GAP) {
			g->ctr.drop_rate++;
			return;
		}
		h->answered = true;
		h->answered_at = now;
	}
	pkt_init(&p, id, from);
	pkt_put_nonce(&p, WIRE_RESPONSE, g->answer.nonce);
	if (alone + CHALLENGE_LEN <= asked_len &&
	    seal_challenge(g->seal, id, tentry(g, id)->key, mine) == 0) {
		pkt_put_nonce(&p, WIRE_CHALLENGE, mine);
		h->challenged = true;
		h->challenged_at = now;
	}
	pkt_emit(g, &p);
}

/* What a valid payload says about freshness. */
struct fresh_info {
	bool confirmed; /* a response in it confirmed its session */
	bool has_chal;  /* it asks for a response to chal (the last challenge in it) */
	bool other;     /* it holds more than challenges and responses */
	uint8_t chal[WIRE_NONCE_LEN];
};

static void
fresh_walk(struct gossip *g, uint32_t id, const struct seal_opened *op, const uint8_t *plain,
           size_t plen, struct fresh_info *fi)
{
	struct wire_reader r;

	memset(fi, 0, sizeof(*fi));
	wire_reader_init(&r, plain, plen);
	while (wire_next(&r, &g->msg) == 1) {
		if (g->msg.type == WIRE_RESPONSE) {
			if (seal_confirm(g->seal, id, op, g->msg.nonce))
				fi->confirmed = true;
		} else if (g->msg.type == WIRE_CHALLENGE) {
			memcpy(fi->chal, g->msg.nonce, WIRE_NONCE_LEN);
			fi->has_chal = true;
		} else {
			fi->other = true;
		}
	}
}

/* An authentic datagram from a session not confirmed: it may be a recording, so it is not
 * acted on, and the sender is asked to prove the session is live. A live sender sends what
 * it sent lately again with its response (resend_recent): nothing sealed before the proof
 * is ever taken. */
static void
refuse_unconfirmed(struct gossip *g, gossip_time now, uint32_t id, const struct addr_endpoint *from,
                   bool other)
{
	struct unconfirmed *h = unconfirmed_get(g, id);

	if (other)
		g->ctr.drop_stale++;
	if (h == NULL)
		return;
	h->from = *from;
	if (!h->challenged || now - h->challenged_at >= CHALLENGE_GAP)
		send_challenge(g, now, id, h);
}

static void
dispatch_payload(struct gossip *g, gossip_time now, uint32_t id, const struct addr_endpoint *from,
                 const uint8_t *plain, size_t plen)
{
	struct wire_reader r;

	wire_reader_init(&r, plain, plen);
	while (wire_next(&r, &g->msg) == 1)
		dispatch(g, now, id, from, &g->msg);
}

/* An authentic, well-formed payload from trusted site id. */
static void
take_sealed(struct gossip *g, gossip_time now, uint32_t id, const struct addr_endpoint *from,
            const struct seal_opened *op, const uint8_t *plain, size_t plen, struct fresh_info *fi)
{
	struct seed *seed;
	struct member *sm;

	if (!op->fresh && !fi->confirmed) {
		refuse_unconfirmed(g, now, id, from, fi->other);
		return;
	}
	if (fi->confirmed) {
		free(g->unconfirmed[id]);
		g->unconfirmed[id] = NULL;
	}
	dispatch_payload(g, now, id, from, plain, plen);
	heard_from(g, id);
	member_seen(g, now, id, from);
	/* A datagram that only proves freshness says nothing about the sender's membership,
	 * unless it just proved the sender's session live: what that session said before was
	 * not taken here, so a site we know nothing of (or hold dead) is answered now as if it
	 * had said it again. */
	if (!fi->other && !fi->confirmed)
		return;

	sm = &g->members[id];
	seed = seed_at(g, from);
	if (sm->state == GOSSIP_NONE && seed != NULL && seed->joined) {
		/* A seed we joined, whose descriptor has not come yet: what it sends answers
		 * our join, and a join again would bring its whole view once more. */
	} else if (sm->state == GOSSIP_NONE && may_answer(g, now, id)) {
		/* A trusted site we know nothing of talks to us: it is joining through us, or
		 * it is a seed answering our hello, and this is our join. */
		send_digest(g, id, from, true);
		if (seed != NULL)
			seed->joined = true;
	} else if ((sm->state == GOSSIP_DEAD || sm->state == GOSSIP_LEFT) &&
	           may_answer(g, now, id)) {
		/* Tell the dead: only it can refute, and it cannot while it does not know. */
		const struct wire_msg *acc = own_accusation(g, id, WIRE_DEAD);
		struct pkt p;

		if (acc != NULL) {
			pkt_init(&p, id, from);
			pkt_put(g, &p, acc);
			pkt_send(g, &p, false);
		}
	}
}

/* Whether a datagram that did not open under member id's key opens under the key it announced
 * next: the site switched, and is taken under its new key from now on. */
static bool
next_key_opens(struct gossip *g, gossip_time now, uint32_t id, const uint8_t *buf, size_t len)
{
	const struct admitted *a = admitted_of(g, id);
	uint8_t plain[WIRE_DATAGRAM_MAX];
	struct seal_opened op;
	size_t plen;

	if (a == NULL || a->next == NULL ||
	    seal_unwrap(g->seal, id | NEXT_KEY_ID, a->next_key, buf, len, plain, sizeof(plain),
	                &plen, &op) != 0)
		return false;
	admitted_promote(g, now, id);
	return true;
}

/* The member index of name, a site taken out, when its datagrams are opened: it may come back
 * with a credential it carries (a renewal, or its serial signed anew). -1 after counting the
 * drop for one whose key a revocation covers: nothing it says can bring it back. */
static int64_t
out_sender(struct gossip *g, const char *name)
{
	int i = gossip_trust_find(g->admitted_trust, name);

	if (revoked(g, name, g->admitted_trust->e[i].key, UINT64_MAX)) {
		g->ctr.drop_revoked++;
		return -1;
	}
	return (int64_t)(g->nstatic + (size_t)i);
}

/* idx, a site taken out, sent plain (authenticated with the key it was admitted under): the
 * credentials in it are taken, and true when one brought it back, for the rest to be taken as
 * any member's. Else the datagram is dropped and the site is asked for its credential, as its
 * operator may have installed a renewal it does not know it must present. */
static bool
out_returns(struct gossip *g, gossip_time now, uint32_t idx, const struct addr_endpoint *from,
            const uint8_t *plain, size_t plen)
{
	char want[1][WIRE_NAME_MAX + 1];
	struct wire_reader r;

	if (wire_reader_init(&r, plain, plen) != 0)
		return false;
	while (wire_next(&r, &g->msg) == 1)
		if (g->msg.type == WIRE_CRED)
			on_cred(g, now, &g->msg);
	if (admitted_of(g, idx)->out == 0)
		return true;
	g->ctr.drop_revoked++;
	strcpy(want[0], tentry(g, idx)->name);
	/* Due first (each name at most every WANT_GAP), so that a site taken out that keeps
	 * talking spends the budget of asks 3 times a second at most. Remembered here: the ask
	 * itself must not check again. */
	if (want_now(g, now, want[0]) && bucket_take(&g->ask_budget, now, ASK_RATE, ASK_BURST))
		cred_ask(g, now, idx, from, want, 1, true);
	return false;
}

/* A sealed datagram from a name this site does not know: a site admitted by credential that
 * learnt of this one first. One member is asked for its credential, within a budget, since
 * the name is anyone's to claim. */
static void
cred_ask_any(struct gossip *g, gossip_time now, const char *name)
{
	char want[1][WIRE_NAME_MAX + 1];
	uint32_t to;

	if (!g->federated || held_elsewhere(g, name) ||
	    !bucket_take(&g->ask_budget, now, ASK_RATE, ASK_BURST) ||
	    pick_live(g, UINT32_MAX, &to, 1) != 1)
		return;
	strcpy(want[0], name);
	cred_ask(g, now, to, member_addr(g, to), want, 1, true);
}

void
gossip_receive(struct gossip *g, gossip_time now, const struct addr_endpoint *from,
               const uint8_t *buf, size_t len)
{
	uint8_t plain[WIRE_DATAGRAM_MAX];
	char name[WIRE_NAME_MAX + 1];
	struct seal_opened op;
	struct fresh_info fi;
	struct wire_reader r;
	size_t plen;
	int64_t id;
	bool out;
	int rc;

	g->clock = now;
	g->ctr.rx_datagrams++;
	g->ctr.rx_bytes += len;
	if (!g->started)
		return;
	if (len > 0 && buf[0] == WIRE_HELLO_KIND) {
		on_hello(g, now, from, buf, len);
		return;
	}
	if (len > 0 && buf[0] == WIRE_COOKIE_KIND) {
		on_cookie(g, buf, len);
		return;
	}
	if (len > 0 && (buf[0] == WIRE_PRESENT_KIND || buf[0] == WIRE_PRESENTED_KIND)) {
		on_clear(g, now, from, buf, len);
		return;
	}
	if (seal_sender(buf, len, name) != 0) {
		g->ctr.drop_malformed++;
		return;
	}
	id = lookup(g, name);
	out = id == LOOKUP_OUT;
	if (out)
		id = out_sender(g, name);
	else if (id < 0 || id == SELF_ID)
		id = lookup_sender(g, name);
	if (id < 0) {
		if (g->federated && lookup(g, name) == -1)
			cred_ask_any(g, now, name);
		return;
	}
	rc = open_sealed(g, (uint32_t)id, buf, len, plain, sizeof(plain), &plen, &op);
	if ((rc == SEAL_ERR_FORGED || rc == SEAL_ERR_KEY) &&
	    next_key_opens(g, now, (uint32_t)id, buf, len))
		rc = open_sealed(g, (uint32_t)id, buf, len, plain, sizeof(plain), &plen, &op);
	if (rc == SEAL_ERR_REPLAYED)
		g->ctr.drop_replayed++;
	else if (rc == SEAL_ERR_FORGED || rc == SEAL_ERR_KEY)
		g->ctr.drop_forged++;
	else if (rc != 0)
		g->ctr.drop_malformed++;
	if (rc != 0)
		return;
	/* All or nothing: a payload that is malformed anywhere changes no state. */
	if (wire_reader_init(&r, plain, plen) != 0) {
		g->ctr.drop_malformed++;
		return;
	}
	while ((rc = wire_next(&r, &g->msg)) == 1)
		;
	if (rc < 0) {
		g->ctr.drop_malformed++;
		return;
	}
	/* A site taken out gets its freshness challenges answered, and nothing else taken, so that
	 * it takes the ask for its credential that may bring it back. */
	if (out)
		out = !out_returns(g, now, (uint32_t)id, from, plain, plen);
	fresh_walk(g, (uint32_t)id, &op, plain, plen, &fi);
	if (fi.has_chal) {
		/* Answered from this session whatever session asked, since a peer that restarted
		 * too cannot be confirmed before it confirms this site. One from a session not
		 * confirmed is answered at once and apart (answer_unconfirmed). */
		g->answer.owed = true;
		g->answer.to = (uint32_t)id;
		memcpy(g->answer.nonce, fi.chal, WIRE_NONCE_LEN);
		if (!op.fresh && !fi.confirmed)
			answer_unconfirmed(g, now, (uint32_t)id, from, len);
	}
	if (!out)
		take_sealed(g, now, (uint32_t)id, from, &op, plain, plen, &fi);
	if (fi.has_chal)
		resend_recent(g, (uint32_t)id, from);
	if (g->answer.owed)
		send_fresh(g, (uint32_t)id, from);
	g->answer.owed = false;
}

/* The federation part of gossip_new: the authority set and this site's own credential,
 * which must be this site's. NULL, or what is wrong. */
static const char *
federation_init(struct gossip *g, const struct gossip_config *cfg)
{
	struct cred c;

	g->federated = true;
	g->unix_now = cfg->unix_now;
	g->authorities = *cfg->authorities;
	g->pin_authorities = cfg->pin_authorities;
	g->admitted_trust = gossip_trust_new();
	if (g->admitted_trust == NULL)
		return "out of memory";
	if (cfg->credential == NULL)
		return NULL;
	g->self_cred = gossip_cred_new(cfg->credential, cfg->credential_len, &c);
	if (g->self_cred == NULL)
		return "own credential does not decode";
	if (strcmp(c.site, g->name) != 0 ||
	    memcmp(c.wg_key, seal_public_key(g->seal), WIRE_KEY_LEN) != 0 ||
	    strcmp(c.federation, g->authorities.federation) != 0)
		return "own credential is not this site's (name, key or federation)";
	if (cfg->next_credential == NULL)
		return NULL;
	g->self_next = gossip_cred_new(cfg->next_credential, cfg->next_credential_len, &c);
	if (g->self_next == NULL)
		return "next credential does not decode";
	if (strcmp(c.site, g->name) != 0 || strcmp(c.federation, g->authorities.federation) != 0 ||
	    c.serial <= gossip_cred_serial(g->self_cred) ||
	    memcmp(c.wg_key, seal_public_key(g->seal), WIRE_KEY_LEN) == 0)
		return "next credential is not this site's next one (name, federation, a higher "
		       "serial and another key)";
	return NULL;
}

struct gossip *
gossip_new(const struct gossip_config *cfg, char *err, size_t errlen)
{
	struct gossip *g = NULL;
	const char *why = NULL;
	uint64_t x;

	if (cfg->name == NULL || !wire_name_valid(cfg->name))
		why = "site name must be 1..32 characters of a-z, 0-9 and '-'";
	else if (cfg->private_key == NULL || cfg->desc == NULL || cfg->trust == NULL)
		why = "private key, descriptor and trust table are required";
	else if (gossip_profile_check(&cfg->profile, err, errlen) != 0)
		return NULL;
	else if (cfg->nseeds > 0 && cfg->seeds == NULL)
		why = "seed list missing";
	else if (cfg->authorities != NULL && cfg->unix_now == NULL)
		why = "a federation needs the time of day";
	if (why != NULL)
		goto fail;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		goto nomem;
	strcpy(g->name, cfg->name);
	g->prof = cfg->profile;
	g->trust = cfg->trust;
	g->cb = cfg->cb;
	g->self_index = gossip_trust_find(cfg->trust, cfg->name);
	g->seal = seal_new(cfg->name, cfg->private_key, cfg->session);
	if (g->seal == NULL) {
		why = cfg->session == 0 ? "session id must not be 0" : "private key unusable";
		goto fail;
	}
	seal_set_dh(g->seal, cfg->dh, cfg->dh_arg);
	cookie_key(g, cfg->private_key, cfg->rng_seed);
	g->session_known = cfg->session_known;
	g->view_holds = cfg->view_holds;
	g->view_arg = cfg->view_arg;
	g->session_arg = cfg->session_arg;
	x = cfg->rng_seed;
	for (int i = 0; i < 4; i++) {
		x += 0x9e3779b97f4a7c15ull;
		g->rng[i] = mix64(x);
	}
	g->seq = (uint32_t)rng_next(g);
	g->nstatic = g->nmembers = gossip_trust_count(cfg->trust);
	g->members_cap = g->unconfirmed_cap = g->nmembers ? g->nmembers : 1;
	g->members = calloc(g->members_cap, sizeof(*g->members));
	g->unconfirmed = calloc(g->unconfirmed_cap, sizeof(*g->unconfirmed));
	if (g->members == NULL || g->unconfirmed == NULL)
		goto nomem;
	if (cfg->authorities != NULL && (why = federation_init(g, cfg)) != NULL)
		goto fail;
	if (cfg->nseeds > 0) {
		g->seeds = calloc(cfg->nseeds, sizeof(*g->seeds));
		if (g->seeds == NULL)
			goto nomem;
		for (size_t i = 0; i < cfg->nseeds; i++) {
			g->seeds[i].ep = cfg->seeds[i];
			g->seeds[i].backoff =
			        (gossip_time)g->prof.join_backoff_min_ms * GOSSIP_MSEC;
		}
		g->nseeds = cfg->nseeds;
	}
	g->self_state = GOSSIP_ALIVE;
	g->base = *cfg->desc;
	if (self_publish(g, cfg->desc, cfg->incarnation) != 0) {
		why = "own descriptor cannot be encoded (a field out of bounds)";
		goto fail;
	}
	g->bucket_sum[self_hash(g) & (WIRE_MAX_BUCKETS - 1)] +=
	        entry_hash(self_hash(g), g->self_inc, g->self_state);
	g->urgent_turn = true;
	return g;
nomem:
	why = "out of memory";
fail:
	if (why != NULL && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	gossip_free(g);
	return NULL;
}

void
gossip_free(struct gossip *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; g->admitted_trust != NULL && i < gossip_trust_count(g->admitted_trust);
	     i++) {
		gossip_cred_unref(g->admitted[i].cred);
		gossip_cred_unref(g->admitted[i].next);
		free(g->admitted[i].next_key);
	}
	gossip_trust_free(g->admitted_trust);
	free(g->admitted);
	for (size_t i = 0; i < g->nrevs; i++)
		free(g->revs[i]);
	free(g->revs);
	gossip_cred_unref(g->self_cred);
	gossip_cred_unref(g->self_next);
	for (size_t i = 0; g->members != NULL && i < g->nmembers; i++) {
		gossip_desc_unref(g->members[i].desc);
		free(g->members[i].susp);
	}
	for (size_t i = 0; i < g->nrefusals; i++)
		refusal_free(g->refusals[i]);
	free(g->refusals);
	free(g->leaves);
	for (size_t i = 0; g->unconfirmed != NULL && i < g->nmembers; i++)
		free(g->unconfirmed[i]);
	free(g->unconfirmed);
	for (size_t i = 0; i < RESEND_RING; i++)
		free(g->sent[i].buf);
	for (size_t i = 0; i < g->nbq; i++)
		bcast_free(&g->bq[i]);
	free(g->bq);
	free(g->bq_sent);
	free(g->members);
	free(g->order);
	free(g->suspects);
	free(g->seeds);
	seal_free(g->seal);
	free(g);
}

void
gossip_start(struct gossip *g, gossip_time now)
{
	g->clock = now;
	g->started = true;
	g->next_probe = now + rng_below(g, g->prof.probe_interval_ms) * GOSSIP_MSEC;
	g->next_gossip = now + rng_below(g, g->prof.gossip_interval_ms) * GOSSIP_MSEC;
	g->next_sync = now + jitter(g, (gossip_time)g->prof.sync_interval_ms * GOSSIP_MSEC, 0.5);
	/* Members handed in before the start (a restart's remembered view, or a reload that
	 * changed the trust table) may have moved on meanwhile, and what this site refused under
	 * its old trust is news now: exchanges with a fanout of them soon, not with one a whole
	 * sync interval later. */
	for (size_t i = 0; i < g->nmembers; i++) {
		if (live(g->members[i].state)) {
			g->next_sync = now + rng_below(g, g->prof.gossip_interval_ms) * GOSSIP_MSEC;
			g->sync_wide = true;
			break;
		}
	}
	g->next_reconnect =
	        now + jitter(g, (gossip_time)g->prof.reconnect_interval_ms * GOSSIP_MSEC, 0.5);
	g->cookie_budget = (struct bucket){now, COOKIE_BURST};
	g->hello_budget = (struct bucket){now, HELLO_BURST};
	g->ask_budget = (struct bucket){now, ASK_BURST};
	g->next_expiry_check = now;
	for (size_t i = 0; i < g->nseeds; i++)
		g->seeds[i].next = now;
}

uint32_t
gossip_next_incarnation(uint32_t inc)
{
	return inc == UINT32_MAX ? inc : inc + 1;
}

int
gossip_update(struct gossip *g, gossip_time now, const struct wire_desc *desc)
{
	g->clock = now;
	struct wire_desc d;

	if (g->self_state != GOSSIP_ALIVE || g->self_inc == UINT32_MAX)
		return -1;
	g->base = *desc;
	self_compose(g, now, &d);
	return self_publish(g, &d, gossip_next_incarnation(g->self_inc));
}

void
gossip_leave(struct gossip *g, gossip_time now)
{
	struct wire_msg *m = &g->out;
	uint8_t buf[WIRE_DATAGRAM_MAX];
	int len;

	g->clock = now;
	if (g->self_state != GOSSIP_ALIVE)
		return;
	/* At the top incarnation the leave shares it with the last alive; left still wins. */
	self_entry_update(g, gossip_next_incarnation(g->self_inc), GOSSIP_LEFT);
	msg_clear(m, WIRE_LEFT);
	strcpy(m->target, g->name);
	m->incarnation = g->self_inc;
	len = wire_left_signed_bytes(g->name, g->self_inc, buf, sizeof(buf));
	if (len < 0 || seal_sign(g->seal, buf, (size_t)len, m->sig) != 0)
		return;
	broadcast(g, SELF_ID, m);
	g->probe.active = false;
	gossip_round(g);
}

int
gossip_add_member(struct gossip *g, gossip_time now, struct gossip_desc *gd)
{
	int64_t id = lookup(g, gd->d.name);
	struct member *m;

	if (!gd->verified || id < 0 || id == SELF_ID ||
	    memcmp(tentry(g, (uint32_t)id)->key, gd->d.wg_key, WIRE_KEY_LEN) != 0)
		return -1;
	m = &g->members[id];
	if (m->state != GOSSIP_NONE && gd->d.incarnation <= m->incarnation)
		return 0;
	/* Not news to anyone, so nothing is queued for dissemination. */
	return member_take(g, now, (uint32_t)id, gd, false);
}

struct gossip_desc *
gossip_member_desc(const struct gossip *g, size_t index)
{
	return index < g->nmembers ? g->members[index].desc : NULL;
}

struct gossip_cred *
gossip_member_cred(const struct gossip *g, size_t index)
{
	const struct admitted *a = index < g->nmembers ? admitted_of(g, (uint32_t)index) : NULL;

	return a != NULL ? a->cred : NULL;
}

int
gossip_member(const struct gossip *g, size_t index, struct gossip_member_info *out)
{
	const struct admitted *a;
	const struct member *m;
	const struct refusal *r;

	if (index >= g->nmembers || g->members[index].state == GOSSIP_NONE)
		return -1;
	m = &g->members[index];
	out->name = tentry(g, (uint32_t)index)->name;
	out->state = m->state;
	out->incarnation = m->incarnation;
	out->desc = m->desc != NULL ? &m->desc->d : NULL;
	r = refusal_of(g, (uint32_t)index);
	out->granted = member_granted(g, (uint32_t)index);
	out->refusal = r != NULL ? r->reason : GOSSIP_REFUSAL_NONE;
	out->why = r != NULL ? r->why : "";
	out->changed_at = m->changed_at;
	out->suspect_until = m->susp != NULL ? m->susp->deadline : 0;
	a = admitted_of(g, (uint32_t)index);
	out->cred = a != NULL ? a->cred : NULL;
	out->key = tentry(g, (uint32_t)index)->key;
	out->next_key = a != NULL && a->next != NULL ? a->next_key : NULL;
	out->seen = m->has_seen ? &m->seen : NULL;
	out->direct_ok_at = m->direct_ok_at;
	out->direct_fail_at = m->direct_fail_at;
	return 0;
}

void
gossip_probe_soon(struct gossip *g, const char *name)
{
	int64_t id = lookup(g, name);

	if (id < 0 || id == SELF_ID || !live(g->members[id].state))
		return;
	g->members[id].check_path = true;
	urgent_add(g, (uint32_t)id, false);
}

void
gossip_member_wg_seen(struct gossip *g, gossip_time now, const char *name,
                      const struct addr_endpoint *ep)
{
	int64_t id = lookup(g, name);
	struct member *m;

	if (id < 0 || id == SELF_ID || !live(g->members[id].state))
		return;
	m = &g->members[id];
	if (m->has_wg_seen && addr_endpoint_equal(&m->wg_seen, ep))
		return;
	g->clock = now;
	m->wg_seen = *ep;
	m->has_wg_seen = true;
	m->told_stale = true;
	observed_tell(g, now, (uint32_t)id, member_addr(g, (uint32_t)id));
}

size_t
gossip_member_count(const struct gossip *g)
{
	return g->nmembers;
}

int
gossip_member_find(const struct gossip *g, const char *name)
{
	int64_t id = lookup(g, name);

	return id < 0 || id == SELF_ID ? -1 : (int)id;
}

int
gossip_admit(struct gossip *g, gossip_time now, struct gossip_cred *gc, char *err, size_t errlen)
{
	struct cred c;
	char why[128];

	g->clock = now;
	if (gossip_cred_decode(gc, &c, why, sizeof(why)) != 0) {
		say(err, errlen, why);
		return -1;
	}
	return cred_take(g, now, gc, &c, err, errlen) < 0 ? -1 : 0;
}

int
gossip_add_credential(struct gossip *g, gossip_time now, const uint8_t *bytes, size_t len,
                      char *err, size_t errlen)
{
	struct gossip_cred *gc = gossip_cred_new(bytes, len, NULL);
	int rc;

	if (gc == NULL) {
		say(err, errlen, "not a site credential");
		return -1;
	}
	rc = gossip_admit(g, now, gc, err, errlen);
	gossip_cred_unref(gc);
	return rc;
}

int
gossip_add_revocation(struct gossip *g, gossip_time now, const uint8_t *bytes, size_t len,
                      char *err, size_t errlen)
{
	g->clock = now;
	return revocation_take(g, now, bytes, len, err, errlen) < 0 ? -1 : 0;
}

int
gossip_add_authorities(struct gossip *g, gossip_time now, const uint8_t *bytes, size_t len,
                       char *err, size_t errlen)
{
	g->clock = now;
	return authorities_take(g, now, bytes, len, err, errlen) < 0 ? -1 : 0;
}

const struct cred_authorities *
gossip_authorities(const struct gossip *g)
{
	return g->federated ? &g->authorities : NULL;
}

const uint8_t *
gossip_authorities_update(const struct gossip *g, size_t *len)
{
	*len = g->auth_len;
	return g->auth_len > 0 ? g->auth_bytes : NULL;
}

size_t
gossip_revocation_count(const struct gossip *g)
{
	return g->nrevs;
}

const uint8_t *
gossip_revocation(const struct gossip *g, size_t i, size_t *len)
{
	*len = g->revs[i]->len;
	return g->revs[i]->bytes;
}

size_t
gossip_alive_count(const struct gossip *g)
{
	return cluster_size(g);
}

const struct gossip_counters *
gossip_counters(const struct gossip *g)
{
	return &g->ctr;
}

const struct wire_desc *
gossip_self(const struct gossip *g)
{
	return &g->self_d;
}

unsigned
gossip_awareness(const struct gossip *g)
{
	return g->awareness;
}

size_t
gossip_pending_broadcasts(const struct gossip *g)
{
	return g->nbq;
}
