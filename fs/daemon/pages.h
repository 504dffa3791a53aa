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
 * size).
 *
 * The kernel holds a document's size too, and a reply that would set it is
 * thrown away when any notification about the inode reaches the kernel
 * while the request is on its way: a page reader could be left with the
 * size of the snapshot before, and its reads cut short at it. So every
 * notification about a recorded document goes through here: while opens
 * read its pages a change only marks it stale, and the last close tells
 * the kernel; an open of new content tells it under the same lock, so no
 * notification overtakes a page reader's request for the size. */
#ifndef PATFS_PAGES_H
#define PATFS_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pages;

/* Takes back what the kernel holds of inode ino: its attributes, and its
 * pages too when pages is true (see cache.c). */
typedef void pages_tell_fn(void *ctx, uint64_t ino, bool pages);

/* A record for at most max documents (beyond it, documents without open
 * readers are forgotten, and read again on their next open). NULL when out
 * of memory. */
struct pages *pages_new(size_t max);
void pages_free(struct pages *pg);

/* Who tells the kernel (until then, nobody is told: there is no mount). */
void pages_attach(struct pages *pg, pages_tell_fn *tell, void *ctx);

/* Inode ino changed: tells the kernel now (attributes and pages), or, while
 * opens of a document read its pages, when the last of them closes
 * (attributes). The kernel may wait on the pages of an inode, so it is
 * never called from a request's handler. */
void pages_changed(struct pages *pg, uint64_t ino);

/* An open of document ino whose content is text[len], modified at mtime:
 * true when it may read through the page cache, with *keep set when the
 * pages already held are its content (else the kernel must drop them, and
 * its attributes are dropped here); false when it must read directly. Each
 * true needs one pages_close. */
bool pages_open(struct pages *pg, uint64_t ino, const char *text, size_t len,
		int64_t mtime, bool *keep);
void pages_close(struct pages *pg, uint64_t ino);

/* The same, for a document of len bytes whose digest (crypto_generichash,
 * PAGES_SUM_BYTES long, no key) is sum: one not held in memory. */
#define PAGES_SUM_BYTES 16
bool pages_open_sum(struct pages *pg, uint64_t ino,
		    const unsigned char sum[PAGES_SUM_BYTES], uint64_t len,
		    int64_t mtime, bool *keep);

/* While opens of ino read through the page cache: true, with their
 * snapshot's size and mtime. */
bool pages_held(struct pages *pg, uint64_t ino, uint64_t *size, int64_t *mtime);

#endif
