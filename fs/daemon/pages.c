/* pages.c - the record of what the page cache holds of each document
 * (pages.h): an open-addressed table keyed by inode, under one lock. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"

struct held {
	uint64_t ino; /* 0: a free slot */
	unsigned char sum[PAGES_SUM_BYTES];
	uint64_t len;
	int64_t mtime;
	unsigned opens; /* opens reading through the page cache */
	bool stale;	/* changed while opens read: tell at the last close */
};

struct pages {
	pthread_mutex_t lock; /* protects everything below */
	struct held *slot;
	size_t cap; /* a power of two */
	size_t used, max;
	uint64_t telling;    /* the inode pages_changed tells of, unlocked */
	pthread_cond_t told; /* telling went back to 0 */
	pages_tell_fn *tell;
	void *ctx;
};

struct pages *pages_new(size_t max)
{
	struct pages *pg = calloc(1, sizeof(*pg));

	if (!pg)
		return NULL;
	pg->cap = 1024;
	pg->max = max;
	pg->slot = calloc(pg->cap, sizeof(*pg->slot));
	if (!pg->slot) {
		free(pg);
		return NULL;
	}
	pthread_mutex_init(&pg->lock, NULL);
	pthread_cond_init(&pg->told, NULL);
	return pg;
}

void pages_free(struct pages *pg)
{
	if (!pg)
		return;
	pthread_cond_destroy(&pg->told);
	pthread_mutex_destroy(&pg->lock);
	free(pg->slot);
	free(pg);
}

void pages_attach(struct pages *pg, pages_tell_fn *tell, void *ctx)
{
	pthread_mutex_lock(&pg->lock);
	pg->tell = tell;
	pg->ctx = ctx;
	pthread_mutex_unlock(&pg->lock);
}

static size_t home(const struct pages *pg, uint64_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ull) >> 20) & (pg->cap - 1);
}

/* The slot of ino, or the free one where it would go. */
static struct held *find(struct pages *pg, uint64_t ino)
{
	size_t i = home(pg, ino);

	while (pg->slot[i].ino && pg->slot[i].ino != ino)
		i = (i + 1) & (pg->cap - 1);
	return &pg->slot[i];
}

/* Moves the entries into a table of cap slots, all of them or only those
 * with open readers. Unchanged when out of memory. */
static void rehash(struct pages *pg, size_t cap, bool all)
{
	struct held *old = pg->slot;
	size_t ocap = pg->cap;
	struct held *fresh = calloc(cap, sizeof(*fresh));

	if (!fresh)
		return;
	pg->slot = fresh;
	pg->cap = cap;
	pg->used = 0;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].ino && (all || old[i].opens)) {
			*find(pg, old[i].ino) = old[i];
			pg->used++;
		}
	free(old);
}

/* Room for one more entry, if there is any to make. */
static void make_room(struct pages *pg)
{
	if (pg->used >= pg->max)
		rehash(pg, pg->cap, false); /* forget the unread ones */
	else if (2 * (pg->used + 1) > pg->cap)
		rehash(pg, 2 * pg->cap, true);
}

bool pages_open(struct pages *pg, uint64_t ino, const char *text, size_t len,
		int64_t mtime, bool *keep)
{
	unsigned char sum[PAGES_SUM_BYTES];

	crypto_generichash(sum, sizeof(sum), (const unsigned char *)text, len,
			   NULL, 0);
	return pages_open_sum(pg, ino, sum, len, mtime, keep);
}

bool pages_open_sum(struct pages *pg, uint64_t ino,
		    const unsigned char sum[PAGES_SUM_BYTES], uint64_t len,
		    int64_t mtime, bool *keep)
{
	struct held *h;
	bool cached = true, same;

	pthread_mutex_lock(&pg->lock);
	while (pg->telling == ino) /* its notification is on its way */
		pthread_cond_wait(&pg->told, &pg->lock);
	h = find(pg, ino);
	if (!h->ino) {
		make_room(pg);
		h = find(pg, ino);
		if (2 * (pg->used + 1) > pg->cap) {
			cached = false; /* no room was made */
			goto out;
		}
		h->ino = ino;
		h->opens = 0;
		h->stale = false;
		memset(h->sum, 0, sizeof(h->sum));
		h->len = (uint64_t)-1; /* matches no content */
		pg->used++;
	}
	same = h->len == len && !memcmp(h->sum, sum, PAGES_SUM_BYTES);
	if (h->opens == 0) {
		/* the first reader of the pages: the size the kernel holds may
		 * be another snapshot's (one that a stat rendered since, or a
		 * change not yet told), and page reads end at it. Asked again,
		 * it is this one's (pages_held), and nothing tells the kernel
		 * of the inode until the last reader closes. Attributes only:
		 * this is a handler */
		if (!same) {
			memcpy(h->sum, sum, PAGES_SUM_BYTES);
			h->len = len;
		}
		h->mtime = mtime;
		h->stale = false;
		if (pg->tell)
			pg->tell(pg->ctx, ino, false);
	} else if (!same) {
		cached = false; /* an open of other content reads the pages */
		goto out;
	}
	*keep = same;
	h->opens++;
out:
	pthread_mutex_unlock(&pg->lock);
	return cached;
}

void pages_close(struct pages *pg, uint64_t ino)
{
	struct held *h;

	pthread_mutex_lock(&pg->lock);
	h = find(pg, ino);
	if (h->ino && h->opens && --h->opens == 0 && h->stale) {
		h->stale = false;
		if (pg->tell) /* a handler's: attributes only */
			pg->tell(pg->ctx, ino, false);
	}
	pthread_mutex_unlock(&pg->lock);
}

void pages_changed(struct pages *pg, uint64_t ino)
{
	pages_tell_fn *tell;
	struct held *h;
	void *ctx;

	pthread_mutex_lock(&pg->lock);
	while (pg->telling)
		pthread_cond_wait(&pg->told, &pg->lock);
	h = find(pg, ino);
	if (h->ino && h->opens) {
		h->stale = true;
		pthread_mutex_unlock(&pg->lock);
		return;
	}
	/* told unlocked, for the kernel may wait on pages whose reads other
	 * handlers serve; an open of ino meanwhile waits for it */
	pg->telling = ino;
	tell = pg->tell;
	ctx = pg->ctx;
	pthread_mutex_unlock(&pg->lock);
	if (tell)
		tell(ctx, ino, true);
	pthread_mutex_lock(&pg->lock);
	pg->telling = 0;
	pthread_cond_broadcast(&pg->told);
	pthread_mutex_unlock(&pg->lock);
}

bool pages_held(struct pages *pg, uint64_t ino, uint64_t *size, int64_t *mtime)
{
	struct held *h;
	bool held;

	pthread_mutex_lock(&pg->lock);
	h = find(pg, ino);
	held = h->ino && h->opens;
	if (held) {
		*size = h->len;
		*mtime = h->mtime;
	}
	pthread_mutex_unlock(&pg->lock);
	return held;
}
