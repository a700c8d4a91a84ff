/* The gossip wire codec: every message round-trips, every field's bound is enforced on
 * both sides, truncation and trailing bytes are refused, encodings are canonical. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netd/wire.h"

static void
sample_desc(struct wire_desc *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->name, "site-a");
	d->incarnation = 7;
	memset(d->wg_key, 0x11, sizeof(d->wg_key));
	memset(d->sign_key, 0x22, sizeof(d->sign_key));
	d->gossip.addr.family = AF_INET;
	memcpy(d->gossip.addr.u.bytes, (uint8_t[]){192, 0, 2, 1}, 4);
	d->gossip.port = 7946;
	d->nendpoints = 2;
	d->endpoints[0] = d->gossip;
	d->endpoints[0].port = 51820;
	d->endpoints[1].addr.family = AF_INET6;
	d->endpoints[1].addr.u.bytes[0] = 0x20;
	d->endpoints[1].addr.u.bytes[1] = 0x01;
	d->endpoints[1].addr.u.bytes[2] = 0x0d;
	d->endpoints[1].addr.u.bytes[3] = 0xb8;
	d->endpoints[1].addr.u.bytes[15] = 1;
	d->endpoints[1].port = 51820;
	d->noverlay = 1;
	d->overlay[0].addr.family = AF_INET;
	memcpy(d->overlay[0].addr.u.bytes, (uint8_t[]){10, 255, 0, 1}, 4);
	d->overlay[0].len = 32;
	d->nprefixes = 2;
	d->prefixes[0].addr.family = AF_INET;
	memcpy(d->prefixes[0].addr.u.bytes, (uint8_t[]){10, 1, 0, 0}, 4);
	d->prefixes[0].len = 16;
	d->prefixes[1].addr.family = AF_INET6;
	memcpy(d->prefixes[1].addr.u.bytes, (uint8_t[]){0xfd, 0, 0, 1}, 4);
	d->prefixes[1].len = 48;
	d->nvnis = 2;
	d->vnis[0] = 100;
	d->vnis[1] = WIRE_VNI_MAX;
	d->flags = WIRE_DESC_NAT | WIRE_DESC_RELAY;
	strcpy(d->relays[0], "relay-1");
	strcpy(d->relays[1], "r");
	d->nrelays = 2;
	memset(d->sig, 0x33, sizeof(d->sig));
}

/* One of each message type, filled with legal values. */
static void
sample_msg(struct wire_msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case WIRE_PING:
		m->seq = 0xdeadbeef;
		break;
	case WIRE_PING_REQ:
		m->seq = 9;
		strcpy(m->target, "site-c");
		m->addr.addr.family = AF_INET6;
		m->addr.addr.u.bytes[15] = 3;
		m->addr.port = 1;
		m->flags = WIRE_PING_REQ_NACK;
		break;
	case WIRE_ACK:
	case WIRE_NACK:
		m->seq = 42;
		break;
	case WIRE_ALIVE:
		sample_desc(&m->desc);
		break;
	case WIRE_SUSPECT:
	case WIRE_DEAD:
		strcpy(m->target, "x");
		strcpy(m->from, "y-2");
		m->incarnation = UINT32_MAX;
		memset(m->sig, 0xcd, sizeof(m->sig));
		break;
	case WIRE_PING_FOR:
		m->seq = 7;
		strcpy(m->target, "x");
		strcpy(m->from, "prober");
		m->origin_seq = 0xfffffffe;
		break;
	case WIRE_ACK_FOR:
		m->seq = 8;
		m->relay_len = WIRE_RELAY_MAX;
		memset(m->relay, 0x11, WIRE_RELAY_MAX);
		break;
	case WIRE_LEFT:
		strcpy(m->target, "leaver");
		m->incarnation = 3;
		memset(m->sig, 0xab, sizeof(m->sig));
		break;
	case WIRE_DIGEST:
		m->nbuckets = 256;
		m->bucket = 128;
		m->count = WIRE_MAX_HASHES;
		for (size_t i = 0; i < m->count; i++)
			m->hashes[i] = 0x0102030405060708ull * (i + 1);
		break;
	case WIRE_ENTRIES:
		m->flags = WIRE_ENTRIES_REPLY;
		m->nbuckets = 64;
		m->bucket = 63;
		m->count = 3;
		for (size_t i = 0; i < m->count; i++) {
			snprintf(m->entries[i].name, sizeof(m->entries[i].name), "s%zu", i);
			m->entries[i].incarnation = (uint32_t)i * 1000;
			m->entries[i].state = (uint8_t)(WIRE_STATE_ALIVE + i);
		}
		break;
	case WIRE_DESC_REQ:
	case WIRE_CRED_REQ:
		m->count = 2;
		strcpy(m->names[0], "a");
		strcpy(m->names[1], "abcdefghijklmnopqrstuvwxyz012345");
		break;
	case WIRE_CRED:
	case WIRE_REVOKE:
	case WIRE_AUTHORITIES:
		m->blob_len = WIRE_BLOB_MAX;
		for (size_t i = 0; i < m->blob_len; i++)
			m->blob[i] = (uint8_t)i;
		break;
	case WIRE_FED_SUM:
		m->version = 7;
		m->total = 3;
		m->hashes[0] = 0x1122334455667788ull;
		break;
	case WIRE_OBSERVED:
		m->flags = WIRE_OBSERVED_WG;
		m->addr.addr.family = AF_INET;
		m->addr.addr.u.bytes[0] = 203;
		m->addr.port = 40000;
		m->wg.addr.family = AF_INET6;
		m->wg.addr.u.bytes[0] = 0x20;
		m->wg.port = 51820;
		break;
	case WIRE_REVOKE_IDS:
		m->flags = WIRE_IDS_REPLY;
		m->count = WIRE_MAX_IDS;
		for (size_t i = 0; i < m->count; i++)
			m->hashes[i] = 0x0807060504030201ull * (i + 1);
		break;
	}
}

