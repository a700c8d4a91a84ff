/* netd-load: one real netd against N simulated sites over real UDP. Each simulated site runs
 * the real gossip core with a real key, a signed descriptor (a WireGuard endpoint, a /32
 * prefix, an overlay address, VNI 100) and a federation credential signed by the
 * generator's authorities, on a UDP socket of its own: netd sees N distinct endpoints. The
 * generator writes netd's key, credential and config (netd joins through site-0, which
 * holds every site), then runs the sites in real time until SIGTERM or SIGINT. It prints a
 * JSON summary of what netd and the sites exchanged on SIGUSR1 and when it stops. On
 * SIGUSR2 every site leaves the federation at once, as a gossip member leaves gracefully.
 *
 * Each site also answers netd's WireGuard handshake initiations and keeps its sessions
 * alive as a WireGuard peer would (tests/load/wgresp.c), and acknowledges netd's path MTU
 * probes inside the tunnel as a site running netd would, carrying no other traffic: against
 * sites that never answered, netd's WireGuard retried every initiation every 5 s for 90 s,
 * and probed every path for ever, work a real federation never asks of it. A site's WireGuard
 * endpoint is its gossip socket, told apart by the first byte (WireGuard's types 1-4, gossip's
 * kinds from 0x11): a socket per site, as a second one would pass the 20,000 open files allowed
 * here at 10,000 sites.
 *
 * Each site starts converged with site-0 and a few random others (--view, both ways), not
 * with all: views of N members each would cost N^2 memory. So that netd is probed and synced
 * about as often as in a federation of N sites, where each site probes one of N-1 members
 * per period, the simulated sites stretch their probe and reconnect intervals by N
 * over the size of their view.
 *
 * Toward netd the sites behave as members holding the whole view (gossip_config.view_holds).
 * netd's anti-entropy (a digest to one random member every sync interval) finds a simulated
 * site's bucket sums unlike its own, and the site answers with its entries; netd answers
 * with all of its own, every site of the view, and a site that learnt would then ask netd
 * for the credential and descriptor of each it lacks (about 1 MB from netd per sync at 1,000
 * sites) and hold them all afterwards. A member holding the whole view holds those names
 * already and asks for nothing; so do the simulated sites, which take a simulated site they
 * do not hold as held. What remains of the sync is netd's list of entries (about 35 bytes a
 * site), which a member whose sums matched netd's would not get either. The same holds for
 * descriptors the sites pass on to each other: a site that learnt from them would come to
 * hold every other, the N^2 the views avoid (at 1,000 sites, about 4,800 credentials
 * checked and admitted a second with the generator's core saturated, and netd's probes
 * answered late). netd, the site that joins, is learnt as usual. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netd/addr.h"
#include "netd/cred.h"
#include "netd/gossip.h"
#include "netd/key.h"
#include "netd/pmtu.h"
#include "netd/pmtud.h"
#include "tests/load/wgresp.h"

#define LOAD_FEDERATION "load"
#define LOAD_VNI        100
#define AUTHORITIES     3
#define THRESHOLD       2
#define DAY             86400
#define NETD_NAME       "hub"
#define NETD_PORT       7946

static struct {
	size_t sites;
	size_t view;
	uint64_t seed;
	struct addr addr; /* the sites' address; with --distinct-addrs site 0's */
	struct addr netd; /* netd's gossip address */
	uint16_t port;    /* site i's gossip and WireGuard port is port + i */
	const char *dir;
	const char *interface;
	const char *backend;
	const char *metrics;
	unsigned table;
	bool wan;
	/* Site i at addr + i: a WireGuard under load rate-limits handshakes per source
	 * address, which one address shared by thousands of sites would meet at once. */
	bool distinct_addrs;
} O = {.view = 8,
       .seed = 1,
       .port = 20000,
       .interface = "wg-load",
       .backend = "auto",
       .table = 51820};

struct site {
	struct gossip *g;
	uint8_t priv[32], pub[32];
	struct wire_desc desc;
	struct gossip_cred *cred;
	struct gossip_desc *gd; /* its signed descriptor, verified once, shared by every view */
	int fd;
	ev_io io;
	ev_timer timer;
	struct wgresp_site wg;      /* its WireGuard responder's sessions */
	ev_timer keepalive;         /* its WireGuard passive keepalive */
	struct sockaddr_in wg_from; /* where netd's WireGuard last sent from */
};

static struct site *S;
static struct cred_authorities A;
static uint8_t A_secret[AUTHORITIES][64];
static struct ev_loop *loop;
/* Empty: every site is admitted by its credential. */
static struct gossip_trust *trust;

/* Datagrams between simulated sites stay in the process, delivered in order once the call
 * that sent them has returned (the core is not re-entered). */
