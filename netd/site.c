/* The running site: its lifecycle, the scheduling of gossip, reconcile runs, state saves and
 * status reads on the event loop, and reloads. Gossip talks through the transport, the view
 * turns members into the mesh's desired state, and the reconciler applies it whenever the
 * view, the config or the kernel (netlink events) moves. */
#include "netd/site.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "kernel-helpers/monitor.h"
#include "kernel-helpers/nft.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/wg.h"
#include "netd/drift.h"
#include "netd/gossip.h"
#include "netd/key.h"
#include "netd/log.h"
#include "netd/mesh.h"
#include "netd/pmtud.h"
#include "netd/path.h"
#include "netd/reconcile.h"
#include "netd/seen.h"
#include "netd/state.h"
#include "netd/transport.h"
#include "netd/view.h"

/* A burst of netlink events or membership changes is applied in one run this long after it
 * starts: quick enough that a hand-deleted route is back well within a second. */
#define SITE_DEBOUNCE 0.1
/* The loop's time for gossip after a run, as a multiple of the run's wall time; and after a
 * run that left peers for the next (RECONCILE_PEER_ADDS) when no member came, went or changed
 * since: the next then only carries on with them, and gossip, with nothing streaming in,
 * needs less of the loop. */
#define SITE_RUN_ROOM       2
#define SITE_RUN_ROOM_QUIET 0.5
/* Changes nobody announces are found by a run at least this often. */
#define SITE_RESYNC_PERIOD (30 * MESH_USEC)
/* The WireGuard device is read off the request path, every second or more seldom on a
 * device whose read is slow (drift_pace_note): for the status socket's figures
 * (endpoints, handshakes, bytes), so a reply never waits on the kernel or a userspace
 * implementation, and to find drift, which WireGuard has no events for: a peer removed,
 * changed or added by hand is repaired within that plus the debounce. */
#define SITE_WG_REFRESH ((double)DRIFT_READ_PERIOD / MESH_USEC)
#define SITE_WG_COLLECT 0.25 /* after a read that goes on in the background */

struct site {
	struct ev_loop *loop;
	const struct conf *conf;
	struct ctl_server *ctl;

	struct gossip_trust *trust;
	struct gossip *gossip;
	uint64_t session;
	int state_lock; /* held for the life of the process */
	uint32_t saved_incarnation;
	struct transport *transport;
	ev_timer gossip_timer;

	struct kh_monitor *monitor;
	ev_io monitor_watcher;

	struct reconcile *reconcile;
	struct mesh_desired *desired;
	struct mesh_params params;
	ev_timer work_timer;
	/* The data plane was removed for good: no run may put any of it back, whatever moves
	 * while the leave spreads (a reload, a published document, gossip, a device read). */
	bool torn_down;
	bool view_changed; /* membership moved since the last compute */
	int64_t last_run;
	/* No run before this: the loop gets SITE_RUN_ROOM times as long as the last run took
	 * for gossip, so that a run costing O(view) at thousands of sites does not take most of
	 * the loop from a join streaming in, and the next run covers more of its arrivals. */
	int64_t run_not_before;
	int64_t run_quiet_not_before; /* the same for a view unchanged since the run */
	int64_t hold_expiry;          /* the next time a dead site's hold ends, 0: none */

	ev_timer save_timer; /* a membership change's save, state_save_delay after it */
	int64_t save_cost;   /* the last save's wall time */
	/* The federation's documents gossip held when last noted: an authority set or
	 * revocations other sites sent since are logged and saved, credentials taken (a
	 * renewal changes no membership when its grant stays the same) saved. */
	uint64_t fed_version;
	size_t fed_revocations;
	uint64_t fed_creds;

	/* As last read for the replies, its peers sorted by key; NULL: not read or unreadable. */
	struct seen_device *wg_seen;
	ev_timer wg_timer;
	bool wg_collecting;    /* the timer runs to collect a read that went on in the background */
	int64_t wg_read_start; /* when the read being made or collected began */
	double wg_pace;        /* seconds between reads, from the last ones' costs */
	struct drift_pace wg_costs;
	/* Reconcile runs when the oldest read still going on in the background began: an
	 * answer that may predate a run is not compared with what that run left. */
	uint64_t wg_stale_since;
	bool wg_stale;
	uint64_t wg_read_failures;
	ev_io wg_background; /* wg_background_fd: work the loop stopped waiting for is done */

	struct pmtud *pmtud; /* each peer's path MTU */
	/* The MSS clamps of netd's nftables tables as last made, and when: made again when
	 * they change and at the resync period, so a table deleted by hand comes back. */
	char *clamps;
	int64_t clamped_at;
	struct path_table *paths; /* direct or relayed, per remote site */
	uint64_t direct_failures; /* gossip's count when the paths were last looked at */

	/* Lines about one member or one path, which the federation's size multiplies: a gateway
	 * joining 10,000 sites would write two a site, more than systemd-journald keeps of a
	 * service (10,000 messages in 30 s by default), and the lines that matter would go
	 * with the rest. A budget for each kind; the events are published whole. */
	struct log_limit member_logs[GOSSIP_EV_DISOWNED + 1];
	struct log_limit path_mtu_moved_log, path_mtu_proven_log, path_switch_log;
	/* An operator's route can collide with a tunnel route or fence of every site at once
	 * (a /8 in main, a table shared by mistake): a line each, appearing and going. */
	struct log_limit overlap_log, overlap_gone_log;
};

/* Lines of one kind about single members or paths logged in each period; the rest counted,
 * and the count logged as the period ends. */
#define SITE_LOG_BURST  20
#define SITE_LOG_PERIOD 10.0

static void
site_init_logs(struct site *s)
{
	static const char *const member_what[] = {
	        [GOSSIP_EV_JOIN] = "gossip: sites joining",
	        [GOSSIP_EV_ALIVE] = "gossip: suspects refuting",
	        [GOSSIP_EV_SUSPECT] = "gossip: sites suspected",
	        [GOSSIP_EV_DEAD] = "gossip: sites declared dead",
	        [GOSSIP_EV_LEFT] = "gossip: sites leaving",
	        [GOSSIP_EV_UPDATE] = "gossip: descriptors updated",
	        [GOSSIP_EV_REFUSED] = "gossip: descriptors refused",
	        [GOSSIP_EV_REVOKED] = "gossip: credentials revoked",
	        [GOSSIP_EV_EXPIRED] = "gossip: credentials expired",
	        [GOSSIP_EV_DISOWNED] = "gossip: credentials short of signatures",
	};
	_Static_assert(sizeof(member_what) / sizeof(member_what[0]) ==
	                       sizeof(s->member_logs) / sizeof(s->member_logs[0]),
	               "a member event without a budget");

	for (size_t i = 0; i < sizeof(member_what) / sizeof(member_what[0]); i++)
		s->member_logs[i] = (struct log_limit)LOG_LIMIT_INIT(
		        member_what[i], i >= GOSSIP_EV_REFUSED ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO,
		        SITE_LOG_BURST, SITE_LOG_PERIOD);
	s->path_mtu_moved_log =
	        (struct log_limit)LOG_LIMIT_INIT("path MTU: paths whose routes move",
	                                         LOG_LEVEL_INFO, SITE_LOG_BURST, SITE_LOG_PERIOD);
	s->path_switch_log =
	        (struct log_limit)LOG_LIMIT_INIT("paths switched to or from a relay",
	                                         LOG_LEVEL_INFO, SITE_LOG_BURST, SITE_LOG_PERIOD);
	s->path_mtu_proven_log =
	        (struct log_limit)LOG_LIMIT_INIT("path MTU: paths found as assumed",
	                                         LOG_LEVEL_DEBUG, SITE_LOG_BURST, SITE_LOG_PERIOD);
	s->overlap_log = (struct log_limit)LOG_LIMIT_INIT("route overlaps", LOG_LEVEL_WARNING,
	                                                  SITE_LOG_BURST, SITE_LOG_PERIOD);
	s->overlap_gone_log = (struct log_limit)LOG_LIMIT_INIT(
	        "route overlaps gone", LOG_LEVEL_INFO, SITE_LOG_BURST, SITE_LOG_PERIOD);
}

