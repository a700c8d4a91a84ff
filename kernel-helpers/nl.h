/* Netlink plumbing shared by the rtnetlink helpers (links, routes, rules, FDB, monitor): one
 * short-lived socket per call, bounded waits, kernel errors as -errno with the kernel's own
 * words, table-validated attributes. Internal to kernel-helpers; netd never includes it. */
#ifndef KH_NL_H
#define KH_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/object.h>

#include "kernel-helpers/kh.h"

/* How long any one receive waits for the kernel before the call gives up. */
#define KH_NL_TIMEOUT_MS 5000

/* Records the failure of a kh_ or wg_ call for kh_last_error() (the text may contain
 * kh_last_error() itself); returns -|err|. The WireGuard calls start from a clear text. */
int kh_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kh_clear_error(void);

/* libnl's (negative) error code as -errno. */
int kh_nl_errno(int nle);

/* Sends req and waits for the kernel's acknowledgement. The format names the operation in
 * the error text ("add route 10.0.0.0/24 table 51820"); it is expanded only on failure.
 * Returns 0 or -errno. req stays the caller's. */
int kh_nl_request(struct nl_msg *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* How a dump turns the objects libnl parses from the replies into plain items. */
struct kh_nl_dump {
	/* Writes the item for obj: returns 1 to keep it, 0 to skip it, -errno to fail. */
	int (*convert)(struct nl_object *obj, void *item, const void *filter);
	const void *filter;
	size_t item_size;
	/* Errors that mean "nothing to list" for this request (e.g. -ENOENT for a table that
	 * does not exist yet); 0: none. */
	int empty_err;
};

/* Sends the request req (a dump, or a get answered by one message) and collects the items.
 * A dump that the kernel reports as interrupted by a concurrent change is restarted, a few
 * times at most. On success *items (free() it; NULL when *n is 0) and *n. */
int kh_nl_dump(struct nl_msg *req, const struct kh_nl_dump *d, void **items, size_t *n,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Plain addresses to and from libnl's. kh_nl_addr_get accepts the address families libnl
 * leaves unset or wrong (an FDB entry's VTEP comes as AF_BRIDGE) by looking at the length;
 * an empty address gives AF_UNSPEC. */
int kh_nl_addr_new(const struct addr *addr, unsigned prefixlen, struct nl_addr **out);
void kh_nl_addr_get(struct nl_addr *na, struct addr *out);
int kh_nl_mac_new(const uint8_t mac[KH_MAC_LEN], struct nl_addr **out);
void kh_nl_mac_get(struct nl_addr *na, uint8_t mac[KH_MAC_LEN]);

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

/* Payload accessors for attributes kh_attr_parse has checked. */
const void *kh_attr_data(const struct nlattr *a);
size_t kh_attr_len(const struct nlattr *a);
uint8_t kh_attr_u8(const struct nlattr *a);
uint16_t kh_attr_u16(const struct nlattr *a);
uint32_t kh_attr_u32(const struct nlattr *a);

#endif
