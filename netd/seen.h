/* The WireGuard device as last read, kept between reads for the replies, the metrics and the
 * paths: per peer only what they show (endpoint, last handshake, bytes), 80 bytes where the
 * read's struct wg_peer is 160 with its preshared key and allowed-ips. */
#ifndef NETD_SEEN_H
#define NETD_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel-helpers/wg.h"
#include "netd/addr.h"

struct seen_peer {
	uint8_t public_key[WG_KEY_SIZE];
	/* Family AF_UNSPEC: none. An address and port, not the socket address of the read (28
	 * bytes and a flag): what the replies and the paths show of it. */
	struct addr_endpoint endpoint;
	int64_t last_handshake_us; /* since the Unix epoch; 0: never */
	uint64_t rx_bytes, tx_bytes;
};
_Static_assert(sizeof(struct seen_peer) <= 80, "a kept peer grew");

struct seen_device {
	char name[IFNAMSIZ];
	size_t npeers;
	struct seen_peer peers[]; /* in the order of their public keys */
};

/* The figures of dev's peers, dev sorted by wg_device_sort_peers; NULL for no memory. */
struct seen_device *seen_device_new(const struct wg_device *dev);
/* The peer of key, or NULL (also for dev NULL). */
const struct seen_peer *seen_peer_find(const struct seen_device *dev,
                                       const uint8_t key[WG_KEY_SIZE]);

#endif
