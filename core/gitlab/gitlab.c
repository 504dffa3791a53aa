/* gitlab.c - importing a GitLab instance's token inventory (patfs/gitlab.h).
 *
 * Every value is checked before it is used, and the whole inventory goes in
 * one transaction: a bad value anywhere changes nothing. Users are matched
 * by GitLab's user id, projects and groups by theirs, tokens by theirs. A
 * token gets no digest (no secret authenticates it) and is sealed (no
 * secret to take). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitlabInt.h"
#include "model/token_core.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/token.h"
#include "patfs/user.h"

static int name_taken(struct store_conn *c, const char *name, bool *taken)
{
	struct store_stmt *s = store_sql(c, SQL_USER_FIND);
	int r;

	if (!s)
		return -EIO;
	store_bind_str(s, 1, name);
	r = store_step(c, s);
	store_reset(s);
	*taken = r == 1;
	return r < 0 ? r : 0;
}

/* Blocks or unblocks user id (name) of GitLab user gid as its state in the
 * inventory's users says, if it says and differs from blocked: 0 or
 * -errno. */
static int follow_state(struct import *im, int64_t gid, int64_t id,
			const char *name, int blocked)
{
	struct store_stmt *s;
	char object[PFS_NAME_MAX + 16];
	int want = gl_blocked(im, gid), r;

	if (want < 0 || want == blocked)
		return 0;
	s = store_sql(im->c, SQL_USER_SET_BLOCKED);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, id);
	store_bind_int(s, 2, want);
	store_bind_int(s, 3, im->now);
	r = store_exec(im->c, s);
	snprintf(object, sizeof(object), "users/%s", name);
	return r ? r
		 : audit_add(im->c, im->a, want ? "user_block" : "user_unblock",
			     object, blocked ? "1" : "0", want ? "1" : "0",
			     "gitlab_import");
}

/* The patfs user of GitLab user gid: found, or made (a bot of resource rid
 * named bot, when bot is not NULL); blocked as the inventory's users say. */
static int ensure_user(struct import *im, int64_t gid, const char *bot,
		       int kind, int64_t rid, int64_t *id, char *name)
{
	struct store_conn *c = im->c;
	struct store_stmt *s = store_sql(c, SQL_GL_USER_FIND);
	char object[PFS_NAME_MAX + 16], buf[PFS_NAME_MAX + 1];
	bool taken;
	int r, blocked = 0;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, gid);
	r = store_step(c, s);
	if (r == 1) {
		*id = store_col_int(s, 0);
		snprintf(name, PFS_NAME_MAX + 1, "%s", store_col_text(s, 1));
		blocked = (int)store_col_int(s, 2);
	}
	store_reset(s);
	if (r != 0)
		return r < 0 ? r : follow_state(im, gid, *id, name, blocked);
	if (bot)
		snprintf(name, PFS_NAME_MAX + 1, "%s", bot);
	else if (gl_username(im, gid, buf, sizeof(buf)))
		snprintf(name, PFS_NAME_MAX + 1, "%s", buf);
	else
		snprintf(name, PFS_NAME_MAX + 1, "gitlab_user_%" PRId64, gid);
	r = name_taken(c, name, &taken);
	if (!r && taken) { /* a user of patfs's own has the name */
		snprintf(buf, sizeof(buf), "gitlab_%s", name);
		snprintf(name, PFS_NAME_MAX + 1, "%s", buf);
		r = name_taken(c, name, &taken);
	}
	if (!r && taken) {
		snprintf(im->err, im->errlen,
			 "%s: user_id %" PRId64 ": the names %s and gitlab_%s "
			 "are taken",
			 im->where, gid, name + 7, name + 7);
		return -EEXIST;
	}
	s = r ? NULL : store_sql(c, SQL_GL_USER_INSERT);
	if (!s)
		return r ? r : -EIO;
	store_bind_str(s, 1, name);
	store_bind_int(s, 2, im->now);
	store_bind_int(s, 3, kind);
	if (rid)
		store_bind_int(s, 4, rid);
	store_bind_int(s, 5, gid);
	r = store_exec(c, s);
	if (r)
		return r;
	*id = store_last_id(c);
	im->out->users++;
	snprintf(object, sizeof(object), "users/%s", name);
	r = audit_add(c, im->a, "user_create", object, NULL, NULL,
		      "gitlab_import");
	return r ? r : follow_state(im, gid, *id, name, 0);
}

