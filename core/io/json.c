/* json.c - the JSON writer: RFC 8259 strings from arbitrary bytes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "patfs/json.h"
#include "patfs/policy.h"

void json_init(struct json *j, char *buf, size_t size)
{
	*j = (struct json){.buf = buf, .size = size};
	if (size)
		buf[0] = '\0';
	else
		j->full = true;
}

/* Appends n bytes; marks j full when they do not fit with the NUL. */
static void put(struct json *j, const char *s, size_t n)
{
	if (j->full || n >= j->size - j->len) {
		j->full = true;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void put_escaped(struct json *j, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;

	put(j, "\"", 1);
	while (i < len && !j->full) {
		unsigned c = p[i];
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
		size_t n;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			for (run = i;
			     run < len && p[run] >= 0x20 && p[run] < 0x7f &&
			     p[run] != '"' && p[run] != '\\';
			     run++)
				;
			put(j, s + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			put(j, esc, 2);
		} else if (c == '\n' || c == '\t' || c == '\r') {
			esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
			put(j, esc, 2);
		} else if (c < 0x80) { /* other controls and DEL */
			put(j, esc, 6);
		} else if ((n = policy_utf8_seq(s + i, len - i)) == 0) {
			put(j, "\\ufffd", 6);
			n = 1;
		} else if (n == 3 && c == 0xe2 && p[i + 1] == 0x80 &&
			   (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			/* U+2028, U+2029: valid JSON, but not JavaScript */
			put(j, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
		} else {
			put(j, s + i, n);
		}
		i += c < 0x80 ? 1 : n;
	}
	put(j, "\"", 1);
}

/* Writes the comma and "key": that go before a value. */
static void member(struct json *j, const char *key)
{
	if (j->comma)
		put(j, ",", 1);
	j->comma = true;
	if (key) {
		put_escaped(j, key, strlen(key));
		put(j, ":", 1);
	}
}

void json_begin(struct json *j, const char *key, char bracket)
{
	member(j, key);
	put(j, &bracket, 1);
	j->comma = false;
}

void json_end(struct json *j, char bracket)
{
	put(j, &bracket, 1);
	j->comma = true;
}

void json_str(struct json *j, const char *key, const char *s, size_t len)
{
	member(j, key);
	if (s)
		put_escaped(j, s, len);
	else
		put(j, "null", 4);
}

void json_int(struct json *j, const char *key, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	member(j, key);
	put(j, num, (size_t)n);
}

void json_bool(struct json *j, const char *key, bool v)
{
	member(j, key);
	put(j, v ? "true" : "false", v ? 4 : 5);
}

int json_finish(const struct json *j)
{
	return j->full ? -ENAMETOOLONG : (int)j->len;
}
