/* The status socket: accepts local clients on the daemon's event loop, frames their JSON
 * request lines, decides who may run what, and queues replies and events without blocking. */
#include "netd/ctl.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "netd/log.h"

/* Above this much queued output a client's requests are no longer handled nor read: a
 * client pipelining requests is served at the pace it reads the replies, and its queue
 * stops growing. Requests are handled again once the queue has drained below the low-water
 * mark. So a queue holds at most CTL_HIGH_WATER, then CTL_MAX_OUTPUT of events (a
 * subscriber further behind is dropped), then one reply: CTL_MAX_QUEUE in all. */
#define CTL_HIGH_WATER (CTL_MAX_OUTPUT / 4)
#define CTL_LOW_WATER  (CTL_HIGH_WATER / 4)
#define CTL_MAX_QUEUE  ((size_t)CTL_HIGH_WATER + CTL_MAX_OUTPUT + CTL_MAX_REPLY)

#define CTL_INPUT_START  4096
#define CTL_OUTPUT_START 4096
/* Power-of-two growth from CTL_OUTPUT_START; twice the queue limit leaves room to append
 * without moving the unsent bytes more often than the bytes sent since. */
#define CTL_OUTPUT_CAP_MAX (2 * CTL_MAX_QUEUE)
#define CTL_OUTPUT_KEEP    (64 * 1024) /* a drained output buffer larger than this is freed */

#define CTL_ACCEPT_BURST 64  /* connections taken per wake-up, so clients get their turn */
#define CTL_ACCEPT_PAUSE 1.0 /* seconds without accepting after running out of descriptors */

/* Anyone who may open the socket can repeat what these log lines are about without end. */
#define CTL_LOG_BURST    5
#define CTL_LOG_INTERVAL 60.0

struct ctl_client {
	struct ctl_server *server;
	struct ctl_client *prev;
	struct ctl_client *next;
	int fd;
	ev_io rio;
	ev_io wio;
	ev_timer timer; /* the idle, request and stall deadlines */
	struct ctl_peer peer;
	bool privileged; /* root or the configured group: may mutate, has reserved slots */

	ev_tstamp since;   /* connected, or began or finished its last request */
	ev_tstamp drained; /* its output queue last shrank or began to fill */

	char *in; /* bytes of the current line(s) not yet handled */
	size_t inlen;
	size_t incap;
	size_t scanned; /* in[0..scanned) holds no newline: never search it again */

	char *out; /* queued output: out[outoff..outlen) is unsent */
	size_t outoff;
	size_t outlen;
	size_t outcap;

	bool subscribed;
	bool paused;  /* input not watched: back-pressure */
	bool held;    /* complete requests wait in the input for the queue to drain */
	bool eof;     /* the peer has finished sending */
	bool busy;    /* inside client_process(): freeing is deferred to its end */
	bool closing; /* freed as soon as it is not busy */
};

struct ctl_server {
	struct ev_loop *loop;
	const struct ctl_command *commands;
	void *ctx;
	char *path;
	dev_t dev; /* the socket file we bound, so free() never unlinks a successor's */
	ino_t ino;
	char *group;
	gid_t gid;
	int fd;
	ev_io accept_io;
	ev_timer accept_pause;
	double idle_timeout;
	double stall_timeout;
	struct ctl_client *clients;
	size_t unprivileged; /* clients connected now without privilege */
	struct ctl_stats stats;
	struct log_limit log_refused; /* connections refused, clients evicted */
	struct log_limit log_dropped; /* clients dropped for what they did or did not do */
	struct log_limit log_idle;    /* clients timed out */
	struct log_limit log_denied;  /* mutating commands refused */
	struct log_limit log_granted; /* mutating commands run */
	struct log_limit log_failed;  /* replies that could not be made */
};

