/* gitlab_read.c - reading and checking a GitLab inventory's values
 * (gitlabInt.h): nothing here touches the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitlabInt.h"
#include "patfs/policy.h"

int gl_bad(struct import *im, const char *what, const char *why)
{
	snprintf(im->err, im->errlen, "%s: %s: %s", im->where, what, why);
	return -EINVAL;
}

/* Member key of object o as a string into out: 0, or -EINVAL (said). A
 * null or missing member gives "" when optional. */
int gl_str(struct import *im, size_t o, const char *key, char *out, size_t size,
	   bool optional)
{
	size_t v = jr_member(&im->d, o, key), len;
	int r;

	out[0] = '\0';
	if ((!v || im->d.v[v].type == JR_NULL) && optional)
		return 0;
	if (!v)
		return gl_bad(im, key, "missing");
	r = jr_string(&im->d, v, out, size, &len);
	if (r == -ENAMETOOLONG)
		return gl_bad(im, key, "too long");
	return r ? gl_bad(im, key, "expected a string of UTF-8") : 0;
}

int gl_int(struct import *im, size_t o, const char *key, int64_t *out)
{
	size_t v = jr_member(&im->d, o, key);

	if (!v)
		return gl_bad(im, key, "missing");
	if (jr_int(&im->d, v, out) || *out < 0)
		return gl_bad(im, key, "expected a whole number, 0 or more");
	return 0;
}

static int gl_bool(struct import *im, size_t o, const char *key, int *out,
		   bool optional)
{
	size_t v = jr_member(&im->d, o, key);
	bool b = false;

	if (!v && optional) {
		*out = 0;
		return 0;
	}
	if (!v || jr_bool(&im->d, v, &b))
		return gl_bad(im, key,
			      v ? "expected true or false" : "missing");
	*out = b;
	return 0;
}

