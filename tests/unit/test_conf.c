/* The configuration module: every kind of mistake with its exact message, good configs and
 * their defaults, equality, JSON, and the print -> parse round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netd/conf.h"
#include "netd/cred.h"
#include "netd/log.h"

/* RFC 7748's test keys: alice is this site, bob a trusted one. */
#define ALICE_PRIV "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
#define ALICE_PUB  "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define BOB_PUB    "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="
#define CAROL_PUB  "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

/* A federation section on line 3, left open for more settings on line 4. */
#define FED                                                                                        \
	"federation = { name = \"lab\"; threshold = 1; authorities = [ \"@AUTH1@\", \"@AUTH2@\" "  \
	"];\n"

/* Two lines every config starts with, so that the lines of the rest start at 3. */
#define HEAD                                                                                       \
	"site = { name = \"alpha\"; };\n"                                                          \
	"wireguard = { private_key_file = \"@KEY@\"; };\n"

static char dir[64];
static char keyfile[128], keyfile644[128], garbage[128];

/* A federation's authorities, from fixed seeds, and site credentials they signed: this
 * site's, and ones that are wrong for it in one way each. */
#define NAUTH 3
static char auth_b64[NAUTH][KEY_BASE64_SIZE];
static uint8_t auth_secret[NAUTH][64];
static char cred_good[128], cred_beta[128], cred_bob[128], cred_other[128], revocation[128];
static char cred_next[128]; /* alpha's credential for bob's key, serial 8: its next */

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	/* Explicitly, whatever the umask. */
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
write_armoured(const char *path, const uint8_t *bin, int len)
{
	char text[CRED_ARMOR_MAX];
	int n;

	assert_true(len > 0);
	n = cred_armor(bin, (size_t)len, text, sizeof(text));
	assert_true(n > 0);
	text[n] = '\0';
	write_file(path, text, 0644);
}

/* A credential of federation fed for site, binding the key pub (base64), signed by the
 * first two authorities, valid from 2020 to 2100; written to dir/name, path set to it. */
static void
write_cred(char *path, const char *name, const char *fed, const char *site, const char *pub,
           uint64_t serial)
{
	uint8_t bin[CRED_ENCODED_MAX];
	struct cred c;

	snprintf(path, 128, "%s/%s", dir, name);
	memset(&c, 0, sizeof(c));
	snprintf(c.federation, sizeof(c.federation), "%s", fed);
	snprintf(c.site, sizeof(c.site), "%s", site);
	assert_int_equal(key_from_base64(c.wg_key, pub, strlen(pub)), 0);
	c.serial = serial;
	c.not_before = 1577836800;
	c.not_after = 4102444800;
	assert_int_equal(cred_sign(&c, auth_secret[0]), 0);
	assert_int_equal(cred_sign(&c, auth_secret[1]), 0);
	write_armoured(path, bin, cred_encode(&c, bin, sizeof(bin)));
}

static void
make_federation(void)
{
	uint8_t seed[32], pub[CRED_KEY_LEN], bin[CRED_ENCODED_MAX];
	struct cred_revocation r;

	for (int i = 0; i < NAUTH; i++) {
		memset(seed, i + 1, sizeof(seed));
		assert_int_equal(cred_authority_from_seed(seed, pub, auth_secret[i]), 0);
		key_to_base64(auth_b64[i], pub);
	}
	write_cred(cred_good, "alpha.cred", "lab", "alpha", ALICE_PUB, 7);
	write_cred(cred_beta, "beta.cred", "lab", "beta", ALICE_PUB, 7);
	write_cred(cred_bob, "bob.cred", "lab", "alpha", BOB_PUB, 7);
	write_cred(cred_other, "other.cred", "other", "alpha", ALICE_PUB, 7);
	write_cred(cred_next, "next.cred", "lab", "alpha", BOB_PUB, 8);
	snprintf(revocation, sizeof(revocation), "%s/revocation", dir);
	memset(&r, 0, sizeof(r));
	snprintf(r.federation, sizeof(r.federation), "lab");
	r.kind = CRED_REVOKE_SERIAL;
	snprintf(r.site, sizeof(r.site), "alpha");
	r.serial = 7;
	write_armoured(revocation, bin, cred_revocation_encode(&r, bin, sizeof(bin)));
}

static int
group_setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/netd-test-conf.XXXXXX");
	if (mkdtemp(dir) == NULL || key_init() < 0)
		return -1;
	snprintf(keyfile, sizeof(keyfile), "%s/private.key", dir);
	snprintf(keyfile644, sizeof(keyfile644), "%s/open.key", dir);
	snprintf(garbage, sizeof(garbage), "%s/garbage.key", dir);
	write_file(keyfile, ALICE_PRIV "\n", 0600);
	write_file(keyfile644, ALICE_PRIV "\n", 0644);
	write_file(garbage, "not a key\n", 0600);
	make_federation();
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unlink(keyfile);
	unlink(keyfile644);
	unlink(garbage);
	unlink(cred_good);
	unlink(cred_beta);
	unlink(cred_bob);
	unlink(cred_other);
	unlink(cred_next);
	unlink(revocation);
	return rmdir(dir);
}

/* Replaces @KEY@, @KEY644@, @GARBAGE@, @DIR@, the credential files' and the authorities'
 * tags with the files and keys made by the setup. */
static char *
subst(const char *text)
{
	static const struct {
		const char *tag;
		const char *value;
	} tags[] = {{"@KEY@", keyfile},           {"@KEY644@", keyfile644},
	            {"@GARBAGE@", garbage},       {"@DIR@", dir},
	            {"@AUTH1@", auth_b64[0]},     {"@AUTH2@", auth_b64[1]},
	            {"@AUTH3@", auth_b64[2]},     {"@CRED@", cred_good},
	            {"@CRED_BETA@", cred_beta},   {"@CRED_BOB@", cred_bob},
	            {"@CRED_OTHER@", cred_other}, {"@REVOCATION@", revocation},
	            {"@CRED_NEXT@", cred_next}};
	size_t cap = strlen(text) * 4 + 256, len = 0;
	char *out = malloc(cap);

	assert_non_null(out);
	while (*text != '\0') {
		size_t i;

		for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
			if (strncmp(text, tags[i].tag, strlen(tags[i].tag)) == 0)
				break;
		if (i < sizeof(tags) / sizeof(tags[0])) {
			len += (size_t)snprintf(out + len, cap - len, "%s", tags[i].value);
			text += strlen(tags[i].tag);
		} else {
			out[len++] = *text++;
		}
	}
	out[len] = '\0';
	return out;
}

static struct conf *
load(const char *text, struct conf_errors *errs)
{
	char *real = subst(text);
	struct conf *conf = conf_load_string(real, "t.conf", errs);

	free(real);
	return conf;
}

static struct conf *
load_ok(const char *text)
{
	struct conf_errors errs = {0};
	struct conf *conf = load(text, &errs);

	for (size_t i = 0; i < errs.n; i++)
		print_error("unexpected: %s\n", errs.msgs[i]);
	assert_int_equal(errs.n, 0);
	assert_non_null(conf);
	conf_errors_free(&errs);
	return conf;
}

/* Field by field: the struct has padding after lifeguard. */
static void
assert_timing_equal(const struct gossip_profile *a, const struct gossip_profile *b)
{
	assert_int_equal(a->probe_interval_ms, b->probe_interval_ms);
	assert_int_equal(a->probe_timeout_ms, b->probe_timeout_ms);
	assert_int_equal(a->indirect_checks, b->indirect_checks);
	assert_int_equal(a->suspicion_mult, b->suspicion_mult);
	assert_int_equal(a->suspicion_max_mult, b->suspicion_max_mult);
	assert_int_equal(a->retransmit_mult, b->retransmit_mult);
	assert_int_equal(a->gossip_interval_ms, b->gossip_interval_ms);
	assert_int_equal(a->gossip_fanout, b->gossip_fanout);
	assert_int_equal(a->sync_interval_ms, b->sync_interval_ms);
	assert_int_equal(a->reconnect_interval_ms, b->reconnect_interval_ms);
	assert_int_equal(a->join_backoff_min_ms, b->join_backoff_min_ms);
	assert_int_equal(a->join_backoff_max_ms, b->join_backoff_max_ms);
	assert_int_equal(a->awareness_max, b->awareness_max);
	assert_int_equal(a->lifeguard, b->lifeguard);
}

struct bad {
	const char *text;
	const char *want; /* the one message expected, after the same substitutions */
};

