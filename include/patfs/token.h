/* token.h - access tokens: minting, the read-once secret, attributes. */
#ifndef PATFS_TOKEN_H
#define PATFS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"

struct store;

/* A token's files, one row each of token_attrs[] (its index is part of the
 * file's inode number). */
enum token_attr {
	TOKEN_NAME,
	TOKEN_DESCRIPTION,
	TOKEN_SCOPES,
	TOKEN_IMPERSONATION,
	TOKEN_CREATED_AT,
	TOKEN_EXPIRES_AT,
	TOKEN_LAST_USED_AT,
	TOKEN_REVOKED,
	TOKEN_ACTIVE,
	TOKEN_SECRET,	    /* the file "token" */
	TOKEN_META,	    /* meta.json: every attribute above as one object */
	TOKEN_ROTATE,	    /* write 1 or a date: rotate (token_rotate) */
	TOKEN_PREVIOUS,	    /* symlinks: the token this one was rotated from */
	TOKEN_NEXT,	    /* and the one rotated from it */
	TOKEN_ACCESS_LEVEL, /* project and group tokens: guest ... owner */
	TOKEN_BOT,	    /* and the name of the bot holding it */
	TOKEN_NOTIFIED,	    /* the expiry notices sent, one a line */
	TOKEN_NATTR
};

/* The stored values of a token that a change can touch: a commit says
 * which changed (store_change.fields), and a file whose deps name one of
 * them is taken back from the kernel's caches. */
enum token_field {
	TOKEN_F_DESCRIPTION = 1u << 0,
	TOKEN_F_SCOPES = 1u << 1,
	TOKEN_F_IMPERSONATION = 1u << 2,
	TOKEN_F_EXPIRES = 1u << 3, /* expires_at, and the day passing */
	TOKEN_F_LAST_USED = 1u << 4,
	TOKEN_F_REVOKED = 1u << 5,
	TOKEN_F_SEALED = 1u << 6,    /* the secret taken or set */
	TOKEN_F_OWNER = 1u << 7,     /* its user: name, uid, blocked, kind */
	TOKEN_F_LEVEL = 1u << 8,     /* access_level */
	TOKEN_F_NOTIFIED = 1u << 9,  /* expiry notices sent */
	TOKEN_F_ROTATION = 1u << 10, /* previous, next */
	TOKEN_F_RESOURCE = 1u << 11, /* its project's or group's path */
	TOKEN_F_ALL = (1u << 12) - 1,
};

/* What an attribute is besides a value. */
enum token_attr_flag {
	TOKEN_A_RESOURCE = 1u << 0,   /* a project's or group's token's only */
	TOKEN_A_LINK = 1u << 1,	      /* a symlink to a related token */
	TOKEN_A_SECRET = 1u << 2,     /* the read-once secret */
	TOKEN_A_W = 1u << 3,	      /* writable, by its owner and admins */
	TOKEN_A_W_LIVE = 1u << 4,     /* ... while not revoked */
	TOKEN_A_W_UNSEALED = 1u << 5, /* ... while its secret was not taken */
	TOKEN_A_W_ADMIN = 1u << 6,    /* ... by admins only */
};

struct token_info;
struct token_attr_store; /* core's: how a written value is stored */

/* One attribute of a token: the one definition every layer reads. */
struct token_attr_def {
	const char *name; /* its file's; first, for node listings */
	unsigned flags;	  /* enum token_attr_flag */
	uint32_t deps;	  /* the fields (enum token_field) its content and
			     mode follow */
	/* renders t's value as its file holds it into buf: the length (0
	 * when it does not fit), and *mtime */
	size_t (*render)(const struct token_info *t, int64_t now, char *buf,
			 size_t size, int64_t *mtime);
	/* how token_write parses and stores a value; NULL: not through it
	 * (rotate and the secret have calls of their own) */
	const struct token_attr_store *store;
};
extern const struct token_attr_def token_attrs[TOKEN_NATTR];

/* True when token t has a file attr (a project's or group's attributes
 * only for their tokens). */
bool token_attr_exists(const struct token_info *t, int attr);

/* The rights (access.h's ACCESS_R|W) that t's owner (admin: an admin) has
 * on its file attr, by its row's flags and t's state. */
unsigned token_attr_rights(const struct token_info *t, int attr, bool admin);

/* The index of the attribute whose file is named name, or -1. */
int token_attr_index(const char *name);

/* A buffer this large holds any rendered value, meta.json included (its
 * strings escaped at worst six bytes a byte). */
#define TOKEN_RENDER_MAX 8192

