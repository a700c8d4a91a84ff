/* The seams between the WireGuard files of kernel-helpers: the two backends and their pure
 * builders and parsers (exposed so that unit tests and fuzzers reach them). Netlink goes
 * through kernel-helpers' one exchange (nl.h). */
#ifndef KH_WG_INTERNAL_H
#define KH_WG_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "kernel-helpers/nl.h"
#include "kernel-helpers/wg.h"

/* --- the model's checks (wg_model.c) --- */

/* 0 when name can be an interface name and a socket file name, else -EINVAL (error set).
 * Errors of every call are recorded with kh_fail (nl.h), naming the object they are about. */
int wg_check_name(const char *name);
/* True for an IPv4 or IPv6 prefix whose length fits its family: what WireGuard accepts as an
 * allowed-ip (host bits may be set; the implementation clears them). */
bool wg_allowedip_ok(const struct addr_prefix *prefix);
/* 0 when every endpoint and allowed-ip of the delta dev can be sent, else -EINVAL (error
 * set): what both backends refuse before sending anything. */
int wg_check_delta(const struct wg_device *dev);

/* A growing NULL-terminated name array as wg_list_devices returns it. */
int wg_names_add(char ***names, size_t *count, const char *name);

/* --- links (wg.c), through kernel-helpers' link calls --- */

/* Delete the link of that name. */
int wg_link_del(const char *name);

/* --- kernel backend (wg_genl.c) --- */

/* SET_DEVICE messages are at most this big, as wireguard-tools sends them. */
#define WG_GENL_MSG_SIZE 4096

/* Receives each SET_DEVICE message built; returns 0 or -errno (which stops the build). */
typedef int (*wg_genl_sink)(struct nlmsghdr *nlh, void *ctx);

/* Build the sparse delta dev as SET_DEVICE messages for the generic netlink family id, each
 * at most bufsize bytes, in buf, handing each to sink in order. A peer whose allowed-ips do
 * not fit continues in the next message without its replace flag. */
int wg_genl_build_set(const struct wg_device *dev, uint16_t family, void *buf, size_t bufsize,
                      wg_genl_sink sink, void *ctx);

/* Parse one GET_DEVICE (or SET_DEVICE) message of family into dev, validating every
 * attribute. A message whose first peer is the last peer already in dev continues that
 * peer (the kernel splits a peer's allowed-ips across dump messages). */
int wg_genl_parse_msg(const struct nlmsghdr *nlh, uint16_t family, struct wg_device *dev);

/* Resolve the "wireguard" family id; -ENOENT when the kernel has no WireGuard. */
int wg_genl_family(uint16_t *family);
int wg_genl_get_device(const char *name, struct wg_device **dev);
int wg_genl_set_device(const struct wg_device *dev);

/* --- userspace backend (wg_uapi.c, wg_uapi_parse.c) --- */

#define WG_UAPI_MAX_LINE  512                 /* longest line accepted, newline included */
#define WG_UAPI_MAX_REPLY (64u * 1024 * 1024) /* ~100 000 peers with a few allowed-ips */
/* The worker thread gives up on an exchange after WG_UAPI_IDLE_MS without a byte moving
 * either way, and after WG_UAPI_TOTAL_MS in any case (wireguard-go applies 20,000 new peers
 * in 2-4 s on a small machine); a caller waits at most wg_wait_ms() for it. */
#define WG_UAPI_IDLE_MS  5000
#define WG_UAPI_TOTAL_MS 60000

/* The peers a read's device has room for, when the last read of it found npeers: as many
 * and an eighth more, so that its array is made once (wg_device_reserve_peers), not doubled
 * from 8 on every read of a large device. */
static inline size_t
wg_read_room(size_t npeers)
{
	return npeers + npeers / 8 + 8;
}

/* How long a caller waits for an exchange, as wg_set_wait_ms set it (wg_model.c). */
int wg_wait_ms(void);

