/* ops.c - the FUSE adapter: kernel requests in, core calls, errnos out.
 *
 * Every handler replies exactly once. Inodes are stateless (ino.h), so
 * lookup counts need no bookkeeping and forget has nothing to do. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "ino.h"
#include "ops.h"
#include "patfs/audit.h"
#include "patfs/auth.h"
#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/secret.h"
#include "patfs/token.h"
#include "patfs/user.h"

#define OFF_FIRST  3 /* readdir offsets 1 and 2 are "." and ".." */
#define MAX_GROUPS 256

/* How long the kernel may keep what it learns of an inode that cache.c
 * invalidates whenever the store changes it, in seconds. Inodes whose answer
 * depends on the caller get none (ttl_token). */
#define CACHE_S 86400.0

/* An open file that holds state. While a taken secret is held, "token"
 * still stats (fstat after open). */
struct ofile {
	enum { OF_TAKE, OF_SET, OF_IDENTIFY } kind;
	int refs;     /* open + requests in flight, under pfs.lock: a reply may
			 still be reading from it when release arrives */
	char *secret; /* OF_TAKE: sodium_malloc'd, SECRET_MAX bytes */
	size_t len;
	int64_t token_id;
	struct ofile *next; /* pfs.held, under pfs.lock */
	/* OF_IDENTIFY: the answer to the last write, read from rpos on */
	char answer[PFS_NAME_MAX + 64];
	size_t alen, rpos;
};

static void held_add(struct pfs *p, struct ofile *of)
{
	pthread_mutex_lock(&p->lock);
	of->next = p->held;
	p->held = of;
	pthread_mutex_unlock(&p->lock);
}

/* Unlinks of from pfs.held, if there. */
static void held_remove(struct pfs *p, struct ofile *of)
{
	pthread_mutex_lock(&p->lock);
	for (struct ofile **pp = &p->held; *pp; pp = &(*pp)->next)
		if (*pp == of) {
			*pp = of->next;
			break;
		}
	pthread_mutex_unlock(&p->lock);
}

static int held(struct pfs *p, int64_t token_id)
{
	int found = 0;

	pthread_mutex_lock(&p->lock);
	for (struct ofile *of = p->held; of && !found; of = of->next)
		found = of->token_id == token_id;
	pthread_mutex_unlock(&p->lock);
	return found;
}

/* Takes a reference on the open file of fi for one request, or NULL. */
static struct ofile *ofile_hold(struct pfs *p, struct fuse_file_info *fi)
{
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;

	if (of) {
		pthread_mutex_lock(&p->lock);
		of->refs++;
		pthread_mutex_unlock(&p->lock);
	}
	return of;
}

/* Drops a reference; the last one wipes and frees the open file. */
static void ofile_put(struct pfs *p, struct ofile *of)
{
	int last;

	if (!of)
		return;
	pthread_mutex_lock(&p->lock);
	last = --of->refs == 0;
	pthread_mutex_unlock(&p->lock);
	if (!last)
		return;
	held_remove(p, of);
	if (of->kind == OF_TAKE) /* "token" goes from the listing */
		cache_touch(p->cache,
			    &(struct store_change){.kind = STORE_CH_TOKEN,
						   .token_id = of->token_id});
	sodium_free(of->secret); /* wipes the plaintext */
	free(of);
}

static struct ofile *ofile_new(int kind)
{
	struct ofile *of = calloc(1, sizeof(*of));

	if (of) {
		of->kind = kind;
		of->refs = 1;
	}
	return of;
}

static struct pfs *pfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Fills a with the caller of req. The command name is read only when
 * with_comm: it is for the audit trail of changes. */
static void actor_of(fuse_req_t req, struct pfs_actor *a, int with_comm)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	const struct cfg *cfg = pfs_of(req)->cfg;
	gid_t groups[MAX_GROUPS];
	char path[64];
	int n, fd;

	memset(a, 0, sizeof(*a));
	a->uid = ctx->uid;
	a->gid = ctx->gid;
	a->pid = ctx->pid;
	a->admin = ctx->uid == 0;
	if (!a->admin && cfg->admin_group) {
		a->admin = ctx->gid == cfg->admin_gid;
		n = a->admin ? 0 : fuse_req_getgroups(req, MAX_GROUPS, groups);
		for (int i = 0; i < n && i < MAX_GROUPS; i++)
			if (groups[i] == cfg->admin_gid)
				a->admin = true;
	}
	if (!with_comm)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)ctx->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, a->comm, sizeof(a->comm) - 1);
		a->comm[r > 0 ? r : 0] = '\0';
		a->comm[strcspn(a->comm, "\n")] = '\0';
		close(fd);
	}
}

/* May a see inside user directory of u (mapped uid)? */
static int may_enter(const struct pfs_actor *a, int64_t uid)
{
	return a->admin || (uid >= 0 && uid == (int64_t)a->uid);
}

/* Mode bits for a node whose owner (mapped user, or root) and admins have the
 * given rights: owner bits for the owner, group bits for the admin group. */
static mode_t bits(const struct pfs *p, int64_t owner_uid, int owner_rw,
		   int admin_rw)
{
	mode_t m = 0;

	if (owner_uid < 0)
		owner_rw = admin_rw; /* owned by root: an admin */
	m |= (owner_rw & 4 ? S_IRUSR : 0) | (owner_rw & 2 ? S_IWUSR : 0) |
	     (owner_rw & 1 ? S_IXUSR : 0);
	if (p->cfg->admin_group)
		m |= (admin_rw & 4 ? S_IRGRP : 0) |
		     (admin_rw & 2 ? S_IWGRP : 0) |
		     (admin_rw & 1 ? S_IXGRP : 0);
	return m;
}

