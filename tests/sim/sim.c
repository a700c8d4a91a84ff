/* netd-sim: many gossip sites in one process on virtual time, running the real core,
 * codec and crypto over a simulated lossy network; reproducible from its seed. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netd/log.h"
#include "netd/view.h"
#include "tests/sim/sim.h"

static const char *const scenario_names[] = {"steady",  "spread",    "crash", "accuracy",
                                             "stall",   "partition", "liar",  "join",
                                             "restart", "leave",     "admit", "revoke"};

/* ---- randomness of the network (separate from the sites' own) ---- */

static uint64_t net_rng;

uint64_t
rnd(void)
{
	uint64_t z = (net_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double
rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* ---- events ---- */

static struct event *heap;
static size_t nheap, heap_cap;
static uint64_t ev_order;

static bool
ev_less(const struct event *a, const struct event *b)
{
	return a->at < b->at || (a->at == b->at && a->order < b->order);
}

void
push(struct event e)
{
	size_t i;

	if (nheap == heap_cap) {
		heap_cap = heap_cap ? heap_cap * 2 : 4096;
		heap = realloc(heap, heap_cap * sizeof(*heap));
		if (heap == NULL) {
			fprintf(stderr, "netd-sim: out of memory\n");
			exit(1);
		}
	}
	e.order = ev_order++;
	i = nheap++;
	while (i > 0 && ev_less(&e, &heap[(i - 1) / 2])) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = e;
}

static struct event
pop(void)
{
	struct event top = heap[0], last = heap[--nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= nheap)
			break;
		if (c + 1 < nheap && ev_less(&heap[c + 1], &heap[c]))
			c++;
		if (!ev_less(&heap[c], &last))
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (nheap > 0)
		heap[i] = last;
	return top;
}

/* ---- sites ---- */

struct opts O;
struct site *S;
gossip_time now;
/* Empty with --federation: every site is admitted by its credential. */
static struct gossip_trust *trust;
bool partitioned;
static uint64_t delivered, dropped;

/* What the current scenario watches. */
int track_site = -1;
static uint32_t track_inc;
static gossip_time first_suspect;
uint64_t false_dead, left_dead, impaired_suspect, impaired_dead;
static uint64_t false_suspect, stalled_suspect, all_suspect;
/* Liar scenario: what honest sites did about honest live sites. */
static uint64_t live_dead, live_left, live_suspect, lies;

static void
site_addr(size_t i, struct addr_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->addr.family = AF_INET;
	/* 198.18.0.0/15, the benchmarking range: these addresses exist only in here. */
	ep->addr.u.bytes[0] = 198;
	ep->addr.u.bytes[1] = (uint8_t)(18 + (i >> 16));
	ep->addr.u.bytes[2] = (uint8_t)(i >> 8);
	ep->addr.u.bytes[3] = (uint8_t)i;
	ep->port = 7946;
}

static long
addr_site(const struct addr_endpoint *ep)
{
	long i;

	if (ep->addr.family != AF_INET || ep->addr.u.bytes[0] != 198 || ep->addr.u.bytes[1] < 18 ||
	    ep->addr.u.bytes[1] > 19)
		return -1;
	i = (long)(ep->addr.u.bytes[1] - 18) << 16 | (long)ep->addr.u.bytes[2] << 8 |
	    ep->addr.u.bytes[3];
	return (size_t)i < O.sites ? i : -1;
}

static bool
is_stalled(size_t i)
{
	return S[i].stalled_until > now;
}

/* Stalled now or so recently that a probe sent during the stall may still be ending. */
static bool
was_stalled(size_t i)
{
	return S[i].stalled_until > 0 && now - S[i].stalled_until < 2 * GOSSIP_SEC;
}

void
schedule(size_t i)
{
	gossip_time t;

	if (S[i].down || S[i].g == NULL || S[i].liar)
		return;
	t = net_global_time(i, gossip_next_deadline(S[i].g));
	if (t < now)
		t = now;
	if (t != INT64_MAX)
		t += net_delay(i);
	if (t < S[i].scheduled) {
		S[i].scheduled = t;
		push((struct event){.at = t, .site = (uint32_t)i, .kind = EV_TICK});
	}
}

static void
cb_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	size_t from = (size_t)(uintptr_t)arg;
	long dst = addr_site(to);
	struct event e;

	if (dst < 0 || (partitioned && S[from].side != S[dst].side) || rnd01() < O.loss ||
	    net_lost(from, (size_t)dst)) {
		dropped++;
		return;
	}
	e = (struct event){
	        .at = now + net_latency(from, (size_t)dst),
	        .site = (uint32_t)dst,
	        .kind = EV_DELIVER,
	        .len = (uint16_t)len,
	};
	site_addr(from, &e.from);
	e.data = malloc(len);
	if (e.data == NULL) {
		fprintf(stderr, "netd-sim: out of memory\n");
		exit(1);
	}
	memcpy(e.data, buf, len);
	push(e);
}

long
site_of_name(const char *name)
{
	unsigned long i;
	char *end;

	if (strncmp(name, "site-", 5) != 0 || name[5] < '0' || name[5] > '9')
		return -1;
	i = strtoul(name + 5, &end, 10);
	return *end == '\0' && i < O.sites ? (long)i : -1;
}

int
member_index(size_t i, size_t j)
{
	return gossip_member_find(S[i].g, S[j].desc.name);
}

static void
cb_event(void *arg, const struct gossip_event *ev)
{
	long named = site_of_name(ev->name);
	size_t at = (size_t)(uintptr_t)arg, who = (size_t)named;

	/* Events name sites: member indices differ from site to site in a federation. */
	if (named < 0 || S[at].outcast)
		return;
	if (!S[who].liar && !S[who].down) {
		live_suspect += ev->type == GOSSIP_EV_SUSPECT;
		live_dead += ev->type == GOSSIP_EV_DEAD;
		live_left += ev->type == GOSSIP_EV_LEFT;
	}
	switch (ev->type) {
	case GOSSIP_EV_JOIN:
		if ((int)who == track_site && S[at].joined == INT64_MAX)
			S[at].joined = now;
		break;
	case GOSSIP_EV_REVOKED:
		if ((int)who == track_site && S[at].revoked == INT64_MAX)
			S[at].revoked = now;
		break;
	case GOSSIP_EV_UPDATE:
		if ((int)who == track_site && ev->incarnation >= track_inc &&
		    S[at].seen_update == INT64_MAX)
			S[at].seen_update = now;
		break;
	case GOSSIP_EV_SUSPECT:
		if (!ev->local)
			break;
		all_suspect++;
		if ((int)who == track_site && first_suspect == INT64_MAX)
			first_suspect = now;
		if (S[who].down)
			break;
		if (is_stalled(who) || was_stalled(who))
			stalled_suspect++;
		else
			false_suspect++;
		impaired_suspect += net_impaired(who);
		break;
	case GOSSIP_EV_DEAD:
		if ((int)who == track_site && S[at].seen_dead == INT64_MAX)
			S[at].seen_dead = now;
		left_dead += S[who].left;
		if (!S[who].down && !S[who].liar) {
			false_dead++;
			impaired_dead += net_impaired(who);
		}
		break;
	default:
		break;
	}
}

/* The pairwise secret is the same from both ends: compute each pair once per process. */
struct dh_entry {
	uint8_t a[32], b[32], shared[32];
	bool used;
};
static struct dh_entry *dh_tab;
static size_t dh_cap, dh_n;

static size_t
dh_slot(const uint8_t *a, const uint8_t *b, size_t cap)
{
	uint64_t h;

	memcpy(&h, a, 8);
	h ^= (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 | b[3];
	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (cap - 1);
}

static struct dh_entry *
dh_find(const uint8_t *a, const uint8_t *b)
{
	for (size_t i = dh_slot(a, b, dh_cap);; i = (i + 1) & (dh_cap - 1)) {
		if (!dh_tab[i].used ||
		    (memcmp(dh_tab[i].a, a, 32) == 0 && memcmp(dh_tab[i].b, b, 32) == 0))
			return &dh_tab[i];
	}
}

static int
sim_dh(void *arg, uint8_t shared[32], const uint8_t priv[32], const uint8_t pub[32])
{
	const uint8_t *mine = arg, *lo = memcmp(mine, pub, 32) < 0 ? mine : pub,
	              *hi = lo == mine ? pub : mine;
	struct dh_entry *e;

	if ((dh_n + 1) * 2 > dh_cap) {
		struct dh_entry *old = dh_tab;
		size_t ocap = dh_cap;

		dh_cap = dh_cap ? dh_cap * 2 : 1 << 16;
		dh_tab = calloc(dh_cap, sizeof(*dh_tab));
		if (dh_tab == NULL)
			return -1;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].used)
				*dh_find(old[i].a, old[i].b) = old[i];
		free(old);
	}
	e = dh_find(lo, hi);
	if (!e->used) {
		if (crypto_scalarmult(e->shared, priv, pub) != 0)
			return -1;
		memcpy(e->a, lo, 32);
		memcpy(e->b, hi, 32);
		e->used = true;
		dh_n++;
	}
	memcpy(shared, e->shared, 32);
	return 0;
}

