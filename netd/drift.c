/* WireGuard drift: the peers the reconciler left, and a read of the device compared with them
 * without allocating. */
#include "netd/drift.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <sodium.h>

#include "netd/key.h"
#include "netd/names.h"
#include "netd/pace.h"

static const uint8_t zero_key[WG_KEY_SIZE];

static const char *const kind_names[DRIFT_KIND_COUNT] = {
        [DRIFT_PEER_REMOVED] = "removed",
        [DRIFT_PEER_CHANGED] = "changed",
        [DRIFT_PEER_FOREIGN] = "foreign",
};

const char *
drift_kind_name(enum drift_kind kind)
{
	return (unsigned)kind < DRIFT_KIND_COUNT ? kind_names[kind] : "unknown";
}

static int
peer_qcmp(const void *a, const void *b)
{
	return memcmp(((const struct drift_peer *)a)->public_key,
	              ((const struct drift_peer *)b)->public_key, WG_KEY_SIZE);
}

/* For bsearch: a public key against a table peer. */
static int
key_qcmp(const void *key, const void *item)
{
	return memcmp(key, ((const struct drift_peer *)item)->public_key, WG_KEY_SIZE);
}

/* The table's peer of key, or NULL (an empty table may have no array at all). */
static struct drift_peer *
find_peer(const struct drift_table *t, const uint8_t key[WG_KEY_SIZE])
{
	if (!t->npeers)
		return NULL;
	return bsearch(key, t->peers, t->npeers, sizeof(*t->peers), key_qcmp);
}

_Static_assert(sizeof(((struct drift_table *)0)->hash_key) == crypto_shorthash_KEYBYTES,
               "the drift table holds a crypto_shorthash key");

/* Bytes hashed under the table's key. Different ones agree but by chance (2^-64 a
 * comparison), and the key, drawn anew with each table, is nobody's to pick ones that do. */
static uint64_t
keyed_hash(const struct drift_table *t, const uint8_t *in, size_t n)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, in, n, t->hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* A prefix's family, length and address bytes. */
static uint64_t
prefix_hash(const struct drift_table *t, const struct addr_prefix *p)
{
	uint8_t in[2 + sizeof(p->addr.u.bytes)];
	size_t n = addr_len(p->addr.family);

	in[0] = p->addr.family;
	in[1] = p->len;
	memcpy(in + 2, p->addr.u.bytes, n);
	return keyed_hash(t, in, 2 + n);
}

/* An endpoint's family, address and port: what wg_endpoint_equal compares. */
static uint64_t
endpoint_hash(const struct drift_table *t, const union wg_endpoint *ep)
{
	uint8_t in[1 + 16 + 2];
	size_t n = 1;

	in[0] = (uint8_t)ep->sa.sa_family;
	if (ep->sa.sa_family == AF_INET) {
		memcpy(in + n, &ep->sin.sin_addr, 4);
		memcpy(in + n + 4, &ep->sin.sin_port, 2);
		n += 6;
	} else if (ep->sa.sa_family == AF_INET6) {
		memcpy(in + n, &ep->sin6.sin6_addr, 16);
		memcpy(in + n + 16, &ep->sin6.sin6_port, 2);
		n += 18;
	}
	return keyed_hash(t, in, n);
}

static uint64_t
allowed_sum(const struct drift_table *t, const struct addr_prefix *allowed, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += prefix_hash(t, &allowed[i]);
	return sum;
}

/* Room for n items of size bytes in *items, of capacity *cap: 0, or -ENOMEM with *items as
 * it was. */
static int
reserve(void **items, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n <= *cap)
		return 0;
	p = realloc(*items, n * size);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = n;
	return 0;
}

static void
to_endpoint(const struct addr *a, uint16_t port, union wg_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (a->family == AF_INET) {
		ep->sin.sin_family = AF_INET;
		ep->sin.sin_addr = a->u.v4;
		ep->sin.sin_port = htons(port);
	} else if (a->family == AF_INET6) {
		ep->sin6.sin6_family = AF_INET6;
		ep->sin6.sin6_addr = a->u.v6;
		ep->sin6.sin6_port = htons(port);
	}
}

