/* budget.c - per uid, a rate of changes (a token bucket) and the audit
 * bytes of a day, kept by this process (uidtab.h: a uid that finds the
 * table full is not limited); and the free-space floor of SQLite's
 * filesystem (PostgreSQL's disk is the server's, beyond patfs's sight). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "budget.h"
#include "patfs/cfg.h"
#include "patfs/uidtab.h"
#include "storeInt.h"

struct slot {
	double tokens;	   /* changes it may still make now */
	int64_t filled_ms; /* when tokens was last filled */
	int64_t day;	   /* the day bytes counts */
	int64_t bytes;	   /* its audit bytes that day */
	int64_t said_ms;   /* its last logged refusal */
};

struct budget {
	pthread_mutex_t lock;
	int64_t floor_said_ms; /* the floor's last logged refusal */
	struct uidtab uids;
	struct slot slot[UIDTAB_SLOTS];
};

int budget_new(struct store *st)
{
	struct budget *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
	st->budget = b;
	return 0;
}

void budget_free(struct store *st)
{
	if (!st->budget)
		return;
	pthread_mutex_destroy(&st->budget->lock);
	free(st->budget);
	st->budget = NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True for the changes that contain: never held back. */
static bool containment(const char *action)
{
	return !strcmp(action, "token_revoke") || !strcmp(action, "user_block");
}

/* uid's slot, or NULL when the table is full. */
static struct slot *slot_of(struct budget *b, uint32_t uid)
{
	int i = uidtab_slot(&b->uids, uid);

	return i < 0 ? NULL : &b->slot[i];
}

/* Bytes free below which only containment commits: the smaller of
 * free_floor_mb and free_floor_percent of the filesystem; 0 for none. */
static int below_floor(const struct cfg *cfg, uint64_t *avail, uint64_t *floor)
{
	struct statvfs v;
	uint64_t mb = (uint64_t)cfg->free_floor_mb << 20, pct;

	if (cfg->store_backend != CFG_STORE_SQLITE || !cfg->free_floor_mb ||
	    !cfg->free_floor_percent || statvfs(cfg->store_path, &v))
		return 0;
	pct = (uint64_t)v.f_blocks * v.f_frsize / 100 *
	      (uint64_t)cfg->free_floor_percent;
	*floor = mb < pct ? mb : pct;
	*avail = (uint64_t)v.f_bavail * v.f_frsize;
	return *avail < *floor;
}

/* Whether a's refusal is to be logged now (once a minute). */
static bool say(int64_t *said_ms, int64_t now)
{
	if (*said_ms && now - *said_ms < 60000)
		return false;
	*said_ms = now;
	return true;
}

/* Takes one change and bytes from s, or refuses: 0 or -errno. */
static int take(const struct cfg *cfg, struct slot *s, size_t bytes,
		int64_t now, const char **why)
{
	double per_ms = cfg->changes_per_minute / 60000.0;
	int64_t today = (int64_t)time(NULL) / 86400;

	if (!s->filled_ms)
		s->tokens = cfg->changes_per_minute;
	else
		s->tokens += (double)(now - s->filled_ms) * per_ms;
	if (s->tokens > cfg->changes_per_minute)
		s->tokens = cfg->changes_per_minute;
	s->filled_ms = now;
	if (s->day != today)
		s->day = today, s->bytes = 0;
	if (s->tokens < 1.0) {
		*why = "more changes a minute than [limits] changes_per_minute";
		return -EAGAIN;
	}
	if (s->bytes + (int64_t)bytes > cfg->audit_bytes_per_day) {
		*why = "more audit trail today than [limits] audit_kib_per_day";
		return -EDQUOT;
	}
	s->tokens -= 1.0;
	s->bytes += (int64_t)bytes;
	return 0;
}

int budget_admit(struct store *st, const struct pfs_actor *a,
		 const char *action, size_t bytes)
{
	const struct cfg *cfg = st->cfg;
	struct budget *b = st->budget;
	uint64_t avail = 0, floor = 0;
	const char *why = NULL;
	struct slot *s;
	int64_t now;
	int r = 0;

	if (!b || containment(action))
		return 0;
	now = now_ms();
	pthread_mutex_lock(&b->lock);
	if (below_floor(cfg, &avail, &floor)) {
		if (say(&b->floor_said_ms, now))
			pfs_log(PFS_LOG_WARNING,
				"refused %s by uid %u: the store's filesystem "
				"has %llu KiB free, below the floor of %llu "
				"KiB ([limits] free_floor_mb, "
				"free_floor_percent): only revocations and "
				"blocks commit until space is freed",
				action, a->uid, (unsigned long long)avail >> 10,
				(unsigned long long)floor >> 10);
		r = pfs_refuse(ENOSPC,
			       "the store's filesystem is below its free-space "
			       "floor ([limits] free_floor_mb, "
			       "free_floor_percent): only revocations and "
			       "blocks commit");
	} else if (!a->admin && (s = slot_of(b, a->uid))) {
		r = take(cfg, s, bytes, now, &why);
		if (r && say(&s->said_ms, now))
			pfs_log(PFS_LOG_WARNING, "refused %s by uid %u: %s",
				action, a->uid, why);
	}
	pthread_mutex_unlock(&b->lock);
	return r && why ? pfs_refuse(-r, "%s", why) : r;
}
