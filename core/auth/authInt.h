/* authInt.h - the auth log, private to core: appending lines, the size cap
 * and rotation; and the owners of subordinate uids. */
#ifndef PATFS_AUTH_INT_H
#define PATFS_AUTH_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "patfs/auth.h"
#include "patfs/rules.h"
#include "patfs/token_attr.h"

struct cfg;
struct store;

struct auth_log {
	const struct cfg *cfg; /* path, log_max_bytes, log_keep */
	int fd;
	pthread_mutex_t lock; /* fd and rotation */
	bool failing;	      /* the last write failed (and was reported) */
};

/* Opens cfg's auth log for appending (created 0600, checked as the store
 * is). 0, or -errno with the reason in err. */
int auth_log_open(struct auth_log *l, const struct cfg *cfg, char *err,
		  size_t errlen);
void auth_log_close(struct auth_log *l);

/* Appends line (n bytes, ending in a newline) in one write(2). Before it,
 * when the file would grow past log_max_bytes, renames FILE.i to FILE.i+1
 * (dropping FILE.log_keep) and FILE to FILE.1, and starts a new FILE (with
 * log_keep 0 the file is emptied instead); a file another process rotated
 * is reopened. A failed write is reported once through pfs_log until a write
 * succeeds again, never once per line. */
void auth_log_write(struct auth_log *l, const char *line, size_t n);

/* The subordinate uid ranges of users (/etc/subuid: NAME:FIRST:COUNT). */
#define AUTH_SUBUID_MAX 1024
struct auth_subuid_range {
	uint32_t first, last, owner;
};
struct auth_subuid {
	int n;
	struct auth_subuid_range range[AUTH_SUBUID_MAX];
};

/* Reads the ranges of path (NULL or missing: none; lines that name no
 * known user are left out): 0. */
int auth_subuid_load(struct auth_subuid *s, const char *path);

/* Who uid is for the limits: the owner of the range it lies in, or
 * itself. */
uint32_t auth_subuid_owner(const struct auth_subuid *s, uint32_t uid);

/* A written check: the secret, and after it a line from=CLIENT or none.
 * Splits buf: 0 with *len the secret's and client (AUTH_CLIENT_MAX + 1
 * bytes) filled ("" for none), or -EINVAL with the reason. */
int auth_split_client(const char *buf, size_t *len, char *client);

/* Where passing checks came from, throttled per token and source
 * (auth_source.c). */
struct auth_sources;
struct token_info;
struct pfs_actor;
struct auth_sources *auth_sources_new(void);
void auth_sources_free(struct auth_sources *s);

/* Records that token t passed a check by a for client (NULL: none) at now,
 * without waiting for the write lock, when its source is new to this
 * process or was last written interval seconds ago (then last_used_at is
 * stamped with it): 2 written (a source new to t, audited), 1 written, 0
 * not due, or -errno (not written: -EBUSY while another writes). */
int auth_source_used(struct auth_sources *s, struct store *st, int interval,
		     const struct pfs_actor *a, const struct token_info *t,
		     const char *client, int64_t now,
		     char source[TOKEN_SOURCE_MAX + 1]);

/* A checker (auth.h): its store, log, rate limits and stamps. */
#define LIMIT_SLOTS  4096 /* uids tracked at once */
#define LIMIT_PROBE  16
#define LIMIT_WINDOW 60 /* seconds */

#define LOOKUP_WAIT_MS 1000
#define STAMPS	       256 /* last_used_at stamps waiting for the write lock */

/* Failures of one uid (or one client of a uid: key) in the minute that
 * began at start, and the checks refused since it reached the limit. */
struct limit {
	uint64_t key; /* the uid, and the hash of a client above it */
	uint32_t uid;
	uint32_t count;
	uint32_t refused;
	int64_t start; /* 0: a free slot */
};

/* A last_used_at stamp not yet written: the write lock was held. */
struct stamp {
	int64_t token_id, user_id, resource_id, last_used_at, at;
};

enum reason {
	WHY_OK,
	WHY_EXPIRED,
	WHY_REVOKED,
	WHY_SCOPE,
	WHY_IMPERSONATION,
	WHY_BLOCKED,
	WHY_INVALID,
	WHY_LIMITED,
	WHY_UNAVAILABLE,
	WHY_DISABLED,
	WHY_NONCOMPLIANT,
	WHY_NREASONS
};

struct auth {
	struct store *st;
	const struct cfg *cfg;
	struct auth_log log;
	pthread_mutex_t lock; /* protects limits and stamps */
	struct limit limits[LIMIT_SLOTS];
	atomic_uint_fast64_t checks[WHY_NREASONS]; /* since auth_open */
	struct stamp stamps[STAMPS];
	int nstamps;
	struct auth_subuid subuid;     /* uids limited as their range's owner */
	struct auth_sources *sources;  /* where checks came from */
	auth_source_fn *on_new_source; /* and who hears of a new one */
	void *on_new_source_ctx;
	/* the policies (rules.h), read again once a second, under lock */
	struct rules rules;
	int64_t rules_at;
	/* the log's minute, in all: lines written, lines left out */
	int64_t gate_start;
	uint32_t gate_lines, gate_dropped;
};

#endif
