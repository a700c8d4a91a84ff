/* libFuzzer harness: gossip payloads as they come out of an opened datagram. Whatever
 * decodes must re-encode to exactly the input (encodings are canonical), and the hello
 * greeting, its cookie reply and a credential's presentation and answer likewise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netd/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wire_msg msg;
static struct wire_present present;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[2 * WIRE_DATAGRAM_MAX + 64];
	struct wire_hello hello;
	struct wire_cookie cookie;
	struct wire_reader r;
	struct wire_writer w;
	int rc, n = 0;

	if (wire_hello_decode(data, size, &hello) == 0) {
		int len = wire_hello_encode(&hello, out, sizeof(out));

		if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0)
			abort();
	}
	if (wire_cookie_decode(data, size, &cookie) == 0) {
		int len = wire_cookie_encode(&cookie, out, sizeof(out));

		if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0)
			abort();
	}
	if (wire_present_decode(data, size, &present) == 0) {
		int len = wire_present_encode(&present, out, sizeof(out));

		if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0)
			abort();
	}
	if (size > 2 * WIRE_DATAGRAM_MAX || wire_reader_init(&r, data, size) < 0)
		return 0;
	if (wire_begin(&w, out, sizeof(out)) < 0)
		abort();
	while ((rc = wire_next(&r, &msg)) == 1) {
		if (wire_put_msg(&w, &msg) < 0)
			abort(); /* decoded but cannot be encoded */
		n++;
	}
	if (rc < 0)
		return 0;
	if (n == 0 || w.len != size || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
