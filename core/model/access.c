/* access.c - the rights of each role on each object, and what follows from
 * them: the checks and the modes. */
#include <errno.h>
#include <stdbool.h>

#include "patfs/access.h"
#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/token_attr.h"
#include "patfs/user.h"

enum role { ROLE_ADMIN, ROLE_OWNER, ROLE_OTHER };

#define MAX_GROUPS 256

void access_set_admin(const struct cfg *cfg, struct pfs_actor *a,
		      int (*groups)(void *ctx, gid_t *out, int max), void *ctx)
{
	gid_t list[MAX_GROUPS];
	int n;

	a->admin = a->uid == 0;
	if (a->admin || !cfg->admin_group)
		return;
	a->admin = a->gid == cfg->admin_gid;
	n = a->admin ? 0 : groups(ctx, list, MAX_GROUPS);
	for (int i = 0; i < n && i < MAX_GROUPS; i++)
		if (list[i] == cfg->admin_gid)
			a->admin = true;
}

struct access_obj access_of(enum access_kind kind, int attr, int64_t owner_uid)
{
	return (struct access_obj){
	    .kind = kind, .attr = attr, .owner_uid = owner_uid};
}

struct access_obj access_of_token(const struct token_info *t, int attr)
{
	return (struct access_obj){.kind = attr < 0 ? ACCESS_TOKEN
						    : ACCESS_TOKEN_ATTR,
				   .attr = attr,
				   .owner_uid = t->user_uid,
				   .token = t};
}

unsigned access_token_attr(const struct token_info *t, int attr, bool admin)
{
	unsigned f = token_attrs[attr].flags;

	if (t->gitlab_id || !(f & TOKEN_A_W))
		return ACCESS_R; /* imported: GitLab's, shown and not changed */
	if (((f & TOKEN_A_W_LIVE) && t->revoked_at) ||
	    ((f & TOKEN_A_W_UNSEALED) && t->sealed_at) ||
	    ((f & TOKEN_A_W_ADMIN) && !admin))
		return ACCESS_R;
	return ACCESS_R | ACCESS_W;
}

/* True when administrators may write o, a value file of a user or of a
 * project or group (its row says). */
static bool value_writable(const struct access_obj *o)
{
	if (o->attr < 0)
		return false;
	if (o->kind == ACCESS_USER_ATTR)
		return o->attr < USER_NATTR && user_attrs[o->attr].writable;
	return o->attr < RESOURCE_NATTR && resource_attrs[o->attr].writable;
}

/* The rights of role on o, or -ENOENT when o is hidden from it. */
static int rights_of(enum role role, const struct access_obj *o)
{
	bool admin = role == ROLE_ADMIN, mine = role != ROLE_OTHER;

	switch (o->kind) {
	case ACCESS_PUBLIC_DIR:
		return ACCESS_R | ACCESS_X;
	case ACCESS_USERS:
		return ACCESS_R | ACCESS_X | (admin ? ACCESS_W : 0);
	case ACCESS_USER: /* W: admins' temp files, renamed over a value */
		return mine ? ACCESS_R | ACCESS_X | (admin ? ACCESS_W : 0) : 0;
	case ACCESS_USER_ATTR:
		if (!mine)
			return 0;
		return ACCESS_R | (admin && value_writable(o) ? ACCESS_W : 0);
	case ACCESS_TOKENS:
		return mine ? ACCESS_R | ACCESS_W | ACCESS_X : 0;
	case ACCESS_USER_JSON:
		return mine ? ACCESS_R : 0;
	case ACCESS_TOKEN:
	case ACCESS_TOKEN_ATTR:
		if (!mine)
			return 0;
		if (role == ROLE_OWNER && o->token->impersonation)
			return -ENOENT;	     /* as GitLab hides them */
		if (o->kind == ACCESS_TOKEN) /* W: temp files, as above */
			return ACCESS_R | ACCESS_X |
			       (o->token->gitlab_id ? 0 : ACCESS_W);
		return (int)access_token_attr(o->token, o->attr, admin);
	case ACCESS_ADMIN_DIR:
		return admin ? ACCESS_R | ACCESS_X : 0;
	case ACCESS_LINK:
		return ACCESS_R | ACCESS_W | ACCESS_X;
	case ACCESS_AUDIT:
		return admin ? ACCESS_R : 0;
	case ACCESS_CHECKER:
		return ACCESS_W;
	case ACCESS_REVOKE:
		return admin ? ACCESS_W : 0;
	case ACCESS_IDENTIFY:
		return admin ? ACCESS_R | ACCESS_W : 0;
	case ACCESS_SELF_ROTATE:
		return ACCESS_R | ACCESS_W;
	case ACCESS_CALENDAR:
		return ACCESS_R;
	case ACCESS_POLICY:
		return ACCESS_R | (admin ? ACCESS_W : 0);
	case ACCESS_RESOURCES:
	case ACCESS_RESOURCE_TOKENS:
	case ACCESS_RESOURCE: /* W: temp files, as above */
		return admin ? ACCESS_R | ACCESS_W | ACCESS_X : 0;
	case ACCESS_SCRATCH:
		return mine ? ACCESS_R | ACCESS_W : 0;
	case ACCESS_RESOURCE_ATTR:
		if (!admin)
			return 0;
		return ACCESS_R | (value_writable(o) ? ACCESS_W : 0);
	}
	return 0;
}

