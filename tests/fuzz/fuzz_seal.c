/* libFuzzer harness: arbitrary bytes as a received gossip datagram. The header parser
 * must stay within bounds, and nothing forged may ever open; a genuine datagram from a
 * confirmed session is opened once and then refused as a replay. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netd/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct seal *a, *b;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t priv_a[32], priv_b[32], out[WIRE_DATAGRAM_MAX], dgram[WIRE_DATAGRAM_MAX];
	uint8_t nonce[WIRE_NONCE_LEN];
	char name[WIRE_NAME_MAX + 1];
	struct seal_opened op;
	size_t olen, dlen;

	if (a == NULL) {
		memset(priv_a, 1, 32);
		memset(priv_b, 2, 32);
		a = seal_new("a", priv_a, 1);
		b = seal_new("b", priv_b, 2);
		if (a == NULL || b == NULL ||
		    seal_wrap(a, 2, seal_public_key(b), (const uint8_t *)"x", 1, dgram,
		              sizeof(dgram), &dlen) != 0 ||
		    seal_unwrap(b, 1, seal_public_key(a), dgram, dlen, out, sizeof(out), &olen,
		                &op) != 0 ||
		    seal_challenge(b, 1, seal_public_key(a), nonce) != 0 ||
		    !seal_confirm(b, 1, &op, nonce))
			abort();
	}
	if (seal_sender(data, size, name) == 0 && !wire_name_valid(name))
		abort();
	if (seal_unwrap(b, 1, seal_public_key(a), data, size, out, sizeof(out), &olen, &op) == 0)
		abort(); /* the fuzzer cannot know a's key */
	if (size <= SEAL_PAYLOAD_MAX) {
		if (seal_wrap(a, 2, seal_public_key(b), data, size, dgram, sizeof(dgram), &dlen) !=
		    0)
			abort();
		if (seal_unwrap(b, 1, seal_public_key(a), dgram, dlen, out, sizeof(out), &olen,
		                &op) != 0 ||
		    !op.fresh || olen != size || memcmp(out, data, size) != 0)
			abort();
		if (seal_unwrap(b, 1, seal_public_key(a), dgram, dlen, out, sizeof(out), &olen,
		                &op) != SEAL_ERR_REPLAYED)
			abort();
	}
	return 0;
}
