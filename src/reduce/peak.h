/*
 * peak.h - the first measurements of a calibrator image: the peak near
 * the phase centre (sub-pixel, from a quadratic fit to the log of the 3x3
 * pixels around the brightest one, exact for a Gaussian beam) and a robust
 * noise (1.4826 x MAD in an annulus that excludes the source).
 */
#ifndef ASW_REDUCE_PEAK_H
#define ASW_REDUCE_PEAK_H

#include "src/err.h"

#include <stddef.h>

struct asw_plane {
    const float *data; /* nx*ny, row-major, NaN = blank (borrowed) */
    long nx, ny;
    double cx, cy;   /* phase centre, 0-based pixels */
    double beam_pix; /* beam FWHM (major axis) in pixels, NAN unknown */
};

struct asw_peak {
    double peak;    /* peak brightness (image units) */
    double x, y;    /* 0-based sub-pixel position */
    double rms;     /* robust noise (image units) */
    size_t n_noise; /* pixels used for the noise */
    double nan_fraction;
};

/*
 * Measure p. The source is sought within max(10 beams, nx/8) pixels of the
 * phase centre; the noise annulus runs from 3 beams around the source to
 * a quarter of the image size around the centre. Returns 0, ASW_EINVAL
 * (blank plane, nothing to measure) or ASW_ENOMEM.
 */
int asw_peak_measure(const struct asw_plane *p, struct asw_peak *out,
                     struct asw_err *err);

/* 1.4826 x the median absolute deviation of v[0..n) (v is reordered). */
double asw_robust_sigma(float *v, size_t n);

#endif
