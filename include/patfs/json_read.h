/* json_read.h - reading JSON (RFC 8259), strictly and within bounds: for
 * documents patfs is given, such as GitLab's API responses to import.
 *
 * The document is parsed once into a flat array of values in text order, as
 * jsmn does: each value knows its span in the text and the index just past
 * its children, so children are walked without recursion:
 *
 *	struct jr_doc d;
 *	if (jr_read(&d, text, len) == 0) {
 *		for (size_t i = 1; i < d.v[0].next; i = d.v[i].next)
 *			... d.v[i], an element of the top array ...
 *		jr_free(&d);
 *	}
 *
 * An object's children are its keys and values, alternating. Strings stay
 * escaped in the text until jr_string() unescapes one. */
#ifndef PATFS_JSON_READ_H
#define PATFS_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jr_type {
	JR_NULL,
	JR_FALSE,
	JR_TRUE,
	JR_NUMBER,
	JR_STRING,
	JR_ARRAY,
	JR_OBJECT
};

struct jr_value {
	enum jr_type type;
	size_t start, len; /* its text; a string's without the quotes */
	size_t count;	   /* an array's elements, an object's members */
	size_t next;	   /* the index just past it and its children */
};

struct jr_doc {
	const char *text;
	size_t len;
	struct jr_value *v; /* v[0] is the document's value */
	size_t n, cap;
	size_t error_at; /* after -EINVAL: the byte where the text went wrong */
};

/* Nesting and size beyond which a document is refused (-E2BIG). */
#define JR_MAX_DEPTH  64
#define JR_MAX_VALUES (16u << 20)

/* Parses text[len], which must hold exactly one value (whitespace around it
 * allowed). 0, -EINVAL (not JSON: error_at says where), -E2BIG or -ENOMEM.
 * d refers to text, which must outlive it; jr_free() it after 0. */
int jr_read(struct jr_doc *d, const char *text, size_t len);
void jr_free(struct jr_doc *d);

/* The value of member key of object i, or 0 (none, or i is no object). */
size_t jr_member(const struct jr_doc *d, size_t i, const char *key);

/* String i unescaped into out (size bytes, NUL-terminated), its length in
 * *len: 0; -EINVAL when i is no string or holds a NUL, a lone surrogate
 * or bytes that are not UTF-8; -ENAMETOOLONG when it does not fit. */
int jr_string(const struct jr_doc *d, size_t i, char *out, size_t size,
	      size_t *len);

/* Number i as an integer (no fraction, no exponent): 0, -EINVAL, -ERANGE. */
int jr_int(const struct jr_doc *d, size_t i, int64_t *out);

/* Boolean i: 0, or -EINVAL when it is none. */
int jr_bool(const struct jr_doc *d, size_t i, bool *out);

#endif
