/* pfs.h - types shared by every module of the patfs core. */
#ifndef PATFS_PFS_H
#define PATFS_PFS_H

#include <stdbool.h>
#include <stdint.h>

#define PFS_NAME_MAX  255  /* user and token names, descriptions (bytes) */
#define PFS_VALUE_MAX 4096 /* the longest write an attribute accepts */

/* Who asks for a change: recorded in the audit trail with every change. */
struct pfs_actor {
	uint32_t uid;
	uint32_t gid;
	int32_t pid;
	char comm[17];
	bool admin; /* uid 0 or a member of [access] admin_group */
};

#endif