/* Counts of a burst that ended are logged when its period does, or at once (the site
 * stops). */
static void
site_flush_logs(struct site *s, bool now)
{
	for (size_t i = 0; i < sizeof(s->member_logs) / sizeof(s->member_logs[0]); i++)
		log_limit_flush(&s->member_logs[i], now);
	log_limit_flush(&s->path_mtu_moved_log, now);
	log_limit_flush(&s->path_mtu_proven_log, now);
	log_limit_flush(&s->path_switch_log, now);
	log_limit_flush(&s->overlap_log, now);
	log_limit_flush(&s->overlap_gone_log, now);
}

static int64_t
site_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * MESH_USEC + ts.tv_nsec / 1000;
}

/* Seconds before its credential runs out from which a start or reload warns. */
#define SITE_CREDENTIAL_WARN (30 * 86400)

/* The time of day, for the validity of federation credentials. */
static int64_t
site_unix_now(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

/* --- the state file --- */

/* Saves the incarnation, the verified descriptors of the live members, their credentials and
 * the revocations held. */
static void
site_save(struct site *s)
{
	struct state st = {0};
	int64_t start = site_now();
	char err[256];

	if (view_carry(s->gossip, &st) != 0) {
		log_warnx("cannot save %s: out of memory", s->conf->gossip.state_file);
		return;
	}
	st.incarnation = gossip_self(s->gossip)->incarnation;
	if (state_save(s->conf->gossip.state_file, &st, err, sizeof(err)) < 0)
		log_warnx("cannot save the gossip state: %s", err);
	else
		s->saved_incarnation = st.incarnation;
	state_clear(&st);
	s->save_cost = site_now() - start;
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
		ev_timer_set(&s->save_timer, (double)state_save_delay(s->save_cost) / MESH_USEC, 0);
		ev_timer_start(s->loop, &s->save_timer);
	}
}

/* The version of the authority set gossip holds: 0 for the config's, or no federation. */
static uint64_t
site_authorities_version(const struct site *s)
{
	const struct cred_authorities *a = gossip_authorities(s->gossip);

	return a != NULL ? a->version : 0;
}

static void
site_federation_noted(struct site *s)
{
	s->fed_version = site_authorities_version(s);
	s->fed_revocations = gossip_revocation_count(s->gossip);
	s->fed_creds = gossip_counters(s->gossip)->creds_admitted;
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

/* A federation document taken, told to the events' subscribers: where it came from (gossip
 * or the operator's publish), what it was, and what the site holds since. A monitor sees an
 * authority rotation or a revocation reach each gateway as it does a member's change. */
static void
site_publish_federation(struct site *s, const char *source, const char *document)
{
	const struct cred_authorities *a = gossip_authorities(s->gossip);
	json_t *ev = site_event("federation");

	if (ev == NULL || a == NULL) {
		json_decref(ev);
		return;
	}
	json_object_set_new(ev, "federation", json_string(a->federation));
	json_object_set_new(ev, "source", json_string(source));
	json_object_set_new(ev, "document", json_string(document));
	json_object_set_new(ev, "authority_version",
	                    json_integer((json_int_t)site_authorities_version(s)));
	json_object_set_new(ev, "revocations",
	                    json_integer((json_int_t)gossip_revocation_count(s->gossip)));
	site_publish(s, ev);
}

/* An authority update, revocations or credentials that gossip took from other sites since
 * last noted: saved soon, so that a restart holds them though no member may be there to send
 * them again (none of them need change the membership, whose changes are saved anyway); the
 * first two logged and published as events, as credentials are with their sites' joins. */
static void
site_note_federation(struct site *s)
{
	uint64_t version = site_authorities_version(s);
	size_t revs = gossip_revocation_count(s->gossip);
	const struct cred_authorities *a = gossip_authorities(s->gossip);

	if (a == NULL || (version == s->fed_version && revs == s->fed_revocations &&
	                  gossip_counters(s->gossip)->creds_admitted == s->fed_creds))
		return;
	if (version != s->fed_version) {
		log_info("federation %s: authority set version %" PRIu64
		         " taken from gossip (%u of %u keys sign)",
		         a->federation, version, a->threshold, a->nkeys);
		site_publish_federation(s, "gossip", "authorities");
	}
	if (revs > s->fed_revocations) {
		log_info("federation %s: %zu revocation%s taken from gossip, %zu held",
		         a->federation, revs - s->fed_revocations,
		         revs - s->fed_revocations == 1 ? "" : "s", revs);
		site_publish_federation(s, "gossip", "revocation");
	}
	site_federation_noted(s);
	site_schedule_save(s);
}

/* --- the mesh --- */

/* The route events' actions, by enum reconcile_route_action. */
static const char *const route_actions[] = {
        [RECONCILE_ROUTE_ADDED] = "add",       [RECONCILE_ROUTE_REPLACED] = "replace",
        [RECONCILE_ROUTE_MOVED] = "move",      [RECONCILE_ROUTE_WITHDRAWN] = "withdraw",
        [RECONCILE_ROUTE_BLOCKED] = "blocked", [RECONCILE_ROUTE_UNBLOCKED] = "unblocked",
        [RECONCILE_ROUTE_YIELDED] = "yield",   [RECONCILE_ROUTE_RECLAIMED] = "reclaim",
};

/* An overlap with another owner's route appearing or going: the route's event names it, and
 * a log line says so once each way, within the budget of its way. */
static void
site_note_overlap(struct site *s, json_t *ev, const struct reconcile_route_change *c)
{
	char mine[ADDR_PREFIX_STRLEN], theirs[ADDR_PREFIX_STRLEN], t[16],
	        whose[MESH_NAME_SIZE + 16];
	const struct kh_route *o = &c->other;

	if (o->dst.addr.family == AF_UNSPEC)
		return;
	addr_prefix_format(&c->dst, mine);
	addr_prefix_format(&o->dst, theirs);
	json_object_set_new(ev, "other", json_string(theirs));
	json_object_set_new(ev, "other_table", json_integer(o->table));
	json_object_set_new(ev, "other_protocol", json_integer(o->protocol));
	json_object_set_new(ev, "other_type", json_string(kh_route_type_name(o->type, t)));
	if (c->action == RECONCILE_ROUTE_BLOCKED)
		json_object_set_new(ev, "withdrawn", json_boolean(c->withdrawn));
	/* A yield lies in a tunnel route (via its site) or in a fence. */
	if (c->via[0] != '\0')
		snprintf(whose, sizeof(whose), "site %s's route", c->via);
	else
		snprintf(whose, sizeof(whose), "a fail-closed route");
	switch (c->action) {
	case RECONCILE_ROUTE_BLOCKED:
		if (log_limit_allow(&s->overlap_log))
			log_warnx("route overlap: %s route %s of site %s: another owner's route %s "
			          "(table %u, protocol %u) collides in netd's table",
			          c->withdrawn ? "withdrew" : "not installing", mine, c->via,
			          theirs, o->table, o->protocol);
		break;
	case RECONCILE_ROUTE_UNBLOCKED:
		if (log_limit_allow(&s->overlap_gone_log))
			log_info("route overlap gone: route %s of site %s no longer collides with "
			         "%s "
			         "(table %u, protocol %u)",
			         mine, c->via, theirs, o->table, o->protocol);
		break;
	case RECONCILE_ROUTE_YIELDED:
		if (log_limit_allow(&s->overlap_log))
			log_warnx("route overlap: %s (table %u, protocol %u) is more specific than "
			          "%s: "
			          "netd's table yields it to table %u",
			          theirs, o->table, o->protocol, whose, o->table);
		break;
	case RECONCILE_ROUTE_RECLAIMED:
		if (log_limit_allow(&s->overlap_gone_log))
			log_info("route overlap gone: %s (table %u, protocol %u): %s takes it back",
			         theirs, o->table, o->protocol, whose);
		break;
	default:
		break;
	}
}

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
		site_note_overlap(s, ev, &c[i]);
		site_publish(s, ev);
	}
}

