/* The text of the cross-platform WireGuard userspace API (wireguard-go's UAPI socket), with
 * no I/O: a strict, bounded parser for the replies and the builder of "set" requests. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kernel-helpers/wg_internal.h"

/* Errors of a reply larger than this make no sense to report. */
#define MAX_ERRNO 4095

struct reply {
	const char *name;
	size_t lineno;
	const char *key, *value; /* the current line, NUL-terminated copies */
	size_t keylen;
};

static int
bad(const struct reply *r, int err, const char *what)
{
	return kh_fail(err, "%s: userspace reply line %zu: %s", r->name, r->lineno, what);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
parse_key(const struct reply *r, uint8_t key[WG_KEY_SIZE])
{
	const char *v = r->value;

	if (strlen(v) != 2 * WG_KEY_SIZE)
		return bad(r, -EBADMSG, "a key is not 64 hex digits");
	for (size_t i = 0; i < WG_KEY_SIZE; i++) {
		int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return bad(r, -EBADMSG, "a key is not 64 hex digits");
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Plain decimal: digits only, no sign, no spaces, at most max. */
static int
parse_num(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (n > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*out = n;
	return 0;
}

static int
parse_value_num(const struct reply *r, uint64_t max, uint64_t *out)
{
	if (parse_num(r->value, max, out) < 0)
		return bad(r, -EBADMSG, "a number is malformed or out of range");
	return 0;
}

/* "a.b.c.d:port" or "[v6addr]:port", the latter with an optional "%zone". */
static int
parse_endpoint(const struct reply *r, union wg_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN + IFNAMSIZ + 1];
	const char *v = r->value, *port;
	uint64_t portnum;
	size_t hostlen;

	memset(ep, 0, sizeof(*ep));
	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		if (!close || close[1] != ':')
			return bad(r, -EBADMSG, "endpoint is not [address]:port");
		hostlen = (size_t)(close - v - 1);
		port = close + 2;
		v++;
	} else {
		port = strrchr(v, ':');
		if (!port)
			return bad(r, -EBADMSG, "endpoint has no port");
		hostlen = (size_t)(port - v);
		port++;
	}
	if (hostlen == 0 || hostlen >= sizeof(host))
		return bad(r, -EBADMSG, "endpoint address has a bad length");
	memcpy(host, v, hostlen);
	host[hostlen] = '\0';
	if (parse_num(port, 65535, &portnum) < 0)
		return bad(r, -EBADMSG, "endpoint port is not 0-65535");

	if (r->value[0] == '[') {
		char *zone = strchr(host, '%');

		if (zone) {
			uint64_t scope;

			*zone++ = '\0';
			if (parse_num(zone, UINT32_MAX, &scope) == 0)
				ep->sin6.sin6_scope_id = (uint32_t)scope;
			else if (!(ep->sin6.sin6_scope_id = if_nametoindex(zone)))
				return bad(r, -EBADMSG, "endpoint zone is unknown");
		}
		if (inet_pton(AF_INET6, host, &ep->sin6.sin6_addr) != 1)
			return bad(r, -EBADMSG, "endpoint is not an IPv6 address");
		ep->sin6.sin6_family = AF_INET6;
		ep->sin6.sin6_port = htons((uint16_t)portnum);
	} else {
		if (inet_pton(AF_INET, host, &ep->sin.sin_addr) != 1)
			return bad(r, -EBADMSG, "endpoint is not an IPv4 address");
		ep->sin.sin_family = AF_INET;
		ep->sin.sin_port = htons((uint16_t)portnum);
	}
	return 0;
}

static int
parse_allowedip(const struct reply *r, struct wg_peer *peer)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(r->value, '/');
	struct addr_prefix aip;
	uint64_t cidr;
	size_t len;

	if (!slash)
		return bad(r, -EBADMSG, "allowed_ip has no /prefix-length");
	len = (size_t)(slash - r->value);
	if (len == 0 || len >= sizeof(addr))
		return bad(r, -EBADMSG, "allowed_ip address has a bad length");
	memcpy(addr, r->value, len);
	addr[len] = '\0';
	memset(&aip, 0, sizeof(aip));
	aip.addr.family = memchr(addr, ':', len) ? AF_INET6 : AF_INET;
	if (inet_pton(aip.addr.family, addr, aip.addr.u.bytes) != 1)
		return bad(r, -EBADMSG, "allowed_ip address is malformed");
	if (parse_num(slash + 1, addr_len(aip.addr.family) * 8, &cidr) < 0)
		return bad(r, -EBADMSG, "allowed_ip prefix length is out of range");
	aip.len = (uint8_t)cidr;
	if (wg_peer_add_allowedip(peer, &aip) < 0)
		return bad(r, -ENOMEM, "out of memory");
	return 0;
}

/* Keys of a peer section that may appear once; allowed_ip repeats. */
enum peer_seen {
	SEEN_PSK = 1 << 0,
	SEEN_ENDPOINT = 1 << 1,
	SEEN_KEEPALIVE = 1 << 2,
	SEEN_HS_SEC = 1 << 3,
	SEEN_HS_NSEC = 1 << 4,
	SEEN_RX = 1 << 5,
	SEEN_TX = 1 << 6,
	SEEN_PROTO = 1 << 7,
};

static bool
key_is(const struct reply *r, const char *key)
{
	return !strcmp(r->key, key);
}

static int
once(const struct reply *r, unsigned int *seen, unsigned int bit)
{
	if (*seen & bit)
		return bad(r, -EBADMSG, "key repeated");
	*seen |= bit;
	return 0;
}

static int
parse_peer_line(const struct reply *r, struct wg_peer *peer, unsigned int *seen)
{
	uint64_t n;
	int ret;

	if (key_is(r, "allowed_ip"))
		return parse_allowedip(r, peer);
	if (key_is(r, "preshared_key")) {
		static const uint8_t zero[WG_KEY_SIZE];

		if ((ret = once(r, seen, SEEN_PSK)) < 0 ||
		    (ret = parse_key(r, peer->preshared_key)))
			return ret;
		if (memcmp(peer->preshared_key, zero, WG_KEY_SIZE))
			peer->flags |= WG_PEER_HAS_PRESHARED_KEY;
		return 0;
	}
	if (key_is(r, "endpoint")) {
		if ((ret = once(r, seen, SEEN_ENDPOINT)) < 0 ||
		    (ret = parse_endpoint(r, &peer->endpoint)) < 0)
			return ret;
		peer->flags |= WG_PEER_HAS_ENDPOINT;
		return 0;
	}
	if (key_is(r, "persistent_keepalive_interval")) {
		if ((ret = once(r, seen, SEEN_KEEPALIVE)) < 0 ||
		    (ret = parse_value_num(r, UINT16_MAX, &n)) < 0)
			return ret;
		peer->persistent_keepalive = (uint16_t)n;
		peer->flags |= WG_PEER_HAS_KEEPALIVE;
		return 0;
	}
	if (key_is(r, "last_handshake_time_sec")) {
		if ((ret = once(r, seen, SEEN_HS_SEC)) < 0 ||
		    (ret = parse_value_num(r, INT64_MAX, &n)) < 0)
			return ret;
		peer->last_handshake.tv_sec = (time_t)n;
		return 0;
	}
	if (key_is(r, "last_handshake_time_nsec")) {
		if ((ret = once(r, seen, SEEN_HS_NSEC)) < 0 ||
		    (ret = parse_value_num(r, 999999999, &n)) < 0)
			return ret;
		peer->last_handshake.tv_nsec = (long)n;
		return 0;
	}
	if (key_is(r, "rx_bytes")) {
		if ((ret = once(r, seen, SEEN_RX)) < 0 ||
		    (ret = parse_value_num(r, UINT64_MAX, &peer->rx_bytes)) < 0)
			return ret;
		return 0;
	}
	if (key_is(r, "tx_bytes")) {
		if ((ret = once(r, seen, SEEN_TX)) < 0 ||
		    (ret = parse_value_num(r, UINT64_MAX, &peer->tx_bytes)) < 0)
			return ret;
		return 0;
	}
	if (key_is(r, "protocol_version")) {
		if ((ret = once(r, seen, SEEN_PROTO)) < 0 ||
		    (ret = parse_value_num(r, UINT32_MAX, &n)) < 0)
			return ret;
		if (n != 1)
			return bad(r, -EPROTO, "unsupported protocol_version");
		return 0;
	}
	/* wg(8), the reference client, skips keys it does not know: that is how newer
	 * implementations add fields. */
	return 0;
}

static int
parse_device_line(const struct reply *r, struct wg_device *dev)
{
	uint64_t n;
	int ret;

	if (key_is(r, "private_key")) {
		if (dev->flags & WG_DEVICE_HAS_PRIVATE_KEY)
			return bad(r, -EBADMSG, "key repeated");
		if ((ret = parse_key(r, dev->private_key)) < 0)
			return ret;
		dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
		if (sodium_init() >= 0 &&
		    crypto_scalarmult_curve25519_base(dev->public_key, dev->private_key) == 0)
			dev->flags |= WG_DEVICE_HAS_PUBLIC_KEY;
		return 0;
	}
	if (key_is(r, "listen_port")) {
		if (dev->flags & WG_DEVICE_HAS_LISTEN_PORT)
			return bad(r, -EBADMSG, "key repeated");
		if ((ret = parse_value_num(r, UINT16_MAX, &n)) < 0)
			return ret;
		dev->listen_port = (uint16_t)n;
		dev->flags |= WG_DEVICE_HAS_LISTEN_PORT;
		return 0;
	}
	if (key_is(r, "fwmark")) {
		if (dev->flags & WG_DEVICE_HAS_FWMARK)
			return bad(r, -EBADMSG, "key repeated");
		if ((ret = parse_value_num(r, UINT32_MAX, &n)) < 0)
			return ret;
		dev->fwmark = (uint32_t)n;
		dev->flags |= WG_DEVICE_HAS_FWMARK;
		return 0;
	}
	return 0; /* unknown device keys: see parse_peer_line */
}

static bool
key_ok(const char *key, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') ||
		      key[i] == '_'))
			return false;
	return true;
}

