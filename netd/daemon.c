/* The daemon's state and event loop: signals, reload, and the status socket's commands. */
#include "netd/daemon.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#include "kernel-helpers/wg.h"
#include "netd/conf.h"
#include "netd/cred.h"
#include "netd/ctl.h"
#include "netd/httpd.h"
#include "netd/log.h"
#include "netd/notify.h"
#include "netd/priv.h"
#include "netd/reconcile.h"
#include "netd/site.h"
#include "netd/status.h"

/* How long a WireGuard call on the loop waits for its exchange with a userspace
 * implementation (see wg_set_wait_ms). Gossip's probe timeouts are hundreds of milliseconds;
 * a stopped wireguard-go must not come near them. A healthy one answers a small get in
 * under 1.5 ms (p90 on a loaded 2-core machine) but in 1% of cases takes over 5 ms: 10 ms
 * keeps such hiccups from failing reconcile runs most of the time. An exchange the loop
 * stops waiting for finishes on kernel-helpers' worker thread, and the next reconcile run or
 * status refresh sees it. */
#define DAEMON_WG_WAIT_MS 10

/* netdctl bounds what it publishes by the protocol's constant, the daemon by the armour's. */
_Static_assert(CTL_MAX_DOCUMENT == CRED_ARMOR_MAX, "publish bounds its text as the armour does");

struct daemon {
	struct ev_loop *loop;
	const struct daemon_options *options;
	struct conf *conf;
	struct ctl_server *ctl;
	struct httpd *httpd; /* NULL: no metrics endpoint configured */
	struct site *site;
	ev_signal sig_term;
	ev_signal sig_int;
	ev_signal sig_hup;
	ev_timer drain; /* after a leave is announced: time for it to spread */
	bool stopping;
	ev_tstamp started_mono; /* monotonic: uptime must not jump with the wall clock */
	time_t started_wall;
	unsigned long long reloads_ok;
	unsigned long long reloads_failed;
	time_t last_reload;  /* 0: never */
	const char *backend; /* the WireGuard implementation in use or to be used */
	char *last_reload_error;
	struct log_limit reload_log; /* whoever may reload can do it in a loop */
};

/* Reloads logged per minute, and error lines logged per rejected reload. */
#define DAEMON_RELOAD_LOG_BURST  10
#define DAEMON_RELOAD_LOG_ERRORS 20

static void
daemon_apply_log_level(const struct daemon *d)
{
	log_set_level(d->options->verbose ? LOG_LEVEL_DEBUG : (enum log_level)d->conf->log_level);
}

/* The implementation serving the interface, or the one the reconciler will create: decided
 * by kernel-helpers, as when it creates it. */
static const char *
daemon_resolve_backend(const struct conf *conf)
{
	static const enum wg_backend backends[] = {
	        [CONF_BACKEND_AUTO] = WG_BACKEND_AUTO,
	        [CONF_BACKEND_KERNEL] = WG_BACKEND_KERNEL,
	        [CONF_BACKEND_USERSPACE] = WG_BACKEND_USERSPACE,
	};
	enum wg_backend b = wg_choose_backend(conf->wg.interface, backends[conf->wg.backend]);

	return b == WG_BACKEND_KERNEL ? "kernel" : "userspace";
}

static char *
daemon_join_errors(const struct conf_errors *errs)
{
	size_t len = 1;
	char *out, *p;

	for (size_t i = 0; i < errs->n; i++)
		len += strlen(errs->msgs[i]) + 1;
	out = malloc(len);
	if (out == NULL)
		return NULL;
	p = out;
	for (size_t i = 0; i < errs->n; i++) {
		size_t n = strlen(errs->msgs[i]);

		memcpy(p, errs->msgs[i], n);
		p += n;
		if (i + 1 < errs->n)
			*p++ = '\n';
	}
	*p = '\0';
	return out;
}

/* A service manager that asked to be told and cannot be is worth a line: it will
 * time the start out, or never see the reload end. */
static void
notify_checked(int err)
{
	if (err < 0)
		log_warnx("cannot notify the service manager at $NOTIFY_SOCKET: %s",
		          strerror(-err));
}

/* systemd's reload protocol wants the monotonic time of the reload's start. */
static void
daemon_notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_checked(notify_sendf("RELOADING=1\nMONOTONIC_USEC=%llu",
	                            (unsigned long long)ts.tv_sec * 1000000ULL +
	                                    (unsigned long long)ts.tv_nsec / 1000ULL));
}