/* The last run's reports (only its failures with failures_only), each with what it is about.
 * One cause (a device gone, a table the kernel refuses) fails a change for every site, and
 * every retry fails them again: the first SITE_LOG_BURST of a run are logged, the rest
 * counted in a line. */
static void
site_log_reports(struct reconcile *r, const char *context, bool failures_only)
{
	size_t n, logged = 0, more = 0;
	const struct reconcile_report *rep = reconcile_reports(r, &n);

	for (size_t i = 0; i < n; i++) {
		char text[RECONCILE_REPORT_STRLEN];

		if (failures_only && rep[i].err == 0)
			continue;
		if (logged == SITE_LOG_BURST) {
			more++;
			continue;
		}
		logged++;
		log_warnx("%s%s", context,
		          reconcile_report_format(&rep[i], true, text, sizeof(text)));
	}
	if (more > 0)
		log_warnx("%s%zu more reports of this run not logged (netdctl routes shows each "
		          "route's reason)",
		          context, more);
}

static void site_arm_work(struct site *s, int64_t now);

/* The changes a run made, by kind: "peer-add 1, route-add 2". Returns buf. */
static const char *
site_changes_text(const struct reconcile_stats *before, const struct reconcile_stats *after,
                  char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < RECONCILE_OP_COUNT && off < len; i++) {
		uint64_t n = after->applied[i] + after->failed[i] - before->applied[i] -
		             before->failed[i];

		if (n > 0)
			off += (size_t)snprintf(buf + off, len - off, "%s%s %llu", off ? ", " : "",
			                        reconcile_op_name(i), (unsigned long long)n);
	}
	return buf;
}
static void site_update_paths(struct site *s);
static void site_status_collect(struct site *s);
static const struct seen_device *site_device(const struct site *s);

/* Behind NAT as configured, or as the others see this site (gossip's published descriptor):
 * its peers then get keepalives that hold the mappings open. */
static bool
site_behind_nat(const struct site *s)
{
	return s->conf->wg.behind_nat || (gossip_self(s->gossip)->flags & WIRE_DESC_NAT);
}

/* --- path MTU --- */

/* What discovery proved of each site's path; the others keep the tunnel's MTU. */
static void
site_take_path_mtus(const struct site *s, struct mesh_site *sites, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct pmtu *path = pmtud_path(s->pmtud, sites[i].name);

		if (path && path->probed)
			sites[i].path_mtu = path->mtu;
		sites[i].return_path_mtu = pmtud_return_mtu(s->pmtud, sites[i].name);
	}
}

/* The IPv4 overlay address the mesh gave peer p (of site ms), or NULL. */
static const struct addr *
site_peer_overlay4(const struct mesh_peer *p, const struct mesh_site *ms)
{
	for (size_t i = 0; i < ms->noverlay; i++) {
		const struct addr_prefix *ov = &ms->overlay[i];

		if (ov->addr.family != AF_INET)
			continue;
		for (size_t j = 0; j < p->nallowed; j++)
			if (addr_prefix_equal(&p->allowed[j], ov))
				return &ov->addr;
	}
	return NULL;
}

static int
site_name_qcmp(const void *a, const void *b)
{
	return strcmp(((const struct mesh_site *)a)->name, ((const struct mesh_site *)b)->name);
}

static int
site_key_qcmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct mesh_site *)item)->name);
}

/* What the path MTU search could probe: for each peer of the desired state (by index), its
 * site and the IPv4 overlay address the mesh gave it; AF_UNSPEC for none. Taken from the view
 * before the run, which frees the view first (at 10,000 sites the view's sites are 2.3 MB,
 * and a run's peak memory is what the gateway must have). sites are sorted by name here,
 * for the lookups. NULL: no memory. */
static struct pmtud_target *
site_probe_targets(const struct site *s, struct mesh_site *sites, size_t n)
{
	const struct mesh_desired *d = s->desired;
	struct pmtud_target *targets = calloc(d->npeers ? d->npeers : 1, sizeof(*targets));

	if (!targets)
		return NULL;
	if (n > 1)
		qsort(sites, n, sizeof(*sites), site_name_qcmp);
	for (size_t i = 0; i < d->npeers; i++) {
		const struct mesh_peer *p = &d->peers[i];
		const struct mesh_site *ms =
		        n ? bsearch(p->site, sites, n, sizeof(*sites), site_key_qcmp) : NULL;
		const struct addr *ov = ms ? site_peer_overlay4(p, ms) : NULL;

		targets[i].site = p->site;
		if (ov)
			targets[i].overlay = *ov;
	}
	return targets;
}

/* Probes the path of every live peer of targets (site_probe_targets) that has an IPv4
 * overlay address and that the last run put on the device. Compacts targets. */
static int
site_probe_peers(struct site *s, struct pmtud_target *targets, int64_t now)
{
	const struct mesh_desired *d = s->desired;
	struct addr local = {0};
	size_t k = 0;

	if (!s->pmtud) /* torn down */
		return 0;
	for (size_t i = 0; i < s->conf->noverlay; i++)
		if (s->conf->overlay[i].addr.family == AF_INET && local.family == AF_UNSPEC)
			local = s->conf->overlay[i].addr;
	/* A tunnel below what IPv6 needs (the mesh reports it) has nothing to probe. */
	for (size_t i = 0; i < d->npeers && d->wg.mtu >= PMTU_MIN; i++) {
		const struct mesh_peer *p = &d->peers[i];

		if (p->standby || (p->state != MESH_ALIVE && p->state != MESH_SUSPECT) ||
		    reconcile_peer_pending(s->reconcile, i) ||
		    targets[i].overlay.family == AF_UNSPEC)
			continue;
		targets[k++] = targets[i];
	}
	return pmtud_set_peers(s->pmtud, &local, d->wg.name, targets, k, d->wg.mtu, now);
}

