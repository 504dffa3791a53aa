/* token_import.c - many sealed tokens in one transaction, for migrations
 * and benchmarks. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "patfs/access.h"
#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/secret.h"
#include "patfs/token.h"
#include "store/store_stmt.h"
#include "token_core.h"

/* Checks seed v before it is imported: 0 or -EINVAL. */
static int seed_check(const struct cfg *cfg, const struct token_seed *v)
{
	size_t len = strlen(v->name);
	int r = policy_check_token_name(v->name, len);

	if (r)
		return r;
	if (!v->scopes || v->scopes >> POLICY_NSCOPES ||
	    (v->impersonation != 0 && v->impersonation != 1) ||
	    v->created_at <= 0 || v->last_used_at < 0 || v->revoked_at < 0 ||
	    v->expires_day < -1)
		return -EINVAL;
	return cfg_check_secret(cfg, v->secret, v->secret_len);
}

/* Inserts seed v of owner (its owner fields filled) and audits it, setting
 * owner->id: 0 or -errno. */
static int import_one(struct store_conn *c, const struct pfs_actor *a,
		      const struct token_seed *v, struct token_info *owner)
{
	unsigned char digest[SECRET_DIGEST_LEN];
	char object[OBJECT_MAX];
	int64_t other;
	struct store_stmt *s;
	int r;

	if (!v->revoked_at) {
		r = token_find_active_in(c, v->user_id, v->name,
					 strlen(v->name), &other);
		if (r != -ENOENT)
			return r == 0 ? -EEXIST : r;
	}
	s = store_sql(c, SQL_TOKEN_IMPORT);
	if (!s)
		return -EIO;
	store_digest(store_of(c), v->secret, v->secret_len, digest);
	store_bind_int(s, 1, v->user_id);
	store_bind_str(s, 2, v->name);
	store_bind_int(s, 3, v->scopes);
	store_bind_int(s, 4, v->impersonation);
	store_bind_int(s, 5, v->created_at);
	if (v->expires_day >= 0)
		store_bind_int(s, 6, v->expires_day);
	if (v->last_used_at)
		store_bind_int(s, 7, v->last_used_at);
	if (v->revoked_at)
		store_bind_int(s, 8, v->revoked_at);
	store_bind_blob(s, 9, digest, sizeof(digest));
	r = store_exec(c, s);
	sodium_memzero(digest, sizeof(digest));
	if (r)
		return r;
	owner->id = store_last_id(c);
	s = store_sql(c, SQL_USER_ADD_TOKEN);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, v->user_id);
	r = store_exec(c, s);
	if (r)
		return r;
	token_object(owner, object);
	return audit_add(c, a, "token_import", object, NULL, v->name, NULL);
}

/* An import, as its transaction takes it; first: the first id made. */
struct import {
	const struct pfs_actor *a;
	const struct token_seed *v;
	size_t n;
	int64_t first;
};

static int import_txn(struct store_conn *c, void *ctx)
{
	struct import *im = ctx;
	struct token_info owner = {.user_id = -1};
	int r;

	for (size_t i = 0; i < im->n; i++) {
		r = im->v[i].user_id == owner.user_id
			? 0
			: token_owner_of(c, im->v[i].user_id, &owner);
		if (!r)
			r = import_one(c, im->a, &im->v[i], &owner);
		if (r)
			return r;
		if (i == 0)
			im->first = owner.id;
	}
	store_record(c, STORE_CH_ALL, 0, 0, 0);
	return 0;
}

int token_import(struct store *st, const struct pfs_actor *a,
		 const struct token_seed *v, size_t n, int64_t *first_id)
{
	struct import im = {a, v, n, 0};
	int r;

	if (!a->admin)
		return -EPERM;
	for (size_t i = 0; i < n; i++) {
		r = seed_check(store_cfg(st), &v[i]);
		if (r)
			return r;
	}
	r = store_txn(st, import_txn, &im);
	if (!r)
		*first_id = im.first;
	return r;
}
