/* store_changes.c - what a transaction touched: recorded by store_touch,
 * told at commit to the change hook (this process's cache) and written to
 * the changes table, which store_changes_since reads back for the caches of
 * other processes. */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "storeInt.h"

/* Rows of the changes table kept for readers in other processes: a reader
 * that falls further behind hears STORE_CH_ALL. */
#define CHANGES_KEEP 8192

/* Records ch in the changes table, for other processes. 0 or -errno. */
static int change_record(struct store_conn *c, const struct store_change *ch)
{
	sqlite3_stmt *s = store_sql(c, SQL_CHANGE_INSERT);

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, (int64_t)getpid());
	sqlite3_bind_int(s, 2, (int)ch->kind);
	sqlite3_bind_int64(s, 3, ch->user_id);
	sqlite3_bind_int64(s, 4, ch->token_id);
	sqlite3_bind_int64(s, 5, ch->day);
	return store_exec(c, s);
}

/* Records what the open transaction touched and drops rows no reader needs
 * any more. 0 or -errno. */
static int changes_record(struct store_conn *c)
{
	struct store_change all = {.kind = STORE_CH_ALL};
	sqlite3_stmt *s;
	int r = 0;

	if (c->overflow)
		r = change_record(c, &all);
	for (int i = 0; !c->overflow && !r && i < c->nchanges; i++)
		r = change_record(c, &c->changes[i]);
	if (r || (!c->overflow && !c->nchanges))
		return r;
	s = store_sql(c, SQL_CHANGE_PRUNE);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1,
			   sqlite3_last_insert_rowid(c->db) - CHANGES_KEEP);
	return store_exec(c, s);
}

/* PRAGMA data_version of c: it changes whenever another connection commits.
 * 0 on failure. */
static int64_t data_version(struct store_conn *c)
{
	sqlite3_stmt *s = store_sql(c, SQL_DATA_VERSION);
	int64_t v = 0;

	if (s && store_step(c, s) == 1)
		v = sqlite3_column_int64(s, 0);
	if (s)
		sqlite3_reset(s);
	return v;
}

int store_changes_since(struct store *st, int64_t *seq, store_change_fn *fn,
			void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_change ch, all = {.kind = STORE_CH_ALL};
	int64_t version, last = *seq, me = (int64_t)getpid();
	sqlite3_stmt *s;
	bool first = true;
	int r;

	if (!c)
		return -EIO;
	version = data_version(c);
	if (version && version == c->data_version && *seq >= 0)
		return 0; /* nobody committed since */
	c->data_version = version;
	s = store_sql(c, *seq < 0 ? SQL_CHANGE_LAST : SQL_CHANGE_SINCE);
	if (!s)
		return -EIO;
	if (*seq < 0) {
		r = store_step(c, s);
		if (r == 1)
			*seq = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return r < 0 ? r : 0;
	}
	sqlite3_bind_int64(s, 1, last);
	while ((r = store_step(c, s)) == 1) {
		int64_t at = sqlite3_column_int64(s, 0);
		if (first && at > last + 1)
			fn(ctx, &all); /* pruned before we read them */
		first = false;
		last = at;
		if (sqlite3_column_int64(s, 1) == me)
			continue; /* the hook told this process already */
		ch.kind = (enum store_change_kind)sqlite3_column_int(s, 2);
		ch.user_id = sqlite3_column_int64(s, 3);
		ch.token_id = sqlite3_column_int64(s, 4);
		ch.day = sqlite3_column_int64(s, 5);
		fn(ctx, &ch);
	}
	sqlite3_reset(s);
	*seq = last;
	return r;
}

int store_commit(struct store_conn *c)
{
	sqlite3_stmt *s = store_sql(c, SQL_COMMIT);
	struct store *st = c->st;
	int r = s ? changes_record(c) : -EIO;

	if (!r)
		r = store_exec(c, s);
	if (r) {
		store_rollback(c);
		return r;
	}
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

void store_touch(struct store_conn *c, enum store_change_kind kind,
		 int64_t user_id, int64_t token_id, int64_t day)
{
	if (c->nchanges == STORE_MAX_CHANGES) {
		c->overflow = true;
		return;
	}
	c->changes[c->nchanges++] = (struct store_change){
	    .kind = kind, .user_id = user_id, .token_id = token_id, .day = day};
}
