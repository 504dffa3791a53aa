/* test_core.c - unit tests of core/, without FUSE: policy, cfg, secrets, the
 * store, and fault injection proving a change never lands without its audit
 * record. Runs in a scratch directory under the build tree. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/storeInt.h"
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

static int failures, checks;

#define CHECK(cond)                                                            \
	do {                                                                   \
		checks++;                                                      \
		if (!(cond)) {                                                 \
			failures++;                                            \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		checks++;                                                      \
		if (a_ != b_) {                                                \
			failures++;                                            \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n",  \
				__FILE__, __LINE__, #a, a_, b_);               \
		}                                                              \
	} while (0)

static int scope(const char *name)
{
	return policy_scope_index(name, strlen(name));
}

static void test_scopes(void)
{
	uint32_t m = 0;
	char buf[512];

	CHECK_EQ(policy_parse_scopes("api", 3, &m), 0);
	CHECK(policy_scope_granted(m, scope("read_api")));
	CHECK(policy_scope_granted(m, scope("read_repository")));
	CHECK(policy_scope_granted(m, scope("write_virtual_registry")));
	CHECK(!policy_scope_granted(m, scope("sudo")));
	CHECK(!policy_scope_granted(m, scope("create_runner")));
	CHECK(!policy_scope_granted(m, scope("k8s_proxy")));
	CHECK_EQ(policy_parse_scopes("write_repository", 16, &m), 0);
	CHECK(policy_scope_granted(m, scope("read_repository")));
	CHECK(!policy_scope_granted(m, scope("read_api")));
	CHECK(!policy_scope_granted(1u << scope("read_api"), scope("api")));
	CHECK(!policy_scope_granted(m, -1));
	m = 0;
	CHECK_EQ(policy_parse_scopes("api bogus", 9, &m), -EINVAL);
	CHECK_EQ(m, 0);
	CHECK_EQ(policy_parse_scopes(" \n,", 3, &m), -EINVAL);
	CHECK_EQ(policy_parse_scopes("sudo,api\nread_user ", 19, &m), 0);
	policy_render_scopes(m, buf, sizeof(buf));
	CHECK(!strcmp(buf, "api\nread_user\nsudo\n"));
	for (int i = 1; i < POLICY_NSCOPES; i++)
		CHECK(strcmp(policy_scope_names[i - 1], policy_scope_names[i]) <
		      0);
}

static void test_dates(void)
{
	int64_t d;
	char buf[21];

	CHECK_EQ(policy_parse_date("1970-01-01", 10, &d), 0);
	CHECK_EQ(d, 0);
	CHECK_EQ(policy_parse_date("2024-02-29", 10, &d), 0);
	policy_format_date(d, buf);
	CHECK(!strcmp(buf, "2024-02-29"));
	CHECK_EQ(policy_parse_date("2023-02-29", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2100-02-29", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2000-02-29", 10, &d), 0);
	CHECK_EQ(policy_parse_date("2027-04-31", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-00-10", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-1-10", 9, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-01-1x", 10, &d), -EINVAL);
	/* a date is real when it formats back to itself */
	CHECK_EQ(policy_parse_date("2027-02-30", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-02-00", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-13-01", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-06-31", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("1969-12-31", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-02-28", 10, &d), 0);
	CHECK_EQ(policy_parse_date("9999-12-31", 10, &d), 0);
	policy_format_date(d, buf);
	CHECK(!strcmp(buf, "9999-12-31"));
	policy_format_time(1795346436, buf); /* 2026-11-22T11:20:36Z */
	CHECK(!strcmp(buf, "2026-11-22T11:20:36Z"));
	CHECK_EQ(policy_day_of(86399), 0);
	CHECK_EQ(policy_day_of(86400), 1);
	/* round trip over four centuries */
	for (int64_t day = 0; day < 146097 * 2; day += 13) {
		int64_t back;
		policy_format_date(day, buf);
		CHECK_EQ(policy_parse_date(buf, 10, &back), 0);
		CHECK_EQ(back, day);
	}
}

