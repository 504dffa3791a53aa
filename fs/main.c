/* main.c - patfs [options] MOUNTPOINT: options, start-up, the session. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/cache.h"
#include "daemon/daemon.h"
#include "daemon/held.h"
#include "daemon/inventory.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/pages.h"
#include "daemon/scratch.h"
#include "daemon/tool.h"
#include "daemon/why.h"
#include "nodes/node.h"
#include "patfs/auth.h"
#include "patfs/cfg.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "transport/ops.h"
#include "transport/uring.h"

/* Documents whose pages the daemon keeps track of (pages.h): a user's
 * tokens.json each; beyond, the unread ones are read anew on next open. */
#define PAGES_MAX (1u << 18)

/* The options of patfs itself; the rest are libfuse's. */
struct options {
	char *config;	      /* -o config=FILE, -c FILE */
	int debug_statements; /* -o debug_statements */
	int log_refusals;     /* -o log_refusals (and -d) */
	int init;	      /* --init, -o init: a new store beside a pepper */
	char *backup;	      /* --backup FILE: copy the store, mount nothing */
	char *import;	      /* --import-gitlab FILE: import, mount nothing */
	const char *positional[3]; /* [SOURCE] MOUNTPOINT, in argv */
	int npositional;
};

static const struct fuse_opt option_spec[] = {
    {"config=%s", offsetof(struct options, config), 0},
    {"-c %s", offsetof(struct options, config), 0},
    {"debug_statements", offsetof(struct options, debug_statements), 1},
    {"log_refusals", offsetof(struct options, log_refusals), 1},
    {"--init", offsetof(struct options, init), 1},
    {"init", offsetof(struct options, init), 1},
    {"--backup %s", offsetof(struct options, backup), 0},
    {"--backup=%s", offsetof(struct options, backup), 0},
    {"--import-gitlab %s", offsetof(struct options, import), 0},
    {"--import-gitlab=%s", offsetof(struct options, import), 0},
    FUSE_OPT_END,
};

