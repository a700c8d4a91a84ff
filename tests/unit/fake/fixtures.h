/* What the fake-kernel tests of the mesh and the reconciler share: the trusted sites' keys,
 * this site's private key file, configs parsed with their errors shown, and views of remote
 * sites written as text. The functions fail the running test when something is amiss. */
#ifndef NETD_TEST_FIXTURES_H
#define NETD_TEST_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/conf.h"
#include "netd/key.h"
#include "netd/mesh.h"

/* This site's private key file, and the key in base64, once fixture_keyfile_create made
 * them. */
extern char fixture_keyfile[128];
extern char fixture_private_key[KEY_BASE64_SIZE];

/* Initialises libsodium and writes a new private key in a fresh directory under /tmp named
 * after tag. Returns 0 or -1 (for a cmocka group setup). */
int fixture_keyfile_create(const char *tag);

/* Removes the key file and its directory. Returns 0 or -1. */
int fixture_keyfile_remove(void);

/* Public key n of a trusted site: 32 bytes of n. */
void fixture_pubkey(int n, uint8_t key[KEY_LEN]);

/* The same in base64; the last four returned stay valid. */
const char *fixture_pubkey_text(int n);

/* The config text, which must load; its errors are printed. Freed with conf_free. */
struct conf *fixture_conf(const char *text);

/* A remote site of the view. */
struct fixture_site {
	const char *name;
	int key;              /* fixture_pubkey's n */
	const char *endpoint; /* "ADDR PORT"; NULL: not known */
	const char *overlay;  /* comma-separated lists */
	const char *prefixes;
	const char *vnis;
	enum mesh_state state;
	int64_t died_at;
	bool nat;
	int next_key; /* fixture_pubkey's n of the key it announced it moves to; 0: none */
};

/* A live site not behind NAT. */
#define FIXTURE_SITE(name, key, endpoint, overlay, prefixes, vnis)                                 \
	{                                                                                          \
		name, key, endpoint, overlay, prefixes, vnis, MESH_ALIVE, 0, false, 0              \
	}

/* The desired state of conf with the n sites of view at time now; params NULL: the
 * defaults. Freed with mesh_desired_free. */
struct mesh_desired *fixture_compute(const struct conf *conf, const struct fixture_site *view,
                                     size_t n, const struct mesh_params *params, int64_t now);
/* The same, site i relayed through the site named relay_via[i] (NULL: direct). */
struct mesh_desired *fixture_compute_relayed(const struct conf *conf,
                                             const struct fixture_site *view,
                                             const char *const *relay_via, size_t n,
                                             const struct mesh_params *params, int64_t now);

#endif
