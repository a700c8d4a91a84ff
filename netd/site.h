/* The running site: the gossip core on its UDP socket, the mesh computed from the config and
 * the membership view, and the reconciler that keeps the kernel at that desired state, kept
 * current by netlink events, timers and reloads. The daemon owns one; the status socket's
 * replies are built from its snapshot. */
#ifndef NETD_SITE_H
#define NETD_SITE_H

#include <stdint.h>

#include <ev.h>

#include "netd/conf.h"
#include "netd/ctl.h"

struct gossip;
struct gossip_trust;
struct mesh_desired;
struct pmtud;
struct path_table;
struct reconcile;
struct wg_device;

struct site;

/* The site as the status socket shows it, borrowed from the site: valid until the loop
 * runs again. */
struct site_snapshot {
	const struct conf *conf;
	const struct gossip_trust *trust;
	const struct gossip *gossip;
	uint64_t session; /* of the gossip instance, random per instance */
	uint64_t rx_oversize;
	const struct mesh_desired *desired; /* NULL until the first computation */
	const struct reconcile *reconcile;
	const struct wg_device *device; /* as last read, peers by key, without their allowed-ips;
	                                 * NULL: not read or unreadable */
	uint64_t wg_read_failures;
	const struct pmtud *pmtud;      /* the peers' path MTUs (pmtud_path) */
	const struct path_table *paths; /* direct or relayed, per remote site */
};

/* Locks and loads the state file, starts gossip on conf->gossip.bind, opens the netlink
 * monitor and schedules the first reconcile. conf and ctl are borrowed: conf until
 * site_reconfigure replaces it. Returns 0 and *out, or -1 after logging why. */
int site_new(struct ev_loop *loop, const struct conf *conf, struct ctl_server *ctl,
             struct site **out);

/* Applies a reloaded config as conf_changes sorts it: a new gossip socket when the bind
 * address changed (gossip stays on the current one, logged, when the new one cannot be
 * opened), a new gossip instance when identity, trust, timing, seeds or state file changed,
 * else a new version of the descriptor; the data plane as a difference. conf replaces the
 * one borrowed so far. Returns 0, or -1 (logged) when the new gossip instance cannot be
 * started: the site keeps the old config and instance. */
int site_reconfigure(struct site *s, const struct conf *conf);

/* Announces a graceful leave. The data plane stays. Returns how many seconds the loop
 * should keep running for the announcement to spread. */
double site_leave(struct site *s);

/* Removes everything netd owns from the kernel (and nothing else) and leaves gossip.
 * Returns 0, or -1 with the reports logged when something could not be removed. */
int site_teardown(struct site *s);

/* A federation document handed in by the operator (an encoded revocation or site
 * credential, cred.h): verified, taken, spread by gossip and kept in the state file; a
 * revocation takes the sites it covers out of the data plane at once. Returns 0, or -1 with
 * the reason in err. */
int site_publish_document(struct site *s, const uint8_t *bytes, size_t len, char *err,
                          size_t errlen);

/* Saves the view to the state file and frees everything; the kernel is left as it is. */
void site_free(struct site *s);

/* What the status socket shows of s, as it is now. */
void site_snapshot(const struct site *s, struct site_snapshot *out);

/* Without a running daemon: removes what the config's netd owns. 0 or -1 (logged). */
int site_teardown_offline(const struct conf *conf);

#endif