static void
make_desc(size_t i, struct wire_desc *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "site-%zu", i);
	site_addr(i, &d->gossip);
	d->nendpoints = 1;
	d->endpoints[0] = d->gossip;
	d->endpoints[0].port = 51820;
	d->noverlay = 1;
	d->overlay[0].addr.family = AF_INET;
	d->overlay[0].addr.u.bytes[0] = 10;
	d->overlay[0].addr.u.bytes[1] = 255;
	d->overlay[0].addr.u.bytes[2] = (uint8_t)(i >> 8);
	d->overlay[0].addr.u.bytes[3] = (uint8_t)i;
	d->overlay[0].len = 32;
	d->nprefixes = 1;
	d->prefixes[0].addr.family = AF_INET6;
	d->prefixes[0].addr.u.bytes[0] = 0xfd;
	d->prefixes[0].addr.u.bytes[4] = (uint8_t)(i >> 8);
	d->prefixes[0].addr.u.bytes[5] = (uint8_t)i;
	d->prefixes[0].len = 48;
	d->nvnis = 1;
	d->vnis[0] = 100;
}

static void
profile(struct gossip_profile *p)
{
	if (O.wan)
		gossip_profile_wan(p);
	else
		gossip_profile_lan(p);
	p->lifeguard = O.lifeguard;
}

/* The session a liar seals its lies under, apart from its gossip instance's. */
static uint64_t
liar_session(size_t i)
{
	return ((uint64_t)1 << 32) + i + 1;
}

uint64_t
site_session(size_t i)
{
	return (uint64_t)S[i].restarts << 40 | (i + 1);
}

/* The converged start holds every site's first session as confirmed everywhere; a later
 * session of a site is challenged as in a daemon. The session names its site, and the
 * member peer of site arg's view must be that site. */
static bool
sim_session_known(void *arg, uint32_t peer, uint64_t session)
{
	size_t at = (size_t)(uintptr_t)arg, j = (size_t)(session & 0xffffffffu) - 1;
	uint64_t run = session >> 32;

	/* A liar's lies go out under a session of their own, which it answers challenges for. */
	if (j >= O.sites || (run != 0 && !(S[j].liar && session == liar_session(j))))
		return false;
	return member_index(at, j) == (int)peer;
}

void
site_new(size_t i, uint64_t session, uint32_t inc)
{
	struct gossip_config cfg = {0};
	struct addr_endpoint seeds[8];
	size_t ns = 0;
	char err[200];

	for (size_t k = 0; k < O.nseeds && ns < 8; k++) {
		/* Seeds spread over the range, so a 50/50 split leaves some on each side. */
		size_t s = k * (O.sites / (O.nseeds ? O.nseeds : 1));

		if (s != i)
			site_addr(s, &seeds[ns++]);
	}
	cfg.name = S[i].desc.name;
	cfg.private_key = S[i].priv;
	cfg.session = session;
	cfg.incarnation = inc;
	cfg.desc = &S[i].desc;
	profile(&cfg.profile);
	cfg.trust = trust;
	cfg.seeds = seeds;
	cfg.nseeds = ns;
	cfg.rng_seed = O.seed * 1000003u + i + ((uint64_t)S[i].restarts << 40);
	cfg.cb.send = cb_send;
	cfg.cb.event = cb_event;
	cfg.cb.arg = (void *)(uintptr_t)i;
	cfg.dh = sim_dh;
	if (!O.cold && !S[i].cold) {
		cfg.session_known = sim_session_known;
		cfg.session_arg = (void *)(uintptr_t)i;
	}
	cfg.dh_arg = S[i].pub;
	if (O.federation)
		fed_config(i, &cfg);
	S[i].g = gossip_new(&cfg, err, sizeof(err));
	if (S[i].g == NULL) {
		fprintf(stderr, "netd-sim: site %zu: %s\n", i, err);
		exit(1);
	}
}

void
site_start(size_t i)
{
	S[i].scheduled = INT64_MAX;
	S[i].down = false;
	gossip_start(S[i].g, net_site_now(i));
	schedule(i);
}

void
site_stop(size_t i, struct state *st)
{
	if (st != NULL) {
		memset(st, 0, sizeof(*st));
		if (view_carry(S[i].g, st) != 0) {
			fprintf(stderr, "netd-sim: out of memory\n");
			exit(1);
		}
		st->incarnation = gossip_self(S[i].g)->incarnation;
	}
	crash(i);
	gossip_free(S[i].g);
	S[i].g = NULL;
}

