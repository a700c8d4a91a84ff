/* The userspace WireGuard API text: replies as wireguard-go writes them parse into the
 * device they describe; truncated, oversize and malformed ones are refused with an error;
 * set requests for sparse deltas are exactly the text the protocol expects. Against a fake
 * server on the real socket directory: a process that stalls costs a caller milliseconds,
 * one that streams a large reply slowly is read to the end. The private key lives in locked
 * memory left out of core dumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <sodium.h>

#include "kernel-helpers/wg.h"
#include "kernel-helpers/wg_internal.h"
#include "tests/unit/vmflags.h"

/* RFC 7748 section 6.1: Alice's private and public key. */
#define PRIV_HEX "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define PUB_HEX  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define PEER1    "0101010101010101010101010101010101010101010101010101010101010101"
#define PEER2    "0202020202020202020202020202020202020202020202020202020202020202"
#define PSK      "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define ZERO_KEY "0000000000000000000000000000000000000000000000000000000000000000"

static void
hex_to_key(const char *hex, uint8_t key[WG_KEY_SIZE])
{
	for (size_t i = 0; i < WG_KEY_SIZE; i++) {
		unsigned int byte;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
		key[i] = (uint8_t)byte;
	}
}

static struct wg_device *
parse_ok(const char *text)
{
	struct wg_device *dev = NULL;
	int ret = wg_uapi_parse_get(text, strlen(text), "wg-test", &dev);

	if (ret != 0)
		fail_msg("parse failed (%d): %s", ret, kh_last_error());
	assert_non_null(dev);
	return dev;
}

static void
assert_prefix(const struct addr_prefix *aip, const char *addr, uint8_t cidr)
{
	char text[ADDR_STRLEN];

	assert_string_equal(addr_format(&aip->addr, text), addr);
	assert_int_equal(aip->len, cidr);
}

/* The shape wireguard-go gives a get: interface keys, then a section per peer. */
static void
test_parse_two_peers(void **state)
{
	static const char reply[] = "private_key=" PRIV_HEX "\n"
	                            "listen_port=51820\n"
	                            "fwmark=4660\n"
	                            "public_key=" PEER1 "\n"
	                            "preshared_key=" PSK "\n"
	                            "protocol_version=1\n"
	                            "endpoint=192.0.2.7:51821\n"
	                            "last_handshake_time_sec=1700000000\n"
	                            "last_handshake_time_nsec=123456789\n"
	                            "tx_bytes=18446744073709551615\n"
	                            "rx_bytes=42\n"
	                            "persistent_keepalive_interval=25\n"
	                            "allowed_ip=10.1.0.0/16\n"
	                            "allowed_ip=fd00:1::/64\n"
	                            "public_key=" PEER2 "\n"
	                            "preshared_key=" ZERO_KEY "\n"
	                            "protocol_version=1\n"
	                            "endpoint=[2001:db8::1]:443\n"
	                            "last_handshake_time_sec=0\n"
	                            "last_handshake_time_nsec=0\n"
	                            "tx_bytes=0\n"
	                            "rx_bytes=0\n"
	                            "persistent_keepalive_interval=0\n"
	                            "errno=0\n"
	                            "\n";
	uint8_t key[WG_KEY_SIZE];
	struct wg_device *dev = parse_ok(reply);
	const struct wg_peer *p;
	char addr[INET6_ADDRSTRLEN];

	(void)state;
	assert_string_equal(dev->name, "wg-test");
	assert_int_equal(dev->flags, WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_PUBLIC_KEY |
	                                     WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK);
	hex_to_key(PRIV_HEX, key);
	assert_memory_equal(dev->private_key, key, WG_KEY_SIZE);
	hex_to_key(PUB_HEX, key);
	assert_memory_equal(dev->public_key, key, WG_KEY_SIZE);
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->fwmark, 4660);
	assert_int_equal(dev->npeers, 2);

	p = &dev->peers[0];
	hex_to_key(PEER1, key);
	assert_memory_equal(p->public_key, key, WG_KEY_SIZE);
	hex_to_key(PSK, key);
	assert_memory_equal(p->preshared_key, key, WG_KEY_SIZE);
	assert_int_equal(p->flags,
	                 WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET);
	assert_string_equal(inet_ntop(AF_INET, &p->endpoint.sin.sin_addr, addr, sizeof(addr)),
	                    "192.0.2.7");
	assert_int_equal(ntohs(p->endpoint.sin.sin_port), 51821);
	assert_int_equal(p->last_handshake.tv_sec, 1700000000);
	assert_int_equal(p->last_handshake.tv_nsec, 123456789);
	assert_true(p->tx_bytes == UINT64_MAX);
	assert_int_equal(p->rx_bytes, 42);
	assert_int_equal(p->persistent_keepalive, 25);
	assert_int_equal(p->nallowedips, 2);
	assert_prefix(&p->allowedips[0], "10.1.0.0", 16);
	assert_prefix(&p->allowedips[1], "fd00:1::", 64);

	p = &dev->peers[1];
	/* A zero preshared key is wireguard-go's "none". */
	assert_int_equal(p->flags, WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET6);
	assert_string_equal(inet_ntop(AF_INET6, &p->endpoint.sin6.sin6_addr, addr, sizeof(addr)),
	                    "2001:db8::1");
	assert_int_equal(ntohs(p->endpoint.sin6.sin6_port), 443);
	assert_int_equal(p->nallowedips, 0);
	wg_free_device(dev);
}

static void
test_parse_empty_device(void **state)
{
	struct wg_device *dev = parse_ok("errno=0\n\n");

	(void)state;
	/* Settings left out are at their defaults, as the kernel would report them. */
	assert_int_equal(dev->flags, WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK);
	assert_int_equal(dev->listen_port, 0);
	assert_int_equal(dev->fwmark, 0);
	assert_int_equal(dev->npeers, 0);
	wg_free_device(dev);
}

