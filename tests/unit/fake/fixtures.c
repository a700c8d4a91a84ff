/* The fixtures of the fake-kernel tests: keys, this site's key file, configs and views. */
#include "tests/unit/fake/fixtures.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define MAX_ITEMS 8

char fixture_keyfile[128];
char fixture_private_key[KEY_BASE64_SIZE];
static char keydir[64];

static uint8_t
fixture_public_byte(const uint8_t priv[KEY_LEN])
{
	uint8_t pub[KEY_LEN];

	key_public_from_private(pub, priv);
	return pub[0];
}

int
fixture_keyfile_create(const char *tag)
{
	uint8_t priv[KEY_LEN];
	char text[KEY_BASE64_SIZE + 1];
	int fd;
	bool written;

	if (key_init() < 0)
		return -1;
	snprintf(keydir, sizeof(keydir), "/tmp/netd-test-%s.XXXXXX", tag);
	if (!mkdtemp(keydir))
		return -1;
	snprintf(fixture_keyfile, sizeof(fixture_keyfile), "%s/private.key", keydir);
	/* The end with the lower public key starts a handshake again (mesh_peer.retries_handshake):
	 * the fixtures' peers have keys of one repeated small byte, and the tests expect this site
	 * to be the higher end, whatever key it drew. */
	do
		key_generate_private(priv);
	while (fixture_public_byte(priv) != 0xff);
	key_to_base64(fixture_private_key, priv);
	snprintf(text, sizeof(text), "%s\n", fixture_private_key);
	fd = open(fixture_keyfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	written = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (close(fd) < 0 || !written)
		return -1;
	return 0;
}

int
fixture_keyfile_remove(void)
{
	unlink(fixture_keyfile);
	return rmdir(keydir);
}

void
fixture_pubkey(int n, uint8_t key[KEY_LEN])
{
	memset(key, n, KEY_LEN);
}

const char *
fixture_pubkey_text(int n)
{
	static char text[4][KEY_BASE64_SIZE];
	static int next;
	uint8_t key[KEY_LEN];
	char *t = text[next++ % 4];

	fixture_pubkey(n, key);
	key_to_base64(t, key);
	return t;
}

struct conf *
fixture_conf(const char *text)
{
	struct conf_errors errs = {0};
	struct conf *conf = conf_load_string(text, "test.conf", &errs);

	for (size_t i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	conf_errors_free(&errs);
	assert_non_null(conf);
	return conf;
}

/* The view as mesh_compute takes it, and the arrays its sites borrow. */
struct view {
	struct mesh_site *sites;
	size_t n;
	struct addr_prefix (*prefixes)[MAX_ITEMS];
	uint32_t (*vnis)[MAX_ITEMS];
	uint8_t (*next_keys)[KEY_LEN];
	uint8_t (*keys)[KEY_LEN];
	struct addr_prefix (*overlays)[MESH_MAX_OVERLAY];
};

static size_t
split(const char *list, char items[][64], size_t max)
{
	size_t n = 0;
	const char *p = list;

	while (p && *p && n < max) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		assert_true(len < 64);
		memcpy(items[n], p, len);
		items[n++][len] = '\0';
		p = comma ? comma + 1 : NULL;
	}
	return n;
}

static void
site_make(struct view *v, size_t i, const struct fixture_site *sp)
{
	struct mesh_site *s = &v->sites[i];
	char items[MAX_ITEMS][64], addr[64];
	unsigned port;
	size_t k;

	s->name = sp->name;
	fixture_pubkey(sp->key, v->keys[i]);
	s->public_key = v->keys[i];
	if (sp->endpoint) {
		assert_int_equal(sscanf(sp->endpoint, "%63s %u", addr, &port), 2);
		assert_int_equal(addr_parse(addr, &s->endpoint), 0);
		s->endpoint_port = (uint16_t)port;
	}
	k = split(sp->overlay, items, MESH_MAX_OVERLAY);
	for (size_t j = 0; j < k; j++)
		assert_int_equal(addr_prefix_parse(items[j], &v->overlays[i][j]), 0);
	s->overlay = v->overlays[i];
	s->noverlay = k;
	k = split(sp->prefixes, items, MAX_ITEMS);
	for (size_t j = 0; j < k; j++)
		assert_int_equal(addr_prefix_parse(items[j], &v->prefixes[i][j]), 0);
	s->prefixes = v->prefixes[i];
	s->nprefixes = k;
	k = split(sp->vnis, items, MAX_ITEMS);
	for (size_t j = 0; j < k; j++)
		v->vnis[i][j] = (uint32_t)strtoul(items[j], NULL, 10);
	s->vnis = v->vnis[i];
	s->nvnis = k;
	s->state = sp->state;
	s->died_at = sp->died_at;
	s->behind_nat = sp->nat;
	if (sp->next_key > 0) {
		fixture_pubkey(sp->next_key, v->next_keys[i]);
		s->next_key = v->next_keys[i];
	}
}

struct mesh_desired *
fixture_compute(const struct conf *conf, const struct fixture_site *view, size_t n,
                const struct mesh_params *params, int64_t now)
{
	return fixture_compute_relayed(conf, view, NULL, n, params, now);
}

struct mesh_desired *
fixture_compute_relayed(const struct conf *conf, const struct fixture_site *view,
                        const char *const *relay_via, size_t n, const struct mesh_params *params,
                        int64_t now)
{
	struct mesh_params defaults;
	struct mesh_desired *d = NULL;
	struct view v = {.n = n};

	v.sites = calloc(n ? n : 1, sizeof(*v.sites));
	v.prefixes = calloc(n ? n : 1, sizeof(*v.prefixes));
	v.vnis = calloc(n ? n : 1, sizeof(*v.vnis));
	v.next_keys = calloc(n ? n : 1, sizeof(*v.next_keys));
	v.keys = calloc(n ? n : 1, sizeof(*v.keys));
	v.overlays = calloc(n ? n : 1, sizeof(*v.overlays));
	assert_true(v.sites && v.prefixes && v.vnis && v.next_keys && v.keys && v.overlays);
	for (size_t i = 0; i < n; i++) {
		site_make(&v, i, &view[i]);
		v.sites[i].relay_via = relay_via != NULL ? relay_via[i] : NULL;
	}
	mesh_params_init(&defaults);
	assert_int_equal(mesh_compute(conf, v.sites, v.n, params ? params : &defaults, now, &d), 0);
	free(v.sites);
	free(v.prefixes);
	free(v.vnis);
	free(v.next_keys);
	free(v.keys);
	free(v.overlays);
	return d;
}
