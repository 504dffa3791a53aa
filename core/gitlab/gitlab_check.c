/* gitlab_check.c - what an inventory says once, before anything of it is
 * stored: each GitLab id of a token, user, project and group stands for one
 * thing. A token listed twice is refused, naming both places, except a
 * bot's token listed both among the personal tokens and under its project
 * or group (as GET /personal_access_tokens shows bots' tokens too): it is
 * the project's or group's, and its personal listing is passed over. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitlabInt.h"
#include "patfs/policy.h"

/* One listing of a token, a user, a project or a group. */
struct seen {
	int64_t id, user_id;
	int list;    /* enum gl_list */
	size_t k, j; /* its place: list[k], or list[k].access_tokens[j] */
};

enum gl_list { GL_PERSONAL, GL_PROJECTS, GL_GROUPS, GL_USERS };

static const char *const list_names[] = {"personal_access_tokens", "projects",
					 "groups", "users"};

static void place(const struct seen *s, bool token, char *out, size_t size)
{
	if (s->list == GL_PERSONAL || s->list == GL_USERS || !token)
		snprintf(out, size, "%s[%zu]", list_names[s->list], s->k);
	else
		snprintf(out, size, "%s[%zu].access_tokens[%zu]",
			 list_names[s->list], s->k, s->j);
}

static int by_id_list(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	return x->list - y->list;
}

/* Adds the listing of object o's id (and user_id, for a token) to v. */
static void add(struct import *im, struct seen *v, size_t *n, size_t o,
		int list, size_t k, size_t j, bool token)
{
	struct seen *s = &v[*n];

	if (im->d.v[o].type != JR_OBJECT)
		return; /* said by the import */
	*s = (struct seen){.list = list, .k = k, .j = j};
	if (jr_int(&im->d, jr_member(&im->d, o, "id"), &s->id))
		return;
	if (token)
		jr_int(&im->d, jr_member(&im->d, o, "user_id"), &s->user_id);
	(*n)++;
}

/* Refuses two listings of one id among v's n (sorted): -EINVAL, said. A
 * personal listing of a resource's token is marked to be passed over
 * (pass, sorted ids) when both name the same bot. */
static int twice(struct import *im, struct seen *v, size_t n, bool tokens,
		 const char *what)
{
	char a[96], b[96];

	for (size_t i = 1; i < n; i++) {
		const struct seen *x = &v[i - 1], *y = &v[i];
		if (x->id != y->id)
			continue;
		if (tokens && x->list == GL_PERSONAL &&
		    y->list != GL_PERSONAL && x->user_id == y->user_id &&
		    (i + 1 == n || v[i + 1].id != y->id)) {
			im->pass[im->npass++] = x->id;
			continue;
		}
		place(x, tokens, a, sizeof(a));
		place(y, tokens, b, sizeof(b));
		snprintf(im->err, im->errlen,
			 "%s and %s are one %s (GitLab id %" PRId64
			 "): an inventory lists each once",
			 a, b, what, x->id);
		return -EINVAL;
	}
	return 0;
}

/* The resources of list (kind), and their tokens, into res and tok. */
static void add_resources(struct import *im, size_t list, int kind,
			  struct seen *res, size_t *nres, struct seen *tok,
			  size_t *ntok)
{
	size_t k = 0;

	for (size_t i = list + 1; list && i < im->d.v[list].next;
	     i = im->d.v[i].next, k++) {
		size_t t = jr_member(&im->d, i, "access_tokens"), j = 0;
		add(im, res, nres, i, kind, k, 0, false);
		if (!t || im->d.v[t].type != JR_ARRAY)
			continue;
		for (size_t e = t + 1; e < im->d.v[t].next;
		     e = im->d.v[e].next, j++)
			add(im, tok, ntok, e, kind, k, j, true);
	}
}

int gl_check_ids(struct import *im, size_t users, size_t pats, bool top_array,
		 size_t projects, size_t groups)
{
	size_t ntok = 0, nres = 0, nusr = 0, k = 0, cap;
	struct seen *tok, *res, *usr;
	int r;

	cap = (size_t)im->total + 1;
	tok = calloc(cap, sizeof(*tok));
	res = calloc(im->d.n + 1, sizeof(*res));
	usr = calloc(im->d.n + 1, sizeof(*usr));
	im->pass = calloc(cap, sizeof(*im->pass));
	r = tok && res && usr && im->pass ? 0 : -ENOMEM;
	for (size_t i = pats + 1;
	     !r && (pats || top_array) && i < im->d.v[pats].next;
	     i = im->d.v[i].next, k++)
		add(im, tok, &ntok, i, GL_PERSONAL, k, 0, true);
	if (!r) {
		add_resources(im, projects, GL_PROJECTS, res, &nres, tok,
			      &ntok);
		add_resources(im, groups, GL_GROUPS, res, &nres, tok, &ntok);
	}
	k = 0;
	for (size_t i = users + 1; !r && users && i < im->d.v[users].next;
	     i = im->d.v[i].next, k++)
		add(im, usr, &nusr, i, GL_USERS, k, 0, false);
	if (!r) {
		qsort(tok, ntok, sizeof(*tok), by_id_list);
		qsort(res, nres, sizeof(*res), by_id_list);
		qsort(usr, nusr, sizeof(*usr), by_id_list);
		r = twice(im, tok, ntok, true, "token");
	}
	if (!r)
		r = twice(im, usr, nusr, false, "user");
	for (size_t i = 1; !r && i < nres; i++) /* a project and a group may
						   share an id */
		if (res[i].id == res[i - 1].id &&
		    res[i].list == res[i - 1].list)
			r = twice(
			    im, res + i - 1, 2, false,
			    policy_resource_kind_names[res[i].list ==
							       GL_PROJECTS
							   ? RESOURCE_PROJECT
							   : RESOURCE_GROUP]);
	free(tok);
	free(res);
	free(usr);
	return r;
}

bool gl_passed_over(const struct import *im, int64_t id)
{
	for (size_t i = 0; i < im->npass; i++)
		if (im->pass[i] == id)
			return true;
	return false;
}
