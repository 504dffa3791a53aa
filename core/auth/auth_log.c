/* auth_log.c - the auth log: one JSON line per refused check, appended in
 * one write(2), under a size cap with rotation, so that a flood of failures
 * cannot fill the disk the store lives on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authInt.h"
#include "patfs/cfg.h"
#include "patfs/pfs.h"

/* Opens path for appending, created 0600, checked as the config, pepper
 * and store are (cfg_check_fd). The fd, or -errno with the reason in err. */
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

int auth_log_open(struct auth_log *l, const struct cfg *cfg, char *err,
		  size_t errlen)
{
	l->cfg = cfg;
	l->failing = false;
	l->fd = open_log(cfg->auth_log, err, errlen);
	if (l->fd < 0)
		return l->fd;
	pthread_mutex_init(&l->lock, NULL);
	return 0;
}

void auth_log_close(struct auth_log *l)
{
	close(l->fd);
	pthread_mutex_destroy(&l->lock);
}

/* Shifts FILE.i to FILE.i+1 and FILE to FILE.1. 0 or -errno. */
static int shift(const char *path, int keep)
{
	char from[4096], to[4096];

	for (int i = keep - 1; i >= 1; i--) {
		snprintf(from, sizeof(from), "%s.%d", path, i);
		snprintf(to, sizeof(to), "%s.%d", path, i + 1);
		if (rename(from, to) < 0 && errno != ENOENT)
			return -errno;
	}
	snprintf(to, sizeof(to), "%s.1", path);
	return rename(path, to) < 0 ? -errno : 0;
}

/* Makes room for n more bytes: reopens a file rotated under us, rotates
 * one grown past the cap. Under l->lock. 0 or -errno (the reason in err). */
static int make_room(struct auth_log *l, size_t n, char *err, size_t errlen)
{
	const char *path = l->cfg->auth_log;
	struct stat open_st, path_st;
	int fd, r = 0;

	if (fstat(l->fd, &open_st) < 0)
		return -errno;
	if (stat(path, &path_st) < 0 || path_st.st_ino != open_st.st_ino ||
	    path_st.st_dev != open_st.st_dev)
		r = 1; /* another process rotated it (or it was removed) */
	else if (open_st.st_size + (off_t)n <= l->cfg->log_max_bytes ||
		 open_st.st_size == 0)
		return 0;
	else if (l->cfg->log_keep == 0)
		return ftruncate(l->fd, 0) < 0 ? -errno : 0;
	else
		r = shift(path, l->cfg->log_keep);
	if (r < 0) {
		snprintf(err, errlen, "rotating the auth log %s: %s", path,
			 strerror(-r));
		return r;
	}
	fd = open_log(path, err, errlen);
	if (fd < 0)
		return fd;
	close(l->fd);
	l->fd = fd;
	return 0;
}

void auth_log_write(struct auth_log *l, const char *line, size_t n)
{
	char err[1024] = "";
	ssize_t w;
	int r;

	pthread_mutex_lock(&l->lock);
	r = make_room(l, n, err, sizeof(err));
	if (!r && (w = write(l->fd, line, n)) != (ssize_t)n) {
		r = w < 0 ? -errno : -ENOSPC; /* short: the disk is full */
		snprintf(err, sizeof(err), "writing the auth log %s: %s",
			 l->cfg->auth_log, strerror(-r));
	}
	if (r && !l->failing)
		pfs_log(PFS_LOG_ERR, "%s (reported once until it recovers)",
			err);
	else if (!r && l->failing)
		pfs_log(PFS_LOG_WARNING, "the auth log %s is written again",
			l->cfg->auth_log);
	l->failing = r != 0;
	pthread_mutex_unlock(&l->lock);
}
