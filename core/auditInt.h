/* auditInt.h - writing the audit trail, inside a store transaction. */
#ifndef PATFS_AUDIT_INT_H
#define PATFS_AUDIT_INT_H

#include <stddef.h>

#include "patfs/pfs.h"
#include "storeInt.h"

/* Appends one record to the trail in c's open transaction. old, new and reason
 * may be NULL. Returns 0 or -errno; the caller then rolls back. */
int audit_add(struct store_conn *c, const struct pfs_actor *a,
	      const char *action, const char *object, const char *old,
	      const char *new, const char *reason);

/* Appends s (len bytes) to buf as a JSON string, quotes included, escaping
 * what JSON requires and replacing invalid UTF-8 with U+FFFD. Returns the new
 * length of buf, or size when it did not fit. */
size_t audit_json_str(char *buf, size_t at, size_t size, const char *s,
		      size_t len);

#endif
