/* Addresses, prefixes and endpoints: the one vocabulary the config, gossip trust, the mesh and
 * kernel-helpers share. Plain data and pure functions; no sockets, no netlink, no wire format
 * (codec converts at the binary formats' edge). */
#ifndef NETD_ADDR_H
#define NETD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define ADDR_STRLEN          INET6_ADDRSTRLEN
#define ADDR_PREFIX_STRLEN   (INET6_ADDRSTRLEN + 4)
#define ADDR_ENDPOINT_STRLEN (INET6_ADDRSTRLEN + 8) /* "[" ADDR "]:" PORT */

/* An IPv4 or IPv6 address; family AF_UNSPEC means "none" (no gateway, no local address). */
struct addr {
	uint8_t family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} u;
};

/* An address and a prefix length. For a plain address len is the full length (32 or 128).
 * Routes, rules and advertised prefixes want the host bits zero; see
 * addr_prefix_is_canonical. */
struct addr_prefix {
	struct addr addr;
	uint8_t len;
};

/* A prefix in 18 bytes of alignment 1, for the tables that keep one an entry: struct
 * addr_prefix pads its family and length to 24. addr_prefix_unpack gives it back whole. */
struct addr_prefix_packed {
	uint8_t bytes[16];
	uint8_t family;
	uint8_t len;
};

/* An address with a UDP port, host order. */
struct addr_endpoint {
	struct addr addr;
	uint16_t port;
};

/* Bytes of an address of this family: 4, 16, or 0 for anything else. */
size_t addr_len(int family);

/* Text forms. Parsers return 0 or -EINVAL and write *out only on success. A prefix without
 * "/len" is a host prefix (/32 or /128). */
int addr_parse(const char *text, struct addr *out);
int addr_prefix_parse(const char *text, struct addr_prefix *out);
/* Formatters return buf; an AF_UNSPEC address prints as "none". An endpoint prints as
 * "192.0.2.1:7946" or "[2001:db8::1]:7946". */
const char *addr_format(const struct addr *addr, char buf[ADDR_STRLEN]);
const char *addr_prefix_format(const struct addr_prefix *prefix, char buf[ADDR_PREFIX_STRLEN]);
const char *addr_endpoint_format(const struct addr_endpoint *ep, char buf[ADDR_ENDPOINT_STRLEN]);

bool addr_equal(const struct addr *a, const struct addr *b);
bool addr_prefix_equal(const struct addr_prefix *a, const struct addr_prefix *b);
bool addr_endpoint_equal(const struct addr_endpoint *a, const struct addr_endpoint *b);
/* Total orders: IPv4 before IPv6 before anything else, then by the address bytes; prefixes
 * then by length, shorter first, so a prefix sorts right before the prefixes inside it that
 * share its address. */
int addr_cmp(const struct addr *a, const struct addr *b);
int addr_prefix_cmp(const struct addr_prefix *a, const struct addr_prefix *b);
/* True when every address of inner lies in outer (same family, outer no longer). */
bool addr_prefix_contains(const struct addr_prefix *outer, const struct addr_prefix *inner);
/* True when the two share an address: one contains the other. */
bool addr_prefix_overlap(const struct addr_prefix *a, const struct addr_prefix *b);
/* True when the family is IPv4 or IPv6, the length fits and no host bit is set. */
bool addr_prefix_is_canonical(const struct addr_prefix *prefix);
/* The prefix with its host bits cleared: the subnet of an interface address. */
struct addr_prefix addr_prefix_masked(const struct addr_prefix *prefix);
struct addr_prefix_packed addr_prefix_pack(const struct addr_prefix *prefix);
struct addr_prefix addr_prefix_unpack(const struct addr_prefix_packed *packed);
/* The host prefix (/32, /128) of an address. */
struct addr_prefix addr_host(const struct addr *addr);

#endif