void
site_restart(size_t i, uint32_t inc, const struct state *st)
{
	/* A new random session in a daemon: here one no other run of the site used. */
	S[i].restarts++;
	site_new(i, site_session(i), inc);
	if (st != NULL)
		view_adopt(S[i].g, st, net_site_now(i));
	site_start(i);
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		fprintf(stderr, "netd-sim: out of memory\n");
		exit(1);
	}
	return p;
}

void
site_grant(size_t i, struct addr_prefix *prefix, uint32_t *vni)
{
	(void)i;
	*prefix = (struct addr_prefix){{AF_INET6, {.bytes = {0xfd}}}, 8};
	*vni = 100;
}

/* Every site's keys, descriptor and trust entry (or, --federation, credential); no gossip
 * instance yet. */
static void
setup_sites(void)
{
	uint8_t seedkey[32];

	S = xcalloc(O.sites, sizeof(*S));
	trust = gossip_trust_new();
	if (trust == NULL) {
		fprintf(stderr, "netd-sim: out of memory\n");
		exit(1);
	}
	memset(seedkey, 0, sizeof(seedkey));
	memcpy(seedkey, &O.seed, sizeof(O.seed));
	for (size_t i = 0; i < O.sites; i++) {
		uint64_t n = i;
		struct addr_prefix allowed;
		uint32_t vni;
		struct gossip_grant grant;

		crypto_generichash(S[i].priv, 32, (const uint8_t *)&n, sizeof(n), seedkey, 32);
		crypto_scalarmult_base(S[i].pub, S[i].priv);
		make_desc(i, &S[i].desc);
		site_grant(i, &allowed, &vni);
		grant = (struct gossip_grant){&allowed, 1, S[i].desc.overlay, 1, &vni, 1};
		if (!O.federation &&
		    gossip_trust_add(trust, S[i].desc.name, S[i].pub, &grant) != 0) {
			fprintf(stderr, "netd-sim: trust table\n");
			exit(1);
		}
		S[i].seen_update = S[i].seen_dead = S[i].full_view = INT64_MAX;
		S[i].joined = S[i].revoked = INT64_MAX;
		S[i].liar = O.sc == SC_LIAR && i >= O.sites - O.liars;
		S[i].down = true;
	}
	if (O.federation)
		fed_setup();
}

/* The first n sites start knowing each other (a converged federation), as the steady state
 * most measurements are about; the join scenario starts from nothing instead. In a
 * federation each first admits the others' credentials, verified once for all. */
