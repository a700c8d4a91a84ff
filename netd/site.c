/* The running site: gossip on a UDP socket in the event loop, the membership view turned
 * into the mesh's desired state, and the reconciler applying it whenever the view, the config
 * or the kernel (netlink events) moves. */
#include "netd/site.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "kernel-helpers/monitor.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/wg.h"
#include "netd/gossip.h"
#include "netd/log.h"
#include "netd/mesh.h"
#include "netd/reconcile.h"
#include "netd/state.h"

/* A burst of netlink events or membership changes is applied in one run this long after it
 * starts: quick enough that a hand-deleted route is back well within a second. */
#define SITE_DEBOUNCE 0.1
/* Changes nobody announces (WireGuard peers, rules) are found by a run at least this often. */
#define SITE_RESYNC_PERIOD (30 * MESH_USEC)
/* The status socket's WireGuard figures (endpoints, handshakes, bytes) are read this often,
 * off the request path: a reply never waits on the kernel or a userspace implementation. */
#define SITE_WG_REFRESH 5.0
#define SITE_WG_COLLECT 0.25 /* after a read that goes on in the background */
/* The view is saved this long after a membership change, so a crash loses little. */
#define SITE_SAVE_DELAY 1.0
#define SITE_RX_BURST   64

struct site_view {
	struct mesh_site site;
	struct addr_prefix prefixes[WIRE_MAX_PREFIXES];
	uint32_t vnis[WIRE_MAX_VNIS];
};

struct site {
	struct ev_loop *loop;
	const struct conf *conf;
	struct ctl_server *ctl;

	struct gossip_trust *trust;
	struct gossip *gossip;
	uint64_t session;
	int state_lock; /* held for the life of the process */
	uint32_t saved_incarnation;
	int fd;
	int fd_family;
	ev_io udp_watcher;
	ev_timer gossip_timer;
	uint64_t rx_oversize;

	struct kh_monitor *monitor;
	ev_io monitor_watcher;

	struct reconcile *reconcile;
	struct mesh_desired *desired;
	struct mesh_params params;
	ev_timer work_timer;
	bool view_changed; /* membership moved since the last compute */
	int64_t last_run;
	int64_t hold_expiry; /* the next time a dead site's hold ends, 0: none */
	uint64_t computes;

	ev_timer save_timer;
	bool leaving;

	struct wg_device *wg_dev; /* as last read for the replies; NULL: not read or unreadable */
	ev_timer wg_timer;
	bool wg_collecting; /* the timer runs to collect a read that went on in the background */
	uint64_t wg_read_failures;
	ev_io wg_background; /* wg_background_fd: work the loop stopped waiting for is done */
};

static int64_t
site_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * MESH_USEC + ts.tv_nsec / 1000;
}

static bool
addr_is_wildcard(const struct addr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->u.bytes, zero, addr_len(a->family)) == 0;
}

/* --- the descriptor and trust table from the config --- */

/* The address other sites reach this one at: advertise, else a specific bind address. */
static bool
site_public_address(const struct conf *conf, struct addr_endpoint *out)
{
	*out = conf->gossip.bind;
	if (conf->gossip.has_advertise)
		out->addr = conf->gossip.advertise.addr;
	else if (addr_is_wildcard(&out->addr))
		return false;
	return true;
}

static void
site_build_desc(const struct conf *conf, struct wire_desc *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", conf->site_name);
	if (site_public_address(conf, &d->gossip)) {
		d->endpoints[0] = d->gossip;
		d->endpoints[0].port = conf->wg.listen_port;
		d->nendpoints = 1;
	}
	for (size_t i = 0; i < conf->noverlay && i < WIRE_MAX_OVERLAY; i++)
		d->overlay[d->noverlay++] = conf->overlay[i];
	for (size_t i = 0; i < conf->nprefixes && i < WIRE_MAX_PREFIXES; i++)
		d->prefixes[d->nprefixes++] = conf->prefixes[i];
	for (size_t i = 0; i < conf->nsegments && i < WIRE_MAX_VNIS; i++)
		d->vnis[d->nvnis++] = conf->segments[i].vni;
}

static struct gossip_trust *
site_build_trust(const struct conf *conf)
{
	struct gossip_trust *t = gossip_trust_new();

	if (t == NULL)
		return NULL;
	for (size_t i = 0; i < conf->ntrust; i++) {
		const struct conf_trust *ct = &conf->trust[i];
		struct gossip_grant grant = {
		        .prefixes = ct->prefixes,
		        .nprefixes = ct->nprefixes,
		        .overlay = ct->overlay,
		        .noverlay = ct->noverlay,
		        .vnis = ct->vnis,
		        .nvnis = ct->nvnis,
		};

		if (gossip_trust_add(t, ct->name, ct->public_key, &grant) < 0)
			goto fail;
	}
	return t;
fail:
	gossip_trust_free(t);
	return NULL;
}

/* --- the state file --- */

/* Saves the incarnation and the verified descriptors of the live members. */
static void
site_save(struct site *s)
{
	struct state st = {0};
	size_t n = gossip_trust_count(s->trust);
	char err[256];

	st.incarnation = gossip_self(s->gossip)->incarnation;
	st.members = calloc(n ? n : 1, sizeof(*st.members));
	if (st.members == NULL) {
		log_warnx("cannot save %s: out of memory", s->conf->gossip.state_file);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct gossip_member_info mi;

		if (gossip_member(s->gossip, i, &mi) < 0 || mi.desc == NULL)
			continue;
		if (mi.state == GOSSIP_ALIVE || mi.state == GOSSIP_SUSPECT)
			st.members[st.nmembers++] = *mi.desc;
	}
	if (state_save(s->conf->gossip.state_file, &st, err, sizeof(err)) < 0)
		log_warnx("cannot save the gossip state: %s", err);
	else
		s->saved_incarnation = st.incarnation;
	free(st.members);
}

static void
site_on_save(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	site_save(w->data);
}

static void
site_schedule_save(struct site *s)
{
	if (!ev_is_active(&s->save_timer)) {
		ev_timer_set(&s->save_timer, SITE_SAVE_DELAY, 0);
		ev_timer_start(s->loop, &s->save_timer);
	}
}

/* Members remembered from the state file or an earlier gossip instance, taken only if their
 * signature verifies under the key the trust table names; what their trust entry does not
 * grant is refused as it is when received. */
static void
site_adopt_members(struct gossip *g, const struct wire_desc *descs, size_t n, int64_t now)
{
	size_t adopted = 0;

	for (size_t i = 0; i < n; i++) {
		struct gossip_desc *gd = gossip_desc_new(&descs[i]);

		if (gd == NULL)
			break;
		if (gossip_desc_verify(gd) == 0 && gossip_add_member(g, now, gd) == 0)
			adopted++;
		gossip_desc_unref(gd);
	}
	if (n > 0)
		log_info("gossip: %zu of %zu remembered members taken into the view", adopted, n);
}

