/* The gossip wire codec: big-endian fields (written and read by codec), every length and
 * count checked against its bound before use, canonical encodings only (what decodes
 * re-encodes to the same bytes). */
#include "netd/wire.h"

#include <string.h>

#include "netd/codec.h"

static const char desc_context[] = "netd desc v3";
static const char left_context[] = "netd left v1";
static const char accuse_context[] = "netd accuse v1";

static void
out_desc_body(struct codec_out *o, const struct wire_desc *d)
{
	if (d->nendpoints > WIRE_MAX_ENDPOINTS || d->noverlay > WIRE_MAX_OVERLAY ||
	    d->nprefixes > WIRE_MAX_PREFIXES || d->nvnis > WIRE_MAX_VNIS) {
		o->full = true;
		return;
	}
	codec_put_name(o, d->name);
	codec_put_u32(o, d->incarnation);
	codec_put_bytes(o, d->wg_key, WIRE_KEY_LEN);
	codec_put_bytes(o, d->sign_key, WIRE_KEY_LEN);
	codec_put_endpoint(o, &d->gossip);
	codec_put_u8(o, d->nendpoints);
	for (size_t i = 0; i < d->nendpoints; i++)
		codec_put_endpoint(o, &d->endpoints[i]);
	codec_put_u8(o, d->noverlay);
	for (size_t i = 0; i < d->noverlay; i++) {
		if (d->overlay[i].len != addr_len(d->overlay[i].addr.family) * 8)
			o->full = true;
		codec_put_prefix(o, &d->overlay[i]);
	}
	codec_put_u8(o, d->nprefixes);
	for (size_t i = 0; i < d->nprefixes; i++)
		codec_put_prefix(o, &d->prefixes[i]);
	codec_put_u8(o, d->nvnis);
	for (size_t i = 0; i < d->nvnis; i++) {
		if (d->vnis[i] == 0 || d->vnis[i] > WIRE_VNI_MAX)
			o->full = true;
		codec_put_u24(o, d->vnis[i]);
	}
	codec_put_u64(o, d->cred_serial);
	codec_put_u64(o, d->next_serial);
	if ((d->flags & ~WIRE_DESC_FLAGS) || d->nrelays > WIRE_MAX_RELAYS)
		o->full = true;
	codec_put_u8(o, d->flags);
	codec_put_u8(o, d->nrelays);
	for (size_t i = 0; i < d->nrelays && i < WIRE_MAX_RELAYS; i++)
		codec_put_name(o, d->relays[i]);
}

/* A descriptor as an ALIVE message carries it: the body and its signature. */
static void
out_desc(struct codec_out *o, const struct wire_desc *d)
{
	out_desc_body(o, d);
	codec_put_bytes(o, d->sig, WIRE_SIG_LEN);
}

/* A federation document, opaque here: cred.h decodes it. */
static void
out_blob(struct codec_out *o, const struct wire_msg *m)
{
	if (m->blob_len == 0 || m->blob_len > WIRE_BLOB_MAX) {
		o->full = true;
		return;
	}
	codec_put_u16(o, m->blob_len);
	codec_put_bytes(o, m->blob, m->blob_len);
}

