/* The status socket's replies and the metrics, from read-only views of the daemon and the
 * site. Keys, their order and their types are a contract: netdctl, monitoring and the tests
 * read them. */
#include "netd/status.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-helpers/wg.h"
#include "netd/cred.h"
#include "netd/gossip.h"
#include "netd/key.h"
#include "netd/mesh.h"
#include "netd/metrics.h"
#include "netd/pmtud.h"
#include "netd/path.h"
#include "netd/policy.h"
#include "netd/reconcile.h"
#include "netd/seen.h"

/* Sets key to value, which is taken. A NULL value, from an allocation that failed, fails
 * the set: the caller ORs the results and gives up on the whole reply. */
static int
put(json_t *obj, const char *key, json_t *value)
{
	return value == NULL ? -1 : json_object_set_new(obj, key, value);
}

static int
put_int(json_t *obj, const char *key, json_int_t value)
{
	return put(obj, key, json_integer(value));
}

/* obj when every set into it succeeded, else NULL. */
static json_t *
finish(json_t *obj, int r)
{
	if (r != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* --- what the site holds, looked up --- */

/* Member sites, by trust entry or by credential, by membership state, indexed by enum
 * gossip_state. */
static void
member_counts(const struct site_snapshot *s, size_t counts[GOSSIP_LEFT + 1])
{
	memset(counts, 0, (GOSSIP_LEFT + 1) * sizeof(counts[0]));
	for (size_t i = 0; i < gossip_member_count(s->gossip); i++) {
		struct gossip_member_info mi;

		if (gossip_member(s->gossip, i, &mi) == 0 && mi.state <= GOSSIP_LEFT)
			counts[mi.state]++;
	}
}

/* The member a trust entry names; false when gossip does not know it. */
static bool
find_member(const struct site_snapshot *s, const char *name, struct gossip_member_info *mi)
{
	int idx = gossip_trust_find(s->trust, name);

	return idx >= 0 && gossip_member(s->gossip, (size_t)idx, mi) == 0;
}

/* The member at index i when a credential admitted it (members past the trust table's
 * entries), with that credential decoded; false for any other. */
static bool
credential_member(const struct site_snapshot *s, size_t i, struct gossip_member_info *mi,
                  struct cred *c)
{
	char err[128];

	return i >= gossip_trust_count(s->trust) && gossip_member(s->gossip, i, mi) == 0 &&
	       mi->cred != NULL && gossip_cred_decode(mi->cred, c, err, sizeof(err)) == 0;
}

static uint64_t
ops_total(const uint64_t ops[RECONCILE_OP_COUNT])
{
	uint64_t sum = 0;

	for (size_t i = 0; i < RECONCILE_OP_COUNT; i++)
		sum += ops[i];
	return sum;
}

/* --- federation documents, as their decoded values --- */

/* A document's time: any Unix second, the epoch included, in UTC ISO 8601. */
static json_t *
time_json(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

/* An attribute a document may leave unstated (""): null then. */
static json_t *
stated_json(const char *value)
{
	return value[0] != '\0' ? json_string(value) : json_null();
}

static json_t *
key_json(const uint8_t key[CRED_KEY_LEN])
{
	char b64[KEY_BASE64_SIZE];

	key_to_base64(b64, key);
	return json_string(b64);
}

/* The authorities whose signatures a document carries (verified when gossip took it). */
static json_t *
signers_json(const struct cred_sig *sigs, size_t n)
{
	json_t *a = json_array();
	int r = 0;

	for (size_t i = 0; i < n; i++)
		r |= json_array_append_new(a, key_json(sigs[i].authority));
	return finish(a, r);
}

static json_t *
prefix_list_json(const struct addr_prefix *p, size_t n)
{
	json_t *a = json_array();
	char buf[ADDR_PREFIX_STRLEN];
	int r = 0;

	for (size_t i = 0; i < n; i++)
		r |= json_array_append_new(a, json_string(addr_prefix_format(&p[i], buf)));
	return finish(a, r);
}

static json_t *
vni_list_json(const uint32_t *vnis, size_t n)
{
	json_t *a = json_array();
	int r = 0;

	for (size_t i = 0; i < n; i++)
		r |= json_array_append_new(a, json_integer(vnis[i]));
	return finish(a, r);
}

static json_t *
labels_json(const struct cred *c)
{
	json_t *o = json_object();
	int r = 0;

	for (size_t i = 0; i < c->nlabels; i++)
		r |= put(o, c->labels[i].key, json_string(c->labels[i].value));
	return finish(o, r);
}

/* --- status --- */

static json_t *
backend_json(const struct status_daemon *d)
{
	json_t *o = json_object();
	int r = 0;

	r |= put(o, "configured", json_string(conf_backend_name(d->conf->wg.backend)));
	r |= put(o, "active", json_string(d->backend));
	return finish(o, r);
}

/* The config's counts, and the site's: what it wants of peers, routes and segments. */
static json_t *
counts_json(const struct status_daemon *d, const struct site_snapshot *s)
{
	const struct mesh_desired *want = s->desired;
	json_t *o = json_object();
	int r = 0;

	r |= put_int(o, "trusted_sites", (json_int_t)d->conf->ntrust);
	r |= put_int(o, "segments", (json_int_t)(want ? want->nsegments : 0));
	r |= put_int(o, "prefixes", (json_int_t)d->conf->nprefixes);
	r |= put_int(o, "control_clients", (json_int_t)d->ctl.clients);
	r |= put_int(o, "peers", (json_int_t)(want ? want->npeers : 0));
	r |= put_int(o, "routes", (json_int_t)(want ? want->nroutes : 0));
	return finish(o, r);
}

static json_t *
reloads_json(const struct status_daemon *d)
{
	json_t *o = json_object();
	int r = 0;

	r |= put_int(o, "ok", (json_int_t)d->reloads_ok);
	r |= put_int(o, "failed", (json_int_t)d->reloads_failed);
	r |= put(o, "last", ctl_time_json(d->last_reload));
	r |= put(o, "last_error",
	         d->last_reload_error ? json_string(d->last_reload_error) : json_null());
	return finish(o, r);
}

static json_t *
members_json(const struct site_snapshot *s)
{
	size_t counts[GOSSIP_LEFT + 1];
	json_t *o = json_object();
	int r = 0;

	member_counts(s, counts);
	r |= put_int(o, "alive", (json_int_t)counts[GOSSIP_ALIVE]);
	r |= put_int(o, "suspect", (json_int_t)counts[GOSSIP_SUSPECT]);
	r |= put_int(o, "dead", (json_int_t)counts[GOSSIP_DEAD]);
	r |= put_int(o, "left", (json_int_t)counts[GOSSIP_LEFT]);
	return finish(o, r);
}

/* What this site's descriptor tells the others: behind NAT or not, where its gossip and its
 * tunnels are reached (what other sites see of it, behind NAT), and whether it relays. */
static json_t *
published_json(const struct wire_desc *d)
{
	json_t *o = json_object(), *eps = json_array(), *relays = json_array();
	char buf[ADDR_ENDPOINT_STRLEN];
	int r = 0;

	for (size_t i = 0; i < d->nendpoints; i++)
		r |= json_array_append_new(
		        eps, json_string(addr_endpoint_format(&d->endpoints[i], buf)));
	for (size_t i = 0; i < d->nrelays; i++)
		r |= json_array_append_new(relays, json_string(d->relays[i]));
	r |= put(o, "behind_nat", json_boolean(d->flags & WIRE_DESC_NAT));
	r |= put(o, "gossip", json_string(addr_endpoint_format(&d->gossip, buf)));
	r |= put(o, "endpoints", eps);
	r |= put(o, "relay", json_boolean(d->flags & WIRE_DESC_RELAY));
	r |= put(o, "relays", relays);
	return finish(o, r);
}

static json_t *
gossip_json(const struct site_snapshot *s)
{
	const struct gossip_counters *gc = gossip_counters(s->gossip);
	char bind[ADDR_ENDPOINT_STRLEN], session[17];
	json_t *o = json_object();
	int r = 0;

	addr_endpoint_format(&s->conf->gossip.bind, bind);
	snprintf(session, sizeof(session), "%016" PRIx64, s->session);
	r |= put(o, "bind", json_string(bind));
	r |= put(o, "profile", json_string(conf_gossip_profile_name(s->conf->gossip.profile)));
	r |= put(o, "session", json_string(session));
	r |= put_int(o, "incarnation", (json_int_t)gossip_self(s->gossip)->incarnation);
	r |= put_int(o, "awareness", (json_int_t)gossip_awareness(s->gossip));
	r |= put(o, "members", members_json(s));
	r |= put_int(o, "rx_datagrams", (json_int_t)gc->rx_datagrams);
	r |= put_int(o, "tx_datagrams", (json_int_t)gc->tx_datagrams);
	r |= put_int(o, "pending_broadcasts", (json_int_t)gossip_pending_broadcasts(s->gossip));
	r |= put(o, "published", published_json(gossip_self(s->gossip)));
	return finish(o, r);
}

/* {"events-lost": 0, "drift": 2, "timer": 1}: the resyncs by reason. */
static json_t *
resyncs_json(const struct reconcile_stats *rs)
{
	json_t *o = json_object();
	int r = 0;

	for (size_t i = 0; i < RECONCILE_RESYNC_COUNT; i++)
		r |= put_int(o, reconcile_resync_name(i), (json_int_t)rs->resyncs_by[i]);
	return finish(o, r);
}

/* {"removed": 1, "changed": 1, "foreign": 0}: WireGuard peers found drifted, by kind. */
static json_t *
drifted_json(const struct reconcile_stats *rs)
{
	json_t *o = json_object();
	int r = 0;

	for (size_t i = 0; i < DRIFT_KIND_COUNT; i++)
		r |= put_int(o, drift_kind_name(i), (json_int_t)rs->drifted[i]);
	return finish(o, r);
}

static json_t *
reconcile_json(const struct site_snapshot *s)
{
	struct reconcile_stats rs;
	json_t *o = json_object();
	int r = 0;

	reconcile_get_stats(s->reconcile, &rs);
	r |= put_int(o, "runs", (json_int_t)rs.runs);
	r |= put_int(o, "failed_runs", (json_int_t)rs.failed_runs);
	r |= put_int(o, "applied", (json_int_t)ops_total(rs.applied));
	r |= put_int(o, "failed", (json_int_t)ops_total(rs.failed));
	r |= put_int(o, "last_applied", (json_int_t)rs.last_applied);
	r |= put_int(o, "events", (json_int_t)rs.events);
	r |= put_int(o, "resyncs", (json_int_t)rs.resyncs);
	r |= put(o, "resyncs_by", resyncs_json(&rs));
	r |= put(o, "drifted_peers", drifted_json(&rs));
	r |= put_int(o, "handshakes_started", (json_int_t)rs.handshakes_started);
	r |= put_int(o, "handshakes_retried", (json_int_t)rs.handshakes_retried);
	r |= put_int(o, "handshakes_one_way", (json_int_t)rs.handshakes_one_way);
	r |= put_int(o, "handshakes_waiting", (json_int_t)rs.handshakes_waiting);
	r |= put(o, "dirty", json_boolean(reconcile_dirty(s->reconcile)));
	return finish(o, r);
}

json_t *
status_json(const struct status_daemon *d, const struct site_snapshot *s)
{
	json_t *o = json_object();
	int r = 0;

	r |= put(o, "site", json_string(d->conf->site_name));
	r |= put(o, "version", json_string(NETD_VERSION));
	r |= put_int(o, "uptime_seconds", (json_int_t)d->uptime);
	r |= put(o, "started_at", ctl_time_json(d->started_at));
	r |= put(o, "config_file", json_string(d->conf_path));
	r |= put(o, "interface", json_string(d->conf->wg.interface));
	r |= put(o, "backend", backend_json(d));
	r |= put(o, "counts", counts_json(d, s));
	r |= put(o, "reloads", reloads_json(d));
	r |= put(o, "gossip", gossip_json(s));
	r |= put(o, "reconcile", reconcile_json(s));
	return finish(o, r);
}

/* --- peers --- */

static json_t *
endpoint_json(const struct addr_endpoint *ep)
{
	char buf[ADDR_ENDPOINT_STRLEN];

	if (ep->addr.family == AF_UNSPEC)
		return json_null();
	return json_string(addr_endpoint_format(ep, buf));
}

/* What of a member's newest descriptor its trust entry refused, or null. */
static json_t *
refusal_json(const struct gossip_member_info *mi)
{
	json_t *o;
	int r = 0;

	if (mi->desc == NULL || mi->refusal == GOSSIP_REFUSAL_NONE)
		return json_null();
	o = json_object();
	r |= put_int(o, "incarnation", (json_int_t)mi->desc->incarnation);
	r |= put(o, "reason", json_string(gossip_refusal_name(mi->refusal)));
	r |= put(o, "text", json_string(mi->why));
	return finish(o, r);
}

/* What the data plane uses of what a member says: the granted prefixes, or the granted
 * segments. Empty while nothing is known of it. */
static json_t *
granted_prefixes_json(const struct gossip_member_info *mi)
{
	json_t *a = json_array();
	char buf[ADDR_PREFIX_STRLEN];
	int r = 0;

	for (size_t k = 0; mi->desc != NULL && k < mi->granted->nprefixes; k++)
		r |= json_array_append_new(a, json_string(addr_prefix_format(
		                                      &wire_cdesc_prefixes(mi->granted)[k], buf)));
	return finish(a, r);
}

static json_t *
granted_segments_json(const struct gossip_member_info *mi)
{
	json_t *a = json_array();
	int r = 0;

	for (size_t k = 0; mi->desc != NULL && k < mi->granted->nvnis; k++)
		r |= json_array_append_new(a, json_integer(wire_cdesc_vnis(mi->granted)[k]));
	return finish(a, r);
}

/* The tunnel's figures as last read; without them the peer is listed all the same. */
static int
put_tunnel_figures(json_t *o, const struct seen_peer *wp)
{
	int r = 0;

	r |= put(o, "endpoint", wp ? endpoint_json(&wp->endpoint) : json_null());
	r |= put(o, "last_handshake",
	         wp ? ctl_time_json(wp->last_handshake_us / 1000000) : json_null());
	r |= put_int(o, "rx_bytes", wp ? (json_int_t)wp->rx_bytes : 0);
	r |= put_int(o, "tx_bytes", wp ? (json_int_t)wp->tx_bytes : 0);
	return r;
}

/* What a credential says of a site that a peer listing shows; the catalogue has the rest. */
static json_t *
peer_credential_json(const struct cred *c)
{
	json_t *o = json_object();
	int r = 0;

	r |= put_int(o, "serial", (json_int_t)c->serial);
	r |= put(o, "not_after", time_json(c->not_after));
	r |= put(o, "provider", stated_json(c->provider));
	r |= put(o, "jurisdiction", stated_json(c->jurisdiction));
	return finish(o, r);
}

/* What the local policy takes from a site: the rule that excludes it, or the segments it is not
 * shared and the prefixes not accepted; null when nothing. */
static json_t *
policy_json(const struct conf_policy *p, const char *name, const struct gossip_member_info *mi,
            const struct cred *c)
{
	const struct wire_cdesc *d = mi->granted;
	struct addr_prefix kept[WIRE_MAX_PREFIXES];
	json_t *o = json_object(), *segs = json_array(), *dropped = json_array();
	char why[256], text[ADDR_PREFIX_STRLEN];
	const char *rule = policy_site(p, name, c, why, sizeof(why));
	size_t nkept;
	int r = 0;

	if (rule != NULL) {
		r |= put(o, "excluded", json_pack("{s:s, s:s}", "rule", rule, "why", why));
		json_decref(segs);
		json_decref(dropped);
		return finish(o, r);
	}
	for (size_t i = 0; d != NULL && i < d->nvnis; i++)
		if ((rule = policy_segment(p, wire_cdesc_vnis(d)[i], c, why, sizeof(why))) != NULL)
			r |= json_array_append_new(segs,
			                           json_pack("{s:I, s:s, s:s}", "vni",
			                                     (json_int_t)wire_cdesc_vnis(d)[i],
			                                     "rule", rule, "why", why));
	nkept = d != NULL ? policy_narrow(p, name, wire_cdesc_prefixes(d), d->nprefixes, kept) : 0;
	for (size_t i = 0, k = 0; d != NULL && i < d->nprefixes; i++) {
		if (k < nkept && addr_prefix_equal(&kept[k], &wire_cdesc_prefixes(d)[i]))
			k++;
		else
			r |= json_array_append_new(
			        dropped,
			        json_string(addr_prefix_format(&wire_cdesc_prefixes(d)[i], text)));
	}
	if (json_array_size(segs) == 0 && json_array_size(dropped) == 0) {
		json_decref(o);
		json_decref(segs);
		json_decref(dropped);
		return r ? NULL : json_null();
	}
	r |= put(o, "excluded", json_null());
	r |= put(o, "segments", segs);
	r |= put(o, "prefixes", dropped);
	return finish(o, r);
}

/* Which way its traffic goes: "direct" or "relayed" (through "relay"), why, how often it
 * switched; where gossip hears it from and whether it is behind NAT by its descriptor. */
static json_t *
path_json(const struct site_snapshot *s, const char *name, const struct gossip_member_info *mi)
{
	json_t *o = json_object();
	struct path_info pi = {.mode = PATH_DIRECT};
	char buf[ADDR_ENDPOINT_STRLEN];
	int r = 0;

	if (s->paths == NULL || path_get(s->paths, name, &pi) < 0)
		pi = (struct path_info){.mode = PATH_DIRECT};
	r |= put(o, "mode", json_string(pi.mode == PATH_RELAYED ? "relayed" : "direct"));
	r |= put(o, "relay", pi.relay != NULL ? json_string(pi.relay) : json_null());
	r |= put(o, "reason", pi.reason != NULL ? json_string(pi.reason) : json_null());
	r |= put_int(o, "switches", (json_int_t)pi.switches);
	r |= put(o, "gossip_seen",
	         mi->seen != NULL ? json_string(addr_endpoint_format(mi->seen, buf)) : json_null());
	r |= put(o, "behind_nat",
	         json_boolean(mi->desc != NULL && (mi->desc->flags & WIRE_DESC_NAT)));
	r |= put(o, "offers_relay",
	         json_boolean(mi->desc != NULL && (mi->desc->flags & WIRE_DESC_RELAY)));
	return finish(o, r);
}

/* A member site: mi NULL while gossip has not heard of it, c NULL for a trust entry's. */
static json_t *
peer_json(const struct site_snapshot *s, const char *name, const uint8_t key[KEY_LEN],
          const struct gossip_member_info *mi, const struct cred *c)
{
	static const struct gossip_member_info unheard = {.why = ""};
	const struct mesh_peer *dp = mesh_desired_peer(s->desired, name);
	const struct pmtu *path = pmtud_path(s->pmtud, name);
	json_t *o = json_object();
	int r = 0;

	if (mi == NULL)
		mi = &unheard;
	r |= put(o, "name", json_string(name));
	r |= put(o, "state",
	         json_string(mi != &unheard ? gossip_state_name(mi->state) : "unknown"));
	r |= put_int(o, "incarnation", (json_int_t)mi->incarnation);
	r |= put(o, "tunnel", json_boolean(dp != NULL));
	/* The MTU its routes carry, and whether probes proved it or the tunnel's is assumed. */
	r |= put(o, "path_mtu", dp ? json_integer(dp->path_mtu) : json_null());
	r |= put(o, "path_mtu_learnt",
	         dp ? json_string(path && path->probed ? "probing" : "assumed") : json_null());
	r |= put_int(o, "path_mtu_probes", path ? (json_int_t)path->sent : 0);
	r |= put(o, "prefixes", granted_prefixes_json(mi));
	r |= put(o, "segments", granted_segments_json(mi));
	r |= put(o, "refused", refusal_json(mi));
	r |= put_tunnel_figures(o, seen_peer_find(s->device, key));
	r |= put(o, "admitted_by", json_string(c != NULL ? "credential" : "trust"));
	r |= put(o, "credential", c != NULL ? peer_credential_json(c) : json_null());
	r |= put(o, "policy", policy_json(&s->conf->policy, name, mi, c));
	r |= put(o, "next_key", mi->next_key != NULL ? key_json(mi->next_key) : json_null());
	r |= put(o, "path", path_json(s, name, mi));
	return finish(o, r);
}

json_t *
status_peers_json(const struct site_snapshot *s)
{
	json_t *o = json_object(), *peers = json_array();
	struct gossip_member_info mi;
	struct cred c;
	int r = 0;

	for (size_t i = 0; i < s->conf->ntrust; i++) {
		const struct conf_trust *t = &s->conf->trust[i];
		bool known = find_member(s, t->name, &mi);

		r |= json_array_append_new(
		        peers, peer_json(s, t->name, t->public_key, known ? &mi : NULL, NULL));
	}
	for (size_t i = 0; i < gossip_member_count(s->gossip); i++)
		if (credential_member(s, i, &mi, &c))
			r |= json_array_append_new(peers, peer_json(s, mi.name, c.wg_key, &mi, &c));
	r |= put(o, "peers", peers);
	return finish(o, r);
}

/* --- segments --- */

static json_t *
segment_json(const struct mesh_segment *seg)
{
	json_t *o = json_object(), *members = json_array(), *vteps = json_array();
	char buf[ADDR_STRLEN];
	int r = 0;

	/* Parallel lists: the member sites and the VTEP address each is reached at. */
	for (size_t k = 0; k < seg->nvteps; k++) {
		r |= json_array_append_new(members, json_string(seg->vteps[k].site));
		r |= json_array_append_new(vteps,
		                           json_string(addr_format(&seg->vteps[k].addr, buf)));
	}
	r |= put(o, "name", json_string(seg->name));
	r |= put_int(o, "vni", (json_int_t)seg->vni);
	r |= put(o, "vxlan", json_string(seg->vxlan));
	r |= put(o, "bridge", json_string(seg->bridge));
	r |= put_int(o, "mtu", (json_int_t)seg->mtu);
	/* What TCP SYNs bridged into it are clamped to: the MTU less IPv4 and TCP headers. */
	r |= put_int(o, "mss", seg->mtu > 40 ? (json_int_t)seg->mtu - 40 : 0);
	r |= put(o, "members", members);
	r |= put(o, "vteps", vteps);
	return finish(o, r);
}

json_t *
status_segments_json(const struct site_snapshot *s)
{
	json_t *o = json_object(), *segs = json_array();
	int r = 0;

	for (size_t i = 0; s->desired != NULL && i < s->desired->nsegments; i++)
		r |= json_array_append_new(segs, segment_json(&s->desired->segments[i]));
	r |= put(o, "segments", segs);
	return finish(o, r);
}

/* --- routes --- */

/* Why a desired route is not in the kernel, from the last run's reports, in buf; NULL:
 * installed. */
static const char *
route_problem(const struct site_snapshot *s, const struct mesh_route *r, char *buf, size_t len)
{
	const struct mesh_desired *d = s->desired;
	size_t n;
	const struct reconcile_report *rep = reconcile_reports(s->reconcile, &n);

	for (size_t i = 0; i < n; i++) {
		const struct reconcile_object *o = &rep[i].object;

		if (o->type == RECONCILE_OBJECT_ROUTE && o->table == d->table &&
		    o->metric == d->metric && addr_prefix_equal(&o->dst, mesh_route_dst(d, r)) &&
		    rep[i].kind != RECONCILE_REPORT_ROUTE_YIELDED)
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

/* What the local policy keeps from the routes of member mi (c: its credential, or NULL): the
 * whole site when a rule excludes it, else each prefix a narrow entry does not accept; as
 * problems of kind "policy". */
static void
policy_problems(json_t *problems, const struct conf_policy *p, const struct gossip_member_info *mi,
                const struct cred *c)
{
	const struct wire_cdesc *d = mi->granted;
	struct addr_prefix kept[WIRE_MAX_PREFIXES];
	char why[256], text[512], buf[ADDR_PREFIX_STRLEN];
	const char *rule;
	size_t nkept;

	if (d == NULL)
		return;
	if ((rule = policy_site(p, mi->name, c, why, sizeof(why))) != NULL) {
		snprintf(text, sizeof(text), "no tunnel or route to site %s (%s): %s", mi->name,
		         rule, why);
		json_array_append_new(problems, json_pack("{s:s, s:s, s:s}", "kind", "policy",
		                                          "site", mi->name, "text", text));
		return;
	}
	nkept = policy_narrow(p, mi->name, wire_cdesc_prefixes(d), d->nprefixes, kept);
	for (size_t i = 0, k = 0; i < d->nprefixes; i++) {
		if (k < nkept && addr_prefix_equal(&kept[k], &wire_cdesc_prefixes(d)[i])) {
			k++;
			continue;
		}
		snprintf(
		        text, sizeof(text),
		        "prefix %s of site %s not routed: outside what policy.narrow accepts of it",
		        addr_prefix_format(&wire_cdesc_prefixes(d)[i], buf), mi->name);
		json_array_append_new(problems, json_pack("{s:s, s:s, s:s}", "kind", "policy",
		                                          "site", mi->name, "text", text));
	}
}

/* Another owner's route that overlaps one of netd's, and what netd does about it. */
static json_t *
overlap_json(const struct reconcile_overlap *o)
{
	const struct reconcile_report *rep = o->report;
	const struct addr_prefix *mine =
	        o->action == RECONCILE_OVERLAP_YIELDED ? &rep->netd_route : &rep->object.dst;
	char theirs[ADDR_PREFIX_STRLEN], ours[ADDR_PREFIX_STRLEN], t[16],
	        why[RECONCILE_REPORT_STRLEN];

	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:s?, s:s, s:b, s:s}", "prefix",
	                 addr_prefix_format(&rep->other.dst, theirs), "table",
	                 (json_int_t)rep->other.table, "protocol", (json_int_t)rep->other.protocol,
	                 "type", kh_route_type_name(rep->other.type, t), "route",
	                 addr_prefix_format(mine, ours), "via", rep->site[0] ? rep->site : NULL,
	                 "action", reconcile_overlap_action_name(o->action), "installed",
	                 o->action == RECONCILE_OVERLAP_YIELDED && o->installed, "reason",
	                 reconcile_report_format(rep, false, why, sizeof(why)));
}

static json_t *
overlaps_json(const struct site_snapshot *s)
{
	size_t n;
	const struct reconcile_overlap *o = reconcile_overlaps(s->reconcile, &n);
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, overlap_json(&o[i]));
	return a;
}

/* The tunnel routes and the fail-closed ones as the last run left them, merged by prefix
 * (a tunnel route before the fence of the same prefix, as the metrics go). */
json_t *
status_routes_json(const struct site_snapshot *s)
{
	json_t *routes = json_array(), *problems = json_array();
	const struct mesh_desired *d = s->desired;
	size_t nfences = 0, i = 0, k = 0;
	const struct reconcile_fence *fences = reconcile_fences(s->reconcile, &nfences);
	char buf[ADDR_PREFIX_STRLEN], why[RECONCILE_REPORT_STRLEN];

	if (d == NULL)
		nfences = 0;
	while (d != NULL && (i < d->nroutes || k < nfences)) {
		struct addr_prefix fence = {0};

		if (k < nfences)
			fence = addr_prefix_unpack(&fences[k].dst);
		if (k == nfences ||
		    (i < d->nroutes &&
		     addr_prefix_cmp(mesh_route_dst(d, &d->routes[i]), &fence) <= 0)) {
			const struct mesh_route *r = &d->routes[i++];

			json_array_append_new(
			        routes,
			        route_json(addr_prefix_format(mesh_route_dst(d, r), buf), "unicast",
			                   d->peers[r->peer].site, d->wg.name, d->metric,
			                   route_problem(s, r, why, sizeof(why))));
		} else {
			const struct reconcile_fence *f = &fences[k++];

			json_array_append_new(
			        routes, route_json(addr_prefix_format(&fence, buf), "unreachable",
			                           NULL, NULL, d->failclosed_metric,
			                           reconcile_fence_reason(s->reconcile, f, why,
			                                                  sizeof(why))));
		}
	}
	for (size_t j = 0; d != NULL && j < d->nreports; j++)
		json_array_append_new(problems,
		                      json_pack("{s:s, s:s, s:s}", "kind",
		                                mesh_report_kind_name(d->reports[j].kind), "site",
		                                d->reports[j].site, "text", d->reports[j].text));
	for (size_t j = 0; j < gossip_member_count(s->gossip); j++) {
		struct gossip_member_info mi;
		struct cred c;

		if (credential_member(s, j, &mi, &c))
			policy_problems(problems, &s->conf->policy, &mi, &c);
		else if (gossip_member(s->gossip, j, &mi) == 0)
			policy_problems(problems, &s->conf->policy, &mi, NULL);
	}
	return json_pack("{s:o, s:I, s:I, s:o, s:o}", "routes", routes, "table",
	                 (json_int_t)s->conf->routing.table, "protocol",
	                 (json_int_t)s->conf->routing.protocol, "problems", problems, "overlaps",
	                 overlaps_json(s));
}

/* --- catalogue --- */

/* A site credential as the catalogue lists it: every value it states, the time it has
 * left, and what this site makes of the site (its membership state, what admitted it). */
static json_t *
catalogue_site_json(const struct cred *c, time_t now, const char *state, const char *admitted_by)
{
	json_t *o = json_object();
	int r = 0;

	r |= put(o, "site", json_string(c->site));
	r |= put(o, "wg_key", key_json(c->wg_key));
	r |= put(o, "provider", stated_json(c->provider));
	r |= put(o, "jurisdiction", stated_json(c->jurisdiction));
	r |= put(o, "labels", labels_json(c));
	r |= put(o, "prefixes", prefix_list_json(c->prefixes, c->nprefixes));
	r |= put(o, "vnis", vni_list_json(c->vnis, c->nvnis));
	r |= put(o, "overlay", prefix_list_json(c->overlay, c->noverlay));
	r |= put_int(o, "serial", (json_int_t)c->serial);
	r |= put(o, "not_before", time_json(c->not_before));
	r |= put(o, "not_after", time_json(c->not_after));
	r |= put_int(o, "expires_in", (json_int_t)(c->not_after - (int64_t)now));
	r |= put(o, "signers", signers_json(c->sigs, c->nsigs));
	r |= put(o, "state", json_string(state));
	r |= put(o, "admitted_by", json_string(admitted_by));
	return finish(o, r);
}

/* This site first, by the credential its config names, then every member a credential
 * admitted. Members of the trust table are not federation sites here even when they hold
 * a credential: their trust entry is what admits them. */
static json_t *
catalogue_sites_json(const struct site_snapshot *s, time_t now)
{
	const struct cred *own = s->conf->federation.credential;
	json_t *a = json_array();
	struct gossip_member_info mi;
	struct cred c;
	int r = 0;

	if (own != NULL)
		r |= json_array_append_new(
		        a, catalogue_site_json(own, now, gossip_state_name(GOSSIP_ALIVE), "self"));
	for (size_t i = 0; i < gossip_member_count(s->gossip); i++)
		if (credential_member(s, i, &mi, &c))
			r |= json_array_append_new(
			        a, catalogue_site_json(&c, now, gossip_state_name(mi.state),
			                               "credential"));
	return finish(a, r);
}

/* The revocation's content identity, as gossip's anti-entropy knows it. */
static json_t *
revocation_id_json(const struct cred_revocation *rv)
{
	char id[17];

	snprintf(id, sizeof(id), "%016" PRIx64, cred_revocation_id(rv));
	return json_string(id);
}

static json_t *
catalogue_revocation_json(const struct cred_revocation *rv)
{
	bool by_serial = rv->kind == CRED_REVOKE_SERIAL;
	json_t *o = json_object();
	int r = 0;

	r |= put(o, "id", revocation_id_json(rv));
	r |= put(o, "kind", json_string(by_serial ? "serial" : "key"));
	r |= put(o, "site", by_serial ? json_string(rv->site) : json_null());
	r |= put(o, "serial", by_serial ? json_integer((json_int_t)rv->serial) : json_null());
	r |= put(o, "key", by_serial ? json_null() : key_json(rv->key));
	r |= put(o, "issued", time_json(rv->issued));
	r |= put(o, "reason", json_string(rv->reason));
	r |= put(o, "signers", signers_json(rv->sigs, rv->nsigs));
	return finish(o, r);
}

static json_t *
catalogue_revocations_json(const struct site_snapshot *s)
{
	json_t *a = json_array();
	struct cred_revocation rv;
	char err[128];
	int r = 0;

	for (size_t i = 0; i < gossip_revocation_count(s->gossip); i++) {
		size_t len;
		const uint8_t *bytes = gossip_revocation(s->gossip, i, &len);

		if (cred_revocation_decode(bytes, len, &rv, err, sizeof(err)) == 0)
			r |= json_array_append_new(a, catalogue_revocation_json(&rv));
	}
	return finish(a, r);
}

static json_t *
authorities_json(const struct cred_authorities *set)
{
	json_t *a = json_array();
	int r = 0;

	for (size_t i = 0; i < set->nkeys; i++)
		r |= json_array_append_new(a, key_json(set->keys[i]));
	return finish(a, r);
}

/* The federation: its name, and the authority set in force (the config's, or the newest
 * update gossip took) with its version. */
static json_t *
catalogue_federation_json(const struct gossip *g)
{
	const struct cred_authorities *set = gossip_authorities(g);
	json_t *o;
	int r = 0;

	if (set == NULL)
		return json_null();
	o = json_object();
	r |= put(o, "name", json_string(set->federation));
	r |= put_int(o, "threshold", (json_int_t)set->threshold);
	r |= put(o, "authorities", authorities_json(set));
	r |= put_int(o, "version", (json_int_t)set->version);
	return finish(o, r);
}

json_t *
status_catalogue_json(const struct site_snapshot *s, time_t now)
{
	json_t *o = json_object();
	int r = 0;

	r |= put(o, "federation", catalogue_federation_json(s->gossip));
	r |= put(o, "sites", catalogue_sites_json(s, now));
	r |= put(o, "revocations", catalogue_revocations_json(s));
	return finish(o, r);
}

json_t *
status_published_json(const uint8_t *bytes, size_t len)
{
	struct cred_revocation rv;
	struct cred_authorities a;
	struct cred c;
	char err[128];

	switch (cred_kind_of(bytes, len)) {
	case CRED_KIND_REVOCATION:
		if (cred_revocation_decode(bytes, len, &rv, err, sizeof(err)) < 0)
			return NULL;
		return json_pack("{s:s, s:o}", "published", "revocation", "id",
		                 revocation_id_json(&rv));
	case CRED_KIND_SITE:
		if (cred_decode(bytes, len, &c, err, sizeof(err)) < 0)
			return NULL;
		return json_pack("{s:s, s:s, s:I}", "published", "credential", "site", c.site,
		                 "serial", (json_int_t)c.serial);
	case CRED_KIND_AUTHORITIES:
		if (cred_authorities_decode(bytes, len, &a, err, sizeof(err)) < 0)
			return NULL;
		return json_pack("{s:s, s:I}", "published", "authorities", "version",
		                 (json_int_t)a.version);
	default:
		return NULL;
	}
}

/* --- metrics --- */

/* A family of one sample without labels. */
struct metric_single {
	const char *name, *type, *help;
	double value;
};

static void
metrics_singles(struct metrics *m, const struct metric_single *single, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		metrics_family(m, single[i].name, single[i].type, single[i].help);
		metrics_sample(m, single[i].name, NULL, single[i].value);
	}
}

static void
metrics_daemon(struct metrics *m, const struct status_daemon *d)
{
	const char *const build_labels[] = {"version", NETD_VERSION, "site", d->conf->site_name,
	                                    NULL};
	const char *const ok_labels[] = {"result", "ok", NULL};
	const char *const failed_labels[] = {"result", "failed", NULL};
	const struct ctl_stats *st = &d->ctl;
	const struct metric_single single[] = {
	        {"netd_start_timestamp_seconds", "gauge",
	         "Start time of the daemon since the Unix epoch.", (double)d->started_at},
	        {"netd_config_last_reload_successful", "gauge",
	         "Whether the last configuration reload succeeded (1 before any reload).",
	         d->last_reload_error == NULL ? 1 : 0},
	        {"netd_trusted_sites", "gauge", "Remote sites admitted by the trust configuration.",
	         (double)d->conf->ntrust},
	        {"netd_segments_configured", "gauge", "VXLAN segments this site joins.",
	         (double)d->conf->nsegments},
	        {"netd_prefixes_advertised", "gauge", "Prefixes this site advertises.",
	         (double)d->conf->nprefixes},
	        {"netd_control_clients", "gauge", "Clients connected to the status socket.",
	         (double)st->clients},
	        {"netd_control_subscribers", "gauge", "Status socket clients subscribed to events.",
	         (double)st->subscribers},
	        {"netd_control_connections_total", "counter",
	         "Connections accepted on the status socket.", (double)st->accepted},
	        {"netd_control_rejected_total", "counter",
	         "Connections refused because the client limit was reached.", (double)st->rejected},
	        {"netd_control_evicted_total", "counter",
	         "Idle unprivileged clients closed to make room for root or the control group.",
	         (double)st->evicted},
	        {"netd_control_timed_out_total", "counter",
	         "Clients closed for sending nothing or not completing a request in time.",
	         (double)st->timed_out},
	        {"netd_control_queued_bytes", "gauge",
	         "Reply and event bytes waiting for status socket clients to read them.",
	         (double)st->queued},
	        {"netd_control_requests_total", "counter",
	         "Requests answered on the status socket, errors included.", (double)st->requests},
	        {"netd_control_errors_total", "counter", "Error replies sent on the status socket.",
	         (double)st->errors},
	        {"netd_control_dropped_total", "counter",
	         "Clients disconnected for oversize requests, unread output or lagging events.",
	         (double)st->dropped},
	};

	metrics_family(m, "netd_build_info", "gauge", "Version of netd and the site it serves.");
	metrics_sample(m, "netd_build_info", build_labels, 1);
	metrics_family(m, "netd_config_reloads_total", "counter",
	               "Configuration reloads by result.");
	metrics_sample(m, "netd_config_reloads_total", ok_labels, (double)d->reloads_ok);
	metrics_sample(m, "netd_config_reloads_total", failed_labels, (double)d->reloads_failed);
	metrics_singles(m, single, sizeof(single) / sizeof(single[0]));
}

static void
metrics_members(struct metrics *m, const struct site_snapshot *s)
{
	static const char *const names[] = {"alive", "suspect", "dead", "left"};
	static const enum gossip_state states[] = {GOSSIP_ALIVE, GOSSIP_SUSPECT, GOSSIP_DEAD,
	                                           GOSSIP_LEFT};
	size_t counts[GOSSIP_LEFT + 1];

	member_counts(s, counts);
	metrics_family(m, "netd_members", "gauge",
	               "Member sites, by trust entry or credential, by membership state.");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		const char *labels[] = {"state", names[i], NULL};

		metrics_sample(m, "netd_members", labels, (double)counts[states[i]]);
	}
}

