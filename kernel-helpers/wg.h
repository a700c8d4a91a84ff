/* WireGuard devices as plain data, and the three calls that read, change and list them,
 * whichever implementation serves the interface: kernel WireGuard (generic netlink) or a
 * userspace one such as wireguard-go (the cross-platform UAPI socket). */
#ifndef KH_WG_H
#define KH_WG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kernel-helpers/kh.h"

#define WG_KEY_SIZE 32

/* Where wireguard-go and its kin put their UAPI sockets: one directory shared by every
 * network namespace, so an interface name must be unique across namespaces. */
#define WG_USERSPACE_SOCKET_DIR "/var/run/wireguard"
#define WG_USERSPACE_DEFAULT    "wireguard-go"

enum wg_backend {
	WG_BACKEND_AUTO,      /* kernel when available, else userspace */
	WG_BACKEND_KERNEL,    /* a "wireguard" link driven over generic netlink */
	WG_BACKEND_USERSPACE, /* a process answering on WG_USERSPACE_SOCKET_DIR/NAME.sock */
};

/* Presence flags of struct wg_device: which fields mean something. In a device returned by
 * wg_get_device they say what the implementation reported; in one passed to wg_set_device
 * they say what to change (everything else is left as it is). */
enum wg_device_flags {
	WG_DEVICE_HAS_PRIVATE_KEY = 1u << 0,
	WG_DEVICE_HAS_PUBLIC_KEY = 1u << 1, /* reported only; derived from the private key */
	WG_DEVICE_HAS_LISTEN_PORT = 1u << 2,
	WG_DEVICE_HAS_FWMARK = 1u << 3,
	WG_DEVICE_REPLACE_PEERS = 1u << 4, /* set: peers not listed are removed */
};

enum wg_peer_flags {
	WG_PEER_REMOVE_ME = 1u << 0,
	WG_PEER_REPLACE_ALLOWEDIPS = 1u << 1, /* set: allowed-ips not listed are removed */
	WG_PEER_HAS_PRESHARED_KEY = 1u << 2,
	WG_PEER_HAS_KEEPALIVE = 1u << 3,
	WG_PEER_HAS_ENDPOINT = 1u << 4,
	WG_PEER_UPDATE_ONLY = 1u << 5, /* set: change the peer only if it exists already */
};

