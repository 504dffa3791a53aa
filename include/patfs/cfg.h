/* cfg.h - the configuration: embedded defaults, overridden by an ini file. */
#ifndef PATFS_CFG_H
#define PATFS_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum cfg_store_backend {
	CFG_STORE_SQLITE,
	CFG_STORE_POSTGRESQL,
};

#define CFG_MAX_PREFIXES 8
#define CFG_PREFIX_MAX	 32

struct cfg {
	enum cfg_store_backend store_backend; /* [store] backend */
	char *store_dsn;   /* [store] dsn: a libpq connection string, or NULL */
	int max_stale_s;   /* [store] max_stale_s: cached answers while the
			      database cannot be reached */
	char *store_path;  /* [store] path, absolute after cfg_load */
	char *pepper_file; /* [store] pepper_file, absolute after cfg_load */
	char *admin_group; /* [access] admin_group, or NULL for none */
	gid_t admin_gid;   /* resolved admin_group; valid when admin_group */
	char *prefix;	   /* [tokens] prefix */
	/* [tokens] previous_prefixes: still recognised, never minted */
	char prev_prefixes[CFG_MAX_PREFIXES][CFG_PREFIX_MAX + 1];
	int n_prev_prefixes;
	uint32_t default_scopes;
	int default_lifetime_days; /* 0: no expiry by default */
	int max_lifetime_days;
	bool require_expiry;
	bool sa_require_expiry; /* [tokens] service_accounts_require_expiry */
	bool allow_impersonation;
	bool reuse_detection; /* rotating a rotated token revokes its family */
	int last_used_interval_s;
	char *auth_log;		     /* [auth] log, absolute */
	int max_failures_per_minute; /* per uid, or per owner of a range */
	uint32_t unlimited_uids[16]; /* whose own failures never lock out */
	bool record_sources;	     /* [auth] record_sources: used_from */
	int retain_inactive_days;    /* [tokens]: 0 keeps every token */
	int n_unlimited_uids;
	int max_log_lines_per_minute; /* the auth log's, in all */
	char *subuid_file;	      /* [auth] subuid_file, or NULL */
	int64_t log_max_bytes;	      /* [auth] log rotates past this size */
	int log_keep;		      /* rotated logs kept: FILE.1 ... FILE.N */
	/* [notify]: expiry notices */
	bool notify_enabled; /* false: this daemon sends none */
	int notify_hour;     /* hour_utc: the daily run, 0-23 */
	int thresholds[8];   /* thresholds_days, descending */
	int nthresholds;
	char *notify_command; /* run by /bin/sh -c, or NULL: record only */
	char *notify_run_as;  /* run_as: a user name */
	uid_t notify_uid;     /* resolved run_as; valid with a command */
	gid_t notify_gid;
	int notify_timeout_s;
	/* [limits]: what one unprivileged uid may cost; administrators, and
	 * revocations and blocks by anyone, are never held back */
	int changes_per_minute;	     /* changes by one uid, a minute */
	int64_t audit_bytes_per_day; /* audit_kib_per_day: what one uid's
					changes may add to the trail */
	int free_floor_mb;	/* below the smaller of free_floor_mb and */
	int free_floor_percent; /* ..._percent free: only containment */
	int64_t snapshot_bytes_per_uid; /* snapshot_mib_per_uid: open
					   documents held for one uid */
	int64_t snapshot_bytes_total;	/* snapshot_mib_total: for all */
	/* [metrics] */
	char *metrics_textfile; /* textfile, absolute, or NULL: none */
	int metrics_interval_s; /* how often it is written */
	int metrics_mode;	/* its mode bits (0640) */
	/* not from the file: the daemon's --init. A missing or empty store
	 * beside an existing pepper is refused unless set. */
	bool store_init;
	char *config_path; /* the file cfg_load read, absolute, or NULL */
};

/* Fills c with the embedded defaults, paths relative to the current directory
 * made absolute. Returns 0, or -ENOMEM with c left freeable by cfg_free(). */
int cfg_defaults(struct cfg *c);

/* Loads the defaults, then the ini file at path (NULL: defaults only). Relative
 * paths in the file are taken relative to the file's directory. On error
 * returns -errno and writes "FILE:LINE: [section] key: reason" into err; c must
 * still be released with cfg_free(). */
int cfg_load(struct cfg *c, const char *path, char *err, size_t errlen);

/* The same, from the ini text of f, named name in messages, with relative
 * paths taken against dir (absolute, ending in '/'). For tests and fuzzing;
 * the file checks of cfg_load are not made. */
int cfg_load_stream(struct cfg *c, FILE *f, const char *name, const char *dir,
		    char *err, size_t errlen);

void cfg_free(struct cfg *c);

/* Refuses a file others could tamper with: 0 when path (not a symlink) is
 * owned by the effective uid and has none of the mode bits in forbid (022:
 * writable by group or others; 077: any access for them); also 0 when it
 * does not exist. Otherwise -EPERM (or -errno) with "what PATH: why" in err. */
int cfg_check_file(const char *path, const char *what, mode_t forbid, char *err,
		   size_t errlen);

/* The same checks on an open file fd (opened with O_NOFOLLOW), so it cannot
 * be swapped between the check and the open: 0, or -EPERM with "what PATH:
 * why" in err. */
int cfg_check_fd(int fd, const char *path, const char *what, mode_t forbid,
		 char *err, size_t errlen);

/* 0 when s (len bytes, no newline) has the form of a secret under the
 * prefix or one of the previous prefixes, else -EINVAL. */
int cfg_check_secret(const struct cfg *c, const char *s, size_t len);

#endif
