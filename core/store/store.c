/* store.c - what every backend shares: the store and its pepper, one
 * connection per thread, statements prepared once per connection,
 * transactions. The backends: store_sqlite.c, store_pg.c. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "patfs/cfg.h"
#include "patfs/secret.h"
#include "storeInt.h"

int64_t store_now(void)
{
	struct timespec ts;

	/* not time(2): Linux's reads the second of the last tick, which can
	 * lag what clock_gettime(2) (and every other process) says */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

void store_bind_str(struct store_stmt *s, int i, const char *p)
{
	store_bind_text(s, i, p, strlen(p));
}

static void conn_free(struct store_conn *c)
{
	const struct store_ops *ops = c->st->ops;

	for (int i = 0; i < STORE_NSQL; i++)
		if (c->stmt[i])
			ops->finalize(c->stmt[i]);
	ops->conn_free(c);
}

void store_conn_link(struct store_conn *c)
{
	struct store *st = c->st;

	pthread_mutex_lock(&st->lock);
	c->next = st->conns;
	if (c->next)
		c->next->prev = c;
	st->conns = c;
	pthread_mutex_unlock(&st->lock);
}

/* Unlinks c from its store and frees it. */
static void conn_drop(struct store_conn *c)
{
	struct store *st = c->st;

	pthread_mutex_lock(&st->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		st->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&st->lock);
	conn_free(c);
}

static void conn_destructor(void *p)
{
	conn_drop(p);
}

struct store_conn *store_conn(struct store *st)
{
	struct store_conn *c = pthread_getspecific(st->key);
	char err[512];

	if (c)
		return c;
	c = st->ops->conn_open(st, err, sizeof(err));
	if (!c) {
		pfs_log(PFS_LOG_ERR, "%s", err);
		return NULL;
	}
	store_conn_link(c);
	if (pthread_setspecific(st->key, c) != 0) {
		conn_drop(c);
		return NULL;
	}
	return c;
}

void store_release_thread(struct store *st)
{
	struct store_conn *c = pthread_getspecific(st->key);

	if (c) {
		pthread_setspecific(st->key, NULL);
		conn_drop(c);
	}
}

/* Statements this thread has used, and the rows they gave: debug counters
 * (store_statements, store_rows). */
static __thread uint64_t statements, rows;

uint64_t store_statements(void)
{
	return statements;
}

uint64_t store_rows(void)
{
	return rows;
}

struct store_stmt *store_sql(struct store_conn *c, enum store_sql id)
{
	struct store_stmt *s = c->stmt[id];

	statements++;
	if (s) {
		c->st->ops->reset(s);
		return s;
	}
	c->stmt[id] = c->st->ops->prepare(c, id);
	return c->stmt[id];
}

int store_step(struct store_conn *c, struct store_stmt *s)
{
	int r = s->c->st->ops->step(s);

	(void)c;
	rows += r == 1;
	return r;
}

int store_exec(struct store_conn *c, struct store_stmt *s)
{
	int r = store_step(c, s);

	store_reset(s);
	return r < 0 ? r : 0;
}