/* Binds t to s, the insert (fresh) or the update statement of a GitLab
 * token: the two share their parameters' places, ?1 the token to update
 * (id) or the owner of the new one (uid), ?4 when what changes changed
 * (now, or the new token's creation). */
static void bind_token(struct import *im, struct store_stmt *s,
		       const struct glt *t, bool fresh, int64_t uid, int64_t id,
		       int64_t rid)
{
	store_bind_int(s, 1, fresh ? uid : id);
	store_bind_str(s, 2, t->name);
	store_bind_str(s, 3, t->description);
	store_bind_int(s, 4, fresh ? t->created_at : im->now);
	store_bind_int(s, 5, t->scopes);
	store_bind_int(s, 6, t->impersonation);
	if (t->expires_day >= 0)
		store_bind_int(s, 8, t->expires_day);
	if (t->last_used_at)
		store_bind_int(s, 9, t->last_used_at);
	if (t->last_used_ms)
		store_bind_int(s, 12, t->last_used_ms);
	if (t->revoked)
		store_bind_int(s, 10, im->now);
	if (rid)
		store_bind_int(s, 11, t->access_level);
	if (fresh) {
		store_bind_int(s, 7, t->created_at);
		if (t->created_ms)
			store_bind_int(s, 13, t->created_ms);
		store_bind_int(s, 14, t->id);
	}
}

/* Counts a new token in its user's (uid) and its resource's (rid, or 0)
 * number of tokens: 0 or -errno. */
static int count_new(struct store_conn *c, int64_t uid, int64_t rid)
{
	struct store_stmt *s = store_sql(c, SQL_USER_ADD_TOKEN);
	int r;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, uid);
	r = store_exec(c, s);
	if (!r && rid) {
		s = store_sql(c, SQL_RES_ADD_TOKEN);
		if (!s)
			return -EIO;
		store_bind_int(s, 1, rid);
		r = store_exec(c, s);
	}
	return r;
}

/* A token imported before: its id, owner and resource, and its place. */
struct before {
	int64_t id, uid, rid;
	char object[OBJECT_MAX];
};

static void before_row(struct store_stmt *s, void *out)
{
	struct before *b = out;
	int kind = (int)store_col_int(s, 4);

	b->id = store_col_int(s, 0);
	b->uid = store_col_int(s, 1);
	b->rid = store_col_int(s, 2);
	if (b->rid)
		snprintf(b->object, sizeof(b->object), "%s/%s/tokens/%" PRId64,
			 policy_resource_dir_names[kind == RESOURCE_GROUP],
			 store_col_text(s, 5), b->id);
	else
		snprintf(b->object, sizeof(b->object),
			 "users/%s/tokens/%" PRId64, store_col_text(s, 3),
			 b->id);
}

/* The token GitLab id gid was imported as, if it was: 0 (b->id 0 when it
 * was not), or -errno. A GitLab id keeps its owner and its kind: -EEXIST,
 * said, when the inventory puts it elsewhere (user uid, resource rid). */
static int imported_before(struct import *im, int64_t gid, int64_t uid,
			   int64_t rid, const char *here, struct before *b)
{
	struct store_stmt *s = store_sql(im->c, SQL_GL_TOKEN_FIND);
	int r;

	b->id = 0;
	if (!s)
		return -EIO;
	store_bind_int(s, 1, gid);
	r = store_one(im->c, s, before_row, b);
	if (r)
		return r == -ENOENT ? 0 : r;
	if (b->uid == uid && b->rid == rid)
		return 0;
	snprintf(im->err, im->errlen,
		 "%s: token id %" PRId64 " was imported as %s, and here it is "
		 "a token of %s: a GitLab id keeps its owner and kind",
		 im->where, gid, b->object, here);
	return -EEXIST;
}

