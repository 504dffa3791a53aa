/* scratch.c - the temp files of tools (scratch.h): a fixed table under one
 * lock, swept of idle files as new ones come. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "patfs/pfs.h"
#include "scratch.h"

#define SCRATCH_BYTES (PFS_VALUE_MAX + 1)

struct file {
	uint32_t id; /* 0: a free slot */
	uint64_t parent;
	bool named; /* false after its rename or unlink */
	char name[PFS_NAME_MAX + 1];
	uint32_t uid;
	mode_t mode;
	unsigned opens;
	time_t touched; /* the last change or close */
	size_t len;
	char buf[SCRATCH_BYTES];
};

struct scratch {
	/* slots in use: while none, a lookup (every path walk below a user,
	 * token or project) takes no lock */
	atomic_uint used;
	pthread_mutex_t lock; /* protects everything below */
	uint32_t next_id;
	struct file file[SCRATCH_MAX];
};

struct scratch *scratch_new(void)
{
	struct scratch *sc = calloc(1, sizeof(*sc));

	if (sc)
		pthread_mutex_init(&sc->lock, NULL);
	return sc;
}

void scratch_free(struct scratch *sc)
{
	if (!sc)
		return;
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

/* Frees what is done with: nameless and closed, or idle too long. */
static void sweep(struct scratch *sc, time_t now)
{
	for (int i = 0; i < SCRATCH_MAX; i++) {
		struct file *f = &sc->file[i];

		if (f->id && !f->opens &&
		    (!f->named || now - f->touched >= SCRATCH_IDLE_S)) {
			f->id = 0;
			atomic_fetch_sub(&sc->used, 1);
		}
	}
}

static struct file *by_id(struct scratch *sc, uint32_t id)
{
	for (int i = 0; id && i < SCRATCH_MAX; i++)
		if (sc->file[i].id == id)
			return &sc->file[i];
	return NULL;
}

static struct file *by_name(struct scratch *sc, uint64_t parent,
			    const char *name)
{
	for (int i = 0; i < SCRATCH_MAX; i++) {
		struct file *f = &sc->file[i];

		if (f->id && f->named && f->parent == parent &&
		    !strcmp(f->name, name))
			return f;
	}
	return NULL;
}

int scratch_create(struct scratch *sc, uint64_t parent, const char *name,
		   uint32_t uid, mode_t mode, uint32_t *id)
{
	struct file *free_slot = NULL;
	int mine = 0, r = 0;
	time_t now = time(NULL);

	if (strlen(name) > PFS_NAME_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&sc->lock);
	sweep(sc, now);
	for (int i = 0; i < SCRATCH_MAX; i++) {
		struct file *f = &sc->file[i];

		if (!f->id && !free_slot)
			free_slot = f;
		mine += f->id && f->uid == uid;
	}
	if (by_name(sc, parent, name))
		r = -EEXIST;
	else if (mine >= SCRATCH_PER_UID || !free_slot)
		r = pfs_refuse(EAGAIN,
			       "this uid holds %d temp files already (or the "
			       "daemon %d): they go when renamed, removed, or "
			       "idle for %d s",
			       SCRATCH_PER_UID, SCRATCH_MAX, SCRATCH_IDLE_S);
	if (!r) {
		memset(free_slot, 0, sizeof(*free_slot) - SCRATCH_BYTES);
		if (++sc->next_id == 0)
			sc->next_id = 1;
		free_slot->id = *id = sc->next_id;
		atomic_fetch_add(&sc->used, 1);
		free_slot->parent = parent;
		free_slot->named = true;
		strcpy(free_slot->name, name);
		free_slot->uid = uid;
		free_slot->mode = mode & 07777;
		free_slot->touched = now;
	}
	pthread_mutex_unlock(&sc->lock);
	return r;
}

int scratch_find(struct scratch *sc, uint64_t parent, const char *name,
		 uint32_t *id)
{
	struct file *f;

	if (!atomic_load(&sc->used))
		return -ENOENT;
	pthread_mutex_lock(&sc->lock);
	f = by_name(sc, parent, name);
	if (f && !f->opens && time(NULL) - f->touched >= SCRATCH_IDLE_S)
		f = NULL; /* idle too long: the next sweep frees it */
	if (f)
		*id = f->id;
	pthread_mutex_unlock(&sc->lock);
	return f ? 0 : -ENOENT;
}

int scratch_stat(struct scratch *sc, uint32_t id, struct scratch_info *out)
{
	struct file *f;

	pthread_mutex_lock(&sc->lock);
	f = by_id(sc, id);
	if (f)
		*out =
		    (struct scratch_info){f->uid, f->len, f->mode, f->touched};
	pthread_mutex_unlock(&sc->lock);
	return f ? 0 : -ENOENT;
}

int scratch_open(struct scratch *sc, uint32_t id)
{
	struct file *f;

	pthread_mutex_lock(&sc->lock);
	f = by_id(sc, id);
	if (f)
		f->opens++;
	pthread_mutex_unlock(&sc->lock);
	return f ? 0 : -ENOENT;
}

void scratch_close(struct scratch *sc, uint32_t id)
{
	struct file *f;

	pthread_mutex_lock(&sc->lock);
	f = by_id(sc, id);
	if (f && f->opens) {
		f->opens--;
		f->touched = time(NULL);
	}
	pthread_mutex_unlock(&sc->lock);
}

ssize_t scratch_read(struct scratch *sc, uint32_t id, char *buf, size_t size,
		     off_t off)
{
	ssize_t n = -ENOENT;
	struct file *f;

	pthread_mutex_lock(&sc->lock);
	f = by_id(sc, id);
	if (f) {
		n = off < 0 || (size_t)off >= f->len
			? 0
			: (ssize_t)(f->len - (size_t)off);
		if ((size_t)n > size)
			n = (ssize_t)size;
		if (n > 0)
			memcpy(buf, f->buf + off, (size_t)n);
	}
	pthread_mutex_unlock(&sc->lock);
	return n;
}

ssize_t scratch_write(struct scratch *sc, uint32_t id, const char *buf,
		      size_t size, off_t off)
{
	ssize_t n = -ENOENT;
	struct file *f;

	pthread_mutex_lock(&sc->lock);
	f = by_id(sc, id);
	if (f && (off < 0 || (size_t)off > SCRATCH_BYTES ||
		  size > SCRATCH_BYTES - (size_t)off)) {
		n = pfs_refuse(EFBIG, "a value is at most %d bytes",
			       PFS_VALUE_MAX);
	} else if (f) {
		if ((size_t)off > f->len)
			memset(f->buf + f->len, 0, (size_t)off - f->len);
		memcpy(f->buf + off, buf, size);
		if ((size_t)off + size > f->len)
			f->len = (size_t)off + size;
		f->touched = time(NULL);
		n = (ssize_t)size;
	}
	pthread_mutex_unlock(&sc->lock);
	return n;
}

int scratch_truncate(struct scratch *sc, uint32_t id, off_t size)
{
	struct file *f;
	int r = -ENOENT;

	pthread_mutex_lock(&sc->lock);
	f = by_id(sc, id);
	if (f && (size < 0 || size > SCRATCH_BYTES)) {
		r = pfs_refuse(EFBIG, "a value is at most %d bytes",
			       PFS_VALUE_MAX);
	} else if (f) {
		if ((size_t)size > f->len)
			memset(f->buf + f->len, 0, (size_t)size - f->len);
		f->len = (size_t)size;
		f->touched = time(NULL);
		r = 0;
	}
	pthread_mutex_unlock(&sc->lock);
	return r;
}

int scratch_chmod(struct scratch *sc, uint32_t id, mode_t mode)
{
	struct file *f;

	pthread_mutex_lock(&sc->lock);
	f = by_id(sc, id);
	if (f)
		f->mode = mode & 07777;
	pthread_mutex_unlock(&sc->lock);
	return f ? 0 : -ENOENT;
}

int scratch_content(struct scratch *sc, uint64_t parent, const char *name,
		    uint32_t *id, char *buf, size_t *len)
{
	struct file *f;

	pthread_mutex_lock(&sc->lock);
	f = by_name(sc, parent, name);
	if (f) {
		*id = f->id;
		*len = f->len;
		memcpy(buf, f->buf, f->len);
	}
	pthread_mutex_unlock(&sc->lock);
	return f ? 0 : -ENOENT;
}

int scratch_rename(struct scratch *sc, uint64_t parent, const char *name,
		   const char *newname)
{
	struct file *f;

	if (strlen(newname) > PFS_NAME_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&sc->lock);
	f = by_name(sc, parent, name);
	if (f) {
		strcpy(f->name, newname);
		f->touched = time(NULL);
	}
	pthread_mutex_unlock(&sc->lock);
	return f ? 0 : -ENOENT;
}

int scratch_unlink(struct scratch *sc, uint64_t parent, const char *name)
{
	struct file *f;

	pthread_mutex_lock(&sc->lock);
	f = by_name(sc, parent, name);
	if (f) {
		f->named = false;
		sweep(sc, time(NULL));
	}
	pthread_mutex_unlock(&sc->lock);
	return f ? 0 : -ENOENT;
}