/* The errors of a rejected config, for the event stream; the first ones also to the log. */
static json_t *
daemon_rejected_json(const struct conf_errors *errs, bool loud)
{
	json_t *errors = json_array();

	for (size_t i = 0; i < errs->n; i++) {
		if (loud && i < DAEMON_RELOAD_LOG_ERRORS)
			log_warnx("reload rejected: %s", errs->msgs[i]);
		json_array_append_new(errors, json_string(errs->msgs[i]));
	}
	if (loud && errs->n > DAEMON_RELOAD_LOG_ERRORS)
		log_warnx("reload rejected: %zu more errors (netdctl status shows all)",
		          errs->n - DAEMON_RELOAD_LOG_ERRORS);
	return errors;
}

/* The message for whoever asked for the reload, if anyone did. */
static void __attribute__((format(printf, 2, 3)))
daemon_reload_error(char **err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

/* next is in force: the site has it if it differs from the running config. */
static void
daemon_take_config(struct daemon *d, struct conf *next, unsigned changes, bool loud)
{
	if (loud && (changes & CONF_CHANGE_CONTROL))
		log_warnx("status socket or metrics endpoint settings changed in %s: they take "
		          "effect at the next "
		          "start",
		          d->options->conf_path);
	/* The site borrows the config: an unchanged one is kept, a changed one was handed over. */
	if (changes != 0) {
		conf_free(d->conf);
		d->conf = next;
	} else {
		conf_free(next);
	}
	d->backend = daemon_resolve_backend(d->conf);
	d->reloads_ok++;
	free(d->last_reload_error);
	d->last_reload_error = NULL;
	daemon_apply_log_level(d);
	if (loud)
		log_info("configuration reloaded (%s)", changes != 0 ? "changed" : "unchanged");
}

/* Loading a config parses the whole file into libconfig's tree, thousands of small blocks
 * (most of a reload's peak at many sites), while the config's own blocks are allocated
 * between them and live on. Once the tree is freed its pages sit inside the heap, below live
 * blocks, where the trim of the heap's top never reaches: they would stay resident until the
 * next load. malloc_trim returns the free pages from the middle of the heap too. */
static void
daemon_trim_heap(void)
{
	malloc_trim(0);
}

/* Re-read the config. A config that fails validation, or whose gossip settings cannot be
 * applied, changes nothing: the running one stays in force and the errors go to the log,
 * the event stream, status and *err. */
static int
daemon_reload(struct daemon *d, bool *changed, char **err)
{
	static const char unapplied[] = "the new gossip settings could not be applied";
	const char *path = d->options->conf_path;
	struct conf_errors errs = {0};
	struct conf *next;
	json_t *event, *errors;
	unsigned changes;
	char *why; /* for status: every error, one a line */
	int rc = -1;
	bool loud = log_limit_allow(&d->reload_log);

	daemon_notify_reloading();
	if (loud)
		log_info("reloading configuration from %s", path);
	next = conf_load(path, &errs);
	d->last_reload = time(NULL);
	event = json_pack("{s:s, s:s, s:o}", "type", "config-reload", "file", path, "time",
	                  ctl_time_json(d->last_reload));
	if (next == NULL) {
		/* A signal's sender has nothing but the log to learn why (systemctl reload says
		 * nothing), and only root may send one: its rejection is logged whatever the
		 * budget, which is for the status socket's callers, who get the errors back. */
		errors = daemon_rejected_json(&errs, loud || err == NULL);
		why = daemon_join_errors(&errs);
		daemon_reload_error(err, "configuration rejected, %s stays in force:\n%s", path,
		                    why ? why : "");
		goto failed;
	}
	changes = conf_changes(d->conf, next);
	*changed = changes != 0;
	if (changes != 0 && site_reconfigure(d->site, next) < 0) {
		errors = json_pack("[s]", unapplied);
		why = strdup(unapplied);
		daemon_reload_error(
		        err, "configuration not applied, %s stays in force: %s (see the log)", path,
		        unapplied);
		conf_free(next);
		goto failed;
	}
	daemon_take_config(d, next, changes, loud);
	json_object_set_new(event, "ok", json_true());
	json_object_set_new(event, "changed", json_boolean(*changed));
	rc = 0;
	goto out;
failed:
	d->reloads_failed++;
	free(d->last_reload_error);
	d->last_reload_error = why;
	json_object_set_new(event, "ok", json_false());
	json_object_set_new(event, "errors", errors);
out:
	ctl_server_publish(d->ctl, event);
	json_decref(event);
	conf_errors_free(&errs);
	daemon_trim_heap();
	notify_checked(notify_send("READY=1"));
	return rc;
}

/* The daemon's part of what the status socket shows, as it is now. */
static void
daemon_status(const struct daemon *d, struct status_daemon *out)
{
	*out = (struct status_daemon){
	        .conf = d->conf,
	        .conf_path = d->options->conf_path,
	        .backend = d->backend,
	        .uptime = ev_now(d->loop) - d->started_mono,
	        .started_at = d->started_wall,
	        .reloads_ok = d->reloads_ok,
	        .reloads_failed = d->reloads_failed,
	        .last_reload = d->last_reload,
	        .last_reload_error = d->last_reload_error,
	};
	ctl_server_stats(d->ctl, &out->ctl);
	httpd_get_stats(d->httpd, &out->http);
}

static char *
daemon_metrics_text(void *ctx)
{
	struct daemon *d = ctx;
	struct status_daemon sd;
	struct site_snapshot ss;

	daemon_status(d, &sd);
	site_snapshot(d->site, &ss);
	return status_metrics_text(&sd, &ss);
}

/* Healthy: serving (not leaving), the WireGuard device read by the last status refresh, and
 * the reconciler's last run made every change it tried. A failed reload is not a health
 * matter: the config in force still is. */
static bool
daemon_healthy(void *ctx, char *why, size_t len)
{
	struct daemon *d = ctx;
	struct site_snapshot ss;
	struct reconcile_stats rs;

	if (d->stopping) {
		snprintf(why, len, "stopping: leaving the federation");
		return false;
	}
	site_snapshot(d->site, &ss);
	if (ss.device == NULL) {
		snprintf(why, len, "WireGuard interface %s not readable", d->conf->wg.interface);
		return false;
	}
	reconcile_get_stats(ss.reconcile, &rs);
	if (rs.last_failed > 0) {
		snprintf(why, len, "the last reconcile run failed %llu changes (netdctl status)",
		         (unsigned long long)rs.last_failed);
		return false;
	}
	return true;
}

static json_t *
cmd_status(void *ctx, const struct ctl_request *req, char **err)
{
	struct daemon *d = ctx;
	struct status_daemon sd;
	struct site_snapshot ss;

	(void)req;
	(void)err;
	daemon_status(d, &sd);
	site_snapshot(d->site, &ss);
	return status_json(&sd, &ss);
}

static json_t *
cmd_config(void *ctx, const struct ctl_request *req, char **err)
{
	struct daemon *d = ctx;

	(void)req;
	(void)err;
	return conf_to_json(d->conf);
}

/* While netd stops (its leave spreading, or after a teardown) a change would be applied to
 * a site that is going, or put back the data plane a teardown removed: refused, saying so. */
static bool
daemon_refuse_stopping(const struct daemon *d, const char *what, char **err)
{
	if (!d->stopping)
		return false;
	if (asprintf(err, "netd is stopping: %s refused", what) < 0)
		*err = NULL;
	return true;
}

static json_t *
cmd_reload(void *ctx, const struct ctl_request *req, char **err)
{
	struct daemon *d = ctx;
	bool changed = false;

	(void)req;
	if (daemon_refuse_stopping(d, "the reload is", err))
		return NULL;
	if (daemon_reload(d, &changed, err) < 0)
		return NULL;
	return json_pack("{s:b, s:b}", "reloaded", 1, "changed", changed);
}

static json_t *
cmd_peers(void *ctx, const struct ctl_request *req, char **err)
{
	struct daemon *d = ctx;
	struct site_snapshot ss;

	(void)req;
	(void)err;
	site_snapshot(d->site, &ss);
	return status_peers_json(&ss);
}

static json_t *
cmd_segments(void *ctx, const struct ctl_request *req, char **err)
{
	struct daemon *d = ctx;
	struct site_snapshot ss;

	(void)req;
	(void)err;
	site_snapshot(d->site, &ss);
	return status_segments_json(&ss);
}

static json_t *
cmd_routes(void *ctx, const struct ctl_request *req, char **err)
{
	struct daemon *d = ctx;
	struct site_snapshot ss;

	(void)req;
	(void)err;
	site_snapshot(d->site, &ss);
	return status_routes_json(&ss);
}

static json_t *
cmd_catalogue(void *ctx, const struct ctl_request *req, char **err)
{
	struct daemon *d = ctx;
	struct site_snapshot ss;

	(void)req;
	(void)err;
	site_snapshot(d->site, &ss);
	return status_catalogue_json(&ss, time(NULL));
}

/* An armoured revocation, site credential or authority update from the operator, taken as
 * gossip would take it from another site, then spread. The error says what is wrong with the
 * text or what verification found missing. */
static json_t *
cmd_publish(void *ctx, const struct ctl_request *req, char **err)
{
	struct daemon *d = ctx;
	const json_t *text = json_object_get(req->args, "document");
	uint8_t doc[CRED_ENCODED_MAX];
	char why[256] = "";
	json_t *result;
	int n;

	if (daemon_refuse_stopping(d, "the document is", err))
		return NULL;
	if (!json_is_string(text)) {
		*err = strdup("publish takes \"document\": the armoured text of a revocation, a "
		              "site credential or an authority update");
		return NULL;
	}
	if (json_string_length(text) > CRED_ARMOR_MAX) {
		if (asprintf(err, "the document is %zu bytes, more than an armoured one takes (%d)",
		             json_string_length(text), CRED_ARMOR_MAX) < 0)
			*err = NULL;
		return NULL;
	}
	n = cred_dearmor(json_string_value(text), json_string_length(text), doc, sizeof(doc), why,
	                 sizeof(why));
	if (n < 0 || site_publish_document(d->site, doc, (size_t)n, why, sizeof(why)) < 0) {
		*err = strdup(why);
		return NULL;
	}
	result = status_published_json(doc, (size_t)n);
	if (result == NULL)
		*err = strdup("published, but out of memory for the reply");
	return result;
}

static void daemon_stop(struct daemon *d);

/* Removes the data plane and stops: what an operator decommissioning the site wants.
 * Stopping alone keeps the data plane, so that restarts are hitless. */
static json_t *
cmd_teardown(void *ctx, const struct ctl_request *req, char **err)
{
	struct daemon *d = ctx;

	(void)req;
	log_info("teardown requested on the status socket");
	if (site_teardown(d->site) < 0) {
		*err = strdup("teardown left something behind; see the log");
		daemon_stop(d);
		return NULL;
	}
	daemon_stop(d);
	return json_pack("{s:b}", "teardown", 1);
}

static json_t *
cmd_metrics(void *ctx, const struct ctl_request *req, char **err)
{
	struct daemon *d = ctx;
	struct status_daemon sd;
	struct site_snapshot ss;
	json_t *result;

	(void)req;
	daemon_status(d, &sd);
	site_snapshot(d->site, &ss);
	result = status_metrics_json(&sd, &ss);
	if (result == NULL)
		*err = strdup("out of memory building metrics");
	return result;
}

static const struct ctl_command daemon_commands[] = {
        {"status", false, cmd_status},
        {"config", false, cmd_config},
        {"metrics", false, cmd_metrics},
        {"peers", false, cmd_peers},
        {"segments", false, cmd_segments},
        {"routes", false, cmd_routes},
        {"catalogue", false, cmd_catalogue},
        {"reload", true, cmd_reload},
        {"publish", true, cmd_publish},
        {"teardown", true, cmd_teardown},
        {NULL, false, NULL},
};

static void
daemon_on_drained(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Leave gossip gracefully, give the announcement time to spread, then return from the
 * loop. The data plane stays for the next start to adopt. */
static void
daemon_stop(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	notify_checked(notify_send("STOPPING=1"));
	ev_timer_init(&d->drain, daemon_on_drained, site_leave(d->site), 0);
	ev_timer_start(d->loop, &d->drain);
}

static void
daemon_on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;

	(void)revents;
	log_info("received %s, stopping", strsignal(w->signum));
	if (d->stopping)
		ev_break(loop, EVBREAK_ALL); /* a second signal does not wait */
	else
		daemon_stop(d);
}

static void
daemon_on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	bool changed;

	(void)loop;
	(void)revents;
	if (d->stopping) {
		log_info("received SIGHUP while stopping: the configuration is not reloaded");
		return;
	}
	daemon_reload(d, &changed, NULL);
}

