/* cache.c - the invalidation thread: store changes in, kernel notifications
 * out. Handlers never notify the kernel themselves (a notification can wait
 * for a lock that the request being handled holds); they queue, and wait
 * for the thread with cache_settle() before replying. The one exception is
 * pages.c's dropping of a document's attributes at open and last close,
 * which waits for nothing. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "ino.h"
#include "pages.h"
#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/token.h"
#include "patfs/user.h"

/* Users created by other processes whose names wait to be dropped; beyond
 * this many, the names thread drops users/ whole. */
#define CACHE_NAMES 1024

struct cache {
	struct fuse_session *se;
	struct store *st;
	struct pages *pages; /* through which documents' inodes are told */
	pthread_t thread;
	pthread_mutex_t lock; /* protects everything below */
	pthread_cond_t work;  /* queue not empty, or stop */
	pthread_cond_t done;  /* sent advanced */
	struct store_change *queue;
	size_t len, cap;
	uint64_t queued; /* tickets handed out: changes ever queued */
	uint64_t sent;	 /* tickets whose invalidations were sent */
	bool all; /* a change could not be queued: invalidate everything */
	int64_t names[CACHE_NAMES]; /* users created elsewhere (names_run) */
	size_t nnames;
	bool names_all; /* more than CACHE_NAMES: drop users/ whole */
	pthread_cond_t names_work; /* names not empty, or stop */
	pthread_t names_thread;
	bool stop;
	int64_t seq; /* last change of another process seen (thread only) */
	int64_t day; /* the UTC day the thread last saw (thread only) */
	/* while the store cannot say what changed (thread only): since when
	 * (CLOCK_MONOTONIC seconds, 0: it can), and whether every cache was
	 * dropped for it */
	double blind_since;
	bool blind_dropped;
	atomic_uint_fast64_t generation; /* see cache_generation() */
	cache_stale_fn *stale;		 /* the kinds' (node_stale) */
	atomic_uint_fast64_t inodes_sent, entries_sent; /* cache_counts() */
};

/* Days that passed unseen beyond which the clock is said to have jumped. */
#define MAX_DAYS_SKIPPED 31

/* The ticket of this thread's latest queued change, and the latest one it
 * saw sent (cache_settle). */
static __thread uint64_t my_ticket;
static __thread uint64_t my_settled;

/* pages_tell_fn: the one place inodes are told of. */
static void tell(void *ctx, uint64_t ino, bool pages)
{
	struct cache *c = ctx;

	atomic_fetch_add(&c->inodes_sent, 1);
	/* -ENOENT: the kernel does not hold it; nothing to do */
	fuse_lowlevel_notify_inval_inode(c->se, ino, pages ? 0 : -1, 0);
}

static void inval(void *ctx, struct ino n)
{
	struct cache *c = ctx;

	pages_changed(c->pages, ino_make(n.kind, n.sub, n.id));
}

static void inval_name(struct cache *c, fuse_ino_t parent, const char *name)
{
	atomic_fetch_add(&c->entries_sent, 1);
	fuse_lowlevel_notify_inval_entry(c->se, parent, name, strlen(name));
}

/* Takes back what a change of fields of token t made stale. */
static void token_changed(struct cache *c, const struct token_info *t,
			  uint32_t fields)
{
	struct store_change ch = {.kind = STORE_CH_TOKEN,
				  .user_id = t->user_id,
				  .token_id = t->id,
				  .fields = fields,
				  .resource = t->resource_id != 0};

	c->stale(&ch, inval, c);
}

/* A token of a user who changed: its owner did. */
static int owner_changed(void *ctx, const struct token_info *t)
{
	token_changed(ctx, t, TOKEN_F_OWNER);
	return 0;
}

/* A token whose expiry day began: its active changed. */
static int day_passed(void *ctx, const struct token_info *t)
{
	token_changed(ctx, t, TOKEN_F_EXPIRES);
	return 0;
}

/* Sends the invalidations of what ch touched: each kind names its inodes
 * that ch made stale. Runs on the thread. */
