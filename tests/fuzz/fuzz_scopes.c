/* fuzz_scopes.c - policy_parse_scopes: an accepted list is not empty, and
 * renders to a list that parses to the same scopes. */
#include <stdint.h>

#include "fuzz.h"
#include "patfs/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t mask, again;
	char buf[1024];
	size_t n;

	if (policy_parse_scopes((const char *)data, size, &mask) != 0)
		return 0;
	MUST(mask != 0);
	n = policy_render_scopes(mask, buf, sizeof(buf));
	MUST(n > 0 && n < sizeof(buf));
	MUST(policy_parse_scopes(buf, n, &again) == 0 && again == mask);
	return 0;
}