/* Decodes the JSON string at *p (quotes included) into out, strictly as RFC
 * 8259 says: no raw control characters, only the defined escapes, surrogate
 * pairs joined. Returns the decoded length, or -1 when it is not JSON. */
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
		if (c != 'u' || sscanf((const char *)s, "%4x", &cp) != 1)
			return -1;
		s += 4;
		if (cp >= 0xd800 && cp < 0xdc00) {
			unsigned lo;
			if (s[0] != '\\' || s[1] != 'u' ||
			    sscanf((const char *)s + 2, "%4x", &lo) != 1)
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
		deep[2 * depth] = '\0';
		CHECK_EQ(jr(&d, deep), depth == JR_MAX_DEPTH ? 0 : -E2BIG);
		if (depth == JR_MAX_DEPTH) {
			CHECK_EQ(d.n, (size_t)depth);
			jr_free(&d);
		}
	}
}

static void test_names_and_values(void)
{
	/* format characters (Cf) and names of white space only */
	static const char *const bad[] = {"\xe2\x80\xae"
					  "gnp.exe",
					  "ci\xe2\x80\x8b",
					  "\xef\xbb\xbf"
					  "ci",
					  "a\xc2\xad"
					  "b",
					  "\xf3\xa0\x80\x81",
					  " ",
					  "   ",
					  "\xc2\xa0\xe3\x80\x80",
					  "\xe2\x80\xa8"};
	static const char *const good[] = {"deploy key", " x ", "caf\xc3\xa9",
					   "\xf0\x9f\x94\x91key", "1a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(policy_check_token_name(bad[i], strlen(bad[i])),
			 -EINVAL);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(policy_check_token_name(good[i], strlen(good[i])), 0);

	int b = -1;

	CHECK_EQ(policy_check_user_name("alice", 5), 0);
	CHECK_EQ(policy_check_user_name("_a.b-c", 6), 0);
	CHECK_EQ(policy_check_user_name("-a", 2), -EINVAL);
	CHECK_EQ(policy_check_user_name("a b", 3), -EINVAL);
	CHECK_EQ(policy_check_user_name("", 0), -EINVAL);
	CHECK_EQ(policy_check_token_name("ci-deploy", 9), 0);
	CHECK_EQ(policy_check_token_name("0123", 4), -EINVAL);
	CHECK_EQ(policy_check_token_name("a\x01", 2), -EINVAL);
	CHECK_EQ(policy_check_token_name("\xc3\x28", 2), -EINVAL);
	CHECK_EQ(policy_check_token_name("caf\xc3\xa9", 5), 0);
	CHECK_EQ(policy_check_token_name("\xed\xa0\x80", 3), -EINVAL);
	CHECK_EQ(policy_check_token_name("\xc2\x85", 2), -EINVAL);
	CHECK_EQ(policy_parse_bool("1\n", 2, &b), 0);
	CHECK_EQ(b, 1);
	CHECK_EQ(policy_parse_bool("0", 1, &b), 0);
	CHECK_EQ(b, 0);
	CHECK_EQ(policy_parse_bool("1\n\n", 3, &b), -EINVAL);
	CHECK_EQ(policy_parse_bool("", 0, &b), -EINVAL);
	CHECK_EQ(policy_parse_bool("2", 1, &b), -EINVAL);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static void test_cfg(void)
{
	struct cfg c;
	char err[512];

	CHECK_EQ(cfg_load(&c, NULL, err, sizeof(err)), 0);
	CHECK(c.store_path[0] == '/' && strstr(c.store_path, "/patfs.db"));
	CHECK_EQ(c.max_lifetime_days, 365);
	CHECK(c.require_expiry && !c.admin_group);
	cfg_free(&c);

	write_file("t.ini",
		   "[tokens]\nprefix = abc_\n\n[store]\npath = /x/y.db\n");
	CHECK_EQ(cfg_load(&c, "t.ini", err, sizeof(err)), 0);
	CHECK(!strcmp(c.prefix, "abc_") && !strcmp(c.store_path, "/x/y.db"));
	cfg_free(&c);

	write_file("t.ini",
		   "[tokens]\nprefix = ok\nlast_used_interval_s = -1\n");
	CHECK_EQ(cfg_load(&c, "t.ini", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "t.ini:3: [tokens] last_used_interval_s") != NULL);
	cfg_free(&c);

	CHECK(cfg_load(&c, "missing.ini", err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "missing.ini") != NULL);
	cfg_free(&c);

	/* the store's backend: SQLite unless said */
	CHECK_EQ(cfg_load(&c, NULL, err, sizeof(err)), 0);
	CHECK_EQ(c.store_backend, CFG_STORE_SQLITE);
	CHECK(!c.store_dsn && c.max_stale_s == 5 && !c.config_path);
	cfg_free(&c);
	write_file("t.ini", "[store]\nbackend = postgresql\n"
			    "dsn = host=db1 dbname=patfs\nmax_stale_s = 0\n");
	CHECK_EQ(cfg_load(&c, "t.ini", err, sizeof(err)), 0);
	CHECK_EQ(c.store_backend, CFG_STORE_POSTGRESQL);
	CHECK(c.store_dsn && !strcmp(c.store_dsn, "host=db1 dbname=patfs"));
	CHECK(c.max_stale_s == 0 && c.config_path && c.config_path[0] == '/');
	cfg_free(&c);
	write_file("t.ini", "[store]\nbackend = mysql\n");
	CHECK_EQ(cfg_load(&c, "t.ini", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "t.ini:2: [store] backend") != NULL);
	cfg_free(&c);
	write_file("t.ini", "[store]\nmax_stale_s = 3601\n");
	CHECK_EQ(cfg_load(&c, "t.ini", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "t.ini:2: [store] max_stale_s") != NULL);
	cfg_free(&c);
}

static void test_secrets(void)
{
	unsigned char *pepper = NULL, d1[SECRET_DIGEST_LEN],
		      d2[SECRET_DIGEST_LEN];
	char s[64], small[8], err[256];
	struct stat sb;
	int n;

	unlink("p.pepper");
	CHECK_EQ(secret_pepper_load("p.pepper", &pepper, err, sizeof(err)), 0);
	CHECK(stat("p.pepper", &sb) == 0 && (sb.st_mode & 0777) == 0600);
	n = secret_generate("glpat-", s, sizeof(s));
	CHECK_EQ(n, 26);
	CHECK_EQ(secret_check_format("glpat-", s, (size_t)n), 0);
	CHECK_EQ(secret_check_format("ghp_", s, (size_t)n), -EINVAL);
	CHECK_EQ(secret_check_format("glpat-", s, (size_t)n - 1), -EINVAL);
	CHECK_EQ(secret_generate("glpat-", small, sizeof(small)),
		 -ENAMETOOLONG);
	secret_digest(pepper, s, (size_t)n, d1);
	secret_digest(pepper, s, (size_t)n, d2);
	CHECK(sodium_memcmp(d1, d2, sizeof(d1)) == 0);
	s[7] ^= 1;
	secret_digest(pepper, s, (size_t)n, d2);
	CHECK(sodium_memcmp(d1, d2, sizeof(d1)) != 0);
	secret_pepper_free(pepper);
	/* the same file gives the same pepper; a short one is refused */
	CHECK_EQ(secret_pepper_load("p.pepper", &pepper, err, sizeof(err)), 0);
	s[7] ^= 1;
	secret_digest(pepper, s, (size_t)n, d2);
	CHECK(sodium_memcmp(d1, d2, sizeof(d1)) == 0);
	secret_pepper_free(pepper);
	write_file("short.pepper", "abc");
	CHECK_EQ(secret_pepper_load("short.pepper", &pepper, err, sizeof(err)),
		 -EINVAL);
	unlink("link.pepper");
	CHECK(symlink("p.pepper", "link.pepper") == 0);
	CHECK_EQ(secret_pepper_load("link.pepper", &pepper, err, sizeof(err)),
		 -ELOOP);
}

struct seen {
	int n;
	struct store_change ch[64];
};

static void hook(void *ctx, const struct store_change *ch)
{
	struct seen *s = ctx;

	if (s->n < 64)
		s->ch[s->n] = *ch;
	s->n++;
}

static uint64_t audit_size(struct store *st)
{
	uint64_t size = 0;
	int64_t mtime;

	CHECK_EQ(audit_stat(st, &size, &mtime), 0);
	return size;
}

static void test_store(void)
{
	struct pfs_actor root = {.admin = true, .comm = "test"};
	struct pfs_actor owner = {.uid = 1000, .comm = "test"};
	struct pfs_actor stranger = {.uid = 2000, .comm = "test"};
	struct store *st = NULL;
	struct token_info t;
	struct user_info u;
	struct seen seen = {0};
	struct cfg c;
	char err[512], *secret, log[8192];
	int64_t uid, tid, tid2;
	uint64_t size;
	int n, lost;

	unlink("s.db");
	unlink("s.db-wal");
	unlink("s.db-shm");
	write_file("s.ini", "[store]\npath = s.db\npepper_file = p.pepper\n");
	CHECK_EQ(cfg_load(&c, "s.ini", err, sizeof(err)), 0);
	c.store_init = true; /* a new store beside the tests' one pepper */
	CHECK_EQ(store_open(&st, &c, err, sizeof(err)), 0);
	if (!st)
		return;
	store_set_change_hook(st, hook, &seen);

	CHECK_EQ(user_create(st, &owner, "alice", 5, &uid), -EPERM);
	CHECK_EQ(user_create(st, &root, "alice", 5, &uid), 0);
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.ch[0].kind, STORE_CH_USERS);
	CHECK_EQ(user_create(st, &root, "alice", 5, &uid), -EEXIST);
	CHECK_EQ(seen.n, 1); /* nothing committed, nothing heard */
	CHECK_EQ(user_write(st, &root, uid, USER_UID, "1000\n", 5), 0);

	CHECK_EQ(token_mint(st, &stranger, uid, "ci", 2, &tid), -EACCES);
	CHECK_EQ(token_mint(st, &owner, uid, "ci", 2, &tid), 0);
	CHECK_EQ(token_mint(st, &owner, uid, "ci", 2, &tid2), -EEXIST);
	CHECK_EQ(token_get(st, tid, &t), 0);
	CHECK(token_unsealed(&t) && token_active(&t, store_now()));
	CHECK_EQ(t.user_uid, 1000);
	/* owners may not set impersonation, admins may while unsealed */
	CHECK_EQ(token_write(st, &owner, tid, TOKEN_IMPERSONATION, "1", 1),
		 -EPERM);
	CHECK_EQ(token_write(st, &owner, tid, TOKEN_SCOPES, "api", 3), 0);

	secret = sodium_malloc(SECRET_MAX);
	n = token_take_secret(st, &owner, tid, secret, SECRET_MAX);
	CHECK_EQ(n, 26);
	CHECK_EQ(token_take_secret(st, &owner, tid, secret, SECRET_MAX),
		 -ENOENT);
	CHECK_EQ(token_write(st, &root, tid, TOKEN_SCOPES, "read_api", 8),
		 -EPERM);
	sodium_free(secret);

	/* an owner may shorten the life of a token, never extend it */
	CHECK_EQ(token_get(st, tid, &t), 0);
	{
		char d[11], later[11];
		policy_format_date(t.expires_day - 1, d);
		policy_format_date(t.expires_day + 1, later);
		CHECK_EQ(
		    token_write(st, &owner, tid, TOKEN_EXPIRES_AT, later, 10),
		    -EPERM);
		CHECK_EQ(token_write(st, &owner, tid, TOKEN_EXPIRES_AT, d, 10),
			 0);
		CHECK_EQ(
		    token_write(st, &root, tid, TOKEN_EXPIRES_AT, later, 10),
		    0);
	}

	/* fault injection: the audit insert fails, so the revoke must not land
	 */
	seen.n = 0;
	size = audit_size(st);
	CHECK_EQ(sqlite3_exec(store_sqlite_db(store_conn(st)),
			      "CREATE TEMP TRIGGER fail_audit BEFORE INSERT ON "
			      "main.audit BEGIN SELECT RAISE(ABORT, 'injected "
			      "fault'); END",
			      NULL, NULL, NULL),
		 SQLITE_OK);
	CHECK(token_write(st, &owner, tid, TOKEN_REVOKED, "1\n", 2) < 0);
	CHECK(token_mint(st, &owner, uid, "x", 1, &tid2) < 0);
	CHECK(user_create(st, &root, "bob", 3, &tid2) < 0);
	CHECK(user_write(st, &root, uid, USER_BLOCKED, "1", 1) < 0);
	CHECK_EQ(token_get(st, tid, &t), 0);
	CHECK_EQ(t.revoked_at, 0);
	CHECK_EQ(user_get(st, uid, &u), 0);
	CHECK_EQ(u.blocked, 0);
	CHECK_EQ(u.ntokens, 1);
	CHECK_EQ(user_find(st, "bob", 3, &u), -ENOENT);
	CHECK_EQ(audit_size(st), size);
	CHECK_EQ(seen.n, 0);
	CHECK_EQ(sqlite3_exec(store_sqlite_db(store_conn(st)),
			      "DROP TRIGGER fail_audit", NULL, NULL, NULL),
		 SQLITE_OK);

	CHECK_EQ(token_write(st, &owner, tid, TOKEN_REVOKED, "1\n", 2), 0);
	CHECK_EQ(token_write(st, &owner, tid, TOKEN_REVOKED, "0\n", 2), -EPERM);
	/* one change, naming what changed: the caches take back only the
	 * files that follow it */
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.ch[0].kind, STORE_CH_TOKEN);
	CHECK_EQ(seen.ch[0].token_id, tid);
	CHECK_EQ(seen.ch[0].fields, TOKEN_F_REVOKED);

	/* an unsealed token is revoked as lost by the next process to open
	 * the store, never by the one that minted it */
	CHECK_EQ(token_mint(st, &root, uid, "dropped", 7, &tid2), 0);
	CHECK_EQ(token_revoke_lost(st, &root, &lost), 0);
	CHECK_EQ(lost, 0);
	store_close(st);
	CHECK_EQ(store_open(&st, &c, err, sizeof(err)), 0);
	if (!st)
		return;
	CHECK_EQ(token_revoke_lost(st, &root, &lost), 0);
	CHECK_EQ(lost, 1);
	CHECK_EQ(token_get(st, tid2, &t), 0);
	CHECK(t.revoked_at != 0);
	CHECK_EQ(user_remove(st, &root, uid), -ENOTEMPTY);

	/* the trail reads back whole, at any offset */
	size = audit_size(st);
	CHECK(size > 0 && size < sizeof(log));
	CHECK_EQ(audit_read(st, 0, log, sizeof(log)), (ssize_t)size);
	CHECK(strstr(log, "\"reason\":\"secret_lost\"") != NULL);
	{
		char part[64];
		CHECK_EQ(audit_read(st, 100, part, sizeof(part)), 64);
		CHECK(memcmp(part, log + 100, 64) == 0);
		CHECK_EQ(audit_read(st, size, part, sizeof(part)), 0);
	}
	store_close(st);
	cfg_free(&c);
}

