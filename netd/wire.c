/* The gossip wire codec: big-endian fields, every length and count checked against its
 * bound before use, canonical encodings only (what decodes re-encodes to the same bytes). */
#include "netd/wire.h"

#include <string.h>
#include <sys/socket.h>

static const char desc_context[] = "netd desc v1";
static const char left_context[] = "netd left v1";
static const char accuse_context[] = "netd accuse v1";

/* ---- writer ---- */

struct out {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool full;
};

static void
out_bytes(struct out *o, const void *p, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
out_u8(struct out *o, uint8_t v)
{
	out_bytes(o, &v, 1);
}

static void
out_u16(struct out *o, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	out_bytes(o, b, 2);
}

static void
out_u24(struct out *o, uint32_t v)
{
	uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	out_bytes(o, b, 3);
}

static void
out_u32(struct out *o, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	out_bytes(o, b, 4);
}

static void
out_u64(struct out *o, uint64_t v)
{
	out_u32(o, (uint32_t)(v >> 32));
	out_u32(o, (uint32_t)v);
}

/* Encoders refuse what the decoder would refuse, so nothing invalid leaves a site. */
static void
out_name(struct out *o, const char *name)
{
	size_t n = strnlen(name, WIRE_NAME_MAX + 1);

	if (!wire_name_valid(name)) {
		o->full = true;
		return;
	}
	out_u8(o, (uint8_t)n);
	out_bytes(o, name, n);
}

/* Address families on the wire: fixed numbers, whatever the host's AF_ values are. */
#define WIRE_AF_INET  4
#define WIRE_AF_INET6 6

static uint8_t
wire_family(int family)
{
	return family == AF_INET ? WIRE_AF_INET : family == AF_INET6 ? WIRE_AF_INET6 : 0;
}

static int
host_family(uint8_t family)
{
	return family == WIRE_AF_INET ? AF_INET : family == WIRE_AF_INET6 ? AF_INET6 : AF_UNSPEC;
}

static void
out_endpoint(struct out *o, const struct addr_endpoint *e)
{
	size_t n = addr_len(e->addr.family);

	if (n == 0 || e->port == 0) {
		o->full = true;
		return;
	}
	out_u8(o, wire_family(e->addr.family));
	out_bytes(o, e->addr.u.bytes, n);
	out_u16(o, e->port);
}

/* Nothing past the length, and nothing past the address's own bytes either. */
static bool
prefix_canonical(const struct addr_prefix *p)
{
	size_t n = addr_len(p->addr.family);

	for (size_t i = n; i < sizeof(p->addr.u.bytes); i++)
		if (p->addr.u.bytes[i])
			return false;
	return addr_prefix_is_canonical(p);
}

static void
out_prefix(struct out *o, const struct addr_prefix *p)
{
	if (!prefix_canonical(p)) {
		o->full = true;
		return;
	}
	out_u8(o, wire_family(p->addr.family));
	out_u8(o, p->len);
	out_bytes(o, p->addr.u.bytes, (p->len + 7u) / 8u);
}

static void
out_desc_body(struct out *o, const struct wire_desc *d)
{
	if (d->nendpoints > WIRE_MAX_ENDPOINTS || d->noverlay > WIRE_MAX_OVERLAY ||
	    d->nprefixes > WIRE_MAX_PREFIXES || d->nvnis > WIRE_MAX_VNIS) {
		o->full = true;
		return;
	}
	out_name(o, d->name);
	out_u32(o, d->incarnation);
	out_bytes(o, d->wg_key, WIRE_KEY_LEN);
	out_bytes(o, d->sign_key, WIRE_KEY_LEN);
	out_endpoint(o, &d->gossip);
	out_u8(o, d->nendpoints);
	for (size_t i = 0; i < d->nendpoints; i++)
		out_endpoint(o, &d->endpoints[i]);
	out_u8(o, d->noverlay);
	for (size_t i = 0; i < d->noverlay; i++) {
		if (d->overlay[i].len != addr_len(d->overlay[i].addr.family) * 8)
			o->full = true;
		out_prefix(o, &d->overlay[i]);
	}
	out_u8(o, d->nprefixes);
	for (size_t i = 0; i < d->nprefixes; i++)
		out_prefix(o, &d->prefixes[i]);
	out_u8(o, d->nvnis);
	for (size_t i = 0; i < d->nvnis; i++) {
		if (d->vnis[i] == 0 || d->vnis[i] > WIRE_VNI_MAX)
			o->full = true;
		out_u24(o, d->vnis[i]);
	}
}

static bool
pow2(unsigned v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static void
out_msg(struct out *o, const struct wire_msg *m)
{
	out_u8(o, m->type);
	switch (m->type) {
	case WIRE_PING:
		out_u32(o, m->seq);
		break;
	case WIRE_PING_REQ:
		out_u32(o, m->seq);
		out_name(o, m->target);
		out_endpoint(o, &m->addr);
		if (m->flags & ~WIRE_PING_REQ_NACK)
			o->full = true;
		out_u8(o, m->flags);
		break;
	case WIRE_ACK:
	case WIRE_NACK:
		out_u32(o, m->seq);
		break;
	case WIRE_ALIVE:
		out_desc_body(o, &m->desc);
		out_bytes(o, m->desc.sig, WIRE_SIG_LEN);
		break;
	case WIRE_SUSPECT:
	case WIRE_DEAD:
		out_name(o, m->target);
		out_u32(o, m->incarnation);
		out_name(o, m->from);
		out_bytes(o, m->sig, WIRE_SIG_LEN);
		break;
	case WIRE_PING_FOR:
		out_u32(o, m->seq);
		out_name(o, m->target);
		out_name(o, m->from);
		out_u32(o, m->origin_seq);
		break;
	case WIRE_ACK_FOR:
		if (m->relay_len == 0 || m->relay_len > WIRE_RELAY_MAX) {
			o->full = true;
			break;
		}
		out_u32(o, m->seq);
		out_u16(o, m->relay_len);
		out_bytes(o, m->relay, m->relay_len);
		break;
	case WIRE_LEFT:
		out_name(o, m->target);
		out_u32(o, m->incarnation);
		out_bytes(o, m->sig, WIRE_SIG_LEN);
		break;
	case WIRE_DIGEST:
		if (!pow2(m->nbuckets) || m->nbuckets > WIRE_MAX_BUCKETS || m->count == 0 ||
		    m->count > WIRE_MAX_HASHES || (unsigned)m->bucket + m->count > m->nbuckets) {
			o->full = true;
			break;
		}
		out_u16(o, m->nbuckets);
		out_u16(o, m->bucket);
		out_u8(o, m->count);
		for (size_t i = 0; i < m->count; i++)
			out_u64(o, m->hashes[i]);
		break;
	case WIRE_ENTRIES:
		if (!pow2(m->nbuckets) || m->nbuckets > WIRE_MAX_BUCKETS ||
		    m->bucket >= m->nbuckets || m->count > WIRE_MAX_ENTRIES ||
		    (m->flags & ~WIRE_ENTRIES_REPLY)) {
			o->full = true;
			break;
		}
		out_u8(o, m->flags);
		out_u16(o, m->nbuckets);
		out_u16(o, m->bucket);
		out_u8(o, m->count);
		for (size_t i = 0; i < m->count; i++) {
			const struct wire_entry *e = &m->entries[i];

			if (e->state < WIRE_STATE_ALIVE || e->state > WIRE_STATE_LEFT)
				o->full = true;
			out_name(o, e->name);
			out_u32(o, e->incarnation);
			out_u8(o, e->state);
		}
		break;
	case WIRE_DESC_REQ:
		if (m->count == 0 || m->count > WIRE_MAX_NAMES) {
			o->full = true;
			break;
		}
		out_u8(o, m->count);
		for (size_t i = 0; i < m->count; i++)
			out_name(o, m->names[i]);
		break;
	case WIRE_CHALLENGE:
	case WIRE_RESPONSE:
		out_bytes(o, m->nonce, WIRE_NONCE_LEN);
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
	struct out o = {w->buf + w->len, w->cap - w->len, 0, false};

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
	struct out o = {buf, cap, 0, false};

	out_msg(&o, m);
	return o.full ? -1 : (int)o.len;
}

int
wire_desc_signed_bytes(const struct wire_desc *d, uint8_t *buf, size_t cap)
{
	struct out o = {buf, cap, 0, false};

	out_bytes(&o, desc_context, sizeof(desc_context));
	out_desc_body(&o, d);
	return o.full ? -1 : (int)o.len;
}

int
wire_left_signed_bytes(const char *name, uint32_t incarnation, uint8_t *buf, size_t cap)
{
	struct out o = {buf, cap, 0, false};

	out_bytes(&o, left_context, sizeof(left_context));
	out_name(&o, name);
	out_u32(&o, incarnation);
	return o.full ? -1 : (int)o.len;
}

int
wire_accuse_signed_bytes(const char *target, uint32_t incarnation, const char *accuser,
                         uint8_t *buf, size_t cap)
{
	struct out o = {buf, cap, 0, false};

	out_bytes(&o, accuse_context, sizeof(accuse_context));
	out_name(&o, target);
	out_u32(&o, incarnation);
	out_name(&o, accuser);
	return o.full ? -1 : (int)o.len;
}

/* ---- reader ---- */

struct in {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool bad;
};

static const uint8_t *
in_bytes(struct in *in, size_t n)
{
	const uint8_t *p;

	if (in->bad || n > in->len - in->off) {
		in->bad = true;
		return NULL;
	}
	p = in->p + in->off;
	in->off += n;
	return p;
}

static void
in_copy(struct in *in, void *dst, size_t n)
{
	const uint8_t *p = in_bytes(in, n);

	if (p != NULL)
		memcpy(dst, p, n);
}

static uint8_t
in_u8(struct in *in)
{
	const uint8_t *p = in_bytes(in, 1);

	return p != NULL ? p[0] : 0;
}

static uint16_t
in_u16(struct in *in)
{
	const uint8_t *p = in_bytes(in, 2);

	return p != NULL ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static uint32_t
in_u24(struct in *in)
{
	const uint8_t *p = in_bytes(in, 3);

	return p != NULL ? (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2] : 0;
}

static uint32_t
in_u32(struct in *in)
{
	const uint8_t *p = in_bytes(in, 4);

	return p != NULL ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
	                 : 0;
}

static uint64_t
in_u64(struct in *in)
{
	uint64_t hi = in_u32(in);

	return hi << 32 | in_u32(in);
}

static void
in_name(struct in *in, char out[WIRE_NAME_MAX + 1])
{
	uint8_t n = in_u8(in);
	const uint8_t *p;

	if (n == 0 || n > WIRE_NAME_MAX) {
		in->bad = true;
		return;
	}
	p = in_bytes(in, n);
	if (p == NULL)
		return;
	memcpy(out, p, n);
	out[n] = '\0';
	if (memchr(out, '\0', n) != NULL || !wire_name_valid(out))
		in->bad = true;
}

static void
in_endpoint(struct in *in, struct addr_endpoint *e)
{
	size_t n;

	memset(e, 0, sizeof(*e));
	e->addr.family = (uint8_t)host_family(in_u8(in));
	n = addr_len(e->addr.family);
	if (n == 0) {
		in->bad = true;
		return;
	}
	in_copy(in, e->addr.u.bytes, n);
	e->port = in_u16(in);
	if (e->port == 0)
		in->bad = true;
}

static void
in_prefix(struct in *in, struct addr_prefix *p)
{
	size_t n;

	memset(p, 0, sizeof(*p));
	p->addr.family = (uint8_t)host_family(in_u8(in));
	p->len = in_u8(in);
	n = addr_len(p->addr.family);
	if (n == 0 || p->len > n * 8) {
		in->bad = true;
		return;
	}
	in_copy(in, p->addr.u.bytes, (p->len + 7u) / 8u);
	if (!in->bad && !prefix_canonical(p))
		in->bad = true;
}

static void
in_desc(struct in *in, struct wire_desc *d)
{
	memset(d, 0, sizeof(*d));
	in_name(in, d->name);
	d->incarnation = in_u32(in);
	in_copy(in, d->wg_key, WIRE_KEY_LEN);
	in_copy(in, d->sign_key, WIRE_KEY_LEN);
	in_endpoint(in, &d->gossip);
	d->nendpoints = in_u8(in);
	if (d->nendpoints > WIRE_MAX_ENDPOINTS)
		in->bad = true;
	for (size_t i = 0; !in->bad && i < d->nendpoints; i++)
		in_endpoint(in, &d->endpoints[i]);
	d->noverlay = in_u8(in);
	if (d->noverlay > WIRE_MAX_OVERLAY)
		in->bad = true;
	for (size_t i = 0; !in->bad && i < d->noverlay; i++) {
		in_prefix(in, &d->overlay[i]);
		if (d->overlay[i].len != addr_len(d->overlay[i].addr.family) * 8)
			in->bad = true;
	}
	d->nprefixes = in_u8(in);
	if (d->nprefixes > WIRE_MAX_PREFIXES)
		in->bad = true;
	for (size_t i = 0; !in->bad && i < d->nprefixes; i++)
		in_prefix(in, &d->prefixes[i]);
	d->nvnis = in_u8(in);
	if (d->nvnis > WIRE_MAX_VNIS)
		in->bad = true;
	for (size_t i = 0; !in->bad && i < d->nvnis; i++) {
		d->vnis[i] = in_u24(in);
		if (d->vnis[i] == 0)
			in->bad = true;
	}
	in_copy(in, d->sig, WIRE_SIG_LEN);
}

static void
in_msg(struct in *in, struct wire_msg *m)
{
	m->type = in_u8(in);
	m->flags = 0;
	switch (m->type) {
	case WIRE_PING:
		m->seq = in_u32(in);
		break;
	case WIRE_PING_REQ:
		m->seq = in_u32(in);
		in_name(in, m->target);
		in_endpoint(in, &m->addr);
		m->flags = in_u8(in);
		if (m->flags & ~WIRE_PING_REQ_NACK)
			in->bad = true;
		break;
	case WIRE_ACK:
	case WIRE_NACK:
		m->seq = in_u32(in);
		break;
	case WIRE_ALIVE:
		in_desc(in, &m->desc);
		break;
	case WIRE_SUSPECT:
	case WIRE_DEAD:
		in_name(in, m->target);
		m->incarnation = in_u32(in);
		in_name(in, m->from);
		in_copy(in, m->sig, WIRE_SIG_LEN);
		break;
	case WIRE_PING_FOR:
		m->seq = in_u32(in);
		in_name(in, m->target);
		in_name(in, m->from);
		m->origin_seq = in_u32(in);
		break;
	case WIRE_ACK_FOR:
		m->seq = in_u32(in);
		m->relay_len = in_u16(in);
		if (m->relay_len == 0 || m->relay_len > WIRE_RELAY_MAX) {
			in->bad = true;
			break;
		}
		in_copy(in, m->relay, m->relay_len);
		break;
	case WIRE_LEFT:
		in_name(in, m->target);
		m->incarnation = in_u32(in);
		in_copy(in, m->sig, WIRE_SIG_LEN);
		break;
	case WIRE_DIGEST:
		m->nbuckets = in_u16(in);
		m->bucket = in_u16(in);
		m->count = in_u8(in);
		if (!pow2(m->nbuckets) || m->nbuckets > WIRE_MAX_BUCKETS || m->count == 0 ||
		    m->count > WIRE_MAX_HASHES || (unsigned)m->bucket + m->count > m->nbuckets) {
			in->bad = true;
			break;
		}
		for (size_t i = 0; i < m->count; i++)
			m->hashes[i] = in_u64(in);
		break;
	case WIRE_ENTRIES:
		m->flags = in_u8(in);
		m->nbuckets = in_u16(in);
		m->bucket = in_u16(in);
		m->count = in_u8(in);
		if ((m->flags & ~WIRE_ENTRIES_REPLY) || !pow2(m->nbuckets) ||
		    m->nbuckets > WIRE_MAX_BUCKETS || m->bucket >= m->nbuckets ||
		    m->count > WIRE_MAX_ENTRIES) {
			in->bad = true;
			break;
		}
		for (size_t i = 0; !in->bad && i < m->count; i++) {
			struct wire_entry *e = &m->entries[i];

			in_name(in, e->name);
			e->incarnation = in_u32(in);
			e->state = in_u8(in);
			if (e->state < WIRE_STATE_ALIVE || e->state > WIRE_STATE_LEFT)
				in->bad = true;
		}
		break;
	case WIRE_DESC_REQ:
		m->count = in_u8(in);
		if (m->count == 0 || m->count > WIRE_MAX_NAMES) {
			in->bad = true;
			break;
		}
		for (size_t i = 0; !in->bad && i < m->count; i++)
			in_name(in, m->names[i]);
		break;
	case WIRE_CHALLENGE:
	case WIRE_RESPONSE:
		in_copy(in, m->nonce, WIRE_NONCE_LEN);
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
	struct in in = {r->buf, r->len, r->off, false};

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
	    a->noverlay != b->noverlay || a->nprefixes != b->nprefixes || a->nvnis != b->nvnis)
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
	struct out o = {buf, cap, 0, false};

	out_u8(&o, WIRE_HELLO_KIND);
	out_name(&o, h->name);
	out_u64(&o, h->nonce);
	out_u8(&o, h->has_cookie ? WIRE_COOKIE_LEN : 0);
	if (h->has_cookie)
		out_bytes(&o, h->cookie, WIRE_COOKIE_LEN);
	/* The longest fields take 59 bytes: there is always padding. */
	while (!o.full && o.len < WIRE_HELLO_LEN)
		out_u8(&o, 0);
	return o.full ? -1 : (int)o.len;
}

int
wire_hello_decode(const uint8_t *buf, size_t len, struct wire_hello *h)
{
	struct in in = {buf, len, 0, false};
	struct wire_hello tmp = {0};
	uint8_t clen;

	if (len != WIRE_HELLO_LEN || in_u8(&in) != WIRE_HELLO_KIND)
		return -1;
	in_name(&in, tmp.name);
	tmp.nonce = in_u64(&in);
	clen = in_u8(&in);
	if (clen == WIRE_COOKIE_LEN) {
		tmp.has_cookie = true;
		in_copy(&in, tmp.cookie, WIRE_COOKIE_LEN);
	} else if (clen != 0) {
		return -1;
	}
	/* The padding is zero, so every accepted hello is the one encoding of its fields. */
	while (!in.bad && in.off < len)
		if (in_u8(&in) != 0)
			return -1;
	if (in.bad)
		return -1;
	*h = tmp;
	return 0;
}

int
wire_cookie_encode(const struct wire_cookie *c, uint8_t *buf, size_t cap)
{
	struct out o = {buf, cap, 0, false};

	out_u8(&o, WIRE_COOKIE_KIND);
	out_u64(&o, c->nonce);
	out_bytes(&o, c->cookie, WIRE_COOKIE_LEN);
	return o.full ? -1 : (int)o.len;
}

int
wire_cookie_decode(const uint8_t *buf, size_t len, struct wire_cookie *c)
{
	struct in in = {buf, len, 0, false};
	struct wire_cookie tmp;

	if (len != WIRE_COOKIE_REPLY_LEN || in_u8(&in) != WIRE_COOKIE_KIND)
		return -1;
	tmp.nonce = in_u64(&in);
	in_copy(&in, tmp.cookie, WIRE_COOKIE_LEN);
	if (in.bad || in.off != len)
		return -1;
	*c = tmp;
	return 0;
}