static void usage(const char *prog)
{
	printf("usage: %s [options] MOUNTPOINT\n"
	       "       %s [-c FILE] --backup FILE\n"
	       "       %s [-c FILE] --import-gitlab FILE\n\n"
	       "patfs options:\n"
	       "    -o config=FILE         configuration (default: the "
	       "embedded defaults)\n"
	       "    -c FILE                same as -o config=FILE\n"
	       "    -o debug_statements    log the SQL statements of each "
	       "request\n"
	       "    -o log_refusals        log each refusal with its reason "
	       "(as -d does)\n"
	       "    --init, -o init        create a new, empty store even "
	       "though a pepper exists\n"
	       "    --backup FILE          copy the store into the new FILE, "
	       "consistent,\n"
	       "                           while it is mounted; mount "
	       "nothing\n"
	       "    --import-gitlab FILE   add the tokens of a GitLab "
	       "inventory (JSON),\n"
	       "                           to audit them; mount nothing\n\n",
	       prog, prog, prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/* Where messages go: stderr until patfs is daemonized, then syslog
 * (LOG_DAEMON, ident patfs). */
static bool to_syslog;

static void log_message(enum fuse_log_level level, const char *fmt, va_list ap)
{
	if (to_syslog)
		vsyslog((int)level, fmt, ap); /* fuse_log levels are syslog's */
	else
		vfprintf(stderr, fmt, ap);
}

/* What core reports, to the same place. */
static void core_message(enum pfs_log_level level, const char *msg)
{
	fuse_log((enum fuse_log_level)level, "patfs: %s%s\n",
		 level <= PFS_LOG_ERR	    ? "error: "
		 : level <= PFS_LOG_WARNING ? "warning: "
					    : "",
		 msg);
}

/* No core dumps: a secret held in memory must not end up on disk. */
static void no_core_dumps(void)
{
	struct rlimit rl = {0, 0};

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* Descriptors patfs needs whatever its threads: the device, the lock, the
 * auth log, the cache thread's connection, libc, and room for a few
 * passing ones (a rotated log reopened, /proc, the control filesystem). */
#define FDS_BASE 24

/* Descriptors the /dev/fuse workers opts allow may hold: each an SQLite
 * connection (the store, its log and shared memory) and a cloned
 * /dev/fuse. */
static int worker_fds(const struct fuse_cmdline_opts *opts)
{
	return 4 * (opts->singlethread ? 1 : (int)opts->max_threads);
}

/* Raises the soft limit on open files to the hard one; refuses (with one
 * line) a limit too low for what opts ask: FDS_BASE and the workers'. The
 * io_uring threads take what is left beyond that, if enough (uring_start).
 * 0 or 1. */
static int check_fd_limit(const struct fuse_cmdline_opts *opts)
{
	struct rlimit rl;
	rlim_t threads = opts->singlethread ? 1 : opts->max_threads;
	rlim_t need = FDS_BASE + (rlim_t)worker_fds(opts);

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur >= need)
		return 0;
	fuse_log(FUSE_LOG_ERR,
		 "patfs: error: the open file limit (%llu, ulimit -n) is too "
		 "low for %llu threads: it needs at least %llu (raise it, or "
		 "lower -o max_threads)\n",
		 (unsigned long long)rl.rlim_cur, (unsigned long long)threads,
		 (unsigned long long)need);
	return 1;
}

/* Runs the session loop on se as opts say: 0 when it ended cleanly (the
 * mount gone, or SIGTERM, SIGINT or SIGHUP asked it to stop). */
static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *opts)
{
	struct fuse_loop_config *loop;
	int r;

	if (opts->singlethread) {
		r = fuse_session_loop(se);
		return r > 0 ? 0 : r;
	}
	loop = fuse_loop_cfg_create();
	if (!loop)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(loop, (unsigned)opts->clone_fd);
	fuse_loop_cfg_set_max_threads(loop, opts->max_threads);
	if (opts->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(loop, opts->max_idle_threads);
	r = fuse_session_loop_mt(se, loop);
	fuse_loop_cfg_destroy(loop);
	return r > 0 ? 0
		     : r; /* a signal's number: asked to stop, a clean end */
}

/* Opens the store and the checker, and revokes what the last run lost.
 * 0, or -errno (logged). */
static int open_store(struct pfs *p, struct cfg *cfg, const struct options *o)
{
	struct pfs_actor self = {.uid = 0, .admin = true, .comm = "patfs"};
	char err[1024];
	int lost, r;

	r = cfg_load(cfg, o->config, err, sizeof(err));
	cfg->store_init = o->init;
	if (!r)
		r = store_lock(cfg, &p->lock_fd, err, sizeof(err));
	if (!r)
		r = store_open(&p->st, cfg, err, sizeof(err));
	if (!r)
		r = auth_open(&p->auth, p->st, err, sizeof(err));
	if (r) {
		fuse_log(FUSE_LOG_ERR, "patfs: error: %s\n", err);
		return r;
	}
	p->cfg = cfg;
	self.pid = (int32_t)getpid();
	r = token_revoke_lost(p->st, &self, &lost);
	if (r)
		fuse_log(FUSE_LOG_ERR,
			 "patfs: error: revoking tokens whose secret was "
			 "lost: %s\n",
			 strerror(-r));
	else if (lost)
		fuse_log(FUSE_LOG_NOTICE,
			 "patfs: revoked %d token(s) whose secret was never "
			 "taken (audit reason secret_lost)\n",
			 lost);
	if (!r) {
		r = metrics_new(p);
		if (r)
			fuse_log(FUSE_LOG_ERR,
				 "patfs: error: starting the metrics: %s\n",
				 strerror(-r));
	}
	store_release_thread(p->st); /* no SQLite connection across fork */
	return r;
}

/* Tells systemd (a Type=notify service) of state, when it listens: the
 * datagram socket $NOTIFY_SOCKET, abstract when it starts with @. */
static void tell_systemd(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(
		fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		fuse_log(FUSE_LOG_WARNING,
			 "patfs: warning: telling systemd %s: %s\n", state,
			 strerror(errno));
	close(fd);
}

/* Mounts se on opts->mountpoint, daemonizes unless told not to, and serves
 * until unmounted: 0, or 1 (logged). */
/* Stops what start_threads started, the last first. */
static void stop_threads(struct pfs *p)
{
	metrics_stop(p);
	auth_on_new_source(p->auth, NULL, NULL);
	notify_stop(p->notify);
	cache_stop(p->cache);
}

/* Starts the daemon's threads (after fork: threads do not survive it):
 * the cache's, the notices' (which hear of new sources when there is a
 * command), the metrics'. 0, or 1 with the reason logged and none left. */
static int start_threads(struct fuse_session *se, struct pfs *p)
{
	const char *what = "the cache thread";
	int r = cache_start(&p->cache, se, p->st, p->pages, node_stale);

	if (!r && p->cfg->notify_enabled) {
		what = "the notice thread";
		r = notify_start(&p->notify, p->st);
	}
	if (!r && p->notify && p->cfg->notify_command)
		auth_on_new_source(p->auth, notify_new_source, p->notify);
	if (!r) {
		what = "the metrics thread";
		r = metrics_start(p);
	}
	if (!r)
		return 0;
	fuse_log(FUSE_LOG_ERR, "patfs: error: starting %s: %s\n", what,
		 strerror(-r));
	stop_threads(p); /* each stop takes what never started */
	return 1;
}

static int run(struct fuse_session *se, struct pfs *p,
	       const struct fuse_cmdline_opts *opts)
{
	int r, ret = 1;

	if (fuse_set_signal_handlers(se) != 0)
		return 1;
	if (fuse_session_mount(se, opts->mountpoint) != 0)
		goto remove_handlers;
	if (fuse_daemonize(opts->foreground) != 0)
		goto unmount;
	if (!opts->foreground) {
		openlog("patfs", LOG_PID, LOG_DAEMON);
		to_syslog = true;
		store_lock_note_pid(p->lock_fd); /* the daemon's pid now */
	}
	if (start_threads(se, p))
		goto unmount;
	r = uring_start(se, opts->mountpoint, worker_fds(opts) + 8);
	if (r) {
		fuse_log(FUSE_LOG_ERR, "patfs: error: starting io_uring: %s\n",
			 strerror(-r));
	} else {
		tell_systemd("READY=1");
		ret = serve(se, opts) != 0 || uring_ended();
		tell_systemd("STOPPING=1");
	}
	stop_threads(p);
unmount:
	fuse_session_unmount(se);
	uring_stop(); /* after unmount: the kernel ends every ring entry */
remove_handlers:
	fuse_remove_signal_handlers(se);
	return ret;
}

/* True (and says so) when path is a FUSE mount whose daemon is gone, as a
 * kill -9 leaves it: mounting on it would stack a new mount on the dead one. */
static bool dead_mount(const char *path)
{
	struct statvfs sv;

	/* statfs always reaches the daemon; a stat may be answered from the
	 * kernel's cache */
	if (statvfs(path, &sv) == 0 ||
	    (errno != ENOTCONN && errno != ECONNABORTED && errno != ECANCELED))
		return false; /* the last two: a dead mount that served io_uring
			       */
	fuse_log(FUSE_LOG_ERR,
		 "patfs: error: %s is a FUSE mount whose daemon is gone; "
		 "unmount it first: fusermount3 -u %s\n",
		 path, path);
	return true;
}

/* mountinfo's escapes (\040 for a space, ...) undone in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* True (and says so) when path is a live patfs mount: a second patfs on it
 * would hide the first one's store until unmounted. */
static bool live_mount(const char *path)
{
	char real[PATH_MAX], line[8192], mnt[4096], type[64], source[256];
	bool found = false;
	FILE *f;

	if (!realpath(path, real))
		return false;
	f = fopen("/proc/self/mountinfo", "re");
	while (f && !found && fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(dash + 3, "%63s %255s", type, source) != 2)
			continue;
		unescape(mnt);
		found = !strcmp(mnt, real) && !strcmp(type, "fuse.patfs");
	}
	if (f)
		fclose(f);
	if (found)
		fuse_log(FUSE_LOG_ERR,
			 "patfs: error: %s is served by a live patfs already "
			 "(mount source %s, in /proc/self/mountinfo); a second "
			 "one would hide its store. Unmount it first: "
			 "fusermount3 -u %s\n",
			 real, source, path);
	return found;
}

/* fuse_opt_parse's hook: holds back the words that are no options (the
 * mount point, and the source before it when mount(8) runs patfs). */
static int keep_positional(void *data, const char *arg, int key,
			   struct fuse_args *outargs)
{
	struct options *o = data;

	(void)outargs;
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (o->npositional < 3)
		o->positional[o->npositional] = arg;
	o->npositional++;
	return 0;
}

/* Parses argv into o and opts: 0 to go on, or the exit status (after
 * --help, --version, or a bad command line). */
static int parse_args(struct fuse_args *args, struct options *o,
		      struct fuse_cmdline_opts *opts)
{
	if (fuse_opt_parse(args, o, option_spec, keep_positional) != 0)
		return 2;
	if (o->npositional > 2) {
		fprintf(stderr, "patfs: too many arguments: %s\n",
			o->positional[2]);
		return 2;
	}
	/* mount(8) of fstab's fuse.patfs runs "patfs SOURCE MOUNTPOINT -o
	 * ..." (mount.fuse3): the source names nothing */
	if (o->npositional &&
	    fuse_opt_add_arg(args, o->positional[o->npositional - 1]) != 0)
		return 2;
	if (fuse_parse_cmdline(args, opts) != 0)
		return 2;
	if (opts->show_help) {
		usage(args->argv[0]);
		return -1;
	}
	if (opts->show_version) {
		printf("patfs %s, FUSE library %s\n", PATFS_VERSION,
		       fuse_pkgversion());
		return -1;
	}
	if ((o->backup || o->import) && opts->mountpoint) {
		fprintf(stderr,
			"patfs: %s mounts nothing: no mount point "
			"with it\n",
			o->backup ? "--backup" : "--import-gitlab");
		return 2;
	}
	if (o->backup && o->import) {
		fprintf(stderr, "patfs: --backup or --import-gitlab, one at a "
				"time\n");
		return 2;
	}
	if (o->backup || o->import)
		return 0;
	if (!opts->mountpoint) {
		fprintf(stderr, "usage: patfs [options] MOUNTPOINT "
				"(patfs --help for more)\n");
		return 2;
	}
	return dead_mount(opts->mountpoint) || live_mount(opts->mountpoint) ? 1
									    : 0;
}

/* The daemon's tables in memory (pages, held snapshots, refusals, temp
 * files): 0, or 1 (said) when out of memory. */
static int make_tables(struct pfs *p, const struct cfg *cfg)
{
	p->pages = pages_new(PAGES_MAX);
	p->snapshots = held_new(cfg);
	p->why = why_new();
	p->scratch = scratch_new();
	p->inventory = inventory_new(p->st);
	if (p->pages && p->snapshots && p->why && p->scratch && p->inventory)
		return 0;
	fuse_log(FUSE_LOG_ERR, "patfs: error: out of memory\n");
	return 1;
}

static void free_tables(struct pfs *p)
{
	pages_free(p->pages);
	held_free(p->snapshots);
	why_free(p->why);
	scratch_free(p->scratch);
	inventory_free(p->inventory);
}

/* Opens the store of o's configuration and serves the mount opts says
 * until it is unmounted or told to stop: the daemon's exit status. */
static int daemon_main(struct fuse_args *args, struct options *o,
		       struct fuse_cmdline_opts *opts)
{
	struct fuse_session *se;
	struct pfs p = {0};
	struct cfg cfg = {0};
	int ret = 1;

	if (check_fd_limit(opts))
		return 1;
	no_core_dumps();
	/* a fixed threshold: documents' snapshots (larger) are mapped and
	 * unmapped, so their memory returns to the system as their files
	 * close; glibc's moving threshold would keep them in the heap */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	if (sodium_init() < 0) {
		fuse_log(FUSE_LOG_ERR, "patfs: error: libsodium failed\n");
		return 1;
	}
	pthread_mutex_init(&p.lock, NULL);
	p.lock_fd = -1;
	p.started = time(NULL);
	p.log_statements = o->debug_statements;
	p.log_refusals = opts->debug || o->log_refusals;
	if (open_store(&p, &cfg, o) || make_tables(&p, &cfg))
		goto close_store;
	fuse_opt_add_arg(args, "-ofsname=patfs,subtype=patfs,"
			       "default_permissions");
	if (geteuid() == 0)
		fuse_opt_add_arg(args, "-oallow_other");
	se = fuse_session_new(args, &ops_table, sizeof(ops_table), &p);
	if (se) {
		ret = run(se, &p, opts);
		fuse_session_destroy(se);
	}
close_store:
	auth_close(p.auth);
	store_close(p.st);
	if (p.lock_fd >= 0)
		close(p.lock_fd);
	cfg_free(&cfg);
	free_tables(&p);
	metrics_free(&p);
	pthread_mutex_destroy(&p.lock);
	return ret;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = {0};
	struct options o = {0};
	int ret;

	fuse_set_log_func(log_message);
	pfs_set_log(core_message);
	ret = parse_args(&args, &o, &opts);
	if (ret)
		ret = ret < 0 ? 0 : ret;
	else if (o.backup || o.import)
		ret = sodium_init() < 0 ? 1
		      : o.backup	? tool_backup(o.config, o.backup)
					: tool_import(o.config, o.import);
	else
		ret = daemon_main(&args, &o, &opts);
	free(opts.mountpoint);
	free(o.config);
	free(o.backup);
	free(o.import);
	fuse_opt_free_args(&args);
	return ret;
}
