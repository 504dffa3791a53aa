/* storeInt.h - what the core modules share about the store; not public. */
#ifndef PATFS_STORE_INT_H
#define PATFS_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "patfs/pfs.h"
#include "patfs/store.h"

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
	SQL_TOKEN_NEXT_EXPIRY,
	SQL_TOKEN_INSERT,
	SQL_TOKEN_SET_ACCESS_LEVEL,
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

/* The schema's version (PRAGMA user_version); store_schema[v] takes a
 * store from version v to v + 1, in one transaction. */
#define SCHEMA_VERSION 6
extern const char *const store_schema[SCHEMA_VERSION];

/* Copies the database of db into a new file path (store_backup.c): 0 or
 * -errno with err set. */
int store_copy(sqlite3 *db, const char *path, store_progress_fn *fn,
	       void *ctx, char *err, size_t errlen);

/* The SQL of each statement. */
extern const char *const store_sql_text[STORE_NSQL];

#define STORE_MAX_CHANGES 16
#define BUSY_MS		  10000 /* how long a change waits for the write lock */

struct store_conn {
	struct store *st;
	sqlite3 *db;
	sqlite3_stmt *stmt[STORE_NSQL];
	/* objects touched by the open transaction */
	struct store_change changes[STORE_MAX_CHANGES];
	int nchanges;
	bool overflow;
	int64_t data_version; /* as last seen by store_changes_since */
	bool quiet_busy;      /* a busy store is an answer, not a fault */
	struct store_conn *prev, *next; /* st->conns, under st->lock */
};

struct store {
	const struct cfg *cfg;
	unsigned char *pepper; /* read-only sodium memory */
	pthread_key_t key;     /* this thread's store_conn */
	pthread_mutex_t lock;  /* protects conns */
	struct store_conn *conns;
	store_change_fn *hook;
	void *hook_ctx;
};

/* The calling thread's connection, opened on first use; NULL on failure
 * (already logged). */
struct store_conn *store_conn(struct store *st);

/* The statement id of c, reset and with its bindings cleared; NULL on failure
 * (logged). The statement stays owned by c. */
sqlite3_stmt *store_sql(struct store_conn *c, enum store_sql id);

/* Steps s: 1 for a row, 0 when done, or -errno (logged). */
int store_step(struct store_conn *c, sqlite3_stmt *s);

/* Runs a statement that returns no row: 0 or -errno. */
int store_exec(struct store_conn *c, sqlite3_stmt *s);

/* The one mapping from SQLite result codes to -errno. */
int store_errno(int rc);

/* A write transaction (BEGIN IMMEDIATE). store_commit() tells the change hook
 * of every object recorded with store_touch(); store_rollback() forgets them.
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
void store_touch(struct store_conn *c, enum store_change_kind kind,
		 int64_t user_id, int64_t token_id, int64_t day);

/* Current time, in seconds since the epoch. */
int64_t store_now(void);

/* Binds text of len bytes (not NUL-terminated) as parameter i. */
int store_bind_text(sqlite3_stmt *s, int i, const char *p, size_t len);

#endif
