/* json_read.c - a strict, bounded JSON reader (patfs/json_read.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "patfs/json_read.h"
#include "patfs/policy.h"

struct parse {
	struct jr_doc *d;
	size_t at; /* the next byte of the text */
	int err;
};

static int fail(struct parse *p, int err)
{
	if (!p->err) {
		p->err = err;
		p->d->error_at = p->at;
	}
	return p->err;
}

static void skip_ws(struct parse *p)
{
	const char *t = p->d->text;

	while (p->at < p->d->len && (t[p->at] == ' ' || t[p->at] == '\t' ||
				     t[p->at] == '\n' || t[p->at] == '\r'))
		p->at++;
}

/* A new value of type at the end of the array: its index, or -1. */
static long push(struct parse *p, enum jr_type type)
{
	struct jr_doc *d = p->d;

	if (d->n == JR_MAX_VALUES)
		return fail(p, -E2BIG), -1;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct jr_value *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return fail(p, -ENOMEM), -1;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n] = (struct jr_value){.type = type, .start = p->at};
	return (long)d->n++;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string from its opening quote: its value, the span between quotes. */
static int parse_string(struct parse *p)
{
	const char *t = p->d->text;
	long i = push(p, JR_STRING);

	if (i < 0)
		return p->err;
	p->at++; /* the quote */
	p->d->v[i].start = p->at;
	while (p->at < p->d->len && t[p->at] != '"') {
		unsigned char c = (unsigned char)t[p->at];

		if (c < 0x20)
			return fail(p, -EINVAL);
		if (c == '\\') {
			if (++p->at >= p->d->len)
				return fail(p, -EINVAL);
			if (t[p->at] == 'u') {
				for (int k = 1; k <= 4; k++)
					if (p->at + (size_t)k >= p->d->len ||
					    !is_hex(t[p->at + (size_t)k]))
						return fail(p, -EINVAL);
				p->at += 4;
			} else if (!strchr("\"\\/bfnrt", t[p->at]) ||
				   !t[p->at]) {
				return fail(p, -EINVAL);
			}
		}
		p->at++;
	}
	if (p->at >= p->d->len)
		return fail(p, -EINVAL);
	p->d->v[i].len = p->at - p->d->v[i].start;
	p->d->v[i].next = (size_t)i + 1;
	p->at++; /* the quote */
	return 0;
}

static int parse_number(struct parse *p)
{
	const char *t = p->d->text;
	size_t n = p->d->len;
	long i = push(p, JR_NUMBER);

	if (i < 0)
		return p->err;
	if (p->at < n && t[p->at] == '-')
		p->at++;
	if (p->at < n && t[p->at] == '0')
		p->at++;
	else if (p->at < n && is_digit(t[p->at]))
		while (p->at < n && is_digit(t[p->at]))
			p->at++;
	else
		return fail(p, -EINVAL);
	if (p->at < n && t[p->at] == '.') {
		if (++p->at >= n || !is_digit(t[p->at]))
			return fail(p, -EINVAL);
		while (p->at < n && is_digit(t[p->at]))
			p->at++;
	}
	if (p->at < n && (t[p->at] == 'e' || t[p->at] == 'E')) {
		p->at++;
		if (p->at < n && (t[p->at] == '+' || t[p->at] == '-'))
			p->at++;
		if (p->at >= n || !is_digit(t[p->at]))
			return fail(p, -EINVAL);
		while (p->at < n && is_digit(t[p->at]))
			p->at++;
	}
	p->d->v[i].len = p->at - p->d->v[i].start;
	p->d->v[i].next = (size_t)i + 1;
	return 0;
}

static int parse_word(struct parse *p, const char *word, enum jr_type type)
{
	size_t n = strlen(word);
	long i;

	if (p->d->len - p->at < n || memcmp(p->d->text + p->at, word, n) != 0)
		return fail(p, -EINVAL);
	i = push(p, type);
	if (i < 0)
		return p->err;
	p->at += n;
	p->d->v[i].len = n;
	p->d->v[i].next = (size_t)i + 1;
	return 0;
}

static int parse_value(struct parse *p, int depth);

/* An array or an object, from its opening bracket. */
static int parse_container(struct parse *p, int depth, bool object)
{
	const char *t = p->d->text;
	char close = object ? '}' : ']';
	long i = push(p, object ? JR_OBJECT : JR_ARRAY);

	if (i < 0)
		return p->err;
	if (depth >= JR_MAX_DEPTH)
		return fail(p, -E2BIG);
	p->at++;
	skip_ws(p);
	if (p->at < p->d->len && t[p->at] == close) {
		p->at++;
	} else {
		for (;;) {
			skip_ws(p);
			if (object) {
				if (p->at >= p->d->len || t[p->at] != '"')
					return fail(p, -EINVAL);
				if (parse_string(p))
					return p->err;
				skip_ws(p);
				if (p->at >= p->d->len || t[p->at] != ':')
					return fail(p, -EINVAL);
				p->at++;
			}
			if (parse_value(p, depth + 1))
				return p->err;
			p->d->v[i].count++;
			skip_ws(p);
			if (p->at < p->d->len && t[p->at] == ',') {
				p->at++;
				continue;
			}
			if (p->at < p->d->len && t[p->at] == close) {
				p->at++;
				break;
			}
			return fail(p, -EINVAL);
		}
	}
	p->d->v[i].len = p->at - p->d->v[i].start;
	p->d->v[i].next = p->d->n;
	return 0;
}

