/* khbench: the kernel side of netd's benchmark. Programs many WireGuard peers and their routes
 * through kernel-helpers and times the calls, and writes the very same peers and routes
 * as input for wg(8) and ip(8), so that scripts/bench-kernel compares the two on equal work.
 *
 * Peer I (from 0) has a fixed public key derived from I, endpoint 198.51.100.(I % 250 + 1)
 * port 20000 + I / 250 and allowed-ip 10.128.0.0/10 + I as a /32, routed through the device
 * in table 51820 with protocol 200. Its changed form: endpoint 203.0.113.1 port 30000 + I % 30000
 * and allowed-ip 10.160.0.0 + I.
 *
 *   khbench create NAME        a kernel WireGuard device, up
 *   khbench apply NAME N [nokey]
 *                              N peers in one wg_set_device, then the N routes in one batch
 *                              (kh_route_replace_many, as netd's reconciler); prints seconds,
 *                              of each step's wall time and of its user-space CPU; nokey: the
 *                              device gets no private key
 *   khbench change NAME I      peer I changed in place and the route to its new allowed-ip
 *   khbench files NAME N DIR   DIR/wg.conf for `wg setconf`, DIR/routes.batch for `ip -batch`
 *   khbench peer I             key, changed endpoint and allowed-ip of peer I, for `wg set`
 *   khbench uapi NAME N MS     netd's event loop against a userspace WireGuard (started for
 *                              NAME): N peers in one wg_set_device, then a get every 10 ms
 *                              until all N show, every call bounded by MS ms of inactivity
 *                              (wg_set_wait_ms); prints seconds until all show and the
 *                              longest single call
 *   khbench drift NAME N R [PID]
 *                              netd's drift check: N peers on the existing device NAME (kernel
 *                              or userspace), then R rounds of a read of the device and its
 *                              comparison with the peers netd left; prints the median and
 *                              slowest round's wall time, the median comparison's alone and
 *                              the median round's CPU time (this
 *                              process: user and system, which holds the kernel's work), and
 *                              with PID (a userspace WireGuard's) that process's CPU time
 *                              per round over the rounds
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include <sodium.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/wg.h"
#include "netd/drift.h"

#define TABLE       51820
#define PROTO       200
#define LISTEN_PORT 51820
#define MAX_PEERS   (1u << 22) /* the size of 10.128.0.0/10 */

struct peer_data {
	uint8_t key[WG_KEY_SIZE];
	struct sockaddr_in endpoint;
	struct in_addr allowed;
};

static int
usage(void)
{
	fputs("usage: khbench create NAME | apply NAME N [nokey] | change NAME I | files NAME N "
	      "DIR | "
	      "peer I | uapi NAME N MS | drift NAME N R [PID]\n",
	      stderr);
	return 2;
}

/* kernel-helpers' own text names the operation and the object; what is for when there is
 * none. */
static int
kh_failed(const char *what, int err)
{
	if (kh_last_error()[0])
		fprintf(stderr, "khbench: %s\n", kh_last_error());
	else
		fprintf(stderr, "khbench: %s: %s\n", what, strerror(-err));
	return 1;
}

