/* tokenInt.h - token operations for other core modules; not public. */
#ifndef PATFS_TOKEN_INT_H
#define PATFS_TOKEN_INT_H

#include <stdint.h>

#include "patfs/secret.h"
#include "patfs/token.h"

/* The token whose secret has digest d: 0, -ENOENT, or -errno. */
int token_find_digest(struct store *st,
		      const unsigned char d[SECRET_DIGEST_LEN],
		      struct token_info *out);

/* Sets last_used_at of token id to now unless it was set within interval
 * seconds; concurrent calls write it once. 0 or -errno. */
int token_touch(struct store *st, const struct token_info *t, int64_t now,
		int interval);

#endif
