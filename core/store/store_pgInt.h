/* store_pgInt.h - what the files of the PostgreSQL backend share: its
 * structs and limits. Included by store_pg*.c only. */
#ifndef PATFS_STORE_PG_INT_H
#define PATFS_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "storeInt.h"

#define MAX_PARAMS     16
#define PAGE_ROWS      1000 /* rows a listing fetches at a time */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define LOCK_CLASS     1885434982 /* "patf": the two-int4 key space */
#define LOCK_WRITE     1	  /* held by the writing transaction */
#define LOCK_SCHEMA    2	  /* held while the schema is made */
#define STR(x)	       #x
#define XSTR(x)	       STR(x)
struct store_pg {
	/* bumped by each connection that reaches the server again, so that
	 * the others try again at once rather than after their backoff */
	atomic_uint back;
	pthread_mutex_t lock; /* protects what follows */
	PGconn *session;      /* LISTENs; holds the origin's lock */
	bool session_lost;    /* told of the loss already */
	struct timespec retry_at;
	int backoff_ms;
};

struct store_pg_conn {
	struct store_conn base;
	PGconn *conn;
	unsigned gen;  /* bumped by each reconnection */
	bool in_tx;    /* inside BEGIN ... COMMIT/ROLLBACK */
	bool tx_lost;  /* the connection dropped inside the transaction */
	bool lost;     /* told of the loss already */
	bool ending;   /* the server said it ends this connection (an
			  immediate shutdown's FATAL): dead, whatever libpq's
			  status says until it reads the end */
	int wait_ms;   /* for the write lock */
	unsigned back; /* the store's back, when this one last tried */
	int64_t last_id, changed;
	struct timespec retry_at;
	int backoff_ms;
};

struct store_pg_stmt {
	struct store_stmt base;
	enum store_sql id;
	unsigned gen; /* the connection's, when prepared; 0: not yet */
	int nparams;
	char *val[MAX_PARAMS];
	int len[MAX_PARAMS], fmt[MAX_PARAMS];
	PGresult *res;
	int row, nrows;
	bool insert, more; /* more: a full page, maybe another after it */
};

static inline struct store_pg_conn *pc_of(struct store_conn *c)
{
	return (struct store_pg_conn *)c;
}

static inline struct store_pg_stmt *ps_of(struct store_stmt *s)
{
	return (struct store_pg_stmt *)s;
}

/* What the backend's files share, and its operations (store_ops). */

/* store_pg.c */
/* The primary message of res (or of conn), on one line, for the log. */
const char *store_pg_why(const PGresult *res, PGconn *conn, char *buf,
			 size_t size);
/* The one mapping from PostgreSQL's SQLSTATE codes to -errno. */
int store_pg_errno(const PGresult *res, PGconn *conn);
/* Whether pc can run a statement now, reconnecting (outside a
 * transaction, after its backoff) if it was lost. */
bool store_pg_usable(struct store_pg_conn *pc);
/* Notes a failure of pc's connection (res: the failed result, or NULL):
 * logged once per loss. */
void store_pg_note_loss(struct store_pg_conn *pc, const PGresult *res);
/* Whether pc's connection is up: libpq says so, and the server did not
 * say it ends it. */
bool store_pg_conn_ok(const struct store_pg_conn *pc);
/* A new connection to the store's database, or NULL with err set. */
PGconn *store_pg_connect(const struct cfg *cfg, char *err, size_t errlen);
/* Runs sql (fixed text, no parameters) on conn: 0 or -errno, with err
 * set if given. */
int store_pg_run(PGconn *conn, const char *sql, char *err, size_t errlen);
/* The operations of store_ops, as storeInt.h says. */
void store_pg_conn_free(struct store_conn *c);
struct store_conn *store_pg_conn_open(struct store *st, char *err,
				      size_t errlen);
/* Whether a statement that failed with r on pc may run once more on a new
 * connection: the old one was lost, outside any transaction. */
bool store_pg_again(struct store_pg_conn *pc, int r, int tries);
/* Opens the session of the store if it has none: LISTEN, and the
 * origin's lock. Under the store's lock. 0 or -errno with err. */
int store_pg_session_open(struct store *st, char *err, size_t errlen);
int store_pg_poll(struct store_conn *c);
int store_pg_alive(struct store_conn *c, int64_t origin);
int store_pg_lead(struct store *st, int what, bool take);
int store_pg_backup(struct store *st, const char *path, store_progress_fn *fn,
		    void *ctx, char *err, size_t errlen);
int64_t store_pg_bytes(struct store *st);

/* store_pg_stmt.c */
struct store_stmt *store_pg_prepare(struct store_conn *c, enum store_sql id);
void store_pg_reset(struct store_stmt *s);
void store_pg_finalize(struct store_stmt *s);
void store_pg_bind_int(struct store_stmt *s, int i, int64_t v);
void store_pg_bind_null(struct store_stmt *s, int i);
void store_pg_bind_text(struct store_stmt *s, int i, const char *p, size_t len);
void store_pg_bind_blob(struct store_stmt *s, int i, const void *p, size_t len);
int store_pg_step(struct store_stmt *s);
int64_t store_pg_col_int(struct store_stmt *s, int i);
const char *store_pg_col_text(struct store_stmt *s, int i);
bool store_pg_col_null(struct store_stmt *s, int i);
int64_t store_pg_last_id(struct store_conn *c);
int64_t store_pg_changed(struct store_conn *c);
int store_pg_begin(struct store_conn *c, bool wait);
int store_pg_read_begin(struct store_conn *c);
int store_pg_commit(struct store_conn *c);
void store_pg_rollback(struct store_conn *c);
void store_pg_set_wait(struct store_conn *c, int ms);

#endif
