/* held.h - the memory that open files hold for their readers: the
 * snapshot each open of a rendered document (tokens.json, expiring.ics,
 * metrics) reads, per uid and in all. */
#ifndef PATFS_HELD_H
#define PATFS_HELD_H

#include <stddef.h>

#include "patfs/pfs.h"

struct held;
struct cfg;

/* A record within cfg's [limits] snapshot_mib_per_uid and
 * snapshot_mib_total, or NULL when out of memory. */
struct held *held_new(const struct cfg *cfg);
void held_free(struct held *h);

/* Takes bytes for an open file of a: 0, or -ENOBUFS when a (not an
 * administrator) would hold more than its share, or anyone but an
 * administrator more than all may (the reason is logged, once a minute
 * per uid). Administrators are counted, never refused. */
int held_take(struct held *h, const struct pfs_actor *a, size_t bytes);

/* Gives back what held_take took for uid. */
void held_give(struct held *h, uint32_t uid, size_t bytes);

#endif
