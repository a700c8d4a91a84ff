/* netdctl's human output, compared byte for byte on sample results, odd shapes included. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netd/ctlfmt.h"

static char *
format(const char *command, const char *json)
{
	json_error_t err;
	json_t *result = json_loads(json, JSON_DECODE_ANY, &err);
	char *out = NULL;
	size_t size;
	FILE *m;

	if (result == NULL)
		fail_msg("sample is not JSON: %s", err.text);
	m = open_memstream(&out, &size);
	assert_non_null(m);
	assert_int_equal(ctlfmt_print(m, command, result), 0);
	assert_int_equal(fclose(m), 0);
	json_decref(result);
	return out;
}

static void
expect_output(const char *command, const char *json, const char *want)
{
	char *got = format(command, json);

	if (strcmp(got, want) != 0)
		fail_msg("%s %s:\n--- got\n%s--- want\n%s---", command, json, got, want);
	free(got);
}

static void
test_status(void **state)
{
	(void)state;
	expect_output("status",
	              "{\"site\":\"alpha\",\"version\":\"0.1.0\",\"uptime_seconds\":12,"
	              "\"config_file\":\"/etc/netd/netd.conf\",\"interface\":\"wg-netd\","
	              "\"backend\":{\"configured\":\"auto\",\"active\":\"userspace\"},"
	              "\"counts\":{\"peers\":0,\"trusted_sites\":2,\"segments\":1,\"prefixes\":2,"
	              "\"routes\":0,\"control_clients\":1},"
	              "\"reloads\":{\"ok\":3,\"failed\":1,\"last\":\"2026-11-28T06:00:00Z\","
	              "\"last_error\":null}}",
	              "site:                   alpha\n"
	              "version:                0.1.0\n"
	              "uptime_seconds:         12\n"
	              "config_file:            /etc/netd/netd.conf\n"
	              "interface:              wg-netd\n"
	              "backend.configured:     auto\n"
	              "backend.active:         userspace\n"
	              "counts.peers:           0\n"
	              "counts.trusted_sites:   2\n"
	              "counts.segments:        1\n"
	              "counts.prefixes:        2\n"
	              "counts.routes:          0\n"
	              "counts.control_clients: 1\n"
	              "reloads.ok:             3\n"
	              "reloads.failed:         1\n"
	              "reloads.last:           2026-11-28T06:00:00Z\n"
	              "reloads.last_error:     -\n");
}

static void
test_status_odd_shapes(void **state)
{
	(void)state;
	expect_output("status",
	              "{\"a\":[1,\"x\",null,false],\"b\":{},\"c\":{\"d\":{\"e\":true}},\"f\":1.5,"
	              "\"g\":\"tab\\there\",\"h\":[{\"k\":1},[2]],\"\":\"empty key\",\"i\":\"\"}",
	              "a:     1, x, -, no\n"
	              "b:     -\n"
	              "c.d.e: yes\n"
	              "f:     1.5\n"
	              "g:     tab?here\n"
	              "h:     {\"k\":1}, [2]\n"
	              ":      empty key\n"
	              "i:     -\n");
	/* A multi-line error message stays on its line. */
	expect_output("status",
	              "{\"reloads\":{\"last_error\":\"a.conf:3: bad\\na.conf:9: worse\"}}",
	              "reloads.last_error: a.conf:3: bad?a.conf:9: worse\n");
	expect_output("status", "{}", "");
	/* Not an object: shown as it came. */
	expect_output("status", "[1,2]", "[\n  1,\n  2\n]\n");
	expect_output("status", "\"up\"", "\"up\"\n");
	expect_output("status", "null", "null\n");
}

