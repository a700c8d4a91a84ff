/* The Prometheus scrape endpoint. libmicrohttpd runs without a thread of its own: its epoll
 * descriptor is watched by the daemon's loop and MHD_run is called from there, so the
 * handlers read the daemon's state on the only thread that changes it, and a slow or
 * hostile client costs at most a bounded connection slot, never the loop's time.
 *
 * The library is loaded when an endpoint is configured, not at start: it brings GnuTLS and
 * its dependencies, about 2.7 MiB of resident memory that a gateway without the endpoint
 * would carry for nothing. */
#include "netd/httpd.h"

#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "netd/log.h"

/* Prometheus keeps one connection per target; a few more let an operator's curl in. Over
 * this, a connection is closed at once and counted. */
#define HTTPD_MAX_CONNECTIONS 16
#define HTTPD_MAX_PER_IP      4
/* Seconds a connection has to send a complete request, and then to read its answer. */
#define HTTPD_TIMEOUT 5
/* Bytes of buffer per connection: a request line beyond this gets 414, headers 431. */
#define HTTPD_MEMORY_LIMIT (16 * 1024)

/* Where a request stands, kept in MHD's per-request pointer: its line parsed, its headers in
 * (a body, if any, being read and dropped), answered. One that MHD closed before netd answered
 * was refused by the library (headers too large, malformed) or never came whole. */
static char httpd_request_seen, httpd_request_headers, httpd_request_answered;

/* An open connection. MHD's timeout restarts at every byte received, so a client sending a
 * header line every few seconds would keep its slot for ever: netd also gives each request,
 * and then its answer, a deadline of its own. */
struct httpd_conn {
	struct MHD_Connection *conn;
	struct sockaddr_storage peer; /* for the per-address limit */
	ev_tstamp deadline;           /* INFINITY once netd has cut the connection */
};

struct httpd {
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	ev_io io;
	ev_timer timer;
	struct httpd_handlers handlers;
	void *ctx;
	struct httpd_stats stats;
	/* Every open connection, so the per-address limit is netd's own and its refusals are
	 * counted. */
	struct httpd_conn open[HTTPD_MAX_CONNECTIONS];
};

#ifndef NETD_MHD_SONAME
#define NETD_MHD_SONAME "libmicrohttpd.so.12"
#endif

/* The library's entry points netd uses, resolved once by httpd_load. */
static struct {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_get_connection_info) *get_connection_info;
} mhd;

#define MHD_RESOLVE(lib, name) ((mhd.name = (__typeof__(mhd.name))dlsym(lib, "MHD_" #name)) != NULL)

static int
httpd_load(void)
{
	void *lib;

	if (mhd.start_daemon != NULL)
		return 0;
	lib = dlopen(NETD_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		log_errx("metrics.listen needs libmicrohttpd (%s): %s", NETD_MHD_SONAME, dlerror());
		return -1;
	}
	/* start_daemon last: it marks the whole table resolved. */
	if (MHD_RESOLVE(lib, stop_daemon) && MHD_RESOLVE(lib, get_daemon_info) &&
	    MHD_RESOLVE(lib, run) && MHD_RESOLVE(lib, get_timeout) &&
	    MHD_RESOLVE(lib, create_response_from_buffer) &&
	    MHD_RESOLVE(lib, add_response_header) && MHD_RESOLVE(lib, queue_response) &&
	    MHD_RESOLVE(lib, destroy_response) && MHD_RESOLVE(lib, get_connection_info) &&
	    MHD_RESOLVE(lib, start_daemon))
		return 0;
	log_errx("%s lacks a function netd needs: %s", NETD_MHD_SONAME, dlerror());
	memset(&mhd, 0, sizeof(mhd));
	dlclose(lib);
	return -1;
}

static const struct {
	unsigned int status;
	const char *name;
} httpd_codes[HTTPD_CODE_COUNT] = {
        [HTTPD_200] = {MHD_HTTP_OK, "200"},
        [HTTPD_404] = {MHD_HTTP_NOT_FOUND, "404"},
        [HTTPD_405] = {MHD_HTTP_METHOD_NOT_ALLOWED, "405"},
        [HTTPD_500] = {MHD_HTTP_INTERNAL_SERVER_ERROR, "500"},
        [HTTPD_503] = {MHD_HTTP_SERVICE_UNAVAILABLE, "503"},
};

const char *
httpd_code_name(enum httpd_code code)
{
	return httpd_codes[code].name;
}

static struct httpd_conn *
httpd_find(struct httpd *h, const struct MHD_Connection *conn)
{
	for (size_t i = 0; i < h->stats.connections; i++)
		if (h->open[i].conn == conn)
			return &h->open[i];
	return NULL;
}

