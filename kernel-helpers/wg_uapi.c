/* Userspace WireGuard over its UAPI socket (WG_USERSPACE_SOCKET_DIR/NAME.sock): one request
 * and its reply per connection, every exchange bounded in time and in size.
 *
 * The exchanges run, and their replies are parsed, on a worker thread; a caller waits for
 * one at most wg_wait_ms() and otherwise gets -ETIMEDOUT while the exchange goes on in the
 * background. netd calls in from its event loop, where a stopped process must cost
 * milliseconds, not the seconds that get its site suspected -- and where even a healthy
 * wireguard-go is too slow to wait for: it writes nothing of a get until the whole reply is
 * built (12-17 ms for 1,000 peers) and answers a set only once it is applied (250 ms for
 * 1,000 new peers). A get that succeeds in the background is handed to the next get of the
 * device (if recent); a set that does has changed the device, which the next read shows.
 * One exchange per device at a time: while one is unanswered, another call waits for it
 * within the same bound, so a stopped process never collects a queue. The worker itself
 * gives up on a process after WG_UAPI_IDLE_MS without a byte moving. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <sodium.h>

#include "kernel-helpers/wg_internal.h"

int
wg_uapi_socket_path(const char *name, char *path, size_t pathlen)
{
	int n = snprintf(path, pathlen, "%s/%s.sock", WG_USERSPACE_SOCKET_DIR, name);

	if (n < 0 || (size_t)n >= pathlen)
		return -ENAMETOOLONG;
	return 0;
}

static int64_t
now_ms(void)
{
	return wg_monotonic_ms();
}

static int
uapi_connect(const char *name, int *out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = -1, ret;

	ret = wg_uapi_socket_path(name, sun.sun_path, sizeof(sun.sun_path));
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A unix connect completes at once or fails with EAGAIN when the backlog is full
	 * (the process does not accept): that is a stall, not something to wait for. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

/* The worker's buffer for replies: fixed, as the reader takes each line as it comes, so a
 * get of thousands of peers costs no mapping, copy or page faults of its size on every
 * read. A get's reply holds the private key: the buffer is kept out of swap and core dumps
 * and wiped after each exchange. */
#define REPLY_BUF (64 * 1024)
static char *reply_buf;

/* Write the request while reading the reply, so that an early error reply (the process
 * stops reading at the first bad line) is not missed; stop at the reply's empty line. A
 * transport failure is returned alone; one of the reply also says what in kh_last_error. */
static int
exchange(int fd, const char *req, size_t reqlen, struct wg_uapi_reader *rd)
{
	int64_t start = now_ms(), idle = WG_UAPI_IDLE_MS, idle_deadline = start + idle;
	size_t sent = 0, have = 0, used;
	bool can_send = true;
	int ret = 0;

	if (!reply_buf && !(reply_buf = sodium_malloc(REPLY_BUF)))
		return -ENOMEM;
	while (!rd->ended) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t now = now_ms(), left = idle_deadline - now;
		ssize_t n;

		if (start + WG_UAPI_TOTAL_MS - now < left)
			left = start + WG_UAPI_TOTAL_MS - now;

		if (can_send && sent < reqlen)
			pfd.events |= POLLOUT;
		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		n = poll(&pfd, 1, (int)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (n == 0)
			continue;
		if (pfd.revents & POLLOUT) {
			n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				sent += (size_t)n;
				idle_deadline = now_ms() + idle;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR)
				can_send = false; /* the reply may still be there to read */
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, reply_buf + have, REPLY_BUF - have, MSG_DONTWAIT);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				ret = -errno;
				break;
			}
			if (n == 0) {
				ret = -ECONNRESET;
				break;
			}
			have += (size_t)n;
			/* The buffer is far longer than a line: a full one always takes some. */
			ret = wg_uapi_reader_feed(rd, reply_buf, have, false, &used);
			if (ret < 0)
				break;
			memmove(reply_buf, reply_buf + used, have - used);
			have -= used;
			idle_deadline = now_ms() + idle;
		}
	}
	sodium_memzero(reply_buf, REPLY_BUF);
	return ret;
}

/* --- the worker --- */

static const char get_request[] = "get=1\n\n";

/* How long a get finished in the background stays the answer to the next get. */
#define RESULT_TTL_MS 5000

