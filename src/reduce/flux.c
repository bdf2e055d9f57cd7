#include "flux.h"

#include "gauss2d.h"
#include "peak.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EIGHT_LN2    5.545177444479562
#define BEAM_PIX_DEF 6.0

void asw_reduce_opts_init(struct asw_reduce_opts *o)
{
    o->search_beams = 5.0;
    o->exclude_beams = 5.0;
    o->annulus_beams = 20.0;
    o->cube_annulus_beams = 10.0;
    o->cube_noise_cap = 2048;
    o->fit_box_fwhm = 2.0;
    o->detect_snr = 5.0;
    o->fit_background = 0;
    o->pb_lo = 0.2;
    o->pb_hi = 0.3;
    o->pb_min_beams = 20.0;
}

double asw_reduce_beam_pix(const struct asw_wcs *w, double bmaj_arcsec)
{
    double b = bmaj_arcsec / asw_wcs_cell_arcsec(w);
    return (b >= 0.5 && b <= 1e5) ? b : BEAM_PIX_DEF;
}

void asw_reduce_rows(const struct asw_wcs *w, long ny, double bmaj_arcsec,
                     double radius_beams, long *y_lo, long *nrows)
{
    double r = radius_beams * asw_reduce_beam_pix(w, bmaj_arcsec) + 1.0;
    double cy = w->crpix[1] - 1.0;
    double lo = floor(cy - r), hi = ceil(cy + r);
    if (!(lo >= 0))
        lo = 0;
    if (!(hi <= (double)(ny - 1)))
        hi = (double)(ny - 1);
    if (lo > hi) /* phase centre outside the plane: one edge row */
        lo = hi = (cy < 0) ? 0 : (double)(ny - 1);
    *y_lo = (long)lo;
    *nrows = (long)hi - (long)lo + 1;
}

/* o = A c A^T for a symmetric 2x2 c = {xx, xy, yy}. */
static void xform_cov(const double A[2][2], const double c[3], double o[3])
{
    double a = A[0][0], b = A[0][1], d = A[1][0], e = A[1][1];
    o[0] = a * a * c[0] + 2 * a * b * c[1] + b * b * c[2];
    o[1] = a * d * c[0] + (a * e + b * d) * c[1] + b * e * c[2];
    o[2] = d * d * c[0] + 2 * d * e * c[1] + e * e * c[2];
}

static int inv22(const double A[2][2], double B[2][2])
{
    double det = A[0][0] * A[1][1] - A[0][1] * A[1][0];
    if (!(fabs(det) > 0) || !isfinite(det))
        return -1;
    B[0][0] = A[1][1] / det;
    B[0][1] = -A[0][1] / det;
    B[1][0] = -A[1][0] / det;
    B[1][1] = A[0][0] / det;
    return 0;
}

/* Pixel value and primary beam at (x, y) of the band of rows. */
static inline size_t at(const struct asw_sky_image *im, long x, long y)
{
    return (size_t)(y - im->y_lo) * (size_t)im->nx + (size_t)x;
}

/* The value on the flat-noise scale: PB-corrected data times the PB. */
static inline float flat_at(const struct asw_sky_image *im, size_t i)
{
    float v = im->data[i];
    if (im->pb && im->pbcor)
        v *= im->pb[i];
    return v;
}

/* The columns [*xa, *xb] that can lie within r of column cx (the loops
 * still test the exact circle; this only skips the rest of long rows). */
static void xrange(const struct asw_sky_image *im, double cx, double r,
                   long *xa, long *xb)
{
    double a = floor(cx - r) - 1, b = ceil(cx + r) + 1;
    double last = (double)(im->nx - 1);
    *xa = a > 0 ? (a <= last ? (long)a : im->nx) : 0;
    *xb = b < last ? (b >= 0 ? (long)b : -1) : im->nx - 1;
    if (!(*xa <= *xb)) { /* circle off the plane (or NaN): empty range */
        *xa = 1;
        *xb = 0;
    }
}

