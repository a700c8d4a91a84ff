/* libFuzzer harness: the userspace WireGuard reply parser, fed any bytes as the reply to a
 * get and to a set, whole and in pieces (as the worker reads it): both ways must agree. A
 * reply that parses must survive the trip through the set-request builder and back, and what
 * a run keeps of it (netd/wgread.c) must hold every peer and allowed-ip. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kernel-helpers/wg.h"
#include "kernel-helpers/wg_internal.h"
#include "netd/wgread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_same(const struct wg_device *a, const struct wg_device *b)
{
	if (a->npeers != b->npeers || a->listen_port != b->listen_port || a->fwmark != b->fwmark ||
	    memcmp(a->private_key, b->private_key, WG_KEY_SIZE) != 0)
		abort();
	for (size_t i = 0; i < a->npeers; i++) {
		const struct wg_peer *p = &a->peers[i], *q = &b->peers[i];

		if (memcmp(p->public_key, q->public_key, WG_KEY_SIZE) != 0 ||
		    p->nallowedips != q->nallowedips ||
		    p->persistent_keepalive != q->persistent_keepalive ||
		    (p->flags & WG_PEER_HAS_ENDPOINT) != (q->flags & WG_PEER_HAS_ENDPOINT))
			abort();
		for (size_t j = 0; j < p->nallowedips; j++)
			if (p->allowedips[j].addr.family != q->allowedips[j].addr.family ||
			    p->allowedips[j].len != q->allowedips[j].len)
				abort();
	}
}

/* dev made over into what a run compares: each of was's peers is found by its key, with as
 * many allowed-ips, sorted; nothing is lost or added. */
static void
check_kept(struct wg_device *dev, const struct wg_device *was)
{
	struct wgread *read = wgread_take(dev);
	size_t total = 0;

	if (!read || read->npeers != was->npeers)
		abort();
	for (size_t i = 0; i < was->npeers; i++) {
		const struct wgread_peer *p = wgread_find(read, was->peers[i].public_key);

		if (!p || memcmp(p->public_key, was->peers[i].public_key, WG_KEY_SIZE) != 0)
			abort();
		total += was->peers[i].nallowedips;
	}
	if (read->nallowed != total)
		abort();
	for (size_t i = 0; i < read->npeers; i++) {
		const struct wgread_peer *p = &read->peers[i];

		if (i && memcmp(read->peers[i - 1].public_key, p->public_key, WG_KEY_SIZE) > 0)
			abort();
		if (p->allowed > read->nallowed || p->nallowed > read->nallowed - p->allowed)
			abort();
		for (size_t j = 1; j < p->nallowed; j++) {
			struct addr_prefix before =
			        addr_prefix_unpack(&read->allowed[p->allowed + j - 1]);
			struct addr_prefix at = addr_prefix_unpack(&read->allowed[p->allowed + j]);

			if (addr_prefix_cmp(&before, &at) > 0)
				abort();
		}
	}
	wgread_free(read);
}

/* The reader fed pieces of a size the input's first byte picks, each offered with what the
 * one before left, from a buffer just large enough for that. */
static int
parse_in_pieces(const uint8_t *data, size_t size, struct wg_device **dev)
{
	size_t piece = size ? data[0] % 97 + 1 : 1, have = 0, off = 0, used;
	char buf[WG_UAPI_MAX_LINE + 97];
	struct wg_uapi_reader rd;
	int ret;

	if (wg_uapi_reader_start(&rd, "fuzz0", true, 0) < 0)
		abort();
	do {
		size_t n = size - off < piece ? size - off : piece;

		memcpy(buf + have, data + off, n);
		have += n;
		off += n;
		ret = wg_uapi_reader_feed(&rd, buf, have, off == size, &used);
		if (ret < 0) {
			wg_uapi_reader_drop(&rd);
			return ret;
		}
		/* What is left is a line yet to end: shorter than the limit. */
		if (have - used >= WG_UAPI_MAX_LINE)
			abort();
		memmove(buf, buf + used, have - used);
		have -= used;
	} while (off < size);
	return wg_uapi_reader_finish(&rd, dev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_device *dev = NULL, *back = NULL;
	char *text = NULL, *reply = NULL;
	size_t len;
	int ret;

	ret = wg_uapi_parse_set((const char *)data, size, "fuzz0");
	if (ret > 0 || ret < -4095)
		abort();
	ret = wg_uapi_parse_get((const char *)data, size, "fuzz0", &dev);
	if (parse_in_pieces(data, size, &back) != ret)
		abort();
	if (ret < 0) {
		if (dev || back || ret < -4095)
			abort();
		return 0;
	}
	check_same(dev, back);
	wg_free_device(back);
	back = NULL;
	/* "set=1\n" + lines + "\n" becomes lines + "errno=0\n\n". */
	if (wg_uapi_build_set(dev, &text, &len) < 0 || len < 7)
		abort();
	reply = malloc(len + 16);
	if (!reply)
		abort();
	memcpy(reply, text + 6, len - 7);
	memcpy(reply + len - 7, "errno=0\n\n", 9);
	if (wg_uapi_parse_get(reply, len + 2, "fuzz0", &back) < 0)
		abort();
	check_same(dev, back);
	check_kept(dev, back);
	wg_free_device(back);
	sodium_free(text);
	free(reply);
	return 0;
}