union wg_endpoint {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct wg_peer {
	uint32_t flags; /* enum wg_peer_flags */
	uint8_t public_key[WG_KEY_SIZE];
	uint8_t preshared_key[WG_KEY_SIZE];
	union wg_endpoint endpoint;
	struct timespec last_handshake; /* reported only; zero: never */
	uint64_t rx_bytes, tx_bytes;    /* reported only */
	uint16_t persistent_keepalive;  /* seconds, 0 = off */
	struct addr_prefix *allowedips; /* IPv4 or IPv6; host bits may be set */
	size_t nallowedips;
	size_t allowedips_cap; /* managed by wg_peer_add_allowedip */
};

struct wg_device {
	char name[IFNAMSIZ];
	uint32_t ifindex; /* reported only (kernel backend) */
	uint32_t flags;   /* enum wg_device_flags */
	uint8_t private_key[WG_KEY_SIZE];
	uint8_t public_key[WG_KEY_SIZE];
	uint16_t listen_port;
	uint32_t fwmark;
	struct wg_peer *peers;
	size_t npeers;
	size_t peers_cap; /* managed by wg_device_add_peer */
	/* Reported only: when the implementation gave this reply, in CLOCK_MONOTONIC
	 * milliseconds. A userspace reply finished in the background is handed to the next read
	 * for a while: its handshakes and endpoints may be that old. */
	int64_t read_at_ms;
};

/* The same family, address and port (two unset endpoints are equal). */
bool wg_endpoint_equal(const union wg_endpoint *a, const union wg_endpoint *b);

/* Now on CLOCK_MONOTONIC, in milliseconds: the clock of read_at_ms. */
static inline int64_t
wg_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A new empty device named name (at most IFNAMSIZ - 1 bytes), freed with wg_free_device.
 * Returns NULL with errno set on failure. */
struct wg_device *wg_device_new(const char *name);

/* Append a zeroed peer (NULL with errno ENOMEM on failure); the pointer is valid until the
 * next wg_device_add_peer on the same device. Append an allowed-ip: 0, or -EINVAL for a
 * family other than AF_INET/AF_INET6 or a prefix length beyond it, or -ENOMEM. */
struct wg_peer *wg_device_add_peer(struct wg_device *dev);
int wg_peer_add_allowedip(struct wg_peer *peer, const struct addr_prefix *prefix);
/* Room for n peers in all, made at once: a read of a device the size of the last one grows
 * its array once instead of doubling it (each step a copy). 0 or -ENOMEM. */
int wg_device_reserve_peers(struct wg_device *dev, size_t n);

/* Puts the device's peers in the order of their public keys, once per read, so that each
 * consumer of the read (the drift check, the figures netd keeps of it) finds a peer by key
 * instead of sorting or scanning it. */
void wg_device_sort_peers(struct wg_device *dev);

/* Frees a device from wg_get_device or wg_device_new, its peers and allowed-ips. NULL is a
 * no-op. A device lives in memory locked against swapping and left out of core dumps (it may
 * hold the private key), and is wiped when freed. */
void wg_free_device(struct wg_device *dev);

/* Every call below returns 0 or -errno; on failure kh_last_error() says what went wrong in
 * words (the kernel's extended-ack text when it gave one). Each call is bounded in time.
 * -EINPROGRESS: the interface is being started (wg_userspace_start) and does not answer
 * yet. */

/* Create the interface with the implementation wg_choose_backend names: a kernel one with
 * wg_add_kernel_device, a userspace one by running userspace_command (NULL:
 * WG_USERSPACE_DEFAULT) through wg_userspace_start. -EEXIST if a WireGuard device of that name
 * exists already in either form. */
int wg_add_device(const char *name, enum wg_backend backend, const char *userspace_command);

/* The implementation that serves name when it exists (it is adopted as it is), else the one
 * wg_add_device(name, backend, ...) creates: backend itself, and for WG_BACKEND_AUTO the kernel
 * when wg_kernel_available(), else userspace. Never WG_BACKEND_AUTO. This is the one place
 * that decides what "auto" means. */
enum wg_backend wg_choose_backend(const char *name, enum wg_backend backend);

/* Create a kernel WireGuard interface, a "wireguard" link (down): the step of wg_add_device
 * that needs the kernel. -EOPNOTSUPP when the kernel has no WireGuard. */
int wg_add_kernel_device(const char *name);

/* Delete the interface. For a userspace one the tun link is deleted, which makes the
 * process exit and remove its socket; the call waits (bounded) until the socket is gone. */
int wg_del_device(const char *name);

/* Read the whole device. On success *dev is the caller's, freed with wg_free_device. */
int wg_get_device(const char *name, struct wg_device **dev);
/* The answer of a get of name finished in the background (see wg_set_wait_ms) that no call
 * waits for, taken as wg_get_device would and without asking anything: 0 and *dev, or -EAGAIN
 * when none is there. A caller that keeps less than the whole read takes it this way before
 * work that needs much memory, rather than leaving it whole until its next read. */
int wg_get_finished(const char *name, struct wg_device **dev);

/* Apply the sparse delta dev describes (see the flags). Large deltas are split across as
 * many messages as the kernel needs; a one-peer change sends one peer. */
int wg_set_device(const struct wg_device *dev);

/* Names of the WireGuard devices in this network namespace, both kinds. On success *names
 * is a NULL-terminated array the caller frees with wg_free_names. */
int wg_list_devices(char ***names);
void wg_free_names(char **names);

/* Which implementation serves name. -ENODEV when neither does. */
int wg_device_backend(const char *name, enum wg_backend *backend);

/* True when `ip link add NAME type wireguard` would work: the kernel knows the "wireguard"
 * generic netlink family. Asking for it loads the module where one is installed, needs no
 * privilege and creates nothing, unlike creating a probe link. */
bool wg_kernel_available(void);

/* Make sure a userspace implementation serves name: if WG_USERSPACE_SOCKET_DIR/name.sock
 * answers and the tun link exists in this namespace, adopt it (*adopted = true); otherwise
 * run `command name` (command NULL: WG_USERSPACE_DEFAULT, looked up in PATH) and wait,
 * bounded, until its socket answers (*adopted = false). adopted may be NULL. The wait is at
 * most wg_set_wait_ms's: a process not answering by then is waited for in the background
 * and the call returns -EINPROGRESS; the next call for name returns the start's failure, or
 * adopts the process.
 *
 * The process outlives the caller: it runs in a session of its own, is not the caller's
 * child, has stdin/stdout/stderr on /dev/null and inherits no other descriptor. What it
 * cannot escape is the caller's cgroup: under systemd the unit needs KillMode=process (or
 * mixed) for the data plane to survive a stop of the daemon. */
int wg_userspace_start(const char *name, const char *command, bool *adopted);

/* How long a call waits for its exchange with a userspace implementation, in milliseconds
 * (WG_WAIT_DEFAULT_MS until set; 0 or less restores it). An exchange that takes longer goes
 * on in the background and the call fails with -ETIMEDOUT: a get that succeeds there is the
 * answer to the next get of the device, a set has changed the device when it is done. A
 * daemon on an event loop sets a few milliseconds and tries again later; a command-line tool
 * keeps the default, which waits for as long as the exchange may take. Process-wide. */
#define WG_WAIT_DEFAULT_MS 60000
void wg_set_wait_ms(int ms);

/* A descriptor (an eventfd) that becomes readable when work a call left to the background
 * has finished: an exchange that failed with -ETIMEDOUT, a start that returned -EINPROGRESS.
 * An event loop watches it and calls again at once, rather than when its retry timer says
 * (the answer of a get is then waiting); wg_background_clear() makes it unreadable again.
 * -1 with errno set when no descriptor can be had: callers then rely on their timers. */
int wg_background_fd(void);
void wg_background_clear(void);

/* At exit: ends the thread that runs userspace exchanges (waiting at most a second for one
 * under way) and frees their results nobody collected. No wg_ call may follow. */
void wg_shutdown(void);

#endif
