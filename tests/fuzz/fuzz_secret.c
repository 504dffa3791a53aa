/* fuzz_secret.c - secret_check_format and secret_digest: an accepted
 * secret is the prefix and at least 20 URL-safe characters; a digest of any
 * input is computed without fault, the same twice. */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "patfs/secret.h"

static const unsigned char pepper[32] = {1, 2, 3};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	unsigned char a[SECRET_DIGEST_LEN], b[SECRET_DIGEST_LEN];

	if (secret_check_format("glpat-", s, size) == 0) {
		size_t len = size && s[size - 1] == '\n' ? size - 1 : size;
		MUST(len >= 26 && memcmp(s, "glpat-", 6) == 0);
		for (size_t i = 6; i < len; i++)
			MUST((s[i] >= 'a' && s[i] <= 'z') ||
			     (s[i] >= 'A' && s[i] <= 'Z') ||
			     (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			     s[i] == '_');
	}
	secret_digest(pepper, s, size, a);
	secret_digest(pepper, s, size, b);
	MUST(sodium_memcmp(a, b, sizeof(a)) == 0);
	return 0;
}
