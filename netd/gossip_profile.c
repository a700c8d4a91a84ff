/* The gossip timing profiles and their bounds. */
#include <stdio.h>

#include "netd/gossip_profile.h"

void
gossip_profile_lan(struct gossip_profile *p)
{
	*p = (struct gossip_profile){
	        .probe_interval_ms = 1000,
	        .probe_timeout_ms = 500,
	        .indirect_checks = 3,
	        .suspicion_mult = 3,
	        .suspicion_max_mult = 6,
	        .retransmit_mult = 4,
	        .gossip_interval_ms = 200,
	        .gossip_fanout = 4,
	        .sync_interval_ms = 15000,
	        .reconnect_interval_ms = 10000,
	        .join_backoff_min_ms = 1000,
	        .join_backoff_max_ms = 30000,
	        .awareness_max = 8,
	        .lifeguard = true,
	};
}

void
gossip_profile_wan(struct gossip_profile *p)
{
	*p = (struct gossip_profile){
	        .probe_interval_ms = 2000,
	        .probe_timeout_ms = 1000,
	        .indirect_checks = 3,
	        .suspicion_mult = 4,
	        .suspicion_max_mult = 6,
	        .retransmit_mult = 4,
	        .gossip_interval_ms = 400,
	        .gossip_fanout = 4,
	        .sync_interval_ms = 30000,
	        .reconnect_interval_ms = 15000,
	        .join_backoff_min_ms = 1000,
	        .join_backoff_max_ms = 30000,
	        .awareness_max = 8,
	        .lifeguard = true,
	};
}

int
gossip_profile_check(const struct gossip_profile *p, char *err, size_t errlen)
{
	const char *bad = NULL;

	if (p->probe_interval_ms < 10 || p->probe_interval_ms > 600000)
		bad = "probe interval must be 10..600000 ms";
	else if (p->probe_timeout_ms < 1 || p->probe_timeout_ms >= p->probe_interval_ms)
		bad = "probe timeout must be 1 ms .. less than the probe interval";
	else if (p->indirect_checks > 16)
		bad = "indirect checks must be 0..16";
	else if (p->suspicion_mult < 1 || p->suspicion_mult > 100)
		bad = "suspicion multiplier must be 1..100";
	else if (p->suspicion_max_mult < 1 || p->suspicion_max_mult > 100)
		bad = "suspicion max multiplier must be 1..100";
	else if (p->retransmit_mult < 1 || p->retransmit_mult > 100)
		bad = "retransmit multiplier must be 1..100";
	else if (p->gossip_interval_ms < 10 || p->gossip_interval_ms > 600000)
		bad = "gossip interval must be 10..600000 ms";
	else if (p->gossip_fanout < 1 || p->gossip_fanout > 16)
		bad = "gossip fanout must be 1..16";
	else if (p->sync_interval_ms < 100 || p->sync_interval_ms > 3600000)
		bad = "sync interval must be 100..3600000 ms";
	else if (p->reconnect_interval_ms < 100 || p->reconnect_interval_ms > 3600000)
		bad = "reconnect interval must be 100..3600000 ms";
	else if (p->join_backoff_min_ms < 10 || p->join_backoff_min_ms > p->join_backoff_max_ms ||
	         p->join_backoff_max_ms > 3600000)
		bad = "join backoff must be 10 ms <= min <= max <= 3600000 ms";
	else if (p->awareness_max < 1 || p->awareness_max > 32)
		bad = "awareness max must be 1..32";
	if (bad == NULL)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", bad);
	return -1;
}