static void
setup_converged(size_t n)
{
	struct gossip_desc **descs = xcalloc(O.sites, sizeof(*descs));

	for (size_t i = 0; i < n; i++) {
		site_new(i, site_session(i), 1);
		site_start(i);
		S[i].desc0 = *gossip_self(S[i].g);
		S[i].inc = 1;
		if (S[i].liar &&
		    (S[i].seal = seal_new(S[i].desc.name, S[i].priv, liar_session(i))) == NULL) {
			fprintf(stderr, "netd-sim: seal of liar %zu\n", i);
			exit(1);
		}
		if (S[i].seal != NULL)
			seal_set_dh(S[i].seal, sim_dh, S[i].pub);
		descs[i] = gossip_desc_new(gossip_self(S[i].g));
		if (descs[i] == NULL || gossip_desc_verify(descs[i]) != 0) {
			fprintf(stderr, "netd-sim: descriptor of site %zu\n", i);
			exit(1);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (O.federation)
			fed_admit_all(i, n);
		for (size_t j = 0; j < n; j++)
			if (i != j)
				gossip_add_member(S[i].g, net_site_now(i), descs[j]);
	}
	for (size_t i = 0; i < n; i++)
		gossip_desc_unref(descs[i]);
	free(descs);
}

/* ---- liars: trusted sites that use their real keys to say anything ---- */

static size_t
honest_sites(void)
{
	return O.sites - O.liars;
}

static size_t
random_honest(void)
{
	return (size_t)(rnd() % honest_sites());
}

/* A payload being written by liar li for site to. */
struct lie {
	size_t li, to;
	struct wire_writer w;
	uint8_t buf[SEAL_PAYLOAD_MAX];
	struct wire_msg m;
};

static struct lie L;

static void
lie_begin(size_t li, size_t to)
{
	L.li = li;
	L.to = to;
	wire_begin(&L.w, L.buf, sizeof(L.buf));
	memset(&L.m, 0, sizeof(L.m));
}

static void
lie_put(void)
{
	wire_put_msg(&L.w, &L.m);
	memset(&L.m, 0, sizeof(L.m));
}

static void
lie_send(void)
{
	uint8_t dgram[WIRE_DATAGRAM_MAX];
	struct addr_endpoint to;
	size_t len;

	if (L.w.len <= 1 || seal_wrap(S[L.li].seal, (uint32_t)L.to, S[L.to].pub, L.buf, L.w.len,
	                              dgram, sizeof(dgram), &len) != 0)
		return;
	site_addr(L.to, &to);
	lies++;
	cb_send((void *)(uintptr_t)L.li, &to, dgram, len);
}

/* An accusation signed with the liar's own key, whatever name it claims. */
static void
lie_accuse(uint8_t type, size_t about, uint32_t inc, size_t accuser)
{
	uint8_t buf[128];
	int len;

	L.m.type = type;
	strcpy(L.m.target, S[about].desc.name);
	strcpy(L.m.from, S[accuser].desc.name);
	L.m.incarnation = inc;
	len = wire_accuse_signed_bytes(L.m.target, inc, L.m.from, buf, sizeof(buf));
	if (len > 0)
		seal_sign(S[L.li].seal, buf, (size_t)len, L.m.sig);
	lie_put();
}

/* The liar's own descriptor, signed at a new incarnation; with another site's overlay
 * address and WireGuard endpoint when victim is not the liar itself. */
static void
lie_self(size_t victim)
{
	uint8_t buf[WIRE_DATAGRAM_MAX];
	struct wire_desc *d = &L.m.desc;
	int len;

	*d = S[L.li].desc0;
	if (victim != L.li) {
		d->overlay[0] = S[victim].desc.overlay[0];
		d->endpoints[0] = S[victim].desc.endpoints[0];
	}
	d->incarnation = ++S[L.li].inc;
	len = wire_desc_signed_bytes(d, buf, sizeof(buf));
	if (len < 0 || seal_sign(S[L.li].seal, buf, (size_t)len, d->sig) != 0)
		return;
	L.m.type = WIRE_ALIVE;
	lie_put();
}

static uint32_t
inc_of(size_t i)
{
	return gossip_self(S[i].g)->incarnation;
}

/* One round of every lie, to one honest site, about random honest ones. */
static void
liar_round(size_t li)
{
	size_t to = random_honest(), v = random_honest(), v2 = random_honest();
	uint32_t cur = inc_of(v);

	lie_begin(li, to);
	lie_accuse(WIRE_DEAD, v, UINT32_MAX, li);
	lie_accuse(WIRE_SUSPECT, v, cur, li);
	lie_accuse(WIRE_DEAD, v, cur, v2); /* in an honest site's name */
	lie_accuse(WIRE_SUSPECT, v2, inc_of(v2) + 1, random_honest());
	lie_accuse(WIRE_DEAD, to, UINT32_MAX, li); /* to the victim itself */
	lie_accuse(WIRE_SUSPECT, to, inc_of(to), li);
	L.m.type = WIRE_ENTRIES;
	L.m.nbuckets = 1;
	L.m.count = 5;
	strcpy(L.m.entries[0].name, S[v].desc.name);
	L.m.entries[0].incarnation = cur;
	L.m.entries[0].state = WIRE_STATE_DEAD;
	strcpy(L.m.entries[1].name, S[v2].desc.name);
	L.m.entries[1].incarnation = UINT32_MAX;
	L.m.entries[1].state = WIRE_STATE_SUSPECT;
	strcpy(L.m.entries[2].name, S[v2].desc.name);
	L.m.entries[2].incarnation = inc_of(v2);
	L.m.entries[2].state = WIRE_STATE_LEFT;
	strcpy(L.m.entries[3].name, S[to].desc.name);
	L.m.entries[3].incarnation = UINT32_MAX;
	L.m.entries[3].state = WIRE_STATE_ALIVE;
	strcpy(L.m.entries[4].name, S[to].desc.name);
	L.m.entries[4].incarnation = UINT32_MAX;
	L.m.entries[4].state = WIRE_STATE_DEAD;
	lie_put();
	/* A stale descriptor of a site that has moved on, and acks nobody asked for. */
	L.m.type = WIRE_ALIVE;
	L.m.desc = S[v].desc0;
	lie_put();
	L.m.type = WIRE_ACK;
	L.m.seq = (uint32_t)rnd();
	lie_put();
	L.m.type = WIRE_NACK;
	L.m.seq = (uint32_t)rnd();
	lie_put();
	lie_self(v);
	lie_send();
	push((struct event){.at = now + (gossip_time)(GOSSIP_SEC / O.lie_rate),
	                    .site = (uint32_t)li,
	                    .kind = EV_LIE});
}

/* An ACK_FOR carrying an ack of seq that the liar sealed for for_site. */
static void
lie_sealed_ack(size_t for_site, uint32_t seq, uint32_t relay_seq)
{
	uint8_t ack[16];
	struct wire_writer w;
	size_t len;

	L.m.type = WIRE_ACK;
	L.m.seq = seq;
	wire_begin(&w, ack, sizeof(ack));
	if (wire_put_msg(&w, &L.m) != 0 ||
	    seal_wrap(S[L.li].seal, (uint32_t)for_site, S[for_site].pub, ack, w.len, L.m.relay,
	              sizeof(L.m.relay), &len) != 0) {
		memset(&L.m, 0, sizeof(L.m));
		return;
	}
	L.m.type = WIRE_ACK_FOR;
	L.m.seq = relay_seq;
	L.m.relay_len = (uint16_t)len;
	lie_put();
}

/* What a liar does with a datagram: stays alive (answers pings, refutes), and answers
 * every ping-req with forged acks and nacks instead of probing. */
static void
liar_receive(size_t li, const struct event *e)
{
	uint8_t plain[WIRE_DATAGRAM_MAX];
	static struct wire_msg m;
	char name[WIRE_NAME_MAX + 1];
	struct seal_opened op;
	struct wire_reader r;
	size_t plen;
	long from;

	if (seal_sender(e->data, e->len, name) != 0 || (from = site_of_name(name)) < 0 ||
	    seal_unwrap(S[li].seal, (uint32_t)from, S[from].pub, e->data, e->len, plain,
	                sizeof(plain), &plen, &op) != 0 ||
	    wire_reader_init(&r, plain, plen) != 0)
		return;
	lie_begin(li, (size_t)from);
	while (wire_next(&r, &m) == 1) {
		switch (m.type) {
		case WIRE_PING:
			L.m.type = WIRE_ACK;
			L.m.seq = m.seq;
			lie_put();
			break;
		case WIRE_PING_FOR: {
			/* Answers honestly for itself, so it stays a helper others ask. */
			long origin = site_of_name(m.from);

			if (origin >= 0)
				lie_sealed_ack((size_t)origin, m.origin_seq, m.seq);
			break;
		}
		case WIRE_PING_REQ:
			/* Asked to probe a target: never does, says it answered. */
			L.m.type = WIRE_ACK;
			L.m.seq = m.seq;
			lie_put();
			L.m.type = WIRE_NACK;
			L.m.seq = m.seq;
			lie_put();
			lie_sealed_ack((size_t)from, m.seq, m.seq);
			break;
		case WIRE_SUSPECT:
		case WIRE_DEAD:
			if (strcmp(m.target, S[li].desc.name) == 0 && m.incarnation >= S[li].inc) {
				S[li].inc = m.incarnation;
				lie_self(li);
			}
			break;
		default:
			break;
		}
	}
	lie_send();
}

static void
deliver(size_t i, struct event *e)
{
	delivered++;
	if (S[i].liar) {
		liar_receive(i, e);
		return;
	}
	gossip_receive(S[i].g, net_site_now(i), &e->from, e->data, e->len);
}

/* A datagram read by site i now, or held until its stall ends. */
static void
process(size_t i, struct event *e)
{
	if (S[i].down) {
		free(e->data);
		return;
	}
	if (is_stalled(i)) {
		if (S[i].nheld == S[i].held_cap) {
			S[i].held_cap = S[i].held_cap ? S[i].held_cap * 2 : 16;
			S[i].held = realloc(S[i].held, S[i].held_cap * sizeof(*e));
			if (S[i].held == NULL)
				exit(1);
		}
		S[i].held[S[i].nheld++] = *e;
		return;
	}
	deliver(i, e);
	free(e->data);
	schedule(i);
}

/* A datagram arriving at site i: read now, or later by a slow site or behind a queue. */
static void
arrive(size_t i, struct event *e)
{
	gossip_time t;

	if (S[i].down || (t = net_read_at(i)) < 0) {
		free(e->data);
		return;
	}
	if (t > now) {
		e->at = t;
		e->kind = EV_PROCESS;
		push(*e);
		return;
	}
	process(i, e);
}

void
run_until(gossip_time end)
{
	while (nheap > 0 && heap[0].at <= end) {
		struct event e = pop();
		size_t i = e.site;

		now = e.at;
		switch (e.kind) {
		case EV_TICK:
			if (e.at != S[i].scheduled || S[i].down)
				break;
			S[i].scheduled = INT64_MAX;
			if (is_stalled(i))
				break; /* picked up at the end of the stall */
			gossip_tick(S[i].g, net_site_now(i));
			schedule(i);
			break;
		case EV_DELIVER:
			arrive(i, &e);
			break;
		case EV_PROCESS:
			process(i, &e);
			break;
		case EV_FLOOD:
			net_flood(i);
			break;
		case EV_STALL_BEGIN:
			if (S[i].down || is_stalled(i))
				break;
			S[i].stalled_until = now + (gossip_time)(O.stall_s * GOSSIP_SEC);
			push((struct event){.at = S[i].stalled_until,
			                    .site = (uint32_t)i,
			                    .kind = EV_STALL_END});
			break;
		case EV_LIE:
			liar_round(i);
			break;
		case EV_STALL_END:
			if (S[i].down)
				break;
			/* A paused process wakes up to overdue timers and a full socket. */
			gossip_tick(S[i].g, net_site_now(i));
			for (size_t k = 0; k < S[i].nheld; k++) {
				deliver(i, &S[i].held[k]);
				free(S[i].held[k].data);
			}
			S[i].nheld = 0;
			S[i].scheduled = INT64_MAX;
			schedule(i);
			break;
		}
	}
	now = end;
}

void
crash(size_t i)
{
	S[i].down = true;
	for (size_t k = 0; k < S[i].nheld; k++)
		free(S[i].held[k].data);
	S[i].nheld = 0;
}

static void
teardown(void)
{
	while (nheap > 0) {
		struct event e = pop();

		free(e.data);
	}
	for (size_t i = 0; i < O.sites; i++) {
		gossip_free(S[i].g);
		gossip_cred_unref(S[i].cred);
		seal_free(S[i].seal);
		for (size_t k = 0; k < S[i].nheld; k++)
			free(S[i].held[k].data);
		free(S[i].held);
	}
	free(S);
	gossip_trust_free(trust);
	free(dh_tab);
	free(heap);
}

/* ---- statistics ---- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
pct(double *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	k = (size_t)ceil(p / 100.0 * (double)n);
	return v[k == 0 ? 0 : k - 1];
}

static double
mean(const double *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : NAN;
}

/* Standard error of the mean: how far a mean from this many samples may be off. */
static double
sem(const double *v, size_t n)
{
	double m = mean(v, n), ss = 0;

	if (n < 2)
		return NAN;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - m) * (v[i] - m);
	return sqrt(ss / (double)(n - 1) / (double)n);
}