static void set_owner(const struct pfs *p, struct stat *st, int64_t uid)
{
	st->st_uid = uid >= 0 ? (uid_t)uid : 0;
	st->st_gid = p->cfg->admin_group ? p->cfg->admin_gid : 0;
}

static void set_time(struct stat *st, int64_t t)
{
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec =
	    (time_t)t;
}

static void fill_dir(const struct pfs *p, struct stat *st, uint64_t ino,
		     mode_t mode, nlink_t nlink, int64_t mtime)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFDIR | mode;
	st->st_nlink = nlink;
	st->st_size = 0;
	st->st_blksize = 4096;
	set_owner(p, st, -1);
	set_time(st, mtime);
}

static void fill_file(const struct pfs *p, struct stat *st, uint64_t ino,
		      mode_t mode, uint64_t size, int64_t mtime)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFREG | mode;
	st->st_nlink = 1;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_blksize = 4096;
	set_owner(p, st, -1);
	set_time(st, mtime);
}

static void fill_user_dir(const struct pfs *p, const struct user_info *u,
			  struct stat *st)
{
	fill_dir(p, st, ino_make(INO_USER, 0, u->id), bits(p, u->uid, 5, 5), 3,
		 u->created_at);
	set_owner(p, st, u->uid);
}

static void fill_user_attr(const struct pfs *p, const struct user_info *u,
			   enum user_attr attr, struct stat *st)
{
	struct pfs_actor owner = {.admin = false}, admin = {.admin = true};
	char buf[32];
	int64_t mtime;
	size_t n = user_render(u, attr, buf, sizeof(buf), &mtime);

	fill_file(p, st, ino_make(INO_USER_ATTR, attr, u->id),
		  bits(p, u->uid, 4 | (user_writable(&owner, attr) ? 0 : 2),
		       4 | (user_writable(&admin, attr) ? 0 : 2)),
		  n, mtime);
	set_owner(p, st, u->uid);
}

static void fill_tokens_dir(const struct pfs *p, const struct user_info *u,
			    struct stat *st)
{
	fill_dir(p, st, ino_make(INO_TOKENS, 0, u->id), bits(p, u->uid, 7, 7),
		 (nlink_t)(2 + u->ntokens), u->created_at);
	set_owner(p, st, u->uid);
}

/* Stat of token t: its directory (attr < 0) or one attribute file. */
static void fill_token(const struct pfs *p, const struct token_info *t,
		       int attr, unsigned alias, struct stat *st)
{
	struct pfs_actor owner = {.uid = (uint32_t)t->user_uid},
			 admin = {.admin = true};
	char buf[TOKEN_RENDER_MAX];
	int64_t mtime, now = time(NULL);
	size_t n;
	int ow, aw;

	if (attr < 0) {
		fill_dir(p, st, ino_make(INO_TOKEN, alias, t->id),
			 bits(p, t->user_uid, 5, 5), 2, t->created_at);
		set_owner(p, st, t->user_uid);
		return;
	}
	if (attr == TOKEN_SECRET) {
		n = token_secret_file_len(p->st);
		mtime = t->sealed_at ? t->sealed_at : t->created_at;
	} else {
		n = token_render(t, (enum token_attr)attr, now, buf,
				 sizeof(buf), &mtime);
	}
	ow = token_writable(&owner, t, (enum token_attr)attr) ? 0 : 2;
	aw = token_writable(&admin, t, (enum token_attr)attr) ? 0 : 2;
	fill_file(p, st,
		  ino_make(INO_TOKEN_ATTR, (unsigned)attr | alias, t->id),
		  bits(p, t->user_uid, 4 | ow, 4 | aw), n, mtime);
	set_owner(p, st, t->user_uid);
}

static void fill_link(const struct pfs *p, const struct token_info *t,
		      struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino_make(INO_LINK, 0, t->id);
	st->st_mode = S_IFLNK | 0777;
	st->st_nlink = 1;
	st->st_size =
	    (off_t)(strlen("../../users//tokens/") + strlen(t->user_name) +
		    (size_t)snprintf(NULL, 0, "%" PRId64, t->id));
	set_owner(p, st, -1);
	set_time(st, t->expires_at_at);
}

/* How long the kernel may keep the attributes of token t's directory (attr
 * < 0) or attribute file. Not at all when what it sees depends on the
 * caller (impersonation tokens are hidden from their owner) or when it is
 * reached by name (tokens/<name> follows the active token). `active` turns
 * at midnight: cache.c takes back the day's expiring tokens then. */
static double ttl_token(const struct token_info *t, unsigned sub, int attr)
{
	if ((sub & INO_ALIAS) || t->impersonation || attr == TOKEN_SECRET)
		return 0.0;
	return CACHE_S;
}

/* Gets token id as seen by a: 0, -ENOENT (absent or hidden), -EACCES. */
static int get_token(struct pfs *p, const struct pfs_actor *a, int64_t id,
		     struct token_info *t)
{
	int r = token_get(p->st, id, t);

	return r ? r : token_visible(a, t);
}

static int get_user(struct pfs *p, const struct pfs_actor *a, int64_t id,
		    struct user_info *u)
{
	int r = user_get(p->st, id, u);

	if (!r && !may_enter(a, u->uid))
		r = -EACCES;
	return r;
}

/* An alias (tokens/<name>) resolves only while its token stays active. */
static int alias_valid(const struct token_info *t, unsigned sub)
{
	return !(sub & INO_ALIAS) || token_active(t, time(NULL));
}

/* The stat of inode n for a: 0 or -errno. *ttl (unless NULL) is set to how
 * long the kernel may keep it. */
