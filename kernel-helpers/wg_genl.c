/* Kernel WireGuard over generic netlink: the "wireguard" family resolved at run time,
 * SET_DEVICE deltas split into as many size-checked messages as they need, GET_DEVICE dumps
 * validated attribute by attribute, retried when interrupted and merged across messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>

#include <sodium.h>

#include "kernel-helpers/wg_internal.h"

/* --- building SET_DEVICE --- */

static struct nlmsghdr *
msg_start(void *buf, size_t bufsize, uint16_t family, const char *name)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	if (bufsize < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*genl)))
		return NULL;
	/* libmnl leaves attribute padding as it finds it: nothing of the previous message (a
	 * private key) is to go out again in it. */
	memset(buf, 0, bufsize);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = WG_CMD_SET_DEVICE;
	genl->version = WG_GENL_VERSION;
	if (!mnl_attr_put_strz_check(nlh, bufsize, WGDEVICE_A_IFNAME, name))
		return NULL;
	return nlh;
}

static bool
put_device(struct nlmsghdr *nlh, size_t bufsize, const struct wg_device *dev)
{
	if ((dev->flags & WG_DEVICE_HAS_PRIVATE_KEY) &&
	    !mnl_attr_put_check(nlh, bufsize, WGDEVICE_A_PRIVATE_KEY, WG_KEY_SIZE,
	                        dev->private_key))
		return false;
	if ((dev->flags & WG_DEVICE_HAS_LISTEN_PORT) &&
	    !mnl_attr_put_u16_check(nlh, bufsize, WGDEVICE_A_LISTEN_PORT, dev->listen_port))
		return false;
	if ((dev->flags & WG_DEVICE_HAS_FWMARK) &&
	    !mnl_attr_put_u32_check(nlh, bufsize, WGDEVICE_A_FWMARK, dev->fwmark))
		return false;
	if ((dev->flags & WG_DEVICE_REPLACE_PEERS) &&
	    !mnl_attr_put_u32_check(nlh, bufsize, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS))
		return false;
	return true;
}

/* The peer's own attributes; a continuation (the rest of its allowed-ips in a later
 * message) carries only the key and the flags that must hold for every part. */
static bool
put_peer_head(struct nlmsghdr *nlh, size_t bufsize, const struct wg_peer *peer, bool continuation)
{
	uint32_t flags = 0;

	if (!mnl_attr_put_check(nlh, bufsize, WGPEER_A_PUBLIC_KEY, WG_KEY_SIZE, peer->public_key))
		return false;
	if (peer->flags & WG_PEER_REMOVE_ME)
		flags |= WGPEER_F_REMOVE_ME;
	if (peer->flags & WG_PEER_UPDATE_ONLY)
		flags |= WGPEER_F_UPDATE_ONLY;
	if (!continuation && (peer->flags & WG_PEER_REPLACE_ALLOWEDIPS))
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (flags && !mnl_attr_put_u32_check(nlh, bufsize, WGPEER_A_FLAGS, flags))
		return false;
	if (continuation || (peer->flags & WG_PEER_REMOVE_ME))
		return true;
	if ((peer->flags & WG_PEER_HAS_PRESHARED_KEY) &&
	    !mnl_attr_put_check(nlh, bufsize, WGPEER_A_PRESHARED_KEY, WG_KEY_SIZE,
	                        peer->preshared_key))
		return false;
	if (peer->flags & WG_PEER_HAS_ENDPOINT) {
		size_t len = peer->endpoint.sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                                     : sizeof(struct sockaddr_in);

		if (!mnl_attr_put_check(nlh, bufsize, WGPEER_A_ENDPOINT, len, &peer->endpoint))
			return false;
	}
	if ((peer->flags & WG_PEER_HAS_KEEPALIVE) &&
	    !mnl_attr_put_u16_check(nlh, bufsize, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
	                            peer->persistent_keepalive))
		return false;
	return true;
}

