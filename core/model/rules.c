/* rules.c - the policies that change without a restart (rules.h): the
 * policies table, one row a rule that was written, over the ini file's
 * values. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/rules.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "patfs/token_attr.h"
#include "store/store_stmt.h"
#include "token_core.h"

const char *const rules_names[RULE_N] = {"max_lifetime_days",
					 "require_expiry",
					 "service_accounts_require_expiry",
					 "rotation_lifetime_days",
					 "allowed_scopes",
					 "enforce"};

static const char *const enforce_names[] = {"none", "at_check"};

#define ALL_SCOPES ((uint32_t)((1u << POLICY_NSCOPES) - 1))

static void defaults(const struct cfg *cfg, struct rules *r)
{
	*r = (struct rules){
	    .max_lifetime_days = cfg->max_lifetime_days,
	    .require_expiry = cfg->require_expiry,
	    .sa_require_expiry = cfg->sa_require_expiry,
	    .rotation_days = cfg->require_expiry ? 7 : cfg->max_lifetime_days,
	    .allowed_scopes = ALL_SCOPES,
	    .enforce = RULE_ENFORCE_NONE,
	};
	if (r->rotation_days > r->max_lifetime_days)
		r->rotation_days = r->max_lifetime_days;
}

/* Parses val[len] as rule which's value into *r (whose other rules it may
 * be checked against): 0, or -EINVAL with the reason. */
static int parse(struct rules *r, enum rule which, const char *val, size_t len)
{
	char num[16];
	long v;
	int b, i;

	len = policy_value_len(val, len);
	switch (which) {
	case RULE_MAX_LIFETIME:
	case RULE_ROTATION_DAYS:
		if (len == 0 || len >= sizeof(num) ||
		    strspn(val, "0123456789") < len)
			return pfs_refuse(EINVAL, "expected a number of days");
		memcpy(num, val, len);
		num[len] = '\0';
		v = strtol(num, NULL, 10);
		if (v < 1 || v > 36500)
			return pfs_refuse(EINVAL, "expected 1 to 36500 days");
		if (which == RULE_ROTATION_DAYS && v > r->max_lifetime_days)
			return pfs_refuse(EINVAL,
					  "a successor may live no longer "
					  "than max_lifetime_days (%d)",
					  r->max_lifetime_days);
		if (which == RULE_MAX_LIFETIME)
			r->max_lifetime_days = (int)v;
		else
			r->rotation_days = (int)v;
		if (r->rotation_days > r->max_lifetime_days)
			r->rotation_days = r->max_lifetime_days;
		return 0;
	case RULE_REQUIRE_EXPIRY:
	case RULE_SA_EXPIRY:
		if (policy_parse_bool(val, len, &b))
			return pfs_refuse(EINVAL, "expected 0 or 1");
		*(which == RULE_REQUIRE_EXPIRY ? &r->require_expiry
					       : &r->sa_require_expiry) = b;
		return 0;
	case RULE_ALLOWED_SCOPES:
		if (policy_parse_scopes(val, len, &r->allowed_scopes))
			return pfs_refuse(EINVAL, "expected known scopes, one "
						  "a line or separated by "
						  "spaces");
		if (!r->allowed_scopes)
			return pfs_refuse(EINVAL, "at least one scope must "
						  "be allowed");
		return 0;
	case RULE_ENFORCE:
		for (i = 0; i < 2; i++)
			if (len == strlen(enforce_names[i]) &&
			    !memcmp(val, enforce_names[i], len)) {
				r->enforce = i;
				return 0;
			}
		return pfs_refuse(EINVAL, "expected none or at_check");
	case RULE_N:
		break;
	}
	return -EINVAL;
}

int rules_get_in(struct store_conn *c, struct rules *out)
{
	struct store_stmt *s = store_sql(c, SQL_RULES_LIST);
	int r;

	defaults(store_cfg(store_of(c)), out);
	if (!s)
		return -EIO;
	while ((r = store_step(c, s)) == 1) {
		const char *name = store_col_text(s, 0), *val;
		for (int i = 0; i < RULE_N; i++)
			if (!strcmp(name, rules_names[i])) {
				val = store_col_text(s, 1);
				/* a value this patfs cannot read stays
				 * the ini file's */
				if (!parse(out, (enum rule)i, val, strlen(val)))
					out->set_at[i] = store_col_int(s, 2);
				pfs_reason_clear();
			}
	}
	store_reset(s);
	return r < 0 ? r : 0;
}

int rules_get(struct store *st, struct rules *out)
{
	struct store_conn *c = store_conn(st);

	return c ? rules_get_in(c, out) : -EIO;
}

