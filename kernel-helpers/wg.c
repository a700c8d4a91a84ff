/* The WireGuard device model and the public calls: each finds out, per interface and at run
 * time, whether kernel WireGuard or a userspace implementation serves it, and asks that one. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernel-helpers/wg.h"
#include "kernel-helpers/wg_internal.h"

static _Thread_local char last_error[512];

void
wg_set_error(const char *fmt, ...)
{
	char tmp[sizeof(last_error)];
	va_list ap;

	/* Formatted aside first: callers prefix the previous message to itself. */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(last_error, tmp, sizeof(last_error));
}

void
wg_clear_error(void)
{
	last_error[0] = '\0';
}

const char *
wg_last_error(void)
{
	return last_error;
}

int
wg_check_name(const char *name)
{
	size_t len;

	if (!name) {
		wg_set_error("no interface name");
		return -EINVAL;
	}
	len = strnlen(name, IFNAMSIZ);
	/* The kernel's own rules, and the name becomes a file name under
	 * WG_USERSPACE_SOCKET_DIR, hence no '/' and no "." or "..". */
	if (len == 0 || len >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strpbrk(name, "/: \t\n\v\f\r")) {
		wg_set_error("'%.*s': not a valid interface name", IFNAMSIZ, name);
		return -EINVAL;
	}
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
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	memcpy(dev->name, name, strlen(name) + 1);
	return dev;
}

struct wg_peer *
wg_device_add_peer(struct wg_device *dev)
{
	struct wg_peer *peer;

	if (dev->npeers == dev->peers_cap) {
		size_t cap = dev->peers_cap ? dev->peers_cap * 2 : 8;
		struct wg_peer *peers;

		if (cap > SIZE_MAX / sizeof(*peers)) {
			errno = ENOMEM;
			return NULL;
		}
		peers = realloc(dev->peers, cap * sizeof(*peers));
		if (!peers)
			return NULL;
		dev->peers = peers;
		dev->peers_cap = cap;
	}
	peer = &dev->peers[dev->npeers++];
	memset(peer, 0, sizeof(*peer));
	return peer;
}

