/* The membership view: the config into gossip's descriptor and trust table, gossip's members
 * into the mesh's sites and into what is remembered across restarts. */
#include "netd/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "netd/log.h"
#include "netd/policy.h"

static bool
addr_is_wildcard(const struct addr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->u.bytes, zero, addr_len(a->family)) == 0;
}

bool
view_public_address(const struct conf *conf, struct addr_endpoint *out)
{
	*out = conf->gossip.bind;
	if (conf->gossip.has_advertise)
		out->addr = conf->gossip.advertise.addr;
	else if (addr_is_wildcard(&out->addr))
		return false;
	return true;
}

void
view_descriptor(const struct conf *conf, struct wire_desc *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", conf->site_name);
	/* Behind NAT the local address reaches nobody: the endpoints are what others see of
	 * this site (gossip adds them), and a peer tries none before. */
	if (view_public_address(conf, &d->gossip) && !conf->wg.behind_nat) {
		d->endpoints[0] = d->gossip;
		d->endpoints[0].port = conf->wg.listen_port;
		d->nendpoints = 1;
	}
	d->flags =
	        (conf->wg.behind_nat ? WIRE_DESC_NAT : 0) | (conf->wg.relay ? WIRE_DESC_RELAY : 0);
	for (size_t i = 0; i < conf->wg.nrelays && i < WIRE_MAX_RELAYS; i++)
		snprintf(d->relays[d->nrelays++], sizeof(d->relays[0]), "%s", conf->wg.relays[i]);
	for (size_t i = 0; i < conf->noverlay && i < WIRE_MAX_OVERLAY; i++)
		d->overlay[d->noverlay++] = conf->overlay[i];
	for (size_t i = 0; i < conf->nprefixes && i < WIRE_MAX_PREFIXES; i++)
		d->prefixes[d->nprefixes++] = conf->prefixes[i];
	for (size_t i = 0; i < conf->nsegments && i < WIRE_MAX_VNIS; i++)
		d->vnis[d->nvnis++] = conf->segments[i].vni;
}

struct gossip_trust *
view_trust(const struct conf *conf)
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

		if (gossip_trust_add(t, ct->name, ct->public_key, &grant) < 0) {
			gossip_trust_free(t);
			return NULL;
		}
	}
	return t;
}

/* c encoded into buf, *len its length; 0 when there is none or it does not encode. */
static void
encode_own(const struct cred *c, uint8_t buf[CRED_ENCODED_MAX], size_t *len)
{
	int n = c != NULL ? cred_encode(c, buf, CRED_ENCODED_MAX) : -1;

	*len = n > 0 ? (size_t)n : 0;
}

bool
view_federation(const struct conf *conf, struct cred_authorities *set, struct view_credentials *own)
{
	if (!conf->federation.present)
		return false;
	conf_federation_set(conf, set);
	encode_own(conf->federation.credential, own->current, &own->current_len);
	encode_own(conf->federation.next_credential, own->next, &own->next_len);
	return true;
}

int
view_carry(const struct gossip *g, struct state *st)
{
	size_t count = gossip_member_count(g), nrevs = gossip_revocation_count(g), len;
	const uint8_t *update = gossip_authorities_update(g, &len);

	size_t stored = 0;

	st->members = calloc(count ? count : 1, sizeof(*st->members));
	st->cred_refs = calloc(count ? count : 1, sizeof(*st->cred_refs));
	st->revocations = calloc(nrevs ? nrevs : 1, sizeof(*st->revocations));
	/* Room for the longest revocation each; written only as far as they go. */
	st->blob_store = malloc((nrevs + 1) * (size_t)WIRE_BLOB_MAX);
	st->nmembers = st->ncred_refs = st->nrevocations = 0;
	st->authorities.len = update != NULL ? (uint16_t)len : 0;
	if (update != NULL)
		memcpy(st->authorities.bytes, update, len);
	if (st->members == NULL || st->cred_refs == NULL || st->revocations == NULL ||
	    st->blob_store == NULL) {
		state_clear(st);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		struct gossip_member_info mi;

		if (gossip_member(g, i, &mi) != 0 || mi.desc == NULL ||
		    (mi.state != GOSSIP_ALIVE && mi.state != GOSSIP_SUSPECT))
			continue;
		st->members[st->nmembers++] = gossip_desc_ref(gossip_member_desc(g, i));
		if (mi.cred != NULL)
			st->cred_refs[st->ncred_refs++] = gossip_cred_ref(gossip_member_cred(g, i));
	}
	for (size_t i = 0; i < nrevs; i++) {
		struct state_blob *b = &st->revocations[st->nrevocations++];
		size_t n;
		const uint8_t *bytes = gossip_revocation(g, i, &n);

		memcpy(st->blob_store + stored, bytes, n);
		b->bytes = st->blob_store + stored;
		b->len = (uint16_t)n;
		stored += n;
	}
	return 0;
}

