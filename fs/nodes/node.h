/* node.h - one kind of node, one unit.
 *
 * Every inode of patfs is of one kind (ino.h). A kind is a struct node_kind:
 * its flags and the operations it supports, in the node_*.c file of its
 * area (docs/design.md lists them).
 * ops.c turns each FUSE request into calls of these operations and replies
 * once; an operation a kind lacks is refused there, with the errno SPEC §2
 * gives. Who may do what is asked of core (patfs/access.h) by ops.c, from
 * the access_obj that each kind's load fills in: a kind decides nothing.
 *
 * A new kind needs: its line in ino.h's INO_KINDS (which makes its ino_kind,
 * its declaration here and its place in node.c's table), a struct node_kind
 * in the file of its area (with a stale operation if the kernel may keep
 * it), and a way in: a name in its parent's lookup and list. */
#ifndef PATFS_NODE_H
#define PATFS_NODE_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "daemon/daemon.h"
#include "ino.h"
#include "patfs/access.h"
#include "patfs/resource.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "patfs/user.h"

/* How long the kernel may keep what cache.c takes back when the store
 * changes it, in seconds. */
#define CACHE_S 86400.0

/* Readdir offsets 1 and 2 are "." and ".."; a listing starts at 3. */
#define OFF_FIRST 3

/* A node as one request sees it: its inode, and the row fetched for it
 * (once per request: load fills it, everything after reads it). */
struct node {
	struct ino ino;
	bool loaded;
	struct access_obj obj;	  /* what it is to access.h */
	struct user_info user;	  /* the user, of nodes below users/<u>/ */
	struct token_info token;  /* the token, of a token's nodes and links */
	struct resource_info res; /* the project or group, of nodes below
				     projects/<p>/ and groups/<g>/ */
	int64_t count;		  /* audit.log: bytes */
	int64_t mtime;		  /* audit.log: the last record */
};

/* One request: who asks, and the open file it is made on, if any. */
struct nreq {
	fuse_req_t req;
	struct pfs *p;
	struct pfs_actor a;
	struct ofile *of;
	uint64_t stmts;	  /* store_statements() when it began */
	uint64_t rows;	  /* store_rows() when it began */
	const char *what; /* the kind it is about, for the statement log */
	int64_t id;	  /* and its id */
	/* what a refusal is about (node_refused): a node, and a name in it */
	struct node *subject;
	const char *name;
	off_t off; /* a write's offset (only temp files heed it) */
	/* a READ for the page cache (a mapping), not for a read(2): the
	 * kernel names a lock owner for direct reads and none for those */
	bool page_read;
	struct timespec t0; /* when it arrived */
};

/* What a stat says, and for how long the kernel may keep it. */
struct node_attr {
	struct stat st;
	double ttl;	  /* attributes */
	double entry_ttl; /* the name */
};

/* A listing in progress: the reply buffer and what fills it. */
struct dirbuf {
	struct nreq *q;
	char *buf;
	size_t size, used;
	bool plus; /* readdirplus: entries carry their attributes */
	bool full;
};

enum node_flags {
	NODE_DIR = 1 << 0,
	NODE_REG = 1 << 1,
	NODE_LNK = 1 << 2,
	NODE_RO = 1 << 3,	  /* every change is EROFS (expiring/) */
	NODE_GEN = 1 << 4,	  /* dropped with a new generation (cache.h) */
	NODE_PAGES = 1 << 5,	  /* read-only opens may use the page cache */
	NODE_LIST_CACHE = 1 << 6, /* the listing is the same for all readers */
	NODE_SECRET_IO = 1 << 7,  /* writes carry a secret: wiped after */
	NODE_ANY_SIZE = 1 << 8,	  /* writes over PFS_VALUE_MAX reach write */
	NODE_UNLISTED = 1 << 9,	  /* reachable by name, never in a listing */
	NODE_SCRATCH = 1 << 10,	  /* tools' temp files may be made in it */
};

/* The operations of a kind. Each returns 0 (or a length) or -errno and
 * never replies; a NULL operation is refused by ops.c. */
