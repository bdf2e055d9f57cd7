/*
 * products.c - the products backend: take the ALMA pipeline's own
 * calibrator images (*_bp, *_ph, *_ch, *_amp, *_pol* .pbcor.fits) from
 * the unit directory and measure each one. No CASA needed.
 */
#include "measure.h"
#include "pipeline.h"

#include "src/log.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>

static int want_entry(const char *path)
{
    struct asw_product_name pn;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 8 && strcmp(base + n - 8, "flux.csv") == 0)
        return 1;
    if (asw_product_name_parse(base, &pn))
        return 0;
    if (!asw_intent_is_calibrator(pn.intent))
        return 0;
    return pn.pbcor || (n > 11 && strcmp(base + n - 11, ".pb.fits.gz") == 0);
}

/* nftw has no user pointer: collect paths in a file-local list. The
 * walk runs on one thread per process (the MPI rank's main thread). */
static struct {
    char **v;
    size_t n;
    int oom;
} found;

static int collect(const char *path, const struct stat *sb, int type,
                   struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type != FTW_F)
        return 0;
    struct asw_product_name pn;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (asw_product_name_parse(base, &pn) || !pn.pbcor ||
        !asw_intent_is_calibrator(pn.intent))
        return 0;
    char **v = realloc(found.v, (found.n + 1) * sizeof *v);
    if (!v || !(v[found.n] = strdup(path))) {
        found.oom = 1;
        return 1;
    }
    found.v = v;
    found.n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int process(const struct asw_job *job, struct asw_result *res,
                   struct asw_err *err)
{
    found.v = NULL;
    found.n = 0;
    found.oom = 0;
    int rc = 0;
    if (nftw(job->unit_dir, collect, 16, FTW_PHYS) != 0 || found.oom) {
        rc = asw_err_set(err, found.oom ? ASW_ENOMEM : ASW_EIO, "products",
                         "cannot walk %s", job->unit_dir);
        goto out;
    }
    /* Sorted, so every run lists a unit's rows in the same order. */
    if (found.n > 1)
        qsort(found.v, found.n, sizeof *found.v, cmp_str);
    size_t failed = 0;
    for (size_t i = 0; i < found.n; i++) {
        struct asw_image row;
        struct asw_err ierr = {0};
        if (asw_measure_file(found.v[i], &row, &ierr)) {
            asw_warn("%s: %s", job->unit->id, ierr.msg);
            failed++;
            continue;
        }
        snprintf(row.unit_id, sizeof row.unit_id, "%s", job->unit->id);
        if ((rc = asw_result_add_image(res, &row))) {
            asw_err_set(err, rc, "products", "out of memory");
            goto out;
        }
    }
    if (found.n == 0)
        asw_warn("%s: no calibrator images in the products", job->unit->id);
    else if (failed == found.n)
        rc = asw_err_set(err, ASW_EFITS, "products",
                         "none of the %zu calibrator images could be "
                         "measured",
                         found.n);
out:
    for (size_t i = 0; i < found.n; i++)
        free(found.v[i]);
    free(found.v);
    found.v = NULL;
    found.n = 0;
    return rc;
}

const struct asw_backend asw_backend_products = {
    .name = "products",
    .want_entry = want_entry,
    .process = process,
};