static size_t
encode_one(const struct wire_msg *m, uint8_t *buf, size_t cap)
{
	struct wire_writer w;

	assert_int_equal(wire_begin(&w, buf, cap), 0);
	assert_int_equal(wire_put_msg(&w, m), 0);
	return w.len;
}

static int
decode_one(const uint8_t *buf, size_t len, struct wire_msg *m)
{
	struct wire_reader r;
	struct wire_msg extra;
	int rc;

	if (wire_reader_init(&r, buf, len) < 0)
		return -1;
	rc = wire_next(&r, m);
	if (rc != 1)
		return -1;
	rc = wire_next(&r, &extra);
	return rc == 0 ? 0 : -1;
}

static void
assert_msg_equal(const struct wire_msg *a, const struct wire_msg *b)
{
	uint8_t ba[WIRE_DATAGRAM_MAX], bb[WIRE_DATAGRAM_MAX];
	int la = wire_encode_msg(a, ba, sizeof(ba)), lb = wire_encode_msg(b, bb, sizeof(bb));

	assert_true(la > 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, (size_t)la);
	assert_int_equal(a->type, b->type);
}

static const uint8_t all_types[] = {WIRE_PING,    WIRE_PING_REQ,   WIRE_ACK,         WIRE_NACK,
                                    WIRE_ALIVE,   WIRE_SUSPECT,    WIRE_DEAD,        WIRE_LEFT,
                                    WIRE_DIGEST,  WIRE_ENTRIES,    WIRE_DESC_REQ,    WIRE_PING_FOR,
                                    WIRE_ACK_FOR, WIRE_CRED,       WIRE_CRED_REQ,    WIRE_REVOKE,
                                    WIRE_FED_SUM, WIRE_REVOKE_IDS, WIRE_AUTHORITIES, WIRE_OBSERVED};

static void
test_round_trip_every_type(void **state)
{
	struct wire_msg *m = malloc(sizeof(*m)), *back = malloc(sizeof(*back));
	uint8_t buf[WIRE_DATAGRAM_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(all_types); i++) {
		size_t len;

		sample_msg(m, all_types[i]);
		len = encode_one(m, buf, sizeof(buf));
		assert_int_equal(decode_one(buf, len, back), 0);
		assert_msg_equal(m, back);
		if (m->type == WIRE_ALIVE)
			assert_true(wire_desc_equal(&m->desc, &back->desc));
	}
	free(m);
	free(back);
}

