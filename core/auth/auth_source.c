/* auth_source.c - recording where each passing check came from
 * (token_source.c keeps it), throttled as last_used_at is: a token's
 * source is written when it is new to this process or its last write is
 * last_used_interval_s old, with the uses counted in between.
 *
 * A check costs a few microseconds, and naming its source (the program's
 * name from /proc, the text, its digest) as many again; so a second table,
 * by the token and the checking process (uid, pid, client: no /proc),
 * remembers which source slot that process's checks of the token count
 * in, and most checks touch nothing else. */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authInt.h"
#include "patfs/cfg.h"
#include "patfs/token.h"

#define SLOTS 4096
#define PROBE 8

struct seen {
	uint64_t key; /* the token and the source, hashed; 0: free */
	int64_t at;   /* written then (0: never) */
	uint32_t pending;
};

/* A checking process's way to its source slot. */
struct way {
	uint64_t key; /* the token, uid, pid and client, mixed; 0: free */
	uint64_t src; /* the source slot's key, which must still be there */
	int64_t at;
	uint32_t slot; /* its index */
};

struct auth_sources {
	pthread_mutex_t lock;
	char host[65];
	struct seen slots[SLOTS];
	struct way ways[SLOTS];
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

/* The key of a's checks of t for client: no system call. */
static uint64_t way_key(const struct pfs_actor *a, const struct token_info *t,
			const char *client)
{
	uint64_t h = mix(mix(mix(0, (uint64_t)t->id), a->uid),
			 (uint64_t)(uint32_t)a->pid);

	for (const char *c = client; c && *c; c++)
		h = mix(h, (unsigned char)*c);
	return h | 1;
}

/* Counts a check that came the way of key when its source was written
 * less than interval ago: true, or false when it must be named (under
 * s->lock). */
static bool counted(struct auth_sources *s, uint64_t key, int64_t now,
		    int interval)
{
	struct way *w = &s->ways[key % SLOTS];
	struct seen *e = &s->slots[w->slot % SLOTS];

	if (w->key != key || e->key != w->src || !e->at ||
	    now - e->at >= interval || now - w->at >= interval)
		return false;
	e->pending++;
	return true;
}

/* Keeps what a source may show of s: [A-Za-z0-9._:-], else '_'. */
static void clean(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || strchr("._:-[]%", *s)))
			*s = '_';
}

struct auth_sources *auth_sources_new(void)
{
	struct auth_sources *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (gethostname(s->host, sizeof(s->host) - 1) || !s->host[0])
		snprintf(s->host, sizeof(s->host), "unknown");
	clean(s->host);
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void auth_sources_free(struct auth_sources *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The slot of key, or the one to reuse for it (free, else the oldest in
 * its probe range). Under s->lock. */
static struct seen *slot_of(struct auth_sources *s, uint64_t key)
{
	struct seen *old = NULL;

	for (unsigned i = 0; i < PROBE; i++) {
		struct seen *e = &s->slots[(key + i) % SLOTS];
		if (e->key == key)
			return e;
		if (!old || e->at < old->at)
			old = e;
	}
	*old = (struct seen){key, 0, 0};
	return old;
}

int auth_source_used(struct auth_sources *s, struct store *st, int interval,
		     const struct pfs_actor *a, const struct token_info *t,
		     const char *client, int64_t now,
		     char source[TOKEN_SOURCE_MAX + 1])
{
	char comm[17];
	unsigned char h[8];
	uint64_t key = 0, wkey = way_key(a, t, client);
	struct seen *e, was;
	bool fresh = false;
	int count, n, r;

	pthread_mutex_lock(&s->lock);
	if (counted(s, wkey, now, interval)) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	pthread_mutex_unlock(&s->lock);
	pfs_actor_comm(a, comm);
	clean(comm);
	n = snprintf(source, TOKEN_SOURCE_MAX + 1, "host=%s uid=%u comm=%s%s%s",
		     s->host, a->uid, comm[0] ? comm : "-",
		     client ? " client=" : "", client ? client : "");
	if (n < 0 || n > TOKEN_SOURCE_MAX)
		return -ENAMETOOLONG;
	crypto_generichash(h, sizeof(h), (const unsigned char *)source,
			   (size_t)n, NULL, 0);
	for (size_t i = 0; i < sizeof(h); i++)
		key = key << 8 | h[i];
	key ^= (uint64_t)t->id * 0x9e3779b97f4a7c15ull;
	key |= 1; /* never 0 */
	pthread_mutex_lock(&s->lock);
	e = slot_of(s, key);
	s->ways[wkey % SLOTS] =
	    (struct way){wkey, key, now, (uint32_t)(e - s->slots)};
	if (e->at && now - e->at < interval) {
		e->pending++;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	was = *e;
	count = 1 + (int)was.pending;
	*e = (struct seen){key, now, 0}; /* others count while it is written */
	pthread_mutex_unlock(&s->lock);
	r = token_source_record(st, a, t, source, now, count, interval, &fresh);
	if (!r)
		return fresh ? 2 : 1;
	pthread_mutex_lock(&s->lock); /* again at the next check */
	if (e->key == key) {
		e->at = was.at;
		e->pending += (uint32_t)count;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}
