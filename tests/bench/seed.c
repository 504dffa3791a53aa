/* seed.c - fills a store with a realistic spread of tokens through core's
 * bulk API, for benchmarks.
 *
 *	patfs-seed CONFIG TOKENS [USERS [MARKED [PERCENT]]]
 *
 * Users are user00001...; each token is sealed with a fresh random secret
 * that is wiped at once (nobody holds it). The spread: mixed scopes, expiry
 * dates from a year ago to a year ahead (5% without), 10% revoked, 3%
 * impersonation, 60% used. The last MARKED tokens (default 0) all expire 400
 * days from today, unrevoked, so a benchmark can list a day of known size.
 * PERCENT of the tokens (default 0) are project and group tokens (a project
 * per 10 users, a group per 20), minted one by one as mkdir does, each with
 * its bot, and sealed.
 * Prints the seconds it took. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "patfs/cfg.h"
#include "patfs/policy.h"
#include "patfs/resource.h"
#include "patfs/secret.h"
#include "patfs/store.h"
#include "patfs/token.h"
#include "patfs/user.h"

#define BATCH 5000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* A reproducible spread (xorshift64*): not for anything secret. */
static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static int64_t below(int64_t n)
{
	return (int64_t)(next() % (uint64_t)n);
}

static uint32_t scope_bit(const char *name)
{
	return 1u << policy_scope_index(name, strlen(name));
}

static uint32_t pick_scopes(void)
{
	static const char *const sets[][3] = {
	    {"read_api", NULL, NULL},
	    {"api", NULL, NULL},
	    {"read_repository", NULL, NULL},
	    {"read_registry", "read_repository", NULL},
	    {"write_registry", NULL, NULL},
	    {"api", "sudo", NULL},
	    {"create_runner", "manage_runner", NULL},
	    {"read_user", "read_api", "k8s_proxy"},
	};
	int n = (int)(sizeof(sets) / sizeof(sets[0]));
	uint32_t mask = 0;
	int i = (int)below(n);

	for (int j = 0; j < 3 && sets[i][j]; j++)
		mask |= scope_bit(sets[i][j]);
	return mask;
}

/* Fills v for the k-th token of user u; name needs 64 bytes. */
static void fill(struct token_seed *v, int64_t user_id, long k, int64_t now,
		 char *name, size_t size)
{
	static const char *const base[] = {
	    "ci-deploy", "renovate", "backup",	  "terraform", "registry-pull",
	    "k8s-agent", "release",  "dashboard", "mirror",    "danger-bot"};
	int64_t today = policy_day_of(now), created;

	snprintf(name, size, "%s-%ld", base[below(10)], k);
	v->user_id = user_id;
	v->name = name;
	v->scopes = pick_scopes();
	v->impersonation = below(100) < 3;
	v->expires_day = below(100) < 5 ? -1 : today - 365 + below(730);
	/* created up to a year before it expires, never in the future */
	created = now - below(365) * 86400 - below(86400);
	if (v->expires_day >= 0) {
		int64_t latest = v->expires_day * 86400 - 86400;
		created = latest - below(365) * 86400;
		if (created > now)
			created = now - below(86400);
	}
	v->created_at = created;
	v->last_used_at =
	    below(100) < 60 ? created + below(now - created + 1) : 0;
	v->revoked_at =
	    below(100) < 10 ? created + below(now - created + 1) : 0;
	if (v->revoked_at == 0 && v->last_used_at == created)
		v->last_used_at++;
}

/* n project and group tokens, over a project per 10 users and a group per
 * 20; buf holds SECRET_MAX bytes of sodium memory. */
static int seed_resources(struct store *st, const struct pfs_actor *me,
			  long nusers, long n, char *buf)
{
	long projects = nusers / 10 > 0 ? nusers / 10 : 1;
	long groups = nusers / 20 > 0 ? nusers / 20 : 1;
	int64_t ids[2] = {0, 0}, first[2] = {0, 0}, tid;
	char name[64];
	int r = 0;

	for (int kind = 0; kind < 2 && n > 0; kind++) {
		long count = kind == RESOURCE_PROJECT ? projects : groups;
		for (long i = 0; i < count && !r; i++) {
			snprintf(name, sizeof(name), "%s%05ld",
				 kind == RESOURCE_PROJECT ? "project" : "group",
				 i + 1);
			r = resource_create(st, me, (enum resource_kind)kind,
					    name, strlen(name), &ids[kind]);
			if (i == 0)
				first[kind] = ids[kind];
		}
	}
	for (long k = 0; k < n && !r; k++) {
		int kind = (int)(k % 3 == 2); /* two project tokens a group's */
		long count = kind == RESOURCE_PROJECT ? projects : groups;
		int64_t rid = first[kind] + below(count);
		snprintf(name, sizeof(name), "deploy-%ld", k);
		r = resource_mint(st, me, rid, name, strlen(name), &tid);
		if (!r) {
			int len =
			    token_take_secret(st, me, tid, buf, SECRET_MAX);
			r = len < 0 ? len : 0;
			sodium_memzero(buf, SECRET_MAX);
		}
	}
	return r;
}