void
out_num(const char *key, double v)
{
	/* JSON has no infinity: null is "never", as it is "no sample". */
	if (!isfinite(v))
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%.6g", key, v);
}

static double
wall_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
out_begin(double wall0)
{
	double wall = wall_clock() - wall0;

	printf("{\"scenario\":\"%s\",\"sites\":%zu,\"seed\":%llu,\"loss\":%g,\"lifeguard\":%s,"
	       "\"profile\":\"%s\"%s%s",
	       scenario_names[O.sc], O.sites, (unsigned long long)O.seed, O.loss,
	       O.lifeguard ? "true" : "false", O.wan ? "wan" : "lan",
	       O.cold ? ",\"cold\":true" : "", O.federation ? ",\"federation\":true" : "");
	out_num("wall_s", wall);
	out_num("cpu_s", (double)clock() / CLOCKS_PER_SEC);
	out_num("datagrams", (double)delivered);
	net_report();
}

double
round_s(void)
{
	struct gossip_profile p;

	profile(&p);
	return p.gossip_interval_ms / 1000.0;
}

static double
sync_s(void)
{
	struct gossip_profile p;

	profile(&p);
	return p.sync_interval_ms / 1000.0;
}

static size_t
converged_sites(void)
{
	size_t live = 0, ok = 0;

	for (size_t i = 0; i < O.sites; i++)
		live += !S[i].down;
	for (size_t i = 0; i < O.sites; i++)
		if (!S[i].down && gossip_alive_count(S[i].g) == live)
			ok++;
	return ok;
}

/* ---- scenarios ---- */

uint64_t
total_tx(void)
{
	uint64_t t = 0;

	for (size_t i = 0; i < O.sites; i++)
		if (S[i].g != NULL)
			t += gossip_counters(S[i].g)->tx_bytes;
	return t;
}

static void
sc_steady(double wall0)
{
	uint64_t tx0;
	double dur = O.duration_s ? O.duration_s : 60, max_rate = 0;

	run_until(now + (gossip_time)(O.warmup_s * GOSSIP_SEC));
	tx0 = total_tx();
	for (size_t i = 0; i < O.sites; i++)
		S[i].tx_bytes_mark = gossip_counters(S[i].g)->tx_bytes;
	run_until(now + (gossip_time)(dur * GOSSIP_SEC));
	for (size_t i = 0; i < O.sites; i++) {
		double r = (double)(gossip_counters(S[i].g)->tx_bytes - S[i].tx_bytes_mark) / dur;

		if (r > max_rate)
			max_rate = r;
	}
	out_begin(wall0);
	out_num("duration_s", dur);
	out_num("bytes_per_site_s", (double)(total_tx() - tx0) / dur / (double)O.sites);
	out_num("max_bytes_per_site_s", max_rate);
	out_num("false_suspicions", (double)false_suspect);
	out_num("false_dead", (double)false_dead);
	printf("}\n");
}

