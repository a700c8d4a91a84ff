/* Path MTU discovery for one peer, packetization-layer style (RFC 8899): probes of a chosen
 * size cross the tunnel with DF set, and only an acknowledgement from the peer proves that
 * size crosses. A lost probe proves nothing by itself (loss happens): a lost probe above the
 * base size is followed by a base probe, the check, and a size counts as too big after
 * PMTU_MAX_PROBES of its probes were lost with each check crossing, as loss that has nothing
 * to do with size (a congested link, a loaded peer) takes the checks as well. Sans-I/O: fed
 * time and acknowledgements, it says which probe to send and when to call again; the caller
 * owns sockets and clocks.
 *
 * Also the probe datagrams' wire format (PROTOCOL.md, "Path MTU probes"). */
#ifndef NETD_PMTU_H
#define NETD_PMTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PMTU_MIN 1280 /* what IPv6 inside the tunnel needs: never probed below */
/* Losses of a size, each with its check crossing, before the size counts as too big; also
 * lost checks in a row, and lost base probes in a row, before the path counts as silent. */
#define PMTU_MAX_PROBES 3
#define PMTU_PROBE_WAIT ((int64_t)1000000) /* microseconds an ack is waited for */
/* Acks that come back after their wait double it, up to PMTU_PROBE_WAIT << PMTU_SLOW_MAX;
 * acks back within a quarter of it halve it again. */
#define PMTU_SLOW_MAX 3
#define PMTU_CONFIRM  ((int64_t)30 * 1000000)  /* a found MTU is probed again this often */
#define PMTU_RAISE    ((int64_t)600 * 1000000) /* a smaller MTU: a bigger one tried */
/* No ack at all (a tunnel still coming up, an old peer, an outage): tried again after
 * PMTU_SILENT_FIRST, doubling up to PMTU_UNANSWERED. */
#define PMTU_SILENT_FIRST ((int64_t)2 * 1000000)
#define PMTU_UNANSWERED   ((int64_t)60 * 1000000)

enum pmtu_phase {
	PMTU_BASE,   /* is the peer answering at all: a PMTU_MIN probe */
	PMTU_SEARCH, /* between what crossed and the smallest size that did not */
	PMTU_DONE,   /* found: confirmed every PMTU_CONFIRM */
	PMTU_SILENT, /* nothing acknowledged: an old peer or a dead tunnel; MTU assumed */
};

/* One peer's path. Everything is in bytes of the inner IP packet. */
struct pmtu {
	int64_t next_at;  /* when to probe (or time out the probe in flight) */
	int64_t raise_at; /* PMTU_DONE below max: when a bigger size is tried */
	uint32_t max;     /* the tunnel device's MTU: never probed above */
	uint32_t mtu;     /* what routes should carry now */
	uint32_t id;      /* of the probe in flight */
	uint32_t next_id;
	uint32_t first_id; /* of the first probe of size: acks of ids from here on prove it */
	/* Before the next base probe of PMTU_SILENT, microseconds: up to PMTU_UNANSWERED. */
	uint32_t silent_wait;
	/* Probes over the path's life: one a second at most while searching, one every
	 * PMTU_CONFIRM after; 32 bits count them for a century. */
	uint32_t sent, acked;
	uint16_t lo;    /* the largest size acknowledged in this search; 0: none yet */
	uint16_t hi;    /* the largest size not yet proven too big */
	uint16_t size;  /* the size under test */
	uint8_t phase;  /* enum pmtu_phase */
	uint8_t losses; /* of size, in a row, each with its check crossing */
	bool probed;    /* mtu is proven by an ack (else assumed: max) */
	bool inflight;  /* a probe (of size, or the check) waits for its ack until next_at */
	bool top_tried; /* this search tried hi already: halving from now on */
	uint8_t slow;   /* the probes' wait is PMTU_PROBE_WAIT doubled this many times */
	bool check;     /* a probe of size was lost: the probe due or in flight is the check */
	uint8_t check_losses; /* checks lost in a row */
};
/* One a probed peer: widest fields first, so no holes between them, and small numbers for
 * what is small (80 bytes with an enum, 64-bit counts and wait). */
_Static_assert(sizeof(struct pmtu) <= 64, "a path's MTU state grew");
_Static_assert(PMTU_UNANSWERED <= UINT32_MAX && PMTU_MAX_PROBES <= UINT8_MAX,
               "the silent wait and the losses fit their fields");

/* A probe to send now. */
struct pmtu_probe {
	uint32_t id;
	uint32_t size; /* the whole inner IP packet */
};

/* Starts with max assumed and a base probe due at once. id_seed keeps ids of paths apart. */
void pmtu_init(struct pmtu *p, uint32_t max, uint32_t id_seed, int64_t now);

/* The tunnel's MTU changed: the search starts over below the new max. */
void pmtu_set_max(struct pmtu *p, uint32_t max, int64_t now);

/* Gives the probe to send at now, if one is due (a lost one counted first). Returns true
 * and *out, or false. Counting a loss may end a search: p->mtu and p->probed may change. */
bool pmtu_poll(struct pmtu *p, int64_t now, struct pmtu_probe *out);

/* An acknowledgement of probe id of size bytes. Returns true when it was the probe in
 * flight or an earlier probe of the same size counted lost since that size was chosen (a
 * late ack proves the size too); p->mtu and p->probed may have changed. Stale and unknown
 * ones are ignored. */
bool pmtu_ack(struct pmtu *p, int64_t now, uint32_t id, uint32_t size);

/* When pmtu_poll should be called next. */
int64_t pmtu_deadline(const struct pmtu *p);

const char *pmtu_phase_name(enum pmtu_phase phase);

/* --- the datagrams: a probe, padded to its size, and its acknowledgement --- */

#define PMTU_WIRE_MAGIC  0x4e44504du /* "NDPM" */
#define PMTU_WIRE_HEADER 16
#define PMTU_UDP_IP4     28 /* IPv4 + UDP headers: a probe's payload is size less these */

enum pmtu_wire_type {
	PMTU_WIRE_PROBE = 1,
	PMTU_WIRE_ACK = 2,
};

struct pmtu_wire {
	enum pmtu_wire_type type;
	uint32_t id;
	uint16_t size; /* the probe's whole IP packet, as its sender built it */
	/* The path MTU the datagram's sender found towards its receiver, which the receiver's
	 * frames coming back take; 0: not found (yet). */
	uint16_t return_mtu;
};

/* Writes the header of m into buf (len >= PMTU_WIRE_HEADER); a probe's padding is the
 * caller's (zeros). Returns PMTU_WIRE_HEADER, or -1. */
int pmtu_wire_encode(const struct pmtu_wire *m, uint8_t *buf, size_t len);

/* Parses a datagram of len bytes. A probe must carry exactly size - PMTU_UDP_IP4 bytes and
 * an ack exactly the header. Returns 0 and *out, or -1. */
int pmtu_wire_parse(const uint8_t *buf, size_t len, struct pmtu_wire *out);

#endif
