/* The service manager's readiness protocol: one datagram of "KEY=value" lines to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@" for the abstract namespace). It
 * is what systemd's sd_notify sends; written here so that netd does not load libsystemd
 * and the compression and crypto libraries it brings (about 1 MiB of resident memory). */
#ifndef NETD_NOTIFY_H
#define NETD_NOTIFY_H

/* Sends state (e.g. "READY=1") when $NOTIFY_SOCKET is set. 0 when sent or not asked for,
 * else -errno (-EINVAL for a socket name that is neither a path nor abstract, or too
 * long). */
int notify_send(const char *state);
/* As notify_send, with printf formatting. */
int notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
