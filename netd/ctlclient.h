/* A blocking client of the status socket, for netdctl and tests: connect, send a request
 * line, read reply lines with a bound on their length and a timeout. Knows JSON, not netd. */
#ifndef NETD_CTLCLIENT_H
#define NETD_CTLCLIENT_H

#include <stddef.h>

#include <jansson.h>

struct ctlclient;

/* Connect to the socket at path, waiting at most timeout_ms (-1: no limit) for a daemon
 * whose backlog is full; sends are bounded by the same time. Returns 0, or -errno
 * (-ENAMETOOLONG for a path that does not fit a socket address, -ETIMEDOUT).
 * Free with ctlclient_free(). */
int ctlclient_connect(const char *path, int timeout_ms, struct ctlclient **client);
void ctlclient_free(struct ctlclient *client);

/* Send {"command": command, "args": args} as one line; args may be NULL. 0 or -errno. */
int ctlclient_send(struct ctlclient *client, const char *command, const json_t *args);

/* The next line, without its newline, NUL-terminated in *line and valid until the next
 * call. timeout_ms bounds the whole wait (-1: none). Returns 1 for a line, 0 at the end of
 * the stream, -ETIMEDOUT, -EMSGSIZE for a line longer than CTL_MAX_REPLY, -EINTR when a
 * signal arrived, -EPROTO for a stream ending inside a line, or another -errno. */
int ctlclient_read_line(struct ctlclient *client, int timeout_ms, const char **line, size_t *len);

#endif
