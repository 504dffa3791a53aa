/* fuzz_bool.c - policy_parse_bool and policy_parse_uid: only "0"/"1" are
 * booleans; an accepted uid is below 2^32-1 and its digits are the input. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "patfs/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t len = policy_value_len(s, size);
	char digits[32];
	int64_t uid;
	int b;

	if (policy_parse_bool(s, size, &b) == 0)
		MUST(len == 1 && (s[0] == '0' || s[0] == '1') &&
		     b == s[0] - '0');
	if (policy_parse_uid(s, size, &uid) == 0) {
		if (len == 0) {
			MUST(uid == -1);
		} else {
			MUST(uid >= 0 && uid < UINT32_MAX);
			snprintf(digits, sizeof(digits), "%" PRId64, uid);
			while (len > 1 && s[0] == '0')
				s++, len--; /* leading zeros */
			MUST(strlen(digits) == len &&
			     memcmp(digits, s, len) == 0);
		}
	}
	return 0;
}
