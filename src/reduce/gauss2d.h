/*
 * gauss2d.h - elliptical 2-D Gaussians: shape algebra (convolution and
 * deconvolution through second moments), the least-squares fit of one
 * Gaussian to an image region (GSL gsl_multifit_nlinear, trust region
 * with Levenberg-Marquardt steps), and the Condon (1997) error estimates
 * for a fit in an image whose noise is correlated over the beam.
 * Formulas: docs/science.md.
 */
#ifndef ASW_REDUCE_GAUSS2D_H
#define ASW_REDUCE_GAUSS2D_H

#include "src/err.h"

#include <stddef.h>

/* A Gaussian's shape on the sky: FWHM axes (any one angular unit) and the
 * position angle of the major axis, degrees east of north, in (-90, 90]. */
struct asw_shape {
    double maj, min, pa_deg;
};

/*
 * The shape as a FWHM-scaled second-moment matrix in the (east, north)
 * frame, c = {c_ee, c_en, c_nn} = maj^2 u u^T + min^2 v v^T with u the
 * major-axis direction. Convolution adds these matrices.
 */
void asw_shape_to_cov(const struct asw_shape *s, double c[3]);

/* The inverse of asw_shape_to_cov; a negative eigenvalue gives a zero
 * axis. */
void asw_cov_to_shape(const double c[3], struct asw_shape *s);

/*
 * Deconvolve beam from a fitted (convolved) shape: src = fit - beam in
 * second moments. Returns the number of axes that came out zero or
 * negative (0: resolved along both axes, 2: point-like).
 */
int asw_shape_deconvolve(const struct asw_shape *fit,
                         const struct asw_shape *beam, struct asw_shape *src);

/* The region and start point of a fit. Pixel coordinates are 0-based in
 * the full image; data holds rows y_lo .. y_lo + nrows - 1. */
struct asw_gfit_in {
    const float *data; /* nx * nrows, NaN = blank (borrowed) */
    long nx, y_lo, nrows;
    long bx0, bx1, by0, by1; /* inclusive box, already inside the data */
    double amp0, x0, y0;     /* start values */
    double cov0[3];          /* start shape: pixel covariance xx, xy, yy
                                (sigma^2, not FWHM^2) */
    int background;          /* fit a constant offset too */
    /* Noise model for the parameter covariance (optional): sigma > 0 and
     * corr the precision matrix xx, xy, yy (pixels, sigma units) of the
     * noise autocorrelation, i.e. of the restoring beam. */
    double sigma;
    double corr[3];
};

/* Parameter order of asw_gfit.pcov. */
enum {
    ASW_GP_AMP,
    ASW_GP_X0,
    ASW_GP_Y0,
    ASW_GP_L1,
    ASW_GP_L2,
    ASW_GP_L3,
    ASW_GP_BG
};

struct asw_gfit {
    double amp, x0, y0, bg; /* bg is 0 unless fitted */
    double cov[3];          /* fitted pixel covariance xx, xy, yy (sigma^2) */
    size_t npix;            /* pixels in the fit */
    size_t nblank;          /* NaN pixels of the box left out */
    int iterations;
    double rss; /* residual sum of squares */
    /* Covariance of the parameters (A, x0, y0, l1, l2, l3[, B]; P = L L^T
     * with L = [l1 0; l2 l3]) of this unweighted least-squares fit in
     * correlated noise: sigma^2 (J^T J)^-1 J^T C J (J^T J)^-1, C the noise
     * correlation between the box pixels. Valid when have_pcov. */
    double pcov[7][7];
    int have_pcov;
    double l[3]; /* the fitted l1, l2, l3 */
};

/*
 * Fit A exp(-d^T P d / 2) (+ B) to the finite pixels of the box, with the
 * precision matrix P = L L^T parametrised by its Cholesky factor so that
 * every step is a valid ellipse. With in->sigma > 0 also the parameter
 * covariance under correlated noise (pcov). Returns 0, ASW_EINVAL (too
 * few pixels, no convergence, or a degenerate result) or ASW_ENOMEM.
 */
int asw_gauss2d_fit(const struct asw_gfit_in *in, struct asw_gfit *out,
                    struct asw_err *err);

/* Condon (1997) 1-sigma errors of a 2-D Gaussian fit. */
struct asw_condon {
    double amp;      /* peak amplitude, image units */
    double maj, min; /* FWHM axes, unit of the shapes */
    double pa_deg;   /* position angle (capped at 180) */
    double east;     /* position along RA (times cos Dec), unit of shapes */
    double north;    /* position along Dec */
    double flux_rel; /* integrated flux, relative */
};

/*
 * Errors for amplitude amp measured with noise sigma (same units), fitted
 * shape fit and restoring beam (which sets the noise correlation, theta_N
 * = sqrt(bmaj bmin)). Formulas: Condon (1997) eqs. 21 and 41, Condon et al.
 * (1998) eqs. 27, 30 and 36, as in CASA imfit and PyBDSF.
 */
void asw_condon_errors(double amp, double sigma, const struct asw_shape *fit,
                       const struct asw_shape *beam, struct asw_condon *e);

#endif
