/* uidtab.h - a fixed table of per-uid state, by open addressing: budgets
 * of changes (the store) and of memory (the daemon). Only uids mapped to a
 * user change or hold anything, so 4096 slots hold an installation's; a
 * uid that finds the table full gets no slot, and its caller says what
 * that means. */
#ifndef PATFS_UIDTAB_H
#define PATFS_UIDTAB_H

#include <stdbool.h>
#include <stdint.h>

#define UIDTAB_SLOTS 4096

struct uidtab {
	bool used[UIDTAB_SLOTS];
	uint32_t uid[UIDTAB_SLOTS];
};

/* uid's slot in t (made when new), or -1 when t is full. */
static inline int uidtab_slot(struct uidtab *t, uint32_t uid)
{
	unsigned i = (uid * 2654435761u) % UIDTAB_SLOTS;

	for (unsigned k = 0; k < UIDTAB_SLOTS;
	     k++, i = (i + 1) % UIDTAB_SLOTS) {
		if (t->used[i] && t->uid[i] == uid)
			return (int)i;
		if (!t->used[i]) {
			t->used[i] = true;
			t->uid[i] = uid;
			return (int)i;
		}
	}
	return -1;
}

#endif
