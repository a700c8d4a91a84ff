/* The reconciler: diffs the mesh's desired state against what the kernel holds of netd's and
 * applies the difference through kernel-helpers, counting and reporting every change. */
#include "netd/reconcile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/wg.h"
#include "netd/names.h"
#include "netd/wgread.h"

static const uint8_t zero_mac[KH_MAC_LEN];

/* What a segment's devices were when the last run ended. */
struct owned_segment {
	char vxlan[IFNAMSIZ];
	char bridge[IFNAMSIZ];
	uint32_t vxlan_index, bridge_index; /* 0: not there */
	uint32_t mtu;
	char (*ports)[IFNAMSIZ];
	size_t nports;
	struct addr *vteps;
	size_t nvteps;
};

/* A route the last run planned, without what the scope holds once for all routes (the table,
 * the owner, the two metrics, the WireGuard device's index) or what netd never sets (a
 * gateway): owned_kh() makes it whole again. */
struct owned_route {
	/* A tunnel route's site (a yield: of the one it lies in), in the scope's names; "" for a
	 * fence. The names outlive the desired state they were taken from, which the next run
	 * replaces while comparing with this scope. */
	const char *via;
	struct addr_prefix_packed dst;
	uint8_t type;       /* unicast: a tunnel route; unreachable: a fence; throw: a yield */
	bool blocked : 1;   /* another owner's route collides: not installed */
	bool installed : 1; /* the run left it in the table */
	bool withdrawn : 1; /* blocked, and removed when the collision came */
	uint32_t mtu;
};
/* Two a site, kept between runs: 80 bytes with a whole struct kh_route and the other owner's
 * place in each. */
_Static_assert(sizeof(struct owned_route) <= 32, "an owned route grew");

/* The other owner's route of a blocked or yielding owned route (the few that have one), by
 * the owned route's place. */
struct owned_other {
	uint32_t route;
	struct kh_route other;
};
_Static_assert(sizeof(struct reconcile_fence) <= 24, "a fence grew");

/* What netd owned when the last run ended: the objects outside desired's names that a later
 * desired state may drop, and what events are compared with. */
struct scope {
	bool valid;
	char wg[IFNAMSIZ];
	uint32_t wg_index;
	uint32_t wg_mtu;
	uint32_t table;
	uint8_t protocol;
	struct addr_prefix addrs[MESH_MAX_OVERLAY];
	size_t naddrs;
	uint32_t metric, failclosed_metric; /* of the tunnel routes and yields, of the fences */
	struct owned_route *routes;
	size_t nroutes;
	char *names;                /* the routes' vias, one after the other */
	struct owned_other *others; /* by route */
	size_t nothers;
	struct owned_segment *segs;
	size_t nsegs;
};

enum stale_kind {
	STALE_ROUTES, /* netd's routes and rules in a table (or of a protocol) no longer its */
	STALE_PORT,   /* a port no longer configured, still in a bridge that stays */
	STALE_VXLAN,
	STALE_BRIDGE,
	STALE_WG,
};

/* Something netd owned that the desired state stopped naming: kept until it is gone, so a
 * removal that fails is tried again whatever the desired state has become since. */
struct stale {
	enum stale_kind kind;
	char name[IFNAMSIZ];   /* the link, WireGuard device or port */
	char bridge[IFNAMSIZ]; /* STALE_PORT: the bridge it leaves */
	uint32_t table;        /* STALE_ROUTES */
	uint8_t protocol;
};

/* A peer this side started a handshake with, looked at again at `at`: started once more then
 * if its session carries nothing from the other end, or if none completed and this side is the
 * one to try again (`retries`). */
struct handshake_due {
	uint8_t key[WG_KEY_SIZE];
	int64_t at;
	bool retries;
};

/* A peer written without its handshake start, which waits for the pace. */
struct handshake_held {
	uint8_t key[WG_KEY_SIZE];
};

struct reconcile {
	struct scope scope;
	struct stale *stale;
	size_t nstale, capstale;
	bool dirty;
	int64_t retry_at;
	int64_t backoff;
	bool unfinished;       /* the last run left peers to add for the next */
	bool wg_start_pending; /* a start went on in the background: counted once it answers */
	struct reconcile_report *reports;
	size_t nreports, capreports;
	struct reconcile_fence *fences; /* of the last run; they point into reports */
	size_t nfences, capfences;
	struct reconcile_route_change *changes; /* of the last run; they point into reports */
	size_t nchanges, capchanges;
	struct reconcile_overlap *overlaps; /* of the last run; they point into reports */
	size_t noverlaps, capoverlaps;
	struct reconcile_stats stats;
	struct drift_table drift; /* the peers the last run left on the WireGuard device */
	bool drift_noted;         /* the next run repairs a drift */
	bool resync_due;          /* the next run is the slow timer's */
	struct handshake_due *due;
	size_t ndue, capdue;
	/* The pace of handshake starts, a token bucket: it would hold none at empty_at, and gains
	 * RECONCILE_HANDSHAKE_RATE a second from then, up to RECONCILE_HANDSHAKE_BURST. */
	int64_t hs_empty_at;
	struct handshake_held *held; /* sorted by key */
	size_t nheld;
	/* Per peer of the last run's desired state: not on the device (left for the next run,
	 * or its change failed); NULL when none is. */
	bool *pending;
	size_t pending_of;
	/* A read of the WireGuard device finished in the background, taken by reconcile_collect
	 * before the run it is for; no run holds it past its end. */
	struct wgread *taken;
};

/* One segment during a run. */
struct seg_run {
	uint32_t vxlan, bridge; /* ifindexes; 0: not there */
	bool usable;            /* both devices are there and netd's */
	/* The VTEPs of netd's entries in the VXLAN device, sorted: all a run needs of its read
	 * (the entries themselves, 40 bytes each, are dropped as it is made). */
	struct addr *vteps;
	size_t nvteps;
	bool fdb_read;
};

/* A route the run plans in netd's table, of its table and protocol, through the WireGuard
 * device if unicast: what the kernel takes is made from it (want_kh) as it is sent. At 10,000
 * sites with their fences a run plans 20,000, 16 bytes each: the prefix, metric, MTU and peer
 * are read from where they are kept (want_dst, want_metric, want_mtu, want_peer). */
struct want_route {
	/* Below the desired state's nroutes, the index of its route (a tunnel route); from
	 * there on, of run.extra's prefix (a fence or a yield). */
	uint32_t at;
	uint8_t type;       /* enum kh_route_type: a tunnel route, a fence or a yield */
	bool yield : 1;     /* a throw route: a route in main is more specific than netd's */
	bool withdrawn : 1; /* blocked, and removed from the table when the collision came */
	bool blocked : 1;
	bool installed : 1; /* in the table as the run leaves it */
	/* The table's route of its prefix and metric as read, noted as the routes are planned
	 * (the table goes before the device is read): netd's, and as wanted but for the device
	 * it goes through, whose index is compared as the route is added. */
	bool ours_held : 1;
	bool held_as_wanted : 1;
	uint32_t held_oif;
	uint32_t report; /* the report of why it is not in, or RECONCILE_NO_REPORT */
};

/* want_peer of a fail-closed route or a yield. */
#define WANT_NO_PEER UINT32_MAX

_Static_assert(sizeof(struct want_route) <= 16, "a planned route grew");

/* A part of a fail-closed route left out for a subnet of the gateway's interfaces. */
struct left_out {
	struct addr_prefix dst;
	size_t report; /* the report saying so */
};

/* A route of netd's own in its table as read: what a run compares of it, in 32 bytes where the
 * read's is 64 (20,000 of them at 10,000 sites with their fences). */
struct held_route {
	struct addr_prefix_packed dst;
	uint8_t type;
	bool gateway; /* it has one, which netd never installs */
	uint32_t metric;
	uint32_t oif;
	uint32_t mtu;
};

_Static_assert(sizeof(struct held_route) == 32, "a held route grew");

struct run {
	struct reconcile *r;
	const struct mesh_desired *d;
	struct kh_link *links;
	size_t nlinks;
	struct held_route *held; /* netd's routes in its table, by prefix and metric */
	size_t nheld;
	struct kh_route *others; /* other owners' routes in netd's table */
	size_t nothers;
	bool routes_read;
	struct kh_route *main_routes; /* main's, when netd's table is another */
	size_t nmain_routes;
	bool main_read;
	struct kh_rule *rules;
	size_t nrules;
	bool rules_read;
	struct kh_ifaddr *addrs; /* every interface's */
	size_t naddrs;
	bool addrs_read;
	size_t routes_unread, addrs_unread; /* the reports of those reads' failures, or SIZE_MAX */
	bool *fences_held; /* per desired fence, with the addresses unread: in the table as read */
	struct wgread *taken; /* reconcile.taken, until read_wg uses it */
	struct wgread *dev;   /* as read, or empty when just created */
	struct kh_link wg_link;
	bool wg_ready; /* the device is there, netd's, and read */
	bool wg_keyed; /* and holds netd's private key, as read or as this run set it */
	struct want_route *want;
	size_t nwant;
	struct addr_prefix *extra; /* the fences' and yields' prefixes */
	size_t nextra;
	struct left_out *left;
	size_t nleft, capleft;
	bool *pending; /* per desired peer: its change failed, so nothing is routed to it yet */
	struct seg_run *segs;
	uint64_t applied, failed;
	bool oom;
	bool starting; /* a userspace WireGuard is being started: look again soon */
	bool more;     /* peers were left for the next run (RECONCILE_PEER_ADDS) */
	int64_t now;
};

static const char *const op_names[RECONCILE_OP_COUNT] = {
        [RECONCILE_OP_WG_CREATE] = "wg-create",     [RECONCILE_OP_WG_DELETE] = "wg-delete",
        [RECONCILE_OP_WG_CONFIG] = "wg-config",     [RECONCILE_OP_PEER_ADD] = "peer-add",
        [RECONCILE_OP_PEER_UPDATE] = "peer-update", [RECONCILE_OP_PEER_REMOVE] = "peer-remove",
        [RECONCILE_OP_LINK_CREATE] = "link-create", [RECONCILE_OP_LINK_DELETE] = "link-delete",
        [RECONCILE_OP_LINK_MTU] = "link-mtu",       [RECONCILE_OP_LINK_UP] = "link-up",
        [RECONCILE_OP_LINK_MASTER] = "link-master", [RECONCILE_OP_ADDR_ADD] = "addr-add",
        [RECONCILE_OP_ADDR_DEL] = "addr-del",       [RECONCILE_OP_ROUTE_ADD] = "route-add",
        [RECONCILE_OP_ROUTE_DEL] = "route-del",     [RECONCILE_OP_RULE_ADD] = "rule-add",
        [RECONCILE_OP_RULE_DEL] = "rule-del",       [RECONCILE_OP_FDB_ADD] = "fdb-add",
        [RECONCILE_OP_FDB_DEL] = "fdb-del",
};

const char *
reconcile_op_name(enum reconcile_op op)
{
	return (unsigned)op < RECONCILE_OP_COUNT ? op_names[op] : "unknown";
}

static const char *const resync_names[RECONCILE_RESYNC_COUNT] = {
        [RECONCILE_RESYNC_EVENTS_LOST] = "events-lost",
        [RECONCILE_RESYNC_DRIFT] = "drift",
        [RECONCILE_RESYNC_TIMER] = "timer",
};

const char *
reconcile_resync_name(enum reconcile_resync why)
{
	return (unsigned)why < RECONCILE_RESYNC_COUNT ? resync_names[why] : "unknown";
}

/* --- bookkeeping --- */

static void
scope_clear(struct scope *s)
{
	for (size_t i = 0; i < s->nsegs; i++) {
		free(s->segs[i].ports);
		free(s->segs[i].vteps);
	}
	free(s->segs);
	free(s->routes);
	free(s->names);
	free(s->others);
	memset(s, 0, sizeof(*s));
}

int
reconcile_new(struct reconcile **out)
{
	struct reconcile *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->dirty = true;
	r->hs_empty_at = INT64_MIN / 2; /* full */
	*out = r;
	return 0;
}

void
reconcile_free(struct reconcile *r)
{
	if (!r)
		return;
	scope_clear(&r->scope);
	drift_table_free(&r->drift);
	free(r->stale);
	free(r->reports);
	free(r->fences);
	free(r->changes);
	free(r->overlaps);
	free(r->due);
	free(r->held);
	free(r->pending);
	wgread_free(r->taken);
	free(r);
}

bool
reconcile_dirty(const struct reconcile *r)
{
	return r->dirty;
}

int64_t
reconcile_retry_at(const struct reconcile *r)
{
	return r->retry_at;
}

const struct reconcile_fence *
reconcile_fences(const struct reconcile *r, size_t *n)
{
	*n = r->nfences;
	return r->fences;
}

const struct reconcile_report *
reconcile_reports(const struct reconcile *r, size_t *n)
{
	*n = r->nreports;
	return r->reports;
}

const struct reconcile_route_change *
reconcile_route_changes(const struct reconcile *r, size_t *n)
{
	*n = r->nchanges;
	return r->changes;
}

const struct reconcile_overlap *
reconcile_overlaps(const struct reconcile *r, size_t *n)
{
	*n = r->noverlaps;
	return r->overlaps;
}

const char *
reconcile_overlap_action_name(enum reconcile_overlap_action action)
{
	switch (action) {
	case RECONCILE_OVERLAP_YIELDED:
		return "yield";
	case RECONCILE_OVERLAP_NOT_INSTALLED:
		return "not-installed";
	case RECONCILE_OVERLAP_WITHDRAWN:
		return "withdrawn";
	}
	return "unknown";
}

void
reconcile_get_stats(const struct reconcile *r, struct reconcile_stats *stats)
{
	*stats = r->stats;
}

/* A new report of kind on object, the rest zero; NULL when memory ran out (the run says so). */
/* items with room for one more than n: the same array, or a larger copy (doubling) when it
 * is full; NULL with the run marked out of memory. */
static void *
grow(struct run *run, void *items, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return items;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(items, ncap * size);
	if (!p) {
		run->oom = true;
		return NULL;
	}
	*cap = ncap;
	return p;
}

static struct reconcile_report *
add_report(struct run *run, enum reconcile_report_kind kind, const struct reconcile_object *object,
           int err)
{
	struct reconcile *r = run->r;
	struct reconcile_report *rep =
	        grow(run, r->reports, r->nreports, &r->capreports, sizeof(*rep));

	if (!rep)
		return NULL;
	r->reports = rep;
	rep = &r->reports[r->nreports++];
	memset(rep, 0, sizeof(*rep));
	rep->kind = kind;
	rep->object = *object;
	rep->err = err;
	return rep;
}

/* The report a failed change of each kind makes. */
static const enum reconcile_report_kind failure_kinds[RECONCILE_OP_COUNT] = {
        [RECONCILE_OP_WG_CREATE] = RECONCILE_REPORT_WIREGUARD_FAILED,
        [RECONCILE_OP_WG_DELETE] = RECONCILE_REPORT_WIREGUARD_FAILED,
        [RECONCILE_OP_WG_CONFIG] = RECONCILE_REPORT_WIREGUARD_FAILED,
        [RECONCILE_OP_PEER_ADD] = RECONCILE_REPORT_PEERS_FAILED,
        [RECONCILE_OP_PEER_UPDATE] = RECONCILE_REPORT_PEERS_FAILED,
        [RECONCILE_OP_PEER_REMOVE] = RECONCILE_REPORT_PEERS_FAILED,
        [RECONCILE_OP_LINK_CREATE] = RECONCILE_REPORT_LINK_FAILED,
        [RECONCILE_OP_LINK_DELETE] = RECONCILE_REPORT_LINK_FAILED,
        [RECONCILE_OP_LINK_MTU] = RECONCILE_REPORT_LINK_FAILED,
        [RECONCILE_OP_LINK_UP] = RECONCILE_REPORT_LINK_FAILED,
        [RECONCILE_OP_LINK_MASTER] = RECONCILE_REPORT_LINK_FAILED,
        [RECONCILE_OP_ADDR_ADD] = RECONCILE_REPORT_ADDRESS_FAILED,
        [RECONCILE_OP_ADDR_DEL] = RECONCILE_REPORT_ADDRESS_FAILED,
        [RECONCILE_OP_ROUTE_ADD] = RECONCILE_REPORT_ROUTE_FAILED,
        [RECONCILE_OP_ROUTE_DEL] = RECONCILE_REPORT_ROUTE_FAILED,
        [RECONCILE_OP_RULE_ADD] = RECONCILE_REPORT_RULE_FAILED,
        [RECONCILE_OP_RULE_DEL] = RECONCILE_REPORT_RULE_FAILED,
        [RECONCILE_OP_FDB_ADD] = RECONCILE_REPORT_FDB_FAILED,
        [RECONCILE_OP_FDB_DEL] = RECONCILE_REPORT_FDB_FAILED,
};

/* Counts the outcome of count changes of kind op; a failure is reported with the helpers'
 * own explanation. Returns err. */
static int
done(struct run *run, enum reconcile_op op, size_t count, int err, const char *why,
     const struct reconcile_object *object)
{
	struct reconcile_report *rep;

	if (err < 0) {
		run->r->stats.failed[op] += count;
		run->failed += count;
		rep = add_report(run, failure_kinds[op], object, err);
		if (rep) {
			rep->op = op;
			snprintf(rep->kernel_text, sizeof(rep->kernel_text), "%s", why ? why : "");
		}
		return err;
	}
	run->r->stats.applied[op] += count;
	run->applied += count;
	return 0;
}

static int
kh_done(struct run *run, enum reconcile_op op, int err, const struct reconcile_object *object)
{
	return done(run, op, 1, err, err < 0 ? kh_last_error() : NULL, object);
}

/* A read that failed: reported, and whatever depends on it waits for the retry. Returns the
 * report's index, or SIZE_MAX. */
static size_t
read_failed(struct run *run, const struct reconcile_object *object, int err, const char *why)
{
	struct reconcile_report *rep = add_report(run, RECONCILE_REPORT_READ_FAILED, object, err);

	run->failed++;
	if (!rep)
		return SIZE_MAX;
	snprintf(rep->kernel_text, sizeof(rep->kernel_text), "%s", why ? why : "");
	return (size_t)(rep - run->r->reports);
}

