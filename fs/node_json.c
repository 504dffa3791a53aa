/* node_json.c - users/<u>/tokens.json: the meta.json of every token of a
 * user the caller may see, in one read. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

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
		       struct token_json_doc *doc)
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
	struct token_json_doc doc;

	if (json_render(q, n, &doc)) {
		node_fill(q, n, out, 0, 1, n->user.created_at);
		out->ttl = 0.0; /* the store failed: ask again */
		return;
	}
	node_fill(q, n, out, doc.len, 1, doc.mtime);
	if (doc.varies)
		out->ttl = 0.0;
	free(doc.text);
}

/* The open file holds what the file held at open, so that reads in pieces
 * make one whole; and reads it directly: a page cache shared by the opens
 * would mix the pieces of several. */
static int json_open(struct nreq *q, struct node *n, struct fuse_file_info *fi)
{
	struct token_json_doc doc;
	struct ofile *of;
	int r = json_render(q, n, &doc);

	if (r)
		return r;
	of = ofile_new(OF_TEXT);
	if (!of) {
		free(doc.text);
		return -ENOMEM;
	}
	of->text = doc.text;
	of->tlen = doc.len;
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->direct_io = 1; /* never pages one open shares with another */
	fi->noflush = 1;
	return 0;
}

static ssize_t json_read(struct nreq *q, struct node *n, char *buf,
			 size_t size, off_t off)
{
	(void)n;
	if (!q->of || q->of->kind != OF_TEXT)
		return -EBADF;
	return node_slice(q->of->text, q->of->tlen, buf, size, off);
}

const struct node_kind node_tokens_json = {
    .name = "tokens.json",
    .flags = NODE_REG | NODE_GEN,
    .load = json_load,
    .stat = json_stat,
    .open = json_open,
    .read = json_read,
};
