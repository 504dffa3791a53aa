/* notify.c - the thread that sends expiry notices. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FUSE_USE_VERSION 314
#include <fuse_log.h>

#include "notify.h"
#include "patfs/cfg.h"
#include "patfs/notice.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/store.h"
#include "patfs/user.h"

#define BATCH  256 /* notices taken from the store at once */
#define EVENTS 16  /* new sources waiting for the command (more: dropped) */

/* A token's first check from a source (auth.h's auth_on_new_source). */
struct source_event {
	struct token_info t;
	char source[TOKEN_SOURCE_MAX + 1];
};

struct notify {
	struct store *st;
	const struct cfg *cfg;
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool pidns;	  /* commands run in a PID namespace of their own */
	int64_t last_day; /* the day of the last run */
	int64_t last_run; /* when the last run ended, or 0 */
	struct notice batch[BATCH];
	int n;
	struct source_event events[EVENTS]; /* under lock */
	struct source_event sending;	    /* the thread's own */
	int nevents;
	uint64_t events_dropped;
};

static int collect(void *ctx, const struct notice *n)
{
	struct notify *nf = ctx;

	nf->batch[nf->n++] = *n;
	return nf->n == BATCH;
}

/* The environment of the command for notice n, or for token t's new
 * source (n NULL), in env (strings in buf). */
static void environment(const struct notice *n, const struct token_info *t,
			const char *source, char *buf, size_t size, char **env,
			int max)
{
	char path[PFS_NAME_MAX + 64], day[11];
	size_t w = 0;
	int k = 0;

	token_path(t, path, sizeof(path));
	policy_format_date(t->expires_day, day);
#define ENV(...)                                                               \
	do {                                                                   \
		int len = snprintf(buf + w, size - w, __VA_ARGS__);            \
		if (len < 0 || (size_t)len >= size - w || k + 1 >= max)        \
			break;                                                 \
		env[k++] = buf + w;                                            \
		w += (size_t)len + 1;                                          \
	} while (0)
	ENV("PATH=/usr/local/bin:/usr/bin:/bin");
	if (n) {
		ENV("PATFS_EVENT=%s", n->expired ? "expired" : "expiring");
		ENV("PATFS_DAYS_LEFT=%" PRId64,
		    n->days_left > 0 ? n->days_left : 0);
		ENV("PATFS_THRESHOLD=%d", n->threshold);
	} else {
		ENV("PATFS_EVENT=new_source");
		ENV("PATFS_SOURCE=%s", source);
	}
	ENV("PATFS_TOKEN_ID=%" PRId64, t->id);
	ENV("PATFS_TOKEN_PATH=%s", path);
	ENV("PATFS_TOKEN_NAME=%s", t->name);
	ENV("PATFS_OWNER=%s", t->user_name);
	ENV("PATFS_OWNER_KIND=%s", policy_user_kind_names[t->user_kind]);
	ENV("PATFS_EXPIRES_AT=%s", t->expires_day >= 0 ? day : "");
	if (t->resource_id)
		ENV("PATFS_%s=%s",
		    t->resource_kind == RESOURCE_GROUP ? "GROUP" : "PROJECT",
		    t->resource_name);
#undef ENV
	env[k] = NULL;
}

/* In the first process of a new PID and mount namespace: a /proc of its
 * own, so that the command's $$ and /proc agree. 0 or -1. */
static int own_proc(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	return mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     NULL);
}

/* The command, in the child: only async-signal-safe calls until exec (the
 * daemon has threads). orphan_dies: its parent's death kills it too. */
static void exec_command(const struct cfg *cfg, char **env, bool orphan_dies)
{
	if (orphan_dies && own_proc())
		_exit(126);
	if (geteuid() == 0 && (setgroups(0, NULL) || setgid(cfg->notify_gid) ||
			       setuid(cfg->notify_uid)))
		_exit(126);
	/* after setuid, which clears it (the parent is outside the command's
	 * namespace: getppid says 0 either way) */
	if (orphan_dies && prctl(PR_SET_PDEATHSIG, SIGKILL))
		_exit(126);
	if (chdir("/"))
		_exit(126);
	execle("/bin/sh", "sh", "-c", cfg->notify_command, (char *)NULL, env);
	_exit(127);
}

/* Gives the child /dev/null as its standard streams and closes every other
 * descriptor of the daemon's, however high the limit let them go (all are
 * close-on-exec too, but the child that waits never execs). */
static void clean_descriptors(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	if (close_range(3, ~0U, 0) < 0)
		for (int i = 3; i < 65536; i++)
			close(i);
}

/* Starts the command in a process group of its own and, where the daemon
 * may (pidns), as the first process of a PID namespace of its own: when
 * it ends or is killed, the kernel kills every process it left behind,
 * setsid or not. The child (of the group and the daemon's namespace) waits
 * for it and exits with its status. The child's pid, or -errno. */