static bool
put_allowedip(struct nlmsghdr *nlh, size_t bufsize, const struct addr_prefix *aip)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, bufsize, 0);

	if (!nest)
		return false;
	if (!mnl_attr_put_u16_check(nlh, bufsize, WGALLOWEDIP_A_FAMILY, aip->addr.family) ||
	    !mnl_attr_put_check(nlh, bufsize, WGALLOWEDIP_A_IPADDR, addr_len(aip->addr.family),
	                        aip->addr.u.bytes) ||
	    !mnl_attr_put_u8_check(nlh, bufsize, WGALLOWEDIP_A_CIDR_MASK, aip->len)) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

int
wg_genl_build_set(const struct wg_device *dev, uint16_t family, void *buf, size_t bufsize,
                  wg_genl_sink sink, void *ctx)
{
	size_t pi = 0, ai = 0; /* where the next message goes on */
	bool started = false;  /* the peer at pi has had its head sent */
	bool first = true;
	int ret;

	ret = wg_check_delta(dev);
	if (ret < 0)
		return ret;
	for (;;) {
		struct nlmsghdr *nlh = msg_start(buf, bufsize, family, dev->name);
		struct nlattr *peers;
		bool progress = false, full = false;

		if (!nlh)
			goto too_small;
		if (first) {
			uint32_t len = nlh->nlmsg_len;

			if (!put_device(nlh, bufsize, dev))
				goto too_small;
			progress = nlh->nlmsg_len > len || dev->npeers == 0;
		}
		if (pi < dev->npeers) {
			peers = mnl_attr_nest_start_check(nlh, bufsize, WGDEVICE_A_PEERS);
			if (!peers)
				full = true;
			for (; !full && pi < dev->npeers; pi++, ai = 0, started = false) {
				const struct wg_peer *peer = &dev->peers[pi];
				size_t naips =
				        peer->flags & WG_PEER_REMOVE_ME ? 0 : peer->nallowedips;
				struct nlattr *pnest, *anest;

				pnest = mnl_attr_nest_start_check(nlh, bufsize, 0);
				if (!pnest) {
					full = true;
					break;
				}
				if (!put_peer_head(nlh, bufsize, peer, started)) {
					mnl_attr_nest_cancel(nlh, pnest);
					full = true;
					break;
				}
				progress |= !started;
				started = true;
				if (ai < naips) {
					anest = mnl_attr_nest_start_check(nlh, bufsize,
					                                  WGPEER_A_ALLOWEDIPS);
					for (; anest && ai < naips; ai++) {
						if (!put_allowedip(nlh, bufsize,
						                   &peer->allowedips[ai]))
							break;
						progress = true;
					}
					if (anest)
						mnl_attr_nest_end(nlh, anest);
					if (ai < naips) {
						mnl_attr_nest_end(nlh, pnest);
						full = true;
						break;
					}
				}
				mnl_attr_nest_end(nlh, pnest);
			}
			if (peers)
				mnl_attr_nest_end(nlh, peers);
		}
		if (!progress)
			goto too_small;
		ret = sink(nlh, ctx);
		if (ret < 0)
			return ret;
		first = false;
		if (!full)
			return 0;
	}
too_small:
	return kh_fail(-EMSGSIZE, "%s: a single peer attribute does not fit in %zu bytes",
	               dev->name, bufsize);
}

/* --- parsing GET_DEVICE --- */

static const struct kh_attr_policy device_policy[WGDEVICE_A_MAX + 1] = {
        [WGDEVICE_A_IFINDEX] = {KH_ATTR_U32},
        [WGDEVICE_A_IFNAME] = {KH_ATTR_STRING, 0, IFNAMSIZ},
        [WGDEVICE_A_PRIVATE_KEY] = {KH_ATTR_BINARY, WG_KEY_SIZE, WG_KEY_SIZE},
        [WGDEVICE_A_PUBLIC_KEY] = {KH_ATTR_BINARY, WG_KEY_SIZE, WG_KEY_SIZE},
        [WGDEVICE_A_FLAGS] = {KH_ATTR_U32},
        [WGDEVICE_A_LISTEN_PORT] = {KH_ATTR_U16},
        [WGDEVICE_A_FWMARK] = {KH_ATTR_U32},
        [WGDEVICE_A_PEERS] = {KH_ATTR_NESTED},
};