static void
test_peers(void **state)
{
	(void)state;
	expect_output("peers",
	              "{\"peers\":[{\"name\":\"beta\",\"state\":\"alive\",\"endpoint\":\"192.0.2.2:"
	              "51820\","
	              "\"last_handshake\":\"2026-11-28T06:00:00Z\",\"rx_bytes\":1536,"
	              "\"tx_bytes\":5000000,\"prefixes\":[\"10.2.0.0/16\",\"fd00:2::/48\"],"
	              "\"segments\":[\"lab\"],\"refused\":null},"
	              "{\"name\":\"gamma-long-name\",\"state\":\"suspect\",\"rx_bytes\":\"lots\","
	              "\"tx_bytes\":0,\"prefixes\":[],\"refused\":{\"incarnation\":9,\"reason\":"
	              "\"prefix\",\"text\":\"prefix 10.9.0.0/16 is outside the prefixes its trust "
	              "entry grants\"}},"
	              "7]}",
	              "NAME             STATE    ENDPOINT         HANDSHAKE             RX        "
	              "TX        "
	              "PREFIXES                 SEGMENTS  REFUSED\n"
	              "beta             alive    192.0.2.2:51820  2026-11-28T06:00:00Z  1.50 KiB  "
	              "4.77 MiB  "
	              "10.2.0.0/16,fd00:2::/48  lab       -\n"
	              "gamma-long-name  suspect  -                -                     lots      "
	              "0 B       "
	              "-                        -         prefix 10.9.0.0/16 is outside the "
	              "prefixes its trust entry grants\n"
	              "-                -        -                -                     -         "
	              "-         "
	              "-                        -         -\n");
	expect_output("peers", "{\"peers\":[]}", "no peers\n");
	/* Shapes that are no table. */
	expect_output("peers", "{}", "{}\n");
	expect_output("peers", "{\"peers\":{\"beta\":1}}",
	              "{\n  \"peers\": {\n    \"beta\": 1\n  }\n}\n");
	expect_output("peers", "null", "null\n");
}

/* A daemon that says what admitted each site gets the ADMITTED column; one that does not,
 * above, does not. */
static void
test_peers_admitted(void **state)
{
	(void)state;
	expect_output(
	        "peers",
	        "{\"peers\":[{\"name\":\"beta\",\"state\":\"alive\",\"endpoint\":null,"
	        "\"rx_bytes\":0,\"tx_bytes\":0,\"prefixes\":[\"10.2.0.0/16\"],\"segments\":[],"
	        "\"refused\":null,\"admitted_by\":\"trust\",\"credential\":null},"
	        "{\"name\":\"gamma\",\"state\":\"suspect\",\"endpoint\":null,\"rx_bytes\":0,"
	        "\"tx_bytes\":0,\"prefixes\":[\"10.3.0.0/16\"],\"segments\":[100],"
	        "\"refused\":null,\"admitted_by\":\"credential\",\"credential\":{\"serial\":"
	        "7,\"not_after\":\"2027-01-01T00:00:00Z\",\"provider\":null,"
	        "\"jurisdiction\":\"DE\"}},"
	        "{\"name\":\"delta\",\"state\":\"unknown\"}]}",
	        "NAME   STATE    ADMITTED    ENDPOINT  HANDSHAKE  RX   TX   PREFIXES     "
	        "SEGMENTS  REFUSED\n"
	        "beta   alive    trust       -         -          0 B  0 B  10.2.0.0/16  -  "
	        "       -\n"
	        "gamma  suspect  credential  -         -          0 B  0 B  10.3.0.0/16  100"
	        "       -\n"
	        "delta  unknown  -           -         -          -    -    -            -  "
	        "       -\n");
}

static void
test_columns_follow_content(void **state)
{
	(void)state;
	/* Characters, not bytes, line the columns up; controls cannot reach the terminal. */
	expect_output("segments",
	              "{\"segments\":[{\"name\":\"zürich\",\"vni\":100,\"bridge\":\"br-zh\","
	              "\"members\":[\"alpha\",\"beta\"]},"
	              "{\"name\":\"evil\\u001b[2J\\u009b\",\"vni\":16777215,\"bridge\":\"b\","
	              "\"members\":[]}]}",
	              "NAME       VNI       BRIDGE  MEMBERS\n"
	              "zürich     100       br-zh   alpha,beta\n"
	              "evil?[2J?  16777215  b       -\n");
}

/* Tunnel routes and fences, merged by prefix; a daemon older than the type and metric
 * fields still prints. */