static const struct bad bad_configs[] = {
        /* syntax and structure */
        {HEAD "overlay = [ \"10.99.0.1\" \n", "t.conf:4: syntax error"},
        {HEAD "a = 1;\na = 2;\n", "t.conf:4: syntax error: duplicate setting name"},
        {HEAD "@include \"/etc/passwd\"\n",
         "t.conf:3: @include is not supported: netd reads one file"},
        {HEAD "prefixes = [ \"10.1.0.0/16\" ];\n\"\nrouting = { table = 0; };\n",
         "t.conf:4: syntax error: string without a closing quote"},
        {HEAD "prefixs = [];\n", "t.conf:3: prefixs: unknown setting (did you mean prefixes?)"},
        {HEAD "colour = \"blue\";\n", "t.conf:3: colour: unknown setting"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tlisten_prot = 51821; };\n",
         "t.conf:3: wireguard.listen_prot: unknown setting (did you mean listen_port?)"},
        {"wireguard = { private_key_file = \"@KEY@\"; };\n", "t.conf: site: missing (required)"},
        {"site = 5;\nwireguard = { private_key_file = \"@KEY@\"; };\n",
         "t.conf:1: site: expected a group, got an integer"},
        {"site = { log_level = \"info\"; };\nwireguard = { private_key_file = \"@KEY@\"; };\n",
         "t.conf:1: site.name: missing (required)"},
        {"site = { name = \"Alpha\"; };\nwireguard = { private_key_file = \"@KEY@\"; };\n",
         "t.conf:1: site.name: \"Alpha\" is not a valid name (1..32 characters of a-z, 0-9 and "
         "'-', "
         "not starting with '-')"},
        {"site = { name = \"abcdefghijabcdefghijabcdefghijabc\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\"; };\n",
         "t.conf:1: site.name: \"abcdefghijabcdefghijabcdefghijabc\" is not a valid name (1..32 "
         "characters of a-z, 0-9 and '-', not starting with '-')"},
        {"site = { name = \"alpha\"; log_level = \"verbose\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\"; };\n",
         "t.conf:1: site.log_level: \"verbose\" is not a log level (error, warning, info, debug)"},
        /* wireguard */
        {"site = { name = \"alpha\"; };\n", "t.conf: wireguard: missing (required)"},
        {"site = { name = \"alpha\"; };\nwireguard = { listen_port = 51820; };\n",
         "t.conf:2: wireguard.private_key_file: missing (required)"},
        {"site = { name = \"alpha\"; };\nwireguard = { private_key_file = \"private.key\"; };\n",
         "t.conf:2: wireguard.private_key_file: \"private.key\" is not an absolute path"},
        {"site = { name = \"alpha\"; };\nwireguard = { private_key_file = \"@DIR@/none\"; };\n",
         "t.conf:2: wireguard.private_key_file: cannot open @DIR@/none: No such file or directory"},
        {"site = { name = \"alpha\"; };\nwireguard = { private_key_file = \"@KEY644@\"; };\n",
         "t.conf:2: wireguard.private_key_file: @KEY644@ is accessible to group or others (mode "
         "0644; chmod 600 it)"},
        {"site = { name = \"alpha\"; };\nwireguard = { private_key_file = \"@GARBAGE@\"; };\n",
         "t.conf:2: wireguard.private_key_file: @GARBAGE@ does not hold a WireGuard private key "
         "(44 "
         "base64 characters)"},
        {"site = { name = \"alpha\"; };\nwireguard = { private_key_file = \"@DIR@\"; };\n",
         "t.conf:2: wireguard.private_key_file: @DIR@ is not a regular file"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tlisten_port = 70000; };\n",
         "t.conf:3: wireguard.listen_port: 70000 is not a port (1..65535)"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tlisten_port = \"51820\"; };\n",
         "t.conf:3: wireguard.listen_port: expected an integer, got a string"},
        /* libconfig alone would wrap this to 51820 */
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tlisten_port = 4294969116; };\n",
         "t.conf:3: wireguard.listen_port: 4294969116 is not a port (1..65535)"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tlisten_port = 99999999999999999999; };\n",
         "t.conf:3: wireguard.listen_port: 99999999999999999999 is not a port (1..65535)"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tinterface = \".\"; };\n",
         "t.conf:3: wireguard.interface: \".\" is not an interface name (1..15 printable "
         "characters other than space, '/' and ':', not \".\" or \"..\")"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tinterface = \"..\"; };\n",
         "t.conf:3: wireguard.interface: \"..\" is not an interface name (1..15 printable "
         "characters other than space, '/' and ':', not \".\" or \"..\")"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tinterface = \"wg 0\"; };\n",
         "t.conf:3: wireguard.interface: \"wg 0\" is not an interface name (1..15 printable "
         "characters other than space, '/' and ':', not \".\" or \"..\")"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tinterface = \"wg/0\"; };\n",
         "t.conf:3: wireguard.interface: \"wg/0\" is not an interface name (1..15 printable "
         "characters other than space, '/' and ':', not \".\" or \"..\")"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tinterface = \"wg-netd-overlay0\"; };\n",
         "t.conf:3: wireguard.interface: \"wg-netd-overlay0\" is not an interface name (1..15 "
         "printable characters other than space, '/' and ':', not \".\" or \"..\")"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tbackend = \"bpf\"; };\n",
         "t.conf:3: wireguard.backend: \"bpf\" is not a backend (auto, kernel, userspace)"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tmtu = 1000; };\n",
         "t.conf:3: wireguard.mtu: 1000 is not 0 (automatic) or 1280..65535"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tfwmark = 4294967296; };\n",
         "t.conf:3: wireguard.fwmark: 4294967296 is not a firewall mark (0..4294967295)"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tuserspace_command = \"\"; };\n",
         "t.conf:3: wireguard.userspace_command: is empty"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tbehind_nat = \"yes\"; };\n",
         "t.conf:3: wireguard.behind_nat: expected a boolean (true or false), got a string"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tbehind_nat = 1; };\n",
         "t.conf:3: wireguard.behind_nat: expected a boolean (true or false), got an integer"},
        {"site = { name = \"alpha\"; };\n"
         "wireguard = { private_key_file = \"@KEY@\";\n"
         "\tbehind_nta = true; };\n",
         "t.conf:3: wireguard.behind_nta: unknown setting (did you mean behind_nat?)"},
        /* overlay */
        {HEAD "overlay = [ \"10.99.0.1/24\" ];\n",
         "t.conf:3: overlay[0]: 10.99.0.1/24: write a host address, without /len"},
        {HEAD "overlay = [ \"10.99.0.1\",\n\t\"10.99.0.2\" ];\n",
         "t.conf:4: overlay[1]: a second IPv4 address (at most one IPv4 and one IPv6; first on "
         "line "
         "3)"},
        {HEAD "overlay = [ \"10.99.0.256\" ];\n",
         "t.conf:3: overlay[0]: \"10.99.0.256\" is not an IPv4 or IPv6 address"},
        {HEAD "overlay = [ \"ff02::1\" ];\n",
         "t.conf:3: overlay[0]: ff02::1 is not a unicast address"},
        {HEAD "overlay = \"10.99.0.1\";\n", "t.conf:3: overlay: expected an array, got a string"},
        /* gossip */
        {HEAD "gossip = { bind = \"fd00::1:7946\"; };\n",
         "t.conf:3: gossip.bind: \"fd00::1:7946\": write an IPv6 endpoint as [ADDRESS]:PORT"},
        {HEAD "gossip = { bind = \"[fd00::1]:0\"; };\n",
         "t.conf:3: gossip.bind: \"[fd00::1]:0\": 0 is not a port (1..65535)"},
        {HEAD "gossip = { bind = \"host.example:7946\"; };\n",
         "t.conf:3: gossip.bind: \"host.example:7946\" is not ADDRESS[:PORT] (IPv6 as "
         "[ADDRESS]:PORT)"},
        {HEAD "gossip = { advertise = \"0.0.0.0\"; };\n",
         "t.conf:3: gossip.advertise: 0.0.0.0 is not a unicast address"},
        {HEAD "gossip = { seeds = [\n\t\"198.51.100.2\",\n\t\"198.51.100.2:7946\" ]; };\n",
         "t.conf:5: gossip.seeds[1]: 198.51.100.2:7946 is already a seed (line 4)"},
        {HEAD "gossip = { sedes = []; };\n",
         "t.conf:3: gossip.sedes: unknown setting (did you mean seeds?)"},
        /* gossip timing: each setting's own range, both ends */
        {HEAD "gossip = { profile = \"metro\"; };\n",
         "t.conf:3: gossip.profile: \"metro\" is not a profile (lan, wan)"},
        {HEAD "gossip = { profile = \"LAN\"; };\n",
         "t.conf:3: gossip.profile: \"LAN\" is not a profile (lan, wan)"},
        {HEAD "gossip = { profile = 1; };\n",
         "t.conf:3: gossip.profile: expected a string, got an integer"},
        {HEAD "gossip = { probe_interval = 9; };\n",
         "t.conf:3: gossip.probe_interval: 9 is not a time in milliseconds (10..600000)"},
        {HEAD "gossip = { probe_interval = 600001; };\n",
         "t.conf:3: gossip.probe_interval: 600001 is not a time in milliseconds (10..600000)"},
        {HEAD "gossip = { probe_timeout = 0; };\n",
         "t.conf:3: gossip.probe_timeout: 0 is not a time in milliseconds (1..599999)"},
        {HEAD "gossip = { probe_timeout = 600000; };\n",
         "t.conf:3: gossip.probe_timeout: 600000 is not a time in milliseconds (1..599999)"},
        {HEAD "gossip = { indirect_checks = -1; };\n",
         "t.conf:3: gossip.indirect_checks: -1 is not a number of members (0..16)"},
        {HEAD "gossip = { indirect_checks = 17; };\n",
         "t.conf:3: gossip.indirect_checks: 17 is not a number of members (0..16)"},
        {HEAD "gossip = { suspicion_mult = 0; };\n",
         "t.conf:3: gossip.suspicion_mult: 0 is not a multiplier (1..100)"},
        {HEAD "gossip = { suspicion_mult = 101; };\n",
         "t.conf:3: gossip.suspicion_mult: 101 is not a multiplier (1..100)"},
        {HEAD "gossip = { suspicion_max_mult = 0; };\n",
         "t.conf:3: gossip.suspicion_max_mult: 0 is not a multiplier (1..100)"},
        {HEAD "gossip = { suspicion_max_mult = 101; };\n",
         "t.conf:3: gossip.suspicion_max_mult: 101 is not a multiplier (1..100)"},
        {HEAD "gossip = { retransmit_mult = 0; };\n",
         "t.conf:3: gossip.retransmit_mult: 0 is not a multiplier (1..100)"},
        {HEAD "gossip = { retransmit_mult = 101; };\n",
         "t.conf:3: gossip.retransmit_mult: 101 is not a multiplier (1..100)"},
        {HEAD "gossip = { gossip_interval = 9; };\n",
         "t.conf:3: gossip.gossip_interval: 9 is not a time in milliseconds (10..600000)"},
        {HEAD "gossip = { gossip_interval = 600001; };\n",
         "t.conf:3: gossip.gossip_interval: 600001 is not a time in milliseconds (10..600000)"},
        {HEAD "gossip = { gossip_fanout = 0; };\n",
         "t.conf:3: gossip.gossip_fanout: 0 is not a number of members (1..16)"},
        {HEAD "gossip = { gossip_fanout = 17; };\n",
         "t.conf:3: gossip.gossip_fanout: 17 is not a number of members (1..16)"},
        {HEAD "gossip = { sync_interval = 99; };\n",
         "t.conf:3: gossip.sync_interval: 99 is not a time in milliseconds (100..3600000)"},
        {HEAD "gossip = { sync_interval = 3600001; };\n",
         "t.conf:3: gossip.sync_interval: 3600001 is not a time in milliseconds (100..3600000)"},
        {HEAD "gossip = { reconnect_interval = 99; };\n",
         "t.conf:3: gossip.reconnect_interval: 99 is not a time in milliseconds (100..3600000)"},
        {HEAD "gossip = { reconnect_interval = 3600001; };\n",
         "t.conf:3: gossip.reconnect_interval: 3600001 is not a time in milliseconds "
         "(100..3600000)"},
        {HEAD "gossip = { join_backoff_min = 9; };\n",
         "t.conf:3: gossip.join_backoff_min: 9 is not a time in milliseconds (10..3600000)"},
        {HEAD "gossip = { join_backoff_max = 3600001; };\n",
         "t.conf:3: gossip.join_backoff_max: 3600001 is not a time in milliseconds (10..3600000)"},
        /* libconfig alone would wrap this to 1000 */
        {HEAD "gossip = { join_backoff_max = 4294968296; };\n",
         "t.conf:3: gossip.join_backoff_max: 4294968296 is not a time in milliseconds "
         "(10..3600000)"},
        {HEAD "gossip = { awareness_max = 0; };\n",
         "t.conf:3: gossip.awareness_max: 0 is not a multiplier (1..32)"},
        {HEAD "gossip = { awareness_max = 33; };\n",
         "t.conf:3: gossip.awareness_max: 33 is not a multiplier (1..32)"},
        {HEAD "gossip = { probe_interval = 1.5; };\n",
         "t.conf:3: gossip.probe_interval: expected an integer, got a float"},
        {HEAD "gossip = { lifeguard = \"yes\"; };\n",
         "t.conf:3: gossip.lifeguard: expected a boolean (true or false), got a string"},
        {HEAD "gossip = { lifeguard = 0; };\n",
         "t.conf:3: gossip.lifeguard: expected a boolean (true or false), got an integer"},
        {HEAD "gossip = { probe_intervall = 1000; };\n",
         "t.conf:3: gossip.probe_intervall: unknown setting (did you mean probe_interval?)"},
        {HEAD "gossip = { gossip_fanuot = 4; };\n",
         "t.conf:3: gossip.gossip_fanuot: unknown setting (did you mean gossip_fanout?)"},
        /* gossip timing: valid alone, refused by gossip_profile_check in the profile */
        {HEAD "gossip = {\n\tprobe_timeout = 1000; };\n",
         "t.conf:4: gossip.probe_timeout: probe timeout must be 1 ms .. less than the probe "
         "interval"},
        {HEAD "gossip = {\n\tprobe_interval = 500; };\n",
         "t.conf:4: gossip.probe_interval: probe timeout must be 1 ms .. less than the probe "
         "interval"},
        /* The WAN profile's timeout (1000) is too long for this interval. */
        {HEAD "gossip = { profile = \"wan\";\n\tprobe_interval = 1000; };\n",
         "t.conf:4: gossip.probe_interval: probe timeout must be 1 ms .. less than the probe "
         "interval"},
        /* Returning the interval to the profile's 1000 would make the pair valid. */
        {HEAD "gossip = {\n\tprobe_timeout = 450;\n\tprobe_interval = 400; };\n",
         "t.conf:5: gossip.probe_interval: probe timeout must be 1 ms .. less than the probe "
         "interval"},
        {HEAD "gossip = {\n\tjoin_backoff_min = 40000; };\n",
         "t.conf:4: gossip.join_backoff_min: join backoff must be 10 ms <= min <= max <= "
         "3600000 ms"},
        {HEAD "gossip = {\n\tjoin_backoff_max = 999; };\n",
         "t.conf:4: gossip.join_backoff_max: join backoff must be 10 ms <= min <= max <= "
         "3600000 ms"},
        /* dead_hold, state_file */
        {HEAD "gossip = { dead_hold = 86401; };\n",
         "t.conf:3: gossip.dead_hold: 86401 is not a time in seconds (0..86400)"},
        {HEAD "gossip = { dead_hold = -1; };\n",
         "t.conf:3: gossip.dead_hold: -1 is not a time in seconds (0..86400)"},
        {HEAD "gossip = { dead_hold = \"30s\"; };\n",
         "t.conf:3: gossip.dead_hold: expected an integer, got a string"},
        {HEAD "gossip = { state_file = \"gossip.state\"; };\n",
         "t.conf:3: gossip.state_file: \"gossip.state\" is not an absolute path"},
        {HEAD "gossip = { state_file = \"\"; };\n",
         "t.conf:3: gossip.state_file: \"\" is not an absolute path"},
        {HEAD "gossip = { state_file = \"/var/lib/netd/\"; };\n",
         "t.conf:3: gossip.state_file: \"/var/lib/netd/\" names a directory, not a file"},
        {HEAD "gossip = { state_file = \"/var/\x7f\"; };\n",
         "t.conf:3: gossip.state_file: contains control characters or is not UTF-8"},
        /* prefixes */
        {HEAD "prefixes = [ \"10.1.0.1/16\" ];\n",
         "t.conf:3: prefixes[0]: 10.1.0.1/16 has host bits set (the prefix is 10.1.0.0/16)"},
        {HEAD "prefixes = [ \"2001:db8:1::1/48\" ];\n",
         "t.conf:3: prefixes[0]: 2001:db8:1::1/48 has host bits set (the prefix is "
         "2001:db8:1::/48)"},
        {HEAD "prefixes = [ \"10.1.0.0\" ];\n",
         "t.conf:3: prefixes[0]: 10.1.0.0: missing /len (a prefix is ADDRESS/LENGTH)"},
        {HEAD "prefixes = [ \"10.1.0.0/33\" ];\n",
         "t.conf:3: prefixes[0]: 10.1.0.0/33: prefix length is not 0..32"},
        {HEAD "prefixes = [ \"10.1.0.0/-1\" ];\n",
         "t.conf:3: prefixes[0]: 10.1.0.0/-1: prefix length is not 0..32"},
        {HEAD "prefixes = [\n\t\"10.1.0.0/16\",\n\t\"10.1.128.0/17\"\n];\n",
         "t.conf:5: prefixes[1]: 10.1.128.0/17 overlaps 10.1.0.0/16 (this site's prefixes, line "
         "4)"},
        {HEAD "prefixes = [ \"10.1.0.0/16\" ];\n"
              "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\";\n"
              "\tprefixes = [ \"10.0.0.0/8\" ]; } );\n",
         "t.conf:5: trust[0].prefixes[0]: 10.0.0.0/8 overlaps 10.1.0.0/16 (this site's prefixes, "
         "line "
         "3)"},
        {HEAD "overlay = [ \"10.2.0.1\" ];\n"
              "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\";\n"
              "\tprefixes = [ \"10.2.0.0/16\" ]; } );\n",
         "t.conf:3: overlay[0]: 10.2.0.1 lies in 10.2.0.0/16, which trust beta may advertise (line "
         "5)"},
        /* routing */
        {HEAD "routing = { table = 255; };\n",
         "t.conf:3: routing.table: 255 is the kernel's local table"},
        {HEAD "routing = { table = 253; };\n",
         "t.conf:3: routing.table: 253 is the kernel's default table"},
        {HEAD "routing = { table = 0; };\n",
         "t.conf:3: routing.table: 0 is not a routing table (1..4294967295)"},
        {HEAD "routing = { table = \"local\"; };\n",
         "t.conf:3: routing.table: \"local\" is not a table (a number or \"main\")"},
        {HEAD "routing = { protocol = 4; };\n",
         "t.conf:3: routing.protocol: 4 is not a route protocol netd may use (5..255)"},
        /* segments */
        {HEAD "overlay = [ \"10.99.0.1\" ];\nsegments = ( { name = \"a\"; vni = 0; } );\n",
         "t.conf:4: segments[0].vni: 0 is not a VNI (1..16777215)"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\nsegments = ( { name = \"a\"; vni = 16777216; } );\n",
         "t.conf:4: segments[0].vni: 16777216 is not a VNI (1..16777215)"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\nsegments = ( { vni = 100; } );\n",
         "t.conf:4: segments[0].name: missing (required)"},
        {HEAD
         "overlay = [ \"10.99.0.1\" ];\nsegments = ( { name = \"a\"; vni = 1; nmae = \"b\"; } );\n",
         "t.conf:4: segments[0].nmae: unknown setting (did you mean name?)"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\n"
              "segments = ( { name = \"a\"; vni = 1; },\n"
              "\t{ name = \"a\"; vni = 2; } );\n",
         "t.conf:5: segments[1].name: a is already a segment's name (line 4)"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\n"
              "segments = ( { name = \"a\"; vni = 7; },\n"
              "\t{ name = \"b\"; vni = 7; } );\n",
         "t.conf:5: segments[1].vni: 7 is already the VNI of segment a (line 4)"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\n"
              "segments = ( { name = \"tenant-alpha-one\"; vni = 1; },\n"
              "\t{ name = \"tenant-alpha-two\"; vni = 2; } );\n",
         "t.conf:5: segments[1].bridge (derived from the name; set bridge): br-tenant-alpha is "
         "already the bridge of segment tenant-alpha-one (line 4)"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\n"
              "segments = ( { name = \"a\"; vni = 1; bridge = \"wg-netd\"; } );\n",
         "t.conf:4: segments[0].bridge: wg-netd is already the WireGuard interface (line 2)"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\n"
              "segments = ( { name = \"a\"; vni = 100; },\n"
              "\t{ name = \"b\"; vni = 2; ports = [ \"vxlan100\" ]; } );\n",
         "t.conf:5: segments[1].ports[0]: vxlan100 is already the VXLAN device of segment a "
         "(line 4)"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\n"
              "segments = ( { name = \"a\"; vni = 1; ports = [ \"eth1\" ]; },\n"
              "\t{ name = \"b\"; vni = 2; ports = [ \"eth2\", \"eth1\" ]; } );\n",
         "t.conf:5: segments[1].ports[1]: eth1 is already a port of segment a (line 4)"},
        {HEAD "segments = ( { name = \"a\"; vni = 1; } );\n",
         "t.conf:3: segments: a segment needs this site's overlay address (overlay = [ ... ])"},
        {HEAD "segments = { name = \"a\"; vni = 1; };\n",
         "t.conf:3: segments: expected a list of groups, got a group"},
        /* trust */
        {HEAD "trust = ( { name = \"alpha\"; public_key = \"" BOB_PUB "\"; } );\n",
         "t.conf:3: trust[0].name: alpha is already this site's own name (line 1)"},
        {HEAD "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\"; },\n"
              "\t{ name = \"beta\"; public_key = \"" CAROL_PUB "\"; } );\n",
         "t.conf:4: trust[1].name: beta is already a trusted site's name (line 3)"},
        {HEAD "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\"; },\n"
              "\t{ name = \"gamma\"; public_key = \"" BOB_PUB "\"; } );\n",
         "t.conf:4: trust[1].public_key: " BOB_PUB " is already the key of trusted site beta (line "
         "3)"},
        {HEAD "trust = ( { name = \"beta\"; public_key = \"" ALICE_PUB "\"; } );\n",
         "t.conf:3: trust[0].public_key: " ALICE_PUB " is already this site's own public key (line "
         "2)"},
        {HEAD "trust = ( { name = \"beta\"; public_key = "
              "\"3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08\"; "
              "} );\n",
         "t.conf:3: trust[0].public_key: \"3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08\" is not a "
         "WireGuard key (44 base64 characters, 32 bytes)"},
        {HEAD "trust = ( { name = \"beta\"; } );\n",
         "t.conf:3: trust[0].public_key: missing (required)"},
        {HEAD "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB
              "\"; vnis = [ 100, 16777216 ]; } "
              ");\n",
         "t.conf:3: trust[0].vnis[1]: 16777216 is not a VNI (1..16777215)"},
        {HEAD "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB
              "\"; vnis = [ 100, 100 ]; } );\n",
         "t.conf:3: trust[0].vnis[1]: 100 is listed twice"},
        {HEAD "trust = ( \"beta\" );\n", "t.conf:3: trust[0]: expected a group, got a string"},
        /* control */
        {HEAD "control = { mode = \"1777\"; };\n",
         "t.conf:3: control.mode: \"1777\" is not a permission mode (octal 0..0777)"},
        {HEAD "control = { mode = \"0689\"; };\n",
         "t.conf:3: control.mode: \"0689\" is not a permission mode (octal 0..0777)"},
        {HEAD "control = { mode = 660; };\n", "t.conf:3: control.mode: expected a string of octal "
                                              "digits such as \"0660\", got an integer"},
        {HEAD "control = { socket = \"netd.sock\"; };\n",
         "t.conf:3: control.socket: \"netd.sock\" is not an absolute path"},
        {HEAD "control = { group = \"\"; };\n",
         "t.conf:3: control.group: \"\" is not a group name"},
        {HEAD "control = { socket = \"/run/\\x01\"; };\n",
         "t.conf:3: control.socket: contains control characters or is not UTF-8"},
        /* federation */
        {HEAD "federation = { name = \"lab\"; threshold = 1; authorities = [ \"xyz\" ]; };\n",
         "t.conf:3: federation.authorities[0]: \"xyz\" is not an authority key (44 base64 "
         "characters, 32 bytes)"},
        {HEAD "federation = { name = \"lab\"; threshold = 1; authorities = [ \"" BOB_PUB
              "\",\n\t\"" CAROL_PUB "\", \"" BOB_PUB "\" ]; };\n",
         "t.conf:4: federation.authorities[2]: " BOB_PUB " is already an authority (line 3)"},
        {HEAD "federation = { name = \"lab\"; authorities = [ \"@AUTH1@\", \"@AUTH2@\" ];\n"
              "\tthreshold = 0; };\n",
         "t.conf:4: federation.threshold: 0 is not a number of authorities (1..2)"},
        {HEAD "federation = { name = \"lab\"; authorities = [ \"@AUTH1@\", \"@AUTH2@\" ];\n"
              "\tthreshold = 3; };\n",
         "t.conf:4: federation.threshold: 3 is not a number of authorities (1..2)"},
        {HEAD "federation = { name = \"lab\"; authorities = [ \"@AUTH1@\" ]; };\n",
         "t.conf:3: federation.threshold: missing (required)"},
        {HEAD "federation = { name = \"lab\"; threshold = 1; };\n",
         "t.conf:3: federation.authorities: missing (required)"},
        {HEAD "federation = { name = \"lab\"; threshold = 1; authorities = []; };\n",
         "t.conf:3: federation.authorities: 0 keys (1..7)"},
        {HEAD "federation = { name = \"lab\"; threshold = 1; authorities = [ \"@AUTH1@\",\n"
              "\t\"@AUTH2@\", \"@AUTH3@\", \"" BOB_PUB "\", \"" CAROL_PUB "\", \"" ALICE_PUB "\",\n"
              "\t\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\n"
              "\t\"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\" ]; };\n",
         "t.conf:3: federation.authorities: 8 keys (1..7)"},
        {HEAD "federation = { threshold = 1; authorities = [ \"@AUTH1@\" ]; };\n",
         "t.conf:3: federation.name: missing (required)"},
        {HEAD "federation = { name = \"-lab\"; threshold = 1; authorities = [ \"@AUTH1@\" ]; };\n",
         "t.conf:3: federation.name: \"-lab\" is not a valid name (1..32 characters of a-z, 0-9 "
         "and '-', not starting with '-')"},
        {HEAD FED "\tpin_authorites = true; };\n",
         "t.conf:4: federation.pin_authorites: unknown setting (did you mean pin_authorities?)"},
        {HEAD FED "\tpin_authorities = \"yes\"; };\n",
         "t.conf:4: federation.pin_authorities: expected a boolean (true or false), got a string"},
        {HEAD FED "\tprovider = \"tab\\there\"; };\n",
         "t.conf:4: federation.provider: contains control characters or is not UTF-8"},
        {HEAD FED "\tprovider = \"\"; };\n",
         "t.conf:4: federation.provider: \"\" is not a value (1..64 printable ASCII characters "
         "other than '\"' and '\\')"},
        {HEAD FED "\tjurisdiction = \"Germany\"; };\n",
         "t.conf:4: federation.jurisdiction: \"Germany\" is not a jurisdiction (two upper-case "
         "letters, ISO 3166-1 alpha-2)"},
        {HEAD FED "\tlabels = { Tier = \"edge\"; }; };\n",
         "t.conf:4: federation.labels.Tier: \"Tier\" is not a label key (1..32 of a-z, 0-9, '-' "
         "and '_'; not provider or jurisdiction, which have settings of their own)"},
        {HEAD FED "\tlabels = { jurisdiction = \"DE\"; }; };\n",
         "t.conf:4: federation.labels.jurisdiction: \"jurisdiction\" is not a label key (1..32 "
         "of a-z, 0-9, '-' and '_'; not provider or jurisdiction, which have settings of their "
         "own)"},
        {HEAD FED "\tlabels = { a = \"1\"; b = \"2\"; c = \"3\"; d = \"4\"; e = \"5\";\n"
                  "\t\tf = \"6\"; g = \"7\"; h = \"8\"; i = \"9\"; }; };\n",
         "t.conf:4: federation.labels: 9 labels (at most 8)"},
        {HEAD FED "\tlabels = [ \"tier=edge\" ]; };\n",
         "t.conf:4: federation.labels: expected a group, got an array"},
        {HEAD FED "\tcredential = \"site.cred\"; };\n",
         "t.conf:4: federation.credential: \"site.cred\" is not an absolute path"},
        {HEAD FED "\tcredential = \"@DIR@/none.cred\"; };\n",
         "t.conf:4: federation.credential: cannot open @DIR@/none.cred: No such file or "
         "directory"},
        {HEAD FED "\tcredential = \"@DIR@\"; };\n",
         "t.conf:4: federation.credential: @DIR@ is not a regular file"},
        {HEAD FED "\tcredential = \"@GARBAGE@\"; };\n",
         "t.conf:4: federation.credential: @GARBAGE@: no -----BEGIN NETD ...----- line"},
        {HEAD FED "\tcredential = \"@REVOCATION@\"; };\n",
         "t.conf:4: federation.credential: @REVOCATION@ is not a site credential"},
        {HEAD FED "\tcredential = \"@CRED_BETA@\"; };\n",
         "t.conf:4: federation.credential: @CRED_BETA@ is for site beta, not alpha"},
        {HEAD FED "\tcredential = \"@CRED_BOB@\"; };\n",
         "t.conf:4: federation.credential: @CRED_BOB@ binds the WireGuard key " BOB_PUB
         ", not this site's"},
        {HEAD FED "\tcredential = \"@CRED_OTHER@\"; };\n",
         "t.conf:4: federation.credential: @CRED_OTHER@ is of federation other, not lab"},
        {HEAD FED "\tnext_credential = \"@CRED_NEXT@\"; };\n",
         "t.conf:4: federation.next_credential: @CRED_NEXT@ needs federation.credential, with a "
         "lower serial than its 8"},
        {HEAD FED "\tcredential = \"@CRED@\";\n\tnext_credential = \"@CRED_OTHER@\"; };\n",
         "t.conf:5: federation.next_credential: @CRED_OTHER@ is of federation other, not lab"},
        {HEAD FED "\tcredential = \"@CRED@\";\n\tnext_credential = \"@CRED@\"; };\n",
         "t.conf:5: federation.next_credential: @CRED@ binds this site's current key: it is for "
         "the next one"},
        /* policy */
        {HEAD "policy = { deny = [ \"beta\",\n\t\"beta\" ]; };\n",
         "t.conf:4: policy.deny[1]: beta is already denied (line 3)"},
        {HEAD "policy = { deny = [ \"alpha\" ]; };\n",
         "t.conf:3: policy.deny[0]: alpha is already this site's own name (line 1)"},
        {HEAD "policy = { deny = [ \"Beta\" ]; };\n",
         "t.conf:3: policy.deny[0]: \"Beta\" is not a valid name (1..32 characters of a-z, 0-9 "
         "and '-', not starting with '-')"},
        {HEAD "policy = { deni = []; };\n",
         "t.conf:3: policy.deni: unknown setting (did you mean deny?)"},
        {HEAD "policy = { require = [ \"jurisdiction=DE\" ]; };\n",
         "t.conf:3: policy.require: rules apply to sites admitted by a federation credential, "
         "and there is no federation"},
        {HEAD FED "}; policy = { require = [ \"jurisdiction\" ]; };\n",
         "t.conf:4: policy.require[0]: \"jurisdiction\" is not a rule (KEY=VALUE,... or "
         "KEY!=VALUE,...)"},
        {HEAD FED "}; policy = { require = [ \"!=evil\" ]; };\n",
         "t.conf:4: policy.require[0]: \"!=evil\": \"\" is not an attribute (provider, "
         "jurisdiction or a label key: 1..32 of a-z, 0-9, '-', '_' and '.')"},
        {HEAD FED "}; policy = { require = [ \"Provider=x\" ]; };\n",
         "t.conf:4: policy.require[0]: \"Provider=x\": \"Provider\" is not an attribute "
         "(provider, jurisdiction or a label key: 1..32 of a-z, 0-9, '-', '_' and '.')"},
        {HEAD FED "}; policy = { require = [ \"jurisdiction=DE,de\" ]; };\n",
         "t.conf:4: policy.require[0]: \"jurisdiction=DE,de\": \"de\" is not a jurisdiction "
         "(two upper-case letters, ISO 3166-1 alpha-2)"},
        {HEAD FED "}; policy = { require = [ \"provider!=a,,b\" ]; };\n",
         "t.conf:4: policy.require[0]: \"provider!=a,,b\": an empty value"},
        {HEAD FED "}; policy = { require = [ \"provider=\" ]; };\n",
         "t.conf:4: policy.require[0]: \"provider=\": an empty value"},
        {HEAD FED "}; policy = { require = [ \"tier=a,b,a\" ]; };\n",
         "t.conf:4: policy.require[0]: \"tier=a,b,a\": \"a\" is listed twice"},
        {HEAD FED "}; policy = { require = [ \"tier=a\\\\b\" ]; };\n",
         "t.conf:4: policy.require[0]: \"tier=a\\b\": \"a\\b\" is not a value (1..64 printable "
         "ASCII characters other than '\"' and '\\')"},
        {HEAD FED "}; policy = { require = \"provider=x\"; };\n",
         "t.conf:4: policy.require: expected an array, got a string"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\nsegments = ( { name = \"a\"; vni = 100; } );\n" FED
              "}; policy = { segments = ( { vni = 101; require = []; } ); };\n",
         "t.conf:6: policy.segments[0].vni: no segment has VNI 101"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\nsegments = ( { name = \"a\"; vni = 100; } );\n" FED
              "}; policy = { segments = ( { vni = 100; require = []; },\n"
              "\t{ vni = 100; require = []; } ); };\n",
         "t.conf:7: policy.segments[1].vni: 100 already has rules (line 6)"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\nsegments = ( { name = \"a\"; vni = 100; } );\n"
              "policy = { segments = ( { vni = 100; require = [ \"provider=x\" ]; } ); };\n",
         "t.conf:5: policy.segments[0]: rules apply to sites admitted by a federation "
         "credential, and there is no federation"},
        {HEAD "overlay = [ \"10.99.0.1\" ];\nsegments = ( { name = \"a\"; vni = 100; } );\n" FED
              "}; policy = { segments = ( { vni = 100; } ); };\n",
         "t.conf:6: policy.segments[0].require: missing (required)"},
        {HEAD FED "}; policy = { segments = ( { require = []; } ); };\n",
         "t.conf:4: policy.segments[0].vni: missing (required)"},
        {HEAD "policy = { narrow = ( { site = \"beta\"; prefixes = [ \"10.2.1.1/24\" ]; } ); };\n",
         "t.conf:3: policy.narrow[0].prefixes[0]: 10.2.1.1/24 has host bits set (the prefix is "
         "10.2.1.0/24)"},
        {HEAD "policy = { narrow = ( { site = \"beta\"; prefixes = []; },\n"
              "\t{ site = \"beta\"; prefixes = []; } ); };\n",
         "t.conf:4: policy.narrow[1].site: beta is already narrowed (line 3)"},
        {HEAD "policy = { narrow = ( { site = \"alpha\"; prefixes = []; } ); };\n",
         "t.conf:3: policy.narrow[0].site: alpha is already this site's own name (line 1)"},
        {HEAD "policy = { narrow = ( { site = \"beta\"; } ); };\n",
         "t.conf:3: policy.narrow[0].prefixes: missing (required)"},
        {HEAD "policy = { narrow = ( { prefixes = []; } ); };\n",
         "t.conf:3: policy.narrow[0].site: missing (required)"},
        {HEAD "policy = { narrow = { site = \"beta\"; prefixes = []; }; };\n",
         "t.conf:3: policy.narrow: expected a list of groups, got a group"},
};

static void
test_bad_configs(void **state)
{
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		const struct bad *b = &bad_configs[i];
		struct conf_errors errs = {0};
		struct conf *conf = load(b->text, &errs);
		char *want = subst(b->want);

		if (conf != NULL || errs.n != 1 || strcmp(errs.msgs[0], want) != 0) {
			failures++;
			print_error("case %zu: want\n  %s\ngot %zu error(s)%s\n", i, want, errs.n,
			            conf ? " and a config" : "");
			for (size_t j = 0; j < errs.n; j++)
				print_error("  %s\n", errs.msgs[j]);
		}
		free(want);
		conf_free(conf);
		conf_errors_free(&errs);
	}
	assert_true(sizeof(bad_configs) / sizeof(bad_configs[0]) >= 35);
	assert_int_equal(failures, 0);
}

/* A private key file any bit of which group or others hold is refused, whichever bit; the
 * owner's own bits do not matter. */
static void
test_key_file_modes(void **state)
{
	static const mode_t refused[] = {0601, 0602, 0604, 0610, 0620, 0640, 0660, 0606, 0777};
	static const mode_t taken[] = {0600, 0400, 0700};
	char path[PATH_MAX], text[PATH_MAX + 128], want[PATH_MAX + 128];

	(void)state;
	snprintf(path, sizeof(path), "%s/modes.key", dir);
	snprintf(text, sizeof(text),
	         "site = { name = \"alpha\"; };\nwireguard = { private_key_file = \"%s\"; };\n",
	         path);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct conf_errors errs = {0};
		struct conf *conf;

		write_file(path, ALICE_PRIV "\n", refused[i]);
		conf = load(text, &errs);
		snprintf(
		        want, sizeof(want),
		        "t.conf:2: wireguard.private_key_file: %s is accessible to group or others "
		        "(mode %04o; chmod 600 it)",
		        path, (unsigned)refused[i]);
		if (conf != NULL || errs.n != 1 || strcmp(errs.msgs[0], want) != 0)
			fail_msg("mode %04o: %zu errors, first: %s", (unsigned)refused[i], errs.n,
			         errs.n ? errs.msgs[0] : "(none)");
		conf_errors_free(&errs);
	}
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		struct conf_errors errs = {0};
		struct conf *conf;

		write_file(path, ALICE_PRIV "\n", taken[i]);
		conf = load(text, &errs);
		if (conf == NULL)
			fail_msg("mode %04o refused: %s", (unsigned)taken[i],
			         errs.n ? errs.msgs[0] : "(no error)");
		conf_free(conf);
	}
	unlink(path);
}

/* Errors are all collected, whatever kind, and come out in line order. */
static void
test_many_errors(void **state)
{
	static const char *const want[] = {
	        "t.conf: site: missing (required)",
	        "t.conf:1: wireguard.listen_port: 0 is not a port (1..65535)",
	        "t.conf:2: wireguard.bakend: unknown setting (did you mean backend?)",
	        "t.conf:3: prefixes[1]: 10.1.2.0/24 overlaps 10.1.0.0/16 (this site's prefixes, "
	        "line 3)",
	        "t.conf:4: routing.table: 255 is the kernel's local table",
	        "t.conf:6: segments[0].vni: 0 is not a VNI (1..16777215)",
	        "t.conf:7: trust[0].public_key: \"short\" is not a WireGuard key (44 base64 "
	        "characters, "
	        "32 bytes)",
	};
	struct conf_errors errs = {0};
	struct conf *conf;

	(void)state;
	/* The errors are not written in line order on purpose. */
	conf = load("wireguard = { private_key_file = \"@KEY@\"; listen_port = 0;\n"
	            "\tbakend = \"kernel\"; };\n"
	            "prefixes = [ \"10.1.0.0/16\", \"10.1.2.0/24\" ];\n"
	            "routing = { table = 255; };\n"
	            "overlay = [ \"10.99.0.1\" ];\n"
	            "segments = ( { name = \"a\"; vni = 0; } );\n"
	            "trust = ( { name = \"b\"; public_key = \"short\"; } );\n",
	            &errs);
	assert_null(conf);
	for (size_t i = 0; i < errs.n; i++)
		print_message("%s\n", errs.msgs[i]);
	assert_int_equal(errs.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < errs.n; i++)
		assert_string_equal(errs.msgs[i], want[i]);
	conf_errors_free(&errs);
}

/* conf_errors appends: a second failed load adds to what is there. */
static void
test_errors_append(void **state)
{
	struct conf_errors errs = {0};

	(void)state;
	assert_null(load("site = 1;\nwireguard = 2;\n", &errs));
	assert_int_equal(errs.n, 2);
	assert_null(load("x", &errs));
	assert_int_equal(errs.n, 3);
	assert_string_equal(errs.msgs[2], "t.conf:1: syntax error");
	conf_errors_free(&errs);
	assert_int_equal(errs.n, 0);
	assert_null(errs.msgs);
	/* And NULL is accepted when the caller only wants a yes or no. */
	assert_null(load("x", NULL));
}

static void
test_defaults(void **state)
{
	struct conf *conf = load_ok(HEAD);
	char buf[64];

	(void)state;
	assert_string_equal(conf->site_name, "alpha");
	assert_int_equal(conf->log_level, LOG_LEVEL_INFO);
	assert_string_equal(conf->wg.interface, CONF_DEFAULT_INTERFACE);
	assert_int_equal(conf->wg.listen_port, CONF_DEFAULT_LISTEN_PORT);
	assert_string_equal(conf->wg.private_key_file, keyfile);
	assert_int_equal(conf->wg.backend, CONF_BACKEND_AUTO);
	assert_string_equal(conf->wg.userspace_command, CONF_DEFAULT_USERSPACE_CMD);
	assert_int_equal(conf->wg.fwmark, 0);
	assert_int_equal(conf->wg.mtu, 0);
	assert_false(conf->wg.behind_nat);
	assert_int_equal(conf->noverlay, 0);
	addr_endpoint_format(&conf->gossip.bind, buf);
	assert_string_equal(buf, "0.0.0.0:7946");
	assert_false(conf->gossip.has_advertise);
	assert_int_equal(conf->gossip.nseeds, 0);
	assert_int_equal(conf->gossip.profile, CONF_GOSSIP_LAN);
	{
		struct gossip_profile lan;

		gossip_profile_lan(&lan);
		assert_timing_equal(&conf->gossip.timing, &lan);
	}
	assert_int_equal(conf->gossip.dead_hold, CONF_DEFAULT_DEAD_HOLD);
	assert_string_equal(conf->gossip.state_file, CONF_DEFAULT_STATE_FILE);
	assert_int_equal(conf->nprefixes, 0);
	assert_int_equal(conf->routing.table, CONF_DEFAULT_TABLE);
	assert_int_equal(conf->routing.protocol, CONF_DEFAULT_PROTOCOL);
	assert_int_equal(conf->nsegments, 0);
	assert_int_equal(conf->ntrust, 0);
	assert_string_equal(conf->control.socket, CONF_DEFAULT_SOCKET);
	assert_int_equal(conf->control.mode, CONF_DEFAULT_SOCKET_MODE);
	assert_null(conf->control.group);
	conf_free(conf);
}

/* Every value the profile's own check accepts at the ends of each range is taken as is. */
static const struct {
	const char *text; /* the gossip group's settings */
	size_t off;       /* the field checked, in struct gossip_profile */
	uint32_t want;
} good_timing[] = {
        {"probe_interval = 10; probe_timeout = 9;",
         offsetof(struct gossip_profile, probe_interval_ms), 10},
        {"probe_interval = 600000;", offsetof(struct gossip_profile, probe_interval_ms), 600000},
        {"probe_timeout = 1;", offsetof(struct gossip_profile, probe_timeout_ms), 1},
        {"probe_interval = 600000; probe_timeout = 599999;",
         offsetof(struct gossip_profile, probe_timeout_ms), 599999},
        {"probe_timeout = 0x3E7;", offsetof(struct gossip_profile, probe_timeout_ms), 999},
        {"indirect_checks = 0;", offsetof(struct gossip_profile, indirect_checks), 0},
        {"indirect_checks = 16;", offsetof(struct gossip_profile, indirect_checks), 16},
        {"suspicion_mult = 1;", offsetof(struct gossip_profile, suspicion_mult), 1},
        {"suspicion_mult = 100;", offsetof(struct gossip_profile, suspicion_mult), 100},
        {"suspicion_max_mult = 1;", offsetof(struct gossip_profile, suspicion_max_mult), 1},
        {"suspicion_max_mult = 100;", offsetof(struct gossip_profile, suspicion_max_mult), 100},
        {"retransmit_mult = 1;", offsetof(struct gossip_profile, retransmit_mult), 1},
        {"retransmit_mult = 100;", offsetof(struct gossip_profile, retransmit_mult), 100},
        {"gossip_interval = 10;", offsetof(struct gossip_profile, gossip_interval_ms), 10},
        {"gossip_interval = 600000;", offsetof(struct gossip_profile, gossip_interval_ms), 600000},
        {"gossip_fanout = 1;", offsetof(struct gossip_profile, gossip_fanout), 1},
        {"gossip_fanout = 16;", offsetof(struct gossip_profile, gossip_fanout), 16},
        {"sync_interval = 100;", offsetof(struct gossip_profile, sync_interval_ms), 100},
        {"sync_interval = 3600000;", offsetof(struct gossip_profile, sync_interval_ms), 3600000},
        {"reconnect_interval = 100;", offsetof(struct gossip_profile, reconnect_interval_ms), 100},
        {"reconnect_interval = 3600000;", offsetof(struct gossip_profile, reconnect_interval_ms),
         3600000},
        {"join_backoff_min = 10;", offsetof(struct gossip_profile, join_backoff_min_ms), 10},
        {"join_backoff_min = 30000;", offsetof(struct gossip_profile, join_backoff_min_ms), 30000},
        {"join_backoff_min = 3600000; join_backoff_max = 3600000;",
         offsetof(struct gossip_profile, join_backoff_min_ms), 3600000},
        {"join_backoff_min = 10; join_backoff_max = 10;",
         offsetof(struct gossip_profile, join_backoff_max_ms), 10},
        {"join_backoff_max = 3600000;", offsetof(struct gossip_profile, join_backoff_max_ms),
         3600000},
        {"awareness_max = 1;", offsetof(struct gossip_profile, awareness_max), 1},
        {"awareness_max = 32;", offsetof(struct gossip_profile, awareness_max), 32},
};

static uint32_t
timing_at(const struct gossip_profile *p, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)p + off, sizeof(v));
	return v;
}

static void
test_gossip_good(void **state)
{
	struct gossip_profile lan, wan;
	struct conf *conf;
	char text[512];

	(void)state;
	gossip_profile_lan(&lan);
	gossip_profile_wan(&wan);
	for (size_t i = 0; i < sizeof(good_timing) / sizeof(good_timing[0]); i++) {
		snprintf(text, sizeof(text), HEAD "gossip = { %s };\n", good_timing[i].text);
		conf = load_ok(text);
		if (timing_at(&conf->gossip.timing, good_timing[i].off) != good_timing[i].want)
			fail_msg("case %zu (%s): got %u", i, good_timing[i].text,
			         timing_at(&conf->gossip.timing, good_timing[i].off));
		assert_int_equal(gossip_profile_check(&conf->gossip.timing, NULL, 0), 0);
		conf_free(conf);
	}

	/* Each profile's values, and only the overridden one changed. */
	conf = load_ok(HEAD "gossip = { profile = \"wan\"; };\n");
	assert_int_equal(conf->gossip.profile, CONF_GOSSIP_WAN);
	assert_timing_equal(&conf->gossip.timing, &wan);
	conf_free(conf);
	conf = load_ok(HEAD "gossip = { profile = \"lan\"; };\n");
	assert_int_equal(conf->gossip.profile, CONF_GOSSIP_LAN);
	assert_timing_equal(&conf->gossip.timing, &lan);
	conf_free(conf);
	assert_int_not_equal(lan.probe_interval_ms, wan.probe_interval_ms);

	/* An override is judged against the profile chosen: a timeout of 1500 ms fits the WAN
	 * probe interval (2000) but not the LAN one (1000). */
	conf = load_ok(HEAD "gossip = { profile = \"wan\"; probe_timeout = 1500; };\n");
	wan.probe_timeout_ms = 1500;
	assert_timing_equal(&conf->gossip.timing, &wan);
	conf_free(conf);
	{
		struct conf_errors errs = {0};

		assert_null(load(HEAD "gossip = { probe_timeout = 1500; };\n", &errs));
		assert_int_equal(errs.n, 1);
		assert_string_equal(errs.msgs[0], "t.conf:3: gossip.probe_timeout: probe timeout "
		                                  "must be 1 ms .. less than the probe interval");
		conf_errors_free(&errs);
	}

	/* Written after the profile or before it, the override wins. */
	conf = load_ok(HEAD "gossip = { gossip_fanout = 7; lifeguard = false;\n"
	                    "\tprofile = \"wan\"; };\n");
	gossip_profile_wan(&wan);
	wan.gossip_fanout = 7;
	wan.lifeguard = false;
	assert_timing_equal(&conf->gossip.timing, &wan);
	conf_free(conf);

	conf = load_ok(HEAD "gossip = { lifeguard = true; dead_hold = 0;\n"
	                    "\tstate_file = \"/srv/netd/state\"; };\n");
	assert_true(conf->gossip.timing.lifeguard);
	assert_int_equal(conf->gossip.dead_hold, 0);
	assert_string_equal(conf->gossip.state_file, "/srv/netd/state");
	conf_free(conf);
	conf = load_ok(HEAD "gossip = { dead_hold = 86400; };\n");
	assert_int_equal(conf->gossip.dead_hold, 86400);
	conf_free(conf);

	conf = load_ok("site = { name = \"alpha\"; };\n"
	               "wireguard = { private_key_file = \"@KEY@\"; behind_nat = true; };\n");
	assert_true(conf->wg.behind_nat);
	conf_free(conf);
}

/* Each profile's timing as netd.conf(5) gives it (LAN / WAN), setting by setting: no profile
 * is the LAN one, and "wan" takes its own wherever the page gives two values. */
static void
test_profiles_as_documented(void **state)
{
	static const struct {
		const char *name;
		size_t off; /* in struct gossip_profile */
		uint32_t lan, wan;
	} doc[] = {
	        {"probe_interval", offsetof(struct gossip_profile, probe_interval_ms), 1000, 2000},
	        {"probe_timeout", offsetof(struct gossip_profile, probe_timeout_ms), 500, 1000},
	        {"indirect_checks", offsetof(struct gossip_profile, indirect_checks), 3, 3},
	        {"suspicion_mult", offsetof(struct gossip_profile, suspicion_mult), 3, 4},
	        {"suspicion_max_mult", offsetof(struct gossip_profile, suspicion_max_mult), 6, 6},
	        {"retransmit_mult", offsetof(struct gossip_profile, retransmit_mult), 4, 4},
	        {"gossip_interval", offsetof(struct gossip_profile, gossip_interval_ms), 200, 400},
	        {"gossip_fanout", offsetof(struct gossip_profile, gossip_fanout), 4, 4},
	        {"sync_interval", offsetof(struct gossip_profile, sync_interval_ms), 15000, 30000},
	        {"reconnect_interval", offsetof(struct gossip_profile, reconnect_interval_ms),
	         10000, 15000},
	        {"join_backoff_min", offsetof(struct gossip_profile, join_backoff_min_ms), 1000,
	         1000},
	        {"join_backoff_max", offsetof(struct gossip_profile, join_backoff_max_ms), 30000,
	         30000},
	        {"awareness_max", offsetof(struct gossip_profile, awareness_max), 8, 8},
	};
	struct conf *lan = load_ok(HEAD), *wan = load_ok(HEAD "gossip = { profile = \"wan\"; };\n");
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(doc) / sizeof(doc[0]); i++) {
		uint32_t l = timing_at(&lan->gossip.timing, doc[i].off);
		uint32_t w = timing_at(&wan->gossip.timing, doc[i].off);

		if (l != doc[i].lan || w != doc[i].wan) {
			print_error("gossip.%s: %u / %u, documented %u / %u\n", doc[i].name, l, w,
			            doc[i].lan, doc[i].wan);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	assert_true(lan->gossip.timing.lifeguard && wan->gossip.timing.lifeguard);
	conf_free(lan);
	conf_free(wan);
}

/* Every problem with the profile is reported, each at the setting that causes it; a setting
 * out of its own range is reported alone, not again as a broken profile. */
static void
test_gossip_errors(void **state)
{
	static const char *const want[] = {
	        "t.conf:4: gossip.probe_timeout: probe timeout must be 1 ms .. less than the "
	        "probe interval",
	        "t.conf:6: gossip.join_backoff_min: join backoff must be 10 ms <= min <= max <= "
	        "3600000 ms",
	};
	struct conf_errors errs = {0};

	(void)state;
	assert_null(load(HEAD "gossip = {\n"
	                      "\tprobe_timeout = 1200;\n"
	                      "\tjoin_backoff_max = 5000;\n"
	                      "\tjoin_backoff_min = 6000;\n"
	                      "};\n",
	                 &errs));
	for (size_t i = 0; i < errs.n; i++)
		print_message("%s\n", errs.msgs[i]);
	assert_int_equal(errs.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < errs.n; i++)
		assert_string_equal(errs.msgs[i], want[i]);
	conf_errors_free(&errs);

	/* Putting the timeout back (500) would trade one complaint for another; putting the
	 * backoff minimum back makes the profile valid, so that is the setting to blame. */
	assert_null(load(HEAD "gossip = {\n"
	                      "\tprobe_interval = 400;\n"
	                      "\tjoin_backoff_min = 50000;\n"
	                      "\tprobe_timeout = 300;\n"
	                      "};\n",
	                 &errs));
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msgs[0], "t.conf:5: gossip.join_backoff_min: join backoff must be "
	                                  "10 ms <= min <= max <= 3600000 ms");
	conf_errors_free(&errs);

	/* 0 is refused on its own; the LAN timeout (500) against an interval of 400 would be
	 * a second complaint about what is really one mistake. */
	assert_null(
	        load(HEAD "gossip = {\n\tprobe_interval = 400;\n\tprobe_timeout = 0; };\n", &errs));
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msgs[0], "t.conf:5: gossip.probe_timeout: 0 is not a time in "
	                                  "milliseconds (1..599999)");
	conf_errors_free(&errs);
}

static const char full_config[] =
        "# A site with everything set.\n"
        "site = { name = \"alpha\"; log_level = \"debug\"; };\n"
        "wireguard = {\n"
        "\tinterface = \"wg0\";\n"
        "\tlisten_port = 51821;\n"
        "\tprivate_key_file = \"@KEY@\";\n"
        "\tbackend = \"userspace\";\n"
        "\tuserspace_command = \"/usr/bin/wireguard-go\";\n"
        "\tfwmark = 0xFFFFFFFF;\n"
        "\tmtu = 1420;\n"
        "};\n"
        "overlay = [ \"fd99:0:0:0::1\", \"10.99.0.1\" ];\n"
        "gossip = {\n"
        "\tbind = \"[::]:7947\";\n"
        "\tadvertise = \"2001:DB8::1\";\n"
        "\tseeds = [ \"198.51.100.2\", \"[2001:db8:0::2]:7000\" ];\n"
        "};\n"
        "prefixes = [ \"10.1.0.0/16\", \"2001:db8:1:0::/48\", \"192.0.2.128/25\" ];\n"
        "routing = { table = \"main\"; protocol = 5; };\n"
        "segments = (\n"
        "\t{ name = \"tenant-a\"; vni = 100; ports = [ \"eth1\", \"eth2\" ]; },\n"
        "\t{ name = \"tenant-b\"; vni = 16777215; bridge = \"br0\"; vxlan_port = 8472; }\n"
        ");\n"
        "trust = (\n"
        "\t{ name = \"beta\"; public_key = \"" BOB_PUB "\";\n"
        "\t  prefixes = [ \"2001:db8:2::/48\" ]; overlay = [ \"FD99::2\", \"10.98.0.0/30\" ];\n"
        "\t  vnis = [ 100, 16777215 ]; },\n"
        "\t{ name = \"gamma\"; public_key = \"" CAROL_PUB "\"; }\n"
        ");\n"
        "control = { socket = \"/run/netd/ctl.sock\"; mode = \"0600\"; group = \"adm\"; };\n";

/* Every federation and policy setting, on known lines. */
static const char fed_config[] = HEAD                                            /* 1-2 */
        "overlay = [ \"10.99.0.1\" ];\n"                                         /* 3 */
        "segments = ( { name = \"a\"; vni = 100; } );\n"                         /* 4 */
        "federation = {\n"                                                       /* 5 */
        "\tname = \"lab\";\n"                                                    /* 6 */
        "\tauthorities = [ \"@AUTH1@\", \"@AUTH2@\",\n"                          /* 7 */
        "\t\t\"@AUTH3@\" ];\n"                                                   /* 8 */
        "\tthreshold = 2;\n"                                                     /* 9 */
        "\tcredential = \"@CRED@\";\n"                                           /* 10 */
        "\tpin_authorities = true;\n"                                            /* 11 */
        "\tprovider = \"acme cloud\";\n"                                         /* 12 */
        "\tjurisdiction = \"DE\";\n"                                             /* 13 */
        "\tlabels = { tier = \"edge\"; zone = \"eu-1\"; };\n"                    /* 14 */
        "};\n"                                                                   /* 15 */
        "policy = {\n"                                                           /* 16 */
        "\tdeny = [ \"site-x\", \"site-y\" ];\n"                                 /* 17 */
        "\trequire = [ \"jurisdiction=DE,FR\",\n"                                /* 18 */
        "\t\t\"provider!=evil\" ];\n"                                            /* 19 */
        "\tsegments = ( { vni = 100; require = [ \"tier=edge\" ]; } );\n"        /* 20 */
        "\tnarrow = ( { site = \"beta\"; prefixes = [ \"10.2.1.0/24\" ]; } );\n" /* 21 */
        "};\n";

static void
test_full(void **state)
{
	struct conf *conf = load_ok(full_config);
	char buf[64], b64[KEY_BASE64_SIZE];

	(void)state;
	assert_int_equal(conf->log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(conf->wg.interface, "wg0");
	assert_int_equal(conf->wg.listen_port, 51821);
	assert_int_equal(conf->wg.backend, CONF_BACKEND_USERSPACE);
	assert_string_equal(conf->wg.userspace_command, "/usr/bin/wireguard-go");
	assert_int_equal(conf->wg.fwmark, 0xFFFFFFFFu);
	assert_int_equal(conf->wg.mtu, 1420);
	key_to_base64(b64, conf->wg.private_key);
	assert_string_equal(b64, ALICE_PRIV);
	key_to_base64(b64, conf->wg.public_key);
	assert_string_equal(b64, ALICE_PUB);

	assert_int_equal(conf->noverlay, 2);
	addr_format(&conf->overlay[0].addr, buf);
	assert_string_equal(buf, "fd99::1");
	assert_int_equal(conf->overlay[0].len, 128);
	addr_format(&conf->overlay[1].addr, buf);
	assert_string_equal(buf, "10.99.0.1");

	addr_endpoint_format(&conf->gossip.bind, buf);
	assert_string_equal(buf, "[::]:7947");
	assert_true(conf->gossip.has_advertise);
	addr_format(&conf->gossip.advertise.addr, buf);
	assert_string_equal(buf, "2001:db8::1");
	assert_int_equal(conf->gossip.nseeds, 2);
	addr_endpoint_format(&conf->gossip.seeds[0], buf);
	assert_string_equal(buf, "198.51.100.2:7946");
	addr_endpoint_format(&conf->gossip.seeds[1], buf);
	assert_string_equal(buf, "[2001:db8::2]:7000");

	assert_int_equal(conf->nprefixes, 3);
	addr_prefix_format(&conf->prefixes[1], buf);
	assert_string_equal(buf, "2001:db8:1::/48");
	assert_int_equal(conf->prefixes[2].len, 25);
	assert_int_equal(conf->routing.table, CONF_TABLE_MAIN);
	assert_int_equal(conf->routing.protocol, 5);

	assert_int_equal(conf->nsegments, 2);
	assert_string_equal(conf->segments[0].name, "tenant-a");
	assert_int_equal(conf->segments[0].vni, 100);
	assert_string_equal(conf->segments[0].bridge, "br-tenant-a");
	assert_int_equal(conf->segments[0].nports, 2);
	assert_string_equal(conf->segments[0].ports[1], "eth2");
	assert_int_equal(conf->segments[0].vxlan_port, CONF_DEFAULT_VXLAN_PORT);
	assert_int_equal(conf->segments[0].line, 21);
	assert_string_equal(conf->segments[1].bridge, "br0");
	assert_int_equal(conf->segments[1].vni, CONF_VNI_MAX);
	assert_int_equal(conf->segments[1].nports, 0);
	assert_int_equal(conf->segments[1].vxlan_port, 8472);

	assert_int_equal(conf->ntrust, 2);
	assert_string_equal(conf->trust[0].name, "beta");
	key_to_base64(b64, conf->trust[0].public_key);
	assert_string_equal(b64, BOB_PUB);
	assert_int_equal(conf->trust[0].nprefixes, 1);
	/* An address is a grant of its full length, a prefix a range. */
	assert_int_equal(conf->trust[0].noverlay, 2);
	addr_prefix_format(&conf->trust[0].overlay[0], buf);
	assert_string_equal(buf, "fd99::2/128");
	addr_prefix_format(&conf->trust[0].overlay[1], buf);
	assert_string_equal(buf, "10.98.0.0/30");
	assert_int_equal(conf->trust[1].noverlay, 0);
	assert_int_equal(conf->trust[0].nvnis, 2);
	assert_int_equal(conf->trust[0].vnis[1], CONF_VNI_MAX);
	assert_int_equal(conf->trust[0].line, 25);
	assert_int_equal(conf->trust[1].nprefixes, 0);
	assert_int_equal(conf->trust[1].nvnis, 0);

	assert_string_equal(conf->control.socket, "/run/netd/ctl.sock");
	assert_int_equal(conf->control.mode, 0600);
	assert_string_equal(conf->control.group, "adm");
	assert_string_equal(conf->file, "t.conf");
	conf_free(conf);
}

/* Quirks of the syntax that must still give the intended values. */
static void
test_syntax_forms(void **state)
{
	struct conf *conf;

	(void)state;
	conf = load_ok("site : { name = \"al\" \"pha\"; }; // adjacent strings are joined\n"
	               "/* 99999999999 in a comment is not a number */\n"
	               "wireguard = { private_key_file = \"@KEY@\"; listen_port = 51820L;\n"
	               "\tfwmark = 0x10; mtu = 1280; };\n"
	               "# \"a string in a comment\"\n"
	               "routing = { table = 4294967295; protocol = 255; };\n"
	               "segments = []; trust = [];\n");
	assert_string_equal(conf->site_name, "alpha");
	assert_int_equal(conf->wg.listen_port, 51820);
	assert_int_equal(conf->wg.fwmark, 16);
	assert_int_equal(conf->wg.mtu, 1280);
	assert_int_equal(conf->routing.table, 4294967295u);
	assert_int_equal(conf->routing.protocol, 255);
	conf_free(conf);
}

/* Lines of list elements are exact even when the list spans lines. */
static void
test_element_lines(void **state)
{
	struct conf_errors errs = {0};

	(void)state;
	assert_null(load(HEAD "prefixes = [\n"
	                      "\t\"10.1.0.0/16\",\n"
	                      "\t\"10.2.0.1/16\"\n"
	                      "];\n"
	                      "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\";\n"
	                      "\tvnis = [\n\t\t1,\n\t\t0\n\t]; } );\n",
	                 &errs));
	assert_int_equal(errs.n, 2);
	assert_string_equal(errs.msgs[0],
	                    "t.conf:5: prefixes[1]: 10.2.0.1/16 has host bits set (the "
	                    "prefix is 10.2.0.0/16)");
	assert_string_equal(errs.msgs[1],
	                    "t.conf:10: trust[0].vnis[1]: 0 is not a VNI (1..16777215)");
	conf_errors_free(&errs);
}

static struct conf *
reparse(const struct conf *conf, char **text)
{
	struct conf_errors errs = {0};
	struct conf *again;
	size_t len;
	FILE *out = open_memstream(text, &len);

	assert_non_null(out);
	assert_int_equal(conf_print(conf, out), 0);
	assert_int_equal(fclose(out), 0);
	again = conf_load_string(*text, "printed.conf", &errs);
	for (size_t i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	assert_non_null(again);
	conf_errors_free(&errs);
	return again;
}

static void
round_trip(const char *text)
{
	struct conf *conf = load_ok(text), *again, *third;
	char *first, *second;

	again = reparse(conf, &first);
	assert_true(conf_equal(conf, again));
	third = reparse(again, &second);
	assert_true(conf_equal(again, third));
	assert_string_equal(first, second);
	free(first);
	free(second);
	conf_free(conf);
	conf_free(again);
	conf_free(third);
}

static void
test_round_trip(void **state)
{
	(void)state;
	round_trip(HEAD);
	round_trip(full_config);
	/* Paths may hold characters that must be escaped to print. */
	round_trip(HEAD "control = { socket = \"/run/a \\\"quoted\\\" \\\\ dir/s\"; };\n");
	round_trip("site = { name = \"alpha\"; };\n"
	           "wireguard = { private_key_file = \"@KEY@\"; behind_nat = true; };\n"
	           "gossip = { profile = \"wan\"; probe_interval = 5000; probe_timeout = 4999;\n"
	           "\tindirect_checks = 0; suspicion_mult = 100; suspicion_max_mult = 1;\n"
	           "\tretransmit_mult = 2; gossip_interval = 10; gossip_fanout = 16;\n"
	           "\tsync_interval = 100; reconnect_interval = 3600000; join_backoff_min = 10;\n"
	           "\tjoin_backoff_max = 10; awareness_max = 1; lifeguard = false; dead_hold = 0;\n"
	           "\tstate_file = \"/srv/netd \\\"state\\\"/g\"; };\n");
	round_trip(HEAD "gossip = { profile = \"wan\"; };\n");
	round_trip(fed_config);
	/* A policy without a federation (deny and narrow hold for trust entries too), and a
	 * federation with nothing optional. */
	round_trip(HEAD "policy = { deny = [ \"x\" ]; };\n");
	round_trip(HEAD "policy = { narrow = ( { site = \"b\"; prefixes = []; } ); };\n");
	round_trip(HEAD FED "};\n");
}

static void
test_print_canonical(void **state)
{
	struct conf *conf = load_ok(full_config);
	char *text;
	size_t len;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_int_equal(conf_print(conf, out), 0);
	fclose(out);
	assert_non_null(strstr(text, "overlay = [ \"fd99::1\", \"10.99.0.1\" ];\n"));
	assert_non_null(strstr(text, "\tadvertise = \"2001:db8::1\";\n"));
	assert_non_null(
	        strstr(text, "\tseeds = [ \"198.51.100.2:7946\", \"[2001:db8::2]:7000\" ];\n"));
	assert_non_null(strstr(text, "\ttable = 254;\n"));
	assert_non_null(strstr(text, "\tfwmark = 4294967295;\n"));
	assert_non_null(strstr(text, "\t\tbridge = \"br-tenant-a\";\n"));
	assert_non_null(strstr(text, "\tmode = \"0600\";\n"));
	assert_non_null(strstr(text, "# public key: " ALICE_PUB "\n"));
	/* The profile's values are printed too, so that the output does not depend on them. */
	assert_non_null(strstr(text, "\tprofile = \"lan\";\n\tprobe_interval = 1000;\n"
	                             "\tprobe_timeout = 500;\n"));
	assert_non_null(strstr(text, "\tlifeguard = true;\n\tdead_hold = 30;\n"));
	assert_non_null(strstr(text, "\tbehind_nat = false;\n"));
	/* The private key is in its file, never in the printed config. */
	assert_null(strstr(text, ALICE_PRIV));
	free(text);
	conf_free(conf);
}

static void
test_equal(void **state)
{
	struct conf *a = load_ok(full_config), *b = load_ok(full_config), *c, *a2;

	(void)state;
	assert_true(conf_equal(a, b));
	assert_true(conf_equal(b, a));
	/* Written differently, meaning the same. */
	c = load_ok(HEAD "routing = { table = 254; };\n");
	conf_free(b);
	b = load_ok("site={name=\"alpha\";log_level=\"info\";};\n"
	            "wireguard={private_key_file=\"@KEY@\";listen_port=51820;};\n"
	            "routing = { table = \"main\"; }; gossip = { bind = \"0.0.0.0\"; };\n");
	assert_true(conf_equal(b, c));
	conf_free(b);
	conf_free(c);
	/* The defaults written out are the defaults. */
	c = load_ok(HEAD);
	b = load_ok(HEAD "gossip = { profile = \"lan\"; probe_interval = 1000; lifeguard = true;\n"
	                 "\tdead_hold = 30; state_file = \"" CONF_DEFAULT_STATE_FILE "\"; };\n");
	assert_true(conf_equal(b, c));
	conf_free(b);
	conf_free(c);
	/* The same timing under another profile's name is another configuration: the profile
	 * is reported as set. */
	b = load_ok(HEAD "gossip = { profile = \"wan\"; };\n");
	c = load_ok(HEAD "gossip = { probe_interval = 2000; probe_timeout = 1000;\n"
	                 "\tsuspicion_mult = 4; gossip_interval = 400; sync_interval = 30000;\n"
	                 "\treconnect_interval = 15000; };\n");
	assert_timing_equal(&b->gossip.timing, &c->gossip.timing);
	assert_false(conf_equal(b, c));
	conf_free(b);
	conf_free(c);

	/* Each of these differs from HEAD in one thing. */
	static const char *const different[] = {
	        "site = { name = \"alphb\"; };\nwireguard = { private_key_file = \"@KEY@\"; };\n",
	        HEAD "overlay = [ \"10.99.0.1\" ];\n",
	        HEAD "gossip = { bind = \"0.0.0.0:7947\"; };\n",
	        HEAD "gossip = { advertise = \"198.51.100.1\"; };\n",
	        HEAD "gossip = { seeds = [ \"198.51.100.1\" ]; };\n",
	        HEAD "prefixes = [ \"10.1.0.0/16\" ];\n",
	        HEAD "routing = { protocol = 201; };\n",
	        HEAD "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\"; } );\n",
	        HEAD "control = { group = \"adm\"; };\n",
	        HEAD "control = { mode = \"0600\"; };\n",
	        "site = { name = \"alpha\"; };\n"
	        "wireguard = { private_key_file = \"@KEY@\"; behind_nat = true; };\n",
	        HEAD "gossip = { profile = \"wan\"; };\n",
	        HEAD "gossip = { probe_interval = 1001; };\n",
	        HEAD "gossip = { probe_timeout = 501; };\n",
	        HEAD "gossip = { indirect_checks = 4; };\n",
	        HEAD "gossip = { suspicion_mult = 4; };\n",
	        HEAD "gossip = { suspicion_max_mult = 7; };\n",
	        HEAD "gossip = { retransmit_mult = 5; };\n",
	        HEAD "gossip = { gossip_interval = 201; };\n",
	        HEAD "gossip = { gossip_fanout = 5; };\n",
	        HEAD "gossip = { sync_interval = 15001; };\n",
	        HEAD "gossip = { reconnect_interval = 10001; };\n",
	        HEAD "gossip = { join_backoff_min = 1001; };\n",
	        HEAD "gossip = { join_backoff_max = 30001; };\n",
	        HEAD "gossip = { awareness_max = 9; };\n",
	        HEAD "gossip = { lifeguard = false; };\n",
	        HEAD "gossip = { dead_hold = 31; };\n",
	        HEAD "gossip = { state_file = \"/var/lib/netd/other.state\"; };\n",
	};
	c = load_ok(HEAD);
	/* An overlay grant is part of a trust entry. */
	a2 = load_ok(HEAD "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\"; } );\n");
	b = load_ok(HEAD "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\";\n"
	                 "\toverlay = [ \"10.98.0.2\" ]; } );\n");
	assert_false(conf_equal(a2, b));
	conf_free(a2);
	conf_free(b);
	for (size_t i = 0; i < sizeof(different) / sizeof(different[0]); i++) {
		b = load_ok(different[i]);
		if (conf_equal(b, c))
			fail_msg("case %zu compares equal to the defaults", i);
		conf_free(b);
	}
	conf_free(c);
	conf_free(a);
}

/* What a reload takes is sorted by setting: each case differs from HEAD in one setting. */
static void
test_changes(void **state)
{
	static const struct {
		const char *text;
		unsigned want;
	} cases[] = {
	        {HEAD, 0},
	        {HEAD "prefixes = [ \"10.1.0.0/16\" ];\n", CONF_CHANGE_LIVE},
	        {HEAD "overlay = [ \"10.99.0.1\" ];\n", CONF_CHANGE_LIVE},
	        {HEAD "gossip = { advertise = \"198.51.100.1\"; };\n", CONF_CHANGE_LIVE},
	        {HEAD "gossip = { dead_hold = 31; };\n", CONF_CHANGE_LIVE},
	        {HEAD "routing = { protocol = 201; };\n", CONF_CHANGE_LIVE},
	        {HEAD "gossip = { bind = \"0.0.0.0:7947\"; };\n", CONF_CHANGE_GOSSIP_BIND},
	        {HEAD "gossip = { seeds = [ \"198.51.100.1\" ]; };\n", CONF_CHANGE_GOSSIP},
	        {HEAD "gossip = { probe_interval = 1001; };\n", CONF_CHANGE_GOSSIP},
	        {HEAD "gossip = { state_file = \"/var/lib/netd/other.state\"; };\n",
	         CONF_CHANGE_GOSSIP},
	        {HEAD "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\"; } );\n",
	         CONF_CHANGE_GOSSIP},
	        /* The profile's name is shown; its timing is what gossip runs on. */
	        {HEAD "gossip = { profile = \"wan\"; };\n", CONF_CHANGE_LIVE | CONF_CHANGE_GOSSIP},
	        {"site = { name = \"alphb\"; };\nwireguard = { private_key_file = \"@KEY@\"; };\n",
	         CONF_CHANGE_GOSSIP},
	        {HEAD "control = { mode = \"0600\"; };\n", CONF_CHANGE_CONTROL},
	        {HEAD "control = { group = \"adm\"; };\n", CONF_CHANGE_CONTROL},
	        {HEAD FED "};\n", CONF_CHANGE_GOSSIP},
	        {HEAD "policy = { deny = [ \"beta\" ]; };\n", CONF_CHANGE_LIVE},
	};
	struct conf *base = load_ok(HEAD), *a, *b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *c = load_ok(cases[i].text);

		if (conf_changes(base, c) != cases[i].want ||
		    conf_changes(c, base) != cases[i].want)
			fail_msg("case %zu: changes 0x%x, want 0x%x", i, conf_changes(base, c),
			         cases[i].want);
		conf_free(c);
	}
	/* A trust entry's overlay grant is part of the trust gossip admits by. */
	a = load_ok(HEAD "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\"; } );\n");
	b = load_ok(HEAD "trust = ( { name = \"beta\"; public_key = \"" BOB_PUB "\";\n"
	                 "\toverlay = [ \"10.98.0.2\" ]; } );\n");
	assert_int_equal(conf_changes(a, b), CONF_CHANGE_GOSSIP);
	conf_free(a);
	conf_free(b);
	conf_free(base);
}

static void
test_json(void **state)
{
	struct conf *conf = load_ok(full_config);
	json_t *j = conf_to_json(conf), *seg, *t;
	char *text;

	(void)state;
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	assert_null(strstr(text, ALICE_PRIV));
	assert_null(strstr(text, "private_key\""));
	free(text);
	assert_string_equal(json_string_value(json_object_get(j, "file")), "t.conf");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "site"), "name")),
	                    "alpha");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(j, "wireguard"), "public_key")),
	        ALICE_PUB);
	assert_int_equal(
	        json_integer_value(json_object_get(json_object_get(j, "wireguard"), "fwmark")),
	        4294967295LL);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "overlay"), 0)),
	                    "fd99::1");
	assert_true(json_is_string(json_object_get(json_object_get(j, "gossip"), "advertise")));
	seg = json_array_get(json_object_get(j, "segments"), 0);
	assert_string_equal(json_string_value(json_object_get(seg, "bridge")), "br-tenant-a");
	assert_int_equal(json_array_size(json_object_get(seg, "ports")), 2);
	t = json_array_get(json_object_get(j, "trust"), 0);
	assert_string_equal(json_string_value(json_object_get(t, "public_key")), BOB_PUB);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(t, "vnis"), 1)),
	                 CONF_VNI_MAX);
	assert_string_equal(json_string_value(json_array_get(json_object_get(t, "overlay"), 1)),
	                    "10.98.0.0/30");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(j, "control"), "mode")), "0600");
	{
		json_t *g = json_object_get(j, "gossip"), *tm = json_object_get(g, "timing");

		assert_false(json_is_true(
		        json_object_get(json_object_get(j, "wireguard"), "behind_nat")));
		assert_true(json_is_false(
		        json_object_get(json_object_get(j, "wireguard"), "behind_nat")));
		assert_string_equal(json_string_value(json_object_get(g, "profile")), "lan");
		assert_int_equal(json_integer_value(json_object_get(tm, "probe_interval")), 1000);
		assert_int_equal(json_integer_value(json_object_get(tm, "join_backoff_max")),
		                 30000);
		assert_true(json_is_true(json_object_get(tm, "lifeguard")));
		assert_int_equal(json_object_size(tm), 14);
		assert_int_equal(json_integer_value(json_object_get(g, "dead_hold")),
		                 CONF_DEFAULT_DEAD_HOLD);
		assert_string_equal(json_string_value(json_object_get(g, "state_file")),
		                    CONF_DEFAULT_STATE_FILE);
	}
	json_decref(j);
	conf_free(conf);

	conf = load_ok("site = { name = \"alpha\"; };\n"
	               "wireguard = { private_key_file = \"@KEY@\"; behind_nat = true; };\n"
	               "gossip = { profile = \"wan\"; awareness_max = 3; lifeguard = false;\n"
	               "\tdead_hold = 600; state_file = \"/srv/g.state\"; };\n");
	j = conf_to_json(conf);
	assert_non_null(j);
	{
		json_t *g = json_object_get(j, "gossip"), *tm = json_object_get(g, "timing");

		assert_true(json_is_true(
		        json_object_get(json_object_get(j, "wireguard"), "behind_nat")));
		assert_string_equal(json_string_value(json_object_get(g, "profile")), "wan");
		assert_int_equal(json_integer_value(json_object_get(tm, "probe_interval")), 2000);
		assert_int_equal(json_integer_value(json_object_get(tm, "awareness_max")), 3);
		assert_true(json_is_false(json_object_get(tm, "lifeguard")));
		assert_int_equal(json_integer_value(json_object_get(g, "dead_hold")), 600);
		assert_string_equal(json_string_value(json_object_get(g, "state_file")),
		                    "/srv/g.state");
	}
	json_decref(j);
	conf_free(conf);

	/* Unset optional settings are null. */
	conf = load_ok(HEAD);
	j = conf_to_json(conf);
	assert_true(json_is_null(json_object_get(json_object_get(j, "gossip"), "advertise")));
	assert_true(json_is_null(json_object_get(json_object_get(j, "control"), "group")));
	json_decref(j);
	conf_free(conf);
}

