/* token_prune.c - retention: revoked and expired tokens inactive for
 * longer than [tokens] retain_inactive_days leave the tree and the tokens
 * table (the audit trail keeps them, and says so: token_prune), as GitLab
 * deletes inactive project and group tokens. A successor's previous link to
 * a pruned token goes with it; its family stays one family. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "patfs/policy.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "store/store_stmt.h"
#include "token_core.h"

#define BATCH 200 /* tokens a transaction prunes: the lock is not held long */

struct prune {
	const struct pfs_actor *a;
	int64_t before, day; /* inactive since: revoked by, expired by */
	struct token_info batch[BATCH];
	int n;
	int pruned;
};

static int collect(void *ctx, const struct token_info *t)
{
	struct prune *p = ctx;

	p->batch[p->n++] = *t;
	return p->n == BATCH;
}

/* Runs statement id with ?1 = v, in c's transaction: 0 or -errno. */
static int run(struct store_conn *c, enum store_sql id, int64_t v)
{
	struct store_stmt *s = store_sql(c, id);

	if (!s)
		return -EIO;
	store_bind_int(s, 1, v);
	return store_exec(c, s);
}

static int prune_one(struct store_conn *c, const struct pfs_actor *a,
		     const struct token_info *t)
{
	char object[OBJECT_MAX];
	int r = run(c, SQL_TOKEN_UNLINK_PREVIOUS, t->id);

	if (!r)
		r = run(c, SQL_SOURCE_DELETE_TOKEN, t->id);
	if (!r)
		r = run(c, SQL_TOKEN_DELETE, t->id);
	if (!r)
		r = run(c, SQL_USER_SUB_TOKEN, t->user_id);
	if (!r && t->resource_id)
		r = run(c, SQL_RES_SUB_TOKEN, t->resource_id);
	token_object(t, object);
	if (!r)
		r = audit_add(c, a, "token_prune", object,
			      t->revoked_at ? "revoked" : "expired", NULL,
			      "retain_inactive_days");
	if (!r) {
		token_changed(c, t, TOKEN_F_ALL);
		store_record(c, STORE_CH_TOKENS, t->user_id, t->id, 0);
		if (t->resource_id)
			store_record(c, STORE_CH_RESOURCE, t->resource_id, 0,
				     0);
	}
	return r;
}

static int prune_txn(struct store_conn *c, void *ctx)
{
	struct prune *p = ctx;
	struct store_stmt *s = store_sql(c, SQL_TOKEN_LIST_PRUNE);
	int r;

	if (!s)
		return -EIO;
	p->n = 0;
	store_bind_int(s, 1, p->before);
	store_bind_int(s, 2, p->day);
	store_bind_int(s, 3, 0);
	r = token_list_rows(c, s, collect, p);
	for (int i = 0; !r && i < p->n; i++)
		r = prune_one(c, p->a, &p->batch[i]);
	return r ? r : p->n ? 0 : STORE_UNCHANGED;
}

int token_prune(struct store *st, const struct pfs_actor *a, int64_t now,
		int days, int *count)
{
	struct prune *p; /* BATCH rows: not on the stack */
	int r;

	*count = 0;
	if (days <= 0)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->a = a;
	p->before = now - (int64_t)days * 86400;
	p->day = policy_day_of(now) - days;
	do {
		r = store_txn(st, prune_txn, p);
		if (!r)
			*count += p->n;
	} while (!r && p->n == BATCH);
	free(p);
	return r;
}
