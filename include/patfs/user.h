/* user.h - users: the owners of tokens. */
#ifndef PATFS_USER_H
#define PATFS_USER_H

#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"
#include "patfs/policy.h"

struct store;

extern const char *const user_attr_names[USER_NATTR];

struct user_info {
	int64_t id;
	char name[PFS_NAME_MAX + 1];
	int blocked;
	int64_t blocked_at; /* last change of blocked, or creation */
	int64_t uid;	    /* mapped Unix uid, or -1 */
	int64_t uid_at;
	int64_t created_at;
	int64_t ntokens; /* tokens ever minted for this user */
	enum user_kind kind;
	int64_t kind_at;     /* last change of kind, or creation */
	int64_t resource_id; /* a bot's project or group, or 0 */
};

/* Lookups: 0, -ENOENT, or another -errno; *out is filled only on success. */
int user_get(struct store *st, int64_t id, struct user_info *out);
int user_find(struct store *st, const char *name, size_t len,
	      struct user_info *out);

/* Creates a user. 0 with *id set; -EINVAL bad name; -EEXIST; -EPERM when the
 * actor is no admin. Nothing changes on error. */
int user_create(struct store *st, const struct pfs_actor *a, const char *name,
		size_t len, int64_t *id);

/* Removes a user that never had a token: 0, -ENOENT, -ENOTEMPTY, -EPERM. */
int user_remove(struct store *st, const struct pfs_actor *a, int64_t id);

/* Applies a written value to an attribute: 0 or -errno (EINVAL bad value,
 * EPERM immutable or not allowed to this actor); nothing changes on error.
 * kind takes human or service_account, from admins, while the user has had
 * no token and is no bot (else EPERM). */
int user_write(struct store *st, const struct pfs_actor *a, int64_t id,
	       enum user_attr attr, const char *val, size_t len);

/* Renders attr as its file holds it; returns the length (NUL-terminated in
 * buf, which needs 32 bytes) and sets *mtime to when the value last changed. */
size_t user_render(const struct user_info *u, enum user_attr attr, char *buf,
		   size_t size, int64_t *mtime);

/* Calls fn for each user with id > after, in id order, until fn returns
 * nonzero. Returns 0 or -errno. */
typedef int user_list_fn(void *ctx, const struct user_info *u);
int user_list(struct store *st, int64_t after, user_list_fn *fn, void *ctx);

int user_count(struct store *st, int64_t *n);

#endif
