/* The path MTU prober's schedule of first probes: a new peer that waits for its WireGuard
 * handshake's start (held by the reconciler's pace) gets its first probe, which would start
 * that handshake, at PMTUD_FIRST_RATE a second among the held, a peer already started at
 * once, and a peer kept across calls its search as it was. No socket is needed: with no
 * device to bind to, nothing is sent, and the schedule is what pmtud_path shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "netd/mesh.h"
#include "netd/pmtud.h"

#define HELD 300

static struct pmtud_target *
targets_of(size_t n, size_t nheld, char names[][16])
{
	struct pmtud_target *t = calloc(n, sizeof(*t));

	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		/* sorted by name, as the prober keeps them */
		snprintf(names[i], 16, "site-%04zu", i);
		t[i].site = names[i];
		t[i].overlay.family = AF_INET;
		t[i].overlay.u.bytes[0] = 100;
		t[i].overlay.u.bytes[1] = 64;
		t[i].overlay.u.bytes[2] = (uint8_t)(i >> 8);
		t[i].overlay.u.bytes[3] = (uint8_t)i;
		t[i].held = i < nheld;
	}
	return t;
}

static void
test_held_first_probes_paced(void **state)
{
	static char names[HELD + 10][16];
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct addr local = {.family = AF_INET, .u.bytes = {100, 64, 255, 254}};
	struct pmtud_target *t = targets_of(HELD + 10, HELD, names);
	const int64_t now = 1000 * MESH_USEC, step = MESH_USEC / PMTUD_FIRST_RATE;
	struct pmtud *d;
	size_t due_now = 0;
	int64_t last = 0;

	(void)state;
	assert_int_equal(pmtud_new(loop, NULL, NULL, &d), 0);
	assert_int_equal(pmtud_set_peers(d, &local, "nonexistent0", t, HELD + 10, 1420, now), 0);
	for (size_t i = 0; i < HELD; i++) {
		const struct pmtu *p = pmtud_path(d, t[i].site);

		assert_non_null(p);
		/* one slot of 1/PMTUD_FIRST_RATE s after another, from now */
		assert_int_equal(p->next_at, now + (int64_t)i * step);
		due_now += p->next_at == now;
		last = p->next_at;
	}
	assert_int_equal(due_now, 1);
	assert_true(last >= now + 2 * MESH_USEC); /* 300 held at 128 a second: over 2 s */
	for (size_t i = HELD; i < HELD + 10; i++)
		assert_int_equal(pmtud_path(d, t[i].site)->next_at, now);

	/* Kept peers keep their schedule; a new held one goes after the last slot given. */
	t[HELD].site = "site-9999";
	assert_int_equal(pmtud_set_peers(d, &local, "nonexistent0", t, HELD + 10, 1420, now + 1),
	                 0);
	assert_int_equal(pmtud_path(d, t[HELD - 1].site)->next_at, last);
	assert_int_equal(pmtud_path(d, "site-9999")->next_at, now + 1);
	t[HELD].held = true;
	t[HELD].site = "site-9998";
	assert_int_equal(pmtud_set_peers(d, &local, "nonexistent0", t, HELD + 10, 1420, now + 2),
	                 0);
	assert_int_equal(pmtud_path(d, "site-9998")->next_at, last + step);

	pmtud_close(d);
	ev_loop_destroy(loop);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_held_first_probes_paced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
