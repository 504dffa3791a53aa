/* resource.c - projects and groups, and the tokens their bots hold. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "patfs/access.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/token.h"
#include "patfs/user.h"
#include "store/store_stmt.h"
#include "token_core.h"

/* projects/ and groups/: where they are created and removed */
static const struct access_obj dirs = {.kind = ACCESS_RESOURCES,
				       .owner_uid = -1};

static void resource_row(struct store_stmt *s, void *out)
{
	struct resource_info *r = out;

	r->id = store_col_int(s, 0);
	r->kind = store_col_int(s, 1) == RESOURCE_GROUP ? RESOURCE_GROUP
							: RESOURCE_PROJECT;
	token_col_text(r->name, sizeof(r->name), s, 2);
	token_col_text(r->path, sizeof(r->path), s, 3);
	r->path_at = store_col_int(s, 4);
	r->created_at = store_col_int(s, 5);
	r->ntokens = store_col_int(s, 6);
}

static int get_in(struct store_conn *c, int64_t id, struct resource_info *out)
{
	return store_one_id(c, SQL_RES_GET, id, resource_row, out);
}

int resource_get(struct store *st, int64_t id, struct resource_info *out)
{
	struct store_conn *c = store_conn(st);

	return c ? get_in(c, id, out) : -EIO;
}

int resource_find(struct store *st, enum resource_kind kind, const char *name,
		  size_t len, struct resource_info *out)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_RES_FIND) : NULL;

	if (!s)
		return -EIO;
	if (len > PFS_NAME_MAX)
		return -ENOENT;
	store_bind_int(s, 1, (int)kind);
	store_bind_text(s, 2, name, len);
	return store_one(c, s, resource_row, out);
}

int resource_list(struct store *st, enum resource_kind kind, int64_t after,
		  resource_list_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_RES_LIST) : NULL;
	struct resource_info r;
	int rc;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, (int)kind);
	store_bind_int(s, 2, after);
	while ((rc = store_step(c, s)) == 1) {
		resource_row(s, &r);
		if (fn(ctx, &r))
			break;
	}
	store_reset(s);
	return rc < 0 ? rc : 0;
}

int resource_count(struct store *st, enum resource_kind kind, int64_t *n)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_RES_COUNT) : NULL;

	*n = 0;
	if (!s)
		return -EIO;
	store_bind_int(s, 1, (int)kind);
	return store_one_count(c, s, n);
}

static void object_of(const struct resource_info *r, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", policy_resource_dir_names[r->kind],
		 r->name);
}

/* One change to a project or group, as the transactions below take it: who
 * makes it, on which (id) or of which kind, with which name or value; out:
 * the id made. */
static int create_txn(struct store_conn *c, void *ctx)
{
	struct store_edit *op = ctx;
	struct resource_info r = {.kind = (enum resource_kind)op->attr};
	char object[PFS_NAME_MAX + 16];
	struct store_stmt *s = store_sql(c, SQL_RES_INSERT);
	int rc;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, op->attr);
	store_bind_text(s, 2, op->val, op->len);
	store_bind_int(s, 3, store_now());
	rc = store_exec(c, s);
	if (rc)
		return rc;
	op->out = store_last_id(c);
	snprintf(r.name, sizeof(r.name), "%.*s", (int)op->len, op->val);
	object_of(&r, object, sizeof(object));
	rc = audit_add(c, op->a,
		       op->attr == RESOURCE_GROUP ? "group_create"
						  : "project_create",
		       object, NULL, NULL, NULL);
	if (!rc)
		store_record(c, STORE_CH_RESOURCES, op->out, 0, op->attr);
	return rc;
}

int resource_create(struct store *st, const struct pfs_actor *a,
		    enum resource_kind kind, const char *name, size_t len,
		    int64_t *id)
{
	struct store_edit op = {
	    .a = a, .attr = (int)kind, .val = name, .len = len};
	int rc = access_check(a, &dirs, ACCESS_W);

	if (!rc)
		rc = policy_check_user_name(name, len);
	return store_txn_out(st, rc, create_txn, &op, id);
}

/* The newest active token of resource id (named name, if not NULL): 0 with
 * *token_id, -ENOENT or -errno. */
