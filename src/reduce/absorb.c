#include "absorb.h"

#include "peak.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FOUR_LN2 2.772588722239781

void asw_absorb_opts_init(struct asw_absorb_opts *o)
{
    o->poly_order = 1;
    o->clip_sigma = 3.0;
    o->clip_grow = 2;
    o->noise_window = 15;
    o->detect_sigma = 5.5;
    o->extent_sigma = 1.0;
    o->sat_sigma = 3.0;
    o->min_cont_snr = 5.0;
    o->id_window_kms = 200.0;
    o->lsrk = 1;
}

/* Rest frequencies (CDMS/JPL; docs/science.md lists them). */
static const struct asw_rest_line rest_lines[] = {
    {"c-C3H2", 85.338894e9},     {"HCO", 86.670760e9},
    {"H13CO+", 86.754288e9},     {"SiO(2-1)", 86.846960e9},
    {"C2H", 87.316898e9},        {"HCN", 88.631602e9},
    {"HCO+", 89.188526e9},       {"HNC", 90.663568e9},
    {"N2H+", 93.173764e9},       {"CS(2-1)", 97.980953e9},
    {"C18O(1-0)", 109.782173e9}, {"13CO(1-0)", 110.201354e9},
    {"CN", 113.490970e9},        {"CO(1-0)", 115.2712018e9},
    {"H2CO", 140.839502e9},      {"CS(3-2)", 146.969029e9},
    {"HCO+(2-1)", 178.375056e9}, {"CO(2-1)", 230.538000e9},
    {"CS(5-4)", 244.935557e9},   {"HCN(3-2)", 265.886434e9},
    {"HCO+(3-2)", 267.557626e9}, {"HNC(3-2)", 271.981142e9},
    {"CS(7-6)", 342.882857e9},   {"CO(3-2)", 345.7959899e9},
    {"HCN(4-3)", 354.505477e9},  {"HCO+(4-3)", 356.734223e9},
    {"CO(4-3)", 461.040768e9},   {"CO(6-5)", 691.473076e9},
};

const struct asw_rest_line *asw_rest_lines(size_t *n)
{
    *n = sizeof rest_lines / sizeof rest_lines[0];
    return rest_lines;
}

int asw_rest_line_match(double freq_hz, double window_kms, double *v_kms)
{
    int best = -1;
    double bv = INFINITY;
    for (size_t i = 0; i < sizeof rest_lines / sizeof rest_lines[0]; i++) {
        double nu0 = rest_lines[i].freq_hz;
        double v = ASW_C_KMS * (nu0 - freq_hz) / nu0;
        if (fabs(v) <= window_kms && fabs(v) < fabs(bv)) {
            bv = v;
            best = (int)i;
        }
    }
    *v_kms = best >= 0 ? bv : NAN;
    return best;
}

/* ------------------------------------------------------------------ */
/* Continuum                                                           */

/* Running median of v over +-half channels (finite values only). */
static void running_median(const double *v, size_t n, int half, double *out,
                           float *scratch)
{
    for (size_t i = 0; i < n; i++) {
        size_t a = i > (size_t)half ? i - (size_t)half : 0;
        size_t b = i + (size_t)half < n ? i + (size_t)half : n - 1;
        size_t k = 0;
        for (size_t j = a; j <= b; j++)
            if (isfinite(v[j]) && v[j] > 0)
                scratch[k++] = (float)v[j];
        out[i] = k ? asw_median_float(scratch, k) : NAN;
    }
}

#define POLY_MAX 4 /* coefficients: order 3 */

/* Weighted polynomial fit of y over the channels with mask[i]; evaluates
 * it into fit[0..n) and stores the coefficients' covariance (for noise
 * sig, in the variable x = 2 i / (n - 1) - 1; POLY_MAX x POLY_MAX,
 * row-major) in cov_out. Returns 0 or -1. */
