/* metrics.h - the daemon's state for monitoring, in Prometheus's text
 * exposition format (version 0.0.4): the root's file metrics (admins) and,
 * every [metrics] interval_s, the file [metrics] textfile, written whole
 * (a new file renamed over the old) for node_exporter's textfile collector.
 *
 * What it says: tokens by kind and state, active tokens expiring within 7,
 * 30 and 60 days, auth checks by result and reason, the audit trail's mints,
 * revokes and rotations, FUSE requests by operation with their latency
 * histogram (all since the daemon started), the store's size on disk, and
 * when the last daily notice run ended. */
#ifndef PATFS_METRICS_H
#define PATFS_METRICS_H

#include <stdint.h>

#include "patfs/token.h"

struct metrics;
struct pfs;

/* The counters of p, from now: 0 or -errno. Needs p->st open. */
int metrics_new(struct pfs *p);
void metrics_free(struct pfs *p);

/* One FUSE request answered: its operation (as ops.c names it, "LOOKUP")
 * and how long it took from its arrival, in seconds. Lock-free. */
void metrics_request(struct metrics *m, const char *op, double seconds);

/* The text as of now, or as of at most a second ago (so that a stat and
 * the open after it agree on its size), into doc: 0 or -errno. */
int metrics_render(struct pfs *p, struct token_doc *doc);

/* The textfile thread, when [metrics] textfile is set: 0 or -errno. */
int metrics_start(struct pfs *p);
void metrics_stop(struct pfs *p);

#endif
