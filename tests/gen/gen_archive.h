/*
 * gen_archive.h - write a whole synthetic archive directory from a plan:
 * ROOT/archive.sqlite, ROOT/dataPortal/<files>, ROOT/truth.json
 * (docs/sim-archive-layout.md).
 */
#ifndef ASW_GEN_ARCHIVE_H
#define ASW_GEN_ARCHIVE_H

#include "err.h"
#include "gen_plan.h"

/* What a run wrote. */
struct asw_gen_stats {
    int n_files;           /* files under ROOT/dataPortal */
    long long total_bytes; /* their summed sizes */
    int n_cal_images;      /* calibrator .pbcor.fits (truth images) */
    int n_sci_images;      /* science-target .pbcor.fits */
    int n_obscore_rows;
    int n_datalink_rows;
};

/*
 * Write the archive of plan under root (created if missing). Files a
 * previous run left in root/dataPortal, root/archive.sqlite and
 * root/truth.json are replaced; nothing else under root is touched.
 * Fills *stats when non-NULL. Returns 0 or a negative ASW_E* code
 * (ASW_EIO, ASW_EFITS, ASW_EARCHIVE, ASW_ENOMEM).
 */
int asw_gen_archive_write(const struct asw_gen_plan *plan, const char *root,
                          struct asw_gen_stats *stats, struct asw_err *err);

#endif
