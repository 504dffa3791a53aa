/* token_attr.c - the attributes of a token, one row each: how its file
 * renders, how a written value is parsed and stored, who may write it, what
 * it follows. Rendering, token_write.c, access.c, the token nodes and the
 * kernel-cache invalidation all read token_attrs[]; docs/design.md gives
 * the recipe for a new attribute. And what follows from a token's row
 * alone: whether it is active, its path, meta.json. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patfs/cfg.h"
#include "patfs/json.h"
#include "patfs/policy.h"
#include "patfs/rules.h"
#include "patfs/token_attr.h"
#include "token_attrInt.h"

/* What a value may depend on besides its own field: every file's mode
 * follows its owner and whether the owner may see it at all. */
#define SEEN (TOKEN_F_OWNER | TOKEN_F_IMPERSONATION)

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

static size_t r_disabled(const struct token_info *t, int64_t now, char *buf,
			 size_t size, int64_t *mtime)
{
	(void)now;
	*mtime = t->disabled_at ? t->disabled_at : t->created_at;
	return fit(snprintf(buf, size, "%d\n", t->disabled ? 1 : 0), size);
}

/* active's mtime: the latest of the events that can have changed it. */
static size_t r_active(const struct token_info *t, int64_t now, char *buf,
		       size_t size, int64_t *mtime)
{
	int64_t m = max64(t->created_at, t->revoked_at);

	m = max64(m, t->user_blocked_at);
	m = max64(m, t->disabled_at);
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
	const char *lv = policy_level_name(t->access_level);

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
		return pfs_refuse(EPERM, "a revocation is final: a revoked "
					 "token is never active again");
	if (b == (e->t->revoked_at != 0))
		return SAME;
	nt->revoked_at = v->i = e->now;
	return 0;
}

/* 1 stops the token, 0 lets it act again; who stopped it is kept, so that
 * an owner cannot undo an administrator's stop. */
static int p_disabled(const struct token_edit *e, const char *val, size_t len,
		      struct token_info *nt, struct token_value *v)
{
	int b, r = policy_parse_bool(val, len, &b), now = e->t->disabled;
	int want;

	if (r)
		return r;
	want = !b	     ? TOKEN_ENABLED
	       : e->a->admin ? TOKEN_OFF_ADMIN
			     : TOKEN_OFF_OWNER;
	if (!b && now == TOKEN_OFF_ADMIN && !e->a->admin)
		return pfs_refuse(EPERM, "an administrator disabled this "
					 "token: only an administrator may "
					 "enable it");
	/* an owner's 1 on a stopped token changes nothing, an admin's on
	 * an owner's stop makes it the admin's */
	if (b && now && (!e->a->admin || now == TOKEN_OFF_ADMIN))
		return SAME;
	if (want == now)
		return SAME;
	nt->disabled = want;
	nt->disabled_at = e->now;
	v->i = want;
	return 0;
}

static int p_description(const struct token_edit *e, const char *val,
			 size_t len, struct token_info *nt,
			 struct token_value *v)
{
	len = policy_value_len(val, len);
	if (len > PFS_NAME_MAX || (len && !policy_printable_utf8(val, len)))
		return pfs_refuse(EINVAL,
				  "a description is up to %d bytes of "
				  "UTF-8 without control characters",
				  PFS_NAME_MAX);
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
	char day[11], last[11];
	int r;

	len = policy_value_len(val, len);
	if (len == 0) {
		if (e->rules->require_expiry &&
		    (t->user_kind != USER_SERVICE_ACCOUNT ||
		     e->rules->sa_require_expiry))
			return pfs_refuse(EINVAL, "a token must expire "
						  "(require_expiry): write "
						  "a date");
	} else {
		r = policy_parse_date(val, len, &d);
		if (r)
			return r;
		policy_format_date(d, day);
		policy_format_date(today + e->rules->max_lifetime_days, last);
		if (d <= today)
			return pfs_refuse(EINVAL, "%s is not after today", day);
		if (d > today + e->rules->max_lifetime_days)
			return pfs_refuse(EINVAL,
					  "%s is past the longest lifetime "
					  "allowed (max_lifetime_days %d: %s "
					  "at the latest)",
					  day, e->rules->max_lifetime_days,
					  last);
	}
	if (!e->a->admin && t->expires_day >= 0 &&
	    (d < 0 || d > t->expires_day)) {
		policy_format_date(t->expires_day, day);
		return pfs_refuse(EPERM,
				  "an owner may only shorten a token's "
				  "life: %s at the latest",
				  day);
	}
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
	if (scopes & ~e->rules->allowed_scopes)
		return pfs_refuse(EINVAL, "policy/allowed_scopes does not "
					  "allow every scope written");
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
	int level = 0, r = policy_parse_level(val, len, &level);

	if (r)
		return r;
	if (level == e->t->access_level)
		return SAME;
	nt->access_level = level;
	v->i = level;
	return 0;
}

