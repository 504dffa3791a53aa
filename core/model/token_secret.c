/* token_secret.c - the read-once secret: taking it, presetting it, the
 * tokens whose secret was lost, finding a token by its digest, and
 * last_used_at. */
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

/* Seals token id of t with the digest of secret; audits action. */
static int seal(struct store_conn *c, const struct pfs_actor *a,
		const struct token_info *t, const char *secret, size_t len,
		const char *action)
{
	unsigned char digest[SECRET_DIGEST_LEN];
	char object[OBJECT_MAX];
	struct store_stmt *s = store_sql(c, SQL_TOKEN_SEAL);
	int r;

	if (!s)
		return -EIO;
	store_digest(store_of(c), secret, len, digest);
	store_bind_int(s, 1, t->id);
	store_bind_blob(s, 2, digest, sizeof(digest));
	store_bind_int(s, 3, store_now());
	r = store_exec(c, s);
	sodium_memzero(digest, sizeof(digest));
	if (r)
		return r;
	if (store_changed(c) != 1)
		return -ENOENT;
	token_object(t, object);
	r = audit_add(c, a, action, object, NULL, NULL, NULL);
	if (r)
		return r;
	token_changed(c, t, TOKEN_F_SEALED);
	return 0;
}

/* Begins a transaction on the unsealed token id, which a may read (or, unless
 * reading, set): 0 or -errno (the transaction is then rolled back). */
static int begin_unsealed(struct store_conn *c, const struct pfs_actor *a,
			  int64_t id, bool reading, struct token_info *t)
{
	struct access_obj obj;
	int r = store_begin(c);

	if (r)
		return r;
	r = token_get_in(c, id, t);
	obj = access_of_token(t, TOKEN_SECRET);
	if (!r)
		r = access_see(a, &obj);
	if (!r && !token_unsealed(t))
		r = -ENOENT;
	if (!r)
		r = access_check(a, &obj, reading ? ACCESS_R : ACCESS_W);
	if (r)
		store_rollback(c);
	return r;
}

int token_seal_new(struct store_conn *c, const struct pfs_actor *a, int64_t id,
		   char *buf, size_t size)
{
	struct token_info t;
	int len, r = token_get_in(c, id, &t);

	if (r)
		return r;
	len = secret_generate(store_cfg(store_of(c))->prefix, buf, size);
	r = len < 0 ? len
		    : seal(c, a, &t, buf, (size_t)len, "token_secret_taken");
	if (r)
		sodium_memzero(buf, size);
	return r ? r : len;
}

int token_take_secret(struct store *st, const struct pfs_actor *a, int64_t id,
		      char *buf, size_t size)
{
	struct store_conn *c = store_conn(st);
	struct token_info t;
	int len, r;

	if (!c)
		return -EIO;
	r = begin_unsealed(c, a, id, true, &t);
	if (r)
		return r;
	len = secret_generate(store_cfg(st)->prefix, buf, size);
	r = len < 0 ? len
		    : seal(c, a, &t, buf, (size_t)len, "token_secret_taken");
	if (!r)
		r = store_commit(c);
	else
		store_rollback(c);
	if (r) {
		sodium_memzero(buf, size);
		return r;
	}
	return len;
}

int token_set_secret(struct store *st, const struct pfs_actor *a, int64_t id,
		     const char *val, size_t len)
{
	struct store_conn *c = store_conn(st);
	struct token_info t;
	int r;

	if (!c)
		return -EIO;
	len = policy_value_len(val, len);
	r = secret_check_format(store_cfg(st)->prefix, val, len);
	if (r)
		return r;
	r = begin_unsealed(c, a, id, false, &t);
	if (r)
		return r;
	r = seal(c, a, &t, val, len, "token_secret_set");
	if (!r)
		return store_commit(c);
	store_rollback(c);
	return r;
}

int token_revoke_lost(struct store *st, const struct pfs_actor *a, int *count)
{
	struct store_conn *c = store_conn(st);
	struct token_info t;
	char object[OBJECT_MAX];
	int64_t now = store_now(), minter = 0, after = 0;
	struct store_stmt *s;
	int r;

	*count = 0;
	if (!c)
		return -EIO;
	r = store_begin(c);
	if (r)
		return r;
	for (;;) {
		s = store_sql(c, SQL_TOKEN_LOST);
		if (!s) {
			r = -EIO;
			break;
		}
		store_bind_int(s, 1, after);
		r = store_step(c, s);
		if (r == 1) {
			after = store_col_int(s, 0);
			minter = token_col_int(s, 1, 0);
		}
		store_reset(s);
		if (r <= 0)
			break;
		/* another daemon of the store may still hand it out */
		r = minter ? store_origin_alive(c, minter) : 0;
		if (r < 0)
			break;
		if (r)
			continue;
		r = token_get_in(c, after, &t); /* the whole token: its path */
		if (!r)
			r = token_update(c, SQL_TOKEN_REVOKE, t.id, now, false,
					 now);
		if (r)
			break;
		token_object(&t, object);
		r = audit_add(c, a, "token_revoke", object, "0", "1",
			      "secret_lost");
		if (r)
			break;
		token_changed(c, &t, TOKEN_F_REVOKED);
		(*count)++;
	}
	if (r == 0)
		return store_commit(c);
	store_rollback(c);
	*count = 0;
	return r;
}

int token_find_digest(struct store *st,
		      const unsigned char d[SECRET_DIGEST_LEN],
		      struct token_info *out)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_TOKEN_BY_DIGEST) : NULL;

	if (!s)
		return -EIO;
	store_bind_blob(s, 1, d, SECRET_DIGEST_LEN);
	return store_one(c, s, token_row, out);
}

int token_stamp_used(struct store *st, const struct token_info *t, int64_t now,
		     int interval, bool wait)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s;
	int r;

	if (!c)
		return -EIO;
	if (t->last_used_at && now - t->last_used_at < interval)
		return 0; /* recent enough: no write at all */
	r = wait ? store_begin(c) : store_begin_nowait(c);
	if (r)
		return r;
	s = store_sql(c, SQL_TOKEN_TOUCH);
	if (!s) {
		store_rollback(c);
		return -EIO;
	}
	store_bind_int(s, 1, t->id);
	store_bind_int(s, 2, now);
	store_bind_int(s, 3, now - interval);
	r = store_exec(c, s);
	if (r) {
		store_rollback(c);
		return r;
	}
	if (store_changed(c) == 1)
		token_changed(c, t, TOKEN_F_LAST_USED);
	return store_commit(c);
}
