/* cfg.c - embedded defaults and the ini file (inih). */
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "patfs/cfg.h"
#include "patfs/policy.h"

struct cfg_parse {
	struct cfg *c;
	const char *path;
	char *dir; /* directory of the file, for relative paths */
	FILE *f;
	int line;  /* line last read */
	int error; /* -errno of the first error, 0 so far */
	char *err;
	size_t errlen;
};

/* Makes path absolute against dir (NULL: the current directory). Returns a
 * malloc'd string or NULL. */
static char *absolute(const char *dir, const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/')
		return strdup(path);
	if (!dir) {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		dir = cwd;
	}
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	return out;
}

static int set_str(char **slot, char *val)
{
	if (!val)
		return -ENOMEM;
	free(*slot);
	*slot = val;
	return 0;
}

int cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->default_scopes = 1u << policy_scope_index("read_api", 8);
	c->default_lifetime_days = 30;
	c->max_lifetime_days = 365;
	c->require_expiry = true;
	c->sa_require_expiry = true;
	c->allow_impersonation = true;
	c->reuse_detection = true;
	c->notify_enabled = true;
	c->notify_hour = 1; /* as GitLab's daily check, 01:00 UTC */
	c->thresholds[0] = 60;
	c->thresholds[1] = 30;
	c->thresholds[2] = 7;
	c->nthresholds = 3;
	c->notify_timeout_s = 30;
	c->metrics_interval_s = 15;
	c->max_stale_s = 5;
	c->last_used_interval_s = 600;
	c->max_failures_per_minute = 10;
	c->log_max_bytes = 10 << 20;
	c->log_keep = 5;
	if (set_str(&c->store_path, absolute(NULL, "patfs.db")) ||
	    set_str(&c->pepper_file, absolute(NULL, "patfs.pepper")) ||
	    set_str(&c->auth_log, absolute(NULL, "patfs-auth.log")) ||
	    set_str(&c->prefix, strdup("glpat-")) ||
	    set_str(&c->notify_run_as, strdup("nobody")))
		return -ENOMEM;
	return 0;
}

void cfg_free(struct cfg *c)
{
	free(c->store_path);
	free(c->store_dsn);
	free(c->config_path);
	free(c->pepper_file);
	free(c->admin_group);
	free(c->prefix);
	free(c->auth_log);
	free(c->notify_command);
	free(c->metrics_textfile);
	free(c->notify_run_as);
	memset(c, 0, sizeof(*c));
}

static int parse_i64(const char *v, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return -EINVAL;
	*out = (int64_t)n;
	return 0;
}

static int parse_int(const char *v, int min, int max, int *out)
{
	int64_t n;
	int r = parse_i64(v, min, max, &n);

	if (!r)
		*out = (int)n;
	return r;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int check_prefix(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 32)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789-_",
			v[i]))
			return -EINVAL;
	return 0;
}

static void fail(struct cfg_parse *p, const char *section, const char *key,
		 int error, const char *why)
{
	if (p->error)
		return;
	p->error = error;
	snprintf(p->err, p->errlen, "%s:%d: [%s] %s: %s", p->path, p->line,
		 section, key, why);
}

#define KEY(s, k) (!strcmp(section, s) && !strcmp(name, k))

/* "60,30,7": 1 to 8 distinct days, 1 to 3650, into c descending. */
static int parse_thresholds(struct cfg *c, const char *v)
{
	int t[8], n = 0, x;
	char *end;

	for (const char *s = v;; s = end + 1) {
		long d;
		while (*s == ' ')
			s++; /* "60, 30, 7" */
		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = strtol(s, &end, 10);
		if (d < 1 || d > 3650 || n == 8)
			return -EINVAL;
		t[n++] = (int)d;
		if (*end == '\0')
			break;
		if (*end != ',')
			return -EINVAL;
	}
	for (int i = 1; i < n; i++) /* insertion sort, descending */
		for (int j = i; j > 0 && t[j] > t[j - 1]; j--)
			x = t[j], t[j] = t[j - 1], t[j - 1] = x;
	for (int i = 1; i < n; i++)
		if (t[i] == t[i - 1])
			return -EINVAL;
	memcpy(c->thresholds, t, sizeof(t[0]) * (size_t)n);
	c->nthresholds = n;
	return 0;
}

