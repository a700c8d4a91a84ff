/* Routes netd owns (its table, its protocol number): install, delete and list them (flushing
 * and finding collisions are composed of these in route_compose.c); the decoder of route
 * messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtmsg.h"
#include "kernel-helpers/rtnl.h"

/* kh.h names the kernel's route types without including its headers. */
_Static_assert((int)KH_ROUTE_UNICAST == RTN_UNICAST && (int)KH_ROUTE_BLACKHOLE == RTN_BLACKHOLE &&
                       (int)KH_ROUTE_UNREACHABLE == RTN_UNREACHABLE &&
                       (int)KH_ROUTE_PROHIBIT == RTN_PROHIBIT && (int)KH_ROUTE_THROW == RTN_THROW,
               "enum kh_route_type is the kernel's RTN_* numbering");

/* The scope of an install, as `ip` derives it: on-link for a unicast route without a
 * gateway, global otherwise (a reject or throw route has no next hop and is global). A
 * delete must say "any scope" or it misses a route installed with another one. */
static uint8_t
route_scope(const struct kh_route *route, bool del)
{
	if (del)
		return RT_SCOPE_NOWHERE;
	if (kh_route_type_hopless(route->type) || route->gateway.family != AF_UNSPEC)
		return RT_SCOPE_UNIVERSE;
	return RT_SCOPE_LINK;
}

int
kh_msg_route(const struct kh_route *route, bool del, struct kh_route_msg *out)
{
	size_t cap = sizeof(out->bytes);
	struct nlmsghdr *h;
	struct rtmsg *rtm;
	struct nlattr *nest;
	bool fits;

	if (kh_route_problem(route, del))
		return -EINVAL;
	h = mnl_nlmsg_put_header(out->bytes);
	h->nlmsg_type = del ? RTM_DELROUTE : RTM_NEWROUTE;
	h->nlmsg_flags = NLM_F_REQUEST | (del ? 0 : NLM_F_CREATE | NLM_F_REPLACE);
	rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
	rtm->rtm_family = route->dst.addr.family;
	rtm->rtm_dst_len = (uint8_t)route->dst.len;
	/* The table goes in RTA_TABLE; the header's byte only holds the first 256. */
	rtm->rtm_table = route->table < 256 ? (uint8_t)route->table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = route->protocol;
	rtm->rtm_scope = route_scope(route, del);
	/* RTN_UNSPEC in a delete matches a route of any type. */
	rtm->rtm_type = route->type ? route->type : del ? RTN_UNSPEC : RTN_UNICAST;
	fits = mnl_attr_put_u32_check(h, cap, RTA_TABLE, route->table) &&
	       mnl_attr_put_check(h, cap, RTA_DST, addr_len(route->dst.addr.family),
	                          route->dst.addr.u.bytes) &&
	       mnl_attr_put_u32_check(h, cap, RTA_PRIORITY, route->metric);
	if (fits && route->mtu) {
		nest = mnl_attr_nest_start_check(h, cap, RTA_METRICS);
		fits = nest && mnl_attr_put_u32_check(h, cap, RTAX_MTU, route->mtu);
		if (fits)
			mnl_attr_nest_end(h, nest);
	}
	if (fits && route->gateway.family != AF_UNSPEC)
		fits = mnl_attr_put_check(h, cap, RTA_GATEWAY, addr_len(route->gateway.family),
		                          route->gateway.u.bytes);
	if (fits && route->oif)
		fits = mnl_attr_put_u32_check(h, cap, RTA_OIF, route->oif);
	return fits ? 0 : -EMSGSIZE;
}

