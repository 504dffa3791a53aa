/* store_sqlite_file.c - a SQLite store's file: what SQLite's result codes
 * mean as errnos, its size, and copies of it.
 *
 * Backups are SQLite's VACUUM INTO, run on a read transaction: it sees the
 * store as of one commit while writers go on in the write-ahead log, and
 * writes a compact, self-contained database file (no log beside it). The
 * file is created first, 0600 and exclusively, so that a copy never lands
 * on an existing file nor is readable by others for a moment. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "patfs/cfg.h"
#include "storeInt.h"
#include "store_sqliteInt.h"

/* Copies ---------------------------------------------------------------- */

/* The one mapping from SQLite result codes to -errno. */
int store_sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:
		return -EACCES;
	default:
		return -EIO;
	}
}

struct copying {
	const char *path;
	store_progress_fn *fn;
	void *ctx;
	uint64_t total;
	struct timespec next; /* when to tell fn again */
};

static uint64_t db_bytes(sqlite3 *db)
{
	sqlite3_stmt *s;
	uint64_t n[2] = {0, 0};
	const char *q[2] = {"PRAGMA page_count", "PRAGMA page_size"};

	for (int i = 0; i < 2; i++) {
		if (sqlite3_prepare_v2(db, q[i], -1, &s, NULL) != SQLITE_OK)
			return 0;
		if (sqlite3_step(s) == SQLITE_ROW)
			n[i] = (uint64_t)sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	return n[0] * n[1];
}

/* SQLite's progress handler: tells fn, at most five times a second, how
 * much of the copy is written. Never interrupts. */
static int on_progress(void *arg)
{
	struct copying *cp = arg;
	struct timespec now;
	struct stat sb;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < cp->next.tv_sec ||
	    (now.tv_sec == cp->next.tv_sec && now.tv_nsec < cp->next.tv_nsec))
		return 0;
	cp->next = now;
	cp->next.tv_nsec += 200000000L;
	if (cp->next.tv_nsec >= 1000000000L) {
		cp->next.tv_sec++;
		cp->next.tv_nsec -= 1000000000L;
	}
	if (stat(cp->path, &sb) == 0)
		cp->fn(cp->ctx, (uint64_t)sb.st_size, cp->total);
	return 0;
}

/* Copies the database of db into a new file path: 0 or -errno with err. */
int store_sqlite_copy(sqlite3 *db, const char *path, store_progress_fn *fn,
		      void *ctx, char *err, size_t errlen)
{
	struct copying cp = {.path = path, .fn = fn, .ctx = ctx};
	char *sql, *msg = NULL;
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		snprintf(err, errlen, "creating %s: %s", path, strerror(errno));
		return -errno;
	}
	close(fd);
	sql = sqlite3_mprintf("VACUUM INTO %Q", path);
	if (!sql) {
		unlink(path);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (fn) {
		cp.total = db_bytes(db);
		clock_gettime(CLOCK_MONOTONIC, &cp.next);
		sqlite3_progress_handler(db, 10000, on_progress, &cp);
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "copying the store into %s: %s", path,
			 msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		unlink(path);
		return store_sqlite_errno(rc);
	}
	if (fn) {
		struct stat sb;

		if (stat(path, &sb) == 0)
			fn(ctx, (uint64_t)sb.st_size, (uint64_t)sb.st_size);
	}
	return 0;
}

/* Bytes in path (0 when it does not exist), or -1 when it cannot be
 * told. */
off_t store_sqlite_file_size(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) == 0)
		return sb.st_size;
	return errno == ENOENT ? 0 : -1;
}

int64_t store_sqlite_bytes(struct store *st)
{
	char wal[4096];
	off_t db = store_sqlite_file_size(st->cfg->store_path), log;

	snprintf(wal, sizeof(wal), "%s-wal", st->cfg->store_path);
	log = store_sqlite_file_size(wal);
	return db < 0 ? -1 : (int64_t)db + (log > 0 ? (int64_t)log : 0);
}
