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

/* Reads the unsealed token id in c's transaction into t, when a may read
 * its secret (or, unless reading, set it): 0 or -errno. */
static int get_unsealed(struct store_conn *c, const struct pfs_actor *a,
			int64_t id, bool reading, struct token_info *t)
{
	struct access_obj obj;
	int r = token_get_in(c, id, t);

	obj = access_of_token(t, TOKEN_SECRET);
	if (!r)
		r = access_see(a, &obj);
	if (!r && !token_unsealed(t))
		r = -ENOENT;
	if (!r)
		r = access_check(a, &obj, reading ? ACCESS_R : ACCESS_W);
	return r;
}

/* A secret taken (buf: where it is generated, size bytes; out: its length)
 * or set (val, len), as its transaction takes it. */
struct secret_op {
	const struct pfs_actor *a;
	int64_t id;
	char *buf;
	size_t size;
	const char *val;
	size_t len;
	int out;
};

static int take_txn(struct store_conn *c, void *ctx)
{
	struct secret_op *op = ctx;
	struct token_info t;
	int r = get_unsealed(c, op->a, op->id, true, &t);

	if (r)
		return r;
	op->out =
	    secret_generate(store_cfg(store_of(c))->prefix, op->buf, op->size);
	return op->out < 0 ? op->out
			   : seal(c, op->a, &t, op->buf, (size_t)op->out,
				  "token_secret_taken");
}

static int set_txn(struct store_conn *c, void *ctx)
{
	const struct secret_op *op = ctx;
	struct token_info t;
	int r = get_unsealed(c, op->a, op->id, false, &t);

	return r ? r : seal(c, op->a, &t, op->val, op->len, "token_secret_set");
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
	struct secret_op op = {.a = a, .id = id, .buf = buf, .size = size};
	int r = store_txn(st, take_txn, &op);

	if (r) {
		sodium_memzero(buf, size);
		return r;
	}
	return op.out;
}

int token_set_secret(struct store *st, const struct pfs_actor *a, int64_t id,
		     const char *val, size_t len)
{
	struct secret_op op = {.a = a, .id = id, .val = val};
	int r;

	op.len = policy_value_len(val, len);
	r = cfg_check_secret(store_cfg(st), val, op.len);
	return r ? r : store_txn(st, set_txn, &op);
}

/* Revokes the unsealed token id as lost, in c's transaction: 0 or -errno. */
static int revoke_lost(struct store_conn *c, const struct pfs_actor *a,
		       int64_t id)
{
	char object[OBJECT_MAX];
	struct token_info t;
	int64_t now = store_now();
	int r = token_get_in(c, id, &t); /* the whole token: its path */

	if (!r)
		r = token_update(c, SQL_TOKEN_REVOKE, t.id, now, false, now);
	if (r)
		return r;
	token_object(&t, object);
	r = audit_add(c, a, "token_revoke", object, "0", "1", "secret_lost");
	if (!r)
		token_changed(c, &t, TOKEN_F_REVOKED);
	return r;
}

/* The sweep, as its transaction takes it. */
struct lost {
	const struct pfs_actor *a;
	int count;
};

static int lost_txn(struct store_conn *c, void *ctx)
{
	struct lost *l = ctx;
	int64_t minter = 0, after = 0;
	struct store_stmt *s;
	int r;

	for (;;) {
		s = store_sql(c, SQL_TOKEN_LOST);
		if (!s)
			return -EIO;
		store_bind_int(s, 1, after);
		r = store_step(c, s);
		if (r == 1) {
			after = store_col_int(s, 0);
			minter = token_col_int(s, 1, 0);
		}
		store_reset(s);
		if (r <= 0)
			return r;
		/* another daemon of the store may still hand it out */
		r = minter ? store_origin_alive(c, minter) : 0;
		if (r < 0)
			return r;
		if (r)
			continue;
		r = revoke_lost(c, l->a, after);
		if (r)
			return r;
		l->count++;
	}
}

int token_revoke_lost(struct store *st, const struct pfs_actor *a, int *count)
{
	struct lost l = {a, 0};
	int r = store_txn(st, lost_txn, &l);

	*count = r ? 0 : l.count;
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