struct node_kind {
	const char *name;
	unsigned flags;
	/* fetches n's row and fills n->obj (n->ino is set). Without it,
	 * every inode of the kind whose sub is below nsub (any, when nsub is
	 * 0) is there since the mount, its object access_of(access, 0, -1) */
	int (*load)(struct nreq *q, struct node *n);
	enum access_kind access;
	unsigned nsub;
	/* n is loaded. Without it: size 0, nlink links (0: 2 for a directory,
	 * 1 for a file), the mount's start as its times */
	void (*stat)(struct nreq *q, const struct node *n,
		     struct node_attr *out);
	nlink_t nlink;
	/* dir is loaded; on success child is identified and loaded */
	int (*lookup)(struct nreq *q, const struct node *dir, const char *name,
		      struct node *child);
	/* adds the entries after offset off (>= 2) to d */
	int (*list)(struct nreq *q, const struct node *dir, struct dirbuf *d,
		    off_t off);
	/* after the access check; may set fi and q->of's successor in fi->fh.
	 * Without it: direct I/O, or the page cache (NODE_PAGES) */
	int (*open)(struct nreq *q, struct node *n, struct fuse_file_info *fi);
	/* n is loaded unless the request is on an open file (q->of) */
	ssize_t (*read)(struct nreq *q, struct node *n, char *buf, size_t size,
			off_t off);
	int (*write)(struct nreq *q, struct node *n, const char *buf,
		     size_t size);
	/* dir is loaded; on success child is identified (ops.c loads it) */
	int (*mkdir)(struct nreq *q, const struct node *dir, const char *name,
		     struct node *child);
	int (*rmdir)(struct nreq *q, const struct node *dir, const char *name);
	/* creating a file named name; without it, EPERM */
	int (*create)(struct nreq *q, const struct node *dir, const char *name);
	int (*readlink)(struct nreq *q, const struct node *n, char *buf,
			size_t size);
	/* names through inval each inode of this kind that change ch may
	 * have made stale, and only those that can exist; runs on cache.c's
	 * thread. Without it: the kind's inodes are never kept by the kernel
	 * beyond what no change affects (a ttl of 0, or fixed content) */
	void (*stale)(const struct store_change *ch, ino_inval_fn *inval,
		      void *ctx);
};

/* The kinds (ino.h's INO_KINDS), each defined in the file of its area. */
#define NODE_KIND_DECL(kind, node) extern const struct node_kind node;
INO_KINDS(NODE_KIND_DECL)
#undef NODE_KIND_DECL

/* Asks every kind which of its inodes change ch made stale (kind.stale). */
void node_stale(const struct store_change *ch, ino_inval_fn *inval, void *ctx);

/* The kind of inode n; an unknown one is refused as absent. */
const struct node_kind *node_kind_of(struct ino n);

/* Loads n once: 0 or -errno (-ENOENT for an unknown inode). */
int node_load(struct nreq *q, struct node *n);

/* What n's kind says of n (kind.stat). */
void node_stat(struct nreq *q, const struct node *n, struct node_attr *out);

/* Fills out for n: type and mode bits from access.h, size, links, time. */
void node_fill(struct nreq *q, const struct node *n, struct node_attr *out,
	       uint64_t size, nlink_t nlink, int64_t mtime);

/* Adds an entry named name for node n (loaded), next at offset next.
 * Returns true when the buffer is full. */
bool node_dir_add(struct dirbuf *d, const char *name, const struct node *n,
		  off_t next);

/* The name of entry i of a directory whose names are fixed (ctx: what the
 * function needs to know). */
typedef const char *node_name_fn(const void *ctx, int i);

/* A listing of rows in progress, as a store's list function hands it to its
 * callback: the request, the directory and its reply buffer, the child
 * being added, and what the kind needs besides (sub: flags of the
 * children's inodes; now: the time of the listing). */
struct node_listing {
	struct nreq *q;
	const struct node *dir;
	struct dirbuf *d;
	struct node child;
	unsigned sub;
	int64_t now;
};