/* True for the objects that lie inside a user's directory. */
static bool in_user_dir(const struct access_obj *o)
{
	return o->kind == ACCESS_USER_ATTR || o->kind == ACCESS_TOKENS ||
	       o->kind == ACCESS_USER_JSON || o->kind == ACCESS_TOKEN ||
	       o->kind == ACCESS_TOKEN_ATTR;
}

static enum role role_of(const struct pfs_actor *a, const struct access_obj *o)
{
	if (a->admin)
		return ROLE_ADMIN;
	if (o->owner_uid >= 0 && o->owner_uid == (int64_t)a->uid)
		return ROLE_OWNER;
	return ROLE_OTHER;
}

int access_rights(const struct pfs_actor *a, const struct access_obj *o)
{
	int r = rights_of(role_of(a, o), o);

	if (r == 0 && in_user_dir(o))
		return pfs_refuse(EACCES, "a user's directory is its owner's "
					  "(the uid in its file uid) and the "
					  "administrators'");
	return r;
}

int access_see(const struct pfs_actor *a, const struct access_obj *o)
{
	int r = access_rights(a, o);

	return r < 0 ? r : 0;
}

static const char *verb(unsigned want)
{
	return want & ACCESS_W	 ? "written"
	       : want & ACCESS_R ? "read"
				 : "entered";
}

/* The refusal of want on o to a who has no right on it: EACCES. */
static int why_none(const struct access_obj *o, unsigned want)
{
	switch (o->kind) {
	case ACCESS_CHECKER:
		return pfs_refuse(EACCES, "auth/ files are written, never "
					  "read: a check's answer is the "
					  "write's");
	case ACCESS_SCRATCH:
		return pfs_refuse(EACCES, "a temp file is its creator's");
	default:
		return pfs_refuse(EACCES, "this is %s by administrators only",
				  verb(want));
	}
}

/* The refusal of want on o to a, who has other rights on it: EPERM. */
static int why_not(const struct pfs_actor *a, const struct access_obj *o,
		   unsigned want)
{
	unsigned f;

	if (o->kind == ACCESS_TOKEN_ATTR && (want & ACCESS_W)) {
		const char *name = token_attrs[o->attr].name;

		f = token_attrs[o->attr].flags;
		if (o->token->gitlab_id)
			return pfs_refuse(EPERM, "an imported token is "
						 "GitLab's: its files are "
						 "shown, never changed");
		if (!(f & TOKEN_A_W))
			return pfs_refuse(EPERM, "%s is never written", name);
		if ((f & TOKEN_A_W_LIVE) && o->token->revoked_at)
			return pfs_refuse(EPERM, "the token is revoked: a "
						 "revocation is final, and "
						 "nothing else of it changes");
		if ((f & TOKEN_A_W_UNSEALED) && o->token->sealed_at)
			return pfs_refuse(EPERM,
					  "%s is fixed once the "
					  "token's secret was taken",
					  name);
		if ((f & TOKEN_A_W_ADMIN) && !a->admin)
			return pfs_refuse(EPERM,
					  "only administrators write "
					  "%s",
					  name);
	}
	if ((o->kind == ACCESS_USER_ATTR || o->kind == ACCESS_RESOURCE_ATTR) &&
	    (want & ACCESS_W)) {
		const char *name = o->kind == ACCESS_USER_ATTR
				       ? user_attrs[o->attr].name
				       : resource_attrs[o->attr].name;

		if (value_writable(o))
			return pfs_refuse(EPERM, "only administrators write %s",
					  name);
		return pfs_refuse(EPERM, "%s is never written", name);
	}
	if (o->kind == ACCESS_USERS && (want & ACCESS_W))
		return pfs_refuse(EPERM, "only administrators create and "
					 "remove users");
	return pfs_refuse(EPERM, "this is not %s by uid %u", verb(want),
			  (unsigned)a->uid);
}

int access_check(const struct pfs_actor *a, const struct access_obj *o,
		 unsigned want)
{
	int r = access_rights(a, o);

	if (r < 0)
		return r;
	if (((unsigned)r & want) == want)
		return 0;
	return r ? why_not(a, o, want) : why_none(o, want);
}

/* rwx bits of rights r (hidden: none) shifted into place. */
static mode_t bits(int r, int shift)
{
	return r < 0 ? 0 : (mode_t)((unsigned)r << shift);
}

void access_mode(const struct cfg *cfg, const struct access_obj *o,
		 mode_t *mode, uid_t *uid, gid_t *gid)
{
	bool owned = o->owner_uid >= 0;

	*mode = bits(rights_of(owned ? ROLE_OWNER : ROLE_ADMIN, o), 6) |
		(cfg->admin_group ? bits(rights_of(ROLE_ADMIN, o), 3) : 0) |
		bits(rights_of(ROLE_OTHER, o), 0);
	*uid = owned ? (uid_t)o->owner_uid : 0;
	*gid = cfg->admin_group ? cfg->admin_gid : 0;
}
