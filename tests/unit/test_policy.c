/* test_policy.c - unit tests of core/policy.c: scopes, dates, names and written
 * values. */
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

static int scope(const char *name)
{
	return policy_scope_index(name, strlen(name));
}

static void test_scopes(void)
{
	uint32_t m = 0;
	char buf[512];

	CHECK_EQ(policy_parse_scopes("api", 3, &m), 0);
	CHECK(policy_scope_granted(m, scope("read_api")));
	CHECK(policy_scope_granted(m, scope("read_repository")));
	CHECK(policy_scope_granted(m, scope("write_virtual_registry")));
	CHECK(!policy_scope_granted(m, scope("sudo")));
	CHECK(!policy_scope_granted(m, scope("create_runner")));
	CHECK(!policy_scope_granted(m, scope("k8s_proxy")));
	CHECK_EQ(policy_parse_scopes("write_repository", 16, &m), 0);
	CHECK(policy_scope_granted(m, scope("read_repository")));
	CHECK(!policy_scope_granted(m, scope("read_api")));
	CHECK(!policy_scope_granted(1u << scope("read_api"), scope("api")));
	CHECK(!policy_scope_granted(m, -1));
	m = 0;
	CHECK_EQ(policy_parse_scopes("api bogus", 9, &m), -EINVAL);
	CHECK_EQ(m, 0);
	CHECK_EQ(policy_parse_scopes(" \n,", 3, &m), -EINVAL);
	CHECK_EQ(policy_parse_scopes("sudo,api\nread_user ", 19, &m), 0);
	policy_render_scopes(m, buf, sizeof(buf));
	CHECK(!strcmp(buf, "api\nread_user\nsudo\n"));
	for (int i = 1; i < POLICY_NSCOPES; i++)
		CHECK(strcmp(policy_scope_names[i - 1], policy_scope_names[i]) <
		      0);
}

static void test_dates(void)
{
	int64_t d;
	char buf[21];

	CHECK_EQ(policy_parse_date("1970-01-01", 10, &d), 0);
	CHECK_EQ(d, 0);
	CHECK_EQ(policy_parse_date("2024-02-29", 10, &d), 0);
	policy_format_date(d, buf);
	CHECK(!strcmp(buf, "2024-02-29"));
	CHECK_EQ(policy_parse_date("2023-02-29", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2100-02-29", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2000-02-29", 10, &d), 0);
	CHECK_EQ(policy_parse_date("2027-04-31", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-00-10", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-1-10", 9, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-01-1x", 10, &d), -EINVAL);
	/* a date is real when it formats back to itself */
	CHECK_EQ(policy_parse_date("2027-02-30", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-02-00", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-13-01", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-06-31", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("1969-12-31", 10, &d), -EINVAL);
	CHECK_EQ(policy_parse_date("2027-02-28", 10, &d), 0);
	CHECK_EQ(policy_parse_date("9999-12-31", 10, &d), 0);
	policy_format_date(d, buf);
	CHECK(!strcmp(buf, "9999-12-31"));
	policy_format_time(1795346436, buf); /* 2026-11-22T11:20:36Z */
	CHECK(!strcmp(buf, "2026-11-22T11:20:36Z"));
	CHECK_EQ(policy_day_of(86399), 0);
	CHECK_EQ(policy_day_of(86400), 1);
	/* round trip over four centuries */
	for (int64_t day = 0; day < (int64_t)146097 * 2; day += 13) {
		int64_t back;
		policy_format_date(day, buf);
		CHECK_EQ(policy_parse_date(buf, 10, &back), 0);
		CHECK_EQ(back, day);
	}
}

static void test_names_and_values(void)
{
	/* format characters (Cf) and names of white space only */
	static const char *const bad[] = {"\xe2\x80\xae"
					  "gnp.exe",
					  "ci\xe2\x80\x8b",
					  "\xef\xbb\xbf"
					  "ci",
					  "a\xc2\xad"
					  "b",
					  "\xf3\xa0\x80\x81",
					  " ",
					  "   ",
					  "\xc2\xa0\xe3\x80\x80",
					  "\xe2\x80\xa8"};
	static const char *const good[] = {"deploy key", " x ", "caf\xc3\xa9",
					   "\xf0\x9f\x94\x91key", "1a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(policy_check_token_name(bad[i], strlen(bad[i])),
			 -EINVAL);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(policy_check_token_name(good[i], strlen(good[i])), 0);

	int b = -1;

	CHECK_EQ(policy_check_user_name("alice", 5), 0);
	CHECK_EQ(policy_check_user_name("_a.b-c", 6), 0);
	CHECK_EQ(policy_check_user_name("-a", 2), -EINVAL);
	CHECK_EQ(policy_check_user_name("a b", 3), -EINVAL);
	CHECK_EQ(policy_check_user_name("", 0), -EINVAL);
	CHECK_EQ(policy_check_token_name("ci-deploy", 9), 0);
	CHECK_EQ(policy_check_token_name("0123", 4), -EINVAL);
	CHECK_EQ(policy_check_token_name("a\x01", 2), -EINVAL);
	CHECK_EQ(policy_check_token_name("\xc3\x28", 2), -EINVAL);
	CHECK_EQ(policy_check_token_name("caf\xc3\xa9", 5), 0);
	CHECK_EQ(policy_check_token_name("\xed\xa0\x80", 3), -EINVAL);
	CHECK_EQ(policy_check_token_name("\xc2\x85", 2), -EINVAL);
	CHECK_EQ(policy_parse_bool("1\n", 2, &b), 0);
	CHECK_EQ(b, 1);
	CHECK_EQ(policy_parse_bool("0", 1, &b), 0);
	CHECK_EQ(b, 0);
	CHECK_EQ(policy_parse_bool("1\n\n", 3, &b), -EINVAL);
	CHECK_EQ(policy_parse_bool("", 0, &b), -EINVAL);
	CHECK_EQ(policy_parse_bool("2", 1, &b), -EINVAL);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	check_scratch("test_policy.d");
	test_scopes();
	test_dates();
	test_names_and_values();
	return check_done();
}
