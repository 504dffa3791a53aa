/* store_pg_stmt.c - the PostgreSQL backend's statements (texts derived from
 * SQLite's, prepared once per connection, listings read a page at a time)
 * and transactions (the write lock, commit that says whether it did). */
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
#include "store_pgInt.h"

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
    [SQL_TOKEN_LIST_WINDOW] = {{1, 2}, {TC_EXPIRES_AT, TC_ID}},
    [SQL_TOKEN_LIST_UID] = {{1, 2}, {TC_EXPIRES_AT, TC_ID}},
    [SQL_TOKEN_LIST_CANCELLED] = {{4}, {0}},
    [SQL_TOKEN_LIST_UNUSED] = {{2}, {0}},
    [SQL_TOKEN_LIST_ALL] = {{1}, {0}},
    [SQL_TOKEN_LIST_OF_UID] = {{2}, {0}},
    [SQL_TOKEN_LIST_PRUNE] = {{3}, {0}},
    [SQL_RES_LIST] = {{2}, {0}},
    [SQL_RES_TOKENS] = {{2}, {0}},
    [SQL_CHANGE_SINCE] = {{1}, {0}},
};
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
			int v = (int)strtol(p + 1, NULL, 10);
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

/* Statements ----------------------------------------------------------- */

struct store_stmt *store_pg_prepare(struct store_conn *c, enum store_sql id)
{
	struct store_pg_stmt *ps;

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

static void clear_result(struct store_pg_stmt *ps)
{
	PQclear(ps->res);
	ps->res = NULL;
	ps->row = ps->nrows = 0;
	ps->more = false;
}

void store_pg_reset(struct store_stmt *s)
{
	struct store_pg_stmt *ps = ps_of(s);

	clear_result(ps);
	for (int i = 0; i < MAX_PARAMS; i++) {
		free(ps->val[i]);
		ps->val[i] = NULL;
		ps->len[i] = ps->fmt[i] = 0;
	}
}

void store_pg_finalize(struct store_stmt *s)
{
	store_pg_reset(s);
	free(s);
}

/* Sets parameter i (from 1) to a copy of len bytes at p, text or binary. */
static void set_param(struct store_pg_stmt *ps, int i, const void *p,
		      size_t len, int fmt)
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

void store_pg_bind_int(struct store_stmt *s, int i, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	set_param(ps_of(s), i, buf, (size_t)n, 0);
}

void store_pg_bind_null(struct store_stmt *s, int i)
{
	set_param(ps_of(s), i, NULL, 0, 0);
}

void store_pg_bind_text(struct store_stmt *s, int i, const char *p, size_t len)
{
	set_param(ps_of(s), i, p, len, 0);
}

void store_pg_bind_blob(struct store_stmt *s, int i, const void *p, size_t len)
{
	set_param(ps_of(s), i, p, len, 1);
}

/* Prepares ps on its connection if this connection has not yet. */
static int ensure_prepared(struct store_pg_stmt *ps)
{
	char msg[256];
	struct store_pg_conn *pc = pc_of(ps->base.c);
	char name[16];
	PGresult *res;
	int r = 0;

	if (ps->gen == pc->gen)
		return 0;
	snprintf(name, sizeof(name), "p%d", (int)ps->id);
	res = PQprepare(pc->conn, name, texts[ps->id], ps->nparams,
			types[ps->id]);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = store_pg_errno(res, pc->conn);
		store_pg_note_loss(pc, res);
		if (store_pg_conn_ok(pc))
			pfs_log(PFS_LOG_ERR, "postgresql: preparing %d: %s",
				(int)ps->id,
				store_pg_why(res, pc->conn, msg, sizeof(msg)));
	} else {
		ps->gen = pc->gen;
	}
	PQclear(res);
	return r;
}

/* Runs ps with its parameters: 0 or -errno (logged unless an answer). */
static int execute(struct store_pg_stmt *ps)
{
	struct store_pg_conn *pc = pc_of(ps->base.c);
	ExecStatusType st;
	char name[16], msg[256];
	int r;

	snprintf(name, sizeof(name), "p%d", (int)ps->id);
	for (int tries = 0;; tries++) {
		if (!store_pg_usable(pc))
			return -EIO;
		r = ensure_prepared(ps);
		if (r && store_pg_again(pc, r, tries))
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
		r = store_pg_errno(ps->res, pc->conn);
		store_pg_note_loss(pc, ps->res);
		if (r != -EEXIST && r != -EIO &&
		    !(r == -EBUSY && pc->base.quiet_busy))
			pfs_log(
			    PFS_LOG_ERR, "postgresql: %s",
			    store_pg_why(ps->res, pc->conn, msg, sizeof(msg)));
		clear_result(ps);
		if (!store_pg_again(pc, r, tries))
			return r;
	}
	ps->row = 0;
	ps->nrows = PQntuples(ps->res);
	pc->changed = strtoll(PQcmdTuples(ps->res), NULL, 10);
	if (ps->insert) {
		if (ps->nrows > 0)
			pc->last_id =
			    strtoll(PQgetvalue(ps->res, 0, 0), NULL, 10);
		ps->nrows = 0; /* RETURNING is for last_id, not a row */
	}
	ps->more = pages[ps->id].param[0] && ps->nrows == PAGE_ROWS;
	return 0;
}