/* The table ------------------------------------------------------------- */

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
    [TOKEN_ACTIVE] = {"active", 0,
		      SEEN | TOKEN_F_REVOKED | TOKEN_F_EXPIRES |
			  TOKEN_F_DISABLED,
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
    /* a kind of its own: rendered from the sources' table */
    [TOKEN_USED_FROM] = {"used_from", TOKEN_A_SOURCES, SEEN | TOKEN_F_SOURCES,
			 r_empty, NULL},
    [TOKEN_DISABLED] = {"disabled", WL,
			SEEN | TOKEN_F_DISABLED | TOKEN_F_REVOKED, r_disabled,
			STORE(p_disabled, SQL_TOKEN_SET_DISABLED,
			      "token_set_disabled", TOKEN_F_DISABLED)},
};

bool token_attr_exists(const struct token_info *t, int attr)
{
	if (attr < 0 || attr >= TOKEN_NATTR)
		return false;
	return !(token_attrs[attr].flags & TOKEN_A_RESOURCE) ||
	       t->resource_id != 0;
}

size_t token_render(const struct token_info *t, enum token_attr attr,
		    int64_t now, char *buf, size_t size, int64_t *mtime)
{
	if ((unsigned)attr >= TOKEN_NATTR || !token_attr_exists(t, attr))
		return r_empty(t, now, buf, size, mtime);
	return token_attrs[attr].render(t, now, buf, size, mtime);
}

bool token_expired(const struct token_info *t, int64_t now)
{
	return t->expires_day >= 0 && t->expires_day <= policy_day_of(now);
}

bool token_active(const struct token_info *t, int64_t now)
{
	return !t->revoked_at && !token_expired(t, now) && !t->user_blocked &&
	       !t->disabled;
}

bool token_unsealed(const struct token_info *t)
{
	return !t->sealed_at && !t->revoked_at;
}

bool token_in_resource(const struct token_info *t)
{
	return t->resource_id && !t->resource_removed_at;
}

void token_path(const struct token_info *t, char *out, size_t size)
{
	if (token_in_resource(t))
		snprintf(out, size, "%s/%s/tokens/%" PRId64,
			 policy_resource_dir_names[t->resource_kind],
			 t->resource_name, t->id);
	else
		snprintf(out, size, "users/%s/tokens/%" PRId64, t->user_name,
			 t->id);
}

void token_object(const struct token_info *t, char out[OBJECT_MAX])
{
	token_path(t, out, OBJECT_MAX);
}

/* A Unix time as the files show it, or null when never (t 0), with
 * GitLab's milliseconds where an import kept them (ms). */
static void json_time(struct json *j, const char *key, int64_t t, int ms)
{
	char when[25];

	policy_format_time(t, when);
	if (ms > 0 && ms < 1000) /* ...:48Z -> ...:48.151Z */
		snprintf(when + 19, sizeof(when) - 19, ".%03dZ", ms);
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
	json_time(j, "created_at", t->created_at, t->created_ms);
	policy_format_date(t->expires_day, day);
	json_str(j, "expires_at", t->expires_day < 0 ? NULL : day, strlen(day));
	json_time(j, "last_used_at", t->last_used_at, t->last_used_ms);
	json_str(j, "last_used_from",
		 t->last_used_from[0] ? t->last_used_from : NULL,
		 strlen(t->last_used_from));
	json_bool(j, "revoked", t->revoked_at != 0);
	json_bool(j, "disabled", t->disabled != 0);
	json_bool(j, "active", token_active(t, now));
	json_int(j, "user_id", t->user_id);
	json_str(j, "username", t->user_name, strlen(t->user_name));
	json_str(j, "kind", policy_user_kind_names[t->user_kind],
		 strlen(policy_user_kind_names[t->user_kind]));
	if (t->resource_id) {
		const char *lv = policy_level_name(t->access_level);
		json_int(j, "access_level", t->access_level);
		json_str(j, "access_level_name", lv, lv ? strlen(lv) : 0);
		json_str(j, "resource_type",
			 policy_resource_kind_names[t->resource_kind],
			 strlen(policy_resource_kind_names[t->resource_kind]));
		json_int(j, "resource_id", t->resource_id);
		json_str(j, "resource_path", t->resource_path,
			 strlen(t->resource_path));
	}
	token_object(t, object);
	json_str(j, "path", object, strlen(object));
	json_id(j, "previous_personal_access_token_id", t->previous_id);
	json_int(j, "family_id", t->family_id); /* its first rotation's id */
	json_id(j, "gitlab_id", t->gitlab_id);	/* imported: GitLab's id */
	json_id(j, "gitlab_user_id", t->user_gitlab_id); /* and its owner's */
	json_end(j, '}');
}

/* The latest time one of t's values changed. */
int64_t token_meta_mtime(const struct token_info *t, int64_t now)
{
	static const enum token_attr parts[] = {
	    TOKEN_NAME,		 TOKEN_DESCRIPTION, TOKEN_SCOPES,
	    TOKEN_IMPERSONATION, TOKEN_EXPIRES_AT,  TOKEN_LAST_USED_AT,
	    TOKEN_REVOKED,	 TOKEN_ACTIVE,	    TOKEN_DISABLED};
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

	*mtime = token_meta_mtime(t, now);
	json_init(&j, buf, size);
	token_json(&j, t, now);
	n = json_finish(&j);
	if (n < 0 || (size_t)n + 1 >= size)
		return 0;
	buf[n] = '\n';
	buf[n + 1] = '\0';
	return (size_t)n + 1;
}
