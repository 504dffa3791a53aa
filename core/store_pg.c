/* store_pg.c - the PostgreSQL backend, through libpq: one store shared by
 * the daemons of many hosts.
 *
 * Each thread has its own connection, whose statements are prepared once
 * (again after a reconnection). A write transaction takes a transaction-level
 * advisory lock first, so writers take turns across every host as they do
 * on SQLite's file lock: a check-then-insert (one winner among racing mints
 * of a name) needs nothing more. Every row of the changes table is announced
 * by a trigger, NOTIFY patfs_changes with the change as its payload, sent
 * when the transaction commits; each process LISTENs on one more connection
 * (its session), which also holds a session-level advisory lock on the
 * process's origin for as long as it lives, so that others can tell whether
 * the daemon that minted an unsealed token is still running.
 *
 * When the server cannot be reached, a statement fails at once with -EIO (the
 * loss and the recovery are logged once each); a connection is tried again
 * after a backoff that doubles up to BACKOFF_MAX_MS. A connection lost inside
 * a transaction fails every statement of it until the rollback: nothing runs
 * half in one transaction and half outside. */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "patfs/cfg.h"
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

/* Listings read PAGE_ROWS rows at a time: the next page is the same
 * statement with its key parameters set from the last row's columns. */
struct page_key {
	int param[2], col[2]; /* 0: none */
};

static const struct page_key pages[STORE_NSQL] = {
    [SQL_USER_LIST] = {{1}, {0}},
    [SQL_TOKEN_LIST_USER] = {{2}, {0}},
    [SQL_TOKEN_LIST_DAY] = {{2}, {0}},
    [SQL_TOKEN_LIST_NEVER] = {{2}, {0}},
    [SQL_TOKEN_LIST_WINDOW] = {{1, 2}, {10, 0}},
    [SQL_RES_LIST] = {{2}, {0}},
    [SQL_RES_TOKENS] = {{2}, {0}},
    [SQL_CHANGE_SINCE] = {{1}, {0}},
};

struct pg_store {
	/* bumped by each connection that reaches the server again, so that
	 * the others try again at once rather than after their backoff */
	atomic_uint back;
	pthread_mutex_t lock; /* protects what follows */
	PGconn *session;      /* LISTENs; holds the origin's lock */
	bool session_lost;    /* told of the loss already */
	struct timespec retry_at;
	int backoff_ms;
};

struct pg_conn {
	struct store_conn base;
	PGconn *conn;
	unsigned gen;  /* bumped by each reconnection */
	bool in_tx;    /* inside BEGIN ... COMMIT/ROLLBACK */
	bool tx_lost;  /* the connection dropped inside the transaction */
	bool lost;     /* told of the loss already */
	int wait_ms;   /* for the write lock */
	unsigned back; /* the store's back, when this one last tried */
	int64_t last_id, changed;
	struct timespec retry_at;
	int backoff_ms;
};

