/* The mesh's desired state: which remote sites are admitted, what each may route, who keeps
 * a prefix two sites claim, the segments and their members, the MTUs. Pure computation. */
#include "netd/mesh.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "netd/names.h"

/* One prefix a site claims: an overlay address or an advertised prefix. 32 bytes: 20,000 of
 * them at 10,000 sites, alive through the mesh's computation, its peak. */
struct claim {
	struct addr_prefix prefix;
	uint32_t site; /* index into the admitted sites, which are in the order of their names */
	bool overlay;
	bool lost; /* dropped: it holds an endpoint, or another site keeps it */
};
_Static_assert(sizeof(struct claim) <= 32, "a claim grew");

struct admitted {
	const struct mesh_site *site;
	uint32_t *vnis; /* accepted, sorted */
	size_t nvnis;
	/* The IPv4 and IPv6 overlay addresses kept after conflicts; AF_UNSPEC: none. Copies, so
	 * that the claims they come from go before the segments are built. */
	struct addr overlay[2];
	size_t nallowed; /* claims kept */
};

/* A prefix some trusted site may advertise, or an overlay grant outside its prefixes. */
struct trusted_prefix {
	struct addr_prefix prefix;
	const struct conf_trust *trust;
};

struct build {
	const struct conf *conf;
	struct trusted_prefix *trusted; /* their prefixes by address */
	size_t ntrusted;
	const struct conf_trust **trust_names; /* the trust entries by name */
	const struct mesh_params *params;
	struct mesh_desired *d;
	size_t capreports;
	struct admitted *admitted;
	size_t nadmitted;
	struct claim *claims;
	size_t nclaims;
	bool oom;
};

static const char *const report_names[] = {
        [MESH_REPORT_INVALID] = "invalid",
        [MESH_REPORT_OVERLAY_DENIED] = "overlay-denied",
        [MESH_REPORT_PREFIX_DENIED] = "prefix-denied",
        [MESH_REPORT_CONFLICT] = "conflict",
        [MESH_REPORT_LOOP] = "loop",
        [MESH_REPORT_SEGMENT] = "segment",
        [MESH_REPORT_MTU] = "mtu",
};

const char *
mesh_report_kind_name(enum mesh_report_kind kind)
{
	if ((unsigned)kind < sizeof(report_names) / sizeof(report_names[0]) && report_names[kind])
		return report_names[kind];
	return "unknown";
}

const char *
mesh_state_name(enum mesh_state state)
{
	switch (state) {
	case MESH_ALIVE:
		return "alive";
	case MESH_SUSPECT:
		return "suspect";
	case MESH_DEAD:
		return "dead";
	case MESH_LEFT:
		return "left";
	}
	return "unknown";
}

void
mesh_params_init(struct mesh_params *params)
{
	memset(params, 0, sizeof(*params));
	params->underlay_mtu = MESH_DEFAULT_UNDERLAY_MTU;
	params->dead_hold = MESH_DEFAULT_DEAD_HOLD;
	params->rule_priority = MESH_DEFAULT_RULE_PRIORITY;
	params->route_metric = MESH_DEFAULT_ROUTE_METRIC;
	params->failclosed_metric = MESH_DEFAULT_FAILCLOSED_METRIC;
}

/* qsort, also for empty arrays (NULL with no items), which qsort itself may not be given. */
static void
sort(void *items, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(items, n, size, cmp);
}

static int
prefix_qcmp(const void *a, const void *b)
{
	return addr_prefix_cmp(a, b);
}

static int
u32_qcmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void *
grow(void *items, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return items;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap > SIZE_MAX / size)
		return NULL;
	p = realloc(items, ncap * size);
	if (p)
		*cap = ncap;
	return p;
}

