/* user.h - users: the owners of tokens. */
#ifndef PATFS_USER_H
#define PATFS_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"
#include "patfs/policy.h"

struct store;

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

/* How many bytes a value file of a user or a project or group holds, at
 * most, with its NUL. */
#define OWNER_RENDER_MAX (PFS_NAME_MAX + 2)

/* A user's value files (users/<u>/<attr>), one row each in enum user_attr's
 * order (owner_attr.c): the name; whether administrators may write it
 * (user_write; access.c reads it); and how it renders, NUL-terminated in
 * buf of size (OWNER_RENDER_MAX) bytes: its length, with *mtime when the
 * value last changed. */
struct user_attr_def {
	const char *name;
	bool writable;
	size_t (*render)(const struct user_info *u, char *buf, size_t size,
			 int64_t *mtime);
};
extern const struct user_attr_def user_attrs[USER_NATTR];

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

/* Calls fn for each user with id > after, in id order, until fn returns
 * nonzero. Returns 0 or -errno. */
typedef int user_list_fn(void *ctx, const struct user_info *u);
int user_list(struct store *st, int64_t after, user_list_fn *fn, void *ctx);

int user_count(struct store *st, int64_t *n);

#endif