static void
metrics_gossip(struct metrics *m, const struct site_snapshot *s)
{
	const struct gossip_counters *gc = gossip_counters(s->gossip);
	const struct {
		const char *reason;
		uint64_t value;
	} drops[] = {
	        {"malformed", gc->drop_malformed}, {"unknown", gc->drop_unknown},
	        {"forged", gc->drop_forged},       {"replayed", gc->drop_replayed},
	        {"self", gc->drop_self},           {"refused", gc->drop_refused},
	        {"rate", gc->drop_rate},           {"cookie", gc->drop_cookie},
	        {"oversize", s->rx_oversize},      {"stale", gc->drop_stale},
	        {"revoked", gc->drop_revoked},
	};
	const struct metric_single single[] = {
	        {"netd_gossip_received_datagrams_total", "counter", "Gossip datagrams received.",
	         (double)gc->rx_datagrams},
	        {"netd_gossip_received_bytes_total", "counter", "Gossip bytes received.",
	         (double)gc->rx_bytes},
	        {"netd_gossip_sent_datagrams_total", "counter", "Gossip datagrams sent.",
	         (double)gc->tx_datagrams},
	        {"netd_gossip_sent_bytes_total", "counter", "Gossip bytes sent.",
	         (double)gc->tx_bytes},
	        {"netd_gossip_probes_total", "counter", "Members probed.", (double)gc->probes},
	        {"netd_gossip_probe_failures_total", "counter",
	         "Probes that got no acknowledgement, directly or indirectly.",
	         (double)gc->probe_failures},
	        {"netd_gossip_suspicions_total", "counter", "Suspicions this site raised.",
	         (double)gc->suspicions},
	        {"netd_gossip_refutations_total", "counter",
	         "Suspicions of this site that it refuted.", (double)gc->refutations},
	        {"netd_gossip_challenges_total", "counter",
	         "Freshness challenges sent to senders in sessions not confirmed yet.",
	         (double)gc->challenges},
	        {"netd_gossip_incarnation", "gauge", "This site's incarnation.",
	         (double)gossip_self(s->gossip)->incarnation},
	        {"netd_gossip_local_health", "gauge",
	         "Lifeguard's local health score: 0 is healthy.",
	         (double)gossip_awareness(s->gossip)},
	        {"netd_peers", "gauge", "WireGuard peers netd wants.",
	         s->desired ? (double)s->desired->npeers : 0},
	        {"netd_routes", "gauge", "Routes to other sites' prefixes netd wants.",
	         s->desired ? (double)s->desired->nroutes : 0},
	        {"netd_wireguard_read_failures_total", "counter",
	         "Reads of the WireGuard device for status that failed or timed out.",
	         (double)s->wg_read_failures},
	};

	metrics_family(m, "netd_gossip_dropped_total", "counter",
	               "Gossip datagrams dropped, by reason.");
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
		const char *labels[] = {"reason", drops[i].reason, NULL};

		metrics_sample(m, "netd_gossip_dropped_total", labels, (double)drops[i].value);
	}
	metrics_singles(m, single, sizeof(single) / sizeof(single[0]));
}

