/* node_root.c - the root of the mount: fixed names, one per area. */
#include <errno.h>
#include <string.h>

#include "node.h"

static const struct {
	const char *name;
	enum ino_kind kind;
	unsigned sub;
} entries[] = {
    {"users", INO_USERS, 0},
    {"projects", INO_RESOURCES, RESOURCE_PROJECT},
    {"groups", INO_RESOURCES, RESOURCE_GROUP},
    {"expiring", INO_EXPIRING, 0},
    {"auth", INO_AUTH, 0},
    {"revoke", INO_REVOKE, 0},
    {"identify", INO_IDENTIFY, 0},
    {"rotate", INO_SELF_ROTATE, 0},
    {"audit.log", INO_AUDIT, 0},
    {"expiring.ics", INO_ICS, 0},
    {"metrics", INO_METRICS, 0},
    {"why", INO_WHY, 0},
    {"scopes", INO_SCOPES, 0},
    {"unused", INO_UNUSED, 0},
    {"credentials.csv", INO_CREDENTIALS, TOKEN_INVENTORY_CSV},
    {"credentials.json", INO_CREDENTIALS, TOKEN_INVENTORY_JSON},
    {"scan", INO_SCAN, 0},
    {"policy", INO_POLICY, 0},
    {"noncompliant", INO_NONCOMPLIANT, 0},
};
#define NENTRIES ((int)(sizeof(entries) / sizeof(entries[0])))

static int root_lookup(struct nreq *q, const struct node *dir, const char *name,
		       struct node *child)
{
	(void)dir;
	for (int i = 0; i < NENTRIES; i++)
		if (!strcmp(entries[i].name, name)) {
			child->ino =
			    (struct ino){entries[i].kind, entries[i].sub, 0};
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
    .access = ACCESS_PUBLIC_DIR,
    /* users, projects, groups, expiring, auth, unused, policy,
     * noncompliant */
    .nlink = 10,
    .lookup = root_lookup,
    .list = root_list,
};