static const struct kh_attr_policy peer_policy[WGPEER_A_MAX + 1] = {
        [WGPEER_A_PUBLIC_KEY] = {KH_ATTR_BINARY, WG_KEY_SIZE, WG_KEY_SIZE},
        [WGPEER_A_PRESHARED_KEY] = {KH_ATTR_BINARY, WG_KEY_SIZE, WG_KEY_SIZE},
        [WGPEER_A_FLAGS] = {KH_ATTR_U32},
        [WGPEER_A_ENDPOINT] = {KH_ATTR_SOCKADDR},
        [WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = {KH_ATTR_U16},
        [WGPEER_A_LAST_HANDSHAKE_TIME] = {KH_ATTR_BINARY, 2 * sizeof(int64_t), 2 * sizeof(int64_t)},
        [WGPEER_A_RX_BYTES] = {KH_ATTR_U64},
        [WGPEER_A_TX_BYTES] = {KH_ATTR_U64},
        [WGPEER_A_ALLOWEDIPS] = {KH_ATTR_NESTED},
        [WGPEER_A_PROTOCOL_VERSION] = {KH_ATTR_U32},
};

static const struct kh_attr_policy allowedip_policy[WGALLOWEDIP_A_MAX + 1] = {
        [WGALLOWEDIP_A_FAMILY] = {KH_ATTR_U16},
        [WGALLOWEDIP_A_IPADDR] = {KH_ATTR_ADDR},
        [WGALLOWEDIP_A_CIDR_MASK] = {KH_ATTR_U8},
};

static const uint8_t zero_key[WG_KEY_SIZE];

static int
parse_allowedip(const struct nlattr *attr, void *data)
{
	struct wg_peer *peer = data;
	const struct nlattr *tb[WGALLOWEDIP_A_MAX + 1];
	struct addr_prefix aip;
	uint16_t family;
	size_t len;
	int ret;

	ret = kh_attr_parse(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr),
	                    allowedip_policy, WGALLOWEDIP_A_MAX + 1, tb, "allowed-ip");
	if (ret < 0)
		return ret;
	if (!tb[WGALLOWEDIP_A_FAMILY] || !tb[WGALLOWEDIP_A_IPADDR] || !tb[WGALLOWEDIP_A_CIDR_MASK])
		return kh_fail(-EBADMSG, "allowed-ip: family, address or mask missing");
	family = mnl_attr_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
	len = mnl_attr_get_payload_len(tb[WGALLOWEDIP_A_IPADDR]);
	memset(&aip, 0, sizeof(aip));
	aip.addr.family = (uint8_t)family;
	aip.len = mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
	if (family > UINT8_MAX || len != addr_len(family) || !wg_allowedip_ok(&aip))
		return kh_fail(-EBADMSG,
		               "allowed-ip: family %u, %zu-byte address and /%u do not agree",
		               family, len, aip.len);
	memcpy(aip.addr.u.bytes, mnl_attr_get_payload(tb[WGALLOWEDIP_A_IPADDR]), len);
	ret = wg_peer_add_allowedip(peer, &aip);
	if (ret < 0)
		return kh_fail(ret, "allowed-ip: %s", strerror(-ret));
	return 0;
}

struct parse_ctx {
	struct wg_device *dev;
	size_t peers_in_msg;
};

