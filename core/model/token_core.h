/* token_core.h - token operations inside core, on a connection or in an
 * open transaction: for the model, auth and gitlab modules; not public. */
#ifndef PATFS_TOKEN_CORE_H
#define PATFS_TOKEN_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "patfs/secret.h"
#include "patfs/token_attr.h"
#include "store/store_stmt.h"

/* Column i of a row: its integer, or none when NULL; its text copied into
 * dst (cut to size, "" when NULL). */
int64_t token_col_int(struct store_stmt *s, int i, int64_t none);
void token_col_text(char *dst, size_t size, struct store_stmt *s, int i);

/* Steps s, a statement of the token columns, calling fn for each row until
 * it returns nonzero, and resets it: 0 or -errno. */
int token_list_rows(struct store_conn *c, struct store_stmt *s,
		    token_list_fn *fn, void *ctx);

/* Fills t from a row of the token columns (store_stmt.h's TOKEN_COLUMNS). */
void token_row(struct store_stmt *s, void *t);

/* Adds each of the n sources to token id's used_from that it lacks (first
 * and last seen at at, a count of 0: another system's record), keeping the
 * 16 latest, in c's open transaction: 0 or -errno. */
int token_sources_add(struct store_conn *c, int64_t id,
		      const char *const *sources, int n, int64_t at);

/* rules_get on connection c, inside or outside a transaction. */
struct rules;
int rules_get_in(struct store_conn *c, struct rules *out);

/* token_get and token_find_active on connection c, inside or outside a
 * transaction. */
int token_get_in(struct store_conn *c, int64_t id, struct token_info *out);
int token_find_active_in(struct store_conn *c, int64_t user_id,
			 const char *name, size_t len, int64_t *id);

/* Inserts a token of user_id named name with the configured scopes and
 * lifetime (*day: its expiry, -1 for none) and access level (0: none),
 * and counts it in the user's ntokens, in c's open transaction: 0 with *id
 * set, or -errno. */
int token_insert(struct store_conn *c, int64_t user_id, const char *name,
		 size_t len, int level, int64_t now, int64_t *id, int64_t *day);

/* A mint's protocol, in c's transaction, for personal, project and group
 * tokens alike: found is the lookup of an active token of the same name
 * where names must be unique (0: there is one, EEXIST; -ENOENT: free; or
 * -errno). Inserts a token named name of access level level (0: none) held
 * by t->user_id, audits token_create on its place (t holds its owner's
 * fields, and its project's or group's, for token_object) and records it:
 * 0 with t->id, or -errno. */
int token_create_in(struct store_conn *c, const struct pfs_actor *a,
		    struct token_info *t, int found, const char *name,
		    size_t len, int level);

/* Fills the owner fields of t (user_id, user_name, user_uid) from user
 * user_id, inside the open transaction: 0, -ENOENT or another -errno. */
int token_owner_of(struct store_conn *c, int64_t user_id, struct token_info *t);

/* Runs UPDATE statement id with ?1 tid, ?2 v (NULL when v < 0 and
 * null_if_negative), ?3 now: 0 or -errno. */
int token_update(struct store_conn *c, enum store_sql id, int64_t tid,
		 int64_t v, bool null_if_negative, int64_t now);

/* Records that the values fields (enum token_field) of token t changed in
 * c's open transaction, for the caches (store_record_change). */
void token_changed(struct store_conn *c, const struct token_info *t,
		   uint32_t fields);

/* token_rotate, by the holder of the token's secret when holder (who needs
 * no right on it: self-rotation), else by a as access.h allows. With
 * secret, the successor is sealed in the same transaction with a new secret
 * put there (size bytes, sodium_malloc'd), and its length returned. */
int token_rotate_as(struct store *st, const struct pfs_actor *a, int64_t id,
		    const char *val, size_t len, bool holder, int64_t *next,
		    char *secret, size_t size);

/* Generates the secret of unsealed token id into buf and seals the token
 * with its digest, in c's open transaction, audited as token_secret_taken:
 * the secret's length, or -errno. */
int token_seal_new(struct store_conn *c, const struct pfs_actor *a, int64_t id,
		   char *buf, size_t size);

/* The token whose secret has digest d: 0, -ENOENT, or -errno. */
int token_find_digest(struct store *st,
		      const unsigned char d[SECRET_DIGEST_LEN],
		      struct token_info *out);

/* Sets last_used_at of token id to now unless it was set within interval
 * seconds; concurrent calls write it once. Unless wait, -EBUSY at once while
 * another connection holds the write lock. 0 or -errno. */
int token_stamp_used(struct store *st, const struct token_info *t, int64_t now,
		     int interval, bool wait);

#endif
