/* The gossip socket on loopback: a datagram longer than the protocol allows is counted and
 * never reaches the gossip core, whatever its size; one that fits, empty or full, is handed
 * on whole; and one wake-up reads at most 64 datagrams, saying that more may wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netd/transport.h"
#include "netd/wire.h"

struct seen {
	size_t n, bytes, batches, more;
	size_t last_batch; /* datagrams in the batch that ended last */
	size_t in_batch;
	size_t lens[16];
};

static void
on_datagram(void *arg, const struct addr_endpoint *from, const uint8_t *buf, size_t len)
{
	struct seen *s = arg;

	(void)buf;
	assert_int_equal(from->addr.family, AF_INET);
	if (s->n < sizeof(s->lens) / sizeof(s->lens[0]))
		s->lens[s->n] = len;
	s->n++;
	s->bytes += len;
	s->in_batch++;
}

static void
on_drained(void *arg, bool more)
{
	struct seen *s = arg;

	s->batches++;
	s->more += more;
	s->last_batch = s->in_batch;
	s->in_batch = 0;
}

struct rig {
	struct ev_loop *loop;
	struct transport *t;
	struct seen seen;
	int tx;
	struct sockaddr_in to;
};

/* A transport on a free port of 127.0.0.1 and a plain socket to send it datagrams. */
static int
rig_setup(void **state)
{
	static struct rig r;
	struct transport_handler h = {on_datagram, on_drained, &r.seen};
	struct addr_endpoint bind_to = {.addr = {.family = AF_INET}};
	socklen_t sl = sizeof(r.to);
	int probe;

	memset(&r, 0, sizeof(r));
	r.to.sin_family = AF_INET;
	r.to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	probe = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(probe >= 0);
	assert_int_equal(bind(probe, (struct sockaddr *)&r.to, sizeof(r.to)), 0);
	assert_int_equal(getsockname(probe, (struct sockaddr *)&r.to, &sl), 0);
	close(probe);
	bind_to.addr.u.v4 = r.to.sin_addr;
	bind_to.port = ntohs(r.to.sin_port);
	r.loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(r.loop);
	assert_int_equal(transport_open(r.loop, &bind_to, &h, &r.t), 0);
	r.tx = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(r.tx >= 0);
	*state = &r;
	return 0;
}

static int
rig_teardown(void **state)
{
	struct rig *r = *state;

	transport_close(r->t);
	ev_loop_destroy(r->loop);
	close(r->tx);
	return 0;
}

static void
send_len(struct rig *r, size_t len)
{
	static uint8_t buf[65000];

	memset(buf, 0x11, len);
	assert_int_equal(sendto(r->tx, buf, len, 0, (struct sockaddr *)&r->to, sizeof(r->to)),
	                 (ssize_t)len);
}

/* Runs the loop until `count` datagrams were read or dropped for their size. */
static void
run_until(struct rig *r, size_t count)
{
	for (int i = 0; i < 1000 && r->seen.n + transport_oversize(r->t) < count; i++) {
		ev_run(r->loop, EVRUN_NOWAIT);
		if (r->seen.n + transport_oversize(r->t) < count)
			usleep(1000);
	}
	assert_int_equal(r->seen.n + transport_oversize(r->t), count);
}

static void
test_oversize_counted_and_dropped(void **state)
{
	static const size_t lens[] = {0,    1,     WIRE_DATAGRAM_MAX,    WIRE_DATAGRAM_MAX + 1,
	                              9000, 65000, WIRE_DATAGRAM_MAX - 1};
	struct rig *r = *state;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		send_len(r, lens[i]);
	run_until(r, sizeof(lens) / sizeof(lens[0]));
	assert_int_equal(transport_oversize(r->t), 3);
	assert_int_equal(r->seen.n, 4);
	/* Handed on whole, in order; the longer ones never, not even cut short. */
	assert_int_equal(r->seen.lens[0], 0);
	assert_int_equal(r->seen.lens[1], 1);
	assert_int_equal(r->seen.lens[2], WIRE_DATAGRAM_MAX);
	assert_int_equal(r->seen.lens[3], WIRE_DATAGRAM_MAX - 1);
	assert_int_equal(r->seen.bytes, 1 + 2 * WIRE_DATAGRAM_MAX - 1);
}

/* A flood cannot hold the loop: 100 datagrams waiting are read as 64, said to leave more,
 * then the rest. */
static void
test_reads_bounded_per_wakeup(void **state)
{
	struct rig *r = *state;

	memset(&r->seen, 0, sizeof(r->seen));
	for (int i = 0; i < 100; i++)
		send_len(r, 40);
	/* Wait until all 100 are queued in the socket, then give the loop one pass at a time. */
	usleep(20000);
	ev_run(r->loop, EVRUN_NOWAIT);
	assert_int_equal(r->seen.batches, 1);
	assert_int_equal(r->seen.last_batch, 64);
	assert_int_equal(r->seen.more, 1);
	run_until(r, 100);
	assert_int_equal(r->seen.last_batch, 36);
	assert_int_equal(r->seen.more, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_oversize_counted_and_dropped, rig_setup,
	                                        rig_teardown),
	        cmocka_unit_test_setup_teardown(test_reads_bounded_per_wakeup, rig_setup,
	                                        rig_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