static pid_t spawn(const struct cfg *cfg, char **env, bool pidns)
{
	pid_t pid = fork(), cmd;
	int status;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		return pid;
	setsid();
	clean_descriptors();
	if (!pidns || unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
		exec_command(cfg, env, false);
	cmd = fork(); /* the namespace's first process */
	if (cmd == 0)
		exec_command(cfg, env, true);
	if (cmd < 0 || waitpid(cmd, &status, 0) < 0)
		_exit(126);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}

/* True when this daemon may give a command a PID namespace of its own (and
 * a /proc to match). */
static bool pidns_allowed(void)
{
	int status;
	pid_t pid = fork(), first;

	if (pid == 0) {
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
			_exit(1);
		first = fork();
		if (first == 0)
			_exit(own_proc() ? 1 : 0);
		_exit(first > 0 && waitpid(first, &status, 0) == first &&
			      WIFEXITED(status)
			  ? WEXITSTATUS(status)
			  : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool stopping(struct notify *nf)
{
	bool stop;

	pthread_mutex_lock(&nf->lock);
	stop = nf->stop;
	pthread_mutex_unlock(&nf->lock);
	return stop;
}

/* Runs the command for n (or, n NULL, for t's new source): 0 when it
 * exited 0 within the timeout; -ETIMEDOUT, -ECANCELED (the daemon stops:
 * killed at once) or -ECHILD. */
static int run_command(struct notify *nf, const struct notice *n,
		       const struct token_info *t, const char *source)
{
	const struct cfg *cfg = nf->cfg;
	char buf[4096], *env[16];
	int status, waited = 0, r = 0;
	pid_t pid;

	environment(n, n ? &n->t : t, source, buf, sizeof(buf), env, 16);
	pid = spawn(cfg, env, nf->pidns);
	if (pid < 0)
		return pid;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (waited >= cfg->notify_timeout_s * 20)
			r = -ETIMEDOUT;
		else if (stopping(nf))
			r = -ECANCELED;
		if (r) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return r;
		}
		usleep(50000);
		waited++;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

/* The owners whose notices failed in this run, and how often: a table
 * with open addressing, by user id (0: a free slot). */
#define OWNERS 4096

struct failures {
	int64_t user[OWNERS];
	int count[OWNERS];
};

/* The failure count of user's slot, or NULL when the table is full (then
 * nobody is capped). */
static int *failures_of(struct failures *f, int64_t user)
{
	unsigned i = (unsigned)((uint64_t)user * 0x9E3779B97F4A7C15ull >> 52);

	for (unsigned k = 0; k < OWNERS; k++, i = (i + 1) % OWNERS) {
		if (f->user[i] == user)
			return &f->count[i];
		if (!f->user[i]) {
			f->user[i] = user;
			return &f->count[i];
		}
	}
	return NULL;
}

/* Sends notice n and records it; a failure is counted against its owner
 * and said, and n is tried again at the next run. */
static void send_one(struct notify *nf, struct failures *f,
		     const struct notice *n)
{
	struct pfs_actor self = {.pid = (int32_t)getpid(), .admin = true};
	int *failed = failures_of(f, n->t.user_id);
	int r;

	snprintf(self.comm, sizeof(self.comm), "patfs");
	if (failed && *failed >= NOTICE_OWNER_FAILURES)
		return; /* this owner's wait for the next run */
	r = nf->cfg->notify_command ? run_command(nf, n, NULL, NULL) : 0;
	if (r == -ECANCELED)
		return;
	if (r) {
		if (failed)
			++*failed;
		fuse_log(FUSE_LOG_WARNING,
			 "patfs: the notice command for token %" PRId64
			 " %s; tried again at the next run\n",
			 n->t.id, r == -ETIMEDOUT ? "timed out" : "failed");
		return;
	}
	notice_record(nf->st, &self, n);
}

/* Tries every notice due now, once, in pages of BATCH in expiry order,
 * until the daemon stops. */
static void send_due(struct notify *nf)
{
	struct failures *f = calloc(1, sizeof(*f));
	struct notice last;
	bool more = true;

	if (!f)
		return;
	for (int page = 0; more && !stopping(nf); page++) {
		nf->n = 0;
		if (notice_due(nf->st, time(NULL), page ? &last : NULL, collect,
			       nf))
			break;
		for (int i = 0; i < nf->n && !stopping(nf); i++)
			send_one(nf, f, &nf->batch[i]);
		more = nf->n == BATCH;
		if (nf->n)
			last = nf->batch[nf->n - 1];
	}
	free(f);
}

/* Retention, with the day's notices: the tokens inactive longer than
 * [tokens] retain_inactive_days leave the store. */
static void prune(struct notify *nf)
{
	struct pfs_actor self = {.pid = (int32_t)getpid(), .admin = true};
	int n = 0, r;

	if (nf->cfg->retain_inactive_days <= 0)
		return;
	snprintf(self.comm, sizeof(self.comm), "patfs");
	r = token_prune(nf->st, &self, time(NULL),
			nf->cfg->retain_inactive_days, &n);
	if (r)
		fuse_log(FUSE_LOG_WARNING,
			 "patfs: retention: %d tokens removed, then the store "
			 "failed (%s); the rest at the next run\n",
			 n, strerror(-r));
	else if (n)
		fuse_log(FUSE_LOG_INFO,
			 "patfs: retention: %d tokens inactive for over %d "
			 "days removed\n",
			 n, nf->cfg->retain_inactive_days);
}

/* One run: every notice due now, sent and recorded, by one daemon of the
 * store at a time. False when another daemon leads the run (or the store
 * cannot say which): then it is tried again a minute later, and finds done
 * what the other recorded. */
static bool sweep(struct notify *nf)
{
	int lead = store_lead(nf->st, STORE_LEAD_NOTICES, true);

	if (lead <= 0)
		return false;
	send_due(nf);
	prune(nf);
	store_lead(nf->st, STORE_LEAD_NOTICES, false);
	return true;
}

/* Runs the command for each new source waiting, once (a failure is
 * logged, not tried again). Under nf->lock, which it drops meanwhile. */
static void send_sources(struct notify *nf)
{
	struct source_event *e = &nf->sending;

	while (nf->nevents > 0 && !nf->stop) {
		*e = nf->events[0];
		memmove(nf->events, nf->events + 1,
			(size_t)--nf->nevents * sizeof(nf->events[0]));
		pthread_mutex_unlock(&nf->lock);
		if (run_command(nf, NULL, &e->t, e->source))
			fuse_log(FUSE_LOG_WARNING,
				 "patfs: the command for token %" PRId64
				 "'s new source failed\n",
				 e->t.id);
		pthread_mutex_lock(&nf->lock);
	}
}

void notify_new_source(void *ctx, const struct token_info *t,
		       const char *source)
{
	struct notify *nf = ctx;

	pthread_mutex_lock(&nf->lock);
	if (nf->nevents < EVENTS) {
		nf->events[nf->nevents].t = *t;
		snprintf(nf->events[nf->nevents].source,
			 sizeof(nf->events[0].source), "%s", source);
		nf->nevents++;
		pthread_cond_signal(&nf->cond);
	} else if (nf->events_dropped++ % 1000 == 0) {
		fuse_log(
		    FUSE_LOG_WARNING,
		    "patfs: new sources come faster than the command "
		    "runs: some are not told (the audit trail has them)\n");
	}
	pthread_mutex_unlock(&nf->lock);
}

static void *run(void *arg)
{
	struct notify *nf = arg;
	struct timespec until;

	pthread_mutex_lock(&nf->lock);
	while (!nf->stop) {
		time_t now = time(NULL);

		send_sources(nf);
		now = time(NULL);
		int64_t today = policy_day_of(now);
		time_t at = (time_t)(today * 86400 +
				     (int64_t)nf->cfg->notify_hour * 3600);

		if (now >= at && nf->last_day != today) {
			bool done;

			pthread_mutex_unlock(&nf->lock);
			done = sweep(nf);
			store_release_thread(nf->st);
			pthread_mutex_lock(&nf->lock);
			if (done) {
				nf->last_day = today;
				nf->last_run = (int64_t)time(NULL);
				continue;
			}
			now = time(NULL); /* another leads: a minute on */
		}
		/* a minute at most: the clock may be set meanwhile */
		until = (struct timespec){.tv_sec = now + 60};
		if (now < at && at < until.tv_sec)
			until.tv_sec = at;
		pthread_cond_timedwait(&nf->cond, &nf->lock, &until);
	}
	pthread_mutex_unlock(&nf->lock);
	return NULL;
}

int64_t notify_last_run(struct notify *nf)
{
	int64_t t;

	if (!nf)
		return 0;
	pthread_mutex_lock(&nf->lock);
	t = nf->last_run;
	pthread_mutex_unlock(&nf->lock);
	return t;
}

int notify_start(struct notify **out, struct store *st)
{
	struct notify *nf = calloc(1, sizeof(*nf));
	int r;

	if (!nf)
		return -ENOMEM;
	nf->st = st;
	nf->cfg = store_cfg(st);
	nf->last_day = -1;
	nf->pidns = !nf->cfg->notify_command || pidns_allowed();
	if (!nf->pidns)
		fuse_log(FUSE_LOG_WARNING,
			 "patfs: notices: no PID namespace for the command "
			 "(it needs CAP_SYS_ADMIN): descendants that leave its "
			 "process group outlive it\n");
	pthread_mutex_init(&nf->lock, NULL);
	pthread_cond_init(&nf->cond, NULL);
	r = pthread_create(&nf->tid, NULL, run, nf);
	if (r) {
		free(nf);
		return -r;
	}
	pthread_setname_np(nf->tid, "patfs-notify");
	*out = nf;
	return 0;
}

void notify_stop(struct notify *nf)
{
	if (!nf)
		return;
	pthread_mutex_lock(&nf->lock);
	nf->stop = true;
	pthread_cond_signal(&nf->cond);
	pthread_mutex_unlock(&nf->lock);
	pthread_join(nf->tid, NULL);
	pthread_mutex_destroy(&nf->lock);
	pthread_cond_destroy(&nf->cond);
	free(nf);
}