static bool
pow2(unsigned v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static void
out_msg(struct codec_out *o, const struct wire_msg *m)
{
	codec_put_u8(o, m->type);
	switch (m->type) {
	case WIRE_PING:
		codec_put_u32(o, m->seq);
		break;
	case WIRE_PING_REQ:
		codec_put_u32(o, m->seq);
		codec_put_name(o, m->target);
		codec_put_endpoint(o, &m->addr);
		if (m->flags & ~WIRE_PING_REQ_NACK)
			o->full = true;
		codec_put_u8(o, m->flags);
		break;
	case WIRE_ACK:
	case WIRE_NACK:
		codec_put_u32(o, m->seq);
		break;
	case WIRE_ALIVE:
		out_desc(o, &m->desc);
		break;
	case WIRE_SUSPECT:
	case WIRE_DEAD:
		codec_put_name(o, m->target);
		codec_put_u32(o, m->incarnation);
		codec_put_name(o, m->from);
		codec_put_bytes(o, m->sig, WIRE_SIG_LEN);
		break;
	case WIRE_PING_FOR:
		codec_put_u32(o, m->seq);
		codec_put_name(o, m->target);
		codec_put_name(o, m->from);
		codec_put_u32(o, m->origin_seq);
		break;
	case WIRE_ACK_FOR:
		if (m->relay_len == 0 || m->relay_len > WIRE_RELAY_MAX) {
			o->full = true;
			break;
		}
		codec_put_u32(o, m->seq);
		codec_put_u16(o, m->relay_len);
		codec_put_bytes(o, m->relay, m->relay_len);
		break;
	case WIRE_LEFT:
		codec_put_name(o, m->target);
		codec_put_u32(o, m->incarnation);
		codec_put_bytes(o, m->sig, WIRE_SIG_LEN);
		break;
	case WIRE_DIGEST:
		if (!pow2(m->nbuckets) || m->nbuckets > WIRE_MAX_BUCKETS || m->count == 0 ||
		    m->count > WIRE_MAX_HASHES || (unsigned)m->bucket + m->count > m->nbuckets) {
			o->full = true;
			break;
		}
		codec_put_u16(o, m->nbuckets);
		codec_put_u16(o, m->bucket);
		codec_put_u8(o, m->count);
		for (size_t i = 0; i < m->count; i++)
			codec_put_u64(o, m->hashes[i]);
		break;
	case WIRE_ENTRIES:
		if (!pow2(m->nbuckets) || m->nbuckets > WIRE_MAX_BUCKETS ||
		    m->bucket >= m->nbuckets || m->count > WIRE_MAX_ENTRIES ||
		    (m->flags & ~WIRE_ENTRIES_REPLY)) {
			o->full = true;
			break;
		}
		codec_put_u8(o, m->flags);
		codec_put_u16(o, m->nbuckets);
		codec_put_u16(o, m->bucket);
		codec_put_u8(o, m->count);
		for (size_t i = 0; i < m->count; i++) {
			const struct wire_entry *e = &m->entries[i];

			if (e->state < WIRE_STATE_ALIVE || e->state > WIRE_STATE_LEFT)
				o->full = true;
			codec_put_name(o, e->name);
			codec_put_u32(o, e->incarnation);
			codec_put_u8(o, e->state);
		}
		break;
	case WIRE_DESC_REQ:
	case WIRE_CRED_REQ:
		if (m->count == 0 || m->count > WIRE_MAX_NAMES) {
			o->full = true;
			break;
		}
		codec_put_u8(o, m->count);
		for (size_t i = 0; i < m->count; i++)
			codec_put_name(o, m->names[i]);
		break;
	case WIRE_CHALLENGE:
	case WIRE_RESPONSE:
		codec_put_bytes(o, m->nonce, WIRE_NONCE_LEN);
		break;
	case WIRE_CRED:
	case WIRE_REVOKE:
	case WIRE_AUTHORITIES:
		out_blob(o, m);
		break;
	case WIRE_OBSERVED:
		if (m->flags & ~WIRE_OBSERVED_WG)
			o->full = true;
		codec_put_u8(o, m->flags);
		codec_put_endpoint(o, &m->addr);
		if (m->flags & WIRE_OBSERVED_WG)
			codec_put_endpoint(o, &m->wg);
		break;
	case WIRE_FED_SUM:
		codec_put_u64(o, m->version);
		codec_put_u16(o, m->total);
		codec_put_u64(o, m->hashes[0]);
		break;
	case WIRE_REVOKE_IDS:
		if (m->count > WIRE_MAX_IDS || (m->flags & ~WIRE_IDS_REPLY)) {
			o->full = true;
			break;
		}
		codec_put_u8(o, m->flags);
		codec_put_u8(o, m->count);
		for (size_t i = 0; i < m->count; i++)
			codec_put_u64(o, m->hashes[i]);
		break;
	default:
		o->full = true;
	}
}

int
wire_begin(struct wire_writer *w, uint8_t *buf, size_t cap)
{
	if (cap < 1)
		return -1;
	w->buf = buf;
	w->cap = cap;
	buf[0] = WIRE_VERSION;
	w->len = 1;
	return 0;
}

int
wire_put_msg(struct wire_writer *w, const struct wire_msg *m)
{
	struct codec_out o = {.buf = w->buf + w->len, .cap = w->cap - w->len};

	out_msg(&o, m);
	if (o.full)
		return -1;
	w->len += o.len;
	return 0;
}

int
wire_put_raw(struct wire_writer *w, const uint8_t *bytes, size_t len)
{
	if (len > w->cap - w->len)
		return -1;
	memcpy(w->buf + w->len, bytes, len);
	w->len += len;
	return 0;
}

int
wire_encode_msg(const struct wire_msg *m, uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = cap};

	out_msg(&o, m);
	return codec_out_result(&o);
}

