/* owner_attr.c - the value files of users (users/<u>/<attr>) and of
 * projects and groups (projects/<p>/<attr>): one row each, read by access.c
 * (who may write), the writes in user.c and resource.c, and the mount.
 * Below access.c: it decides nothing and calls nothing of the model. */
#include <inttypes.h>
#include <stdio.h>

#include "patfs/resource.h"
#include "patfs/user.h"

/* The length of what snprintf wrote, or 0 when it failed or was cut. */
static size_t fit(int n, size_t size)
{
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

static size_t u_id(const struct user_info *u, char *buf, size_t size,
		   int64_t *mtime)
{
	*mtime = u->created_at;
	return fit(snprintf(buf, size, "%" PRId64 "\n", u->id), size);
}

static size_t u_blocked(const struct user_info *u, char *buf, size_t size,
			int64_t *mtime)
{
	*mtime = u->blocked_at;
	return fit(snprintf(buf, size, "%d\n", u->blocked ? 1 : 0), size);
}

/* empty while no uid is mapped */
static size_t u_uid(const struct user_info *u, char *buf, size_t size,
		    int64_t *mtime)
{
	*mtime = u->uid_at;
	if (u->uid < 0)
		return fit(snprintf(buf, size, "%s", ""), size);
	return fit(snprintf(buf, size, "%" PRId64 "\n", u->uid), size);
}

static size_t u_kind(const struct user_info *u, char *buf, size_t size,
		     int64_t *mtime)
{
	*mtime = u->kind_at;
	return fit(snprintf(buf, size, "%s\n", policy_user_kind_names[u->kind]),
		   size);
}

const struct user_attr_def user_attrs[USER_NATTR] = {
    [USER_ID] = {"id", false, u_id},
    [USER_BLOCKED] = {"blocked", true, u_blocked},
    [USER_UID] = {"uid", true, u_uid},
    [USER_KIND] = {"kind", true, u_kind},
};

static size_t r_id(const struct resource_info *r, char *buf, size_t size,
		   int64_t *mtime)
{
	*mtime = r->created_at;
	return fit(snprintf(buf, size, "%" PRId64 "\n", r->id), size);
}

static size_t r_path(const struct resource_info *r, char *buf, size_t size,
		     int64_t *mtime)
{
	*mtime = r->path_at;
	return fit(snprintf(buf, size, "%s\n", r->path), size);
}

const struct resource_attr_def resource_attrs[RESOURCE_NATTR] = {
    [RESOURCE_ID] = {"id", false, r_id},
    [RESOURCE_PATH] = {"path", true, r_path},
};