int store_one(struct store_conn *c, struct store_stmt *s, store_row_fn *row,
	      void *out)
{
	int r = store_step(c, s);

	if (r == 1)
		row(s, out);
	store_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

static void int_row(struct store_stmt *s, void *out)
{
	*(int64_t *)out = store_col_int(s, 0);
}

int store_one_int(struct store_conn *c, struct store_stmt *s, int64_t *out)
{
	return store_one(c, s, int_row, out);
}

int store_one_count(struct store_conn *c, struct store_stmt *s, int64_t *out)
{
	int r = store_one_int(c, s, out);

	return r == -ENOENT ? 0 : r;
}

int store_one_id(struct store_conn *c, enum store_sql sql, int64_t id,
		 store_row_fn *row, void *out)
{
	struct store_stmt *s = store_sql(c, sql);

	if (!s)
		return -EIO;
	store_bind_int(s, 1, id);
	return store_one(c, s, row, out);
}

int store_count(struct store *st, enum store_sql id, int64_t *out)
{
	struct store_conn *c = store_conn(st);
	struct store_stmt *s = c ? store_sql(c, id) : NULL;

	*out = 0;
	return s ? store_one_count(c, s, out) : -EIO;
}

int store_begin(struct store_conn *c)
{
	c->nchanges = 0;
	c->overflow = false;
	return c->st->ops->begin(c, true);
}

int store_begin_nowait(struct store_conn *c)
{
	int r;

	c->nchanges = 0;
	c->overflow = false;
	c->quiet_busy = true;
	r = c->st->ops->begin(c, false);
	c->quiet_busy = false;
	return r;
}

void store_set_wait(struct store *st, int ms)
{
	struct store_conn *c = store_conn(st);

	if (c)
		st->ops->set_wait(c, ms);
}

void store_rollback(struct store_conn *c)
{
	c->nchanges = 0;
	c->overflow = false;
	c->st->ops->rollback(c);
}

int store_backup(struct store *st, const char *path, store_progress_fn *fn,
		 void *ctx, char *err, size_t errlen)
{
	return st->ops->backup(st, path, fn, ctx, err, errlen);
}

int store_lead(struct store *st, enum store_lead what, bool take)
{
	return st->ops->lead(st, (int)what, take);
}

int64_t store_bytes(struct store *st)
{
	return st->ops->bytes(st);
}

int store_open(struct store **out, const struct cfg *cfg, char *err,
	       size_t errlen)
{
	struct store *st = calloc(1, sizeof(*st));
	int r;

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	st->cfg = cfg;
	st->ops = cfg->store_backend == CFG_STORE_POSTGRESQL
		      ? &store_pg_ops
		      : &store_sqlite_ops;
	/* names this process's changes for the caches of the others, which
	 * may run on other hosts (so not a pid) */
	do
		randombytes_buf(&st->origin, sizeof(st->origin));
	while ((st->origin &= INT64_MAX) == 0);
	pthread_mutex_init(&st->lock, NULL);
	r = budget_new(st);
	if (r) {
		snprintf(err, errlen, "out of memory");
		goto free_st;
	}
	r = pthread_key_create(&st->key, conn_destructor);
	if (r) {
		snprintf(err, errlen, "pthread_key_create: %s", strerror(r));
		r = -r;
		goto free_st;
	}
	r = st->ops->open(st, err, errlen);
	if (r)
		goto delete_key;
	r = cfg_check_file(cfg->pepper_file, "pepper file", 077, err, errlen);
	if (!r)
		r = secret_pepper_load(cfg->pepper_file, &st->pepper, err,
				       errlen);
	if (r)
		goto close_backend;
	r = st->ops->start(st, err, errlen);
	if (r)
		goto free_pepper;
	*out = st;
	return 0;

free_pepper:
	store_release_thread(st);
	secret_pepper_free(st->pepper);
close_backend:
	st->ops->close(st);
delete_key:
	pthread_key_delete(st->key);
free_st:
	budget_free(st);
	pthread_mutex_destroy(&st->lock);
	free(st);
	return r;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	pthread_setspecific(st->key, NULL);
	pthread_key_delete(st->key);
	while (st->conns) {
		struct store_conn *c = st->conns;
		st->conns = c->next;
		conn_free(c);
	}
	st->ops->close(st);
	secret_pepper_free(st->pepper);
	budget_free(st);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void store_set_change_hook(struct store *st, store_change_fn *fn, void *ctx)
{
	st->hook = fn;
	st->hook_ctx = ctx;
}

struct store *store_of(struct store_conn *c)
{
	return c->st;
}

int64_t store_origin(const struct store *st)
{
	return st->origin;
}

void store_digest(const struct store *st, const char *secret, size_t len,
		  unsigned char out[SECRET_DIGEST_LEN])
{
	secret_digest(st->pepper, secret, len, out);
}

int store_origin_alive(struct store_conn *c, int64_t origin)
{
	return c->st->ops->alive(c, origin);
}

const struct cfg *store_cfg(const struct store *st)
{
	return st->cfg;
}

void store_bind_int(struct store_stmt *s, int i, int64_t v)
{
	s->c->st->ops->bind_int(s, i, v);
}

void store_bind_null(struct store_stmt *s, int i)
{
	s->c->st->ops->bind_null(s, i);
}

void store_bind_text(struct store_stmt *s, int i, const char *p, size_t len)
{
	s->c->st->ops->bind_text(s, i, p, len);
}

void store_bind_blob(struct store_stmt *s, int i, const void *p, size_t len)
{
	s->c->st->ops->bind_blob(s, i, p, len);
}

int64_t store_col_int(struct store_stmt *s, int i)
{
	return s->c->st->ops->col_int(s, i);
}

const char *store_col_text(struct store_stmt *s, int i)
{
	return s->c->st->ops->col_text(s, i);
}

bool store_col_null(struct store_stmt *s, int i)
{
	return s->c->st->ops->col_null(s, i);
}

void store_reset(struct store_stmt *s)
{
	s->c->st->ops->reset(s);
}

int64_t store_last_id(struct store_conn *c)
{
	return c->st->ops->last_id(c);
}

int64_t store_changed(struct store_conn *c)
{
	return c->st->ops->changed(c);
}