int
wire_encode_alive(const struct wire_desc *d, uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = cap};

	codec_put_u8(&o, WIRE_ALIVE);
	out_desc(&o, d);
	return codec_out_result(&o);
}

int
wire_desc_signed_bytes(const struct wire_desc *d, uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = cap};

	codec_put_bytes(&o, desc_context, sizeof(desc_context));
	out_desc_body(&o, d);
	return codec_out_result(&o);
}

int
wire_left_signed_bytes(const char *name, uint32_t incarnation, uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = cap};

	codec_put_bytes(&o, left_context, sizeof(left_context));
	codec_put_name(&o, name);
	codec_put_u32(&o, incarnation);
	return codec_out_result(&o);
}

int
wire_accuse_signed_bytes(const char *target, uint32_t incarnation, const char *accuser,
                         uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = cap};

	codec_put_bytes(&o, accuse_context, sizeof(accuse_context));
	codec_put_name(&o, target);
	codec_put_u32(&o, incarnation);
	codec_put_name(&o, accuser);
	return codec_out_result(&o);
}

/* ---- reader ---- */

static void
in_desc(struct codec_in *in, struct wire_desc *d)
{
	memset(d, 0, sizeof(*d));
	codec_get_name(in, d->name);
	d->incarnation = codec_get_u32(in);
	codec_get_copy(in, d->wg_key, WIRE_KEY_LEN);
	codec_get_copy(in, d->sign_key, WIRE_KEY_LEN);
	codec_get_endpoint(in, &d->gossip);
	d->nendpoints = codec_get_u8(in);
	if (d->nendpoints > WIRE_MAX_ENDPOINTS)
		in->bad = true;
	for (size_t i = 0; !in->bad && i < d->nendpoints; i++)
		codec_get_endpoint(in, &d->endpoints[i]);
	d->noverlay = codec_get_u8(in);
	if (d->noverlay > WIRE_MAX_OVERLAY)
		in->bad = true;
	for (size_t i = 0; !in->bad && i < d->noverlay; i++) {
		codec_get_prefix(in, &d->overlay[i]);
		if (d->overlay[i].len != addr_len(d->overlay[i].addr.family) * 8)
			in->bad = true;
	}
	d->nprefixes = codec_get_u8(in);
	if (d->nprefixes > WIRE_MAX_PREFIXES)
		in->bad = true;
	for (size_t i = 0; !in->bad && i < d->nprefixes; i++)
		codec_get_prefix(in, &d->prefixes[i]);
	d->nvnis = codec_get_u8(in);
	if (d->nvnis > WIRE_MAX_VNIS)
		in->bad = true;
	for (size_t i = 0; !in->bad && i < d->nvnis; i++) {
		d->vnis[i] = codec_get_u24(in);
		if (d->vnis[i] == 0)
			in->bad = true;
	}
	d->cred_serial = codec_get_u64(in);
	d->next_serial = codec_get_u64(in);
	d->flags = codec_get_u8(in);
	d->nrelays = codec_get_u8(in);
	if ((d->flags & ~WIRE_DESC_FLAGS) || d->nrelays > WIRE_MAX_RELAYS)
		in->bad = true;
	for (size_t i = 0; !in->bad && i < d->nrelays; i++)
		codec_get_name(in, d->relays[i]);
	codec_get_copy(in, d->sig, WIRE_SIG_LEN);
}