struct pg_stmt {
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

static struct pg_conn *pc_of(struct store_conn *c)
{
	return (struct pg_conn *)c;
}

static struct pg_stmt *ps_of(struct store_stmt *s)
{
	return (struct pg_stmt *)s;
}

/* Texts --------------------------------------------------------------- */

static char *texts[STORE_NSQL];
static int nparams[STORE_NSQL];
static Oid types[STORE_NSQL][MAX_PARAMS]; /* int8 where unused, else 0 */
static pthread_once_t texts_once = PTHREAD_ONCE_INIT;

/* SQLite's text with ?N as $N (outside quotes), RETURNING the new row's key
 * after an INSERT, and a page's limit after a listing. */
static char *pg_text(enum store_sql id, int *np, Oid *type)
{
	const char *in =
		       store_pg_sql[id] ? store_pg_sql[id] : store_sql_text[id],
		   *p;
	size_t n = strlen(in);
	char *out = malloc(n + 64), *o = out;
	bool quoted = false;
	int max = 0;

	if (!out)
		return NULL;
	for (p = in; *p; p++) {
		if (*p == '\'')
			quoted = !quoted;
		if (!quoted && (*p == '?' || *p == '$') && p[1] >= '0' &&
		    p[1] <= '9') {
			int v = atoi(p + 1);
			max = v > max ? v : max;
			if (v >= 1 && v <= MAX_PARAMS)
				type[v - 1] = 1; /* used */
			*o++ = '$';
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	if (!strncmp(in, "INSERT INTO", 11) && !strstr(in, "RETURNING"))
		strcat(out, " RETURNING id");
	if (pages[id].param[0])
		strcat(out, " LIMIT " XSTR(PAGE_ROWS));
	*np = max;
	/* a parameter the text never names still needs a type */
	for (int i = 0; i < MAX_PARAMS; i++)
		type[i] = type[i] ? 0 : 20 /* int8 */;
	return out;
}

static void make_texts(void)
{
	for (int i = 0; i < STORE_NSQL; i++)
		if (store_sql_text[i])
			texts[i] =
			    pg_text((enum store_sql)i, &nparams[i], types[i]);
}

/* Errors --------------------------------------------------------------- */

/* The primary message of res (or of conn), on one line, for the log. */
static const char *why(const PGresult *res, PGconn *conn, char *buf,
		       size_t size)
{
	const char *m =
	    res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char *nl;

	snprintf(buf, size, "%s", m ? m : conn ? PQerrorMessage(conn) : "");
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	return buf;
}

/* The one mapping from PostgreSQL's SQLSTATE codes to -errno. */
static int pg_errno(const PGresult *res, PGconn *conn)
{
	const char *state =
	    res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(conn) != CONNECTION_OK || !state)
		return -EIO;
	if (!strncmp(state, "23", 2))
		return -EEXIST; /* integrity constraint, as SQLite's */
	if (!strcmp(state, "55P03") || !strcmp(state, "40001") ||
	    !strcmp(state, "40P01") || !strcmp(state, "57014"))
		return -EBUSY;
	if (!strcmp(state, "53100"))
		return -ENOSPC;
	if (!strcmp(state, "53200"))
		return -ENOMEM;
	if (!strcmp(state, "25006"))
		return -EROFS; /* a standby */
	if (!strcmp(state, "42501") || !strncmp(state, "28", 2))
		return -EACCES;
	return -EIO;
}

static void after(struct timespec *t, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool due(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec ||
	       (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Connections ---------------------------------------------------------- */

static void quiet(void *arg, const char *message)
{
	(void)arg, (void)message;
}

/* A new connection to the store's database, or NULL with err set. Every
 * wait is bounded: connecting, and the kernel's view of a dead peer. */
static PGconn *connect_db(const struct cfg *cfg, char *err, size_t errlen)
{
	const char *keys[] = {"connect_timeout",
			      "keepalives_idle",
			      "keepalives_interval",
			      "keepalives_count",
			      "tcp_user_timeout",
			      "application_name",
			      "dbname",
			      NULL};
	const char *vals[] = {"5",
			      "10",
			      "3",
			      "3",
			      "15000",
			      "patfs",
			      cfg->store_dsn ? cfg->store_dsn : "",
			      NULL};
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	char *nl;

	if (conn && PQstatus(conn) == CONNECTION_OK) {
		/* the server's notices (and what it says while idle, such as
		 * its shutdown) are not ours to print: losses are logged once
		 */
		PQsetNoticeProcessor(conn, quiet, NULL);
		return conn;
	}
	snprintf(err, errlen, "postgresql: %s",
		 conn ? PQerrorMessage(conn) : "out of memory");
	if ((nl = strchr(err, '\n')) != NULL)
		*nl = '\0';
	PQfinish(conn);
	return NULL;
}

/* Runs sql (fixed text, no parameters) on conn: 0 or -errno, with err set
 * if given. */
static int run(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int r = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		r = pg_errno(res, conn);
		if (err) {
			char *nl;
			snprintf(err, errlen, "postgresql: %s",
				 PQerrorMessage(conn));
			if ((nl = strchr(err, '\n')) != NULL)
				*nl = '\0';
		}
	}
	PQclear(res);
	return r;
}

static void pg_conn_free(struct store_conn *c)
{
	PQfinish(pc_of(c)->conn);
	free(c);
}

static struct store_conn *pg_conn_open(struct store *st, char *err,
				       size_t errlen)
{
	struct pg_conn *pc = calloc(1, sizeof(*pc));

	if (!pc) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pc->base.st = st;
	pc->wait_ms = BUSY_MS;
	pc->gen = 1;
	pc->conn = connect_db(st->cfg, err, errlen);
	if (!pc->conn) {
		/* a thread that starts while the server is away waits for
		 * it as the others do: its statements fail until then */
		pfs_log(PFS_LOG_ERR, "%s", err);
		pc->lost = true;
		after(&pc->retry_at, BACKOFF_MIN_MS);
	}
	return &pc->base;
}

/* Whether pc can run a statement now, reconnecting (outside a transaction,
 * after its backoff) if it was lost. */
static bool usable(struct pg_conn *pc)
{
	char err[512];
	PGconn *conn;

	struct pg_store *ps = pc->base.st->impl;
	unsigned back = atomic_load(&ps->back);

	if (pc->tx_lost)
		return false;
	if (PQstatus(pc->conn) == CONNECTION_OK)
		return true;
	if (pc->in_tx || (!due(&pc->retry_at) && pc->back == back))
		return false;
	pc->back = back;
	conn = connect_db(pc->base.st->cfg, err, sizeof(err));
	if (!conn) {
		pc->backoff_ms =
		    pc->backoff_ms ? pc->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (pc->backoff_ms > BACKOFF_MAX_MS)
			pc->backoff_ms = BACKOFF_MAX_MS;
		after(&pc->retry_at, pc->backoff_ms);
		return false;
	}
	PQfinish(pc->conn);
	pc->conn = conn;
	pc->gen++; /* its statements are prepared again */
	pc->backoff_ms = 0;
	if (pc->lost) {
		pfs_log(PFS_LOG_INFO, "postgresql: connected again");
		pc->back = atomic_fetch_add(&ps->back, 1) + 1;
	}
	pc->lost = false;
	return true;
}

/* Notes a failure of pc's connection: logged once per loss. */
static void note_loss(struct pg_conn *pc)
{
	if (PQstatus(pc->conn) == CONNECTION_OK)
		return;
	if (pc->in_tx)
		pc->tx_lost = true;
	if (!pc->lost)
		pfs_log(PFS_LOG_ERR,
			"postgresql: lost the connection to the store; "
			"changes fail (EIO) until it is back");
	/* the first try comes at once: a connection the server dropped while
	 * it sat idle (a restart) is simply made again */
	if (!pc->lost)
		clock_gettime(CLOCK_MONOTONIC, &pc->retry_at);
	pc->lost = true;
}

/* Whether a statement that failed with r on pc may run once more on a new
 * connection: the old one was lost, outside any transaction. */
static bool again(struct pg_conn *pc, int r, int tries)
{
	return r == -EIO && tries == 0 && !pc->in_tx &&
	       PQstatus(pc->conn) != CONNECTION_OK;
}

/* Statements ----------------------------------------------------------- */

static struct store_stmt *pg_prepare(struct store_conn *c, enum store_sql id)
{
	struct pg_stmt *ps;

	pthread_once(&texts_once, make_texts);
	if (!texts[id] || nparams[id] > MAX_PARAMS) {
		pfs_log(PFS_LOG_ERR, "preparing statement %d: no text", id);
		return NULL;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	ps->base.c = c;
	ps->id = id;
	ps->nparams = nparams[id];
	ps->insert = !strncmp(texts[id], "INSERT", 6);
	return &ps->base;
}

static void clear_result(struct pg_stmt *ps)
{
	PQclear(ps->res);
	ps->res = NULL;
	ps->row = ps->nrows = 0;
	ps->more = false;
}

static void pg_reset(struct store_stmt *s)
{
	struct pg_stmt *ps = ps_of(s);

	clear_result(ps);
	for (int i = 0; i < MAX_PARAMS; i++) {
		free(ps->val[i]);
		ps->val[i] = NULL;
		ps->len[i] = ps->fmt[i] = 0;
	}
}

static void pg_finalize(struct store_stmt *s)
{
	pg_reset(s);
	free(s);
}

/* Sets parameter i (from 1) to a copy of len bytes at p, text or binary. */
static void set_param(struct pg_stmt *ps, int i, const void *p, size_t len,
		      int fmt)
{
	char *v;

	if (i < 1 || i > MAX_PARAMS)
		return;
	v = p ? malloc(len + 1) : NULL;
	if (v) {
		memcpy(v, p, len);
		v[len] = '\0';
	}
	free(ps->val[i - 1]);
	ps->val[i - 1] = v;
	ps->len[i - 1] = (int)len;
	ps->fmt[i - 1] = fmt;
}

static void pg_bind_int(struct store_stmt *s, int i, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	set_param(ps_of(s), i, buf, (size_t)n, 0);
}

static void pg_bind_null(struct store_stmt *s, int i)
{
	set_param(ps_of(s), i, NULL, 0, 0);
}

static void pg_bind_text(struct store_stmt *s, int i, const char *p, size_t len)
{
	set_param(ps_of(s), i, p, len, 0);
}

static void pg_bind_blob(struct store_stmt *s, int i, const void *p, size_t len)
{
	set_param(ps_of(s), i, p, len, 1);
}

/* Prepares ps on its connection if this connection has not yet. */
static int ensure_prepared(struct pg_stmt *ps)
{
	char msg[256];
	struct pg_conn *pc = pc_of(ps->base.c);
	char name[16];
	PGresult *res;
	int r = 0;

	if (ps->gen == pc->gen)
		return 0;
	snprintf(name, sizeof(name), "p%d", (int)ps->id);
	res = PQprepare(pc->conn, name, texts[ps->id], ps->nparams,
			types[ps->id]);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = pg_errno(res, pc->conn);
		note_loss(pc);
		if (PQstatus(pc->conn) == CONNECTION_OK)
			pfs_log(PFS_LOG_ERR, "postgresql: preparing %d: %s",
				(int)ps->id,
				why(res, pc->conn, msg, sizeof(msg)));
	} else {
		ps->gen = pc->gen;
	}
	PQclear(res);
	return r;
}

/* Runs ps with its parameters: 0 or -errno (logged unless an answer). */
static int execute(struct pg_stmt *ps)
{
	struct pg_conn *pc = pc_of(ps->base.c);
	ExecStatusType st;
	char name[16], msg[256];
	int r;

	snprintf(name, sizeof(name), "p%d", (int)ps->id);
	for (int tries = 0;; tries++) {
		if (!usable(pc))
			return -EIO;
		r = ensure_prepared(ps);
		if (r && again(pc, r, tries))
			continue;
		if (r)
			return r;
		PQclear(ps->res);
		ps->res = PQexecPrepared(pc->conn, name, ps->nparams,
					 (const char *const *)ps->val, ps->len,
					 ps->fmt, 0);
		st = PQresultStatus(ps->res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			break;
		r = pg_errno(ps->res, pc->conn);
		note_loss(pc);
		if (r != -EEXIST && r != -EIO &&
		    !(r == -EBUSY && pc->base.quiet_busy))
			pfs_log(PFS_LOG_ERR, "postgresql: %s",
				why(ps->res, pc->conn, msg, sizeof(msg)));
		clear_result(ps);
		if (!again(pc, r, tries))
			return r;
	}
	ps->row = 0;
	ps->nrows = PQntuples(ps->res);
	pc->changed = atoll(PQcmdTuples(ps->res));
	if (ps->insert) {
		if (ps->nrows > 0)
			pc->last_id = atoll(PQgetvalue(ps->res, 0, 0));
		ps->nrows = 0; /* RETURNING is for last_id, not a row */
	}
	ps->more = pages[ps->id].param[0] && ps->nrows == PAGE_ROWS;
	return 0;
}

/* Sets ps's key parameters from its last row, for the next page. */
static void next_page(struct pg_stmt *ps)
{
	const struct page_key *k = &pages[ps->id];
	int last = ps->nrows - 1;

	for (int i = 0; i < 2 && k->param[i]; i++) {
		const char *v = PQgetvalue(ps->res, last, k->col[i]);
		set_param(ps, k->param[i], v, strlen(v), 0);
	}
}

static int pg_step(struct store_stmt *s)
{
	struct pg_stmt *ps = ps_of(s);
	int r;

	if (!ps->res) {
		r = execute(ps);
		if (r)
			return r;
	} else if (++ps->row >= ps->nrows && ps->more) {
		next_page(ps);
		r = execute(ps);
		if (r)
			return r;
	}
	return ps->row < ps->nrows ? 1 : 0;
}

static int64_t pg_col_int(struct store_stmt *s, int i)
{
	struct pg_stmt *ps = ps_of(s);

	if (!ps->res || ps->row >= ps->nrows ||
	    PQgetisnull(ps->res, ps->row, i))
		return 0;
	return strtoll(PQgetvalue(ps->res, ps->row, i), NULL, 10);
}

static const char *pg_col_text(struct store_stmt *s, int i)
{
	struct pg_stmt *ps = ps_of(s);

	if (!ps->res || ps->row >= ps->nrows)
		return "";
	return PQgetvalue(ps->res, ps->row, i);
}

static bool pg_col_null(struct store_stmt *s, int i)
{
	struct pg_stmt *ps = ps_of(s);

	return !ps->res || ps->row >= ps->nrows ||
	       PQgetisnull(ps->res, ps->row, i);
}

static int64_t pg_last_id(struct store_conn *c)
{
	return pc_of(c)->last_id;
}

static int64_t pg_changed(struct store_conn *c)
{
	return pc_of(c)->changed;
}

/* Transactions --------------------------------------------------------- */

static int pg_begin(struct store_conn *c, bool wait)
{
	struct pg_conn *pc = pc_of(c);
	char sql[160], msg[256];
	PGresult *res;
	int r;

	if (wait)
		snprintf(sql, sizeof(sql),
			 "BEGIN; SET LOCAL lock_timeout = %d;"
			 " SELECT pg_advisory_xact_lock(%d, %d)",
			 pc->wait_ms, LOCK_CLASS, LOCK_WRITE);
	else
		snprintf(sql, sizeof(sql),
			 "BEGIN; SELECT pg_try_advisory_xact_lock(%d, %d)",
			 LOCK_CLASS, LOCK_WRITE);
	for (int tries = 0;; tries++) {
		if (!usable(pc))
			return -EIO;
		r = 0;
		pc->in_tx = true;
		res = PQexec(pc->conn, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			r = pg_errno(res, pc->conn);
			note_loss(pc);
			if (r != -EIO && !(r == -EBUSY && c->quiet_busy))
				pfs_log(PFS_LOG_ERR, "postgresql: %s",
					why(res, pc->conn, msg, sizeof(msg)));
		} else if (!wait && strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
			r = -EBUSY;
		}
		PQclear(res);
		if (!r)
			return 0;
		if (!pc->tx_lost)
			run(pc->conn, "ROLLBACK", NULL, 0);
		pc->in_tx = pc->tx_lost = false;
		if (!again(pc, r, tries))
			return r;
	}
}

/* Commits (the changes table's trigger announced each change: sent now). A
 * transaction in which a statement failed is rolled back by COMMIT itself (its
 * status says ROLLBACK): that is a failure here, never an acknowledged change.
 */
static int pg_commit(struct store_conn *c)
{
	struct pg_conn *pc = pc_of(c);
	PGresult *res;
	char msg[256];
	int r = 0;

	if (pc->tx_lost)
		return -EIO;
	res = PQexec(pc->conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = pg_errno(res, pc->conn);
		note_loss(pc);
		if (r != -EIO)
			pfs_log(PFS_LOG_ERR, "postgresql: commit: %s",
				why(res, pc->conn, msg, sizeof(msg)));
	} else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		pfs_log(PFS_LOG_ERR, "postgresql: a failed transaction was "
				     "committed: rolled back");
		r = -EIO;
		pc->in_tx = false;
	} else {
		pc->in_tx = false;
	}
	PQclear(res);
	return r; /* on failure, store_commit rolls back */
}

static void pg_rollback(struct store_conn *c)
{
	struct pg_conn *pc = pc_of(c);

	if (pc->in_tx && !pc->tx_lost && PQstatus(pc->conn) == CONNECTION_OK)
		run(pc->conn, "ROLLBACK", NULL, 0);
	pc->in_tx = pc->tx_lost = false;
}

static void pg_set_wait(struct store_conn *c, int ms)
{
	pc_of(c)->wait_ms = ms;
}

/* The session ----------------------------------------------------------- */

/* Opens the session of the store if it has none: LISTEN, and the origin's
 * lock. Under ps->lock. 0 or -errno with err. */
static int session_open(struct store *st, char *err, size_t errlen)
{
	char msg[256];
	struct pg_store *ps = st->impl;
	const char *val[1];
	char origin[24];
	PGresult *res;
	PGconn *conn;
	int r;

	if (ps->session && PQstatus(ps->session) == CONNECTION_OK)
		return 0;
	conn = connect_db(st->cfg, err, errlen);
	if (!conn)
		return -EIO;
	r = run(conn, "LISTEN " STORE_PG_CHANNEL, err, errlen);
	if (!r) {
		snprintf(origin, sizeof(origin), "%" PRId64, st->origin);
		val[0] = origin;
		res = PQexecParams(conn, "SELECT pg_advisory_lock($1::bigint)",
				   1, NULL, val, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			r = pg_errno(res, conn);
			snprintf(err, errlen, "postgresql: %s",
				 why(res, conn, msg, sizeof(msg)));
		}
		PQclear(res);
	}
	if (r) {
		PQfinish(conn);
		return r;
	}
	PQfinish(ps->session);
	ps->session = conn;
	return 0;
}

/* Whether a change of another process was announced since the last call:
 * read from the session without a round trip. After the session was lost
 * and opened again, 1: the changes table says what was missed. */
static int pg_poll(struct store_conn *c)
{
	struct store *st = c->st;
	struct pg_store *ps = st->impl;
	char err[512], me[24];
	PGnotify *n;
	int r = 0;

	snprintf(me, sizeof(me), " %" PRId64, st->origin);
	pthread_mutex_lock(&ps->lock);
	if (ps->session && PQstatus(ps->session) == CONNECTION_OK &&
	    !PQconsumeInput(ps->session))
		PQfinish(ps->session), ps->session = NULL;
	if (!ps->session || PQstatus(ps->session) != CONNECTION_OK) {
		if (!ps->session_lost)
			pfs_log(PFS_LOG_ERR,
				"postgresql: lost the store's notifications; "
				"trying again");
		ps->session_lost = true;
		if (!due(&ps->retry_at)) {
			pthread_mutex_unlock(&ps->lock);
			return -EIO;
		}
		if (session_open(st, err, sizeof(err)) != 0) {
			ps->backoff_ms = ps->backoff_ms ? ps->backoff_ms * 2
							: BACKOFF_MIN_MS;
			if (ps->backoff_ms > BACKOFF_MAX_MS)
				ps->backoff_ms = BACKOFF_MAX_MS;
			after(&ps->retry_at, ps->backoff_ms);
			pthread_mutex_unlock(&ps->lock);
			return -EIO;
		}
		pfs_log(PFS_LOG_INFO,
			"postgresql: notifications of the store back");
		atomic_fetch_add(&ps->back, 1);
		ps->session_lost = false;
		ps->backoff_ms = 0;
		r = 1;
	}
	while ((n = PQnotifies(ps->session)) != NULL) {
		const char *sp = strchr(n->extra, ' ');
		if (!sp || strcmp(sp, me) != 0)
			r = 1; /* another process's change */
		PQfreemem(n);
	}
	pthread_mutex_unlock(&ps->lock);
	return r;
}

/* A daemon is alive while its session holds its origin's lock. */
static int pg_alive(struct store_conn *c, int64_t origin)
{
	struct pg_conn *pc = pc_of(c);
	char key[24];
	const char *val[1] = {key};
	PGresult *res;
	int r;

	if (origin == c->st->origin)
		return 1;
	if (!usable(pc))
		return -EIO;
	snprintf(key, sizeof(key), "%" PRId64, origin);
	res = PQexecParams(pc->conn, "SELECT pg_try_advisory_lock($1::bigint)",
			   1, NULL, val, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = pg_errno(res, pc->conn);
		note_loss(pc);
	} else {
		r = strcmp(PQgetvalue(res, 0, 0), "t") != 0;
	}
	PQclear(res);
	if (r == 0) { /* it was free: let it go again */
		res = PQexecParams(pc->conn,
				   "SELECT pg_advisory_unlock($1::bigint)", 1,
				   NULL, val, NULL, NULL, 0);
		PQclear(res);
	}
	return r;
}

/* A lead is a session-level advisory lock of the session: it ends with the
 * process (or with its session's connection). */
static int pg_lead(struct store *st, int what, bool take)
{
	struct pg_store *ps = st->impl;
	char key[16];
	const char *val[1] = {key};
	PGresult *res;
	int r = -EIO;

	snprintf(key, sizeof(key), "%d", what);
	pthread_mutex_lock(&ps->lock);
	if (ps->session && PQstatus(ps->session) == CONNECTION_OK) {
		res = PQexecParams(ps->session,
				   take ? "SELECT pg_try_advisory_lock(" XSTR(
					      LOCK_CLASS) ", $1::integer)"
					: "SELECT pg_advisory_unlock(" XSTR(
					      LOCK_CLASS) ", $1::integer)",
				   1, NULL, val, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			r = strcmp(PQgetvalue(res, 0, 0), "t") == 0 || !take;
		PQclear(res);
	}
	pthread_mutex_unlock(&ps->lock);
	return take ? r : 0;
}

static int pg_backup(struct store *st, const char *path, store_progress_fn *fn,
		     void *ctx, char *err, size_t errlen)
{
	(void)st, (void)path, (void)fn, (void)ctx;
	snprintf(err, errlen,
		 "a PostgreSQL store is backed up with the server's own "
		 "tools (pg_dump, or a base backup and its WAL), with the "
		 "pepper beside it");
	return -EOPNOTSUPP;
}

static int64_t pg_bytes(struct store *st)
{
	struct store_conn *c = store_conn(st);
	struct pg_conn *pc = c ? pc_of(c) : NULL;
	PGresult *res;
	int64_t n = -1;

	if (!pc || !usable(pc))
		return -1;
	res = PQexec(pc->conn, "SELECT pg_database_size(current_database())");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		note_loss(pc);
	PQclear(res);
	return n;
}

/* Opening -------------------------------------------------------------- */

/* A password in the connection string is refused unless the file that says
 * it is private: use a passfile (or PGPASSFILE) instead. */
static int check_dsn(const struct cfg *cfg, char *err, size_t errlen)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL;
	bool password = false;
	int r = 0;

	opts = PQconninfoParse(cfg->store_dsn ? cfg->store_dsn : "", &msg);
	if (!opts) {
		snprintf(err, errlen, "[store] dsn: %s",
			 msg ? msg : "out of memory");
		if (msg) {
			char *nl = strchr(err, '\n');
			if (nl)
				*nl = '\0';
		}
		PQfreemem(msg);
		return -EINVAL;
	}
	for (o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && o->val[0])
			password = true;
	PQconninfoFree(opts);
	if (password && cfg->config_path) {
		r = cfg_check_file(cfg->config_path, "configuration", 077, err,
				   errlen);
		if (r)
			snprintf(err + strlen(err), errlen - strlen(err),
				 " (its [store] dsn holds a password: name a "
				 "passfile instead)");
	}
	return r;
}

/* The schema's version in conn (0: none yet), or -errno with err. */
static int schema_version(PGconn *conn, char *err, size_t errlen)
{
	PGresult *res;
	int v = -EIO;

	res = PQexec(conn, "SELECT to_regclass('patfs_schema') IS NOT NULL");
	if (PQresultStatus(res) == PGRES_TUPLES_OK &&
	    strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		v = 0;
	PQclear(res);
	if (v == 0)
		return 0;
	res = PQexec(conn, "SELECT version FROM patfs_schema");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = atoi(PQgetvalue(res, 0, 0));
	else
		snprintf(err, errlen, "postgresql: reading the schema: %s",
			 PQerrorMessage(conn));
	PQclear(res);
	return v;
}

static int pg_open(struct store *st, char *err, size_t errlen)
{
	const struct cfg *cfg = st->cfg;
	struct pg_store *ps;
	PGconn *conn;
	int r, v;

	r = check_dsn(cfg, err, errlen);
	if (r)
		return r;
	conn = connect_db(cfg, err, errlen);
	if (!conn)
		return -EIO;
	v = schema_version(conn, err, errlen);
	PQfinish(conn);
	if (v < 0)
		return v;
	if (v == 0 && access(cfg->pepper_file, F_OK) == 0 && !cfg->store_init) {
		snprintf(err, errlen,
			 "the PostgreSQL store holds no patfs schema but its "
			 "pepper %s exists: point [store] dsn at the store's "
			 "database, or start with --init to begin a new, empty "
			 "store there",
			 cfg->pepper_file);
		return -ENOENT;
	}
	if (v > 0 && access(cfg->pepper_file, F_OK) != 0) {
		snprintf(err, errlen,
			 "the PostgreSQL store has data but its pepper %s is "
			 "missing on this host: copy the pepper of the store's "
			 "other hosts (a new one would fail every secret)",
			 cfg->pepper_file);
		return -ENOENT;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&ps->lock, NULL);
	st->impl = ps;
	return 0;
}

/* Creates or upgrades the schema, one process at a time. */
static int schema_ensure(PGconn *conn, char *err, size_t errlen)
{
	char sql[128];
	int r, v;

	r = run(conn,
		"BEGIN; SELECT pg_advisory_xact_lock(" XSTR(
		    LOCK_CLASS) ", " XSTR(LOCK_SCHEMA) ")",
		err, errlen);
	if (r)
		return r;
	v = schema_version(conn, err, errlen);
	if (v < 0) {
		run(conn, "ROLLBACK", NULL, 0);
		return v;
	}
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "postgresql: schema version %d is newer than this "
			 "patfs (%d)",
			 v, SCHEMA_VERSION);
		run(conn, "ROLLBACK", NULL, 0);
		return -EPROTO;
	}
	if (v == 0)
		r = run(conn,
			"CREATE TABLE patfs_schema (version integer NOT NULL);"
			" INSERT INTO patfs_schema VALUES (" XSTR(
			    SCHEMA_VERSION) ")",
			err, errlen);
	if (v == 0 && !r)
		r = run(conn, store_pg_create, err, errlen);
	for (; !r && v > 0 && v < SCHEMA_VERSION; v++) {
		r = store_pg_upgrade[v]
			? run(conn, store_pg_upgrade[v], err, errlen)
			: -EPROTO;
		snprintf(sql, sizeof(sql),
			 "UPDATE patfs_schema SET version = %d", v + 1);
		if (!r)
			r = run(conn, sql, err, errlen);
	}
	if (!r)
		r = run(conn, "COMMIT", err, errlen);
	if (r)
		run(conn, "ROLLBACK", NULL, 0);
	return r;
}

static int pg_start(struct store *st, char *err, size_t errlen)
{
	struct pg_store *ps = st->impl;
	struct store_conn *c = pg_conn_open(st, err, errlen);
	int r;

	if (!c)
		return -EIO;
	store_conn_link(c);
	pthread_setspecific(st->key, c);
	r = schema_ensure(pc_of(c)->conn, err, errlen);
	if (r)
		return r;
	pthread_mutex_lock(&ps->lock);
	r = session_open(st, err, errlen);
	pthread_mutex_unlock(&ps->lock);
	return r;
}

static void pg_close(struct store *st)
{
	struct pg_store *ps = st->impl;

	if (!ps)
		return;
	PQfinish(ps->session);
	pthread_mutex_destroy(&ps->lock);
	free(ps);
	st->impl = NULL;
}

const struct store_ops store_pg_ops = {
    .name = "postgresql",
    .open = pg_open,
    .start = pg_start,
    .close = pg_close,
    .conn_open = pg_conn_open,
    .conn_free = pg_conn_free,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .step = pg_step,
    .bind_int = pg_bind_int,
    .bind_null = pg_bind_null,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .col_int = pg_col_int,
    .col_text = pg_col_text,
    .col_null = pg_col_null,
    .last_id = pg_last_id,
    .changed = pg_changed,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .set_wait = pg_set_wait,
    .poll = pg_poll,
    .alive = pg_alive,
    .lead = pg_lead,
    .backup = pg_backup,
    .bytes = pg_bytes,
};
