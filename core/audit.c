/* audit.c - the audit trail: one JSON line per change. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auditInt.h"
#include "patfs/audit.h"
#include "patfs/policy.h"

#define AUDIT_LINE_MAX 4096

static size_t put(char *buf, size_t at, size_t size, const char *s, size_t n)
{
	if (at >= size || n >= size - at)
		return size;
	memcpy(buf + at, s, n);
	return at + n;
}

size_t audit_json_str(char *buf, size_t at, size_t size, const char *s,
		      size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];

	at = put(buf, at, size, "\"", 1);
	for (size_t i = 0; i < len && at < size;) {
		unsigned c = p[i];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			at = put(buf, at, size, esc, 2);
			i++;
		} else if (c == '\n') {
			at = put(buf, at, size, "\\n", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			at = put(buf, at, size, esc, 6);
			i++;
		} else if (c < 0x80) {
			at = put(buf, at, size, s + i, 1);
			i++;
		} else {
			size_t n = policy_utf8_seq(s + i, len - i);
			if (n)
				at = put(buf, at, size, s + i, n);
			else
				at = put(buf, at, size, "\\ufffd", 6);
			i += n ? n : 1;
		}
	}
	return put(buf, at, size, "\"", 1);
}

static size_t put_field(char *buf, size_t at, size_t size, const char *key,
			const char *val)
{
	at = put(buf, at, size, ",\"", 2);
	at = put(buf, at, size, key, strlen(key));
	at = put(buf, at, size, "\":", 2);
	if (!val)
		return put(buf, at, size, "null", 4);
	return audit_json_str(buf, at, size, val, strlen(val));
}

int audit_add(struct store_conn *c, const struct pfs_actor *a,
	      const char *action, const char *object, const char *old,
	      const char *new, const char *reason)
{
	char line[AUDIT_LINE_MAX], when[21], ids[96];
	int64_t now = store_now(), off = 0;
	sqlite3_stmt *s;
	size_t at;
	int r;

	policy_format_time(now, when);
	at = put(line, 0, sizeof(line), "{\"time\":\"", 9);
	at = put(line, at, sizeof(line), when, strlen(when));
	at = put(line, at, sizeof(line), "\"", 1);
	at = put_field(line, at, sizeof(line), "action", action);
	at = put_field(line, at, sizeof(line), "object", object);
	at = put_field(line, at, sizeof(line), "old", old);
	at = put_field(line, at, sizeof(line), "new", new);
	if (reason)
		at = put_field(line, at, sizeof(line), "reason", reason);
	r = snprintf(ids, sizeof(ids), ",\"uid\":%u,\"gid\":%u,\"pid\":%d",
		     a->uid, a->gid, (int)a->pid);
	if (r < 0 || (size_t)r >= sizeof(ids))
		return -EIO;
	at = put(line, at, sizeof(line), ids, (size_t)r);
	at = put_field(line, at, sizeof(line), "comm", a->comm);
	at = put(line, at, sizeof(line), "}\n", 2);
	if (at >= sizeof(line))
		return -ENAMETOOLONG;

	s = store_sql(c, SQL_AUDIT_LAST);
	if (!s)
		return -EIO;
	r = store_step(c, s);
	if (r < 0)
		return r;
	if (r == 1)
		off = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);

	s = store_sql(c, SQL_AUDIT_INSERT);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, off);
	sqlite3_bind_int64(s, 2, (int64_t)at);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_text(s, 4, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, object, -1, SQLITE_STATIC);
	store_bind_text(s, 6, line, at);
	return store_exec(c, s);
}

int audit_stat(struct store *st, uint64_t *size, int64_t *mtime)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_sql(c, SQL_AUDIT_LAST) : NULL;
	int r;

	if (!s)
		return -EIO;
	*size = 0;
	*mtime = 0;
	r = store_step(c, s);
	if (r == 1) {
		*size = (uint64_t)sqlite3_column_int64(s, 0);
		*mtime = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return r < 0 ? r : 0;
}

ssize_t audit_read(struct store *st, uint64_t off, char *buf, size_t size)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_sql(c, SQL_AUDIT_FROM) : NULL;
	size_t got = 0;
	int r = 0;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, (int64_t)off);
	while (got < size && (r = store_step(c, s)) == 1) {
		uint64_t row = (uint64_t)sqlite3_column_int64(s, 0);
		const char *line = (const char *)sqlite3_column_text(s, 1);
		size_t len = (size_t)sqlite3_column_bytes(s, 1);
		size_t skip = off + got > row ? off + got - row : 0;
		if (skip >= len)
			continue;
		size_t n = len - skip < size - got ? len - skip : size - got;
		memcpy(buf + got, line + skip, n);
		got += n;
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	return (ssize_t)got;
}