static int
cmp_key(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, WG_KEY_SIZE);
}

/* A peer listed twice would make any diff against the device meaningless. */
static int
check_unique_peers(const struct wg_device *dev)
{
	const uint8_t **keys;
	int ret = 0;

	if (dev->npeers < 2)
		return 0;
	keys = malloc(dev->npeers * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < dev->npeers; i++)
		keys[i] = dev->peers[i].public_key;
	qsort(keys, dev->npeers, sizeof(*keys), cmp_key);
	for (size_t i = 1; i < dev->npeers; i++)
		if (!memcmp(keys[i - 1], keys[i], WG_KEY_SIZE)) {
			ret = kh_fail(-EBADMSG, "%s: userspace reply lists a peer twice",
			              dev->name);
			break;
		}
	free(keys);
	return ret;
}

static const char *const peer_keys[] = {
        "preshared_key",
        "endpoint",
        "persistent_keepalive_interval",
        "allowed_ip",
        "rx_bytes",
        "tx_bytes",
        "last_handshake_time_sec",
        "protocol_version",
        "last_handshake_time_nsec",
};

/* A key=value line of a get's reply, into the device being read. */
static int
get_line(struct wg_uapi_reader *rd, const struct reply *r)
{
	if (key_is(r, "public_key")) {
		rd->peer = wg_device_add_peer(rd->dev);
		if (!rd->peer)
			return bad(r, -ENOMEM, "out of memory");
		rd->seen = 0;
		return parse_key(r, rd->peer->public_key);
	}
	if (rd->peer) {
		if (key_is(r, "private_key") || key_is(r, "listen_port") || key_is(r, "fwmark"))
			return bad(r, -EPROTO, "interface key inside a peer section");
		return parse_peer_line(r, rd->peer, &rd->seen);
	}
	for (size_t i = 0; i < sizeof(peer_keys) / sizeof(peer_keys[0]); i++)
		if (key_is(r, peer_keys[i]))
			return bad(r, -EPROTO, "peer key before any public_key");
	return parse_device_line(r, rd->dev);
}