/* Inserts or updates token t of user uid (of resource rid, or 0). */
/* GitLab's last_used_ips of t as sources of token id's used_from
 * ("gitlab client=ADDR", seen at its last_used_at, a count of 0: GitLab
 * keeps none): 0 or -errno. */
static int import_ips(struct store_conn *c, const struct glt *t, int64_t id)
{
	char sources[GL_IPS][GL_IP_MAX + 32];
	const char *list[GL_IPS];

	for (int i = 0; i < t->nips; i++) { /* GitLab's latest last */
		snprintf(sources[i], sizeof(sources[i]), "gitlab client=%s",
			 t->ips[t->nips - 1 - i]);
		list[i] = sources[i];
	}
	return token_sources_add(c, id, list, t->nips,
				 t->last_used_at ? t->last_used_at
						 : t->created_at);
}

static int upsert(struct import *im, const struct glt *t, int64_t uid,
		  const char *owner, int64_t rid, int rkind, const char *rname)
{
	struct store_conn *c = im->c;
	struct store_stmt *s;
	char object[OBJECT_MAX];
	char here[PFS_NAME_MAX + 16];
	struct before b;
	int64_t id;
	bool fresh;
	int r;

	if (rid)
		snprintf(here, sizeof(here), "%s/%s",
			 policy_resource_dir_names[rkind], rname);
	else
		snprintf(here, sizeof(here), "users/%s", owner);
	r = imported_before(im, t->id, uid, rid, here, &b);
	if (r)
		return r;
	id = b.id;
	fresh = !id;
	s = store_sql(c, id ? SQL_GL_TOKEN_UPDATE : SQL_GL_TOKEN_INSERT);
	if (!s)
		return -EIO;
	bind_token(im, s, t, fresh, uid, id, rid);
	r = store_exec(c, s);
	if (r)
		return r;
	if (!fresh && store_changed(c) == 0) {
		im->out->unchanged++;
		return 0;
	}
	if (fresh) {
		id = store_last_id(c);
		r = count_new(c, uid, rid);
		if (r)
			return r;
	}
	if (rid)
		snprintf(object, sizeof(object), "%s/%s/tokens/%" PRId64,
			 policy_resource_dir_names[rkind], rname, id);
	else
		snprintf(object, sizeof(object), "users/%s/tokens/%" PRId64,
			 owner, id);
	(*(fresh ? &im->out->added : &im->out->updated))++;
	r = import_ips(c, t, id);
	return r ? r
		 : audit_add(c, im->a, "token_import", object, NULL, t->name,
			     fresh ? "gitlab_import" : "gitlab_update");
}

static void tick(struct import *im)
{
	im->done++;
	if (im->fn && (im->done % 1000 == 0 || im->done == im->total))
		im->fn(im->ctx, im->done, im->total);
}

static int import_personal(struct import *im, size_t list)
{
	struct glt t;
	char owner[PFS_NAME_MAX + 1];
	int64_t uid;
	size_t k = 0;
	int r;

	for (size_t i = list + 1; i < im->d.v[list].next;
	     i = im->d.v[i].next, k++) {
		snprintf(im->where, sizeof(im->where),
			 "personal_access_tokens[%zu]", k);
		r = gl_read_token(im, i, false, &t);
		if (!r && gl_passed_over(im, t.id)) {
			tick(im); /* its project's or group's, imported there */
			continue;
		}
		if (!r)
			r = ensure_user(im, t.user_id, NULL, USER_HUMAN, 0,
					&uid, owner);
		if (!r)
			r = upsert(im, &t, uid, owner, 0, 0, NULL);
		if (r)
			return r;
		tick(im);
	}
	return 0;
}

/* A GitLab resource's id and path (kind: enum resource_kind) from object o,
 * and the name it has in patfs (its path, slashes made dots, as
 * gitlab-org.gitlab) into name: 0 or -errno with im's message. */
