/* The WireGuard device's figures kept between reads. */
#include "netd/seen.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static void
endpoint_take(struct addr_endpoint *ep, const union wg_endpoint *from)
{
	if (from->sa.sa_family == AF_INET) {
		ep->addr.family = AF_INET;
		memcpy(ep->addr.u.bytes, &from->sin.sin_addr, 4);
		ep->port = ntohs(from->sin.sin_port);
	} else if (from->sa.sa_family == AF_INET6) {
		ep->addr.family = AF_INET6;
		memcpy(ep->addr.u.bytes, &from->sin6.sin6_addr, 16);
		ep->port = ntohs(from->sin6.sin6_port);
	}
}

struct seen_device *
seen_device_new(const struct wg_device *dev)
{
	struct seen_device *s = malloc(sizeof(*s) + dev->npeers * sizeof(s->peers[0]));

	if (s == NULL)
		return NULL;
	memcpy(s->name, dev->name, sizeof(s->name));
	s->npeers = dev->npeers;
	for (size_t i = 0; i < dev->npeers; i++) {
		const struct wg_peer *p = &dev->peers[i];
		struct seen_peer *q = &s->peers[i];

		memset(q, 0, sizeof(*q));
		memcpy(q->public_key, p->public_key, WG_KEY_SIZE);
		if (p->flags & WG_PEER_HAS_ENDPOINT)
			endpoint_take(&q->endpoint, &p->endpoint);
		/* WireGuard reports "never" as a zero second; a reply's stray nanoseconds with
		 * it are no handshake at the epoch. */
		if (p->last_handshake.tv_sec > 0)
			q->last_handshake_us = (int64_t)p->last_handshake.tv_sec * 1000000 +
			                       p->last_handshake.tv_nsec / 1000;
		q->rx_bytes = p->rx_bytes;
		q->tx_bytes = p->tx_bytes;
	}
	return s;
}

static int
peer_cmp(const void *key, const void *peer)
{
	return memcmp(key, ((const struct seen_peer *)peer)->public_key, WG_KEY_SIZE);
}

const struct seen_peer *
seen_peer_find(const struct seen_device *dev, const uint8_t key[WG_KEY_SIZE])
{
	if (dev == NULL || dev->npeers == 0)
		return NULL;
	return bsearch(key, dev->peers, dev->npeers, sizeof(dev->peers[0]), peer_cmp);
}
