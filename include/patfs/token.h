/* token.h - access tokens: minting, writing, rotating, the read-once
 * secret, listings and documents. What a token is and how its files read:
 * token_attr.h. */
#ifndef PATFS_TOKEN_H
#define PATFS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"
#include "patfs/token_attr.h"

struct store;

/* 0 with *out filled, -ENOENT, or another -errno. */
int token_get(struct store *st, int64_t id, struct token_info *out);

/* The id of the newest active token of user_id named name: 0 or -ENOENT. */
int token_find_active(struct store *st, int64_t user_id, const char *name,
		      size_t len, int64_t *id);

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

/* The same, with the audit record's reason (token_revoke's "leaked"). */
int token_write_why(struct store *st, const struct pfs_actor *a, int64_t id,
		    enum token_attr attr, const char *val, size_t len,
		    const char *reason);

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

/* The inventory's two forms: credentials.csv and credentials.json. */
enum token_inventory_format { TOKEN_INVENTORY_CSV, TOKEN_INVENTORY_JSON };

/* Takes the next n bytes of a document: 0 or -errno (which stops it). */
typedef int token_sink_fn(void *ctx, const char *s, size_t n);

/* Every token actor a may see (admins: all; others: the tokens of the
 * users mapped to their uid, but impersonation tokens) in id order, as
 * format says, handed to sink a row at a time: credentials.csv has a
 * header row and CRLF line ends (RFC 4180); credentials.json is tokens.json's
 * array. All of it is read from one snapshot of the store. *mtime (preset
 * by the caller) becomes the latest change of a token in it. 0 or -errno. */
int token_inventory(struct store *st, const struct pfs_actor *a,
		    enum token_inventory_format format, int64_t now,
		    token_sink_fn *sink, void *ctx, int64_t *mtime);

/* Calls fn for each token of the users mapped to uid, id > after, in id
 * order, until fn returns nonzero. Returns 0 or -errno. */
int token_list_of_uid(struct store *st, uint32_t uid, int64_t after,
		      token_list_fn *fn, void *ctx);

/* Calls fn for each token of user_id with id > after in id order, until fn
 * returns nonzero. Returns 0 or -errno. */
int token_list_user(struct store *st, int64_t user_id, int64_t after,
		    token_list_fn *fn, void *ctx);

/* Same, for the unrevoked tokens expiring on day (-1: without expiry). */
int token_list_expiring(struct store *st, int64_t day, int64_t after,
			token_list_fn *fn, void *ctx);

/* Same, for the unrevoked tokens whose (expiry day, id) comes after (day,
 * after) and which expire by last, in that order. */
int token_list_window(struct store *st, int64_t day, int64_t after,
		      int64_t last, token_list_fn *fn, void *ctx);

/* Same, for the unrevoked tokens of the users mapped to uid that expire
 * after day: what a user's calendar costs is what it holds. */
int token_list_uid(struct store *st, uint32_t uid, int64_t day,
		   token_list_fn *fn, void *ctx);

/* Same, for the unrevoked tokens last used (or, never used, created) at or
 * before time before, in id order. */
int token_list_unused(struct store *st, int64_t before, int64_t after,
		      token_list_fn *fn, void *ctx);

/* Same, for every token, in id order. */
int token_list_all(struct store *st, int64_t after, token_list_fn *fn,
		   void *ctx);

/* The tokens revoked since time since that were due to expire after day,
 * of the users mapped to uid (-1: everyone's), in id order. */
int token_list_cancelled(struct store *st, int64_t since, int64_t day,
			 int64_t uid, token_list_fn *fn, void *ctx);

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

/* Records that t was used from source (TOKEN_SOURCE_MAX bytes at most) by
 * a at now, count uses since the last record, in one write transaction
 * that does not wait for the write lock (-EBUSY): a source t never had is
 * added (the 16 latest are kept) and audited as token_new_source, with
 * *fresh set; last_used_at is stamped in it too, as token_stamp_used
 * would with interval. 0 or -errno. */
int token_source_record(struct store *st, const struct pfs_actor *a,
			const struct token_info *t, const char *source,
			int64_t now, int count, int interval, bool *fresh);

/* used_from of token id: "LAST FIRST COUNT SOURCE" a line, the latest
 * first, into buf; its length or -errno. *mtime (preset) becomes the
 * latest use. TOKEN_USED_FROM_MAX bytes always hold it. */
#define TOKEN_USED_FROM_MAX (16 * (TOKEN_SOURCE_MAX + 64))
int token_sources_render(struct store *st, int64_t id, char *buf, size_t size,
			 int64_t *mtime);

/* Removes, as a, the tokens revoked, or expired, more than days days
 * before now from the tree and the tokens table (their audit records stay;
 * each removal is audited as token_prune), in transactions of a few hundred;
 * *count says how many. days <= 0: none. 0 or -errno. */
int token_prune(struct store *st, const struct pfs_actor *a, int64_t now,
		int days, int *count);

#endif
