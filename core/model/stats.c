/* stats.c - counts over the store for monitoring (patfs/stats.h). */
#include <errno.h>

#include "patfs/policy.h"
#include "patfs/rules.h"
#include "patfs/stats.h"
#include "store/store_stmt.h"

const char *const stats_kind_names[STATS_NKINDS] = {
    "personal", "impersonation", "service_account", "project", "group"};
const char *const stats_state_names[STATS_NSTATES] = {
    "active", "revoked", "expired", "blocked", "disabled"};
const int stats_windows[STATS_NWINDOWS] = {7, 30, 60};
const int stats_unused_days[STATS_NWINDOWS] = {30, 90, 365};

int stats_tokens(struct store *st, int64_t now, struct stats_tokens *out)
{
	struct store_conn *c = store_conn(st);
	int64_t today = policy_day_of(now);
	struct store_stmt *s;
	int r;

	*out = (struct stats_tokens){0};
	s = c ? store_sql(c, SQL_STATS_TOKENS) : NULL;
	if (!s)
		return -EIO;
	store_bind_int(s, 1, today);
	while ((r = store_step(c, s)) == 1) {
		int k = store_col_int(s, 0), state = store_col_int(s, 1);

		if (k >= 0 && k < STATS_NKINDS && state >= 0 &&
		    state < STATS_NSTATES)
			out->n[k][state] = store_col_int(s, 2);
	}
	store_reset(s);
	if (r < 0)
		return r;
	s = store_sql(c, SQL_STATS_EXPIRING);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, today);
	for (int i = 0; i < STATS_NWINDOWS; i++)
		store_bind_int(s, 2 + i, stats_windows[i]);
	r = store_step(c, s);
	for (int i = 0; r == 1 && i < STATS_NWINDOWS; i++)
		out->expiring[i] = store_col_int(s, i);
	store_reset(s);
	if (r < 0)
		return r;
	s = store_sql(c, SQL_STATS_UNUSED);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, now);
	for (int i = 0; i < STATS_NWINDOWS; i++)
		store_bind_int(s, 2 + i, stats_unused_days[i]);
	store_bind_int(s, 5, today);
	r = store_step(c, s);
	for (int i = 0; r == 1 && i < STATS_NWINDOWS; i++)
		out->unused[i] = store_col_int(s, i);
	store_reset(s);
	return r < 0 ? r : 0;
}

int stats_audit_top(struct store *st, int64_t *id)
{
	return store_count(st, SQL_STATS_AUDIT_TOP, id);
}

int stats_actions_since(struct store *st, int64_t id,
			void (*fn)(void *ctx, const char *action, int64_t n),
			void *ctx)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_STATS_ACTIONS) : NULL;
	int r;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, id);
	while ((r = store_step(c, s)) == 1)
		fn(ctx, store_col_text(s, 0), store_col_int(s, 1));
	store_reset(s);
	return r < 0 ? r : 0;
}

int stats_noncompliant(struct store *st, int64_t now, int64_t *out)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_STATS_NONCOMPLIANT) : NULL;
	struct rules r;
	int e = rules_get(st, &r);

	if (e)
		return e;
	if (!s)
		return -EIO;
	store_bind_int(s, 1, policy_day_of(now));
	store_bind_int(s, 2, r.max_lifetime_days);
	store_bind_int(s, 3, r.require_expiry);
	store_bind_int(s, 4, r.sa_require_expiry);
	store_bind_int(
	    s, 5, (int64_t)(~r.allowed_scopes & ((1u << POLICY_NSCOPES) - 1)));
	*out = 0;
	return store_one_count(c, s, out);
}
