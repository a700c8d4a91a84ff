/* A read of the WireGuard device as the reconciler compares it: every field a run looks at
 * survives the read's making over in place, whatever order the implementation listed the peers
 * and their allowed-ips in, and the read holds about half of what the device's did. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netd/wgread.h"
#include "tests/unit/heap.h"

static struct addr_prefix
v4(uint32_t host, uint8_t len)
{
	struct addr_prefix p = {.len = len};

	p.addr.family = AF_INET;
	p.addr.u.v4.s_addr = htonl(host);
	return p;
}

static struct addr_prefix
v6(uint16_t first, uint8_t len)
{
	struct addr_prefix p = {.len = len};

	p.addr.family = AF_INET6;
	p.addr.u.bytes[0] = (uint8_t)(first >> 8);
	p.addr.u.bytes[1] = (uint8_t)first;
	return p;
}

static struct wg_peer *
add_peer(struct wg_device *dev, uint8_t key)
{
	struct wg_peer *p = wg_device_add_peer(dev);

	assert_non_null(p);
	memset(p->public_key, key, WG_KEY_SIZE);
	return p;
}

static void
add_allowed(struct wg_peer *p, struct addr_prefix prefix)
{
	assert_int_equal(wg_peer_add_allowedip(p, &prefix), 0);
}

static void
test_fields_kept(void **state)
{
	struct wg_device *dev = wg_device_new("wg-read");
	const struct wgread_peer *a, *b, *c;
	struct wgread *read;
	struct wg_peer *p;
	uint8_t key[WG_KEY_SIZE];

	(void)state;
	assert_non_null(dev);
	dev->flags = WG_DEVICE_HAS_PUBLIC_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK;
	memset(dev->public_key, 0x77, WG_KEY_SIZE);
	dev->listen_port = 51820;
	dev->fwmark = 0x51;
	dev->read_at_ms = 12345;
	/* Listed out of key order, as wireguard-go does. */
	p = add_peer(dev, 0xcc); /* an IPv6 endpoint, a preshared key, traffic */
	p->flags = WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_KEEPALIVE;
	p->endpoint.sin6.sin6_family = AF_INET6;
	p->endpoint.sin6.sin6_port = htons(4000);
	p->endpoint.sin6.sin6_addr.s6_addr[15] = 9;
	memset(p->preshared_key, 0x11, WG_KEY_SIZE);
	p->persistent_keepalive = 25;
	p->last_handshake.tv_sec = 1700000000;
	p->rx_bytes = 240;
	p->tx_bytes = 5000000000; /* held at UINT32_MAX */
	add_allowed(p, v6(0xfd00, 48));
	add_allowed(p, v4(0x0a030000, 16));
	add_allowed(p, v4(0x0a020000, 16));
	p = add_peer(dev, 0x01); /* nothing but its key; a preshared key that is zero */
	p->flags = WG_PEER_HAS_PRESHARED_KEY;
	p->last_handshake.tv_nsec = 5; /* a stray nanosecond: handshaked, at second 0 */
	p = add_peer(dev, 0x80);       /* an IPv4 endpoint and one allowed-ip */
	p->flags = WG_PEER_HAS_ENDPOINT;
	p->endpoint.sin.sin_family = AF_INET;
	p->endpoint.sin.sin_port = htons(51820);
	p->endpoint.sin.sin_addr.s_addr = htonl(0xc0000202);
	add_allowed(p, v4(0x0a010000, 24));

	read = wgread_take(dev);
	assert_non_null(read);
	assert_string_equal(read->name, "wg-read");
	assert_int_equal(read->flags, WG_DEVICE_HAS_PUBLIC_KEY | WG_DEVICE_HAS_LISTEN_PORT |
	                                      WG_DEVICE_HAS_FWMARK);
	memset(key, 0x77, WG_KEY_SIZE);
	assert_memory_equal(read->public_key, key, WG_KEY_SIZE);
	assert_int_equal(read->listen_port, 51820);
	assert_int_equal(read->fwmark, 0x51);
	assert_int_equal(read->read_at_ms, 12345);
	assert_int_equal(read->npeers, 3);
	assert_int_equal(read->nallowed, 4);
	/* In key order. */
	assert_int_equal(read->peers[0].public_key[0], 0x01);
	assert_int_equal(read->peers[1].public_key[0], 0x80);
	assert_int_equal(read->peers[2].public_key[0], 0xcc);

	memset(key, 0xcc, WG_KEY_SIZE);
	c = wgread_find(read, key);
	assert_ptr_equal(c, &read->peers[2]);
	assert_true(c->has_endpoint);
	{
		union wg_endpoint ep = {0};

		ep.sin6.sin6_family = AF_INET6;
		ep.sin6.sin6_port = htons(4000);
		ep.sin6.sin6_addr.s6_addr[15] = 9;
		assert_true(wgread_endpoint_equal(c, &ep));
		ep.sin6.sin6_port = htons(4001);
		assert_false(wgread_endpoint_equal(c, &ep));
		ep.sin6.sin6_port = htons(4000);
		ep.sin6.sin6_addr.s6_addr[0] = 1;
		assert_false(wgread_endpoint_equal(c, &ep));
		ep.sin.sin_family = AF_INET;
		assert_false(wgread_endpoint_equal(c, &ep));
	}
	assert_true(c->has_preshared_key);
	assert_int_equal(c->keepalive, 25);
	assert_true(c->handshaked);
	assert_int_equal(c->handshake_sec, 1700000000);
	assert_int_equal(c->rx_bytes, 240);
	assert_int_equal(c->tx_bytes, UINT32_MAX);
	/* Its allowed-ips sorted, as the desired peer's are. */
	{
		struct addr_prefix want[] = {v4(0x0a020000, 16), v4(0x0a030000, 16),
		                             v6(0xfd00, 48)};
		struct addr_prefix other[] = {v4(0x0a020000, 16), v4(0x0a030000, 16),
		                              v6(0xfd00, 64)};

		assert_true(wgread_allowed_equal(read, c, want, 3));
		assert_false(wgread_allowed_equal(read, c, want, 2));
		assert_false(wgread_allowed_equal(read, c, other, 3));
	}

	memset(key, 0x01, WG_KEY_SIZE);
	a = wgread_find(read, key);
	assert_non_null(a);
	assert_false(a->has_endpoint);
	assert_false(a->has_preshared_key);
	assert_true(a->handshaked);
	assert_int_equal(a->handshake_sec, 0);
	assert_int_equal(a->nallowed, 0);
	assert_true(wgread_allowed_equal(read, a, NULL, 0));

	memset(key, 0x80, WG_KEY_SIZE);
	b = wgread_find(read, key);
	assert_non_null(b);
	assert_true(b->has_endpoint);
	assert_false(b->handshaked);
	{
		union wg_endpoint ep = {0};

		ep.sin.sin_family = AF_INET;
		ep.sin.sin_port = htons(51820);
		ep.sin.sin_addr.s_addr = htonl(0xc0000202);
		assert_true(wgread_endpoint_equal(b, &ep));
		ep.sin.sin_addr.s_addr = htonl(0xc0000203);
		assert_false(wgread_endpoint_equal(b, &ep));
	}
	{
		struct addr_prefix want = v4(0x0a010000, 24);

		assert_true(wgread_allowed_equal(read, b, &want, 1));
	}

	memset(key, 0x02, WG_KEY_SIZE);
	assert_null(wgread_find(read, key));
	wgread_free(read);
}