static void
test_parse_many_allowedips(void **state)
{
	size_t n = 5000, cap = 100 + n * 32, len = 0;
	char *text = malloc(cap);
	struct wg_device *dev;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "public_key=" PEER1 "\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "allowed_ip=10.%zu.%zu.0/24\n",
		                        i / 256, i % 256);
	len += (size_t)snprintf(text + len, cap - len, "errno=0\n\n");
	dev = parse_ok(text);
	assert_int_equal(dev->npeers, 1);
	assert_int_equal(dev->peers[0].nallowedips, n);
	assert_prefix(&dev->peers[0].allowedips[n - 1], "10.19.135.0", 24);
	wg_free_device(dev);
	free(text);
}

/* The reference client skips keys it does not know; so do we, in either section. */
static void
test_parse_unknown_keys(void **state)
{
	struct wg_device *dev = parse_ok("listen_port=1\n"
	                                 "future_device_key=whatever it says\n"
	                                 "public_key=" PEER1 "\n"
	                                 "future_peer_key=7\n"
	                                 "errno=0\n\n");

	(void)state;
	assert_int_equal(dev->listen_port, 1);
	assert_int_equal(dev->npeers, 1);
	wg_free_device(dev);
}

static void
test_parse_zone(void **state)
{
	struct wg_device *dev = parse_ok("public_key=" PEER1 "\n"
	                                 "endpoint=[fe80::1%3]:51820\n"
	                                 "errno=0\n\n");

	(void)state;
	assert_int_equal(dev->peers[0].endpoint.sa.sa_family, AF_INET6);
	assert_int_equal(dev->peers[0].endpoint.sin6.sin6_scope_id, 3);
	wg_free_device(dev);
}

/* errno=N ends every reply; wireguard-go writes it negated. */
static void
test_parse_errno(void **state)
{
	struct wg_device *dev = NULL;

	(void)state;
	assert_int_equal(wg_uapi_parse_get("errno=-22\n\n", 11, "wg-test", &dev), -EINVAL);
	assert_null(dev);
	assert_non_null(strstr(kh_last_error(), "errno=22"));
	assert_int_equal(wg_uapi_parse_get("listen_port=1\nerrno=98\n\n", 24, "wg-test", &dev),
	                 -EADDRINUSE);
	assert_null(dev);
	assert_int_equal(wg_uapi_parse_set("errno=0\n\n", 9, "wg-test"), 0);
	assert_int_equal(wg_uapi_parse_set("errno=-98\n\n", 11, "wg-test"), -EADDRINUSE);
	assert_int_equal(wg_uapi_parse_set("errno=0\n", 8, "wg-test"), -EPROTO);
	assert_int_equal(wg_uapi_parse_set("", 0, "wg-test"), -EPROTO);
	assert_int_equal(wg_uapi_parse_set("listen_port=1\nerrno=0\n\n", 23, "wg-test"), -EPROTO);
	assert_int_equal(wg_uapi_parse_set("errno=0\n\nerrno=0\n\n", 18, "wg-test"), -EPROTO);
}

struct bad_case {
	const char *text;
	int err;
};

#define P1 "public_key=" PEER1 "\n"
#define OK "errno=0\n\n"

static const struct bad_case bad_cases[] = {
        /* framing */
        {"", -EPROTO},
        {"listen_port=1\n", -EPROTO},
        {"listen_port=1\nerrno=0\n", -EPROTO},
        {"listen_port=1\n\n", -EPROTO},
        {"listen_port=1\nerr", -EPROTO},
        {OK "x", -EPROTO},
        {OK "\n", -EPROTO},
        {"errno=0\nlisten_port=1\n\n", -EPROTO},
        {"errno=0\nerrno=0\n\n", -EPROTO},
        {"noequals\n" OK, -EBADMSG},
        {"=1\n" OK, -EBADMSG},
        {"Listen_Port=1\n" OK, -EBADMSG},
        {"listen port=1\n" OK, -EBADMSG},
        {"errno=\n\n", -EBADMSG},
        {"errno=abc\n\n", -EBADMSG},
        {"errno=4096\n\n", -EBADMSG},
        {"errno=--1\n\n", -EBADMSG},
        /* keys */
        {"private_key=" PRIV_HEX "0\n" OK, -EBADMSG},
        {"private_key=77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2\n" OK,
         -EBADMSG},
        {"private_key=g7076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a\n" OK,
         -EBADMSG},
        {"private_key=\n" OK, -EBADMSG},
        {"public_key=" PEER1 "\npublic_key=" PEER1 "\n" OK, -EBADMSG},
        {P1 "preshared_key=xyz\n" OK, -EBADMSG},
        /* numbers */
        {"listen_port=65536\n" OK, -EBADMSG},
        {"listen_port=-1\n" OK, -EBADMSG},
        {"listen_port=+1\n" OK, -EBADMSG},
        {"listen_port= 1\n" OK, -EBADMSG},
        {"listen_port=1 \n" OK, -EBADMSG},
        {"listen_port=\n" OK, -EBADMSG},
        {"listen_port=0x10\n" OK, -EBADMSG},
        {"fwmark=4294967296\n" OK, -EBADMSG},
        {P1 "rx_bytes=18446744073709551616\n" OK, -EBADMSG},
        {P1 "tx_bytes=99999999999999999999999\n" OK, -EBADMSG},
        {P1 "last_handshake_time_nsec=1000000000\n" OK, -EBADMSG},
        {P1 "last_handshake_time_sec=9223372036854775808\n" OK, -EBADMSG},
        {P1 "persistent_keepalive_interval=65536\n" OK, -EBADMSG},
        {P1 "protocol_version=2\n" OK, -EPROTO},
        /* repeats and order */
        {"listen_port=1\nlisten_port=2\n" OK, -EBADMSG},
        {P1 "endpoint=192.0.2.1:1\nendpoint=192.0.2.1:2\n" OK, -EBADMSG},
        {P1 "rx_bytes=1\nrx_bytes=1\n" OK, -EBADMSG},
        {P1 "listen_port=1\n" OK, -EPROTO},
        {P1 "private_key=" PRIV_HEX "\n" OK, -EPROTO},
        {"endpoint=192.0.2.1:1\n" OK, -EPROTO},
        {"allowed_ip=10.0.0.0/8\n" OK, -EPROTO},
        /* endpoints */
        {P1 "endpoint=192.0.2.1\n" OK, -EBADMSG},
        {P1 "endpoint=192.0.2.1:\n" OK, -EBADMSG},
        {P1 "endpoint=192.0.2.1:65536\n" OK, -EBADMSG},
        {P1 "endpoint=:80\n" OK, -EBADMSG},
        {P1 "endpoint=192.0.2:80\n" OK, -EBADMSG},
        {P1 "endpoint=host.example:80\n" OK, -EBADMSG},
        {P1 "endpoint=::1:80\n" OK, -EBADMSG},
        {P1 "endpoint=[::1]\n" OK, -EBADMSG},
        {P1 "endpoint=[::1]:\n" OK, -EBADMSG},
        {P1 "endpoint=[::1:80\n" OK, -EBADMSG},
        {P1 "endpoint=[]:80\n" OK, -EBADMSG},
        {P1 "endpoint=[192.0.2.1]:80\n" OK, -EBADMSG},
        {P1 "endpoint=[fe80::1%]:80\n" OK, -EBADMSG},
        {P1 "endpoint=[fe80::1%no-such-if0]:80\n" OK, -EBADMSG},
        {P1 "endpoint=\n" OK, -EBADMSG},
        /* allowed-ips */
        {P1 "allowed_ip=10.0.0.0\n" OK, -EBADMSG},
        {P1 "allowed_ip=10.0.0.0/\n" OK, -EBADMSG},
        {P1 "allowed_ip=10.0.0.0/33\n" OK, -EBADMSG},
        {P1 "allowed_ip=fd00::/129\n" OK, -EBADMSG},
        {P1 "allowed_ip=10.0.0.0/x\n" OK, -EBADMSG},
        {P1 "allowed_ip=10.0.0/8\n" OK, -EBADMSG},
        {P1 "allowed_ip=/8\n" OK, -EBADMSG},
        {P1 "allowed_ip=10.0.0.0/8/8\n" OK, -EBADMSG},
        {P1 "allowed_ip=fd00::/-1\n" OK, -EBADMSG},
};

