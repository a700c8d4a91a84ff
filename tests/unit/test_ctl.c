/* The status socket server and its client library: framing, limits, back-pressure, events,
 * permissions and the socket file, with the server and its clients driven from one thread
 * (children only where another uid or a misbehaving peer is needed). */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "netd/ctl.h"
#include "netd/ctlclient.h"
#include "netd/log.h"
#include "tests/unit/capture.h"

/* Every wait in these tests is a bounded number of non-blocking loop iterations. */
#define PUMP_MAX 2000000UL

struct fixture {
	char dir[64];
	char path[128];
	struct ev_loop *loop;
	struct ctl_server *server;
	unsigned set_calls;
};

struct tclient {
	int fd;
	char *buf; /* buf[start..len) received, not yet taken */
	size_t start;
	size_t len;
	size_t cap;
	bool eof; /* end of stream or reset seen */
};

/* Test commands. */

static json_t *
cmd_ping(void *ctx, const struct ctl_request *req, char **err)
{
	json_t *result = json_pack("{s:b}", "pong", 1);
	json_t *n = json_object_get(req->args, "n");

	(void)ctx;
	(void)err;
	if (n != NULL)
		json_object_set(result, "n", n);
	return result;
}

static json_t *
cmd_big(void *ctx, const struct ctl_request *req, char **err)
{
	json_int_t kib = json_integer_value(json_object_get(req->args, "kib"));
	size_t len = (size_t)(kib > 0 ? kib : 64) * 1024;
	char *data = malloc(len + 1);
	json_t *result;

	(void)ctx;
	(void)err;
	memset(data, 'b', len);
	data[len] = '\0';
	result = json_pack("{s:s}", "data", data);
	free(data);
	return result;
}

static json_t *
cmd_set(void *ctx, const struct ctl_request *req, char **err)
{
	struct fixture *f = ctx;

	(void)req;
	(void)err;
	f->set_calls++;
	return json_pack("{s:b}", "set", 1);
}

static json_t *
cmd_fail(void *ctx, const struct ctl_request *req, char **err)
{
	(void)ctx;
	(void)req;
	*err = strdup("it failed on purpose");
	return NULL;
}

static json_t *
cmd_nothing(void *ctx, const struct ctl_request *req, char **err)
{
	(void)ctx;
	(void)req;
	(void)err;
	return NULL;
}

/* Publishes from inside a request, as "reload" does. */
static json_t *
cmd_flood(void *ctx, const struct ctl_request *req, char **err)
{
	struct fixture *f = ctx;
	json_int_t count = json_integer_value(json_object_get(req->args, "count"));
	json_int_t kib = json_integer_value(json_object_get(req->args, "kib"));
	size_t len = (size_t)(kib > 0 ? kib : 1) * 1024;
	char *data = malloc(len + 1);
	json_t *event;

	(void)err;
	memset(data, 'e', len);
	data[len] = '\0';
	event = json_pack("{s:s, s:s}", "type", "flood", "data", data);
	free(data);
	for (json_int_t i = 0; i < count; i++)
		ctl_server_publish(f->server, event);
	json_decref(event);
	return json_pack("{s:I}", "published", count);
}

static const struct ctl_command test_commands[] = {
        {"ping", false, cmd_ping}, {"big", false, cmd_big},         {"set", true, cmd_set},
        {"fail", false, cmd_fail}, {"nothing", false, cmd_nothing}, {"flood", false, cmd_flood},
        {NULL, false, NULL},
};

/* Fixture. */

static struct ctl_server *
server_start(struct fixture *f, mode_t mode, const char *group)
{
	struct ctl_config config = {.path = f->path, .mode = mode, .group = group};

	return ctl_server_new(f->loop, &config, test_commands, f);
}

/* A server whose idle and stall timeouts are short enough for a test to wait out. */
static void
server_restart_timeouts(struct fixture *f, double idle, double stall)
{
	struct ctl_config config = {
	        .path = f->path, .mode = 0660, .idle_timeout = idle, .stall_timeout = stall};

	ctl_server_free(f->server);
	f->server = ctl_server_new(f->loop, &config, test_commands, f);
	assert_non_null(f->server);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/netd-test-ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* The socket's directory does not exist yet: the server creates it. */
	snprintf(f->path, sizeof(f->path), "%s/run/netd.sock", f->dir);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	f->server = server_start(f, 0660, NULL);
	assert_non_null(f->server);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char run[160];

	ctl_server_free(f->server);
	ev_loop_destroy(f->loop);
	snprintf(run, sizeof(run), "%s/run", f->dir);
	unlink(f->path);
	rmdir(run);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
pump(struct fixture *f)
{
	ev_run(f->loop, EVRUN_NOWAIT);
}

/* Test clients: non-blocking sockets read and written between loop iterations. */

static struct tclient *
tclient_connect_to(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct tclient *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_true(strlen(path) < sizeof(addr.sun_path));
	strcpy(addr.sun_path, path);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return c;
}

static struct tclient *
tclient_connect(struct fixture *f)
{
	return tclient_connect_to(f->path);
}

static void
tclient_free(struct tclient *c)
{
	close(c->fd);
	free(c->buf);
	free(c);
}

static void
tclient_send(struct fixture *f, struct tclient *c, const char *data, size_t len)
{
	size_t off = 0;
	unsigned long i;
	ssize_t n;

	for (i = 0; off < len && i < PUMP_MAX; i++) {
		n = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		pump(f);
	}
	assert_int_equal(off, len);
}

static void
tclient_sends(struct fixture *f, struct tclient *c, const char *text)
{
	tclient_send(f, c, text, strlen(text));
}

/* Takes what the socket has; false when nothing came. */
static bool
tclient_recv(struct tclient *c)
{
	ssize_t n;

	if (c->eof)
		return false;
	if (c->cap - c->len < 65536 && c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->len - c->start);
		c->len -= c->start;
		c->start = 0;
	}
	if (c->cap - c->len < 65536) {
		c->cap = c->cap * 2 + 65536;
		c->buf = realloc(c->buf, c->cap);
		assert_non_null(c->buf);
	}
	n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
	if (n > 0) {
		c->len += (size_t)n;
		return true;
	}
	if (n == 0 || errno == ECONNRESET)
		c->eof = true;
	else
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	return false;
}

/* The next line (malloc'ed, without newline) within max_pumps loop iterations; NULL at the
 * end of the stream or when the bound runs out. */
static char *
tclient_line_within(struct fixture *f, struct tclient *c, unsigned long max_pumps)
{
	char *nl, *line;
	size_t n;

	for (unsigned long i = 0; i < max_pumps; i++) {
		nl = c->len > c->start ? memchr(c->buf + c->start, '\n', c->len - c->start) : NULL;
		if (nl != NULL) {
			n = (size_t)(nl - (c->buf + c->start));
			line = strndup(c->buf + c->start, n);
			assert_non_null(line);
			c->start += n + 1;
			return line;
		}
		if (c->eof)
			return NULL;
		if (!tclient_recv(c))
			pump(f);
	}
	return NULL;
}