static void
test_federation(void **state)
{
	struct conf *conf = load_ok(fed_config);
	const struct conf_policy *p = &conf->policy;
	struct cred_authorities set;
	char b64[KEY_BASE64_SIZE], buf[ADDR_PREFIX_STRLEN];

	(void)state;
	assert_true(conf->federation.present);
	assert_int_equal(conf->federation.line, 5);
	assert_string_equal(conf->federation.name, "lab");
	assert_int_equal(conf->federation.nauthorities, 3);
	for (size_t i = 0; i < NAUTH; i++) {
		key_to_base64(b64, conf->federation.authorities[i]);
		assert_string_equal(b64, auth_b64[i]);
	}
	assert_int_equal(conf->federation.threshold, 2);
	assert_string_equal(conf->federation.credential_file, cred_good);
	assert_non_null(conf->federation.credential);
	assert_int_equal(conf->federation.credential->serial, 7);
	assert_int_equal(conf->federation.credential->nsigs, 2);
	assert_null(conf->federation.next_credential);
	assert_true(conf->federation.pin_authorities);
	assert_string_equal(conf->federation.provider, "acme cloud");
	assert_string_equal(conf->federation.jurisdiction, "DE");
	assert_int_equal(conf->federation.nlabels, 2);
	assert_string_equal(conf->federation.labels[1].key, "zone");
	assert_string_equal(conf->federation.labels[1].value, "eu-1");

	/* The set the credentials verify against: version 0, keys sorted. */
	conf_federation_set(conf, &set);
	assert_string_equal(set.federation, "lab");
	assert_int_equal(set.version, 0);
	assert_int_equal(set.nkeys, 3);
	assert_int_equal(set.threshold, 2);
	for (size_t i = 1; i < set.nkeys; i++)
		assert_true(memcmp(set.keys[i - 1], set.keys[i], CRED_KEY_LEN) < 0);

	assert_string_equal(p->file, "t.conf");
	assert_int_equal(p->ndeny, 2);
	assert_string_equal(p->deny[1].site, "site-y");
	assert_int_equal(p->deny[1].line, 17);
	assert_int_equal(p->nrequire, 2);
	assert_string_equal(p->require[0].key, "jurisdiction");
	assert_false(p->require[0].negated);
	assert_int_equal(p->require[0].nvalues, 2);
	assert_string_equal(p->require[0].values[1], "FR");
	assert_string_equal(p->require[0].name, "require jurisdiction=DE,FR");
	assert_string_equal(p->require[0].text, "jurisdiction=DE,FR");
	assert_int_equal(p->require[0].line, 18);
	assert_true(p->require[1].negated);
	assert_string_equal(p->require[1].key, "provider");
	assert_int_equal(p->require[1].line, 19);
	assert_int_equal(p->nsegments, 1);
	assert_int_equal(p->segments[0].vni, 100);
	assert_int_equal(p->segments[0].nrules, 1);
	assert_string_equal(p->segments[0].rules[0].name, "segment 100 require tier=edge");
	assert_int_equal(p->segments[0].line, 20);
	assert_int_equal(p->nnarrow, 1);
	assert_string_equal(p->narrow[0].site, "beta");
	assert_int_equal(p->narrow[0].nprefixes, 1);
	assert_string_equal(addr_prefix_format(&p->narrow[0].prefixes[0], buf), "10.2.1.0/24");
	assert_int_equal(p->narrow[0].line, 21);
	conf_free(conf);

	/* Without the sections: no federation, an empty policy. */
	conf = load_ok(HEAD);
	assert_false(conf->federation.present);
	assert_null(conf->federation.credential);
	assert_int_equal(conf->policy.ndeny + conf->policy.nrequire + conf->policy.nsegments +
	                         conf->policy.nnarrow,
	                 0);
	conf_free(conf);
}

