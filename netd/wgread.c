/* A read of the WireGuard device as the reconciler compares it. */
#include "netd/wgread.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

_Static_assert(sizeof(struct wgread_peer) <= sizeof(struct wg_peer) &&
                       _Alignof(struct wgread_peer) <= _Alignof(struct wg_peer),
               "a compared peer is made in the place of the read's");

static int
prefix_qcmp(const void *a, const void *b)
{
	return addr_prefix_cmp(a, b);
}

/* All but where its allowed-ips go in the read's array: pool_allowed's. */
static void
peer_take(struct wgread_peer *to, const struct wg_peer *p)
{
	static const uint8_t zero_key[WG_KEY_SIZE];

	memset(to, 0, sizeof(*to));
	memcpy(to->public_key, p->public_key, WG_KEY_SIZE);
	if (p->flags & WG_PEER_HAS_ENDPOINT) {
		to->has_endpoint = true;
		to->endpoint_family = (uint8_t)p->endpoint.sa.sa_family;
		if (p->endpoint.sa.sa_family == AF_INET) {
			memcpy(to->endpoint_addr, &p->endpoint.sin.sin_addr, 4);
			to->endpoint_port = ntohs(p->endpoint.sin.sin_port);
		} else if (p->endpoint.sa.sa_family == AF_INET6) {
			memcpy(to->endpoint_addr, &p->endpoint.sin6.sin6_addr, 16);
			to->endpoint_port = ntohs(p->endpoint.sin6.sin6_port);
		}
	}
	to->keepalive = p->persistent_keepalive;
	to->has_preshared_key = (p->flags & WG_PEER_HAS_PRESHARED_KEY) &&
	                        memcmp(p->preshared_key, zero_key, WG_KEY_SIZE) != 0;
	to->handshaked = p->last_handshake.tv_sec != 0 || p->last_handshake.tv_nsec != 0;
	if (p->last_handshake.tv_sec > 0)
		to->handshake_sec = p->last_handshake.tv_sec > (time_t)UINT32_MAX
		                            ? UINT32_MAX
		                            : (uint32_t)p->last_handshake.tv_sec;
	to->rx_bytes = p->rx_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)p->rx_bytes;
	to->tx_bytes = p->tx_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)p->tx_bytes;
	to->nallowed = (uint32_t)p->nallowedips;
}

struct wgread *
wgread_empty(const char *name)
{
	struct wgread *read = calloc(1, sizeof(*read));

	if (read)
		snprintf(read->name, sizeof(read->name), "%s", name);
	return read;
}

static int
peer_qcmp(const void *a, const void *b)
{
	return memcmp(((const struct wgread_peer *)a)->public_key,
	              ((const struct wgread_peer *)b)->public_key, WG_KEY_SIZE);
}

/* The peers' own allowed-ips blocks into one array, each peer's sorted; the blocks are freed
 * whatever happens. -ENOMEM. */
static int
pool_allowed(struct wgread *read, struct addr_prefix **lists, size_t total)
{
	int err = 0;

	if (total && !(read->allowed = malloc(total * sizeof(*read->allowed))))
		err = -ENOMEM;
	for (size_t i = 0; i < read->npeers; i++) {
		struct wgread_peer *p = &read->peers[i];

		if (err == 0 && p->nallowed) {
			qsort(lists[i], p->nallowed, sizeof(*lists[i]), prefix_qcmp);
			for (size_t j = 0; j < p->nallowed; j++)
				read->allowed[read->nallowed + j] = addr_prefix_pack(&lists[i][j]);
			p->allowed = (uint32_t)read->nallowed;
			read->nallowed += p->nallowed;
		}
		free(lists[i]);
	}
	return err;
}

/* The steps are ordered so that nothing is held beside the whole read but one pointer a peer:
 * the allowed-ips are pooled and the peers sorted once the read's array is down to the
 * compared peers (sorting 160-byte peers takes 16 bytes a peer more). */
