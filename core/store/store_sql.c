/* store_sql.c - the text of the store: its schema, version by version, and
 * every statement of the core. */
#include "storeInt.h"

/* The token columns (store_stmt.h's TOKEN_COLUMNS), and a last NULL that
 * ends the list */
#define TOKEN_COL_SQL(name, sql) sql ", "
#define TOKEN_COLS                                                             \
	"SELECT " TOKEN_COLUMNS(                                               \
	    TOKEN_COL_SQL) "NULL"                                              \
			   " FROM tokens t JOIN users u ON u.id = t.user_id"   \
			   " LEFT JOIN resources r ON r.id = u.resource_id "
#define USER_COLS                                                              \
	"SELECT id, name, blocked, blocked_at, uid, uid_at, created_at,"       \
	" ntokens, kind, coalesce(kind_at, created_at), resource_id"           \
	" FROM users "

#define RES_COLS                                                               \
	"SELECT id, kind, name, path, path_at, created_at, ntokens"            \
	" FROM resources "

const char *const store_sql_text[STORE_NSQL] = {
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
    /* the window of the tokens of the users mapped to uid ?3: through
     * users_by_uid, as many rows as they have */
    [SQL_TOKEN_LIST_UID] = TOKEN_COLS
    "WHERE u.uid = ?3 AND t.revoked_at IS NULL"
    " AND (t.expires_at, t.id) > (?1, ?2) ORDER BY t.expires_at, t.id",
    /* revoked since ?1 and due to expire after day ?2, of uid ?3's users
     * (any: -1), after id ?4: through tokens_by_revoked */
    [SQL_TOKEN_LIST_CANCELLED] =
	TOKEN_COLS "WHERE t.revoked_at >= ?1 AND t.expires_at > ?2"
		   " AND (?3 < 0 OR u.uid = ?3) AND t.id > ?4 ORDER BY t.id",
    [SQL_TOKEN_NEXT_EXPIRY] =
	"SELECT expires_at FROM tokens WHERE revoked_at IS NULL"
	" AND expires_at > ?1 ORDER BY expires_at LIMIT 1",
    [SQL_TOKEN_INSERT] =
	"INSERT INTO tokens (user_id, name, scopes, created_at,"
	" description_at, scopes_at, impersonation_at, expires_at,"
	" expires_at_at, access_level, minted_by) VALUES (?1, ?2, ?3, ?4, ?4,"
	" ?4, ?4, ?5, ?4, ?6, ?7)",
    /* unrevoked, last used (or made, if never used) by ?1, after id ?2:
     * in id order, through the primary key (+0 keeps SQLite off
     * tokens_by_use, whose order would cost a sort per page) */
    [SQL_TOKEN_LIST_UNUSED] =
	TOKEN_COLS "WHERE t.revoked_at IS NULL AND t.id > ?2"
		   " AND coalesce(t.last_used_at, t.created_at) + 0 <= ?1"
		   " ORDER BY t.id",
    [SQL_TOKEN_LIST_ALL] = TOKEN_COLS "WHERE t.id > ?1 ORDER BY t.id",
    /* every token of the users mapped to uid ?1, after id ?2 */
    [SQL_TOKEN_LIST_OF_UID] =
	TOKEN_COLS "WHERE u.uid = ?1 AND t.id > ?2 ORDER BY t.id",
    [SQL_BEGIN_READ] = "BEGIN",
    [SQL_SOURCE_FIND] =
	"SELECT id FROM token_sources WHERE token_id = ?1 AND source = ?2",
    [SQL_SOURCE_INSERT] = "INSERT INTO token_sources (token_id, source,"
			  " first_at, last_at, count) VALUES (?1, ?2, ?3, ?3,"
			  " ?4)",
    [SQL_SOURCE_BUMP] = "UPDATE token_sources SET last_at = ?2,"
			" count = count + ?3 WHERE id = ?1",
    /* the 16 latest are kept */
    [SQL_SOURCE_PRUNE] =
	"DELETE FROM token_sources WHERE token_id = ?1 AND id NOT IN"
	" (SELECT id FROM token_sources WHERE token_id = ?1"
	" ORDER BY last_at DESC, id DESC LIMIT 16)",
    [SQL_SOURCE_LIST] = "SELECT source, first_at, last_at, count"
			" FROM token_sources WHERE token_id = ?1"
			" ORDER BY last_at DESC, id DESC",
    [SQL_RULES_LIST] = "SELECT name, value, set_at FROM policies ORDER BY name",
    [SQL_RULE_SET] = "INSERT INTO policies (name, value, set_at)"
		     " VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE"
		     " SET value = excluded.value, set_at = excluded.set_at",
    /* revoked by ?1, or unrevoked and expired by day ?2, after id ?3 */
    /* active tokens that break the policies (rules.c's rules_broken, in
     * SQL: keep the two in step): ?1 today, ?2 max_lifetime_days, ?3
     * require_expiry, ?4 service_accounts_require_expiry, ?5 the scopes
     * not allowed */
    [SQL_STATS_NONCOMPLIANT] =
	"SELECT count(*) FROM tokens t JOIN users u ON u.id = t.user_id"
	" WHERE t.revoked_at IS NULL"
	" AND (t.expires_at IS NULL OR t.expires_at > ?1)"
	" AND u.blocked = 0 AND coalesce(t.disabled, 0) = 0"
	" AND ((t.expires_at IS NOT NULL"
	" AND t.expires_at - t.created_at / 86400 > ?2)"
	" OR (t.expires_at IS NULL AND ?3 <> 0 AND (u.kind <> 1 OR ?4 <> 0))"
	" OR (t.scopes & ?5) <> 0)",
    [SQL_TOKEN_LIST_PRUNE] =
	TOKEN_COLS "WHERE ((t.revoked_at IS NOT NULL AND t.revoked_at <= ?1)"
		   " OR (t.revoked_at IS NULL AND t.expires_at <= ?2))"
		   " AND t.id > ?3 ORDER BY t.id",
    [SQL_TOKEN_UNLINK_PREVIOUS] =
	"UPDATE tokens SET previous_id = NULL WHERE previous_id = ?1",
    [SQL_SOURCE_DELETE_TOKEN] = "DELETE FROM token_sources WHERE token_id = ?1",
    [SQL_TOKEN_DELETE] = "DELETE FROM tokens WHERE id = ?1",
    [SQL_USER_SUB_TOKEN] =
	"UPDATE users SET ntokens = ntokens - 1 WHERE id = ?1 AND ntokens > 0",
    [SQL_RES_SUB_TOKEN] = "UPDATE resources SET ntokens = ntokens - 1"
			  " WHERE id = ?1 AND ntokens > 0",
    [SQL_TOKEN_SET_FROM] =
	"UPDATE tokens SET last_used_from = ?2 WHERE id = ?1",
    [SQL_TOKEN_SET_DISABLED] =
	"UPDATE tokens SET disabled = ?2, disabled_at = ?3 WHERE id = ?1",
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
    [SQL_RES_TOKENS] =
	TOKEN_COLS "WHERE u.resource_id = ?1 AND t.id > ?2 ORDER BY t.id",
    [SQL_TOKEN_ROTATE] =
	"INSERT INTO tokens (user_id, name, description, scopes, impersonation,"
	" created_at, description_at, scopes_at, impersonation_at, expires_at,"
	" expires_at_at, previous_id, family_id, access_level,"
	" access_level_at, minted_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6,"
	" ?6, ?7, ?6, ?8, ?9, ?10, ?6, ?11)",
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
	"SELECT t.id, t.minted_by FROM tokens t"
	" WHERE t.sealed_at IS NULL AND t.revoked_at IS NULL AND t.id > ?1"
	" ORDER BY t.id LIMIT 1",
    [SQL_TOKEN_BY_DIGEST] = TOKEN_COLS "WHERE t.digest = ?1",
    [SQL_TOKEN_TOUCH] = "UPDATE tokens SET last_used_at = ?2,"
			" last_used_ms = NULL WHERE id = ?1"
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
    /* gitlab.c */
    [SQL_GL_USER_FIND] =
	"SELECT id, name, blocked FROM users WHERE gitlab_id = ?1",
    [SQL_GL_USER_INSERT] =
	"INSERT INTO users (name, blocked_at, uid_at, created_at, kind,"
	" resource_id, gitlab_id) VALUES (?1, ?2, ?2, ?2, ?3, ?4, ?5)",
    [SQL_GL_RES_FIND] =
	"SELECT id, name FROM resources WHERE kind = ?1 AND gitlab_id = ?2",
    [SQL_GL_RES_INSERT] =
	"INSERT INTO resources (kind, name, path, path_at, created_at,"
	" gitlab_id) VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
    [SQL_GL_RES_PATH] = "UPDATE resources SET path = ?2, path_at = ?3"
			" WHERE id = ?1 AND path IS NOT ?2",
    /* a token imported before: where it lives (its owner, and its
     * project's or group's kind and name) */
    [SQL_GL_TOKEN_FIND] =
	"SELECT t.id, t.user_id, coalesce(u.resource_id, 0), u.name,"
	" coalesce(r.kind, 0), coalesce(r.name, '') FROM tokens t"
	" JOIN users u ON u.id = t.user_id"
	" LEFT JOIN resources r ON r.id = u.resource_id WHERE t.gitlab_id = ?1",
    [SQL_GL_TOKEN_INSERT] =
	"INSERT INTO tokens (user_id, name, description, description_at,"
	" scopes, scopes_at, impersonation, impersonation_at, created_at,"
	" expires_at, expires_at_at, last_used_at, revoked_at, sealed_at,"
	" access_level, access_level_at, last_used_ms, created_ms, gitlab_id)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6, ?4, ?7, ?8, ?4, ?9, ?10, ?7,"
	" ?11, ?4, ?12, ?13, ?14)",
    /* each attribute's time moves only when it changed */
    [SQL_GL_TOKEN_UPDATE] =
	"UPDATE tokens SET"
	" description_at = CASE WHEN description IS ?3 AND name IS ?2"
	"  THEN description_at ELSE ?4 END, name = ?2, description = ?3,"
	" scopes_at = CASE WHEN scopes IS ?5 THEN scopes_at ELSE ?4 END,"
	" scopes = ?5,"
	" impersonation_at = CASE WHEN impersonation IS ?6"
	"  THEN impersonation_at ELSE ?4 END, impersonation = ?6,"
	" expires_at_at = CASE WHEN expires_at IS ?8 THEN expires_at_at"
	"  ELSE ?4 END, expires_at = ?8, last_used_at = ?9, last_used_ms = ?12,"
	" revoked_at = CASE WHEN ?10 IS NULL THEN NULL"
	"  ELSE coalesce(revoked_at, ?10) END,"
	" access_level_at = CASE WHEN access_level IS ?11"
	"  THEN access_level_at ELSE ?4 END, access_level = ?11"
	" WHERE id = ?1 AND (name IS NOT ?2 OR description IS NOT ?3"
	" OR scopes IS NOT ?5 OR impersonation IS NOT ?6"
	" OR expires_at IS NOT ?8 OR last_used_at IS NOT ?9"
	" OR last_used_ms IS NOT ?12"
	" OR (revoked_at IS NULL) IS NOT (?10 IS NULL)"
	" OR access_level IS NOT ?11)",
    /* stats.c: kinds and states as enum stats_kind and stats_state say */
    [SQL_STATS_TOKENS] =
	"SELECT CASE WHEN t.impersonation THEN 1 WHEN u.kind = 1 THEN 2"
	" WHEN u.kind = 2 THEN 3 WHEN u.kind = 3 THEN 4 ELSE 0 END AS k,"
	" CASE WHEN t.revoked_at IS NOT NULL THEN 1"
	" WHEN t.expires_at IS NOT NULL AND t.expires_at <= ?1 THEN 2"
	" WHEN u.blocked THEN 3 WHEN t.disabled > 0 THEN 4"
	" ELSE 0 END AS s, count(*)"
	" FROM tokens t JOIN users u ON u.id = t.user_id GROUP BY k, s",
    [SQL_STATS_EXPIRING] =
	"SELECT coalesce(sum(t.expires_at <= ?1 + ?2), 0),"
	" coalesce(sum(t.expires_at <= ?1 + ?3), 0),"
	" coalesce(sum(t.expires_at <= ?1 + ?4), 0)"
	" FROM tokens t JOIN users u ON u.id = t.user_id"
	" WHERE t.revoked_at IS NULL AND t.expires_at > ?1"
	" AND t.expires_at <= ?1 + max(?2, ?3, ?4) AND NOT u.blocked"
	" AND coalesce(t.disabled, 0) = 0",
    /* active tokens last used (or made) ?2, ?3, ?4 days before ?1 */
    [SQL_STATS_UNUSED] =
	"SELECT coalesce(sum(coalesce(t.last_used_at, t.created_at)"
	" <= ?1 - ?2 * 86400), 0),"
	" coalesce(sum(coalesce(t.last_used_at, t.created_at)"
	" <= ?1 - ?3 * 86400), 0),"
	" coalesce(sum(coalesce(t.last_used_at, t.created_at)"
	" <= ?1 - ?4 * 86400), 0)"
	" FROM tokens t JOIN users u ON u.id = t.user_id"
	" WHERE t.revoked_at IS NULL"
	" AND (t.expires_at IS NULL OR t.expires_at > ?5)"
	" AND NOT u.blocked AND coalesce(t.disabled, 0) = 0",
    [SQL_STATS_AUDIT_TOP] = "SELECT coalesce(max(id), 0) FROM audit",
    [SQL_STATS_ACTIONS] =
	"SELECT action, count(*) FROM audit WHERE id > ?1 GROUP BY action",
    [SQL_AUDIT_FROM] =
	"SELECT off, line FROM audit WHERE id >= (SELECT id FROM audit"
	" WHERE off <= ?1 ORDER BY off DESC LIMIT 1) ORDER BY id",
};

