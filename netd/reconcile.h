/* The reconciler: reads what the kernel holds of netd's (its WireGuard device, the routes of
 * its table and protocol, its rules, its segments' devices and FDB entries), compares it with
 * the mesh's desired state and applies only the difference, through kernel-helpers. The same
 * run serves start-up, change, repair and the adoption of a data plane left by an earlier
 * netd. */
#ifndef NETD_RECONCILE_H
#define NETD_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "kernel-helpers/monitor.h"
#include "kernel-helpers/rtnl.h"
#include "netd/drift.h"
#include "netd/mesh.h"

/* Failed operations are retried by the next run, which the caller schedules at
 * reconcile_retry_at: the delay doubles from the minimum to the maximum while runs fail. */
/* Above this many route installs (or deletions), or FDB appends, in a run, the run sends them
 * as one batch (kh_route_replace_many, kh_fdb_append_many): a request each is a round trip to the
 * kernel, two system calls and a wake-up, while a batch packs 32 requests a datagram, which with
 * thousands of sites makes a full program several times faster (BENCHMARKS.md). A site joining with
 * its one or two prefixes goes a request each, where the batch would save nothing measurable. */
#define RECONCILE_BATCH_MIN 8
#define RECONCILE_RETRY_MIN (1 * MESH_USEC)
#define RECONCILE_RETRY_MAX (60 * MESH_USEC)
/* A userspace WireGuard being started (it takes tens of milliseconds to answer, waited for
 * off the caller's loop) is looked at again this soon, without counting as a failure. */
#define RECONCILE_RETRY_START (MESH_USEC / 20)
/* A handshake this side started that has not completed this much later is started once more
 * (by one side of the two: see delta_peer and handshake_retry_due in reconcile.c). */
#define RECONCILE_HANDSHAKE_RETRY (MESH_USEC / 2)
/* Handshakes the runs start are paced: up to RECONCILE_HANDSHAKE_BURST at once, then
 * RECONCILE_HANDSHAKE_RATE a second. Each start is an initiation whose response comes back
 * at about the same moment as the others': kernel WireGuard takes itself to be under load
 * once 512 handshake messages wait (MAX_QUEUED_INCOMING_HANDSHAKES / 8) and then answers
 * them with cookies, and the refused peers try again 5 s later; a join of thousands of sites
 * started all at once kept a slow machine's CPUs in that for minutes. The peers beyond the
 * budget are written without the start and started by later runs, unless traffic or the
 * other side has started them first. A join of a few hundred sites starts them all at once. */
#define RECONCILE_HANDSHAKE_BURST 256
#define RECONCILE_HANDSHAKE_RATE  128
/* Peers a run adds at most; the rest wait for the next run, pending (nothing routed to them
 * yet), due at once (reconcile_retry_at), which the caller starts after the room it leaves
 * after every run. Adding a peer costs the kernel a Curve25519 computation, and a run adding
 * thousands held the event loop, and gossip with it, for a minute on a slow machine: sites
 * went unanswered and were suspected. */
#define RECONCILE_PEER_ADDS 1024

/* The kinds of changes, counted one per object (a WireGuard delta of three peers is three). */
enum reconcile_op {
	RECONCILE_OP_WG_CREATE,
	RECONCILE_OP_WG_DELETE,
	RECONCILE_OP_WG_CONFIG, /* private key, listen port or fwmark */
	RECONCILE_OP_PEER_ADD,
	RECONCILE_OP_PEER_UPDATE,
	RECONCILE_OP_PEER_REMOVE,
	RECONCILE_OP_LINK_CREATE, /* VXLAN devices and bridges */
	RECONCILE_OP_LINK_DELETE,
	RECONCILE_OP_LINK_MTU,
	RECONCILE_OP_LINK_UP,
	RECONCILE_OP_LINK_MASTER, /* enslaved to a bridge or released */
	RECONCILE_OP_ADDR_ADD,
	RECONCILE_OP_ADDR_DEL,
	RECONCILE_OP_ROUTE_ADD, /* added or replaced */
	RECONCILE_OP_ROUTE_DEL,
	RECONCILE_OP_RULE_ADD,
	RECONCILE_OP_RULE_DEL,
	RECONCILE_OP_FDB_ADD,
	RECONCILE_OP_FDB_DEL,
	RECONCILE_OP_COUNT
};

