/* The Prometheus scrape endpoint: HTTP on the daemon's libev loop, with libmicrohttpd driven
 * from its epoll descriptor, so that every answer is built on the loop thread. */
#ifndef NETD_HTTPD_H
#define NETD_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "netd/addr.h"

/* The status codes netd answers with, in the order httpd_code_name lists them. */
enum httpd_code {
	HTTPD_200,
	HTTPD_404,
	HTTPD_405,
	HTTPD_500,
	HTTPD_503,
	HTTPD_CODE_COUNT,
};

struct httpd_stats {
	unsigned long long requests[HTTPD_CODE_COUNT]; /* answered, by status code */
	unsigned long long refused;                    /* connections over the limits */
	unsigned long long rejected; /* requests the library refused before netd saw them */
	size_t connections;          /* open now */
};

struct httpd_handlers {
	/* The exposition, owned by the caller (free()); NULL when it cannot be built. */
	char *(*metrics)(void *ctx);
	/* Whether netd is healthy; if not, a one-line reason in why. */
	bool (*healthy)(void *ctx, char *why, size_t len);
};

struct httpd;

/* Listens on listen; NULL after logging why. */
struct httpd *httpd_new(struct ev_loop *loop, const struct addr_endpoint *listen,
                        const struct httpd_handlers *handlers, void *ctx);
void httpd_free(struct httpd *h);

/* Zeroes when h is NULL (no endpoint configured). */
void httpd_get_stats(const struct httpd *h, struct httpd_stats *stats);
const char *httpd_code_name(enum httpd_code code);

#endif