static int active_in(struct store_conn *c, int64_t id, const char *name,
		     size_t len, int64_t *token_id)
{
	struct store_stmt *s = store_sql(c, SQL_RES_ACTIVE_TOKEN);

	if (!s)
		return -EIO;
	if (len > PFS_NAME_MAX)
		return -ENOENT;
	store_bind_int(s, 1, id);
	store_bind_int(s, 2, policy_day_of(store_now()));
	if (name)
		store_bind_text(s, 3, name, len);
	return store_one_int(c, s, token_id);
}

int resource_find_active(struct store *st, int64_t id, const char *name,
			 size_t len, int64_t *token_id)
{
	struct store_conn *c = store_conn(st);

	return c ? active_in(c, id, name, len, token_id) : -EIO;
}

static int remove_txn(struct store_conn *c, void *ctx)
{
	const struct store_edit *op = ctx;
	char object[PFS_NAME_MAX + 16];
	struct resource_info r;
	struct store_stmt *s;
	int64_t tid;
	int rc = get_in(c, op->id, &r);

	if (!rc) {
		rc = active_in(c, op->id, NULL, 0, &tid);
		rc = rc == 0 ? pfs_refuse(ENOTEMPTY, "a token of it is active: "
						     "revoke it first")
		     : rc == -ENOENT ? 0
				     : rc;
	}
	if (rc)
		return rc;
	s = store_sql(c, SQL_RES_REMOVE);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, op->id);
	store_bind_int(s, 2, store_now());
	rc = store_exec(c, s);
	object_of(&r, object, sizeof(object));
	if (!rc)
		rc = audit_add(c, op->a,
			       r.kind == RESOURCE_GROUP ? "group_remove"
							: "project_remove",
			       object, NULL, NULL, NULL);
	if (rc)
		return rc;
	store_record(c, STORE_CH_RESOURCES, op->id, 0, r.kind);
	store_record(c, STORE_CH_ALL, 0, 0, 0); /* its tokens' paths change */
	return 0;
}

int resource_remove(struct store *st, const struct pfs_actor *a, int64_t id)
{
	struct store_edit op = {.a = a, .id = id};
	int rc = access_check(a, &dirs, ACCESS_W);

	return rc ? rc : store_txn(st, remove_txn, &op);
}

/* A path: segments of [A-Za-z0-9_.-], none empty, "." or "..", joined by
 * single slashes; 1-255 bytes. */
static int check_path(const char *p, size_t len)
{
	size_t seg = 0;

	if (len == 0 || len > PFS_NAME_MAX)
		return pfs_refuse(EINVAL, "a path is 1 to %d bytes",
				  PFS_NAME_MAX);
	for (size_t i = 0; i <= len; i++) {
		char ch = i < len ? p[i] : '/';
		if (ch == '/') {
			if (seg == 0 || (seg == 1 && p[i - 1] == '.') ||
			    (seg == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
				return pfs_refuse(EINVAL,
						  "a path's segments are not "
						  "empty, . or ..");
			seg = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		      ch == '-'))
			return pfs_refuse(EINVAL, "a path is made of A-Z a-z "
						  "0-9 _ . - and single "
						  "slashes");
		seg++;
	}
	return 0;
}

static int write_txn(struct store_conn *c, void *ctx)
{
	const struct store_edit *op = ctx;
	char object[PFS_NAME_MAX + 16], old[PFS_NAME_MAX + 1];
	struct resource_info r;
	struct store_stmt *s;
	int rc = get_in(c, op->id, &r);

	if (rc)
		return rc;
	if (op->len == strlen(r.path) && !memcmp(op->val, r.path, op->len))
		return STORE_UNCHANGED;
	s = store_sql(c, SQL_RES_SET_PATH);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, op->id);
	store_bind_text(s, 2, op->val, op->len);
	store_bind_int(s, 3, store_now());
	rc = store_exec(c, s);
	snprintf(old, sizeof(old), "%s", r.path);
	snprintf(r.path, sizeof(r.path), "%.*s", (int)op->len, op->val);
	object_of(&r, object, sizeof(object));
	if (!rc)
		rc = audit_add(c, op->a,
			       r.kind == RESOURCE_GROUP ? "group_set_path"
							: "project_set_path",
			       object, old, r.path, NULL);
	if (!rc)
		store_record(c, STORE_CH_RESOURCE, op->id, 0, 0);
	return rc;
}

