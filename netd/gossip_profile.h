/* The gossip core's timing: the documented LAN and WAN profiles and the bounds any override
 * must keep. Plain data, shared by the config and the core. */
#ifndef NETD_GOSSIP_PROFILE_H
#define NETD_GOSSIP_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Timing and behaviour. gossip_profile_lan/_wan give the documented defaults
 * (PROTOCOL.md); any field may then be overridden and checked with gossip_profile_check. */
struct gossip_profile {
	uint32_t probe_interval_ms;  /* one probe per interval (scaled by local health) */
	uint32_t probe_timeout_ms;   /* direct ack wait before indirect probes */
	uint32_t indirect_checks;    /* k members asked to probe for us */
	uint32_t suspicion_mult;     /* min suspicion = mult * max(1, log10(n)) * interval */
	uint32_t suspicion_max_mult; /* max suspicion = this * min (Lifeguard) */
	uint32_t retransmit_mult;    /* each update sent ceil(mult*(log10(n+1)+1)) times */
	uint32_t gossip_interval_ms; /* a gossip round: pending updates to fanout members */
	uint32_t gossip_fanout;
	uint32_t sync_interval_ms;      /* anti-entropy with one random member */
	uint32_t reconnect_interval_ms; /* try one member held dead (heals partitions) */
	uint32_t join_backoff_min_ms;   /* seeds not in the alive view are retried ... */
	uint32_t join_backoff_max_ms;   /* ... with exponential backoff up to this, forever */
	uint32_t awareness_max;         /* Lifeguard: local health multiplier 1..max */
	bool lifeguard;                 /* false: plain SWIM, for comparison */
};

void gossip_profile_lan(struct gossip_profile *p);
void gossip_profile_wan(struct gossip_profile *p);
/* 0, or -1 with a message naming the offending field. */
int gossip_profile_check(const struct gossip_profile *p, char *err, size_t errlen);

#endif