static void
metrics_refusals(struct metrics *m, const struct site_snapshot *s)
{
	struct gossip_member_info mi;
	struct cred c;

	metrics_family(m, "netd_peer_descriptor_refused", "gauge",
	               "1 while a member site's newest descriptor asks for more than its trust "
	               "entry or credential grants (netdctl peers says what and why).");
	for (size_t i = 0; i < s->conf->ntrust; i++) {
		const char *name = s->conf->trust[i].name;
		bool refused = find_member(s, name, &mi) && mi.refusal != GOSSIP_REFUSAL_NONE;
		const char *labels[] = {"site", name, NULL};

		metrics_sample(m, "netd_peer_descriptor_refused", labels, refused ? 1 : 0);
	}
	for (size_t i = 0; i < gossip_member_count(s->gossip); i++) {
		if (credential_member(s, i, &mi, &c)) {
			const char *labels[] = {"site", mi.name, NULL};

			metrics_sample(m, "netd_peer_descriptor_refused", labels,
			               mi.refusal != GOSSIP_REFUSAL_NONE ? 1 : 0);
		}
	}
}

/* Which way each member's traffic goes, and whether this site is behind NAT. */
static void
metrics_paths(struct metrics *m, const struct site_snapshot *s)
{
	size_t count = gossip_member_count(s->gossip);
	struct gossip_member_info mi;
	struct path_info pi;

	metrics_family(m, "netd_nat", "gauge",
	               "1 while this site is behind NAT, as configured or as others see it.");
	metrics_sample(m, "netd_nat", NULL,
	               (gossip_self(s->gossip)->flags & WIRE_DESC_NAT) ? 1 : 0);
	metrics_family(m, "netd_peer_relayed", "gauge",
	               "1 while a member site's traffic goes through the relay named, its direct "
	               "path failing.");
	for (size_t i = 0; s->paths != NULL && i < count; i++)
		if (gossip_member(s->gossip, i, &mi) == 0 &&
		    path_get(s->paths, mi.name, &pi) == 0 && pi.mode == PATH_RELAYED) {
			const char *labels[] = {"site", mi.name, "relay", pi.relay, NULL};

			metrics_sample(m, "netd_peer_relayed", labels, 1);
		}
	metrics_family(m, "netd_peer_path_switches_total", "counter",
	               "Times a member site's traffic moved to a relay or back to its own tunnel.");
	for (size_t i = 0; s->paths != NULL && i < count; i++)
		if (gossip_member(s->gossip, i, &mi) == 0 &&
		    path_get(s->paths, mi.name, &pi) == 0) {
			const char *labels[] = {"site", mi.name, NULL};

			metrics_sample(m, "netd_peer_path_switches_total", labels,
			               (double)pi.switches);
		}
}

