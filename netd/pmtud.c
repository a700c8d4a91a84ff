/* Path MTU discovery's socket and timer: probes out, acknowledgements back, the peers'
 * searches fed with both. */
#include "netd/pmtud.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "netd/log.h"
#include "netd/mesh.h"
#include "netd/names.h"

/* Datagrams read per wake-up: a flood cannot hold the loop from its timers. */
#define PMTUD_RX_BURST 64
#define PMTUD_BUF      65536
/* Bytes of the socket's receive buffer (the kernel doubles it for its overhead): an ack and a
 * peer's probe for each of thousands of peers can arrive while a reconcile run holds the
 * loop for seconds; the default (about 200 KB) held a few hundred, and a lost ack is a probe
 * counted lost. */
#define PMTUD_RCVBUF (8 << 20)
/* Microseconds between two looks at every path's deadline. At thousands of peers the
 * deadlines lie microseconds apart; a look at each would walk every path thousands of times
 * a second. A probe waits PMTU_PROBE_WAIT, so this much later costs nothing. */
#define PMTUD_TICK ((int64_t)50 * 1000)

struct pmtud_peer {
	const char *site; /* in the peers' names */
	struct addr overlay;
	uint32_t return_mtu; /* as the peer's acks say; 0: not known */
	struct pmtu path;
};
/* One a peer: no holes between the fields (112 bytes before the path's state was 64). */
_Static_assert(sizeof(struct pmtud_peer) <= 96, "a path MTU entry grew");

struct pmtud {
	struct ev_loop *loop;
	pmtud_changed_fn changed;
	void *arg;
	struct addr local;
	char ifname[IF_NAMESIZE]; /* the tunnel device the socket is bound to */
	unsigned ifindex;         /* of that device when bound; 0: no socket */
	int fd;
	ev_io watcher;
	ev_timer timer;
	int64_t timer_at;   /* when the timer fires; INT64_MAX: not armed */
	int64_t scanned_at; /* the last look at every path */
	struct pmtud_peer *peers;
	/* The peers' indices in the order of their overlay addresses: an ack finds its path
	 * without a walk of every path. */
	uint32_t *by_addr;
	size_t npeers;
	char *names; /* the peers' site names, one after the other */
	uint64_t refused;
	uint8_t *buf; /* PMTUD_BUF: probes are built and read here */
};

static int64_t
pmtud_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * MESH_USEC + ts.tv_nsec / 1000;
}

static void
sockaddr_of(const struct addr *a, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr = a->u.v4;
	sin->sin_port = htons(PMTUD_PORT);
}

