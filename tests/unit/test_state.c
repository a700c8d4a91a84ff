/* The state file: round trips, every truncation and corruption refused with a reason, the
 * incarnation kept across saves, atomic replacement, a missing file told apart from a bad one,
 * an earlier version's file still read, and one netd per file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netd/state.h"

static void
member(struct wire_desc *d, const char *name, uint8_t octet)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->incarnation = octet;
	memset(d->wg_key, octet, sizeof(d->wg_key));
	memset(d->sign_key, octet + 1, sizeof(d->sign_key));
	d->gossip.addr.family = AF_INET;
	memcpy(d->gossip.addr.u.bytes, (uint8_t[]){198, 51, 100, octet}, 4);
	d->gossip.port = 7946;
	d->nendpoints = 1;
	d->endpoints[0] = d->gossip;
	d->endpoints[0].port = 51820;
	d->nprefixes = 1;
	d->prefixes[0].addr.family = AF_INET;
	memcpy(d->prefixes[0].addr.u.bytes, (uint8_t[]){10, octet, 0, 0}, 4);
	d->prefixes[0].len = 16;
	d->nvnis = 1;
	d->vnis[0] = 100;
	memset(d->sig, 0x5a, sizeof(d->sig));
}

/* The members a state holds, by reference as gossip shares them. */
static struct gossip_desc *held[3];

static void
sample(struct state *st, struct wire_desc *members, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char name[16];

		snprintf(name, sizeof(name), "site%zu", i + 2);
		member(&members[i], name, (uint8_t)(i + 2));
		held[i] = gossip_desc_new(&members[i]);
		assert_non_null(held[i]);
	}
	*st = (struct state){.incarnation = 9, .members = held, .nmembers = n};
}

static void
release(size_t n)
{
	for (size_t i = 0; i < n; i++)
		gossip_desc_unref(held[i]);
}

static bool
same(const struct gossip_desc *gd, const struct wire_desc *d)
{
	struct wire_desc back;

	wire_cdesc_unpack(&gd->d, &back);
	return wire_desc_equal(&back, d);
}

static void
test_round_trip(void **unused)
{
	struct wire_desc members[3];
	struct state st, back;
	uint8_t *buf;
	size_t len;
	char err[128];

	(void)unused;
	for (size_t n = 0; n <= 3; n++) {
		sample(&st, members, n);
		assert_int_equal(state_encode(&st, &buf, &len), 0);
		assert_int_equal(state_decode(buf, len, &back, err, sizeof(err)), 0);
		assert_int_equal(back.incarnation, 9);
		assert_int_equal(back.nmembers, n);
		for (size_t i = 0; i < n; i++)
			assert_true(same(back.members[i], &members[i]));
		state_clear(&back);
		release(n);
		free(buf);
	}
}

/* Credentials, revocations and the authority update in force go in and come out as they
 * were, ahead of the members; a file with them in another order is refused, since only the
 * one order encodes back to itself. */
static void
test_federation_entries(void **unused)
{
	static uint8_t cred_bytes[2][101], rev_bytes[77];
	static struct state_blob creds[2], revs[1];
	struct wire_desc members[2];
	struct state st, back;
	uint8_t *buf;
	size_t len, first;
	char err[128];

	(void)unused;
	sample(&st, members, 2);
	for (size_t i = 0; i < 2; i++) {
		creds[i].len = (uint16_t)(100 + i);
		memset(cred_bytes[i], (int)(0x40 + i), creds[i].len);
		creds[i].bytes = cred_bytes[i];
	}
	revs[0].len = 77;
	memset(rev_bytes, 0x55, revs[0].len);
	revs[0].bytes = rev_bytes;
	st.creds = creds;
	st.ncreds = 2;
	st.revocations = revs;
	st.nrevocations = 1;
	st.authorities.len = 60;
	memset(st.authorities.bytes, 0x33, 60);
	assert_int_equal(state_encode(&st, &buf, &len), 0);
	assert_int_equal(state_decode(buf, len, &back, err, sizeof(err)), 0);
	assert_int_equal(back.nmembers, 2);
	assert_int_equal(back.ncreds, 2);
	assert_int_equal(back.nrevocations, 1);
	assert_int_equal(back.creds[1].len, 101);
	assert_memory_equal(back.creds[1].bytes, creds[1].bytes, 101);
	assert_memory_equal(back.revocations[0].bytes, revs[0].bytes, 77);
	assert_int_equal(back.authorities.len, 60);
	assert_true(same(back.members[1], &members[1]));
	state_clear(&back);
	/* The first entry (the authority update) moved to the end: refused. */
	first = 2 + ((size_t)buf[16] << 8 | buf[17]);
	{
		uint8_t *moved = malloc(len);

		assert_non_null(moved);
		memcpy(moved, buf, 16);
		memcpy(moved + 16, buf + 16 + first, len - 16 - first);
		memcpy(moved + len - first, buf + 16, first);
		assert_int_equal(state_decode(moved, len, &back, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "entry 6"));
		free(moved);
	}
	free(buf);
	release(2);
}

