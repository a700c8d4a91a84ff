/* Kernel WireGuard messages without a kernel: SET_DEVICE deltas split into size-bounded
 * messages that read back to the same device, a one-peer change as one small message, and
 * the GET_DEVICE parser on split peers, truncated and malformed attribute streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>

#include "kernel-helpers/wg.h"
#include "kernel-helpers/wg_internal.h"

#define FAMILY  0x1f /* any id will do: it only has to match between build and parse */
#define BUFSIZE 4096

static _Alignas(8) char buf[BUFSIZE];

/* Collects copies of the messages a build hands out. */
struct sink {
	struct nlmsghdr **msgs;
	size_t n;
	size_t largest;
	int fail_at; /* fail the n-th message (1-based); 0: never */
};

static int
sink_cb(struct nlmsghdr *nlh, void *ctx)
{
	struct sink *s = ctx;
	struct nlmsghdr *copy;

	if (s->fail_at && (int)s->n + 1 == s->fail_at)
		return -EIO;
	copy = malloc(nlh->nlmsg_len);
	assert_non_null(copy);
	memcpy(copy, nlh, nlh->nlmsg_len);
	s->msgs = realloc(s->msgs, (s->n + 1) * sizeof(*s->msgs));
	assert_non_null(s->msgs);
	s->msgs[s->n++] = copy;
	if (nlh->nlmsg_len > s->largest)
		s->largest = nlh->nlmsg_len;
	return 0;
}

static void
sink_free(struct sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->msgs[i]);
	free(s->msgs);
	memset(s, 0, sizeof(*s));
}

static void
make_key(uint8_t key[WG_KEY_SIZE], uint32_t seed, uint8_t tag)
{
	for (size_t i = 0; i < WG_KEY_SIZE; i++)
		key[i] = (uint8_t)(seed >> (8 * (i % 4))) ^ (uint8_t)(tag + i);
}

static void
add_aip4(struct wg_peer *peer, uint32_t addr, uint8_t cidr)
{
	struct addr_prefix aip = {.addr.family = AF_INET, .len = cidr};

	aip.addr.u.v4.s_addr = htonl(addr);
	assert_int_equal(wg_peer_add_allowedip(peer, &aip), 0);
}

static void
assert_devices_equal(const struct wg_device *a, const struct wg_device *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->flags & ~(uint32_t)WG_DEVICE_HAS_PUBLIC_KEY,
	                 b->flags & ~(uint32_t)WG_DEVICE_HAS_PUBLIC_KEY);
	if (a->flags & WG_DEVICE_HAS_PRIVATE_KEY)
		assert_memory_equal(a->private_key, b->private_key, WG_KEY_SIZE);
	if (a->flags & WG_DEVICE_HAS_LISTEN_PORT)
		assert_int_equal(a->listen_port, b->listen_port);
	if (a->flags & WG_DEVICE_HAS_FWMARK)
		assert_int_equal(a->fwmark, b->fwmark);
	assert_int_equal(a->npeers, b->npeers);
	for (size_t i = 0; i < a->npeers; i++) {
		const struct wg_peer *p = &a->peers[i], *q = &b->peers[i];

		assert_memory_equal(p->public_key, q->public_key, WG_KEY_SIZE);
		assert_int_equal(p->flags, q->flags);
		if (p->flags & WG_PEER_HAS_PRESHARED_KEY)
			assert_memory_equal(p->preshared_key, q->preshared_key, WG_KEY_SIZE);
		if (p->flags & WG_PEER_HAS_ENDPOINT)
			assert_memory_equal(&p->endpoint, &q->endpoint, sizeof(p->endpoint));
		if (p->flags & WG_PEER_HAS_KEEPALIVE)
			assert_int_equal(p->persistent_keepalive, q->persistent_keepalive);
		if (p->flags & WG_PEER_REMOVE_ME)
			continue; /* a removal sends no allowed-ips */
		assert_int_equal(p->nallowedips, q->nallowedips);
		for (size_t j = 0; j < p->nallowedips; j++)
			assert_true(addr_prefix_equal(&p->allowedips[j], &q->allowedips[j]));
	}
}