static int
parse_peer(const struct nlattr *attr, void *data)
{
	struct parse_ctx *ctx = data;
	struct wg_device *dev = ctx->dev;
	const struct nlattr *tb[WGPEER_A_MAX + 1];
	const uint8_t *key;
	struct wg_peer *peer;
	int ret;

	ret = kh_attr_parse(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr), peer_policy,
	                    WGPEER_A_MAX + 1, tb, "peer");
	if (ret < 0)
		return ret;
	if (!tb[WGPEER_A_PUBLIC_KEY])
		return kh_fail(-EBADMSG, "peer: no public key");
	key = mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]);
	/* The kernel continues a peer whose allowed-ips overflowed one dump message at the
	 * start of the next one. */
	if (ctx->peers_in_msg++ == 0 && dev->npeers > 0 &&
	    !memcmp(dev->peers[dev->npeers - 1].public_key, key, WG_KEY_SIZE)) {
		peer = &dev->peers[dev->npeers - 1];
	} else {
		peer = wg_device_add_peer(dev);
		if (!peer)
			return kh_fail(-ENOMEM, "peer: out of memory");
		memcpy(peer->public_key, key, WG_KEY_SIZE);
	}
	if (tb[WGPEER_A_PRESHARED_KEY]) {
		memcpy(peer->preshared_key, mnl_attr_get_payload(tb[WGPEER_A_PRESHARED_KEY]),
		       WG_KEY_SIZE);
		/* The kernel reports a zero key for "none". */
		if (memcmp(peer->preshared_key, zero_key, WG_KEY_SIZE))
			peer->flags |= WG_PEER_HAS_PRESHARED_KEY;
		else
			peer->flags &= ~(uint32_t)WG_PEER_HAS_PRESHARED_KEY;
	}
	if (tb[WGPEER_A_FLAGS]) {
		uint32_t flags = mnl_attr_get_u32(tb[WGPEER_A_FLAGS]);

		if (flags & WGPEER_F_REMOVE_ME)
			peer->flags |= WG_PEER_REMOVE_ME;
		if (flags & WGPEER_F_REPLACE_ALLOWEDIPS)
			peer->flags |= WG_PEER_REPLACE_ALLOWEDIPS;
		if (flags & WGPEER_F_UPDATE_ONLY)
			peer->flags |= WG_PEER_UPDATE_ONLY;
	}
	if (tb[WGPEER_A_ENDPOINT]) {
		memset(&peer->endpoint, 0, sizeof(peer->endpoint));
		memcpy(&peer->endpoint, mnl_attr_get_payload(tb[WGPEER_A_ENDPOINT]),
		       mnl_attr_get_payload_len(tb[WGPEER_A_ENDPOINT]));
		peer->flags |= WG_PEER_HAS_ENDPOINT;
	}
	if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) {
		peer->persistent_keepalive =
		        mnl_attr_get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
		peer->flags |= WG_PEER_HAS_KEEPALIVE;
	}
	if (tb[WGPEER_A_LAST_HANDSHAKE_TIME]) {
		int64_t ts[2];

		memcpy(ts, mnl_attr_get_payload(tb[WGPEER_A_LAST_HANDSHAKE_TIME]), sizeof(ts));
		if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
			return kh_fail(-EBADMSG, "peer: last handshake time out of range");
		peer->last_handshake.tv_sec = (time_t)ts[0];
		peer->last_handshake.tv_nsec = (long)ts[1];
	}
	if (tb[WGPEER_A_RX_BYTES])
		peer->rx_bytes = mnl_attr_get_u64(tb[WGPEER_A_RX_BYTES]);
	if (tb[WGPEER_A_TX_BYTES])
		peer->tx_bytes = mnl_attr_get_u64(tb[WGPEER_A_TX_BYTES]);
	if (tb[WGPEER_A_ALLOWEDIPS])
		return kh_attr_walk(mnl_attr_get_payload(tb[WGPEER_A_ALLOWEDIPS]),
		                    mnl_attr_get_payload_len(tb[WGPEER_A_ALLOWEDIPS]),
		                    "allowed-ips", parse_allowedip, peer);
	return 0;
}

