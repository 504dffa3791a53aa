/* node_inventory.c - credentials.csv and credentials.json at the root:
 * every token the caller may see, in one read (daemon/inventory.h renders
 * them into temporary files).
 *
 * Who reads decides what is in it, so each view is an inode of its own
 * (id 1: the administrators', id uid + 2: a uid's), and the name is looked
 * up again on every path walk (entry_ttl 0): a reader never lands on
 * another view's inode through the kernel's name cache. The
 * administrators' view is shared and goes through the page cache; a uid's
 * is read directly and never kept (ttl 0). Every change tells the kernel
 * that the administrators' two files changed (stale), so their attributes
 * may be kept: with ttl 0 each read(2) through the page cache would ask
 * for them again. */
#include <errno.h>
#include <unistd.h>

#include "daemon/held.h"
#include "daemon/inventory.h"
#include "daemon/pages.h"
#include "node.h"
#include "ofile.h"

#define VIEW_ADMIN 1

/* Who the view of n is rendered for. */
static struct pfs_actor viewer(const struct nreq *q, const struct node *n)
{
	struct pfs_actor a = q->a;

	a.admin = n->ino.id == VIEW_ADMIN;
	if (!a.admin)
		a.uid = (uint32_t)(n->ino.id - 2);
	return a;
}

/* A lookup (id 0) picks the caller's view. */
static int inv_load(struct nreq *q, struct node *n)
{
	if (n->ino.id == 0)
		n->ino.id = q->a.admin ? VIEW_ADMIN : (int64_t)q->a.uid + 2;
	n->obj = n->ino.id == VIEW_ADMIN
		     ? access_of(ACCESS_AUDIT, 0, -1)
		     : access_of(ACCESS_USER_JSON, 0, n->ino.id - 2);
	return 0;
}

/* The view's document now: 0 with *s referenced, or -errno. A uid's render
 * counts among its renders (held.h). */
static int snap_of(struct nreq *q, const struct node *n,
		   struct inventory_snap **s)
{
	struct pfs_actor a = viewer(q, n);
	int r = held_render_begin(q->p->snapshots, &q->a);

	if (r)
		return r;
	r = inventory_get(q->p->inventory, &a, (int)n->ino.sub, s);
	held_render_end(q->p->snapshots, &q->a);
	return r;
}

static uint64_t ino_of(const struct node *n)
{
	return ino_make(n->ino.kind, n->ino.sub, n->ino.id);
}

static void inv_stat(struct nreq *q, const struct node *n,
		     struct node_attr *out)
{
	struct inventory_snap *s = NULL;
	uint64_t size = 0;
	int64_t mtime = q->p->started;
	bool shared = n->ino.id == VIEW_ADMIN;

	if (snap_of(q, n, &s) == 0) {
		size = s->len;
		mtime = s->mtime ? s->mtime : mtime;
	} else {
		shared = false; /* the store failed: ask again */
	}
	if (shared) /* page reads end at the size the kernel holds */
		pages_held(q->p->pages, ino_of(n), &size, &mtime);
	node_fill(q, n, out, size, 1, mtime);
	out->entry_ttl = 0.0; /* each caller's lookup finds its view */
	if (!shared)
		out->ttl = 0.0;
	inventory_put(q->p->inventory, s);
}

static int inv_open(struct nreq *q, struct node *n, struct fuse_file_info *fi)
{
	struct inventory_snap *s;
	struct ofile *of;
	bool keep = false;
	int r = snap_of(q, n, &s);

	if (r)
		return r;
	r = s->shared ? 0 : held_take(q->p->snapshots, &q->a, s->len);
	of = r ? NULL : ofile_new(OF_TEXT);
	if (!of) {
		if (!r)
			held_give(q->p->snapshots, q->a.uid, s->len);
		inventory_put(q->p->inventory, s);
		return r ? r : -ENOMEM;
	}
	of->snap = s;
	of->tlen = s->len;
	of->text_uid = q->a.uid;
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->direct_io = 1;
	if (s->shared && pages_open_sum(q->p->pages, ino_of(n), s->sum, s->len,
					s->mtime, &keep)) {
		of->pages_ino = ino_of(n);
		fi->direct_io = 0;
		fi->keep_cache = keep;
	}
	fi->noflush = 1;
	return 0;
}

static ssize_t inv_read(struct nreq *q, struct node *n, char *buf, size_t size,
			off_t off)
{
	ssize_t got;

	(void)n;
	if (!q->of || q->of->kind != OF_TEXT || !q->of->snap)
		return -EBADF;
	if (off < 0 || (uint64_t)off >= q->of->snap->len)
		return 0;
	do
		got = pread(q->of->snap->fd, buf, size, off);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -errno : got;
}

/* Any change to a token, user or resource may change a row. */
static void inv_stale(const struct store_change *ch, ino_inval_fn *inval,
		      void *ctx)
{
	(void)ch;
	for (unsigned f = 0; f < 2; f++)
		inval(ctx, (struct ino){INO_CREDENTIALS, f, VIEW_ADMIN});
}

const struct node_kind node_credentials = {
    .name = "credentials",
    .flags = NODE_REG,
    .load = inv_load,
    .stat = inv_stat,
    .open = inv_open,
    .read = inv_read,
    .stale = inv_stale,
};
