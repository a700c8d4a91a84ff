/* TCP MSS clamping in nftables tables netd owns: "inet netd" for what is routed into the
 * tunnel, "bridge netd" for what is bridged into a segment. Each call replaces the tables'
 * whole content in one transaction; nothing else of the ruleset is read or touched. */
#ifndef KH_NFT_H
#define KH_NFT_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#define KH_NFT_TABLE "netd"

/* TCP SYNs leaving through oifname get their MSS option lowered (never raised) to mss, or
 * with mss 0 to what the route's MTU leaves ("rt mtu"). */
struct kh_nft_clamp {
	char oifname[IFNAMSIZ];
	uint16_t mss;
};

/* Makes the inet table clamp routed (mss 0: from the route) and the bridge table clamp
 * bridged (a fixed mss each); an empty list removes that table. Returns 0 or -errno. */
int kh_nft_clamp_set(const struct kh_nft_clamp *routed, size_t nrouted,
                     const struct kh_nft_clamp *bridged, size_t nbridged);

/* Removes both tables; tables already gone are fine. Returns 0 or -errno. */
int kh_nft_clamp_remove(void);

#endif