/* text with its first occurrence of from replaced by to. */
static char *
replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	assert_non_null(at);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) > 0);
	return out;
}

/* Who is admitted (the federation, this site's credential) needs a new gossip instance;
 * the local policy and what the next credential request states are applied live. */
static void
test_federation_changes(void **state)
{
	static const struct {
		const char *from, *to;
		unsigned want;
	} cases[] = {
	        {"threshold = 2", "threshold = 3", CONF_CHANGE_GOSSIP},
	        {"pin_authorities = true", "pin_authorities = false", CONF_CHANGE_GOSSIP},
	        {"\"@AUTH3@\" ]", "\"" CAROL_PUB "\" ]", CONF_CHANGE_GOSSIP},
	        {"\tcredential = \"@CRED@\";\n", "", CONF_CHANGE_GOSSIP},
	        {"acme cloud", "acme", CONF_CHANGE_LIVE},
	        {"jurisdiction = \"DE\"", "jurisdiction = \"FR\"", CONF_CHANGE_LIVE},
	        {"eu-1", "eu-2", CONF_CHANGE_LIVE},
	        {"site-y", "site-z", CONF_CHANGE_LIVE},
	        {"provider!=evil", "provider!=bad", CONF_CHANGE_LIVE},
	        {"tier=edge", "tier=core", CONF_CHANGE_LIVE},
	        {"10.2.1.0/24", "10.2.2.0/24", CONF_CHANGE_LIVE},
	        {"\"site-x\", ", "", CONF_CHANGE_LIVE},
	};
	struct conf *base = load_ok(fed_config), *c;
	char dummy[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = replace(fed_config, cases[i].from, cases[i].to);

		c = load_ok(text);
		if (conf_changes(base, c) != cases[i].want ||
		    conf_changes(c, base) != cases[i].want)
			fail_msg("case %zu: changes 0x%x, want 0x%x", i, conf_changes(base, c),
			         cases[i].want);
		free(text);
		conf_free(c);
	}
	/* The credential counts by what it says, not by its file's name. */
	write_cred(dummy, "alpha.cred", "lab", "alpha", ALICE_PUB, 8);
	c = load_ok(fed_config);
	assert_int_equal(conf_changes(base, c), CONF_CHANGE_GOSSIP);
	conf_free(c);
	write_cred(dummy, "alpha.cred", "lab", "alpha", ALICE_PUB, 7);
	c = load_ok(fed_config);
	assert_true(conf_equal(base, c));
	conf_free(c);
	conf_free(base);
}