/* Sky position and offset of pixel (x, y); errors are the caller's. */
static void fill_position(const struct asw_sky_image *im, double x, double y,
                          double beam_geo, struct asw_image *row)
{
    double ra, dec;
    double pra =
        isfinite(im->phase_ra_deg) ? im->phase_ra_deg : im->wcs.crval[0];
    double pdec =
        isfinite(im->phase_dec_deg) ? im->phase_dec_deg : im->wcs.crval[1];
    if (asw_wcs_pix2world(&im->wcs, x, y, &ra, &dec) == 0) {
        row->ra_deg = ra;
        row->dec_deg = dec;
        row->offset_arcsec = asw_sep_arcsec(pra, pdec, ra, dec);
    } else {
        /* No celestial projection: the linear offset from the reference
         * pixel is still meaningful. */
        double J[2][2];
        asw_wcs_jacobian(&im->wcs, J);
        double dx = x + 1.0 - im->wcs.crpix[0];
        double dy = y + 1.0 - im->wcs.crpix[1];
        row->offset_arcsec =
            hypot(J[0][0] * dx + J[0][1] * dy, J[1][0] * dx + J[1][1] * dy);
    }
    if (beam_geo > 0)
        row->offset_beams = row->offset_arcsec / beam_geo;
}

struct geom {
    double cell;     /* arcsec per pixel (geometric mean) */
    double b;        /* beam major axis in pixels, for region radii */
    int have_beam;   /* beam keywords present and sane */
    double J[2][2];  /* pixel -> (east, north) arcsec */
    double Ji[2][2]; /* and back */
};

static int geometry(const struct asw_sky_image *im, struct geom *g,
                    struct asw_err *err)
{
    g->cell = asw_wcs_cell_arcsec(&im->wcs);
    if (!(g->cell > 0 && g->cell < 36000.0))
        return asw_err_set(err, ASW_EINVAL, "reduce",
                           "absurd pixel scale (CDELT/CD matrix)");
    asw_wcs_jacobian(&im->wcs, g->J);
    if (inv22(g->J, g->Ji))
        return asw_err_set(err, ASW_EINVAL, "reduce",
                           "singular pixel-to-sky matrix");
    double bM = im->bmaj_arcsec, bm = im->bmin_arcsec;
    g->have_beam = bM > 0 && bm > 0 && bm <= bM * 1.0001 &&
                   isfinite(im->bpa_deg) && bM / g->cell >= 0.5 &&
                   bM / g->cell <= 1e5;
    g->b = g->have_beam ? bM / g->cell : BEAM_PIX_DEF;
    return 0;
}

/* Robust noise on the flat-noise scale. Returns sigma, or NAN when there
 * are too few pixels; *n_used is set. */
static double noise_flat(const struct asw_sky_image *im,
                         const struct asw_reduce_opts *o, const struct geom *g,
                         long sx, long sy, float *buf, size_t *n_used)
{
    double cx = im->wcs.crpix[0] - 1.0, cy = im->wcs.crpix[1] - 1.0;
    double rex2 = (o->exclude_beams * g->b) * (o->exclude_beams * g->b);
    double ran2 = (o->annulus_beams * g->b) * (o->annulus_beams * g->b);
    long ylast = im->y_lo + im->nrows - 1;
    long xa, xb;
    xrange(im, cx, o->annulus_beams * g->b, &xa, &xb);
    size_t n = 0;
    *n_used = 0;
    /* 1. The pipeline's annulus 0.2 < PB < 0.3 when the whole plane and
     * its primary beam are at hand and the annulus is big enough. */
    if (im->pb && im->y_lo == 0 && im->nrows == im->ny) {
        for (long y = 0; y <= ylast; y++) {
            for (long x = 0; x < im->nx; x++) {
                size_t i = at(im, x, y);
                float p = im->pb[i];
                if (!(p > o->pb_lo && p < o->pb_hi))
                    continue;
                double dx = x - sx, dy = y - sy;
                float v = flat_at(im, i);
                if (dx * dx + dy * dy > rex2 && !isnan(v))
                    buf[n++] = v;
            }
        }
        double bmin_px =
            g->have_beam ? im->bmin_arcsec / g->cell : BEAM_PIX_DEF;
        double need = o->pb_min_beams * 1.1331 * g->b * bmin_px;
        if (n >= 100 && (double)n >= need) {
            *n_used = n;
            return asw_robust_sigma(buf, n);
        }
    }
    /* 2. The circle of annulus_beams around the phase centre, minus
     * exclude_beams around the source; in an image too small for that,
     * minus 3, then 2 beams, as long as fewer than max(100, 10 beam
     * areas) pixels remain. */
    double bmin_px = g->have_beam ? im->bmin_arcsec / g->cell : BEAM_PIX_DEF;
    double enough = fmax(100.0, 10.0 * 1.1331 * g->b * bmin_px);
    const double ex_beams[3] = {o->exclude_beams, 3.0, 2.0};
    for (int k = 0; k < 3; k++) {
        if (k > 0 && ex_beams[k] >= ex_beams[k - 1])
            continue;
        rex2 = (ex_beams[k] * g->b) * (ex_beams[k] * g->b);
        n = 0;
        for (long y = im->y_lo; y <= ylast; y++) {
            double dy = y - cy, ey = y - sy;
            if (dy * dy > ran2)
                continue;
            for (long x = xa; x <= xb; x++) {
                double dx = x - cx, ex = x - sx;
                if (dx * dx + dy * dy > ran2 || ex * ex + ey * ey <= rex2)
                    continue;
                float v = flat_at(im, at(im, x, y));
                if (!isnan(v))
                    buf[n++] = v;
            }
        }
        if ((double)n >= enough)
            break;
    }
    if (n < 20)
        return NAN;
    *n_used = n;
    return asw_robust_sigma(buf, n);
}

