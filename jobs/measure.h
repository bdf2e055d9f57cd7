/*
 * measure.h - one image or cube file to catalogue rows: read the FITS
 * (io/fitsimg.c), measure it (src/reduce/), fill the identifying columns
 * from the ALMA pipeline's file naming and image keywords, compare with the
 * calibrator catalogue flux, and score the QA. Per (unit, source): the
 * spectral index over the spectral windows.
 */
#ifndef ASW_MEASURE_H
#define ASW_MEASURE_H

#include "src/err.h"
#include "src/reduce/absorb.h"
#include "src/reduce/flux.h"
#include "src/reduce/fluxcat.h"
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

struct asw_measure_opts {
    const char *unit_id;           /* copied into the rows, may be NULL */
    const char *pb_path;           /* primary beam; NULL: the pipeline's
                                      .pb.fits[.gz] next to a .pbcor.fits */
    const struct asw_fluxcat *cat; /* flux.csv rows, or NULL */
    double rms_theory_jy;          /* theoretical noise, NAN if unknown */
    struct asw_reduce_opts reduce;
    struct asw_absorb_opts absorb;
};

/* Defaults: no unit, PB looked up by name, no catalogue, NAN theory. */
void asw_measure_opts_init(struct asw_measure_opts *o);

/*
 * Measure the FITS file at path and append to res one image row (always;
 * when the file cannot be measured the row carries the reason in `error`
 * and the matching QA bits) and, for a cube, its spectrum and absorption
 * lines (the spectrum holds both the peak-pixel and the beam-weighted
 * aperture spectrum; res owns it). Returns 0 when the image was
 * measured, otherwise the error code with err set (the row is appended
 * all the same); ASW_ENOMEM when even that failed.
 */
int asw_measure_into(const char *path, const struct asw_measure_opts *o,
                     struct asw_result *res, struct asw_err *err);

/*
 * The row of one image with default options (no catalogue, PB by name);
 * the spectrum of a cube is not kept. Returns as asw_measure_into; *row is
 * filled in every case.
 */
int asw_measure_file(const char *path, struct asw_image *row,
                     struct asw_err *err);

/*
 * Append to res one spectral-index row per (source, member OUS from the
 * file name, and observing day when there is no OUS) over the measured
 * per-spw continuum images res->images[first..]: rows without an error,
 * with a fitted flux, and not NOT_FOUND / FIT_FAILED / NO_BEAM; at least
 * two frequencies. Returns 0 or ASW_ENOMEM.
 */
int asw_measure_seds(struct asw_result *res, size_t first, struct asw_err *err);

#endif
