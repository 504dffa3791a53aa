/* pages.h - which snapshot of a rendered document the kernel's page cache
 * holds, so that documents too long for one page (a user's tokens.json)
 * can still be read through it.
 *
 * A document is rendered once per open, and each open reads its own
 * snapshot. The page cache is shared by the opens of a file: if two opens
 * of two snapshots filled it, a reader could get one page of each. So at
 * any time the pages of a document hold one snapshot, the one recorded
 * here: an open of the same content keeps them, an open of new content
 * drops them when no open of the old content is left, and otherwise
 * reads directly. While opens read through the page cache, the document's
 * size and mtime are their snapshot's (the kernel ends page reads at its
 * size). Every change of a document's content also drops its pages
 * (cache.c), but an open of the old content may read them in again: hence
 * this record. */
#ifndef PATFS_PAGES_H
#define PATFS_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pages;

/* A record for at most max documents (beyond it, documents without open
 * readers are forgotten, and read again on their next open). NULL when out
 * of memory. */
struct pages *pages_new(size_t max);
void pages_free(struct pages *pg);

/* An open of document ino whose content is text[len], modified at mtime:
 * true when it may read through the page cache, with *keep set when the
 * pages already held are its content (else the kernel must drop them);
 * false when it must read directly. Each true needs one pages_close. */
bool pages_open(struct pages *pg, uint64_t ino, const char *text, size_t len,
		int64_t mtime, bool *keep);
void pages_close(struct pages *pg, uint64_t ino);

/* While opens of ino read through the page cache: true, with their
 * snapshot's size and mtime. */
bool pages_held(struct pages *pg, uint64_t ino, uint64_t *size, int64_t *mtime);

#endif
