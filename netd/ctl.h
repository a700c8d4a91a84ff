/* The status socket's server: a Unix stream server on the daemon's event loop speaking the
 * protocol of netd/ctlproto.h. */
#ifndef NETD_CTL_H
#define NETD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#include "netd/ctlproto.h"

/* Clients connected at once; the last CTL_PRIVILEGED_SLOTS of them only for root and the
 * configured group, who also take the slot of the longest-idle unprivileged client when
 * every slot is in use. So no user who may merely open the socket can lock root out. */
#define CTL_MAX_CLIENTS      256
#define CTL_PRIVILEGED_SLOTS 16
/* Seconds a client may send nothing, or take to complete a request it has begun (an event
 * subscriber that waits for events is not idle). */
#define CTL_IDLE_TIMEOUT 10.0
/* Seconds a client with replies or events waiting may take none of them before it is
 * closed: only a client that stops reading is dropped, never one that reads slowly. */
#define CTL_STALL_TIMEOUT 30.0

/* A request as parsed from one line. */
struct ctl_request {
	char *command;
	json_t *args; /* an object (possibly empty); owned by the request */
};

/* Parse one request line (without its newline). Returns 0 and fills req, which the caller
 * releases with ctl_request_clear(); or -1 with a message for the error reply in err. */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *req, char *err,
                      size_t errlen);
void ctl_request_clear(struct ctl_request *req);

/* Who is asking, from SO_PEERCRED. */
struct ctl_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* The rule for mutating commands: root, or a member of the configured group through the
 * peer's primary group or one of its supplementary groups (the kernel's SO_PEERGROUPS, the
 * same set the socket's file permissions were checked against). group NULL: root only. */
bool ctl_peer_may_mutate(const struct ctl_peer *peer, const gid_t *groups, size_t ngroups,
                         const gid_t *group);

/* A command handler returns a result (owned by the caller) or NULL with *err set to a
 * malloc'ed message. */
typedef json_t *(*ctl_handler_fn)(void *ctx, const struct ctl_request *req, char **err);

struct ctl_command {
	const char *name;
	bool mutating; /* allowed only to root and the configured group */
	ctl_handler_fn handler;
};

struct ctl_config {
	const char *path;
	mode_t mode;
	const char *group;    /* NULL: mutating commands are root's only */
	double idle_timeout;  /* seconds; 0: CTL_IDLE_TIMEOUT */
	double stall_timeout; /* seconds; 0: CTL_STALL_TIMEOUT */
};

struct ctl_server;

/* Create the socket (its directory too), bind, chmod/chown and start accepting.
 * commands is a table ending in a {NULL} entry; it and ctx must outlive the server.
 * "events" is built in: it subscribes the client to ctl_server_publish(). */
struct ctl_server *ctl_server_new(struct ev_loop *loop, const struct ctl_config *config,
                                  const struct ctl_command *commands, void *ctx);

/* Close every client, stop watching, unlink the socket and free. NULL is a no-op. */
void ctl_server_free(struct ctl_server *server);

/* Send an event object to every subscribed client (a reference is taken, not stolen). */
void ctl_server_publish(struct ctl_server *server, json_t *event);

/* A time in replies and events: "YYYY-MM-DDTHH:MM:SSZ" (UTC), or null for 0 (never). */
json_t *ctl_time_json(time_t t);

/* Counters for status and metrics. */
struct ctl_stats {
	size_t clients;               /* connected now */
	size_t subscribers;           /* connected now with "events" */
	unsigned long long accepted;  /* connections accepted */
	unsigned long long rejected;  /* connections refused at the client limit */
	unsigned long long evicted;   /* idle unprivileged clients closed to make room for root */
	unsigned long long timed_out; /* clients closed for idling or a request left unfinished */
	unsigned long long requests;  /* requests answered, errors included */
	unsigned long long errors;    /* error replies */
	unsigned long long dropped;   /* clients closed for oversize lines, for not reading their
	                               * output, or for falling too far behind the events */
	size_t queued;                /* reply and event bytes waiting to be sent now */
};
void ctl_server_stats(const struct ctl_server *server, struct ctl_stats *stats);

#endif
