/*
 * pipeline.h - what happens to one unit on one worker: fetch its files to
 * node-local scratch, extract, hand the directory to the backend of the
 * pipeline mode (products or casa), reduce, clean up. A bad unit is data:
 * the outcome is always a result (done or failed with module:code:text).
 */
#ifndef ASW_PIPELINE_H
#define ASW_PIPELINE_H

#include "src/config.h"
#include "src/result.h"
#include "src/unit.h"

struct asw_job {
    const struct asw_config *cfg;
    const struct asw_unit *unit;
    const char *unit_dir; /* scratch directory of this unit */
    int rank;
};

/*
 * A pipeline backend (IOR's aiori pattern): the products and casa modes
 * implement this interface.
 */
struct asw_backend {
    const char *name;
    /* Whether a tar entry is worth extracting (NULL: everything). */
    int (*want_entry)(const char *path);
    /* Turn the extracted unit directory into result rows. Returns 0 or an
     * error code with err set (the unit then fails). */
    int (*process)(const struct asw_job *job, struct asw_result *res,
                   struct asw_err *err);
};

/* The backend for a [pipeline] mode name, or NULL. */
const struct asw_backend *asw_backend_find(const char *mode);

extern const struct asw_backend asw_backend_products;

/*
 * Run unit u end to end as rank `rank` and fill *res (which the caller
 * clears). Never fails as a function: failures are recorded in res.
 */
void asw_pipeline_run(const struct asw_config *cfg, const struct asw_unit *u,
                      int rank, struct asw_result *res);

#endif