static void
sc_spread(double wall0)
{
	size_t n = O.events ? O.events : 5, nall = 0, stragglers = 0;
	double *full = calloc(n, sizeof(double)), *p99 = calloc(n, sizeof(double));
	double *lat = calloc(O.sites, sizeof(double)), steady_rate;

	uint64_t tx0;
	double steady_s = 10;

	run_until(now + (gossip_time)(O.warmup_s * GOSSIP_SEC));
	/* A quiet stretch first: the bandwidth without churn, at no extra set-up cost. */
	tx0 = total_tx();
	run_until(now + (gossip_time)(steady_s * GOSSIP_SEC));
	steady_rate = (double)(total_tx() - tx0) / steady_s / (double)O.sites;
	for (size_t e = 0; e < n; e++) {
		size_t who = (size_t)(rnd() % O.sites), k = 0;
		struct wire_desc d = S[who].desc;
		gossip_time t0 = now;

		for (size_t i = 0; i < O.sites; i++)
			S[i].seen_update = INT64_MAX;
		track_site = (int)who;
		d.vnis[0] = 100;
		d.nvnis = 1;
		d.endpoints[0].port = (uint16_t)(51820 + e + 1); /* a changed descriptor */
		gossip_update(S[who].g, net_site_now(who), &d);
		track_inc = gossip_self(S[who].g)->incarnation;
		S[who].seen_update = now;
		schedule(who);
		/* Two anti-entropy intervals: whoever has not heard by then is a straggler. */
		run_until(t0 + (gossip_time)(2 * sync_s() * GOSSIP_SEC));
		for (size_t i = 0; i < O.sites; i++) {
			if (S[i].seen_update == INT64_MAX) {
				stragglers++;
				continue;
			}
			lat[k++] = (double)(S[i].seen_update - t0) / GOSSIP_SEC / round_s();
		}
		full[nall] = k == O.sites ? pct(lat, k, 100) : INFINITY;
		p99[nall++] = pct(lat, k, 99);
	}
	out_begin(wall0);
	out_num("updates", (double)n);
	out_num("round_s", round_s());
	out_num("rounds_all_median", pct(full, nall, 50));
	out_num("rounds_all_p99", pct(full, nall, 99));
	out_num("rounds_all_max", pct(full, nall, 100));
	out_num("rounds_99pct_sites_median", pct(p99, nall, 50));
	out_num("stragglers_after_2_sync", (double)stragglers);
	out_num("steady_bytes_per_site_s", steady_rate);
	printf("}\n");
	free(full);
	free(p99);
	free(lat);
}

/* Crashes a random honest site and runs dur seconds. Adds when it was first suspected to
 * first (when it was); dead: when the last live honest site declared it dead (INFINITY
 * if one did not). */
static void
crash_one(double dur, double *first, size_t *nfirst, double *dead)
{
	gossip_time t0 = now, last = 0;
	bool all = true;
	size_t who;

	do
		who = random_honest();
	while (S[who].down);
	for (size_t i = 0; i < O.sites; i++)
		S[i].seen_dead = INT64_MAX;
	track_site = (int)who;
	first_suspect = INT64_MAX;
	crash(who);
	run_until(t0 + (gossip_time)(dur * GOSSIP_SEC));
	if (first_suspect != INT64_MAX)
		first[(*nfirst)++] = (double)(first_suspect - t0) / GOSSIP_SEC;
	for (size_t i = 0; i < honest_sites(); i++) {
		if (S[i].down)
			continue;
		if (S[i].seen_dead == INT64_MAX)
			all = false;
		else if (S[i].seen_dead > last)
			last = S[i].seen_dead;
	}
	*dead = all ? (double)(last - t0) / GOSSIP_SEC : INFINITY;
}

static void
sc_crash(double wall0)
{
	size_t n = O.events ? O.events : 3, nd = 0, ns = 0;
	double *all_dead = calloc(n, sizeof(double)), *first = calloc(n, sizeof(double));
	double dur = O.duration_s ? O.duration_s : 60;

	run_until(now + (gossip_time)(O.warmup_s * GOSSIP_SEC));
	for (size_t e = 0; e < n; e++)
		crash_one(dur, first, &ns, &all_dead[nd++]);
	out_begin(wall0);
	out_num("crashes", (double)n);
	out_num("first_suspicion_mean_s", mean(first, ns));
	out_num("first_suspicion_sem_s", sem(first, ns));
	out_num("first_suspicion_p99_s", pct(first, ns, 99));
	out_num("dead_everywhere_median_s", pct(all_dead, nd, 50));
	out_num("dead_everywhere_p99_s", pct(all_dead, nd, 99));
	out_num("dead_everywhere_max_s", pct(all_dead, nd, 100));
	out_num("false_dead", (double)false_dead);
	printf("}\n");
	free(all_dead);
	free(first);
}

static void
sc_accuracy(double wall0, bool stall)
{
	double dur = O.duration_s ? O.duration_s : 600;
	struct gossip_profile p;
	gossip_time end;

	profile(&p);
	run_until(now + (gossip_time)(O.warmup_s * GOSSIP_SEC));
	false_suspect = stalled_suspect = false_dead = all_suspect = 0;
	impaired_suspect = impaired_dead = 0;
	end = now + (gossip_time)(dur * GOSSIP_SEC);
	if (stall) {
		size_t nstall = (size_t)ceil(O.stall_fraction * (double)O.sites);

		/* Stalls are laid out in advance, so both modes see the same ones. */
		for (size_t k = 0; k < nstall; k++) {
			size_t i = k * (O.sites / nstall);
			gossip_time t = now;

			for (;;) {
				t += (gossip_time)(-log(1.0 - rnd01()) * O.stall_gap_s *
				                   GOSSIP_SEC);
				if (t >= end)
					break;
				push((struct event){
				        .at = t, .site = (uint32_t)i, .kind = EV_STALL_BEGIN});
			}
		}
	}
	run_until(end);
	out_begin(wall0);
	out_num("duration_s", dur);
	out_num("site_probe_periods", dur * 1000.0 / p.probe_interval_ms * (double)O.sites);
	out_num("false_suspicions", (double)false_suspect);
	out_num("false_suspicions_per_site_period",
	        (double)false_suspect / (dur * 1000.0 / p.probe_interval_ms * (double)O.sites));
	out_num("suspicions_of_stalled", (double)stalled_suspect);
	out_num("false_dead", (double)false_dead);
	printf("}\n");
}

double
run_until_true(bool (*done)(void), double step_s, double limit_s)
{
	gossip_time t0 = now, t = now;

	while (t < t0 + (gossip_time)(limit_s * GOSSIP_SEC)) {
		t += (gossip_time)(step_s * GOSSIP_SEC);
		run_until(t);
		if (done())
			return (double)(now - t0) / GOSSIP_SEC;
	}
	return INFINITY;
}

static bool
all_converged(void)
{
	return converged_sites() == O.sites;
}

void
partition_groups(size_t *sizes, size_t ngroups)
{
	memset(sizes, 0, ngroups * sizeof(*sizes));
	for (size_t i = 0; i < O.sites; i++) {
		if (O.split > 0)
			S[i].side = (double)i < O.split * (double)O.sites ? 0 : 1;
		else
			S[i].side = (int)(i % O.islands);
		sizes[S[i].side]++;
	}
}