static int stat_of(struct pfs *p, const struct pfs_actor *a, struct ino n,
		   struct stat *st, double *ttl)
{
	const struct cfg *cfg = p->cfg;
	struct user_info u;
	struct token_info t;
	uint64_t size;
	int64_t mtime, count;
	double ignored;
	int r;

	if (!ttl)
		ttl = &ignored;
	*ttl = n.kind == INO_AUDIT || n.kind == INO_LINK ? 0.0 : CACHE_S;
	switch (n.kind) {
	case INO_ROOT:
		fill_dir(p, st, FUSE_ROOT_ID, 0755, 5, p->started);
		st->st_gid = 0;
		return 0;
	case INO_USERS:
		r = user_count(p->st, &count);
		if (r)
			return r;
		fill_dir(p, st, ino_make(INO_USERS, 0, 0),
			 cfg->admin_group ? 0775 : 0755, (nlink_t)(2 + count),
			 p->started);
		return 0;
	case INO_EXPIRING:
		/* 1: not counted (as btrfs does); find then assumes no leaves.
		 * Counting the dates would cost a probe per date on every path
		 * walk through expiring/. */
		fill_dir(p, st, ino_make(INO_EXPIRING, 0, 0), bits(p, -1, 5, 5),
			 1, p->started);
		return 0;
	case INO_AUDIT:
		r = audit_stat(p->st, &size, &mtime);
		if (r)
			return r;
		fill_file(p, st, ino_make(INO_AUDIT, 0, 0), bits(p, -1, 4, 4),
			  size, mtime ? mtime : p->started);
		return 0;
	case INO_DATE:
		fill_dir(p, st, ino_make(INO_DATE, n.sub, n.id),
			 bits(p, -1, 5, 5), 2, p->started);
		return 0;
	case INO_AUTH:
		fill_dir(p, st, ino_make(INO_AUTH, 0, 0), 0755, 2, p->started);
		st->st_gid = 0;
		return 0;
	case INO_SCOPE:
		if (n.sub >= POLICY_NSCOPES)
			return -ENOENT;
		fill_file(p, st, ino_make(INO_SCOPE, n.sub, 0), 0222, 0,
			  p->started);
		st->st_gid = 0;
		return 0;
	case INO_REVOKE:
		fill_file(p, st, ino_make(INO_REVOKE, 0, 0), bits(p, -1, 2, 2),
			  0, p->started);
		return 0;
	case INO_IDENTIFY:
		fill_file(p, st, ino_make(INO_IDENTIFY, 0, 0),
			  bits(p, -1, 6, 6), 0, p->started);
		return 0;
	case INO_USER:
	case INO_USER_ATTR:
	case INO_TOKENS:
		r = n.kind == INO_USER ? user_get(p->st, n.id, &u)
				       : get_user(p, a, n.id, &u);
		if (r)
			return r;
		if (n.kind == INO_USER)
			fill_user_dir(p, &u, st);
		else if (n.kind == INO_TOKENS)
			fill_tokens_dir(p, &u, st);
		else if (n.sub < USER_NATTR)
			fill_user_attr(p, &u, (enum user_attr)n.sub, st);
		else
			return -ENOENT;
		return 0;
	case INO_TOKEN:
	case INO_TOKEN_ATTR:
	case INO_LINK:
		r = n.kind == INO_LINK ? token_get(p->st, n.id, &t)
				       : get_token(p, a, n.id, &t);
		if (r)
			return r;
		if (!alias_valid(&t, n.sub))
			return -ENOENT;
		if (n.kind != INO_LINK)
			*ttl = ttl_token(&t, n.sub,
					 n.kind == INO_TOKEN
					     ? -1
					     : (int)(n.sub & ~INO_ALIAS));
		if (n.kind == INO_LINK) {
			if (t.revoked_at)
				return -ENOENT;
			fill_link(p, &t, st);
			return 0;
		}
		if (n.kind == INO_TOKEN) {
			fill_token(p, &t, -1, n.sub & INO_ALIAS, st);
			return 0;
		}
		unsigned attr = n.sub & ~INO_ALIAS;
		if (attr >= TOKEN_NATTR ||
		    (attr == TOKEN_SECRET && !token_unsealed(&t) &&
		     !held(p, t.id)))
			return -ENOENT;
		fill_token(p, &t, (int)attr, n.sub & INO_ALIAS, st);
		return 0;
	default:
		return -ENOENT;
	}
}

/* How long the kernel may keep the name of inode n, whose attributes it may
 * keep for ttl. Names under expiring/ come and go with the clock and other
 * entries; a user's name can be taken by a new user after another process
 * removes the old one; the rest lives as long as its attributes. */
static double entry_timeout(struct ino n, double ttl)
{
	switch (n.kind) {
	case INO_DATE:
	case INO_LINK:
		return 0.0;
	case INO_USER:
		return 1.0;
	default:
		return ttl;
	}
}