/* The federation: what admitted the members, the credentials and revocations gossip took,
 * and when this site's own credential runs out (no sample while it has none). */
static void
metrics_federation(struct metrics *m, const struct site_snapshot *s)
{
	const struct gossip_counters *gc = gossip_counters(s->gossip);
	const struct cred *own = s->conf->federation.credential;
	size_t by_trust = 0, by_credential = 0;
	const char *const trust_labels[] = {"admitted_by", "trust", NULL};
	const char *const credential_labels[] = {"admitted_by", "credential", NULL};
	const struct metric_single single[] = {
	        {"netd_federation_credentials_admitted_total", "counter",
	         "Site credentials verified and taken: new sites and renewals.",
	         (double)gc->creds_admitted},
	        {"netd_federation_credentials_refused_total", "counter",
	         "Site credentials refused: not verified, revoked or expired.",
	         (double)gc->creds_refused},
	        {"netd_federation_revocations", "gauge", "Revocations held.",
	         (double)gossip_revocation_count(s->gossip)},
	};
	const struct cred_authorities *set = gossip_authorities(s->gossip);

	for (size_t i = 0; i < gossip_member_count(s->gossip); i++) {
		struct gossip_member_info mi;

		if (gossip_member(s->gossip, i, &mi) < 0)
			continue;
		if (mi.cred != NULL)
			by_credential++;
		else
			by_trust++;
	}
	metrics_family(m, "netd_federation_members", "gauge",
	               "Member sites by what admitted them: a trust entry or a federation "
	               "credential.");
	metrics_sample(m, "netd_federation_members", trust_labels, (double)by_trust);
	metrics_sample(m, "netd_federation_members", credential_labels, (double)by_credential);
	metrics_singles(m, single, sizeof(single) / sizeof(single[0]));
	/* After an authority rotation, the gateways still holding an older set are those whose
	 * version is lower than the others'. */
	if (set != NULL) {
		metrics_family(m, "netd_federation_authority_set_version", "gauge",
		               "Version of the federation's authority set in force: 0 for the "
		               "config's, each update higher.");
		metrics_sample(m, "netd_federation_authority_set_version", NULL,
		               (double)set->version);
	}
	if (own != NULL) {
		metrics_family(m, "netd_credential_expiry_timestamp_seconds", "gauge",
		               "When this site's own federation credential expires, since the Unix "
		               "epoch.");
		metrics_sample(m, "netd_credential_expiry_timestamp_seconds", NULL,
		               (double)own->not_after);
	}
}