/* "route-add", "peer-remove", ...: for metric labels. */
const char *reconcile_op_name(enum reconcile_op op);

/* Why a resync happened: a run that repaired what no event announced. */
enum reconcile_resync {
	RECONCILE_RESYNC_EVENTS_LOST, /* the netlink monitor lost events: a full run follows */
	RECONCILE_RESYNC_DRIFT,       /* a read of the WireGuard device found it drifted */
	RECONCILE_RESYNC_TIMER,       /* the slow timer's run, when it changed something */
	RECONCILE_RESYNC_COUNT
};

/* "events-lost", "drift", "timer": for metric labels. */
const char *reconcile_resync_name(enum reconcile_resync why);

struct reconcile_stats {
	uint64_t runs;        /* reconcile_run calls */
	uint64_t failed_runs; /* runs that left something to retry */
	uint64_t applied[RECONCILE_OP_COUNT];
	uint64_t failed[RECONCILE_OP_COUNT];
	uint64_t last_applied; /* changes the last run (or teardown) made */
	uint64_t last_failed;
	uint64_t events;   /* noted */
	uint64_t relevant; /* that made the reconciler dirty */
	uint64_t resyncs;  /* of every reason: the sum of resyncs_by */
	uint64_t resyncs_by[RECONCILE_RESYNC_COUNT];
	uint64_t drifted[DRIFT_KIND_COUNT]; /* WireGuard peers found drifted, by kind */
	/* Tunnel routes netd had installed and removed because another owner's route in its
	 * table came to overlap them. */
	uint64_t overlap_withdrawals;
	/* Peers told to handshake as their endpoint was set or changed (delta_peer); of those,
	 * peers started once more RECONCILE_HANDSHAKE_RETRY later, as no handshake had
	 * completed or as their session carried one way, and of these the one-way ones; peers
	 * whose start waits for the pace (RECONCILE_HANDSHAKE_RATE) as the last run left them. */
	uint64_t handshakes_started;
	uint64_t handshakes_retried;
	uint64_t handshakes_one_way;
	uint64_t handshakes_waiting;
	/* The last run's wall time reading the kernel (links, the device, routes, addresses,
	 * FDB), in microseconds: at thousands of sites what a run costs whatever it changes. */
	int64_t last_read_us;
};

/* What a report is about. */
enum reconcile_object_type {
	RECONCILE_OBJECT_ROUTE,     /* a route: dst, table, metric */
	RECONCILE_OBJECT_ROUTES,    /* the routes of table (of protocol, unless 0) */
	RECONCILE_OBJECT_RULE,      /* a lookup rule: family, priority, table */
	RECONCILE_OBJECT_RULES,     /* the rules of table */
	RECONCILE_OBJECT_LINKS,     /* every link */
	RECONCILE_OBJECT_LINK,      /* link: a segment's device or port */
	RECONCILE_OBJECT_WIREGUARD, /* link: the WireGuard device */
	RECONCILE_OBJECT_PEERS,     /* the peers of the WireGuard device link */
	RECONCILE_OBJECT_ADDRESSES, /* every interface's addresses */
	RECONCILE_OBJECT_ADDRESS,   /* dst on the device link */
	RECONCILE_OBJECT_FDB,       /* a VXLAN device link's FDB; with vtep, its entry there */
};

struct reconcile_object {
	enum reconcile_object_type type;
	struct addr_prefix dst;
	uint32_t table;
	uint32_t metric;
	uint8_t protocol;
	uint8_t family;
	uint32_t priority;
	char link[IFNAMSIZ];
	struct addr vtep;
};