struct job {
	struct job *next;
	char name[IFNAMSIZ];
	bool get;
	char *req; /* a set's text, the job's (sodium_free); NULL for a get */
	size_t reqlen;
	bool started, done;
	bool abandoned; /* its caller got -ETIMEDOUT: its end is signalled */
	int waiters;    /* calls waiting for its end, which hold on to it */
	int64_t done_at;
	bool connected; /* for the error text */
	int ret;
	struct wg_device *dev; /* a get's answer */
	char error[256];       /* the parser's words when it refused the reply */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queued, finished; /* CLOCK_MONOTONIC, set up with the worker */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int worker_err;
static pthread_t worker_thread;
static bool worker_running, stopping;
static struct job *jobs; /* at most one per device */

static void
job_free(struct job *j)
{
	sodium_free(j->req);
	wg_free_device(j->dev);
	free(j);
}

static void
job_unlink(struct job *j)
{
	for (struct job **p = &jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			return;
		}
}

static struct job *
job_of(const char *name)
{
	for (struct job *j = jobs; j; j = j->next)
		if (!strcmp(j->name, name))
			return j;
	return NULL;
}

/* wg_read_room of the last get. The worker's. */
static size_t get_peers_hint;

/* The exchange, and the reply parsed here too as it arrives: thousands of peers are
 * milliseconds of work the caller's loop is spared. */
static void
run(struct job *j)
{
	struct wg_uapi_reader rd;
	int fd = -1;

	j->ret = uapi_connect(j->name, &fd);
	if (j->ret < 0)
		return;
	j->connected = true;
	j->ret = wg_uapi_reader_start(&rd, j->name, j->get, get_peers_hint);
	if (j->ret < 0) {
		close(fd);
		return;
	}
	kh_clear_error();
	j->ret = j->get ? exchange(fd, get_request, sizeof(get_request) - 1, &rd)
	                : exchange(fd, j->req, j->reqlen, &rd);
	close(fd);
	if (j->ret < 0)
		wg_uapi_reader_drop(&rd);
	else
		j->ret = wg_uapi_reader_finish(&rd, &j->dev);
	if (j->ret == 0 && j->get)
		get_peers_hint = wg_read_room(j->dev->npeers);
	/* The reply's own errors say what they are; the transport's are worded by request. */
	if (j->ret < 0)
		snprintf(j->error, sizeof(j->error), "%s", kh_last_error());
}

static void *
worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct job *j = jobs;

