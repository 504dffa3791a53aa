/* store_sqlite.c - the SQLite backend: one database file beside its pepper,
 * in WAL mode, one connection per thread; a write transaction is BEGIN
 * IMMEDIATE, so writers take turns on the file's lock. The schema and the
 * statements are store_sql.c's text, read as it is. Copies (backups, and
 * the copy kept before an upgrade) are store_sqlite_file.c's. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "patfs/cfg.h"
#include "storeInt.h"
#include "store_sqliteInt.h"

#define WAL_RESERVE (4 << 20) /* bytes of disk kept for commits */
#define STR(x)	    #x
#define XSTR(x)	    STR(x)

struct lite_conn {
	struct store_conn base;
	sqlite3 *db;
	int64_t data_version; /* as last seen by poll */
};

struct lite_stmt {
	struct store_stmt base;
	sqlite3_stmt *s;
};

static sqlite3 *db_of(struct store_conn *c)
{
	return ((struct lite_conn *)c)->db;
}

static sqlite3_stmt *stmt_of(struct store_stmt *s)
{
	return ((struct lite_stmt *)s)->s;
}

sqlite3 *store_sqlite_db(struct store_conn *c)
{
	return db_of(c);
}

/* Connections ---------------------------------------------------------- */

static void lite_conn_free(struct store_conn *c)
{
	sqlite3_close_v2(db_of(c));
	free(c);
}

