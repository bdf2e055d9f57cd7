/*
 * fitsimg.h - reading calibrator images (CASA exportfits or ALMA pipeline
 * FITS: 2-D, or 4-D with degenerate Stokes/frequency axes) with cfitsio.
 * Every header value is checked: an absurd header is a per-image error.
 */
#ifndef ASW_FITSIMG_H
#define ASW_FITSIMG_H

#include "src/err.h"

#include <stddef.h>

/* Largest plane we agree to read: 32768 x 32768 pixels. */
#define ASW_FITS_MAX_PIXELS ((size_t)1 << 30)

struct asw_fits_image {
    long nx, ny;     /* plane size in pixels */
    long nplanes;    /* product of the axes beyond the second */
    float *data;     /* first plane, nx*ny, row-major (owned) */
    double bmaj_deg; /* restoring beam, NAN if the header has none */
    double bmin_deg;
    double bpa_deg;
    double cdelt1_deg; /* pixel increments (CDELT1 is negative) */
    double cdelt2_deg;
    double crpix1, crpix2; /* 1-based reference pixel (phase centre) */
    double freq_hz;        /* frequency axis reference value, NAN if none */
    double bandwidth_hz;   /* |CDELT| of the frequency axis, NAN if none */
    double mjd;            /* DATE-OBS as MJD, NAN if absent */
    char object[72];       /* OBJECT */
    char bunit[32];        /* BUNIT */
};

/*
 * Read the first plane and the header of the primary image of path
 * (compressed .fits.gz files work too). Returns 0 or ASW_EFITS /
 * ASW_EINVAL / ASW_ETOOBIG / ASW_ENOMEM with err naming the file and the
 * problem. On success free the image with asw_fits_image_free.
 */
int asw_fits_read(const char *path, struct asw_fits_image *img,
                  struct asw_err *err);

/* Free the pixels. Accepts NULL. */
void asw_fits_image_free(struct asw_fits_image *img);

/*
 * Convert an ISO date-time "YYYY-MM-DD[Thh:mm:ss[.s]]" to MJD. Returns 0
 * or ASW_EINVAL.
 */
int asw_iso_to_mjd(const char *iso, double *mjd);

#endif
