/* tool.c - the commands that run without a mount (tool.h). */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "patfs/cfg.h"
#include "patfs/store.h"
#include "tool.h"

/* Progress on standard error when it is a terminal: what is done, of how
 * much, and how fast, on one line that is written over. */
struct progress {
	const char *what;
	struct timespec t0;
	int shown;
};

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void show_bytes(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *pr = ctx;
	double s = since(&pr->t0);

	if (!isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\r%s: %.1f of %.1f MB, %.1f MB/s ", pr->what,
		(double)done / 1e6, (double)(total > done ? total : done) / 1e6,
		s > 0 ? (double)done / 1e6 / s : 0.0);
	pr->shown = 1;
}

static void progress_end(struct progress *pr)
{
	if (pr->shown)
		fputc('\n', stderr);
}

int tool_backup(const char *config, const char *file)
{
	struct progress pr = {.what = "backup"};
	struct store *st = NULL;
	struct cfg cfg;
	char err[1024];
	int r;

	r = cfg_load(&cfg, config, err, sizeof(err));
	if (r) {
		fprintf(stderr, "patfs: error: %s\n", err);
		return 1;
	}
	if (access(cfg.store_path, F_OK) != 0) {
		fprintf(stderr, "patfs: error: no store at %s\n",
			cfg.store_path);
		cfg_free(&cfg);
		return 1;
	}
	r = store_open(&st, &cfg, err, sizeof(err));
	if (!r) {
		clock_gettime(CLOCK_MONOTONIC, &pr.t0);
		r = store_backup(st, file, show_bytes, &pr, err, sizeof(err));
		progress_end(&pr);
	}
	if (r)
		fprintf(stderr, "patfs: error: %s\n", err);
	else
		fprintf(stderr,
			"patfs: the store %s is copied into %s; keep the "
			"pepper %s apart from it\n",
			cfg.store_path, file, cfg.pepper_file);
	store_close(st);
	cfg_free(&cfg);
	return r ? 1 : 0;
}
