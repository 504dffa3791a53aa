/* auth.c - checking presented tokens (SPEC §4): reasons, errnos, the auth
 * log, per-uid rate limits, last_used_at. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authInt.h"
#include "model/token_core.h"
#include "patfs/auth.h"
#include "patfs/cfg.h"
#include "patfs/json.h"
#include "patfs/policy.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "store/store_stmt.h"

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
    [WHY_UNAVAILABLE] = {"store_unavailable", EIO},
    [WHY_DISABLED] = {"token_disabled", EKEYREJECTED},
    [WHY_NONCOMPLIANT] = {"token_noncompliant", EKEYREJECTED},
};

int auth_open(struct auth **out, struct store *st, char *err, size_t errlen)
{
	struct auth *au = calloc(1, sizeof(*au));
	int r;

	if (!au) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	au->st = st;
	au->cfg = store_cfg(st);
	au->sources = auth_sources_new();
	r = au->sources ? auth_log_open(&au->log, au->cfg, err, errlen)
			: -ENOMEM;
	if (r) {
		if (!au->sources)
			snprintf(err, errlen, "out of memory");
		auth_sources_free(au->sources);
		free(au);
		return r;
	}
	auth_subuid_load(&au->subuid, au->cfg->subuid_file);
	pthread_mutex_init(&au->lock, NULL);
	*out = au;
	return 0;
}

/* The checks of uid refused in the minute that began at start: one line
 * sums up those after the first. */
struct summary {
	uint32_t uid, refused;
	int64_t start;
};

/* Ends l's minute if it is over; a summary it owes goes to *due. */
static void limit_roll(struct limit *l, int64_t now, struct summary *due)
{
	if (!l->start || now - l->start < LIMIT_WINDOW)
		return;
	if (l->refused > 1)
		*due = (struct summary){l->uid, l->refused, l->start};
	l->start = 0;
	l->count = l->refused = 0;
}

/* The slot of uid, or the one to reuse for it: a free or stale slot in its
 * probe range, else the one whose minute began first (whose summary, if it
 * owes one, goes to *due). Under au->lock. */
static struct limit *limit_slot(struct auth *au, uint64_t key, int64_t now,
				struct summary *due)
{
	size_t home = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32);
	uint32_t uid = (uint32_t)key;
	struct limit *oldest = NULL;

	for (unsigned i = 0; i < LIMIT_PROBE; i++) {
		struct limit *l = &au->limits[(home + i) % LIMIT_SLOTS];
		if (l->start && l->key == key)
			return l;
		if (!l->start || now - l->start >= LIMIT_WINDOW) {
			if (!oldest || oldest->start)
				oldest = l;
		} else if (!oldest ||
			   (oldest->start && l->start < oldest->start)) {
			oldest = l;
		}
	}
	if (oldest->start && oldest->refused > 1)
		*due = (struct summary){oldest->uid, oldest->refused,
					oldest->start};
	oldest->key = key;
	oldest->uid = uid;
	oldest->count = oldest->refused = 0;
	oldest->start = 0;
	return oldest;
}

enum limited { NOT_LIMITED, LIMITED_FIRST, LIMITED_AGAIN };

/* Whether uid has used up its failures of this minute, and if so whether
 * this is the first check refused for it (which gets its own line). */
static enum limited limited(struct auth *au, uint64_t key, int64_t now,
			    struct summary *due)
{
	enum limited r = NOT_LIMITED;
	struct limit *l;

	pthread_mutex_lock(&au->lock);
	l = limit_slot(au, key, now, due);
	limit_roll(l, now, due);
	if (l->start && l->count >= (uint32_t)au->cfg->max_failures_per_minute)
		r = ++l->refused == 1 ? LIMITED_FIRST : LIMITED_AGAIN;
	pthread_mutex_unlock(&au->lock);
	return r;
}

static void count_failure(struct auth *au, uint64_t key, int64_t now,
			  struct summary *due)
{
	struct limit *l;

	pthread_mutex_lock(&au->lock);
	l = limit_slot(au, key, now, due);
	limit_roll(l, now, due);
	if (!l->start)
		l->start = now;
	l->count++;
	pthread_mutex_unlock(&au->lock);
}

/* One line of the auth log: a refused check (a set), or the summary of a
 * uid's rate-limited checks (sum set). */
struct entry {
	enum reason why;
	int64_t token_id;
	const char *path;
	const struct pfs_actor *a;
	const struct summary *sum;
	const char *client; /* the client checked for, as the checker said */
};

/* The lines of the log's minute, in all: true when one more fits
 * ([auth] max_log_lines_per_minute); else it is counted. When a new minute
 * begins, how many the last one left out goes to *dropped (and its start
 * to *since). */