static int notify_key(struct cfg *c, const char *name, const char *value,
		      const char **why)
{
	if (!strcmp(name, "enabled")) {
		*why = "expected true or false";
		return parse_bool(value, &c->notify_enabled);
	}
	if (!strcmp(name, "hour_utc")) {
		*why = "expected an hour, 0 to 23";
		return parse_int(value, 0, 23, &c->notify_hour);
	}
	if (!strcmp(name, "thresholds_days")) {
		*why = "expected distinct days (1 to 3650) separated by commas";
		return parse_thresholds(c, value);
	}
	if (!strcmp(name, "timeout_s")) {
		*why = "expected seconds, 1 to 3600";
		return parse_int(value, 1, 3600, &c->notify_timeout_s);
	}
	if (!strcmp(name, "command")) {
		free(c->notify_command);
		c->notify_command = NULL;
		return value[0] ? set_str(&c->notify_command, strdup(value))
				: 0;
	}
	if (!strcmp(name, "run_as")) {
		*why = "expected a user name";
		if (!value[0])
			return -EINVAL;
		return set_str(&c->notify_run_as, strdup(value));
	}
	*why = "unknown key";
	return -EINVAL;
}

#define IS(k) (!strcmp(name, k))

/* The keys of [store]: 0 or -errno with *why. */
static int store_key(struct cfg_parse *p, const char *name, const char *value,
		     const char **why)
{
	struct cfg *c = p->c;

	if (IS("path"))
		return set_str(&c->store_path, absolute(p->dir, value));
	if (IS("pepper_file"))
		return set_str(&c->pepper_file, absolute(p->dir, value));
	if (IS("backend")) {
		*why = "expected sqlite or postgresql";
		if (!strcmp(value, "sqlite"))
			c->store_backend = CFG_STORE_SQLITE;
		else if (!strcmp(value, "postgresql"))
			c->store_backend = CFG_STORE_POSTGRESQL;
		else
			return -EINVAL;
		return 0;
	}
	if (IS("dsn")) {
		free(
		    c->store_dsn); /* empty: libpq's defaults (PG* variables) */
		c->store_dsn = NULL;
		return set_str(&c->store_dsn, strdup(value));
	}
	if (IS("max_stale_s"))
		return parse_int(value, 0, 3600, &c->max_stale_s);
	*why = "unknown key";
	return -EINVAL;
}

/* The keys of [tokens] that are true or false: where each goes, or NULL. */
static bool *tokens_flag(struct cfg *c, const char *name)
{
	if (IS("require_expiry"))
		return &c->require_expiry;
	if (IS("service_accounts_require_expiry"))
		return &c->sa_require_expiry;
	if (IS("reuse_detection"))
		return &c->reuse_detection;
	if (IS("allow_impersonation"))
		return &c->allow_impersonation;
	return NULL;
}

/* The keys of [tokens]: 0 or -errno with *why. */
static int tokens_key(struct cfg *c, const char *name, const char *value,
		      const char **why)
{
	bool *flag = tokens_flag(c, name);

	if (flag) {
		*why = "expected true or false";
		return parse_bool(value, flag);
	}
	if (IS("prefix")) {
		*why = "expected 1-32 of [A-Za-z0-9_-]";
		return check_prefix(value)
			   ?: set_str(&c->prefix, strdup(value));
	}
	if (IS("default_scopes")) {
		*why = "expected known scopes separated by spaces or commas";
		return policy_parse_scopes(value, strlen(value),
					   &c->default_scopes);
	}
	if (IS("default_lifetime_days")) {
		*why = "expected a number of days, 0 to 36500";
		return parse_int(value, 0, 36500, &c->default_lifetime_days);
	}
	if (IS("max_lifetime_days")) {
		*why = "expected a number of days, 1 to 36500";
		return parse_int(value, 1, 36500, &c->max_lifetime_days);
	}
	if (IS("last_used_interval_s")) {
		*why = "expected seconds, 0 to 86400";
		return parse_int(value, 0, 86400, &c->last_used_interval_s);
	}
	*why = "unknown key";
	return -EINVAL;
}