static int poly_fit(const double *y, const double *sig, const char *mask,
                    size_t n, int order, double *fit, double *cov_out)
{
    size_t m = 0, p = (size_t)order + 1;
    for (size_t i = 0; i < n; i++)
        m += mask[i] != 0;
    if (m < p + 1)
        return -1;
    gsl_matrix *X = gsl_matrix_alloc(m, p);
    gsl_vector *w = gsl_vector_alloc(m), *yv = gsl_vector_alloc(m);
    gsl_vector *c = gsl_vector_alloc(p);
    gsl_matrix *cov = gsl_matrix_alloc(p, p);
    gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc(m, p);
    int rc = -1;
    if (!X || !w || !yv || !c || !cov || !ws)
        goto out;
    double scale = n > 1 ? 2.0 / (double)(n - 1) : 1.0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!mask[i])
            continue;
        double x = (double)i * scale - 1.0, xp = 1.0;
        for (size_t j = 0; j < p; j++, xp *= x)
            gsl_matrix_set(X, k, j, xp);
        gsl_vector_set(w, k, 1.0 / (sig[i] * sig[i]));
        gsl_vector_set(yv, k, y[i]);
        k++;
    }
    double chisq;
    if (gsl_multifit_wlinear(X, w, yv, c, cov, &chisq, ws) != GSL_SUCCESS)
        goto out;
    for (size_t i = 0; i < n; i++) {
        double x = (double)i * scale - 1.0, xp = 1.0, s = 0;
        for (size_t j = 0; j < p; j++, xp *= x)
            s += gsl_vector_get(c, j) * xp;
        fit[i] = s;
    }
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            cov_out[i * POLY_MAX + j] = gsl_matrix_get(cov, i, j);
    rc = 0;
out:
    gsl_matrix_free(X);
    gsl_vector_free(w);
    gsl_vector_free(yv);
    gsl_vector_free(c);
    gsl_matrix_free(cov);
    gsl_multifit_linear_free(ws);
    return rc;
}

/* 1.4826 MAD of v over the channels with sel[i] (into scratch). */
static double robust_sel(const double *v, const char *sel, size_t n,
                         float *scratch)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (sel[i] && isfinite(v[i]))
            scratch[k++] = (float)v[i];
    return asw_robust_sigma(scratch, k);
}

/* ------------------------------------------------------------------ */
/* The optical-depth profile fit                                       */

/*
 * The fit is made on the flux, not on tau: the model of channel i is
 * sum_j k_j Sc(i + j) exp(-tau(i + j)), tau(x) = tau0 exp(-4 ln2 (x -
 * c)^2 / W^2), with k = (a, 1 - 2a, a) the channel response measured from
 * the noise (a = 0: none; online Hanning smoothing: a = 1/4), so that
 * tau0 and W are those of the line before the smoothing. The residuals
 * are whitened with the Cholesky factor of their covariance
 * sigma_i sigma_l rho(|i - l|) (generalised least squares): correct
 * weights and a correct covariance of the parameters when neighbouring
 * channels are correlated. On the flux the noise is the channel noise,
 * not sigma / S with a noisy S: no bias from weights that depend on the
 * data.
 */
struct tfit {
    const double *x, *y; /* channel index, flux */
    const double *cont;  /* continuum of the whole spectrum */
    size_t n, nchan;
    double k[3];   /* channel response, k[1] the channel itself */
    gsl_matrix *L; /* Cholesky factor of the residuals' covariance */
};

/* exp(-tau(x)) and its derivatives by (tau0, c, W) at channel x. */
static double tau_exp(const gsl_vector *p, double x, double de[3])
{
    double a = gsl_vector_get(p, 0), c = gsl_vector_get(p, 1);
    double w = gsl_vector_get(p, 2);
    double u = (x - c) / w, g = exp(-FOUR_LN2 * u * u), e = exp(-a * g);
    de[0] = -g * e;
    de[1] = -a * g * 2 * FOUR_LN2 * u / w * e;
    de[2] = -a * g * 2 * FOUR_LN2 * u * u / w * e;
    return e;
}

/* The model of data point i and its gradient. */
static double tau_model(const struct tfit *d, const gsl_vector *p, size_t i,
                        double grad[3])
{
    double m = 0;
    grad[0] = grad[1] = grad[2] = 0;
    for (int j = -1; j <= 1; j++) {
        if (d->k[j + 1] == 0)
            continue;
        double x = d->x[i] + j;
        long ch = (long)x;
        if (ch < 0)
            ch = 0;
        if (ch >= (long)d->nchan)
            ch = (long)d->nchan - 1;
        double de[3], sc = d->k[j + 1] * d->cont[ch];
        m += sc * tau_exp(p, x, de);
        for (int q = 0; q < 3; q++)
            grad[q] += sc * de[q];
    }
    return m;
}

static int tau_f(const gsl_vector *p, void *vd, gsl_vector *f)
{
    const struct tfit *d = vd;
    double grad[3];
    for (size_t i = 0; i < d->n; i++)
        gsl_vector_set(f, i, tau_model(d, p, i, grad) - d->y[i]);
    gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, d->L, f);
    return GSL_SUCCESS;
}

