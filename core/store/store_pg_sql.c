/* store_pg_sql.c - the text of a PostgreSQL store: its schema, and the
 * statements whose text differs from SQLite's (store_sql.c); store_pg.c
 * derives every other one from SQLite's. */
#include "storeInt.h"

/* Statements whose PostgreSQL text differs from SQLite's (store_sql.c);
 * every other one is SQLite's with its parameters numbered $N. */
const char *const store_pg_sql[STORE_NSQL] = {
    [SQL_RES_ACTIVE_TOKEN] =
	"SELECT t.id FROM tokens t JOIN users u ON u.id = t.user_id"
	" WHERE u.resource_id = $1 AND t.revoked_at IS NULL"
	" AND (t.expires_at IS NULL OR t.expires_at > $2)"
	" AND ($3::text IS NULL OR t.name = $3::text)"
	" ORDER BY t.id DESC LIMIT 1",
    [SQL_CHANGE_INSERT] =
	"INSERT INTO changes (seq, pid, kind, user_id, token_id, day)"
	" SELECT coalesce(max(seq), 0) + 1, $1::bigint, $2::integer,"
	" $3::bigint, $4::bigint, $5::bigint FROM changes RETURNING seq",
    [SQL_GL_RES_PATH] = "UPDATE resources SET path = $2, path_at = $3"
			" WHERE id = $1 AND path IS DISTINCT FROM $2",
    [SQL_GL_TOKEN_UPDATE] =
	"UPDATE tokens SET"
	" description_at = CASE WHEN description IS NOT DISTINCT FROM"
	"  $3::text AND name IS NOT DISTINCT FROM $2::text"
	"  THEN description_at ELSE $4::bigint END, name = $2,"
	" description = $3,"
	" scopes_at = CASE WHEN scopes IS NOT DISTINCT FROM $5::bigint"
	"  THEN scopes_at ELSE $4 END, scopes = $5,"
	" impersonation_at = CASE WHEN impersonation IS NOT DISTINCT FROM"
	"  $6::integer THEN impersonation_at ELSE $4 END,"
	" impersonation = $6,"
	" expires_at_at = CASE WHEN expires_at IS NOT DISTINCT FROM"
	"  $8::bigint THEN expires_at_at ELSE $4 END, expires_at = $8,"
	" last_used_at = $9::bigint, last_used_ms = $12::integer,"
	" revoked_at = CASE WHEN $10::bigint IS NULL THEN NULL"
	"  ELSE coalesce(revoked_at, $10::bigint) END,"
	" access_level_at = CASE WHEN access_level IS NOT DISTINCT FROM"
	"  $11::integer THEN access_level_at ELSE $4 END,"
	" access_level = $11"
	" WHERE id = $1 AND (name IS DISTINCT FROM $2"
	" OR description IS DISTINCT FROM $3"
	" OR scopes IS DISTINCT FROM $5 OR impersonation IS DISTINCT FROM $6"
	" OR expires_at IS DISTINCT FROM $8"
	" OR last_used_at IS DISTINCT FROM $9"
	" OR last_used_ms IS DISTINCT FROM $12"
	" OR (revoked_at IS NULL) IS DISTINCT FROM ($10::bigint IS NULL)"
	" OR access_level IS DISTINCT FROM $11)",
    [SQL_STATS_TOKENS] =
	"SELECT CASE WHEN t.impersonation <> 0 THEN 1 WHEN u.kind = 1 THEN 2"
	" WHEN u.kind = 2 THEN 3 WHEN u.kind = 3 THEN 4 ELSE 0 END AS k,"
	" CASE WHEN t.revoked_at IS NOT NULL THEN 1"
	" WHEN t.expires_at IS NOT NULL AND t.expires_at <= $1 THEN 2"
	" WHEN u.blocked <> 0 THEN 3 WHEN t.disabled > 0 THEN 4"
	" ELSE 0 END AS s, count(*)"
	" FROM tokens t JOIN users u ON u.id = t.user_id GROUP BY k, s",
    [SQL_STATS_EXPIRING] =
	"SELECT count(*) FILTER (WHERE t.expires_at <= $1::bigint + "
	"$2::bigint),"
	" count(*) FILTER (WHERE t.expires_at <= $1::bigint + $3::bigint),"
	" count(*) FILTER (WHERE t.expires_at <= $1::bigint + $4::bigint)"
	" FROM tokens t JOIN users u ON u.id = t.user_id"
	" WHERE t.revoked_at IS NULL AND t.expires_at > $1::bigint"
	" AND t.expires_at <= $1::bigint + greatest($2::bigint, $3::bigint,"
	" $4::bigint) AND u.blocked = 0",
};

/* The schema, in one place: store_pg_create makes it as of SCHEMA_VERSION,
 * and store_pg_upgrade[v] takes a store from version v to v + 1 (the first
 * PostgreSQL stores were made at version 7: none before it). Each step is
 * also in store_pg_create. */
const char *const store_pg_upgrade[SCHEMA_VERSION] = {
    [7] = "CREATE INDEX users_by_uid ON users (uid) WHERE uid IS NOT NULL;",
    [8] = "ALTER TABLE tokens ADD COLUMN created_ms integer;"
	  "ALTER TABLE tokens ADD COLUMN last_used_ms integer;"
	  "CREATE INDEX tokens_by_revoked ON tokens (revoked_at)"
	  " WHERE revoked_at IS NOT NULL;",
    [9] = "ALTER TABLE tokens ADD COLUMN disabled integer;"
	  "ALTER TABLE tokens ADD COLUMN disabled_at bigint;"
	  "CREATE INDEX tokens_by_use ON tokens"
	  " ((coalesce(last_used_at, created_at)), id)"
	  " WHERE revoked_at IS NULL;",
};

