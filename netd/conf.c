/* The configuration file: libconfig text parsed into a typed struct conf, then checked as a
 * whole; every problem is reported as FILE:LINE: message. Also prints it back normalised. */
#include "netd/conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libconfig.h>
#include <sodium.h>

#include "netd/log.h"

#define CONF_MAX_SIZE    (16 * 1024 * 1024) /* bytes of config text */
#define NAME_MAX_LEN     32
#define IFNAME_MAX_LEN   15 /* IFNAMSIZ less the NUL */
#define KEY_FILE_MAX     256
#define DEFAULT_BIND     "0.0.0.0"
#define DEFAULT_LOGLEVEL LOG_LEVEL_INFO
#define BRIDGE_PREFIX    "br-"
#define PATH_LEN         160
#define CRED_FILE_MAX    (64 * 1024) /* an armoured credential and any text around it */

/* libconfig 1.5 keeps integers in an int (silently wrapping larger ones) and gives array
 * elements the line of the token after them. A small lexer of our own recovers the exact
 * value and line of every integer and string literal; the n-th literal in the text is the
 * n-th such setting in document order, and is attached to it as its hook. */
struct lit {
	int line;
	bool overflow;    /* does not fit in a long long */
	long long value;  /* integers only */
	const char *text; /* the literal as written, for messages */
	int len;
};

struct lexed {
	struct lit *ints, *strs;
	size_t nints, nstrs, intcap, strcap;
	int include_line;      /* > 0 when the text uses @include */
	int unterminated_line; /* > 0 when a string has no closing quote */
};

struct lerr {
	int line;
	size_t seq;
	char *msg;
};

/* Where a field of the struct conf being built came from: its line, and for an element of
 * a list its position there (invalid elements are left out of the struct's arrays). */
struct loc {
	const void *field;
	int line;
	int idx;
};

struct loader {
	const char *name;
	struct lerr *errs;
	size_t nerrs, errcap;
	struct loc *locs;
	size_t nlocs, loccap;
	struct lexed lex;
	bool oom;
};

static const char *const root_known[] = {
        "site",  "wireguard",  "overlay", "gossip",  "prefixes", "routing", "segments",
        "trust", "federation", "policy",  "control", "metrics",  NULL};
static const char *const site_known[] = {"name", "log_level", NULL};
static const char *const wg_known[] = {
        "interface", "listen_port", "private_key_file", "backend", "userspace_command",
        "fwmark",    "mtu",         "behind_nat",       "relay",   "relays",
        NULL};
static const char *const gossip_known[] = {"bind",
                                           "advertise",
                                           "seeds",
                                           "profile",
                                           "probe_interval",
                                           "probe_timeout",
                                           "indirect_checks",
                                           "suspicion_mult",
                                           "suspicion_max_mult",
                                           "retransmit_mult",
                                           "gossip_interval",
                                           "gossip_fanout",
                                           "sync_interval",
                                           "reconnect_interval",
                                           "join_backoff_min",
                                           "join_backoff_max",
                                           "awareness_max",
                                           "lifeguard",
                                           "dead_hold",
                                           "state_file",
                                           NULL};
static const char *const routing_known[] = {"table", "protocol", NULL};
static const char *const segment_known[] = {"name", "vni", "bridge", "ports", "vxlan_port", NULL};
static const char *const trust_known[] = {"name",    "public_key", "prefixes",
                                          "overlay", "vnis",       NULL};
static const char *const control_known[] = {"socket", "mode", "group", NULL};
static const char *const metrics_known[] = {"listen", NULL};
static const char *const federation_known[] = {"name",
                                               "authorities",
                                               "threshold",
                                               "credential",
                                               "next_credential",
                                               "pin_authorities",
                                               "provider",
                                               "jurisdiction",
                                               "labels",
                                               "fence",
                                               NULL};
static const char *const policy_known[] = {"deny", "require", "segments", "narrow", NULL};
static const char *const policy_segment_known[] = {"vni", "require", NULL};
static const char *const narrow_known[] = {"site", "prefixes", NULL};

/* ---- memory and error collection ---- */

static void *
grow(struct loader *ld, void *arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	p = reallocarray(arr, ncap, size);
	if (p == NULL) {
		ld->oom = true;
		return NULL;
	}
	*cap = ncap;
	return p;
}

static char *
ld_strdup(struct loader *ld, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		ld->oom = true;
	return d;
}

static void *
ld_calloc(struct loader *ld, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		ld->oom = true;
	return p;
}

__attribute__((format(printf, 3, 4))) static void
lerr(struct loader *ld, int line, const char *fmt, ...)
{
	struct lerr *errs;
	va_list ap;
	char *msg;
	int r;

	errs = grow(ld, ld->errs, &ld->errcap, ld->nerrs + 1, sizeof(*errs));
	if (errs == NULL)
		return;
	ld->errs = errs;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		ld->oom = true;
		return;
	}
	errs[ld->nerrs].line = line;
	errs[ld->nerrs].seq = ld->nerrs;
	errs[ld->nerrs].msg = msg;
	ld->nerrs++;
}

static void
loc_add(struct loader *ld, const void *field, int line, int idx)
{
	struct loc *locs = grow(ld, ld->locs, &ld->loccap, ld->nlocs + 1, sizeof(*locs));

	if (locs == NULL)
		return;
	ld->locs = locs;
	locs[ld->nlocs].field = field;
	locs[ld->nlocs].line = line;
	locs[ld->nlocs].idx = idx;
	ld->nlocs++;
}

static const struct loc *
loc_find(const struct loader *ld, const void *field)
{
	for (size_t i = ld->nlocs; i > 0; i--)
		if (ld->locs[i - 1].field == field)
			return &ld->locs[i - 1];
	return NULL;
}

static int
loc_line(const struct loader *ld, const void *field, int fallback)
{
	const struct loc *l = loc_find(ld, field);

	return l != NULL ? l->line : fallback;
}

/* The position of a list element in the file's list, for messages. */
static int
loc_idx(const struct loader *ld, const void *field)
{
	const struct loc *l = loc_find(ld, field);

	return l != NULL ? l->idx : -1;
}

static int
lerr_cmp(const void *a, const void *b)
{
	const struct lerr *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands the collected messages over to errs, in line order. */
static void
flush_errors(struct loader *ld, struct conf_errors *errs)
{
	char **msgs = NULL;

	if (ld->oom)
		lerr(ld, 0, "out of memory");
	if (ld->nerrs == 0)
		return;
	qsort(ld->errs, ld->nerrs, sizeof(*ld->errs), lerr_cmp);
	if (errs != NULL) {
		msgs = reallocarray(errs->msgs, errs->n + ld->nerrs, sizeof(*msgs));
		if (msgs != NULL)
			errs->msgs = msgs;
	}
	for (size_t i = 0; i < ld->nerrs; i++) {
		const struct lerr *e = &ld->errs[i];
		char *msg;
		int r = -1;

		if (msgs != NULL && e->line > 0)
			r = asprintf(&msg, "%s:%d: %s", ld->name, e->line, e->msg);
		else if (msgs != NULL)
			r = asprintf(&msg, "%s: %s", ld->name, e->msg);
		if (r >= 0)
			msgs[errs->n++] = msg;
		free(e->msg);
	}
	ld->nerrs = 0;
}

void
conf_errors_free(struct conf_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

/* ---- the literal lexer ---- */

static size_t
span_digits(const char *p, int (*is)(int))
{
	size_t n = 0;

	while (p[n] != '\0' && is((unsigned char)p[n]))
		n++;
	return n;
}

static size_t
span_exponent(const char *p)
{
	size_t n = 1, d;

	if (*p != 'e' && *p != 'E')
		return 0;
	if (p[n] == '+' || p[n] == '-')
		n++;
	d = span_digits(p + n, isdigit);
	return d ? n + d : 0;
}

/* Length of the longest number token at p as libconfig's scanner sees it, and whether it is
 * an integer (decimal or hex, with or without the L suffix) rather than a float. */
static size_t
lex_number(const char *p, bool *is_int)
{
	size_t sign = (*p == '+' || *p == '-') ? 1 : 0;
	size_t digits = span_digits(p + sign, isdigit);
	size_t best = 0, n;

	*is_int = false;
	if (digits > 0) {
		n = sign + digits;
		if (p[n] == 'L')
			n += p[n + 1] == 'L' ? 2 : 1;
		best = n;
		*is_int = true;
	}
	if (!sign && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		size_t h = span_digits(p + 2, isxdigit);

		if (h > 0) {
			n = 2 + h;
			if (p[n] == 'L')
				n += p[n + 1] == 'L' ? 2 : 1;
			if (n > best) {
				best = n;
				*is_int = true;
			}
		}
	}
	n = sign + digits;
	if (p[n] == '.') {
		n++;
		n += span_digits(p + n, isdigit);
		n += span_exponent(p + n);
	} else if (digits > 0 && span_exponent(p + n) > 0) {
		n += span_exponent(p + n);
	} else {
		n = 0;
	}
	if (n > best) {
		best = n;
		*is_int = false;
	}
	return best;
}

static struct lit *
lex_push(struct loader *ld, struct lit **arr, size_t *n, size_t *cap)
{
	struct lit *a = grow(ld, *arr, cap, *n + 1, sizeof(**arr));

	if (a == NULL)
		return NULL;
	*arr = a;
	memset(&a[*n], 0, sizeof(a[*n]));
	return &a[(*n)++];
}

static void
lex_integer(struct lit *l, const char *p, size_t len)
{
	char buf[64];
	char *end;

	l->text = p;
	l->len = (int)len;
	if (len >= sizeof(buf)) {
		l->overflow = true;
		return;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
	errno = 0;
	if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
		unsigned long long u = strtoull(buf, &end, 16);

		l->overflow = errno == ERANGE || u > LLONG_MAX;
		l->value = (long long)u;
	} else {
		l->value = strtoll(buf, &end, 10);
		l->overflow = errno == ERANGE;
	}
}

/* Records the line of every string and integer literal, in order. Adjacent strings are one
 * value, as in libconfig. */
static void
lex(struct loader *ld, const char *p)
{
	struct lexed *lx = &ld->lex;
	bool after_string = false;
	int line = 1;

	while (*p != '\0' && !ld->oom) {
		unsigned char c = (unsigned char)*p;
		bool is_int;
		size_t n;

		if (c == '\n') {
			line++;
			p++;
			continue;
		}
		if (isspace(c)) {
			p++;
			continue;
		}
		if (c == '#' || (c == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		if (c == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			if (*p != '\0')
				p += 2;
			continue;
		}
		if (c == '"') {
			int start = line;

			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p != '\0')
				p++;
			else if (lx->unterminated_line == 0)
				lx->unterminated_line = start;
			if (!after_string) {
				struct lit *l = lex_push(ld, &lx->strs, &lx->nstrs, &lx->strcap);

				if (l != NULL)
					l->line = start;
			}
			after_string = true;
			continue;
		}
		if (c == '@') {
			if (strncmp(p, "@include", 8) == 0 && lx->include_line == 0)
				lx->include_line = line;
			p++;
		} else if (isalpha(c) || c == '*') {
			while (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '*')
				p++;
		} else if ((n = lex_number(p, &is_int)) > 0) {
			if (is_int) {
				struct lit *l = lex_push(ld, &lx->ints, &lx->nints, &lx->intcap);

				if (l != NULL) {
					l->line = line;
					lex_integer(l, p, n);
				}
			}
			p += n;
		} else {
			p++;
		}
		after_string = false;
	}
}

/* Attaches the literals to the settings; false when the two do not line up. */
static bool
attach_literals(struct loader *ld, config_setting_t *s, size_t *ni, size_t *ns)
{
	int type = config_setting_type(s);

	if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
		if (*ni >= ld->lex.nints)
			return false;
		config_setting_set_hook(s, &ld->lex.ints[(*ni)++]);
	} else if (type == CONFIG_TYPE_STRING) {
		if (*ns >= ld->lex.nstrs)
			return false;
		config_setting_set_hook(s, &ld->lex.strs[(*ns)++]);
	} else if (config_setting_is_aggregate(s)) {
		for (int i = 0; i < config_setting_length(s); i++)
			if (!attach_literals(ld, config_setting_get_elem(s, i), ni, ns))
				return false;
	}
	return true;
}

static int
sline(const config_setting_t *s)
{
	const struct lit *l = config_setting_get_hook(s);

	return l != NULL ? l->line : (int)config_setting_source_line(s);
}

/* ---- typed access to settings ---- */

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

static void
wrong_type(struct loader *ld, const config_setting_t *s, const char *path, const char *want)
{
	lerr(ld, sline(s), "%s: expected %s, got %s", path, want, type_name(s));
}

static bool
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned int c = *p, n, cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false; /* control characters have no business here */
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

static int
want_string(struct loader *ld, const config_setting_t *s, const char *path, const char **out)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		wrong_type(ld, s, path, "a string");
		return -1;
	}
	v = config_setting_get_string(s);
	if (!utf8_valid(v)) {
		lerr(ld, sline(s), "%s: contains control characters or is not UTF-8", path);
		return -1;
	}
	*out = v;
	return 0;
}

static int
want_bool(struct loader *ld, const config_setting_t *s, const char *path, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		wrong_type(ld, s, path, "a boolean (true or false)");
		return -1;
	}
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* Reads an integer in min..max; otherwise reports "PATH: VALUE is not WHAT (min..max)". */
static int
want_range(struct loader *ld, const config_setting_t *s, const char *path, long long min,
           long long max, const char *what, long long *out)
{
	const struct lit *l = config_setting_get_hook(s);
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		wrong_type(ld, s, path, "an integer");
		return -1;
	}
	v = l != NULL ? l->value : config_setting_get_int64(s);
	if (l != NULL && l->overflow) {
		lerr(ld, sline(s), "%s: %.*s is not %s (%lld..%lld)", path, l->len, l->text, what,
		     min, max);
		return -1;
	}
	if (v < min || v > max) {
		lerr(ld, sline(s), "%s: %lld is not %s (%lld..%lld)", path, v, what, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Every member of a group must be one netd knows: a typo must not silently become a default. */
static void
check_known(struct loader *ld, const config_setting_t *group, const char *path,
            const char *const *known)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *m = config_setting_get_elem(group, i);
		const char *name = config_setting_name(m), *hint = NULL;
		size_t k, best = 3;

		for (k = 0; known[k] != NULL; k++) {
			size_t d;

			if (strcmp(name, known[k]) == 0)
				break;
			d = edit_distance(name, known[k]);
			if (d < best) {
				best = d;
				hint = known[k];
			}
		}
		if (known[k] != NULL)
			continue;
		lerr(ld, sline(m), "%s%s%s: unknown setting%s%s%s", path, *path ? "." : "", name,
		     hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "");
	}
}

/* The group called name in parent, or NULL when absent or not a group. */
static const config_setting_t *
want_group(struct loader *ld, const config_setting_t *parent, const char *name, bool required)
{
	const config_setting_t *s = config_setting_get_member(parent, name);

	if (s == NULL) {
		if (required)
			lerr(ld, sline(parent), "%s: missing (required)", name);
		return NULL;
	}
	if (!config_setting_is_group(s)) {
		wrong_type(ld, s, name, "a group");
		return NULL;
	}
	return s;
}

/* An array or list of scalars; returns its length, or -1 after reporting a wrong type. */
static int
want_list(struct loader *ld, const config_setting_t *s, const char *path)
{
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		wrong_type(ld, s, path, "an array");
		return -1;
	}
	return config_setting_length(s);
}

/* ---- names, addresses, endpoints ---- */

static bool
name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

#define NAME_RULE "1..32 characters of a-z, 0-9 and '-', not starting with '-'"

static bool
ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > IFNAME_MAX_LEN || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]) || s[i] == '/' || s[i] == ':')
			return false;
	return true;
}

#define IFNAME_RULE "1..15 printable characters other than space, '/' and ':', not \".\" or \"..\""

static int
want_name(struct loader *ld, const config_setting_t *s, const char *path, char **out)
{
	const char *v;

	if (want_string(ld, s, path, &v) < 0)
		return -1;
	if (!name_valid(v)) {
		lerr(ld, sline(s), "%s: \"%s\" is not a valid name (" NAME_RULE ")", path, v);
		return -1;
	}
	*out = ld_strdup(ld, v);
	return *out ? 0 : -1;
}

