/* cfg_keys.c - the keys of each section of the ini file: what each takes,
 * and why a value is refused. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgInt.h"
#include "patfs/policy.h"

/* Makes path absolute against dir (NULL: the current directory). Returns a
 * malloc'd string or NULL. */
char *cfg_absolute(const char *dir, const char *path)
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

int cfg_set_str(char **slot, char *val)
{
	if (!val)
		return -ENOMEM;
	free(*slot);
	*slot = val;
	return 0;
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

/* Up to max decimal uids separated by spaces or commas (none: empty). */
static int parse_uids(const char *v, uint32_t *out, int max, int *n)
{
	int count = 0;

	while (*v) {
		char *end;
		unsigned long long u;

		while (*v == ' ' || *v == ',' || *v == '\t')
			v++;
		if (!*v)
			break;
		if (*v < '0' || *v > '9' || count == max)
			return -EINVAL;
		errno = 0;
		u = strtoull(v, &end, 10);
		if (errno || u >= UINT32_MAX ||
		    (*end && *end != ' ' && *end != ',' && *end != '\t'))
			return -EINVAL;
		out[count++] = (uint32_t)u;
		v = end;
	}
	*n = count;
	return 0;
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

static int check_prefix_len(const char *v, size_t n)
{
	if (n == 0 || n > CFG_PREFIX_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789-_",
			v[i]))
			return -EINVAL;
	return 0;
}

static int check_prefix(const char *v)
{
	return check_prefix_len(v, strlen(v));
}

/* Prefixes separated by spaces or commas, at most CFG_MAX_PREFIXES. */
static int parse_prefixes(const char *v, struct cfg *c)
{
	int count = 0;

	for (;;) {
		size_t n;

		v += strspn(v, " ,\t");
		if (!*v)
			break;
		n = strcspn(v, " ,\t");
		if (count == CFG_MAX_PREFIXES || check_prefix_len(v, n))
			return -EINVAL;
		memcpy(c->prev_prefixes[count], v, n);
		c->prev_prefixes[count++][n] = '\0';
		v += n;
	}
	c->n_prev_prefixes = count;
	return 0;
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
		return value[0] ? cfg_set_str(&c->notify_command, strdup(value))
				: 0;
	}
	if (!strcmp(name, "run_as")) {
		*why = "expected a user name";
		if (!value[0])
			return -EINVAL;
		return cfg_set_str(&c->notify_run_as, strdup(value));
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
		return cfg_set_str(&c->store_path, cfg_absolute(p->dir, value));
	if (IS("pepper_file"))
		return cfg_set_str(&c->pepper_file,
				   cfg_absolute(p->dir, value));
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
		return cfg_set_str(&c->store_dsn, strdup(value));
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
			   ?: cfg_set_str(&c->prefix, strdup(value));
	}
	if (IS("previous_prefixes")) {
		*why = "expected up to 8 prefixes of 1-32 of [A-Za-z0-9_-], "
		       "separated by spaces or commas";
		return parse_prefixes(value, c);
	}
	if (IS("retain_inactive_days")) {
		*why = "expected a number of days, 0 (forever) to 36500";
		return parse_int(value, 0, 36500, &c->retain_inactive_days);
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
		return cfg_set_str(&c->auth_log, cfg_absolute(p->dir, value));
	if (IS("max_failures_per_minute")) {
		*why = "expected a number, 1 to 1000000";
		return parse_int(value, 1, 1000000,
				 &c->max_failures_per_minute);
	}
	if (IS("record_sources")) {
		*why = "expected true or false";
		return parse_bool(value, &c->record_sources);
	}
	if (IS("unlimited_uids")) {
		*why = "expected up to 16 decimal uids, separated by spaces";
		return parse_uids(value, c->unlimited_uids, 16,
				  &c->n_unlimited_uids);
	}
	if (IS("log_max_bytes")) {
		*why = "expected bytes, 4096 to 1099511627776";
		return parse_i64(value, 4096, (int64_t)1 << 40,
				 &c->log_max_bytes);
	}
	if (IS("max_log_lines_per_minute")) {
		*why = "expected a number, 10 to 1000000";
		return parse_int(value, 10, 1000000,
				 &c->max_log_lines_per_minute);
	}
	if (IS("subuid_file")) {
		free(c->subuid_file); /* empty: no ranges */
		c->subuid_file = NULL;
		return value[0] ? cfg_set_str(&c->subuid_file,
					      cfg_absolute(p->dir, value))
				: 0;
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
		return value[0] ? cfg_set_str(&c->admin_group, strdup(value))
				: 0;
	}
	if (KEY("metrics", "textfile")) {
		free(c->metrics_textfile);
		c->metrics_textfile = NULL;
		return value[0] ? cfg_set_str(&c->metrics_textfile,
					      cfg_absolute(p->dir, value))
				: 0;
	}
	if (KEY("metrics", "mode")) {
		char *end;
		long m = strtol(value, &end, 8);

		*why =
		    "expected an octal mode such as 0640, no bit beyond 0666";
		if (!value[0] || *end || m < 0 || (m & ~0666L))
			return -EINVAL;
		c->metrics_mode = (int)m;
		return 0;
	}
	if (KEY("metrics", "interval_s")) {
		*why = "expected seconds, 1 to 3600";
		return parse_int(value, 1, 3600, &c->metrics_interval_s);
	}
	*why = "unknown key";
	return -EINVAL;
}

/* The keys of [limits]: 0 or -errno with *why. */
static int limits_key(struct cfg *c, const char *name, const char *value,
		      const char **why)
{
	int64_t n, *slot = NULL;
	int r, shift = 20;

	if (IS("changes_per_minute")) {
		*why = "expected a number, 1 to 1000000";
		return parse_int(value, 1, 1000000, &c->changes_per_minute);
	}
	if (IS("free_floor_mb")) {
		*why = "expected MiB, 0 (no floor) to 1048576";
		return parse_int(value, 0, 1 << 20, &c->free_floor_mb);
	}
	if (IS("free_floor_percent")) {
		*why = "expected a percentage, 0 (no floor) to 50";
		return parse_int(value, 0, 50, &c->free_floor_percent);
	}
	if (IS("audit_kib_per_day"))
		slot = &c->audit_bytes_per_day, shift = 10;
	else if (IS("snapshot_mib_per_uid"))
		slot = &c->snapshot_bytes_per_uid;
	else if (IS("snapshot_mib_total"))
		slot = &c->snapshot_bytes_total;
	if (!slot) {
		*why = "unknown key";
		return -EINVAL;
	}
	*why = shift == 10 ? "expected KiB, 1 to 1048576"
			   : "expected MiB, 1 to 1048576";
	r = parse_i64(value, 1, 1 << 20, &n);
	if (!r)
		*slot = n << shift;
	return r;
}

int cfg_key(struct cfg_parse *p, const char *section, const char *name,
	    const char *value, const char **why)
{
	if (!strcmp(section, "store"))
		return store_key(p, name, value, why);
	if (!strcmp(section, "tokens"))
		return tokens_key(p->c, name, value, why);
	if (!strcmp(section, "auth"))
		return auth_key(p, name, value, why);
	if (!strcmp(section, "notify"))
		return notify_key(p->c, name, value, why);
	if (!strcmp(section, "limits"))
		return limits_key(p->c, name, value, why);
	return other_key(p, section, name, value, why);
}
