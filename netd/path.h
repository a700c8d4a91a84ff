/* The path to each remote site: its own tunnel, or a relay's when the direct path does not
 * work while the site is up (both behind NATs that cannot be punched through, UDP blocked
 * between the two, a partial partition). Pure: fed the sites as gossip and WireGuard see them
 * and the time, it says which sites go through which relay. Both ends of a pair decide alike
 * from what they both see, and pick the same relay, so that each sends the other's traffic the
 * way the other expects it. */
#ifndef NETD_PATH_H
#define NETD_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/addr.h"
#include "netd/wire.h"

#define PATH_USEC ((int64_t)1000000)
/* A tunnel that never handshook this long after its direct path was set up has failed; so
 * has one gossip cannot reach directly while nothing came back on it for PATH_RX_QUIET (the
 * device is read every second: a read that shows no new byte covers a second). */
#define PATH_DIRECT_WAIT (3 * PATH_USEC / 2)
#define PATH_RX_QUIET    (1 * PATH_USEC)

/* One remote site as it stands now. */
struct path_site {
	const char *name;
	bool live;                               /* alive or suspect */
	bool offers_relay;                       /* its descriptor says it relays */
	const char (*relays)[WIRE_NAME_MAX + 1]; /* the relays it accepts */
	size_t nrelays;
	const struct addr_endpoint *endpoint; /* where its tunnel is tried from here; NULL: none */
	/* Its own peer as WireGuard last showed it (has_wg false: not read): the latest
	 * handshake (monotonic microseconds, 0: never) and the bytes received. */
	bool has_wg;
	int64_t handshake_at;
	uint64_t rx_bytes, tx_bytes;
	/* Gossip's probes of it: last answered directly, last answered only through helpers. */
	int64_t direct_ok_at, direct_fail_at;
};

enum path_mode {
	PATH_DIRECT,
	PATH_RELAYED,
};

/* What the table holds of a site, for status. */
struct path_info {
	enum path_mode mode;
	const char *relay;  /* PATH_RELAYED: through which site */
	int64_t since;      /* monotonic: the direct attempt's start, or when it was relayed */
	const char *reason; /* why it is relayed, or why a failing direct path is not: NULL */
	uint64_t switches;  /* to and from relays */
};

struct path_table;

struct path_table *path_new(const char *self);
void path_free(struct path_table *p);

/* Takes the sites as they stand at now (monotonic) and unix_now_us (the time of day), both in
 * microseconds, with this site's
 * accepted relays. Returns how many sites changed path (0: the mesh need not be computed
 * again). Sites not listed are forgotten. -ENOMEM leaves the table as it was. */
int path_update(struct path_table *p, const struct path_site *sites, size_t n,
                const char (*relays)[WIRE_NAME_MAX + 1], size_t nrelays, int64_t now,
                int64_t unix_now_us);

/* The relay site traffic to name goes through, NULL: direct. */
const char *path_relay(const struct path_table *p, const char *name);
/* While name is relayed: the Unix time before which a session of its own peer is stale
 * (that peer is replaced, so that a handshake shows when the direct path works again);
 * 0: none. */
int64_t path_fresh_after(const struct path_table *p, const char *name);
/* 0 and *out, or -1 for a site not in the table. */
int path_get(const struct path_table *p, const char *name, struct path_info *out);
/* Whether the direct path to name should be probed soon: it sends and nothing comes back
 * for PATH_RX_QUIET. True once per PATH_DIRECT_WAIT at most; the time of the ask is kept. */
bool path_want_probe(struct path_table *p, const char *name, int64_t now);

/* When path_update should next be called even if nothing else changes; INT64_MAX: never. */
int64_t path_next_deadline(const struct path_table *p);

#endif
