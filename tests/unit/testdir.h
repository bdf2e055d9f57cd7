/*
 * testdir.h - a private temporary directory for a unit test, and its
 * removal with everything in it. Header-only, for tests/unit/test_*.c.
 */
#ifndef ASW_TESTDIR_H
#define ASW_TESTDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Make "$TMPDIR/<stem>_XXXXXX" (or under /tmp) into buf. Returns 0 or -1. */
static inline int asw_testdir_make(char *buf, size_t n, const char *stem)
{
    const char *tmp = getenv("TMPDIR");
    if (snprintf(buf, n, "%s/%s_XXXXXX", tmp && *tmp ? tmp : "/tmp", stem) >=
        (int)n)
        return -1;
    return mkdtemp(buf) ? 0 : -1;
}

static inline int asw_testdir_rm_one(const char *p, const struct stat *sb,
                                     int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Remove dir and everything below it (symbolic links are not followed).
 * Returns 0 or -1. */
static inline int asw_testdir_remove(const char *dir)
{
    return nftw(dir, asw_testdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
