/* uring.c - FUSE over io_uring for libfuse 3.14: one queue per CPU, each
 * served by threads pinned to it (see uring.h for why). */
#include <dirent.h>
#include <errno.h>
#include <liburing.h>
#include <limits.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include "uring.h"

/* The kernel's io_uring ABI of FUSE 7.42 (Linux 6.14); Debian 12's
 * <linux/fuse.h> predates it. */
struct uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;
	uint32_t payload_sz;
	uint32_t padding;
	uint64_t reserved;
};

struct uring_req_header {
	char in_out[128]; /* fuse_in_header in, fuse_out_header out */
	char op_in[128];  /* the request's first argument */
	struct uring_ent_in_out ent;
};

struct uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

_Static_assert(offsetof(struct io_uring_sqe, cmd) == 48, "SQE command area");

enum { URING_CMD_REGISTER = 1, URING_CMD_COMMIT_AND_FETCH = 2 };

#define ENABLE_PARAM   "/sys/module/fuse/parameters/enable_uring"
#define FUSECTL	       "/sys/fs/fuse/connections"
#define POSSIBLE_CPUS  "/sys/devices/system/cpu/possible"
#define HEAD_ROOM      4096 /* before the payload: in header and op_in, rebuilt */
#define REGISTER_TRIES 2000 /* 1 ms apart, while INIT is still in flight */

struct ring_thread {
	pthread_t tid;
	int qid;
	bool running; /* tid is joinable */
	struct io_uring ring;
	struct uring_req_header *hdr;
	char *mem;     /* HEAD_ROOM, then the payload */
	char *payload; /* registered with the kernel, uring.payload_sz bytes */
	struct iovec iov[2];
	uint64_t commit_id; /* the request being served */
	size_t req_len;	    /* payload bytes of the request */
	size_t reply_len;   /* payload bytes of the reply */
	bool replied;
};

static struct {
	struct fuse_session *se;
	int fd;
	size_t payload_sz;
	struct ring_thread *t;
	int n;
	pthread_mutex_t lock; /* protects go and stop */
	pthread_cond_t cond;
	bool go;   /* INIT was answered: register */
	bool stop; /* uring_stop: leave */
	atomic_bool init_answered;
	unsigned conn;	   /* the connection's number under FUSECTL, or 0 */
	atomic_bool ended; /* end_connection ran */
} uring = {.fd = -1,
	   .lock = PTHREAD_MUTEX_INITIALIZER,
	   .cond = PTHREAD_COND_INITIALIZER};

/* The ring entry whose request this thread is serving, if any. */
static __thread struct ring_thread *serving;

static bool kernel_offers_uring(void)
{
	FILE *f = fopen(ENABLE_PARAM, "re");
	int c;

	if (!f)
		return false;
	c = fgetc(f);
	fclose(f);
	return c == 'Y';
}

/* The kernel has a queue per possible CPU: the highest CPU number + 1. */
static int possible_cpus(void)
{
	FILE *f = fopen(POSSIBLE_CPUS, "re");
	char buf[256];
	char *p, *end;
	long n, max = -1;

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	for (p = buf; *p;) { /* "0-3,8-11": the highest number */
		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		n = strtol(p, &end, 10);
		if (n > max)
			max = n;
		p = end;
	}
	return max < 0 || max > 4095 ? -1 : (int)max + 1;
}

/* libfuse's reply to the request this thread serves goes into the ring
 * entry; everything else (INIT, notifications) to /dev/fuse. */
