/* storeInt.h - what the core modules share about the store; not public.
 *
 * The core speaks to its store through prepared statements (store_sql),
 * their bindings and columns, and transactions; each backend (SQLite in
 * store_sqlite.c, PostgreSQL in store_pg.c) implements them behind struct
 * store_ops, so users, tokens, audit and auth never know which one runs. */
#ifndef PATFS_STORE_INT_H
#define PATFS_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The schema's version; each backend keeps its own migrations (store_sql.c
 * for SQLite, store_pg.c for PostgreSQL) that take a store of any older
 * version to this one in one transaction. */
#define SCHEMA_VERSION 7

/* The SQL of each statement, as SQLite reads it; a backend may rewrite it
 * (store_pg.c numbers parameters $N and says some things its own way). */
extern const char *const store_sql_text[STORE_NSQL];
extern const char *const store_schema[SCHEMA_VERSION];

/* PostgreSQL's own text (store_pg_sql.c): statements that differ from
 * SQLite's (NULL: SQLite's, numbered $N), the schema as of SCHEMA_VERSION,
 * and the upgrade from each version v to v + 1 (NULL: none). */
extern const char *const store_pg_sql[STORE_NSQL];
extern const char store_pg_create[];
extern const char *const store_pg_upgrade[SCHEMA_VERSION];
#define STORE_PG_CHANNEL "patfs_changes" /* what commits NOTIFY */

#define STORE_MAX_CHANGES 16
#define BUSY_MS		  10000 /* how long a change waits for the write lock */

struct store_conn;

/* One prepared statement of one connection: the backend's, which starts
 * with this. */
struct store_stmt {
	struct store_conn *c;
};

/* What a backend does. Every function that can fail returns 0 (or a
 * count) or -errno, logged by the backend unless said otherwise. */
struct store_ops {
	const char *name;
	/* Checks what the store's configuration names, and that a store
	 * with data has its pepper, before the pepper is read (or made). */
	int (*open)(struct store *st, char *err, size_t errlen);
	/* Creates or upgrades the schema, after the pepper is read. */
	int (*start)(struct store *st, char *err, size_t errlen);
	void (*close)(struct store *st);
	/* A new connection, owned by the caller (conn_free); NULL with err. */
	struct store_conn *(*conn_open)(struct store *st, char *err,
					size_t errlen);
	void (*conn_free)(struct store_conn *c);
	/* Statement id on c, owned by c; NULL on failure. */
	struct store_stmt *(*prepare)(struct store_conn *c, enum store_sql id);
	void (*finalize)(struct store_stmt *s);
	/* Forgets s's result and bindings. */
	void (*reset)(struct store_stmt *s);
	/* 1 for a row, 0 when done, -errno. */
	int (*step)(struct store_stmt *s);
	void (*bind_int)(struct store_stmt *s, int i, int64_t v);
	void (*bind_null)(struct store_stmt *s, int i);
	void (*bind_text)(struct store_stmt *s, int i, const char *p,
			  size_t len);
	void (*bind_blob)(struct store_stmt *s, int i, const void *p,
			  size_t len);
	int64_t (*col_int)(struct store_stmt *s, int i);
	const char *(*col_text)(struct store_stmt *s, int i);
	bool (*col_null)(struct store_stmt *s, int i);
	/* The id the last INSERT on c made; the rows the last statement
	 * changed. */
	int64_t (*last_id)(struct store_conn *c);
	int64_t (*changed)(struct store_conn *c);
	/* A write transaction: one at a time across every process and host,
	 * waiting for the others up to the connection's wait, or not at all
	 * (-EBUSY, unlogged). */
	int (*begin)(struct store_conn *c, bool wait);
	int (*commit)(struct store_conn *c);
	void (*rollback)(struct store_conn *c);
	void (*set_wait)(struct store_conn *c, int ms);
	/* Whether another process may have committed since the last call
	 * on c: 1 or 0 (cheaply), or -errno when the store cannot tell. */
	int (*poll)(struct store_conn *c);
	/* Whether a store's daemon of origin o may still be running: 1, 0,
	 * or -errno. */
	int (*alive)(struct store_conn *c, int64_t origin);
	int (*backup)(struct store *st, const char *path, store_progress_fn *fn,
		      void *ctx, char *err, size_t errlen);
	/* store_lead's answer. */
	int (*lead)(struct store *st, int what, bool take);
	/* Bytes the store takes, or -1. */
	int64_t (*bytes)(struct store *st);
};

