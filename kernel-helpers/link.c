/* Links and their addresses: create, adopt, enslave, configure and delete the VXLAN devices
 * and bridges netd runs its segments on, and the addresses it puts on them; the decoders of
 * link and address messages. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>

#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtmsg.h"
#include "kernel-helpers/rtnl.h"

static int
check_name(const char *what, const char *name)
{
	size_t len = name ? strnlen(name, IFNAMSIZ) : 0;

	if (len == 0 || len >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' '))
		return kh_fail(-EINVAL, "%s: invalid interface name \"%.*s\"", what, IFNAMSIZ,
		               name ? name : "");
	return 0;
}

/* Built attribute by attribute: libnl 3.7's VXLAN link puts IFLA_VXLAN_PORT in 4 bytes where
 * the kernel's policy says 2, and the kernel logs "attribute type 15 has an invalid length" at
 * every segment netd creates. */
int
kh_msg_vxlan_add(const char *name, const struct kh_vxlan *vxlan, uint32_t mtu, struct nl_msg **out)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nlattr *info, *data;
	struct nl_msg *msg;
	int err = -EMSGSIZE;

	*out = NULL;
	if (vxlan->vni > VXLAN_ID_MAX)
		return -EINVAL;
	if (!(msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)))
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0 ||
	    (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0) ||
	    !(info = nla_nest_start(msg, IFLA_LINKINFO)) ||
	    nla_put_string(msg, IFLA_INFO_KIND, "vxlan") < 0 ||
	    !(data = nla_nest_start(msg, IFLA_INFO_DATA)) ||
	    nla_put_u32(msg, IFLA_VXLAN_ID, vxlan->vni) < 0 ||
	    (vxlan->local.family == AF_INET &&
	     nla_put(msg, IFLA_VXLAN_LOCAL, 4, vxlan->local.u.bytes) < 0) ||
	    (vxlan->local.family == AF_INET6 &&
	     nla_put(msg, IFLA_VXLAN_LOCAL6, 16, vxlan->local.u.bytes) < 0) ||
	    (vxlan->port && nla_put_u16(msg, IFLA_VXLAN_PORT, htons(vxlan->port)) < 0) ||
	    nla_put_u8(msg, IFLA_VXLAN_LEARNING, vxlan->learning) < 0 ||
	    (vxlan->underlay && nla_put_u32(msg, IFLA_VXLAN_LINK, vxlan->underlay) < 0))
		goto fail;
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	*out = msg;
	return 0;
fail:
	nlmsg_free(msg);
	return err;
}

int
kh_msg_link_add(const char *name, const char *kind, uint32_t mtu, struct nl_msg **out)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int err = -ENOMEM;

	if (!link)
		goto out;
	rtnl_link_set_name(link, name);
	if (mtu)
		rtnl_link_set_mtu(link, mtu);
	err = kh_nl_errno(rtnl_link_set_type(link, kind));
	if (err < 0)
		goto out;
	err = kh_nl_errno(rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, out));
out:
	rtnl_link_put(link);
	return err;
}

static const struct kh_attr_policy link_policy[IFLA_MAX + 1] = {
        [IFLA_IFNAME] = {KH_ATTR_STRING, 0, IFNAMSIZ}, [IFLA_MTU] = {KH_ATTR_U32, 0, 0},
        [IFLA_MASTER] = {KH_ATTR_U32, 0, 0},           [IFLA_ADDRESS] = {KH_ATTR_BINARY, 0, 32},
        [IFLA_LINKINFO] = {KH_ATTR_NESTED, 0, 0},
};

static const struct kh_attr_policy linkinfo_policy[IFLA_INFO_MAX + 1] = {
        [IFLA_INFO_KIND] = {KH_ATTR_STRING, 0, KH_KIND_SIZE},
        [IFLA_INFO_DATA] = {KH_ATTR_NESTED, 0, 0},
};

/* The port is read as the kernel reads it, from the first two bytes: libnl's requests carry
 * it in four, the kernel's messages in two. */