int
wg_uapi_reader_start(struct wg_uapi_reader *rd, const char *name, bool get, size_t peers_hint)
{
	memset(rd, 0, sizeof(*rd));
	rd->name = name;
	rd->err = -1;
	if (!get)
		return 0;
	rd->dev = wg_device_new(name);
	if (!rd->dev)
		return -errno;
	if (wg_device_reserve_peers(rd->dev, peers_hint) < 0) {
		wg_free_device(rd->dev);
		rd->dev = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* One complete line (no newline, NUL-terminated in line, which the call may change). */
static int
take_line(struct wg_uapi_reader *rd, struct reply *r, char *line, size_t linelen)
{
	const char *eq, *digits;
	uint64_t n;

	if (linelen == 0) {
		rd->ended = true;
		return rd->err < 0 ? bad(r, -EPROTO, "reply has no errno line") : 0;
	}
	if (rd->err >= 0)
		return bad(r, -EPROTO, "data after the errno line");
	if (memchr(line, '\0', linelen))
		return bad(r, -EBADMSG, "NUL byte in a line");
	eq = memchr(line, '=', linelen);
	if (!eq)
		return bad(r, -EBADMSG, "line without '='");
	r->keylen = (size_t)(eq - line);
	if (!key_ok(line, r->keylen))
		return bad(r, -EBADMSG, "malformed key");
	line[r->keylen] = '\0';
	r->key = line;
	r->value = line + r->keylen + 1;
	if (key_is(r, "errno")) {
		/* wireguard-go writes the negated errno ("errno=-22"), the protocol's description
		 * a plain one: either means the same error. */
		digits = r->value[0] == '-' ? r->value + 1 : r->value;
		if (parse_num(digits, MAX_ERRNO, &n) < 0)
			return bad(r, -EBADMSG, "errno is not a number within +-4095");
		rd->err = (long)n;
		return 0;
	}
	if (!rd->dev)
		return bad(r, -EPROTO, "unexpected key");
	return get_line(rd, r);
}

int
wg_uapi_reader_feed(struct wg_uapi_reader *rd, const char *buf, size_t len, bool last, size_t *used)
{
	struct reply r = {.name = rd->name, .lineno = rd->lineno};
	char line[WG_UAPI_MAX_LINE + 1];
	size_t pos = 0;
	int ret = 0;

	*used = 0;
	if (len > WG_UAPI_MAX_REPLY - rd->total)
		return kh_fail(-EPROTO, "%s: userspace reply larger than %u bytes", rd->name,
		               WG_UAPI_MAX_REPLY);
	while (ret == 0) {
		size_t avail = len - pos, linelen;
		/* What is wrong with the line to come is told under its number. */
		const struct reply next = {.name = rd->name, .lineno = r.lineno + 1};
		const char *nl;

		if (rd->ended) {
			if (avail)
				ret = bad(&next, -EPROTO, "data after the end of the reply");
			break;
		}
		nl = avail ? memchr(buf + pos, '\n',
		                    avail < WG_UAPI_MAX_LINE ? avail : WG_UAPI_MAX_LINE)
		           : NULL;
		if (!nl) {
			if (avail >= WG_UAPI_MAX_LINE)
				ret = bad(&next, -EBADMSG, "line too long");
			else if (last)
				ret = bad(&next, -EPROTO,
				          avail ? "reply truncated in a line"
				                : "reply ends without an empty line");
			break;
		}
		r.lineno++;
		linelen = (size_t)(nl - (buf + pos));
		memcpy(line, buf + pos, linelen);
		line[linelen] = '\0';
		pos += linelen + 1;
		ret = take_line(rd, &r, line, linelen);
	}
	/* The device's private key passes through here. */
	sodium_memzero(line, sizeof(line));
	rd->lineno = r.lineno;
	rd->total += pos;
	*used = pos;
	return ret;
}

void
wg_uapi_reader_drop(struct wg_uapi_reader *rd)
{
	wg_free_device(rd->dev);
	rd->dev = NULL;
}

int
wg_uapi_reader_finish(struct wg_uapi_reader *rd, struct wg_device **dev)
{
	struct wg_device *d = rd->dev;
	int ret = 0;

	rd->dev = NULL;
	if (!rd->ended)
		ret = kh_fail(-EPROTO, "%s: userspace reply ends without an empty line", rd->name);
	else if (rd->err > 0)
		ret = kh_fail(-(int)rd->err, "%s: userspace implementation answered errno=%ld (%s)",
		              rd->name, rd->err, strerror((int)rd->err));
	else if (d)
		ret = check_unique_peers(d);
	if (ret < 0 || !d) {
		wg_free_device(d);
		return ret;
	}
	/* A get leaves out settings at their default (wireguard-go omits a zero fwmark); the
	 * kernel reports them all. Either way the device says what it has. */
	d->flags |= WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK;
	for (size_t i = 0; i < d->npeers; i++)
		d->peers[i].flags |= WG_PEER_HAS_KEEPALIVE;
	*dev = d;
	return 0;
}

/* A reply whole, through a reader. */
static int
parse_whole(const char *buf, size_t len, const char *name, bool get, struct wg_device **dev)
{
	struct wg_uapi_reader rd;
	size_t used;
	int ret;

	ret = wg_uapi_reader_start(&rd, name, get, 0);
	if (ret < 0)
		return ret;
	ret = wg_uapi_reader_feed(&rd, buf, len, true, &used);
	if (ret < 0) {
		wg_uapi_reader_drop(&rd);
		return ret;
	}
	return wg_uapi_reader_finish(&rd, dev);
}

int
wg_uapi_parse_get(const char *buf, size_t len, const char *name, struct wg_device **out)
{
	return parse_whole(buf, len, name, true, out);
}

int
wg_uapi_parse_set(const char *buf, size_t len, const char *name)
{
	return parse_whole(buf, len, name, false, NULL);
}

static void
put_hex(FILE *f, const char *key, const uint8_t bytes[WG_KEY_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * WG_KEY_SIZE + 1];

	for (size_t i = 0; i < WG_KEY_SIZE; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 15];
	}
	hex[2 * WG_KEY_SIZE] = '\0';
	fprintf(f, "%s=%s\n", key, hex);
	explicit_bzero(hex, sizeof(hex));
}

static int
put_endpoint(FILE *f, const union wg_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN];

	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->sin.sin_addr, addr, sizeof(addr));
		fprintf(f, "endpoint=%s:%u\n", addr, ntohs(ep->sin.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->sin6.sin6_addr, addr, sizeof(addr));
		if (ep->sin6.sin6_scope_id)
			fprintf(f, "endpoint=[%s%%%" PRIu32 "]:%u\n", addr, ep->sin6.sin6_scope_id,
			        ntohs(ep->sin6.sin6_port));
		else
			fprintf(f, "endpoint=[%s]:%u\n", addr, ntohs(ep->sin6.sin6_port));
	} else {
		return -EINVAL;
	}
	return 0;
}