/* A path's MTU moved: the routes and segments follow in the next run. */
static void
site_on_path_mtu(void *arg, const char *site, uint32_t old_mtu, const struct pmtu *path,
                 uint32_t return_mtu)
{
	struct site *s = arg;
	const struct mesh_peer *dp = mesh_desired_peer(s->desired, site);
	json_t *ev = site_event("path-mtu");
	bool moved;

	json_object_set_new(ev, "site", json_string(site));
	json_object_set_new(ev, "mtu", json_integer(path->mtu));
	json_object_set_new(ev, "previous", json_integer(old_mtu));
	json_object_set_new(ev, "learnt", json_string(path->probed ? "probing" : "assumed"));
	json_object_set_new(ev, "return_mtu", json_integer(return_mtu));
	site_publish(s, ev);
	/* A first search that proves the MTU assumed changes no route or segment: no run of
	 * the whole view for it (thousands of them after a join, each seconds long in a VM),
	 * and a line only for the curious. */
	moved = dp == NULL ||
	        dp->path_mtu != mesh_peer_path_mtu(s->desired, path->probed ? path->mtu : 0) ||
	        dp->return_path_mtu != return_mtu;
	if (log_limit_allow(moved ? &s->path_mtu_moved_log : &s->path_mtu_proven_log))
		(moved ? log_info : log_debug)(
		        "path MTU: site %s: %u bytes (%s; was %u), %u back", site, path->mtu,
		        path->probed ? "probing" : "assumed", old_mtu, return_mtu);
	if (!moved)
		return;
	s->view_changed = true;
	site_arm_work(s, site_now());
}

/* TCP SYNs into the tunnel are clamped to the route's MTU (each peer's path MTU, on its
 * routes), and SYNs bridged into a segment to the segment's MTU: a bridge drops a frame too
 * big for the VXLAN device and tells no one. */
static void
site_clamp(struct site *s, int64_t now)
{
	const struct mesh_desired *d = s->desired;
	struct kh_nft_clamp routed = {0}, *bridged = calloc(d->nsegments + 1, sizeof(*bridged));
	size_t nbridged = 0, len = 0;
	char *text = malloc(IFNAMSIZ + d->nsegments * (IFNAMSIZ + 8) + 1);
	int rc;

	/* Not while a userspace WireGuard is starting: a table made then, as the joiner's first
	 * handshakes went out, was seen to hold them back 5 s and more (a start's fork and the
	 * nftables transaction meet). The first run after the device answers makes it. */
	if (!bridged || !text || site_device(s) == NULL)
		goto out;
	snprintf(routed.oifname, sizeof(routed.oifname), "%s", d->wg.name);
	len += (size_t)sprintf(text, "%s", routed.oifname);
	for (size_t i = 0; i < d->nsegments; i++) {
		struct kh_nft_clamp *c = &bridged[nbridged];

		if (d->segments[i].mtu <= 40)
			continue;
		snprintf(c->oifname, sizeof(c->oifname), "%s", d->segments[i].vxlan);
		c->mss = (uint16_t)(d->segments[i].mtu - 40); /* IPv4 and TCP headers */
		len += (size_t)sprintf(text + len, " %s:%u", c->oifname, c->mss);
		nbridged++;
	}
	if (s->clamps && strcmp(s->clamps, text) == 0 && now < s->clamped_at + SITE_RESYNC_PERIOD)
		goto out;
	rc = kh_nft_clamp_set(&routed, 1, bridged, nbridged);
	if (rc < 0) {
		log_warnx("nftables: the MSS clamps of table %s could not be made: %s",
		          KH_NFT_TABLE, strerror(-rc));
		goto out;
	}
	free(s->clamps);
	s->clamps = text;
	s->clamped_at = now;
	text = NULL;
out:
	free(bridged);
	free(text);
}

/* Before each of a run's large steps the reconciler takes a read of the device finished in
 * the background, unless the status read waits for it: what the run compares of it is held
 * through the rest, not the whole read. Its blocks were made by the thread that ran the
 * exchange, in that thread's heap: freed, they serve none of the loop's allocations, so they
 * are trimmed at once. */
static void
site_collect_wg(struct site *s)
{
	if (!s->wg_collecting && reconcile_collect(s->reconcile, s->conf->wg.interface))
		malloc_trim(0);
}

/* Computes the desired state from the config and the view and makes the kernel hold it. */
static void
site_apply(struct site *s)
{
	int64_t now = site_now(), at[4], end;
	struct mesh_site *sites;
	struct view_room *rooms;
	struct mesh_desired *next = NULL;
	struct reconcile_stats before, after;
	struct pmtud_target *targets;
	char what[256];
	size_t count, n;
	bool made;
	int rc;

	if (s->torn_down)
		return;
	site_status_collect(s);
	count = gossip_member_count(s->gossip);
	sites = calloc(count ? count : 1, sizeof(*sites));
	rooms = calloc(count ? count : 1, sizeof(*rooms));
	if (sites == NULL || rooms == NULL)
		goto retry;
	site_collect_wg(s);
	n = view_mesh_sites(s->gossip, &s->conf->policy,
	                    (int64_t)s->conf->gossip.dead_hold * MESH_USEC, now, sites, rooms,
	                    &s->hold_expiry);
	site_take_path_mtus(s, sites, n);
	for (size_t i = 0; i < n; i++) {
		sites[i].relay_via = path_relay(s->paths, sites[i].name);
		sites[i].fresh_after = path_fresh_after(s->paths, sites[i].name);
	}
	s->params.behind_nat = site_behind_nat(s);
	at[0] = site_now();
	/* Each memory block of a run lives only as long as it must, the old desired state
	 * before the new one is made, the view before the reconciler reads the kernel: at
	 * 10,000 sites each is 2.3-2.4 MB, and a run's peak is what the gateway must have.
	 * Nothing reads the desired state during the computation. */
	mesh_desired_free(s->desired);
	s->desired = NULL;
	site_collect_wg(s);
	if (mesh_compute(s->conf, sites, n, &s->params, now, &next) < 0)
		goto retry;
	s->view_changed = false;
	s->desired = next;
	targets = site_probe_targets(s, sites, n);
	free(sites);
	free(rooms);
	at[1] = site_now();
	reconcile_get_stats(s->reconcile, &before);
	site_collect_wg(s);
	rc = reconcile_run(s->reconcile, s->desired, now);
	at[2] = site_now();
	/* Probed once the run has put the new peers in the device: WireGuard drops a probe to a
	 * peer it does not hold yet (no allowed IPs match), and the search counts it lost. */
	if (targets == NULL || site_probe_peers(s, targets, at[2]) < 0) {
		log_warnx("out of memory probing the paths' MTU; retrying");
		s->view_changed = true;
	}
	free(targets);
	at[3] = site_now();
	site_clamp(s, now);
	reconcile_get_stats(s->reconcile, &after);
	s->last_run = now;
	site_publish_route_changes(s);
	if (after.last_applied > 0 || after.last_failed > 0) {
		json_t *ev = site_event("reconcile");

		json_object_set_new(ev, "applied", json_integer((json_int_t)after.last_applied));
		json_object_set_new(ev, "failed", json_integer((json_int_t)after.last_failed));
		site_publish(s, ev);
		/* The run's wall time, the view's computation included: at thousands of sites
		 * it is what tells a slow kernel from a slow run. */
		log_info("reconcile: %llu changes applied, %llu failed (%s) in %.2f s",
		         (unsigned long long)after.last_applied,
		         (unsigned long long)after.last_failed,
		         site_changes_text(&before, &after, what, sizeof(what)),
		         (double)(site_now() - now) / MESH_USEC);
	}
	if (rc == -EAGAIN)
		site_log_reports(s->reconcile, "", true);
	/* A run's transient blocks below the mmap threshold (the kernel's and the device's
	 * replies, the old desired state, the reconciler's work tables) are freed between blocks
	 * that live on, where the trim of the heap's top does not reach; without this they stay
	 * resident, about 2 KiB per site at 1,000 live sites. Runs come seconds apart. */
	malloc_trim(0);
	/* A run that made devices (the start's, a new segment's) took what the kernel's
	 * creation costs, once, about 2.4 s in the VM: the next, with the join's first
	 * arrivals, is not held back by it. */
	made = after.applied[RECONCILE_OP_WG_CREATE] > before.applied[RECONCILE_OP_WG_CREATE] ||
	       after.applied[RECONCILE_OP_LINK_CREATE] > before.applied[RECONCILE_OP_LINK_CREATE];
	end = site_now();
	s->run_not_before = made ? 0 : end + SITE_RUN_ROOM * (end - now);
	s->run_quiet_not_before =
	        made ? 0 : end + (int64_t)(SITE_RUN_ROOM_QUIET * (double)(end - now));
	/* Where a run's time went: at thousands of sites, mostly work for the whole view. */
	log_debug("run: %zu sites: view %.3f s, mesh %.3f s, reconcile %.3f s (the kernel read "
	          "%.3f s), path MTU peers %.3f s, the rest %.3f s; next run not before %.3f s",
	          n, (double)(at[0] - now) / MESH_USEC, (double)(at[1] - at[0]) / MESH_USEC,
	          (double)(at[2] - at[1]) / MESH_USEC, (double)after.last_read_us / MESH_USEC,
	          (double)(at[3] - at[2]) / MESH_USEC, (double)(end - at[3]) / MESH_USEC,
	          (double)(s->run_not_before > end ? s->run_not_before - end : 0) / MESH_USEC);
	site_arm_work(s, end);
	return;
retry:
	log_warnx("out of memory computing the mesh; retrying");
	free(sites);
	free(rooms);
	s->view_changed = true;
	site_arm_work(s, site_now());
}