static struct wg_device *
parse_all(const struct sink *s, const char *name)
{
	struct wg_device *dev = wg_device_new(name);

	assert_non_null(dev);
	for (size_t i = 0; i < s->n; i++) {
		int ret = wg_genl_parse_msg(s->msgs[i], FAMILY, dev);

		if (ret != 0)
			fail_msg("message %zu: %d %s", i, ret, kh_last_error());
	}
	return dev;
}

/* The device-level and per-peer attributes of one message, for looking inside it. */
struct msg_view {
	bool has_private_key;
	bool has_flags;
	size_t peers;
	size_t replace_flags; /* peers carrying WGPEER_F_REPLACE_ALLOWEDIPS */
};

static struct msg_view
view(const struct nlmsghdr *nlh)
{
	struct msg_view v = {0};
	const struct nlattr *attr, *peer, *pattr;

	assert_int_equal(nlh->nlmsg_type, FAMILY);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
	{
		switch (mnl_attr_get_type(attr)) {
		case WGDEVICE_A_PRIVATE_KEY:
			v.has_private_key = true;
			break;
		case WGDEVICE_A_FLAGS:
			v.has_flags = true;
			break;
		case WGDEVICE_A_PEERS:
			mnl_attr_for_each_nested(peer, attr)
			{
				v.peers++;
				mnl_attr_for_each_nested(pattr, peer)
				{
					if (mnl_attr_get_type(pattr) == WGPEER_A_FLAGS &&
					    (mnl_attr_get_u32(pattr) & WGPEER_F_REPLACE_ALLOWEDIPS))
						v.replace_flags++;
				}
			}
			break;
		}
	}
	return v;
}

/* 20,000 peers plus one with 5,000 allowed-ips: many messages, none above the buffer size,
 * the device state only in the first, and the same device when read back. */
static void
test_build_large(void **state)
{
	struct wg_device *dev = wg_device_new("wg-big"), *back;
	struct sink s = {0};
	struct wg_peer *peer;
	size_t big = 7000, total_replace = 0;

	(void)state;
	make_key(dev->private_key, 1, 0x55);
	dev->listen_port = 51820;
	dev->fwmark = 0x51820;
	dev->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK |
	             WG_DEVICE_REPLACE_PEERS;
	for (uint32_t i = 0; i < 20001; i++) {
		peer = wg_device_add_peer(dev);
		assert_non_null(peer);
		make_key(peer->public_key, i, 0x11);
		if (i % 3 == 0) {
			make_key(peer->preshared_key, i, 0x22);
			peer->flags |= WG_PEER_HAS_PRESHARED_KEY;
		}
		if (i % 2 == 0) {
			peer->endpoint.sin.sin_family = AF_INET;
			peer->endpoint.sin.sin_addr.s_addr = htonl(0xc0000200u + (i & 0xff));
			peer->endpoint.sin.sin_port = htons((uint16_t)(1024 + i));
		} else {
			peer->endpoint.sin6.sin6_family = AF_INET6;
			peer->endpoint.sin6.sin6_addr.s6_addr[0] = 0x20;
			peer->endpoint.sin6.sin6_addr.s6_addr[15] = (uint8_t)i;
			peer->endpoint.sin6.sin6_port = htons(51820);
		}
		peer->flags |=
		        WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_KEEPALIVE | WG_PEER_REPLACE_ALLOWEDIPS;
		peer->persistent_keepalive = (uint16_t)(i % 60);
		if (i == big) {
			for (uint32_t j = 0; j < 5000; j++)
				add_aip4(peer, 0x0b000000u + (j << 8), 24);
		} else {
			add_aip4(peer, 0x0a000000u + i, 32);
		}
	}
	assert_int_equal(wg_genl_build_set(dev, FAMILY, buf, BUFSIZE, sink_cb, &s), 0);
	assert_true(s.n > 100);
	assert_true(s.largest <= BUFSIZE);
	for (size_t i = 0; i < s.n; i++) {
		struct msg_view v = view(s.msgs[i]);

		/* Replacing peers or setting the key again half way would undo earlier parts. */
		assert_int_equal(v.has_private_key, i == 0);
		assert_int_equal(v.has_flags, i == 0);
		assert_true(v.peers > 0);
		total_replace += v.replace_flags;
	}
	/* Each peer's replace flag went out once, in its first part only. */
	assert_int_equal(total_replace, dev->npeers);
	back = parse_all(&s, "wg-big");
	assert_devices_equal(dev, back);
	wg_free_device(back);
	sink_free(&s);
	wg_free_device(dev);
}

