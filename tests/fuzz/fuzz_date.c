/* fuzz_date.c - policy_parse_date: whatever it accepts formats back to the
 * same text (one trailing newline aside). */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "patfs/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char back[11];
	int64_t day;

	if (policy_parse_date(s, size, &day) != 0)
		return 0;
	policy_format_date(day, back);
	size = policy_value_len(s, size);
	MUST(size == 10 && memcmp(back, s, 10) == 0);
	return 0;
}