/* --- the mesh --- */

static enum mesh_state
mesh_state_of(enum gossip_state st)
{
	switch (st) {
	case GOSSIP_SUSPECT:
		return MESH_SUSPECT;
	case GOSSIP_DEAD:
		return MESH_DEAD;
	case GOSSIP_LEFT:
		return MESH_LEFT;
	case GOSSIP_NONE:
	case GOSSIP_ALIVE:
		break;
	}
	return MESH_ALIVE;
}

/* The view as the mesh wants it. Also finds when the next dead site's hold ends. */
static size_t
site_view(struct site *s, struct site_view *views, int64_t now)
{
	size_t n = 0, count = gossip_trust_count(s->trust);
	int64_t hold = (int64_t)s->conf->gossip.dead_hold * MESH_USEC;

	s->hold_expiry = 0;
	for (size_t i = 0; i < count; i++) {
		struct gossip_member_info mi;
		struct site_view *v = &views[n];
		const struct wire_desc *d;

		if (gossip_member(s->gossip, i, &mi) < 0 || mi.desc == NULL)
			continue;
		d = mi.granted;
		memset(v, 0, sizeof(*v));
		v->site.name = mi.name;
		memcpy(v->site.public_key, d->wg_key, KEY_LEN);
		if (d->nendpoints > 0) {
			const struct addr_endpoint *ep = &d->endpoints[0];

			v->site.endpoint = ep->addr;
			v->site.endpoint_port = ep->port;
		}
		for (size_t k = 0; k < d->noverlay && k < MESH_MAX_OVERLAY; k++)
			v->site.overlay[v->site.noverlay++] = d->overlay[k];
		memcpy(v->prefixes, d->prefixes, d->nprefixes * sizeof(d->prefixes[0]));
		v->site.prefixes = v->prefixes;
		v->site.nprefixes = d->nprefixes;
		memcpy(v->vnis, d->vnis, d->nvnis * sizeof(d->vnis[0]));
		v->site.vnis = v->vnis;
		v->site.nvnis = d->nvnis;
		v->site.state = mesh_state_of(mi.state);
		v->site.died_at = mi.changed_at;
		v->site.behind_nat = d->nendpoints == 0;
		if ((mi.state == GOSSIP_DEAD || mi.state == GOSSIP_LEFT) &&
		    mi.changed_at + hold > now &&
		    (s->hold_expiry == 0 || mi.changed_at + hold < s->hold_expiry))
			s->hold_expiry = mi.changed_at + hold;
		n++;
	}
	return n;
}

static json_t *
site_event(const char *type)
{
	return json_pack("{s:s, s:o}", "type", type, "time", ctl_time_json(time(NULL)));
}

static void
site_publish(struct site *s, json_t *event)
{
	if (event != NULL)
		ctl_server_publish(s->ctl, event);
	json_decref(event);
}

/* The route events' actions, by enum reconcile_route_action. */
static const char *const route_actions[] = {
        [RECONCILE_ROUTE_ADDED] = "add",       [RECONCILE_ROUTE_REPLACED] = "replace",
        [RECONCILE_ROUTE_MOVED] = "move",      [RECONCILE_ROUTE_WITHDRAWN] = "withdraw",
        [RECONCILE_ROUTE_BLOCKED] = "blocked",
};

/* Route events: what the last run did to the tunnel routes. */
static void
site_publish_route_changes(struct site *s)
{
	size_t n;
	const struct reconcile_route_change *c = reconcile_route_changes(s->reconcile, &n);

	for (size_t i = 0; i < n; i++) {
		char prefix[ADDR_PREFIX_STRLEN], why[RECONCILE_REPORT_STRLEN];
		json_t *ev = site_event("route");

		json_object_set_new(ev, "action", json_string(route_actions[c[i].action]));
		json_object_set_new(ev, "prefix",
		                    json_string(addr_prefix_format(&c[i].dst, prefix)));
		if (c[i].via[0] != '\0')
			json_object_set_new(ev, "via", json_string(c[i].via));
		if (c[i].from[0] != '\0')
			json_object_set_new(ev, "from", json_string(c[i].from));
		if (c[i].report != NULL)
			json_object_set_new(ev, "reason",
			                    json_string(reconcile_report_format(c[i].report, false,
			                                                        why, sizeof(why))));
		site_publish(s, ev);
	}
}

/* The last run's reports (only its failures with failures_only), each with what it is about. */
static void
site_log_reports(struct reconcile *r, const char *context, bool failures_only)
{
	size_t n;
	const struct reconcile_report *rep = reconcile_reports(r, &n);

	for (size_t i = 0; i < n; i++) {
		char text[RECONCILE_REPORT_STRLEN];

		if (failures_only && rep[i].err == 0)
			continue;
		log_warnx("%s%s", context,
		          reconcile_report_format(&rep[i], true, text, sizeof(text)));
	}
}

static void site_arm_work(struct site *s, int64_t now);

/* Computes the desired state from the config and the view and makes the kernel hold it. */
static void
site_apply(struct site *s)
{
	int64_t now = site_now();
	size_t count = gossip_trust_count(s->trust);
	struct site_view *views = calloc(count ? count : 1, sizeof(*views));
	struct mesh_site *sites = calloc(count ? count : 1, sizeof(*sites));
	struct mesh_desired *next = NULL;
	struct reconcile_stats after;
	size_t n;
	int rc;

	if (views == NULL || sites == NULL)
		goto retry;
	n = site_view(s, views, now);
	for (size_t i = 0; i < n; i++)
		sites[i] = views[i].site;
	if (mesh_compute(s->conf, sites, n, &s->params, now, &next) < 0)
		goto retry;
	s->computes++;
	s->view_changed = false;
	mesh_desired_free(s->desired);
	s->desired = next;

	rc = reconcile_run(s->reconcile, s->desired, now);
	reconcile_get_stats(s->reconcile, &after);
	s->last_run = now;
	site_publish_route_changes(s);
	if (after.last_applied > 0 || after.last_failed > 0) {
		json_t *ev = site_event("reconcile");

		json_object_set_new(ev, "applied", json_integer((json_int_t)after.last_applied));
		json_object_set_new(ev, "failed", json_integer((json_int_t)after.last_failed));
		site_publish(s, ev);
		log_info("reconcile: %llu changes applied, %llu failed",
		         (unsigned long long)after.last_applied,
		         (unsigned long long)after.last_failed);
	}
	if (rc == -EAGAIN)
		site_log_reports(s->reconcile, "", true);
	free(views);
	free(sites);
	site_arm_work(s, now);
	return;
retry:
	log_warnx("out of memory computing the mesh; retrying");
	free(views);
	free(sites);
	s->view_changed = true;
	site_arm_work(s, now);
}

