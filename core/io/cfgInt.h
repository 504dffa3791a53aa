/* cfgInt.h - what cfg.c and cfg_keys.c share: the state of one parse. */
#ifndef PATFS_CFGINT_H
#define PATFS_CFGINT_H

#include <stdio.h>

#include "patfs/cfg.h"

struct cfg_parse {
	struct cfg *c;
	const char *path;
	char *dir; /* directory of the file, for relative paths */
	FILE *f;
	int line;  /* line last read */
	int error; /* -errno of the first error, 0 so far */
	char *err;
	size_t errlen;
};

/* Makes path absolute against dir (NULL: the current directory). Returns a
 * malloc'd string or NULL. */
char *cfg_absolute(const char *dir, const char *path);

/* Replaces *slot with val (NULL: -ENOMEM, *slot kept): 0 or -ENOMEM. */
int cfg_set_str(char **slot, char *val);

/* Applies key name of section to p->c: 0, or -errno with *why (a reason in
 * words). */
int cfg_key(struct cfg_parse *p, const char *section, const char *name,
	    const char *value, const char **why);

#endif
