/* Text forms and comparisons of addresses and prefixes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netd/addr.h"

size_t
addr_len(int family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

int
addr_parse(const char *text, struct addr *out)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, text, &a.u.v4) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, text, &a.u.v6) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	*out = a;
	return 0;
}

int
addr_prefix_parse(const char *text, struct addr_prefix *out)
{
	char buf[ADDR_PREFIX_STRLEN];
	struct addr_prefix p;
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long len;
	char *end;

	if (alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(&p, 0, sizeof(p));
	if (addr_parse(buf, &p.addr) < 0)
		return -EINVAL;
	len = addr_len(p.addr.family) * 8;
	if (slash) {
		/* strtoul would accept signs and spaces: only plain digits make a length. */
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (errno || *end != '\0' || v > len)
			return -EINVAL;
		len = v;
	}
	p.len = (uint8_t)len;
	*out = p;
	return 0;
}

const char *
addr_format(const struct addr *addr, char buf[ADDR_STRLEN])
{
	if (!addr_len(addr->family) || !inet_ntop(addr->family, addr->u.bytes, buf, ADDR_STRLEN))
		snprintf(buf, ADDR_STRLEN, "none");
	return buf;
}

const char *
addr_prefix_format(const struct addr_prefix *prefix, char buf[ADDR_PREFIX_STRLEN])
{
	char a[ADDR_STRLEN];

	snprintf(buf, ADDR_PREFIX_STRLEN, "%s/%u", addr_format(&prefix->addr, a), prefix->len);
	return buf;
}

const char *
addr_endpoint_format(const struct addr_endpoint *ep, char buf[ADDR_ENDPOINT_STRLEN])
{
	char a[ADDR_STRLEN];

	snprintf(buf, ADDR_ENDPOINT_STRLEN, ep->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	         addr_format(&ep->addr, a), ep->port);
	return buf;
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && memcmp(a->u.bytes, b->u.bytes, addr_len(a->family)) == 0;
}

bool
addr_prefix_equal(const struct addr_prefix *a, const struct addr_prefix *b)
{
	return a->len == b->len && addr_equal(&a->addr, &b->addr);
}

struct addr_prefix_packed
addr_prefix_pack(const struct addr_prefix *prefix)
{
	struct addr_prefix_packed p = {.family = prefix->addr.family, .len = prefix->len};

	memcpy(p.bytes, prefix->addr.u.bytes, sizeof(p.bytes));
	return p;
}

struct addr_prefix
addr_prefix_unpack(const struct addr_prefix_packed *packed)
{
	struct addr_prefix p = {.addr.family = packed->family, .len = packed->len};

	memcpy(p.addr.u.bytes, packed->bytes, sizeof(packed->bytes));
	return p;
}

bool
addr_endpoint_equal(const struct addr_endpoint *a, const struct addr_endpoint *b)
{
	return a->port == b->port && addr_equal(&a->addr, &b->addr);
}

static int
family_rank(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : 2;
}

int
addr_cmp(const struct addr *a, const struct addr *b)
{
	int fa = family_rank(a->family), fb = family_rank(b->family);
	size_t len = addr_len(a->family);

	if (fa != fb)
		return fa < fb ? -1 : 1;
	/* Sorts and searches of tens of thousands of routes and VTEPs call this millions of
	 * times a run: an IPv4 address compared as one number, not through memcmp. */
	if (len == 4) {
		uint32_t x = ntohl(a->u.v4.s_addr), y = ntohl(b->u.v4.s_addr);

		return x < y ? -1 : x > y;
	}
	return len ? memcmp(a->u.bytes, b->u.bytes, len) : 0;
}

int
addr_prefix_cmp(const struct addr_prefix *a, const struct addr_prefix *b)
{
	int c = addr_cmp(&a->addr, &b->addr);

	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Whether the first len bits of a and b agree. */
static bool
bits_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return ((a[full] ^ b[full]) & mask) == 0;
}

bool
addr_prefix_contains(const struct addr_prefix *outer, const struct addr_prefix *inner)
{
	size_t alen = addr_len(outer->addr.family);

	if (!alen || outer->addr.family != inner->addr.family || outer->len > inner->len ||
	    inner->len > alen * 8)
		return false;
	return bits_equal(outer->addr.u.bytes, inner->addr.u.bytes, outer->len);
}

bool
addr_prefix_overlap(const struct addr_prefix *a, const struct addr_prefix *b)
{
	return addr_prefix_contains(a, b) || addr_prefix_contains(b, a);
}

struct addr_prefix
addr_prefix_masked(const struct addr_prefix *prefix)
{
	size_t alen = addr_len(prefix->addr.family);
	struct addr_prefix masked = *prefix;

	memset(masked.addr.u.bytes, 0, sizeof(masked.addr.u.bytes));
	for (unsigned i = 0; i < alen; i++) {
		unsigned bits = prefix->len > i * 8 ? prefix->len - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
		masked.addr.u.bytes[i] = prefix->addr.u.bytes[i] & mask;
	}
	return masked;
}

bool
addr_prefix_is_canonical(const struct addr_prefix *prefix)
{
	size_t alen = addr_len(prefix->addr.family);
	struct addr_prefix masked;

	if (!alen || prefix->len > alen * 8)
		return false;
	masked = addr_prefix_masked(prefix);
	return memcmp(masked.addr.u.bytes, prefix->addr.u.bytes, alen) == 0;
}

struct addr_prefix
addr_host(const struct addr *addr)
{
	struct addr_prefix p = {.addr = *addr, .len = (uint8_t)(addr_len(addr->family) * 8)};

	return p;
}
