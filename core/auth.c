/* auth.c - checking presented tokens (SPEC §4): reasons, errnos, the auth
 * log, per-uid rate limits, last_used_at. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auditInt.h"
#include "patfs/auth.h"
#include "patfs/cfg.h"
#include "patfs/json.h"
#include "patfs/policy.h"
#include "patfs/store.h"
#include "storeInt.h"
#include "tokenInt.h"

#define LIMIT_SLOTS  4096 /* uids tracked at once */
#define LIMIT_PROBE  16
#define LIMIT_WINDOW 60 /* seconds */

/* Failures of one uid in the minute that began at start. */
struct limit {
	uint32_t uid;
	uint32_t count;
	int64_t start; /* 0: a free slot */
};

struct auth {
	struct store *st;
	const struct cfg *cfg;
	int log_fd;
	pthread_mutex_t lock; /* protects limits */
	struct limit limits[LIMIT_SLOTS];
};

enum reason {
	WHY_OK,
	WHY_EXPIRED,
	WHY_REVOKED,
	WHY_SCOPE,
	WHY_IMPERSONATION,
	WHY_BLOCKED,
	WHY_INVALID,
	WHY_LIMITED,
};

static const struct {
	const char *name;
	int err;
} reasons[] = {
    [WHY_OK] = {"", 0},
    [WHY_EXPIRED] = {"token_expired", EKEYEXPIRED},
    [WHY_REVOKED] = {"token_revoked", EKEYREVOKED},
    [WHY_SCOPE] = {"insufficient_scope", EACCES},
    [WHY_IMPERSONATION] = {"impersonation_disabled", EKEYREJECTED},
    [WHY_BLOCKED] = {"user_blocked", EKEYREJECTED},
    [WHY_INVALID] = {"token_invalid", EKEYREJECTED},
    [WHY_LIMITED] = {"rate_limited", EAGAIN},
};

/* Opens the auth log for appending, created 0600, checked as the config,
 * pepper and store are (cfg_check_fd). The fd, or -errno with the reason in
 * err. */
static int open_log(const char *path, char *err, size_t errlen)
{
	int fd = open(
	    path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r;

	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "auth log %s: %s", path, strerror(e));
		return -e;
	}
	r = cfg_check_fd(fd, path, "auth log", 022, err, errlen);
	if (!r)
		return fd;
	close(fd);
	return r;
}

int auth_open(struct auth **out, struct store *st, char *err, size_t errlen)
{
	struct auth *au = calloc(1, sizeof(*au));
	const struct cfg *cfg = store_cfg(st);

	if (!au) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	au->st = st;
	au->cfg = cfg;
	au->log_fd = open_log(cfg->auth_log, err, errlen);
	if (au->log_fd < 0) {
		int e = au->log_fd;
		free(au);
		return e;
	}
	pthread_mutex_init(&au->lock, NULL);
	*out = au;
	return 0;
}

void auth_close(struct auth *au)
{
	if (!au)
		return;
	close(au->log_fd);
	pthread_mutex_destroy(&au->lock);
	free(au);
}

/* The slot of uid, or the one to reuse for it: a free or stale slot in its
 * probe range, else the one whose minute began first. Under au->lock. */
static struct limit *limit_slot(struct auth *au, uint32_t uid, int64_t now)
{
	struct limit *oldest = NULL;

	for (unsigned i = 0; i < LIMIT_PROBE; i++) {
		struct limit *l =
		    &au->limits[(uid * 2654435761u + i) % LIMIT_SLOTS];
		if (l->start && l->uid == uid)
			return l;
		if (!l->start || now - l->start >= LIMIT_WINDOW) {
			if (!oldest || oldest->start)
				oldest = l;
		} else if (!oldest ||
			   (oldest->start && l->start < oldest->start)) {
			oldest = l;
		}
	}
	oldest->uid = uid;
	oldest->count = 0;
	oldest->start = 0;
	return oldest;
}

/* True when uid has used up its failures of this minute. */
static int limited(struct auth *au, uint32_t uid, int64_t now)
{
	struct limit *l;
	int r;

	pthread_mutex_lock(&au->lock);
	l = limit_slot(au, uid, now);
	if (l->start && now - l->start >= LIMIT_WINDOW)
		l->start = 0, l->count = 0; /* a new minute */
	r = l->start && l->count >= (uint32_t)au->cfg->max_failures_per_minute;
	pthread_mutex_unlock(&au->lock);
	return r;
}

