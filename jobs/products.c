/*
 * products.c - the products backend: take the ALMA pipeline's own
 * calibrator images (*_bp, *_ph, *_ch, *_amp, *_pol* .pbcor.fits, with
 * their .pb.fits.gz primary beams) from the unit directory and measure
 * each one, comparing with the pipeline's flux.csv; then fit the spectral
 * index of every source over its spectral windows. No CASA needed.
 */
#include "measure.h"
#include "pipeline.h"

#include "src/log.h"
#include "src/reduce/fluxcat.h"

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

/* A unit holds a handful of flux.csv files (one per member OUS). */
#define MAX_FLUX_CSV 64

/* nftw has no user pointer: collect paths in a file-local list. The
 * walk runs on one thread per process (the MPI rank's main thread). */
static struct {
    char **v;
    size_t n;
    char *csv[MAX_FLUX_CSV];
    size_t ncsv;
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
    size_t bl = strlen(base);
    if (bl >= 8 && strcmp(base + bl - 8, "flux.csv") == 0) {
        if (found.ncsv < MAX_FLUX_CSV &&
            !(found.csv[found.ncsv++] = strdup(path))) {
            found.oom = 1;
            return 1;
        }
        return 0;
    }
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
    found.ncsv = 0;
    found.oom = 0;
    struct asw_fluxcat cat = {0};
    int rc = 0;
    if (nftw(job->unit_dir, collect, 16, FTW_PHYS) != 0 || found.oom) {
        rc = asw_err_set(err, found.oom ? ASW_ENOMEM : ASW_EIO, "products",
                         "cannot walk %s", job->unit_dir);
        goto out;
    }
    /* Sorted, so every run lists a unit's rows in the same order. */
    if (found.n > 1)
        qsort(found.v, found.n, sizeof *found.v, cmp_str);
    /* The catalogue fluxes the pipeline used: a bad flux.csv only costs
     * the comparison. */
    for (size_t i = 0; i < found.ncsv; i++)
        if ((rc = asw_fluxcat_load_optional(found.csv[i], &cat, job->unit->id,
                                            err)))
            goto out;
    struct asw_measure_opts mo;
    asw_measure_opts_init(&mo);
    mo.unit_id = job->unit->id;
    mo.cat = &cat;
    size_t failed = 0, first = res->n_images;
    for (size_t i = 0; i < found.n; i++) {
        struct asw_err ierr = {0};
        int mrc = asw_measure_into(found.v[i], &mo, res, &ierr);
        if (mrc == ASW_ENOMEM) {
            rc = asw_err_set(err, mrc, "products", "out of memory");
            goto out;
        }
        if (mrc) { /* the row records why */
            asw_warn("%s: %s", job->unit->id, ierr.msg);
            failed++;
        }
    }
    if ((rc = asw_measure_seds(res, first, err)))
        goto out;
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
    for (size_t i = 0; i < found.ncsv; i++)
        free(found.csv[i]);
    found.v = NULL;
    found.n = found.ncsv = 0;
    asw_fluxcat_free(&cat);
    return rc;
}

const struct asw_backend asw_backend_products = {
    .name = "products",
    .want_entry = want_entry,
    .process = process,
};