static void reply_entry(fuse_req_t req, struct pfs *p,
			const struct pfs_actor *a, struct ino n)
{
	struct fuse_entry_param e;
	int r;

	memset(&e, 0, sizeof(e));
	r = stat_of(p, a, n, &e.attr, &e.attr_timeout);
	if (r)
		return (void)fuse_reply_err(req, -r);
	e.ino = e.attr.st_ino;
	e.generation = cache_generation(p->cache, n.kind);
	e.entry_timeout = entry_timeout(n, e.attr_timeout);
	fuse_reply_entry(req, &e);
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Parses a token id name (no leading zeros, in range): 0 or -ENOENT. */
static int parse_id(const char *name, int64_t *id)
{
	char *end;
	long long v;

	if (!all_digits(name) || (name[0] == '0') || strlen(name) > 15)
		return -ENOENT;
	v = strtoll(name, &end, 10);
	*id = v;
	return 0;
}

static int index_of(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

/* Resolves name in directory parent for a: 0 with *out set, or -errno. */
static int resolve(struct pfs *p, const struct pfs_actor *a, struct ino parent,
		   const char *name, struct ino *out)
{
	struct user_info u;
	struct token_info t;
	int64_t id;
	int i, r;

	switch (parent.kind) {
	case INO_ROOT:
		if (!strcmp(name, "users"))
			*out = (struct ino){INO_USERS, 0, 0};
		else if (!strcmp(name, "expiring"))
			*out = (struct ino){INO_EXPIRING, 0, 0};
		else if (!strcmp(name, "audit.log"))
			*out = (struct ino){INO_AUDIT, 0, 0};
		else if (!strcmp(name, "auth"))
			*out = (struct ino){INO_AUTH, 0, 0};
		else if (!strcmp(name, "revoke"))
			*out = (struct ino){INO_REVOKE, 0, 0};
		else if (!strcmp(name, "identify"))
			*out = (struct ino){INO_IDENTIFY, 0, 0};
		else
			return -ENOENT;
		return 0;
	case INO_AUTH:
		i = policy_scope_index(name, strlen(name));
		if (i < 0)
			return -ENOENT;
		*out = (struct ino){INO_SCOPE, (unsigned)i, 0};
		return 0;
	case INO_USERS:
		r = user_find(p->st, name, strlen(name), &u);
		if (!r)
			*out = (struct ino){INO_USER, 0, u.id};
		return r;
	case INO_USER:
		r = get_user(p, a, parent.id, &u);
		if (r)
			return r;
		if (!strcmp(name, "tokens")) {
			*out = (struct ino){INO_TOKENS, 0, u.id};
			return 0;
		}
		i = index_of(user_attr_names, USER_NATTR, name);
		if (i < 0)
			return -ENOENT;
		*out = (struct ino){INO_USER_ATTR, (unsigned)i, u.id};
		return 0;
	case INO_TOKENS:
		r = get_user(p, a, parent.id, &u);
		if (r)
			return r;
		if (all_digits(name)) {
			r = parse_id(name, &id);
			if (!r)
				r = get_token(p, a, id, &t);
			if (!r && t.user_id != u.id)
				r = -ENOENT;
			if (!r)
				*out = (struct ino){INO_TOKEN, 0, id};
			return r;
		}
		r = token_find_active(p->st, u.id, name, strlen(name), &id);
		if (!r)
			r = get_token(p, a, id, &t);
		if (!r)
			*out = (struct ino){INO_TOKEN, INO_ALIAS, id};
		return r;
	case INO_TOKEN:
		i = index_of(token_attr_names, TOKEN_NATTR, name);
		if (i < 0)
			return -ENOENT;
		*out = (struct ino){INO_TOKEN_ATTR,
				    (unsigned)i | (parent.sub & INO_ALIAS),
				    parent.id};
		return 0; /* stat_of checks that it exists */
	case INO_EXPIRING:
		if (!a->admin)
			return -EACCES;
		if (!strcmp(name, "never")) {
			*out = (struct ino){INO_DATE, INO_NEVER, 0};
			return 0;
		}
		if (policy_parse_date(name, strlen(name), &id))
			return -ENOENT;
		*out = (struct ino){INO_DATE, 0, id};
		return 0;
	case INO_DATE:
		if (!a->admin)
			return -EACCES;
		r = parse_id(name, &id);
		if (!r)
			r = token_get(p->st, id, &t);
		if (!r && (t.revoked_at || (parent.sub == INO_NEVER
						? t.expires_day >= 0
						: t.expires_day != parent.id)))
			r = -ENOENT;
		if (!r)
			*out = (struct ino){INO_LINK, 0, id};
		return r;
	default:
		return -ENOTDIR;
	}
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct pfs *p = pfs_of(req);
	struct pfs_actor a;
	struct ino n;
	int r;

	actor_of(req, &a, 0);
	if (strlen(name) > PFS_NAME_MAX)
		return (void)fuse_reply_err(req, ENAMETOOLONG);
	r = resolve(p, &a, ino_split(parent), name, &n);
	if (r)
		return (void)fuse_reply_err(req, -r);
	reply_entry(req, p, &a, n);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct pfs *p = pfs_of(req);
	struct pfs_actor a;
	struct stat st;
	double ttl;
	int r;

	(void)fi;
	actor_of(req, &a, 0);
	r = stat_of(p, &a, ino_split(ino), &st, &ttl);
	if (r)
		return (void)fuse_reply_err(req, -r);
	fuse_reply_attr(req, &st, ttl);
}

static int under_expiring(struct ino n)
{
	return n.kind == INO_EXPIRING || n.kind == INO_DATE ||
	       n.kind == INO_LINK;
}

/* 0 when a may write inode n now (the check behind open, truncate, write),
 * else -errno. */
static int may_write(struct pfs *p, const struct pfs_actor *a, struct ino n)
{
	struct token_info t;
	struct user_info u;
	int r;

	if (under_expiring(n))
		return -EROFS;
	if (n.kind == INO_USER_ATTR) {
		r = get_user(p, a, n.id, &u);
		return r ? r : user_writable(a, (enum user_attr)n.sub);
	}
	if (n.kind == INO_TOKEN_ATTR) {
		r = get_token(p, a, n.id, &t);
		if (!r && !alias_valid(&t, n.sub))
			r = -ENOENT;
		return r ? r : token_writable(a, &t, n.sub & ~INO_ALIAS);
	}
	if (n.kind == INO_SCOPE)
		return 0; /* checking a token is everyone's right */
	if (n.kind == INO_REVOKE || n.kind == INO_IDENTIFY)
		return a->admin ? 0 : -EACCES;
	return n.kind == INO_AUDIT ? -EPERM : -EISDIR;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct pfs *p = pfs_of(req);
	struct ino n = ino_split(ino);
	struct pfs_actor a;
	struct stat st;
	double ttl;
	int r;

	(void)attr;
	(void)fi;
	actor_of(req, &a, 0);
	if (under_expiring(n))
		return (void)fuse_reply_err(req, EROFS);
	if (to_set &
	    (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
	     FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
	     FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))
		return (void)fuse_reply_err(req, EPERM);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		/* truncation is accepted and does nothing: the write carries
		 * the value (echo 1 > revoked) */
		r = may_write(p, &a, n);
		if (r)
			return (void)fuse_reply_err(req, -r);
	}
	r = stat_of(p, &a, n, &st, &ttl);
	if (r)
		return (void)fuse_reply_err(req, -r);
	fuse_reply_attr(req, &st, ttl);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct pfs *p = pfs_of(req);
	struct ino n = ino_split(ino);
	struct token_info t;
	char target[PFS_NAME_MAX + 64];
	int r;

	if (n.kind != INO_LINK)
		return (void)fuse_reply_err(req, EINVAL);
	r = token_get(p->st, n.id, &t);
	if (r)
		return (void)fuse_reply_err(req, -r);
	snprintf(target, sizeof(target), "../../users/%s/tokens/%" PRId64,
		 t.user_name, t.id);
	fuse_reply_readlink(req, target);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct pfs *p = pfs_of(req);
	struct ino n = ino_split(parent);
	struct pfs_actor a;
	struct user_info u;
	int64_t id;
	int r;

	(void)mode;
	actor_of(req, &a, 1);
	if (under_expiring(n))
		return (void)fuse_reply_err(req, EROFS);
	if (n.kind == INO_USERS) {
		r = user_create(p->st, &a, name, strlen(name), &id);
		cache_settle(p->cache);
		if (r)
			return (void)fuse_reply_err(req, -r);
		return reply_entry(req, p, &a, (struct ino){INO_USER, 0, id});
	}
	if (n.kind != INO_TOKENS)
		return (void)fuse_reply_err(req, EPERM);
	r = get_user(p, &a, n.id, &u);
	if (!r)
		r = token_mint(p->st, &a, n.id, name, strlen(name), &id);
	cache_settle(p->cache);
	if (r)
		return (void)fuse_reply_err(req, -r);
	/* the new directory is the name, which resolves to the new token */
	reply_entry(req, p, &a, (struct ino){INO_TOKEN, INO_ALIAS, id});
}

/* Refuses removing or replacing name in parent: EROFS under expiring/, EPERM
 * when it exists, ENOENT when it does not. */
static void refuse_change(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct pfs *p = pfs_of(req);
	struct ino n = ino_split(parent), child;
	struct pfs_actor a;
	int r;

	actor_of(req, &a, 0);
	if (under_expiring(n))
		return (void)fuse_reply_err(req, EROFS);
	r = resolve(p, &a, n, name, &child);
	if (!r) {
		struct stat st;
		r = stat_of(p, &a, child, &st, NULL);
	}
	fuse_reply_err(req, r ? -r : EPERM);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct pfs *p = pfs_of(req);
	struct pfs_actor a;
	struct user_info u;
	int r;

	if (ino_split(parent).kind != INO_USERS)
		return refuse_change(req, parent, name); /* tokens: never */
	actor_of(req, &a, 1);
	r = user_find(p->st, name, strlen(name), &u);
	if (!r)
		r = user_remove(p->st, &a, u.id);
	cache_settle(p->cache);
	fuse_reply_err(req, -r);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	refuse_change(req, parent, name);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	(void)link;
	(void)name;
	fuse_reply_err(req, under_expiring(ino_split(parent)) ? EROFS : EPERM);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	(void)name;
	(void)newname;
	(void)flags;
	fuse_reply_err(req, under_expiring(ino_split(parent)) ||
				    under_expiring(ino_split(newparent))
				? EROFS
				: EPERM);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	(void)ino;
	(void)newname;
	fuse_reply_err(req,
		       under_expiring(ino_split(newparent)) ? EROFS : EPERM);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, under_expiring(ino_split(parent)) ? EROFS : EPERM);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct ino n = ino_split(parent);

	(void)name;
	(void)mode;
	(void)fi;
	/* `> auth/typo`: no such scope, rather than no permission */
	fuse_reply_err(req, under_expiring(n)	 ? EROFS
			    : n.kind == INO_AUTH ? ENOENT
						 : EPERM);
}