/* "2020-07-23T14:31:47.729Z" (or +hh:mm, -hh:mm) into seconds. */
/* Two decimal digits at s: their value, or -1. */
static int two_digits(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "HH:MM" at s (and ":SS" when sec): 0 with the values set, or -EINVAL. */
static int clock_of(const char *s, int *h, int *m, int *sec)
{
	*h = two_digits(s);
	*m = s[2] == ':' ? two_digits(s + 3) : -1;
	if (sec)
		*sec = s[5] == ':' ? two_digits(s + 6) : -1;
	return *h < 0 || *m < 0 || (sec && *sec < 0) ? -EINVAL : 0;
}

static int parse_time(const char *s, int64_t *out, int *ms)
{
	int64_t day;
	int h, m, sec, oh = 0, om = 0;
	size_t len = strlen(s), k;
	char sign;

	if (len < 20 || s[10] != 'T' || policy_parse_date(s, 10, &day) ||
	    clock_of(s + 11, &h, &m, &sec) || h > 23 || m > 59 || sec > 60)
		return -EINVAL;
	k = 19;
	*ms = 0;
	if (s[k] == '.') /* milliseconds kept, finer digits dropped */
		for (int scale = 100; ++k < len && s[k] >= '0' && s[k] <= '9';
		     scale /= 10)
			*ms += (s[k] - '0') * scale;
	sign = s[k];
	if (sign == 'Z' && k + 1 == len) {
		*out = day * 86400 + (int64_t)h * 3600 + (int64_t)m * 60 + sec;
		return 0;
	}
	if ((sign != '+' && sign != '-') || k + 6 != len ||
	    clock_of(s + k + 1, &oh, &om, NULL) || oh > 23 || om > 59)
		return -EINVAL;
	*out = day * 86400 + (int64_t)h * 3600 + (int64_t)m * 60 + sec -
	       (sign == '+' ? 1 : -1) * ((int64_t)oh * 3600 + (int64_t)om * 60);
	return 0;
}

static int gl_time(struct import *im, size_t o, const char *key, int64_t *out,
		   int *ms, bool optional)
{
	char s[64];
	int r = gl_str(im, o, key, s, sizeof(s), optional);

	*out = 0;
	*ms = 0;
	if (r || (!s[0] && optional))
		return r;
	if (parse_time(s, out, ms) || *out <= 0)
		return gl_bad(im, key,
			      "expected a time such as "
			      "2020-07-23T14:31:47.729Z");
	return 0;
}

/* The scopes of token object o into *scopes: 0 or -errno with im's
 * message, which names a scope patfs does not know. */
static int read_scopes(struct import *im, size_t o, uint32_t *scopes)
{
	size_t sv = jr_member(&im->d, o, "scopes");
	char scope[64], said[128];

	if (!sv || im->d.v[sv].type != JR_ARRAY || !im->d.v[sv].count)
		return gl_bad(im, "scopes", "expected an array of scopes");
	for (size_t i = sv + 1; i < im->d.v[sv].next; i = im->d.v[i].next) {
		int idx = jr_string(&im->d, i, scope, sizeof(scope), NULL)
			      ? -1
			      : policy_scope_index(scope, strlen(scope));
		if (idx < 0) {
			snprintf(said, sizeof(said),
				 "%s is a scope patfs does not know",
				 scope[0] ? scope : "(not a string)");
			return gl_bad(im, "scopes", said);
		}
		*scopes |= 1u << idx;
	}
	return 0;
}

/* last_used_ips of token object o (optional: GitLab's API gives it for
 * personal tokens) into t: 0 or -EINVAL. Each is kept only if it is a
 * client name auth/ would take (auth_client_ok's characters). */
static int read_ips(struct import *im, size_t o, struct glt *t)
{
	size_t v = jr_member(&im->d, o, "last_used_ips");

	if (!v || im->d.v[v].type == JR_NULL)
		return 0;
	if (im->d.v[v].type != JR_ARRAY)
		return gl_bad(im, "last_used_ips", "expected an array");
	for (size_t i = v + 1; i < im->d.v[v].next && t->nips < GL_IPS;
	     i = im->d.v[i].next) {
		char *ip = t->ips[t->nips];
		if (jr_string(&im->d, i, ip, GL_IP_MAX + 1, NULL) || !ip[0] ||
		    strspn(ip, "0123456789abcdefABCDEF.:[]%") != strlen(ip))
			return gl_bad(im, "last_used_ips",
				      "expected addresses, as strings");
		t->nips++;
	}
	return 0;
}

int gl_read_token(struct import *im, size_t o, bool resource, struct glt *t)
{
	char date[16];
	int64_t level;
	size_t m;
	int r;

	memset(t, 0, sizeof(*t));
	if (im->d.v[o].type != JR_OBJECT)
		return gl_bad(im, "token", "expected an object");
	r = gl_int(im, o, "id", &t->id);
	if (!r)
		r = gl_int(im, o, "user_id", &t->user_id);
	if (!r)
		r = gl_str(im, o, "name", t->name, sizeof(t->name), false);
	if (!r && policy_check_token_name(t->name, strlen(t->name)))
		r = gl_bad(im, "name",
			   "not a name patfs can show (all digits, "
			   "blank, or control characters)");
	if (!r)
		r = gl_str(im, o, "description", t->description,
			   sizeof(t->description), true);
	if (!r)
		r = gl_time(im, o, "created_at", &t->created_at, &t->created_ms,
			    false);
	if (!r)
		r = gl_time(im, o, "last_used_at", &t->last_used_at,
			    &t->last_used_ms, true);
	if (!r)
		r = gl_bool(im, o, "revoked", &t->revoked, false);
	if (!r)
		r = gl_bool(im, o, "impersonation", &t->impersonation, true);
	if (!r)
		r = gl_str(im, o, "expires_at", date, sizeof(date), true);
	t->expires_day = -1;
	if (!r && date[0] &&
	    policy_parse_date(date, strlen(date), &t->expires_day))
		r = gl_bad(im, "expires_at", "expected a date, YYYY-MM-DD");
	if (!r)
		r = read_scopes(im, o, &t->scopes);
	if (!r)
		r = read_ips(im, o, t);
	if (r || !resource)
		return r;
	/* GitLab 13.9's project tokens had none: Maintainer then, as now */
	level = ACCESS_LEVEL_DEFAULT;
	m = jr_member(&im->d, o, "access_level");
	if (m && im->d.v[m].type != JR_NULL &&
	    gl_int(im, o, "access_level", &level))
		return -EINVAL;
	if (level != 10 && level != 15 && level != 20 && level != 30 &&
	    level != 40 && level != 50)
		return gl_bad(im, "access_level",
			      "expected 10, 15, 20, 30, 40 "
			      "or 50");
	t->access_level = (int)level;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct known *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* The username the inventory's "users" gives GitLab user id, or NULL. */
const char *gl_username(struct import *im, int64_t id, char *buf, size_t size)
{
	struct known key = {.id = id}, *k;

	k = bsearch(&key, im->users, im->nusers, sizeof(*k), by_id);
	if (!k ||
	    jr_string(&im->d, jr_member(&im->d, k->v, "username"), buf, size,
		      NULL) ||
	    policy_check_user_name(buf, strlen(buf)))
		return NULL;
	return buf;
}

int gl_blocked(struct import *im, int64_t id)
{
	struct known key = {.id = id}, *k;
	char state[32];

	k = bsearch(&key, im->users, im->nusers, sizeof(*k), by_id);
	if (!k || jr_string(&im->d, jr_member(&im->d, k->v, "state"), state,
			    sizeof(state), NULL))
		return -1;
	return strcmp(state, "active") != 0;
}

/* The members of the inventory: 1 when it is the array of personal
 * tokens alone, 0 for an object, -EINVAL when it is neither. */
int gl_parts(struct import *im, size_t *users, size_t *pats, size_t *projects,
	     size_t *groups)
{
	const struct jr_value *top = &im->d.v[0];
	size_t *slot[] = {users, pats, projects, groups};
	static const char *const keys[] = {"users", "personal_access_tokens",
					   "projects", "groups"};

	*users = *pats = *projects = *groups = 0;
	if (top->type == JR_ARRAY)
		return 1; /* the tokens are the document, at index 0 */
	if (top->type != JR_OBJECT) {
		snprintf(im->err, im->errlen,
			 "expected an object or the array of "
			 "GET /personal_access_tokens");
		return -EINVAL;
	}
	for (int i = 0; i < 4; i++) {
		*slot[i] = jr_member(&im->d, 0, keys[i]);
		if (*slot[i] && im->d.v[*slot[i]].type != JR_ARRAY) {
			snprintf(im->err, im->errlen, "%s: expected an array",
				 keys[i]);
			return -EINVAL;
		}
	}
	return 0;
}

int64_t gl_count_tokens(struct import *im, size_t pats, bool top_array,
			size_t projects, size_t groups)
{
	int64_t n = (pats || top_array) ? (int64_t)im->d.v[pats].count : 0;
	size_t lists[2] = {projects, groups};

	for (int l = 0; l < 2; l++)
		for (size_t i = lists[l] + 1;
		     lists[l] && i < im->d.v[lists[l]].next;
		     i = im->d.v[i].next) {
			size_t t = jr_member(&im->d, i, "access_tokens");
			if (t && im->d.v[t].type == JR_ARRAY)
				n += (int64_t)im->d.v[t].count;
		}
	return n;
}

/* Indexes the inventory's users by GitLab id. */
int gl_index_users(struct import *im, size_t users)
{
	size_t n = 0;

	if (!users || !im->d.v[users].count)
		return 0;
	im->users = calloc(im->d.v[users].count, sizeof(*im->users));
	if (!im->users)
		return -ENOMEM;
	for (size_t i = users + 1; i < im->d.v[users].next;
	     i = im->d.v[i].next, n++) {
		snprintf(im->where, sizeof(im->where), "users[%zu]", n);
		if (im->d.v[i].type != JR_OBJECT)
			return gl_bad(im, "user", "expected an object");
		im->users[n].v = i;
		if (gl_int(im, i, "id", &im->users[n].id))
			return -EINVAL;
	}
	im->nusers = n;
	qsort(im->users, n, sizeof(*im->users), by_id);
	return 0;
}