/* A peer whose allowed-ips alone overflow a message is continued, not given up. */
static void
test_build_split_peer(void **state)
{
	struct wg_device *dev = wg_device_new("wg-split"), *back;
	struct sink s = {0};
	struct wg_peer *peer;

	(void)state;
	peer = wg_device_add_peer(dev);
	make_key(peer->public_key, 7, 0x33);
	peer->flags = WG_PEER_REPLACE_ALLOWEDIPS | WG_PEER_UPDATE_ONLY;
	for (uint32_t j = 0; j < 5000; j++)
		add_aip4(peer, 0x0b000000u + (j << 8), 24);
	assert_int_equal(wg_genl_build_set(dev, FAMILY, buf, BUFSIZE, sink_cb, &s), 0);
	/* An allowed-ip takes 28 bytes; after 88 bytes of headers, ifname, key and flags a 4 KiB
	 * message holds 143 of them, so 5,000 need 35 messages. */
	assert_int_equal(s.n, 35);
	for (size_t i = 0; i < s.n; i++) {
		struct msg_view v = view(s.msgs[i]);

		assert_int_equal(v.peers, 1);
		assert_int_equal(v.replace_flags, i == 0);
	}
	back = parse_all(&s, "wg-split");
	assert_devices_equal(dev, back);
	wg_free_device(back);
	sink_free(&s);
	wg_free_device(dev);
}

/* Changing one peer sends that peer and nothing else, in one small message. */
static void
test_build_one_peer(void **state)
{
	struct wg_device *dev = wg_device_new("wg-one"), *back;
	struct sink s = {0};
	struct wg_peer *peer;

	(void)state;
	peer = wg_device_add_peer(dev);
	make_key(peer->public_key, 9, 0x44);
	peer->endpoint.sin.sin_family = AF_INET;
	peer->endpoint.sin.sin_addr.s_addr = htonl(0xc0000201u);
	peer->endpoint.sin.sin_port = htons(51820);
	peer->flags = WG_PEER_HAS_ENDPOINT;
	assert_int_equal(wg_genl_build_set(dev, FAMILY, buf, BUFSIZE, sink_cb, &s), 0);
	assert_int_equal(s.n, 1);
	/* header, ifname, peers { peer { key, endpoint } } */
	assert_int_equal(s.msgs[0]->nlmsg_len, 16 + 4 + 12 + 4 + 4 + 36 + 20);
	back = parse_all(&s, "wg-one");
	assert_devices_equal(dev, back);
	wg_free_device(back);
	sink_free(&s);

	/* A removal is the key and the flag, whatever else the peer holds. */
	peer->flags = WG_PEER_REMOVE_ME | WG_PEER_HAS_ENDPOINT;
	add_aip4(peer, 0x0a000000u, 8);
	assert_int_equal(wg_genl_build_set(dev, FAMILY, buf, BUFSIZE, sink_cb, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.msgs[0]->nlmsg_len, 16 + 4 + 12 + 4 + 4 + 36 + 8);
	sink_free(&s);

	wg_free_device(dev);

	/* An empty delta still names the device. */
	dev = wg_device_new("wg-one");
	assert_int_equal(wg_genl_build_set(dev, FAMILY, buf, BUFSIZE, sink_cb, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.msgs[0]->nlmsg_len, 16 + 4 + 12);
	sink_free(&s);
	wg_free_device(dev);
}

static void
test_build_errors(void **state)
{
	struct wg_device *dev = wg_device_new("wg-err");
	struct sink s = {0};
	struct wg_peer *peer;

	(void)state;
	for (uint32_t i = 0; i < 500; i++) {
		peer = wg_device_add_peer(dev);
		make_key(peer->public_key, i, 0x66);
		add_aip4(peer, 0x0a000000u + i, 32);
	}
	/* Too small for a single peer. */
	assert_int_equal(wg_genl_build_set(dev, FAMILY, buf, 64, sink_cb, &s), -EMSGSIZE);
	assert_int_equal(s.n, 0);
	assert_int_equal(wg_genl_build_set(dev, FAMILY, buf, 8, sink_cb, &s), -EMSGSIZE);
	/* The sink's error (the kernel refusing part 3) stops the build there. */
	s.fail_at = 3;
	assert_int_equal(wg_genl_build_set(dev, FAMILY, buf, BUFSIZE, sink_cb, &s), -EIO);
	assert_int_equal(s.n, 2);
	sink_free(&s);
	/* Invalid prefixes and endpoints are refused before anything is sent. */
	dev->peers[10].allowedips[0].len = 40;
	assert_int_equal(wg_genl_build_set(dev, FAMILY, buf, BUFSIZE, sink_cb, &s), -EINVAL);
	dev->peers[10].allowedips[0].len = 32;
	dev->peers[11].flags = WG_PEER_HAS_ENDPOINT;
	assert_int_equal(wg_genl_build_set(dev, FAMILY, buf, BUFSIZE, sink_cb, &s), -EINVAL);
	assert_int_equal(s.n, 0);
	wg_free_device(dev);
}

/* --- GET_DEVICE replies as the kernel writes them --- */

static struct nlmsghdr *
reply_start(char *mem, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mem);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = FAMILY;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = WG_CMD_GET_DEVICE;
	genl->version = WG_GENL_VERSION;
	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg-dump");
	return nlh;
}

static void
put_reply_peer(struct nlmsghdr *nlh, uint8_t id, uint32_t first_aip, uint32_t naips)
{
	struct nlattr *p = mnl_attr_nest_start(nlh, 0), *aips;
	uint8_t key[WG_KEY_SIZE];

	memset(key, id, sizeof(key));
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, sizeof(key), key);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	for (uint32_t i = first_aip; i < first_aip + naips; i++) {
		struct nlattr *a = mnl_attr_nest_start(nlh, 0);
		uint32_t addr = htonl(0x0a000000u + i);

		mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
		mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 4, &addr);
		mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 32);
		mnl_attr_nest_end(nlh, a);
	}
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, p);
}

