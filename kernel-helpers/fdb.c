/* Bridge FDB entries on VXLAN devices (which MAC lives behind which remote VTEP, and the
 * all-zero entries that replicate flooded frames to every VTEP) and permanent IP neighbours;
 * the decoder of their messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/route/neighbour.h>

#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtmsg.h"
#include "kernel-helpers/rtnl.h"

static int
op_flags(enum kh_neigh_op op)
{
	return op == KH_NEIGH_APPEND ? NLM_F_CREATE | NLM_F_APPEND : NLM_F_CREATE | NLM_F_REPLACE;
}

/* Builds the message for a neighbour object already filled in; consumes nothing. */
static int
build(struct rtnl_neigh *n, enum kh_neigh_op op, struct nl_msg **out)
{
	int err;

	if (op == KH_NEIGH_DELETE)
		err = rtnl_neigh_build_delete_request(n, 0, out);
	else
		err = rtnl_neigh_build_add_request(n, op_flags(op), out);
	return kh_nl_errno(err);
}

int
kh_msg_fdb(const struct kh_fdb *entry, enum kh_neigh_op op, struct kh_fdb_msg *out)
{
	size_t cap = sizeof(out->bytes);
	struct nlmsghdr *h;
	struct ndmsg *ndm;

	if (!entry->ifindex || entry->dst.family == AF_UNSPEC)
		return -EINVAL;
	h = mnl_nlmsg_put_header(out->bytes);
	h->nlmsg_type = op == KH_NEIGH_DELETE ? RTM_DELNEIGH : RTM_NEWNEIGH;
	h->nlmsg_flags = NLM_F_REQUEST | (op == KH_NEIGH_DELETE ? 0 : op_flags(op));
	ndm = mnl_nlmsg_put_extra_header(h, sizeof(*ndm));
	ndm->ndm_family = AF_BRIDGE;
	ndm->ndm_ifindex = (int)entry->ifindex;
	/* The device's own table (self), never learned, never aged. */
	ndm->ndm_flags = NTF_SELF;
	ndm->ndm_state = NUD_PERMANENT;
	return mnl_attr_put_check(h, cap, NDA_LLADDR, KH_MAC_LEN, entry->mac) &&
	                       mnl_attr_put_check(h, cap, NDA_DST, addr_len(entry->dst.family),
	                                          entry->dst.u.bytes)
	               ? 0
	               : -EMSGSIZE;
}

int
kh_msg_neigh(const struct kh_neigh *neigh, enum kh_neigh_op op, struct nl_msg **out)
{
	struct rtnl_neigh *n = rtnl_neigh_alloc();
	struct nl_addr *mac = NULL, *ip = NULL;
	int err = -ENOMEM;

	if (!n)
		goto out;
	err = -EINVAL;
	if (!neigh->ifindex || op == KH_NEIGH_APPEND)
		goto out;
	err = kh_nl_addr_new(&neigh->ip, addr_len(neigh->ip.family) * 8, &ip);
	if (err < 0)
		goto out;
	rtnl_neigh_set_family(n, neigh->ip.family);
	rtnl_neigh_set_ifindex(n, (int)neigh->ifindex);
	err = kh_nl_errno(rtnl_neigh_set_dst(n, ip));
	if (err < 0)
		goto out;
	if (op != KH_NEIGH_DELETE) {
		err = kh_nl_mac_new(neigh->mac, &mac);
		if (err < 0)
			goto out;
		rtnl_neigh_set_lladdr(n, mac);
		rtnl_neigh_set_state(n, NUD_PERMANENT);
	}
	err = build(n, op, out);
out:
	nl_addr_put(ip);
	nl_addr_put(mac);
	rtnl_neigh_put(n);
	return err;
}

static const struct kh_attr_policy neigh_policy[NDA_MAX + 1] = {
        [NDA_DST] = {KH_ATTR_ADDR, 0, 0},
        [NDA_LLADDR] = {KH_ATTR_BINARY, 0, 32},
        [NDA_MASTER] = {KH_ATTR_U32, 0, 0},
};

static enum kh_decoded
decode_fdb(const struct nlattr *const *tb, const struct ndmsg *ndm, bool add, struct kh_event *ev)
{
	struct kh_fdb *e = &ev->u.fdb;

	if (!tb[NDA_LLADDR] || kh_attr_len(tb[NDA_LLADDR]) != KH_MAC_LEN)
		return KH_MALFORMED;
	ev->type = add ? KH_EV_FDB_NEW : KH_EV_FDB_DEL;
	e->ifindex = (uint32_t)ndm->ndm_ifindex;
	memcpy(e->mac, kh_attr_data(tb[NDA_LLADDR]), KH_MAC_LEN);
	/* A VTEP's family is told by its length. */
	if (tb[NDA_DST] &&
	    !kh_attr_addr(tb[NDA_DST], kh_attr_len(tb[NDA_DST]) == 4 ? AF_INET : AF_INET6, &e->dst))
		return KH_MALFORMED;
	if (tb[NDA_MASTER])
		e->master = kh_attr_u32(tb[NDA_MASTER]);
	e->state = ndm->ndm_state;
	e->flags = ndm->ndm_flags;
	return KH_DECODED;
}

