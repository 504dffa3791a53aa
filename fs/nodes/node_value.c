/* node_value.c - the value files of users (users/<u>/<attr>) and of
 * projects and groups (projects/<p>/<attr>): one set of operations over the
 * owners' tables (user_attrs, resource_attrs), one kind per owner. */
#include <errno.h>

#include "node.h"

static int user_get_node(struct nreq *q, struct node *n)
{
	int r = user_get(q->p->st, n->ino.id, &n->user);

	n->obj =
	    access_of(ACCESS_USER_ATTR, (int)n->ino.sub, r ? -1 : n->user.uid);
	return r;
}

static size_t user_value(const struct node *n, char *buf, int64_t *mtime)
{
	return user_attrs[n->ino.sub].render(&n->user, buf, OWNER_RENDER_MAX,
					     mtime);
}

static int user_value_write(struct nreq *q, const struct node *n,
			    const char *buf, size_t size)
{
	return user_write(q->p->st, &q->a, n->ino.id, n->ino.sub, buf, size);
}

static int res_get_node(struct nreq *q, struct node *n)
{
	n->obj = access_of(ACCESS_RESOURCE_ATTR, (int)n->ino.sub, -1);
	return resource_get(q->p->st, n->ino.id, &n->res);
}

static size_t res_value(const struct node *n, char *buf, int64_t *mtime)
{
	return resource_attrs[n->ino.sub].render(&n->res, buf, OWNER_RENDER_MAX,
						 mtime);
}

static int res_value_write(struct nreq *q, const struct node *n,
			   const char *buf, size_t size)
{
	return resource_write(q->p->st, &q->a, n->ino.id, n->ino.sub, buf,
			      size);
}

/* The owner of a kind of value file: how many it has, the change that makes
 * them stale (its id in user_id), its row's fetch (with n->obj), and its
 * values' render and write. */
static const struct value_owner {
	unsigned nattr;
	enum store_change_kind change;
	int (*get)(struct nreq *q, struct node *n);
	size_t (*render)(const struct node *n, char *buf, int64_t *mtime);
	int (*write)(struct nreq *q, const struct node *n, const char *buf,
		     size_t size);
} owners[INO_NKINDS] = {
    [INO_USER_ATTR] = {USER_NATTR, STORE_CH_USER, user_get_node, user_value,
		       user_value_write},
    [INO_RESOURCE_ATTR] = {RESOURCE_NATTR, STORE_CH_RESOURCE, res_get_node,
			   res_value, res_value_write},
};

static int value_load(struct nreq *q, struct node *n)
{
	const struct value_owner *o = &owners[n->ino.kind];

	return n->ino.sub < o->nattr ? o->get(q, n) : -ENOENT;
}

static void value_stat(struct nreq *q, const struct node *n,
		       struct node_attr *out)
{
	char buf[OWNER_RENDER_MAX];
	int64_t mtime;
	size_t len = owners[n->ino.kind].render(n, buf, &mtime);

	node_fill(q, n, out, len, 1, mtime);
}

static ssize_t value_read(struct nreq *q, struct node *n, char *buf,
			  size_t size, off_t off)
{
	char val[OWNER_RENDER_MAX];
	int64_t mtime;
	size_t len = owners[n->ino.kind].render(n, val, &mtime);

	(void)q;
	return node_slice(val, len, buf, size, off);
}

static int value_write(struct nreq *q, struct node *n, const char *buf,
		       size_t size)
{
	return owners[n->ino.kind].write(q, n, buf, size);
}

/* Each owner's values follow its own change. */
static void value_stale(enum ino_kind kind, const struct store_change *ch,
			ino_inval_fn *inval, void *ctx)
{
	const struct value_owner *o = &owners[kind];

	if (ch->kind != o->change)
		return;
	for (unsigned a = 0; a < o->nattr; a++)
		inval(ctx, (struct ino){kind, a, ch->user_id});
}

static void user_value_stale(const struct store_change *ch, ino_inval_fn *inval,
			     void *ctx)
{
	value_stale(INO_USER_ATTR, ch, inval, ctx);
}

static void res_value_stale(const struct store_change *ch, ino_inval_fn *inval,
			    void *ctx)
{
	value_stale(INO_RESOURCE_ATTR, ch, inval, ctx);
}

#define NODE_VALUE(label, stale_fn)                                            \
	{                                                                      \
		.name = (label), .flags = NODE_REG | NODE_PAGES | NODE_GEN,    \
		.load = value_load, .stat = value_stat, .read = value_read,    \
		.write = value_write, .stale = (stale_fn),                     \
	}

const struct node_kind node_user_attr =
    NODE_VALUE("user attribute", user_value_stale);
const struct node_kind node_resource_attr =
    NODE_VALUE("resource attribute", res_value_stale);
