/* scratch.h - the temp files tools make beside a file they rewrite: sed -i,
 * Ansible's copy and template, editors that save by rename. Such a tool
 * creates a file in the attribute's directory, writes the new value into
 * it and renames it over the attribute; patfs keeps that file here, in the
 * daemon's memory (never in the store), and ops.c applies its content at
 * the rename as one write of the attribute, with that write's checks,
 * errno and audit. A temp file holds at most PFS_VALUE_MAX + 1 bytes; one
 * that is neither open nor renamed for SCRATCH_IDLE_S seconds vanishes,
 * and each uid has at most SCRATCH_PER_UID of them. */
#ifndef PATFS_SCRATCH_H
#define PATFS_SCRATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define SCRATCH_MAX	256
#define SCRATCH_PER_UID 16
#define SCRATCH_IDLE_S	60

struct scratch;

/* What a temp file is: its creator, its size and mode. */
struct scratch_info {
	uint32_t uid;
	size_t len;
	mode_t mode;
	time_t mtime;
};

/* NULL when out of memory. */
struct scratch *scratch_new(void);
void scratch_free(struct scratch *sc);

/* A new temp file name in directory parent (a FUSE inode) by uid: 0 with
 * *id (never 0), or -EEXIST, or -EAGAIN (too many: the reason said). */
int scratch_create(struct scratch *sc, uint64_t parent, const char *name,
		   uint32_t uid, mode_t mode, uint32_t *id);

/* The temp file named so in parent: 0 with *id, or -ENOENT. */
int scratch_find(struct scratch *sc, uint64_t parent, const char *name,
		 uint32_t *id);

/* 0 with *out, or -ENOENT. */
int scratch_stat(struct scratch *sc, uint32_t id, struct scratch_info *out);

/* Opens and closes count: a temp file open is never idle. */
int scratch_open(struct scratch *sc, uint32_t id);
void scratch_close(struct scratch *sc, uint32_t id);

/* Reads and writes at off: the bytes done, or -ENOENT, or -EFBIG past
 * PFS_VALUE_MAX + 1 bytes. */
ssize_t scratch_read(struct scratch *sc, uint32_t id, char *buf, size_t size,
		     off_t off);
ssize_t scratch_write(struct scratch *sc, uint32_t id, const char *buf,
		      size_t size, off_t off);

/* Sets the size (cut, or grown with zeros up to the bound) and the mode. */
int scratch_truncate(struct scratch *sc, uint32_t id, off_t size);
int scratch_chmod(struct scratch *sc, uint32_t id, mode_t mode);

/* The content of temp file name in parent, copied into buf (PFS_VALUE_MAX
 * + 1 bytes): 0 with *id and *len, or -ENOENT. */
int scratch_content(struct scratch *sc, uint64_t parent, const char *name,
		    uint32_t *id, char *buf, size_t *len);

/* Gives temp file name in parent another name there: 0 or -ENOENT. */
int scratch_rename(struct scratch *sc, uint64_t parent, const char *name,
		   const char *newname);

/* Takes name out of parent (after its rename, or an unlink): 0 or -ENOENT.
 * The file lives on while open, nameless. */
int scratch_unlink(struct scratch *sc, uint64_t parent, const char *name);

#endif