static const struct kh_attr_policy vxlan_policy[IFLA_VXLAN_MAX + 1] = {
        [IFLA_VXLAN_ID] = {KH_ATTR_U32, 0, 0},          [IFLA_VXLAN_LOCAL] = {KH_ATTR_BINARY, 4, 4},
        [IFLA_VXLAN_LOCAL6] = {KH_ATTR_BINARY, 16, 16}, [IFLA_VXLAN_PORT] = {KH_ATTR_BINARY, 2, 2},
        [IFLA_VXLAN_LEARNING] = {KH_ATTR_U8, 0, 0},     [IFLA_VXLAN_LINK] = {KH_ATTR_U32, 0, 0},
};

static const struct kh_attr_policy ifaddr_policy[IFA_MAX + 1] = {
        [IFA_ADDRESS] = {KH_ATTR_ADDR, 0, 0},
        [IFA_LOCAL] = {KH_ATTR_ADDR, 0, 0},
};

#define PARSE(p, len, pol, tb, what)                                                               \
	kh_attr_parse(p, len, pol, sizeof(pol) / sizeof(pol[0]), tb, what)

static enum kh_decoded
decode_vxlan(const struct nlattr *data, struct kh_vxlan *vx)
{
	const struct nlattr *tb[IFLA_VXLAN_MAX + 1];

	if (PARSE(kh_attr_data(data), kh_attr_len(data), vxlan_policy, tb, "VXLAN data") < 0)
		return KH_MALFORMED;
	if (tb[IFLA_VXLAN_ID])
		vx->vni = kh_attr_u32(tb[IFLA_VXLAN_ID]);
	if (tb[IFLA_VXLAN_LOCAL])
		kh_attr_addr(tb[IFLA_VXLAN_LOCAL], AF_INET, &vx->local);
	else if (tb[IFLA_VXLAN_LOCAL6])
		kh_attr_addr(tb[IFLA_VXLAN_LOCAL6], AF_INET6, &vx->local);
	if (tb[IFLA_VXLAN_PORT])
		vx->port = ntohs(kh_attr_u16(tb[IFLA_VXLAN_PORT]));
	/* The kernel's default is to learn; it always reports the attribute anyway. */
	vx->learning = tb[IFLA_VXLAN_LEARNING] ? kh_attr_u8(tb[IFLA_VXLAN_LEARNING]) != 0 : true;
	if (tb[IFLA_VXLAN_LINK])
		vx->underlay = kh_attr_u32(tb[IFLA_VXLAN_LINK]);
	return KH_DECODED;
}

enum kh_decoded
kh_link_decode(const struct nlmsghdr *h, struct kh_event *ev)
{
	const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	struct ifinfomsg ifi;
	struct kh_link *l = &ev->u.link;
	const void *attrs;
	size_t alen;

	memset(ev, 0, sizeof(*ev));
	if (kh_nl_split(h, &ifi, sizeof(ifi), &attrs, &alen) < 0 ||
	    PARSE(attrs, alen, link_policy, tb, "link") < 0 || ifi.ifi_index <= 0)
		return KH_MALFORMED;
	/* Bridge port state comes as AF_BRIDGE link messages, and a port leaving its bridge as
	 * an AF_BRIDGE RTM_DELLINK: the link itself is still there. */
	if (ifi.ifi_family != AF_UNSPEC)
		return KH_IGNORED;
	if (h->nlmsg_type == RTM_DELLINK)
		ev->type = KH_EV_LINK_DEL;
	else /* a link announces itself once with every flag marked as changed */
		ev->type = ifi.ifi_change == 0xffffffffu ? KH_EV_LINK_NEW : KH_EV_LINK_CHANGE;
	l->ifindex = (uint32_t)ifi.ifi_index;
	l->flags = ifi.ifi_flags;
	if (tb[IFLA_IFNAME])
		snprintf(l->name, sizeof(l->name), "%s",
		         (const char *)kh_attr_data(tb[IFLA_IFNAME]));
	if (tb[IFLA_MTU])
		l->mtu = kh_attr_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MASTER])
		l->master = kh_attr_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_ADDRESS] && kh_attr_len(tb[IFLA_ADDRESS]) == KH_MAC_LEN)
		memcpy(l->mac, kh_attr_data(tb[IFLA_ADDRESS]), KH_MAC_LEN);
	if (!tb[IFLA_LINKINFO])
		return KH_DECODED;
	if (PARSE(kh_attr_data(tb[IFLA_LINKINFO]), kh_attr_len(tb[IFLA_LINKINFO]), linkinfo_policy,
	          info, "link info") < 0)
		return KH_MALFORMED;
	if (info[IFLA_INFO_KIND])
		snprintf(l->kind, sizeof(l->kind), "%s",
		         (const char *)kh_attr_data(info[IFLA_INFO_KIND]));
	if (strcmp(l->kind, "vxlan") == 0 && info[IFLA_INFO_DATA]) {
		l->has_vxlan = true;
		return decode_vxlan(info[IFLA_INFO_DATA], &l->vxlan);
	}
	return KH_DECODED;
}

