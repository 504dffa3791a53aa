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
#include "token_core.h"

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
	if (token_meta_mtime(t, l->now) > l->doc->mtime)
		l->doc->mtime = token_meta_mtime(t, l->now);
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
