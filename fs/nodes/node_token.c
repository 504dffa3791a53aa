/* node_token.c - users/<u>/tokens/, a token's directory, its attributes and
 * its read-once secret. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node.h"
#include "ofile.h"
#include "patfs/secret.h"

/* How long the kernel may keep the attributes (entry: the name) of a
 * token's node. Not at all for the secret, nor when reached by name
 * (tokens/<name> follows the active token). The name of an impersonation
 * token's directory is asked for again at each walk, because it resolves
 * for admins only (its owner must get ENOENT); what lies inside can be kept,
 * since only those who may see it get there. `active` turns at midnight:
 * cache.c takes back the day's expiring tokens then. */
static double token_ttl(const struct token_info *t, const struct ino *n,
			bool entry)
{
	if ((n->sub & INO_ALIAS) || n->kind == INO_SECRET)
		return 0.0;
	if (entry && n->kind == INO_TOKEN && t->impersonation)
		return 0.0;
	return CACHE_S;
}

/* Makes child token t's node of kind (attr: its sub), loaded. */
static void token_node(struct node *child, const struct token_info *t,
		       enum ino_kind kind, unsigned sub)
{
	int attr = kind == INO_TOKEN	? -1
		   : kind == INO_SECRET ? TOKEN_SECRET
					: (int)(sub & ~INO_FLAGS);

	child->ino = (struct ino){kind, sub, t->id};
	if (&child->token != t)
		child->token = *t;
	child->obj = access_of_token(&child->token, attr);
	child->loaded = true;
}

/* Fetches the token of n: 0, or -ENOENT when an alias (tokens/<name>) no
 * longer names an active token. */
static int token_fetch(struct nreq *q, struct node *n)
{
	int r = token_get(q->p->st, n->ino.id, &n->token);

	if (!r && (n->ino.sub & INO_ALIAS) &&
	    !token_active(&n->token, time(NULL)))
		r = -ENOENT;
	if (!r && (n->ino.sub & INO_VIA) && !token_in_resource(&n->token))
		r = -ENOENT; /* the project or group was removed */
	return r;
}

/* users/<u>/tokens/ ------------------------------------------------------ */

static int tokens_load(struct nreq *q, struct node *n)
{
	int r = user_get(q->p->st, n->ino.id, &n->user);

	n->obj = access_of(ACCESS_TOKENS, 0, r ? -1 : n->user.uid);
	return r;
}

static void tokens_stat(struct nreq *q, const struct node *n,
			struct node_attr *out)
{
	node_fill(q, n, out, 0, (nlink_t)(2 + n->user.ntokens),
		  n->user.created_at);
}

/* Who a tokens/ directory belongs to: a user (users/<u>/tokens/), or a
 * project or group (projects/<p>/tokens/, whose tokens' nodes carry
 * INO_VIA). The two directories are one listing, lookup and mkdir over
 * these. */
struct token_owner {
	unsigned via;
	int (*find)(struct store *st, int64_t owner, const char *name,
		    size_t len, int64_t *id);
	int (*list)(struct store *st, int64_t owner, int64_t after,
		    token_list_fn *fn, void *ctx);
	int (*mint)(struct store *st, const struct pfs_actor *a, int64_t owner,
		    const char *name, size_t len, int64_t *id);
};

static const struct token_owner owners[NODE_NOWNERS] = {
    [NODE_OWNER_USER] = {0, token_find_active, token_list_user, token_mint},
    [NODE_OWNER_RESOURCE] = {INO_VIA, resource_find_active,
			     resource_list_tokens, resource_mint},
};

/* True when t lies in the tokens/ of owner (of kind which). */
static bool holds(enum node_owner which, int64_t owner,
		  const struct token_info *t)
{
	if (which == NODE_OWNER_USER)
		return t->user_id == owner;
	return t->resource_id == owner && !t->resource_removed_at;
}

int node_tokens_lookup(struct nreq *q, enum node_owner which, int64_t owner,
		       const char *name, struct node *child)
{
	const struct token_owner *o = &owners[which];
	struct token_info *t = &child->token;
	unsigned sub = o->via;
	int64_t id;
	int r;

	if (strspn(name, "0123456789") == strlen(name)) {
		r = node_parse_id(name, &id);
	} else {
		r = o->find(q->p->st, owner, name, strlen(name), &id);
		sub |= INO_ALIAS;
	}
	if (!r)
		r = token_get(q->p->st, id, t);
	if (!r && !holds(which, owner, t))
		r = -ENOENT;
	if (!r)
		token_node(child, t, INO_TOKEN, sub);
	return r;
}

static int add_token(void *ctx, const struct token_info *t)
{
	struct node_listing *l = ctx;

	token_node(&l->child, t, INO_TOKEN, l->sub);
	if (access_see(&l->q->a, &l->child.obj))
		return 0; /* hidden from this caller */
	return node_add_id(l, t->id, (off_t)(t->id + OFF_FIRST));
}