static int
want_ifname(struct loader *ld, const config_setting_t *s, const char *path, char **out)
{
	const char *v;

	if (want_string(ld, s, path, &v) < 0)
		return -1;
	if (!ifname_valid(v)) {
		lerr(ld, sline(s), "%s: \"%s\" is not an interface name (" IFNAME_RULE ")", path,
		     v);
		return -1;
	}
	*out = ld_strdup(ld, v);
	return *out ? 0 : -1;
}

/* A prefix as the file writes it: an address alone where the length is implied (overlay
 * addresses, the advertised underlay address). */
static const char *
prefix_text(const struct addr_prefix *p, bool with_len, char buf[ADDR_PREFIX_STRLEN])
{
	return with_len ? addr_prefix_format(p, buf) : addr_format(&p->addr, buf);
}

/* The address in the first n bytes of s, as a host prefix. */
static int
host_parse(const char *s, size_t n, struct addr_prefix *p)
{
	char buf[ADDR_STRLEN];
	struct addr a;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (addr_parse(buf, &a) < 0)
		return -1;
	*p = addr_host(&a);
	return 0;
}

static bool
addr_unusable(const struct addr *a)
{
	static const uint8_t zero[16];
	const uint8_t *b = a->u.bytes;

	if (a->family == AF_INET)
		return memcmp(b, zero, 4) == 0 || b[0] >= 224 || b[0] == 127;
	return memcmp(b, zero, 16) == 0 || b[0] == 0xff || (memcmp(b, zero, 15) == 0 && b[15] == 1);
}

/* A host address with no /len, usable as a unicast source. */
static int
want_host(struct loader *ld, const config_setting_t *s, const char *path, struct addr_prefix *out)
{
	struct addr_prefix p;
	const char *v;

	if (want_string(ld, s, path, &v) < 0)
		return -1;
	if (strchr(v, '/') != NULL) {
		lerr(ld, sline(s), "%s: %s: write a host address, without /len", path, v);
		return -1;
	}
	if (host_parse(v, strlen(v), &p) < 0) {
		lerr(ld, sline(s), "%s: \"%s\" is not an IPv4 or IPv6 address", path, v);
		return -1;
	}
	if (addr_unusable(&p.addr)) {
		lerr(ld, sline(s), "%s: %s is not a unicast address", path, v);
		return -1;
	}
	*out = p;
	return 0;
}

static int
want_prefix(struct loader *ld, const config_setting_t *s, const char *path, struct addr_prefix *out)
{
	struct addr_prefix p, masked;
	const char *v, *slash;
	char canon[ADDR_PREFIX_STRLEN];
	unsigned long len = 0;
	size_t i;

	if (want_string(ld, s, path, &v) < 0)
		return -1;
	slash = strchr(v, '/');
	if (slash == NULL) {
		lerr(ld, sline(s), "%s: %s: missing /len (a prefix is ADDRESS/LENGTH)", path, v);
		return -1;
	}
	if (host_parse(v, (size_t)(slash - v), &p) < 0) {
		lerr(ld, sline(s), "%s: \"%s\" is not an IPv4 or IPv6 prefix", path, v);
		return -1;
	}
	for (i = 1; isdigit((unsigned char)slash[i]) && i <= 3; i++)
		len = len * 10 + (unsigned long)(slash[i] - '0');
	if (i == 1 || slash[i] != '\0' || len > p.len) {
		lerr(ld, sline(s), "%s: %s: prefix length is not 0..%u", path, v, p.len);
		return -1;
	}
	p.len = (uint8_t)len;
	if (!addr_prefix_is_canonical(&p)) {
		masked = addr_prefix_masked(&p);
		lerr(ld, sline(s), "%s: %s has host bits set (the prefix is %s)", path, v,
		     addr_prefix_format(&masked, canon));
		return -1;
	}
	*out = p;
	return 0;
}

/* "ADDR", "ADDR:PORT", "[ADDR6]" or "[ADDR6]:PORT"; a bare IPv6 address is refused because
 * "fd00::1:7946" would be read as an address where a port was meant. */
/* An overlay grant: a host address (the whole grant) or a prefix (a range of them). */
static int
want_overlay_grant(struct loader *ld, const config_setting_t *s, const char *path,
                   struct addr_prefix *out)
{
	const char *v;

	if (want_string(ld, s, path, &v) < 0)
		return -1;
	return strchr(v, '/') != NULL ? want_prefix(ld, s, path, out) : want_host(ld, s, path, out);
}

static int
want_endpoint(struct loader *ld, const config_setting_t *s, const char *path,
              struct addr_endpoint *out)
{
	const char *v, *host, *port = NULL;
	struct addr_prefix a;
	size_t hostlen;
	unsigned long pn = CONF_DEFAULT_GOSSIP_PORT;

	if (want_string(ld, s, path, &v) < 0)
		return -1;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		host = v + 1;
		hostlen = close ? (size_t)(close - host) : 0;
		if (close == NULL || (close[1] != '\0' && close[1] != ':') ||
		    host_parse(host, hostlen, &a) < 0 || a.addr.family != AF_INET6)
			goto bad;
		if (close[1] == ':')
			port = close + 2;
	} else {
		const char *colon = strchr(v, ':');

		host = v;
		hostlen = colon ? (size_t)(colon - v) : strlen(v);
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			lerr(ld, sline(s), "%s: \"%s\": write an IPv6 endpoint as [ADDRESS]:PORT",
			     path, v);
			return -1;
		}
		if (host_parse(host, hostlen, &a) < 0 || a.addr.family != AF_INET)
			goto bad;
		if (colon != NULL)
			port = colon + 1;
	}
	if (port != NULL) {
		char *end;

		errno = 0;
		pn = isdigit((unsigned char)*port) ? strtoul(port, &end, 10) : 0;
		if (!isdigit((unsigned char)*port) || *end != '\0' || errno != 0 || pn < 1 ||
		    pn > 65535) {
			lerr(ld, sline(s), "%s: \"%s\": %s is not a port (1..65535)", path, v,
			     port);
			return -1;
		}
	}
	memset(out, 0, sizeof(*out));
	out->addr = a.addr;
	out->port = (uint16_t)pn;
	return 0;
bad:
	lerr(ld, sline(s), "%s: \"%s\" is not ADDRESS[:PORT] (IPv6 as [ADDRESS]:PORT)", path, v);
	return -1;
}

/* ---- the sections ---- */

static void
parse_site(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *site = want_group(ld, root, "site", true), *s;
	const char *v;

	if (site == NULL)
		return;
	check_known(ld, site, "site", site_known);
	s = config_setting_get_member(site, "name");
	if (s == NULL)
		lerr(ld, sline(site), "site.name: missing (required)");
	else if (want_name(ld, s, "site.name", &conf->site_name) == 0)
		loc_add(ld, &conf->site_name, sline(s), -1);
	s = config_setting_get_member(site, "log_level");
	if (s != NULL && want_string(ld, s, "site.log_level", &v) == 0) {
		int level = log_level_from_name(v);

		if (level < 0)
			lerr(ld, sline(s),
			     "site.log_level: \"%s\" is not a log level (error, warning, info, "
			     "debug)",
			     v);
		else
			conf->log_level = level;
	}
}

static void
replace_string(struct loader *ld, char **field, const char *v)
{
	char *d = ld_strdup(ld, v);

	if (d == NULL)
		return;
	free(*field);
	*field = d;
}

/* The sites this one lets carry its traffic: names, not itself, each once, at most
 * CONF_MAX_RELAYS (what a descriptor carries). */
static void
parse_relays(struct loader *ld, const config_setting_t *s, struct conf *conf)
{
	int n = want_list(ld, s, "wireguard.relays");
	char path[PATH_LEN];

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		char *name = NULL;
		bool dup = false;

		snprintf(path, sizeof(path), "wireguard.relays[%d]", i);
		if (want_name(ld, e, path, &name) < 0)
			continue;
		for (size_t j = 0; j < conf->wg.nrelays; j++)
			dup = dup || strcmp(conf->wg.relays[j], name) == 0;
		if (dup)
			lerr(ld, sline(e), "%s: \"%s\" is listed twice", path, name);
		else if (conf->wg.nrelays == CONF_MAX_RELAYS)
			lerr(ld, sline(e), "%s: at most %d relays", path, CONF_MAX_RELAYS);
		else if (conf->site_name != NULL && strcmp(name, conf->site_name) == 0)
			lerr(ld, sline(e), "%s: \"%s\" is this site", path, name);
		else
			snprintf(conf->wg.relays[conf->wg.nrelays++], CONF_NAME_SIZE, "%s", name);
		free(name);
	}
}

static void
parse_wireguard(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *wg = want_group(ld, root, "wireguard", true), *s;
	const char *v;
	long long n;

	if (wg == NULL)
		return;
	check_known(ld, wg, "wireguard", wg_known);
	if ((s = config_setting_get_member(wg, "interface")) != NULL) {
		char *name;

		if (want_ifname(ld, s, "wireguard.interface", &name) == 0) {
			free(conf->wg.interface);
			conf->wg.interface = name;
			loc_add(ld, &conf->wg.interface, sline(s), -1);
		}
	} else {
		loc_add(ld, &conf->wg.interface, sline(wg), -1);
	}
	if ((s = config_setting_get_member(wg, "listen_port")) != NULL &&
	    want_range(ld, s, "wireguard.listen_port", 1, 65535, "a port", &n) == 0)
		conf->wg.listen_port = (uint16_t)n;
	if ((s = config_setting_get_member(wg, "private_key_file")) == NULL) {
		lerr(ld, sline(wg), "wireguard.private_key_file: missing (required)");
	} else if (want_string(ld, s, "wireguard.private_key_file", &v) == 0) {
		if (v[0] != '/') {
			lerr(ld, sline(s),
			     "wireguard.private_key_file: \"%s\" is not an absolute path", v);
		} else {
			conf->wg.private_key_file = ld_strdup(ld, v);
			loc_add(ld, &conf->wg.private_key_file, sline(s), -1);
		}
	}
	if ((s = config_setting_get_member(wg, "backend")) != NULL &&
	    want_string(ld, s, "wireguard.backend", &v) == 0) {
		if (strcmp(v, "auto") == 0)
			conf->wg.backend = CONF_BACKEND_AUTO;
		else if (strcmp(v, "kernel") == 0)
			conf->wg.backend = CONF_BACKEND_KERNEL;
		else if (strcmp(v, "userspace") == 0)
			conf->wg.backend = CONF_BACKEND_USERSPACE;
		else
			lerr(ld, sline(s),
			     "wireguard.backend: \"%s\" is not a backend (auto, kernel, userspace)",
			     v);
	}
	if ((s = config_setting_get_member(wg, "userspace_command")) != NULL &&
	    want_string(ld, s, "wireguard.userspace_command", &v) == 0) {
		if (v[0] == '\0')
			lerr(ld, sline(s), "wireguard.userspace_command: is empty");
		else
			replace_string(ld, &conf->wg.userspace_command, v);
	}
	if ((s = config_setting_get_member(wg, "fwmark")) != NULL &&
	    want_range(ld, s, "wireguard.fwmark", 0, UINT32_MAX, "a firewall mark", &n) == 0)
		conf->wg.fwmark = (uint32_t)n;
	if ((s = config_setting_get_member(wg, "mtu")) != NULL &&
	    want_range(ld, s, "wireguard.mtu", 0, 65535, "an MTU", &n) == 0) {
		/* IPv6 cannot run over a link smaller than 1280 bytes. */
		if (n != 0 && n < 1280)
			lerr(ld, sline(s),
			     "wireguard.mtu: %lld is not 0 (automatic) or 1280..65535", n);
		else
			conf->wg.mtu = (uint32_t)n;
	}
	if ((s = config_setting_get_member(wg, "behind_nat")) != NULL)
		want_bool(ld, s, "wireguard.behind_nat", &conf->wg.behind_nat);
	if ((s = config_setting_get_member(wg, "relay")) != NULL)
		want_bool(ld, s, "wireguard.relay", &conf->wg.relay);
	if ((s = config_setting_get_member(wg, "relays")) != NULL)
		parse_relays(ld, s, conf);
}

static void
parse_overlay(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *s = config_setting_get_member(root, "overlay");
	char path[PATH_LEN];
	int n;

	if (s == NULL || (n = want_list(ld, s, "overlay")) < 0)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		struct addr_prefix p;
		size_t j;

		snprintf(path, sizeof(path), "overlay[%d]", i);
		if (want_host(ld, e, path, &p) < 0)
			continue;
		for (j = 0; j < conf->noverlay && conf->overlay[j].addr.family != p.addr.family;
		     j++)
			;
		if (j < conf->noverlay) {
			lerr(ld, sline(e),
			     "%s: a second %s address (at most one IPv4 and one IPv6; first on "
			     "line "
			     "%d)",
			     path, p.addr.family == AF_INET ? "IPv4" : "IPv6",
			     loc_line(ld, &conf->overlay[j], 0));
			continue;
		}
		conf->overlay[conf->noverlay] = p;
		loc_add(ld, &conf->overlay[conf->noverlay], sline(e), i);
		conf->noverlay++;
	}
}

typedef int want_prefix_fn(struct loader *ld, const config_setting_t *s, const char *path,
                           struct addr_prefix *out);

/* Fills *arr with the elements of an array setting that want accepts, recording each one's
 * line. */
static void
parse_prefix_list(struct loader *ld, const config_setting_t *s, const char *path,
                  want_prefix_fn *want, struct addr_prefix **arr, size_t *count)
{
	char epath[PATH_LEN];
	int n = want_list(ld, s, path);

	if (n <= 0)
		return;
	*arr = ld_calloc(ld, (size_t)n, sizeof(**arr));
	if (*arr == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);

		snprintf(epath, sizeof(epath), "%s[%d]", path, i);
		if (want(ld, e, epath, &(*arr)[*count]) == 0) {
			loc_add(ld, &(*arr)[*count], sline(e), i);
			(*count)++;
		}
	}
}

static void
parse_seeds(struct loader *ld, const config_setting_t *s, struct conf *conf)
{
	char path[PATH_LEN];
	int n = want_list(ld, s, "gossip.seeds");

	if (n <= 0)
		return;
	conf->gossip.seeds = ld_calloc(ld, (size_t)n, sizeof(*conf->gossip.seeds));
	if (conf->gossip.seeds == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		struct addr_endpoint *ep = &conf->gossip.seeds[conf->gossip.nseeds];

		snprintf(path, sizeof(path), "gossip.seeds[%d]", i);
		if (want_endpoint(ld, e, path, ep) == 0) {
			loc_add(ld, ep, sline(e), i);
			conf->gossip.nseeds++;
		}
	}
}

/* The integer settings of a gossip profile. Each range is the one gossip_profile_check
 * allows the field alone; how fields relate (timeout below interval, backoff min below
 * max) is left to gossip_profile_check itself. */
static const struct timing_field {
	const char *name;
	size_t off; /* of a uint32_t in struct gossip_profile */
	long long min, max;
	const char *what;
} timing_fields[] = {
        {"probe_interval", offsetof(struct gossip_profile, probe_interval_ms), 10, 600000,
         "a time in milliseconds"},
        {"probe_timeout", offsetof(struct gossip_profile, probe_timeout_ms), 1, 599999,
         "a time in milliseconds"},
        {"indirect_checks", offsetof(struct gossip_profile, indirect_checks), 0, 16,
         "a number of members"},
        {"suspicion_mult", offsetof(struct gossip_profile, suspicion_mult), 1, 100, "a multiplier"},
        {"suspicion_max_mult", offsetof(struct gossip_profile, suspicion_max_mult), 1, 100,
         "a multiplier"},
        {"retransmit_mult", offsetof(struct gossip_profile, retransmit_mult), 1, 100,
         "a multiplier"},
        {"gossip_interval", offsetof(struct gossip_profile, gossip_interval_ms), 10, 600000,
         "a time in milliseconds"},
        {"gossip_fanout", offsetof(struct gossip_profile, gossip_fanout), 1, 16,
         "a number of members"},
        {"sync_interval", offsetof(struct gossip_profile, sync_interval_ms), 100, 3600000,
         "a time in milliseconds"},
        {"reconnect_interval", offsetof(struct gossip_profile, reconnect_interval_ms), 100, 3600000,
         "a time in milliseconds"},
        {"join_backoff_min", offsetof(struct gossip_profile, join_backoff_min_ms), 10, 3600000,
         "a time in milliseconds"},
        {"join_backoff_max", offsetof(struct gossip_profile, join_backoff_max_ms), 10, 3600000,
         "a time in milliseconds"},
        {"awareness_max", offsetof(struct gossip_profile, awareness_max), 1, 32, "a multiplier"},
};

