/* auth_client.c - checks a token through core's C API, without FUSE, as a
 * service linking patfs's core would.
 *
 *	auth_client CONFIG SCOPE [PATH [COUNT]] < secret
 *	auth_client CONFIG --revoke < secret
 *	auth_client CONFIG --write TOKEN_ID ATTR VALUE
 *	auth_client CONFIG --mkuser NAME | --rmuser NAME
 *
 * The secret is read from stdin, never the command line. Prints "ok" or the
 * errno's name and exits 0 or 1; with COUNT, checks COUNT times and prints
 * the checks per second. --revoke and --write change the store as an admin
 * (uid 0) would, as another process linking core; so do --mkuser and
 * --rmuser. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "patfs/auth.h"
#include "patfs/cfg.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "patfs/user.h"

int main(int argc, char **argv)
{
	struct pfs_actor me = {.comm = "auth_client"};
	struct store *st = NULL;
	struct auth *au = NULL;
	struct timespec t0, t1;
	struct cfg cfg;
	char err[512], *secret;
	long count = 1;
	ssize_t n;
	size_t len = 0;
	int r = -EINVAL;

	if (argc < 3 || sodium_init() < 0) {
		fprintf(stderr,
			"usage: auth_client CONFIG SCOPE [PATH [COUNT]] "
			"< secret\n");
		return 2;
	}
	if (argc > 4)
		count = strtol(argv[4], NULL, 10);
	secret = sodium_malloc(4096);
	if (!secret)
		return 2;
	while (len < 4096 && (n = read(0, secret + len, 4096 - len)) > 0)
		len += (size_t)n;
	me.uid = getuid();
	me.gid = getgid();
	me.pid = getpid();
	me.admin = me.uid == 0;
	if (cfg_load(&cfg, argv[1], err, sizeof(err)) ||
	    store_open(&st, &cfg, err, sizeof(err)) ||
	    auth_open(&au, st, err, sizeof(err))) {
		fprintf(stderr, "auth_client: %s\n", err);
		goto out;
	}
	if (!strcmp(argv[2], "--revoke")) {
		r = auth_revoke(au, &me, secret, len);
		goto done;
	}
	if (!strcmp(argv[2], "--write") && argc == 6) {
		int attr = token_attr_index(argv[4]);
		r = attr < 0 ? -EINVAL
			     : token_write(st, &me, strtoll(argv[3], NULL, 10),
					   (enum token_attr)attr, argv[5],
					   strlen(argv[5]));
		goto done;
	}
	if (!strcmp(argv[2], "--mkuser") && argc == 4) {
		int64_t id;
		r = user_create(st, &me, argv[3], strlen(argv[3]), &id);
		goto done;
	}
	if (!strcmp(argv[2], "--rmuser") && argc == 4) {
		struct user_info u;
		r = user_find(st, argv[3], strlen(argv[3]), &u);
		if (!r)
			r = user_remove(st, &me, u.id);
		goto done;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < count; i++) {
		r = auth_check(au, &me, argv[2], secret, len,
			       argc > 3 ? argv[3] : "auth_client");
		if (r)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r == 0 && count > 1)
		printf("%.0f checks/s\n",
		       (double)count /
			   ((double)(t1.tv_sec - t0.tv_sec) +
			    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9));
done:
	printf("%s\n", r == 0 ? "ok" : strerrorname_np(-r));
out:
	sodium_free(secret);
	auth_close(au);
	store_close(st);
	cfg_free(&cfg);
	return r == 0 ? 0 : 1;
}