static void
in_blob(struct codec_in *in, struct wire_msg *m)
{
	m->blob_len = codec_get_u16(in);
	if (m->blob_len == 0 || m->blob_len > WIRE_BLOB_MAX) {
		in->bad = true;
		return;
	}
	codec_get_copy(in, m->blob, m->blob_len);
}

static void
in_msg(struct codec_in *in, struct wire_msg *m)
{
	m->type = codec_get_u8(in);
	m->flags = 0;
	switch (m->type) {
	case WIRE_PING:
		m->seq = codec_get_u32(in);
		break;
	case WIRE_PING_REQ:
		m->seq = codec_get_u32(in);
		codec_get_name(in, m->target);
		codec_get_endpoint(in, &m->addr);
		m->flags = codec_get_u8(in);
		if (m->flags & ~WIRE_PING_REQ_NACK)
			in->bad = true;
		break;
	case WIRE_ACK:
	case WIRE_NACK:
		m->seq = codec_get_u32(in);
		break;
	case WIRE_ALIVE:
		in_desc(in, &m->desc);
		break;
	case WIRE_SUSPECT:
	case WIRE_DEAD:
		codec_get_name(in, m->target);
		m->incarnation = codec_get_u32(in);
		codec_get_name(in, m->from);
		codec_get_copy(in, m->sig, WIRE_SIG_LEN);
		break;
	case WIRE_PING_FOR:
		m->seq = codec_get_u32(in);
		codec_get_name(in, m->target);
		codec_get_name(in, m->from);
		m->origin_seq = codec_get_u32(in);
		break;
	case WIRE_ACK_FOR:
		m->seq = codec_get_u32(in);
		m->relay_len = codec_get_u16(in);
		if (m->relay_len == 0 || m->relay_len > WIRE_RELAY_MAX) {
			in->bad = true;
			break;
		}
		codec_get_copy(in, m->relay, m->relay_len);
		break;
	case WIRE_LEFT:
		codec_get_name(in, m->target);
		m->incarnation = codec_get_u32(in);
		codec_get_copy(in, m->sig, WIRE_SIG_LEN);
		break;
	case WIRE_DIGEST:
		m->nbuckets = codec_get_u16(in);
		m->bucket = codec_get_u16(in);
		m->count = codec_get_u8(in);
		if (!pow2(m->nbuckets) || m->nbuckets > WIRE_MAX_BUCKETS || m->count == 0 ||
		    m->count > WIRE_MAX_HASHES || (unsigned)m->bucket + m->count > m->nbuckets) {
			in->bad = true;
			break;
		}
		for (size_t i = 0; i < m->count; i++)
			m->hashes[i] = codec_get_u64(in);
		break;
	case WIRE_ENTRIES:
		m->flags = codec_get_u8(in);
		m->nbuckets = codec_get_u16(in);
		m->bucket = codec_get_u16(in);
		m->count = codec_get_u8(in);
		if ((m->flags & ~WIRE_ENTRIES_REPLY) || !pow2(m->nbuckets) ||
		    m->nbuckets > WIRE_MAX_BUCKETS || m->bucket >= m->nbuckets ||
		    m->count > WIRE_MAX_ENTRIES) {
			in->bad = true;
			break;
		}
		for (size_t i = 0; !in->bad && i < m->count; i++) {
			struct wire_entry *e = &m->entries[i];

			codec_get_name(in, e->name);
			e->incarnation = codec_get_u32(in);
			e->state = codec_get_u8(in);
			if (e->state < WIRE_STATE_ALIVE || e->state > WIRE_STATE_LEFT)
				in->bad = true;
		}
		break;
	case WIRE_DESC_REQ:
	case WIRE_CRED_REQ:
		m->count = codec_get_u8(in);
		if (m->count == 0 || m->count > WIRE_MAX_NAMES) {
			in->bad = true;
			break;
		}
		for (size_t i = 0; !in->bad && i < m->count; i++)
			codec_get_name(in, m->names[i]);
		break;
	case WIRE_CHALLENGE:
	case WIRE_RESPONSE:
		codec_get_copy(in, m->nonce, WIRE_NONCE_LEN);
		break;
	case WIRE_CRED:
	case WIRE_REVOKE:
	case WIRE_AUTHORITIES:
		in_blob(in, m);
		break;
	case WIRE_OBSERVED:
		m->flags = codec_get_u8(in);
		if (m->flags & ~WIRE_OBSERVED_WG) {
			in->bad = true;
			break;
		}
		codec_get_endpoint(in, &m->addr);
		if (m->flags & WIRE_OBSERVED_WG)
			codec_get_endpoint(in, &m->wg);
		break;
	case WIRE_FED_SUM:
		m->version = codec_get_u64(in);
		m->total = codec_get_u16(in);
		m->hashes[0] = codec_get_u64(in);
		break;
	case WIRE_REVOKE_IDS:
		m->flags = codec_get_u8(in);
		m->count = codec_get_u8(in);
		if ((m->flags & ~WIRE_IDS_REPLY) || m->count > WIRE_MAX_IDS) {
			in->bad = true;
			break;
		}
		for (size_t i = 0; i < m->count; i++)
			m->hashes[i] = codec_get_u64(in);
		break;
	default:
		in->bad = true;
	}
}

