/* Unit tests: one image to one row (src/reduce/flux, gauss2d fit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/reduce/flux.h"
#include "src/reduce/gauss2d.h"

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))
#define N               96

/* Deterministic white noise (xorshift + Box-Muller). */
static unsigned long long rs = 88172645463325252ULL;
static double unif(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return ((rs >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
}

struct img {
    float d[N * N];
    float pb[N * N];
    struct asw_sky_image im;
};

/* A Gaussian of FWHM maj x min arcsec at PA pa and flux S (Jy, beam
 * bmaj x bmin) at pixel (x0, y0), 0.2" pixels, RA to the left. */
static void make(struct img *g, double S, double x0, double y0, double maj,
                 double min, double pa, double bmaj, double bmin, double bpa,
                 double noise)
{
    double cell = 0.2;
    double t = pa * M_PI / 180, sM = maj / 2.35482 / cell,
           sm = min / 2.35482 / cell;
    double amp = S * bmaj * bmin / (maj * min);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            double dx = x - x0, dy = y - y0;
            double u = -dx * sin(t) + dy * cos(t),
                   v = dx * cos(t) + dy * sin(t);
            g->d[y * N + x] = (float)(amp * exp(-0.5 * (u * u / (sM * sM) +
                                                        v * v / (sm * sm))) +
                                      noise * gauss());
            g->pb[y * N + x] = 1.0f;
        }
    memset(&g->im, 0, sizeof g->im);
    g->im.data = g->d;
    g->im.nx = g->im.ny = N;
    g->im.y_lo = 0;
    g->im.nrows = N;
    g->im.bmaj_arcsec = bmaj;
    g->im.bmin_arcsec = bmin;
    g->im.bpa_deg = bpa;
    g->im.phase_ra_deg = g->im.phase_dec_deg = NAN;
    double crval[2] = {150.0, 2.0}, crpix[2] = {N / 2 + 1, N / 2 + 1};
    double cdelt[2] = {-cell / 3600, cell / 3600};
    asw_wcs_set(&g->im.wcs, "RA---SIN", crval, crpix, cdelt, NULL, NULL, NAN);
}

static struct asw_image run(struct img *g, int expect_rc)
{
    struct asw_image r;
    asw_image_init(&r);
    struct asw_err e = {0};
    assert_int_equal(asw_reduce_image(&g->im, NULL, &r, &e), expect_rc);
    return r;
}

static void point_source_recovered(void **state)
{
    (void)state;
    struct img *g = malloc(sizeof *g);
    make(g, 1.7, 48.3, 47.6, 1.2, 0.9, 25, 1.2, 0.9, 25, 1e-4);
    struct asw_image r = run(g, 0);
    assert_int_equal(r.qa_flags & ~ASW_QA_NAN, 0);
    NEAR(r.flux_jy, 1.7, 1.7 * 5e-4);
    NEAR(r.peak_jy, 1.7, 1.7 * 5e-4);
    NEAR(r.fit_maj_arcsec, 1.2, 1e-3);
    NEAR(r.fit_min_arcsec, 0.9, 1e-3);
    NEAR(r.fit_pa_deg, 25, 0.5);
    NEAR(r.peak_x_pix, 48.3, 0.01);
    NEAR(r.peak_y_pix, 47.6, 0.01);
    /* 0.3 px west and 0.4 px south of the phase centre: 0.1" */
    NEAR(r.offset_arcsec, 0.1, 1e-3);
    NEAR(r.offset_beams, 0.1 / sqrt(1.2 * 0.9), 1e-3);
    NEAR(r.dec_maj_arcsec, 0.0, 0);
    NEAR(r.pix_per_beam, 4.5, 1e-12);
    NEAR(r.rms_jy, 1e-4, 1e-5);
    NEAR(r.snr, 1.7e4, 2e3);
    /* errors are of the order of beam / SNR and flux / SNR */
    assert_true(r.flux_err_jy > 0 && r.flux_err_jy < 1e-3);
    assert_true(r.ra_err_arcsec > 0 && r.ra_err_arcsec < 1e-3);
    free(g);
}

static void resolved_source_deconvolved(void **state)
{
    (void)state;
    struct img *g = malloc(sizeof *g);
    /* 1.0" x 0.6" source at PA 40 in a 1.0" x 0.8" beam at PA -10 */
    struct asw_shape src = {1.0, 0.6, 40}, beam = {1.0, 0.8, -10}, conv;
    double cs[3], cb[3], cc[3];
    asw_shape_to_cov(&src, cs);
    asw_shape_to_cov(&beam, cb);
    for (int i = 0; i < 3; i++)
        cc[i] = cs[i] + cb[i];
    asw_cov_to_shape(cc, &conv);
    make(g, 0.8, 48.0, 48.0, conv.maj, conv.min, conv.pa_deg, 1.0, 0.8, -10,
         1e-5);
    struct asw_image r = run(g, 0);
    NEAR(r.flux_jy, 0.8, 0.8 * 1e-3);
    NEAR(r.dec_maj_arcsec, 1.0, 5e-3);
    NEAR(r.dec_min_arcsec, 0.6, 5e-3);
    NEAR(r.dec_pa_deg, 40, 1.0);
    NEAR(r.peak_over_flux, 1.0 * 0.8 / (conv.maj * conv.min), 2e-3);
    free(g);
}

static void bands_of_rows_give_the_same_row(void **state)
{
    (void)state;
    struct img *g = malloc(sizeof *g);
    make(g, 0.5, 47.7, 48.2, 1.0, 0.8, 60, 1.0, 0.8, 60, 5e-3);
    struct asw_image full = run(g, 0);
    long y0, nr;
    asw_reduce_rows(&g->im.wcs, N, 1.0, 6.0, &y0, &nr);
    assert_true(y0 > 0 && nr < N);
    /* a smaller annulus so that the band of rows holds all of it */
    struct asw_reduce_opts o;
    asw_reduce_opts_init(&o);
    o.annulus_beams = 6.0;
    o.exclude_beams = 3.0;
    struct asw_image a, b;
    asw_image_init(&a);
    asw_image_init(&b);
    assert_int_equal(asw_reduce_image(&g->im, &o, &a, NULL), 0);
    g->im.data = g->d + (size_t)y0 * N;
    g->im.y_lo = y0;
    g->im.nrows = nr;
    assert_int_equal(asw_reduce_image(&g->im, &o, &b, NULL), 0);
    assert_true(a.rms_jy == b.rms_jy && a.flux_jy == b.flux_jy &&
                a.peak_jy == b.peak_jy);
    assert_true(full.rms_jy > 0);
    free(g);
}

static void noise_only_is_not_found(void **state)
{
    (void)state;
    struct img *g = malloc(sizeof *g);
    make(g, 0.0, 48, 48, 1, 1, 0, 1.0, 0.8, 0, 1e-3);
    struct asw_image r = run(g, 0);
    assert_true(r.qa_flags & ASW_QA_NOT_FOUND);
    NEAR(r.rms_jy, 1e-3, 1.5e-4);
    assert_true(isnan(r.flux_jy));
    free(g);
}

static void missing_beam_and_bad_geometry(void **state)
{
    (void)state;
    struct img *g = malloc(sizeof *g);
    make(g, 1.0, 48, 48, 1, 1, 0, 1.0, 1.0, 0, 1e-3);
    g->im.bmaj_arcsec = g->im.bmin_arcsec = NAN;
    struct asw_image r = run(g, 0);
    assert_true(r.qa_flags & ASW_QA_NO_BEAM);
    NEAR(r.peak_jy, 1.0, 0.01);
    assert_true(isnan(r.flux_jy));
    /* a "beam" of 0.01 pixel is absurd: treated as missing */
    g->im.bmaj_arcsec = g->im.bmin_arcsec = 0.002;
    r = run(g, 0);
    assert_true(r.qa_flags & ASW_QA_NO_BEAM);
    /* no pixel scale */
    g->im.wcs.cd[0][0] = g->im.wcs.cd[1][1] = 0;
    run(g, ASW_EINVAL);
    /* every pixel blank */
    make(g, 1.0, 48, 48, 1, 1, 0, 1.0, 1.0, 0, 1e-3);
    for (int i = 0; i < N * N; i++)
        g->d[i] = NAN;
    r = run(g, ASW_EINVAL);
    NEAR(r.nan_fraction, 1.0, 0);
    free(g);
}

static void blanks_near_the_source_are_flagged(void **state)
{
    (void)state;
    struct img *g = malloc(sizeof *g);
    make(g, 1.0, 48, 48, 1, 1, 0, 1.0, 1.0, 0, 1e-3);
    g->d[50 * N + 52] = NAN;
    struct asw_image r = run(g, 0);
    assert_true(r.qa_flags & ASW_QA_NAN);
    NEAR(r.flux_jy, 1.0, 0.01);
    free(g);
}

/* With its primary beam, the noise is measured on the flat-noise image in
 * the 0.2 < PB < 0.3 annulus and scaled to the source; without it, the
 * PB-corrected image's noise grows outward and the estimate is high. */
static void primary_beam_annulus(void **state)
{
    (void)state;
    struct img *g = malloc(sizeof *g);
    make(g, 1.0, 48, 48, 1, 1, 0, 1.0, 1.0, 0, 0.0);
    double fwhm_pix = 70.0, k = 4 * log(2.0) / (fwhm_pix * fwhm_pix);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            double p =
                exp(-k * ((x - 48.0) * (x - 48.0) + (y - 48.0) * (y - 48.0)));
            size_t i = (size_t)y * N + x;
            float flat = g->d[i] + (float)(0.01 * gauss());
            g->pb[i] = p < 0.2 ? NAN : (float)p;
            g->d[i] = p < 0.2 ? NAN : (float)(flat / p);
        }
    g->im.pb = g->pb;
    g->im.pbcor = 1;
    struct asw_image with = run(g, 0);
    NEAR(with.rms_jy, 0.01, 0.0012);
    g->im.pb = NULL;
    struct asw_image without = run(g, 0);
    assert_true(without.rms_jy > 1.15 * with.rms_jy);
    free(g);
}

