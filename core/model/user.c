/* user.c - users: creation, removal, blocked, the mapped uid. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "patfs/access.h"
#include "patfs/policy.h"
#include "patfs/user.h"
#include "store/store_stmt.h"

/* users/: where users are created and removed. */
static const struct access_obj users = {.kind = ACCESS_USERS, .owner_uid = -1};

/* Fills u from a row of USER_COLS. */
static void user_row(struct store_stmt *s, void *out)
{
	struct user_info *u = out;

	const char *name = store_col_text(s, 1);

	u->id = store_col_int(s, 0);
	snprintf(u->name, sizeof(u->name), "%s", name ? name : "");
	u->blocked = store_col_int(s, 2);
	u->blocked_at = store_col_int(s, 3);
	u->uid = store_col_null(s, 4) ? -1 : store_col_int(s, 4);
	u->uid_at = store_col_int(s, 5);
	u->created_at = store_col_int(s, 6);
	u->ntokens = store_col_int(s, 7);
	u->kind = (enum user_kind)store_col_int(s, 8);
	if ((unsigned)u->kind >= USER_NKINDS)
		u->kind = USER_HUMAN;
	u->kind_at = store_col_int(s, 9);
	u->resource_id = store_col_null(s, 10) ? 0 : store_col_int(s, 10);
}

static int user_get_c(struct store_conn *c, int64_t id, struct user_info *out)
{
	return store_one_id(c, SQL_USER_GET, id, user_row, out);
}

int user_get(struct store *st, int64_t id, struct user_info *out)
{
	struct store_conn *c = store_conn(st);

	return c ? user_get_c(c, id, out) : -EIO;
}

int user_find(struct store *st, const char *name, size_t len,
	      struct user_info *out)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_USER_FIND) : NULL;

	if (!s)
		return -EIO;
	if (len > PFS_NAME_MAX)
		return -ENOENT;
	store_bind_text(s, 1, name, len);
	return store_one(c, s, user_row, out);
}

/* A user made or removed, as the transactions below take it: who, which
 * (id; out: the id made), named what. */
static int create_txn(struct store_conn *c, void *ctx)
{
	struct store_edit *op = ctx; /* val: the name */
	char object[PFS_NAME_MAX + 8];
	struct store_stmt *s = store_sql(c, SQL_USER_INSERT);
	int r;

	if (!s)
		return -EIO;
	store_bind_text(s, 1, op->val, op->len);
	store_bind_int(s, 2, store_now());
	r = store_exec(c, s);
	if (r == -EEXIST)
		return pfs_refuse(EEXIST, "a user of that name exists");
	if (r)
		return r;
	op->out = store_last_id(c);
	snprintf(object, sizeof(object), "users/%.*s", (int)op->len, op->val);
	r = audit_add(c, op->a, "user_create", object, NULL, NULL, NULL);
	if (!r)
		store_record(c, STORE_CH_USERS, op->out, 0, 0);
	return r;
}

int user_create(struct store *st, const struct pfs_actor *a, const char *name,
		size_t len, int64_t *id)
{
	struct store_edit op = {.a = a, .val = name, .len = len};
	int r = access_check(a, &users, ACCESS_W);

	if (!r)
		r = policy_check_user_name(name, len);
	return store_txn_out(st, r, create_txn, &op, id);
}

static int remove_txn(struct store_conn *c, void *ctx)
{
	const struct store_edit *op = ctx;
	char object[PFS_NAME_MAX + 8];
	struct user_info u;
	struct store_stmt *s;
	int r = user_get_c(c, op->id, &u);

	if (r)
		return r;
	if (u.ntokens > 0)
		return pfs_refuse(ENOTEMPTY,
				  "%s had tokens: a user with a "
				  "history stays (block it "
				  "instead)",
				  u.name);
	s = store_sql(c, SQL_USER_DELETE);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, op->id);
	r = store_exec(c, s);
	if (r)
		return r;
	snprintf(object, sizeof(object), "users/%s", u.name);
	r = audit_add(c, op->a, "user_remove", object, NULL, NULL, NULL);
	if (r)
		return r;
	store_record(c, STORE_CH_USERS, op->id, 0, 0);
	store_record(c, STORE_CH_USER, op->id, 0, 0);
	return 0;
}

int user_remove(struct store *st, const struct pfs_actor *a, int64_t id)
{
	struct store_edit op = {.a = a, .id = id};
	int r = access_check(a, &users, ACCESS_W);

	return r ? r : store_txn(st, remove_txn, &op);
}

/* The kind val names, for user u: human and service_account only (bots are
 * patfs's to make), and only until u's first token. 0 or -errno. */
static int parse_kind(const struct user_info *u, const char *val, size_t len,
		      int64_t *v)
{
	size_t n = policy_value_len(val, len);

	for (int k = USER_HUMAN; k < USER_NKINDS; k++)
		if (n == strlen(policy_user_kind_names[k]) &&
		    !memcmp(val, policy_user_kind_names[k], n)) {
			*v = k;
			if (k == (int)u->kind)
				return 0; /* no change */
			if (k > USER_SERVICE_ACCOUNT)
				return pfs_refuse(EINVAL, "bots are made by "
							  "patfs with their "
							  "project or group");
			if (u->kind > USER_SERVICE_ACCOUNT)
				return pfs_refuse(EPERM, "a bot stays a bot");
			return u->ntokens > 0
				   ? pfs_refuse(EPERM, "a user's kind is "
						       "fixed once it had a "
						       "token")
				   : 0;
		}
	return pfs_refuse(EINVAL, "expected human or service_account");
}