/* Sky shape of the Cholesky parameters l = (l1, l2, l3). */
static void l_shape(const double l[3], const struct geom *g,
                    struct asw_shape *s)
{
    double P[3] = {l[0] * l[0], l[0] * l[1], l[1] * l[1] + l[2] * l[2]};
    double det = P[0] * P[2] - P[1] * P[1];
    double c[3] = {P[2] / det * EIGHT_LN2, -P[1] / det * EIGHT_LN2,
                   P[0] / det * EIGHT_LN2};
    double cs[3];
    xform_cov(g->J, c, cs);
    asw_cov_to_shape(cs, s);
}

/*
 * Errors from the parameter covariance of the fit (delta method), taken
 * at the fitted parameters: the flux ~ A / |l1 l3| (the ellipse covers
 * 2 pi / |l1 l3| pixels), the position through the pixel-to-sky matrix,
 * the shape by central differences of (maj, min, pa) in (l1, l2, l3).
 */
static void lsq_errors(const struct asw_gfit *f, const struct geom *g,
                       struct asw_condon *e)
{
    const double(*C)[7] = f->pcov;
    const double *l = f->l;
    static const int li[3] = {ASW_GP_L1, ASW_GP_L2, ASW_GP_L3};
    double gr[3] = {1.0 / f->amp, -1.0 / l[0], -1.0 / l[2]};
    int gi[3] = {ASW_GP_AMP, ASW_GP_L1, ASW_GP_L3};
    double v = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            v += gr[a] * C[gi[a]][gi[b]] * gr[b];
    if (v > 0)
        e->flux_rel = sqrt(v);
    e->amp = sqrt(fmax(C[ASW_GP_AMP][ASW_GP_AMP], 0.0));
    double cp[3] = {C[ASW_GP_X0][ASW_GP_X0], C[ASW_GP_X0][ASW_GP_Y0],
                    C[ASW_GP_Y0][ASW_GP_Y0]};
    double cs[3];
    xform_cov(g->J, cp, cs);
    if (cs[0] > 0 && cs[2] > 0) {
        e->east = sqrt(cs[0]);
        e->north = sqrt(cs[2]);
    }
    double D[3][3];
    for (int k = 0; k < 3; k++) {
        double h = 1e-6 * (fabs(l[0]) + fabs(l[1]) + fabs(l[2]));
        double lp[3] = {l[0], l[1], l[2]}, lm[3] = {l[0], l[1], l[2]};
        lp[k] += h;
        lm[k] -= h;
        struct asw_shape sp, sm;
        l_shape(lp, g, &sp);
        l_shape(lm, g, &sm);
        double dpa = sp.pa_deg - sm.pa_deg;
        if (dpa > 90)
            dpa -= 180;
        if (dpa < -90)
            dpa += 180;
        D[0][k] = (sp.maj - sm.maj) / (2 * h);
        D[1][k] = (sp.min - sm.min) / (2 * h);
        D[2][k] = dpa / (2 * h);
    }
    double var[3] = {0, 0, 0};
    for (int q = 0; q < 3; q++)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                var[q] += D[q][a] * C[li[a]][li[b]] * D[q][b];
    if (var[0] > 0)
        e->maj = sqrt(var[0]);
    if (var[1] > 0)
        e->min = sqrt(var[1]);
    if (var[2] >= 0 && isfinite(var[2]))
        e->pa_deg = fmin(180.0, sqrt(var[2]));
}

