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
#include "src/unit.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Where an entry sits in the ALMA tar layout
 *   <project>/science_goal.<uid>/group.<uid>/member.<uid>/<area>/...
 * e.g. 2017.1.01185.S/science_goal.uid___A001_X1284_X265c/group.uid___A001_
 * X1284_X265d/member.uid___A001_X1284_X265e/product/x.pbcor.fits.
 */
enum asw_alma_area {
    ASW_ALMA_NONE = 0,    /* not inside a member OUS directory */
    ASW_ALMA_MEMBER,      /* the member directory or a file in it (README) */
    ASW_ALMA_RAW,         /* raw/: ASDMs */
    ASW_ALMA_PRODUCT,     /* product/: pipeline images, cubes */
    ASW_ALMA_CALIBRATION, /* calibration/: caltables, flux.csv */
    ASW_ALMA_SCRIPT,      /* script/: scriptForPI.py, pipeline scripts */
    ASW_ALMA_QA,          /* qa/: weblog, QA2 reports */
    ASW_ALMA_LOG,         /* log/: CASA and pipeline logs */
    ASW_ALMA_OTHER,       /* another directory under the member */
    ASW_ALMA_N_AREAS
};

struct asw_alma_path {
    enum asw_alma_area area;
    char project[ASW_NAME_MAX]; /* "2017.1.01185.S", "" if not matched */
    char sous[ASW_UID_MAX];     /* science goal uid, sanitized form */
    char gous[ASW_UID_MAX];     /* group OUS uid */
    char mous[ASW_UID_MAX];     /* member OUS uid */
    const char *rest; /* borrowed from path: what follows "<area>/" ("" for
                         the area directory, the file name for MEMBER) */
};

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
    int remove_on_error; /* non-zero: a failed call removes the entries it
                            wrote (files, links, then emptied dirs) */
};

struct asw_untar_stats {
    uint64_t entries;         /* entries extracted (dirs and links too) */
    uint64_t entries_skipped; /* entries the filter declined */
    uint64_t bytes;           /* file data bytes written */
    uint64_t files_by_area[ASW_ALMA_N_AREAS]; /* regular files extracted,
                                                 by asw_untar_classify */
};

/*
 * Source of a streamed archive: copy up to n bytes into buf. Return the
 * number copied (> 0), 0 at the end, or a negative ASW_E* code with err
 * filled (the extraction then fails with that code and message).
 */
typedef long (*asw_untar_read_fn)(void *user, void *buf, size_t n,
                                  struct asw_err *err);

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
 * The working directory of the calling thread is changed to dest_dir
 * during the call and restored before it returns (libarchive's secure
 * flags reject absolute paths, so entries are written relative to it).
 * The thread first gets a working directory of its own (Linux
 * unshare(CLONE_FS)), so other threads are not affected; only where the
 * kernel refuses that is the process's working directory moved.
 */
int asw_untar(const char *tar_path, const char *dest_dir,
              const struct asw_untar_limits *lim, struct asw_untar_stats *st,
              struct asw_err *err);

/*
 * asw_untar reading the archive from rd (called on this thread until it
 * returns 0 or an error, never again after this call returns) instead of
 * a file; name (may be NULL) is only used in messages. Same rules, results and
 * working-directory caveat as asw_untar.
 */
int asw_untar_stream(asw_untar_read_fn rd, void *rd_user, const char *name,
                     const char *dest_dir, const struct asw_untar_limits *lim,
                     struct asw_untar_stats *st, struct asw_err *err);

/*
 * Classify an entry path of an ALMA tar (see enum asw_alma_area); a
 * leading "./" is ignored. Fills *out when not NULL (out->rest points into
 * path) and returns out's area; ASW_ALMA_NONE when the path does not reach
 * a member OUS directory through project, science goal and group.
 */
enum asw_alma_area asw_untar_classify(const char *path,
                                      struct asw_alma_path *out);

/* Short lower-case name of an area ("product", "raw", "none", ...). */
const char *asw_alma_area_name(enum asw_alma_area a);

/*
 * Check one entry path (or a hard-link target) for safety without touching
 * the file system: non-empty, relative, no ".." component. Returns 0 or
 * ASW_EARCHIVE with err naming the path.
 */
int asw_untar_check_path(const char *path, struct asw_err *err);

#endif