static const struct kh_attr_policy route_policy[RTA_MAX + 1] = {
        [RTA_DST] = {KH_ATTR_ADDR, 0, 0},
        [RTA_GATEWAY] = {KH_ATTR_ADDR, 0, 0},
        [RTA_OIF] = {KH_ATTR_U32, 0, 0},
        [RTA_PRIORITY] = {KH_ATTR_U32, 0, 0},
        [RTA_TABLE] = {KH_ATTR_U32, 0, 0},
        [RTA_METRICS] = {KH_ATTR_NESTED, 0, 0},
        [RTA_MULTIPATH] = {KH_ATTR_BINARY, sizeof(struct rtnexthop), 0},
};

static const struct kh_attr_policy metrics_policy[RTAX_MAX + 1] = {
        [RTAX_MTU] = {KH_ATTR_U32, 0, 0},
};

static const struct kh_attr_policy nexthop_policy[RTA_MAX + 1] = {
        [RTA_GATEWAY] = {KH_ATTR_ADDR, 0, 0},
};

#define PARSE(p, len, pol, tb, what)                                                               \
	kh_attr_parse(p, len, pol, sizeof(pol) / sizeof(pol[0]), tb, what)

/* The first hop of a multipath route, which is what struct kh_route can show. */
static enum kh_decoded
decode_multipath(const struct nlattr *mp, int family, struct kh_route *r)
{
	const struct nlattr *tb[RTA_MAX + 1];
	struct rtnexthop nh;
	size_t len = kh_attr_len(mp);

	memcpy(&nh, kh_attr_data(mp), sizeof(nh));
	if (nh.rtnh_len < sizeof(nh) || nh.rtnh_len > len)
		return KH_MALFORMED;
	if (PARSE((const uint8_t *)kh_attr_data(mp) + RTNH_ALIGN(sizeof(nh)),
	          nh.rtnh_len > RTNH_ALIGN(sizeof(nh)) ? nh.rtnh_len - RTNH_ALIGN(sizeof(nh)) : 0,
	          nexthop_policy, tb, "next hop") < 0)
		return KH_MALFORMED;
	r->oif = (uint32_t)nh.rtnh_ifindex;
	if (tb[RTA_GATEWAY] && !kh_attr_addr(tb[RTA_GATEWAY], family, &r->gateway))
		return KH_MALFORMED;
	return KH_DECODED;
}

/* Metrics and next hop: what follows the route's own attributes. */
static enum kh_decoded
decode_path(const struct nlattr *const *tb, int family, struct kh_route *r)
{
	const struct nlattr *mx[RTAX_MAX + 1];

	if (tb[RTA_OIF])
		r->oif = kh_attr_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY] && !kh_attr_addr(tb[RTA_GATEWAY], family, &r->gateway))
		return KH_MALFORMED;
	if (tb[RTA_METRICS]) {
		if (PARSE(kh_attr_data(tb[RTA_METRICS]), kh_attr_len(tb[RTA_METRICS]),
		          metrics_policy, mx, "route metrics") < 0)
			return KH_MALFORMED;
		if (mx[RTAX_MTU])
			r->mtu = kh_attr_u32(mx[RTAX_MTU]);
	}
	/* A reject or throw route has no next hop; IPv6 names the loopback device as one. */
	if (kh_route_type_hopless(r->type)) {
		r->oif = 0;
		memset(&r->gateway, 0, sizeof(r->gateway));
		return KH_DECODED;
	}
	if (tb[RTA_MULTIPATH] && !tb[RTA_OIF])
		return decode_multipath(tb[RTA_MULTIPATH], family, r);
	return KH_DECODED;
}

