/* Unit tests: spectral index (src/reduce/sed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>

#include <cmocka.h>

#include "src/reduce/sed.h"

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void exact_power_law(void **state)
{
    (void)state;
    double nu[4] = {90.5e9, 92.5e9, 102.5e9, 104.5e9};
    struct asw_sed_point p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (struct asw_sed_point){nu[i], 2.0 * pow(nu[i] / 100e9, -0.7),
                                      0.01 * 2.0 * pow(nu[i] / 100e9, -0.7)};
    struct asw_sed s;
    asw_sed_init(&s);
    assert_int_equal(asw_sed_fit(p, 4, ASW_SED_SPW_SCATTER, &s, NULL), 0);
    NEAR(s.alpha, -0.7, 1e-12);
    NEAR(s.chi2, 0.0, 1e-18);
    assert_int_equal(s.dof, 2);
    assert_int_equal(s.n_spw, 4);
    assert_int_equal(s.band, 3);
    /* equal relative errors: nu_ref is the geometric mean */
    double gm = pow(nu[0] * nu[1] * nu[2] * nu[3], 0.25);
    NEAR(s.ref_freq_hz, gm, 1.0);
    NEAR(s.flux_ref_jy, 2.0 * pow(gm / 100e9, -0.7), 1e-12);
    /* sigma_alpha = sigma_lnS / sqrt(sum (x - xbar)^2) */
    double xb = log(gm), sxx = 0;
    for (int i = 0; i < 4; i++)
        sxx += (log(nu[i]) - xb) * (log(nu[i]) - xb);
    NEAR(s.alpha_err, 0.01 / sqrt(sxx), 1e-12);
    NEAR(s.alpha_sys_err, hypot(0.01, 0.008) / sqrt(sxx), 1e-12);
    NEAR(s.flux_ref_err_jy, s.flux_ref_jy * 0.01 / 2.0, 1e-12);
    NEAR(s.lever_arm, log10(104.5 / 90.5), 1e-12);
    assert_int_equal(s.flags, ASW_SED_IN_BAND);
}

/* Two points: alpha = ln(S2/S1) / ln(nu2/nu1), sigma_alpha =
 * sqrt((s1/S1)^2 + (s2/S2)^2) / |ln(nu2/nu1)| (docs/science.md). */
static void two_point_closed_form(void **state)
{
    (void)state;
    struct asw_sed_point p[2] = {{97.5e9, 1.3, 0.013}, {343.5e9, 0.55, 0.011}};
    struct asw_sed s;
    asw_sed_init(&s);
    assert_int_equal(asw_sed_fit(p, 2, ASW_SED_SPW_SCATTER, &s, NULL), 0);
    double L = log(343.5 / 97.5);
    NEAR(s.alpha, log(0.55 / 1.3) / L, 1e-12);
    NEAR(s.alpha_err, hypot(0.01, 0.02) / L, 1e-12);
    assert_int_equal(s.dof, 0);
    assert_int_equal(s.band, -1);
    assert_int_equal(s.flags, ASW_SED_FEW_SPW);
}

static void flags_and_bad_input(void **state)
{
    (void)state;
    /* Band 7 spws 12 GHz apart: too short a lever arm; a point off the
     * power law by 30 sigma: a bad fit */
    struct asw_sed_point p[4] = {{336.5e9, 1.00, 0.001},
                                 {338.5e9, 1.00, 0.001},
                                 {346.5e9, 1.03, 0.001},
                                 {348.5e9, 0.98, 0.001}};
    struct asw_sed s;
    asw_sed_init(&s);
    assert_int_equal(asw_sed_fit(p, 4, ASW_SED_SPW_SCATTER, &s, NULL), 0);
    assert_int_equal(s.flags,
                     ASW_SED_SHORT_LEVER | ASW_SED_IN_BAND | ASW_SED_BAD_FIT);
    /* the systematic error grows with the scatter (Birge ratio) */
    assert_true(s.alpha_sys_err > 3 * s.alpha_err);
    p[1].flux_jy = -1;
    struct asw_err e = {0};
    assert_int_equal(asw_sed_fit(p, 4, ASW_SED_SPW_SCATTER, &s, &e),
                     ASW_EINVAL);
    assert_int_equal(asw_sed_fit(p, 1, ASW_SED_SPW_SCATTER, &s, &e),
                     ASW_EINVAL);
    struct asw_sed_point q[2] = {{100e9, 1, 0.1}, {100e9, 2, 0.1}};
    assert_int_equal(asw_sed_fit(q, 2, ASW_SED_SPW_SCATTER, &s, &e),
                     ASW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_power_law),
        cmocka_unit_test(two_point_closed_form),
        cmocka_unit_test(flags_and_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
