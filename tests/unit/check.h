/* check.h - what the unit tests of core share: CHECK and CHECK_EQ count
 * checks and report each failure with its line, a scratch directory per
 * test program, and the closing line. */
#ifndef PATFS_TEST_CHECK_H
#define PATFS_TEST_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures, checks;

#define CHECK(cond)                                                            \
	do {                                                                   \
		checks++;                                                      \
		if (!(cond)) {                                                 \
			failures++;                                            \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		checks++;                                                      \
		if (a_ != b_) {                                                \
			failures++;                                            \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n",  \
				__FILE__, __LINE__, #a, a_, b_);               \
		}                                                              \
	} while (0)

/* Moves into a scratch directory of this program's own (name), so that
 * test programs run side by side never share a file. */
static inline void check_scratch(const char *name)
{
	if ((mkdir(name, 0700) && errno != EEXIST) || chdir(name)) {
		perror(name);
		exit(2);
	}
}

static inline void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(2);
	}
}

/* The closing line, and the exit status. */
static inline int check_done(void)
{
	printf("%d checks, %d failed\n", checks, failures);
	return failures != 0;
}

#endif
