/* netd's privileges after start-up: the capabilities the running daemon and the userspace
 * WireGuard it starts need, and nothing else. */
#ifndef NETD_PRIV_H
#define NETD_PRIV_H

#include "netd/conf.h"

/* Keeps CAP_NET_ADMIN (netlink changes, the tun device, the monitor's buffer) and, when
 * conf binds the gossip or WireGuard port below 1024, CAP_NET_BIND_SERVICE; drops every
 * other capability from the effective, permitted, inheritable and ambient sets and from the
 * bounding set, so a process netd starts (wireguard-go) gets no more; and sets
 * no_new_privs. The user stays root, so root's files (the key, the state file, the
 * userspace WireGuard sockets) stay readable and writable without CAP_DAC_OVERRIDE. Call it
 * once the status socket exists (its group change needs CAP_CHOWN) and before anything is
 * started. Returns 0, or -1 after logging why (the caller stops: running with more than this
 * is what it must not do). */
int priv_drop(const struct conf *conf);

#endif
