/* pfs.c - what every module of core shares: the log callback, the reason
 * of a refusal, the caller's command name. */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "patfs/pfs.h"

static _Atomic(pfs_log_fn *) log_fn;

void pfs_set_log(pfs_log_fn *fn)
{
	atomic_store(&log_fn, fn);
}

#define LOG_BUDGET 20 /* messages a minute; the rest are counted */

/* How many messages this minute may still pass: a fault that repeats at
 * every request must not write a line per request. */
static struct {
	pthread_mutex_t lock;
	time_t start;
	unsigned sent, dropped;
} budget = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* True when a message may pass now; *dropped is set to the messages dropped
 * in the minute that just ended, to be told first. */
static bool within_budget(unsigned *dropped)
{
	time_t now = time(NULL);
	bool ok;

	pthread_mutex_lock(&budget.lock);
	*dropped = 0;
	if (now - budget.start >= 60) {
		*dropped = budget.dropped;
		budget.start = now;
		budget.sent = budget.dropped = 0;
	}
	ok = budget.sent < LOG_BUDGET;
	if (ok)
		budget.sent++;
	else
		budget.dropped++;
	pthread_mutex_unlock(&budget.lock);
	return ok;
}

void pfs_log(enum pfs_log_level level, const char *fmt, ...)
{
	pfs_log_fn *fn = atomic_load(&log_fn);
	unsigned dropped;
	char msg[1024];
	va_list ap;

	if (!fn)
		return;
	if (!within_budget(&dropped))
		return;
	if (dropped) {
		snprintf(msg, sizeof(msg),
			 "%u more messages in the last minute were dropped "
			 "(at most %d a minute)",
			 dropped, LOG_BUDGET);
		fn(PFS_LOG_WARNING, msg);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* a longer one is cut */
	va_end(ap);
	fn(level, msg);
}

static __thread struct {
	int err; /* positive; 0: no reason */
	char text[PFS_REASON_MAX];
} reason;

int pfs_refuse(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason.text, sizeof(reason.text), fmt, ap); /* cut if long */
	va_end(ap);
	reason.err = err;
	return -err;
}

const char *pfs_reason(int err)
{
	return err > 0 && reason.err == err ? reason.text : "";
}

void pfs_reason_clear(void)
{
	reason.err = 0;
	reason.text[0] = '\0';
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
