/* Path MTU discovery's socket and timer (netd/pmtud.c) over real UDP on the loopback of the
 * test's own network namespace, the peers played by sockets of the test: acks found by their
 * sender's address among many peers, an ack that waited in the socket while the loop was
 * busy counted as the ack it is, not as a lost probe, and a crowd's probes and acks waiting
 * while the loop is held. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <ev.h>

#include "netd/pmtud.h"

#define TUNNEL 1420

static bool in_own_netns;

/* Its own network namespace with lo up: the port and addresses are the test's alone. */
static int
setup_netns(void)
{
	struct ifreq ifr = {0};
	int fd;

	if (unshare(CLONE_NEWNET) < 0) {
		printf("SKIP: test_pmtud needs a network namespace of its own (root): %s\n",
		       strerror(errno));
		return 0;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return -1;
	close(fd);
	in_own_netns = true;
	return 0;
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct addr
v4(const char *text)
{
	struct addr a = {.family = AF_INET};

	assert_int_equal(inet_pton(AF_INET, text, &a.u.v4), 1);
	return a;
}

/* A peer's pmtud socket: its overlay address, port 7947. */
static int
peer_socket(const char *ip)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PMTUD_PORT)};
	struct timeval wait = {.tv_sec = 2};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Waits for a probe on fd and acknowledges it as netd would. Returns the probe's size. */
static uint32_t
answer(int fd)
{
	static uint8_t buf[65536];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct pmtu_wire m, ack;
	uint8_t out[PMTU_WIRE_HEADER];
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

	assert_true(n > 0);
	assert_int_equal(pmtu_wire_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(m.type, PMTU_WIRE_PROBE);
	ack = (struct pmtu_wire){.type = PMTU_WIRE_ACK, .id = m.id, .size = m.size};
	assert_int_equal(pmtu_wire_encode(&ack, out, sizeof(out)), PMTU_WIRE_HEADER);
	assert_int_equal(sendto(fd, out, sizeof(out), 0, (struct sockaddr *)&from, fl),
	                 (ssize_t)sizeof(out));
	return m.size;
}

static void
count_change(void *arg, const char *site, uint32_t old_mtu, const struct pmtu *path,
             uint32_t return_mtu)
{
	(void)site;
	(void)old_mtu;
	(void)path;
	(void)return_mtu;
	++*(unsigned *)arg;
}

/* The loop was busy past the probe's wait (a long reconcile run) while the ack sat in the
 * socket. libev fires the due timer before it reads; the ack still counts and the search
 * goes on to the tunnel's MTU, with no loss counted and nothing refused. */
static void
test_ack_waiting_in_socket_counts(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pmtud_target t = {.site = "site-a", .overlay = v4("127.0.0.2")};
	struct addr local = v4("127.0.0.1");
	const struct pmtu *path;
	unsigned changes = 0;
	struct pmtud *d;
	int peer;

	(void)state;
	if (!in_own_netns)
		skip();
	peer = peer_socket("127.0.0.2");
	assert_int_equal(pmtud_new(loop, count_change, &changes, &d), 0);
	assert_int_equal(pmtud_set_peers(d, &local, "lo", &t, 1, TUNNEL, now_us()), 0);
	assert_int_equal(answer(peer), PMTU_MIN);
	usleep((useconds_t)(PMTU_PROBE_WAIT + PMTU_PROBE_WAIT / 2));
	ev_run(loop, EVRUN_NOWAIT);

	path = pmtud_path(d, "site-a");
	assert_non_null(path);
	assert_int_equal(path->acked, 1);
	assert_int_equal(path->losses, 0);
	assert_int_equal(path->phase, PMTU_SEARCH);
	assert_int_equal(pmtud_refused(d), 0);
	/* The next size went at once: the top, most paths carry it. */
	assert_int_equal(answer(peer), TUNNEL);

	pmtud_close(d);
	close(peer);
	ev_loop_destroy(loop);
}

/* A peer's ack on its own: what answer() sends, for a probe of id and size. */
static void
send_ack(int fd, const struct addr *to_addr, uint32_t id, uint32_t size)
{
	struct pmtu_wire ack = {.type = PMTU_WIRE_ACK, .id = id, .size = size};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(PMTUD_PORT)};
	uint8_t out[PMTU_WIRE_HEADER];

	to.sin_addr = to_addr->u.v4;
	assert_int_equal(pmtu_wire_encode(&ack, out, sizeof(out)), PMTU_WIRE_HEADER);
	assert_int_equal(sendto(fd, out, sizeof(out), 0, (struct sockaddr *)&to, sizeof(to)),
	                 (ssize_t)sizeof(out));
}

