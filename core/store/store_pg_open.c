/* store_pg_open.c - opening a PostgreSQL store: the connection string's
 * checks, the schema made or upgraded, and the backend's table of
 * operations. */
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
		v = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	else
		snprintf(err, errlen, "postgresql: reading the schema: %s",
			 PQerrorMessage(conn));
	PQclear(res);
	return v;
}

static int store_pg_open(struct store *st, char *err, size_t errlen)
{
	const struct cfg *cfg = st->cfg;
	struct store_pg *ps;
	PGconn *conn;
	int r, v;

	r = check_dsn(cfg, err, errlen);
	if (r)
		return r;
	conn = store_pg_connect(cfg, err, errlen);
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

	r = store_pg_run(conn,
			 "BEGIN; SELECT pg_advisory_xact_lock(" XSTR(
			     LOCK_CLASS) ", " XSTR(LOCK_SCHEMA) ")",
			 err, errlen);
	if (r)
		return r;
	v = schema_version(conn, err, errlen);
	if (v < 0) {
		store_pg_run(conn, "ROLLBACK", NULL, 0);
		return v;
	}
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "postgresql: schema version %d is newer than this "
			 "patfs (%d)",
			 v, SCHEMA_VERSION);
		store_pg_run(conn, "ROLLBACK", NULL, 0);
		return -EPROTO;
	}
	if (v == 0)
		r = store_pg_run(
		    conn,
		    "CREATE TABLE patfs_schema (version integer NOT NULL);"
		    " INSERT INTO patfs_schema VALUES (" XSTR(
			SCHEMA_VERSION) ")",
		    err, errlen);
	if (v == 0 && !r)
		r = store_pg_run(conn, store_pg_create, err, errlen);
	for (; !r && v > 0 && v < SCHEMA_VERSION; v++) {
		r = store_pg_upgrade[v]
			? store_pg_run(conn, store_pg_upgrade[v], err, errlen)
			: -EPROTO;
		snprintf(sql, sizeof(sql),
			 "UPDATE patfs_schema SET version = %d", v + 1);
		if (!r)
			r = store_pg_run(conn, sql, err, errlen);
	}
	if (!r)
		r = store_pg_run(conn, "COMMIT", err, errlen);
	if (r)
		store_pg_run(conn, "ROLLBACK", NULL, 0);
	return r;
}

static int store_pg_start(struct store *st, char *err, size_t errlen)
{
	struct store_pg *ps = st->impl;
	struct store_conn *c = store_pg_conn_open(st, err, errlen);
	int r;

	if (!c)
		return -EIO;
	store_conn_link(c);
	pthread_setspecific(st->key, c);
	r = schema_ensure(pc_of(c)->conn, err, errlen);
	if (r)
		return r;
	pthread_mutex_lock(&ps->lock);
	r = store_pg_session_open(st, err, errlen);
	pthread_mutex_unlock(&ps->lock);
	return r;
}

static void store_pg_close(struct store *st)
{
	struct store_pg *ps = st->impl;

	if (!ps)
		return;
	PQfinish(ps->session);
	pthread_mutex_destroy(&ps->lock);
	free(ps);
	st->impl = NULL;
}

const struct store_ops store_pg_ops = {
    .name = "postgresql",
    .open = store_pg_open,
    .start = store_pg_start,
    .close = store_pg_close,
    .conn_open = store_pg_conn_open,
    .conn_free = store_pg_conn_free,
    .prepare = store_pg_prepare,
    .finalize = store_pg_finalize,
    .reset = store_pg_reset,
    .step = store_pg_step,
    .bind_int = store_pg_bind_int,
    .bind_null = store_pg_bind_null,
    .bind_text = store_pg_bind_text,
    .bind_blob = store_pg_bind_blob,
    .col_int = store_pg_col_int,
    .col_text = store_pg_col_text,
    .col_null = store_pg_col_null,
    .last_id = store_pg_last_id,
    .changed = store_pg_changed,
    .begin = store_pg_begin,
    .read_begin = store_pg_read_begin,
    .commit = store_pg_commit,
    .rollback = store_pg_rollback,
    .set_wait = store_pg_set_wait,
    .poll = store_pg_poll,
    .alive = store_pg_alive,
    .lead = store_pg_lead,
    .backup = store_pg_backup,
    .bytes = store_pg_bytes,
};
