/* The membership view at its edges: from the config, what this site says of itself (its
 * descriptor) and whom it admits (the trust table); towards the mesh, the members as sites
 * with what their trust entries grant; and the live members that a state file or a new gossip
 * instance carries over. Plain data in and out: no loop, no socket, no clock. */
#ifndef NETD_VIEW_H
#define NETD_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/conf.h"
#include "netd/gossip.h"
#include "netd/mesh.h"

/* The address other sites reach this one at: gossip.advertise with the bind port, else the
 * bind address unless it is a wildcard. false: the config names none. */
bool view_public_address(const struct conf *conf, struct addr_endpoint *out);

/* This site's descriptor as the config describes it; gossip numbers and signs it. */
void view_descriptor(const struct conf *conf, struct wire_desc *out);

/* The trust table of the config's trust entries, freed with gossip_trust_free(); NULL when
 * memory ran out. */
struct gossip_trust *view_trust(const struct conf *conf);

/* The verified descriptors of the alive and suspect members of g, whose trust table is t: a
 * new array of *n (free() it), or NULL when memory ran out. */
struct wire_desc *view_live_members(const struct gossip *g, const struct gossip_trust *t,
                                    size_t *n);

/* Remembered members taken into g, each only if its signature verifies under the key the
 * trust table names; what its trust entry does not grant is refused as it is when received.
 * Logs how many were taken. */
void view_adopt_members(struct gossip *g, const struct wire_desc *descs, size_t n, gossip_time now);

/* The members g has a descriptor of, as the mesh takes them, written to sites (room for
 * gossip_trust_count(t)); they borrow from g until it next changes. A dead or departed site
 * keeps its place for dead_hold microseconds: *hold_end is when the first such hold after now
 * ends, 0 if none. Returns how many sites were written. */
size_t view_mesh_sites(const struct gossip *g, const struct gossip_trust *t, int64_t dead_hold,
                       int64_t now, struct mesh_site *sites, int64_t *hold_end);

#endif