static void
test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct wg_device *dev = NULL;
		int ret = wg_uapi_parse_get(c->text, strlen(c->text), "wg-test", &dev);

		if (ret != c->err)
			fail_msg("case %zu \"%s\": got %d, want %d (%s)", i, c->text, ret, c->err,
			         kh_last_error());
		assert_null(dev);
		/* Every refusal says why, naming the interface. */
		assert_non_null(strstr(kh_last_error(), "wg-test"));
	}
}

/* A refusal names the line at fault, counted from 1, the one not there yet included. */
static void
test_refusal_names_the_line(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	        {"listen_port=1\n", "line 2: reply ends without an empty line"},
	        {"listen_port=1\nerr", "line 2: reply truncated in a line"},
	        {"listen_port=1\nnoequals\n" OK, "line 2: "},
	        {OK "x", "line 3: data after the end of the reply"},
	        {"", "line 1: reply ends without an empty line"},
	};
	char giant[WG_UAPI_MAX_LINE + 32];
	struct wg_device *dev = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(wg_uapi_parse_get(cases[i].text, strlen(cases[i].text), "wg-test",
		                              &dev) < 0);
		if (!strstr(kh_last_error(), cases[i].want))
			fail_msg("\"%s\": %s, not \"%s\"", cases[i].text, kh_last_error(),
			         cases[i].want);
	}
	memset(giant, 'a', sizeof(giant));
	memcpy(giant, "listen_port=1\nx=", 16);
	assert_int_equal(wg_uapi_parse_get(giant, sizeof(giant), "wg-test", &dev), -EBADMSG);
	assert_non_null(strstr(kh_last_error(), "line 2: line too long"));
	assert_null(dev);
}

static void
test_parse_nul_and_giant_lines(void **state)
{
	static const char nul[] = "listen_port=1\0"
	                          "2\nerrno=0\n\n";
	char giant[WG_UAPI_MAX_LINE + 32];
	struct wg_device *dev = NULL;

	(void)state;
	assert_int_equal(wg_uapi_parse_get(nul, sizeof(nul) - 1, "wg-test", &dev), -EBADMSG);
	/* A line exactly at the limit is fine, one byte more is not. */
	memset(giant, 'a', sizeof(giant));
	memcpy(giant, "x=", 2);
	giant[WG_UAPI_MAX_LINE - 1] = '\n';
	memcpy(giant + WG_UAPI_MAX_LINE, "errno=0\n\n", 9);
	assert_int_equal(wg_uapi_parse_get(giant, WG_UAPI_MAX_LINE + 9, "wg-test", &dev), 0);
	wg_free_device(dev);
	dev = NULL;
	memset(giant, 'a', sizeof(giant));
	memcpy(giant, "x=", 2);
	giant[WG_UAPI_MAX_LINE] = '\n';
	memcpy(giant + WG_UAPI_MAX_LINE + 1, "errno=0\n\n", 9);
	assert_int_equal(wg_uapi_parse_get(giant, WG_UAPI_MAX_LINE + 10, "wg-test", &dev),
	                 -EBADMSG);
	assert_null(dev);
	/* Without any newline at all the limit still applies. */
	assert_int_equal(wg_uapi_parse_get(giant, WG_UAPI_MAX_LINE, "wg-test", &dev), -EBADMSG);
}

static void
test_parse_oversize(void **state)
{
	size_t len = (size_t)WG_UAPI_MAX_REPLY + 1;
	char *big = calloc(1, len);
	struct wg_device *dev = NULL;

	(void)state;
	assert_non_null(big);
	assert_int_equal(wg_uapi_parse_get(big, len, "wg-test", &dev), -EPROTO);
	assert_null(dev);
	free(big);
}

