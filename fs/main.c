/* main.c - patfs [-f] [-c FILE] [-o FUSE-OPTIONS] MOUNTPOINT */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cache.h"
#include "ops.h"
#include "patfs/auth.h"
#include "patfs/cfg.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "uring.h"

static void usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-c FILE] [-o OPTIONS] MOUNTPOINT\n\n"
	       "    -c FILE      configuration (default: embedded defaults)\n"
	       "    -f           stay in the foreground\n"
	       "    -d           debug: foreground, FUSE requests on stderr\n"
	       "    -o OPTIONS   FUSE mount options\n",
	       prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/* Removes "-c FILE" (or "-cFILE") from argv; returns FILE or NULL, and sets
 * *bad when -c has no argument. */
static const char *take_config(int *argc, char **argv, int *bad)
{
	const char *path = NULL;
	int i = 1, j = 1;

	*bad = 0;
	while (i < *argc) {
		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[j++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "-c")) {
			if (i + 1 >= *argc) {
				*bad = 1;
				return NULL;
			}
			path = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "-c", 2)) {
			path = argv[i] + 2;
			i++;
		} else {
			argv[j++] = argv[i++];
		}
	}
	*argc = j;
	argv[j] = NULL;
	return path;
}

/* No core dumps: a secret held in memory must not end up on disk. */
static void no_core_dumps(void)
{
	struct rlimit rl = {0, 0};

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	struct fuse_cmdline_opts opts = {0};
	struct fuse_loop_config *loop = NULL;
	struct fuse_session *se = NULL;
	struct pfs p = {0};
	struct cfg cfg = {0};
	struct pfs_actor self = {.uid = 0, .admin = true, .comm = "patfs"};
	struct fuse_args args;
	const char *cfg_path;
	char err[1024];
	int bad, lost, r, ret = 1;

	cfg_path = take_config(&argc, argv, &bad);
	if (bad) {
		fprintf(stderr, "patfs: -c needs a FILE\n");
		return 2;
	}
	args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	if (fuse_parse_cmdline(&args, &opts) != 0)
		return 2;
	if (opts.show_help) {
		usage(argv[0]);
		ret = 0;
		goto free_args;
	}
	if (opts.show_version) {
		printf("patfs 0.1.0, FUSE library %s\n", fuse_pkgversion());
		ret = 0;
		goto free_args;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "usage: patfs [-f] [-c FILE] [-o OPTIONS] "
				"MOUNTPOINT (patfs --help for more)\n");
		ret = 2;
		goto free_args;
	}
	no_core_dumps();
	if (sodium_init() < 0) {
		fprintf(stderr, "patfs: error: libsodium failed to start\n");
		goto free_args;
	}
	r = cfg_load(&cfg, cfg_path, err, sizeof(err));
	if (r) {
		fprintf(stderr, "patfs: error: %s\n", err);
		goto free_cfg;
	}
	r = store_open(&p.st, &cfg, err, sizeof(err));
	if (r) {
		fprintf(stderr, "patfs: error: %s\n", err);
		goto free_cfg;
	}
	r = auth_open(&p.auth, p.st, err, sizeof(err));
	if (r) {
		fprintf(stderr, "patfs: error: %s\n", err);
		goto close_store;
	}
	p.cfg = &cfg;
	pthread_mutex_init(&p.lock, NULL);
	p.started = time(NULL);
	self.pid = (int32_t)getpid();
	r = token_revoke_lost(p.st, &self, &lost);
	if (r) {
		fprintf(stderr,
			"patfs: error: revoking tokens whose secret was "
			"lost: %s\n",
			strerror(-r));
		goto close_store;
	}
	if (lost)
		fprintf(stderr,
			"patfs: revoked %d token(s) whose secret was never "
			"taken (audit reason secret_lost)\n",
			lost);
	store_release_thread(p.st); /* no SQLite connection across fork */

	fuse_opt_add_arg(&args, "-ofsname=patfs,subtype=patfs,"
				"default_permissions");
	if (geteuid() == 0)
		fuse_opt_add_arg(&args, "-oallow_other");
	se = fuse_session_new(&args, &ops_table, sizeof(ops_table), &p);
	if (!se)
		goto close_store;
	if (fuse_set_signal_handlers(se) != 0)
		goto destroy_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto remove_handlers;
	if (fuse_daemonize(opts.foreground) != 0)
		goto unmount;
	r = cache_start(&p.cache, se, p.st); /* threads do not survive fork */
	if (r) {
		fprintf(stderr, "patfs: error: starting the cache thread: %s\n",
			strerror(-r));
		goto unmount;
	}
	r = uring_start(se);
	if (r) {
		fprintf(stderr, "patfs: error: starting io_uring: %s\n",
			strerror(-r));
		goto stop_cache;
	}
	if (opts.singlethread) {
		ret = fuse_session_loop(se);
	} else {
		loop = fuse_loop_cfg_create();
		if (!loop)
			goto unmount;
		fuse_loop_cfg_set_clone_fd(loop, (unsigned)opts.clone_fd);
		fuse_loop_cfg_set_max_threads(loop, opts.max_threads);
		if (opts.max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(loop,
						       opts.max_idle_threads);
		ret = fuse_session_loop_mt(se, loop);
		fuse_loop_cfg_destroy(loop);
	}
	ret = ret != 0;
stop_cache:
	cache_stop(p.cache);
unmount:
	fuse_session_unmount(se);
	uring_stop(); /* after unmount: the kernel ends every ring entry */
remove_handlers:
	fuse_remove_signal_handlers(se);
destroy_session:
	fuse_session_destroy(se);
close_store:
	auth_close(p.auth);
	store_close(p.st);
free_cfg:
	cfg_free(&cfg);
free_args:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