static int tau_df(const gsl_vector *p, void *vd, gsl_matrix *J)
{
    const struct tfit *d = vd;
    double grad[3];
    for (size_t i = 0; i < d->n; i++) {
        tau_model(d, p, i, grad);
        for (int q = 0; q < 3; q++)
            gsl_matrix_set(J, i, (size_t)q, grad[q]);
    }
    gsl_blas_dtrsm(CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, 1.0, d->L,
                   J);
    return GSL_SUCCESS;
}

#define FIT_MAX_CHAN 512

/*
 * Fit the line to the n channels x (indices into the spectrum, ascending)
 * with flux y and noise s; rho the noise correlation at lags 0..MAX_LAG,
 * k the channel response. p = {tau0, c, W} in (first guess) and out, perr
 * their 1-sigma errors. Returns 0 or -1 (also for more than FIT_MAX_CHAN
 * channels).
 */
static int fit_profile(const double *x, const double *y, const double *s,
                       size_t n, const double *cont, size_t nchan,
                       const double *rho, int max_lag, const double k[3],
                       double p[3], double perr[3])
{
    /* The covariance is a dense n x n matrix: a cap keeps a feature that
     * spans thousands of channels (a ripple) from costing n^3. */
    if (n < 4 || n > FIT_MAX_CHAN)
        return -1;
    struct tfit d = {x, y, cont, n, nchan, {k[0], k[1], k[2]}, NULL};
    gsl_multifit_nlinear_fdf fdf = {
        .f = tau_f, .df = tau_df, .fvv = NULL, .n = n, .p = 3, .params = &d};
    gsl_multifit_nlinear_parameters fp =
        gsl_multifit_nlinear_default_parameters();
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, n, 3);
    gsl_vector *v = gsl_vector_alloc(3);
    gsl_matrix *cov = gsl_matrix_alloc(3, 3);
    d.L = gsl_matrix_alloc(n, n);
    int rc = -1, info;
    if (!w || !v || !cov || !d.L)
        goto out;
    /* The covariance, with 1% of white noise added: a smoothing kernel
     * with a zero at the Nyquist frequency (Hanning's) makes it nearly
     * singular, and the whitening would then amplify whatever the model
     * does not describe there. */
    for (size_t i = 0; i < n; i++)
        for (size_t l = 0; l <= i; l++) {
            double lag = x[i] - x[l];
            double r = lag <= max_lag ? rho[(int)lag] : 0.0;
            r = i == l ? 1.0 : 0.99 * r;
            gsl_matrix_set(d.L, i, l, r * s[i] * s[l]);
        }
    if (gsl_linalg_cholesky_decomp1(d.L) != GSL_SUCCESS)
        goto out;
    for (int q = 0; q < 3; q++)
        gsl_vector_set(v, (size_t)q, p[q]);
    if (gsl_multifit_nlinear_init(v, &fdf, w) != GSL_SUCCESS ||
        gsl_multifit_nlinear_driver(100, 1e-10, 1e-10, 0.0, NULL, NULL, &info,
                                    w) != GSL_SUCCESS)
        goto out;
    /* The residuals are whitened: the covariance is (J^T J)^-1 without
     * rescaling. */
    if (gsl_multifit_nlinear_covar(gsl_multifit_nlinear_jac(w), 0.0, cov) !=
        GSL_SUCCESS)
        goto out;
    const gsl_vector *r = gsl_multifit_nlinear_position(w);
    for (int q = 0; q < 3; q++) {
        p[q] = gsl_vector_get(r, (size_t)q);
        perr[q] = sqrt(gsl_matrix_get(cov, (size_t)q, (size_t)q));
    }
    p[2] = fabs(p[2]);
    rc = (isfinite(p[0]) && isfinite(perr[0])) ? 0 : -1;
out:
    gsl_multifit_nlinear_free(w);
    gsl_vector_free(v);
    gsl_matrix_free(cov);
    gsl_matrix_free(d.L);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Analysis                                                            */

#define MAX_LAG 3

struct work {
    size_t n;
    double rho[MAX_LAG + 1];   /* channel-to-channel noise correlation */
    double k[3];               /* channel response (a, 1 - 2a, a) */
    double rho_k[MAX_LAG + 1]; /* the correlation that response gives */
    const double *freq, *S;
    const struct asw_absorb_opts *o;
    char *valid, *mask, *claimed, *sat;
    double *base, *d, *z[4], *st, *tmp;
    float *scratch;
    double *fx, *fy, *fs; /* profile-fit buffers */
    /* The continuum polynomial's coefficient covariance (poly_fit), for
     * white noise of the final noise_jy; cont_np coefficients. */
    double cont_cov[POLY_MAX * POLY_MAX];
    int cont_np;
};