static void
test_routes(void **state)
{
	(void)state;
	expect_output(
	        "routes",
	        "{\"routes\":["
	        "{\"prefix\":\"10.2.0.0/16\",\"type\":\"unicast\",\"via\":\"beta\",\"dev\":\"wg0\","
	        "\"metric\":10,\"installed\":true,\"reason\":null},"
	        "{\"prefix\":\"10.2.0.0/16\",\"type\":\"unreachable\",\"via\":null,\"dev\":null,"
	        "\"metric\":65535,\"installed\":true,\"reason\":null},"
	        "{\"prefix\":\"10.3.0.0/"
	        "16\",\"type\":\"unicast\",\"via\":\"gamma\",\"dev\":\"wg0\","
	        "\"metric\":10,\"installed\":false,\"reason\":\"peer suspect\"},"
	        "{\"prefix\":\"10.3.7.0/24\",\"type\":\"unreachable\",\"via\":null,\"dev\":null,"
	        "\"metric\":65535,\"installed\":false,\"reason\":\"a subnet of this gateway\"}]}",
	        "PREFIX       TYPE         VIA    METRIC  INSTALLED  REASON\n"
	        "10.2.0.0/16  unicast      beta   10      yes        -\n"
	        "10.2.0.0/16  unreachable  -      65535   yes        -\n"
	        "10.3.0.0/16  unicast      gamma  10      no         peer suspect\n"
	        "10.3.7.0/24  unreachable  -      65535   no         a subnet of this gateway\n");
	expect_output(
	        "routes",
	        "{\"routes\":[{\"prefix\":\"10.2.0.0/16\",\"via\":\"beta\",\"installed\":true,"
	        "\"reason\":\"\"}]}",
	        "PREFIX       TYPE  VIA   METRIC  INSTALLED  REASON\n"
	        "10.2.0.0/16  -     beta  -       yes        -\n");
	expect_output("routes", "{\"routes\":[]}", "no routes\n");
	expect_output("segments", "{\"segments\":[]}", "no segments\n");
}

/* Other owners' overlapping routes, under the routes when there are any. */
static void
test_route_overlaps(void **state)
{
	(void)state;
	expect_output(
	        "routes",
	        "{\"routes\":[{\"prefix\":\"10.2.0.0/16\",\"type\":\"unicast\",\"via\":\"beta\","
	        "\"dev\":\"wg0\",\"metric\":10,\"installed\":true,\"reason\":null}],"
	        "\"overlaps\":[{\"prefix\":\"10.2.0.0/24\",\"table\":254,\"protocol\":4,"
	        "\"type\":\"unicast\",\"route\":\"10.2.0.0/16\",\"via\":\"beta\",\"action\":"
	        "\"yield\",\"installed\":true,\"reason\":\"yields to table 254\"},"
	        "{\"prefix\":\"10.3.1.0/24\",\"table\":254,\"protocol\":3,\"type\":\"blackhole\","
	        "\"route\":\"10.3.0.0/16\",\"via\":null,\"action\":\"yield\",\"installed\":true,"
	        "\"reason\":\"unfenced\"}]}",
	        "PREFIX       TYPE     VIA   METRIC  INSTALLED  REASON\n"
	        "10.2.0.0/16  unicast  beta  10      yes        -\n"
	        "\n"
	        "OVERLAP      TABLE  PROTO  TYPE       NETD ROUTE   VIA   ACTION  REASON\n"
	        "10.2.0.0/24  254    4      unicast    10.2.0.0/16  beta  yield   yields to table "
	        "254\n"
	        "10.3.1.0/24  254    3      blackhole  10.3.0.0/16  -     yield   unfenced\n");
	/* None: nothing more is printed. */
	expect_output("routes", "{\"routes\":[],\"overlaps\":[]}", "no routes\n");
}

static void
test_metrics_config_reload(void **state)
{
	(void)state;
	expect_output("metrics", "{\"text\":\"# TYPE netd_up gauge\\nnetd_up 1\\n\"}",
	              "# TYPE netd_up gauge\nnetd_up 1\n");
	expect_output("metrics", "{\"text\":\"netd_up 1\"}", "netd_up 1\n");
	expect_output("metrics", "{\"text\":\"\"}", "");
	expect_output("metrics", "{\"txt\":1}", "{\n  \"txt\": 1\n}\n");
	expect_output("config", "{\"site\":{\"name\":\"alpha\"},\"prefixes\":[\"10.1.0.0/16\"]}",
	              "{\n  \"site\": {\n    \"name\": \"alpha\"\n  },\n  \"prefixes\": [\n"
	              "    \"10.1.0.0/16\"\n  ]\n}\n");
	expect_output("reload", "{\"reloaded\":true,\"changed\":true}", "reloaded\n");
	expect_output("reload", "{\"reloaded\":true}", "reloaded\n");
	expect_output("reload", "{\"reloaded\":true,\"changed\":false}",
	              "reloaded, configuration unchanged\n");
	expect_output("reload", "{\"reloaded\":false}", "{\n  \"reloaded\": false\n}\n");
	/* Commands this netdctl has no format for. */
	expect_output("frobnicate", "{\"x\":[1]}", "{\n  \"x\": [\n    1\n  ]\n}\n");
}

/* The federation as a list, then its sites and its revocations as tables: labels as
 * key=value, time left in its two largest units, signers by their short keys. */
