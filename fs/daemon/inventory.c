/* inventory.c - credentials.csv and credentials.json in temporary files
 * (inventory.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inventory.h"
#include "patfs/policy.h"
#include "patfs/store.h"
#include "patfs/token.h"

#define NFORMATS 2
#define OUT_BUF	 65536

struct inventory {
	struct store *st;
	pthread_mutex_t lock;		  /* protects cur and every refs */
	pthread_mutex_t render[NFORMATS]; /* one shared render at a time */
	struct inventory_snap *cur[NFORMATS];
};

/* A render in progress: rows buffered, then written and summed. */
struct out {
	struct inventory_snap *s;
	crypto_generichash_state sum;
	char buf[OUT_BUF];
	size_t used;
};

struct inventory *inventory_new(struct store *st)
{
	struct inventory *inv = calloc(1, sizeof(*inv));

	if (!inv)
		return NULL;
	inv->st = st;
	pthread_mutex_init(&inv->lock, NULL);
	for (int i = 0; i < NFORMATS; i++)
		pthread_mutex_init(&inv->render[i], NULL);
	return inv;
}

static void snap_free(struct inventory_snap *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

void inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
	for (int i = 0; i < NFORMATS; i++) {
		snap_free(inv->cur[i]); /* no open file is left */
		pthread_mutex_destroy(&inv->render[i]);
	}
	pthread_mutex_destroy(&inv->lock);
	free(inv);
}

/* A file nobody else can name: O_TMPFILE where the filesystem has it, else
 * made and unlinked at once. */
static int temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/var/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd < 0 ? -errno : fd;
	snprintf(path, sizeof(path), "%s/patfs-inventory-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

static int flush(struct out *o)
{
	size_t done = 0;

	crypto_generichash_update(&o->sum, (const unsigned char *)o->buf,
				  o->used);
	while (done < o->used) {
		ssize_t n = write(o->s->fd, o->buf + done, o->used - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	o->s->len += o->used;
	o->used = 0;
	return 0;
}

static int sink(void *ctx, const char *s, size_t n)
{
	struct out *o = ctx;
	int r = 0;

	if (o->used + n > sizeof(o->buf))
		r = flush(o);
	if (r)
		return r;
	if (n > sizeof(o->buf))
		return -EOVERFLOW; /* a row is never this long */
	memcpy(o->buf + o->used, s, n);
	o->used += n;
	return 0;
}

/* Renders format as a sees it into a new snapshot: 0 with *out, or
 * -errno. */
static int render(struct inventory *inv, const struct pfs_actor *a, int format,
		  struct inventory_snap **out)
{
	struct out *o = malloc(sizeof(*o));
	struct inventory_snap *s = calloc(1, sizeof(*s));
	int64_t now = time(NULL);
	int r = o && s ? 0 : -ENOMEM;

	if (s)
		s->fd = -1;
	if (!r) {
		s->generation = store_generation(inv->st);
		s->day = policy_day_of(now);
		s->refs = 1;
		s->fd = temp_file();
		r = s->fd < 0 ? s->fd : 0;
	}
	if (!r) {
		o->s = s;
		o->used = 0;
		crypto_generichash_init(&o->sum, NULL, 0, sizeof(s->sum));
		r = token_inventory(inv->st, a,
				    (enum token_inventory_format)format, now,
				    sink, o, &s->mtime);
	}
	if (!r)
		r = flush(o);
	if (!r)
		crypto_generichash_final(&o->sum, s->sum, sizeof(s->sum));
	free(o);
	if (r) {
		snap_free(s);
		return r;
	}
	*out = s;
	return 0;
}

/* The shared snapshot of format if it is still true, referenced; else NULL.
 * Under inv->lock. */
static struct inventory_snap *current(struct inventory *inv, int format)
{
	struct inventory_snap *s = inv->cur[format];

	if (!s || s->generation != store_generation(inv->st) ||
	    s->day != policy_day_of(time(NULL)))
		return NULL;
	s->refs++;
	return s;
}

int inventory_get(struct inventory *inv, const struct pfs_actor *a, int format,
		  struct inventory_snap **out)
{
	struct inventory_snap *s, *old = NULL;
	bool fresh;
	int r;

	if (format < 0 || format >= NFORMATS)
		return -EINVAL;
	if (!a->admin)
		return render(inv, a, format, out);
	pthread_mutex_lock(&inv->render[format]);
	pthread_mutex_lock(&inv->lock);
	s = current(inv, format);
	pthread_mutex_unlock(&inv->lock);
	fresh = !s;
	r = s ? 0 : render(inv, a, format, &s);
	if (!r && fresh) { /* the shared one from now on */
		s->shared = true;
		pthread_mutex_lock(&inv->lock);
		old = inv->cur[format];
		inv->cur[format] = s;
		s->refs++;
		if (old && --old->refs > 0)
			old = NULL;
		pthread_mutex_unlock(&inv->lock);
	}
	pthread_mutex_unlock(&inv->render[format]);
	snap_free(old);
	if (!r)
		*out = s;
	return r;
}

void inventory_put(struct inventory *inv, struct inventory_snap *s)
{
	bool last;

	if (!s)
		return;
	pthread_mutex_lock(&inv->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&inv->lock);
	if (last)
		snap_free(s);
}
