/* The rtnetlink requests kernel-helpers sends and the libnl objects it reads back, as functions
 * of plain data, so that tests can check both sides without a kernel. Internal to
 * kernel-helpers and its tests. Builders return 0 or -errno and hand the caller a message
 * to free with nlmsg_free(); readers return 0, or -EINVAL for an object of another type. */
#ifndef KH_RTMSG_H
#define KH_RTMSG_H

#include <stdbool.h>
#include <netlink/msg.h>
#include <netlink/object.h>

#include "kernel-helpers/kh.h"

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
int kh_msg_route(const struct kh_route *route, bool del, struct nl_msg **out);
int kh_msg_rule(const struct kh_rule *rule, bool del, struct nl_msg **out);
int kh_msg_fdb(const struct kh_fdb *entry, enum kh_neigh_op op, struct nl_msg **out);
int kh_msg_neigh(const struct kh_neigh *neigh, enum kh_neigh_op op, struct nl_msg **out);

int kh_link_from_nl(struct nl_object *obj, struct kh_link *link);
int kh_ifaddr_from_nl(struct nl_object *obj, struct kh_ifaddr *addr);
int kh_route_from_nl(struct nl_object *obj, struct kh_route *route);
int kh_rule_from_nl(struct nl_object *obj, struct kh_rule *rule);
int kh_fdb_from_nl(struct nl_object *obj, struct kh_fdb *entry);
int kh_neigh_from_nl(struct nl_object *obj, struct kh_neigh *neigh);

#endif
