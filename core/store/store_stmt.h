/* store_stmt.h - how the core's modules speak to the store: the
 * statements (store_sql.c holds their text), their bindings and columns,
 * one-row reads, transactions with their audit and the changes they record,
 * and the few facts of the store a module needs. Each backend implements
 * it behind storeInt.h, which no module outside the store sees. */
#ifndef PATFS_STORE_STMT_H
#define PATFS_STORE_STMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "patfs/secret.h"
#include "patfs/store.h"

struct store_conn;
struct store_stmt;

#define BUSY_MS 10000 /* how long a change waits for the write lock */

/* The columns of a token's row, in order: X(its index's name, its SQL).
 * store_sql.c makes the SELECT list of it (TOKEN_COLS), token_row reads
 * each column by its name, so the two cannot drift apart. */
#define TOKEN_COLUMNS(X)                                                       \
	X(TC_ID, "t.id")                                                       \
	X(TC_USER_ID, "t.user_id")                                             \
	X(TC_NAME, "t.name")                                                   \
	X(TC_DESCRIPTION, "t.description")                                     \
	X(TC_SCOPES, "t.scopes")                                               \
	X(TC_IMPERSONATION, "t.impersonation")                                 \
	X(TC_CREATED_AT, "t.created_at")                                       \
	X(TC_DESCRIPTION_AT, "t.description_at")                               \
	X(TC_SCOPES_AT, "t.scopes_at")                                         \
	X(TC_IMPERSONATION_AT, "t.impersonation_at")                           \
	X(TC_EXPIRES_AT, "t.expires_at")                                       \
	X(TC_EXPIRES_AT_AT, "t.expires_at_at")                                 \
	X(TC_LAST_USED_AT, "t.last_used_at")                                   \
	X(TC_REVOKED_AT, "t.revoked_at")                                       \
	X(TC_SEALED_AT, "t.sealed_at")                                         \
	X(TC_USER_NAME, "u.name")                                              \
	X(TC_USER_BLOCKED, "u.blocked")                                        \
	X(TC_USER_BLOCKED_AT, "u.blocked_at")                                  \
	X(TC_USER_UID, "u.uid")                                                \
	X(TC_USER_KIND, "u.kind")                                              \
	X(TC_PREVIOUS_ID, "t.previous_id")                                     \
	X(TC_NEXT_ID,                                                          \
	  "(SELECT n.id FROM tokens n WHERE n.previous_id = t.id)")            \
	X(TC_FAMILY_ID, "coalesce(t.family_id, t.id)")                         \
	X(TC_ACCESS_LEVEL, "t.access_level")                                   \
	X(TC_ACCESS_LEVEL_AT, "coalesce(t.access_level_at, t.created_at)")     \
	X(TC_RESOURCE_ID, "r.id")                                              \
	X(TC_RESOURCE_KIND, "r.kind")                                          \
	X(TC_RESOURCE_NAME, "r.name")                                          \
	X(TC_RESOURCE_PATH, "r.path")                                          \
	X(TC_RESOURCE_REMOVED_AT, "r.removed_at")                              \
	X(TC_NOTIFIED, "t.notified")                                           \
	X(TC_NOTIFIED_AT, "t.notified_at")                                     \
	X(TC_GITLAB_ID, "t.gitlab_id")                                         \
	X(TC_USER_GITLAB_ID, "u.gitlab_id")                                    \
	X(TC_CREATED_MS, "t.created_ms")                                       \
	X(TC_LAST_USED_MS, "t.last_used_ms")                                   \
	X(TC_DISABLED, "t.disabled")                                           \
	X(TC_DISABLED_AT, "t.disabled_at")                                     \
	X(TC_LAST_USED_FROM, "t.last_used_from")

enum token_col {
#define TOKEN_COL_ENUM(name, sql) name,
	TOKEN_COLUMNS(TOKEN_COL_ENUM)
#undef TOKEN_COL_ENUM
	    TOKEN_NCOLS
};