const char store_pg_create[] =
    "CREATE TABLE resources ("
    " id bigserial PRIMARY KEY,"
    " kind integer NOT NULL," /* 0 project, 1 group */
    " name text NOT NULL,"
    " path text NOT NULL,"
    " path_at bigint NOT NULL,"
    " created_at bigint NOT NULL,"
    " ntokens bigint NOT NULL DEFAULT 0,"
    " removed_at bigint,"
    " gitlab_id bigint);"
    "CREATE UNIQUE INDEX resources_by_name ON resources (kind, name)"
    " WHERE removed_at IS NULL;"
    "CREATE UNIQUE INDEX resources_by_gitlab ON resources (kind, gitlab_id)"
    " WHERE gitlab_id IS NOT NULL;"
    "CREATE TABLE users ("
    " id bigserial PRIMARY KEY,"
    " name text NOT NULL UNIQUE,"
    " blocked integer NOT NULL DEFAULT 0,"
    " blocked_at bigint NOT NULL,"
    " uid bigint,"
    " uid_at bigint NOT NULL,"
    " created_at bigint NOT NULL,"
    " ntokens bigint NOT NULL DEFAULT 0,"
    " kind integer NOT NULL DEFAULT 0,"
    " kind_at bigint,"
    " resource_id bigint REFERENCES resources (id),"
    " gitlab_id bigint);"
    "CREATE INDEX users_by_resource ON users (resource_id)"
    " WHERE resource_id IS NOT NULL;"
    "CREATE INDEX users_by_uid ON users (uid) WHERE uid IS NOT NULL;"
    "CREATE UNIQUE INDEX users_by_gitlab ON users (gitlab_id)"
    " WHERE gitlab_id IS NOT NULL;"
    "CREATE TABLE tokens ("
    " id bigserial PRIMARY KEY,"
    " user_id bigint NOT NULL REFERENCES users (id),"
    " name text NOT NULL,"
    " description text NOT NULL DEFAULT '',"
    " description_at bigint NOT NULL,"
    " scopes bigint NOT NULL,"
    " scopes_at bigint NOT NULL,"
    " impersonation integer NOT NULL DEFAULT 0,"
    " impersonation_at bigint NOT NULL,"
    " created_at bigint NOT NULL,"
    " expires_at bigint," /* days since the epoch */
    " expires_at_at bigint NOT NULL,"
    " last_used_at bigint,"
    " revoked_at bigint,"
    " sealed_at bigint,"
    " digest bytea UNIQUE," /* keyed digest of the secret, once sealed */
    " previous_id bigint REFERENCES tokens (id),"
    " family_id bigint,"
    " access_level integer,"
    " access_level_at bigint,"
    " notified text,"
    " notified_at bigint,"
    " gitlab_id bigint,"
    " minted_by bigint,"
    " created_ms integer,"
    " last_used_ms integer,"
    " disabled integer,"
    " disabled_at bigint);"
    "CREATE INDEX tokens_by_user ON tokens (user_id, id);"
    "CREATE INDEX tokens_by_name ON tokens (user_id, name)"
    " WHERE revoked_at IS NULL;"
    "CREATE INDEX tokens_by_expiry ON tokens (expires_at, id)"
    " WHERE revoked_at IS NULL;"
    "CREATE INDEX tokens_by_revoked ON tokens (revoked_at)"
    " WHERE revoked_at IS NOT NULL;"
    "CREATE INDEX tokens_by_use ON tokens"
    " ((coalesce(last_used_at, created_at)), id) WHERE revoked_at IS NULL;"
    "CREATE INDEX tokens_unsealed ON tokens (id)"
    " WHERE sealed_at IS NULL AND revoked_at IS NULL;"
    "CREATE UNIQUE INDEX tokens_by_previous ON tokens (previous_id)"
    " WHERE previous_id IS NOT NULL;"
    "CREATE INDEX tokens_by_family ON tokens (family_id)"
    " WHERE family_id IS NOT NULL;"
    "CREATE UNIQUE INDEX tokens_by_gitlab ON tokens (gitlab_id)"
    " WHERE gitlab_id IS NOT NULL;"
    "CREATE TABLE audit ("
    " id bigserial PRIMARY KEY,"
    " off bigint NOT NULL," /* byte offset of line in audit.log */
    " len bigint NOT NULL,"
    " at bigint NOT NULL,"
    " action text NOT NULL,"
    " object text NOT NULL,"
    " line text NOT NULL);" /* the JSON line, newline included */
    "CREATE UNIQUE INDEX audit_by_off ON audit (off);"
    "CREATE TABLE changes ("
    " seq bigint PRIMARY KEY," /* gap-free: written under LOCK_WRITE */
    " pid bigint NOT NULL,"    /* the committing process's origin */
    " kind integer NOT NULL,"
    " user_id bigint NOT NULL,"
    " token_id bigint NOT NULL,"
    " day bigint NOT NULL);"
    "CREATE FUNCTION patfs_changed() RETURNS trigger LANGUAGE plpgsql AS"
    " 'BEGIN PERFORM pg_notify(''" STORE_PG_CHANNEL "'', NEW.seq || '' '' ||"
    " NEW.pid); RETURN NULL; END';"
    "CREATE TRIGGER changes_notify AFTER INSERT ON changes"
    " FOR EACH ROW EXECUTE FUNCTION patfs_changed();";