int
ctl_request_parse(const char *line, size_t len, struct ctl_request *req, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *command, *args;
	char *name;
	int rc = -1;

	root = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "invalid JSON at byte %zu: %s", (size_t)jerr.position,
		         jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "the request is not a JSON object");
		goto out;
	}
	command = json_object_get(root, "command");
	if (command == NULL) {
		snprintf(err, errlen, "the request has no \"command\"");
		goto out;
	}
	if (!json_is_string(command) || json_string_length(command) == 0) {
		snprintf(err, errlen, "\"command\" is not a non-empty string");
		goto out;
	}
	/* The decoder rejects \u0000, so the command is a proper C string. */
	args = json_object_get(root, "args");
	if (args != NULL && !json_is_object(args)) {
		snprintf(err, errlen, "\"args\" is not an object");
		goto out;
	}
	args = args != NULL ? json_incref(args) : json_object();
	name = strdup(json_string_value(command));
	if (args == NULL || name == NULL) {
		json_decref(args);
		free(name);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	req->command = name;
	req->args = args;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void
ctl_request_clear(struct ctl_request *req)
{
	free(req->command);
	json_decref(req->args);
	req->command = NULL;
	req->args = NULL;
}

bool
ctl_peer_may_mutate(const struct ctl_peer *peer, const gid_t *groups, size_t ngroups,
                    const gid_t *group)
{
	if (peer->uid == 0)
		return true;
	if (group == NULL)
		return false;
	if (peer->gid == *group)
		return true;
	for (size_t i = 0; i < ngroups; i++)
		if (groups[i] == *group)
			return true;
	return false;
}

/* Messages from handlers may carry bytes from files or the network; JSON needs UTF-8. */
static json_t *
json_string_lossy(const char *s)
{
	json_t *v = json_string(s);
	char *copy;

	if (v != NULL)
		return v;
	copy = strdup(s);
	if (copy == NULL)
		return NULL;
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

static size_t
client_pending(const struct ctl_client *c)
{
	return c->outlen - c->outoff;
}

static void
client_free(struct ctl_client *c)
{
	struct ctl_server *s = c->server;

	if (c->busy) {
		c->closing = true;
		return;
	}
	ev_io_stop(s->loop, &c->rio);
	ev_io_stop(s->loop, &c->wio);
	ev_timer_stop(s->loop, &c->timer);
	close(c->fd);
	s->stats.queued -= client_pending(c);
	if (!c->privileged)
		s->unprivileged--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->stats.clients--;
	if (c->subscribed)
		s->stats.subscribers--;
	log_debug("ctl: client pid %d uid %u disconnected", (int)c->peer.pid,
	          (unsigned)c->peer.uid);
	free(c->in);
	free(c->out);
	free(c);
}

/* Appends data and a newline to the output queue: 0, -ENOBUFS if the queue would hold more
 * than limit bytes, or -ENOMEM. */
static int
client_queue_line(struct ctl_client *c, const char *data, size_t len, size_t limit)
{
	size_t pending = client_pending(c);
	size_t need = len + 1;
	size_t cap;
	char *p;

	if (len >= limit || need > limit - pending)
		return -ENOBUFS;
	if (c->outcap - c->outlen < need && c->outoff > 0 && c->outoff >= pending) {
		memmove(c->out, c->out + c->outoff, pending);
		c->outoff = 0;
		c->outlen = pending;
	}
	if (c->outcap - c->outlen < need) {
		cap = c->outcap != 0 ? c->outcap : CTL_OUTPUT_START;
		while (cap - c->outlen < need)
			cap *= 2;
		if (cap > CTL_OUTPUT_CAP_MAX) {
			memmove(c->out, c->out + c->outoff, pending);
			c->outoff = 0;
			c->outlen = pending;
			cap = c->outcap != 0 ? c->outcap : CTL_OUTPUT_START;
			while (cap - c->outlen < need)
				cap *= 2;
		}
		if (cap != c->outcap) {
			p = realloc(c->out, cap);
			if (p == NULL)
				return -ENOMEM;
			c->out = p;
			c->outcap = cap;
		}
	}
	memcpy(c->out + c->outlen, data, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += need;
	c->server->stats.queued += need;
	/* The stall clock runs from the moment something waits to be read. */
	if (pending == 0)
		c->drained = ev_now(c->server->loop);
	return 0;
}

static void
client_update_reading(struct ctl_client *c)
{
	struct ctl_server *s = c->server;
	size_t pending = client_pending(c);

	if (!c->paused && pending > CTL_HIGH_WATER)
		c->paused = true;
	else if (c->paused && pending <= CTL_LOW_WATER)
		c->paused = false;
	if (c->paused || c->eof || c->closing)
		ev_io_stop(s->loop, &c->rio);
	else
		ev_io_start(s->loop, &c->rio);
}

/* When the client is closed unless something happens first; 0: never. */
static ev_tstamp
client_deadline(const struct ctl_client *c)
{
	const struct ctl_server *s = c->server;

	if (client_pending(c) > 0)
		return c->drained + s->stall_timeout;
	if (c->subscribed && c->inlen == 0)
		return 0;
	return c->since + s->idle_timeout;
}

static void
client_arm(struct ctl_client *c)
{
	struct ctl_server *s = c->server;
	ev_tstamp deadline = client_deadline(c);
	ev_tstamp after = deadline - ev_now(s->loop);

	ev_timer_stop(s->loop, &c->timer);
	if (deadline == 0)
		return;
	ev_timer_set(&c->timer, after > 0 ? after : 0, 0);
	ev_timer_start(s->loop, &c->timer);
}

/* Sends what the socket takes now; the write watcher does the rest. Returns -1 when the
 * peer is gone (the caller closes it). */
static int
client_flush(struct ctl_client *c)
{
	struct ctl_server *s = c->server;
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		         MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno != EPIPE && errno != ECONNRESET)
				log_debug("ctl: client pid %d: send: %s", (int)c->peer.pid,
				          strerror(errno));
			return -1;
		}
		c->outoff += (size_t)n;
		s->stats.queued -= (size_t)n;
		c->drained = ev_now(s->loop);
	}
	if (c->outoff == c->outlen) {
		c->outoff = 0;
		c->outlen = 0;
		if (c->outcap > CTL_OUTPUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->outcap = 0;
		}
	}
	client_update_reading(c);
	/* Held requests are taken up by client_write_cb(), even once nothing is left to send
	 * (the queue may drain outside it, when an event is sent). */
	if (c->outoff < c->outlen || (c->held && !c->paused))
		ev_io_start(s->loop, &c->wio);
	else
		ev_io_stop(s->loop, &c->wio);
	client_arm(c);
	return 0;
}

