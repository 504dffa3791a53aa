/* node_user.c - users/ and a user's directory (its value files:
 * node_value.c). */
#include <errno.h>
#include <string.h>

#include "node.h"

/* users/ ----------------------------------------------------------------- */

/* The one stat that queries: st_nlink counts the users, and a lookup below
 * users/ should not pay for that count. */
static void users_stat(struct nreq *q, const struct node *n,
		       struct node_attr *out)
{
	int64_t count = 0;

	user_count(q->p->st, &count); /* on failure: 2, as if empty */
	node_fill(q, n, out, 0, (nlink_t)(2 + count), q->p->started);
}

/* Makes child the user u, loaded. */
static void user_node(struct node *child, const struct user_info *u)
{
	child->ino = (struct ino){INO_USER, 0, u->id};
	child->user = *u;
	child->obj = access_of(ACCESS_USER, 0, u->uid);
	child->loaded = true;
}

static int users_lookup(struct nreq *q, const struct node *dir,
			const char *name, struct node *child)
{
	struct user_info u;
	int r = user_find(q->p->st, name, strlen(name), &u);

	(void)dir;
	if (!r)
		user_node(child, &u);
	return r;
}

static int add_user(void *ctx, const struct user_info *u)
{
	struct node_listing *l = ctx;

	user_node(&l->child, u);
	return node_dir_add(l->d, u->name, &l->child,
			    (off_t)(u->id + OFF_FIRST));
}

static int users_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		      off_t off)
{
	struct node_listing l = {.d = d};

	(void)dir;
	return user_list(q->p->st, node_after(off), add_user, &l);
}

static int users_mkdir(struct nreq *q, const struct node *dir, const char *name,
		       struct node *child)
{
	int64_t id;
	int r = user_create(q->p->st, &q->a, name, strlen(name), &id);

	(void)dir;
	if (!r)
		child->ino = (struct ino){INO_USER, 0, id};
	return r;
}

static int users_rmdir(struct nreq *q, const struct node *dir, const char *name)
{
	struct user_info u;
	int r = user_find(q->p->st, name, strlen(name), &u);

	(void)dir;
	return r ? r : user_remove(q->p->st, &q->a, u.id);
}

static void users_stale(const struct store_change *ch, ino_inval_fn *inval,
			void *ctx)
{
	if (ch->kind == STORE_CH_USERS)
		inval(ctx, (struct ino){INO_USERS, 0, 0});
}

const struct node_kind node_users = {
    .name = "users",
    .flags = NODE_DIR | NODE_LIST_CACHE | NODE_GEN,
    .access = ACCESS_USERS,
    .stat = users_stat,
    .lookup = users_lookup,
    .list = users_list,
    .mkdir = users_mkdir,
    .rmdir = users_rmdir,
    .stale = users_stale,
};

/* users/<u>/ ------------------------------------------------------------- */

static int user_load(struct nreq *q, struct node *n)
{
	struct user_info u;
	int r = user_get(q->p->st, n->ino.id, &u);

	if (!r)
		user_node(n, &u);
	return r;
}

static void user_stat(struct nreq *q, const struct node *n,
		      struct node_attr *out)
{
	node_fill(q, n, out, 0, 3, n->user.created_at); /* and tokens/ */
	/* the name stays until cache.c takes it back (inval_name) */
}

/* The names in a user's directory: its values (user_attrs), then tokens/
 * and tokens.json. */
#define USER_NNAMES (USER_NATTR + 2)

static const char *user_name_at(const void *ctx, int i)
{
	static const char *const dirs[] = {"tokens", "tokens.json"};

	(void)ctx;
	return i < USER_NATTR ? user_attrs[i].name : dirs[i - USER_NATTR];
}

static int user_lookup(struct nreq *q, const struct node *dir, const char *name,
		       struct node *child)
{
	int i = node_name_index(user_name_at, NULL, USER_NNAMES, name);

	(void)q;
	if (i < 0)
		return -ENOENT;
	child->user = dir->user;
	child->loaded = true;
	if (i == USER_NATTR) {
		child->ino = (struct ino){INO_TOKENS, 0, dir->user.id};
		child->obj = access_of(ACCESS_TOKENS, 0, dir->user.uid);
	} else if (i == USER_NATTR + 1) {
		child->ino = (struct ino){INO_TOKENS_JSON, 0, dir->user.id};
		child->obj = access_of(ACCESS_USER_JSON, 0, dir->user.uid);
	} else {
		child->ino =
		    (struct ino){INO_USER_ATTR, (unsigned)i, dir->user.id};
		child->obj = access_of(ACCESS_USER_ATTR, i, dir->user.uid);
	}
	return 0;
}

static int user_list_names(struct nreq *q, const struct node *dir,
			   struct dirbuf *d, off_t off)
{
	return node_list_names(q, dir, user_name_at, NULL, USER_NNAMES, d, off);
}

/* blocked changes every token's active, uid every owner and mode: cache.c
 * tells each token of the user as a change of its owner */
static void user_stale(const struct store_change *ch, ino_inval_fn *inval,
		       void *ctx)
{
	if (ch->kind == STORE_CH_USER)
		inval(ctx, (struct ino){INO_USER, 0, ch->user_id});
}

const struct node_kind node_user = {
    .name = "user",
    .flags = NODE_DIR | NODE_LIST_CACHE | NODE_GEN | NODE_SCRATCH,
    .load = user_load,
    .stat = user_stat,
    .lookup = user_lookup,
    .list = user_list_names,
    .stale = user_stale,
};