#define NTIMING (sizeof(timing_fields) / sizeof(timing_fields[0]))

static uint32_t *
timing_value(struct gossip_profile *p, size_t i)
{
	return (uint32_t *)((char *)p + timing_fields[i].off);
}

static uint32_t
timing_get(const struct gossip_profile *p, size_t i)
{
	uint32_t v;

	memcpy(&v, (const char *)p + timing_fields[i].off, sizeof(v));
	return v;
}

/* gossip_profile_check only says what is wrong, not which setting made it so. The culprit
 * is the override whose return to the profile's value clears the complaint (best: makes
 * the whole profile pass), the last written one among equals; it is reported and put back,
 * and the check runs again so that every independent problem is found. lines[i] is the
 * line of override i, 0 when the profile's value stands. */
static void
check_timing(struct loader *ld, int group_line, struct gossip_profile *p,
             const struct gossip_profile *base, const int lines[NTIMING])
{
	char err[128], again[128];

	for (size_t round = 0; round <= NTIMING && gossip_profile_check(p, err, sizeof(err)) < 0;
	     round++) {
		size_t culprit = NTIMING;
		int best = 0;

		for (size_t i = 0; i < NTIMING; i++) {
			struct gossip_profile q = *p;
			int rank;

			if (lines[i] == 0)
				continue;
			*timing_value(&q, i) = timing_get(base, i);
			if (gossip_profile_check(&q, again, sizeof(again)) == 0)
				rank = 2;
			else if (strcmp(again, err) != 0)
				rank = 1;
			else
				continue;
			if (rank > best || (rank == best && lines[i] >= lines[culprit])) {
				best = rank;
				culprit = i;
			}
		}
		if (culprit == NTIMING) {
			lerr(ld, group_line, "gossip: %s", err);
			return;
		}
		lerr(ld, lines[culprit], "gossip.%s: %s", timing_fields[culprit].name, err);
		*timing_value(p, culprit) = timing_get(base, culprit);
	}
}

/* The profile, then the overrides of its fields; checked only when every one was valid on
 * its own, so that one mistake is not reported twice. */
static void
parse_timing(struct loader *ld, const config_setting_t *g, struct conf *conf)
{
	struct gossip_profile base, p;
	const config_setting_t *s;
	int lines[NTIMING] = {0};
	char path[PATH_LEN];
	bool valid = true;
	const char *v;
	long long n;

	if ((s = config_setting_get_member(g, "profile")) != NULL) {
		if (want_string(ld, s, "gossip.profile", &v) < 0) {
			valid = false;
		} else if (strcmp(v, "lan") == 0) {
			conf->gossip.profile = CONF_GOSSIP_LAN;
		} else if (strcmp(v, "wan") == 0) {
			conf->gossip.profile = CONF_GOSSIP_WAN;
		} else {
			lerr(ld, sline(s), "gossip.profile: \"%s\" is not a profile (lan, wan)", v);
			valid = false;
		}
	}
	if (conf->gossip.profile == CONF_GOSSIP_WAN)
		gossip_profile_wan(&base);
	else
		gossip_profile_lan(&base);
	p = base;
	for (size_t i = 0; i < NTIMING; i++) {
		const struct timing_field *f = &timing_fields[i];

		if ((s = config_setting_get_member(g, f->name)) == NULL)
			continue;
		snprintf(path, sizeof(path), "gossip.%s", f->name);
		if (want_range(ld, s, path, f->min, f->max, f->what, &n) < 0) {
			valid = false;
			continue;
		}
		*timing_value(&p, i) = (uint32_t)n;
		lines[i] = sline(s);
	}
	if ((s = config_setting_get_member(g, "lifeguard")) != NULL &&
	    want_bool(ld, s, "gossip.lifeguard", &p.lifeguard) < 0)
		valid = false;
	if (valid)
		check_timing(ld, sline(g), &p, &base, lines);
	conf->gossip.timing = p;
}

static void
parse_gossip(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *g = want_group(ld, root, "gossip", false), *s;
	const char *v;
	long long n;

	if (g == NULL)
		return;
	check_known(ld, g, "gossip", gossip_known);
	if ((s = config_setting_get_member(g, "bind")) != NULL)
		want_endpoint(ld, s, "gossip.bind", &conf->gossip.bind);
	if ((s = config_setting_get_member(g, "advertise")) != NULL &&
	    want_host(ld, s, "gossip.advertise", &conf->gossip.advertise) == 0)
		conf->gossip.has_advertise = true;
	if ((s = config_setting_get_member(g, "seeds")) != NULL)
		parse_seeds(ld, s, conf);
	parse_timing(ld, g, conf);
	if ((s = config_setting_get_member(g, "dead_hold")) != NULL &&
	    want_range(ld, s, "gossip.dead_hold", 0, 86400, "a time in seconds", &n) == 0)
		conf->gossip.dead_hold = (uint32_t)n;
	if ((s = config_setting_get_member(g, "state_file")) != NULL &&
	    want_string(ld, s, "gossip.state_file", &v) == 0) {
		size_t len = strlen(v);

		if (v[0] != '/')
			lerr(ld, sline(s), "gossip.state_file: \"%s\" is not an absolute path", v);
		else if (v[len - 1] == '/')
			lerr(ld, sline(s),
			     "gossip.state_file: \"%s\" names a directory, not a file", v);
		else if (len >= PATH_MAX)
			lerr(ld, sline(s), "gossip.state_file: path longer than %d bytes",
			     PATH_MAX - 1);
		else
			replace_string(ld, &conf->gossip.state_file, v);
	}
}

/* A table number, or "main"; 253 and 255 are the kernel's default and local tables. */
static void
parse_table(struct loader *ld, const config_setting_t *s, struct conf *conf)
{
	const char *v;
	long long n;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (want_string(ld, s, "routing.table", &v) < 0)
			return;
		if (strcmp(v, "main") == 0)
			conf->routing.table = CONF_TABLE_MAIN;
		else
			lerr(ld, sline(s),
			     "routing.table: \"%s\" is not a table (a number or \"main\")", v);
		return;
	}
	if (want_range(ld, s, "routing.table", 1, UINT32_MAX, "a routing table", &n) < 0)
		return;
	if (n == 253 || n == 255)
		lerr(ld, sline(s), "routing.table: %lld is the kernel's %s table", n,
		     n == 253 ? "default" : "local");
	else
		conf->routing.table = (uint32_t)n;
}

static void
parse_routing(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *r = want_group(ld, root, "routing", false), *s;
	long long n;

	if (r == NULL)
		return;
	check_known(ld, r, "routing", routing_known);
	if ((s = config_setting_get_member(r, "table")) != NULL)
		parse_table(ld, s, conf);
	/* 0..4 are unspec, redirect, kernel, boot and static: routes netd must never own. */
	if ((s = config_setting_get_member(r, "protocol")) != NULL &&
	    want_range(ld, s, "routing.protocol", 5, 255, "a route protocol netd may use", &n) == 0)
		conf->routing.protocol = (uint8_t)n;
}

static void
parse_segment(struct loader *ld, const config_setting_t *g, int idx, struct conf_segment *seg)
{
	const config_setting_t *s;
	char path[PATH_LEN];
	long long n;
	int np;

	seg->line = sline(g);
	seg->vxlan_port = CONF_DEFAULT_VXLAN_PORT;
	snprintf(path, sizeof(path), "segments[%d]", idx);
	check_known(ld, g, path, segment_known);
	snprintf(path, sizeof(path), "segments[%d].name", idx);
	if ((s = config_setting_get_member(g, "name")) == NULL)
		lerr(ld, seg->line, "%s: missing (required)", path);
	else
		want_name(ld, s, path, &seg->name);
	snprintf(path, sizeof(path), "segments[%d].vni", idx);
	if ((s = config_setting_get_member(g, "vni")) == NULL)
		lerr(ld, seg->line, "%s: missing (required)", path);
	else if (want_range(ld, s, path, 1, CONF_VNI_MAX, "a VNI", &n) == 0)
		seg->vni = (uint32_t)n;
	snprintf(path, sizeof(path), "segments[%d].bridge", idx);
	if ((s = config_setting_get_member(g, "bridge")) != NULL) {
		if (want_ifname(ld, s, path, &seg->bridge) == 0)
			loc_add(ld, &seg->bridge, sline(s), -1);
	} else if (seg->name != NULL) {
		/* "br-" and as much of the name as fits in an interface name. */
		if (asprintf(&seg->bridge, "%s%.*s", BRIDGE_PREFIX,
		             (int)(IFNAME_MAX_LEN - strlen(BRIDGE_PREFIX)), seg->name) < 0) {
			seg->bridge = NULL;
			ld->oom = true;
		}
	}
	snprintf(path, sizeof(path), "segments[%d].vxlan_port", idx);
	if ((s = config_setting_get_member(g, "vxlan_port")) != NULL &&
	    want_range(ld, s, path, 1, 65535, "a port", &n) == 0)
		seg->vxlan_port = (uint16_t)n;
	snprintf(path, sizeof(path), "segments[%d].ports", idx);
	if ((s = config_setting_get_member(g, "ports")) == NULL ||
	    (np = want_list(ld, s, path)) <= 0)
		return;
	seg->ports = ld_calloc(ld, (size_t)np, sizeof(*seg->ports));
	if (seg->ports == NULL)
		return;
	for (int i = 0; i < np; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);

		snprintf(path, sizeof(path), "segments[%d].ports[%d]", idx, i);
		if (want_ifname(ld, e, path, &seg->ports[seg->nports]) == 0) {
			loc_add(ld, &seg->ports[seg->nports], sline(e), i);
			seg->nports++;
		}
	}
}

static void
parse_trust(struct loader *ld, const config_setting_t *g, int idx, struct conf_trust *t)
{
	const config_setting_t *s;
	char path[PATH_LEN];
	const char *v;
	int n;

	t->line = sline(g);
	snprintf(path, sizeof(path), "trust[%d]", idx);
	check_known(ld, g, path, trust_known);
	snprintf(path, sizeof(path), "trust[%d].name", idx);
	if ((s = config_setting_get_member(g, "name")) == NULL)
		lerr(ld, t->line, "%s: missing (required)", path);
	else
		want_name(ld, s, path, &t->name);
	snprintf(path, sizeof(path), "trust[%d].public_key", idx);
	if ((s = config_setting_get_member(g, "public_key")) == NULL) {
		lerr(ld, t->line, "%s: missing (required)", path);
	} else if (want_string(ld, s, path, &v) == 0) {
		if (key_from_base64(t->public_key, v, strlen(v)) < 0)
			lerr(ld, sline(s),
			     "%s: \"%s\" is not a WireGuard key (44 base64 characters, 32 bytes)",
			     path, v);
		else
			loc_add(ld, t->public_key, sline(s), -1);
	}
	snprintf(path, sizeof(path), "trust[%d].prefixes", idx);
	if ((s = config_setting_get_member(g, "prefixes")) != NULL)
		parse_prefix_list(ld, s, path, want_prefix, &t->prefixes, &t->nprefixes);
	snprintf(path, sizeof(path), "trust[%d].overlay", idx);
	if ((s = config_setting_get_member(g, "overlay")) != NULL)
		parse_prefix_list(ld, s, path, want_overlay_grant, &t->overlay, &t->noverlay);
	snprintf(path, sizeof(path), "trust[%d].vnis", idx);
	if ((s = config_setting_get_member(g, "vnis")) == NULL || (n = want_list(ld, s, path)) <= 0)
		return;
	t->vnis = ld_calloc(ld, (size_t)n, sizeof(*t->vnis));
	if (t->vnis == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		long long vni;

		snprintf(path, sizeof(path), "trust[%d].vnis[%d]", idx, i);
		if (want_range(ld, e, path, 1, CONF_VNI_MAX, "a VNI", &vni) == 0) {
			t->vnis[t->nvnis] = (uint32_t)vni;
			loc_add(ld, &t->vnis[t->nvnis], sline(e), i);
			t->nvnis++;
		}
	}
}

/* segments and trust are lists of groups; an empty array is accepted too. path names the
 * setting in messages. */
static int
want_group_list(struct loader *ld, const config_setting_t *parent, const char *name,
                const char *path)
{
	const config_setting_t *s = config_setting_get_member(parent, name);

	if (s == NULL)
		return 0;
	if (config_setting_is_list(s) ||
	    (config_setting_is_array(s) && config_setting_length(s) == 0))
		return config_setting_length(s);
	wrong_type(ld, s, path, "a list of groups");
	return 0;
}

static void
parse_segments(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *s = config_setting_get_member(root, "segments");
	int n = want_group_list(ld, root, "segments", "segments");
	char path[PATH_LEN];

	if (n == 0 || (conf->segments = ld_calloc(ld, (size_t)n, sizeof(*conf->segments))) == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned int)i);

		snprintf(path, sizeof(path), "segments[%d]", i);
		if (!config_setting_is_group(g)) {
			wrong_type(ld, g, path, "a group");
			continue;
		}
		loc_add(ld, &conf->segments[conf->nsegments], sline(g), i);
		parse_segment(ld, g, i, &conf->segments[conf->nsegments++]);
	}
}

static void
parse_trusts(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *s = config_setting_get_member(root, "trust");
	int n = want_group_list(ld, root, "trust", "trust");
	char path[PATH_LEN];

	if (n == 0 || (conf->trust = ld_calloc(ld, (size_t)n, sizeof(*conf->trust))) == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned int)i);

		snprintf(path, sizeof(path), "trust[%d]", i);
		if (!config_setting_is_group(g)) {
			wrong_type(ld, g, path, "a group");
			continue;
		}
		loc_add(ld, &conf->trust[conf->ntrust], sline(g), i);
		parse_trust(ld, g, i, &conf->trust[conf->ntrust++]);
	}
}