/* Every proper prefix of every message is refused, and so is any extra byte. */
static void
test_truncation_and_trailing(void **state)
{
	struct wire_msg *m = malloc(sizeof(*m)), *back = malloc(sizeof(*back));
	uint8_t buf[WIRE_DATAGRAM_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(all_types); i++) {
		size_t len;

		sample_msg(m, all_types[i]);
		len = encode_one(m, buf, sizeof(buf) - 1);
		for (size_t cut = 0; cut < len; cut++)
			assert_int_equal(decode_one(buf, cut, back), -1);
		for (unsigned extra = 0; extra < 256; extra += 51) {
			buf[len] = (uint8_t)extra;
			assert_int_equal(decode_one(buf, len + 1, back), -1);
		}
	}
	free(m);
	free(back);
}

static void
test_version_and_empty(void **state)
{
	struct wire_msg *m = malloc(sizeof(*m));
	uint8_t buf[64];
	struct wire_reader r;
	size_t len;

	(void)state;
	sample_msg(m, WIRE_ACK);
	len = encode_one(m, buf, sizeof(buf));
	buf[0] = WIRE_VERSION + 1;
	assert_int_equal(wire_reader_init(&r, buf, len), -1);
	buf[0] = 0;
	assert_int_equal(wire_reader_init(&r, buf, len), -1);
	buf[0] = WIRE_VERSION;
	assert_int_equal(wire_reader_init(&r, buf, 1), -1); /* a version and nothing else */
	assert_int_equal(wire_reader_init(&r, buf, 0), -1);
	buf[1] = 0; /* unknown message type */
	assert_int_equal(decode_one(buf, len, m), -1);
	buf[1] = WIRE_ACK_FOR + 1;
	assert_int_equal(decode_one(buf, len, m), -1);
	free(m);
}

static void
test_several_messages(void **state)
{
	struct wire_msg *m = malloc(sizeof(*m)), *back = malloc(sizeof(*back));
	uint8_t buf[WIRE_DATAGRAM_MAX];
	struct wire_writer w;
	struct wire_reader r;
	int n = 0, rc;

	(void)state;
	assert_int_equal(wire_begin(&w, buf, sizeof(buf)), 0);
	sample_msg(m, WIRE_PING);
	assert_int_equal(wire_put_msg(&w, m), 0);
	sample_msg(m, WIRE_SUSPECT);
	assert_int_equal(wire_put_msg(&w, m), 0);
	sample_msg(m, WIRE_ALIVE);
	assert_int_equal(wire_put_msg(&w, m), 0);
	assert_int_equal(wire_reader_init(&r, buf, w.len), 0);
	while ((rc = wire_next(&r, back)) == 1)
		n++;
	assert_int_equal(rc, 0);
	assert_int_equal(n, 3);
	free(m);
	free(back);
}

/* A writer that is too small writes nothing at all, and the buffer stays usable. */
static void
test_writer_full(void **state)
{
	struct wire_msg *m = malloc(sizeof(*m));
	uint8_t buf[40];
	struct wire_writer w;

	(void)state;
	assert_int_equal(wire_begin(&w, buf, sizeof(buf)), 0);
	sample_msg(m, WIRE_ALIVE);
	assert_int_equal(wire_put_msg(&w, m), -1);
	assert_int_equal(w.len, 1);
	sample_msg(m, WIRE_ACK);
	assert_int_equal(wire_put_msg(&w, m), 0);
	assert_int_equal(w.len, 6);
	assert_int_equal(wire_begin(&w, buf, 0), -1);
	free(m);
}

static void
test_names(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
	        {"a", true},
	        {"site-1", true},
	        {"abcdefghijklmnopqrstuvwxyz012345", true},
	        {"abcdefghijklmnopqrstuvwxyz0123456", false},
	        {"", false},
	        {"-a", false},
	        {"A", false},
	        {"a_b", false},
	        {"a.b", false},
	        {"a b", false},
	};
	struct wire_msg *m = malloc(sizeof(*m));
	uint8_t buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(wire_name_valid(cases[i].name), cases[i].ok);
		sample_msg(m, WIRE_PING_REQ);
		memset(m->target, 0, sizeof(m->target));
		strncpy(m->target, cases[i].name, WIRE_NAME_MAX);
		if (strlen(cases[i].name) <= WIRE_NAME_MAX)
			assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)) > 0, cases[i].ok);
	}
	/* The decoder refuses bad names the encoder never writes. */
	sample_msg(m, WIRE_PING_REQ);
	size_t len = encode_one(m, buf, sizeof(buf));
	assert_int_equal(buf[6], 6); /* version, type, seq: the name length */
	buf[7] = 'B';
	assert_int_equal(decode_one(buf, len, m), -1);
	buf[7] = '\0';
	assert_int_equal(decode_one(buf, len, m), -1);
	buf[7] = 'b';
	buf[6] = 0;
	assert_int_equal(decode_one(buf, len, m), -1);
	buf[6] = WIRE_NAME_MAX + 1;
	assert_int_equal(decode_one(buf, len, m), -1);
	free(m);
}