static void
sc_partition(double wall0)
{
	double split = O.partition_s ? O.partition_s : 600,
	       limit = O.duration_s ? O.duration_s : 300, agree;
	size_t ngroups = O.split > 0 ? 2 : O.islands, split_ok = 0, smallest = O.sites;
	size_t *sizes = xcalloc(ngroups, sizeof(*sizes));

	run_until(now + (gossip_time)(O.warmup_s * GOSSIP_SEC));
	partition_groups(sizes, ngroups);
	partitioned = true;
	run_until(now + (gossip_time)(split * GOSSIP_SEC));
	for (size_t i = 0; i < O.sites; i++)
		split_ok += gossip_alive_count(S[i].g) == sizes[S[i].side];
	for (size_t k = 0; k < ngroups; k++)
		smallest = sizes[k] < smallest ? sizes[k] : smallest;
	free(sizes);
	partitioned = false;
	agree = run_until_true(all_converged, 0.5, limit);
	out_begin(wall0);
	out_num("groups", (double)ngroups);
	out_num("smallest_group", (double)smallest);
	out_num("split_s", split);
	out_num("sites_seeing_only_their_side", (double)split_ok);
	out_num("agree_after_heal_s", agree);
	out_num("converged_sites", (double)converged_sites());
	printf("}\n");
}

/* Crashes among honest sites while liars lie: what the liars got (live sites dead or left
 * anywhere: routes withdrawn) and what they delayed (dead everywhere after a crash). */
static void
sc_liar(double wall0)
{
	size_t n = O.events ? O.events : 5, nd = 0, ns = 0;
	double *all_dead = calloc(n, sizeof(double)), *first = calloc(n, sizeof(double));
	double dur = O.duration_s ? O.duration_s : 40;
	uint64_t refutations = 0, refused = 0;

	for (size_t li = honest_sites(); li < O.sites; li++)
		push((struct event){.at = now + (gossip_time)(rnd01() * GOSSIP_SEC / O.lie_rate),
		                    .site = (uint32_t)li,
		                    .kind = EV_LIE});
	run_until(now + (gossip_time)(O.warmup_s * GOSSIP_SEC));
	for (size_t e = 0; e < n; e++)
		crash_one(dur, first, &ns, &all_dead[nd++]);
	for (size_t i = 0; i < honest_sites(); i++) {
		refutations += gossip_counters(S[i].g)->refutations;
		refused += gossip_counters(S[i].g)->drop_refused;
	}
	out_begin(wall0);
	printf(",\"liars\":%zu", O.liars);
	out_num("lie_rate", O.lie_rate);
	out_num("lies", (double)lies);
	out_num("crashes", (double)n);
	out_num("first_suspicion_mean_s", mean(first, ns));
	out_num("dead_everywhere_median_s", pct(all_dead, nd, 50));
	out_num("dead_everywhere_p99_s", pct(all_dead, nd, 99));
	out_num("dead_everywhere_max_s", pct(all_dead, nd, 100));
	out_num("live_dead", (double)live_dead);
	out_num("live_withdrawn", (double)(live_dead + live_left));
	out_num("live_suspicions", (double)live_suspect);
	out_num("refutations", (double)refutations);
	out_num("refused", (double)refused);
	printf("}\n");
	free(all_dead);
	free(first);
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: netd-sim [--sites N] [--seed S] [--scenario steady|spread|crash|accuracy|\n"
	        "                 stall|partition|liar|join|restart|leave|admit|revoke]\n"
	        "  [--loss P] [--latency MS] [--jitter MS] [--duration S] [--warmup S]\n"
	        "  [--events N] [--no-lifeguard] [--wan] [--seeds K] [--cold]\n"
	        "  [--stall-fraction F] [--stall S] [--stall-gap S] [--liars L] [--lie-rate R]\n"
	        "  [--partition S] [--split F] [--islands K]\n"
	        "  [--start-spread S] [--down S] [--graceful] [--linger S]\n"
	        "  [--federation] [--restart-during S]\n"
	        "network and hosts:\n"
	        "  [--site-loss SITE:P]... [--link-loss A:B:P]... [--block FROM:TO]...\n"
	        "  [--block-pair A:B]... [--burst P_GOOD_BAD:P_BAD_GOOD:LOSS_GOOD:LOSS_BAD]\n"
	        "  [--regions K] [--intra-latency MS] [--inter-latency MS]\n"
	        "  [--slow-fraction F] [--slow-delay MS] [--skew-fraction F] [--skew R]\n"
	        "  [--capacity DATAGRAMS_PER_S] [--queue N] [--flood-site SITE] [--flood-rate R]\n"
	        "Prints one JSON line of results.\n");
}

static double
num(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < 0) {
		fprintf(stderr, "netd-sim: %s: not a non-negative number: %s\n", what, s);
		exit(2);
	}
	return v;
}

static const struct option long_options[] = {
        {"sites", 1, 0, 'n'},
        {"seed", 1, 0, 's'},
        {"scenario", 1, 0, 'c'},
        {"loss", 1, 0, 'l'},
        {"latency", 1, 0, 'L'},
        {"jitter", 1, 0, 'J'},
        {"duration", 1, 0, 'd'},
        {"warmup", 1, 0, 'w'},
        {"events", 1, 0, 'e'},
        {"no-lifeguard", 0, 0, 'G'},
        {"wan", 0, 0, 'W'},
        {"seeds", 1, 0, 'S'},
        {"stall-fraction", 1, 0, 'f'},
        {"stall", 1, 0, 'p'},
        {"stall-gap", 1, 0, 'g'},
        {"partition", 1, 0, 'P'},
        {"split", 1, 0, 'x'},
        {"islands", 1, 0, 'i'},
        {"help", 0, 0, 'h'},
        {"liars", 1, 0, 'y'},
        {"lie-rate", 1, 0, 'r'},
        {"cold", 0, 0, 'C'},
        {"start-spread", 1, 0, 'a'},
        {"down", 1, 0, 'D'},
        {"linger", 1, 0, 'E'},
        {"graceful", 0, 0, 'F'},
        {"federation", 0, 0, 'R'},
        {"restart-during", 1, 0, 'T'},
        {"site-loss", 1, 0, OPT_SITE_LOSS},
        {"link-loss", 1, 0, OPT_LINK_LOSS},
        {"block", 1, 0, OPT_BLOCK},
        {"block-pair", 1, 0, OPT_BLOCK_PAIR},
        {"burst", 1, 0, OPT_BURST},
        {"regions", 1, 0, OPT_REGIONS},
        {"intra-latency", 1, 0, OPT_INTRA_LATENCY},
        {"inter-latency", 1, 0, OPT_INTER_LATENCY},
        {"slow-fraction", 1, 0, OPT_SLOW_FRACTION},
        {"slow-delay", 1, 0, OPT_SLOW_DELAY},
        {"skew-fraction", 1, 0, OPT_SKEW_FRACTION},
        {"skew", 1, 0, OPT_SKEW},
        {"capacity", 1, 0, OPT_CAPACITY},
        {"queue", 1, 0, OPT_QUEUE},
        {"flood-site", 1, 0, OPT_FLOOD_SITE},
        {"flood-rate", 1, 0, OPT_FLOOD_RATE},
        {0, 0, 0, 0},
};

