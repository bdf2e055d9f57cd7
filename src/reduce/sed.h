/*
 * sed.h - the spectral index of one source over the spectral windows of
 * one observation: weighted least squares of ln S against ln nu (GSL
 * gsl_fit_wlinear, with covariance), the statistical error, and a second
 * error that adds the ~0.8% inter-spw relative flux scatter (Francis et
 * al. 2020) to every point. Definitions: docs/science.md.
 */
#ifndef ASW_REDUCE_SED_H
#define ASW_REDUCE_SED_H

#include "src/err.h"
#include "src/result.h"

#include <stddef.h>

#define ASW_SED_SPW_SCATTER   0.008 /* inter-spw relative flux scatter */
#define ASW_SED_MIN_LEVER_ARM 0.05  /* log10(nu_max / nu_min) */
#define ASW_SED_MIN_SPW       3
#define ASW_SED_BAD_FIT_P     0.001 /* chi-square tail probability */

struct asw_sed_point {
    double freq_hz;
    double flux_jy;
    double flux_err_jy; /* statistical */
};

/*
 * Fit S = S_ref (nu / nu_ref)^alpha to the n points (n >= 2, all with
 * positive flux, error and frequency). nu_ref is the weighted geometric
 * mean frequency, where the errors of S_ref and alpha are uncorrelated.
 * Fills the fit columns of *out (n_spw, band, ref_freq_hz, flux_ref_jy,
 * flux_ref_err_jy, alpha, alpha_err, alpha_sys_err, chi2, dof, lever_arm,
 * flags) and leaves the others. scatter is the relative inter-spw flux
 * scatter for alpha_sys_err (ASW_SED_SPW_SCATTER). Returns 0 or
 * ASW_EINVAL.
 */
int asw_sed_fit(const struct asw_sed_point *pts, size_t n, double scatter,
                struct asw_sed *out, struct asw_err *err);

#endif
