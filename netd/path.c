/* Direct or relayed, per remote site: a small table by name, rebuilt on every update. */
#include "netd/path.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netd/names.h"

struct path_entry {
	/* In the table's names once an update is done; during one, borrowed from the sites
	 * given and the table before. */
	const char *name;
	const char *relay; /* "": none */
	int64_t since;     /* the direct attempt's start, or when it was relayed */
	uint64_t rx_bytes, tx_bytes;
	int64_t rx_at, tx_at; /* when the bytes received and sent last grew */
	int64_t probe_asked_at;
	/* PATH_RELAYED: when it was relayed, Unix seconds (32 bits hold them until 2106). */
	uint32_t since_unix;
	uint32_t switches; /* one a second at most: 136 years' worth */
	/* Where its tunnel is tried from, when has_endpoint: the address's bytes of its family,
	 * and the port (entry_endpoint). */
	uint8_t endpoint_addr[16];
	uint16_t endpoint_port;
	uint8_t endpoint_family;
	bool has_endpoint;
	bool live;
	bool handshook; /* its own peer has had a handshake */
	uint8_t mode;   /* enum path_mode */
	uint8_t reason; /* enum reason */
};
/* One a remote site, rebuilt every second: no holes between the fields, small numbers for
 * what is small (the reason an index of its text, not a pointer), the endpoint without the
 * padding of struct addr_endpoint (104 bytes with it). */
_Static_assert(sizeof(struct path_entry) <= 96, "a path entry grew");

/* Why a site is relayed, or why a failing direct path is not. */
enum reason {
	REASON_NONE,
	REASON_NO_HANDSHAKE,
	REASON_QUIET,
	REASON_NO_RELAY,
};

static const char *const reason_text[] = {
        [REASON_NONE] = NULL,
        [REASON_NO_HANDSHAKE] = "no handshake on the direct path",
        [REASON_QUIET] = "reached only through other sites, and nothing comes back on its tunnel",
        [REASON_NO_RELAY] = "its direct path fails and no relay is accepted by both ends",
};

struct path_table {
	char self[WIRE_NAME_MAX + 1];
	struct path_entry *entries; /* sorted by name */
	char *names;                /* the entries' names and relays, one after the other */
	size_t n;
	int64_t now; /* of the last update */
};

static int
entry_cmp(const void *key, const void *e)
{
	return strcmp(key, ((const struct path_entry *)e)->name);
}

static struct path_entry *
entry_find(const struct path_table *p, const char *name)
{
	return p->n ? bsearch(name, p->entries, p->n, sizeof(*p->entries), entry_cmp) : NULL;
}

static int
name_qcmp(const void *a, const void *b)
{
	return strcmp(((const struct path_entry *)a)->name, ((const struct path_entry *)b)->name);
}

struct path_table *
path_new(const char *self)
{
	struct path_table *p = calloc(1, sizeof(*p));

	if (p != NULL)
		snprintf(p->self, sizeof(p->self), "%s", self);
	return p;
}

void
path_free(struct path_table *p)
{
	if (p == NULL)
		return;
	free(p->entries);
	free(p->names);
	free(p);
}

static bool
listed(const char (*names)[WIRE_NAME_MAX + 1], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* FNV-1a over the pair, in an order both ends agree on, and the candidate. */
static uint64_t
pair_hash(const char *a, const char *b, const char *relay)
{
	const char *parts[3] = {strcmp(a, b) < 0 ? a : b, strcmp(a, b) < 0 ? b : a, relay};
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < 3; i++) {
		for (const char *c = parts[i]; *c; c++)
			h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull;
	}
	return h;
}

/* The sites that may relay for any other: up, offering to relay, accepted by this end (relays,
 * nrelays), reached directly from here. Found once per update, in the order of sites: the
 * sites whose direct path fails each choose among these few instead of among all sites. out
 * has room for n. Returns how many. */
static size_t
relay_candidates(const struct path_table *p, const struct path_site *sites, size_t n,
                 const char (*relays)[WIRE_NAME_MAX + 1], size_t nrelays,
                 const struct path_site **out)
{
	size_t k = 0;

	for (size_t i = 0; nrelays > 0 && i < n; i++) {
		const struct path_site *r = &sites[i];
		const struct path_entry *e;

		if (!r->live || !r->offers_relay || !r->has_wg || r->handshake_at == 0 ||
		    !listed(relays, nrelays, r->name))
			continue;
		e = entry_find(p, r->name);
		if (e != NULL && e->mode == PATH_DIRECT)
			out[k++] = r;
	}
	return k;
}

