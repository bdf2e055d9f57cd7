/*
 * gen_image.h - pixels and FITS files of one synthetic pipeline image.
 *
 * The sky is an elliptical Gaussian (the restoring beam, widened by the
 * source's own extent) evaluated analytically, plus white Gaussian noise
 * convolved with a Gaussian kernel whose widths are the beam's over sqrt(2),
 * so that the noise autocorrelation is the restoring beam. The primary beam
 * is a Gaussian of FWHM 1.13 lambda/D; pixels where it falls below the
 * pipeline's pblimit of 0.2 are NaN (masked), as in CASA exports.
 */
#ifndef ASW_GEN_IMAGE_H
#define ASW_GEN_IMAGE_H

#include "err.h"
#include "gen_plan.h"

/* Primary-beam level below which pipeline images are masked. */
#define ASW_GEN_PBLIMIT 0.2

/*
 * Render image im into pbcor and pb, each npix*npix floats that the
 * caller owns, x (RA axis) fastest. pbcor holds (sky + noise) / PB and pb
 * the primary beam; both are NaN where PB < ASW_GEN_PBLIMIT. The result
 * depends only on im (its noise_seed). Returns 0 or ASW_ENOMEM.
 */
int asw_gen_image_render(const struct asw_gen_image *im, float *pbcor,
                         float *pb, struct asw_err *err);

/* Header values of one exported image; strings are borrowed. */
struct asw_gen_fits_meta {
    const char *object;   /* OBJECT */
    const char *bunit;    /* "Jy/beam", or "" for a primary beam */
    const char *observer; /* OBSERVER (PI user id) */
    double ra_deg;        /* CRVAL1, OBSRA */
    double dec_deg;       /* CRVAL2, OBSDEC */
    double freq_hz;       /* CRVAL3, RESTFRQ */
    double bw_hz;         /* CDELT3 */
    double bmaj_arcsec;
    double bmin_arcsec;
    double bpa_deg;
    double cell_arcsec;
    int npix;
    double mjd_obs;     /* DATE-OBS */
    double mjd_written; /* DATE */
};

/*
 * Write an npix x npix float32 image with the 4-axis header CASA's
 * exportfits writes, to path (replaced if present). A path ending in
 * ".gz" is gzip-compressed. The file is written under a temporary name in
 * the same directory and renamed, so cfitsio never parses the final name.
 * Returns 0, ASW_EFITS or ASW_EIO.
 */
int asw_gen_fits_write(const char *path, const struct asw_gen_fits_meta *meta,
                       const float *data, struct asw_err *err);

/* Format mjd as ISO-8601 "YYYY-MM-DDThh:mm:ss.ffffff" (UTC) into buf. */
void asw_gen_mjd_isot(double mjd, char *buf, size_t n);

#endif