/* One timer serves every reason to run: a change to apply (debounced), failed operations
 * to retry, a dead site's hold ending, and the slow resync. */
static void
site_arm_work(struct site *s, int64_t now)
{
	int64_t at = s->last_run + SITE_RESYNC_PERIOD;
	int64_t retry = reconcile_retry_at(s->reconcile);
	double delay;

	if (s->view_changed || reconcile_dirty(s->reconcile))
		at = now + (int64_t)(SITE_DEBOUNCE * MESH_USEC);
	if (retry > 0 && retry < at)
		at = retry;
	if (s->hold_expiry > 0 && s->hold_expiry < at)
		at = s->hold_expiry;
	delay = at > now ? (double)(at - now) / MESH_USEC : 0;
	/* An earlier deadline wins; a pending debounce is not pushed back by more events. */
	if (ev_is_active(&s->work_timer) && ev_timer_remaining(s->loop, &s->work_timer) <= delay)
		return;
	ev_timer_stop(s->loop, &s->work_timer);
	ev_timer_set(&s->work_timer, delay, 0);
	ev_timer_start(s->loop, &s->work_timer);
}

static void
site_on_work(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	site_apply(w->data);
}

/* --- gossip I/O --- */

static void
site_gossip_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	struct site *s = arg;
	struct sockaddr_storage ss = {0};
	socklen_t sl;

	if (s->fd_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if (to->addr.family != AF_INET)
			return; /* an IPv4 socket cannot reach it */
		sin->sin_family = AF_INET;
		sin->sin_addr = to->addr.u.v4;
		sin->sin_port = htons(to->port);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		if (to->addr.family == AF_INET) {
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&sin6->sin6_addr.s6_addr[12], &to->addr.u.v4, 4);
		} else {
			sin6->sin6_addr = to->addr.u.v6;
		}
		sin6->sin6_port = htons(to->port);
		sl = sizeof(*sin6);
	}
	/* Datagrams are best effort: a full buffer or an unreachable network is a loss the
	 * protocol already survives. */
	if (sendto(s->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0)
		log_debug("gossip: sendto: %s", strerror(errno));
}

static void
site_gossip_event(void *arg, const struct gossip_event *gev)
{
	struct site *s = arg;
	json_t *ev = site_event("member");

	json_object_set_new(ev, "site", json_string(gev->name));
	json_object_set_new(ev, "event", json_string(gossip_event_name(gev->type)));
	json_object_set_new(ev, "incarnation", json_integer(gev->incarnation));
	if (gev->type == GOSSIP_EV_SUSPECT)
		json_object_set_new(ev, "local", json_boolean(gev->local));
	if (gev->type == GOSSIP_EV_REFUSED) {
		json_object_set_new(ev, "reason", json_string(gossip_refusal_name(gev->refusal)));
		json_object_set_new(ev, "text", json_string(gev->why));
	}
	site_publish(s, ev);
	if (gev->type == GOSSIP_EV_SUSPECT)
		log_info("gossip: site %s is suspect (incarnation %u)", gev->name,
		         gev->incarnation);
	else if (gev->type == GOSSIP_EV_REFUSED)
		log_warnx("gossip: site %s: descriptor of incarnation %u refused, only what its "
		          "trust entry grants is used: %s",
		          gev->name, gev->incarnation, gev->why);
	else
		log_info("gossip: site %s: %s (incarnation %u)", gev->name,
		         gossip_event_name(gev->type), gev->incarnation);
	s->view_changed = true;
	site_schedule_save(s);
}

/* After every call into gossip: apply what moved, persist a new own incarnation before it
 * can matter, and wake up for gossip's next deadline. */
static void
site_after_gossip(struct site *s)
{
	int64_t now = site_now();
	gossip_time next = gossip_next_deadline(s->gossip);

	if (gossip_self(s->gossip)->incarnation != s->saved_incarnation)
		site_save(s);
	if (s->view_changed)
		site_arm_work(s, now);
	ev_timer_stop(s->loop, &s->gossip_timer);
	ev_timer_set(&s->gossip_timer, next > now ? (double)(next - now) / MESH_USEC : 0, 0);
	ev_timer_start(s->loop, &s->gossip_timer);
}

static void
site_on_gossip_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct site *s = w->data;

	(void)loop;
	(void)revents;
	gossip_tick(s->gossip, site_now());
	site_after_gossip(s);
}

static void
site_on_udp(struct ev_loop *loop, ev_io *w, int revents)
{
	struct site *s = w->data;
	uint8_t buf[WIRE_DATAGRAM_MAX + 1];

	(void)loop;
	(void)revents;
	for (int i = 0; i < SITE_RX_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct addr_endpoint from = {0};
		ssize_t n = recvfrom(s->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
		                     (struct sockaddr *)&ss, &sl);

		if (n < 0)
			break;
		if ((size_t)n > WIRE_DATAGRAM_MAX) {
			s->rx_oversize++;
			continue;
		}
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

			from.addr.family = AF_INET;
			from.addr.u.v4 = sin->sin_addr;
			from.port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

			if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
				from.addr.family = AF_INET;
				memcpy(&from.addr.u.v4, &sin6->sin6_addr.s6_addr[12], 4);
			} else {
				from.addr.family = AF_INET6;
				from.addr.u.v6 = sin6->sin6_addr;
			}
			from.port = ntohs(sin6->sin6_port);
		} else {
			continue;
		}
		gossip_receive(s->gossip, site_now(), &from, buf, (size_t)n);
	}
	site_after_gossip(s);
}

static int
site_open_socket(const struct conf *conf, int *family)
{
	const struct addr_endpoint *b = &conf->gossip.bind;
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	char text[ADDR_ENDPOINT_STRLEN];
	int fd, one = 1, zero = 0;

	addr_endpoint_format(b, text);
	fd = socket(b->addr.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("gossip: socket for %s", text);
		return -1;
	}
	if (b->addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = b->addr.u.v4;
		sin->sin_port = htons(b->port);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		/* A wildcard IPv6 socket serves IPv4 sites too, whatever the sysctl says. */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = b->addr.u.v6;
		sin6->sin6_port = htons(b->port);
		sl = sizeof(*sin6);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		log_err("gossip: cannot bind %s", text);
		close(fd);
		return -1;
	}
	*family = b->addr.family;
	return fd;
}

/* A gossip instance for s->conf in a new random session, carrying over the remembered
 * members. */