int
wire_reader_init(struct wire_reader *r, const uint8_t *buf, size_t len)
{
	if (len < 2 || buf[0] != WIRE_VERSION)
		return -1;
	r->buf = buf;
	r->len = len;
	r->off = 1;
	return 0;
}

int
wire_next(struct wire_reader *r, struct wire_msg *m)
{
	struct codec_in in = {.buf = r->buf, .len = r->len, .off = r->off};

	if (r->off >= r->len)
		return 0;
	in_msg(&in, m);
	if (in.bad) {
		r->off = r->len; /* a malformed message ends the walk */
		return -1;
	}
	r->off = in.off;
	return 1;
}

/* ---- helpers ---- */

bool
wire_name_valid(const char *s)
{
	size_t n = strnlen(s, WIRE_NAME_MAX + 1);

	if (n == 0 || n > WIRE_NAME_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool
wire_desc_same_content(const struct wire_desc *a, const struct wire_desc *b)
{
	if (strcmp(a->name, b->name) != 0 || memcmp(a->wg_key, b->wg_key, WIRE_KEY_LEN) != 0 ||
	    memcmp(a->sign_key, b->sign_key, WIRE_KEY_LEN) != 0 ||
	    !addr_endpoint_equal(&a->gossip, &b->gossip) || a->nendpoints != b->nendpoints ||
	    a->noverlay != b->noverlay || a->nprefixes != b->nprefixes || a->nvnis != b->nvnis ||
	    a->cred_serial != b->cred_serial || a->next_serial != b->next_serial ||
	    a->flags != b->flags || a->nrelays != b->nrelays)
		return false;
	for (size_t i = 0; i < a->nrelays && i < WIRE_MAX_RELAYS; i++)
		if (strcmp(a->relays[i], b->relays[i]) != 0)
			return false;
	for (size_t i = 0; i < a->nendpoints && i < WIRE_MAX_ENDPOINTS; i++)
		if (!addr_endpoint_equal(&a->endpoints[i], &b->endpoints[i]))
			return false;
	for (size_t i = 0; i < a->noverlay && i < WIRE_MAX_OVERLAY; i++)
		if (!addr_prefix_equal(&a->overlay[i], &b->overlay[i]))
			return false;
	for (size_t i = 0; i < a->nprefixes && i < WIRE_MAX_PREFIXES; i++)
		if (!addr_prefix_equal(&a->prefixes[i], &b->prefixes[i]))
			return false;
	for (size_t i = 0; i < a->nvnis && i < WIRE_MAX_VNIS; i++)
		if (a->vnis[i] != b->vnis[i])
			return false;
	return true;
}

bool
wire_desc_equal(const struct wire_desc *a, const struct wire_desc *b)
{
	return wire_desc_same_content(a, b) && a->incarnation == b->incarnation &&
	       memcmp(a->sig, b->sig, WIRE_SIG_LEN) == 0;
}

int
wire_hello_encode(const struct wire_hello *h, uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = cap};

	codec_put_u8(&o, WIRE_HELLO_KIND);
	codec_put_name(&o, h->name);
	codec_put_u64(&o, h->nonce);
	codec_put_u8(&o, h->has_cookie ? WIRE_COOKIE_LEN : 0);
	if (h->has_cookie)
		codec_put_bytes(&o, h->cookie, WIRE_COOKIE_LEN);
	/* The longest fields take 59 bytes: there is always padding. */
	while (!o.full && o.len < WIRE_HELLO_LEN)
		codec_put_u8(&o, 0);
	return codec_out_result(&o);
}

int
wire_hello_decode(const uint8_t *buf, size_t len, struct wire_hello *h)
{
	struct codec_in in = {.buf = buf, .len = len};
	struct wire_hello tmp = {0};
	uint8_t clen;

	if (len != WIRE_HELLO_LEN || codec_get_u8(&in) != WIRE_HELLO_KIND)
		return -1;
	codec_get_name(&in, tmp.name);
	tmp.nonce = codec_get_u64(&in);
	clen = codec_get_u8(&in);
	if (clen == WIRE_COOKIE_LEN) {
		tmp.has_cookie = true;
		codec_get_copy(&in, tmp.cookie, WIRE_COOKIE_LEN);
	} else if (clen != 0) {
		return -1;
	}
	/* The padding is zero, so every accepted hello is the one encoding of its fields. */
	while (!in.bad && in.off < len)
		if (codec_get_u8(&in) != 0)
			return -1;
	if (in.bad)
		return -1;
	*h = tmp;
	return 0;
}

int
wire_cookie_encode(const struct wire_cookie *c, uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = cap};

	codec_put_u8(&o, WIRE_COOKIE_KIND);
	codec_put_u64(&o, c->nonce);
	codec_put_bytes(&o, c->cookie, WIRE_COOKIE_LEN);
	return codec_out_result(&o);
}