static ssize_t hook_writev(int fd, struct iovec *iov, int count, void *ud)
{
	struct ring_thread *t = serving;
	const struct fuse_out_header *out = iov[0].iov_base;
	size_t n = 0;
	ssize_t r;

	(void)ud;
	if (t && !t->replied && iov[0].iov_len == sizeof(*out) &&
	    out->unique == t->commit_id) {
		for (int i = 1; i < count; i++) {
			if (iov[i].iov_len > uring.payload_sz - n) {
				errno = EINVAL;
				return -1;
			}
			memmove(t->payload + n, iov[i].iov_base,
				iov[i].iov_len);
			n += iov[i].iov_len;
		}
		memcpy(t->hdr->in_out, out, sizeof(*out));
		t->hdr->ent.payload_sz = (uint32_t)n;
		t->reply_len = n;
		t->replied = true;
		return (ssize_t)(sizeof(*out) + n);
	}
	r = writev(fd, iov, count);
	/* The first reply libfuse writes answers INIT; the kernel refuses
	 * registrations until it has it. */
	if (r >= 0 && out->unique != 0 &&
	    !atomic_exchange(&uring.init_answered, true)) {
		pthread_mutex_lock(&uring.lock);
		uring.go = true;
		pthread_cond_broadcast(&uring.cond);
		pthread_mutex_unlock(&uring.lock);
	}
	return r;
}

static ssize_t hook_read(int fd, void *buf, size_t len, void *ud)
{
	(void)ud;
	return read(fd, buf, len);
}

/* Queues command op for t's entry. Returns 0, or -EBUSY when the
 * submission queue is full (it never is: one command is in flight). */
static int ring_prep(struct ring_thread *t, uint32_t op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
	struct uring_cmd_req *cmd;

	if (!sqe)
		return -EBUSY;
	/* SQE128: the command area runs 80 bytes past the struct */
	memset(sqe, 0, 128);
	cmd = (struct uring_cmd_req *)(void *)((char *)sqe + 48);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = uring.fd;
	sqe->cmd_op = op;
	sqe->addr = (uintptr_t)t->iov;
	sqe->len = 2;
	sqe->user_data = (uintptr_t)t;
	cmd->qid = (uint16_t)t->qid;
	cmd->commit_id = op == URING_CMD_COMMIT_AND_FETCH ? t->commit_id : 0;
	return 0;
}

static void reply_error(struct ring_thread *t, int err)
{
	struct fuse_out_header out = {
	    .len = sizeof(out), .error = -err, .unique = t->commit_id};

	memcpy(t->hdr->in_out, &out, sizeof(out));
	t->hdr->ent.payload_sz = 0;
	t->reply_len = 0;
	t->replied = true;
}

/* Lays the request out as a read of /dev/fuse would, right before the
 * payload, and has libfuse process it; the reply lands in the entry. */
static void ring_serve(struct ring_thread *t)
{
	struct fuse_in_header in;
	struct fuse_buf buf = {0};
	size_t pay = t->hdr->ent.payload_sz, op;
	char *p;

	memcpy(&in, t->hdr->in_out, sizeof(in));
	t->commit_id = t->hdr->ent.commit_id;
	t->req_len = pay;
	t->reply_len = 0;
	t->replied = false;
	if (pay > uring.payload_sz || in.len < sizeof(in) + pay ||
	    in.len - sizeof(in) - pay > sizeof(t->hdr->op_in) ||
	    in.unique != t->commit_id) {
		t->req_len = pay > uring.payload_sz ? uring.payload_sz : pay;
		return reply_error(t, EIO);
	}
	op = in.len - sizeof(in) - pay;
	p = t->payload - op - sizeof(in);
	memcpy(p, &in, sizeof(in));
	memcpy(p + sizeof(in), t->hdr->op_in, op);
	buf.mem = p;
	buf.size = in.len;
	serving = t;
	fuse_session_process_buf(uring.se, &buf);
	serving = NULL;
	if (!t->replied)
		reply_error(t, EIO);
}

/* Secrets pass through the payload (an auth write, a token's read; the
 * headers carry none): wipe what the last request and reply left there,
 * once the commit has been submitted. The kernel may have fetched the next
 * request into the entry with the commit (its completion is then posted
 * already); that part is kept. Otherwise nothing is written to the entry
 * before the next wait (DEFER_TASKRUN). */
