/* audit.h - the audit trail, read as JSON lines (audit.log). */
#ifndef PATFS_AUDIT_H
#define PATFS_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct store;

/* Size in bytes of the whole trail as JSON lines, and the time of its last
 * record (0 when empty). Returns 0 or -errno. */
int audit_stat(struct store *st, uint64_t *size, int64_t *mtime);

/* Copies up to size bytes of the trail starting at byte off into buf. Returns
 * the number of bytes copied (0 at the end) or -errno. */
ssize_t audit_read(struct store *st, uint64_t off, char *buf, size_t size);

#endif