/* The index of the report the run made since it had before reports, or SIZE_MAX. */
static size_t
report_since(const struct run *run, size_t before)
{
	return run->r->nreports > before ? before : SIZE_MAX;
}

static const struct reconcile_report *
report_at(const struct run *run, size_t report)
{
	return report < run->r->nreports ? &run->r->reports[report] : NULL;
}

static struct reconcile_object
route_object(const struct kh_route *route)
{
	return (struct reconcile_object){.type = RECONCILE_OBJECT_ROUTE,
	                                 .dst = route->dst,
	                                 .table = route->table,
	                                 .metric = route->metric};
}

static bool
want_tunnel(const struct run *run, const struct want_route *w)
{
	return w->at < run->d->nroutes;
}

static const struct addr_prefix *
want_dst(const struct run *run, const struct want_route *w)
{
	const struct mesh_desired *d = run->d;

	return want_tunnel(run, w) ? mesh_route_dst(d, &d->routes[w->at])
	                           : &run->extra[w->at - d->nroutes];
}

/* A fence's is the fail-closed metric; a tunnel route's and a yield's, netd's. */
static uint32_t
want_metric(const struct run *run, const struct want_route *w)
{
	return w->type == KH_ROUTE_UNREACHABLE ? run->d->failclosed_metric : run->d->metric;
}

static uint32_t
want_mtu(const struct run *run, const struct want_route *w)
{
	return want_tunnel(run, w) ? mesh_route_mtu(run->d, &run->d->routes[w->at]) : 0;
}

/* The index of its peer in the desired state, or WANT_NO_PEER. */
static uint32_t
want_peer(const struct run *run, const struct want_route *w)
{
	return want_tunnel(run, w) ? run->d->routes[w->at].peer : WANT_NO_PEER;
}

/* w as the kernel takes it. */
static struct kh_route
want_kh(const struct run *run, const struct want_route *w)
{
	return (struct kh_route){.dst = *want_dst(run, w),
	                         .table = run->d->table,
	                         .protocol = run->d->protocol,
	                         .type = w->type,
	                         .oif = w->type == KH_ROUTE_UNICAST ? run->wg_link.ifindex : 0,
	                         .metric = want_metric(run, w),
	                         .mtu = want_mtu(run, w)};
}

static struct reconcile_object
want_object(const struct run *run, const struct want_route *w)
{
	struct kh_route route = want_kh(run, w);

	return route_object(&route);
}

/* A report's place as a planned route keeps it. */
static uint32_t
want_report(size_t report)
{
	return report < RECONCILE_NO_REPORT ? (uint32_t)report : RECONCILE_NO_REPORT;
}

/* A link, the WireGuard device, its peers, an FDB. */
static struct reconcile_object
link_object(enum reconcile_object_type type, const char *name)
{
	struct reconcile_object o = {.type = type};

	snprintf(o.link, sizeof(o.link), "%s", name);
	return o;
}

static struct reconcile_object
table_object(enum reconcile_object_type type, uint32_t table, uint8_t protocol)
{
	return (struct reconcile_object){.type = type, .table = table, .protocol = protocol};
}

static struct reconcile_object
rule_object(const struct kh_rule *rule)
{
	return (struct reconcile_object){.type = RECONCILE_OBJECT_RULE,
	                                 .family = rule->family,
	                                 .priority = rule->priority,
	                                 .table = rule->table};
}

static struct reconcile_object
fdb_object(const char *dev, const struct addr *vtep)
{
	struct reconcile_object o = link_object(RECONCILE_OBJECT_FDB, dev);

	o.vtep = *vtep;
	return o;
}

/* --- reports in words --- */

/* "route 10.2.0.0/16 table 51820 metric 10": with the metric, as a fail-closed route and a
 * tunnel route may have the same prefix. */
static void
object_format(const struct reconcile_object *o, char *buf, size_t len)
{
	char p[ADDR_PREFIX_STRLEN], a[ADDR_STRLEN];

	switch (o->type) {
	case RECONCILE_OBJECT_ROUTE:
		snprintf(buf, len, "route %s table %u metric %u", addr_prefix_format(&o->dst, p),
		         o->table, o->metric);
		return;
	case RECONCILE_OBJECT_ROUTES:
		if (o->protocol)
			snprintf(buf, len, "routes table %u proto %u", o->table, o->protocol);
		else
			snprintf(buf, len, "routes table %u", o->table);
		return;
	case RECONCILE_OBJECT_RULE:
		snprintf(buf, len, "rule %s priority %u table %u",
		         o->family == AF_INET6 ? "inet6" : "inet", o->priority, o->table);
		return;
	case RECONCILE_OBJECT_RULES:
		snprintf(buf, len, "rules table %u", o->table);
		return;
	case RECONCILE_OBJECT_LINKS:
		snprintf(buf, len, "links");
		return;
	case RECONCILE_OBJECT_LINK:
		snprintf(buf, len, "link %s", o->link);
		return;
	case RECONCILE_OBJECT_WIREGUARD:
		snprintf(buf, len, "wireguard %s", o->link);
		return;
	case RECONCILE_OBJECT_PEERS:
		snprintf(buf, len, "peers of %s", o->link);
		return;
	case RECONCILE_OBJECT_ADDRESSES:
		snprintf(buf, len, "addresses");
		return;
	case RECONCILE_OBJECT_ADDRESS:
		snprintf(buf, len, "address %s dev %s", addr_prefix_format(&o->dst, p), o->link);
		return;
	case RECONCILE_OBJECT_FDB:
		if (o->vtep.family == AF_UNSPEC)
			snprintf(buf, len, "fdb %s", o->link);
		else
			snprintf(buf, len, "fdb 00:00:00:00:00:00 dev %s dst %s", o->link,
			         addr_format(&o->vtep, a));
		return;
	}
	snprintf(buf, len, "?");
}

static const char *
overlap_words(enum kh_overlap overlap)
{
	switch (overlap) {
	case KH_OVERLAP_SAME:
		return "has the same prefix";
	case KH_OVERLAP_MORE_SPECIFIC:
		return "lies inside it";
	default:
		return "covers it";
	}
}

static void
yield_format(const struct reconcile_report *rep, char *buf, size_t len)
{
	char p[ADDR_PREFIX_STRLEN], q[ADDR_PREFIX_STRLEN], t[16];

	addr_prefix_format(&rep->other.dst, p);
	addr_prefix_format(&rep->netd_route, q);
	if (rep->site[0])
		snprintf(
		        buf, len,
		        "yields to table %u: another owner's %s route %s (protocol %u) lies inside "
		        "site %s's tunnel route %s and takes its traffic there",
		        rep->other.table, kh_route_type_name(rep->other.type, t), p,
		        rep->other.protocol, rep->site, q);
	else
		snprintf(
		        buf, len,
		        "yields to table %u: another owner's %s route %s (protocol %u) lies inside "
		        "the fail-closed route %s and takes its traffic there, unfenced",
		        rep->other.table, kh_route_type_name(rep->other.type, t), p,
		        rep->other.protocol, q);
}

static void
why_format(const struct reconcile_report *rep, char *buf, size_t len)
{
	const char *kernel = rep->kernel_text[0] ? rep->kernel_text : strerror(-rep->err);
	char p[ADDR_PREFIX_STRLEN];

	switch (rep->kind) {
	case RECONCILE_REPORT_ROUTE_COLLISION:
		snprintf(buf, len,
		         "not installed: another owner's route %s (protocol %u) %s; site %s's "
		         "traffic there is not taken",
		         addr_prefix_format(&rep->other.dst, p), rep->other.protocol,
		         overlap_words(rep->overlap), rep->site);
		return;
	case RECONCILE_REPORT_ROUTE_YIELDED:
		yield_format(rep, buf, len);
		return;
	case RECONCILE_REPORT_FENCE_COLLISION:
		snprintf(buf, len,
		         "fail-closed route not installed: another owner's route (protocol %u) has "
		         "the same prefix and metric; traffic there is not fenced",
		         rep->other.protocol);
		return;
	case RECONCILE_REPORT_FENCE_LEFT_OUT:
		snprintf(buf, len,
		         "fail-closed route leaves out %s, a subnet of this gateway's interfaces: "
		         "traffic there is not fenced",
		         addr_prefix_format(&rep->other.dst, p));
		return;
	case RECONCILE_REPORT_LINK_IN_THE_WAY:
		if (rep->object.type == RECONCILE_OBJECT_WIREGUARD)
			snprintf(buf, len, "a link of that name is not WireGuard: left alone");
		else
			snprintf(buf, len, "segment %s: a %s link has that name: left alone",
			         rep->segment, rep->link_kind[0] ? rep->link_kind : "plain");
		return;
	case RECONCILE_REPORT_PORT_MISSING:
		snprintf(buf, len, "segment %s: port %s does not exist (yet)", rep->segment,
		         rep->object.link);
		return;
	case RECONCILE_REPORT_READ_FAILED:
		snprintf(buf, len, "read failed: %s", kernel);
		return;
	default:
		snprintf(buf, len, "%s failed: %s", reconcile_op_name(rep->op), kernel);
		return;
	}
}

const char *
reconcile_report_format(const struct reconcile_report *rep, bool with_object, char *buf, size_t len)
{
	size_t n = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (with_object) {
		object_format(&rep->object, buf, len);
		n = strlen(buf);
		snprintf(buf + n, len - n, ": ");
		n += strlen(buf + n);
	}
	why_format(rep, buf + n, len - n);
	return buf;
}

const char *
reconcile_fence_reason(const struct reconcile *r, const struct reconcile_fence *fence, char *buf,
                       size_t len)
{
	const struct reconcile_report *rep =
	        fence->report < r->nreports ? &r->reports[fence->report] : NULL;

	if (fence->installed)
		return NULL;
	if (!rep)
		snprintf(buf, len, "not installed");
	else if (rep->kind == RECONCILE_REPORT_READ_FAILED &&
	         rep->object.type == RECONCILE_OBJECT_ROUTES)
		snprintf(buf, len, "not known: the routes of the table could not be read");
	else if (rep->kind == RECONCILE_REPORT_READ_FAILED)
		snprintf(buf, len,
		         "not installed: the addresses of this gateway's interfaces could not be "
		         "read");
	else
		reconcile_report_format(rep, false, buf, len);
	return buf;
}

/* --- the kernel's view --- */

static const struct kh_link *
find_link(const struct run *run, const char *name)
{
	for (size_t i = 0; i < run->nlinks; i++)
		if (strcmp(run->links[i].name, name) == 0)
			return &run->links[i];
	return NULL;
}

/* bsearch, also over an empty array. */
static void *
find(const void *key, const void *items, size_t n, size_t size,
     int (*cmp)(const void *, const void *))
{
	return n ? bsearch(key, items, n, size, cmp) : NULL;
}

static int
addr_qcmp(const void *a, const void *b)
{
	return addr_cmp(a, b);
}

/* By prefix and metric, the key the kernel keeps a table's routes by. */
static int
route_key_cmp(const struct addr_prefix *dst, uint32_t metric, const struct addr_prefix *other,
              uint32_t other_metric)
{
	int c = addr_prefix_cmp(dst, other);

	if (c)
		return c;
	return metric < other_metric ? -1 : metric > other_metric;
}

static int
route_qcmp(const void *a, const void *b)
{
	const struct kh_route *x = a, *y = b;

	return route_key_cmp(&x->dst, x->metric, &y->dst, y->metric);
}

static int
read_links(struct run *run)
{
	int err;

	free(run->links);
	run->links = NULL;
	run->nlinks = 0;
	err = kh_link_list(&run->links, &run->nlinks);
	if (err < 0) {
		struct reconcile_object links = {.type = RECONCILE_OBJECT_LINKS};

		read_failed(run, &links, err, kh_last_error());
		return err;
	}
	return 0;
}

static bool
is_link_local(const struct addr_prefix *p)
{
	return p->addr.family == AF_INET6 && p->addr.u.bytes[0] == 0xfe &&
	       (p->addr.u.bytes[1] & 0xc0) == 0x80;
}

static bool
is_our_fdb(const struct kh_fdb *e)
{
	return !e->master && addr_len(e->dst.family) && memcmp(e->mac, zero_mac, KH_MAC_LEN) == 0;
}

static bool
route_same_key(const struct kh_route *a, const struct kh_route *b)
{
	return a->metric == b->metric && addr_prefix_equal(&a->dst, &b->dst);
}

/* An installed route of netd's that is exactly the wanted one. */
static bool
route_matches(const struct kh_route *have, const struct kh_route *want)
{
	return route_same_key(have, want) && have->type == want->type && have->oif == want->oif &&
	       have->gateway.family == AF_UNSPEC && have->mtu == want->mtu;
}

/* The route o is, whole, as the run that kept it planned it. */
static struct kh_route
owned_kh(const struct scope *s, const struct owned_route *o)
{
	return (struct kh_route){
	        .dst = addr_prefix_unpack(&o->dst),
	        .table = s->table,
	        .protocol = s->protocol,
	        .type = o->type,
	        .oif = o->type == KH_ROUTE_UNICAST ? s->wg_index : 0,
	        .metric = o->type == KH_ROUTE_UNREACHABLE ? s->failclosed_metric : s->metric,
	        .mtu = o->mtu,
	};
}

static bool
owned_yield(const struct owned_route *o)
{
	return o->type == KH_ROUTE_THROW;
}

/* What the last run left of netd's route of key's table, prefix and metric, or NULL. The
 * routes are sorted as route_qcmp sorts them whole. */
