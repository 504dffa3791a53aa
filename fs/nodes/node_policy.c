/* node_policy.c - policy/ (the policies that change without a restart: one
 * file each, everyone reads, administrators write) and noncompliant/ (a
 * link to each active token that breaks them, and reasons). Both read the
 * store at every request: another host may have changed a policy. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "node.h"
#include "patfs/rules.h"

/* policy/ ------------------------------------------------------------------ */

static int policy_lookup(struct nreq *q, const struct node *dir,
			 const char *name, struct node *child)
{
	(void)dir;
	return node_lookup_sub(q, rules_names, RULE_N, INO_POLICY_FILE, name,
			       child);
}

static int policy_list(struct nreq *q, const struct node *dir, struct dirbuf *d,
		       off_t off)
{
	return node_list_fixed(q, dir, rules_names, RULE_N, d, off);
}

const struct node_kind node_policy = {
    .name = "policy",
    .flags = NODE_DIR,
    .access = ACCESS_PUBLIC_DIR,
    .lookup = policy_lookup,
    .list = policy_list,
};

/* policy/<rule> ------------------------------------------------------------ */

/* The rule's file now into buf: its length, or -errno; *mtime when it was
 * set (the mount's start while the ini file's value holds). */
static int rule_text(struct nreq *q, const struct node *n, char *buf,
		     size_t size, int64_t *mtime)
{
	struct rules r;
	int e = rules_get(q->p->st, &r);

	if (e)
		return e;
	*mtime = r.set_at[n->ino.sub] ? r.set_at[n->ino.sub] : q->p->started;
	return (int)rules_render(&r, (enum rule)n->ino.sub, buf, size);
}

static void rule_stat(struct nreq *q, const struct node *n,
		      struct node_attr *out)
{
	char buf[1024];
	int64_t mtime = q->p->started;
	int len = rule_text(q, n, buf, sizeof(buf), &mtime);

	node_fill(q, n, out, len > 0 ? (uint64_t)len : 0, 1, mtime);
	out->ttl = 0.0; /* another host may set it */
}

static ssize_t rule_read(struct nreq *q, struct node *n, char *buf, size_t size,
			 off_t off)
{
	char text[1024];
	int64_t mtime;
	int len = rule_text(q, n, text, sizeof(text), &mtime);

	return len < 0 ? len : node_slice(text, (size_t)len, buf, size, off);
}

static int rule_write(struct nreq *q, struct node *n, const char *buf,
		      size_t size)
{
	return rules_write(q->p->st, &q->a, (enum rule)n->ino.sub, buf, size);
}

const struct node_kind node_policy_file = {
    .name = "policy file",
    .flags = NODE_REG,
    .access = ACCESS_POLICY,
    .nsub = RULE_N,
    .stat = rule_stat,
    .read = rule_read,
    .write = rule_write,
};

/* noncompliant/<id> -> ../users/<u>/tokens/<id>, and reasons -------------- */

/* Whether t is active and breaks a policy now. */
static bool breaks(struct nreq *q, const struct token_info *t, int64_t now)
{
	struct rules r;
	char why[512];

	return token_active(t, now) && rules_get(q->p->st, &r) == 0 &&
	       rules_broken(&r, t, why, sizeof(why)) != RULE_N;
}

static int noncompliant_lookup(struct nreq *q, const struct node *dir,
			       const char *name, struct node *child)
{
	int64_t id;
	int r;

	(void)dir;
	if (!strcmp(name, "reasons")) {
		child->ino = (struct ino){INO_NONCOMPLIANT_REASONS, 0, 0};
		return node_load(q, child);
	}
	r = node_parse_id(name, &id);
	if (!r)
		r = token_get(q->p->st, id, &child->token);
	if (!r && !breaks(q, &child->token, time(NULL)))
		r = -ENOENT;
	if (!r)
		node_link_to(child, &child->token, INO_SHALLOW);
	return r;
}

struct listing {
	struct node_listing l;
	struct rules r;
};

static int add_link(void *ctx, const struct token_info *t)
{
	struct listing *s = ctx;
	char why[512];

	if (!token_active(t, s->l.now) ||
	    rules_broken(&s->r, t, why, sizeof(why)) == RULE_N)
		return 0;
	node_link_to(&s->l.child, t, INO_SHALLOW);
	return node_add_id(&s->l, t->id, (off_t)(t->id + OFF_FIRST + 1));
}

/* reasons at OFF_FIRST, then each token at its id + OFF_FIRST + 1. */
static int noncompliant_list(struct nreq *q, const struct node *dir,
			     struct dirbuf *d, off_t off)
{
	struct listing s = {.l = {.dir = dir, .d = d, .now = time(NULL)}};
	struct node child = {.loaded = false};
	int r;

	if (off < OFF_FIRST) {
		noncompliant_lookup(q, dir, "reasons", &child);
		if (node_dir_add(d, "reasons", &child, OFF_FIRST))
			return 0;
		off = OFF_FIRST;
	}
	r = rules_get(q->p->st, &s.r);
	return r ? r
		 : token_list_unused(q->p->st, INT64_MAX,
				     off - OFF_FIRST > 0 ? off - OFF_FIRST - 1
							 : 0,
				     add_link, &s);
}

const struct node_kind node_noncompliant = {
    .name = "noncompliant",
    .flags = NODE_DIR | NODE_RO | NODE_GEN,
    .access = ACCESS_ADMIN_DIR,
    .lookup = noncompliant_lookup,
    .list = noncompliant_list,
};
