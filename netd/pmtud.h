/* Path MTU discovery on the event loop: one UDP socket on this site's IPv4 overlay address,
 * bound to the tunnel device, that sends every peer's probes (DF set) and answers the peers'
 * probes with an acknowledgement, and a timer for the searches' deadlines. The search itself is
 * pmtu.h's. Peers without an IPv4 overlay address keep the tunnel's MTU, assumed. */
#ifndef NETD_PMTUD_H
#define NETD_PMTUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "netd/addr.h"
#include "netd/pmtu.h"

#define PMTUD_PORT 7947 /* UDP, on the overlay addresses: the probes and their acks */

/* Told when a peer's path MTU, how it was learnt, or the MTU of its path back (what its
 * acks say its own discovery found) changes. */
typedef void (*pmtud_changed_fn)(void *arg, const char *site, uint32_t old_mtu,
                                 const struct pmtu *path, uint32_t return_mtu);

/* A peer to probe. */
struct pmtud_target {
	const char *site;
	struct addr overlay; /* IPv4 */
};

struct pmtud;

/* Nothing is bound until pmtud_set_peers names the device. Returns 0 and *out, or
 * -ENOMEM. */
int pmtud_new(struct ev_loop *loop, pmtud_changed_fn changed, void *arg, struct pmtud **out);

/* The peers to probe through the tunnel device ifname from local (this site's IPv4 overlay
 * address, PMTUD_PORT), with the tunnel's MTU, at now: new peers start a search, peers gone
 * are forgotten, a new MTU restarts every search. The socket follows local and the device
 * (made again: a new socket); while there is none (no device, no IPv4 overlay) nothing is
 * probed and the MTUs stay assumed. Returns 0 or -ENOMEM (the peers kept). */
int pmtud_set_peers(struct pmtud *d, const struct addr *local, const char *ifname,
                    const struct pmtud_target *targets, size_t n, uint32_t tunnel_mtu, int64_t now);

/* A peer's path, NULL when it is not probed. */
const struct pmtu *pmtud_path(const struct pmtud *d, const char *site);

/* The path MTU from the peer to this site as the peer's acks say; 0: not known. */
uint32_t pmtud_return_mtu(const struct pmtud *d, const char *site);

/* Datagrams refused: malformed, or acks nobody waits for. */
uint64_t pmtud_refused(const struct pmtud *d);

/* NULL is a no-op. */
void pmtud_close(struct pmtud *d);

#endif