static json_t *
reply_new(bool ok)
{
	json_t *reply = json_object();

	if (reply == NULL)
		return NULL;
	if (json_object_set_new(reply, "version", json_integer(CTL_PROTOCOL_VERSION)) < 0 ||
	    json_object_set_new(reply, "ok", json_boolean(ok)) < 0) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

/* Encodes a reply: result, or error (with its code, if any) when result is NULL. NULL when
 * it cannot be encoded within the output limit. */
static char *
reply_encode(json_t *result, const char *error, const char *code, size_t *len)
{
	json_t *reply = reply_new(result != NULL);
	char *text = NULL;

	if (reply == NULL)
		return NULL;
	if (result != NULL) {
		if (json_object_set(reply, "result", result) < 0)
			goto out;
	} else if (json_object_set_new(reply, "error", json_string_lossy(error)) < 0 ||
	           (code != NULL && json_object_set_new(reply, "code", json_string(code)) < 0)) {
		goto out;
	}
	text = json_dumps(reply, JSON_COMPACT);
	if (text != NULL && strlen(text) >= CTL_MAX_REPLY) {
		free(text);
		text = NULL;
	}
	if (text != NULL)
		*len = strlen(text);
out:
	json_decref(reply);
	return text;
}

/* Queues a reply. Requests are handled only while the queue is short (back-pressure), so a
 * reply always fits: a client is never dropped for the replies it reads. */
static void
client_reply(struct ctl_client *c, json_t *result, const char *error, const char *code)
{
	struct ctl_server *s = c->server;
	char *text;
	size_t len;

	s->stats.requests++;
	text = reply_encode(result, error, code, &len);
	if (text == NULL && result != NULL) {
		if (log_limit_allow(&s->log_failed))
			log_warnx("ctl: reply for client pid %d cannot be encoded within %d bytes",
			          (int)c->peer.pid, CTL_MAX_REPLY);
		error = "the reply cannot be encoded within the output limit";
		text = reply_encode(NULL, error, NULL, &len);
	}
	if (error != NULL)
		s->stats.errors++;
	if (text == NULL || client_queue_line(c, text, len, CTL_MAX_QUEUE) < 0) {
		if (log_limit_allow(&s->log_failed))
			log_warnx("ctl: out of memory replying to client pid %d", (int)c->peer.pid);
		client_free(c);
	}
	free(text);
}

static void client_reply_errorf(struct ctl_client *c, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
client_reply_errorf(struct ctl_client *c, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	client_reply(c, NULL, msg, code);
}

/* The peer's supplementary groups as the kernel recorded them at connect(). */
static int
peer_groups(int fd, gid_t **groups, size_t *ngroups)
{
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *buf = NULL, *p;

	for (int attempt = 0; attempt < 2; attempt++) {
		p = realloc(buf, len > 0 ? len : sizeof(gid_t));
		if (p == NULL)
			break;
		buf = p;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, buf, &len) == 0) {
			*groups = buf;
			*ngroups = len / sizeof(gid_t);
			return 0;
		}
		/* ERANGE: len now holds the size needed. */
		if (errno != ERANGE)
			break;
	}
	free(buf);
	return -1;
}