static void
test_empty(void **state)
{
	struct wg_device *dev = wg_device_new("wg-empty");
	struct wgread *read, *made;
	uint8_t key[WG_KEY_SIZE] = {1};

	(void)state;
	assert_non_null(dev);
	assert_int_equal(wg_device_reserve_peers(dev, 16), 0); /* room, no peer */
	read = wgread_take(dev);
	assert_non_null(read);
	assert_int_equal(read->npeers, 0);
	assert_null(read->peers);
	assert_null(wgread_find(read, key));
	wgread_free(read);

	made = wgread_empty("wg-new");
	assert_non_null(made);
	assert_string_equal(made->name, "wg-new");
	assert_int_equal(made->npeers, 0);
	assert_null(wgread_find(made, key));
	wgread_free(made);
	wgread_free(NULL);
}

#define MANY 2000

/* Thousands of peers in a scrambled order, each with its own allowed-ips: every one comes
 * through the making over in place whole (under ASan, no byte read after it was written over),
 * and the read holds well under what the device held. */
static void
test_many(void **state)
{
	struct wg_device *dev = wg_device_new("wg-many");
	size_t before, device_bytes, read_bytes;
	struct wgread *read;

	(void)state;
	assert_non_null(dev);
	before = heap_in_use();
	for (uint32_t i = 0; i < MANY; i++) {
		uint32_t n = (i * 7919u) % MANY; /* a permutation: 7919 is prime to MANY */
		struct wg_peer *p = wg_device_add_peer(dev);

		assert_non_null(p);
		p->public_key[0] = (uint8_t)(n >> 8);
		p->public_key[1] = (uint8_t)n;
		p->rx_bytes = n;
		p->last_handshake.tv_sec = 1000 + n;
		add_allowed(p, v4(0x0a000000u | n << 8, 24));
		if (n % 3 == 0)
			add_allowed(p, v4(0x0b000000u | n << 8, 24));
	}
	device_bytes = heap_in_use() - before;
	read = wgread_take(dev);
	assert_non_null(read);
	read_bytes = heap_in_use() - before;
	assert_int_equal(read->npeers, MANY);
	for (uint32_t n = 0; n < MANY; n++) {
		uint8_t key[WG_KEY_SIZE] = {(uint8_t)(n >> 8), (uint8_t)n};
		struct addr_prefix want[2] = {v4(0x0a000000u | n << 8, 24),
		                              v4(0x0b000000u | n << 8, 24)};
		const struct wgread_peer *p = wgread_find(read, key);

		assert_non_null(p);
		assert_ptr_equal(p, &read->peers[n]);
		assert_int_equal(p->rx_bytes, n);
		assert_int_equal(p->handshake_sec, 1000 + n);
		assert_true(wgread_allowed_equal(read, p, want, n % 3 == 0 ? 2 : 1));
	}
	if (heap_in_use() == 0) {
		print_message("mallinfo2 counts no heap here (a sanitizer's allocator): the read's "
		              "size is not checked\n");
	} else {
		print_message("%d peers: the device held %zu bytes, the read holds %zu\n", MANY,
		              device_bytes, read_bytes);
		assert_true(read_bytes * 2 <= device_bytes);
	}
	wgread_free(read);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fields_kept),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