/* Opens "token": reading takes the secret into the open file; writing
 * prepares to set one. */
static void open_secret(fuse_req_t req, struct pfs *p,
			const struct pfs_actor *a, struct ino n,
			struct fuse_file_info *fi)
{
	struct ofile *of = NULL;
	struct token_info t;
	int acc = fi->flags & O_ACCMODE, r;

	r = get_token(p, a, n.id, &t);
	if (!r && (!alias_valid(&t, n.sub) || !token_unsealed(&t)))
		r = -ENOENT;
	if (!r && acc == O_RDWR)
		r = -EPERM; /* read once or write once, not both */
	if (!r && acc == O_WRONLY)
		r = token_writable(a, &t, TOKEN_SECRET);
	if (r)
		return (void)fuse_reply_err(req, -r);
	of = ofile_new(acc == O_RDONLY ? OF_TAKE : OF_SET);
	if (!of)
		return (void)fuse_reply_err(req, ENOMEM);
	if (acc == O_RDONLY) {
		of->secret = sodium_malloc(SECRET_MAX);
		r = of->secret ? token_take_secret(p->st, a, n.id, of->secret,
						   SECRET_MAX - 1)
			       : -ENOMEM;
		if (r < 0) {
			sodium_free(of->secret);
			free(of);
			return (void)fuse_reply_err(req, -r);
		}
		cache_settle(p->cache);
		of->secret[r] = '\n';
		of->len = (size_t)r + 1;
		of->token_id = n.id;
		held_add(p, of);
	}
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->direct_io = 1; /* the plaintext never enters the page cache */
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		ofile_put(p, of); /* the opener was interrupted */
}

