/* The running site against the fake kernel: the status socket's replies (status, peers,
 * routes, metrics) are built from the site's snapshot and never read the WireGuard device on
 * the request path, where a stopped userspace implementation would hold the event loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <ev.h>
#include <jansson.h>

#include "kernel-helpers/fake/fake.h"
#include "netd/conf.h"
#include "netd/ctl.h"
#include "netd/key.h"
#include "netd/site.h"
#include "netd/status.h"

/* A UDP port free on 127.0.0.1 just now, for the site's gossip. */
static unsigned
free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* The rows of a routes reply as "PREFIX TYPE VIA METRIC INSTALLED REASON" lines. */
static void
expect_routes(const json_t *reply, const char *want)
{
	const json_t *rows = json_object_get(reply, "routes"), *row;
	char have[1024];
	size_t i, len = 0;

	have[0] = '\0';
	assert_true(json_is_array(rows));
	json_array_foreach(rows, i, row)
	{
		const char *via = json_string_value(json_object_get(row, "via"));
		const char *why = json_string_value(json_object_get(row, "reason"));

		len += (size_t)snprintf(
		        have + len, sizeof(have) - len, "%s %s %s %" JSON_INTEGER_FORMAT " %s %s\n",
		        json_string_value(json_object_get(row, "prefix")),
		        json_string_value(json_object_get(row, "type")), via ? via : "-",
		        json_integer_value(json_object_get(row, "metric")),
		        json_is_true(json_object_get(row, "installed")) ? "yes" : "no",
		        why ? why : "-");
		assert_true(len < sizeof(have));
	}
	assert_string_equal(have, want);
}

static void
test_replies_do_not_read_the_device(void **state)
{
	static const struct ctl_command none[] = {{NULL, false, NULL}};
	char dir[] = "/tmp/netd-site-XXXXXX", key[64], sock[64], st[64], text[1024];
	char b64[KEY_BASE64_SIZE], beta[KEY_BASE64_SIZE];
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	struct conf_errors errs = {0};
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ctl_server *ctl;
	struct site *s = NULL;
	struct site_snapshot snap;
	struct status_daemon daemon = {.conf_path = "site.conf", .backend = "kernel"};
	struct conf *conf;
	json_t *peers, *status, *routes, *metrics;
	FILE *f;

	(void)state;
	assert_non_null(loop);
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/site.key", dir);
	snprintf(sock, sizeof(sock), "%s/site.sock", dir);
	snprintf(st, sizeof(st), "%s/site.state", dir);
	key_generate_private(priv);
	key_to_base64(b64, priv);
	key_generate_private(priv);
	key_public_from_private(pub, priv);
	key_to_base64(beta, pub);
	assert_non_null(f = fopen(key, "w"));
	fprintf(f, "%s\n", b64);
	fclose(f);
	assert_int_equal(chmod(key, 0600), 0);
	snprintf(text, sizeof(text),
	         "site = { name = \"alpha\"; };\n"
	         "wireguard = { interface = \"wg0\"; private_key_file = \"%s\"; };\n"
	         "control = { socket = \"%s\"; };\n"
	         "gossip = { bind = \"127.0.0.1:%u\"; state_file = \"%s\"; };\n"
	         "prefixes = [ \"10.1.0.0/16\" ];\n"
	         "trust = ( { name = \"beta\"; public_key = \"%s\";\n"
	         "            prefixes = [ \"10.2.0.0/16\" ]; overlay = [ \"10.99.0.2\" ]; } );\n",
	         key, sock, free_port(), st, beta);
	conf = conf_load_string(text, "site.conf", &errs);
	for (size_t i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	assert_non_null(conf);
	assert_non_null(ctl = ctl_server_new(loop, &(struct ctl_config){.path = sock, .mode = 0600},
	                                     none, NULL));
	assert_int_equal(site_new(loop, conf, ctl, &s), 0);
	assert_int_equal(fake_count(FAKE_OP_WG_ADD), 1);

	fake_clear_ops();
	daemon.conf = conf;
	site_snapshot(s, &snap);
	peers = status_peers_json(&snap);
	status = status_json(&daemon, &snap);
	routes = status_routes_json(&snap);
	metrics = status_metrics_json(&daemon, &snap);
	assert_non_null(peers);
	assert_non_null(status);
	assert_non_null(metrics);
	assert_int_equal(json_array_size(json_object_get(peers, "peers")), 1);
	/* beta was never seen: no tunnel route, but its grant, prefix and overlay, is fenced. */
	expect_routes(routes, "10.2.0.0/16 unreachable - 65535 yes -\n"
	                      "10.99.0.2/32 unreachable - 65535 yes -\n");
	if (fake_count(FAKE_OP_WG_GET) != 0)
		fail_msg("the replies read the WireGuard device %zu times",
		         fake_count(FAKE_OP_WG_GET));

	json_decref(peers);
	json_decref(status);
	json_decref(routes);
	json_decref(metrics);
	site_free(s);
	ctl_server_free(ctl);
	conf_free(conf);
	ev_loop_destroy(loop);
	unlink(key);
	unlink(st);
	rmdir(dir);
}

static int
setup(void **state)
{
	(void)state;
	fake_reset();
	return key_init();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_replies_do_not_read_the_device, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
