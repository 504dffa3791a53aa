/* why.h - each uid's latest refusals, which the file why shows it: when,
 * the operation, the path, the errno and the reason core gave (pfs.h's
 * pfs_refuse). A uid sees its own lines only. Bounded: WHY_LINES lines for
 * each of WHY_UIDS uids, and a uid new beyond them takes the slot of the
 * one whose latest refusal is oldest. */
#ifndef PATFS_WHY_H
#define PATFS_WHY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define WHY_LINES 8
#define WHY_UIDS  512
#define WHY_PATH  160 /* a longer path is cut, with "..." */

struct why;

/* NULL when out of memory. */
struct why *why_new(void);
void why_free(struct why *w);

/* Keeps that op (such as "write") on path by uid failed at with errno err
 * for reason (core's, or "" when none was given). */
void why_note(struct why *w, uint32_t uid, time_t at, const char *op,
	      const char *path, int err, const char *reason);

/* uid's lines, newest first, one a line, into a new text *out of *len
 * bytes (free it): 0, or -ENOMEM. */
int why_render(struct why *w, uint32_t uid, char **out, size_t *len);

#endif
