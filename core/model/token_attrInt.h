/* token_attrInt.h - the writing half of token_attrs[]: how a written value
 * is parsed and stored. Shared by token_attr.c (the table, the parsers)
 * and token_write.c (the transaction that applies them). */
#ifndef PATFS_TOKEN_ATTR_INT_H
#define PATFS_TOKEN_ATTR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_stmt.h"

struct cfg;
struct pfs_actor;
struct token_info;

/* A parsed value, as the attribute's UPDATE statement binds it (?2). */
struct token_value {
	int64_t i;
	const char *s; /* text (len bytes) instead of i, when not NULL */
	size_t len;
	bool null;
};

/* The context of a write: who writes, the token as it is, when. */
struct token_edit {
	const struct cfg *cfg;
	const struct pfs_actor *a;
	const struct token_info *t;
	int64_t now;
	const struct rules *rules; /* the policies now (rules.h) */
};

/* What a parser returns when the value is the one already stored. */
#define SAME STORE_UNCHANGED

/* The private half of a row: how a written value is parsed and stored,
 * and the fields its statement changes (a new expiry starts the notices
 * again: notified is cleared with it). */
struct token_attr_store {
	int (*parse)(const struct token_edit *e, const char *val, size_t len,
		     struct token_info *nt, struct token_value *v);
	enum store_sql update; /* ?1 id, ?2 the value, ?3 now */
	const char *action;    /* the audit trail's */
	uint32_t field;	       /* what a write changes (enum token_field) */
};

#endif
