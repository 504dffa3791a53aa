/* budget.h - what one unprivileged uid may add to the store, and the free
 * space kept for containment (store-internal: audit.c asks it). */
#ifndef PATFS_BUDGET_H
#define PATFS_BUDGET_H

#include <stddef.h>

#include "patfs/pfs.h"

struct store;
struct budget;

/* Makes st's budget, from its configuration ([limits]): 0 or -ENOMEM. */
int budget_new(struct store *st);
void budget_free(struct store *st);

/* May actor a make the change action, whose audit line has bytes bytes?
 * Administrators are never limited by rate or size, and revocations and
 * blocks (containment) by no limit at all. Otherwise: -EAGAIN past
 * [limits] changes_per_minute for a's uid, -EDQUOT past audit_kib_per_day
 * of audit lines for it today, and -ENOSPC, for administrators too, while
 * the store's filesystem has less free than the floor. The reason is
 * logged (once a minute per uid). 0 when it may; the change is then
 * counted. */
int budget_admit(struct store *st, const struct pfs_actor *a,
		 const char *action, size_t bytes);

#endif
