/* node_root.c - the root of the mount: fixed names, one per area. */
#include <errno.h>
#include <string.h>

#include "node.h"

static const struct {
	const char *name;
	enum ino_kind kind;
} entries[] = {
    {"users", INO_USERS},	{"expiring", INO_EXPIRING},
    {"auth", INO_AUTH},		{"revoke", INO_REVOKE},
    {"identify", INO_IDENTIFY}, {"audit.log", INO_AUDIT},
    {"rotate", INO_SELF_ROTATE}, {"expiring.ics", INO_ICS},
};
#define NENTRIES ((int)(sizeof(entries) / sizeof(entries[0])))

static int root_load(struct nreq *q, struct node *n)
{
	(void)q;
	n->obj = access_of(ACCESS_PUBLIC_DIR, 0, -1);
	return 0;
}

static void root_stat(struct nreq *q, const struct node *n,
		      struct node_attr *out)
{
	node_fill(q, n, out, 0, 5, q->p->started); /* users, expiring, auth */
}

static int root_lookup(struct nreq *q, const struct node *dir, const char *name,
		       struct node *child)
{
	(void)dir;
	for (int i = 0; i < NENTRIES; i++)
		if (!strcmp(entries[i].name, name)) {
			child->ino = (struct ino){entries[i].kind, 0, 0};
			return node_load(q, child);
		}
	return -ENOENT;
}

static int root_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		     off_t off)
{
	const char *names[NENTRIES];

	for (int i = 0; i < NENTRIES; i++)
		names[i] = entries[i].name;
	return node_list_fixed(q, dir, names, NENTRIES, d, off);
}

const struct node_kind node_root = {
    .name = "root",
    .flags = NODE_DIR | NODE_LIST_CACHE,
    .load = root_load,
    .stat = root_stat,
    .lookup = root_lookup,
    .list = root_list,
};
