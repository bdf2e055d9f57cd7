/* Unit tests: WCS, Gaussian shape algebra, Condon errors, bands and QA
 * scoring (src/reduce/wcs, gauss2d, band, qa). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "io/catalogue.h"
#include "src/reduce/band.h"
#include "src/reduce/gauss2d.h"
#include "src/reduce/qa.h"
#include "src/reduce/wcs.h"

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

/* Reference values from astropy.wcs 5.2 (all_pix2world, origin 0). */
static void sin_and_tan_match_astropy(void **state)
{
    (void)state;
    struct asw_wcs w;
    double crval[2] = {291.2125, -29.2417}, crpix[2] = {129, 129};
    double cdelt[2] = {-0.1 / 3600, 0.1 / 3600};
    asw_wcs_set(&w, "RA---SIN", crval, crpix, cdelt, NULL, NULL, NAN);
    assert_int_equal(w.proj, ASW_PROJ_SIN);
    double ra, dec;
    assert_int_equal(asw_wcs_pix2world(&w, 128, 128, &ra, &dec), 0);
    NEAR(ra, 291.2125, 1e-12);
    NEAR(dec, -29.2417, 1e-12);
    asw_wcs_pix2world(&w, 0, 0, &ra, &dec);
    NEAR(ra, 291.21657496500063, 1e-10);
    NEAR(dec, -29.245255493793344, 1e-10);
    asw_wcs_pix2world(&w, 255, 17.5, &ra, &dec);
    NEAR(ra, 291.20845688987, 1e-10);
    NEAR(dec, -29.244769383643018, 1e-10);
    asw_wcs_pix2world(&w, 140.25, 100.75, &ra, &dec);
    NEAR(ra, 291.2121100237803, 1e-10);
    NEAR(dec, -29.242456943878768, 1e-10);
    NEAR(asw_wcs_cell_arcsec(&w), 0.1, 1e-12);

    double pc[2][2] = {{cos(0.3), -sin(0.3)}, {sin(0.3), cos(0.3)}};
    crval[1] = 85.0;
    asw_wcs_set(&w, "RA---TAN", crval, crpix, cdelt, pc, NULL, NAN);
    asw_wcs_pix2world(&w, 0, 0, &ra, &dec);
    NEAR(ra, 291.2393936225346, 1e-9);
    NEAR(dec, 84.99555196104536, 1e-10);
    asw_wcs_pix2world(&w, 255, 17.5, &ra, &dec);
    NEAR(ra, 291.1634420198786, 1e-9);
    NEAR(dec, 84.99810835315186, 1e-10);

    asw_wcs_set(&w, "GLON-CAR", crval, crpix, cdelt, NULL, NULL, NAN);
    assert_int_equal(asw_wcs_pix2world(&w, 1, 1, &ra, &dec), ASW_EINVAL);
    assert_true(isnan(ra));
}

static void separations(void **state)
{
    (void)state;
    NEAR(asw_sep_arcsec(10, -30, 10.001, -29.9995), 3.600006801685889, 1e-9);
    NEAR(asw_sep_arcsec(359.9999, 89.9, 0.0001, 89.9), 0.0012566364230673802,
         1e-12);
    NEAR(asw_sep_arcsec(0, 0, 180, 0), 648000.0, 1e-6);
}

static void shapes_round_trip_and_deconvolve(void **state)
{
    (void)state;
    struct asw_shape s = {3.0, 2.0, 30.0}, t;
    double c[3];
    asw_shape_to_cov(&s, c);
    asw_cov_to_shape(c, &t);
    NEAR(t.maj, 3.0, 1e-12);
    NEAR(t.min, 2.0, 1e-12);
    NEAR(t.pa_deg, 30.0, 1e-9);
    /* PA is folded into (-90, 90] */
    struct asw_shape s2 = {3.0, 2.0, 120.0};
    asw_shape_to_cov(&s2, c);
    asw_cov_to_shape(c, &t);
    NEAR(t.pa_deg, -60.0, 1e-9);
    /* Convolution adds second moments: a 4 x 3 source at PA 30 through a
     * circular 3" beam comes out 5 x sqrt(18); deconvolving gives it back. */
    struct asw_shape src = {4.0, 3.0, 30.0}, beam = {3.0, 3.0, 0.0}, fit, d;
    double cs[3], cb[3], cf[3];
    asw_shape_to_cov(&src, cs);
    asw_shape_to_cov(&beam, cb);
    for (int i = 0; i < 3; i++)
        cf[i] = cs[i] + cb[i];
    asw_cov_to_shape(cf, &fit);
    NEAR(fit.maj, 5.0, 1e-12);
    NEAR(fit.min, sqrt(18.0), 1e-12);
    assert_int_equal(asw_shape_deconvolve(&fit, &beam, &d), 0);
    NEAR(d.maj, 4.0, 1e-9);
    NEAR(d.min, 3.0, 1e-9);
    NEAR(d.pa_deg, 30.0, 1e-6);
    /* narrower than the beam: nothing left */
    struct asw_shape small = {2.9, 2.9, 0.0};
    assert_int_equal(asw_shape_deconvolve(&small, &beam, &d), 2);
    assert_true(d.maj == 0 && d.min == 0);
}