struct queued {
	uint32_t to;
	struct addr_endpoint from;
	uint16_t len;
	uint8_t data[WIRE_DATAGRAM_MAX];
};

static struct {
	struct queued *q;
	size_t head, n, cap;
} Q;

static struct {
	uint64_t to_netd, to_netd_bytes, from_netd, from_netd_bytes, send_errors;
} C;

/* netd as the initiator of every site's WireGuard handshakes, and what the sites answered. */
static struct wgresp_initiator netd_wg;
static struct wgresp_counters W;

static void
die(const char *what)
{
	fprintf(stderr, "netd-load: %s\n", what);
	exit(1);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		die("out of memory");
	return p;
}

static gossip_time
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gossip_time)ts.tv_sec * GOSSIP_SEC + ts.tv_nsec / 1000;
}

static int64_t
unix_now(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

static struct addr
v4_plus(const char *base, uint32_t n)
{
	struct addr a;
	uint32_t v;

	if (addr_parse(base, &a) != 0)
		die("bad built-in address");
	v = ((uint32_t)a.u.bytes[0] << 24 | (uint32_t)a.u.bytes[1] << 16 |
	     (uint32_t)a.u.bytes[2] << 8 | a.u.bytes[3]) +
	    n;
	for (int k = 0; k < 4; k++)
		a.u.bytes[k] = (uint8_t)(v >> (24 - 8 * k));
	return a;
}

/* Site i's prefix, 172.16.0.0/12 plus i as a /32, and its overlay address, 100.64.0.0/10
 * plus i + 1; netd's own lie outside both. */
static struct addr_prefix
site_prefix(size_t i)
{
	struct addr a = v4_plus("172.16.0.0", (uint32_t)i);

	return addr_host(&a);
}

static struct addr_prefix
site_overlay(size_t i)
{
	struct addr a = v4_plus("100.64.0.0", (uint32_t)i + 1);

	return addr_host(&a);
}

#define NETD_PREFIX  "198.18.0.0/24"
#define NETD_OVERLAY "100.127.255.254"

static struct addr
site_addr(size_t i)
{
	struct addr a = O.addr;
	uint32_t v;

	if (O.distinct_addrs) {
		memcpy(&v, a.u.bytes, 4);
		v = htonl(ntohl(v) + (uint32_t)i);
		memcpy(a.u.bytes, &v, 4);
	}
	return a;
}

static struct addr_endpoint
site_endpoint(size_t i)
{
	return (struct addr_endpoint){site_addr(i), (uint16_t)(O.port + i)};
}

static long
site_of_endpoint(const struct addr_endpoint *ep)
{
	struct addr a;

	if (ep->port < O.port || (size_t)(ep->port - O.port) >= O.sites)
		return -1;
	a = site_addr(ep->port - O.port);
	return addr_equal(&ep->addr, &a) ? ep->port - O.port : -1;
}

/* The authorities' keys from the seed, sorted as an authority set keeps them. */
static void
authorities(void)
{
	uint8_t seedkey[32] = {0};

	memcpy(seedkey, &O.seed, sizeof(O.seed));
	memset(&A, 0, sizeof(A));
	strcpy(A.federation, LOAD_FEDERATION);
	A.threshold = THRESHOLD;
	for (size_t a = 0; a < AUTHORITIES; a++) {
		uint8_t seed[32], pub[CRED_KEY_LEN], secret[64];
		char label[] = "load-authority-0";
		size_t k;

		label[sizeof(label) - 2] = (char)('0' + a);
		crypto_generichash(seed, sizeof(seed), (const uint8_t *)label, sizeof(label) - 1,
		                   seedkey, sizeof(seedkey));
		if (cred_authority_from_seed(seed, pub, secret) != 0)
			die("an authority's key");
		for (k = A.nkeys; k > 0 && memcmp(A.keys[k - 1], pub, CRED_KEY_LEN) > 0; k--) {
			memcpy(A.keys[k], A.keys[k - 1], CRED_KEY_LEN);
			memcpy(A_secret[k], A_secret[k - 1], 64);
		}
		memcpy(A.keys[k], pub, CRED_KEY_LEN);
		memcpy(A_secret[k], secret, 64);
		A.nkeys++;
	}
}

/* A credential for name and key granting exactly one prefix, one overlay address and VNI
 * 100, signed by two authorities (a different pair for consecutive n), encoded into buf. */
static size_t
credential(size_t n, const char *name, const uint8_t key[32], struct addr_prefix prefix,
           struct addr_prefix overlay, uint8_t *buf, size_t cap)
{
	int64_t t = unix_now(NULL);
	struct cred c;
	int len;

	memset(&c, 0, sizeof(c));
	strcpy(c.federation, LOAD_FEDERATION);
	snprintf(c.site, sizeof(c.site), "%s", name);
	memcpy(c.wg_key, key, CRED_KEY_LEN);
	c.serial = 1;
	c.not_before = t - DAY;
	c.not_after = t + 365 * DAY;
	c.prefixes[0] = prefix;
	c.overlay[0] = overlay;
	c.vnis[0] = LOAD_VNI;
	c.nprefixes = c.noverlay = c.nvnis = 1;
	if (cred_normalize(&c) != 0 || cred_sign(&c, A_secret[n % AUTHORITIES]) != 0 ||
	    cred_sign(&c, A_secret[(n + 1) % AUTHORITIES]) != 0 ||
	    (len = cred_encode(&c, buf, cap)) < 0)
		die("a credential");
	return (size_t)len;
}

static void
cb_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	size_t i = (size_t)(uintptr_t)arg;
	long j = site_of_endpoint(to);

	if (j >= 0) {
		struct queued *e;

		if (Q.n == Q.cap) {
			size_t cap = Q.cap ? Q.cap * 2 : 1024;
			struct queued *q = xcalloc(cap, sizeof(*q));

			for (size_t k = 0; k < Q.n; k++)
				q[k] = Q.q[(Q.head + k) % Q.cap];
			free(Q.q);
			Q.q = q;
			Q.cap = cap;
			Q.head = 0;
		}
		e = &Q.q[(Q.head + Q.n++) % Q.cap];
		e->to = (uint32_t)j;
		e->from = site_endpoint(i);
		e->len = (uint16_t)len;
		memcpy(e->data, buf, len);
		return;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(to->port)};

	if (to->addr.family != AF_INET)
		return;
	memcpy(&sa.sin_addr, to->addr.u.bytes, 4);
	if (sendto(S[i].fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		C.send_errors++;
		return;
	}
	if (addr_equal(&to->addr, &O.netd)) {
		C.to_netd++;
		C.to_netd_bytes += len;
	}
}

static void
cb_event(void *arg, const struct gossip_event *ev)
{
	(void)arg;
	(void)ev;
}

static void
schedule(size_t i)
{
	gossip_time d = gossip_next_deadline(S[i].g), now = mono_now();

	ev_timer_stop(loop, &S[i].timer);
	if (d == INT64_MAX)
		return;
	ev_timer_set(&S[i].timer, d > now ? (double)(d - now) / GOSSIP_SEC : 0, 0);
	ev_timer_start(loop, &S[i].timer);
}

/* Delivers what the sites sent one another, and what that made them send, until quiet. */
static void
drain(void)
{
	while (Q.n > 0) {
		struct queued e = Q.q[Q.head];

		Q.head = (Q.head + 1) % Q.cap;
		Q.n--;
		gossip_receive(S[e.to].g, mono_now(), &e.from, e.data, e.len);
		schedule(e.to);
	}
}

static void
on_timer(struct ev_loop *l, ev_timer *w, int revents)
{
	size_t i = (size_t)(uintptr_t)w->data;

	(void)l;
	(void)revents;
	gossip_tick(S[i].g, mono_now());
	schedule(i);
	drain();
}

static int64_t
wg_now_ms(void)
{
	return mono_now() / (GOSSIP_SEC / 1000);
}

static void
wg_schedule(size_t i)
{
	int64_t d = wgresp_deadline(&S[i].wg), now = wg_now_ms();

	ev_timer_stop(loop, &S[i].keepalive);
	if (d == INT64_MAX)
		return;
	ev_timer_set(&S[i].keepalive, d > now ? (double)(d - now) / 1000 : 0, 0);
	ev_timer_start(loop, &S[i].keepalive);
}

/* Sends what site i's responder wrote to out (len 0: nothing) to netd's WireGuard, and
 * sets the site's keepalive timer by what it now owes. */
static void
wg_answer(size_t i, const uint8_t *out, size_t len)
{
	if (len > 0 && sendto(S[i].fd, out, len, 0, (const struct sockaddr *)&S[i].wg_from,
	                      sizeof(S[i].wg_from)) < 0)
		C.send_errors++;
	wg_schedule(i);
}

static uint16_t
ip_checksum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;

	for (size_t k = 0; k + 1 < len; k += 2)
		sum += (uint32_t)h[k] << 8 | h[k + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The inner packet of netd's data to site i: a path MTU probe to the site's overlay address
 * is acknowledged as netd's own prober does (the ack from the probe's destination, to its
 * source), inside the tunnel; anything else is not answered. Returns the ack's length in
 * ack (0: none). */
static size_t
probe_ack(const uint8_t *ip, size_t len, uint8_t ack[WGRESP_DATA_MAX])
{
	struct pmtu_wire m;
	size_t ihl, total, n = 20 + 8 + PMTU_WIRE_HEADER;
	const uint8_t *udp;

	if (len < 20 || ip[0] >> 4 != 4 || ip[9] != 17)
		return 0;
	ihl = (size_t)(ip[0] & 15) * 4;
	total = (size_t)ip[2] << 8 | ip[3];
	if (ihl < 20 || total > len || total < ihl + 8)
		return 0;
	udp = ip + ihl;
	if ((udp[2] << 8 | udp[3]) != PMTUD_PORT ||
	    pmtu_wire_parse(udp + 8, total - ihl - 8, &m) != 0 || m.type != PMTU_WIRE_PROBE)
		return 0;
	m.type = PMTU_WIRE_ACK;
	m.return_mtu = 0; /* the sites search nothing towards netd */
	memset(ack, 0, n);
	ack[0] = 0x45;
	ack[2] = (uint8_t)(n >> 8);
	ack[3] = (uint8_t)n;
	ack[8] = 64;
	ack[9] = 17;
	memcpy(ack + 12, ip + 16, 4); /* from the address probed */
	memcpy(ack + 16, ip + 12, 4); /* to the prober */
	ack[10] = (uint8_t)(ip_checksum(ack, 20) >> 8);
	ack[11] = (uint8_t)ip_checksum(ack, 20);
	memcpy(ack + 20, udp + 2, 2); /* ports swapped; no UDP checksum, as IPv4 allows */
	memcpy(ack + 22, udp, 2);
	ack[24] = (uint8_t)((n - 20) >> 8);
	ack[25] = (uint8_t)(n - 20);
	if (pmtu_wire_encode(&m, ack + 28, PMTU_WIRE_HEADER) < 0)
		return 0;
	return n;
}

/* A WireGuard datagram to site i: answered, if at all, to where it came from, as a
 * WireGuard peer answers its peer's latest endpoint. netd's path MTU probes are
 * acknowledged, as a site running netd would. */
static void
wg_receive(size_t i, const struct sockaddr_in *sa, const uint8_t *buf, size_t n)
{
	static uint8_t plain[65536];
	uint8_t out[WGRESP_REPLY_MAX], ack[WGRESP_DATA_MAX];
	size_t len = wgresp_receive(&S[i].wg, S[i].priv, S[i].pub, &netd_wg, wg_now_ms(), buf, n,
	                            out, &W);
	size_t plen, alen;

	S[i].wg_from = *sa;
	if (len == 0 && (plen = wgresp_open(&S[i].wg, buf, n, plain)) > 0 &&
	    (alen = probe_ack(plain, plen, ack)) > 0)
		len = wgresp_seal(&S[i].wg, ack, alen, out, &W);
	wg_answer(i, out, len);
}

static void
on_keepalive(struct ev_loop *l, ev_timer *w, int revents)
{
	size_t i = (size_t)(uintptr_t)w->data;
	uint8_t out[WGRESP_REPLY_MAX];
	size_t len = wgresp_poll(&S[i].wg, wg_now_ms(), out, &W);

	(void)l;
	(void)revents;
	wg_answer(i, out, len);
}

static void
on_readable(struct ev_loop *l, ev_io *w, int revents)
{
	size_t i = (size_t)(uintptr_t)w->data;
	/* WireGuard's transport messages may be longer than gossip's datagrams. */
	static uint8_t buf[65536];

	(void)l;
	(void)revents;
	for (int k = 0; k < 64; k++) {
		struct sockaddr_in sa;
		socklen_t salen = sizeof(sa);
		struct addr_endpoint from = {.addr = {.family = AF_INET}};
		ssize_t n = recvfrom(S[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&sa, &salen);

		if (n < 0)
			break;
		if (sa.sin_family != AF_INET)
			continue;
		if (n > 0 && buf[0] >= WGRESP_INITIATION && buf[0] <= WGRESP_TRANSPORT) {
			wg_receive(i, &sa, buf, (size_t)n);
			continue;
		}
		if (n > WIRE_DATAGRAM_MAX)
			continue;
		memcpy(from.addr.u.bytes, &sa.sin_addr, 4);
		from.port = ntohs(sa.sin_port);
		if (addr_equal(&from.addr, &O.netd)) {
			C.from_netd++;
			C.from_netd_bytes += (uint64_t)n;
		}
		gossip_receive(S[i].g, mono_now(), &from, buf, (size_t)n);
	}
	schedule(i);
	drain();
}

static void
on_stop(struct ev_loop *l, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ALL);
}

/* Each site announces its leave and goes on ticking, so that the leave spreads. */
static void
on_usr2(struct ev_loop *l, ev_signal *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	for (size_t i = 0; i < O.sites; i++) {
		gossip_leave(S[i].g, mono_now());
		schedule(i);
	}
	drain();
}

static void summary(void);

static void
on_usr1(struct ev_loop *l, ev_signal *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	summary();
}

static void
make_desc(size_t i)
{
	struct wire_desc *d = &S[i].desc;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "site-%zu", i);
	d->gossip = site_endpoint(i);
	d->nendpoints = 1;
	d->endpoints[0] = site_endpoint(i);
	d->noverlay = 1;
	d->overlay[0] = site_overlay(i);
	d->nprefixes = 1;
	d->prefixes[0] = site_prefix(i);
	d->nvnis = 1;
	d->vnis[0] = LOAD_VNI;
}