/* The kernel ends a dump message inside peer B's allowed-ips and starts the next one with
 * B again: one B with all its allowed-ips comes out. */
static void
test_parse_split_dump(void **state)
{
	static _Alignas(8) char mem[2][1024];
	struct nlmsghdr *m1 = reply_start(mem[0], 0), *m2 = reply_start(mem[1], 0);
	struct nlattr *peers;
	struct wg_device *dev = wg_device_new("wg-dump");

	(void)state;
	mnl_attr_put_u16(m1, WGDEVICE_A_LISTEN_PORT, 51820);
	peers = mnl_attr_nest_start(m1, WGDEVICE_A_PEERS);
	put_reply_peer(m1, 0xa, 0, 2);
	put_reply_peer(m1, 0xb, 2, 3);
	mnl_attr_nest_end(m1, peers);
	peers = mnl_attr_nest_start(m2, WGDEVICE_A_PEERS);
	put_reply_peer(m2, 0xb, 5, 2);
	put_reply_peer(m2, 0xc, 7, 1);
	mnl_attr_nest_end(m2, peers);

	assert_int_equal(wg_genl_parse_msg(m1, FAMILY, dev), 0);
	assert_int_equal(wg_genl_parse_msg(m2, FAMILY, dev), 0);
	assert_int_equal(dev->ifindex, 7);
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->npeers, 3);
	assert_int_equal(dev->peers[0].nallowedips, 2);
	assert_int_equal(dev->peers[1].public_key[0], 0xb);
	assert_int_equal(dev->peers[1].nallowedips, 5);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(ntohl(dev->peers[1].allowedips[i].addr.u.v4.s_addr),
		                 0x0a000000u + 2 + i);
	assert_int_equal(dev->peers[2].nallowedips, 1);
	wg_free_device(dev);

	/* The same peer twice within one message is two entries, not a continuation. */
	dev = wg_device_new("wg-dump");
	assert_int_equal(wg_genl_parse_msg(m2, FAMILY, dev), 0);
	assert_int_equal(wg_genl_parse_msg(m2, FAMILY, dev), 0);
	assert_int_equal(dev->npeers, 4);
	wg_free_device(dev);
}

