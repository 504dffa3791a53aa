/* node_scratch.c - a tool's temp file (daemon/scratch.h) as a node: its
 * creator's and the administrators', read and written at offsets like any
 * file, never cached by the kernel. ops.c makes it (create), renames it
 * over an attribute and removes it. */
#include <errno.h>

#include "daemon/scratch.h"
#include "node.h"
#include "ofile.h"

static int scratch_load_node(struct nreq *q, struct node *n)
{
	struct scratch_info si;
	int r = scratch_stat(q->p->scratch, (uint32_t)n->ino.id, &si);

	n->obj = access_of(ACCESS_SCRATCH, 0, r ? -1 : (int64_t)si.uid);
	n->count = r ? 0 : (int64_t)si.len;
	n->mtime = r ? 0 : si.mtime;
	return r;
}

static void scratch_stat_node(struct nreq *q, const struct node *n,
			      struct node_attr *out)
{
	node_fill(q, n, out, (uint64_t)n->count, 1, n->mtime);
	out->ttl = out->entry_ttl = 0; /* after its rename, a name of another */
}

static int scratch_open_node(struct nreq *q, struct node *n,
			     struct fuse_file_info *fi)
{
	struct ofile *of = ofile_new(OF_SCRATCH);

	if (!of)
		return -ENOMEM;
	if (scratch_open(q->p->scratch, (uint32_t)n->ino.id)) {
		ofile_put(q->p, of);
		return -ENOENT;
	}
	of->token_id = (int64_t)n->ino.id;
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->direct_io = 1;
	return 0;
}

static ssize_t scratch_read_node(struct nreq *q, struct node *n, char *buf,
				 size_t size, off_t off)
{
	return scratch_read(q->p->scratch, (uint32_t)n->ino.id, buf, size, off);
}

static int scratch_write_node(struct nreq *q, struct node *n, const char *buf,
			      size_t size)
{
	ssize_t r = scratch_write(q->p->scratch, (uint32_t)n->ino.id, buf, size,
				  q->off);

	return r < 0 ? (int)r : 0;
}

const struct node_kind node_scratch = {
    .name = "temp file",
    .flags = NODE_REG | NODE_ANY_SIZE | NODE_UNLISTED,
    .load = scratch_load_node,
    .stat = scratch_stat_node,
    .open = scratch_open_node,
    .read = scratch_read_node,
    .write = scratch_write_node,
};
