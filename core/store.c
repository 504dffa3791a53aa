/* store.c - SQLite connections, schema, statements, transactions. */
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

#define SCHEMA_VERSION 5
#define WAL_RESERVE    (4 << 20) /* bytes of disk kept for commits */
#define STR(x)	       #x
#define XSTR(x)	       STR(x)

#define TOKEN_COLS                                                             \
	"SELECT t.id, t.user_id, t.name, t.description, t.scopes,"             \
	" t.impersonation, t.created_at, t.description_at, t.scopes_at,"       \
	" t.impersonation_at, t.expires_at, t.expires_at_at,"                  \
	" t.last_used_at, t.revoked_at, t.sealed_at, u.name, u.blocked,"       \
	" u.blocked_at, u.uid, u.kind, t.previous_id,"                        \
	" (SELECT n.id FROM tokens n WHERE n.previous_id = t.id),"             \
	" coalesce(t.family_id, t.id), t.access_level,"                        \
	" coalesce(t.access_level_at, t.created_at), r.id, r.kind, r.name,"    \
	" r.path, r.removed_at, t.notified, t.notified_at"                     \
	" FROM tokens t JOIN users u ON u.id = t.user_id"                      \
	" LEFT JOIN resources r ON r.id = u.resource_id "
#define USER_COLS                                                              \
	"SELECT id, name, blocked, blocked_at, uid, uid_at, created_at,"       \
	" ntokens, kind, coalesce(kind_at, created_at), resource_id"           \
	" FROM users "

#define RES_COLS                                                               \
	"SELECT id, kind, name, path, path_at, created_at, ntokens"            \
	" FROM resources "

