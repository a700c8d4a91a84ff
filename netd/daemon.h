/* The netd daemon: one libev loop driving signals, the status socket and (re)configuration. */
#ifndef NETD_DAEMON_H
#define NETD_DAEMON_H

#include <stdbool.h>

struct daemon_options {
	const char *conf_path;
	bool verbose; /* -v: debug logging whatever the config says */
	bool syslog;  /* also log to syslog */
};

/* Load the config, open the status socket, signal readiness to systemd and run until
 * SIGTERM/SIGINT. Returns the process exit status. */
int daemon_run(const struct daemon_options *options);

#endif
