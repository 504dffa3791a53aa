/* token_write.c - writing a token's attribute: one transaction that reads
 * the token, checks the writer's right (access.c), parses and stores the
 * value as its row of token_attrs[] says, audits it and records the
 * change for the caches. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "patfs/access.h"
#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/rules.h"
#include "patfs/token.h"
#include "store/store_stmt.h"
#include "token_attrInt.h"
#include "token_core.h"

/* The rendered value of attr without its newline, for the audit trail. */
static void audit_value(const struct token_info *t, enum token_attr attr,
			int64_t now, char *buf, size_t size)
{
	int64_t mtime;
	size_t n = token_render(t, attr, now, buf, size, &mtime);

	buf[policy_value_len(buf, n)] = '\0';
}

/* Binds v as ?2 of s. */
static void bind_value(struct store_stmt *s, const struct token_value *v)
{
	if (v->null)
		store_bind_null(s, 2);
	else if (v->s)
		store_bind_text(s, 2, v->s, v->len);
	else
		store_bind_int(s, 2, v->i);
}

/* Parses and stores val into attr of the token *t (read in this
 * transaction), and audits the change: 0 changed, SAME, or -errno. */
static int write_in(struct store_conn *c, const struct pfs_actor *a,
		    const struct token_info *t, enum token_attr attr,
		    const char *val, size_t len, const char *reason)
{
	const struct token_attr_store *how = token_attrs[attr].store;
	struct rules rules;
	struct token_edit e = {store_cfg(store_of(c)), a, t, store_now(),
			       &rules};
	char object[OBJECT_MAX], old[TOKEN_RENDER_MAX], new[TOKEN_RENDER_MAX];
	struct token_value v = {0};
	struct token_info nt = *t;
	struct store_stmt *s;
	int r;

	if (!how) /* rotate and the secret have their own calls */
		return pfs_refuse(EPERM, "%s is never written",
				  token_attrs[attr].name);
	r = rules_get_in(c, &rules);
	if (!r)
		r = how->parse(&e, val, len, &nt, &v);
	if (r)
		return r;
	s = store_sql(c, how->update);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, t->id);
	bind_value(s, &v);
	store_bind_int(s, 3, e.now);
	r = store_exec(c, s);
	if (r)
		return r;
	audit_value(t, attr, e.now, old, sizeof(old));
	audit_value(&nt, attr, e.now, new, sizeof(new));
	token_object(&nt, object);
	r = audit_add(c, a, how->action, object, old, new, reason);
	if (!r)
		token_changed(c, &nt, how->field);
	return r;
}

static int write_txn(struct store_conn *c, void *ctx)
{
	const struct store_edit *w = ctx;
	struct access_obj obj;
	struct token_info t;
	int r = token_get_in(c, w->id, &t);

	obj = access_of_token(&t, (int)w->attr);
	if (!r)
		r = access_check(w->a, &obj, ACCESS_W);
	return r ? r
		 : write_in(c, w->a, &t, (enum token_attr)w->attr, w->val,
			    w->len, w->reason);
}

int token_write(struct store *st, const struct pfs_actor *a, int64_t id,
		enum token_attr attr, const char *val, size_t len)
{
	return token_write_why(st, a, id, attr, val, len, NULL);
}

int token_write_why(struct store *st, const struct pfs_actor *a, int64_t id,
		    enum token_attr attr, const char *val, size_t len,
		    const char *reason)
{
	struct store_edit w = {a, id, (int)attr, val, len, 0, reason};

	if ((unsigned)attr >= TOKEN_NATTR)
		return -EPERM;
	return store_txn(st, write_txn, &w);
}