/* Whether the peer on fd may mutate, which also gives it the reserved slots. */
static bool
server_privileged(const struct ctl_server *s, int fd, const struct ctl_peer *peer)
{
	const gid_t *group = s->group != NULL ? &s->gid : NULL;
	gid_t *groups = NULL;
	size_t ngroups = 0;
	bool ok;

	if (ctl_peer_may_mutate(peer, NULL, 0, group))
		return true;
	if (group == NULL)
		return false;
	if (peer_groups(fd, &groups, &ngroups) < 0)
		log_debug("ctl: cannot read the groups of client pid %d: %s", (int)peer->pid,
		          strerror(errno));
	ok = ctl_peer_may_mutate(peer, groups, ngroups, group);
	free(groups);
	return ok;
}

static const struct ctl_command *
server_find_command(const struct ctl_server *s, const char *name)
{
	for (const struct ctl_command *cmd = s->commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, name) == 0)
			return cmd;
	return NULL;
}

static void
client_subscribe(struct ctl_client *c)
{
	json_t *result = json_pack("{s:b}", "subscribed", 1);

	if (!c->subscribed) {
		c->subscribed = true;
		c->server->stats.subscribers++;
	}
	if (result == NULL)
		client_reply(c, NULL, "out of memory", NULL);
	else
		client_reply(c, result, NULL, NULL);
	json_decref(result);
}

/* One request line, without its newline. */
static void
client_line(struct ctl_client *c, const char *line, size_t len)
{
	struct ctl_server *s = c->server;
	const struct ctl_command *cmd;
	struct ctl_request req;
	char err[256];
	char *handler_err = NULL;
	json_t *result;

	c->since = ev_now(s->loop);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	if (ctl_request_parse(line, len, &req, err, sizeof(err)) < 0) {
		client_reply(c, NULL, err, NULL);
		return;
	}
	if (strcmp(req.command, "events") == 0) {
		client_subscribe(c);
		goto out;
	}
	cmd = server_find_command(s, req.command);
	if (cmd == NULL) {
		client_reply_errorf(c, NULL, "unknown command \"%.64s\"", req.command);
		goto out;
	}
	if (cmd->mutating) {
		if (!c->privileged) {
			if (log_limit_allow(&s->log_denied))
				log_info("ctl: refused \"%s\" to pid %d uid %u", cmd->name,
				         (int)c->peer.pid, (unsigned)c->peer.uid);
			if (s->group != NULL)
				client_reply_errorf(c, "denied",
				                    "permission denied: \"%s\" needs root or "
				                    "membership of group %s",
				                    cmd->name, s->group);
			else
				client_reply_errorf(c, "denied",
				                    "permission denied: \"%s\" needs root",
				                    cmd->name);
			goto out;
		}
		if (log_limit_allow(&s->log_granted))
			log_info("ctl: \"%s\" requested by pid %d uid %u", cmd->name,
			         (int)c->peer.pid, (unsigned)c->peer.uid);
	}
	result = cmd->handler(s->ctx, &req, &handler_err);
	/* The handler may have published events that overflowed this very client. */
	if (c->closing) {
		json_decref(result);
		free(handler_err);
		goto out;
	}
	if (result != NULL)
		client_reply(c, result, NULL, NULL);
	else
		client_reply(c, NULL, handler_err != NULL ? handler_err : "command failed", NULL);
	json_decref(result);
	free(handler_err);
out:
	ctl_request_clear(&req);
}

/* The client has sent more than it may: it gets one error line and is closed. */
static void
client_drop_oversize(struct ctl_client *c)
{
	struct ctl_server *s = c->server;

	s->stats.dropped++;
	if (log_limit_allow(&s->log_dropped))
		log_warnx("ctl: dropping client pid %d uid %u: request line longer than %d bytes",
		          (int)c->peer.pid, (unsigned)c->peer.uid, CTL_MAX_REQUEST);
	c->busy = true;
	client_reply_errorf(c, NULL, "request line longer than %d bytes", CTL_MAX_REQUEST);
	c->busy = false;
	if (!c->closing)
		(void)client_flush(c);
	client_free(c);
}

/* Handles the complete lines in the input (and, after the client's end of stream, a last
 * line without its newline) while its output queue is short, then settles its fate. The
 * lines left while the queue is long are handled as it drains (client_write_cb). */
