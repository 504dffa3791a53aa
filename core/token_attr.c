/* token_attr.c - the attributes of a token, one row each: how its file
 * renders, how a written value is parsed and stored, who may write it, what
 * it follows. Rendering, token_write, access.c, the token nodes and the
 * kernel-cache invalidation all read token_attrs[]; docs/design.md gives
 * the recipe for a new attribute. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auditInt.h"
#include "patfs/access.h"
#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/user.h"
#include "storeInt.h"
#include "tokenInt.h"

/* What a value may depend on besides its own field: every file's mode
 * follows its owner and whether the owner may see it at all. */
#define SEEN (TOKEN_F_OWNER | TOKEN_F_IMPERSONATION)

/* A parsed value, as the attribute's UPDATE statement binds it (?2). */
struct token_value {
	int64_t i;
	const char *s; /* text (len bytes) instead of i, when not NULL */
	size_t len;
	bool null;
};

/* The context of a write: who writes, the token as it is, when. */
struct token_edit {
	const struct cfg *cfg;
	const struct pfs_actor *a;
	const struct token_info *t;
	int64_t now;
};

/* What a parser returns when the value is the one already stored. */
#define SAME STORE_UNCHANGED

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* buf of size holding w bytes (snprintf's answer): its length, or 0 when
 * it did not fit. */
static size_t fit(int w, size_t size)
{
	return w < 0 || (size_t)w >= size ? 0 : (size_t)w;
}

/* Renderers: the value as its file holds it, and *mtime. ---------------- */

static size_t r_name(const struct token_info *t, int64_t now, char *buf,
		     size_t size, int64_t *mtime)
{
	(void)now;
	*mtime = t->created_at;
	return fit(snprintf(buf, size, "%s\n", t->name), size);
}

static size_t r_description(const struct token_info *t, int64_t now, char *buf,
			    size_t size, int64_t *mtime)
{
	(void)now;
	*mtime = t->description_at;
	return fit(snprintf(buf, size, t->description[0] ? "%s\n" : "%s",
			    t->description),
		   size);
}

static size_t r_scopes(const struct token_info *t, int64_t now, char *buf,
		       size_t size, int64_t *mtime)
{
	(void)now;
	*mtime = t->scopes_at;
	return policy_render_scopes(t->scopes, buf, size);
}

static size_t r_impersonation(const struct token_info *t, int64_t now,
			      char *buf, size_t size, int64_t *mtime)
{
	(void)now;
	*mtime = t->impersonation_at;
	return fit(snprintf(buf, size, "%d\n", t->impersonation ? 1 : 0), size);
}

static size_t r_created_at(const struct token_info *t, int64_t now, char *buf,
			   size_t size, int64_t *mtime)
{
	char when[21];

	(void)now;
	*mtime = t->created_at;
	policy_format_time(t->created_at, when);
	return fit(snprintf(buf, size, "%s\n", when), size);
}

static size_t r_expires_at(const struct token_info *t, int64_t now, char *buf,
			   size_t size, int64_t *mtime)
{
	char when[21];

	(void)now;
	*mtime = t->expires_at_at;
	policy_format_date(t->expires_day, when);
	return fit(t->expires_day < 0 ? snprintf(buf, size, "%s", "")
				      : snprintf(buf, size, "%s\n", when),
		   size);
}

static size_t r_last_used_at(const struct token_info *t, int64_t now, char *buf,
			     size_t size, int64_t *mtime)
{
	char when[21];

	(void)now;
	*mtime = t->last_used_at ? t->last_used_at : t->created_at;
	policy_format_time(t->last_used_at, when);
	return fit(snprintf(buf, size, "%s%s", t->last_used_at ? when : "",
			    t->last_used_at ? "\n" : ""),
		   size);
}

static size_t r_revoked(const struct token_info *t, int64_t now, char *buf,
			size_t size, int64_t *mtime)
{
	(void)now;
	*mtime = t->revoked_at ? t->revoked_at : t->created_at;
	return fit(snprintf(buf, size, "%d\n", t->revoked_at ? 1 : 0), size);
}

/* active's mtime: the latest of the events that can have changed it. */
static size_t r_active(const struct token_info *t, int64_t now, char *buf,
		       size_t size, int64_t *mtime)
{
	int64_t m = max64(t->created_at, t->revoked_at);

	m = max64(m, t->user_blocked_at);
	m = max64(m, t->expires_at_at);
	if (token_expired(t, now))
		m = max64(m, t->expires_day * 86400);
	*mtime = m;
	return fit(snprintf(buf, size, "%d\n", token_active(t, now) ? 1 : 0),
		   size);
}

static size_t r_access_level(const struct token_info *t, int64_t now, char *buf,
			     size_t size, int64_t *mtime)
{
	const char *lv = resource_level_name(t->access_level);

	(void)now;
	*mtime = t->access_level_at;
	return fit(snprintf(buf, size, "%s%s", lv ? lv : "", lv ? "\n" : ""),
		   size);
}

static size_t r_bot(const struct token_info *t, int64_t now, char *buf,
		    size_t size, int64_t *mtime)
{
	(void)now;
	*mtime = t->created_at;
	return fit(snprintf(buf, size, "%s\n", t->user_name), size);
}

/* The notices sent, "60,30,0" stored, as "60\n30\nexpired\n". */
static size_t r_notified(const struct token_info *t, int64_t now, char *buf,
			 size_t size, int64_t *mtime)
{
	const char *s = t->notified;
	size_t w = 0;

	(void)now;
	*mtime = t->notified_at ? t->notified_at : t->created_at;
	buf[0] = '\0';
	while (*s && w + 16 < size) {
		size_t k = strcspn(s, ",");
		w += k == 1 && *s == '0'
			 ? fit(snprintf(buf + w, size - w, "expired\n"),
			       size - w)
			 : fit(snprintf(buf + w, size - w, "%.*s\n", (int)k, s),
			       size - w);
		s += k + (s[k] == ',');
	}
	return w;
}

/* Files with no content of their own: rotate (write-only), the links
 * (their target is no content), the secret (its open file serves it). */
static size_t r_empty(const struct token_info *t, int64_t now, char *buf,
		      size_t size, int64_t *mtime)
{
	(void)now;
	*mtime = t->sealed_at ? t->sealed_at : t->created_at;
	return fit(snprintf(buf, size, "%s", ""), size);
}

static size_t r_meta(const struct token_info *t, int64_t now, char *buf,
		     size_t size, int64_t *mtime)
{
	return token_render_json(t, now, buf, size, mtime);
}

/* Parsers: a written value into nt and v, SAME, or -errno. --------------- */

static int p_revoked(const struct token_edit *e, const char *val, size_t len,
		     struct token_info *nt, struct token_value *v)
{
	int b, r = policy_parse_bool(val, len, &b);

	if (r)
		return r;
	if (!b && e->t->revoked_at)
		return -EPERM; /* a revocation is final */
	if (b == (e->t->revoked_at != 0))
		return SAME;
	nt->revoked_at = v->i = e->now;
	return 0;
}

static int p_description(const struct token_edit *e, const char *val,
			 size_t len, struct token_info *nt,
			 struct token_value *v)
{
	len = policy_value_len(val, len);
	if (len > PFS_NAME_MAX || (len && !policy_printable_utf8(val, len)))
		return -EINVAL;
	if (len == strlen(e->t->description) &&
	    !memcmp(val, e->t->description, len))
		return SAME;
	memcpy(nt->description, val, len);
	nt->description[len] = '\0';
	v->s = nt->description;
	v->len = len;
	return 0;
}

/* A new expiry: within policy, and never later for an owner, who may
 * shorten a token's life but not lengthen it. */
static int p_expires_at(const struct token_edit *e, const char *val, size_t len,
			struct token_info *nt, struct token_value *v)
{
	const struct token_info *t = e->t;
	int64_t today = policy_day_of(e->now), d = -1;

	len = policy_value_len(val, len);
	if (len == 0) {
		if (e->cfg->require_expiry &&
		    (t->user_kind != USER_SERVICE_ACCOUNT ||
		     e->cfg->sa_require_expiry))
			return -EINVAL;
	} else {
		if (policy_parse_date(val, len, &d))
			return -EINVAL;
		if (d <= today || d > today + e->cfg->max_lifetime_days)
			return -EINVAL;
	}
	if (!e->a->admin && t->expires_day >= 0 &&
	    (d < 0 || d > t->expires_day))
		return -EPERM;
	if (d == t->expires_day)
		return SAME;
	nt->expires_day = v->i = d;
	v->null = d < 0;
	return 0;
}

static int p_scopes(const struct token_edit *e, const char *val, size_t len,
		    struct token_info *nt, struct token_value *v)
{
	uint32_t scopes;
	int r = policy_parse_scopes(val, len, &scopes);

	if (r)
		return r;
	if (scopes == e->t->scopes)
		return SAME;
	nt->scopes = scopes;
	v->i = scopes;
	return 0;
}

static int p_impersonation(const struct token_edit *e, const char *val,
			   size_t len, struct token_info *nt,
			   struct token_value *v)
{
	int b, r = policy_parse_bool(val, len, &b);

	if (r)
		return r;
	if (b == e->t->impersonation)
		return SAME;
	nt->impersonation = b;
	v->i = b;
	return 0;
}

static int p_access_level(const struct token_edit *e, const char *val,
			  size_t len, struct token_info *nt,
			  struct token_value *v)
{
	int level = 0, r = resource_parse_level(val, len, &level);

	if (r)
		return r;
	if (level == e->t->access_level)
		return SAME;
	nt->access_level = level;
	v->i = level;
	return 0;
}

/* The table ------------------------------------------------------------- */

/* The private half of a row: how a written value is parsed and stored,
 * and the fields its statement changes (a new expiry starts the notices
 * again: notified is cleared with it). */
struct token_attr_store {
	int (*parse)(const struct token_edit *e, const char *val, size_t len,
		     struct token_info *nt, struct token_value *v);
	enum store_sql update; /* ?1 id, ?2 the value, ?3 now */
	const char *action;    /* the audit trail's */
	uint32_t field;	       /* what a write changes (enum token_field) */
};

#define STORE(fn, sql, act, f)                                                 \
	(&(const struct token_attr_store){                                     \
	    .parse = (fn), .update = (sql), .action = (act), .field = (f)})

#define W  TOKEN_A_W
#define WL (TOKEN_A_W | TOKEN_A_W_LIVE)
#define WU (TOKEN_A_W | TOKEN_A_W_LIVE | TOKEN_A_W_UNSEALED)

const struct token_attr_def token_attrs[TOKEN_NATTR] = {
    [TOKEN_NAME] = {"name", 0, SEEN, r_name, NULL},
    [TOKEN_DESCRIPTION] = {"description", WL,
			   SEEN | TOKEN_F_DESCRIPTION | TOKEN_F_REVOKED,
			   r_description,
			   STORE(p_description, SQL_TOKEN_SET_DESCRIPTION,
				 "token_set_description", TOKEN_F_DESCRIPTION)},
    [TOKEN_SCOPES] = {"scopes", WU,
		      SEEN | TOKEN_F_SCOPES | TOKEN_F_REVOKED | TOKEN_F_SEALED,
		      r_scopes,
		      STORE(p_scopes, SQL_TOKEN_SET_SCOPES, "token_set_scopes",
			    TOKEN_F_SCOPES)},
    [TOKEN_IMPERSONATION] = {"impersonation", WU | TOKEN_A_W_ADMIN,
			     SEEN | TOKEN_F_REVOKED | TOKEN_F_SEALED,
			     r_impersonation,
			     STORE(p_impersonation, SQL_TOKEN_SET_IMPERSONATION,
				   "token_set_impersonation",
				   TOKEN_F_IMPERSONATION)},
    [TOKEN_CREATED_AT] = {"created_at", 0, SEEN, r_created_at, NULL},
    [TOKEN_EXPIRES_AT] = {"expires_at", WL,
			  SEEN | TOKEN_F_EXPIRES | TOKEN_F_REVOKED,
			  r_expires_at,
			  STORE(p_expires_at, SQL_TOKEN_SET_EXPIRES,
				"token_set_expires_at",
				TOKEN_F_EXPIRES | TOKEN_F_NOTIFIED)},
    [TOKEN_LAST_USED_AT] = {"last_used_at", 0, SEEN | TOKEN_F_LAST_USED,
			    r_last_used_at, NULL},
    /* 1 on a revoked token is accepted, as no change */
    [TOKEN_REVOKED] = {"revoked", W, SEEN | TOKEN_F_REVOKED, r_revoked,
		       STORE(p_revoked, SQL_TOKEN_REVOKE, "token_revoke",
			     TOKEN_F_REVOKED)},
    [TOKEN_ACTIVE] = {"active", 0, SEEN | TOKEN_F_REVOKED | TOKEN_F_EXPIRES,
		      r_active, NULL},
    /* written through its own open file (token_set_secret) */
    [TOKEN_SECRET] = {"token", TOKEN_A_SECRET | WU | TOKEN_A_W_ADMIN,
		      SEEN | TOKEN_F_REVOKED | TOKEN_F_SEALED, r_empty, NULL},
    [TOKEN_META] = {"meta.json", 0, TOKEN_F_ALL & ~TOKEN_F_NOTIFIED, r_meta,
		    NULL},
    /* in any state: a reuse is rotation's to judge (token_rotate); it
     * reads empty, so that walkers copy it */
    [TOKEN_ROTATE] = {"rotate", W, SEEN, r_empty, NULL},
    [TOKEN_PREVIOUS] = {"previous", TOKEN_A_LINK, SEEN | TOKEN_F_ROTATION,
			r_empty, NULL},
    [TOKEN_NEXT] = {"next", TOKEN_A_LINK, SEEN | TOKEN_F_ROTATION, r_empty,
		    NULL},
    [TOKEN_ACCESS_LEVEL] = {"access_level", TOKEN_A_RESOURCE | WU,
			    SEEN | TOKEN_F_LEVEL | TOKEN_F_REVOKED |
				TOKEN_F_SEALED,
			    r_access_level,
			    STORE(p_access_level, SQL_TOKEN_SET_ACCESS_LEVEL,
				  "token_set_access_level", TOKEN_F_LEVEL)},
    [TOKEN_BOT] = {"bot", TOKEN_A_RESOURCE, SEEN, r_bot, NULL},
    [TOKEN_NOTIFIED] = {"notified", 0, SEEN | TOKEN_F_NOTIFIED, r_notified,
			NULL},
};

bool token_attr_exists(const struct token_info *t, int attr)
{
	if (attr < 0 || attr >= TOKEN_NATTR)
		return false;
	return !(token_attrs[attr].flags & TOKEN_A_RESOURCE) ||
	       t->resource_id != 0;
}

unsigned token_attr_rights(const struct token_info *t, int attr, bool admin)
{
	unsigned f = token_attrs[attr].flags;

	if (t->gitlab_id || !(f & TOKEN_A_W))
		return ACCESS_R; /* imported: GitLab's, shown and not changed */
	if (((f & TOKEN_A_W_LIVE) && t->revoked_at) ||
	    ((f & TOKEN_A_W_UNSEALED) && t->sealed_at) ||
	    ((f & TOKEN_A_W_ADMIN) && !admin))
		return ACCESS_R;
	return ACCESS_R | ACCESS_W;
}

size_t token_render(const struct token_info *t, enum token_attr attr,
		    int64_t now, char *buf, size_t size, int64_t *mtime)
{
	if ((unsigned)attr >= TOKEN_NATTR || !token_attr_exists(t, attr))
		return r_empty(t, now, buf, size, mtime);
	return token_attrs[attr].render(t, now, buf, size, mtime);
}

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
		    const char *val, size_t len)
{
	const struct token_attr_store *how = token_attrs[attr].store;
	struct token_edit e = {store_cfg(c->st), a, t, store_now()};
	char object[OBJECT_MAX], old[TOKEN_RENDER_MAX], new[TOKEN_RENDER_MAX];
	struct token_value v = {0};
	struct token_info nt = *t;
	struct store_stmt *s;
	int r;

	if (!how)
		return -EPERM; /* rotate and the secret have their own calls */
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
	r = audit_add(c, a, how->action, object, old, new, NULL);
	if (!r)
		token_changed(c, &nt, how->field);
	return r;
}

/* A write of val to attr of token id by a, as token_write's body. */
struct attr_write {
	const struct pfs_actor *a;
	int64_t id;
	enum token_attr attr;
	const char *val;
	size_t len;
};

static int write_txn(struct store_conn *c, void *ctx)
{
	const struct attr_write *w = ctx;
	struct access_obj obj;
	struct token_info t;
	int r = token_get_in(c, w->id, &t);

	obj = access_of_token(&t, (int)w->attr);
	if (!r)
		r = access_check(w->a, &obj, ACCESS_W);
	return r ? r : write_in(c, w->a, &t, w->attr, w->val, w->len);
}

int token_write(struct store *st, const struct pfs_actor *a, int64_t id,
		enum token_attr attr, const char *val, size_t len)
{
	struct attr_write w = {a, id, attr, val, len};

	if ((unsigned)attr >= TOKEN_NATTR)
		return -EPERM;
	return store_txn(st, write_txn, &w);
}