/* On a terminal: how many tokens are in, of how many, and how fast. */
static void progress(long made, long ntok, const struct timespec *t0)
{
	struct timespec now;
	double s;

	if (!isatty(STDERR_FILENO))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	s = (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
	fprintf(stderr, "\rpatfs-seed: %ld of %ld tokens, %.0f/s ", made, ntok,
		s > 0 ? (double)made / s : 0.0);
}

int main(int argc, char **argv)
{
	struct pfs_actor me = {.uid = 0, .comm = "patfs-seed", .admin = true};
	struct token_seed *v = NULL;
	struct store *st = NULL;
	struct timespec t0, t1;
	struct cfg cfg;
	char err[512], *secrets = NULL, (*names)[64] = NULL;
	long ntok, nusers, marked, made = 0, pct, nres;
	int64_t *uids = NULL, first, now = time(NULL);
	int r = -EINVAL;

	if (argc < 3 || sodium_init() < 0) {
		fprintf(stderr,
			"usage: patfs-seed CONFIG TOKENS [USERS [MARKED]]\n");
		return 2;
	}
	ntok = strtol(argv[2], NULL, 10);
	nusers = argc > 3 ? strtol(argv[3], NULL, 10) : 1000;
	marked = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
	pct = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
	if (ntok < 0 || nusers < 1 || marked < 0 || pct < 0 || pct > 100)
		return 2;
	nres = ntok * pct / 100;
	ntok -= nres;
	if (marked > ntok)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	me.pid = (int32_t)getpid();
	if (cfg_load(&cfg, argv[1], err, sizeof(err)) ||
	    store_open(&st, &cfg, err, sizeof(err))) {
		fprintf(stderr, "patfs-seed: %s\n", err);
		goto out;
	}
	uids = calloc((size_t)nusers, sizeof(*uids));
	v = calloc(BATCH, sizeof(*v));
	names = calloc(BATCH, sizeof(*names));
	secrets = sodium_malloc((size_t)BATCH * SECRET_MAX);
	if (!uids || !v || !names || !secrets) {
		r = -ENOMEM;
		goto out;
	}
	for (long i = 0; i < nusers; i++) {
		char name[32];
		snprintf(name, sizeof(name), "user%05ld", i + 1);
		r = user_create(st, &me, name, strlen(name), &uids[i]);
		if (r)
			goto fail;
	}
	while (made < ntok) {
		size_t n = 0;
		for (; n < BATCH && made < ntok; n++, made++) {
			char *s = secrets + n * SECRET_MAX;
			int len = secret_generate(cfg.prefix, s, SECRET_MAX);
			if (len < 0) {
				r = len;
				goto fail;
			}
			fill(&v[n], uids[made % nusers], made / nusers + 1, now,
			     names[n], sizeof(names[n]));
			if (made >= ntok - marked) {
				v[n].expires_day = policy_day_of(now) + 400;
				v[n].revoked_at = 0;
			}
			v[n].secret = s;
			v[n].secret_len = (size_t)len;
		}
		r = token_import(st, &me, v, n, &first);
		sodium_memzero(secrets, (size_t)BATCH * SECRET_MAX);
		if (r)
			goto fail;
		progress(made, ntok, &t0);
	}
	if (isatty(STDERR_FILENO))
		fputc('\n', stderr);
	r = seed_resources(st, &me, nusers, nres, secrets);
	if (r)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.2f\n", (double)(t1.tv_sec - t0.tv_sec) +
			     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	r = 0;
	goto out;
fail:
	fprintf(stderr, "patfs-seed: %s\n", strerror(-r));
out:
	sodium_free(secrets);
	free(names);
	free(v);
	free(uids);
	store_close(st);
	cfg_free(&cfg);
	return r == 0 ? 0 : 1;
}