static int parse_blocked(const struct user_info *u, const char *val, size_t len,
			 int64_t *v)
{
	int b, r = policy_parse_bool(val, len, &b);

	(void)u;
	*v = b;
	return r;
}

static int parse_uid(const struct user_info *u, const char *val, size_t len,
		     int64_t *v)
{
	(void)u;
	return policy_parse_uid(val, len, v);
}

static int64_t cur_blocked(const struct user_info *u)
{
	return u->blocked;
}

static int64_t cur_uid(const struct user_info *u)
{
	return u->uid;
}

static int64_t cur_kind(const struct user_info *u)
{
	return (int64_t)u->kind;
}

/* The write half of user_attrs' writable rows: the value written (0 or
 * -errno, into *v; a uid of -1 is NULL), the value held, the UPDATE (?1 id,
 * ?2 value, ?3 now) and the audit trail's action (set: for v != 0). */
static const struct user_attr_write {
	int (*parse)(const struct user_info *u, const char *val, size_t len,
		     int64_t *v);
	int64_t (*current)(const struct user_info *u);
	enum store_sql sql;
	const char *unset, *set;
} writes[USER_NATTR] = {
    [USER_BLOCKED] = {parse_blocked, cur_blocked, SQL_USER_SET_BLOCKED,
		      "user_unblock", "user_block"},
    [USER_UID] = {parse_uid, cur_uid, SQL_USER_SET_UID, "user_set_uid",
		  "user_set_uid"},
    [USER_KIND] = {parse_kind, cur_kind, SQL_USER_SET_KIND, "user_set_kind",
		   "user_set_kind"},
};

/* Sets the value of e's attribute to v: 0 or -errno. */
static int store_value(struct store_conn *c, const struct store_edit *e,
		       int64_t v)
{
	struct store_stmt *s = store_sql(c, writes[e->attr].sql);

	if (!s)
		return -EIO;
	store_bind_int(s, 1, e->id);
	if (v < 0)
		store_bind_null(s, 2);
	else
		store_bind_int(s, 2, v);
	store_bind_int(s, 3, store_now());
	return store_exec(c, s);
}

/* attr of u as its file holds it, without the newline, into buf. */
static void value_of(const struct user_info *u, enum user_attr attr,
		     char buf[OWNER_RENDER_MAX])
{
	int64_t mtime;
	size_t len = user_attrs[attr].render(u, buf, OWNER_RENDER_MAX, &mtime);

	buf[policy_value_len(buf, len)] = '\0';
}

static int write_txn(struct store_conn *c, void *ctx)
{
	const struct store_edit *e = ctx;
	const struct user_attr_write *w = &writes[e->attr];
	char object[PFS_NAME_MAX + 8], old[OWNER_RENDER_MAX];
	char new[OWNER_RENDER_MAX];
	struct access_obj obj;
	struct user_info u;
	int64_t v = 0;
	int r = user_get_c(c, e->id, &u);

	obj = access_of(ACCESS_USER_ATTR, (int)e->attr, r ? -1 : u.uid);
	if (!r)
		r = access_check(e->a, &obj, ACCESS_W);
	if (!r && !w->parse)
		r = pfs_refuse(EPERM, "%s is never written",
			       user_attrs[e->attr].name);
	if (!r)
		r = w->parse(&u, e->val, e->len, &v);
	if (!r && v == w->current(&u))
		r = STORE_UNCHANGED;
	if (r)
		return r; /* refused, or no change: nothing to audit */
	value_of(&u, (enum user_attr)e->attr, old);
	r = store_value(c, e, v);
	if (!r)
		r = user_get_c(c, e->id, &u);
	if (r)
		return r;
	value_of(&u, (enum user_attr)e->attr, new);
	snprintf(object, sizeof(object), "users/%s", u.name);
	r = audit_add(c, e->a, v ? w->set : w->unset, object, old, new, NULL);
	if (!r)
		store_record(c, STORE_CH_USER, e->id, 0, 0);
	return r;
}

int user_write(struct store *st, const struct pfs_actor *a, int64_t id,
	       enum user_attr attr, const char *val, size_t len)
{
	struct store_edit e = {a, id, (int)attr, val, len, 0, NULL};

	if ((unsigned)attr >= USER_NATTR)
		return -ENOENT;
	return store_txn(st, write_txn, &e);
}

int user_list(struct store *st, int64_t after, user_list_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_USER_LIST) : NULL;
	struct user_info u;
	int r;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, after);
	while ((r = store_step(c, s)) == 1) {
		user_row(s, &u);
		if (fn(ctx, &u))
			break;
	}
	store_reset(s);
	return r < 0 ? r : 0;
}

int user_count(struct store *st, int64_t *n)
{
	return store_count(st, SQL_USER_COUNT, n);
}
