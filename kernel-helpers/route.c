/* Routes netd owns (its table, its protocol number): install, delete, list and flush them, and
 * find other owners' routes that an install would collide with, without touching those. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtmsg.h"
#include "kernel-helpers/rtnl.h"

/* kh.h names the kernel's route types without including its headers. */
_Static_assert((int)KH_ROUTE_UNICAST == RTN_UNICAST && (int)KH_ROUTE_BLACKHOLE == RTN_BLACKHOLE &&
                       (int)KH_ROUTE_UNREACHABLE == RTN_UNREACHABLE &&
                       (int)KH_ROUTE_PROHIBIT == RTN_PROHIBIT,
               "enum kh_route_type is the kernel's RTN_* numbering");

int
kh_msg_route(const struct kh_route *route, bool del, struct nl_msg **out)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL, *gw = NULL;
	int family = route->dst.addr.family;
	int err = -ENOMEM;

	if (!r)
		goto out;
	err = -EINVAL;
	if (kh_route_problem(route, del))
		goto out;
	err = kh_nl_addr_new(&route->dst.addr, route->dst.len, &dst);
	if (err < 0)
		goto out;
	err = kh_nl_errno(rtnl_route_set_family(r, (uint8_t)family));
	if (err < 0)
		goto out;
	err = kh_nl_errno(rtnl_route_set_dst(r, dst));
	if (err < 0)
		goto out;
	rtnl_route_set_table(r, route->table);
	rtnl_route_set_protocol(r, route->protocol);
	rtnl_route_set_priority(r, route->metric);
	/* RTN_UNSPEC in a delete matches a route of any type. */
	rtnl_route_set_type(r, route->type ? route->type : del ? RTN_UNSPEC : RTN_UNICAST);
	/* libnl would guess "link" for a route without a gateway; a reject route is global, as
	 * `ip` installs it. */
	if (!del && kh_route_type_rejects(route->type))
		rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
	if (route->mtu) {
		err = kh_nl_errno(rtnl_route_set_metric(r, RTAX_MTU, route->mtu));
		if (err < 0)
			goto out;
	}
	if (route->oif || route->gateway.family != AF_UNSPEC) {
		err = -ENOMEM;
		nh = rtnl_route_nh_alloc();
		if (!nh)
			goto out;
		if (route->oif)
			rtnl_route_nh_set_ifindex(nh, (int)route->oif);
		if (route->gateway.family != AF_UNSPEC) {
			err = kh_nl_addr_new(&route->gateway, addr_len(family) * 8, &gw);
			if (err < 0)
				goto out;
			rtnl_route_nh_set_gateway(nh, gw);
		}
		rtnl_route_add_nexthop(r, nh);
		nh = NULL; /* the route owns it now */
	}
	/* On install libnl derives the scope as `ip` does (link without a gateway). */
	if (del)
		err = rtnl_route_build_del_request(r, 0, out);
	else
		err = rtnl_route_build_add_request(r, NLM_F_CREATE | NLM_F_REPLACE, out);
	/* A delete must say "any scope" or it misses a route installed with another one;
	 * libnl versions differ in what they put there, so it is set in the message. */
	if (err >= 0 && del)
		((struct rtmsg *)nlmsg_data(nlmsg_hdr(*out)))->rtm_scope = RT_SCOPE_NOWHERE;
	err = kh_nl_errno(err);
out:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(gw);
	nl_addr_put(dst);
	rtnl_route_put(r);
	return err;
}

int
kh_route_from_nl(struct nl_object *obj, struct kh_route *out)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct nl_addr *dst;
	struct kh_route k;
	uint32_t mtu;

	if (strcmp(nl_object_get_type(obj), "route/route") != 0)
		return -EINVAL;
	memset(&k, 0, sizeof(k));
	dst = rtnl_route_get_dst(r);
	kh_nl_addr_get(dst, &k.dst.addr);
	/* The default route comes without a destination address: all zeros of the family. */
	if (k.dst.addr.family == AF_UNSPEC)
		k.dst.addr.family = rtnl_route_get_family(r);
	k.dst.len = dst ? (uint8_t)nl_addr_get_prefixlen(dst) : 0;
	k.table = rtnl_route_get_table(r);
	k.protocol = rtnl_route_get_protocol(r);
	k.scope = rtnl_route_get_scope(r);
	k.type = rtnl_route_get_type(r);
	k.metric = rtnl_route_get_priority(r);
	if (rtnl_route_get_metric(r, RTAX_MTU, &mtu) == 0)
		k.mtu = mtu;
	/* One hop, or the first of several: what a kh_route can show. A reject route has none
	 * (IPv6 shows the loopback device there). */
	if (rtnl_route_get_nnexthops(r) >= 1 && !kh_route_type_rejects(k.type)) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);

		k.oif = (uint32_t)rtnl_route_nh_get_ifindex(nh);
		kh_nl_addr_get(rtnl_route_nh_get_gateway(nh), &k.gateway);
	}
	*out = k;
	return 0;
}

