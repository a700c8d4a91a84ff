/* The fake kernel: kernel-helpers' interface (rtnl.h, wg.h, monitor.h) served from memory, so
 * that the layers above it are unit-tested without a kernel, root or namespaces.
 *
 * How it is used. A test program links libkhfake.a ahead of libkh.a: every primitive kh_ and
 * wg_ call of rtnl.h, wg.h and monitor.h then lands here, while kh.h's pure helpers (text
 * forms, prefix relations, kh_last_error) and the calls composed of the primitives (flushing
 * routes, finding collisions, creating a WireGuard interface of the configured implementation:
 * route_compose.c, wg_compose.c) still come from the real library, above the fake. It holds one
 * network namespace's worth of state the way the kernel holds it -- links with their
 * ifindexes, addresses, routes per table, policy rules, FDB entries, neighbours and WireGuard
 * devices -- answers with the errno values the kernel gives for the same requests (checked
 * against a real kernel by tests/kernel/fake-fidelity.test, and its WireGuard deltas against
 * wireguard-go by fake-fidelity-wg.test), and records what it was asked:
 *
 *	fake_reset();                              // a fresh namespace: lo and the default rules
 *	fake_act_as(FAKE_SETUP);                   // state "already in the kernel" at start
 *	fake_link_add("eth0", "veth", 1500, &eth0);
 *	kh_link_set_up(eth0, true);
 *	fake_act_as(FAKE_NETD);
 *	fake_clear_ops();
 *	...run the code under test...
 *	assert_int_equal(fake_changes(), 0);       // a restart changed nothing
 *	char *log = fake_log(true);                // or the exact requests, one per line:
 *	assert_string_equal(log, "route replace 10.2.0.0/16 dev wg0 table 51820 proto 200\n");
 *	free(log);
 *
 * Like the kernel, every change (whoever makes it) is announced to every open monitor: a
 * monitor's descriptor becomes readable and kh_monitor_read delivers the events through the
 * caller's callback, including the echoes of the code under test's own changes. The kernel's
 * quirks are kept where they matter to a reconciler: IPv4 routes vanish silently with their
 * link going down or away (IPv6 ones are announced) while reject routes stay, having none, IPv6
 *addresses go with a link going down, a link coming up gets an IPv6 link-local address, bridge
 *ports show their MAC as a "master" FDB entry, a WireGuard device without a listen port gets one
 *when it comes up.
 *
 * Not modelled: the kernel's own routes (connected prefixes, the local table) and
 * neighbours, carrier, multipath routes, learning, gateways reached through another route
 * rather than a connected prefix. Deliberately stricter than the kernel: an FDB entry for
 * anything but a VXLAN device is refused (-EOPNOTSUPP), where the kernel would quietly put
 * the MAC on the device's address list and forget the VTEP. Everything lives in one
 * process-wide instance, not thread-safe.
 *
 * The fake does not provide kh_monitor_process (the event parser shares monitor.o with the
 * socket code) nor the internal builders and parsers of nl.h, rtmsg.h and wg_internal.h: a
 * program that calls one pulls the real object in, and the link fails on duplicate
 * definitions -- loudly, never as a silent mix of real and fake. */
#ifndef KH_FAKE_H
#define KH_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/monitor.h"
#include "kernel-helpers/wg.h"

/* Back to a fresh namespace: only "lo" (ifindex 1, down) and the kernel's default rules;
 * empty log and counters, no injected failures, FAKE_NETD acting, kernel WireGuard
 * available. Frees everything the fake holds. Open monitors stay the caller's (close them
 * with kh_monitor_close); their queues are emptied. */
void fake_reset(void);

/* Who the next calls are made by. */
enum fake_actor {
	FAKE_NETD,  /* the code under test: logged, counted, injected failures apply, announced */
	FAKE_OTHER, /* someone else (an operator, another daemon): announced to monitors only */
	FAKE_SETUP, /* what was there before: neither logged nor announced */
};
void fake_act_as(enum fake_actor actor);

/* An Ethernet-like link of any kind ("veth", "dummy", "" for a plain device...), created down
 * like the kernel's; mtu 0 is 1500. For the links netd never creates itself, such as the
 * underlay; WireGuard devices come from wg_add_device. Acts as the current actor but is never
 * logged. 0, -EEXIST or -EINVAL. */
int fake_link_add(const char *name, const char *kind, uint32_t mtu, uint32_t *ifindex);

/* Whether kernel WireGuard exists (default true). Without it WG_BACKEND_AUTO falls back to
 * the userspace implementation and WG_BACKEND_KERNEL fails with -EOPNOTSUPP, as on a host
 * without the module. */
void fake_wg_set_kernel(bool available);

/* A get of the device that a userspace implementation finished in the background: the device
 * as it is now, which the next wg_get_finished(device) returns (once; a later call replaces
 * it), and wg_background_fd() readable, as the real one makes it. 0, -ENODEV or -ENOMEM. */
int fake_wg_finish_get(const char *device);
/* Makes that answer ms older, as if it had waited that long to be taken. */
void fake_wg_age_finished(int64_t ms);

/* What only traffic changes on a peer: its last handshake and byte counters. 0 or -ENODEV
 * (no such device) / -ENOENT (no such peer). Never logged nor announced. */