static struct gossip *
site_start_gossip(struct site *s, uint32_t incarnation, const struct wire_desc *members,
                  size_t nmembers)
{
	struct gossip_config cfg = {0};
	struct wire_desc desc;
	struct gossip *g;
	uint64_t rng, session = 0;
	char err[256];

	/* Nothing stored decides it, so neither a lost state file nor a cloned machine nor a
	 * clock set back makes two runs share a session, and with it a (key, nonce) pair. */
	while (session == 0)
		randombytes_buf(&session, sizeof(session));
	site_build_desc(s->conf, &desc);
	randombytes_buf(&rng, sizeof(rng));
	cfg.name = s->conf->site_name;
	cfg.private_key = s->conf->wg.private_key;
	cfg.session = session;
	cfg.incarnation = incarnation;
	cfg.desc = &desc;
	cfg.profile = s->conf->gossip.timing;
	cfg.trust = s->trust;
	cfg.seeds = s->conf->gossip.seeds;
	cfg.nseeds = s->conf->gossip.nseeds;
	cfg.rng_seed = rng;
	cfg.cb.send = site_gossip_send;
	cfg.cb.event = site_gossip_event;
	cfg.cb.arg = s;
	g = gossip_new(&cfg, err, sizeof(err));
	if (g == NULL) {
		log_errx("gossip: %s", err);
		return NULL;
	}
	s->saved_incarnation = incarnation;
	s->session = session;
	site_adopt_members(g, members, nmembers, site_now());
	gossip_start(g, site_now());
	log_info("gossip: site %s, session %016" PRIx64 ", incarnation %u, %zu trusted sites, "
	         "%zu seeds",
	         s->conf->site_name, session, incarnation, gossip_trust_count(s->trust),
	         s->conf->gossip.nseeds);
	return g;
}

static void
site_on_monitor_event(const struct kh_event *ev, void *arg)
{
	struct site *s = arg;

	reconcile_note_event(s->reconcile, ev);
}

static void
site_on_monitor(struct ev_loop *loop, ev_io *w, int revents)
{
	struct site *s = w->data;

	(void)loop;
	(void)revents;
	if (kh_monitor_read(s->monitor, site_on_monitor_event, s) < 0)
		log_warnx("netlink monitor: read failed; the slow resync still runs");
	if (reconcile_dirty(s->reconcile))
		site_arm_work(s, site_now());
}

/* The MTU of the interface carrying the address other sites reach this one at; the mesh's
 * default when it cannot be told. */
static uint32_t
site_underlay_mtu(const struct conf *conf)
{
	struct addr_endpoint pub;
	struct kh_ifaddr *addrs = NULL;
	size_t n = 0;
	uint32_t mtu = MESH_DEFAULT_UNDERLAY_MTU;
	int family;

	if (!site_public_address(conf, &pub))
		return mtu;
	family = pub.addr.family;
	if (kh_ifaddr_list(0, family, &addrs, &n) < 0)
		return mtu;
	for (size_t i = 0; i < n; i++) {
		struct kh_link link;

		if (memcmp(addrs[i].prefix.addr.u.bytes, pub.addr.u.bytes, addr_len(family)) != 0)
			continue;
		if (kh_link_get_index(addrs[i].ifindex, &link) == 0 && link.mtu >= 1280)
			mtu = link.mtu;
		break;
	}
	free(addrs);
	return mtu;
}

static void
site_set_params(struct site *s)
{
	mesh_params_init(&s->params);
	s->params.underlay_mtu = site_underlay_mtu(s->conf);
	s->params.dead_hold = (int64_t)s->conf->gossip.dead_hold * MESH_USEC;
	s->params.behind_nat = s->conf->wg.behind_nat;
}

/* Re-reads the device the replies show. The read is bounded like every WireGuard call on
 * the loop (wg_set_wait_ms). One the loop stopped waiting for goes on in the background and
 * is collected a moment later, the last figures shown meanwhile; any other failure shows
 * none. */
static void
site_refresh_wg(struct site *s)
{
	struct wg_device *dev = NULL;
	bool collect = false;
	int rc;

	if (s->desired == NULL)
		return;
	rc = wg_get_device(s->desired->wg.name, &dev);
	if (rc != -ETIMEDOUT) {
		wg_free_device(s->wg_dev);
		s->wg_dev = rc == 0 ? dev : NULL;
	}
	if (rc < 0 && rc != -ENODEV) {
		s->wg_read_failures++;
		log_debug("wireguard %s: cannot read it for status: %s", s->desired->wg.name,
		          wg_last_error());
		/* Once, not in a loop: a stopped process is asked again at the usual pace. */
		collect = rc == -ETIMEDOUT && !s->wg_collecting;
	}
	s->wg_collecting = collect;
	ev_timer_stop(s->loop, &s->wg_timer);
	ev_timer_set(&s->wg_timer, collect ? SITE_WG_COLLECT : SITE_WG_REFRESH, SITE_WG_REFRESH);
	ev_timer_start(s->loop, &s->wg_timer);
}

static void
site_on_wg_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	site_refresh_wg(w->data);
}

/* A WireGuard call the loop stopped waiting for has finished. A retry that waits on it
 * runs now rather than at its backoff, which after a long stall is many seconds away: a
 * peer added then has its routes at once, not a backoff later. A status read collects. */
static void
site_on_wg_background(struct ev_loop *loop, ev_io *w, int revents)
{
	struct site *s = w->data;

	(void)revents;
	wg_background_clear();
	if (reconcile_retry_at(s->reconcile) > 0) {
		ev_timer_stop(loop, &s->work_timer);
		ev_timer_set(&s->work_timer, 0, 0);
		ev_timer_start(loop, &s->work_timer);
	}
	if (s->wg_collecting)
		site_refresh_wg(s);
}

/* The device as last read, if it is still the one the desired state names. */
static const struct wg_device *
site_device(const struct site *s)
{
	if (s->desired == NULL || s->wg_dev == NULL ||
	    strcmp(s->wg_dev->name, s->desired->wg.name) != 0)
		return NULL;
	return s->wg_dev;
}