int
drift_table_set(struct drift_table *t, const struct mesh_desired *d)
{
	union wg_endpoint ep;
	void *peers;
	char *names;
	int err;

	t->valid = false;
	peers = t->peers;
	err = reserve(&peers, &t->cap_peers, d->npeers, sizeof(*t->peers));
	t->peers = peers;
	if (err < 0)
		return err;
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	t->npeers = 0;
	for (size_t i = 0; i < d->npeers; i++) {
		const struct mesh_peer *m = &d->peers[i];
		struct drift_peer *p = &t->peers[t->npeers++];

		/* A device holds as many allowed-ips a peer as it can count. */
		if (m->nallowed > UINT32_MAX)
			return -ENOMEM;
		memset(p, 0, sizeof(*p));
		memcpy(p->public_key, m->public_key, WG_KEY_SIZE);
		p->site = m->site;
		to_endpoint(&m->endpoint, m->endpoint_port, &ep);
		p->has_endpoint = ep.sa.sa_family != AF_UNSPEC;
		p->endpoint_hash = endpoint_hash(t, &ep);
		p->endpoint_roams = m->endpoint_roams;
		p->keepalive = m->keepalive;
		p->allowed_sum = allowed_sum(t, m->allowed, m->nallowed);
		p->nallowed = (uint32_t)m->nallowed;
	}
	names = names_own(t->peers, t->npeers, sizeof(*t->peers),
	                  (const size_t[]){offsetof(struct drift_peer, site)}, 1);
	if (!names)
		return -ENOMEM;
	free(t->names);
	t->names = names;
	if (t->npeers > 1)
		qsort(t->peers, t->npeers, sizeof(*t->peers), peer_qcmp);
	snprintf(t->device, sizeof(t->device), "%s", d->wg.name);
	t->generation = 0;
	t->valid = true;
	return 0;
}

void
drift_table_open_keepalive(struct drift_table *t, const uint8_t key[WG_KEY_SIZE])
{
	struct drift_peer *p = find_peer(t, key);

	if (p)
		p->keepalive_open = true;
}

void
drift_table_invalidate(struct drift_table *t)
{
	t->valid = false;
}

void
drift_table_free(struct drift_table *t)
{
	free(t->peers);
	free(t->names);
	memset(t, 0, sizeof(*t));
}

/* Whether the peer's allowed-ips are the table's: as many, of the same sum. A device holds an
 * allowed-ip once, so the read is a set as the table's is. */
static bool
allowed_equal(const struct drift_table *t, const struct drift_peer *want,
              const struct wg_peer *have)
{
	return have->nallowedips == want->nallowed &&
	       allowed_sum(t, have->allowedips, have->nallowedips) == want->allowed_sum;
}

/* The fields of have that differ from what the reconciler leaves (see peer_change in
 * reconcile.c: a roaming site's endpoint is WireGuard's to learn once it has one). */
static unsigned
peer_fields(const struct drift_table *t, const struct drift_peer *want, const struct wg_peer *have)
{
	bool has_endpoint = have->flags & WG_PEER_HAS_ENDPOINT;
	unsigned fields = 0;

	if (want->has_endpoint &&
	    (!has_endpoint ||
	     (!want->endpoint_roams && endpoint_hash(t, &have->endpoint) != want->endpoint_hash)))
		fields |= DRIFT_FIELD_ENDPOINT;
	if (!want->keepalive_open && have->persistent_keepalive != want->keepalive)
		fields |= DRIFT_FIELD_KEEPALIVE;
	if ((have->flags & WG_PEER_HAS_PRESHARED_KEY) &&
	    memcmp(have->preshared_key, zero_key, WG_KEY_SIZE) != 0)
		fields |= DRIFT_FIELD_PRESHARED_KEY;
	if (!allowed_equal(t, want, have))
		fields |= DRIFT_FIELD_ALLOWEDIPS;
	return fields;
}

