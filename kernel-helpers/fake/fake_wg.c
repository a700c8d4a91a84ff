/* The fake kernel's WireGuard devices (wg.h): kernel ones as "wireguard" links, userspace
 * ones as the "tun" links wireguard-go makes, both holding the same device model and applying
 * sparse deltas the way the kernel's set-device does. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "kernel-helpers/fake/fake_internal.h"
#include "kernel-helpers/wg.h"
#include "kernel-helpers/wg_internal.h"

#define WIREGUARD_MTU    1420
#define WG_LINK_FLAGS    (IFF_POINTOPOINT | IFF_NOARP)
#define EPHEMERAL_FIRST  32768
#define EPHEMERAL_LAST   60999
#define KEY_B64_SIZE     45
#define ENDPOINT_STRLEN  (INET6_ADDRSTRLEN + 10)
#define IFNAME_TEXT_SIZE (IFNAMSIZ + 12)

struct fake_peer {
	uint8_t public_key[WG_KEY_SIZE];
	uint8_t preshared_key[WG_KEY_SIZE];
	union wg_endpoint endpoint; /* sa_family AF_UNSPEC: none yet */
	uint16_t keepalive;
	struct timespec last_handshake;
	uint64_t rx_bytes, tx_bytes;
	struct addr_prefix *aips; /* canonical (host bits clear), in the kernel's order */
	size_t naips, capaips;
};

struct fake_wg {
	bool has_identity;
	uint8_t private_key[WG_KEY_SIZE]; /* clamped, as the kernel keeps it */
	uint8_t public_key[WG_KEY_SIZE];
	uint16_t port;
	uint32_t fwmark;
	struct fake_peer **peers; /* in the order they were added */
	size_t npeers, cappeers;
};

static struct {
	bool no_kernel; /* fake_wg_set_kernel(false) */
	uint16_t next_port;
	struct wg_device *finished; /* fake_wg_finish_get's, until wg_get_finished takes it */
} W;

static const uint8_t zero_key[WG_KEY_SIZE];

/* Room for one more item in a growing array of size-byte items. */
static int
reserve(void **items, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*items, ncap * size);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = ncap;
	return 0;
}

/* --- state --- */

static void
free_peer(struct fake_peer *p)
{
	if (!p)
		return;
	free(p->aips);
	explicit_bzero(p, sizeof(*p));
	free(p);
}

void
fake_wg_free(struct fake_wg *wg)
{
	if (!wg)
		return;
	for (size_t i = 0; i < wg->npeers; i++)
		free_peer(wg->peers[i]);
	free(wg->peers);
	explicit_bzero(wg, sizeof(*wg));
	free(wg);
}

void
fake_wg_reset(void)
{
	wg_free_device(W.finished);
	memset(&W, 0, sizeof(W));
}

void
fake_wg_set_kernel(bool available)
{
	fake_ensure_ready();
	W.no_kernel = !available;
}

static bool
port_taken(uint16_t port, const struct fake_wg *self)
{
	for (size_t i = 0; fake_link_at(i); i++) {
		const struct fake_link *l = fake_link_at(i);

		if (l->wg && l->wg != self && (l->l.flags & IFF_UP) && l->wg->port == port)
			return true;
	}
	return false;
}

/* A running device without a port is given a free one, as binding to port 0 does. */
static uint16_t
ephemeral_port(const struct fake_wg *self)
{
	for (unsigned tries = 0; tries <= EPHEMERAL_LAST - EPHEMERAL_FIRST; tries++) {
		uint16_t port;

		if (W.next_port < EPHEMERAL_FIRST || W.next_port > EPHEMERAL_LAST)
			W.next_port = EPHEMERAL_FIRST;
		port = W.next_port++;
		if (!port_taken(port, self))
			return port;
	}
	return 0;
}

void
fake_wg_link_up(struct fake_link *link)
{
	if (link->wg && link->wg->port == 0)
		link->wg->port = ephemeral_port(link->wg);
}

static struct fake_peer *
find_peer(const struct fake_wg *wg, const uint8_t key[WG_KEY_SIZE], size_t *index)
{
	for (size_t i = 0; i < wg->npeers; i++) {
		if (memcmp(wg->peers[i]->public_key, key, WG_KEY_SIZE) == 0) {
			if (index)
				*index = i;
			return wg->peers[i];
		}
	}
	return NULL;
}