/* Every statement of the core, prepared once per connection. */
enum store_sql {
	SQL_BEGIN,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_USER_GET,
	SQL_USER_FIND,
	SQL_USER_LIST,
	SQL_USER_COUNT,
	SQL_USER_INSERT,
	SQL_USER_DELETE,
	SQL_USER_SET_BLOCKED,
	SQL_USER_SET_UID,
	SQL_USER_SET_KIND,
	SQL_USER_ADD_TOKEN,
	SQL_TOKEN_GET,
	SQL_TOKEN_FIND_ACTIVE,
	SQL_TOKEN_LIST_USER,
	SQL_TOKEN_LIST_DAY,
	SQL_TOKEN_LIST_NEVER,
	SQL_TOKEN_LIST_WINDOW,
	SQL_TOKEN_LIST_UID,
	SQL_TOKEN_LIST_CANCELLED,
	SQL_TOKEN_NEXT_EXPIRY,
	SQL_TOKEN_INSERT,
	SQL_TOKEN_SET_ACCESS_LEVEL,
	SQL_TOKEN_SET_DISABLED,
	SQL_TOKEN_LIST_UNUSED,
	SQL_TOKEN_LIST_OF_UID,
	SQL_BEGIN_READ,
	SQL_SOURCE_FIND,
	SQL_SOURCE_INSERT,
	SQL_SOURCE_BUMP,
	SQL_SOURCE_PRUNE,
	SQL_SOURCE_LIST,
	SQL_TOKEN_SET_FROM,
	SQL_RULES_LIST,
	SQL_STATS_UNUSED,
	SQL_STATS_NONCOMPLIANT,
	SQL_TOKEN_LIST_PRUNE,
	SQL_TOKEN_UNLINK_PREVIOUS,
	SQL_SOURCE_DELETE_TOKEN,
	SQL_TOKEN_DELETE,
	SQL_USER_SUB_TOKEN,
	SQL_RES_SUB_TOKEN,
	SQL_RULE_SET,
	SQL_TOKEN_LIST_ALL,
	SQL_USER_INSERT_BOT,
	SQL_RES_GET,
	SQL_RES_FIND,
	SQL_RES_LIST,
	SQL_RES_COUNT,
	SQL_RES_INSERT,
	SQL_RES_REMOVE,
	SQL_RES_SET_PATH,
	SQL_RES_ADD_TOKEN,
	SQL_RES_ACTIVE_TOKEN,
	SQL_RES_TOKENS,
	SQL_TOKEN_ROTATE,
	SQL_TOKEN_FAMILY,
	SQL_TOKEN_IMPORT,
	SQL_TOKEN_SET_DESCRIPTION,
	SQL_TOKEN_SET_SCOPES,
	SQL_TOKEN_SET_IMPERSONATION,
	SQL_TOKEN_SET_EXPIRES,
	SQL_TOKEN_SET_NOTIFIED,
	SQL_TOKEN_REVOKE,
	SQL_TOKEN_SEAL,
	SQL_TOKEN_LOST,
	SQL_TOKEN_BY_DIGEST,
	SQL_TOKEN_TOUCH,
	SQL_AUDIT_LAST,
	SQL_AUDIT_INSERT,
	SQL_AUDIT_FROM,
	SQL_CHANGE_INSERT,
	SQL_CHANGE_PRUNE,
	SQL_CHANGE_SINCE,
	SQL_CHANGE_LAST,
	SQL_DATA_VERSION,
	SQL_GL_USER_FIND,
	SQL_GL_USER_INSERT,
	SQL_GL_RES_FIND,
	SQL_GL_RES_INSERT,
	SQL_GL_RES_PATH,
	SQL_GL_TOKEN_FIND,
	SQL_GL_TOKEN_INSERT,
	SQL_GL_TOKEN_UPDATE,
	SQL_STATS_TOKENS,
	SQL_STATS_EXPIRING,
	SQL_STATS_AUDIT_TOP,
	SQL_STATS_ACTIONS,
	STORE_NSQL
};

/* The calling thread's connection, opened on first use; NULL on failure
 * (already logged). */
struct store_conn *store_conn(struct store *st);

/* The store of connection c. */
struct store *store_of(struct store_conn *c);

/* This process's origin in the store (who minted what, whose changes). */
int64_t store_origin(const struct store *st);

/* The keyed digest of secret under the store's pepper, into out: the only
 * way the pepper is used outside the store. */
void store_digest(const struct store *st, const char *secret, size_t len,
		  unsigned char out[SECRET_DIGEST_LEN]);

/* Whether the process of origin (another daemon, maybe on another host) is
 * still running: 1, 0, or -errno. */
int store_origin_alive(struct store_conn *c, int64_t origin);

/* The statement id of c, reset and with its bindings cleared; NULL on failure
 * (logged). The statement stays owned by c. */
struct store_stmt *store_sql(struct store_conn *c, enum store_sql id);

/* Steps s: 1 for a row, 0 when done, or -errno (logged). */
int store_step(struct store_conn *c, struct store_stmt *s);

/* Runs a statement that returns no row: 0 or -errno. */
int store_exec(struct store_conn *c, struct store_stmt *s);