static int64_t count_rows(struct store *st, const char *table)
{
	char sql[64];
	sqlite3_stmt *s = NULL;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(store_sqlite_db(store_conn(st)), sql, -1, &s,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* Bulk import, all or nothing; and the changes other processes read. */
static void test_import_and_changes(void)
{
	struct pfs_actor root = {.admin = true, .comm = "test"};
	struct pfs_actor owner = {.uid = 1000, .comm = "test"};
	struct store *st = NULL;
	struct token_seed v[3];
	struct token_info t;
	struct user_info u;
	struct seen seen = {0};
	struct cfg c;
	char err[512], secrets[3][SECRET_MAX];
	int64_t uid, first = 0, tokens, audits, seq = -1;
	int64_t now = store_now(), today = policy_day_of(now);
	sqlite3 *other = NULL;

	unlink("i.db");
	unlink("i.db-wal");
	unlink("i.db-shm");
	write_file("i.ini", "[store]\npath = i.db\npepper_file = p.pepper\n");
	CHECK_EQ(cfg_load(&c, "i.ini", err, sizeof(err)), 0);
	c.store_init = true; /* a new store beside the tests' one pepper */
	CHECK_EQ(store_open(&st, &c, err, sizeof(err)), 0);
	if (!st)
		return;
	CHECK_EQ(user_create(st, &root, "alice", 5, &uid), 0);
	for (int i = 0; i < 3; i++) {
		int len = secret_generate("glpat-", secrets[i], SECRET_MAX);
		CHECK_EQ(len, 26);
		v[i] =
		    (struct token_seed){.user_id = uid,
					.name = i == 0	 ? "one"
						: i == 1 ? "two"
							 : "three",
					.scopes = 1u << scope("api"),
					.created_at = now - 86400,
					.expires_day = i == 2 ? -1 : today + 10,
					.last_used_at = i == 1 ? now - 60 : 0,
					.revoked_at = i == 2 ? now - 30 : 0,
					.secret = secrets[i],
					.secret_len = (size_t)len};
	}
	tokens = count_rows(st, "tokens");
	audits = count_rows(st, "audit");

	/* refused: nothing lands */
	CHECK_EQ(token_import(st, &owner, v, 3, &first), -EPERM);
	v[1].name = "42";
	CHECK_EQ(token_import(st, &root, v, 3, &first), -EINVAL);
	v[1].name = "one"; /* two active tokens of one name */
	CHECK_EQ(token_import(st, &root, v, 3, &first), -EEXIST);
	v[1].name = "two";
	v[1].secret = secrets[0]; /* a secret twice */
	CHECK_EQ(token_import(st, &root, v, 3, &first), -EEXIST);
	v[1].secret = secrets[1];
	v[0].user_id = uid + 99;
	CHECK_EQ(token_import(st, &root, v, 3, &first), -ENOENT);
	v[0].user_id = uid;
	CHECK_EQ(count_rows(st, "tokens"), tokens);
	CHECK_EQ(count_rows(st, "audit"), audits);

	store_set_change_hook(st, hook, &seen);
	CHECK_EQ(token_import(st, &root, v, 3, &first), 0);
	CHECK_EQ(count_rows(st, "tokens"), tokens + 3);
	CHECK_EQ(count_rows(st, "audit"), audits + 3);
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.ch[0].kind, STORE_CH_ALL);
	CHECK_EQ(token_get(st, first + 1, &t), 0);
	CHECK(strcmp(t.name, "two") == 0);
	CHECK(!token_unsealed(&t) && token_active(&t, now));
	CHECK_EQ(t.last_used_at, now - 60);
	CHECK_EQ(token_get(st, first + 2, &t), 0);
	CHECK_EQ(t.expires_day, -1);
	CHECK(t.revoked_at != 0);
	CHECK_EQ(user_get(st, uid, &u), 0);
	CHECK_EQ(u.ntokens, 3);

	/* this process's own changes are the hook's business, not the reader's
	 */
	seen.n = 0;
	CHECK_EQ(store_changes_since(st, &seq, hook, &seen), 0);
	CHECK(seq > 0);
	CHECK_EQ(user_write(st, &root, uid, USER_BLOCKED, "1", 1), 0);
	seen.n = 0;
	CHECK_EQ(store_changes_since(st, &seq, hook, &seen), 0);
	CHECK_EQ(seen.n, 0);
	/* another process's change (on another connection) is heard once */
	CHECK_EQ(sqlite3_open("i.db", &other), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(other,
			      "INSERT INTO changes (pid, kind, user_id, "
			      "token_id, day) VALUES (1, 3, 7, 8, 0)",
			      NULL, NULL, NULL),
		 SQLITE_OK);
	CHECK_EQ(store_changes_since(st, &seq, hook, &seen), 0);
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.ch[0].kind, STORE_CH_TOKEN);
	CHECK_EQ(seen.ch[0].token_id, 8);
	CHECK_EQ(store_changes_since(st, &seq, hook, &seen), 0);
	CHECK_EQ(seen.n, 1);
	/* rows pruned before they were read: everything changed */
	CHECK_EQ(sqlite3_exec(other,
			      "DELETE FROM changes; INSERT INTO changes (seq, "
			      "pid, kind, user_id, token_id, day) VALUES "
			      "((SELECT 1000000), 1, 0, 0, 0, 0)",
			      NULL, NULL, NULL),
		 SQLITE_OK);
	seen.n = 0;
	CHECK_EQ(store_changes_since(st, &seq, hook, &seen), 0);
	CHECK_EQ(seen.n, 2);
	CHECK_EQ(seen.ch[0].kind, STORE_CH_ALL);
	CHECK_EQ(seen.ch[1].kind, STORE_CH_USERS);
	CHECK_EQ(seq, 1000000);
	sqlite3_close(other);
	sodium_memzero(secrets, sizeof(secrets));
	store_close(st);
	cfg_free(&c);
}