static const int widths[4] = {1, 2, 4, 8};

/*
 * Matched filter of the depth series d (depth / channel noise, N(0, 1) on
 * line-free channels) with a Gaussian of FWHM w channels (w = 1: the
 * channel itself), in units of its own noise: sum g d / sqrt(sum g_j g_l
 * rho(|j - l|)), with rho the measured channel correlation. The
 * normalisation is analytic, because the scatter of a smoothed
 * 256-channel spectrum is too poorly sampled to normalise by alone...
 */
static void filter(struct work *W, int w, double *z)
{
    size_t n = W->n;
    int J = w == 1 ? 0 : (int)ceil(1.5 * w);
    double g[64];
    for (int j = -J; j <= J; j++)
        g[j + J] = w == 1 ? 1.0 : exp(-FOUR_LN2 * (double)(j * j) / (w * w));
    for (size_t i = 0; i < n; i++) {
        double s = 0, v = 0;
        for (int j = -J; j <= J; j++) {
            long k = (long)i + j;
            if (k < 0 || k >= (long)n || !W->valid[k])
                continue;
            s += g[j + J] * W->d[k];
            for (int l = j - MAX_LAG; l <= j + MAX_LAG; l++) {
                long m = (long)i + l;
                if (l < -J || l > J || m < 0 || m >= (long)n || !W->valid[m])
                    continue;
                v += g[j + J] * g[l + J] * W->rho[abs(j - l)];
            }
        }
        z[i] = (W->valid[i] && v > 0) ? s / sqrt(v) : NAN;
    }
    /* ... unless the filtered series scatters more than that over the
     * continuum channels (correlation the lags above missed, ripples):
     * then by its robust scatter. Only ever more conservative. */
    size_t nm = 0;
    for (size_t i = 0; i < n; i++)
        nm += W->mask[i] != 0;
    double sc = robust_sel(z, nm >= 16 ? W->mask : W->valid, n, W->scratch);
    if (sc > 1.0)
        for (size_t i = 0; i < n; i++)
            z[i] /= sc;
}

/* Channel-to-channel correlation of the normalised residuals r over the
 * continuum channels, lags 1..MAX_LAG; a lag that is not significant at 3
 * sigma counts as uncorrelated (white noise gives rho = 0 exactly). */
static void channel_correlation(struct work *W, const double *r)
{
    W->rho[0] = W->rho_k[0] = 1.0;
    W->rho[1] = W->rho[2] = W->rho[3] = 0.0;
    W->rho_k[1] = W->rho_k[2] = W->rho_k[3] = 0.0;
    W->k[0] = W->k[2] = 0.0;
    W->k[1] = 1.0;
    double tol1 = INFINITY; /* 3 sigma of the measured rho1 */
    for (int l = 1; l <= MAX_LAG; l++) {
        double sxy = 0, sxx = 0, syy = 0;
        size_t np = 0;
        for (size_t i = 0; i + (size_t)l < W->n; i++) {
            if (!W->mask[i] || !W->mask[i + (size_t)l])
                continue;
            sxy += r[i] * r[i + (size_t)l];
            sxx += r[i] * r[i];
            syy += r[i + (size_t)l] * r[i + (size_t)l];
            np++;
        }
        double rho = (sxx > 0 && syy > 0) ? sxy / sqrt(sxx * syy) : 0.0;
        W->rho[l] = (np > 8 && fabs(rho) > 3.0 / sqrt((double)np)) ? rho : 0.0;
        if (l == 1 && np > 8)
            tol1 = 3.0 / sqrt((double)np);
    }
    /* Lag 2 is poorly measured in a few hundred channels; white noise
     * smoothed by a symmetric 3-tap kernel (a, 1 - 2a, a) has rho1 =
     * 2a(1 - 2a) / q and rho2 = a^2 / q, q = 6a^2 - 4a + 1 (online Hanning
     * smoothing: a = 1/4, rho1 = 2/3, rho2 = 1/6). Take a from rho1 (on
     * the branch a <= 1 - 1/sqrt(2), where rho1 rises to 1/sqrt(2)) and
     * use the model's rho2 unless the measured one is larger. */
    if (W->rho[1] > 0) {
        double lo = 0, hi = 1.0 - M_SQRT1_2;
        for (int it = 0; it < 60; it++) {
            double a = 0.5 * (lo + hi);
            double r1 = 2 * a * (1 - 2 * a) / (6 * a * a - 4 * a + 1);
            if (r1 < W->rho[1])
                lo = a;
            else
                hi = a;
        }
        double a = 0.5 * (lo + hi), q = 6 * a * a - 4 * a + 1;
        double r2 = a * a / q;
        if (r2 > W->rho[2])
            W->rho[2] = r2;
        /* The profile fit models the response itself (fit_profile) and
         * needs a more precisely than a few hundred channels give it:
         * rho1 hardly changes with a near Hanning's 1/4 (its maximum,
         * 1/sqrt(2), is at a = 0.29), so a 3-sigma spread of rho1 spans
         * a = 0.21..0.29, and a wrong a biases the deconvolved depth of a
         * narrow line. ALMA's online smoothing is Hanning's: a rho1
         * consistent with 2/3 is taken to be it. */
        double af = fabs(W->rho[1] - 2.0 / 3.0) <= tol1 ? 0.25 : a;
        double qf = 6 * af * af - 4 * af + 1;
        W->k[0] = W->k[2] = af;
        W->k[1] = 1 - 2 * af;
        W->rho_k[1] = 2 * af * (1 - 2 * af) / qf;
        W->rho_k[2] = af * af / qf;
    }
}

