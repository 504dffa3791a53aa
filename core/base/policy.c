/* policy.c - scopes and their implications, dates, names, written values. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "patfs/pfs.h"
#include "patfs/policy.h"

const char *const policy_scope_names[POLICY_NSCOPES] = {
    "admin_mode",
    "ai_features",
    "api",
    "create_runner",
    "k8s_proxy",
    "manage_runner",
    "read_api",
    "read_registry",
    "read_repository",
    "read_service_ping",
    "read_user",
    "read_virtual_registry",
    "self_rotate",
    "sudo",
    "write_registry",
    "write_repository",
    "write_virtual_registry",
};

#define BIT(name) (1u << policy_scope_bit_##name)
enum {
	policy_scope_bit_api = 2,
	policy_scope_bit_read_api = 6,
	policy_scope_bit_read_registry = 7,
	policy_scope_bit_read_repository = 8,
	policy_scope_bit_read_user = 10,
	policy_scope_bit_read_virtual_registry = 11,
	policy_scope_bit_write_registry = 14,
	policy_scope_bit_write_repository = 15,
	policy_scope_bit_write_virtual_registry = 16,
};

/* implied[i]: every scope that scope i grants besides itself (transitive). */
static const uint32_t implied[POLICY_NSCOPES] = {
    [2] = BIT(read_api) | BIT(read_user) | BIT(read_repository) |
	  BIT(write_repository) | BIT(read_registry) | BIT(write_registry) |
	  BIT(read_virtual_registry) | BIT(write_virtual_registry),
    [14] = BIT(read_registry),
    [15] = BIT(read_repository),
    [16] = BIT(read_virtual_registry),
};

int policy_scope_index(const char *name, size_t len)
{
	for (int i = 0; i < POLICY_NSCOPES; i++)
		if (strlen(policy_scope_names[i]) == len &&
		    memcmp(policy_scope_names[i], name, len) == 0)
			return i;
	return -1;
}

/* Appends s to buf[size] at *n (counting what does not fit). */
static void append(char *buf, size_t size, size_t *n, const char *s)
{
	size_t len = strlen(s);

	if (*n + len < size)
		memcpy(buf + *n, s, len + 1);
	*n += len;
}

size_t policy_render_implications(char *buf, size_t size)
{
	size_t n = 0;

	for (int i = 0; i < POLICY_NSCOPES; i++) {
		append(buf, size, &n, policy_scope_names[i]);
		append(buf, size, &n, ":");
		for (int j = 0; j < POLICY_NSCOPES; j++)
			if (implied[i] & (1u << j)) {
				append(buf, size, &n, " ");
				append(buf, size, &n, policy_scope_names[j]);
			}
		append(buf, size, &n, "\n");
	}
	return n;
}

int policy_scope_granted(uint32_t mask, int idx)
{
	if (idx < 0 || idx >= POLICY_NSCOPES)
		return 0;
	for (int i = 0; i < POLICY_NSCOPES; i++)
		if ((mask & (1u << i)) &&
		    (i == idx || (implied[i] & (1u << idx))))
			return 1;
	return 0;
}

static int is_sep(char c)
{
	return c == '\n' || c == ' ' || c == ',' || c == '\t';
}

/* Whether s[len] may be echoed in a reason: short printable ASCII. */
static bool echoable(const char *s, size_t len)
{
	if (len == 0 || len > 40)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '!' || s[i] > '~')
			return false;
	return true;
}

int policy_parse_scopes(const char *s, size_t len, uint32_t *out)
{
	uint32_t mask = 0;
	size_t i = 0;

	while (i < len) {
		while (i < len && is_sep(s[i]))
			i++;
		size_t start = i;
		while (i < len && !is_sep(s[i]))
			i++;
		if (i == start)
			break;
		int idx = policy_scope_index(s + start, i - start);
		if (idx < 0 && echoable(s + start, i - start))
			return pfs_refuse(EINVAL,
					  "%.*s is not a scope (the file "
					  "scopes at the root lists them)",
					  (int)(i - start), s + start);
		if (idx < 0)
			return pfs_refuse(EINVAL, "a word is not a scope (the "
						  "file scopes at the root "
						  "lists them)");
		mask |= 1u << idx;
	}
	if (mask == 0)
		return pfs_refuse(EINVAL, "a token has at least one scope");
	*out = mask;
	return 0;
}