static bool
keep_link(const struct kh_event *ev, const void *filter)
{
	(void)filter;
	return ev->type == KH_EV_LINK_NEW || ev->type == KH_EV_LINK_CHANGE;
}

static const struct kh_nl_list link_list = {
        .decode = kh_link_decode,
        .keep = keep_link,
        .item_size = sizeof(struct kh_link),
};

/* Adds the link and reports its index. */
static int
add_link(const char *what, const char *name, struct nl_msg *msg, uint32_t *ifindex)
{
	struct kh_link link;
	int err;

	err = kh_nl_request(msg, "create %s %s", what, name);
	if (err < 0)
		return err;
	if (!ifindex)
		return 0;
	err = kh_link_get(name, &link);
	if (err < 0)
		return err;
	*ifindex = link.ifindex;
	return 0;
}

int
kh_link_add_vxlan(const char *name, const struct kh_vxlan *vxlan, uint32_t mtu, uint32_t *ifindex)
{
	struct nl_msg *msg = NULL;
	int err;

	err = check_name("create VXLAN device", name);
	if (err < 0)
		return err;
	err = kh_msg_vxlan_add(name, vxlan, mtu, &msg);
	if (err < 0)
		return kh_fail(err, "create VXLAN device %s (VNI %u): %s", name, vxlan->vni,
		               strerror(-err));
	err = add_link("VXLAN device", name, msg, ifindex);
	nlmsg_free(msg);
	return err;
}

int
kh_link_add_bridge(const char *name, uint32_t mtu, uint32_t *ifindex)
{
	struct nl_msg *msg = NULL;
	int err;

	err = check_name("create bridge", name);
	if (err < 0)
		return err;
	err = kh_msg_link_add(name, "bridge", mtu, &msg);
	if (err < 0)
		return kh_fail(err, "create bridge %s: %s", name, strerror(-err));
	err = add_link("bridge", name, msg, ifindex);
	nlmsg_free(msg);
	return err;
}

int
kh_link_del(uint32_t ifindex)
{
	struct rtnl_link *link = rtnl_link_alloc();
	struct nl_msg *msg = NULL;
	int err;

	if (!link)
		return kh_fail(-ENOMEM, "delete link %u: out of memory", ifindex);
	rtnl_link_set_ifindex(link, (int)ifindex);
	err = kh_nl_errno(rtnl_link_build_delete_request(link, &msg));
	if (err < 0)
		err = kh_fail(err, "delete link %u: %s", ifindex, strerror(-err));
	else
		err = kh_nl_request(msg, "delete link %u", ifindex);
	nlmsg_free(msg);
	rtnl_link_put(link);
	return err;
}