static int
count_arg(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A key that only depends on what it is for: both sides of the comparison derive the same. */
static void
derive_key(const char *what, uint32_t i, uint8_t key[WG_KEY_SIZE])
{
	uint8_t in[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};

	crypto_generichash(key, WG_KEY_SIZE, in, sizeof(in), (const uint8_t *)what, strlen(what));
}

/* Peer i's allowed-ip alone: what its route needs, without the key's derivation, which is
 * the benchmark's work and not the program's that routes it. */
static struct in_addr
peer_allowed(uint32_t i, bool changed)
{
	struct in_addr a = {.s_addr = htonl(changed ? 0x0aa00000u + i    /* 10.160.0.0 + i */
	                                            : 0x0a800000u + i)}; /* 10.128.0.0 + i */

	return a;
}

static void
peer_data(uint32_t i, bool changed, struct peer_data *p)
{
	memset(p, 0, sizeof(*p));
	derive_key("netd bench peer", i, p->key);
	p->endpoint.sin_family = AF_INET;
	if (changed) {
		p->endpoint.sin_addr.s_addr = htonl(0xcb007101u); /* 203.0.113.1 */
		p->endpoint.sin_port = htons((uint16_t)(30000 + i % 30000));
	} else {
		p->endpoint.sin_addr.s_addr = htonl(0xc6336401u + i % 250); /* 198.51.100.x */
		p->endpoint.sin_port = htons((uint16_t)(20000 + i / 250));
	}
	p->allowed = peer_allowed(i, changed);
}

static void
key_text(const uint8_t key[WG_KEY_SIZE],
         char out[sodium_base64_ENCODED_LEN(WG_KEY_SIZE, sodium_base64_VARIANT_ORIGINAL)])
{
	sodium_bin2base64(out,
	                  sodium_base64_ENCODED_LEN(WG_KEY_SIZE, sodium_base64_VARIANT_ORIGINAL),
	                  key, WG_KEY_SIZE, sodium_base64_VARIANT_ORIGINAL);
}

static struct wg_peer *
add_peer(struct wg_device *dev, const struct peer_data *p)
{
	struct wg_peer *peer = wg_device_add_peer(dev);
	struct addr_prefix aip = {.len = 32};

	if (!peer)
		return NULL;
	memcpy(peer->public_key, p->key, WG_KEY_SIZE);
	peer->flags = WG_PEER_HAS_ENDPOINT | WG_PEER_REPLACE_ALLOWEDIPS;
	peer->endpoint.sin = p->endpoint;
	aip.addr.family = AF_INET;
	aip.addr.u.v4 = p->allowed;
	if (wg_peer_add_allowedip(peer, &aip) < 0)
		return NULL;
	return peer;
}

static struct kh_route
route_to(uint32_t oif, const struct in_addr *dst)
{
	struct kh_route r = {.table = TABLE, .protocol = PROTO, .oif = oif};

	r.dst.addr.family = AF_INET;
	r.dst.addr.u.v4 = *dst;
	r.dst.len = 32;
	return r;
}

/* The device of the benchmark with peers 0..n-1, all replacing what is there; NULL when out
 * of memory (said). */
static struct wg_device *
bench_device(const char *name, uint32_t n)
{
	struct wg_device *dev = wg_device_new(name);
	struct peer_data p;

	if (!dev)
		goto oom;
	derive_key("netd bench device", 0, dev->private_key);
	dev->listen_port = LISTEN_PORT;
	dev->flags =
	        WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
	for (uint32_t i = 0; i < n; i++) {
		peer_data(i, false, &p);
		if (!add_peer(dev, &p))
			goto oom;
	}
	return dev;
oom:
	fprintf(stderr, "khbench: out of memory\n");
	wg_free_device(dev);
	return NULL;
}

static int
cmd_create(const char *name)
{
	struct kh_link link;
	int err = wg_add_device(name, WG_BACKEND_KERNEL, NULL);

	if (err < 0)
		return kh_failed(name, err);
	err = kh_link_get(name, &link);
	if (err == 0)
		err = kh_link_set_up(link.ifindex, true);
	return err < 0 ? kh_failed(name, err) : 0;
}

static void
route_done(size_t i, int err, const char *why, void *arg)
{
	(void)arg;
	if (err < 0)
		fprintf(stderr, "khbench: route %zu: %s\n", i, why);
}

/* The process's CPU time in user space so far: what of a step's wall time is the program's
 * own, the rest being the kernel's work on its requests (and waits). */
static double
user_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

/* Without the key (nokey) the device gets none: the kernel then computes no peer's
 * static-static Curve25519 product, and what is left is the rest of adding the peers. */
static int
cmd_apply(const char *name, uint32_t n, bool nokey)
{
	double t0 = now(), t1, t2, t3, u1, u2, u3;
	struct kh_route *routes = NULL;
	struct wg_device *dev = bench_device(name, n);
	struct kh_link link;
	int ret = 1, err;

	if (!dev)
		goto out;
	if (nokey)
		dev->flags &= ~WG_DEVICE_HAS_PRIVATE_KEY;
	err = kh_link_get(name, &link);
	if (err < 0) {
		kh_failed(name, err);
		goto out;
	}
	u1 = user_now();
	t1 = now();
	err = wg_set_device(dev);
	if (err < 0) {
		kh_failed(name, err);
		goto out;
	}
	t2 = now();
	u2 = user_now();
	/* As netd's reconciler installs a large change: one batch. */
	routes = calloc(n ? n : 1, sizeof(*routes));
	if (!routes) {
		kh_failed(name, -ENOMEM);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct in_addr allowed = peer_allowed(i, false);

		routes[i] = route_to(link.ifindex, &allowed);
	}
	if (kh_route_replace_many(routes, n, route_done, NULL) > 0)
		goto out;
	t3 = now();
	u3 = user_now();
	printf("build_s %.6f\nwg_set_s %.6f\nroutes_s %.6f\nwg_set_user_s %.6f\nroutes_user_s "
	       "%.6f\n",
	       t1 - t0, t2 - t1, t3 - t2, u2 - u1, u3 - u2);
	ret = 0;
out:
	free(routes);
	wg_free_device(dev);
	return ret;
}

/* What the loop waits for: every call returns within about MS ms of inactivity, and the
 * peers a call gave up on arrive all the same (the exchange finishes in the background). */
static int
cmd_uapi(const char *name, uint32_t n, int wait_ms)
{
	struct wg_device *dev = bench_device(name, n), *got = NULL;
	const struct timespec pause = {.tv_nsec = 10 * 1000000L};
	double t0, t, longest = 0;
	size_t seen = 0;
	int ret = 1, err;

	if (!dev)
		goto out;
	err = wg_userspace_start(name, NULL, NULL);
	if (err < 0) {
		kh_failed(name, err);
		goto out;
	}
	wg_set_wait_ms(wait_ms);
	t0 = now();
	err = wg_set_device(dev);
	longest = now() - t0;
	if (err < 0 && err != -ETIMEDOUT) {
		kh_failed(name, err);
		goto out;
	}
	while (seen < n) {
		if (now() - t0 > 60) {
			fprintf(stderr, "khbench: %s: %zu of %u peers after 60 s\n", name, seen, n);
			goto out;
		}
		nanosleep(&pause, NULL);
		t = now();
		err = wg_get_device(name, &got);
		t = now() - t;
		longest = t > longest ? t : longest;
		if (err == 0) {
			seen = got->npeers;
			wg_free_device(got);
		} else if (err != -ETIMEDOUT) {
			kh_failed(name, err);
			goto out;
		}
	}
	printf("visible_s %.6f\nlongest_call_s %.6f\n", now() - t0, longest);
	ret = 0;
out:
	wg_free_device(dev);
	wg_set_wait_ms(0);
	wg_del_device(name); /* wireguard-go goes with its link */
	return ret;
}

static int
cmd_change(const char *name, uint32_t i)
{
	struct wg_device *dev = wg_device_new(name);
	struct kh_link link;
	struct kh_route r;
	struct peer_data p;
	double t0, t1, t2;
	int ret = 1, err;

	peer_data(i, true, &p);
	if (!dev || !add_peer(dev, &p)) {
		fprintf(stderr, "khbench: out of memory\n");
		goto out;
	}
	/* The ifindex is what netd keeps from its link events; reading it is not the change. */
	err = kh_link_get(name, &link);
	if (err < 0) {
		kh_failed(name, err);
		goto out;
	}
	r = route_to(link.ifindex, &p.allowed);
	t0 = now();
	err = wg_set_device(dev);
	if (err < 0) {
		kh_failed(name, err);
		goto out;
	}
	t1 = now();
	err = kh_route_replace(&r);
	if (err < 0) {
		kh_failed(name, err);
		goto out;
	}
	t2 = now();
	printf("wg_set_s %.6f\nroute_s %.6f\n", t1 - t0, t2 - t1);
	ret = 0;
out:
	wg_free_device(dev);
	return ret;
}

static int
cmd_files(const char *name, uint32_t n, const char *dir)
{
	char path[4096],
	        key[sodium_base64_ENCODED_LEN(WG_KEY_SIZE, sodium_base64_VARIANT_ORIGINAL)];
	char addr[INET_ADDRSTRLEN];
	struct peer_data p;
	uint8_t priv[WG_KEY_SIZE];
	FILE *conf = NULL, *batch = NULL;
	int ret = 1;

	snprintf(path, sizeof(path), "%s/wg.conf", dir);
	conf = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/routes.batch", dir);
	batch = fopen(path, "w");
	if (!conf || !batch) {
		fprintf(stderr, "khbench: cannot write into %s: %s\n", dir, strerror(errno));
		goto out;
	}
	derive_key("netd bench device", 0, priv);
	key_text(priv, key);
	fprintf(conf, "[Interface]\nPrivateKey = %s\nListenPort = %u\n", key, LISTEN_PORT);
	for (uint32_t i = 0; i < n; i++) {
		peer_data(i, false, &p);
		key_text(p.key, key);
		inet_ntop(AF_INET, &p.endpoint.sin_addr, addr, sizeof(addr));
		fprintf(conf, "\n[Peer]\nPublicKey = %s\nEndpoint = %s:%u\n", key, addr,
		        ntohs(p.endpoint.sin_port));
		inet_ntop(AF_INET, &p.allowed, addr, sizeof(addr));
		fprintf(conf, "AllowedIPs = %s/32\n", addr);
		fprintf(batch, "route replace %s/32 dev %s table %u proto %u\n", addr, name, TABLE,
		        PROTO);
	}
	ret = 0;
out:
	if (conf && fclose(conf) != 0)
		ret = 1;
	if (batch && fclose(batch) != 0)
		ret = 1;
	return ret;
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
seconds_qcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The CPU time process pid has used (user and system), or -1 when it cannot be read. */
static double
process_cpu(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* After the command's name, which may hold anything but ends with the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
	                 &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* The desired state netd would have for the bench device's peers: what the table keeps. */
#define BENCH_NAME_SIZE 16 /* "site-" and a 32-bit number */
static int
bench_desired(const char *name, uint32_t n, struct mesh_desired *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->wg.name, sizeof(d->wg.name), "%s", name);
	d->peers = calloc(n ? n : 1, sizeof(*d->peers));
	d->names = calloc(n ? n : 1, BENCH_NAME_SIZE);
	if (!d->peers || !d->names)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct mesh_peer *m = &d->peers[d->npeers++];
		char *site = d->names + (size_t)i * BENCH_NAME_SIZE;
		struct peer_data p;

		peer_data(i, false, &p);
		snprintf(site, BENCH_NAME_SIZE, "site-%u", i);
		m->site = site;
		memcpy(m->public_key, p.key, WG_KEY_SIZE);
		m->endpoint.family = AF_INET;
		m->endpoint.u.v4 = p.endpoint.sin_addr;
		m->endpoint_port = ntohs(p.endpoint.sin_port);
		m->allowed = calloc(1, sizeof(*m->allowed));
		if (!m->allowed)
			return -ENOMEM;
		m->allowed->addr.family = AF_INET;
		m->allowed->addr.u.v4 = p.allowed;
		m->allowed->len = 32;
		m->nallowed = 1;
	}
	return 0;
}

/* One round: the device read and compared. 0, or 1 (said). */
static int
drift_round(const char *name, struct drift_table *t, double *wall, double *cpu, double *compare)
{
	double w0 = now(), c0 = cpu_now(), m0;
	struct wg_device *got = NULL;
	struct drift drift;
	char text[512];
	int err = wg_get_device(name, &got);
	bool drifted;

	if (err < 0)
		return kh_failed(name, err);
	m0 = now();
	drifted = drift_compare(t, got, &drift);
	*compare = now() - m0;
	if (drifted) {
		fprintf(stderr, "khbench: %s drifted: %s\n", name,
		        drift_format(&drift, text, sizeof(text)));
		wg_free_device(got);
		return 1;
	}
	wg_free_device(got);
	*wall = now() - w0;
	*cpu = cpu_now() - c0;
	return 0;
}

static int
cmd_drift(const char *name, uint32_t n, uint32_t rounds, long pid)
{
	double peer_cpu = 0;
	struct wg_device *dev = bench_device(name, n);
	double *wall = calloc(rounds, sizeof(*wall)), *cpu = calloc(rounds, sizeof(*cpu));
	double *compare = calloc(rounds, sizeof(*compare));
	struct drift_table table = {0};
	struct mesh_desired d = {0};
	int ret = 1, err;

	if (!dev || !wall || !cpu || !compare || bench_desired(name, n, &d) < 0 ||
	    drift_table_set(&table, &d) < 0) {
		fprintf(stderr, "khbench: out of memory\n");
		goto out;
	}
	err = wg_set_device(dev);
	if (err < 0) {
		kh_failed(name, err);
		goto out;
	}
	if (pid > 0)
		peer_cpu = process_cpu(pid);
	for (uint32_t r = 0; r < rounds; r++)
		if (drift_round(name, &table, &wall[r], &cpu[r], &compare[r]))
			goto out;
	if (pid > 0 && peer_cpu >= 0 && process_cpu(pid) >= 0)
		printf("process_cpu_per_round_s %.6f\n", (process_cpu(pid) - peer_cpu) / rounds);
	qsort(wall, rounds, sizeof(*wall), seconds_qcmp);
	qsort(cpu, rounds, sizeof(*cpu), seconds_qcmp);
	qsort(compare, rounds, sizeof(*compare), seconds_qcmp);
	printf("rounds %u\nmedian_s %.6f\nmax_s %.6f\nmedian_cpu_s %.6f\nmedian_compare_s %.6f\n",
	       rounds, wall[rounds / 2], wall[rounds - 1], cpu[rounds / 2], compare[rounds / 2]);
	ret = 0;
out:
	for (size_t i = 0; i < d.npeers; i++)
		free(d.peers[i].allowed);
	free(d.peers);
	free(d.names);
	drift_table_free(&table);
	free(wall);
	free(cpu);
	free(compare);
	wg_free_device(dev);
	return ret;
}

static int
cmd_peer(uint32_t i)
{
	char key[sodium_base64_ENCODED_LEN(WG_KEY_SIZE, sodium_base64_VARIANT_ORIGINAL)];
	char addr[INET_ADDRSTRLEN], allowed[INET_ADDRSTRLEN];
	struct peer_data p;

	peer_data(i, true, &p);
	key_text(p.key, key);
	inet_ntop(AF_INET, &p.endpoint.sin_addr, addr, sizeof(addr));
	inet_ntop(AF_INET, &p.allowed, allowed, sizeof(allowed));
	printf("%s %s:%u %s/32\n", key, addr, ntohs(p.endpoint.sin_port), allowed);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	unsigned long n, ms, rounds, pid = 0;

	if (sodium_init() < 0)
		return 1;
	if (!strcmp(cmd, "create") && argc == 3)
		return cmd_create(argv[2]);
	if (!strcmp(cmd, "apply") && (argc == 4 || (argc == 5 && !strcmp(argv[4], "nokey"))) &&
	    count_arg(argv[3], MAX_PEERS, &n) == 0)
		return cmd_apply(argv[2], (uint32_t)n, argc == 5);
	if (!strcmp(cmd, "change") && argc == 4 && count_arg(argv[3], MAX_PEERS - 1, &n) == 0)
		return cmd_change(argv[2], (uint32_t)n);
	if (!strcmp(cmd, "files") && argc == 5 && count_arg(argv[3], MAX_PEERS, &n) == 0)
		return cmd_files(argv[2], (uint32_t)n, argv[4]);
	if (!strcmp(cmd, "uapi") && argc == 5 && count_arg(argv[3], MAX_PEERS, &n) == 0 &&
	    count_arg(argv[4], 60000, &ms) == 0 && ms > 0)
		return cmd_uapi(argv[2], (uint32_t)n, (int)ms);
	if (!strcmp(cmd, "drift") && (argc == 5 || argc == 6) &&
	    count_arg(argv[3], MAX_PEERS, &n) == 0 && count_arg(argv[4], 1000000, &rounds) == 0 &&
	    rounds > 0 && (argc == 5 || count_arg(argv[5], 1ul << 22, &pid) == 0))
		return cmd_drift(argv[2], (uint32_t)n, (uint32_t)rounds, (long)pid);
	if (!strcmp(cmd, "peer") && argc == 3 && count_arg(argv[2], MAX_PEERS - 1, &n) == 0)
		return cmd_peer((uint32_t)n);
	return usage();
}
