/* A read of the WireGuard device as the reconciler compares it against the desired peers:
 * per peer its key, endpoint, keepalive, allowed-ips, whether it has a preshared key, its last
 * handshake and bytes, 76 bytes and 18 an allowed-ip, where the read's struct wg_peer is 160
 * and each peer's allowed-ips a block of their own (64 bytes for one or two). At 10,000 peers
 * with two allowed-ips each that is 1.1 MB against 2.3, held by the reconciler from the moment
 * the read is taken until the peers are planned: a userspace implementation's read finished
 * in the background waits through the computation of the view and the mesh and the plan of
 * the routes, where the gateway peaks. */
#ifndef NETD_WGREAD_H
#define NETD_WGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel-helpers/wg.h"
#include "netd/addr.h"

struct wgread_peer {
	uint8_t public_key[WG_KEY_SIZE];
	/* When has_endpoint: compared by wgread_endpoint_equal. */
	uint8_t endpoint_addr[16]; /* the first 4 for IPv4 */
	uint16_t endpoint_port;    /* host order */
	uint8_t endpoint_family;
	bool has_endpoint : 1;
	bool has_preshared_key : 1; /* a key other than zero */
	bool handshaked : 1;        /* ever: WireGuard's time is not zero */
	uint16_t keepalive;         /* seconds, 0 = off */
	uint32_t handshake_sec;     /* the Unix second of the last one (clamped) */
	uint32_t nallowed;          /* its allowed-ips: wgread.allowed[allowed..allowed+nallowed) */
	uint32_t allowed;
	/* Held at UINT32_MAX past it: a run asks only whether they are none, or a handshake's
	 * few hundred. */
	uint32_t rx_bytes, tx_bytes;
};
_Static_assert(sizeof(struct wgread_peer) <= 76, "a compared peer grew");

struct wgread {
	char name[IFNAMSIZ];
	uint32_t flags; /* enum wg_device_flags, as read */
	uint8_t public_key[WG_KEY_SIZE];
	uint16_t listen_port;
	uint32_t fwmark;
	int64_t read_at_ms;        /* wg_device.read_at_ms */
	struct wgread_peer *peers; /* in the order of their public keys */
	size_t npeers;
	struct addr_prefix_packed *allowed; /* each peer's sorted by addr_prefix_cmp */
	size_t nallowed;
};

/* Takes dev over and frees it: its peers' array is made over in place into the read's and
 * shrunk, so that the two are never held whole together. NULL for no memory (dev freed too). */
struct wgread *wgread_take(struct wg_device *dev);
/* A device that holds nothing yet, as a new one; NULL for no memory. */
struct wgread *wgread_empty(const char *name);
void wgread_free(struct wgread *read);

/* The peer of key, or NULL. */
const struct wgread_peer *wgread_find(const struct wgread *read, const uint8_t key[WG_KEY_SIZE]);
/* Whether the peer's endpoint is ep (its address and port), as wg_endpoint_equal says. */
bool wgread_endpoint_equal(const struct wgread_peer *peer, const union wg_endpoint *ep);
/* Whether the peer's allowed-ips are exactly the n of want, sorted by addr_prefix_cmp. */
bool wgread_allowed_equal(const struct wgread *read, const struct wgread_peer *peer,
                          const struct addr_prefix *want, size_t n);

#endif
