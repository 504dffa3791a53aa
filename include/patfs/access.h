/* access.h - who may do what (SPEC §5): the one place that decides.
 *
 * Every object of the tree is described by an access_obj. The rights of
 * three roles on it (an admin, the owner, anyone else) come from one
 * function, and both the checks and the modes a stat shows are derived from
 * those rights, so they cannot disagree. */
#ifndef PATFS_ACCESS_H
#define PATFS_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "patfs/pfs.h"

struct cfg;
struct token_info;

enum access_kind {
	ACCESS_PUBLIC_DIR, /* the root, auth/: everyone lists */
	ACCESS_USERS,	   /* users/: everyone lists, admins create */
	ACCESS_USER,	   /* users/<u>/: its owner and admins enter */
	ACCESS_USER_ATTR,  /* users/<u>/<attr> (attr: enum user_attr) */
	ACCESS_TOKENS,	   /* users/<u>/tokens/: its owner and admins mint */
	ACCESS_USER_JSON, /* users/<u>/tokens.json: its owner and admins read */
	ACCESS_TOKEN,	  /* a token's directory (token) */
	ACCESS_TOKEN_ATTR,  /* a token's file (token, attr: enum token_attr) */
	ACCESS_ADMIN_DIR,   /* expiring/ and its dates: admins list */
	ACCESS_LINK,	    /* a symlink: its mode means nothing */
	ACCESS_AUDIT,	    /* audit.log: admins read */
	ACCESS_CHECKER,	    /* auth/<scope>: everyone writes */
	ACCESS_REVOKE,	    /* revoke: admins write */
	ACCESS_IDENTIFY,    /* identify: admins write and read */
	ACCESS_SELF_ROTATE, /* rotate: everyone writes a secret, reads one */
	ACCESS_CALENDAR,    /* expiring.ics, why: everyone reads (their own) */
	ACCESS_RESOURCES,   /* projects/, groups/: admins list and create */
	ACCESS_RESOURCE,    /* projects/<p>/: admins enter */
	ACCESS_RESOURCE_ATTR,	/* its id (read), path (admins write) */
	ACCESS_RESOURCE_TOKENS, /* its tokens/: admins mint */
	ACCESS_SCRATCH,		/* a tool's temp file: its creator's */
	ACCESS_POLICY,		/* policy/'s files: everyone reads, admins
				   write */
};

#define ACCESS_R 4u
#define ACCESS_W 2u
#define ACCESS_X 1u

struct access_obj {
	enum access_kind kind;
	int attr;			/* USER_ATTR, TOKEN_ATTR */
	int64_t owner_uid;		/* the mapped uid owning it, or -1 */
	const struct token_info *token; /* TOKEN, TOKEN_ATTR */
};

/* Fills a->admin: uid 0, or a member of [access] admin_group, by its gid
 * or one of its supplementary groups, which groups(ctx, out, max) puts in
 * out (returning how many, or -errno) and is asked for only when needed. */
void access_set_admin(const struct cfg *cfg, struct pfs_actor *a,
		      int (*groups)(void *ctx, gid_t *out, int max), void *ctx);

/* Describes the object kind of user-owned o (owner_uid -1: nobody's). */
struct access_obj access_of(enum access_kind kind, int attr, int64_t owner_uid);

/* Describes token t's directory (attr < 0) or one of its files. t must
 * outlive the result. */
struct access_obj access_of_token(const struct token_info *t, int attr);

/* The rights (ACCESS_R|W|X) a has on o; -ENOENT when o is hidden from a
 * (impersonation tokens, from their owner); -EACCES when o lies in a user's
 * directory that a may not enter. */
int access_rights(const struct pfs_actor *a, const struct access_obj *o);

/* 0 when a may see o (its name and attributes); else as access_rights. */
int access_see(const struct pfs_actor *a, const struct access_obj *o);

/* 0 when a has every right in want on o. Else -ENOENT or -EACCES as
 * access_rights, -EPERM when a sees o but may not do that (an immutable
 * value, a sealed token: root included, which the kernel's mode check would
 * let through), or -EACCES when a has no right on o at all. */
int access_check(const struct pfs_actor *a, const struct access_obj *o,
		 unsigned want);

/* The mode bits (permissions only) and owner o shows: the owner's rights in
 * the user bits (an admin's when nobody owns it, as root does), the admin
 * group's in the group bits (none without [access] admin_group), everyone
 * else's in the other bits. */
void access_mode(const struct cfg *cfg, const struct access_obj *o,
		 mode_t *mode, uid_t *uid, gid_t *gid);

/* The rights (ACCESS_R|W) that t's owner (admin: an admin) has on its file
 * attr, by the attribute's row (token_attrs[]) and t's state. */
unsigned access_token_attr(const struct token_info *t, int attr, bool admin);

#endif