/* Field limits of the descriptor: each one at the bound passes, one past it fails, on
 * the encoder; the decoder refuses a count patched past its bound. */
static void
test_desc_limits(void **state)
{
	struct wire_msg *m = malloc(sizeof(*m)), *back = malloc(sizeof(*back));
	uint8_t buf[WIRE_DATAGRAM_MAX];
	size_t len;

	(void)state;
	sample_msg(m, WIRE_ALIVE);
	m->desc.nprefixes = WIRE_MAX_PREFIXES;
	for (size_t i = 0; i < WIRE_MAX_PREFIXES; i++) {
		memset(&m->desc.prefixes[i], 0, sizeof(m->desc.prefixes[i]));
		m->desc.prefixes[i].addr.family = AF_INET6;
		m->desc.prefixes[i].addr.u.bytes[0] = 0xfd;
		m->desc.prefixes[i].addr.u.bytes[15] = (uint8_t)i;
		m->desc.prefixes[i].len = 128;
	}
	m->desc.nvnis = WIRE_MAX_VNIS;
	for (size_t i = 0; i < WIRE_MAX_VNIS; i++)
		m->desc.vnis[i] = (uint32_t)i + 1;
	m->desc.nendpoints = WIRE_MAX_ENDPOINTS;
	for (size_t i = 0; i < WIRE_MAX_ENDPOINTS; i++) {
		m->desc.endpoints[i].addr.family = AF_INET6;
		m->desc.endpoints[i].port = 65535;
	}
	len = encode_one(m, buf, sizeof(buf));
	assert_int_equal(decode_one(buf, len, back), 0);
	assert_true(wire_desc_equal(&m->desc, &back->desc));

	struct {
		uint8_t *field;
		uint8_t bad;
	} over[] = {
	        {&m->desc.nprefixes, WIRE_MAX_PREFIXES + 1},
	        {&m->desc.nvnis, WIRE_MAX_VNIS + 1},
	        {&m->desc.nendpoints, WIRE_MAX_ENDPOINTS + 1},
	        {&m->desc.noverlay, WIRE_MAX_OVERLAY + 1},
	};
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		uint8_t keep = *over[i].field;

		*over[i].field = over[i].bad;
		assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
		*over[i].field = keep;
	}
	sample_msg(m, WIRE_ALIVE);
	m->desc.vnis[0] = WIRE_VNI_MAX + 1;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	m->desc.vnis[0] = 0;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	sample_msg(m, WIRE_ALIVE);
	m->desc.gossip.port = 0;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	sample_msg(m, WIRE_ALIVE);
	m->desc.gossip.addr.family = 5;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	sample_msg(m, WIRE_ALIVE);
	m->desc.overlay[0].len = 24; /* an overlay address is a single address */
	m->desc.overlay[0].addr.u.bytes[3] = 0;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	sample_msg(m, WIRE_ALIVE);
	m->desc.flags = 0x04; /* no such flag */
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	sample_msg(m, WIRE_ALIVE);
	m->desc.nrelays = WIRE_MAX_RELAYS + 1;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	sample_msg(m, WIRE_OBSERVED);
	m->flags = 0x02;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);

	/* Decoder side: patch the VNI count (the byte before the VNIs) past its bound. */
	sample_msg(m, WIRE_ALIVE);
	len = encode_one(m, buf, sizeof(buf));
	/* Behind the VNIs: the two serials, flags, the relay count and the relays' names. */
	size_t relays_len = 2 + 1 + strlen("relay-1") + 1 + strlen("r");
	size_t vni_count_at = len - WIRE_SIG_LEN - relays_len - 16 - 3 * m->desc.nvnis - 1;
	assert_int_equal(buf[vni_count_at], m->desc.nvnis);
	buf[vni_count_at] = WIRE_MAX_VNIS + 1;
	assert_int_equal(decode_one(buf, len, back), -1);
	buf[vni_count_at] = m->desc.nvnis;
	buf[vni_count_at + 1] = buf[vni_count_at + 2] = buf[vni_count_at + 3] = 0; /* VNI 0 */
	assert_int_equal(decode_one(buf, len, back), -1);
	free(m);
	free(back);
}