/* Adds l->child, loaded, named by its decimal id, next at offset next. */
int node_add_id(struct node_listing *l, int64_t id, off_t next);

/* The id a listing from offset off goes on after (offsets are ids +
 * OFF_FIRST). */
static inline int64_t node_after(off_t off)
{
	return off < OFF_FIRST ? 0 : off - OFF_FIRST;
}

/* Lists the count names of dir from offset off, each looked up through
 * dir's kind (names that do not resolve for the caller are left out). */
int node_list_names(struct nreq *q, const struct node *dir,
		    node_name_fn *name_at, const void *ctx, int count,
		    struct dirbuf *d, off_t off);

/* The index of name among the count names, or -1. */
int node_name_index(node_name_fn *name_at, const void *ctx, int count,
		    const char *name);

/* Lists fixed names[] of dir from offset off, each looked up through dir's
 * kind (names that do not resolve for the caller are left out). */
int node_list_fixed(struct nreq *q, const struct node *dir,
		    const char *const *names, int count, struct dirbuf *d,
		    off_t off);

/* The same, of count rows of stride bytes each, whose first member is the
 * name (a const char *): a table such as token_attrs[]. */
int node_list_rows(struct nreq *q, const struct node *dir, const void *rows,
		   size_t stride, int count, struct dirbuf *d, off_t off);

/* Makes child a link (INO_LINK) to token t, a level deeper than
 * expiring/<date>/'s when deep is INO_DEEP (node_expiring.c). */
void node_link_to(struct node *child, const struct token_info *t,
		  unsigned deep);

/* Looks name up among names[count], the children of a directory whose
 * child i is the inode (kind, i, 0): child loaded, or -ENOENT. */
int node_lookup_sub(struct nreq *q, const char *const *names, int count,
		    enum ino_kind kind, const char *name, struct node *child);

/* The attributes of a directory of links that come and go with the tokens
 * and the clock (expiring/'s dates and windows, unused/'s): its name is
 * asked for again at every walk. */
void node_links_dir_stat(struct nreq *q, const struct node *n,
			 struct node_attr *out);

/* The index of name in names[count], or -1. */
int node_index_of(const char *const *names, int count, const char *name);

/* Copies the slice [off, off + size) of the len bytes at src into buf:
 * the length copied. */
ssize_t node_slice(const char *src, size_t len, char *buf, size_t size,
		   off_t off);

/* A tokens/ directory's owner: a user, or a project or group. */
enum node_owner { NODE_OWNER_USER, NODE_OWNER_RESOURCE, NODE_NOWNERS };

/* The lookup, listing and mkdir of the tokens/ of owner (a user's or a
 * resource's id), one for both kinds of directory (node_token.c). */
int node_tokens_lookup(struct nreq *q, enum node_owner which, int64_t owner,
		       const char *name, struct node *child);
int node_tokens_list(struct nreq *q, enum node_owner which, int64_t owner,
		     struct dirbuf *d, off_t off);
int node_tokens_mkdir(struct nreq *q, enum node_owner which, int64_t owner,
		      const char *name, struct node *child);

/* The links of a token's file (not its directory, which has one place in
 * the kernel's tree): its attributes, secret and links are one inode, named
 * below its bot and below its project or group, so a change takes back one
 * inode however many places the kernel holds. */
static inline nlink_t node_token_links(const struct token_info *t)
{
	return token_in_resource(t) ? 2 : 1;
}

/* Makes child t's link attr (TOKEN_PREVIOUS or TOKEN_NEXT; alias: the
 * INO_ALIAS bit of the way there), loaded: 0, or -ENOENT when t has none. */
int token_rel_lookup(const struct token_info *t, int attr, unsigned alias,
		     struct node *child);

/* Parses a decimal id without leading zeros: 0 or -ENOENT. */
int node_parse_id(const char *name, int64_t *id);

/* Keeps request q's refusal (op, errno err) with core's reason for the
 * caller's file why, and logs it under -o debug; what is not a refusal (a
 * name not there, without a reason) is let go. */
void node_refused(struct nreq *q, const char *op, int err);

#endif