static struct pmtud_peer *
peer_by_addr(struct pmtud *d, const struct in_addr *a)
{
	struct addr key = {.family = AF_INET, .u.v4 = *a};
	size_t lo = 0, hi = d->npeers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct pmtud_peer *p = &d->peers[d->by_addr[mid]];
		int c = addr_cmp(&key, &p->overlay);

		if (c == 0)
			return p;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void
send_probe(struct pmtud *d, const struct pmtud_peer *p, const struct pmtu_probe *probe)
{
	struct pmtu_wire m = {.type = PMTU_WIRE_PROBE,
	                      .id = probe->id,
	                      .size = (uint16_t)probe->size,
	                      .return_mtu = p->path.probed ? (uint16_t)p->path.mtu : 0};
	size_t len = probe->size - PMTU_UDP_IP4;
	struct sockaddr_in to;

	memset(d->buf, 0, len);
	pmtu_wire_encode(&m, d->buf, len);
	sockaddr_of(&p->overlay, &to);
	/* EMSGSIZE (bigger than the device) and the rest are a lost probe, which the search
	 * counts as such. */
	(void)sendto(d->fd, d->buf, len, 0, (struct sockaddr *)&to, sizeof(to));
}

/* Wakes up at at, or at the tick after the last look at every path if that is later;
 * an earlier wake-up armed already stands. */
static void
pmtud_arm(struct pmtud *d, int64_t at, int64_t now)
{
	if (at < d->scanned_at + PMTUD_TICK)
		at = d->scanned_at + PMTUD_TICK;
	if (at >= d->timer_at)
		return;
	ev_timer_stop(d->loop, &d->timer);
	ev_timer_set(&d->timer, at > now ? (double)(at - now) / MESH_USEC : 0, 0);
	ev_timer_start(d->loop, &d->timer);
	d->timer_at = at;
}

/* Sends what p's search asks for at now and tells a change of its MTU. */
static void
poll_peer(struct pmtud *d, struct pmtud_peer *p, int64_t now)
{
	uint32_t mtu = p->path.mtu;
	bool probed = p->path.probed;
	struct pmtu_probe probe;

	if (pmtu_poll(&p->path, now, &probe))
		send_probe(d, p, &probe);
	if (p->path.mtu != mtu || p->path.probed != probed)
		d->changed(d->arg, p->site, mtu, &p->path, p->return_mtu);
}

/* Polls every path due, sends what they ask for, and sleeps until the next deadline. */
static void
pmtud_run(struct pmtud *d, int64_t now)
{
	int64_t next = INT64_MAX;

	ev_timer_stop(d->loop, &d->timer);
	d->timer_at = INT64_MAX;
	if (d->fd < 0)
		return;
	d->scanned_at = now;
	for (size_t i = 0; i < d->npeers; i++) {
		struct pmtud_peer *p = &d->peers[i];

		poll_peer(d, p, now);
		if (pmtu_deadline(&p->path) < next)
			next = pmtu_deadline(&p->path);
	}
	if (next != INT64_MAX)
		pmtud_arm(d, next, now);
}

/* What the peer says it found towards this site, from its probes and acks. */
static void
take_return_mtu(struct pmtud *d, struct pmtud_peer *p, uint16_t return_mtu)
{
	if (return_mtu == p->return_mtu)
		return;
	p->return_mtu = return_mtu;
	d->changed(d->arg, p->site, p->path.mtu, &p->path, return_mtu);
}

static void
on_datagram(struct pmtud *d, const struct sockaddr_in *from, size_t len, int64_t now)
{
	struct pmtu_wire m;
	struct pmtud_peer *p;
	uint32_t mtu;
	bool probed;

	if (pmtu_wire_parse(d->buf, len, &m) < 0) {
		d->refused++;
		return;
	}
	p = peer_by_addr(d, &from->sin_addr);
	if (m.type == PMTU_WIRE_PROBE) {
		/* Small whatever the probe's size: an ack amplifies nothing. */
		struct pmtu_wire ack = {.type = PMTU_WIRE_ACK, .id = m.id, .size = m.size};
		uint8_t out[PMTU_WIRE_HEADER];

		if (p && p->path.probed)
			ack.return_mtu = (uint16_t)p->path.mtu;
		pmtu_wire_encode(&ack, out, sizeof(out));
		(void)sendto(d->fd, out, sizeof(out), 0, (const struct sockaddr *)from,
		             sizeof(*from));
		if (p)
			take_return_mtu(d, p, m.return_mtu);
		return;
	}
	if (!p || ntohs(from->sin_port) != PMTUD_PORT) {
		d->refused++;
		return;
	}
	mtu = p->path.mtu;
	probed = p->path.probed;
	if (!pmtu_ack(&p->path, now, m.id, m.size)) {
		d->refused++;
		return;
	}
	if (p->path.mtu != mtu || p->path.probed != probed) {
		p->return_mtu = m.return_mtu;
		d->changed(d->arg, p->site, mtu, &p->path, m.return_mtu);
	} else {
		take_return_mtu(d, p, m.return_mtu);
	}
	/* An ack moves its search on at once: the next size goes now. */
	poll_peer(d, p, now);
	pmtud_arm(d, pmtu_deadline(&p->path), now);
}

/* Reads up to max datagrams, fewer when the socket runs dry. */
static void
pmtud_read(struct pmtud *d, size_t max)
{
	int64_t now = pmtud_now();

	for (size_t i = 0; i < max && d->fd >= 0; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(d->fd, d->buf, PMTUD_BUF, 0, (struct sockaddr *)&from, &fl);

		if (n < 0)
			break;
		if (fl != sizeof(from) || from.sin_family != AF_INET) {
			d->refused++;
			continue;
		}
		on_datagram(d, &from, (size_t)n, now);
	}
}

static void
pmtud_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	pmtud_read(w->data, PMTUD_RX_BURST);
}

static void
pmtud_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pmtud *d = w->data;

	(void)loop;
	(void)revents;
	/* Acks that came while the loop was busy elsewhere (a long reconcile run) are read
	 * before any probe is counted lost: the loop fires due timers before it reads, and a
	 * busy second is not a lost probe. At most an ack and a probe a peer are due. */
	pmtud_read(d, 2 * d->npeers + PMTUD_RX_BURST);
	pmtud_run(d, pmtud_now());
}

/* A socket on local that sends and hears through the tunnel device ifname only: probes
 * never take another route, and what arrives came through the tunnel, which authenticated
 * its sender. */
static int
pmtud_socket(const struct addr *local, const char *ifname)
{
	/* DF on every probe, whatever the route's cached path MTU says: the probe is what
	 * finds it out. */
	int fd, one = 1, probe = IP_PMTUDISC_PROBE, rcvbuf = PMTUD_RCVBUF;
	struct sockaddr_in sin;
	char text[ADDR_STRLEN];

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("path MTU: socket");
		return -1;
	}
	sockaddr_of(local, &sin);
	/* Past net.core.rmem_max with CAP_NET_ADMIN, which netd keeps; up to it without. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* The overlay address may come with the device a moment later. */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		log_warn("path MTU: cannot bind %s:%u on %s: paths keep the tunnel's MTU",
		         addr_format(local, text), PMTUD_PORT, ifname);
		close(fd);
		return -1;
	}
	return fd;
}

static void
pmtud_unbind(struct pmtud *d)
{
	if (d->fd < 0)
		return;
	ev_io_stop(d->loop, &d->watcher);
	close(d->fd);
	d->fd = -1;
	d->ifindex = 0;
}

