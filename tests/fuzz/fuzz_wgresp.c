/* libFuzzer harness: arbitrary bytes at a netd-load site's WireGuard responder, which holds a
 * session (index 0x04030201) so that transport messages reach the tag check. Without netd's
 * key nothing may be answered nor a keepalive armed, and each datagram is counted exactly once:
 * answered, authenticated, a cookie taken or dropped. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "tests/load/wgresp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wgresp_site site;
static struct wgresp_initiator netd;
static uint8_t priv[WGRESP_KEY_LEN], pub[WGRESP_KEY_LEN];
static int64_t now_ms;

static void
setup(void)
{
	uint8_t netd_priv[WGRESP_KEY_LEN], netd_pub[WGRESP_KEY_LEN];

	if (sodium_init() < 0)
		abort();
	memset(priv, 0x11, sizeof(priv));
	crypto_scalarmult_base(pub, priv);
	memset(netd_priv, 0x22, sizeof(netd_priv));
	crypto_scalarmult_base(netd_pub, netd_priv);
	wgresp_initiator_init(&netd, netd_pub);
	site.s[0].valid = true;
	site.s[0].local = 0x04030201;
	site.s[0].remote = 7;
	memset(site.s[0].recv, 0x33, WGRESP_KEY_LEN);
	memset(site.s[0].send, 0x44, WGRESP_KEY_LEN);
}

static uint64_t
total(const struct wgresp_counters *c)
{
	return c->initiations + c->transport + c->cookies + c->dropped;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wgresp_counters c;
	uint8_t out[WGRESP_REPLY_MAX], *copy, *plain;
	uint64_t before;
	size_t n;

	if (priv[0] == 0)
		setup();
	/* The responder reads only what it is given: a copy of exactly size bytes. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	before = total(&c);
	now_ms += 997;
	n = wgresp_receive(&site, priv, pub, &netd, now_ms, copy, size, out, &c);
	/* Nothing unauthenticated opens either. */
	if ((plain = malloc(size ? size : 1)) == NULL)
		abort();
	n += wgresp_open(&site, copy, size, plain);
	free(plain);
	free(copy);
	/* Nothing authenticated came: no keepalive is ever due. */
	n += wgresp_poll(&site, now_ms + WGRESP_KEEPALIVE_MS, out, &c);
	if (n != 0 || total(&c) != before + 1 || c.initiations != 0 || c.transport != 0 ||
	    c.keepalives != 0)
		abort();
	return 0;
}
