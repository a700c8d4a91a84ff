/* Netlink plumbing of kernel-helpers, the one way it talks to the kernel over netlink: the
 * rtnetlink calls (links, addresses, routes, rules, FDB, neighbours) and the WireGuard ones
 * (generic netlink) exchange a request for its answer through kh_nl_talk, and every reply,
 * dump and notification is validated against an attribute table before anything reads it.
 *
 * Sockets: one per bus (rtnetlink, rtnetlink with strict dump checking, generic netlink),
 * opened by the first call that needs it and kept open for the rest of the process, because
 * opening, binding and closing a netlink socket per request costs more than the request itself
 * when thousands of routes are programmed. Calls take turns on them; sequence numbers keep one
 * request's answer apart from the late answers to another, and a socket whose exchange failed
 * on this side is closed, so nothing stale is ever read (the next call opens a new one). The
 * sockets belong to the network namespace the process was in when they were opened.
 *
 * Internal to kernel-helpers; netd never includes it. */
#ifndef KH_NL_H
#define KH_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <netlink/addr.h>
#include <netlink/msg.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/rtnl.h"

/* How long any one receive waits for the kernel before the call gives up. */
#define KH_NL_TIMEOUT_MS 5000
/* Runs of a dump the kernel marked as interrupted by a concurrent change before giving up. */
#define KH_NL_DUMP_TRIES 16

/* Records the failure of a kh_ or wg_ call for kh_last_error() (the text may contain
 * kh_last_error() itself); returns -|err|. The WireGuard calls start from a clear text. */
int kh_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kh_clear_error(void);

/* Receives each data message of an answer, its length checked against the datagram; returns
 * 0, or -errno to end the exchange with that error (explained with kh_fail if it can). */
typedef int (*kh_nl_cb)(const struct nlmsghdr *h, void *arg);

/* One request and what to do with its answer. */
struct kh_nl_call {
	int bus;              /* NETLINK_ROUTE or NETLINK_GENERIC */
	struct nlmsghdr *req; /* sequence number, port and request flags are set on sending */
	kh_nl_cb cb;          /* the data messages; NULL: only the acknowledgement matters */
	/* A dump is about to run again: forget what cb kept of the interrupted run. 0 or
	 * -errno (which ends the call). */
	int (*restart)(void *arg);
	void *arg;
};

/* Sends call->req and waits, at most KH_NL_TIMEOUT_MS for each datagram, for the end of its
 * answer: the kernel's acknowledgement (asked for, unless the request is a dump), its error,
 * or the end of the dump. A dump the kernel marks as interrupted is run again, at most
 * KH_NL_DUMP_TRIES times. Returns 0 or -errno; on failure kh_last_error() is the format (which
 * names the operation, "add route 10.0.0.0/24 table 51820", expanded only on failure), a
 * colon and the reason: the kernel's errno with its extended-ack text, or what went wrong on
 * this side. */
