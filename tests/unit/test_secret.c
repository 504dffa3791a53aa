/* test_secret.c - unit tests of core/secret.c: secrets, digests and the pepper
 * file. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/store/storeInt.h"
#include "check.h"
#include "patfs/audit.h"
#include "patfs/cfg.h"
#include "patfs/json.h"
#include "patfs/json_read.h"
#include "patfs/notice.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/secret.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "patfs/user.h"

static void test_secrets(void)
{
	unsigned char *pepper = NULL, d1[SECRET_DIGEST_LEN],
		      d2[SECRET_DIGEST_LEN];
	char s[64], small[8], err[256];
	struct stat sb;
	int n;

	unlink("p.pepper");
	CHECK_EQ(secret_pepper_load("p.pepper", &pepper, err, sizeof(err)), 0);
	CHECK(stat("p.pepper", &sb) == 0 && (sb.st_mode & 0777) == 0600);
	n = secret_generate("glpat-", s, sizeof(s));
	CHECK_EQ(n, 26);
	CHECK_EQ(secret_check_format("glpat-", s, (size_t)n), 0);
	CHECK_EQ(secret_check_format("ghp_", s, (size_t)n), -EINVAL);
	CHECK_EQ(secret_check_format("glpat-", s, (size_t)n - 1), -EINVAL);
	CHECK_EQ(secret_generate("glpat-", small, sizeof(small)),
		 -ENAMETOOLONG);
	secret_digest(pepper, s, (size_t)n, d1);
	secret_digest(pepper, s, (size_t)n, d2);
	CHECK(sodium_memcmp(d1, d2, sizeof(d1)) == 0);
	s[7] ^= 1;
	secret_digest(pepper, s, (size_t)n, d2);
	CHECK(sodium_memcmp(d1, d2, sizeof(d1)) != 0);
	secret_pepper_free(pepper);
	/* the same file gives the same pepper; a short one is refused */
	CHECK_EQ(secret_pepper_load("p.pepper", &pepper, err, sizeof(err)), 0);
	s[7] ^= 1;
	secret_digest(pepper, s, (size_t)n, d2);
	CHECK(sodium_memcmp(d1, d2, sizeof(d1)) == 0);
	secret_pepper_free(pepper);
	write_file("short.pepper", "abc");
	CHECK_EQ(secret_pepper_load("short.pepper", &pepper, err, sizeof(err)),
		 -EINVAL);
	unlink("link.pepper");
	CHECK(symlink("p.pepper", "link.pepper") == 0);
	CHECK_EQ(secret_pepper_load("link.pepper", &pepper, err, sizeof(err)),
		 -ELOOP);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	check_scratch("test_secret.d");
	test_secrets();
	return check_done();
}
