/* stats.h - counts over the store, for monitoring: tokens by kind and
 * state, tokens about to expire, and what the audit trail recorded since a
 * point. Each count is one statement over the store as of its start. */
#ifndef PATFS_STATS_H
#define PATFS_STATS_H

#include <stdint.h>

struct store;

/* The kind of a token, by its owner (an impersonation token first). */
enum stats_kind {
	STATS_PERSONAL,
	STATS_IMPERSONATION,
	STATS_SERVICE_ACCOUNT,
	STATS_PROJECT,
	STATS_GROUP,
	STATS_NKINDS
};
extern const char *const stats_kind_names[STATS_NKINDS];

/* Its state: revoked first, then expired, then its owner blocked, then
 * disabled. */
enum stats_state {
	STATS_ACTIVE,
	STATS_REVOKED,
	STATS_EXPIRED,
	STATS_BLOCKED,
	STATS_DISABLED,
	STATS_NSTATES
};
extern const char *const stats_state_names[STATS_NSTATES];

#define STATS_NWINDOWS 3
extern const int stats_windows[STATS_NWINDOWS]; /* 7, 30, 60 days */

struct stats_tokens {
	int64_t n[STATS_NKINDS][STATS_NSTATES];
	/* active tokens expiring after today and within stats_windows[i] days,
	 * as expiring/within/ lists them */
	int64_t expiring[STATS_NWINDOWS];
	/* active tokens not used in stats_unused_days[i] days, as unused/
	 * lists them */
	int64_t unused[STATS_NWINDOWS];
};
extern const int stats_unused_days[STATS_NWINDOWS]; /* 30, 90, 365 */

/* The active tokens that break the policies now (noncompliant/): 0 or
 * -errno. */
int stats_noncompliant(struct store *st, int64_t now, int64_t *out);

/* Counts every token as of now: 0 or -errno. */
int stats_tokens(struct store *st, int64_t now, struct stats_tokens *out);

/* The id of the latest audit record (0: none), to count from. */
int stats_audit_top(struct store *st, int64_t *id);

/* Calls fn for each audit action recorded after record id, with how many:
 * 0 or -errno. */
int stats_actions_since(struct store *st, int64_t id,
			void (*fn)(void *ctx, const char *action, int64_t n),
			void *ctx);

#endif
