/* Netlink plumbing of the WireGuard helpers: sockets with bounded waits and extended acks,
 * strict message and attribute validation, and the few rtnetlink link calls they need. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <sodium.h>

#include "kernel-helpers/wg_internal.h"

int
wg_nl_open(struct wg_nl *nl, int bus)
{
	struct timeval tv = {.tv_sec = WG_NL_TIMEOUT_MS / 1000,
	                     .tv_usec = (WG_NL_TIMEOUT_MS % 1000) * 1000};
	int one = 1, ret;

	memset(nl, 0, sizeof(*nl));
	/* A reply may carry the private key: kept out of swap and core dumps, wiped when freed. */
	nl->buf = sodium_init() < 0 ? NULL : sodium_malloc(WG_NL_RECV_SIZE);
	if (!nl->buf) {
		ret = -ENOMEM;
		goto fail;
	}
	nl->sock = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		kh_fail(ret, "netlink socket: %s", strerror(-ret));
		goto fail;
	}
	/* Older kernels lack these; errors then come without text, which is still correct. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		kh_fail(ret, "netlink socket timeout: %s", strerror(-ret));
		goto fail;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
fail:
	wg_nl_close(nl);
	return ret;
}

void
wg_nl_close(struct wg_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	sodium_free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

/* The kernel's error code and, when it attached one, its extended-ack message. */
static int
nl_error(const struct nlmsghdr *nlh, int error, size_t tlv_off)
{
	const char *msg = NULL;
	size_t len = nlh->nlmsg_len;

	if (error == 0)
		return 0;
	if (error > 0 || error < -4095)
		error = -EPROTO;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && tlv_off <= len) {
		const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
		static const struct kh_attr_policy policy[NLMSGERR_ATTR_MAX + 1] = {
		        [NLMSGERR_ATTR_MSG] = {KH_ATTR_STRING, 0, 1024},
		};

		if (kh_attr_parse((const char *)nlh + tlv_off, len - tlv_off, policy,
		                  NLMSGERR_ATTR_MAX + 1, tb, "extended ack") == 0 &&
		    tb[NLMSGERR_ATTR_MSG])
			msg = mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
	}
	if (msg && *msg)
		return kh_fail(error, "kernel: %s (%s)", msg, strerror(-error));
	return kh_fail(error, "kernel: %s", strerror(-error));
}

static int
nl_error_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err;
	size_t off;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*err))
		return kh_fail(-EBADMSG, "netlink: truncated error message");
	err = mnl_nlmsg_get_payload(nlh);
	/* Without NETLINK_CAP_ACK the request is echoed whole before the TLVs. */
	off = NLMSG_HDRLEN + sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len > sizeof(err->msg))
		off += NLMSG_ALIGN(err->msg.nlmsg_len) - sizeof(err->msg);
	return nl_error(nlh, err->error, off);
}

static int
nl_done_msg(const struct nlmsghdr *nlh)
{
	int error;

	/* A dump that failed half way says so in the DONE message's payload. */
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int))
		return WG_NL_DONE;
	memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
	error = nl_error(nlh, error, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int)));
	return error < 0 ? error : WG_NL_DONE;
}

int
wg_nl_run(const void *buf, size_t len, uint32_t seq, uint32_t portid, wg_nl_cb cb, void *data)
{
	const char *p = buf;
	int ret;

	while (len > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t msglen;

		if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
			return kh_fail(-EBADMSG, "netlink: malformed message header");
		msglen = NLMSG_ALIGN(nlh->nlmsg_len);
		if (msglen > len)
			msglen = len;
		p += msglen;
		len -= msglen;

		/* Left over from an earlier request on this socket: not ours to read. */
		if ((portid && nlh->nlmsg_pid && nlh->nlmsg_pid != portid) ||
		    (seq && nlh->nlmsg_seq != seq))
			continue;
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			return kh_fail(-EINTR, "netlink: dump interrupted by a concurrent change");
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			continue;
		case NLMSG_ERROR:
			ret = nl_error_msg(nlh);
			return ret < 0 ? ret : WG_NL_DONE;
		case NLMSG_DONE:
			return nl_done_msg(nlh);
		case NLMSG_OVERRUN:
			return kh_fail(-EOVERFLOW, "netlink: overrun");
		default:
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
				continue;
			if (cb) {
				ret = cb(nlh, data);
				if (ret < 0)
					return ret;
			}
		}
	}
	return WG_NL_MORE;
}

int
wg_nl_talk(struct wg_nl *nl, struct nlmsghdr *nlh, wg_nl_cb cb, void *data)
{
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = ++nl->seq;
	nlh->nlmsg_pid = 0;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		return kh_fail(ret, "netlink send: %s", strerror(errno));
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, WG_NL_RECV_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* mnl reports data from anyone but the kernel as ENOENT: drop it. */
			if (errno == ENOENT)
				continue;
			ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
			return kh_fail(ret, "netlink receive: %s", strerror(-ret));
		}
		ret = wg_nl_run(nl->buf, (size_t)n, nl->seq, nl->portid, cb, data);
		if (ret != WG_NL_MORE)
			return ret;
	}
}

