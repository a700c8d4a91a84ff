/* netdctl: asks the local netd one thing over its status socket and prints the answer, as
 * tables for people or as the daemon's own JSON lines for programs (-j). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "netd/ctlproto.h"
#include "netd/ctlclient.h"
#include "netd/ctlfmt.h"

#define NETDCTL_TIMEOUT_MS 30000

enum {
	NETDCTL_EXIT_OK = 0,
	NETDCTL_EXIT_ERROR = 1,       /* the daemon answered with an error, or not properly */
	NETDCTL_EXIT_USAGE = 2,       /* the command line is wrong */
	NETDCTL_EXIT_UNREACHABLE = 3, /* no daemon to ask */
	NETDCTL_EXIT_DENIED = 4,      /* not permitted: the socket, or the command */
	NETDCTL_EXIT_FULL = 5,        /* the daemon has no slot for us now */
};

static volatile sig_atomic_t interrupted;

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: netdctl [-j] [-s SOCKET] COMMAND [KEY=VALUE ...]\n"
	        "       netdctl -h\n"
	        "\n"
	        "  -s SOCKET  the status socket (default %s)\n"
	        "  -j         print the daemon's JSON reply lines as they are\n"
	        "  -h         this help\n"
	        "\n"
	        "commands: status, peers, segments, routes, catalogue, metrics, config, reload,\n"
	        "          teardown, events, publish FILE\n"
	        "KEY=VALUE pairs are sent as the request's string arguments. publish sends the\n"
	        "armoured revocation, site credential or authority update in FILE (- for\n"
	        "standard input).\n",
	        CTL_DEFAULT_SOCKET);
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* KEY=VALUE words become the request's "args" object. */
static json_t *
parse_args(int argc, char **argv)
{
	json_t *args = json_object();
	const char *eq;
	json_t *value;
	char *key;

	if (args == NULL)
		return NULL;
	for (int i = 0; i < argc; i++) {
		eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i]) {
			fprintf(stderr, "netdctl: argument \"%s\" is not KEY=VALUE\n", argv[i]);
			goto fail;
		}
		key = strndup(argv[i], (size_t)(eq - argv[i]));
		value = json_string(eq + 1);
		if (key == NULL || value == NULL || json_object_set_new(args, key, value) < 0) {
			fprintf(stderr, "netdctl: argument \"%s\" is not valid UTF-8\n", argv[i]);
			free(key);
			goto fail;
		}
		free(key);
	}
	return args;
fail:
	json_decref(args);
	return NULL;
}

/* publish's argument: the armoured document in a file ("-": standard input), at most
 * CTL_MAX_DOCUMENT bytes of text, sent as it is for the daemon to dearmor and verify. */
static json_t *
publish_args(int argc, char **argv)
{
	char text[CTL_MAX_DOCUMENT + 1];
	bool from_stdin;
	const char *name;
	json_t *doc;
	size_t n;
	FILE *f;

	if (argc != 1) {
		fprintf(stderr, "netdctl: publish takes one FILE (- for standard input)\n");
		return NULL;
	}
	from_stdin = strcmp(argv[0], "-") == 0;
	name = from_stdin ? "standard input" : argv[0];
	f = from_stdin ? stdin : fopen(argv[0], "r");
	if (f == NULL) {
		fprintf(stderr, "netdctl: publish: cannot open %s: %s\n", argv[0], strerror(errno));
		return NULL;
	}
	n = fread(text, 1, sizeof(text), f);
	if (ferror(f))
		fprintf(stderr, "netdctl: publish: cannot read %s: %s\n", name, strerror(errno));
	else if (n == 0)
		fprintf(stderr, "netdctl: publish: %s is empty\n", name);
	else if (n > CTL_MAX_DOCUMENT)
		fprintf(stderr,
		        "netdctl: publish: %s is longer than an armoured document (%d bytes)\n",
		        name, CTL_MAX_DOCUMENT);
	if (ferror(f) || n > CTL_MAX_DOCUMENT)
		n = 0;
	if (!from_stdin)
		fclose(f);
	if (n == 0)
		return NULL;
	doc = json_stringn(text, n);
	if (doc == NULL) {
		fprintf(stderr, "netdctl: publish: %s is not text (UTF-8)\n", name);
		return NULL;
	}
	return json_pack("{s:o}", "document", doc);
}

