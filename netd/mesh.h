/* The mesh: everything netd wants the kernel to hold -- the WireGuard device and its peers,
 * routes, policy rules, VXLAN segments -- computed from the config and the membership view.
 * Pure: no I/O and no clock; the same inputs give the same output, in a sorted order. */
#ifndef NETD_MESH_H
#define NETD_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "kernel-helpers/kh.h"
#include "netd/conf.h"

#define MESH_NAME_SIZE   33 /* site and segment names: 1..32 characters */
#define MESH_MAX_OVERLAY CONF_MAX_OVERLAY
#define MESH_KEEPALIVE   25 /* seconds: keeps a NAT mapping open */
/* seconds: a relayed site's own peer asks for a handshake this often (WireGuard sends one at
 * most every 5 s), so that a direct path that works again shows within seconds */
#define MESH_RELAYED_KEEPALIVE       5
#define MESH_RELAYED_KEEPALIVE_OTHER 7 /* at the end with the higher public key */
#define MESH_WG_OVERHEAD             80 /* outer IPv6 (40) + UDP (8) + WireGuard (32): the worst case */
#define MESH_VXLAN_OVERHEAD          50 /* outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) */
#define MESH_VXLAN6_OVERHEAD         70                 /* the same over an IPv6 VTEP address */
#define MESH_MIN_WG_MTU              1280               /* what IPv6 inside the tunnel needs */
#define MESH_USEC                    ((int64_t)1000000) /* times are in microseconds */

/* Defaults of struct mesh_params (mesh_params_init). */
#define MESH_DEFAULT_UNDERLAY_MTU  1500
#define MESH_DEFAULT_DEAD_HOLD     (30 * MESH_USEC)
#define MESH_DEFAULT_RULE_PRIORITY 32000 /* just before main (32766): operators' rules first */
#define MESH_DEFAULT_ROUTE_METRIC  10
/* Worse than the tunnel routes, so that a fail-closed route only decides while they are gone. */
#define MESH_DEFAULT_FAILCLOSED_METRIC 65535

/* A site's membership as the gossip view has it. */
enum mesh_state {
	MESH_ALIVE,
	MESH_SUSPECT, /* not gone: keeps its peer, routes and segments */
	MESH_DEAD,    /* keeps them for the dead hold after died_at, then withdrawn */
	MESH_LEFT,    /* said goodbye (a stop or restart): kept like dead for the hold */
};

/* One remote site of the view. Everything is borrowed for the duration of mesh_compute. */
struct mesh_site {
	const char *name;
	const uint8_t *public_key; /* KEY_LEN bytes */
	struct addr endpoint;      /* its WireGuard underlay address; AF_UNSPEC: not known */
	uint16_t endpoint_port;
	bool behind_nat;
	uint8_t noverlay;                   /* at most MESH_MAX_OVERLAY */
	const struct addr_prefix *overlay;  /* VTEP addresses, full length */
	const struct addr_prefix *prefixes; /* what it advertises */
	const uint32_t *vnis;               /* segments it joined */
	uint16_t nprefixes;
	uint16_t nvnis;
	enum mesh_state state;
	int64_t died_at; /* MESH_DEAD, MESH_LEFT: since when (monotonic, microseconds) */
	/* The key it announced it moves to (NULL: none): a peer with it and no allowed IPs
	 * stands ready, so that its first handshake with the new key finds one. */
	const uint8_t *next_key;
	/* The largest inner packet the tunnel to it carries, as path MTU discovery proved it;
	 * 0: not known, the tunnel's MTU is assumed. */
	uint32_t path_mtu;
	/* The path MTU the site found towards this one (its probes' acks say it); 0: not known.
	 * A segment's frames go both ways. */
	uint32_t return_path_mtu;
	/* Its direct path fails: the site of the view whose peer carries its addresses (NULL:
	 * direct), and the Unix time before which a session of its own peer is stale. */
	const char *relay_via;
	int64_t fresh_after;
};
/* A run hands the mesh one for every site of the view, alive through the computation, which
 * is the gateway's peak: at 10,000 sites 1.1 MB, with the key and the overlay borrowed like
 * the lists (1.8 MB with them copied). */
_Static_assert(sizeof(struct mesh_site) <= 112, "a view's site grew");

