/* libFuzzer harness: what a local user may write to the status socket, as one connection's
 * whole stream then its end, through the server's reading, line splitting and request
 * parsing. Every line that is not empty (a '\r' before its newline aside, the last one
 * without its newline) gets exactly one reply, a JSON object of this protocol version, and
 * the connection is closed once they are all sent. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "netd/ctl.h"
#include "netd/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/netd-fuzz-ctl.XXXXXX";
static char path[sizeof(dir) + 8];
static struct ev_loop *loop;
static struct ctl_server *server;
static char *replies;
static size_t replies_cap;

static json_t *
cmd_echo(void *ctx, const struct ctl_request *req, char **err)
{
	(void)ctx;
	(void)err;
	return json_incref(req->args);
}

static const struct ctl_command commands[] = {{"echo", false, cmd_echo}, {NULL, false, NULL}};

static void
cleanup(void)
{
	ctl_server_free(server);
	ev_loop_destroy(loop);
	rmdir(dir);
	free(replies);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ctl_config config = {.path = path, .mode = 0600};

	(void)argc;
	(void)argv;
	log_init("fuzz_ctl_stream", LOG_LEVEL_ERROR, true, false);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/ctl", dir);
	loop = ev_loop_new(EVFLAG_AUTO);
	if (loop == NULL || (server = ctl_server_new(loop, &config, commands, NULL)) == NULL)
		abort();
	atexit(cleanup);
	return 0;
}

/* Lines the server answers: not empty once a '\r' before the newline is dropped. */
static size_t
count_requests(const uint8_t *data, size_t size)
{
	size_t n = 0, start = 0;

	while (start < size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl != NULL ? (size_t)(nl - data) : size, len = end - start;

		if (len > 0 && data[end - 1] == '\r')
			len--;
		n += len > 0;
		start = end + 1;
	}
	return n;
}

static int
connect_client(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(addr.sun_path, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		abort();
	return fd;
}

/* Everything the server sends until it closes, the loop turning whenever there is nothing
 * to read yet. A server that neither answers nor closes hangs here: libFuzzer's -timeout
 * reports it. */
static size_t
read_replies(int fd)
{
	size_t len = 0;

	for (;;) {
		ssize_t n;

		if (len == replies_cap) {
			replies_cap = replies_cap ? 2 * replies_cap : 65536;
			replies = realloc(replies, replies_cap);
			if (replies == NULL)
				abort();
		}
		n = recv(fd, replies + len, replies_cap - len, MSG_DONTWAIT);
		if (n == 0)
			return len;
		if (n > 0)
			len += (size_t)n;
		else if (errno == EAGAIN)
			ev_run(loop, EVRUN_ONCE);
		else
			abort();
	}
}

static void
check_reply(const char *line, size_t len)
{
	json_t *reply = json_loadb(line, len, 0, NULL);

	if (!json_is_object(reply) || !json_is_boolean(json_object_get(reply, "ok")) ||
	    json_integer_value(json_object_get(reply, "version")) != CTL_PROTOCOL_VERSION)
		abort();
	json_decref(reply);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_stats before, after;
	size_t len, off = 0, n = 0;
	int fd;

	/* Below the longest line and a Unix socket's send buffer: written whole before the
	 * server reads, and never a line the server drops for its length. */
	if (size >= CTL_MAX_REQUEST)
		return 0;
	ctl_server_stats(server, &before);
	fd = connect_client();
	if (size > 0 && send(fd, data, size, MSG_NOSIGNAL) != (ssize_t)size)
		abort();
	shutdown(fd, SHUT_WR);
	len = read_replies(fd);
	close(fd);
	while (off < len) {
		const char *nl = memchr(replies + off, '\n', len - off);

		if (nl == NULL)
			abort(); /* every reply is a whole line */
		check_reply(replies + off, (size_t)(nl - replies - off));
		off = (size_t)(nl - replies) + 1;
		n++;
	}
	ev_run(loop, EVRUN_NOWAIT);
	ctl_server_stats(server, &after);
	if (n != count_requests(data, size) || after.requests - before.requests != n ||
	    after.clients != 0)
		abort();
	return 0;
}