static void
remove_peer(struct fake_wg *wg, size_t i)
{
	free_peer(wg->peers[i]);
	memmove(&wg->peers[i], &wg->peers[i + 1], (wg->npeers - i - 1) * sizeof(wg->peers[0]));
	wg->npeers--;
}

/* A prefix belongs to one peer: taking it moves it, to the end of the new owner's list. The
 * kernel's trie keeps it with its host bits cleared. */
static int
insert_aip(struct fake_wg *wg, struct fake_peer *peer, const struct addr_prefix *aip)
{
	struct addr_prefix c = addr_prefix_masked(aip);

	if (reserve((void **)&peer->aips, peer->naips, &peer->capaips, sizeof(c)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < wg->npeers; i++) {
		struct fake_peer *p = wg->peers[i];

		for (size_t j = 0; j < p->naips; j++) {
			if (addr_prefix_equal(&p->aips[j], &c)) {
				memmove(&p->aips[j], &p->aips[j + 1],
				        (p->naips - j - 1) * sizeof(c));
				p->naips--;
				break;
			}
		}
	}
	peer->aips[peer->naips++] = c;
	return 0;
}

static const char *
key_text(const uint8_t key[WG_KEY_SIZE], char buf[KEY_B64_SIZE])
{
	return sodium_bin2base64(buf, KEY_B64_SIZE, key, WG_KEY_SIZE,
	                         sodium_base64_VARIANT_ORIGINAL);
}

static const char *
endpoint_text(const union wg_endpoint *ep, char buf[ENDPOINT_STRLEN])
{
	char a[INET6_ADDRSTRLEN];

	if (ep->sa.sa_family == AF_INET && inet_ntop(AF_INET, &ep->sin.sin_addr, a, sizeof(a)))
		snprintf(buf, ENDPOINT_STRLEN, "%s:%u", a, ntohs(ep->sin.sin_port));
	else if (ep->sa.sa_family == AF_INET6 &&
	         inet_ntop(AF_INET6, &ep->sin6.sin6_addr, a, sizeof(a)))
		snprintf(buf, ENDPOINT_STRLEN, "[%s]:%u", a, ntohs(ep->sin6.sin6_port));
	else
		snprintf(buf, ENDPOINT_STRLEN, "family-%u", ep->sa.sa_family);
	return buf;
}

static const char *
aip_text(const struct addr_prefix *aip, char buf[ADDR_PREFIX_STRLEN])
{
	if (addr_len(aip->addr.family))
		return addr_prefix_format(aip, buf);
	snprintf(buf, ADDR_PREFIX_STRLEN, "family-%u/%u", aip->addr.family, aip->len);
	return buf;
}

/* --- calls --- */

static int
injected(size_t slot, int err)
{
	return fake_op_end(slot, kh_fail(err, "%s: %s (injected failure)", fake_op_text(slot),
	                                 strerror(-err)));
}

/* The WireGuard device behind name, as backend_of in wg.c finds it. */
static int
lookup(const char *name, struct fake_link **out)
{
	struct fake_link *l;
	int err = wg_check_name(name);

	if (err < 0)
		return err;
	l = fake_link_by_name(name);
	if (!l)
		return kh_fail(-ENODEV, "%s: no such WireGuard interface", name);
	if (!l->wg)
		return kh_fail(-ENODEV, "%s: not a WireGuard interface", name);
	*out = l;
	return 0;
}

static int
create(const char *name, bool userspace)
{
	struct fake_link *l;
	int err;

	err = fake_link_create(name, userspace ? "tun" : "wireguard", WIREGUARD_MTU,
	                       userspace ? WG_LINK_FLAGS | IFF_MULTICAST : WG_LINK_FLAGS, &l);
	if (err == 0) {
		l->wg = calloc(1, sizeof(*l->wg));
		if (!l->wg) {
			/* Never announced: take it back quietly. */
			enum fake_actor was = fake_current_actor();

			fake_act_as(FAKE_SETUP);
			fake_link_destroy(l);
			fake_act_as(was);
			err = -ENOMEM;
		}
	}
	if (err < 0)
		return kh_fail(err, "%s: cannot create the WireGuard link: %s", name,
		               strerror(-err));
	l->userspace = userspace;
	fake_announce_link(KH_EV_LINK_NEW, &l->l);
	return 0;
}

int
wg_add_kernel_device(const char *name)
{
	struct fake_text t = {0};
	size_t slot;
	int err;

	kh_clear_error();
	fake_text_add(&t, "wg add %s kernel", name ? name : "");
	err = fake_op_begin(FAKE_OP_WG_ADD, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	err = wg_check_name(name);
	if (err < 0)
		return fake_op_end(slot, err);
	if (W.no_kernel)
		return fake_op_end(
		        slot,
		        kh_fail(-EOPNOTSUPP,
		                "%s: cannot create the WireGuard link: %s (kernel: Unknown device "
		                "type)",
		                name, strerror(EOPNOTSUPP)));
	return fake_op_end(slot, create(name, false));
}

int
wg_userspace_start(const char *name, const char *command, bool *adopted)
{
	struct fake_text t = {0};
	struct fake_link *l;
	size_t slot;
	int err;

	/* Nothing is run: the device simply appears. A command other than the default is
	 * told, as the one that would run. */
	kh_clear_error();
	fake_text_add(&t, "wg userspace-start %s", name ? name : "");
	if (command != NULL && strcmp(command, WG_USERSPACE_DEFAULT) != 0)
		fake_text_add(&t, " command %s", command);
	err = fake_op_begin(FAKE_OP_WG_USERSPACE_START, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	err = wg_check_name(name);
	if (err < 0)
		return fake_op_end(slot, err);
	l = fake_link_by_name(name);
	if (l && l->userspace) {
		if (adopted)
			*adopted = true;
		return fake_op_end(slot, 0);
	}
	if (l)
		return fake_op_end(
		        slot,
		        kh_fail(-EEXIST,
		                "%s: the interface exists and is not a userspace WireGuard", name));
	err = create(name, true);
	if (err == 0 && adopted)
		*adopted = false;
	return fake_op_end(slot, err);
}

int
wg_del_device(const char *name)
{
	struct fake_text t = {0};
	struct fake_link *l;
	size_t slot;
	int err;

	kh_clear_error();
	fake_text_add(&t, "wg del %s", name ? name : "");
	err = fake_op_begin(FAKE_OP_WG_DEL, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	err = lookup(name, &l);
	if (err < 0)
		return fake_op_end(slot, err);
	fake_link_destroy(l);
	return fake_op_end(slot, 0);
}

int
wg_device_backend(const char *name, enum wg_backend *backend)
{
	struct fake_text t = {0};
	struct fake_link *l;
	size_t slot;
	int err;

	kh_clear_error();
	fake_text_add(&t, "wg backend %s", name ? name : "");
	err = fake_op_begin(FAKE_OP_WG_BACKEND, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	err = lookup(name, &l);
	if (err < 0)
		return fake_op_end(slot, err);
	*backend = l->userspace ? WG_BACKEND_USERSPACE : WG_BACKEND_KERNEL;
	return fake_op_end(slot, 0);
}

bool
wg_kernel_available(void)
{
	struct fake_text t = {0};
	size_t slot;
	int err;

	kh_clear_error();
	fake_text_add(&t, "wg kernel-available");
	err = fake_op_begin(FAKE_OP_WG_KERNEL_AVAILABLE, &t, &slot);
	if (err < 0) {
		injected(slot, err);
		return false;
	}
	if (W.no_kernel)
		kh_fail(-ENOENT,
		        "the kernel has no WireGuard (no \"wireguard\" generic netlink family)");
	fake_op_end(slot, W.no_kernel ? -ENOENT : 0);
	return !W.no_kernel;
}

int
wg_list_devices(char ***names)
{
	struct fake_text t = {0};
	char **list = NULL;
	size_t slot, count = 0;
	int err = 0;

	kh_clear_error();
	fake_text_add(&t, "wg list");
	err = fake_op_begin(FAKE_OP_WG_LIST, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	/* Kernel devices first, then the userspace ones, as the real one finds them. */
	for (int pass = 0; pass < 2 && err == 0; pass++) {
		for (size_t i = 0; fake_link_at(i) && err == 0; i++) {
			const struct fake_link *l = fake_link_at(i);

			if (l->wg && l->userspace == (pass == 1))
				err = wg_names_add(&list, &count, l->l.name);
		}
	}
	if (err == 0 && !list) {
		list = calloc(1, sizeof(*list));
		if (!list)
			err = -ENOMEM;
	}
	if (err < 0) {
		wg_free_names(list);
		return fake_op_end(slot,
		                   kh_fail(err, "list WireGuard devices: %s", strerror(-err)));
	}
	*names = list;
	return fake_op_end(slot, 0);
}

/* The device as a get reports it: 0, or -ENOMEM. */
static int
read_device(const struct fake_link *l, const char *name, struct wg_device **out)
{
	struct wg_device *dev = wg_device_new(name);

	if (!dev)
		return -ENOMEM;
	/* What both implementations report: port, mark and keepalive always, defaults too. */
	if (!l->userspace)
		dev->ifindex = l->l.ifindex;
	dev->flags = WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK;
	dev->read_at_ms = wg_monotonic_ms();
	dev->listen_port = l->wg->port;
	dev->fwmark = l->wg->fwmark;
	if (l->wg->has_identity) {
		dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_PUBLIC_KEY;
		memcpy(dev->private_key, l->wg->private_key, WG_KEY_SIZE);
		memcpy(dev->public_key, l->wg->public_key, WG_KEY_SIZE);
	}
	for (size_t i = 0; i < l->wg->npeers; i++) {
		const struct fake_peer *fp = l->wg->peers[i];
		struct wg_peer *p = wg_device_add_peer(dev);

		if (!p)
			goto oom;
		memcpy(p->public_key, fp->public_key, WG_KEY_SIZE);
		p->flags = WG_PEER_HAS_KEEPALIVE;
		p->persistent_keepalive = fp->keepalive;
		if (memcmp(fp->preshared_key, zero_key, WG_KEY_SIZE) != 0) {
			p->flags |= WG_PEER_HAS_PRESHARED_KEY;
			memcpy(p->preshared_key, fp->preshared_key, WG_KEY_SIZE);
		}
		if (fp->endpoint.sa.sa_family != AF_UNSPEC) {
			p->flags |= WG_PEER_HAS_ENDPOINT;
			p->endpoint = fp->endpoint;
		}
		p->last_handshake = fp->last_handshake;
		p->rx_bytes = fp->rx_bytes;
		p->tx_bytes = fp->tx_bytes;
		for (size_t j = 0; j < fp->naips; j++)
			if (wg_peer_add_allowedip(p, &fp->aips[j]) < 0)
				goto oom;
	}
	*out = dev;
	return 0;
oom:
	wg_free_device(dev);
	return -ENOMEM;
}

int
wg_get_device(const char *name, struct wg_device **out)
{
	struct fake_text t = {0};
	struct fake_link *l;
	size_t slot;
	int err;

	kh_clear_error();
	fake_text_add(&t, "wg get %s", name ? name : "");
	err = fake_op_begin(FAKE_OP_WG_GET, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	err = lookup(name, &l);
	if (err < 0)
		return fake_op_end(slot, err);
	err = read_device(l, name, out);
	if (err < 0)
		return fake_op_end(slot, kh_fail(err, "%s: out of memory", name));
	return fake_op_end(slot, 0);
}

int
fake_wg_finish_get(const char *device)
{
	struct fake_link *l;
	int err;

	fake_ensure_ready();
	err = lookup(device, &l);
	if (err < 0)
		return err;
	wg_free_device(W.finished);
	W.finished = NULL;
	err = read_device(l, device, &W.finished);
	if (err == 0)
		wg_background_done();
	return err;
}

void
fake_wg_age_finished(int64_t ms)
{
	if (W.finished)
		W.finished->read_at_ms -= ms;
}

/* Not an exchange with the implementation: neither logged nor counted. */
int
wg_get_finished(const char *name, struct wg_device **out)
{
	kh_clear_error();
	if (!W.finished || strcmp(W.finished->name, name) != 0)
		return -EAGAIN;
	*out = W.finished;
	W.finished = NULL;
	return 0;
}

static void
set_text(struct fake_text *t, const struct wg_device *dev)
{
	char k[KEY_B64_SIZE], ep[ENDPOINT_STRLEN], a[ADDR_PREFIX_STRLEN];

	fake_text_add(t, "wg set %s", dev->name);
	if (dev->flags & WG_DEVICE_HAS_PRIVATE_KEY)
		fake_text_add(t, " private-key %s", key_text(dev->private_key, k));
	if (dev->flags & WG_DEVICE_HAS_LISTEN_PORT)
		fake_text_add(t, " listen-port %u", dev->listen_port);
	if (dev->flags & WG_DEVICE_HAS_FWMARK)
		fake_text_add(t, " fwmark %#x", dev->fwmark);
	if (dev->flags & WG_DEVICE_REPLACE_PEERS)
		fake_text_add(t, " replace-peers");
	for (size_t i = 0; i < dev->npeers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		fake_text_add(t, " peer %s", key_text(p->public_key, k));
		if (p->flags & WG_PEER_REMOVE_ME) {
			fake_text_add(t, " remove");
			continue;
		}
		if (p->flags & WG_PEER_UPDATE_ONLY)
			fake_text_add(t, " update-only");
		if (p->flags & WG_PEER_HAS_PRESHARED_KEY)
			fake_text_add(t, " preshared-key %s", key_text(p->preshared_key, k));
		if (p->flags & WG_PEER_HAS_ENDPOINT)
			fake_text_add(t, " endpoint %s", endpoint_text(&p->endpoint, ep));
		if (p->flags & WG_PEER_HAS_KEEPALIVE)
			fake_text_add(t, " persistent-keepalive %u", p->persistent_keepalive);
		if (p->flags & WG_PEER_REPLACE_ALLOWEDIPS)
			fake_text_add(t, " replace-allowed-ips");
		for (size_t j = 0; j < p->nallowedips; j++)
			fake_text_add(t, "%s%s", j ? "," : " allowed-ips ",
			              aip_text(&p->allowedips[j], a));
	}
}

static int
set_port(struct fake_link *l, uint16_t port)
{
	struct fake_wg *wg = l->wg;

	if (port == wg->port)
		return 0;
	/* A device that is down only remembers the port; a running one binds it. */
	if (l->l.flags & IFF_UP) {
		if (port == 0)
			port = ephemeral_port(wg);
		else if (port_taken(port, wg))
			return -EADDRINUSE;
	}
	wg->port = port;
	return 0;
}

static void
set_private_key(struct fake_wg *wg, const uint8_t key[WG_KEY_SIZE])
{
	uint8_t clamped[WG_KEY_SIZE], pub[WG_KEY_SIZE];
	size_t i;

	memcpy(clamped, key, WG_KEY_SIZE);
	clamped[0] &= 248;
	clamped[31] = (uint8_t)((clamped[31] & 127) | 64);
	if (wg->has_identity && memcmp(clamped, wg->private_key, WG_KEY_SIZE) == 0)
		goto out;
	/* A peer with the device's own new public key cannot stay. */
	if (memcmp(key, zero_key, WG_KEY_SIZE) != 0 &&
	    crypto_scalarmult_curve25519_base(pub, clamped) == 0 && find_peer(wg, pub, &i))
		remove_peer(wg, i);
	memcpy(wg->private_key, clamped, WG_KEY_SIZE);
	wg->has_identity = memcmp(key, zero_key, WG_KEY_SIZE) != 0 &&
	                   crypto_scalarmult_curve25519_base(wg->public_key, clamped) == 0;
	if (!wg->has_identity)
		memset(wg->public_key, 0, WG_KEY_SIZE);
out:
	explicit_bzero(clamped, sizeof(clamped));
}

static int
set_peer(struct fake_wg *wg, const struct wg_peer *p)
{
	uint32_t flags = p->flags;
	struct fake_peer *peer;
	size_t index = 0;

	peer = find_peer(wg, p->public_key, &index);
	if (!peer) {
		if (flags & (WG_PEER_REMOVE_ME | WG_PEER_UPDATE_ONLY))
			return 0;
		/* Quietly not a peer of itself, so one list of peers serves every site. */
		if (wg->has_identity && memcmp(p->public_key, wg->public_key, WG_KEY_SIZE) == 0)
			return 0;
		if (reserve((void **)&wg->peers, wg->npeers, &wg->cappeers, sizeof(peer)) < 0)
			return -ENOMEM;
		peer = calloc(1, sizeof(*peer));
		if (!peer)
			return -ENOMEM;
		memcpy(peer->public_key, p->public_key, WG_KEY_SIZE);
		wg->peers[wg->npeers++] = peer;
		flags &= ~(uint32_t)WG_PEER_REPLACE_ALLOWEDIPS;
	}
	if (flags & WG_PEER_REMOVE_ME) {
		remove_peer(wg, index);
		return 0;
	}
	if (flags & WG_PEER_HAS_PRESHARED_KEY)
		memcpy(peer->preshared_key, p->preshared_key, WG_KEY_SIZE);
	if (flags & WG_PEER_HAS_ENDPOINT)
		peer->endpoint = p->endpoint;
	if (flags & WG_PEER_REPLACE_ALLOWEDIPS)
		peer->naips = 0;
	for (size_t j = 0; j < p->nallowedips; j++)
		if (insert_aip(wg, peer, &p->allowedips[j]) < 0)
			return -ENOMEM;
	if (flags & WG_PEER_HAS_KEEPALIVE)
		peer->keepalive = p->persistent_keepalive;
	return 0;
}

int
wg_set_device(const struct wg_device *dev)
{
	struct fake_text t = {0};
	struct fake_link *l;
	struct fake_wg *wg;
	size_t slot;
	int err;

	kh_clear_error();
	set_text(&t, dev);
	err = fake_op_begin(FAKE_OP_WG_SET, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	err = lookup(dev->name, &l);
	if (err < 0)
		return fake_op_end(slot, err);
	err = wg_check_delta(dev);
	if (err < 0)
		return fake_op_end(slot, err);
	if (sodium_init() < 0)
		return fake_op_end(slot, kh_fail(-EIO, "%s: libsodium cannot start", dev->name));
	wg = l->wg;
	/* The kernel's order; a failure half way leaves what was done before it. */
	if (dev->flags & WG_DEVICE_HAS_FWMARK)
		wg->fwmark = dev->fwmark;
	if (dev->flags & WG_DEVICE_HAS_LISTEN_PORT) {
		err = set_port(l, dev->listen_port);
		if (err < 0)
			return fake_op_end(slot,
			                   kh_fail(err, "%s: kernel: listen port %u: %s", dev->name,
			                           dev->listen_port, strerror(-err)));
	}
	if (dev->flags & WG_DEVICE_REPLACE_PEERS)
		while (wg->npeers)
			remove_peer(wg, wg->npeers - 1);
	if (dev->flags & WG_DEVICE_HAS_PRIVATE_KEY)
		set_private_key(wg, dev->private_key);
	for (size_t i = 0; i < dev->npeers; i++) {
		err = set_peer(wg, &dev->peers[i]);
		if (err < 0)
			return fake_op_end(slot, kh_fail(err, "%s: peer %zu: %s", dev->name, i,
			                                 strerror(-err)));
	}
	return fake_op_end(slot, 0);
}

bool
fake_wg_has_peer(const char *device, const uint8_t public_key[WG_KEY_SIZE])
{
	struct fake_link *l = fake_link_by_name(device);

	return l && l->wg && find_peer(l->wg, public_key, NULL);
}

int
fake_wg_set_peer_stats(const char *device, const uint8_t public_key[WG_KEY_SIZE],
                       const struct timespec *last_handshake, uint64_t rx_bytes, uint64_t tx_bytes)
{
	struct fake_link *l = fake_link_by_name(device);
	struct fake_peer *p;

	if (!l || !l->wg)
		return -ENODEV;
	p = find_peer(l->wg, public_key, NULL);
	if (!p)
		return -ENOENT;
	p->last_handshake = *last_handshake;
	p->rx_bytes = rx_bytes;
	p->tx_bytes = tx_bytes;
	return 0;
}
