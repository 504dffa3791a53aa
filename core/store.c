/* store.c - SQLite connections, the schema's migrations, statements,
 * transactions. The text of the schema and the statements: store_sql.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "patfs/cfg.h"
#include "patfs/secret.h"
#include "storeInt.h"

#define WAL_RESERVE    (4 << 20) /* bytes of disk kept for commits */
#define STR(x)	       #x
#define XSTR(x)	       STR(x)


int store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:
		return -EACCES;
	default:
		return -EIO;
	}
}

int64_t store_now(void)
{
	return (int64_t)time(NULL);
}

int store_bind_text(sqlite3_stmt *s, int i, const char *p, size_t len)
{
	return sqlite3_bind_text(s, i, p, (int)len, SQLITE_TRANSIENT);
}

static void conn_free(struct store_conn *c)
{
	for (int i = 0; i < STORE_NSQL; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

/* Unlinks c from its store and frees it. */
static void conn_drop(struct store_conn *c)
{
	struct store *st = c->st;

	pthread_mutex_lock(&st->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		st->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&st->lock);
	conn_free(c);
}

static void conn_destructor(void *p)
{
	conn_drop(p);
}

/* Opens a connection to path; NULL on failure, with the reason in err. */
static struct store_conn *conn_open(struct store *st, char *err, size_t errlen)
{
	struct store_conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->st = st;
	rc = sqlite3_open_v2(st->cfg->store_path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, BUSY_MS);
	rc =
	    sqlite3_exec(c->db,
			 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			 " PRAGMA foreign_keys = ON;",
			 NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	/* the log outlives the last connection, and with it its reserve */
	sqlite3_file_control(c->db, "main", SQLITE_FCNTL_PERSIST_WAL,
			     &(int){1});
	pthread_mutex_lock(&st->lock);
	c->next = st->conns;
	if (c->next)
		c->next->prev = c;
	st->conns = c;
	pthread_mutex_unlock(&st->lock);
	return c;

fail:
	snprintf(err, errlen, "store %s: %s", st->cfg->store_path,
		 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	conn_free(c);
	return NULL;
}

struct store_conn *store_conn(struct store *st)
{
	struct store_conn *c = pthread_getspecific(st->key);
	char err[512];

	if (c)
		return c;
	c = conn_open(st, err, sizeof(err));
	if (!c) {
		pfs_log(PFS_LOG_ERR, "%s", err);
		return NULL;
	}
	if (pthread_setspecific(st->key, c) != 0) {
		conn_drop(c);
		return NULL;
	}
	return c;
}

void store_release_thread(struct store *st)
{
	struct store_conn *c = pthread_getspecific(st->key);

	if (c) {
		pthread_setspecific(st->key, NULL);
		conn_drop(c);
	}
}

/* Statements this thread has used: a debug counter (store_statements). */
static __thread uint64_t statements;

uint64_t store_statements(void)
{
	return statements;
}

sqlite3_stmt *store_sql(struct store_conn *c, enum store_sql id)
{
	sqlite3_stmt *s = c->stmt[id];
	int rc;

	statements++;
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	rc = sqlite3_prepare_v3(c->db, store_sql_text[id], -1,
				SQLITE_PREPARE_PERSISTENT, &c->stmt[id], NULL);
	if (rc != SQLITE_OK) {
		pfs_log(PFS_LOG_ERR, "preparing statement %d: %s", id,
			sqlite3_errmsg(c->db));
		return NULL;
	}
	return c->stmt[id];
}

int store_step(struct store_conn *c, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	/* a constraint is an answer (EEXIST), not a fault worth logging */
	if ((rc & 0xff) != SQLITE_CONSTRAINT &&
	    !(c->quiet_busy && (rc & 0xff) == SQLITE_BUSY))
		pfs_log(PFS_LOG_ERR, "sqlite: %s", sqlite3_errmsg(c->db));
	sqlite3_reset(s);
	return store_errno(rc);
}

int store_exec(struct store_conn *c, sqlite3_stmt *s)
{
	int r = store_step(c, s);

	sqlite3_reset(s);
	return r < 0 ? r : 0;
}

int store_begin(struct store_conn *c)
{
	sqlite3_stmt *s = store_sql(c, SQL_BEGIN);

	c->nchanges = 0;
	c->overflow = false;
	return s ? store_exec(c, s) : -EIO;
}

void store_set_wait(struct store *st, int ms)
{
	struct store_conn *c = store_conn(st);

	if (c)
		sqlite3_busy_timeout(c->db, ms);
}

int store_begin_nowait(struct store_conn *c)
{
	int r;

	sqlite3_busy_timeout(c->db, 0);
	c->quiet_busy = true;
	r = store_begin(c);
	c->quiet_busy = false;
	sqlite3_busy_timeout(c->db, BUSY_MS);
	return r;
}

void store_rollback(struct store_conn *c)
{
	sqlite3_stmt *s = store_sql(c, SQL_ROLLBACK);

	c->nchanges = 0;
	c->overflow = false;
	if (s && sqlite3_get_autocommit(c->db) == 0)
		store_exec(c, s);
}

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

/* Bytes in path (0 when it does not exist), or -1 when it cannot be
 * told. */
static off_t file_size(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) == 0)
		return sb.st_size;
	return errno == ENOENT ? 0 : -1;
}

/* A store and its pepper go together. A store without data (missing or
 * empty) beside an existing pepper means the store was lost: starting anew
 * would hide every token, so it takes cfg->store_init. A store with data
 * whose pepper is missing is refused always: a new pepper would fail every
 * secret. (A store in use always has data in its main file: switching it
 * to WAL wrote its first page.) A log or shared-memory file left beside an
 * empty store belongs to no store and is removed. 0 or -errno with err. */
static int check_pair(const struct cfg *cfg, char *err, size_t errlen)
{
	char path[4096];
	off_t db = file_size(cfg->store_path);
	off_t pepper = file_size(cfg->pepper_file);

	if (db < 0 || pepper < 0)
		return 0; /* the opens that follow say why */
	if (db == 0 && pepper > 0 && !cfg->store_init) {
		snprintf(err, errlen,
			 "store %s is missing or empty but its pepper %s "
			 "exists: restore the store from a backup, or start "
			 "with --init to begin a new, empty store",
			 cfg->store_path, cfg->pepper_file);
		return -ENOENT;
	}
	if (db > 0 && pepper == 0 && access(cfg->pepper_file, F_OK) != 0) {
		snprintf(err, errlen,
			 "store %s has data but its pepper %s is missing: "
			 "restore the pepper from its backup (a new one would "
			 "fail every secret)",
			 cfg->store_path, cfg->pepper_file);
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

/* The schema version of c's store, or -1. */
static int schema_version(struct store_conn *c)
{
	sqlite3_stmt *s = NULL;
	int version = -1;

	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return version;
}

/* Before a store of an older version is upgraded, a copy of it is kept
 * beside it, PATH.v<version>.bak (once: a copy already there is the one
 * from before the first attempt). 0 or -errno with err set. */
static int keep_old(struct store_conn *c, int version, char *err,
		    size_t errlen)
{
	char bak[4096];
	int r;

	if (snprintf(bak, sizeof(bak), "%s.v%d.bak", c->st->cfg->store_path,
		     version) >= (int)sizeof(bak)) {
		snprintf(err, errlen, "store path too long");
		return -ENAMETOOLONG;
	}
	r = store_copy(c->db, bak, NULL, NULL, err, errlen);
	if (r == -EEXIST)
		return 0;
	if (!r)
		pfs_log(PFS_LOG_INFO,
			"store %s: schema version %d upgraded to %d; the "
			"store as it was is kept in %s",
			c->st->cfg->store_path, version, SCHEMA_VERSION, bak);
	return r;
}

/* Creates or checks the schema on c: 0 or -errno with err set. */
static int schema_ensure(struct store_conn *c, char *err, size_t errlen)
{
	int version = schema_version(c), rc, r;
	char *msg = NULL;

	if (version < 0) {
		snprintf(err, errlen, "store %s: %s", c->st->cfg->store_path,
			 sqlite3_errmsg(c->db));
		return -EIO;
	}
	if (version == SCHEMA_VERSION)
		return 0;
	if (version > SCHEMA_VERSION) {
		snprintf(
		    err, errlen,
		    "store %s: schema version %d is newer than this patfs (%d)",
		    c->st->cfg->store_path, version, SCHEMA_VERSION);
		return -EPROTO;
	}
	if (version > 0) {
		r = keep_old(c, version, err, errlen);
		if (r)
			return r;
	}
	rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
	if (rc == SQLITE_OK) /* another process may have upgraded it since */
		version = schema_version(c);
	for (int v = version; rc == SQLITE_OK && v < SCHEMA_VERSION; v++)
		rc = sqlite3_exec(c->db, store_schema[v], NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(
		    c->db,
		    "PRAGMA user_version = " XSTR(SCHEMA_VERSION) "; COMMIT",
		    NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "store %s: creating schema: %s",
			 c->st->cfg->store_path,
			 msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return store_errno(rc);
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

int store_open(struct store **out, const struct cfg *cfg, char *err,
	       size_t errlen)
{
	struct store *st = calloc(1, sizeof(*st));
	struct store_conn *c;
	int r;

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	st->cfg = cfg;
	pthread_mutex_init(&st->lock, NULL);
	r = pthread_key_create(&st->key, conn_destructor);
	if (r) {
		snprintf(err, errlen, "pthread_key_create: %s", strerror(r));
		r = -r;
		goto free_st;
	}
	r = check_pair(cfg, err, errlen);
	if (!r)
		r = cfg_check_file(cfg->pepper_file, "pepper file", 077, err,
				   errlen);
	if (r)
		goto delete_key;
	r = secret_pepper_load(cfg->pepper_file, &st->pepper, err, errlen);
	if (r)
		goto delete_key;
	r = create_private(cfg->store_path, err, errlen);
	if (!r)
		r = cfg_check_file(cfg->store_path, "store", 022, err, errlen);
	if (r)
		goto free_pepper;
	c = conn_open(st, err, errlen);
	if (!c) {
		r = -EIO;
		goto free_pepper;
	}
	pthread_setspecific(st->key, c);
	r = schema_ensure(c, err, errlen);
	if (r)
		goto close_conns;
	reserve_wal(cfg);
	*out = st;
	return 0;

close_conns:
	store_release_thread(st);
free_pepper:
	secret_pepper_free(st->pepper);
delete_key:
	pthread_key_delete(st->key);
free_st:
	pthread_mutex_destroy(&st->lock);
	free(st);
	return r;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	pthread_setspecific(st->key, NULL);
	pthread_key_delete(st->key);
	while (st->conns) {
		struct store_conn *c = st->conns;
		st->conns = c->next;
		conn_free(c);
	}
	secret_pepper_free(st->pepper);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void store_set_change_hook(struct store *st, store_change_fn *fn, void *ctx)
{
	st->hook = fn;
	st->hook_ctx = ctx;
}

const struct cfg *store_cfg(const struct store *st)
{
	return st->cfg;
}