/* One timer serves every reason to run: a change to apply (debounced), failed operations
 * to retry, a dead site's hold ending, and the slow resync. */
static void
site_arm_work(struct site *s, int64_t now)
{
	int64_t at = s->last_run + SITE_RESYNC_PERIOD;
	int64_t retry = reconcile_retry_at(s->reconcile);
	int64_t not_before;
	double delay;

	if (s->torn_down)
		return;
	if (s->view_changed || reconcile_dirty(s->reconcile))
		at = now + (int64_t)(SITE_DEBOUNCE * MESH_USEC);
	if (retry > 0 && retry < at)
		at = retry;
	if (s->hold_expiry > 0 && s->hold_expiry < at)
		at = s->hold_expiry;
	not_before = !s->view_changed && reconcile_unfinished(s->reconcile)
	                     ? s->run_quiet_not_before
	                     : s->run_not_before;
	if (at < not_before)
		at = not_before;
	delay = at > now ? (double)(at - now) / MESH_USEC : 0;
	/* An earlier deadline wins; a pending debounce is not pushed back by more events. A
	 * timer that has expired and waits for its callback is no longer active but pending:
	 * stopping it would drop the run, and gossip's callbacks, invoked before it in the same
	 * loop turn, did so at every turn while a join streamed in, until the stream paused. */
	if (ev_is_pending(&s->work_timer))
		return;
	/* The loop's clock is taken as its turn begins, and a run earlier in the same turn may
	 * have taken seconds: a timer set against it would come that much early. */
	ev_now_update(s->loop);
	if (ev_is_active(&s->work_timer) && ev_timer_remaining(s->loop, &s->work_timer) <= delay)
		return;
	ev_timer_stop(s->loop, &s->work_timer);
	ev_timer_set(&s->work_timer, delay, 0);
	ev_timer_start(s->loop, &s->work_timer);
}

static void
site_on_work(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct site *s = w->data;

	(void)loop;
	(void)revents;
	if (site_now() >= s->last_run + SITE_RESYNC_PERIOD)
		reconcile_note_resync(s->reconcile);
	site_apply(s);
}

/* --- gossip I/O --- */

static void
site_gossip_send(void *arg, const struct addr_endpoint *to, const uint8_t *buf, size_t len)
{
	struct site *s = arg;

	transport_send(s->transport, to, buf, len);
}

static void
site_log_member(const struct gossip_event *gev)
{
	if (gev->type == GOSSIP_EV_SUSPECT)
		log_info("gossip: site %s is suspect (incarnation %u)", gev->name,
		         gev->incarnation);
	else if (gev->type == GOSSIP_EV_REFUSED)
		log_warnx("gossip: site %s: descriptor of incarnation %u refused, only what is "
		          "granted is used: %s",
		          gev->name, gev->incarnation, gev->why);
	else if (gev->type == GOSSIP_EV_REVOKED || gev->type == GOSSIP_EV_EXPIRED ||
	         gev->type == GOSSIP_EV_DISOWNED)
		log_warnx("gossip: site %s: its credential %s: its tunnel, routes and segments go",
		          gev->name,
		          gev->type == GOSSIP_EV_REVOKED ? "was revoked"
		          : gev->type == GOSSIP_EV_EXPIRED
		                  ? "expired"
		                  : "lacks signatures of the current authorities");
	else
		log_info("gossip: site %s: %s (incarnation %u)", gev->name,
		         gossip_event_name(gev->type), gev->incarnation);
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
	if ((size_t)gev->type < sizeof(s->member_logs) / sizeof(s->member_logs[0]) &&
	    log_limit_allow(&s->member_logs[gev->type]))
		site_log_member(gev);
	/* A suspect keeps its peer, routes and segments, and the refutation that clears the
	 * suspicion brings the same descriptor content (a new one comes as an update): neither
	 * changes the desired state, and a run of the whole view for each (seconds at 10,000
	 * sites) was most of an idle gateway's runs, raised by late answers from busy sites.
	 * The state file keeps suspects as it keeps the alive. */
	if (gev->type == GOSSIP_EV_SUSPECT)
		return;
	if (gev->type != GOSSIP_EV_ALIVE)
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
	site_note_federation(s);
	/* A direct path found failing is looked at now, not at the next device read. */
	if (gossip_counters(s->gossip)->direct_failures != s->direct_failures)
		site_update_paths(s);
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
	site_flush_logs(s, false);
}

static void
site_on_datagram(void *arg, const struct addr_endpoint *from, const uint8_t *buf, size_t len)
{
	struct site *s = arg;

	gossip_receive(s->gossip, site_now(), from, buf, len);
}