static void
test_catalogue(void **state)
{
	(void)state;
	expect_output(
	        "catalogue",
	        "{\"federation\":{\"name\":\"lab\",\"threshold\":2,\"authorities\":["
	        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
	        "\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=\"]},"
	        "\"sites\":[{\"site\":\"alpha\",\"wg_key\":\"x\",\"provider\":\"acme-cloud\","
	        "\"jurisdiction\":\"DE\",\"labels\":{\"rack\":\"r1\",\"tier\":\"edge\"},"
	        "\"prefixes\":[\"10.1.0.0/16\",\"fd00:1::/48\"],\"vnis\":[100,200],"
	        "\"overlay\":[\"10.99.0.1/32\"],\"serial\":42,\"not_before\":"
	        "\"2026-01-01T00:00:00Z\",\"not_after\":\"2027-01-01T00:00:00Z\","
	        "\"expires_in\":26000000,\"signers\":["
	        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
	        "\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=\"],\"state\":\"alive\","
	        "\"admitted_by\":\"self\"},"
	        "{\"site\":\"gamma\",\"provider\":null,\"jurisdiction\":null,\"labels\":{},"
	        "\"prefixes\":[\"10.3.0.0/16\"],\"vnis\":[],\"overlay\":[],\"serial\":7,"
	        "\"expires_in\":5400,\"signers\":[\"BBBB\"],\"state\":\"suspect\","
	        "\"admitted_by\":\"credential\"},"
	        "{\"site\":\"old\",\"expires_in\":-3,\"state\":\"dead\","
	        "\"admitted_by\":\"credential\"}],"
	        "\"revocations\":[{\"id\":\"0123456789abcdef\",\"kind\":\"serial\",\"site\":"
	        "\"beta\",\"serial\":3,\"key\":null,\"issued\":\"2026-06-01T00:00:00Z\","
	        "\"reason\":\"key "
	        "lost\",\"signers\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]},"
	        "{\"kind\":\"key\",\"site\":null,\"serial\":null,\"key\":"
	        "\"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=\",\"issued\":\"2026-06-02T00:00:"
	        "00Z\","
	        "\"reason\":\"\",\"signers\":[]}]}",
	        "federation.name:        lab\n"
	        "federation.threshold:   2\n"
	        "federation.authorities: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, "
	        "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=\n"
	        "\n"
	        "SITE   STATE    ADMITTED    PROVIDER    JURISDICTION  LABELS             "
	        "PREFIXES                 VNIS     OVERLAY       SERIAL  EXPIRES   SIGNERS\n"
	        "alpha  alive    self        acme-cloud  DE            rack=r1,tier=edge  "
	        "10.1.0.0/16,fd00:1::/48  100,200  10.99.0.1/32  42      300d 22h  "
	        "AAAAAAAA,BBBBBBBB\n"
	        "gamma  suspect  credential  -           -             -                  "
	        "10.3.0.0/16              -        -             7       1h 30m    BBBB\n"
	        "old    dead     credential  -           -             -                  "
	        "-                        -        -             -       expired   -\n"
	        "\n"
	        "KIND    SITE  SERIAL  KEY                                           ISSUED       "
	        "         SIGNERS   REASON\n"
	        "serial  beta  3       -                                             "
	        "2026-06-01T00:00:00Z  AAAAAAAA  key lost\n"
	        "key     -     -       CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=  "
	        "2026-06-02T00:00:00Z  -         -\n");
	/* A site in no federation. */
	expect_output("catalogue", "{\"federation\":null,\"sites\":[],\"revocations\":[]}",
	              "federation: -\n\nno federation sites\n\nno revocations\n");
	/* Shapes that are no catalogue. */
	expect_output("catalogue", "{\"sites\":[]}", "{\n  \"sites\": []\n}\n");
	expect_output("catalogue", "[]", "[]\n");
}

/* Time left, as the catalogue's EXPIRES column shows it in the row of a site that says
 * nothing else. */
static void
test_durations(void **state)
{
	static const struct {
		long long seconds;
		const char *text;
	} cases[] = {
	        {LLONG_MIN, "expired"},
	        {0, "expired"},
	        {1, "1s"},
	        {59, "59s"},
	        {60, "1m"},
	        {61, "1m 1s"},
	        {3599, "59m 59s"},
	        {3600, "1h"},
	        {86399, "23h 59m"},
	        {86400, "1d"},
	        {90061, "1d 1h"},
	        {LLONG_MAX, "106751991167300d 15h"},
	};
	char json[128], *got;
	const char *row;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(json, sizeof(json),
		         "{\"federation\":null,\"sites\":[{\"expires_in\":%lld}],"
		         "\"revocations\":[]}",
		         cases[i].seconds);
		got = format("catalogue", json);
		row = strstr(got, "\n-  ");
		if (row == NULL || strstr(row, cases[i].text) == NULL)
			fail_msg("expires_in %lld:\n%s", cases[i].seconds, got);
		free(got);
	}
}

