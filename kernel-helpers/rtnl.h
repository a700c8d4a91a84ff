/* Links, addresses, routes, policy rules, bridge FDB entries and neighbours in the kernel, as
 * the plain data of kernel-helpers/kh.h.
 *
 * Calls share kernel-helpers' netlink sockets, opened by the first call that needs one and kept
 * open for the life of the process; they wait at most a few seconds for each answer and return
 * 0 or -errno; on failure kh_last_error() names the operation, the object and the reason (with
 * the kernel's own explanation when it gave one). Lists are arrays the caller frees with free();
 * out-parameters are written only on success. */
#ifndef KH_RTNL_H
#define KH_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel-helpers/kh.h"

/* Links. Names are at most IFNAMSIZ - 1 bytes. New links are created down; an mtu of 0
 * leaves the kernel's default. -EEXIST when a link of that name exists already: adopt it by
 * reading it with kh_link_get and comparing. ifindex (may be NULL) receives the new link's
 * index. */
int kh_link_add_vxlan(const char *name, const struct kh_vxlan *vxlan, uint32_t mtu,
                      uint32_t *ifindex);
int kh_link_add_bridge(const char *name, uint32_t mtu, uint32_t *ifindex);
int kh_link_del(uint32_t ifindex);

/* One link by name or index, -ENODEV when there is none; every link of the namespace. */
int kh_link_get(const char *name, struct kh_link *link);
int kh_link_get_index(uint32_t ifindex, struct kh_link *link);
int kh_link_list(struct kh_link **links, size_t *n);

/* Enslaves the link to the bridge master, or releases it from its bridge (master 0). */
int kh_link_set_master(uint32_t ifindex, uint32_t master);
int kh_link_set_mtu(uint32_t ifindex, uint32_t mtu);
int kh_link_set_up(uint32_t ifindex, bool up);

/* Interface addresses (the prefix carries the host address and its subnet length).
 * Adding an address that exists already refreshes it. ifindex 0 / AF_UNSPEC list all. */
int kh_ifaddr_add(const struct kh_ifaddr *addr);
int kh_ifaddr_del(const struct kh_ifaddr *addr);
int kh_ifaddr_list(uint32_t ifindex, int family, struct kh_ifaddr **addrs, size_t *n);

/* Matches every protocol in kh_route_list. */
#define KH_ROUTE_ANY_PROTOCOL (-1)

/* Installs the route, replacing the one with the same prefix and metric in its table --
 * whoever owns that one: ask kh_route_collisions first. Metric 0 means the kernel's default
 * (1024 for IPv6), so give one. The prefix must be canonical (no host bits). */
int kh_route_replace(const struct kh_route *route);
/* Deletes the route of that prefix, table, protocol and metric (and gateway and output
 * interface when given); -ESRCH when there is none. */
int kh_route_del(const struct kh_route *route);
/* Many installs or deletes in one call, each entry with the meaning of kh_route_replace or
 * kh_route_del, sent with many in flight (see kh_nl_batch): thousands of routes take a
 * fraction of the time one request each takes. done is called once for every entry with 0
 * or its -errno and the text kh_last_error() would hold for it, in no set order; done must
 * not call kernel-helpers. An entry whose acknowledgement was lost is failed, as it may or
 * may not be in the table. Returns how many entries failed. */
typedef void (*kh_route_done_cb)(size_t i, int err, const char *why, void *arg);
size_t kh_route_replace_many(const struct kh_route *routes, size_t n, kh_route_done_cb done,
                             void *arg);
size_t kh_route_del_many(const struct kh_route *routes, size_t n, kh_route_done_cb done, void *arg);
/* The routes of table (0: every table) and protocol (KH_ROUTE_ANY_PROTOCOL: any owner), of
 * family (AF_UNSPEC: both). Only the kernel's own routing entries, never cached clones. */
