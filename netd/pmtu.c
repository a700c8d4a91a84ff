/* Path MTU discovery for one peer: the search and its timers, and the probe datagrams. */
#include "netd/pmtu.h"

#include <stdint.h>
#include <string.h>

#define PMTU_WIRE_VERSION 1

/* How long a probe's ack is waited for on this path. */
static int64_t
probe_wait(const struct pmtu *p)
{
	return PMTU_PROBE_WAIT << p->slow;
}

static uint32_t
base_size(const struct pmtu *p)
{
	return p->max < PMTU_MIN ? p->max : PMTU_MIN;
}

/* A new size to try: its losses start from zero, and only acks of the probes from now on
 * prove it. */
static void
try_size(struct pmtu *p, uint32_t size, int64_t at)
{
	p->size = (uint16_t)size;
	p->losses = 0;
	p->check = false;
	p->check_losses = 0;
	p->first_id = p->next_id;
	p->inflight = false;
	p->next_at = at;
}

static void
restart(struct pmtu *p, int64_t now)
{
	p->phase = PMTU_BASE;
	p->lo = 0;
	p->hi = (uint16_t)p->max;
	try_size(p, base_size(p), now);
}

/* An IPv4 packet's size fits 16 bits, and so do the sizes probed. */
static uint32_t
fit_max(uint32_t max)
{
	return max < UINT16_MAX ? max : UINT16_MAX;
}

void
pmtu_init(struct pmtu *p, uint32_t max, uint32_t id_seed, int64_t now)
{
	memset(p, 0, sizeof(*p));
	max = fit_max(max);
	p->max = max;
	p->mtu = max;
	p->next_id = id_seed;
	restart(p, now);
}

void
pmtu_set_max(struct pmtu *p, uint32_t max, int64_t now)
{
	max = fit_max(max);
	if (max == p->max)
		return;
	p->max = max;
	p->mtu = max;
	p->probed = false;
	p->raise_at = 0;
	restart(p, now);
}

static void
finish(struct pmtu *p, uint32_t mtu, int64_t now)
{
	p->phase = PMTU_DONE;
	p->mtu = mtu;
	p->probed = true;
	p->raise_at = mtu < p->max ? now + PMTU_RAISE : 0;
	/* Confirmed at once: that probe tells the peer what this side found (return_mtu). */
	try_size(p, mtu, now);
}

/* The next size of a search: the top first (most paths carry the whole tunnel MTU), then
 * halving the range between what crossed and what did not. */
static void
search_next(struct pmtu *p, int64_t now)
{
	if (p->lo >= p->hi)
		finish(p, p->lo, now);
	else
		try_size(p, p->top_tried ? p->lo + (p->hi - p->lo + 1) / 2 : p->hi, now);
}

/* Not even the smallest probe crosses: the peer is gone or does not answer probes. What
 * routes carry stays as it was: an outage is no MTU. When the base crosses again, a proven
 * MTU is tried first (a bigger one waits for the raise): a search from the top after every
 * outage would expose each size to loss again. */
static void
silent(struct pmtu *p, int64_t now)
{
	int64_t wait = p->silent_wait ? 2 * (int64_t)p->silent_wait : PMTU_SILENT_FIRST;

	p->phase = PMTU_SILENT;
	p->hi = (uint16_t)(p->probed ? p->mtu : p->max);
	p->silent_wait = (uint32_t)(wait < PMTU_UNANSWERED ? wait : PMTU_UNANSWERED);
	try_size(p, base_size(p), now + p->silent_wait);
}

/* PMTU_MAX_PROBES losses of p->size in a row (above the base size, each with its check
 * crossing). */
static void
too_big(struct pmtu *p, int64_t now)
{
	switch ((enum pmtu_phase)p->phase) {
	case PMTU_BASE:
	case PMTU_SILENT:
		silent(p, now);
		break;
	case PMTU_SEARCH:
		p->top_tried = true;
		p->hi = (uint16_t)(p->size - 1);
		/* A path proven before no longer carries its MTU, lost again after a base probe
		 * crossed: the routes take the largest size that crossed at once. */
		if (p->probed && p->mtu > p->hi)
			p->mtu = p->lo;
		search_next(p, now);
		break;
	case PMTU_DONE:
		/* The MTU that crossed no longer does: the path may have shrunk, or the
		 * confirmations met loss. A base probe that crosses now tells either from an
		 * outage, then the old MTU is tried again before the routes give it up. */
		restart(p, now);
		p->hi = (uint16_t)p->mtu;
		break;
	}
}

/* The probe in flight got no ack within its wait. A base probe's loss counts at once. A
 * bigger one's is checked first: the next probe is a base probe, and only when that crosses
 * does the loss count against the size, as loss that has nothing to do with size (a congested
 * link, a loaded peer) takes the small probes too. A lost check voids the size's losses so far,
 * and checks lost in a row are an outage. */
static void
lost(struct pmtu *p, int64_t now)
{
	if (p->check) {
		p->losses = 0;
		if (++p->check_losses >= PMTU_MAX_PROBES)
			silent(p, now);
	} else if (p->size > base_size(p)) {
		p->check = true;
	} else if (++p->losses >= PMTU_MAX_PROBES) {
		too_big(p, now);
	}
}

/* The check crossed: the probe of size before it was lost to its size, unless checks were
 * lost in between (the loss came with theirs): then size is simply probed again. */
