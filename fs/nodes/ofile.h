/* ofile.h - open files that hold state: a taken secret, a secret about to
 * be set, the answer of identify. fi->fh points to one; every other open
 * file has none. */
#ifndef PATFS_OFILE_H
#define PATFS_OFILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"

struct pfs;

enum ofile_kind {
	OF_TAKE,
	OF_SET,
	OF_IDENTIFY,
	OF_TEXT,
	OF_ROTATE,
	OF_SCRATCH, /* a tool's temp file (scratch.h): token_id is its id */
	OF_SCAN	    /* scan and revoke: the text written so far */
};

struct ofile {
	enum ofile_kind kind;
	int refs; /* open + requests in flight, under pfs.lock: a reply may
		     still be reading from it when release arrives */
	pthread_mutex_t lock; /* OF_TAKE: one read takes the secret */
	char *secret; /* OF_TAKE: sodium_malloc'd once taken, wiped when freed;
			 OF_ROTATE: the successor's, until read (rpos) */
	size_t len;
	int64_t token_id;
	struct ofile *next; /* pfs.held, under pfs.lock */
	/* OF_IDENTIFY: the answer to the last write, read from rpos on */
	char answer[PFS_NAME_MAX + 64];
	size_t alen, rpos;
	/* OF_TEXT: what the file held when it was opened (malloc'd), and
	 * when read through the page cache, the inode (pages.h), else 0 */
	char *text;
	size_t tlen;
	uint64_t pages_ino;
	uint32_t text_uid; /* whose held.h share text counts in */
	/* OF_TEXT of credentials.*: what it reads instead of text */
	struct inventory_snap *snap;
	/* OF_SCAN: the text (sodium_malloc'd: it may hold secrets), and what
	 * a read answers, made again after each write */
	char *scan;
	size_t scan_len, scan_cap;
	char *found;
	size_t found_len;
	bool scanned;
};

/* A new open file of kind with one reference, or NULL. */
struct ofile *ofile_new(enum ofile_kind kind);

/* Lists of among the open files holding a taken secret (ofile_held). */
void ofile_hold_secret(struct pfs *p, struct ofile *of);

/* True while an open file holds the taken secret of token_id: its file
 * "token" still stats (fstat after open). */
bool ofile_held(struct pfs *p, int64_t token_id);

/* Takes a reference on the open file behind fh for one request, or NULL. */
struct ofile *ofile_get(struct pfs *p, uint64_t fh);

/* Drops a reference; the last one wipes and frees the open file (NULL is
 * fine). */
void ofile_put(struct pfs *p, struct ofile *of);

#endif
