/*
 * peak.h - the first measurements of a calibrator image: the sub-pixel
 * peak (a quadratic fit to the log of the 3x3 pixels around the brightest
 * one, exact for a Gaussian beam) and robust statistics (median, 1.4826 x
 * the median absolute deviation) by quickselect.
 */
#ifndef ASW_REDUCE_PEAK_H
#define ASW_REDUCE_PEAK_H

#include <stddef.h>

/*
 * Refine the peak at the integer pixel (ix, iy) of an image of which data
 * holds rows y_lo .. y_lo + nrows - 1 (nx floats each, 0-based pixels).
 * The result is exp of the maximum of the least-squares quadratic in
 * log(I) over the 3x3 neighbourhood; it falls back to the pixel itself at
 * an edge, next to a non-positive or blank pixel, or when the quadratic
 * has no maximum within one pixel.
 */
void asw_peak_refine(const float *data, long nx, long y_lo, long nrows, long ix,
                     long iy, double *peak, double *x, double *y);

/* The median of v[0..n) (v is reordered; the mean of the two middle
 * values for even n). NAN for n = 0. */
double asw_median_float(float *v, size_t n);

/*
 * 1.4826 x the median absolute deviation of v[0..n) from its median, the
 * robust standard deviation of Gaussian noise. The deviations are formed
 * in double precision. v is overwritten. NAN for n < 2.
 */
double asw_robust_sigma(float *v, size_t n);

#endif