static bool gate(struct auth *au, int64_t now, uint32_t *dropped,
		 int64_t *since)
{
	bool fits;

	pthread_mutex_lock(&au->lock);
	if (now - au->gate_start >= LIMIT_WINDOW) {
		*dropped = au->gate_dropped;
		*since = au->gate_start;
		au->gate_start = now;
		au->gate_lines = au->gate_dropped = 0;
	}
	fits = au->gate_lines < (uint32_t)au->cfg->max_log_lines_per_minute;
	if (fits)
		au->gate_lines++;
	else
		au->gate_dropped++;
	pthread_mutex_unlock(&au->lock);
	return fits;
}

/* The line that sums up the failures a minute left out of the log. */
static void log_dropped(struct auth *au, uint32_t dropped, int64_t since,
			int64_t now)
{
	char line[512], when[21], from[21];
	struct json j;
	int n;

	policy_format_time(now, when);
	policy_format_time(since, from);
	json_init(&j, line, sizeof(line) - 1);
	json_begin(&j, NULL, '{');
	json_str(&j, "time", when, strlen(when));
	json_str(&j, "severity", "ERROR", 5);
	json_int(&j, "status", 429);
	json_str(&j, "meta.auth_fail_reason", "log_limited", 11);
	json_int(&j, "count", dropped);
	json_str(&j, "since", from, strlen(from));
	json_end(&j, '}');
	n = json_finish(&j);
	if (n < 0)
		return;
	line[n++] = '\n';
	auth_log_write(&au->log, line, (size_t)n);
}

static void log_entry(struct auth *au, const struct entry *e, int64_t now)
{
	char line[2048], when[21], since[21], comm[17], id[48];
	const char *name = reasons[e->why].name;
	uint32_t dropped = 0;
	int64_t since_gate = 0;
	bool fits = true;
	struct json j;
	int n, status = e->why == WHY_LIMITED	    ? 403
			: e->why == WHY_UNAVAILABLE ? 503
						    : 401;

	policy_format_time(now, when);
	snprintf(id, sizeof(id), "PersonalAccessToken/%" PRId64, e->token_id);
	json_init(&j, line, sizeof(line) - 1);
	json_begin(&j, NULL, '{');
	json_str(&j, "time", when, strlen(when));
	json_str(&j, "severity", "ERROR", 5);
	json_int(&j, "status", status);
	if (e->path)
		json_str(&j, "path", e->path, strlen(e->path));
	json_str(&j, "meta.auth_fail_reason", name, strlen(name));
	if (e->sum) {
		policy_format_time(e->sum->start, since);
		json_int(&j, "count", e->sum->refused);
		json_str(&j, "since", since, strlen(since));
		json_int(&j, "uid", e->sum->uid);
	} else {
		pfs_actor_comm(e->a, comm);
		json_str(&j, "meta.auth_fail_token_id",
			 e->token_id > 0 ? id : NULL, strlen(id));
		json_int(&j, "uid", e->a->uid);
		json_int(&j, "pid", e->a->pid);
		json_str(&j, "comm", comm, strlen(comm));
		if (e->client)
			json_str(&j, "client", e->client, strlen(e->client));
	}
	json_end(&j, '}');
	n = json_finish(&j);
	if (n < 0)
		return;
	line[n++] = '\n';
	if (!gate(au, now, &dropped, &since_gate))
		fits = false;
	if (dropped)
		log_dropped(au, dropped, since_gate, now);
	if (fits)
		auth_log_write(&au->log, line, (size_t)n);
}

static void log_summary(struct auth *au, const struct summary *sum, int64_t now)
{
	struct entry e = {.why = WHY_LIMITED, .sum = sum};

	if (sum->refused)
		log_entry(au, &e, now);
}

/* Looks up the token of a presented secret: 0, -EKEYREJECTED, or -errno. */
static int lookup(struct auth *au, const char *secret, size_t len,
		  struct token_info *t)
{
	unsigned char digest[SECRET_DIGEST_LEN];
	int r;

	len = policy_value_len(secret, len);
	if (cfg_check_secret(au->cfg, secret, len))
		return pfs_refuse(EKEYREJECTED, "token_invalid: that is not "
						"the form of a secret");
	store_digest(au->st, secret, len, digest);
	/* readers never wait for writers (WAL); only a store locked outright
	 * (or being recovered) makes them wait, and not for long */
	store_set_wait(au->st, LOOKUP_WAIT_MS);
	r = token_find_digest(au->st, digest, t);
	store_set_wait(au->st, BUSY_MS);
	sodium_memzero(digest, sizeof(digest));
	return r == -ENOENT ? pfs_refuse(EKEYREJECTED, "token_invalid: no "
						       "token has that secret")
			    : r;
}

/* Whether the policies, read at most a second ago, make checks of t fail
 * (policy/enforce at_check). A store that cannot say enforces the last
 * policies it said. */
