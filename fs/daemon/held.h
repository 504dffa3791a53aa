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

/* How many documents one uid (not an administrator) may have rendered at
 * once: a render costs what the document holds, and a uid's loops of
 * opens must leave the CPU and the request threads to everyone else. */
#define HELD_RENDERS 4

/* Begins a render for a: 0, or -EAGAIN while a (not an administrator)
 * has HELD_RENDERS under way (logged once a minute per uid). Each 0 needs
 * one held_render_end. */
int held_render_begin(struct held *h, const struct pfs_actor *a);
void held_render_end(struct held *h, const struct pfs_actor *a);

#endif
