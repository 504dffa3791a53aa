/* store_sqliteInt.h - what the files of the SQLite backend share. Included
 * by store_sqlite*.c only. */
#ifndef PATFS_STORE_SQLITE_INT_H
#define PATFS_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <sys/types.h>

#include "storeInt.h"

/* The one mapping from SQLite result codes to -errno. */
int store_sqlite_errno(int rc);

/* Bytes in the file at path (0 when it does not exist), or -1. */
off_t store_sqlite_file_size(const char *path);

/* Copies the database of db, as of one commit, into a new file path (0600,
 * exclusive), telling fn (if not NULL) how far it got: 0 or -errno with
 * err set. */
int store_sqlite_copy(sqlite3 *db, const char *path, store_progress_fn *fn,
		      void *ctx, char *err, size_t errlen);

/* store_ops' bytes: the database's and its log's on disk, or -1. */
int64_t store_sqlite_bytes(struct store *st);

#endif
