/* test_json.c - unit tests of core/json.c (the writer) and core/json_read.c
 * (the strict reader), each reading back what the other makes. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/store/storeInt.h"
#include "check.h"
#include "patfs/audit.h"
#include "patfs/cfg.h"
#include "patfs/json.h"
#include "patfs/json_read.h"
#include "patfs/notice.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/secret.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "patfs/user.h"

/* Decodes the JSON string at *p (quotes included) into out, strictly as RFC
 * 8259 says: no raw control characters, only the defined escapes, surrogate
 * pairs joined. Returns the decoded length, or -1 when it is not JSON. */
/* The four hex digits at s into *out: 1, or 0 when they are not. */
static int hex4(const unsigned char *s, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		const char *digits = "0123456789abcdef", *d;
		if (!s[i] || !(d = strchr(digits, tolower(s[i]))))
			return 0;
		*out = *out << 4 | (unsigned)(d - digits);
	}
	return 1;
}

static int json_decode(const char **p, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)*p;
	size_t n = 0;

	if (*s++ != '"')
		return -1;
	for (;;) {
		unsigned c = *s++, cp;
		if (c == '"')
			break;
		if (c < 0x20 || n + 4 >= size)
			return -1;
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		c = *s++;
		const char *simple = strchr("\"\\/bfnrt", (int)c);
		if (c && simple) {
			out[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
			continue;
		}
		if (c != 'u' || !hex4(s, &cp))
			return -1;
		s += 4;
		if (cp >= 0xd800 && cp < 0xdc00) {
			unsigned lo;
			if (s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, &lo))
				return -1;
			s += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (cp < 0x80) {
			out[n++] = (char)cp;
		} else if (cp < 0x800) {
			out[n++] = (char)(0xc0 | cp >> 6);
			out[n++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[n++] = (char)(0xe0 | cp >> 12);
			out[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
			out[n++] = (char)(0x80 | (cp & 0x3f));
		} else {
			out[n++] = (char)(0xf0 | cp >> 18);
			out[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
			out[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
			out[n++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	*p = (const char *)s;
	return (int)n;
}

/* Encodes len bytes of in as a JSON string, decodes it back into out. */
static int json_round_trip(const char *in, size_t len, char *text, size_t tsize,
			   char *out, size_t osize)
{
	struct json j;
	const char *p = text;
	int n;

	json_init(&j, text, tsize);
	json_str(&j, NULL, in, len);
	if (json_finish(&j) < 0)
		return -2;
	n = json_decode(&p, out, osize);
	return *p ? -1 : n; /* nothing may follow the string */
}

static void test_json(void)
{
	char text[256], out[256], in[64];
	struct json j;
	int n;

	/* every byte alone: valid JSON; ASCII comes back, the rest (invalid
	 * UTF-8 on its own) as U+FFFD */
	for (int b = 0; b < 256; b++) {
		in[0] = (char)b;
		n = json_round_trip(in, 1, text, sizeof(text), out,
				    sizeof(out));
		if (b < 0x80) {
			CHECK_EQ(n, 1);
			CHECK_EQ((unsigned char)out[0], b);
		} else {
			CHECK_EQ(n, 3);
			CHECK(!memcmp(out, "\xef\xbf\xbd", 3));
		}
		for (const char *t = text; *t; t++)
			CHECK((unsigned char)*t >= 0x20 && *t != 0x7f);
	}
	/* quotes, backslashes, U+2028/2029, and valid UTF-8 round-trip */
	static const char tricky[] = "a\"b\\c\"\\\\\"\n\t\x01\x7f"
				     "\xe2\x80\xa8|\xe2\x80\xa9|\xc3\xa9"
				     "\xe2\x82\xac\xf0\x9f\x98\x80";
	n = json_round_trip(tricky, sizeof(tricky) - 1, text, sizeof(text), out,
			    sizeof(out));
	CHECK_EQ(n, (long long)sizeof(tricky) - 1);
	CHECK(n > 0 && !memcmp(out, tricky, sizeof(tricky) - 1));
	CHECK(strstr(text, "\\u2028") && strstr(text, "\\u2029"));
	/* a truncated sequence in the middle is replaced, not copied */
	n = json_round_trip("x\xe2\x82y", 4, text, sizeof(text), out,
			    sizeof(out));
	CHECK_EQ(n, 8);
	CHECK(n == 8 && !memcmp(out, "x\xef\xbf\xbd\xef\xbf\xbdy", 8));
	/* objects, arrays, numbers, null */
	json_init(&j, text, sizeof(text));
	json_begin(&j, NULL, '{');
	json_str(&j, "k\"", "v", 1);
	json_int(&j, "n", -42);
	json_bool(&j, "b", true);
	json_str(&j, "z", NULL, 0);
	json_begin(&j, "a", '[');
	json_str(&j, NULL, "1", 1);
	json_int(&j, NULL, 2);
	json_end(&j, ']');
	json_end(&j, '}');
	CHECK_EQ(json_finish(&j), (long long)strlen(text));
	CHECK(!strcmp(text, "{\"k\\\"\":\"v\",\"n\":-42,\"b\":true,"
			    "\"z\":null,\"a\":[\"1\",2]}"));
	/* what does not fit is an error, never a cut string */
	json_init(&j, text, 8);
	json_str(&j, NULL, "0123456789", 10);
	CHECK_EQ(json_finish(&j), -ENAMETOOLONG);
	json_init(&j, text, 4);
	json_str(&j, NULL, "\"", 1); /* "\"" needs 4 bytes and the NUL */
	CHECK_EQ(json_finish(&j), -ENAMETOOLONG);
}

/* Reads s whole: the result of jr_read. */
static int jr(struct jr_doc *d, const char *s)
{
	return jr_read(d, s, strlen(s));
}

static void test_json_read(void)
{
	static const char *const bad[] = {
	    "",		 " ",	      "{",
	    "[1,]",	 "[,1]",      "{\"a\"}",
	    "{\"a\":}",	 "{\"a\" 1}", "{a:1}",
	    "[01]",	 "[1.]",      "[.5]",
	    "[1e]",	 "[-]",	      "[+1]",
	    "tru",	 "nul",	      "[true false]",
	    "\"abc",	 "\"\\x\"",   "\"\\u12g4\"",
	    "\"a\tb\"",	 "[1] [2]",   "{\"a\":1,}",
	    "\"\\u12\"", "[\"\\\"]"};
	struct jr_doc d;
	char out[64], deep[2 * JR_MAX_DEPTH + 3];
	size_t len, v;
	int64_t x;
	bool b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = jr(&d, bad[i]);
		CHECK_EQ(r, -EINVAL);
		if (r == 0)
			jr_free(&d);
	}
	/* NUL inside the text is no JSON either */
	CHECK_EQ(jr_read(&d, "[1,\0 2]", 6), -EINVAL);
	CHECK_EQ(d.error_at, 3u);

	CHECK_EQ(jr(&d, " {\"id\": 42, \"name\": \"ci \\\"x\\\"\", \"scopes\":"
			" [\"api\", \"read_user\"], \"revoked\": false,"
			" \"expires_at\": null, \"n\": -9223372036854775808} "),
		 0);
	CHECK_EQ(d.v[0].type, JR_OBJECT);
	CHECK_EQ(d.v[0].count, 6u);
	CHECK_EQ(d.v[0].next, d.n);
	v = jr_member(&d, 0, "id");
	CHECK(v && jr_int(&d, v, &x) == 0 && x == 42);
	v = jr_member(&d, 0, "name");
	CHECK(v && jr_string(&d, v, out, sizeof(out), &len) == 0);
	CHECK(!strcmp(out, "ci \"x\"") && len == 6);
	CHECK_EQ(jr_string(&d, v, out, 6, &len), -ENAMETOOLONG);
	v = jr_member(&d, 0, "scopes");
	CHECK(v && d.v[v].type == JR_ARRAY && d.v[v].count == 2);
	CHECK(jr_string(&d, v + 1, out, sizeof(out), NULL) == 0 &&
	      !strcmp(out, "api"));
	CHECK(jr_string(&d, d.v[v + 1].next, out, sizeof(out), NULL) == 0 &&
	      !strcmp(out, "read_user"));
	v = jr_member(&d, 0, "revoked");
	CHECK(v && jr_bool(&d, v, &b) == 0 && !b);
	v = jr_member(&d, 0, "expires_at");
	CHECK(v && d.v[v].type == JR_NULL);
	CHECK_EQ(jr_bool(&d, v, &b), -EINVAL);
	v = jr_member(&d, 0, "n");
	CHECK(v && jr_int(&d, v, &x) == 0 && x == INT64_MIN);
	CHECK_EQ(jr_member(&d, 0, "missing"), 0u);
	CHECK_EQ(jr_member(&d, jr_member(&d, 0, "id"), "id"), 0u);
	jr_free(&d);

	/* numbers that are no integer, or too big for one */
	CHECK_EQ(jr(&d, "[1.5, 1e3, 9223372036854775808, -0]"), 0);
	CHECK_EQ(jr_int(&d, 1, &x), -EINVAL);
	CHECK_EQ(jr_int(&d, 2, &x), -EINVAL);
	CHECK_EQ(jr_int(&d, 3, &x), -ERANGE);
	CHECK(jr_int(&d, 4, &x) == 0 && x == 0);
	jr_free(&d);

	/* escapes: surrogate pairs, and what a C string cannot hold */
	CHECK_EQ(jr(&d, "[\"\\u00e9\\ud83d\\ude00\\/\", \"\\u0000\","
			" \"\\ud83d\", \"\\ude00x\", \"\xff\", \"\xc3\xa9\","
			" \"\xed\xa0\x80\", \"\xc0\xaf\"]"),
		 0);
	CHECK(jr_string(&d, 1, out, sizeof(out), &len) == 0 &&
	      !strcmp(out, "\xc3\xa9\xf0\x9f\x98\x80/") && len == 7);
	for (size_t i = 2; i <= 5; i++)
		CHECK_EQ(jr_string(&d, i, out, sizeof(out), &len), -EINVAL);
	CHECK(jr_string(&d, 6, out, sizeof(out), &len) == 0 && len == 2);
	CHECK_EQ(jr_string(&d, 7, out, sizeof(out), &len), -EINVAL);
	CHECK_EQ(jr_string(&d, 8, out, sizeof(out), &len), -EINVAL);
	jr_free(&d);

	/* nesting: up to the limit, not beyond */
	for (int depth = JR_MAX_DEPTH; depth <= JR_MAX_DEPTH + 1; depth++) {
		memset(deep, '[', (size_t)depth);
		memset(deep + depth, ']', (size_t)depth);
		deep[(size_t)2 * (size_t)depth] = '\0';
		CHECK_EQ(jr(&d, deep), depth == JR_MAX_DEPTH ? 0 : -E2BIG);
		if (depth == JR_MAX_DEPTH) {
			CHECK_EQ(d.n, (size_t)depth);
			jr_free(&d);
		}
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	check_scratch("test_json.d");
	test_json();
	test_json_read();
	return check_done();
}