/* The connection has HTTPD_TIMEOUT from now for what comes next: a request, or reading an
 * answer. */
static void
httpd_restart_deadline(struct httpd *h, const struct MHD_Connection *conn)
{
	struct httpd_conn *c = httpd_find(h, conn);

	if (c != NULL && c->deadline != INFINITY)
		c->deadline = ev_now(h->loop) + HTTPD_TIMEOUT;
}

/* MHD has no call to close a connection: shutting its socket down makes MHD read the end of
 * it and close the connection itself, with the usual notifications. */
static void
httpd_cut_late(struct httpd *h, ev_tstamp now)
{
	const union MHD_ConnectionInfo *info;

	for (size_t i = 0; i < h->stats.connections; i++) {
		if (h->open[i].deadline > now)
			continue;
		h->open[i].deadline = INFINITY;
		info = mhd.get_connection_info(h->open[i].conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (info != NULL)
			(void)shutdown(info->connect_fd, SHUT_RDWR);
	}
}

/* Runs what MHD has to do, then wakes the loop when MHD next wants to run or a connection's
 * deadline passes. */
static void
httpd_run(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;
	ev_tstamp now, wake = INFINITY;

	(void)mhd.run(h->mhd);
	now = ev_now(h->loop);
	httpd_cut_late(h, now);
	if (mhd.get_timeout(h->mhd, &ms) == MHD_YES)
		wake = (ev_tstamp)ms / 1000.0;
	for (size_t i = 0; i < h->stats.connections; i++)
		if (h->open[i].deadline - now < wake)
			wake = h->open[i].deadline - now;
	ev_timer_stop(h->loop, &h->timer);
	if (wake != INFINITY) {
		ev_timer_set(&h->timer, wake, 0);
		ev_timer_start(h->loop, &h->timer);
	}
}

static void
httpd_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	httpd_run(w->data);
}

static void
httpd_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	httpd_run(w->data);
}

static enum MHD_Result
httpd_queue(struct httpd *h, struct MHD_Connection *conn, enum httpd_code code, char *body,
            const char *type)
{
	struct MHD_Response *resp =
	        mhd.create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result r;

	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	(void)mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == HTTPD_405)
		(void)mhd.add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = mhd.queue_response(conn, httpd_codes[code].status, resp);
	mhd.destroy_response(resp);
	if (r == MHD_YES)
		h->stats.requests[code]++;
	return r;
}

static enum MHD_Result
httpd_text(struct httpd *h, struct MHD_Connection *conn, enum httpd_code code, const char *text)
{
	char *body = strdup(text);

	return body != NULL ? httpd_queue(h, conn, code, body, "text/plain; charset=utf-8")
	                    : MHD_NO;
}

static enum MHD_Result
httpd_answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
             const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	char why[256];

	(void)version;
	(void)upload_data;
	/* Answered only once the request is whole: MHD closes a connection after an answer
	 * queued before its request's end (the first call, with the headers), where a client
	 * such as Prometheus would keep it for the next scrape. A body is read and dropped. */
	if (*con_cls == &httpd_request_seen) {
		*con_cls = &httpd_request_headers;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* The answer's time starts now. */
	httpd_restart_deadline(h, conn);
	*con_cls = &httpd_request_answered;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return httpd_text(h, conn, HTTPD_405, "method not allowed\n");
	if (strcmp(url, "/metrics") == 0) {
		char *text = h->handlers.metrics(h->ctx);

		if (text == NULL)
			return httpd_text(h, conn, HTTPD_500, "out of memory building metrics\n");
		return httpd_queue(h, conn, HTTPD_200, text,
		                   "text/plain; version=0.0.4; charset=utf-8");
	}
	if (strcmp(url, "/healthz") == 0) {
		size_t n;

		if (h->handlers.healthy(h->ctx, why, sizeof(why) - 1))
			return httpd_text(h, conn, HTTPD_200, "ok\n");
		n = strlen(why);
		why[n] = '\n';
		why[n + 1] = '\0';
		return httpd_text(h, conn, HTTPD_503, why);
	}
	return httpd_text(h, conn, HTTPD_404, "not found: try /metrics or /healthz\n");
}

static void *
httpd_request_started(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)uri;
	(void)conn;
	return &httpd_request_seen;
}

static void
httpd_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;

	if (toe != MHD_REQUEST_TERMINATED_CLIENT_ABORT &&
	    (*con_cls == &httpd_request_seen || *con_cls == &httpd_request_headers))
		h->stats.rejected++;
	/* The request is over: a kept-alive connection has as long again for its next one. */
	httpd_restart_deadline(h, conn);
}

