/* node_expiring.c - expiring/: a read-only view of the unrevoked tokens by
 * expiry date, as symlinks to where each token lives. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node.h"
#include "patfs/policy.h"

/* expiring/ -------------------------------------------------------------- */

/* Every real date resolves: `ls expiring/<a quiet day>` lists nothing. */
static int expiring_lookup(struct nreq *q, const struct node *dir,
			   const char *name, struct node *child)
{
	int64_t day = 0;

	(void)dir;
	if (!strcmp(name, "never"))
		child->ino = (struct ino){INO_DATE, INO_NEVER, 0};
	else if (!strcmp(name, "within"))
		child->ino = (struct ino){INO_WITHIN, 0, 0};
	else if (policy_parse_date(name, strlen(name), &day) == 0)
		child->ino = (struct ino){INO_DATE, 0, day};
	else
		return -ENOENT;
	return node_load(q, child);
}

/* never/ at offset OFF_FIRST, within/ at OFF_FIRST + 1, then day d at
 * d + OFF_FIRST + 2, for the days an unrevoked token expires (one indexed
 * probe each). */
static int expiring_list(struct nreq *q, const struct node *dir,
			 struct dirbuf *d, off_t off)
{
	struct node child = {.loaded = false};
	int64_t day;
	char name[11];

	(void)dir;
	if (off < OFF_FIRST) {
		expiring_lookup(q, dir, "never", &child);
		if (node_dir_add(d, "never", &child, OFF_FIRST))
			return 0;
		off = OFF_FIRST;
	}
	if (off == OFF_FIRST) {
		expiring_lookup(q, dir, "within", &child);
		if (node_dir_add(d, "within", &child, OFF_FIRST + 1))
			return 0;
		off = OFF_FIRST + 1;
	}
	day = off - OFF_FIRST - 2;
	while (!d->full && token_next_expiry(q->p->st, day, &day) == 0) {
		policy_format_date(day, name);
		child = (struct node){.ino = {INO_DATE, 0, day}};
		node_load(q, &child);
		node_dir_add(d, name, &child, day + OFF_FIRST + 2);
	}
	return 0;
}

const struct node_kind node_expiring = {
    .name = "expiring",
    .flags = NODE_DIR | NODE_RO | NODE_GEN,
    .access = ACCESS_ADMIN_DIR,
    /* not counted (as btrfs does); find then assumes no leaves. Counting
     * the dates would cost a probe per date on every path walk */
    .nlink = 1,
    .lookup = expiring_lookup,
    .list = expiring_list,
};

/* expiring/<date>/ and expiring/never/ ----------------------------------- */

void node_links_dir_stat(struct nreq *q, const struct node *n,
			 struct node_attr *out)
{
	node_fill(q, n, out, 0, 2, q->p->started);
	out->entry_ttl = 0.0; /* dates come and go with tokens and the clock */
}

/* The expiry day its tokens have, -1 for never/. */
static int64_t day_of(const struct node *dir)
{
	return dir->ino.sub == INO_NEVER ? -1 : dir->ino.id;
}

void node_link_to(struct node *child, const struct token_info *t, unsigned deep)
{
	child->ino = (struct ino){INO_LINK, deep, t->id};
	if (&child->token != t)
		child->token = *t;
	child->obj = access_of(ACCESS_LINK, 0, -1);
	child->loaded = true;
}

static int date_lookup(struct nreq *q, const struct node *dir, const char *name,
		       struct node *child)
{
	int64_t id;
	int r = node_parse_id(name, &id);

	if (!r)
		r = token_get(q->p->st, id, &child->token);
	if (!r && (child->token.revoked_at ||
		   child->token.expires_day != day_of(dir)))
		r = -ENOENT;
	if (!r)
		node_link_to(child, &child->token, 0);
	return r;
}

static int add_link(void *ctx, const struct token_info *t)
{
	struct node_listing *l = ctx;

	node_link_to(&l->child, t, 0);
	return node_add_id(l, t->id, (off_t)(t->id + OFF_FIRST));
}

static int date_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		     off_t off)
{
	struct node_listing l = {.d = d};

	return token_list_expiring(q->p->st, day_of(dir), node_after(off),
				   add_link, &l);
}

const struct node_kind node_date = {
    .name = "date",
    .flags = NODE_DIR | NODE_RO | NODE_GEN,
    .access = ACCESS_ADMIN_DIR,
    .stat = node_links_dir_stat,
    .lookup = date_lookup,
    .list = date_list,
};

/* expiring/<date>/<id> -> ../../users/<u>/tokens/<id> -------------------- */