/* A reply line, checked to be one this netdctl understands. */
static json_t *
reply_decode(const char *line, size_t len, const char *command)
{
	json_error_t jerr;
	json_t *reply, *version;

	reply = json_loadb(line, len, 0, &jerr);
	if (reply == NULL) {
		fprintf(stderr, "netdctl: %s: malformed reply from netd: %s\n", command, jerr.text);
		return NULL;
	}
	version = json_object_get(reply, "version");
	if (!json_is_object(reply) || !json_is_boolean(json_object_get(reply, "ok")) ||
	    !json_is_integer(version)) {
		fprintf(stderr, "netdctl: %s: malformed reply from netd\n", command);
		json_decref(reply);
		return NULL;
	}
	if (json_integer_value(version) != CTL_PROTOCOL_VERSION) {
		fprintf(stderr,
		        "netdctl: %s: netd speaks protocol version %" JSON_INTEGER_FORMAT
		        ", this netdctl version %d\n",
		        command, json_integer_value(version), CTL_PROTOCOL_VERSION);
		json_decref(reply);
		return NULL;
	}
	return reply;
}

/* An error reply; its code, when it has one, says what kind of failure it is. */
static int
reply_error(const json_t *reply, const char *command)
{
	const json_t *error = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(reply, "code"));
	const char *text =
	        json_is_string(error) ? json_string_value(error) : "netd reported an error";

	if (code != NULL && (strcmp(code, "full") == 0 || strcmp(code, "evicted") == 0)) {
		fprintf(stderr, "netdctl: %s: connection refused: %s\n", command, text);
		return NETDCTL_EXIT_FULL;
	}
	fprintf(stderr, "netdctl: %s: %s\n", command, text);
	if (code != NULL && strcmp(code, "denied") == 0)
		return NETDCTL_EXIT_DENIED;
	return NETDCTL_EXIT_ERROR;
}

/* Why connect() failed, in the words of the exit status it leads to. */
static int
connect_error(int rc, const char *path)
{
	switch (-rc) {
	case EACCES:
	case EPERM:
		fprintf(stderr,
		        "netdctl: cannot connect to %s: not permitted (%s); the socket's mode and "
		        "group say who may\n",
		        path, strerror(-rc));
		return NETDCTL_EXIT_DENIED;
	case ETIMEDOUT:
		fprintf(stderr,
		        "netdctl: cannot connect to %s: connection refused: socket full (netd "
		        "took no new connection within %d s)\n",
		        path, NETDCTL_TIMEOUT_MS / 1000);
		return NETDCTL_EXIT_FULL;
	default:
		fprintf(stderr, "netdctl: cannot connect to %s: no daemon (%s); is netd running?\n",
		        path, strerror(-rc));
		return NETDCTL_EXIT_UNREACHABLE;
	}
}

static int
read_error(int rc, const char *command)
{
	if (rc == 0 || rc == -EPROTO)
		fprintf(stderr, "netdctl: %s: netd closed the connection without a reply\n",
		        command);
	else if (rc == -ETIMEDOUT)
		fprintf(stderr, "netdctl: %s: no reply from netd within %d s\n", command,
		        NETDCTL_TIMEOUT_MS / 1000);
	else if (rc == -EMSGSIZE)
		fprintf(stderr, "netdctl: %s: reply longer than %d bytes\n", command,
		        CTL_MAX_REPLY);
	else
		fprintf(stderr, "netdctl: %s: cannot read the reply: %s\n", command, strerror(-rc));
	return NETDCTL_EXIT_ERROR;
}

static int
print_line(const char *line, size_t len)
{
	fwrite(line, 1, len, stdout);
	fputc('\n', stdout);
	return fflush(stdout);
}