/* The relay for site c among the candidates: one c accepts too; the one a hash of the pair
 * ranks first, so that the other end picks it too. */
static const char *
relay_choose(const struct path_table *p, const struct path_site *const *cands, size_t ncands,
             const struct path_site *c)
{
	const char *best = NULL;
	uint64_t best_hash = 0;

	for (size_t i = 0; i < ncands; i++) {
		const struct path_site *r = cands[i];
		uint64_t h;

		if (r == c || !listed(c->relays, c->nrelays, r->name))
			continue;
		h = pair_hash(p->self, c->name, r->name);
		if (best == NULL || h < best_hash) {
			best = r->name;
			best_hash = h;
		}
	}
	return best;
}

/* Why the direct path to s fails, REASON_NONE when it does not (as far as can be told yet). */
static enum reason
direct_failing(const struct path_entry *e, const struct path_site *s, int64_t now)
{
	int64_t ok = s->direct_ok_at > e->since ? s->direct_ok_at : e->since;

	if (s->handshake_at == 0 && now - e->since >= PATH_DIRECT_WAIT)
		return REASON_NO_HANDSHAKE;
	if (s->direct_fail_at > ok && now - e->rx_at >= PATH_RX_QUIET)
		return REASON_QUIET;
	return REASON_NONE;
}

static void
entry_step(struct path_table *p, struct path_entry *e, const struct path_site *const *cands,
           size_t ncands, const struct path_site *s, int64_t now, int64_t unix_now_us)
{
	const char *relay;
	enum reason why;

	if (e->mode == PATH_RELAYED) {
		relay = relay_choose(p, cands, ncands, s);
		/* The session was replaced when it was relayed: a handshake since is a direct
		 * path that works again. */
		if (s->handshake_at > e->since || relay == NULL) {
			e->mode = PATH_DIRECT;
			e->relay = "";
			e->since = now;
			e->reason = REASON_NONE;
			e->switches++;
		} else if (strcmp(relay, e->relay) != 0) {
			e->relay = relay;
			e->switches++;
		}
		return;
	}
	why = direct_failing(e, s, now);
	relay = why != REASON_NONE ? relay_choose(p, cands, ncands, s) : NULL;
	e->reason = why != REASON_NONE && relay == NULL ? REASON_NO_RELAY : why;
	if (relay == NULL)
		return;
	e->mode = PATH_RELAYED;
	e->relay = relay;
	e->since = now;
	/* Rounded up: a session from the same second as the move is replaced too. */
	e->since_unix = (uint32_t)((unix_now_us + PATH_USEC - 1) / PATH_USEC);
	e->switches++;
}

/* Where e's tunnel was tried from (when e->has_endpoint). */
static struct addr_endpoint
entry_endpoint(const struct path_entry *e)
{
	struct addr_endpoint ep = {.addr.family = e->endpoint_family, .port = e->endpoint_port};

	memcpy(ep.addr.u.bytes, e->endpoint_addr, sizeof(e->endpoint_addr));
	return ep;
}

/* The entry for s, carried over from the table or new, with what s says now taken in. */
static void
entry_take(const struct path_table *p, struct path_entry *e, const struct path_site *s, int64_t now)
{
	const struct path_entry *old = entry_find(p, s->name);
	bool has_endpoint = s->endpoint != NULL;
	struct addr_endpoint was;

	if (old != NULL) {
		*e = *old;
	} else {
		memset(e, 0, sizeof(*e));
		e->name = s->name;
		e->relay = "";
		e->since = now;
	}
	was = entry_endpoint(e);
	/* Back from the dead, or a site that had a tunnel moved: a new direct attempt. Not a
	 * site that never handshook: the endpoints of one behind a symmetric NAT come and go
	 * as its observers disagree, and would keep it from ever being found failing (a new
	 * endpoint handshakes within a round trip; one that comes late ends a relay as soon). */
	if (!s->live || !e->live ||
	    (e->mode == PATH_DIRECT && e->reason == REASON_NONE && e->handshook &&
	     (has_endpoint != e->has_endpoint ||
	      (has_endpoint && !addr_endpoint_equal(s->endpoint, &was))))) {
		if (e->mode == PATH_RELAYED && !s->live)
			e->switches++;
		e->mode = PATH_DIRECT;
		e->relay = "";
		e->reason = REASON_NONE;
		e->since = now;
	}
	e->live = s->live;
	e->handshook = s->has_wg ? s->handshake_at != 0 : e->handshook;
	e->has_endpoint = has_endpoint;
	if (has_endpoint) {
		memcpy(e->endpoint_addr, s->endpoint->addr.u.bytes, sizeof(e->endpoint_addr));
		e->endpoint_port = s->endpoint->port;
		e->endpoint_family = s->endpoint->addr.family;
	}
	if (s->has_wg && s->rx_bytes != e->rx_bytes) {
		e->rx_bytes = s->rx_bytes;
		e->rx_at = now;
	}
	if (s->has_wg && s->tx_bytes != e->tx_bytes) {
		e->tx_bytes = s->tx_bytes;
		e->tx_at = now;
	}
}

