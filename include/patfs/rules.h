/* rules.h - the policies that change without a restart (policy/ at the
 * mount's root): kept in the store, so that every daemon and process of a
 * store (every host of a PostgreSQL one) reads the same; each starts from
 * the ini file's value while the store has none. Which tokens break them
 * (noncompliant/), and whether a check of one fails (enforce). */
#ifndef PATFS_RULES_H
#define PATFS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"

struct cfg;
struct store;
struct token_info;

/* The files of policy/, one row each of rules_names[] (in this order). */
enum rule {
	RULE_MAX_LIFETIME,   /* max_lifetime_days */
	RULE_REQUIRE_EXPIRY, /* require_expiry: 0|1 */
	RULE_SA_EXPIRY,	     /* service_accounts_require_expiry: 0|1 */
	RULE_ROTATION_DAYS,  /* rotation_lifetime_days: a successor's */
	RULE_ALLOWED_SCOPES, /* allowed_scopes: the scopes a token may have */
	RULE_ENFORCE,	     /* enforce: none|at_check */
	RULE_N
};
extern const char *const rules_names[RULE_N];

enum rule_enforce { RULE_ENFORCE_NONE, RULE_ENFORCE_AT_CHECK };

struct rules {
	int max_lifetime_days;
	bool require_expiry;
	bool sa_require_expiry;
	int rotation_days;
	uint32_t allowed_scopes;
	int enforce;		/* enum rule_enforce */
	int64_t set_at[RULE_N]; /* when each was last written, 0: never */
};

/* The rules as the store holds them now (the ini file's values where it
 * holds none): 0 or -errno. */
int rules_get(struct store *st, struct rules *out);

/* Rule which of r as its file holds it, into buf: the length. */
size_t rules_render(const struct rules *r, enum rule which, char *buf,
		    size_t size);

/* Sets rule which to the len bytes at val, as actor a (administrators
 * only: EACCES), audited as policy_set: 0 (also when unchanged), EINVAL
 * with the reason, or another -errno. */
int rules_write(struct store *st, const struct pfs_actor *a, enum rule which,
		const char *val, size_t len);

/* The first rule that t breaks under r, with its reason in words in
 * why[size]: the rule, or RULE_N when it breaks none. */
enum rule rules_broken(const struct rules *r, const struct token_info *t,
		       char *why, size_t size);

/* noncompliant/reasons: "ID PATH RULE: why" a line for each active token
 * that breaks the policies now, in id order. 0 with *out filled, or
 * -errno. */
struct token_doc;
int rules_reasons(struct store *st, int64_t now, struct token_doc *out);

#endif