static void
test_prefix_canonical(void **state)
{
	static const struct {
		uint8_t family, len, addr0, addr1;
		bool ok;
	} cases[] = {
	        {AF_INET, 8, 10, 0, true},    {AF_INET, 8, 10, 1, false},
	        {AF_INET, 0, 0, 0, true},     {AF_INET, 0, 1, 0, false},
	        {AF_INET, 32, 10, 1, true},   {AF_INET, 33, 10, 1, false},
	        {AF_INET6, 128, 1, 1, true},  {AF_INET6, 129, 1, 1, false},
	        {AF_INET6, 7, 0xfe, 0, true}, {AF_INET6, 7, 0xff, 0, false},
	        {AF_UNSPEC, 8, 10, 0, false},
	};
	struct wire_msg *m = malloc(sizeof(*m));
	uint8_t buf[WIRE_DATAGRAM_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sample_msg(m, WIRE_ALIVE);
		memset(&m->desc.prefixes[0], 0, sizeof(m->desc.prefixes[0]));
		m->desc.prefixes[0].addr.family = cases[i].family;
		m->desc.prefixes[0].len = cases[i].len;
		m->desc.prefixes[0].addr.u.bytes[0] = cases[i].addr0;
		m->desc.prefixes[0].addr.u.bytes[1] = cases[i].addr1;
		assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)) > 0, cases[i].ok);
	}
	free(m);
}

static void
test_digest_entries_limits(void **state)
{
	struct wire_msg *m = malloc(sizeof(*m));
	uint8_t buf[WIRE_DATAGRAM_MAX * 4];

	(void)state;
	sample_msg(m, WIRE_DIGEST);
	m->nbuckets = 100; /* not a power of two */
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	m->nbuckets = WIRE_MAX_BUCKETS * 2;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	m->nbuckets = 256;
	m->bucket = 129; /* 129 + 128 > 256 */
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	m->bucket = 0;
	m->count = 0;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	m->count = WIRE_MAX_HASHES + 1;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);

	sample_msg(m, WIRE_ENTRIES);
	m->count = 0; /* an empty bucket is a valid answer */
	assert_true(wire_encode_msg(m, buf, sizeof(buf)) > 0);
	m->count = WIRE_MAX_ENTRIES + 1;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	sample_msg(m, WIRE_ENTRIES);
	m->bucket = m->nbuckets;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	sample_msg(m, WIRE_ENTRIES);
	m->entries[0].state = 0;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	m->entries[0].state = WIRE_STATE_LEFT + 1;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	sample_msg(m, WIRE_ENTRIES);
	m->flags = 0x80;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);

	sample_msg(m, WIRE_DESC_REQ);
	m->count = 0;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	m->count = WIRE_MAX_NAMES + 1;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);

	sample_msg(m, WIRE_PING_REQ);
	m->flags = 0x02;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);

	/* A relayed ack: 1..WIRE_RELAY_MAX bytes, both ways. */
	sample_msg(m, WIRE_ACK_FOR);
	m->relay_len = 0;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	m->relay_len = WIRE_RELAY_MAX + 1;
	assert_int_equal(wire_encode_msg(m, buf, sizeof(buf)), -1);
	{
		uint8_t bad[] = {WIRE_VERSION, WIRE_ACK_FOR, 0, 0, 0, 8, 0, 0};
		uint8_t big[8 + WIRE_RELAY_MAX + 1] = {WIRE_VERSION,
		                                       WIRE_ACK_FOR,
		                                       0,
		                                       0,
		                                       0,
		                                       8,
		                                       (WIRE_RELAY_MAX + 1) >> 8,
		                                       (WIRE_RELAY_MAX + 1) & 0xff};

		assert_int_equal(decode_one(bad, sizeof(bad), m), -1);
		assert_int_equal(decode_one(big, 8 + WIRE_RELAY_MAX + 1, m), -1);
	}
	free(m);
}