/* Every prefix of a good reply is refused: a reply cut short never passes as complete. */
static void
test_parse_truncated(void **state)
{
	static const char reply[] = "private_key=" PRIV_HEX "\nlisten_port=51820\n" P1
	                            "endpoint=[2001:db8::1]:443\nallowed_ip=10.0.0.0/8\n" OK;
	struct wg_device *dev = NULL;

	(void)state;
	for (size_t len = 0; len < sizeof(reply) - 1; len++) {
		int ret = wg_uapi_parse_get(reply, len, "wg-test", &dev);

		if (ret >= 0)
			fail_msg("prefix of %zu bytes accepted", len);
		assert_null(dev);
	}
	assert_int_equal(wg_uapi_parse_get(reply, sizeof(reply) - 1, "wg-test", &dev), 0);
	wg_free_device(dev);
}

/* Feeds text to a reader in pieces of piece bytes, each offered with what the one before
 * left (a line yet to end), as the worker does from its fixed buffer. */
static int
parse_in_pieces(const char *text, size_t len, size_t piece, struct wg_device **dev)
{
	struct wg_uapi_reader rd;
	char buf[4 * WG_UAPI_MAX_LINE];
	size_t have = 0, off = 0, used;
	int ret;

	assert_true(piece <= sizeof(buf) - WG_UAPI_MAX_LINE);
	assert_int_equal(wg_uapi_reader_start(&rd, "wg-test", true, 0), 0);
	do {
		size_t n = len - off < piece ? len - off : piece;

		memcpy(buf + have, text + off, n);
		have += n;
		off += n;
		ret = wg_uapi_reader_feed(&rd, buf, have, off == len, &used);
		if (ret < 0) {
			wg_uapi_reader_drop(&rd);
			return ret;
		}
		memmove(buf, buf + used, have - used);
		have -= used;
	} while (off < len);
	return wg_uapi_reader_finish(&rd, dev);
}

/* A reply read in pieces of any size, lines cut anywhere, is the device it is read whole;
 * its faults are found wherever the cuts fall. */
static void
test_parse_in_pieces(void **state)
{
	static const char reply[] = "private_key=" PRIV_HEX "\nlisten_port=51820\n" P1
	                            "endpoint=[2001:db8::1]:443\nallowed_ip=10.0.0.0/8\n"
	                            "allowed_ip=fd00::/64\npublic_key=" PEER2 "\n"
	                            "endpoint=192.0.2.7:51821\nrx_bytes=42\n" OK;
	char giant[WG_UAPI_MAX_LINE + 32];
	struct wg_device *whole = parse_ok(reply), *dev;

	(void)state;
	for (size_t piece = 1; piece <= sizeof(reply); piece++) {
		dev = NULL;
		if (parse_in_pieces(reply, sizeof(reply) - 1, piece, &dev) < 0)
			fail_msg("pieces of %zu bytes: %s", piece, kh_last_error());
		assert_memory_equal(dev->private_key, whole->private_key, WG_KEY_SIZE);
		assert_int_equal(dev->listen_port, whole->listen_port);
		assert_int_equal(dev->npeers, 2);
		for (size_t i = 0; i < 2; i++) {
			const struct wg_peer *p = &dev->peers[i], *q = &whole->peers[i];

			assert_memory_equal(p->public_key, q->public_key, WG_KEY_SIZE);
			assert_true(wg_endpoint_equal(&p->endpoint, &q->endpoint));
			assert_int_equal(p->rx_bytes, q->rx_bytes);
			assert_int_equal(p->nallowedips, q->nallowedips);
			for (size_t j = 0; j < p->nallowedips; j++)
				assert_int_equal(
				        addr_prefix_cmp(&p->allowedips[j], &q->allowedips[j]), 0);
		}
		wg_free_device(dev);
		/* Cut short anywhere, or followed by more, it is refused. */
		dev = NULL;
		assert_true(parse_in_pieces(reply, sizeof(reply) - 2, piece, &dev) < 0);
		assert_int_equal(parse_in_pieces(OK OK, sizeof(OK OK) - 1, piece, &dev), -EPROTO);
		assert_null(dev);
	}
	wg_free_device(whole);
	/* A line over the limit is refused even when no piece holds all of it. */
	memset(giant, 'a', sizeof(giant));
	memcpy(giant, "x=", 2);
	giant[WG_UAPI_MAX_LINE] = '\n';
	memcpy(giant + WG_UAPI_MAX_LINE + 1, "errno=0\n\n", 9);
	for (size_t piece = 1; piece <= 2 * WG_UAPI_MAX_LINE; piece += 37) {
		dev = NULL;
		assert_int_equal(parse_in_pieces(giant, WG_UAPI_MAX_LINE + 10, piece, &dev),
		                 -EBADMSG);
		assert_null(dev);
	}
}

static void
assert_set_text(const struct wg_device *dev, const char *want)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(wg_uapi_build_set(dev, &text, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(text, want);
	sodium_free(text);
}

static struct wg_peer *
add_peer(struct wg_device *dev, const char *hex)
{
	struct wg_peer *peer = wg_device_add_peer(dev);

	assert_non_null(peer);
	hex_to_key(hex, peer->public_key);
	return peer;
}

static void
add_aip(struct wg_peer *peer, int family, const char *addr, uint8_t cidr)
{
	struct addr_prefix aip = {.addr.family = (uint8_t)family, .len = cidr};

	assert_int_equal(inet_pton(family, addr, aip.addr.u.bytes), 1);
	assert_int_equal(wg_peer_add_allowedip(peer, &aip), 0);
}

/* A sparse delta sends only what its flags name: one peer's endpoint, nothing else. */
static void
test_build_one_peer(void **state)
{
	struct wg_device *dev = wg_device_new("wg-test");
	struct wg_peer *peer;

	(void)state;
	assert_set_text(dev, "set=1\n\n");
	peer = add_peer(dev, PEER1);
	peer->endpoint.sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &peer->endpoint.sin.sin_addr);
	peer->endpoint.sin.sin_port = htons(51820);
	peer->persistent_keepalive = 25;
	peer->rx_bytes = 99; /* reported-only fields are never sent */
	peer->flags = WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_KEEPALIVE;
	assert_set_text(dev, "set=1\n"
	                     "public_key=" PEER1 "\n"
	                     "endpoint=192.0.2.1:51820\n"
	                     "persistent_keepalive_interval=25\n"
	                     "\n");
	wg_free_device(dev);
}

