/* The rtnetlink messages of kernel-helpers, as functions of plain data, so that tests can
 * check both sides without a kernel: the requests it sends, built with libnl (routes with
 * libmnl), and one decoder per kind of object for what it reads back. A message decodes the
 * same way whether it answers a dump or announces a change (the monitor), as BIRD reads its
 * netlink. Internal to kernel-helpers and its tests. Builders return 0 or -errno and hand the
 * caller a message to free with nlmsg_free() (routes: fill the caller's). */
#ifndef KH_RTMSG_H
#define KH_RTMSG_H

#include <stdbool.h>
#include <netlink/msg.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/monitor.h"
#include "kernel-helpers/nl.h"

/* The operations of the FDB and neighbour builders. */
enum kh_neigh_op {
	KH_NEIGH_APPEND,
	KH_NEIGH_REPLACE,
	KH_NEIGH_DELETE,
};

int kh_msg_vxlan_add(const char *name, const struct kh_vxlan *vxlan, uint32_t mtu,
                     struct nl_msg **out);
/* A link of a kind that needs no attributes of its own: "bridge", "wireguard". */
int kh_msg_link_add(const char *name, const char *kind, uint32_t mtu, struct nl_msg **out);
int kh_msg_ifaddr(const struct kh_ifaddr *addr, bool del, struct nl_msg **out);
/* A route request, built without libnl into memory of its own: a batch of thousands needs
 * no allocation per route. 128 bytes hold the largest (an IPv6 prefix, a gateway, an output
 * interface, an MTU: 104). */
struct kh_route_msg {
	union {
		struct nlmsghdr h;
		uint8_t bytes[128];
	};
};
int kh_msg_route(const struct kh_route *route, bool del, struct kh_route_msg *out);
int kh_msg_rule(const struct kh_rule *rule, bool del, struct nl_msg **out);
/* An FDB request, built without libnl as a route's is: a join appends thousands in one
 * batch, and a libnl message each was a page each. 64 bytes hold the largest (an IPv6 VTEP:
 * 60). */
struct kh_fdb_msg {
	union {
		struct nlmsghdr h;
		uint8_t bytes[64];
	};
};
int kh_msg_fdb(const struct kh_fdb *entry, enum kh_neigh_op op, struct kh_fdb_msg *out);
int kh_msg_neigh(const struct kh_neigh *neigh, enum kh_neigh_op op, struct nl_msg **out);

/* The decoders. h holds h->nlmsg_len bytes (the caller has checked it against what it
 * received). Each fills ev (zeroed first) with the event the message stands for -- a dump's
 * entries read as additions (links: changes) -- and says whether it is one: KH_IGNORED for
 * other families and what no kh_ object shows, KH_MALFORMED (with kh_last_error() set when
 * an attribute was at fault) for anything that breaks a length or attribute rule. */
enum kh_decoded kh_link_decode(const struct nlmsghdr *h, struct kh_event *ev);
enum kh_decoded kh_ifaddr_decode(const struct nlmsghdr *h, struct kh_event *ev);
enum kh_decoded kh_route_decode(const struct nlmsghdr *h, struct kh_event *ev);
enum kh_decoded kh_rule_decode(const struct nlmsghdr *h, struct kh_event *ev);
/* Neighbours (AF_INET, AF_INET6) and bridge FDB entries (AF_BRIDGE) share the message. */
enum kh_decoded kh_neigh_decode(const struct nlmsghdr *h, struct kh_event *ev);

#endif