static void report(struct build *b, enum mesh_report_kind kind, const char *site, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void
report(struct build *b, enum mesh_report_kind kind, const char *site, const char *fmt, ...)
{
	struct mesh_desired *d = b->d;
	struct mesh_report *r, *reports;
	va_list ap;

	reports = grow(d->reports, d->nreports, &b->capreports, sizeof(*r));
	if (!reports) {
		b->oom = true;
		return;
	}
	d->reports = reports;
	r = &d->reports[d->nreports++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	snprintf(r->site, sizeof(r->site), "%s", site ? site : "");
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* Room for every claim was made before the sites were admitted (admit_all). */
static void
add_claim(struct build *b, const struct addr_prefix *p, size_t site, bool overlay)
{
	b->claims[b->nclaims++] =
	        (struct claim){.prefix = *p, .site = (uint32_t)site, .overlay = overlay};
}

static const char *
claim_name(const struct build *b, const struct claim *c)
{
	return b->admitted[c->site].site->name;
}

static int
trusted_qcmp(const void *a, const void *b)
{
	return addr_prefix_cmp(&((const struct trusted_prefix *)a)->prefix,
	                       &((const struct trusted_prefix *)b)->prefix);
}

/* Whether p lies in one of the entry's prefixes. */
static bool
in_trusted_prefixes(const struct conf_trust *t, const struct addr_prefix *p)
{
	for (size_t i = 0; i < t->nprefixes; i++)
		if (addr_prefix_contains(&t->prefixes[i], p))
			return true;
	return false;
}

static int
trust_name_qcmp(const void *a, const void *b)
{
	return strcmp((*(const struct conf_trust *const *)a)->name,
	              (*(const struct conf_trust *const *)b)->name);
}

/* Whether a trust entry names the site: else its credential admitted it. */
static bool
has_trust_entry(const struct build *b, const char *site)
{
	size_t lo = 0, hi = b->conf->ntrust;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(site, b->trust_names[mid]->name);

		if (!c)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

/* Indexes of the trust entries, so that a large federation costs n log n, not n squared. */
static int
index_trust(struct build *b)
{
	const struct conf *conf = b->conf;
	size_t n = 0;

	if (!conf->ntrust)
		return 0;
	b->trust_names = malloc(conf->ntrust * sizeof(*b->trust_names));
	if (!b->trust_names)
		return -ENOMEM;
	for (size_t i = 0; i < conf->ntrust; i++)
		b->trust_names[i] = &conf->trust[i];
	sort(b->trust_names, conf->ntrust, sizeof(*b->trust_names), trust_name_qcmp);
	for (size_t i = 0; i < conf->ntrust; i++)
		n += conf->trust[i].nprefixes + conf->trust[i].noverlay;
	if (!n)
		return 0;
	b->trusted = malloc(n * sizeof(*b->trusted));
	if (!b->trusted)
		return -ENOMEM;
	for (size_t i = 0; i < conf->ntrust; i++) {
		const struct conf_trust *t = &conf->trust[i];

		for (size_t j = 0; j < t->nprefixes; j++)
			b->trusted[b->ntrusted++] =
			        (struct trusted_prefix){.prefix = t->prefixes[j], .trust = t};
		/* One inside the entry's own prefixes is covered by them: the index stays
		 * free of overlaps, as trusted_holding needs. */
		for (size_t j = 0; j < t->noverlay; j++)
			if (!in_trusted_prefixes(t, &t->overlay[j]))
				b->trusted[b->ntrusted++] = (struct trusted_prefix){
				        .prefix = t->overlay[j], .trust = t};
	}
	sort(b->trusted, b->ntrusted, sizeof(*b->trusted), trusted_qcmp);
	return 0;
}

/* The trusted prefix holding the address p, if any. Trusted prefixes do not overlap (the
 * config refuses it), so the only candidate is the last one starting at or before p. */
static const struct trusted_prefix *
trusted_holding(const struct build *b, const struct addr_prefix *p)
{
	size_t lo = 0, hi = b->ntrusted;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr_cmp(&b->trusted[mid].prefix.addr, &p->addr) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr_prefix_contains(&b->trusted[lo - 1].prefix, p))
		return &b->trusted[lo - 1];
	return NULL;
}

/* A trusted prefix that overlaps p, if any: the one holding p, else the first starting
 * inside it (trusted prefixes do not overlap, so one inside p starts at or after p's start,
 * and the first that does is inside if any is). */
static const struct trusted_prefix *
trusted_overlapping(const struct build *b, const struct addr_prefix *p)
{
	const struct trusted_prefix *t = trusted_holding(b, p);
	size_t lo = 0, hi = b->ntrusted;

	if (t)
		return t;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr_cmp(&b->trusted[mid].prefix.addr, &p->addr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->ntrusted && addr_prefix_contains(p, &b->trusted[lo].prefix))
		return &b->trusted[lo];
	return NULL;
}

/* Why a prefix that a site admitted by credential advertises may not be used, or NULL. Its
 * grant is the federation authorities' word, not this site's operator's: whatever they
 * signed, it takes no address of this site's own and none that a trust entry grants. */
static const char *
credential_prefix_problem(const struct build *b, const struct addr_prefix *p, char *why, size_t len)
{
	const struct conf *conf = b->conf;
	const struct trusted_prefix *t;
	char text[ADDR_PREFIX_STRLEN];

	for (size_t i = 0; i < conf->nprefixes; i++) {
		if (addr_prefix_overlap(&conf->prefixes[i], p)) {
			snprintf(why, len, "overlaps this site's prefix %s",
			         addr_prefix_format(&conf->prefixes[i], text));
			return why;
		}
	}
	for (size_t i = 0; i < conf->noverlay; i++) {
		if (addr_prefix_contains(p, &conf->overlay[i])) {
			snprintf(why, len, "holds this site's overlay address %s",
			         addr_format(&conf->overlay[i].addr, text));
			return why;
		}
	}
	t = trusted_overlapping(b, p);
	if (t) {
		snprintf(why, len, "overlaps what site %s may advertise or use as its overlay",
		         t->trust->name);
		return why;
	}
	return NULL;
}

static bool
is_host_address(const struct addr_prefix *p)
{
	return addr_len(p->addr.family) && p->len == addr_len(p->addr.family) * 8;
}

/* Why a remote overlay address may not be used, or NULL. Gossip admitted it as its trust
 * entry grants; whatever the config checks let through, it never takes traffic meant for
 * this site or for what another trusted site may advertise or use as its overlay. */
static const char *
overlay_problem(const struct build *b, const char *site, const struct addr_prefix *p, char *why,
                size_t len)
{
	const struct conf *conf = b->conf;
	const struct trusted_prefix *t;
	char text[ADDR_PREFIX_STRLEN];

	for (size_t i = 0; i < conf->noverlay; i++) {
		if (addr_prefix_equal(&conf->overlay[i], p)) {
			snprintf(why, len, "is this site's own");
			return why;
		}
	}
	for (size_t i = 0; i < conf->nprefixes; i++) {
		if (addr_prefix_contains(&conf->prefixes[i], p)) {
			snprintf(why, len, "lies in this site's prefix %s",
			         addr_prefix_format(&conf->prefixes[i], text));
			return why;
		}
	}
	t = trusted_holding(b, p);
	if (t && strcmp(t->trust->name, site) != 0) {
		snprintf(why, len, "lies in what site %s may advertise or use as its overlay",
		         t->trust->name);
		return why;
	}
	return NULL;
}

/* Collects the claims of one site of the view. What its trust entry grants was settled by
 * gossip admission, the one place trust is enforced: the view holds only the granted part of
 * each descriptor. What is left here is how the claims of different sites meet. */
static void
admit(struct build *b, const struct mesh_site *s, int64_t now)
{
	char text[ADDR_PREFIX_STRLEN], why[96];
	struct admitted *a;
	bool by_credential;
	size_t index;

	/* Suspect is not gone; dead keeps everything for the hold, then it is withdrawn. A
	 * site that left also keeps it for the hold: a graceful stop is how netd restarts, and
	 * its data plane keeps carrying traffic meanwhile. */
	if ((s->state == MESH_DEAD || s->state == MESH_LEFT) &&
	    now - s->died_at >= b->params->dead_hold)
		return;

	index = b->nadmitted;
	a = &b->admitted[b->nadmitted++];
	a->site = s;
	for (size_t i = 0; i < s->noverlay && i < MESH_MAX_OVERLAY; i++) {
		const struct addr_prefix *p = &s->overlay[i];

		if (!is_host_address(p)) {
			report(b, MESH_REPORT_INVALID, s->name,
			       "site %s: overlay address %s is not a host address", s->name,
			       addr_prefix_format(p, text));
			continue;
		}
		if (overlay_problem(b, s->name, p, why, sizeof(why))) {
			report(b, MESH_REPORT_OVERLAY_DENIED, s->name,
			       "site %s: overlay address %s %s", s->name,
			       addr_format(&p->addr, text), why);
			continue;
		}
		add_claim(b, p, index, true);
	}
	by_credential = !has_trust_entry(b, s->name);
	for (size_t i = 0; i < s->nprefixes; i++) {
		const struct addr_prefix *p = &s->prefixes[i];

		addr_prefix_format(p, text);
		if (!addr_prefix_is_canonical(p)) {
			report(b, MESH_REPORT_INVALID, s->name,
			       "site %s: prefix %s is not a prefix (host bits set)", s->name, text);
			continue;
		}
		if (by_credential && credential_prefix_problem(b, p, why, sizeof(why))) {
			report(b, MESH_REPORT_PREFIX_DENIED, s->name, "site %s: prefix %s %s",
			       s->name, text, why);
			continue;
		}
		add_claim(b, p, index, false);
	}
	if (s->nvnis) {
		a->vnis = malloc(s->nvnis * sizeof(*a->vnis));
		if (!a->vnis) {
			b->oom = true;
			return;
		}
		memcpy(a->vnis, s->vnis, s->nvnis * sizeof(*a->vnis));
		a->nvnis = s->nvnis;
	}
	sort(a->vnis, a->nvnis, sizeof(*a->vnis), u32_qcmp);
}

static int
claim_qcmp(const void *x, const void *y)
{
	const struct claim *a = x, *b = y;
	int c = addr_prefix_cmp(&a->prefix, &b->prefix);

	if (c)
		return c;
	/* Then by site: in the order of their names. */
	if (a->site != b->site)
		return a->site < b->site ? -1 : 1;
	return (int)b->overlay - (int)a->overlay;
}

/* A tunnel endpoint, and whose it is. */
struct endpoint {
	struct addr_prefix host;
	const char *name;
};

static int
endpoint_qcmp(const void *a, const void *b)
{
	return addr_prefix_cmp(&((const struct endpoint *)a)->host,
	                       &((const struct endpoint *)b)->host);
}

/* The first endpoint at or after the start of p, in a sorted array: the one endpoint to look
 * at, since p's addresses follow each other from its start. */
static const struct endpoint *
endpoint_from(const struct endpoint *eps, size_t n, const struct addr_prefix *p)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr_cmp(&eps[mid].host.addr, &p->addr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n ? &eps[lo] : NULL;
}

/* A route to a prefix that holds a tunnel's endpoint would send the tunnel into itself. */
static int
drop_loops(struct build *b)
{
	char text[ADDR_PREFIX_STRLEN], ep[ADDR_STRLEN];
	struct endpoint *eps;
	size_t n = 0;

	if (!b->nadmitted || !b->nclaims)
		return 0;
	eps = malloc(b->nadmitted * sizeof(*eps));
	if (!eps)
		return -ENOMEM;
	for (size_t i = 0; i < b->nadmitted; i++) {
		const struct mesh_site *s = b->admitted[i].site;

		if (addr_len(s->endpoint.family))
			eps[n++] =
			        (struct endpoint){.host = addr_host(&s->endpoint), .name = s->name};
	}
	sort(eps, n, sizeof(*eps), endpoint_qcmp);
	for (size_t i = 0; i < b->nclaims; i++) {
		struct claim *c = &b->claims[i];
		const struct endpoint *e = endpoint_from(eps, n, &c->prefix);

		if (!e || !addr_prefix_contains(&c->prefix, &e->host))
			continue;
		c->lost = true;
		report(b, MESH_REPORT_LOOP, claim_name(b, c),
		       "site %s: %s holds the tunnel endpoint %s of site %s: routed into the "
		       "tunnel "
		       "it would loop",
		       claim_name(b, c), addr_prefix_format(&c->prefix, text),
		       addr_format(&e->host.addr, ep), e->name);
	}
	free(eps);
	return 0;
}

/* WireGuard routes a prefix to one peer only. Admission keeps every claim inside its site's
 * grant and the config keeps grants apart, so two sites meet here only under grants that
 * overlap despite that. Then the one with the lowest name keeps it: the only order every
 * site sees the same, whatever it heard first (an "oldest claim" rule would depend on when
 * each site learnt of each claim). */
static void
resolve_conflicts(struct build *b)
{
	char text[ADDR_PREFIX_STRLEN];

	for (size_t i = 0; i < b->nclaims;) {
		size_t j, winner = SIZE_MAX;

		for (j = i; j < b->nclaims &&
		            addr_prefix_equal(&b->claims[j].prefix, &b->claims[i].prefix);
		     j++) {
			struct claim *c = &b->claims[j];

			if (c->lost)
				continue;
			if (winner == SIZE_MAX) {
				winner = j;
				continue;
			}
			c->lost = true;
			/* The same site twice (an address it also advertises) is no conflict. */
			if (c->site == b->claims[winner].site)
				continue;
			report(b, MESH_REPORT_CONFLICT, claim_name(b, c),
			       "site %s: %s is claimed by site %s too, which keeps it (lowest "
			       "site name)",
			       claim_name(b, c), addr_prefix_format(&c->prefix, text),
			       claim_name(b, &b->claims[winner]));
		}
		i = j;
	}
	for (size_t i = 0; i < b->nclaims; i++) {
		const struct claim *c = &b->claims[i];
		struct admitted *a = &b->admitted[c->site];

		if (c->lost)
			continue;
		a->nallowed++;
		if (c->overlay && !addr_len(a->overlay[c->prefix.addr.family == AF_INET6].family))
			a->overlay[c->prefix.addr.family == AF_INET6] = c->prefix.addr;
	}
}

/* Whose peer carries site i's addresses: its own, or its relay's when it is relayed through
 * a site of the view that is not relayed itself. */
static size_t
carrier_of(const struct build *b, size_t i)
{
	const char *relay = b->admitted[i].site->relay_via;

	for (size_t k = 0; relay != NULL && k < b->nadmitted; k++)
		if (k != i && strcmp(b->admitted[k].site->name, relay) == 0)
			return b->admitted[k].site->relay_via == NULL ? k : i;
	return i;
}

static int
build_peers(struct build *b)
{
	struct mesh_desired *d = b->d;
	bool nat = b->params->behind_nat;
	size_t standby = 0, total = 0, at = 0, *carrier, *room;

	if (!b->nadmitted)
		return 0;
	for (size_t i = 0; i < b->nadmitted; i++)
		standby += b->admitted[i].site->next_key != NULL;
	d->peers = calloc(b->nadmitted + standby, sizeof(*d->peers));
	carrier = calloc(b->nadmitted, sizeof(*carrier));
	room = calloc(b->nadmitted, sizeof(*room));
	if (!d->peers || !carrier || !room) {
		free(carrier);
		free(room);
		return -ENOMEM;
	}
	for (size_t i = 0; i < b->nadmitted; i++) {
		carrier[i] = carrier_of(b, i);
		room[carrier[i]] += b->admitted[i].nallowed;
		total += b->admitted[i].nallowed;
	}
	/* One block for every peer's allowed-ips, not one a peer: a block of 48 bytes costs 64. */
	if (total) {
		d->allowed = malloc(total * sizeof(*d->allowed));
		if (!d->allowed) {
			free(carrier);
			free(room);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < b->nadmitted; i++) {
		const struct mesh_site *s = b->admitted[i].site;
		struct mesh_peer *p = &d->peers[d->npeers++];

		p->site = s->name;
		memcpy(p->public_key, s->public_key, KEY_LEN);
		if (addr_len(s->endpoint.family) && s->endpoint_port) {
			p->endpoint = s->endpoint;
			p->endpoint_port = s->endpoint_port;
		}
		p->endpoint_roams = s->behind_nat;
		p->keepalive = s->behind_nat || nat ? MESH_KEEPALIVE : 0;
		p->retries_handshake =
		        nat != s->behind_nat ? nat
		                             : memcmp(d->wg.public_key, s->public_key, KEY_LEN) < 0;
		p->state = s->state;
		p->path_mtu = mesh_peer_path_mtu(d, s->path_mtu);
		p->return_path_mtu = s->return_path_mtu;
		if (carrier[i] != i) {
			/* Relayed: its own peer keeps asking for a handshake, which shows when the
			 * direct path works again, on a session newer than the relay. Both ends
			 * ask, at different paces: two initiations that cross both fail, and ends
			 * that started together at one pace would cross every time. */
			p->keepalive = memcmp(d->wg.public_key, s->public_key, KEY_LEN) < 0
			                       ? MESH_RELAYED_KEEPALIVE
			                       : MESH_RELAYED_KEEPALIVE_OTHER;
			p->fresh_after = s->fresh_after;
		}
		if (!room[i])
			continue;
		p->allowed = &d->allowed[at];
		at += room[i];
	}
	/* The claims are sorted by prefix: so is each peer's share of them. */
	for (size_t j = 0; j < b->nclaims; j++) {
		const struct claim *c = &b->claims[j];
		struct mesh_peer *p = &d->peers[carrier[c->site]];

		if (!c->lost)
			p->allowed[p->nallowed++] = c->prefix;
	}
	free(carrier);
	free(room);
	/* After every site's own peer, so that a site's index is its peer's. */
	for (size_t i = 0; i < b->nadmitted; i++) {
		struct mesh_peer *p;

		if (!b->admitted[i].site->next_key)
			continue;
		p = &d->peers[d->npeers++];
		*p = d->peers[i];
		p->allowed = NULL;
		p->nallowed = 0;
		p->standby = true;
		memcpy(p->public_key, b->admitted[i].site->next_key, KEY_LEN);
	}
	/* The view's names live as long as the computation; the desired state, until the run
	 * after the next computation. */
	d->names = names_own(d->peers, d->npeers, sizeof(*d->peers),
	                     (const size_t[]){offsetof(struct mesh_peer, site)}, 1);
	return d->names ? 0 : -ENOMEM;
}

/* Routes by prefix: arg is the desired state's allowed-ips. */
static int
route_qcmp(const void *a, const void *b, void *arg)
{
	const struct addr_prefix *allowed = arg;

	return addr_prefix_cmp(&allowed[((const struct mesh_route *)a)->allowed],
	                       &allowed[((const struct mesh_route *)b)->allowed]);
}

static int
build_routes(struct build *b)
{
	struct mesh_desired *d = b->d;
	size_t n = 0;

	for (size_t i = 0; i < d->npeers; i++)
		n += d->peers[i].nallowed;
	if (!n)
		return 0;
	/* A route keeps its prefix's and peer's places in 32 bits. */
	if (n > UINT32_MAX)
		return -ENOMEM;
	d->routes = malloc(n * sizeof(*d->routes));
	if (!d->routes)
		return -ENOMEM;
	for (size_t i = 0; i < d->npeers; i++) {
		size_t first = (size_t)(d->peers[i].allowed - d->allowed);

		for (size_t j = 0; j < d->peers[i].nallowed; j++)
			d->routes[d->nroutes++] = (struct mesh_route){
			        .allowed = (uint32_t)(first + j), .peer = (uint32_t)i};
	}
	if (d->nroutes > 1)
		qsort_r(d->routes, d->nroutes, sizeof(*d->routes), route_qcmp, d->allowed);
	return 0;
}

/* A rule for each family the config can route: its overlay, its prefixes and those trusted
 * sites may advertise. With the table main the kernel's own rule does it. */
static void
build_rules(struct build *b)
{
	const struct conf *conf = b->conf;
	struct mesh_desired *d = b->d;
	bool fam[2] = {false, false};

	if (conf->routing.table == CONF_TABLE_MAIN)
		return;
	for (size_t i = 0; i < conf->noverlay; i++)
		fam[conf->overlay[i].addr.family == AF_INET6] = true;
	for (size_t i = 0; i < conf->nprefixes; i++)
		fam[conf->prefixes[i].addr.family == AF_INET6] = true;
	for (size_t i = 0; i < conf->ntrust; i++)
		for (size_t j = 0; j < conf->trust[i].nprefixes; j++)
			fam[conf->trust[i].prefixes[j].addr.family == AF_INET6] = true;
	for (int f = 0; f < 2; f++) {
		struct kh_rule *r;

		if (!fam[f])
			continue;
		r = &d->rules[d->nrules++];
		memset(r, 0, sizeof(*r));
		r->family = f ? AF_INET6 : AF_INET;
		r->priority = b->params->rule_priority;
		r->table = conf->routing.table;
		r->protocol = conf->routing.protocol;
	}
}

static bool
has_vni(const struct admitted *a, uint32_t vni)
{
	return a->nvnis && bsearch(&vni, a->vnis, a->nvnis, sizeof(*a->vnis), u32_qcmp);
}

static int
vtep_qcmp(const void *a, const void *b)
{
	return addr_cmp(&((const struct mesh_vtep *)a)->addr, &((const struct mesh_vtep *)b)->addr);
}

static int
segment_qcmp(const void *a, const void *b)
{
	uint32_t x = ((const struct mesh_segment *)a)->vni,
	         y = ((const struct mesh_segment *)b)->vni;

	return x < y ? -1 : x > y;
}

static int
build_segments(struct build *b)
{
	const struct conf *conf = b->conf;
	struct mesh_desired *d = b->d;
	struct addr local = {.family = AF_UNSPEC};

	if (!conf->nsegments)
		return 0;
	/* One VTEP address for every segment; IPv4's encapsulation is the smaller. */
	for (size_t i = 0; i < conf->noverlay; i++) {
		struct addr_prefix p = conf->overlay[i];

		if (local.family == AF_UNSPEC || p.addr.family == AF_INET)
			local = p.addr;
	}
	d->segments = calloc(conf->nsegments, sizeof(*d->segments));
	if (!d->segments)
		return -ENOMEM;
	for (size_t i = 0; i < conf->nsegments; i++) {
		const struct conf_segment *cs = &conf->segments[i];
		struct mesh_segment *s = &d->segments[d->nsegments++];
		uint32_t overhead =
		        local.family == AF_INET6 ? MESH_VXLAN6_OVERHEAD : MESH_VXLAN_OVERHEAD;
		uint32_t path = d->wg.mtu;

		snprintf(s->name, sizeof(s->name), "%s", cs->name);
		s->vni = cs->vni;
		snprintf(s->vxlan, sizeof(s->vxlan), CONF_VXLAN_IFNAME_FMT, cs->vni);
		snprintf(s->bridge, sizeof(s->bridge), "%s", cs->bridge);
		s->local = local;
		s->port = cs->vxlan_port;
		if (cs->nports) {
			s->ports = calloc(cs->nports, sizeof(*s->ports));
			if (!s->ports)
				return -ENOMEM;
			for (size_t j = 0; j < cs->nports; j++)
				snprintf(s->ports[j], sizeof(s->ports[j]), "%s", cs->ports[j]);
			s->nports = cs->nports;
		}
		for (size_t j = 0; j < b->nadmitted; j++) {
			const struct addr *ov;

			if (!has_vni(&b->admitted[j], cs->vni))
				continue;
			if (!addr_len(local.family))
				break;
			ov = &b->admitted[j].overlay[local.family == AF_INET6];
			if (!addr_len(ov->family)) {
				report(b, MESH_REPORT_SEGMENT, d->peers[j].site,
				       "segment %s: site %s joined VNI %u but has no usable %s "
				       "overlay address",
				       s->name, d->peers[j].site, cs->vni,
				       local.family == AF_INET ? "IPv4" : "IPv6");
				continue;
			}
			if (!s->vteps) {
				s->vteps = calloc(b->nadmitted, sizeof(*s->vteps));
				if (!s->vteps)
					return -ENOMEM;
			}
			s->vteps[s->nvteps].addr = *ov;
			s->vteps[s->nvteps].site = d->peers[j].site;
			s->nvteps++;
			if (d->peers[j].path_mtu && d->peers[j].path_mtu < path)
				path = d->peers[j].path_mtu;
			if (d->peers[j].return_path_mtu && d->peers[j].return_path_mtu < path)
				path = d->peers[j].return_path_mtu;
		}
		sort(s->vteps, s->nvteps, sizeof(*s->vteps), vtep_qcmp);
		/* One frame size for the whole segment: what the narrowest member's path
		 * carries. */
		s->mtu = path > overhead + 68 ? path - overhead : 0;
		if (path && !s->mtu)
			report(b, MESH_REPORT_MTU, NULL,
			       "segment %s: a path MTU of %u leaves no room for VXLAN", s->name,
			       path);
	}
	sort(d->segments, d->nsegments, sizeof(*d->segments), segment_qcmp);
	return 0;
}

static int
build_wg(struct build *b)
{
	const struct conf *conf = b->conf;
	struct mesh_desired *d = b->d;
	uint32_t underlay = b->params->underlay_mtu;

	snprintf(d->wg.name, sizeof(d->wg.name), "%s", conf->wg.interface);
	d->wg.backend = conf->wg.backend;
	if (conf->wg.userspace_command) {
		d->wg.userspace_command = strdup(conf->wg.userspace_command);
		if (!d->wg.userspace_command)
			return -ENOMEM;
	}
	d->wg.private_key = key_secret_new();
	if (!d->wg.private_key)
		return -ENOMEM;
	memcpy(d->wg.private_key, conf->wg.private_key, KEY_LEN);
	memcpy(d->wg.public_key, conf->wg.public_key, KEY_LEN);
	d->wg.listen_port = conf->wg.listen_port;
	d->wg.fwmark = conf->wg.fwmark;
	for (size_t i = 0; i < conf->noverlay && i < MESH_MAX_OVERLAY; i++)
		d->wg.addrs[d->wg.naddrs++] = conf->overlay[i];
	sort(d->wg.addrs, d->wg.naddrs, sizeof(d->wg.addrs[0]), prefix_qcmp);
	if (conf->wg.mtu) {
		d->wg.mtu = conf->wg.mtu;
	} else if (underlay > MESH_WG_OVERHEAD) {
		d->wg.mtu = underlay - MESH_WG_OVERHEAD;
		if (d->wg.mtu < MESH_MIN_WG_MTU)
			report(b, MESH_REPORT_MTU, NULL,
			       "WireGuard MTU %u (underlay %u - %u) is below %u, which IPv6 needs",
			       d->wg.mtu, underlay, MESH_WG_OVERHEAD, MESH_MIN_WG_MTU);
	} else {
		report(b, MESH_REPORT_MTU, NULL,
		       "underlay MTU %u leaves no room for WireGuard: its MTU is left as it is",
		       underlay);
	}
	return 0;
}

/* --- fail closed --- */

size_t
mesh_prefixes_disjoint(struct addr_prefix *prefixes, size_t n)
{
	size_t k = 0;

	sort(prefixes, n, sizeof(*prefixes), prefix_qcmp);
	/* Sorted by address, then length: one that holds others comes just before them. */
	for (size_t i = 0; i < n; i++)
		if (!k || !addr_prefix_contains(&prefixes[k - 1], &prefixes[i]))
			prefixes[k++] = prefixes[i];
	return k;
}

static bool
carve_push(struct mesh_carved *out, const struct addr_prefix *p)
{
	struct addr_prefix *items = grow(out->items, out->n, &out->cap, sizeof(*items));

	if (!items)
		return false;
	out->items = items;
	out->items[out->n++] = *p;
	return true;
}

int
mesh_prefix_carve(const struct addr_prefix *p, const struct addr_prefix *holes, size_t nholes,
                  struct mesh_carved *out)
{
	size_t lo = 0, hi = nholes;
	struct addr_prefix low, high;

	/* The first hole starting at or after p; only it can lie in p (they are disjoint), and
	 * only it or the one before can hold p. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr_cmp(&holes[mid].addr, &p->addr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if ((lo < nholes && addr_prefix_contains(&holes[lo], p)) ||
	    (lo > 0 && addr_prefix_contains(&holes[lo - 1], p)))
		return 0;
	if (lo == nholes || !addr_prefix_contains(p, &holes[lo]))
		return carve_push(out, p) ? 0 : -ENOMEM;
	low = *p;
	low.len++;
	high = low;
	high.addr.u.bytes[p->len / 8] |= (uint8_t)(0x80u >> (p->len % 8));
	if (mesh_prefix_carve(&low, holes, nholes, out) < 0)
		return -ENOMEM;
	return mesh_prefix_carve(&high, holes, nholes, out);
}

/* The tunnel endpoints of the view and the gossip seeds, as host prefixes, disjoint: a fence
 * over one would refuse the tunnels and gossip themselves. */
static int
fence_holes(const struct build *b, const struct mesh_site *sites, size_t nsites,
            struct addr_prefix **holes, size_t *n)
{
	const struct conf *conf = b->conf;
	struct addr_prefix *h = calloc(
	        nsites + conf->gossip.nseeds + conf->nprefixes + conf->noverlay + 1, sizeof(*h));
	size_t k = 0;

	if (!h)
		return -ENOMEM;
	/* This site's own space: no trust entry's grant overlaps it (the config refuses that),
	 * but the federation's fence may well hold it. */
	for (size_t i = 0; i < conf->nprefixes; i++)
		h[k++] = conf->prefixes[i];
	for (size_t i = 0; i < conf->noverlay; i++)
		h[k++] = conf->overlay[i];
	for (size_t i = 0; i < nsites; i++)
		if (addr_len(sites[i].endpoint.family))
			h[k++] = addr_host(&sites[i].endpoint);
	for (size_t i = 0; i < conf->gossip.nseeds; i++)
		if (addr_len(conf->gossip.seeds[i].addr.family))
			h[k++] = addr_host(&conf->gossip.seeds[i].addr);
	*holes = h;
	*n = mesh_prefixes_disjoint(h, k);
	return 0;
}

/* The fail-closed prefixes: every trust entry's grants, prefixes and overlay, whether or not
 * its site was ever seen or is still remembered, and the federation's fence, which holds what
 * credentials grant (a site admitted by one, seen or not, revoked or not), less this site's own
 * prefixes and overlay and the tunnel endpoints and seeds in them.
 * An admitted overlay address lies in one of them (overlay_problem), so it is fenced before
 * its site is seen and after it is forgotten. */
static int
build_failclosed(struct build *b, const struct mesh_site *sites, size_t nsites)
{
	const struct conf *conf = b->conf;
	struct mesh_desired *d = b->d;
	struct mesh_carved out = {0};
	struct addr_prefix *holes = NULL;
	size_t nholes = 0;
	int err;

	d->failclosed_metric = b->params->failclosed_metric;
	err = fence_holes(b, sites, nsites, &holes, &nholes);
	for (size_t i = 0; err == 0 && i < conf->ntrust; i++) {
		const struct conf_trust *t = &conf->trust[i];

		for (size_t j = 0; err == 0 && j < t->nprefixes; j++)
			err = mesh_prefix_carve(&t->prefixes[j], holes, nholes, &out);
		/* One inside the entry's prefixes is fenced with them. */
		for (size_t j = 0; err == 0 && j < t->noverlay; j++)
			if (!in_trusted_prefixes(t, &t->overlay[j]))
				err = mesh_prefix_carve(&t->overlay[j], holes, nholes, &out);
	}
	for (size_t i = 0; err == 0 && i < conf->federation.nfence; i++)
		err = mesh_prefix_carve(&conf->federation.fence[i], holes, nholes, &out);
	free(holes);
	if (err < 0) {
		free(out.items);
		return err;
	}
	sort(out.items, out.n, sizeof(*out.items), prefix_qcmp);
	for (size_t i = 0; i < out.n; i++)
		if (!d->nfailclosed ||
		    !addr_prefix_equal(&out.items[i], &out.items[d->nfailclosed - 1]))
			out.items[d->nfailclosed++] = out.items[i];
	d->failclosed = out.items;
	return 0;
}

static int
site_ptr_qcmp(const void *a, const void *b)
{
	const struct mesh_site *x = *(const struct mesh_site *const *)a;
	const struct mesh_site *y = *(const struct mesh_site *const *)b;

	return strcmp(x->name, y->name);
}

static int
admit_all(struct build *b, const struct mesh_site *sites, size_t nsites, int64_t now)
{
	const struct mesh_site **order = NULL;
	size_t n = 0, most = 0;

	if (!nsites)
		return 0;
	/* The most claims the sites can make, made room for at once: grown by doubling, the
	 * array was half again as large, and each step a copy. */
	for (size_t i = 0; i < nsites; i++)
		most += (sites[i].noverlay < MESH_MAX_OVERLAY ? sites[i].noverlay
		                                              : MESH_MAX_OVERLAY) +
		        sites[i].nprefixes;
	order = malloc(nsites * sizeof(*order));
	b->admitted = calloc(nsites, sizeof(*b->admitted));
	b->claims = most ? malloc(most * sizeof(*b->claims)) : NULL;
	if (!order || !b->admitted || (most && !b->claims)) {
		free(order);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nsites; i++) {
		if (!sites[i].name || !sites[i].name[0]) {
			report(b, MESH_REPORT_INVALID, NULL, "a site of the view has no name");
			continue;
		}
		if (strcmp(sites[i].name, b->conf->site_name) == 0)
			continue;
		order[n++] = &sites[i];
	}
	sort(order, n, sizeof(*order), site_ptr_qcmp);
	for (size_t i = 0; i < n && !b->oom;) {
		size_t j = i + 1;

		while (j < n && strcmp(order[j]->name, order[i]->name) == 0)
			j++;
		/* Two entries of one name: no way to tell which is the site, so neither is. */
		if (j - i > 1)
			report(b, MESH_REPORT_INVALID, order[i]->name,
			       "site %.32s: %zu entries of that name in the view; none is used",
			       order[i]->name, j - i);
		else
			admit(b, order[i], now);
		i = j;
	}
	free(order);
	return b->oom ? -ENOMEM : 0;
}

/* The admitted sites and their claims: the computation's work, not its result. */
static void
free_admitted(struct build *b)
{
	for (size_t i = 0; i < b->nadmitted; i++)
		free(b->admitted[i].vnis);
	free(b->admitted);
	b->admitted = NULL;
	b->nadmitted = 0;
	free(b->claims);
	b->claims = NULL;
	b->nclaims = 0;
}

int
mesh_compute(const struct conf *conf, const struct mesh_site *sites, size_t nsites,
             const struct mesh_params *params, int64_t now, struct mesh_desired **out)
{
	struct build b = {.conf = conf, .params = params};
	int err = -ENOMEM;

	b.d = calloc(1, sizeof(*b.d));
	if (!b.d)
		return -ENOMEM;
	b.d->table = conf->routing.table;
	b.d->protocol = conf->routing.protocol;
	b.d->metric = params->route_metric;
	if (index_trust(&b) < 0 || build_wg(&b) < 0 || admit_all(&b, sites, nsites, now) < 0)
		goto fail;
	/* By prefix, then site name: conflicts sit next to each other, reports come sorted. */
	sort(b.claims, b.nclaims, sizeof(*b.claims), claim_qcmp);
	if (drop_loops(&b) < 0)
		goto fail;
	resolve_conflicts(&b);
	if (b.oom || build_peers(&b) < 0)
		goto fail;
	/* What the claims decided is the peers' now: at 10,000 sites they are 0.6 MB the rest
	 * of the computation, its peak, need not carry; the admitted sites (0.7 MB) go once the
	 * segments are made. */
	free(b.claims);
	b.claims = NULL;
	b.nclaims = 0;
	if (build_routes(&b) < 0)
		goto fail;
	build_rules(&b);
	if (build_segments(&b) < 0)
		goto fail;
	free_admitted(&b);
	if (build_failclosed(&b, sites, nsites) < 0 || b.oom)
		goto fail;
	*out = b.d;
	b.d = NULL;
	err = 0;
fail:
	free_admitted(&b);
	free(b.trusted);
	free(b.trust_names);
	mesh_desired_free(b.d);
	return err;
}

static int
peer_site_qcmp(const void *name, const void *item)
{
	return strcmp(name, ((const struct mesh_peer *)item)->site);
}

/* The sites' own peers come first, sorted by name, then the standby peers of their announced
 * next keys. */
const struct mesh_peer *
mesh_desired_peer(const struct mesh_desired *d, const char *name)
{
	size_t lo = 0, hi = d != NULL ? d->npeers : 0;

	while (lo < hi) { /* lo ends at the first standby peer */
		size_t mid = lo + (hi - lo) / 2;

		if (d->peers[mid].standby)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == 0)
		return NULL;
	return bsearch(name, d->peers, lo, sizeof(*d->peers), peer_site_qcmp);
}

void
mesh_desired_free(struct mesh_desired *d)
{
	if (!d)
		return;
	free(d->wg.userspace_command);
	key_secret_free(d->wg.private_key);
	free(d->allowed);
	free(d->peers);
	free(d->names);
	free(d->routes);
	free(d->failclosed);
	for (size_t i = 0; i < d->nsegments; i++) {
		free(d->segments[i].ports);
		free(d->segments[i].vteps);
	}
	free(d->segments);
	free(d->reports);
	sodium_memzero(d, sizeof(*d));
	free(d);
}