#define MANY 64

/* Peers named in the opposite order of their addresses: each ack is matched to its path by
 * its sender's address, and an ack from an address no peer has is refused. (A local address
 * of its own: a failed test before it leaves its socket bound.) */
static void
test_acks_found_by_address(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pmtud_target targets[MANY];
	char names[MANY][16], ip[MANY][16];
	struct addr local = v4("127.0.0.3");
	int peers[MANY], stranger;
	unsigned changes = 0;
	struct pmtud *d;
	int64_t until;
	bool all;

	(void)state;
	if (!in_own_netns)
		skip();
	for (int i = 0; i < MANY; i++) {
		snprintf(names[i], sizeof(names[i]), "site-%02d", i);
		snprintf(ip[i], sizeof(ip[i]), "127.0.0.%d", 10 + (MANY - 1 - i));
		targets[i] = (struct pmtud_target){.site = names[i], .overlay = v4(ip[i])};
		peers[i] = peer_socket(ip[i]);
	}
	assert_int_equal(pmtud_new(loop, count_change, &changes, &d), 0);
	assert_int_equal(pmtud_set_peers(d, &local, "lo", targets, MANY, TUNNEL, now_us()), 0);
	for (int i = 0; i < MANY; i++)
		assert_int_equal(answer(peers[i]), PMTU_MIN);

	until = now_us() + PMTU_PROBE_WAIT / 2;
	do {
		ev_run(loop, EVRUN_NOWAIT);
		all = true;
		for (int i = 0; i < MANY; i++)
			all = all && pmtud_path(d, names[i])->acked == 1;
	} while (!all && now_us() < until);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(pmtud_path(d, names[i])->acked, 1);
		assert_int_equal(pmtud_path(d, names[i])->phase, PMTU_SEARCH);
		/* Each went on to the top size, on its own socket. */
		assert_int_equal(answer(peers[i]), TUNNEL);
	}
	assert_int_equal(pmtud_refused(d), 0);

	/* An ack, well formed, from port 7947 of an address that is no peer's. */
	stranger = peer_socket("127.0.0.200");
	send_ack(stranger, &local, 1, PMTU_MIN);
	until = now_us() + PMTU_PROBE_WAIT / 2;
	while (pmtud_refused(d) == 0 && now_us() < until)
		ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(pmtud_refused(d), 1);

	pmtud_close(d);
	for (int i = 0; i < MANY; i++)
		close(peers[i]);
	close(stranger);
	ev_loop_destroy(loop);
}

