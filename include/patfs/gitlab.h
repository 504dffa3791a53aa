/* gitlab.h - importing the access tokens of a GitLab instance, to audit
 * them with patfs: their metadata only, never a secret (GitLab gives none),
 * so an imported token never authenticates and cannot be changed here.
 *
 * The inventory is GitLab's own API responses, gathered into one JSON
 * object (each member optional):
 *
 *	{"users":                  GET /users (id, username),
 *	 "personal_access_tokens": GET /personal_access_tokens,
 *	 "projects": [ GET /projects/:id, plus "access_tokens":
 *	               GET /projects/:id/access_tokens ],
 *	 "groups":   [ GET /groups/:id, plus "access_tokens":
 *	               GET /groups/:id/access_tokens ]}
 *
 * or the array of GET /personal_access_tokens alone. Importing again
 * updates in place by GitLab's ids. */
#ifndef PATFS_GITLAB_H
#define PATFS_GITLAB_H

#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"

struct store;

struct gitlab_counts {
	int64_t users, projects, groups;   /* created */
	int64_t added, updated, unchanged; /* tokens */
};

/* Told every so often how many of the inventory's tokens are done. */
typedef void gitlab_progress_fn(void *ctx, int64_t done, int64_t total);

/* Imports the inventory text[len], all of it in one transaction, as admin
 * a: 0 with *out filled; -EINVAL with the first problem and where it is in
 * err (nothing changed); -EPERM when a is no admin; -EEXIST when a name
 * it needs is another's; or another -errno. */
int gitlab_import(struct store *st, const struct pfs_actor *a, const char *text,
		  size_t len, struct gitlab_counts *out, gitlab_progress_fn *fn,
		  void *ctx, char *err, size_t errlen);

#endif