int kh_route_list(int family, uint32_t table, int protocol, struct kh_route **routes, size_t *n);
/* kh_route_list's routes handed to each one at a time, in the kernel's order, instead of
 * collected: a caller that keeps only what it needs of each holds far less than the list
 * would (20,000 routes are 1.3 MB). each returns 0 or -errno, which ends the walk and is its
 * result; restart (may be NULL) is called when the table changed while it was listed and the
 * listing runs again: forget what each was given. */
struct kh_route_walk {
	int (*each)(const struct kh_route *route, void *arg);
	int (*restart)(void *arg);
	void *arg;
};
int kh_route_walk(int family, uint32_t table, int protocol, const struct kh_route_walk *walk);
/* Deletes every route of table and protocol (of family, AF_UNSPEC: both) and nothing else,
 * one kh_route_del per route of kh_route_list; deleted (may be NULL) receives how many went. */
int kh_route_flush(int family, uint32_t table, uint8_t protocol, size_t *deleted);

/* How another owner's route relates to one netd wants to install. */
enum kh_overlap {
	KH_OVERLAP_NONE,
	KH_OVERLAP_SAME,          /* same prefix: installing would replace or compete with it */
	KH_OVERLAP_MORE_SPECIFIC, /* inside ours: it keeps part of our traffic */
	KH_OVERLAP_LESS_SPECIFIC, /* covers ours: we would take part of its traffic */
};

/* The collision rule: a route of another protocol in the same table and family whose prefix
 * is the same as mine, inside mine, or covering mine -- except a default route (/0), which
 * every prefix lies in and which no installed route harms. The same owner's routes never
 * collide: they are netd's to replace. Pure. */
enum kh_overlap kh_route_overlap(const struct kh_route *mine, const struct kh_route *other);

/* Why a route (del: for deletion) or a rule is meaningless to ask the kernel for, or NULL.
 * The calls below refuse such requests with this text before sending anything. */
const char *kh_route_problem(const struct kh_route *route, bool del);
const char *kh_rule_problem(const struct kh_rule *rule);
/* The routes of kh_route_list that collide with mine by that rule; nothing is changed. */
int kh_route_collisions(const struct kh_route *mine, struct kh_route **routes, size_t *n);

/* Policy rules. Adding a rule that exists already is -EEXIST. family AF_UNSPEC lists both;
 * table 0 lists rules of every table. */
int kh_rule_add(const struct kh_rule *rule);
int kh_rule_del(const struct kh_rule *rule);
int kh_rule_list(int family, uint32_t table, struct kh_rule **rules, size_t *n);

/* The FDB of a VXLAN device. Append adds one more destination for the MAC -- with the
 * all-zero MAC, one per remote VTEP, which makes the device replicate broadcast and unknown
 * unicast to each of them. Replace points a MAC at exactly one VTEP. Delete removes the entry
 * for that MAC and VTEP. Entries are permanent and live in the device's own table. */
int kh_fdb_append(const struct kh_fdb *entry);
int kh_fdb_replace(const struct kh_fdb *entry);
int kh_fdb_del(const struct kh_fdb *entry);
/* Many appends in one call, each entry with the meaning of kh_fdb_append, sent with many in
 * flight (see kh_nl_batch) as kh_route_replace_many sends routes, with the same contract for
 * done and the return value. */
typedef void (*kh_fdb_done_cb)(size_t i, int err, const char *why, void *arg);
size_t kh_fdb_append_many(const struct kh_fdb *entries, size_t n, kh_fdb_done_cb done, void *arg);
/* The entries of one device, both its own and those its bridge holds for it. */
int kh_fdb_list(uint32_t ifindex, struct kh_fdb **entries, size_t *n);

/* Permanent neighbour entries, e.g. to answer ARP and ND on a bridge without flooding.
 * Replace adds or updates. ifindex 0 / AF_UNSPEC list all. */
int kh_neigh_replace(const struct kh_neigh *neigh);
int kh_neigh_del(const struct kh_neigh *neigh);
int kh_neigh_list(uint32_t ifindex, int family, struct kh_neigh **neighs, size_t *n);

#endif