static void
test_build_remove(void **state)
{
	struct wg_device *dev = wg_device_new("wg-test");
	struct wg_peer *peer = add_peer(dev, PEER2);

	(void)state;
	peer->flags = WG_PEER_REMOVE_ME | WG_PEER_HAS_KEEPALIVE;
	add_aip(peer, AF_INET, "10.0.0.0", 8);
	assert_set_text(dev, "set=1\n"
	                     "public_key=" PEER2 "\n"
	                     "remove=true\n"
	                     "\n");
	wg_free_device(dev);
}

static void
test_build_replace_allowedips(void **state)
{
	struct wg_device *dev = wg_device_new("wg-test");
	struct wg_peer *peer = add_peer(dev, PEER1);

	(void)state;
	peer->flags = WG_PEER_REPLACE_ALLOWEDIPS;
	add_aip(peer, AF_INET, "10.0.0.0", 8);
	add_aip(peer, AF_INET6, "fd00::", 64);
	add_aip(peer, AF_INET, "192.0.2.1", 32);
	assert_set_text(dev, "set=1\n"
	                     "public_key=" PEER1 "\n"
	                     "replace_allowed_ips=true\n"
	                     "allowed_ip=10.0.0.0/8\n"
	                     "allowed_ip=fd00::/64\n"
	                     "allowed_ip=192.0.2.1/32\n"
	                     "\n");
	wg_free_device(dev);
}

static void
test_build_full(void **state)
{
	struct wg_device *dev = wg_device_new("wg-test");
	struct wg_peer *peer;

	(void)state;
	hex_to_key(PRIV_HEX, dev->private_key);
	dev->listen_port = 51820;
	dev->fwmark = 4660;
	dev->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK |
	             WG_DEVICE_REPLACE_PEERS;
	peer = add_peer(dev, PEER1);
	hex_to_key(PSK, peer->preshared_key);
	peer->endpoint.sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::7", &peer->endpoint.sin6.sin6_addr);
	peer->endpoint.sin6.sin6_port = htons(443);
	peer->flags = WG_PEER_UPDATE_ONLY | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_ENDPOINT |
	              WG_PEER_HAS_KEEPALIVE;
	add_aip(peer, AF_INET6, "fd00:1::", 48);
	peer = add_peer(dev, PEER2);
	peer->endpoint.sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "fe80::1", &peer->endpoint.sin6.sin6_addr);
	peer->endpoint.sin6.sin6_port = htons(1);
	peer->endpoint.sin6.sin6_scope_id = 4;
	peer->flags = WG_PEER_HAS_ENDPOINT;
	assert_set_text(dev, "set=1\n"
	                     "private_key=" PRIV_HEX "\n"
	                     "listen_port=51820\n"
	                     "fwmark=4660\n"
	                     "replace_peers=true\n"
	                     "public_key=" PEER1 "\n"
	                     "update_only=true\n"
	                     "preshared_key=" PSK "\n"
	                     "endpoint=[2001:db8::7]:443\n"
	                     "persistent_keepalive_interval=0\n"
	                     "allowed_ip=fd00:1::/48\n"
	                     "public_key=" PEER2 "\n"
	                     "endpoint=[fe80::1%4]:1\n"
	                     "\n");
	wg_free_device(dev);
}

static void
test_build_invalid(void **state)
{
	struct wg_device *dev = wg_device_new("wg-test");
	struct wg_peer *peer = add_peer(dev, PEER1);
	char *text = NULL;
	size_t len = 0;

	(void)state;
	peer->flags = WG_PEER_HAS_ENDPOINT; /* with no family */
	assert_int_equal(wg_uapi_build_set(dev, &text, &len), -EINVAL);
	assert_null(text);
	peer->flags = 0;
	peer = add_peer(dev, PEER2);
	add_aip(peer, AF_INET, "10.0.0.0", 8);
	peer->allowedips[0].len = 33;
	assert_int_equal(wg_uapi_build_set(dev, &text, &len), -EINVAL);
	assert_null(text);
	/* And the model refuses such prefixes up front. */
	struct addr_prefix bad = {.addr.family = AF_INET6, .len = 129};
	assert_int_equal(wg_peer_add_allowedip(peer, &bad), -EINVAL);
	bad.addr.family = AF_UNIX;
	bad.len = 0;
	assert_int_equal(wg_peer_add_allowedip(peer, &bad), -EINVAL);
	wg_free_device(dev);
}

/* What the builder writes, the parser reads back (as far as a get reports the same keys). */
static void
test_build_parse_roundtrip(void **state)
{
	struct wg_device *dev = wg_device_new("wg-test"), *back;
	struct wg_peer *peer;
	char *text, *reply;
	size_t len;

	(void)state;
	hex_to_key(PRIV_HEX, dev->private_key);
	dev->listen_port = 1;
	dev->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	peer = add_peer(dev, PEER1);
	peer->endpoint.sin.sin_family = AF_INET;
	peer->endpoint.sin.sin_port = htons(9);
	peer->flags = WG_PEER_HAS_ENDPOINT;
	add_aip(peer, AF_INET, "0.0.0.0", 0);
	add_aip(peer, AF_INET6, "::", 0);
	assert_int_equal(wg_uapi_build_set(dev, &text, &len), 0);
	/* A get reply is the same lines without "set=1" and with errno before the end. */
	assert_true(len > 7 && !memcmp(text, "set=1\n", 6));
	assert_non_null(reply = malloc(len + 16));
	memcpy(reply, text + 6, len - 7);
	memcpy(reply + len - 7, "errno=0\n\n", 10);
	back = parse_ok(reply);
	assert_int_equal(back->listen_port, 1);
	assert_memory_equal(back->private_key, dev->private_key, WG_KEY_SIZE);
	assert_int_equal(back->npeers, 1);
	assert_memory_equal(&back->peers[0].endpoint, &peer->endpoint, sizeof(peer->endpoint));
	assert_int_equal(back->peers[0].nallowedips, 2);
	assert_prefix(&back->peers[0].allowedips[1], "::", 0);
	wg_free_device(back);
	wg_free_device(dev);
	sodium_free(text);
	free(reply);
}