/* The keys of [auth]: 0 or -errno with *why. */
static int auth_key(struct cfg_parse *p, const char *name, const char *value,
		    const char **why)
{
	struct cfg *c = p->c;

	if (IS("log"))
		return set_str(&c->auth_log, absolute(p->dir, value));
	if (IS("max_failures_per_minute")) {
		*why = "expected a number, 1 to 1000000";
		return parse_int(value, 1, 1000000,
				 &c->max_failures_per_minute);
	}
	if (IS("log_max_bytes")) {
		*why = "expected bytes, 4096 to 1099511627776";
		return parse_i64(value, 4096, (int64_t)1 << 40,
				 &c->log_max_bytes);
	}
	if (IS("log_keep")) {
		*why = "expected a number of files, 0 to 100";
		return parse_int(value, 0, 100, &c->log_keep);
	}
	*why = "unknown key";
	return -EINVAL;
}

/* The keys of [access] and [metrics]: 0 or -errno with *why. */
static int other_key(struct cfg_parse *p, const char *section, const char *name,
		     const char *value, const char **why)
{
	struct cfg *c = p->c;

	if (KEY("access", "admin_group")) {
		free(c->admin_group); /* empty: no admin group */
		c->admin_group = NULL;
		return value[0] ? set_str(&c->admin_group, strdup(value)) : 0;
	}
	if (KEY("metrics", "textfile")) {
		free(c->metrics_textfile);
		c->metrics_textfile = NULL;
		return value[0] ? set_str(&c->metrics_textfile,
					  absolute(p->dir, value))
				: 0;
	}
	if (KEY("metrics", "interval_s")) {
		*why = "expected seconds, 1 to 3600";
		return parse_int(value, 1, 3600, &c->metrics_interval_s);
	}
	*why = "unknown key";
	return -EINVAL;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct cfg_parse *p = user;
	const char *why = "invalid value";
	int r;

	if (!strcmp(section, "store"))
		r = store_key(p, name, value, &why);
	else if (!strcmp(section, "tokens"))
		r = tokens_key(p->c, name, value, &why);
	else if (!strcmp(section, "auth"))
		r = auth_key(p, name, value, &why);
	else if (!strcmp(section, "notify"))
		r = notify_key(p->c, name, value, &why);
	else
		r = other_key(p, section, name, value, &why);
	if (r)
		fail(p, section, name, r, r == -ENOMEM ? "out of memory" : why);
	return r == 0;
}

#undef IS

/* fgets that counts lines, so errors can name theirs, and refuses unknown
 * sections even when they hold no key (inih does not report those). */
static char *reader(char *str, int num, void *stream)
{
	static const char *const known[] = {"store", "access", "tokens",
					    "auth",  "notify", "metrics"};
	struct cfg_parse *p = stream;
	char *s = fgets(str, num, p->f), *t, *end;

	if (!s)
		return NULL;
	p->line++;
	for (t = s; *t == ' ' || *t == '\t'; t++)
		;
	if (*t != '[' || !(end = strchr(t, ']')))
		return s;
	t++;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if ((size_t)(end - t) == strlen(known[i]) &&
		    !strncmp(t, known[i], (size_t)(end - t)))
			return s;
	if (!p->error) {
		p->error = -EINVAL;
		snprintf(p->err, p->errlen, "%s:%d: [%.*s]: unknown section",
			 p->path, p->line, (int)(end - t), t);
	}
	return s;
}

/* Cross-key rules, checked once the whole file is read. */
static int check_all(struct cfg_parse *p)
{
	struct cfg *c = p->c;
	struct group *g;

	if (c->default_lifetime_days > c->max_lifetime_days) {
		fail(p, "tokens", "default_lifetime_days", -EINVAL,
		     "exceeds max_lifetime_days");
		return p->error;
	}
	if (c->default_lifetime_days == 0 && c->require_expiry) {
		fail(p, "tokens", "default_lifetime_days", -EINVAL,
		     "0 (no expiry) needs require_expiry = false");
		return p->error;
	}
	if (c->admin_group) {
		errno = 0;
		g = getgrnam(c->admin_group);
		if (!g) {
			fail(p, "access", "admin_group", -EINVAL,
			     "no such group");
			return p->error;
		}
		c->admin_gid = g->gr_gid;
	}
	if (c->notify_command) {
		struct passwd *pw = getpwnam(c->notify_run_as);
		if (!pw) {
			fail(p, "notify", "run_as", -EINVAL, "no such user");
			return p->error;
		}
		c->notify_uid = pw->pw_uid;
		c->notify_gid = pw->pw_gid;
	}
	return 0;
}