/* Sets ps's key parameters from its last row, for the next page. */
static void next_page(struct store_pg_stmt *ps)
{
	const struct page_key *k = &pages[ps->id];
	int last = ps->nrows - 1;

	for (int i = 0; i < 2 && k->param[i]; i++) {
		const char *v = PQgetvalue(ps->res, last, k->col[i]);
		set_param(ps, k->param[i], v, strlen(v), 0);
	}
}

int store_pg_step(struct store_stmt *s)
{
	struct store_pg_stmt *ps = ps_of(s);
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

int64_t store_pg_col_int(struct store_stmt *s, int i)
{
	struct store_pg_stmt *ps = ps_of(s);

	if (!ps->res || ps->row >= ps->nrows ||
	    PQgetisnull(ps->res, ps->row, i))
		return 0;
	return strtoll(PQgetvalue(ps->res, ps->row, i), NULL, 10);
}

const char *store_pg_col_text(struct store_stmt *s, int i)
{
	struct store_pg_stmt *ps = ps_of(s);

	if (!ps->res || ps->row >= ps->nrows)
		return "";
	return PQgetvalue(ps->res, ps->row, i);
}

bool store_pg_col_null(struct store_stmt *s, int i)
{
	struct store_pg_stmt *ps = ps_of(s);

	return !ps->res || ps->row >= ps->nrows ||
	       PQgetisnull(ps->res, ps->row, i);
}

int64_t store_pg_last_id(struct store_conn *c)
{
	return pc_of(c)->last_id;
}

int64_t store_pg_changed(struct store_conn *c)
{
	return pc_of(c)->changed;
}

/* Transactions --------------------------------------------------------- */

int store_pg_begin(struct store_conn *c, bool wait)
{
	struct store_pg_conn *pc = pc_of(c);
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
		if (!store_pg_usable(pc))
			return -EIO;
		r = 0;
		pc->in_tx = true;
		res = PQexec(pc->conn, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			r = store_pg_errno(res, pc->conn);
			store_pg_note_loss(pc, res);
			if (r != -EIO && !(r == -EBUSY && c->quiet_busy))
				pfs_log(PFS_LOG_ERR, "postgresql: %s",
					store_pg_why(res, pc->conn, msg,
						     sizeof(msg)));
		} else if (!wait && strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
			r = -EBUSY;
		}
		PQclear(res);
		if (!r)
			return 0;
		if (!pc->tx_lost)
			store_pg_run(pc->conn, "ROLLBACK", NULL, 0);
		pc->in_tx = pc->tx_lost = false;
		if (!store_pg_again(pc, r, tries))
			return r;
	}
}

/* REPEATABLE READ: every statement sees the snapshot of the first, however
 * many pages a listing takes; no lock is taken. */
int store_pg_read_begin(struct store_conn *c)
{
	struct store_pg_conn *pc = pc_of(c);
	char msg[256];
	PGresult *res;
	int r = 0;

	if (!store_pg_usable(pc))
		return -EIO;
	pc->in_tx = true;
	res = PQexec(pc->conn,
		     "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = store_pg_errno(res, pc->conn);
		store_pg_note_loss(pc, res);
		if (r != -EIO)
			pfs_log(PFS_LOG_ERR, "postgresql: %s",
				store_pg_why(res, pc->conn, msg, sizeof(msg)));
		pc->in_tx = pc->tx_lost = false;
	}
	PQclear(res);
	return r;
}

/* Commits (the changes table's trigger announced each change: sent now). A
 * transaction in which a statement failed is rolled back by COMMIT itself (its
 * status says ROLLBACK): that is a failure here, never an acknowledged change.
 */
int store_pg_commit(struct store_conn *c)
{
	struct store_pg_conn *pc = pc_of(c);
	PGresult *res;
	char msg[256];
	int r = 0;

	if (pc->tx_lost)
		return -EIO;
	res = PQexec(pc->conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = store_pg_errno(res, pc->conn);
		store_pg_note_loss(pc, res);
		if (r != -EIO)
			pfs_log(PFS_LOG_ERR, "postgresql: commit: %s",
				store_pg_why(res, pc->conn, msg, sizeof(msg)));
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

void store_pg_rollback(struct store_conn *c)
{
	struct store_pg_conn *pc = pc_of(c);

	if (pc->in_tx && !pc->tx_lost && store_pg_conn_ok(pc))
		store_pg_run(pc->conn, "ROLLBACK", NULL, 0);
	pc->in_tx = pc->tx_lost = false;
}

void store_pg_set_wait(struct store_conn *c, int ms)
{
	pc_of(c)->wait_ms = ms;
}
