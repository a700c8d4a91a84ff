/* netd-sim's models of what WANs and hosts do beyond uniform loss: loss per site, per link
 * and in bursts, one-way and blocked links, latency by region, slow sites, clocks that run
 * fast or slow, and a receive capacity that a flood fills. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

/* A directed link's own loss; 1 blocks it. */
struct link_rule {
	size_t from, to;
	double loss;
};

/* A site's access link and host. */
struct host {
	double loss;            /* each datagram sent or received is lost with this */
	bool burst_bad;         /* Gilbert-Elliott state of its access link */
	double rate;            /* its clock's rate: 1.05 runs 5% fast */
	gossip_time late;       /* a slow site does everything this late */
	gossip_time busy_until; /* receive capacity: when its queue empties */
	bool impaired;
};

struct site_value {
	size_t site;
	double v;
};

static struct {
	struct link_rule *links;
	size_t nlinks;
	struct site_value *site_loss;
	size_t nsite_loss;
	bool burst;
	double p_good_bad, p_bad_good, loss_good, loss_bad;
	size_t regions;
	double intra_ms, inter_ms;
	double slow_fraction, slow_ms;
	double skew_fraction, skew;
	double capacity; /* datagrams per second a site reads; 0: unlimited */
	size_t queue;
	long flood_site;
	double flood_rate;
} N = {.intra_ms = 5, .inter_ms = 80, .slow_ms = 200, .skew = 0.05, .queue = 256, .flood_site = -1};

static struct host *H;
static uint64_t capacity_drops, flood_sent, burst_lost, crossings;

static int
fields(const char *arg, const char *what, double *v, size_t n)
{
	const char *s = arg;

	for (size_t k = 0; k < n; k++) {
		char *end;

		errno = 0;
		v[k] = strtod(s, &end);
		if (errno != 0 || end == s || v[k] < 0 || *end != (k + 1 < n ? ':' : '\0')) {
			fprintf(stderr,
			        "netd-sim: %s: expected %zu non-negative numbers separated "
			        "by ':', got %s\n",
			        what, n, arg);
			return -1;
		}
		s = end + 1;
	}
	return 0;
}

static int
probability(double p, const char *what)
{
	if (p > 1) {
		fprintf(stderr, "netd-sim: %s: %g is not a probability\n", what, p);
		return -1;
	}
	return 0;
}

static int
add_link(size_t from, size_t to, double loss)
{
	struct link_rule *l = realloc(N.links, (N.nlinks + 1) * sizeof(*l));

	if (l == NULL)
		return -1;
	N.links = l;
	N.links[N.nlinks++] = (struct link_rule){from, to, loss};
	return 0;
}

static int
site_loss_option(const char *arg)
{
	struct site_value *sv;
	double v[2];

	if (fields(arg, "--site-loss", v, 2) != 0 || probability(v[1], "--site-loss") != 0)
		return -1;
	sv = realloc(N.site_loss, (N.nsite_loss + 1) * sizeof(*sv));
	if (sv == NULL)
		return -1;
	N.site_loss = sv;
	N.site_loss[N.nsite_loss++] = (struct site_value){(size_t)v[0], v[1]};
	return 0;
}

static int
link_option(int opt, const char *arg)
{
	double v[3] = {0, 0, 1};

	switch (opt) {
	case OPT_LINK_LOSS:
		if (fields(arg, "--link-loss", v, 3) != 0 || probability(v[2], "--link-loss") != 0)
			return -1;
		break;
	case OPT_BLOCK:
		if (fields(arg, "--block", v, 2) != 0)
			return -1;
		return add_link((size_t)v[0], (size_t)v[1], 1);
	case OPT_BLOCK_PAIR:
		if (fields(arg, "--block-pair", v, 2) != 0)
			return -1;
		break;
	}
	return add_link((size_t)v[0], (size_t)v[1], v[2]) != 0 ||
	                       add_link((size_t)v[1], (size_t)v[0], v[2]) != 0
	               ? -1
	               : 0;
}

static int
burst_option(const char *arg)
{
	double v[4];

	if (fields(arg, "--burst", v, 4) != 0)
		return -1;
	for (size_t k = 0; k < 4; k++)
		if (probability(v[k], "--burst") != 0)
			return -1;
	N.burst = true;
	N.p_good_bad = v[0];
	N.p_bad_good = v[1];
	N.loss_good = v[2];
	N.loss_bad = v[3];
	return 0;
}

