/* store_txn.c - transactions: store_txn (begin, the body, commit or roll
 * back), the commit, and what a transaction touched: recorded by
 * store_record, told at commit to the change hook (this process's cache)
 * and written to the changes table, which store_changes_since reads back
 * for the caches of other processes. */
#include <errno.h>
#include <stdbool.h>

#include "storeInt.h"

/* Rows of the changes table kept for readers in other processes: a reader
 * that falls further behind hears STORE_CH_ALL. */
#define CHANGES_KEEP 8192

/* Records ch in the changes table, for other processes. 0 or -errno. */
static int change_record(struct store_conn *c, const struct store_change *ch)
{
	struct store_stmt *s = store_sql(c, SQL_CHANGE_INSERT);

	if (!s)
		return -EIO;
	store_bind_int(s, 1, c->st->origin);
	store_bind_int(s, 2, (int)ch->kind);
	store_bind_int(s, 3, ch->user_id);
	store_bind_int(s, 4, ch->token_id);
	store_bind_int(s, 5, ch->day);
	return store_exec(c, s);
}

/* Records what the open transaction touched and drops rows no reader needs
 * any more: the last change's number (0 when none), or -errno. */
static int64_t changes_record(struct store_conn *c)
{
	struct store_change all = {.kind = STORE_CH_ALL};
	struct store_stmt *s;
	int64_t seq;
	int r = 0;

	if (c->overflow)
		r = change_record(c, &all);
	for (int i = 0; !c->overflow && !r && i < c->nchanges; i++)
		r = change_record(c, &c->changes[i]);
	if (r || (!c->overflow && !c->nchanges))
		return r;
	seq = store_last_id(c);
	s = store_sql(c, SQL_CHANGE_PRUNE);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, seq - CHANGES_KEEP);
	r = store_exec(c, s);
	return r ? r : seq;
}

int store_changes_since(struct store *st, int64_t *seq, store_change_fn *fn,
			void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_change ch, all = {.kind = STORE_CH_ALL};
	int64_t last = *seq;
	struct store_stmt *s;
	bool first = true;
	int r;

	if (!c)
		return -EIO;
	r = st->ops->poll(c);
	if (r < 0)
		return r;
	if (r == 0 && *seq >= 0)
		return 0; /* nobody committed since */
	s = store_sql(c, *seq < 0 ? SQL_CHANGE_LAST : SQL_CHANGE_SINCE);
	if (!s)
		return -EIO;
	if (*seq < 0) {
		r = store_step(c, s);
		if (r == 1)
			*seq = store_col_int(s, 0);
		store_reset(s);
		return r < 0 ? r : 0;
	}
	store_bind_int(s, 1, last);
	while ((r = store_step(c, s)) == 1) {
		int64_t at = store_col_int(s, 0);
		if (first && at > last + 1) {
			atomic_fetch_add(&st->generation, 1);
			fn(ctx, &all); /* pruned before we read them */
		}
		first = false;
		last = at;
		if (store_col_int(s, 1) == st->origin)
			continue; /* the hook told this process already */
		ch.kind = (enum store_change_kind)store_col_int(s, 2);
		ch.user_id = store_col_int(s, 3);
		ch.token_id = store_col_int(s, 4);
		ch.day = store_col_int(s, 5);
		ch.fields = STORE_FIELDS_ALL; /* only the committer knew */
		ch.resource = true;
		atomic_fetch_add(&st->generation, 1);
		fn(ctx, &ch);
	}
	store_reset(s);
	*seq = last;
	return r;
}

int store_commit(struct store_conn *c)
{
	struct store *st = c->st;
	int64_t seq = changes_record(c);
	int r = seq < 0 ? (int)seq : st->ops->commit(c);

	if (r) {
		store_rollback(c);
		return r;
	}
	if (c->nchanges || c->overflow)
		atomic_fetch_add(&st->generation, 1);
	if (st->hook && c->overflow) {
		struct store_change all = {.kind = STORE_CH_ALL};
		st->hook(st->hook_ctx, &all);
	} else if (st->hook) {
		for (int i = 0; i < c->nchanges; i++)
			st->hook(st->hook_ctx, &c->changes[i]);
	}
	c->nchanges = 0;
	return 0;
}

void store_record_change(struct store_conn *c, const struct store_change *ch)
{
	for (int i = 0; i < c->nchanges; i++) {
		struct store_change *o = &c->changes[i];
		if (o->kind == ch->kind && o->user_id == ch->user_id &&
		    o->token_id == ch->token_id && o->day == ch->day) {
			o->fields |= ch->fields;
			o->resource |= ch->resource;
			return;
		}
	}
	if (c->nchanges == STORE_MAX_CHANGES) {
		c->overflow = true;
		return;
	}
	c->changes[c->nchanges++] = *ch;
}

void store_record(struct store_conn *c, enum store_change_kind kind,
		  int64_t user_id, int64_t token_id, int64_t day)
{
	store_record_change(c, &(struct store_change){.kind = kind,
						      .user_id = user_id,
						      .token_id = token_id,
						      .day = day});
}

int store_txn_out(struct store *st, int refused, store_txn_fn *fn,
		  struct store_edit *e, int64_t *out)
{
	int r = refused ? refused : store_txn(st, fn, e);

	if (!r)
		*out = e->out;
	return r;
}

int store_read(struct store *st, store_txn_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	int r;

	if (!c)
		return -EIO;
	r = st->ops->read_begin(c);
	if (r)
		return r;
	r = fn(c, ctx);
	st->ops->rollback(c); /* nothing was written */
	return r;
}

uint64_t store_generation(struct store *st)
{
	return atomic_load(&st->generation);
}

int store_txn(struct store *st, store_txn_fn *fn, void *ctx)
{
	struct store_conn *c = store_conn(st);
	int r;

	if (!c)
		return -EIO;
	r = store_begin(c);
	if (r)
		return r;
	r = fn(c, ctx);
	if (r) {
		store_rollback(c);
		return r == STORE_UNCHANGED ? 0 : r;
	}
	return store_commit(c);
}
