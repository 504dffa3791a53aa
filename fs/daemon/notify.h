/* notify.h - the daily run of expiry notices (patfs/notice.h says which are
 * due): at [notify] hour_utc, and at start once that hour has passed today,
 * each notice due is handed to [notify] command, run by /bin/sh -c as the
 * user run_as with the facts in its environment and no secret, within
 * timeout_s; it is recorded when the command succeeded (or when there is no
 * command: notices are then only recorded). A command that fails or times
 * out is logged, and its notice tried again at the next run. */
#ifndef PATFS_NOTIFY_H
#define PATFS_NOTIFY_H

#include <stdint.h>

struct notify;
struct store;

/* Starts the thread: 0 or -errno. */
int notify_start(struct notify **out, struct store *st);

/* When the last daily run ended (seconds since the epoch), or 0: none yet,
 * or no thread (n NULL). */
int64_t notify_last_run(struct notify *n);

/* Queues the command's run for token t's first check from source (an
 * auth_source_fn, ctx the notify): PATFS_EVENT=new_source, PATFS_SOURCE
 * and the token's facts. Never blocks; beyond a few waiting, dropped. */
struct token_info;
void notify_new_source(void *ctx, const struct token_info *t,
		       const char *source);

/* Stops and joins it (a command running is waited for, up to its timeout);
 * NULL is fine. */
void notify_stop(struct notify *n);

#endif