static void
client_process(struct ctl_client *c)
{
	size_t start = 0, end;
	bool blocked = false;
	char *nl;

	c->busy = true;
	while (!c->closing) {
		nl = memchr(c->in + c->scanned, '\n', c->inlen - c->scanned);
		if (nl != NULL) {
			end = (size_t)(nl - c->in);
		} else {
			c->scanned = c->inlen;
			/* A last request without its newline, as `printf ... | nc -U` sends. */
			if (!c->eof || c->inlen == start)
				break;
			end = c->inlen;
		}
		if (client_pending(c) > CTL_HIGH_WATER) {
			if (client_flush(c) < 0) {
				client_free(c);
				break;
			}
			if (client_pending(c) > CTL_HIGH_WATER) {
				blocked = true;
				break;
			}
		}
		client_line(c, c->in + start, end - start);
		start = end < c->inlen ? end + 1 : end;
		c->scanned = start;
	}
	c->busy = false;
	if (c->closing) {
		client_free(c);
		return;
	}
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
	c->scanned -= start;
	c->held = blocked;
	/* Unless blocked, what is left holds no newline: a line too long to ever complete. */
	if (!blocked && c->inlen >= CTL_MAX_REQUEST)
		client_drop_oversize(c);
	else if (client_flush(c) < 0 || (c->eof && c->inlen == 0 && client_pending(c) == 0))
		client_free(c);
}

static void
client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *c = w->data;
	size_t cap;
	ssize_t n;
	char *p;

	(void)revents;
	if (c->inlen == c->incap) {
		/* client_process() leaves less than CTL_MAX_REQUEST bytes behind. */
		cap = c->incap * 2 < CTL_MAX_REQUEST ? c->incap * 2 : CTL_MAX_REQUEST;
		p = realloc(c->in, cap);
		if (p == NULL) {
			if (log_limit_allow(&c->server->log_failed))
				log_warnx("ctl: out of memory reading from client pid %d",
				          (int)c->peer.pid);
			client_free(c);
			return;
		}
		c->in = p;
		c->incap = cap;
	}
	n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno != ECONNRESET)
			log_debug("ctl: client pid %d: recv: %s", (int)c->peer.pid,
			          strerror(errno));
		client_free(c);
		return;
	}
	if (n == 0) {
		c->eof = true;
	} else {
		/* A new request begins: it has the idle timeout to be completed. */
		if (c->inlen == 0)
			c->since = ev_now(loop);
		c->inlen += (size_t)n;
	}
	client_process(c);
}

static void
client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *c = w->data;

	(void)loop;
	(void)revents;
	if (client_flush(c) < 0 || (c->eof && c->inlen == 0 && client_pending(c) == 0))
		client_free(c);
	else if (c->held && !c->paused)
		client_process(c);
}

/* A client whose deadline passed: it stopped reading its output, or it idles. */
static void
client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_client *c = w->data;
	struct ctl_server *s = c->server;
	ev_tstamp deadline = client_deadline(c);

	(void)revents;
	if (deadline == 0 || deadline > ev_now(loop)) {
		client_arm(c);
		return;
	}
	if (client_pending(c) > 0) {
		s->stats.dropped++;
		if (log_limit_allow(&s->log_dropped))
			log_warnx("ctl: dropping client pid %d uid %u: it has read none of its %zu "
			          "waiting bytes for %.0f s",
			          (int)c->peer.pid, (unsigned)c->peer.uid, client_pending(c),
			          s->stall_timeout);
	} else {
		s->stats.timed_out++;
		if (log_limit_allow(&s->log_idle))
			log_info("ctl: closing client pid %d uid %u: %s for %.0f s",
			         (int)c->peer.pid, (unsigned)c->peer.uid,
			         c->inlen > 0 ? "request unfinished" : "nothing sent",
			         s->idle_timeout);
	}
	client_free(c);
}

static void
client_new(struct ctl_server *s, int fd, const struct ctl_peer *peer, bool privileged)
{
	struct ctl_client *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->in = malloc(CTL_INPUT_START)) == NULL) {
		if (log_limit_allow(&s->log_failed))
			log_warnx("ctl: %s: out of memory for a new client", s->path);
		free(c);
		close(fd);
		return;
	}
	c->server = s;
	c->fd = fd;
	c->incap = CTL_INPUT_START;
	c->peer = *peer;
	c->privileged = privileged;
	c->since = ev_now(s->loop);
	ev_io_init(&c->rio, client_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, client_write_cb, fd, EV_WRITE);
	ev_timer_init(&c->timer, client_timer_cb, s->idle_timeout, 0);
	c->rio.data = c;
	c->wio.data = c;
	c->timer.data = c;
	c->next = s->clients;
	if (s->clients != NULL)
		s->clients->prev = c;
	s->clients = c;
	s->stats.clients++;
	s->stats.accepted++;
	if (!privileged)
		s->unprivileged++;
	ev_io_start(s->loop, &c->rio);
	ev_timer_start(s->loop, &c->timer);
	log_debug("ctl: client pid %d uid %u connected%s", (int)peer->pid, (unsigned)peer->uid,
	          privileged ? " (privileged)" : "");
}

