/* audit.c - the audit trail: one JSON line per change. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "patfs/audit.h"
#include "patfs/json.h"
#include "patfs/pfs.h"
#include "patfs/policy.h"
#include "store_stmt.h"

#define AUDIT_LINE_MAX 4096

int audit_add(struct store_conn *c, const struct pfs_actor *a,
	      const char *action, const char *object, const char *old,
	      const char *new, const char *reason)
{
	char line[AUDIT_LINE_MAX], when[21], comm[17];
	int64_t now = store_now(), off = 0;
	struct json j;
	struct store_stmt *s;
	size_t at;
	int r;

	policy_format_time(now, when);
	json_init(&j, line, sizeof(line) - 1);
	json_begin(&j, NULL, '{');
	json_str(&j, "time", when, strlen(when));
	json_str(&j, "action", action, strlen(action));
	json_str(&j, "object", object, strlen(object));
	json_str(&j, "old", old, old ? strlen(old) : 0);
	json_str(&j, "new", new, new ? strlen(new) : 0);
	if (reason)
		json_str(&j, "reason", reason, strlen(reason));
	json_int(&j, "uid", a->uid);
	json_int(&j, "gid", a->gid);
	json_int(&j, "pid", a->pid);
	pfs_actor_comm(a, comm);
	json_str(&j, "comm", comm, strlen(comm));
	json_end(&j, '}');
	r = json_finish(&j);
	if (r < 0)
		return r;
	at = (size_t)r;
	line[at++] = '\n';
	r = budget_admit(store_of(c), a, action, at);
	if (r)
		return r;

	s = store_sql(c, SQL_AUDIT_LAST);
	if (!s)
		return -EIO;
	r = store_step(c, s);
	if (r < 0)
		return r;
	if (r == 1)
		off = store_col_int(s, 0);
	store_reset(s);

	s = store_sql(c, SQL_AUDIT_INSERT);
	if (!s)
		return -EIO;
	store_bind_int(s, 1, off);
	store_bind_int(s, 2, (int64_t)at);
	store_bind_int(s, 3, now);
	store_bind_str(s, 4, action);
	store_bind_str(s, 5, object);
	store_bind_text(s, 6, line, at);
	return store_exec(c, s);
}

int audit_stat(struct store *st, uint64_t *size, int64_t *mtime)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_AUDIT_LAST) : NULL;
	int r;

	if (!s)
		return -EIO;
	*size = 0;
	*mtime = 0;
	r = store_step(c, s);
	if (r == 1) {
		*size = (uint64_t)store_col_int(s, 0);
		*mtime = store_col_int(s, 1);
	}
	store_reset(s);
	return r < 0 ? r : 0;
}

ssize_t audit_read(struct store *st, uint64_t off, char *buf, size_t size)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, SQL_AUDIT_FROM) : NULL;
	size_t got = 0;
	int r = 0;

	if (!s)
		return -EIO;
	store_bind_int(s, 1, (int64_t)off);
	while (got < size && (r = store_step(c, s)) == 1) {
		uint64_t row = (uint64_t)store_col_int(s, 0);
		const char *line = store_col_text(s, 1);
		size_t len = strlen(line);
		size_t skip = off + got > row ? off + got - row : 0;
		if (skip >= len)
			continue;
		size_t n = len - skip < size - got ? len - skip : size - got;
		memcpy(buf + got, line + skip, n);
		got += n;
	}
	store_reset(s);
	if (r < 0)
		return r;
	return (ssize_t)got;
}