/* A full-size digest plus the seal's overhead stays within one datagram. */
static void
test_sizes(void **state)
{
	struct wire_msg *m = malloc(sizeof(*m));
	uint8_t buf[WIRE_DATAGRAM_MAX * 4];
	int len;

	(void)state;
	sample_msg(m, WIRE_DIGEST);
	len = wire_encode_msg(m, buf, sizeof(buf));
	assert_true(len > 0 && len + 1 + 60 <= WIRE_DATAGRAM_MAX);
	sample_msg(m, WIRE_ENTRIES);
	m->count = WIRE_MAX_ENTRIES;
	for (size_t i = 0; i < WIRE_MAX_ENTRIES; i++) {
		snprintf(m->entries[i].name, sizeof(m->entries[i].name), "s%zu", i);
		m->entries[i].state = WIRE_STATE_ALIVE;
	}
	assert_true(wire_encode_msg(m, buf, sizeof(buf)) > 0);
	free(m);
}

/* A hello is always WIRE_HELLO_LEN bytes with zero padding, with or without a cookie, for
 * every name length; its cookie reply is exactly WIRE_COOKIE_REPLY_LEN, never longer. */
static void
test_hello(void **state)
{
	struct wire_hello h = {.nonce = 0x0102030405060708ull}, back;
	uint8_t buf[WIRE_HELLO_LEN + 1];
	char name[WIRE_NAME_MAX + 1];

	(void)state;
	for (int n = 1; n <= WIRE_NAME_MAX; n++) {
		memset(name, 'a', (size_t)n);
		name[n] = '\0';
		strcpy(h.name, name);
		for (int cookie = 0; cookie < 2; cookie++) {
			h.has_cookie = cookie;
			memset(h.cookie, cookie ? 0xc5 : 0, sizeof(h.cookie));
			assert_int_equal(wire_hello_encode(&h, buf, sizeof(buf)), WIRE_HELLO_LEN);
			assert_int_equal(wire_hello_decode(buf, WIRE_HELLO_LEN, &back), 0);
			assert_string_equal(back.name, name);
			assert_true(back.nonce == h.nonce);
			assert_int_equal(back.has_cookie, cookie);
			assert_memory_equal(back.cookie, h.cookie, sizeof(h.cookie));
			/* One byte short, one more, a non-zero padding byte, another kind. */
			assert_int_equal(wire_hello_decode(buf, WIRE_HELLO_LEN - 1, &back), -1);
			buf[WIRE_HELLO_LEN] = 0;
			assert_int_equal(wire_hello_decode(buf, WIRE_HELLO_LEN + 1, &back), -1);
			buf[WIRE_HELLO_LEN - 1] = 1;
			assert_int_equal(wire_hello_decode(buf, WIRE_HELLO_LEN, &back), -1);
			buf[WIRE_HELLO_LEN - 1] = 0;
			buf[0] = WIRE_COOKIE_KIND;
			assert_int_equal(wire_hello_decode(buf, WIRE_HELLO_LEN, &back), -1);
		}
	}
	/* A cookie length other than 0 or 16. */
	strcpy(h.name, "site-a");
	h.has_cookie = false;
	assert_int_equal(wire_hello_encode(&h, buf, sizeof(buf)), WIRE_HELLO_LEN);
	buf[1 + 1 + 6 + 8] = 15;
	assert_int_equal(wire_hello_decode(buf, WIRE_HELLO_LEN, &back), -1);
	strcpy(h.name, "Bad");
	assert_int_equal(wire_hello_encode(&h, buf, sizeof(buf)), -1);
	strcpy(h.name, "site-a");
	assert_int_equal(wire_hello_encode(&h, buf, WIRE_HELLO_LEN - 1), -1);
}

