/* Route calls composed of the primitives of rtnl.h: flushing netd's routes from a table and
 * finding the other owners' routes an install would collide with. Written once, above both the
 * kernel and the fake kernel, which implements only the primitives. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtnl.h"

int
kh_route_flush(int family, uint32_t table, uint8_t protocol, size_t *deleted)
{
	struct kh_route *routes = NULL;
	size_t n = 0, gone = 0;
	int err;

	if (table == 0)
		return kh_fail(-EINVAL, "flush routes of protocol %u: no table given", protocol);
	err = kh_route_list(family, table, protocol, &routes, &n);
	if (err < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		/* Prefix, table, protocol and metric name the route; leaving out the next hop
		 * also matches multipath routes. */
		routes[i].oif = 0;
		routes[i].gateway.family = AF_UNSPEC;
		routes[i].mtu = 0;
		err = kh_route_del(&routes[i]);
		/* Gone already (deleted with its interface, say) is what we wanted. */
		if (err == -ESRCH)
			err = 0;
		if (err < 0)
			break;
		gone++;
	}
	free(routes);
	if (err < 0)
		return err;
	if (deleted)
		*deleted = gone;
	return 0;
}

int
kh_route_collisions(const struct kh_route *mine, struct kh_route **routes, size_t *n)
{
	struct kh_route *all = NULL;
	size_t nall = 0, k = 0;
	int err;

	err = kh_route_list(mine->dst.addr.family, mine->table, KH_ROUTE_ANY_PROTOCOL, &all, &nall);
	if (err < 0)
		return err;
	for (size_t i = 0; i < nall; i++)
		if (kh_route_overlap(mine, &all[i]) != KH_OVERLAP_NONE)
			all[k++] = all[i];
	if (k == 0) {
		free(all);
		all = NULL;
	}
	*routes = all;
	*n = k;
	return 0;
}

size_t
kh_route_replace_many(const struct kh_route *routes, size_t n, kh_route_done_cb done, void *arg)
{
	return kh_route_change_many(routes, n, false, done, arg);
}

size_t
kh_route_del_many(const struct kh_route *routes, size_t n, kh_route_done_cb done, void *arg)
{
	return kh_route_change_many(routes, n, true, done, arg);
}