static void
test_publish(void **state)
{
	(void)state;
	expect_output("publish", "{\"published\":\"revocation\",\"id\":\"0123456789abcdef\"}",
	              "published revocation 0123456789abcdef\n");
	expect_output("publish", "{\"published\":\"credential\",\"site\":\"gamma\",\"serial\":7}",
	              "published the credential of gamma, serial 7\n");
	expect_output("publish",
	              "{\"published\":\"credential\",\"site\":\"g\\u001b[2J\","
	              "\"serial\":7}",
	              "published the credential of g?[2J, serial 7\n");
	expect_output("publish", "{\"published\":\"authorities\",\"version\":3}",
	              "published the authority set, version 3\n");
	/* Without the field it names, a reply is shown as it came. */
	expect_output("publish", "{\"published\":\"authorities\"}",
	              "{\n  \"published\": \"authorities\"\n}\n");
	expect_output("publish", "{\"published\":\"revocation\"}",
	              "{\n  \"published\": \"revocation\"\n}\n");
}

static void
expect_event(const char *json, const char *fallback, const char *want)
{
	json_t *event = json_loads(json, JSON_DECODE_ANY, NULL);
	char *got = NULL;
	size_t size;
	FILE *m = open_memstream(&got, &size);

	assert_non_null(event);
	assert_non_null(m);
	assert_int_equal(ctlfmt_print_event(m, event, fallback), 0);
	assert_int_equal(fclose(m), 0);
	if (strcmp(got, want) != 0)
		fail_msg("event %s:\n got  %s want %s", json, got, want);
	free(got);
	json_decref(event);
}

static void
test_events(void **state)
{
	(void)state;
	expect_event("{\"type\":\"config-reload\",\"file\":\"/etc/netd/netd.conf\","
	             "\"time\":\"2026-11-28T06:00:00Z\",\"ok\":true,\"changed\":false}",
	             "2000-01-01T00:00:00Z",
	             "2026-11-28T06:00:00Z config-reload file=/etc/netd/netd.conf ok=true "
	             "changed=false\n");
	expect_event("{\"type\":\"config-reload\",\"time\":null,\"ok\":false,"
	             "\"errors\":[\"a.conf:3: no site\"],\"note\":\"two words\",\"x\":\"\"}",
	             "2000-01-01T00:00:00Z",
	             "2000-01-01T00:00:00Z config-reload ok=false errors=[\"a.conf:3: no site\"] "
	             "note=\"two words\" x=\"\"\n");
	expect_event("{\"peer\":\"beta\",\"state\":{\"from\":\"alive\",\"to\":\"suspect\"}}", NULL,
	             "- - peer=beta state={\"from\":\"alive\",\"to\":\"suspect\"}\n");
	expect_event("{\"type\":\"x\\u001b]0;owned\\u0007\",\"k\\n\":\"v\\r\"}", "T",
	             "T x?]0;owned? k?=\"v\\r\"\n");
	expect_event("42", "T", "T - 42\n");
	expect_event("{\"type\":7}", "T", "T - type=7\n");
}

static void
test_bytes(void **state)
{
	static const struct {
		long long bytes;
		const char *text;
	} cases[] = {
	        {0, "0 B"},
	        {1023, "1023 B"},
	        {1024, "1.00 KiB"},
	        {1536, "1.50 KiB"},
	        {1048576, "1.00 MiB"},
	        {5000000, "4.77 MiB"},
	        {1099511627776LL, "1.00 TiB"},
	        {1LL << 62, "4.00 EiB"},
	        {LLONG_MAX, "8.00 EiB"},
	        {-5, "-5 B"},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctlfmt_bytes(buf, sizeof(buf), cases[i].bytes);
		assert_string_equal(buf, cases[i].text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_status),
	        cmocka_unit_test(test_status_odd_shapes),
	        cmocka_unit_test(test_peers),
	        cmocka_unit_test(test_columns_follow_content),
	        cmocka_unit_test(test_routes),
	        cmocka_unit_test(test_route_overlaps),
	        cmocka_unit_test(test_metrics_config_reload),
	        cmocka_unit_test(test_events),
	        cmocka_unit_test(test_bytes),
	        cmocka_unit_test(test_peers_admitted),
	        cmocka_unit_test(test_catalogue),
	        cmocka_unit_test(test_durations),
	        cmocka_unit_test(test_publish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
