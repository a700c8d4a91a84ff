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
#include "netd/path.h"
#include "netd/seen.h"
#include "netd/state.h"

/* The address other sites reach this one at: gossip.advertise with the bind port, else the
 * bind address unless it is a wildcard. false: the config names none. */
bool view_public_address(const struct conf *conf, struct addr_endpoint *out);

/* This site's descriptor as the config describes it; gossip numbers and signs it. */
void view_descriptor(const struct conf *conf, struct wire_desc *out);

/* The trust table of the config's trust entries, freed with gossip_trust_free(); NULL when
 * memory ran out. */
struct gossip_trust *view_trust(const struct conf *conf);

/* This site's own credentials, encoded: the current one and the one for its next key (a
 * length of 0: none). */
struct view_credentials {
	uint8_t current[CRED_ENCODED_MAX];
	size_t current_len;
	uint8_t next[CRED_ENCODED_MAX];
	size_t next_len;
};

/* The federation the config names, if any: its authority set and this site's credentials. */
bool view_federation(const struct conf *conf, struct cred_authorities *set,
                     struct view_credentials *own);

/* What a restart or a new gossip instance carries over of g: the verified descriptors of its
 * alive and suspect members, the credentials that admit those admitted by one, and the
 * revocations g holds, into st (state_clear it; its incarnation is left alone). 0, or -1 when
 * memory ran out. */
int view_carry(const struct gossip *g, struct state *st);

/* What st carries taken into g: the revocations, then the credentials, then each member whose
 * signature verifies under the key its trust entry or credential names; what that does not
 * grant is refused as it is when received. Logs how many were taken. */
void view_adopt(struct gossip *g, const struct state *st, gossip_time now);

/* Where a member's prefixes and VNIs go once the local policy has narrowed them: one per mesh
 * site, which points into it. */
struct view_room {
	struct addr_prefix prefixes[WIRE_MAX_PREFIXES];
	uint32_t vnis[WIRE_MAX_VNIS];
};

/* The member's credential decoded into c; false for a member admitted by a trust entry. */
bool view_member_cred(const struct gossip_member_info *mi, struct cred *c);

/* The members g has a descriptor of, as the mesh takes them: what their trust entries or
 * credentials grant, less what the local policy refuses (policy_site: no place at all;
 * policy_narrow: prefixes; policy_segment: VNIs). Written to sites, with rooms for their
 * narrowed lists (room for gossip_member_count(g) of each); a list the policy leaves whole is
 * the descriptor's own and its room is not written. They borrow from g and rooms until
 * either changes. A dead or departed site keeps its place for dead_hold microseconds:
 * *hold_end is when the first such hold after now ends, 0 if none. Returns how many sites
 * were written. */
size_t view_mesh_sites(const struct gossip *g, const struct conf_policy *policy, int64_t dead_hold,
                       int64_t now, struct mesh_site *sites, struct view_room *rooms,
                       int64_t *hold_end);

/* Where WireGuard sees each member's handshakes come from, told to gossip
 * (gossip_member_wg_seen), so that a member behind NAT learns its public endpoint: dev is the
 * device's last read, as kept (seen_device_new). */
void view_feed_wg(struct gossip *g, const struct seen_device *dev, int64_t now);

/* The members g has a descriptor of, as the path table takes them, with their peers' figures
 * from dev (NULL: not read); now is monotonic, unix_now_us the time of day, both in
 * microseconds. They borrow from g
 * until it changes. out has room for gossip_member_count(g). Returns how many. */
size_t view_path_sites(const struct gossip *g, const struct seen_device *dev, int64_t now,
                       int64_t unix_now_us, struct path_site *out);

#endif
