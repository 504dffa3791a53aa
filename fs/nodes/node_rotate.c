/* node_rotate.c - rotation's nodes: a token's previous and next (symlinks
 * to the token it replaced and the one that replaced it), and the root's
 * rotate, where a token's holder trades its secret for its successor's. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "node.h"
#include "ofile.h"
#include "patfs/auth.h"
#include "patfs/secret.h"

/* previous, next -> ../<id> ----------------------------------------------- */

static int64_t rel_target_id(const struct token_info *t, unsigned attr)
{
	return attr == TOKEN_PREVIOUS ? t->previous_id : t->next_id;
}

int token_rel_lookup(const struct token_info *t, int attr, unsigned alias,
		     struct node *child)
{
	if (!rel_target_id(t, (unsigned)attr))
		return -ENOENT;
	child->ino = (struct ino){INO_TOKEN_REL, (unsigned)attr | alias, t->id};
	if (&child->token != t)
		child->token = *t;
	child->obj = access_of_token(&child->token, attr);
	child->loaded = true;
	return 0;
}

static int rel_load(struct nreq *q, struct node *n)
{
	unsigned attr = n->ino.sub & ~INO_FLAGS;
	struct token_info t;
	int r;

	if (attr != TOKEN_PREVIOUS && attr != TOKEN_NEXT)
		return -ENOENT;
	r = token_get(q->p->st, n->ino.id, &t);
	if (!r && (n->ino.sub & INO_ALIAS) && !token_active(&t, time(NULL)))
		r = -ENOENT; /* tokens/<name> names another token now */
	return r ? r
		 : token_rel_lookup(&t, (int)attr, n->ino.sub & INO_ALIAS, n);
}

/* Both tokens have one owner: the target lies beside. */
static int rel_target(const struct node *n, char *buf, size_t size)
{
	int len = snprintf(buf, size, "../%" PRId64,
			   rel_target_id(&n->token, n->ino.sub & ~INO_FLAGS));

	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : len;
}

static void rel_stat(struct nreq *q, const struct node *n,
		     struct node_attr *out)
{
	char target[32];
	int len = rel_target(n, target, sizeof(target));
	bool next = (n->ino.sub & ~INO_FLAGS) == TOKEN_NEXT;

	/* next appears at the rotation: the revocation of this token */
	node_fill(q, n, out, len > 0 ? (uint64_t)len : 0,
		  node_token_links(&n->token),
		  next ? n->token.revoked_at : n->token.created_at);
	if (n->ino.sub & INO_ALIAS)
		out->ttl = out->entry_ttl = 0.0;
}

static int rel_readlink(struct nreq *q, const struct node *n, char *buf,
			size_t size)
{
	(void)q;
	return rel_target(n, buf, size);
}

static void rel_stale(const struct store_change *ch, ino_inval_fn *inval,
		      void *ctx)
{
	if (ch->kind != STORE_CH_TOKEN ||
	    !(ch->fields & token_attrs[TOKEN_PREVIOUS].deps))
		return;
	for (unsigned a = TOKEN_PREVIOUS; a <= TOKEN_NEXT; a++)
		inval(ctx, (struct ino){INO_TOKEN_REL, a, ch->token_id});
}

const struct node_kind node_token_rel = {
    .name = "token link",
    .flags = NODE_LNK | NODE_GEN,
    .load = rel_load,
    .stat = rel_stat,
    .readlink = rel_readlink,
    .stale = rel_stale,
};

/* rotate: write a secret, read its successor's on the same open file ------ */

/* Read and write: a write-only open would rotate the token and lose the
 * successor's secret with it. */
static int self_open(struct nreq *q, struct node *n, struct fuse_file_info *fi)
{
	struct ofile *of;

	(void)q, (void)n;
	if ((fi->flags & O_ACCMODE) == O_WRONLY)
		return -EINVAL;
	of = ofile_new(OF_ROTATE);
	if (!of)
		return -ENOMEM;
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->direct_io = 1;
	return 0;
}

static int self_write(struct nreq *q, struct node *n, const char *buf,
		      size_t size)
{
	struct ofile *of = q->of;
	char *secret;
	int len;

	(void)n;
	if (!of || of->kind != OF_ROTATE)
		return -EBADF;
	secret = sodium_malloc(SECRET_MAX);
	if (!secret)
		return -ENOMEM;
	len = auth_rotate(q->p->auth, &q->a, buf, size, "rotate", secret,
			  SECRET_MAX - 1);
	if (len < 0) {
		sodium_free(secret);
		return len;
	}
	secret[len] = '\n';
	pthread_mutex_lock(&of->lock);
	sodium_free(of->secret); /* a successor not read is gone */
	of->secret = secret;
	of->len = (size_t)len + 1;
	of->rpos = 0;
	pthread_mutex_unlock(&of->lock);
	return 0;
}

/* Reads on from its own position, whatever the file offset (as identify);
 * the secret is wiped once read to its end. */
static ssize_t self_read(struct nreq *q, struct node *n, char *buf, size_t size,
			 off_t off)
{
	struct ofile *of = q->of;
	size_t len = 0;

	(void)n, (void)off;
	if (!of || of->kind != OF_ROTATE)
		return -EBADF;
	if (q->page_read)
		return -EACCES;
	pthread_mutex_lock(&of->lock);
	if (of->secret) {
		len = of->len - of->rpos < size ? of->len - of->rpos : size;
		memcpy(buf, of->secret + of->rpos, len);
		of->rpos += len;
		if (of->rpos == of->len) {
			sodium_free(of->secret);
			of->secret = NULL;
		}
	}
	pthread_mutex_unlock(&of->lock);
	return (ssize_t)len;
}

const struct node_kind node_self_rotate = {
    .name = "rotate",
    .flags = NODE_REG | NODE_SECRET_IO,
    .access = ACCESS_SELF_ROTATE,
    .open = self_open,
    .read = self_read,
    .write = self_write,
};
