/* Creating a WireGuard interface of the implementation the configuration asks for: what
 * "auto" means is decided here, once, for netd's status and for the creation alike. Composed
 * of the primitives of wg.h, above both the kernel and the fake kernel, which implements only
 * the primitives. */
#include <errno.h>

#include "kernel-helpers/nl.h"
#include "kernel-helpers/wg.h"

/* The implementation a new interface gets. */
static enum wg_backend
resolve(enum wg_backend backend)
{
	if (backend != WG_BACKEND_AUTO)
		return backend;
	return wg_kernel_available() ? WG_BACKEND_KERNEL : WG_BACKEND_USERSPACE;
}

enum wg_backend
wg_choose_backend(const char *name, enum wg_backend backend)
{
	enum wg_backend existing;

	if (wg_device_backend(name, &existing) == 0)
		return existing;
	return resolve(backend);
}

int
wg_add_device(const char *name, enum wg_backend backend, const char *userspace_command)
{
	enum wg_backend existing;
	int ret;

	ret = wg_device_backend(name, &existing);
	if (ret == 0)
		return kh_fail(-EEXIST, "%s: a WireGuard interface of that name exists already",
		               name);
	if (ret != -ENODEV)
		return ret;
	switch (resolve(backend)) {
	case WG_BACKEND_KERNEL:
		return wg_add_kernel_device(name);
	case WG_BACKEND_USERSPACE:
		return wg_userspace_start(name, userspace_command, NULL);
	case WG_BACKEND_AUTO:
		break;
	}
	return kh_fail(-EINVAL, "%s: unknown backend %d", name, (int)backend);
}
