/* Dropping netd's privileges after start-up with libcap-ng: what remains is listed in
 * priv.h, and is checked after the drop rather than trusted. */
#include "netd/priv.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/prctl.h>

#include <cap-ng.h>

#include "netd/log.h"

static bool
privileged_port(uint16_t port)
{
	return port != 0 && port < 1024;
}

static bool
kept(unsigned int cap, bool bind)
{
	return cap == CAP_NET_ADMIN || (bind && cap == CAP_NET_BIND_SERVICE);
}

/* The kernel's own account of the bounding set, whatever libcap-ng believes it did. */
static int
check_bounding(bool bind)
{
	for (unsigned int cap = 0;; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0 && errno == EINVAL)
			return 0; /* past the last capability */
		if (r < 0) {
			log_err("cannot read the capability bounding set");
			return -1;
		}
		if (r == 1 && !kept(cap, bind)) {
			const char *name = capng_capability_to_name(cap);

			log_errx("cannot drop %s from the capability bounding set (it needs "
			         "CAP_SETPCAP at start-up)",
			         name ? name : "a capability");
			return -1;
		}
	}
}

int
priv_drop(const struct conf *conf)
{
	/* wireguard-go binds the WireGuard port itself, with the capabilities netd leaves. */
	bool bind =
	        privileged_port(conf->gossip.bind.port) || privileged_port(conf->wg.listen_port);
	int rc;

	capng_clear(CAPNG_SELECT_ALL);
	if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
	                 CAP_NET_ADMIN) < 0 ||
	    (bind && capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
	                          CAP_NET_BIND_SERVICE) < 0)) {
		log_errx("cannot describe the capabilities to keep");
		return -1;
	}
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which goes next. Its
	 * result is what the kernel says: a set already reduced (by systemd) is fine
	 * without CAP_SETPCAP. */
	(void)capng_apply(CAPNG_SELECT_BOUNDS);
	if (check_bounding(bind) < 0)
		return -1;
	rc = capng_apply(CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
	if (rc < 0) {
		log_errx("cannot drop capabilities (libcap-ng: %d)", rc);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_err("cannot set no_new_privs");
		return -1;
	}
	log_info("privileges dropped: CAP_NET_ADMIN%s kept, for netd and what it starts",
	         bind ? " and CAP_NET_BIND_SERVICE" : "");
	return 0;
}