static char *
tclient_line(struct fixture *f, struct tclient *c)
{
	return tclient_line_within(f, c, PUMP_MAX);
}

static void
expect_line(struct fixture *f, struct tclient *c, const char *want)
{
	char *line = tclient_line(f, c);

	assert_non_null(line);
	assert_string_equal(line, want);
	free(line);
}

/* A reply, checked for the envelope every reply has. */
static json_t *
tclient_reply(struct fixture *f, struct tclient *c)
{
	char *line = tclient_line(f, c);
	json_t *reply;

	assert_non_null(line);
	reply = json_loads(line, 0, NULL);
	if (reply == NULL)
		fail_msg("reply is not JSON: %.200s", line);
	free(line);
	assert_true(json_is_object(reply));
	assert_int_equal(json_integer_value(json_object_get(reply, "version")),
	                 CTL_PROTOCOL_VERSION);
	assert_true(json_is_boolean(json_object_get(reply, "ok")));
	return reply;
}

static void
expect_error(struct fixture *f, struct tclient *c, const char *substring)
{
	json_t *reply = tclient_reply(f, c);
	const char *error = json_string_value(json_object_get(reply, "error"));

	assert_true(json_is_false(json_object_get(reply, "ok")));
	assert_null(json_object_get(reply, "result"));
	assert_non_null(error);
	if (strstr(error, substring) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", error, substring);
	json_decref(reply);
}

/* An error line with a code, as a refused or evicted client gets before it is closed. */
static void
expect_refusal(struct fixture *f, struct tclient *c, const char *code, const char *substring)
{
	json_t *reply = tclient_reply(f, c);
	const char *got = json_string_value(json_object_get(reply, "code"));

	assert_true(json_is_false(json_object_get(reply, "ok")));
	assert_non_null(got);
	assert_string_equal(got, code);
	if (strstr(json_string_value(json_object_get(reply, "error")), substring) == NULL)
		fail_msg("error %s does not mention \"%s\"",
		         json_string_value(json_object_get(reply, "error")), substring);
	json_decref(reply);
}

static void
expect_pong(struct fixture *f, struct tclient *c, json_int_t n)
{
	json_t *reply = tclient_reply(f, c);
	json_t *result = json_object_get(reply, "result");

	assert_true(json_is_true(json_object_get(reply, "ok")));
	assert_true(json_is_true(json_object_get(result, "pong")));
	assert_int_equal(json_integer_value(json_object_get(result, "n")), n);
	json_decref(reply);
}

static void
send_ping(struct fixture *f, struct tclient *c, json_int_t n)
{
	char req[64];

	snprintf(req, sizeof(req),
	         "{\"command\":\"ping\",\"args\":{\"n\":%" JSON_INTEGER_FORMAT "}}\n", n);
	tclient_sends(f, c, req);
}

/* Reads and discards until the server closes; false if it does not within the bound. */
static bool
tclient_wait_eof(struct fixture *f, struct tclient *c)
{
	for (unsigned long i = 0; i < PUMP_MAX && !c->eof; i++) {
		c->start = 0;
		c->len = 0;
		if (!tclient_recv(c))
			pump(f);
	}
	return c->eof;
}

/* Nothing more arrives within a few loop iterations. */
static void
expect_silence(struct fixture *f, struct tclient *c)
{
	for (int i = 0; i < 100; i++) {
		pump(f);
		tclient_recv(c);
	}
	assert_int_equal(c->len - c->start, 0);
	assert_false(c->eof);
}

static struct ctl_stats
stats(const struct fixture *f)
{
	struct ctl_stats st;

	ctl_server_stats(f->server, &st);
	return st;
}

/* Seconds until the server closes c (reading and discarding what it sends), or -1 if it
 * does not within limit seconds. */
static double
tclient_eof_after(struct fixture *f, struct tclient *c, double limit)
{
	ev_tstamp start = ev_time();

	while (!c->eof && ev_time() - start < limit) {
		c->start = 0;
		c->len = 0;
		if (!tclient_recv(c))
			pump(f);
	}
	return c->eof ? ev_time() - start : -1;
}

static void
pump_for(struct fixture *f, double seconds)
{
	ev_tstamp start = ev_time();

	while (ev_time() - start < seconds)
		pump(f);
}

static void
pump_until_clients(struct fixture *f, size_t n)
{
	for (unsigned long i = 0; i < PUMP_MAX && stats(f).clients != n; i++)
		pump(f);
	assert_int_equal(stats(f).clients, n);
}

/* Replies. */

/* The limits README.md promises operators, in its units: the tests above
 * check the behaviour against these constants, this one the constants against the text. */
static void
test_documented_limits(void **state)
{
	(void)state;
	assert_string_equal(CTL_DEFAULT_SOCKET, "/run/netd/netd.sock");
	assert_int_equal(CTL_MAX_REQUEST, 64 * 1024);
	assert_int_equal(CTL_MAX_CLIENTS, 256);
	assert_int_equal(CTL_PRIVILEGED_SLOTS, 16);
	assert_true(CTL_IDLE_TIMEOUT == 10.0);
	assert_true(CTL_STALL_TIMEOUT == 30.0);
	assert_int_equal(CTL_MAX_OUTPUT, 4 * 1024 * 1024);
}

static void
test_reply_envelope(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_connect(f);

	tclient_sends(f, c, "{\"command\":\"ping\"}\n");
	expect_line(f, c, "{\"version\":1,\"ok\":true,\"result\":{\"pong\":true}}");
	tclient_sends(f, c, "{\"command\": \"ping\", \"args\": {\"n\": 7}}\n");
	expect_line(f, c, "{\"version\":1,\"ok\":true,\"result\":{\"pong\":true,\"n\":7}}");
	tclient_sends(f, c, "{\"command\":\"fail\"}\n");
	expect_line(f, c, "{\"version\":1,\"ok\":false,\"error\":\"it failed on purpose\"}");
	assert_int_equal(stats(f).requests, 3);
	assert_int_equal(stats(f).errors, 1);
	assert_int_equal(stats(f).accepted, 1);
	tclient_free(c);
}

static void
test_split_and_pipelined(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_connect(f);
	const char *pieces[] = {"{\"comm", "and\":\"ping\",\"ar", "gs\":{\"n\":1}}", "\n"};

	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		tclient_sends(f, c, pieces[i]);
		for (int k = 0; k < 20; k++)
			pump(f);
	}
	expect_pong(f, c, 1);

	tclient_sends(f, c,
	              "{\"command\":\"ping\",\"args\":{\"n\":2}}\n"
	              "{\"command\":\"ping\",\"args\":{\"n\":3}}\r\n"
	              "\n"
	              "{\"command\":\"ping\",\"args\":{\"n\":4}}\n{\"command\":\"pi");
	expect_pong(f, c, 2);
	expect_pong(f, c, 3);
	expect_pong(f, c, 4);
	tclient_sends(f, c, "ng\",\"args\":{\"n\":5}}\n");
	expect_pong(f, c, 5);
	/* The blank line is no request. */
	assert_int_equal(stats(f).requests, 5);
	tclient_free(c);
}

