/* store_lock.c - one daemon per SQLite store: a lock file beside the
 * store, held for the daemon's life, naming the pid that holds it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "patfs/cfg.h"
#include "patfs/store.h"

/* Reads the pid a holder wrote into fd: the pid, or 0 when unknown. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int store_lock(const struct cfg *cfg, int *out, char *err, size_t errlen)
{
	char path[4096];
	long pid;
	int fd, r;

	*out = -1;
	if (cfg->store_backend != CFG_STORE_SQLITE)
		return 0;

	if (snprintf(path, sizeof(path), "%s.lock", cfg->store_path) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "store %s: path too long",
			 cfg->store_path);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "lock file %s: %s", path, strerror(-r));
		return r;
	}
	r = cfg_check_fd(fd, path, "lock file", 022, err, errlen);
	if (!r && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		pid = holder_pid(fd);
		if (r == -EBUSY && pid > 0)
			snprintf(
			    err, errlen,
			    "store %s is in use by another patfs (pid %ld, "
			    "lock %s): one daemon per store",
			    cfg->store_path, pid, path);
		else
			snprintf(err, errlen, "lock file %s: %s", path,
				 strerror(-r));
	}
	if (r) {
		close(fd);
		return r;
	}
	store_lock_note_pid(fd);
	*out = fd;
	return 0;
}

void store_lock_note_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (fd >= 0 && ftruncate(fd, 0) == 0 &&
	    pwrite(fd, buf, (size_t)n, 0) != n)
		(void)ftruncate(fd, 0); /* no pid rather than a torn one */
}
