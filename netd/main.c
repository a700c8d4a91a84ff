/* netd's command line: run the daemon, check a config, make WireGuard-format keys, or work
 * with federation credentials. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "netd/conf.h"
#include "netd/cred.h"
#include "netd/daemon.h"
#include "netd/federation.h"
#include "netd/key.h"
#include "netd/ctlclient.h"
#include "netd/log.h"
#include "netd/site.h"

static void
usage(FILE *out)
{
	fprintf(out, "usage: netd [-nvS] [-f FILE]\n"
	             "       netd [-v] [-f FILE] teardown\n"
	             "       netd genkey\n"
	             "       netd pubkey < PRIVATE-KEY\n"
	             "       netd -V\n");
	federation_usage(out);
	fprintf(out, "\n"
	             "  -f FILE  configuration file (default " CONF_DEFAULT_FILE ")\n"
	             "  -n       check the configuration and exit; with -v print it normalised\n"
	             "  -v       debug logging (with -n: print the normalised configuration)\n"
	             "  -S       log to syslog as well as to stderr\n"
	             "  -V       print the version and exit\n");
}

/* Like `wg genkey`: a clamped private key, base64, on stdout. */
static int
cmd_genkey(void)
{
	uint8_t key[KEY_LEN];
	char text[KEY_BASE64_SIZE];

	key_generate_private(key);
	key_to_base64(text, key);
	sodium_memzero(key, sizeof(key));
	if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "netd genkey: cannot write the key: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

/* Like `wg pubkey`: a private key on stdin, its public key on stdout. */
static int
cmd_pubkey(void)
{
	char text[KEY_BASE64_SIZE + 64];
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	char out[KEY_BASE64_SIZE];
	size_t n;

	n = fread(text, 1, sizeof(text), stdin);
	if (ferror(stdin) || n == sizeof(text) || key_from_base64(priv, text, n) < 0) {
		sodium_memzero(text, sizeof(text));
		fprintf(stderr, "netd pubkey: stdin is not a base64 WireGuard private key\n");
		return 1;
	}
	sodium_memzero(text, sizeof(text));
	key_public_from_private(pub, priv);
	sodium_memzero(priv, sizeof(priv));
	key_to_base64(out, pub);
	if (printf("%s\n", out) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "netd pubkey: cannot write the key: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

/* A credential that does not verify is no error (the site runs on its trust entries while a
 * renewal is signed), but the operator checking the config should hear of it. */
static void
warn_credential(const struct conf *conf)
{
	struct cred_authorities set;
	struct cred_verdict v;

	if (conf->federation.credential == NULL)
		return;
	conf_federation_set(conf, &set);
	if (cred_verify(conf->federation.credential, &set, (int64_t)time(NULL), &v) != CRED_OK)
		fprintf(stderr, "%s: warning: credential %s does not verify now: %s: %s\n",
		        conf->file, conf->federation.credential_file, cred_status_name(v.status),
		        v.why);
}

/* -n: every error on stderr as FILE:LINE: message; -n -v: the normalised config. */
static int
cmd_check(const char *path, bool print)
{
	struct conf_errors errs = {0};
	struct conf *conf;
	int status = 0;

	conf = conf_load(path, &errs);
	if (conf == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		conf_errors_free(&errs);
		return 1;
	}
	warn_credential(conf);
	if (print && (conf_print(conf, stdout) < 0 || fflush(stdout) != 0)) {
		fprintf(stderr, "netd: cannot print the configuration: %s\n", strerror(errno));
		status = 1;
	}
	conf_free(conf);
	return status;
}

/* Removes what netd owns for this config (its WireGuard interface, its routes and rules,
 * its segments' devices) while no netd runs: a running one would put it all back. */
static int
cmd_teardown(const char *path)
{
	struct conf_errors errs = {0};
	struct ctlclient *client = NULL;
	struct conf *conf;
	int status = 1;

	conf = conf_load(path, &errs);
	if (conf == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_errx("%s", errs.msgs[i]);
		conf_errors_free(&errs);
		return 1;
	}
	if (ctlclient_connect(conf->control.socket, 1000, &client) == 0) {
		ctlclient_free(client);
		log_errx("netd is running (%s answers): use `netdctl teardown`",
		         conf->control.socket);
		goto out;
	}
	if (site_teardown_offline(conf) == 0) {
		log_info("teardown: everything netd owned for site %s is removed", conf->site_name);
		status = 0;
	}
out:
	conf_free(conf);
	return status;
}

int
main(int argc, char **argv)
{
	struct daemon_options options = {.conf_path = CONF_DEFAULT_FILE};
	bool check = false;
	int ch;

	if (key_init() < 0) {
		fprintf(stderr, "netd: cannot initialise libsodium\n");
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "genkey") == 0)
		return cmd_genkey();
	if (argc == 2 && strcmp(argv[1], "pubkey") == 0)
		return cmd_pubkey();
	/* Before getopt, which would take the subcommand's own options for netd's. */
	if (argc >= 2 && strcmp(argv[1], "federation") == 0)
		return federation_main(argc - 1, argv + 1);

	while ((ch = getopt(argc, argv, "f:hnSvV")) != -1) {
		switch (ch) {
		case 'f':
			options.conf_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'S':
			options.syslog = true;
			break;
		case 'v':
			options.verbose = true;
			break;
		case 'V':
			printf("netd %s\n", NETD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* GNU getopt puts the words that are not options last, in their order: a subcommand
	 * comes first among them, and the word to name is the one after it, not itself. */
	if (optind < argc &&
	    (strcmp(argv[optind], "genkey") == 0 || strcmp(argv[optind], "pubkey") == 0)) {
		if (optind + 1 < argc)
			fprintf(stderr, "netd: %s: unexpected argument '%s'\n", argv[optind],
			        argv[optind + 1]);
		else
			fprintf(stderr, "netd: %s takes no options\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (optind < argc && strcmp(argv[optind], "teardown") == 0) {
		if (optind + 1 < argc || check) {
			if (check)
				fprintf(stderr, "netd: teardown does not take -n\n");
			else
				fprintf(stderr, "netd: teardown: unexpected argument '%s'\n",
				        argv[optind + 1]);
			usage(stderr);
			return 2;
		}
		log_init("netd", options.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, true, false);
		ch = cmd_teardown(options.conf_path);
		log_close();
		return ch;
	}
	if (optind != argc) {
		fprintf(stderr, "netd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check)
		return cmd_check(options.conf_path, options.verbose);

	log_init("netd", options.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, true, options.syslog);
	ch = daemon_run(&options);
	log_close();
	return ch;
}
