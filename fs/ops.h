/* ops.h - the FUSE low-level operations of patfs. */
#ifndef PATFS_OPS_H
#define PATFS_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct auth;
struct cache;
struct cfg;
struct store;

/* What every handler reaches through fuse_req_userdata(). */
struct pfs {
	struct store *st;
	struct auth *auth;
	const struct cfg *cfg;
	struct cache *cache;	 /* the invalidation thread, or NULL */
	struct notify *notify;	 /* the expiry notices' thread, or NULL */
	time_t started;		 /* mtime of the fixed directories */
	bool log_statements;	 /* -o debug_statements */
	int lock_fd;		 /* holds the store's lock (store_lock) */
	pthread_mutex_t lock;	 /* protects held */
	struct ofile *held;	 /* open files holding a taken secret */
	struct pages *pages;	 /* what the page cache holds of documents */
	struct metrics *metrics; /* request counters (metrics.h) */
};

extern const struct fuse_lowlevel_ops ops_table;

#endif