enum kh_decoded
kh_route_decode(const struct nlmsghdr *h, struct kh_event *ev)
{
	const struct nlattr *tb[RTA_MAX + 1];
	struct kh_route *r = &ev->u.route;
	struct rtmsg rtm;
	const void *attrs;
	size_t alen;

	memset(ev, 0, sizeof(*ev));
	if (kh_nl_split(h, &rtm, sizeof(rtm), &attrs, &alen) < 0 ||
	    PARSE(attrs, alen, route_policy, tb, "route") < 0)
		return KH_MALFORMED;
	if (rtm.rtm_family != AF_INET && rtm.rtm_family != AF_INET6)
		return KH_IGNORED;
	/* Cached clones (IPv6 exceptions, PMTU entries) are not routes anyone installed. */
	if (rtm.rtm_flags & RTM_F_CLONED)
		return KH_IGNORED;
	if (rtm.rtm_dst_len > addr_len(rtm.rtm_family) * 8)
		return KH_MALFORMED;
	ev->type = h->nlmsg_type == RTM_DELROUTE ? KH_EV_ROUTE_DEL : KH_EV_ROUTE_NEW;
	/* The default route comes without a destination: all zeros of the family. */
	r->dst.addr.family = rtm.rtm_family;
	if (tb[RTA_DST] && !kh_attr_addr(tb[RTA_DST], rtm.rtm_family, &r->dst.addr))
		return KH_MALFORMED;
	r->dst.len = rtm.rtm_dst_len;
	r->table = tb[RTA_TABLE] ? kh_attr_u32(tb[RTA_TABLE]) : rtm.rtm_table;
	r->protocol = rtm.rtm_protocol;
	r->scope = rtm.rtm_scope;
	r->type = rtm.rtm_type;
	if (tb[RTA_PRIORITY])
		r->metric = kh_attr_u32(tb[RTA_PRIORITY]);
	return decode_path(tb, rtm.rtm_family, r);
}

struct route_filter {
	int family;
	uint32_t table;
	int protocol;
};

/* The kernel filters too when it can (strict checking), but older ones send all. */
static bool
keep_route(const struct kh_event *ev, const void *filter)
{
	const struct route_filter *f = filter;
	const struct kh_route *r = &ev->u.route;

	if (ev->type != KH_EV_ROUTE_NEW)
		return false;
	if (f->family != AF_UNSPEC && r->dst.addr.family != f->family)
		return false;
	if (f->table && r->table != f->table)
		return false;
	return f->protocol < 0 || r->protocol == f->protocol;
}

static int
walk_each(const void *item, void *arg)
{
	const struct kh_route_walk *walk = arg;

	return walk->each(item, walk->arg);
}

static int
walk_restart(void *arg)
{
	const struct kh_route_walk *walk = arg;

	return walk->restart ? walk->restart(walk->arg) : 0;
}

/* Lists into *routes and *n, or hands the routes to walk's each when walk is given. */
static int
list_routes(int family, uint32_t table, int protocol, const struct kh_route_walk *walk,
            struct kh_route **routes, size_t *n)
{
	struct rtmsg rtm = {.rtm_family = (uint8_t)family};
	struct route_filter f = {family, table, protocol};
	struct kh_nl_list l = {
	        .decode = kh_route_decode,
	        .keep = keep_route,
	        .filter = &f,
	        .item_size = sizeof(struct kh_route),
	        /* A table that has never held a route of the family does not exist yet. */
	        .empty_err = -ENOENT,
	};
	struct nl_msg *msg;
	int err = -ENOMEM;

	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return kh_fail(-EAFNOSUPPORT, "list routes: address family %d", family);
	if (protocol > 255)
		return kh_fail(-EINVAL, "list routes: protocol %d", protocol);
	if (walk) {
		l.each = walk_each;
		l.restart = walk_restart;
		l.arg = (void *)walk;
	}
	if (protocol > 0)
		rtm.rtm_protocol = (uint8_t)protocol;
	rtm.rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    (table && nla_put_u32(msg, RTA_TABLE, table) < 0)) {
		nlmsg_free(msg);
		return kh_fail(err, "list routes: out of memory");
	}
	err = kh_nl_list(msg, &l, (void **)routes, n, "list routes of table %u", table);
	nlmsg_free(msg);
	return err;
}

int
kh_route_list(int family, uint32_t table, int protocol, struct kh_route **routes, size_t *n)
{
	return list_routes(family, table, protocol, NULL, routes, n);
}