/* The primary beam at a sub-pixel position (bilinear; the nearest
 * finite value at a blank edge, 1 if none). */
static double pb_interp(const struct asw_sky_image *im, double x, double y)
{
    long x0 = (long)floor(x), y0 = (long)floor(y);
    double tx = x - x0, ty = y - y0, s = 0, w = 0;
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 2; i++) {
            long xi = x0 + i, yj = y0 + j;
            if (xi < 0 || xi >= im->nx || yj < im->y_lo ||
                yj >= im->y_lo + im->nrows)
                continue;
            float p = im->pb[at(im, xi, yj)];
            if (!(p > 0))
                continue;
            double wt = (i ? tx : 1 - tx) * (j ? ty : 1 - ty);
            s += wt * p;
            w += wt;
        }
    return w > 0 ? s / w : 1.0;
}

static int fit_source(const struct asw_sky_image *im,
                      const struct asw_reduce_opts *o, const struct geom *gp,
                      const float *data, double amp0, double px, double py,
                      long bx, long by, double sigma, struct asw_image *row,
                      struct asw_err *err);

int asw_reduce_image(const struct asw_sky_image *im,
                     const struct asw_reduce_opts *o, struct asw_image *row,
                     struct asw_err *err)
{
    struct asw_reduce_opts dflt;
    if (!o) {
        asw_reduce_opts_init(&dflt);
        o = &dflt;
    }
    struct geom g;
    int rc = geometry(im, &g, err);
    if (rc)
        return rc;
    if (g.have_beam) {
        row->bmaj_arcsec = im->bmaj_arcsec;
        row->bmin_arcsec = im->bmin_arcsec;
        row->bpa_deg = im->bpa_deg;
        row->pix_per_beam = im->bmin_arcsec / g.cell;
    } else {
        row->qa_flags |= ASW_QA_NO_BEAM;
    }

    /* Pass over the analysis circle: blanks, the brightest pixel within
     * the search radius, the most negative flat-scale value. */
    double cx = im->wcs.crpix[0] - 1.0, cy = im->wcs.crpix[1] - 1.0;
    double rs = o->search_beams * g.b, ran = o->annulus_beams * g.b;
    double rs2 = rs * rs, ran2 = ran * ran;
    long ylast = im->y_lo + im->nrows - 1;
    long xa, xb;
    xrange(im, cx, ran, &xa, &xb);
    size_t n_an = 0, n_nan = 0, n_snan = 0;
    long bx = -1, by = -1;
    float bestv = -INFINITY, minflat = INFINITY;
    for (long y = im->y_lo; y <= ylast; y++) {
        double dy = y - cy;
        if (dy * dy > ran2)
            continue;
        for (long x = xa; x <= xb; x++) {
            double dx = x - cx, r2 = dx * dx + dy * dy;
            if (r2 > ran2)
                continue;
            size_t i = at(im, x, y);
            float v = im->data[i];
            n_an++;
            if (isnan(v)) {
                n_nan++;
                n_snan += r2 <= rs2;
                continue;
            }
            float f = flat_at(im, i);
            if (f < minflat)
                minflat = f;
            if (r2 <= rs2 && v > bestv) {
                bestv = v;
                bx = x;
                by = y;
            }
        }
    }
    row->nan_fraction = n_an ? (double)n_nan / (double)n_an : 1.0;
    if (n_snan)
        row->qa_flags |= ASW_QA_NAN;
    if (bx < 0)
        return asw_err_set(err, ASW_EINVAL, "reduce",
                           "no finite pixel within %.0f beams of the phase "
                           "centre",
                           o->search_beams);
    double peak, px, py;
    asw_peak_refine(im->data, im->nx, im->y_lo, im->nrows, bx, by, &peak, &px,
                    &py);
    row->peak_jy = peak;
    row->peak_x_pix = px;
    row->peak_y_pix = py;