static int
put_peer(FILE *f, const struct wg_peer *peer)
{
	char prefix[ADDR_PREFIX_STRLEN];

	put_hex(f, "public_key", peer->public_key);
	if (peer->flags & WG_PEER_REMOVE_ME) {
		fprintf(f, "remove=true\n");
		return 0;
	}
	/* Must come first: it decides whether the lines below may create the peer. */
	if (peer->flags & WG_PEER_UPDATE_ONLY)
		fprintf(f, "update_only=true\n");
	if (peer->flags & WG_PEER_HAS_PRESHARED_KEY)
		put_hex(f, "preshared_key", peer->preshared_key);
	if ((peer->flags & WG_PEER_HAS_ENDPOINT) && put_endpoint(f, &peer->endpoint) < 0)
		return -EINVAL;
	if (peer->flags & WG_PEER_HAS_KEEPALIVE)
		fprintf(f, "persistent_keepalive_interval=%u\n", peer->persistent_keepalive);
	if (peer->flags & WG_PEER_REPLACE_ALLOWEDIPS)
		fprintf(f, "replace_allowed_ips=true\n");
	for (size_t i = 0; i < peer->nallowedips; i++) {
		if (!wg_allowedip_ok(&peer->allowedips[i]))
			return -EINVAL;
		fprintf(f, "allowed_ip=%s\n", addr_prefix_format(&peer->allowedips[i], prefix));
	}
	return 0;
}

