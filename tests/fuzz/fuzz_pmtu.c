/* libFuzzer harness: path MTU probe datagrams as they arrive through the tunnel. Whatever
 * parses must re-encode to the same header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netd/pmtu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[PMTU_WIRE_HEADER];
	struct pmtu_wire m;

	if (pmtu_wire_parse(data, size, &m) < 0)
		return 0;
	if (pmtu_wire_encode(&m, out, sizeof(out)) != PMTU_WIRE_HEADER ||
	    memcmp(out, data, sizeof(out)) != 0)
		abort();
	return 0;
}
