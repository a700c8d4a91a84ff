/* The local policy's verdicts: deny for every site, attribute rules for credential-admitted
 * sites only, per-segment rules, narrowing, and the sentences that name the rule's line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netd/conf.h"
#include "netd/key.h"
#include "netd/policy.h"

/* RFC 7748's test key: this site's. */
#define ALICE_PRIV "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="

/* The line numbers matter: the sentences name them. */
static const char policy_config[] =
        "site = { name = \"alpha\"; };\n"                                              /* 1 */
        "wireguard = { private_key_file = \"%s\"; };\n"                                /* 2 */
        "overlay = [ \"10.99.0.1\" ];\n"                                               /* 3 */
        "segments = ( { name = \"t\"; vni = 100; }, { name = \"u\"; vni = 200; } );\n" /* 4 */
        "federation = { name = \"lab\"; threshold = 1;\n"                              /* 5 */
        "\tauthorities = [ \"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\" ]; };\n"   /* 6 */
        "policy = {\n"                                                                 /* 7 */
        "\tdeny = [ \"site-x\" ];\n"                                                   /* 8 */
        "\trequire = [ \"jurisdiction=DE,FR\",\n"                                      /* 9 */
        "\t\t\"provider!=evil,worse\",\n"                                              /* 10 */
        "\t\t\"tier=edge,core,lab\" ];\n"                                              /* 11 */
        "\tsegments = ( { vni = 100; require = [ \"jurisdiction=DE\" ]; } );\n"        /* 12 */
        "\tnarrow = ( { site = \"b\"; prefixes = [ \"10.2.1.0/24\", \"fd00:2::/48\" ]; },\n"
        "\t\t{ site = \"c\"; prefixes = []; } );\n"
        "};\n";

static char dir[64], keyfile[128];
static struct conf *conf;

static int
group_setup(void **state)
{
	char *text;
	int fd;

	(void)state;
	strcpy(dir, "/tmp/netd-test-policy.XXXXXX");
	if (mkdtemp(dir) == NULL || key_init() < 0)
		return -1;
	snprintf(keyfile, sizeof(keyfile), "%s/private.key", dir);
	fd = open(keyfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, ALICE_PRIV "\n", 45) != 45 || close(fd) != 0)
		return -1;
	if (asprintf(&text, policy_config, keyfile) < 0)
		return -1;
	conf = conf_load_string(text, "t.conf", NULL);
	free(text);
	return conf != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	conf_free(conf);
	unlink(keyfile);
	return rmdir(dir);
}

/* A credential stating what the arguments say; NULL or "" leaves an attribute out. */
static struct cred
cred_with(const char *provider, const char *jurisdiction, const char *tier)
{
	struct cred c;

	memset(&c, 0, sizeof(c));
	snprintf(c.federation, sizeof(c.federation), "lab");
	snprintf(c.site, sizeof(c.site), "b");
	snprintf(c.provider, sizeof(c.provider), "%s", provider ? provider : "");
	snprintf(c.jurisdiction, sizeof(c.jurisdiction), "%s", jurisdiction ? jurisdiction : "");
	if (tier != NULL) {
		snprintf(c.labels[0].key, sizeof(c.labels[0].key), "tier");
		snprintf(c.labels[0].value, sizeof(c.labels[0].value), "%s", tier);
		c.nlabels = 1;
	}
	return c;
}

static void
test_site(void **state)
{
	static const struct {
		const char *site;
		bool credential; /* admitted by a credential, not by a trust entry */
		const char *provider, *jurisdiction, *tier;
		const char *rule; /* NULL: peered with */
		const char *why;
	} cases[] = {
	        /* deny holds for every site, however admitted */
	        {"site-x", false, NULL, NULL, NULL, "deny",
	         "policy rule at t.conf:8: site site-x is denied"},
	        {"site-x", true, "acme", "DE", "edge", "deny",
	         "policy rule at t.conf:8: site site-x is denied"},
	        /* a trust entry is not held to federation attributes */
	        {"b", false, NULL, NULL, NULL, NULL, ""},
	        {"b", true, "acme", "DE", "edge", NULL, ""},
	        {"b", true, "acme", "FR", "lab", NULL, ""},
	        {"b", true, "acme", "US", "edge", "require jurisdiction=DE,FR",
	         "policy rule at t.conf:9: jurisdiction is US, not DE or FR"},
	        {"b", true, "acme", NULL, "edge", "require jurisdiction=DE,FR",
	         "policy rule at t.conf:9: jurisdiction is not stated, must be DE or FR"},
	        {"b", true, "evil", "DE", "edge", "require provider!=evil,worse",
	         "policy rule at t.conf:10: provider is evil, which the rule excludes"},
	        {"b", true, "worse", "DE", "edge", "require provider!=evil,worse",
	         "policy rule at t.conf:10: provider is worse, which the rule excludes"},
	        /* an attribute not stated satisfies != */
	        {"b", true, NULL, "DE", "edge", NULL, ""},
	        {"b", true, "acme", "DE", NULL, "require tier=edge,core,lab",
	         "policy rule at t.conf:11: tier is not stated, must be edge, core or lab"},
	        {"b", true, "acme", "DE", "Edge", "require tier=edge,core,lab",
	         "policy rule at t.conf:11: tier is Edge, not edge, core or lab"},
	        /* the first rule that fails is the one named */
	        {"b", true, "evil", "US", NULL, "require jurisdiction=DE,FR",
	         "policy rule at t.conf:9: jurisdiction is US, not DE or FR"},
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cred c = cred_with(cases[i].provider, cases[i].jurisdiction, cases[i].tier);
		const char *rule;

		memset(why, 'x', sizeof(why));
		rule = policy_site(&conf->policy, cases[i].site, cases[i].credential ? &c : NULL,
		                   why, sizeof(why));
		if (cases[i].rule == NULL)
			assert_null(rule);
		else
			assert_string_equal(rule, cases[i].rule);
		assert_string_equal(why, cases[i].why);
	}
}

