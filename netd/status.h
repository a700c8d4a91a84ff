/* What the status socket shows: the replies to status, peers, segments, routes and
 * catalogue, and the metrics text, built from read-only views of the daemon and the site. Nothing
 * here reads the kernel or changes what it is shown. */
#ifndef NETD_STATUS_H
#define NETD_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "netd/conf.h"
#include "netd/ctl.h"
#include "netd/httpd.h"
#include "netd/site.h"

/* The daemon's own part: its run, its reloads, its status socket. */
struct status_daemon {
	const struct conf *conf;
	const char *conf_path;
	const char *backend; /* the WireGuard implementation in use or to be used */
	double uptime;       /* seconds, on the monotonic clock */
	time_t started_at;
	unsigned long long reloads_ok;
	unsigned long long reloads_failed;
	time_t last_reload;            /* 0: never */
	const char *last_reload_error; /* NULL: the last reload, if any, succeeded */
	struct ctl_stats ctl;
	struct httpd_stats http; /* zeroes without a metrics endpoint */
};

/* Each returns a reply object owned by the caller, or NULL when memory ran out. */
json_t *status_json(const struct status_daemon *d, const struct site_snapshot *s);
json_t *status_peers_json(const struct site_snapshot *s);
json_t *status_segments_json(const struct site_snapshot *s);
json_t *status_routes_json(const struct site_snapshot *s);
/* The federated catalogue: the federation, this site's credential and every member's a
 * credential admitted, each with every value it states ("expires_in" counted from now, Unix
 * seconds), and the revocations held. */
json_t *status_catalogue_json(const struct site_snapshot *s, time_t now);
/* What a federation document site_publish_document took is: {"published": "revocation",
 * "id": HEX}, {"published": "credential", "site": NAME, "serial": N} or {"published":
 * "authorities", "version": N}. NULL for bytes that are none of these. */
json_t *status_published_json(const uint8_t *bytes, size_t len);
/* {"text": ...}: the Prometheus text exposition of every metric. */
json_t *status_metrics_json(const struct status_daemon *d, const struct site_snapshot *s);
/* The same exposition as text owned by the caller (free()), or NULL when memory ran out. */
char *status_metrics_text(const struct status_daemon *d, const struct site_snapshot *s);

#endif