/* Reads the ini text of p->f over the defaults in p->c. */
static int load_stream(struct cfg_parse *p)
{
	int r = ini_parse_stream(reader, p, handler, p);

	if (r > 0 && !p->error) {
		p->line = r;
		fail(p, "?", "?", -EINVAL, "syntax error");
		snprintf(p->err, p->errlen, "%s:%d: syntax error", p->path, r);
	} else if (r < 0 && !p->error) {
		p->error = -EIO;
		snprintf(p->err, p->errlen, "%s: cannot read", p->path);
	}
	if (!p->error)
		check_all(p);
	return p->error;
}

int cfg_load_stream(struct cfg *c, FILE *f, const char *name, const char *dir,
		    char *err, size_t errlen)
{
	struct cfg_parse p = {.c = c,
			      .path = name,
			      .dir = (char *)dir,
			      .f = f,
			      .err = err,
			      .errlen = errlen};
	int r = cfg_defaults(c);

	if (r) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	return load_stream(&p);
}

int cfg_load(struct cfg *c, const char *path, char *err, size_t errlen)
{
	struct cfg_parse p = {.c = c,
			      .path = path ? path : "(defaults)",
			      .err = err,
			      .errlen = errlen};
	char *slash;
	int r;

	r = cfg_defaults(c);
	if (r) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	if (!path)
		return check_all(&p);
	r = cfg_check_file(path, "config", 022, err, errlen);
	if (r)
		return r;
	p.f = fopen(path, "re");
	if (!p.f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	p.dir = absolute(NULL, path);
	if (!p.dir) {
		fclose(p.f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	slash = strrchr(p.dir, '/');
	*(slash == p.dir ? slash + 1 : slash) = '\0';
	/* the default files, too, sit beside the configuration that names
	 * none: a daemon that mount(8) starts has no directory of its own */
	if (set_str(&c->store_path, absolute(p.dir, "patfs.db")) ||
	    set_str(&c->pepper_file, absolute(p.dir, "patfs.pepper")) ||
	    set_str(&c->auth_log, absolute(p.dir, "patfs-auth.log"))) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	} else {
		r = load_stream(&p);
	}
	if (!r && set_str(&c->config_path, absolute(NULL, path))) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	free(p.dir);
	fclose(p.f);
	return r;
}

int cfg_check_file(const char *path, const char *what, mode_t forbid, char *err,
		   size_t errlen)
{
	struct stat sb;

	if (lstat(path, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -errno;
	}
	if (S_ISLNK(sb.st_mode)) {
		snprintf(err, errlen, "%s %s: is a symbolic link", what, path);
		return -EPERM;
	}
	if (sb.st_uid != geteuid()) {
		snprintf(err, errlen, "%s %s: owned by uid %u, not %u", what,
			 path, (unsigned)sb.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (sb.st_mode & forbid) {
		snprintf(err, errlen, "%s %s: mode %04o lets others %s it",
			 what, path, (unsigned)(sb.st_mode & 07777),
			 (sb.st_mode & forbid & 022) ? "write" : "read");
		return -EPERM;
	}
	return 0;
}

int cfg_check_fd(int fd, const char *path, const char *what, mode_t forbid,
		 char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
	else if (sb.st_uid != geteuid())
		snprintf(err, errlen, "%s %s: owned by uid %u, not %u", what,
			 path, (unsigned)sb.st_uid, (unsigned)geteuid());
	else if (sb.st_mode & forbid)
		snprintf(err, errlen, "%s %s: mode %04o lets others %s it",
			 what, path, (unsigned)(sb.st_mode & 07777),
			 (sb.st_mode & forbid & 022) ? "write" : "read");
	else
		return 0;
	return -EPERM;
}