int
wire_cookie_decode(const uint8_t *buf, size_t len, struct wire_cookie *c)
{
	struct codec_in in = {.buf = buf, .len = len};
	struct wire_cookie tmp;

	if (len != WIRE_COOKIE_REPLY_LEN || codec_get_u8(&in) != WIRE_COOKIE_KIND)
		return -1;
	tmp.nonce = codec_get_u64(&in);
	codec_get_copy(&in, tmp.cookie, WIRE_COOKIE_LEN);
	if (in.bad || in.off != len)
		return -1;
	*c = tmp;
	return 0;
}

int
wire_present_encode(const struct wire_present *p, uint8_t *buf, size_t cap)
{
	struct codec_out o = {.buf = buf, .cap = cap};

	if (p->cred_len == 0 || p->cred_len > WIRE_BLOB_MAX)
		return -1;
	codec_put_u8(&o, p->has_cookie ? WIRE_PRESENT_KIND : WIRE_PRESENTED_KIND);
	codec_put_u64(&o, p->nonce);
	if (p->has_cookie)
		codec_put_bytes(&o, p->cookie, WIRE_COOKIE_LEN);
	codec_put_u16(&o, p->cred_len);
	codec_put_bytes(&o, p->cred, p->cred_len);
	return codec_out_result(&o);
}

int
wire_present_decode(const uint8_t *buf, size_t len, struct wire_present *p)
{
	struct codec_in in = {.buf = buf, .len = len};
	uint8_t kind = codec_get_u8(&in);

	if (kind != WIRE_PRESENT_KIND && kind != WIRE_PRESENTED_KIND)
		return -1;
	p->has_cookie = kind == WIRE_PRESENT_KIND;
	p->nonce = codec_get_u64(&in);
	if (p->has_cookie)
		codec_get_copy(&in, p->cookie, WIRE_COOKIE_LEN);
	p->cred_len = codec_get_u16(&in);
	if (p->cred_len == 0 || p->cred_len > WIRE_BLOB_MAX)
		return -1;
	codec_get_copy(&in, p->cred, p->cred_len);
	return in.bad || in.off != len ? -1 : 0;
}