static int link_load(struct nreq *q, struct node *n)
{
	int r = token_get(q->p->st, n->ino.id, &n->token);

	if (!r && n->token.revoked_at)
		r = -ENOENT;
	if (!r)
		node_link_to(n, &n->token,
			     n->ino.sub & (INO_DEEP | INO_SHALLOW));
	return r;
}

static int link_target(const struct node *n, char *buf, size_t size)
{
	char object[PFS_NAME_MAX + 64];
	int len;

	token_path(&n->token, object, sizeof(object));
	len = snprintf(buf, size, "%s%s",
		       n->ino.sub & INO_DEEP	  ? "../../../"
		       : n->ino.sub & INO_SHALLOW ? "../"
						  : "../../",
		       object);

	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : len;
}

static void link_stat(struct nreq *q, const struct node *n,
		      struct node_attr *out)
{
	char target[PFS_NAME_MAX + 64];
	int len = link_target(n, target, sizeof(target));

	node_fill(q, n, out, len > 0 ? (uint64_t)len : 0, 1,
		  n->token.expires_at_at);
	out->ttl = out->entry_ttl = 0.0;
}

static int link_readlink(struct nreq *q, const struct node *n, char *buf,
			 size_t size)
{
	(void)q;
	return link_target(n, buf, size);
}

const struct node_kind node_link = {
    .name = "link",
    .flags = NODE_LNK | NODE_RO | NODE_GEN,
    .load = link_load,
    .stat = link_stat,
    .readlink = link_readlink,
};

/* expiring/within/ and its windows: the active tokens expiring within 7, 30
 * or 60 days, as links a level deeper than the dates' -------------------- */

static const char *const windows[] = {"7d", "30d", "60d"};
static const int window_days[] = {7, 30, 60};
#define NWINDOWS ((int)(sizeof(windows) / sizeof(windows[0])))

static int within_lookup(struct nreq *q, const struct node *dir,
			 const char *name, struct node *child)
{
	(void)dir;
	return node_lookup_sub(q, windows, NWINDOWS, INO_WINDOW, name, child);
}

static int within_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		       off_t off)
{
	return node_list_fixed(q, dir, windows, NWINDOWS, d, off);
}

const struct node_kind node_within = {
    .name = "within",
    .flags = NODE_DIR | NODE_RO | NODE_GEN,
    .access = ACCESS_ADMIN_DIR,
    .nlink = 2 + NWINDOWS,
    .lookup = within_lookup,
    .list = within_list,
};

/* True when t is active and expires within the window of dir, today on. */
static bool in_window(const struct node *dir, const struct token_info *t,
		      int64_t now)
{
	int64_t today = policy_day_of(now);

	return token_active(t, now) && t->expires_day > today &&
	       t->expires_day <= today + window_days[dir->ino.sub];
}

static int window_lookup(struct nreq *q, const struct node *dir,
			 const char *name, struct node *child)
{
	int64_t id;
	int r = node_parse_id(name, &id);

	if (!r)
		r = token_get(q->p->st, id, &child->token);
	if (!r && !in_window(dir, &child->token, time(NULL)))
		r = -ENOENT;
	if (!r)
		node_link_to(child, &child->token, INO_DEEP);
	return r;
}

/* Offsets: (expiry day << 44 | id) + OFF_FIRST, the order of the listing,
 * so that a listing in pieces goes on where it stopped. */
#define ID_BITS 44

static int add_deep_link(void *ctx, const struct token_info *t)
{
	struct node_listing *l = ctx;

	if (!in_window(l->dir, t, l->now))
		return 0; /* an owner blocked */
	node_link_to(&l->child, t, INO_DEEP);
	return node_add_id(
	    l, t->id, (off_t)(t->expires_day << ID_BITS | t->id) + OFF_FIRST);
}

static int window_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		       off_t off)
{
	struct node_listing l = {.dir = dir, .d = d, .now = time(NULL)};
	int64_t today = policy_day_of(l.now), day = today, after = INT64_MAX;

	if (off >= OFF_FIRST) {
		day = (off - OFF_FIRST) >> ID_BITS;
		after = (off - OFF_FIRST) & ((INT64_C(1) << ID_BITS) - 1);
	}
	return token_list_window(q->p->st, day, after,
				 today + window_days[dir->ino.sub],
				 add_deep_link, &l);
}

const struct node_kind node_window = {
    .name = "window",
    .flags = NODE_DIR | NODE_RO | NODE_GEN,
    .access = ACCESS_ADMIN_DIR,
    .nsub = NWINDOWS,
    .stat = node_links_dir_stat,
    .lookup = window_lookup,
    .list = window_list,
};
