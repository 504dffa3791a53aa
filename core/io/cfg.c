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

#include "cfgInt.h"
#include "patfs/policy.h"
#include "patfs/secret.h"

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
	c->metrics_mode = 0640;
	c->max_stale_s = 5;
	c->last_used_interval_s = 600;
	c->max_failures_per_minute = 10;
	c->unlimited_uids[0] = 0; /* root */
	c->n_unlimited_uids = 1;
	c->record_sources = true;
	c->max_log_lines_per_minute = 120;
	c->log_max_bytes = 10 << 20;
	c->log_keep = 5;
	c->changes_per_minute = 60;
	c->audit_bytes_per_day = (int64_t)4 << 20;
	c->free_floor_mb = 64;
	c->free_floor_percent = 5;
	c->snapshot_bytes_per_uid = (int64_t)64 << 20;
	c->snapshot_bytes_total = (int64_t)192 << 20;
	if (cfg_set_str(&c->store_path, cfg_absolute(NULL, "patfs.db")) ||
	    cfg_set_str(&c->pepper_file, cfg_absolute(NULL, "patfs.pepper")) ||
	    cfg_set_str(&c->auth_log, cfg_absolute(NULL, "patfs-auth.log")) ||
	    cfg_set_str(&c->prefix, strdup("glpat-")) ||
	    cfg_set_str(&c->subuid_file, strdup("/etc/subuid")) ||
	    cfg_set_str(&c->notify_run_as, strdup("nobody")))
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
	free(c->subuid_file);
	free(c->notify_command);
	free(c->metrics_textfile);
	free(c->notify_run_as);
	memset(c, 0, sizeof(*c));
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

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct cfg_parse *p = user;
	const char *why = "invalid value";
	int r = cfg_key(p, section, name, value, &why);

	if (r)
		fail(p, section, name, r, r == -ENOMEM ? "out of memory" : why);
	return r == 0;
}

/* fgets that counts lines, so errors can name theirs, and refuses unknown
 * sections even when they hold no key (inih does not report those). */
static char *reader(char *str, int num, void *stream)
{
	static const char *const known[] = {
	    "store", "access", "tokens", "auth", "notify", "metrics", "limits"};
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
	p.dir = cfg_absolute(NULL, path);
	if (!p.dir) {
		fclose(p.f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	slash = strrchr(p.dir, '/');
	*(slash == p.dir ? slash + 1 : slash) = '\0';
	/* the default files, too, sit beside the configuration that names
	 * none: a daemon that mount(8) starts has no directory of its own */
	if (cfg_set_str(&c->store_path, cfg_absolute(p.dir, "patfs.db")) ||
	    cfg_set_str(&c->pepper_file, cfg_absolute(p.dir, "patfs.pepper")) ||
	    cfg_set_str(&c->auth_log, cfg_absolute(p.dir, "patfs-auth.log"))) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	} else {
		r = load_stream(&p);
	}
	if (!r && cfg_set_str(&c->config_path, cfg_absolute(NULL, path))) {
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

int cfg_check_secret(const struct cfg *c, const char *s, size_t len)
{
	if (!secret_check_format(c->prefix, s, len))
		return 0;
	for (int i = 0; i < c->n_prev_prefixes; i++)
		if (!secret_check_format(c->prev_prefixes[i], s, len))
			return 0;
	return -EINVAL;
}