enum kh_decoded
kh_neigh_decode(const struct nlmsghdr *h, struct kh_event *ev)
{
	const struct nlattr *tb[NDA_MAX + 1];
	struct kh_neigh *n = &ev->u.neigh;
	struct ndmsg ndm;
	const void *attrs;
	size_t alen;
	bool add = h->nlmsg_type != RTM_DELNEIGH;

	memset(ev, 0, sizeof(*ev));
	if (kh_nl_split(h, &ndm, sizeof(ndm), &attrs, &alen) < 0 ||
	    kh_attr_parse(attrs, alen, neigh_policy, NDA_MAX + 1, tb, "neighbour") < 0 ||
	    ndm.ndm_ifindex <= 0)
		return KH_MALFORMED;
	if (ndm.ndm_family == AF_BRIDGE)
		return decode_fdb(tb, &ndm, add, ev);
	if (ndm.ndm_family != AF_INET && ndm.ndm_family != AF_INET6)
		return KH_IGNORED;
	ev->type = add ? KH_EV_NEIGH_NEW : KH_EV_NEIGH_DEL;
	n->ifindex = (uint32_t)ndm.ndm_ifindex;
	if (!tb[NDA_DST] || !kh_attr_addr(tb[NDA_DST], ndm.ndm_family, &n->ip))
		return KH_MALFORMED;
	/* Incomplete entries have no link-layer address, other link types other lengths. */
	if (tb[NDA_LLADDR] && kh_attr_len(tb[NDA_LLADDR]) == KH_MAC_LEN)
		memcpy(n->mac, kh_attr_data(tb[NDA_LLADDR]), KH_MAC_LEN);
	n->state = ndm.ndm_state;
	return KH_DECODED;
}

static bool
keep_fdb(const struct kh_event *ev, const void *filter)
{
	const uint32_t *ifindex = filter;

	return ev->type == KH_EV_FDB_NEW && ev->u.fdb.ifindex == *ifindex;
}

struct neigh_filter {
	uint32_t ifindex;
	int family;
};

static bool
keep_neigh(const struct kh_event *ev, const void *filter)
{
	const struct neigh_filter *f = filter;
	const struct kh_neigh *n = &ev->u.neigh;

	if (ev->type != KH_EV_NEIGH_NEW || (f->ifindex && n->ifindex != f->ifindex))
		return false;
	return f->family == AF_UNSPEC || n->ip.family == f->family;
}

static int
fdb_change(const struct kh_fdb *entry, enum kh_neigh_op op)
{
	static const char *const what[] = {"append", "replace", "delete"};
	char mac[KH_MAC_STRLEN], dst[ADDR_STRLEN];
	struct kh_fdb_msg msg;
	struct kh_nl_call call = {.bus = NETLINK_ROUTE, .req = &msg.h};
	int err;

	kh_mac_format(entry->mac, mac);
	addr_format(&entry->dst, dst);
	err = kh_msg_fdb(entry, op, &msg);
	if (err < 0)
		return kh_fail(err, "%s FDB entry %s dst %s on link %u: %s", what[op], mac, dst,
		               entry->ifindex,
		               err == -EINVAL ? "no link or no VTEP address" : strerror(-err));
	return kh_nl_talk(&call, "%s FDB entry %s dst %s on link %u", what[op], mac, dst,
	                  entry->ifindex);
}

int
kh_fdb_append(const struct kh_fdb *entry)
{
	return fdb_change(entry, KH_NEIGH_APPEND);
}

/* A batch of appends and where its outcomes go. */
struct fdb_batch {
	const struct kh_fdb *entries;
	const size_t *index; /* of each request sent, its entry in entries */
	kh_fdb_done_cb done;
	void *arg;
};

/* The text fdb_change would give the entry's failure, handed to the caller's done. */
static void
fdb_batch_done(size_t req, int err, const char *why, void *arg)
{
	const struct fdb_batch *b = arg;
	size_t i = b->index[req];
	const struct kh_fdb *e = &b->entries[i];
	char mac[KH_MAC_STRLEN], dst[ADDR_STRLEN];

	if (err == 0) {
		b->done(i, 0, NULL, b->arg);
		return;
	}
	kh_mac_format(e->mac, mac);
	addr_format(&e->dst, dst);
	if (why[0])
		kh_fail(err, "append FDB entry %s dst %s on link %u: %s (kernel: %s)", mac, dst,
		        e->ifindex, strerror(-err), why);
	else
		kh_fail(err, "append FDB entry %s dst %s on link %u: %s", mac, dst, e->ifindex,
		        strerror(-err));
	b->done(i, err, kh_last_error(), b->arg);
}

