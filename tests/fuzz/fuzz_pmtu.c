/* libFuzzer harness: path MTU probe datagrams as they arrive through the tunnel, and the
 * search they drive. Whatever parses must re-encode to the same header. The same bytes are
 * then a script for one path's search: time passing, acks of the probes sent, acks a peer
 * makes up (any id, any size) and tunnel MTU changes; whatever the peer answers, the MTU the
 * routes get stays between the base size and the tunnel's, and so does every probe. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netd/pmtu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t
take32(const uint8_t **data, size_t *size)
{
	uint32_t v = 0;

	for (int i = 0; i < 4 && *size > 0; i++, (*data)++, (*size)--)
		v = v << 8 | **data;
	return v;
}

static void
check(const struct pmtu *p)
{
	uint32_t base = p->max < PMTU_MIN ? p->max : PMTU_MIN;

	if (p->mtu < base || p->mtu > p->max || p->size < base || p->size > p->max ||
	    p->phase > PMTU_SILENT || p->losses > PMTU_MAX_PROBES ||
	    p->check_losses > PMTU_MAX_PROBES || p->slow > PMTU_SLOW_MAX)
		abort();
}

static void
run_search(const uint8_t *data, size_t size)
{
	struct pmtu p;
	struct pmtu_probe last = {0};
	int64_t now = 0;

	pmtu_init(&p, 1420, 1, now);
	while (size > 0) {
		uint8_t op = *data++;
		struct pmtu_probe probe;

		size--;
		switch (op % 4) {
		case 0: /* time passes, up to 2.55 s, and the search is polled */
			now += (int64_t)(op >> 2) * 40000;
			if (pmtu_poll(&p, now, &probe)) {
				if (probe.size < PMTU_MIN || probe.size > p.max)
					abort();
				last = probe;
			}
			break;
		case 1: /* the last probe's ack */
			pmtu_ack(&p, now, last.id, last.size);
			break;
		case 2: /* an ack the peer makes up */
			pmtu_ack(&p, now, take32(&data, &size), take32(&data, &size) & 0xffff);
			break;
		case 3: /* the tunnel's MTU changes */
			pmtu_set_max(&p, PMTU_MIN + (take32(&data, &size) % 2000), now);
			break;
		}
		check(&p);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[PMTU_WIRE_HEADER];
	struct pmtu_wire m;

	run_search(data, size);
	if (pmtu_wire_parse(data, size, &m) < 0)
		return 0;
	if (pmtu_wire_encode(&m, out, sizeof(out)) != PMTU_WIRE_HEADER ||
	    memcmp(out, data, sizeof(out)) != 0)
		abort();
	return 0;
}