/* Condon (1997) for a point source and a circular beam, in closed form:
 * sigma_A = sigma, sigma_S / S = sqrt(3) / SNR, position sigma_x / SNR. */
static void condon_point_source(void **state)
{
    (void)state;
    struct asw_shape b = {1.0, 1.0, 0.0};
    struct asw_condon e;
    asw_condon_errors(2.0, 0.02, &b, &b, &e);
    NEAR(e.amp, 0.02, 1e-12);
    NEAR(e.flux_rel, sqrt(3.0) / 100.0, 1e-12);
    NEAR(e.maj, 1.0 / 100.0, 1e-12);
    NEAR(e.east, 1.0 / 2.3548200450309493 / 100.0, 1e-9);
    NEAR(e.north, e.east, 1e-15);
    assert_true(e.pa_deg == 180.0); /* a circle has no position angle */
    /* A resolved 2" x 1.5" source in a 1" beam at SNR 100: rho^2 =
     * (3 / 4) (1 + 1/4)^a (1 + 1/2.25)^b 100^2 (Condon 1997, eq. 41). */
    struct asw_shape f = {2.0, 1.5, 10.0};
    struct asw_condon e2;
    asw_condon_errors(2.0, 0.02, &f, &b, &e2);
    double r2 = 0.75 * 1e4, fM = 1.25, fm = 1.0 + 1.0 / 2.25;
    NEAR(e2.amp, 2.0 * sqrt(2.0 / (r2 * pow(fM, 1.5) * pow(fm, 1.5))), 1e-12);
    NEAR(e2.maj, 2.0 * sqrt(2.0 / (r2 * pow(fM, 2.5) * pow(fm, 0.5))), 1e-12);
    NEAR(e2.min, 1.5 * sqrt(2.0 / (r2 * pow(fM, 0.5) * pow(fm, 2.5))), 1e-12);
    NEAR(e2.pa_deg,
         2.0 / sqrt(r2 * pow(fM, 0.5) * pow(fm, 2.5)) * 3.0 / 1.75 * 180 / M_PI,
         1e-9);
}

static void bands_match_the_catalogue(void **state)
{
    (void)state;
    for (double f = 30e9; f < 1000e9; f += 0.25e9) {
        int a = asw_band_of_freq(f), b = asw_cat_band(f);
        assert_int_equal(a, b ? b : -1);
    }
    assert_int_equal(asw_band_of_freq(97.5e9), 3);
    assert_int_equal(asw_band_of_freq(116e9), 3); /* shared edge: lower */
    assert_int_equal(asw_band_of_freq(NAN), -1);
    NEAR(asw_band_cal_frac(3), 0.05, 0);
    NEAR(asw_band_cal_frac(5), 0.05, 0);
    NEAR(asw_band_cal_frac(6), 0.10, 0);
    NEAR(asw_band_cal_frac(8), 0.10, 0);
    NEAR(asw_band_cal_frac(9), 0.20, 0);
    NEAR(asw_band_cal_frac(10), 0.20, 0);
    assert_true(isnan(asw_band_cal_frac(-1)));
}

