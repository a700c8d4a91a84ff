/* The seams between the fake kernel's own files: the link table they all hang off, the
 * operation log every call goes through, and the announcements to monitors. Tests use
 * fake.h only. */
#ifndef KH_FAKE_INTERNAL_H
#define KH_FAKE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel-helpers/fake/fake.h"
#include "kernel-helpers/kh.h"
#include "kernel-helpers/monitor.h"

/* --- text (fake.c) --- */

/* A growing string; once an allocation fails it stays NULL (oom) and the log shows the kind
 * only. */
struct fake_text {
	char *s;
	size_t len, cap;
	bool oom;
};

void fake_text_add(struct fake_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The name of ifindex into buf ("#N" when there is no such link). */
const char *fake_ifname(uint32_t ifindex, char buf[IFNAMSIZ + 12]);

/* --- calls (fake.c) --- */

/* Sets up the fresh namespace on the first call into the fake. */
void fake_ensure_ready(void);
enum fake_actor fake_current_actor(void);

/* Starts a call of kind described by text (taken over, may be NULL when out of memory):
 * logs and counts it when FAKE_NETD makes it. Returns 0, or the failure injected for it
 * (-errno), in which case the caller reports it and changes nothing. *slot names the log
 * entry for fake_op_end. */
int fake_op_begin(enum fake_op_kind kind, struct fake_text *text, size_t *slot);
/* Records result (0 or -errno) for the call and returns it. */
int fake_op_end(size_t slot, int result);
/* The text of a started call ("" if it was not logged or had none). */
const char *fake_op_text(size_t slot);

/* Queues ev on every open monitor unless the state is being set up. */
void fake_announce(const struct kh_event *ev);
void fake_announce_link(enum kh_event_type type, const struct kh_link *link);

/* --- links (fake_link.c) --- */

struct fake_wg;

struct fake_link {
	struct kh_link l;
	bool mtu_set;   /* a bridge whose MTU was given no longer follows its ports' */
	bool userspace; /* the tun of a userspace WireGuard */
	struct fake_wg *wg;
};

struct fake_link *fake_link_by_name(const char *name);
struct fake_link *fake_link_by_index(uint32_t ifindex);
/* Links in ifindex order; NULL past the end. */
struct fake_link *fake_link_at(size_t i);

/* Creates a link (down, with the kind's flags) for the caller to complete and announce; 0,
 * -EEXIST, -EINVAL or -ENOMEM. The error text is the caller's to write. */
int fake_link_create(const char *name, const char *kind, uint32_t mtu, uint32_t flags,
                     struct fake_link **out);
/* Deletes the link and everything that goes with it, announcing what the kernel announces. */
void fake_link_destroy(struct fake_link *link);
/* Brings the link up or down with what follows from it. */
void fake_link_set_flags_up(struct fake_link *link, bool up);

/* The up link (oif only, if not 0) with an address whose prefix holds addr; 0: none. */
uint32_t fake_addr_link(const struct addr *addr, uint32_t oif);

void fake_links_free(void);
void fake_links_init(void);

/* --- routes and rules (fake_route.c) --- */

/* The link went down (deleted too when gone): its routes go, IPv6 ones announced. */
void fake_routes_link_down(uint32_t ifindex);
void fake_routes_free(void);
void fake_rules_init(void);

/* --- WireGuard (fake_wg.c) --- */

/* The link came up: a device without a listen port gets one. */
void fake_wg_link_up(struct fake_link *link);
void fake_wg_free(struct fake_wg *wg);
void fake_wg_reset(void);

/* --- monitors (fake.c) --- */

void fake_monitors_reset(void);

#endif
