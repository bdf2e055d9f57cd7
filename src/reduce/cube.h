/*
 * cube.h - one spectral cube to a continuum row and the spectra toward
 * the calibrator, reading one channel at a time (memory does not grow
 * with the number of channels). The source is found on the mean of a few
 * channels; then every channel gives the peak-pixel value, a beam-weighted
 * aperture value and the robust noise in an annulus; the mean over all
 * channels is measured like an image (flux.h). Absorption analysis of the
 * spectrum is absorb.h's.
 */
#ifndef ASW_REDUCE_CUBE_H
#define ASW_REDUCE_CUBE_H

#include "flux.h"

/*
 * Reads rows y0 .. y0 + nrows - 1 of channel chan into buf (nx * nrows
 * floats). Returns 0 or an error code with err set. The I/O edge supplies
 * it (io/fitsimg.c through jobs/measure.c; tests read from memory).
 */
typedef int (*asw_rows_reader)(void *ctx, long chan, long y0, long nrows,
                               float *buf, struct asw_err *err);

struct asw_sky_cube {
    long nx, ny, nchan;
    struct asw_wcs wcs;
    double bmaj_arcsec, bmin_arcsec, bpa_deg; /* common (or median) beam */
    /* Per-channel beams (nchan each, borrowed) or NULL. */
    const double *chan_bmaj_arcsec, *chan_bmin_arcsec, *chan_bpa_deg;
    double phase_ra_deg, phase_dec_deg; /* NAN: CRVAL */
    int pbcor;
    asw_rows_reader read;
    void *ctx; /* passed to read */
};

/*
 * Reduce cube c: the measurement columns of *row from the mean over all
 * channels (as asw_reduce_image, with the cube noise annulus), and per
 * channel flux_jy (peak pixel of the source), ap_flux_jy (beam-weighted
 * aperture of radius one beam FWHM, sum(w I) / sum(w^2): the flux of a
 * point source; may be NULL) and chan_noise_jy (1.4826 MAD in the annulus
 * between exclude_beams around the source and cube_annulus_beams around
 * the phase centre, at most cube_noise_cap pixels, evenly decimated:
 * the beam correlates neighbours, so 2048 of a few thousand lose little).
 * Blank values are NAN. Arrays are the caller's, nchan long. Returns 0,
 * ASW_EINVAL (nothing to measure), a reader error or ASW_ENOMEM.
 */
int asw_reduce_cube(const struct asw_sky_cube *c,
                    const struct asw_reduce_opts *o, struct asw_image *row,
                    double *flux_jy, double *ap_flux_jy, double *chan_noise_jy,
                    struct asw_err *err);

#endif