/* The probe waiting on fd: its id and size, unanswered. */
static uint32_t
take_probe(int fd, uint32_t *id)
{
	static uint8_t buf[65536];
	struct pmtu_wire m;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	assert_true(n > 0);
	assert_int_equal(pmtu_wire_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(m.type, PMTU_WIRE_PROBE);
	*id = m.id;
	return m.size;
}

/* The ack of the probe in flight, right in id and size, from the peer's overlay address but
 * another port than 7947 (not netd's socket there: any process on the peer, or a packet the
 * tunnel carried from a host behind it with that address) is refused; from port 7947 it
 * counts. */
static void
test_ack_from_another_port_refused(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pmtud_target t = {.site = "site-a", .overlay = v4("127.0.0.2")};
	struct sockaddr_in other = {.sin_family = AF_INET, .sin_port = htons(PMTUD_PORT + 1)};
	struct addr local = v4("127.0.0.1");
	unsigned changes = 0;
	struct pmtud *d;
	uint32_t id, size;
	int64_t until;
	int peer, stray;

	(void)state;
	if (!in_own_netns)
		skip();
	peer = peer_socket("127.0.0.2");
	stray = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(stray >= 0);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.2", &other.sin_addr), 1);
	assert_int_equal(bind(stray, (struct sockaddr *)&other, sizeof(other)), 0);
	assert_int_equal(pmtud_new(loop, count_change, &changes, &d), 0);
	assert_int_equal(pmtud_set_peers(d, &local, "lo", &t, 1, TUNNEL, now_us()), 0);
	size = take_probe(peer, &id);
	assert_int_equal(size, PMTU_MIN);

	send_ack(stray, &local, id, size);
	until = now_us() + PMTU_PROBE_WAIT / 2;
	while (pmtud_refused(d) == 0 && now_us() < until)
		ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(pmtud_refused(d), 1);
	assert_int_equal(pmtud_path(d, "site-a")->acked, 0);

	send_ack(peer, &local, id, size);
	until = now_us() + PMTU_PROBE_WAIT / 2;
	while (pmtud_path(d, "site-a")->acked == 0 && now_us() < until)
		ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(pmtud_path(d, "site-a")->acked, 1);
	assert_int_equal(pmtud_refused(d), 1);

	pmtud_close(d);
	close(peer);
	close(stray);
	ev_loop_destroy(loop);
}

#define CROWD 1200

/* Raises the open files' limit to hold n sockets of the test's. */
static void
allow_files(int n)
{
	struct rlimit lim;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
	if (lim.rlim_cur < (rlim_t)n + 64) {
		lim.rlim_cur = (rlim_t)n + 64;
		if (lim.rlim_max < lim.rlim_cur)
			lim.rlim_max = lim.rlim_cur;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	}
}

/* CROWD peers on 127.0.<2 + i / 250>.<1 + i % 250>, named site-NNNN, and a prober on local
 * that probes them all. */
struct crowd {
	struct pmtud_target targets[CROWD];
	char names[CROWD][16], ip[CROWD][16];
	int peers[CROWD];
	struct ev_loop *loop;
	struct pmtud *d;
	unsigned changes;
};

static struct crowd *
crowd_new(const struct addr *local)
{
	static struct crowd c;

	memset(&c, 0, sizeof(c));
	allow_files(CROWD);
	for (int i = 0; i < CROWD; i++) {
		snprintf(c.names[i], sizeof(c.names[i]), "site-%04d", i);
		snprintf(c.ip[i], sizeof(c.ip[i]), "127.0.%d.%d", 2 + i / 250, 1 + i % 250);
		c.targets[i] = (struct pmtud_target){.site = c.names[i], .overlay = v4(c.ip[i])};
		c.peers[i] = peer_socket(c.ip[i]);
	}
	assert_non_null(c.loop = ev_loop_new(EVFLAG_AUTO));
	assert_int_equal(pmtud_new(c.loop, count_change, &c.changes, &c.d), 0);
	assert_int_equal(pmtud_set_peers(c.d, local, "lo", c.targets, CROWD, TUNNEL, now_us()), 0);
	return &c;
}

static void
crowd_free(struct crowd *c)
{
	pmtud_close(c->d);
	for (int i = 0; i < CROWD; i++)
		close(c->peers[i]);
	ev_loop_destroy(c->loop);
}

/* A peer's base probe to this site, as the peer's own search sends it. */
static void
send_probe_to(int fd, const struct addr *to_addr, uint32_t id)
{
	static uint8_t buf[PMTU_MIN - PMTU_UDP_IP4];
	struct pmtu_wire probe = {.type = PMTU_WIRE_PROBE, .id = id, .size = PMTU_MIN};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(PMTUD_PORT)};

	to.sin_addr = to_addr->u.v4;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pmtu_wire_encode(&probe, buf, sizeof(buf)), PMTU_WIRE_HEADER);
	assert_int_equal(sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)),
	                 (ssize_t)sizeof(buf));
}