/* The overlaps as the last run left them, by the other owner's table and what netd does
 * (yields go to main, collisions are in netd's table), and the withdrawals so far. */
static void
metrics_overlaps(struct metrics *m, const struct site_snapshot *s, const struct reconcile_stats *rs)
{
	static const enum reconcile_overlap_action actions[] = {RECONCILE_OVERLAP_YIELDED,
	                                                        RECONCILE_OVERLAP_NOT_INSTALLED,
	                                                        RECONCILE_OVERLAP_WITHDRAWN};
	size_t n;
	const struct reconcile_overlap *o = reconcile_overlaps(s->reconcile, &n);
	uint32_t table = s->conf->routing.table;

	metrics_family(
	        m, "netd_route_overlaps", "gauge",
	        "Other owners' routes overlapping netd's, by their table and what netd does.");
	for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++) {
		uint32_t where = actions[a] == RECONCILE_OVERLAP_YIELDED ? CONF_TABLE_MAIN : table;
		char tbl[16];
		const char *labels[] = {"table", tbl, "action",
		                        reconcile_overlap_action_name(actions[a]), NULL};
		size_t count = 0;

		if (actions[a] == RECONCILE_OVERLAP_YIELDED && table == CONF_TABLE_MAIN)
			continue;
		for (size_t i = 0; i < n; i++)
			count += o[i].action == actions[a];
		snprintf(tbl, sizeof(tbl), "%u", where);
		metrics_sample(m, "netd_route_overlaps", labels, (double)count);
	}
	metrics_family(m, "netd_route_overlap_withdrawals_total", "counter",
	               "Tunnel routes removed because another owner's route came to overlap them.");
	metrics_sample(m, "netd_route_overlap_withdrawals_total", NULL,
	               (double)rs->overlap_withdrawals);
}

