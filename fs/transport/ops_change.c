/* ops_change.c - the FUSE operations that change names, modes and owners:
 * mkdir and rmdir where a kind makes and removes (users, tokens, projects),
 * and the refusals of everything else, each with its reason. patfs's files
 * are attributes: nothing is renamed, linked, removed or chmod'ed. */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "daemon/scratch.h"
#include "nodes/node.h"
#include "nodes/ofile.h"
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
	"modes, owners and times are patfs's own: they say who may do what "   \
	"(a chmod or chown to what they are is no change)"
#define NOT_REMOVED                                                            \
	"names in patfs are not removed or replaced: a token is revoked "      \
	"(write 1 to its revoked), never deleted"
#define NOT_MADE                                                               \
	"no files or links are made here: patfs's files are attributes "       \
	"(mkdir makes users, tokens, projects and groups)"
#define NOT_RENAMED                                                            \
	"nothing in patfs is renamed: a name is fixed when it is made"

/* Whether setattr asks for what n already shows (chmod, chown to the same:
 * what tools do after writing a value, as cp -p and Ansible do). */
static bool same_attr(struct nreq *q, struct node *n, const struct stat *attr,
		      int to_set)
{
	struct node_attr at;

	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		      FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))
		return false;
	node_stat(q, n, &at);
	return (!(to_set & FUSE_SET_ATTR_MODE) ||
		(attr->st_mode & 07777) == (at.st.st_mode & 07777)) &&
	       (!(to_set & FUSE_SET_ATTR_UID) ||
		attr->st_uid == at.st.st_uid) &&
	       (!(to_set & FUSE_SET_ATTR_GID) || attr->st_gid == at.st.st_gid);
}

/* A tool's temp file takes a size and a mode; owners and times it keeps
 * as they are (what cp -p and Ansible ask is no change worth refusing). */
static int scratch_setattr(struct nreq *q, struct node *n,
			   const struct stat *attr, int to_set)
{
	uint32_t id = (uint32_t)n->ino.id;
	int r = access_check(&q->a, &n->obj, ACCESS_W);

	if (!r && (to_set & FUSE_SET_ATTR_SIZE))
		r = scratch_truncate(q->p->scratch, id, attr->st_size);
	if (!r && (to_set & FUSE_SET_ATTR_MODE))
		r = scratch_chmod(q->p->scratch, id, attr->st_mode);
	if (!r)
		r = node_load(q, n);
	return r;
}

