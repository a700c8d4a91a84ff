/* The fake kernel's links and what hangs off them: addresses, bridge ports, VXLAN FDB
 * entries and neighbours, with the side effects the kernel has when a link goes down or away
 * (rtnl.h's link, address, FDB and neighbour calls). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/neighbour.h>

#include "kernel-helpers/fake/fake_internal.h"
#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtnl.h"

/* linux/if.h has it but clashes with net/if.h. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

#define MIN_MTU          68
#define MAX_MTU          65535
#define VXLAN_PORT       8472 /* the kernel's default destination port */
#define VXLAN_HEADROOM   50
#define VXLAN6_HEADROOM  70
#define VXLAN_VNI_MAX    0xffffffu
#define WIREGUARD_MTU    1420
#define ETHER_FLAGS      (IFF_BROADCAST | IFF_MULTICAST)
#define UP_FLAGS         (IFF_UP | IFF_RUNNING | IFF_LOWER_UP)
#define IFNAME_TEXT_SIZE (IFNAMSIZ + 12)

static struct {
	struct fake_link **links; /* ascending ifindex */
	size_t nlinks, caplinks;
	uint32_t last_ifindex;
	struct kh_ifaddr *addrs;
	size_t naddrs, capaddrs;
	struct kh_fdb *fdb;
	size_t nfdb, capfdb;
	struct kh_neigh *neighs;
	size_t nneighs, capneighs;
} L;

/* Appends one item of size to a growing array; 0 or -ENOMEM. */
static int
grow(void **items, size_t *n, size_t *cap, size_t size, const void *item)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *p = realloc(*items, ncap * size);

		if (!p)
			return -ENOMEM;
		*items = p;
		*cap = ncap;
	}
	memcpy((char *)*items + *n * size, item, size);
	(*n)++;
	return 0;
}

/* Removes item i of an array, keeping the order. */
static void
drop(void *items, size_t *n, size_t size, size_t i)
{
	memmove((char *)items + i * size, (char *)items + (i + 1) * size, (*n - i - 1) * size);
	(*n)--;
}

static int
check_name(const char *what, const char *name)
{
	size_t len = name ? strnlen(name, IFNAMSIZ) : 0;

	if (len == 0 || len >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' '))
		return kh_fail(-EINVAL, "%s: invalid interface name \"%.*s\"", what, IFNAMSIZ,
		               name ? name : "");
	return 0;
}

static bool
is_ether(const struct fake_link *l)
{
	return (l->l.flags & ETHER_FLAGS) == ETHER_FLAGS;
}

static bool
is_bridge(const struct fake_link *l)
{
	return strcmp(l->l.kind, "bridge") == 0;
}

struct fake_link *
fake_link_by_name(const char *name)
{
	fake_ensure_ready();
	for (size_t i = 0; i < L.nlinks; i++)
		if (strcmp(L.links[i]->l.name, name) == 0)
			return L.links[i];
	return NULL;
}

struct fake_link *
fake_link_by_index(uint32_t ifindex)
{
	fake_ensure_ready();
	for (size_t i = 0; i < L.nlinks; i++)
		if (L.links[i]->l.ifindex == ifindex)
			return L.links[i];
	return NULL;
}

struct fake_link *
fake_link_at(size_t i)
{
	fake_ensure_ready();
	return i < L.nlinks ? L.links[i] : NULL;
}

int
fake_link_create(const char *name, const char *kind, uint32_t mtu, uint32_t flags,
                 struct fake_link **out)
{
	struct fake_link *l;

