/* `netd federation`: authority keys, a site's credential request from its config, signing,
 * showing and verifying documents, and drafting revocations and authority updates. Every
 * document is read and written in its armour; files are replaced atomically. */
#include "netd/federation.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "netd/conf.h"
#include "netd/cred.h"
#include "netd/key.h"
#include "netd/wire.h"

#define DOC_FILE_MAX (64 * 1024) /* an armoured document and any text around it */
#define KEY_FILE_MAX 256
#define DAY          86400
#define DEFAULT_DAYS 365
#define MAX_DAYS     36500
#define SECRET_LEN   64 /* libsodium's Ed25519 secret key: seed and public key */

/* Any of the three kinds of document. */
struct doc {
	int kind; /* enum cred_kind */
	union {
		struct cred site;
		struct cred_revocation rev;
		struct cred_authorities auth;
	} u;
};

__attribute__((format(printf, 1, 2))) static void
complain(const char *fmt, ...)
{
	va_list ap;

	fputs("netd federation: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *
kind_name(int kind)
{
	switch (kind) {
	case CRED_KIND_SITE:
		return "credential";
	case CRED_KIND_REVOCATION:
		return "revocation";
	case CRED_KIND_AUTHORITIES:
		return "authority update";
	}
	return "?";
}

/* ---- numbers and keys from the command line ---- */

static int
parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
		complain("%s: \"%s\" is not a number (%" PRIu64 "..%" PRIu64 ")", what, s, min,
		         max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_key(const char *what, const char *s, uint8_t key[CRED_KEY_LEN])
{
	if (key_from_base64(key, s, strlen(s)) < 0) {
		complain("%s: \"%s\" is not a key (44 base64 characters, 32 bytes)", what, s);
		return -1;
	}
	return 0;
}

/* ---- files ---- */

/* The whole of a small regular file, NUL-terminated; 0 or -1 after saying why. */
static int
read_file(const char *path, char *buf, size_t cap, size_t *len, struct stat *st)
{
	ssize_t n = 0;
	int fd;

	*len = 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		complain("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		complain("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	while (*len < cap - 1 && (n = read(fd, buf + *len, cap - 1 - *len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	buf[*len] = '\0';
	if (n < 0) {
		complain("%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (*len == cap - 1) {
		complain("%s: larger than %zu bytes", path, cap - 2);
		return -1;
	}
	return 0;
}

/* Replaces path with text as a whole or not at all: a temporary file next to it, renamed
 * over it. */
static int
write_atomic(const char *path, const char *text, size_t len, mode_t mode)
{
	char *tmp = NULL;
	size_t done = 0;
	int fd, err = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		complain("%s: out of memory", path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		complain("%s: cannot create a file next to it: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	while (done < len && err == 0) {
		ssize_t n = write(fd, text + done, len - done);

		if (n >= 0)
			done += (size_t)n;
		else if (errno != EINTR)
			err = errno;
	}
	if (err == 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
		err = errno;
	if (close(fd) < 0 && err == 0)
		err = errno;
	if (err != 0)
		complain("%s: cannot write %s: %s", path, tmp, strerror(err));
	else if (rename(tmp, path) < 0)
		complain("%s: cannot replace it: %s", path, strerror(err = errno));
	if (err != 0)
		unlink(tmp);
	free(tmp);
	return err != 0 ? -1 : 0;
}

/* ---- documents ---- */

/* The document in the file at path; st, when not NULL, gets the file's status. */
static int
doc_load(const char *path, struct doc *d, struct stat *st)
{
	uint8_t bin[CRED_ENCODED_MAX];
	char err[128], *text = malloc(DOC_FILE_MAX);
	struct stat local;
	int n = -1, r = -1;
	size_t len;

	if (text == NULL) {
		complain("%s: out of memory", path);
		return -1;
	}
	if (read_file(path, text, DOC_FILE_MAX, &len, st ? st : &local) < 0)
		goto out;
	if ((n = cred_dearmor(text, len, bin, sizeof(bin), err, sizeof(err))) < 0) {
		complain("%s: %s", path, err);
		goto out;
	}
	memset(d, 0, sizeof(*d));
	d->kind = cred_kind_of(bin, (size_t)n);
	if (d->kind == CRED_KIND_SITE)
		r = cred_decode(bin, (size_t)n, &d->u.site, err, sizeof(err));
	else if (d->kind == CRED_KIND_REVOCATION)
		r = cred_revocation_decode(bin, (size_t)n, &d->u.rev, err, sizeof(err));
	else if (d->kind == CRED_KIND_AUTHORITIES)
		r = cred_authorities_decode(bin, (size_t)n, &d->u.auth, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "not a document netd knows");
	if (r < 0)
		complain("%s: %s", path, err);
out:
	free(text);
	return r;
}

static int
doc_encode(const struct doc *d, uint8_t *bin, size_t cap)
{
	switch (d->kind) {
	case CRED_KIND_SITE:
		return cred_encode(&d->u.site, bin, cap);
	case CRED_KIND_REVOCATION:
		return cred_revocation_encode(&d->u.rev, bin, cap);
	case CRED_KIND_AUTHORITIES:
		return cred_authorities_encode(&d->u.auth, bin, cap);
	}
	return -1;
}

/* The armoured document to path (replaced atomically), or to stdout when path is NULL. */
static int
doc_save(const struct doc *d, const char *path, mode_t mode)
{
	uint8_t bin[CRED_ENCODED_MAX];
	char text[CRED_ARMOR_MAX];
	int n, len;

	if ((n = doc_encode(d, bin, sizeof(bin))) < 0 ||
	    (len = cred_armor(bin, (size_t)n, text, sizeof(text))) < 0) {
		complain("%s: the %s does not encode (a list too long or a value out of bounds)",
		         path ? path : "stdout", kind_name(d->kind));
		return -1;
	}
	if (path != NULL)
		return write_atomic(path, text, (size_t)len, mode);
	if (fwrite(text, 1, (size_t)len, stdout) != (size_t)len || fflush(stdout) != 0) {
		complain("stdout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static const struct cred_sig *
doc_sigs(const struct doc *d, unsigned *n)
{
	switch (d->kind) {
	case CRED_KIND_SITE:
		*n = d->u.site.nsigs;
		return d->u.site.sigs;
	case CRED_KIND_REVOCATION:
		*n = d->u.rev.nsigs;
		return d->u.rev.sigs;
	default:
		*n = d->u.auth.nsigs;
		return d->u.auth.sigs;
	}
}

/* The config a subcommand works from: valid, with a federation section. */
static struct conf *
load_federation_conf(const char *path)
{
	struct conf_errors errs = {0};
	struct conf *conf = conf_load(path, &errs);

	if (conf == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		conf_errors_free(&errs);
		return NULL;
	}
	if (!conf->federation.present) {
		complain("%s: no federation section", path);
		conf_free(conf);
		return NULL;
	}
	return conf;
}

/* ---- the command line ---- */

/* Every option of every subcommand; each subcommand names those it takes. */
struct opts {
	const char *file; /* the one document argument */
	const char *conf, *out, *key_file, *days, *serial, *at, *site, *wg_key, *reason, *threshold,
	        *version;
	bool json;
	const char *add[CRED_MAX_AUTHORITIES], *remove[CRED_MAX_AUTHORITIES];
	size_t nadd, nremove;
};

static const struct option long_options[] = {
        {"days", required_argument, NULL, 'd'},
        {"serial", required_argument, NULL, 's'},
        {"at", required_argument, NULL, 'a'},
        {"site", required_argument, NULL, 'S'},
        {"key", required_argument, NULL, 'K'},
        {"reason", required_argument, NULL, 'r'},
        {"add", required_argument, NULL, 'A'},
        {"remove", required_argument, NULL, 'R'},
        {"threshold", required_argument, NULL, 't'},
        {"version", required_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
};

static int
add_key_option(const char **list, size_t *n, const char *arg, const char *what)
{
	if (*n == CRED_MAX_AUTHORITIES) {
		complain("%s: at most %d times", what, CRED_MAX_AUTHORITIES);
		return -1;
	}
	list[(*n)++] = arg;
	return 0;
}

static int
take_option(struct opts *o, int ch, const char *arg)
{
	switch (ch) {
	case 'f':
		o->conf = arg;
		break;
	case 'o':
		o->out = arg;
		break;
	case 'k':
		o->key_file = arg;
		break;
	case 'j':
		o->json = true;
		break;
	case 'd':
		o->days = arg;
		break;
	case 's':
		o->serial = arg;
		break;
	case 'a':
		o->at = arg;
		break;
	case 'S':
		o->site = arg;
		break;
	case 'K':
		o->wg_key = arg;
		break;
	case 'r':
		o->reason = arg;
		break;
	case 't':
		o->threshold = arg;
		break;
	case 'v':
		o->version = arg;
		break;
	case 'A':
		return add_key_option(o->add, &o->nadd, arg, "--add");
	case 'R':
		return add_key_option(o->remove, &o->nremove, arg, "--remove");
	default:
		return -1;
	}
	return 0;
}

/* Fills o from argv (argv[0] the subcommand), refusing options the subcommand does not take
 * (accepts: their codes) and any number of documents but nargs. */
/* "--days" or "-f", as the command line would have it. */
static const char *
option_name(int ch, char buf[16])
{
	for (size_t i = 0; long_options[i].name != NULL; i++)
		if (long_options[i].val == ch) {
			snprintf(buf, 16, "--%s", long_options[i].name);
			return buf;
		}
	snprintf(buf, 16, "-%c", ch);
	return buf;
}

static int
parse_options(int argc, char **argv, const char *accepts, int nargs, struct opts *o)
{
	char name[16];
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "f:o:k:j", long_options, NULL)) != -1) {
		if (ch == '?' || strchr(accepts, ch) == NULL) {
			if (ch != '?')
				complain("%s: %s is not one of its options", argv[0],
				         option_name(ch, name));
			return -1;
		}
		if (take_option(o, ch, optarg) < 0)
			return -1;
	}
	if (argc - optind != nargs) {
		complain("%s: %s", argv[0], nargs ? "name one document" : "takes no document");
		return -1;
	}
	o->file = nargs ? argv[optind] : NULL;
	return 0;
}

/* ---- keys ---- */

/* An authority's secret key from its key file (a base64 seed); secret is SECRET_LEN bytes. A
 * key file others may read is used, with a warning: the operator may be signing on a
 * machine of its own, but should know. */
static int
load_authority_key(const char *path, uint8_t *secret, uint8_t pub[CRED_KEY_LEN])
{
	char text[KEY_FILE_MAX];
	uint8_t *seed = key_secret_new();
	struct stat st;
	size_t len;
	int r = -1;

	if (seed == NULL) {
		complain("%s: out of memory", path);
		return -1;
	}
	if (read_file(path, text, sizeof(text), &len, &st) < 0)
		goto out;
	if (st.st_mode & 077)
		complain("warning: %s is accessible to group or others (mode %04o; chmod 600 it)",
		         path, (unsigned int)(st.st_mode & 07777));
	if (key_from_base64(seed, text, len) < 0)
		complain("%s: not an authority key (44 base64 characters, 32 bytes)", path);
	else if (cred_authority_from_seed(seed, pub, secret) < 0)
		complain("%s: cannot derive the authority's key pair", path);
	else
		r = 0;
out:
	sodium_memzero(text, sizeof(text));
	key_secret_free(seed);
	return r;
}

static int
output_key(const uint8_t key[CRED_KEY_LEN])
{
	char b64[KEY_BASE64_SIZE];

	key_to_base64(b64, key);
	if (printf("%s\n", b64) < 0 || fflush(stdout) != 0) {
		complain("stdout: %s", strerror(errno));
		return FEDERATION_ERROR;
	}
	return FEDERATION_OK;
}

/* An authority key is its Ed25519 seed: 32 random bytes, base64 like a WireGuard key. */
static int
cmd_genkey(const struct opts *o)
{
	uint8_t *seed;
	int r;

	(void)o;
	if ((seed = key_secret_new()) == NULL) {
		complain("out of memory");
		return FEDERATION_ERROR;
	}
	randombytes_buf(seed, CRED_KEY_LEN);
	r = output_key(seed);
	key_secret_free(seed);
	return r;
}

static int
cmd_pubkey(const struct opts *o)
{
	uint8_t *seed = NULL, *secret = NULL, pub[CRED_KEY_LEN];
	char text[KEY_FILE_MAX];
	int r = FEDERATION_ERROR;
	size_t n;

	(void)o;
	n = fread(text, 1, sizeof(text), stdin);
	seed = key_secret_new();
	secret = sodium_malloc(SECRET_LEN);
	if (seed == NULL || secret == NULL)
		complain("out of memory");
	else if (ferror(stdin) || n == sizeof(text) || key_from_base64(seed, text, n) < 0 ||
	         cred_authority_from_seed(seed, pub, secret) < 0)
		complain("stdin is not an authority key (44 base64 characters, 32 bytes)");
	else
		r = output_key(pub);
	sodium_memzero(text, sizeof(text));
	key_secret_free(seed);
	sodium_free(secret);
	return r;
}

/* ---- request ---- */

/* This site's credential as its config describes it, unsigned and without its dates. */
static int
request_from_conf(const struct conf *conf, struct cred *c)
{
	if (conf->nprefixes > WIRE_MAX_PREFIXES || conf->noverlay > WIRE_MAX_OVERLAY ||
	    conf->nsegments > WIRE_MAX_VNIS) {
		complain("%s: a credential holds at most %d prefixes, %d overlay addresses and %d "
		         "segments",
		         conf->file, WIRE_MAX_PREFIXES, WIRE_MAX_OVERLAY, WIRE_MAX_VNIS);
		return -1;
	}
	memset(c, 0, sizeof(*c));
	snprintf(c->federation, sizeof(c->federation), "%s", conf->federation.name);
	snprintf(c->site, sizeof(c->site), "%s", conf->site_name);
	memcpy(c->wg_key, conf->wg.public_key, CRED_KEY_LEN);
	for (size_t i = 0; i < conf->nprefixes; i++)
		c->prefixes[c->nprefixes++] = conf->prefixes[i];
	/* The overlay addresses are host prefixes already: exactly what the site may use. */
	for (size_t i = 0; i < conf->noverlay; i++)
		c->overlay[c->noverlay++] = conf->overlay[i];
	for (size_t i = 0; i < conf->nsegments; i++)
		c->vnis[c->nvnis++] = conf->segments[i].vni;
	if (conf->federation.provider != NULL)
		snprintf(c->provider, sizeof(c->provider), "%s", conf->federation.provider);
	memcpy(c->jurisdiction, conf->federation.jurisdiction, sizeof(c->jurisdiction));
	for (size_t i = 0; i < conf->federation.nlabels; i++)
		c->labels[c->nlabels++] = conf->federation.labels[i];
	return cred_normalize(c);
}

static int
cmd_request(const struct opts *o)
{
	struct conf *conf = load_federation_conf(o->conf ? o->conf : CONF_DEFAULT_FILE);
	struct doc d = {.kind = CRED_KIND_SITE};
	int64_t now = (int64_t)time(NULL);
	uint64_t days = DEFAULT_DAYS, serial = (uint64_t)now;
	int r = FEDERATION_ERROR;

	if (conf == NULL)
		return FEDERATION_ERROR;
	if ((o->days != NULL && parse_u64("--days", o->days, 1, MAX_DAYS, &days) < 0) ||
	    (o->serial != NULL && parse_u64("--serial", o->serial, 1, UINT64_MAX, &serial) < 0) ||
	    request_from_conf(conf, &d.u.site) < 0)
		goto out;
	d.u.site.serial = serial;
	d.u.site.not_before = now;
	d.u.site.not_after = now + (int64_t)days * DAY;
	if (doc_save(&d, o->out, 0644) == 0)
		r = FEDERATION_OK;
out:
	conf_free(conf);
	return r;
}

/* ---- sign ---- */

static bool
signed_by(const struct doc *d, const uint8_t pub[CRED_KEY_LEN])
{
	unsigned n;
	const struct cred_sig *sigs = doc_sigs(d, &n);

	for (unsigned i = 0; i < n; i++)
		if (memcmp(sigs[i].authority, pub, CRED_KEY_LEN) == 0)
			return true;
	return false;
}

static int
doc_sign(struct doc *d, const uint8_t *secret)
{
	switch (d->kind) {
	case CRED_KIND_SITE:
		return cred_sign(&d->u.site, secret);
	case CRED_KIND_REVOCATION:
		return cred_revocation_sign(&d->u.rev, secret);
	case CRED_KIND_AUTHORITIES:
		return cred_authorities_sign(&d->u.auth, secret);
	}
	return -1;
}

static int
cmd_sign(const struct opts *o)
{
	uint8_t *secret = sodium_malloc(SECRET_LEN), pub[CRED_KEY_LEN];
	const char *out = o->out ? o->out : o->file;
	char b64[KEY_BASE64_SIZE];
	int r = FEDERATION_ERROR;
	struct stat st;
	unsigned n;
	bool again;
	struct doc d;

	if (secret == NULL) {
		complain("out of memory");
		return FEDERATION_ERROR;
	}
	if (o->key_file == NULL) {
		complain("sign: name the authority's key file with -k");
		goto out;
	}
	if (load_authority_key(o->key_file, secret, pub) < 0 || doc_load(o->file, &d, &st) < 0)
		goto out;
	again = signed_by(&d, pub);
	if (doc_sign(&d, secret) < 0) {
		complain("%s: cannot sign the %s: it has %d signatures already, or does not encode",
		         o->file, kind_name(d.kind), CRED_MAX_SIGS);
		goto out;
	}
	/* A rewritten file keeps its mode; a new one is public, as documents are. */
	if (doc_save(&d, out, o->out ? 0644 : st.st_mode & 07777) < 0)
		goto out;
	doc_sigs(&d, &n);
	key_to_base64(b64, pub);
	printf("%s: %s signed by %s%s; %u signature%s\n", out, kind_name(d.kind), b64,
	       again ? " (its earlier signature replaced)" : "", n, n == 1 ? "" : "s");
	r = fflush(stdout) == 0 ? FEDERATION_OK : FEDERATION_ERROR;
out:
	sodium_free(secret);
	return r;
}

/* ---- show ---- */

/* "40 seconds", "12 minutes", "5 hours", "300 days": the largest unit of which there are at
 * least two, rounded to the nearest (a credential made for 30 days expires in 30 days, not
 * in 29 days and 23 hours). */
static const char *
span_text(int64_t secs, char buf[32])
{
	static const struct {
		uint64_t len;
		const char *name;
	} units[] = {{DAY, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
	uint64_t s = secs < 0 ? 0 - (uint64_t)secs : (uint64_t)secs, n;
	size_t i = 0;

	while (i + 1 < sizeof(units) / sizeof(units[0]) && s < 2 * units[i].len)
		i++;
	n = (s + units[i].len / 2) / units[i].len;
	snprintf(buf, 32, "%" PRIu64 " %s%s", n, units[i].name, n == 1 ? "" : "s");
	return buf;
}

/* A time for people: "2026-12-03T22:00:00Z (expires in 300 days)". */
static void
print_time(const char *label, int64_t t, int64_t now, const char *future, const char *past)
{
	char utc[CRED_TIME_STRLEN], span[32];

	printf("  %-13s %s (", label, cred_format_time(t, utc));
	printf(t > now ? future : past, span_text(t - now, span));
	printf(")\n");
}

/* A key a line, the label on the first line of a list only. */
static void
print_key(const char *label, const uint8_t key[CRED_KEY_LEN])
{
	char b64[KEY_BASE64_SIZE];

	key_to_base64(b64, key);
	printf("  %-13s %s\n", label, b64);
}

static void
print_signers(const struct doc *d)
{
	unsigned n;
	const struct cred_sig *sigs = doc_sigs(d, &n);

	for (unsigned i = 0; i < n; i++)
		print_key(i ? "" : "signed by:", sigs[i].authority);
	if (n == 0)
		printf("  %-13s nobody yet\n", "signed by:");
}

static void
print_prefixes(const char *label, const struct addr_prefix *p, size_t n)
{
	char buf[ADDR_PREFIX_STRLEN];

	printf("  %-13s", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : " ", addr_prefix_format(&p[i], buf));
	printf(n ? "\n" : " none\n");
}

static void
show_site(const struct cred *c, int64_t now)
{
	printf("credential\n  %-13s %s\n  %-13s %s\n", "federation:", c->federation,
	       "site:", c->site);
	print_key("key:", c->wg_key);
	printf("  %-13s %" PRIu64 "\n", "serial:", c->serial);
	print_time("not before:", c->not_before, now, "valid in %s", "%s ago");
	print_time("not after:", c->not_after, now, "expires in %s", "expired %s ago");
	print_prefixes("prefixes:", c->prefixes, c->nprefixes);
	print_prefixes("overlay:", c->overlay, c->noverlay);
	printf("  %-13s", "vnis:");
	for (size_t i = 0; i < c->nvnis; i++)
		printf("%s%u", i ? ", " : " ", c->vnis[i]);
	printf(c->nvnis ? "\n" : " none\n");
	printf("  %-13s %s\n", "provider:", c->provider[0] ? c->provider : "not stated");
	printf("  %-13s %s\n",
	       "jurisdiction:", c->jurisdiction[0] ? c->jurisdiction : "not stated");
	printf("  %-13s", "labels:");
	for (size_t i = 0; i < c->nlabels; i++)
		printf("%s%s=%s", i ? ", " : " ", c->labels[i].key, c->labels[i].value);
	printf(c->nlabels ? "\n" : " none\n");
}

static void
show_revocation(const struct cred_revocation *r, int64_t now)
{
	printf("revocation\n  %-13s %s\n", "federation:", r->federation);
	if (r->kind == CRED_REVOKE_SERIAL) {
		printf("  %-13s the credentials of site %s with serial %" PRIu64 " or lower\n",
		       "revokes:", r->site, r->serial);
	} else {
		printf("  %-13s every credential of the key\n", "revokes:");
		print_key("key:", r->key);
	}
	print_time("issued:", r->issued, now, "in %s", "%s ago");
	printf("  %-13s %s\n", "reason:", r->reason[0] ? r->reason : "not given");
	printf("  %-13s %016" PRIx64 "\n", "id:", cred_revocation_id(r));
}

static void
show_authorities(const struct cred_authorities *a)
{
	printf("authority update\n  %-13s %s\n  %-13s %" PRIu64 "\n  %-13s %u of %u\n",
	       "federation:", a->federation, "version:", a->version, "threshold:", a->threshold,
	       a->nkeys);
	for (size_t i = 0; i < a->nkeys; i++)
		print_key(i ? "" : "authorities:", a->keys[i]);
}

static int
show_text(const struct doc *d)
{
	int64_t now = (int64_t)time(NULL);

	if (d->kind == CRED_KIND_SITE)
		show_site(&d->u.site, now);
	else if (d->kind == CRED_KIND_REVOCATION)
		show_revocation(&d->u.rev, now);
	else
		show_authorities(&d->u.auth);
	print_signers(d);
	if (fflush(stdout) != 0) {
		complain("stdout: %s", strerror(errno));
		return FEDERATION_ERROR;
	}
	return FEDERATION_OK;
}

/* ---- show -j ---- */

static json_t *
json_key(const uint8_t key[CRED_KEY_LEN])
{
	char b64[KEY_BASE64_SIZE];

	key_to_base64(b64, key);
	return json_string(b64);
}

static json_t *
json_prefixes(const struct addr_prefix *p, size_t n)
{
	json_t *arr = json_array();
	char buf[ADDR_PREFIX_STRLEN];

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(addr_prefix_format(&p[i], buf)));
	return arr;
}

/* An empty attribute is JSON null, as in the status socket's config. */
static json_t *
json_text(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static void
json_site(json_t *o, const struct cred *c)
{
	json_t *vnis = json_array(), *labels = json_object();

	for (size_t i = 0; i < c->nvnis; i++)
		json_array_append_new(vnis, json_integer(c->vnis[i]));
	for (size_t i = 0; i < c->nlabels; i++)
		json_object_set_new(labels, c->labels[i].key, json_string(c->labels[i].value));
	json_object_set_new(o, "kind", json_string("credential"));
	json_object_set_new(o, "federation", json_string(c->federation));
	json_object_set_new(o, "site", json_string(c->site));
	json_object_set_new(o, "wg_key", json_key(c->wg_key));
	json_object_set_new(o, "serial", json_integer((json_int_t)c->serial));
	json_object_set_new(o, "not_before", json_integer(c->not_before));
	json_object_set_new(o, "not_after", json_integer(c->not_after));
	json_object_set_new(o, "prefixes", json_prefixes(c->prefixes, c->nprefixes));
	json_object_set_new(o, "overlay", json_prefixes(c->overlay, c->noverlay));
	json_object_set_new(o, "vnis", vnis);
	json_object_set_new(o, "provider", json_text(c->provider));
	json_object_set_new(o, "jurisdiction", json_text(c->jurisdiction));
	json_object_set_new(o, "labels", labels);
}

/* Every key is present whatever the revocation's kind, null where it does not apply. */
static void
json_revocation(json_t *o, const struct cred_revocation *r)
{
	bool serial = r->kind == CRED_REVOKE_SERIAL;
	char id[17];

	snprintf(id, sizeof(id), "%016" PRIx64, cred_revocation_id(r));
	json_object_set_new(o, "kind", json_string("revocation"));
	json_object_set_new(o, "federation", json_string(r->federation));
	json_object_set_new(o, "revokes", json_string(serial ? "serial" : "key"));
	json_object_set_new(o, "site", serial ? json_string(r->site) : json_null());
	json_object_set_new(o, "serial",
	                    serial ? json_integer((json_int_t)r->serial) : json_null());
	json_object_set_new(o, "key", serial ? json_null() : json_key(r->key));
	json_object_set_new(o, "issued", json_integer(r->issued));
	json_object_set_new(o, "reason", json_string(r->reason));
	json_object_set_new(o, "id", json_string(id));
}

static void
json_authorities(json_t *o, const struct cred_authorities *a)
{
	json_t *keys = json_array();

	for (size_t i = 0; i < a->nkeys; i++)
		json_array_append_new(keys, json_key(a->keys[i]));
	json_object_set_new(o, "kind", json_string("authorities"));
	json_object_set_new(o, "federation", json_string(a->federation));
	json_object_set_new(o, "version", json_integer((json_int_t)a->version));
	json_object_set_new(o, "threshold", json_integer(a->threshold));
	json_object_set_new(o, "keys", keys);
}

/* One object per line, as netdctl -j prints the daemon's replies. */
static int
print_json(json_t *o)
{
	int r = o != NULL && json_dumpf(o, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF &&
	                        fflush(stdout) == 0
	                ? FEDERATION_OK
	                : FEDERATION_ERROR;

	if (r != FEDERATION_OK)
		complain("stdout: cannot write the JSON");
	json_decref(o);
	return r;
}

static int
show_json(const struct doc *d)
{
	json_t *o = json_object(), *signers = json_array();
	unsigned n;
	const struct cred_sig *sigs = doc_sigs(d, &n);

	if (d->kind == CRED_KIND_SITE)
		json_site(o, &d->u.site);
	else if (d->kind == CRED_KIND_REVOCATION)
		json_revocation(o, &d->u.rev);
	else
		json_authorities(o, &d->u.auth);
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(signers, json_key(sigs[i].authority));
	json_object_set_new(o, "signers", signers);
	return print_json(o);
}

static int
cmd_show(const struct opts *o)
{
	struct doc d;

	if (doc_load(o->file, &d, NULL) < 0)
		return FEDERATION_ERROR;
	return o->json ? show_json(&d) : show_text(&d);
}

/* ---- verify ---- */

static int
cmd_verify(const struct opts *o)
{
	struct conf *conf = load_federation_conf(o->conf ? o->conf : CONF_DEFAULT_FILE);
	uint64_t at = (uint64_t)time(NULL);
	struct cred_verdict v = {0};
	struct cred_authorities set;
	struct doc d;
	int r = FEDERATION_ERROR;

	if (conf == NULL)
		return FEDERATION_ERROR;
	if ((o->at != NULL && parse_u64("--at", o->at, 0, INT64_MAX, &at) < 0) ||
	    doc_load(o->file, &d, NULL) < 0)
		goto out;
	conf_federation_set(conf, &set);
	if (d.kind == CRED_KIND_SITE)
		cred_verify(&d.u.site, &set, (int64_t)at, &v);
	else if (d.kind == CRED_KIND_REVOCATION)
		cred_revocation_verify(&d.u.rev, &set, &v);
	else
		cred_authorities_verify(&d.u.auth, &set, &v);
	if (o->json) {
		json_t *j = json_object();

		json_object_set_new(j, "valid", json_boolean(v.status == CRED_OK));
		json_object_set_new(j, "status", json_string(cred_status_name(v.status)));
		json_object_set_new(j, "signers", json_integer(v.signers));
		json_object_set_new(j, "needed", json_integer(v.needed));
		json_object_set_new(j, "unknown", json_integer(v.unknown));
		json_object_set_new(j, "why", json_string(v.why));
		r = print_json(j);
	} else if (v.status == CRED_OK) {
		r = printf("valid\n") < 0 || fflush(stdout) != 0 ? FEDERATION_ERROR : FEDERATION_OK;
	} else {
		r = printf("%s: %s\n", cred_status_name(v.status), v.why) < 0 || fflush(stdout) != 0
		            ? FEDERATION_ERROR
		            : FEDERATION_OK;
	}
	if (r == FEDERATION_OK && v.status != CRED_OK)
		r = FEDERATION_INVALID;
out:
	conf_free(conf);
	return r;
}

/* ---- revoke ---- */

static int
revocation_target(const struct opts *o, struct cred_revocation *r)
{
	if ((o->wg_key != NULL) == (o->site != NULL || o->serial != NULL)) {
		complain("revoke: name either --site and --serial, or --key");
		return -1;
	}
	if (o->wg_key != NULL) {
		r->kind = CRED_REVOKE_KEY;
		return parse_key("--key", o->wg_key, r->key);
	}
	if (o->site == NULL || o->serial == NULL) {
		complain("revoke: --site and --serial go together");
		return -1;
	}
	if (!wire_name_valid(o->site)) {
		complain("--site: \"%s\" is not a site name (1..32 of a-z, 0-9 and '-', not "
		         "starting with '-')",
		         o->site);
		return -1;
	}
	r->kind = CRED_REVOKE_SERIAL;
	snprintf(r->site, sizeof(r->site), "%s", o->site);
	return parse_u64("--serial", o->serial, 0, UINT64_MAX, &r->serial);
}

/* Free text a document can carry: printable ASCII without the quote and the backslash. */
static bool
reason_valid(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return n <= CRED_VALUE_MAX;
}

static int
cmd_revoke(const struct opts *o)
{
	struct conf *conf = load_federation_conf(o->conf ? o->conf : CONF_DEFAULT_FILE);
	struct doc d = {.kind = CRED_KIND_REVOCATION};
	const char *reason = o->reason ? o->reason : "";
	int r = FEDERATION_ERROR;

	if (conf == NULL)
		return FEDERATION_ERROR;
	if (revocation_target(o, &d.u.rev) < 0)
		goto out;
	if (!reason_valid(reason)) {
		complain("--reason: at most %d printable ASCII characters other than '\"' and '\\'",
		         CRED_VALUE_MAX);
		goto out;
	}
	snprintf(d.u.rev.federation, sizeof(d.u.rev.federation), "%s", conf->federation.name);
	snprintf(d.u.rev.reason, sizeof(d.u.rev.reason), "%s", reason);
	d.u.rev.issued = (int64_t)time(NULL);
	if (doc_save(&d, o->out, 0644) == 0)
		r = FEDERATION_OK;
out:
	conf_free(conf);
	return r;
}

/* ---- authorities ---- */

static int
authority_cmp(const void *a, const void *b)
{
	return memcmp(a, b, CRED_KEY_LEN);
}

static int
find_authority(const struct cred_authorities *a, const uint8_t key[CRED_KEY_LEN])
{
	for (int i = 0; i < a->nkeys; i++)
		if (memcmp(a->keys[i], key, CRED_KEY_LEN) == 0)
			return i;
	return -1;
}

/* The config's set with the removals and additions applied. */
static int
change_authorities(const struct opts *o, struct cred_authorities *a)
{
	uint8_t key[CRED_KEY_LEN];
	int i;

	for (size_t k = 0; k < o->nremove; k++) {
		if (parse_key("--remove", o->remove[k], key) < 0)
			return -1;
		if ((i = find_authority(a, key)) < 0) {
			complain("--remove: %s is not an authority of federation %s", o->remove[k],
			         a->federation);
			return -1;
		}
		memmove(a->keys[i], a->keys[i + 1], (size_t)(a->nkeys - i - 1) * CRED_KEY_LEN);
		a->nkeys--;
	}
	for (size_t k = 0; k < o->nadd; k++) {
		if (parse_key("--add", o->add[k], key) < 0)
			return -1;
		if (find_authority(a, key) >= 0) {
			complain("--add: %s is already an authority of federation %s", o->add[k],
			         a->federation);
			return -1;
		}
		if (a->nkeys == CRED_MAX_AUTHORITIES) {
			complain("--add: a federation has at most %d authorities",
			         CRED_MAX_AUTHORITIES);
			return -1;
		}
		memcpy(a->keys[a->nkeys++], key, CRED_KEY_LEN);
	}
	qsort(a->keys, a->nkeys, CRED_KEY_LEN, authority_cmp);
	return 0;
}

static int
cmd_authorities(const struct opts *o)
{
	struct conf *conf = load_federation_conf(o->conf ? o->conf : CONF_DEFAULT_FILE);
	struct doc d = {.kind = CRED_KIND_AUTHORITIES};
	struct cred_authorities *a = &d.u.auth;
	int r = FEDERATION_ERROR;
	uint64_t n;

	if (conf == NULL)
		return FEDERATION_ERROR;
	if (o->version == NULL) {
		complain("authorities: give the update's --version (above the last update's; the "
		         "config's set is version 0)");
		goto out;
	}
	conf_federation_set(conf, a);
	if (parse_u64("--version", o->version, 1, UINT64_MAX, &a->version) < 0 ||
	    change_authorities(o, a) < 0)
		goto out;
	if (a->nkeys == 0) {
		complain("authorities: the update leaves no authority");
		goto out;
	}
	if (o->threshold != NULL) {
		if (parse_u64("--threshold", o->threshold, 1, a->nkeys, &n) < 0)
			goto out;
		a->threshold = (uint8_t)n;
	} else if (a->threshold > a->nkeys) {
		complain("authorities: %u authorities are left and the threshold is %u: give "
		         "--threshold",
		         a->nkeys, a->threshold);
		goto out;
	}
	if (doc_save(&d, o->out, 0644) == 0)
		r = FEDERATION_OK;
out:
	conf_free(conf);
	return r;
}

/* ---- dispatch ---- */

static const struct command {
	const char *name;
	const char *accepts; /* the codes of its options */
	int nargs;           /* documents named */
	const char *usage;
	int (*run)(const struct opts *o);
} commands[] = {
        {"genkey", "", 0, "genkey", cmd_genkey},
        {"pubkey", "", 0, "pubkey < AUTHORITY-KEY", cmd_pubkey},
        {"request", "fdso", 0, "request [-f CONF] [--days N] [--serial N] [-o FILE]", cmd_request},
        {"sign", "ko", 1, "sign -k AUTHORITY-KEY FILE [-o OUT]", cmd_sign},
        {"show", "j", 1, "show [-j] FILE", cmd_show},
        {"verify", "fja", 1, "verify [-f CONF] [-j] [--at UNIX-TIME] FILE", cmd_verify},
        {"revoke", "SsKrfo", 0,
         "revoke (--site NAME --serial N | --key WG-KEY) [--reason TEXT] [-f CONF] [-o FILE]",
         cmd_revoke},
        {"authorities", "ARtvfo", 0,
         "authorities [-f CONF] (--add KEY | --remove KEY)... [--threshold K] --version N "
         "[-o FILE]",
         cmd_authorities},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void
federation_usage(FILE *out)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "       netd federation %s\n", commands[i].usage);
}

int
federation_main(int argc, char **argv)
{
	struct opts o;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)) {
		fputs("usage:\n", stdout);
		federation_usage(stdout);
		return FEDERATION_OK;
	}
	for (size_t i = 0; argc >= 2 && i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (parse_options(argc - 1, argv + 1, commands[i].accepts, commands[i].nargs, &o) <
		    0) {
			fprintf(stderr, "usage: netd federation %s\n", commands[i].usage);
			return FEDERATION_ERROR;
		}
		return commands[i].run(&o);
	}
	if (argc >= 2)
		complain("\"%s\" is not a subcommand", argv[1]);
	fputs("usage:\n", stderr);
	federation_usage(stderr);
	return FEDERATION_ERROR;
}
