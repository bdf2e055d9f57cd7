/*
 * untar.h - safe streaming extraction of archive tarballs with libarchive.
 *
 * Every entry is checked by us before libarchive's own secure-extraction
 * flags see it: no absolute paths, no ".." components, no device or fifo
 * entries, no symbolic or hard links that leave the destination, nothing
 * through an already extracted symlink. The first offending entry stops the
 * extraction with ASW_EARCHIVE naming it; nothing is written outside
 * dest_dir. Counts and sizes are capped because the tar comes from outside.
 */
#ifndef ASW_UNTAR_H
#define ASW_UNTAR_H

#include "src/err.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Filter: return non-zero to extract the entry at path (relative, as
 * stored in the tar, e.g. "2017.1.01185.S/.../product/x.pbcor.fits"), 0 to
 * skip it. Directories are offered too; skipping one does not skip its
 * files (their parent directories are created as needed).
 */
typedef int (*asw_untar_filter_fn)(void *user, const char *path);

struct asw_untar_limits {
    uint64_t max_entries;       /* entries read (extracted or skipped) */
    uint64_t max_entry_bytes;   /* size of one entry */
    uint64_t max_total_bytes;   /* sum of extracted entry sizes */
    size_t max_path_len;        /* bytes of an entry path or link target */
    asw_untar_filter_fn filter; /* NULL: extract everything */
    void *filter_user;
};

struct asw_untar_stats {
    uint64_t entries;         /* entries extracted (dirs and links too) */
    uint64_t entries_skipped; /* entries the filter declined */
    uint64_t bytes;           /* file data bytes written */
};

#define ASW_UNTAR_DEFAULT_MAX_ENTRIES     100000ULL
#define ASW_UNTAR_DEFAULT_MAX_ENTRY_BYTES (64ULL << 30)
#define ASW_UNTAR_DEFAULT_MAX_TOTAL_BYTES (256ULL << 30)
#define ASW_UNTAR_DEFAULT_MAX_PATH_LEN    1024

/* Fill *lim with the defaults above and no filter. */
void asw_untar_limits_init(struct asw_untar_limits *lim);

/*
 * Extract tar_path (any format and compression libarchive reads) into
 * dest_dir, which is created if missing (one level). lim may be NULL (all
 * defaults); a zero field of *lim also means its default. File modes are
 * normalised to 0644/0755 and directories to 0755, owners are not
 * restored, modification times are.
 *
 * Returns 0, or with err filled ("untar" module):
 *   ASW_EARCHIVE  unsafe entry (the message names it) or a libarchive
 *                 error (archive_error_string), e.g. a truncated tar;
 *   ASW_ETOOBIG   a cap was exceeded (the message names the entry and cap);
 *   ASW_ENOSPC    the destination filled up;
 *   ASW_EIO, ASW_EINVAL  dest_dir unusable, bad arguments.
 * Entries extracted before a failure stay in dest_dir (a per-unit scratch
 * directory the caller removes). st (optional) is filled in every case.
 *
 * The working directory of the process is changed to dest_dir during the
 * call and restored before it returns (libarchive's secure flags reject
 * absolute paths, so entries are written relative to it): do not call it
 * concurrently with anything relying on the working directory.
 */
int asw_untar(const char *tar_path, const char *dest_dir,
              const struct asw_untar_limits *lim, struct asw_untar_stats *st,
              struct asw_err *err);

/*
 * Check one entry path (or a hard-link target) for safety without touching
 * the file system: non-empty, relative, no ".." component. Returns 0 or
 * ASW_EARCHIVE with err naming the path.
 */
int asw_untar_check_path(const char *path, struct asw_err *err);

#endif