/* Reads one link; the kernel answers a get by name or index with a single message. */
static int
get_link(uint32_t ifindex, const char *name, struct kh_link *out)
{
	struct nl_msg *msg = NULL;
	struct kh_link *links = NULL;
	size_t n = 0;
	int err;

	err = kh_nl_errno(rtnl_link_build_get_request((int)ifindex, name, &msg));
	if (err < 0)
		return kh_fail(err, "read link %s: %s", name ? name : "", strerror(-err));
	if (name)
		err = kh_nl_list(msg, &link_list, (void **)&links, &n, "read link %s", name);
	else
		err = kh_nl_list(msg, &link_list, (void **)&links, &n, "read link %u", ifindex);
	nlmsg_free(msg);
	if (err < 0)
		return err;
	if (n != 1) {
		free(links);
		if (name)
			return kh_fail(-ENODEV, "read link %s: no such device", name);
		return kh_fail(-ENODEV, "read link %u: no such device", ifindex);
	}
	*out = links[0];
	free(links);
	return 0;
}

int
kh_link_get(const char *name, struct kh_link *link)
{
	int err = check_name("read link", name);

	return err < 0 ? err : get_link(0, name, link);
}

int
kh_link_get_index(uint32_t ifindex, struct kh_link *link)
{
	if (ifindex == 0)
		return kh_fail(-ENODEV, "read link 0: no such device");
	return get_link(ifindex, NULL, link);
}

int
kh_link_list(struct kh_link **links, size_t *n)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
	int err;

	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return kh_fail(-ENOMEM, "list links: out of memory");
	}
	err = kh_nl_list(msg, &link_list, (void **)links, n, "list links");
	nlmsg_free(msg);
	return err;
}

/* Sends a change of one link: changes carries only what is to change. */
static int
change_link(uint32_t ifindex, struct rtnl_link *changes, const char *what)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	struct nl_msg *msg = NULL;
	int err;

	if (!orig)
		return kh_fail(-ENOMEM, "%s: out of memory", what);
	rtnl_link_set_ifindex(orig, (int)ifindex);
	err = kh_nl_errno(rtnl_link_build_change_request(orig, changes, 0, &msg));
	if (err < 0)
		err = kh_fail(err, "%s: %s", what, strerror(-err));
	else
		err = kh_nl_request(msg, "%s", what);
	nlmsg_free(msg);
	rtnl_link_put(orig);
	return err;
}

int
kh_link_set_master(uint32_t ifindex, uint32_t master)
{
	struct rtnl_link *changes = rtnl_link_alloc();
	char what[64];
	int err;

	if (master)
		snprintf(what, sizeof(what), "enslave link %u to bridge %u", ifindex, master);
	else
		snprintf(what, sizeof(what), "release link %u from its bridge", ifindex);
	if (!changes)
		return kh_fail(-ENOMEM, "%s: out of memory", what);
	rtnl_link_set_master(changes, (int)master);
	err = change_link(ifindex, changes, what);
	rtnl_link_put(changes);
	return err;
}

int
kh_link_set_mtu(uint32_t ifindex, uint32_t mtu)
{
	struct rtnl_link *changes = rtnl_link_alloc();
	char what[64];
	int err;

	snprintf(what, sizeof(what), "set MTU %u on link %u", mtu, ifindex);
	if (!changes)
		return kh_fail(-ENOMEM, "%s: out of memory", what);
	rtnl_link_set_mtu(changes, mtu);
	err = change_link(ifindex, changes, what);
	rtnl_link_put(changes);
	return err;
}

int
kh_link_set_up(uint32_t ifindex, bool up)
{
	struct rtnl_link *changes = rtnl_link_alloc();
	char what[64];
	int err;

	snprintf(what, sizeof(what), "set link %u %s", ifindex, up ? "up" : "down");
	if (!changes)
		return kh_fail(-ENOMEM, "%s: out of memory", what);
	if (up)
		rtnl_link_set_flags(changes, IFF_UP);
	else
		rtnl_link_unset_flags(changes, IFF_UP);
	err = change_link(ifindex, changes, what);
	rtnl_link_put(changes);
	return err;
}

