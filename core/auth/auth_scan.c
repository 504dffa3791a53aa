/* auth_scan.c - leak response: the token-shaped strings in any text (a log,
 * a paste, a diff) under every prefix patfs recognises, what each is, and
 * revoking those a leaked text holds. */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "authInt.h"
#include "model/token_core.h"
#include "patfs/auth.h"
#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/secret.h"
#include "patfs/token.h"
#include "store/store_stmt.h"

/* The characters of a secret's body (and of every prefix). */
static bool body_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The first place in run[n] where a recognised prefix begins with a whole
 * body after it: its offset, or n. */
static size_t prefix_in(const struct cfg *cfg, const char *run, size_t n)
{
	size_t best = n;

	for (int i = -1; i < cfg->n_prev_prefixes; i++) {
		const char *p = i < 0 ? cfg->prefix : cfg->prev_prefixes[i];
		size_t plen = strlen(p);

		for (size_t at = 0;
		     at + plen + SECRET_BODY_LEN <= n && at < best; at++)
			if (!memcmp(run + at, p, plen)) {
				best = at;
				break;
			}
	}
	return best;
}

/* The token whose secret is s[len]: 0, -ENOENT, or -errno. */
static int find(struct auth *au, const char *s, size_t len,
		struct token_info *t)
{
	unsigned char d[SECRET_DIGEST_LEN];
	int r;

	if (len > SECRET_MAX || cfg_check_secret(au->cfg, s, len))
		return -ENOENT;
	store_digest(au->st, s, len, d);
	r = token_find_digest(au->st, d, t);
	sodium_memzero(d, sizeof(d));
	return r;
}

static const char *state_of(const struct token_info *t, int64_t now)
{
	return t->revoked_at	       ? "revoked"
	       : token_expired(t, now) ? "expired"
	       : t->disabled	       ? "disabled"
	       : t->user_blocked       ? "blocked"
				       : "active";
}

int auth_scan(struct auth *au, const char *text, size_t len, auth_scan_fn *fn,
	      void *ctx)
{
	int64_t now = store_now();
	size_t line = 1, line_at = 0, i = 0;
	int r = 0;

	while (i < len && !r) {
		size_t start = i, n, at;
		struct token_info t;
		struct auth_found f = {0};

		if (!body_char(text[i])) {
			if (text[i] == '\n') {
				line++;
				line_at = i + 1;
			}
			i++;
			continue;
		}
		while (i < len && body_char(text[i]))
			i++;
		n = i - start;
		at = prefix_in(au->cfg, text + start, n);
		if (at == n)
			continue;
		/* the whole run, else a secret of the usual length with more
		 * characters stuck to it */
		r = find(au, text + start + at, n - at, &t);
		for (int p = -1; r == -ENOENT && p < au->cfg->n_prev_prefixes;
		     p++) {
			const char *pre =
			    p < 0 ? au->cfg->prefix : au->cfg->prev_prefixes[p];
			size_t plen = strlen(pre) + SECRET_BODY_LEN;
			if (plen < n - at &&
			    !memcmp(text + start + at, pre, strlen(pre)))
				r = find(au, text + start + at, plen, &t);
		}
		if (r && r != -ENOENT)
			return r;
		f.line = line;
		f.column = start + at - line_at + 1;
		f.t = r ? NULL : &t;
		f.state = r ? "unknown" : state_of(&t, now);
		r = fn(ctx, &f);
	}
	return r;
}

struct leak {
	struct auth *au;
	const struct pfs_actor *a;
	int found, known, revoked;
	int err;
};

static int revoke_found(void *ctx, const struct auth_found *f)
{
	struct leak *l = ctx;
	int r;

	l->found++;
	if (!f->t)
		return 0;
	l->known++;
	if (!strcmp(f->state, "revoked") || !strcmp(f->state, "expired"))
		return 0;
	r = token_write_why(l->au->st, l->a, f->t->id, TOKEN_REVOKED, "1", 1,
			    "leaked");
	if (r && !l->err)
		l->err = r;
	l->revoked += !r;
	return 0;
}

int auth_revoke_text(struct auth *au, const struct pfs_actor *a,
		     const char *text, size_t len, int *revoked)
{
	struct leak l = {au, a, 0, 0, 0, 0};
	int r = auth_scan(au, text, len, revoke_found, &l);

	*revoked = l.revoked;
	if (r || l.err)
		return r ? r : l.err;
	if (!l.found)
		return pfs_refuse(EKEYREJECTED,
				  "token_invalid: no token-shaped "
				  "string in the text");
	if (!l.known)
		return pfs_refuse(EKEYREJECTED,
				  "token_invalid: %d token-shaped strings, "
				  "none of them a token's secret",
				  l.found);
	return 0;
}