int kh_nl_talk(const struct kh_nl_call *call, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* How far the answer to one request has come. */
struct kh_nl_status {
	int err;          /* 0, the kernel's -errno, or a failure on this side */
	bool local;       /* err is this side's: a malformed answer, the callback's refusal */
	bool done;        /* the answer is complete */
	bool interrupted; /* a dump changed while it was read: run it again */
	char text[256];   /* the kernel's extended-ack text, or what went wrong on this side */
};

#define KH_NL_MORE 1 /* kh_nl_run: the answer goes on in the next datagram */

/* Runs one received datagram of the answer to request seq on port (0: any, for tests):
 * checks the length of every message, skips those of other requests, hands data messages to
 * cb (none once the dump is known to be interrupted) and records errors, acks and ends in st,
 * which starts zeroed for a request. Returns KH_NL_MORE, 0 when the answer is complete, or
 * st->err. Pure: tests and fuzzers feed it anything. */
int kh_nl_run(const void *buf, size_t len, uint32_t seq, uint32_t port, kh_nl_cb cb, void *arg,
              struct kh_nl_status *st);

/* Receives the acknowledgement of entry i of a batch: st->err is 0 or the entry's -errno,
 * st->text the kernel's extended-ack text. */
typedef void (*kh_nl_ack_cb)(size_t i, const struct kh_nl_status *st, void *arg);

/* Runs one received datagram of the answers to a batch whose n requests carry the sequence
 * numbers base .. base + n - 1 on port (0: any): checks the length of every message, skips
 * those of other requests and what is not an acknowledgement, and calls ack for each
 * acknowledgement or error of an entry. Returns 0, or -EBADMSG when the datagram breaks a
 * length rule (the acknowledgements before the fault have been handed on). Pure: tests and
 * fuzzers feed it anything. */
int kh_nl_acks(const void *buf, size_t len, uint32_t base, size_t n, uint32_t port,
               kh_nl_ack_cb ack, void *arg);

/* --- rtnetlink requests built with libnl --- */

/* libnl's (negative) error code as -errno. */
int kh_nl_errno(int nle);

/* Sends req and waits for the kernel's acknowledgement, as kh_nl_talk. req stays the
 * caller's. */
int kh_nl_request(struct nl_msg *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Receives the outcome of entry i of kh_nl_batch: 0, or its -errno and why (the kernel's
 * extended-ack text or what went wrong on this side; may be empty). */
typedef void (*kh_nl_done_cb)(size_t i, int err, const char *why, void *arg);

/* Sends the n rtnetlink requests (each readable up to NLMSG_ALIGN of its length, sent from
 * where it lies) on the one rtnetlink socket with many in flight at once:
 * several per datagram, each acknowledged under its own sequence number, at most a window of
 * them unacknowledged so that the acknowledgements always fit in the socket's receive buffer.
 * done is called once for every entry, after the exchange (never under the sockets' lock), in
 * no set order. An entry whose acknowledgement was lost (the receive buffer overran anyway)
 * or never came in time is failed with -ENOBUFS or -ETIMEDOUT: it may or may not have been
 * applied, and nothing reports success it did not see. Returns how many entries failed. */
size_t kh_nl_batch(struct nlmsghdr *const *reqs, size_t n, kh_nl_done_cb done, void *arg);

/* The batch of route changes behind kh_route_replace_many and kh_route_del_many (del: the
 * deletes), which the kernel and the fake kernel each implement. */
size_t kh_route_change_many(const struct kh_route *routes, size_t n, bool del,
                            kh_route_done_cb done, void *arg);

/* What a decoder (rtmsg.h) made of one message. */
enum kh_decoded {
	KH_DECODED,   /* an event of kh_event's kinds */
	KH_IGNORED,   /* well-formed, of no interest (another family, a cached clone, ...) */
	KH_MALFORMED, /* breaks a length or attribute rule: nothing of it is used */
};

struct kh_event;

/* How a list turns the messages of its dump into items. */
struct kh_nl_list {
	/* The decoder of the listed kind of object, as notifications are decoded. */
	enum kh_decoded (*decode)(const struct nlmsghdr *h, struct kh_event *ev);
	/* Whether a decoded object is one to list: of the listed kind, and selected by filter. */
	bool (*keep)(const struct kh_event *ev, const void *filter);
	const void *filter;
	size_t item_size; /* the kind's member of kh_event's union, copied into the list */
	/* The error that means "nothing to list" for this request (e.g. -ENOENT for a table
	 * that does not exist yet); 0: none. */
	int empty_err;
	/* Set: each item is handed to each (0 or -errno, which ends the list) instead of being
	 * collected, and restart is called (0 or -errno) before an interrupted dump runs again. */
	int (*each)(const void *item, void *arg);
	int (*restart)(void *arg);
	void *arg;
};

/* Sends the request req (a dump, or a get answered by one message) and collects the items,
 * as kh_nl_talk; a malformed message fails the list. On success *items (free() it; NULL when
 * *n is 0, or when l hands them to each) and *n. */
int kh_nl_list(struct nl_msg *req, const struct kh_nl_list *l, void **items, size_t *n,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Plain addresses to libnl's. */
int kh_nl_addr_new(const struct addr *addr, unsigned prefixlen, struct nl_addr **out);
int kh_nl_mac_new(const uint8_t mac[KH_MAC_LEN], struct nl_addr **out);
/* --- attributes --- */

/* Attribute validation, for every netlink message kernel-helpers reads (rtnetlink dumps and
 * notifications, generic netlink replies, extended acks): what a type must look like before
 * anything reads it. */
enum kh_attr_kind {
	KH_ATTR_IGNORE = 0, /* not read: anything goes */
	KH_ATTR_U8,         /* exactly as long as the type */
	KH_ATTR_U16,
	KH_ATTR_U32,
	KH_ATTR_U64,
	KH_ATTR_STRING,   /* NUL-terminated within the payload, at most max bytes with the NUL */
	KH_ATTR_BINARY,   /* min..max bytes */
	KH_ATTR_ADDR,     /* an IPv4 or an IPv6 address: 4 or 16 bytes */
	KH_ATTR_SOCKADDR, /* a sockaddr_in or a sockaddr_in6, as its family says */
	KH_ATTR_NESTED,   /* a list of attributes (parsed again by the reader) */
};

struct kh_attr_policy {
	uint8_t kind; /* enum kh_attr_kind */
	uint16_t min; /* KH_ATTR_BINARY */
	uint16_t max; /* KH_ATTR_STRING, KH_ATTR_BINARY; 0: no limit */
};

/* Calls fn for every attribute in the len bytes at p (the members of an array, say), each
 * checked to lie within them, until fn returns an error. Returns 0, fn's error, or -EBADMSG
 * (error set, naming what) when an attribute overruns the buffer or bytes are left over that
 * cannot be one. */
int kh_attr_walk(const void *p, size_t len, const char *what,
                 int (*fn)(const struct nlattr *a, void *arg), void *arg);

/* Walks the attributes in the len bytes at p and fills tb[0 .. npolicy) (zeroed first) with
 * those the policy names; other types are skipped, as newer kernels add some. Returns 0, or
 * -EBADMSG (error set, naming what) when the walk fails or an attribute breaks its policy or
 * comes twice. */
int kh_attr_parse(const void *p, size_t len, const struct kh_attr_policy *policy, size_t npolicy,
                  const struct nlattr **tb, const char *what);

/* The fixed header of message h (hdrlen bytes, copied to hdr) and the attributes after it;
 * -EBADMSG when h is too short to hold the header. */
int kh_nl_split(const struct nlmsghdr *h, void *hdr, size_t hdrlen, const void **attrs,
                size_t *alen);

/* Payload accessors for attributes kh_attr_parse has checked. */
const void *kh_attr_data(const struct nlattr *a);
size_t kh_attr_len(const struct nlattr *a);
uint8_t kh_attr_u8(const struct nlattr *a);
uint16_t kh_attr_u16(const struct nlattr *a);
uint32_t kh_attr_u32(const struct nlattr *a);
/* An address attribute exactly as long as family's addresses, into out; false otherwise. */
bool kh_attr_addr(const struct nlattr *a, int family, struct addr *out);

#endif