static int read_resource(struct import *im, size_t o, int kind, int64_t *gid,
			 char path[PFS_NAME_MAX + 1], char *name)
{
	int r;

	if (im->d.v[o].type != JR_OBJECT)
		return gl_bad(im, policy_resource_kind_names[kind],
			      "expected an object");
	r = gl_int(im, o, "id", gid);
	if (!r)
		r = gl_str(im, o,
			   kind == RESOURCE_PROJECT ? "path_with_namespace"
						    : "full_path",
			   path, PFS_NAME_MAX + 1, false);
	if (r)
		return r;
	snprintf(name, PFS_NAME_MAX + 1, "%s", path);
	for (char *p = name; *p; p++)
		if (*p == '/')
			*p = '.';
	if (policy_check_user_name(name, strlen(name)))
		return gl_bad(im, "path", "not a path GitLab gives");
	return 0;
}

/* A resource imported before: its id and its name in patfs. */
struct found {
	int64_t *rid;
	char *name;
};

static void found_row(struct store_stmt *s, void *out)
{
	struct found *f = out;

	*f->rid = store_col_int(s, 0);
	snprintf(f->name, PFS_NAME_MAX + 1, "%s", store_col_text(s, 1));
}

/* Updates the path of resource rid, imported before: 0 or -errno. */
static int update_path(struct import *im, int64_t rid, const char *path)
{
	struct store_stmt *s = store_sql(im->c, SQL_GL_RES_PATH);

	if (!s)
		return -EIO;
	store_bind_int(s, 1, rid);
	store_bind_str(s, 2, path);
	store_bind_int(s, 3, im->now);
	return store_exec(im->c, s);
}

/* The patfs project or group of GitLab's object o: found, or made; its
 * path follows GitLab's. */
static int ensure_resource(struct import *im, size_t o, int kind, int64_t *rid,
			   char *name)
{
	struct store_conn *c = im->c;
	char path[PFS_NAME_MAX + 1], object[PFS_NAME_MAX + 16];
	struct found found = {rid, name};
	int64_t gid;
	struct store_stmt *s;
	int r = read_resource(im, o, kind, &gid, path, name);

	if (r)
		return r;
	s = store_sql(c, SQL_GL_RES_FIND);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, kind);
	store_bind_int(s, 2, gid);
	r = store_one(c, s, found_row, &found);
	if (r != -ENOENT)
		return r ? r : update_path(im, *rid, path);
	s = store_sql(c, SQL_GL_RES_INSERT);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, kind);
	store_bind_str(s, 2, name);
	store_bind_str(s, 3, path);
	store_bind_int(s, 4, im->now);
	store_bind_int(s, 5, gid);
	r = store_exec(c, s);
	if (r == -EEXIST)
		snprintf(im->err, im->errlen, "%s: %s %s exists in patfs",
			 im->where, policy_resource_kind_names[kind], name);
	if (r)
		return r;
	*rid = store_last_id(c);
	(*(kind == RESOURCE_PROJECT ? &im->out->projects : &im->out->groups))++;
	snprintf(object, sizeof(object), "%s/%s",
		 policy_resource_dir_names[kind], name);
	return audit_add(c, im->a,
			 kind == RESOURCE_PROJECT ? "project_create"
						  : "group_create",
			 object, NULL, NULL, "gitlab_import");
}

