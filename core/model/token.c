/* token.c - tokens: rows, minting, attributes, listings. Rendering is in
 * token_attr.c (and token_json.c, token_ics.c), the read-once secret in
 * token_secret.c, rotation in token_rotate.c, bulk import in
 * token_import.c. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "patfs/access.h"
#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/rules.h"
#include "patfs/secret.h"
#include "patfs/token.h"
#include "patfs/user.h"
#include "store/store_stmt.h"
#include "token_core.h"

int token_attr_index(const char *name)
{
	for (int i = 0; i < TOKEN_NATTR; i++)
		if (!strcmp(token_attrs[i].name, name))
			return i;
	return -1;
}

int64_t token_col_int(struct store_stmt *s, int i, int64_t none)
{
	return store_col_null(s, i) ? none : store_col_int(s, i);
}

void token_col_text(char *dst, size_t size, struct store_stmt *s, int i)
{
	const char *v = store_col_text(s, i);

	snprintf(dst, size, "%s", v ? v : "");
}

/* Fills t from a row of the token columns (TOKEN_COLUMNS). */
void token_row(struct store_stmt *s, void *out)
{
	struct token_info *t = out;

	t->id = store_col_int(s, TC_ID);
	t->user_id = store_col_int(s, TC_USER_ID);
	token_col_text(t->name, sizeof(t->name), s, TC_NAME);
	token_col_text(t->description, sizeof(t->description), s,
		       TC_DESCRIPTION);
	t->scopes = (uint32_t)store_col_int(s, TC_SCOPES);
	t->impersonation = store_col_int(s, TC_IMPERSONATION);
	t->created_at = store_col_int(s, TC_CREATED_AT);
	t->description_at = store_col_int(s, TC_DESCRIPTION_AT);
	t->scopes_at = store_col_int(s, TC_SCOPES_AT);
	t->impersonation_at = store_col_int(s, TC_IMPERSONATION_AT);
	t->expires_day = token_col_int(s, TC_EXPIRES_AT, -1);
	t->expires_at_at = store_col_int(s, TC_EXPIRES_AT_AT);
	t->last_used_at = token_col_int(s, TC_LAST_USED_AT, 0);
	t->revoked_at = token_col_int(s, TC_REVOKED_AT, 0);
	t->sealed_at = token_col_int(s, TC_SEALED_AT, 0);
	token_col_text(t->user_name, sizeof(t->user_name), s, TC_USER_NAME);
	t->user_blocked = store_col_int(s, TC_USER_BLOCKED);
	t->user_blocked_at = store_col_int(s, TC_USER_BLOCKED_AT);
	t->user_uid = token_col_int(s, TC_USER_UID, -1);
	t->user_kind = store_col_int(s, TC_USER_KIND);
	t->previous_id = token_col_int(s, TC_PREVIOUS_ID, 0);
	t->next_id = token_col_int(s, TC_NEXT_ID, 0);
	t->family_id = store_col_int(s, TC_FAMILY_ID);
	t->access_level = (int)token_col_int(s, TC_ACCESS_LEVEL, 0);
	t->access_level_at = store_col_int(s, TC_ACCESS_LEVEL_AT);
	t->resource_id = token_col_int(s, TC_RESOURCE_ID, 0);
	t->resource_kind = (int)token_col_int(s, TC_RESOURCE_KIND, 0);
	token_col_text(t->resource_name, sizeof(t->resource_name), s,
		       TC_RESOURCE_NAME);
	token_col_text(t->resource_path, sizeof(t->resource_path), s,
		       TC_RESOURCE_PATH);
	t->resource_removed_at = token_col_int(s, TC_RESOURCE_REMOVED_AT, 0);
	token_col_text(t->notified, sizeof(t->notified), s, TC_NOTIFIED);
	t->notified_at = token_col_int(s, TC_NOTIFIED_AT, 0);
	t->gitlab_id = token_col_int(s, TC_GITLAB_ID, 0);
	t->user_gitlab_id = token_col_int(s, TC_USER_GITLAB_ID, 0);
	t->created_ms = (int)token_col_int(s, TC_CREATED_MS, 0);
	t->last_used_ms = (int)token_col_int(s, TC_LAST_USED_MS, 0);
	t->disabled = (int)token_col_int(s, TC_DISABLED, 0);
	t->disabled_at = token_col_int(s, TC_DISABLED_AT, 0);
	token_col_text(t->last_used_from, sizeof(t->last_used_from), s,
		       TC_LAST_USED_FROM);
}