/* The pipeline's erfScorer(1, 5, floor 0.34), docs/science.md table. */
static void erf_scorer_table(void **state)
{
    (void)state;
    NEAR(asw_qa_erf_score(1, 1, 5, 0.34), 0.999, 0.0005);
    NEAR(asw_qa_erf_score(2, 1, 5, 0.34), 0.956, 0.0005);
    NEAR(asw_qa_erf_score(3, 1, 5, 0.34), 0.67, 0.0005);
    NEAR(asw_qa_erf_score(4, 1, 5, 0.34), 0.38, 0.005);
    NEAR(asw_qa_erf_score(5, 1, 5, 0.34), 0.34, 0.001);
    /* no floor: 0.5 at x = 3 */
    NEAR(asw_qa_erf_score(3, 1, 5, 0.0), 0.5, 1e-12);
    /* DR correction: 1 Jy over 0.1 mJy theory is DR 1e4: N = 5.33 */
    NEAR(asw_qa_dr_sensitivity(1e-4, 1.0), 1e-4 * (2 + 1e4 / 3000), 1e-12);
    NEAR(asw_qa_dr_sensitivity(1e-3, 0.1), 1e-3, 1e-15);
    assert_true(isnan(asw_qa_dr_sensitivity(NAN, 1.0)));
}

static struct asw_image good_row(void)
{
    struct asw_image r;
    asw_image_init(&r);
    r.freq_hz = 230e9;
    r.flux_jy = 2.0;
    r.flux_err_jy = 0.02;
    r.peak_jy = 1.98;
    r.peak_over_flux = 0.99;
    r.rms_jy = 2e-3;
    r.snr = 990;
    r.offset_beams = 0.05;
    r.pix_per_beam = 5;
    r.nan_fraction = 0.1;
    return r;
}

static void qa_flags_and_score(void **state)
{
    (void)state;
    struct asw_image r = good_row();
    asw_qa_finish(&r);
    assert_int_equal(r.band, 6);
    NEAR(r.flux_cal_err_jy, 0.2, 1e-12);
    NEAR(r.flux_tot_err_jy, hypot(0.02, 0.2), 1e-12);
    assert_int_equal(r.qa_flags, 0);
    NEAR(r.qa_score, 0.95, 1e-12); /* 1 - offset in beams */

    r = good_row();
    r.offset_beams = 0.4;
    r.peak_over_flux = 0.6;
    r.pix_per_beam = 2.5;
    r.snr = 8;
    r.nan_fraction = 0.6;
    asw_qa_finish(&r);
    assert_int_equal(r.qa_flags, ASW_QA_OFFSET | ASW_QA_EXTENDED |
                                     ASW_QA_FEW_PIXELS | ASW_QA_LOW_SNR |
                                     ASW_QA_NAN);
    NEAR(r.qa_score, 0.6, 1e-12); /* the offset and peak/flux scores */

    r = good_row();
    r.rms_theory_jy = 1e-4; /* DR-corrected: 1.98 / 1e-4 -> N = 8.6 */
    r.rms_jy = 1e-4 * (2 + 1.98e4 / 3000) * 3.5;
    asw_qa_finish(&r);
    assert_true(r.qa_flags & ASW_QA_HIGH_RMS);
    assert_true(r.qa_score < 0.67 && r.qa_score > 0.34);

    r = good_row();
    r.cat_flux_jy = 2.5; /* 20% low, allowed 3 x hypot(1%, 10%) = 30% */
    asw_qa_finish(&r);
    assert_false(r.qa_flags & ASW_QA_CAT_MISMATCH);
    NEAR(r.cat_flux_ratio, 0.8, 1e-12);
    r = good_row();
    r.cat_flux_jy = 3.0;
    asw_qa_finish(&r);
    assert_true(r.qa_flags & ASW_QA_CAT_MISMATCH);
    assert_true(r.qa_score <= 0.66);

    r = good_row();
    r.qa_flags = ASW_QA_NOT_FOUND;
    asw_qa_finish(&r);
    NEAR(r.qa_score, 0.0, 0);
    r = good_row();
    snprintf(r.error, sizeof r.error, "fits:EFITS:truncated");
    asw_qa_finish(&r);
    NEAR(r.qa_score, 0.0, 0);
    r = good_row();
    r.qa_flags = ASW_QA_FIT_FAILED;
    asw_qa_finish(&r);
    NEAR(r.qa_score, 0.34, 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sin_and_tan_match_astropy),
        cmocka_unit_test(separations),
        cmocka_unit_test(shapes_round_trip_and_deconvolve),
        cmocka_unit_test(condon_point_source),
        cmocka_unit_test(bands_match_the_catalogue),
        cmocka_unit_test(erf_scorer_table),
        cmocka_unit_test(qa_flags_and_score),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
