/* Route calls composed of the primitives of rtnl.h: flushing netd's routes from a table and
 * finding the other owners' routes an install would collide with. Written once, above both the
 * kernel and the fake kernel, which implements only the primitives. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
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

/* A batch on its way and the outcomes of its entries. */
struct kh_route_batch {
	const struct kh_route *routes;
	size_t n;
	bool del, threaded;
	pthread_t thread;
	int *err;
	char **why; /* of the failed entries */
};

static void
batch_record(size_t i, int err, const char *why, void *arg)
{
	struct kh_route_batch *b = arg;

	b->err[i] = err;
	if (err < 0)
		b->why[i] = strdup(why);
}

static void *
batch_thread(void *arg)
{
	struct kh_route_batch *b = arg;

	kh_route_change_many(b->routes, b->n, b->del, batch_record, b);
	return NULL;
}

struct kh_route_batch *
kh_route_batch_start(const struct kh_route *routes, size_t n, bool del)
{
	struct kh_route_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->routes = routes;
	b->n = n;
	b->del = del;
	b->err = calloc(n ? n : 1, sizeof(*b->err));
	b->why = calloc(n ? n : 1, sizeof(*b->why));
	if (!b->err || !b->why) {
		free(b->err);
		free(b->why);
		free(b);
		return NULL;
	}
	/* Without a thread the batch still runs, when it is finished. */
	b->threaded =
	        kh_route_change_threads && pthread_create(&b->thread, NULL, batch_thread, b) == 0;
	return b;
}

size_t
kh_route_batch_finish(struct kh_route_batch *b, kh_route_done_cb done, void *arg)
{
	size_t failed = 0;

	if (b->threaded)
		pthread_join(b->thread, NULL);
	else
		batch_thread(b);
	for (size_t i = 0; i < b->n; i++) {
		/* A failure's text may have found no memory; its errno stands. */
		const char *why = b->err[i] < 0 ? b->why[i] ? b->why[i] : "" : NULL;

		failed += b->err[i] < 0;
		done(i, b->err[i], why, arg);
		free(b->why[i]);
	}
	free(b->why);
	free(b->err);
	free(b);
	return failed;
}