/* The converged start between simulated sites: a site's first session is i + 1, and a
 * member named site-J running session J + 1 is confirmed without an exchange. netd's
 * session is challenged as any new one. */
static bool
session_known(void *arg, uint32_t peer, uint64_t session)
{
	struct gossip_member_info m;
	unsigned long j;
	char *end;

	if (gossip_member(S[(uintptr_t)arg].g, peer, &m) != 0 || strncmp(m.name, "site-", 5) != 0)
		return false;
	j = strtoul(m.name + 5, &end, 10);
	return *end == '\0' && session == j + 1;
}

/* A member holding the whole view holds every simulated site; netd is the one that joins. */
static bool
holds_site(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, NETD_NAME) != 0;
}

static uint32_t
stretched(uint32_t ms, uint32_t max, double by)
{
	double v = ms * by;

	return v > max ? max : (uint32_t)v;
}

static void
site_new(size_t i, double stretch)
{
	struct gossip_config cfg = {0};
	uint8_t cred[CRED_ENCODED_MAX];
	char err[200];

	cfg.name = S[i].desc.name;
	cfg.private_key = S[i].priv;
	cfg.session = i + 1;
	cfg.incarnation = 1;
	cfg.desc = &S[i].desc;
	if (O.wan)
		gossip_profile_wan(&cfg.profile);
	else
		gossip_profile_lan(&cfg.profile);
	cfg.profile.probe_interval_ms = stretched(cfg.profile.probe_interval_ms, 600000, stretch);
	/* No anti-entropy of their own: views differ on purpose, and a sync between two sites
	 * would hand each the other's whole view (site-0's is everyone). netd's syncs go on. */
	cfg.profile.sync_interval_ms = 3600000;
	cfg.profile.reconnect_interval_ms =
	        stretched(cfg.profile.reconnect_interval_ms, 3600000, stretch);
	cfg.trust = trust;
	cfg.authorities = &A;
	cfg.credential = cred;
	cfg.credential_len = (size_t)gossip_cred_encode(S[i].cred, cred, sizeof(cred));
	cfg.unix_now = unix_now;
	cfg.rng_seed = O.seed * 1000003u + i;
	cfg.cb.send = cb_send;
	cfg.cb.event = cb_event;
	cfg.cb.arg = (void *)(uintptr_t)i;
	cfg.session_known = session_known;
	cfg.session_arg = (void *)(uintptr_t)i;
	cfg.view_holds = holds_site;
	S[i].g = gossip_new(&cfg, err, sizeof(err));
	if (S[i].g == NULL) {
		fprintf(stderr, "netd-load: site %zu: %s\n", i, err);
		exit(1);
	}
}

