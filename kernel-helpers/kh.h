/* The plain data kernel-helpers exchanges with the rest of netd: addresses, prefixes, links,
 * routes, policy rules, FDB entries and neighbours. No netlink or libnl type appears here. */
#ifndef KH_H
#define KH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>

#include "netd/addr.h"

#define KH_MAC_LEN    6
#define KH_KIND_SIZE  16
#define KH_MAC_STRLEN 18

/* What a VXLAN device carries besides the common link attributes. */
struct kh_vxlan {
	uint32_t vni;
	struct addr local; /* source address of the encapsulation; AF_UNSPEC: none */
	uint16_t port;     /* UDP destination port, host order; 0: the kernel's default */
	bool learning;     /* netd's devices never learn: FDB entries are programmed */
	uint32_t underlay; /* ifindex of the underlying device, 0: none */
};

struct kh_link {
	char name[IFNAMSIZ];
	uint32_t ifindex;
	char kind[KH_KIND_SIZE]; /* "vxlan", "bridge", "veth", ...; "" for a plain device */
	uint32_t mtu;
	uint32_t flags;  /* IFF_* as the kernel reports them (IFF_UP, IFF_RUNNING, ...) */
	uint32_t master; /* ifindex of the bridge this link is a port of, 0: none */
	uint8_t mac[KH_MAC_LEN];
	bool has_vxlan; /* vxlan below is meaningful */
	struct kh_vxlan vxlan;
};

/* An address assigned to an interface. */
struct kh_ifaddr {
	uint32_t ifindex;
	struct addr_prefix prefix;
};

/* Route types, the kernel's RTN_* numbers. A unicast route leads through a device or a
 * gateway. A reject route has no next hop and so outlives every device: what it matches is
 * refused with an ICMP error (unreachable, prohibit) or dropped without one (blackhole), and
 * the lookup ends there: it does not fall through to a later rule's table. A throw route has
 * no next hop either: the lookup in its table ends there as if nothing matched, and goes on
 * with the next rule's table. */
enum kh_route_type {
	KH_ROUTE_UNICAST = 1,
	KH_ROUTE_BLACKHOLE = 6,
	KH_ROUTE_UNREACHABLE = 7,
	KH_ROUTE_PROHIBIT = 8,
	KH_ROUTE_THROW = 9,
};

/* A route through an output interface and/or a gateway, or a reject route. dst.addr.family
 * is the route's family. */
struct kh_route {
	struct addr_prefix dst;
	uint32_t table;
	uint8_t protocol; /* the owner: netd uses its own number, the kernel 2, `ip` 3/4 */
	uint8_t scope;    /* reported; installs derive it: link for a unicast route without a
	                   * gateway, else global */
	uint8_t type;     /* enum kh_route_type; 0 installs unicast, and a delete given 0
	                   * matches any type */
	uint32_t oif;     /* 0: none (always for a reject route: IPv6 hangs those on the loopback
	                   * device, which is not shown); a multipath route shows its first hop
	                   * here and below */
	struct addr gateway;
	uint32_t metric;
	uint32_t mtu; /* path MTU (RTAX_MTU); 0: none */
};

/* A policy rule sending matching traffic to a table. */
struct kh_rule {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint32_t priority;
	uint32_t table;
	struct addr_prefix src; /* len 0: any source */
	struct addr_prefix dst; /* len 0: any destination */
	uint32_t fwmark;
	uint32_t fwmask;  /* 0: the mark is not matched */
	uint8_t protocol; /* who added the rule (FRA_PROTOCOL), like a route's protocol */
};

/* A bridge forwarding entry on a VXLAN device: frames for mac go to the remote VTEP dst. The
 * all-zero MAC is the default destination, one entry per remote VTEP, over which broadcast
 * and unknown unicast are replicated. */
struct kh_fdb {
	uint32_t ifindex;
	uint8_t mac[KH_MAC_LEN];
	struct addr dst; /* AF_UNSPEC in entries that name no VTEP (the bridge's own) */
	uint32_t master; /* reported: the bridge, for entries the bridge holds */
	uint16_t state;  /* reported: NUD_* */
	uint8_t flags;   /* reported: NTF_* (self: the device's own table; master: the bridge's) */
};

/* An IP neighbour (ARP or ND) entry. */
struct kh_neigh {
	uint32_t ifindex;
	struct addr ip;
	uint8_t mac[KH_MAC_LEN];
	uint16_t state; /* NUD_*; installs are permanent */
};

/* MAC addresses in text: the parser returns 0 or -EINVAL and writes mac only on success. */
int kh_mac_parse(const char *text, uint8_t mac[KH_MAC_LEN]);
const char *kh_mac_format(const uint8_t mac[KH_MAC_LEN], char buf[KH_MAC_STRLEN]);

/* True for blackhole, unreachable and prohibit. */
bool kh_route_type_rejects(uint8_t type);
/* True for the types without a next hop: the reject types and throw. */
bool kh_route_type_hopless(uint8_t type);
/* "unicast", "unreachable", ...; "type N" in buf for other numbers. */
const char *kh_route_type_name(uint8_t type, char buf[16]);
/* The type of a name kh_route_type_name gives for the five types above, or -EINVAL. */
int kh_route_type_parse(const char *name, uint8_t *type);

/* A description of the last failure of a kh_ or wg_ call in this thread ("" if none), with the
 * kernel's extended-ack text when it gave one; valid until the next kh_ or wg_ call. */
const char *kh_last_error(void);

#endif