int
wg_genl_parse_msg(const struct nlmsghdr *nlh, uint16_t family, struct wg_device *dev)
{
	const struct nlattr *tb[WGDEVICE_A_MAX + 1];
	const struct genlmsghdr *genl;
	struct parse_ctx ctx = {.dev = dev};
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*genl));
	int ret;

	if (nlh->nlmsg_type != family || nlh->nlmsg_len < hdr)
		return kh_fail(-EBADMSG, "%s: not a WireGuard message", dev->name);
	genl = mnl_nlmsg_get_payload(nlh);
	if (genl->cmd != WG_CMD_GET_DEVICE && genl->cmd != WG_CMD_SET_DEVICE)
		return kh_fail(-EBADMSG, "%s: unexpected WireGuard command %u", dev->name,
		               genl->cmd);
	ret = kh_attr_parse((const char *)nlh + hdr, nlh->nlmsg_len - hdr, device_policy,
	                    WGDEVICE_A_MAX + 1, tb, "device");
	if (ret < 0)
		return ret;
	if (tb[WGDEVICE_A_IFNAME]) {
		const char *name = mnl_attr_get_str(tb[WGDEVICE_A_IFNAME]);

		if (dev->name[0] && strcmp(dev->name, name) != 0)
			return kh_fail(-EBADMSG, "%s: reply is about another interface", dev->name);
		snprintf(dev->name, sizeof(dev->name), "%s", name);
	}
	if (tb[WGDEVICE_A_IFINDEX])
		dev->ifindex = mnl_attr_get_u32(tb[WGDEVICE_A_IFINDEX]);
	if (tb[WGDEVICE_A_PRIVATE_KEY]) {
		memcpy(dev->private_key, mnl_attr_get_payload(tb[WGDEVICE_A_PRIVATE_KEY]),
		       WG_KEY_SIZE);
		dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
	}
	if (tb[WGDEVICE_A_PUBLIC_KEY]) {
		memcpy(dev->public_key, mnl_attr_get_payload(tb[WGDEVICE_A_PUBLIC_KEY]),
		       WG_KEY_SIZE);
		dev->flags |= WG_DEVICE_HAS_PUBLIC_KEY;
	}
	if (tb[WGDEVICE_A_LISTEN_PORT]) {
		dev->listen_port = mnl_attr_get_u16(tb[WGDEVICE_A_LISTEN_PORT]);
		dev->flags |= WG_DEVICE_HAS_LISTEN_PORT;
	}
	if (tb[WGDEVICE_A_FWMARK]) {
		dev->fwmark = mnl_attr_get_u32(tb[WGDEVICE_A_FWMARK]);
		dev->flags |= WG_DEVICE_HAS_FWMARK;
	}
	if (tb[WGDEVICE_A_FLAGS] &&
	    (mnl_attr_get_u32(tb[WGDEVICE_A_FLAGS]) & WGDEVICE_F_REPLACE_PEERS))
		dev->flags |= WG_DEVICE_REPLACE_PEERS;
	if (tb[WGDEVICE_A_PEERS]) {
		ret = kh_attr_walk(mnl_attr_get_payload(tb[WGDEVICE_A_PEERS]),
		                   mnl_attr_get_payload_len(tb[WGDEVICE_A_PEERS]), "peers",
		                   parse_peer, &ctx);
		if (ret < 0)
			return kh_fail(ret, "%s: %s", dev->name, kh_last_error());
	}
	return 0;
}

/* --- talking to the kernel --- */

static const struct kh_attr_policy ctrl_policy[CTRL_ATTR_MAX + 1] = {
        [CTRL_ATTR_FAMILY_ID] = {KH_ATTR_U16},
        [CTRL_ATTR_FAMILY_NAME] = {KH_ATTR_STRING, 0, GENL_NAMSIZ},
        [CTRL_ATTR_VERSION] = {KH_ATTR_U32},
};

static int
family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr));
	uint16_t *family = data;
	int ret;

	if (nlh->nlmsg_type != GENL_ID_CTRL || nlh->nlmsg_len < hdr)
		return kh_fail(-EBADMSG, "genetlink: unexpected reply");
	ret = kh_attr_parse((const char *)nlh + hdr, nlh->nlmsg_len - hdr, ctrl_policy,
	                    CTRL_ATTR_MAX + 1, tb, "genetlink family");
	if (ret < 0)
		return ret;
	if (!tb[CTRL_ATTR_FAMILY_ID] || !tb[CTRL_ATTR_FAMILY_NAME] ||
	    strcmp(mnl_attr_get_str(tb[CTRL_ATTR_FAMILY_NAME]), WG_GENL_NAME) != 0) {
		return kh_fail(-EBADMSG, "genetlink: reply without the %s family", WG_GENL_NAME);
	}
	*family = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	return 0;
}

/* A request of the generic netlink family id: command cmd, version, the interface name. */
static struct nlmsghdr *
genl_request(void *buf, uint16_t type, uint16_t flags, uint8_t cmd, uint8_t version,
             uint16_t name_type, const char *name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	mnl_attr_put_strz(nlh, name_type, name);
	return nlh;
}