/* Opens auth/<scope>, revoke (write only) or identify (read-write). Secrets
 * written to them pass by direct_io, never through the page cache. */
static void open_checker(fuse_req_t req, struct pfs *p,
			 const struct pfs_actor *a, struct ino n,
			 struct fuse_file_info *fi)
{
	int acc = fi->flags & O_ACCMODE, r;
	struct ofile *of;

	r = may_write(p, a, n);
	if (!r && acc == O_RDONLY && n.kind != INO_IDENTIFY)
		r = -EPERM; /* write-only */
	if (r)
		return (void)fuse_reply_err(req, -r);
	fi->direct_io = 1;
	if (n.kind != INO_IDENTIFY)
		return (void)fuse_reply_open(req, fi);
	of = ofile_new(OF_IDENTIFY);
	if (!of)
		return (void)fuse_reply_err(req, ENOMEM);
	fi->fh = (uint64_t)(uintptr_t)of;
	if (fuse_reply_open(req, fi) == -ENOENT)
		ofile_put(p, of);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pfs *p = pfs_of(req);
	struct ino n = ino_split(ino);
	struct pfs_actor a;
	struct stat st;
	double ttl = 0.0;
	int r;

	int secret =
	    n.kind == INO_TOKEN_ATTR && (n.sub & ~INO_ALIAS) == TOKEN_SECRET;

	actor_of(req, &a, secret); /* taking a secret is a change */
	if (secret)
		return open_secret(req, p, &a, n, fi);
	if (n.kind == INO_AUDIT && !a.admin)
		return (void)fuse_reply_err(req, EACCES);
	if (n.kind == INO_SCOPE || n.kind == INO_REVOKE ||
	    n.kind == INO_IDENTIFY)
		return open_checker(req, p, &a, n, fi);
	/* may_write fetches the row itself: no stat_of before it */
	r = (fi->flags & O_ACCMODE) != O_RDONLY ? may_write(p, &a, n)
						: stat_of(p, &a, n, &st, &ttl);
	if (r)
		return (void)fuse_reply_err(req, -r);
	/* A value the kernel may keep (cache.c takes it back when it changes)
	 * is read from the page cache; anything else, and every write, goes
	 * to the store. */
	if ((fi->flags & O_ACCMODE) == O_RDONLY && ttl == CACHE_S &&
	    (n.kind == INO_USER_ATTR || n.kind == INO_TOKEN_ATTR))
		fi->keep_cache = 1;
	else
		fi->direct_io = 1;
	fi->noflush = 1; /* close(2) has nothing to wait for */
	fuse_reply_open(req, fi);
}

static void reply_slice(fuse_req_t req, const char *buf, size_t len,
			size_t size, off_t off)
{
	if (off < 0 || (size_t)off >= len)
		return (void)fuse_reply_buf(req, NULL, 0);
	fuse_reply_buf(req, buf + off,
		       len - (size_t)off < size ? len - (size_t)off : size);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct pfs *p = pfs_of(req);
	struct ino n = ino_split(ino);
	struct ofile *of = ofile_hold(p, fi);
	char buf[TOKEN_RENDER_MAX], *big;
	struct token_info t;
	struct user_info u;
	struct pfs_actor a;
	int64_t mtime;
	ssize_t got;
	int r;

	if (of && of->kind == OF_IDENTIFY) {
		/* its own position: the answer follows the write, whatever the
		 * file offset, so `exec 3<>identify` works from the shell */
		pthread_mutex_lock(&p->lock);
		size_t len =
		    of->alen - of->rpos < size ? of->alen - of->rpos : size;
		memcpy(buf, of->answer + of->rpos, len);
		of->rpos += len;
		pthread_mutex_unlock(&p->lock);
		fuse_reply_buf(req, buf, len);
	} else if (of && of->kind == OF_TAKE) {
		reply_slice(req, of->secret, of->len, size, off);
	} else if (of) {
		fuse_reply_err(req, EBADF);
	}
	if (of)
		return ofile_put(p, of);
	actor_of(req, &a, 0);
	switch (n.kind) {
	case INO_USER_ATTR:
		r = get_user(p, &a, n.id, &u);
		if (r)
			return (void)fuse_reply_err(req, -r);
		return reply_slice(req, buf,
				   user_render(&u, (enum user_attr)n.sub, buf,
					       sizeof(buf), &mtime),
				   size, off);
	case INO_TOKEN_ATTR:
		r = get_token(p, &a, n.id, &t);
		if (r)
			return (void)fuse_reply_err(req, -r);
		return reply_slice(req, buf,
				   token_render(&t, n.sub & ~INO_ALIAS,
						time(NULL), buf, sizeof(buf),
						&mtime),
				   size, off);
	case INO_AUDIT:
		big = malloc(size ? size : 1);
		if (!big)
			return (void)fuse_reply_err(req, ENOMEM);
		got = audit_read(p->st, (uint64_t)off, big, size);
		if (got < 0)
			fuse_reply_err(req, (int)-got);
		else
			fuse_reply_buf(req, big, (size_t)got);
		free(big);
		return;
	default:
		fuse_reply_err(req, EISDIR);
	}
}

static int check_scope(struct pfs *p, const struct pfs_actor *a, unsigned scope,
		       const char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "auth/%s", policy_scope_names[scope]);
	return auth_check(p->auth, a, policy_scope_names[scope], buf, size,
			  path);
}