/* What kernel-helpers' netlink runner made of the last datagram run through run(). */
static struct kh_nl_status status;

static int
run(const void *mem, size_t len, uint32_t seq, kh_nl_cb cb, void *arg)
{
	memset(&status, 0, sizeof(status));
	return kh_nl_run(mem, len, seq, 0, cb, arg, &status);
}

/* Cut anywhere, a message parses to an error or to less, never crashes; cuts inside an
 * attribute are errors. */
static void
test_parse_truncated(void **state)
{
	static _Alignas(8) char mem[1024], cut[1024];
	struct nlmsghdr *m = reply_start(mem, 0);
	struct nlattr *peers;
	size_t errors = 0, hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr));

	(void)state;
	peers = mnl_attr_nest_start(m, WGDEVICE_A_PEERS);
	put_reply_peer(m, 1, 0, 3);
	put_reply_peer(m, 2, 3, 3);
	mnl_attr_nest_end(m, peers);
	for (uint32_t len = (uint32_t)hdr; len <= m->nlmsg_len; len++) {
		struct wg_device *dev = wg_device_new("wg-dump");
		int ret;

		memcpy(cut, mem, len);
		((struct nlmsghdr *)cut)->nlmsg_len = len;
		ret = wg_genl_parse_msg((struct nlmsghdr *)cut, FAMILY, dev);
		assert_true(ret == 0 || ret == -EBADMSG);
		errors += ret != 0;
		if (len == m->nlmsg_len) {
			assert_int_equal(ret, 0);
			assert_int_equal(dev->npeers, 2);
		}
		wg_free_device(dev);
	}
	assert_true(errors > (m->nlmsg_len - hdr) / 2);

	/* A datagram cut short of its header's length is refused before any parsing. */
	assert_int_equal(run(mem, m->nlmsg_len - 1, 0, NULL, NULL), -EBADMSG);
	assert_int_equal(run(mem, 10, 0, NULL, NULL), -EBADMSG);
}

struct malformed {
	const char *what;
	void (*build)(struct nlmsghdr *nlh);
};

static void
m_short_key(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, 31, "0123456789012345678901234567890");
}

static void
m_port_u32(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, WGDEVICE_A_LISTEN_PORT, 1);
}

static void
m_repeated(struct nlmsghdr *nlh)
{
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 1);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 2);
}

static void
m_name_unterminated(struct nlmsghdr *nlh)
{
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr));
	mnl_attr_put(nlh, WGDEVICE_A_IFNAME, 7, "wg-dump");
}

static void
m_name_other(struct nlmsghdr *nlh)
{
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr));
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg-other");
}

static void
m_attr_len_small(struct nlmsghdr *nlh)
{
	struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);

	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 1);
	a->nla_len = 3;
}

static void
m_attr_len_large(struct nlmsghdr *nlh)
{
	struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);

	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 1);
	a->nla_len = 12;
}

static void
m_trailing_bytes(struct nlmsghdr *nlh)
{
	memset(mnl_nlmsg_get_payload_tail(nlh), 0, 4);
	nlh->nlmsg_len += 3; /* too short for an attribute header */
}

static struct nlattr *
peer_start(struct nlmsghdr *nlh, bool with_key)
{
	uint8_t key[WG_KEY_SIZE] = {1};

	mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	struct nlattr *p = mnl_attr_nest_start(nlh, 0);
	if (with_key)
		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, sizeof(key), key);
	return p;
}

static void
peers_end(struct nlmsghdr *nlh, struct nlattr *peer)
{
	struct nlattr *peers = (struct nlattr *)((char *)peer - MNL_ATTR_HDRLEN);

	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
}

static void
m_peer_without_key(struct nlmsghdr *nlh)
{
	struct nlattr *p = peer_start(nlh, false);

	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 1);
	peers_end(nlh, p);
}

