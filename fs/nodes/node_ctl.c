/* node_ctl.c - the files that act on a written secret (auth/<scope>,
 * revoke, identify, scan) and the audit trail. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "ofile.h"
#include "patfs/audit.h"
#include "patfs/auth.h"
#include "patfs/cfg.h"
#include "patfs/policy.h"

/* auth/ ------------------------------------------------------------------ */

static int auth_lookup(struct nreq *q, const struct node *dir, const char *name,
		       struct node *child)
{
	int i = policy_scope_index(name, strlen(name));

	(void)dir;
	if (i < 0)
		return -ENOENT;
	child->ino = (struct ino){INO_SCOPE, (unsigned)i, 0};
	return node_load(q, child);
}

static int auth_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		     off_t off)
{
	return node_list_fixed(q, dir, policy_scope_names, POLICY_NSCOPES, d,
			       off);
}

/* `> auth/typo`: no such scope, rather than no permission. */
static int auth_create(struct nreq *q, const struct node *dir, const char *name)
{
	(void)q, (void)dir, (void)name;
	return pfs_refuse(ENOENT, "no such scope: the files in auth/ are the "
				  "scopes a token may have");
}

const struct node_kind node_auth = {
    .name = "auth",
    .flags = NODE_DIR | NODE_LIST_CACHE,
    .access = ACCESS_PUBLIC_DIR,
    .lookup = auth_lookup,
    .list = auth_list,
    .create = auth_create,
};

/* auth/<scope> ----------------------------------------------------------- */

static int scope_write(struct nreq *q, struct node *n, const char *buf,
		       size_t size)
{
	const char *scope = policy_scope_names[n->ino.sub];
	char path[64];

	snprintf(path, sizeof(path), "auth/%s", scope);
	return auth_check(q->p->auth, &q->a, scope, buf, size, path);
}

const struct node_kind node_scope = {
    .name = "scope",
    /* an oversize secret is token_invalid, and logged as such */
    .flags = NODE_REG | NODE_SECRET_IO | NODE_ANY_SIZE,
    .access = ACCESS_CHECKER,
    .nsub = POLICY_NSCOPES,
    .write = scope_write,
};

/* The text an open file of scan or revoke was written: each write(2) adds
 * to it, up to SCAN_MAX bytes. */
#define SCAN_MAX (1u << 20)

/* An open file of kind that answers what was written on it. */
static int open_answering(enum ofile_kind kind, struct fuse_file_info *fi)
{
	struct ofile *of = ofile_new(kind);

	if (!of)
		return -ENOMEM;
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->direct_io = 1;
	return 0;
}

static int scan_open(struct nreq *q, struct node *n, struct fuse_file_info *fi)
{
	(void)q, (void)n;
	return open_answering(OF_SCAN, fi);
}

/* Adds buf[size] to of's text: 0, or -errno (the text is as before). */
static int scan_add(struct ofile *of, const char *buf, size_t size)
{
	size_t cap = of->scan_cap ? of->scan_cap : 65536;
	char *more;

	if (of->scan_len + size > SCAN_MAX)
		return pfs_refuse(EFBIG,
				  "a text to scan is at most %u bytes "
				  "(one open file)",
				  SCAN_MAX);
	while (cap < of->scan_len + size)
		cap *= 2;
	if (cap != of->scan_cap) { /* moved, never realloc'd: it is wiped */
		more = sodium_malloc(cap);
		if (!more)
			return -ENOMEM;
		if (of->scan)
			memcpy(more, of->scan, of->scan_len);
		sodium_free(of->scan);
		of->scan = more;
		of->scan_cap = cap;
	}
	memcpy(of->scan + of->scan_len, buf, size);
	of->scan_len += size;
	of->scanned = false;
	return 0;
}

/* revoke ----------------------------------------------------------------- */

/* One secret, as the first write: revokes its token (EKEYREJECTED when it
 * is none). Any other text: every token it holds, on each write (the text
 * so far: a secret cut in two by write(2) is found whole), and 0 when it
 * holds none (a long log's first piece may hold nothing). */
static int revoke_write(struct nreq *q, struct node *n, const char *buf,
			size_t size)
{
	struct ofile *of = q->of;
	size_t len = policy_value_len(buf, size);
	int revoked, r;

	(void)n;
	if (!of || (!of->scan_len && !cfg_check_secret(q->p->cfg, buf, len)))
		return auth_revoke(q->p->auth, &q->a, buf, size);
	pthread_mutex_lock(&of->lock);
	r = scan_add(of, buf, size);
	if (!r)
		r = auth_revoke_text(q->p->auth, &q->a, of->scan, of->scan_len,
				     &revoked);
	pthread_mutex_unlock(&of->lock);
	return r == -EKEYREJECTED ? 0 : r;
}

const struct node_kind node_revoke = {
    .name = "revoke",
    .flags = NODE_REG | NODE_SECRET_IO | NODE_ANY_SIZE,
    .access = ACCESS_REVOKE,
    .open = scan_open,
    .write = revoke_write,
};

/* scan: write any text, read back what it holds, a line each ------------- */

static int scan_write(struct nreq *q, struct node *n, const char *buf,
		      size_t size)
{
	int r;

	(void)n;
	if (!q->of)
		return -EBADF;
	pthread_mutex_lock(&q->of->lock);
	r = scan_add(q->of, buf, size);
	pthread_mutex_unlock(&q->of->lock);
	return r;
}

struct answer {
	char *text;
	size_t len, cap;
};