size_t policy_render_scopes(uint32_t mask, char *buf, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	for (int i = 0; i < POLICY_NSCOPES; i++) {
		if (!(mask & (1u << i)))
			continue;
		size_t l = strlen(policy_scope_names[i]);
		if (n + l + 2 > size)
			break;
		memcpy(buf + n, policy_scope_names[i], l);
		n += l;
		buf[n++] = '\n';
		buf[n] = '\0';
	}
	return n;
}

size_t policy_render_scope_words(uint32_t mask, char *buf, size_t size)
{
	size_t n = policy_render_scopes(mask, buf, size);

	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	if (n)
		buf[--n] = '\0';
	return n;
}

/* Parses exactly len digits. */
static int digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int policy_parse_date(const char *s, size_t len, int64_t *day)
{
	struct tm tm = {0};
	char back[11];
	time_t t;

	if (len != 10 || s[4] != '-' || s[7] != '-' ||
	    digits(s, 4, &tm.tm_year) || digits(s + 5, 2, &tm.tm_mon) ||
	    digits(s + 8, 2, &tm.tm_mday) || tm.tm_year < 1970)
		return pfs_refuse(EINVAL, "not a date: expected YYYY-MM-DD");
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm); /* normalizes: 2027-02-30 becomes 2027-03-02 */
	if (t == (time_t)-1 || (policy_format_date(policy_day_of(t), back),
				memcmp(back, s, 10) != 0)) /* no round trip */
		return pfs_refuse(EINVAL, "%.10s is not a day of the calendar",
				  s);
	*day = policy_day_of(t);
	return 0;
}

/* Formats the Unix time t with strftime format fmt into out[size]. */
static void format_utc(int64_t t, const char *fmt, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(out, size, fmt, &tm) == 0)
		snprintf(out, size, "%s", "?"); /* beyond year 9999 */
}

void policy_format_date(int64_t day, char out[11])
{
	format_utc(day * 86400, "%Y-%m-%d", out, 11);
}

int64_t policy_day_of(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

void policy_format_time(int64_t t, char out[21])
{
	format_utc(t, "%Y-%m-%dT%H:%M:%SZ", out, 21);
}

int policy_check_user_name(const char *s, size_t len)
{
	if (len == 0 || len > 255)
		return pfs_refuse(EINVAL, "a name is 1 to 255 bytes");
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9');
		if (!alnum && c != '_' && (i == 0 || (c != '.' && c != '-')))
			return pfs_refuse(EINVAL,
					  "a name is made of A-Z a-z 0-9 _ . "
					  "and -, and starts with a letter, "
					  "a digit or _");
	}
	return 0;
}

size_t policy_utf8_seq(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned need, cp;

	if (len == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 1, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 2, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 3, cp = p[0] & 0x07;
	else
		return 0;
	if (need >= len)
		return 0;
	for (unsigned k = 1; k <= need; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

int policy_printable_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = policy_utf8_seq(s + i, len - i);
		if (n == 0 || p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && p[i + 1] < 0xa0))
			return 0; /* invalid, C0, DEL or C1 */
		i += n;
	}
	return 1;
}

/* The code point of the valid UTF-8 sequence of n bytes at p. */
static uint32_t code_point(const unsigned char *p, size_t n)
{
	static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = p[0] & lead_mask[n];

	for (size_t k = 1; k < n; k++)
		cp = cp << 6 | (p[k] & 0x3f);
	return cp;
}

/* Unicode's format characters (general category Cf): invisible, and some
 * reorder what follows (U+202E turns "gnp.exe" around). */
