/* The kernel's netlink notifications about links, addresses, routes, neighbours and FDB
 * entries, delivered as typed plain-data events to the daemon's event loop, with a "resync"
 * event whenever the kernel had to drop some. */
#ifndef KH_MONITOR_H
#define KH_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel-helpers/kh.h"

enum kh_event_type {
	KH_EV_RESYNC,      /* events were lost: re-read the kernel's state */
	KH_EV_LINK_NEW,    /* a link appeared */
	KH_EV_LINK_CHANGE, /* a link changed: flags, MTU, master, name, ... */
	KH_EV_LINK_DEL,
	KH_EV_ADDR_NEW,
	KH_EV_ADDR_DEL,
	KH_EV_ROUTE_NEW, /* added or replaced */
	KH_EV_ROUTE_DEL,
	KH_EV_NEIGH_NEW, /* added or changed state */
	KH_EV_NEIGH_DEL,
	KH_EV_FDB_NEW,
	KH_EV_FDB_DEL,
	KH_EV_RULE_NEW,
	KH_EV_RULE_DEL,
};

struct kh_event {
	enum kh_event_type type;
	union {
		struct kh_link link;   /* KH_EV_LINK_* */
		struct kh_ifaddr addr; /* KH_EV_ADDR_* */
		struct kh_route route; /* KH_EV_ROUTE_* */
		struct kh_neigh neigh; /* KH_EV_NEIGH_* */
		struct kh_fdb fdb;     /* KH_EV_FDB_* */
		struct kh_rule rule;   /* KH_EV_RULE_* */
	} u;
};

/* ev is valid during the call only. */
typedef void (*kh_event_cb)(const struct kh_event *ev, void *arg);

struct kh_monitor_stats {
	uint64_t datagrams; /* received from the kernel */
	uint64_t events;    /* delivered, resyncs included */
	uint64_t resyncs;   /* overruns (ENOBUFS) and truncated datagrams */
	uint64_t foreign;   /* datagrams from anyone but the kernel, dropped unread */
	uint64_t malformed; /* messages that broke the length or attribute rules, skipped */
	uint64_t ignored;   /* well-formed messages of no interest (other families, clones) */
};

struct kh_monitor;

/* Default receive buffer: large, so that bursts (an interface with thousands of routes going
 * down) rarely overflow; when they do, the reader is told (KH_EV_RESYNC). */
#define KH_MONITOR_RCVBUF (4u << 20)

/* Opens a non-blocking netlink socket subscribed to link, IPv4/IPv6 address, IPv4/IPv6 route
 * and neighbour notifications, with a receive buffer of rcvbuf bytes (0: KH_MONITOR_RCVBUF;
 * more than the system's limit needs CAP_NET_ADMIN, without which the limit applies). On
 * success *out is the caller's, closed with kh_monitor_close. Returns 0 or -errno. */
int kh_monitor_open(size_t rcvbuf, struct kh_monitor **out);
void kh_monitor_close(struct kh_monitor *mon);

/* The descriptor to watch for reading. */
int kh_monitor_fd(const struct kh_monitor *mon);

/* Reads what is waiting (at most a bounded number of datagrams, so that a flood does not
 * starve the loop: the descriptor stays readable) and calls cb for each event. Returns the
 * number of events delivered, or -errno if the socket failed. */
int kh_monitor_read(struct kh_monitor *mon, kh_event_cb cb, void *arg);

void kh_monitor_get_stats(const struct kh_monitor *mon, struct kh_monitor_stats *stats);

/* What one receive on the event socket produced: len bytes at buf from netlink port sender
 * (0 is the kernel), the receive error err (then buf is not read; ENOBUFS: the kernel
 * dropped notifications), or a datagram cut short (truncated). */
struct kh_monitor_input {
	const void *buf;
	size_t len;
	uint32_t sender;
	int err;
	bool truncated;
};

/* Turns one receive into events for cb and counts it in stats. Pure: it reads only in and
 * touches no socket, so tests and the fuzzer feed it anything; what was wrong with the last
 * malformed message is left in kh_last_error(). */
void kh_monitor_process(const struct kh_monitor_input *in, kh_event_cb cb, void *arg,
                        struct kh_monitor_stats *stats);

#endif
