/* token_attr.h - what a token is: its row (struct token_info), its files
 * (one row each of token_attrs[]: the one definition that rendering,
 * writing, access and the caches read), and what follows from the row
 * alone: whether it is active, how each file reads, meta.json, its path. */
#ifndef PATFS_TOKEN_ATTR_H
#define PATFS_TOKEN_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"

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
	TOKEN_DISABLED,	    /* 0|1: a reversible stop */
	TOKEN_USED_FROM,    /* where it was checked from, one source a line */
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
	TOKEN_F_DISABLED = 1u << 12, /* disabled, enabled */
	TOKEN_F_SOURCES = 1u << 13,  /* used_from */
	TOKEN_F_ALL = (1u << 14) - 1,
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
	TOKEN_A_SOURCES = 1u << 7,    /* used_from: read from its own table */
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

/* The index of the attribute whose file is named name, or -1. */
int token_attr_index(const char *name);

/* A buffer this large holds any rendered value, meta.json included (its
 * strings escaped at worst six bytes a byte). */
#define TOKEN_RENDER_MAX 8192

/* The longest source a use is recorded from (token_source.c). */
#define TOKEN_SOURCE_MAX 200

struct token_info {
	int64_t id;
	int64_t user_id;
	char name[PFS_NAME_MAX + 1];
	char description[PFS_NAME_MAX + 1];
	uint32_t scopes;
	int impersonation;
	int64_t created_at;
	int created_ms; /* GitLab's milliseconds of created_at, or 0 */
	int64_t description_at;
	int64_t scopes_at;
	int64_t impersonation_at;
	int64_t expires_day; /* days since the epoch, or -1 for no expiry */
	int64_t expires_at_at;
	int64_t last_used_at; /* 0: never used */
	int last_used_ms;     /* GitLab's milliseconds of it, or 0 */
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
	int64_t gitlab_id;	/* imported from GitLab (its id there), or 0 */
	int64_t user_gitlab_id; /* its owner's id in GitLab, or 0 */
	int disabled;		/* enum token_disabled */
	char last_used_from[TOKEN_SOURCE_MAX + 1]; /* its latest source */
	int64_t disabled_at; /* when disabled or enabled last, or 0 */
};

/* Who stopped a token (its disabled column): an owner may enable what an
 * owner disabled, only an administrator what an administrator did. */
enum token_disabled { TOKEN_ENABLED, TOKEN_OFF_OWNER, TOKEN_OFF_ADMIN };

/* What a listing of tokens calls for each: nonzero stops it. */
typedef int token_list_fn(void *ctx, const struct token_info *t);

bool token_expired(const struct token_info *t, int64_t now);
bool token_active(const struct token_info *t, int64_t now);

/* True while the secret can still be taken (file "token" exists). */
bool token_unsealed(const struct token_info *t);

/* True while t has a second place in the mount, below its live project or
 * group (and its first below its bot in users/). */
bool token_in_resource(const struct token_info *t);

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

/* The latest time one of t's values changed (meta.json's mtime). */
int64_t token_meta_mtime(const struct token_info *t, int64_t now);

struct json;
/* Appends t's object to j (an element of tokens.json). */
void token_json(struct json *j, const struct token_info *t, int64_t now);

/* The audit trail's name of t: its path (token_path). */
#define OBJECT_MAX (PFS_NAME_MAX + 48)
void token_object(const struct token_info *t, char out[OBJECT_MAX]);

#endif