static void
test_federation_json(void **state)
{
	struct conf *conf = load_ok(fed_config);
	json_t *j = conf_to_json(conf), *f, *c, *p;
	char *text;

	(void)state;
	assert_non_null(j);
	f = json_object_get(j, "federation");
	assert_string_equal(json_string_value(json_object_get(f, "name")), "lab");
	assert_int_equal(json_array_size(json_object_get(f, "authorities")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(f, "authorities"), 2)),
	                    auth_b64[2]);
	assert_int_equal(json_integer_value(json_object_get(f, "threshold")), 2);
	assert_string_equal(json_string_value(json_object_get(f, "credential_file")), cred_good);
	c = json_object_get(f, "credential");
	assert_int_equal(json_integer_value(json_object_get(c, "serial")), 7);
	assert_int_equal(json_integer_value(json_object_get(c, "not_after")), 4102444800LL);
	assert_int_equal(json_array_size(json_object_get(c, "signers")), 2);
	assert_true(json_is_true(json_object_get(f, "pin_authorities")));
	assert_string_equal(json_string_value(json_object_get(f, "provider")), "acme cloud");
	assert_string_equal(json_string_value(json_object_get(f, "jurisdiction")), "DE");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(f, "labels"), "tier")), "edge");
	p = json_object_get(j, "policy");
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "deny"), 0)),
	                    "site-x");
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "require"), 1)),
	                    "provider!=evil");
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(json_object_get(p, "segments"), 0), "vni")),
	                 100);
	assert_string_equal(json_string_value(json_array_get(
	                            json_object_get(json_array_get(json_object_get(p, "narrow"), 0),
	                                            "prefixes"),
	                            0)),
	                    "10.2.1.0/24");
	/* A credential shows who signed it, never a signature. */
	text = json_dumps(j, JSON_COMPACT);
	assert_null(strstr(text, "\"sig\""));
	assert_null(strstr(text, "\"sigs\""));
	free(text);
	json_decref(j);
	conf_free(conf);

	/* No federation is null; no policy is empty lists. */
	conf = load_ok(HEAD);
	j = conf_to_json(conf);
	assert_true(json_is_null(json_object_get(j, "federation")));
	p = json_object_get(j, "policy");
	assert_int_equal(json_array_size(json_object_get(p, "deny")), 0);
	assert_int_equal(json_array_size(json_object_get(p, "narrow")), 0);
	json_decref(j);
	conf_free(conf);
}

