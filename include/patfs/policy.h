/* policy.h - scopes, dates, names and values: the rules, without storage. */
#ifndef PATFS_POLICY_H
#define PATFS_POLICY_H

#include <stddef.h>
#include <stdint.h>

enum { POLICY_NSCOPES = 17 };

/* Scope names in sorted order; bit i of a scope mask is policy_scope_names[i].
 */
extern const char *const policy_scope_names[POLICY_NSCOPES];

/* Index of the scope named by the len bytes at name, or -1. */
int policy_scope_index(const char *name, size_t len);

/* True when a token holding mask may act with scope idx (directly or implied).
 */
int policy_scope_granted(uint32_t mask, int idx);

/* What each scope grants besides itself, a line each in the order of
 * policy_scope_names ("api: read_api read_registry ..."), into buf[size]
 * (cut short when size is too small): the length it needs. This is the
 * table policy_scope_granted decides with. */
size_t policy_render_implications(char *buf, size_t size);

/* Parses scopes separated by newlines, spaces or commas. Returns 0, or -EINVAL
 * for an unknown scope or an empty list; *out is set only on success. */
int policy_parse_scopes(const char *s, size_t len, uint32_t *out);

/* Writes the scopes of mask one a line, sorted; returns the length written
 * (at most size-1, NUL-terminated). */
size_t policy_render_scopes(uint32_t mask, char *buf, size_t size);

/* The same on one line, separated by spaces, without a newline (a CSV
 * field, a reason, an audit value): the length. */
size_t policy_render_scope_words(uint32_t mask, char *buf, size_t size);

/* Parses exactly "YYYY-MM-DD", a real date from 1970 on, into days since
 * the epoch. A date is real when formatting it back gives the same text
 * (2027-02-30 does not). Returns 0 or -EINVAL; *day is set only on success.
 */
int policy_parse_date(const char *s, size_t len, int64_t *day);

/* "YYYY-MM-DD" of day, into out[11]. */
void policy_format_date(int64_t day, char out[11]);

/* "YYYY-MM-DDTHH:MM:SSZ" of the Unix time t, into out[21]. */
void policy_format_time(int64_t t, char out[21]);

/* The UTC day of the Unix time t. */
int64_t policy_day_of(int64_t t);

/* Name checks: 0 or -EINVAL. A user name is 1-255 bytes of [A-Za-z0-9_.-]
 * beginning with a letter, digit or underscore. A token name is 1-255 bytes of
 * valid UTF-8 without control or format characters (Unicode Cf, such as the
 * bidi override U+202E), neither all digits nor all white space. */
int policy_check_user_name(const char *s, size_t len);
int policy_check_token_name(const char *s, size_t len);

/* Length of the valid UTF-8 sequence that starts s (at most len bytes), or 0
 * when it is invalid. */
size_t policy_utf8_seq(const char *s, size_t len);

/* True when the len bytes at s are valid UTF-8 without control characters. */
int policy_printable_utf8(const char *s, size_t len);

/* Length of a written value without its one optional trailing newline. */
size_t policy_value_len(const char *s, size_t len);

/* Parses a written "0" or "1" (optional newline). Returns 0 or -EINVAL. */
int policy_parse_bool(const char *s, size_t len, int *out);

/* A written uid (one trailing newline accepted): a decimal below 2^32-1 into
 * *uid, or -1 for an empty value. 0 or -EINVAL. */
int policy_parse_uid(const char *val, size_t len, int64_t *uid);

/* What project and group tokens belong to (resource.h), and how the tree
 * names them: "project", "group"; the directories "projects", "groups". */
enum resource_kind { RESOURCE_PROJECT, RESOURCE_GROUP, RESOURCE_NKINDS };
extern const char *const policy_resource_kind_names[RESOURCE_NKINDS];
extern const char *const policy_resource_dir_names[RESOURCE_NKINDS];

/* GitLab's access levels of project and group tokens, by number (10 guest
 * ... 50 owner) and name. */
#define ACCESS_LEVEL_DEFAULT 40 /* maintainer, as GitLab's API defaults */
const char *policy_level_name(int level); /* NULL when unknown */
/* A written level's name (optional newline): 0 with *level, or -EINVAL. */
int policy_parse_level(const char *val, size_t len, int *level);

/* A user's files (users/<u>/<attr>): the id is read-only. */
enum user_attr { USER_ID, USER_BLOCKED, USER_UID, USER_KIND, USER_NATTR };

/* What a user is, as GitLab has them: a person, a service account (made
 * one by an admin before its first token), or the bot patfs creates with a
 * project's or a group's token. */
enum user_kind {
	USER_HUMAN,
	USER_SERVICE_ACCOUNT,
	USER_PROJECT_BOT,
	USER_GROUP_BOT,
	USER_NKINDS
};
extern const char *const policy_user_kind_names[USER_NKINDS];

#endif
