/* libFuzzer harness: the state file as netd reads it at start. Whatever decodes must encode
 * back to exactly the input; a first-version file, to the input without its restart epoch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netd/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st;
	uint8_t *out;
	size_t len;
	char err[256];

	if (state_decode(data, size, &st, err, sizeof(err)) < 0)
		return 0;
	if (state_encode(&st, &out, &len) < 0)
		abort();
	if (data[7] == 1) { /* version 1: the 4 bytes after the magic are gone */
		if (len != size - 4 || memcmp(out, data, 7) != 0 ||
		    memcmp(out + 8, data + 12, size - 12) != 0)
			abort();
	} else if (len != size || memcmp(out, data, size) != 0) {
		abort();
	}
	free(out);
	state_clear(&st);
	return 0;
}
