/*
 * absorb.h - absorption spectroscopy toward a calibrator: the continuum of
 * a spectrum by iterative sigma clipping and a low-order polynomial (GSL
 * gsl_multifit_wlinear), the per-channel noise, the optical depth
 * tau = -ln(S / Sc) with lower limits for saturated channels, detection of
 * absorption features with a matched filter over several widths, their
 * peak optical depth (a Gaussian line fitted to the flux through the
 * measured channel response, GSL gsl_multifit_nlinear with correlated
 * noise) and integrated optical depth, and identification against a table
 * of rest frequencies (radio velocity, LSRK). Definitions, the detection
 * threshold and the measured accuracy: docs/science.md.
 */
#ifndef ASW_REDUCE_ABSORB_H
#define ASW_REDUCE_ABSORB_H

#include "src/err.h"
#include "src/result.h"

#include <stddef.h>

#define ASW_ABSORB_MAX_LINES 64
#define ASW_ABSORB_MAX_CHAN  ((size_t)1 << 22)
#define ASW_C_KMS            299792.458

struct asw_absorb_opts {
    int poly_order;       /* 1: continuum polynomial order (0..3) */
    double clip_sigma;    /* 3: continuum clipping threshold */
    int clip_grow;        /* 2: channels masked either side of a clip */
    int noise_window;     /* 15: running median of the channel noise */
    double detect_sigma;  /* 5.5: matched-filter detection threshold */
    double extent_sigma;  /* 1: a feature extends while the filter stays
                             above this */
    double sat_sigma;     /* 3: S below this many sigma is saturated */
    double min_cont_snr;  /* 5: weaker continuum: no absorption analysis */
    double id_window_kms; /* 200: identification window in velocity */
    int lsrk;             /* 1: the frequencies are LSRK (velocities valid) */
};

/* Fill o with the defaults above. */
void asw_absorb_opts_init(struct asw_absorb_opts *o);

struct asw_rest_line {
    const char *species;
    double freq_hz;
};

/* The rest-frequency table (static storage, *n entries). */
const struct asw_rest_line *asw_rest_lines(size_t *n);

/*
 * The rest line nearest in velocity to an observed frequency, if within
 * window_kms: returns its index in asw_rest_lines() and sets *v_kms to the
 * radio velocity c (nu0 - nu) / nu0; -1 when none is that close.
 */
int asw_rest_line_match(double freq_hz, double window_kms, double *v_kms);

/*
 * Analyse a spectrum of n channels: flux_jy (NaN = flagged), freq_hz, and
 * optionally the per-channel image noise chan_noise_jy (NULL: the noise is
 * taken as constant). Fills the caller's arrays cont_jy, noise_jy and tau
 * (n each; tau is NAN where undefined and the lower limit where
 * saturated) and up to max_lines rows of lines (the caller fills unit_id,
 * file, source and spw), *n_lines their number, in channel order. A
 * spectrum whose continuum is below min_cont_snr gets no lines and NAN tau.
 * Returns 0, ASW_EINVAL (fewer than 16 usable channels, too many
 * channels) or ASW_ENOMEM.
 */
int asw_absorb_analyse(const double *freq_hz, const double *flux_jy,
                       const double *chan_noise_jy, size_t n,
                       const struct asw_absorb_opts *o, double *cont_jy,
                       double *noise_jy, double *tau, struct asw_line *lines,
                       size_t max_lines, size_t *n_lines, struct asw_err *err);

#endif