int
site_new(struct ev_loop *loop, const struct conf *conf, struct ctl_server *ctl, struct site **out)
{
	struct site *s = calloc(1, sizeof(*s));
	struct state st = {0};
	char err[256];
	int rc;

	if (s == NULL) {
		log_errx("out of memory");
		return -1;
	}
	s->loop = loop;
	s->conf = conf;
	s->ctl = ctl;
	s->fd = -1;
	s->state_lock = -1;
	ev_timer_init(&s->gossip_timer, site_on_gossip_timer, 0, 0);
	ev_timer_init(&s->work_timer, site_on_work, 0, 0);
	ev_timer_init(&s->save_timer, site_on_save, 0, 0);
	ev_timer_init(&s->wg_timer, site_on_wg_timer, 0, SITE_WG_REFRESH);
	ev_init(&s->wg_background, site_on_wg_background);
	s->gossip_timer.data = s->work_timer.data = s->save_timer.data = s->wg_timer.data = s;
	s->wg_background.data = s;

	s->state_lock = state_lock(conf->gossip.state_file, err, sizeof(err));
	if (s->state_lock < 0) {
		log_errx("gossip: %s", err);
		goto fail;
	}
	rc = state_load(conf->gossip.state_file, &st, err, sizeof(err));
	if (rc < 0) {
		/* A corrupt file costs the remembered view, not the start. */
		log_warnx("gossip: ignoring the state file: %s", err);
		st = (struct state){0};
	}
	s->trust = site_build_trust(conf);
	if (s->trust == NULL) {
		log_errx("out of memory building the trust table");
		goto fail;
	}
	s->gossip = site_start_gossip(s, gossip_next_incarnation(st.incarnation), st.members,
	                              st.nmembers);
	state_clear(&st);
	if (s->gossip == NULL)
		goto fail;
	s->fd = site_open_socket(conf, &s->fd_family);
	if (s->fd < 0)
		goto fail;
	ev_io_init(&s->udp_watcher, site_on_udp, s->fd, EV_READ);
	s->udp_watcher.data = s;
	ev_io_start(loop, &s->udp_watcher);

	rc = kh_monitor_open(KH_MONITOR_RCVBUF, &s->monitor);
	if (rc < 0) {
		log_errx("netlink monitor: %s", strerror(-rc));
		goto fail;
	}
	ev_io_init(&s->monitor_watcher, site_on_monitor, kh_monitor_fd(s->monitor), EV_READ);
	s->monitor_watcher.data = s;
	ev_io_start(loop, &s->monitor_watcher);

	if (reconcile_new(&s->reconcile) < 0) {
		log_errx("out of memory");
		goto fail;
	}
	/* Without it, the retry and refresh timers still get there. */
	rc = wg_background_fd();
	if (rc >= 0) {
		ev_io_set(&s->wg_background, rc, EV_READ);
		ev_io_start(loop, &s->wg_background);
	} else {
		log_warnx("wireguard: no eventfd (%s): work finished in the background is picked "
		          "up by the retry timers only",
		          strerror(errno));
	}
	site_set_params(s);
	if (!conf->gossip.has_advertise && addr_is_wildcard(&conf->gossip.bind.addr))
		log_warnx("gossip.bind is a wildcard and gossip.advertise is not set: other sites "
		          "learn no address for this one and rely on it reaching them");
	site_save(s);
	site_after_gossip(s);
	/* The first run adopts whatever an earlier netd left, from the remembered view. */
	site_apply(s);
	site_refresh_wg(s);
	*out = s;
	return 0;
fail:
	state_clear(&st);
	site_free(s);
	return -1;
}

/* What needs a new gossip instance: identity, trust, timing, seeds. The descriptor alone
 * goes out as a new version. */
static bool
gossip_settings_equal(const struct conf *a, const struct conf *b)
{
	if (strcmp(a->site_name, b->site_name) != 0 ||
	    memcmp(a->wg.private_key, b->wg.private_key, KEY_LEN) != 0 ||
	    memcmp(&a->gossip.timing, &b->gossip.timing, sizeof(a->gossip.timing)) != 0 ||
	    a->gossip.nseeds != b->gossip.nseeds || a->ntrust != b->ntrust ||
	    strcmp(a->gossip.state_file, b->gossip.state_file) != 0)
		return false;
	for (size_t i = 0; i < a->gossip.nseeds; i++)
		if (!addr_endpoint_equal(&a->gossip.seeds[i], &b->gossip.seeds[i]))
			return false;
	for (size_t i = 0; i < a->ntrust; i++) {
		const struct conf_trust *x = &a->trust[i], *y = &b->trust[i];

		if (strcmp(x->name, y->name) != 0 ||
		    memcmp(x->public_key, y->public_key, KEY_LEN) || x->nprefixes != y->nprefixes ||
		    x->nvnis != y->nvnis ||
		    memcmp(x->vnis, y->vnis, x->nvnis * sizeof(*x->vnis)) != 0)
			return false;
		for (size_t k = 0; k < x->nprefixes; k++)
			if (!addr_prefix_equal(&x->prefixes[k], &y->prefixes[k]))
				return false;
	}
	return true;
}

/* The verified descriptors of the live members, to carry into a new gossip instance. */
static struct wire_desc *
site_live_members(struct site *s, size_t *n)
{
	size_t count = gossip_trust_count(s->trust);
	struct wire_desc *out = calloc(count ? count : 1, sizeof(*out));

	*n = 0;
	for (size_t i = 0; out != NULL && i < count; i++) {
		struct gossip_member_info mi;

		if (gossip_member(s->gossip, i, &mi) == 0 && mi.desc != NULL &&
		    (mi.state == GOSSIP_ALIVE || mi.state == GOSSIP_SUSPECT))
			out[(*n)++] = *mi.desc;
	}
	return out;
}

int
site_reconfigure(struct site *s, const struct conf *conf)
{
	const struct conf *old = s->conf;
	bool rebind = !addr_endpoint_equal(&old->gossip.bind, &conf->gossip.bind);
	struct wire_desc desc;

	if (rebind) {
		int family, fd = site_open_socket(conf, &family);

		if (fd < 0) {
			log_warnx("gossip stays on its current socket");
			rebind = false;
		} else {
			ev_io_stop(s->loop, &s->udp_watcher);
			close(s->fd);
			s->fd = fd;
			s->fd_family = family;
			ev_io_set(&s->udp_watcher, fd, EV_READ);
			ev_io_start(s->loop, &s->udp_watcher);
		}
	}
	s->conf = conf;
	if (!gossip_settings_equal(old, conf)) {
		struct gossip_trust *trust = site_build_trust(conf), *old_trust = s->trust;
		struct gossip *g, *old_gossip = s->gossip;
		size_t n;
		struct wire_desc *members = site_live_members(s, &n);

		if (trust == NULL || members == NULL) {
			log_warnx(
			        "out of memory: the gossip settings take effect at the next start");
			gossip_trust_free(trust);
			free(members);
			s->conf = old;
			return -1;
		}
		s->trust = trust;
		g = site_start_gossip(s,
		                      gossip_next_incarnation(gossip_self(old_gossip)->incarnation),
		                      members, n);
		free(members);
		if (g == NULL) {
			s->trust = old_trust;
			gossip_trust_free(trust);
			s->conf = old;
			return -1;
		}
		s->gossip = g;
		gossip_free(old_gossip);
		gossip_trust_free(old_trust);
	} else {
		site_build_desc(conf, &desc);
		if (gossip_update(s->gossip, site_now(), &desc) < 0)
			log_warnx("gossip: the new descriptor was refused");
	}
	site_set_params(s);
	s->view_changed = true;
	site_after_gossip(s);
	site_save(s);
	site_apply(s);
	return 0;
}

double
site_leave(struct site *s)
{
	const struct gossip_profile *p = &s->conf->gossip.timing;
	double drain = 3.0 * p->gossip_interval_ms / 1000.0;

	s->leaving = true;
	gossip_leave(s->gossip, site_now());
	site_after_gossip(s);
	return drain < 2.0 ? drain : 2.0;
}