static void
metrics_reconcile(struct metrics *m, const struct site_snapshot *s)
{
	struct reconcile_stats rs;

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
	metrics_family(m, "netd_reconcile_resyncs_total", "counter",
	               "Runs that repaired what no event announced, by reason: events the "
	               "netlink monitor lost, drift found on the WireGuard device, the slow "
	               "timer's run finding something to change.");
	for (size_t i = 0; i < RECONCILE_RESYNC_COUNT; i++) {
		const char *labels[] = {"reason", reconcile_resync_name(i), NULL};

		metrics_sample(m, "netd_reconcile_resyncs_total", labels, (double)rs.resyncs_by[i]);
	}
	metrics_family(m, "netd_wireguard_drift_total", "counter",
	               "WireGuard peers found not as netd left them, by kind: removed, changed "
	               "(endpoint, allowed-ips, keepalive, preshared key) or foreign.");
	for (size_t i = 0; i < DRIFT_KIND_COUNT; i++) {
		const char *labels[] = {"kind", drift_kind_name(i), NULL};

		metrics_sample(m, "netd_wireguard_drift_total", labels, (double)rs.drifted[i]);
	}
	metrics_overlaps(m, s, &rs);
}

static double
peer_rx(const struct seen_peer *p)
{
	return (double)p->rx_bytes;
}