static void
test_segment(void **state)
{
	struct cred de = cred_with("acme", "DE", "edge"), fr = cred_with("acme", "FR", "edge");
	char why[256];

	(void)state;
	assert_null(policy_segment(&conf->policy, 100, &de, why, sizeof(why)));
	assert_string_equal(why, "");
	assert_string_equal(policy_segment(&conf->policy, 100, &fr, why, sizeof(why)),
	                    "segment 100 require jurisdiction=DE");
	assert_string_equal(why, "policy rule at t.conf:12: jurisdiction is FR, not DE");
	/* no rules for this segment; and a trust entry is not held to the rules */
	assert_null(policy_segment(&conf->policy, 200, &fr, why, sizeof(why)));
	assert_null(policy_segment(&conf->policy, 100, NULL, why, sizeof(why)));
}

/* A short buffer, or none, still gets the rule's name; the sentence is cut, not overrun. */
static void
test_short_why(void **state)
{
	struct cred us = cred_with("acme", "US", "edge");
	char why[12];

	(void)state;
	memset(why, 'x', sizeof(why));
	assert_string_equal(policy_site(&conf->policy, "b", &us, why, 10),
	                    "require jurisdiction=DE,FR");
	assert_string_equal(why, "policy ru");
	assert_int_equal(why[10], 'x');
	assert_string_equal(policy_site(&conf->policy, "b", &us, NULL, 0),
	                    "require jurisdiction=DE,FR");
	assert_string_equal(policy_site(&conf->policy, "site-x", NULL, why, 1), "deny");
	assert_string_equal(why, "");
}

static struct addr_prefix
pfx(const char *text)
{
	struct addr_prefix p;

	assert_int_equal(addr_prefix_parse(text, &p), 0);
	return p;
}

static void
test_narrow(void **state)
{
	struct addr_prefix in[] = {pfx("10.2.0.0/16"), pfx("10.2.1.0/24"), pfx("10.2.1.128/25"),
	                           pfx("10.2.2.0/24"), pfx("10.2.1.7/32"), pfx("fd00:2:0:1::/64"),
	                           pfx("fd00:3::/48")};
	size_t n = sizeof(in) / sizeof(in[0]);
	struct addr_prefix out[sizeof(in) / sizeof(in[0])];

	(void)state;
	/* b may claim what lies in 10.2.1.0/24 or fd00:2::/48, in the order given */
	assert_int_equal(policy_narrow(&conf->policy, "b", in, n, out), 4);
	assert_true(addr_prefix_equal(&out[0], &in[1]));
	assert_true(addr_prefix_equal(&out[1], &in[2]));
	assert_true(addr_prefix_equal(&out[2], &in[4]));
	assert_true(addr_prefix_equal(&out[3], &in[5]));
	/* c's entry lists nothing: it may claim nothing */
	assert_int_equal(policy_narrow(&conf->policy, "c", in, n, out), 0);
	/* without an entry, everything granted stays */
	assert_int_equal(policy_narrow(&conf->policy, "d", in, n, out), n);
	for (size_t i = 0; i < n; i++)
		assert_true(addr_prefix_equal(&out[i], &in[i]));
	/* in place */
	assert_int_equal(policy_narrow(&conf->policy, "b", in, n, in), 4);
	assert_true(addr_prefix_equal(&in[0], &out[1]));
	assert_true(addr_prefix_equal(&in[3], &out[5]));
}

/* No policy at all: everyone, everything. */
static void
test_empty(void **state)
{
	struct conf_policy none = {0};
	struct cred c = cred_with(NULL, NULL, NULL);
	struct addr_prefix in = pfx("10.2.0.0/16"), out;
	char why[64];

	(void)state;
	assert_null(policy_site(&none, "b", &c, why, sizeof(why)));
	assert_null(policy_segment(&none, 100, &c, why, sizeof(why)));
	assert_int_equal(policy_narrow(&none, "b", &in, 1, &out), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_site),      cmocka_unit_test(test_segment),
	        cmocka_unit_test(test_short_why), cmocka_unit_test(test_narrow),
	        cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