/* Answers an identify write with the path of the secret's token. */
static int identify(struct pfs *p, struct ofile *of, const char *buf,
		    size_t size)
{
	char answer[sizeof(of->answer)];
	struct token_info t;
	int r = auth_find(p->auth, buf, size, &t), n = 0;

	if (!r) {
		n = snprintf(answer, sizeof(answer),
			     "users/%s/tokens/%" PRId64 "\n", t.user_name,
			     t.id);
		if (n < 0 || (size_t)n >= sizeof(answer))
			r = -EIO;
	}
	pthread_mutex_lock(&p->lock);
	of->alen = r ? 0 : (size_t)n;
	of->rpos = 0;
	memcpy(of->answer, answer, of->alen);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct pfs *p = pfs_of(req);
	struct ino n = ino_split(ino);
	struct ofile *of = ofile_hold(p, fi);
	struct pfs_actor a;
	int r;

	/* like sysfs, each write(2) carries the whole value; off is ignored */
	(void)off;
	actor_of(req, &a, n.kind != INO_SCOPE); /* auth reads comm on failure */
	if (size > PFS_VALUE_MAX && n.kind != INO_SCOPE)
		r = -EINVAL; /* an oversize secret is token_invalid, logged */
	else if (of && of->kind == OF_IDENTIFY)
		r = identify(p, of, buf, size);
	else if (of)
		r = of->kind == OF_SET
			? token_set_secret(p->st, &a, n.id, buf, size)
			: -EBADF;
	else if (n.kind == INO_SCOPE)
		r = check_scope(p, &a, n.sub, buf, size);
	else if (n.kind == INO_REVOKE)
		r = auth_revoke(p->auth, &a, buf, size);
	else if (n.kind == INO_TOKEN_ATTR)
		r = token_write(p->st, &a, n.id, n.sub & ~INO_ALIAS, buf, size);
	else if (n.kind == INO_USER_ATTR)
		r = user_write(p->st, &a, n.id, (enum user_attr)n.sub, buf,
			       size);
	else
		r = under_expiring(n) ? -EROFS : -EPERM;
	if (of || n.kind == INO_SCOPE || n.kind == INO_REVOKE)
		sodium_memzero((void *)(uintptr_t)buf, size); /* a secret */
	cache_settle(p->cache);
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, size);
	ofile_put(p, of);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	ofile_put(pfs_of(req), (struct ofile *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* A readdir in progress: the reply buffer and what fills it. */
struct dirbuf {
	fuse_req_t req;
	struct pfs *p;
	const struct pfs_actor *a;
	char *buf;
	size_t size, used;
	int plus;
	unsigned alias;
	int full;
};

/* Adds one entry; returns nonzero when the buffer is full. */
static int dir_add(struct dirbuf *d, const char *name, const struct stat *st,
		   off_t next, double entry_ttl, double ttl)
{
	struct fuse_entry_param e;
	size_t n;

	if (d->plus) {
		memset(&e, 0, sizeof(e));
		e.attr = *st;
		e.ino = st->st_ino;
		e.generation = cache_generation(d->p->cache,
						ino_split(st->st_ino).kind);
		e.entry_timeout = entry_ttl;
		e.attr_timeout = ttl;
		n = fuse_add_direntry_plus(d->req, d->buf + d->used,
					   d->size - d->used, name, &e, next);
	} else {
		n = fuse_add_direntry(d->req, d->buf + d->used,
				      d->size - d->used, name, st, next);
	}
	if (n > d->size - d->used) {
		d->full = 1;
		return 1;
	}
	d->used += n;
	return 0;
}

/* "." and ".." carry no attributes and no lookup in readdirplus. */
static int dir_dots(struct dirbuf *d, off_t off, fuse_ino_t self)
{
	struct fuse_entry_param e;
	const char *names[] = {".", ".."};

	for (off_t i = off; i < 2; i++) {
		size_t n;
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = i == 0 ? self : FUSE_ROOT_ID;
		e.attr.st_mode = S_IFDIR;
		if (d->plus)
			n = fuse_add_direntry_plus(d->req, d->buf + d->used,
						   d->size - d->used, names[i],
						   &e, i + 1);
		else
			n = fuse_add_direntry(d->req, d->buf + d->used,
					      d->size - d->used, names[i],
					      &e.attr, i + 1);
		if (n > d->size - d->used)
			return 1;
		d->used += n;
	}
	return 0;
}

static int add_user(void *ctx, const struct user_info *u)
{
	struct dirbuf *d = ctx;
	struct stat st;

	fill_user_dir(d->p, u, &st);
	return dir_add(d, u->name, &st, (off_t)(u->id + OFF_FIRST), 1.0,
		       CACHE_S);
}

static int add_token(void *ctx, const struct token_info *t)
{
	struct dirbuf *d = ctx;
	char name[24];
	struct stat st;

	if (!d->a->admin && t->impersonation)
		return 0;
	double ttl = ttl_token(t, 0, -1);

	snprintf(name, sizeof(name), "%" PRId64, t->id);
	fill_token(d->p, t, -1, 0, &st);
	return dir_add(d, name, &st, (off_t)(t->id + OFF_FIRST), ttl, ttl);
}

static int add_link(void *ctx, const struct token_info *t)
{
	struct dirbuf *d = ctx;
	char name[24];
	struct stat st;

	snprintf(name, sizeof(name), "%" PRId64, t->id);
	fill_link(d->p, t, &st);
	return dir_add(d, name, &st, (off_t)(t->id + OFF_FIRST), 0.0, 0.0);
}

/* Lists fixed names[off - OFF_FIRST ...] of directory parent. */
static void add_fixed(struct dirbuf *d, struct ino parent,
		      const char *const *names, int count, off_t off)
{
	for (int i = (int)(off - OFF_FIRST); i < count; i++) {
		struct ino child;
		struct stat st;
		double ttl;
		if (resolve(d->p, d->a, parent, names[i], &child) ||
		    stat_of(d->p, d->a, child, &st, &ttl))
			continue;
		if (dir_add(d, names[i], &st, OFF_FIRST + i + 1,
			    entry_timeout(child, ttl), ttl))
			return;
	}
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, int plus)
{
	static const char *const root_names[] = {
	    "users", "expiring", "auth", "revoke", "identify", "audit.log"};
	struct pfs *p = pfs_of(req);
	struct ino n = ino_split(ino);
	struct pfs_actor a;
	struct stat st;
	struct dirbuf d = {
	    .req = req, .p = p, .a = &a, .size = size, .plus = plus};
	struct token_info t;
	struct user_info u;
	int64_t day;
	off_t first;
	int r = 0;

	actor_of(req, &a, 0);
	d.buf = malloc(size ? size : 1);
	if (!d.buf)
		return (void)fuse_reply_err(req, ENOMEM);
	if (dir_dots(&d, off, ino))
		goto reply;
	if (off < 2)
		off = 2;
	first = off < OFF_FIRST ? OFF_FIRST : off; /* of the fixed entries */
	switch (n.kind) {
	case INO_ROOT:
		add_fixed(&d, n, root_names, 6, first);
		break;
	case INO_AUTH:
		add_fixed(&d, n, policy_scope_names, POLICY_NSCOPES, first);
		break;
	case INO_USERS:
		r = user_list(p->st, off < OFF_FIRST ? 0 : off - OFF_FIRST,
			      add_user, &d);
		break;
	case INO_USER:
		r = get_user(p, &a, n.id, &u);
		for (int i = (int)(first - OFF_FIRST); !r && i < USER_NATTR + 1;
		     i++) {
			if (i == USER_NATTR)
				fill_tokens_dir(p, &u, &st);
			else
				fill_user_attr(p, &u, (enum user_attr)i, &st);
			if (dir_add(&d,
				    i == USER_NATTR ? "tokens"
						    : user_attr_names[i],
				    &st, OFF_FIRST + i + 1, CACHE_S, CACHE_S))
				break;
		}
		break;
	case INO_TOKENS:
		r = stat_of(p, &a, n, &st, NULL);
		if (!r)
			r = token_list_user(
			    p->st, n.id, off < OFF_FIRST ? 0 : off - OFF_FIRST,
			    add_token, &d);
		break;
	case INO_TOKEN:
		r = get_token(p, &a, n.id, &t);
		if (!r && !alias_valid(&t, n.sub))
			r = -ENOENT;
		for (int i = (int)(first - OFF_FIRST); !r && i < TOKEN_NATTR;
		     i++) {
			if (i == TOKEN_SECRET && !token_unsealed(&t) &&
			    !held(p, t.id))
				continue; /* taken */
			double ttl = ttl_token(&t, n.sub, i);
			fill_token(p, &t, i, n.sub & INO_ALIAS, &st);
			if (dir_add(&d, token_attr_names[i], &st,
				    OFF_FIRST + i + 1, ttl, ttl))
				break;
		}
		break;
	case INO_EXPIRING:
		if (!a.admin) {
			r = -EACCES;
			break;
		}
		/* offset 3: never/; then day d at d + OFF_FIRST + 1 */
		if (off < OFF_FIRST) {
			stat_of(p, &a, (struct ino){INO_DATE, INO_NEVER, 0},
				&st, NULL);
			if (dir_add(&d, "never", &st, OFF_FIRST, 0.0, CACHE_S))
				break;
			off = OFF_FIRST;
		}
		day = off - OFF_FIRST - 1;
		while (!d.full && token_next_expiry(p->st, day, &day) == 0) {
			char name[11];
			policy_format_date(day, name);
			stat_of(p, &a, (struct ino){INO_DATE, 0, day}, &st,
				NULL);
			dir_add(&d, name, &st, day + OFF_FIRST + 1, 0.0,
				CACHE_S);
		}
		break;
	case INO_DATE:
		if (!a.admin) {
			r = -EACCES;
			break;
		}
		r = token_list_expiring(p->st, n.sub == INO_NEVER ? -1 : n.id,
					off < OFF_FIRST ? 0 : off - OFF_FIRST,
					add_link, &d);
		break;
	default:
		r = -ENOTDIR;
	}
reply:
	if (r && d.used == 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, 1);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct pfs *p = pfs_of(req);
	struct ino n = ino_split(ino);
	struct pfs_actor a;
	struct stat st;
	double ttl;
	int r;

	actor_of(req, &a, 0);
	r = stat_of(p, &a, n, &st, &ttl);
	if (!r && (under_expiring(n)) && !a.admin)
		r = -EACCES;
	if (!r && n.kind == INO_USER)
		r = stat_of(p, &a, (struct ino){INO_TOKENS, 0, n.id}, &st,
			    NULL);
	if (r)
		return (void)fuse_reply_err(req, -r);
	/* A listing the same for every caller is kept by the kernel until
	 * cache.c takes it back. Not tokens/ (impersonation tokens are hidden
	 * from their owner) nor expiring/ (dates come with the clock). */
	if (ttl == CACHE_S &&
	    (n.kind == INO_ROOT || n.kind == INO_AUTH || n.kind == INO_USERS ||
	     n.kind == INO_USER || n.kind == INO_TOKEN)) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	fuse_reply_open(req, fi);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = PFS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops ops_table = {
    .init = op_init,
    .lookup = op_lookup,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .release = op_release,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .statfs = op_statfs,
    .create = op_create,
};