static void
test_last_request_without_newline(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_connect(f);

	tclient_sends(f, c, "{\"command\":\"ping\",\"args\":{\"n\":1}}\n{\"command\":\"ping\"");
	tclient_sends(f, c, ",\"args\":{\"n\":2}}");
	assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
	expect_pong(f, c, 1);
	expect_pong(f, c, 2);
	assert_true(tclient_wait_eof(f, c));
	pump_until_clients(f, 0);
	tclient_free(c);
}

static void
test_bad_requests(void **state)
{
	static const struct {
		const char *line;
		const char *error;
	} cases[] = {
	        {"not json", "invalid JSON at byte"},
	        {"{\"command\":\"ping\"", "invalid JSON"},
	        {"{\"command\":\"ping\"} trailing", "invalid JSON"},
	        {"[\"ping\"]", "not a JSON object"},
	        {"\"ping\"", "not a JSON object"},
	        {"42", "not a JSON object"},
	        {"{}", "no \"command\""},
	        {"{\"args\":{}}", "no \"command\""},
	        {"{\"command\":5}", "\"command\" is not a non-empty string"},
	        {"{\"command\":null}", "\"command\" is not a non-empty string"},
	        {"{\"command\":\"\"}", "\"command\" is not a non-empty string"},
	        {"{\"command\":\"ping\",\"args\":[]}", "\"args\" is not an object"},
	        {"{\"command\":\"ping\",\"args\":\"n=1\"}", "\"args\" is not an object"},
	        {"{\"command\":\"ping\",\"command\":\"set\"}", "invalid JSON"},
	        {"{\"command\":\"p\\u0000ing\"}", "invalid JSON"},
	        {"{\"command\":\"nope\"}", "unknown command \"nope\""},
	        {"{\"command\":\"nothing\"}", "command failed"},
	        {"\xff\xfe{\"command\":\"ping\"}", "invalid JSON"},
	};
	struct fixture *f = *state;
	struct tclient *c = tclient_connect(f);
	size_t n = sizeof(cases) / sizeof(cases[0]);
	char line[256];

	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%s\n", cases[i].line);
		tclient_sends(f, c, line);
		expect_error(f, c, cases[i].error);
		/* The connection stays usable after each. */
		send_ping(f, c, (json_int_t)i);
		expect_pong(f, c, (json_int_t)i);
	}
	assert_int_equal(stats(f).errors, n);
	assert_int_equal(stats(f).requests, 2 * n);
	assert_int_equal(stats(f).dropped, 0);
	tclient_free(c);
}

/* {"command":"ping","args":{"pad":"xxx"}} padded to exactly len bytes, newline included. */
static char *
padded_request(size_t len)
{
	static const char head[] = "{\"command\":\"ping\",\"args\":{\"pad\":\"";
	static const char tail[] = "\"}}\n";
	char *req = malloc(len + 1);
	size_t pad = len - (sizeof(head) - 1) - (sizeof(tail) - 1);

	assert_non_null(req);
	memcpy(req, head, sizeof(head) - 1);
	memset(req + sizeof(head) - 1, 'x', pad);
	memcpy(req + sizeof(head) - 1 + pad, tail, sizeof(tail));
	assert_int_equal(strlen(req), len);
	return req;
}

static void
test_request_size_limit(void **state)
{
	struct fixture *f = *state;
	struct tclient *fits = tclient_connect(f);
	struct tclient *other = tclient_connect(f);
	struct tclient *big = tclient_connect(f);
	struct tclient *huge = tclient_connect(f);
	char *req = padded_request(CTL_MAX_REQUEST);
	json_t *reply;
	size_t junk = CTL_MAX_REQUEST + 4096;
	char *x = malloc(junk);

	/* A line of exactly the limit, newline included, is served... */
	tclient_sends(f, fits, req);
	reply = tclient_reply(f, fits);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	json_decref(reply);
	free(req);

	/* ...one byte more is not, and the connection is closed. */
	req = padded_request(CTL_MAX_REQUEST + 1);
	tclient_sends(f, big, req);
	expect_error(f, big, "request line longer than 65536 bytes");
	assert_true(tclient_wait_eof(f, big));
	free(req);

	/* Endless bytes without a newline are never buffered beyond the limit. */
	assert_non_null(x);
	memset(x, 'x', junk);
	tclient_send(f, huge, x, CTL_MAX_REQUEST);
	expect_error(f, huge, "longer than");
	assert_true(tclient_wait_eof(f, huge));
	free(x);

	assert_int_equal(stats(f).dropped, 2);
	/* Everyone else is still served. */
	send_ping(f, other, 1);
	expect_pong(f, other, 1);
	send_ping(f, fits, 2);
	expect_pong(f, fits, 2);
	tclient_free(fits);
	tclient_free(other);
	tclient_free(big);
	tclient_free(huge);
}

/* Many clients. */

static void
test_concurrent_clients(void **state)
{
	enum { N = 200 };
	struct fixture *f = *state;
	struct tclient *c[N];

	for (int i = 0; i < N; i++)
		c[i] = tclient_connect(f);
	for (int i = 0; i < N; i++) {
		char req[64];

		/* Written before the server has accepted anyone: the kernel queues it. */
		snprintf(req, sizeof(req), "{\"command\":\"ping\",\"args\":{\"n\":%d}}\n", i);
		assert_int_equal(send(c[i]->fd, req, strlen(req), MSG_NOSIGNAL),
		                 (ssize_t)strlen(req));
	}
	for (int i = N - 1; i >= 0; i--)
		expect_pong(f, c[i], i);
	assert_int_equal(stats(f).clients, N);
	assert_int_equal(stats(f).accepted, N);
	assert_int_equal(stats(f).requests, N);
	for (int i = 0; i < N; i++)
		tclient_free(c[i]);
	pump_until_clients(f, 0);
}

static void
test_client_limit(void **state)
{
	struct fixture *f = *state;
	struct tclient *c[CTL_MAX_CLIENTS], *extra, *late;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		c[i] = tclient_connect(f);
	pump_until_clients(f, CTL_MAX_CLIENTS);

	/* Every client here is root's: there is nobody to make room by closing. */
	extra = tclient_connect(f);
	expect_refusal(f, extra, "full", "socket full");
	assert_true(tclient_wait_eof(f, extra));
	assert_int_equal(stats(f).rejected, 1);
	assert_int_equal(stats(f).clients, CTL_MAX_CLIENTS);

	send_ping(f, c[0], 1);
	expect_pong(f, c[0], 1);
	send_ping(f, c[CTL_MAX_CLIENTS - 1], 2);
	expect_pong(f, c[CTL_MAX_CLIENTS - 1], 2);

	/* A slot that frees up can be taken again. */
	tclient_free(c[0]);
	pump_until_clients(f, CTL_MAX_CLIENTS - 1);
	late = tclient_connect(f);
	send_ping(f, late, 3);
	expect_pong(f, late, 3);
	assert_int_equal(stats(f).rejected, 1);

	tclient_free(late);
	tclient_free(extra);
	for (int i = 1; i < CTL_MAX_CLIENTS; i++)
		tclient_free(c[i]);
	pump_until_clients(f, 0);
}