static const struct owned_route *
owned_route(const struct scope *s, const struct kh_route *key)
{
	size_t lo = 0, hi = s->valid && s->table == key->table ? s->nroutes : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct kh_route have = owned_kh(s, &s->routes[mid]);
		int c = route_qcmp(key, &have);

		if (!c)
			return &s->routes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
other_qcmp(const void *key, const void *item)
{
	uint32_t k = *(const uint32_t *)key, i = ((const struct owned_other *)item)->route;

	return k < i ? -1 : k > i;
}

/* The other owner's route of the scope's route at place i, or NULL. */
static const struct kh_route *
owned_other(const struct scope *s, size_t i)
{
	uint32_t key = (uint32_t)i;
	const struct owned_other *o =
	        find(&key, s->others, s->nothers, sizeof(*s->others), other_qcmp);

	return o ? &o->other : NULL;
}

/* --- what the run did to the tunnel routes --- */

static struct reconcile_route_change *
add_change(struct run *run, enum reconcile_route_action action, const struct addr_prefix *dst,
           const char *via)
{
	struct reconcile *r = run->r;
	struct reconcile_route_change *c =
	        grow(run, r->changes, r->nchanges, &r->capchanges, sizeof(*c));

	if (!c)
		return NULL;
	r->changes = c;
	c = &r->changes[r->nchanges++];
	memset(c, 0, sizeof(*c));
	c->action = action;
	c->dst = *dst;
	snprintf(c->via, sizeof(c->via), "%s", via);
	return c;
}

/* Whether a reload moved netd's table or changed its protocol since the last run: its routes
 * are in the old table (or of the old protocol) until the run's end. */
static bool
scope_moved(const struct run *run)
{
	const struct scope *s = &run->r->scope;

	return s->valid && (s->table != run->d->table || s->protocol != run->d->protocol);
}

/* Whether, in a moved scope, the last run's copy of a tunnel route carries its traffic until
 * this run's goes in: it does unless its WireGuard device went too (a reload renamed it). */
static bool
old_copies_carry(const struct run *run)
{
	return scope_moved(run) && strcmp(run->r->scope.wg, run->d->wg.name) == 0;
}

/* What the last run left of netd's route of route's prefix and metric, in whichever table it
 * was then. */
static const struct owned_route *
owned_before(const struct run *run, const struct kh_route *route)
{
	struct kh_route key = *route;

	key.table = run->r->scope.table;
	return owned_route(&run->r->scope, &key);
}

/* A route of netd's that the run removed, as no site is routed there any more. */
static void
note_withdrawn(struct run *run, const struct kh_route *route)
{
	const struct owned_route *was = owned_route(&run->r->scope, route);

	add_change(run, RECONCILE_ROUTE_WITHDRAWN, &route->dst, was ? was->via : "");
}

/* --- removing netd's objects --- */

static bool
desired_has_vxlan(const struct mesh_desired *d, const char *name)
{
	for (size_t i = 0; i < d->nsegments; i++)
		if (strcmp(d->segments[i].vxlan, name) == 0)
			return true;
	return false;
}

static const struct mesh_segment *
desired_bridge(const struct mesh_desired *d, const char *name)
{
	for (size_t i = 0; i < d->nsegments; i++)
		if (strcmp(d->segments[i].bridge, name) == 0)
			return &d->segments[i];
	return NULL;
}

static bool
segment_has_port(const struct mesh_segment *s, const char *name)
{
	for (size_t i = 0; i < s->nports; i++)
		if (strcmp(s->ports[i], name) == 0)
			return true;
	return false;
}

/* Deletes the link name if it is there and of kind; 0 also when it is not (then it is not
 * netd's to delete). */
static int
delete_link_of_kind(struct run *run, const char *name, const char *kind, bool *changed)
{
	const struct kh_link *l = find_link(run, name);
	struct reconcile_object object = link_object(RECONCILE_OBJECT_LINK, name);

	if (!l || strcmp(l->kind, kind) != 0)
		return 0;
	*changed = true;
	return kh_done(run, RECONCILE_OP_LINK_DELETE, kh_link_del(l->ifindex), &object);
}

static int
delete_wg(struct run *run, const char *name, bool *changed)
{
	struct reconcile_object object = link_object(RECONCILE_OBJECT_WIREGUARD, name);
	int err;

	if (!find_link(run, name))
		return 0;
	err = wg_del_device(name);
	/* -ENODEV: a link of that name that is not WireGuard, and so not netd's. */
	if (err == -ENODEV)
		return 0;
	*changed = true;
	return done(run, RECONCILE_OP_WG_DELETE, 1, err, kh_last_error(), &object);
}

/* Rules of table and protocol that are not wanted (all of them when want is NULL). */
static void
delete_rules(struct run *run, const struct kh_rule *rules, size_t nrules, uint8_t protocol,
             const struct mesh_desired *want)
{
	for (size_t i = 0; i < nrules; i++) {
		const struct kh_rule *k = &rules[i];
		struct reconcile_object object = rule_object(k);
		bool wanted = false;
		int err;

		if (k->protocol != protocol)
			continue;
		for (size_t j = 0; want && j < want->nrules && !wanted; j++) {
			const struct kh_rule *w = &want->rules[j];

			wanted = k->family == w->family && k->priority == w->priority &&
			         k->table == w->table && !k->src.len && !k->dst.len && !k->fwmask;
		}
		if (wanted)
			continue;
		err = kh_rule_del(k);
		if (err != -ENOENT)
			kh_done(run, RECONCILE_OP_RULE_DEL, err, &object);
	}
}

static int
flush_routes(struct run *run, uint32_t table, uint8_t protocol)
{
	struct reconcile_object object = table_object(RECONCILE_OBJECT_ROUTES, table, protocol);
	size_t n = 0;
	int err;

	err = kh_route_flush(AF_UNSPEC, table, protocol, &n);
	if (err < 0)
		return kh_done(run, RECONCILE_OP_ROUTE_DEL, err, &object);
	return done(run, RECONCILE_OP_ROUTE_DEL, n, 0, NULL, &object);
}

/* Deletes netd's rules of table, all of them, or those want does not list. */
static int
flush_rules(struct run *run, uint32_t table, uint8_t protocol, const struct mesh_desired *want)
{
	struct kh_rule *rules = NULL;
	struct reconcile_object object = table_object(RECONCILE_OBJECT_RULES, table, 0);
	uint64_t failed = run->failed;
	size_t n = 0;
	int err;

	err = kh_rule_list(AF_UNSPEC, table, &rules, &n);
	if (err < 0) {
		read_failed(run, &object, err, kh_last_error());
		return err;
	}
	delete_rules(run, rules, n, protocol, want);
	free(rules);
	return run->failed == failed ? 0 : -EAGAIN;
}

/* --- what netd owned and desired no longer names --- */

static bool
stale_equal(const struct stale *a, const struct stale *b)
{
	return a->kind == b->kind && !strcmp(a->name, b->name) && !strcmp(a->bridge, b->bridge) &&
	       a->table == b->table && a->protocol == b->protocol;
}

static void
add_stale(struct run *run, enum stale_kind kind, const char *name, const char *bridge,
          uint32_t table, uint8_t protocol)
{
	struct reconcile *r = run->r;
	struct stale st, *stale;

	memset(&st, 0, sizeof(st));
	st.kind = kind;
	snprintf(st.name, sizeof(st.name), "%s", name ? name : "");
	snprintf(st.bridge, sizeof(st.bridge), "%s", bridge ? bridge : "");
	st.table = table;
	st.protocol = protocol;
	for (size_t i = 0; i < r->nstale; i++)
		if (stale_equal(&r->stale[i], &st))
			return;
	stale = grow(run, r->stale, r->nstale, &r->capstale, sizeof(*stale));
	if (!stale)
		return;
	r->stale = stale;
	r->stale[r->nstale++] = st;
}

/* What the last run owned and desired does not name any more. */
static void
note_stale(struct run *run)
{
	const struct scope *old = &run->r->scope;
	const struct mesh_desired *d = run->d;

	if (!old->valid)
		return;
	if (old->table != d->table || old->protocol != d->protocol)
		add_stale(run, STALE_ROUTES, NULL, NULL, old->table, old->protocol);
	for (size_t i = 0; i < old->nsegs; i++) {
		const struct owned_segment *o = &old->segs[i];
		const struct mesh_segment *keep = desired_bridge(d, o->bridge);

		if (!desired_has_vxlan(d, o->vxlan))
			add_stale(run, STALE_VXLAN, o->vxlan, NULL, 0, 0);
		if (!keep) {
			/* Deleting the bridge releases its ports. */
			add_stale(run, STALE_BRIDGE, o->bridge, NULL, 0, 0);
			continue;
		}
		for (size_t j = 0; j < o->nports; j++)
			if (!segment_has_port(keep, o->ports[j]))
				add_stale(run, STALE_PORT, o->ports[j], o->bridge, 0, 0);
	}
	if (old->wg[0] && strcmp(old->wg, d->wg.name) != 0)
		add_stale(run, STALE_WG, old->wg, NULL, 0, 0);
}

/* Whether desired names the object again (a segment back in the config, say). */
static bool
stale_wanted(const struct mesh_desired *d, const struct stale *st)
{
	const struct mesh_segment *seg;

	switch (st->kind) {
	case STALE_ROUTES:
		return st->table == d->table && st->protocol == d->protocol;
	case STALE_PORT:
		seg = desired_bridge(d, st->bridge);
		return seg && segment_has_port(seg, st->name);
	case STALE_VXLAN:
		return desired_has_vxlan(d, st->name);
	case STALE_BRIDGE:
		return desired_bridge(d, st->name) != NULL;
	case STALE_WG:
		return !strcmp(d->wg.name, st->name);
	}
	return false;
}

/* The routes and rule a reload left behind by moving netd's table or changing its protocol
 * go only once the run has put in the new ones: until then the old rule keeps the old
 * fences in force, so no lookup falls through to main (and a default route) in between. In
 * the same table the new routes replace the old ones of their prefix and metric in place;
 * what is left of the old protocol goes after them. */
static bool
stale_goes_late(const struct stale *st)
{
	return st->kind == STALE_ROUTES;
}

/* A route of netd's table that a reload's change of protocol left: netd's own, about to be
 * replaced, not another owner's. */
static bool
stale_protocol(const struct run *run, uint32_t table, uint8_t protocol)
{
	const struct reconcile *r = run->r;

	for (size_t i = 0; i < r->nstale; i++)
		if (r->stale[i].kind == STALE_ROUTES && r->stale[i].table == table &&
		    r->stale[i].protocol == protocol)
			return true;
	return false;
}

static int
remove_stale(struct run *run, const struct stale *st, bool *changed)
{
	const struct kh_link *port, *br;
	struct reconcile_object object;
	int err;

	switch (st->kind) {
	case STALE_ROUTES:
		err = flush_routes(run, st->table, st->protocol);
		if (flush_rules(run, st->table, st->protocol, NULL) < 0 && err == 0)
			err = -EAGAIN;
		return err;
	case STALE_PORT:
		port = find_link(run, st->name);
		br = find_link(run, st->bridge);
		if (!port || !br || port->master != br->ifindex)
			return 0;
		object = link_object(RECONCILE_OBJECT_LINK, st->name);
		*changed = true;
		return kh_done(run, RECONCILE_OP_LINK_MASTER, kh_link_set_master(port->ifindex, 0),
		               &object);
	case STALE_VXLAN:
		return delete_link_of_kind(run, st->name, "vxlan", changed);
	case STALE_BRIDGE:
		return delete_link_of_kind(run, st->name, "bridge", changed);
	case STALE_WG:
		return delete_wg(run, st->name, changed);
	}
	return 0;
}

/* Removes the stale objects, routes first and devices last; those that will not go stay on
 * the list. late: only those stale_goes_late keeps for the run's end, else all the others.
 * With all set, every one, also those desired names again (for teardown). */
static int
drop_stale(struct run *run, bool all, bool late)
{
	static const enum stale_kind order[] = {STALE_ROUTES, STALE_PORT, STALE_VXLAN, STALE_BRIDGE,
	                                        STALE_WG};
	struct reconcile *r = run->r;
	bool changed = false;

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (size_t i = 0; i < r->nstale;) {
			const struct stale *st = &r->stale[i];

			if (st->kind != order[k] || (!all && stale_goes_late(st) != late)) {
				i++;
				continue;
			}
			if ((all || !stale_wanted(run->d, st)) &&
			    remove_stale(run, st, &changed) < 0) {
				i++;
				continue;
			}
			/* Gone, or wanted again: forgotten. */
			r->stale[i] = r->stale[--r->nstale];
		}
	}
	return changed ? read_links(run) : 0;
}

/* --- reading netd's objects --- */

/* How old a read taken in the background may be for the run to use it instead of reading the
 * device again: as long as the userspace implementation's answer stays the next get's. */
#define RECONCILE_TAKEN_MS 5000

bool
reconcile_collect(struct reconcile *r, const char *device)
{
	struct wg_device *dev;

	if (wg_get_finished(device, &dev) < 0)
		return false;
	wgread_free(r->taken);
	r->taken = wgread_take(dev);
	return true;
}

static void
read_wg(struct run *run)
{
	const struct mesh_desired *d = run->d;
	const struct kh_link *l = find_link(run, d->wg.name);
	struct reconcile_object object = link_object(RECONCILE_OBJECT_WIREGUARD, d->wg.name);
	struct wgread *taken = run->taken;
	struct wg_device *dev;
	int err;

	if (!l)
		return;
	run->taken = NULL;
	if (taken && !strcmp(taken->name, d->wg.name) &&
	    wg_monotonic_ms() - taken->read_at_ms <= RECONCILE_TAKEN_MS) {
		run->dev = taken;
		err = 0;
	} else {
		wgread_free(taken);
		err = wg_get_device(d->wg.name, &dev);
		if (err == 0 && !(run->dev = wgread_take(dev))) {
			run->oom = true;
			return;
		}
	}
	if (err == -EINPROGRESS) {
		run->starting = true;
		return;
	}
	/* A start that answers now is a creation; one that failed is reported below. */
	if (run->r->wg_start_pending) {
		run->r->wg_start_pending = false;
		if (err == 0)
			done(run, RECONCILE_OP_WG_CREATE, 1, 0, NULL, &object);
	}
	if (err == -ENODEV) {
		add_report(run, RECONCILE_REPORT_LINK_IN_THE_WAY, &object, 0);
		return;
	}
	if (err < 0) {
		read_failed(run, &object, err, kh_last_error());
		return;
	}
	/* Only a device netd can read is one to route through. */
	run->wg_link = *l;
	run->wg_ready = true;
}

static int
held_cmp(const struct addr_prefix *dst, uint32_t metric, const struct held_route *h)
{
	struct addr_prefix p = addr_prefix_unpack(&h->dst);

	return route_key_cmp(dst, metric, &p, h->metric);
}

/* A held route by the prefix and metric of a kh_route key. */
static int
held_qcmp(const void *key, const void *item)
{
	const struct kh_route *k = key;

	return held_cmp(&k->dst, k->metric, item);
}

static int
held_order(const struct held_route *a, const struct held_route *b)
{
	struct addr_prefix p = addr_prefix_unpack(&a->dst);

	return held_cmp(&p, a->metric, b);
}

static void
held_sift(struct held_route *h, size_t i, size_t n)
{
	for (;;) {
		size_t top = i, left = 2 * i + 1, right = left + 1;
		struct held_route t;

		if (left < n && held_order(&h[left], &h[top]) > 0)
			top = left;
		if (right < n && held_order(&h[right], &h[top]) > 0)
			top = right;
		if (top == i)
			return;
		t = h[i];
		h[i] = h[top];
		h[top] = t;
		i = top;
	}
}

/* By prefix and metric, in place: qsort's room for them would come at the run's peak. The
 * kernel lists IPv4's in nearly that order, IPv6's in its tree's. */
static void
held_sort(struct held_route *h, size_t n)
{
	size_t i = 1;

	while (i < n && held_order(&h[i - 1], &h[i]) <= 0)
		i++;
	if (i >= n)
		return;
	for (i = n / 2; i-- > 0;)
		held_sift(h, i, n);
	for (size_t end = n; end-- > 1;) {
		struct held_route t = h[0];

		h[0] = h[end];
		h[end] = t;
		held_sift(h, 0, end);
	}
}

/* The route h is, as the kernel takes it (a gateway it has is left out: one given to a
 * deletion only narrows what it matches). */
static struct kh_route
held_kh(const struct run *run, const struct held_route *h)
{
	return (struct kh_route){.dst = addr_prefix_unpack(&h->dst),
	                         .table = run->d->table,
	                         .protocol = run->d->protocol,
	                         .type = h->type,
	                         .oif = h->oif,
	                         .metric = h->metric,
	                         .mtu = h->mtu};
}

/* The table as it is listed: netd's routes kept as held routes, the few of other owners
 * whole. */
struct table_read {
	struct run *run;
	size_t capheld, capothers;
};

static int
table_route(const struct kh_route *route, void *arg)
{
	struct table_read *t = arg;
	struct run *run = t->run;

	if (route->protocol != run->d->protocol &&
	    stale_protocol(run, route->table, route->protocol))
		return 0;
	if (route->protocol != run->d->protocol) {
		struct kh_route *others =
		        grow(run, run->others, run->nothers, &t->capothers, sizeof(*others));

		if (!others)
			return -ENOMEM;
		run->others = others;
		run->others[run->nothers++] = *route;
		return 0;
	}
	struct held_route *held = grow(run, run->held, run->nheld, &t->capheld, sizeof(*held));

	if (!held)
		return -ENOMEM;
	run->held = held;
	run->held[run->nheld++] = (struct held_route){
	        .dst = addr_prefix_pack(&route->dst),
	        .type = route->type,
	        .gateway = route->gateway.family != AF_UNSPEC,
	        .metric = route->metric,
	        .oif = route->oif,
	        .mtu = route->mtu,
	};
	return 0;
}

static int
table_restart(void *arg)
{
	struct table_read *t = arg;

	t->run->nheld = t->run->nothers = 0;
	return 0;
}

static void
read_routes(struct run *run)
{
	const struct mesh_desired *d = run->d;
	struct reconcile_object routes = table_object(RECONCILE_OBJECT_ROUTES, d->table, 0);
	struct reconcile_object rules = table_object(RECONCILE_OBJECT_RULES, d->table, 0);
	struct table_read t = {.run = run};
	struct kh_route_walk walk = {.each = table_route, .restart = table_restart, .arg = &t};
	int err;

	err = kh_route_walk(AF_UNSPEC, d->table, KH_ROUTE_ANY_PROTOCOL, &walk);
	if (err < 0) {
		free(run->held);
		free(run->others);
		run->held = NULL;
		run->others = NULL;
		run->nheld = run->nothers = 0;
		run->routes_unread = read_failed(run, &routes, err, kh_last_error());
		return;
	}
	/* The room doubled as they came: what is not used goes back for the plan to use. */
	if (!run->nheld) {
		free(run->held);
		run->held = NULL;
	} else if (run->nheld < t.capheld) {
		struct held_route *held = realloc(run->held, run->nheld * sizeof(*held));

		if (held)
			run->held = held;
	}
	/* In the order of the desired state, whatever order the kernel lists them in. */
	held_sort(run->held, run->nheld);
	run->routes_read = true;
	err = kh_rule_list(AF_UNSPEC, d->table, &run->rules, &run->nrules);
	if (err < 0) {
		read_failed(run, &rules, err, kh_last_error());
		return;
	}
	run->rules_read = true;
}

/* Main's routes, every owner's, which netd's table gives way to where they are more specific
 * than its own (netd's rule comes before main's). Not when netd's table is main: there the
 * longest prefix wins by itself, and only a route of a tunnel route's own prefix collides
 * (plan_routes). */
static void
read_main_routes(struct run *run)
{
	struct reconcile_object main_routes =
	        table_object(RECONCILE_OBJECT_ROUTES, CONF_TABLE_MAIN, 0);
	int err;

	if (run->d->table == CONF_TABLE_MAIN)
		return;
	err = kh_route_list(AF_UNSPEC, CONF_TABLE_MAIN, KH_ROUTE_ANY_PROTOCOL, &run->main_routes,
	                    &run->nmain_routes);
	if (err < 0) {
		read_failed(run, &main_routes, err, kh_last_error());
		return;
	}
	/* By prefix: the routes of one prefix (of several metrics) make one yield. */
	if (run->nmain_routes > 1)
		qsort(run->main_routes, run->nmain_routes, sizeof(*run->main_routes), route_qcmp);
	run->main_read = true;
}

/* Every interface's addresses: the WireGuard device's, and the subnets the fail-closed routes
 * leave to the local routes. */
static void
read_addrs(struct run *run)
{
	struct reconcile_object addresses = {.type = RECONCILE_OBJECT_ADDRESSES};
	int err = kh_ifaddr_list(0, AF_UNSPEC, &run->addrs, &run->naddrs);

	if (err < 0) {
		run->addrs_unread = read_failed(run, &addresses, err, kh_last_error());
		return;
	}
	run->addrs_read = true;
}

static bool
vxlan_shape_ok(const struct kh_link *l, const struct mesh_segment *s)
{
	return l->has_vxlan && l->vxlan.vni == s->vni && addr_equal(&l->vxlan.local, &s->local) &&
	       l->vxlan.port == s->port && !l->vxlan.learning && !l->vxlan.underlay;
}

static void
read_fdb(struct run *run, size_t i)
{
	struct seg_run *sr = &run->segs[i];
	struct reconcile_object object =
	        link_object(RECONCILE_OBJECT_FDB, run->d->segments[i].vxlan);
	struct kh_fdb *fdb;
	size_t nfdb;
	int err;

	err = kh_fdb_list(sr->vxlan, &fdb, &nfdb);
	if (err < 0) {
		read_failed(run, &object, err, kh_last_error());
		return;
	}
	if (nfdb && !(sr->vteps = malloc(nfdb * sizeof(*sr->vteps)))) {
		free(fdb);
		run->oom = true;
		return;
	}
	for (size_t j = 0; j < nfdb; j++)
		if (is_our_fdb(&fdb[j]))
			sr->vteps[sr->nvteps++] = fdb[j].dst;
	free(fdb);
	if (sr->nvteps > 1)
		qsort(sr->vteps, sr->nvteps, sizeof(*sr->vteps), addr_qcmp);
	sr->fdb_read = true;
}

/* As route_qcmp sorts routes. */
static int
want_order(const struct run *run, const struct want_route *a, const struct want_route *b)
{
	return route_key_cmp(want_dst(run, a), want_metric(run, a), want_dst(run, b),
	                     want_metric(run, b));
}

static int
want_qcmp_r(const void *a, const void *b, void *run)
{
	return want_order(run, a, b);
}

/* Where the first of the first n planned routes (sorted) not before dst at metric lies; with
 * any_metric, the first not before dst. */
static size_t
want_lower_bound(const struct run *run, size_t n, const struct addr_prefix *dst, uint32_t metric,
                 bool any_metric)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct want_route *w = &run->want[mid];
		int c = any_metric
		                ? addr_prefix_cmp(want_dst(run, w), dst)
		                : route_key_cmp(want_dst(run, w), want_metric(run, w), dst, metric);

		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Reports each part of fence left out for a subnet, and keeps it for reconcile_fences. */