static void ring_wipe(struct ring_thread *t)
{
	size_t used = t->req_len > t->reply_len ? t->req_len : t->reply_len;
	size_t keep = 0;
	struct io_uring_cqe *cqe;

	if (io_uring_peek_cqe(&t->ring, &cqe) == 0 && cqe->res == 0)
		keep = t->hdr->ent.payload_sz;
	if (used > keep)
		explicit_bzero(t->payload + keep, used - keep);
}

/* Queues command op for t's entry and submits it. Returns >= 0 or -errno. */
static int ring_submit(struct ring_thread *t, uint32_t op)
{
	int r = ring_prep(t, op);

	return r ? r : io_uring_submit(&t->ring);
}

static bool wait_for_go(void)
{
	bool go;

	pthread_mutex_lock(&uring.lock);
	while (!uring.go && !uring.stop)
		pthread_cond_wait(&uring.cond, &uring.lock);
	go = uring.go && !uring.stop;
	pthread_mutex_unlock(&uring.lock);
	return go;
}

static bool stopping(void)
{
	bool stop;

	pthread_mutex_lock(&uring.lock);
	stop = uring.stop;
	pthread_mutex_unlock(&uring.lock);
	return stop;
}

/* Waits for the entry's next request. Returns its result (0: a request),
 * or -ESHUTDOWN when uring_stop asks the thread to leave. */
static int ring_next(struct ring_thread *t)
{
	struct __kernel_timespec ts = {.tv_sec = 1};
	struct io_uring_cqe *cqe;
	int r;

	for (;;) {
		r = io_uring_wait_cqe_timeout(&t->ring, &cqe, &ts);
		if (r == -ETIME || r == -EINTR) {
			if (stopping())
				return -ESHUTDOWN;
			continue;
		}
		if (r < 0)
			return r;
		r = cqe->res;
		io_uring_cqe_seen(&t->ring, cqe);
		return r;
	}
}

/* Registers t's entry (retrying while INIT is in flight) and waits for its
 * first request. Returns 0 (a request is in the entry) or -errno. */
static int ring_register(struct ring_thread *t)
{
	int r = 0, tries = 0;

	do {
		if (r == -EAGAIN)
			usleep(1000);
		r = ring_submit(t, URING_CMD_REGISTER);
		if (r >= 0)
			r = ring_next(t);
	} while (r == -EAGAIN && ++tries < REGISTER_TRIES);
	return r;
}

/* Serves requests until the entry fails. Returns -errno. */
static int ring_serve_all(struct ring_thread *t)
{
	int r = 0;

	while (r == 0) {
		ring_serve(t);
		r = ring_submit(t, URING_CMD_COMMIT_AND_FETCH);
		ring_wipe(t);
		if (r >= 0)
			r = ring_next(t);
	}
	return r;
}

/* Aborts the connection through the FUSE control filesystem (mounting it
 * where it belongs if it is not): every request waiting in the kernel fails
 * and callers get ENOTCONN. 0 or -errno. */
static int abort_connection(void)
{
	char path[64];
	FILE *f;
	int r;

	if (!uring.conn)
		return -ENOENT;
	snprintf(path, sizeof(path), FUSECTL "/%u/abort", uring.conn);
	if (access(path, W_OK) != 0 &&
	    mount("fusectl", FUSECTL, "fusectl", 0, NULL) != 0)
		return -errno;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	r = fputs("1", f) < 0 ? -EIO : 0;
	if (fclose(f) != 0 && !r)
		r = -errno;
	return r;
}

/* The kernel refused to take a reply (io_uring was switched off under the
 * mount): the request held in that entry can be answered neither through
 * the ring nor through /dev/fuse, and every entry will meet the same
 * refusal. Rather than leave callers waiting forever, end the connection:
 * they get ENOTCONN, and patfs exits with an error for its supervisor to
 * restart it (over /dev/fuse). */
