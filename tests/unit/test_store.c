/* test_store.c - unit tests of the store (core/store*.c) through users and
 * tokens: transactions, fault injection proving a change never lands without
 * its audit record, what a commit tells the caches, bulk import and the changes
 * table. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/store/storeInt.h"
#include "check.h"
#include "patfs/audit.h"
#include "patfs/cfg.h"
#include "patfs/json.h"
#include "patfs/json_read.h"
#include "patfs/notice.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/secret.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "patfs/user.h"

/* What a commit told the change hook. */
struct seen {
	int n;
	struct store_change ch[64];
};

static int scope(const char *name)
{
	return policy_scope_index(name, strlen(name));
}

static void hook(void *ctx, const struct store_change *ch)
{
	struct seen *s = ctx;

	if (s->n < 64)
		s->ch[s->n] = *ch;
	s->n++;
}

static uint64_t audit_size(struct store *st)
{
	uint64_t size = 0;
	int64_t mtime;

	CHECK_EQ(audit_stat(st, &size, &mtime), 0);
	return size;
}

static void test_store(void)
{
	struct pfs_actor root = {.admin = true, .comm = "test"};
	struct pfs_actor owner = {.uid = 1000, .comm = "test"};
	struct pfs_actor stranger = {.uid = 2000, .comm = "test"};
	struct store *st = NULL;
	struct token_info t;
	struct user_info u;
	struct seen seen = {0};
	struct cfg c;
	char err[512], *secret, log[8192];
	int64_t uid, tid, tid2;
	uint64_t size;
	int n, lost;

	unlink("s.db");
	unlink("s.db-wal");
	unlink("s.db-shm");
	write_file("s.ini", "[store]\npath = s.db\npepper_file = p.pepper\n");
	CHECK_EQ(cfg_load(&c, "s.ini", err, sizeof(err)), 0);
	c.store_init = true; /* a new store beside the tests' one pepper */
	CHECK_EQ(store_open(&st, &c, err, sizeof(err)), 0);
	if (!st)
		return;
	store_set_change_hook(st, hook, &seen);

	CHECK_EQ(user_create(st, &owner, "alice", 5, &uid), -EPERM);
	CHECK_EQ(user_create(st, &root, "alice", 5, &uid), 0);
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.ch[0].kind, STORE_CH_USERS);
	CHECK_EQ(user_create(st, &root, "alice", 5, &uid), -EEXIST);
	CHECK_EQ(seen.n, 1); /* nothing committed, nothing heard */
	CHECK_EQ(user_write(st, &root, uid, USER_UID, "1000\n", 5), 0);

	CHECK_EQ(token_mint(st, &stranger, uid, "ci", 2, &tid), -EACCES);
	CHECK_EQ(token_mint(st, &owner, uid, "ci", 2, &tid), 0);
	CHECK_EQ(token_mint(st, &owner, uid, "ci", 2, &tid2), -EEXIST);
	CHECK_EQ(token_get(st, tid, &t), 0);
	CHECK(token_unsealed(&t) && token_active(&t, store_now()));
	CHECK_EQ(t.user_uid, 1000);
	/* owners may not set impersonation, admins may while unsealed */
	CHECK_EQ(token_write(st, &owner, tid, TOKEN_IMPERSONATION, "1", 1),
		 -EPERM);
	CHECK_EQ(token_write(st, &owner, tid, TOKEN_SCOPES, "api", 3), 0);

	secret = sodium_malloc(SECRET_MAX);
	n = token_take_secret(st, &owner, tid, secret, SECRET_MAX);
	CHECK_EQ(n, 26);
	CHECK_EQ(token_take_secret(st, &owner, tid, secret, SECRET_MAX),
		 -ENOENT);
	CHECK_EQ(token_write(st, &root, tid, TOKEN_SCOPES, "read_api", 8),
		 -EPERM);
	sodium_free(secret);

	/* an owner may shorten the life of a token, never extend it */
	CHECK_EQ(token_get(st, tid, &t), 0);
	{
		char d[11], later[11];
		policy_format_date(t.expires_day - 1, d);
		policy_format_date(t.expires_day + 1, later);
		CHECK_EQ(
		    token_write(st, &owner, tid, TOKEN_EXPIRES_AT, later, 10),
		    -EPERM);
		CHECK_EQ(token_write(st, &owner, tid, TOKEN_EXPIRES_AT, d, 10),
			 0);
		CHECK_EQ(
		    token_write(st, &root, tid, TOKEN_EXPIRES_AT, later, 10),
		    0);
	}

	/* fault injection: the audit insert fails, so the revoke must not land
	 */
	seen.n = 0;
	size = audit_size(st);
	CHECK_EQ(sqlite3_exec(store_sqlite_db(store_conn(st)),
			      "CREATE TEMP TRIGGER fail_audit BEFORE INSERT ON "
			      "main.audit BEGIN SELECT RAISE(ABORT, 'injected "
			      "fault'); END",
			      NULL, NULL, NULL),
		 SQLITE_OK);
	CHECK(token_write(st, &owner, tid, TOKEN_REVOKED, "1\n", 2) < 0);
	CHECK(token_mint(st, &owner, uid, "x", 1, &tid2) < 0);
	CHECK(user_create(st, &root, "bob", 3, &tid2) < 0);
	CHECK(user_write(st, &root, uid, USER_BLOCKED, "1", 1) < 0);
	CHECK_EQ(token_get(st, tid, &t), 0);
	CHECK_EQ(t.revoked_at, 0);
	CHECK_EQ(user_get(st, uid, &u), 0);
	CHECK_EQ(u.blocked, 0);
	CHECK_EQ(u.ntokens, 1);
	CHECK_EQ(user_find(st, "bob", 3, &u), -ENOENT);
	CHECK_EQ(audit_size(st), size);
	CHECK_EQ(seen.n, 0);
	CHECK_EQ(sqlite3_exec(store_sqlite_db(store_conn(st)),
			      "DROP TRIGGER fail_audit", NULL, NULL, NULL),
		 SQLITE_OK);

	CHECK_EQ(token_write(st, &owner, tid, TOKEN_REVOKED, "1\n", 2), 0);
	CHECK_EQ(token_write(st, &owner, tid, TOKEN_REVOKED, "0\n", 2), -EPERM);
	/* one change, naming what changed: the caches take back only the
	 * files that follow it */
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.ch[0].kind, STORE_CH_TOKEN);
	CHECK_EQ(seen.ch[0].token_id, tid);
	CHECK_EQ(seen.ch[0].fields, TOKEN_F_REVOKED);

	/* an unsealed token is revoked as lost by the next process to open
	 * the store, never by the one that minted it */
	CHECK_EQ(token_mint(st, &root, uid, "dropped", 7, &tid2), 0);
	CHECK_EQ(token_revoke_lost(st, &root, &lost), 0);
	CHECK_EQ(lost, 0);
	store_close(st);
	CHECK_EQ(store_open(&st, &c, err, sizeof(err)), 0);
	if (!st)
		return;
	CHECK_EQ(token_revoke_lost(st, &root, &lost), 0);
	CHECK_EQ(lost, 1);
	CHECK_EQ(token_get(st, tid2, &t), 0);
	CHECK(t.revoked_at != 0);
	CHECK_EQ(user_remove(st, &root, uid), -ENOTEMPTY);

	/* the trail reads back whole, at any offset */
	size = audit_size(st);
	CHECK(size > 0 && size < sizeof(log));
	CHECK_EQ(audit_read(st, 0, log, sizeof(log)), (ssize_t)size);
	CHECK(strstr(log, "\"reason\":\"secret_lost\"") != NULL);
	{
		char part[64];
		CHECK_EQ(audit_read(st, 100, part, sizeof(part)), 64);
		CHECK(memcmp(part, log + 100, 64) == 0);
		CHECK_EQ(audit_read(st, size, part, sizeof(part)), 0);
	}
	store_close(st);
	cfg_free(&c);
}

