/* authInt.h - the auth log, private to core: appending lines, the size cap
 * and rotation; and the owners of subordinate uids. */
#ifndef PATFS_AUTH_INT_H
#define PATFS_AUTH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cfg;

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

#endif
