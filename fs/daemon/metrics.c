/* metrics.c - the daemon's state for monitoring (metrics.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "daemon.h"
#include "metrics.h"
#include "notify.h"
#include "patfs/auth.h"
#include "patfs/cfg.h"
#include "patfs/stats.h"
#include "patfs/store.h"

/* The operations ops.c answers through q_done, in the order shown. */
static const char *const op_names[] = {
    "LOOKUP", "GETATTR", "SETATTR", "READLINK",	  "MKDIR",
    "RMDIR",  "UNLINK",	 "CREATE",  "OPEN",	  "READ",
    "WRITE",  "OPENDIR", "READDIR", "READDIRPLUS"};
#define NOPS ((int)(sizeof(op_names) / sizeof(op_names[0])))

/* Upper bounds of the latency buckets, in seconds (+Inf is implied). */
static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
				0.01,	0.025,	 0.05,	 0.1,	0.25,	1.0};
#define NBOUNDS ((int)(sizeof(bounds) / sizeof(bounds[0])))

struct histogram {
	atomic_uint_fast64_t bucket[NBOUNDS + 1]; /* not cumulative */
	atomic_uint_fast64_t nanos;		  /* the sum */
};

struct metrics {
	struct histogram ops[NOPS];
	int64_t audit_from; /* the audit record last before the start */
	/* the last rendering, kept a second (under lock) */
	pthread_mutex_t lock;
	char *text;
	size_t len;
	struct timespec at;
	/* the textfile thread */
	pthread_t thread;
	bool running, stop;
	pthread_cond_t wake;
};

int metrics_new(struct pfs *p)
{
	struct metrics *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	r = stats_audit_top(p->st, &m->audit_from);
	if (r) {
		free(m);
		return r;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	p->metrics = m;
	return 0;
}

void metrics_free(struct pfs *p)
{
	struct metrics *m = p->metrics;

	if (!m)
		return;
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m);
	p->metrics = NULL;
}

void metrics_request(struct metrics *m, const char *op, double seconds)
{
	struct histogram *h = NULL;
	int b = 0;

	if (!m)
		return;
	for (int i = 0; i < NOPS && !h; i++)
		if (!strcmp(op_names[i], op))
			h = &m->ops[i];
	if (!h)
		return;
	while (b < NBOUNDS && seconds > bounds[b])
		b++;
	atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->nanos, (uint64_t)(seconds * 1e9),
				  memory_order_relaxed);
}

/* Rendering ---------------------------------------------------------- */