static int64_t count_rows(struct store *st, const char *table)
{
	char sql[64];
	sqlite3_stmt *s = NULL;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(store_sqlite_db(store_conn(st)), sql, -1, &s,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* Bulk import, all or nothing; and the changes other processes read. */
static void test_import_and_changes(void)
{
	struct pfs_actor root = {.admin = true, .comm = "test"};
	struct pfs_actor owner = {.uid = 1000, .comm = "test"};
	struct store *st = NULL;
	struct token_seed v[3];
	struct token_info t;
	struct user_info u;
	struct seen seen = {0};
	struct cfg c;
	char err[512], secrets[3][SECRET_MAX];
	int64_t uid, first = 0, tokens, audits, seq = -1;
	int64_t now = store_now(), today = policy_day_of(now);
	sqlite3 *other = NULL;

	unlink("i.db");
	unlink("i.db-wal");
	unlink("i.db-shm");
	write_file("i.ini", "[store]\npath = i.db\npepper_file = p.pepper\n");
	CHECK_EQ(cfg_load(&c, "i.ini", err, sizeof(err)), 0);
	c.store_init = true; /* a new store beside the tests' one pepper */
	CHECK_EQ(store_open(&st, &c, err, sizeof(err)), 0);
	if (!st)
		return;
	CHECK_EQ(user_create(st, &root, "alice", 5, &uid), 0);
	for (int i = 0; i < 3; i++) {
		int len = secret_generate("glpat-", secrets[i], SECRET_MAX);
		CHECK_EQ(len, 26);
		v[i] =
		    (struct token_seed){.user_id = uid,
					.name = i == 0	 ? "one"
						: i == 1 ? "two"
							 : "three",
					.scopes = 1u << scope("api"),
					.created_at = now - 86400,
					.expires_day = i == 2 ? -1 : today + 10,
					.last_used_at = i == 1 ? now - 60 : 0,
					.revoked_at = i == 2 ? now - 30 : 0,
					.secret = secrets[i],
					.secret_len = (size_t)len};
	}
	tokens = count_rows(st, "tokens");
	audits = count_rows(st, "audit");

	/* refused: nothing lands */
	CHECK_EQ(token_import(st, &owner, v, 3, &first), -EPERM);
	v[1].name = "42";
	CHECK_EQ(token_import(st, &root, v, 3, &first), -EINVAL);
	v[1].name = "one"; /* two active tokens of one name */
	CHECK_EQ(token_import(st, &root, v, 3, &first), -EEXIST);
	v[1].name = "two";
	v[1].secret = secrets[0]; /* a secret twice */
	CHECK_EQ(token_import(st, &root, v, 3, &first), -EEXIST);
	v[1].secret = secrets[1];
	v[0].user_id = uid + 99;
	CHECK_EQ(token_import(st, &root, v, 3, &first), -ENOENT);
	v[0].user_id = uid;
	CHECK_EQ(count_rows(st, "tokens"), tokens);
	CHECK_EQ(count_rows(st, "audit"), audits);

	store_set_change_hook(st, hook, &seen);
	CHECK_EQ(token_import(st, &root, v, 3, &first), 0);
	CHECK_EQ(count_rows(st, "tokens"), tokens + 3);
	CHECK_EQ(count_rows(st, "audit"), audits + 3);
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.ch[0].kind, STORE_CH_ALL);
	CHECK_EQ(token_get(st, first + 1, &t), 0);
	CHECK(strcmp(t.name, "two") == 0);
	CHECK(!token_unsealed(&t) && token_active(&t, now));
	CHECK_EQ(t.last_used_at, now - 60);
	CHECK_EQ(token_get(st, first + 2, &t), 0);
	CHECK_EQ(t.expires_day, -1);
	CHECK(t.revoked_at != 0);
	CHECK_EQ(user_get(st, uid, &u), 0);
	CHECK_EQ(u.ntokens, 3);

	/* this process's own changes are the hook's business, not the reader's
	 */
	seen.n = 0;
	CHECK_EQ(store_changes_since(st, &seq, hook, &seen), 0);
	CHECK(seq > 0);
	CHECK_EQ(user_write(st, &root, uid, USER_BLOCKED, "1", 1), 0);
	seen.n = 0;
	CHECK_EQ(store_changes_since(st, &seq, hook, &seen), 0);
	CHECK_EQ(seen.n, 0);
	/* another process's change (on another connection) is heard once */
	CHECK_EQ(sqlite3_open("i.db", &other), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(other,
			      "INSERT INTO changes (pid, kind, user_id, "
			      "token_id, day) VALUES (1, 3, 7, 8, 0)",
			      NULL, NULL, NULL),
		 SQLITE_OK);
	CHECK_EQ(store_changes_since(st, &seq, hook, &seen), 0);
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.ch[0].kind, STORE_CH_TOKEN);
	CHECK_EQ(seen.ch[0].token_id, 8);
	CHECK_EQ(store_changes_since(st, &seq, hook, &seen), 0);
	CHECK_EQ(seen.n, 1);
	/* rows pruned before they were read: everything changed */
	CHECK_EQ(sqlite3_exec(other,
			      "DELETE FROM changes; INSERT INTO changes (seq, "
			      "pid, kind, user_id, token_id, day) VALUES "
			      "((SELECT 1000000), 1, 0, 0, 0, 0)",
			      NULL, NULL, NULL),
		 SQLITE_OK);
	seen.n = 0;
	CHECK_EQ(store_changes_since(st, &seq, hook, &seen), 0);
	CHECK_EQ(seen.n, 2);
	CHECK_EQ(seen.ch[0].kind, STORE_CH_ALL);
	CHECK_EQ(seen.ch[1].kind, STORE_CH_USERS);
	CHECK_EQ(seq, 1000000);
	sqlite3_close(other);
	sodium_memzero(secrets, sizeof(secrets));
	store_close(st);
	cfg_free(&c);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	check_scratch("test_store.d");
	test_store();
	test_import_and_changes();
	return check_done();
}