static void
report_local(struct run *run, const struct addr_prefix *fence, const struct addr_prefix *subnets,
             size_t n)
{
	struct kh_route r = {
	        .dst = *fence, .table = run->d->table, .metric = run->d->failclosed_metric};
	struct reconcile_object object = route_object(&r);

	for (size_t i = 0; i < n; i++) {
		bool inside = addr_prefix_contains(fence, &subnets[i]);
		struct reconcile_report *rep;
		size_t before = run->r->nreports;

		if (!inside && !addr_prefix_contains(&subnets[i], fence))
			continue;
		struct left_out *left =
		        grow(run, run->left, run->nleft, &run->capleft, sizeof(*left));

		if (!left)
			return;
		run->left = left;
		rep = add_report(run, RECONCILE_REPORT_FENCE_LEFT_OUT, &object, 0);
		if (rep)
			rep->other.dst = subnets[i];
		run->left[run->nleft++] = (struct left_out){.dst = inside ? subnets[i] : *fence,
		                                            .report = report_since(run, before)};
	}
}

/* The fail-closed prefixes less the subnets of this gateway's interfaces: netd's table comes
 * before main, and a fence over a connected subnet (an underlay inside a grant, say) would
 * refuse the gateway's own traffic there. What is left out is reported. */
static int
carve_local(struct run *run, struct mesh_carved *out)
{
	const struct mesh_desired *d = run->d;
	struct addr_prefix *subnets = NULL;
	size_t n = 0;
	int err = 0;

	if (run->naddrs) {
		subnets = malloc(run->naddrs * sizeof(*subnets));
		if (!subnets)
			return -ENOMEM;
	}
	for (size_t i = 0; i < run->naddrs; i++)
		subnets[n++] = addr_prefix_masked(&run->addrs[i].prefix);
	n = mesh_prefixes_disjoint(subnets, n);
	for (size_t i = 0; i < d->nfailclosed && err == 0; i++) {
		size_t before = out->n;

		err = mesh_prefix_carve(&d->failclosed[i], subnets, n, out);
		if (err == 0 && (out->n != before + 1 ||
		                 !addr_prefix_equal(&out->items[before], &d->failclosed[i])))
			report_local(run, &d->failclosed[i], subnets, n);
	}
	free(subnets);
	return err;
}

/* Keeps w out of the table for another owner's route, and reports it. */
static void
block(struct run *run, struct want_route *w, enum reconcile_report_kind kind,
      const struct kh_route *theirs, enum kh_overlap overlap)
{
	struct reconcile_object object = want_object(run, w);
	size_t before = run->r->nreports;
	struct reconcile_report *rep = add_report(run, kind, &object, 0);

	w->blocked = true;
	w->report = want_report(report_since(run, before));
	if (!rep)
		return;
	rep->other = *theirs;
	rep->overlap = overlap;
	if (want_peer(run, w) != WANT_NO_PEER)
		snprintf(rep->site, sizeof(rep->site), "%s", run->d->peers[want_peer(run, w)].site);
}

/* Of the first n wanted routes (sorted), one of prefix p not blocked, a tunnel route before a
 * fence; or NULL. */
static const struct want_route *
wanted_prefix(const struct run *run, size_t n, const struct addr_prefix *p)
{
	const struct want_route *best = NULL;

	/* Those of one prefix lie side by side, by metric. */
	for (size_t i = want_lower_bound(run, n, p, 0, true);
	     i < n && addr_prefix_equal(want_dst(run, &run->want[i]), p); i++) {
		const struct want_route *w = &run->want[i];

		if (!w->blocked && (!best || want_peer(run, w) != WANT_NO_PEER))
			best = w;
	}
	return best;
}

/* The prefix lengths of the wanted routes, per family: the only ones a lookup tries. */
struct want_lengths {
	bool v4[33], v6[129];
};

/* The most specific of the first n wanted routes (sorted) whose prefix holds dst, or NULL:
 * looked up at each length of theirs from dst's down, which keeps a large main table cheap. */
static const struct want_route *
innermost(const struct run *run, size_t n, const struct want_lengths *lengths,
          const struct addr_prefix *dst)
{
	const bool *has = dst->addr.family == AF_INET ? lengths->v4 : lengths->v6;

	for (int len = dst->len; len >= 0; len--) {
		struct addr_prefix p = *dst;
		const struct want_route *w;

		if (!has[len])
			continue;
		p.len = (uint8_t)len;
		p = addr_prefix_masked(&p);
		w = wanted_prefix(run, n, &p);
		if (w)
			return w;
	}
	return NULL;
}

/* A route of main that netd's table may give way to: another owner's, leading somewhere or
 * rejecting (a throw or local one there is no destination of its own). */
static bool
yieldable(const struct run *run, const struct kh_route *theirs)
{
	return theirs->protocol != run->d->protocol &&
	       (theirs->type == KH_ROUTE_UNICAST || kh_route_type_rejects(theirs->type));
}

/* Plans the throw route for theirs, which lies strictly inside under, and reports it. */
static void
add_yield(struct run *run, const struct want_route *under, const struct kh_route *theirs)
{
	const struct mesh_desired *d = run->d;
	struct want_route *w = &run->want[run->nwant++];
	size_t before = run->r->nreports;
	struct reconcile_object object;
	struct reconcile_report *rep;
	struct kh_route route;

	run->extra[run->nextra] = theirs->dst;
	w->at = (uint32_t)(d->nroutes + run->nextra++);
	w->type = KH_ROUTE_THROW;
	w->yield = true;
	object = want_object(run, w);
	rep = add_report(run, RECONCILE_REPORT_ROUTE_YIELDED, &object, 0);
	w->report = want_report(report_since(run, before));
	/* Another owner's route of that prefix and metric in netd's table stays: it holds the
	 * place (and is reported as what it collides with). */
	route = want_kh(run, w);
	for (size_t j = 0; j < run->nothers && !w->blocked; j++)
		w->blocked = route_same_key(&route, &run->others[j]);
	if (!rep)
		return;
	rep->other = *theirs;
	rep->overlap = KH_OVERLAP_MORE_SPECIFIC;
	rep->netd_route = *want_dst(run, under);
	if (want_peer(run, under) != WANT_NO_PEER)
		snprintf(rep->site, sizeof(rep->site), "%s", d->peers[want_peer(run, under)].site);
}

/* More specific wins, whoever owns it: for each prefix of main that lies strictly inside a
 * tunnel route or fence of those planned so far, a throw route in netd's table, where the
 * lookup then ends and goes on to main. A prefix equal to one of netd's, or covering it,
 * leaves netd's route the lookup's answer. */
static void
plan_yields(struct run *run)
{
	size_t planned = run->nwant;
	struct want_lengths lengths = {0};

	for (size_t i = 0; i < planned; i++) {
		const struct addr_prefix *p = want_dst(run, &run->want[i]);

		if (p->addr.family == AF_INET)
			lengths.v4[p->len] = true;
		else
			lengths.v6[p->len] = true;
	}
	for (size_t j = 0; j < run->nmain_routes; j++) {
		const struct kh_route *theirs = &run->main_routes[j];
		const struct want_route *under;

		if (!yieldable(run, theirs))
			continue;
		if (run->nwant > planned &&
		    addr_prefix_equal(want_dst(run, &run->want[run->nwant - 1]), &theirs->dst))
			continue;
		under = innermost(run, planned, &lengths, &theirs->dst);
		if (under && !addr_prefix_equal(want_dst(run, under), &theirs->dst))
			add_yield(run, under, theirs);
	}
}

/* What add_route needs of the table's route of each wanted route's prefix and metric (a
 * table holds one, whoever owns it), noted while the table is there. */
static void
note_table_routes(struct run *run)
{
	for (size_t i = 0; i < run->nwant; i++) {
		struct want_route *w = &run->want[i];
		struct kh_route through = want_kh(run, w);
		const struct held_route *have =
		        find(&through, run->held, run->nheld, sizeof(*run->held), held_qcmp);
		struct kh_route held;

		if (!have)
			continue;
		held = held_kh(run, have);
		through.oif = have->oif;
		w->ours_held = true;
		w->held_as_wanted = !have->gateway && route_matches(&held, &through);
		w->held_oif = have->oif;
	}
}

/* Merges the nadd sorted routes of add into want, whose other n - nadd routes are sorted and
 * lie after the room for add (in_front) or before it; ties in the order the room gives them,
 * as a stable sort would. In place: qsort's room for all of them (320 KB at 20,000 routes)
 * would come at the run's peak, beside the table as read and the device's read. */
static void
want_merge(const struct run *run, struct want_route *want, size_t n, const struct want_route *add,
           size_t nadd, bool in_front)
{
	if (in_front) {
		for (size_t i = 0, j = nadd, k = 0; i < nadd; k++)
			want[k] = j < n && want_order(run, &want[j], &add[i]) < 0 ? want[j++]
			                                                          : add[i++];
		return;
	}
	for (size_t i = nadd, j = n - nadd, k = n; i > 0;)
		want[--k] = j > 0 && want_order(run, &want[j - 1], &add[i - 1]) > 0 ? want[--j]
		                                                                    : add[--i];
}

/* The planned routes from the planned'th on, sorted on their own and merged in. */
static int
merge_tail(struct run *run, size_t planned, bool in_front)
{
	size_t nadd = run->nwant - planned;
	struct want_route *add = malloc(nadd * sizeof(*add));

	if (!add)
		return -ENOMEM;
	memcpy(add, run->want + planned, nadd * sizeof(*add));
	if (nadd > 1)
		qsort_r(add, nadd, sizeof(*add), want_qcmp_r, run);
	if (in_front)
		memmove(run->want + nadd, run->want, planned * sizeof(*add));
	want_merge(run, run->want, run->nwant, add, nadd, in_front);
	free(add);
	return 0;
}

/* The wanted routes with the collision rule applied to the table as read. Without the
 * interfaces' addresses the fail-closed routes are not known: none is planned. */
static int
plan_routes(struct run *run)
{
	const struct mesh_desired *d = run->d;
	const struct kh_route *others = run->others;
	struct mesh_carved fences = {0};
	size_t nothers = run->nothers, planned;
	int err = -ENOMEM;

	if (run->addrs_read && carve_local(run, &fences) < 0)
		goto out;
	err = 0;
	if (!d->nroutes && !fences.n)
		goto out;
	err = -ENOMEM;
	/* A planned route keeps its prefix's place in 32 bits. */
	if (d->nroutes + fences.n + run->nmain_routes > UINT32_MAX)
		goto out;
	run->want = calloc(d->nroutes + fences.n + run->nmain_routes, sizeof(*run->want));
	run->extra = malloc((fences.n + run->nmain_routes) * sizeof(*run->extra));
	if (!run->want || (fences.n + run->nmain_routes && !run->extra))
		goto out;
	/* Desired's routes come sorted by prefix, all of one metric. */
	for (size_t i = 0; i < d->nroutes; i++) {
		struct want_route *w = &run->want[run->nwant++];
		struct kh_route route;

		w->at = (uint32_t)i;
		w->type = KH_ROUTE_UNICAST;
		w->report = RECONCILE_NO_REPORT;
		route = want_kh(run, w);
		for (size_t j = 0; j < nothers && !w->blocked; j++) {
			enum kh_overlap ov = kh_route_overlap(&route, &others[j]);

			/* In main, the table of every owner, the longest prefix decides by itself
			 * between a tunnel route and a route inside or around it (as the yields do
			 * across two tables); only one of its prefix competes for its traffic. */
			if (d->table == CONF_TABLE_MAIN && ov != KH_OVERLAP_SAME)
				continue;
			if (ov != KH_OVERLAP_NONE)
				block(run, w, RECONCILE_REPORT_ROUTE_COLLISION, &others[j], ov);
		}
	}
	planned = run->nwant;
	for (size_t i = 0; i < fences.n; i++) {
		struct want_route *w = &run->want[run->nwant++];
		struct kh_route route;

		run->extra[run->nextra] = fences.items[i];
		w->at = (uint32_t)(d->nroutes + run->nextra++);
		w->type = KH_ROUTE_UNREACHABLE;
		w->report = RECONCILE_NO_REPORT;
		route = want_kh(run, w);
		/* Under or over another owner's route it harms nothing (the longest prefix wins);
		 * only one of the same prefix and metric would be replaced. */
		for (size_t j = 0; j < nothers && !w->blocked; j++)
			if (route_same_key(&route, &others[j]))
				block(run, w, RECONCILE_REPORT_FENCE_COLLISION, &others[j],
				      KH_OVERLAP_SAME);
	}
	/* By prefix and metric, as the kernel's routes are read (and the yields look them up),
	 * a fence before a tunnel route of its key; again once yields are added, after those. */
	if (fences.n && merge_tail(run, planned, true) < 0)
		goto out;
	planned = run->nwant;
	plan_yields(run);
	if (run->nwant > planned && merge_tail(run, planned, false) < 0)
		goto out;
	note_table_routes(run);
	err = 0;
out:
	free(fences.items);
	return err;
}

/* --- removals: before the devices change --- */

/* The wanted route of have's prefix and metric (want is sorted: desired's routes are). */
static const struct want_route *
wanted_route(const struct run *run, const struct kh_route *have)
{
	size_t i = want_lower_bound(run, run->nwant, &have->dst, have->metric, false);
	const struct want_route *w = i < run->nwant ? &run->want[i] : NULL;

	if (w && want_metric(run, w) == have->metric &&
	    addr_prefix_equal(want_dst(run, w), &have->dst))
		return w;
	return NULL;
}

/* After a reload moved netd's table or changed its protocol, the last run's tunnel routes whose
 * traffic stops: those this run routes no more, blocked included, or all of them with their
 * device gone. Told of before anything goes in; the others as their new copies go in
 * (note_installed). */
static void
note_unrouted(struct run *run)
{
	const struct scope *s = &run->r->scope;
	bool carry = old_copies_carry(run);

	if (!scope_moved(run))
		return;
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct owned_route *o = &s->routes[i];
		struct kh_route have = owned_kh(s, o);
		const struct want_route *w;

		if (!o->installed || !o->via[0] || owned_yield(o))
			continue;
		have.table = run->d->table;
		w = wanted_route(run, &have);
		if (!carry || !w || !want_tunnel(run, w) || w->blocked)
			add_change(run, RECONCILE_ROUTE_WITHDRAWN, &have.dst, o->via);
	}
}

/* The outcomes of a batch of route changes, by entry. */
struct batch_outcome {
	int *err;
	char **why; /* of the failed entries */
};

static void
batch_done(size_t i, int err, const char *why, void *arg)
{
	struct batch_outcome *o = arg;

	o->err[i] = err;
	if (err < 0)
		o->why[i] = strdup(why);
}

/* Sends the n routes as one batch (install, or del) and leaves each entry's outcome in o, in
 * the order of routes whatever order the answers came in; false when out of memory. */
static bool
batch_routes(const struct kh_route *routes, size_t n, bool del, struct batch_outcome *o)
{
	o->err = calloc(n, sizeof(*o->err));
	o->why = calloc(n, sizeof(*o->why));
	if (!o->err || !o->why)
		return false;
	if (del)
		kh_route_del_many(routes, n, batch_done, o);
	else
		kh_route_replace_many(routes, n, batch_done, o);
	return true;
}

static void
batch_free(struct batch_outcome *o, size_t n)
{
	for (size_t i = 0; o->why && i < n; i++)
		free(o->why[i]);
	free(o->why);
	free(o->err);
}

/* Counts and reports the deletion of netd's route have, which ended in err (why: the
 * helpers' text for it; NULL: kh_last_error()). */
static void
removed_route(struct run *run, const struct kh_route *have, int err, const char *why)
{
	struct reconcile_object object = route_object(have);
	const struct want_route *w = wanted_route(run, have);

	/* Gone already (with its device, say) is what the deletion was for. */
	if (err == -ESRCH)
		return;
	/* A blocked one is told of with the other blocked routes. */
	if (done(run, RECONCILE_OP_ROUTE_DEL, 1, err, err < 0 && !why ? kh_last_error() : why,
	         &object) == 0 &&
	    !w && !kh_route_type_hopless(have->type))
		note_withdrawn(run, have);
}

static void
remove_routes(struct run *run)
{
	const struct mesh_desired *d = run->d;
	struct kh_route *gone = NULL;
	struct batch_outcome o = {0};
	size_t ngone = 0, capgone = 0;

	if (!run->routes_read)
		return;
	for (size_t i = 0; i < run->nheld; i++) {
		struct kh_route have = held_kh(run, &run->held[i]);
		const struct want_route *w;
		struct kh_route *more;

		/* Not planned for want of the addresses or main's routes: kept as they are. */
		if (!run->addrs_read && kh_route_type_rejects(have.type))
			continue;
		if (!run->main_read && have.type == KH_ROUTE_THROW)
			continue;
		w = wanted_route(run, &have);
		if (w && !w->blocked)
			continue;
		more = grow(run, gone, ngone, &capgone, sizeof(*gone));
		if (!more) {
			removed_route(run, &have, kh_route_del(&have), NULL);
			continue;
		}
		gone = more;
		gone[ngone++] = have;
	}
	if (ngone > RECONCILE_BATCH_MIN && batch_routes(gone, ngone, true, &o)) {
		for (size_t i = 0; i < ngone; i++)
			removed_route(run, &gone[i], o.err[i], o.why[i]);
	} else {
		for (size_t i = 0; i < ngone; i++)
			removed_route(run, &gone[i], kh_route_del(&gone[i]), NULL);
	}
	batch_free(&o, ngone);
	free(gone);
	if (run->rules_read)
		delete_rules(run, run->rules, run->nrules, d->protocol, d);
}

static int
vtep_qcmp(const void *key, const void *item)
{
	return addr_cmp(key, &((const struct mesh_vtep *)item)->addr);
}

static bool
segment_has_vtep(const struct mesh_segment *s, const struct addr *a)
{
	return find(a, s->vteps, s->nvteps, sizeof(*s->vteps), vtep_qcmp) != NULL;
}