static const char *const sql_text[STORE_NSQL] = {
    [SQL_BEGIN] = "BEGIN IMMEDIATE",
    [SQL_COMMIT] = "COMMIT",
    [SQL_ROLLBACK] = "ROLLBACK",
    [SQL_USER_GET] = USER_COLS "WHERE id = ?1",
    [SQL_USER_FIND] = USER_COLS "WHERE name = ?1",
    [SQL_USER_LIST] = USER_COLS "WHERE id > ?1 ORDER BY id",
    [SQL_USER_COUNT] = "SELECT count(*) FROM users",
    [SQL_USER_INSERT] = "INSERT INTO users (name, blocked_at, uid_at,"
			" created_at) VALUES (?1, ?2, ?2, ?2)",
    [SQL_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
    [SQL_USER_SET_BLOCKED] =
	"UPDATE users SET blocked = ?2, blocked_at = ?3 WHERE id = ?1",
    [SQL_USER_SET_UID] = "UPDATE users SET uid = ?2, uid_at = ?3 WHERE id = ?1",
    [SQL_USER_SET_KIND] =
	"UPDATE users SET kind = ?2, kind_at = ?3 WHERE id = ?1",
    [SQL_USER_ADD_TOKEN] =
	"UPDATE users SET ntokens = ntokens + 1 WHERE id = ?1",
    [SQL_TOKEN_GET] = TOKEN_COLS "WHERE t.id = ?1",
    [SQL_TOKEN_FIND_ACTIVE] =
	"SELECT id FROM tokens WHERE user_id = ?1 AND name = ?2"
	" AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)"
	" ORDER BY id DESC LIMIT 1",
    [SQL_TOKEN_LIST_USER] =
	TOKEN_COLS "WHERE t.user_id = ?1 AND t.id > ?2 ORDER BY t.id",
    [SQL_TOKEN_LIST_DAY] = TOKEN_COLS
    "WHERE t.expires_at = ?1 AND t.revoked_at IS NULL AND t.id > ?2"
    " ORDER BY t.expires_at, t.id",
    [SQL_TOKEN_LIST_NEVER] = TOKEN_COLS
    "WHERE t.expires_at IS NULL AND t.revoked_at IS NULL AND t.id > ?2"
    " ORDER BY t.expires_at, t.id",
    [SQL_TOKEN_LIST_WINDOW] = TOKEN_COLS
    "WHERE t.revoked_at IS NULL AND (t.expires_at, t.id) > (?1, ?2)"
    " AND t.expires_at <= ?3 ORDER BY t.expires_at, t.id",
    [SQL_TOKEN_NEXT_EXPIRY] =
	"SELECT expires_at FROM tokens WHERE revoked_at IS NULL"
	" AND expires_at > ?1 ORDER BY expires_at LIMIT 1",
    [SQL_TOKEN_INSERT] =
	"INSERT INTO tokens (user_id, name, scopes, created_at,"
	" description_at, scopes_at, impersonation_at, expires_at,"
	" expires_at_at, access_level) VALUES (?1, ?2, ?3, ?4, ?4, ?4, ?4, ?5,"
	" ?4, ?6)",
    [SQL_TOKEN_SET_ACCESS_LEVEL] = "UPDATE tokens SET access_level = ?2,"
				   " access_level_at = ?3 WHERE id = ?1",
    [SQL_USER_INSERT_BOT] =
	"INSERT INTO users (name, blocked_at, uid_at, created_at, kind,"
	" kind_at, resource_id) VALUES (?1, ?2, ?2, ?2, ?3, ?2, ?4)",
    [SQL_RES_GET] = RES_COLS "WHERE id = ?1 AND removed_at IS NULL",
    [SQL_RES_FIND] =
	RES_COLS "WHERE kind = ?1 AND name = ?2 AND removed_at IS NULL",
    [SQL_RES_LIST] = RES_COLS "WHERE kind = ?1 AND id > ?2"
			      " AND removed_at IS NULL ORDER BY id",
    [SQL_RES_COUNT] =
	"SELECT count(*) FROM resources WHERE kind = ?1 AND removed_at IS NULL",
    [SQL_RES_INSERT] = "INSERT INTO resources (kind, name, path, path_at,"
		       " created_at) VALUES (?1, ?2, ?2, ?3, ?3)",
    [SQL_RES_REMOVE] = "UPDATE resources SET removed_at = ?2 WHERE id = ?1",
    [SQL_RES_SET_PATH] =
	"UPDATE resources SET path = ?2, path_at = ?3 WHERE id = ?1",
    [SQL_RES_ADD_TOKEN] =
	"UPDATE resources SET ntokens = ntokens + 1 WHERE id = ?1",
    [SQL_RES_ACTIVE_TOKEN] =
	"SELECT t.id FROM tokens t JOIN users u ON u.id = t.user_id"
	" WHERE u.resource_id = ?1 AND t.revoked_at IS NULL"
	" AND (t.expires_at IS NULL OR t.expires_at > ?2)"
	" AND (?3 IS NULL OR t.name = ?3) ORDER BY t.id DESC LIMIT 1",
    [SQL_RES_TOKENS] = TOKEN_COLS
    "WHERE u.resource_id = ?1 AND t.id > ?2 ORDER BY t.id",
    [SQL_TOKEN_ROTATE] =
	"INSERT INTO tokens (user_id, name, description, scopes, impersonation,"
	" created_at, description_at, scopes_at, impersonation_at, expires_at,"
	" expires_at_at, previous_id, family_id, access_level,"
	" access_level_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, ?6, ?7, ?6,"
	" ?8, ?9, ?10, ?6)",
    [SQL_TOKEN_FAMILY] =
	"SELECT id FROM tokens WHERE (id = ?1 OR family_id = ?1)"
	" AND revoked_at IS NULL ORDER BY id",
    [SQL_TOKEN_IMPORT] =
	"INSERT INTO tokens (user_id, name, scopes, impersonation, created_at,"
	" description_at, scopes_at, impersonation_at, expires_at,"
	" expires_at_at, last_used_at, revoked_at, sealed_at, digest)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5, ?5, ?6, ?5, ?7, ?8, ?5, ?9)",
    [SQL_TOKEN_SET_DESCRIPTION] = "UPDATE tokens SET description = ?2,"
				  " description_at = ?3 WHERE id = ?1",
    [SQL_TOKEN_SET_SCOPES] =
	"UPDATE tokens SET scopes = ?2, scopes_at = ?3 WHERE id = ?1",
    [SQL_TOKEN_SET_IMPERSONATION] = "UPDATE tokens SET impersonation = ?2,"
				    " impersonation_at = ?3 WHERE id = ?1",
    [SQL_TOKEN_SET_EXPIRES] = "UPDATE tokens SET expires_at = ?2,"
			      " expires_at_at = ?3, notified = NULL"
			      " WHERE id = ?1",
    [SQL_TOKEN_SET_NOTIFIED] = "UPDATE tokens SET notified = ?2,"
			       " notified_at = ?3 WHERE id = ?1",
    [SQL_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at = ?2"
			 " WHERE id = ?1 AND revoked_at IS NULL",
    [SQL_TOKEN_SEAL] =
	"UPDATE tokens SET digest = ?2, sealed_at = ?3 WHERE id = ?1"
	" AND sealed_at IS NULL AND revoked_at IS NULL",
    [SQL_TOKEN_LOST] =
	"SELECT t.id, t.user_id, u.name, t.expires_at"
	" FROM tokens t JOIN users u ON u.id = t.user_id"
	" WHERE t.sealed_at IS NULL AND t.revoked_at IS NULL LIMIT 1",
    [SQL_TOKEN_BY_DIGEST] = TOKEN_COLS "WHERE t.digest = ?1",
    [SQL_TOKEN_TOUCH] = "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1"
			" AND (last_used_at IS NULL OR last_used_at <= ?3)",
    [SQL_AUDIT_LAST] =
	"SELECT off + len, at FROM audit ORDER BY id DESC LIMIT 1",
    [SQL_AUDIT_INSERT] = "INSERT INTO audit (off, len, at, action, object,"
			 " line) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_CHANGE_INSERT] = "INSERT INTO changes (pid, kind, user_id,"
			  " token_id, day) VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQL_CHANGE_PRUNE] = "DELETE FROM changes WHERE seq <= ?1",
    [SQL_CHANGE_SINCE] = "SELECT seq, pid, kind, user_id, token_id, day"
			 " FROM changes WHERE seq > ?1 ORDER BY seq",
    [SQL_DATA_VERSION] = "PRAGMA data_version",
    [SQL_CHANGE_LAST] = "SELECT coalesce(max(seq), 0) FROM changes",
    [SQL_AUDIT_FROM] =
	"SELECT off, line FROM audit WHERE id >= (SELECT id FROM audit"
	" WHERE off <= ?1 ORDER BY off DESC LIMIT 1) ORDER BY id",
};

/* schema[v] takes a store from version v to v + 1. */
static const char *const schema[SCHEMA_VERSION] = {
    /* 1 */
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE,"
    " blocked INTEGER NOT NULL DEFAULT 0,"
    " blocked_at INTEGER NOT NULL,"
    " uid INTEGER,"
    " uid_at INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " ntokens INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE tokens ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES users (id),"
    " name TEXT NOT NULL,"
    " description TEXT NOT NULL DEFAULT '',"
    " description_at INTEGER NOT NULL,"
    " scopes INTEGER NOT NULL,"
    " scopes_at INTEGER NOT NULL,"
    " impersonation INTEGER NOT NULL DEFAULT 0,"
    " impersonation_at INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER," /* days since the epoch */
    " expires_at_at INTEGER NOT NULL,"
    " last_used_at INTEGER,"
    " revoked_at INTEGER,"
    " sealed_at INTEGER,"
    " digest BLOB UNIQUE);" /* keyed digest of the secret, once sealed */
    "CREATE INDEX tokens_by_user ON tokens (user_id, id);"
    "CREATE INDEX tokens_by_name ON tokens (user_id, name)"
    " WHERE revoked_at IS NULL;"
    "CREATE INDEX tokens_by_expiry ON tokens (expires_at, id)"
    " WHERE revoked_at IS NULL;"
    "CREATE INDEX tokens_unsealed ON tokens (id)"
    " WHERE sealed_at IS NULL AND revoked_at IS NULL;"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY,"
    " off INTEGER NOT NULL," /* byte offset of line in audit.log */
    " len INTEGER NOT NULL,"
    " at INTEGER NOT NULL,"
    " action TEXT NOT NULL,"
    " object TEXT NOT NULL,"
    " line TEXT NOT NULL);" /* the JSON line, newline included */
    "CREATE UNIQUE INDEX audit_by_off ON audit (off);",
    /* 2: what each commit touched, for caches in other processes */
    "CREATE TABLE changes ("
    " seq INTEGER PRIMARY KEY,"
    " pid INTEGER NOT NULL," /* of the committing process */
    " kind INTEGER NOT NULL,"
    " user_id INTEGER NOT NULL,"
    " token_id INTEGER NOT NULL,"
    " day INTEGER NOT NULL);",
    /* 3: kinds of users; rotation: a token's predecessor and family */
    "ALTER TABLE users ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN kind_at INTEGER;" /* NULL: created_at */
    "ALTER TABLE tokens ADD COLUMN previous_id INTEGER REFERENCES tokens (id);"
    "ALTER TABLE tokens ADD COLUMN family_id INTEGER;" /* NULL: its own id */
    "CREATE UNIQUE INDEX tokens_by_previous ON tokens (previous_id)"
    " WHERE previous_id IS NOT NULL;"
    "CREATE INDEX tokens_by_family ON tokens (family_id)"
    " WHERE family_id IS NOT NULL;",
    /* 4: projects and groups, whose tokens their bots hold */
    "CREATE TABLE resources ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind INTEGER NOT NULL," /* 0 project, 1 group */
    " name TEXT NOT NULL,"
    " path TEXT NOT NULL,"
    " path_at INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " ntokens INTEGER NOT NULL DEFAULT 0,"
    " removed_at INTEGER);"
    "CREATE UNIQUE INDEX resources_by_name ON resources (kind, name)"
    " WHERE removed_at IS NULL;"
    "ALTER TABLE users ADD COLUMN resource_id INTEGER"
    " REFERENCES resources (id);"
    "CREATE INDEX users_by_resource ON users (resource_id)"
    " WHERE resource_id IS NOT NULL;"
    "ALTER TABLE tokens ADD COLUMN access_level INTEGER;"
    "ALTER TABLE tokens ADD COLUMN access_level_at INTEGER;",
    /* 5: the expiry notices sent: thresholds in days, 0 the day itself */
    "ALTER TABLE tokens ADD COLUMN notified TEXT;" /* "60,30,7,0" */
    "ALTER TABLE tokens ADD COLUMN notified_at INTEGER;",
};

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
	rc = sqlite3_prepare_v3(c->db, sql_text[id], -1,
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

/* Creates or checks the schema on c: 0 or -errno with err set. */
static int schema_ensure(struct store_conn *c, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int version = -1, rc;
	char *msg = NULL;

	rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
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
	rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
	for (int v = version; rc == SQLITE_OK && v < SCHEMA_VERSION; v++)
		rc = sqlite3_exec(c->db, schema[v], NULL, NULL, &msg);
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
