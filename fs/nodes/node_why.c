/* node_why.c - the refusals a request ends in, kept for the caller's file
 * why (daemon/why.h) with the path they were about and core's reason, and
 * logged under -o debug. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/why.h"
#include "node.h"
#include "patfs/policy.h"
#include "patfs/token_attr.h"

/* base, and "/leaf" unless leaf is empty, into buf[size]. */
static void join(char *buf, size_t size, const char *base, const char *leaf)
{
	snprintf(buf, size, "%s%s%s", base, leaf[0] ? "/" : "", leaf);
}

/* The last part of n's path below its user, token, project or group (""
 * for the directory itself). */
static const char *leaf(const struct node *n)
{
	unsigned sub = n->ino.sub;

	switch (n->ino.kind) {
	case INO_USER_ATTR:
		return sub < USER_NATTR ? user_attrs[sub].name : "?";
	case INO_TOKENS:
	case INO_RES_TOKENS:
		return "tokens";
	case INO_TOKENS_JSON:
		return "tokens.json";
	case INO_SECRET:
		return "token";
	case INO_TOKEN_ATTR:
	case INO_TOKEN_REL:
		return sub < TOKEN_NATTR ? token_attrs[sub].name : "?";
	case INO_RESOURCE_ATTR:
		return sub < RESOURCE_NATTR ? resource_attrs[sub].name : "?";
	default:
		return "";
	}
}

/* The path of n below the mount, as far as what was loaded of it says. */
static void path_of(const struct node *n, char *buf, size_t size)
{
	char base[OBJECT_MAX];
	unsigned sub = n->ino.sub;

	switch (n->ino.kind) {
	case INO_USER:
	case INO_USER_ATTR:
	case INO_TOKENS:
	case INO_TOKENS_JSON:
		snprintf(base, sizeof(base), "users/%s", n->user.name);
		break;
	case INO_TOKEN:
	case INO_TOKEN_ATTR:
	case INO_TOKEN_REL:
	case INO_SECRET:
		token_object(&n->token, base);
		break;
	case INO_RESOURCE:
	case INO_RESOURCE_ATTR:
	case INO_RES_TOKENS:
		snprintf(base, sizeof(base), "%s/%s",
			 policy_resource_dir_names[n->res.kind], n->res.name);
		break;
	case INO_RESOURCES:
		snprintf(base, sizeof(base), "%s",
			 sub < RESOURCE_NKINDS ? policy_resource_dir_names[sub]
					       : "?");
		break;
	case INO_SCOPE:
		snprintf(base, sizeof(base), "auth/%s",
			 sub < POLICY_NSCOPES ? policy_scope_names[sub] : "?");
		break;
	case INO_ROOT:
		snprintf(base, sizeof(base), ".");
		break;
	case INO_DATE:
	case INO_LINK:
	case INO_WITHIN:
	case INO_WINDOW:
		snprintf(base, sizeof(base), "expiring/...");
		break;
	default:
		snprintf(base, sizeof(base), "%s", node_kind_of(n->ino)->name);
	}
	join(buf, size, base, leaf(n));
}

/* Whether err is a refusal worth a line: not a name that is not there (a
 * shell's or ls's probes) unless a reason says more. */
static bool refusal(int err, const char *reason)
{
	switch (err) {
	case EPERM:
	case EACCES:
	case EINVAL:
	case EEXIST:
	case ENOTEMPTY:
	case EROFS:
	case ENAMETOOLONG:
	case EAGAIN:
	case EDQUOT:
	case ENOSPC:
	case ENOBUFS:
	case EKEYREJECTED:
	case EKEYREVOKED:
	case EKEYEXPIRED:
	case EBUSY:
		return true;
	default:
		return reason[0] != '\0';
	}
}

void node_refused(struct nreq *q, const char *op, int err)
{
	char reason[PFS_REASON_MAX], path[WHY_PATH + PFS_NAME_MAX + 2];
	char lower[12];
	size_t i;

	snprintf(reason, sizeof(reason), "%s", pfs_reason(err));
	if (!refusal(err, reason))
		return;
	if (q->subject && !q->subject->loaded) /* a write's: for its path */
		node_load(q, q->subject);
	for (i = 0; op[i] && i + 1 < sizeof(lower); i++)
		lower[i] =
		    (char)(op[i] >= 'A' && op[i] <= 'Z' ? op[i] + 32 : op[i]);
	lower[i] = '\0';
	if (q->subject)
		path_of(q->subject, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "?");
	if (q->name) {
		size_t len = strlen(path);

		snprintf(path + len, sizeof(path) - len, "/%s", q->name);
	}
	why_note(q->p->why, q->a.uid, time(NULL), lower, path, err, reason);
	if (q->p->log_refusals) /* pfs_log: at most 20 lines a minute */
		pfs_log(PFS_LOG_INFO, "refused: uid %u %s %s %s: %s",
			(unsigned)q->a.uid, lower, path,
			strerrorname_np(err) ? strerrorname_np(err) : "E?",
			reason[0] ? reason : "no reason was given");
}