/* What the view does not say and the daemon knows. */
struct mesh_params {
	uint32_t underlay_mtu; /* MTU of the path the tunnels take */
	int64_t dead_hold;     /* microseconds a dead site keeps its peer and routes */
	bool behind_nat;       /* this site is behind NAT */
	uint32_t rule_priority;
	uint32_t route_metric;
	uint32_t failclosed_metric;
};

void mesh_params_init(struct mesh_params *params);

enum mesh_report_kind {
	MESH_REPORT_INVALID,        /* a malformed address or prefix, a duplicate site */
	MESH_REPORT_OVERLAY_DENIED, /* an overlay address in someone else's space */
	MESH_REPORT_PREFIX_DENIED,  /* a credential's prefix in this site's or a trust entry's */
	MESH_REPORT_CONFLICT,       /* another site claims the same prefix and keeps it */
	MESH_REPORT_LOOP,           /* a prefix holding a tunnel endpoint */
	MESH_REPORT_SEGMENT,        /* a member a segment cannot reach */
	MESH_REPORT_MTU,            /* an MTU too small for what it must carry */
};

/* Something the desired state leaves out, and why: for the status socket. */
struct mesh_report {
	enum mesh_report_kind kind;
	char site[MESH_NAME_SIZE]; /* the site it is about; "" for this site */
	char text[192];            /* the whole sentence, naming the object */
};

const char *mesh_report_kind_name(enum mesh_report_kind kind);

struct mesh_peer {
	const char *site; /* in the desired state's names */
	uint8_t public_key[KEY_LEN];
	/* The site is behind NAT: its advertised endpoint is only where to start, and the one
	 * WireGuard learns from its packets is not to be overwritten. */
	bool endpoint_roams;
	bool standby; /* a site's announced next key: no allowed IPs until it switches */
	/* This end starts a handshake that did not complete once more (reconcile): the one
	 * behind NAT when the other is not (the other cannot reach it first), else the one with
	 * the lower public key, so that the two ends' second tries do not cross. */
	bool retries_handshake;
	uint16_t endpoint_port;
	uint16_t keepalive;   /* seconds, 0: off */
	struct addr endpoint; /* AF_UNSPEC: none, the site reaches us */
	enum mesh_state state;
	uint32_t path_mtu; /* the site's path_mtu when below the tunnel's MTU, else that MTU */
	uint32_t return_path_mtu; /* the site's; 0: not known */
	/* Overlay addresses, then allowed prefixes; sorted. In the desired state's allowed. */
	struct addr_prefix *allowed;
	size_t nallowed;
	/* Relayed (another site's peer carries this one's addresses; it has none of its own): a
	 * session of this peer older than fresh_after (Unix seconds) is dropped, the peer
	 * replaced, so that its next handshake is news. */
	int64_t fresh_after;
};
/* One a peer of the desired state, kept between runs: no holes between the fields. */
_Static_assert(sizeof(struct mesh_peer) <= 104, "a desired peer grew");

/* A route to a remote prefix through the WireGuard device: one of a peer's allowed-ips, the
 * prefix and MTU read through mesh_route_dst() and mesh_route_mtu(). */
struct mesh_route {
	uint32_t allowed; /* index into the desired state's allowed: the prefix */
	uint32_t peer;    /* index into peers */
};
/* One a remote prefix, kept between runs: 40 bytes with the prefix, the MTU and a size_t
 * index. */
_Static_assert(sizeof(struct mesh_route) <= 8, "a desired route grew");

/* The all-zero FDB entry towards one remote VTEP of a segment. */
struct mesh_vtep {
	struct addr addr;
	const char *site; /* its peer's */
};
/* One a site in each of its segments: no holes between the fields. */
_Static_assert(sizeof(struct mesh_vtep) <= 32, "a VTEP grew");

struct mesh_segment {
	char name[MESH_NAME_SIZE];
	uint32_t vni;
	char vxlan[IFNAMSIZ]; /* "vxlan" and the VNI */
	char bridge[IFNAMSIZ];
	struct addr local; /* this site's overlay address: IPv4 if it has one */
	uint16_t port;
	/* Of the VXLAN device, and of the bridge when created: the smallest path MTU to or from
	 * its members (the tunnel's MTU when none is smaller) less the VXLAN overhead. */
	uint32_t mtu;
	char (*ports)[IFNAMSIZ]; /* local interfaces enslaved to the bridge, as configured */
	size_t nports;
	struct mesh_vtep *vteps; /* sorted by address */
	size_t nvteps;
};

