/* Federation credentials: the canonical encoding of the three kinds of document (through
 * codec), their armour, Ed25519 signatures over domain-separated bytes, and verification
 * against an authority set. Every rule the decoder enforces the encoder enforces too, by
 * the same checks, so what decodes re-encodes to the same bytes and signatures over it hold. */
#include "netd/cred.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netd/codec.h"
#include "netd/key.h"

#define JURISDICTION_LEN 2
#define SHORT_KEY_LEN    8 /* base64 characters naming an authority in messages */

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ---- field rules ---- */

static bool
label_key_valid(const char *s)
{
	size_t n = strnlen(s, CRED_LABEL_KEY_MAX + 1);

	if (n == 0 || n > CRED_LABEL_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.'))
			return false;
	/* cred_attribute answers these two from their own fields: a label may not shadow them. */
	return strcmp(s, "provider") != 0 && strcmp(s, "jurisdiction") != 0;
}

/* Printable ASCII without the two characters that would need quoting in a config. */
static bool
value_valid(const char *s)
{
	size_t n = strnlen(s, CRED_VALUE_MAX + 1);

	if (n > CRED_VALUE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

static bool
jurisdiction_valid(const char *s)
{
	size_t n = strnlen(s, JURISDICTION_LEN + 1);

	return n == 0 ||
	       (n == JURISDICTION_LEN && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z');
}

static bool
prefixes_sorted(const struct addr_prefix *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (addr_prefix_cmp(&p[i - 1], &p[i]) >= 0)
			return false;
	return true;
}

static const char *
sigs_problem(const struct cred_sig *sigs, uint8_t n)
{
	if (n > CRED_MAX_SIGS)
		return "too many signatures";
	for (size_t i = 1; i < n; i++)
		if (memcmp(sigs[i - 1].authority, sigs[i].authority, CRED_KEY_LEN) >= 0)
			return "signatures not sorted by authority, or an authority twice";
	return NULL;
}

static const char *
labels_problem(const struct cred_label *labels, uint8_t n)
{
	if (n > CRED_MAX_LABELS)
		return "too many labels";
	for (size_t i = 0; i < n; i++) {
		if (!label_key_valid(labels[i].key))
			return "a label key is not 1-32 of a-z, 0-9, '-', '_', '.' (or is "
			       "reserved)";
		if (!value_valid(labels[i].value))
			return "a label value is not printable ASCII up to 64 without '\"' or '\\'";
		if (i > 0 && strcmp(labels[i - 1].key, labels[i].key) >= 0)
			return "labels not sorted by key, or a key twice";
	}
	return NULL;
}

static const char *
site_problem(const void *doc)
{
	const struct cred *c = doc;

	if (!wire_name_valid(c->federation))
		return "the federation is not a valid name";
	if (!wire_name_valid(c->site))
		return "the site is not a valid name";
	if (c->not_after <= c->not_before)
		return "not_after is not after not_before";
	if (c->nprefixes > WIRE_MAX_PREFIXES || !prefixes_sorted(c->prefixes, c->nprefixes))
		return "prefixes too many, or not sorted, or one twice";
	if (c->noverlay > WIRE_MAX_OVERLAY || !prefixes_sorted(c->overlay, c->noverlay))
		return "overlay ranges too many, or not sorted, or one twice";
	if (c->nvnis > WIRE_MAX_VNIS)
		return "too many VNIs";
	for (size_t i = 0; i < c->nvnis; i++)
		if (c->vnis[i] == 0 || c->vnis[i] > WIRE_VNI_MAX ||
		    (i > 0 && c->vnis[i - 1] >= c->vnis[i]))
			return "VNIs out of 1-16777215, or not sorted, or one twice";
	if (!value_valid(c->provider))
		return "the provider is not printable ASCII up to 64 without '\"' or '\\'";
	if (!jurisdiction_valid(c->jurisdiction))
		return "the jurisdiction is not two upper-case letters";
	return labels_problem(c->labels, c->nlabels);
}

static const char *
revocation_problem(const void *doc)
{
	const struct cred_revocation *r = doc;

	if (!wire_name_valid(r->federation))
		return "the federation is not a valid name";
	if (r->kind != CRED_REVOKE_SERIAL && r->kind != CRED_REVOKE_KEY)
		return "unknown revocation kind";
	if (r->kind == CRED_REVOKE_SERIAL && !wire_name_valid(r->site))
		return "the site is not a valid name";
	if (!value_valid(r->reason))
		return "the reason is not printable ASCII up to 64 without '\"' or '\\'";
	return NULL;
}

static const char *
authorities_problem(const void *doc)
{
	const struct cred_authorities *a = doc;

	if (!wire_name_valid(a->federation))
		return "the federation is not a valid name";
	if (a->nkeys == 0 || a->nkeys > CRED_MAX_AUTHORITIES)
		return "not 1-16 authority keys";
	for (size_t i = 1; i < a->nkeys; i++)
		if (memcmp(a->keys[i - 1], a->keys[i], CRED_KEY_LEN) >= 0)
			return "authority keys not sorted, or one twice";
	if (a->threshold == 0 || a->threshold > a->nkeys)
		return "the threshold is not between 1 and the number of keys";
	return NULL;
}

/* ---- writing ---- */

static void
put_i64(struct codec_out *o, int64_t v)
{
	codec_put_u64(o, (uint64_t)v); /* two's complement */
}

/* Counts are checked by the document's problem function before anything is written. */
static void
put_prefixes(struct codec_out *o, const struct addr_prefix *p, uint8_t n)
{
	codec_put_u8(o, n);
	for (size_t i = 0; i < n; i++)
		codec_put_prefix(o, &p[i]);
}

static void
put_site_body(struct codec_out *o, const void *doc)
{
	const struct cred *c = doc;

	codec_put_name(o, c->federation);
	codec_put_name(o, c->site);
	codec_put_bytes(o, c->wg_key, CRED_KEY_LEN);
	codec_put_u64(o, c->serial);
	put_i64(o, c->not_before);
	put_i64(o, c->not_after);
	put_prefixes(o, c->prefixes, c->nprefixes);
	put_prefixes(o, c->overlay, c->noverlay);
	codec_put_u8(o, c->nvnis);
	for (size_t i = 0; i < c->nvnis; i++)
		codec_put_u24(o, c->vnis[i]);
	codec_put_text(o, c->provider, CRED_VALUE_MAX);
	codec_put_text(o, c->jurisdiction, JURISDICTION_LEN);
	codec_put_u8(o, c->nlabels);
	for (size_t i = 0; i < c->nlabels; i++) {
		codec_put_text(o, c->labels[i].key, CRED_LABEL_KEY_MAX);
		codec_put_text(o, c->labels[i].value, CRED_VALUE_MAX);
	}
}

static void
put_revocation_body(struct codec_out *o, const void *doc)
{
	const struct cred_revocation *r = doc;

	codec_put_name(o, r->federation);
	codec_put_u8(o, r->kind);
	if (r->kind == CRED_REVOKE_SERIAL) {
		codec_put_name(o, r->site);
		codec_put_u64(o, r->serial);
	} else {
		codec_put_bytes(o, r->key, CRED_KEY_LEN);
	}
	put_i64(o, r->issued);
	codec_put_text(o, r->reason, CRED_VALUE_MAX);
}

static void
put_authorities_body(struct codec_out *o, const void *doc)
{
	const struct cred_authorities *a = doc;

	codec_put_name(o, a->federation);
	codec_put_u64(o, a->version);
	codec_put_u8(o, a->nkeys);
	for (size_t i = 0; i < a->nkeys; i++)
		codec_put_bytes(o, a->keys[i], CRED_KEY_LEN);
	codec_put_u8(o, a->threshold);
}

/* ---- reading ---- */

/* A reader that remembers the first field that did not read, for the error. */
struct dec {
	struct codec_in in;
	const char *field;
};

static void
mark(struct dec *d, const char *field)
{
	if (d->in.bad && d->field == NULL)
		d->field = field;
}

static int64_t
get_i64(struct codec_in *in)
{
	uint64_t v = codec_get_u64(in);

	return v <= INT64_MAX ? (int64_t)v : -(int64_t)(UINT64_MAX - v) - 1;
}

/* The header and the site body's fields up to the validity, read as get_site_body reads
 * them: 0, or -1 when buf is not a site credential that holds them. */
int
cred_site_validity(const uint8_t *buf, size_t len, uint64_t *serial, int64_t *not_after)
{
	struct codec_in in = {.buf = buf, .len = len};
	char name[WIRE_NAME_MAX + 1];
	uint8_t key[CRED_KEY_LEN];

	if (codec_get_u8(&in) != CRED_VERSION || codec_get_u8(&in) != CRED_KIND_SITE)
		return -1;
	codec_get_name(&in, name); /* the federation */
	codec_get_name(&in, name); /* the site */
	codec_get_copy(&in, key, sizeof(key));
	*serial = codec_get_u64(&in);
	get_i64(&in); /* not before */
	*not_after = get_i64(&in);
	return in.bad ? -1 : 0;
}

/* A count byte; over max it is bad and reads as 0, so no loop runs past an array. */
static uint8_t
get_count(struct codec_in *in, unsigned max)
{
	uint8_t n = codec_get_u8(in);

	if (n > max) {
		in->bad = true;
		return 0;
	}
	return n;
}

static uint8_t
get_prefixes(struct codec_in *in, struct addr_prefix *p, unsigned max)
{
	uint8_t n = get_count(in, max);

	for (size_t i = 0; i < n && !in->bad; i++)
		codec_get_prefix(in, &p[i]);
	return n;
}

static void
get_site_body(struct dec *d, void *doc)
{
	struct cred *c = doc;

	codec_get_name(&d->in, c->federation);
	mark(d, "federation");
	codec_get_name(&d->in, c->site);
	mark(d, "site");
	codec_get_copy(&d->in, c->wg_key, CRED_KEY_LEN);
	c->serial = codec_get_u64(&d->in);
	c->not_before = get_i64(&d->in);
	c->not_after = get_i64(&d->in);
	mark(d, "key, serial and validity");
	c->nprefixes = get_prefixes(&d->in, c->prefixes, WIRE_MAX_PREFIXES);
	mark(d, "prefixes");
	c->noverlay = get_prefixes(&d->in, c->overlay, WIRE_MAX_OVERLAY);
	mark(d, "overlay ranges");
	c->nvnis = get_count(&d->in, WIRE_MAX_VNIS);
	for (size_t i = 0; i < c->nvnis; i++)
		c->vnis[i] = codec_get_u24(&d->in);
	mark(d, "VNIs");
	codec_get_text(&d->in, c->provider, CRED_VALUE_MAX);
	mark(d, "provider");
	codec_get_text(&d->in, c->jurisdiction, JURISDICTION_LEN);
	mark(d, "jurisdiction");
	c->nlabels = get_count(&d->in, CRED_MAX_LABELS);
	for (size_t i = 0; i < c->nlabels; i++) {
		codec_get_text(&d->in, c->labels[i].key, CRED_LABEL_KEY_MAX);
		codec_get_text(&d->in, c->labels[i].value, CRED_VALUE_MAX);
	}
	mark(d, "labels");
}

static void
get_revocation_body(struct dec *d, void *doc)
{
	struct cred_revocation *r = doc;

	codec_get_name(&d->in, r->federation);
	mark(d, "federation");
	r->kind = codec_get_u8(&d->in);
	if (r->kind == CRED_REVOKE_SERIAL) {
		codec_get_name(&d->in, r->site);
		r->serial = codec_get_u64(&d->in);
	} else if (r->kind == CRED_REVOKE_KEY) {
		codec_get_copy(&d->in, r->key, CRED_KEY_LEN);
	} else {
		d->in.bad = true;
	}
	mark(d, "what is revoked");
	r->issued = get_i64(&d->in);
	codec_get_text(&d->in, r->reason, CRED_VALUE_MAX);
	mark(d, "issued and reason");
}

static void
get_authorities_body(struct dec *d, void *doc)
{
	struct cred_authorities *a = doc;

	codec_get_name(&d->in, a->federation);
	mark(d, "federation");
	a->version = codec_get_u64(&d->in);
	a->nkeys = get_count(&d->in, CRED_MAX_AUTHORITIES);
	for (size_t i = 0; i < a->nkeys; i++)
		codec_get_copy(&d->in, a->keys[i], CRED_KEY_LEN);
	a->threshold = codec_get_u8(&d->in);
	mark(d, "version, keys and threshold");
}

/* ---- the three kinds ---- */

struct kind {
	uint8_t kind;
	const char *name;    /* for messages */
	const char *context; /* what signatures are over starts with this, NUL included */
	size_t context_len;
	const char *(*problem)(const void *doc);
	void (*put_body)(struct codec_out *o, const void *doc);
	void (*get_body)(struct dec *d, void *doc);
};

static const char site_context[] = "netd credential v1";
static const char revocation_context[] = "netd revocation v1";
static const char authorities_context[] = "netd authorities v1";

static const struct kind site_kind = {
        CRED_KIND_SITE, "credential",  site_context,  sizeof(site_context),
        site_problem,   put_site_body, get_site_body,
};
static const struct kind revocation_kind = {
        CRED_KIND_REVOCATION, "revocation",        revocation_context,  sizeof(revocation_context),
        revocation_problem,   put_revocation_body, get_revocation_body,
};
static const struct kind authorities_kind = {
        CRED_KIND_AUTHORITIES,       "authority update",  authorities_context,
        sizeof(authorities_context), authorities_problem, put_authorities_body,
        get_authorities_body,
};

static const struct kind *
kind_by_number(int kind)
{
	return kind == CRED_KIND_SITE          ? &site_kind
	       : kind == CRED_KIND_REVOCATION  ? &revocation_kind
	       : kind == CRED_KIND_AUTHORITIES ? &authorities_kind
	                                       : NULL;
}

/* Big enough for the bytes any signature covers. */
#define SIGNED_MAX (sizeof(authorities_context) + CRED_ENCODED_MAX)

static int
encode_doc(const struct kind *k, const void *doc, const struct cred_sig *sigs, uint8_t nsigs,
           uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = min_size(cap, CRED_ENCODED_MAX)};

	if (k->problem(doc) != NULL || sigs_problem(sigs, nsigs) != NULL)
		return -1;
	codec_put_u8(&o, CRED_VERSION);
	codec_put_u8(&o, k->kind);
	k->put_body(&o, doc);
	codec_put_u8(&o, nsigs);
	for (size_t i = 0; i < nsigs; i++) {
		codec_put_bytes(&o, sigs[i].authority, CRED_KEY_LEN);
		codec_put_bytes(&o, sigs[i].sig, CRED_SIG_LEN);
	}
	return codec_out_result(&o);
}

/* What signatures cover: the kind's context, then the encoding up to the signatures. With
 * context false, the encoding alone (a revocation's identity). */
static int
signed_bytes(const struct kind *k, const void *doc, bool context, uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = cap};

	if (k->problem(doc) != NULL)
		return -1;
	if (context)
		codec_put_bytes(&o, k->context, k->context_len);
	codec_put_u8(&o, CRED_VERSION);
	codec_put_u8(&o, k->kind);
	k->put_body(&o, doc);
	return codec_out_result(&o);
}

static int
decode_doc(const struct kind *k, const uint8_t *buf, size_t len, void *doc, struct cred_sig *sigs,
           uint8_t *nsigs, char *err, size_t errlen)
{
	struct dec d = {.in = {.buf = buf, .len = len, .off = 2}};
	const struct kind *found;
	const char *problem;

	if (len > CRED_ENCODED_MAX)
		return fail(err, errlen, "%zu bytes, over the limit of %d", len, CRED_ENCODED_MAX);
	if (len < 2)
		return fail(err, errlen, "truncated: %zu bytes", len);
	if (buf[0] != CRED_VERSION)
		return fail(err, errlen, "unknown version %u", buf[0]);
	if (buf[1] != k->kind) {
		found = kind_by_number(buf[1]);
		if (found != NULL)
			return fail(err, errlen, "a %s, not a %s", found->name, k->name);
		return fail(err, errlen, "unknown kind %u", buf[1]);
	}
	k->get_body(&d, doc);
	*nsigs = get_count(&d.in, CRED_MAX_SIGS);
	for (size_t i = 0; i < *nsigs; i++) {
		codec_get_copy(&d.in, sigs[i].authority, CRED_KEY_LEN);
		codec_get_copy(&d.in, sigs[i].sig, CRED_SIG_LEN);
	}
	mark(&d, "signatures");
	if (d.field != NULL)
		return fail(err, errlen, "%s: malformed or truncated", d.field);
	if (d.in.off != len)
		return fail(err, errlen, "%zu bytes after the end", len - d.in.off);
	problem = k->problem(doc);
	if (problem == NULL)
		problem = sigs_problem(sigs, *nsigs);
	if (problem != NULL)
		return fail(err, errlen, "%s", problem);
	return 0;
}

int
cred_encode(const struct cred *c, uint8_t *buf, size_t cap)
{
	return encode_doc(&site_kind, c, c->sigs, c->nsigs, buf, cap);
}

int
cred_decode(const uint8_t *buf, size_t len, struct cred *c, char *err, size_t errlen)
{
	struct cred tmp = {0};

	if (decode_doc(&site_kind, buf, len, &tmp, tmp.sigs, &tmp.nsigs, err, errlen) < 0)
		return -1;
	*c = tmp;
	return 0;
}

int
cred_revocation_encode(const struct cred_revocation *r, uint8_t *buf, size_t cap)
{
	return encode_doc(&revocation_kind, r, r->sigs, r->nsigs, buf, cap);
}

int
cred_revocation_decode(const uint8_t *buf, size_t len, struct cred_revocation *r, char *err,
                       size_t errlen)
{
	struct cred_revocation tmp = {0};

	if (decode_doc(&revocation_kind, buf, len, &tmp, tmp.sigs, &tmp.nsigs, err, errlen) < 0)
		return -1;
	*r = tmp;
	return 0;
}

int
cred_authorities_encode(const struct cred_authorities *a, uint8_t *buf, size_t cap)
{
	return encode_doc(&authorities_kind, a, a->sigs, a->nsigs, buf, cap);
}

int
cred_authorities_decode(const uint8_t *buf, size_t len, struct cred_authorities *a, char *err,
                        size_t errlen)
{
	struct cred_authorities tmp = {0};

	if (decode_doc(&authorities_kind, buf, len, &tmp, tmp.sigs, &tmp.nsigs, err, errlen) < 0)
		return -1;
	*a = tmp;
	return 0;
}

int
cred_kind_of(const uint8_t *buf, size_t len)
{
	if (len < 2 || buf[0] != CRED_VERSION || kind_by_number(buf[1]) == NULL)
		return -1;
	return buf[1];
}

/* ---- armour ---- */

#define ARMOR_LINE   64
#define ARMOR_BEGIN  "-----BEGIN NETD "
#define ARMOR_END    "-----END NETD "
#define ARMOR_DASHES "-----"
#define BASE64_MAX   sodium_base64_ENCODED_LEN(CRED_ENCODED_MAX, sodium_base64_VARIANT_ORIGINAL)

static const char *
armor_name(int kind)
{
	return kind == CRED_KIND_SITE          ? "CREDENTIAL"
	       : kind == CRED_KIND_REVOCATION  ? "REVOCATION"
	       : kind == CRED_KIND_AUTHORITIES ? "AUTHORITIES"
	                                       : NULL;
}

int
cred_armor(const uint8_t *bin, size_t len, char *text, size_t cap)
{
	const char *name = armor_name(cred_kind_of(bin, len));
	char b64[BASE64_MAX];
	size_t n, used;
	int w;

	if (name == NULL || len > CRED_ENCODED_MAX)
		return -1;
	sodium_bin2base64(b64, sizeof(b64), bin, len, sodium_base64_VARIANT_ORIGINAL);
	n = strlen(b64);
	w = snprintf(text, cap, ARMOR_BEGIN "%s" ARMOR_DASHES "\n", name);
	if (w < 0 || (size_t)w >= cap)
		return -1;
	used = (size_t)w;
	for (size_t at = 0; at < n; at += ARMOR_LINE) {
		w = snprintf(text + used, cap - used, "%.*s\n", ARMOR_LINE, b64 + at);
		if (w < 0 || (size_t)w >= cap - used)
			return -1;
		used += (size_t)w;
	}
	w = snprintf(text + used, cap - used, ARMOR_END "%s" ARMOR_DASHES "\n", name);
	if (w < 0 || (size_t)w >= cap - used)
		return -1;
	return (int)(used + (size_t)w);
}

static bool
starts_with(const char *line, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && memcmp(line, prefix, p) == 0;
}

/* The kind a "-----BEGIN NETD KIND-----" or "-----END NETD KIND-----" line names, or -1. */
static int
armor_line_kind(const char *line, size_t n, const char *start)
{
	size_t s = strlen(start), d = strlen(ARMOR_DASHES);

	if (!starts_with(line, n, start) || n < s + d || memcmp(line + n - d, ARMOR_DASHES, d) != 0)
		return -1;
	for (int kind = CRED_KIND_SITE; kind <= CRED_KIND_AUTHORITIES; kind++) {
		const char *name = armor_name(kind);

		if (n - s - d == strlen(name) && memcmp(line + s, name, strlen(name)) == 0)
			return kind;
	}
	return -1;
}

/* Collects the base64 between the block's lines into b64 (BASE64_MAX); its kind in *kind. */
static int
armor_block(const char *text, size_t len, char *b64, size_t *b64len, int *kind, char *err,
            size_t errlen)
{
	enum { BEFORE, INSIDE, AFTER } where = BEFORE;
	const char *line = text, *nl;
	size_t n;

	for (; line < text + len; line += n + 1) {
		nl = memchr(line, '\n', (size_t)(text + len - line));
		n = nl != NULL ? (size_t)(nl - line) : (size_t)(text + len - line);
		while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		if (where != INSIDE && starts_with(line, n, ARMOR_BEGIN)) {
			if (where == AFTER)
				return fail(err, errlen, "more than one armoured block");
			*kind = armor_line_kind(line, n, ARMOR_BEGIN);
			if (*kind < 0)
				return fail(err, errlen, "unknown armour header \"%.*s\"",
				            (int)min_size(n, 64), line);
			where = INSIDE;
		} else if (where == INSIDE && starts_with(line, n, ARMOR_DASHES)) {
			if (armor_line_kind(line, n, ARMOR_END) != *kind)
				return fail(err, errlen,
				            "the block does not end with " ARMOR_END
				            "%s" ARMOR_DASHES,
				            armor_name(*kind));
			where = AFTER;
		} else if (where == INSIDE) {
			if (n > BASE64_MAX - 1 - *b64len)
				return fail(err, errlen,
				            "the armoured block is over the size limit");
			memcpy(b64 + *b64len, line, n);
			*b64len += n;
		}
	}
	if (where == BEFORE)
		return fail(err, errlen, "no " ARMOR_BEGIN "..." ARMOR_DASHES " line");
	if (where == INSIDE)
		return fail(err, errlen, "no " ARMOR_END "%s" ARMOR_DASHES " line",
		            armor_name(*kind));
	return 0;
}

int
cred_dearmor(const char *text, size_t len, uint8_t *bin, size_t cap, char *err, size_t errlen)
{
	char b64[BASE64_MAX];
	uint8_t tmp[CRED_ENCODED_MAX];
	size_t b64len = 0, n;
	const char *end;
	int kind = -1, found;

	if (armor_block(text, len, b64, &b64len, &kind, err, errlen) < 0)
		return -1;
	if (!key_base64_chars(b64, b64len) ||
	    sodium_base642bin(tmp, sizeof(tmp), b64, b64len, NULL, &n, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + b64len)
		return fail(err, errlen, "the armoured block is not valid base64");
	found = cred_kind_of(tmp, n);
	if (found < 0)
		return fail(err, errlen, "the armoured block holds no netd document");
	if (found != kind)
		return fail(err, errlen, "the armour says %s but the block holds a %s",
		            armor_name(kind), kind_by_number(found)->name);
	if (n > cap)
		return fail(err, errlen, "%zu bytes, more than the %zu room", n, cap);
	memcpy(bin, tmp, n);
	return (int)n;
}

/* ---- normalising ---- */

static int
cmp_prefix(const void *a, const void *b)
{
	return addr_prefix_cmp(a, b);
}

static int
cmp_vni(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_label(const void *a, const void *b)
{
	const struct cred_label *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* By authority, then by signature bytes, so that which of two signatures by one authority
 * survives does not depend on their order. */
static int
cmp_sig(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct cred_sig));
}

/* Sorts n elements and drops each that `same` finds equal to the one kept before it. */
static uint8_t
sort_unique(void *base, uint8_t n, size_t size, int (*cmp)(const void *, const void *),
            int (*same)(const void *, const void *))
{
	uint8_t *p = base;
	uint8_t kept = 0;

	if (n == 0)
		return 0;
	qsort(base, n, size, cmp);
	for (size_t i = 1; i < n; i++)
		if (same(p + kept * size, p + i * size) != 0)
			memmove(p + ++kept * size, p + i * size, size);
	return kept + 1;
}

static int
same_sig_authority(const void *a, const void *b)
{
	return memcmp(a, b, CRED_KEY_LEN);
}

static int
same_label_key(const void *a, const void *b)
{
	return strcmp(((const struct cred_label *)a)->key, ((const struct cred_label *)b)->key);
}

int
cred_normalize(struct cred *c)
{
	struct cred tmp = *c;
	uint8_t nlabels;

	if (tmp.nprefixes > WIRE_MAX_PREFIXES || tmp.noverlay > WIRE_MAX_OVERLAY ||
	    tmp.nvnis > WIRE_MAX_VNIS || tmp.nlabels > CRED_MAX_LABELS || tmp.nsigs > CRED_MAX_SIGS)
		return -1;
	tmp.nprefixes = sort_unique(tmp.prefixes, tmp.nprefixes, sizeof(tmp.prefixes[0]),
	                            cmp_prefix, cmp_prefix);
	tmp.noverlay = sort_unique(tmp.overlay, tmp.noverlay, sizeof(tmp.overlay[0]), cmp_prefix,
	                           cmp_prefix);
	tmp.nvnis = sort_unique(tmp.vnis, tmp.nvnis, sizeof(tmp.vnis[0]), cmp_vni, cmp_vni);
	tmp.nlabels =
	        sort_unique(tmp.labels, tmp.nlabels, sizeof(tmp.labels[0]), cmp_label, cmp_label);
	nlabels = tmp.nlabels;
	if (sort_unique(tmp.labels, nlabels, sizeof(tmp.labels[0]), cmp_label, same_label_key) !=
	    nlabels)
		return -1; /* one key, two values */
	tmp.nsigs =
	        sort_unique(tmp.sigs, tmp.nsigs, sizeof(tmp.sigs[0]), cmp_sig, same_sig_authority);
	*c = tmp;
	return 0;
}

/* ---- signing ---- */

static bool
crypto_ready(void)
{
	return sodium_init() >= 0;
}

int
cred_authority_from_seed(const uint8_t seed[32], uint8_t pub[CRED_KEY_LEN], uint8_t secret[64])
{
	if (!crypto_ready())
		return -1;
	return crypto_sign_seed_keypair(pub, secret, seed) == 0 ? 0 : -1;
}

/* The authority's signature replaces any earlier one of its own; the list stays sorted, and
 * the document with it must still encode. */
static int
add_signature(const struct kind *k, const void *doc, struct cred_sig *sigs, uint8_t *nsigs,
              const uint8_t secret[64])
{
	uint8_t msg[SIGNED_MAX], enc[CRED_ENCODED_MAX];
	struct cred_sig next[CRED_MAX_SIGS + 1];
	struct cred_sig mine;
	uint8_t n = 0;
	int len = signed_bytes(k, doc, true, msg, sizeof(msg));

	if (len < 0 || *nsigs > CRED_MAX_SIGS || !crypto_ready())
		return -1;
	crypto_sign_ed25519_sk_to_pk(mine.authority, secret);
	if (crypto_sign_detached(mine.sig, NULL, msg, (size_t)len, secret) != 0)
		return -1;
	for (size_t i = 0; i < *nsigs; i++)
		if (memcmp(sigs[i].authority, mine.authority, CRED_KEY_LEN) != 0)
			next[n++] = sigs[i];
	if (n == CRED_MAX_SIGS)
		return -1;
	next[n++] = mine;
	qsort(next, n, sizeof(next[0]), cmp_sig);
	if (encode_doc(k, doc, next, n, enc, sizeof(enc)) < 0)
		return -1;
	memcpy(sigs, next, n * sizeof(next[0]));
	*nsigs = n;
	return 0;
}

int
cred_sign(struct cred *c, const uint8_t secret[64])
{
	return add_signature(&site_kind, c, c->sigs, &c->nsigs, secret);
}

int
cred_revocation_sign(struct cred_revocation *r, const uint8_t secret[64])
{
	return add_signature(&revocation_kind, r, r->sigs, &r->nsigs, secret);
}

int
cred_authorities_sign(struct cred_authorities *a, const uint8_t secret[64])
{
	return add_signature(&authorities_kind, a, a->sigs, &a->nsigs, secret);
}

/* ---- verification ---- */

static const char *const status_names[] = {
        [CRED_OK] = "ok",
        [CRED_WRONG_FEDERATION] = "wrong-federation",
        [CRED_BAD_SIGNATURE] = "bad-signature",
        [CRED_TOO_FEW_SIGNERS] = "too-few-signers",
        [CRED_NOT_YET_VALID] = "not-yet-valid",
        [CRED_EXPIRED] = "expired",
        [CRED_REVOKED_SERIAL] = "revoked-serial",
        [CRED_REVOKED_KEY] = "revoked-key",
        [CRED_STALE] = "stale",
};

const char *
cred_status_name(enum cred_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s]
	                                                                    : "unknown";
}

static enum cred_status __attribute__((format(printf, 3, 4)))
verdict(struct cred_verdict *v, enum cred_status status, const char *fmt, ...)
{
	va_list ap;

	v->status = status;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return status;
}

/* Appends to v->why, cutting at its end. */
static void __attribute__((format(printf, 2, 3)))
why_append(struct cred_verdict *v, const char *fmt, ...)
{
	size_t used = strnlen(v->why, sizeof(v->why));
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why + used, sizeof(v->why) - used, fmt, ap);
	va_end(ap);
}

/* The first characters of a key's base64: enough for people to tell authorities apart. */
static const char *
short_key(const uint8_t key[CRED_KEY_LEN], char out[SHORT_KEY_LEN + 1])
{
	char b64[sodium_base64_ENCODED_LEN(CRED_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), key, CRED_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
	memcpy(out, b64, SHORT_KEY_LEN);
	out[SHORT_KEY_LEN] = '\0';
	return out;
}

const char *
cred_format_time(int64_t t, char out[CRED_TIME_STRLEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, CRED_TIME_STRLEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, CRED_TIME_STRLEN, "@%" PRId64, t);
	return out;
}

static int
key_index(const struct cred_authorities *set, const uint8_t key[CRED_KEY_LEN])
{
	for (size_t i = 0; i < set->nkeys && i < CRED_MAX_AUTHORITIES; i++)
		if (memcmp(set->keys[i], key, CRED_KEY_LEN) == 0)
			return (int)i;
	return -1;
}

static enum cred_status
too_few(const struct cred_authorities *set, const bool signed_by[], struct cred_verdict *v)
{
	char name[SHORT_KEY_LEN + 1];
	const char *sep = "";

	verdict(v, CRED_TOO_FEW_SIGNERS,
	        "%u of %u needed signatures: %u more from the authorities not yet signed: ",
	        v->signers, v->needed, v->needed - v->signers);
	for (size_t i = 0; i < set->nkeys && i < CRED_MAX_AUTHORITIES; i++) {
		if (signed_by[i])
			continue;
		why_append(v, "%s%s", sep, short_key(set->keys[i], name));
		sep = ", ";
	}
	if (v->unknown > 0)
		why_append(v, " (%u by keys not in the set ignored)", v->unknown);
	return CRED_TOO_FEW_SIGNERS;
}

/* Counts the distinct authorities of set whose signatures over doc verify. */
static enum cred_status
check_signers(const struct kind *k, const void *doc, const struct cred_sig *sigs, uint8_t nsigs,
              const struct cred_authorities *set, struct cred_verdict *v)
{
	uint8_t msg[SIGNED_MAX];
	bool signed_by[CRED_MAX_AUTHORITIES] = {false};
	unsigned nkeys = set->nkeys < CRED_MAX_AUTHORITIES ? set->nkeys : CRED_MAX_AUTHORITIES;
	char name[SHORT_KEY_LEN + 1];
	int len = signed_bytes(k, doc, true, msg, sizeof(msg));
	int at;

	v->needed = set->threshold;
	if (set->threshold == 0 || set->threshold > nkeys)
		return verdict(v, CRED_TOO_FEW_SIGNERS,
		               "the authority set is unusable: a threshold of %u with %u keys",
		               set->threshold, nkeys);
	if (len < 0 || !crypto_ready())
		return verdict(v, CRED_BAD_SIGNATURE, "the %s is malformed: no signature can hold",
		               k->name);
	for (size_t i = 0; i < nsigs && i < CRED_MAX_SIGS; i++) {
		at = key_index(set, sigs[i].authority);
		if (at < 0) {
			v->unknown++;
			continue;
		}
		if (crypto_sign_verify_detached(sigs[i].sig, msg, (size_t)len, sigs[i].authority) !=
		    0)
			return verdict(v, CRED_BAD_SIGNATURE,
			               "the signature of authority %s does not verify",
			               short_key(sigs[i].authority, name));
		if (!signed_by[at])
			v->signers++;
		signed_by[at] = true;
	}
	if (v->signers < v->needed)
		return too_few(set, signed_by, v);
	return CRED_OK;
}

static enum cred_status
check_federation(const char *federation, const struct cred_authorities *set, struct cred_verdict *v)
{
	if (strncmp(federation, set->federation, WIRE_NAME_MAX + 1) != 0)
		return verdict(v, CRED_WRONG_FEDERATION, "of federation %.32s, not %.32s",
		               federation, set->federation);
	return CRED_OK;
}

enum cred_status
cred_verify(const struct cred *c, const struct cred_authorities *set, int64_t now,
            struct cred_verdict *v)
{
	struct cred_verdict local;
	char when[32];

	if (v == NULL)
		v = &local;
	memset(v, 0, sizeof(*v));
	if (check_federation(c->federation, set, v) != CRED_OK ||
	    check_signers(&site_kind, c, c->sigs, c->nsigs, set, v) != CRED_OK)
		return v->status;
	if (now < c->not_before)
		return verdict(v, CRED_NOT_YET_VALID, "not valid before %s",
		               cred_format_time(c->not_before, when));
	if (now >= c->not_after)
		return verdict(v, CRED_EXPIRED, "expired at %s",
		               cred_format_time(c->not_after, when));
	return verdict(v, CRED_OK, "%u of %u needed signatures, valid until %s", v->signers,
	               v->needed, cred_format_time(c->not_after, when));
}

enum cred_status
cred_revocation_verify(const struct cred_revocation *r, const struct cred_authorities *set,
                       struct cred_verdict *v)
{
	struct cred_verdict local;

	if (v == NULL)
		v = &local;
	memset(v, 0, sizeof(*v));
	if (check_federation(r->federation, set, v) != CRED_OK ||
	    check_signers(&revocation_kind, r, r->sigs, r->nsigs, set, v) != CRED_OK)
		return v->status;
	return verdict(v, CRED_OK, "%u of %u needed signatures", v->signers, v->needed);
}

/* The new set's own shape (keys, threshold) holds because a malformed one does not encode,
 * and nothing that does not encode has a signature that verifies. */
enum cred_status
cred_authorities_verify(const struct cred_authorities *update,
                        const struct cred_authorities *current, struct cred_verdict *v)
{
	struct cred_verdict local;

	if (v == NULL)
		v = &local;
	memset(v, 0, sizeof(*v));
	if (check_federation(update->federation, current, v) != CRED_OK ||
	    check_signers(&authorities_kind, update, update->sigs, update->nsigs, current, v) !=
	            CRED_OK)
		return v->status;
	if (update->version <= current->version)
		return verdict(v, CRED_STALE,
		               "version %" PRIu64 " is not above the current %" PRIu64,
		               update->version, current->version);
	return verdict(v, CRED_OK,
	               "%u of %u needed signatures, version %" PRIu64 " replaces %" PRIu64,
	               v->signers, v->needed, update->version, current->version);
}

enum cred_status
cred_revoked(const struct cred *c, const struct cred_revocation *revs, size_t n)
{
	enum cred_status found = CRED_OK;

	for (size_t i = 0; i < n; i++) {
		const struct cred_revocation *r = &revs[i];

		if (strncmp(r->federation, c->federation, WIRE_NAME_MAX + 1) != 0)
			continue;
		/* A revoked key is out for good: it outranks a revoked serial. */
		if (r->kind == CRED_REVOKE_KEY && memcmp(r->key, c->wg_key, CRED_KEY_LEN) == 0)
			return CRED_REVOKED_KEY;
		if (r->kind == CRED_REVOKE_SERIAL &&
		    strncmp(r->site, c->site, WIRE_NAME_MAX + 1) == 0 && c->serial <= r->serial)
			found = CRED_REVOKED_SERIAL;
	}
	return found;
}

uint64_t
cred_revocation_id(const struct cred_revocation *r)
{
	uint8_t bytes[CRED_ENCODED_MAX], hash[crypto_generichash_BYTES];
	int len = signed_bytes(&revocation_kind, r, false, bytes, sizeof(bytes));
	uint64_t id = 0;

	if (len < 0 || !crypto_ready() ||
	    crypto_generichash(hash, sizeof(hash), bytes, (size_t)len, NULL, 0) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(id); i++)
		id = id << 8 | hash[i];
	return id;
}

const char *
cred_attribute(const struct cred *c, const char *key)
{
	if (strcmp(key, "provider") == 0)
		return c->provider[0] != '\0' ? c->provider : NULL;
	if (strcmp(key, "jurisdiction") == 0)
		return c->jurisdiction[0] != '\0' ? c->jurisdiction : NULL;
	for (size_t i = 0; i < c->nlabels && i < CRED_MAX_LABELS; i++)
		if (strcmp(c->labels[i].key, key) == 0)
			return c->labels[i].value;
	return NULL;
}
