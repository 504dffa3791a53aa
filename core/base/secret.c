/* secret.c - the pepper file, token secrets and their keyed digests. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "patfs/secret.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Reads exactly n bytes; 0 or -errno (-EINVAL when the file is short). */
static int read_full(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EINVAL;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const unsigned char *buf, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t r = write(fd, buf + put, n - put);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		put += (size_t)r;
	}
	return 0;
}

/* Makes a new pepper in pepper and writes it to fd, the new file path
 * (removed again on failure): 0 or -errno with err. */
static int pepper_create(int fd, const char *path, unsigned char *pepper,
			 char *err, size_t errlen)
{
	int r;

	randombytes_buf(pepper, SECRET_PEPPER_LEN);
	r = write_full(fd, pepper, SECRET_PEPPER_LEN);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (r) {
		snprintf(err, errlen, "pepper file %s: %s", path, strerror(-r));
		unlink(path);
	}
	return r;
}

/* Reads the pepper of fd, the file path, into pepper: 0 or -errno with
 * err (not a regular file of SECRET_PEPPER_LEN bytes: -EINVAL). */
static int pepper_read(int fd, const char *path, unsigned char *pepper,
		       char *err, size_t errlen)
{
	struct stat sb;
	int r;

	if (fstat(fd, &sb) < 0) {
		r = -errno;
		snprintf(err, errlen, "pepper file %s: %s", path,
			 strerror(errno));
		return r;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size != SECRET_PEPPER_LEN) {
		snprintf(err, errlen,
			 "pepper file %s: not a regular file of %d bytes", path,
			 SECRET_PEPPER_LEN);
		return -EINVAL;
	}
	r = read_full(fd, pepper, SECRET_PEPPER_LEN);
	if (r)
		snprintf(err, errlen, "pepper file %s: %s", path, strerror(-r));
	return r;
}

int secret_pepper_load(const char *path, unsigned char **out, char *err,
		       size_t errlen)
{
	unsigned char *pepper = NULL;
	int fd = -1, r, created = 0;

	pepper = sodium_malloc(SECRET_PEPPER_LEN);
	if (!pepper) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		created = fd >= 0;
	}
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "pepper file %s: %s", path,
			 strerror(errno));
		goto free_pepper;
	}
	r = created ? pepper_create(fd, path, pepper, err, errlen)
		    : pepper_read(fd, path, pepper, err, errlen);
	close(fd);
	if (r)
		goto free_pepper;
	sodium_mprotect_readonly(pepper);
	*out = pepper;
	return 0;

free_pepper:
	sodium_free(pepper);
	return r;
}

void secret_pepper_free(unsigned char *pepper)
{
	sodium_free(pepper);
}

int secret_generate(const char *prefix, char *out, size_t size)
{
	size_t plen = strlen(prefix);

	if (plen + SECRET_BODY_LEN + 1 > size) {
		sodium_memzero(out, size);
		return -ENAMETOOLONG;
	}
	memcpy(out, prefix, plen);
	for (size_t i = 0; i < SECRET_BODY_LEN; i++)
		out[plen + i] = alphabet[randombytes_uniform(64)];
	out[plen + SECRET_BODY_LEN] = '\0';
	return (int)(plen + SECRET_BODY_LEN);
}

int secret_check_format(const char *prefix, const char *s, size_t len)
{
	size_t plen = strlen(prefix);

	if (len > SECRET_MAX || len < plen + SECRET_BODY_LEN ||
	    memcmp(s, prefix, plen) != 0)
		return -EINVAL;
	for (size_t i = plen; i < len; i++)
		if (!memchr(alphabet, s[i], sizeof(alphabet) - 1))
			return -EINVAL;
	return 0;
}

void secret_digest(const unsigned char *pepper, const char *s, size_t len,
		   unsigned char out[SECRET_DIGEST_LEN])
{
	crypto_generichash(out, SECRET_DIGEST_LEN, (const unsigned char *)s,
			   len, pepper, SECRET_PEPPER_LEN);
}