static int
value(const char *arg, const char *what, double *out)
{
	return fields(arg, what, out, 1);
}

static int
fraction(const char *arg, const char *what, double *out)
{
	if (value(arg, what, out) != 0)
		return -1;
	return probability(*out, what);
}

int
net_option(int opt, const char *arg)
{
	double v;

	switch (opt) {
	case OPT_SITE_LOSS:
		return site_loss_option(arg);
	case OPT_LINK_LOSS:
	case OPT_BLOCK:
	case OPT_BLOCK_PAIR:
		return link_option(opt, arg);
	case OPT_BURST:
		return burst_option(arg);
	case OPT_REGIONS:
		if (value(arg, "--regions", &v) != 0)
			return -1;
		N.regions = (size_t)v;
		return 0;
	case OPT_INTRA_LATENCY:
		return value(arg, "--intra-latency", &N.intra_ms);
	case OPT_INTER_LATENCY:
		return value(arg, "--inter-latency", &N.inter_ms);
	case OPT_SLOW_FRACTION:
		return fraction(arg, "--slow-fraction", &N.slow_fraction);
	case OPT_SLOW_DELAY:
		return value(arg, "--slow-delay", &N.slow_ms);
	case OPT_SKEW_FRACTION:
		return fraction(arg, "--skew-fraction", &N.skew_fraction);
	case OPT_SKEW:
		return fraction(arg, "--skew", &N.skew);
	case OPT_CAPACITY:
		return value(arg, "--capacity", &N.capacity);
	case OPT_QUEUE:
		if (value(arg, "--queue", &v) != 0)
			return -1;
		N.queue = (size_t)v;
		return 0;
	case OPT_FLOOD_SITE:
		if (value(arg, "--flood-site", &v) != 0)
			return -1;
		N.flood_site = (long)v;
		return 0;
	case OPT_FLOOD_RATE:
		return value(arg, "--flood-rate", &N.flood_rate);
	}
	return -1;
}

static int
check_site(size_t i, const char *what)
{
	if (i < O.sites)
		return 0;
	fprintf(stderr, "netd-sim: %s: no site %zu (sites are 0..%zu)\n", what, i, O.sites - 1);
	return -1;
}

/* Slow and skewed sites are spread over the range, every k-th, so that they are the same
 * sites whatever the other options. */
static void
mark_every(double fraction, void (*mark)(struct host *, size_t))
{
	size_t n = (size_t)ceil(fraction * (double)O.sites);

	for (size_t k = 0; k < n; k++)
		mark(&H[k * (O.sites / n)], k);
}

static void
mark_slow(struct host *h, size_t k)
{
	(void)k;
	h->late = (gossip_time)(N.slow_ms * (double)GOSSIP_MSEC);
	h->impaired = true;
}

/* Half the skewed sites run fast, half slow. */
static void
mark_skewed(struct host *h, size_t k)
{
	h->rate = k % 2 ? 1 - N.skew : 1 + N.skew;
	h->impaired = true;
}

int
net_setup(void)
{
	H = xcalloc(O.sites, sizeof(*H));
	for (size_t i = 0; i < O.sites; i++)
		H[i].rate = 1;
	for (size_t k = 0; k < N.nsite_loss; k++) {
		if (check_site(N.site_loss[k].site, "--site-loss") != 0)
			return -1;
		H[N.site_loss[k].site].loss = N.site_loss[k].v;
		H[N.site_loss[k].site].impaired = true;
	}
	for (size_t k = 0; k < N.nlinks; k++) {
		if (check_site(N.links[k].from, "link") != 0 ||
		    check_site(N.links[k].to, "link") != 0)
			return -1;
		H[N.links[k].from].impaired = H[N.links[k].to].impaired = true;
	}
	if (N.flood_site >= 0) {
		if (check_site((size_t)N.flood_site, "--flood-site") != 0)
			return -1;
		H[N.flood_site].impaired = true;
	}
	if (N.slow_fraction > 0)
		mark_every(N.slow_fraction, mark_slow);
	if (N.skew_fraction > 0)
		mark_every(N.skew_fraction, mark_skewed);
	return 0;
}

void
net_teardown(void)
{
	free(H);
	free(N.links);
	free(N.site_loss);
}

/* A datagram crossing site i's access link (sent or received). */
static bool
access_lost(size_t i)
{
	struct host *h = &H[i];

	crossings++;
	if (N.burst) {
		h->burst_bad = h->burst_bad ? rnd01() >= N.p_bad_good : rnd01() < N.p_good_bad;
		if (rnd01() < (h->burst_bad ? N.loss_bad : N.loss_good)) {
			burst_lost++;
			return true;
		}
	}
	return h->loss > 0 && rnd01() < h->loss;
}