static double
peer_tx(const struct seen_peer *p)
{
	return (double)p->tx_bytes;
}

static double
peer_handshake(const struct seen_peer *p)
{
	return (double)(p->last_handshake_us / 1000000);
}

/* Per-peer series, from the WireGuard device's own counters: none while it is not read. */
static void
metrics_peers(struct metrics *m, const struct site_snapshot *s)
{
	static const struct {
		const char *name, *type, *help;
		double (*value)(const struct seen_peer *p);
	} families[] = {
	        {"netd_peer_received_bytes_total", "counter",
	         "Bytes received from each peer site through its tunnel.", peer_rx},
	        {"netd_peer_sent_bytes_total", "counter",
	         "Bytes sent to each peer site through its tunnel.", peer_tx},
	        {"netd_peer_last_handshake_timestamp_seconds", "gauge",
	         "Time of the last WireGuard handshake with each peer site since the Unix epoch "
	         "(0: none).",
	         peer_handshake},
	};
	const struct mesh_desired *want = s->desired;

	if (s->device == NULL || want == NULL)
		return;
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		metrics_family(m, families[f].name, families[f].type, families[f].help);
		/* A site's standby peer (its next key) has a sample only once it is the site's. */
		for (size_t i = 0; i < want->npeers && !want->peers[i].standby; i++) {
			const struct seen_peer *wp =
			        seen_peer_find(s->device, want->peers[i].public_key);
			const char *labels[] = {"site", want->peers[i].site, NULL};

			metrics_sample(m, families[f].name, labels, wp ? families[f].value(wp) : 0);
		}
	}
}