/* Truncation is accepted and does nothing (echo 1 > revoked: the write
 * carries the value); modes, owners and times are not patfs's to change,
 * but a change to what they already are is no change. */
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi)
{
	struct node n = {.ino = ino_split(ino)};
	const struct node_kind *k = node_kind_of(n.ino);
	struct nreq q;
	int r;

	(void)fi;
	q_init(&q, req);
	r = node_get(&q, &n);
	if (!r && n.ino.kind == INO_SCRATCH)
		r = scratch_setattr(&q, &n, attr, to_set);
	else if (!r &&
		 ((k->flags & NODE_RO) || ((to_set & ~FUSE_SET_ATTR_SIZE) &&
					   !same_attr(&q, &n, attr, to_set))))
		r = ops_refusal(k, NOT_MODES);
	else if (!r && (to_set & FUSE_SET_ATTR_SIZE))
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
static int refuse_change(struct nreq *q, struct node *dir, const char *name,
			 struct node *child)
{
	const struct node_kind *k = node_kind_of(dir->ino);
	int r;

	q->subject = dir; /* the caller's: it outlives the reply */
	if (k->flags & NODE_RO)
		return ops_refusal(k, "");
	r = resolve(q, dir, name, child);
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
		struct node child = {.loaded = false};

		r = refuse_change(&q, &dir, name, &child);
	} else {
		r = may_change(&q, &dir);
		if (!r)
			r = k->rmdir(&q, &dir, name);
	}
	reply_err(&q, "RMDIR", r);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node dir = {.ino = ino_split(parent)}, child = {.loaded = false};
	struct nreq q;
	int r;

	q_init(&q, req);
	q.name = name;
	r = refuse_change(&q, &dir, name, &child);
	if (r == -EPERM && child.ino.kind == INO_SCRATCH) { /* a tool's */
		r = access_check(&q.a, &child.obj, ACCESS_W);
		if (!r)
			r = scratch_unlink(q.p->scratch, parent, name);
	}
	reply_err(&q, "UNLINK", r);
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

/* Whether name is one a file of dir's kind may have, present or not (a
 * sealed token has no "token"): no temp file takes it. */
static bool reserved(const struct node *dir, const char *name)
{
	if (dir->ino.kind == INO_TOKEN) {
		for (int i = 0; i < TOKEN_NATTR; i++)
			if (!strcmp(token_attrs[i].name, name))
				return true;
		return false;
	}
	if (!strcmp(name, "tokens") || !strcmp(name, "tokens.json"))
		return true;
	if (dir->ino.kind == INO_USER) {
		for (int i = 0; i < USER_NATTR; i++)
			if (!strcmp(user_attrs[i].name, name))
				return true;
		return false;
	}
	for (int i = 0; i < RESOURCE_NATTR; i++)
		if (!strcmp(resource_attrs[i].name, name))
			return true;
	return false;
}

/* Renames a tool's temp file over the attribute newname of its directory:
 * its content is written there as one write(2) of the whole value, with
 * that write's checks, errno and audit, and the temp file goes. Onto a
 * name that is no file, it is renamed (a temp file has any name). */
static int rename_scratch(struct nreq *q, struct node *dir, const char *name,
			  const char *newname, unsigned flags,
			  struct node *target)
{
	const struct node_kind *k = node_kind_of(dir->ino), *tk;
	char buf[PFS_VALUE_MAX + 1];
	uint64_t parent = ino_make(dir->ino.kind, dir->ino.sub, dir->ino.id);
	uint32_t id;
	size_t len;
	int r = flags ? pfs_refuse(EINVAL, "a temp file is renamed plainly "
					   "(no exchange, no whiteout)")
		      : 0;

	if (!r)
		r = node_get(q, dir);
	if (!r)
		r = access_check(&q->a, &dir->obj, ACCESS_W);
	if (!r && scratch_find(q->p->scratch, parent, newname, &id) == 0) {
		scratch_unlink(q->p->scratch, parent, newname); /* replaced */
		return scratch_rename(q->p->scratch, parent, name, newname);
	}
	if (!r) {
		r = k->lookup(q, dir, newname, target);
		if (r == -ENOENT && reserved(dir, newname))
			return pfs_refuse(EPERM,
					  "%s is a name of patfs's own "
					  "here: a temp file takes "
					  "another",
					  newname);
		if (r == -ENOENT) /* a name of its own */
			return scratch_rename(q->p->scratch, parent, name,
					      newname);
	}
	tk = r ? NULL : node_kind_of(target->ino);
	if (tk && (!(tk->flags & NODE_REG) || !tk->write ||
		   (tk->flags & (NODE_SECRET_IO | NODE_ANY_SIZE))))
		r = pfs_refuse(EPERM,
			       "only a value file takes a temp file's "
			       "content: %s is written directly",
			       newname);
	q->subject = target;
	q->name = NULL;
	if (!r)
		r = node_get(q, target);
	if (!r)
		r = access_check(&q->a, &target->obj, ACCESS_W);
	if (!r)
		r = scratch_content(q->p->scratch, parent, name, &id, buf,
				    &len);
	if (!r && len > PFS_VALUE_MAX)
		r = pfs_refuse(EINVAL, "a value is at most %d bytes",
			       PFS_VALUE_MAX);
	if (!r)
		r = tk->write(q, target, buf, len);
	sodium_memzero(buf, sizeof(buf));
	if (!r)
		r = scratch_unlink(q->p->scratch, parent, name);
	return r;
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
	       fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct node dir = {.ino = ino_split(parent)};
	uint32_t id;

	if ((node_kind_of(dir.ino)->flags & NODE_SCRATCH) &&
	    newparent == parent &&
	    !scratch_find(((struct pfs *)fuse_req_userdata(req))->scratch,
			  parent, name, &id)) {
		struct nreq q;

		q_init(&q, req);
		struct node target = {.loaded = false}; /* outlives the reply */

		q.subject = &dir;
		q.name = newname;
		return reply_err(
		    &q, "RENAME",
		    rename_scratch(&q, &dir, name, newname, flags, &target));
	}
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

/* Whether name is one tools give their temp files: hidden (Ansible's
 * .ansible_tmp..., rsync's, editors'), sed -i's sedXXXXXX, or tmp... or
 * ...~ or ....tmp. Any other new name is refused, so that a mistyped
 * `echo 1 > revokd` fails rather than writing into a file nobody reads. */
static bool temp_name(const char *name)
{
	size_t len = strlen(name);
	bool sed = len == 9 && !strncmp(name, "sed", 3);

	for (size_t i = 3; sed && i < len; i++)
		sed = (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9');
	return name[0] == '.' || sed || !strncmp(name, "tmp", 3) ||
	       name[len - 1] == '~' ||
	       (len > 4 && !strcmp(name + len - 4, ".tmp"));
}

/* Makes a tool's temp file name in dir (a NODE_SCRATCH kind), opened. */
static int create_scratch(struct nreq *q, struct node *dir, const char *name,
			  mode_t mode, struct node *child,
			  struct fuse_file_info *fi)
{
	const struct node_kind *k = node_kind_of(dir->ino);
	struct node there = {.loaded = false};
	uint32_t id;
	int r = may_change(q, dir);

	if (!r && k->lookup(q, dir, name, &there) == 0)
		r = -EEXIST; /* an attribute, or an unlisted name */
	if (!r && reserved(dir, name))
		r = pfs_refuse(EPERM,
			       "%s is a name of patfs's own here: a "
			       "temp file takes another",
			       name);
	if (!r && !temp_name(name))
		r = pfs_refuse(EPERM,
			       "no such file here; a new file is a tool's temp "
			       "file only, named .*, sedXXXXXX, tmp*, *~ or "
			       "*.tmp (to be renamed over a value)");
	if (!r)
		r = scratch_create(
		    q->p->scratch,
		    ino_make(dir->ino.kind, dir->ino.sub, dir->ino.id), name,
		    q->a.uid, mode, &id);
	if (r)
		return r;
	child->ino = (struct ino){INO_SCRATCH, 0, id};
	r = node_get(q, child);
	return r ? r : node_kind_of(child->ino)->open(q, child, fi);
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi)
{
	struct node dir = {.ino = ino_split(parent)}, child = {.loaded = false};
	const struct node_kind *k = node_kind_of(dir.ino);
	struct fuse_entry_param e;
	struct node_attr at;
	struct nreq q;
	int r;

	q_init(&q, req);
	q.subject = &dir;
	q.name = name;
	fi->fh = 0;
	if (k->flags & NODE_SCRATCH) {
		r = create_scratch(&q, &dir, name, mode, &child, fi);
	} else {
		r = ops_refusal(k, NOT_MADE);
		if (r != -EROFS && k->create)
			r = k->create(&q, &dir, name);
	}
	if (r)
		return reply_err(&q, "CREATE", r);
	node_stat(&q, &child, &at);
	memset(&e, 0, sizeof(e));
	e.attr = at.st;
	e.ino = at.st.st_ino;
	q_done(&q, "CREATE");
	if (fuse_reply_create(req, &e, fi) == -ENOENT) /* interrupted */
		ofile_put(q.p, (struct ofile *)(uintptr_t)fi->fh);
}