struct wgread *
wgread_take(struct wg_device *dev)
{
	struct wgread *read = wgread_empty(dev->name);
	struct addr_prefix **lists = NULL;
	size_t n = dev->npeers, total = 0;

	for (size_t i = 0; i < n; i++)
		total += dev->peers[i].nallowedips;
	/* Counted in 32 bits: more would be 100 GB of allowed-ips, which no read holds. */
	if (!read || total > UINT32_MAX || (n && !(lists = malloc(n * sizeof(*lists))))) {
		free(lists);
		wgread_free(read);
		wg_free_device(dev);
		return NULL;
	}
	read->flags = dev->flags;
	memcpy(read->public_key, dev->public_key, WG_KEY_SIZE);
	read->listen_port = dev->listen_port;
	read->fwmark = dev->fwmark;
	read->read_at_ms = dev->read_at_ms;
	/* Peer i's entry ends before peer i + 1 starts (76 (i + 1) <= 160 (i + 1)): once peer i
	 * is copied out, nothing still to be read is written over. */
	for (size_t i = 0; i < n; i++) {
		struct wg_peer p = dev->peers[i];

		lists[i] = p.allowedips;
		peer_take((struct wgread_peer *)dev->peers + i, &p);
		sodium_memzero(&p, sizeof(p));
	}
	read->peers = (struct wgread_peer *)dev->peers;
	read->npeers = n;
	dev->peers = NULL;
	dev->npeers = dev->peers_cap = 0;
	wg_free_device(dev);
	/* The array was made for the read's peers: what it keeps is a little over half. */
	if (!n) {
		free(read->peers);
		read->peers = NULL;
	} else {
		struct wgread_peer *fit = realloc(read->peers, n * sizeof(*fit));

		if (fit)
			read->peers = fit;
	}
	if (pool_allowed(read, lists, total) < 0) {
		free(lists);
		wgread_free(read);
		return NULL;
	}
	free(lists);
	if (n > 1)
		qsort(read->peers, n, sizeof(*read->peers), peer_qcmp);
	return read;
}

void
wgread_free(struct wgread *read)
{
	if (!read)
		return;
	free(read->peers);
	free(read->allowed);
	free(read);
}

static int
peer_cmp(const void *key, const void *peer)
{
	return memcmp(key, ((const struct wgread_peer *)peer)->public_key, WG_KEY_SIZE);
}

const struct wgread_peer *
wgread_find(const struct wgread *read, const uint8_t key[WG_KEY_SIZE])
{
	if (!read->npeers)
		return NULL;
	return bsearch(key, read->peers, read->npeers, sizeof(*read->peers), peer_cmp);
}

bool
wgread_allowed_equal(const struct wgread *read, const struct wgread_peer *peer,
                     const struct addr_prefix *want, size_t n)
{
	const struct addr_prefix_packed *have;

	if (peer->nallowed != n)
		return false;
	have = &read->allowed[peer->allowed];
	for (size_t i = 0; i < n; i++) {
		struct addr_prefix p = addr_prefix_unpack(&have[i]);

		if (!addr_prefix_equal(&p, &want[i]))
			return false;
	}
	return true;
}

bool
wgread_endpoint_equal(const struct wgread_peer *peer, const union wg_endpoint *ep)
{
	if (peer->endpoint_family != ep->sa.sa_family)
		return false;
	if (ep->sa.sa_family == AF_INET)
		return peer->endpoint_port == ntohs(ep->sin.sin_port) &&
		       memcmp(peer->endpoint_addr, &ep->sin.sin_addr, 4) == 0;
	if (ep->sa.sa_family == AF_INET6)
		return peer->endpoint_port == ntohs(ep->sin6.sin6_port) &&
		       memcmp(peer->endpoint_addr, &ep->sin6.sin6_addr, 16) == 0;
	return true;
}
