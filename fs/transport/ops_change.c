/* ops_change.c - the FUSE operations that change names, modes and owners:
 * mkdir and rmdir where a kind makes and removes (users, tokens, projects),
 * and the refusals of everything else, each with its reason. patfs's files
 * are attributes: nothing is renamed, linked, removed or chmod'ed. */
#include <errno.h>

#include "nodes/node.h"
#include "opsInt.h"
#include "patfs/pfs.h"

int ops_refusal(const struct node_kind *k, const char *what)
{
	if (k->flags & NODE_RO)
		return pfs_refuse(EROFS, "expiring/ is read-only: it shows "
					 "when tokens expire (write a "
					 "token's expires_at instead)");
	return pfs_refuse(EPERM, "%s", what);
}

#define NOT_MODES                                                              \
	"modes, owners and times are patfs's own: they say who may do what"
#define NOT_REMOVED                                                            \
	"names in patfs are not removed or replaced: a token is revoked "      \
	"(write 1 to its revoked), never deleted"
#define NOT_MADE                                                               \
	"no files or links are made here: patfs's files are attributes "       \
	"(mkdir makes users, tokens, projects and groups)"
#define NOT_RENAMED                                                            \
	"nothing in patfs is renamed: a name is fixed when it is made"

/* Truncation is accepted and does nothing (echo 1 > revoked: the write
 * carries the value); modes, owners and times are not patfs's to change. */
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi)
{
	struct node n = {.ino = ino_split(ino)};
	const struct node_kind *k = node_kind_of(n.ino);
	struct nreq q;
	int r;

	(void)attr, (void)fi;
	q_init(&q, req);
	r = node_get(&q, &n);
	if (!r && ((k->flags & NODE_RO) ||
		   (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
			      FUSE_SET_ATTR_GID | FUSE_SET_ATTR_ATIME |
			      FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			      FUSE_SET_ATTR_MTIME_NOW))))
		r = ops_refusal(k, NOT_MODES);
	else if (!r)
		r = access_check(&q.a, &n.obj, ACCESS_W);
	if (r)
		return reply_err(&q, "SETATTR", r);
	reply_attr(&q, "SETATTR", &n);
}

/* Loads dir for a change of one of its names: 0 when the caller may. */
static int may_change(struct nreq *q, struct node *dir)
{
	const struct node_kind *k = node_kind_of(dir->ino);
	int r;

	q->subject = dir;
	if (k->flags & NODE_RO)
		return ops_refusal(k, "");
	r = node_get(q, dir);
	return r ? r : access_check(&q->a, &dir->obj, ACCESS_W);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct node dir = {.ino = ino_split(parent)}, child = {.loaded = false};
	const struct node_kind *k = node_kind_of(dir.ino);
	struct nreq q;
	int r;

	(void)mode;
	q_init(&q, req);
	q.name = name;
	r = may_change(&q, &dir);
	if (!r && !k->mkdir)
		r = ops_refusal(k, NOT_MADE);
	if (!r)
		r = k->mkdir(&q, &dir, name, &child);
	if (!r)
		r = node_get(&q, &child);
	if (r)
		return reply_err(&q, "MKDIR", r);
	reply_entry(&q, "MKDIR", &child);
}

/* Refuses removing or replacing name in parent: EROFS under expiring/,
 * EPERM when it exists (tokens are revoked, never deleted), ENOENT or
 * EACCES when the caller cannot reach it. */
static int refuse_change(struct nreq *q, fuse_ino_t parent, const char *name)
{
	struct node dir = {.ino = ino_split(parent)}, child = {.loaded = false};
	const struct node_kind *k = node_kind_of(dir.ino);
	int r;

	if (k->flags & NODE_RO)
		return ops_refusal(k, "");
	r = resolve(q, &dir, name, &child);
	return r ? r : ops_refusal(k, NOT_REMOVED);
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node dir = {.ino = ino_split(parent)};
	const struct node_kind *k = node_kind_of(dir.ino);
	struct nreq q;
	int r;

	q_init(&q, req);
	q.name = name;
	if (!k->rmdir) {
		r = refuse_change(&q, parent, name);
	} else {
		r = may_change(&q, &dir);
		if (!r)
			r = k->rmdir(&q, &dir, name);
	}
	reply_err(&q, "RMDIR", r);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct nreq q;

	q_init(&q, req);
	q.name = name;
	reply_err(&q, "UNLINK", refuse_change(&q, parent, name));
}

/* A change of a name refused whatever it is: q's subject is dir. */
static void refuse_in(fuse_req_t req, const char *op, fuse_ino_t parent,
		      const char *name, const char *what)
{
	struct node dir = {.ino = ino_split(parent)};
	struct nreq q;

	q_init(&q, req);
	q.subject = &dir;
	q.name = name;
	reply_err(&q, op, ops_refusal(node_kind_of(dir.ino), what));
}

void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		const char *name)
{
	(void)link;
	refuse_in(req, "SYMLINK", parent, name, NOT_MADE);
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
	       fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	(void)flags;
	if (!(node_kind_of(ino_split(parent))->flags & NODE_RO) &&
	    (node_kind_of(ino_split(newparent))->flags & NODE_RO))
		parent = newparent, name = newname; /* EROFS from either */
	refuse_in(req, "RENAME", parent, name, NOT_RENAMED);
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	     const char *newname)
{
	(void)ino;
	refuse_in(req, "LINK", newparent, newname, NOT_MADE);
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	      dev_t rdev)
{
	(void)mode, (void)rdev;
	refuse_in(req, "MKNOD", parent, name, NOT_MADE);
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi)
{
	struct node dir = {.ino = ino_split(parent)};
	const struct node_kind *k = node_kind_of(dir.ino);
	struct nreq q;
	int r;

	(void)mode, (void)fi;
	q_init(&q, req);
	q.subject = &dir;
	q.name = name;
	r = ops_refusal(k, NOT_MADE);
	if (r != -EROFS && k->create)
		r = k->create(&q, &dir, name);
	reply_err(&q, "CREATE", r);
}