static int
run_command(struct ctlclient *client, const char *command, bool raw)
{
	const char *line;
	size_t len;
	json_t *reply;
	int rc;

	rc = ctlclient_read_line(client, NETDCTL_TIMEOUT_MS, &line, &len);
	if (rc <= 0)
		return read_error(rc, command);
	if (raw && print_line(line, len) != 0) {
		perror("netdctl: stdout");
		return NETDCTL_EXIT_ERROR;
	}
	reply = reply_decode(line, len, command);
	if (reply == NULL)
		return NETDCTL_EXIT_ERROR;
	if (!json_is_true(json_object_get(reply, "ok"))) {
		rc = reply_error(reply, command);
	} else if (!raw && (ctlfmt_print(stdout, command, json_object_get(reply, "result")) < 0 ||
	                    fflush(stdout) != 0)) {
		perror("netdctl: stdout");
		rc = NETDCTL_EXIT_ERROR;
	} else {
		rc = NETDCTL_EXIT_OK;
	}
	json_decref(reply);
	return rc;
}

static void
now_text(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
}

/* Event lines until netd closes the stream or we are interrupted. */
static int
run_events(struct ctlclient *client, bool raw)
{
	struct sigaction sa = {.sa_handler = on_signal};
	const char *line;
	char now[32];
	size_t len;
	json_t *reply;
	int rc;

	/* No SA_RESTART: the wait for the next event must end on ^C. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (;;) {
		rc = ctlclient_read_line(client, -1, &line, &len);
		if (interrupted || rc == 0)
			return NETDCTL_EXIT_OK;
		if (rc == -EINTR)
			continue;
		if (rc < 0)
			return read_error(rc, "events");
		if (raw && print_line(line, len) != 0) {
			perror("netdctl: stdout");
			return NETDCTL_EXIT_ERROR;
		}
		reply = reply_decode(line, len, "events");
		if (reply == NULL)
			return NETDCTL_EXIT_ERROR;
		if (!json_is_true(json_object_get(reply, "ok"))) {
			rc = reply_error(reply, "events");
			json_decref(reply);
			return rc;
		}
		if (!raw && json_object_get(reply, "event") != NULL) {
			now_text(now, sizeof(now));
			if (ctlfmt_print_event(stdout, json_object_get(reply, "event"), now) < 0 ||
			    fflush(stdout) != 0) {
				perror("netdctl: stdout");
				json_decref(reply);
				return NETDCTL_EXIT_ERROR;
			}
		}
		json_decref(reply);
	}
}

int
main(int argc, char **argv)
{
	const char *path = CTL_DEFAULT_SOCKET, *command;
	struct ctlclient *client = NULL;
	bool raw = false;
	json_t *args, *name;
	int opt, rc;

	while ((opt = getopt(argc, argv, "+hjs:")) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return NETDCTL_EXIT_OK;
		case 'j':
			raw = true;
			break;
		case 's':
			path = optarg;
			break;
		default:
			usage(stderr);
			return NETDCTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "netdctl: no command given\n");
		usage(stderr);
		return NETDCTL_EXIT_USAGE;
	}
	command = argv[optind];
	name = json_string(command);
	if (name == NULL || command[0] == '\0') {
		fprintf(stderr, "netdctl: the command is empty or not valid UTF-8\n");
		json_decref(name);
		return NETDCTL_EXIT_USAGE;
	}
	json_decref(name);
	if (strcmp(command, "publish") == 0)
		args = publish_args(argc - optind - 1, argv + optind + 1);
	else
		args = parse_args(argc - optind - 1, argv + optind + 1);
	if (args == NULL)
		return NETDCTL_EXIT_USAGE;

	rc = ctlclient_connect(path, NETDCTL_TIMEOUT_MS, &client);
	if (rc < 0) {
		json_decref(args);
		return connect_error(rc, path);
	}
	rc = ctlclient_send(client, command, json_object_size(args) > 0 ? args : NULL);
	json_decref(args);
	/* A daemon that refuses us says why in a line and closes, maybe before our request is
	 * sent: that line is read like any reply. */
	if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET) {
		fprintf(stderr, "netdctl: %s: cannot send the request to %s: %s\n", command, path,
		        strerror(-rc));
		ctlclient_free(client);
		return NETDCTL_EXIT_UNREACHABLE;
	}
	if (strcmp(command, "events") == 0)
		rc = run_events(client, raw);
	else
		rc = run_command(client, command, raw);
	ctlclient_free(client);
	return rc;
}
