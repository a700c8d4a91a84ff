/* Federation credentials: the three kinds of document round-trip through the encoding and
 * the armour, every bound is enforced on both sides (the decoder is checked against bytes
 * written here field by field, so the layout itself is pinned), and each verification
 * refusal comes with its reason. Keys come from fixed seeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netd/codec.h"
#include "netd/cred.h"

#define NAUTH 4
#define T0    1700000000 /* not_before of the samples */
#define T1    1800000000 /* not_after */

/* Authorities 0..NAUTH-1, their public keys in ascending order. */
static uint8_t pub[NAUTH][CRED_KEY_LEN];
static uint8_t secret[NAUTH][64];

static int
cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, CRED_KEY_LEN);
}

static int
setup_keys(void **state)
{
	uint8_t seeds[NAUTH][32];
	struct {
		uint8_t pub[CRED_KEY_LEN];
		uint8_t secret[64];
	} pairs[NAUTH];

	(void)state;
	for (size_t i = 0; i < NAUTH; i++) {
		memset(seeds[i], (int)(0xa0 + i), 32);
		assert_int_equal(cred_authority_from_seed(seeds[i], pairs[i].pub, pairs[i].secret),
		                 0);
	}
	qsort(pairs, NAUTH, sizeof(pairs[0]), cmp_key);
	for (size_t i = 0; i < NAUTH; i++) {
		memcpy(pub[i], pairs[i].pub, CRED_KEY_LEN);
		memcpy(secret[i], pairs[i].secret, 64);
	}
	return 0;
}

/* Authorities first..first+n-1 of federation "lab". */
static void
authority_set(struct cred_authorities *set, size_t first, size_t n, uint8_t threshold)
{
	memset(set, 0, sizeof(*set));
	strcpy(set->federation, "lab");
	for (size_t i = 0; i < n; i++)
		memcpy(set->keys[i], pub[first + i], CRED_KEY_LEN);
	set->nkeys = (uint8_t)n;
	set->threshold = threshold;
}

static struct addr_prefix
prefix4(uint8_t a, uint8_t b, uint8_t c, uint8_t len)
{
	struct addr_prefix p = {.addr = {.family = AF_INET, .u.bytes = {a, b, c}}, .len = len};

	return p;
}

/* The typical credential: 3 prefixes, 2 VNIs, provider, jurisdiction, 2 labels. */
static void
sample_cred(struct cred *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->federation, "lab");
	strcpy(c->site, "site-a");
	memset(c->wg_key, 0x11, CRED_KEY_LEN);
	c->serial = 42;
	c->not_before = T0;
	c->not_after = T1;
	c->prefixes[0] = prefix4(10, 1, 0, 16);
	c->prefixes[1] = prefix4(10, 2, 0, 16);
	c->prefixes[2].addr.family = AF_INET6;
	memcpy(c->prefixes[2].addr.u.bytes, (uint8_t[]){0xfd, 0, 0, 1}, 4);
	c->prefixes[2].len = 48;
	c->nprefixes = 3;
	c->vnis[0] = 100;
	c->vnis[1] = 200;
	c->nvnis = 2;
	strcpy(c->provider, "acme-cloud");
	strcpy(c->jurisdiction, "DE");
	strcpy(c->labels[0].key, "rack");
	strcpy(c->labels[0].value, "r12");
	strcpy(c->labels[1].key, "tier");
	strcpy(c->labels[1].value, "edge");
	c->nlabels = 2;
}

static void
sample_revocation(struct cred_revocation *r, uint8_t kind)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->federation, "lab");
	r->kind = kind;
	if (kind == CRED_REVOKE_SERIAL) {
		strcpy(r->site, "site-a");
		r->serial = 42;
	} else {
		memset(r->key, 0x11, CRED_KEY_LEN);
	}
	r->issued = T0 + 100;
	strcpy(r->reason, "key compromise");
}

/* ---- equality, field by field (padding is not content) ---- */

static void
assert_sigs_equal(const struct cred_sig *a, uint8_t na, const struct cred_sig *b, uint8_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_memory_equal(a[i].authority, b[i].authority, CRED_KEY_LEN);
		assert_memory_equal(a[i].sig, b[i].sig, CRED_SIG_LEN);
	}
}

static void
assert_prefixes_equal(const struct addr_prefix *a, const struct addr_prefix *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_true(addr_prefix_equal(&a[i], &b[i]));
}

static void
assert_cred_equal(const struct cred *a, const struct cred *b)
{
	assert_string_equal(a->federation, b->federation);
	assert_string_equal(a->site, b->site);
	assert_memory_equal(a->wg_key, b->wg_key, CRED_KEY_LEN);
	assert_true(a->serial == b->serial && a->not_before == b->not_before &&
	            a->not_after == b->not_after);
	assert_int_equal(a->nprefixes, b->nprefixes);
	assert_prefixes_equal(a->prefixes, b->prefixes, a->nprefixes);
	assert_int_equal(a->noverlay, b->noverlay);
	assert_prefixes_equal(a->overlay, b->overlay, a->noverlay);
	assert_int_equal(a->nvnis, b->nvnis);
	assert_memory_equal(a->vnis, b->vnis, a->nvnis * sizeof(a->vnis[0]));
	assert_string_equal(a->provider, b->provider);
	assert_string_equal(a->jurisdiction, b->jurisdiction);
	assert_int_equal(a->nlabels, b->nlabels);
	for (size_t i = 0; i < a->nlabels; i++) {
		assert_string_equal(a->labels[i].key, b->labels[i].key);
		assert_string_equal(a->labels[i].value, b->labels[i].value);
	}
	assert_sigs_equal(a->sigs, a->nsigs, b->sigs, b->nsigs);
}

static void
assert_revocation_equal(const struct cred_revocation *a, const struct cred_revocation *b)
{
	assert_string_equal(a->federation, b->federation);
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->site, b->site);
	assert_true(a->serial == b->serial && a->issued == b->issued);
	assert_memory_equal(a->key, b->key, CRED_KEY_LEN);
	assert_string_equal(a->reason, b->reason);
	assert_sigs_equal(a->sigs, a->nsigs, b->sigs, b->nsigs);
}

static void
assert_authorities_equal(const struct cred_authorities *a, const struct cred_authorities *b)
{
	assert_string_equal(a->federation, b->federation);
	assert_true(a->version == b->version);
	assert_int_equal(a->nkeys, b->nkeys);
	assert_memory_equal(a->keys, b->keys, a->nkeys * (size_t)CRED_KEY_LEN);
	assert_int_equal(a->threshold, b->threshold);
	assert_sigs_equal(a->sigs, a->nsigs, b->sigs, b->nsigs);
}

/* bin armours, and the armour dearmours to the same bytes. */
static void
assert_armor_round_trip(const uint8_t *bin, int len, const char *header)
{
	char text[CRED_ARMOR_MAX], err[128];
	uint8_t back[CRED_ENCODED_MAX];
	int tlen = cred_armor(bin, (size_t)len, text, sizeof(text));

	assert_true(tlen > 0);
	assert_int_equal(strlen(text), tlen);
	assert_non_null(strstr(text, header));
	assert_int_equal(cred_dearmor(text, (size_t)tlen, back, sizeof(back), err, sizeof(err)),
	                 len);
	assert_memory_equal(back, bin, (size_t)len);
}

/* ---- round trips ---- */