void
view_adopt(struct gossip *g, const struct state *st, gossip_time now)
{
	size_t adopted = 0, creds = 0, revs = 0;
	char err[256];

	/* The authority set first, which the rest is checked against; then the revocations: no
	 * remembered credential they cover is admitted again. */
	if (st->authorities.len > 0 &&
	    gossip_add_authorities(g, now, st->authorities.bytes, st->authorities.len, err,
	                           sizeof(err)) != 0)
		log_warnx("gossip: the remembered authority update is not taken: %s", err);
	for (size_t i = 0; i < st->nrevocations; i++)
		if (gossip_add_revocation(g, now, st->revocations[i].bytes, st->revocations[i].len,
		                          err, sizeof(err)) == 0)
			revs++;
	for (size_t i = 0; i < st->ncreds; i++)
		if (gossip_add_credential(g, now, st->creds[i].bytes, st->creds[i].len, err,
		                          sizeof(err)) == 0)
			creds++;
	for (size_t i = 0; i < st->ncred_refs; i++) {
		uint8_t bytes[CRED_ENCODED_MAX];
		int len = gossip_cred_encode(st->cred_refs[i], bytes, sizeof(bytes));

		if (len >= 0 &&
		    gossip_add_credential(g, now, bytes, (size_t)len, err, sizeof(err)) == 0)
			creds++;
	}
	for (size_t i = 0; i < st->nmembers; i++)
		if (gossip_desc_verify(st->members[i]) == 0 &&
		    gossip_add_member(g, now, st->members[i]) == 0)
			adopted++;
	if (st->nmembers > 0 || st->nrevocations > 0)
		log_info("gossip: %zu of %zu remembered members taken into the view (%zu of %zu "
		         "credentials, %zu of %zu revocations)",
		         adopted, st->nmembers, creds, st->ncreds + st->ncred_refs, revs,
		         st->nrevocations);
}

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

/* A member as the mesh takes it: what its trust entry or credential grants of what it says,
 * less what the local policy takes away (c: its credential, NULL for a trust entry's).
 * False when the policy does not peer with it at all. */
static bool
mesh_site_of(const struct gossip_member_info *mi, const struct conf_policy *policy,
             const struct cred *c, struct mesh_site *site, struct view_room *room)
{
	const struct wire_cdesc *d = mi->granted;

	if (policy_site(policy, mi->name, c, NULL, 0) != NULL)
		return false;
	memset(site, 0, sizeof(*site));
	site->name = mi->name;
	/* The key it is admitted under: after a switch to its next key, its descriptor signed
	 * with that key may still be on its way. */
	site->public_key = mi->key;
	site->next_key = mi->next_key;
	if (d->nendpoints > 0) {
		site->endpoint = wire_cdesc_endpoints(d)[0].addr;
		site->endpoint_port = wire_cdesc_endpoints(d)[0].port;
	}
	site->overlay = wire_cdesc_overlay(d);
	site->noverlay = d->noverlay < MESH_MAX_OVERLAY ? d->noverlay : MESH_MAX_OVERLAY;
	/* The lists are the descriptor's own unless the policy takes some away: a room the run
	 * never writes to is never resident (a run's rooms at 10,000 sites are 5 MB). */
	site->prefixes = wire_cdesc_prefixes(d);
	site->nprefixes = d->nprefixes;
	if (policy_narrows(policy, mi->name)) {
		site->nprefixes = policy_narrow(policy, mi->name, site->prefixes, site->nprefixes,
		                                room->prefixes);
		site->prefixes = room->prefixes;
	}
	site->vnis = wire_cdesc_vnis(d);
	site->nvnis = d->nvnis;
	for (size_t k = 0; k < d->nvnis; k++) {
		uint32_t vni = wire_cdesc_vnis(d)[k];

		if (policy_segment(policy, vni, c, NULL, 0) == NULL) {
			if (site->vnis == room->vnis)
				room->vnis[site->nvnis++] = vni;
		} else if (site->vnis != room->vnis) {
			/* The first refused: the ones before it move to the room. */
			memcpy(room->vnis, site->vnis, k * sizeof(*room->vnis));
			site->vnis = room->vnis;
			site->nvnis = k;
		}
	}
	site->state = mesh_state_of(mi->state);
	site->died_at = mi->changed_at;
	site->behind_nat = (d->flags & WIRE_DESC_NAT) || d->nendpoints == 0;
	return true;
}

