/* Work repeated at a pace set by its own cost: the WireGuard device's reads (drift.h) and the
 * state file's saves (state.h) both take a growing share of the time as the view grows, and
 * both are done at most so often that they take a bounded share of it. */
#ifndef NETD_PACE_H
#define NETD_PACE_H

#include <stdint.h>

/* Microseconds until work that took cost microseconds is done again: period, or mult times
 * cost where that is longer (the work then takes at most 1/mult of the time), and never
 * more than latest. */
static inline int64_t
pace_by_cost(int64_t cost, int64_t period, int64_t mult, int64_t latest)
{
	/* Compared before multiplying: a cost near INT64_MAX would overflow. */
	if (cost >= latest / mult)
		return latest;
	return cost * mult > period ? cost * mult : period;
}

#endif
