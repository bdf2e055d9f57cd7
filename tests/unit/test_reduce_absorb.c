/* Unit tests: absorption spectra (src/reduce/absorb). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "src/reduce/absorb.h"

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))
#define NC              512
#define C_KMS           299792.458

static unsigned long long rs = 0x9E3779B97F4A7C15ULL;
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

struct spec {
    double f[NC], s[NC], n[NC], cont[NC], nout[NC], tau[NC];
    struct asw_line l[ASW_ABSORB_MAX_LINES];
    size_t nl;
};

/* HCO+ at v = +5 km/s in an LSB spw: frequency falls with channel. */
static void make(struct spec *sp, double tau0, double fwhm_kms, double noise)
{
    double nu0 = 89.188526e9, dnu = -30.5e3;
    double v0 = 5.0, nuc = nu0 * (1 - v0 / C_KMS);
    for (int i = 0; i < NC; i++) {
        sp->f[i] = nuc - (i - 256.3) * dnu;
        double v = C_KMS * (nu0 - sp->f[i]) / nu0;
        double t = tau0 * exp(-4 * log(2.0) * (v - v0) * (v - v0) /
                              (fwhm_kms * fwhm_kms));
        double sc = 1.2 * (1 + 0.02 * (i - 256) / 256.0);
        sp->s[i] = sc * exp(-t) + noise * gauss();
        sp->n[i] = noise > 0 ? noise : 1e-6;
    }
}

static void run(struct spec *sp)
{
    struct asw_err e = {0};
    assert_int_equal(asw_absorb_analyse(sp->f, sp->s, sp->n, NC, NULL, sp->cont,
                                        sp->nout, sp->tau, sp->l,
                                        ASW_ABSORB_MAX_LINES, &sp->nl, &e),
                     0);
}

static void hco_plus_line(void **state)
{
    (void)state;
    static struct spec sp;
    make(&sp, 0.5, 1.5, 1e-3);
    run(&sp);
    assert_int_equal(sp.nl, 1);
    struct asw_line *L = &sp.l[0];
    assert_string_equal(L->species, "HCO+");
    NEAR(L->rest_freq_hz, 89.188526e9, 1);
    double dv = C_KMS * 30.5e3 / 89.188526e9; /* km/s per channel */
    NEAR(L->v_lsrk_kms, 5.0, 0.05 * dv);
    NEAR(L->tau_peak, 0.5, 0.01);
    NEAR(L->fwhm_kms, 1.5, 0.05);
    /* int tau dv = tau0 FWHM sqrt(pi / (4 ln 2)) over the feature */
    NEAR(L->tau_int_kms, 0.5 * 1.5 * 1.0644670, 0.03);
    assert_true(L->tau_int_err_kms > 0 && L->tau_int_err_kms < 0.02);
    assert_int_equal(L->saturated, 0);
    assert_true(L->depth_sigma > 300);
    NEAR(L->cont_jy, 1.2, 0.01);
    /* the continuum is the linear slope and the noise is measured */
    NEAR(sp.cont[0], 1.2 * (1 - 0.02), 2e-4);
    NEAR(sp.nout[100], 1e-3, 1.5e-4);
    NEAR(sp.tau[256], 0.5, 0.02);
}

static void saturated_line_is_a_lower_limit(void **state)
{
    (void)state;
    static struct spec sp;
    make(&sp, 8.0, 3.0, 1e-3);
    run(&sp);
    assert_int_equal(sp.nl, 1);
    assert_int_equal(sp.l[0].saturated, 1);
    /* tau > -ln(3 sigma / Sc) */
    NEAR(sp.l[0].tau_peak, -log(3e-3 / 1.2), 0.05);
    assert_true(isnan(sp.l[0].tau_peak_err));
}

static void line_free_and_weak_continuum(void **state)
{
    (void)state;
    static struct spec sp;
    make(&sp, 0.0, 1.0, 2e-3);
    run(&sp);
    assert_int_equal(sp.nl, 0);
    NEAR(sp.tau[10], 0.0, 0.01);
    /* a continuum of 0.6 sigma: nothing to measure against */
    make(&sp, 0.5, 1.5, 2.0);
    run(&sp);
    assert_int_equal(sp.nl, 0);
    assert_true(isnan(sp.tau[256]));
}

static void flagged_channels_and_short_spectra(void **state)
{
    (void)state;
    static struct spec sp;
    make(&sp, 0.3, 1.5, 1e-3);
    for (int i = 0; i < 40; i++)
        sp.s[i * 3] = NAN;
    run(&sp);
    assert_int_equal(sp.nl, 1);
    assert_true(isnan(sp.tau[0]));
    size_t nl;
    struct asw_err e = {0};
    assert_int_equal(asw_absorb_analyse(sp.f, sp.s, sp.n, 8, NULL, sp.cont,
                                        sp.nout, sp.tau, sp.l, 4, &nl, &e),
                     ASW_EINVAL);
}

static void rest_line_identification(void **state)
{
    (void)state;
    double v;
    assert_int_equal(asw_rest_line_match(115.2712018e9, 200, &v) >= 0, 1);
    size_t n;
    const struct asw_rest_line *t = asw_rest_lines(&n);
    int i = asw_rest_line_match(230.538e9 * (1 - 50 / C_KMS), 200, &v);
    assert_string_equal(t[i].species, "CO(2-1)");
    NEAR(v, 50, 1e-6);
    assert_int_equal(asw_rest_line_match(200e9, 200, &v), -1);
    assert_true(isnan(v));
    /* nearest in velocity: HCO at +100 km/s is not H13CO+ at -189 */
    i = asw_rest_line_match(86.670760e9 * (1 - 100 / C_KMS), 300, &v);
    assert_string_equal(t[i].species, "HCO");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hco_plus_line),
        cmocka_unit_test(saturated_line_is_a_lower_limit),
        cmocka_unit_test(line_free_and_weak_continuum),
        cmocka_unit_test(flagged_channels_and_short_spectra),
        cmocka_unit_test(rest_line_identification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
