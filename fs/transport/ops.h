/* ops.h - the FUSE low-level operations of patfs. */
#ifndef PATFS_OPS_H
#define PATFS_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops ops_table;

#endif
