/* Userspace WireGuard processes: start one (wireguard-go by default) so that it outlives us,
 * or adopt the one already serving the interface; delete one through its tun link.
 *
 * Waiting for a started process to answer (tens of milliseconds, seconds when it is slow)
 * happens on a thread of its own; the caller waits at most wg_wait_ms() for it, and a start
 * not done by then is -EINPROGRESS: netd's event loop goes on, and the interface's calls
 * say -EINPROGRESS too until the start is over. The next start of the name takes its
 * outcome: a failure is reported there, a success is adopted. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kernel-helpers/wg_internal.h"

#define START_TIMEOUT_MS 10000
#define DEL_TIMEOUT_MS   5000
#define POLL_MS          20
#define OUTPUT_MAX       4096 /* what is kept of the starter's own messages */

/* Set by us in the process started would change how it runs: the first two make it stay in
 * the foreground as our child, the fd ones point it at descriptors it does not have, and a
 * log level would give the long-lived process our stdout. */
static const char *const dropped_env[] = {
        "WG_PROCESS_FOREGROUND=", "WG_TUN_FD=", "WG_UAPI_FD=", "WG_TUN_NAME_FILE=", "LOG_LEVEL=",
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char **
filtered_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool drop = false;

		for (size_t j = 0; j < sizeof(dropped_env) / sizeof(dropped_env[0]); j++)
			if (!strncmp(environ[i], dropped_env[j], strlen(dropped_env[j])))
				drop = true;
		if (!drop)
			env[k++] = environ[i];
	}
	return env;
}

/* execve needs a path; resolving it before fork keeps the child to async-signal-safe calls. */
static char *
resolve_command(const char *command)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (strchr(command, '/'))
		return access(command, X_OK) == 0 ? strdup(command) : NULL;
	copy = strdup(path && *path ? path
	                            : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
	                              "/sbin:/bin");
	if (!copy)
		return NULL;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *candidate;

		if (asprintf(&candidate, "%s/%s", *dir ? dir : ".", command) < 0)
			break;
		if (access(candidate, X_OK) == 0)
			found = candidate;
		else
			free(candidate);
	}
	free(copy);
	return found;
}

/* The child: a session of its own, no terminal, nothing of ours but its output pipe. */
static void __attribute__((noreturn))
exec_child(const char *path, const char *name, char **env, int devnull, int out)
{
	char *argv[] = {(char *)path, (char *)name, NULL};
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0)
		_exit(126);
	close_range(3, ~0u, 0);
	if (chdir("/") < 0)
		_exit(126);
	execve(path, argv, env);
	_exit(127);
}

/* Keep the newest of what the starter printed (errors come last), to explain a failure in
 * its own words. */
static void
drain(int fd, char *out, size_t *len)
{
	char chunk[512];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		size_t take = (size_t)n, room = OUTPUT_MAX - 1;

		if (*len + take > room) {
			size_t drop =
			        *len + take - room; /* <= *len: a chunk is smaller than room */

			memmove(out, out + drop, *len - drop);
			*len -= drop;
		}
		memcpy(out + *len, chunk, take);
		*len += take;
		out[*len] = '\0';
	}
}