/* "LINE:COLUMN ID OWNER STATE PATH", "-" for what an unknown one lacks. */
static int add_found(void *ctx, const struct auth_found *f)
{
	struct answer *a = ctx;
	char line[PFS_NAME_MAX * 2 + 128], path[OBJECT_MAX] = "-", id[24] = "-";
	int n;

	if (f->t) {
		token_path(f->t, path, sizeof(path));
		snprintf(id, sizeof(id), "%" PRId64, f->t->id);
	}
	n = snprintf(line, sizeof(line), "%zu:%zu %s %s %s %s\n", f->line,
		     f->column, id, f->t ? f->t->user_name : "-", f->state,
		     path);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EIO;
	if (a->len + (size_t)n > a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 4096;
		char *p;
		while (cap < a->len + (size_t)n)
			cap *= 2;
		p = realloc(a->text, cap);
		if (!p)
			return -ENOMEM;
		a->text = p;
		a->cap = cap;
	}
	memcpy(a->text + a->len, line, (size_t)n);
	a->len += (size_t)n;
	return 0;
}

/* Reads on from its own position, as identify's; a read after a write
 * answers for the whole text written so far. */
static ssize_t scan_read(struct nreq *q, struct node *n, char *buf, size_t size,
			 off_t off)
{
	struct ofile *of = q->of;
	struct answer a = {0};
	size_t len;
	int r = 0;

	(void)n, (void)off;
	if (!of)
		return -EBADF;
	pthread_mutex_lock(&of->lock);
	if (!of->scanned) {
		r = auth_scan(q->p->auth, of->scan ? of->scan : "",
			      of->scan_len, add_found, &a);
		if (!r) {
			free(of->found);
			of->found = a.text;
			of->found_len = a.len;
			of->rpos = 0;
			of->scanned = true;
		} else {
			free(a.text);
		}
	}
	len = r ? 0 : of->found_len - of->rpos;
	len = len < size ? len : size;
	if (len)
		memcpy(buf, of->found + of->rpos, len);
	of->rpos += len;
	pthread_mutex_unlock(&of->lock);
	return r ? r : (ssize_t)len;
}

const struct node_kind node_scan = {
    .name = "scan",
    .flags = NODE_REG | NODE_SECRET_IO | NODE_ANY_SIZE,
    .access = ACCESS_IDENTIFY,
    .open = scan_open,
    .read = scan_read,
    .write = scan_write,
};

/* identify: each write's answer is read back on the same open file -------- */

static int identify_open(struct nreq *q, struct node *n,
			 struct fuse_file_info *fi)
{
	(void)q, (void)n;
	return open_answering(OF_IDENTIFY, fi);
}

static int identify_write(struct nreq *q, struct node *n, const char *buf,
			  size_t size)
{
	struct ofile *of = q->of;
	char answer[sizeof(of->answer)];
	struct token_info t;
	int r, len = 0;

	(void)n;
	if (!of)
		return -EBADF;
	r = auth_find(q->p->auth, buf, size, &t);
	if (!r) {
		len = snprintf(answer, sizeof(answer),
			       "users/%s/tokens/%" PRId64 "\n", t.user_name,
			       t.id);
		if (len < 0 || (size_t)len >= sizeof(answer))
			r = -EIO;
	}
	pthread_mutex_lock(&q->p->lock);
	of->alen = r ? 0 : (size_t)len;
	of->rpos = 0;
	memcpy(of->answer, answer, of->alen);
	pthread_mutex_unlock(&q->p->lock);
	return r;
}

/* Reads on from its own position: the answer follows the write, whatever
 * the file offset, so `exec 3<>identify` works from the shell. */
static ssize_t identify_read(struct nreq *q, struct node *n, char *buf,
			     size_t size, off_t off)
{
	struct ofile *of = q->of;
	size_t len;

	(void)n, (void)off;
	if (!of)
		return -EBADF;
	pthread_mutex_lock(&q->p->lock);
	len = of->alen - of->rpos < size ? of->alen - of->rpos : size;
	memcpy(buf, of->answer + of->rpos, len);
	of->rpos += len;
	pthread_mutex_unlock(&q->p->lock);
	return (ssize_t)len;
}

const struct node_kind node_identify = {
    .name = "identify",
    .flags = NODE_REG | NODE_SECRET_IO,
    .access = ACCESS_IDENTIFY,
    .open = identify_open,
    .read = identify_read,
    .write = identify_write,
};

/* audit.log -------------------------------------------------------------- */

static int audit_load(struct nreq *q, struct node *n)
{
	uint64_t size;
	int r = audit_stat(q->p->st, &size, &n->mtime);

	n->count = (int64_t)size;
	n->obj = access_of(ACCESS_AUDIT, 0, -1);
	return r;
}

static void audit_stat_node(struct nreq *q, const struct node *n,
			    struct node_attr *out)
{
	node_fill(q, n, out, (uint64_t)n->count, 1,
		  n->mtime ? n->mtime : q->p->started);
	out->ttl = 0.0; /* it grows with every change */
}

static ssize_t audit_read_node(struct nreq *q, struct node *n, char *buf,
			       size_t size, off_t off)
{
	(void)n;
	return off < 0 ? -EINVAL
		       : audit_read(q->p->st, (uint64_t)off, buf, size);
}

const struct node_kind node_audit = {
    .name = "audit.log",
    .flags = NODE_REG,
    .load = audit_load,
    .stat = audit_stat_node,
    .read = audit_read_node,
};
