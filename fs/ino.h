/* ino.h - inode numbers derived from what they name; no table needed.
 *
 * bits 63-56 kind, 55-48 sub (attribute index, flags), 47-0 id (user id,
 * token id, day). The root is kind 0, id 1, which is FUSE_ROOT_ID. */
#ifndef PATFS_INO_H
#define PATFS_INO_H

#include <stdint.h>

enum ino_kind {
	INO_ROOT,
	INO_USERS,	   /* users/ */
	INO_EXPIRING,	   /* expiring/ */
	INO_AUDIT,	   /* audit.log */
	INO_USER,	   /* users/<u>/ (id: user) */
	INO_USER_ATTR,	   /* users/<u>/<attr> (sub: enum user_attr) */
	INO_TOKENS,	   /* users/<u>/tokens/ (id: user) */
	INO_TOKEN,	   /* users/<u>/tokens/<id>/ (id: token) */
	INO_TOKEN_ATTR,	   /* a token's attribute (sub: enum token_attr) */
	INO_DATE,	   /* expiring/<date>/ (id: day) or never/ (sub: 1) */
	INO_LINK,	   /* expiring/<date>/<id> (id: token) */
	INO_AUTH,	   /* auth/ */
	INO_SCOPE,	   /* auth/<scope> (sub: scope index) */
	INO_REVOKE,	   /* revoke */
	INO_IDENTIFY,	   /* identify */
	INO_SECRET,	   /* a token's file "token" (id: token) */
	INO_TOKENS_JSON,   /* users/<u>/tokens.json (id: user) */
	INO_TOKEN_REL,	   /* a token's previous and next (sub: attr) */
	INO_SELF_ROTATE,   /* rotate */
	INO_WITHIN,	   /* expiring/within/ */
	INO_WINDOW,	   /* expiring/within/<N>d/ (sub: which) */
	INO_ICS,	   /* expiring.ics */
	INO_RESOURCES,	   /* projects/ or groups/ (sub: enum resource_kind) */
	INO_RESOURCE,	   /* projects/<p>/ (id: it) */
	INO_RESOURCE_ATTR, /* its id, path (sub: enum resource_attr) */
	INO_RES_TOKENS,	   /* its tokens/ (id: it) */
	INO_METRICS,	   /* metrics */
	INO_NKINDS
};

/* In sub of a token's inodes: reached through tokens/<name>,
 * which resolves anew on every lookup. */
#define INO_ALIAS 0x80u
/* In sub of a token's inodes: reached through projects/ or groups/ (the
 * same token as under its bot in users/, another inode: a directory has
 * one place in the kernel's tree). */
#define INO_VIA	  0x40u
#define INO_FLAGS (INO_ALIAS | INO_VIA)
#define INO_NEVER 1u
/* In sub of a link: it lies in expiring/within/<N>d/, a level deeper. */
#define INO_DEEP 2u

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