static int parse_value(struct parse *p, int depth)
{
	skip_ws(p);
	if (p->at >= p->d->len)
		return fail(p, -EINVAL);
	switch (p->d->text[p->at]) {
	case '{':
		return parse_container(p, depth, true);
	case '[':
		return parse_container(p, depth, false);
	case '"':
		return parse_string(p);
	case 't':
		return parse_word(p, "true", JR_TRUE);
	case 'f':
		return parse_word(p, "false", JR_FALSE);
	case 'n':
		return parse_word(p, "null", JR_NULL);
	default:
		return parse_number(p);
	}
}

int jr_read(struct jr_doc *d, const char *text, size_t len)
{
	struct parse p = {.d = d};

	*d = (struct jr_doc){.text = text, .len = len};
	if (!parse_value(&p, 0)) {
		skip_ws(&p);
		if (p.at != len)
			fail(&p, -EINVAL); /* something after the value */
	}
	if (p.err) {
		free(d->v);
		d->v = NULL;
		d->n = d->cap = 0;
	}
	return p.err;
}

void jr_free(struct jr_doc *d)
{
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

size_t jr_member(const struct jr_doc *d, size_t i, const char *key)
{
	size_t klen = strlen(key);

	if (i >= d->n || d->v[i].type != JR_OBJECT)
		return 0;
	for (size_t k = i + 1; k < d->v[i].next; k = d->v[d->v[k].next].next) {
		const struct jr_value *kv = &d->v[k];

		/* keys with escapes never match: GitLab's have none */
		if (kv->len == klen && !memcmp(d->text + kv->start, key, klen))
			return kv->next;
	}
	return 0;
}

static int hex4(const char *s)
{
	int v = 0;

	for (int k = 0; k < 4; k++) {
		char c = s[k];
		v = v * 16 + (is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* Appends code point cp as UTF-8: 0, or -ENAMETOOLONG. */
static int put_utf8(char *out, size_t size, size_t *n, unsigned cp)
{
	unsigned char b[4];
	size_t k = 0;

	if (cp < 0x80) {
		b[k++] = (unsigned char)cp;
	} else if (cp < 0x800) {
		b[k++] = (unsigned char)(0xc0 | cp >> 6);
		b[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		b[k++] = (unsigned char)(0xe0 | cp >> 12);
		b[k++] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		b[k++] = (unsigned char)(0xf0 | cp >> 18);
		b[k++] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[k++] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	}
	if (*n + k >= size)
		return -ENAMETOOLONG;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

/* The code point of the escape at s[*k] (after its backslash; the parser
 * saw every escape whole), with *k moved to its last byte; 0 (which no C
 * string holds) for a lone or broken surrogate. */
static unsigned unescape(const char *s, size_t len, size_t *k)
{
	static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
	const char *c = strchr(from, s[*k]);
	unsigned cp, lo;

	if (s[*k] != 'u')
		return c && *c ? (unsigned char)to[c - from]
			       : (unsigned char)s[*k]; /* " \ / */
	cp = (unsigned)hex4(s + *k + 1);
	*k += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return 0; /* a low surrogate alone */
	if (cp < 0xd800 || cp > 0xdbff)
		return cp;
	if (*k + 6 >= len || s[*k + 1] != '\\' || s[*k + 2] != 'u')
		return 0;
	lo = (unsigned)hex4(s + *k + 3);
	if (lo < 0xdc00 || lo > 0xdfff)
		return 0;
	*k += 6;
	return 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
}

int jr_string(const struct jr_doc *d, size_t i, char *out, size_t size,
	      size_t *len)
{
	const struct jr_value *v;
	const char *s;
	size_t n = 0, k = 0;
	int r;

	if (i >= d->n || d->v[i].type != JR_STRING || size == 0)
		return -EINVAL;
	v = &d->v[i];
	s = d->text + v->start;
	while (k < v->len) {
		size_t u;
		unsigned cp;

		if (s[k] != '\\') {
			u = policy_utf8_seq(s + k, v->len - k);
			if (!u)
				return -EINVAL;
			if (n + u >= size)
				return -ENAMETOOLONG;
			memcpy(out + n, s + k, u);
			n += u;
			k += u;
			continue;
		}
		k++;
		cp = unescape(s, v->len, &k);
		if (cp == 0)
			return -EINVAL; /* no NUL in a C string */
		r = put_utf8(out, size, &n, cp);
		if (r)
			return r;
		k++;
	}
	out[n] = '\0';
	if (len)
		*len = n;
	return 0;
}

int jr_int(const struct jr_doc *d, size_t i, int64_t *out)
{
	const struct jr_value *v;
	const char *s;
	bool neg;
	uint64_t x = 0;
	size_t k;

	if (i >= d->n || d->v[i].type != JR_NUMBER)
		return -EINVAL;
	v = &d->v[i];
	s = d->text + v->start;
	neg = s[0] == '-';
	for (k = neg; k < v->len; k++) {
		if (!is_digit(s[k]))
			return -EINVAL; /* a fraction or an exponent */
		if (x > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(s[k] - '0');
	}
	if (x > (uint64_t)INT64_MAX + neg)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
}

int jr_bool(const struct jr_doc *d, size_t i, bool *out)
{
	if (i >= d->n || (d->v[i].type != JR_TRUE && d->v[i].type != JR_FALSE))
		return -EINVAL;
	*out = d->v[i].type == JR_TRUE;
	return 0;
}