    /* Noise, then the noise at the source on the image's own scale. */
    float *buf = malloc((size_t)im->nx * (size_t)im->nrows * sizeof *buf);
    if (!buf)
        return asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
    size_t n_noise;
    double sflat = noise_flat(im, o, &g, bx, by, buf, &n_noise);
    free(buf);
    if (!(sflat > 0))
        return asw_err_set(err, ASW_EINVAL, "reduce",
                           "too few pixels (%zu) or no variation for a noise "
                           "estimate",
                           n_noise);
    double pb_src = 1.0;
    if (im->pb && im->pbcor) {
        float p = im->pb[at(im, bx, by)];
        if (p > 0 && p <= 1.5)
            pb_src = p;
    }
    double rms = sflat / pb_src;
    row->rms_jy = rms;
    row->peak_err_jy = rms;
    row->snr = peak / rms;
    if (minflat < 0)
        row->dynamic_range = peak * pb_src / -(double)minflat;

    double beam_geo =
        g.have_beam ? sqrt(im->bmaj_arcsec * im->bmin_arcsec) : NAN;
    fill_position(im, px, py, beam_geo, row);
    if (!(row->snr >= o->detect_snr)) {
        row->qa_flags |= ASW_QA_NOT_FOUND;
        return 0;
    }
    if (!g.have_beam)
        return 0; /* no flux without the beam area */

    /* With a primary beam, fit the flat-noise image (data x PB): there
     * the component has the beam's shape and the noise is uniform, as the
     * fit and Condon's errors assume; the component is PB-corrected at its
     * fitted position afterwards. A PB-corrected image divides the wings
     * of the component by a falling PB and inflates the flux by about
     * (bmaj^2 + bmin^2) / (2 FWHM_PB^2). */
    float *flat = NULL;
    const float *fdata = im->data;
    double famp0 = peak, fsig = rms;
    if (im->pb && im->pbcor) {
        size_t np = (size_t)im->nx * (size_t)im->nrows;
        flat = malloc(np * sizeof *flat);
        if (!flat)
            return asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
        for (size_t i = 0; i < np; i++)
            flat[i] = flat_at(im, i);
        fdata = flat;
        famp0 = peak * pb_src;
        fsig = sflat;
    }
    rc = fit_source(im, o, &g, fdata, famp0, px, py, bx, by, fsig, row, err);
    free(flat);
    return rc;
}

/* The Gaussian fit of the source on data (the image or its flat-noise
 * version, noise sigma) and the columns that follow from it. */
