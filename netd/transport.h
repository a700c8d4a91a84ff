/* The gossip transport: one UDP socket in the event loop, datagrams in and out addressed by
 * struct addr_endpoint. What the datagrams say is the gossip core's business, not its own. */
#ifndef NETD_TRANSPORT_H
#define NETD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "netd/addr.h"

/* What the owner does with what arrives. */
struct transport_handler {
	/* One datagram of at most WIRE_DATAGRAM_MAX bytes; longer ones are counted and dropped
	 * here. from is an IPv4 address for an IPv4 sender on an IPv6 socket too. */
	void (*datagram)(void *arg, const struct addr_endpoint *from, const uint8_t *buf,
	                 size_t len);
	/* Once after each batch of reads, so what a batch changed is acted on once. more: the
	 * batch stopped at its limit, so datagrams may still wait unread. */
	void (*drained)(void *arg, bool more);
	void *arg;
};

struct transport;

/* Binds a UDP socket to bind and starts reading it on loop. An IPv6 socket serves IPv4
 * senders too. handler is copied. Returns 0 and *out, to be freed with transport_close(); or
 * -1 after logging why. */
int transport_open(struct ev_loop *loop, const struct addr_endpoint *bind,
                   const struct transport_handler *handler, struct transport **out);

/* Moves to a socket bound to bind. Returns 0; or -1 (logged) with the current socket kept. */
int transport_rebind(struct transport *t, const struct addr_endpoint *bind);

/* Sends one datagram, best effort: a full buffer or an unreachable network is a loss the
 * protocol survives, and an IPv6 destination is out of an IPv4 socket's reach. */
void transport_send(struct transport *t, const struct addr_endpoint *to, const uint8_t *buf,
                    size_t len);

/* Datagrams dropped for being longer than WIRE_DATAGRAM_MAX, across rebinds. */
uint64_t transport_oversize(const struct transport *t);

/* Stops reading and closes the socket. NULL is a no-op. */
void transport_close(struct transport *t);

#endif