int
wg_peer_add_allowedip(struct wg_peer *peer, int family, const void *addr, uint8_t cidr)
{
	struct wg_allowedip *aip;

	if ((family != AF_INET || cidr > 32) && (family != AF_INET6 || cidr > 128))
		return -EINVAL;
	if (peer->nallowedips == peer->allowedips_cap) {
		size_t cap = peer->allowedips_cap ? peer->allowedips_cap * 2 : 4;
		struct wg_allowedip *aips;

		if (cap > SIZE_MAX / sizeof(*aips))
			return -ENOMEM;
		aips = realloc(peer->allowedips, cap * sizeof(*aips));
		if (!aips)
			return -ENOMEM;
		peer->allowedips = aips;
		peer->allowedips_cap = cap;
	}
	aip = &peer->allowedips[peer->nallowedips++];
	memset(aip, 0, sizeof(*aip));
	aip->family = (uint16_t)family;
	memcpy(&aip->addr, addr, family == AF_INET ? 4 : 16);
	aip->cidr = cidr;
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
	/* The private key should not linger in freed memory. */
	explicit_bzero(dev, sizeof(*dev));
	free(dev);
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
wg_kernel_available(void)
{
	uint16_t family;

	wg_clear_error();
	return wg_genl_family(&family) == 0;
}

static bool
socket_exists(const char *name)
{
	char path[108];
	struct stat st;

	return wg_uapi_socket_path(name, path, sizeof(path)) == 0 && stat(path, &st) == 0 &&
	       S_ISSOCK(st.st_mode);
}

/* The socket directory is shared by all network namespaces: a socket only serves this one
 * when the tun link of that name is here too. */
static int
backend_of(const char *name, enum wg_backend *backend)
{
	char kind[64];
	int ret;

	ret = wg_check_name(name);
	if (ret < 0)
		return ret;
	ret = wg_link_kind(name, kind, sizeof(kind));
	if (ret < 0 && ret != -ENODEV)
		return ret;
	if (ret == 0 && !strcmp(kind, "wireguard")) {
		*backend = WG_BACKEND_KERNEL;
		return 0;
	}
	if (socket_exists(name)) {
		if (ret == -ENODEV) {
			wg_set_error(
			        "%s: %s/%s.sock exists but the interface is not in this network "
			        "namespace",
			        name, WG_USERSPACE_SOCKET_DIR, name);
			return -ENODEV;
		}
		*backend = WG_BACKEND_USERSPACE;
		return 0;
	}
	if (ret == 0)
		wg_set_error("%s: not a WireGuard interface", name);
	else
		wg_set_error("%s: no such WireGuard interface", name);
	return -ENODEV;
}

int
wg_device_backend(const char *name, enum wg_backend *backend)
{
	enum wg_backend b;
	int ret;

	wg_clear_error();
	ret = backend_of(name, &b);
	if (ret == 0)
		*backend = b;
	return ret;
}

int
wg_add_device(const char *name, enum wg_backend backend)
{
	enum wg_backend existing;
	int ret;

	wg_clear_error();
	ret = backend_of(name, &existing);
	if (ret == 0) {
		wg_set_error("%s: a WireGuard interface of that name exists already", name);
		return -EEXIST;
	}
	if (ret != -ENODEV)
		return ret;
	wg_clear_error();
	if (backend == WG_BACKEND_AUTO)
		backend = wg_kernel_available() ? WG_BACKEND_KERNEL : WG_BACKEND_USERSPACE;
	switch (backend) {
	case WG_BACKEND_KERNEL:
		return wg_link_add_wireguard(name);
	case WG_BACKEND_USERSPACE:
		return wg_userspace_start(name, NULL, NULL);
	case WG_BACKEND_AUTO:
		break;
	}
	wg_set_error("%s: unknown backend %d", name, (int)backend);
	return -EINVAL;
}

int
wg_del_device(const char *name)
{
	enum wg_backend backend;
	int ret;

	wg_clear_error();
	ret = backend_of(name, &backend);
	if (ret < 0)
		return ret;
	if (backend == WG_BACKEND_KERNEL)
		return wg_link_del(name);
	return wg_userspace_del(name);
}

int
wg_get_device(const char *name, struct wg_device **dev)
{
	enum wg_backend backend;
	int ret;

	wg_clear_error();
	ret = backend_of(name, &backend);
	if (ret < 0)
		return ret;
	if (backend == WG_BACKEND_KERNEL)
		return wg_genl_get_device(name, dev);
	return wg_uapi_get_device(name, dev);
}

int
wg_set_device(const struct wg_device *dev)
{
	enum wg_backend backend;
	int ret;

	wg_clear_error();
	ret = backend_of(dev->name, &backend);
	if (ret < 0)
		return ret;
	if (backend == WG_BACKEND_KERNEL)
		return wg_genl_set_device(dev);
	return wg_uapi_set_device(dev);
}

static int
list_userspace(char ***names, size_t *count)
{
	static const char suffix[] = ".sock";
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	dir = opendir(WG_USERSPACE_SOCKET_DIR);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		char name[IFNAMSIZ];
		size_t len = strlen(de->d_name);

		if (len <= sizeof(suffix) - 1 || len - (sizeof(suffix) - 1) >= IFNAMSIZ ||
		    strcmp(de->d_name + len - (sizeof(suffix) - 1), suffix) != 0)
			continue;
		memcpy(name, de->d_name, len - (sizeof(suffix) - 1));
		name[len - (sizeof(suffix) - 1)] = '\0';
		/* Sockets of other namespaces have no link here. */
		if (wg_check_name(name) < 0 || !socket_exists(name) || !if_nametoindex(name))
			continue;
		ret = wg_names_add(names, count, name);
		if (ret < 0)
			break;
	}
	closedir(dir);
	return ret;
}

int
wg_list_devices(char ***names)
{
	char **list = NULL;
	size_t count = 0;
	int ret;

	wg_clear_error();
	ret = wg_link_list("wireguard", &list, &count);
	if (ret < 0)
		goto fail;
	ret = list_userspace(&list, &count);
	if (ret < 0) {
		wg_set_error("%s: %s", WG_USERSPACE_SOCKET_DIR, strerror(-ret));
		goto fail;
	}
	if (!list) {
		list = calloc(1, sizeof(*list));
		if (!list) {
			ret = -ENOMEM;
			goto fail;
		}
	}
	wg_clear_error();
	*names = list;
	return 0;
fail:
	wg_free_names(list);
	return ret;
}
