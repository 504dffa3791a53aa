/* node.c - the table of kinds, and what every kind shares. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cache.h"
#include "node.h"
#include "patfs/cfg.h"

static const struct node_kind *const kinds[INO_NKINDS] = {
#define NODE_KIND_ROW(kind, node) [kind] = &(node),
    INO_KINDS(NODE_KIND_ROW)
#undef NODE_KIND_ROW
};

/* What an inode of no known kind is: nothing. */
static const struct node_kind node_none = {.name = "none"};

const struct node_kind *node_kind_of(struct ino n)
{
	return n.kind < INO_NKINDS && kinds[n.kind] ? kinds[n.kind]
						    : &node_none;
}

void node_stale(const struct store_change *ch, ino_inval_fn *inval, void *ctx)
{
	for (int k = 0; k < INO_NKINDS; k++)
		if (kinds[k] && kinds[k]->stale)
			kinds[k]->stale(ch, inval, ctx);
}

int node_load(struct nreq *q, struct node *n)
{
	const struct node_kind *k = node_kind_of(n->ino);
	int r;

	if (n->loaded)
		return 0;
	if (!k->load && k->nsub && n->ino.sub >= k->nsub)
		return -ENOENT;
	if (!k->load) {
		n->obj = access_of(k->access, 0, -1);
		n->loaded = true;
		return 0;
	}
	r = k->load(q, n);
	n->loaded = r == 0;
	return r;
}

void node_stat(struct nreq *q, const struct node *n, struct node_attr *out)
{
	const struct node_kind *k = node_kind_of(n->ino);

	if (k->stat)
		k->stat(q, n, out);
	else
		node_fill(q, n, out, 0,
			  k->nlink		  ? k->nlink
			  : (k->flags & NODE_DIR) ? 2
						  : 1,
			  q->p->started);
}

void node_fill(struct nreq *q, const struct node *n, struct node_attr *out,
	       uint64_t size, nlink_t nlink, int64_t mtime)
{
	unsigned flags = node_kind_of(n->ino)->flags;
	struct stat *st = &out->st;
	mode_t mode;

	memset(out, 0, sizeof(*out));
	access_mode(q->p->cfg, &n->obj, &mode, &st->st_uid, &st->st_gid);
	st->st_ino = ino_make(n->ino.kind, n->ino.sub, n->ino.id);
	if (flags & NODE_LNK)
		st->st_mode =
		    S_IFLNK | 0777; /* a symlink's mode means nothing */
	else
		st->st_mode = mode | (flags & NODE_DIR ? S_IFDIR : S_IFREG);
	st->st_nlink = nlink;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_blksize = 4096;
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec =
	    (time_t)mtime;
	out->ttl = out->entry_ttl = CACHE_S;
}

bool node_dir_add(struct dirbuf *d, const char *name, const struct node *n,
		  off_t next)
{
	const struct node_kind *k = node_kind_of(n->ino);
	struct fuse_entry_param e;
	struct node_attr at;
	size_t used;

	node_stat(d->q, n, &at);
	if (d->plus) {
		memset(&e, 0, sizeof(e));
		e.attr = at.st;
		e.ino = at.st.st_ino;
		e.generation =
		    k->flags & NODE_GEN ? cache_generation(d->q->p->cache) : 0;
		e.entry_timeout = at.entry_ttl;
		e.attr_timeout = at.ttl;
		used =
		    fuse_add_direntry_plus(d->q->req, d->buf + d->used,
					   d->size - d->used, name, &e, next);
	} else {
		used = fuse_add_direntry(d->q->req, d->buf + d->used,
					 d->size - d->used, name, &at.st, next);
	}
	if (used > d->size - d->used)
		return d->full = true;
	d->used += used;
	return false;
}

int node_add_id(struct node_listing *l, int64_t id, off_t next)
{
	char name[24];

	snprintf(name, sizeof(name), "%" PRId64, id);
	return node_dir_add(l->d, name, &l->child, next);
}

int node_list_names(struct nreq *q, const struct node *dir,
		    node_name_fn *name_at, const void *ctx, int count,
		    struct dirbuf *d, off_t off)
{
	const struct node_kind *k = node_kind_of(dir->ino);
	int first = off < OFF_FIRST ? 0 : (int)(off - OFF_FIRST + 1);

	for (int i = first; i < count; i++) {
		const char *name = name_at(ctx, i);
		struct node child = {.loaded = false};
		if (k->lookup(q, dir, name, &child) ||
		    (node_kind_of(child.ino)->flags & NODE_UNLISTED) ||
		    access_see(&q->a, &child.obj))
			continue;
		if (node_dir_add(d, name, &child, OFF_FIRST + i))
			break;
	}
	return 0;
}

int node_name_index(node_name_fn *name_at, const void *ctx, int count,
		    const char *name)
{
	for (int i = 0; i < count; i++)
		if (!strcmp(name_at(ctx, i), name))
			return i;
	return -1;
}

/* A table of rows: its first row and the stride of one. */
struct rows {
	const void *first;
	size_t stride;
};

/* The name of row i of a table whose rows begin with their name. */
static const char *row_name(const void *ctx, int i)
{
	const struct rows *t = ctx;
	const char *const *name =
	    (const void *)((const char *)t->first + (size_t)i * t->stride);

	return *name;
}

int node_list_rows(struct nreq *q, const struct node *dir, const void *rows,
		   size_t stride, int count, struct dirbuf *d, off_t off)
{
	struct rows t = {rows, stride};

	return node_list_names(q, dir, row_name, &t, count, d, off);
}

int node_list_fixed(struct nreq *q, const struct node *dir,
		    const char *const *names, int count, struct dirbuf *d,
		    off_t off)
{
	return node_list_rows(q, dir, names, sizeof(*names), count, d, off);
}

int node_index_of(const char *const *names, int count, const char *name)
{
	struct rows t = {names, sizeof(*names)};

	return node_name_index(row_name, &t, count, name);
}

ssize_t node_slice(const char *src, size_t len, char *buf, size_t size,
		   off_t off)
{
	size_t n;

	if (off < 0 || (size_t)off >= len)
		return 0;
	n = len - (size_t)off < size ? len - (size_t)off : size;
	memcpy(buf, src + off, n);
	return (ssize_t)n;
}

int node_parse_id(const char *name, int64_t *id)
{
	size_t len = strlen(name);

	if (len == 0 || len > 15 || name[0] == '0' ||
	    strspn(name, "0123456789") != len)
		return -ENOENT;
	*id = strtoll(name, NULL, 10);
	return 0;
}

int node_lookup_sub(struct nreq *q, const char *const *names, int count,
		    enum ino_kind kind, const char *name, struct node *child)
{
	int i = node_index_of(names, count, name);

	if (i < 0)
		return -ENOENT;
	child->ino = (struct ino){kind, (unsigned)i, 0};
	return node_load(q, child);
}
