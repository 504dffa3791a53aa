/* auth_client.c - the client a check is made for: its name's form, and the
 * line from=CLIENT written after a secret (auth.h's auth_check_client). */
#include <errno.h>
#include <string.h>

#include "authInt.h"
#include "patfs/auth.h"
#include "patfs/policy.h"

bool auth_client_ok(const char *s, size_t len)
{
	if (len == 0 || len > AUTH_CLIENT_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] && strchr(".:_-[]%", s[i]))))
			return false;
	return true;
}

int auth_split_client(const char *buf, size_t *len, char *client)
{
	const char *nl = memchr(buf, '\n', *len), *v;
	size_t rest, n;

	client[0] = '\0';
	if (!nl)
		return 0;
	rest = *len - (size_t)(nl + 1 - buf);
	*len = (size_t)(nl - buf);
	if (rest == 0)
		return 0;
	v = nl + 1;
	n = policy_value_len(v, rest);
	if (n < 5 || memcmp(v, "from=", 5) != 0 ||
	    !auth_client_ok(v + 5, n - 5))
		return pfs_refuse(EINVAL,
				  "after the secret comes nothing, or one line "
				  "from=CLIENT (1 to %d characters of A-Z a-z "
				  "0-9 . : _ - [ ] %%)",
				  AUTH_CLIENT_MAX);
	memcpy(client, v + 5, n - 5);
	client[n - 5] = '\0';
	return 0;
}