/* One line saying why, then the connection is closed; a socket that has sent nothing yet
 * always has room for the line. */
static void
send_goodbye(int fd, const char *error, const char *code)
{
	size_t len;
	char *text = reply_encode(NULL, error, code, &len);

	if (text == NULL)
		return;
	text[len++] = '\n'; /* over the NUL: the length is known */
	(void)send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(text);
}

static void
server_reject(struct ctl_server *s, int fd, const struct ctl_peer *peer, bool privileged)
{
	char msg[128];

	if (privileged)
		snprintf(msg, sizeof(msg),
		         "socket full: all %d slots are held by root and the control group",
		         CTL_MAX_CLIENTS);
	else
		snprintf(msg, sizeof(msg),
		         "socket full: no slot for an unprivileged client (%d of %d are kept for "
		         "root and the control group)",
		         CTL_PRIVILEGED_SLOTS, CTL_MAX_CLIENTS);
	send_goodbye(fd, msg, "full");
	close(fd);
	s->stats.rejected++;
	if (log_limit_allow(&s->log_refused))
		log_warnx("ctl: %s: refused pid %d uid %u: %s (%llu refused so far)", s->path,
		          (int)peer->pid, (unsigned)peer->uid, msg, s->stats.rejected);
}

/* Makes room for a privileged client: the unprivileged client idle the longest goes. */
static bool
server_evict(struct ctl_server *s)
{
	struct ctl_client *victim = NULL;
	ev_tstamp idle_since = 0, t;

	for (struct ctl_client *c = s->clients; c != NULL; c = c->next) {
		if (c->privileged)
			continue;
		t = c->since > c->drained ? c->since : c->drained;
		if (victim == NULL || t < idle_since) {
			victim = c;
			idle_since = t;
		}
	}
	if (victim == NULL)
		return false;
	s->stats.evicted++;
	if (log_limit_allow(&s->log_refused))
		log_info(
		        "ctl: closing client pid %d uid %u, idle for %.0f s, to make room for root "
		        "or the control group",
		        (int)victim->peer.pid, (unsigned)victim->peer.uid,
		        ev_now(s->loop) - idle_since);
	/* Between lines only: a line cut short would corrupt the stream. */
	if (client_pending(victim) == 0)
		send_goodbye(victim->fd, "closed to make room for root or the control group",
		             "evicted");
	client_free(victim);
	return true;
}

static void
server_admit(struct ctl_server *s, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct ctl_peer peer;
	bool privileged, room;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		if (log_limit_allow(&s->log_failed))
			log_warn("ctl: %s: cannot tell who connected", s->path);
		close(fd);
		return;
	}
	peer = (struct ctl_peer){.pid = cred.pid, .uid = cred.uid, .gid = cred.gid};
	privileged = server_privileged(s, fd, &peer);
	if (privileged)
		room = s->stats.clients < CTL_MAX_CLIENTS || server_evict(s);
	else
		room = s->stats.clients < CTL_MAX_CLIENTS &&
		       s->unprivileged < CTL_MAX_CLIENTS - CTL_PRIVILEGED_SLOTS;
	if (room)
		client_new(s, fd, &peer, privileged);
	else
		server_reject(s, fd, &peer, privileged);
}

static void
server_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_server *s = w->data;
	int fd;

	(void)revents;
	for (int i = 0; i < CTL_ACCEPT_BURST; i++) {
		fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* The pending connection stays queued, so a level-triggered watcher
			 * would spin: wait for descriptors or memory to come back. */
			log_warn("ctl: %s: accept (pausing %.0f s)", s->path, CTL_ACCEPT_PAUSE);
			ev_io_stop(loop, &s->accept_io);
			ev_timer_set(&s->accept_pause, CTL_ACCEPT_PAUSE, 0.);
			ev_timer_start(loop, &s->accept_pause);
			return;
		}
		server_admit(s, fd);
	}
}

