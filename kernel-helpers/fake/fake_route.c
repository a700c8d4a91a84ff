/* The fake kernel's routes (per table, keyed by family, prefix and metric, as the FIB keys
 * them) and policy rules, with the kernel's answers to what rtnl.h asks about them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include "kernel-helpers/fake/fake_internal.h"
#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtnl.h"

#define IP6_DEFAULT_METRIC 1024
#define IFNAME_TEXT_SIZE   (IFNAMSIZ + 12)

static struct {
	struct kh_route *routes;
	size_t nroutes, caproutes;
	struct kh_rule *rules; /* by family, then priority, as the kernel lists them */
	size_t nrules, caprules;
} R;

static int
append(void **items, size_t *n, size_t *cap, size_t size, const void *item)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *p = realloc(*items, ncap * size);

		if (!p)
			return -ENOMEM;
		*items = p;
		*cap = ncap;
	}
	memcpy((char *)*items + *n * size, item, size);
	(*n)++;
	return 0;
}

static int
injected(size_t slot, int err)
{
	return fake_op_end(slot, kh_fail(err, "%s: %s (injected failure)", fake_op_text(slot),
	                                 strerror(-err)));
}

static int
fail(size_t slot, int err, const char *what, const char *why)
{
	return fake_op_end(slot, kh_fail(err, "%s: %s (kernel: %s)", what, strerror(-err), why));
}

static const char *
family_word(int family)
{
	return family == AF_INET ? " inet" : family == AF_INET6 ? " inet6" : "";
}

void
fake_routes_free(void)
{
	free(R.routes);
	free(R.rules);
	memset(&R, 0, sizeof(R));
}

static void
announce_route(enum kh_event_type type, const struct kh_route *r)
{
	struct kh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.route = *r;
	fake_announce(&ev);
}

static void
announce_rule(enum kh_event_type type, const struct kh_rule *r)
{
	struct kh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.rule = *r;
	fake_announce(&ev);
}

void
fake_routes_link_down(uint32_t ifindex)
{
	for (size_t i = 0; i < R.nroutes;) {
		struct kh_route r = R.routes[i];

		if (r.oif != ifindex) {
			i++;
			continue;
		}
		memmove(&R.routes[i], &R.routes[i + 1], (R.nroutes - i - 1) * sizeof(r));
		R.nroutes--;
		/* IPv4 flushes a dead link's routes without a word. */
		if (r.dst.addr.family == AF_INET6)
			announce_route(KH_EV_ROUTE_DEL, &r);
	}
}

static void
route_text(struct fake_text *t, const char *verb, const struct kh_route *r)
{
	char p[ADDR_PREFIX_STRLEN], gw[ADDR_STRLEN], n[IFNAME_TEXT_SIZE], type[16];

	fake_text_add(t, "route %s", verb);
	/* Unicast is what a route is unless said otherwise, as `ip` prints it. */
	if (r->type && r->type != KH_ROUTE_UNICAST)
		fake_text_add(t, " %s", kh_route_type_name(r->type, type));
	fake_text_add(t, " %s", addr_prefix_format(&r->dst, p));
	if (r->gateway.family != AF_UNSPEC)
		fake_text_add(t, " via %s", addr_format(&r->gateway, gw));
	if (r->oif)
		fake_text_add(t, " dev %s", fake_ifname(r->oif, n));
	fake_text_add(t, " table %u proto %u", r->table, r->protocol);
	if (r->metric)
		fake_text_add(t, " metric %u", r->metric);
	if (r->mtu)
		fake_text_add(t, " mtu %u", r->mtu);
}

static uint32_t
effective_metric(const struct kh_route *r)
{
	return r->dst.addr.family == AF_INET6 && r->metric == 0 ? IP6_DEFAULT_METRIC : r->metric;
}