static void
remove_fdb(struct run *run)
{
	const struct mesh_desired *d = run->d;

	for (size_t i = 0; i < d->nsegments; i++) {
		const struct seg_run *sr = &run->segs[i];

		if (!sr->fdb_read)
			continue;
		for (size_t j = 0; j < sr->nvteps; j++) {
			struct kh_fdb e = {.ifindex = sr->vxlan, .dst = sr->vteps[j]};
			struct reconcile_object object;
			int err;

			if (segment_has_vtep(&d->segments[i], &e.dst))
				continue;
			object = fdb_object(d->segments[i].vxlan, &e.dst);
			err = kh_fdb_del(&e);
			if (err != -ENOENT)
				kh_done(run, RECONCILE_OP_FDB_DEL, err, &object);
		}
	}
}

/* --- the WireGuard device --- */

static int
create_wg(struct run *run, const struct reconcile_object *object)
{
	static const enum wg_backend backends[] = {
	        [CONF_BACKEND_AUTO] = WG_BACKEND_AUTO,
	        [CONF_BACKEND_KERNEL] = WG_BACKEND_KERNEL,
	        [CONF_BACKEND_USERSPACE] = WG_BACKEND_USERSPACE,
	};
	const struct mesh_desired *d = run->d;
	int err;

	err = wg_add_device(d->wg.name, backends[d->wg.backend], d->wg.userspace_command);
	/* Started, not answering yet: the next run, soon, finds it, and counts the creation. */
	if (err == -EINPROGRESS) {
		run->starting = true;
		run->r->wg_start_pending = true;
		return err;
	}
	run->r->wg_start_pending = false;
	if (done(run, RECONCILE_OP_WG_CREATE, 1, err, kh_last_error(), object) < 0)
		return err;
	err = kh_link_get(d->wg.name, &run->wg_link);
	if (err < 0) {
		read_failed(run, object, err, kh_last_error());
		return err;
	}
	/* A new device holds nothing yet: no need to read it. */
	run->dev = wgread_empty(d->wg.name);
	if (!run->dev) {
		run->oom = true;
		return -ENOMEM;
	}
	run->wg_ready = true;
	return 0;
}

static void
configure_wg(struct run *run, const struct reconcile_object *object)
{
	const struct mesh_desired *d = run->d;
	const struct wgread *have = run->dev;
	struct wg_device *set;

	set = wg_device_new(d->wg.name);
	if (!set) {
		run->oom = true;
		return;
	}
	run->wg_keyed = (have->flags & WG_DEVICE_HAS_PUBLIC_KEY) &&
	                memcmp(have->public_key, d->wg.public_key, WG_KEY_SIZE) == 0;
	if (!run->wg_keyed) {
		set->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
		memcpy(set->private_key, d->wg.private_key, WG_KEY_SIZE);
	}
	if (have->listen_port != d->wg.listen_port) {
		set->flags |= WG_DEVICE_HAS_LISTEN_PORT;
		set->listen_port = d->wg.listen_port;
	}
	if (have->fwmark != d->wg.fwmark) {
		set->flags |= WG_DEVICE_HAS_FWMARK;
		set->fwmark = d->wg.fwmark;
	}
	if (set->flags &&
	    done(run, RECONCILE_OP_WG_CONFIG, 1, wg_set_device(set), kh_last_error(), object) == 0)
		run->wg_keyed = true;
	wg_free_device(set);
}

static void
configure_addrs(struct run *run)
{
	const struct mesh_desired *d = run->d;
	uint32_t ifindex = run->wg_link.ifindex;
	const struct kh_ifaddr *addrs = run->addrs;
	size_t n = run->naddrs;
	int err;

	/* Read before the device was made, if this run made it: it holds none yet. */
	if (!run->addrs_read)
		return;
	for (size_t i = 0; i < n; i++) {
		struct reconcile_object obj = link_object(RECONCILE_OBJECT_ADDRESS, d->wg.name);
		bool wanted = false;

		/* Another device's, or the kernel's own: never netd's. */
		if (addrs[i].ifindex != ifindex || is_link_local(&addrs[i].prefix))
			continue;
		for (size_t j = 0; j < d->wg.naddrs && !wanted; j++)
			wanted = addr_prefix_equal(&addrs[i].prefix, &d->wg.addrs[j]);
		if (wanted)
			continue;
		obj.dst = addrs[i].prefix;
		err = kh_ifaddr_del(&addrs[i]);
		if (err != -EADDRNOTAVAIL)
			kh_done(run, RECONCILE_OP_ADDR_DEL, err, &obj);
	}
	for (size_t j = 0; j < d->wg.naddrs; j++) {
		struct kh_ifaddr a = {.ifindex = ifindex, .prefix = d->wg.addrs[j]};
		struct reconcile_object obj = link_object(RECONCILE_OBJECT_ADDRESS, d->wg.name);
		bool have = false;

		for (size_t i = 0; i < n && !have; i++)
			have = addrs[i].ifindex == ifindex &&
			       addr_prefix_equal(&addrs[i].prefix, &a.prefix);
		if (have)
			continue;
		obj.dst = a.prefix;
		kh_done(run, RECONCILE_OP_ADDR_ADD, kh_ifaddr_add(&a), &obj);
	}
}

/* Sets the MTU (unless 0) and brings the link up if asked; l follows what succeeded. */
static void
link_mtu_up(struct run *run, struct kh_link *l, uint32_t mtu, bool up,
            const struct reconcile_object *object)
{
	if (mtu && l->mtu != mtu &&
	    kh_done(run, RECONCILE_OP_LINK_MTU, kh_link_set_mtu(l->ifindex, mtu), object) == 0)
		l->mtu = mtu;
	if (up && !(l->flags & IFF_UP) &&
	    kh_done(run, RECONCILE_OP_LINK_UP, kh_link_set_up(l->ifindex, true), object) == 0)
		l->flags |= IFF_UP;
}

static void
ensure_wg(struct run *run)
{
	const struct mesh_desired *d = run->d;
	struct reconcile_object object = link_object(RECONCILE_OBJECT_WIREGUARD, d->wg.name);

	if (!find_link(run, d->wg.name) && create_wg(run, &object) < 0)
		return;
	if (!run->wg_ready)
		return;
	/* Key and port before the device is up: it binds the port it is given. */
	configure_wg(run, &object);
	link_mtu_up(run, &run->wg_link, d->wg.mtu, false, &object);
	configure_addrs(run);
	link_mtu_up(run, &run->wg_link, 0, true, &object);
}

/* --- peers: one sparse delta --- */

static void
to_endpoint(const struct addr *a, uint16_t port, union wg_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (a->family == AF_INET) {
		ep->sin.sin_family = AF_INET;
		ep->sin.sin_addr = a->u.v4;
		ep->sin.sin_port = htons(port);
	} else if (a->family == AF_INET6) {
		ep->sin6.sin6_family = AF_INET6;
		ep->sin6.sin6_addr = a->u.v6;
		ep->sin6.sin6_port = htons(port);
	}
}

static int
key_qcmp(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, WG_KEY_SIZE);
}

/* Public keys of n items of size bytes, each key at offset within its item, sorted; -ENOMEM. */
static int
sorted_keys(const void *items, size_t n, size_t size, size_t offset, const uint8_t ***out)
{
	const uint8_t **keys = NULL;

	if (n) {
		keys = malloc(n * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		keys[i] = (const uint8_t *)items + i * size + offset;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), key_qcmp);
	*out = keys;
	return 0;
}

/* The item whose key is key, given its keys sorted by sorted_keys. */
static const void *
find_key(const uint8_t **keys, size_t n, size_t offset, const uint8_t key[WG_KEY_SIZE])
{
	const uint8_t *const *k = find(&key, keys, n, sizeof(*keys), key_qcmp);

	return k ? *k - offset : NULL;
}

/* The flags of the change peer want needs on have, of the device's read (0: none). */
static uint32_t
peer_change(const struct wgread *read, const struct wgread_peer *have, const struct mesh_peer *want)
{
	union wg_endpoint ep;
	uint32_t flags = 0;

	to_endpoint(&want->endpoint, want->endpoint_port, &ep);
	/* A roaming site's endpoint is WireGuard's to learn once it has one. */
	if (ep.sa.sa_family != AF_UNSPEC &&
	    (!have->has_endpoint || (!want->endpoint_roams && !wgread_endpoint_equal(have, &ep))))
		flags |= WG_PEER_HAS_ENDPOINT;
	if (have->keepalive != want->keepalive)
		flags |= WG_PEER_HAS_KEEPALIVE;
	if (have->has_preshared_key)
		flags |= WG_PEER_HAS_PRESHARED_KEY;
	if (!wgread_allowed_equal(read, have, want->allowed, want->nallowed))
		flags |= WG_PEER_REPLACE_ALLOWEDIPS;
	return flags;
}

/* Appends to set a write of only the keepalive of the peer of that key. */
static int
append_keepalive(struct wg_device *set, const uint8_t key[WG_KEY_SIZE], uint16_t seconds)
{
	struct wg_peer *p = wg_device_add_peer(set);

	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, key, WG_KEY_SIZE);
	p->flags = WG_PEER_UPDATE_ONLY | WG_PEER_HAS_KEEPALIVE;
	p->persistent_keepalive = seconds;
	return 0;
}

/* Adds want's change to set; have_keepalive is the peer's keepalive now (0 for a new one).
 *
 * A peer whose endpoint is set or changes handshakes at once, started from this side: the
 * other side may have dropped this side's earlier initiation because it did not know this
 * site yet, and WireGuard itself would try again only 5 s (REKEY_TIMEOUT) later; two sites
 * behind NATs that both set each other's observed endpoint punch their holes this way. Both
 * implementations send a keepalive, and so an initiation when there is no session, when a
 * peer's persistent keepalive goes from off to on on a running device (the kernel's
 * set_peer(), wireguard-go's "persistent_keepalive_interval"): the peer's keepalive is
 * written off (if on), then on, then its own, in the one request. WireGuard sends at most
 * one initiation per peer in 5 s, so one sent less than 5 s ago delays this one until then.
 * A peer without an endpoint is not started: its initiation would go nowhere and hold back
 * the one due when the endpoint comes; the caller decides (start), pacing the starts
 * (RECONCILE_HANDSHAKE_RATE). Returns whether the handshake was asked for, or -ENOMEM. */
static int
delta_peer(struct wg_device *set, const struct mesh_peer *want, uint32_t flags,
           uint16_t have_keepalive, bool start)
{
	uint16_t on = want->keepalive ? want->keepalive : 1;
	struct wg_peer *p = wg_device_add_peer(set);
	int err;

	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, want->public_key, WG_KEY_SIZE);
	p->flags = flags;
	if (flags & WG_PEER_HAS_ENDPOINT)
		to_endpoint(&want->endpoint, want->endpoint_port, &p->endpoint);
	p->persistent_keepalive = want->keepalive;
	if (start) {
		p->flags |= WG_PEER_HAS_KEEPALIVE;
		p->persistent_keepalive = have_keepalive ? 0 : on;
	}
	for (size_t i = 0; (flags & WG_PEER_REPLACE_ALLOWEDIPS) && i < want->nallowed; i++) {
		err = wg_peer_add_allowedip(p, &want->allowed[i]);
		if (err < 0)
			return err;
	}
	if (!start)
		return 0;
	err = have_keepalive ? append_keepalive(set, want->public_key, on) : 0;
	if (err == 0 && !want->keepalive)
		err = append_keepalive(set, want->public_key, 0);
	return err < 0 ? err : 1;
}

/* Whether the peer is better replaced than changed. A relayed site's peer holding a session
 * from before it was relayed: the session goes with the peer, so that the next handshake shows
 * the direct path works again. A peer that gets its first endpoint and never handshook: traffic
 * waiting for it has had WireGuard try handshakes to nowhere, and it would not try again, to
 * the endpoint, until 5 s after the last; a new peer tries at once (behind NAT, while the
 * other side's own try still holds its NAT open) -- unless something came from the other end
 * already, an initiation whose handshake the replacement would cut short. */
static bool
session_stale(const struct wgread_peer *have, const struct mesh_peer *want)
{
	if (have->handshake_sec == 0)
		return !have->has_endpoint && have->rx_bytes == 0 &&
		       addr_len(want->endpoint.family);
	return want->fresh_after > 0 && have->handshake_sec < want->fresh_after;
}

/* Removes have in set; added again after, in the same request, it starts afresh. */
static int
peer_replace(struct wg_device *set, const struct wgread_peer *have)
{
	struct wg_peer *p = wg_device_add_peer(set);

	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, have->public_key, WG_KEY_SIZE);
	p->flags = WG_PEER_REMOVE_ME;
	return 0;
}

/* How old a read of the WireGuard device may be for a decision to replace a peer. */
#define RECONCILE_FRESH_READ_MS 250
/* WireGuard tries a handshake again by itself this long after its last try. */
#define RECONCILE_HANDSHAKE_WAIT (5 * MESH_USEC)

static bool
device_read_fresh(const struct wgread *dev)
{
	return wg_monotonic_ms() - dev->read_at_ms <= RECONCILE_FRESH_READ_MS;
}

/* --- handshakes started once more ---
 *
 * A handshake started by delta_peer can fail to complete at once: both sides may have started
 * theirs at the same moment (a joining site and its seed add each other together), and then
 * each answers the other's initiation, which discards its own, and both wait for WireGuard's
 * retry 5 s later; or the other side did not know this site yet, or a userspace WireGuard had
 * not yet seen its interface come up. A peer started here, when it is this end's to try again
 * (mesh_peer.retries_handshake: the end behind NAT when the other is not, which cannot
 * reach it first, else the one with the lower key), is therefore looked at
 * RECONCILE_HANDSHAKE_RETRY later and, if no handshake has completed, removed and added anew
 * in one request: only a new peer may initiate again within 5 s of its last initiation. One
 * side only, so that the second initiations do not cross again; once only, so that a site
 * that does not answer is left to WireGuard's own retries; and only on a read of the device
 * made now.
 *
 * Crossed initiations can also end in a handshake on both sides and a tunnel that carries
 * only one way: one end sends on a session the other no longer holds (seen with wireguard-go
 * under load), receives the other's traffic and so never starts a handshake itself, and the
 * other end, which receives nothing, starts one only after 15 s of silence. Either end may be
 * the deaf one, so both look at every peer they started: one whose handshake completed but
 * which has received only the other end's initiation and the answer to its own while it sent
 * on its session (netd's path MTU probe goes out at once, and its answer comes back at once)
 * is started once more the same way, by the deaf end alone. */

/* A peer started now, to be looked at again. */
struct handshake_watch {
	const uint8_t *key;
	bool retries; /* mesh_peer.retries_handshake */
};

/* The device lacks netd's key (its setting failed, or went on in the background): peers
 * given to it now would start handshakes under whatever identity it holds, a zero one for a
 * userspace WireGuard just started. Every peer waits, unrouted, for the retry that sets the
 * key first. */
