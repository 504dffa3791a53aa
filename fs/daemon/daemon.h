/* daemon.h - the daemon's context: the store, the checker, the threads
 * that serve beside the requests, and what open files hold. Every request
 * handler reaches it through fuse_req_userdata(); main.c builds it. */
#ifndef PATFS_DAEMON_H
#define PATFS_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct auth;
struct cache;
struct held;
struct cfg;
struct store;
struct why;
struct scratch;

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
	struct held *snapshots;	 /* bytes open documents hold (held.h) */
	struct metrics *metrics; /* request counters (metrics.h) */
	struct why *why;	 /* each uid's latest refusals (why.h) */
	struct scratch *scratch; /* tools' temp files (scratch.h) */
	struct inventory *inventory; /* credentials.* (inventory.h) */
	bool log_refusals;	     /* -o debug: each refusal is logged */
};

#endif