enum reconcile_report_kind {
	/* Left alone on purpose (err 0). */
	RECONCILE_REPORT_ROUTE_COLLISION, /* another owner's route overlaps a tunnel route */
	RECONCILE_REPORT_ROUTE_YIELDED,   /* a route in main, more specific than one of netd's,
	                                   * takes its prefix: netd's table throws it there */
	RECONCILE_REPORT_FENCE_COLLISION, /* another owner's route sits where a fence goes */
	RECONCILE_REPORT_FENCE_LEFT_OUT,  /* a fence leaves out a subnet of this gateway's */
	RECONCILE_REPORT_LINK_IN_THE_WAY, /* a link of netd's name is not of netd's kind */
	RECONCILE_REPORT_PORT_MISSING,    /* a segment's port does not exist (yet) */
	/* Failed (-errno): the next run tries again. */
	RECONCILE_REPORT_READ_FAILED,
	RECONCILE_REPORT_WIREGUARD_FAILED, /* the device's creation, deletion or configuration */
	RECONCILE_REPORT_PEERS_FAILED,
	RECONCILE_REPORT_LINK_FAILED,
	RECONCILE_REPORT_ADDRESS_FAILED,
	RECONCILE_REPORT_ROUTE_FAILED,
	RECONCILE_REPORT_RULE_FAILED,
	RECONCILE_REPORT_FDB_FAILED,
};

/* Something the last run did not do: on purpose (err 0: another owner's route, a missing
 * port, a foreign link in the way) or because it failed (-errno; retried). As data: the
 * words are reconcile_report_format's. */
struct reconcile_report {
	enum reconcile_report_kind kind;
	struct reconcile_object object;
	int err;
	enum reconcile_op op;  /* the change that failed (failures other than reads) */
	char kernel_text[256]; /* the failure in the kernel's words; "": none given */
	/* The collisions: the other owner's route (dst, protocol) and, for a tunnel route, how
	 * it overlaps and the site the route leads to. FENCE_LEFT_OUT: the subnet (dst).
	 * ROUTE_YIELDED: the object is the throw route, other the route in main, netd_route the
	 * tunnel route (site: its site) or fence (site "") it lies in. */
	struct kh_route other;
	enum kh_overlap overlap;
	char site[MESH_NAME_SIZE];
	struct addr_prefix netd_route;
	/* LINK_IN_THE_WAY and PORT_MISSING of a segment: its name; the kind of the link in the
	 * way ("": a plain device). */
	char segment[MESH_NAME_SIZE];
	char link_kind[KH_KIND_SIZE];
};

/* Room for any report as text. */
#define RECONCILE_REPORT_STRLEN 512

/* The report in words: why, with the kernel's own words when it gave them, preceded by what
 * it is about ("route 10.2.0.0/16 table 51820 metric 10: ...") when with_object is set.
 * Returns buf. */
const char *reconcile_report_format(const struct reconcile_report *rep, bool with_object, char *buf,
                                    size_t len);

struct reconcile;

/* A fail-closed route as the last run left it. */
struct reconcile_fence {
	struct addr_prefix_packed dst; /* addr_prefix_unpack */
	bool installed;                /* netd's unreachable route of dst is in the table */
	/* Why not: the place among the last run's reports of what says so (a collision, a
	 * failure, a part left out, or a read the run lacked), or RECONCILE_NO_REPORT when memory
	 * ran out for it. A place, not a pointer, and the prefix packed: two fences a site, 24
	 * bytes each, not 40 or 32. */
	uint32_t report;
};
#define RECONCILE_NO_REPORT UINT32_MAX

/* Why the fence (one of r's) is not installed, in words; NULL when it is. Returns buf or
 * NULL. */
const char *reconcile_fence_reason(const struct reconcile *r, const struct reconcile_fence *fence,
                                   char *buf, size_t len);