int
path_update(struct path_table *p, const struct path_site *sites, size_t n,
            const char (*relays)[WIRE_NAME_MAX + 1], size_t nrelays, int64_t now,
            int64_t unix_now_us)
{
	struct path_entry *next = n ? calloc(n, sizeof(*next)) : NULL;
	const struct path_site **cands = n ? calloc(n, sizeof(*cands)) : NULL;
	size_t ncands;
	char *names;
	int changed = 0;

	if (n && (next == NULL || cands == NULL)) {
		free(next);
		free(cands);
		return -ENOMEM;
	}
	ncands = relay_candidates(p, sites, n, relays, nrelays, cands);
	for (size_t i = 0; i < n; i++)
		entry_take(p, &next[i], &sites[i], now);
	for (size_t i = 0; i < n; i++) {
		const struct path_entry *old = entry_find(p, sites[i].name);

		if (sites[i].live && sites[i].has_wg)
			entry_step(p, &next[i], cands, ncands, &sites[i], now, unix_now_us);
		if (old == NULL ? next[i].mode != PATH_DIRECT
		                : old->mode != next[i].mode || strcmp(old->relay, next[i].relay))
			changed++;
	}
	free(cands);
	names = names_own(next, n, sizeof(*next),
	                  (const size_t[]){offsetof(struct path_entry, name),
	                                   offsetof(struct path_entry, relay)},
	                  2);
	if (names == NULL) {
		free(next);
		return -ENOMEM;
	}
	if (n)
		qsort(next, n, sizeof(*next), name_qcmp);
	free(p->entries);
	free(p->names);
	p->entries = next;
	p->names = names;
	p->n = n;
	p->now = now;
	return changed;
}

const char *
path_relay(const struct path_table *p, const char *name)
{
	const struct path_entry *e = entry_find(p, name);

	return e != NULL && e->mode == PATH_RELAYED ? e->relay : NULL;
}

int64_t
path_fresh_after(const struct path_table *p, const char *name)
{
	const struct path_entry *e = entry_find(p, name);

	return e != NULL && e->mode == PATH_RELAYED ? e->since_unix : 0;
}

int
path_get(const struct path_table *p, const char *name, struct path_info *out)
{
	const struct path_entry *e = entry_find(p, name);

	if (e == NULL)
		return -1;
	out->mode = e->mode;
	out->relay = e->mode == PATH_RELAYED ? e->relay : NULL;
	out->since = e->since;
	out->reason = reason_text[e->reason];
	out->switches = e->switches;
	return 0;
}

bool
path_want_probe(struct path_table *p, const char *name, int64_t now)
{
	struct path_entry *e = entry_find(p, name);

	if (e == NULL || !e->live || e->mode != PATH_DIRECT || !e->handshook ||
	    e->tx_at <= e->rx_at || now - e->rx_at < PATH_RX_QUIET ||
	    (e->probe_asked_at != 0 && now - e->probe_asked_at < PATH_DIRECT_WAIT))
		return false;
	e->probe_asked_at = now;
	return true;
}

int64_t
path_next_deadline(const struct path_table *p)
{
	int64_t t = INT64_MAX;

	for (size_t i = 0; i < p->n; i++) {
		const struct path_entry *e = &p->entries[i];
		int64_t at = e->since + PATH_DIRECT_WAIT;

		/* Only the wait for a first handshake ends at a time of its own: the rest is seen
		 * when WireGuard or gossip are read, which calls for an update anyway. */
		if (e->live && e->mode == PATH_DIRECT && !e->handshook && at > p->now && at < t)
			t = at;
	}
	return t;
}