static bool noncompliant(struct auth *au, const struct token_info *t,
			 int64_t now)
{
	struct rules r;
	char why[256];
	bool fresh;

	pthread_mutex_lock(&au->lock);
	fresh = au->rules_at && now >= au->rules_at && now - au->rules_at < 1;
	r = au->rules;
	pthread_mutex_unlock(&au->lock);
	if (!fresh && rules_get(au->st, &r) == 0) {
		pthread_mutex_lock(&au->lock);
		au->rules = r;
		au->rules_at = now;
		pthread_mutex_unlock(&au->lock);
	}
	return r.enforce == RULE_ENFORCE_AT_CHECK &&
	       rules_broken(&r, t, why, sizeof(why)) != RULE_N;
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
	if (t->disabled)
		return WHY_DISABLED;
	if (t->user_blocked)
		return WHY_BLOCKED;
	if (!policy_scope_granted(t->scopes, scope))
		return WHY_SCOPE;
	if (t->impersonation && !au->cfg->allow_impersonation)
		return WHY_IMPERSONATION;
	if (noncompliant(au, t, now))
		return WHY_NONCOMPLIANT;
	return WHY_OK;
}

/* Keeps t's stamp for later: the write lock is held elsewhere. A full queue
 * drops it (last_used_at is best effort). */
static void stamp_queue(struct auth *au, const struct token_info *t,
			int64_t now)
{
	int i;

	pthread_mutex_lock(&au->lock);
	for (i = 0; i < au->nstamps; i++)
		if (au->stamps[i].token_id == t->id)
			break;
	if (i < STAMPS) {
		au->stamps[i] = (struct stamp){
		    t->id, t->user_id, t->resource_id, t->last_used_at, now};
		au->nstamps += i == au->nstamps;
	}
	pthread_mutex_unlock(&au->lock);
}

/* Writes the stamps that waited, without waiting for the lock either. */
static void stamp_flush(struct auth *au)
{
	struct stamp batch[STAMPS];
	int n;

	pthread_mutex_lock(&au->lock);
	n = au->nstamps;
	memcpy(batch, au->stamps, (size_t)n * sizeof(batch[0]));
	au->nstamps = 0;
	pthread_mutex_unlock(&au->lock);
	for (int i = 0; i < n; i++) {
		struct token_info t = {.id = batch[i].token_id,
				       .user_id = batch[i].user_id,
				       .resource_id = batch[i].resource_id,
				       .last_used_at = batch[i].last_used_at};
		if (token_stamp_used(au->st, &t, batch[i].at,
				     au->cfg->last_used_interval_s,
				     false) == -EBUSY)
			stamp_queue(au, &t, batch[i].at);
	}
}

/* Stamps last_used_at of t, a token that passed, without waiting for a
 * writer: a held write lock queues the stamp instead. The check's answer
 * does not depend on it. */
static void stamp_used(struct auth *au, const struct token_info *t, int64_t now,
		       bool stamped)
{
	int r = stamped
		    ? 0
		    : token_stamp_used(au->st, t, now,
				       au->cfg->last_used_interval_s, false);
	bool waiting;

	if (r == -EBUSY)
		return stamp_queue(au, t, now);
	pthread_mutex_lock(&au->lock);
	waiting = au->nstamps > 0;
	pthread_mutex_unlock(&au->lock);
	if (waiting)
		stamp_flush(au);
}

/* Checks secret as auth_check says, for scope idx, or idx2 as well when
 * it is not negative (either will do): 0 with *t filled, or -errno (the
 * failure logged and counted, *t filled when the secret is a token's). */
/* The key a's failures count under, or 0 when they count under none: a
 * client it names has its own (whoever checks for it); else the uid, or
 * the owner of its subordinate range, unless [auth] unlimited_uids lists
 * it (root, by default). */
