/* store_pg.c - the PostgreSQL backend, through libpq: one store shared by
 * the daemons of many hosts. This file: connections, errors and the
 * session (notifications, liveness, the lead); store_pg_stmt.c: statements
 * and transactions; store_pg_open.c: opening, the schema, the ops table.
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
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "patfs/cfg.h"
#include "store_pgInt.h"

/* Errors --------------------------------------------------------------- */

/* The primary message of res (or of conn), on one line, for the log. */
const char *store_pg_why(const PGresult *res, PGconn *conn, char *buf,
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
int store_pg_errno(const PGresult *res, PGconn *conn)
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
/* Drives conn's connection to its end, within CONNECT_S seconds (the
 * polling API does not keep connect_timeout): 0 when it is up, else -1. */
#define CONNECT_S 5
static int connect_wait(PGconn *conn)
{
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += CONNECT_S;
	for (;;) {
		PostgresPollingStatusType st = PQconnectPoll(conn);
		struct pollfd p = {.fd = PQsocket(conn)};
		long ms;

		if (st == PGRES_POLLING_OK)
			return 0;
		if (st == PGRES_POLLING_FAILED || p.fd < 0)
			return -1;
		p.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (end.tv_sec - now.tv_sec) * 1000 +
		     (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0 || poll(&p, 1, (int)ms) <= 0)
			return -1;
	}
}

PGconn *store_pg_connect(const struct cfg *cfg, char *err, size_t errlen)
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
	PGconn *conn = PQconnectStartParams(keys, vals, 1);
	char *nl;

	/* the server's notices (and what it says while idle, or while we
	 * connect, such as its shutdown) are not ours to print: losses are
	 * logged once */
	if (conn)
		PQsetNoticeProcessor(conn, quiet, NULL);
	if (conn && connect_wait(conn) == 0)
		return conn;
	snprintf(err, errlen, "postgresql: %s",
		 !conn			 ? "out of memory"
		 : *PQerrorMessage(conn) ? PQerrorMessage(conn)
					 : "no connection within 5 s");
	if ((nl = strchr(err, '\n')) != NULL)
		*nl = '\0';
	PQfinish(conn);
	return NULL;
}

/* Runs sql (fixed text, no parameters) on conn: 0 or -errno, with err set
 * if given. */
int store_pg_run(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int r = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		r = store_pg_errno(res, conn);
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

void store_pg_conn_free(struct store_conn *c)
{
	PQfinish(pc_of(c)->conn);
	free(c);
}

struct store_conn *store_pg_conn_open(struct store *st, char *err,
				      size_t errlen)
{
	struct store_pg_conn *pc = calloc(1, sizeof(*pc));

	if (!pc) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pc->base.st = st;
	pc->wait_ms = BUSY_MS;
	pc->gen = 1;
	pc->conn = store_pg_connect(st->cfg, err, errlen);
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
bool store_pg_usable(struct store_pg_conn *pc)
{
	char err[512];
	PGconn *conn;

	struct store_pg *ps = pc->base.st->impl;
	unsigned back = atomic_load(&ps->back);

	if (pc->tx_lost)
		return false;
	if (store_pg_conn_ok(pc))
		return true;
	if (pc->in_tx || (!due(&pc->retry_at) && pc->back == back))
		return false;
	pc->back = back;
	conn = store_pg_connect(pc->base.st->cfg, err, sizeof(err));
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
	pc->ending = false;
	if (pc->lost) {
		pfs_log(PFS_LOG_INFO, "postgresql: connected again");
		pc->back = atomic_fetch_add(&ps->back, 1) + 1;
	}
	pc->lost = false;
	return true;
}

bool store_pg_conn_ok(const struct store_pg_conn *pc)
{
	return !pc->ending && PQstatus(pc->conn) == CONNECTION_OK;
}

void store_pg_note_loss(struct store_pg_conn *pc, const PGresult *res)
{
	const char *state =
	    res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	/* no SQLSTATE: libpq's own failure ("server closed the connection
	 * unexpectedly", while PQstatus may still say CONNECTION_OK);
	 * 57P0x: shut down, crashed, starting; 08xxx: the connection */
	if (res &&
	    (!state || !strncmp(state, "57P0", 4) || !strncmp(state, "08", 2)))
		pc->ending = true;
	if (store_pg_conn_ok(pc))
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
bool store_pg_again(struct store_pg_conn *pc, int r, int tries)
{
	return r == -EIO && tries == 0 && !pc->in_tx && !store_pg_conn_ok(pc);
}

/* The session ----------------------------------------------------------- */

/* Opens the session of the store if it has none: LISTEN, and the origin's
 * lock. Under ps->lock. 0 or -errno with err. */
int store_pg_session_open(struct store *st, char *err, size_t errlen)
{
	char msg[256];
	struct store_pg *ps = st->impl;
	const char *val[1];
	char origin[24];
	PGresult *res;
	PGconn *conn;
	int r;

	if (ps->session && PQstatus(ps->session) == CONNECTION_OK)
		return 0;
	conn = store_pg_connect(st->cfg, err, errlen);
	if (!conn)
		return -EIO;
	r = store_pg_run(conn, "LISTEN " STORE_PG_CHANNEL, err, errlen);
	if (!r) {
		snprintf(origin, sizeof(origin), "%" PRId64, st->origin);
		val[0] = origin;
		res = PQexecParams(conn, "SELECT pg_advisory_lock($1::bigint)",
				   1, NULL, val, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			r = store_pg_errno(res, conn);
			snprintf(err, errlen, "postgresql: %s",
				 store_pg_why(res, conn, msg, sizeof(msg)));
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
int store_pg_poll(struct store_conn *c)
{
	struct store *st = c->st;
	struct store_pg *ps = st->impl;
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
		if (store_pg_session_open(st, err, sizeof(err)) != 0) {
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
int store_pg_alive(struct store_conn *c, int64_t origin)
{
	struct store_pg_conn *pc = pc_of(c);
	char key[24];
	const char *val[1] = {key};
	PGresult *res;
	int r;

	if (origin == c->st->origin)
		return 1;
	if (!store_pg_usable(pc))
		return -EIO;
	snprintf(key, sizeof(key), "%" PRId64, origin);
	res = PQexecParams(pc->conn, "SELECT pg_try_advisory_lock($1::bigint)",
			   1, NULL, val, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = store_pg_errno(res, pc->conn);
		store_pg_note_loss(pc, res);
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
int store_pg_lead(struct store *st, int what, bool take)
{
	struct store_pg *ps = st->impl;
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

int store_pg_backup(struct store *st, const char *path, store_progress_fn *fn,
		    void *ctx, char *err, size_t errlen)
{
	(void)st, (void)path, (void)fn, (void)ctx;
	snprintf(err, errlen,
		 "a PostgreSQL store is backed up with the server's own "
		 "tools (pg_dump, or a base backup and its WAL), with the "
		 "pepper beside it");
	return -EOPNOTSUPP;
}

int64_t store_pg_bytes(struct store *st)
{
	struct store_conn *c = store_conn(st);
	struct store_pg_conn *pc = c ? pc_of(c) : NULL;
	PGresult *res;
	int64_t n = -1;

	if (!pc || !store_pg_usable(pc))
		return -1;
	res = PQexec(pc->conn, "SELECT pg_database_size(current_database())");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		store_pg_note_loss(pc, res);
	PQclear(res);
	return n;
}