int node_tokens_list(struct nreq *q, enum node_owner which, int64_t owner,
		     struct dirbuf *d, off_t off)
{
	struct node_listing l = {.q = q, .d = d, .sub = owners[which].via};

	return owners[which].list(q->p->st, owner, node_after(off), add_token,
				  &l);
}

/* The new directory is the name, which resolves to the new token. */
int node_tokens_mkdir(struct nreq *q, enum node_owner which, int64_t owner,
		      const char *name, struct node *child)
{
	const struct token_owner *o = &owners[which];
	int64_t id;
	int r = o->mint(q->p->st, &q->a, owner, name, strlen(name), &id);

	if (!r)
		child->ino = (struct ino){INO_TOKEN, o->via | INO_ALIAS, id};
	return r;
}

static int tokens_lookup(struct nreq *q, const struct node *dir,
			 const char *name, struct node *child)
{
	return node_tokens_lookup(q, NODE_OWNER_USER, dir->user.id, name,
				  child);
}

static int tokens_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		       off_t off)
{
	return node_tokens_list(q, NODE_OWNER_USER, dir->user.id, d, off);
}

static int tokens_mkdir(struct nreq *q, const struct node *dir,
			const char *name, struct node *child)
{
	return node_tokens_mkdir(q, NODE_OWNER_USER, dir->user.id, name, child);
}

static void tokens_stale(const struct store_change *ch, ino_inval_fn *inval,
			 void *ctx)
{
	if (ch->kind == STORE_CH_USER || ch->kind == STORE_CH_TOKENS)
		inval(ctx, (struct ino){INO_TOKENS, 0, ch->user_id});
}

const struct node_kind node_tokens = {
    .name = "tokens",
    .flags = NODE_DIR | NODE_GEN,
    .load = tokens_load,
    .stat = tokens_stat,
    .lookup = tokens_lookup,
    .list = tokens_list,
    .mkdir = tokens_mkdir,
    .stale = tokens_stale,
};

/* users/<u>/tokens/<id>/ ------------------------------------------------- */

static int token_load(struct nreq *q, struct node *n)
{
	int r = token_fetch(q, n);

	if (!r)
		token_node(n, &n->token, INO_TOKEN, n->ino.sub);
	return r;
}

static void token_stat(struct nreq *q, const struct node *n,
		       struct node_attr *out)
{
	node_fill(q, n, out, 0, 2, n->token.created_at);
	out->ttl = token_ttl(&n->token, &n->ino, false);
	out->entry_ttl = token_ttl(&n->token, &n->ino, true);
}

/* True while the file "token" exists: until the secret is taken, and while
 * an open file holds it. */
static bool secret_exists(struct nreq *q, const struct token_info *t)
{
	return token_unsealed(t) || ofile_held(q->p, t->id);
}

static int token_lookup(struct nreq *q, const struct node *dir,
			const char *name, struct node *child)
{
	int i = token_attr_index(name);
	unsigned alias = dir->ino.sub & INO_ALIAS, f;

	if (!token_attr_exists(&dir->token, i))
		return -ENOENT; /* none, or a project's or group's only */
	f = token_attrs[i].flags;
	if (f & TOKEN_A_LINK)
		return token_rel_lookup(&dir->token, i, alias, child);
	if (f & TOKEN_A_SOURCES)
		token_node(child, &dir->token, INO_USED_FROM,
			   (unsigned)i | alias);
	else if (!(f & TOKEN_A_SECRET))
		token_node(child, &dir->token, INO_TOKEN_ATTR,
			   (unsigned)i | alias);
	else if (secret_exists(q, &dir->token))
		token_node(child, &dir->token, INO_SECRET, alias);
	else
		return -ENOENT; /* taken */
	return 0;
}

static int token_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		      off_t off)
{
	return node_list_rows(q, dir, token_attrs, sizeof(token_attrs[0]),
			      TOKEN_NATTR, d, off);
}

/* The places of a changed token: users/<bot>/tokens/<id>, and its
 * project's or group's (INO_VIA) when it has one. */
static unsigned places(const struct store_change *ch)
{
	return ch->resource ? 2 : 1;
}

/* Its mode follows its owner; its listing, the secret's file and the links
 * (cache_readdir keeps it). */
static void token_stale(const struct store_change *ch, ino_inval_fn *inval,
			void *ctx)
{
	const uint32_t deps = TOKEN_F_OWNER | TOKEN_F_IMPERSONATION |
			      TOKEN_F_SEALED | TOKEN_F_REVOKED |
			      TOKEN_F_ROTATION;

	if (ch->kind != STORE_CH_TOKEN || !(ch->fields & deps))
		return;
	for (unsigned p = 0; p < places(ch); p++)
		inval(ctx,
		      (struct ino){INO_TOKEN, p ? INO_VIA : 0, ch->token_id});
}