static void
test_cookie_reply(void **state)
{
	struct wire_cookie c = {.nonce = 42}, back;
	uint8_t buf[WIRE_COOKIE_REPLY_LEN + 1];

	(void)state;
	assert_true(WIRE_COOKIE_REPLY_LEN < WIRE_HELLO_LEN);
	memset(c.cookie, 0x5a, sizeof(c.cookie));
	assert_int_equal(wire_cookie_encode(&c, buf, sizeof(buf)), WIRE_COOKIE_REPLY_LEN);
	assert_int_equal(buf[0], WIRE_COOKIE_KIND);
	assert_int_equal(wire_cookie_decode(buf, WIRE_COOKIE_REPLY_LEN, &back), 0);
	assert_true(back.nonce == 42);
	assert_memory_equal(back.cookie, c.cookie, sizeof(c.cookie));
	assert_int_equal(wire_cookie_decode(buf, WIRE_COOKIE_REPLY_LEN - 1, &back), -1);
	buf[WIRE_COOKIE_REPLY_LEN] = 0;
	assert_int_equal(wire_cookie_decode(buf, WIRE_COOKIE_REPLY_LEN + 1, &back), -1);
	buf[0] = WIRE_HELLO_KIND;
	assert_int_equal(wire_cookie_decode(buf, WIRE_COOKIE_REPLY_LEN, &back), -1);
	assert_int_equal(wire_cookie_encode(&c, buf, WIRE_COOKIE_REPLY_LEN - 1), -1);
}

/* A presentation and its answer round-trip; every other length, a zero or oversize credential
 * and an unknown kind are refused. */
static void
test_present(void **state)
{
	static struct wire_present p, back;
	uint8_t buf[WIRE_DATAGRAM_MAX];
	int len;

	(void)state;
	for (int answer = 0; answer < 2; answer++) {
		memset(&p, 0, sizeof(p));
		p.nonce = 0x0102030405060708ull;
		p.has_cookie = !answer;
		if (p.has_cookie)
			memset(p.cookie, 0x77, sizeof(p.cookie));
		p.cred_len = 300;
		memset(p.cred, 0x42, p.cred_len);
		len = wire_present_encode(&p, buf, sizeof(buf));
		assert_true(len > 300);
		assert_int_equal(buf[0], answer ? WIRE_PRESENTED_KIND : WIRE_PRESENT_KIND);
		assert_int_equal(wire_present_decode(buf, (size_t)len, &back), 0);
		assert_true(back.nonce == p.nonce);
		assert_int_equal(back.has_cookie, p.has_cookie);
		assert_int_equal(back.cred_len, p.cred_len);
		assert_memory_equal(back.cred, p.cred, p.cred_len);
		for (int n = 0; n < len; n++)
			assert_int_equal(wire_present_decode(buf, (size_t)n, &back), -1);
		buf[len] = 0;
		assert_int_equal(wire_present_decode(buf, (size_t)len + 1, &back), -1);
		assert_int_equal(wire_present_encode(&p, buf, (size_t)len - 1), -1);
	}
	p.cred_len = 0;
	assert_int_equal(wire_present_encode(&p, buf, sizeof(buf)), -1);
	p.cred_len = WIRE_BLOB_MAX + 1;
	assert_int_equal(wire_present_encode(&p, buf, sizeof(buf)), -1);
	p.cred_len = 1;
	len = wire_present_encode(&p, buf, sizeof(buf));
	buf[0] = WIRE_HELLO_KIND;
	assert_int_equal(wire_present_decode(buf, (size_t)len, &back), -1);
}

