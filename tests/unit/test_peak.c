/* Unit tests: sub-pixel peak, median and robust noise (src/reduce/peak). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <math.h>

#include <cmocka.h>

#include "src/reduce/peak.h"

/* An elliptical Gaussian beam of amplitude a at (x0, y0), FWHM in pixels. */
static void gaussian(float *d, long n, double a, double x0, double y0,
                     double fmaj, double fmin, double pa_deg)
{
    double sa = fmaj / 2.3548200450309493, sb = fmin / 2.3548200450309493;
    double t = pa_deg * M_PI / 180.0;
    for (long y = 0; y < n; y++) {
        for (long x = 0; x < n; x++) {
            double dx = x - x0, dy = y - y0;
            /* PA from north (y) towards east (-x). */
            double u = -dx * sin(t) + dy * cos(t);
            double v = dx * cos(t) + dy * sin(t);
            d[y * n + x] +=
                (float)(a *
                        exp(-0.5 * (u * u / (sa * sa) + v * v / (sb * sb))));
        }
    }
}

static void subpixel_peak_noise_free(void **state)
{
    (void)state;
    long n = 64;
    float *d = calloc((size_t)(n * n), sizeof *d);
    gaussian(d, n, 2.5, 31.6, 32.35, 6.0, 4.5, 37.0);
    double pk, x, y;
    asw_peak_refine(d, n, 0, n, 32, 32, &pk, &x, &y);
    /* A quadratic in log is exact for a Gaussian. */
    assert_true(fabs(pk - 2.5) / 2.5 < 1e-5);
    assert_true(fabs(x - 31.6) < 1e-4);
    assert_true(fabs(y - 32.35) < 1e-4);
    /* The same from a band of rows that holds the neighbourhood. */
    asw_peak_refine(d + 30 * n, n, 30, 5, 32, 32, &pk, &x, &y);
    assert_true(fabs(y - 32.35) < 1e-4);
    free(d);
}

static void refine_falls_back_at_edges_and_blanks(void **state)
{
    (void)state;
    long n = 16;
    float *d = calloc((size_t)(n * n), sizeof *d);
    gaussian(d, n, 1.0, 8.3, 8.0, 4.0, 4.0, 0.0);
    double pk, x, y;
    /* the band lacks the row below the peak: the pixel itself */
    asw_peak_refine(d + 8 * n, n, 8, 4, 8, 8, &pk, &x, &y);
    assert_true(x == 8.0 && y == 8.0 && pk == d[8 * n + 8]);
    d[7 * n + 9] = NAN;
    asw_peak_refine(d, n, 0, n, 8, 8, &pk, &x, &y);
    assert_true(x == 8.0 && pk == d[8 * n + 8]);
    asw_peak_refine(d, n, 0, n, 0, 8, &pk, &x, &y); /* left edge */
    assert_true(x == 0.0);
    free(d);
}

static void median_exact(void **state)
{
    (void)state;
    float a[] = {5, 1, 4, 2, 3};
    assert_true(asw_median_float(a, 5) == 3.0);
    float b[] = {7, 1, 4, 2, 3, 10};
    assert_true(asw_median_float(b, 6) == 3.5);
    float c[] = {2, 2, 2, 1};
    assert_true(asw_median_float(c, 4) == 2.0);
    assert_true(isnan(asw_median_float(c, 0)));
}

static void robust_sigma_of_gaussian_noise(void **state)
{
    (void)state;
    size_t n = 200001;
    float *v = malloc(n * sizeof *v);
    srand(3);
    for (size_t i = 0; i < n; i += 2) {
        double u1 = (rand() + 1.0) / (RAND_MAX + 2.0);
        double u2 = (rand() + 1.0) / (RAND_MAX + 2.0);
        double r = sqrt(-2 * log(u1));
        v[i] = (float)(r * cos(2 * M_PI * u2) * 0.3);
        if (i + 1 < n)
            v[i + 1] = (float)(r * sin(2 * M_PI * u2) * 0.3);
    }
    /* A few huge outliers must not move a robust estimate. */
    for (size_t i = 0; i < 100; i++)
        v[i * 997] = 1000.0f;
    double s = asw_robust_sigma(v, n);
    assert_true(fabs(s - 0.3) < 0.005);
    /* 1.4826 x MAD exactly: {1..5} has median 3, MAD 1 */
    float w[] = {1, 2, 3, 4, 5};
    assert_true(fabs(asw_robust_sigma(w, 5) - 1.4826) < 1e-12);
    assert_true(isnan(asw_robust_sigma(w, 1)));
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subpixel_peak_noise_free),
        cmocka_unit_test(refine_falls_back_at_edges_and_blanks),
        cmocka_unit_test(median_exact),
        cmocka_unit_test(robust_sigma_of_gaussian_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
