/*
 * flux.h - one calibrator image to one catalogue row: find the source near
 * the phase centre, its sub-pixel peak, the robust noise, an elliptical
 * Gaussian fit with Condon (1997) errors, the integrated flux, position,
 * offset from the phase centre, fitted and deconvolved size, dynamic range
 * and the measurement QA bits. Definitions: docs/science.md. No I/O: the
 * caller reads the pixels (io/fitsimg.c) and fills the identifying columns.
 */
#ifndef ASW_REDUCE_FLUX_H
#define ASW_REDUCE_FLUX_H

#include "src/err.h"
#include "src/result.h"
#include "wcs.h"

#include <stddef.h>

/* Tunables; asw_reduce_opts_init gives the documented defaults. Radii are
 * in units of the beam major axis (FWHM) in pixels. */
struct asw_reduce_opts {
    double search_beams;       /* 5: source search radius, phase centre */
    double exclude_beams;      /* 5: radius around the source left out of
                                  the noise */
    double annulus_beams;      /* 20: outer radius of the noise region
                                  around the phase centre (images) */
    double cube_annulus_beams; /* 10: the same for the per-channel noise of
                                  cubes */
    size_t cube_noise_cap;     /* 2048: pixels per channel for its noise */
    double fit_box_fwhm;       /* 2: fit-box half-size in FWHM */
    double detect_snr;         /* 5: below this peak SNR: NOT_FOUND */
    int fit_background;        /* 0: fit a constant background too */
    double pb_lo, pb_hi;       /* 0.2, 0.3: the pipeline's noise annulus */
    double pb_min_beams;       /* 20: beam areas the PB annulus must hold */
};

/* Fill o with the defaults above. */
void asw_reduce_opts_init(struct asw_reduce_opts *o);

/* One plane, or a band of its rows, with its geometry. */
struct asw_sky_image {
    const float *data; /* nx * nrows, rows y_lo.., NaN = blank (borrowed) */
    const float *pb;   /* primary beam, same layout, or NULL */
    long nx, ny;       /* size of the full plane */
    long y_lo, nrows;  /* the rows present */
    struct asw_wcs wcs;
    double bmaj_arcsec, bmin_arcsec, bpa_deg; /* NAN if unknown */
    double phase_ra_deg, phase_dec_deg;       /* NAN: CRVAL */
    int pbcor;                                /* data are PB-corrected */
};

/*
 * The rows an image reduction reads when it has no primary beam: those
 * within radius_beams (opts annulus) of the reference pixel, clipped to
 * the plane. A missing or absurd beam assumes 6 pixels (the pipeline's 5
 * pixels across the minor axis). Always at least one row.
 */
void asw_reduce_rows(const struct asw_wcs *w, long ny, double bmaj_arcsec,
                     double radius_beams, long *y_lo, long *nrows);

/*
 * Beam major axis in pixels for the region radii, 6 when the beam is
 * unknown or absurd (below 0.5 or above 1e5 pixels).
 */
double asw_reduce_beam_pix(const struct asw_wcs *w, double bmaj_arcsec);

/*
 * Measure im into the measurement columns of *row (the identifying ones,
 * freq_hz, band and error are the caller's). Sets the QA bits NOT_FOUND,
 * FIT_FAILED, NO_BEAM and NAN (blanks in the fit box) here; asw_qa_finish
 * adds the threshold checks and the score. Returns 0 when the image was
 * measured (a source that is not found is a measurement), ASW_EINVAL when
 * it cannot be (absurd pixel scale, no finite pixel near the phase centre,
 * too few pixels for a noise estimate) or ASW_ENOMEM.
 */
int asw_reduce_image(const struct asw_sky_image *im,
                     const struct asw_reduce_opts *o, struct asw_image *row,
                     struct asw_err *err);

#endif
