/* The bounded byte codec: every length checked before a byte moves, and the formats'
 * address-family numbers, the only place they are known. */
#include "netd/codec.h"

#include <string.h>
#include <sys/socket.h>

/* ---- writer ---- */

void
codec_put_bytes(struct codec_out *o, const void *p, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void
codec_put_u8(struct codec_out *o, uint8_t v)
{
	codec_put_bytes(o, &v, 1);
}

void
codec_put_u16(struct codec_out *o, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	codec_put_bytes(o, b, 2);
}

void
codec_put_u24(struct codec_out *o, uint32_t v)
{
	uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	codec_put_bytes(o, b, 3);
}

void
codec_put_u32(struct codec_out *o, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	codec_put_bytes(o, b, 4);
}

void
codec_put_u64(struct codec_out *o, uint64_t v)
{
	codec_put_u32(o, (uint32_t)(v >> 32));
	codec_put_u32(o, (uint32_t)v);
}

/* Encoders refuse what the decoder would refuse, so nothing invalid leaves a site. */
void
codec_put_text(struct codec_out *o, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max || n > UINT8_MAX) {
		o->full = true;
		return;
	}
	codec_put_u8(o, (uint8_t)n);
	codec_put_bytes(o, s, n);
}

void
codec_put_name(struct codec_out *o, const char *name)
{
	if (!wire_name_valid(name)) {
		o->full = true;
		return;
	}
	codec_put_text(o, name, WIRE_NAME_MAX);
}

/* Address families in the encodings: fixed numbers, whatever the host's AF_ values are. */
#define CODEC_AF_INET  4
#define CODEC_AF_INET6 6

static uint8_t
codec_family(int family)
{
	return family == AF_INET ? CODEC_AF_INET : family == AF_INET6 ? CODEC_AF_INET6 : 0;
}

static int
host_family(uint8_t family)
{
	return family == CODEC_AF_INET ? AF_INET : family == CODEC_AF_INET6 ? AF_INET6 : AF_UNSPEC;
}

void
codec_put_endpoint(struct codec_out *o, const struct addr_endpoint *e)
{
	size_t n = addr_len(e->addr.family);

	if (n == 0 || e->port == 0) {
		o->full = true;
		return;
	}
	codec_put_u8(o, codec_family(e->addr.family));
	codec_put_bytes(o, e->addr.u.bytes, n);
	codec_put_u16(o, e->port);
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

void
codec_put_prefix(struct codec_out *o, const struct addr_prefix *p)
{
	if (!prefix_canonical(p)) {
		o->full = true;
		return;
	}
	codec_put_u8(o, codec_family(p->addr.family));
	codec_put_u8(o, p->len);
	codec_put_bytes(o, p->addr.u.bytes, (p->len + 7u) / 8u);
}

int
codec_out_result(const struct codec_out *o)
{
	return o->full ? -1 : (int)o->len;
}

/* ---- reader ---- */

const uint8_t *
codec_get_bytes(struct codec_in *in, size_t n)
{
	const uint8_t *p;

	if (in->bad || n > in->len - in->off) {
		in->bad = true;
		return NULL;
	}
	p = in->buf + in->off;
	in->off += n;
	return p;
}

void
codec_get_copy(struct codec_in *in, void *dst, size_t n)
{
	const uint8_t *p = codec_get_bytes(in, n);

	if (p != NULL)
		memcpy(dst, p, n);
}

uint8_t
codec_get_u8(struct codec_in *in)
{
	const uint8_t *p = codec_get_bytes(in, 1);

	return p != NULL ? p[0] : 0;
}

uint16_t
codec_get_u16(struct codec_in *in)
{
	const uint8_t *p = codec_get_bytes(in, 2);

	return p != NULL ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t
codec_get_u24(struct codec_in *in)
{
	const uint8_t *p = codec_get_bytes(in, 3);

	return p != NULL ? (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2] : 0;
}

uint32_t
codec_get_u32(struct codec_in *in)
{
	const uint8_t *p = codec_get_bytes(in, 4);

	return p != NULL ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
	                 : 0;
}

uint64_t
codec_get_u64(struct codec_in *in)
{
	uint64_t hi = codec_get_u32(in);

	return hi << 32 | codec_get_u32(in);
}

void
codec_get_text(struct codec_in *in, char *out, size_t max)
{
	uint8_t n = codec_get_u8(in);
	const uint8_t *p;

	if (n > max) {
		in->bad = true;
		return;
	}
	p = codec_get_bytes(in, n);
	if (p == NULL)
		return;
	memcpy(out, p, n);
	out[n] = '\0';
	/* A NUL inside would make two encodings of one string. */
	if (memchr(p, '\0', n) != NULL)
		in->bad = true;
}

void
codec_get_name(struct codec_in *in, char out[WIRE_NAME_MAX + 1])
{
	out[0] = '\0';
	codec_get_text(in, out, WIRE_NAME_MAX);
	if (!in->bad && !wire_name_valid(out))
		in->bad = true;
}

void
codec_get_endpoint(struct codec_in *in, struct addr_endpoint *e)
{
	size_t n;

	memset(e, 0, sizeof(*e));
	e->addr.family = (uint8_t)host_family(codec_get_u8(in));
	n = addr_len(e->addr.family);
	if (n == 0) {
		in->bad = true;
		return;
	}
	codec_get_copy(in, e->addr.u.bytes, n);
	e->port = codec_get_u16(in);
	if (e->port == 0)
		in->bad = true;
}

void
codec_get_prefix(struct codec_in *in, struct addr_prefix *p)
{
	size_t n;

	memset(p, 0, sizeof(*p));
	p->addr.family = (uint8_t)host_family(codec_get_u8(in));
	p->len = codec_get_u8(in);
	n = addr_len(p->addr.family);
	if (n == 0 || p->len > n * 8) {
		in->bad = true;
		return;
	}
	codec_get_copy(in, p->addr.u.bytes, (p->len + 7u) / 8u);
	if (!in->bad && !prefix_canonical(p))
		in->bad = true;
}
