/* notice.c - which expiry notices are due, and recording them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patfs/cfg.h"
#include "patfs/notice.h"
#include "patfs/policy.h"
#include "patfs/token.h"
#include "store/store_stmt.h"
#include "token_core.h"

/* Whether the notified list s ("60,30,0") holds threshold. */
static bool has(const char *s, int threshold)
{
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s)
			return false;
		if (v == threshold)
			return true;
		s = *end == ',' ? end + 1 : end;
	}
	return false;
}

/* mark: s and the thresholds in add[n] (descending, 0 last), as a list. */
static void merge(const char *s, const int *add, int n, char *mark, size_t size)
{
	int all[10], k = 0, x;
	size_t w = 0;

	for (int i = 0; i < n; i++)
		all[k++] = add[i];
	while (*s && k < 10) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s)
			break;
		bool dup = false;
		for (int i = 0; i < k; i++)
			dup |= all[i] == v;
		if (!dup)
			all[k++] = (int)v;
		s = *end == ',' ? end + 1 : end;
	}
	for (int i = 1; i < k; i++)
		for (int j = i; j > 0 && all[j] > all[j - 1]; j--)
			x = all[j], all[j] = all[j - 1], all[j - 1] = x;
	mark[0] = '\0';
	for (int i = 0; i < k && w + 12 < size; i++)
		w += (size_t)snprintf(mark + w, size - w, i ? ",%d" : "%d",
				      all[i]);
}

struct sweep {
	const struct cfg *cfg;
	int64_t today;
	notice_fn *fn;
	void *ctx;
	int stop;
};

static int consider(void *ctx, const struct token_info *t)
{
	struct sweep *sw = ctx;
	const struct cfg *cfg = sw->cfg;
	struct notice n = {.t = *t, .days_left = t->expires_day - sw->today};
	int due[9], k = 0;

	if (t->user_blocked || t->revoked_at)
		return 0;
	if (n.days_left <= 0) {
		if (has(t->notified, 0))
			return 0;
		n.expired = true;
		for (int i = 0; i < cfg->nthresholds; i++)
			due[k++] = cfg->thresholds[i];
		due[k++] = 0;
	} else {
		for (int i = 0; i < cfg->nthresholds; i++)
			if (n.days_left <= cfg->thresholds[i] &&
			    !has(t->notified, cfg->thresholds[i]))
				due[k++] = cfg->thresholds[i];
		if (!k)
			return 0;
	}
	n.threshold = due[k - 1]; /* the nearest */
	merge(t->notified, due, k, n.mark, sizeof(n.mark));
	return sw->stop = sw->fn(sw->ctx, &n);
}

int notice_due(struct store *st, int64_t now, const struct notice *after,
	       notice_fn *fn, void *ctx)
{
	const struct cfg *cfg = store_cfg(st);
	struct sweep sw = {
	    .cfg = cfg, .today = policy_day_of(now), .fn = fn, .ctx = ctx};
	int64_t furthest = cfg->nthresholds ? cfg->thresholds[0] : 0;
	/* unrevoked tokens expiring from NOTICE_EXPIRED_DAYS ago on */
	int64_t day = sw.today - NOTICE_EXPIRED_DAYS - 1, id = INT64_MAX;

	if (after && after->t.expires_day > day) {
		day = after->t.expires_day;
		id = after->t.id;
	}
	return token_list_window(st, day, id, sw.today + furthest, consider,
				 &sw);
}

/* A notice sent, as its transaction records it. */
struct sent {
	const struct pfs_actor *a;
	const struct notice *n;
};

static int record_txn(struct store_conn *c, void *ctx)
{
	const struct sent *x = ctx;
	const struct notice *n = x->n;
	char object[OBJECT_MAX], what[16];
	struct token_info t;
	struct store_stmt *s;
	int r = token_get_in(c, n->t.id, &t);

	if (!r && (has(t.notified, n->threshold) ||
		   t.expires_day != n->t.expires_day))
		r = -EALREADY; /* another sweep, or a new expiry date */
	if (r)
		return r;
	s = store_sql(c, SQL_TOKEN_SET_NOTIFIED);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, t.id);
	store_bind_text(s, 2, n->mark, strlen(n->mark));
	store_bind_int(s, 3, store_now());
	r = store_exec(c, s);
	token_object(&t, object);
	if (n->expired)
		snprintf(what, sizeof(what), "expired");
	else
		snprintf(what, sizeof(what), "%d", n->threshold);
	if (!r)
		r = audit_add(c, x->a, "token_notice", object,
			      t.notified[0] ? t.notified : NULL, what, NULL);
	if (!r)
		token_changed(c, &t, TOKEN_F_NOTIFIED);
	return r;
}

int notice_record(struct store *st, const struct pfs_actor *a,
		  const struct notice *n)
{
	struct sent x = {a, n};

	return store_txn(st, record_txn, &x);
}