const char *const store_schema[SCHEMA_VERSION] = {
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
    /* 6: what was imported from a GitLab instance, by GitLab's ids */
    "ALTER TABLE tokens ADD COLUMN gitlab_id INTEGER;"
    "ALTER TABLE users ADD COLUMN gitlab_id INTEGER;"
    "ALTER TABLE resources ADD COLUMN gitlab_id INTEGER;"
    "CREATE UNIQUE INDEX tokens_by_gitlab ON tokens (gitlab_id)"
    " WHERE gitlab_id IS NOT NULL;"
    "CREATE UNIQUE INDEX users_by_gitlab ON users (gitlab_id)"
    " WHERE gitlab_id IS NOT NULL;"
    "CREATE UNIQUE INDEX resources_by_gitlab ON resources (kind, gitlab_id)"
    " WHERE gitlab_id IS NOT NULL;",
    /* 7: which daemon minted an unsealed token (its store's origin), so
     * that a sweep for lost secrets spares the tokens of live daemons */
    "ALTER TABLE tokens ADD COLUMN minted_by INTEGER;",
    /* 8: a user's calendar reads the tokens of its uid, not all */
    "CREATE INDEX users_by_uid ON users (uid) WHERE uid IS NOT NULL;",
    /* 9: the milliseconds of GitLab's times, which meta.json shows; the
     * recent revocations, which expiring.ics shows cancelled */
    "ALTER TABLE tokens ADD COLUMN created_ms INTEGER;"
    "ALTER TABLE tokens ADD COLUMN last_used_ms INTEGER;"
    "CREATE INDEX tokens_by_revoked ON tokens (revoked_at)"
    " WHERE revoked_at IS NOT NULL;",
    /* 10: a reversible stop (1 by its owner, 2 by an administrator); the
     * tokens by their last use (never used: their creation), for unused/ */
    "ALTER TABLE tokens ADD COLUMN disabled INTEGER;"
    "ALTER TABLE tokens ADD COLUMN disabled_at INTEGER;"
    "CREATE INDEX tokens_by_use ON tokens"
    " ((coalesce(last_used_at, created_at)), id) WHERE revoked_at IS NULL;"
    /* where each token was used from: the 16 latest sources */
    "ALTER TABLE tokens ADD COLUMN last_used_from TEXT;"
    "CREATE TABLE token_sources ("
    " id INTEGER PRIMARY KEY,"
    " token_id INTEGER NOT NULL REFERENCES tokens (id),"
    " source TEXT NOT NULL,"
    " first_at INTEGER NOT NULL,"
    " last_at INTEGER NOT NULL,"
    " count INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX sources_by_token ON token_sources (token_id, source);"
    /* the policies written at runtime (policy/): over the ini file's */
    "CREATE TABLE policies ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " value TEXT NOT NULL,"
    " set_at INTEGER NOT NULL);",
};
