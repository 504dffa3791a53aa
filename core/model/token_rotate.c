/* token_rotate.c - rotation as GitLab does it: a token revoked and its
 * successor minted in one transaction; token families, and the revocation
 * of a whole family when a rotated token is rotated again (reuse). */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "patfs/access.h"
#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/rules.h"
#include "patfs/token.h"
#include "store/store_stmt.h"
#include "token_core.h"

/* The successor's expiry from a written value: "1" for the default
 * (policy/rotation_lifetime_days from today), or a date within the
 * lifetime. 0 for the default, 1 for a date, or -EINVAL. */
static int successor_expiry(const struct rules *rules, const char *val,
			    size_t len, int64_t today, int64_t *day)
{
	int b;

	if (!policy_parse_bool(val, len, &b)) {
		if (!b)
			return pfs_refuse(EINVAL, "expected 1 or a date, "
						  "YYYY-MM-DD");
		*day = today + rules->rotation_days;
		return 0;
	}
	len = policy_value_len(val, len);
	if (policy_parse_date(val, len, day))
		return pfs_refuse(EINVAL, "expected 1 or a date, YYYY-MM-DD");
	if (*day <= today || *day > today + rules->max_lifetime_days)
		return pfs_refuse(EINVAL,
				  "a successor expires after today "
				  "and within max_lifetime_days (%d)",
				  rules->max_lifetime_days);
	return 1;
}

/* Revokes token id (active), audited with reason, inside c's transaction. */
static int revoke_one(struct store_conn *c, const struct pfs_actor *a,
		      int64_t id, int64_t now, const char *reason)
{
	char object[OBJECT_MAX];
	struct token_info t;
	int r = token_get_in(c, id, &t);

	if (!r)
		r = token_update(c, SQL_TOKEN_REVOKE, id, now, false, now);
	if (r)
		return r;
	token_object(&t, object);
	r = audit_add(c, a, "token_revoke", object, "0", "1", reason);
	token_changed(c, &t, TOKEN_F_REVOKED);
	return r;
}

/* Revokes every active token of family, inside c's transaction. */
static int revoke_family(struct store_conn *c, const struct pfs_actor *a,
			 int64_t family, int64_t now)
{
	int64_t ids[64];
	int n, r;

	do { /* in batches: a statement is not stepped while rows change */
		struct store_stmt *s = store_sql(c, SQL_TOKEN_FAMILY);
		if (!s)
			return -EIO;
		store_bind_int(s, 1, family);
		for (n = 0; n < 64 && (r = store_step(c, s)) == 1; n++)
			ids[n] = store_col_int(s, 0);
		store_reset(s);
		if (r < 0)
			return r;
		for (int i = 0; i < n; i++) {
			r = revoke_one(c, a, ids[i], now, "token_reuse");
			if (r)
				return r;
		}
	} while (n == 64);
	return 0;
}

/* Inserts t's successor, expiring on day: its id, or -errno. */
static int64_t insert_successor(struct store_conn *c,
				const struct token_info *t, int64_t day,
				int64_t now)
{
	struct store_stmt *s = store_sql(c, SQL_TOKEN_ROTATE);
	int r;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, t->user_id);
	store_bind_text(s, 2, t->name, strlen(t->name));
	store_bind_text(s, 3, t->description, strlen(t->description));
	store_bind_int(s, 4, t->scopes);
	store_bind_int(s, 5, t->impersonation);
	store_bind_int(s, 6, now);
	if (day >= 0)
		store_bind_int(s, 7, day);
	store_bind_int(s, 8, t->id);
	store_bind_int(s, 9, t->family_id);
	if (t->access_level)
		store_bind_int(s, 10, t->access_level);
	store_bind_int(s, 11, store_origin(store_of(c)));
	r = store_exec(c, s);
	if (!r) {
		s = store_sql(c, SQL_USER_ADD_TOKEN);
		if (!s)
			return -EIO;
		store_bind_int(s, 1, t->user_id);
		r = store_exec(c, s);
	}
	return r ? r : store_last_id(c);
}