/* The last non-empty line of the starter's output, for the error message. */
static const char *
last_line(char *out, size_t len)
{
	char *end = out + len, *start;

	while (end > out && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	*end = '\0';
	start = end;
	while (start > out && start[-1] != '\n')
		start--;
	return start;
}

static int
wait_started(const char *name, const char *command, pid_t pid, int outfd)
{
	int64_t deadline = now_ms() + START_TIMEOUT_MS;
	char output[OUTPUT_MAX] = "";
	size_t outlen = 0;
	bool reaped = false, answered = false;
	int status, ret;

	/* The starter (wireguard-go without -f) forks the long-lived process and exits; a
	 * non-zero status means it could not set the interface up. */
	for (;;) {
		drain(outfd, output, &outlen);
		if (!reaped) {
			pid_t r = waitpid(pid, &status, WNOHANG);

			if (r == pid) {
				reaped = true;
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
					const char *said;

					drain(outfd, output, &outlen);
					said = last_line(output, outlen);
					return kh_fail(-EIO, "%s: %s %s: %s %d%s%s", name, command,
					               name,
					               WIFEXITED(status) ? "exited with status"
					                                 : "killed by signal",
					               WIFEXITED(status) ? WEXITSTATUS(status)
					                                 : WTERMSIG(status),
					               *said ? ": " : "", said);
				}
			} else if (r < 0) {
				/* Reaped by someone else's SIGCHLD handler: only the socket
				 * can tell now. */
				reaped = true;
			}
		}
		if (!answered)
			answered = wg_uapi_answers(name);
		if (answered && reaped)
			return 0;
		if (now_ms() >= deadline)
			break;
		sleep_ms(POLL_MS);
	}
	/* The protocol's commands detach by themselves; one that serves but stays in the
	 * foreground is left running rather than failed. */
	if (answered)
		return 0;
	/* Everything it started is in its process group (it made a session of its own):
	 * a start that never answered leaves nothing behind. */
	kill(-pid, SIGKILL);
	if (!reaped)
		waitpid(pid, &status, 0);
	ret = -ETIMEDOUT;
	return kh_fail(ret, "%s: %s %s: no answer on %s/%s.sock within %d ms%s%s", name, command,
	               name, WG_USERSPACE_SOCKET_DIR, name, START_TIMEOUT_MS, outlen ? ": " : "",
	               last_line(output, outlen));
}

/* --- starts that outlast the caller's wait --- */

struct start {
	struct start *next;
	char name[IFNAMSIZ];
	char *command;
	pid_t pid;
	int outfd;
	bool done;
	bool abandoned; /* its caller got -EINPROGRESS: its end is signalled */
	int ret;
	char error[512];
};

static pthread_mutex_t starts_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t started; /* CLOCK_MONOTONIC */
static pthread_once_t starts_once = PTHREAD_ONCE_INIT;
static struct start *starts; /* at most one per name */

static void
starts_init(void)
{
	wg_cond_init(&started);
}

static struct start *
start_of(const char *name)
{
	for (struct start *st = starts; st; st = st->next)
		if (!strcmp(st->name, name))
			return st;
	return NULL;
}

/* Takes st off the list: its result, with the error text set. */
static int
start_take(struct start *st)
{
	int ret = st->ret;

	for (struct start **p = &starts; *p; p = &(*p)->next)
		if (*p == st) {
			*p = st->next;
			break;
		}
	if (ret < 0)
		kh_fail(ret, "%s", st->error);
	free(st->command);
	free(st);
	return ret;
}

static void *
start_waiter(void *arg)
{
	struct start *st = arg;
	int ret;

	kh_clear_error();
	ret = wait_started(st->name, st->command, st->pid, st->outfd);
	close(st->outfd);
	pthread_mutex_lock(&starts_lock);
	st->ret = ret;
	snprintf(st->error, sizeof(st->error), "%s", kh_last_error());
	st->done = true;
	if (st->abandoned)
		wg_background_done();
	pthread_cond_broadcast(&started);
	pthread_mutex_unlock(&starts_lock);
	return NULL;
}

bool
wg_userspace_starting(const char *name)
{
	struct start *st;
	bool starting;

	pthread_once(&starts_once, starts_init);
	pthread_mutex_lock(&starts_lock);
	st = start_of(name);
	starting = st && !st->done;
	pthread_mutex_unlock(&starts_lock);
	return starting;
}

/* Waits for the process started as pid to answer: on a thread, the caller waiting at most
 * wg_wait_ms(); without a thread, here. outfd is taken over. */
static int
wait_in_background(const char *name, const char *command, pid_t pid, int outfd)
{
	struct start *st = calloc(1, sizeof(*st));
	int err;

	if (!st || !(st->command = strdup(command))) {
		free(st);
		goto here;
	}
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->pid = pid;
	st->outfd = outfd;
	pthread_once(&starts_once, starts_init);
	pthread_mutex_lock(&starts_lock);
	st->next = starts;
	starts = st;
	err = wg_thread_start(start_waiter, st, NULL);
	if (err) {
		starts = st->next;
		pthread_mutex_unlock(&starts_lock);
		free(st->command);
		free(st);
		goto here;
	}
	if (!wg_cond_await(&started, &starts_lock, &st->done)) {
		st->abandoned = true;
		pthread_mutex_unlock(&starts_lock);
		return kh_fail(-EINPROGRESS,
		               "%s: %s %s started; waiting for it to answer in the background",
		               name, command, name);
	}
	err = start_take(st);
	pthread_mutex_unlock(&starts_lock);
	return err;
here:
	err = wait_started(name, command, pid, outfd);
	close(outfd);
	return err;
}

