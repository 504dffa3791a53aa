/* fuzz.h - what the libFuzzer harnesses of core share: an invariant that
 * must hold for every input aborts the run when it does not. */
#ifndef PATFS_FUZZ_H
#define PATFS_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define MUST(cond)                                                             \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