/* Work the caller does not wait out (wg_model.c): a condition variable on CLOCK_MONOTONIC;
 * with mutex held, a wait of at most wg_wait_ms() on cond for *done (returns *done); a
 * thread running fn(arg) with every signal blocked (0 or an errno), detached unless joinable
 * asks for its id. */
void wg_cond_init(pthread_cond_t *cond);
bool wg_cond_await(pthread_cond_t *cond, pthread_mutex_t *mutex, const bool *done);
int wg_thread_start(void *(*fn)(void *), void *arg, pthread_t *joinable);
/* Work whose caller stopped waiting has finished: wg_background_fd() becomes readable. */
void wg_background_done(void);

/* A reply parsed as it arrives, line by line, so that the reply to a get of thousands of
 * peers is never in memory whole: wg_uapi.c reads it through a buffer of fixed size. */
struct wg_uapi_reader {
	const char *name;
	size_t lineno;
	size_t total;          /* bytes taken so far */
	long err;              /* the errno line's value once seen, else -1 */
	bool ended;            /* the empty line that ends a reply was taken */
	struct wg_device *dev; /* a get's, being read; NULL for a set */
	struct wg_peer *peer;  /* the section being read */
	unsigned int seen;     /* its keys seen once */
};

/* Starts a reader of the reply to a get (with room for peers_hint peers, the size of the
 * last read) or a set (get false). 0 or -ENOMEM. */
int wg_uapi_reader_start(struct wg_uapi_reader *rd, const char *name, bool get, size_t peers_hint);
/* Parses the complete lines at the start of buf[0, len) and sets *used to the bytes they
 * took; the rest, a line yet to end, is to be offered again with what follows it. last:
 * nothing follows. Returns 0 or the reply's first error; after an error only
 * wg_uapi_reader_drop. Any byte after the reply's empty line (rd->ended) is an error. */
int wg_uapi_reader_feed(struct wg_uapi_reader *rd, const char *buf, size_t len, bool last,
                        size_t *used);
/* Ends a reply fed whole: 0 (a get's device into *dev, the caller's), -N for errno=N, or
 * -EPROTO / -EBADMSG. Frees what the reader holds either way; drop frees it unfinished. */
int wg_uapi_reader_finish(struct wg_uapi_reader *rd, struct wg_device **dev);
void wg_uapi_reader_drop(struct wg_uapi_reader *rd);

/* Parse a complete reply to "get=1" (ending in "errno=N\n\n"). On success *dev is the
 * caller's; -EBADMSG / -EPROTO for any violation; -N when the implementation answered
 * errno=N. */
int wg_uapi_parse_get(const char *buf, size_t len, const char *name, struct wg_device **dev);
/* Parse a complete reply to "set=1": exactly "errno=N\n\n". Returns 0, -N or -EBADMSG. */
int wg_uapi_parse_set(const char *buf, size_t len, const char *name);
/* The request text for the sparse delta dev, "set=1\n" ... "\n" (NUL-terminated; *len
 * excludes the NUL). *text is the caller's, in memory kept out of swap and core dumps (it may
 * hold the private key), freed with sodium_free, which wipes it. */
int wg_uapi_build_set(const struct wg_device *dev, char **text, size_t *len);

/* "/var/run/wireguard/NAME.sock" into path (at least sizeof(sockaddr_un.sun_path)). */
int wg_uapi_socket_path(const char *name, char *path, size_t pathlen);
/* True when the socket exists and the process behind it answers a get. */
bool wg_uapi_answers(const char *name);
int wg_uapi_get_device(const char *name, struct wg_device **dev);
int wg_uapi_get_finished(const char *name, struct wg_device **dev);
int wg_uapi_set_device(const struct wg_device *dev);

/* --- userspace process (wg_userspace.c) --- */

/* Delete the tun link of a userspace device and wait (bounded) until its socket is gone. */
int wg_userspace_del(const char *name);
/* True while a start of name is waiting, in the background, for the process to answer. */
bool wg_userspace_starting(const char *name);

#endif
