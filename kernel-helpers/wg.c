/* The WireGuard calls that reach an implementation: each finds out, per interface and at run
 * time, whether kernel WireGuard or a userspace implementation serves it, and asks that one.
 * Kernel devices are links, made, read and deleted through kernel-helpers' link calls. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernel-helpers/rtmsg.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/wg.h"
#include "kernel-helpers/wg_internal.h"

/* --- the links --- */

/* The link's kind ("" when it has none); -ENODEV when there is no such link. */
static int
link_kind(const char *name, char *kind, size_t kindlen)
{
	struct kh_link link;
	int ret = kh_link_get(name, &link);

	if (ret == -ENODEV)
		return kh_fail(ret, "%s: no such interface", name);
	if (ret < 0)
		return ret;
	snprintf(kind, kindlen, "%s", link.kind);
	return 0;
}

int
wg_add_kernel_device(const char *name)
{
	struct nl_msg *msg = NULL;
	int ret;

	kh_clear_error();
	ret = wg_check_name(name);
	if (ret < 0)
		return ret;
	ret = kh_msg_link_add(name, "wireguard", 0, &msg);
	if (ret < 0)
		return kh_fail(ret, "%s: cannot create the WireGuard link: %s", name,
		               strerror(-ret));
	ret = kh_nl_request(msg, "%s: cannot create the WireGuard link", name);
	nlmsg_free(msg);
	return ret;
}

int
wg_link_del(const char *name)
{
	struct kh_link link;
	int ret = kh_link_get(name, &link);

	if (ret == 0)
		ret = kh_link_del(link.ifindex);
	if (ret < 0)
		return kh_fail(ret, "%s: cannot delete the link: %s", name, kh_last_error());
	return 0;
}

/* Adds the name of every link of that kind to the list (see wg_names_add). */
static int
link_list(const char *kind, char ***names, size_t *count)
{
	struct kh_link *links = NULL;
	size_t n = 0;
	int ret;

	ret = kh_link_list(&links, &n);
	for (size_t i = 0; ret == 0 && i < n; i++)
		if (!strcmp(links[i].kind, kind))
			ret = wg_names_add(names, count, links[i].name);
	free(links);
	return ret;
}

/* --- the calls --- */

bool
wg_kernel_available(void)
{
	uint16_t family;

	kh_clear_error();
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
	/* Until its process answers, an interface being started is neither one nor missing. */
	if (wg_userspace_starting(name))
		return kh_fail(-EINPROGRESS, "%s: being started; not answering yet", name);
	ret = link_kind(name, kind, sizeof(kind));
	if (ret < 0 && ret != -ENODEV)
		return ret;
	if (ret == 0 && !strcmp(kind, "wireguard")) {
		*backend = WG_BACKEND_KERNEL;
		return 0;
	}
	if (socket_exists(name)) {
		if (ret == -ENODEV)
			return kh_fail(
			        -ENODEV,
			        "%s: %s/%s.sock exists but the interface is not in this network "
			        "namespace",
			        name, WG_USERSPACE_SOCKET_DIR, name);
		*backend = WG_BACKEND_USERSPACE;
		return 0;
	}
	if (ret == 0)
		return kh_fail(-ENODEV, "%s: not a WireGuard interface", name);
	return kh_fail(-ENODEV, "%s: no such WireGuard interface", name);
}

int
wg_device_backend(const char *name, enum wg_backend *backend)
{
	enum wg_backend b;
	int ret;

	kh_clear_error();
	ret = backend_of(name, &b);
	if (ret == 0)
		*backend = b;
	return ret;
}

int
wg_del_device(const char *name)
{
	enum wg_backend backend;
	int ret;

	kh_clear_error();
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

	kh_clear_error();
	ret = backend_of(name, &backend);
	if (ret < 0)
		return ret;
	if (backend == WG_BACKEND_KERNEL)
		return wg_genl_get_device(name, dev);
	return wg_uapi_get_device(name, dev);
}

int
wg_get_finished(const char *name, struct wg_device **dev)
{
	kh_clear_error();
	/* Only a userspace implementation's exchanges go on in the background. */
	return wg_uapi_get_finished(name, dev);
}

int
wg_set_device(const struct wg_device *dev)
{
	enum wg_backend backend;
	int ret;

	kh_clear_error();
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

	kh_clear_error();
	ret = link_list("wireguard", &list, &count);
	if (ret < 0)
		goto fail;
	ret = list_userspace(&list, &count);
	if (ret < 0) {
		kh_fail(ret, "%s: %s", WG_USERSPACE_SOCKET_DIR, strerror(-ret));
		goto fail;
	}
	if (!list) {
		list = calloc(1, sizeof(*list));
		if (!list) {
			ret = -ENOMEM;
			goto fail;
		}
	}
	kh_clear_error();
	*names = list;
	return 0;
fail:
	wg_free_names(list);
	return ret;
}