static void
m_endpoint_mismatch(struct nlmsghdr *nlh)
{
	struct nlattr *p = peer_start(nlh, true);
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET};

	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
	peers_end(nlh, p);
}

static void
m_handshake_nsec(struct nlmsghdr *nlh)
{
	struct nlattr *p = peer_start(nlh, true);
	int64_t ts[2] = {1, 1000000000};

	mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), ts);
	peers_end(nlh, p);
}

static void
put_aip(struct nlmsghdr *nlh, uint16_t family, size_t addrlen, uint8_t cidr, bool with_family)
{
	struct nlattr *p = peer_start(nlh, true), *aips, *a;
	uint8_t addr[16] = {10};

	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	a = mnl_attr_nest_start(nlh, 0);
	if (with_family)
		mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, family);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, addrlen, addr);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr);
	mnl_attr_nest_end(nlh, a);
	mnl_attr_nest_end(nlh, aips);
	peers_end(nlh, p);
}

static void
m_aip_cidr(struct nlmsghdr *nlh)
{
	put_aip(nlh, AF_INET, 4, 33, true);
}

static void
m_aip_family_len(struct nlmsghdr *nlh)
{
	put_aip(nlh, AF_INET, 16, 8, true);
}

static void
m_aip_no_family(struct nlmsghdr *nlh)
{
	put_aip(nlh, AF_INET, 4, 8, false);
}

static void
m_aip_addr_len(struct nlmsghdr *nlh)
{
	put_aip(nlh, AF_INET6, 8, 8, true);
}

static void
m_peer_bad_nest(struct nlmsghdr *nlh)
{
	struct nlattr *p = peer_start(nlh, true);
	struct nlattr *inner = mnl_nlmsg_get_payload_tail(nlh);

	mnl_attr_put_u32(nlh, WGPEER_A_FLAGS, 0);
	inner->nla_len = 200; /* runs past its peer */
	peers_end(nlh, p);
}

static const struct malformed malformed[] = {
        {"31-byte private key", m_short_key},
        {"listen port as u32", m_port_u32},
        {"repeated attribute", m_repeated},
        {"unterminated name", m_name_unterminated},
        {"another device's name", m_name_other},
        {"attribute length below its header", m_attr_len_small},
        {"attribute length past the message", m_attr_len_large},
        {"trailing bytes", m_trailing_bytes},
        {"peer without a key", m_peer_without_key},
        {"endpoint family and length disagree", m_endpoint_mismatch},
        {"handshake nanoseconds out of range", m_handshake_nsec},
        {"allowed-ip /33", m_aip_cidr},
        {"IPv4 allowed-ip with 16 bytes", m_aip_family_len},
        {"allowed-ip without family", m_aip_no_family},
        {"allowed-ip of 8 bytes", m_aip_addr_len},
        {"nested attribute past its parent", m_peer_bad_nest},
};

static void
test_parse_malformed(void **state)
{
	static _Alignas(8) char mem[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		struct nlmsghdr *nlh = reply_start(mem, 0);
		struct wg_device *dev = wg_device_new("wg-dump");
		int ret;

		malformed[i].build(nlh);
		ret = wg_genl_parse_msg(nlh, FAMILY, dev);
		if (ret != -EBADMSG)
			fail_msg("%s: got %d", malformed[i].what, ret);
		assert_true(kh_last_error()[0] != '\0');
		wg_free_device(dev);
	}
}

static void
test_parse_wrong_message(void **state)
{
	static _Alignas(8) char mem[256];
	struct nlmsghdr *nlh = reply_start(mem, 0);
	struct wg_device *dev = wg_device_new("wg-dump");

	(void)state;
	assert_int_equal(wg_genl_parse_msg(nlh, FAMILY + 1, dev), -EBADMSG);
	((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd = 9;
	assert_int_equal(wg_genl_parse_msg(nlh, FAMILY, dev), -EBADMSG);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
	assert_int_equal(wg_genl_parse_msg(nlh, FAMILY, dev), -EBADMSG);
	wg_free_device(dev);
}

/* --- kernel-helpers' netlink runner, as WireGuard's answers meet it --- */

static int
count_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	++*(int *)data;
	return 0;
}

static int
refuse_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return kh_fail(-EPROTO, "refused");
}