static double chan_width_hz(const double *freq, size_t n, size_t i)
{
    if (n < 2)
        return NAN;
    return i + 1 < n ? fabs(freq[i + 1] - freq[i])
                     : fabs(freq[i] - freq[i - 1]);
}

static void measure_feature(struct work *W, const double *cont,
                            const double *sig, const double *tau, size_t lo,
                            size_t hi, struct asw_line *L)
{
    const struct asw_absorb_opts *o = W->o;
    size_t n = W->n, p = lo;
    int sat = 0;
    for (size_t i = lo; i <= hi; i++) {
        if (!W->valid[i])
            continue;
        if (W->d[i] > W->d[p] || !W->valid[p])
            p = i;
        sat |= W->sat[i];
    }
    asw_line_init(L);
    L->chan_lo = (int32_t)lo;
    L->chan_hi = (int32_t)hi;
    L->depth_sigma = W->d[p];
    L->cont_jy = cont[p];
    L->saturated = sat;
    double centre = (double)p, fwhm_ch = NAN, tpk = tau[p], tpk_err = W->st[p];
    int fitted = 0;
    if (sat) {
        tpk = -INFINITY;
        for (size_t i = lo; i <= hi; i++)
            if (W->valid[i] && tau[i] > tpk)
                tpk = tau[i];
        tpk_err = NAN;
    } else {
        size_t m = hi - lo + 1 > 3 ? hi - lo + 1 : 3;
        size_t a = lo > m ? lo - m : 0, b = hi + m < n ? hi + m : n - 1;
        size_t k = 0;
        for (size_t i = a; i <= b; i++) {
            if (!W->valid[i] || !(sig[i] > 0))
                continue;
            W->fx[k] = (double)i;
            W->fy[k] = W->S[i];
            W->fs[k] = sig[i];
            k++;
        }
        double par[3] = {tau[p], (double)p, fmax(1.5, (hi - lo + 1) / 2.0)};
        double perr[3];
        if (fit_profile(W->fx, W->fy, W->fs, k, cont, n, W->rho_k, MAX_LAG,
                        W->k, par, perr) == 0 &&
            par[0] > 0 && par[1] >= (double)lo - 1 &&
            par[1] <= (double)hi + 1 && par[2] >= 0.3 &&
            par[2] <= 4.0 * (double)(hi - lo + 3)) {
            tpk = par[0];
            tpk_err = perr[0];
            centre = par[1];
            fwhm_ch = par[2];
            fitted = 1;
        }
    }
    if (!isfinite(fwhm_ch)) {
        size_t c = 0;
        for (size_t i = lo; i <= hi; i++)
            c += W->valid[i] && tau[i] >= tpk / 2;
        fwhm_ch = (double)(c ? c : 1);
    }
    L->tau_peak = tpk;
    L->tau_peak_err = tpk_err;
    /* Frequency at the fractional centre channel. */
    double fc = floor(centre);
    size_t i0 = fc < 0 ? 0 : (size_t)fc;
    if (i0 >= n - 1)
        i0 = n - 2;
    double t = centre - (double)i0;
    double nu = W->freq[i0] + t * (W->freq[i0 + 1] - W->freq[i0]);
    L->freq_hz = nu;
    double v;
    int id = asw_rest_line_match(nu, o->id_window_kms, &v);
    double nu0 = nu;
    if (id >= 0) {
        snprintf(L->species, sizeof L->species, "%s", rest_lines[id].species);
        nu0 = rest_lines[id].freq_hz;
        L->rest_freq_hz = nu0;
        L->v_lsrk_kms = o->lsrk ? v : NAN;
    }
    double dv = ASW_C_KMS * chan_width_hz(W->freq, n, p) / nu0;
    L->fwhm_kms = fwhm_ch * dv;
    /* The window of the sum: the feature widened to the fitted line
     * +-2 FWHM (all but 3e-6 of a Gaussian; one channel more either
     * side for the response's spread), not into a feature measured
     * before. The feature's extent alone (where the filtered depth
     * stays above extent_sigma) is chosen by the noise: it ends where
     * the noise happens to make the spectrum shallow and cuts the
     * line's wings where it is deep, and a sum over it was biased high
     * (+0.6 to +2.7% in the accuracy test). The extent stays in the
     * window for a feature one Gaussian does not describe (a blend). */
    size_t ilo = lo, ihi = hi;
    if (fitted) {
        double half = 2.0 * fwhm_ch + (W->k[0] > 0 ? 1.0 : 0.0);
        double a = floor(centre - half), b = ceil(centre + half);
        size_t wa = a <= 0 ? 0 : (size_t)a;
        size_t wb = b >= (double)(n - 1) ? n - 1 : (size_t)b;
        while (ilo > wa && !W->claimed[ilo - 1])
            ilo--;
        while (ihi < wb && !W->claimed[ihi + 1])
            ihi++;
    }
    /* The error of the sum counts the correlation of neighbouring
     * channels (over many Hanning-smoothed channels: 8/3 of the variance
     * of independent ones) and the continuum's error, which is common to
     * the window's channels. tau_i = ln S_c,i - ln S_i; the polynomial's
     * coefficients c have the covariance C of the fit (white noise) and
     * d sum ln S_c / dc_j = g_j = sum_i x_i^j / S_c,i, so the continuum
     * adds g^T C g. A window channel that the continuum fit also used
     * (a weak line's wings) enters both: Cov(S_c,i, S_l) = x_i^T C x_l,
     * which takes 2 sum_l g^T C x_l / S_l off. Over the many channels
     * the polynomial averages, correlated noise scales both by
     * sum_l rho(l). */
    double ti = 0, te = 0, g[POLY_MAX] = {0}, h[POLY_MAX] = {0};
    double scale = n > 1 ? 2.0 / (double)(n - 1) : 1.0;
    for (size_t i = ilo; i <= ihi; i++) {
        if (!W->valid[i] || !isfinite(tau[i]))
            continue;
        ti += tau[i];
        for (size_t l = i > (size_t)MAX_LAG ? i - MAX_LAG : 0;
             l <= ihi && l <= i + MAX_LAG; l++)
            if (l >= ilo && W->valid[l] && isfinite(tau[l]))
                te += W->st[i] * W->st[l] * W->rho[i > l ? i - l : l - i];
        double x = (double)i * scale - 1.0, xp = 1.0;
        for (int j = 0; j < W->cont_np; j++, xp *= x) {
            g[j] += xp / cont[i];
            if (W->mask[i])
                h[j] += xp / W->S[i];
        }
    }
    double rsum = 1.0;
    for (int l = 1; l <= MAX_LAG; l++)
        rsum += 2.0 * W->rho[l];
    double tc = 0;
    for (int j = 0; j < W->cont_np; j++)
        for (int m = 0; m < W->cont_np; m++)
            tc += g[j] * (g[m] - 2.0 * h[m]) * W->cont_cov[j * POLY_MAX + m];
    te += rsum * tc;
    L->tau_int_kms = ti * dv;
    L->tau_int_err_kms = sat ? NAN : sqrt(te) * dv;
}

