/* node_json.c - documents rendered for their reader: users/<u>/tokens.json
 * (the meta.json of every token of a user the caller may see, in one read)
 * and expiring.ics (the expiry dates of the caller's tokens, or of all for
 * admins, as a calendar). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/cache.h"
#include "daemon/metrics.h"
#include "daemon/pages.h"
#include "node.h"
#include "ofile.h"

static int json_load(struct nreq *q, struct node *n)
{
	int r = user_get(q->p->st, n->ino.id, &n->user);

	n->obj = access_of(ACCESS_USER_JSON, 0, r ? -1 : n->user.uid);
	return r;
}

/* The file as q's caller sees it now: 0 or -errno. */
static int json_render(struct nreq *q, const struct node *n,
		       struct token_doc *doc)
{
	doc->mtime = n->user.created_at;
	return token_json_user(q->p->st, &q->a, n->user.id, time(NULL), doc);
}

/* Admins and the owner see other tokens when the user has impersonation
 * tokens: then the kernel keeps no size of it. Otherwise it keeps it until
 * cache.c takes it back. */
static void json_stat(struct nreq *q, const struct node *n,
		      struct node_attr *out)
{
	struct token_doc doc;
	uint64_t size;
	int64_t mtime;

	if (json_render(q, n, &doc)) {
		node_fill(q, n, out, 0, 1, n->user.created_at);
		out->ttl = 0.0; /* the store failed: ask again */
		return;
	}
	size = doc.len;
	mtime = doc.mtime;
	if (!doc.varies) /* page reads end at the size the kernel holds */
		pages_held(q->p->pages,
			   ino_make(n->ino.kind, n->ino.sub, n->ino.id), &size,
			   &mtime);
	node_fill(q, n, out, size, 1, mtime);
	if (doc.varies)
		out->ttl = 0.0;
	free(doc.text);
}

/* The open file holds what the file held at open, so that reads in pieces
 * make one whole; and reads it directly, unless ino is given: then through
 * the page cache when pages.h says it may. */
static int doc_open(struct nreq *q, uint64_t ino, struct token_doc doc,
		    struct fuse_file_info *fi)
{
	bool keep = false;

	struct ofile *of = ofile_new(OF_TEXT);

	if (!of) {
		free(doc.text);
		return -ENOMEM;
	}
	of->text = doc.text;
	of->tlen = doc.len;
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->direct_io = 1;
	if (ino &&
	    pages_open(q->p->pages, ino, doc.text, doc.len, doc.mtime, &keep)) {
		of->pages_ino = ino;
		fi->direct_io = 0;
		fi->keep_cache = keep;
		/* new content: the size the kernel holds may be the old one's
		 * (a commit whose invalidations the cache thread has yet to
		 * send), and page reads end at it. Asked again, it is this
		 * snapshot's (pages_held). */
		if (!keep)
			cache_drop_attr(q->p->cache, ino);
	}
	fi->noflush = 1;
	return 0;
}

static int json_open(struct nreq *q, struct node *n, struct fuse_file_info *fi)
{
	struct token_doc doc;
	int r = json_render(q, n, &doc);
	uint64_t ino = ino_make(n->ino.kind, n->ino.sub, n->ino.id);

	/* what varies with the caller stays out of the shared pages */
	return r ? r : doc_open(q, doc.varies ? 0 : ino, doc, fi);
}

static ssize_t doc_read(struct nreq *q, struct node *n, char *buf, size_t size,
			off_t off)
{
	(void)n;
	if (!q->of || q->of->kind != OF_TEXT)
		return -EBADF;
	return node_slice(q->of->text, q->of->tlen, buf, size, off);
}

/* A user's document holds every token's meta.json. */
static void json_stale(const struct store_change *ch, ino_inval_fn *inval,
		       void *ctx)
{
	if (ch->kind == STORE_CH_USER || ch->kind == STORE_CH_TOKENS ||
	    (ch->kind == STORE_CH_TOKEN &&
	     (ch->fields & token_attrs[TOKEN_META].deps)))
		inval(ctx, (struct ino){INO_TOKENS_JSON, 0, ch->user_id});
}

const struct node_kind node_tokens_json = {
    .name = "tokens.json",
    .flags = NODE_REG | NODE_GEN,
    .load = json_load,
    .stat = json_stat,
    .open = json_open,
    .read = doc_read,
    .stale = json_stale,
};

/* expiring.ics --------------------------------------------------------- */

static int ics_load(struct nreq *q, struct node *n)
{
	(void)q;
	n->obj = access_of(ACCESS_CALENDAR, 0, -1);
	return 0;
}

/* Each caller sees their own: the kernel keeps nothing of it. */
static void ics_stat(struct nreq *q, const struct node *n,
		     struct node_attr *out)
{
	struct token_doc doc = {.mtime = q->p->started};
	int r = token_ics(q->p->st, &q->a, time(NULL), &doc);

	node_fill(q, n, out, r ? 0 : doc.len, 1, doc.mtime);
	out->ttl = 0.0;
	if (!r)
		free(doc.text);
}

static int ics_open(struct nreq *q, struct node *n, struct fuse_file_info *fi)
{
	struct token_doc doc = {.mtime = q->p->started};
	int r = token_ics(q->p->st, &q->a, time(NULL), &doc);

	(void)n;
	return r ? r : doc_open(q, 0, doc, fi);
}

/* metrics --------------------------------------------------------------- */

static int metrics_load(struct nreq *q, struct node *n)
{
	(void)q;
	n->obj = access_of(ACCESS_AUDIT, 0, -1); /* admins read */
	return 0;
}

/* It changes with every request: the kernel keeps nothing of it. */
static void metrics_stat(struct nreq *q, const struct node *n,
			 struct node_attr *out)
{
	struct token_doc doc = {0};
	int r = metrics_render(q->p, &doc);

	node_fill(q, n, out, r ? 0 : doc.len, 1, r ? q->p->started : doc.mtime);
	out->ttl = 0.0;
	free(doc.text);
}

static int metrics_open(struct nreq *q, struct node *n,
			struct fuse_file_info *fi)
{
	struct token_doc doc;
	int r = metrics_render(q->p, &doc);

	(void)n;
	return r ? r : doc_open(q, 0, doc, fi);
}

const struct node_kind node_metrics = {
    .name = "metrics",
    .flags = NODE_REG,
    .load = metrics_load,
    .stat = metrics_stat,
    .open = metrics_open,
    .read = doc_read,
};

const struct node_kind node_ics = {
    .name = "expiring.ics",
    .flags = NODE_REG,
    .load = ics_load,
    .stat = ics_stat,
    .open = ics_open,
    .read = doc_read,
};