static void
hold_peers(struct run *run)
{
	size_t n = run->d->npeers;

	if (!n)
		return;
	run->pending = malloc(n * sizeof(*run->pending));
	if (!run->pending) {
		run->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		run->pending[i] = true;
}

/* What configure_peers' delta does about handshakes. */
struct handshake_plan {
	struct handshake_watch *watch; /* the peers started now */
	size_t nwatch, started, retried;
	size_t one_way;       /* of those retried, the ones whose session carried one way */
	size_t budget;        /* starts the pace allows this run */
	size_t paced;         /* starts it took */
	const uint8_t **hold; /* keys of the peers written without their start */
	size_t nhold;
};

/* The watched handshakes are kept sorted by key: a join of thousands of sites that do not
 * answer at once watches thousands of them, and every run looks each device peer up. */
static int
due_cmp(const void *a, const void *b)
{
	/* the key leads struct handshake_due and struct handshake_held */
	return memcmp(a, b, WG_KEY_SIZE);
}

/* Looks key up among the first n watched handshakes (the sorted ones). */
static struct handshake_due *
find_due(const struct reconcile *r, const uint8_t key[WG_KEY_SIZE], size_t n)
{
	return find(key, r->due, n, sizeof(*r->due), due_cmp);
}

static bool
never_handshaked(const struct wgread_peer *p)
{
	return !p->handshaked;
}

/* WireGuard counts the handshake messages a peer sends and receives with its traffic. */
#define WG_INITIATION_BYTES 148
#define WG_RESPONSE_BYTES   92
/* More of either than a start and a crossed start, each tried again, would exchange. */
#define HANDSHAKE_MESSAGES_MAX 3

/* Whether a peer's byte count can be made of handshake messages alone. What goes on a session
 * is 32 bytes and more, in steps of 16, and rarely sums up to one of these. */
static bool
handshake_bytes_only(uint64_t bytes)
{
	for (uint64_t in = 0; in <= HANDSHAKE_MESSAGES_MAX; in++)
		for (uint64_t re = 0; re <= HANDSHAKE_MESSAGES_MAX; re++)
			if (bytes == in * WG_INITIATION_BYTES + re * WG_RESPONSE_BYTES)
				return true;
	return false;
}

/* Whether have's session goes one way only after crossed initiations: it handshook and sent
 * on the session, and all it received is the other end's initiation and the answer to its
 * own. Nothing else adds up to those 240 bytes: an end that handshook received an answer (92)
 * or, having answered, traffic after an initiation (148), and traffic comes in steps of 16. A
 * sum that could also hold traffic (an answer and a 240-byte packet is 332, an initiation and
 * two answers too) is left alone: an end that only answered is slow to send, not deaf, and a
 * new session would cut its first traffic short. */
static bool
one_way(const struct wgread_peer *have)
{
	return !never_handshaked(have) &&
	       have->rx_bytes == WG_INITIATION_BYTES + WG_RESPONSE_BYTES &&
	       !handshake_bytes_only(have->tx_bytes);
}

/* Whether the handshake this side started with have is to be started once more now: its
 * session goes one way only, or none has completed and this side is the one to try again.
 * What came from the other end meanwhile can then only be initiations (an answer to this
 * side's, or anything sent on a session, would have completed one), each answered: when the
 * two initiations crossed, each side answered the other's and dropped the answer to its own,
 * and neither tries again before WireGuard's 5 s. An answer still on its way is the one case
 * the replacement cuts short, and it costs a round trip, not 5 s. */
static bool
handshake_retry_due(const struct run *run, const struct wgread_peer *have)
{
	const struct handshake_due *e = find_due(run->r, have->public_key, run->r->ndue);

	if (!e || e->at > run->now || !have->has_endpoint)
		return false;
	return never_handshaked(have) ? e->retries : one_way(have);
}

/* --- handshakes paced ---
 *
 * A start is an initiation, and its response comes back with those of every other peer
 * started in the same run: thousands at once fill WireGuard's queue of handshake messages,
 * and WireGuard under load answers them with cookies instead, and each refused peer tries
 * again 5 s later. A run starts at most what a token bucket holds (RECONCILE_HANDSHAKE_BURST,
 * refilled at RECONCILE_HANDSHAKE_RATE a second); the peers beyond it are written with their
 * keepalive off (turning it on is the start) and held, and a run once the bucket has refilled
 * starts them, in the desired order. A held peer that has sent or received anything or
 * handshaked meanwhile (traffic for it, the other side's initiation) needs no start and is
 * let go. */

static int64_t
pace_full(void)
{
	return (int64_t)RECONCILE_HANDSHAKE_BURST * MESH_USEC / RECONCILE_HANDSHAKE_RATE;
}

/* The starts the bucket holds at now. */
static size_t
pace_budget(const struct reconcile *r, int64_t now)
{
	if (now - r->hs_empty_at >= pace_full())
		return RECONCILE_HANDSHAKE_BURST;
	return now > r->hs_empty_at
	               ? (size_t)((now - r->hs_empty_at) * RECONCILE_HANDSHAKE_RATE / MESH_USEC)
	               : 0;
}

static void
pace_spend(struct reconcile *r, int64_t now, size_t n)
{
	if (r->hs_empty_at < now - pace_full())
		r->hs_empty_at = now - pace_full();
	r->hs_empty_at += (int64_t)n * MESH_USEC / RECONCILE_HANDSHAKE_RATE;
}

/* When the bucket holds the starts of up to a second's held peers: the next run then. */
static int64_t
pace_next(const struct reconcile *r, int64_t now)
{
	size_t n = r->nheld < RECONCILE_HANDSHAKE_RATE ? r->nheld : RECONCILE_HANDSHAKE_RATE;
	int64_t base = r->hs_empty_at > now - pace_full() ? r->hs_empty_at : now - pace_full();
	int64_t at = base + ((int64_t)n * MESH_USEC + RECONCILE_HANDSHAKE_RATE - 1) /
	                            RECONCILE_HANDSHAKE_RATE; /* rounded up: n whole starts */

	return at > now ? at : now + RECONCILE_RETRY_START;
}

static bool
is_held(const struct reconcile *r, const uint8_t key[WG_KEY_SIZE])
{
	return find(key, r->held, r->nheld, sizeof(*r->held), due_cmp) != NULL;
}

/* Keeps plan's held peers for the next runs. Returns -ENOMEM (the old ones are kept). */
static int
note_held(struct reconcile *r, const struct handshake_plan *plan)
{
	struct handshake_held *h = NULL;

	if (plan->nhold && !(h = calloc(plan->nhold, sizeof(*h))))
		return -ENOMEM;
	for (size_t i = 0; i < plan->nhold; i++)
		memcpy(h[i].key, plan->hold[i], WG_KEY_SIZE);
	if (plan->nhold > 1)
		qsort(h, plan->nhold, sizeof(*h), due_cmp);
	free(r->held);
	r->held = h;
	r->nheld = plan->nhold;
	r->stats.handshakes_waiting = plan->nhold;
	return 0;
}

/* Forgets the handshakes whose time has come, and notes those of plan started by a request
 * that was sent: applied, or going on in the background, where a userspace WireGuard still
 * starting may take the peers before its interface is up and start no handshake for them. */
static void
note_handshakes(struct run *run, const struct handshake_plan *plan, bool sent)
{
	struct reconcile *r = run->r;
	bool fresh = run->dev && device_read_fresh(run->dev);
	size_t kept = 0;

	/* One whose time came on a read made a while ago waits for a read made now, for as
	 * long as WireGuard would take to try again by itself. */
	for (size_t i = 0; i < r->ndue; i++)
		if (r->due[i].at > run->now ||
		    (!fresh && run->now < r->due[i].at + RECONCILE_HANDSHAKE_WAIT))
			r->due[kept++] = r->due[i];
	r->ndue = kept; /* still sorted */
	for (size_t i = 0; sent && i < plan->nwatch; i++) {
		struct handshake_due *e;

		/* The peers of one run are distinct: a key is only among those sorted before. */
		e = find_due(r, plan->watch[i].key, kept);
		if (!e) {
			e = grow(run, r->due, r->ndue, &r->capdue, sizeof(*e));
			if (!e)
				break;
			r->due = e;
			e = &r->due[r->ndue++];
			memcpy(e->key, plan->watch[i].key, WG_KEY_SIZE);
		}
		e->at = run->now + RECONCILE_HANDSHAKE_RETRY;
		e->retries = plan->watch[i].retries;
	}
	if (r->ndue > kept)
		qsort(r->due, r->ndue, sizeof(*r->due), due_cmp);
}

/* Whether have, held for the pace, still waits for its start: nothing has come or gone
 * through it yet. */
static bool
still_held(const struct run *run, const struct wgread_peer *have)
{
	return have->has_endpoint && never_handshaked(have) && have->rx_bytes == 0 &&
	       have->tx_bytes == 0 && is_held(run->r, have->public_key);
}

/* Adds to set the change the desired peer want needs, have as WireGuard holds it (NULL: not
 * there), and counts it. Returns 0, 1 when nothing changes, or -ENOMEM. */
static int
plan_peer(struct run *run, struct wg_device *set, const struct mesh_peer *want,
          const struct wgread_peer *have, size_t count[RECONCILE_OP_COUNT],
          struct handshake_plan *plan)
{
	/* Replacing a peer drops its session: decided only on a read of the device made now,
	 * not on a userspace implementation's answer finished in the background a while ago,
	 * which may not show the handshake or endpoint the peer got since. A start once more
	 * is not paced: it follows one of the paced starts, once. */
	bool fresh = device_read_fresh(run->dev);
	bool again = fresh && have && handshake_retry_due(run, have);
	bool waiting = have && still_held(run, have);
	struct mesh_peer quiet;
	uint32_t flags;
	bool start;
	int started;

	if (have && (again || (fresh && session_stale(have, want)))) {
		if (peer_replace(set, have) < 0)
			return -ENOMEM;
		count[RECONCILE_OP_PEER_REMOVE]++;
		plan->retried += again;
		plan->one_way += again && !never_handshaked(have);
		have = NULL;
	}
	if (!have) {
		flags = WG_PEER_HAS_KEEPALIVE | WG_PEER_REPLACE_ALLOWEDIPS;
		if (addr_len(want->endpoint.family))
			flags |= WG_PEER_HAS_ENDPOINT;
	} else {
		flags = peer_change(run->dev, have, want);
	}
	start = (flags & WG_PEER_HAS_ENDPOINT) || waiting;
	if (start && !again && !plan->budget) {
		/* Written as wanted but for the keepalive, which stays as it is (off for a new
		 * peer) until the start turns it on. */
		quiet = *want;
		quiet.keepalive = have ? have->keepalive : 0;
		plan->hold[plan->nhold++] = want->public_key;
		want = &quiet;
		start = false;
		if (have)
			flags = peer_change(run->dev, have, want);
	}
	if (have && !flags && !start)
		return 1;
	count[have ? RECONCILE_OP_PEER_UPDATE : RECONCILE_OP_PEER_ADD]++;
	started = delta_peer(set, want, flags, have ? have->keepalive : 0, start);
	if (started <= 0)
		return started;
	plan->started++;
	if (!again) {
		plan->budget--;
		plan->paced++;
		plan->watch[plan->nwatch++] = (struct handshake_watch){
		        .key = want->public_key, .retries = want->retries_handshake};
	}
	return 0;
}

static void
configure_peers(struct run *run)
{
	const struct mesh_desired *d = run->d;
	const struct wgread *have = run->dev;
	size_t count[RECONCILE_OP_COUNT] = {0};
	struct handshake_plan plan = {.budget = pace_budget(run->r, run->now)};
	static const enum reconcile_op ops[] = {RECONCILE_OP_PEER_ADD, RECONCILE_OP_PEER_UPDATE,
	                                        RECONCILE_OP_PEER_REMOVE};
	const size_t want_off = offsetof(struct mesh_peer, public_key);
	const uint8_t **want_keys = NULL;
	struct reconcile_object object = link_object(RECONCILE_OBJECT_PEERS, d->wg.name);
	struct wg_device *set;
	bool *changed = NULL, *left = NULL, reported = false, sent = false;
	int err = 0;

	set = wg_device_new(d->wg.name);
	if (d->npeers) {
		changed = calloc(d->npeers, sizeof(*changed));
		plan.watch = calloc(d->npeers, sizeof(*plan.watch));
		plan.hold = calloc(d->npeers, sizeof(*plan.hold));
	}
	if (!set || (d->npeers && (!changed || !plan.watch || !plan.hold)) ||
	    sorted_keys(d->peers, d->npeers, sizeof(*d->peers), want_off, &want_keys) < 0) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->npeers && err == 0; i++) {
		const struct wgread_peer *p = wgread_find(have, d->peers[i].public_key);
		int res;

		/* The run's bound: the rest are added by the next, pending meanwhile. */
		if (!p && count[RECONCILE_OP_PEER_ADD] >= RECONCILE_PEER_ADDS) {
			if (!left && !(left = calloc(d->npeers, sizeof(*left)))) {
				err = -ENOMEM;
				break;
			}
			left[i] = changed[i] = true;
			continue;
		}
		res = plan_peer(run, set, &d->peers[i], p, count, &plan);
		err = res < 0 ? res : 0;
		changed[i] = res == 0;
	}
	/* A peer goes only once the routes through it are known to be gone. */
	for (size_t i = 0; i < have->npeers && err == 0 && run->routes_read; i++) {
		struct wg_peer *p;

		if (find_key(want_keys, d->npeers, want_off, have->peers[i].public_key))
			continue;
		p = wg_device_add_peer(set);
		if (!p) {
			err = -ENOMEM;
			break;
		}
		memcpy(p->public_key, have->peers[i].public_key, WG_KEY_SIZE);
		p->flags = WG_PEER_REMOVE_ME;
		count[RECONCILE_OP_PEER_REMOVE]++;
	}
	if (err < 0)
		goto out;
	if (!set->npeers) {
		err = note_held(run->r, &plan);
		goto out;
	}
	err = wg_set_device(set);
	sent = err == 0 || err == -ETIMEDOUT;
	/* What was sent holds those peers, started or not, whether or not it was applied; and
	 * counts as the starts it asked for: a request the loop stopped waiting for (a userspace
	 * WireGuard's, thousands of peers) goes on in the background, and nothing reports it. */
	if (sent) {
		run->r->stats.handshakes_started += plan.started;
		run->r->stats.handshakes_retried += plan.retried;
		run->r->stats.handshakes_one_way += plan.one_way;
		pace_spend(run->r, run->now, plan.paced);
		if (note_held(run->r, &plan) < 0)
			run->oom = true;
	}
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		if (!count[ops[k]])
			continue;
		if (err < 0 && reported) {
			/* One failure, reported once: every peer of the delta failed with it. */
			run->r->stats.failed[ops[k]] += count[ops[k]];
			run->failed += count[ops[k]];
			continue;
		}
		done(run, ops[k], count[ops[k]], err, kh_last_error(), &object);
		reported = true;
	}
	if (err < 0) {
		run->pending = changed;
		changed = NULL;
		err = 0;
	} else if (left) {
		run->pending = left;
		left = NULL;
		run->more = true;
	}
out:
	if (err < 0)
		run->oom = true;
	note_handshakes(run, &plan, sent);
	free(plan.watch);
	free(plan.hold);
	free(want_keys);
	free(changed);
	free(left);
	wg_free_device(set);
}

/* --- segments --- */

/* A link segment s needs that is left alone: a link of another kind in the way, or, with
 * in_the_way NULL, a port missing. */
static void
report_segment_link(struct run *run, const struct mesh_segment *s, const char *name,
                    const struct kh_link *in_the_way)
{
	struct reconcile_object object = link_object(RECONCILE_OBJECT_LINK, name);
	struct reconcile_report *rep = add_report(
	        run, in_the_way ? RECONCILE_REPORT_LINK_IN_THE_WAY : RECONCILE_REPORT_PORT_MISSING,
	        &object, 0);

	if (!rep)
		return;
	snprintf(rep->segment, sizeof(rep->segment), "%s", s->name);
	if (in_the_way)
		snprintf(rep->link_kind, sizeof(rep->link_kind), "%s", in_the_way->kind);
}

static void
ensure_segment(struct run *run, size_t i)
{
	const struct mesh_segment *s = &run->d->segments[i];
	struct seg_run *sr = &run->segs[i];
	const struct kh_link *vx = find_link(run, s->vxlan);
	const struct kh_link *br = find_link(run, s->bridge);
	struct reconcile_object vobj = link_object(RECONCILE_OBJECT_LINK, s->vxlan);
	struct reconcile_object bobj = link_object(RECONCILE_OBJECT_LINK, s->bridge);
	struct kh_link vcur, bcur;
	int err;

	memset(&vcur, 0, sizeof(vcur));
	memset(&bcur, 0, sizeof(bcur));
	if (vx && strcmp(vx->kind, "vxlan") != 0) {
		report_segment_link(run, s, s->vxlan, vx);
		return;
	}
	if (br && strcmp(br->kind, "bridge") != 0) {
		report_segment_link(run, s, s->bridge, br);
		return;
	}
	/* VNI, local address, port and learning are fixed at creation. */
	if (vx && !vxlan_shape_ok(vx, s)) {
		err = kh_done(run, RECONCILE_OP_LINK_DELETE, kh_link_del(vx->ifindex), &vobj);
		if (err < 0)
			return;
		vx = NULL;
	}
	if (vx) {
		vcur = *vx;
	} else {
		struct kh_vxlan want = {.vni = s->vni, .local = s->local, .port = s->port};

		err = kh_link_add_vxlan(s->vxlan, &want, s->mtu, &vcur.ifindex);
		if (kh_done(run, RECONCILE_OP_LINK_CREATE, err, &vobj) < 0)
			return;
		vcur.mtu = s->mtu;
		/* A device just made holds no entries. */
		sr->nvteps = 0;
		sr->fdb_read = true;
	}
	if (br) {
		bcur = *br;
	} else {
		err = kh_link_add_bridge(s->bridge, s->mtu, &bcur.ifindex);
		if (kh_done(run, RECONCILE_OP_LINK_CREATE, err, &bobj) < 0)
			return;
	}
	sr->vxlan = vcur.ifindex;
	sr->bridge = bcur.ifindex;
	sr->usable = true;
	link_mtu_up(run, &vcur, s->mtu, false, &vobj);
	if (vcur.master != bcur.ifindex)
		kh_done(run, RECONCILE_OP_LINK_MASTER,
		        kh_link_set_master(vcur.ifindex, bcur.ifindex), &vobj);
	for (size_t j = 0; j < s->nports; j++) {
		const struct kh_link *port = find_link(run, s->ports[j]);
		struct reconcile_object pobj = link_object(RECONCILE_OBJECT_LINK, s->ports[j]);

		if (!port) {
			report_segment_link(run, s, s->ports[j], NULL);
			continue;
		}
		if (port->master != bcur.ifindex)
			kh_done(run, RECONCILE_OP_LINK_MASTER,
			        kh_link_set_master(port->ifindex, bcur.ifindex), &pobj);
	}
	link_mtu_up(run, &vcur, 0, true, &vobj);
	link_mtu_up(run, &bcur, 0, true, &bobj);
}

/* --- additions: once the devices are there --- */

enum install {
	INSTALL_FAILED,
	INSTALL_KEPT, /* the table held it already */
	INSTALL_ADDED,
	INSTALL_REPLACED, /* over netd's route of its prefix and metric, which differed */
};

/* Whether the table as read held w as netd wants it. */
static bool
route_kept(const struct run *run, const struct want_route *w)
{
	return w->held_as_wanted && w->held_oif == want_kh(run, w).oif;
}

/* Counts and reports the install of w over the table's route of its prefix and metric, which
 * ended in err (why: the helpers' text for it; NULL: kh_last_error()). */
static enum install
installed(struct run *run, struct want_route *w, int err, const char *why)
{
	struct reconcile_object object = want_object(run, w);

	if (done(run, RECONCILE_OP_ROUTE_ADD, 1, err, err < 0 && !why ? kh_last_error() : why,
	         &object) < 0)
		return INSTALL_FAILED;
	w->installed = true;
	return w->ours_held ? INSTALL_REPLACED : INSTALL_ADDED;
}

/* Installs w unless the table holds it already. */
static enum install
add_route(struct run *run, struct want_route *w)
{
	struct kh_route route = want_kh(run, w);

	if (route_kept(run, w)) {
		w->installed = true;
		return INSTALL_KEPT;
	}
	return installed(run, w, kh_route_replace(&route), NULL);
}

/* Records what installing a tunnel route changed: the route, or the site it leads to. After a
 * reload moved netd's table or changed its protocol, the old copy of the route carried its
 * traffic until this one went in (and goes only at the run's end): the route was replaced,
 * not withdrawn and added, unless the new copy failed and the old goes anyway. */
static void
note_installed(struct run *run, const struct want_route *w, enum install how)
{
	struct kh_route route = want_kh(run, w);
	const struct owned_route *was = owned_before(run, &route);
	const char *via = run->d->peers[want_peer(run, w)].site;
	struct reconcile_route_change *c;
	bool carried;

	/* A yield of that prefix before leads to no site. */
	if (was && owned_yield(was))
		was = NULL;
	carried = was && was->installed && was->via[0] && old_copies_carry(run);
	if (how == INSTALL_FAILED) {
		if (carried)
			add_change(run, RECONCILE_ROUTE_WITHDRAWN, want_dst(run, w), was->via);
	} else if (how == INSTALL_ADDED && !carried) {
		add_change(run, RECONCILE_ROUTE_ADDED, want_dst(run, w), via);
	} else if (was && was->via[0] && strcmp(was->via, via) != 0) {
		c = add_change(run, RECONCILE_ROUTE_MOVED, want_dst(run, w), via);
		if (c)
			snprintf(c->from, sizeof(c->from), "%s", was->via);
	} else if (how == INSTALL_REPLACED || carried) {
		add_change(run, RECONCILE_ROUTE_REPLACED, want_dst(run, w), via);
	}
}