int
kh_route_walk(int family, uint32_t table, int protocol, const struct kh_route_walk *walk)
{
	struct kh_route *none;
	size_t n;

	return list_routes(family, table, protocol, walk, &none, &n);
}

static int
route_change(const struct kh_route *route, bool del)
{
	char p[ADDR_PREFIX_STRLEN];
	const char *what = del ? "delete" : "install";
	const char *problem = kh_route_problem(route, del);
	struct kh_route_msg msg;
	struct kh_nl_call call = {.bus = NETLINK_ROUTE, .req = &msg.h};
	int err;

	addr_prefix_format(&route->dst, p);
	if (problem)
		return kh_fail(-EINVAL, "%s route %s table %u: %s", what, p, route->table, problem);
	err = kh_msg_route(route, del, &msg);
	if (err < 0)
		return kh_fail(err, "%s route %s table %u: %s", what, p, route->table,
		               strerror(-err));
	return kh_nl_talk(&call, "%s route %s table %u proto %u metric %u", what, p, route->table,
	                  route->protocol, route->metric);
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

/* A batch of route changes and where its outcomes go. */
struct route_batch {
	const struct kh_route *routes;
	const size_t *index; /* of each request sent, its entry in routes */
	bool del;
	kh_route_done_cb done;
	void *arg;
};

/* The text route_change would give the entry's failure, handed to the caller's done. */
static void
route_batch_done(size_t req, int err, const char *why, void *arg)
{
	const struct route_batch *b = arg;
	size_t i = b->index[req];
	const struct kh_route *r = &b->routes[i];
	char p[ADDR_PREFIX_STRLEN];

	if (err == 0) {
		b->done(i, 0, NULL, b->arg);
		return;
	}
	addr_prefix_format(&r->dst, p);
	if (why[0])
		kh_fail(err, "%s route %s table %u proto %u metric %u: %s (kernel: %s)",
		        b->del ? "delete" : "install", p, r->table, r->protocol, r->metric,
		        strerror(-err), why);
	else
		kh_fail(err, "%s route %s table %u proto %u metric %u: %s",
		        b->del ? "delete" : "install", p, r->table, r->protocol, r->metric,
		        strerror(-err));
	b->done(i, err, kh_last_error(), b->arg);
}

size_t
kh_route_change_many(const struct kh_route *routes, size_t n, bool del, kh_route_done_cb done,
                     void *arg)
{
	/* One allocation for every request of the batch, not a libnl message each. */
	struct kh_route_msg *msgs = calloc(n ? n : 1, sizeof(*msgs));
	struct nlmsghdr **reqs = calloc(n ? n : 1, sizeof(*reqs));
	/* Entries refused before sending are told of first; the rest go in one batch. */
	size_t *sent = calloc(n ? n : 1, sizeof(*sent));
	size_t nsent = 0, failed = 0;
	struct route_batch b = {routes, NULL, del, done, arg};

	if (!msgs || !reqs || !sent) {
		for (size_t i = 0; i < n; i++)
			done(i,
			     kh_fail(-ENOMEM, "%s routes: out of memory",
			             del ? "delete" : "install"),
			     kh_last_error(), arg);
		failed = n;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char p[ADDR_PREFIX_STRLEN];
		const char *problem = kh_route_problem(&routes[i], del);
		int err = problem ? -EINVAL : kh_msg_route(&routes[i], del, &msgs[nsent]);

		if (err == 0) {
			reqs[nsent] = &msgs[nsent].h;
			sent[nsent++] = i;
			continue;
		}
		addr_prefix_format(&routes[i].dst, p);
		kh_fail(err, "%s route %s table %u: %s", del ? "delete" : "install", p,
		        routes[i].table, problem ? problem : strerror(-err));
		done(i, err, kh_last_error(), arg);
		failed++;
	}
	b.index = sent;
	failed += kh_nl_batch(reqs, nsent, route_batch_done, &b);
out:
	free(sent);
	free(reqs);
	free(msgs);
	return failed;
}