static size_t
put_error(char *mem, uint32_t seq, int error, const char *text)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mem);
	struct nlmsgerr *err;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = NLM_F_CAPPED | (text ? NLM_F_ACK_TLVS : 0);
	err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));
	err->error = error;
	err->msg.nlmsg_len = 64; /* the request, not echoed: capped */
	if (text)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	return nlh->nlmsg_len;
}

static void
test_run_errors(void **state)
{
	static _Alignas(8) char mem[1024];
	size_t len, off;
	int n = 0;

	(void)state;
	/* The kernel's extended-ack text reaches the caller. */
	len = put_error(mem, 5, -EINVAL, "Invalid attribute in peer");
	assert_int_equal(run(mem, len, 5, count_cb, &n), -EINVAL);
	assert_string_equal(status.text, "Invalid attribute in peer");
	assert_false(status.local);
	len = put_error(mem, 5, 0, NULL);
	assert_int_equal(run(mem, len, 5, count_cb, &n), 0);
	assert_true(status.done);
	/* An uncapped error echoes the request before the TLVs. */
	{
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(mem);
		struct nlmsgerr *err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));
		char *echo;

		nlh->nlmsg_type = NLMSG_ERROR;
		nlh->nlmsg_flags = NLM_F_ACK_TLVS;
		err->error = -ENOENT;
		err->msg.nlmsg_len = sizeof(err->msg) + 8;
		echo = mnl_nlmsg_put_extra_header(nlh, 8);
		memset(echo, 'x', 8);
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "no such peer");
		assert_int_equal(run(mem, nlh->nlmsg_len, 0, NULL, NULL), -ENOENT);
		assert_string_equal(status.text, "no such peer");
	}
	/* A reply to an earlier request is skipped; data messages reach the callback. */
	off = put_error(mem, 4, -EPERM, NULL);
	{
		struct nlmsghdr *nlh = reply_start(mem + off, 5);

		off += nlh->nlmsg_len;
	}
	assert_int_equal(run(mem, off, 5, count_cb, &n), KH_NL_MORE);
	assert_int_equal(n, 1);
	/* A dump marked interrupted must be redone: what it still brings is not used. */
	{
		struct nlmsghdr *nlh = reply_start(mem, 5);

		nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
		assert_int_equal(run(mem, nlh->nlmsg_len, 5, count_cb, &n), KH_NL_MORE);
		assert_true(status.interrupted);
		assert_int_equal(n, 1);
	}
	/* A dump that failed says so in its DONE message. */
	{
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(mem);
		int *error = mnl_nlmsg_put_extra_header(nlh, sizeof(int));

		nlh->nlmsg_type = NLMSG_DONE;
		*error = -ENODEV;
		assert_int_equal(run(mem, nlh->nlmsg_len, 0, NULL, NULL), -ENODEV);
		*error = 0;
		assert_int_equal(run(mem, nlh->nlmsg_len, 0, NULL, NULL), 0);
	}
	/* A truncated error message is malformed, not a success. */
	len = put_error(mem, 0, -EINVAL, NULL);
	((struct nlmsghdr *)mem)->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
	assert_int_equal(run(mem, MNL_NLMSG_HDRLEN + 2, 0, NULL, NULL), -EBADMSG);
	assert_true(status.local);
	/* A data message the reader refuses ends the answer with its reason. */
	{
		struct nlmsghdr *nlh = reply_start(mem, 5);

		assert_int_equal(run(mem, nlh->nlmsg_len, 5, refuse_cb, NULL), -EPROTO);
		assert_true(status.local);
		assert_string_equal(status.text, "refused");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_build_large),      cmocka_unit_test(test_build_split_peer),
	        cmocka_unit_test(test_build_one_peer),   cmocka_unit_test(test_build_errors),
	        cmocka_unit_test(test_parse_split_dump), cmocka_unit_test(test_parse_truncated),
	        cmocka_unit_test(test_parse_malformed),  cmocka_unit_test(test_parse_wrong_message),
	        cmocka_unit_test(test_run_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