static int fit_source(const struct asw_sky_image *im,
                      const struct asw_reduce_opts *o, const struct geom *gp,
                      const float *data, double amp0, double px, double py,
                      long bx, long by, double sigma, struct asw_image *row,
                      struct asw_err *err)
{
    const struct geom g = *gp;
    long ylast = im->y_lo + im->nrows - 1;
    double peak = row->peak_jy;
    double beam_geo = sqrt(im->bmaj_arcsec * im->bmin_arcsec);
    /* The Gaussian fit: start at the beam, in a box of +-fit_box_fwhm
     * beams; once more in a larger box if the source is resolved. */
    struct asw_shape beam = {im->bmaj_arcsec, im->bmin_arcsec, im->bpa_deg};
    double cb[3], cpix[3];
    asw_shape_to_cov(&beam, cb);
    xform_cov(g.Ji, cb, cpix);
    for (int k = 0; k < 3; k++)
        cpix[k] /= EIGHT_LN2;
    struct asw_gfit_in in = {.data = data,
                             .nx = im->nx,
                             .y_lo = im->y_lo,
                             .nrows = im->nrows,
                             .amp0 = amp0,
                             .x0 = px,
                             .y0 = py,
                             .background = o->fit_background};
    memcpy(in.cov0, cpix, sizeof cpix);
    /* The noise correlation is the beam: its pixel precision matrix. */
    in.sigma = sigma;
    double cdet = cpix[0] * cpix[2] - cpix[1] * cpix[1];
    in.corr[0] = cpix[2] / cdet;
    in.corr[1] = -cpix[1] / cdet;
    in.corr[2] = cpix[0] / cdet;
    double half = fmax(3.0, ceil(o->fit_box_fwhm * g.b));
    struct asw_gfit fit;
    struct asw_shape fs = {0, 0, 0};
    struct asw_err ferr = {0};
    int frc = 0;
    for (int pass = 0; pass < 2; pass++) {
        long h = (long)half;
        in.bx0 = bx - h < 0 ? 0 : bx - h;
        in.bx1 = bx + h > im->nx - 1 ? im->nx - 1 : bx + h;
        in.by0 = by - h < im->y_lo ? im->y_lo : by - h;
        in.by1 = by + h > ylast ? ylast : by + h;
        frc = asw_gauss2d_fit(&in, &fit, &ferr);
        if (frc == ASW_ENOMEM) {
            *err = ferr;
            return frc;
        }
        if (frc)
            break;
        double cf[3], cs[3];
        for (int k = 0; k < 3; k++)
            cf[k] = fit.cov[k] * EIGHT_LN2;
        xform_cov(g.J, cf, cs);
        asw_cov_to_shape(cs, &fs);
        double maj_px = fs.maj / g.cell;
        if (fs.maj <= 1.5 * im->bmaj_arcsec || pass == 1)
            break;
        double h2 = fmin(256.0, ceil(o->fit_box_fwhm * maj_px));
        if (h2 <= half)
            break;
        half = h2;
        in.amp0 = fit.amp;
        in.x0 = fit.x0;
        in.y0 = fit.y0;
        memcpy(in.cov0, fit.cov, sizeof fit.cov);
    }
    /* A fit that wandered off, shrank below the beam or blew up is not a
     * measurement of the calibrator. */
    double lim = fmax(2.0, g.b);
    if (frc || !(fit.amp > 0) || fabs(fit.x0 - px) > lim ||
        fabs(fit.y0 - py) > lim || !(fs.min >= 0.5 * im->bmin_arcsec) ||
        !(fs.maj <= 20.0 * im->bmaj_arcsec)) {
        row->qa_flags |= ASW_QA_FIT_FAILED;
        return 0;
    }
    if (fit.nblank)
        row->qa_flags |= ASW_QA_NAN;

    /* Errors: Condon (1997) in closed form, replaced by the covariance of
     * this least-squares fit in beam-correlated noise when that could be
     * formed (docs/science.md compares the two). */
    struct asw_condon ce;
    asw_condon_errors(fit.amp, sigma, &fs, &beam, &ce);
    if (fit.have_pcov)
        lsq_errors(&fit, &g, &ce);
    double amp = fit.amp;
    if (data != im->data) /* flat-noise fit: PB-correct the component */
        amp /= pb_interp(im, fit.x0, fit.y0);
    double flux = amp * fs.maj * fs.min / (beam.maj * beam.min);
    row->flux_jy = flux;
    row->flux_err_jy = flux * ce.flux_rel;
    row->peak_over_flux = peak / flux;
    row->fit_maj_arcsec = fs.maj;
    row->fit_min_arcsec = fs.min;
    row->fit_pa_deg = fs.pa_deg;
    row->fit_maj_err_arcsec = ce.maj;
    row->fit_min_err_arcsec = ce.min;
    row->fit_pa_err_deg = ce.pa_deg;
    fill_position(im, fit.x0, fit.y0, beam_geo, row);
    row->ra_err_arcsec = ce.east;
    row->dec_err_arcsec = ce.north;
    /* Unresolved when both fitted axes are within 2 sigma of the beam's:
     * the deconvolved size is then reported as 0. */
    if (fs.maj - beam.maj < 2.0 * ce.maj && fs.min - beam.min < 2.0 * ce.min) {
        row->dec_maj_arcsec = 0.0;
        row->dec_min_arcsec = 0.0;
    } else {
        struct asw_shape src;
        asw_shape_deconvolve(&fs, &beam, &src);
        row->dec_maj_arcsec = src.maj;
        row->dec_min_arcsec = src.min;
        if (src.maj > 0)
            row->dec_pa_deg = src.pa_deg;
    }
    return 0;
}