static void
test_truncated_and_trailing(void **unused)
{
	struct wire_desc members[2];
	struct state st, back;
	uint8_t *buf, *copy;
	size_t len;
	char err[128];

	(void)unused;
	sample(&st, members, 2);
	assert_int_equal(state_encode(&st, &buf, &len), 0);
	/* Every proper prefix of the file is refused (copied, so ASan sees any overread). */
	for (size_t cut = 0; cut < len; cut++) {
		copy = malloc(cut ? cut : 1);
		memcpy(copy, buf, cut);
		err[0] = '\0';
		assert_int_equal(state_decode(copy, cut, &back, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		free(copy);
	}
	copy = malloc(len + 1);
	memcpy(copy, buf, len);
	copy[len] = 0;
	assert_int_equal(state_decode(copy, len + 1, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "trailing"));
	free(copy);
	free(buf);
	release(2);
}

static void
test_corrupt(void **unused)
{
	struct wire_desc members[1];
	struct state st, back;
	uint8_t *buf;
	size_t len;
	char err[128];

	(void)unused;
	sample(&st, members, 1);
	assert_int_equal(state_encode(&st, &buf, &len), 0);
	buf[0] ^= 1; /* magic */
	assert_int_equal(state_decode(buf, len, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a netd state file"));
	buf[0] ^= 1;
	buf[15] = 0xff; /* member count beyond what the file holds */
	assert_int_equal(state_decode(buf, len, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "entry count"));
	buf[15] = 1;
	buf[18] = 99; /* the member's payload: an unknown wire version */
	assert_int_equal(state_decode(buf, len, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "entry 1"));
	free(buf);
	release(1);
}

static void
test_files(void **unused)
{
	char dir[] = "/tmp/netd-state.XXXXXX", path[256], err[256];
	struct wire_desc members[2];
	struct state st, back;
	struct stat sb;
	FILE *f;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	/* The directory itself is created (a fresh StateDirectory-less install). */
	snprintf(path, sizeof(path), "%s/sub/gossip.state", dir);
	assert_int_equal(state_load(path, &back, err, sizeof(err)), 1);
	assert_int_equal(back.incarnation, 0);
	sample(&st, members, 2);
	assert_int_equal(state_save(path, &st, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	st.incarnation = 42;
	assert_int_equal(state_save(path, &st, err, sizeof(err)), 0);
	assert_int_equal(state_load(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back.incarnation, 42);
	assert_int_equal(back.nmembers, 2);
	state_clear(&back);

	f = fopen(path, "w");
	fputs("garbage", f);
	fclose(f);
	assert_int_equal(state_load(path, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));

	/* An unwritable place is an error with the path, not a crash. */
	snprintf(path, sizeof(path), "%s/missing/sub/gossip.state", dir);
	assert_int_equal(state_save(path, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing"));

	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
	release(2);
}

/* A file larger than the buffer a save writes it through is written whole, byte for byte what
 * state_encode makes of the same state. */
static void
test_file_in_chunks(void **unused)
{
	enum { N = 1000 };
	char dir[] = "/tmp/netd-state.XXXXXX", path[256], err[256];
	struct gossip_desc **many = calloc(N, sizeof(*many));
	struct state st = {.incarnation = 7}, back;
	struct wire_desc d;
	uint8_t *want, *got;
	size_t len;
	FILE *f;

	(void)unused;
	assert_non_null(many);
	for (size_t i = 0; i < N; i++) {
		char name[16];

		snprintf(name, sizeof(name), "site%zu", i);
		member(&d, name, (uint8_t)i);
		many[i] = gossip_desc_new(&d);
		assert_non_null(many[i]);
	}
	st.members = many;
	st.nmembers = N;
	assert_int_equal(state_encode(&st, &want, &len), 0);
	assert_true(len > 2 * (64u << 10));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/gossip.state", dir);
	assert_int_equal(state_save(path, &st, err, sizeof(err)), 0);
	got = malloc(len + 1);
	assert_non_null(got);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, len + 1, f), len);
	fclose(f);
	assert_memory_equal(got, want, len);
	assert_int_equal(state_load(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back.nmembers, N);
	assert_int_equal(back.incarnation, 7);
	state_clear(&back);

	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
	for (size_t i = 0; i < N; i++)
		gossip_desc_unref(many[i]);
	free(many);
	free(want);
	free(got);
}

/* A file of the first version (with a restart epoch after the magic) keeps its view. */
static void
test_version_1(void **unused)
{
	struct wire_desc members[2];
	struct state st, back;
	uint8_t *buf, *v1;
	size_t len;
	char err[128];

	(void)unused;
	sample(&st, members, 2);
	assert_int_equal(state_encode(&st, &buf, &len), 0);
	v1 = malloc(len + 4);
	assert_non_null(v1);
	memcpy(v1, buf, 8);
	v1[7] = 1;
	memcpy(v1 + 8, (uint8_t[]){0, 0, 0, 77}, 4);
	memcpy(v1 + 12, buf + 8, len - 8);
	assert_int_equal(state_decode(v1, len + 4, &back, err, sizeof(err)), 0);
	assert_int_equal(back.incarnation, 9);
	assert_int_equal(back.nmembers, 2);
	assert_true(same(back.members[1], &members[1]));
	state_clear(&back);
	for (size_t cut = 0; cut < 20; cut++)
		assert_int_equal(state_decode(v1, cut, &back, err, sizeof(err)), -1);
	free(v1);
	free(buf);
	release(2);
}

/* Two netd on one state file would overwrite each other's view: the second is refused,
 * with the file and the holder's pid in the reason; the lock goes with its holder. */
static void
test_lock(void **unused)
{
	char dir[] = "/tmp/netd-state.XXXXXX", path[256], err[256], pid[32];
	int fd, status;
	pid_t child;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/gossip.state", dir);
	fd = state_lock(path, err, sizeof(err));
	assert_true(fd >= 0);
	/* Another process, as a second netd is. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int e = state_lock(path, err, sizeof(err));

		snprintf(pid, sizeof(pid), "pid %ld", (long)getppid());
		_exit(e < 0 && strstr(err, path) != NULL && strstr(err, pid) != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Within this process too: a second descriptor is a second holder. */
	assert_int_equal(state_lock(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "in use"));
	close(fd);
	fd = state_lock(path, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);

	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* A save of a few sites keeps the one-second delay; a costly one spaces the next twenty
 * times its cost apart, never more than the bound a crash may lose. */
static void
test_save_delay(void **state)
{
	(void)state;
	assert_int_equal(state_save_delay(0), STATE_SAVE_DELAY);
	assert_int_equal(state_save_delay(2000), STATE_SAVE_DELAY);
	assert_int_equal(state_save_delay(STATE_SAVE_DELAY / STATE_SAVE_COST_MULT),
	                 STATE_SAVE_DELAY);
	assert_int_equal(state_save_delay(200000), 200000 * STATE_SAVE_COST_MULT);
	assert_int_equal(state_save_delay(STATE_SAVE_LATEST / STATE_SAVE_COST_MULT - 1),
	                 STATE_SAVE_LATEST - STATE_SAVE_COST_MULT);
	assert_int_equal(state_save_delay(STATE_SAVE_LATEST / STATE_SAVE_COST_MULT),
	                 STATE_SAVE_LATEST);
	assert_int_equal(state_save_delay(INT64_MAX / 2), STATE_SAVE_LATEST);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_federation_entries),
	        cmocka_unit_test(test_truncated_and_trailing),
	        cmocka_unit_test(test_corrupt),
	        cmocka_unit_test(test_files),
	        cmocka_unit_test(test_file_in_chunks),
	        cmocka_unit_test(test_version_1),
	        cmocka_unit_test(test_lock),
	        cmocka_unit_test(test_save_delay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