extern const struct store_ops store_sqlite_ops;
/* The SQLite connection under c, for unit tests of that backend. */
struct sqlite3;
struct sqlite3 *store_sqlite_db(struct store_conn *c);
extern const struct store_ops store_pg_ops;

struct store_conn {
	struct store *st;
	struct store_stmt *stmt[STORE_NSQL];
	/* objects touched by the open transaction */
	struct store_change changes[STORE_MAX_CHANGES];
	int nchanges;
	bool overflow;
	bool quiet_busy; /* a busy store is an answer, not a fault */
	struct store_conn *prev, *next; /* st->conns, under st->lock */
};

struct store {
	const struct cfg *cfg;
	const struct store_ops *ops;
	void *impl;	       /* the backend's */
	int64_t origin;	       /* this process's store: names its changes */
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

/* Links c into its store's list / unlinks and frees it (backends). */
void store_conn_link(struct store_conn *c);

/* The statement id of c, reset and with its bindings cleared; NULL on failure
 * (logged). The statement stays owned by c. */
struct store_stmt *store_sql(struct store_conn *c, enum store_sql id);

/* Steps s: 1 for a row, 0 when done, or -errno (logged). */
int store_step(struct store_conn *c, struct store_stmt *s);

/* Runs a statement that returns no row: 0 or -errno. */
int store_exec(struct store_conn *c, struct store_stmt *s);

/* Bindings (parameters count from 1) and columns (from 0) of s. */
static inline void store_bind_int(struct store_stmt *s, int i, int64_t v)
{
	s->c->st->ops->bind_int(s, i, v);
}
static inline void store_bind_null(struct store_stmt *s, int i)
{
	s->c->st->ops->bind_null(s, i);
}
/* Text of len bytes (not NUL-terminated), copied. */
static inline void store_bind_text(struct store_stmt *s, int i, const char *p,
				   size_t len)
{
	s->c->st->ops->bind_text(s, i, p, len);
}
/* A NUL-terminated string, copied. */
void store_bind_str(struct store_stmt *s, int i, const char *p);
static inline void store_bind_blob(struct store_stmt *s, int i, const void *p,
				   size_t len)
{
	s->c->st->ops->bind_blob(s, i, p, len);
}
static inline int64_t store_col_int(struct store_stmt *s, int i)
{
	return s->c->st->ops->col_int(s, i);
}
/* The text of column i, valid until s is stepped or reset; "" for NULL. */
static inline const char *store_col_text(struct store_stmt *s, int i)
{
	return s->c->st->ops->col_text(s, i);
}
static inline bool store_col_null(struct store_stmt *s, int i)
{
	return s->c->st->ops->col_null(s, i);
}
static inline void store_reset(struct store_stmt *s)
{
	s->c->st->ops->reset(s);
}
/* The id the last INSERT on c made. */
static inline int64_t store_last_id(struct store_conn *c)
{
	return c->st->ops->last_id(c);
}
/* How many rows the last statement on c changed. */
static inline int64_t store_changed(struct store_conn *c)
{
	return c->st->ops->changed(c);
}

/* Steps s (bound) for one row, which row(s, out) reads into out, and resets
 * s: 0, -ENOENT when there is none, or -errno. */
typedef void store_row_fn(struct store_stmt *s, void *out);
int store_one(struct store_conn *c, struct store_stmt *s, store_row_fn *row,
	      void *out);
/* The same, of a row of one integer column, into *out. */
int store_one_int(struct store_conn *c, struct store_stmt *s, int64_t *out);

/* The body of a write transaction: 0 to commit, STORE_UNCHANGED to end it
 * with nothing to change (rolled back, and the caller told 0), or -errno
 * (rolled back). It checks access, writes, audits and records its changes
 * (store_touch_change) on c. */
#define STORE_UNCHANGED 1
typedef int store_txn_fn(struct store_conn *c, void *ctx);

/* Runs fn in one write transaction on this thread's connection: begins,
 * calls fn(c, ctx), commits when it returns 0 (the commit records and tells
 * the changes), and rolls back otherwise. 0, or -errno with nothing
 * changed. */
int store_txn(struct store *st, store_txn_fn *fn, void *ctx);

/* A write transaction, one at a time across every process (and host) of a
 * store. store_commit() records for others and tells the change hook of every
 * object recorded with store_touch(); store_rollback() forgets them.
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
void store_touch_change(struct store_conn *c, const struct store_change *ch);
/* The same, of a change that names no token values. */
void store_touch(struct store_conn *c, enum store_change_kind kind,
		 int64_t user_id, int64_t token_id, int64_t day);

/* Current time, in seconds since the epoch. */
int64_t store_now(void);

#endif
