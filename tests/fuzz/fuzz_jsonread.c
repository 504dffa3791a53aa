/* fuzz_jsonread.c - the JSON reader: any bytes are refused or give a value
 * tree whose spans lie in the text, whose children walk to exactly their
 * count (keys and values alternating in objects), whose strings unescape
 * to UTF-8 without NUL or are refused, and whose integers read or are
 * refused; and a text the writer made reads back. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "patfs/json.h"
#include "patfs/json_read.h"

/* True when s[n] is UTF-8 (no overlong form, no surrogate). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = s[i] < 0x80	       ? 1
			   : (s[i] >> 5) == 6  ? 2
			   : (s[i] >> 4) == 14 ? 3
			   : (s[i] >> 3) == 30 ? 4
					       : 0;
		unsigned cp;

		if (!k || i + k > n)
			return 0;
		cp = k == 1 ? s[i] : s[i] & (0x7f >> k);
		for (size_t j = 1; j < k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
		    (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k;
	}
	return 1;
}

static void check(const struct jr_doc *d)
{
	static char out[1 << 16];

	MUST(d->n > 0 && d->v[0].next == d->n);
	for (size_t i = 0; i < d->n; i++) {
		const struct jr_value *v = &d->v[i];
		size_t len, walked = 0, c;
		int64_t x;
		int r;

		MUST(v->start + v->len <= d->len && v->next > i &&
		     v->next <= d->n);
		for (c = i + 1; c < v->next; c = d->v[c].next) {
			if (v->type == JR_OBJECT && walked % 2 == 0)
				MUST(d->v[c].type == JR_STRING);
			walked++;
		}
		MUST(c == v->next);
		if (v->type == JR_ARRAY)
			MUST(walked == v->count);
		else if (v->type == JR_OBJECT)
			MUST(walked == 2 * v->count);
		else
			MUST(walked == 0);
		if (v->type == JR_STRING) {
			r = jr_string(d, i, out, sizeof(out), &len);
			MUST(r == 0 || r == -EINVAL || r == -ENAMETOOLONG);
			if (r == 0)
				MUST(len < sizeof(out) && strlen(out) == len &&
				     utf8_ok((const unsigned char *)out, len));
		}
		if (v->type == JR_NUMBER) {
			r = jr_int(d, i, &x);
			MUST(r == 0 || r == -EINVAL || r == -ERANGE);
		} else {
			MUST(jr_int(d, i, &x) == -EINVAL);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[8192], back[8192];
	struct jr_doc d;
	struct json j;
	size_t len;
	int n, r;

	r = jr_read(&d, (const char *)data, size);
	MUST(r == 0 || r == -EINVAL || r == -E2BIG || r == -ENOMEM);
	if (r == 0) {
		check(&d);
		jr_free(&d);
	} else if (r == -EINVAL) {
		MUST(d.error_at <= size);
	}
	/* what the writer makes of the bytes, the reader reads back */
	json_init(&j, text, sizeof(text));
	json_begin(&j, NULL, '{');
	json_str(&j, "k", (const char *)data, size);
	json_end(&j, '}');
	n = json_finish(&j);
	if (n < 0 || !utf8_ok(data, size) || memchr(data, 0, size))
		return 0;
	MUST(jr_read(&d, text, (size_t)n) == 0);
	r = jr_string(&d, jr_member(&d, 0, "k"), back, sizeof(back), &len);
	MUST(r == 0 && len == size && !memcmp(back, data, size));
	jr_free(&d);
	return 0;
}