bool
view_member_cred(const struct gossip_member_info *mi, struct cred *c)
{
	char err[128];

	return mi->cred != NULL && gossip_cred_decode(mi->cred, c, err, sizeof(err)) == 0;
}

size_t
view_mesh_sites(const struct gossip *g, const struct conf_policy *policy, int64_t dead_hold,
                int64_t now, struct mesh_site *sites, struct view_room *rooms, int64_t *hold_end)
{
	size_t n = 0, count = gossip_member_count(g);
	struct cred c;

	*hold_end = 0;
	for (size_t i = 0; i < count; i++) {
		struct gossip_member_info mi;
		int64_t end;

		if (gossip_member(g, i, &mi) < 0 || mi.desc == NULL ||
		    !mesh_site_of(&mi, policy, view_member_cred(&mi, &c) ? &c : NULL, &sites[n],
		                  &rooms[n]))
			continue;
		n++;
		end = mi.changed_at + dead_hold;
		if ((mi.state == GOSSIP_DEAD || mi.state == GOSSIP_LEFT) && end > now &&
		    (*hold_end == 0 || end < *hold_end))
			*hold_end = end;
	}
	return n;
}

static bool
peer_endpoint(const struct seen_peer *p, struct addr_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (p == NULL || p->endpoint.addr.family == AF_UNSPEC)
		return false;
	*ep = p->endpoint;
	return ep->port != 0;
}

void
view_feed_wg(struct gossip *g, const struct seen_device *dev, int64_t now)
{
	size_t count = gossip_member_count(g);

	for (size_t i = 0; dev != NULL && dev->npeers > 0 && i < count; i++) {
		struct gossip_member_info mi;
		struct addr_endpoint ep;
		const struct seen_peer *p;

		if (gossip_member(g, i, &mi) < 0 || mi.desc == NULL)
			continue;
		p = seen_peer_find(dev, mi.key);
		/* Only an endpoint WireGuard learnt from a handshake is news: one never used is
		 * the descriptor's own. */
		if (p != NULL && p->last_handshake_us != 0 && peer_endpoint(p, &ep))
			gossip_member_wg_seen(g, now, mi.name, &ep);
	}
}

size_t
view_path_sites(const struct gossip *g, const struct seen_device *dev, int64_t now,
                int64_t unix_now_us, struct path_site *out)
{
	size_t n = 0, count = gossip_member_count(g);

	for (size_t i = 0; i < count; i++) {
		struct gossip_member_info mi;
		struct path_site *ps = &out[n];
		const struct seen_peer *p;

		if (gossip_member(g, i, &mi) < 0 || mi.desc == NULL)
			continue;
		memset(ps, 0, sizeof(*ps));
		ps->name = mi.name;
		ps->live = mi.state == GOSSIP_ALIVE || mi.state == GOSSIP_SUSPECT;
		ps->offers_relay = (mi.granted->flags & WIRE_DESC_RELAY) != 0;
		ps->relays = wire_cdesc_relays(mi.granted);
		ps->nrelays = mi.granted->nrelays;
		ps->endpoint =
		        mi.granted->nendpoints > 0 ? &wire_cdesc_endpoints(mi.granted)[0] : NULL;
		ps->direct_ok_at = mi.direct_ok_at;
		ps->direct_fail_at = mi.direct_fail_at;
		ps->has_wg = dev != NULL;
		p = seen_peer_find(dev, mi.key);
		if (p != NULL) {
			ps->rx_bytes = p->rx_bytes;
			ps->tx_bytes = p->tx_bytes;
			if (p->last_handshake_us != 0)
				ps->handshake_at = now - (unix_now_us - p->last_handshake_us);
		}
		n++;
	}
	return n;
}