static int import_resources(struct import *im, size_t list, int kind)
{
	char rname[PFS_NAME_MAX + 1], owner[PFS_NAME_MAX + 1],
	    bot[PFS_NAME_MAX + 1];
	size_t k = 0, tokens;
	int64_t rid = 0, uid;
	struct glt t;
	int r;

	for (size_t i = list + 1; i < im->d.v[list].next;
	     i = im->d.v[i].next, k++) {
		snprintf(im->where, sizeof(im->where), "%s[%zu]",
			 policy_resource_dir_names[kind], k);
		r = ensure_resource(im, i, kind, &rid, rname);
		if (r)
			return r;
		tokens = jr_member(&im->d, i, "access_tokens");
		if (!tokens)
			continue;
		if (im->d.v[tokens].type != JR_ARRAY)
			return gl_bad(im, "access_tokens", "expected an array");
		size_t j = 0;
		for (size_t e = tokens + 1; e < im->d.v[tokens].next;
		     e = im->d.v[e].next, j++) {
			snprintf(im->where, sizeof(im->where),
				 "%s[%zu].access_tokens[%zu]",
				 policy_resource_dir_names[kind], k, j);
			r = gl_read_token(im, e, true, &t);
			if (r)
				return r;
			/* GitLab's bot names end in random hex; the bot's
			 * GitLab id in hex stands for it here */
			snprintf(bot, sizeof(bot),
				 "%s_%" PRId64 "_bot_%08" PRIx64,
				 policy_resource_kind_names[kind], rid,
				 (uint64_t)t.user_id & 0xffffffffu);
			r = ensure_user(im, t.user_id, bot,
					kind == RESOURCE_PROJECT
					    ? USER_PROJECT_BOT
					    : USER_GROUP_BOT,
					rid, &uid, owner);
			if (!r)
				r = upsert(im, &t, uid, owner, rid, kind,
					   rname);
			if (r)
				return r;
			tick(im);
		}
	}
	return 0;
}

/* Puts the tokens, projects and groups that im's document holds in the
 * store, in c's open transaction: 0 or -errno with im's message. */
static int import_all(struct import *im, size_t pats, bool top_array,
		      size_t projects, size_t groups)
{
	int r = 0;

	if (pats || top_array)
		r = import_personal(im, pats);
	if (!r && projects)
		r = import_resources(im, projects, RESOURCE_PROJECT);
	if (!r && groups)
		r = import_resources(im, groups, RESOURCE_GROUP);
	if (!r)
		store_record(im->c, STORE_CH_ALL, 0, 0, 0);
	return r;
}

/* The inventory's parts (gl_parts). */
struct parts {
	size_t users, pats, projects, groups;
	int top_array;
};

/* Reads and checks the inventory text[len] into im and p before anything
 * is stored: 0, or -errno said in im->err. */
static int read_inventory(struct import *im, const char *text, size_t len,
			  struct parts *p)
{
	int r = jr_read(&im->d, text, len);

	if (r) {
		snprintf(im->err, im->errlen,
			 r == -EINVAL ? "not JSON, at byte %zu"
				      : "too large or too deep",
			 im->d.error_at);
		return r;
	}
	p->top_array =
	    gl_parts(im, &p->users, &p->pats, &p->projects, &p->groups);
	r = p->top_array < 0 ? p->top_array : gl_index_users(im, p->users);
	if (r)
		return r;
	im->total = gl_count_tokens(im, p->pats, p->top_array == 1, p->projects,
				    p->groups);
	return gl_check_ids(im, p->users, p->pats, p->top_array == 1,
			    p->projects, p->groups);
}

int gitlab_import(struct store *st, const struct pfs_actor *a, const char *text,
		  size_t len, struct gitlab_counts *out, gitlab_progress_fn *fn,
		  void *ctx, char *err, size_t errlen)
{
	struct import im = {.a = a,
			    .out = out,
			    .fn = fn,
			    .ctx = ctx,
			    .err = err,
			    .errlen = errlen};
	struct parts p;
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(err, errlen, "no error");
	if (!a->admin) {
		snprintf(err, errlen, "importing is for admins");
		return -EPERM;
	}
	im.c = store_conn(st);
	if (!im.c) {
		snprintf(err, errlen, "the store cannot be opened");
		return -EIO;
	}
	r = read_inventory(&im, text, len, &p);
	if (r)
		goto out;
	im.now = store_now();
	r = store_begin(im.c);
	if (r) {
		snprintf(err, errlen, "the store is busy");
		goto out;
	}
	r = import_all(&im, p.pats, p.top_array == 1, p.projects, p.groups);
	if (r) {
		store_rollback(im.c);
		if (!strcmp(err, "no error"))
			snprintf(err, errlen, "%s: %s", im.where, strerror(-r));
	} else if ((r = store_commit(im.c))) {
		snprintf(err, errlen, "committing: %s", strerror(-r));
	}
	if (r)
		memset(out, 0, sizeof(*out));
out:
	free(im.users);
	free(im.pass);
	jr_free(&im.d);
	return r;
}
