/* libFuzzer harness: a datagram of GET_DEVICE replies through kernel-helpers' netlink runner
 * and the WireGuard attribute parser. A device that parses must come back the same after being
 * built into SET_DEVICE messages (split as they must be) and parsed again. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>

#include "kernel-helpers/wg.h"
#include "kernel-helpers/wg_internal.h"

#define FAMILY 0x15 /* the seeds' family id */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
parse_cb(const struct nlmsghdr *nlh, void *data)
{
	return wg_genl_parse_msg(nlh, FAMILY, data);
}

static int
reparse_cb(struct nlmsghdr *nlh, void *ctx)
{
	if (nlh->nlmsg_len > WG_GENL_MSG_SIZE || wg_genl_parse_msg(nlh, FAMILY, ctx) < 0)
		abort();
	return 0;
}

/* Shapes the trip cannot keep: removals send no allowed-ips, and a key repeated in a row
 * is merged when a message boundary falls between the two. */
static bool
round_trippable(const struct wg_device *dev)
{
	for (size_t i = 0; i < dev->npeers; i++) {
		if (dev->peers[i].flags & WG_PEER_REMOVE_ME)
			return false;
		if (i &&
		    !memcmp(dev->peers[i].public_key, dev->peers[i - 1].public_key, WG_KEY_SIZE))
			return false;
	}
	return true;
}

static void
check_same(const struct wg_device *a, const struct wg_device *b)
{
	uint32_t mask = ~(uint32_t)WG_DEVICE_HAS_PUBLIC_KEY;

	if ((a->flags & mask) != (b->flags & mask) || a->npeers != b->npeers ||
	    a->listen_port != b->listen_port || a->fwmark != b->fwmark ||
	    memcmp(a->private_key, b->private_key, WG_KEY_SIZE) != 0)
		abort();
	for (size_t i = 0; i < a->npeers; i++) {
		const struct wg_peer *p = &a->peers[i], *q = &b->peers[i];

		if (p->flags != q->flags || memcmp(p->public_key, q->public_key, WG_KEY_SIZE) ||
		    memcmp(&p->endpoint, &q->endpoint, sizeof(p->endpoint)) ||
		    p->nallowedips != q->nallowedips)
			abort();
		for (size_t j = 0; j < p->nallowedips; j++)
			if (!addr_prefix_equal(&p->allowedips[j], &q->allowedips[j]))
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char msgbuf[WG_GENL_MSG_SIZE];
	struct wg_device *dev = wg_device_new("fuzz0"), *back = NULL;
	void *copy = malloc(size ? size : 1); /* aligned, as a receive buffer is */
	struct kh_nl_status st;
	int ret;

	if (!dev || !copy)
		abort();
	memcpy(copy, data, size);
	memset(&st, 0, sizeof(st));
	ret = kh_nl_run(copy, size, 0, 0, parse_cb, dev, &st);
	if (ret > KH_NL_MORE || ret < -4095)
		abort();
	if (ret >= 0 && round_trippable(dev)) {
		back = wg_device_new("fuzz0");
		if (!back ||
		    wg_genl_build_set(dev, FAMILY, msgbuf, sizeof(msgbuf), reparse_cb, back) < 0)
			abort();
		check_same(dev, back);
	}
	wg_free_device(back);
	wg_free_device(dev);
	free(copy);
	return 0;
}