static void count_failure(struct auth *au, uint32_t uid, int64_t now)
{
	struct limit *l;

	pthread_mutex_lock(&au->lock);
	l = limit_slot(au, uid, now);
	if (!l->start || now - l->start >= LIMIT_WINDOW) {
		l->start = now;
		l->count = 0;
	}
	l->count++;
	pthread_mutex_unlock(&au->lock);
}

/* Appends the failure's line to the auth log, in one write(2). */
static void log_failure(struct auth *au, const struct pfs_actor *a,
			enum reason why, int64_t token_id, const char *path,
			int64_t now)
{
	char line[2048], when[21], comm[17], id[48];
	struct json j;
	int n;

	policy_format_time(now, when);
	pfs_actor_comm(a, comm);
	snprintf(id, sizeof(id), "PersonalAccessToken/%" PRId64, token_id);
	json_init(&j, line, sizeof(line) - 1);
	json_begin(&j, NULL, '{');
	json_str(&j, "time", when, strlen(when));
	json_str(&j, "severity", "ERROR", 5);
	json_int(&j, "status", why == WHY_LIMITED ? 403 : 401);
	json_str(&j, "path", path, strlen(path));
	json_str(&j, "meta.auth_fail_reason", reasons[why].name,
		 strlen(reasons[why].name));
	json_str(&j, "meta.auth_fail_token_id", token_id > 0 ? id : NULL,
		 strlen(id));
	json_int(&j, "uid", a->uid);
	json_int(&j, "pid", a->pid);
	json_str(&j, "comm", comm, strlen(comm));
	json_end(&j, '}');
	n = json_finish(&j);
	if (n < 0)
		return;
	line[n++] = '\n';
	if (write(au->log_fd, line, (size_t)n) != n)
		pfs_log(PFS_LOG_ERR, "writing the auth log %s: %s",
			au->cfg->auth_log, strerror(errno));
}

/* Looks up the token of a presented secret: 0, -EKEYREJECTED, or -errno. */
static int lookup(struct auth *au, const char *secret, size_t len,
		  struct token_info *t)
{
	unsigned char digest[SECRET_DIGEST_LEN];
	int r;

	len = policy_value_len(secret, len);
	if (secret_check_format(au->cfg->prefix, secret, len))
		return -EKEYREJECTED;
	secret_digest(au->st->pepper, secret, len, digest);
	r = token_find_digest(au->st, digest, t);
	sodium_memzero(digest, sizeof(digest));
	return r == -ENOENT ? -EKEYREJECTED : r;
}

/* Why t may not act with scope now, or WHY_OK; GitLab's order. */
static enum reason judge(struct auth *au, const struct token_info *t, int scope,
			 int64_t now)
{
	if (token_expired(t, now))
		return WHY_EXPIRED;
	if (t->revoked_at)
		return WHY_REVOKED;
	if (!t->sealed_at)
		return WHY_INVALID;
	if (t->user_blocked)
		return WHY_BLOCKED;
	if (!policy_scope_granted(t->scopes, scope))
		return WHY_SCOPE;
	if (t->impersonation && !au->cfg->allow_impersonation)
		return WHY_IMPERSONATION;
	return WHY_OK;
}

int auth_check(struct auth *au, const struct pfs_actor *a, const char *scope,
	       const char *secret, size_t len, const char *path)
{
	int idx = policy_scope_index(scope, strlen(scope));
	int64_t now = store_now();
	struct token_info t = {0};
	enum reason why;
	int r;

	if (idx < 0)
		return -EINVAL;
	if (limited(au, a->uid, now)) {
		why = WHY_LIMITED;
	} else {
		r = lookup(au, secret, len, &t);
		if (r == -EKEYREJECTED)
			why = WHY_INVALID;
		else if (r)
			return r; /* the store failed: no verdict, no log */
		else
			why = judge(au, &t, idx, now);
	}
	if (why == WHY_OK)
		return token_touch(au->st, &t, now,
				   au->cfg->last_used_interval_s);
	if (why != WHY_LIMITED)
		count_failure(au, a->uid, now);
	log_failure(au, a, why, t.id, path, now);
	return -reasons[why].err;
}

int auth_find(struct auth *au, const char *secret, size_t len,
	      struct token_info *out)
{
	return lookup(au, secret, len, out);
}

int auth_revoke(struct auth *au, const struct pfs_actor *a, const char *secret,
		size_t len)
{
	struct token_info t;
	int r = lookup(au, secret, len, &t);

	return r ? r : token_write(au->st, a, t.id, TOKEN_REVOKED, "1", 1);
}
