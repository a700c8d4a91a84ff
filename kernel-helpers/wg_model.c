/* The WireGuard device model (devices, peers, allowed-ips, name lists) and the waits for work
 * left to the background: shared by the real backends and the fake kernel. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <sodium.h>

#include "kernel-helpers/wg.h"
#include "kernel-helpers/wg_internal.h"

static int wait_ms = WG_WAIT_DEFAULT_MS;

void
wg_set_wait_ms(int ms)
{
	wait_ms = ms > 0 ? ms : WG_WAIT_DEFAULT_MS;
}

int
wg_wait_ms(void)
{
	return wait_ms;
}

void
wg_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

bool
wg_cond_await(pthread_cond_t *cond, pthread_mutex_t *mutex, const bool *done)
{
	struct timespec ts;
	int64_t until;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	until = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + wg_wait_ms();
	ts = (struct timespec){.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000};
	while (!*done)
		if (pthread_cond_timedwait(cond, mutex, &ts) == ETIMEDOUT)
			return *done;
	return true;
}

static pthread_once_t background_once = PTHREAD_ONCE_INIT;
static int background_fd = -1, background_errno;

static void
background_open(void)
{
	background_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	background_errno = errno;
}

int
wg_background_fd(void)
{
	pthread_once(&background_once, background_open);
	if (background_fd < 0)
		errno = background_errno;
	return background_fd;
}

/* Neither call can fail in a way that matters: a read finds nothing (EAGAIN) when nothing
 * had finished, a write finds a full counter only when it is readable anyway. */
void
wg_background_clear(void)
{
	uint64_t count;
	ssize_t n = wg_background_fd() >= 0 ? read(background_fd, &count, sizeof(count)) : 0;

	(void)n;
}

void
wg_background_done(void)
{
	uint64_t one = 1;
	ssize_t n = wg_background_fd() >= 0 ? write(background_fd, &one, sizeof(one)) : 0;

	(void)n;
}

int
wg_thread_start(void *(*fn)(void *), void *arg, pthread_t *joinable)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int err;

	pthread_attr_init(&attr);
	if (!joinable)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals stay with the caller's threads (netd's loop handles them). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (!err && joinable)
		*joinable = t;
	return err;
}

int
wg_check_name(const char *name)
{
	size_t len;

	if (!name)
		return kh_fail(-EINVAL, "no interface name");
	len = strnlen(name, IFNAMSIZ);
	/* The kernel's own rules, and the name becomes a file name under
	 * WG_USERSPACE_SOCKET_DIR, hence no '/' and no "." or "..". */
	if (len == 0 || len >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strpbrk(name, "/: \t\n\v\f\r"))
		return kh_fail(-EINVAL, "'%.*s': not a valid interface name", IFNAMSIZ, name);
	return 0;
}

struct wg_device *
wg_device_new(const char *name)
{
	struct wg_device *dev;

	if (wg_check_name(name) < 0) {
		errno = EINVAL;
		return NULL;
	}
	/* The device may hold the private key: in memory that is never swapped, left out of
	 * core dumps and wiped when freed. */
	if (sodium_init() < 0) {
		errno = ENOMEM;
		return NULL;
	}
	dev = sodium_malloc(sizeof(*dev));
	if (!dev)
		return NULL;
	memset(dev, 0, sizeof(*dev));
	memcpy(dev->name, name, strlen(name) + 1);
	return dev;
}

int
wg_device_reserve_peers(struct wg_device *dev, size_t n)
{
	struct wg_peer *peers;

	if (n <= dev->peers_cap)
		return 0;
	if (n > SIZE_MAX / sizeof(*peers))
		return -ENOMEM;
	peers = realloc(dev->peers, n * sizeof(*peers));
	if (!peers)
		return -ENOMEM;
	dev->peers = peers;
	dev->peers_cap = n;
	return 0;
}

