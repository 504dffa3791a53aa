/* fuzz_json.c - the JSON writer: any bytes as keys and values give either
 * "does not fit" or text with no raw control character, every escape one
 * JSON knows, strings closed, brackets balanced. */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "patfs/json.h"

/* Checks the shape of text (n bytes) as JSON a strict reader accepts. */
static void check(const char *text, int n)
{
	int depth = 0, in_str = 0;

	MUST(n >= 2 && text[0] == '{' && text[n - 1] == '}');
	for (int i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		MUST(c >= 0x20);
		if (in_str) {
			if (c == '\\') {
				MUST(i + 1 < n &&
				     strchr("\"\\/bfnrtu", text[i + 1]));
				if (text[i + 1] == 'u') {
					MUST(i + 5 < n);
					for (int k = 2; k < 6; k++)
						MUST(strchr(
						    "0123456789abcdefABCDEF",
						    text[i + k]));
				}
				i++;
			} else if (c == '"') {
				in_str = 0;
			}
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			MUST(--depth >= 0);
		}
	}
	MUST(!in_str && depth == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t half = size / 2;
	char key[64], out[4096];
	struct json j;
	int n;

	snprintf(key, sizeof(key), "%.*s", (int)(half < 63 ? half : 63),
		 (const char *)data);
	json_init(&j, out, sizeof(out));
	json_begin(&j, NULL, '{');
	json_str(&j, key, (const char *)data + half, size - half);
	json_begin(&j, "list", '[');
	json_str(&j, NULL, (const char *)data, half);
	json_int(&j, NULL, (int64_t)size * -7);
	json_bool(&j, NULL, size & 1);
	json_str(&j, NULL, NULL, 0);
	json_end(&j, ']');
	json_end(&j, '}');
	n = json_finish(&j);
	if (n >= 0) {
		MUST((size_t)n < sizeof(out) && out[n] == '\0');
		check(out, n);
	}
	return 0;
}