static bool is_format(uint32_t c)
{
	static const uint32_t ranges[][2] = {
	    {0x00ad, 0x00ad},	{0x0600, 0x0605},   {0x061c, 0x061c},
	    {0x06dd, 0x06dd},	{0x070f, 0x070f},   {0x0890, 0x0891},
	    {0x08e2, 0x08e2},	{0x180e, 0x180e},   {0x200b, 0x200f},
	    {0x202a, 0x202e},	{0x2060, 0x2064},   {0x2066, 0x206f},
	    {0xfeff, 0xfeff},	{0xfff9, 0xfffb},   {0x110bd, 0x110bd},
	    {0x110cd, 0x110cd}, {0x13430, 0x1343f}, {0x1bca0, 0x1bca3},
	    {0x1d173, 0x1d17a}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (c >= ranges[i][0] && c <= ranges[i][1])
			return true;
	return false;
}

/* Unicode's white space (property White_Space), controls aside. */
static bool is_space(uint32_t c)
{
	return c == ' ' || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202f || c == 0x205f || c == 0x3000;
}

int policy_check_token_name(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	bool digits = true, spaces = true;

	if (len == 0 || len > PFS_NAME_MAX || !policy_printable_utf8(s, len))
		return pfs_refuse(EINVAL,
				  "a token's name is 1 to %d bytes of "
				  "UTF-8 without control characters",
				  PFS_NAME_MAX);
	for (size_t i = 0; i < len;) {
		size_t n = policy_utf8_seq(s + i, len - i);
		uint32_t c = code_point(p + i, n);
		if (is_format(c))
			return pfs_refuse(EINVAL,
					  "a token's name has no Unicode "
					  "format characters (such as U+202E, "
					  "which turns text around)");
		digits = digits && c >= '0' && c <= '9';
		spaces = spaces && is_space(c);
		i += n;
	}
	if (digits)
		return pfs_refuse(EINVAL, "a token's name is not all digits: "
					  "those are its id's");
	return spaces ? pfs_refuse(EINVAL, "a token's name is not all white "
					   "space")
		      : 0;
}

size_t policy_value_len(const char *s, size_t len)
{
	return len > 0 && s[len - 1] == '\n' ? len - 1 : len;
}

int policy_parse_bool(const char *s, size_t len, int *out)
{
	len = policy_value_len(s, len);
	if (len != 1 || (s[0] != '0' && s[0] != '1'))
		return pfs_refuse(EINVAL, "expected 0 or 1");
	*out = s[0] == '1';
	return 0;
}

/* Parses a written uid: a decimal below 2^32-1, or empty for none (-1). */
int policy_parse_uid(const char *val, size_t len, int64_t *uid)
{
	int64_t v = 0;

	len = policy_value_len(val, len);
	if (len == 0) {
		*uid = -1;
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (len > 10 || val[i] < '0' || val[i] > '9' ||
		    (v = v * 10 + (val[i] - '0')) >= UINT32_MAX)
			return pfs_refuse(EINVAL,
					  "expected a decimal uid below "
					  "4294967295, or a newline for none");
	}
	*uid = v;
	return 0;
}

const char *const policy_resource_kind_names[RESOURCE_NKINDS] = {"project",
								 "group"};
const char *const policy_resource_dir_names[RESOURCE_NKINDS] = {"projects",
								"groups"};

static const struct {
	int level;
	const char *name;
} levels[] = {{10, "guest"},	 {15, "planner"},    {20, "reporter"},
	      {30, "developer"}, {40, "maintainer"}, {50, "owner"}};
#define NLEVELS ((int)(sizeof(levels) / sizeof(levels[0])))

const char *policy_level_name(int level)
{
	for (int i = 0; i < NLEVELS; i++)
		if (levels[i].level == level)
			return levels[i].name;
	return NULL;
}

int policy_parse_level(const char *val, size_t len, int *level)
{
	len = policy_value_len(val, len);
	for (int i = 0; i < NLEVELS; i++)
		if (len == strlen(levels[i].name) &&
		    !memcmp(val, levels[i].name, len)) {
			*level = levels[i].level;
			return 0;
		}
	return pfs_refuse(EINVAL, "expected guest, planner, reporter, "
				  "developer, maintainer or owner");
}

const char *const policy_user_kind_names[USER_NKINDS] = {
    "human", "service_account", "project_bot", "group_bot"};