/* netd's peaks are transient and proportional to the sites it sees: the mesh's site table,
 * a full read of the WireGuard device every second, the desired state being rebuilt. glibc
 * raises its mmap threshold to the size of the largest such block once it is freed (up to
 * 32 MiB) and its trim threshold to twice that, after which the same peaks come from the heap
 * and their pages stay resident between the runs that need them. Fixed thresholds keep large
 * blocks in mappings returned on free and let the heap's top go back soon. One arena: the
 * UAPI worker thread would otherwise get its own, whose pages stay resident for the few
 * replies it parses; the two threads rarely allocate at the same time. Called before any
 * thread starts. */
static void
daemon_tune_malloc(void)
{
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

int
daemon_run(const struct daemon_options *options)
{
	struct daemon d = {
	        .options = options,
	        .reload_log =
	                LOG_LIMIT_INIT("reloads", LOG_LEVEL_INFO, DAEMON_RELOAD_LOG_BURST, 60.0),
	};
	struct conf_errors errs = {0};
	struct ctl_config ctl_config;
	int status = 1;

	daemon_tune_malloc();
	d.conf = conf_load(options->conf_path, &errs);
	if (d.conf == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_errx("%s", errs.msgs[i]);
		conf_errors_free(&errs);
		return 1;
	}
	daemon_apply_log_level(&d);
	d.backend = daemon_resolve_backend(d.conf);
	log_info("WireGuard interface %s: %s backend (configured %s)", d.conf->wg.interface,
	         d.backend, conf_backend_name(d.conf->wg.backend));

	/* A client that goes away mid-reply must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	d.loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (d.loop == NULL) {
		log_errx("cannot initialise the event loop");
		goto out;
	}
	ctl_config = (struct ctl_config){
	        .path = d.conf->control.socket,
	        .mode = d.conf->control.mode,
	        .group = d.conf->control.group,
	};
	d.ctl = ctl_server_new(d.loop, &ctl_config, daemon_commands, &d);
	if (d.ctl == NULL)
		goto out;

	ev_signal_init(&d.sig_term, daemon_on_stop, SIGTERM);
	ev_signal_init(&d.sig_int, daemon_on_stop, SIGINT);
	ev_signal_init(&d.sig_hup, daemon_on_hup, SIGHUP);
	d.sig_hup.data = &d;
	d.sig_term.data = &d;
	d.sig_int.data = &d;
	ev_signal_start(d.loop, &d.sig_term);
	ev_signal_start(d.loop, &d.sig_int);
	ev_signal_start(d.loop, &d.sig_hup);

	if (d.conf->metrics.enabled) {
		static const struct httpd_handlers handlers = {daemon_metrics_text, daemon_healthy};

		d.httpd = httpd_new(d.loop, &d.conf->metrics.listen, &handlers, &d);
		if (d.httpd == NULL)
			goto out;
	}

	/* The status socket and the metrics endpoint are set up (the socket's group needed
	 * CAP_CHOWN, a metrics port below 1024 CAP_NET_BIND_SERVICE); nothing is started yet. */
	if (priv_drop(d.conf) < 0)
		goto out;
	wg_set_wait_ms(DAEMON_WG_WAIT_MS);
	if (site_new(d.loop, d.conf, d.ctl, &d.site) < 0)
		goto out;
	daemon_trim_heap();
	d.started_mono = ev_now(d.loop);
	d.started_wall = time(NULL);
	log_info("netd %s serving site %s, status socket %s", NETD_VERSION, d.conf->site_name,
	         d.conf->control.socket);
	notify_checked(notify_sendf("READY=1\nSTATUS=serving site %s", d.conf->site_name));

	ev_run(d.loop, 0);

	status = 0;
	ev_timer_stop(d.loop, &d.drain);
	ev_signal_stop(d.loop, &d.sig_term);
	ev_signal_stop(d.loop, &d.sig_int);
	ev_signal_stop(d.loop, &d.sig_hup);
out:
	httpd_free(d.httpd);
	site_free(d.site);
	ctl_server_free(d.ctl);
	wg_shutdown();
	if (d.loop != NULL)
		ev_loop_destroy(d.loop);
	conf_free(d.conf);
	free(d.last_reload_error);
	return status;
}
