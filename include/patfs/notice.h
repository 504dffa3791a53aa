/* notice.h - expiry notices, as GitLab sends its e-mails: for each active
 * token reaching a threshold ([notify] thresholds_days, 60, 30 and 7 by
 * default) before its expiry, and on the day itself; each once, recorded in
 * the store (and audited as token_notice), so that a restart repeats none
 * and a daemon that was down catches up once, with the true days left. */
#ifndef PATFS_NOTICE_H
#define PATFS_NOTICE_H

#include <stdbool.h>
#include <stdint.h>

#include "patfs/pfs.h"
#include "patfs/token.h"

struct store;

/* How late a notice of the day itself may still go out: a token that
 * expired longer ago than this gets none (an old store is no flood). */
#define NOTICE_EXPIRED_DAYS 30

struct notice {
	struct token_info t;
	bool expired;	   /* the day itself, or after it */
	int64_t days_left; /* to the expiry date: 0 or less when expired */
	int threshold;	   /* the one it is sent for (0: the day) */
	char mark[48];	   /* t's notified once it is sent */
};

/* Calls fn for each notice due at now, in expiry order (after notice
 * after, when not NULL: a run goes on in pages), until fn returns nonzero.
 * Several thresholds passed at once (a daemon that was down) make one
 * notice, for the nearest. 0 or -errno. */
typedef int notice_fn(void *ctx, const struct notice *n);
int notice_due(struct store *st, int64_t now, const struct notice *after,
	       notice_fn *fn, void *ctx);

/* How many of one owner's notices may fail in a run before the rest of
 * that owner's wait for the next run: one owner's failing tokens cannot
 * hold back another's notices, nor make a run last. */
#define NOTICE_OWNER_FAILURES 3

/* Records n as sent, audited as token_notice by a: 0, or -EALREADY when
 * another sweep recorded it first, or -errno. */
int notice_record(struct store *st, const struct pfs_actor *a,
		  const struct notice *n);

#endif