struct token_info {
	int64_t id;
	int64_t user_id;
	char name[PFS_NAME_MAX + 1];
	char description[PFS_NAME_MAX + 1];
	uint32_t scopes;
	int impersonation;
	int64_t created_at;
	int64_t description_at;
	int64_t scopes_at;
	int64_t impersonation_at;
	int64_t expires_day; /* days since the epoch, or -1 for no expiry */
	int64_t expires_at_at;
	int64_t last_used_at; /* 0: never used */
	int64_t revoked_at;   /* 0: not revoked */
	int64_t sealed_at;    /* 0: the secret has not been taken */
	char user_name[PFS_NAME_MAX + 1];
	int user_blocked;
	int64_t user_blocked_at;
	int64_t user_uid;    /* the owner's mapped uid, or -1 */
	int user_kind;	     /* enum user_kind */
	int64_t previous_id; /* the token this one was rotated from, or 0 */
	int64_t next_id;     /* the token rotated from this one, or 0 */
	int64_t family_id;   /* the first token of its rotations */
	/* a project's or group's token (resource_id not 0): its bot's */
	int access_level; /* GitLab's number: 10 guest ... 50 owner */
	int64_t access_level_at;
	int64_t resource_id;
	int resource_kind; /* enum resource_kind */
	char resource_name[PFS_NAME_MAX + 1];
	char resource_path[PFS_NAME_MAX + 1];
	int64_t resource_removed_at; /* 0: the project or group is there */
	char notified[48]; /* expiry notices sent: "60,30,7,0" (0: the day) */
	int64_t notified_at;
	int64_t gitlab_id; /* imported from GitLab (its id there), or 0 */
};

/* 0 with *out filled, -ENOENT, or another -errno. */
int token_get(struct store *st, int64_t id, struct token_info *out);

/* The id of the newest active token of user_id named name: 0 or -ENOENT. */
int token_find_active(struct store *st, int64_t user_id, const char *name,
		      size_t len, int64_t *id);

bool token_expired(const struct token_info *t, int64_t now);
bool token_active(const struct token_info *t, int64_t now);

/* True while the secret can still be taken (file "token" exists). */
bool token_unsealed(const struct token_info *t);

/* Mints an unsealed token with the configured default scopes and lifetime.
 * 0 with *id set; -EINVAL bad name; -EEXIST an active token has that name;
 * -ENOENT no such user; -EACCES not the actor's user. Nothing changes on
 * error. */
int token_mint(struct store *st, const struct pfs_actor *a, int64_t user_id,
	       const char *name, size_t len, int64_t *id);

/* Applies a written value to an attribute (not TOKEN_SECRET). 0 or -errno:
 * EINVAL bad value, EPERM immutable, sealed, revoked or not allowed to this
 * actor. Nothing changes on error. */
int token_write(struct store *st, const struct pfs_actor *a, int64_t id,
		enum token_attr attr, const char *val, size_t len);

/* Rotates token id as GitLab does: revokes it and mints its successor (same
 * owner, name, description, scopes, impersonation; unsealed, its secret
 * read once as any new token's) in one transaction, audited as
 * token_rotate with both ids. val is "1" (expiring 7 days from today where
 * expiry is required, else after max_lifetime_days) or a date
 * (YYYY-MM-DD, within max_lifetime_days). 0 with *next the successor's id;
 * -EINVAL bad value; -EPERM revoked, expired, owner blocked, or rotated
 * already: then, with [tokens] reuse_detection, every active token of its
 * family is revoked too (audited, reason token_reuse), and that is kept;
 * -ENOENT / -EACCES as access.h says. Nothing else changes on error. */
int token_rotate(struct store *st, const struct pfs_actor *a, int64_t id,
		 const char *val, size_t len, int64_t *next);

/* Takes the secret of an unsealed token: generates it into buf (which should
 * be sodium_malloc'd), stores its digest and seals the token. Returns the
 * secret's length, or -ENOENT when it was taken already (buf is then wiped). */
int token_take_secret(struct store *st, const struct pfs_actor *a, int64_t id,
		      char *buf, size_t size);

/* Seals an unsealed token with the given secret (val, optional newline).
 * Admins only. 0, -ENOENT taken already, -EINVAL bad format, -EEXIST secret
 * in use, -EPERM not an admin. */
int token_set_secret(struct store *st, const struct pfs_actor *a, int64_t id,
		     const char *val, size_t len);

/* Length in bytes of the file "token" of an unsealed token. */
size_t token_secret_file_len(const struct store *st);