int
kh_msg_ifaddr(const struct kh_ifaddr *addr, bool del, struct nl_msg **out)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	int err = -ENOMEM;

	if (!a)
		goto out;
	err = kh_nl_addr_new(&addr->prefix.addr, addr->prefix.len, &local);
	if (err < 0)
		goto out;
	rtnl_addr_set_ifindex(a, (int)addr->ifindex);
	rtnl_addr_set_family(a, addr->prefix.addr.family);
	err = kh_nl_errno(rtnl_addr_set_local(a, local));
	if (err < 0)
		goto out;
	rtnl_addr_set_prefixlen(a, addr->prefix.len);
	if (del)
		err = rtnl_addr_build_delete_request(a, 0, out);
	else
		err = rtnl_addr_build_add_request(a, NLM_F_CREATE | NLM_F_REPLACE, out);
	err = kh_nl_errno(err);
out:
	nl_addr_put(local);
	rtnl_addr_put(a);
	return err;
}

enum kh_decoded
kh_ifaddr_decode(const struct nlmsghdr *h, struct kh_event *ev)
{
	const struct nlattr *tb[IFA_MAX + 1], *a;
	struct ifaddrmsg ifa;
	const void *attrs;
	size_t alen;

	memset(ev, 0, sizeof(*ev));
	if (kh_nl_split(h, &ifa, sizeof(ifa), &attrs, &alen) < 0 ||
	    PARSE(attrs, alen, ifaddr_policy, tb, "address") < 0)
		return KH_MALFORMED;
	if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
		return KH_IGNORED;
	/* IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on a
	 * point-to-point link, and the only one IPv6 sends. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || !kh_attr_addr(a, ifa.ifa_family, &ev->u.addr.prefix.addr) ||
	    ifa.ifa_prefixlen > addr_len(ifa.ifa_family) * 8)
		return KH_MALFORMED;
	ev->type = h->nlmsg_type == RTM_DELADDR ? KH_EV_ADDR_DEL : KH_EV_ADDR_NEW;
	ev->u.addr.ifindex = ifa.ifa_index;
	ev->u.addr.prefix.len = ifa.ifa_prefixlen;
	return KH_DECODED;
}

struct ifaddr_filter {
	uint32_t ifindex;
	int family;
};

static bool
keep_ifaddr(const struct kh_event *ev, const void *filter)
{
	const struct ifaddr_filter *f = filter;
	const struct kh_ifaddr *a = &ev->u.addr;

	if (ev->type != KH_EV_ADDR_NEW || (f->ifindex && a->ifindex != f->ifindex))
		return false;
	return f->family == AF_UNSPEC || f->family == a->prefix.addr.family;
}

static int
ifaddr_change(const struct kh_ifaddr *addr, bool del)
{
	char p[ADDR_PREFIX_STRLEN];
	const char *what = del ? "delete" : "add";
	struct nl_msg *msg = NULL;
	int err;

	addr_prefix_format(&addr->prefix, p);
	err = kh_msg_ifaddr(addr, del, &msg);
	if (err < 0)
		return kh_fail(err, "%s address %s on link %u: %s", what, p, addr->ifindex,
		               strerror(-err));
	err = kh_nl_request(msg, "%s address %s on link %u", what, p, addr->ifindex);
	nlmsg_free(msg);
	return err;
}

int
kh_ifaddr_add(const struct kh_ifaddr *addr)
{
	return ifaddr_change(addr, false);
}

int
kh_ifaddr_del(const struct kh_ifaddr *addr)
{
	return ifaddr_change(addr, true);
}

int
kh_ifaddr_list(uint32_t ifindex, int family, struct kh_ifaddr **addrs, size_t *n)
{
	struct ifaddrmsg ifa = {.ifa_family = (uint8_t)family, .ifa_index = ifindex};
	struct ifaddr_filter f = {ifindex, family};
	struct kh_nl_list l = {
	        .decode = kh_ifaddr_decode,
	        .keep = keep_ifaddr,
	        .filter = &f,
	        .item_size = sizeof(struct kh_ifaddr),
	};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_DUMP);
	int err;

	if (!msg || nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return kh_fail(-ENOMEM, "list addresses: out of memory");
	}
	err = kh_nl_list(msg, &l, (void **)addrs, n, "list addresses");
	nlmsg_free(msg);
	return err;
}