/* Slow and silent clients. */

/* Requests for 200 replies of 64 KiB, three times what may ever wait for a client. */
static size_t
big_requests(char *reqs, size_t size, int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(reqs + len, size - len,
		                        "{\"command\":\"big\",\"args\":{\"kib\":64}}\n");
	return len;
}

static void
test_non_reader_dropped_after_stall(void **state)
{
	struct fixture *f = *state;
	struct tclient *hog, *other;
	size_t most = 0, len;
	char *line;
	char reqs[200 * 40];
	ev_tstamp start;
	double after;

	server_restart_timeouts(f, 5.0, 0.5);
	hog = tclient_connect(f);
	other = tclient_connect(f);
	len = big_requests(reqs, sizeof(reqs), 200);
	start = ev_time();
	tclient_send(f, hog, reqs, len);
	send_ping(f, other, 1);
	line = tclient_line_within(f, other, 1000);
	assert_non_null(line);
	assert_string_equal(line, "{\"version\":1,\"ok\":true,\"result\":{\"pong\":true,\"n\":1}}");
	free(line);

	/* Not reading is not yet a reason: the client is held back, its queue bounded... */
	while (ev_time() - start < 0.3) {
		pump(f);
		if (stats(f).queued > most)
			most = stats(f).queued;
	}
	assert_int_equal(stats(f).dropped, 0);
	assert_int_equal(stats(f).clients, 2);
	assert_true(most > 0);
	assert_true(most <= 2 * CTL_MAX_OUTPUT);

	/* ...until it has taken nothing for the stall timeout (it still does not read). */
	while (stats(f).clients == 2 && ev_time() - start < 10.0)
		pump(f);
	after = ev_time() - start;
	assert_true(after >= 0.5 && after < 10.0);
	assert_int_equal(stats(f).dropped, 1);
	assert_int_equal(stats(f).clients, 1);
	assert_int_equal(stats(f).queued, 0);
	send_ping(f, other, 2);
	expect_pong(f, other, 2);
	tclient_free(hog);
	tclient_free(other);
}

static void
test_pipelining_reader_gets_every_reply(void **state)
{
	enum { N = 400 };
	struct fixture *f = *state;
	struct tclient *c = tclient_connect(f);
	static char reqs[N * 40];
	size_t len = big_requests(reqs, sizeof(reqs), N);
	json_t *reply;

	/* 25 MiB of replies asked for at once, read as they come: nothing is dropped. */
	tclient_send(f, c, reqs, len);
	for (int i = 0; i < N; i++) {
		reply = tclient_reply(f, c);
		if (!json_is_true(json_object_get(reply, "ok")))
			fail_msg("reply %d is an error", i);
		assert_int_equal(json_string_length(
		                         json_object_get(json_object_get(reply, "result"), "data")),
		                 64 * 1024);
		json_decref(reply);
	}
	assert_int_equal(stats(f).dropped, 0);
	assert_int_equal(stats(f).requests, N);
	send_ping(f, c, 1);
	expect_pong(f, c, 1);
	tclient_free(c);
}

static void
test_idle_clients_time_out(void **state)
{
	struct fixture *f = *state;
	struct tclient *silent, *half, *trickle, *active, *sub;
	ev_tstamp start, next_trickle;
	double after;
	int n = 0;

	server_restart_timeouts(f, 0.3, 5.0);
	silent = tclient_connect(f);
	half = tclient_connect(f);
	trickle = tclient_connect(f);
	active = tclient_connect(f);
	sub = tclient_connect(f);
	tclient_sends(f, sub, "{\"command\":\"events\"}\n");
	json_decref(tclient_reply(f, sub));
	/* Half a request, then nothing: a client blocked in the middle of its request. */
	tclient_sends(f, half, "{\"command\":\"pi");
	start = ev_time();
	next_trickle = start;
	/* For a second, one client asks something every 50 ms and another sends one byte of
	 * a request that never ends every 50 ms. */
	while (ev_time() - start < 1.0) {
		if (ev_time() >= next_trickle) {
			send_ping(f, active, ++n);
			expect_pong(f, active, n);
			if (!trickle->eof)
				(void)send(trickle->fd, "{", 1, MSG_NOSIGNAL);
			tclient_recv(trickle);
			next_trickle += 0.05;
		}
		pump(f);
	}
	/* Those who sent nothing, or did not complete a request, were closed... */
	after = tclient_eof_after(f, silent, 0.1);
	assert_true(after >= 0);
	after = tclient_eof_after(f, half, 0.1);
	assert_true(after >= 0);
	after = tclient_eof_after(f, trickle, 0.1);
	assert_true(after >= 0);
	assert_int_equal(stats(f).timed_out, 3);
	/* ...those who keep asking or wait for events were not. */
	assert_int_equal(stats(f).clients, 2);
	send_ping(f, sub, 1);
	expect_pong(f, sub, 1);
	send_ping(f, active, 0);
	expect_pong(f, active, 0);
	/* After its last reply, an idle client is closed as well. */
	assert_true(tclient_eof_after(f, active, 5.0) >= 0.2);
	assert_int_equal(stats(f).timed_out, 4);
	tclient_free(silent);
	tclient_free(half);
	tclient_free(trickle);
	tclient_free(active);
	tclient_free(sub);
}

static void
test_backpressure(void **state)
{
	struct fixture *f = *state;
	struct tclient *slow = tclient_connect(f);
	struct tclient *other = tclient_connect(f);
	char chunk[64 * 1024];
	size_t chunklen = 0, off = 0;
	unsigned long long sent = 0, queued = 0, stalls = 0, total = 0;
	char *line;

	/* Pipeline pings without reading until the server stops taking them. */
	while (stalls < 2000) {
		ssize_t n;

		if (off == chunklen) {
			chunklen = 0;
			while (chunklen + 64 < sizeof(chunk))
				chunklen += (size_t)snprintf(
				        chunk + chunklen, sizeof(chunk) - chunklen,
				        "{\"command\":\"ping\",\"args\":{\"n\":%llu}}\n", queued++);
			off = 0;
		}
		n = send(slow->fd, chunk + off, chunklen - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			total += (size_t)n;
			stalls = 0;
		} else {
			assert_true(errno == EAGAIN);
			stalls++;
		}
		pump(f);
		/* Without back-pressure the server would take and queue forever. */
		assert_true(total < 64ull * 1024 * 1024);
	}
	/* Every request written completely counts; a partial last one is finished below. */
	assert_int_equal(stats(f).dropped, 0);
	assert_int_equal(stats(f).clients, 2);
	assert_true(stats(f).requests < queued);

	/* The stalled client does not stall the others. */
	send_ping(f, other, 1);
	line = tclient_line_within(f, other, 1000);
	assert_non_null(line);
	free(line);

	/* Finish the partial request, then read everything back in order. */
	for (unsigned long i = 0; i < PUMP_MAX && off < chunklen; i++) {
		ssize_t n = send(slow->fd, chunk + off, chunklen - off, MSG_NOSIGNAL);

		if (n > 0)
			off += (size_t)n;
		tclient_recv(slow);
		pump(f);
	}
	assert_int_equal(off, chunklen);
	for (sent = 0; sent < queued; sent++)
		expect_pong(f, slow, (json_int_t)sent);
	assert_int_equal(stats(f).dropped, 0);
	tclient_free(slow);
	tclient_free(other);
}

