/* test_token.c - unit tests of the token model (core/token*.c, resource.c,
 * notice.c): minting, attributes, rotation, projects and groups, expiry
 * notices. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/store/storeInt.h"
#include "check.h"
#include "patfs/audit.h"
#include "patfs/cfg.h"
#include "patfs/json.h"
#include "patfs/json_read.h"
#include "patfs/notice.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/secret.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "patfs/user.h"

static int collect_notice(void *ctx, const struct notice *n)
{
	struct notice *out = ctx;

	out[out[0].threshold++ + 1] = *n; /* out[0].threshold: the count */
	return out[0].threshold == 7;
}

/* The token model: rotation and families, projects' bots, notices, the
 * calendar. */
static void test_model(void)
{
	struct pfs_actor root = {.admin = true, .comm = "test"};
	struct store *st = NULL;
	struct token_info t;
	struct token_doc doc;
	struct notice due[8];
	struct cfg c;
	char err[512];
	int64_t uid, a, b, c2, next, rid, ptid, day;

	unlink("m.db");
	unlink("m.db-wal");
	unlink("m.db-shm");
	write_file("m.ini", "[store]\npath = m.db\npepper_file = p.pepper\n");
	CHECK_EQ(cfg_load(&c, "m.ini", err, sizeof(err)), 0);
	c.store_init = true;
	CHECK_EQ(store_open(&st, &c, err, sizeof(err)), 0);
	if (!st)
		return;
	CHECK_EQ(user_create(st, &root, "alice", 5, &uid), 0);
	CHECK_EQ(token_mint(st, &root, uid, "ci", 2, &a), 0);

	/* rotation: bad values change nothing; the successor keeps the name */
	CHECK_EQ(token_rotate(st, &root, a, "0", 1, &next), -EINVAL);
	CHECK_EQ(token_rotate(st, &root, a, "2020-01-01", 10, &next), -EINVAL);
	CHECK_EQ(token_rotate(st, &root, a, "1\n", 2, &b), 0);
	CHECK_EQ(token_get(st, b, &t), 0);
	CHECK(!strcmp(t.name, "ci") && t.previous_id == a && t.family_id == a);
	CHECK_EQ(t.expires_day, policy_day_of(store_now()) + 7);
	CHECK_EQ(token_get(st, a, &t), 0);
	CHECK(t.revoked_at && t.next_id == b);
	CHECK_EQ(token_rotate(st, &root, b, "1", 1, &c2), 0);
	/* a rotated token again: the family is revoked, and that is kept */
	CHECK_EQ(token_rotate(st, &root, a, "1", 1, &next), -EPERM);
	CHECK_EQ(token_get(st, c2, &t), 0);
	CHECK(t.revoked_at != 0 && t.family_id == a);
	/* token_write does not rotate, nor writes what is read-only */
	CHECK_EQ(token_write(st, &root, c2, TOKEN_ROTATE, "1", 1), -EPERM);
	CHECK_EQ(token_write(st, &root, c2, TOKEN_META, "{}", 2), -EPERM);

	/* a project's token is held by a new bot */
	CHECK_EQ(resource_create(st, &root, RESOURCE_PROJECT, "web", 3, &rid),
		 0);
	CHECK_EQ(resource_create(st, &root, RESOURCE_PROJECT, "web", 3, &rid),
		 -EEXIST);
	CHECK_EQ(resource_write(st, &root, rid, RESOURCE_PATH, "a//b", 4),
		 -EINVAL);
	CHECK_EQ(resource_write(st, &root, rid, RESOURCE_PATH, "a/../b", 6),
		 -EINVAL);
	CHECK_EQ(resource_write(st, &root, rid, RESOURCE_PATH, "org/web\n", 8),
		 0);
	CHECK_EQ(resource_mint(st, &root, rid, "deploy", 6, &ptid), 0);
	CHECK_EQ(resource_mint(st, &root, rid, "deploy", 6, &next), -EEXIST);
	CHECK_EQ(token_get(st, ptid, &t), 0);
	CHECK_EQ(t.user_kind, USER_PROJECT_BOT);
	CHECK_EQ(t.access_level, ACCESS_LEVEL_DEFAULT);
	CHECK(!strcmp(t.resource_path, "org/web"));
	CHECK(!strncmp(t.user_name, "project_", 8));
	CHECK_EQ(resource_remove(st, &root, rid), -ENOTEMPTY);
	CHECK_EQ(token_write(st, &root, ptid, TOKEN_ACCESS_LEVEL, "owner", 5),
		 0);
	CHECK_EQ(token_write(st, &root, ptid, TOKEN_ACCESS_LEVEL, "50", 2),
		 -EINVAL);
	CHECK_EQ(token_write(st, &root, a, TOKEN_ACCESS_LEVEL, "owner", 5),
		 -EPERM); /* a personal token has none */

	/* notices: 10 days left passes 60 and 30: one notice, for 30 */
	CHECK_EQ(token_mint(st, &root, uid, "soon", 4, &next), 0);
	day = policy_day_of(store_now()) + 10;
	{
		char when[11];
		policy_format_date(day, when);
		CHECK_EQ(
		    token_write(st, &root, next, TOKEN_EXPIRES_AT, when, 10),
		    0);
	}
	memset(due, 0, sizeof(due));
	CHECK_EQ(notice_due(st, store_now(), NULL, collect_notice, due), 0);
	{
		int found = 0;
		for (int i = 1; i <= due[0].threshold; i++)
			if (due[i].t.id == next) {
				found = 1;
				CHECK_EQ(due[i].threshold, 30);
				CHECK_EQ(due[i].days_left, 10);
				CHECK(!strcmp(due[i].mark, "60,30"));
				CHECK_EQ(notice_record(st, &root, &due[i]), 0);
				CHECK_EQ(notice_record(st, &root, &due[i]),
					 -EALREADY);
			}
		CHECK(found);
	}
	CHECK_EQ(token_get(st, next, &t), 0);
	CHECK(!strcmp(t.notified, "60,30"));

	/* the calendar: CRLF lines of at most 75 octets, one event each */
	memset(&doc, 0, sizeof(doc));
	CHECK_EQ(token_ics(st, &root, store_now(), &doc), 0);
	if (doc.text) {
		int events = 0, cancelled = 0;
		for (char *l = doc.text; *l;) {
			char *e = strstr(l, "\r\n");
			CHECK(e && e - l <= 75);
			if (!e)
				break;
			events += !strncmp(l, "BEGIN:VEVENT", 12);
			cancelled += !strncmp(l, "STATUS:CANCELLED", 16);
			l = e + 2;
		}
		/* soon, and the project's deploy; and the three revoked above,
		 * cancelled */
		CHECK_EQ(events, 5);
		CHECK_EQ(cancelled, 3);
		free(doc.text);
	}
	store_close(st);
	cfg_free(&c);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	check_scratch("test_token.d");
	test_model();
	return check_done();
}
