/* ino.h - inode numbers derived from what they name; no table needed.
 *
 * bits 63-56 kind, 55-48 sub (attribute index, flags), 47-0 id (user id,
 * token id, day). The root is kind 0, id 1, which is FUSE_ROOT_ID. */
#ifndef PATFS_INO_H
#define PATFS_INO_H

#include <stdint.h>

/* Every kind of inode, once, in the order of their numbers (an inode number
 * holds its kind's: append, never insert): X(ino_kind, its struct node_kind).
 * This makes enum ino_kind here, and node.h's declarations and node.c's
 * table of kinds. */
#define INO_KINDS(X)                                                           \
	X(INO_ROOT, node_root)                                                 \
	X(INO_USERS, node_users)       /* users/ */                            \
	X(INO_EXPIRING, node_expiring) /* expiring/ */                         \
	X(INO_AUDIT, node_audit)       /* audit.log */                         \
	X(INO_USER, node_user)	       /* users/<u>/ (id: user) */             \
	X(INO_USER_ATTR,                                                       \
	  node_user_attr) /* users/<u>/<attr> (sub: enum user_attr) */         \
	X(INO_TOKENS, node_tokens) /* users/<u>/tokens/ (id: user) */          \
	X(INO_TOKEN, node_token)   /* users/<u>/tokens/<id>/ (id: token) */    \
	X(INO_TOKEN_ATTR,                                                      \
	  node_token_attr) /* a token's attribute (sub: enum token_attr) */    \
	X(INO_DATE,                                                            \
	  node_date) /* expiring/<date>/ (id: day) or never/ (sub: 1) */       \
	X(INO_LINK, node_link)	       /* expiring/<date>/<id> (id: token) */  \
	X(INO_AUTH, node_auth)	       /* auth/ */                             \
	X(INO_SCOPE, node_scope)       /* auth/<scope> (sub: scope index) */   \
	X(INO_REVOKE, node_revoke)     /* revoke */                            \
	X(INO_IDENTIFY, node_identify) /* identify */                          \
	X(INO_SECRET, node_secret) /* a token's file "token" (id: token) */    \
	X(INO_TOKENS_JSON,                                                     \
	  node_tokens_json) /* users/<u>/tokens.json (id: user) */             \
	X(INO_TOKEN_REL,                                                       \
	  node_token_rel) /* a token's previous and next (sub: attr) */        \
	X(INO_SELF_ROTATE, node_self_rotate) /* rotate */                      \
	X(INO_WITHIN, node_within)	     /* expiring/within/ */            \
	X(INO_WINDOW, node_window) /* expiring/within/<N>d/ (sub: which) */    \
	X(INO_ICS, node_ics)	   /* expiring.ics */                          \
	X(INO_RESOURCES,                                                       \
	  node_resources) /* projects/ or groups/ (sub: enum resource_kind) */ \
	X(INO_RESOURCE, node_resource) /* projects/<p>/ (id: it) */            \
	X(INO_RESOURCE_ATTR,                                                   \
	  node_resource_attr) /* its id, path (sub: enum resource_attr) */     \
	X(INO_RES_TOKENS, node_res_tokens) /* its tokens/ (id: it) */          \
	X(INO_METRICS, node_metrics)	   /* metrics */                       \
	X(INO_WHY, node_why)		   /* why */                           \
	X(INO_SCOPES, node_scopes)	   /* scopes */                        \
	X(INO_SCRATCH, node_scratch) /* a tool's temp file (id: scratch.h's)   \
				      */                                       \
	X(INO_UNUSED, node_unused)   /* unused/ */                             \
	X(INO_UNUSED_WINDOW, node_unused_window) /* unused/<N>d/ (sub) */      \
	X(INO_CREDENTIALS, node_credentials)	 /* credentials.csv, .json     \
						    (sub: format; id: view) */ \
	X(INO_SCAN, node_scan)			 /* scan */                    \
	X(INO_USED_FROM, node_used_from) /* a token's used_from (sub: attr) */ \
	X(INO_POLICY, node_policy)	 /* policy/ */                         \
	X(INO_POLICY_FILE, node_policy_file)   /* policy/<rule> (sub: rule) */ \
	X(INO_NONCOMPLIANT, node_noncompliant) /* noncompliant/ */             \
	X(INO_NONCOMPLIANT_REASONS,                                            \
	  node_noncompliant_reasons) /* noncompliant/reasons */

enum ino_kind {
#define INO_KIND_ENUM(kind, node) kind,
	INO_KINDS(INO_KIND_ENUM)
#undef INO_KIND_ENUM
	    INO_NKINDS
};

/* In sub of a token's inodes: reached through tokens/<name>,
 * which resolves anew on every lookup. */
#define INO_ALIAS 0x80u
/* In sub of a token's directory: reached through projects/ or groups/ (the
 * same token as under its bot in users/, another inode: a directory has
 * one place in the kernel's tree). Its files have no such bit: each is one
 * inode with two links. */
#define INO_VIA	  0x40u
#define INO_FLAGS (INO_ALIAS | INO_VIA)
#define INO_NEVER 1u
/* In sub of a link: it lies in expiring/within/<N>d/, a level deeper; or
 * in noncompliant/, a level shallower, than expiring/<date>/'s. */
#define INO_DEEP    2u
#define INO_SHALLOW 4u

struct ino {
	enum ino_kind kind;
	unsigned sub;
	int64_t id;
};

/* Takes inode ino back from the kernel's caches (cache.c's, for the kinds'
 * stale operation). */
typedef void ino_inval_fn(void *ctx, struct ino ino);

static inline uint64_t ino_make(enum ino_kind kind, unsigned sub, int64_t id)
{
	return (uint64_t)kind << 56 | (uint64_t)(sub & 0xff) << 48 |
	       ((uint64_t)id & 0xffffffffffffull);
}

static inline struct ino ino_split(uint64_t ino)
{
	struct ino n = {.kind = (enum ino_kind)(ino >> 56),
			.sub = (unsigned)(ino >> 48) & 0xff,
			.id = (int64_t)(ino & 0xffffffffffffull)};
	if (n.kind >= INO_NKINDS)
		n.kind = INO_NKINDS;
	return n;
}

#endif
