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

/* The command name of a into out: a->comm, or when the caller left it
 * empty, what /proc/<pid>/comm says (empty when it cannot be read). */
void pfs_actor_comm(const struct pfs_actor *a, char out[17]);

/* Levels of what core reports, as syslog(3) numbers them. */
enum pfs_log_level { PFS_LOG_ERR = 3, PFS_LOG_WARNING = 4, PFS_LOG_INFO = 6 };

/* Where core reports what it cannot return: a failed write of the auth log,
 * a store that failed under a request. The message has no newline. */
typedef void pfs_log_fn(enum pfs_log_level level, const char *msg);

/* Sets the function told of core's messages, for the whole process (NULL:
 * they are dropped, the default). Core itself never prints. */
void pfs_set_log(pfs_log_fn *fn);

/* Formats a message and hands it to the log function, if any. */
void pfs_log(enum pfs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The reason beside an errno. A system call carries nothing but the number
 * back, so every refusal in core says why in words where it is decided:
 * pfs_refuse sets the calling thread's reason and returns -err. A reason
 * names what was wrong; it never holds a secret, nor a value the caller
 * could not read. */
#define PFS_REASON_MAX 256
int pfs_refuse(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The calling thread's reason for a failure with -err: that of its latest
 * refusal if it returned the same errno, else "" (none was given, or a
 * later step refused otherwise). */
const char *pfs_reason(int err);

/* Forgets the calling thread's reason: a request's first step. */
void pfs_reason_clear(void);

#endif
