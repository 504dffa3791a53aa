/* pfs.c - what every module of core shares: the log callback, the
 * caller's command name. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "patfs/pfs.h"

static _Atomic(pfs_log_fn *) log_fn;

void pfs_set_log(pfs_log_fn *fn)
{
	atomic_store(&log_fn, fn);
}

void pfs_log(enum pfs_log_level level, const char *fmt, ...)
{
	pfs_log_fn *fn = atomic_load(&log_fn);
	char msg[1024];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* a longer one is cut */
	va_end(ap);
	fn(level, msg);
}

void pfs_actor_comm(const struct pfs_actor *a, char out[17])
{
	char path[48];
	ssize_t r = 0;
	int fd;

	snprintf(out, 17, "%s", a->comm);
	if (out[0] || a->pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)a->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = read(fd, out, 16);
		close(fd);
	}
	out[r > 0 ? r : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}
