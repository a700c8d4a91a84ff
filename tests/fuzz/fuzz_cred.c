/* libFuzzer harness: federation documents as they arrive from gossip or a file, binary or
 * armoured. Whatever decodes must re-encode to exactly the input (encodings are canonical),
 * be left alone by cred_normalize, armour and dearmour back to itself, and go through
 * verification against a fixed authority set without a crash; a site credential's validity,
 * as gossip reads it again from the bytes it keeps, is the decoded one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netd/cred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1750000000

static struct cred_authorities set;

/* The authorities of the seeds under tests/fuzz/seeds/cred/: 2 of 3. */
static void
setup(void)
{
	uint8_t seed[32], secret[64];

	strcpy(set.federation, "lab");
	for (size_t i = 0; i < 3; i++) {
		memset(seed, (int)(0xa0 + i), sizeof(seed));
		if (cred_authority_from_seed(seed, set.keys[i], secret) < 0)
			abort();
	}
	set.nkeys = 3;
	set.threshold = 2;
}

static void
same_bytes(const uint8_t *data, size_t size, const uint8_t *out, int len)
{
	char text[CRED_ARMOR_MAX], err[128];
	uint8_t back[CRED_ENCODED_MAX];
	int tlen;

	if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0)
		abort();
	tlen = cred_armor(out, (size_t)len, text, sizeof(text));
	if (tlen < 0 ||
	    cred_dearmor(text, (size_t)tlen, back, sizeof(back), err, sizeof(err)) != len ||
	    memcmp(back, out, (size_t)len) != 0)
		abort();
}

static void
try_site(const uint8_t *data, size_t size)
{
	static struct cred c, normal;
	uint8_t out[CRED_ENCODED_MAX];
	struct cred_verdict v;
	int64_t not_after;
	uint64_t serial;
	char err[128];

	if (cred_decode(data, size, &c, err, sizeof(err)) < 0) {
		cred_site_validity(data, size, &serial, &not_after);
		return;
	}
	if (cred_site_validity(data, size, &serial, &not_after) != 0 || serial != c.serial ||
	    not_after != c.not_after)
		abort();
	same_bytes(data, size, out, cred_encode(&c, out, sizeof(out)));
	normal = c;
	if (cred_normalize(&normal) < 0)
		abort();
	same_bytes(data, size, out, cred_encode(&normal, out, sizeof(out)));
	if (cred_verify(&c, &set, NOW, &v) != v.status || strlen(v.why) >= sizeof(v.why))
		abort();
	cred_attribute(&c, "jurisdiction");
}

static void
try_revocation(const uint8_t *data, size_t size)
{
	static struct cred_revocation r;
	uint8_t out[CRED_ENCODED_MAX];
	struct cred_verdict v;
	char err[128];

	if (cred_revocation_decode(data, size, &r, err, sizeof(err)) < 0)
		return;
	same_bytes(data, size, out, cred_revocation_encode(&r, out, sizeof(out)));
	if (cred_revocation_verify(&r, &set, &v) != v.status || cred_revocation_id(&r) == 0)
		abort();
}

static void
try_authorities(const uint8_t *data, size_t size)
{
	static struct cred_authorities a;
	uint8_t out[CRED_ENCODED_MAX];
	struct cred_verdict v;
	char err[128];

	if (cred_authorities_decode(data, size, &a, err, sizeof(err)) < 0)
		return;
	same_bytes(data, size, out, cred_authorities_encode(&a, out, sizeof(out)));
	if (cred_authorities_verify(&a, &set, &v) != v.status)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t bin[CRED_ENCODED_MAX];
	char err[128];
	int len;

	if (set.nkeys == 0)
		setup();
	try_site(data, size);
	try_revocation(data, size);
	try_authorities(data, size);
	len = cred_dearmor((const char *)data, size, bin, sizeof(bin), err, sizeof(err));
	if (len < 0)
		return 0;
	if (cred_kind_of(bin, (size_t)len) < 0)
		abort(); /* dearmour checks the kind against the header */
	try_site(bin, (size_t)len);
	try_revocation(bin, (size_t)len);
	try_authorities(bin, (size_t)len);
	return 0;
}
