/* khtool: drives netd's kernel helpers from the command line, so that namespace and VM
 * tests exercise the library itself rather than `wg` or `ip`.
 *
 *   khtool wg-kernel                       exit 0 if kernel WireGuard is available, else 1
 *   khtool wg-add NAME [auto|kernel|userspace]
 *   khtool wg-start NAME [COMMAND]         prints "started" or "adopted"
 *   khtool wg-del NAME
 *   khtool wg-list
 *   khtool wg-backend NAME                 prints "kernel" or "userspace"
 *   khtool wg-dump NAME                    the device in the format of `wg show NAME dump`
 *   khtool wg-set NAME [private-key FILE] [listen-port N] [fwmark N] [replace-peers]
 *          [peer KEY [remove] [update-only] [replace-allowed-ips] [preshared-key FILE]
 *           [endpoint ADDR:PORT] [persistent-keepalive N] [allowed-ips A/L,...]]...
 *   khtool wg-bulk NAME PEERS ALLOWEDIPS   set that many peers at once, read them back, time it
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/wg.h"

static int
fail(const char *what, int err)
{
	const char *detail = kh_last_error();

	if (*detail)
		fprintf(stderr, "khtool: %s\n", detail);
	else
		fprintf(stderr, "khtool: %s: %s\n", what, strerror(-err));
	return 1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: khtool wg-kernel | wg-add NAME [BACKEND] | wg-start NAME "
	                "[COMMAND] | wg-del NAME | wg-list | wg-backend NAME | wg-dump NAME | "
	                "wg-set NAME ARGS... | wg-bulk NAME PEERS ALLOWEDIPS\n");
	return 2;
}

static int
key_from_b64(uint8_t key[WG_KEY_SIZE], const char *text)
{
	size_t len;

	if (sodium_base642bin(key, WG_KEY_SIZE, text, strlen(text), " \n", &len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != WG_KEY_SIZE)
		return -1;
	return 0;
}

static int
key_from_file(uint8_t key[WG_KEY_SIZE], const char *path)
{
	char text[128];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return key_from_b64(key, text);
}

static void
print_key(const uint8_t key[WG_KEY_SIZE])
{
	char b64[sodium_base64_ENCODED_LEN(WG_KEY_SIZE, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), key, WG_KEY_SIZE, sodium_base64_VARIANT_ORIGINAL);
	fputs(b64, stdout);
}

/* Decimal, or hexadecimal with 0x as wg(8) accepts for fwmarks. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, strncmp(s, "0x", 2) ? 10 : 16);
	if (errno || end == s || *end || s[0] == '-' || n > max)
		return -1;
	*out = n;
	return 0;
}

static int
parse_endpoint(const char *text, union wg_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(text, ':');
	uint64_t port;
	size_t len;

	memset(ep, 0, sizeof(*ep));
	if (!colon || parse_u64(colon + 1, 65535, &port) < 0)
		return -1;
	len = (size_t)(colon - text);
	if (len >= sizeof(host))
		return -1;
	memcpy(host, text, len);
	host[len] = '\0';
	if (host[0] == '[' && len > 2 && host[len - 1] == ']') {
		host[len - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &ep->sin6.sin6_addr) != 1)
			return -1;
		ep->sin6.sin6_family = AF_INET6;
		ep->sin6.sin6_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET, host, &ep->sin.sin_addr) != 1)
		return -1;
	ep->sin.sin_family = AF_INET;
	ep->sin.sin_port = htons((uint16_t)port);
	return 0;
}

static int
parse_allowedips(struct wg_peer *peer, const char *list)
{
	char *copy = strdup(list), *item, *save = NULL;
	int ret = 0;

	if (!copy)
		return -1;
	for (item = strtok_r(copy, ",", &save); item && ret == 0;
	     item = strtok_r(NULL, ",", &save)) {
		struct addr_prefix p;

		if (!strchr(item, '/') || addr_prefix_parse(item, &p) < 0 ||
		    wg_peer_add_allowedip(peer, &p) < 0)
			ret = -1;
	}
	free(copy);
	return ret;
}

static int
cmd_set(int argc, char **argv)
{
	struct wg_device *dev = wg_device_new(argv[0]);
	struct wg_peer *peer = NULL;
	uint64_t n;
	int ret = 2;

	if (!dev)
		return fail(argv[0], -errno);
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "replace-peers")) {
			dev->flags |= WG_DEVICE_REPLACE_PEERS;
			continue;
		}
		if (peer && !strcmp(opt, "remove")) {
			peer->flags |= WG_PEER_REMOVE_ME;
			continue;
		}
		if (peer && !strcmp(opt, "update-only")) {
			peer->flags |= WG_PEER_UPDATE_ONLY;
			continue;
		}
		if (peer && !strcmp(opt, "replace-allowed-ips")) {
			peer->flags |= WG_PEER_REPLACE_ALLOWEDIPS;
			continue;
		}
		if (!arg)
			goto bad;
		i++;
		if (!strcmp(opt, "peer")) {
			peer = wg_device_add_peer(dev);
			if (!peer || key_from_b64(peer->public_key, arg) < 0)
				goto bad;
		} else if (!peer && !strcmp(opt, "private-key")) {
			if (key_from_file(dev->private_key, arg) < 0)
				goto bad;
			dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
		} else if (!peer && !strcmp(opt, "listen-port")) {
			if (parse_u64(arg, 65535, &n) < 0)
				goto bad;
			dev->listen_port = (uint16_t)n;
			dev->flags |= WG_DEVICE_HAS_LISTEN_PORT;
		} else if (!peer && !strcmp(opt, "fwmark")) {
			if (parse_u64(arg, UINT32_MAX, &n) < 0)
				goto bad;
			dev->fwmark = (uint32_t)n;
			dev->flags |= WG_DEVICE_HAS_FWMARK;
		} else if (peer && !strcmp(opt, "preshared-key")) {
			if (key_from_file(peer->preshared_key, arg) < 0)
				goto bad;
			peer->flags |= WG_PEER_HAS_PRESHARED_KEY;
		} else if (peer && !strcmp(opt, "endpoint")) {
			if (parse_endpoint(arg, &peer->endpoint) < 0)
				goto bad;
			peer->flags |= WG_PEER_HAS_ENDPOINT;
		} else if (peer && !strcmp(opt, "persistent-keepalive")) {
			if (parse_u64(arg, 65535, &n) < 0)
				goto bad;
			peer->persistent_keepalive = (uint16_t)n;
			peer->flags |= WG_PEER_HAS_KEEPALIVE;
		} else if (peer && !strcmp(opt, "allowed-ips")) {
			if (parse_allowedips(peer, arg) < 0)
				goto bad;
		} else {
			goto bad;
		}
		continue;
	bad:
		fprintf(stderr, "khtool: wg-set: bad argument '%s'%s%s\n", opt, arg ? " " : "",
		        arg ? arg : "");
		goto out;
	}
	ret = wg_set_device(dev);
	ret = ret < 0 ? fail(dev->name, ret) : 0;
out:
	wg_free_device(dev);
	return ret;
}

static void
print_endpoint(const union wg_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN];

	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->sin.sin_addr, addr, sizeof(addr));
		printf("%s:%u", addr, ntohs(ep->sin.sin_port));
	} else {
		inet_ntop(AF_INET6, &ep->sin6.sin6_addr, addr, sizeof(addr));
		printf("[%s]:%u", addr, ntohs(ep->sin6.sin6_port));
	}
}

static int
cmd_dump(const char *name)
{
	struct wg_device *dev;
	int ret = wg_get_device(name, &dev);

	if (ret < 0)
		return fail(name, ret);
	if (dev->flags & WG_DEVICE_HAS_PRIVATE_KEY)
		print_key(dev->private_key);
	else
		fputs("(none)", stdout);
	putchar('\t');
	if (dev->flags & WG_DEVICE_HAS_PUBLIC_KEY)
		print_key(dev->public_key);
	else
		fputs("(none)", stdout);
	printf("\t%u\t", dev->listen_port);
	if (dev->fwmark)
		printf("0x%x\n", dev->fwmark);
	else
		puts("off");
	for (size_t i = 0; i < dev->npeers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		print_key(p->public_key);
		putchar('\t');
		if (p->flags & WG_PEER_HAS_PRESHARED_KEY)
			print_key(p->preshared_key);
		else
			fputs("(none)", stdout);
		putchar('\t');
		if (p->flags & WG_PEER_HAS_ENDPOINT)
			print_endpoint(&p->endpoint);
		else
			fputs("(none)", stdout);
		putchar('\t');
		for (size_t j = 0; j < p->nallowedips; j++) {
			char prefix[ADDR_PREFIX_STRLEN];

			printf("%s%s", j ? "," : "", addr_prefix_format(&p->allowedips[j], prefix));
		}
		if (!p->nallowedips)
			fputs("(none)", stdout);
		printf("\t%lld\t%" PRIu64 "\t%" PRIu64 "\t", (long long)p->last_handshake.tv_sec,
		       p->rx_bytes, p->tx_bytes);
		if (p->persistent_keepalive)
			printf("%u\n", p->persistent_keepalive);
		else
			puts("off");
	}
	wg_free_device(dev);
	return 0;
}

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Peers get random keys and consecutive /32s from 10.0.0.0/8. */
static int
cmd_bulk(const char *name, const char *npeers_text, const char *naips_text)
{
	struct wg_device *dev = wg_device_new(name), *got = NULL;
	uint64_t npeers, naips;
	struct timespec t0;
	uint32_t next = 0;
	size_t total = 0;
	int ret = 1;

	if (!dev || parse_u64(npeers_text, 1000000, &npeers) < 0 ||
	    parse_u64(naips_text, 100000, &naips) < 0) {
		wg_free_device(dev);
		return usage();
	}
	dev->flags |= WG_DEVICE_REPLACE_PEERS;
	for (uint64_t i = 0; i < npeers; i++) {
		struct wg_peer *peer = wg_device_add_peer(dev);

		if (!peer)
			goto out;
		randombytes_buf(peer->public_key, WG_KEY_SIZE);
		/* Sent with the first part of a split peer only, or the later parts would
		 * wipe the earlier ones: the count read back shows it. */
		peer->flags = WG_PEER_REPLACE_ALLOWEDIPS;
		for (uint64_t j = 0; j < naips; j++, next++) {
			struct addr_prefix aip = {.addr.family = AF_INET, .len = 32};

			aip.addr.u.v4.s_addr = htonl(0x0a000000u | (next & 0xffffffu));
			if (wg_peer_add_allowedip(peer, &aip) < 0)
				goto out;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = wg_set_device(dev);
	if (ret < 0) {
		ret = fail(name, ret);
		goto out;
	}
	printf("set %" PRIu64 " peers x %" PRIu64 " allowed-ips: %.3f s\n", npeers, naips,
	       seconds_since(&t0));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = wg_get_device(name, &got);
	if (ret < 0) {
		ret = fail(name, ret);
		goto out;
	}
	for (size_t i = 0; i < got->npeers; i++)
		total += got->peers[i].nallowedips;
	printf("get %zu peers, %zu allowed-ips: %.3f s\n", got->npeers, total, seconds_since(&t0));
	ret = got->npeers == npeers && total == npeers * naips ? 0 : 1;
	if (ret)
		fprintf(stderr, "khtool: wg-bulk: read back a different device\n");
out:
	wg_free_device(got);
	wg_free_device(dev);
	return ret;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	int ret;

	if (sodium_init() < 0)
		return 1;
	if (!strcmp(cmd, "wg-kernel") && argc == 2)
		return wg_kernel_available() ? 0 : 1;
	if (!strcmp(cmd, "wg-add") && (argc == 3 || argc == 4)) {
		enum wg_backend backend = WG_BACKEND_AUTO;

		if (argc == 4 && !strcmp(argv[3], "kernel"))
			backend = WG_BACKEND_KERNEL;
		else if (argc == 4 && !strcmp(argv[3], "userspace"))
			backend = WG_BACKEND_USERSPACE;
		else if (argc == 4 && strcmp(argv[3], "auto"))
			return usage();
		ret = wg_add_device(argv[2], backend, NULL);
		return ret < 0 ? fail(argv[2], ret) : 0;
	}
	if (!strcmp(cmd, "wg-start") && (argc == 3 || argc == 4)) {
		bool adopted;

		ret = wg_userspace_start(argv[2], argc == 4 ? argv[3] : NULL, &adopted);
		if (ret < 0)
			return fail(argv[2], ret);
		puts(adopted ? "adopted" : "started");
		return 0;
	}
	if (!strcmp(cmd, "wg-del") && argc == 3) {
		ret = wg_del_device(argv[2]);
		return ret < 0 ? fail(argv[2], ret) : 0;
	}
	if (!strcmp(cmd, "wg-list") && argc == 2) {
		char **names;

		ret = wg_list_devices(&names);
		if (ret < 0)
			return fail("list", ret);
		for (char **n = names; *n; n++)
			puts(*n);
		wg_free_names(names);
		return 0;
	}
	if (!strcmp(cmd, "wg-backend") && argc == 3) {
		enum wg_backend backend;

		ret = wg_device_backend(argv[2], &backend);
		if (ret < 0)
			return fail(argv[2], ret);
		puts(backend == WG_BACKEND_KERNEL ? "kernel" : "userspace");
		return 0;
	}
	if (!strcmp(cmd, "wg-dump") && argc == 3)
		return cmd_dump(argv[2]);
	if (!strcmp(cmd, "wg-set") && argc >= 3)
		return cmd_set(argc - 2, argv + 2);
	if (!strcmp(cmd, "wg-bulk") && argc == 5)
		return cmd_bulk(argv[2], argv[3], argv[4]);
	return usage();
}
