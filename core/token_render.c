/* token_render.c - a token's values as its files hold them. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/token.h"

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

size_t token_render(const struct token_info *t, enum token_attr attr,
		    int64_t now, char *buf, size_t size, int64_t *mtime)
{
	char when[21];
	size_t n = 0;
	int w = 0;

	switch (attr) {
	case TOKEN_NAME:
		*mtime = t->created_at;
		w = snprintf(buf, size, "%s\n", t->name);
		break;
	case TOKEN_DESCRIPTION:
		*mtime = t->description_at;
		w = snprintf(buf, size, t->description[0] ? "%s\n" : "%s",
			     t->description);
		break;
	case TOKEN_SCOPES:
		*mtime = t->scopes_at;
		n = policy_render_scopes(t->scopes, buf, size);
		w = (int)n;
		break;
	case TOKEN_IMPERSONATION:
		*mtime = t->impersonation_at;
		w = snprintf(buf, size, "%d\n", t->impersonation ? 1 : 0);
		break;
	case TOKEN_CREATED_AT:
		*mtime = t->created_at;
		policy_format_time(t->created_at, when);
		w = snprintf(buf, size, "%s\n", when);
		break;
	case TOKEN_EXPIRES_AT:
		*mtime = t->expires_at_at;
		policy_format_date(t->expires_day, when);
		w = snprintf(buf, size, "%s", t->expires_day < 0 ? "" : when);
		if (t->expires_day >= 0 && w > 0 && (size_t)w + 1 < size)
			buf[w++] = '\n', buf[w] = '\0';
		break;
	case TOKEN_LAST_USED_AT:
		*mtime = t->last_used_at ? t->last_used_at : t->created_at;
		policy_format_time(t->last_used_at, when);
		w = snprintf(buf, size, t->last_used_at ? "%s\n" : "%.0s",
			     when);
		break;
	case TOKEN_REVOKED:
		*mtime = t->revoked_at ? t->revoked_at : t->created_at;
		w = snprintf(buf, size, "%d\n", t->revoked_at ? 1 : 0);
		break;
	case TOKEN_ACTIVE: {
		/* the latest of the events that can have changed it */
		int64_t m = max64(t->created_at, t->revoked_at);
		m = max64(m, t->user_blocked_at);
		m = max64(m, t->expires_at_at);
		if (token_expired(t, now))
			m = max64(m, t->expires_day * 86400);
		*mtime = m;
		w = snprintf(buf, size, "%d\n", token_active(t, now) ? 1 : 0);
		break;
	}
	case TOKEN_META:
		return token_render_json(t, now, buf, size, mtime);
	case TOKEN_ACCESS_LEVEL: {
		const char *lv = resource_level_name(t->access_level);
		*mtime = t->access_level_at;
		w = snprintf(buf, size, lv ? "%s\n" : "%s", lv ? lv : "");
		break;
	}
	case TOKEN_NOTIFIED: {
		/* "60,30,0" as "60\n30\nexpired\n" */
		const char *s = t->notified;
		*mtime = t->notified_at ? t->notified_at : t->created_at;
		while (*s && (size_t)w + 16 < size) {
			size_t k = strcspn(s, ",");
			w += k == 1 && *s == '0'
				 ? snprintf(buf + w, size - (size_t)w,
					    "expired\n")
				 : snprintf(buf + w, size - (size_t)w, "%.*s\n",
					    (int)k, s);
			s += k + (s[k] == ',');
		}
		if (!w)
			buf[0] = '\0';
		break;
	}
	case TOKEN_BOT:
		*mtime = t->created_at;
		w = snprintf(buf, size, t->resource_id ? "%s\n" : "%.0s",
			     t->user_name);
		break;
	case TOKEN_ROTATE: /* write-only */
	case TOKEN_PREVIOUS:
	case TOKEN_NEXT: /* symlinks: their target is no content */
	case TOKEN_SECRET:
	case TOKEN_NATTR:
		*mtime = t->sealed_at ? t->sealed_at : t->created_at;
		w = snprintf(buf, size, "%s", "");
		break;
	}
	return w < 0 || (size_t)w >= size ? 0 : (size_t)w;
}
