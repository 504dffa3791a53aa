/* ops.c - the FUSE low-level operations: each request goes through the node
 * table (node.h) and is replied to exactly once.
 *
 * Here are the rules every kind shares: what a kind lacks is refused with
 * SPEC §2's errno, who may do what is asked of core (access.h), and before
 * a reply the caches are settled (cache.h), so a value read after a change
 * through the mount is the new one. Inodes are stateless (ino.h): lookup
 * counts need no bookkeeping and forget has nothing to do. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/cache.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "daemon/scratch.h"
#include "nodes/node.h"
#include "nodes/ofile.h"
#include "ops.h"
#include "opsInt.h"
#include "patfs/cfg.h"
#include "patfs/store.h"

static int groups_of(void *req, gid_t *out, int max)
{
	return fuse_req_getgroups(req, max, out);
}

/* Starts request q of req: the caller, and the statements so far. */
void q_init(struct nreq *q, fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	memset(q, 0, sizeof(*q));
	pfs_reason_clear();
	clock_gettime(CLOCK_MONOTONIC, &q->t0);
	q->req = req;
	q->p = fuse_req_userdata(req);
	q->stmts = store_statements();
	q->rows = store_rows();
	q->a.uid = ctx->uid;
	q->a.gid = ctx->gid;
	q->a.pid = ctx->pid;
	access_set_admin(q->p->cfg, &q->a, groups_of, req);
}

/* Ends request q before its reply: waits until the invalidations of what
 * it changed have been sent (nothing to wait for when it changed nothing),
 * and counts its statements when asked to (-o debug_statements). */
void q_done(struct nreq *q, const char *op)
{
	struct timespec t1;

	cache_settle(q->p->cache);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	metrics_request(q->p->metrics, op,
			(double)(t1.tv_sec - q->t0.tv_sec) +
			    (double)(t1.tv_nsec - q->t0.tv_nsec) / 1e9);
	if (q->p->log_statements)
		fuse_log(FUSE_LOG_INFO,
			 "patfs: statements: %s %s %" PRId64 ": %" PRIu64
			 " (rows %" PRIu64 ")\n",
			 op, q->what ? q->what : "-", q->id,
			 store_statements() - q->stmts, store_rows() - q->rows);
	ofile_put(q->p, q->of);
}

void reply_err(struct nreq *q, const char *op, int r)
{
	node_refused(q, op, -r);
	q_done(q, op);
	fuse_reply_err(q->req, -r);
}

/* Loads n and checks that the caller may see it. */
int node_get(struct nreq *q, struct node *n)
{
	int r;

	if (!q->name) /* else a name in it is what a refusal is about */
		q->subject = n;
	r = node_load(q, n);

	return r ? r : access_see(&q->a, &n->obj);
}