static uint64_t limit_key(struct auth *au, const struct pfs_actor *a,
			  const char *client)
{
	uint32_t who = auth_subuid_owner(&au->subuid, a->uid);
	unsigned char h[4];

	if (client) {
		crypto_generichash(h, sizeof(h), (const unsigned char *)client,
				   strlen(client), NULL, 0);
		return (uint64_t)(((uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
				   (uint32_t)h[2] << 8 | h[3]) |
				  1u)
			   << 32 |
		       who;
	}
	for (int i = 0; i < au->cfg->n_unlimited_uids; i++)
		if (au->cfg->unlimited_uids[i] == a->uid)
			return 0;
	return (uint64_t)1 << 63 | who; /* never 0, even for uid 0 */
}

static int check(struct auth *au, const struct pfs_actor *a, int idx, int idx2,
		 const char *secret, size_t len, const char *path,
		 const char *client, struct token_info *t)
{
	int64_t now = store_now();
	uint64_t key = limit_key(au, a, client);
	struct summary due = {0};
	enum limited lim = NOT_LIMITED;
	enum reason why;
	int r;

	if (key)
		lim = limited(au, key, now, &due);
	if (lim != NOT_LIMITED) {
		why = WHY_LIMITED;
	} else {
		r = lookup(au, secret, len, t);
		why = r == -EKEYREJECTED ? WHY_INVALID
		      : r		 ? WHY_UNAVAILABLE /* fail closed */
					 : judge(au, t, idx, now);
		if (why == WHY_SCOPE && idx2 >= 0)
			why = judge(au, t, idx2, now);
	}
	log_summary(au, &due, now);
	atomic_fetch_add(&au->checks[why], 1);
	if (why == WHY_OK) {
		/* one write stamps both when the source is due */
		char source[TOKEN_SOURCE_MAX + 1];
		int rec = au->cfg->record_sources
			      ? auth_source_used(au->sources, au->st,
						 au->cfg->last_used_interval_s,
						 a, t, client, now, source)
			      : 0;

		stamp_used(au, t, now, rec > 0);
		if (rec == 2 && au->on_new_source)
			au->on_new_source(au->on_new_source_ctx, t, source);
		return 0;
	}
	if (key && why != WHY_LIMITED && why != WHY_UNAVAILABLE) {
		due.refused = 0;
		count_failure(au, key, now, &due);
		log_summary(au, &due, now);
	}
	if (lim != LIMITED_AGAIN)
		log_entry(au,
			  &(struct entry){.why = why,
					  .token_id = t->id,
					  .path = path,
					  .a = a,
					  .client = client},
			  now);
	/* the auth log's reason: the secret and the token are not told */
	return pfs_refuse(reasons[why].err, "%s", reasons[why].name);
}

int auth_check_client(struct auth *au, const struct pfs_actor *a,
		      const char *scope, const char *secret, size_t len,
		      const char *path, const char *client)
{
	int idx = policy_scope_index(scope, strlen(scope));
	struct token_info t = {0};

	if (idx < 0)
		return pfs_refuse(EINVAL, "no such scope");
	if (client && !auth_client_ok(client, strlen(client)))
		return pfs_refuse(EINVAL,
				  "a client is 1 to %d characters of "
				  "A-Z a-z 0-9 . : _ - [ ] %%",
				  AUTH_CLIENT_MAX);
	return check(au, a, idx, -1, secret, len, path, client, &t);
}

int auth_check(struct auth *au, const struct pfs_actor *a, const char *scope,
	       const char *secret, size_t len, const char *path)
{
	char client[AUTH_CLIENT_MAX + 1];
	int r = auth_split_client(secret, &len, client);

	return r ? r
		 : auth_check_client(au, a, scope, secret, len, path,
				     client[0] ? client : NULL);
}

int auth_rotate(struct auth *au, const struct pfs_actor *a, const char *secret,
		size_t len, const char *path, char *out, size_t size)
{
	static const char self[] = "self_rotate", api[] = "api";
	struct token_info t = {0};
	int64_t next;
	int r = check(au, a, policy_scope_index(self, sizeof(self) - 1),
		      policy_scope_index(api, sizeof(api) - 1), secret, len,
		      path, NULL, &t);

	if (r == -EKEYREVOKED && t.next_id) /* an old secret comes back */
		token_rotate_as(au->st, a, t.id, "1", 1, true, &next, NULL, 0);
	if (r)
		return r;
	return token_rotate_as(au->st, a, t.id, "1", 1, true, &next, out, size);
}

void auth_counts(struct auth *au,
		 void (*fn)(void *ctx, const char *reason, uint64_t n),
		 void *ctx)
{
	for (int i = 0; i < WHY_NREASONS; i++)
		fn(ctx, i == WHY_OK ? "ok" : reasons[i].name,
		   (uint64_t)atomic_load(&au->checks[i]));
}

void auth_close(struct auth *au)
{
	int64_t now = store_now();

	if (!au)
		return;
	stamp_flush(au);
	for (int i = 0; i < LIMIT_SLOTS; i++) {
		struct limit *l = &au->limits[i];
		if (l->start && l->refused > 1)
			log_summary(
			    au, &(struct summary){l->uid, l->refused, l->start},
			    now);
	}
	if (au->gate_dropped)
		log_dropped(au, au->gate_dropped, au->gate_start, now);
	auth_log_close(&au->log);
	auth_sources_free(au->sources);
	pthread_mutex_destroy(&au->lock);
	free(au);
}

void auth_on_new_source(struct auth *au, auth_source_fn *fn, void *ctx)
{
	au->on_new_source = fn;
	au->on_new_source_ctx = ctx;
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
