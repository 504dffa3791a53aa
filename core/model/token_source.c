/* token_source.c - where each token was used from: the 16 latest sources
 * of its checks (a daemon's host, the checking process's uid and program,
 * and the client it checked for), each with when it was first and last
 * seen and how often. A source a token never had is audited
 * (token_new_source). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "patfs/policy.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "store/store_stmt.h"
#include "token_core.h"

/* Stamps last_used_at of t at now unless it was within interval seconds,
 * in c's open transaction: 0 or -errno. */
static int touch_in(struct store_conn *c, const struct token_info *t,
		    int64_t now, int interval)
{
	struct store_stmt *s = store_sql(c, SQL_TOKEN_TOUCH);
	int r;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, t->id);
	store_bind_int(s, 2, now);
	store_bind_int(s, 3, now - interval);
	r = store_exec(c, s);
	if (!r && store_changed(c) == 1)
		token_changed(c, t, TOKEN_F_LAST_USED);
	return r;
}

/* Stores one use of t from source at now (count uses, one write): 0 with
 * *fresh set when t never had it, or -errno. In c's open transaction. */
static int record_in(struct store_conn *c, const struct pfs_actor *a,
		     const struct token_info *t, const char *source,
		     int64_t now, int count, bool *fresh)
{
	struct store_stmt *s = store_sql(c, SQL_SOURCE_FIND);
	char object[OBJECT_MAX];
	int64_t id = 0;
	int r;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, t->id);
	store_bind_text(s, 2, source, strlen(source));
	r = store_one_int(c, s, &id);
	if (r && r != -ENOENT)
		return r;
	*fresh = r == -ENOENT;
	s = store_sql(c, *fresh ? SQL_SOURCE_INSERT : SQL_SOURCE_BUMP);
	if (!s)
		return -EIO;
	if (*fresh) {
		store_bind_int(s, 1, t->id);
		store_bind_text(s, 2, source, strlen(source));
		store_bind_int(s, 3, now);
		store_bind_int(s, 4, count);
	} else {
		store_bind_int(s, 1, id);
		store_bind_int(s, 2, now);
		store_bind_int(s, 3, count);
	}
	r = store_exec(c, s);
	if (!r && *fresh) {
		s = store_sql(c, SQL_SOURCE_PRUNE);
		r = s ? 0 : -EIO;
		if (s) {
			store_bind_int(s, 1, t->id);
			r = store_exec(c, s);
		}
		token_object(t, object);
		if (!r)
			r = audit_add(c, a, "token_new_source", object, NULL,
				      source, NULL);
	}
	if (!r && strcmp(source, t->last_used_from) != 0) {
		s = store_sql(c, SQL_TOKEN_SET_FROM);
		r = s ? 0 : -EIO;
		if (s) {
			store_bind_int(s, 1, t->id);
			store_bind_text(s, 2, source, strlen(source));
			r = store_exec(c, s);
		}
	}
	if (!r)
		token_changed(c, t, TOKEN_F_SOURCES);
	return r;
}

int token_source_record(struct store *st, const struct pfs_actor *a,
			const struct token_info *t, const char *source,
			int64_t now, int count, int interval, bool *fresh)
{
	struct store_conn *c = store_conn(st);
	int r;

	if (!c)
		return -EIO;
	r = store_begin_nowait(c);
	if (r)
		return r;
	r = record_in(c, a, t, source, now, count, fresh);
	if (!r && !(t->last_used_at && now - t->last_used_at < interval))
		r = touch_in(c, t, now, interval);
	if (r) {
		store_rollback(c);
		return r;
	}
	return store_commit(c);
}

int token_sources_render(struct store *st, int64_t id, char *buf, size_t size,
			 int64_t *mtime)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_SOURCE_LIST) : NULL;
	size_t w = 0;
	int r;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, id);
	while ((r = store_step(c, s)) == 1) {
		char first[21], last[21];
		int64_t at = store_col_int(s, 2);
		int n;

		policy_format_time(store_col_int(s, 1), first);
		policy_format_time(at, last);
		if (at > *mtime)
			*mtime = at;
		n = snprintf(buf + w, size - w, "%s %s %" PRId64 " %s\n", last,
			     first, store_col_int(s, 3), store_col_text(s, 0));
		if (n < 0 || (size_t)n >= size - w) {
			r = -EOVERFLOW;
			break;
		}
		w += (size_t)n;
	}
	store_reset(s);
	return r < 0 ? r : (int)w;
}

int token_sources_add(struct store_conn *c, int64_t id,
		      const char *const *sources, int n, int64_t at)
{
	struct store_stmt *s;
	int r = 0;

	for (int i = 0; !r && i < n; i++) {
		int64_t found = 0;
		s = store_sql(c, SQL_SOURCE_FIND);
		if (!s)
			return -EIO;
		store_bind_int(s, 1, id);
		store_bind_text(s, 2, sources[i], strlen(sources[i]));
		r = store_one_int(c, s, &found);
		if (r != -ENOENT)
			continue; /* there already, or the store failed */
		s = store_sql(c, SQL_SOURCE_INSERT);
		if (!s)
			return -EIO;
		store_bind_int(s, 1, id);
		store_bind_text(s, 2, sources[i], strlen(sources[i]));
		store_bind_int(s, 3, at);
		store_bind_int(s, 4, 0);
		r = store_exec(c, s);
	}
	s = !r && n ? store_sql(c, SQL_SOURCE_PRUNE) : NULL;
	if (s) {
		store_bind_int(s, 1, id);
		r = store_exec(c, s);
	}
	return r;
}