/* What a run did to a tunnel route. */
enum reconcile_route_action {
	RECONCILE_ROUTE_ADDED,     /* installed where the table held no route of netd's */
	RECONCILE_ROUTE_REPLACED,  /* netd's route there differed (device, MTU): replaced */
	RECONCILE_ROUTE_MOVED,     /* in the table, and now leading to another site */
	RECONCILE_ROUTE_WITHDRAWN, /* removed: no site is routed there any more */
	RECONCILE_ROUTE_BLOCKED,   /* newly kept out (removed, if it was in) by a collision */
	RECONCILE_ROUTE_UNBLOCKED, /* the collision that kept it out is gone */
	RECONCILE_ROUTE_YIELDED,   /* dst, a route in main more specific than a route of netd's
	                            * (via: a tunnel route's site, "": a fence), now goes by main */
	RECONCILE_ROUTE_RECLAIMED, /* that route in main is gone: netd's route takes dst back */
};

struct reconcile_route_change {
	enum reconcile_route_action action;
	struct addr_prefix dst;
	/* The site it leads to; WITHDRAWN: led to, "" when not known (a route an earlier netd
	 * left). MOVED: from, the site it led to before. */
	char via[MESH_NAME_SIZE];
	char from[MESH_NAME_SIZE];
	const struct reconcile_report *report; /* BLOCKED, YIELDED: the overlap */
	/* BLOCKED, UNBLOCKED, YIELDED, RECLAIMED: the other owner's route (dst, table,
	 * protocol, type) as the overlap was found. */
	struct kh_route other;
	bool withdrawn; /* BLOCKED: the route was in the table and the run removed it */
};

/* What netd does about another owner's route that overlaps one of its own. */
enum reconcile_overlap_action {
	RECONCILE_OVERLAP_YIELDED,       /* a throw route sends the other's prefix on to main */
	RECONCILE_OVERLAP_NOT_INSTALLED, /* the tunnel route is kept out of netd's table */
	RECONCILE_OVERLAP_WITHDRAWN,     /* ... and had been in it when the other's came */
};

/* "yield", "not-installed", "withdrawn": for JSON and metric labels. */
const char *reconcile_overlap_action_name(enum reconcile_overlap_action action);

/* An overlap as the last run left it. The report (ROUTE_YIELDED or ROUTE_COLLISION) names
 * both routes. */
struct reconcile_overlap {
	enum reconcile_overlap_action action;
	bool installed; /* YIELDED: the throw route is in netd's table */
	const struct reconcile_report *report;
};

/* Returns 0 and *out, or -ENOMEM. Freed with reconcile_free. */
int reconcile_new(struct reconcile **out);
void reconcile_free(struct reconcile *r);

/* Makes the kernel hold desired: reads netd's objects, installs the fail-closed routes and
 * the rule first (they need no device, and whatever follows is then refused rather than sent
 * in clear while it is missing), then removes what is not wanted, creates and corrects
 * devices, and adds what is missing, in an order that never routes through a device that is
 * not there. A tunnel route that collides with another owner's (by kh_route_overlap) is not
 * installed, and removed if netd had installed it; a fail-closed route only when another
 * owner's has its prefix and metric. A route in main (unless netd's table is main) whose
 * prefix lies strictly inside a tunnel route or fence gets a throw route of its prefix in
 * netd's table, so the lookup goes on to main for it: the more specific route wins, whoever
 * owns it. Objects netd
 * owned in earlier runs and desired no longer names (a segment or interface gone from the
 * config, another table) are removed too. now is monotonic time in microseconds. Returns 0
 * when everything was applied, -EAGAIN when something failed (see the reports; retry at
 * reconcile_retry_at), -ENOMEM. Clears the dirty flag. */
int reconcile_run(struct reconcile *r, const struct mesh_desired *desired, int64_t now);