int resource_write(struct store *st, const struct pfs_actor *a, int64_t id,
		   enum resource_attr attr, const char *val, size_t len)
{
	struct access_obj obj = access_of(ACCESS_RESOURCE_ATTR, (int)attr, -1);
	struct store_edit op = {.a = a, .id = id, .val = val};
	int rc = (unsigned)attr < RESOURCE_NATTR
		     ? access_check(a, &obj, ACCESS_W)
		     : -ENOENT;

	if (rc)
		return rc;
	op.len = policy_value_len(val, len);
	rc = check_path(val, op.len);
	return rc ? rc : store_txn(st, write_txn, &op);
}

/* Creates the bot of a new token of r in c's transaction: 0 with *bot_id
 * and its name in bot (PFS_NAME_MAX + 1 bytes). */
static int create_bot(struct store_conn *c, const struct pfs_actor *a,
		      const struct resource_info *r, int64_t now,
		      int64_t *bot_id, char *bot)
{
	struct store_stmt *s;
	char object[PFS_NAME_MAX + 8];
	int rc = -EEXIST;

	for (int tries = 0; rc == -EEXIST && tries < 4; tries++) {
		snprintf(bot, PFS_NAME_MAX + 1, "%s_%" PRId64 "_bot_%08x",
			 policy_resource_kind_names[r->kind], r->id,
			 (unsigned)randombytes_random());
		s = store_sql(c, SQL_USER_INSERT_BOT);
		if (!s)
			return -EIO;
		store_bind_text(s, 1, bot, strlen(bot));
		store_bind_int(s, 2, now);
		store_bind_int(s, 3,
			       r->kind == RESOURCE_GROUP ? USER_GROUP_BOT
							 : USER_PROJECT_BOT);
		store_bind_int(s, 4, r->id);
		rc = store_exec(c, s);
	}
	if (rc)
		return rc;
	*bot_id = store_last_id(c);
	snprintf(object, sizeof(object), "users/%s", bot);
	rc = audit_add(c, a, "user_create", object, NULL, NULL, NULL);
	store_record(c, STORE_CH_USERS, *bot_id, 0, 0);
	return rc;
}

/* Counts a new token in resource id's ntokens: 0 or -errno. */
static int count_token(struct store_conn *c, int64_t id)
{
	struct store_stmt *s = store_sql(c, SQL_RES_ADD_TOKEN);

	if (!s)
		return -EIO;
	store_bind_int(s, 1, id);
	return store_exec(c, s);
}

static int mint_txn(struct store_conn *c, void *ctx)
{
	struct store_edit *op = ctx;
	char bot[PFS_NAME_MAX + 1];
	struct token_info t = {0};
	struct resource_info r;
	int64_t other;
	int rc = get_in(c, op->id, &r);
	int found = rc ? rc : active_in(c, op->id, op->val, op->len, &other);

	if (!rc && found == -ENOENT) /* the name is free: its bot first */
		rc = create_bot(c, op->a, &r, store_now(), &t.user_id, bot);
	if (rc)
		return rc;
	t.resource_id = r.id;
	t.resource_kind = r.kind;
	snprintf(t.resource_name, sizeof(t.resource_name), "%s", r.name);
	rc = token_create_in(c, op->a, &t, found, op->val, op->len,
			     ACCESS_LEVEL_DEFAULT);
	if (!rc)
		rc = count_token(c, op->id);
	if (rc)
		return rc;
	store_record(c, STORE_CH_RESOURCE, op->id, 0, 0);
	op->out = t.id;
	return 0;
}

int resource_mint(struct store *st, const struct pfs_actor *a, int64_t id,
		  const char *name, size_t len, int64_t *token_id)
{
	struct access_obj obj = access_of(ACCESS_RESOURCE_TOKENS, 0, -1);
	struct store_edit op = {.a = a, .id = id, .val = name, .len = len};
	int rc = access_check(a, &obj, ACCESS_W);

	if (!rc)
		rc = policy_check_token_name(name, len);
	return store_txn_out(st, rc, mint_txn, &op, token_id);
}

int resource_list_tokens(struct store *st, int64_t id, int64_t after,
			 token_list_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_RES_TOKENS) : NULL;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, id);
	store_bind_int(s, 2, after);
	return token_list_rows(c, s, fn, ctx);
}