int token_get_in(struct store_conn *c, int64_t id, struct token_info *out)
{
	return store_one_id(c, SQL_TOKEN_GET, id, token_row, out);
}

int token_get(struct store *st, int64_t id, struct token_info *out)
{
	struct store_conn *c = store_conn(st);

	return c ? token_get_in(c, id, out) : -EIO;
}

int token_find_active_in(struct store_conn *c, int64_t user_id,
			 const char *name, size_t len, int64_t *id)
{
	struct store_stmt *s = store_sql(c, SQL_TOKEN_FIND_ACTIVE);

	if (!s)
		return -EIO;
	if (len > PFS_NAME_MAX)
		return -ENOENT;
	store_bind_int(s, 1, user_id);
	store_bind_text(s, 2, name, len);
	store_bind_int(s, 3, policy_day_of(store_now()));
	return store_one_int(c, s, id);
}

int token_find_active(struct store *st, int64_t user_id, const char *name,
		      size_t len, int64_t *id)
{
	struct store_conn *c = store_conn(st);

	return c ? token_find_active_in(c, user_id, name, len, id) : -EIO;
}

size_t token_secret_file_len(const struct store *st)
{
	return strlen(store_cfg(st)->prefix) + SECRET_BODY_LEN + 1;
}

/* The owner fields of a token (mapped uid, name) from a user's row. */
static void owner_row(struct store_stmt *s, void *out)
{
	struct token_info *t = out;

	t->user_uid = token_col_int(s, 4, -1);
	token_col_text(t->user_name, sizeof(t->user_name), s, 1);
}

/* Fills the owner fields of t (name, mapped uid) from user user_id, inside
 * the open transaction: 0, -ENOENT or another -errno. */
int token_owner_of(struct store_conn *c, int64_t user_id, struct token_info *t)
{
	t->user_id = user_id;
	return store_one_id(c, SQL_USER_GET, user_id, owner_row, t);
}

int token_insert(struct store_conn *c, int64_t user_id, const char *name,
		 size_t len, int level, int64_t now, int64_t *id, int64_t *day)
{
	const struct cfg *cfg = store_cfg(store_of(c));
	struct store_stmt *s = store_sql(c, SQL_TOKEN_INSERT);
	int lifetime = cfg->default_lifetime_days;
	struct rules rules;
	int r = rules_get_in(c, &rules);

	if (r)
		return r;
	/* within the policies now: no longer than they allow, and an
	 * expiry where one is required (the owner may change both until
	 * the secret is taken) */
	if (lifetime > rules.max_lifetime_days ||
	    (lifetime <= 0 && rules.require_expiry))
		lifetime = rules.max_lifetime_days;
	*day = lifetime > 0 ? policy_day_of(now) + lifetime : -1;
	if (!(cfg->default_scopes & rules.allowed_scopes))
		return pfs_refuse(EINVAL, "policy/allowed_scopes allows none "
					  "of [tokens] default_scopes");
	if (!s)
		return -EIO;
	store_bind_int(s, 1, user_id);
	store_bind_text(s, 2, name, len);
	store_bind_int(s, 3, cfg->default_scopes & rules.allowed_scopes);
	store_bind_int(s, 4, now);
	if (*day >= 0)
		store_bind_int(s, 5, *day);
	if (level)
		store_bind_int(s, 6, level);
	store_bind_int(s, 7, store_origin(store_of(c)));
	r = store_exec(c, s);
	if (r)
		return r;
	*id = store_last_id(c);
	s = store_sql(c, SQL_USER_ADD_TOKEN);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, user_id);
	return store_exec(c, s);
}

int token_create_in(struct store_conn *c, const struct pfs_actor *a,
		    struct token_info *t, int found, const char *name,
		    size_t len, int level)
{
	char object[OBJECT_MAX], nm[PFS_NAME_MAX + 1];
	int64_t day;
	int r = found == -ENOENT ? 0 : found;

	if (found == 0)
		r = pfs_refuse(EEXIST, "an active token of this owner has "
				       "that name: revoke it, or choose "
				       "another");

	if (!r)
		r = token_insert(c, t->user_id, name, len, level, store_now(),
				 &t->id, &day);
	if (r)
		return r;
	token_object(t, object);
	snprintf(nm, sizeof(nm), "%.*s", (int)len, name);
	r = audit_add(c, a, "token_create", object, NULL, nm, NULL);
	if (!r)
		store_record(c, STORE_CH_TOKENS, t->user_id, t->id, 0);
	return r;
}