/* The tunnel routes of a run that the table lacks go in one batch, each counted and reported
 * as add_route would have. */
static void
add_routes_batch(struct run *run, struct want_route **ws, size_t n)
{
	struct kh_route *routes = calloc(n, sizeof(*routes));
	struct batch_outcome o = {0};

	for (size_t i = 0; routes && i < n; i++)
		routes[i] = want_kh(run, ws[i]);
	if (!routes || !batch_routes(routes, n, false, &o)) {
		/* Without the memory for a batch, one request each still works. */
		for (size_t i = 0; i < n; i++)
			note_installed(run, ws[i], add_route(run, ws[i]));
	} else {
		for (size_t i = 0; i < n; i++)
			note_installed(run, ws[i], installed(run, ws[i], o.err[i], o.why[i]));
	}
	batch_free(&o, n);
	free(routes);
}

static void
add_routes(struct run *run)
{
	struct want_route **batch = NULL;
	size_t nbatch = 0;

	if (!run->routes_read || !run->wg_link.ifindex || !(run->wg_link.flags & IFF_UP))
		return;
	for (size_t i = 0; i < run->nwant; i++) {
		struct want_route *w = &run->want[i];

		if (w->blocked || want_peer(run, w) == WANT_NO_PEER ||
		    (run->pending && run->pending[want_peer(run, w)]))
			continue;
		if (route_kept(run, w)) {
			w->installed = true;
			note_installed(run, w, INSTALL_KEPT);
			continue;
		}
		if (!batch)
			batch = calloc(run->nwant, sizeof(*batch));
		if (!batch) {
			note_installed(run, w, add_route(run, w));
			continue;
		}
		batch[nbatch++] = w;
	}
	if (nbatch > RECONCILE_BATCH_MIN) {
		add_routes_batch(run, batch, nbatch);
	} else {
		for (size_t i = 0; i < nbatch; i++)
			note_installed(run, batch[i], add_route(run, batch[i]));
	}
	free(batch);
}

/* The tunnel routes a collision keeps out that it did not keep out when the last run ended,
 * and whether they were in the table then (withdrawn). Once the run's reports are all made:
 * the changes point at them. */
static void
note_blocked(struct run *run)
{
	for (size_t i = 0; i < run->nwant; i++) {
		struct want_route *w = &run->want[i];
		struct kh_route route = want_kh(run, w);
		const struct owned_route *was = owned_route(&run->r->scope, &route);
		const struct reconcile_report *rep = report_at(run, w->report);
		struct reconcile_route_change *c;

		if (!w->blocked || want_peer(run, w) == WANT_NO_PEER)
			continue;
		if (was && owned_yield(was))
			was = NULL;
		if (was && was->blocked) {
			w->withdrawn = was->withdrawn;
			continue;
		}
		w->withdrawn = was && was->installed;
		if (w->withdrawn)
			run->r->stats.overlap_withdrawals++;
		c = add_change(run, RECONCILE_ROUTE_BLOCKED, want_dst(run, w),
		               run->d->peers[want_peer(run, w)].site);
		if (!c)
			continue;
		c->report = rep;
		c->withdrawn = w->withdrawn;
		if (rep)
			c->other = rep->other;
	}
}

/* The yields the run made that the last run had not. Once the run's reports are all made:
 * the changes point at them. */
static void
note_yields(struct run *run)
{
	for (size_t i = 0; i < run->nwant; i++) {
		const struct want_route *w = &run->want[i];
		struct kh_route route = want_kh(run, w);
		const struct owned_route *was = owned_route(&run->r->scope, &route);
		const struct reconcile_report *rep = report_at(run, w->report);
		struct reconcile_route_change *c;

		if (!w->yield || (was && owned_yield(was)))
			continue;
		c = add_change(run, RECONCILE_ROUTE_YIELDED, want_dst(run, w),
		               rep ? rep->site : "");
		if (c && rep) {
			c->report = rep;
			c->other = rep->other;
		}
	}
}

/* The overlaps of the last run that are gone, before netd's routes take their places back:
 * a yield no longer wanted (the route in main gone, or no longer inside one of netd's), a
 * tunnel route no longer blocked (or no longer wanted at all). */
static void
note_overlaps_gone(struct run *run)
{
	const struct scope *s = &run->r->scope;
	struct reconcile_route_change *c;

	for (size_t i = 0; s->valid && s->table == run->d->table && i < s->nroutes; i++) {
		const struct owned_route *o = &s->routes[i];
		const struct kh_route route = owned_kh(s, o);
		const struct want_route *w = wanted_route(run, &route);
		const struct kh_route *other;

		/* What a read the run lacked does not tell is not taken as gone. */
		if (owned_yield(o) && run->main_read && !(w && w->yield))
			c = add_change(run, RECONCILE_ROUTE_RECLAIMED, &route.dst, o->via);
		else if (o->blocked && !owned_yield(o) && o->via[0] && run->routes_read &&
		         !(w && w->blocked && !w->yield))
			c = add_change(run, RECONCILE_ROUTE_UNBLOCKED, &route.dst, o->via);
		else
			continue;
		if (c && (other = owned_other(s, i)))
			c->other = *other;
	}
}

/* The fail-closed routes and the rule that makes the table count, first of all: they need no
 * device, and whatever the run removes or fails to build after them is then refused rather
 * than sent in clear. */
static void
add_failclosed(struct run *run)
{
	const struct mesh_desired *d = run->d;

	if (!run->routes_read)
		return;
	for (size_t i = 0; i < run->nwant; i++) {
		struct want_route *w = &run->want[i];
		size_t before = run->r->nreports;

		/* The fences, and the yields to main's more specific routes: those come first
		 * too, so a more specific route there never loses its traffic to a tunnel. */
		if (w->blocked || want_peer(run, w) != WANT_NO_PEER)
			continue;
		add_route(run, w);
		/* A fence's report says why it is not in; a yield's stays the overlap's. */
		if (!w->yield)
			w->report = want_report(report_since(run, before));
	}
	if (!run->rules_read)
		return;
	for (size_t i = 0; i < d->nrules; i++) {
		const struct kh_rule *w = &d->rules[i];
		struct reconcile_object object = rule_object(w);
		bool present = false;
		int err;

		for (size_t j = 0; j < run->nrules && !present; j++) {
			const struct kh_rule *k = &run->rules[j];

			present = k->protocol == w->protocol && k->family == w->family &&
			          k->priority == w->priority && k->table == w->table &&
			          !k->src.len && !k->dst.len && !k->fwmask;
		}
		if (present)
			continue;
		err = kh_rule_add(w);
		if (err != -EEXIST)
			kh_done(run, RECONCILE_OP_RULE_ADD, err, &object);
	}
}

/* A desired peer by its site's name. Ties go by position: a site's first peer is the one
 * that counts (its standby peer, for its next key, comes after it). */
struct site_peer {
	const char *site;
	size_t peer;
};

static int
site_peer_qcmp(const void *a, const void *b)
{
	const struct site_peer *x = a, *y = b;
	int c = strcmp(x->site, y->site);

	return c ? c : (x->peer > y->peer) - (x->peer < y->peer);
}

/* The desired peers sorted by site, when some are pending: a join that a stalled userspace
 * WireGuard left thousands of peers pending made a scan of every peer per VTEP quadratic.
 * NULL when nothing is pending, or without the memory (the lookups then scan). */
static struct site_peer *
index_pending(const struct run *run)
{
	const struct mesh_desired *d = run->d;
	struct site_peer *ix;

	if (!run->pending || !d->npeers || !(ix = calloc(d->npeers, sizeof(*ix))))
		return NULL;
	for (size_t i = 0; i < d->npeers; i++)
		ix[i] = (struct site_peer){d->peers[i].site, i};
	qsort(ix, d->npeers, sizeof(*ix), site_peer_qcmp);
	return ix;
}

