#include "sed.h"

#include "band.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdlib.h>

#define SED_MAX_POINTS 4096

int asw_sed_fit(const struct asw_sed_point *pts, size_t n, double scatter,
                struct asw_sed *out, struct asw_err *err)
{
    gsl_set_error_handler_off();
    if (n < 2 || n > SED_MAX_POINTS)
        return asw_err_set(err, ASW_EINVAL, "sed",
                           "%zu points: need 2..%d for a spectral index", n,
                           SED_MAX_POINTS);
    double *x = malloc(4 * n * sizeof *x);
    if (!x)
        return asw_err_set(err, ASW_ENOMEM, "sed", "out of memory");
    double *y = x + n, *w = x + 2 * n, *ws = x + 3 * n;
    double lnu_min = INFINITY, lnu_max = -INFINITY, sw = 0, swx = 0;
    int band = -2, rc = 0;
    for (size_t i = 0; i < n; i++) {
        const struct asw_sed_point *p = &pts[i];
        if (!(p->freq_hz > 0 && p->flux_jy > 0 && p->flux_err_jy > 0) ||
            !isfinite(p->freq_hz) || !isfinite(p->flux_jy) ||
            !isfinite(p->flux_err_jy)) {
            rc = asw_err_set(err, ASW_EINVAL, "sed",
                             "point %zu has no positive flux, error or "
                             "frequency",
                             i);
            goto out;
        }
        double lnu = log(p->freq_hz), rel = p->flux_err_jy / p->flux_jy;
        x[i] = lnu;
        y[i] = log(p->flux_jy);
        w[i] = 1.0 / (rel * rel);
        ws[i] = 1.0 / (rel * rel + scatter * scatter);
        sw += w[i];
        swx += w[i] * lnu;
        lnu_min = fmin(lnu_min, lnu);
        lnu_max = fmax(lnu_max, lnu);
        int b = asw_band_of_freq(p->freq_hz);
        band = (band == -2 || band == b) ? b : -1;
    }
    if (!(lnu_max > lnu_min)) {
        rc = asw_err_set(err, ASW_EINVAL, "sed", "all points at one frequency");
        goto out;
    }
    /* Centre on the weighted mean ln nu: the intercept and slope are then
     * uncorrelated, so flux_ref_err_jy is the whole flux error there. */
    double lref = swx / sw;
    for (size_t i = 0; i < n; i++)
        x[i] -= lref;
    double c0, c1, cov00, cov01, cov11, chisq;
    if (gsl_fit_wlinear(x, 1, w, 1, y, 1, n, &c0, &c1, &cov00, &cov01, &cov11,
                        &chisq) != GSL_SUCCESS) {
        rc = asw_err_set(err, ASW_EINVAL, "sed", "weighted fit failed");
        goto out;
    }
    double s0, s1, scov00, scov01, scov11, schisq;
    if (gsl_fit_wlinear(x, 1, ws, 1, y, 1, n, &s0, &s1, &scov00, &scov01,
                        &scov11, &schisq) != GSL_SUCCESS) {
        rc = asw_err_set(err, ASW_EINVAL, "sed", "weighted fit failed");
        goto out;
    }
    int dof = (int)n - 2;
    out->n_spw = (int32_t)n;
    out->band = band < 0 ? -1 : band;
    out->ref_freq_hz = exp(lref);
    out->flux_ref_jy = exp(c0);
    out->flux_ref_err_jy = out->flux_ref_jy * sqrt(cov00);
    out->alpha = c1;
    out->alpha_err = sqrt(cov11);
    /* The systematic error: the scatter added to each point and, when the
     * points scatter more than that allows, the Birge ratio. */
    double birge = dof > 0 ? fmax(1.0, sqrt(schisq / dof)) : 1.0;
    out->alpha_sys_err = fmax(out->alpha_err, sqrt(scov11) * birge);
    out->chi2 = chisq;
    out->dof = dof;
    out->lever_arm = (lnu_max - lnu_min) / M_LN10;
    int flags = 0;
    if (n < ASW_SED_MIN_SPW)
        flags |= ASW_SED_FEW_SPW;
    if (out->lever_arm < ASW_SED_MIN_LEVER_ARM)
        flags |= ASW_SED_SHORT_LEVER;
    if (band > 0)
        flags |= ASW_SED_IN_BAND;
    if (dof > 0 && gsl_cdf_chisq_Q(chisq, dof) < ASW_SED_BAD_FIT_P)
        flags |= ASW_SED_BAD_FIT;
    out->flags = flags;
    (void)cov01;
    (void)scov01;
    (void)s0;
    (void)s1;
out:
    free(x);
    return rc;
}