/* --- exchanges with a fake implementation on the UAPI socket --- */

/* The event loop's bound in netd, and what "returns at once" means on a loaded machine. */
#define WAIT_MS  5
#define QUICK_MS 1000

enum server_mode {
	SERVER_SILENT,    /* accepts, reads nothing, never answers: a SIGSTOPped process */
	SERVER_NO_ACCEPT, /* listens and never accepts, its backlog full */
	SERVER_TRICKLE,   /* answers a get of many peers a little at a time */
	SERVER_LATE,      /* answers a get in full, but only after a pause: wireguard-go
	                     building the reply of a large device */
};

struct server {
	enum server_mode mode;
	char name[IFNAMSIZ];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	int held[8];
	size_t nheld;
	int stop[2];
	pthread_t thread;
	size_t peers;
	int gap_us;
	int accepted;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* The answer to one request: a set's errno, or a get reply of s->peers peers, written a line
 * group at a time with a pause between. */
static void
trickle(struct server *s, int fd)
{
	struct timespec gap = {.tv_nsec = s->gap_us * 1000L};
	char req[4096], line[256];
	size_t len = 0;
	ssize_t n;

	/* The whole request: up to its empty line. */
	while (len < sizeof(req) - 1 && (n = read(fd, req + len, sizeof(req) - 1 - len)) > 0) {
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\n\n"))
			break;
	}
	if (!strncmp(req, "set=1\n", 6)) {
		write_all(fd, "errno=0\n\n", 9);
		return;
	}
	write_all(fd, "private_key=" PRIV_HEX "\nlisten_port=51820\n",
	          strlen("private_key=" PRIV_HEX "\nlisten_port=51820\n"));
	for (size_t i = 0; i < s->peers; i++) {
		int k = snprintf(line, sizeof(line),
		                 "public_key=%064zx\nendpoint=192.0.2.1:%zu\nrx_bytes=%zu\n"
		                 "allowed_ip=10.%zu.%zu.0/24\n",
		                 i + 1, 1000 + i, i, i / 256, i % 256);

		write_all(fd, line, (size_t)k);
		if (s->mode == SERVER_TRICKLE && i % 10 == 9)
			nanosleep(&gap, NULL);
	}
	write_all(fd, "errno=0\n\n", 9);
}

static void *
serve(void *arg)
{
	struct server *s = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = s->stop[0], .events = POLLIN},
		                      {.fd = s->fd, .events = POLLIN}};
		int fd;

		if (poll(p, s->mode == SERVER_NO_ACCEPT ? 1 : 2, -1) < 0 || p[0].revents)
			break;
		fd = accept(s->fd, NULL, NULL);
		if (fd < 0)
			continue;
		s->accepted++;
		if (s->mode == SERVER_LATE) {
			struct timespec pause = {.tv_nsec = s->gap_us * 1000L};

			nanosleep(&pause, NULL);
			trickle(s, fd);
			close(fd);
		} else if (s->mode == SERVER_TRICKLE) {
			trickle(s, fd);
			close(fd);
		} else if (s->nheld < sizeof(s->held) / sizeof(s->held[0])) {
			s->held[s->nheld++] = fd; /* open, unanswered */
		} else {
			close(fd);
		}
	}
	return NULL;
}

/* A server on WG_USERSPACE_SOCKET_DIR/NAME.sock; the directory is the real one, which the
 * library does not let callers move. Skips (saying why) without the right to create it. */
/* The one server of the running test: static, so that the teardown can stop it after a
 * failed assertion left the test. */
static struct server the_server;
static bool serving;