static int collect_notice(void *ctx, const struct notice *n)
{
	struct notice *out = ctx;

	out[out[0].threshold++ + 1] = *n; /* out[0].threshold: the count */
	return out[0].threshold == 7;
}

/* The token model: rotation and families, projects' bots, notices, the
 * calendar. */
static void test_model(void)
{
	struct pfs_actor root = {.admin = true, .comm = "test"};
	struct store *st = NULL;
	struct token_info t;
	struct token_doc doc;
	struct notice due[8];
	struct cfg c;
	char err[512];
	int64_t uid, a, b, c2, next, rid, ptid, day;

	unlink("m.db");
	unlink("m.db-wal");
	unlink("m.db-shm");
	write_file("m.ini", "[store]\npath = m.db\npepper_file = p.pepper\n");
	CHECK_EQ(cfg_load(&c, "m.ini", err, sizeof(err)), 0);
	c.store_init = true;
	CHECK_EQ(store_open(&st, &c, err, sizeof(err)), 0);
	if (!st)
		return;
	CHECK_EQ(user_create(st, &root, "alice", 5, &uid), 0);
	CHECK_EQ(token_mint(st, &root, uid, "ci", 2, &a), 0);

	/* rotation: bad values change nothing; the successor keeps the name */
	CHECK_EQ(token_rotate(st, &root, a, "0", 1, &next), -EINVAL);
	CHECK_EQ(token_rotate(st, &root, a, "2020-01-01", 10, &next), -EINVAL);
	CHECK_EQ(token_rotate(st, &root, a, "1\n", 2, &b), 0);
	CHECK_EQ(token_get(st, b, &t), 0);
	CHECK(!strcmp(t.name, "ci") && t.previous_id == a && t.family_id == a);
	CHECK_EQ(t.expires_day, policy_day_of(store_now()) + 7);
	CHECK_EQ(token_get(st, a, &t), 0);
	CHECK(t.revoked_at && t.next_id == b);
	CHECK_EQ(token_rotate(st, &root, b, "1", 1, &c2), 0);
	/* a rotated token again: the family is revoked, and that is kept */
	CHECK_EQ(token_rotate(st, &root, a, "1", 1, &next), -EPERM);
	CHECK_EQ(token_get(st, c2, &t), 0);
	CHECK(t.revoked_at != 0 && t.family_id == a);
	/* token_write does not rotate, nor writes what is read-only */
	CHECK_EQ(token_write(st, &root, c2, TOKEN_ROTATE, "1", 1), -EPERM);
	CHECK_EQ(token_write(st, &root, c2, TOKEN_META, "{}", 2), -EPERM);

	/* a project's token is held by a new bot */
	CHECK_EQ(resource_create(st, &root, RESOURCE_PROJECT, "web", 3, &rid),
		 0);
	CHECK_EQ(resource_create(st, &root, RESOURCE_PROJECT, "web", 3, &rid),
		 -EEXIST);
	CHECK_EQ(resource_write(st, &root, rid, RESOURCE_PATH, "a//b", 4),
		 -EINVAL);
	CHECK_EQ(resource_write(st, &root, rid, RESOURCE_PATH, "a/../b", 6),
		 -EINVAL);
	CHECK_EQ(resource_write(st, &root, rid, RESOURCE_PATH, "org/web\n", 8),
		 0);
	CHECK_EQ(resource_mint(st, &root, rid, "deploy", 6, &ptid), 0);
	CHECK_EQ(resource_mint(st, &root, rid, "deploy", 6, &next), -EEXIST);
	CHECK_EQ(token_get(st, ptid, &t), 0);
	CHECK_EQ(t.user_kind, USER_PROJECT_BOT);
	CHECK_EQ(t.access_level, ACCESS_LEVEL_DEFAULT);
	CHECK(!strcmp(t.resource_path, "org/web"));
	CHECK(!strncmp(t.user_name, "project_", 8));
	CHECK_EQ(resource_remove(st, &root, rid), -ENOTEMPTY);
	CHECK_EQ(token_write(st, &root, ptid, TOKEN_ACCESS_LEVEL, "owner", 5),
		 0);
	CHECK_EQ(token_write(st, &root, ptid, TOKEN_ACCESS_LEVEL, "50", 2),
		 -EINVAL);
	CHECK_EQ(token_write(st, &root, a, TOKEN_ACCESS_LEVEL, "owner", 5),
		 -EPERM); /* a personal token has none */

	/* notices: 10 days left passes 60 and 30: one notice, for 30 */
	CHECK_EQ(token_mint(st, &root, uid, "soon", 4, &next), 0);
	day = policy_day_of(store_now()) + 10;
	{
		char when[11];
		policy_format_date(day, when);
		CHECK_EQ(
		    token_write(st, &root, next, TOKEN_EXPIRES_AT, when, 10),
		    0);
	}
	memset(due, 0, sizeof(due));
	CHECK_EQ(notice_due(st, store_now(), collect_notice, due), 0);
	{
		int found = 0;
		for (int i = 1; i <= due[0].threshold; i++)
			if (due[i].t.id == next) {
				found = 1;
				CHECK_EQ(due[i].threshold, 30);
				CHECK_EQ(due[i].days_left, 10);
				CHECK(!strcmp(due[i].mark, "60,30"));
				CHECK_EQ(notice_record(st, &root, &due[i]), 0);
				CHECK_EQ(notice_record(st, &root, &due[i]),
					 -EALREADY);
			}
		CHECK(found);
	}
	CHECK_EQ(token_get(st, next, &t), 0);
	CHECK(!strcmp(t.notified, "60,30"));

	/* the calendar: CRLF lines of at most 75 octets, one event each */
	memset(&doc, 0, sizeof(doc));
	CHECK_EQ(token_ics(st, &root, store_now(), &doc), 0);
	if (doc.text) {
		int events = 0;
		for (char *l = doc.text; *l;) {
			char *e = strstr(l, "\r\n");
			CHECK(e && e - l <= 75);
			if (!e)
				break;
			events += !strncmp(l, "BEGIN:VEVENT", 12);
			l = e + 2;
		}
		CHECK_EQ(events, 2); /* soon, and the project's deploy */
		free(doc.text);
	}
	store_close(st);
	cfg_free(&c);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_scopes();
	test_dates();
	test_json();
	test_json_read();
	test_names_and_values();
	test_cfg();
	test_secrets();
	test_store();
	test_import_and_changes();
	test_model();
	printf("%d checks, %d failed\n", checks, failures);
	return failures != 0;
}
