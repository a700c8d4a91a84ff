/* The state file: a magic, the incarnation and its entries, each a gossip payload of one
 * message -- AUTHORITIES for the authority update in force, CRED for a credential, REVOKE for
 * a revocation, ALIVE for a member's descriptor -- so the wire codec's bounds checks guard it too.
 * Its lock file keeps a second netd off it. */
#include "netd/state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/file.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netd/pace.h"

/* Version 1 also held a restart epoch (4 bytes after the magic), read and ignored so that an
 * upgrade keeps the view. */
static const uint8_t state_magic[8] = {'n', 'e', 't', 'd', 's', 't', 0, 4};
#define STATE_MAGIC_V1 1
#define STATE_HEADER   (sizeof(state_magic) + 8)

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Where the encoded file goes: counted only (buf NULL, fd < 0), into buf, which holds the
 * whole file (state_encode), or to fd through chunk (state_save: a buffer of the file's size
 * cost a save of 10,000 sites 5 MB). */
struct sink {
	uint8_t *buf;
	int fd;
	uint8_t *chunk; /* STATE_CHUNK bytes */
	size_t fill;    /* in chunk, not yet written */
	size_t off;     /* bytes put so far */
};

#define STATE_CHUNK (64u << 10)

static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0, or -errno of a failed write. */
static int
sink_flush(struct sink *s)
{
	if (s->fd < 0 || s->fill == 0)
		return 0;
	if (write_all(s->fd, s->chunk, s->fill) < 0)
		return -errno;
	s->fill = 0;
	return 0;
}

static int
sink_put(struct sink *s, const uint8_t *bytes, size_t len)
{
	int rc;

	if (s->buf != NULL) {
		memcpy(s->buf + s->off, bytes, len);
	} else if (s->fd >= 0) {
		if (s->fill + len > STATE_CHUNK && (rc = sink_flush(s)) < 0)
			return rc;
		memcpy(s->chunk + s->fill, bytes, len);
		s->fill += len;
	}
	s->off += len;
	return 0;
}

/* One entry: its length, then a payload holding m alone. */
static int
put_entry(struct sink *s, const struct wire_msg *m)
{
	uint8_t frame[2 + WIRE_DATAGRAM_MAX];
	struct wire_writer w;

	if (wire_begin(&w, frame + 2, WIRE_DATAGRAM_MAX) != 0 || wire_put_msg(&w, m) != 0)
		return -E2BIG;
	frame[0] = (uint8_t)(w.len >> 8);
	frame[1] = (uint8_t)w.len;
	return sink_put(s, frame, 2 + w.len);
}

static int
put_blob(struct sink *s, struct wire_msg *m, uint8_t type, const uint8_t *bytes, uint16_t len)
{
	m->type = type;
	m->blob_len = len;
	memcpy(m->blob, bytes, len);
	return put_entry(s, m);
}

static int
put_blobs(struct sink *s, struct wire_msg *m, uint8_t type, const struct state_blob *blobs,
          size_t n)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = put_blob(s, m, type, blobs[i].bytes, blobs[i].len);
	return rc;
}

/* The entries after the header. */
static int
put_entries(struct sink *s, struct wire_msg *m, const struct state *st)
{
	/* The federation first: a reader takes it before the members. */
	int rc = st->authorities.len > 0 ? put_blob(s, m, WIRE_AUTHORITIES, st->authorities.bytes,
	                                            st->authorities.len)
	                                 : 0;

	if (rc == 0)
		rc = put_blobs(s, m, WIRE_CRED, st->creds, st->ncreds);
	for (size_t i = 0; rc == 0 && i < st->ncred_refs; i++) {
		int len = gossip_cred_encode(st->cred_refs[i], m->blob, sizeof(m->blob));

		m->type = WIRE_CRED;
		m->blob_len = (uint16_t)len;
		rc = len < 0 ? -E2BIG : put_entry(s, m);
	}
	if (rc == 0)
		rc = put_blobs(s, m, WIRE_REVOKE, st->revocations, st->nrevocations);
	for (size_t i = 0; rc == 0 && i < st->nmembers; i++) {
		m->type = WIRE_ALIVE;
		wire_cdesc_unpack(&st->members[i]->d, &m->desc);
		rc = put_entry(s, m);
	}
	return rc;
}

/* The header, then the entries. */
static int
put_file(struct sink *s, const struct state *st)
{
	size_t ncreds = st->ncreds + st->ncred_refs,
	       total = st->nmembers + ncreds + st->nrevocations + (st->authorities.len > 0);
	uint8_t header[STATE_HEADER];
	struct wire_msg *m;
	int rc;

	if (st->nmembers > STATE_MAX_MEMBERS || ncreds > STATE_MAX_MEMBERS ||
	    st->nrevocations > STATE_MAX_MEMBERS)
		return -E2BIG;
	memcpy(header, state_magic, sizeof(state_magic));
	put32(header + 8, st->incarnation);
	put32(header + 12, (uint32_t)total);
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	rc = sink_put(s, header, sizeof(header));
	if (rc == 0)
		rc = put_entries(s, m, st);
	free(m);
	return rc;
}

