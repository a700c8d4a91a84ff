/* The bounded byte codec under netd's binary formats (gossip messages, credentials):
 * big-endian integers, site names, endpoints and prefixes, with the formats' fixed
 * address-family numbers. Failures are sticky: a put that does not fit (or a value the
 * decoder would refuse) sets `full` and writes nothing more; a get past the end (or of a
 * malformed value) sets `bad` and reads nothing more. The caller checks once at the end. */
#ifndef NETD_CODEC_H
#define NETD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/addr.h"
#include "netd/wire.h"

/* Appends to buf[0..cap); len is what has been written. */
struct codec_out {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool full;
};

void codec_put_bytes(struct codec_out *o, const void *p, size_t n);
void codec_put_u8(struct codec_out *o, uint8_t v);
void codec_put_u16(struct codec_out *o, uint16_t v);
void codec_put_u24(struct codec_out *o, uint32_t v); /* the low 24 bits */
void codec_put_u32(struct codec_out *o, uint32_t v);
void codec_put_u64(struct codec_out *o, uint64_t v);
/* A length byte and the name; a name wire_name_valid refuses sets full. */
/* A length-prefixed text of at most max (<= 255) bytes, without NULs. */
void codec_put_text(struct codec_out *o, const char *s, size_t max);
void codec_put_name(struct codec_out *o, const char *name);
/* Family number, address bytes, port; no address or port 0 sets full. */
void codec_put_endpoint(struct codec_out *o, const struct addr_endpoint *e);
/* Family number, length, the (len + 7) / 8 leading address bytes; a prefix with host bits
 * set (or bytes past its family's address) sets full. */
void codec_put_prefix(struct codec_out *o, const struct addr_prefix *p);
/* The length written, or -1 when anything did not fit. */
int codec_out_result(const struct codec_out *o);

/* Reads buf[0..len) from off. */
struct codec_in {
	const uint8_t *buf;
	size_t len;
	size_t off;
	bool bad;
};

/* The next n bytes in place, or NULL (and bad) when fewer are left. */
const uint8_t *codec_get_bytes(struct codec_in *in, size_t n);
/* Once bad, integer getters return 0 and codec_get_copy leaves dst untouched. */
void codec_get_copy(struct codec_in *in, void *dst, size_t n);
uint8_t codec_get_u8(struct codec_in *in);
uint16_t codec_get_u16(struct codec_in *in);
uint32_t codec_get_u24(struct codec_in *in);
uint32_t codec_get_u32(struct codec_in *in);
uint64_t codec_get_u64(struct codec_in *in);
/* What the puts above write; anything they would refuse sets bad. */
/* out holds max + 1 bytes; a text longer than max or holding a NUL is bad. */
void codec_get_text(struct codec_in *in, char *out, size_t max);
void codec_get_name(struct codec_in *in, char out[WIRE_NAME_MAX + 1]);
void codec_get_endpoint(struct codec_in *in, struct addr_endpoint *e);
void codec_get_prefix(struct codec_in *in, struct addr_prefix *p);

#endif