static int
scenario_option(const char *name)
{
	for (size_t k = 0; k < sizeof(scenario_names) / sizeof(*scenario_names); k++)
		if (strcmp(name, scenario_names[k]) == 0) {
			O.sc = (enum scenario)k;
			return 0;
		}
	fprintf(stderr, "netd-sim: unknown scenario %s\n", name);
	return -1;
}

/* 0, or -1 for an option that is not one or a bad value. */
static int
option(int c, const char *arg)
{
	switch (c) {
	case 'n':
		O.sites = (size_t)num(arg, "--sites");
		break;
	case 's':
		O.seed = (uint64_t)num(arg, "--seed");
		break;
	case 'c':
		return scenario_option(arg);
	case 'l':
		O.loss = num(arg, "--loss");
		break;
	case 'L':
		O.latency_ms = num(arg, "--latency");
		break;
	case 'J':
		O.jitter_ms = num(arg, "--jitter");
		break;
	case 'd':
		O.duration_s = num(arg, "--duration");
		break;
	case 'w':
		O.warmup_s = num(arg, "--warmup");
		break;
	case 'e':
		O.events = (size_t)num(arg, "--events");
		break;
	case 'G':
		O.lifeguard = false;
		break;
	case 'W':
		O.wan = true;
		break;
	case 'C':
		O.cold = true;
		break;
	case 'S':
		O.nseeds = (size_t)num(arg, "--seeds");
		break;
	case 'f':
		O.stall_fraction = num(arg, "--stall-fraction");
		break;
	case 'p':
		O.stall_s = num(arg, "--stall");
		break;
	case 'g':
		O.stall_gap_s = num(arg, "--stall-gap");
		break;
	case 'P':
		O.partition_s = num(arg, "--partition");
		break;
	case 'x':
		O.split = num(arg, "--split");
		break;
	case 'i':
		O.islands = (size_t)num(arg, "--islands");
		break;
	case 'y':
		O.liars = (size_t)num(arg, "--liars");
		break;
	case 'r':
		O.lie_rate = num(arg, "--lie-rate");
		break;
	case 'a':
		O.start_spread_s = num(arg, "--start-spread");
		break;
	case 'D':
		O.down_s = num(arg, "--down");
		break;
	case 'E':
		O.linger_s = num(arg, "--linger");
		break;
	case 'F':
		O.graceful = true;
		break;
	case 'R':
		O.federation = true;
		break;
	case 'T':
		O.restart_during_s = num(arg, "--restart-during");
		break;
	default:
		return net_option(c, arg);
	}
	return 0;
}

/* 0, or -1 with a message for options that do not go together. */
static int
check_options(void)
{
	if (O.sites < 2 || O.sites > 100000 || O.loss >= 1 || O.stall_fraction > 1 ||
	    O.lie_rate <= 0 || O.liars > 1000 || O.split >= 1 || O.islands < 2 ||
	    O.islands > O.sites)
		return -1;
	if (O.sc == SC_RESTART && 2 * (O.events ? O.events : 3) > O.sites) {
		fprintf(stderr, "netd-sim: --events: at most %zu restarts with %zu sites\n",
		        O.sites / 2, O.sites);
		return -1;
	}
	/* Daemons starting from nothing have confirmed no one's session. */
	if (O.sc == SC_JOIN)
		O.cold = true;
	/* Only a federation's authorities revoke. */
	if (O.sc == SC_REVOKE)
		O.federation = true;
	/* The revoked site, the site it is handed to and the restarted one are three. */
	if (O.sc == SC_REVOKE && O.sites < 3) {
		fprintf(stderr, "netd-sim: --scenario revoke: at least 3 sites\n");
		return -1;
	}
	if (O.restart_during_s >= 0 && O.sc != SC_REVOKE) {
		fprintf(stderr, "netd-sim: --restart-during goes with --scenario revoke\n");
		return -1;
	}
	/* The liars come on top of the honest sites; elsewhere there are none. */
	if (O.sc == SC_LIAR)
		O.sites += O.liars;
	else
		O.liars = 0;
	/* Crashed sites stay down: crashing more than half would leave few or no observers. */
	if ((O.sc == SC_CRASH || O.sc == SC_LIAR || O.sc == SC_LEAVE) &&
	    O.events > (O.sites - O.liars) / 2) {
		fprintf(stderr, "netd-sim: --events: at most %zu with %zu sites\n",
		        (O.sites - O.liars) / 2, O.sites - O.liars);
		return -1;
	}
	return 0;
}

static void
run_scenario(double wall0)
{
	switch (O.sc) {
	case SC_STEADY:
		sc_steady(wall0);
		break;
	case SC_SPREAD:
		sc_spread(wall0);
		break;
	case SC_CRASH:
		sc_crash(wall0);
		break;
	case SC_ACCURACY:
		sc_accuracy(wall0, false);
		break;
	case SC_STALL:
		sc_accuracy(wall0, true);
		break;
	case SC_PARTITION:
		sc_partition(wall0);
		break;
	case SC_LIAR:
		sc_liar(wall0);
		break;
	case SC_JOIN:
		sc_join(wall0);
		break;
	case SC_RESTART:
		sc_restart(wall0);
		break;
	case SC_LEAVE:
		sc_leave(wall0);
		break;
	case SC_ADMIT:
		sc_admit(wall0);
		break;
	case SC_REVOKE:
		sc_revoke(wall0);
		break;
	}
}

int
main(int argc, char **argv)
{
	double wall0;
	int c;

	O = (struct opts){.sites = 100,
	                  .seed = 1,
	                  .sc = SC_STEADY,
	                  .latency_ms = 5,
	                  .jitter_ms = 10,
	                  .warmup_s = 10,
	                  .lifeguard = true,
	                  .stall_fraction = 0.1,
	                  .stall_s = 2,
	                  .stall_gap_s = 20,
	                  .islands = 2,
	                  .nseeds = 3,
	                  .liars = 1,
	                  .lie_rate = 5,
	                  .start_spread_s = 1,
	                  .down_s = 30,
	                  .linger_s = 2,
	                  .restart_during_s = -1};
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (option(c, optarg) != 0) {
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || check_options() != 0) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	/* What the daemon logs on a restart is not the simulator's output. */
	log_set_level(LOG_LEVEL_WARNING);
	net_rng = O.seed * 0x2545f4914f6cdd1dull;
	wall0 = wall_clock();
	if (net_setup() != 0)
		return 2;
	setup_sites();
	/* admit: the last site starts later, from nothing. */
	if (O.sc != SC_JOIN)
		setup_converged(O.sc == SC_ADMIT ? O.sites - 1 : O.sites);
	net_start_flood();
	run_scenario(wall0);
	teardown();
	net_teardown();
	return 0;
}