/* The fields a descriptor and its compact form have alike: the same names in both. */
#define COPY_FIXED(to, from)                                                                       \
	do {                                                                                       \
		memcpy((to)->name, (from)->name, sizeof((to)->name));                              \
		(to)->incarnation = (from)->incarnation;                                           \
		memcpy((to)->wg_key, (from)->wg_key, WIRE_KEY_LEN);                                \
		memcpy((to)->sign_key, (from)->sign_key, WIRE_KEY_LEN);                            \
		(to)->gossip = (from)->gossip;                                                     \
		(to)->nendpoints = (from)->nendpoints;                                             \
		(to)->noverlay = (from)->noverlay;                                                 \
		(to)->nprefixes = (from)->nprefixes;                                               \
		(to)->nvnis = (from)->nvnis;                                                       \
		(to)->nrelays = (from)->nrelays;                                                   \
		(to)->flags = (from)->flags;                                                       \
		(to)->cred_serial = (from)->cred_serial;                                           \
		(to)->next_serial = (from)->next_serial;                                           \
		memcpy((to)->sig, (from)->sig, WIRE_SIG_LEN);                                      \
	} while (0)

/* The lists in the order they sit in a room: the 4-byte aligned ones first, the relays'
 * names last. */
size_t
wire_cdesc_room(const struct wire_desc *d)
{
	size_t n = d->nendpoints * sizeof(d->endpoints[0]) + d->noverlay * sizeof(d->overlay[0]) +
	           d->nprefixes * sizeof(d->prefixes[0]) + d->nvnis * sizeof(d->vnis[0]) +
	           d->nrelays * sizeof(d->relays[0]);

	return (n + 3) & ~(size_t)3;
}

/* Copies n entries of size bytes into the room at *at and returns where they went. */
static const void *
room_put(uint8_t **at, const void *src, size_t n, size_t size)
{
	const void *p = *at;

	if (n > 0)
		memcpy(*at, src, n * size);
	*at += n * size;
	return p;
}

void
wire_cdesc_pack(struct wire_cdesc *c, void *room, const struct wire_desc *d)
{
	uint8_t *at = room;

	memset(c, 0, sizeof(*c));
	COPY_FIXED(c, d);
	c->endpoints = room_put(&at, d->endpoints, d->nendpoints, sizeof(d->endpoints[0]));
	c->overlay = room_put(&at, d->overlay, d->noverlay, sizeof(d->overlay[0]));
	c->prefixes = room_put(&at, d->prefixes, d->nprefixes, sizeof(d->prefixes[0]));
	c->vnis = room_put(&at, d->vnis, d->nvnis, sizeof(d->vnis[0]));
	c->relays = room_put(&at, d->relays, d->nrelays, sizeof(d->relays[0]));
}

/* Copies n entries of size bytes from a room's list, if any. */
static void
room_get(void *dst, const void *src, size_t n, size_t size)
{
	if (n > 0)
		memcpy(dst, src, n * size);
}

void
wire_cdesc_unpack(const struct wire_cdesc *c, struct wire_desc *d)
{
	memset(d, 0, sizeof(*d));
	COPY_FIXED(d, c);
	room_get(d->endpoints, c->endpoints, c->nendpoints, sizeof(d->endpoints[0]));
	room_get(d->overlay, c->overlay, c->noverlay, sizeof(d->overlay[0]));
	room_get(d->prefixes, c->prefixes, c->nprefixes, sizeof(d->prefixes[0]));
	room_get(d->vnis, c->vnis, c->nvnis, sizeof(d->vnis[0]));
	room_get(d->relays, c->relays, c->nrelays, sizeof(d->relays[0]));
}

bool
wire_cdesc_same_content(const struct wire_cdesc *a, const struct wire_cdesc *b)
{
	struct wire_desc x, y;

	wire_cdesc_unpack(a, &x);
	wire_cdesc_unpack(b, &y);
	return wire_desc_same_content(&x, &y);
}