/* Renders attr (not TOKEN_SECRET) as its file holds it into buf of at least
 * TOKEN_RENDER_MAX bytes; returns the length and sets *mtime (of meta.json:
 * the latest of its values'). */
size_t token_render(const struct token_info *t, enum token_attr attr,
		    int64_t now, char *buf, size_t size, int64_t *mtime);

/* Where t lives in the mount: users/<user>/tokens/<id>, or
 * projects/<p>/tokens/<id> (groups/...) for a project's or group's. */
void token_path(const struct token_info *t, char *out, size_t size);

/* meta.json of t: one JSON object and a newline, into buf; its length (0
 * when it does not fit), and *mtime as token_render's. */
size_t token_render_json(const struct token_info *t, int64_t now, char *buf,
			 size_t size, int64_t *mtime);

struct json;
/* Appends t's object to j (an element of tokens.json). */
void token_json(struct json *j, const struct token_info *t, int64_t now);

/* The largest document (tokens.json, expiring.ics): larger gets EFBIG. */
#define TOKEN_DOC_MAX (64u << 20)

/* A document rendered for one caller: tokens.json, expiring.ics. */
struct token_doc {
	char *text; /* malloc'd, NUL-terminated */
	size_t len, cap;
	bool varies;   /* another caller may see other tokens (in tokens.json:
			  the user has impersonation tokens, which their owner
			  does not see) */
	int64_t mtime; /* the latest change of a token in it (in: the time
			  when it holds none, such as the user's creation) */
};

/* Appends the n bytes at s to d: 0, -ENOMEM, or -EFBIG past
 * TOKEN_DOC_MAX. */
int token_doc_add(struct token_doc *d, const char *s, size_t n);

/* tokens.json of user_id as actor a sees it: a JSON array of the meta.json
 * objects of the tokens a may see, in id order, one a line. 0 with *out
 * filled, or -errno (-EFBIG past TOKEN_DOC_MAX). */
int token_json_user(struct store *st, const struct pfs_actor *a,
		    int64_t user_id, int64_t now, struct token_doc *out);

/* expiring.ics as actor a sees it: an iCalendar (RFC 5545) with one
 * all-day event on the expiry date of each active token a may see (admins:
 * every one; others: those of the users whose uid they are). 0 with *out
 * filled (varies: always), or -errno. */
int token_ics(struct store *st, const struct pfs_actor *a, int64_t now,
	      struct token_doc *out);

/* Calls fn for each token of user_id with id > after in id order, until fn
 * returns nonzero. Returns 0 or -errno. */
typedef int token_list_fn(void *ctx, const struct token_info *t);
int token_list_user(struct store *st, int64_t user_id, int64_t after,
		    token_list_fn *fn, void *ctx);

/* Same, for the unrevoked tokens expiring on day (-1: without expiry). */
int token_list_expiring(struct store *st, int64_t day, int64_t after,
			token_list_fn *fn, void *ctx);

/* Same, for the unrevoked tokens whose (expiry day, id) comes after (day,
 * after) and which expire by last, in that order. */
int token_list_window(struct store *st, int64_t day, int64_t after,
		      int64_t last, token_list_fn *fn, void *ctx);

/* The first day > after on which an unrevoked token expires: 0 or -ENOENT. */
int token_next_expiry(struct store *st, int64_t after, int64_t *day);

/* One token to import: sealed with a known secret, as if minted at
 * created_at and taken at once. */
struct token_seed {
	int64_t user_id;
	const char *name; /* NUL-terminated */
	uint32_t scopes;
	int impersonation;
	int64_t created_at;
	int64_t expires_day;  /* -1: none */
	int64_t last_used_at; /* 0: never used */
	int64_t revoked_at;   /* 0: not revoked */
	const char *secret;   /* prefix + body, no newline; only its digest is
				 kept */
	size_t secret_len;
};

/* Imports n tokens in one transaction, each audited as token_import (for
 * migrations and benchmarks). Admins only. 0 with *first_id the id of the
 * first (the rest follow in order); -EPERM, -EINVAL (a bad name, scope set,
 * date or secret), -ENOENT (no such user), -EEXIST (an active name or a
 * secret in use). Nothing changes on error. */
int token_import(struct store *st, const struct pfs_actor *a,
		 const struct token_seed *v, size_t n, int64_t *first_id);

/* Revokes, with reason secret_lost, every token whose secret was never taken
 * (run at start, before anyone can take one). *count says how many. */
int token_revoke_lost(struct store *st, const struct pfs_actor *a, int *count);

#endif
