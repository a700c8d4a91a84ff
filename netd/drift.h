/* WireGuard drift: the peers the reconciler left on the WireGuard device, kept in a form a
 * read of the device is compared with every second. WireGuard sends no events when a peer is
 * removed, changed or added by hand, so this comparison is how netd learns of it. It
 * allocates nothing and costs O(n log n) in the peers: the table is sorted by public key, a
 * device's peers are looked up in it by binary search, and a peer's allowed-ips are compared
 * with the table's by their count and the sum of their keyed hashes. */
#ifndef NETD_DRIFT_H
#define NETD_DRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "kernel-helpers/wg.h"
#include "netd/mesh.h"

enum drift_kind {
	DRIFT_PEER_REMOVED, /* a peer netd left is not on the device */
	DRIFT_PEER_CHANGED, /* its endpoint, allowed-ips, keepalive or preshared key differ */
	DRIFT_PEER_FOREIGN, /* a peer netd did not put there */
	DRIFT_KIND_COUNT
};

/* What differs on a changed peer. */
enum drift_field {
	DRIFT_FIELD_ENDPOINT = 1u << 0,
	DRIFT_FIELD_ALLOWEDIPS = 1u << 1,
	DRIFT_FIELD_KEEPALIVE = 1u << 2,
	DRIFT_FIELD_PRESHARED_KEY = 1u << 3,
};

/* "removed", "changed", "foreign": for logs, events and metric labels. */
const char *drift_kind_name(enum drift_kind kind);

struct drift_peer_finding {
	enum drift_kind kind;
	uint8_t public_key[WG_KEY_SIZE];
	char site[MESH_NAME_SIZE]; /* "" for a foreign peer */
	unsigned fields;           /* DRIFT_PEER_CHANGED: enum drift_field */
};

/* The peers named in a drift: the first few found, enough for a log line and an event. */
#define DRIFT_NAMED 8

/* How a device differs from what the reconciler left. */
struct drift {
	size_t count[DRIFT_KIND_COUNT]; /* peers of each kind */
	struct drift_peer_finding named[DRIFT_NAMED];
	size_t nnamed;
};

/* One peer as the reconciler left it. What a read is compared with but never shown (the
 * endpoint, the allowed-ips) is kept as hashes under the table's key (drift_table_set). */
struct drift_peer {
	uint8_t public_key[WG_KEY_SIZE];
	const char *site; /* in the table's names */
	/* The allowed-ips as a set: how many, and the sum of each one's hash, which no order
	 * changes. */
	uint64_t allowed_sum;
	uint64_t endpoint_hash; /* of its address and port, when has_endpoint */
	uint32_t nallowed;
	uint32_t seen; /* the generation of the last comparison that found it */
	uint16_t keepalive;
	bool has_endpoint;   /* else netd sets none: any is right */
	bool endpoint_roams; /* any endpoint is right once the device has one */
	bool keepalive_open; /* waiting for its paced start: any keepalive is right */
};
/* One a peer left on the device: no holes between the fields, and no copy of its allowed-ips
 * or endpoint (88 bytes and 48 of allowed-ips a site of one prefix and an overlay address). */
_Static_assert(sizeof(struct drift_peer) <= 72, "a drift entry grew");

/* The peers of one device. Zeroed, it is empty and not valid: nothing is compared. */
struct drift_table {
	bool valid;
	char device[IFNAMSIZ];
	struct drift_peer *peers; /* sorted by public key */
	size_t npeers, cap_peers;
	uint8_t hash_key[16]; /* crypto_shorthash's, drawn by each drift_table_set */
	char *names;          /* the peers' site names, one after the other */
	uint32_t generation;
};

/* Makes the table desired's WireGuard peers, as a run that applied them all leaves the
 * device. 0, or -ENOMEM with the table left not valid. The table's arrays are reused; the
 * names are copied into a block of their own, as desired is replaced before the next run. */
int drift_table_set(struct drift_table *t, const struct mesh_desired *d);
/* The table's peer of key, if there, waits for the start of its handshake: it was written
 * with its keepalive as it was (off for a new peer), and turning it on is the start. */
void drift_table_open_keepalive(struct drift_table *t, const uint8_t key[WG_KEY_SIZE]);

/* Not valid until the next drift_table_set: a run is under way or left the peers unknown. */
void drift_table_invalidate(struct drift_table *t);

void drift_table_free(struct drift_table *t);

/* Compares a read of the device with the table. True when they differ, with how in *out;
 * false when they agree, when the table is not valid or dev is another device. Allocates
 * nothing. */
bool drift_compare(struct drift_table *t, const struct wg_device *dev, struct drift *out);

/* The drift in words, e.g. "peer of site beta removed, peer of site gamma changed
 * (allowed-ips), foreign peer AbC...= added", with "and N more" for the peers not named.
 * Returns buf. */
const char *drift_format(const struct drift *d, char *buf, size_t len);

/* The device's pace. A read and what is done with it (the comparison, gossip's feed, the
 * paths) cost netd and a userspace WireGuard answering it time in the number of peers:
 * 10 ms at 1,000 peers from wireguard-go, 100 ms and more at 10,000. The next read comes
 * DRIFT_READ_PERIOD after one, or DRIFT_READ_COST_MULT times what it cost if that is
 * longer, so the reads take at most 1/DRIFT_READ_COST_MULT of the time; and never later
 * than DRIFT_READ_LATEST, the slow resync's period, whose run repairs drift anyway. */
#define DRIFT_READ_PERIOD    (1 * MESH_USEC)
#define DRIFT_READ_COST_MULT 20
#define DRIFT_READ_LATEST    (30 * MESH_USEC)

/* Microseconds from a read of the device to the next, for a read that took cost (wall
 * time, microseconds, from its start to the end of what the site did with it). */
int64_t drift_read_delay(int64_t cost);

/* The costs of the last DRIFT_PACE_READS reads (zero before there were as many). The pace
 * follows the cheapest: a read slowed by the machine's load (a userspace WireGuard not
 * scheduled for a while) does not stretch the time to the next, a device that is slow to
 * read every time does. Zeroed to start. */
#define DRIFT_PACE_READS 4
struct drift_pace {
	int64_t cost[DRIFT_PACE_READS];
	unsigned next;
};

/* Notes a read that cost cost; returns the microseconds to the next read. */
int64_t drift_pace_note(struct drift_pace *p, int64_t cost);

/* "endpoint,allowed-ips": the fields of a changed peer, comma-separated. Returns buf. */
const char *drift_fields_format(unsigned fields, char *buf, size_t len);

#endif