/* The whole desired state. Owned by the caller of mesh_compute; mesh_desired_free. */
struct mesh_desired {
	struct {
		char name[IFNAMSIZ];
		enum conf_backend backend;
		char *userspace_command;
		uint8_t *private_key; /* KEY_LEN bytes, key_secret_new */
		uint8_t public_key[KEY_LEN];
		uint16_t listen_port;
		uint32_t fwmark;
		uint32_t mtu;
		struct addr_prefix addrs[MESH_MAX_OVERLAY]; /* this site's overlay, full length */
		size_t naddrs;
	} wg;
	struct mesh_peer *peers; /* sorted by site name */
	size_t npeers;
	char *names;                 /* the peers' site names, one after the other */
	struct addr_prefix *allowed; /* the peers' allowed-ips, each peer's one run of them */
	uint32_t table;
	uint8_t protocol;
	uint32_t metric;
	struct mesh_route *routes; /* sorted by prefix */
	size_t nroutes;
	/* Fail closed: an unreachable route at failclosed_metric in the table for each of these,
	 * so that traffic to a trusted site is refused, never sent in clear along a later
	 * table's route (main's default), whenever its tunnel route is missing: the site not
	 * seen yet or forgotten, withdrawn, its tunnel device gone, netd stopped. They are every
	 * prefix and overlay grant of every trust entry (the config keeps both off this site's
	 * own prefixes and overlay), less the tunnel endpoints of the view and the gossip seeds
	 * in them (the tunnels and gossip themselves). Sorted, no duplicates. */
	struct addr_prefix *failclosed;
	size_t nfailclosed;
	uint32_t failclosed_metric;
	/* "lookup table" for each family the config routes, unless the table is main. */
	struct kh_rule rules[2];
	size_t nrules;
	struct mesh_segment *segments; /* sorted by VNI */
	size_t nsegments;
	struct mesh_report *reports; /* sites by name, then loops, conflicts, segments */
	size_t nreports;
};

static inline const struct addr_prefix *
mesh_route_dst(const struct mesh_desired *d, const struct mesh_route *r)
{
	return &d->allowed[r->allowed];
}

/* The route's MTU: its peer's path MTU when below the tunnel's, else 0 (the device's). Below
 * the device's MTU a route's MTU makes the gateway refuse (ICMP "fragmentation needed") what
 * the path would silently lose. */
static inline uint32_t
mesh_route_mtu(const struct mesh_desired *d, const struct mesh_route *r)
{
	uint32_t mtu = d->peers[r->peer].path_mtu;

	return mtu < d->wg.mtu ? mtu : 0;
}

/* A peer's path_mtu from its site's (0: not proven): that when below the tunnel's MTU, else
 * the tunnel's. */
static inline uint32_t
mesh_peer_path_mtu(const struct mesh_desired *d, uint32_t site_path_mtu)
{
	return site_path_mtu && (!d->wg.mtu || site_path_mtu < d->wg.mtu) ? site_path_mtu
	                                                                  : d->wg.mtu;
}

/* The desired peer of site name (not a standby peer), or NULL. */
const struct mesh_peer *mesh_desired_peer(const struct mesh_desired *d, const char *name);

/* Computes the desired state of conf with the remote sites of the view at time now
 * (monotonic, microseconds). The view may hold this site too (ignored by name). Returns 0 and
 * *out, or -ENOMEM. */
int mesh_compute(const struct conf *conf, const struct mesh_site *sites, size_t nsites,
                 const struct mesh_params *params, int64_t now, struct mesh_desired **out);

/* NULL is a no-op; the private key is wiped. */
void mesh_desired_free(struct mesh_desired *desired);

/* Prefixes carved by mesh_prefix_carve; the caller frees items. */
struct mesh_carved {
	struct addr_prefix *items;
	size_t n, cap;
};

/* Sorts prefixes and drops those lying in another, so no two overlap; returns how many are
 * left. */
size_t mesh_prefixes_disjoint(struct addr_prefix *prefixes, size_t n);

/* Appends to out the parts of p outside every hole, as few prefixes as halving p around the
 * holes gives (none when a hole holds p). holes come from mesh_prefixes_disjoint. Returns 0
 * or -ENOMEM. Pure. */
int mesh_prefix_carve(const struct addr_prefix *p, const struct addr_prefix *holes, size_t nholes,
                      struct mesh_carved *out);

const char *mesh_state_name(enum mesh_state state);

#endif