static void
admit(size_t i, size_t j, gossip_time now)
{
	char err[200];

	if (gossip_admit(S[i].g, now, S[j].cred, err, sizeof(err)) != 0 ||
	    gossip_add_member(S[i].g, now, S[j].gd) != 0) {
		fprintf(stderr, "netd-load: site %zu admitting site %zu: %s\n", i, j, err);
		exit(1);
	}
}

static void
open_socket(size_t i)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(O.port + i)};
	struct addr a = site_addr(i);
	char text[ADDR_STRLEN];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), rcvbuf = 8 << 20;

	/* site-0 takes a joining netd's requests for every site's credential in one burst; the
	 * default buffer (about 200 KiB) dropped most of them at 10,000 sites. The memory is
	 * taken only while datagrams wait. */
	memcpy(&sa.sin_addr, a.u.bytes, 4);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "netd-load: site %zu: UDP %s:%u: %s\n", i, addr_format(&a, text),
		        O.port + (unsigned)i, strerror(errno));
		exit(1);
	}
	S[i].fd = fd;
	ev_io_init(&S[i].io, on_readable, fd, EV_READ);
	S[i].io.data = (void *)(uintptr_t)i;
	ev_io_start(loop, &S[i].io);
	ev_timer_init(&S[i].timer, on_timer, 0, 0);
	S[i].timer.data = (void *)(uintptr_t)i;
	ev_timer_init(&S[i].keepalive, on_keepalive, 0, 0);
	S[i].keepalive.data = (void *)(uintptr_t)i;
}