/* The MTU each peer's routes carry, from the desired state: proven by probes or assumed. */
static void
metrics_path_mtu(struct metrics *m, const struct site_snapshot *s)
{
	static const char name[] = "netd_peer_path_mtu_bytes";
	const struct metric_single refused = {
	        "netd_path_mtu_refused_datagrams_total", "counter",
	        "Path MTU datagrams dropped: malformed, or an ack no probe waits for.",
	        (double)pmtud_refused(s->pmtud)};

	metrics_singles(m, &refused, 1);
	if (s->desired == NULL)
		return;
	metrics_family(m, name, "gauge",
	               "Path MTU of each peer site's tunnel: the largest inner packet it carries.");
	for (size_t i = 0; i < s->desired->npeers; i++) {
		const struct mesh_peer *p = &s->desired->peers[i];
		const char *labels[] = {"site", p->site, NULL};

		if (!p->standby)
			metrics_sample(m, name, labels, p->path_mtu);
	}
}

/* The scrape endpoint's own traffic, zeroes while it is off. */
static void
metrics_http(struct metrics *m, const struct httpd_stats *st)
{
	const struct metric_single refused = {
	        "netd_metrics_http_refused_connections_total", "counter",
	        "Connections to the metrics endpoint closed at once, over its connection limits.",
	        (double)st->refused};
	const struct metric_single rejected = {
	        "netd_metrics_http_rejected_requests_total", "counter",
	        "Requests the metrics endpoint's HTTP library refused after their request line, "
	        "before netd saw them: headers over 16 KiB or malformed, or not complete in time.",
	        (double)st->rejected};

	metrics_family(m, "netd_metrics_http_requests_total", "counter",
	               "Requests the metrics endpoint answered, by status code.");
	for (size_t i = 0; i < HTTPD_CODE_COUNT; i++) {
		const char *labels[] = {"code", httpd_code_name(i), NULL};

		metrics_sample(m, "netd_metrics_http_requests_total", labels,
		               (double)st->requests[i]);
	}
	metrics_singles(m, &refused, 1);
	metrics_singles(m, &rejected, 1);
}

char *
status_metrics_text(const struct status_daemon *d, const struct site_snapshot *s)
{
	struct metrics m;

	metrics_init(&m);
	metrics_daemon(&m, d);
	metrics_members(&m, s);
	metrics_gossip(&m, s);
	metrics_refusals(&m, s);
	metrics_paths(&m, s);
	metrics_federation(&m, s);
	metrics_reconcile(&m, s);
	metrics_peers(&m, s);
	metrics_path_mtu(&m, s);
	metrics_http(&m, &d->http);
	return metrics_finish(&m);
}

json_t *
status_metrics_json(const struct status_daemon *d, const struct site_snapshot *s)
{
	char *text = status_metrics_text(d, s);
	json_t *reply;

	if (text == NULL)
		return NULL;
	reply = json_object();
	if (put(reply, "text", json_string(text)) != 0) {
		json_decref(reply);
		reply = NULL;
	}
	free(text);
	return reply;
}