static bool
peer_pending(const struct run *run, const struct site_peer *ix, const char *site)
{
	size_t lo = 0, hi = run->d->npeers;

	if (!run->pending)
		return false;
	if (!ix) {
		for (size_t i = 0; i < run->d->npeers; i++)
			if (!strcmp(run->d->peers[i].site, site))
				return run->pending[i];
		return false;
	}
	/* The first entry not before site: its first peer where it has one. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ix[mid].site, site) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < run->d->npeers && !strcmp(ix[lo].site, site) && run->pending[ix[lo].peer];
}

/* Appends the segment's VTEPs the device lacks: past a few, in one batch (a join brings
 * thousands), each counted and reported as a single append would be. */
static void
add_segment_fdb(struct run *run, const struct mesh_segment *s, const struct seg_run *sr,
                const struct site_peer *ix)
{
	struct kh_fdb *add = NULL;
	struct batch_outcome o = {0};
	size_t n = 0;

	for (size_t j = 0; j < s->nvteps; j++) {
		struct kh_fdb e = {.ifindex = sr->vxlan, .dst = s->vteps[j].addr};
		struct reconcile_object object = fdb_object(s->vxlan, &e.dst);

		if (find(&e.dst, sr->vteps, sr->nvteps, sizeof(*sr->vteps), addr_qcmp))
			continue;
		if (peer_pending(run, ix, s->vteps[j].site))
			continue;
		if (!add)
			add = calloc(s->nvteps, sizeof(*add));
		if (!add) {
			/* Without the memory for a batch, one request each still works. */
			kh_done(run, RECONCILE_OP_FDB_ADD, kh_fdb_append(&e), &object);
			continue;
		}
		add[n++] = e;
	}
	if (n > RECONCILE_BATCH_MIN) {
		o.err = calloc(n, sizeof(*o.err));
		o.why = calloc(n, sizeof(*o.why));
	}
	if (o.err && o.why) {
		kh_fdb_append_many(add, n, batch_done, &o);
		for (size_t j = 0; j < n; j++) {
			struct reconcile_object object = fdb_object(s->vxlan, &add[j].dst);

			done(run, RECONCILE_OP_FDB_ADD, 1, o.err[j], o.why[j], &object);
		}
	} else {
		for (size_t j = 0; j < n; j++) {
			struct reconcile_object object = fdb_object(s->vxlan, &add[j].dst);

			kh_done(run, RECONCILE_OP_FDB_ADD, kh_fdb_append(&add[j]), &object);
		}
	}
	batch_free(&o, n);
	free(add);
}

static void
add_fdb(struct run *run)
{
	const struct mesh_desired *d = run->d;
	struct site_peer *ix = index_pending(run);

	for (size_t i = 0; i < d->nsegments; i++)
		if (run->segs[i].usable && run->segs[i].fdb_read)
			add_segment_fdb(run, &d->segments[i], &run->segs[i], ix);
	free(ix);
}

/* --- the scope the next run and the events compare with --- */

/* The site a wanted route is kept under in the scope: its peer's, a yield's of the route it
 * lies in, else none. */
static const char *
want_via(const struct run *run, const struct want_route *w)
{
	const struct reconcile_report *rep = report_at(run, w->report);

	if (want_peer(run, w) != WANT_NO_PEER)
		return run->d->peers[want_peer(run, w)].site;
	if (w->yield && rep)
		return rep->site;
	return "";
}

static int
save_scope(struct run *run)
{
	const struct mesh_desired *d = run->d;
	struct scope s;

	memset(&s, 0, sizeof(s));
	s.valid = true;
	snprintf(s.wg, sizeof(s.wg), "%s", d->wg.name);
	s.wg_index = run->wg_link.ifindex;
	s.wg_mtu = d->wg.mtu;
	s.table = d->table;
	s.protocol = d->protocol;
	s.metric = d->metric;
	s.failclosed_metric = d->failclosed_metric;
	memcpy(s.addrs, d->wg.addrs, sizeof(s.addrs));
	s.naddrs = d->wg.naddrs;
	if (run->nwant) {
		size_t nothers = 0;

		for (size_t i = 0; i < run->nwant; i++)
			nothers += (run->want[i].yield || run->want[i].blocked) &&
			           report_at(run, run->want[i].report);
		s.routes = calloc(run->nwant, sizeof(*s.routes));
		s.others = nothers ? calloc(nothers, sizeof(*s.others)) : NULL;
		if (!s.routes || (nothers && !s.others))
			goto oom;
		for (size_t i = 0; i < run->nwant; i++) {
			const struct want_route *w = &run->want[i];
			const struct reconcile_report *rep = report_at(run, w->report);
			struct owned_route *o = &s.routes[i];

			o->dst = addr_prefix_pack(want_dst(run, w));
			o->type = w->type;
			o->mtu = want_mtu(run, w);
			o->blocked = w->blocked;
			o->installed = w->installed;
			o->withdrawn = w->withdrawn;
			if (rep && (w->yield || w->blocked))
				s.others[s.nothers++] = (struct owned_other){.route = (uint32_t)i,
				                                             .other = rep->other};
			o->via = want_via(run, w);
		}
		s.nroutes = run->nwant;
		s.names = names_own(s.routes, s.nroutes, sizeof(*s.routes),
		                    (const size_t[]){offsetof(struct owned_route, via)}, 1);
		if (!s.names)
			goto oom;
	}
	if (d->nsegments) {
		s.segs = calloc(d->nsegments, sizeof(*s.segs));
		if (!s.segs)
			goto oom;
	}
	for (size_t i = 0; i < d->nsegments; i++) {
		const struct mesh_segment *m = &d->segments[i];
		struct owned_segment *o = &s.segs[s.nsegs++];

		memcpy(o->vxlan, m->vxlan, IFNAMSIZ);
		memcpy(o->bridge, m->bridge, IFNAMSIZ);
		o->vxlan_index = run->segs[i].vxlan;
		o->bridge_index = run->segs[i].bridge;
		o->mtu = m->mtu;
		if (m->nports) {
			o->ports = malloc(m->nports * sizeof(*o->ports));
			if (!o->ports)
				goto oom;
			memcpy(o->ports, m->ports, m->nports * sizeof(*o->ports));
			o->nports = m->nports;
		}
		if (m->nvteps) {
			o->vteps = malloc(m->nvteps * sizeof(*o->vteps));
			if (!o->vteps)
				goto oom;
			for (size_t j = 0; j < m->nvteps; j++)
				o->vteps[j] = m->vteps[j].addr;
			o->nvteps = m->nvteps;
		}
	}
	scope_clear(&run->r->scope);
	run->r->scope = s;
	return 0;
oom:
	scope_clear(&s);
	return -ENOMEM;
}

static int
fence_qcmp(const void *a, const void *b)
{
	struct addr_prefix x = addr_prefix_unpack(&((const struct reconcile_fence *)a)->dst),
	                   y = addr_prefix_unpack(&((const struct reconcile_fence *)b)->dst);

	return addr_prefix_cmp(&x, &y);
}

static uint32_t
report_place(const struct run *run, size_t report)
{
	return report < run->r->nreports ? (uint32_t)report : RECONCILE_NO_REPORT;
}

static bool
fence_in_table(const struct run *run, const struct addr_prefix *dst)
{
	struct kh_route key = {.dst = *dst, .metric = run->d->failclosed_metric};
	const struct held_route *have =
	        find(&key, run->held, run->nheld, sizeof(*run->held), held_qcmp);

	return have && kh_route_type_rejects(have->type);
}

/* The table as read goes once the removals are made, before the device is read: at 10,000
 * sites with their fences it is 0.64 MB held (1.3 MB as listed), the device's read 2.2 MB,
 * and a run that held both with the wanted routes made the gateway's peak. What the additions need
 * of it was noted as the routes were planned; whether it held the fences, when the addresses were
 * not read (nothing was planned then), is noted here. */
static void
release_table(struct run *run)
{
	const struct mesh_desired *d = run->d;

	if (run->routes_read && !run->addrs_read && d->nfailclosed) {
		run->fences_held = calloc(d->nfailclosed, sizeof(*run->fences_held));
		if (!run->fences_held)
			run->oom = true;
		for (size_t i = 0; run->fences_held && i < d->nfailclosed; i++)
			run->fences_held[i] = fence_in_table(run, &d->failclosed[i]);
	}
	free(run->held);
	run->held = NULL;
	run->nheld = 0;
	free(run->others);
	run->others = NULL;
	run->nothers = 0;
	free(run->main_routes);
	run->main_routes = NULL;
	run->nmain_routes = 0;
}

/* Keeps what the run did with the fences for reconcile_fences: the planned ones, each in the
 * kernel unless blocked, failed or the table unread, and the parts left out. Unplanned (the
 * addresses unread: the run kept the table's as they were), desired's as the table was read. */
static void
save_fences(struct run *run)
{
	struct reconcile *r = run->r;
	const struct mesh_desired *d = run->d;
	size_t n = run->nleft + (run->addrs_read ? run->nwant : d->nfailclosed);

	if (n > r->capfences) {
		struct reconcile_fence *p = realloc(r->fences, n * sizeof(*p));

		if (!p) {
			run->oom = true;
			return;
		}
		r->fences = p;
		r->capfences = n;
	}
	for (size_t i = 0; run->addrs_read && i < run->nwant; i++) {
		const struct want_route *w = &run->want[i];
		struct reconcile_fence *f = &r->fences[r->nfences];

		if (want_peer(run, w) != WANT_NO_PEER || w->yield)
			continue;
		f->dst = addr_prefix_pack(want_dst(run, w));
		f->installed = w->installed;
		f->report = report_place(run, run->routes_read ? w->report : run->routes_unread);
		r->nfences++;
	}
	for (size_t i = 0; !run->addrs_read && i < d->nfailclosed; i++) {
		struct reconcile_fence *f = &r->fences[r->nfences++];

		f->dst = addr_prefix_pack(&d->failclosed[i]);
		f->installed = run->fences_held && run->fences_held[i];
		f->report = f->installed       ? RECONCILE_NO_REPORT
		            : run->routes_read ? report_place(run, run->addrs_unread)
		                               : report_place(run, run->routes_unread);
	}
	for (size_t i = 0; i < run->nleft; i++)
		r->fences[r->nfences++] =
		        (struct reconcile_fence){.dst = addr_prefix_pack(&run->left[i].dst),
		                                 .report = report_place(run, run->left[i].report)};
	if (r->nfences > 1)
		qsort(r->fences, r->nfences, sizeof(*r->fences), fence_qcmp);
}

static int
overlap_qcmp(const void *a, const void *b)
{
	const struct reconcile_overlap *x = a, *y = b;

	return addr_prefix_cmp(&x->report->other.dst, &y->report->other.dst);
}

/* Keeps the run's overlaps for reconcile_overlaps: the yields and the blocked tunnel routes,
 * by the other owner's prefix. */
static void
save_overlaps(struct run *run)
{
	struct reconcile *r = run->r;

	for (size_t i = 0; i < run->nwant; i++) {
		const struct want_route *w = &run->want[i];
		const struct reconcile_report *rep = report_at(run, w->report);
		struct reconcile_overlap *o;

		if (!rep ||
		    !(w->yield || (w->blocked && rep->kind == RECONCILE_REPORT_ROUTE_COLLISION)))
			continue;
		o = grow(run, r->overlaps, r->noverlaps, &r->capoverlaps, sizeof(*o));
		if (!o)
			return;
		r->overlaps = o;
		o = &r->overlaps[r->noverlaps++];
		o->report = rep;
		o->installed = w->yield && w->installed;
		o->action = w->yield       ? RECONCILE_OVERLAP_YIELDED
		            : w->withdrawn ? RECONCILE_OVERLAP_WITHDRAWN
		                           : RECONCILE_OVERLAP_NOT_INSTALLED;
	}
	if (r->noverlaps > 1)
		qsort(r->overlaps, r->noverlaps, sizeof(*r->overlaps), overlap_qcmp);
}

static void
run_free(struct run *run)
{
	free(run->links);
	free(run->held);
	free(run->others);
	free(run->main_routes);
	free(run->fences_held);
	free(run->rules);
	free(run->addrs);
	wgread_free(run->taken);
	wgread_free(run->dev);
	free(run->want);
	free(run->extra);
	free(run->left);
	free(run->pending);
	if (run->segs)
		for (size_t i = 0; i < run->d->nsegments; i++) {
			free(run->segs[i].vteps);
		}
	free(run->segs);
}

static void
begin(struct reconcile *r, struct run *run, const struct mesh_desired *d)
{
	memset(run, 0, sizeof(*run));
	run->r = r;
	run->d = d;
	run->routes_unread = run->addrs_unread = SIZE_MAX;
	run->taken = r->taken;
	r->taken = NULL;
	r->nreports = 0;
	r->nfences = 0;
	/* A run that programs every site's routes records a change per site, and a room kept
	 * at that size would stay for good; most runs change nothing. */
	free(r->changes);
	r->changes = NULL;
	r->nchanges = r->capchanges = 0;
	r->noverlaps = 0;
}

static int
finish(struct run *run, int64_t now, bool schedule)
{
	struct reconcile *r = run->r;

	r->stats.last_applied = run->applied;
	r->stats.last_failed = run->failed;
	r->unfinished = schedule && run->more && !run->failed && !run->oom;
	if (run->oom)
		return -ENOMEM;
	if (!run->failed) {
		r->backoff = 0;
		r->retry_at = schedule && run->starting ? now + RECONCILE_RETRY_START
		              : r->unfinished           ? now
		                                        : 0;
		return 0;
	}
	r->stats.failed_runs++;
	if (schedule) {
		r->backoff = r->backoff ? r->backoff * 2 : RECONCILE_RETRY_MIN;
		if (r->backoff > RECONCILE_RETRY_MAX)
			r->backoff = RECONCILE_RETRY_MAX;
		r->retry_at = now + (run->starting ? RECONCILE_RETRY_START : r->backoff);
	}
	return -EAGAIN;
}

/* Why the run about to start is a resync, if it is one: RECONCILE_RESYNC_COUNT when not. The
 * peers it leaves are compared with only once it has left them all. */
static enum reconcile_resync
take_resync(struct reconcile *r)
{
	enum reconcile_resync why = r->drift_noted  ? RECONCILE_RESYNC_DRIFT
	                            : r->resync_due ? RECONCILE_RESYNC_TIMER
	                                            : RECONCILE_RESYNC_COUNT;

	r->drift_noted = r->resync_due = false;
	drift_table_invalidate(&r->drift);
	return why;
}

/* A drift is a resync whatever the run did (the device may have been put back by hand
 * meanwhile); the slow timer's run only when it found something to change. */
static void
count_resync(struct reconcile *r, enum reconcile_resync why, uint64_t applied)
{
	if (why == RECONCILE_RESYNC_COUNT || (why == RECONCILE_RESYNC_TIMER && !applied))
		return;
	r->stats.resyncs++;
	r->stats.resyncs_by[why]++;
}

/* After the peers' delta: what the device now holds, when the run knows it. A failed change
 * is retried anyway, and a peer left for want of the routes' state is not netd's to judge.
 * A peer waiting for its handshake's start holds the keepalive it had, not the desired one:
 * either is right until a run starts it (and sets the table again). */
static void
note_peers_left(struct run *run)
{
	struct reconcile *r = run->r;

	if (!run->wg_ready || !run->routes_read || run->pending || run->oom)
		return;
	if (drift_table_set(&r->drift, run->d) < 0) {
		run->oom = true;
		return;
	}
	for (size_t i = 0; i < r->nheld; i++)
		drift_table_open_keepalive(&r->drift, r->held[i].key);
}

/* Wall time, for the run's own figures: the run's now may be a caller's clock. */
static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
reconcile_run(struct reconcile *r, const struct mesh_desired *d, int64_t now)
{
	struct run run;
	enum reconcile_resync why;
	int64_t t = wall_us();
	int err;

	begin(r, &run, d);
	run.now = now;
	r->stats.runs++;
	r->dirty = false;
	why = take_resync(r);
	err = read_links(&run);
	r->stats.last_read_us = wall_us() - t;
	if (err < 0)
		goto out;
	note_stale(&run);
	if (drop_stale(&run, false, false) < 0)
		goto out;
	if (d->nsegments) {
		run.segs = calloc(d->nsegments, sizeof(*run.segs));
		if (!run.segs) {
			run.oom = true;
			goto out;
		}
	}
	t = wall_us();
	read_routes(&run);
	read_main_routes(&run);
	read_addrs(&run);
	for (size_t i = 0; i < d->nsegments; i++) {
		const struct kh_link *vx = find_link(&run, d->segments[i].vxlan);

		if (vx && vxlan_shape_ok(vx, &d->segments[i])) {
			run.segs[i].vxlan = vx->ifindex;
			read_fdb(&run, i);
		}
	}
	r->stats.last_read_us += wall_us() - t;
	if (plan_routes(&run) < 0) {
		run.oom = true;
		goto out;
	}
	note_unrouted(&run);
	/* Fenced first; away what is not wanted, so nothing is left routed at a peer or device
	 * about to go; then the devices; then what goes through them. */
	add_failclosed(&run);
	remove_routes(&run);
	note_overlaps_gone(&run);
	remove_fdb(&run);
	release_table(&run);
	/* Read after the table went, and the routes of a device about to go with it. */
	t = wall_us();
	read_wg(&run);
	r->stats.last_read_us += wall_us() - t;
	ensure_wg(&run);
	if (run.wg_ready && run.wg_keyed)
		configure_peers(&run);
	else if (run.wg_ready)
		hold_peers(&run);
	/* Nothing after the peers looks at the device's read: at 10,000 peers it is 2.2 MB the
	 * rest of the run, the run's peak, need not carry. */
	wgread_free(run.dev);
	run.dev = NULL;
	note_peers_left(&run);
	for (size_t i = 0; i < d->nsegments; i++)
		ensure_segment(&run, i);
	add_routes(&run);
	if (drop_stale(&run, false, true) < 0)
		goto out;
	add_fdb(&run);
	note_blocked(&run);
	note_yields(&run);
	save_fences(&run);
	if (save_scope(&run) < 0)
		run.oom = true;
	goto saved;
out:
	release_table(&run);
	save_fences(&run);
saved:
	save_overlaps(&run);
	err = finish(&run, now, true);
	count_resync(r, why, run.applied);
	/* A handshake to look at again; one whose time came on a read made a while ago, soon,
	 * on a new read; none of it before the next run the unfinished one asked for at once.
	 * While starts wait for the pace, its runs, a second apart at most, look at the ones this
	 * side would not start again before they complete (a second's delay at worst). */
	for (size_t i = 0; i < r->ndue && !r->unfinished; i++) {
		int64_t at = r->due[i].at > now ? r->due[i].at : now + RECONCILE_RETRY_START;

		if (r->nheld && !r->due[i].retries)
			continue;
		if (!r->retry_at || at < r->retry_at)
			r->retry_at = at;
	}
	if (r->nheld && !run.failed && !r->unfinished &&
	    (!r->retry_at || pace_next(r, now) < r->retry_at))
		r->retry_at = pace_next(r, now);
	free(r->pending);
	r->pending = run.pending;
	r->pending_of = d->npeers;
	run.pending = NULL;
	run_free(&run);
	return err;
}

bool
reconcile_unfinished(const struct reconcile *r)
{
	return r->unfinished;
}

bool
reconcile_peer_pending(const struct reconcile *r, size_t i)
{
	return r->pending && i < r->pending_of && r->pending[i];
}

int
reconcile_teardown(struct reconcile *r, const struct mesh_desired *d)
{
	struct run run;
	bool changed = false;
	int err;

	begin(r, &run, d);
	drift_table_invalidate(&r->drift);
	if (read_links(&run) < 0)
		goto out;
	note_stale(&run);
	if (drop_stale(&run, true, false) < 0)
		goto out;
	flush_routes(&run, d->table, d->protocol);
	flush_rules(&run, d->table, d->protocol, NULL);
	/* The VXLAN devices go with their FDB entries; a bridge releases its ports. */
	for (size_t i = 0; i < d->nsegments; i++) {
		delete_link_of_kind(&run, d->segments[i].vxlan, "vxlan", &changed);
		delete_link_of_kind(&run, d->segments[i].bridge, "bridge", &changed);
	}
	delete_wg(&run, d->wg.name, &changed);
	if (!run.failed) {
		scope_clear(&r->scope);
		r->dirty = false;
	}
out:
	err = finish(&run, 0, false);
	run_free(&run);
	return err;
}

/* --- events --- */

enum link_role {
	ROLE_VXLAN,
	ROLE_BRIDGE,
	ROLE_PORT,
};

/* The segment a link belongs to by index or name, and what it is there. */
static const struct owned_segment *
scope_segment_of(const struct scope *s, const struct kh_link *l, enum link_role *role)
{
	for (size_t i = 0; i < s->nsegs; i++) {
		const struct owned_segment *o = &s->segs[i];

		if ((o->vxlan_index && o->vxlan_index == l->ifindex) ||
		    !strcmp(o->vxlan, l->name)) {
			*role = ROLE_VXLAN;
			return o;
		}
		if ((o->bridge_index && o->bridge_index == l->ifindex) ||
		    !strcmp(o->bridge, l->name)) {
			*role = ROLE_BRIDGE;
			return o;
		}
		for (size_t j = 0; j < o->nports; j++) {
			if (!strcmp(o->ports[j], l->name)) {
				*role = ROLE_PORT;
				return o;
			}
		}
	}
	return NULL;
}

/* Whether a link's new state differs from what the last run left. */
static bool
link_event_relevant(const struct scope *s, enum kh_event_type type, const struct kh_link *l)
{
	const struct owned_segment *o;
	bool up = l->flags & IFF_UP;
	enum link_role role;

	if ((s->wg_index && l->ifindex == s->wg_index) || !strcmp(l->name, s->wg)) {
		return type == KH_EV_LINK_DEL || l->ifindex != s->wg_index ||
		       strcmp(l->name, s->wg) != 0 || !up || (s->wg_mtu && l->mtu != s->wg_mtu);
	}
	o = scope_segment_of(s, l, &role);
	if (!o)
		return false;
	switch (role) {
	case ROLE_VXLAN:
		return type == KH_EV_LINK_DEL || l->ifindex != o->vxlan_index ||
		       strcmp(l->name, o->vxlan) != 0 || !up || l->master != o->bridge_index ||
		       (o->mtu && l->mtu != o->mtu);
	case ROLE_BRIDGE:
		return type == KH_EV_LINK_DEL || l->ifindex != o->bridge_index ||
		       strcmp(l->name, o->bridge) != 0 || !up;
	case ROLE_PORT:
		/* Only whether it is in the bridge is netd's. */
		return type != KH_EV_LINK_DEL && l->master != o->bridge_index;
	}
	return true;
}

/* The last run's fences, the parts left out for the subnets among them, cover the fail-closed
 * prefixes it was given: any device's subnet one of them covers, or covered, is carved anew. */
static bool
addr_event_relevant(const struct reconcile *r, enum kh_event_type type, const struct kh_ifaddr *a)
{
	const struct scope *s = &r->scope;
	struct addr_prefix subnet = addr_prefix_masked(&a->prefix);
	bool wanted = false;

	for (size_t i = 0; i < r->nfences; i++) {
		struct addr_prefix fence = addr_prefix_unpack(&r->fences[i].dst);

		if (addr_prefix_overlap(&fence, &subnet))
			return true;
	}
	if (!s->wg_index || a->ifindex != s->wg_index || is_link_local(&a->prefix))
		return false;
	for (size_t i = 0; i < s->naddrs && !wanted; i++)
		wanted = addr_prefix_equal(&s->addrs[i], &a->prefix);
	return type == KH_EV_ADDR_NEW ? !wanted : wanted;
}

/* A route of main matters when netd's table yields to it, or may now: its prefix is a yield's
 * or lies strictly inside a tunnel route or fence. */
static bool
main_route_relevant(const struct scope *s, const struct kh_route *rt)
{
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct owned_route *o = &s->routes[i];
		struct addr_prefix dst = addr_prefix_unpack(&o->dst);

		if (rt->protocol == s->protocol || rt->dst.addr.family != dst.addr.family)
			continue;
		if (owned_yield(o) ? addr_prefix_equal(&dst, &rt->dst)
		                   : rt->dst.len > dst.len && addr_prefix_contains(&dst, &rt->dst))
			return true;
	}
	return false;
}

static bool
route_event_relevant(const struct scope *s, enum kh_event_type type, const struct kh_route *rt)
{
	const struct owned_route *o;
	struct kh_route have;

	if (rt->table == CONF_TABLE_MAIN && s->table != CONF_TABLE_MAIN)
		return main_route_relevant(s, rt);
	if (rt->table != s->table)
		return false;
	if (rt->protocol != s->protocol) {
		/* Another owner's route: it matters when it may block or free one of netd's. */
		for (size_t i = 0; i < s->nroutes; i++) {
			have = owned_kh(s, &s->routes[i]);
			if (kh_route_overlap(&have, rt) != KH_OVERLAP_NONE)
				return true;
		}
		return false;
	}
	o = owned_route(s, rt);
	if (!o)
		return type == KH_EV_ROUTE_NEW;
	if (o->blocked)
		return type == KH_EV_ROUTE_NEW;
	have = owned_kh(s, o);
	return type == KH_EV_ROUTE_DEL || !route_matches(rt, &have);
}

/* netd's lookup rule removed: put back. Rules netd adds echo as new ones and change nothing;
 * other owners' rules do not concern it. */
static bool
rule_event_relevant(const struct scope *s, enum kh_event_type type, const struct kh_rule *rule)
{
	return type == KH_EV_RULE_DEL && s->table != CONF_TABLE_MAIN && rule->table == s->table &&
	       rule->protocol == s->protocol;
}

static bool
fdb_event_relevant(const struct scope *s, enum kh_event_type type, const struct kh_fdb *e)
{
	if (!is_our_fdb(e))
		return false;
	for (size_t i = 0; i < s->nsegs; i++) {
		const struct owned_segment *o = &s->segs[i];
		bool wanted;

		if (!o->vxlan_index || o->vxlan_index != e->ifindex)
			continue;
		wanted = find(&e->dst, o->vteps, o->nvteps, sizeof(*o->vteps), addr_qcmp) != NULL;
		return type == KH_EV_FDB_NEW ? !wanted : wanted;
	}
	return false;
}

bool
reconcile_note_device(struct reconcile *r, const struct wg_device *dev, struct drift *drift)
{
	if (r->drift_noted || !drift_compare(&r->drift, dev, drift))
		return false;
	for (size_t i = 0; i < DRIFT_KIND_COUNT; i++)
		r->stats.drifted[i] += drift->count[i];
	r->drift_noted = true;
	r->dirty = true;
	return true;
}

void
reconcile_note_resync(struct reconcile *r)
{
	r->resync_due = true;
}

void
reconcile_note_event(struct reconcile *r, const struct kh_event *ev)
{
	const struct scope *s = &r->scope;
	bool relevant = false;

	r->stats.events++;
	switch (ev->type) {
	case KH_EV_RESYNC:
		r->stats.resyncs++;
		r->stats.resyncs_by[RECONCILE_RESYNC_EVENTS_LOST]++;
		relevant = true;
		break;
	case KH_EV_LINK_NEW:
	case KH_EV_LINK_CHANGE:
	case KH_EV_LINK_DEL:
		relevant = !s->valid || link_event_relevant(s, ev->type, &ev->u.link);
		break;
	case KH_EV_ADDR_NEW:
	case KH_EV_ADDR_DEL:
		relevant = !s->valid || addr_event_relevant(r, ev->type, &ev->u.addr);
		break;
	case KH_EV_ROUTE_NEW:
	case KH_EV_ROUTE_DEL:
		relevant = !s->valid || route_event_relevant(s, ev->type, &ev->u.route);
		break;
	case KH_EV_FDB_NEW:
	case KH_EV_FDB_DEL:
		relevant = !s->valid || fdb_event_relevant(s, ev->type, &ev->u.fdb);
		break;
	case KH_EV_RULE_NEW:
	case KH_EV_RULE_DEL:
		relevant = !s->valid || rule_event_relevant(s, ev->type, &ev->u.rule);
		break;
	case KH_EV_NEIGH_NEW:
	case KH_EV_NEIGH_DEL:
		break;
	}
	if (relevant) {
		r->stats.relevant++;
		r->dirty = true;
	}
}
