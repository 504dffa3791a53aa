/* token_ics.c - expiring.ics: the expiry dates of active tokens as an
 * iCalendar feed (RFC 5545), one all-day event each; a token revoked (or
 * rotated) in the last ICS_CANCELLED_DAYS keeps its event, cancelled, so
 * that a client that imported it learns it is gone. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patfs/access.h"
#include "patfs/policy.h"
#include "patfs/token.h"
#include "token_core.h"

#define FOLD		   75 /* octets a line may hold, CRLF aside */
#define ICS_CANCELLED_DAYS 30

struct ics {
	const struct pfs_actor *a;
	int64_t now;
	struct token_doc *doc;
	int err;
};

/* Appends one content line: folded at 75 octets (never inside a UTF-8
 * sequence), each part after the first led by a space, ended by CRLF. */
static int line(struct token_doc *d, const char *s, size_t n)
{
	size_t room = FOLD, i = 0;
	int r = 0;

	while (!r && i < n) {
		size_t take = n - i <= room ? n - i : room;
		while (take < n - i && take > 0 &&
		       ((unsigned char)s[i + take] & 0xc0) == 0x80)
			take--; /* back to the start of a sequence */
		r = token_doc_add(d, s + i, take);
		i += take;
		if (!r && i < n)
			r = token_doc_add(d, "\r\n ", 3);
		room = FOLD - 1;
	}
	return r ? r : token_doc_add(d, "\r\n", 2);
}

/* TEXT escaped as RFC 5545 says (backslash, semicolon, comma), into out. */
static size_t text(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s && n + 2 < size; s++) {
		if (*s == '\\' || *s == ';' || *s == ',')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n] = '\0';
	return n;
}

/* "20261230" and "20261230T103000Z" */
static void ics_date(int64_t day, char out[9])
{
	char iso[11];

	policy_format_date(day, iso);
	snprintf(out, 9, "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
}

static void ics_time(int64_t t, char out[17])
{
	char iso[21];

	policy_format_time(t, iso);
	snprintf(out, 17, "%.4s%.2s%.2sT%.2s%.2s%.2sZ", iso, iso + 5, iso + 8,
		 iso + 11, iso + 14, iso + 17);
}

static int event(struct token_doc *d, const struct token_info *t,
		 bool cancelled)
{
	char buf[3 * PFS_NAME_MAX + 128], name[2 * PFS_NAME_MAX + 2],
	    user[2 * PFS_NAME_MAX + 2], object[OBJECT_MAX], day[9], end[9],
	    stamp[17];
	int r, n;

	ics_date(t->expires_day, day);
	ics_date(t->expires_day + 1, end);
	ics_time(cancelled ? t->revoked_at : t->expires_at_at, stamp);
	text(name, sizeof(name), t->name);
	text(user, sizeof(user), t->user_name);
	token_object(t, object);
	r = line(d, "BEGIN:VEVENT", 12);
#define LINE(...)                                                              \
	if (!r) {                                                              \
		n = snprintf(buf, sizeof(buf), __VA_ARGS__);                   \
		r = n < 0 || (size_t)n >= sizeof(buf)                          \
			? -ENAMETOOLONG                                        \
			: line(d, buf, (size_t)n);                             \
	}
	LINE("UID:patfs-token-%" PRId64, t->id);
	LINE("DTSTAMP:%s", stamp);
	LINE("DTSTART;VALUE=DATE:%s", day);
	LINE("DTEND;VALUE=DATE:%s", end);
	LINE("SUMMARY:Token %s of %s expires%s", name, user,
	     cancelled ? " (revoked)" : "");
	LINE("DESCRIPTION:%s", object);
	LINE("TRANSP:TRANSPARENT");
	if (cancelled) {
		LINE("STATUS:CANCELLED");
		LINE("SEQUENCE:1"); /* a new version of the event */
	}
#undef LINE
	return r ? r : line(d, "END:VEVENT", 10);
}

/* Whether l's reader sees t's event: an admin's, or its owner's. */
static bool sees(const struct ics *l, const struct token_info *t)
{
	struct access_obj obj = access_of_token(t, -1);

	return !access_see(l->a, &obj) &&
	       (l->a->admin || t->user_uid == (int64_t)l->a->uid);
}

static int add_event(void *ctx, const struct token_info *t)
{
	struct ics *l = ctx;

	if (!token_active(t, l->now) || !sees(l, t))
		return 0;
	if (t->expires_at_at > l->doc->mtime)
		l->doc->mtime = t->expires_at_at;
	l->err = event(l->doc, t, false);
	return l->err;
}

static int add_cancelled(void *ctx, const struct token_info *t)
{
	struct ics *l = ctx;

	if (!sees(l, t))
		return 0;
	if (t->revoked_at > l->doc->mtime)
		l->doc->mtime = t->revoked_at;
	l->err = event(l->doc, t, true);
	return l->err;
}

int token_ics(struct store *st, const struct pfs_actor *a, int64_t now,
	      struct token_doc *out)
{
	static const char *const head[] = {
	    "BEGIN:VCALENDAR", "VERSION:2.0",
	    "PRODID:-//patfs//patfs " PATFS_VERSION "//EN",
	    "CALSCALE:GREGORIAN", "X-WR-CALNAME:patfs token expiry"};
	struct ics l = {.a = a, .now = now, .doc = out};
	int r = 0;

	out->text = NULL;
	out->len = out->cap = 0;
	out->varies = true;
	for (size_t i = 0; !r && i < sizeof(head) / sizeof(head[0]); i++)
		r = line(out, head[i], strlen(head[i]));
	if (!r && a->admin)
		r = token_list_window(st, policy_day_of(now), INT64_MAX,
				      INT64_MAX, add_event, &l);
	else if (!r)
		r = token_list_uid(st, a->uid, policy_day_of(now), add_event,
				   &l);
	if (!r)
		r = l.err;
	if (!r)
		r = token_list_cancelled(
		    st, now - (int64_t)ICS_CANCELLED_DAYS * 86400,
		    policy_day_of(now), a->admin ? -1 : (int64_t)a->uid,
		    add_cancelled, &l);
	if (!r)
		r = l.err;
	if (!r)
		r = line(out, "END:VCALENDAR", 13);
	if (r) {
		free(out->text);
		out->text = NULL;
	}
	return r;
}
