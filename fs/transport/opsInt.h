/* opsInt.h - what ops.c and ops_change.c share: a request's start and end,
 * the replies, and the operations that change names, modes and owners. */
#ifndef PATFS_OPSINT_H
#define PATFS_OPSINT_H

#include "nodes/node.h"

/* Starts request q of req: the caller, and the statements so far. */
void q_init(struct nreq *q, fuse_req_t req);

/* Ends request q before its reply (cache.h's settle, the statement log). */
void q_done(struct nreq *q, const char *op);

/* Replies -r to q, keeping the refusal and its reason for the caller's
 * why (node_refused). */
void reply_err(struct nreq *q, const char *op, int r);
void reply_entry(struct nreq *q, const char *op, struct node *n);
void reply_attr(struct nreq *q, const char *op, struct node *n);

/* Loads n and checks that the caller may see it; n is then what a refusal
 * is about. */
int node_get(struct nreq *q, struct node *n);

/* Resolves name in directory dir (loaded, searchable by the caller). */
int resolve(struct nreq *q, struct node *dir, const char *name,
	    struct node *child);

/* The errno, with its reason, for a change that kind k does not make:
 * EROFS under expiring/, else EPERM. what is the change refused, in words
 * that end the reason. */
int ops_refusal(const struct node_kind *k, const char *what);

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi);
void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		const char *name);
void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
	       fuse_ino_t newparent, const char *newname, unsigned int flags);
void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	     const char *newname);
void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	      dev_t rdev);
void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi);

#endif