/* Binds again when the device (by its index: a device made again is a new one) or the
 * local address moved. Without a socket the paths keep their MTU and nothing is probed. */
static void
pmtud_bind(struct pmtud *d, const struct addr *local, const char *ifname)
{
	unsigned ifindex = if_nametoindex(ifname);

	if (d->fd >= 0 && ifindex == d->ifindex && addr_equal(local, &d->local) &&
	    strcmp(ifname, d->ifname) == 0)
		return;
	pmtud_unbind(d);
	d->local = *local;
	snprintf(d->ifname, sizeof(d->ifname), "%s", ifname);
	if (!ifindex || local->family != AF_INET)
		return;
	d->fd = pmtud_socket(local, ifname);
	if (d->fd < 0)
		return;
	d->ifindex = ifindex;
	ev_io_init(&d->watcher, pmtud_on_read, d->fd, EV_READ);
	d->watcher.data = d;
	ev_io_start(d->loop, &d->watcher);
}

int
pmtud_new(struct ev_loop *loop, pmtud_changed_fn changed, void *arg, struct pmtud **out)
{
	struct pmtud *d = calloc(1, sizeof(*d));

	if (!d || !(d->buf = malloc(PMTUD_BUF))) {
		free(d);
		return -ENOMEM;
	}
	d->fd = -1;
	d->timer_at = INT64_MAX;
	d->loop = loop;
	d->changed = changed;
	d->arg = arg;
	ev_timer_init(&d->timer, pmtud_on_timer, 0, 0);
	d->timer.data = d;
	*out = d;
	return 0;
}

static int
peer_qcmp(const void *a, const void *b)
{
	return strcmp(((const struct pmtud_peer *)a)->site, ((const struct pmtud_peer *)b)->site);
}

/* Peer indices by their peers' (arg) overlay addresses. */
static int
overlay_qcmp(const void *a, const void *b, void *arg)
{
	const struct pmtud_peer *peers = arg;

	return addr_cmp(&peers[*(const uint32_t *)a].overlay, &peers[*(const uint32_t *)b].overlay);
}

static int
site_qcmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct pmtud_peer *)item)->site);
}

/* The peers are sorted by site name. */
static const struct pmtud_peer *
peer_by_site(const struct pmtud_peer *peers, size_t n, const char *site)
{
	return n ? bsearch(site, peers, n, sizeof(*peers), site_qcmp) : NULL;
}

int
pmtud_set_peers(struct pmtud *d, const struct addr *local, const char *ifname,
                const struct pmtud_target *targets, size_t n, uint32_t tunnel_mtu, int64_t now)
{
	struct pmtud_peer *next = calloc(n ? n : 1, sizeof(*next));
	uint32_t *by_addr = calloc(n ? n : 1, sizeof(*by_addr));
	char *names;

	if (!next || !by_addr) {
		free(next);
		free(by_addr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pmtud_peer *had = peer_by_site(d->peers, d->npeers, targets[i].site);

		next[i].site = targets[i].site;
		next[i].overlay = targets[i].overlay;
		if (had && addr_equal(&had->overlay, &targets[i].overlay)) {
			next[i].path = had->path;
			next[i].return_mtu = had->return_mtu;
			pmtu_set_max(&next[i].path, tunnel_mtu, now);
		} else {
			pmtu_init(&next[i].path, tunnel_mtu, randombytes_random(), now);
		}
	}
	names = names_own(next, n, sizeof(*next),
	                  (const size_t[]){offsetof(struct pmtud_peer, site)}, 1);
	if (!names) {
		free(next);
		free(by_addr);
		return -ENOMEM;
	}
	pmtud_bind(d, local, ifname);
	qsort(next, n, sizeof(*next), peer_qcmp);
	for (size_t i = 0; i < n; i++)
		by_addr[i] = (uint32_t)i;
	qsort_r(by_addr, n, sizeof(*by_addr), overlay_qcmp, next);
	free(d->peers);
	free(d->by_addr);
	free(d->names);
	d->peers = next;
	d->by_addr = by_addr;
	d->names = names;
	d->npeers = n;
	pmtud_run(d, now);
	return 0;
}

const struct pmtu *
pmtud_path(const struct pmtud *d, const char *site)
{
	const struct pmtud_peer *p = d ? peer_by_site(d->peers, d->npeers, site) : NULL;

	return p ? &p->path : NULL;
}

uint32_t
pmtud_return_mtu(const struct pmtud *d, const char *site)
{
	const struct pmtud_peer *p = d ? peer_by_site(d->peers, d->npeers, site) : NULL;

	return p ? p->return_mtu : 0;
}

uint64_t
pmtud_refused(const struct pmtud *d)
{
	return d ? d->refused : 0;
}

void
pmtud_close(struct pmtud *d)
{
	if (!d)
		return;
	pmtud_unbind(d);
	ev_timer_stop(d->loop, &d->timer);
	free(d->peers);
	free(d->by_addr);
	free(d->names);
	free(d->buf);
	free(d);
}