static void
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)O.sites + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("cannot raise the limit of open files to one per site");
}

/* Who holds whom at the start, both ways: every site and site-0, and each site and view
 * random others (drawn from the seed). A view one-sided would have the held site drop the
 * holder's probes as from an unknown sender. */
static struct {
	uint32_t *peers;
	size_t n, cap;
} * V;

static bool
holds(size_t i, size_t j)
{
	for (size_t k = 0; k < V[i].n; k++)
		if (V[i].peers[k] == j)
			return true;
	return false;
}

static void
hold(size_t i, size_t j)
{
	if (V[i].n == V[i].cap) {
		V[i].cap = V[i].cap ? V[i].cap * 2 : 16;
		V[i].peers = realloc(V[i].peers, V[i].cap * sizeof(*V[i].peers));
		if (V[i].peers == NULL)
			die("out of memory");
	}
	V[i].peers[V[i].n++] = (uint32_t)j;
}

static void
draw_views(void)
{
	uint64_t x = O.seed * 0x9e3779b97f4a7c15u + 1;

	V = xcalloc(O.sites, sizeof(*V));
	for (size_t i = 1; i < O.sites; i++) {
		hold(0, i);
		hold(i, 0);
	}
	for (size_t i = 1; i < O.sites; i++) {
		for (size_t k = 0; k < O.view && V[i].n + 2 < O.sites; k++) {
			size_t j;

			do {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				j = 1 + (size_t)(x % (O.sites - 1));
			} while (j == i || holds(i, j));
			hold(i, j);
			hold(j, i);
		}
	}
}