static bool
httpd_same_host(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		              &((const struct sockaddr_in6 *)b)->sin6_addr,
		              sizeof(struct in6_addr)) == 0;
	return false;
}

/* MHD enforces its limits only by refusing silently; netd refuses first, by the same limits,
 * so that every refusal is counted. */
static enum MHD_Result
httpd_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct httpd *h = cls;
	size_t same = 0;

	if (addrlen > sizeof(struct sockaddr_storage) ||
	    h->stats.connections >= HTTPD_MAX_CONNECTIONS) {
		h->stats.refused++;
		return MHD_NO;
	}
	for (size_t i = 0; i < h->stats.connections; i++)
		same += httpd_same_host(addr, &h->open[i].peer);
	if (same >= HTTPD_MAX_PER_IP) {
		h->stats.refused++;
		return MHD_NO;
	}
	return MHD_YES;
}

static void
httpd_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
             enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	const union MHD_ConnectionInfo *info;
	struct httpd_conn *slot;

	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		if (h->stats.connections >= HTTPD_MAX_CONNECTIONS)
			return;
		slot = &h->open[h->stats.connections++];
		memset(slot, 0, sizeof(*slot));
		slot->conn = conn;
		slot->deadline = ev_now(h->loop) + HTTPD_TIMEOUT;
		info = mhd.get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (info != NULL && info->client_addr != NULL)
			memcpy(&slot->peer, info->client_addr,
			       info->client_addr->sa_family == AF_INET6
			               ? sizeof(struct sockaddr_in6)
			               : sizeof(struct sockaddr_in));
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_CLOSED)
		return;
	slot = httpd_find(h, conn);
	if (slot != NULL)
		*slot = h->open[--h->stats.connections];
}

static void
httpd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("metrics endpoint: %s", msg);
}

struct httpd *
httpd_new(struct ev_loop *loop, const struct addr_endpoint *listen,
          const struct httpd_handlers *handlers, void *ctx)
{
	struct httpd *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss = {0};
	char buf[ADDR_ENDPOINT_STRLEN];
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;

	if (h == NULL) {
		log_errx("out of memory for the metrics endpoint");
		return NULL;
	}
	if (httpd_load() < 0) {
		free(h);
		return NULL;
	}
	if (listen->addr.family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = listen->addr.u.v6;
		sin6->sin6_port = htons(listen->port);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = listen->addr.u.v4;
		sin->sin_port = htons(listen->port);
	}
	h->loop = loop;
	h->handlers = *handlers;
	h->ctx = ctx;
	h->mhd = mhd.start_daemon(
	        flags, listen->port, httpd_accept, h, httpd_answer, h, MHD_OPTION_SOCK_ADDR, &ss,
	        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTPD_MAX_CONNECTIONS + 1,
	        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HTTPD_MAX_PER_IP + 1,
	        MHD_OPTION_URI_LOG_CALLBACK, httpd_request_started, h, MHD_OPTION_NOTIFY_COMPLETED,
	        httpd_request_completed, h, MHD_OPTION_CONNECTION_TIMEOUT,
	        (unsigned int)HTTPD_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	        (size_t)HTTPD_MEMORY_LIMIT, MHD_OPTION_NOTIFY_CONNECTION, httpd_notify, h,
	        MHD_OPTION_EXTERNAL_LOGGER, httpd_log, h, MHD_OPTION_END);
	if (h->mhd == NULL) {
		log_errx("cannot listen for metrics on %s (address in use or not on this host?)",
		         addr_endpoint_format(listen, buf));
		free(h);
		return NULL;
	}
	info = mhd.get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL) {
		log_errx("the metrics endpoint has no epoll descriptor");
		httpd_free(h);
		return NULL;
	}
	ev_io_init(&h->io, httpd_on_io, info->epoll_fd, EV_READ);
	h->io.data = h;
	ev_init(&h->timer, httpd_on_timer);
	h->timer.data = h;
	ev_io_start(loop, &h->io);
	log_info("metrics endpoint on http://%s/metrics", addr_endpoint_format(listen, buf));
	return h;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	ev_io_stop(h->loop, &h->io);
	ev_timer_stop(h->loop, &h->timer);
	mhd.stop_daemon(h->mhd);
	free(h);
}

void
httpd_get_stats(const struct httpd *h, struct httpd_stats *stats)
{
	if (h == NULL)
		memset(stats, 0, sizeof(*stats));
	else
		*stats = h->stats;
}