void reply_entry(struct nreq *q, const char *op, struct node *n)
{
	const struct node_kind *k = node_kind_of(n->ino);
	struct fuse_entry_param e;
	struct node_attr at;

	node_stat(q, n, &at);
	q->what = k->name;
	q->id = n->ino.id;
	memset(&e, 0, sizeof(e));
	e.attr = at.st;
	e.ino = at.st.st_ino;
	e.generation = k->flags & NODE_GEN ? cache_generation(q->p->cache) : 0;
	e.attr_timeout = at.ttl;
	e.entry_timeout = at.entry_ttl;
	q_done(q, op);
	fuse_reply_entry(q->req, &e);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

/* Resolves name in directory dir (loaded, searchable by the caller). */
int resolve(struct nreq *q, struct node *dir, const char *name,
	    struct node *child)
{
	const struct node_kind *k = node_kind_of(dir->ino);
	uint32_t id;
	int r;

	q->subject = dir;
	if (!(k->flags & NODE_DIR))
		return -ENOTDIR;
	if (strlen(name) > PFS_NAME_MAX)
		return pfs_refuse(ENAMETOOLONG, "a name is at most %d bytes",
				  PFS_NAME_MAX);
	r = node_get(q, dir);
	if (!r)
		r = access_check(&q->a, &dir->obj, ACCESS_X);
	if (!r && (k->flags & NODE_SCRATCH) &&
	    !scratch_find(q->p->scratch,
			  ino_make(dir->ino.kind, dir->ino.sub, dir->ino.id),
			  name, &id)) {
		child->ino = (struct ino){INO_SCRATCH, 0, id};
		r = node_load(q, child);
	} else if (!r) {
		r = k->lookup(q, dir, name, child);
	}
	return r ? r : access_see(&q->a, &child->obj);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node dir = {.ino = ino_split(parent)}, child = {.loaded = false};
	struct nreq q;
	int r;

	q_init(&q, req);
	q.name = name;
	r = resolve(&q, &dir, name, &child);
	if (r)
		return reply_err(&q, "LOOKUP", r);
	reply_entry(&q, "LOOKUP", &child);
}

void reply_attr(struct nreq *q, const char *op, struct node *n)
{
	struct node_attr at;

	node_stat(q, n, &at);
	q->what = node_kind_of(n->ino)->name;
	q->id = n->ino.id;
	q_done(q, op);
	fuse_reply_attr(q->req, &at.st, at.ttl);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct node n = {.ino = ino_split(ino)};
	struct nreq q;
	int r;

	(void)fi;
	q_init(&q, req);
	r = node_get(&q, &n);
	if (r)
		return reply_err(&q, "GETATTR", r);
	reply_attr(&q, "GETATTR", &n);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node n = {.ino = ino_split(ino)};
	const struct node_kind *k = node_kind_of(n.ino);
	char target[PFS_NAME_MAX + 64];
	struct nreq q;
	int r;

	q_init(&q, req);
	r = k->readlink ? node_get(&q, &n) : -EINVAL;
	if (!r)
		r = k->readlink(&q, &n, target, sizeof(target));
	if (r < 0)
		return reply_err(&q, "READLINK", r);
	q_done(&q, "READLINK");
	fuse_reply_readlink(req, target);
}

/* The rights an open with these flags needs. */
static unsigned wanted(int flags)
{
	int acc = flags & O_ACCMODE;

	return acc == O_RDONLY	 ? ACCESS_R
	       : acc == O_WRONLY ? ACCESS_W
				 : ACCESS_R | ACCESS_W;
}

/* Without an open of its own, a kind's files are read from the page cache
 * when the kernel may keep their value (cache.c takes it back when it
 * changes); anything else, and every write, goes to the store. */
static void open_default(struct nreq *q, struct node *n,
			 struct fuse_file_info *fi)
{
	const struct node_kind *k = node_kind_of(n->ino);
	struct node_attr at;

	fi->direct_io = 1;
	if ((k->flags & NODE_PAGES) && (fi->flags & O_ACCMODE) == O_RDONLY) {
		node_stat(q, n, &at);
		if (at.ttl == CACHE_S) {
			fi->direct_io = 0;
			fi->keep_cache = 1;
		}
	}
	fi->noflush = 1; /* close(2) has nothing to wait for */
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node n = {.ino = ino_split(ino)};
	const struct node_kind *k = node_kind_of(n.ino);
	unsigned want = wanted(fi->flags);
	struct nreq q;
	int r;

	q_init(&q, req);
	q.what = k->name;
	q.id = n.ino.id;
	fi->fh = 0;
	r = node_get(&q, &n);
	if (!r && (want & ACCESS_W) && (k->flags & NODE_RO))
		r = -EROFS;
	if (!r)
		r = access_check(&q.a, &n.obj, want);
	if (!r && k->open)
		r = k->open(&q, &n, fi);
	else if (!r)
		open_default(&q, &n, fi);
	if (r)
		return reply_err(&q, "OPEN", r);
	q_done(&q, "OPEN");
	if (fuse_reply_open(req, fi) ==
	    -ENOENT) /* the opener was interrupted */
		ofile_put(q.p, (struct ofile *)(uintptr_t)fi->fh);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct node n = {.ino = ino_split(ino)};
	const struct node_kind *k = node_kind_of(n.ino);
	struct nreq q;
	char *buf = NULL;
	ssize_t got = -EBADF;

	q_init(&q, req);
	q.what = k->name;
	q.id = n.ino.id;
	q.of = ofile_get(q.p, fi->fh);
	q.page_read = fi->lock_owner == 0;
	if (k->read) {
		got = q.of ? 0 : node_get(&q, &n);
		buf = malloc(size ? size : 1);
		if (!buf)
			got = -ENOMEM;
	}
	if (!got)
		got = k->read(&q, &n, buf, size, off);
	if (got < 0)
		reply_err(&q, "READ", (int)got);
	else {
		q_done(&q, "READ");
		fuse_reply_buf(req, buf, (size_t)got);
	}
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct node n = {.ino = ino_split(ino)};
	const struct node_kind *k = node_kind_of(n.ino);
	struct nreq q;
	int r;

	/* like sysfs, each write(2) carries the whole value; off is ignored
	 * but by a tool's temp file */
	q_init(&q, req);
	q.of = ofile_get(q.p, fi->fh);
	q.subject = &n;
	q.off = off;
	if (!k->write)
		r = ops_refusal(k, "it is read-only");
	else if (size > PFS_VALUE_MAX && !(k->flags & NODE_ANY_SIZE))
		r = pfs_refuse(EINVAL,
			       "a value is at most %d bytes, written "
			       "in one write(2)",
			       PFS_VALUE_MAX);
	else
		r = k->write(&q, &n, buf, size);
	if (k->flags & NODE_SECRET_IO)
		sodium_memzero((void *)(uintptr_t)buf, size);
	if (r)
		return reply_err(&q, "WRITE", r);
	q_done(&q, "WRITE");
	fuse_reply_write(req, size);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	ofile_put(fuse_req_userdata(req), (struct ofile *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct node n = {.ino = ino_split(ino)};
	const struct node_kind *k = node_kind_of(n.ino);
	struct node_attr at;
	struct nreq q;
	int r;

	q_init(&q, req);
	q.what = k->name;
	q.id = n.ino.id;
	r = k->flags & NODE_DIR ? node_get(&q, &n) : -ENOTDIR;
	if (!r)
		r = access_check(&q.a, &n.obj, ACCESS_R);
	if (r)
		return reply_err(&q, "OPENDIR", r);
	/* A listing the same for every reader is kept by the kernel until
	 * cache.c takes it back. */
	node_stat(&q, &n, &at);
	if ((k->flags & NODE_LIST_CACHE) && at.ttl == CACHE_S) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	q_done(&q, "OPENDIR");
	fuse_reply_open(req, fi);
}

/* "." and ".." carry no attributes and no lookup in readdirplus. */
static bool add_dots(struct dirbuf *d, off_t off, fuse_ino_t self)
{
	static const char *const names[] = {".", ".."};
	struct fuse_entry_param e;
	size_t n;

	for (off_t i = off; i < 2; i++) {
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = i == 0 ? self : FUSE_ROOT_ID;
		e.attr.st_mode = S_IFDIR;
		if (d->plus)
			n = fuse_add_direntry_plus(d->q->req, d->buf + d->used,
						   d->size - d->used, names[i],
						   &e, i + 1);
		else
			n = fuse_add_direntry(d->q->req, d->buf + d->used,
					      d->size - d->used, names[i],
					      &e.attr, i + 1);
		if (n > d->size - d->used)
			return true;
		d->used += n;
	}
	return false;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, bool plus)
{
	struct node n = {.ino = ino_split(ino)};
	const struct node_kind *k = node_kind_of(n.ino);
	struct nreq q;
	struct dirbuf d = {.q = &q, .size = size, .plus = plus};
	int r;

	q_init(&q, req);
	q.what = k->name;
	q.id = n.ino.id;
	r = k->list ? node_get(&q, &n) : -ENOTDIR;
	if (!r)
		r = access_check(&q.a, &n.obj, ACCESS_R);
	if (!r && !(d.buf = malloc(size ? size : 1)))
		r = -ENOMEM;
	if (!r && !add_dots(&d, off, ino))
		r = k->list(&q, &n, &d, off < 2 ? 2 : off);
	if (r && d.used == 0)
		reply_err(&q, plus ? "READDIRPLUS" : "READDIR", r);
	else {
		q_done(&q, plus ? "READDIRPLUS" : "READDIR");
		fuse_reply_buf(req, d.buf, d.used);
	}
	free(d.buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, true);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = PFS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops ops_table = {
    .init = op_init,
    .lookup = op_lookup,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .release = op_release,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .statfs = op_statfs,
    .create = op_create,
};