static void
test_signed_bytes(void **state)
{
	struct wire_desc a, b;
	uint8_t ba[WIRE_DATAGRAM_MAX], bb[WIRE_DATAGRAM_MAX];
	int la, lb;

	(void)state;
	sample_desc(&a);
	b = a;
	memset(b.sig, 0, sizeof(b.sig)); /* the signature is not part of what it signs */
	la = wire_desc_signed_bytes(&a, ba, sizeof(ba));
	lb = wire_desc_signed_bytes(&b, bb, sizeof(bb));
	assert_true(la > 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, (size_t)la);
	b.incarnation++;
	lb = wire_desc_signed_bytes(&b, bb, sizeof(bb));
	assert_memory_not_equal(ba, bb, (size_t)la);
	assert_true(wire_desc_same_content(&a, &b));
	assert_false(wire_desc_equal(&a, &b));
	b.vnis[0]++;
	assert_false(wire_desc_same_content(&a, &b));
	la = wire_left_signed_bytes("a", 1, ba, sizeof(ba));
	lb = wire_left_signed_bytes("a", 2, bb, sizeof(bb));
	assert_true(la > 0 && la == lb);
	assert_memory_not_equal(ba, bb, (size_t)la);
	/* An accusation binds target, incarnation and accuser, and is not a leave. */
	la = wire_accuse_signed_bytes("a", 1, "b", ba, sizeof(ba));
	assert_true(la > 0);
	lb = wire_accuse_signed_bytes("a", 1, "c", bb, sizeof(bb));
	assert_true(la == lb && memcmp(ba, bb, (size_t)la) != 0);
	lb = wire_accuse_signed_bytes("a", 2, "b", bb, sizeof(bb));
	assert_true(la == lb && memcmp(ba, bb, (size_t)la) != 0);
	lb = wire_left_signed_bytes("a", 1, bb, sizeof(bb));
	assert_true(lb > 0 && memcmp(ba, bb, (size_t)lb) != 0);
	assert_int_equal(wire_accuse_signed_bytes("a", 1, "Bad", ba, sizeof(ba)), -1);
}

/* A descriptor packed at its real size reads back the same, its room no larger than its
 * lists, and two packed descriptors compare by content. */
static void
test_compact_desc(void **state)
{
	struct wire_desc d, back, empty = {0};
	struct wire_cdesc c, c2;
	uint32_t room[WIRE_DATAGRAM_MAX / 4], room2[WIRE_DATAGRAM_MAX / 4];
	size_t n;

	(void)state;
	sample_desc(&d);
	n = wire_cdesc_room(&d);
	/* The lists, then the name and its terminator, to a multiple of 4. */
	assert_int_equal(n, (2 * sizeof(d.endpoints[0]) + sizeof(d.overlay[0]) +
	                     2 * sizeof(d.prefixes[0]) + 2 * sizeof(d.vnis[0]) +
	                     2 * sizeof(d.relays[0]) + strlen(d.name) + 1 + 3) &
	                            ~(size_t)3);
	memset(room, 0xee, sizeof(room));
	wire_cdesc_pack(&c, room, &d);
	assert_int_equal(((uint8_t *)room)[n], 0xee); /* nothing written past the room */
	assert_int_equal(wire_cdesc_prefixes(&c)[1].len, 48);
	assert_string_equal(wire_cdesc_relays(&c)[0], "relay-1");
	assert_ptr_equal(wire_cdesc_endpoints(&c), room);
	assert_true(addr_endpoint_equal(&wire_cdesc_endpoints(&c)[1], &d.endpoints[1]));
	assert_int_equal(wire_cdesc_vnis(&c)[1], d.vnis[1]);
	assert_string_equal(c.name, d.name);
	assert_true((const uint8_t *)c.name + strlen(d.name) < (const uint8_t *)room + n);
	wire_cdesc_unpack(&c, &back);
	assert_true(wire_desc_equal(&d, &back));
	assert_memory_equal(&d, &back, sizeof(d)); /* the unused room reads zero, as d's */

	d.incarnation++;
	wire_cdesc_pack(&c2, room2, &d);
	assert_true(wire_cdesc_same_content(&c, &c2));
	d.nvnis = 1;
	wire_cdesc_pack(&c2, room2, &d);
	assert_false(wire_cdesc_same_content(&c, &c2));

	assert_int_equal(wire_cdesc_room(&empty), 4); /* the empty name's terminator */
	wire_cdesc_pack(&c, room, &empty);
	assert_string_equal(c.name, "");
	wire_cdesc_unpack(&c, &back);
	assert_true(wire_desc_equal(&empty, &back));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip_every_type),
	        cmocka_unit_test(test_truncation_and_trailing),
	        cmocka_unit_test(test_version_and_empty),
	        cmocka_unit_test(test_several_messages),
	        cmocka_unit_test(test_writer_full),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_desc_limits),
	        cmocka_unit_test(test_prefix_canonical),
	        cmocka_unit_test(test_digest_entries_limits),
	        cmocka_unit_test(test_sizes),
	        cmocka_unit_test(test_hello),
	        cmocka_unit_test(test_cookie_reply),
	        cmocka_unit_test(test_present),
	        cmocka_unit_test(test_signed_bytes),
	        cmocka_unit_test(test_compact_desc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