static void
note(struct drift *out, enum drift_kind kind, const uint8_t key[WG_KEY_SIZE], const char *site,
     unsigned fields)
{
	struct drift_peer_finding *f;

	out->count[kind]++;
	if (out->nnamed == DRIFT_NAMED)
		return;
	f = &out->named[out->nnamed++];
	f->kind = kind;
	memcpy(f->public_key, key, WG_KEY_SIZE);
	snprintf(f->site, sizeof(f->site), "%s", site);
	f->fields = fields;
}

bool
drift_compare(struct drift_table *t, const struct wg_device *dev, struct drift *out)
{
	memset(out, 0, sizeof(*out));
	if (!t->valid || !dev || strcmp(dev->name, t->device) != 0)
		return false;
	/* Which of the table's peers this comparison found, without clearing a mark per peer. */
	if (++t->generation == 0) {
		for (size_t i = 0; i < t->npeers; i++)
			t->peers[i].seen = 0;
		t->generation = 1;
	}
	for (size_t i = 0; i < dev->npeers; i++) {
		const struct wg_peer *have = &dev->peers[i];
		struct drift_peer *want = find_peer(t, have->public_key);
		unsigned fields;

		if (!want) {
			note(out, DRIFT_PEER_FOREIGN, have->public_key, "", 0);
			continue;
		}
		want->seen = t->generation;
		fields = peer_fields(t, want, have);
		if (fields)
			note(out, DRIFT_PEER_CHANGED, want->public_key, want->site, fields);
	}
	for (size_t i = 0; i < t->npeers; i++)
		if (t->peers[i].seen != t->generation)
			note(out, DRIFT_PEER_REMOVED, t->peers[i].public_key, t->peers[i].site, 0);
	return out->count[DRIFT_PEER_REMOVED] || out->count[DRIFT_PEER_CHANGED] ||
	       out->count[DRIFT_PEER_FOREIGN];
}

const char *
drift_fields_format(unsigned fields, char *buf, size_t len)
{
	static const struct {
		unsigned field;
		const char *name;
	} names[] = {
	        {DRIFT_FIELD_ENDPOINT, "endpoint"},
	        {DRIFT_FIELD_ALLOWEDIPS, "allowed-ips"},
	        {DRIFT_FIELD_KEEPALIVE, "keepalive"},
	        {DRIFT_FIELD_PRESHARED_KEY, "preshared-key"},
	};
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && used < len; i++) {
		if (!(fields & names[i].field))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
		                         names[i].name);
	}
	return buf;
}

const char *
drift_format(const struct drift *d, char *buf, size_t len)
{
	size_t used = 0, total = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < DRIFT_KIND_COUNT; i++)
		total += d->count[i];
	for (size_t i = 0; i < d->nnamed && used < len; i++) {
		const struct drift_peer_finding *f = &d->named[i];
		const char *sep = i ? ", " : "";
		char key[KEY_BASE64_SIZE], fields[64];

		if (f->kind == DRIFT_PEER_FOREIGN) {
			key_to_base64(key, f->public_key);
			used += (size_t)snprintf(buf + used, len - used, "%sforeign peer %s added",
			                         sep, key);
		} else if (f->kind == DRIFT_PEER_CHANGED) {
			used += (size_t)snprintf(
			        buf + used, len - used, "%speer of site %s changed (%s)", sep,
			        f->site, drift_fields_format(f->fields, fields, sizeof(fields)));
		} else {
			used += (size_t)snprintf(buf + used, len - used,
			                         "%speer of site %s removed", sep, f->site);
		}
	}
	if (total > d->nnamed && used < len)
		snprintf(buf + used, len - used, " and %zu more", total - d->nnamed);
	return buf;
}

int64_t
drift_read_delay(int64_t cost)
{
	return pace_by_cost(cost, DRIFT_READ_PERIOD, DRIFT_READ_COST_MULT, DRIFT_READ_LATEST);
}

int64_t
drift_pace_note(struct drift_pace *p, int64_t cost)
{
	int64_t least = cost;

	p->cost[p->next] = cost;
	p->next = (p->next + 1) % DRIFT_PACE_READS;
	for (unsigned i = 0; i < DRIFT_PACE_READS; i++)
		if (p->cost[i] < least)
			least = p->cost[i];
	return drift_read_delay(least);
}