bool
net_lost(size_t from, size_t to)
{
	for (size_t k = 0; k < N.nlinks; k++)
		if (N.links[k].from == from && N.links[k].to == to && rnd01() < N.links[k].loss)
			return true;
	return access_lost(from) || access_lost(to);
}

gossip_time
net_latency(size_t from, size_t to)
{
	double base = O.latency_ms;

	if (N.regions > 0)
		base = from % N.regions == to % N.regions ? N.intra_ms : N.inter_ms;
	return (gossip_time)((base + O.jitter_ms * rnd01()) * (double)GOSSIP_MSEC);
}

gossip_time
net_read_at(size_t i)
{
	struct host *h = &H[i];
	gossip_time t = now;

	if (N.capacity > 0) {
		gossip_time service = (gossip_time)((double)GOSSIP_SEC / N.capacity);

		if (h->busy_until > now && (size_t)((h->busy_until - now) / service) >= N.queue) {
			capacity_drops++;
			return -1;
		}
		h->busy_until = (h->busy_until > now ? h->busy_until : now) + service;
		t = h->busy_until;
	}
	return t + h->late;
}

static gossip_time
local_at(size_t i, gossip_time t)
{
	return H[i].rate == 1 ? t : (gossip_time)((double)t * H[i].rate);
}

gossip_time
net_site_now(size_t i)
{
	return local_at(i, now);
}

gossip_time
net_global_time(size_t i, gossip_time local)
{
	gossip_time t;

	if (H[i].rate == 1 || local == INT64_MAX)
		return local;
	t = (gossip_time)ceil((double)local / H[i].rate);
	/* The first instant at which the site's own clock has reached local. */
	while (local_at(i, t) < local)
		t++;
	return t;
}

gossip_time
net_delay(size_t i)
{
	return H[i].late;
}

bool
net_impaired(size_t i)
{
	return H[i].impaired;
}

void
net_start_flood(void)
{
	if (N.flood_site >= 0 && N.flood_rate > 0)
		push((struct event){.at = now, .site = (uint32_t)N.flood_site, .kind = EV_FLOOD});
}

/* One datagram of the flood: a hello from a name no site trusts, the cheapest datagram
 * for the target to refuse, so what it costs is the queue it takes. */
void
net_flood(size_t i)
{
	struct event e = {.at = now, .site = (uint32_t)i, .kind = EV_DELIVER, .len = 64};

	e.data = xcalloc(1, e.len);
	e.data[0] = 0x12;
	e.data[1] = 5;
	memcpy(&e.data[2], "flood", 5);
	e.from.addr.family = AF_INET;
	/* 203.0.113.0/24 (TEST-NET-3): not any site's address. */
	e.from.addr.u.bytes[0] = 203;
	e.from.addr.u.bytes[2] = 113;
	e.from.addr.u.bytes[3] = 1;
	e.from.port = 9;
	push(e);
	flood_sent++;
	push((struct event){.at = now + (gossip_time)((double)GOSSIP_SEC / N.flood_rate),
	                    .site = (uint32_t)i,
	                    .kind = EV_FLOOD});
}

void
net_report(void)
{
	size_t impaired = 0;

	for (size_t i = 0; i < O.sites; i++)
		impaired += H[i].impaired;
	if (impaired > 0) {
		out_num("impaired_sites", (double)impaired);
		out_num("suspicions_of_impaired", (double)impaired_suspect);
		out_num("dead_of_impaired", (double)impaired_dead);
	}
	if (N.burst)
		out_num("burst_loss_per_link_crossing",
		        crossings ? (double)burst_lost / (double)crossings : 0);
	if (N.regions > 0) {
		out_num("regions", (double)N.regions);
		out_num("intra_latency_ms", N.intra_ms);
		out_num("inter_latency_ms", N.inter_ms);
	}
	if (N.slow_fraction > 0)
		out_num("slow_delay_ms", N.slow_ms);
	if (N.skew_fraction > 0)
		out_num("skew", N.skew);
	if (N.capacity > 0) {
		out_num("capacity_per_s", N.capacity);
		out_num("capacity_drops", (double)capacity_drops);
	}
	if (N.flood_site >= 0)
		out_num("flood_datagrams", (double)flood_sent);
}