static void end_connection(int qid, int err)
{
	int r;

	if (atomic_exchange(&uring.ended, true))
		return;
	fuse_log(FUSE_LOG_ERR,
		 "patfs: error: io_uring queue %d: the kernel refused a reply "
		 "(%s; was enable_uring switched off?): ending the connection "
		 "so that no caller waits; restart patfs\n",
		 qid, strerror(err));
	r = abort_connection();
	if (r)
		fuse_log(
		    FUSE_LOG_ERR,
		    "patfs: error: aborting the connection through " FUSECTL
		    ": %s\n",
		    strerror(-r));
	fuse_session_exit(uring.se);
}

bool uring_ended(void)
{
	return atomic_load(&uring.ended);
}

/* The end of the connection, or of patfs: nothing more to serve. EBADF
 * too: the one fd the rings name is /dev/fuse's, which only the unmount
 * closes (fuse_session_unmount, before uring_stop), so a ring still
 * committing a reply then finds it gone. */
static bool ring_over(int r)
{
	return r == -ENOTCONN || r == -ECONNABORTED || r == -ECANCELED ||
	       r == -ESHUTDOWN || r == -EBADF;
}

static void *ring_main(void *arg)
{
	struct ring_thread *t = arg;
	cpu_set_t cpus;
	int r, lost = 0;

	CPU_ZERO(&cpus);
	CPU_SET(t->qid, &cpus);
	/* an offline CPU cannot be had; its queue is served from anywhere */
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	if (!wait_for_go())
		return NULL;
	r = io_uring_queue_init(2, &t->ring,
				IORING_SETUP_SQE128 |
				    IORING_SETUP_SINGLE_ISSUER |
				    IORING_SETUP_DEFER_TASKRUN);
	if (r)
		return NULL;
	r = ring_register(t);
	if (r < 0 && !ring_over(r))
		/* not every queue has an entry: the kernel stays on /dev/fuse
		 */
		fuse_log(FUSE_LOG_WARNING,
			 "patfs: io_uring queue %d not registered (%s); "
			 "/dev/fuse serves its requests\n",
			 t->qid, strerror(-r));
	while (r == 0) {
		r = ring_serve_all(t);
		if (r == -EOPNOTSUPP) {
			end_connection(t->qid, -r);
			break;
		}
		if (ring_over(r) || ++lost > 8)
			break;
		/* the kernel lost the entry (a commit it could not match):
		 * register it again rather than leave the queue short */
		fuse_log(FUSE_LOG_ERR, "patfs: error: io_uring queue %d: %s\n",
			 t->qid, strerror(-r));
		r = ring_register(t);
	}
	io_uring_queue_exit(&t->ring);
	return NULL;
}

static void free_threads(void)
{
	for (int i = 0; i < uring.n; i++) {
		free(uring.t[i].mem);
		free(uring.t[i].hdr);
	}
	free(uring.t);
	uring.t = NULL;
	uring.n = 0;
}

/* The number of the FUSE connection mounted at mnt (its device's minor, as
 * the control filesystem names it), from /proc/self/mountinfo; 0 if not
 * found. mnt is absolute and resolved (libfuse's command line parser made
 * it so): it must not be resolved now, as that would ask the daemon itself,
 * which serves nothing yet. */
static unsigned conn_of(const char *mnt)
{
	unsigned found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	while (f && fgets(line, sizeof(line), f)) {
		/* "36 25 0:45 / /mnt rw,... - fuse.patfs ...": the last one
		 * mounted there wins (paths with spaces come escaped) */
		char *save = NULL, *field[5], *end; /* [2] dev, [4] point */
		unsigned long major;

		for (int i = 0; i < 5; i++)
			field[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!field[4] || strcmp(field[4], mnt) != 0 || !save ||
		    !strstr(save, " - fuse"))
			continue;
		major = strtoul(field[2], &end, 10);
		if (*end == ':') /* FUSE's connections have major 0 */
			found =
			    major ? 0 : (unsigned)strtoul(end + 1, NULL, 10);
	}
	if (f)
		fclose(f);
	return found;
}

