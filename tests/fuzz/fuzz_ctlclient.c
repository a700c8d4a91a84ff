/* libFuzzer harness: what netdctl reads from the status socket, cut into lines by the client
 * (ctlclient_read_line) as a daemon could send it, then closed. The lines handed out, each
 * with its newline, are exactly the stream; a stream ending inside a line says so. What a
 * line then says is fuzz_ctlfmt's. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "netd/ctlclient.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Below a Unix stream socket's send buffer: the whole stream is written before it is read. */
#define STREAM_MAX (64 * 1024)

static char dir[] = "/tmp/netd-fuzz-ctlclient.XXXXXX";
static char path[sizeof(dir) + 8];
static int listener = -1;

static void
cleanup(void)
{
	close(listener);
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/ctl", dir);
	strcpy(addr.sun_path, path);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(listener, 1) < 0)
		abort();
	atexit(cleanup);
	return 0;
}

static void
send_all(int fd, const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctlclient *client;
	const char *line;
	size_t len, off = 0;
	int fd, rc;

	if (size > STREAM_MAX)
		return 0;
	if (ctlclient_connect(path, 1000, &client) != 0 ||
	    (fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) < 0)
		abort();
	send_all(fd, data, size);
	close(fd);
	while ((rc = ctlclient_read_line(client, 1000, &line, &len)) == 1) {
		if (len >= size - off || memcmp(line, data + off, len) != 0 || line[len] != '\0' ||
		    data[off + len] != '\n' || memchr(line, '\n', len) != NULL)
			abort();
		off += len + 1;
	}
	/* Only what follows the last newline is left: nothing, or a line cut short. */
	if (memchr(data + off, '\n', size - off) != NULL || rc != (off == size ? 0 : -EPROTO))
		abort();
	ctlclient_free(client);
	return 0;
}
