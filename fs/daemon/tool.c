/* tool.c - the commands that run without a mount (tool.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "patfs/cfg.h"
#include "patfs/gitlab.h"
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

static void show_count(void *ctx, int64_t done, int64_t total)
{
	struct progress *pr = ctx;
	double s = since(&pr->t0);

	if (!isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\r%s: %lld of %lld tokens, %.0f/s ", pr->what,
		(long long)done, (long long)total,
		s > 0 ? (double)done / s : 0.0);
	pr->shown = 1;
}

/* The whole of file into *text (malloc'd): its length, or -errno. An
 * inventory larger than this is refused. */
#define INVENTORY_MAX ((size_t)1 << 30)
static ssize_t slurp(const char *file, char **text)
{
	FILE *f = fopen(file, "re");
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap), *p;
	size_t n;

	if (!f || !buf) {
		int e = f ? ENOMEM : errno;
		if (f)
			fclose(f);
		free(buf);
		return -e;
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			if (cap >= INVENTORY_MAX) {
				fclose(f);
				free(buf);
				return -EFBIG;
			}
			p = realloc(buf, cap * 2);
			if (!p) {
				fclose(f);
				free(buf);
				return -ENOMEM;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return -EIO;
	}
	fclose(f);
	*text = buf;
	return (ssize_t)len;
}

int tool_import(const char *config, const char *file)
{
	struct pfs_actor me = {.uid = getuid(),
			       .gid = getgid(),
			       .pid = getpid(),
			       .comm = "patfs-import"};
	struct progress pr = {.what = "import"};
	struct gitlab_counts n;
	struct store *st = NULL;
	struct cfg cfg;
	char err[1024], *text = NULL;
	ssize_t len;
	int r;

	me.admin = me.uid == 0;
	if (!me.admin) { /* before the store's files say less */
		fprintf(stderr, "patfs: error: --import-gitlab is for root "
				"(an import changes the whole store)\n");
		return 1;
	}
	len = slurp(file, &text);
	if (len < 0) {
		fprintf(stderr, "patfs: error: %s: %s\n", file,
			strerror((int)-len));
		return 1;
	}
	r = cfg_load(&cfg, config, err, sizeof(err));
	if (!r)
		r = store_open(&st, &cfg, err, sizeof(err));
	if (!r) {
		clock_gettime(CLOCK_MONOTONIC, &pr.t0);
		r = gitlab_import(st, &me, text, (size_t)len, &n, show_count,
				  &pr, err, sizeof(err));
		progress_end(&pr);
	}
	if (r)
		fprintf(stderr, "patfs: error: %s: %s\n", file, err);
	else
		fprintf(stderr,
			"patfs: imported %s: %lld %s added, %lld updated, "
			"%lld unchanged; %lld %s, %lld %s, %lld %s created\n",
			file, (long long)n.added,
			n.added == 1 ? "token" : "tokens", (long long)n.updated,
			(long long)n.unchanged, (long long)n.users,
			n.users == 1 ? "user" : "users", (long long)n.projects,
			n.projects == 1 ? "project" : "projects",
			(long long)n.groups,
			n.groups == 1 ? "group" : "groups");
	free(text);
	store_close(st);
	cfg_free(&cfg);
	return r ? 1 : 0;
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
	if (cfg.store_backend == CFG_STORE_SQLITE &&
	    access(cfg.store_path, F_OK) != 0) {
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