int
site_teardown(struct site *s)
{
	int rc;

	ev_timer_stop(s->loop, &s->work_timer);
	ev_io_stop(s->loop, &s->monitor_watcher);
	rc = reconcile_teardown(s->reconcile, s->desired);
	if (rc < 0) {
		site_log_reports(s->reconcile, "teardown: ", false);
		return -1;
	}
	log_info("teardown: everything netd owned is removed");
	return 0;
}

void
site_free(struct site *s)
{
	if (s == NULL)
		return;
	if (s->gossip != NULL)
		site_save(s);
	ev_timer_stop(s->loop, &s->gossip_timer);
	ev_timer_stop(s->loop, &s->work_timer);
	ev_timer_stop(s->loop, &s->save_timer);
	ev_timer_stop(s->loop, &s->wg_timer);
	ev_io_stop(s->loop, &s->wg_background);
	wg_free_device(s->wg_dev);
	if (s->fd >= 0) {
		ev_io_stop(s->loop, &s->udp_watcher);
		close(s->fd);
	}
	if (s->monitor != NULL) {
		ev_io_stop(s->loop, &s->monitor_watcher);
		kh_monitor_close(s->monitor);
	}
	reconcile_free(s->reconcile);
	mesh_desired_free(s->desired);
	gossip_free(s->gossip);
	gossip_trust_free(s->trust);
	if (s->state_lock >= 0)
		close(s->state_lock);
	free(s);
}

int
site_teardown_offline(const struct conf *conf)
{
	struct mesh_desired *desired = NULL;
	struct mesh_params params;
	struct reconcile *r = NULL;
	int rc = -1;

	mesh_params_init(&params);
	if (mesh_compute(conf, NULL, 0, &params, 0, &desired) < 0 || reconcile_new(&r) < 0) {
		log_errx("out of memory");
		goto out;
	}
	if (reconcile_teardown(r, desired) < 0) {
		site_log_reports(r, "teardown: ", false);
		goto out;
	}
	rc = 0;
out:
	reconcile_free(r);
	mesh_desired_free(desired);
	return rc;
}

/* --- the status socket --- */

static const char *
member_state(struct site *s, const char *name, uint32_t *incarnation)
{
	int idx = gossip_trust_find(s->trust, name);
	struct gossip_member_info mi;

	if (idx < 0 || gossip_member(s->gossip, (size_t)idx, &mi) < 0)
		return "unknown";
	*incarnation = mi.incarnation;
	return gossip_state_name(mi.state);
}

static const struct mesh_peer *
desired_peer(const struct mesh_desired *d, const char *name)
{
	for (size_t i = 0; d != NULL && i < d->npeers; i++)
		if (strcmp(d->peers[i].site, name) == 0)
			return &d->peers[i];
	return NULL;
}

static const struct wg_peer *
device_peer(const struct wg_device *dev, const uint8_t key[KEY_LEN])
{
	for (size_t i = 0; dev != NULL && i < dev->npeers; i++)
		if (memcmp(dev->peers[i].public_key, key, KEY_LEN) == 0)
			return &dev->peers[i];
	return NULL;
}

static json_t *
sockaddr_json(const union wg_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];

	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->sin.sin_addr, addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "%s:%u", addr, ntohs(ep->sin.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->sin6.sin6_addr, addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "[%s]:%u", addr, ntohs(ep->sin6.sin6_port));
	} else {
		return json_null();
	}
	return json_string(buf);
}

/* What of a member's newest descriptor its trust entry refused, or null. */
static json_t *
peer_refusal_json(const struct gossip_member_info *mi)
{
	if (mi->desc == NULL || mi->refusal == GOSSIP_REFUSAL_NONE)
		return json_null();
	return json_pack("{s:I, s:s, s:s}", "incarnation", (json_int_t)mi->desc->incarnation,
	                 "reason", gossip_refusal_name(mi->refusal), "text", mi->why);
}

json_t *
site_peers_json(struct site *s)
{
	json_t *peers = json_array();
	/* The counters as last read; without the device the peers are listed all the same. */
	const struct wg_device *dev = site_device(s);
	for (size_t i = 0; i < s->conf->ntrust; i++) {
		const struct conf_trust *t = &s->conf->trust[i];
		const struct mesh_peer *mp = desired_peer(s->desired, t->name);
		const struct wg_peer *wp = device_peer(dev, t->public_key);
		int idx = gossip_trust_find(s->trust, t->name);
		struct gossip_member_info mi = {0};
		uint32_t incarnation = 0;
		const char *state;
		json_t *prefixes = json_array(), *segments = json_array(), *p;
		char buf[ADDR_PREFIX_STRLEN];

		/* What the data plane uses: the granted part of what the site says. */
		if (idx >= 0 && gossip_member(s->gossip, (size_t)idx, &mi) == 0 &&
		    mi.desc != NULL) {
			for (size_t k = 0; k < mi.granted->nprefixes; k++)
				json_array_append_new(prefixes,
				                      json_string(addr_prefix_format(
				                              &mi.granted->prefixes[k], buf)));
			for (size_t k = 0; k < mi.granted->nvnis; k++)
				json_array_append_new(segments, json_integer(mi.granted->vnis[k]));
		}
		/* Before json_pack: the order its arguments are evaluated in is unspecified. */
		state = member_state(s, t->name, &incarnation);
		p = json_pack("{s:s, s:s, s:I, s:b, s:o, s:o}", "name", t->name, "state", state,
		              "incarnation", (json_int_t)incarnation, "tunnel", mp != NULL,
		              "prefixes", prefixes, "segments", segments);
		json_object_set_new(p, "refused", peer_refusal_json(&mi));
		if (wp != NULL) {
			json_object_set_new(p, "endpoint", sockaddr_json(&wp->endpoint));
			json_object_set_new(p, "last_handshake",
			                    ctl_time_json(wp->last_handshake.tv_sec));
			json_object_set_new(p, "rx_bytes", json_integer((json_int_t)wp->rx_bytes));
			json_object_set_new(p, "tx_bytes", json_integer((json_int_t)wp->tx_bytes));
		} else {
			json_object_set_new(p, "endpoint", json_null());
			json_object_set_new(p, "last_handshake", json_null());
			json_object_set_new(p, "rx_bytes", json_integer(0));
			json_object_set_new(p, "tx_bytes", json_integer(0));
		}
		json_array_append_new(peers, p);
	}
	return json_pack("{s:o}", "peers", peers);
}

