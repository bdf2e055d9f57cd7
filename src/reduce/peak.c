#include "peak.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Quickselect: the k-th smallest of v[0..n). O(n) on average. */
static float select_k(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

static double median(float *v, size_t n)
{
    if (n % 2)
        return select_k(v, n, n / 2);
    double a = select_k(v, n, n / 2);
    double b = select_k(v, n, n / 2 - 1);
    return 0.5 * (a + b);
}

double asw_robust_sigma(float *v, size_t n)
{
    if (n < 2)
        return NAN;
    double med = median(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = fabsf(v[i] - (float)med);
    return 1.4826 * median(v, n);
}

/*
 * Refine the peak at integer (ix, iy) with a least-squares quadratic in
 * the log of the 3x3 neighbourhood. For x, y in {-1, 0, 1} the basis
 * 1, x, y, x^2-2/3, xy, y^2-2/3 is orthogonal, so the coefficients are
 * plain sums. Falls back to the pixel when the fit is not a maximum
 * within one pixel.
 */
static void refine(const struct asw_plane *p, long ix, long iy,
                   struct asw_peak *out)
{
    out->peak = p->data[iy * p->nx + ix];
    out->x = (double)ix;
    out->y = (double)iy;
    if (ix < 1 || iy < 1 || ix >= p->nx - 1 || iy >= p->ny - 1)
        return;
    double f[3][3], sum = 0;
    for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
            float v = p->data[(iy + dy) * p->nx + ix + dx];
            if (!(v > 0))
                return;
            f[dy + 1][dx + 1] = log(v);
            sum += f[dy + 1][dx + 1];
        }
    }
    double c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0;
    for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
            double v = f[dy + 1][dx + 1];
            c1 += dx * v;
            c2 += dy * v;
            c3 += (dx * dx - 2.0 / 3.0) * v;
            c4 += dx * dy * v;
            c5 += (dy * dy - 2.0 / 3.0) * v;
        }
    }
    c1 /= 6;
    c2 /= 6;
    c3 /= 2;
    c4 /= 4;
    c5 /= 2;
    double c0 = sum / 9 - 2.0 / 3.0 * (c3 + c5);
    /* Maximum: [2c3 c4; c4 2c5] [x y] = -[c1 c2], negative definite. */
    double det = 4 * c3 * c5 - c4 * c4;
    if (!(c3 < 0 && det > 0))
        return;
    double x = (-c1 * 2 * c5 + c2 * c4) / det;
    double y = (-c2 * 2 * c3 + c1 * c4) / det;
    if (fabs(x) > 1 || fabs(y) > 1)
        return;
    double lv = c0 + c1 * x + c2 * y + c3 * x * x + c4 * x * y + c5 * y * y;
    out->peak = exp(lv);
    out->x = ix + x;
    out->y = iy + y;
}

int asw_peak_measure(const struct asw_plane *p, struct asw_peak *out,
                     struct asw_err *err)
{
    memset(out, 0, sizeof *out);
    out->peak = out->rms = out->x = out->y = NAN;
    double beam = p->beam_pix > 0 ? p->beam_pix : 5.0;
    double r_search =
        fmax(10 * beam, (double)(p->nx < p->ny ? p->nx : p->ny) / 8.0);
    long best = -1;
    float bestv = -INFINITY;
    size_t nnan = 0, npix = (size_t)p->nx * (size_t)p->ny;
    for (long y = 0; y < p->ny; y++) {
        for (long x = 0; x < p->nx; x++) {
            float v = p->data[y * p->nx + x];
            if (isnan(v)) {
                nnan++;
                continue;
            }
            double dx = x - p->cx, dy = y - p->cy;
            if (dx * dx + dy * dy <= r_search * r_search && v > bestv) {
                bestv = v;
                best = y * p->nx + x;
            }
        }
    }
    out->nan_fraction = npix ? (double)nnan / (double)npix : 1.0;
    if (best < 0)
        return asw_err_set(err, ASW_EINVAL, "reduce",
                           "no finite pixel near the phase centre");
    refine(p, best % p->nx, best / p->nx, out);

    /* Noise: outside 3 beams of the source, inside a quarter of the image
     * around the centre (the primary-beam-corrected noise grows outward). */
    double r_in = 3 * beam;
    double r_out =
        fmax((double)(p->nx < p->ny ? p->nx : p->ny) / 4.0, r_in + 2 * beam);
    float *v = malloc(npix * sizeof *v);
    if (!v)
        return asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
    size_t n = 0;
    for (long y = 0; y < p->ny; y++) {
        for (long x = 0; x < p->nx; x++) {
            float f = p->data[y * p->nx + x];
            double sx = x - out->x, sy = y - out->y;
            double cx = x - p->cx, cy = y - p->cy;
            if (!isnan(f) && sx * sx + sy * sy > r_in * r_in &&
                cx * cx + cy * cy <= r_out * r_out)
                v[n++] = f;
        }
    }
    out->n_noise = n;
    out->rms = asw_robust_sigma(v, n);
    free(v);
    return 0;
}
