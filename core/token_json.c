/* token_json.c - a token's metadata as one JSON object (meta.json, and the
 * elements of a user's tokens.json), keyed as GitLab's API names them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "patfs/access.h"
#include "patfs/json.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/token.h"
#include "patfs/user.h"
#include "tokenInt.h"

/* A Unix time as the files show it, or null when never (t 0). */
static void json_time(struct json *j, const char *key, int64_t t)
{
	char when[21];

	policy_format_time(t, when);
	json_str(j, key, t ? when : NULL, strlen(when));
}

/* An id, or null when none (0). */
static void json_id(struct json *j, const char *key, int64_t id)
{
	if (id)
		json_int(j, key, id);
	else
		json_str(j, key, NULL, 0);
}

void token_json(struct json *j, const struct token_info *t, int64_t now)
{
	char object[OBJECT_MAX], day[11];

	json_begin(j, NULL, '{');
	json_int(j, "id", t->id);
	json_str(j, "name", t->name, strlen(t->name));
	json_str(j, "description", t->description, strlen(t->description));
	json_begin(j, "scopes", '[');
	for (int i = 0; i < POLICY_NSCOPES; i++)
		if (t->scopes & (1u << i))
			json_str(j, NULL, policy_scope_names[i],
				 strlen(policy_scope_names[i]));
	json_end(j, ']');
	json_bool(j, "impersonation", t->impersonation);
	json_time(j, "created_at", t->created_at);
	policy_format_date(t->expires_day, day);
	json_str(j, "expires_at", t->expires_day < 0 ? NULL : day, strlen(day));
	json_time(j, "last_used_at", t->last_used_at);
	json_bool(j, "revoked", t->revoked_at != 0);
	json_bool(j, "active", token_active(t, now));
	json_int(j, "user_id", t->user_id);
	json_str(j, "username", t->user_name, strlen(t->user_name));
	json_str(j, "kind", user_kind_names[t->user_kind],
		 strlen(user_kind_names[t->user_kind]));
	if (t->resource_id) {
		const char *lv = resource_level_name(t->access_level);
		json_int(j, "access_level", t->access_level);
		json_str(j, "access_level_name", lv, lv ? strlen(lv) : 0);
		json_str(j, "resource_type",
			 resource_kind_names[t->resource_kind],
			 strlen(resource_kind_names[t->resource_kind]));
		json_int(j, "resource_id", t->resource_id);
		json_str(j, "resource_path", t->resource_path,
			 strlen(t->resource_path));
	}
	token_object(t, object);
	json_str(j, "path", object, strlen(object));
	json_id(j, "previous_personal_access_token_id", t->previous_id);
	json_id(j, "gitlab_id", t->gitlab_id); /* imported: GitLab's id */
	json_end(j, '}');
}

/* The latest time one of t's values changed. */
static int64_t meta_mtime(const struct token_info *t, int64_t now)
{
	static const enum token_attr parts[] = {
	    TOKEN_NAME,		 TOKEN_DESCRIPTION, TOKEN_SCOPES,
	    TOKEN_IMPERSONATION, TOKEN_EXPIRES_AT,  TOKEN_LAST_USED_AT,
	    TOKEN_REVOKED,	 TOKEN_ACTIVE};
	char scratch[TOKEN_RENDER_MAX];
	int64_t m, latest = t->created_at;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		token_render(t, parts[i], now, scratch, sizeof(scratch), &m);
		if (m > latest)
			latest = m;
	}
	return latest;
}

size_t token_render_json(const struct token_info *t, int64_t now, char *buf,
			 size_t size, int64_t *mtime)
{
	struct json j;
	int n;

	*mtime = meta_mtime(t, now);
	json_init(&j, buf, size);
	token_json(&j, t, now);
	n = json_finish(&j);
	if (n < 0 || (size_t)n + 1 >= size)
		return 0;
	buf[n] = '\n';
	buf[n + 1] = '\0';
	return (size_t)n + 1;
}

int token_doc_add(struct token_doc *d, const char *s, size_t n)
{
	size_t cap = d->cap ? d->cap : 4096;
	char *p;

	while (d->len + n + 1 > cap)
		cap *= 2;
	if (cap > TOKEN_DOC_MAX)
		return -EFBIG;
	if (cap != d->cap) {
		p = realloc(d->text, cap);
		if (!p)
			return -ENOMEM;
		d->text = p;
		d->cap = cap;
	}
	memcpy(d->text + d->len, s, n);
	d->len += n;
	d->text[d->len] = '\0';
	return 0;
}

struct user_json {
	const struct pfs_actor *a;
	int64_t now;
	struct token_doc *doc;
	int count;
	int err;
};

static int add_json(void *ctx, const struct token_info *t)
{
	struct user_json *l = ctx;
	struct access_obj obj = access_of_token(t, -1);
	char one[TOKEN_RENDER_MAX];
	struct json j;
	int n;

	if (t->impersonation)
		l->doc->varies = true; /* its owner does not see it */
	if (access_see(l->a, &obj))
		return 0;
	if (meta_mtime(t, l->now) > l->doc->mtime)
		l->doc->mtime = meta_mtime(t, l->now);
	json_init(&j, one, sizeof(one));
	token_json(&j, t, l->now);
	n = json_finish(&j);
	l->err = n < 0 ? n : token_doc_add(l->doc, l->count ? ",\n" : "[\n", 2);
	if (!l->err)
		l->err = token_doc_add(l->doc, one, (size_t)n);
	l->count++;
	return l->err;
}

int token_json_user(struct store *st, const struct pfs_actor *a,
		    int64_t user_id, int64_t now, struct token_doc *out)
{
	struct user_json l = {.a = a, .now = now, .doc = out};
	int r;

	out->text = NULL;
	out->len = out->cap = 0;
	out->varies = false;
	r = token_list_user(st, user_id, 0, add_json, &l);
	if (!r)
		r = l.err;
	if (!r)
		r = l.count ? token_doc_add(out, "\n]\n", 3)
			    : token_doc_add(out, "[]\n", 3);
	if (r) {
		free(out->text);
		out->text = NULL;
	}
	return r;
}
