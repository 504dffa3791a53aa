/* node_doc.c - documents rendered for their reader, one kind each over one
 * set of operations: users/<u>/tokens.json (the meta.json of every token of
 * a user the caller may see, in one read), expiring.ics (the expiry dates of
 * the caller's tokens, or of all for admins, as a calendar), metrics, and
 * why (the caller's latest refusals) and scopes (what each scope grants).
 *
 * A new document is a render function, its row in docs[] and its line in
 * ino.h's INO_KINDS; NODE_DOC makes its kind. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/held.h"
#include "daemon/metrics.h"
#include "daemon/pages.h"
#include "daemon/why.h"
#include "node.h"
#include "ofile.h"
#include "patfs/rules.h"

/* A document: who may read it, and its content as q's caller sees it now
 * (0 or -errno; doc->mtime preset to the mount's start). Unless varies
 * says so, or per_caller, every reader sees the same: the kernel keeps its
 * size and pages until cache.c takes them back (stale). */
struct doc_def {
	int (*load)(struct nreq *q, struct node *n);
	int (*render)(struct nreq *q, const struct node *n,
		      struct token_doc *doc);
	bool per_caller; /* another caller's differs, or it changes with
			    every request: the kernel keeps nothing */
};

static int json_load(struct nreq *q, struct node *n)
{
	int r = user_get(q->p->st, n->ino.id, &n->user);

	n->obj = access_of(ACCESS_USER_JSON, 0, r ? -1 : n->user.uid);
	return r;
}

/* Admins and the owner see other tokens when the user has impersonation
 * tokens (doc.varies). */
static int json_render(struct nreq *q, const struct node *n,
		       struct token_doc *doc)
{
	doc->mtime = n->user.created_at;
	return token_json_user(q->p->st, &q->a, n->user.id, time(NULL), doc);
}

static int ics_load(struct nreq *q, struct node *n)
{
	(void)q;
	n->obj = access_of(ACCESS_CALENDAR, 0, -1);
	return 0;
}

static int ics_render(struct nreq *q, const struct node *n,
		      struct token_doc *doc)
{
	(void)n;
	return token_ics(q->p->st, &q->a, time(NULL), doc);
}

static int metrics_load(struct nreq *q, struct node *n)
{
	(void)q;
	n->obj = access_of(ACCESS_AUDIT, 0, -1); /* admins read */
	return 0;
}

static int metrics_doc(struct nreq *q, const struct node *n,
		       struct token_doc *doc)
{
	(void)n;
	return metrics_render(q->p, doc);
}

/* The caller's latest refusals, newest first (daemon/why.h). */
static int why_doc(struct nreq *q, const struct node *n, struct token_doc *doc)
{
	(void)n;
	doc->mtime = time(NULL);
	return why_render(q->p->why, q->a.uid, &doc->text, &doc->len);
}

/* What each scope grants: policy.c's own table. */
static int scopes_doc(struct nreq *q, const struct node *n,
		      struct token_doc *doc)
{
	size_t len = policy_render_implications(NULL, 0);

	(void)q, (void)n;
	doc->text = malloc(len + 1);
	if (!doc->text)
		return -ENOMEM;
	doc->len = policy_render_implications(doc->text, len + 1);
	return 0;
}

/* noncompliant/reasons: the policies' view of every active token. */
static int reasons_doc(struct nreq *q, const struct node *n,
		       struct token_doc *doc)
{
	(void)n;
	doc->mtime = time(NULL);
	return rules_reasons(q->p->st, time(NULL), doc);
}

static const struct doc_def docs[INO_NKINDS] = {
    [INO_TOKENS_JSON] = {json_load, json_render, false},
    [INO_ICS] = {ics_load, ics_render, true},
    [INO_METRICS] = {metrics_load, metrics_doc, true},
    [INO_WHY] = {ics_load, why_doc, true},	  /* everyone reads their own */
    [INO_SCOPES] = {ics_load, scopes_doc, false}, /* everyone reads */
    [INO_NONCOMPLIANT_REASONS] = {metrics_load, reasons_doc, true},
};

