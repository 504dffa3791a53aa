/* cache.h - keeps the kernel's caches of patfs true.
 *
 * patfs lets the kernel keep attributes, entries, attribute contents and
 * some directory listings for a long time (see ops.c), and takes them back
 * when the store changes: the store's change hook queues what each commit
 * touched, and a thread of its own sends the invalidations to the kernel.
 * The same thread polls the store for changes other processes commit
 * (through core's C API), at most a poll interval late. */
#ifndef PATFS_CACHE_H
#define PATFS_CACHE_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "ino.h"
#include "patfs/store.h"

struct cache;
struct pages;

/* How often changes by other processes are looked for, in milliseconds. */
#define CACHE_POLL_MS 100

/* Names, through inval, the inodes that change ch may have made stale
 * (node_stale: each kind knows its own). */
typedef void cache_stale_fn(const struct store_change *ch, ino_inval_fn *inval,
			    void *ctx);

/* Starts the invalidation thread for session se over st, and hooks it to
 * the store; stale says what each change makes stale. Inodes are told of
 * through pages (pages.h), which tells the kernel through c. On success
 * *out is owned by the caller (cache_stop). Returns 0 or -errno. */
int cache_start(struct cache **out, struct fuse_session *se, struct store *st,
		struct pages *pages, cache_stale_fn *stale);

/* Unhooks from the store, stops the thread and frees c (NULL is fine). */
void cache_stop(struct cache *c);

/* Queues the invalidations of what ch touched, as a commit does: for
 * changes the store does not hear of (a taken secret's file going away when
 * its open file is released). */
void cache_queue(struct cache *c, const struct store_change *ch);

/* Waits until the invalidations that this thread's commits queued have been
 * sent, so the reply that follows is never overtaken by a stale cache. Waits
 * at most a second. Cheap when this thread committed nothing new. */
void cache_settle(struct cache *c);

/* The invalidations sent to the kernel since start: of inodes (attributes,
 * contents, listings), and of names. 0 when c is NULL. */
void cache_counts(const struct cache *c, uint64_t *inodes, uint64_t *entries);

/* The generation of inodes that come and go with the store (NODE_GEN: users/,
 * expiring/, projects/, groups/ and all below), for fuse_entry_param. When
 * the daemon cannot know what changed (STORE_CH_ALL) it moves on to a new
 * generation and drops those names: the kernel then takes every inode it
 * still holds for them as stale and starts afresh, page cache and all. The
 * directories at the top take part too: a name in use while it is dropped
 * stays hashed below its parent, and the parent's next lookup would move
 * that old subtree back into place if the parent's inode were the same.
 * 0 when c is NULL. */
uint64_t cache_generation(const struct cache *c);

#endif
