/* inventory.h - credentials.csv and credentials.json: the whole inventory,
 * rendered a row at a time into an unlinked temporary file (in $TMPDIR, or
 * /var/tmp), never whole in memory. Administrators see the same document:
 * one snapshot per format is shared by all their opens while the store's
 * generation and the day stay the same, and rendered again on the next
 * stat or open after either moves. Anyone else's is rendered for each
 * stat and open. */
#ifndef PATFS_INVENTORY_H
#define PATFS_INVENTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/pages.h"
#include "patfs/pfs.h"

struct inventory;
struct store;

/* One rendered document: read it with pread on fd. */
struct inventory_snap {
	int fd;
	uint64_t len;
	int64_t mtime;
	unsigned char sum[PAGES_SUM_BYTES]; /* for pages_open_sum */
	bool shared;			    /* the administrators' */
	int refs;			    /* under the inventory's lock */
	uint64_t generation;		    /* the store's, when rendered */
	int64_t day;
};

/* NULL when out of memory. */
struct inventory *inventory_new(struct store *st);
void inventory_free(struct inventory *inv);

/* The document of format (enum token_inventory_format) as a sees it now:
 * 0 with *out referenced (inventory_put), or -errno. */
int inventory_get(struct inventory *inv, const struct pfs_actor *a, int format,
		  struct inventory_snap **out);
void inventory_put(struct inventory *inv, struct inventory_snap *s);

#endif