static struct server *
server_start(enum server_mode mode, size_t peers, int gap_us)
{
	static int serial;
	struct server *s = &the_server;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->peers = peers;
	s->gap_us = gap_us;
	/* A name per test: the library keeps a device's unanswered exchange across calls. */
	snprintf(s->name, sizeof(s->name), "lc%dt%d", (int)getpid(), ++serial);
	assert_int_equal(wg_uapi_socket_path(s->name, s->path, sizeof(s->path)), 0);
	if (mkdir(WG_USERSPACE_SOCKET_DIR, 0755) < 0 && errno != EEXIST) {
		print_message("SKIP: cannot create %s: %s\n", WG_USERSPACE_SOCKET_DIR,
		              strerror(errno));
		skip();
	}
	unlink(s->path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	memcpy(sun.sun_path, s->path, strlen(s->path) + 1);
	if (bind(s->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		print_message("SKIP: cannot bind %s: %s\n", s->path, strerror(errno));
		close(s->fd);
		skip();
	}
	assert_int_equal(listen(s->fd, mode == SERVER_NO_ACCEPT ? 0 : 16), 0);
	if (mode == SERVER_NO_ACCEPT) {
		/* Fill the backlog the way clients of a stopped process do. */
		for (size_t i = 0; i < sizeof(s->held) / sizeof(s->held[0]); i++) {
			int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			assert_true(c >= 0);
			if (connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
				close(c);
				break;
			}
			s->held[s->nheld++] = c;
		}
	}
	assert_int_equal(pipe2(s->stop, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
	serving = true;
	return s;
}

static void
server_stop(struct server *s)
{
	if (!serving)
		return;
	serving = false;
	write_all(s->stop[1], "x", 1);
	pthread_join(s->thread, NULL);
	for (size_t i = 0; i < s->nheld; i++)
		close(s->held[i]);
	close(s->stop[0]);
	close(s->stop[1]);
	close(s->fd);
	unlink(s->path);
	wg_set_wait_ms(0);
}

static int
stop_server(void **state)
{
	(void)state;
	server_stop(&the_server);
	return 0;
}

/* A get of name, and how long the call took (ms). */
static int
timed_get(const char *name, struct wg_device **dev, int64_t *took)
{
	int64_t t0 = mono_ms();
	int ret = wg_uapi_get_device(name, dev);

	*took = mono_ms() - t0;
	return ret;
}

/* A stopped wireguard-go, asked for a get or a set, and one that does not even accept (the
 * connect itself must not wait): each call fails within netd's bound instead of waiting
 * seconds. */
static void
test_stalled_bounded(void **state)
{
	static const struct {
		enum server_mode mode;
		bool set;
		const char *what;
	} cases[] = {
	        {SERVER_SILENT, false, "a get of a silent process"},
	        {SERVER_SILENT, true, "a set on a silent process"},
	        {SERVER_NO_ACCEPT, false, "a get of a process that never accepts"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wg_device *dev = NULL;
		struct server *s;
		int64_t took;
		int ret;

		s = server_start(cases[i].mode, 0, 0);
		wg_set_wait_ms(WAIT_MS);
		if (cases[i].set) {
			int64_t t0 = mono_ms();

			assert_non_null(dev = wg_device_new(s->name));
			dev->flags = WG_DEVICE_HAS_LISTEN_PORT;
			dev->listen_port = 51820;
			ret = wg_uapi_set_device(dev);
			took = mono_ms() - t0;
			wg_free_device(dev);
			dev = NULL;
		} else {
			ret = timed_get(s->name, &dev, &took);
		}
		server_stop(s);
		if (ret != -ETIMEDOUT)
			fail_msg("%s: %d (%s), want -ETIMEDOUT", cases[i].what, ret,
			         kh_last_error());
		assert_non_null(strstr(kh_last_error(), "stalled"));
		assert_null(dev);
		if (took >= QUICK_MS)
			fail_msg("%s took %lld ms", cases[i].what, (long long)took);
	}
}

/* Healthy but slower than the bound: a reply of 1,000 peers streamed in pauses, or one
 * that starts only after a pause (wireguard-go building the reply of a large device). The
 * caller is not kept waiting; the exchange finishes in the background and the next get of
 * the device is its answer, without asking the process again. */
static void
test_slow_reply_in_background(void **state)
{
	static const struct {
		enum server_mode mode;
		size_t peers;
		int gap_us;
	} cases[] = {
	        {SERVER_TRICKLE, 1000, 2000},
	        {SERVER_LATE, 1, 50000},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct timespec pause = {.tv_nsec = 20 * 1000000L};
		struct wg_device *dev = NULL;
		struct server *s;
		int64_t took, t0;
		int ret;

		s = server_start(cases[i].mode, cases[i].peers, cases[i].gap_us);
		wg_set_wait_ms(WAIT_MS);
		ret = timed_get(s->name, &dev, &took);
		assert_int_equal(ret, -ETIMEDOUT);
		assert_non_null(strstr(kh_last_error(), "background"));
		if (took >= QUICK_MS)
			fail_msg("case %zu: a get of a slow process took %lld ms", i,
			         (long long)took);
		t0 = mono_ms();
		do {
			nanosleep(&pause, NULL);
			ret = timed_get(s->name, &dev, &took);
		} while (ret == -ETIMEDOUT && mono_ms() - t0 < 5000);
		server_stop(s);
		if (ret < 0)
			fail_msg("case %zu: the answer of the background get was lost (%d): %s", i,
			         ret, kh_last_error());
		assert_int_equal(dev->npeers, cases[i].peers);
		assert_int_equal(dev->peers[cases[i].peers - 1].rx_bytes, cases[i].peers - 1);
		assert_int_equal(s->accepted, 1);
		wg_free_device(dev);
	}
}

/* A get finished in the background is taken as it is, once, without asking the process
 * anything: before it is done there is nothing to take, and after it was taken the next get
 * asks again. */
static void
test_finished_get_taken(void **state)
{
	const struct timespec pause = {.tv_nsec = 10 * 1000000L};
	struct wg_device *dev = NULL;
	struct server *s;
	int64_t took, asked, t0;
	int ret;

	(void)state;
	s = server_start(SERVER_LATE, 3, 50000);
	wg_set_wait_ms(WAIT_MS);
	assert_int_equal(wg_uapi_get_finished(s->name, &dev), -EAGAIN);
	asked = mono_ms();
	assert_int_equal(timed_get(s->name, &dev, &took), -ETIMEDOUT);
	assert_int_equal(wg_uapi_get_finished(s->name, &dev), -EAGAIN); /* not done yet */
	t0 = mono_ms();
	do {
		nanosleep(&pause, NULL);
		ret = wg_uapi_get_finished(s->name, &dev);
	} while (ret == -EAGAIN && mono_ms() - t0 < 5000);
	assert_int_equal(ret, 0);
	assert_int_equal(dev->npeers, 3);
	/* When the answer came, not when it was taken. */
	assert_true(dev->read_at_ms >= asked && dev->read_at_ms <= mono_ms());
	wg_free_device(dev);
	dev = NULL;
	assert_int_equal(wg_uapi_get_finished(s->name, &dev), -EAGAIN); /* taken once */
	assert_int_equal(s->accepted, 1);
	server_stop(s);
}

/* Whether wg_background_fd() becomes readable within ms, and then clears. */
static bool
background_signalled(int ms)
{
	struct pollfd p = {.fd = wg_background_fd(), .events = POLLIN};
	bool readable = poll(&p, 1, ms) == 1;

	wg_background_clear();
	p.revents = 0;
	return readable && poll(&p, 1, 0) == 0;
}

/* A set slower than the bound goes on in the background; a get meanwhile waits for it
 * within the bound, and once it is done asks the process afresh (the set's effect is what
 * it must see), never taking the set's answer for a device. The set's end is signalled on
 * wg_background_fd(), so that a caller's loop need not poll for it. */
static void
test_slow_set_then_get(void **state)
{
	const struct timespec pause = {.tv_nsec = 20 * 1000000L};
	struct wg_device *dev, *got = NULL;
	struct server *s;
	int64_t took, t0;
	int ret;

	(void)state;
	s = server_start(SERVER_LATE, 1, 50000);
	wg_set_wait_ms(WAIT_MS);
	assert_true(wg_background_fd() >= 0);
	wg_background_clear();
	assert_non_null(dev = wg_device_new(s->name));
	dev->flags = WG_DEVICE_HAS_LISTEN_PORT;
	dev->listen_port = 51820;
	assert_int_equal(wg_uapi_set_device(dev), -ETIMEDOUT);
	wg_free_device(dev);
	ret = timed_get(s->name, &got, &took);
	assert_int_equal(ret, -ETIMEDOUT);
	assert_non_null(strstr(kh_last_error(), "earlier request"));
	assert_true(background_signalled(5000));
	t0 = mono_ms();
	do {
		nanosleep(&pause, NULL);
		ret = timed_get(s->name, &got, &took);
	} while (ret == -ETIMEDOUT && mono_ms() - t0 < 5000);
	server_stop(s);
	if (ret < 0)
		fail_msg("no get after the background set (%d): %s", ret, kh_last_error());
	assert_non_null(got);
	assert_int_equal(got->npeers, 1);
	assert_int_equal(s->accepted, 2); /* the set, then a get of its own */
	wg_free_device(got);
}

/* A start whose process is slow to answer (here: one that fails after a pause) is waited for
 * in the background: the call returns -EINPROGRESS at once, the interface says it is being
 * started, its end is signalled on wg_background_fd(), and a later start of the name reports
 * how it ended, in the process's words. */
static void
test_start_in_background(void **state)
{
	const struct timespec pause = {.tv_nsec = 20 * 1000000L};
	char dir[] = "/tmp/netd-start-XXXXXX", script[64], name[IFNAMSIZ];
	int64_t t0, took;
	FILE *f;
	int ret;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/slow-wg", dir);
	assert_non_null(f = fopen(script, "w"));
	fprintf(f, "#!/bin/sh\nsleep 0.3\necho \"$1: no tun for you\" >&2\nexit 1\n");
	fclose(f);
	assert_int_equal(chmod(script, 0755), 0);
	snprintf(name, sizeof(name), "lc%ds", (int)getpid());
	wg_set_wait_ms(WAIT_MS);
	wg_background_clear();
	t0 = mono_ms();
	ret = wg_userspace_start(name, script, NULL);
	took = mono_ms() - t0;
	assert_int_equal(ret, -EINPROGRESS);
	assert_true(wg_userspace_starting(name));
	assert_true(background_signalled(5000));
	t0 = mono_ms();
	do {
		nanosleep(&pause, NULL);
		ret = wg_userspace_start(name, script, NULL);
	} while (ret == -EINPROGRESS && mono_ms() - t0 < 5000);
	wg_set_wait_ms(0);
	unlink(script);
	rmdir(dir);
	if (took >= QUICK_MS)
		fail_msg("a start of a slow process took %lld ms", (long long)took);
	assert_int_equal(ret, -EIO);
	if (!strstr(kh_last_error(), "no tun for you"))
		fail_msg("the start's failure lost its words: %s", kh_last_error());
	assert_false(wg_userspace_starting(name));
}

/* A device may carry the private key: its page is locked ("lo") and left out of core dumps
 * ("dd"), and the set request text that carries the key too. */
/* A read sorted once by key: its peers in rising order of their keys, each with its own
 * figures. */
static void
test_sorted_peers(void **state)
{
	struct wg_device *dev = wg_device_new("wg0");

	(void)state;
	assert_non_null(dev);
	/* Keys in falling order, each peer's port its key's first byte. */
	for (int i = 40; i > 0; i--) {
		struct wg_peer *p = wg_device_add_peer(dev);

		assert_non_null(p);
		memset(p->public_key, 0, WG_KEY_SIZE);
		p->public_key[0] = (uint8_t)(i * 5);
		p->persistent_keepalive = (uint16_t)(i * 5);
	}
	wg_device_sort_peers(dev);
	for (size_t i = 1; i < dev->npeers; i++)
		assert_true(memcmp(dev->peers[i - 1].public_key, dev->peers[i].public_key,
		                   WG_KEY_SIZE) < 0);
	for (size_t i = 0; i < dev->npeers; i++)
		assert_int_equal(dev->peers[i].persistent_keepalive, dev->peers[i].public_key[0]);
	wg_free_device(dev);
}

static void
test_key_memory_locked(void **state)
{
	struct wg_device *dev;
	char *text = NULL;
	size_t len;

	(void)state;
	assert_non_null(dev = wg_device_new("wg-test"));
	hex_to_key(PRIV_HEX, dev->private_key);
	dev->flags = WG_DEVICE_HAS_PRIVATE_KEY;
	assert_locked_nodump(dev->private_key, "the device's private key");
	assert_int_equal(wg_uapi_build_set(dev, &text, &len), 0);
	assert_non_null(strstr(text, PRIV_HEX));
	assert_locked_nodump(strstr(text, PRIV_HEX), "the set request's private key");
	sodium_free(text);
	wg_free_device(dev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_two_peers),
	        cmocka_unit_test(test_parse_empty_device),
	        cmocka_unit_test(test_parse_many_allowedips),
	        cmocka_unit_test(test_parse_unknown_keys),
	        cmocka_unit_test(test_parse_zone),
	        cmocka_unit_test(test_parse_errno),
	        cmocka_unit_test(test_parse_bad),
	        cmocka_unit_test(test_refusal_names_the_line),
	        cmocka_unit_test(test_parse_nul_and_giant_lines),
	        cmocka_unit_test(test_parse_oversize),
	        cmocka_unit_test(test_parse_truncated),
	        cmocka_unit_test(test_parse_in_pieces),
	        cmocka_unit_test(test_build_one_peer),
	        cmocka_unit_test(test_build_remove),
	        cmocka_unit_test(test_build_replace_allowedips),
	        cmocka_unit_test(test_build_full),
	        cmocka_unit_test(test_build_invalid),
	        cmocka_unit_test(test_build_parse_roundtrip),
	        cmocka_unit_test_teardown(test_stalled_bounded, stop_server),
	        cmocka_unit_test_teardown(test_slow_reply_in_background, stop_server),
	        cmocka_unit_test_teardown(test_finished_get_taken, stop_server),
	        cmocka_unit_test_teardown(test_slow_set_then_get, stop_server),
	        cmocka_unit_test(test_start_in_background),
	        cmocka_unit_test(test_key_memory_locked),
	        cmocka_unit_test(test_sorted_peers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
