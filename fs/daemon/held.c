/* held.c - bytes held by open files, per uid (uidtab.h: a uid that finds
 * the table full is held to the total only) and in all. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define FUSE_USE_VERSION 314
#include <fuse_log.h>

#include "held.h"
#include "patfs/cfg.h"
#include "patfs/pfs.h"
#include "patfs/uidtab.h"

struct held {
	pthread_mutex_t lock;
	int64_t per_uid, total; /* the bounds */
	int64_t all;		/* bytes held in all */
	struct uidtab uids;
	int64_t bytes[UIDTAB_SLOTS];
	int renders[UIDTAB_SLOTS]; /* under way */
	time_t said[UIDTAB_SLOTS]; /* the uid's last logged refusal */
};

struct held *held_new(const struct cfg *cfg)
{
	struct held *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->per_uid = cfg->snapshot_bytes_per_uid;
	h->total = cfg->snapshot_bytes_total;
	return h;
}

void held_free(struct held *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int held_take(struct held *h, const struct pfs_actor *a, size_t bytes)
{
	int64_t n = (int64_t)bytes, mine;
	const char *why = NULL;
	int i, r = 0;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	i = uidtab_slot(&h->uids, a->uid);
	mine = i < 0 ? 0 : h->bytes[i];
	if (!a->admin && mine + n > h->per_uid)
		why = "snapshot_mib_per_uid";
	else if (!a->admin && h->all + n > h->total)
		why = "snapshot_mib_total";
	if (why) {
		time_t now = time(NULL);
		if (i < 0 || now - h->said[i] >= 60)
			fuse_log(FUSE_LOG_WARNING,
				 "patfs: refused an open by uid %u: "
				 "its files would hold %lld KiB of snapshots "
				 "(uid %u: %lld KiB, all: %lld KiB), past "
				 "[limits] %s; closing open files frees "
				 "them\n",
				 a->uid, (long long)n >> 10, a->uid,
				 (long long)mine >> 10, (long long)h->all >> 10,
				 why);
		if (i >= 0)
			h->said[i] = now;
		r = pfs_refuse(ENOBUFS,
			       "the files this uid holds open would hold %lld "
			       "KiB of snapshots, past [limits] %s: closing "
			       "them frees it",
			       (long long)(mine + n) >> 10, why);
	} else {
		h->all += n;
		if (i >= 0)
			h->bytes[i] += n;
	}
	pthread_mutex_unlock(&h->lock);
	return r;
}

void held_give(struct held *h, uint32_t uid, size_t bytes)
{
	int i;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	i = uidtab_slot(&h->uids, uid);
	h->all -= (int64_t)bytes;
	if (i >= 0)
		h->bytes[i] -= (int64_t)bytes;
	pthread_mutex_unlock(&h->lock);
}

int held_render_begin(struct held *h, const struct pfs_actor *a)
{
	int i, r = 0;

	if (!h || a->admin)
		return 0;
	pthread_mutex_lock(&h->lock);
	i = uidtab_slot(&h->uids, a->uid);
	if (i >= 0 && h->renders[i] >= HELD_RENDERS) {
		time_t now = time(NULL);
		if (now - h->said[i] >= 60)
			fuse_log(FUSE_LOG_WARNING,
				 "patfs: refused an open by uid %u: %d of its "
				 "documents are being rendered already\n",
				 a->uid, HELD_RENDERS);
		h->said[i] = now;
		r = pfs_refuse(EAGAIN,
			       "%d of this uid's documents are being "
			       "rendered already",
			       HELD_RENDERS);
	} else if (i >= 0) {
		h->renders[i]++;
	}
	pthread_mutex_unlock(&h->lock);
	return r;
}

void held_render_end(struct held *h, const struct pfs_actor *a)
{
	int i;

	if (!h || a->admin)
		return;
	pthread_mutex_lock(&h->lock);
	i = uidtab_slot(&h->uids, a->uid);
	if (i >= 0)
		h->renders[i]--;
	pthread_mutex_unlock(&h->lock);
}