const struct node_kind node_token = {
    .name = "token",
    .flags = NODE_DIR | NODE_LIST_CACHE | NODE_GEN | NODE_SCRATCH,
    .load = token_load,
    .stat = token_stat,
    .lookup = token_lookup,
    .list = token_list,
    .stale = token_stale,
};

/* A token's attributes ---------------------------------------------------- */

static int token_attr_load(struct nreq *q, struct node *n)
{
	unsigned attr = n->ino.sub & ~INO_FLAGS;
	int r;

	/* the secret, the links and used_from are kinds of their own */
	if (attr >= TOKEN_NATTR ||
	    (token_attrs[attr].flags &
	     (TOKEN_A_SECRET | TOKEN_A_LINK | TOKEN_A_SOURCES)))
		return -ENOENT;
	r = token_fetch(q, n);
	if (!r && !token_attr_exists(&n->token, (int)attr))
		r = -ENOENT;
	if (!r)
		token_node(n, &n->token, INO_TOKEN_ATTR, n->ino.sub);
	return r;
}

static size_t render(const struct node *n, char *buf, int64_t *mtime)
{
	return token_render(&n->token, n->ino.sub & ~INO_FLAGS, time(NULL), buf,
			    TOKEN_RENDER_MAX, mtime);
}

static void token_attr_stat(struct nreq *q, const struct node *n,
			    struct node_attr *out)
{
	char buf[TOKEN_RENDER_MAX];
	int64_t mtime;
	size_t len = render(n, buf, &mtime);

	node_fill(q, n, out, len, node_token_links(&n->token), mtime);
	out->ttl = token_ttl(&n->token, &n->ino, false);
	out->entry_ttl = token_ttl(&n->token, &n->ino, true);
}

static ssize_t token_attr_read(struct nreq *q, struct node *n, char *buf,
			       size_t size, off_t off)
{
	char val[TOKEN_RENDER_MAX];
	int64_t mtime;

	(void)q;
	return node_slice(val, render(n, val, &mtime), buf, size, off);
}

static int token_attr_write(struct nreq *q, struct node *n, const char *buf,
			    size_t size)
{
	unsigned attr = n->ino.sub & ~INO_FLAGS;
	int64_t next;

	if (attr == TOKEN_ROTATE)
		return token_rotate(q->p->st, &q->a, n->ino.id, buf, size,
				    &next);
	return token_write(q->p->st, &q->a, n->ino.id, attr, buf, size);
}

/* The files whose row (token_attrs[]) follows a changed value. */
static void token_attr_stale(const struct store_change *ch, ino_inval_fn *inval,
			     void *ctx)
{
	const unsigned other =
	    TOKEN_A_LINK | TOKEN_A_SECRET | TOKEN_A_SOURCES; /* not this kind */

	if (ch->kind != STORE_CH_TOKEN)
		return;
	for (unsigned a = 0; a < TOKEN_NATTR; a++) {
		const struct token_attr_def *d = &token_attrs[a];
		if (!(d->deps & ch->fields) || (d->flags & other) ||
		    ((d->flags & TOKEN_A_RESOURCE) && !ch->resource))
			continue;
		inval(ctx, (struct ino){INO_TOKEN_ATTR, a, ch->token_id});
	}
}

const struct node_kind node_token_attr = {
    .name = "token attribute",
    .flags = NODE_REG | NODE_PAGES | NODE_GEN,
    .load = token_attr_load,
    .stat = token_attr_stat,
    .read = token_attr_read,
    .write = token_attr_write,
    .stale = token_attr_stale,
};

/* used_from: where the token was checked from, read from its own table; a
 * recorded use takes it back from the kernel ------------------------- */

static int used_from_load(struct nreq *q, struct node *n)
{
	int r = token_fetch(q, n);

	if (!r)
		token_node(n, &n->token, INO_USED_FROM, n->ino.sub);
	return r;
}

/* Its text into buf: the length, or -errno; *mtime the latest use. */
static int used_from_text(struct nreq *q, const struct node *n, char *buf,
			  size_t size, int64_t *mtime)
{
	*mtime = n->token.created_at;
	return token_sources_render(q->p->st, n->ino.id, buf, size, mtime);
}

static void used_from_stat(struct nreq *q, const struct node *n,
			   struct node_attr *out)
{
	char text[TOKEN_USED_FROM_MAX];
	int64_t mtime;
	int len = used_from_text(q, n, text, sizeof(text), &mtime);