static void
check_crossed(struct pmtu *p, int64_t now)
{
	bool counts = p->check_losses == 0;

	p->check = false;
	p->check_losses = 0;
	p->silent_wait = 0;
	if (counts && ++p->losses >= PMTU_MAX_PROBES)
		too_big(p, now);
	else
		p->next_at = now;
}

bool
pmtu_poll(struct pmtu *p, int64_t now, struct pmtu_probe *out)
{
	if (now < p->next_at)
		return false;
	if (p->inflight) {
		p->inflight = false;
		lost(p, now);
		if (now < p->next_at)
			return false;
	}
	if (p->phase == PMTU_DONE && p->raise_at && now >= p->raise_at) {
		p->phase = PMTU_SEARCH;
		p->lo = (uint16_t)p->mtu;
		p->hi = (uint16_t)p->max;
		p->top_tried = false;
		p->raise_at = 0;
		search_next(p, now);
	}
	p->id = p->next_id++;
	p->inflight = true;
	p->next_at = now + probe_wait(p);
	p->sent++;
	out->id = p->id;
	out->size = p->check ? base_size(p) : p->size;
	return true;
}

bool
pmtu_ack(struct pmtu *p, int64_t now, uint32_t id, uint32_t size)
{
	if (!p->inflight)
		return false;
	if (p->check && size == base_size(p) && id == p->id) {
		p->inflight = false;
		p->acked++;
		check_crossed(p, now);
		return true;
	}
	/* The probes of this size since it was chosen carry ids p->first_id .. p->id (checks
	 * among them): an ack of one counted lost that comes back late (a loaded gateway, a
	 * queue in the tunnel) proves the size as well as the last one's would. */
	if (size != p->size || id - p->first_id > p->id - p->first_id)
		return false;
	/* The path's acks are slower than the wait: a lost probe would be a late one. Fast
	 * again (the one in flight sent at next_at less the wait): back towards 1 s. */
	if (id != p->id && p->slow < PMTU_SLOW_MAX)
		p->slow++;
	else if (id == p->id && p->slow > 0 &&
	         4 * (now - (p->next_at - probe_wait(p))) < probe_wait(p))
		p->slow--;
	p->inflight = false;
	p->acked++;
	p->silent_wait = 0;
	switch ((enum pmtu_phase)p->phase) {
	case PMTU_BASE:
	case PMTU_SILENT:
		p->phase = PMTU_SEARCH;
		p->top_tried = false;
		/* fall through */
	case PMTU_SEARCH:
		p->lo = (uint16_t)size;
		/* Once its old MTU was lost again, a path proven before carries what crosses
		 * now at once, up from the base size it dropped to; a first search keeps the
		 * assumed MTU until it ends, so routes change once, and so does a search after
		 * an outage that finds the old MTU again: nothing below it is taken on the way. */
		if (p->probed && p->top_tried && size > p->mtu)
			p->mtu = size;
		if (size == p->hi)
			p->top_tried = true;
		search_next(p, now);
		break;
	case PMTU_DONE:
		try_size(p, p->mtu, now + PMTU_CONFIRM);
		break;
	}
	return true;
}

int64_t
pmtu_deadline(const struct pmtu *p)
{
	return p->next_at;
}

const char *
pmtu_phase_name(enum pmtu_phase phase)
{
	static const char *const names[] = {
	        [PMTU_BASE] = "base",
	        [PMTU_SEARCH] = "search",
	        [PMTU_DONE] = "done",
	        [PMTU_SILENT] = "silent",
	};

	return (unsigned)phase < sizeof(names) / sizeof(names[0]) ? names[phase] : "?";
}

/* --- the datagrams --- */

static void
put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int
pmtu_wire_encode(const struct pmtu_wire *m, uint8_t *buf, size_t len)
{
	if (len < PMTU_WIRE_HEADER || (m->type != PMTU_WIRE_PROBE && m->type != PMTU_WIRE_ACK))
		return -1;
	memset(buf, 0, PMTU_WIRE_HEADER);
	put32(buf, PMTU_WIRE_MAGIC);
	buf[4] = PMTU_WIRE_VERSION;
	buf[5] = (uint8_t)m->type;
	put32(buf + 8, m->id);
	buf[12] = (uint8_t)(m->size >> 8);
	buf[13] = (uint8_t)m->size;
	buf[14] = (uint8_t)(m->return_mtu >> 8);
	buf[15] = (uint8_t)m->return_mtu;
	return PMTU_WIRE_HEADER;
}

int
pmtu_wire_parse(const uint8_t *buf, size_t len, struct pmtu_wire *out)
{
	if (len < PMTU_WIRE_HEADER || get32(buf) != PMTU_WIRE_MAGIC ||
	    buf[4] != PMTU_WIRE_VERSION || buf[6] || buf[7])
		return -1;
	out->type = buf[5];
	out->id = get32(buf + 8);
	out->size = (uint16_t)(buf[12] << 8 | buf[13]);
	out->return_mtu = (uint16_t)(buf[14] << 8 | buf[15]);
	if (out->type == PMTU_WIRE_ACK)
		return len == PMTU_WIRE_HEADER ? 0 : -1;
	if (out->type == PMTU_WIRE_PROBE)
		return out->size >= PMTU_UDP_IP4 + PMTU_WIRE_HEADER &&
		                       len == (size_t)out->size - PMTU_UDP_IP4
		               ? 0
		               : -1;
	return -1;
}