/* Events. */

static void
test_events(void **state)
{
	struct fixture *f = *state;
	struct tclient *sub = tclient_connect(f);
	struct tclient *plain = tclient_connect(f);
	json_t *event = json_pack("{s:s, s:b}", "type", "config-reload", "ok", 1);

	/* Nobody listens yet: nothing is sent anywhere. */
	ctl_server_publish(f->server, event);
	tclient_sends(f, sub, "{\"command\":\"events\"}\n");
	expect_line(f, sub, "{\"version\":1,\"ok\":true,\"result\":{\"subscribed\":true}}");
	assert_int_equal(stats(f).subscribers, 1);
	send_ping(f, plain, 1);
	expect_pong(f, plain, 1);

	ctl_server_publish(f->server, event);
	ctl_server_publish(f->server, event);
	expect_line(
	        f, sub,
	        "{\"version\":1,\"ok\":true,\"event\":{\"type\":\"config-reload\",\"ok\":true}}");
	expect_line(
	        f, sub,
	        "{\"version\":1,\"ok\":true,\"event\":{\"type\":\"config-reload\",\"ok\":true}}");
	expect_silence(f, plain);
	/* The caller keeps its reference. */
	assert_int_equal(event->refcount, 1);

	/* A subscriber may still ask things. */
	send_ping(f, sub, 2);
	expect_pong(f, sub, 2);

	tclient_free(sub);
	pump_until_clients(f, 1);
	assert_int_equal(stats(f).subscribers, 0);
	json_decref(event);
	tclient_free(plain);
}

static void
test_unread_events_drop_the_subscriber(void **state)
{
	struct fixture *f = *state;
	struct tclient *deaf = tclient_connect(f);
	struct tclient *reader = tclient_connect(f);
	char *data = malloc(64 * 1024 + 1);
	json_t *event;
	json_t *reply;
	int got = 0;

	memset(data, 'e', 64 * 1024);
	data[64 * 1024] = '\0';
	event = json_pack("{s:s, s:s}", "type", "big", "data", data);
	free(data);
	tclient_sends(f, deaf, "{\"command\":\"events\"}\n");
	tclient_sends(f, reader, "{\"command\":\"events\"}\n");
	json_decref(tclient_reply(f, reader));
	pump_until_clients(f, 2);
	assert_int_equal(stats(f).subscribers, 2);

	for (int i = 0; i < 200; i++) {
		ctl_server_publish(f->server, event);
		/* The reader keeps up. */
		while (got <= i) {
			reply = tclient_reply(f, reader);
			assert_non_null(json_object_get(reply, "event"));
			json_decref(reply);
			got++;
		}
	}
	assert_true(tclient_wait_eof(f, deaf));
	assert_int_equal(stats(f).dropped, 1);
	assert_int_equal(stats(f).subscribers, 1);
	json_decref(event);
	tclient_free(deaf);
	tclient_free(reader);
}

static void
test_overflow_inside_own_request(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_connect(f);
	struct tclient *other = tclient_connect(f);

	/* The client's own request publishes more than its queue holds: it is dropped while
	 * the server is still handling its line, and the requests after it are not run. */
	tclient_sends(f, c,
	              "{\"command\":\"events\"}\n"
	              "{\"command\":\"flood\",\"args\":{\"count\":100,\"kib\":64}}\n"
	              "{\"command\":\"set\"}\n");
	assert_true(tclient_wait_eof(f, c));
	assert_int_equal(stats(f).dropped, 1);
	assert_int_equal(stats(f).subscribers, 0);
	assert_int_equal(f->set_calls, 0);
	send_ping(f, other, 1);
	expect_pong(f, other, 1);
	tclient_free(c);
	tclient_free(other);
}

static void
test_reply_too_large(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_connect(f);
	char *line;

	/* A reply over the events' bound (a peers list of 10,000 sites is about 6 MB) comes
	 * whole... */
	tclient_sends(f, c, "{\"command\":\"big\",\"args\":{\"kib\":6000}}\n");
	line = tclient_line(f, c);
	assert_non_null(line);
	assert_true(strlen(line) > 6000 * 1024);
	assert_non_null(strstr(line, "\"ok\":true"));
	free(line);
	/* ...one over the reply limit is an error, and the client stays. */
	tclient_sends(f, c, "{\"command\":\"big\",\"args\":{\"kib\":66000}}\n");
	expect_error(f, c, "cannot be encoded within the output limit");
	send_ping(f, c, 1);
	expect_pong(f, c, 1);
	assert_int_equal(stats(f).dropped, 0);
	tclient_free(c);
}

/* Permissions. */

