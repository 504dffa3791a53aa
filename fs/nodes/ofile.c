/* ofile.c - open files that hold state, reference-counted. */
#include <sodium.h>
#include <stdlib.h>

#include "daemon/cache.h"
#include "daemon/daemon.h"
#include "daemon/held.h"
#include "daemon/inventory.h"
#include "daemon/pages.h"
#include "daemon/scratch.h"
#include "ofile.h"
#include "patfs/token.h"

struct ofile *ofile_new(enum ofile_kind kind)
{
	struct ofile *of = calloc(1, sizeof(*of));

	if (of) {
		of->kind = kind;
		of->refs = 1;
		pthread_mutex_init(&of->lock, NULL);
	}
	return of;
}

void ofile_hold_secret(struct pfs *p, struct ofile *of)
{
	pthread_mutex_lock(&p->lock);
	of->next = p->held;
	p->held = of;
	pthread_mutex_unlock(&p->lock);
}

bool ofile_held(struct pfs *p, int64_t token_id)
{
	bool found = false;

	pthread_mutex_lock(&p->lock);
	for (struct ofile *of = p->held; of && !found; of = of->next)
		found = of->token_id == token_id;
	pthread_mutex_unlock(&p->lock);
	return found;
}

struct ofile *ofile_get(struct pfs *p, uint64_t fh)
{
	struct ofile *of = (struct ofile *)(uintptr_t)fh;

	if (of) {
		pthread_mutex_lock(&p->lock);
		of->refs++;
		pthread_mutex_unlock(&p->lock);
	}
	return of;
}

void ofile_put(struct pfs *p, struct ofile *of)
{
	bool last;

	if (!of)
		return;
	pthread_mutex_lock(&p->lock);
	last = --of->refs == 0;
	if (last)
		for (struct ofile **pp = &p->held; *pp; pp = &(*pp)->next)
			if (*pp == of) {
				*pp = of->next;
				break;
			}
	pthread_mutex_unlock(&p->lock);
	if (!last)
		return;
	if (of->kind == OF_TAKE && of->secret) /* "token" goes away */
		cache_queue(p->cache,
			    &(struct store_change){.kind = STORE_CH_TOKEN,
						   .token_id = of->token_id,
						   .fields = TOKEN_F_SEALED,
						   .resource = true});
	if (of->pages_ino)
		pages_close(p->pages, of->pages_ino);
	if (of->kind == OF_SCRATCH)
		scratch_close(p->scratch, (uint32_t)of->token_id);
	sodium_free(of->secret); /* wipes the plaintext */
	sodium_free(of->scan);
	free(of->found);
	if (of->text || (of->snap && !of->snap->shared))
		held_give(p->snapshots, of->text_uid, of->tlen);
	inventory_put(p->inventory, of->snap);
	free(of->text);
	pthread_mutex_destroy(&of->lock);
	free(of);
}
