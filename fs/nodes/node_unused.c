/* node_unused.c - unused/: the active tokens nobody used in 30, 90 or 365
 * days (never used: counted from their creation), as links to where each
 * lives, as Kubernetes' legacy token cleaner finds them. Admins only, as
 * expiring/ is. */
#include <errno.h>
#include <time.h>

#include "node.h"

static const char *const windows[] = {"30d", "90d", "365d"};
static const int window_days[] = {30, 90, 365};
#define NWINDOWS ((int)(sizeof(windows) / sizeof(windows[0])))

static int unused_lookup(struct nreq *q, const struct node *dir,
			 const char *name, struct node *child)
{
	(void)dir;
	return node_lookup_sub(q, windows, NWINDOWS, INO_UNUSED_WINDOW, name,
			       child);
}

static int unused_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		       off_t off)
{
	return node_list_fixed(q, dir, windows, NWINDOWS, d, off);
}

const struct node_kind node_unused = {
    .name = "unused",
    .flags = NODE_DIR | NODE_RO | NODE_GEN,
    .access = ACCESS_ADMIN_DIR,
    .nlink = 2 + NWINDOWS,
    .lookup = unused_lookup,
    .list = unused_list,
};

/* The latest last use (or creation) that counts as unused in dir's window
 * at now. */
static int64_t cutoff(const struct node *dir, int64_t now)
{
	return now - (int64_t)window_days[dir->ino.sub] * 86400;
}

/* True when t is active and was last used (or made) by dir's cutoff. */
static bool is_unused(const struct node *dir, const struct token_info *t,
		      int64_t now)
{
	int64_t last = t->last_used_at ? t->last_used_at : t->created_at;

	return token_active(t, now) && last <= cutoff(dir, now);
}

static int window_lookup(struct nreq *q, const struct node *dir,
			 const char *name, struct node *child)
{
	int64_t id;
	int r = node_parse_id(name, &id);

	if (!r)
		r = token_get(q->p->st, id, &child->token);
	if (!r && !is_unused(dir, &child->token, time(NULL)))
		r = -ENOENT;
	if (!r)
		node_link_to(child, &child->token, 0);
	return r;
}

static int add_link(void *ctx, const struct token_info *t)
{
	struct node_listing *l = ctx;

	if (!is_unused(l->dir, t, l->now))
		return 0; /* expired, disabled, or its owner blocked */
	node_link_to(&l->child, t, 0);
	return node_add_id(l, t->id, (off_t)(t->id + OFF_FIRST));
}

static int window_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		       off_t off)
{
	struct node_listing l = {.dir = dir, .d = d, .now = time(NULL)};

	return token_list_unused(q->p->st, cutoff(dir, l.now), node_after(off),
				 add_link, &l);
}

const struct node_kind node_unused_window = {
    .name = "unused_window",
    .flags = NODE_DIR | NODE_RO | NODE_GEN,
    .access = ACCESS_ADMIN_DIR,
    .nsub = NWINDOWS,
    .stat = node_links_dir_stat,
    .lookup = window_lookup,
    .list = window_list,
};
