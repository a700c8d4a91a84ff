/* The gossip state a site keeps across restarts: its incarnation, the verified descriptors
 * of the members it last saw alive, the credentials that admit them and the revocations it
 * holds, so that a restarted netd starts from the view it had and
 * changes nothing in the kernel that was already right. Nothing in it protects a key or a
 * nonce: losing the file costs the view, and that is all. */
#ifndef NETD_STATE_H
#define NETD_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "netd/gossip.h"
#include "netd/wire.h"

#define STATE_MAX_MEMBERS 65536
#define STATE_MAX_SIZE    (64u << 20) /* a file larger than this is refused unread */

/* A federation document (cred.h), encoded: bytes lie in its state's blob_store. */
struct state_blob {
	uint16_t len;
	const uint8_t *bytes;
};

struct state {
	uint32_t incarnation;
	/* One reference each, shared with the gossip they came from (not copied: a save of
	 * 10,000 sites held a struct wire_desc for each). As stored: signatures are checked by
	 * the reader's user. */
	struct gossip_desc **members;
	size_t nmembers;
	/* The credentials of members admitted by one, and the revocations held: a restarted
	 * site admits no one a revocation it knew of covers, whatever it hears first. Checked by
	 * the reader's user too. A state read holds its credentials as blobs; one carried from
	 * a running gossip holds references to its credentials (one each), encoded only as the
	 * file is written: copies of 10,000 cost a save 3 MB. A file holds both kinds as one. */
	struct state_blob *creds;
	size_t ncreds;
	struct gossip_cred **cred_refs;
	size_t ncred_refs;
	struct state_blob *revocations;
	size_t nrevocations;
	/* The bytes of the credentials and revocations read, one after the other, owned by the
	 * state; sized for the worst case (about 1 KB each) but written only as far as the
	 * documents go, and pages never written are never resident. */
	uint8_t *blob_store;
	/* The authority update in force, if one replaced the config's set: len 0 when none. */
	struct {
		uint16_t len;
		uint8_t bytes[WIRE_BLOB_MAX];
	} authorities;
};

/* Encodes st into a new buffer (*out, *len; free() it), as state_save writes it. Returns 0 or
 * -ENOMEM, -E2BIG. */
int state_encode(const struct state *st, uint8_t **out, size_t *len);

/* Decodes len bytes at buf, which may be anything. Returns 0 and *st (state_clear it), or
 * -1 with the reason in err. */
int state_decode(const uint8_t *buf, size_t len, struct state *st, char *err, size_t errlen);

void state_clear(struct state *st);

/* Reads path: 0 and *st; 1 when there is no file (a first start; *st is zeroed); -1 with the
 * reason in err for an unreadable or corrupt file. */
int state_load(const char *path, struct state *st, char *err, size_t errlen);

/* Writes st to path atomically (a temporary file in the same directory, fsync, rename, fsync
 * of the directory), creating the directory itself (not its parents) with mode 0700. 0 or -1
 * with err. */
int state_save(const char *path, const struct state *st, char *err, size_t errlen);

/* Microseconds from a membership change to the save that keeps it, given what the last save
 * took (microseconds, wall time): a second, or STATE_SAVE_COST_MULT times the last save where
 * that is longer, at most STATE_SAVE_LATEST. A join of thousands of sites changes the view
 * many times a second for as long as it streams in, and a save of the whole view each second
 * took a growing share of the time the join needs; paced by its cost, saving takes at most
 * about a twentieth of the time, and a crash loses at most the changes of the last
 * STATE_SAVE_LATEST (the others hand them back on the next start). */
#define STATE_SAVE_DELAY     1000000
#define STATE_SAVE_COST_MULT 20
#define STATE_SAVE_LATEST    30000000
int64_t state_save_delay(int64_t cost);

/* Locks path for this process: an exclusive flock on path.lock (created in path's directory),
 * which also records the holder's pid. Two netd sharing one state file would each overwrite
 * the other's view. Returns the descriptor to keep open for as long as the lock is held, or -1
 * with err naming the file and, when it can be read, the holder's pid. */
int state_lock(const char *path, char *err, size_t errlen);

#endif
