/* uring.h - FUSE over io_uring: requests served on the CPU that made them.
 *
 * On this kind of machine (a VM whose idle CPUs halt at once) a request that
 * crosses CPUs costs 30 to 80 us, one that stays on its CPU under 10 us. Over
 * /dev/fuse the kernel hands a request to whichever worker waits longest,
 * usually on the other CPU. Over io_uring (Linux 6.14 and later, when
 * /sys/module/fuse/parameters/enable_uring is Y) it queues the request on
 * the queue of the CPU the caller runs on; patfs serves each queue with
 * threads pinned to that CPU.
 *
 * libfuse 3.14 does not speak io_uring, so this module carries requests
 * between the ring and libfuse's request processing: a request from the ring
 * is laid out as /dev/fuse would deliver it, and libfuse's reply to it is
 * caught by a custom writev and committed to the ring. /dev/fuse keeps
 * serving INIT, FORGET, INTERRUPT, notifications, and everything when the
 * kernel does not offer io_uring. */
#ifndef PATFS_URING_H
#define PATFS_URING_H

#include <stdbool.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

/* Threads (one ring entry each) per CPU queue: one can wait on the cache
 * thread while another serves the read that the wait depends on. */
#define URING_THREADS_PER_CPU 4

/* Descriptors a ring thread may hold: its ring, and the SQLite connection
 * it opens when it serves a request (the store, its WAL, and room). */
#define URING_FDS_PER_THREAD 4

/* Installs the reply hook on the session se, mounted at mountpoint, and
 * starts the ring threads; they register with the kernel once INIT has been
 * answered. Returns 0, also when the kernel does not offer io_uring (nothing
 * is started then), or -errno when the hook cannot be installed.
 *
 * keep descriptors stay free for the rest of patfs (its /dev/fuse workers):
 * up to URING_THREADS_PER_CPU threads a queue are started as the open file
 * limit allows beyond that, and none (with a warning) when it does not
 * allow one a queue.
 *
 * A queue that fails to register is left to the kernel, which hands the
 * ring no request until every queue has an entry: /dev/fuse serves. If the
 * kernel later refuses a reply (enable_uring switched off under the mount),
 * the request held in that entry can never be answered: patfs then ends the
 * connection through the FUSE control filesystem, so callers get ENOTCONN
 * at once instead of waiting forever, and exits the session
 * (uring_ended). */
#ifdef PATFS_URING
int uring_start(struct fuse_session *se, const char *mountpoint, int keep);

/* True when the connection was ended because the kernel refused a reply. */
bool uring_ended(void);

/* After the session loop ended and the fs was unmounted: stops and joins
 * the ring threads and frees them. Fine when nothing was started. */
void uring_stop(void);
#else
/* Built without liburing (meson -During=disabled): /dev/fuse serves every
 * request, as on a kernel that offers no io_uring. */
static inline int uring_start(struct fuse_session *se, const char *mountpoint,
			      int keep)
{
	(void)se, (void)mountpoint, (void)keep;
	return 0;
}

static inline bool uring_ended(void)
{
	return false;
}

static inline void uring_stop(void)
{
}
#endif

#endif
