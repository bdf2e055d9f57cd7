/*
 * measure.h - one image file to one catalogue row: read the FITS (io/),
 * measure it (src/reduce/), and fill the identifying columns from the
 * header and from the ALMA pipeline's file naming.
 */
#ifndef ASW_MEASURE_H
#define ASW_MEASURE_H

#include "src/err.h"
#include "src/result.h"

struct asw_product_name {
    char mous[64];     /* uid___A001_X.._X.. */
    char source[64];   /* J1924-2914 */
    char intent[16];   /* bp, ph, ch, amp, pol..., sci */
    int spw;           /* first spw number, -1 if none */
    char specmode[16]; /* mfs, cube, cont */
    char stokes[8];    /* I, IQUV, ... */
    int pbcor;         /* name ends in .pbcor.fits */
};

/*
 * Parse a pipeline product name such as
 * member.uid___A001_X1465_X2f66.J1924-2914_bp.spw16.mfs.I.pbcor.fits.
 * Returns 0, or ASW_EINVAL if the name does not follow the convention.
 */
int asw_product_name_parse(const char *name, struct asw_product_name *out);

/* Whether an intent names a calibrator image (bp, ph, ch, amp, pol*). */
int asw_intent_is_calibrator(const char *intent);

/*
 * Measure the image at path into *row (initialised here). Returns 0 or an
 * error code with err set; row is then only partly filled.
 */
int asw_measure_file(const char *path, struct asw_image *row,
                     struct asw_err *err);

#endif