json_t *
site_segments_json(struct site *s)
{
	json_t *segs = json_array();

	for (size_t i = 0; s->desired != NULL && i < s->desired->nsegments; i++) {
		const struct mesh_segment *seg = &s->desired->segments[i];
		json_t *members = json_array(), *vteps = json_array();
		char buf[ADDR_PREFIX_STRLEN];

		/* Parallel lists: the member sites and the VTEP address each is reached at. */
		for (size_t k = 0; k < seg->nvteps; k++) {
			json_array_append_new(members, json_string(seg->vteps[k].site));
			json_array_append_new(vteps,
			                      json_string(addr_format(&seg->vteps[k].addr, buf)));
		}
		json_array_append_new(segs, json_pack("{s:s, s:I, s:s, s:s, s:I, s:o, s:o}", "name",
		                                      seg->name, "vni", (json_int_t)seg->vni,
		                                      "vxlan", seg->vxlan, "bridge", seg->bridge,
		                                      "mtu", (json_int_t)seg->mtu, "members",
		                                      members, "vteps", vteps));
	}
	return json_pack("{s:o}", "segments", segs);
}

/* Why a desired route is not in the kernel, from the last run's reports, in buf; NULL:
 * installed. */
static const char *
route_problem(struct site *s, const struct mesh_route *r, char *buf, size_t len)
{
	const struct mesh_desired *d = s->desired;
	size_t n;
	const struct reconcile_report *rep = reconcile_reports(s->reconcile, &n);

	for (size_t i = 0; i < n; i++) {
		const struct reconcile_object *o = &rep[i].object;

		if (o->type == RECONCILE_OBJECT_ROUTE && o->table == d->table &&
		    o->metric == d->metric && addr_prefix_equal(&o->dst, &r->dst))
			return reconcile_report_format(&rep[i], false, buf, len);
	}
	return NULL;
}

static json_t *
route_json(const char *prefix, const char *type, const char *via, const char *dev, uint32_t metric,
           const char *why)
{
	return json_pack("{s:s, s:s, s:s?, s:s?, s:I, s:b, s:s?}", "prefix", prefix, "type", type,
	                 "via", via, "dev", dev, "metric", (json_int_t)metric, "installed",
	                 why == NULL, "reason", why);
}

/* The tunnel routes and the fail-closed ones as the last run left them, merged by prefix
 * (a tunnel route before the fence of the same prefix, as the metrics go). */
json_t *
site_routes_json(struct site *s)
{
	json_t *routes = json_array(), *problems = json_array();
	const struct mesh_desired *d = s->desired;
	size_t nfences = 0, i = 0, k = 0;
	const struct reconcile_fence *fences = reconcile_fences(s->reconcile, &nfences);
	char buf[ADDR_PREFIX_STRLEN], why[RECONCILE_REPORT_STRLEN];

	if (d == NULL)
		nfences = 0;
	while (d != NULL && (i < d->nroutes || k < nfences)) {
		if (k == nfences ||
		    (i < d->nroutes && addr_prefix_cmp(&d->routes[i].dst, &fences[k].dst) <= 0)) {
			const struct mesh_route *r = &d->routes[i++];

			json_array_append_new(
			        routes, route_json(addr_prefix_format(&r->dst, buf), "unicast",
			                           d->peers[r->peer].site, d->wg.name, d->metric,
			                           route_problem(s, r, why, sizeof(why))));
		} else {
			const struct reconcile_fence *f = &fences[k++];

			json_array_append_new(
			        routes, route_json(addr_prefix_format(&f->dst, buf), "unreachable",
			                           NULL, NULL, d->failclosed_metric,
			                           reconcile_fence_reason(f, why, sizeof(why))));
		}
	}
	for (size_t j = 0; d != NULL && j < d->nreports; j++)
		json_array_append_new(problems,
		                      json_pack("{s:s, s:s, s:s}", "kind",
		                                mesh_report_kind_name(d->reports[j].kind), "site",
		                                d->reports[j].site, "text", d->reports[j].text));
	return json_pack("{s:o, s:I, s:I, s:o}", "routes", routes, "table",
	                 (json_int_t)s->conf->routing.table, "protocol",
	                 (json_int_t)s->conf->routing.protocol, "problems", problems);
}

/* Trusted sites by membership state, indexed by enum gossip_state. */
static void
member_counts(struct site *s, size_t counts[GOSSIP_LEFT + 1])
{
	memset(counts, 0, (GOSSIP_LEFT + 1) * sizeof(counts[0]));
	for (size_t i = 0; i < gossip_trust_count(s->trust); i++) {
		struct gossip_member_info mi;

		if (gossip_member(s->gossip, i, &mi) == 0 && mi.state <= GOSSIP_LEFT)
			counts[mi.state]++;
	}
}

static uint64_t
ops_total(const uint64_t ops[RECONCILE_OP_COUNT])
{
	uint64_t sum = 0;

	for (size_t i = 0; i < RECONCILE_OP_COUNT; i++)
		sum += ops[i];
	return sum;
}

json_t *
site_status_json(struct site *s)
{
	struct reconcile_stats rs;
	const struct gossip_counters *gc = gossip_counters(s->gossip);
	char bind[ADDR_ENDPOINT_STRLEN], session[17];
	size_t counts[GOSSIP_LEFT + 1];

	member_counts(s, counts);
	snprintf(session, sizeof(session), "%016" PRIx64, s->session);
	reconcile_get_stats(s->reconcile, &rs);
	addr_endpoint_format(&s->conf->gossip.bind, bind);
	return json_pack(
	        "{s:{s:s, s:s, s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:I},"
	        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}, s:{s:I, s:I, s:I}}",
	        "gossip", "bind", bind, "profile",
	        conf_gossip_profile_name(s->conf->gossip.profile), "session", session,
	        "incarnation", (json_int_t)gossip_self(s->gossip)->incarnation, "awareness",
	        (json_int_t)gossip_awareness(s->gossip), "members", "alive",
	        (json_int_t)counts[GOSSIP_ALIVE], "suspect", (json_int_t)counts[GOSSIP_SUSPECT],
	        "dead", (json_int_t)counts[GOSSIP_DEAD], "left", (json_int_t)counts[GOSSIP_LEFT],
	        "rx_datagrams", (json_int_t)gc->rx_datagrams, "tx_datagrams",
	        (json_int_t)gc->tx_datagrams, "pending_broadcasts",
	        (json_int_t)gossip_pending_broadcasts(s->gossip), "reconcile", "runs",
	        (json_int_t)rs.runs, "failed_runs", (json_int_t)rs.failed_runs, "applied",
	        (json_int_t)ops_total(rs.applied), "failed", (json_int_t)ops_total(rs.failed),
	        "last_applied", (json_int_t)rs.last_applied, "events", (json_int_t)rs.events,
	        "resyncs", (json_int_t)rs.resyncs, "dirty", reconcile_dirty(s->reconcile), "counts",
	        "peers", (json_int_t)(s->desired ? s->desired->npeers : 0), "routes",
	        (json_int_t)(s->desired ? s->desired->nroutes : 0), "segments",
	        (json_int_t)(s->desired ? s->desired->nsegments : 0));
}

