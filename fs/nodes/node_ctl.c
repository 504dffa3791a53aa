/* node_ctl.c - the files that act on a written secret (auth/<scope>,
 * revoke, identify) and the audit trail. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "node.h"
#include "ofile.h"
#include "patfs/audit.h"
#include "patfs/auth.h"
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

/* revoke ----------------------------------------------------------------- */

static int revoke_write(struct nreq *q, struct node *n, const char *buf,
			size_t size)
{
	(void)n;
	return auth_revoke(q->p->auth, &q->a, buf, size);
}

const struct node_kind node_revoke = {
    .name = "revoke",
    .flags = NODE_REG | NODE_SECRET_IO,
    .access = ACCESS_REVOKE,
    .write = revoke_write,
};

/* identify: each write's answer is read back on the same open file -------- */

static int identify_open(struct nreq *q, struct node *n,
			 struct fuse_file_info *fi)
{
	struct ofile *of = ofile_new(OF_IDENTIFY);

	(void)q, (void)n;
	if (!of)
		return -ENOMEM;
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->direct_io = 1;
	return 0;
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