static int
spawn(const char *name, const char *command)
{
	char **env = NULL, *path = NULL;
	int devnull = -1, pipefd[2] = {-1, -1}, ret;
	pid_t pid;

	path = resolve_command(command);
	if (!path) {
		ret = kh_fail(-ENOENT, "%s: cannot run %s: not found or not executable", name,
		              command);
		goto out;
	}
	env = filtered_env();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (!env || devnull < 0 || pipe2(pipefd, O_CLOEXEC) < 0 ||
	    fcntl(pipefd[0], F_SETFL, O_NONBLOCK) < 0) {
		ret = kh_fail(-errno, "%s: cannot run %s: %s", name, command, strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		ret = kh_fail(-errno, "%s: cannot run %s: fork: %s", name, command,
		              strerror(errno));
		goto out;
	}
	if (pid == 0)
		exec_child(path, name, env, devnull, pipefd[1]);
	close(pipefd[1]);
	pipefd[1] = -1;
	ret = wait_in_background(name, command, pid, pipefd[0]);
	pipefd[0] = -1;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (devnull >= 0)
		close(devnull);
	free(env);
	free(path);
	return ret;
}

int
wg_userspace_start(const char *name, const char *command, bool *adopted)
{
	struct start *st;
	int ret;

	kh_clear_error();
	ret = wg_check_name(name);
	if (ret < 0)
		return ret;
	if (!command || !*command)
		command = WG_USERSPACE_DEFAULT;
	/* The outcome of an earlier start: a failure is this call's, a success is adopted. */
	pthread_once(&starts_once, starts_init);
	pthread_mutex_lock(&starts_lock);
	st = start_of(name);
	if (st && !wg_cond_await(&started, &starts_lock, &st->done)) {
		pthread_mutex_unlock(&starts_lock);
		return kh_fail(-EINPROGRESS, "%s: still waiting for %s to answer", name,
		               st->command);
	}
	ret = st ? start_take(st) : 0;
	pthread_mutex_unlock(&starts_lock);
	if (ret < 0)
		return ret;
	if (wg_uapi_answers(name)) {
		/* The socket directory is shared by all network namespaces. */
		if (!if_nametoindex(name))
			return kh_fail(-EADDRINUSE,
			               "%s: %s/%s.sock is served for another network namespace",
			               name, WG_USERSPACE_SOCKET_DIR, name);
		if (adopted)
			*adopted = true;
		kh_clear_error();
		return 0;
	}
	if (if_nametoindex(name))
		return kh_fail(-EEXIST,
		               "%s: an interface of that name exists and nothing answers on its "
		               "socket",
		               name);
	kh_clear_error();
	ret = spawn(name, command);
	if (ret < 0)
		return ret;
	if (adopted)
		*adopted = false;
	kh_clear_error(); /* what the polls for its socket said on the way */
	return 0;
}

int
wg_userspace_del(const char *name)
{
	char path[108];
	int64_t deadline;
	struct stat st;
	int ret;

	ret = wg_uapi_socket_path(name, path, sizeof(path));
	if (ret < 0)
		return ret;
	/* wireguard-go exits when its tun goes away and removes its socket on the way out. */
	ret = wg_link_del(name);
	if (ret < 0)
		return ret;
	deadline = now_ms() + DEL_TIMEOUT_MS;
	while (stat(path, &st) == 0) {
		if (now_ms() >= deadline)
			return kh_fail(-ETIMEDOUT,
			               "%s: link deleted but %s still exists after %d ms", name,
			               path, DEL_TIMEOUT_MS);
		sleep_ms(POLL_MS);
	}
	return 0;
}
