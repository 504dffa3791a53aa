/* auth_subuid.c - the owners of subordinate uid ranges (/etc/subuid), so
 * that a user who becomes thousands of uids (unshare --map-auto) is limited
 * as one. */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authInt.h"

/* The uid a line's first field names: a user's name, or a number. */
static int owner_uid(const char *name, uint32_t *uid)
{
	struct passwd pw, *found = NULL;
	char buf[1024], *end;
	unsigned long n;

	if (isdigit((unsigned char)name[0])) {
		n = strtoul(name, &end, 10);
		if (*end || n > UINT32_MAX)
			return -EINVAL;
		*uid = (uint32_t)n;
		return 0;
	}
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &found) || !found)
		return -ENOENT;
	*uid = (uint32_t)pw.pw_uid;
	return 0;
}

/* The decimal number at *p, up to the character stop (p moves past it):
 * 0, or -1 when there is none, it overflows, or stop does not follow. */
static int number(char **p, char stop, unsigned long long *out)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	*out = strtoull(*p, &end, 10);
	if (errno || *end != stop)
		return -1;
	*p = end + 1;
	return 0;
}

/* NAME:FIRST:COUNT of one line (its newline cut) into name[256]: 0 or -1. */
static int parse_range(char *line, char name[256], unsigned long long *start,
		       unsigned long long *count)
{
	size_t n = strcspn(line, ":");
	char *p = line + n + 1;

	line[strcspn(line, "\n")] = '\0';
	if (n == 0 || n > 255 || line[n] != ':')
		return -1;
	memcpy(name, line, n);
	name[n] = '\0';
	return number(&p, ':', start) || number(&p, '\0', count) ? -1 : 0;
}

int auth_subuid_load(struct auth_subuid *s, const char *path)
{
	char line[512], name[256];
	unsigned long long start, count;
	FILE *f;

	s->n = 0;
	if (!path || !(f = fopen(path, "re")))
		return 0; /* none: every uid is its own */
	while (fgets(line, sizeof(line), f) && s->n < AUTH_SUBUID_MAX) {
		struct auth_subuid_range *r = &s->range[s->n];
		if (parse_range(line, name, &start, &count) || count == 0 ||
		    start > UINT32_MAX || count > UINT32_MAX - start + 1 ||
		    owner_uid(name, &r->owner))
			continue; /* not a range of a known user */
		r->first = (uint32_t)start;
		r->last = (uint32_t)(start + count - 1);
		s->n++;
	}
	fclose(f);
	return 0;
}

uint32_t auth_subuid_owner(const struct auth_subuid *s, uint32_t uid)
{
	for (int i = 0; i < s->n; i++)
		if (uid >= s->range[i].first && uid <= s->range[i].last)
			return s->range[i].owner;
	return uid;
}