static void apply(struct cache *c, const struct store_change *ch)
{
	if (ch->kind == STORE_CH_ALL) {
		/* new lookups find the inodes the kernel holds stale (another
		 * generation), so no page of theirs is read again */
		atomic_fetch_add(&c->generation, 1);
		inval(c, (struct ino){INO_USERS, 0, 0});
		inval_name(c, FUSE_ROOT_ID, "users");
		inval_name(c, FUSE_ROOT_ID, "expiring");
		inval_name(c, FUSE_ROOT_ID, "projects");
		inval_name(c, FUSE_ROOT_ID, "groups");
		return;
	}
	c->stale(ch, inval, c);
	if (ch->kind == STORE_CH_USER)
		token_list_user(c->st, ch->user_id, 0, owner_changed, c);
}

/* The kernel keeps a user's name until told: when another process creates
 * a user, whatever the kernel holds under its name goes, so that a name
 * removed and created again elsewhere leads to the new user. (A name
 * removed for good needs nothing: its inode answers ENOENT, and mkdir(2)
 * looks a name up again before creating it.) The names thread sends these,
 * not this one: the kernel takes the directory's lock to drop a name, and
 * a mkdir in users/ holds that lock while it waits for this thread. */
static void *names_run(void *arg)
{
	struct cache *c = arg;
	struct user_info u;
	int64_t id;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		if (c->names_all) {
			c->names_all = false;
			c->nnames = 0;
			pthread_mutex_unlock(&c->lock);
			inval_name(c, FUSE_ROOT_ID, "users");
			pthread_mutex_lock(&c->lock);
			continue;
		}
		if (!c->nnames) {
			pthread_cond_wait(&c->names_work, &c->lock);
			continue;
		}
		id = c->names[--c->nnames];
		pthread_mutex_unlock(&c->lock);
		if (!user_get(c->st, id, &u))
			inval_name(c, ino_make(INO_USERS, 0, 0), u.name);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	store_release_thread(c->st);
	return NULL;
}

/* Another process's change. */
static void apply_cb(void *ctx, const struct store_change *ch)
{
	struct cache *c = ctx;

	apply(c, ch);
	if (ch->kind != STORE_CH_USERS || !ch->user_id)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->nnames < CACHE_NAMES)
		c->names[c->nnames++] = ch->user_id;
	else
		c->names_all = true;
	pthread_cond_signal(&c->names_work);
	pthread_mutex_unlock(&c->lock);
}

/* At midnight UTC the tokens expiring that day stop being active: their
 * `active` (and its mtime) change without any commit. */
static void new_day(struct cache *c)
{
	struct store_change all = {.kind = STORE_CH_ALL};
	int64_t today = policy_day_of(time(NULL));

	if (today == c->day)
		return;
	if (today < c->day || today - c->day > MAX_DAYS_SKIPPED)
		apply(c, &all); /* the clock jumped */
	else
		for (int64_t d = c->day + 1; d <= today; d++)
			token_list_expiring(c->st, d, 0, day_passed, c);
	c->day = today;
}

void cache_counts(const struct cache *c, uint64_t *inodes, uint64_t *entries)
{
	*inodes = c ? atomic_load(&c->inodes_sent) : 0;
	*entries = c ? atomic_load(&c->entries_sent) : 0;
}

uint64_t cache_generation(const struct cache *c)
{
	return c ? atomic_load(&c->generation) : 0;
}

void cache_queue(struct cache *c, const struct store_change *ch)
{
	struct store_change *q;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->len == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		q = realloc(c->queue, cap * sizeof(*q));
		if (!q) {
			c->all = true; /* cannot queue it: drop everything */
			goto queued;
		}
		c->queue = q;
		c->cap = cap;
	}
	c->queue[c->len++] = *ch;
queued:
	my_ticket = ++c->queued;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
}

