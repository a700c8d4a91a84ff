/* netd's nftables tables, built with libnftnl and sent as one nfnetlink batch: the table is
 * added (so that deleting it cannot fail), deleted, and made again with its chain and rules,
 * which the kernel applies all or nothing. */
#include "kernel-helpers/nft.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#define NFT_CHAIN       "mss"
#define NFT_PRIO_MANGLE (-150) /* before filtering, as nft's "priority mangle" */
#define NFT_TCPOPT_MSS  2      /* TCP option kind: maximum segment size */
#define NFT_TCP_SYN     0x02
#define NFT_BUF         (64 * 1024)
#define NFT_REPLY_WAIT  1 /* seconds for the kernel's acknowledgements */

struct batch {
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
	size_t nmsgs; /* messages asking for an acknowledgement */
	bool oom;
};

static struct nlmsghdr *
batch_hdr(struct batch *bt, uint16_t type, uint16_t family, uint16_t flags)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, family,
	                                             flags | NLM_F_ACK, bt->seq++);

	bt->nmsgs++;
	return nlh;
}

static void
batch_next(struct batch *bt)
{
	/* The buffer holds a few hundred messages; netd's tables are a handful. */
	if (!mnl_nlmsg_batch_next(bt->b))
		bt->oom = true;
}

static void
add_table(struct batch *bt, uint16_t family, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t) {
		bt->oom = true;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, KH_NFT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nlh = batch_hdr(bt, type, family, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_next(bt);
}

static void
add_chain(struct batch *bt, uint16_t family)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c) {
		bt->oom = true;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, KH_NFT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, NFT_CHAIN);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	/* NF_BR_FORWARD is NF_INET_FORWARD's number too. */
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_FORWARD);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NFT_PRIO_MANGLE);
	nlh = batch_hdr(bt, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	batch_next(bt);
}

/* Appends a new expression of that name to r; NULL: out of memory. */
static struct nftnl_expr *
expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

static bool
expr_cmp(struct nftnl_rule *r, enum nft_cmp_ops op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr(r, "cmp");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return true;
}

static bool
expr_meta(struct nftnl_rule *r, enum nft_meta_keys key)
{
	struct nftnl_expr *e = expr(r, "meta");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return true;
}

/* oifname OIF meta l4proto tcp tcp flags & syn != 0 */
static bool
match_syn_out(struct nftnl_rule *r, const char *oifname)
{
	char name[IFNAMSIZ] = {0};
	uint8_t tcp = IPPROTO_TCP, syn = NFT_TCP_SYN, zero = 0;
	struct nftnl_expr *e;

	strncpy(name, oifname, sizeof(name) - 1);
	if (!expr_meta(r, NFT_META_OIFNAME) || !expr_cmp(r, NFT_CMP_EQ, name, sizeof(name)) ||
	    !expr_meta(r, NFT_META_L4PROTO) || !expr_cmp(r, NFT_CMP_EQ, &tcp, 1))
		return false;
	if (!(e = expr(r, "payload")))
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, 13); /* the flags */
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 1);
	if (!(e = expr(r, "bitwise")))
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 1);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &syn, 1);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 1);
	return expr_cmp(r, NFT_CMP_NEQ, &zero, 1);
}

/* tcp option maxseg size set (rt mtu | MSS): the kernel only ever lowers it. */
static bool
set_mss(struct nftnl_rule *r, uint16_t mss)
{
	struct nftnl_expr *e;

	if (mss) {
		uint16_t be = htons(mss);

		if (!(e = expr(r, "immediate")))
			return false;
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &be, sizeof(be));
	} else {
		if (!(e = expr(r, "rt")))
			return false;
		nftnl_expr_set_u32(e, NFTNL_EXPR_RT_KEY, NFT_RT_TCPMSS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_RT_DREG, NFT_REG_1);
		if (!(e = expr(r, "byteorder")))
			return false;
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 2);
	}
	if (!(e = expr(r, "exthdr")))
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_SREG, NFT_REG_1);
	nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, NFT_TCPOPT_MSS);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, 2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, 2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
	return true;
}

static void
add_rule(struct batch *bt, uint16_t family, const struct kh_nft_clamp *c)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r) {
		bt->oom = true;
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, KH_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, NFT_CHAIN);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	if (!match_syn_out(r, c->oifname) || !set_mss(r, c->mss)) {
		bt->oom = true;
		nftnl_rule_free(r);
		return;
	}
	nlh = batch_hdr(bt, NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_next(bt);
}

/* The table of family replaced by one clamping as clamps say; none: no table. */
static void
add_family(struct batch *bt, uint16_t family, const struct kh_nft_clamp *clamps, size_t n)
{
	add_table(bt, family, NFT_MSG_NEWTABLE);
	add_table(bt, family, NFT_MSG_DELTABLE);
	if (!n)
		return;
	add_table(bt, family, NFT_MSG_NEWTABLE);
	add_chain(bt, family);
	for (size_t i = 0; i < n; i++)
		add_rule(bt, family, &clamps[i]);
}

/* Reads the acknowledgements of every message; the first error wins. */
static int
await_acks(struct mnl_socket *nl, char *buf, size_t nmsgs)
{
	int err = 0;

	while (nmsgs) {
		ssize_t len = mnl_socket_recvfrom(nl, buf, NFT_BUF);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)len;

		if (len < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				continue;
			if (e->error && !err)
				err = e->error;
			if (nmsgs)
				nmsgs--;
		}
	}
	return err;
}

static int
send_batch(const struct kh_nft_clamp *routed, size_t nrouted, const struct kh_nft_clamp *bridged,
           size_t nbridged)
{
	struct timeval wait = {.tv_sec = NFT_REPLY_WAIT};
	struct batch bt = {.seq = (uint32_t)time(NULL)};
	struct mnl_socket *nl = NULL;
	/* Zeroed: the messages' alignment padding goes out as it is. */
	char *buf = calloc(1, NFT_BUF), *replies = malloc(NFT_BUF);
	int err = -ENOMEM;

	if (!buf || !replies || !(bt.b = mnl_nlmsg_batch_start(buf, NFT_BUF)))
		goto out;
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt.b), bt.seq++);
	batch_next(&bt);
	add_family(&bt, NFPROTO_INET, routed, nrouted);
	add_family(&bt, NFPROTO_BRIDGE, bridged, nbridged);
	nftnl_batch_end(mnl_nlmsg_batch_current(bt.b), bt.seq++);
	batch_next(&bt);
	if (bt.oom)
		goto out;
	/* Not to be inherited by a userspace WireGuard started meanwhile from another thread. */
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)) < 0) {
		err = -errno;
		goto out;
	}
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(bt.b), mnl_nlmsg_batch_size(bt.b)) < 0) {
		err = -errno;
		goto out;
	}
	err = await_acks(nl, replies, bt.nmsgs);
out:
	if (nl)
		mnl_socket_close(nl);
	if (bt.b)
		mnl_nlmsg_batch_stop(bt.b);
	free(buf);
	free(replies);
	return err;
}

int
kh_nft_clamp_set(const struct kh_nft_clamp *routed, size_t nrouted,
                 const struct kh_nft_clamp *bridged, size_t nbridged)
{
	return send_batch(routed, nrouted, bridged, nbridged);
}

int
kh_nft_clamp_remove(void)
{
	return send_batch(NULL, 0, NULL, 0);
}
