/* Path MTU discovery for one peer: the search and its timers, and the probe datagrams. */
#include "netd/pmtu.h"

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

/* A new size to try: its losses start from zero. */
static void
try_size(struct pmtu *p, uint32_t size, int64_t at)
{
	p->size = size;
	p->losses = 0;
	p->inflight = false;
	p->next_at = at;
}

static void
restart(struct pmtu *p, int64_t now)
{
	p->phase = PMTU_BASE;
	p->lo = 0;
	p->hi = p->max;
	try_size(p, base_size(p), now);
}

void
pmtu_init(struct pmtu *p, uint32_t max, uint32_t id_seed, int64_t now)
{
	memset(p, 0, sizeof(*p));
	p->max = max;
	p->mtu = max;
	p->next_id = id_seed;
	restart(p, now);
}

void
pmtu_set_max(struct pmtu *p, uint32_t max, int64_t now)
{
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

/* PMTU_MAX_PROBES losses of p->size in a row. */
static void
too_big(struct pmtu *p, int64_t now)
{
	int64_t wait;

	switch ((enum pmtu_phase)p->phase) {
	case PMTU_BASE:
	case PMTU_SILENT:
		/* Not even the smallest probe crosses: the peer is gone or does not answer
		 * probes. What routes carry stays as it was: an outage is no MTU. */
		p->phase = PMTU_SILENT;
		p->hi = p->max;
		wait = p->silent_wait ? 2 * (int64_t)p->silent_wait : PMTU_SILENT_FIRST;
		p->silent_wait = (uint32_t)(wait < PMTU_UNANSWERED ? wait : PMTU_UNANSWERED);
		try_size(p, base_size(p), now + p->silent_wait);
		break;
	case PMTU_SEARCH:
		p->top_tried = true;
		p->hi = p->size - 1;
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
		p->hi = p->mtu;
		break;
	}
}

bool
pmtu_poll(struct pmtu *p, int64_t now, struct pmtu_probe *out)
{
	if (now < p->next_at)
		return false;
	if (p->inflight) {
		p->inflight = false;
		if (++p->losses >= PMTU_MAX_PROBES) {
			too_big(p, now);
			if (now < p->next_at)
				return false;
		}
	}
	if (p->phase == PMTU_DONE && p->raise_at && now >= p->raise_at) {
		p->phase = PMTU_SEARCH;
		p->lo = p->mtu;
		p->hi = p->max;
		p->top_tried = false;
		p->raise_at = 0;
		search_next(p, now);
	}
	p->id = p->next_id++;
	p->inflight = true;
	p->next_at = now + probe_wait(p);
	p->sent++;
	out->id = p->id;
	out->size = p->size;
	return true;
}

bool
pmtu_ack(struct pmtu *p, int64_t now, uint32_t id, uint32_t size)
{
	/* The probes of this size since it was chosen carry ids p->id - p->losses .. p->id: an
	 * ack of one counted lost that comes back late (a loaded gateway, a queue in the
	 * tunnel) proves the size as well as the last one's would. */
	if (!p->inflight || size != p->size || p->id - id > p->losses)
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
		p->lo = size;
		/* Once its old MTU was lost again, a path proven before carries what crosses
		 * now at once; a first search keeps the assumed MTU until it ends, so routes
		 * change once. */
		if (p->probed && p->top_tried)
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