static void
parse_control(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *c = want_group(ld, root, "control", false), *s;
	const char *v;

	if (c == NULL)
		return;
	check_known(ld, c, "control", control_known);
	if ((s = config_setting_get_member(c, "socket")) != NULL &&
	    want_string(ld, s, "control.socket", &v) == 0) {
		if (v[0] != '/')
			lerr(ld, sline(s), "control.socket: \"%s\" is not an absolute path", v);
		else if (strlen(v) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
			lerr(ld, sline(s), "control.socket: path longer than %zu bytes",
			     sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
		else
			replace_string(ld, &conf->control.socket, v);
	}
	/* libconfig has no octal integers, and 660 in decimal would be a surprise. */
	if ((s = config_setting_get_member(c, "mode")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			lerr(ld, sline(s),
			     "control.mode: expected a string of octal digits such as "
			     "\"0660\", got %s",
			     type_name(s));
		} else if (want_string(ld, s, "control.mode", &v) == 0) {
			size_t len = strlen(v);
			unsigned long mode;

			mode = len > 0 && len <= 4 && strspn(v, "01234567") == len
			               ? strtoul(v, NULL, 8)
			               : ULONG_MAX;
			if (mode > 0777)
				lerr(ld, sline(s),
				     "control.mode: \"%s\" is not a permission mode (octal "
				     "0..0777)",
				     v);
			else
				conf->control.mode = (mode_t)mode;
		}
	}
	if ((s = config_setting_get_member(c, "group")) != NULL &&
	    want_string(ld, s, "control.group", &v) == 0) {
		if (v[0] == '\0' || strpbrk(v, " \t:") != NULL || strlen(v) > 32)
			lerr(ld, sline(s), "control.group: \"%s\" is not a group name", v);
		else
			replace_string(ld, &conf->control.group, v);
	}
}

/* An HTTP port has no default worth guessing: metrics.listen names it. */
static void
parse_metrics(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *m = want_group(ld, root, "metrics", false), *s;
	const char *v, *close;

	if (m == NULL)
		return;
	check_known(ld, m, "metrics", metrics_known);
	if ((s = config_setting_get_member(m, "listen")) == NULL ||
	    want_endpoint(ld, s, "metrics.listen", &conf->metrics.listen) < 0)
		return;
	v = config_setting_get_string(s);
	close = v[0] == '[' ? strchr(v, ']') : v;
	if (close == NULL || strchr(close, ':') == NULL) {
		lerr(ld, sline(s),
		     "metrics.listen: \"%s\" has no port (ADDRESS:PORT, IPv6 as "
		     "[ADDRESS]:PORT)",
		     v);
		return;
	}
	conf->metrics.enabled = true;
}

/* ---- federation and policy ---- */

/* What a credential may carry as a value (provider, a label's value, a rule's value). */
static bool
cred_value_valid(const char *s, size_t len)
{
	if (len == 0 || len > CRED_VALUE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

#define VALUE_RULE "1..64 printable ASCII characters other than '\"' and '\\'"

/* ISO 3166-1 alpha-2: the form, not the list, which changes. */
static bool
jurisdiction_valid(const char *s, size_t len)
{
	return len == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

#define JURISDICTION_RULE "two upper-case letters, ISO 3166-1 alpha-2"

static bool
label_key_valid(const char *s, size_t len)
{
	if (len == 0 || len > CRED_LABEL_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

static int
want_value(struct loader *ld, const config_setting_t *s, const char *path, const char **out)
{
	const char *v;

	if (want_string(ld, s, path, &v) < 0)
		return -1;
	if (!cred_value_valid(v, strlen(v))) {
		lerr(ld, sline(s), "%s: \"%s\" is not a value (" VALUE_RULE ")", path, v);
		return -1;
	}
	*out = v;
	return 0;
}

/* One value of a rule, text[0..len): valid for the attribute key and not listed before. */
static int
check_rule_value(struct loader *ld, const config_setting_t *s, const char *path, const char *text,
                 const struct conf_rule *r, const char *v, size_t len)
{
	bool jurisdiction = strcmp(r->key, "jurisdiction") == 0;

	if (len == 0) {
		lerr(ld, sline(s), "%s: \"%s\": an empty value", path, text);
		return -1;
	}
	if (jurisdiction ? !jurisdiction_valid(v, len) : !cred_value_valid(v, len)) {
		lerr(ld, sline(s), "%s: \"%s\": \"%.*s\" is not %s (%s)", path, text, (int)len, v,
		     jurisdiction ? "a jurisdiction" : "a value",
		     jurisdiction ? JURISDICTION_RULE : VALUE_RULE);
		return -1;
	}
	for (size_t i = 0; i < r->nvalues; i++)
		if (strlen(r->values[i]) == len && memcmp(r->values[i], v, len) == 0) {
			lerr(ld, sline(s), "%s: \"%s\": \"%.*s\" is listed twice", path, text,
			     (int)len, v);
			return -1;
		}
	return 0;
}

/* "KEY=V1,V2" or "KEY!=V1,V2" into r; name is how refusals will call it (its prefix and the
 * rule as written, which is its canonical form). */
static int
want_rule(struct loader *ld, const config_setting_t *s, const char *path, const char *prefix,
          struct conf_rule *r)
{
	const char *text, *eq, *v;
	size_t keylen, n = 1;

	if (want_string(ld, s, path, &text) < 0)
		return -1;
	eq = strchr(text, '=');
	if (eq == NULL || eq == text) {
		lerr(ld, sline(s), "%s: \"%s\" is not a rule (KEY=VALUE,... or KEY!=VALUE,...)",
		     path, text);
		return -1;
	}
	r->negated = eq[-1] == '!';
	keylen = (size_t)(eq - text) - r->negated;
	if (!label_key_valid(text, keylen)) {
		lerr(ld, sline(s),
		     "%s: \"%s\": \"%.*s\" is not an attribute (provider, jurisdiction or a label "
		     "key: 1..32 of a-z, 0-9, '-', '_' and '.')",
		     path, text, (int)keylen, text);
		return -1;
	}
	memcpy(r->key, text, keylen);
	for (v = eq + 1; *v != '\0'; v++)
		n += *v == ',';
	r->values = ld_calloc(ld, n, sizeof(*r->values));
	if (r->values == NULL)
		return -1;
	for (v = eq + 1;; v += strcspn(v, ",") + 1) {
		size_t len = strcspn(v, ",");

		if (check_rule_value(ld, s, path, text, r, v, len) < 0)
			return -1;
		memcpy(r->values[r->nvalues++], v, len);
		if (v[len] == '\0')
			break;
	}
	if (asprintf(&r->name, "%s%s", prefix, text) < 0) {
		r->name = NULL;
		ld->oom = true;
		return -1;
	}
	r->text = r->name + strlen(prefix);
	r->line = sline(s);
	return 0;
}

static void
rule_clear(struct conf_rule *r)
{
	free(r->values);
	free(r->name);
}

/* A list of rules; the invalid ones are reported and left out. */
static void
parse_rules(struct loader *ld, const config_setting_t *s, const char *path, const char *prefix,
            struct conf_rule **rules, size_t *count)
{
	char epath[PATH_LEN];
	int n = want_list(ld, s, path);

	if (n <= 0 || (*rules = ld_calloc(ld, (size_t)n, sizeof(**rules))) == NULL)
		return;
	for (int i = 0; i < n; i++) {
		struct conf_rule *r = &(*rules)[*count];

		snprintf(epath, sizeof(epath), "%s[%d]", path, i);
		if (want_rule(ld, config_setting_get_elem(s, (unsigned int)i), epath, prefix, r) ==
		    0) {
			loc_add(ld, r, r->line, i);
			(*count)++;
		} else {
			rule_clear(r);
			memset(r, 0, sizeof(*r));
		}
	}
}

/* Returns how many keys the file lists, valid or not (0 when it lists none, or too many). */
static int
parse_authorities(struct loader *ld, const config_setting_t *g, struct conf *conf)
{
	const config_setting_t *s = config_setting_get_member(g, "authorities");
	char path[PATH_LEN];
	const char *v;
	int n;

	if (s == NULL) {
		lerr(ld, sline(g), "federation.authorities: missing (required)");
		return 0;
	}
	if ((n = want_list(ld, s, "federation.authorities")) < 0)
		return 0;
	if (n == 0 || n > CRED_MAX_AUTHORITIES) {
		lerr(ld, sline(s), "federation.authorities: %d keys (1..%d)", n,
		     CRED_MAX_AUTHORITIES);
		return 0;
	}
	conf->federation.authorities = ld_calloc(ld, (size_t)n, CRED_KEY_LEN);
	if (conf->federation.authorities == NULL)
		return 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		uint8_t *key = conf->federation.authorities[conf->federation.nauthorities];

		snprintf(path, sizeof(path), "federation.authorities[%d]", i);
		if (want_string(ld, e, path, &v) < 0)
			continue;
		if (key_from_base64(key, v, strlen(v)) < 0) {
			lerr(ld, sline(e),
			     "%s: \"%s\" is not an authority key (44 base64 characters, 32 bytes)",
			     path, v);
			continue;
		}
		loc_add(ld, key, sline(e), i);
		conf->federation.nauthorities++;
	}
	return n;
}

/* labels = { KEY = "VALUE"; ... }: libconfig's setting names are the keys. */
static void
parse_labels(struct loader *ld, const config_setting_t *g, struct conf *conf)
{
	const config_setting_t *s = config_setting_get_member(g, "labels");
	char path[PATH_LEN];
	int n;

	if (s == NULL)
		return;
	if (!config_setting_is_group(s)) {
		wrong_type(ld, s, "federation.labels", "a group");
		return;
	}
	n = config_setting_length(s);
	if (n > CRED_MAX_LABELS) {
		lerr(ld, sline(s), "federation.labels: %d labels (at most %d)", n, CRED_MAX_LABELS);
		return;
	}
	if (n == 0 || (conf->federation.labels =
	                       ld_calloc(ld, (size_t)n, sizeof(*conf->federation.labels))) == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		struct cred_label *l = &conf->federation.labels[conf->federation.nlabels];
		const char *key = config_setting_name(e), *v;

		snprintf(path, sizeof(path), "federation.labels.%s", key);
		if (!label_key_valid(key, strlen(key)) || strcmp(key, "provider") == 0 ||
		    strcmp(key, "jurisdiction") == 0) {
			lerr(ld, sline(e),
			     "%s: \"%s\" is not a label key (1..32 of a-z, 0-9, '-' and '_'; not "
			     "provider or jurisdiction, which have settings of their own)",
			     path, key);
			continue;
		}
		if (want_value(ld, e, path, &v) < 0)
			continue;
		snprintf(l->key, sizeof(l->key), "%s", key);
		snprintf(l->value, sizeof(l->value), "%s", v);
		conf->federation.nlabels++;
	}
}

/* federation.NAME: the absolute path of a credential file, into *path. */
static void
parse_credential_path(struct loader *ld, const config_setting_t *g, const char *name, char **path)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	char what[48];
	const char *v;

	snprintf(what, sizeof(what), "federation.%s", name);
	if (s == NULL || want_string(ld, s, what, &v) != 0)
		return;
	if (v[0] != '/') {
		lerr(ld, sline(s), "%s: \"%s\" is not an absolute path", what, v);
		return;
	}
	*path = ld_strdup(ld, v);
	loc_add(ld, path, sline(s), -1);
}

/* What this site's own credential says of it besides what the rest of the file says. */
static void
parse_attributes(struct loader *ld, const config_setting_t *g, struct conf *conf)
{
	const config_setting_t *s;
	const char *v;

	if ((s = config_setting_get_member(g, "provider")) != NULL &&
	    want_value(ld, s, "federation.provider", &v) == 0)
		conf->federation.provider = ld_strdup(ld, v);
	if ((s = config_setting_get_member(g, "jurisdiction")) != NULL &&
	    want_string(ld, s, "federation.jurisdiction", &v) == 0) {
		if (jurisdiction_valid(v, strlen(v)))
			memcpy(conf->federation.jurisdiction, v, 3);
		else
			lerr(ld, sline(s),
			     "federation.jurisdiction: \"%s\" is not a jurisdiction "
			     "(" JURISDICTION_RULE ")",
			     v);
	}
	parse_labels(ld, g, conf);
}

static void
parse_federation(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *g = want_group(ld, root, "federation", false), *s;
	long long n;
	int listed;

	if (g == NULL)
		return;
	conf->federation.present = true;
	conf->federation.line = sline(g);
	check_known(ld, g, "federation", federation_known);
	if ((s = config_setting_get_member(g, "name")) == NULL)
		lerr(ld, sline(g), "federation.name: missing (required)");
	else
		want_name(ld, s, "federation.name", &conf->federation.name);
	listed = parse_authorities(ld, g, conf);
	/* The range names the listed keys' count, so that a bad key is not blamed twice. */
	if ((s = config_setting_get_member(g, "threshold")) == NULL)
		lerr(ld, sline(g), "federation.threshold: missing (required)");
	else if (want_range(ld, s, "federation.threshold", 1,
	                    listed > 0 ? listed : CRED_MAX_AUTHORITIES, "a number of authorities",
	                    &n) == 0)
		conf->federation.threshold = (unsigned int)n;
	parse_credential_path(ld, g, "credential", &conf->federation.credential_file);
	parse_credential_path(ld, g, "next_credential", &conf->federation.next_credential_file);
	if ((s = config_setting_get_member(g, "fence")) != NULL)
		parse_prefix_list(ld, s, "federation.fence", want_prefix, &conf->federation.fence,
		                  &conf->federation.nfence);
	if ((s = config_setting_get_member(g, "pin_authorities")) != NULL)
		want_bool(ld, s, "federation.pin_authorities", &conf->federation.pin_authorities);
	parse_attributes(ld, g, conf);
}

static void
parse_policy_segment(struct loader *ld, const config_setting_t *g, int idx,
                     struct conf_policy_segment *seg)
{
	const config_setting_t *s;
	char path[PATH_LEN], prefix[PATH_LEN];
	long long n;

	seg->line = sline(g);
	snprintf(path, sizeof(path), "policy.segments[%d]", idx);
	check_known(ld, g, path, policy_segment_known);
	snprintf(path, sizeof(path), "policy.segments[%d].vni", idx);
	if ((s = config_setting_get_member(g, "vni")) == NULL) {
		lerr(ld, seg->line, "%s: missing (required)", path);
		return;
	}
	if (want_range(ld, s, path, 1, CONF_VNI_MAX, "a VNI", &n) < 0)
		return;
	seg->vni = (uint32_t)n;
	snprintf(path, sizeof(path), "policy.segments[%d].require", idx);
	snprintf(prefix, sizeof(prefix), "segment %u require ", seg->vni);
	if ((s = config_setting_get_member(g, "require")) == NULL)
		lerr(ld, seg->line, "%s: missing (required)", path);
	else
		parse_rules(ld, s, path, prefix, &seg->rules, &seg->nrules);
}

static void
parse_narrow(struct loader *ld, const config_setting_t *g, int idx, struct conf_policy_narrow *nw)
{
	const config_setting_t *s;
	char path[PATH_LEN];

	nw->line = sline(g);
	snprintf(path, sizeof(path), "policy.narrow[%d]", idx);
	check_known(ld, g, path, narrow_known);
	snprintf(path, sizeof(path), "policy.narrow[%d].site", idx);
	if ((s = config_setting_get_member(g, "site")) == NULL)
		lerr(ld, nw->line, "%s: missing (required)", path);
	else
		want_name(ld, s, path, &nw->site);
	snprintf(path, sizeof(path), "policy.narrow[%d].prefixes", idx);
	if ((s = config_setting_get_member(g, "prefixes")) == NULL)
		lerr(ld, nw->line, "%s: missing (required)", path);
	else
		parse_prefix_list(ld, s, path, want_prefix, &nw->prefixes, &nw->nprefixes);
}

static void
parse_deny(struct loader *ld, const config_setting_t *s, struct conf_policy *p)
{
	char path[PATH_LEN];
	int n = want_list(ld, s, "policy.deny");

	if (n <= 0 || (p->deny = ld_calloc(ld, (size_t)n, sizeof(*p->deny))) == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		struct conf_policy_deny *d = &p->deny[p->ndeny];

		snprintf(path, sizeof(path), "policy.deny[%d]", i);
		if (want_name(ld, e, path, &d->site) == 0) {
			d->line = sline(e);
			loc_add(ld, d, d->line, i);
			p->ndeny++;
		}
	}
}

static void
parse_policy_segments(struct loader *ld, const config_setting_t *g, struct conf_policy *p)
{
	const config_setting_t *s = config_setting_get_member(g, "segments");
	int n = want_group_list(ld, g, "segments", "policy.segments");
	char path[PATH_LEN];

	if (n == 0 || (p->segments = ld_calloc(ld, (size_t)n, sizeof(*p->segments))) == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);

		snprintf(path, sizeof(path), "policy.segments[%d]", i);
		if (!config_setting_is_group(e)) {
			wrong_type(ld, e, path, "a group");
			continue;
		}
		loc_add(ld, &p->segments[p->nsegments], sline(e), i);
		parse_policy_segment(ld, e, i, &p->segments[p->nsegments++]);
	}
}

static void
parse_narrows(struct loader *ld, const config_setting_t *g, struct conf_policy *p)
{
	const config_setting_t *s = config_setting_get_member(g, "narrow");
	int n = want_group_list(ld, g, "narrow", "policy.narrow");
	char path[PATH_LEN];

	if (n == 0 || (p->narrow = ld_calloc(ld, (size_t)n, sizeof(*p->narrow))) == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);

		snprintf(path, sizeof(path), "policy.narrow[%d]", i);
		if (!config_setting_is_group(e)) {
			wrong_type(ld, e, path, "a group");
			continue;
		}
		loc_add(ld, &p->narrow[p->nnarrow], sline(e), i);
		parse_narrow(ld, e, i, &p->narrow[p->nnarrow++]);
	}
}

static void
parse_policy(struct loader *ld, const config_setting_t *root, struct conf *conf)
{
	const config_setting_t *g = want_group(ld, root, "policy", false), *s;
	struct conf_policy *p = &conf->policy;

	if (g == NULL)
		return;
	check_known(ld, g, "policy", policy_known);
	if ((s = config_setting_get_member(g, "deny")) != NULL)
		parse_deny(ld, s, p);
	if ((s = config_setting_get_member(g, "require")) != NULL)
		parse_rules(ld, s, "policy.require", "require ", &p->require, &p->nrequire);
	parse_policy_segments(ld, g, p);
	parse_narrows(ld, g, p);
}

static void
conf_defaults(struct loader *ld, struct conf *conf)
{
	conf->log_level = DEFAULT_LOGLEVEL;
	conf->wg.interface = ld_strdup(ld, CONF_DEFAULT_INTERFACE);
	conf->wg.listen_port = CONF_DEFAULT_LISTEN_PORT;
	conf->wg.backend = CONF_BACKEND_AUTO;
	conf->wg.userspace_command = ld_strdup(ld, CONF_DEFAULT_USERSPACE_CMD);
	addr_parse(DEFAULT_BIND, &conf->gossip.bind.addr);
	conf->gossip.bind.port = CONF_DEFAULT_GOSSIP_PORT;
	conf->gossip.profile = CONF_GOSSIP_LAN;
	gossip_profile_lan(&conf->gossip.timing);
	conf->gossip.dead_hold = CONF_DEFAULT_DEAD_HOLD;
	conf->gossip.state_file = ld_strdup(ld, CONF_DEFAULT_STATE_FILE);
	conf->routing.table = CONF_DEFAULT_TABLE;
	conf->routing.protocol = CONF_DEFAULT_PROTOCOL;
	conf->control.socket = ld_strdup(ld, CONF_DEFAULT_SOCKET);
	conf->control.mode = CONF_DEFAULT_SOCKET_MODE;
}

/* ---- checks across settings ---- */

static void
load_private_key(struct loader *ld, struct conf *conf)
{
	const char *path = conf->wg.private_key_file;
	int line = loc_line(ld, &conf->wg.private_key_file, 0);
	char buf[KEY_FILE_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: a FIFO named by mistake must not hang the check. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		lerr(ld, line, "wireguard.private_key_file: cannot open %s: %s", path,
		     strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		lerr(ld, line, "wireguard.private_key_file: %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077)
		lerr(ld, line,
		     "wireguard.private_key_file: %s is accessible to group or others (mode %04o; "
		     "chmod 600 it)",
		     path, (unsigned int)(st.st_mode & 07777));
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		lerr(ld, line, "wireguard.private_key_file: cannot read %s: %s", path,
		     strerror(errno));
	} else if ((size_t)n == sizeof(buf) ||
	           key_from_base64(conf->wg.private_key, buf, (size_t)n) < 0) {
		lerr(ld, line,
		     "wireguard.private_key_file: %s does not hold a WireGuard private key (44 "
		     "base64 characters)",
		     path);
	} else if (sodium_is_zero(conf->wg.private_key, KEY_LEN)) {
		lerr(ld, line, "wireguard.private_key_file: %s holds an all-zero key", path);
	} else {
		key_public_from_private(conf->wg.public_key, conf->wg.private_key);
	}
	sodium_memzero(buf, sizeof(buf));
out:
	close(fd);
}

/* One entry in a duplicate search: a key and how to describe where it came from. */
struct dup {
	const void *key;
	size_t keylen; /* 0: key is a string */
	int line;
	size_t seq;
	char what[PATH_LEN]; /* the setting, e.g. "segments[1].vni" */
	char role[PATH_LEN]; /* what the first holder is, e.g. "segment tenant-a's VNI" */
};

static int
dup_keycmp(const struct dup *x, const struct dup *y)
{
	if (x->keylen == 0)
		return strcmp(x->key, y->key);
	return memcmp(x->key, y->key, x->keylen);
}

static int
dup_cmp(const void *a, const void *b)
{
	const struct dup *x = a, *y = b;
	int c = dup_keycmp(x, y);

	if (c != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reports every entry whose key an earlier entry already has, as
 * "WHAT: VALUE is already ROLE (line N)", where VALUE is printed by show. */
static void
report_dups(struct loader *ld, struct dup *d, size_t n,
            void (*show)(const struct dup *, char *, size_t))
{
	char value[128];

	qsort(d, n, sizeof(*d), dup_cmp);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (dup_keycmp(&d[first], &d[i]) != 0) {
			first = i;
			continue;
		}
		show(&d[i], value, sizeof(value));
		lerr(ld, d[i].line, "%s: %s is already %s (line %d)", d[i].what, value,
		     d[first].role, d[first].line);
	}
}

static void
show_string(const struct dup *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s", (const char *)d->key);
}

static void
show_u32(const struct dup *d, char *buf, size_t len)
{
	uint32_t v;

	memcpy(&v, d->key, sizeof(v));
	snprintf(buf, len, "%u", v);
}

static void
show_key(const struct dup *d, char *buf, size_t len)
{
	char b64[KEY_BASE64_SIZE];

	key_to_base64(b64, d->key);
	snprintf(buf, len, "%s", b64);
}

static void
show_endpoint(const struct dup *d, char *buf, size_t len)
{
	char text[ADDR_ENDPOINT_STRLEN];

	snprintf(buf, len, "%s", addr_endpoint_format(d->key, text));
}

static struct dup *
dup_add(struct dup *d, size_t *n, const void *key, size_t keylen, int line)
{
	struct dup *e = &d[*n];

	e->key = key;
	e->keylen = keylen;
	e->line = line;
	e->seq = (*n)++;
	return e;
}

/* A bridge derived from a name that an earlier segment has too: the name's clash is the
 * one worth reporting. */
static bool
derived_twice(const struct loader *ld, const struct conf *conf, size_t i)
{
	const struct conf_segment *seg = &conf->segments[i];

	if (loc_line(ld, &seg->bridge, 0) != 0)
		return false;
	for (size_t j = 0; j < i; j++)
		if (conf->segments[j].name != NULL &&
		    strcmp(conf->segments[j].name, seg->name) == 0)
			return true;
	return false;
}

static bool
vni_seen_before(const struct conf *conf, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (conf->segments[j].vni == conf->segments[i].vni)
			return true;
	return false;
}

static void
check_segments(struct loader *ld, const struct conf *conf)
{
	size_t nifs = 1, n = 0, nv = 0;
	struct dup *names, *vnis, *ifs;
	char(*vxlans)[CONF_VXLAN_IFNAME_SIZE];

	for (size_t i = 0; i < conf->nsegments; i++)
		nifs += 2 + conf->segments[i].nports;
	names = ld_calloc(ld, conf->nsegments, sizeof(*names));
	vnis = ld_calloc(ld, conf->nsegments, sizeof(*vnis));
	ifs = ld_calloc(ld, nifs, sizeof(*ifs));
	vxlans = ld_calloc(ld, conf->nsegments, sizeof(*vxlans));
	if (names == NULL || vnis == NULL || ifs == NULL || vxlans == NULL)
		goto out;
	nifs = 0;
	if (conf->wg.interface != NULL) {
		struct dup *e = dup_add(ifs, &nifs, conf->wg.interface, 0,
		                        loc_line(ld, &conf->wg.interface, 0));

		snprintf(e->what, sizeof(e->what), "wireguard.interface");
		snprintf(e->role, sizeof(e->role), "the WireGuard interface");
	}
	for (size_t i = 0; i < conf->nsegments; i++) {
		const struct conf_segment *seg = &conf->segments[i];
		const char *sname = seg->name ? seg->name : "?";
		int si = loc_idx(ld, seg);
		struct dup *e;

		if (seg->name != NULL) {
			e = dup_add(names, &n, seg->name, 0, seg->line);
			snprintf(e->what, sizeof(e->what), "segments[%d].name", si);
			snprintf(e->role, sizeof(e->role), "a segment's name");
		}
		if (seg->vni != 0) {
			e = dup_add(vnis, &nv, &seg->vni, sizeof(seg->vni), seg->line);
			snprintf(e->what, sizeof(e->what), "segments[%d].vni", si);
			snprintf(e->role, sizeof(e->role), "the VNI of segment %s", sname);
			/* A repeated VNI is reported as such, not again as its device's name. */
			if (!vni_seen_before(conf, i)) {
				snprintf(vxlans[i], sizeof(vxlans[i]), CONF_VXLAN_IFNAME_FMT,
				         seg->vni);
				e = dup_add(ifs, &nifs, vxlans[i], 0, seg->line);
				snprintf(e->what, sizeof(e->what), "segments[%d].vni", si);
				snprintf(e->role, sizeof(e->role), "the VXLAN device of segment %s",
				         sname);
			}
		}
		if (seg->bridge != NULL && !derived_twice(ld, conf, i)) {
			int line = loc_line(ld, &seg->bridge, 0);

			e = dup_add(ifs, &nifs, seg->bridge, 0, line ? line : seg->line);
			snprintf(e->what, sizeof(e->what), "segments[%d].bridge%s", si,
			         line ? "" : " (derived from the name; set bridge)");
			snprintf(e->role, sizeof(e->role), "the bridge of segment %s", sname);
		}
		for (size_t j = 0; j < seg->nports; j++) {
			e = dup_add(ifs, &nifs, seg->ports[j], 0,
			            loc_line(ld, &seg->ports[j], seg->line));
			snprintf(e->what, sizeof(e->what), "segments[%d].ports[%d]", si,
			         loc_idx(ld, &seg->ports[j]));
			snprintf(e->role, sizeof(e->role), "a port of segment %s", sname);
		}
	}
	report_dups(ld, names, n, show_string);
	report_dups(ld, vnis, nv, show_u32);
	report_dups(ld, ifs, nifs, show_string);
	/* A VXLAN device needs a local address to send from. */
	if (conf->nsegments > 0 && conf->noverlay == 0)
		lerr(ld, conf->segments[0].line,
		     "segments: a segment needs this site's overlay address (overlay = [ ... ])");
out:
	free(names);
	free(vnis);
	free(ifs);
	free(vxlans);
}

static void
check_trust(struct loader *ld, const struct conf *conf)
{
	size_t n = 0, nk = 0;
	struct dup *names, *keys;

	names = ld_calloc(ld, conf->ntrust + 1, sizeof(*names));
	keys = ld_calloc(ld, conf->ntrust + 1, sizeof(*keys));
	if (names == NULL || keys == NULL)
		goto out;
	if (conf->site_name != NULL) {
		struct dup *e =
		        dup_add(names, &n, conf->site_name, 0, loc_line(ld, &conf->site_name, 0));

		snprintf(e->role, sizeof(e->role), "this site's own name");
	}
	if (!sodium_is_zero(conf->wg.public_key, KEY_LEN)) {
		struct dup *e = dup_add(keys, &nk, conf->wg.public_key, KEY_LEN,
		                        loc_line(ld, &conf->wg.private_key_file, 0));

		snprintf(e->role, sizeof(e->role), "this site's own public key");
	}
	for (size_t i = 0; i < conf->ntrust; i++) {
		const struct conf_trust *t = &conf->trust[i];
		int kline = loc_line(ld, t->public_key, 0), ti = loc_idx(ld, t);
		struct dup *e;

		if (t->name != NULL) {
			e = dup_add(names, &n, t->name, 0, t->line);
			snprintf(e->what, sizeof(e->what), "trust[%d].name", ti);
			snprintf(e->role, sizeof(e->role), "a trusted site's name");
		}
		if (kline > 0) {
			e = dup_add(keys, &nk, t->public_key, KEY_LEN, kline);
			snprintf(e->what, sizeof(e->what), "trust[%d].public_key", ti);
			snprintf(e->role, sizeof(e->role), "the key of trusted site %s",
			         t->name ? t->name : "?");
		}
		for (size_t j = 1; j < t->nvnis; j++)
			for (size_t k = 0; k < j; k++)
				if (t->vnis[j] == t->vnis[k]) {
					lerr(ld, loc_line(ld, &t->vnis[j], t->line),
					     "trust[%d].vnis[%d]: %u is listed twice", ti,
					     loc_idx(ld, &t->vnis[j]), t->vnis[j]);
					break;
				}
	}
	report_dups(ld, names, n, show_string);
	report_dups(ld, keys, nk, show_key);
out:
	free(names);
	free(keys);
}

static void
check_seeds(struct loader *ld, const struct conf *conf)
{
	struct dup *seeds = ld_calloc(ld, conf->gossip.nseeds, sizeof(*seeds));
	size_t n = 0;

	if (seeds == NULL)
		return;
	for (size_t i = 0; i < conf->gossip.nseeds; i++) {
		const struct addr_endpoint *ep = &conf->gossip.seeds[i];
		struct dup *e = dup_add(seeds, &n, ep, sizeof(*ep), loc_line(ld, ep, 0));

		snprintf(e->what, sizeof(e->what), "gossip.seeds[%d]", loc_idx(ld, ep));
		snprintf(e->role, sizeof(e->role), "a seed");
	}
	report_dups(ld, seeds, n, show_endpoint);
	free(seeds);
}

/* A prefix somebody may advertise, or a trusted site's overlay grant: this site (trust < 0)
 * or trusted site number trust. */
struct owned {
	const struct addr_prefix *p;
	long trust;
	bool overlay;
	int tpos, pos; /* positions in the file's lists */
	int line;
	size_t seq;
};

static int
owned_cmp(const void *a, const void *b)
{
	const struct owned *x = a, *y = b;
	int c = addr_prefix_cmp(x->p, y->p);

	return c != 0 ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
owned_path(const struct owned *o, char *buf, size_t len)
{
	if (o->trust < 0)
		snprintf(buf, len, "prefixes[%d]", o->pos);
	else
		snprintf(buf, len, "trust[%d].%s[%d]", o->tpos, o->overlay ? "overlay" : "prefixes",
		         o->pos);
}

static void
owned_owner(const struct conf *conf, const struct owned *o, char *buf, size_t len)
{
	if (o->trust < 0)
		snprintf(buf, len, "this site's prefixes");
	else
		snprintf(buf, len, "trust %s%s",
		         conf->trust[o->trust].name ? conf->trust[o->trust].name : "?",
		         o->overlay ? "'s overlay" : "");
}

static void
report_overlap(struct loader *ld, const struct conf *conf, const struct owned *a,
               const struct owned *b)
{
	const struct owned *later = a, *earlier = b;
	char path[PATH_LEN], owner[PATH_LEN], pl[ADDR_PREFIX_STRLEN], pe[ADDR_PREFIX_STRLEN];

	if (a->line < b->line || (a->line == b->line && a->seq < b->seq)) {
		later = b;
		earlier = a;
	}
	owned_path(later, path, sizeof(path));
	owned_owner(conf, earlier, owner, sizeof(owner));
	lerr(ld, later->line, "%s: %s overlaps %s (%s, line %d)", path,
	     addr_prefix_format(later->p, pl), addr_prefix_format(earlier->p, pe), owner,
	     earlier->line);
}

/* Every advertised or allowed prefix and every overlay grant must be unique to one owner,
 * or routes would be ambiguous and a site could take another's traffic. A site's overlay
 * grant may lie in its own prefixes. Sorted by address, the prefixes containing the current
 * one form a stack. */
static void
check_prefixes(struct loader *ld, const struct conf *conf)
{
	struct owned *all, **stack = NULL;
	size_t n = conf->nprefixes, depth = 0;

	for (size_t i = 0; i < conf->ntrust; i++)
		n += conf->trust[i].nprefixes + conf->trust[i].noverlay;
	all = ld_calloc(ld, n, sizeof(*all));
	stack = ld_calloc(ld, n, sizeof(*stack));
	if (all == NULL || stack == NULL)
		goto out;
	n = 0;
	for (size_t i = 0; i < conf->nprefixes; i++) {
		const struct addr_prefix *p = &conf->prefixes[i];

		all[n] = (struct owned){p, -1, false, -1, loc_idx(ld, p), loc_line(ld, p, 0), n};
		n++;
	}
	for (size_t t = 0; t < conf->ntrust; t++) {
		const struct conf_trust *ct = &conf->trust[t];

		for (size_t i = 0; i < ct->nprefixes + ct->noverlay; i++) {
			bool overlay = i >= ct->nprefixes;
			const struct addr_prefix *p =
			        overlay ? &ct->overlay[i - ct->nprefixes] : &ct->prefixes[i];

			all[n] = (struct owned){p,
			                        (long)t,
			                        overlay,
			                        loc_idx(ld, ct),
			                        loc_idx(ld, p),
			                        loc_line(ld, p, ct->line),
			                        n};
			n++;
		}
	}
	qsort(all, n, sizeof(*all), owned_cmp);
	for (size_t i = 0; i < n; i++) {
		while (depth > 0 && !addr_prefix_contains(stack[depth - 1]->p, all[i].p))
			depth--;
		for (size_t k = 0; k < depth; k++)
			if (stack[k]->trust != all[i].trust || stack[k]->overlay == all[i].overlay)
				report_overlap(ld, conf, stack[k], &all[i]);
		stack[depth++] = &all[i];
	}
	/* The VTEP address must be routed to this site, not into another site's prefix or
	 * overlay. */
	for (size_t v = 0; v < conf->noverlay; v++)
		for (size_t t = 0; t < conf->ntrust; t++) {
			const struct conf_trust *ct = &conf->trust[t];

			for (size_t i = 0; i < ct->nprefixes + ct->noverlay; i++) {
				bool overlay = i >= ct->nprefixes;
				const struct addr_prefix *p =
				        overlay ? &ct->overlay[i - ct->nprefixes]
				                : &ct->prefixes[i];
				char a[ADDR_STRLEN], b[ADDR_PREFIX_STRLEN];

				if (!addr_prefix_contains(p, &conf->overlay[v]))
					continue;
				addr_format(&conf->overlay[v].addr, a);
				addr_prefix_format(p, b);
				lerr(ld, loc_line(ld, &conf->overlay[v], 0),
				     "overlay[%d]: %s lies in %s, which trust %s may %s (line %d)",
				     loc_idx(ld, &conf->overlay[v]), a, b,
				     ct->name ? ct->name : "?",
				     overlay ? "use as its overlay" : "advertise",
				     loc_line(ld, p, ct->line));
				break; /* once per trusted site is enough */
			}
		}
out:
	free(all);
	free(stack);
}

/* A site credential file, of this federation and naming this site: the current one binds this
 * site's key; the next one (next true) another key, with a higher serial than the current
 * one's. Whether it verifies is not the loader's business: a site keeps running on its trust
 * entries while a renewal is being signed. NULL after an error. */
static struct cred *
load_credential(struct loader *ld, struct conf *conf, char *const *pathp, bool next)
{
	const char *path = *pathp,
	           *what = next ? "federation.next_credential" : "federation.credential";
	int line = loc_line(ld, pathp, conf->federation.line);
	char *text = ld_calloc(ld, CRED_FILE_MAX, 1), err[128], b64[KEY_BASE64_SIZE];
	const struct cred *now = conf->federation.credential;
	uint8_t bin[CRED_ENCODED_MAX];
	struct cred *c = NULL;
	ssize_t n = -1;
	struct stat st;
	int fd, len = -1;
	bool own_key;

	if (text == NULL)
		return NULL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		lerr(ld, line, "%s: cannot open %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		lerr(ld, line, "%s: %s is not a regular file", what, path);
	else if ((n = read(fd, text, CRED_FILE_MAX)) < 0)
		lerr(ld, line, "%s: cannot read %s: %s", what, path, strerror(errno));
	else if (n == CRED_FILE_MAX)
		lerr(ld, line, "%s: %s is larger than %d bytes", what, path, CRED_FILE_MAX - 1);
	else if ((len = cred_dearmor(text, (size_t)n, bin, sizeof(bin), err, sizeof(err))) < 0)
		lerr(ld, line, "%s: %s: %s", what, path, err);
	else if (cred_kind_of(bin, (size_t)len) != CRED_KIND_SITE)
		lerr(ld, line, "%s: %s is not a site credential", what, path);
	else
		c = ld_calloc(ld, 1, sizeof(*c));
	close(fd);
	if (c == NULL)
		goto out;
	own_key = !sodium_is_zero(conf->wg.public_key, KEY_LEN) &&
	          memcmp(c->wg_key, conf->wg.public_key, KEY_LEN) == 0;
	if (cred_decode(bin, (size_t)len, c, err, sizeof(err)) < 0) {
		lerr(ld, line, "%s: %s: %s", what, path, err);
	} else if (conf->federation.name != NULL &&
	           strcmp(c->federation, conf->federation.name) != 0) {
		lerr(ld, line, "%s: %s is of federation %s, not %s", what, path, c->federation,
		     conf->federation.name);
	} else if (conf->site_name != NULL && strcmp(c->site, conf->site_name) != 0) {
		lerr(ld, line, "%s: %s is for site %s, not %s", what, path, c->site,
		     conf->site_name);
	} else if (!next && !sodium_is_zero(conf->wg.public_key, KEY_LEN) &&
	           memcmp(c->wg_key, conf->wg.public_key, KEY_LEN) != 0) {
		key_to_base64(b64, c->wg_key);
		lerr(ld, line, "%s: %s binds the WireGuard key %s, not this site's", what, path,
		     b64);
	} else if (next && (memcmp(c->wg_key, conf->wg.public_key, KEY_LEN) == 0 || own_key)) {
		lerr(ld, line, "%s: %s binds this site's current key: it is for the next one", what,
		     path);
	} else if (next && (now == NULL || c->serial <= now->serial)) {
		lerr(ld, line,
		     "%s: %s needs federation.credential, with a lower serial than its %" PRIu64,
		     what, path, c->serial);
	} else {
		free(text);
		return c;
	}
out:
	free(c);
	free(text);
	return NULL;
}

static void
check_federation(struct loader *ld, struct conf *conf)
{
	size_t n = 0;
	struct dup *keys;

	if (!conf->federation.present)
		return;
	keys = ld_calloc(ld, conf->federation.nauthorities, sizeof(*keys));
	if (keys == NULL)
		return;
	for (size_t i = 0; i < conf->federation.nauthorities; i++) {
		const uint8_t *key = conf->federation.authorities[i];
		struct dup *e = dup_add(keys, &n, key, CRED_KEY_LEN, loc_line(ld, key, 0));

		snprintf(e->what, sizeof(e->what), "federation.authorities[%d]", loc_idx(ld, key));
		snprintf(e->role, sizeof(e->role), "an authority");
	}
	report_dups(ld, keys, n, show_key);
	free(keys);
	if (conf->federation.credential_file != NULL)
		conf->federation.credential =
		        load_credential(ld, conf, &conf->federation.credential_file, false);
	if (conf->federation.next_credential_file != NULL)
		conf->federation.next_credential =
		        load_credential(ld, conf, &conf->federation.next_credential_file, true);
}

/* A site named in deny or narrow: at most once, and never this site. */
static void
check_policy_names(struct loader *ld, const struct conf *conf)
{
	const struct conf_policy *p = &conf->policy;
	struct dup *deny = ld_calloc(ld, p->ndeny + 1, sizeof(*deny)),
	           *narrow = ld_calloc(ld, p->nnarrow + 1, sizeof(*narrow));
	size_t nd = 0, nn = 0;

	if (deny == NULL || narrow == NULL)
		goto out;
	if (conf->site_name != NULL) {
		int line = loc_line(ld, &conf->site_name, 0);

		snprintf(dup_add(deny, &nd, conf->site_name, 0, line)->role, PATH_LEN,
		         "this site's own name");
		snprintf(dup_add(narrow, &nn, conf->site_name, 0, line)->role, PATH_LEN,
		         "this site's own name");
	}
	for (size_t i = 0; i < p->ndeny; i++) {
		struct dup *e = dup_add(deny, &nd, p->deny[i].site, 0, p->deny[i].line);

		snprintf(e->what, sizeof(e->what), "policy.deny[%d]", loc_idx(ld, &p->deny[i]));
		snprintf(e->role, sizeof(e->role), "denied");
	}
	for (size_t i = 0; i < p->nnarrow; i++) {
		struct dup *e;

		if (p->narrow[i].site == NULL)
			continue;
		e = dup_add(narrow, &nn, p->narrow[i].site, 0, p->narrow[i].line);
		snprintf(e->what, sizeof(e->what), "policy.narrow[%d].site",
		         loc_idx(ld, &p->narrow[i]));
		snprintf(e->role, sizeof(e->role), "narrowed");
	}
	report_dups(ld, deny, nd, show_string);
	report_dups(ld, narrow, nn, show_string);
out:
	free(deny);
	free(narrow);
}

/* Rules hold credentials to attributes: without a federation they would silently hold no
 * site to anything. A segment's rules are for a segment this site has. */
static void
check_policy(struct loader *ld, const struct conf *conf)
{
	const struct conf_policy *p = &conf->policy;

	check_policy_names(ld, conf);
	if (!conf->federation.present && p->nrequire > 0)
		lerr(ld, p->require[0].line,
		     "policy.require: rules apply to sites admitted by a federation credential, "
		     "and there is no federation");
	for (size_t i = 0; i < p->nsegments; i++) {
		const struct conf_policy_segment *ps = &p->segments[i];
		int idx = loc_idx(ld, ps);
		size_t j;

		if (ps->vni == 0)
			continue;
		for (j = 0; j < conf->nsegments && conf->segments[j].vni != ps->vni; j++)
			;
		if (j == conf->nsegments)
			lerr(ld, ps->line, "policy.segments[%d].vni: no segment has VNI %u", idx,
			     ps->vni);
		else if (!conf->federation.present)
			lerr(ld, ps->line,
			     "policy.segments[%d]: rules apply to sites admitted by a federation "
			     "credential, and there is no federation",
			     idx);
		for (j = 0; j < i; j++)
			if (p->segments[j].vni == ps->vni) {
				lerr(ld, ps->line,
				     "policy.segments[%d].vni: %u already has rules (line %d)", idx,
				     ps->vni, p->segments[j].line);
				break;
			}
	}
}

static void
validate(struct loader *ld, struct conf *conf)
{
	if (conf->wg.private_key_file != NULL)
		load_private_key(ld, conf);
	check_segments(ld, conf);
	check_trust(ld, conf);
	check_seeds(ld, conf);
	check_prefixes(ld, conf);
	check_federation(ld, conf);
	check_policy(ld, conf);
}

/* ---- loading ---- */

static void
loader_clear(struct loader *ld)
{
	for (size_t i = 0; i < ld->nerrs; i++)
		free(ld->errs[i].msg);
	free(ld->errs);
	free(ld->locs);
	free(ld->lex.ints);
	free(ld->lex.strs);
}

static struct conf *
load_text(const char *text, const char *name, struct conf_errors *errs)
{
	struct loader ld = {.name = name};
	struct conf *conf = NULL;
	config_setting_t *root;
	size_t ni = 0, ns = 0;
	config_t cfg;

	config_init(&cfg);
	if (key_init() < 0) {
		lerr(&ld, 0, "cannot initialise libsodium");
		goto out;
	}
	lex(&ld, text);
	if (ld.lex.include_line > 0) {
		lerr(&ld, ld.lex.include_line, "@include is not supported: netd reads one file");
		goto out;
	}
	/* libconfig 1.5 takes a string left open where a setting may start as the end of the
	 * file, silently dropping the rest. */
	if (ld.lex.unterminated_line > 0) {
		lerr(&ld, ld.lex.unterminated_line, "syntax error: string without a closing quote");
		goto out;
	}
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		const char *why = config_error_text(&cfg);

		/* libconfig's most common text is "syntax error" itself. */
		if (why == NULL || strcmp(why, "syntax error") == 0)
			lerr(&ld, config_error_line(&cfg), "syntax error");
		else
			lerr(&ld, config_error_line(&cfg), "syntax error: %s", why);
		goto out;
	}
	root = config_root_setting(&cfg);
	if (!attach_literals(&ld, root, &ni, &ns) || ni != ld.lex.nints || ns != ld.lex.nstrs) {
		lerr(&ld, 0, "internal error: the literals of the text do not match its settings");
		goto out;
	}
	conf = ld_calloc(&ld, 1, sizeof(*conf));
	if (conf == NULL)
		goto out;
	conf->wg.private_key = key_secret_new();
	if (conf->wg.private_key == NULL) {
		ld.oom = true;
		goto out;
	}
	conf_defaults(&ld, conf);
	conf->file = ld_strdup(&ld, name);
	conf->policy.file = conf->file;
	check_known(&ld, root, "", root_known);
	parse_site(&ld, root, conf);
	parse_wireguard(&ld, root, conf);
	parse_overlay(&ld, root, conf);
	parse_gossip(&ld, root, conf);
	if (config_setting_get_member(root, "prefixes") != NULL)
		parse_prefix_list(&ld, config_setting_get_member(root, "prefixes"), "prefixes",
		                  want_prefix, &conf->prefixes, &conf->nprefixes);
	parse_routing(&ld, root, conf);
	parse_segments(&ld, root, conf);
	parse_trusts(&ld, root, conf);
	parse_federation(&ld, root, conf);
	parse_policy(&ld, root, conf);
	parse_control(&ld, root, conf);
	parse_metrics(&ld, root, conf);
	if (!ld.oom)
		validate(&ld, conf);
out:
	config_destroy(&cfg);
	if (ld.nerrs > 0 || ld.oom) {
		conf_free(conf);
		conf = NULL;
		flush_errors(&ld, errs);
	}
	loader_clear(&ld);
	return conf;
}

struct conf *
conf_load_string(const char *text, const char *name, struct conf_errors *errs)
{
	return load_text(text, name, errs);
}

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
	struct loader ld = {.name = path};
	struct conf *conf = NULL;
	char *text = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		lerr(&ld, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		lerr(&ld, 0, "not a regular file");
		goto out;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		lerr(&ld, 0, "larger than %d bytes", CONF_MAX_SIZE);
		goto out;
	}
	text = ld_calloc(&ld, (size_t)st.st_size + 1, 1);
	if (text == NULL)
		goto out;
	/* The size may change under us; never read past what was allocated. */
	while (len < (size_t)st.st_size &&
	       (n = read(fd, text + len, (size_t)st.st_size - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			lerr(&ld, 0, "cannot read: %s", strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		int line = 1;

		for (const char *p = text; *p != '\0'; p++)
			line += *p == '\n';
		lerr(&ld, line, "contains a NUL byte");
		goto out;
	}
	conf = load_text(text, path, errs);
out:
	if (fd >= 0)
		close(fd);
	free(text);
	flush_errors(&ld, errs);
	loader_clear(&ld);
	return conf;
}

static void
federation_free(struct conf *conf)
{
	free(conf->federation.name);
	free(conf->federation.authorities);
	free(conf->federation.credential_file);
	free(conf->federation.credential);
	free(conf->federation.next_credential_file);
	free(conf->federation.next_credential);
	free(conf->federation.fence);
	free(conf->federation.provider);
	free(conf->federation.labels);
}

static void
rules_free(struct conf_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rule_clear(&rules[i]);
	free(rules);
}

static void
policy_free(struct conf_policy *p)
{
	for (size_t i = 0; i < p->ndeny; i++)
		free(p->deny[i].site);
	free(p->deny);
	rules_free(p->require, p->nrequire);
	for (size_t i = 0; i < p->nsegments; i++)
		rules_free(p->segments[i].rules, p->segments[i].nrules);
	free(p->segments);
	for (size_t i = 0; i < p->nnarrow; i++) {
		free(p->narrow[i].site);
		free(p->narrow[i].prefixes);
	}
	free(p->narrow);
}

void
conf_free(struct conf *conf)
{
	if (conf == NULL)
		return;
	free(conf->file);
	free(conf->site_name);
	free(conf->wg.interface);
	free(conf->wg.private_key_file);
	free(conf->wg.userspace_command);
	key_secret_free(conf->wg.private_key);
	free(conf->gossip.seeds);
	free(conf->gossip.state_file);
	free(conf->prefixes);
	for (size_t i = 0; i < conf->nsegments; i++) {
		free(conf->segments[i].name);
		free(conf->segments[i].bridge);
		for (size_t j = 0; j < conf->segments[i].nports; j++)
			free(conf->segments[i].ports[j]);
		free(conf->segments[i].ports);
	}
	free(conf->segments);
	for (size_t i = 0; i < conf->ntrust; i++) {
		free(conf->trust[i].name);
		free(conf->trust[i].prefixes);
		free(conf->trust[i].overlay);
		free(conf->trust[i].vnis);
	}
	free(conf->trust);
	federation_free(conf);
	policy_free(&conf->policy);
	free(conf->control.socket);
	free(conf->control.group);
	free(conf);
}

/* ---- formatting ---- */

const char *
conf_backend_name(enum conf_backend backend)
{
	switch (backend) {
	case CONF_BACKEND_AUTO:
		return "auto";
	case CONF_BACKEND_KERNEL:
		return "kernel";
	case CONF_BACKEND_USERSPACE:
		return "userspace";
	}
	return "?";
}

const char *
conf_gossip_profile_name(enum conf_gossip_profile profile)
{
	switch (profile) {
	case CONF_GOSSIP_LAN:
		return "lan";
	case CONF_GOSSIP_WAN:
		return "wan";
	}
	return "?";
}

/* A string in libconfig syntax; validated strings hold no control characters, but quotes
 * and backslashes (in paths) need escaping. */
static void
print_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void
print_setting(FILE *out, int indent, const char *name, const char *value)
{
	for (int i = 0; i < indent; i++)
		fputc('\t', out);
	fprintf(out, "%s = ", name);
	print_string(out, value);
	fputs(";\n", out);
}

static void
print_prefixes(FILE *out, const struct addr_prefix *p, size_t n, bool with_len)
{
	char buf[ADDR_PREFIX_STRLEN];

	fputc('[', out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : " ", prefix_text(&p[i], with_len, buf));
	fputs(n ? " ];\n" : "];\n", out);
}

static void
print_trust(FILE *out, const struct conf_trust *t)
{
	char b64[KEY_BASE64_SIZE];

	print_setting(out, 2, "name", t->name);
	key_to_base64(b64, t->public_key);
	print_setting(out, 2, "public_key", b64);
	fputs("\t\tprefixes = ", out);
	print_prefixes(out, t->prefixes, t->nprefixes, true);
	if (t->noverlay == 0)
		fputs("\t\t# overlay: none pinned (its overlay must lie in its prefixes)\n", out);
	fputs("\t\toverlay = ", out);
	print_prefixes(out, t->overlay, t->noverlay, true);
	fputs("\t\tvnis = [", out);
	for (size_t j = 0; j < t->nvnis; j++)
		fprintf(out, "%s%u", j ? ", " : " ", t->vnis[j]);
	fputs(t->nvnis ? " ];\n\t}" : "];\n\t}", out);
}

static void
print_rules(FILE *out, const struct conf_rule *rules, size_t n)
{
	fputs("[", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : " ", out);
		print_string(out, rules[i].text);
	}
	fputs(n ? " ];\n" : "];\n", out);
}

static void
print_federation(FILE *out, const struct conf *conf)
{
	const struct cred *c = conf->federation.credential;
	char b64[KEY_BASE64_SIZE];

	fputs("\nfederation = {\n", out);
	print_setting(out, 1, "name", conf->federation.name);
	fputs("\tauthorities = [", out);
	for (size_t i = 0; i < conf->federation.nauthorities; i++) {
		key_to_base64(b64, conf->federation.authorities[i]);
		fprintf(out, "%s\n\t\t\"%s\"", i ? "," : "", b64);
	}
	fputs("\n\t];\n", out);
	fprintf(out, "\tthreshold = %u;\n", conf->federation.threshold);
	if (conf->federation.credential_file != NULL)
		print_setting(out, 1, "credential", conf->federation.credential_file);
	else
		fputs("\t# credential: not set\n", out);
	if (c != NULL)
		fprintf(out, "\t# credential: serial %" PRIu64 ", %u signatures\n", c->serial,
		        c->nsigs);
	if (conf->federation.next_credential_file != NULL)
		print_setting(out, 1, "next_credential", conf->federation.next_credential_file);
	fprintf(out, "\tpin_authorities = %s;\n",
	        conf->federation.pin_authorities ? "true" : "false");
	if (conf->federation.nfence > 0) {
		fputs("\tfence = ", out);
		print_prefixes(out, conf->federation.fence, conf->federation.nfence, true);
	}
	if (conf->federation.provider != NULL)
		print_setting(out, 1, "provider", conf->federation.provider);
	else
		fputs("\t# provider: not stated\n", out);
	if (conf->federation.jurisdiction[0] != '\0')
		print_setting(out, 1, "jurisdiction", conf->federation.jurisdiction);
	else
		fputs("\t# jurisdiction: not stated\n", out);
	fputs("\tlabels = {", out);
	for (size_t i = 0; i < conf->federation.nlabels; i++) {
		fprintf(out, " %s = ", conf->federation.labels[i].key);
		print_string(out, conf->federation.labels[i].value);
		fputc(';', out);
	}
	fputs(conf->federation.nlabels ? " };\n};\n" : "};\n};\n", out);
}

static void
print_policy(FILE *out, const struct conf_policy *p)
{
	fputs("\npolicy = {\n\tdeny = [", out);
	for (size_t i = 0; i < p->ndeny; i++) {
		fputs(i ? ", " : " ", out);
		print_string(out, p->deny[i].site);
	}
	fputs(p->ndeny ? " ];\n" : "];\n", out);
	fputs("\trequire = ", out);
	print_rules(out, p->require, p->nrequire);
	fputs("\tsegments = (", out);
	for (size_t i = 0; i < p->nsegments; i++) {
		fprintf(out, "%s\t\t{\n\t\t\tvni = %u;\n\t\t\trequire = ", i ? ",\n" : "\n",
		        p->segments[i].vni);
		print_rules(out, p->segments[i].rules, p->segments[i].nrules);
		fputs("\t\t}", out);
	}
	fputs(p->nsegments ? "\n\t);\n" : ");\n", out);
	fputs("\tnarrow = (", out);
	for (size_t i = 0; i < p->nnarrow; i++) {
		fputs(i ? ",\n\t\t{\n" : "\n\t\t{\n", out);
		print_setting(out, 3, "site", p->narrow[i].site);
		fputs("\t\t\tprefixes = ", out);
		print_prefixes(out, p->narrow[i].prefixes, p->narrow[i].nprefixes, true);
		fputs("\t\t}", out);
	}
	fputs(p->nnarrow ? "\n\t);\n};\n" : ");\n};\n", out);
}

static bool
policy_empty(const struct conf_policy *p)
{
	return p->ndeny == 0 && p->nrequire == 0 && p->nsegments == 0 && p->nnarrow == 0;
}

int
conf_print(const struct conf *conf, FILE *out)
{
	char buf[ADDR_ENDPOINT_STRLEN], b64[KEY_BASE64_SIZE];

	fputs("site = {\n", out);
	print_setting(out, 1, "name", conf->site_name);
	print_setting(out, 1, "log_level", log_level_name(conf->log_level));
	fputs("};\n\nwireguard = {\n", out);
	print_setting(out, 1, "interface", conf->wg.interface);
	fprintf(out, "\tlisten_port = %u;\n", conf->wg.listen_port);
	print_setting(out, 1, "private_key_file", conf->wg.private_key_file);
	key_to_base64(b64, conf->wg.public_key);
	fprintf(out, "\t# public key: %s\n", b64);
	print_setting(out, 1, "backend", conf_backend_name(conf->wg.backend));
	print_setting(out, 1, "userspace_command", conf->wg.userspace_command);
	fprintf(out, "\tfwmark = %u;\n", conf->wg.fwmark);
	fprintf(out, "\tmtu = %u;\n", conf->wg.mtu);
	fprintf(out, "\tbehind_nat = %s;\n", conf->wg.behind_nat ? "true" : "false");
	fprintf(out, "\trelay = %s;\n", conf->wg.relay ? "true" : "false");
	fputs("\trelays = [", out);
	for (size_t i = 0; i < conf->wg.nrelays; i++)
		fprintf(out, "%s \"%s\"", i ? "," : "", conf->wg.relays[i]);
	fputs(conf->wg.nrelays ? " ];\n" : "];\n", out);
	fputs("};\n\noverlay = ", out);
	print_prefixes(out, conf->overlay, conf->noverlay, false);
	fputs("\ngossip = {\n", out);
	print_setting(out, 1, "bind", addr_endpoint_format(&conf->gossip.bind, buf));
	if (conf->gossip.has_advertise) {
		print_setting(out, 1, "advertise", addr_format(&conf->gossip.advertise.addr, buf));
	} else {
		fputs("\t# advertise: not set\n", out);
	}
	fputs("\tseeds = [", out);
	for (size_t i = 0; i < conf->gossip.nseeds; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : " ",
		        addr_endpoint_format(&conf->gossip.seeds[i], buf));
	fputs(conf->gossip.nseeds ? " ];\n" : "];\n", out);
	print_setting(out, 1, "profile", conf_gossip_profile_name(conf->gossip.profile));
	for (size_t i = 0; i < NTIMING; i++)
		fprintf(out, "\t%s = %u;\n", timing_fields[i].name,
		        timing_get(&conf->gossip.timing, i));
	fprintf(out, "\tlifeguard = %s;\n", conf->gossip.timing.lifeguard ? "true" : "false");
	fprintf(out, "\tdead_hold = %u;\n", conf->gossip.dead_hold);
	print_setting(out, 1, "state_file", conf->gossip.state_file);
	fputs("};\n\nprefixes = ", out);
	print_prefixes(out, conf->prefixes, conf->nprefixes, true);
	fprintf(out, "\nrouting = {\n\ttable = %u;\n\tprotocol = %u;\n};\n", conf->routing.table,
	        conf->routing.protocol);
	fputs("\nsegments = (", out);
	for (size_t i = 0; i < conf->nsegments; i++) {
		const struct conf_segment *seg = &conf->segments[i];

		fputs(i ? ",\n\t{\n" : "\n\t{\n", out);
		print_setting(out, 2, "name", seg->name);
		fprintf(out, "\t\tvni = %u;\n", seg->vni);
		print_setting(out, 2, "bridge", seg->bridge);
		fputs("\t\tports = [", out);
		for (size_t j = 0; j < seg->nports; j++) {
			fputs(j ? ", " : " ", out);
			print_string(out, seg->ports[j]);
		}
		fputs(seg->nports ? " ];\n" : "];\n", out);
		fprintf(out, "\t\tvxlan_port = %u;\n\t}", seg->vxlan_port);
	}
	fputs(conf->nsegments ? "\n);\n" : ");\n", out);
	fputs("\ntrust = (", out);
	for (size_t i = 0; i < conf->ntrust; i++) {
		fputs(i ? ",\n\t{\n" : "\n\t{\n", out);
		print_trust(out, &conf->trust[i]);
	}
	fputs(conf->ntrust ? "\n);\n" : ");\n", out);
	if (conf->federation.present)
		print_federation(out, conf);
	if (!policy_empty(&conf->policy))
		print_policy(out, &conf->policy);
	fputs("\ncontrol = {\n", out);
	print_setting(out, 1, "socket", conf->control.socket);
	fprintf(out, "\tmode = \"%04o\";\n", (unsigned int)conf->control.mode);
	if (conf->control.group != NULL)
		print_setting(out, 1, "group", conf->control.group);
	else
		fputs("\t# group: not set (only root may use mutating commands)\n", out);
	fputs("};\n", out);
	if (conf->metrics.enabled) {
		fputs("\nmetrics = {\n", out);
		print_setting(out, 1, "listen", addr_endpoint_format(&conf->metrics.listen, buf));
		fputs("};\n", out);
	}
	return ferror(out) ? -1 : 0;
}

/* ---- JSON ---- */

static int
jset(json_t *obj, const char *key, json_t *value)
{
	return value == NULL ? -1 : json_object_set_new(obj, key, value);
}

static json_t *
json_prefixes(const struct addr_prefix *p, size_t n, bool with_len)
{
	json_t *arr = json_array();
	char buf[ADDR_PREFIX_STRLEN];

	for (size_t i = 0; arr != NULL && i < n; i++) {
		if (json_array_append_new(arr, json_string(prefix_text(&p[i], with_len, buf))) <
		    0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *
json_segment(const struct conf_segment *seg)
{
	json_t *o = json_object(), *ports = json_array();
	int r = 0;

	for (size_t j = 0; j < seg->nports; j++)
		r |= json_array_append_new(ports, json_string(seg->ports[j]));
	r |= jset(o, "name", json_string(seg->name));
	r |= jset(o, "vni", json_integer(seg->vni));
	r |= jset(o, "bridge", json_string(seg->bridge));
	r |= jset(o, "ports", ports);
	r |= jset(o, "vxlan_port", json_integer(seg->vxlan_port));
	if (r != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_trust(const struct conf_trust *t)
{
	json_t *o = json_object(), *vnis = json_array();
	char b64[KEY_BASE64_SIZE];
	int r = 0;

	for (size_t j = 0; j < t->nvnis; j++)
		r |= json_array_append_new(vnis, json_integer(t->vnis[j]));
	key_to_base64(b64, t->public_key);
	r |= jset(o, "name", json_string(t->name));
	r |= jset(o, "public_key", json_string(b64));
	r |= jset(o, "prefixes", json_prefixes(t->prefixes, t->nprefixes, true));
	r |= jset(o, "overlay", json_prefixes(t->overlay, t->noverlay, true));
	r |= jset(o, "vnis", vnis);
	if (r != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Keyed by the names of the settings, in milliseconds where the setting is. */
static json_t *
json_timing(const struct gossip_profile *p)
{
	json_t *o = json_object();
	int r = 0;

	for (size_t i = 0; i < NTIMING; i++)
		r |= jset(o, timing_fields[i].name, json_integer(timing_get(p, i)));
	r |= jset(o, "lifeguard", json_boolean(p->lifeguard));
	if (r != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_authorities(const struct conf *conf)
{
	json_t *arr = json_array();
	char b64[KEY_BASE64_SIZE];
	int r = 0;

	for (size_t i = 0; i < conf->federation.nauthorities; i++) {
		key_to_base64(b64, conf->federation.authorities[i]);
		r |= json_array_append_new(arr, json_string(b64));
	}
	if (r != 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* What the status socket shows of this site's credential: enough to see when it must be
 * renewed and who signed it. */
static json_t *
json_credential(const struct cred *c)
{
	json_t *o = json_object(), *signers = json_array();
	char b64[KEY_BASE64_SIZE];
	int r = 0;

	for (size_t i = 0; i < c->nsigs; i++) {
		key_to_base64(b64, c->sigs[i].authority);
		r |= json_array_append_new(signers, json_string(b64));
	}
	r |= jset(o, "serial", json_integer((json_int_t)c->serial));
	r |= jset(o, "not_before", json_integer(c->not_before));
	r |= jset(o, "not_after", json_integer(c->not_after));
	r |= jset(o, "signers", signers);
	if (r != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_federation(const struct conf *conf)
{
	json_t *o = json_object(), *labels = json_object();
	int r = 0;

	if (!conf->federation.present) {
		json_decref(o);
		json_decref(labels);
		return json_null();
	}
	for (size_t i = 0; i < conf->federation.nlabels; i++)
		r |= jset(labels, conf->federation.labels[i].key,
		          json_string(conf->federation.labels[i].value));
	r |= jset(o, "name", json_string(conf->federation.name));
	r |= jset(o, "authorities", json_authorities(conf));
	r |= jset(o, "threshold", json_integer(conf->federation.threshold));
	r |= jset(o, "credential_file",
	          conf->federation.credential_file ? json_string(conf->federation.credential_file)
	                                           : json_null());
	r |= jset(o, "credential",
	          conf->federation.credential ? json_credential(conf->federation.credential)
	                                      : json_null());
	r |= jset(o, "next_credential_file",
	          conf->federation.next_credential_file
	                  ? json_string(conf->federation.next_credential_file)
	                  : json_null());
	r |= jset(o, "next_credential",
	          conf->federation.next_credential
	                  ? json_credential(conf->federation.next_credential)
	                  : json_null());
	r |= jset(o, "pin_authorities", json_boolean(conf->federation.pin_authorities));
	r |= jset(o, "fence", json_prefixes(conf->federation.fence, conf->federation.nfence, true));
	r |= jset(o, "provider",
	          conf->federation.provider ? json_string(conf->federation.provider) : json_null());
	r |= jset(o, "jurisdiction",
	          conf->federation.jurisdiction[0] ? json_string(conf->federation.jurisdiction)
	                                           : json_null());
	r |= jset(o, "labels", labels);
	if (r != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_rules(const struct conf_rule *rules, size_t n)
{
	json_t *arr = json_array();
	int r = 0;

	for (size_t i = 0; i < n; i++)
		r |= json_array_append_new(arr, json_string(rules[i].text));
	if (r != 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *
json_policy(const struct conf_policy *p)
{
	json_t *o = json_object(), *deny = json_array(), *segments = json_array(),
	       *narrow = json_array();
	int r = 0;

	for (size_t i = 0; i < p->ndeny; i++)
		r |= json_array_append_new(deny, json_string(p->deny[i].site));
	for (size_t i = 0; i < p->nsegments; i++) {
		json_t *s = json_object();

		r |= jset(s, "vni", json_integer(p->segments[i].vni));
		r |= jset(s, "require", json_rules(p->segments[i].rules, p->segments[i].nrules));
		r |= json_array_append_new(segments, s);
	}
	for (size_t i = 0; i < p->nnarrow; i++) {
		json_t *n = json_object();

		r |= jset(n, "site", json_string(p->narrow[i].site));
		r |= jset(n, "prefixes",
		          json_prefixes(p->narrow[i].prefixes, p->narrow[i].nprefixes, true));
		r |= json_array_append_new(narrow, n);
	}
	r |= jset(o, "deny", deny);
	r |= jset(o, "require", json_rules(p->require, p->nrequire));
	r |= jset(o, "segments", segments);
	r |= jset(o, "narrow", narrow);
	if (r != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Each part is filled before it is attached, so that the keys keep the file's order; a
 * failed allocation anywhere makes the whole result NULL (jansson frees what a failed set
 * was given). */
json_t *
conf_to_json(const struct conf *conf)
{
	json_t *root = json_object(), *site = json_object(), *wg = json_object(),
	       *gossip = json_object(), *seeds = json_array(), *routing = json_object(),
	       *segments = json_array(), *trust = json_array(), *control = json_object(), *relays;
	char buf[ADDR_ENDPOINT_STRLEN], b64[KEY_BASE64_SIZE];
	int r = 0;

	r |= jset(site, "name", json_string(conf->site_name));
	r |= jset(site, "log_level", json_string(log_level_name(conf->log_level)));

	key_to_base64(b64, conf->wg.public_key);
	r |= jset(wg, "interface", json_string(conf->wg.interface));
	r |= jset(wg, "listen_port", json_integer(conf->wg.listen_port));
	r |= jset(wg, "private_key_file", json_string(conf->wg.private_key_file));
	r |= jset(wg, "public_key", json_string(b64));
	r |= jset(wg, "backend", json_string(conf_backend_name(conf->wg.backend)));
	r |= jset(wg, "userspace_command", json_string(conf->wg.userspace_command));
	r |= jset(wg, "fwmark", json_integer(conf->wg.fwmark));
	r |= jset(wg, "mtu", json_integer(conf->wg.mtu));
	r |= jset(wg, "behind_nat", json_boolean(conf->wg.behind_nat));
	r |= jset(wg, "relay", json_boolean(conf->wg.relay));
	relays = json_array();
	for (size_t i = 0; relays != NULL && i < conf->wg.nrelays; i++)
		r |= json_array_append_new(relays, json_string(conf->wg.relays[i]));
	r |= jset(wg, "relays", relays);

	r |= jset(gossip, "bind", json_string(addr_endpoint_format(&conf->gossip.bind, buf)));
	r |= jset(gossip, "advertise",
	          conf->gossip.has_advertise
	                  ? json_string(addr_format(&conf->gossip.advertise.addr, buf))
	                  : json_null());
	for (size_t i = 0; i < conf->gossip.nseeds; i++)
		r |= json_array_append_new(
		        seeds, json_string(addr_endpoint_format(&conf->gossip.seeds[i], buf)));
	r |= jset(gossip, "seeds", seeds);
	r |= jset(gossip, "profile", json_string(conf_gossip_profile_name(conf->gossip.profile)));
	r |= jset(gossip, "timing", json_timing(&conf->gossip.timing));
	r |= jset(gossip, "dead_hold", json_integer(conf->gossip.dead_hold));
	r |= jset(gossip, "state_file", json_string(conf->gossip.state_file));

	r |= jset(routing, "table", json_integer(conf->routing.table));
	r |= jset(routing, "protocol", json_integer(conf->routing.protocol));
	for (size_t i = 0; i < conf->nsegments; i++)
		r |= json_array_append_new(segments, json_segment(&conf->segments[i]));
	for (size_t i = 0; i < conf->ntrust; i++)
		r |= json_array_append_new(trust, json_trust(&conf->trust[i]));

	snprintf(buf, sizeof(buf), "%04o", (unsigned int)conf->control.mode);
	r |= jset(control, "socket", json_string(conf->control.socket));
	r |= jset(control, "mode", json_string(buf));
	r |= jset(control, "group",
	          conf->control.group ? json_string(conf->control.group) : json_null());

	r |= jset(root, "file", json_string(conf->file));
	r |= jset(root, "site", site);
	r |= jset(root, "wireguard", wg);
	r |= jset(root, "overlay", json_prefixes(conf->overlay, conf->noverlay, false));
	r |= jset(root, "gossip", gossip);
	r |= jset(root, "prefixes", json_prefixes(conf->prefixes, conf->nprefixes, true));
	r |= jset(root, "routing", routing);
	r |= jset(root, "segments", segments);
	r |= jset(root, "trust", trust);
	r |= jset(root, "federation", json_federation(conf));
	r |= jset(root, "policy", json_policy(&conf->policy));
	r |= jset(root, "control", control);
	r |= jset(root, "metrics",
	          json_pack("{s:o}", "listen",
	                    conf->metrics.enabled
	                            ? json_string(addr_endpoint_format(&conf->metrics.listen, buf))
	                            : json_null()));
	if (r != 0) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ---- equality ---- */

static bool
str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
prefixes_eq(const struct addr_prefix *a, const struct addr_prefix *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!addr_prefix_equal(&a[i], &b[i]))
			return false;
	return true;
}

static bool
endpoint_eq(const struct addr_endpoint *a, const struct addr_endpoint *b)
{
	return a->port == b->port && addr_equal(&a->addr, &b->addr);
}

static bool
segment_eq(const struct conf_segment *a, const struct conf_segment *b)
{
	if (!str_eq(a->name, b->name) || a->vni != b->vni || !str_eq(a->bridge, b->bridge) ||
	    a->vxlan_port != b->vxlan_port || a->nports != b->nports)
		return false;
	for (size_t i = 0; i < a->nports; i++)
		if (!str_eq(a->ports[i], b->ports[i]))
			return false;
	return true;
}

static bool
trust_eq(const struct conf_trust *a, const struct conf_trust *b)
{
	return str_eq(a->name, b->name) && memcmp(a->public_key, b->public_key, KEY_LEN) == 0 &&
	       a->nprefixes == b->nprefixes &&
	       prefixes_eq(a->prefixes, b->prefixes, a->nprefixes) && a->noverlay == b->noverlay &&
	       prefixes_eq(a->overlay, b->overlay, a->noverlay) && a->nvnis == b->nvnis &&
	       (a->nvnis == 0 || memcmp(a->vnis, b->vnis, a->nvnis * sizeof(*a->vnis)) == 0);
}

static bool
timing_eq(const struct gossip_profile *a, const struct gossip_profile *b)
{
	for (size_t i = 0; i < NTIMING; i++)
		if (timing_get(a, i) != timing_get(b, i))
			return false;
	return a->lifeguard == b->lifeguard;
}

/* Decoded credentials compare by their canonical encoding (the structs have padding). */
static bool
credential_eq(const struct cred *a, const struct cred *b)
{
	uint8_t ea[CRED_ENCODED_MAX], eb[CRED_ENCODED_MAX];
	int la, lb;

	if (a == NULL || b == NULL)
		return a == b;
	la = cred_encode(a, ea, sizeof(ea));
	lb = cred_encode(b, eb, sizeof(eb));
	return la >= 0 && la == lb && memcmp(ea, eb, (size_t)la) == 0;
}

/* Whose credentials admit sites, and this site's own credential. */
static bool
federation_eq(const struct conf *a, const struct conf *b)
{
	size_t n = a->federation.nauthorities;

	return a->federation.present == b->federation.present &&
	       str_eq(a->federation.name, b->federation.name) && n == b->federation.nauthorities &&
	       (n == 0 || memcmp(a->federation.authorities, b->federation.authorities,
	                         n * CRED_KEY_LEN) == 0) &&
	       a->federation.threshold == b->federation.threshold &&
	       a->federation.pin_authorities == b->federation.pin_authorities &&
	       str_eq(a->federation.credential_file, b->federation.credential_file) &&
	       credential_eq(a->federation.credential, b->federation.credential) &&
	       str_eq(a->federation.next_credential_file, b->federation.next_credential_file) &&
	       credential_eq(a->federation.next_credential, b->federation.next_credential);
}

/* What `netd federation request` writes into this site's next credential. */
static bool
attributes_eq(const struct conf *a, const struct conf *b)
{
	if (!str_eq(a->federation.provider, b->federation.provider) ||
	    strcmp(a->federation.jurisdiction, b->federation.jurisdiction) != 0 ||
	    a->federation.nlabels != b->federation.nlabels)
		return false;
	for (size_t i = 0; i < a->federation.nlabels; i++)
		if (strcmp(a->federation.labels[i].key, b->federation.labels[i].key) != 0 ||
		    strcmp(a->federation.labels[i].value, b->federation.labels[i].value) != 0)
			return false;
	return true;
}

/* A rule's text is its canonical form. */
static bool
rules_eq(const struct conf_rule *a, size_t na, const struct conf_rule *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].text, b[i].text) != 0)
			return false;
	return true;
}

static bool
policy_eq(const struct conf_policy *a, const struct conf_policy *b)
{
	if (a->ndeny != b->ndeny || !rules_eq(a->require, a->nrequire, b->require, b->nrequire) ||
	    a->nsegments != b->nsegments || a->nnarrow != b->nnarrow)
		return false;
	for (size_t i = 0; i < a->ndeny; i++)
		if (!str_eq(a->deny[i].site, b->deny[i].site))
			return false;
	for (size_t i = 0; i < a->nsegments; i++)
		if (a->segments[i].vni != b->segments[i].vni ||
		    !rules_eq(a->segments[i].rules, a->segments[i].nrules, b->segments[i].rules,
		              b->segments[i].nrules))
			return false;
	for (size_t i = 0; i < a->nnarrow; i++)
		if (!str_eq(a->narrow[i].site, b->narrow[i].site) ||
		    a->narrow[i].nprefixes != b->narrow[i].nprefixes ||
		    !prefixes_eq(a->narrow[i].prefixes, b->narrow[i].prefixes,
		                 a->narrow[i].nprefixes))
			return false;
	return true;
}

/* What a new gossip instance is needed for: who this site is, whom it trusts and what each
 * may claim (trust entries, the federation, its own credential), its timing, seeds and state
 * file. */
static bool
gossip_instance_eq(const struct conf *a, const struct conf *b)
{
	if (!str_eq(a->site_name, b->site_name) ||
	    sodium_memcmp(a->wg.private_key, b->wg.private_key, KEY_LEN) != 0 ||
	    !timing_eq(&a->gossip.timing, &b->gossip.timing) ||
	    !str_eq(a->gossip.state_file, b->gossip.state_file) ||
	    a->gossip.nseeds != b->gossip.nseeds || a->ntrust != b->ntrust)
		return false;
	for (size_t i = 0; i < a->gossip.nseeds; i++)
		if (!endpoint_eq(&a->gossip.seeds[i], &b->gossip.seeds[i]))
			return false;
	for (size_t i = 0; i < a->ntrust; i++)
		if (!trust_eq(&a->trust[i], &b->trust[i]))
			return false;
	return federation_eq(a, b);
}

/* What the running site applies as a difference: the descriptor it gossips, the data plane,
 * the local policy and the logging. */
static bool
live_eq(const struct conf *a, const struct conf *b)
{
	if (a->log_level != b->log_level || !str_eq(a->wg.interface, b->wg.interface) ||
	    a->wg.listen_port != b->wg.listen_port ||
	    !str_eq(a->wg.private_key_file, b->wg.private_key_file) ||
	    a->wg.backend != b->wg.backend ||
	    !str_eq(a->wg.userspace_command, b->wg.userspace_command) ||
	    a->wg.fwmark != b->wg.fwmark || a->wg.mtu != b->wg.mtu ||
	    a->wg.behind_nat != b->wg.behind_nat || a->wg.relay != b->wg.relay ||
	    a->wg.nrelays != b->wg.nrelays)
		return false;
	for (size_t i = 0; i < a->wg.nrelays; i++)
		if (strcmp(a->wg.relays[i], b->wg.relays[i]) != 0)
			return false;
	if (a->noverlay != b->noverlay || !prefixes_eq(a->overlay, b->overlay, a->noverlay))
		return false;
	if (a->gossip.has_advertise != b->gossip.has_advertise ||
	    (a->gossip.has_advertise &&
	     !addr_prefix_equal(&a->gossip.advertise, &b->gossip.advertise)) ||
	    a->gossip.profile != b->gossip.profile || a->gossip.dead_hold != b->gossip.dead_hold)
		return false;
	if (a->nprefixes != b->nprefixes || !prefixes_eq(a->prefixes, b->prefixes, a->nprefixes) ||
	    a->routing.table != b->routing.table || a->routing.protocol != b->routing.protocol)
		return false;
	if (a->nsegments != b->nsegments)
		return false;
	for (size_t i = 0; i < a->nsegments; i++)
		if (!segment_eq(&a->segments[i], &b->segments[i]))
			return false;
	return attributes_eq(a, b) && policy_eq(&a->policy, &b->policy) &&
	       a->federation.nfence == b->federation.nfence &&
	       prefixes_eq(a->federation.fence, b->federation.fence, a->federation.nfence);
}

/* The file name and source lines are where a config came from, not what it says. */
unsigned
conf_changes(const struct conf *a, const struct conf *b)
{
	unsigned changes = 0;

	if (!live_eq(a, b))
		changes |= CONF_CHANGE_LIVE;
	if (!endpoint_eq(&a->gossip.bind, &b->gossip.bind))
		changes |= CONF_CHANGE_GOSSIP_BIND;
	if (!gossip_instance_eq(a, b))
		changes |= CONF_CHANGE_GOSSIP;
	if (!str_eq(a->control.socket, b->control.socket) || a->control.mode != b->control.mode ||
	    !str_eq(a->control.group, b->control.group) ||
	    a->metrics.enabled != b->metrics.enabled ||
	    (a->metrics.enabled && !endpoint_eq(&a->metrics.listen, &b->metrics.listen)))
		changes |= CONF_CHANGE_CONTROL;
	return changes;
}

bool
conf_equal(const struct conf *a, const struct conf *b)
{
	return conf_changes(a, b) == 0;
}

static int
authority_cmp(const void *a, const void *b)
{
	return memcmp(a, b, CRED_KEY_LEN);
}

void
conf_federation_set(const struct conf *conf, struct cred_authorities *set)
{
	memset(set, 0, sizeof(*set));
	snprintf(set->federation, sizeof(set->federation), "%s", conf->federation.name);
	memcpy(set->keys, conf->federation.authorities,
	       conf->federation.nauthorities * CRED_KEY_LEN);
	set->nkeys = (uint8_t)conf->federation.nauthorities;
	set->threshold = (uint8_t)conf->federation.threshold;
	qsort(set->keys, set->nkeys, CRED_KEY_LEN, authority_cmp);
}