	if (fake_link_by_name(name))
		return -EEXIST;
	if (strlen(kind) >= KH_KIND_SIZE || strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	snprintf(l->l.name, sizeof(l->l.name), "%s", name);
	snprintf(l->l.kind, sizeof(l->l.kind), "%s", kind);
	l->l.ifindex = ++L.last_ifindex;
	l->l.mtu = mtu;
	l->l.flags = flags;
	if ((flags & ETHER_FLAGS) == ETHER_FLAGS) {
		/* Locally administered, and telling which link it belongs to. */
		l->l.mac[0] = 0x02;
		l->l.mac[1] = 0xfa;
		l->l.mac[2] = 0xce;
		l->l.mac[3] = (uint8_t)(l->l.ifindex >> 16);
		l->l.mac[4] = (uint8_t)(l->l.ifindex >> 8);
		l->l.mac[5] = (uint8_t)l->l.ifindex;
	}
	if (grow((void **)&L.links, &L.nlinks, &L.caplinks, sizeof(l), &l) < 0) {
		free(l);
		L.last_ifindex--;
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

void
fake_links_init(void)
{
	struct fake_link *lo;

	L.last_ifindex = 0;
	if (fake_link_create("lo", "", 65536, IFF_LOOPBACK, &lo) == 0)
		fake_announce_link(KH_EV_LINK_NEW, &lo->l);
}

void
fake_links_free(void)
{
	for (size_t i = 0; i < L.nlinks; i++) {
		fake_wg_free(L.links[i]->wg);
		free(L.links[i]);
	}
	free(L.links);
	free(L.addrs);
	free(L.fdb);
	free(L.neighs);
	memset(&L, 0, sizeof(L));
}

/* --- what hangs off a link --- */

static void
announce_addr(enum kh_event_type type, const struct kh_ifaddr *a)
{
	struct kh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.addr = *a;
	fake_announce(&ev);
}

static void
announce_fdb(enum kh_event_type type, const struct kh_fdb *e)
{
	struct kh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.fdb = *e;
	fake_announce(&ev);
}

static void
announce_neigh(enum kh_event_type type, const struct kh_neigh *n)
{
	struct kh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.neigh = *n;
	fake_announce(&ev);
}

/* Removes the link's addresses (only IPv6 ones when family is AF_INET6), announced. */
static void
drop_addrs(uint32_t ifindex, int family)
{
	for (size_t i = 0; i < L.naddrs;) {
		struct kh_ifaddr a = L.addrs[i];

		if (a.ifindex != ifindex || (family && a.prefix.addr.family != family)) {
			i++;
			continue;
		}
		drop(L.addrs, &L.naddrs, sizeof(a), i);
		announce_addr(KH_EV_ADDR_DEL, &a);
	}
}

static void
drop_neighs(uint32_t ifindex)
{
	for (size_t i = 0; i < L.nneighs;) {
		struct kh_neigh n = L.neighs[i];

		if (n.ifindex != ifindex) {
			i++;
			continue;
		}
		drop(L.neighs, &L.nneighs, sizeof(n), i);
		announce_neigh(KH_EV_NEIGH_DEL, &n);
	}
}

/* Removes FDB entries of port ifindex: all of them, or only those its bridge holds. */
static void
drop_fdb(uint32_t ifindex, bool bridge_only)
{
	for (size_t i = 0; i < L.nfdb;) {
		struct kh_fdb e = L.fdb[i];

		if (e.ifindex != ifindex || (bridge_only && !e.master)) {
			i++;
			continue;
		}
		drop(L.fdb, &L.nfdb, sizeof(e), i);
		announce_fdb(KH_EV_FDB_DEL, &e);
	}
}

/* The IPv6 link-local address an Ethernet-like link gets when it comes up (EUI-64). */
static void
add_link_local(const struct fake_link *l)
{
	struct kh_ifaddr a;

	if (!is_ether(l))
		return;
	memset(&a, 0, sizeof(a));
	a.ifindex = l->l.ifindex;
	a.prefix.addr.family = AF_INET6;
	a.prefix.len = 64;
	a.prefix.addr.u.bytes[0] = 0xfe;
	a.prefix.addr.u.bytes[1] = 0x80;
	a.prefix.addr.u.bytes[8] = l->l.mac[0] ^ 0x02;
	a.prefix.addr.u.bytes[9] = l->l.mac[1];
	a.prefix.addr.u.bytes[10] = l->l.mac[2];
	a.prefix.addr.u.bytes[11] = 0xff;
	a.prefix.addr.u.bytes[12] = 0xfe;
	a.prefix.addr.u.bytes[13] = l->l.mac[3];
	a.prefix.addr.u.bytes[14] = l->l.mac[4];
	a.prefix.addr.u.bytes[15] = l->l.mac[5];
	if (grow((void **)&L.addrs, &L.naddrs, &L.capaddrs, sizeof(a), &a) == 0)
		announce_addr(KH_EV_ADDR_NEW, &a);
}

void
fake_link_set_flags_up(struct fake_link *l, bool up)
{
	if (((l->l.flags & IFF_UP) != 0) == up)
		return;
	if (up)
		l->l.flags |= UP_FLAGS;
	else
		l->l.flags &= ~(uint32_t)UP_FLAGS;
	fake_announce_link(KH_EV_LINK_CHANGE, &l->l);
	if (up) {
		add_link_local(l);
		fake_wg_link_up(l);
		return;
	}
	/* What the kernel does on an administrative down. */
	fake_routes_link_down(l->l.ifindex);
	drop_neighs(l->l.ifindex);
	drop_addrs(l->l.ifindex, AF_INET6);
}

/* A bridge whose MTU nobody set follows the smallest of its ports' (1500 without any). */
static void
bridge_adjust_mtu(struct fake_link *br)
{
	uint32_t mtu = 0;

	if (!br || br->mtu_set)
		return;
	for (size_t i = 0; i < L.nlinks; i++)
		if (L.links[i]->l.master == br->l.ifindex && (!mtu || L.links[i]->l.mtu < mtu))
			mtu = L.links[i]->l.mtu;
	if (!mtu)
		mtu = 1500;
	if (mtu == br->l.mtu)
		return;
	br->l.mtu = mtu;
	fake_announce_link(KH_EV_LINK_CHANGE, &br->l);
}

static void
release_port(struct fake_link *port)
{
	struct fake_link *br = fake_link_by_index(port->l.master);

	port->l.master = 0;
	fake_announce_link(KH_EV_LINK_CHANGE, &port->l);
	drop_fdb(port->l.ifindex, true);
	bridge_adjust_mtu(br);
}

static int
enslave_port(struct fake_link *port, struct fake_link *br)
{
	struct kh_fdb e;

	memset(&e, 0, sizeof(e));
	e.ifindex = port->l.ifindex;
	memcpy(e.mac, port->l.mac, KH_MAC_LEN);
	e.master = br->l.ifindex;
	e.state = NUD_PERMANENT;
	e.flags = NTF_MASTER;
	if (grow((void **)&L.fdb, &L.nfdb, &L.capfdb, sizeof(e), &e) < 0)
		return -ENOMEM;
	port->l.master = br->l.ifindex;
	fake_announce_link(KH_EV_LINK_CHANGE, &port->l);
	announce_fdb(KH_EV_FDB_NEW, &e);
	bridge_adjust_mtu(br);
	return 0;
}

void
fake_link_destroy(struct fake_link *l)
{
	uint32_t ifindex = l->l.ifindex;
	struct kh_link gone;
	size_t i;

	/* VXLAN devices over it go with it. */
	for (i = 0; i < L.nlinks;) {
		struct fake_link *o = L.links[i];

		if (o != l && o->l.has_vxlan && o->l.vxlan.underlay == ifindex) {
			fake_link_destroy(o);
			i = 0;
			continue;
		}
		i++;
	}
	for (i = 0; i < L.nlinks; i++)
		if (L.links[i]->l.master == ifindex)
			release_port(L.links[i]);
	if (l->l.master)
		release_port(l);
	fake_routes_link_down(ifindex);
	drop_neighs(ifindex);
	drop_fdb(ifindex, false);
	drop_addrs(ifindex, 0);
	for (i = 0; i < L.nlinks && L.links[i] != l; i++)
		;
	drop(L.links, &L.nlinks, sizeof(l), i);
	gone = l->l;
	gone.flags &= ~(uint32_t)UP_FLAGS;
	fake_wg_free(l->wg);
	free(l);
	fake_announce_link(KH_EV_LINK_DEL, &gone);
}

uint32_t
fake_addr_link(const struct addr *addr, uint32_t oif)
{
	struct addr_prefix host = {.addr = *addr, .len = (uint8_t)(addr_len(addr->family) * 8)};

	for (size_t i = 0; i < L.naddrs; i++) {
		const struct kh_ifaddr *a = &L.addrs[i];
		struct fake_link *l = fake_link_by_index(a->ifindex);

		if ((oif && a->ifindex != oif) || !l || !(l->l.flags & IFF_UP))
			continue;
		if (addr_prefix_contains(&a->prefix, &host))
			return a->ifindex;
	}
	return 0;
}

/* --- calls --- */

/* Runs the injected failure of a call, if any, as its error. */
static int
injected(size_t slot, int err)
{
	return fake_op_end(slot, kh_fail(err, "%s: %s (injected failure)", fake_op_text(slot),
	                                 strerror(-err)));
}

static int
fail(size_t slot, int err, const char *what, const char *why)
{
	return fake_op_end(slot, kh_fail(err, "%s: %s (kernel: %s)", what, strerror(-err), why));
}

int
fake_link_add(const char *name, const char *kind, uint32_t mtu, uint32_t *ifindex)
{
	struct fake_link *l;
	int err;

	err = check_name("create link", name);
	if (err < 0)
		return err;
	/* Those carry a WireGuard device, which only wg_add_device makes whole. */
	if (!strcmp(kind, "wireguard") || !strcmp(kind, "tun"))
		return kh_fail(-EINVAL, "create link %s: make %s devices with wg_add_device", name,
		               kind);
	err = fake_link_create(name, kind, mtu ? mtu : 1500, ETHER_FLAGS, &l);
	if (err < 0)
		return kh_fail(err, "create link %s: %s", name, strerror(-err));
	fake_announce_link(KH_EV_LINK_NEW, &l->l);
	if (ifindex)
		*ifindex = l->l.ifindex;
	return 0;
}

/* The VXLAN device that would receive the same packets as one configured like vx, if any. */
static const struct fake_link *
vni_in_use(const struct kh_vxlan *vx, uint16_t port)
{
	for (size_t i = 0; i < L.nlinks; i++) {
		const struct fake_link *o = L.links[i];

		if (o->l.has_vxlan && o->l.vxlan.vni == vx->vni && o->l.vxlan.port == port &&
		    (o->l.vxlan.local.family == AF_INET6) == (vx->local.family == AF_INET6))
			return o;
	}
	return NULL;
}

int
kh_link_add_vxlan(const char *name, const struct kh_vxlan *vxlan, uint32_t mtu, uint32_t *ifindex)
{
	char what[96], a[ADDR_STRLEN], u[IFNAME_TEXT_SIZE];
	struct fake_text t = {0};
	struct fake_link *l, *under = NULL;
	uint16_t port = vxlan->port ? vxlan->port : VXLAN_PORT;
	uint32_t headroom = vxlan->local.family == AF_INET6 ? VXLAN6_HEADROOM : VXLAN_HEADROOM;
	uint32_t max;
	size_t slot;
	int err;

	fake_text_add(&t, "link add vxlan %s vni %u", name ? name : "", vxlan->vni);
	if (vxlan->local.family != AF_UNSPEC)
		fake_text_add(&t, " local %s", addr_format(&vxlan->local, a));
	fake_text_add(&t, " port %u %s", vxlan->port, vxlan->learning ? "learning" : "nolearning");
	if (vxlan->underlay)
		fake_text_add(&t, " dev %s", fake_ifname(vxlan->underlay, u));
	if (mtu)
		fake_text_add(&t, " mtu %u", mtu);
	err = fake_op_begin(FAKE_OP_LINK_ADD_VXLAN, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	err = check_name("create VXLAN device", name);
	if (err < 0)
		return fake_op_end(slot, err);
	snprintf(what, sizeof(what), "create VXLAN device %s", name);
	if (vxlan->vni > VXLAN_VNI_MAX ||
	    (vxlan->local.family != AF_UNSPEC && !addr_len(vxlan->local.family)))
		return fake_op_end(slot, kh_fail(-EINVAL, "create VXLAN device %s (VNI %u): %s",
		                                 name, vxlan->vni, strerror(EINVAL)));
	if (fake_link_by_name(name))
		return fail(slot, -EEXIST, what, "a link of that name exists");
	if (vxlan->underlay) {
		under = fake_link_by_index(vxlan->underlay);
		if (!under)
			return fail(slot, -ENODEV, what, "no such underlay device");
	}
	if (vni_in_use(vxlan, port))
		return fail(slot, -EEXIST, what,
		            "A VXLAN device with the specified VNI already exists");
	if (mtu && (mtu < MIN_MTU || mtu > MAX_MTU))
		return fail(slot, -EINVAL, what, "MTU out of the device's range");
	/* Over an underlay, more than it can carry is quietly cut to what fits. */
	max = under ? under->l.mtu - headroom : MAX_MTU;
	if (!mtu)
		mtu = under ? max : 1500;
	else if (mtu > max)
		mtu = max;
	err = fake_link_create(name, "vxlan", mtu, ETHER_FLAGS, &l);
	if (err < 0)
		return fail(slot, err, what, "cannot create the link");
	l->l.has_vxlan = true;
	l->l.vxlan = *vxlan;
	l->l.vxlan.port = port;
	fake_announce_link(KH_EV_LINK_NEW, &l->l);
	if (ifindex)
		*ifindex = l->l.ifindex;
	return fake_op_end(slot, 0);
}

int
kh_link_add_bridge(const char *name, uint32_t mtu, uint32_t *ifindex)
{
	char what[64];
	struct fake_text t = {0};
	struct fake_link *l;
	size_t slot;
	int err;

	fake_text_add(&t, "link add bridge %s", name ? name : "");
	if (mtu)
		fake_text_add(&t, " mtu %u", mtu);
	err = fake_op_begin(FAKE_OP_LINK_ADD_BRIDGE, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	err = check_name("create bridge", name);
	if (err < 0)
		return fake_op_end(slot, err);
	snprintf(what, sizeof(what), "create bridge %s", name);
	if (fake_link_by_name(name))
		return fail(slot, -EEXIST, what, "a link of that name exists");
	if (mtu && (mtu < MIN_MTU || mtu > MAX_MTU))
		return fail(slot, -EINVAL, what, "MTU out of the device's range");
	/* A creation MTU is not "set by the user": the bridge still follows its ports. */
	err = fake_link_create(name, "bridge", mtu ? mtu : 1500, ETHER_FLAGS, &l);
	if (err < 0)
		return fail(slot, err, what, "cannot create the link");
	fake_announce_link(KH_EV_LINK_NEW, &l->l);
	if (ifindex)
		*ifindex = l->l.ifindex;
	return fake_op_end(slot, 0);
}

int
kh_link_del(uint32_t ifindex)
{
	char what[48], n[IFNAME_TEXT_SIZE];
	struct fake_text t = {0};
	struct fake_link *l;
	size_t slot;
	int err;

	fake_text_add(&t, "link del %s", fake_ifname(ifindex, n));
	err = fake_op_begin(FAKE_OP_LINK_DEL, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	snprintf(what, sizeof(what), "delete link %u", ifindex);
	l = fake_link_by_index(ifindex);
	if (!l)
		return fail(slot, -ENODEV, what, "no such device");
	if (l->l.flags & IFF_LOOPBACK)
		return fail(slot, -EOPNOTSUPP, what, "the loopback device stays");
	fake_link_destroy(l);
	return fake_op_end(slot, 0);
}

static int
get_link(struct fake_link *l, const char *what, struct kh_link *out, size_t slot)
{
	if (!l)
		return fail(slot, -ENODEV, what, "no such device");
	*out = l->l;
	return fake_op_end(slot, 0);
}

int
kh_link_get(const char *name, struct kh_link *link)
{
	char what[48];
	struct fake_text t = {0};
	size_t slot;
	int err;

	fake_text_add(&t, "link get %s", name ? name : "");
	err = fake_op_begin(FAKE_OP_LINK_GET, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	err = check_name("read link", name);
	if (err < 0)
		return fake_op_end(slot, err);
	snprintf(what, sizeof(what), "read link %s", name);
	return get_link(fake_link_by_name(name), what, link, slot);
}

int
kh_link_get_index(uint32_t ifindex, struct kh_link *link)
{
	char what[48];
	struct fake_text t = {0};
	size_t slot;
	int err;

	fake_text_add(&t, "link get #%u", ifindex);
	err = fake_op_begin(FAKE_OP_LINK_GET, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	snprintf(what, sizeof(what), "read link %u", ifindex);
	return get_link(ifindex ? fake_link_by_index(ifindex) : NULL, what, link, slot);
}

int
kh_link_list(struct kh_link **links, size_t *n)
{
	struct fake_text t = {0};
	struct kh_link *out = NULL;
	size_t slot;
	int err;

	fake_text_add(&t, "link list");
	err = fake_op_begin(FAKE_OP_LINK_LIST, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	if (L.nlinks) {
		out = malloc(L.nlinks * sizeof(*out));
		if (!out)
			return fake_op_end(slot, kh_fail(-ENOMEM, "list links: out of memory"));
		for (size_t i = 0; i < L.nlinks; i++)
			out[i] = L.links[i]->l;
	}
	*links = out;
	*n = L.nlinks;
	return fake_op_end(slot, 0);
}

int
kh_link_set_master(uint32_t ifindex, uint32_t master)
{
	char what[64], n[IFNAME_TEXT_SIZE], m[IFNAME_TEXT_SIZE];
	struct fake_text t = {0};
	struct fake_link *port, *br = NULL;
	size_t slot;
	int err;

	if (master)
		fake_text_add(&t, "link set %s master %s", fake_ifname(ifindex, n),
		              fake_ifname(master, m));
	else
		fake_text_add(&t, "link set %s nomaster", fake_ifname(ifindex, n));
	err = fake_op_begin(FAKE_OP_LINK_SET_MASTER, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	if (master)
		snprintf(what, sizeof(what), "enslave link %u to bridge %u", ifindex, master);
	else
		snprintf(what, sizeof(what), "release link %u from its bridge", ifindex);
	port = fake_link_by_index(ifindex);
	if (!port)
		return fail(slot, -ENODEV, what, "no such device");
	if (master) {
		br = fake_link_by_index(master);
		if (!br)
			return fail(slot, -EINVAL, what, "no such master device");
		if (!is_bridge(br))
			return fail(slot, -EOPNOTSUPP, what, "the master is not a bridge");
		if (is_bridge(port))
			return fail(slot, -ELOOP, what, "Can not enslave a bridge to a bridge");
		if (!is_ether(port))
			return fail(slot, -EINVAL, what, "not an Ethernet device");
	}
	if (port->l.master == master)
		return fake_op_end(slot, 0);
	if (port->l.master)
		release_port(port);
	if (br && enslave_port(port, br) < 0)
		return fail(slot, -ENOMEM, what, "out of memory");
	return fake_op_end(slot, 0);
}

int
kh_link_set_mtu(uint32_t ifindex, uint32_t mtu)
{
	char what[64], n[IFNAME_TEXT_SIZE];
	struct fake_text t = {0};
	struct fake_link *l, *under;
	uint32_t max = MAX_MTU;
	size_t slot;
	int err;

	fake_text_add(&t, "link set %s mtu %u", fake_ifname(ifindex, n), mtu);
	err = fake_op_begin(FAKE_OP_LINK_SET_MTU, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	snprintf(what, sizeof(what), "set MTU %u on link %u", mtu, ifindex);
	l = fake_link_by_index(ifindex);
	if (!l)
		return fail(slot, -ENODEV, what, "no such device");
	if (l->l.has_vxlan && l->l.vxlan.underlay &&
	    (under = fake_link_by_index(l->l.vxlan.underlay)))
		max = under->l.mtu -
		      (l->l.vxlan.local.family == AF_INET6 ? VXLAN6_HEADROOM : VXLAN_HEADROOM);
	if (mtu < MIN_MTU)
		return fail(slot, -EINVAL, what, "mtu less than device minimum");
	if (mtu > max)
		return fail(slot, -EINVAL, what, "mtu greater than device maximum");
	if (is_bridge(l))
		l->mtu_set = true;
	if (l->l.mtu == mtu)
		return fake_op_end(slot, 0);
	l->l.mtu = mtu;
	fake_announce_link(KH_EV_LINK_CHANGE, &l->l);
	if (l->l.master)
		bridge_adjust_mtu(fake_link_by_index(l->l.master));
	return fake_op_end(slot, 0);
}

int
kh_link_set_up(uint32_t ifindex, bool up)
{
	char what[64], n[IFNAME_TEXT_SIZE];
	struct fake_text t = {0};
	struct fake_link *l;
	size_t slot;
	int err;

	fake_text_add(&t, "link set %s %s", fake_ifname(ifindex, n), up ? "up" : "down");
	err = fake_op_begin(FAKE_OP_LINK_SET_UP, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	snprintf(what, sizeof(what), "set link %u %s", ifindex, up ? "up" : "down");
	l = fake_link_by_index(ifindex);
	if (!l)
		return fail(slot, -ENODEV, what, "no such device");
	fake_link_set_flags_up(l, up);
	return fake_op_end(slot, 0);
}

/* --- addresses --- */

static int
ifaddr_find(const struct kh_ifaddr *a)
{
	for (size_t i = 0; i < L.naddrs; i++)
		if (L.addrs[i].ifindex == a->ifindex &&
		    addr_prefix_equal(&L.addrs[i].prefix, &a->prefix))
			return (int)i;
	return -1;
}

static int
ifaddr_change(const struct kh_ifaddr *addr, bool del)
{
	char what[96], p[ADDR_PREFIX_STRLEN], n[IFNAME_TEXT_SIZE];
	const char *verb = del ? "delete" : "add";
	struct fake_text t = {0};
	size_t slot;
	int err, i;

	addr_prefix_format(&addr->prefix, p);
	fake_text_add(&t, "addr %s %s dev %s", del ? "del" : "add", p,
	              fake_ifname(addr->ifindex, n));
	err = fake_op_begin(del ? FAKE_OP_ADDR_DEL : FAKE_OP_ADDR_ADD, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	snprintf(what, sizeof(what), "%s address %s on link %u", verb, p, addr->ifindex);
	if (!addr_len(addr->prefix.addr.family) ||
	    addr->prefix.len > addr_len(addr->prefix.addr.family) * 8)
		return fake_op_end(slot, kh_fail(-EINVAL, "%s: %s", what, strerror(EINVAL)));
	if (!fake_link_by_index(addr->ifindex))
		return fail(slot, -ENODEV, what, "no such device");
	i = ifaddr_find(addr);
	if (del) {
		struct kh_ifaddr gone;

		if (i < 0)
			return fail(slot, -EADDRNOTAVAIL, what, "Address not found");
		gone = L.addrs[i];
		drop(L.addrs, &L.naddrs, sizeof(gone), (size_t)i);
		announce_addr(KH_EV_ADDR_DEL, &gone);
		return fake_op_end(slot, 0);
	}
	/* Adding it again refreshes it, which the kernel announces too. */
	if (i < 0 && grow((void **)&L.addrs, &L.naddrs, &L.capaddrs, sizeof(*addr), addr) < 0)
		return fake_op_end(slot, kh_fail(-ENOMEM, "%s: out of memory", what));
	announce_addr(KH_EV_ADDR_NEW, addr);
	return fake_op_end(slot, 0);
}

int
kh_ifaddr_add(const struct kh_ifaddr *addr)
{
	return ifaddr_change(addr, false);
}

int
kh_ifaddr_del(const struct kh_ifaddr *addr)
{
	return ifaddr_change(addr, true);
}

static const char *
family_word(int family)
{
	return family == AF_INET ? " inet" : family == AF_INET6 ? " inet6" : "";
}

int
kh_ifaddr_list(uint32_t ifindex, int family, struct kh_ifaddr **addrs, size_t *n)
{
	char name[IFNAME_TEXT_SIZE];
	struct fake_text t = {0};
	struct kh_ifaddr *out = NULL;
	size_t slot, k = 0;
	int err;

	fake_text_add(&t, "addr list");
	if (ifindex)
		fake_text_add(&t, " dev %s", fake_ifname(ifindex, name));
	fake_text_add(&t, "%s", family_word(family));
	err = fake_op_begin(FAKE_OP_ADDR_LIST, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	if (L.naddrs) {
		out = malloc(L.naddrs * sizeof(*out));
		if (!out)
			return fake_op_end(slot, kh_fail(-ENOMEM, "list addresses: out of memory"));
	}
	for (size_t i = 0; i < L.naddrs; i++) {
		if ((ifindex && L.addrs[i].ifindex != ifindex) ||
		    (family != AF_UNSPEC && L.addrs[i].prefix.addr.family != family))
			continue;
		out[k++] = L.addrs[i];
	}
	if (!k) {
		free(out);
		out = NULL;
	}
	*addrs = out;
	*n = k;
	return fake_op_end(slot, 0);
}

/* --- FDB --- */

static bool
mac_is_zero_or_multicast(const uint8_t mac[KH_MAC_LEN])
{
	static const uint8_t zero[KH_MAC_LEN];

	return (mac[0] & 1) || memcmp(mac, zero, KH_MAC_LEN) == 0;
}

/* Self entries of the device for mac: the first, and how many (one per VTEP). */
static size_t
fdb_find(uint32_t ifindex, const uint8_t mac[KH_MAC_LEN], const struct addr *dst, size_t *count)
{
	size_t first = SIZE_MAX, k = 0;

	for (size_t i = 0; i < L.nfdb; i++) {
		const struct kh_fdb *e = &L.fdb[i];

		if (e->ifindex != ifindex || e->master || memcmp(e->mac, mac, KH_MAC_LEN) != 0)
			continue;
		if (dst && !addr_equal(&e->dst, dst))
			continue;
		if (first == SIZE_MAX)
			first = i;
		k++;
	}
	if (count)
		*count = k;
	return first;
}

static int
fdb_change(const struct kh_fdb *entry, enum fake_op_kind kind)
{
	static const char *const verbs[] = {"append", "replace", "delete"};
	char what[112], mac[KH_MAC_STRLEN], dst[ADDR_STRLEN], n[IFNAME_TEXT_SIZE];
	const char *verb = verbs[kind == FAKE_OP_FDB_APPEND    ? 0
	                         : kind == FAKE_OP_FDB_REPLACE ? 1
	                                                       : 2];
	struct fake_text t = {0};
	struct fake_link *l;
	struct kh_fdb e;
	size_t slot, i, count;
	int err, family;

	kh_mac_format(entry->mac, mac);
	addr_format(&entry->dst, dst);
	fake_text_add(&t, "%s %s dev %s dst %s", fake_op_name(kind), mac,
	              fake_ifname(entry->ifindex, n), dst);
	err = fake_op_begin(kind, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	snprintf(what, sizeof(what), "%s FDB entry %s dst %s on link %u", verb, mac, dst,
	         entry->ifindex);
	if (!entry->ifindex || !addr_len(entry->dst.family))
		return fake_op_end(slot, kh_fail(-EINVAL, "%s: no link or no VTEP address", what));
	l = fake_link_by_index(entry->ifindex);
	if (!l)
		return fail(slot, -ENODEV, what, "no such device");
	if (!l->l.has_vxlan)
		return fail(slot, -EOPNOTSUPP, what, "only VXLAN devices take remote VTEPs");
	/* A device speaks one address family: IPv6 when its source address is one. */
	family = l->l.vxlan.local.family == AF_INET6 ? AF_INET6 : AF_INET;
	if (entry->dst.family != family)
		return fail(slot, -EAFNOSUPPORT, what, "VTEP of the other address family");
	memset(&e, 0, sizeof(e));
	e.ifindex = entry->ifindex;
	memcpy(e.mac, entry->mac, KH_MAC_LEN);
	e.dst = entry->dst;
	e.state = NUD_PERMANENT;
	e.flags = NTF_SELF;
	i = fdb_find(e.ifindex, e.mac, NULL, &count);
	switch (kind) {
	case FAKE_OP_FDB_APPEND:
		/* Another VTEP for flooded MACs; an existing unicast entry stays as it is. */
		if (count && (!mac_is_zero_or_multicast(e.mac) ||
		              fdb_find(e.ifindex, e.mac, &e.dst, NULL) != SIZE_MAX))
			return fake_op_end(slot, 0);
		break;
	case FAKE_OP_FDB_REPLACE:
		if (mac_is_zero_or_multicast(e.mac))
			return fail(slot, -EOPNOTSUPP, what,
			            "Cannot replace non-unicast fdb entries");
		if (count) {
			L.fdb[i].dst = e.dst;
			announce_fdb(KH_EV_FDB_NEW, &L.fdb[i]);
			return fake_op_end(slot, 0);
		}
		break;
	default:
		if (!count)
			return fail(slot, -ENOENT, what, "no entry for that MAC");
		i = fdb_find(e.ifindex, e.mac, &e.dst, NULL);
		/* Another VTEP of an existing MAC is no error and no change. */
		if (i == SIZE_MAX)
			return fake_op_end(slot, 0);
		e = L.fdb[i];
		drop(L.fdb, &L.nfdb, sizeof(e), i);
		announce_fdb(KH_EV_FDB_DEL, &e);
		return fake_op_end(slot, 0);
	}
	if (grow((void **)&L.fdb, &L.nfdb, &L.capfdb, sizeof(e), &e) < 0)
		return fake_op_end(slot, kh_fail(-ENOMEM, "%s: out of memory", what));
	announce_fdb(KH_EV_FDB_NEW, &e);
	return fake_op_end(slot, 0);
}

int
kh_fdb_append(const struct kh_fdb *entry)
{
	return fdb_change(entry, FAKE_OP_FDB_APPEND);
}

/* The fake answers a batch as the kernel does, entry by entry, each logged as the single
 * call it stands for. */
size_t
kh_fdb_append_many(const struct kh_fdb *entries, size_t n, kh_fdb_done_cb done, void *arg)
{
	size_t failed = 0;

	for (size_t i = 0; i < n; i++) {
		int err = kh_fdb_append(&entries[i]);

		failed += err < 0;
		done(i, err, err < 0 ? kh_last_error() : NULL, arg);
	}
	return failed;
}

int
kh_fdb_replace(const struct kh_fdb *entry)
{
	return fdb_change(entry, FAKE_OP_FDB_REPLACE);
}

int
kh_fdb_del(const struct kh_fdb *entry)
{
	return fdb_change(entry, FAKE_OP_FDB_DEL);
}

int
kh_fdb_list(uint32_t ifindex, struct kh_fdb **entries, size_t *n)
{
	char name[IFNAME_TEXT_SIZE];
	struct fake_text t = {0};
	struct kh_fdb *out = NULL;
	size_t slot, k = 0;
	int err;

	fake_text_add(&t, "fdb list dev %s", fake_ifname(ifindex, name));
	err = fake_op_begin(FAKE_OP_FDB_LIST, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	if (L.nfdb) {
		out = malloc(L.nfdb * sizeof(*out));
		if (!out)
			return fake_op_end(
			        slot,
			        kh_fail(-ENOMEM, "list FDB of link %u: out of memory", ifindex));
	}
	for (size_t i = 0; i < L.nfdb; i++)
		if (L.fdb[i].ifindex == ifindex)
			out[k++] = L.fdb[i];
	if (!k) {
		free(out);
		out = NULL;
	}
	*entries = out;
	*n = k;
	return fake_op_end(slot, 0);
}

/* --- neighbours --- */

static int
neigh_find(const struct kh_neigh *n)
{
	for (size_t i = 0; i < L.nneighs; i++)
		if (L.neighs[i].ifindex == n->ifindex && addr_equal(&L.neighs[i].ip, &n->ip))
			return (int)i;
	return -1;
}

static int
neigh_change(const struct kh_neigh *neigh, bool del)
{
	char what[96], ip[ADDR_STRLEN], mac[KH_MAC_STRLEN], n[IFNAME_TEXT_SIZE];
	struct fake_text t = {0};
	struct kh_neigh e;
	size_t slot;
	int err, i;

	addr_format(&neigh->ip, ip);
	if (del)
		fake_text_add(&t, "neigh del %s dev %s", ip, fake_ifname(neigh->ifindex, n));
	else
		fake_text_add(&t, "neigh replace %s lladdr %s dev %s", ip,
		              kh_mac_format(neigh->mac, mac), fake_ifname(neigh->ifindex, n));
	err = fake_op_begin(del ? FAKE_OP_NEIGH_DEL : FAKE_OP_NEIGH_REPLACE, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	snprintf(what, sizeof(what), "%s neighbour %s on link %u", del ? "delete" : "replace", ip,
	         neigh->ifindex);
	if (!neigh->ifindex || !addr_len(neigh->ip.family))
		return fake_op_end(slot, kh_fail(-EINVAL, "%s: no link or no IP address", what));
	if (!fake_link_by_index(neigh->ifindex))
		return fail(slot, -ENODEV, what, "no such device");
	i = neigh_find(neigh);
	if (del) {
		if (i < 0)
			return fail(slot, -ENOENT, what, "no such neighbour");
		e = L.neighs[i];
		drop(L.neighs, &L.nneighs, sizeof(e), (size_t)i);
		announce_neigh(KH_EV_NEIGH_DEL, &e);
		return fake_op_end(slot, 0);
	}
	memset(&e, 0, sizeof(e));
	e.ifindex = neigh->ifindex;
	e.ip = neigh->ip;
	memcpy(e.mac, neigh->mac, KH_MAC_LEN);
	e.state = NUD_PERMANENT;
	if (i >= 0)
		L.neighs[i] = e;
	else if (grow((void **)&L.neighs, &L.nneighs, &L.capneighs, sizeof(e), &e) < 0)
		return fake_op_end(slot, kh_fail(-ENOMEM, "%s: out of memory", what));
	announce_neigh(KH_EV_NEIGH_NEW, &e);
	return fake_op_end(slot, 0);
}

int
kh_neigh_replace(const struct kh_neigh *neigh)
{
	return neigh_change(neigh, false);
}

int
kh_neigh_del(const struct kh_neigh *neigh)
{
	return neigh_change(neigh, true);
}

int
kh_neigh_list(uint32_t ifindex, int family, struct kh_neigh **neighs, size_t *n)
{
	char name[IFNAME_TEXT_SIZE];
	struct fake_text t = {0};
	struct kh_neigh *out = NULL;
	size_t slot, k = 0;
	int err;

	fake_text_add(&t, "neigh list");
	if (ifindex)
		fake_text_add(&t, " dev %s", fake_ifname(ifindex, name));
	fake_text_add(&t, "%s", family_word(family));
	err = fake_op_begin(FAKE_OP_NEIGH_LIST, &t, &slot);
	if (err < 0)
		return injected(slot, err);
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return fake_op_end(
		        slot, kh_fail(-EAFNOSUPPORT, "list neighbours: address family %d", family));
	if (L.nneighs) {
		out = malloc(L.nneighs * sizeof(*out));
		if (!out)
			return fake_op_end(slot,
			                   kh_fail(-ENOMEM, "list neighbours: out of memory"));
	}
	for (size_t i = 0; i < L.nneighs; i++) {
		if ((ifindex && L.neighs[i].ifindex != ifindex) ||
		    (family != AF_UNSPEC && L.neighs[i].ip.family != family))
			continue;
		out[k++] = L.neighs[i];
	}
	if (!k) {
		free(out);
		out = NULL;
	}
	*neighs = out;
	*n = k;
	return fake_op_end(slot, 0);
}