/* Bindings (parameters count from 1) and columns (from 0) of s. */
void store_bind_int(struct store_stmt *s, int i, int64_t v);
void store_bind_null(struct store_stmt *s, int i);
/* Text of len bytes (not NUL-terminated), copied. */
void store_bind_text(struct store_stmt *s, int i, const char *p, size_t len);
/* A NUL-terminated string, copied. */
void store_bind_str(struct store_stmt *s, int i, const char *p);
void store_bind_blob(struct store_stmt *s, int i, const void *p, size_t len);
int64_t store_col_int(struct store_stmt *s, int i);
/* The text of column i, valid until s is stepped or reset; "" for NULL. */
const char *store_col_text(struct store_stmt *s, int i);
bool store_col_null(struct store_stmt *s, int i);
void store_reset(struct store_stmt *s);
/* The id the last INSERT on c made. */
int64_t store_last_id(struct store_conn *c);
/* How many rows the last statement on c changed. */
int64_t store_changed(struct store_conn *c);

/* Steps s (bound) for one row, which row(s, out) reads into out, and resets
 * s: 0, -ENOENT when there is none, or -errno. */
typedef void store_row_fn(struct store_stmt *s, void *out);
int store_one(struct store_conn *c, struct store_stmt *s, store_row_fn *row,
	      void *out);
/* The same, of statement sql bound with ?1 id, on c. */
int store_one_id(struct store_conn *c, enum store_sql sql, int64_t id,
		 store_row_fn *row, void *out);
/* The same, of a row of one integer column, into *out. */
int store_one_int(struct store_conn *c, struct store_stmt *s, int64_t *out);
/* The same, where no row is no error (*out is left as it was): 0 or
 * -errno. */
int store_one_count(struct store_conn *c, struct store_stmt *s, int64_t *out);
/* The one integer of statement id (no parameters) on this thread's
 * connection into *out, 0 when there is no row: 0 or -errno. */
int store_count(struct store *st, enum store_sql id, int64_t *out);

/* The body of a write transaction: 0 to commit, STORE_UNCHANGED to end it
 * with nothing to change (rolled back, and the caller told 0), or -errno
 * (rolled back). It checks access, writes, audits and records its changes
 * (store_record_change) on c. */
#define STORE_UNCHANGED 1
typedef int store_txn_fn(struct store_conn *c, void *ctx);

/* What most bodies are handed as ctx: actor a writes the len bytes at val
 * to attribute attr of object id (a token, a user, a project or group), or
 * makes one named val under id (of kind attr), its new id into out. */
struct store_edit {
	const struct pfs_actor *a;
	int64_t id;
	int attr;
	const char *val;
	size_t len;
	int64_t out;
	const char *reason; /* the audit record's, or NULL */
};

/* Runs fn in one write transaction on this thread's connection: begins,
 * calls fn(c, ctx), commits when it returns 0 (the commit records and tells
 * the changes), and rolls back otherwise. 0, or -errno with nothing
 * changed. */
int store_txn(struct store *st, store_txn_fn *fn, void *ctx);

/* Runs fn(c, ctx) in one read-only transaction on this thread's
 * connection, so that all it reads, however many statements, is one
 * snapshot of the store: fn's answer, or -errno. */
int store_read(struct store *st, store_txn_fn *fn, void *ctx);

/* The tail of a write that makes something: refused (the -errno of a
 * check made before, or 0), else store_txn(st, fn, e) and, on success, the
 * new id from e->out into *out. */
int store_txn_out(struct store *st, int refused, store_txn_fn *fn,
		  struct store_edit *e, int64_t *out);

/* A write transaction, one at a time across every process (and host) of a
 * store. store_commit() records for others and tells the change hook of every
 * object recorded with store_record(); store_rollback() forgets them.
 * Both return 0 or -errno; after a failed commit the transaction is rolled
 * back. */
int store_begin(struct store_conn *c);
/* The same, but -EBUSY at once (and unlogged) while another connection
 * holds the write lock, instead of waiting up to BUSY_MS for it. */
int store_begin_nowait(struct store_conn *c);

/* How long this thread's statements wait for a lock another connection
 * holds (BUSY_MS unless changed), in milliseconds. */
void store_set_wait(struct store *st, int ms);
int store_commit(struct store_conn *c);
void store_rollback(struct store_conn *c);
/* Records ch for the open transaction's commit; a change recorded already
 * (same kind and object) gains ch's fields instead of a second entry. */
void store_record_change(struct store_conn *c, const struct store_change *ch);
/* The same, of a change that names no token values. */
void store_record(struct store_conn *c, enum store_change_kind kind,
		  int64_t user_id, int64_t token_id, int64_t day);

/* Current time, in seconds since the epoch. */
int64_t store_now(void);

/* Appends one record to the audit trail in c's open transaction (audit.c).
 * old, new and reason may be NULL. Returns 0 or -errno; the caller then
 * rolls back. */
struct pfs_actor;
int audit_add(struct store_conn *c, const struct pfs_actor *a,
	      const char *action, const char *object, const char *old,
	      const char *new, const char *reason);

#endif