/* Every site with its key, descriptor, credential and socket, converged with the sites its
 * view holds. Each stretches its timers by N over its view's size (netd included), so that
 * netd gets about one probe per probe interval from them all, as from N sites that each
 * hold everyone. */
static void
setup_sites(void)
{
	uint8_t seedkey[32] = {0}, buf[CRED_ENCODED_MAX];
	gossip_time now = mono_now();

	memcpy(seedkey, &O.seed, sizeof(O.seed));
	S = xcalloc(O.sites, sizeof(*S));
	if ((trust = gossip_trust_new()) == NULL)
		die("out of memory");
	draw_views();
	for (size_t i = 0; i < O.sites; i++) {
		double stretch = (double)O.sites / (double)(V[i].n + 1);
		uint64_t n = i;
		size_t len;

		crypto_generichash(S[i].priv, 32, (const uint8_t *)&n, sizeof(n), seedkey, 32);
		crypto_scalarmult_base(S[i].pub, S[i].priv);
		make_desc(i);
		len = credential(i, S[i].desc.name, S[i].pub, site_prefix(i), site_overlay(i), buf,
		                 sizeof(buf));
		if ((S[i].cred = gossip_cred_new(buf, len, NULL)) == NULL)
			die("a site's credential does not decode");
		site_new(i, stretch < 1 ? 1 : stretch);
		S[i].gd = gossip_desc_new(gossip_self(S[i].g));
		if (S[i].gd == NULL || gossip_desc_verify(S[i].gd) != 0)
			die("a site's descriptor does not verify");
		open_socket(i);
	}
	/* Started first: members handed in before the start are a restart's, which the core
	 * syncs with widely at once. */
	for (size_t i = 0; i < O.sites; i++) {
		gossip_start(S[i].g, now);
		for (size_t k = 0; k < V[i].n; k++)
			admit(i, V[i].peers[k], now);
		free(V[i].peers);
		schedule(i);
	}
	free(V);
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[4096], tmp[4200];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", O.dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL || fputs(text, f) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		fprintf(stderr, "netd-load: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* netd's key, its credential and its config, which names the authorities and site-0 as its
 * seed. Written last, once every site listens: its appearance says the sites are up. */
static void
write_netd(void)
{
	uint8_t priv[32], pub[32], seedkey[32] = {0}, bin[CRED_ENCODED_MAX];
	char keytext[KEY_BASE64_SIZE + 1], armor[CRED_ARMOR_MAX], conf[8192],
	        keys[512] = "", a[ADDR_STRLEN], s[ADDR_STRLEN];
	struct addr_prefix prefix, overlay;
	size_t len, off = 0;
	int n;

	memcpy(seedkey, &O.seed, sizeof(O.seed));
	crypto_generichash(priv, 32, (const uint8_t *)"netd", 4, seedkey, 32);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	key_public_from_private(pub, priv);
	wgresp_initiator_init(&netd_wg, pub);
	key_to_base64(keytext, priv);
	strcat(keytext, "\n");
	write_file("netd.key", keytext, 0600);
	if (addr_prefix_parse(NETD_PREFIX, &prefix) != 0 ||
	    addr_prefix_parse(NETD_OVERLAY, &overlay) != 0)
		die("bad built-in prefix");
	len = credential(O.sites, NETD_NAME, pub, prefix, overlay, bin, sizeof(bin));
	if (cred_armor(bin, len, armor, sizeof(armor)) < 0)
		die("cannot armour netd's credential");
	write_file("netd.cred", armor, 0644);
	for (size_t k = 0; k < A.nkeys; k++) {
		char b64[sodium_base64_ENCODED_LEN(CRED_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];

		sodium_bin2base64(b64, sizeof(b64), A.keys[k], CRED_KEY_LEN,
		                  sodium_base64_VARIANT_ORIGINAL);
		off += (size_t)snprintf(keys + off, sizeof(keys) - off, "%s\"%s\"", k ? ", " : "",
		                        b64);
	}
	n = snprintf(conf, sizeof(conf),
	             "# netd against %zu simulated sites of netd-load (seed %llu).\n"
	             "site = { name = \"" NETD_NAME "\"; log_level = \"info\"; };\n"
	             "wireguard = { interface = \"%s\"; private_key_file = \"%s/netd.key\"; "
	             "backend = \"%s\"; };\n"
	             "overlay = [ \"" NETD_OVERLAY "\" ];\n"
	             "prefixes = [ \"" NETD_PREFIX "\" ];\n"
	             "gossip = { bind = \"%s:%d\"; seeds = [ \"%s:%u\" ]; profile = \"%s\"; "
	             "state_file = \"%s/netd.state\"; };\n"
	             "routing = { table = %u; };\n"
	             "segments = ( { name = \"seg\"; vni = %d; } );\n"
	             "federation = { name = \"" LOAD_FEDERATION "\"; authorities = ( %s ); "
	             "threshold = %d; credential = \"%s/netd.cred\"; };\n"
	             "control = { socket = \"%s/netd.sock\"; };\n",
	             O.sites, (unsigned long long)O.seed, O.interface, O.dir, O.backend,
	             addr_format(&O.netd, a), NETD_PORT, addr_format(&O.addr, s), O.port,
	             O.wan ? "wan" : "lan", O.dir, O.table, LOAD_VNI, keys, THRESHOLD, O.dir,
	             O.dir);
	if (n < 0 || (size_t)n >= sizeof(conf))
		die("netd's config is too long");
	if (O.metrics != NULL)
		snprintf(conf + n, sizeof(conf) - (size_t)n, "metrics = { listen = \"%s\"; };\n",
		         O.metrics);
	write_file("netd.conf", conf, 0644);
}

/* When (monotonic seconds), how many sites hold netd alive (or suspect), the traffic, what
 * the sites' gossip counted in all and what their WireGuard responders did, as one JSON
 * line. */
static void
summary(void)
{
	struct gossip_counters t = {0};
	size_t holding = 0;

	for (size_t i = 0; i < O.sites; i++) {
		const struct gossip_counters *c = gossip_counters(S[i].g);
		struct gossip_member_info m;
		int idx = gossip_member_find(S[i].g, NETD_NAME);

		holding += idx >= 0 && gossip_member(S[i].g, (size_t)idx, &m) == 0 &&
		           (m.state == GOSSIP_ALIVE || m.state == GOSSIP_SUSPECT);
		t.creds_admitted += c->creds_admitted;
		t.creds_refused += c->creds_refused;
		t.drop_unknown += c->drop_unknown;
		t.drop_stale += c->drop_stale;
		t.drop_rate += c->drop_rate;
		t.challenges += c->challenges;
		t.suspicions += c->suspicions;
	}
	printf("{\"t\":%.3f,\"sites\":%zu,\"view\":%zu,\"sites_holding_netd\":%zu,\"to_netd_"
	       "datagrams\":%llu,"
	       "\"to_netd_bytes\":%llu,\"from_netd_datagrams\":%llu,\"from_netd_bytes\":%llu,"
	       "\"send_errors\":%llu,\"creds_admitted\":%llu,\"creds_refused\":%llu,"
	       "\"drop_unknown\":%llu,\"drop_stale\":%llu,\"drop_rate\":%llu,\"challenges\":%llu,"
	       "\"suspicions\":%llu,\"wg_initiations_answered\":%llu,\"wg_transport_received\":%"
	       "llu,"
	       "\"wg_keepalives_sent\":%llu,\"wg_probe_acks_sent\":%llu,\"wg_cookie_replies\":%"
	       "llu,\"wg_strangers\":%llu,\"wg_dropped\":%llu}\n",
	       (double)mono_now() / GOSSIP_SEC, O.sites, O.view, holding,
	       (unsigned long long)C.to_netd, (unsigned long long)C.to_netd_bytes,
	       (unsigned long long)C.from_netd, (unsigned long long)C.from_netd_bytes,
	       (unsigned long long)C.send_errors, (unsigned long long)t.creds_admitted,
	       (unsigned long long)t.creds_refused, (unsigned long long)t.drop_unknown,
	       (unsigned long long)t.drop_stale, (unsigned long long)t.drop_rate,
	       (unsigned long long)t.challenges, (unsigned long long)t.suspicions,
	       (unsigned long long)W.initiations, (unsigned long long)W.transport,
	       (unsigned long long)W.keepalives, (unsigned long long)W.data,
	       (unsigned long long)W.cookies, (unsigned long long)W.strangers,
	       (unsigned long long)W.dropped);
	fflush(stdout);
}

static void
teardown(void)
{
	for (size_t i = 0; i < O.sites; i++) {
		gossip_free(S[i].g);
		gossip_desc_unref(S[i].gd);
		gossip_cred_unref(S[i].cred);
		close(S[i].fd);
	}
	free(S);
	free(Q.q);
	gossip_trust_free(trust);
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: netd-load --sites N --dir DIR --addr ADDRESS --netd ADDRESS [--view M]\n"
	        "                 [--port P] [--seed S] [--interface IF] [--backend B]\n"
	        "                 [--table T] [--metrics ADDRESS:PORT] [--wan] "
	        "[--distinct-addrs]\n");
	exit(2);
}

static unsigned long long
number(const char *arg, const char *what, unsigned long long min, unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "netd-load: %s: expected %llu..%llu, got %s\n", what, min, max,
		        arg);
		exit(2);
	}
	return v;
}