/* Rotates t (fetched in c's open transaction), which may be rotated: 0
 * with *next set, or -errno. A reuse revokes the family and is kept: it
 * returns -EPERM with *reused set, and the caller commits. */
static int rotate_in(struct store_conn *c, const struct pfs_actor *a,
		     const struct token_info *t, int64_t day, int64_t now,
		     int64_t *next, bool *reused)
{
	const struct cfg *cfg = store_cfg(store_of(c));
	char object[OBJECT_MAX], old[24], new[24];
	int64_t id;
	int r;

	if (t->next_id) { /* rotated already: someone holds an old secret */
		if (!cfg->reuse_detection)
			return pfs_refuse(EPERM, "the token was rotated "
						 "already: its successor is "
						 "the one to rotate");
		r = revoke_family(c, a, t->family_id, now);
		*reused = r == 0;
		return r ? r
			 : pfs_refuse(EPERM,
				      "the token was rotated already: "
				      "its old secret in use again means "
				      "a leak, so every token of its line "
				      "was revoked (reuse_detection)");
	}
	if (!token_active(t, now))
		return pfs_refuse(EPERM, /* as GitLab's 401 */
				  "a %s token is not rotated",
				  t->revoked_at		  ? "revoked"
				  : token_expired(t, now) ? "expired"
				  : t->user_blocked	  ? "blocked user's"
							  : "disabled");
	r = token_update(c, SQL_TOKEN_REVOKE, t->id, now, false, now);
	id = r ? r : insert_successor(c, t, day, now);
	if (id < 0)
		return (int)id;
	token_object(t, object);
	snprintf(old, sizeof(old), "%" PRId64, t->id);
	snprintf(new, sizeof(new), "%" PRId64, id);
	r = audit_add(c, a, "token_rotate", object, old, new, NULL);
	if (r)
		return r;
	token_changed(c, t, TOKEN_F_REVOKED | TOKEN_F_ROTATION);
	store_record(c, STORE_CH_TOKENS, t->user_id, id, 0);
	*next = id;
	return 0;
}

int token_rotate_as(struct store *st, const struct pfs_actor *a, int64_t id,
		    const char *val, size_t len, bool holder, int64_t *next,
		    char *secret, size_t size)
{
	struct store_conn *c = store_conn(st);
	int64_t now = store_now(), day;
	struct access_obj obj;
	struct token_info t;
	bool reused = false;
	struct rules rules;
	int r, slen = 0, dated;

	if (!c)
		return -EIO;
	r = rules_get_in(c, &rules);
	if (r)
		return r;
	dated = successor_expiry(&rules, val, len, policy_day_of(now), &day);
	if (dated < 0)
		return dated;
	r = store_begin(c);
	if (r)
		return r;
	r = token_get_in(c, id, &t);
	obj = access_of_token(&t, TOKEN_ROTATE);
	if (!r && !holder)
		r = access_check(a, &obj, ACCESS_W);
	/* a date as an owner's write of expires_at: never later than now */
	if (!r && dated && !a->admin && t.expires_day >= 0 &&
	    day > t.expires_day)
		r = pfs_refuse(EPERM, "an owner's successor expires no later "
				      "than the token it replaces");
	if (!r)
		r = rotate_in(c, a, &t, day, now, next, &reused);
	if (!r && secret) {
		slen = token_seal_new(c, a, *next, secret, size);
		r = slen < 0 ? slen : 0;
	}
	if (r && !reused) {
		store_rollback(c);
		return r;
	}
	if (reused)
		return store_commit(c) ? -EIO : r;
	r = store_commit(c);
	if (r && secret)
		sodium_memzero(secret, size);
	return r ? r : slen;
}

int token_rotate(struct store *st, const struct pfs_actor *a, int64_t id,
		 const char *val, size_t len, int64_t *next)
{
	int r = token_rotate_as(st, a, id, val, len, false, next, NULL, 0);

	return r < 0 ? r : 0;
}
