/* fuzz_names.c - names and descriptions: what is accepted is valid UTF-8
 * without a control character, of the allowed length; a token name is not
 * all digits. */
#include <stdint.h>

#include "fuzz.h"
#include "patfs/policy.h"

/* Walks s as UTF-8: the number of code points, or -1 when invalid or a C0,
 * DEL or C1 control appears. */
static long printable_code_points(const unsigned char *s, size_t len)
{
	long n = 0;

	for (size_t i = 0; i < len; n++) {
		size_t k = policy_utf8_seq((const char *)s + i, len - i);
		if (k == 0)
			return -1;
		if (s[i] < 0x20 || s[i] == 0x7f ||
		    (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0))
			return -1;
		i += k;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int digits = 1;

	for (size_t i = 0; i < size; i++)
		digits &= s[i] >= '0' && s[i] <= '9';
	if (policy_check_token_name(s, size) == 0) {
		MUST(size >= 1 && size <= 255 && !digits);
		MUST(printable_code_points(data, size) > 0);
	}
	if (policy_check_user_name(s, size) == 0)
		MUST(size >= 1 && size <= 255 &&
		     printable_code_points(data, size) > 0);
	if (policy_printable_utf8(s, size))
		MUST(printable_code_points(data, size) >= 0);
	return 0;
}