/* Whether the fake WireGuard device holds a peer of that key. */
bool fake_wg_has_peer(const char *device, const uint8_t public_key[WG_KEY_SIZE]);
int fake_wg_set_peer_stats(const char *device, const uint8_t public_key[WG_KEY_SIZE],
                           const struct timespec *last_handshake, uint64_t rx_bytes,
                           uint64_t tx_bytes);

/* --- the operation log --- */

/* One kind per call of the interface. */
enum fake_op_kind {
	FAKE_OP_ANY, /* for fake_count and fake_fail only: every kind */
	FAKE_OP_LINK_ADD_VXLAN,
	FAKE_OP_LINK_ADD_BRIDGE,
	FAKE_OP_LINK_DEL,
	FAKE_OP_LINK_SET_MASTER,
	FAKE_OP_LINK_SET_MTU,
	FAKE_OP_LINK_SET_UP,
	FAKE_OP_LINK_GET,
	FAKE_OP_LINK_LIST,
	FAKE_OP_ADDR_ADD,
	FAKE_OP_ADDR_DEL,
	FAKE_OP_ADDR_LIST,
	FAKE_OP_ROUTE_REPLACE,
	FAKE_OP_ROUTE_DEL,
	FAKE_OP_ROUTE_LIST,
	FAKE_OP_RULE_ADD,
	FAKE_OP_RULE_DEL,
	FAKE_OP_RULE_LIST,
	FAKE_OP_FDB_APPEND,
	FAKE_OP_FDB_REPLACE,
	FAKE_OP_FDB_DEL,
	FAKE_OP_FDB_LIST,
	FAKE_OP_NEIGH_REPLACE,
	FAKE_OP_NEIGH_DEL,
	FAKE_OP_NEIGH_LIST,
	FAKE_OP_MONITOR_OPEN,
	FAKE_OP_WG_ADD,
	FAKE_OP_WG_DEL,
	FAKE_OP_WG_GET,
	FAKE_OP_WG_SET,
	FAKE_OP_WG_LIST,
	FAKE_OP_WG_BACKEND,
	FAKE_OP_WG_KERNEL_AVAILABLE,
	FAKE_OP_WG_USERSPACE_START,
	FAKE_OP_KIND_COUNT
};

/* One call made by FAKE_NETD, in order. text is canonical and `ip`-like, e.g.
 * "route replace 10.2.0.0/16 dev wg0 table 51820 proto 200",
 * "fdb append 00:00:00:00:00:00 dev vx100 dst 192.0.2.2",
 * "wg set wg0 peer <base64> endpoint 192.0.2.2:51820 allowed-ips 10.2.0.0/16". A composed
 * call shows as the primitives it made (kh_route_flush: a route list and a delete per route;
 * a batch of kh_route_replace_many or kh_route_del_many: a replace or delete per entry).
 * Calls of kh_monitor_read, kh_monitor_fd and kh_monitor_get_stats are not logged. */
struct fake_op {
	enum fake_op_kind kind;
	bool change; /* it asked for a change, successful or not (else it only read) */
	int result;  /* 0 or -errno */
	const char *text;
};

/* The log so far; *ops is valid until the next call into the fake. Returns the count. */
size_t fake_ops(const struct fake_op **ops);
/* Calls of that kind so far (FAKE_OP_ANY: all), failed ones included. */
size_t fake_count(enum fake_op_kind kind);
/* Calls that asked for a change, failed ones included: 0 means the kernel was left alone. */
size_t fake_changes(void);
/* The log's texts, one per line, failed calls followed by " -> ENAME"; only changes when
 * changes_only. The caller frees it; NULL when out of memory. */
char *fake_log(bool changes_only);
/* Forget the log and the counters (not the state). */
void fake_clear_ops(void);
/* "route replace", "wg set", ...: the kind as the log's texts begin. */
const char *fake_op_name(enum fake_op_kind kind);

/* --- injected trouble --- */

/* The next count calls of kind (FAKE_OP_ANY: of any kind) by FAKE_NETD fail with -|err| and
 * change nothing; the error text says the failure was injected. A later call for the same
 * kind replaces the earlier one; count 0 cancels. */
void fake_fail(enum fake_op_kind kind, unsigned count, int err);
/* As fake_fail for one call, after the next skip calls of kind have succeeded: an entry in
 * the middle of a batch. */
void fake_fail_after(enum fake_op_kind kind, unsigned skip, int err);

/* Every later call of kind by FAKE_NETD takes usec longer, as in a slow or loaded kernel;
 * 0 cancels. */
void fake_slow(enum fake_op_kind kind, unsigned usec);

/* At the next call of kind by FAKE_NETD, before it acts, measure() is taken (the tests' count
 * of the heap in use: what the caller holds at that point of its work); fake_measured gives
 * it, 0 until that call comes. With FAKE_OP_ANY it is taken at every call until the next
 * fake_measure_at or reset, and fake_measured gives the largest. */
void fake_measure_at(enum fake_op_kind kind, size_t (*measure)(void));
size_t fake_measured(void);

/* The kernel ran out of room for notifications: every open monitor loses what it had queued
 * and reads a KH_EV_RESYNC next, as after ENOBUFS. */
void fake_monitor_overrun(void);
/* Events queued on a monitor and not yet read. */
size_t fake_monitor_pending(const struct kh_monitor *mon);

#endif
