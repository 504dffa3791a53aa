/* json.h - writing JSON into a bounded buffer: the one JSON writer of patfs
 * (the audit trail, the auth log).
 *
 *	struct json j;
 *	json_init(&j, buf, sizeof(buf));
 *	json_begin(&j, NULL, '{');
 *	json_str(&j, "action", "token_revoke", 12);
 *	json_int(&j, "uid", 1000);
 *	json_end(&j, '}');
 *	n = json_finish(&j);	// length, or -ENAMETOOLONG
 */
#ifndef PATFS_JSON_H
#define PATFS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json {
	char *buf;
	size_t size, len;
	bool full;  /* something did not fit: the text is unusable */
	bool comma; /* the next member or element needs a comma first */
};

void json_init(struct json *j, char *buf, size_t size);

/* Opens an object ('{') or array ('['), as member key of the enclosing
 * object (NULL inside an array or at the top). */
void json_begin(struct json *j, const char *key, char bracket);
void json_end(struct json *j, char bracket);

/* A string member (or element, key NULL) of the len bytes at s; s NULL
 * writes null. Escapes '"', '\\', control characters, DEL, U+2028 and
 * U+2029; invalid UTF-8 becomes U+FFFD. */
void json_str(struct json *j, const char *key, const char *s, size_t len);
void json_int(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, bool v);

/* The length of the text (NUL-terminated), or -ENAMETOOLONG when it did
 * not fit in the buffer. */
int json_finish(const struct json *j);

#endif