/* Removes everything netd owns -- what desired names and what earlier runs owned -- and
 * nothing else. Returns 0, or -EAGAIN when something could not be removed (reported). */
int reconcile_teardown(struct reconcile *r, const struct mesh_desired *desired);

/* Takes one netlink event: marks the reconciler dirty when it moves the kernel away from
 * what the last run left (a route, address or FDB entry of netd's gone or changed, a link of
 * netd's down, changed or deleted, a port's arrival, another owner's route near one of
 * netd's), or when events were lost (KH_EV_RESYNC). The echoes of a run's own route,
 * address, FDB and peer changes leave it clean; those of a link it made in several steps
 * show the steps and call for one more run, which changes nothing. A deleted rule of
 * netd's is relevant too. WireGuard peers have no events: reconcile_note_device finds
 * changes to them. */
void reconcile_note_event(struct reconcile *r, const struct kh_event *ev);

/* Takes the read of the WireGuard device a userspace implementation finished in the
 * background, if one waits, and keeps of it what the next run compares (wgread.h): at 10,000
 * peers 1.2 MB where the read is 2.3, held through what comes before that run (site_apply
 * computes the view and the mesh). The next run, or teardown, uses it or frees it. Without
 * memory for it that run reads the device again. True when a read was taken: its blocks are
 * then free, the caller's to trim. */
bool reconcile_collect(struct reconcile *r, const char *device);

/* Compares a read of the WireGuard device (NULL: none) with the peers the last run left on it
 * (their set by public key, endpoints unless they roam, allowed-ips, keepalives), WireGuard
 * having no events for peers. On a difference it marks the reconciler dirty, counts the
 * peers, fills *drift and returns true; the next run repairs it and counts as a resync. A
 * drift is noted once: until that run, or after a run that left the peers unknown (a failed
 * change, an unread device), false. Allocates nothing; O(n log n) in the peers. */
bool reconcile_note_device(struct reconcile *r, const struct wg_device *dev, struct drift *drift);

/* The slow timer's run is next: it counts as a resync if it changes something. */
void reconcile_note_resync(struct reconcile *r);

/* True before the first run and after a relevant event: the caller should run (debounced). */
bool reconcile_dirty(const struct reconcile *r);

/* When the failed operations of the last run should be tried again, a WireGuard device
 * being started, a handshake started (RECONCILE_HANDSHAKE_RETRY) looked at again or the
 * handshakes waiting for the pace started (monotonic microseconds); 0 when none. */
int64_t reconcile_retry_at(const struct reconcile *r);

/* Whether the last run left peers for the next (RECONCILE_PEER_ADDS), due at once. */
bool reconcile_unfinished(const struct reconcile *r);

/* Whether peer i of the desired state the last run was given is not on the WireGuard device:
 * left for the next run (RECONCILE_PEER_ADDS) or its change failed. Traffic for it would be
 * dropped. */
bool reconcile_peer_pending(const struct reconcile *r, size_t i);

/* The reports of the last run or teardown; valid until the next call of either. */
const struct reconcile_report *reconcile_reports(const struct reconcile *r, size_t *n);

/* The changes the last run made to the tunnel routes, in the order it made them; valid until
 * the next run or teardown. */
const struct reconcile_route_change *reconcile_route_changes(const struct reconcile *r, size_t *n);

/* The fail-closed routes of the last run, by prefix: desired's less the subnets of this
 * gateway's interfaces, each installed or not, and the parts left out for those subnets,
 * never installed. Valid until the next run or teardown; none before the first run and
 * after a teardown. */
const struct reconcile_fence *reconcile_fences(const struct reconcile *r, size_t *n);

/* The overlaps of the last run, by the other owner's prefix; valid until the next run or
 * teardown. */
const struct reconcile_overlap *reconcile_overlaps(const struct reconcile *r, size_t *n);

void reconcile_get_stats(const struct reconcile *r, struct reconcile_stats *stats);

#endif
