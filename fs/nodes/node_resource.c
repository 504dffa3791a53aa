/* node_resource.c - projects/ and groups/: a directory per project or
 * group, its id and path (node_value.c), and its tokens/, where mkdir mints a
 * token held by a new bot. The tokens are the same as under their bots in
 * users/. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "node.h"

/* projects/, groups/ --------------------------------------------------------
 */

static void resources_stat(struct nreq *q, const struct node *n,
			   struct node_attr *out)
{
	int64_t count = 0;

	resource_count(q->p->st, (enum resource_kind)n->ino.sub, &count);
	node_fill(q, n, out, 0, (nlink_t)(2 + count), q->p->started);
}

static void resource_node(struct node *child, const struct resource_info *r)
{
	child->ino = (struct ino){INO_RESOURCE, (unsigned)r->kind, r->id};
	child->res = *r;
	child->obj = access_of(ACCESS_RESOURCE, 0, -1);
	child->loaded = true;
}

static int resources_lookup(struct nreq *q, const struct node *dir,
			    const char *name, struct node *child)
{
	struct resource_info r;
	int rc = resource_find(q->p->st, (enum resource_kind)dir->ino.sub, name,
			       strlen(name), &r);

	if (!rc)
		resource_node(child, &r);
	return rc;
}

static int add_resource(void *ctx, const struct resource_info *r)
{
	struct node_listing *l = ctx;

	resource_node(&l->child, r);
	return node_dir_add(l->d, r->name, &l->child,
			    (off_t)(r->id + OFF_FIRST));
}

static int resources_list(struct nreq *q, const struct node *dir,
			  struct dirbuf *d, off_t off)
{
	struct node_listing l = {.d = d};

	return resource_list(q->p->st, (enum resource_kind)dir->ino.sub,
			     node_after(off), add_resource, &l);
}

static int resources_mkdir(struct nreq *q, const struct node *dir,
			   const char *name, struct node *child)
{
	int64_t id;
	int r =
	    resource_create(q->p->st, &q->a, (enum resource_kind)dir->ino.sub,
			    name, strlen(name), &id);

	if (!r)
		child->ino = (struct ino){INO_RESOURCE, dir->ino.sub, id};
	return r;
}

static int resources_rmdir(struct nreq *q, const struct node *dir,
			   const char *name)
{
	struct resource_info r;
	int rc = resource_find(q->p->st, (enum resource_kind)dir->ino.sub, name,
			       strlen(name), &r);

	return rc ? rc : resource_remove(q->p->st, &q->a, r.id);
}

static void resources_stale(const struct store_change *ch, ino_inval_fn *inval,
			    void *ctx)
{
	if (ch->kind == STORE_CH_RESOURCES)
		inval(ctx, (struct ino){INO_RESOURCES, (unsigned)ch->day, 0});
}

const struct node_kind node_resources = {
    .name = "resources",
    .flags = NODE_DIR | NODE_LIST_CACHE | NODE_GEN,
    .access = ACCESS_RESOURCES,
    .nsub = RESOURCE_NKINDS,
    .stat = resources_stat,
    .lookup = resources_lookup,
    .list = resources_list,
    .mkdir = resources_mkdir,
    .rmdir = resources_rmdir,
    .stale = resources_stale,
};

/* projects/<p>/ -------------------------------------------------------------
 */

static int resource_load(struct nreq *q, struct node *n)
{
	struct resource_info r;
	int rc = resource_get(q->p->st, n->ino.id, &r);

	if (!rc && (unsigned)r.kind != n->ino.sub)
		rc = -ENOENT;
	if (!rc)
		resource_node(n, &r);
	return rc;
}

static void resource_stat(struct nreq *q, const struct node *n,
			  struct node_attr *out)
{
	node_fill(q, n, out, 0, 3, n->res.created_at); /* and tokens/ */
	out->entry_ttl = 1.0; /* a removed name may come back */
}