static void
test_load_file(void **state)
{
	struct conf_errors errs = {0};
	char path[160], want[256], *text = subst(HEAD);
	struct conf *conf;

	(void)state;
	snprintf(path, sizeof(path), "%s/netd.conf", dir);
	write_file(path, text, 0644);
	free(text);
	conf = conf_load(path, &errs);
	assert_non_null(conf);
	assert_string_equal(conf->file, path);
	conf_free(conf);

	/* A NUL byte would hide the rest of the file from the parser. */
	write_file(path, "site = { name = \"alpha\"; };\n\n#", 0644);
	{
		FILE *f = fopen(path, "a");

		assert_non_null(f);
		fputc('\0', f);
		fclose(f);
	}
	assert_null(conf_load(path, &errs));
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want), "%s:3: contains a NUL byte", path);
	assert_string_equal(errs.msgs[0], want);
	conf_errors_free(&errs);
	unlink(path);

	assert_null(conf_load(path, &errs));
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(errs.msgs[0], want);
	conf_errors_free(&errs);

	assert_null(conf_load(dir, &errs));
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	assert_string_equal(errs.msgs[0], want);
	conf_errors_free(&errs);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(conf_backend_name(CONF_BACKEND_AUTO), "auto");
	assert_string_equal(conf_backend_name(CONF_BACKEND_KERNEL), "kernel");
	assert_string_equal(conf_backend_name(CONF_BACKEND_USERSPACE), "userspace");
	assert_string_equal(conf_gossip_profile_name(CONF_GOSSIP_LAN), "lan");
	assert_string_equal(conf_gossip_profile_name(CONF_GOSSIP_WAN), "wan");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bad_configs),
	        cmocka_unit_test(test_key_file_modes),
	        cmocka_unit_test(test_many_errors),
	        cmocka_unit_test(test_errors_append),
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_gossip_good),
	        cmocka_unit_test(test_profiles_as_documented),
	        cmocka_unit_test(test_gossip_errors),
	        cmocka_unit_test(test_full),
	        cmocka_unit_test(test_syntax_forms),
	        cmocka_unit_test(test_element_lines),
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_print_canonical),
	        cmocka_unit_test(test_equal),
	        cmocka_unit_test(test_changes),
	        cmocka_unit_test(test_json),
	        cmocka_unit_test(test_federation),
	        cmocka_unit_test(test_federation_changes),
	        cmocka_unit_test(test_federation_json),
	        cmocka_unit_test(test_load_file),
	        cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
