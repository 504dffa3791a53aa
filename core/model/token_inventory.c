/* token_inventory.c - every token the caller may see, in one document:
 * credentials.csv (RFC 4180, a header row, one row a token) and
 * credentials.json (an array of meta.json objects). The rows go to a sink a
 * piece at a time, so the document is never whole in memory, and are read
 * in one read-only transaction, so that it is one snapshot of the store. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "patfs/access.h"
#include "patfs/json.h"
#include "patfs/policy.h"
#include "patfs/token.h"
#include "store/store_stmt.h"
#include "token_core.h"

static const char csv_header[] =
    "user,user_kind,token_id,name,scopes,created_at,expires_at,"
    "last_used_at,last_used_from,revoked,disabled,active,resource_type,"
    "resource_path,"
    "access_level,family_id,gitlab_id,path\r\n";

struct inventory {
	const struct pfs_actor *a;
	enum token_inventory_format format;
	int64_t now;
	token_sink_fn *sink;
	void *ctx;
	int64_t count;
	int64_t *mtime;
	int err;
};

/* Appends s[n] to o as one CSV field, quoted when it holds a comma, a
 * quote or a line break (its quotes doubled), and then sep: the length, or
 * 0 when it does not fit in size. */
static size_t csv_field(char *o, size_t size, const char *s, size_t n, char sep)
{
	bool quote = strcspn(s, ",\"\r\n") < n;
	size_t w = 0;

	if (size < 2 * n + 4)
		return 0;
	if (quote)
		o[w++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			o[w++] = '"';
		o[w++] = s[i];
	}
	if (quote)
		o[w++] = '"';
	o[w++] = sep;
	return w;
}

/* One row of t into buf: its length, or 0 when it does not fit. */
static size_t csv_row(const struct token_info *t, int64_t now, char *buf,
		      size_t size)
{
	char scopes[512], created[21], expires[11] = "", used[21] = "";
	char num[3][24], path[OBJECT_MAX];
	const char *level =
	    t->resource_id ? policy_level_name(t->access_level) : NULL;
	size_t w = 0;

	policy_render_scope_words(t->scopes, scopes, sizeof(scopes));
	policy_format_time(t->created_at, created);
	if (t->expires_day >= 0)
		policy_format_date(t->expires_day, expires);
	if (t->last_used_at)
		policy_format_time(t->last_used_at, used);
	snprintf(num[0], sizeof(num[0]), "%lld", (long long)t->id);
	snprintf(num[1], sizeof(num[1]), "%lld", (long long)t->family_id);
	snprintf(num[2], sizeof(num[2]), "%lld", (long long)t->gitlab_id);
	token_path(t, path, sizeof(path));
	{
		const bool res = t->resource_id != 0;
		const char *f[] = {
		    t->user_name,
		    policy_user_kind_names[t->user_kind],
		    num[0],
		    t->name,
		    scopes,
		    created,
		    expires,
		    used,
		    t->last_used_from,
		    t->revoked_at ? "true" : "false",
		    t->disabled ? "true" : "false",
		    token_active(t, now) ? "true" : "false",
		    res ? policy_resource_kind_names[t->resource_kind] : "",
		    res ? t->resource_path : "",
		    level ? level : "",
		    num[1],
		    t->gitlab_id ? num[2] : "",
		    path};
		const size_t nf = sizeof(f) / sizeof(f[0]);

		for (size_t i = 0; i < nf; i++) {
			size_t k =
			    csv_field(buf + w, size - w, f[i], strlen(f[i]),
				      i + 1 == nf ? '\r' : ',');
			if (!k)
				return 0;
			w += k;
		}
	}
	if (w + 1 >= size)
		return 0;
	buf[w++] = '\n';
	return w;
}

static int add_row(void *ctx, const struct token_info *t)
{
	struct inventory *in = ctx;
	struct access_obj obj = access_of_token(t, -1);
	char one[TOKEN_RENDER_MAX];
	size_t n = 0;
	int64_t m;
	struct json j;
	int k;

	if (access_see(in->a, &obj))
		return 0; /* an impersonation token its owner does not see */
	m = token_meta_mtime(t, in->now);
	if (m > *in->mtime)
		*in->mtime = m;
	if (in->format == TOKEN_INVENTORY_CSV) {
		n = csv_row(t, in->now, one, sizeof(one));
		in->err = n ? 0 : -EOVERFLOW;
	} else {
		one[0] = in->count ? ',' : '[';
		one[1] = '\n';
		json_init(&j, one + 2, sizeof(one) - 2);
		token_json(&j, t, in->now);
		k = json_finish(&j);
		in->err = k < 0 ? k : 0;
		n = k < 0 ? 0 : (size_t)k + 2;
	}
	if (!in->err)
		in->err = in->sink(in->ctx, one, n);
	in->count++;
	return in->err;
}

static int inventory_txn(struct store_conn *c, void *ctx)
{
	struct inventory *in = ctx;
	struct store *st = store_of(c);
	int r = in->a->admin
		    ? token_list_all(st, 0, add_row, in)
		    : token_list_of_uid(st, in->a->uid, 0, add_row, in);

	return r ? r : in->err;
}

int token_inventory(struct store *st, const struct pfs_actor *a,
		    enum token_inventory_format format, int64_t now,
		    token_sink_fn *sink, void *ctx, int64_t *mtime)
{
	struct inventory in = {a, format, now, sink, ctx, 0, mtime, 0};
	int r = format == TOKEN_INVENTORY_CSV
		    ? sink(ctx, csv_header, sizeof(csv_header) - 1)
		    : 0;

	if (!r)
		r = store_read(st, inventory_txn, &in);
	if (!r && format == TOKEN_INVENTORY_JSON)
		r = in.count ? sink(ctx, "\n]\n", 3) : sink(ctx, "[]\n", 3);
	return r;
}

int token_list_of_uid(struct store *st, uint32_t uid, int64_t after,
		      token_list_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_TOKEN_LIST_OF_UID) : NULL;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, uid);
	store_bind_int(s, 2, after);
	return token_list_rows(c, s, fn, ctx);
}