struct out {
	struct token_doc *doc;
	int err;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (o->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		o->err = -EOVERFLOW;
	else
		o->err = token_doc_add(o->doc, line, (size_t)n);
}

static void family(struct out *o, const char *name, const char *type,
		   const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_tokens(struct out *o, struct pfs *p, int64_t now)
{
	struct stats_tokens t;
	int64_t nc = 0;

	o->err = o->err ? o->err : stats_tokens(p->st, now, &t);
	family(o, "patfs_tokens", "gauge",
	       "Tokens in the store, by kind and state.");
	for (int k = 0; k < STATS_NKINDS; k++)
		for (int s = 0; s < STATS_NSTATES; s++)
			put(o, "patfs_tokens{kind=\"%s\",state=\"%s\"} %lld\n",
			    stats_kind_names[k], stats_state_names[s],
			    o->err ? 0LL : (long long)t.n[k][s]);
	family(o, "patfs_tokens_expiring", "gauge",
	       "Active tokens expiring after today and within that many "
	       "days.");
	for (int i = 0; i < STATS_NWINDOWS; i++)
		put(o, "patfs_tokens_expiring{within_days=\"%d\"} %lld\n",
		    stats_windows[i], o->err ? 0LL : (long long)t.expiring[i]);
	family(o, "patfs_tokens_noncompliant", "gauge",
	       "Active tokens that break the policies (noncompliant/).");
	o->err = o->err ? o->err : stats_noncompliant(p->st, now, &nc);
	put(o, "patfs_tokens_noncompliant %lld\n",
	    o->err ? 0LL : (long long)nc);
	family(o, "patfs_tokens_unused", "gauge",
	       "Active tokens not used (never used: since made) in that many "
	       "days.");
	for (int i = 0; i < STATS_NWINDOWS; i++)
		put(o, "patfs_tokens_unused{days=\"%d\"} %lld\n",
		    stats_unused_days[i],
		    o->err ? 0LL : (long long)t.unused[i]);
}

static void put_check(void *ctx, const char *reason, uint64_t n)
{
	struct out *o = ctx;

	put(o, "patfs_auth_checks_total{result=\"%s\",reason=\"%s\"} %llu\n",
	    strcmp(reason, "ok") ? "refused" : "ok",
	    strcmp(reason, "ok") ? reason : "none", (unsigned long long)n);
}

/* The actions counted from the audit trail, and under which name. */
static const struct {
	const char *action, *metric, *help;
} actions[] = {
    {"token_create", "patfs_tokens_minted_total",
     "Tokens minted since the daemon started (by any process)."},
    {"token_revoke", "patfs_tokens_revoked_total",
     "Tokens revoked since the daemon started (by any process)."},
    {"token_rotate", "patfs_tokens_rotated_total",
     "Tokens rotated since the daemon started (by any process)."},
};
#define NACTIONS ((int)(sizeof(actions) / sizeof(actions[0])))

static void count_action(void *ctx, const char *action, int64_t n)
{
	int64_t *counts = ctx;

	for (int i = 0; i < NACTIONS; i++)
		if (!strcmp(actions[i].action, action))
			counts[i] = n;
}

static void put_actions(struct out *o, struct pfs *p)
{
	int64_t counts[NACTIONS] = {0};

	if (!o->err)
		o->err = stats_actions_since(p->st, p->metrics->audit_from,
					     count_action, counts);
	for (int i = 0; i < NACTIONS; i++) {
		family(o, actions[i].metric, "counter", actions[i].help);
		put(o, "%s %lld\n", actions[i].metric, (long long)counts[i]);
	}
}

static void put_requests(struct out *o, struct metrics *m)
{
	family(o, "patfs_fuse_request_duration_seconds", "histogram",
	       "FUSE requests answered since the daemon started, by "
	       "operation, and the time from their arrival to their reply.");
	for (int i = 0; i < NOPS; i++) {
		struct histogram *h = &m->ops[i];
		uint64_t n = 0;

		for (int b = 0; b <= NBOUNDS; b++) {
			n += atomic_load(&h->bucket[b]);
			if (b < NBOUNDS)
				put(o,
				    "patfs_fuse_request_duration_seconds_bucket"
				    "{op=\"%s\",le=\"%g\"} %llu\n",
				    op_names[i], bounds[b],
				    (unsigned long long)n);
		}
		put(o,
		    "patfs_fuse_request_duration_seconds_bucket{op=\"%s\","
		    "le=\"+Inf\"} %llu\n",
		    op_names[i], (unsigned long long)n);
		put(o,
		    "patfs_fuse_request_duration_seconds_sum{op=\"%s\"} %.9f\n",
		    op_names[i], (double)atomic_load(&h->nanos) / 1e9);
		put(o,
		    "patfs_fuse_request_duration_seconds_count{op=\"%s\"} "
		    "%llu\n",
		    op_names[i], (unsigned long long)n);
	}
}

static void put_cache(struct out *o, const struct cache *c)
{
	uint64_t inodes, entries;

	cache_counts(c, &inodes, &entries);
	family(o, "patfs_cache_invalidations_total", "counter",
	       "What the daemon took back from the kernel's caches since it "
	       "started: an inode's attributes, contents and listing (inode), "
	       "or a name (entry).");
	put(o, "patfs_cache_invalidations_total{type=\"inode\"} %llu\n",
	    (unsigned long long)inodes);
	put(o, "patfs_cache_invalidations_total{type=\"entry\"} %llu\n",
	    (unsigned long long)entries);
}

static int render(struct pfs *p, struct token_doc *doc)
{
	struct out o = {.doc = doc};

	*doc = (struct token_doc){.mtime = (int64_t)time(NULL)};
	put_tokens(&o, p, doc->mtime);
	family(&o, "patfs_auth_checks_total", "counter",
	       "Tokens checked since the daemon started, by result and the "
	       "auth log's reason.");
	auth_counts(p->auth, put_check, &o);
	put_actions(&o, p);
	put_requests(&o, p->metrics);
	put_cache(&o, p->cache);
	family(&o, "patfs_store_bytes", "gauge",
	       "The store's size: SQLite's database and write-ahead log on "
	       "disk, or PostgreSQL's database.");
	put(&o, "patfs_store_bytes %lld\n", (long long)store_bytes(p->st));
	family(&o, "patfs_notice_last_run_timestamp_seconds", "gauge",
	       "When the last daily run of expiry notices ended (0: none since "
	       "the daemon started).");
	put(&o, "patfs_notice_last_run_timestamp_seconds %lld\n",
	    (long long)notify_last_run(p->notify));
	family(&o, "patfs_start_time_seconds", "gauge",
	       "When the daemon started.");
	put(&o, "patfs_start_time_seconds %lld\n", (long long)p->started);
	if (o.err) {
		free(doc->text);
		doc->text = NULL;
	}
	return o.err;
}

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

int metrics_render(struct pfs *p, struct token_doc *doc)
{
	struct metrics *m = p->metrics;
	struct token_doc fresh;
	int r = 0;

	pthread_mutex_lock(&m->lock);
	if (!m->text || since(&m->at) >= 1.0) {
		r = render(p, &fresh);
		if (!r) {
			free(m->text);
			m->text = fresh.text;
			m->len = fresh.len;
			clock_gettime(CLOCK_MONOTONIC, &m->at);
		}
	}
	if (!r) {
		*doc = (struct token_doc){.text = malloc(m->len + 1),
					  .len = m->len,
					  .cap = m->len + 1,
					  .mtime = (int64_t)time(NULL)};
		if (doc->text)
			memcpy(doc->text, m->text, m->len + 1);
		else
			r = -ENOMEM;
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* The textfile ----------------------------------------------------------- */

/* Writes the text into PATH.tmp, then renames it over PATH: readers see
 * the old file or the new one, whole. 0 or -errno. */
static int write_textfile(struct pfs *p)
{
	const char *path = p->cfg->metrics_textfile;
	char tmp[4096];
	struct token_doc doc;
	size_t done = 0;
	ssize_t n;
	int fd, r = metrics_render(p, &doc);

	if (r)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	/* the configured mode, whatever the umask: metrics is admins' */
	if (fd >= 0 && fchmod(fd, (mode_t)p->cfg->metrics_mode) < 0) {
		r = -errno;
		close(fd);
		unlink(tmp);
		free(doc.text);
		return r;
	}
	if (fd < 0) {
		free(doc.text);
		return -errno;
	}
	while (done < doc.len &&
	       (n = write(fd, doc.text + done, doc.len - done)) > 0)
		done += (size_t)n;
	r = done == doc.len ? 0 : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	free(doc.text);
	return r;
}

static void *textfile_run(void *arg)
{
	struct pfs *p = arg;
	struct metrics *m = p->metrics;
	struct timespec until;
	int r, last = 0;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		pthread_mutex_unlock(&m->lock);
		r = write_textfile(p);
		if (r && r != last) /* once per kind of failure */
			fuse_log(FUSE_LOG_ERR,
				 "patfs: error: writing the metrics textfile "
				 "%s: %s\n",
				 p->cfg->metrics_textfile, strerror(-r));
		last = r;
		pthread_mutex_lock(&m->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += p->cfg->metrics_interval_s;
		while (!m->stop && pthread_cond_timedwait(&m->wake, &m->lock,
							  &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&m->lock);
	store_release_thread(p->st);
	return NULL;
}

int metrics_start(struct pfs *p)
{
	struct metrics *m = p->metrics;
	int r;

	if (!p->cfg->metrics_textfile)
		return 0;
	r = pthread_create(&m->thread, NULL, textfile_run, p);
	if (r)
		return -r;
	m->running = true;
	return 0;
}

void metrics_stop(struct pfs *p)
{
	struct metrics *m = p->metrics;

	if (!m || !m->running)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	m->running = false;
}