static void
server_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_server *s = w->data;

	(void)revents;
	ev_io_start(loop, &s->accept_io);
}

/* mkdir -p of the socket's directory; directories it creates get 0755 whatever the umask,
 * so that clients can reach the socket. */
static int
server_make_dirs(const char *path)
{
	char *dir = strdup(path);
	int rc = -1;

	if (dir == NULL)
		return -1;
	for (char *p = strchr(dir + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			if (chmod(dir, 0755) < 0) {
				log_err("ctl: %s: chmod", dir);
				goto out;
			}
		} else if (errno != EEXIST) {
			log_err("ctl: cannot create directory %s", dir);
			goto out;
		}
		*p = '/';
	}
	rc = 0;
out:
	free(dir);
	return rc;
}

/* A socket file left by a netd that died is removed; one that still answers belongs to a
 * running netd, which must not be cut off from its clients. */
static int
server_remove_stale(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, rc, err;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		log_err("ctl: %s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_errx("ctl: %s exists and is not a socket; not replacing it", path);
		errno = EEXIST;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_err("ctl: socket");
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	err = errno;
	close(fd);
	/* EAGAIN: a listener whose backlog is full is alive all the same. */
	if (rc == 0 || err == EAGAIN) {
		log_errx("ctl: %s: another netd is already listening on this socket", path);
		errno = EADDRINUSE;
		return -1;
	}
	if (err != ECONNREFUSED && err != ENOENT) {
		errno = err;
		log_err("ctl: %s: cannot tell whether the socket is in use", path);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		log_err("ctl: cannot remove stale socket %s", path);
		return -1;
	}
	log_info("ctl: removed stale socket %s", path);
	return 0;
}

static int
server_resolve_group(struct ctl_server *s, const char *name)
{
	struct group grp, *found = NULL;
	char *buf = NULL, *p;
	size_t len = 1024;
	int rc;

	for (;;) {
		p = realloc(buf, len);
		if (p == NULL) {
			rc = ENOMEM;
			break;
		}
		buf = p;
		rc = getgrnam_r(name, &grp, buf, len, &found);
		if (rc != ERANGE || len >= 1024 * 1024)
			break;
		len *= 2;
	}
	if (rc != 0 || found == NULL) {
		if (rc != 0)
			log_errx("ctl: cannot look up group \"%s\": %s", name, strerror(rc));
		else
			log_errx("ctl: unknown group \"%s\" for the status socket", name);
		free(buf);
		errno = rc != 0 ? rc : ENOENT;
		return -1;
	}
	s->gid = grp.gr_gid;
	free(buf);
	s->group = strdup(name);
	return s->group != NULL ? 0 : -1;
}

struct ctl_server *
ctl_server_new(struct ev_loop *loop, const struct ctl_config *config,
               const struct ctl_command *commands, void *ctx)
{
	struct ctl_server *s;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t plen = strlen(config->path);
	bool bound = false;
	struct stat st;
	int saved;

	if (plen == 0 || plen >= sizeof(addr.sun_path)) {
		log_errx("ctl: socket path \"%s\" is empty or longer than %zu bytes", config->path,
		         sizeof(addr.sun_path) - 1);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(addr.sun_path, config->path, plen + 1);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->fd = -1;
	s->loop = loop;
	s->commands = commands;
	s->ctx = ctx;
	s->idle_timeout = config->idle_timeout > 0 ? config->idle_timeout : CTL_IDLE_TIMEOUT;
	s->stall_timeout = config->stall_timeout > 0 ? config->stall_timeout : CTL_STALL_TIMEOUT;
	s->log_refused = (struct log_limit)LOG_LIMIT_INIT("ctl: refused or evicted clients",
	                                                  LOG_LEVEL_WARNING, CTL_LOG_BURST,
	                                                  CTL_LOG_INTERVAL);
	s->log_dropped = (struct log_limit)LOG_LIMIT_INIT("ctl: dropped clients", LOG_LEVEL_WARNING,
	                                                  CTL_LOG_BURST, CTL_LOG_INTERVAL);
	s->log_idle = (struct log_limit)LOG_LIMIT_INIT("ctl: timed-out clients", LOG_LEVEL_INFO,
	                                               CTL_LOG_BURST, CTL_LOG_INTERVAL);
	s->log_denied = (struct log_limit)LOG_LIMIT_INIT("ctl: refused commands", LOG_LEVEL_INFO,
	                                                 CTL_LOG_BURST, CTL_LOG_INTERVAL);
	s->log_granted = (struct log_limit)LOG_LIMIT_INIT("ctl: mutating commands", LOG_LEVEL_INFO,
	                                                  CTL_LOG_BURST, CTL_LOG_INTERVAL);
	s->log_failed = (struct log_limit)LOG_LIMIT_INIT("ctl: failed replies", LOG_LEVEL_WARNING,
	                                                 CTL_LOG_BURST, CTL_LOG_INTERVAL);
	s->path = strdup(config->path);
	if (s->path == NULL)
		goto fail;
	if (config->group != NULL && server_resolve_group(s, config->group) < 0)
		goto fail;
	if (server_make_dirs(s->path) < 0 || server_remove_stale(s->path, &addr) < 0)
		goto fail;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		log_err("ctl: socket");
		goto fail;
	}
	if (bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		log_err("ctl: cannot bind %s", s->path);
		goto fail;
	}
	bound = true;
	/* Permissions are set before listen(): nobody connects under the umask's. */
	if (chmod(s->path, config->mode) < 0) {
		log_err("ctl: %s: chmod %04o", s->path, (unsigned)config->mode);
		goto fail;
	}
	if (s->group != NULL && chown(s->path, (uid_t)-1, s->gid) < 0) {
		log_err("ctl: %s: chown to group %s", s->path, s->group);
		goto fail;
	}
	if (lstat(s->path, &st) < 0) {
		log_err("ctl: %s", s->path);
		goto fail;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (listen(s->fd, SOMAXCONN) < 0) {
		log_err("ctl: %s: listen", s->path);
		goto fail;
	}
	ev_io_init(&s->accept_io, server_accept_cb, s->fd, EV_READ);
	s->accept_io.data = s;
	ev_timer_init(&s->accept_pause, server_resume_cb, CTL_ACCEPT_PAUSE, 0.);
	s->accept_pause.data = s;
	ev_io_start(loop, &s->accept_io);
	log_debug("ctl: listening on %s", s->path);
	return s;
fail:
	saved = errno;
	if (bound)
		unlink(s->path);
	if (s->fd >= 0)
		close(s->fd);
	free(s->group);
	free(s->path);
	free(s);
	errno = saved;
	return NULL;
}

void
ctl_server_free(struct ctl_server *s)
{
	struct stat st;

	if (s == NULL)
		return;
	while (s->clients != NULL)
		client_free(s->clients);
	ev_io_stop(s->loop, &s->accept_io);
	ev_timer_stop(s->loop, &s->accept_pause);
	close(s->fd);
	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s->group);
	free(s->path);
	free(s);
}

void
ctl_server_publish(struct ctl_server *s, json_t *event)
{
	struct ctl_client *c, *next;
	json_t *msg;
	char *text;
	size_t len;
	int rc;

	if (s == NULL || event == NULL || s->stats.subscribers == 0)
		return;
	msg = reply_new(true);
	if (msg == NULL || json_object_set(msg, "event", event) < 0 ||
	    (text = json_dumps(msg, JSON_COMPACT)) == NULL) {
		log_warnx("ctl: cannot encode an event");
		json_decref(msg);
		return;
	}
	json_decref(msg);
	len = strlen(text);
	if (len >= CTL_MAX_OUTPUT) {
		log_warnx("ctl: event of %zu bytes is too large to publish", len);
		free(text);
		return;
	}
	for (c = s->clients; c != NULL; c = next) {
		next = c->next;
		if (!c->subscribed || c->closing)
			continue;
		rc = client_queue_line(c, text, len, CTL_MAX_OUTPUT);
		if (rc == -ENOBUFS) {
			s->stats.dropped++;
			if (log_limit_allow(&s->log_dropped))
				log_warnx("ctl: dropping event subscriber pid %d uid %u: more than "
				          "%d bytes behind",
				          (int)c->peer.pid, (unsigned)c->peer.uid, CTL_MAX_OUTPUT);
			client_free(c);
		} else if (rc < 0) {
			if (log_limit_allow(&s->log_failed))
				log_warnx("ctl: out of memory sending an event to client pid %d",
				          (int)c->peer.pid);
			client_free(c);
		} else if (!c->busy && client_flush(c) < 0) {
			client_free(c);
		}
	}
	free(text);
}

void
ctl_server_stats(const struct ctl_server *s, struct ctl_stats *stats)
{
	if (s == NULL) {
		*stats = (struct ctl_stats){0};
		return;
	}
	*stats = s->stats;
}

json_t *
ctl_time_json(time_t t)
{
	char buf[32];
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}