	node_fill(q, n, out, len > 0 ? (uint64_t)len : 0,
		  node_token_links(&n->token), mtime);
	out->ttl = len < 0 ? 0.0 : token_ttl(&n->token, &n->ino, false);
	out->entry_ttl = token_ttl(&n->token, &n->ino, true);
}

static ssize_t used_from_read(struct nreq *q, struct node *n, char *buf,
			      size_t size, off_t off)
{
	char text[TOKEN_USED_FROM_MAX];
	int64_t mtime;
	int len = used_from_text(q, n, text, sizeof(text), &mtime);

	return len < 0 ? len : node_slice(text, (size_t)len, buf, size, off);
}

static void used_from_stale(const struct store_change *ch, ino_inval_fn *inval,
			    void *ctx)
{
	if (ch->kind == STORE_CH_TOKEN &&
	    (ch->fields & token_attrs[TOKEN_USED_FROM].deps))
		inval(ctx, (struct ino){INO_USED_FROM, TOKEN_USED_FROM,
					ch->token_id});
}

const struct node_kind node_used_from = {
    .name = "used_from",
    .flags = NODE_REG | NODE_GEN,
    .load = used_from_load,
    .stat = used_from_stat,
    .read = used_from_read,
    .stale = used_from_stale,
};

/* The secret: "token" -------------------------------------------------- */

static int secret_load(struct nreq *q, struct node *n)
{
	int r = token_fetch(q, n);

	if (!r && !secret_exists(q, &n->token))
		r = -ENOENT;
	if (!r)
		token_node(n, &n->token, INO_SECRET, n->ino.sub);
	return r;
}

static void secret_stat(struct nreq *q, const struct node *n,
			struct node_attr *out)
{
	const struct token_info *t = &n->token;

	node_fill(q, n, out, token_secret_file_len(q->p->st),
		  node_token_links(&n->token),
		  t->sealed_at ? t->sealed_at : t->created_at);
	out->ttl = out->entry_ttl = 0.0;
}

/* Opening for reading takes nothing: the first read that returns bytes
 * takes the secret into the open file, so a probe that opens and closes
 * (or reads nothing) leaves the token unsealed. Writing prepares to set
 * one. Either way the plaintext never enters the page cache. */
static int secret_open(struct nreq *q, struct node *n,
		       struct fuse_file_info *fi)
{
	int acc = fi->flags & O_ACCMODE;
	struct ofile *of;

	(void)q;
	if (acc == O_RDWR)
		return -EPERM; /* read once or write once, not both */
	if (!token_unsealed(&n->token))
		return -ENOENT;
	of = ofile_new(acc == O_RDONLY ? OF_TAKE : OF_SET);
	if (!of)
		return -ENOMEM;
	of->token_id = n->ino.id;
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->direct_io = 1;
	return 0;
}

/* Takes the secret into of, once; under of->lock. */
static int secret_take(struct nreq *q, struct ofile *of)
{
	char *buf = sodium_malloc(SECRET_MAX);
	int r;

	if (!buf)
		return -ENOMEM;
	r = token_take_secret(q->p->st, &q->a, of->token_id, buf,
			      SECRET_MAX - 1);
	if (r < 0) {
		sodium_free(buf);
		return r;
	}
	buf[r] = '\n';
	of->len = (size_t)r + 1;
	of->secret = buf;
	ofile_hold_secret(q->p, of);
	return 0;
}

static ssize_t secret_read(struct nreq *q, struct node *n, char *buf,
			   size_t size, off_t off)
{
	struct ofile *of = q->of;
	int r = 0;

	(void)n;
	if (!of || of->kind != OF_TAKE)
		return -EBADF;
	if (q->page_read)
		return -EACCES; /* a mapping: never into the page cache */
	if (!size)
		return 0;
	pthread_mutex_lock(&of->lock);
	if (!of->secret)
		r = secret_take(q, of);
	pthread_mutex_unlock(&of->lock);
	return r ? r : node_slice(of->secret, of->len, buf, size, off);
}

static int secret_write(struct nreq *q, struct node *n, const char *buf,
			size_t size)
{
	if (!q->of || q->of->kind != OF_SET)
		return -EBADF;
	return token_set_secret(q->p->st, &q->a, n->ino.id, buf, size);
}

static void secret_stale(const struct store_change *ch, ino_inval_fn *inval,
			 void *ctx)
{
	if (ch->kind != STORE_CH_TOKEN ||
	    !(ch->fields & token_attrs[TOKEN_SECRET].deps))
		return;
	inval(ctx, (struct ino){INO_SECRET, 0, ch->token_id});
}

const struct node_kind node_secret = {
    .name = "secret",
    .flags = NODE_REG | NODE_SECRET_IO | NODE_GEN | NODE_UNLISTED,
    .load = secret_load,
    .stat = secret_stat,
    .open = secret_open,
    .read = secret_read,
    .write = secret_write,
    .stale = secret_stale,
};
