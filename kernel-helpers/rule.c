/* Policy rules that send traffic to netd's own routing table: add, delete and list them; the
 * decoder of rule messages. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
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

static const struct kh_attr_policy rule_policy[FRA_MAX + 1] = {
        [FRA_DST] = {KH_ATTR_ADDR, 0, 0},     [FRA_SRC] = {KH_ATTR_ADDR, 0, 0},
        [FRA_PRIORITY] = {KH_ATTR_U32, 0, 0}, [FRA_TABLE] = {KH_ATTR_U32, 0, 0},
        [FRA_FWMARK] = {KH_ATTR_U32, 0, 0},   [FRA_FWMASK] = {KH_ATTR_U32, 0, 0},
        [FRA_PROTOCOL] = {KH_ATTR_U8, 0, 0},
};

/* A selector of len bits from the attribute a; none (all zero) when len is 0, as a rule to
 * be installed says "any". */
static bool
decode_selector(const struct nlattr *a, int family, uint8_t len, struct addr_prefix *p)
{
	memset(p, 0, sizeof(*p));
	if (len > addr_len(family) * 8 || (a && !kh_attr_addr(a, family, &p->addr)))
		return false;
	if (len == 0)
		memset(p, 0, sizeof(*p));
	else
		p->addr.family = (uint8_t)family;
	p->len = len;
	return true;
}

/* Policy rules: netd's own lookup rule can be deleted by hand like a route. */
enum kh_decoded
kh_rule_decode(const struct nlmsghdr *h, struct kh_event *ev)
{
	const struct nlattr *tb[FRA_MAX + 1];
	struct kh_rule *r = &ev->u.rule;
	struct fib_rule_hdr frh;
	const void *attrs;
	size_t alen;

	memset(ev, 0, sizeof(*ev));
	if (kh_nl_split(h, &frh, sizeof(frh), &attrs, &alen) < 0 ||
	    kh_attr_parse(attrs, alen, rule_policy, FRA_MAX + 1, tb, "rule") < 0)
		return KH_MALFORMED;
	if (frh.family != AF_INET && frh.family != AF_INET6)
		return KH_IGNORED;
	if (!decode_selector(tb[FRA_DST], frh.family, frh.dst_len, &r->dst) ||
	    !decode_selector(tb[FRA_SRC], frh.family, frh.src_len, &r->src))
		return KH_MALFORMED;
	ev->type = h->nlmsg_type == RTM_DELRULE ? KH_EV_RULE_DEL : KH_EV_RULE_NEW;
	r->family = frh.family;
	r->table = tb[FRA_TABLE] ? kh_attr_u32(tb[FRA_TABLE]) : frh.table;
	if (tb[FRA_PRIORITY])
		r->priority = kh_attr_u32(tb[FRA_PRIORITY]);
	if (tb[FRA_FWMARK])
		r->fwmark = kh_attr_u32(tb[FRA_FWMARK]);
	if (tb[FRA_FWMASK])
		r->fwmask = kh_attr_u32(tb[FRA_FWMASK]);
	if (tb[FRA_PROTOCOL])
		r->protocol = kh_attr_u8(tb[FRA_PROTOCOL]);
	return KH_DECODED;
}

struct rule_filter {
	int family;
	uint32_t table;
};

static bool
keep_rule(const struct kh_event *ev, const void *filter)
{
	const struct rule_filter *f = filter;
	const struct kh_rule *r = &ev->u.rule;

	if (ev->type != KH_EV_RULE_NEW || (f->family != AF_UNSPEC && r->family != f->family))
		return false;
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
	struct kh_nl_list l = {
	        .decode = kh_rule_decode,
	        .keep = keep_rule,
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
	err = kh_nl_list(msg, &l, (void **)rules, n, "list rules");
	nlmsg_free(msg);
	return err;
}