size_t
kh_fdb_append_many(const struct kh_fdb *entries, size_t n, kh_fdb_done_cb done, void *arg)
{
	/* One allocation for every request of the batch, not a libnl message each. */
	struct kh_fdb_msg *msgs = calloc(n ? n : 1, sizeof(*msgs));
	struct nlmsghdr **reqs = calloc(n ? n : 1, sizeof(*reqs));
	/* Entries refused before sending are told of first; the rest go in one batch. */
	size_t *sent = calloc(n ? n : 1, sizeof(*sent));
	size_t nsent = 0, failed = 0;
	struct fdb_batch b = {entries, NULL, done, arg};

	if (!msgs || !reqs || !sent) {
		for (size_t i = 0; i < n; i++)
			done(i, kh_fail(-ENOMEM, "append FDB entries: out of memory"),
			     kh_last_error(), arg);
		failed = n;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char mac[KH_MAC_STRLEN], dst[ADDR_STRLEN];
		int err = kh_msg_fdb(&entries[i], KH_NEIGH_APPEND, &msgs[nsent]);

		if (err == 0) {
			reqs[nsent] = &msgs[nsent].h;
			sent[nsent++] = i;
			continue;
		}
		kh_mac_format(entries[i].mac, mac);
		addr_format(&entries[i].dst, dst);
		kh_fail(err, "append FDB entry %s dst %s on link %u: %s", mac, dst,
		        entries[i].ifindex,
		        err == -EINVAL ? "no link or no VTEP address" : strerror(-err));
		done(i, err, kh_last_error(), arg);
		failed++;
	}
	b.index = sent;
	failed += kh_nl_batch(reqs, nsent, fdb_batch_done, &b);
out:
	free(sent);
	free(reqs);
	free(msgs);
	return failed;
}

int
kh_fdb_replace(const struct kh_fdb *entry)
{
	return fdb_change(entry, KH_NEIGH_REPLACE);
}

int
kh_fdb_del(const struct kh_fdb *entry)
{
	return fdb_change(entry, KH_NEIGH_DELETE);
}

/* Dumps the neighbour table of one family; the kernel's FDB is its AF_BRIDGE part. */
static int
dump_neigh(int family, const struct kh_nl_list *l, void **items, size_t *n, const char *what)
{
	struct ndmsg ndm = {.ndm_family = (uint8_t)family};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETNEIGH, NLM_F_DUMP);
	int err;

	if (!msg || nlmsg_append(msg, &ndm, sizeof(ndm), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return kh_fail(-ENOMEM, "%s: out of memory", what);
	}
	err = kh_nl_list(msg, l, items, n, "%s", what);
	nlmsg_free(msg);
	return err;
}

int
kh_fdb_list(uint32_t ifindex, struct kh_fdb **entries, size_t *n)
{
	struct kh_nl_list l = {
	        .decode = kh_neigh_decode,
	        .keep = keep_fdb,
	        .filter = &ifindex,
	        .item_size = sizeof(struct kh_fdb),
	};
	char what[48];

	snprintf(what, sizeof(what), "list FDB of link %u", ifindex);
	return dump_neigh(AF_BRIDGE, &l, (void **)entries, n, what);
}

static int
neigh_change(const struct kh_neigh *neigh, enum kh_neigh_op op)
{
	char ip[ADDR_STRLEN];
	const char *what = op == KH_NEIGH_DELETE ? "delete" : "replace";
	struct nl_msg *msg = NULL;
	int err;

	addr_format(&neigh->ip, ip);
	err = kh_msg_neigh(neigh, op, &msg);
	if (err < 0)
		return kh_fail(err, "%s neighbour %s on link %u: %s", what, ip, neigh->ifindex,
		               err == -EINVAL ? "no link or no IP address" : strerror(-err));
	err = kh_nl_request(msg, "%s neighbour %s on link %u", what, ip, neigh->ifindex);
	nlmsg_free(msg);
	return err;
}

int
kh_neigh_replace(const struct kh_neigh *neigh)
{
	return neigh_change(neigh, KH_NEIGH_REPLACE);
}

int
kh_neigh_del(const struct kh_neigh *neigh)
{
	return neigh_change(neigh, KH_NEIGH_DELETE);
}

int
kh_neigh_list(uint32_t ifindex, int family, struct kh_neigh **neighs, size_t *n)
{
	struct neigh_filter f = {ifindex, family};
	struct kh_nl_list l = {
	        .decode = kh_neigh_decode,
	        .keep = keep_neigh,
	        .filter = &f,
	        .item_size = sizeof(struct kh_neigh),
	};

	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return kh_fail(-EAFNOSUPPORT, "list neighbours: address family %d", family);
	return dump_neigh(family, &l, (void **)neighs, n, "list neighbours");
}
