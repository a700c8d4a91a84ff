/* Policy rules that send traffic to netd's own routing table: add, delete and list them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/fib_rules.h>
#include <netlink/route/rule.h>

#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtmsg.h"
#include "kernel-helpers/rtnl.h"

/* A selector prefix is "any" when its length is 0. */
static int
set_selector(struct rtnl_rule *r, const struct addr_prefix *p,
             int (*set)(struct rtnl_rule *, struct nl_addr *))
{
	struct nl_addr *a = NULL;
	int err;

	if (p->len == 0)
		return 0;
	err = kh_nl_addr_new(&p->addr, p->len, &a);
	if (err < 0)
		return err;
	err = kh_nl_errno(set(r, a));
	nl_addr_put(a);
	return err;
}

int
kh_msg_rule(const struct kh_rule *rule, bool del, struct nl_msg **out)
{
	struct rtnl_rule *r = rtnl_rule_alloc();
	int err = -ENOMEM;

	if (!r)
		goto out;
	err = -EINVAL;
	if (kh_rule_problem(rule))
		goto out;
	rtnl_rule_set_family(r, rule->family);
	rtnl_rule_set_prio(r, rule->priority);
	rtnl_rule_set_table(r, rule->table);
	rtnl_rule_set_action(r, FR_ACT_TO_TBL);
	err = set_selector(r, &rule->src, rtnl_rule_set_src);
	if (err < 0)
		goto out;
	err = set_selector(r, &rule->dst, rtnl_rule_set_dst);
	if (err < 0)
		goto out;
	if (rule->fwmask) {
		rtnl_rule_set_mark(r, rule->fwmark);
		rtnl_rule_set_mask(r, rule->fwmask);
	}
	if (rule->protocol) {
		err = kh_nl_errno(rtnl_rule_set_protocol(r, rule->protocol));
		if (err < 0)
			goto out;
	}
	if (del)
		err = rtnl_rule_build_delete_request(r, 0, out);
	else
		err = rtnl_rule_build_add_request(r, NLM_F_CREATE | NLM_F_EXCL, out);
	err = kh_nl_errno(err);
out:
	rtnl_rule_put(r);
	return err;
}

static void
get_selector(struct nl_addr *a, struct addr_prefix *p)
{
	memset(p, 0, sizeof(*p));
	if (!a || nl_addr_get_prefixlen(a) == 0)
		return;
	kh_nl_addr_get(a, &p->addr);
	p->len = (uint8_t)nl_addr_get_prefixlen(a);
}

int
kh_rule_from_nl(struct nl_object *obj, struct kh_rule *out)
{
	struct rtnl_rule *r = (struct rtnl_rule *)obj;
	struct kh_rule k;
	uint8_t proto;

	if (strcmp(nl_object_get_type(obj), "route/rule") != 0)
		return -EINVAL;
	memset(&k, 0, sizeof(k));
	k.family = (uint8_t)rtnl_rule_get_family(r);
	k.priority = rtnl_rule_get_prio(r);
	k.table = rtnl_rule_get_table(r);
	get_selector(rtnl_rule_get_src(r), &k.src);
	get_selector(rtnl_rule_get_dst(r), &k.dst);
	k.fwmark = rtnl_rule_get_mark(r);
	k.fwmask = rtnl_rule_get_mask(r);
	if (rtnl_rule_get_protocol(r, &proto) == 0)
		k.protocol = proto;
	*out = k;
	return 0;
}

struct rule_filter {
	int family;
	uint32_t table;
};

static int
convert_rule(struct nl_object *obj, void *item, const void *filter)
{
	const struct rule_filter *f = filter;
	struct kh_rule *r = item;

	if (kh_rule_from_nl(obj, r) < 0)
		return 0;
	if (r->family != AF_INET && r->family != AF_INET6)
		return 0;
	if (f->family != AF_UNSPEC && r->family != f->family)
		return 0;
	return !f->table || r->table == f->table;
}

static int
rule_change(const struct kh_rule *rule, bool del)
{
	const char *what = del ? "delete" : "add";
	struct nl_msg *msg = NULL;
	int err;

	const char *problem = kh_rule_problem(rule);

	if (problem)
		return kh_fail(-EINVAL, "%s rule priority %u table %u: %s", what, rule->priority,
		               rule->table, problem);
	err = kh_msg_rule(rule, del, &msg);
	if (err < 0)
		return kh_fail(err, "%s rule priority %u table %u: %s", what, rule->priority,
		               rule->table, strerror(-err));
	err = kh_nl_request(msg, "%s rule priority %u table %u", what, rule->priority, rule->table);
	nlmsg_free(msg);
	return err;
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
	struct fib_rule_hdr frh = {.family = (uint8_t)family};
	struct rule_filter f = {family, table};
	struct kh_nl_dump d = {
	        .convert = convert_rule,
	        .filter = &f,
	        .item_size = sizeof(struct kh_rule),
	};
	struct nl_msg *msg;
	int err;

	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return kh_fail(-EAFNOSUPPORT, "list rules: address family %d", family);
	msg = nlmsg_alloc_simple(RTM_GETRULE, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &frh, sizeof(frh), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return kh_fail(-ENOMEM, "list rules: out of memory");
	}
	err = kh_nl_dump(msg, &d, (void **)rules, n, "list rules");
	nlmsg_free(msg);
	return err;
}
