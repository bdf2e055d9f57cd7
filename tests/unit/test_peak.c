/* Unit tests: sub-pixel peak and robust noise. */
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
    struct asw_plane p = {d, n, n, 32, 32, 6.0};
    struct asw_peak pk;
    assert_int_equal(asw_peak_measure(&p, &pk, NULL), 0);
    /* A quadratic in log is exact for a Gaussian. */
    assert_true(fabs(pk.peak - 2.5) / 2.5 < 1e-4);
    assert_true(fabs(pk.x - 31.6) < 1e-3);
    assert_true(fabs(pk.y - 32.35) < 1e-3);
    free(d);
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
    assert_true(fabs(s - 0.3) < 0.01);
    free(v);
}

static void blank_plane_is_an_error(void **state)
{
    (void)state;
    float d[16];
    for (int i = 0; i < 16; i++)
        d[i] = NAN;
    struct asw_plane p = {d, 4, 4, 2, 2, NAN};
    struct asw_peak pk;
    struct asw_err err = {0};
    assert_int_equal(asw_peak_measure(&p, &pk, &err), ASW_EINVAL);
    assert_true(pk.nan_fraction == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subpixel_peak_noise_free),
        cmocka_unit_test(robust_sigma_of_gaussian_noise),
        cmocka_unit_test(blank_plane_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