/* "private_key=HEX\n" into out (KEY_LINE_LEN bytes). */
#define KEY_LINE_LEN (sizeof("private_key=\n") - 1 + 2 * WG_KEY_SIZE)

static void
key_line(char out[KEY_LINE_LEN], const uint8_t key[WG_KEY_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	static const char prefix[] = "private_key=";

	memcpy(out, prefix, sizeof(prefix) - 1);
	for (size_t i = 0; i < WG_KEY_SIZE; i++) {
		out[sizeof(prefix) - 1 + 2 * i] = digits[key[i] >> 4];
		out[sizeof(prefix) - 1 + 2 * i + 1] = digits[key[i] & 15];
	}
	out[KEY_LINE_LEN - 1] = '\n';
}

int
wg_uapi_build_set(const struct wg_device *dev, char **text, size_t *len)
{
	static const char head[] = "set=1\n";
	bool with_key = dev->flags & WG_DEVICE_HAS_PRIVATE_KEY;
	char *buf = NULL, *out;
	size_t size = 0, total;
	FILE *f;
	int ret = 0;

	/* Everything but the private key goes through a growing stream, whose reallocations
	 * would leave copies behind; the key is written once, straight into the locked
	 * buffer that is sent. */
	f = open_memstream(&buf, &size);
	if (!f)
		return -errno;
	if (dev->flags & WG_DEVICE_HAS_LISTEN_PORT)
		fprintf(f, "listen_port=%u\n", dev->listen_port);
	if (dev->flags & WG_DEVICE_HAS_FWMARK)
		fprintf(f, "fwmark=%" PRIu32 "\n", dev->fwmark);
	if (dev->flags & WG_DEVICE_REPLACE_PEERS)
		fprintf(f, "replace_peers=true\n");
	for (size_t i = 0; i < dev->npeers && ret == 0; i++) {
		ret = put_peer(f, &dev->peers[i]);
		if (ret < 0)
			kh_fail(ret, "%s: peer %zu: endpoint or allowed-ip of unknown family",
			        dev->name, i);
	}
	fprintf(f, "\n");
	if (ferror(f) && ret == 0) {
		ret = kh_fail(-ENOMEM, "%s: out of memory", dev->name);
	}
	if (fclose(f) != 0 && ret == 0)
		ret = -ENOMEM;
	if (ret < 0)
		goto out;
	total = sizeof(head) - 1 + (with_key ? KEY_LINE_LEN : 0) + size;
	out = sodium_init() < 0 ? NULL : sodium_malloc(total + 1);
	if (!out) {
		ret = kh_fail(-ENOMEM, "%s: out of memory", dev->name);
		goto out;
	}
	memcpy(out, head, sizeof(head) - 1);
	if (with_key)
		key_line(out + sizeof(head) - 1, dev->private_key);
	memcpy(out + total - size, buf, size);
	out[total] = '\0';
	*text = out;
	*len = total;
out:
	if (buf)
		explicit_bzero(buf, size); /* preshared keys */
	free(buf);
	return ret;
}