static int mint_txn(struct store_conn *c, void *ctx)
{
	struct store_edit *m = ctx; /* id: the owner; val: the name */
	struct token_info t = {0};  /* the owner only: a personal token */
	struct access_obj obj;
	int64_t other;
	int r = token_owner_of(c, m->id, &t);

	obj = access_of(ACCESS_TOKENS, 0, r ? -1 : t.user_uid);
	if (!r)
		r = access_check(m->a, &obj, ACCESS_W);
	if (!r)
		r = token_create_in(
		    c, m->a, &t,
		    token_find_active_in(c, m->id, m->val, m->len, &other),
		    m->val, m->len, 0);
	if (!r)
		m->out = t.id;
	return r;
}

int token_mint(struct store *st, const struct pfs_actor *a, int64_t user_id,
	       const char *name, size_t len, int64_t *id)
{
	struct store_edit m = {a, user_id, 0, name, len, 0, NULL};
	return store_txn_out(st, policy_check_token_name(name, len), mint_txn,
			     &m, id);
}

/* Runs an UPDATE statement id with (?1 id, ?2 value or NULL when v < 0 for
 * nullable, ?3 now). */
int token_update(struct store_conn *c, enum store_sql id, int64_t tid,
		 int64_t v, bool null_if_negative, int64_t now)
{
	struct store_stmt *s = store_sql(c, id);

	if (!s)
		return -EIO;
	store_bind_int(s, 1, tid);
	if (null_if_negative && v < 0)
		store_bind_null(s, 2);
	else
		store_bind_int(s, 2, v);
	store_bind_int(s, 3, now);
	return store_exec(c, s);
}

void token_changed(struct store_conn *c, const struct token_info *t,
		   uint32_t fields)
{
	store_record_change(c, &(struct store_change){
				   .kind = STORE_CH_TOKEN,
				   .user_id = t->user_id,
				   .token_id = t->id,
				   .fields = fields,
				   .resource = t->resource_id != 0,
			       });
}

int token_list_rows(struct store_conn *c, struct store_stmt *s,
		    token_list_fn *fn, void *ctx)
{
	struct token_info t;
	int r;

	while ((r = store_step(c, s)) == 1) {
		token_row(s, &t);
		if (fn(ctx, &t))
			break;
	}
	store_reset(s);
	return r < 0 ? r : 0;
}

int token_list_user(struct store *st, int64_t user_id, int64_t after,
		    token_list_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_TOKEN_LIST_USER) : NULL;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, user_id);
	store_bind_int(s, 2, after);
	return token_list_rows(c, s, fn, ctx);
}

int token_list_expiring(struct store *st, int64_t day, int64_t after,
			token_list_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = NULL;

	if (c)
		s = store_sql(c, day < 0 ? SQL_TOKEN_LIST_NEVER
					 : SQL_TOKEN_LIST_DAY);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, day);
	store_bind_int(s, 2, after);
	return token_list_rows(c, s, fn, ctx);
}

int token_list_window(struct store *st, int64_t day, int64_t after,
		      int64_t last, token_list_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_TOKEN_LIST_WINDOW) : NULL;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, day);
	store_bind_int(s, 2, after);
	store_bind_int(s, 3, last);
	return token_list_rows(c, s, fn, ctx);
}

int token_list_unused(struct store *st, int64_t before, int64_t after,
		      token_list_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_TOKEN_LIST_UNUSED) : NULL;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, before);
	store_bind_int(s, 2, after);
	return token_list_rows(c, s, fn, ctx);
}

int token_list_all(struct store *st, int64_t after, token_list_fn *fn,
		   void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_TOKEN_LIST_ALL) : NULL;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, after);
	return token_list_rows(c, s, fn, ctx);
}

int token_list_cancelled(struct store *st, int64_t since, int64_t day,
			 int64_t uid, token_list_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s =
	    c ? store_sql(c, SQL_TOKEN_LIST_CANCELLED) : NULL;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, since);
	store_bind_int(s, 2, day);
	store_bind_int(s, 3, uid);
	store_bind_int(s, 4, 0);
	return token_list_rows(c, s, fn, ctx);
}

int token_list_uid(struct store *st, uint32_t uid, int64_t day,
		   token_list_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_TOKEN_LIST_UID) : NULL;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, day);
	store_bind_int(s, 2, INT64_MAX);
	store_bind_int(s, 3, uid);
	return token_list_rows(c, s, fn, ctx);
}

int token_next_expiry(struct store *st, int64_t after, int64_t *day)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_TOKEN_NEXT_EXPIRY) : NULL;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, after);
	return store_one_int(c, s, day);
}
