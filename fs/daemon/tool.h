/* tool.h - what patfs does without a mount: one command, run to its end,
 * with progress shown on a terminal (and nothing said otherwise). */
#ifndef PATFS_TOOL_H
#define PATFS_TOOL_H

/* patfs --backup FILE: a consistent copy of the store of config (NULL: the
 * embedded defaults) into the new file FILE, while a daemon may be serving
 * it. The exit status. */
int tool_backup(const char *config, const char *file);

/* patfs --import-gitlab FILE: adds the tokens of a GitLab inventory (the
 * JSON of patfs/gitlab.h) to the store of config, updating those imported
 * before. The exit status. */
int tool_import(const char *config, const char *file);

#endif