int
wg_genl_family(uint16_t *family)
{
	char buf[256] = {0}; /* libmnl leaves attribute padding unset */
	uint16_t id = 0;
	struct kh_nl_call call = {
	        .bus = NETLINK_GENERIC,
	        .req = genl_request(buf, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, 1,
	                            CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME),
	        .cb = family_cb,
	        .arg = &id,
	};
	int ret;

	ret = kh_nl_talk(&call, "look up the %s generic netlink family", WG_GENL_NAME);
	if (ret == -ENOENT)
		return kh_fail(ret,
		               "the kernel has no WireGuard (no \"%s\" generic netlink family)",
		               WG_GENL_NAME);
	if (ret == 0 && id == 0)
		ret = kh_fail(-EBADMSG, "genetlink: no answer for the %s family", WG_GENL_NAME);
	if (ret == 0)
		*family = id;
	return ret;
}

struct dump_ctx {
	uint16_t family;
	struct wg_device *dev;
};

static int
dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *ctx = data;

	return wg_genl_parse_msg(nlh, ctx->family, ctx->dev);
}

/* wg_read_room of the last read. */
static size_t read_peers_hint;

static struct wg_device *
device_for_read(const char *name)
{
	struct wg_device *dev = wg_device_new(name);

	if (dev && wg_device_reserve_peers(dev, read_peers_hint) < 0) {
		wg_free_device(dev);
		return NULL;
	}
	return dev;
}

/* An interrupted dump starts again from an empty device. */
static int
dump_restart(void *data)
{
	struct dump_ctx *ctx = data;
	struct wg_device *dev = device_for_read(ctx->dev->name);

	if (!dev)
		return -ENOMEM;
	wg_free_device(ctx->dev);
	ctx->dev = dev;
	return 0;
}

int
wg_genl_get_device(const char *name, struct wg_device **out)
{
	char buf[256] = {0}; /* libmnl leaves attribute padding unset */
	struct dump_ctx ctx = {0};
	struct kh_nl_call call = {.bus = NETLINK_GENERIC, .cb = dump_cb, .restart = dump_restart};
	int ret;

	ret = wg_genl_family(&ctx.family);
	if (ret < 0)
		return kh_fail(ret, "%s: %s", name, kh_last_error());
	ctx.dev = device_for_read(name);
	if (!ctx.dev)
		return kh_fail(-ENOMEM, "%s: out of memory", name);
	call.req = genl_request(buf, ctx.family, NLM_F_DUMP, WG_CMD_GET_DEVICE, WG_GENL_VERSION,
	                        WGDEVICE_A_IFNAME, name);
	call.arg = &ctx;
	ret = kh_nl_talk(&call, "%s: read the WireGuard device", name);
	if (ret < 0) {
		wg_free_device(ctx.dev);
		return ret;
	}
	ctx.dev->read_at_ms = wg_monotonic_ms();
	read_peers_hint = wg_read_room(ctx.dev->npeers);
	*out = ctx.dev;
	return 0;
}

static int
send_cb(struct nlmsghdr *nlh, void *data)
{
	const char *name = data;
	struct kh_nl_call call = {.bus = NETLINK_GENERIC, .req = nlh};

	return kh_nl_talk(&call, "%s: set the WireGuard device", name);
}

int
wg_genl_set_device(const struct wg_device *dev)
{
	uint16_t family;
	char *buf;
	int ret;

	ret = wg_genl_family(&family);
	if (ret < 0)
		return kh_fail(ret, "%s: %s", dev->name, kh_last_error());
	/* The messages may carry the private key: locked, left out of dumps, wiped. */
	buf = sodium_init() < 0 ? NULL : sodium_malloc(WG_GENL_MSG_SIZE);
	if (!buf)
		return kh_fail(-ENOMEM, "%s: out of memory", dev->name);
	ret = wg_genl_build_set(dev, family, buf, WG_GENL_MSG_SIZE, send_cb, (void *)dev->name);
	sodium_free(buf);
	return ret;
}
