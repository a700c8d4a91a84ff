/* The fake kernel's nftables: netd's tables are accepted and hold nothing, so that tests of
 * the layers above never touch the ruleset of the machine running them. */
#include "kernel-helpers/nft.h"

int
kh_nft_clamp_set(const struct kh_nft_clamp *routed, size_t nrouted,
                 const struct kh_nft_clamp *bridged, size_t nbridged)
{
	(void)routed;
	(void)nrouted;
	(void)bridged;
	(void)nbridged;
	return 0;
}

int
kh_nft_clamp_remove(void)
{
	return 0;
}