static double
peer_rx(const struct wg_peer *p)
{
	return (double)p->rx_bytes;
}

static double
peer_tx(const struct wg_peer *p)
{
	return (double)p->tx_bytes;
}

static double
peer_handshake(const struct wg_peer *p)
{
	return (double)p->last_handshake.tv_sec;
}

/* Per-peer series, from the WireGuard device's own counters. */
static const struct {
	const char *name, *type, *help;
	double (*value)(const struct wg_peer *p);
} peer_families[] = {
        {"netd_peer_received_bytes_total", "counter",
         "Bytes received from each peer site through its tunnel.", peer_rx},
        {"netd_peer_sent_bytes_total", "counter",
         "Bytes sent to each peer site through its tunnel.", peer_tx},
        {"netd_peer_last_handshake_seconds", "gauge",
         "Time of the last WireGuard handshake with each peer site (0: none).", peer_handshake},
};

void
site_metrics(struct site *s, struct metrics *m)
{
	const struct gossip_counters *gc = gossip_counters(s->gossip);
	struct reconcile_stats rs;
	const struct wg_device *dev = site_device(s);
	size_t counts[GOSSIP_LEFT + 1];
	const struct {
		const char *reason;
		uint64_t value;
	} drops[] = {
	        {"malformed", gc->drop_malformed}, {"unknown", gc->drop_unknown},
	        {"forged", gc->drop_forged},       {"replayed", gc->drop_replayed},
	        {"self", gc->drop_self},           {"refused", gc->drop_refused},
	        {"rate", gc->drop_rate},           {"cookie", gc->drop_cookie},
	        {"oversize", s->rx_oversize},      {"stale", gc->drop_stale},
	};
	const struct {
		const char *name, *type, *help;
		uint64_t value;
	} single[] = {
	        {"netd_gossip_received_datagrams_total", "counter", "Gossip datagrams received.",
	         gc->rx_datagrams},
	        {"netd_gossip_received_bytes_total", "counter", "Gossip bytes received.",
	         gc->rx_bytes},
	        {"netd_gossip_sent_datagrams_total", "counter", "Gossip datagrams sent.",
	         gc->tx_datagrams},
	        {"netd_gossip_sent_bytes_total", "counter", "Gossip bytes sent.", gc->tx_bytes},
	        {"netd_gossip_probes_total", "counter", "Members probed.", gc->probes},
	        {"netd_gossip_probe_failures_total", "counter",
	         "Probes that got no acknowledgement, directly or indirectly.", gc->probe_failures},
	        {"netd_gossip_suspicions_total", "counter", "Suspicions this site raised.",
	         gc->suspicions},
	        {"netd_gossip_refutations_total", "counter",
	         "Suspicions of this site that it refuted.", gc->refutations},
	        {"netd_gossip_challenges_total", "counter",
	         "Freshness challenges sent to senders in sessions not confirmed yet.",
	         gc->challenges},
	        {"netd_gossip_incarnation", "gauge", "This site's incarnation.",
	         gossip_self(s->gossip)->incarnation},
	        {"netd_gossip_local_health", "gauge",
	         "Lifeguard's local health score: 0 is healthy.", gossip_awareness(s->gossip)},
	        {"netd_peers", "gauge", "WireGuard peers netd wants.",
	         s->desired ? s->desired->npeers : 0},
	        {"netd_routes", "gauge", "Routes to other sites' prefixes netd wants.",
	         s->desired ? s->desired->nroutes : 0},
	        {"netd_wireguard_read_failures_total", "counter",
	         "Reads of the WireGuard device for status that failed or timed out.",
	         s->wg_read_failures},
	};
	const char *state_names[] = {"alive", "suspect", "dead", "left"};
	const enum gossip_state states[] = {GOSSIP_ALIVE, GOSSIP_SUSPECT, GOSSIP_DEAD, GOSSIP_LEFT};

	member_counts(s, counts);
	metrics_family(m, "netd_members", "gauge", "Trusted sites by membership state.");
	for (size_t i = 0; i < 4; i++) {
		const char *labels[] = {"state", state_names[i], NULL};

		metrics_sample(m, "netd_members", labels, (double)counts[states[i]]);
	}
	metrics_family(m, "netd_gossip_dropped_total", "counter",
	               "Gossip datagrams dropped, by reason.");
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
		const char *labels[] = {"reason", drops[i].reason, NULL};

		metrics_sample(m, "netd_gossip_dropped_total", labels, (double)drops[i].value);
	}
	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		metrics_family(m, single[i].name, single[i].type, single[i].help);
		metrics_sample(m, single[i].name, NULL, (double)single[i].value);
	}
	metrics_family(m, "netd_peer_descriptor_refused", "gauge",
	               "1 while a trusted site's newest descriptor asks for more than its trust "
	               "entry grants (netdctl peers says what and why).");
	for (size_t i = 0; i < s->conf->ntrust; i++) {
		const char *name = s->conf->trust[i].name;
		int idx = gossip_trust_find(s->trust, name);
		struct gossip_member_info mi;
		bool refused = idx >= 0 && gossip_member(s->gossip, (size_t)idx, &mi) == 0 &&
		               mi.refusal != GOSSIP_REFUSAL_NONE;
		const char *labels[] = {"site", name, NULL};

		metrics_sample(m, "netd_peer_descriptor_refused", labels, refused ? 1 : 0);
	}
	reconcile_get_stats(s->reconcile, &rs);
	metrics_family(m, "netd_reconcile_runs_total", "counter", "Reconciler runs.");
	metrics_sample(m, "netd_reconcile_runs_total", NULL, (double)rs.runs);
	metrics_family(m, "netd_reconcile_changes_total", "counter",
	               "Changes the reconciler made to the kernel, by kind and result.");
	for (size_t i = 0; i < RECONCILE_OP_COUNT; i++) {
		const char *ok[] = {"op", reconcile_op_name(i), "result", "ok", NULL};
		const char *failed[] = {"op", reconcile_op_name(i), "result", "failed", NULL};

		metrics_sample(m, "netd_reconcile_changes_total", ok, (double)rs.applied[i]);
		metrics_sample(m, "netd_reconcile_changes_total", failed, (double)rs.failed[i]);
	}
	if (dev == NULL)
		return;
	for (size_t f = 0; f < sizeof(peer_families) / sizeof(peer_families[0]); f++) {
		metrics_family(m, peer_families[f].name, peer_families[f].type,
		               peer_families[f].help);
		for (size_t i = 0; i < s->desired->npeers; i++) {
			const struct wg_peer *wp =
			        device_peer(dev, s->desired->peers[i].public_key);
			const char *labels[] = {"site", s->desired->peers[i].site, NULL};

			metrics_sample(m, peer_families[f].name, labels,
			               wp ? peer_families[f].value(wp) : 0);
		}
	}
}