static void
site_on_drained(void *arg, bool more)
{
	struct site *s = arg;

	gossip_set_backlog(s->gossip, more);
	site_after_gossip(s);
}

/* This site's own credential and when it runs out, louder as that nears: the metric
 * netd_credential_expiry_timestamp_seconds is what monitoring alerts on. */
static void
site_log_credential(const struct conf *conf)
{
	const struct cred *c = conf->federation.credential;
	char until[CRED_TIME_STRLEN];
	int64_t left;

	if (c == NULL)
		return;
	left = c->not_after - (int64_t)time(NULL);
	cred_format_time(c->not_after, until);
	if (left <= 0)
		log_warnx("federation %s: this site's credential (serial %" PRIu64 ") expired at "
		          "%s: no other site admits it by credential",
		          c->federation, c->serial, until);
	else if (left < SITE_CREDENTIAL_WARN)
		log_warnx("federation %s: this site's credential (serial %" PRIu64 ") expires at "
		          "%s, in %" PRId64 " days: have a renewal signed",
		          c->federation, c->serial, until, left / 86400);
	else
		log_info("federation %s: this site's credential, serial %" PRIu64
		         ", valid until %s",
		         c->federation, c->serial, until);
}

/* A gossip instance for s->conf in a new random session, carrying over what carry holds:
 * remembered members, their credentials, revocations. */