/* How many ring threads the open file limit allows when keep descriptors
 * must stay free for the rest of patfs: each thread holds its ring and may
 * open an SQLite connection, URING_FDS_PER_THREAD in all. Fewer than a
 * thread per queue is none: the kernel uses the ring only once every queue
 * has an entry. */
static int threads_allowed(int cpus, int keep)
{
	struct rlimit rl;
	DIR *d = opendir("/proc/self/fd");
	long open = 0, spare;

	if (!d || getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		if (d)
			closedir(d);
		return cpus * URING_THREADS_PER_CPU;
	}
	while (readdir(d))
		open++;
	closedir(d); /* counted ".", ".." and itself: an overestimate */
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT_MAX)
		return cpus * URING_THREADS_PER_CPU;
	spare = ((long)rl.rlim_cur - open - keep) / URING_FDS_PER_THREAD;
	if (spare >= (long)cpus * URING_THREADS_PER_CPU)
		return cpus * URING_THREADS_PER_CPU;
	fuse_log(FUSE_LOG_WARNING,
		 "patfs: the open file limit (%llu) leaves room for %ld of "
		 "%d io_uring threads%s\n",
		 (unsigned long long)rl.rlim_cur, spare > 0 ? spare : 0,
		 cpus * URING_THREADS_PER_CPU,
		 spare < cpus ? ", fewer than one a queue: /dev/fuse serves"
			      : "");
	return spare < cpus ? 0 : (int)spare;
}

int uring_start(struct fuse_session *se, const char *mountpoint, int keep)
{
	static const struct fuse_custom_io io = {.writev = hook_writev,
						 .read = hook_read};
	long page = sysconf(_SC_PAGESIZE);
	sigset_t all, old;
	int cpus, r;

	if (!kernel_offers_uring())
		return 0;
	uring.conn = conn_of(mountpoint);
	cpus = possible_cpus();
	if (cpus < 1 || page <= 0)
		return 0;
	uring.se = se;
	uring.fd = fuse_session_fd(se);
	/* the kernel's max_payload_sz: libfuse's largest request, 256 pages */
	uring.payload_sz = 256 * (size_t)page;
	uring.n = threads_allowed(cpus, keep);
	if (uring.n == 0)
		return 0;
	uring.t = calloc((size_t)uring.n, sizeof(*uring.t));
	if (!uring.t)
		return -ENOMEM;
	for (int i = 0; i < uring.n; i++) {
		struct ring_thread *t = &uring.t[i];

		t->qid = i % cpus; /* the first cpus threads: one a queue */
		t->mem =
		    aligned_alloc((size_t)page, HEAD_ROOM + uring.payload_sz);
		t->hdr = calloc(1, sizeof(*t->hdr));
		if (!t->mem || !t->hdr) {
			free_threads();
			return -ENOMEM;
		}
		t->payload = t->mem + HEAD_ROOM;
		t->iov[0] = (struct iovec){t->hdr, sizeof(*t->hdr)};
		t->iov[1] = (struct iovec){t->payload, uring.payload_sz};
	}
	r = fuse_session_custom_io(se, &io, uring.fd);
	if (r) {
		free_threads();
		return r < 0 ? r : -EINVAL;
	}
	/* signals stay with libfuse's loop, as for its own workers */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < uring.n; i++) {
		struct ring_thread *t = &uring.t[i];

		if (pthread_create(&t->tid, NULL, ring_main, t) == 0) {
			t->running = true;
			pthread_setname_np(t->tid, "patfs-ring");
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

void uring_stop(void)
{
	pthread_mutex_lock(&uring.lock);
	uring.stop = true;
	pthread_cond_broadcast(&uring.cond);
	pthread_mutex_unlock(&uring.lock);
	for (int i = 0; i < uring.n; i++)
		if (uring.t[i].running)
			pthread_join(uring.t[i].tid, NULL);
	free_threads();
}