int
kh_route_replace(const struct kh_route *route)
{
	char what[128], p[ADDR_PREFIX_STRLEN];
	const char *problem = kh_route_problem(route, false);
	int family = route->dst.addr.family;
	struct fake_text t = {0};
	struct kh_route r;
	struct fake_link *l;
	size_t slot, i;
	int err;

	route_text(&t, "replace", route);
	err = fake_op_begin(FAKE_OP_ROUTE_REPLACE, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	addr_prefix_format(&route->dst, p);
	if (problem)
		return fake_op_end(slot, kh_fail(-EINVAL, "install route %s table %u: %s", p,
		                                 route->table, problem));
	snprintf(what, sizeof(what), "install route %s table %u proto %u metric %u", p,
	         route->table, route->protocol, route->metric);
	r = *route;
	if (r.oif) {
		l = fake_link_by_index(r.oif);
		if (!l)
			return fail(slot, -ENODEV, what, "no such output device");
		if (!(l->l.flags & IFF_UP))
			return fail(slot, -ENETDOWN, what, "Device for nexthop is not up");
	}
	if (r.gateway.family != AF_UNSPEC) {
		/* Only gateways on a connected prefix are modelled. */
		uint32_t via = fake_addr_link(&r.gateway, r.oif);

		if (!via)
			return fail(slot, family == AF_INET ? -ENETUNREACH : -EHOSTUNREACH, what,
			            "Nexthop has invalid gateway");
		r.oif = via;
	}
	r.metric = effective_metric(route);
	r.type = route->type ? route->type : RTN_UNICAST;
	/* A reject route is global and hangs on no device, so no device's end takes it. */
	r.scope = family == AF_INET && r.type == RTN_UNICAST && r.gateway.family == AF_UNSPEC
	                  ? RT_SCOPE_LINK
	                  : RT_SCOPE_UNIVERSE;
	for (i = 0; i < R.nroutes; i++) {
		const struct kh_route *o = &R.routes[i];

		if (o->table == r.table && o->metric == r.metric &&
		    addr_prefix_equal(&o->dst, &r.dst))
			break;
	}
	if (i < R.nroutes) {
		R.routes[i] = r;
	} else {
		if (append((void **)&R.routes, &R.nroutes, &R.caproutes, sizeof(r), &r) < 0)
			return fake_op_end(slot, kh_fail(-ENOMEM, "%s: out of memory", what));
	}
	announce_route(KH_EV_ROUTE_NEW, &r);
	return fake_op_end(slot, 0);
}

/* Whether o is what a delete request q names: what q leaves unset (metric, protocol, next
 * hop, type, MTU) matches anything. */
static bool
route_matches(const struct kh_route *o, const struct kh_route *q)
{
	return o->table == q->table && addr_prefix_equal(&o->dst, &q->dst) &&
	       (!q->metric || o->metric == q->metric) &&
	       (!q->protocol || o->protocol == q->protocol) && (!q->oif || o->oif == q->oif) &&
	       (q->gateway.family == AF_UNSPEC || addr_equal(&o->gateway, &q->gateway)) &&
	       (!q->type || o->type == q->type) && (!q->mtu || o->mtu == q->mtu);
}

int
kh_route_del(const struct kh_route *route)
{
	char what[128], p[ADDR_PREFIX_STRLEN];
	const char *problem = kh_route_problem(route, true);
	struct fake_text t = {0};
	struct kh_route gone;
	size_t slot, i, best = SIZE_MAX;
	int err;

	route_text(&t, "del", route);
	err = fake_op_begin(FAKE_OP_ROUTE_DEL, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	addr_prefix_format(&route->dst, p);
	if (problem)
		return fake_op_end(slot, kh_fail(-EINVAL, "delete route %s table %u: %s", p,
		                                 route->table, problem));
	snprintf(what, sizeof(what), "delete route %s table %u proto %u metric %u", p, route->table,
	         route->protocol, route->metric);
	/* The kernel keeps a prefix's routes by metric and takes the first that matches. */
	for (i = 0; i < R.nroutes; i++)
		if (route_matches(&R.routes[i], route) &&
		    (best == SIZE_MAX || R.routes[i].metric < R.routes[best].metric))
			best = i;
	if (best == SIZE_MAX)
		return fail(slot, -ESRCH, what, "no such route");
	gone = R.routes[best];
	memmove(&R.routes[best], &R.routes[best + 1], (R.nroutes - best - 1) * sizeof(gone));
	R.nroutes--;
	announce_route(KH_EV_ROUTE_DEL, &gone);
	return fake_op_end(slot, 0);
}

/* The routes of family, table and protocol (as kh_route_list filters them), unlogged. */
static int
select_routes(int family, uint32_t table, int protocol, struct kh_route **out, size_t *n)
{
	struct kh_route *sel = NULL;
	size_t k = 0;

	if (R.nroutes) {
		sel = malloc(R.nroutes * sizeof(*sel));
		if (!sel)
			return -ENOMEM;
	}
	for (size_t i = 0; i < R.nroutes; i++) {
		const struct kh_route *r = &R.routes[i];

		if ((family != AF_UNSPEC && r->dst.addr.family != family) ||
		    (table && r->table != table) || (protocol >= 0 && r->protocol != protocol))
			continue;
		sel[k++] = *r;
	}
	if (!k) {
		free(sel);
		sel = NULL;
	}
	*out = sel;
	*n = k;
	return 0;
}

static int
check_list(int family, int protocol)
{
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return kh_fail(-EAFNOSUPPORT, "list routes: address family %d", family);
	if (protocol > 255)
		return kh_fail(-EINVAL, "list routes: protocol %d", protocol);
	return 0;
}

int
kh_route_list(int family, uint32_t table, int protocol, struct kh_route **routes, size_t *n)
{
	struct fake_text t = {0};
	size_t slot;
	int err;

	fake_text_add(&t, "route list%s", family_word(family));
	if (table)
		fake_text_add(&t, " table %u", table);
	if (protocol >= 0)
		fake_text_add(&t, " proto %d", protocol);
	err = fake_op_begin(FAKE_OP_ROUTE_LIST, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	err = check_list(family, protocol);
	if (err < 0)
		return fake_op_end(slot, err);
	err = select_routes(family, table, protocol, routes, n);
	if (err < 0)
		err = kh_fail(err, "list routes of table %u: out of memory", table);
	return fake_op_end(slot, err);
}

int
kh_route_walk(int family, uint32_t table, int protocol, const struct kh_route_walk *walk)
{
	struct kh_route *routes = NULL;
	size_t n = 0;
	int err = kh_route_list(family, table, protocol, &routes, &n);

	for (size_t i = 0; i < n && err == 0; i++)
		err = walk->each(&routes[i], walk->arg);
	free(routes);
	return err;
}

/* --- rules --- */

static int
insert_rule(const struct kh_rule *rule)
{
	size_t i;

	if (append((void **)&R.rules, &R.nrules, &R.caprules, sizeof(*rule), rule) < 0)
		return -ENOMEM;
	/* After every rule of a lower family, or of its family and no higher priority. */
	for (i = R.nrules - 1; i > 0; i--) {
		const struct kh_rule *o = &R.rules[i - 1];

		if (o->family < rule->family ||
		    (o->family == rule->family && o->priority <= rule->priority))
			break;
	}
	memmove(&R.rules[i + 1], &R.rules[i], (R.nrules - 1 - i) * sizeof(*rule));
	R.rules[i] = *rule;
	return 0;
}

void
fake_rules_init(void)
{
	static const struct {
		uint8_t family;
		uint32_t priority, table;
	} defaults[] = {
	        {AF_INET, 0, RT_TABLE_LOCAL},       {AF_INET, 32766, RT_TABLE_MAIN},
	        {AF_INET, 32767, RT_TABLE_DEFAULT}, {AF_INET6, 0, RT_TABLE_LOCAL},
	        {AF_INET6, 32766, RT_TABLE_MAIN},
	};

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		struct kh_rule r;

		memset(&r, 0, sizeof(r));
		r.family = defaults[i].family;
		r.priority = defaults[i].priority;
		r.table = defaults[i].table;
		r.protocol = RTPROT_KERNEL;
		if (insert_rule(&r) < 0)
			return;
	}
}

static bool
selector_equal(const struct addr_prefix *a, const struct addr_prefix *b)
{
	return a->len == b->len && (a->len == 0 || addr_prefix_equal(a, b));
}

/* The rule as the kernel keeps it: a mark only with a mask, selectors of length 0 empty. */
static struct kh_rule
normalised(const struct kh_rule *rule)
{
	struct kh_rule r = *rule;

	if (!r.fwmask)
		r.fwmark = 0;
	if (!r.src.len)
		memset(&r.src, 0, sizeof(r.src));
	if (!r.dst.len)
		memset(&r.dst, 0, sizeof(r.dst));
	return r;
}

static int
rule_change(const struct kh_rule *rule, bool del)
{
	char what[80], s[ADDR_PREFIX_STRLEN], d[ADDR_PREFIX_STRLEN];
	const char *problem = kh_rule_problem(rule);
	struct kh_rule r = normalised(rule);
	struct fake_text t = {0};
	size_t slot, i;
	int err;

	fake_text_add(&t, "rule %s%s pref %u", del ? "del" : "add", family_word(rule->family),
	              rule->priority);
	if (rule->src.len)
		fake_text_add(&t, " from %s", addr_prefix_format(&rule->src, s));
	if (rule->dst.len)
		fake_text_add(&t, " to %s", addr_prefix_format(&rule->dst, d));
	if (rule->fwmask)
		fake_text_add(&t, " fwmark %#x/%#x", rule->fwmark, rule->fwmask);
	fake_text_add(&t, " lookup %u", rule->table);
	if (rule->protocol)
		fake_text_add(&t, " proto %u", rule->protocol);
	err = fake_op_begin(del ? FAKE_OP_RULE_DEL : FAKE_OP_RULE_ADD, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	snprintf(what, sizeof(what), "%s rule priority %u table %u", del ? "delete" : "add",
	         rule->priority, rule->table);
	if (problem)
		return fake_op_end(slot, kh_fail(-EINVAL, "%s: %s", what, problem));
	for (i = 0; i < R.nrules; i++) {
		const struct kh_rule *o = &R.rules[i];
		bool same = o->family == r.family && o->priority == r.priority &&
		            selector_equal(&o->src, &r.src) && selector_equal(&o->dst, &r.dst);

		/* An add collides with the same rule of the same owner; a delete names what it
		 * gives. */
		if (!del && same && o->table == r.table && o->fwmark == r.fwmark &&
		    o->fwmask == r.fwmask && o->protocol == r.protocol)
			return fail(slot, -EEXIST, what, "the rule exists");
		if (del && same && (!r.table || o->table == r.table) &&
		    (!r.fwmask || (o->fwmark == r.fwmark && o->fwmask == r.fwmask)) &&
		    (!r.protocol || o->protocol == r.protocol))
			break;
	}
	if (!del) {
		if (insert_rule(&r) < 0)
			return fake_op_end(slot, kh_fail(-ENOMEM, "%s: out of memory", what));
		announce_rule(KH_EV_RULE_NEW, &r);
		return fake_op_end(slot, 0);
	}
	if (i == R.nrules)
		return fail(slot, -ENOENT, what, "no such rule");
	r = R.rules[i];
	memmove(&R.rules[i], &R.rules[i + 1], (R.nrules - i - 1) * sizeof(r));
	R.nrules--;
	announce_rule(KH_EV_RULE_DEL, &r);
	return fake_op_end(slot, 0);
}

int
kh_rule_add(const struct kh_rule *rule)
{
	return rule_change(rule, false);
}

int
kh_rule_del(const struct kh_rule *rule)
{
	return rule_change(rule, true);
}

int
kh_rule_list(int family, uint32_t table, struct kh_rule **rules, size_t *n)
{
	struct fake_text t = {0};
	struct kh_rule *out = NULL;
	size_t slot, k = 0;
	int err;

	fake_text_add(&t, "rule list%s", family_word(family));
	if (table)
		fake_text_add(&t, " table %u", table);
	err = fake_op_begin(FAKE_OP_RULE_LIST, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return fake_op_end(slot,
		                   kh_fail(-EAFNOSUPPORT, "list rules: address family %d", family));
	if (R.nrules) {
		out = malloc(R.nrules * sizeof(*out));
		if (!out)
			return fake_op_end(slot, kh_fail(-ENOMEM, "list rules: out of memory"));
	}
	for (size_t i = 0; i < R.nrules; i++) {
		if ((family != AF_UNSPEC && R.rules[i].family != family) ||
		    (table && R.rules[i].table != table))
			continue;
		out[k++] = R.rules[i];
	}
	if (!k) {
		free(out);
		out = NULL;
	}
	*rules = out;
	*n = k;
	return fake_op_end(slot, 0);
}

/* The fake answers a batch as the kernel does, entry by entry, each logged as the single
 * call it stands for. */
size_t
kh_route_change_many(const struct kh_route *routes, size_t n, bool del, kh_route_done_cb done,
                     void *arg)
{
	size_t failed = 0;

	for (size_t i = 0; i < n; i++) {
		int err = del ? kh_route_del(&routes[i]) : kh_route_replace(&routes[i]);

		failed += err < 0;
		done(i, err, err < 0 ? kh_last_error() : NULL, arg);
	}
	return failed;
}