static struct store_conn *lite_conn_open(struct store *st, char *err,
					 size_t errlen)
{
	struct lite_conn *lc = calloc(1, sizeof(*lc));
	int rc;

	if (!lc) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	lc->base.st = st;
	rc = sqlite3_open_v2(st->cfg->store_path, &lc->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(lc->db, 1);
	sqlite3_busy_timeout(lc->db, BUSY_MS);
	rc =
	    sqlite3_exec(lc->db,
			 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			 " PRAGMA foreign_keys = ON;",
			 NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	/* the log outlives the last connection, and with it its reserve */
	sqlite3_file_control(lc->db, "main", SQLITE_FCNTL_PERSIST_WAL,
			     &(int){1});
	return &lc->base;

fail:
	snprintf(err, errlen, "store %s: %s", st->cfg->store_path,
		 lc->db ? sqlite3_errmsg(lc->db) : sqlite3_errstr(rc));
	lite_conn_free(&lc->base);
	return NULL;
}

/* Statements ----------------------------------------------------------- */

static struct store_stmt *lite_prepare(struct store_conn *c, enum store_sql id)
{
	struct lite_stmt *ls = calloc(1, sizeof(*ls));

	if (!ls) {
		pfs_log(PFS_LOG_ERR, "preparing statement %d: out of memory",
			id);
		return NULL;
	}
	ls->base.c = c;
	if (sqlite3_prepare_v3(db_of(c), store_sql_text[id], -1,
			       SQLITE_PREPARE_PERSISTENT, &ls->s,
			       NULL) != SQLITE_OK) {
		pfs_log(PFS_LOG_ERR, "preparing statement %d: %s", id,
			sqlite3_errmsg(db_of(c)));
		free(ls);
		return NULL;
	}
	return &ls->base;
}

static void lite_finalize(struct store_stmt *s)
{
	sqlite3_finalize(stmt_of(s));
	free(s);
}

static void lite_reset(struct store_stmt *s)
{
	sqlite3_reset(stmt_of(s));
	sqlite3_clear_bindings(stmt_of(s));
}

static int lite_step(struct store_stmt *s)
{
	struct store_conn *c = s->c;
	int rc = sqlite3_step(stmt_of(s));

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	/* a constraint is an answer (EEXIST), not a fault worth logging */
	if ((rc & 0xff) != SQLITE_CONSTRAINT &&
	    !(c->quiet_busy && (rc & 0xff) == SQLITE_BUSY))
		pfs_log(PFS_LOG_ERR, "sqlite: %s", sqlite3_errmsg(db_of(c)));
	sqlite3_reset(stmt_of(s));
	return store_sqlite_errno(rc);
}

static void lite_bind_int(struct store_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(stmt_of(s), i, v);
}

static void lite_bind_null(struct store_stmt *s, int i)
{
	sqlite3_bind_null(stmt_of(s), i);
}

static void lite_bind_text(struct store_stmt *s, int i, const char *p,
			   size_t len)
{
	sqlite3_bind_text(stmt_of(s), i, p, (int)len, SQLITE_TRANSIENT);
}

static void lite_bind_blob(struct store_stmt *s, int i, const void *p,
			   size_t len)
{
	sqlite3_bind_blob(stmt_of(s), i, p, (int)len, SQLITE_TRANSIENT);
}

static int64_t lite_col_int(struct store_stmt *s, int i)
{
	return sqlite3_column_int64(stmt_of(s), i);
}

static const char *lite_col_text(struct store_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(stmt_of(s), i);

	return v ? v : "";
}

static bool lite_col_null(struct store_stmt *s, int i)
{
	return sqlite3_column_type(stmt_of(s), i) == SQLITE_NULL;
}

static int64_t lite_last_id(struct store_conn *c)
{
	return sqlite3_last_insert_rowid(db_of(c));
}

static int64_t lite_changed(struct store_conn *c)
{
	return sqlite3_changes(db_of(c));
}

/* Transactions --------------------------------------------------------- */

static int lite_run(struct store_conn *c, enum store_sql id)
{
	struct store_stmt *s = store_sql(c, id);

	return s ? store_exec(c, s) : -EIO;
}

static int lite_begin(struct store_conn *c, bool wait)
{
	int r;

	if (wait)
		return lite_run(c, SQL_BEGIN);
	sqlite3_busy_timeout(db_of(c), 0);
	r = lite_run(c, SQL_BEGIN);
	sqlite3_busy_timeout(db_of(c), BUSY_MS);
	return r;
}

/* Deferred: the first statement's read takes the snapshot (WAL keeps it
 * whatever writers do until the end). */
static int lite_read_begin(struct store_conn *c)
{
	return lite_run(c, SQL_BEGIN_READ);
}

static int lite_commit(struct store_conn *c)
{
	return lite_run(c, SQL_COMMIT);
}

static void lite_rollback(struct store_conn *c)
{
	if (sqlite3_get_autocommit(db_of(c)) == 0)
		lite_run(c, SQL_ROLLBACK);
}

static void lite_set_wait(struct store_conn *c, int ms)
{
	sqlite3_busy_timeout(db_of(c), ms);
}

/* PRAGMA data_version changes whenever another connection commits. */
static int lite_poll(struct store_conn *c)
{
	struct lite_conn *lc = (struct lite_conn *)c;
	struct store_stmt *s = store_sql(c, SQL_DATA_VERSION);
	int64_t v = 0;
	int r;

	if (!s)
		return -EIO;
	r = store_step(c, s);
	if (r == 1)
		v = store_col_int(s, 0);
	store_reset(s);
	if (r < 0)
		return r;
	r = v == 0 || v != lc->data_version;
	lc->data_version = v;
	return r;
}

/* One daemon per SQLite store (store_lock): every other is gone. */
static int lite_alive(struct store_conn *c, int64_t origin)
{
	return origin == c->st->origin;
}

static int lite_lead(struct store *st, int what, bool take)
{
	(void)st, (void)what, (void)take;
	return 1; /* one daemon per store: it leads */
}

static int store_sqlite_backup(struct store *st, const char *path,
			       store_progress_fn *fn, void *ctx, char *err,
			       size_t errlen)
{
	struct store_conn *c = store_conn(st);
	int fd, r;

	if (!c) {
		snprintf(err, errlen, "store %s: cannot open a connection",
			 st->cfg->store_path);
		return -EIO;
	}
	r = store_sqlite_copy(db_of(c), path, fn, ctx, err, errlen);
	if (r)
		return r;
	/* the copy is on disk before we say so */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		r = -errno;
		snprintf(err, errlen, "syncing %s: %s", path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* Opening -------------------------------------------------------------- */

/* Creates the store file 0600 if it does not exist yet, so SQLite (which
 * gives -wal and -shm the mode of the database) never makes it readable to
 * others. */
static int create_private(const char *path, char *err, size_t errlen)
{
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	snprintf(err, errlen, "store %s: %s", path, strerror(errno));
	return -errno;
}

/* A store and its pepper go together. A store without data (missing or
 * empty) beside an existing pepper means the store was lost: starting anew
 * would hide every token, so it takes cfg->store_init. A store with data
 * whose pepper is missing is refused always: a new pepper would fail every
 * secret. (A store in use always has data in its main file: switching it
 * to WAL wrote its first page.) A log or shared-memory file left beside an
 * empty store belongs to no store and is removed. 0 or -errno with err. */
static int lite_open(struct store *st, char *err, size_t errlen)
{
	const struct cfg *cfg = st->cfg;
	char path[4096];
	off_t db = store_sqlite_file_size(cfg->store_path);
	off_t pepper = store_sqlite_file_size(cfg->pepper_file);
	const char *why = NULL, *fix = NULL;

	if (db < 0 || pepper < 0)
		return 0; /* the opens that follow say why */
	if (db == 0 && pepper > 0 && !cfg->store_init) {
		why = "is missing or empty but its pepper";
		fix = "exists: restore the store from a backup, or start with "
		      "--init to begin a new, empty store";
	} else if (db > 0 && pepper == 0 && access(cfg->pepper_file, F_OK)) {
		why = "has data but its pepper";
		fix = "is missing: restore the pepper from its backup (a new "
		      "one would fail every secret)";
	}
	if (why) {
		snprintf(err, errlen, "store %s %s %s %s", cfg->store_path, why,
			 cfg->pepper_file, fix);
		return -ENOENT;
	}
	for (int i = 0; db == 0 && i < 2; i++) {
		snprintf(path, sizeof(path), "%s-%s", cfg->store_path,
			 i ? "shm" : "wal");
		if (unlink(path) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "removing %s: %s", path,
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* The schema version of db, or -1. */
static int schema_version(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int version = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return version;
}

/* Before a store of an older version is upgraded, a copy of it is kept
 * beside it, PATH.v<version>.bak (once: a copy already there is the one
 * from before the first attempt). 0 or -errno with err set. */
static int keep_old(struct store *st, sqlite3 *db, int version, char *err,
		    size_t errlen)
{
	char bak[4096];
	int r;

	if (snprintf(bak, sizeof(bak), "%s.v%d.bak", st->cfg->store_path,
		     version) >= (int)sizeof(bak)) {
		snprintf(err, errlen, "store path too long");
		return -ENAMETOOLONG;
	}
	r = store_sqlite_copy(db, bak, NULL, NULL, err, errlen);
	if (r == -EEXIST)
		return 0;
	if (!r)
		pfs_log(PFS_LOG_INFO,
			"store %s: schema version %d upgraded to %d; the "
			"store as it was is kept in %s",
			st->cfg->store_path, version, SCHEMA_VERSION, bak);
	return r;
}

/* Creates or checks the schema of db: 0 or -errno with err set. */
static int schema_ensure(struct store *st, sqlite3 *db, char *err,
			 size_t errlen)
{
	int version = schema_version(db), rc, r;
	char *msg = NULL;

	if (version < 0) {
		snprintf(err, errlen, "store %s: %s", st->cfg->store_path,
			 sqlite3_errmsg(db));
		return -EIO;
	}
	if (version == SCHEMA_VERSION)
		return 0;
	if (version > SCHEMA_VERSION) {
		snprintf(
		    err, errlen,
		    "store %s: schema version %d is newer than this patfs (%d)",
		    st->cfg->store_path, version, SCHEMA_VERSION);
		return -EPROTO;
	}
	if (version > 0) {
		r = keep_old(st, db, version, err, errlen);
		if (r)
			return r;
	}
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
	if (rc == SQLITE_OK) /* another process may have upgraded it since */
		version = schema_version(db);
	for (int v = version; rc == SQLITE_OK && v < SCHEMA_VERSION; v++)
		rc = sqlite3_exec(db, store_schema[v], NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(
		    db,
		    "PRAGMA user_version = " XSTR(SCHEMA_VERSION) "; COMMIT",
		    NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "store %s: creating schema: %s",
			 st->cfg->store_path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return store_sqlite_errno(rc);
	}
	return 0;
}

/* Reserves disk blocks for the write-ahead log past its end (its size does
 * not change), so that commits (an administrator's revoke above all) still
 * fit when a flood or another program has filled the filesystem: SQLite
 * keeps the log at its largest size and the reserve with it. Best effort:
 * a filesystem that cannot reserve is told of once. */
static void reserve_wal(const struct cfg *cfg)
{
	char wal[4096];
	int fd;

	snprintf(wal, sizeof(wal), "%s-wal", cfg->store_path);
	fd = open(wal, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, WAL_RESERVE) < 0)
		pfs_log(PFS_LOG_WARNING,
			"reserving %d bytes for the store's log %s: %s",
			WAL_RESERVE, wal, strerror(errno));
	close(fd);
}

static int lite_start(struct store *st, char *err, size_t errlen)
{
	struct store_conn *c;
	int r = create_private(st->cfg->store_path, err, errlen);

	if (!r)
		r = cfg_check_file(st->cfg->store_path, "store", 022, err,
				   errlen);
	if (r)
		return r;
	c = lite_conn_open(st, err, errlen);
	if (!c)
		return -EIO;
	store_conn_link(c);
	pthread_setspecific(st->key, c);
	r = schema_ensure(st, db_of(c), err, errlen);
	if (r)
		return r; /* store_open releases c */
	reserve_wal(st->cfg);
	return 0;
}

static void lite_close(struct store *st)
{
	(void)st;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = lite_open,
    .start = lite_start,
    .close = lite_close,
    .conn_open = lite_conn_open,
    .conn_free = lite_conn_free,
    .prepare = lite_prepare,
    .finalize = lite_finalize,
    .reset = lite_reset,
    .step = lite_step,
    .bind_int = lite_bind_int,
    .bind_null = lite_bind_null,
    .bind_text = lite_bind_text,
    .bind_blob = lite_bind_blob,
    .col_int = lite_col_int,
    .col_text = lite_col_text,
    .col_null = lite_col_null,
    .last_id = lite_last_id,
    .changed = lite_changed,
    .begin = lite_begin,
    .read_begin = lite_read_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
    .set_wait = lite_set_wait,
    .poll = lite_poll,
    .alive = lite_alive,
    .lead = lite_lead,
    .backup = store_sqlite_backup,
    .bytes = store_sqlite_bytes,
};