static struct gossip *
site_start_gossip(struct site *s, uint32_t incarnation, const struct state *carry)
{
	struct gossip_config cfg = {0};
	struct cred_authorities authorities;
	struct view_credentials own;
	struct wire_desc desc;
	struct gossip *g;
	uint64_t rng, session = 0;
	char err[256];

	/* Nothing stored decides it, so neither a lost state file nor a cloned machine nor a
	 * clock set back makes two runs share a session, and with it a (key, nonce) pair. */
	while (session == 0)
		randombytes_buf(&session, sizeof(session));
	view_descriptor(s->conf, &desc);
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
	if (view_federation(s->conf, &authorities, &own)) {
		cfg.authorities = &authorities;
		cfg.credential = own.current_len > 0 ? own.current : NULL;
		cfg.credential_len = own.current_len;
		cfg.next_credential = own.next_len > 0 ? own.next : NULL;
		cfg.next_credential_len = own.next_len;
		cfg.unix_now = site_unix_now;
		cfg.pin_authorities = s->conf->federation.pin_authorities;
	}
	g = gossip_new(&cfg, err, sizeof(err));
	if (g == NULL) {
		log_errx("gossip: %s", err);
		return NULL;
	}
	s->saved_incarnation = incarnation;
	s->session = session;
	view_adopt(g, carry, site_now());
	gossip_start(g, site_now());
	site_log_credential(s->conf);
	log_info("gossip: site %s, session %016" PRIx64 ", incarnation %u, %zu trusted sites, "
	         "%zu seeds%s%s",
	         s->conf->site_name, session, incarnation, gossip_trust_count(s->trust),
	         s->conf->gossip.nseeds, cfg.authorities != NULL ? ", federation " : "",
	         cfg.authorities != NULL ? authorities.federation : "");
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

	if (!view_public_address(conf, &pub))
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

/* The device as last read, if it is still the one the desired state names. */
static const struct seen_device *
site_device(const struct site *s)
{
	if (s->desired == NULL || s->wg_seen == NULL ||
	    strcmp(s->wg_seen->name, s->desired->wg.name) != 0)
		return NULL;
	return s->wg_seen;
}

static uint64_t
site_runs(const struct site *s)
{
	struct reconcile_stats st;

	reconcile_get_stats(s->reconcile, &st);
	return st.runs;
}

static json_t *
site_drift_event(const char *device, const struct drift *drift)
{
	json_t *ev = site_event("drift"), *peers = json_array();

	if (ev == NULL || peers == NULL) {
		json_decref(peers);
		return ev;
	}
	json_object_set_new(ev, "device", json_string(device));
	for (size_t i = 0; i < DRIFT_KIND_COUNT; i++)
		json_object_set_new(ev, drift_kind_name(i),
		                    json_integer((json_int_t)drift->count[i]));
	for (size_t i = 0; i < drift->nnamed; i++) {
		const struct drift_peer_finding *f = &drift->named[i];
		char key[KEY_BASE64_SIZE], fields[64];
		json_t *p = json_object();

		key_to_base64(key, f->public_key);
		json_object_set_new(p, "change", json_string(drift_kind_name(f->kind)));
		json_object_set_new(p, "public_key", json_string(key));
		if (f->site[0] != '\0')
			json_object_set_new(p, "site", json_string(f->site));
		if (f->kind == DRIFT_PEER_CHANGED)
			json_object_set_new(p, "fields",
			                    json_string(drift_fields_format(f->fields, fields,
			                                                    sizeof(fields))));
		json_array_append_new(peers, p);
	}
	json_object_set_new(ev, "peers", peers);
	return ev;
}

/* The device as just read, compared with what the last run left on it: a drift is logged,
 * published and repaired by a run (debounced) at once. */
static void
site_check_drift(struct site *s, const struct wg_device *dev)
{
	struct drift drift;
	char text[1024];

	if (!reconcile_note_device(s->reconcile, dev, &drift))
		return;
	log_warnx("wireguard %s: not as netd left it: %s; repairing", dev->name,
	          drift_format(&drift, text, sizeof(text)));
	site_publish(s, site_drift_event(dev->name, &drift));
	site_arm_work(s, site_now());
}

/* A path that changed, told: an event and a log line. */
static void
site_publish_path(struct site *s, const char *name)
{
	struct path_info pi;
	json_t *ev;

	if (path_get(s->paths, name, &pi) < 0)
		return;
	ev = site_event("path");
	json_object_set_new(ev, "site", json_string(name));
	json_object_set_new(ev, "path",
	                    json_string(pi.mode == PATH_RELAYED ? "relayed" : "direct"));
	json_object_set_new(ev, "relay", pi.relay != NULL ? json_string(pi.relay) : json_null());
	json_object_set_new(ev, "reason", pi.reason != NULL ? json_string(pi.reason) : json_null());
	site_publish(s, ev);
	if (!log_limit_allow(&s->path_switch_log))
		return;
	if (pi.mode == PATH_RELAYED)
		log_info("path to %s: through %s (%s)", name, pi.relay, pi.reason);
	else
		log_info("path to %s: direct", name);
}

/* Which way each remote site goes, from gossip and the device as last read; a change is
 * applied with the next run. */
static void
site_update_paths(struct site *s)
{
	size_t count = gossip_member_count(s->gossip), n;
	struct path_site *ps = calloc(count ? count : 1, sizeof(*ps));
	/* Copies: path_update frees the table the names point into. */
	char(*was)[WIRE_NAME_MAX + 1] = calloc(count ? count : 1, sizeof(*was));
	int64_t now = site_now(), deadline, unix_now_us;
	struct timespec ts;
	int changed;

	if (ps == NULL || was == NULL)
		goto out;
	s->direct_failures = gossip_counters(s->gossip)->direct_failures;
	clock_gettime(CLOCK_REALTIME, &ts);
	unix_now_us = (int64_t)ts.tv_sec * MESH_USEC + ts.tv_nsec / 1000;
	n = view_path_sites(s->gossip, site_device(s), now, unix_now_us, ps);
	for (size_t i = 0; i < n; i++) {
		const char *relay = path_relay(s->paths, ps[i].name);

		snprintf(was[i], sizeof(was[i]), "%s", relay != NULL ? relay : "");
	}
	changed = path_update(s->paths, ps, n, s->conf->wg.relays, s->conf->wg.nrelays, now,
	                      unix_now_us);
	for (size_t i = 0; i < n; i++)
		if (path_want_probe(s->paths, ps[i].name, now))
			gossip_probe_soon(s->gossip, ps[i].name);
	for (size_t i = 0; changed > 0 && i < n; i++) {
		const char *relay = path_relay(s->paths, ps[i].name);

		if (strcmp(was[i], relay != NULL ? relay : "") != 0)
			site_publish_path(s, ps[i].name);
	}
	if (changed > 0 || s->params.behind_nat != site_behind_nat(s)) {
		s->view_changed = true;
		site_arm_work(s, now);
	}
	/* A first handshake awaited is looked for when its wait ends, not a refresh later. */
	deadline = path_next_deadline(s->paths);
	if (deadline < INT64_MAX &&
	    (double)(deadline - now) / MESH_USEC < ev_timer_remaining(s->loop, &s->wg_timer)) {
		ev_timer_stop(s->loop, &s->wg_timer);
		ev_timer_set(&s->wg_timer, (double)(deadline - now) / MESH_USEC + 0.05, s->wg_pace);
		ev_timer_start(s->loop, &s->wg_timer);
	}
out:
	free(ps);
	free(was);
}

/* The device just read: where WireGuard sees the members' handshakes come from goes to
 * gossip (a member behind NAT learns its public endpoint so), and the paths are looked at. */
static void
site_observe_wg(struct site *s)
{
	const struct seen_device *dev = site_device(s);

	if (dev != NULL) {
		view_feed_wg(s->gossip, dev, site_now());
		site_after_gossip(s);
		/* The clamps wait for the device to answer (site_clamp): the first read does. */
		if (s->clamps == NULL && s->desired != NULL)
			site_clamp(s, site_now());
	}
	site_update_paths(s);
}

/* A status read's outcome, rc and on success dev (taken over): what the replies show of the
 * device and its drift, or, for a read the loop stopped waiting for, its collection. */
static void
site_take_wg(struct site *s, int rc, struct wg_device *dev)
{
	bool collect = false;

	if (rc == 0)
		wg_device_sort_peers(dev);
	if (rc != -ETIMEDOUT) {
		free(s->wg_seen);
		s->wg_seen = NULL;
		if (rc == 0 && s->wg_stale_since == site_runs(s))
			site_check_drift(s, dev);
		/* Only the drift check needs the whole read; the replies, the metrics and the
		 * paths show each peer's endpoint, handshake and bytes until the next read (88
		 * bytes a peer, where the read takes 160 and its allowed-ips 96 or more). Without
		 * memory for them they show none, as for a read that failed. */
		if (rc == 0 && (s->wg_seen = seen_device_new(dev)) == NULL)
			log_warnx("wireguard %s: out of memory keeping its read", dev->name);
		wg_free_device(dev);
		/* The whole read was made by the thread that ran the exchange, in that thread's
		 * heap (2 MB at 10,000 peers), and the figures kept of it beside the ones they
		 * replace: freed, neither serves the allocations of what the read is observed by
		 * next, which would grow the loop's heap beside them. Given back first. */
		if (rc == 0)
			malloc_trim(0);
	}
	s->wg_stale = rc == -ETIMEDOUT;
	if (rc < 0 && rc != -ENODEV) {
		s->wg_read_failures++;
		log_debug("wireguard %s: cannot read it for status: %s", s->desired->wg.name,
		          kh_last_error());
		/* Once, not in a loop: a stopped process is asked again at the usual pace. */
		collect = rc == -ETIMEDOUT && !s->wg_collecting;
	}
	s->wg_collecting = collect;
	/* At the pace of the read before: this one's cost is known once the paths (which may
	 * bring the timer forward) are done with it. */
	ev_timer_stop(s->loop, &s->wg_timer);
	ev_timer_set(&s->wg_timer, collect ? SITE_WG_COLLECT : s->wg_pace, s->wg_pace);
	ev_timer_start(s->loop, &s->wg_timer);
	if (rc == 0) {
		site_observe_wg(s);
		/* And what the observation made and dropped (the paths' and gossip's work on the
		 * figures, a megabyte at 10,000 peers): resident between reads otherwise. */
		malloc_trim(0);
		s->wg_pace = (double)drift_pace_note(&s->wg_costs, site_now() - s->wg_read_start) /
		             MESH_USEC;
	}
}

/* Re-reads the device the replies show and compares it for drift. The read is bounded like
 * every WireGuard call on the loop (wg_set_wait_ms). One the loop stopped waiting for goes
 * on in the background and is collected a moment later, the last figures shown meanwhile;
 * any other failure shows none. */
static void
site_refresh_wg(struct site *s)
{
	struct wg_device *dev = NULL;
	int rc;

	if (s->desired == NULL)
		return;
	if (!s->wg_collecting)
		s->wg_read_start = site_now();
	if (!s->wg_stale)
		s->wg_stale_since = site_runs(s);
	rc = wg_get_device(s->desired->wg.name, &dev);
	site_take_wg(s, rc, dev);
}

/* A status read that finished while the loop was busy, its collection not yet come: taken
 * whole now, where the caller is about to need memory of its own beside it. Nothing is
 * waited for. */
static void
site_status_collect(struct site *s)
{
	struct wg_device *dev;

	if (s->wg_collecting && s->desired != NULL &&
	    wg_get_finished(s->desired->wg.name, &dev) == 0)
		site_take_wg(s, 0, dev);
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
 * peer added then has its routes at once, not a backoff later. A status read collects; a
 * read nothing waits for any more is taken for the next run now, made small: whole (2 MB at
 * 10,000 peers) it would wait for that run through whatever the loop does meanwhile, a
 * join's gossip, the view and the mesh. */
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
	else
		site_collect_wg(s);
}

/* The netlink monitor and the reconciler it feeds, and the eventfd that tells of WireGuard
 * work finished in the background. 0, or -1 (logged). */
static int
site_watch_kernel(struct site *s)
{
	int rc = kh_monitor_open(KH_MONITOR_RCVBUF, &s->monitor);

	if (rc < 0) {
		log_errx("netlink monitor: %s", strerror(-rc));
		return -1;
	}
	ev_io_init(&s->monitor_watcher, site_on_monitor, kh_monitor_fd(s->monitor), EV_READ);
	s->monitor_watcher.data = s;
	ev_io_start(s->loop, &s->monitor_watcher);
	if (reconcile_new(&s->reconcile) < 0) {
		log_errx("out of memory");
		return -1;
	}
	/* Without it, the retry and refresh timers still get there. */
	rc = wg_background_fd();
	if (rc >= 0) {
		ev_io_set(&s->wg_background, rc, EV_READ);
		ev_io_start(s->loop, &s->wg_background);
	} else {
		log_warnx("wireguard: no eventfd (%s): work finished in the background is picked "
		          "up by the retry timers only",
		          strerror(errno));
	}
	return 0;
}

int
site_new(struct ev_loop *loop, const struct conf *conf, struct ctl_server *ctl, struct site **out)
{
	struct site *s = calloc(1, sizeof(*s));
	const struct transport_handler handler = {site_on_datagram, site_on_drained, s};
	struct addr_endpoint pub;
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
	s->state_lock = -1;
	site_init_logs(s);
	ev_timer_init(&s->gossip_timer, site_on_gossip_timer, 0, 0);
	ev_timer_init(&s->work_timer, site_on_work, 0, 0);
	ev_timer_init(&s->save_timer, site_on_save, 0, 0);
	s->wg_pace = SITE_WG_REFRESH;
	ev_timer_init(&s->wg_timer, site_on_wg_timer, 0, SITE_WG_REFRESH);
	ev_init(&s->wg_background, site_on_wg_background);
	s->gossip_timer.data = s->work_timer.data = s->save_timer.data = s->wg_timer.data = s;
	s->paths = path_new(conf->site_name);
	if (s->paths == NULL) {
		log_errx("out of memory");
		goto fail;
	}
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
	/* Before gossip starts: what it sends goes out through the socket. */
	if (transport_open(loop, &conf->gossip.bind, &handler, &s->transport) < 0)
		goto fail;
	s->trust = view_trust(conf);
	if (s->trust == NULL) {
		log_errx("out of memory building the trust table");
		goto fail;
	}
	s->gossip = site_start_gossip(s, gossip_next_incarnation(st.incarnation), &st);
	state_clear(&st);
	if (s->gossip == NULL)
		goto fail;
	site_federation_noted(s);

	if (site_watch_kernel(s) < 0)
		goto fail;
	site_set_params(s);
	if (pmtud_new(loop, site_on_path_mtu, s, &s->pmtud) < 0) {
		log_errx("out of memory");
		goto fail;
	}
	if (!view_public_address(conf, &pub))
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

/* A new gossip instance for s->conf, in a new session at the next incarnation, carrying over
 * the live members. Returns 0, or -1 (logged) with the current instance kept. */
static int
site_restart_gossip(struct site *s)
{
	struct gossip_trust *trust = view_trust(s->conf), *old_trust = s->trust;
	struct gossip *g, *old_gossip = s->gossip;
	struct state carry = {0};

	if (trust == NULL || view_carry(s->gossip, &carry) != 0) {
		log_warnx("out of memory: the gossip settings take effect at the next start");
		gossip_trust_free(trust);
		return -1;
	}
	s->trust = trust;
	g = site_start_gossip(s, gossip_next_incarnation(gossip_self(old_gossip)->incarnation),
	                      &carry);
	state_clear(&carry);
	if (g == NULL) {
		s->trust = old_trust;
		gossip_trust_free(trust);
		return -1;
	}
	s->gossip = g;
	site_federation_noted(s);
	gossip_free(old_gossip);
	gossip_trust_free(old_trust);
	return 0;
}

int
site_publish_document(struct site *s, const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
	int kind = cred_kind_of(bytes, len), rc;

	switch (kind) {
	case CRED_KIND_REVOCATION:
		rc = gossip_add_revocation(s->gossip, site_now(), bytes, len, err, errlen);
		break;
	case CRED_KIND_SITE:
		rc = gossip_add_credential(s->gossip, site_now(), bytes, len, err, errlen);
		break;
	case CRED_KIND_AUTHORITIES:
		rc = gossip_add_authorities(s->gossip, site_now(), bytes, len, err, errlen);
		break;
	default:
		snprintf(err, errlen, "not a federation document");
		return -1;
	}
	if (rc == 0) {
		log_info("federation: %s published by the operator",
		         kind == CRED_KIND_REVOCATION ? "revocation"
		         : kind == CRED_KIND_SITE     ? "site credential"
		                                      : "authority update");
		site_publish_federation(s, "operator",
		                        kind == CRED_KIND_REVOCATION ? "revocation"
		                        : kind == CRED_KIND_SITE     ? "credential"
		                                                     : "authorities");
		site_federation_noted(s);
		site_save(s);
		site_after_gossip(s);
	}
	return rc;
}

int
site_reconfigure(struct site *s, const struct conf *conf)
{
	const struct conf *old = s->conf;
	unsigned changes = conf_changes(old, conf);
	struct wire_desc desc;

	if (changes & CONF_CHANGE_GOSSIP_BIND) {
		if (transport_rebind(s->transport, &conf->gossip.bind) < 0)
			log_warnx("gossip stays on its current socket");
	}
	s->conf = conf;
	if (changes & CONF_CHANGE_GOSSIP) {
		if (site_restart_gossip(s) < 0) {
			s->conf = old;
			return -1;
		}
	} else {
		/* The descriptor alone goes out as a new version. */
		view_descriptor(conf, &desc);
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

	gossip_leave(s->gossip, site_now());
	site_after_gossip(s);
	return drain < 2.0 ? drain : 2.0;
}

static int
site_unclamp(void)
{
	int rc = kh_nft_clamp_remove();

	if (rc < 0)
		log_warnx("teardown: nftables table %s: %s", KH_NFT_TABLE, strerror(-rc));
	return rc;
}

int
site_teardown(struct site *s)
{
	int rc;

	s->torn_down = true;
	ev_timer_stop(s->loop, &s->work_timer);
	ev_io_stop(s->loop, &s->monitor_watcher);
	/* A path that changes would schedule a run that puts everything back. */
	pmtud_close(s->pmtud);
	s->pmtud = NULL;
	/* A run that ran out of memory left no desired state: the config's own names serve. */
	if (s->desired == NULL &&
	    mesh_compute(s->conf, NULL, 0, &s->params, site_now(), &s->desired) < 0) {
		log_errx("teardown: out of memory");
		return -1;
	}
	rc = reconcile_teardown(s->reconcile, s->desired);
	if (site_unclamp() < 0)
		rc = -1;
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
	site_flush_logs(s, true);
	ev_timer_stop(s->loop, &s->gossip_timer);
	ev_timer_stop(s->loop, &s->work_timer);
	ev_timer_stop(s->loop, &s->save_timer);
	ev_timer_stop(s->loop, &s->wg_timer);
	ev_io_stop(s->loop, &s->wg_background);
	free(s->wg_seen);
	pmtud_close(s->pmtud);
	free(s->clamps);
	path_free(s->paths);
	transport_close(s->transport);
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
	if (reconcile_teardown(r, desired) < 0 || site_unclamp() < 0) {
		site_log_reports(r, "teardown: ", false);
		goto out;
	}
	rc = 0;
out:
	reconcile_free(r);
	mesh_desired_free(desired);
	return rc;
}

void
site_snapshot(const struct site *s, struct site_snapshot *out)
{
	*out = (struct site_snapshot){
	        .conf = s->conf,
	        .trust = s->trust,
	        .gossip = s->gossip,
	        .session = s->session,
	        .rx_oversize = transport_oversize(s->transport),
	        .desired = s->desired,
	        .reconcile = s->reconcile,
	        .device = site_device(s),
	        .wg_read_failures = s->wg_read_failures,
	        .pmtud = s->pmtud,
	        .paths = s->paths,
	};
}