static void background_fit(void **state)
{
    (void)state;
    struct img *g = malloc(sizeof *g);
    make(g, 1.0, 48.2, 47.9, 1.0, 0.8, 10, 1.0, 0.8, 10, 1e-4);
    for (int i = 0; i < N * N; i++)
        g->d[i] += 0.05f;
    struct asw_gfit_in in = {.data = g->d,
                             .nx = N,
                             .y_lo = 0,
                             .nrows = N,
                             .bx0 = 36,
                             .bx1 = 60,
                             .by0 = 36,
                             .by1 = 60,
                             .amp0 = 1.0,
                             .x0 = 48,
                             .y0 = 48,
                             .cov0 = {4, 0, 4},
                             .background = 1};
    struct asw_gfit f;
    assert_int_equal(asw_gauss2d_fit(&in, &f, NULL), 0);
    NEAR(f.bg, 0.05, 1e-4);
    NEAR(f.amp, 1.0, 1e-3);
    NEAR(f.x0, 48.2, 1e-3);
    /* too small a box is refused, not crashed on */
    in.bx1 = in.bx0 + 1;
    in.by1 = in.by0 + 1;
    assert_int_equal(asw_gauss2d_fit(&in, &f, NULL), ASW_EINVAL);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(point_source_recovered),
        cmocka_unit_test(resolved_source_deconvolved),
        cmocka_unit_test(bands_of_rows_give_the_same_row),
        cmocka_unit_test(noise_only_is_not_found),
        cmocka_unit_test(missing_beam_and_bad_geometry),
        cmocka_unit_test(blanks_near_the_source_are_flagged),
        cmocka_unit_test(primary_beam_annulus),
        cmocka_unit_test(background_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