/* --- rtnetlink --- */

static int
link_request(uint16_t type, uint16_t flags, const char *name, const char *kind, wg_nl_cb cb,
             void *data)
{
	char buf[512] = {0}; /* libmnl leaves attribute padding unset */
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct wg_nl nl;
	int ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (kind) {
		struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);

		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		mnl_attr_nest_end(nlh, linkinfo);
	}
	ret = wg_nl_open(&nl, NETLINK_ROUTE);
	if (ret < 0)
		return ret;
	ret = wg_nl_talk(&nl, nlh, cb, data);
	wg_nl_close(&nl);
	return ret;
}

static const struct kh_attr_policy link_policy[IFLA_MAX + 1] = {
        [IFLA_IFNAME] = {KH_ATTR_STRING, 0, IFNAMSIZ},
        [IFLA_LINKINFO] = {KH_ATTR_NESTED},
};

static const struct kh_attr_policy linkinfo_policy[IFLA_INFO_MAX + 1] = {
        [IFLA_INFO_KIND] = {KH_ATTR_STRING, 0, 64},
};

/* Name and kind of one RTM_NEWLINK message; kind is "" for links without one. */
static int
link_parse(const struct nlmsghdr *nlh, const char **name, const char **kind)
{
	const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	int ret;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifinfomsg))) {
		return kh_fail(-EBADMSG, "rtnetlink: unexpected message");
	}
	ret = kh_attr_parse(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ifinfomsg)),
	                    nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(struct ifinfomsg)),
	                    link_policy, IFLA_MAX + 1, tb, "link");
	if (ret < 0)
		return ret;
	if (!tb[IFLA_IFNAME])
		return kh_fail(-EBADMSG, "rtnetlink: link without a name");
	*name = mnl_attr_get_str(tb[IFLA_IFNAME]);
	*kind = "";
	if (tb[IFLA_LINKINFO]) {
		ret = kh_attr_parse(mnl_attr_get_payload(tb[IFLA_LINKINFO]),
		                    mnl_attr_get_payload_len(tb[IFLA_LINKINFO]), linkinfo_policy,
		                    IFLA_INFO_MAX + 1, info, "link info");
		if (ret < 0)
			return ret;
		if (info[IFLA_INFO_KIND])
			*kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
	}
	return 0;
}

struct kind_query {
	char *kind;
	size_t kindlen;
	bool found;
};

static int
kind_cb(const struct nlmsghdr *nlh, void *data)
{
	struct kind_query *q = data;
	const char *name, *kind;
	int ret;

	ret = link_parse(nlh, &name, &kind);
	if (ret < 0)
		return ret;
	snprintf(q->kind, q->kindlen, "%s", kind);
	q->found = true;
	return 0;
}

int
wg_link_kind(const char *name, char *kind, size_t kindlen)
{
	struct kind_query q = {.kind = kind, .kindlen = kindlen};
	int ret;

	ret = link_request(RTM_GETLINK, NLM_F_ACK, name, NULL, kind_cb, &q);
	if (ret == -ENODEV)
		return kh_fail(ret, "%s: no such interface", name);
	if (ret == 0 && !q.found) {
		kh_fail(-EBADMSG, "%s: the kernel answered without the link", name);
		ret = -EBADMSG;
	}
	return ret;
}

int
wg_link_add_wireguard(const char *name)
{
	int ret;

	ret = link_request(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, name, "wireguard",
	                   NULL, NULL);
	if (ret < 0)
		return kh_fail(ret, "%s: cannot create the WireGuard link: %s", name,
		               kh_last_error());
	return 0;
}

int
wg_link_del(const char *name)
{
	int ret;

	ret = link_request(RTM_DELLINK, NLM_F_ACK, name, NULL, NULL, NULL);
	if (ret < 0)
		return kh_fail(ret, "%s: cannot delete the link: %s", name, kh_last_error());
	return 0;
}

struct list_query {
	const char *kind;
	char ***names;
	size_t *count;
};

static int
list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list_query *q = data;
	const char *name, *kind;
	int ret;

	ret = link_parse(nlh, &name, &kind);
	if (ret < 0)
		return ret;
	if (strcmp(kind, q->kind) != 0)
		return 0;
	return wg_names_add(q->names, q->count, name);
}

int
wg_link_list(const char *kind, char ***names, size_t *count)
{
	struct list_query q = {.kind = kind, .names = names, .count = count};
	int ret, tries = 0;
	size_t start = *count;

	/* A link added or removed during the dump invalidates it; take a fresh one. */
	do {
		while (*count > start) {
			free((*names)[--*count]);
			(*names)[*count] = NULL;
		}
		ret = link_request(RTM_GETLINK, NLM_F_DUMP, NULL, NULL, list_cb, &q);
	} while (ret == -EINTR && ++tries < 16);
	return ret;
}