/* Encoded twice, counting first: the buffer is the file's size, where room for the longest
 * entry each cost a netd of 10,000 sites 24 MB more. */
int
state_encode(const struct state *st, uint8_t **out, size_t *len)
{
	struct sink count = {.fd = -1}, put = {.fd = -1};
	int rc = put_file(&count, st);

	if (rc < 0)
		return rc;
	put.buf = malloc(count.off);
	if (put.buf == NULL)
		return -ENOMEM;
	rc = put_file(&put, st);
	if (rc < 0) {
		free(put.buf);
		return rc;
	}
	*out = put.buf;
	*len = put.off;
	return 0;
}

/* Version 1 also held a restart epoch; version 2 and 3 files hold descriptors of an older
 * wire version (before the federation, before NAT flags and relays) and are refused like any
 * other file. */
static int
header_skip(const uint8_t *buf, size_t len, size_t *skip)
{
	*skip = 0;
	if (len < sizeof(state_magic) || memcmp(buf, state_magic, sizeof(state_magic) - 1) != 0)
		return -1;
	switch (buf[sizeof(state_magic) - 1]) {
	case STATE_MAGIC_V1:
		*skip = 4;
		return 0;
	case 4:
		return 0;
	}
	return -1;
}

/* How many entries of each kind (descriptors, credentials, revocations) the first count
 * framed entries claim to be, by their message type alone: the arrays are sized from it and
 * the decoding proper checks everything. */
static void
count_kinds(const uint8_t *buf, size_t len, uint32_t count, size_t kinds[3])
{
	size_t off = 0;

	kinds[0] = kinds[1] = kinds[2] = 0;
	for (uint32_t i = 0; i < count && len - off >= 4; i++) {
		size_t n = (size_t)buf[off] << 8 | buf[off + 1];

		if (n < 2 || n > len - off - 2)
			return;
		switch (buf[off + 3]) {
		case WIRE_ALIVE:
			kinds[0]++;
			break;
		case WIRE_CRED:
			kinds[1]++;
			break;
		case WIRE_REVOKE:
			kinds[2]++;
			break;
		}
		off += 2 + n;
	}
}

/* Where an entry of type goes in a file: the authority update, the credentials, the
 * revocations, then the members, as state_encode writes them, so that every file that
 * decodes encodes back to itself. */
static int
entry_rank(uint8_t type)
{
	switch (type) {
	case WIRE_AUTHORITIES:
		return 0;
	case WIRE_CRED:
		return 1;
	case WIRE_REVOKE:
		return 2;
	case WIRE_ALIVE:
		return 3;
	}
	return -1;
}

/* The entry in m into s; a credential's or revocation's bytes go to s->blob_store at *stored,
 * which has room for every blob of the file. */
static int
take_entry(struct state *s, const struct wire_msg *m, const size_t kinds[3], int *rank,
           size_t *stored)
{
	struct state_blob *b;

	if (entry_rank(m->type) < *rank)
		return -1;
	*rank = entry_rank(m->type);
	switch (m->type) {
	case WIRE_ALIVE:
		if (s->nmembers == kinds[0])
			return -1;
		s->members[s->nmembers] = gossip_desc_new(&m->desc);
		if (s->members[s->nmembers] == NULL)
			return -ENOMEM;
		s->nmembers++;
		return 0;
	case WIRE_CRED:
		if (s->ncreds == kinds[1])
			return -1;
		b = &s->creds[s->ncreds++];
		break;
	case WIRE_REVOKE:
		if (s->nrevocations == kinds[2])
			return -1;
		b = &s->revocations[s->nrevocations++];
		break;
	case WIRE_AUTHORITIES:
		if (s->authorities.len > 0)
			return -1;
		s->authorities.len = m->blob_len;
		memcpy(s->authorities.bytes, m->blob, m->blob_len);
		return 0;
	default:
		return -1;
	}
	memcpy(s->blob_store + *stored, m->blob, m->blob_len);
	b->bytes = s->blob_store + *stored;
	b->len = m->blob_len;
	*stored += m->blob_len;
	return 0;
}

