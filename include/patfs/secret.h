/* secret.h - the pepper, token secrets and their keyed digests (libsodium). */
#ifndef PATFS_SECRET_H
#define PATFS_SECRET_H

#include <stddef.h>

#define SECRET_BODY_LEN	  20  /* random characters after the prefix */
#define SECRET_MAX	  256 /* longest secret accepted, prefix included */
#define SECRET_PEPPER_LEN 32
#define SECRET_DIGEST_LEN 32

/* Reads the pepper file at path, creating it (0600, O_EXCL|O_NOFOLLOW) with
 * random bytes when it does not exist. On success *out is a read-only
 * sodium_malloc'd buffer of SECRET_PEPPER_LEN bytes, owned by the caller (free
 * with secret_pepper_free). On error returns -errno and explains in err. */
int secret_pepper_load(const char *path, unsigned char **out, char *err,
		       size_t errlen);
void secret_pepper_free(unsigned char *pepper);

/* Writes prefix + SECRET_BODY_LEN URL-safe CSPRNG characters + NUL into out
 * (which should be sodium_malloc'd). Returns the length, or -ENAMETOOLONG when
 * size is too small (out is then wiped). */
int secret_generate(const char *prefix, char *out, size_t size);

/* 0 when s (len bytes, no newline) is prefix followed by at least
 * SECRET_BODY_LEN URL-safe characters and at most SECRET_MAX in all; else
 * -EINVAL. */
int secret_check_format(const char *prefix, const char *s, size_t len);

/* The keyed digest of a secret: BLAKE2b keyed with the pepper. */
void secret_digest(const unsigned char *pepper, const char *s, size_t len,
		   unsigned char out[SECRET_DIGEST_LEN]);

#endif