/* Waits for an ack on fd, past the probes this site sends the peer meanwhile. Returns its
 * id. */
static uint32_t
await_ack(int fd)
{
	static uint8_t buf[65536];
	struct pmtu_wire m;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		assert_true(n > 0);
		assert_int_equal(pmtu_wire_parse(buf, (size_t)n, &m), 0);
		if (m.type == PMTU_WIRE_ACK)
			return m.id;
	}
}

/* Every peer of a large federation probes this site while its loop is held (a reconcile
 * run at 10,000 sites takes seconds): the probes wait in the socket, and every one is
 * acknowledged once the loop reads. With the kernel's default buffer (about 200 KB) some
 * ninety base probes fit. */
static void
test_probes_of_a_crowd_wait_in_socket(void **state)
{
	struct addr local = v4("127.0.1.2");
	struct crowd *c;

	(void)state;
	if (!in_own_netns)
		skip();
	c = crowd_new(&local);
	for (int i = 0; i < CROWD; i++)
		send_probe_to(c->peers[i], &local, 1000 + (uint32_t)i);
	/* Read by the loop once; each peer then waits for its ack, whatever the socket held. */
	for (int i = 0; i < CROWD; i++) {
		ev_run(c->loop, EVRUN_NOWAIT);
		assert_int_equal(await_ack(c->peers[i]), 1000 + (uint32_t)i);
	}
	assert_int_equal(pmtud_refused(c->d), 0);
	crowd_free(c);
}

/* Every peer of a large federation acknowledges its first probe while the loop is held (a
 * reconcile run at 10,000 sites takes seconds): the acks wait in the socket, and all of them
 * count once the loop reads. With the kernel's default buffer a few hundred fit. */
static void
test_acks_of_a_crowd_wait_in_socket(void **state)
{
	struct addr local = v4("127.0.1.1");
	unsigned acked = 0;
	struct crowd *c;
	int64_t until;

	(void)state;
	if (!in_own_netns)
		skip();
	c = crowd_new(&local);
	/* Every first probe answered before the loop runs again. */
	for (int i = 0; i < CROWD; i++) {
		static uint8_t buf[65536];
		struct pmtu_wire m;
		ssize_t n = recv(c->peers[i], buf, sizeof(buf), 0);

		assert_true(n > 0);
		assert_int_equal(pmtu_wire_parse(buf, (size_t)n, &m), 0);
		send_ack(c->peers[i], &local, m.id, m.size);
	}
	until = now_us() + PMTU_PROBE_WAIT / 2;
	do {
		ev_run(c->loop, EVRUN_NOWAIT);
		acked = 0;
		for (int i = 0; i < CROWD; i++)
			acked += pmtud_path(c->d, c->names[i])->acked >= 1;
	} while (acked < CROWD && now_us() < until);
	assert_int_equal(acked, CROWD);
	assert_int_equal(pmtud_refused(c->d), 0);
	crowd_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ack_waiting_in_socket_counts),
	        cmocka_unit_test(test_acks_found_by_address),
	        cmocka_unit_test(test_ack_from_another_port_refused),
	        cmocka_unit_test(test_probes_of_a_crowd_wait_in_socket),
	        cmocka_unit_test(test_acks_of_a_crowd_wait_in_socket),
	};

	if (setup_netns() < 0) {
		fprintf(stderr, "test_pmtud: cannot bring lo up in its namespace: %s\n",
		        strerror(errno));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
