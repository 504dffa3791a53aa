/* auditInt.h - writing the audit trail, inside a store transaction. */
#ifndef PATFS_AUDIT_INT_H
#define PATFS_AUDIT_INT_H

#include <stddef.h>

#include "patfs/pfs.h"
#include "store_stmt.h"

/* Appends one record to the trail in c's open transaction. old, new and reason
 * may be NULL. Returns 0 or -errno; the caller then rolls back. */
int audit_add(struct store_conn *c, const struct pfs_actor *a,
	      const char *action, const char *object, const char *old,
	      const char *new, const char *reason);

#endif