/* The names in a project's or group's directory: its values
 * (resource_attrs), then tokens/. */
#define RES_NNAMES (RESOURCE_NATTR + 1)

static const char *res_name_at(const void *ctx, int i)
{
	(void)ctx;
	return i < RESOURCE_NATTR ? resource_attrs[i].name : "tokens";
}

static int resource_lookup(struct nreq *q, const struct node *dir,
			   const char *name, struct node *child)
{
	int i = node_name_index(res_name_at, NULL, RES_NNAMES, name);

	(void)q;
	if (i < 0)
		return -ENOENT;
	child->res = dir->res;
	child->loaded = true;
	if (i == RESOURCE_NATTR) {
		child->ino = (struct ino){INO_RES_TOKENS, 0, dir->res.id};
		child->obj = access_of(ACCESS_RESOURCE_TOKENS, 0, -1);
	} else {
		child->ino =
		    (struct ino){INO_RESOURCE_ATTR, (unsigned)i, dir->res.id};
		child->obj = access_of(ACCESS_RESOURCE_ATTR, i, -1);
	}
	return 0;
}

static int resource_list_names(struct nreq *q, const struct node *dir,
			       struct dirbuf *d, off_t off)
{
	return node_list_names(q, dir, res_name_at, NULL, RES_NNAMES, d, off);
}

static void resource_stale(const struct store_change *ch, ino_inval_fn *inval,
			   void *ctx)
{
	if (ch->kind != STORE_CH_RESOURCE)
		return;
	for (unsigned k = 0; k < RESOURCE_NKINDS; k++)
		inval(ctx, (struct ino){INO_RESOURCE, k, ch->user_id});
}

const struct node_kind node_resource = {
    .name = "resource",
    .flags = NODE_DIR | NODE_LIST_CACHE | NODE_GEN | NODE_SCRATCH,
    .load = resource_load,
    .stat = resource_stat,
    .lookup = resource_lookup,
    .list = resource_list_names,
    .stale = resource_stale,
};

/* projects/<p>/tokens/ ------------------------------------------------------
 */

static int res_tokens_load(struct nreq *q, struct node *n)
{
	n->obj = access_of(ACCESS_RESOURCE_TOKENS, 0, -1);
	return resource_get(q->p->st, n->ino.id, &n->res);
}

static void res_tokens_stat(struct nreq *q, const struct node *n,
			    struct node_attr *out)
{
	node_fill(q, n, out, 0, (nlink_t)(2 + n->res.ntokens),
		  n->res.created_at);
}

static int res_tokens_lookup(struct nreq *q, const struct node *dir,
			     const char *name, struct node *child)
{
	return node_tokens_lookup(q, NODE_OWNER_RESOURCE, dir->res.id, name,
				  child);
}

static int res_tokens_list(struct nreq *q, const struct node *dir,
			   struct dirbuf *d, off_t off)
{
	return node_tokens_list(q, NODE_OWNER_RESOURCE, dir->res.id, d, off);
}

static int res_tokens_mkdir(struct nreq *q, const struct node *dir,
			    const char *name, struct node *child)
{
	return node_tokens_mkdir(q, NODE_OWNER_RESOURCE, dir->res.id, name,
				 child);
}

static void res_tokens_stale(const struct store_change *ch, ino_inval_fn *inval,
			     void *ctx)
{
	if (ch->kind == STORE_CH_RESOURCE)
		inval(ctx, (struct ino){INO_RES_TOKENS, 0, ch->user_id});
}

const struct node_kind node_res_tokens = {
    .name = "resource tokens",
    .flags = NODE_DIR | NODE_GEN,
    .load = res_tokens_load,
    .stat = res_tokens_stat,
    .lookup = res_tokens_lookup,
    .list = res_tokens_list,
    .mkdir = res_tokens_mkdir,
    .stale = res_tokens_stale,
};