		while (j && j->started)
			j = j->next;
		if (!j && stopping)
			break;
		if (!j) {
			pthread_cond_wait(&queued, &lock);
			continue;
		}
		j->started = true;
		pthread_mutex_unlock(&lock);
		run(j);
		pthread_mutex_lock(&lock);
		j->done = true;
		j->done_at = now_ms();
		if (j->abandoned)
			wg_background_done();
		/* Its key has no business staying around. The job itself is the callers' to
		 * free, the next request for the device: one may be waiting on it now. */
		sodium_free(j->req);
		j->req = NULL;
		pthread_cond_broadcast(&finished);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void
start_worker(void)
{
	wg_cond_init(&queued);
	wg_cond_init(&finished);
	worker_err = wg_thread_start(worker, NULL, &worker_thread);
	worker_running = !worker_err;
}

void
wg_shutdown(void)
{
	struct timespec deadline;

	pthread_mutex_lock(&lock);
	if (!worker_running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	stopping = true;
	pthread_cond_signal(&queued);
	pthread_mutex_unlock(&lock);
	/* An exchange under way may go on for a long time against a stalled process: the exit
	 * does not wait it out, and the process's end takes the thread with it. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	if (pthread_timedjoin_np(worker_thread, NULL, &deadline) != 0)
		return;
	worker_running = false;
	sodium_free(reply_buf);
	reply_buf = NULL;
	while (jobs) {
		struct job *j = jobs;

		jobs = j->next;
		job_free(j);
	}
}

/* Takes a finished job's result and frees it; the error text, if any, goes to error. */
static int
collect(struct job *j, struct wg_device **dev, bool *connected, char *error, size_t len)
{
	int ret = j->ret;

	*connected = j->connected;
	snprintf(error, len, "%s", j->error);
	if (ret == 0 && j->get) {
		*dev = j->dev;
		(*dev)->read_at_ms = j->done_at;
		j->dev = NULL;
	}
	job_unlink(j);
	job_free(j);
	return ret;
}

/* Waits, bounded, for the job's end, lock held; whether it came. The job stays meanwhile:
 * wg_uapi_get_finished leaves a job with waiters alone. */
static bool
await_job(struct job *j)
{
	bool ended;

	j->waiters++;
	ended = wg_cond_await(&finished, &lock, &j->done);
	j->waiters--;
	return ended;
}

/* One request and its parsed reply, through the worker: a get (req NULL; *dev on success)
 * or a set whose text req the call takes over. Errors are described with the device's
 * name. */
static int
request(const char *name, char *req, size_t reqlen, struct wg_device **dev)
{
	char error[sizeof(((struct job *)0)->error)] = "";
	bool connected = false;
	struct job *j;
	int ret;

	pthread_once(&once, start_worker);
	if (worker_err) {
		sodium_free(req);
		return kh_fail(-worker_err, "%s: cannot start the UAPI worker thread: %s", name,
		               strerror(worker_err));
	}
	pthread_mutex_lock(&lock);
	j = job_of(name);
	if (j && !j->done && !await_job(j)) {
		pthread_mutex_unlock(&lock);
		sodium_free(req);
		return kh_fail(-ETIMEDOUT,
		               "%s: userspace implementation stalled (an earlier request is still "
		               "unanswered after %d ms more)",
		               name, wg_wait_ms());
	}
	if (j && !req && j->get && j->ret == 0 && now_ms() - j->done_at <= RESULT_TTL_MS) {
		ret = collect(j, dev, &connected, error, sizeof(error));
		goto out;
	}
	if (j) {
		job_unlink(j);
		job_free(j);
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		pthread_mutex_unlock(&lock);
		sodium_free(req);
		return kh_fail(-ENOMEM, "%s: out of memory", name);
	}
	snprintf(j->name, sizeof(j->name), "%s", name);
	j->get = !req;
	j->req = req;
	j->reqlen = reqlen;
	j->next = jobs;
	jobs = j;
	pthread_cond_signal(&queued);
	if (!await_job(j)) {
		j->abandoned = true;
		pthread_mutex_unlock(&lock);
		return kh_fail(-ETIMEDOUT,
		               "%s: userspace implementation stalled (no answer within %d ms; the "
		               "request goes on in the background)",
		               name, wg_wait_ms());
	}
	ret = collect(j, dev, &connected, error, sizeof(error));
out:
	pthread_mutex_unlock(&lock);
	if (error[0])
		kh_fail(ret, "%s", error);
	else if (ret == -ETIMEDOUT && !connected)
		kh_fail(ret,
		        "%s: userspace implementation stalled (it accepts no connection on "
		        "%s/%s.sock)",
		        name, WG_USERSPACE_SOCKET_DIR, name);
	else if (ret < 0 && !connected)
		kh_fail(ret, "%s: cannot connect to %s/%s.sock: %s", name, WG_USERSPACE_SOCKET_DIR,
		        name, strerror(-ret));
	else if (ret == -ETIMEDOUT)
		kh_fail(ret,
		        "%s: userspace implementation stalled (nothing for %d ms, or no "
		        "answer within %d ms)",
		        name, WG_UAPI_IDLE_MS, WG_UAPI_TOTAL_MS);
	else if (ret == -ECONNRESET)
		kh_fail(ret, "%s: userspace implementation closed the connection mid-reply", name);
	else if (ret < 0)
		kh_fail(ret, "%s: userspace socket: %s", name, strerror(-ret));
	return ret;
}

bool
wg_uapi_answers(const char *name)
{
	struct wg_device *dev;

	if (sodium_init() < 0 || request(name, NULL, 0, &dev) < 0)
		return false;
	wg_free_device(dev);
	return true;
}

int
wg_uapi_get_device(const char *name, struct wg_device **dev)
{
	if (sodium_init() < 0)
		return kh_fail(-ENOMEM, "%s: libsodium cannot start", name);
	return request(name, NULL, 0, dev);
}

int
wg_uapi_get_finished(const char *name, struct wg_device **dev)
{
	char error[sizeof(((struct job *)0)->error)];
	bool connected;
	struct job *j;
	int ret = -EAGAIN;

	pthread_mutex_lock(&lock);
	j = job_of(name);
	/* Only an answer nobody waits for: a call waiting takes it itself. */
	if (j && j->done && !j->waiters && j->get && j->ret == 0 &&
	    now_ms() - j->done_at <= RESULT_TTL_MS)
		ret = collect(j, dev, &connected, error, sizeof(error));
	pthread_mutex_unlock(&lock);
	return ret;
}

int
wg_uapi_set_device(const struct wg_device *dev)
{
	char *text;
	size_t len;
	int ret;

	ret = wg_uapi_build_set(dev, &text, &len);
	if (ret < 0)
		return ret;
	return request(dev->name, text, len, NULL);
}