struct route_filter {
	int family;
	uint32_t table;
	int protocol;
};

static int
convert_route(struct nl_object *obj, void *item, const void *filter)
{
	const struct route_filter *f = filter;
	struct kh_route *r = item;

	if (kh_route_from_nl(obj, r) < 0)
		return 0;
	/* The kernel filters too when it can (strict checking), but older ones send all. */
	if (r->dst.addr.family != AF_INET && r->dst.addr.family != AF_INET6)
		return 0;
	if (rtnl_route_get_flags((struct rtnl_route *)obj) & RTM_F_CLONED)
		return 0;
	if (f->family != AF_UNSPEC && r->dst.addr.family != f->family)
		return 0;
	if (f->table && r->table != f->table)
		return 0;
	return f->protocol < 0 || r->protocol == f->protocol;
}

int
kh_route_list(int family, uint32_t table, int protocol, struct kh_route **routes, size_t *n)
{
	struct rtmsg rtm = {.rtm_family = (uint8_t)family};
	struct route_filter f = {family, table, protocol};
	struct kh_nl_dump d = {
	        .convert = convert_route,
	        .filter = &f,
	        .item_size = sizeof(struct kh_route),
	        /* A table that has never held a route of the family does not exist yet. */
	        .empty_err = -ENOENT,
	};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
	int err = -ENOMEM;

	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return kh_fail(-EAFNOSUPPORT, "list routes: address family %d", family);
	if (protocol > 255)
		return kh_fail(-EINVAL, "list routes: protocol %d", protocol);
	if (protocol > 0)
		rtm.rtm_protocol = (uint8_t)protocol;
	rtm.rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	if (!msg || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    (table && nla_put_u32(msg, RTA_TABLE, table) < 0)) {
		nlmsg_free(msg);
		return kh_fail(err, "list routes: out of memory");
	}
	err = kh_nl_dump(msg, &d, (void **)routes, n, "list routes of table %u", table);
	nlmsg_free(msg);
	return err;
}

static int
route_change(const struct kh_route *route, bool del)
{
	char p[ADDR_PREFIX_STRLEN];
	const char *what = del ? "delete" : "install";
	struct nl_msg *msg = NULL;
	int err;

	const char *problem = kh_route_problem(route, del);

	addr_prefix_format(&route->dst, p);
	if (problem)
		return kh_fail(-EINVAL, "%s route %s table %u: %s", what, p, route->table, problem);
	err = kh_msg_route(route, del, &msg);
	if (err < 0)
		return kh_fail(err, "%s route %s table %u: %s", what, p, route->table,
		               strerror(-err));
	err = kh_nl_request(msg, "%s route %s table %u proto %u metric %u", what, p, route->table,
	                    route->protocol, route->metric);
	nlmsg_free(msg);
	return err;
}

int
kh_route_replace(const struct kh_route *route)
{
	return route_change(route, false);
}

int
kh_route_del(const struct kh_route *route)
{
	return route_change(route, true);
}

int
kh_route_flush(int family, uint32_t table, uint8_t protocol, size_t *deleted)
{
	struct kh_route *routes = NULL;
	size_t n = 0, gone = 0;
	int err;

	if (table == 0)
		return kh_fail(-EINVAL, "flush routes of protocol %u: no table given", protocol);
	err = kh_route_list(family, table, protocol, &routes, &n);
	if (err < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		/* Prefix, table, protocol and metric name the route; leaving out the next hop
		 * also matches multipath routes. */
		routes[i].oif = 0;
		routes[i].gateway.family = AF_UNSPEC;
		routes[i].mtu = 0;
		err = kh_route_del(&routes[i]);
		/* Gone already (deleted with its interface, say) is what we wanted. */
		if (err == -ESRCH)
			err = 0;
		if (err < 0)
			break;
		gone++;
	}
	free(routes);
	if (err < 0)
		return err;
	if (deleted)
		*deleted = gone;
	return 0;
}

int
kh_route_collisions(const struct kh_route *mine, struct kh_route **routes, size_t *n)
{
	struct kh_route *all = NULL;
	size_t nall = 0, k = 0;
	int err;

	err = kh_route_list(mine->dst.addr.family, mine->table, KH_ROUTE_ANY_PROTOCOL, &all, &nall);
	if (err < 0)
		return err;
	for (size_t i = 0; i < nall; i++)
		if (kh_route_overlap(mine, &all[i]) != KH_OVERLAP_NONE)
			all[k++] = all[i];
	if (k == 0) {
		free(all);
		all = NULL;
	}
	*routes = all;
	*n = k;
	return 0;
}