static int doc_load(struct nreq *q, struct node *n)
{
	return docs[n->ino.kind].load(q, n);
}

/* n's content for q's caller: 0 or -errno, and whether the kernel may keep
 * it (its inode number then, else 0). */
static int render(struct nreq *q, const struct node *n, struct token_doc *doc,
		  uint64_t *shared)
{
	const struct doc_def *d = &docs[n->ino.kind];
	int r;

	*doc = (struct token_doc){.mtime = q->p->started};
	r = held_render_begin(q->p->snapshots, &q->a);
	if (!r) {
		r = d->render(q, n, doc);
		held_render_end(q->p->snapshots, &q->a);
	}
	*shared = r || d->per_caller || doc->varies
		      ? 0
		      : ino_make(n->ino.kind, n->ino.sub, n->ino.id);
	return r;
}

static void doc_stat(struct nreq *q, const struct node *n,
		     struct node_attr *out)
{
	struct token_doc doc;
	uint64_t shared, size;
	int64_t mtime;
	int r = render(q, n, &doc, &shared);

	size = r ? 0 : doc.len;
	mtime = r ? q->p->started : doc.mtime;
	if (shared) /* page reads end at the size the kernel holds */
		pages_held(q->p->pages, shared, &size, &mtime);
	node_fill(q, n, out, size, 1, mtime);
	if (!shared)
		out->ttl = 0.0; /* or the store failed: ask again */
	free(doc.text);
}

/* The open file holds what the file held at open, so that reads in pieces
 * make one whole; and reads it directly, unless ino is given: then through
 * the page cache when pages.h says it may. */
static int open_text(struct nreq *q, uint64_t ino, struct token_doc doc,
		     struct fuse_file_info *fi)
{
	bool keep = false;
	struct ofile *of;
	int r = held_take(q->p->snapshots, &q->a, doc.len);

	of = r ? NULL : ofile_new(OF_TEXT);
	if (!of) {
		if (!r)
			held_give(q->p->snapshots, q->a.uid, doc.len);
		free(doc.text);
		return r ? r : -ENOMEM;
	}
	of->text = doc.text;
	of->tlen = doc.len;
	of->text_uid = q->a.uid;
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->direct_io = 1;
	if (ino &&
	    pages_open(q->p->pages, ino, doc.text, doc.len, doc.mtime, &keep)) {
		of->pages_ino = ino;
		fi->direct_io = 0;
		fi->keep_cache = keep;
	}
	fi->noflush = 1;
	return 0;
}

static int doc_open(struct nreq *q, struct node *n, struct fuse_file_info *fi)
{
	struct token_doc doc;
	uint64_t shared;
	int r = render(q, n, &doc, &shared);

	/* what varies with the caller stays out of the shared pages */
	return r ? r : open_text(q, shared, doc, fi);
}

static ssize_t doc_read(struct nreq *q, struct node *n, char *buf, size_t size,
			off_t off)
{
	(void)n;
	if (!q->of || q->of->kind != OF_TEXT)
		return -EBADF;
	return node_slice(q->of->text, q->of->tlen, buf, size, off);
}

/* The kind of a document. */
#define NODE_DOC(label, stale_fn)                                              \
	{                                                                      \
		.name = (label), .flags = NODE_REG | NODE_GEN,                 \
		.load = doc_load, .stat = doc_stat, .open = doc_open,          \
		.read = doc_read, .stale = (stale_fn),                         \
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

const struct node_kind node_tokens_json = NODE_DOC("tokens.json", json_stale);
const struct node_kind node_ics = NODE_DOC("expiring.ics", NULL);
const struct node_kind node_metrics = NODE_DOC("metrics", NULL);
const struct node_kind node_why = NODE_DOC("why", NULL);
const struct node_kind node_scopes = NODE_DOC("scopes", NULL);
const struct node_kind node_noncompliant_reasons = NODE_DOC("reasons", NULL);
