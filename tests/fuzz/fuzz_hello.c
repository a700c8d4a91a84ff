/* libFuzzer harness: arbitrary bytes from an outsider, as a datagram at a gossip instance
 * that is both a seed (for hellos and presentations: it is in a federation) and a joiner
 * (waiting for a cookie reply). Without a
 * trusted key or a cookie the outsider cannot know, nothing it sends may be answered with
 * more bytes than it sent, nor with anything sealed; only the joiner's own seed may get a
 * hello (if the fuzzer finds the nonce), once per hello of the joiner's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netd/gossip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gossip *g;
static gossip_time now;
static size_t in_len;
static const struct addr_endpoint seed = {{AF_INET, {.bytes = {192, 0, 2, 9}}}, 7946};

static void
on_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)arg;
	if (len > 0 && buf[0] == SEAL_KIND)
		abort();
	if (len > in_len && !(addr_endpoint_equal(to, &seed) && buf[0] == WIRE_HELLO_KIND))
		abort();
}

static int64_t
fuzz_unix_now(void *arg)
{
	(void)arg;
	return 1790000000;
}

static void
setup(void)
{
	static struct cred_authorities authorities = {
	        .federation = "fuzz", .nkeys = 1, .threshold = 1};
	uint8_t aseed[32], secret[64];
	static struct wire_desc desc;
	static const char *const names[] = {"a", "b", "site-c"};
	struct gossip_trust *trust = gossip_trust_new();
	struct gossip_config cfg = {0};
	struct addr_prefix any = {{AF_INET, {.bytes = {10}}}, 8};
	uint8_t priv[32], key[32];
	uint32_t vni = 1;
	struct gossip_grant grant = {&any, 1, NULL, 0, &vni, 1};
	char err[128];

	memset(priv, 7, sizeof(priv));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memset(key, (int)(0x30 + i), sizeof(key));
		if (trust == NULL || gossip_trust_add(trust, names[i], key, &grant) != 0)
			abort();
	}
	strcpy(desc.name, "a");
	desc.gossip = (struct addr_endpoint){{AF_INET, {.bytes = {192, 0, 2, 1}}}, 7946};
	desc.nprefixes = 1;
	desc.prefixes[0] = (struct addr_prefix){{AF_INET, {.bytes = {10, 1}}}, 16};
	desc.nvnis = 1;
	desc.vnis[0] = vni;
	cfg.name = "a";
	cfg.private_key = priv;
	cfg.session = 1;
	cfg.incarnation = 1;
	cfg.desc = &desc;
	gossip_profile_lan(&cfg.profile);
	cfg.trust = trust; /* kept for the life of the process, as g is */
	cfg.seeds = &seed;
	cfg.nseeds = 1;
	cfg.rng_seed = 1;
	cfg.cb.send = on_send;
	memset(aseed, 0x5a, sizeof(aseed));
	if (cred_authority_from_seed(aseed, authorities.keys[0], secret) != 0)
		abort();
	cfg.authorities = &authorities;
	cfg.unix_now = fuzz_unix_now;
	g = gossip_new(&cfg, err, sizeof(err));
	if (g == NULL)
		abort();
	now = 1000 * GOSSIP_SEC;
	gossip_start(g, now);
	in_len = WIRE_DATAGRAM_MAX;
	gossip_tick(g, now); /* the hello to the seed: a cookie reply is awaited */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_endpoint from = {{AF_INET, {.bytes = {203, 0, 113, 1}}}, 4000};

	if (g == NULL)
		setup();
	if (size > WIRE_DATAGRAM_MAX)
		return 0;
	/* Time moves on, so that cookie slots and budgets turn over now and then. */
	now += 997;
	if (size > 0)
		from.addr.u.bytes[3] = data[size - 1];
	in_len = size;
	gossip_receive(g, now, &from, data, size);
	return 0;
}
