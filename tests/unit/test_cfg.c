/* test_cfg.c - unit tests of core/cfg.c: the ini file, its defaults and every
 * refusal. */
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

static void test_cfg(void)
{
	struct cfg c;
	char err[512];

	CHECK_EQ(cfg_load(&c, NULL, err, sizeof(err)), 0);
	CHECK(c.store_path[0] == '/' && strstr(c.store_path, "/patfs.db"));
	CHECK_EQ(c.max_lifetime_days, 365);
	CHECK(c.require_expiry && !c.admin_group);
	cfg_free(&c);

	write_file("t.ini",
		   "[tokens]\nprefix = abc_\n\n[store]\npath = /x/y.db\n");
	CHECK_EQ(cfg_load(&c, "t.ini", err, sizeof(err)), 0);
	CHECK(!strcmp(c.prefix, "abc_") && !strcmp(c.store_path, "/x/y.db"));
	cfg_free(&c);

	write_file("t.ini",
		   "[tokens]\nprefix = ok\nlast_used_interval_s = -1\n");
	CHECK_EQ(cfg_load(&c, "t.ini", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "t.ini:3: [tokens] last_used_interval_s") != NULL);
	cfg_free(&c);

	CHECK(cfg_load(&c, "missing.ini", err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "missing.ini") != NULL);
	cfg_free(&c);

	/* the store's backend: SQLite unless said */
	CHECK_EQ(cfg_load(&c, NULL, err, sizeof(err)), 0);
	CHECK_EQ(c.store_backend, CFG_STORE_SQLITE);
	CHECK(!c.store_dsn && c.max_stale_s == 5 && !c.config_path);
	cfg_free(&c);
	write_file("t.ini", "[store]\nbackend = postgresql\n"
			    "dsn = host=db1 dbname=patfs\nmax_stale_s = 0\n");
	CHECK_EQ(cfg_load(&c, "t.ini", err, sizeof(err)), 0);
	CHECK_EQ(c.store_backend, CFG_STORE_POSTGRESQL);
	CHECK(c.store_dsn && !strcmp(c.store_dsn, "host=db1 dbname=patfs"));
	CHECK(c.max_stale_s == 0 && c.config_path && c.config_path[0] == '/');
	cfg_free(&c);
	write_file("t.ini", "[store]\nbackend = mysql\n");
	CHECK_EQ(cfg_load(&c, "t.ini", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "t.ini:2: [store] backend") != NULL);
	cfg_free(&c);
	write_file("t.ini", "[store]\nmax_stale_s = 3601\n");
	CHECK_EQ(cfg_load(&c, "t.ini", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "t.ini:2: [store] max_stale_s") != NULL);
	cfg_free(&c);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	check_scratch("test_cfg.d");
	test_cfg();
	return check_done();
}