static void
test_permission_rule(void **state)
{
	static const gid_t netd = 900, other = 901;
	static const gid_t groups_with[] = {27, 900, 1000};
	static const gid_t groups_without[] = {27, 901, 1000};
	static const struct {
		uid_t uid;
		gid_t gid;
		const gid_t *groups;
		size_t ngroups;
		const gid_t *group;
		bool allowed;
	} cases[] = {
	        {0, 0, NULL, 0, NULL, true},
	        {0, 0, NULL, 0, &netd, true},
	        {0, 5, groups_without, 3, &netd, true},
	        {1000, 1000, NULL, 0, NULL, false},
	        {1000, 900, NULL, 0, NULL, false},
	        {1000, 1000, groups_with, 3, NULL, false},
	        {1000, 900, NULL, 0, &netd, true},
	        {1000, 1000, groups_with, 3, &netd, true},
	        {1000, 1000, groups_without, 3, &netd, false},
	        {1000, 1000, NULL, 0, &netd, false},
	        {1000, 1000, groups_with, 3, &other, false},
	        {65534, 65534, groups_without + 1, 1, &other, true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctl_peer peer = {.pid = 1, .uid = cases[i].uid, .gid = cases[i].gid};

		if (ctl_peer_may_mutate(&peer, cases[i].groups, cases[i].ngroups, cases[i].group) !=
		    cases[i].allowed)
			fail_msg("case %zu: expected %s", i,
			         cases[i].allowed ? "allowed" : "denied");
	}
}

static void
test_mutating_as_root(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_connect(f);

	if (geteuid() != 0) {
		printf("SKIP: mutating as root needs root\n");
		tclient_free(c);
		skip();
	}
	tclient_sends(f, c, "{\"command\":\"set\"}\n");
	expect_line(f, c, "{\"version\":1,\"ok\":true,\"result\":{\"set\":true}}");
	assert_int_equal(f->set_calls, 1);
	tclient_free(c);
}

/* In a child with other credentials: asks command, exits 0 when the reply's "ok" is
 * want_ok (and, for an error, mentions want_error). */
static void
child_ask(const char *path, uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
          const char *command, bool want_ok, const char *want_error)
{
	struct ctlclient *client;
	const char *line;
	size_t len;
	json_t *reply;
	int ok;

	if (setgroups(ngroups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		_exit(10);
	if (ctlclient_connect(path, 5000, &client) < 0)
		_exit(11);
	if (ctlclient_send(client, command, NULL) < 0)
		_exit(12);
	if (ctlclient_read_line(client, 5000, &line, &len) != 1)
		_exit(13);
	reply = json_loadb(line, len, 0, NULL);
	ok = json_is_true(json_object_get(reply, "ok"));
	if (ok != want_ok)
		_exit(14);
	if (!ok && strstr(json_string_value(json_object_get(reply, "error")), want_error) == NULL)
		_exit(15);
	_exit(0);
}

static void
run_child(struct fixture *f, pid_t pid)
{
	int status = -1;
	pid_t r = 0;

	assert_true(pid >= 0);
	for (unsigned long i = 0; i < PUMP_MAX && r == 0; i++) {
		pump(f);
		r = waitpid(pid, &status, WNOHANG);
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("child %d did not finish", (int)pid);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A server that children with other credentials can reach, with gid's group as the control
 * group; skips the test where that cannot be had. */
static void
server_for_other_users(struct fixture *f, gid_t gid)
{
	struct group *grp = getgrgid(gid);
	char group[64];

	if (geteuid() != 0) {
		printf("SKIP: switching to other users needs root\n");
		skip();
	}
	if (grp == NULL) {
		printf("SKIP: no group with gid %u to test membership with\n", (unsigned)gid);
		skip();
	}
	snprintf(group, sizeof(group), "%s", grp->gr_name);
	/* Open directories, a socket anyone may use. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	ctl_server_free(f->server);
	f->server = server_start(f, 0666, group);
	assert_non_null(f->server);
}

static void
test_mutating_by_other_users(void **state)
{
	struct fixture *f = *state;
	const gid_t nogroup = 65534, adm_gid = 4;
	const uid_t nobody = 65534;
	gid_t with[] = {adm_gid};
	struct stat st;

	server_for_other_users(f, adm_gid);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_gid, adm_gid);

	/* Anyone may read... */
	pid_t pid = fork();
	if (pid == 0)
		child_ask(f->path, nobody, nogroup, NULL, 0, "ping", true, NULL);
	run_child(f, pid);
	/* ...but not change things, */
	pid = fork();
	if (pid == 0)
		child_ask(f->path, nobody, nogroup, NULL, 0, "set", false,
		          "permission denied: \"set\" needs root or membership of group");
	run_child(f, pid);
	assert_int_equal(f->set_calls, 0);
	/* unless the group is its primary group, */
	pid = fork();
	if (pid == 0)
		child_ask(f->path, nobody, adm_gid, NULL, 0, "set", true, NULL);
	run_child(f, pid);
	/* or one of its supplementary groups. */
	pid = fork();
	if (pid == 0)
		child_ask(f->path, nobody, nogroup, with, 1, "set", true, NULL);
	run_child(f, pid);
	assert_int_equal(f->set_calls, 2);

	/* Without a configured group, only root may. */
	ctl_server_free(f->server);
	f->server = server_start(f, 0666, NULL);
	assert_non_null(f->server);
	pid = fork();
	if (pid == 0)
		child_ask(f->path, nobody, adm_gid, with, 1, "set", false,
		          "permission denied: \"set\" needs root");
	run_child(f, pid);
	assert_int_equal(f->set_calls, 2);
}

/* In a child as nobody: opens n connections and says so on ready, waits for the word on
 * go, then counts the lines the server sent on them. Exits 0 when as many were refused
 * ("full") and evicted as expected. */
static void
child_hold_slots(const char *path, int n, int ready, int go, int want_full, int want_evicted)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int *fds = calloc((size_t)n, sizeof(int));
	int full = 0, evicted = 0;
	char buf[512], byte = 0;
	ssize_t got;

	if (fds == NULL || setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		_exit(10);
	strcpy(addr.sun_path, path);
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&addr, sizeof(addr)) < 0)
			_exit(11);
	}
	if (write(ready, &byte, 1) != 1 || read(go, &byte, 1) != 1)
		_exit(12);
	for (int i = 0; i < n; i++) {
		got = recv(fds[i], buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		if (strstr(buf, "\"code\":\"full\"") != NULL)
			full++;
		else if (strstr(buf, "\"code\":\"evicted\"") != NULL)
			evicted++;
	}
	if (full != want_full || evicted != want_evicted) {
		fprintf(stderr, "child: %d refused, %d evicted\n", full, evicted);
		_exit(13);
	}
	_exit(0);
}

static void
test_root_served_when_full(void **state)
{
	enum { HOGS = 300, UNPRIVILEGED = CTL_MAX_CLIENTS - CTL_PRIVILEGED_SLOTS };
	struct fixture *f = *state;
	const gid_t adm_gid = 4;
	struct tclient *root[CTL_PRIVILEGED_SLOTS + 1];
	int ready[2], go[2];
	char byte;
	pid_t hogs, pid;

	server_for_other_users(f, adm_gid);

	/* An unprivileged user opens more connections than there are slots, and idles. */
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	hogs = fork();
	assert_true(hogs >= 0);
	if (hogs == 0)
		child_hold_slots(f->path, HOGS, ready[1], go[0], HOGS - UNPRIVILEGED, 1);
	assert_int_equal(read(ready[0], &byte, 1), 1);
	for (unsigned long i = 0; i < PUMP_MAX && stats(f).accepted + stats(f).rejected < HOGS; i++)
		pump(f);
	assert_int_equal(stats(f).accepted + stats(f).rejected, HOGS);

	/* Root is served... */
	root[0] = tclient_connect(f);
	send_ping(f, root[0], 1);
	expect_pong(f, root[0], 1);
	/* ...and so is a member of the control group, who may change things. */
	pid = fork();
	if (pid == 0)
		child_ask(f->path, 65534, adm_gid, NULL, 0, "set", true, NULL);
	run_child(f, pid);
	assert_int_equal(f->set_calls, 1);
	pump_until_clients(f, UNPRIVILEGED + 1);
	assert_int_equal(stats(f).rejected, HOGS - UNPRIVILEGED);

	/* With every slot taken, root takes the place of the longest-idle unprivileged client. */
	for (int i = 1; i < CTL_PRIVILEGED_SLOTS; i++)
		root[i] = tclient_connect(f);
	pump_until_clients(f, CTL_MAX_CLIENTS);
	root[CTL_PRIVILEGED_SLOTS] = tclient_connect(f);
	send_ping(f, root[CTL_PRIVILEGED_SLOTS], 2);
	expect_pong(f, root[CTL_PRIVILEGED_SLOTS], 2);
	assert_int_equal(stats(f).evicted, 1);
	assert_int_equal(stats(f).clients, CTL_MAX_CLIENTS);

	/* The unprivileged client was told why it was refused or closed. */
	assert_int_equal(write(go[1], "g", 1), 1);
	run_child(f, hogs);
	for (int i = 0; i <= CTL_PRIVILEGED_SLOTS; i++)
		tclient_free(root[i]);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* Log lines. */

static void
test_log_limit(void **state)
{
	struct log_limit limit = LOG_LIMIT_INIT("test: storm", LOG_LEVEL_WARNING, 3, 0.2);
	struct timespec pause = {.tv_nsec = 250 * 1000 * 1000};
	struct capture cap;
	int allowed = 0;
	size_t lines;
	char *text;

	(void)state;
	capture_start(&cap);
	for (int i = 0; i < 100; i++)
		if (log_limit_allow(&limit)) {
			allowed++;
			log_warnx("storm %d", i);
		}
	nanosleep(&pause, NULL);
	/* The next interval: the count of what was left out comes first. */
	assert_true(log_limit_allow(&limit));
	text = capture_end(&cap, &lines);
	assert_int_equal(allowed, 3);
	assert_int_equal(lines, 4);
	assert_non_null(strstr(text, "storm 2\n"));
	assert_non_null(strstr(text, "test: storm: 97 more not logged (at most 3 per 0.2 s)"));
	free(text);
}

/* A burst that ends: its count is logged once its interval is over, with no occurrence
 * after it, and once only; the next occurrence is logged as the first of a quiet period. */
static void
test_log_limit_flush(void **state)
{
	struct log_limit limit = LOG_LIMIT_INIT("test: burst", LOG_LEVEL_WARNING, 2, 0.2);
	struct timespec pause = {.tv_nsec = 250 * 1000 * 1000};
	struct capture cap;
	size_t lines;
	char *text;

	(void)state;
	capture_start(&cap);
	for (int i = 0; i < 10; i++)
		if (log_limit_allow(&limit))
			log_warnx("burst %d", i);
	/* Within the interval the count waits. */
	log_limit_flush(&limit, false);
	text = capture_end(&cap, &lines);
	assert_int_equal(lines, 2);
	assert_null(strstr(text, "more not logged"));
	free(text);

	capture_start(&cap);
	nanosleep(&pause, NULL);
	log_limit_flush(&limit, false);
	log_limit_flush(&limit, false);
	text = capture_end(&cap, &lines);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(text, "test: burst: 8 more not logged (at most 2 per 0.2 s)"));
	free(text);

	capture_start(&cap);
	assert_true(log_limit_allow(&limit));
	log_warnx("after");
	text = capture_end(&cap, &lines);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(text, "after"));
	free(text);

	/* As the process ends: the count at once, within the interval. */
	assert_true(log_limit_allow(&limit));
	assert_false(log_limit_allow(&limit));
	capture_start(&cap);
	log_limit_flush(&limit, true);
	text = capture_end(&cap, &lines);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(text, "test: burst: 1 more not logged"));
	free(text);
}

/* Whatever clients do, again and again, the log gets a few lines per minute about it. */
static void
test_log_bounded_under_storm(void **state)
{
	enum { REQUESTS = 2000, OVERSIZE = 50, EXTRA = 100 };
	struct fixture *f = *state;
	struct tclient *c, *many[CTL_MAX_CLIENTS + EXTRA];
	static const char set[] = "{\"command\":\"set\"}\n";
	char *reqs = malloc(REQUESTS * (sizeof(set) - 1));
	char *junk = malloc(CTL_MAX_REQUEST);
	struct capture cap;
	size_t lines;
	char *text;

	assert_non_null(reqs);
	assert_non_null(junk);
	for (int i = 0; i < REQUESTS; i++)
		memcpy(reqs + (size_t)i * (sizeof(set) - 1), set, sizeof(set) - 1);
	memset(junk, 'x', CTL_MAX_REQUEST);
	server_restart_timeouts(f, 0.2, 5.0);
	log_set_level(LOG_LEVEL_INFO);
	capture_start(&cap);

	/* Mutating requests: each is logged when run (root), or when refused (anyone else). */
	c = tclient_connect(f);
	tclient_send(f, c, reqs, REQUESTS * (sizeof(set) - 1));
	for (int i = 0; i < REQUESTS; i++)
		json_decref(tclient_reply(f, c));
	tclient_free(c);
	/* Oversize requests: each client is dropped. */
	for (int i = 0; i < OVERSIZE; i++) {
		c = tclient_connect(f);
		tclient_send(f, c, junk, CTL_MAX_REQUEST);
		assert_true(tclient_wait_eof(f, c));
		tclient_free(c);
	}
	/* Connections beyond the limit are refused, and the others time out. */
	for (int i = 0; i < CTL_MAX_CLIENTS + EXTRA; i++)
		many[i] = tclient_connect(f);
	pump_for(f, 1.0);
	/* Assertions wait until the log is back on stderr, where they report. */
	for (unsigned long i = 0; i < PUMP_MAX && stats(f).clients > 0; i++)
		pump(f);

	text = capture_end(&cap, &lines);
	log_set_level(LOG_LEVEL_WARNING);
	/* Five lines per kind (mutating, dropped, refused, timed out). */
	if (lines > 20)
		fail_msg("%zu log lines for %d requests, %d drops and %llu refusals:\n%.2000s",
		         lines, REQUESTS, OVERSIZE, stats(f).rejected, text);
	free(text);
	assert_int_equal(stats(f).clients, 0);
	assert_int_equal(stats(f).requests, REQUESTS + OVERSIZE);
	assert_int_equal(stats(f).dropped, OVERSIZE);
	assert_true(stats(f).rejected >= EXTRA);
	assert_true(stats(f).timed_out >= CTL_MAX_CLIENTS - CTL_PRIVILEGED_SLOTS);
	for (int i = 0; i < CTL_MAX_CLIENTS + EXTRA; i++)
		tclient_free(many[i]);
	free(reqs);
	free(junk);
}

/* The socket file. */

static void
test_socket_file(void **state)
{
	struct fixture *f = *state;
	char run[160];
	struct stat st;

	snprintf(run, sizeof(run), "%s/run", f->dir);
	assert_int_equal(stat(run, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);

	ctl_server_free(f->server);
	assert_int_equal(stat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);

	f->server = server_start(f, 0600, NULL);
	assert_non_null(f->server);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void
test_socket_in_use(void **state)
{
	struct fixture *f = *state;
	struct ctl_server *second;
	struct tclient *c;
	struct stat st;

	/* A second server on a live socket refuses, and leaves the first one alone. */
	second = server_start(f, 0660, NULL);
	assert_null(second);
	assert_int_equal(errno, EADDRINUSE);
	assert_int_equal(stat(f->path, &st), 0);
	c = tclient_connect(f);
	send_ping(f, c, 1);
	expect_pong(f, c, 1);
	tclient_free(c);
}

static void
test_stale_socket_replaced(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct tclient *c;
	int fd;

	/* What a netd killed with SIGKILL leaves: a socket file nobody listens on. */
	ctl_server_free(f->server);
	f->server = NULL;
	strcpy(addr.sun_path, f->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);

	f->server = server_start(f, 0660, NULL);
	assert_non_null(f->server);
	c = tclient_connect(f);
	send_ping(f, c, 1);
	expect_pong(f, c, 1);
	tclient_free(c);
}

static void
test_bad_socket_configs(void **state)
{
	struct fixture *f = *state;
	char longpath[200];
	struct ctl_config config = {.path = longpath, .mode = 0660};
	FILE *file;

	ctl_server_free(f->server);
	f->server = NULL;

	/* Not a socket: never removed. */
	file = fopen(f->path, "w");
	assert_non_null(file);
	fclose(file);
	assert_null(server_start(f, 0660, NULL));
	assert_int_equal(access(f->path, F_OK), 0);
	unlink(f->path);

	assert_null(server_start(f, 0660, "no-such-group-for-netd"));
	assert_int_equal(access(f->path, F_OK), -1);

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_null(ctl_server_new(f->loop, &config, test_commands, f));
	assert_int_equal(errno, ENAMETOOLONG);
}

/* Request parser, without a socket. */

static void
test_request_parse(void **state)
{
	struct ctl_request req;
	char err[128];
	const char *line = "{\"command\":\"peers\",\"args\":{\"name\":\"beta\"},\"extra\":1}";

	(void)state;
	assert_int_equal(ctl_request_parse(line, strlen(line), &req, err, sizeof(err)), 0);
	assert_string_equal(req.command, "peers");
	assert_string_equal(json_string_value(json_object_get(req.args, "name")), "beta");
	ctl_request_clear(&req);
	assert_null(req.command);

	line = "{\"command\":\"status\"}";
	assert_int_equal(ctl_request_parse(line, strlen(line), &req, err, sizeof(err)), 0);
	assert_true(json_is_object(req.args));
	assert_int_equal(json_object_size(req.args), 0);
	ctl_request_clear(&req);

	/* The length bounds the parse: what follows is not read. */
	line = "{\"command\":\"status\"}GARBAGE";
	assert_int_equal(ctl_request_parse(line, 20, &req, err, sizeof(err)), 0);
	ctl_request_clear(&req);
	assert_int_equal(ctl_request_parse(line, 19, &req, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid JSON"));
	assert_int_equal(ctl_request_parse("", 0, &req, err, sizeof(err)), -1);
}

/* The client library. */

static void
test_client_library(void **state)
{
	struct fixture *f = *state;
	struct ctlclient *client;
	char longpath[200];
	pid_t pid;

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(ctlclient_connect(longpath, 1000, &client), -ENAMETOOLONG);
	assert_int_equal(ctlclient_connect("/nonexistent/netd.sock", 1000, &client), -ENOENT);

	pid = fork();
	if (pid == 0) {
		json_t *args = json_pack("{s:i}", "n", 42);
		const char *line;
		size_t len;
		int rc;

		if (ctlclient_connect(f->path, 5000, &client) < 0 ||
		    ctlclient_send(client, "ping", args) < 0 ||
		    ctlclient_send(client, "events", NULL) < 0)
			_exit(10);
		rc = ctlclient_read_line(client, 5000, &line, &len);
		if (rc != 1 || strcmp(line, "{\"version\":1,\"ok\":true,\"result\":{\"pong\":"
		                            "true,\"n\":42}}") != 0)
			_exit(11);
		rc = ctlclient_read_line(client, 5000, &line, &len);
		if (rc != 1 || strstr(line, "subscribed") == NULL)
			_exit(12);
		/* No event comes: the wait is bounded. */
		if (ctlclient_read_line(client, 200, &line, &len) != -ETIMEDOUT)
			_exit(13);
		ctlclient_free(client);
		json_decref(args);
		_exit(0);
	}
	run_child(f, pid);
}

/* A peer that misbehaves, played by a child on a socket of its own. */
static void
child_bad_peer(int listen_fd, const char *data, size_t len)
{
	int fd = accept(listen_fd, NULL, NULL);
	size_t off = 0;
	ssize_t n;

	while (fd >= 0 && off < len) {
		n = send(fd, data + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	_exit(0);
}

static int
client_against(struct fixture *f, const char *data, size_t len)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char path[160];
	struct ctlclient *client;
	const char *line;
	size_t linelen;
	int fd, rc, status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/bad.sock", f->dir);
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_bad_peer(fd, data, len);
	assert_int_equal(ctlclient_connect(path, 5000, &client), 0);
	do
		rc = ctlclient_read_line(client, 5000, &line, &linelen);
	while (rc == 1);
	ctlclient_free(client);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fd);
	unlink(path);
	return rc;
}

static void
test_client_library_bounds(void **state)
{
	struct fixture *f = *state;
	size_t len = CTL_MAX_REPLY + 4096;
	char *junk = malloc(len);

	assert_non_null(junk);
	memset(junk, 'j', len);
	assert_int_equal(client_against(f, junk, len), -EMSGSIZE);
	free(junk);
	assert_int_equal(client_against(f, "{\"version\":1}\n{\"vers", 20), -EPROTO);
	assert_int_equal(client_against(f, "{\"version\":1}\n", 14), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_documented_limits),
	        cmocka_unit_test(test_request_parse),
	        cmocka_unit_test(test_permission_rule),
	        cmocka_unit_test_setup_teardown(test_reply_envelope, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_split_and_pipelined, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_last_request_without_newline, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_request_size_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_concurrent_clients, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_non_reader_dropped_after_stall, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_pipelining_reader_gets_every_reply, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_idle_clients_time_out, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unread_events_drop_the_subscriber, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_overflow_inside_own_request, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reply_too_large, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_mutating_as_root, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_mutating_by_other_users, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_root_served_when_full, setup, teardown),
	        cmocka_unit_test(test_log_limit),
	        cmocka_unit_test(test_log_limit_flush),
	        cmocka_unit_test_setup_teardown(test_log_bounded_under_storm, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_socket_in_use, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_socket_configs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_client_library, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_client_library_bounds, setup, teardown),
	};

	log_init("test_ctl", LOG_LEVEL_WARNING, true, false);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