static void
v4(const char *arg, const char *what, struct addr *out)
{
	if (addr_parse(arg, out) != 0 || out->family != AF_INET) {
		fprintf(stderr, "netd-load: %s: not an IPv4 address: %s\n", what, arg);
		exit(2);
	}
}

static void
parse(int argc, char **argv)
{
	static const struct option opts[] = {{"sites", required_argument, NULL, 'n'},
	                                     {"dir", required_argument, NULL, 'd'},
	                                     {"addr", required_argument, NULL, 'a'},
	                                     {"netd", required_argument, NULL, 'N'},
	                                     {"view", required_argument, NULL, 'v'},
	                                     {"port", required_argument, NULL, 'p'},
	                                     {"seed", required_argument, NULL, 's'},
	                                     {"interface", required_argument, NULL, 'i'},
	                                     {"backend", required_argument, NULL, 'b'},
	                                     {"table", required_argument, NULL, 't'},
	                                     {"metrics", required_argument, NULL, 'm'},
	                                     {"wan", no_argument, NULL, 'w'},
	                                     {"distinct-addrs", no_argument, NULL, 'D'},
	                                     {NULL, 0, NULL, 0}};
	bool addr = false, netd = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			O.sites = number(optarg, "--sites", 1, 20000);
			break;
		case 'd':
			O.dir = optarg;
			break;
		case 'a':
			v4(optarg, "--addr", &O.addr);
			addr = true;
			break;
		case 'N':
			v4(optarg, "--netd", &O.netd);
			netd = true;
			break;
		case 'v':
			O.view = number(optarg, "--view", 1, 1000);
			break;
		case 'p':
			O.port = (uint16_t)number(optarg, "--port", 1024, 65535);
			break;
		case 's':
			O.seed = number(optarg, "--seed", 0, UINT64_MAX);
			break;
		case 'i':
			O.interface = optarg;
			break;
		case 'b':
			O.backend = optarg;
			break;
		case 't':
			O.table = (unsigned)number(optarg, "--table", 1, 0xfffffffe);
			break;
		case 'm':
			O.metrics = optarg;
			break;
		case 'w':
			O.wan = true;
			break;
		case 'D':
			O.distinct_addrs = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || O.sites == 0 || O.dir == NULL || !addr || !netd)
		usage();
	/* Ports port .. port + N - 1. */
	if ((unsigned long)O.port + O.sites > 65536)
		die("--port plus --sites passes 65535");
	if (O.distinct_addrs) {
		uint32_t v;

		memcpy(&v, O.addr.u.bytes, 4);
		if ((uint64_t)ntohl(v) + O.sites > UINT32_MAX)
			die("--addr plus --sites passes 255.255.255.255");
	}
}

int
main(int argc, char **argv)
{
	ev_signal sigterm, sigint, sigusr1, sigusr2;

	parse(argc, argv);
	if (key_init() != 0)
		die("libsodium");
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	loop = ev_default_loop(EVFLAG_AUTO);
	authorities();
	setup_sites();
	write_netd();
	ev_signal_init(&sigterm, on_stop, SIGTERM);
	ev_signal_init(&sigint, on_stop, SIGINT);
	ev_signal_start(loop, &sigterm);
	ev_signal_start(loop, &sigint);
	ev_signal_init(&sigusr1, on_usr1, SIGUSR1);
	ev_signal_start(loop, &sigusr1);
	ev_signal_init(&sigusr2, on_usr2, SIGUSR2);
	ev_signal_start(loop, &sigusr2);
	ev_run(loop, 0);
	summary();
	teardown();
	return 0;
}
