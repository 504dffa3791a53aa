/* gitlabInt.h - the GitLab inventory import's two halves: gitlab_read.c
 * reads and checks the inventory's values, gitlab.c puts them in the store. */
#ifndef PATFS_GITLAB_INT_H
#define PATFS_GITLAB_INT_H

#include <stdbool.h>

#include "patfs/gitlab.h"
#include "patfs/json_read.h"
#include "store/store_stmt.h"

/* A user of the inventory's "users", by GitLab id (sorted, for bsearch). */
struct known {
	int64_t id;
	size_t v; /* its value in the document */
};

struct import {
	struct store_conn *c;
	const struct pfs_actor *a;
	struct jr_doc d;
	struct known *users;
	size_t nusers;
	int64_t now, done, total;
	struct gitlab_counts *out;
	gitlab_progress_fn *fn;
	void *ctx;
	char *err;
	size_t errlen;
	char where[96]; /* the element being read, for err */
	int64_t *pass;	/* personal listings of resources' tokens */
	size_t npass;
};

/* A token of the inventory, read and checked. */
#define GL_IPS	  5
#define GL_IP_MAX 45 /* an IPv6 address with an IPv4 tail */

struct glt {
	int64_t id, user_id, created_at, expires_day, last_used_at;
	char name[PFS_NAME_MAX + 1], description[PFS_NAME_MAX + 1];
	uint32_t scopes;
	int revoked, impersonation, access_level;
	int created_ms, last_used_ms; /* the milliseconds GitLab gave */
	/* last_used_ips: GitLab keeps the 5 latest */
	char ips[GL_IPS][GL_IP_MAX + 1];
	int nips;
};

/* Says what is wrong with member what of the element being read, in
 * im->err: -EINVAL. */
int gl_bad(struct import *im, const char *what, const char *why);

/* Member key of object o: 0, or -EINVAL (said in im->err). A string (into
 * out, size bytes; optional: null or missing give ""), a whole number of 0
 * or more. */
int gl_str(struct import *im, size_t o, const char *key, char *out, size_t size,
	   bool optional);
int gl_int(struct import *im, size_t o, const char *key, int64_t *out);

/* Reads token object o, with access_level when it is a project's or a
 * group's: 0 or -EINVAL (said). */
int gl_read_token(struct import *im, size_t o, bool resource, struct glt *t);

/* The username the inventory's users give GitLab user id, or NULL. */
const char *gl_username(struct import *im, int64_t id, char *buf, size_t size);

/* Whether the inventory's users say GitLab user id is blocked: 1 for any
 * state but active (blocked, ldap_blocked, banned, deactivated,
 * blocked_pending_approval: GitLab refuses their tokens), 0 when active,
 * -1 when they do not say. */
int gl_blocked(struct import *im, int64_t id);

/* The inventory's members (0 when absent): 1 when it is the array of
 * personal tokens alone, 0 for an object, -EINVAL (said) otherwise. */
int gl_parts(struct import *im, size_t *users, size_t *pats, size_t *projects,
	     size_t *groups);

/* The tokens the inventory holds, for progress. */
int64_t gl_count_tokens(struct import *im, size_t pats, bool top_array,
			size_t projects, size_t groups);

/* Indexes the inventory's users by GitLab id: 0, -EINVAL (said), -ENOMEM. */
int gl_index_users(struct import *im, size_t users);

/* Refuses an inventory that lists a token, user, project or group twice,
 * naming both places (-EINVAL, said; -ENOMEM), but for a bot's token
 * listed among the personal tokens and under its project or group: its
 * personal listing is passed over (gl_passed_over). im->total is set. */
int gl_check_ids(struct import *im, size_t users, size_t pats, bool top_array,
		 size_t projects, size_t groups);
bool gl_passed_over(const struct import *im, int64_t id);

#endif