static int cmp_line(const void *a, const void *b)
{
    const struct asw_line *x = a, *y = b;
    return (x->chan_lo > y->chan_lo) - (x->chan_lo < y->chan_lo);
}

int asw_absorb_analyse(const double *freq_hz, const double *flux_jy,
                       const double *chan_noise_jy, size_t n,
                       const struct asw_absorb_opts *o, double *cont_jy,
                       double *noise_jy, double *tau, struct asw_line *lines,
                       size_t max_lines, size_t *n_lines, struct asw_err *err)
{
    gsl_set_error_handler_off();
    struct asw_absorb_opts dflt;
    if (!o) {
        asw_absorb_opts_init(&dflt);
        o = &dflt;
    }
    *n_lines = 0;
    for (size_t i = 0; i < n; i++)
        cont_jy[i] = noise_jy[i] = tau[i] = NAN;
    if (n < 16 || n > ASW_ABSORB_MAX_CHAN)
        return asw_err_set(err, ASW_EINVAL, "absorb",
                           "%zu channels: need 16..%zu", n,
                           ASW_ABSORB_MAX_CHAN);
    struct work W = {.n = n, .freq = freq_hz, .S = flux_jy, .o = o};
    char *flags = calloc(4 * n, 1);
    double *dbl = malloc(12 * n * sizeof *dbl);
    W.scratch = malloc(n * sizeof *W.scratch);
    int rc = 0;
    if (!flags || !dbl || !W.scratch) {
        rc = asw_err_set(err, ASW_ENOMEM, "absorb", "out of memory");
        goto out;
    }
    W.valid = flags;
    W.mask = flags + n;
    W.claimed = flags + 2 * n;
    W.sat = flags + 3 * n;
    W.base = dbl;
    W.d = dbl + n;
    for (int k = 0; k < 4; k++)
        W.z[k] = dbl + (2 + k) * n;
    W.st = dbl + 6 * n;
    W.tmp = dbl + 7 * n;
    W.fx = dbl + 8 * n;
    W.fy = dbl + 9 * n;
    W.fs = dbl + 10 * n;
    double *next = dbl + 11 * n;

    size_t nvalid = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = isfinite(flux_jy[i]) && isfinite(freq_hz[i]);
        if (chan_noise_jy)
            ok = ok && chan_noise_jy[i] > 0 && isfinite(chan_noise_jy[i]);
        W.valid[i] = (char)ok;
        nvalid += ok;
    }
    if (nvalid < 16) {
        rc = asw_err_set(err, ASW_EINVAL, "absorb",
                         "%zu usable channels: need 16", nvalid);
        goto out;
    }
    /* Noise shape across the band: a running median of the per-channel
     * image noise (its level is set from the spectrum itself below). */
    if (chan_noise_jy) {
        running_median(chan_noise_jy, n, o->noise_window / 2, W.base,
                       W.scratch);
        /* ... but a channel that is really noisier (band edge, an
         * atmospheric line) keeps its own noise: one whose noise exceeds
         * the running median by 3 robust sigma of the channel-to-channel
         * scatter. */
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (W.base[i] > 0 && chan_noise_jy[i] > 0)
                W.scratch[k++] = (float)(chan_noise_jy[i] / W.base[i] - 1);
        double delta = asw_robust_sigma(W.scratch, k);
        for (size_t i = 0; i < n; i++) {
            double rel = chan_noise_jy[i] / W.base[i] - 1;
            if (delta > 0 && rel > 3 * delta)
                W.base[i] = chan_noise_jy[i];
            if (!(W.base[i] > 0))
                W.valid[i] = 0;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            W.base[i] = 1.0;
    }

    /* Continuum: weighted polynomial, clip |resid| > clip k sigma (k the
     * robust scale of the residuals), mask clip_grow channels around each
     * clip, repeat until the mask is stable. */
    int order = o->poly_order < 0 ? 0 : o->poly_order > 3 ? 3 : o->poly_order;
    memcpy(W.mask, W.valid, n);
    double k = 1.0;
    for (int it = 0; it < 30; it++) {
        if (poly_fit(flux_jy, W.base, W.mask, n, order, cont_jy, W.cont_cov)) {
            rc = asw_err_set(err, ASW_EINVAL, "absorb", "continuum fit failed");
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            W.tmp[i] = (flux_jy[i] - cont_jy[i]) / W.base[i];
        /* Clip about the residuals' median: a deep line pulls the first
         * fit down, and every other channel then sits above it. */
        size_t nm = 0;
        for (size_t i = 0; i < n; i++)
            if (W.mask[i])
                W.scratch[nm++] = (float)W.tmp[i];
        double med = asw_median_float(W.scratch, nm);
        k = robust_sel(W.tmp, W.mask, n, W.scratch);
        if (!(k > 0))
            k = 1e-30;
        memcpy(W.claimed, W.valid, n); /* the new mask */
        for (size_t i = 0; i < n; i++) {
            if (!W.valid[i] || fabs(W.tmp[i] - med) <= o->clip_sigma * k)
                continue;
            long a = (long)i - o->clip_grow, b = (long)i + o->clip_grow;
            for (long j = a < 0 ? 0 : a; j <= b && j < (long)n; j++)
                W.claimed[j] = 0;
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            m += W.claimed[i] != 0;
        if (m < (size_t)(order + 2 > 8 ? order + 2 : 8))
            break; /* keep the previous mask */
        if (memcmp(W.claimed, W.mask, n) == 0)
            break;
        memcpy(W.mask, W.claimed, n);
    }
    memset(W.claimed, 0, n);
    /* The image noise of each channel is a floor: the spectrum's own
     * scatter (k) comes from a few hundred, possibly correlated, channels
     * and a low draw of it would turn noise into lines. */
    if (chan_noise_jy && k < 1.0)
        k = 1.0;
    for (size_t i = 0; i < n; i++)
        noise_jy[i] = W.valid[i] ? k * W.base[i] : NAN;
    W.cont_np = order + 1;
    for (int i = 0; i < POLY_MAX * POLY_MAX; i++)
        W.cont_cov[i] *= k * k;

    /* No absorption analysis on a continuum that is not clearly there. */
    size_t nc = 0;
    for (size_t i = 0; i < n; i++)
        if (W.valid[i])
            W.tmp[nc++] = cont_jy[i] / noise_jy[i];
    for (size_t i = 0; i < nc; i++)
        W.scratch[i] = (float)W.tmp[i];
    double cont_snr = asw_median_float(W.scratch, nc);
    if (!(cont_snr >= o->min_cont_snr))
        goto out;

    for (size_t i = 0; i < n; i++) {
        W.st[i] = NAN;
        W.d[i] = 0;
        if (!W.valid[i] || !(cont_jy[i] > 0))
            continue;
        double S = flux_jy[i], s = noise_jy[i], Sc = cont_jy[i];
        W.d[i] = (Sc - S) / s;
        if (S < o->sat_sigma * s) {
            W.sat[i] = 1;
            tau[i] = Sc > o->sat_sigma * s ? -log(o->sat_sigma * s / Sc) : NAN;
        } else {
            tau[i] = -log(S / Sc);
            W.st[i] = s / S;
        }
    }
    for (size_t i = 0; i < n; i++)
        W.tmp[i] = W.valid[i] ? (flux_jy[i] - cont_jy[i]) / noise_jy[i] : 0;
    channel_correlation(&W, W.tmp);
    for (int w = 0; w < 4; w++)
        if ((size_t)widths[w] * 8 <= n)
            filter(&W, widths[w], W.z[w]);
        else
            for (size_t i = 0; i < n; i++)
                W.z[w][i] = NAN;

    size_t nl = 0;
    while (nl < max_lines) {
        double best = -INFINITY;
        int bw = -1;
        size_t bi = 0;
        for (int w = 0; w < 4; w++)
            for (size_t i = 0; i < n; i++)
                if (!W.claimed[i] && W.valid[i] && W.z[w][i] > best) {
                    best = W.z[w][i];
                    bw = w;
                    bi = i;
                }
        if (bw < 0 || !(best >= o->detect_sigma))
            break;
        const double *z = W.z[bw];
        size_t lo = bi, hi = bi;
        while (lo > 0 && W.valid[lo - 1] && !W.claimed[lo - 1] &&
               z[lo - 1] >= o->extent_sigma)
            lo--;
        while (hi + 1 < n && W.valid[hi + 1] && !W.claimed[hi + 1] &&
               z[hi + 1] >= o->extent_sigma)
            hi++;
        measure_feature(&W, cont_jy, noise_jy, tau, lo, hi, &lines[nl]);
        nl++;
        size_t g = (size_t)widths[bw];
        size_t a = lo > g ? lo - g : 0, b = hi + g < n ? hi + g : n - 1;
        for (size_t i = a; i <= b; i++)
            W.claimed[i] = 1;
        /* Take the feature out of the depth series and filter again, so
         * that the wide filters do not find its wings (as CLEAN removes a
         * component before looking for the next). */
        for (size_t i = lo; i <= hi; i++)
            W.d[i] = 0;
        for (int w = 0; w < 4; w++)
            if ((size_t)widths[w] * 8 <= n)
                filter(&W, widths[w], W.z[w]);
    }
    if (nl > 1)
        qsort(lines, nl, sizeof *lines, cmp_line);
    *n_lines = nl;
    (void)next;
out:
    free(flags);
    free(dbl);
    free(W.scratch);
    return rc;
}
