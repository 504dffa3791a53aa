/* store.h - the SQLite token store: opening, schema, and change notification.
 *
 * A store is shared by all threads; each thread gets its own SQLite connection
 * on first use. Every change to the store is made in one transaction that also
 * writes its audit record; when it commits, the change hook hears which
 * objects it touched, so a cache in front of the store can be invalidated. */
#ifndef PATFS_STORE_H
#define PATFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct store;

enum store_change_kind {
	STORE_CH_USERS,	    /* the list of users */
	STORE_CH_USER,	    /* a user's attributes (user_id) */
	STORE_CH_TOKENS,    /* the list of a user's tokens (user_id) */
	STORE_CH_TOKEN,	    /* a token's attributes (token_id, user_id) */
	STORE_CH_EXPIRY,    /* not recorded any more: expiring/ is never cached
			       (its number stays taken in the changes table) */
	STORE_CH_ALL,	    /* too much to name one by one */
	STORE_CH_RESOURCES, /* the list of projects or groups */
	STORE_CH_RESOURCE,  /* a project's or group's attributes and tokens
			       (user_id: its id) */
};

/* Every field of a token: what a change read from the changes table says,
 * since which ones changed only the committer knew. */
#define STORE_FIELDS_ALL UINT32_MAX

struct store_change {
	enum store_change_kind kind;
	int64_t user_id;  /* USER, TOKENS, TOKEN: the user; USERS: the new
			     user, or 0; RESOURCE(S): the project or group */
	int64_t token_id; /* TOKEN */
	int64_t day;	  /* RESOURCES: its kind (enum resource_kind) */
	/* TOKEN: the values that changed (enum token_field), and whether it
	 * is a project's or group's token (it has a second place in the
	 * tree). Told to this process only: a change read back from the
	 * changes table has every field, and resource set. */
	uint32_t fields;
	bool resource;
};

typedef void store_change_fn(void *ctx, const struct store_change *ch);

/* Opens (creating or migrating) the store at cfg->store_path and loads the
 * pepper. cfg must outlive the store. On success *out is owned by the caller
 * (store_close). On error returns -errno and explains in err. */
int store_open(struct store **out, const struct cfg *cfg, char *err,
	       size_t errlen);

/* For a daemon, before store_open: takes the lock beside a SQLite store
 * (PATH.lock, created 0600, checked as the store is) so that a second daemon
 * on the same store is refused; the lock lasts as long as the fd set in *fd,
 * which is kept across fork. It names the caller's pid. A PostgreSQL store
 * takes none (*fd = -1): the daemons of many hosts share it. 0, or -errno
 * with the reason in err (-EBUSY: another daemon holds it, its pid in err).
 * Processes that only check tokens through the C API take no lock. */
int store_lock(const struct cfg *cfg, int *fd, char *err, size_t errlen);

/* Writes the calling process's pid into the lock file fd (after fork). */
void store_lock_note_pid(int fd);

/* Told now and then how far a long copy is: bytes written of about total. */
typedef void store_progress_fn(void *ctx, uint64_t done, uint64_t total);

/* Copies the store into a new file path (created 0600; an existing file is
 * left alone: -EEXIST), consistent as of one commit, while others go on
 * reading and writing it; synced before it returns. With the pepper, the
 * copy is a whole store: point store_path at it. fn, if not NULL, hears of
 * the progress. 0 or -errno with the reason in err. */
int store_backup(struct store *st, const char *path, store_progress_fn *fn,
		 void *ctx, char *err, size_t errlen);

/* Bytes the store takes (SQLite: the database and its log; PostgreSQL: the
 * database), or -1 when it cannot be told. */
int64_t store_bytes(struct store *st);

/* Work that one daemon of a store does at a time, whichever host it runs
 * on: the daily expiry notices. */
enum store_lead {
	STORE_LEAD_NOTICES = 3,
};

/* Takes (take) or gives back the lead of what: 1 when this process holds
 * it now, 0 when another does, -errno when the store cannot tell. It lasts
 * until given back or the process ends. On SQLite (one daemon per store)
 * always 1. */
int store_lead(struct store *st, enum store_lead what, bool take);

/* A number that moves whenever this process learns that the store's
 * content may have changed: its own commits at once, other processes'
 * when store_changes_since reads them. What was read at one generation
 * still holds while it stays. */
uint64_t store_generation(struct store *st);

/* Closes every connection of every thread and frees the store. */
void store_close(struct store *st);

/* Closes the calling thread's connection, if any (before fork, say). */
void store_release_thread(struct store *st);

/* Sets the function told of each object a committed change touched. It is
 * called on the committing thread after COMMIT, never inside a transaction. */
void store_set_change_hook(struct store *st, store_change_fn *fn, void *ctx);

/* For a cache in front of the store: calls fn (on the calling thread) for
 * each change that another process committed after change number *seq, and
 * advances *seq. Cheap when nothing was committed since the last call. When
 * *seq is negative, only sets it to the latest change. When changes were
 * dropped before they could be read (the table keeps the last 8192), fn
 * hears STORE_CH_ALL first. Returns 0 or -errno. */
int store_changes_since(struct store *st, int64_t *seq, store_change_fn *fn,
			void *ctx);

const struct cfg *store_cfg(const struct store *st);

/* How many SQL statements the calling thread has run through any store: a
 * debug counter, for counting the statements of one request. */
uint64_t store_statements(void);
/* The rows the statements of this thread have given. */
uint64_t store_rows(void);

#endif