int
state_decode(const uint8_t *buf, size_t len, struct state *st, char *err, size_t errlen)
{
	struct state s = {0};
	struct wire_msg *m;
	size_t off = STATE_HEADER, skip, kinds[3], stored = 0;
	uint32_t count;
	int rank = 0;

	if (header_skip(buf, len, &skip) != 0)
		return fail(err, errlen, "not a netd state file");
	off += skip;
	if (len < off)
		return fail(err, errlen, "not a netd state file");
	count = get32(buf + 12 + skip);
	if (count > 3 * STATE_MAX_MEMBERS || count > (len - off) / 3)
		return fail(err, errlen, "entry count %u does not fit the file", count);
	count_kinds(buf + off, len - off, count, kinds);
	m = malloc(sizeof(*m));
	s.members = calloc(kinds[0] + 1, sizeof(*s.members));
	s.creds = calloc(kinds[1] + 1, sizeof(*s.creds));
	s.revocations = calloc(kinds[2] + 1, sizeof(*s.revocations));
	/* Every blob's bytes came in the file. */
	s.blob_store = malloc(len);
	if (m == NULL || s.members == NULL || s.creds == NULL || s.revocations == NULL ||
	    s.blob_store == NULL) {
		free(m);
		state_clear(&s);
		return fail(err, errlen, "out of memory");
	}
	s.incarnation = get32(buf + 8 + skip);
	for (uint32_t i = 0; i < count; i++) {
		struct wire_reader r;
		size_t n;
		int rc;

		if (len - off < 2)
			goto truncated;
		n = (size_t)buf[off] << 8 | buf[off + 1];
		off += 2;
		if (n > len - off)
			goto truncated;
		rc = wire_reader_init(&r, buf + off, n) < 0 || wire_next(&r, m) != 1 ||
		                     r.off != r.len
		             ? -1
		             : take_entry(&s, m, kinds, &rank, &stored);
		if (rc == -ENOMEM) {
			fail(err, errlen, "out of memory");
			goto bad;
		}
		if (rc != 0) {
			fail(err, errlen,
			     "entry %u is not one descriptor, credential or revocation", i + 1);
			goto bad;
		}
		off += n;
	}
	if (off != len) {
		fail(err, errlen, "%zu bytes of trailing garbage", len - off);
		goto bad;
	}
	free(m);
	*st = s;
	return 0;
truncated:
	fail(err, errlen, "truncated");
bad:
	free(m);
	state_clear(&s);
	return -1;
}

void
state_clear(struct state *st)
{
	for (size_t i = 0; i < st->nmembers; i++)
		gossip_desc_unref(st->members[i]);
	free(st->members);
	for (size_t i = 0; i < st->ncred_refs; i++)
		gossip_cred_unref(st->cred_refs[i]);
	free(st->cred_refs);
	free(st->creds);
	free(st->revocations);
	free(st->blob_store);
	*st = (struct state){0};
}

int
state_load(const char *path, struct state *st, char *err, size_t errlen)
{
	struct stat sb;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT) {
			*st = (struct state){0};
			return 1;
		}
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > STATE_MAX_SIZE) {
		fail(err, errlen, "%s: not a regular file of at most %u bytes", path,
		     STATE_MAX_SIZE);
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		fail(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fail(err, errlen, "%s: %s", path, n < 0 ? strerror(errno) : "short read");
			goto out;
		}
		got += (size_t)n;
	}
	if (state_decode(buf, got, st, err, errlen) == 0) {
		rc = 0;
	} else {
		char why[128];

		snprintf(why, sizeof(why), "%s", err);
		fail(err, errlen, "%s: %s", path, why);
	}
out:
	free(buf);
	close(fd);
	return rc;
}

/* path's directory into dir, created (not its parents) with mode 0700 when missing; and
 * path + suffix into aux. */
static int
prepare(const char *path, const char *suffix, char dir[PATH_MAX], char aux[PATH_MAX], char *err,
        size_t errlen)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp) ||
	    snprintf(aux, PATH_MAX, "%s%s", path, suffix) >= PATH_MAX)
		return fail(err, errlen, "%s: path too long", path);
	snprintf(dir, PATH_MAX, "%s", dirname(tmp));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return fail(err, errlen, "%s: %s", dir, strerror(errno));
	return 0;
}

/* The rename is only durable once the directory is on disk too. */
static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int64_t
state_save_delay(int64_t cost)
{
	return pace_by_cost(cost, STATE_SAVE_DELAY, STATE_SAVE_COST_MULT, STATE_SAVE_LATEST);
}

int
state_save(const char *path, const struct state *st, char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	struct sink s = {.fd = -1};
	int fd = -1, rc;

	if (prepare(path, ".tmp", dir, tmp, err, errlen) < 0)
		return -1;
	s.chunk = malloc(STATE_CHUNK);
	if (s.chunk == NULL)
		return fail(err, errlen, "%s: %s", path, strerror(ENOMEM));
	rc = -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	s.fd = fd;
	if ((rc = put_file(&s, st)) < 0 || (rc = sink_flush(&s)) < 0) {
		fail(err, errlen, "%s: %s", tmp, strerror(-rc));
		rc = -1;
		goto out;
	}
	rc = -1;
	if (fsync(fd) < 0) {
		fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (sync_dir(dir) < 0) {
		fail(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(s.chunk);
	return rc;
}

int
state_lock(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], lock[PATH_MAX], pid[24];
	int fd, n;

	if (prepare(path, ".lock", dir, lock, err, errlen) < 0)
		return -1;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail(err, errlen, "%s: %s", lock, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		n = (int)pread(fd, pid, sizeof(pid) - 1, 0);
		close(fd);
		if (e != EWOULDBLOCK)
			return fail(err, errlen, "%s: %s", lock, strerror(e));
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		return fail(err, errlen, "%s is in use by another netd (%s%s, holding %s)", path,
		            pid[0] != '\0' ? "pid " : "pid unknown", pid, lock);
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		fail(err, errlen, "%s: %s", lock, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