static void
test_round_trip_site(void **state)
{
	uint8_t buf[CRED_ENCODED_MAX], again[CRED_ENCODED_MAX];
	struct cred c, d;
	char err[128];
	int len;

	(void)state;
	sample_cred(&c);
	c.overlay[0] = prefix4(10, 1, 255, 24);
	c.noverlay = 1;
	c.not_before = -5; /* times are signed */
	assert_int_equal(cred_sign(&c, secret[2]), 0);
	assert_int_equal(cred_sign(&c, secret[0]), 0);
	len = cred_encode(&c, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(cred_kind_of(buf, (size_t)len), CRED_KIND_SITE);
	assert_int_equal(cred_decode(buf, (size_t)len, &d, err, sizeof(err)), 0);
	assert_cred_equal(&c, &d);
	assert_int_equal(cred_encode(&d, again, sizeof(again)), len);
	assert_memory_equal(buf, again, (size_t)len);
	assert_armor_round_trip(buf, len, "-----BEGIN NETD CREDENTIAL-----\n");
}

static void
test_round_trip_revocation(void **state)
{
	uint8_t buf[CRED_ENCODED_MAX], again[CRED_ENCODED_MAX];
	struct cred_revocation r, d;
	char err[128];
	int len;

	(void)state;
	for (uint8_t kind = CRED_REVOKE_SERIAL; kind <= CRED_REVOKE_KEY; kind++) {
		sample_revocation(&r, kind);
		assert_int_equal(cred_revocation_sign(&r, secret[1]), 0);
		len = cred_revocation_encode(&r, buf, sizeof(buf));
		assert_true(len > 0);
		assert_int_equal(cred_kind_of(buf, (size_t)len), CRED_KIND_REVOCATION);
		assert_int_equal(cred_revocation_decode(buf, (size_t)len, &d, err, sizeof(err)), 0);
		assert_revocation_equal(&r, &d);
		assert_int_equal(cred_revocation_encode(&d, again, sizeof(again)), len);
		assert_memory_equal(buf, again, (size_t)len);
		assert_armor_round_trip(buf, len, "-----BEGIN NETD REVOCATION-----\n");
	}
}

static void
test_round_trip_authorities(void **state)
{
	uint8_t buf[CRED_ENCODED_MAX], again[CRED_ENCODED_MAX];
	struct cred_authorities a, d;
	char err[128];
	int len;

	(void)state;
	authority_set(&a, 1, 3, 2);
	a.version = 7;
	assert_int_equal(cred_authorities_sign(&a, secret[0]), 0);
	assert_int_equal(cred_authorities_sign(&a, secret[3]), 0);
	len = cred_authorities_encode(&a, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(cred_kind_of(buf, (size_t)len), CRED_KIND_AUTHORITIES);
	assert_int_equal(cred_authorities_decode(buf, (size_t)len, &d, err, sizeof(err)), 0);
	assert_authorities_equal(&a, &d);
	assert_int_equal(cred_authorities_encode(&d, again, sizeof(again)), len);
	assert_memory_equal(buf, again, (size_t)len);
	assert_armor_round_trip(buf, len, "-----BEGIN NETD AUTHORITIES-----\n");
}

/* The typical credential's size, from the layout: version and kind 2, federation 1+3, site
 * 1+6, key 32, serial and times 24, prefixes 1+4+4+8, overlay 1, VNIs 1+6, provider 1+10,
 * jurisdiction 1+2, labels 1+(1+4+1+3)+(1+4+1+4), signatures 1+2*96. */
static void
test_typical_size(void **state)
{
	uint8_t buf[CRED_ENCODED_MAX];
	char text[CRED_ARMOR_MAX];
	struct cred c;
	int len;

	(void)state;
	sample_cred(&c);
	assert_int_equal(cred_encode(&c, buf, sizeof(buf)), 129);
	assert_int_equal(cred_sign(&c, secret[0]), 0);
	assert_int_equal(cred_sign(&c, secret[1]), 0);
	len = cred_encode(&c, buf, sizeof(buf));
	assert_int_equal(len, 129 + 2 * 96);
	/* 428 base64 characters in 7 lines, and the two armour lines. */
	assert_int_equal(cred_armor(buf, (size_t)len, text, sizeof(text)), 32 + 428 + 7 + 30);
}

/* ---- bounds, against bytes written here field by field ---- */

/* A site credential's generated contents: counts and lengths, each may be over its bound. */
struct shape {
	unsigned name_len; /* the site's */
	unsigned nprefixes, noverlay, nvnis;
	unsigned provider_len, jurisdiction_len;
	unsigned nlabels, key_len, value_len;
	unsigned nsigs;
};

static const struct shape small = {.name_len = 6, .nprefixes = 1, .nvnis = 1, .key_len = 4};

static void
raw_text(struct codec_out *o, char fill, unsigned n)
{
	codec_put_u8(o, (uint8_t)n);
	for (unsigned i = 0; i < n; i++)
		codec_put_u8(o, (uint8_t)fill);
}

/* The label key of label i: distinct and ascending in i. */
static void
label_key(char *out, unsigned i, unsigned len)
{
	memset(out, 'x', len);
	if (len > 0)
		out[0] = 'k';
	if (len > 1)
		out[1] = (char)('a' + i);
}

static void
raw_labels(struct codec_out *o, const struct shape *s)
{
	char key[64];

	codec_put_u8(o, (uint8_t)s->nlabels);
	for (unsigned i = 0; i < s->nlabels; i++) {
		label_key(key, i, s->key_len);
		codec_put_u8(o, (uint8_t)s->key_len);
		codec_put_bytes(o, key, s->key_len);
		raw_text(o, 'v', s->value_len);
	}
}

static void
raw_sigs(struct codec_out *o, unsigned n)
{
	uint8_t sig[CRED_SIG_LEN];

	memset(sig, 0x5a, sizeof(sig));
	codec_put_u8(o, (uint8_t)n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t authority[CRED_KEY_LEN];

		memset(authority, (int)(i + 1), sizeof(authority));
		codec_put_bytes(o, authority, sizeof(authority));
		codec_put_bytes(o, sig, sizeof(sig));
	}
}

/* The site credential layout, written without any of the encoder's checks. */
static int
raw_site(const struct shape *s, uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = cap};
	static const char jurisdiction[] = "DEU";
	uint8_t key[CRED_KEY_LEN];

	memset(key, 0x11, sizeof(key));
	codec_put_u8(&o, CRED_VERSION);
	codec_put_u8(&o, CRED_KIND_SITE);
	raw_text(&o, 'l', 3);
	raw_text(&o, 'a', s->name_len);
	codec_put_bytes(&o, key, sizeof(key));
	codec_put_u64(&o, 42);
	codec_put_u64(&o, T0);
	codec_put_u64(&o, T1);
	codec_put_u8(&o, (uint8_t)s->nprefixes);
	for (unsigned i = 0; i < s->nprefixes; i++)
		codec_put_bytes(&o, (uint8_t[]){4, 16, 10, (uint8_t)i}, 4);
	codec_put_u8(&o, (uint8_t)s->noverlay);
	for (unsigned i = 0; i < s->noverlay; i++)
		codec_put_bytes(&o, (uint8_t[]){4, 24, 172, 16, (uint8_t)i}, 5);
	codec_put_u8(&o, (uint8_t)s->nvnis);
	for (unsigned i = 0; i < s->nvnis; i++)
		codec_put_u24(&o, i + 1);
	raw_text(&o, 'p', s->provider_len);
	codec_put_u8(&o, (uint8_t)s->jurisdiction_len);
	codec_put_bytes(&o, jurisdiction, s->jurisdiction_len);
	raw_labels(&o, s);
	raw_sigs(&o, s->nsigs);
	return codec_out_result(&o);
}

static size_t
smaller(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The same contents as a struct. Counts over their bound are kept (only the array's worth is
 * filled) and strings over theirs fill their array without a terminator. */
static void
shaped_cred(const struct shape *s, struct cred *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->federation, "lll");
	memset(c->site, 'a', smaller(s->name_len, WIRE_NAME_MAX + 1));
	memset(c->wg_key, 0x11, CRED_KEY_LEN);
	c->serial = 42;
	c->not_before = T0;
	c->not_after = T1;
	c->nprefixes = (uint8_t)s->nprefixes;
	for (unsigned i = 0; i < smaller(s->nprefixes, WIRE_MAX_PREFIXES); i++)
		c->prefixes[i] = prefix4(10, (uint8_t)i, 0, 16);
	c->noverlay = (uint8_t)s->noverlay;
	for (unsigned i = 0; i < smaller(s->noverlay, WIRE_MAX_OVERLAY); i++)
		c->overlay[i] = prefix4(172, 16, (uint8_t)i, 24);
	c->nvnis = (uint8_t)s->nvnis;
	for (unsigned i = 0; i < smaller(s->nvnis, WIRE_MAX_VNIS); i++)
		c->vnis[i] = i + 1;
	memset(c->provider, 'p', smaller(s->provider_len, CRED_VALUE_MAX + 1));
	memcpy(c->jurisdiction, "DEU", smaller(s->jurisdiction_len, 3));
	c->nlabels = (uint8_t)s->nlabels;
	for (unsigned i = 0; i < smaller(s->nlabels, CRED_MAX_LABELS); i++) {
		label_key(c->labels[i].key, i,
		          (unsigned)smaller(s->key_len, CRED_LABEL_KEY_MAX + 1));
		memset(c->labels[i].value, 'v', smaller(s->value_len, CRED_VALUE_MAX + 1));
	}
	c->nsigs = (uint8_t)s->nsigs;
	for (unsigned i = 0; i < smaller(s->nsigs, CRED_MAX_SIGS); i++) {
		memset(c->sigs[i].authority, (int)(i + 1), CRED_KEY_LEN);
		memset(c->sigs[i].sig, 0x5a, CRED_SIG_LEN);
	}
}

/* Accepted by both sides, and the encoder writes exactly the layout. */
static void
assert_shape_ok(const struct shape *s)
{
	uint8_t raw[2 * CRED_ENCODED_MAX], enc[CRED_ENCODED_MAX];
	struct cred c, d;
	char err[128] = "";
	int rlen = raw_site(s, raw, sizeof(raw));

	shaped_cred(s, &c);
	assert_int_equal(cred_encode(&c, enc, sizeof(enc)), rlen);
	assert_memory_equal(enc, raw, (size_t)rlen);
	if (cred_decode(raw, (size_t)rlen, &d, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_cred_equal(&c, &d);
}

/* Refused by both sides. */
static void
assert_shape_refused(const struct shape *s)
{
	uint8_t raw[2 * CRED_ENCODED_MAX], enc[CRED_ENCODED_MAX];
	struct cred c, d;
	char err[128] = "";
	int rlen = raw_site(s, raw, sizeof(raw));

	assert_true(rlen > 0);
	shaped_cred(s, &c);
	assert_int_equal(cred_encode(&c, enc, sizeof(enc)), -1);
	assert_int_equal(cred_decode(raw, (size_t)rlen, &d, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
}

static void
test_site_limits(void **state)
{
	struct shape ok, over;
	/* Each bound at its maximum, then one past it; the rest small. */
	static const struct {
		size_t field;
		unsigned max;
	} limits[] = {
	        {offsetof(struct shape, name_len), WIRE_NAME_MAX},
	        {offsetof(struct shape, nprefixes), WIRE_MAX_PREFIXES},
	        {offsetof(struct shape, noverlay), WIRE_MAX_OVERLAY},
	        {offsetof(struct shape, nvnis), WIRE_MAX_VNIS},
	        {offsetof(struct shape, provider_len), CRED_VALUE_MAX},
	        {offsetof(struct shape, nlabels), CRED_MAX_LABELS},
	        {offsetof(struct shape, key_len), CRED_LABEL_KEY_MAX},
	        {offsetof(struct shape, value_len), CRED_VALUE_MAX},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		ok = small;
		ok.nlabels = 1;
		*(unsigned *)((char *)&ok + limits[i].field) = limits[i].max;
		over = ok;
		*(unsigned *)((char *)&over + limits[i].field) = limits[i].max + 1;
		assert_shape_ok(&ok);
		assert_shape_refused(&over);
	}
	/* Empty name, empty label key; jurisdiction exactly 0 or 2 letters. */
	over = small;
	over.name_len = 0;
	assert_shape_refused(&over);
	over = small;
	over.nlabels = 1;
	over.key_len = 0;
	assert_shape_refused(&over);
	for (unsigned n = 0; n <= 3; n++) {
		over = small;
		over.jurisdiction_len = n;
		if (n == 0 || n == 2)
			assert_shape_ok(&over);
		else
			assert_shape_refused(&over);
	}
	/* Signatures: one from each of the most authorities a set can hold. */
	ok = small;
	ok.nsigs = CRED_MAX_SIGS;
	assert_shape_ok(&ok);
	over = ok;
	over.nsigs = CRED_MAX_SIGS + 1;
	assert_shape_refused(&over);
}

static void
test_size_limit(void **state)
{
	uint8_t raw[2 * CRED_ENCODED_MAX];
	struct shape s = small;
	bool at_max = false, past_max = false;

	(void)state;
	s.nsigs = CRED_MAX_SIGS;
	s.nlabels = 4;
	for (s.provider_len = 0; s.provider_len <= CRED_VALUE_MAX; s.provider_len++) {
		for (s.value_len = 0; s.value_len <= CRED_VALUE_MAX; s.value_len++) {
			int len = raw_site(&s, raw, sizeof(raw));

			if (len == CRED_ENCODED_MAX && !at_max) {
				assert_shape_ok(&s);
				at_max = true;
			} else if (len == CRED_ENCODED_MAX + 1 && !past_max) {
				assert_shape_refused(&s);
				past_max = true;
			}
		}
	}
	assert_true(at_max && past_max);
}

static void
test_value_characters(void **state)
{
	uint8_t buf[CRED_ENCODED_MAX];
	struct cred c, d;
	char err[128];
	int len;

	(void)state;
	/* Encoder: what a value, a label key or the jurisdiction may not hold. */
	static const char *const bad_values[] = {"a\"b", "a\\b", "tab\there", "\x7f", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		sample_cred(&c);
		strcpy(c.labels[0].value, bad_values[i]);
		assert_int_equal(cred_encode(&c, buf, sizeof(buf)), -1);
		sample_cred(&c);
		strcpy(c.provider, bad_values[i]);
		assert_int_equal(cred_encode(&c, buf, sizeof(buf)), -1);
	}
	static const char *const bad_keys[] = {"Rack", "ra ck", "ra/ck", "provider",
	                                       "jurisdiction"};
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		sample_cred(&c);
		strcpy(c.labels[0].key, bad_keys[i]);
		assert_int_equal(cred_encode(&c, buf, sizeof(buf)), -1);
	}
	static const char *const bad_jurisdictions[] = {"de", "D1", "D"};
	for (size_t i = 0; i < 3; i++) {
		sample_cred(&c);
		strcpy(c.jurisdiction, bad_jurisdictions[i]);
		assert_int_equal(cred_encode(&c, buf, sizeof(buf)), -1);
	}
	/* Decoder: a NUL inside a value would give one string two encodings. */
	sample_cred(&c);
	strcpy(c.provider, "acme-clouX");
	len = cred_encode(&c, buf, sizeof(buf));
	*(uint8_t *)memmem(buf, (size_t)len, "X", 1) = '\0';
	assert_int_equal(cred_decode(buf, (size_t)len, &d, err, sizeof(err)), -1);
	/* Every other field's rule, on the encoder side. */
	sample_cred(&c);
	c.not_after = c.not_before;
	assert_int_equal(cred_encode(&c, buf, sizeof(buf)), -1);
	sample_cred(&c);
	c.vnis[1] = WIRE_VNI_MAX + 1;
	assert_int_equal(cred_encode(&c, buf, sizeof(buf)), -1);
	c.vnis[1] = WIRE_VNI_MAX;
	assert_true(cred_encode(&c, buf, sizeof(buf)) > 0);
	c.vnis[0] = 0;
	assert_int_equal(cred_encode(&c, buf, sizeof(buf)), -1);
	sample_cred(&c);
	c.prefixes[0].addr.u.bytes[3] = 1; /* a host bit */
	assert_int_equal(cred_encode(&c, buf, sizeof(buf)), -1);
	sample_cred(&c);
	strcpy(c.federation, "Lab");
	assert_int_equal(cred_encode(&c, buf, sizeof(buf)), -1);
}

/* Every kind: each truncation and one trailing byte refused, with a reason. */
static void
assert_exact_length(const uint8_t *buf, int len,
                    int (*decode)(const uint8_t *, size_t, char *, size_t))
{
	uint8_t longer[CRED_ENCODED_MAX + 1];
	char err[128];

	for (int n = 0; n < len; n++) {
		err[0] = '\0';
		assert_int_equal(decode(buf, (size_t)n, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
	}
	memcpy(longer, buf, (size_t)len);
	longer[len] = 0;
	assert_int_equal(decode(longer, (size_t)len + 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "after the end"));
	assert_int_equal(decode(buf, (size_t)len, err, sizeof(err)), 0);
}

static int
decode_site(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct cred c;

	return cred_decode(buf, len, &c, err, errlen);
}

static int
decode_revocation(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct cred_revocation r;

	return cred_revocation_decode(buf, len, &r, err, errlen);
}

static int
decode_authorities(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct cred_authorities a;

	return cred_authorities_decode(buf, len, &a, err, errlen);
}

static void
test_truncation_and_trailing(void **state)
{
	uint8_t buf[CRED_ENCODED_MAX];
	struct cred c;
	struct cred_revocation r;
	struct cred_authorities a;

	(void)state;
	sample_cred(&c);
	assert_int_equal(cred_sign(&c, secret[0]), 0);
	assert_exact_length(buf, cred_encode(&c, buf, sizeof(buf)), decode_site);
	sample_revocation(&r, CRED_REVOKE_SERIAL);
	assert_int_equal(cred_revocation_sign(&r, secret[0]), 0);
	assert_exact_length(buf, cred_revocation_encode(&r, buf, sizeof(buf)), decode_revocation);
	sample_revocation(&r, CRED_REVOKE_KEY);
	assert_exact_length(buf, cred_revocation_encode(&r, buf, sizeof(buf)), decode_revocation);
	authority_set(&a, 0, 3, 2);
	a.version = 1;
	assert_int_equal(cred_authorities_sign(&a, secret[0]), 0);
	assert_exact_length(buf, cred_authorities_encode(&a, buf, sizeof(buf)), decode_authorities);
}

static void
test_version_and_kind(void **state)
{
	uint8_t buf[CRED_ENCODED_MAX];
	struct cred c, d;
	struct cred_revocation r;
	char err[128];
	int len;

	(void)state;
	sample_cred(&c);
	len = cred_encode(&c, buf, sizeof(buf));
	buf[0] = CRED_VERSION + 1;
	assert_int_equal(cred_kind_of(buf, (size_t)len), -1);
	assert_int_equal(cred_decode(buf, (size_t)len, &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version"));
	buf[0] = CRED_VERSION;
	assert_int_equal(cred_revocation_decode(buf, (size_t)len, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "a credential, not a revocation");
	buf[1] = 4;
	assert_int_equal(cred_kind_of(buf, (size_t)len), -1);
	assert_int_equal(cred_decode(buf, (size_t)len, &d, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown kind 4");
	assert_int_equal(cred_kind_of(buf, 1), -1);
	/* Revocations of an unknown kind, authority sets of a bad shape. */
	sample_revocation(&r, CRED_REVOKE_KEY);
	r.kind = 3;
	assert_int_equal(cred_revocation_encode(&r, buf, sizeof(buf)), -1);
	sample_revocation(&r, CRED_REVOKE_KEY);
	len = cred_revocation_encode(&r, buf, sizeof(buf));
	buf[2 + 1 + 3] = 3; /* after version, kind and "lab" */
	assert_int_equal(cred_revocation_decode(buf, (size_t)len, &r, err, sizeof(err)), -1);
}

static void
test_authorities_limits(void **state)
{
	uint8_t buf[CRED_ENCODED_MAX];
	struct cred_authorities a, d;
	char err[128];
	int len;

	(void)state;
	memset(&a, 0, sizeof(a));
	strcpy(a.federation, "lab");
	for (size_t i = 0; i < CRED_MAX_AUTHORITIES; i++)
		memset(a.keys[i], (int)(i + 1), CRED_KEY_LEN);
	a.nkeys = CRED_MAX_AUTHORITIES;
	a.threshold = CRED_MAX_AUTHORITIES;
	len = cred_authorities_encode(&a, buf, sizeof(buf));
	assert_int_equal(len, 2 + 4 + 8 + 1 + CRED_MAX_AUTHORITIES * CRED_KEY_LEN + 1 + 1);
	assert_int_equal(cred_authorities_decode(buf, (size_t)len, &d, err, sizeof(err)), 0);
	/* Threshold past the keys, in both directions. */
	buf[len - 2] = CRED_MAX_AUTHORITIES + 1;
	assert_int_equal(cred_authorities_decode(buf, (size_t)len, &d, err, sizeof(err)), -1);
	buf[len - 2] = 0;
	assert_int_equal(cred_authorities_decode(buf, (size_t)len, &d, err, sizeof(err)), -1);
	a.threshold = 0;
	assert_int_equal(cred_authorities_encode(&a, buf, sizeof(buf)), -1);
	a.threshold = CRED_MAX_AUTHORITIES + 1;
	assert_int_equal(cred_authorities_encode(&a, buf, sizeof(buf)), -1);
	/* One key too many, and none. */
	a.threshold = 1;
	a.nkeys = CRED_MAX_AUTHORITIES + 1;
	assert_int_equal(cred_authorities_encode(&a, buf, sizeof(buf)), -1);
	a.nkeys = 0;
	assert_int_equal(cred_authorities_encode(&a, buf, sizeof(buf)), -1);
	a.nkeys = 2;
	len = cred_authorities_encode(&a, buf, sizeof(buf));
	buf[2 + 4 + 8] = CRED_MAX_AUTHORITIES + 1;
	assert_int_equal(cred_authorities_decode(buf, (size_t)len, &d, err, sizeof(err)), -1);
	buf[2 + 4 + 8] = 0;
	assert_int_equal(cred_authorities_decode(buf, (size_t)len, &d, err, sizeof(err)), -1);
	/* Keys out of order, or one twice. */
	memset(a.keys[1], 0, CRED_KEY_LEN);
	assert_int_equal(cred_authorities_encode(&a, buf, sizeof(buf)), -1);
	memset(a.keys[1], 1, CRED_KEY_LEN);
	assert_int_equal(cred_authorities_encode(&a, buf, sizeof(buf)), -1);
	memset(a.keys[1], 2, CRED_KEY_LEN);
	len = cred_authorities_encode(&a, buf, sizeof(buf));
	memset(buf + 2 + 4 + 8 + 1, 2, CRED_KEY_LEN);
	assert_int_equal(cred_authorities_decode(buf, (size_t)len, &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sorted"));
}

static void
test_revocation_limits(void **state)
{
	uint8_t buf[CRED_ENCODED_MAX];
	struct cred_revocation r, d;
	char err[128];
	int len;

	(void)state;
	sample_revocation(&r, CRED_REVOKE_SERIAL);
	memset(r.reason, 'x', CRED_VALUE_MAX);
	len = cred_revocation_encode(&r, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(cred_revocation_decode(buf, (size_t)len, &d, err, sizeof(err)), 0);
	/* The reason is the last field before the signature count. */
	buf[len - 1 - CRED_VALUE_MAX - 1] = CRED_VALUE_MAX + 1;
	buf[len - 1] = 'x';
	buf[len] = 0;
	assert_int_equal(cred_revocation_decode(buf, (size_t)len + 1, &d, err, sizeof(err)), -1);
	r.reason[CRED_VALUE_MAX] = 'x'; /* no terminator within the array */
	assert_int_equal(cred_revocation_encode(&r, buf, sizeof(buf)), -1);
	sample_revocation(&r, CRED_REVOKE_SERIAL);
	strcpy(r.site, "-a");
	assert_int_equal(cred_revocation_encode(&r, buf, sizeof(buf)), -1);
}

/* ---- sorted lists ---- */

/* Swaps two equally long runs of bytes in an encoding, found by their contents. */
static void
swap_runs(uint8_t *buf, size_t len, const void *a, const void *b, size_t n)
{
	uint8_t *pa = memmem(buf, len, a, n), *pb = memmem(buf, len, b, n), tmp[128];

	assert_non_null(pa);
	assert_non_null(pb);
	memcpy(tmp, pa, n);
	memcpy(pa, pb, n);
	memcpy(pb, tmp, n);
}

/* Refused once two list entries trade places, and once the first is written twice. */
static void
assert_order_enforced(const struct cred *c, const void *a, const void *b, size_t n)
{
	uint8_t buf[CRED_ENCODED_MAX], copy[CRED_ENCODED_MAX];
	struct cred d;
	char err[128];
	int len = cred_encode(c, buf, sizeof(buf));

	assert_true(len > 0);
	assert_int_equal(cred_decode(buf, (size_t)len, &d, err, sizeof(err)), 0);
	memcpy(copy, buf, (size_t)len);
	swap_runs(copy, (size_t)len, a, b, n);
	assert_int_equal(cred_decode(copy, (size_t)len, &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sorted"));
	memcpy(copy, buf, (size_t)len);
	memcpy(memmem(copy, (size_t)len, b, n), a, n);
	assert_int_equal(cred_decode(copy, (size_t)len, &d, err, sizeof(err)), -1);
}

static void
test_sorted_lists(void **state)
{
	uint8_t buf[CRED_ENCODED_MAX];
	struct cred c, reversed;
	uint8_t a[96], b[96];

	(void)state;
	sample_cred(&c);
	c.prefixes[2] = prefix4(10, 3, 0, 16);
	assert_order_enforced(&c, (uint8_t[]){4, 16, 10, 1}, (uint8_t[]){4, 16, 10, 2}, 4);
	c.vnis[0] = 0x123456;
	c.vnis[1] = 0x654321;
	assert_order_enforced(&c, (uint8_t[]){0x12, 0x34, 0x56}, (uint8_t[]){0x65, 0x43, 0x21}, 3);
	strcpy(c.labels[0].key, "aaaa");
	strcpy(c.labels[0].value, "1");
	strcpy(c.labels[1].key, "bbbb");
	strcpy(c.labels[1].value, "2");
	assert_order_enforced(&c,
	                      "\x04"
	                      "aaaa\x01"
	                      "1",
	                      "\x04"
	                      "bbbb\x01"
	                      "2",
	                      7);
	assert_int_equal(cred_sign(&c, secret[0]), 0);
	assert_int_equal(cred_sign(&c, secret[1]), 0);
	memcpy(a, &c.sigs[0], sizeof(a));
	memcpy(b, &c.sigs[1], sizeof(b));
	assert_order_enforced(&c, a, b, sizeof(a));

	/* The encoder refuses the same, and cred_normalize mends it. */
	reversed = c;
	reversed.prefixes[0] = c.prefixes[2];
	reversed.prefixes[2] = c.prefixes[0];
	reversed.vnis[0] = c.vnis[1];
	reversed.vnis[1] = c.vnis[0];
	reversed.labels[0] = c.labels[1];
	reversed.labels[1] = c.labels[0];
	reversed.sigs[0] = c.sigs[1];
	reversed.sigs[1] = c.sigs[0];
	assert_int_equal(cred_encode(&reversed, buf, sizeof(buf)), -1);
	assert_int_equal(cred_normalize(&reversed), 0);
	assert_cred_equal(&reversed, &c);
}

static void
test_normalize(void **state)
{
	struct cred c, want;
	uint8_t buf[CRED_ENCODED_MAX];

	(void)state;
	sample_cred(&want);
	assert_int_equal(cred_sign(&want, secret[0]), 0);
	c = want;
	c.prefixes[3] = c.prefixes[0];
	c.nprefixes = 4;
	c.vnis[2] = c.vnis[1];
	c.vnis[3] = c.vnis[0];
	c.nvnis = 4;
	c.labels[2] = c.labels[0];
	c.nlabels = 3;
	c.sigs[1] = c.sigs[0];
	c.sigs[1].sig[0] ^= 1; /* the same authority twice: one is kept */
	c.nsigs = 2;
	assert_int_equal(cred_encode(&c, buf, sizeof(buf)), -1);
	assert_int_equal(cred_normalize(&c), 0);
	assert_int_equal(c.nsigs, 1);
	c.sigs[0] = want.sigs[0];
	assert_cred_equal(&c, &want);
	/* Two values for one label key: nothing to choose between, and c stays as it was. */
	c.labels[2] = c.labels[0];
	strcpy(c.labels[2].value, "other");
	c.nlabels = 3;
	assert_int_equal(cred_normalize(&c), -1);
	assert_int_equal(c.nlabels, 3);
	assert_string_equal(c.labels[2].value, "other");
	c.nlabels = CRED_MAX_LABELS + 1;
	assert_int_equal(cred_normalize(&c), -1);
}

/* ---- signing ---- */

static void
test_sign(void **state)
{
	struct cred c;
	struct cred_sig first;

	(void)state;
	sample_cred(&c);
	assert_int_equal(cred_sign(&c, secret[3]), 0);
	assert_int_equal(cred_sign(&c, secret[1]), 0);
	assert_int_equal(c.nsigs, 2);
	assert_memory_equal(c.sigs[0].authority, pub[1], CRED_KEY_LEN);
	assert_memory_equal(c.sigs[1].authority, pub[3], CRED_KEY_LEN);
	/* Signing again replaces: still one signature per authority. */
	first = c.sigs[0];
	c.serial++;
	assert_int_equal(cred_sign(&c, secret[1]), 0);
	assert_int_equal(c.nsigs, 2);
	assert_memory_equal(c.sigs[0].authority, pub[1], CRED_KEY_LEN);
	assert_memory_not_equal(c.sigs[0].sig, first.sig, CRED_SIG_LEN);
	/* A body that does not encode cannot be signed, and nothing changes. */
	c.not_after = c.not_before;
	assert_int_equal(cred_sign(&c, secret[0]), -1);
	assert_int_equal(c.nsigs, 2);
}

/* Whether sig by authority key covers context (with its NUL when nul) and then the first n
 * bytes of enc. */
static bool
covers(const uint8_t *sig, const uint8_t *key, const char *context, bool nul, const uint8_t *enc,
       size_t n)
{
	uint8_t msg[64 + CRED_ENCODED_MAX];
	size_t clen = strlen(context) + (nul ? 1 : 0);

	memcpy(msg, context, clen);
	memcpy(msg + clen, enc, n);
	return crypto_sign_verify_detached(sig, msg, clen + n, key) == 0;
}

/* What a signature covers, as an authority's own tools must sign it: the kind's context
 * string with its NUL, then the encoding up to the signature count (not the count). */
static void
test_signed_bytes(void **state)
{
	static const char *const contexts[] = {"netd credential v1", "netd revocation v1",
	                                       "netd authorities v1"};
	uint8_t enc[CRED_ENCODED_MAX];
	struct cred_authorities a;
	struct cred_revocation r;
	struct cred c;
	int len[3];

	(void)state;
	sample_cred(&c);
	assert_int_equal(cred_sign(&c, secret[0]), 0);
	sample_revocation(&r, CRED_REVOKE_SERIAL);
	assert_int_equal(cred_revocation_sign(&r, secret[0]), 0);
	authority_set(&a, 0, 3, 2);
	a.version = 1;
	assert_int_equal(cred_authorities_sign(&a, secret[0]), 0);
	for (int kind = 0; kind < 3; kind++) {
		const uint8_t *sig;
		size_t body;

		len[kind] = kind == 0   ? cred_encode(&c, enc, sizeof(enc))
		            : kind == 1 ? cred_revocation_encode(&r, enc, sizeof(enc))
		                        : cred_authorities_encode(&a, enc, sizeof(enc));
		assert_true(len[kind] > 0);
		body = (size_t)len[kind] - 1 - (CRED_KEY_LEN + CRED_SIG_LEN);
		assert_int_equal(enc[body], 1); /* the signature count */
		assert_memory_equal(enc + body + 1, pub[0], CRED_KEY_LEN);
		sig = enc + body + 1 + CRED_KEY_LEN;
		assert_true(covers(sig, pub[0], contexts[kind], true, enc, body));
		assert_false(covers(sig, pub[0], contexts[kind], false, enc, body));
		assert_false(covers(sig, pub[0], contexts[kind], true, enc, body + 1));
		assert_false(covers(sig, pub[0], contexts[(kind + 1) % 3], true, enc, body));
	}
}

/* Signatures stop when the list is full, the document still within its size limit. */
static void
test_sign_until_full(void **state)
{
	struct cred c;
	uint8_t seed[32], p[CRED_KEY_LEN], s[64], buf[CRED_ENCODED_MAX];
	size_t n = 0;

	(void)state;
	sample_cred(&c);
	for (;;) {
		memset(seed, (int)(n + 1), sizeof(seed));
		assert_int_equal(cred_authority_from_seed(seed, p, s), 0);
		if (cred_sign(&c, s) < 0)
			break;
		n++;
		assert_int_equal(c.nsigs, n);
	}
	assert_int_equal(n, CRED_MAX_SIGS); /* 129 + 7 * 96 <= 1024: the list fills first */
	assert_int_equal(c.nsigs, CRED_MAX_SIGS);
	assert_true(cred_encode(&c, buf, sizeof(buf)) > 0);
}

/* ---- verification ---- */

static const char *
short_key(const uint8_t key[CRED_KEY_LEN], char out[9])
{
	char b64[64];

	sodium_bin2base64(b64, sizeof(b64), key, CRED_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
	memcpy(out, b64, 8);
	out[8] = '\0';
	return out;
}

static void
signed_cred(struct cred *c, const size_t *signers, size_t n)
{
	sample_cred(c);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(cred_sign(c, secret[signers[i]]), 0);
}

static void
test_verify_threshold(void **state)
{
	struct cred_authorities set;
	struct cred_verdict v;
	struct cred c;
	char name[9];

	(void)state;
	authority_set(&set, 0, 3, 2);
	signed_cred(&c, (size_t[]){1}, 1);
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_TOO_FEW_SIGNERS);
	assert_int_equal(v.signers, 1);
	assert_int_equal(v.needed, 2);
	assert_non_null(strstr(v.why, "1 more"));
	assert_non_null(strstr(v.why, short_key(pub[0], name)));
	assert_non_null(strstr(v.why, short_key(pub[2], name)));
	assert_null(strstr(v.why, short_key(pub[1], name)));
	assert_string_equal(cred_status_name(v.status), "too-few-signers");

	signed_cred(&c, (size_t[]){0, 2}, 2);
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_OK);
	assert_int_equal(v.signers, 2);
	assert_int_equal(v.status, CRED_OK);
	assert_int_equal(cred_verify(&c, &set, T0, NULL), CRED_OK);
}

static void
test_verify_duplicate_and_unknown(void **state)
{
	struct cred_authorities set;
	struct cred_verdict v;
	struct cred c;

	(void)state;
	authority_set(&set, 0, 3, 2);
	/* One authority's signature twice (only possible in memory) counts once. */
	signed_cred(&c, (size_t[]){0}, 1);
	c.sigs[1] = c.sigs[0];
	c.nsigs = 2;
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_TOO_FEW_SIGNERS);
	assert_int_equal(v.signers, 1);
	/* A signature by a key outside the set is ignored: not an error, and not a signer. */
	signed_cred(&c, (size_t[]){0, 3}, 2);
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_TOO_FEW_SIGNERS);
	assert_int_equal(v.signers, 1);
	assert_int_equal(v.unknown, 1);
	assert_non_null(strstr(v.why, "not in the set ignored"));
	signed_cred(&c, (size_t[]){0, 1, 3}, 3);
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_OK);
	assert_int_equal(v.unknown, 1);
	/* An unknown signer's bad signature is not looked at either. */
	c.sigs[2].sig[0] ^= 1;
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_OK);
}

static void
test_verify_refusals(void **state)
{
	struct cred_authorities set;
	struct cred_verdict v;
	struct cred c;

	(void)state;
	authority_set(&set, 0, 3, 2);
	signed_cred(&c, (size_t[]){0, 1}, 2);
	strcpy(set.federation, "other");
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_WRONG_FEDERATION);
	assert_non_null(strstr(v.why, "lab"));
	strcpy(set.federation, "lab");

	assert_int_equal(cred_verify(&c, &set, T0 - 1, &v), CRED_NOT_YET_VALID);
	assert_non_null(strstr(v.why, "2023-11-14T22:13:20Z"));
	assert_int_equal(cred_verify(&c, &set, T1 - 1, &v), CRED_OK);
	assert_int_equal(cred_verify(&c, &set, T1, &v), CRED_EXPIRED);
	assert_non_null(strstr(v.why, "2027-01-15T08:00:00Z"));

	/* A flipped bit in a known authority's signature refuses the document, however many
	 * others signed. */
	assert_int_equal(cred_sign(&c, secret[2]), 0);
	c.sigs[1].sig[10] ^= 0x04;
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_BAD_SIGNATURE);
	assert_string_equal(cred_status_name(v.status), "bad-signature");
	/* So does a changed body. */
	signed_cred(&c, (size_t[]){0, 1}, 2);
	c.serial++;
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_BAD_SIGNATURE);
	/* A set whose threshold cannot be met accepts nothing. */
	signed_cred(&c, (size_t[]){0, 1, 2}, 3);
	set.threshold = 0;
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_TOO_FEW_SIGNERS);
	set.threshold = 4;
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_TOO_FEW_SIGNERS);
}

/* An authority key of small order is refused by the signature check: for the identity point
 * (0x01 and zeros) R = rB, S = r satisfies the verification equation [S]B = R + [h]A on any
 * document, so such a key would let anyone sign in its name. */
static void
test_verify_small_order_authority(void **state)
{
	static const uint8_t identity[CRED_KEY_LEN] = {1};
	struct cred_authorities set;
	struct cred_verdict v;
	uint8_t wide[64];
	struct cred c;

	(void)state;
	authority_set(&set, 0, 1, 1);
	memcpy(set.keys[0], identity, CRED_KEY_LEN);
	sample_cred(&c);
	memcpy(c.sigs[0].authority, identity, CRED_KEY_LEN);
	randombytes_buf(wide, sizeof(wide));
	crypto_core_ed25519_scalar_reduce(c.sigs[0].sig + 32, wide);
	assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(c.sigs[0].sig, c.sigs[0].sig + 32),
	                 0);
	c.nsigs = 1;
	assert_int_equal(cred_verify(&c, &set, T0, &v), CRED_BAD_SIGNATURE);
	assert_int_equal(v.signers, 0);
}

static void
test_revoked(void **state)
{
	struct cred_revocation revs[2];
	struct cred c;

	(void)state;
	sample_cred(&c);
	sample_revocation(&revs[0], CRED_REVOKE_SERIAL);
	assert_int_equal(cred_revoked(&c, revs, 1), CRED_REVOKED_SERIAL);
	c.serial = revs[0].serial - 1;
	assert_int_equal(cred_revoked(&c, revs, 1), CRED_REVOKED_SERIAL);
	c.serial = revs[0].serial + 1; /* the renewal */
	assert_int_equal(cred_revoked(&c, revs, 1), CRED_OK);
	c.serial = revs[0].serial;
	strcpy(c.site, "site-b");
	assert_int_equal(cred_revoked(&c, revs, 1), CRED_OK);
	strcpy(c.site, "site-a");
	strcpy(c.federation, "other");
	assert_int_equal(cred_revoked(&c, revs, 1), CRED_OK);

	sample_cred(&c);
	c.serial = 1000;
	sample_revocation(&revs[1], CRED_REVOKE_KEY);
	assert_int_equal(cred_revoked(&c, revs, 2), CRED_REVOKED_KEY);
	c.serial = 1;
	assert_int_equal(cred_revoked(&c, revs, 2), CRED_REVOKED_KEY);
	c.wg_key[0] ^= 1;
	assert_int_equal(cred_revoked(&c, revs, 2), CRED_REVOKED_SERIAL);
	assert_int_equal(cred_revoked(&c, revs, 0), CRED_OK);
}

static void
test_revocation_verify_and_id(void **state)
{
	struct cred_authorities set;
	struct cred_revocation r, other;
	struct cred_verdict v;
	uint64_t id;

	(void)state;
	authority_set(&set, 0, 3, 2);
	sample_revocation(&r, CRED_REVOKE_SERIAL);
	id = cred_revocation_id(&r);
	assert_true(id != 0);
	assert_int_equal(cred_revocation_sign(&r, secret[0]), 0);
	assert_int_equal(cred_revocation_verify(&r, &set, &v), CRED_TOO_FEW_SIGNERS);
	assert_non_null(strstr(v.why, "1 more"));
	assert_int_equal(cred_revocation_sign(&r, secret[2]), 0);
	assert_int_equal(cred_revocation_verify(&r, &set, &v), CRED_OK);
	/* The identity is the content's, not the signatures'. */
	assert_true(cred_revocation_id(&r) == id);
	other = r;
	strcpy(other.reason, "superseded");
	assert_true(cred_revocation_id(&other) != id);
	sample_revocation(&other, CRED_REVOKE_KEY);
	assert_true(cred_revocation_id(&other) != id);
	strcpy(set.federation, "other");
	assert_int_equal(cred_revocation_verify(&r, &set, &v), CRED_WRONG_FEDERATION);
	strcpy(set.federation, "lab");
	r.serial++;
	assert_int_equal(cred_revocation_verify(&r, &set, &v), CRED_BAD_SIGNATURE);
}

static void
test_authority_update(void **state)
{
	struct cred_authorities current, update;
	struct cred_verdict v;
	struct cred c;

	(void)state;
	/* Authorities 0-2, 2 of 3, replaced by 1-3, 2 of 3 (authority 3 is new). */
	authority_set(&current, 0, 3, 2);
	authority_set(&update, 1, 3, 2);
	update.version = 1;
	assert_int_equal(cred_authorities_sign(&update, secret[0]), 0);
	assert_int_equal(cred_authorities_verify(&update, &current, &v), CRED_TOO_FEW_SIGNERS);
	assert_non_null(strstr(v.why, "1 more"));
	/* A signature by the incoming authority does not count for the set it joins. */
	assert_int_equal(cred_authorities_sign(&update, secret[3]), 0);
	assert_int_equal(cred_authorities_verify(&update, &current, &v), CRED_TOO_FEW_SIGNERS);
	assert_int_equal(v.unknown, 1);
	assert_int_equal(cred_authorities_sign(&update, secret[1]), 0);
	assert_int_equal(cred_authorities_verify(&update, &current, &v), CRED_OK);

	/* Not above the current version: stale, whoever signed it. */
	current.version = 1;
	assert_int_equal(cred_authorities_verify(&update, &current, &v), CRED_STALE);
	assert_string_equal(cred_status_name(v.status), "stale");
	current.version = 0;
	strcpy(current.federation, "other");
	assert_int_equal(cred_authorities_verify(&update, &current, &v), CRED_WRONG_FEDERATION);
	strcpy(current.federation, "lab");

	/* The new set verifies what the new authority signed; the old set does not. */
	signed_cred(&c, (size_t[]){1, 3}, 2);
	assert_int_equal(cred_verify(&c, &update, T0, &v), CRED_OK);
	assert_int_equal(cred_verify(&c, &current, T0, &v), CRED_TOO_FEW_SIGNERS);
}

/* ---- attributes ---- */

static void
test_attribute(void **state)
{
	struct cred c;

	(void)state;
	sample_cred(&c);
	assert_string_equal(cred_attribute(&c, "provider"), "acme-cloud");
	assert_string_equal(cred_attribute(&c, "jurisdiction"), "DE");
	assert_string_equal(cred_attribute(&c, "tier"), "edge");
	assert_null(cred_attribute(&c, "zone"));
	c.provider[0] = '\0';
	c.jurisdiction[0] = '\0';
	assert_null(cred_attribute(&c, "provider"));
	assert_null(cred_attribute(&c, "jurisdiction"));
}

/* ---- armour ---- */

static int
armored_sample(char *text, size_t cap, uint8_t *bin, int *binlen)
{
	struct cred c;

	sample_cred(&c);
	assert_int_equal(cred_sign(&c, secret[0]), 0);
	*binlen = cred_encode(&c, bin, CRED_ENCODED_MAX);
	return cred_armor(bin, (size_t)*binlen, text, cap);
}

static void
test_armor_layout(void **state)
{
	char text[CRED_ARMOR_MAX], copy[2 * CRED_ARMOR_MAX], err[128];
	uint8_t bin[CRED_ENCODED_MAX], back[CRED_ENCODED_MAX];
	int binlen, len = armored_sample(text, sizeof(text), bin, &binlen);
	char *line;

	(void)state;
	/* Every base64 line at most 64 characters. */
	strcpy(copy, text);
	for (line = strtok(copy, "\n"); line != NULL; line = strtok(NULL, "\n"))
		assert_true(strlen(line) <= 64 || strncmp(line, "-----", 5) == 0);
	/* Too small a buffer for the text or the bytes. */
	assert_int_equal(cred_armor(bin, (size_t)binlen, text, (size_t)len), -1);
	assert_int_equal(
	        cred_dearmor(text, (size_t)len, back, (size_t)binlen - 1, err, sizeof(err)), -1);
	assert_int_equal(cred_armor(bin, 1, text, sizeof(text)), -1);
	/* Mail around the block, CRLF line ends. */
	len = armored_sample(text, sizeof(text), bin, &binlen);
	snprintf(copy, sizeof(copy), "From: authority@example.org\r\nSubject: credential\r\n\r\n");
	for (const char *p = text; *p; p++) {
		size_t n = strlen(copy);

		if (*p == '\n')
			copy[n++] = '\r';
		copy[n++] = *p;
		copy[n] = '\0';
	}
	strcat(copy, "-- \r\nsignature of the mail\r\n");
	assert_int_equal(cred_dearmor(copy, strlen(copy), back, sizeof(back), err, sizeof(err)),
	                 binlen);
	assert_memory_equal(back, bin, (size_t)binlen);
}

static void
assert_dearmor_refused(const char *text, const char *why)
{
	uint8_t back[CRED_ENCODED_MAX];
	char err[128] = "";

	assert_int_equal(cred_dearmor(text, strlen(text), back, sizeof(back), err, sizeof(err)),
	                 -1);
	if (strstr(err, why) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, why);
}

static void
test_armor_refusals(void **state)
{
	char text[CRED_ARMOR_MAX], twice[2 * CRED_ARMOR_MAX], *p;
	uint8_t bin[CRED_ENCODED_MAX];
	struct cred_revocation r;
	int binlen, len;

	(void)state;
	len = armored_sample(text, sizeof(text), bin, &binlen);
	snprintf(twice, sizeof(twice), "%s\n%s", text, text);
	assert_dearmor_refused(twice, "more than one");
	assert_dearmor_refused("just text\n", "no -----BEGIN");
	text[len - 30] = '\0'; /* cut before the END line */
	assert_dearmor_refused(text, "no -----END NETD CREDENTIAL-----");
	armored_sample(text, sizeof(text), bin, &binlen);
	p = strstr(text, "\n") + 5;
	*p = '*';
	assert_dearmor_refused(text, "not valid base64");
	/* A byte from 0x80 up, which libsodium 1.0.18 alone would decode as a '/'. */
	armored_sample(text, sizeof(text), bin, &binlen);
	p = strstr(text, "\n") + 6;
	*p = (char)0xb3;
	assert_dearmor_refused(text, "not valid base64");
	armored_sample(text, sizeof(text), bin, &binlen);
	p = strstr(text, "CREDENTIAL");
	memcpy(p, "REVOCATION", 10);
	assert_dearmor_refused(text, "block does not end");
	assert_dearmor_refused("-----BEGIN NETD KEYS-----\nAQE=\n-----END NETD KEYS-----\n",
	                       "unknown armour header");
	/* The header must name what the bytes are. */
	sample_revocation(&r, CRED_REVOKE_KEY);
	binlen = cred_revocation_encode(&r, bin, sizeof(bin));
	len = cred_armor(bin, (size_t)binlen, text, sizeof(text));
	p = strstr(text, "REVOCATION");
	memcpy(p, "CREDENTIAL", 10);
	p = strstr(p + 10, "REVOCATION");
	memcpy(p, "CREDENTIAL", 10);
	assert_dearmor_refused(text, "holds a revocation");
	/* More base64 than any document. */
	strcpy(twice, "-----BEGIN NETD CREDENTIAL-----\n");
	for (size_t i = 0; i < 30; i++)
		strcat(twice, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
	strcat(twice, "-----END NETD CREDENTIAL-----\n");
	assert_dearmor_refused(twice, "over the size limit");
	assert_dearmor_refused("-----BEGIN NETD CREDENTIAL-----\nAAAA\n-----END NETD "
	                       "CREDENTIAL-----\n",
	                       "no netd document");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip_site),
	        cmocka_unit_test(test_round_trip_revocation),
	        cmocka_unit_test(test_round_trip_authorities),
	        cmocka_unit_test(test_typical_size),
	        cmocka_unit_test(test_site_limits),
	        cmocka_unit_test(test_size_limit),
	        cmocka_unit_test(test_value_characters),
	        cmocka_unit_test(test_truncation_and_trailing),
	        cmocka_unit_test(test_version_and_kind),
	        cmocka_unit_test(test_authorities_limits),
	        cmocka_unit_test(test_revocation_limits),
	        cmocka_unit_test(test_sorted_lists),
	        cmocka_unit_test(test_normalize),
	        cmocka_unit_test(test_sign),
	        cmocka_unit_test(test_signed_bytes),
	        cmocka_unit_test(test_sign_until_full),
	        cmocka_unit_test(test_verify_threshold),
	        cmocka_unit_test(test_verify_duplicate_and_unknown),
	        cmocka_unit_test(test_verify_refusals),
	        cmocka_unit_test(test_verify_small_order_authority),
	        cmocka_unit_test(test_revoked),
	        cmocka_unit_test(test_revocation_verify_and_id),
	        cmocka_unit_test(test_authority_update),
	        cmocka_unit_test(test_attribute),
	        cmocka_unit_test(test_armor_layout),
	        cmocka_unit_test(test_armor_refusals),
	};

	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
