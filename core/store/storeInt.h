/* storeInt.h - the store's insides, for its own files only: the schema,
 * the statements' text, and struct store_ops, behind which each backend
 * (SQLite in store_sqlite.c, PostgreSQL in store_pg*.c) implements
 * store_stmt.h, so users, tokens, audit and auth never know which one
 * runs. */
#ifndef PATFS_STORE_INT_H
#define PATFS_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"
#include "patfs/secret.h"
#include "patfs/store.h"
#include "store_stmt.h"

/* The schema's version; each backend keeps its own migrations (store_sql.c
 * for SQLite, store_pg.c for PostgreSQL) that take a store of any older
 * version to this one in one transaction. */
#define SCHEMA_VERSION 10

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
	/* A read-only transaction: what its statements read is one
	 * snapshot of the store; rollback ends it. */
	int (*read_begin)(struct store_conn *c);
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
	struct budget *budget;	     /* budget.h: what one uid may add */
	_Atomic uint64_t generation; /* store_generation's */
};

/* Links c into its store's list / unlinks and frees it (backends). */
void store_conn_link(struct store_conn *c);

#endif