/* The store's change hook: runs on the committing thread, after COMMIT. */
static void changed(void *ctx, const struct store_change *ch)
{
	cache_queue(ctx, ch);
}

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool passed(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec ||
	       (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Hears what other processes changed. While the store cannot say (a
 * database that cannot be reached), what the kernel holds is served for at
 * most [store] max_stale_s; then every cache is dropped, and the requests
 * that follow ask the store (and fail while it is away). */
static void poll_store(struct cache *c)
{
	struct store_change all = {.kind = STORE_CH_ALL};
	struct timespec ts;
	double now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (store_changes_since(c->st, &c->seq, apply_cb, c) == 0) {
		c->blind_since = 0;
		c->blind_dropped = false;
		return;
	}
	if (!c->blind_since)
		c->blind_since = now;
	if (!c->blind_dropped &&
	    now - c->blind_since >= store_cfg(c->st)->max_stale_s) {
		apply(c, &all);
		c->blind_dropped = true;
	}
}

static void *run(void *arg)
{
	struct cache *c = arg;
	struct store_change *batch = NULL, *t, all = {.kind = STORE_CH_ALL};
	struct timespec poll_at;
	size_t n, cap = 0, tc;
	uint64_t upto;
	bool everything;

	deadline_in(&poll_at, CACHE_POLL_MS);
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		if (!c->len && !c->all)
			pthread_cond_timedwait(&c->work, &c->lock, &poll_at);
		/* take the queue as it is, and give the lock back */
		t = batch, batch = c->queue, c->queue = t;
		tc = cap, cap = c->cap, c->cap = tc;
		n = c->len, c->len = 0;
		everything = c->all, c->all = false;
		upto = c->queued;
		pthread_mutex_unlock(&c->lock);
		if (everything)
			apply(c, &all);
		for (size_t i = 0; i < n; i++)
			apply(c, &batch[i]);
		if (passed(&poll_at)) {
			poll_store(c);
			new_day(c);
			deadline_in(&poll_at, CACHE_POLL_MS);
		}
		pthread_mutex_lock(&c->lock);
		c->sent = upto;
		pthread_cond_broadcast(&c->done);
	}
	c->sent = c->queued; /* nobody waits for a stopped cache */
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
	free(batch);
	store_release_thread(c->st);
	return NULL;
}

/* Stops the names thread, and the main one when it runs. */
static void cache_join(struct cache *c, bool running)
{
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->work);
	pthread_cond_signal(&c->names_work);
	pthread_mutex_unlock(&c->lock);
	if (running)
		pthread_join(c->thread, NULL);
	pthread_join(c->names_thread, NULL);
}

int cache_start(struct cache **out, struct fuse_session *se, struct store *st,
		struct pages *pages, cache_stale_fn *stale)
{
	struct cache *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;
	int r;

	if (!c)
		return -ENOMEM;
	c->se = se;
	c->st = st;
	c->pages = pages;
	c->stale = stale;
	c->seq = -1;
	c->day = policy_day_of(time(NULL));
	store_changes_since(st, &c->seq, apply_cb, c); /* start from now */
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->work, &ca);
	pthread_cond_init(&c->done, &ca);
	pthread_cond_init(&c->names_work, NULL);
	pthread_condattr_destroy(&ca);
	r = pthread_create(&c->names_thread, NULL, names_run, c);
	if (!r) {
		r = pthread_create(&c->thread, NULL, run, c);
		if (r)
			cache_join(c, false);
	}
	if (r) {
		pthread_cond_destroy(&c->names_work);
		pthread_cond_destroy(&c->done);
		pthread_cond_destroy(&c->work);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return -r;
	}
	pages_attach(pages, tell, c);
	store_set_change_hook(st, changed, c);
	*out = c;
	return 0;
}

void cache_stop(struct cache *c)
{
	if (!c)
		return;
	store_set_change_hook(c->st, NULL, NULL);
	cache_join(c, true);
	pages_attach(c->pages, NULL, NULL);
	pthread_cond_destroy(&c->names_work);
	pthread_cond_destroy(&c->done);
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->lock);
	free(c->queue);
	free(c);
}

void cache_settle(struct cache *c)
{
	struct timespec deadline;
	int r = 0;

	if (!c || my_ticket == my_settled)
		return; /* nothing queued by this thread since it last waited */
	deadline_in(&deadline, 1000);
	pthread_mutex_lock(&c->lock);
	while (c->sent < my_ticket && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&c->done, &c->lock, &deadline);
	pthread_mutex_unlock(&c->lock);
	if (r == ETIMEDOUT)
		fuse_log(FUSE_LOG_ERR, "patfs: error: cache invalidation took "
				       "over a second\n");
	else
		my_settled = my_ticket;
}