struct wg_peer *
wg_device_add_peer(struct wg_device *dev)
{
	struct wg_peer *peer;

	if (dev->npeers == dev->peers_cap &&
	    wg_device_reserve_peers(dev, dev->peers_cap ? dev->peers_cap * 2 : 8) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	peer = &dev->peers[dev->npeers++];
	memset(peer, 0, sizeof(*peer));
	return peer;
}

static int
peer_qcmp(const void *a, const void *b)
{
	return memcmp(((const struct wg_peer *)a)->public_key,
	              ((const struct wg_peer *)b)->public_key, WG_KEY_SIZE);
}

void
wg_device_sort_peers(struct wg_device *dev)
{
	if (dev->npeers > 1)
		qsort(dev->peers, dev->npeers, sizeof(*dev->peers), peer_qcmp);
}

bool
wg_allowedip_ok(const struct addr_prefix *prefix)
{
	size_t len = addr_len(prefix->addr.family);

	return len && prefix->len <= len * 8;
}

int
wg_peer_add_allowedip(struct wg_peer *peer, const struct addr_prefix *prefix)
{
	size_t len = addr_len(prefix->addr.family);
	struct addr_prefix *aip;

	if (!wg_allowedip_ok(prefix))
		return -EINVAL;
	if (peer->nallowedips == peer->allowedips_cap) {
		/* Most peers have one or two (a site's IPv4 and IPv6 prefixes): a read of
		 * thousands makes as many of these. */
		size_t cap = peer->allowedips_cap ? peer->allowedips_cap * 2 : 2;
		struct addr_prefix *aips;

		if (cap > SIZE_MAX / sizeof(*aips))
			return -ENOMEM;
		aips = realloc(peer->allowedips, cap * sizeof(*aips));
		if (!aips)
			return -ENOMEM;
		peer->allowedips = aips;
		peer->allowedips_cap = cap;
	}
	/* Only the address's own bytes: what lies beyond them is zero in every copy. */
	aip = &peer->allowedips[peer->nallowedips++];
	memset(aip, 0, sizeof(*aip));
	aip->addr.family = prefix->addr.family;
	memcpy(aip->addr.u.bytes, prefix->addr.u.bytes, len);
	aip->len = prefix->len;
	return 0;
}

int
wg_check_delta(const struct wg_device *dev)
{
	for (size_t i = 0; i < dev->npeers; i++) {
		const struct wg_peer *peer = &dev->peers[i];

		if ((peer->flags & WG_PEER_HAS_ENDPOINT) &&
		    peer->endpoint.sa.sa_family != AF_INET &&
		    peer->endpoint.sa.sa_family != AF_INET6)
			return kh_fail(-EINVAL, "%s: peer %zu: endpoint of unknown family",
			               dev->name, i);
		for (size_t j = 0; j < peer->nallowedips; j++)
			if (!wg_allowedip_ok(&peer->allowedips[j]))
				return kh_fail(-EINVAL,
				               "%s: peer %zu: allowed-ip %zu is not a valid prefix",
				               dev->name, i, j);
	}
	return 0;
}

void
wg_free_device(struct wg_device *dev)
{
	if (!dev)
		return;
	for (size_t i = 0; i < dev->npeers; i++)
		free(dev->peers[i].allowedips);
	free(dev->peers);
	sodium_free(dev); /* wipes it */
}

int
wg_names_add(char ***names, size_t *count, const char *name)
{
	char **grown, *copy;

	for (size_t i = 0; i < *count; i++)
		if (!strcmp((*names)[i], name))
			return 0;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	grown = realloc(*names, (*count + 2) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	grown[(*count)++] = copy;
	grown[*count] = NULL;
	*names = grown;
	return 0;
}

void
wg_free_names(char **names)
{
	if (!names)
		return;
	for (char **n = names; *n; n++)
		free(*n);
	free(names);
}

bool
wg_endpoint_equal(const union wg_endpoint *a, const union wg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port &&
		       a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->sin6.sin6_port == b->sin6.sin6_port &&
		       memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16) == 0;
	return true;
}
