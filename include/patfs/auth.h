/* auth.h - checking a presented token, as a service linking core would.
 *
 *	struct store *st; struct auth *au;
 *	cfg_load(&cfg, "/etc/patfs.ini", err, sizeof(err));
 *	store_open(&st, &cfg, err, sizeof(err));
 *	auth_open(&au, st, err, sizeof(err));
 *	r = auth_check(au, &caller, "read_api", secret, len, "/api/v4/user");
 *
 * The daemon and any number of such processes share the store: revocations
 * and last_used_at are seen by all at their next check. */
#ifndef PATFS_AUTH_H
#define PATFS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "patfs/pfs.h"

struct auth;
struct store;
struct token_info;

/* Opens the checker of st: its auth log ([auth] log, appended, created 0600)
 * and its per-uid failure counts. *out is owned by the caller (auth_close).
 * On error returns -errno and explains in err. */
int auth_open(struct auth **out, struct store *st, char *err, size_t errlen);
void auth_close(struct auth *au);

/* The checks since auth_open, by how they ended: fn hears "ok", then each
 * reason the auth log gives (token_expired, rate_limited, ...), with its
 * count, every one even when 0. */
void auth_counts(struct auth *au,
		 void (*fn)(void *ctx, const char *reason, uint64_t n),
		 void *ctx);

/* Checks that secret (len bytes, one trailing newline accepted) is a token
 * that may act with scope: it exists, is not revoked nor expired, its owner
 * is not blocked, it carries scope or one implying it, and it is no
 * impersonation token while those are disabled. Returns 0, and sets
 * last_used_at at most once per last_used_interval_s; or fails with
 * -EKEYEXPIRED, -EKEYREVOKED, -EACCES (insufficient_scope), -EKEYREJECTED
 * (impersonation_disabled, user_blocked, token_invalid), -EAGAIN (a.uid
 * failed max_failures_per_minute times this minute), or -EINVAL for an
 * unknown scope. Each failure appends one line to the auth log, with path
 * and a's uid, pid and comm (read from /proc/<pid>/comm when a->comm is
 * empty); never the secret. Nothing of the secret is kept. */
int auth_check(struct auth *au, const struct pfs_actor *a, const char *scope,
	       const char *secret, size_t len, const char *path);

/* The same, for a service that checks tokens presented by its own clients:
 * client names the one this check is for (an address or a name, 1 to
 * AUTH_CLIENT_MAX characters of A-Z a-z 0-9 . : _ - [ ] %: -EINVAL else),
 * and a's failures are counted for that client alone (max_failures_per_
 * minute each, even for a uid [auth] unlimited_uids lists), so that one
 * client's guesses cannot lock out the others. The auth log records it.
 * auth_check takes it from a second line "from=CLIENT" after the secret,
 * which is how auth/<scope> is written with one. NULL: none. */
#define AUTH_CLIENT_MAX 64
int auth_check_client(struct auth *au, const struct pfs_actor *a,
		      const char *scope, const char *secret, size_t len,
		      const char *path, const char *client);

/* Whether s[len] may name a client (see auth_check_client). */
bool auth_client_ok(const char *s, size_t len);

/* Self-rotation: the holder of secret, a token with the self_rotate or the
 * api scope that passes as auth_check says, rotates it (token_rotate, by
 * the secret's authority: no right of a's is needed). Its successor is
 * sealed at once with a new secret, put in out (size bytes, best
 * sodium_malloc'd; SECRET_MAX will do), and the secret's length returned.
 * Fails as auth_check does, logged alike; a secret of a token that was
 * rotated already fails -EKEYREVOKED and, as token_rotate says, revokes
 * its family. */
int auth_rotate(struct auth *au, const struct pfs_actor *a, const char *secret,
		size_t len, const char *path, char *out, size_t size);

/* The token whose secret this is (any state): 0, or -EKEYREJECTED when no
 * token has it. */
int auth_find(struct auth *au, const char *secret, size_t len,
	      struct token_info *out);

/* Revokes the token whose secret this is, audited as a's change: 0 (also
 * when it was revoked already), -EKEYREJECTED when no token has it. */
int auth_revoke(struct auth *au, const struct pfs_actor *a, const char *secret,
		size_t len);

/* Tells fn (from the checking thread: it must not block) of each source
 * a token passes its first check from (used_from's new line), with the
 * token and the source ("host=... uid=... comm=... [client=...]"). */
typedef void auth_source_fn(void *ctx, const struct token_info *t,
			    const char *source);
void auth_on_new_source(struct auth *au, auth_source_fn *fn, void *ctx);

/* A token-shaped string found in a text: where (1-based line and byte
 * column), the token whose secret it is (NULL: none), and its state:
 * active, disabled, blocked (its owner is), revoked, expired, or unknown. */
struct auth_found {
	size_t line, column;
	const struct token_info *t;
	const char *state;
};
typedef int auth_scan_fn(void *ctx, const struct auth_found *f);

/* Calls fn for each token-shaped string in text[len] (a recognised prefix,
 * the current or a previous one, and at least SECRET_BODY_LEN characters
 * of a secret's alphabet), in order, until fn returns nonzero: 0, fn's
 * answer, or -errno. Nothing of a secret is kept. */
int auth_scan(struct auth *au, const char *text, size_t len, auth_scan_fn *fn,
	      void *ctx);

/* Revokes, as a, every token whose secret text[len] holds and that is
 * neither revoked nor expired, audited with the reason "leaked"; *revoked
 * counts them. 0, -EKEYREJECTED when the text holds no token's secret, or
 * the first other -errno (the rest are still revoked). */
int auth_revoke_text(struct auth *au, const struct pfs_actor *a,
		     const char *text, size_t len, int *revoked);

#endif
