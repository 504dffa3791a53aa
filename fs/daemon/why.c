/* why.c - each uid's latest refusals (why.h): a fixed table of uids, a
 * ring of lines each, under one lock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patfs/pfs.h"
#include "patfs/policy.h"
#include "why.h"

struct line {
	time_t at;
	int err;
	char op[12];
	char path[WHY_PATH];
	char reason[PFS_REASON_MAX];
};

struct slot {
	uint32_t uid;
	unsigned n;    /* lines kept, up to WHY_LINES */
	unsigned next; /* where the next line goes */
	time_t latest; /* 0: a free slot */
	struct line line[WHY_LINES];
};

struct why {
	pthread_mutex_t lock; /* protects slot */
	struct slot slot[WHY_UIDS];
};

struct why *why_new(void)
{
	struct why *w = calloc(1, sizeof(*w));

	if (w)
		pthread_mutex_init(&w->lock, NULL);
	return w;
}

void why_free(struct why *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* uid's slot, or NULL; with make, a new one (a free slot, else the one
 * whose latest line is oldest, emptied). */
static struct slot *find(struct why *w, uint32_t uid, int make)
{
	struct slot *oldest = &w->slot[0];

	for (int i = 0; i < WHY_UIDS; i++) {
		struct slot *s = &w->slot[i];

		if (s->latest && s->uid == uid)
			return s;
		if (s->latest < oldest->latest)
			oldest = s;
	}
	if (!make)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->uid = uid;
	return oldest;
}

/* src into dst[size], cut with "..." when longer. */
static void put(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len < size) {
		memcpy(dst, src, len + 1);
		return;
	}
	memcpy(dst, src, size - 4);
	memcpy(dst + size - 4, "...", 4);
}

void why_note(struct why *w, uint32_t uid, time_t at, const char *op,
	      const char *path, int err, const char *reason)
{
	struct slot *s;
	struct line *l;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	s = find(w, uid, 1);
	l = &s->line[s->next];
	l->at = at;
	l->err = err;
	put(l->op, sizeof(l->op), op);
	put(l->path, sizeof(l->path), path);
	put(l->reason, sizeof(l->reason),
	    reason[0] ? reason : "no reason was given");
	s->next = (s->next + 1) % WHY_LINES;
	if (s->n < WHY_LINES)
		s->n++;
	s->latest = at > 0 ? at : 1;
	pthread_mutex_unlock(&w->lock);
}

int why_render(struct why *w, uint32_t uid, char **out, size_t *len)
{
	size_t cap = WHY_LINES * (sizeof(struct line) + 64), used = 0;
	char *buf = malloc(cap), when[21];
	struct slot *s;

	if (!buf)
		return -ENOMEM;
	pthread_mutex_lock(&w->lock);
	s = find(w, uid, 0);
	for (unsigned k = 1; s && k <= s->n; k++) {
		const struct line *l =
		    &s->line[(s->next + WHY_LINES - k) % WHY_LINES];
		const char *name = strerrorname_np(l->err);

		policy_format_time(l->at, when);
		used += (size_t)snprintf(
		    buf + used, cap - used, "%s %s %s %s: %s\n", when, l->op,
		    l->path, name ? name : "E?", l->reason);
	}
	pthread_mutex_unlock(&w->lock);
	*out = buf;
	*len = used;
	return 0;
}
