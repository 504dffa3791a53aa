/* resource.h - projects and groups: what project and group access tokens
 * belong to. Each such token is held by a bot user that patfs creates with
 * it (kind project_bot or group_bot), as GitLab does. */
#ifndef PATFS_RESOURCE_H
#define PATFS_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"
#include "patfs/policy.h"
#include "patfs/token.h"

struct store;

enum resource_attr { RESOURCE_ID, RESOURCE_PATH, RESOURCE_NATTR };

struct resource_info {
	int64_t id;
	enum resource_kind kind;
	char name[PFS_NAME_MAX + 1];
	char path[PFS_NAME_MAX + 1]; /* e.g. gitlab-org/gitlab */
	int64_t path_at;
	int64_t created_at;
	int64_t ntokens; /* tokens ever minted for it */
};

/* A project's or group's value files (projects/<p>/<attr>), as user.h's
 * user_attrs: only path is written (resource_write). */
struct resource_attr_def {
	const char *name;
	bool writable;
	size_t (*render)(const struct resource_info *r, char *buf, size_t size,
			 int64_t *mtime);
};
extern const struct resource_attr_def resource_attrs[RESOURCE_NATTR];

/* Lookups of a project or group that has not been removed: 0, -ENOENT or
 * another -errno. */
int resource_get(struct store *st, int64_t id, struct resource_info *out);
int resource_find(struct store *st, enum resource_kind kind, const char *name,
		  size_t len, struct resource_info *out);

/* Calls fn for each project or group (of kind) with id > after, in id
 * order, until fn returns nonzero. 0 or -errno. */
typedef int resource_list_fn(void *ctx, const struct resource_info *r);
int resource_list(struct store *st, enum resource_kind kind, int64_t after,
		  resource_list_fn *fn, void *ctx);
int resource_count(struct store *st, enum resource_kind kind, int64_t *n);

/* Creates a project or group named name (as user names), its path the
 * name. Admins only. 0 with *id; -EINVAL, -EEXIST, -EPERM. */
int resource_create(struct store *st, const struct pfs_actor *a,
		    enum resource_kind kind, const char *name, size_t len,
		    int64_t *id);

/* Removes a project or group: -ENOTEMPTY while one of its tokens is active.
 * Its tokens stay, under their bots in users/. Admins only. */
int resource_remove(struct store *st, const struct pfs_actor *a, int64_t id);

/* Writes path (admins): 1-255 bytes of [A-Za-z0-9_.-] segments joined by
 * single slashes, none "." or "..". 0, -EINVAL, -EPERM. */
int resource_write(struct store *st, const struct pfs_actor *a, int64_t id,
		   enum resource_attr attr, const char *val, size_t len);

/* Mints a token of project or group id named name: creates its bot
 * (<kind>_<id>_bot_<8 hex>, kind project_bot or group_bot) and the token,
 * access level maintainer, with the defaults of token_mint, in one
 * transaction. Admins only. 0 with *token_id; -EINVAL bad name; -EEXIST an
 * active token of the project or group has that name; -ENOENT. */
int resource_mint(struct store *st, const struct pfs_actor *a, int64_t id,
		  const char *name, size_t len, int64_t *token_id);

/* The newest active token of project or group id named name: 0 or
 * -ENOENT. */
int resource_find_active(struct store *st, int64_t id, const char *name,
			 size_t len, int64_t *token_id);

/* Calls fn for each token of project or group id with id > after, in id
 * order. 0 or -errno. */
int resource_list_tokens(struct store *st, int64_t id, int64_t after,
			 token_list_fn *fn, void *ctx);

#endif