size_t rules_render(const struct rules *r, enum rule which, char *buf,
		    size_t size)
{
	int n = 0;

	switch (which) {
	case RULE_MAX_LIFETIME:
		n = snprintf(buf, size, "%d\n", r->max_lifetime_days);
		break;
	case RULE_ROTATION_DAYS:
		n = snprintf(buf, size, "%d\n", r->rotation_days);
		break;
	case RULE_REQUIRE_EXPIRY:
		n = snprintf(buf, size, "%d\n", r->require_expiry);
		break;
	case RULE_SA_EXPIRY:
		n = snprintf(buf, size, "%d\n", r->sa_require_expiry);
		break;
	case RULE_ALLOWED_SCOPES:
		return policy_render_scopes(r->allowed_scopes, buf, size);
	case RULE_ENFORCE:
		n = snprintf(buf, size, "%s\n", enforce_names[r->enforce]);
		break;
	case RULE_N:
		break;
	}
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

struct rule_edit {
	const struct pfs_actor *a;
	enum rule which;
	const char *val;
	size_t len;
};

/* The rendered value without its newline, for the audit trail. */
static void audit_value(const struct rules *r, enum rule which, char *buf,
			size_t size)
{
	size_t n = rules_render(r, which, buf, size);

	buf[policy_value_len(buf, n)] = '\0';
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

static int write_txn(struct store_conn *c, void *ctx)
{
	const struct rule_edit *e = ctx;
	struct rules now, next;
	char old[512], new[512], object[64];
	struct store_stmt *s;
	int r = rules_get_in(c, &now);

	if (r)
		return r;
	next = now;
	r = parse(&next, e->which, e->val, e->len);
	if (r)
		return r;
	audit_value(&now, e->which, old, sizeof(old));
	audit_value(&next, e->which, new, sizeof(new));
	if (!strcmp(old, new) && now.set_at[e->which])
		return STORE_UNCHANGED;
	rules_render(&next, e->which, new, sizeof(new));
	s = store_sql(c, SQL_RULE_SET);
	if (!s)
		return -EIO;
	store_bind_text(s, 1, rules_names[e->which],
			strlen(rules_names[e->which]));
	store_bind_text(s, 2, new, strlen(new));
	store_bind_int(s, 3, store_now());
	r = store_exec(c, s);
	audit_value(&next, e->which, new, sizeof(new));
	snprintf(object, sizeof(object), "policy/%s", rules_names[e->which]);
	return r ? r : audit_add(c, e->a, "policy_set", object, old, new, NULL);
}

int rules_write(struct store *st, const struct pfs_actor *a, enum rule which,
		const char *val, size_t len)
{
	struct rule_edit e = {a, which, val, len};

	if (!a->admin)
		return pfs_refuse(EACCES, "only administrators set policies");
	if ((unsigned)which >= RULE_N)
		return -EINVAL;
	return store_txn(st, write_txn, &e);
}

enum rule rules_broken(const struct rules *r, const struct token_info *t,
		       char *why, size_t size)
{
	int64_t made = policy_day_of(t->created_at);
	char day[11];

	if (t->expires_day >= 0 &&
	    t->expires_day - made > r->max_lifetime_days) {
		policy_format_date(t->expires_day, day);
		snprintf(why, size,
			 "expires %s, %lld days after it was made (at most "
			 "%d)",
			 day, (long long)(t->expires_day - made),
			 r->max_lifetime_days);
		return RULE_MAX_LIFETIME;
	}
	if (t->expires_day < 0 && r->require_expiry &&
	    t->user_kind != USER_SERVICE_ACCOUNT) {
		snprintf(why, size, "never expires");
		return RULE_REQUIRE_EXPIRY;
	}
	if (t->expires_day < 0 && r->require_expiry && r->sa_require_expiry &&
	    t->user_kind == USER_SERVICE_ACCOUNT) {
		snprintf(why, size,
			 "a service account's token that never "
			 "expires");
		return RULE_SA_EXPIRY;
	}
	if (t->scopes & ~r->allowed_scopes) {
		char scopes[512];

		policy_render_scope_words(t->scopes & ~r->allowed_scopes,
					  scopes, sizeof(scopes));
		snprintf(why, size, "has scopes not allowed: %s", scopes);
		return RULE_ALLOWED_SCOPES;
	}
	return RULE_N;
}

struct reasons {
	const struct rules *r;
	int64_t now;
	struct token_doc *doc;
	int err;
};

static int add_reason(void *ctx, const struct token_info *t)
{
	struct reasons *l = ctx;
	char why[512], line[OBJECT_MAX + 600], path[OBJECT_MAX];
	enum rule broken;
	int n;

	if (!token_active(t, l->now))
		return 0;
	broken = rules_broken(l->r, t, why, sizeof(why));
	if (broken == RULE_N)
		return 0;
	token_path(t, path, sizeof(path));
	n = snprintf(line, sizeof(line), "%lld %s %s: %s\n", (long long)t->id,
		     path, rules_names[broken], why);
	if (n < 0 || (size_t)n >= sizeof(line))
		return 0;
	l->err = token_doc_add(l->doc, line, (size_t)n);
	return l->err;
}

int rules_reasons(struct store *st, int64_t now, struct token_doc *out)
{
	struct rules r;
	struct reasons l = {&r, now, out, 0};
	int e = rules_get(st, &r);

	*out = (struct token_doc){.mtime = 0};
	if (!e)
		e = token_doc_add(out, "", 0);
	if (!e)
		e = token_list_unused(st, INT64_MAX, 0, add_reason, &l);
	if (!e)
		e = l.err;
	if (e) {
		free(out->text);
		out->text = NULL;
	}
	return e;
}
