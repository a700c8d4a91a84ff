/* Links and their addresses: create, adopt, enslave, configure and delete the VXLAN devices
 * and bridges netd runs its segments on, and the addresses it puts on them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
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

int
kh_msg_vxlan_add(const char *name, const struct kh_vxlan *vxlan, uint32_t mtu, struct nl_msg **out)
{
	struct rtnl_link *link = rtnl_link_vxlan_alloc();
	struct nl_addr *local = NULL;
	int err = -ENOMEM;

	if (!link)
		goto out;
	rtnl_link_set_name(link, name);
	if (mtu)
		rtnl_link_set_mtu(link, mtu);
	if (vxlan->vni > VXLAN_ID_MAX) {
		err = -EINVAL;
		goto out;
	}
	rtnl_link_vxlan_set_id(link, vxlan->vni);
	if (vxlan->local.family != AF_UNSPEC) {
		err = kh_nl_addr_new(&vxlan->local, addr_len(vxlan->local.family) * 8, &local);
		if (err < 0)
			goto out;
		rtnl_link_vxlan_set_local(link, local);
	}
	if (vxlan->port)
		rtnl_link_vxlan_set_port(link, vxlan->port);
	rtnl_link_vxlan_set_learning(link, vxlan->learning);
	if (vxlan->underlay)
		rtnl_link_vxlan_set_link(link, vxlan->underlay);
	err = kh_nl_errno(rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, out));
out:
	nl_addr_put(local);
	rtnl_link_put(link);
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

int
kh_link_from_nl(struct nl_object *obj, struct kh_link *out)
{
	struct rtnl_link *link = (struct rtnl_link *)obj;
	struct kh_link l;
	const char *s;

	if (strcmp(nl_object_get_type(obj), "route/link") != 0)
		return -EINVAL;
	memset(&l, 0, sizeof(l));
	s = rtnl_link_get_name(link);
	if (s)
		snprintf(l.name, sizeof(l.name), "%s", s);
	l.ifindex = (uint32_t)rtnl_link_get_ifindex(link);
	s = rtnl_link_get_type(link);
	if (s)
		snprintf(l.kind, sizeof(l.kind), "%s", s);
	l.mtu = rtnl_link_get_mtu(link);
	l.flags = rtnl_link_get_flags(link);
	l.master = (uint32_t)rtnl_link_get_master(link);
	kh_nl_mac_get(rtnl_link_get_addr(link), l.mac);
	if (rtnl_link_is_vxlan(link)) {
		struct nl_addr *local = NULL;
		uint32_t v;

		l.has_vxlan = true;
		if (rtnl_link_vxlan_get_id(link, &v) == 0)
			l.vxlan.vni = v;
		if (rtnl_link_vxlan_get_local(link, &local) == 0) {
			kh_nl_addr_get(local, &l.vxlan.local);
			nl_addr_put(local);
		}
		if (rtnl_link_vxlan_get_port(link, &v) == 0)
			l.vxlan.port = (uint16_t)v;
		l.vxlan.learning = rtnl_link_vxlan_get_learning(link) > 0;
		if (rtnl_link_vxlan_get_link(link, &v) == 0)
			l.vxlan.underlay = v;
	}
	*out = l;
	return 0;
}

static int
convert_link(struct nl_object *obj, void *item, const void *filter)
{
	(void)filter;
	return kh_link_from_nl(obj, item) == 0 ? 1 : 0;
}

static const struct kh_nl_dump link_dump = {
        .convert = convert_link,
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
		err = kh_nl_dump(msg, &link_dump, (void **)&links, &n, "read link %s", name);
	else
		err = kh_nl_dump(msg, &link_dump, (void **)&links, &n, "read link %u", ifindex);
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
	err = kh_nl_dump(msg, &link_dump, (void **)links, n, "list links");
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

int
kh_ifaddr_from_nl(struct nl_object *obj, struct kh_ifaddr *out)
{
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct kh_ifaddr r;

	if (strcmp(nl_object_get_type(obj), "route/addr") != 0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.ifindex = (uint32_t)rtnl_addr_get_ifindex(a);
	kh_nl_addr_get(rtnl_addr_get_local(a), &r.prefix.addr);
	r.prefix.len = (uint8_t)rtnl_addr_get_prefixlen(a);
	*out = r;
	return 0;
}

struct ifaddr_filter {
	uint32_t ifindex;
	int family;
};

static int
convert_ifaddr(struct nl_object *obj, void *item, const void *filter)
{
	const struct ifaddr_filter *f = filter;
	struct kh_ifaddr *a = item;

	if (kh_ifaddr_from_nl(obj, a) < 0 || a->prefix.addr.family == AF_UNSPEC)
		return 0;
	if (f->ifindex && a->ifindex != f->ifindex)
		return 0;
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
	struct kh_nl_dump d = {
	        .convert = convert_ifaddr,
	        .filter = &f,
	        .item_size = sizeof(struct kh_ifaddr),
	};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_DUMP);
	int err;

	if (!msg || nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return kh_fail(-ENOMEM, "list addresses: out of memory");
	}
	err = kh_nl_dump(msg, &d, (void **)addrs, n, "list addresses");
	nlmsg_free(msg);
	return err;
}
