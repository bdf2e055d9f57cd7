#include "gauss2d.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define D2R       (M_PI / 180.0)
#define R2D       (180.0 / M_PI)
#define EIGHT_LN2 5.545177444479562

void asw_shape_to_cov(const struct asw_shape *s, double c[3])
{
    double t = s->pa_deg * D2R, st = sin(t), ct = cos(t);
    double M2 = s->maj * s->maj, m2 = s->min * s->min;
    c[0] = M2 * st * st + m2 * ct * ct;
    c[1] = (M2 - m2) * st * ct;
    c[2] = M2 * ct * ct + m2 * st * st;
}

void asw_cov_to_shape(const double c[3], struct asw_shape *s)
{
    double h = 0.5 * (c[0] + c[2]);
    double d = hypot(0.5 * (c[0] - c[2]), c[1]);
    double l1 = h + d, l2 = h - d;
    s->maj = l1 > 0 ? sqrt(l1) : 0.0;
    s->min = l2 > 0 ? sqrt(l2) : 0.0;
    /* c_nn - c_ee = (maj^2 - min^2) cos 2pa, 2 c_en = (...) sin 2pa */
    double pa = (d > 0) ? 0.5 * atan2(2.0 * c[1], c[2] - c[0]) * R2D : 0.0;
    if (pa <= -90.0)
        pa += 180.0;
    if (pa > 90.0)
        pa -= 180.0;
    s->pa_deg = pa;
}

int asw_shape_deconvolve(const struct asw_shape *fit,
                         const struct asw_shape *beam, struct asw_shape *src)
{
    double cf[3], cb[3], cs[3];
    asw_shape_to_cov(fit, cf);
    asw_shape_to_cov(beam, cb);
    for (int i = 0; i < 3; i++)
        cs[i] = cf[i] - cb[i];
    asw_cov_to_shape(cs, src);
    return (src->maj <= 0) + (src->min <= 0);
}

/* ------------------------------------------------------------------ */
/* The fit                                                             */

struct fitdata {
    const double *x, *y, *v; /* pixel coordinates and values */
    size_t n;
    int bg;
};

/* Parameters: A, x0, y0, l1, l2, l3 [, B]; P = L L^T, L = [l1 0; l2 l3].
 * d^T P d = u^2 + w^2 with u = l1 dx + l2 dy, w = l3 dy. */
static int model_f(const gsl_vector *p, void *vd, gsl_vector *f)
{
    const struct fitdata *d = vd;
    double A = gsl_vector_get(p, 0), x0 = gsl_vector_get(p, 1);
    double y0 = gsl_vector_get(p, 2), l1 = gsl_vector_get(p, 3);
    double l2 = gsl_vector_get(p, 4), l3 = gsl_vector_get(p, 5);
    double B = d->bg ? gsl_vector_get(p, 6) : 0.0;
    for (size_t i = 0; i < d->n; i++) {
        double dx = d->x[i] - x0, dy = d->y[i] - y0;
        double u = l1 * dx + l2 * dy, w = l3 * dy;
        gsl_vector_set(f, i, A * exp(-0.5 * (u * u + w * w)) + B - d->v[i]);
    }
    return GSL_SUCCESS;
}

static int model_df(const gsl_vector *p, void *vd, gsl_matrix *J)
{
    const struct fitdata *d = vd;
    double A = gsl_vector_get(p, 0), x0 = gsl_vector_get(p, 1);
    double y0 = gsl_vector_get(p, 2), l1 = gsl_vector_get(p, 3);
    double l2 = gsl_vector_get(p, 4), l3 = gsl_vector_get(p, 5);
    for (size_t i = 0; i < d->n; i++) {
        double dx = d->x[i] - x0, dy = d->y[i] - y0;
        double u = l1 * dx + l2 * dy, w = l3 * dy;
        double e = exp(-0.5 * (u * u + w * w)), m = A * e;
        gsl_matrix_set(J, i, 0, e);
        gsl_matrix_set(J, i, 1, m * u * l1);
        gsl_matrix_set(J, i, 2, m * (u * l2 + w * l3));
        gsl_matrix_set(J, i, 3, -m * u * dx);
        gsl_matrix_set(J, i, 4, -m * u * dy);
        gsl_matrix_set(J, i, 5, -m * w * dy);
        if (d->bg)
            gsl_matrix_set(J, i, 6, 1.0);
    }
    return GSL_SUCCESS;
}

/* Inverse of the symmetric 2x2 {xx, xy, yy}; 0 or -1 if not positive
 * definite. */
static int inv2(const double c[3], double o[3])
{
    double det = c[0] * c[2] - c[1] * c[1];
    if (!(det > 0) || !(c[0] > 0) || !isfinite(det))
        return -1;
    o[0] = c[2] / det;
    o[1] = -c[1] / det;
    o[2] = c[0] / det;
    return 0;
}

/* Solve the symmetric p x p system in place (Gauss-Jordan with partial
 * pivoting): a becomes its inverse. Returns 0 or -1 if singular. */
static int invert(double a[7][7], int p)
{
    double b[7][7] = {{0}};
    for (int i = 0; i < p; i++)
        b[i][i] = 1.0;
    for (int c = 0; c < p; c++) {
        int piv = c;
        for (int r = c + 1; r < p; r++)
            if (fabs(a[r][c]) > fabs(a[piv][c]))
                piv = r;
        if (!(fabs(a[piv][c]) > 0))
            return -1;
        for (int k = 0; k < p; k++) {
            double t = a[c][k];
            a[c][k] = a[piv][k];
            a[piv][k] = t;
            t = b[c][k];
            b[c][k] = b[piv][k];
            b[piv][k] = t;
        }
        double d = a[c][c];
        for (int k = 0; k < p; k++) {
            a[c][k] /= d;
            b[c][k] /= d;
        }
        for (int r = 0; r < p; r++) {
            if (r == c)
                continue;
            double f = a[r][c];
            for (int k = 0; k < p; k++) {
                a[r][k] -= f * a[c][k];
                b[r][k] -= f * b[c][k];
            }
        }
    }
    memcpy(a, b, sizeof b);
    return 0;
}

/*
 * The covariance of the least-squares parameters when the noise is
 * correlated: sigma^2 A^-1 M A^-1 with A = J^T J and M = J^T C J, where C
 * is the noise correlation between pixels (the beam, peak 1). M is formed
 * by correlating every Jacobian column with the beam over the box, so the
 * cost is (box pixels) x (beam kernel pixels) x p.
 */
/* Returns 0, ASW_EINVAL (degenerate) or ASW_ENOMEM. */
static int sandwich(const struct asw_gfit_in *in, const gsl_vector *par,
                    size_t p, struct asw_gfit *out)
{
    long bw = in->bx1 - in->bx0 + 1, bh = in->by1 - in->by0 + 1;
    size_t nb = (size_t)bw * (size_t)bh;
    /* Kernel half-size where the correlation exceeds 1e-7. */
    double det = in->corr[0] * in->corr[2] - in->corr[1] * in->corr[1];
    if (!(det > 0) || !(in->corr[0] > 0))
        return ASW_EINVAL;
    double hx = sqrt(2 * 16.2 * in->corr[2] / det);
    double hy = sqrt(2 * 16.2 * in->corr[0] / det);
    long kx = (long)ceil(hx), ky = (long)ceil(hy);
    if (kx > bw)
        kx = bw;
    if (ky > bh)
        ky = bh;
    long kw = 2 * kx + 1, kh = 2 * ky + 1;
    double *J = calloc(nb * p, sizeof *J);
    double *rho = malloc((size_t)kw * (size_t)kh * sizeof *rho);
    if (!J || !rho) {
        free(J);
        free(rho);
        return ASW_ENOMEM;
    }
    for (long v = -ky; v <= ky; v++)
        for (long u = -kx; u <= kx; u++) {
            double q = in->corr[0] * u * u + 2 * in->corr[1] * u * v +
                       in->corr[2] * v * v;
            rho[(v + ky) * kw + (u + kx)] = q < 32.4 ? exp(-0.5 * q) : 0.0;
        }
    double A = gsl_vector_get(par, 0), x0 = gsl_vector_get(par, 1);
    double y0 = gsl_vector_get(par, 2), l1 = gsl_vector_get(par, 3);
    double l2 = gsl_vector_get(par, 4), l3 = gsl_vector_get(par, 5);
    char *ok = calloc(nb, 1);
    if (!ok) {
        free(J);
        free(rho);
        return ASW_ENOMEM;
    }
    double a[7][7] = {{0}}, m[7][7] = {{0}};
    for (long y = in->by0; y <= in->by1; y++) {
        const float *row = in->data + (size_t)(y - in->y_lo) * (size_t)in->nx;
        for (long x = in->bx0; x <= in->bx1; x++) {
            if (isnan(row[x]))
                continue;
            size_t i =
                (size_t)(y - in->by0) * (size_t)bw + (size_t)(x - in->bx0);
            double dx = x - x0, dy = y - y0;
            double u = l1 * dx + l2 * dy, w = l3 * dy;
            double e = exp(-0.5 * (u * u + w * w)), mm = A * e;
            double *j = J + i * p;
            j[0] = e;
            j[1] = mm * u * l1;
            j[2] = mm * (u * l2 + w * l3);
            j[3] = -mm * u * dx;
            j[4] = -mm * u * dy;
            j[5] = -mm * w * dy;
            if (p > 6)
                j[6] = 1.0;
            ok[i] = 1;
            for (size_t r = 0; r < p; r++)
                for (size_t c = 0; c < p; c++)
                    a[r][c] += j[r] * j[c];
        }
    }
    double acc[7];
    for (long y = 0; y < bh; y++)
        for (long x = 0; x < bw; x++) {
            size_t i = (size_t)y * (size_t)bw + (size_t)x;
            if (!ok[i])
                continue;
            for (size_t c = 0; c < p; c++)
                acc[c] = 0;
            long v0 = y - ky < 0 ? -y : -ky,
                 v1 = y + ky >= bh ? bh - 1 - y : ky;
            long u0 = x - kx < 0 ? -x : -kx,
                 u1 = x + kx >= bw ? bw - 1 - x : kx;
            for (long v = v0; v <= v1; v++) {
                const double *rr = rho + (v + ky) * kw + kx;
                size_t jrow = (size_t)(y + v) * (size_t)bw;
                for (long u = u0; u <= u1; u++) {
                    double r = rr[u];
                    size_t jj = jrow + (size_t)(x + u);
                    if (r == 0.0 || !ok[jj])
                        continue;
                    const double *jv = J + jj * p;
                    for (size_t c = 0; c < p; c++)
                        acc[c] += r * jv[c];
                }
            }
            const double *ji = J + i * p;
            for (size_t r = 0; r < p; r++)
                for (size_t c = 0; c < p; c++)
                    m[r][c] += ji[r] * acc[c];
        }
    free(J);
    free(rho);
    free(ok);
    if (invert(a, (int)p))
        return ASW_EINVAL; /* not ASW_ENOMEM (-1) */
    /* pcov = sigma^2 a^-1 m a^-1 */
    double t[7][7] = {{0}};
    for (size_t r = 0; r < p; r++)
        for (size_t c = 0; c < p; c++)
            for (size_t k = 0; k < p; k++)
                t[r][c] += a[r][k] * m[k][c];
    double s2 = in->sigma * in->sigma;
    for (size_t r = 0; r < p; r++)
        for (size_t c = 0; c < p; c++) {
            double v = 0;
            for (size_t k = 0; k < p; k++)
                v += t[r][k] * a[k][c];
            out->pcov[r][c] = s2 * v;
        }
    out->have_pcov = 1;
    return 0;
}

int asw_gauss2d_fit(const struct asw_gfit_in *in, struct asw_gfit *out,
                    struct asw_err *err)
{
    memset(out, 0, sizeof *out);
    out->amp = out->x0 = out->y0 = NAN;
    /* GSL's default handler aborts; errors come back as status codes. */
    gsl_set_error_handler_off();
    size_t p = in->background ? 7 : 6;
    size_t cap =
        (size_t)(in->bx1 - in->bx0 + 1) * (size_t)(in->by1 - in->by0 + 1);
    if (in->bx0 < 0 || in->bx1 >= in->nx || in->by0 < in->y_lo ||
        in->by1 >= in->y_lo + in->nrows || in->bx1 < in->bx0 ||
        in->by1 < in->by0)
        return asw_err_set(err, ASW_EINVAL, "reduce", "fit box outside data");
    double *buf = malloc(3 * cap * sizeof *buf);
    if (!buf)
        return asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
    double *xs = buf, *ys = buf + cap, *vs = buf + 2 * cap;
    size_t n = 0;
    for (long y = in->by0; y <= in->by1; y++) {
        const float *row = in->data + (size_t)(y - in->y_lo) * (size_t)in->nx;
        for (long x = in->bx0; x <= in->bx1; x++) {
            if (isnan(row[x])) {
                out->nblank++;
                continue;
            }
            xs[n] = (double)x;
            ys[n] = (double)y;
            vs[n] = row[x];
            n++;
        }
    }
    out->npix = n;
    int rc = 0;
    gsl_multifit_nlinear_workspace *w = NULL;
    gsl_vector *x = NULL;
    double P0[3];
    if (n < 2 * p) {
        rc = asw_err_set(err, ASW_EINVAL, "reduce",
                         "too few pixels (%zu) for a Gaussian fit", n);
        goto out;
    }
    if (inv2(in->cov0, P0)) {
        rc = asw_err_set(err, ASW_EINVAL, "reduce", "bad start shape");
        goto out;
    }
    struct fitdata fd = {xs, ys, vs, n, in->background};
    gsl_multifit_nlinear_fdf fdf = {.f = model_f,
                                    .df = model_df,
                                    .fvv = NULL,
                                    .n = n,
                                    .p = p,
                                    .params = &fd};
    gsl_multifit_nlinear_parameters fp =
        gsl_multifit_nlinear_default_parameters();
    w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, n, p);
    x = gsl_vector_alloc(p);
    if (!w || !x) {
        rc = asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
        goto out;
    }
    double l1 = sqrt(P0[0]), l2 = P0[1] / l1;
    double l3 = sqrt(fmax(P0[2] - l2 * l2, 1e-12));
    gsl_vector_set(x, 0, in->amp0);
    gsl_vector_set(x, 1, in->x0);
    gsl_vector_set(x, 2, in->y0);
    gsl_vector_set(x, 3, l1);
    gsl_vector_set(x, 4, l2);
    gsl_vector_set(x, 5, l3);
    if (in->background)
        gsl_vector_set(x, 6, 0.0);
    int info = 0;
    if (gsl_multifit_nlinear_init(x, &fdf, w) != GSL_SUCCESS) {
        rc = asw_err_set(err, ASW_EINVAL, "reduce", "fit start failed");
        goto out;
    }
    int st = gsl_multifit_nlinear_driver(200, 1e-10, 1e-10, 0.0, NULL, NULL,
                                         &info, w);
    const gsl_vector *r = gsl_multifit_nlinear_position(w);
    out->iterations = (int)gsl_multifit_nlinear_niter(w);
    if (st != GSL_SUCCESS) {
        rc = asw_err_set(err, ASW_EINVAL, "reduce",
                         "Gaussian fit did not converge: %s", gsl_strerror(st));
        goto out;
    }
    double L1 = gsl_vector_get(r, 3), L2 = gsl_vector_get(r, 4);
    double L3 = gsl_vector_get(r, 5);
    double P[3] = {L1 * L1, L1 * L2, L2 * L2 + L3 * L3};
    out->l[0] = L1;
    out->l[1] = L2;
    out->l[2] = L3;
    out->amp = gsl_vector_get(r, 0);
    out->x0 = gsl_vector_get(r, 1);
    out->y0 = gsl_vector_get(r, 2);
    out->bg = in->background ? gsl_vector_get(r, 6) : 0.0;
    const gsl_vector *fres = gsl_multifit_nlinear_residual(w);
    double rss = 0;
    for (size_t i = 0; i < n; i++)
        rss += gsl_vector_get(fres, i) * gsl_vector_get(fres, i);
    out->rss = rss;
    if (inv2(P, out->cov) || !isfinite(out->amp) || !isfinite(out->x0) ||
        !isfinite(out->y0)) {
        rc = asw_err_set(err, ASW_EINVAL, "reduce",
                         "Gaussian fit gave a degenerate ellipse");
        goto out;
    }
    if (in->sigma > 0 && sandwich(in, r, p, out) == ASW_ENOMEM)
        rc = asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
out:
    gsl_multifit_nlinear_free(w);
    gsl_vector_free(x);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Condon (1997) errors                                                */

void asw_condon_errors(double amp, double sigma, const struct asw_shape *fit,
                       const struct asw_shape *beam, struct asw_condon *e)
{
    double tn2 = beam->maj * beam->min; /* theta_N^2: noise correlation */
    double M = fit->maj, m = fit->min;
    double snr2 = (amp / sigma) * (amp / sigma);
    double r2 = M * m / (4.0 * tn2) * snr2;
    double fM = 1.0 + tn2 / (M * M), fm = 1.0 + tn2 / (m * m);
    /* rho^2 with the exponents (alpha_M, alpha_m) of Condon (1997) eq. 41 */
    double rho2_amp = r2 * pow(fM, 1.5) * pow(fm, 1.5);
    double rho2_maj = r2 * pow(fM, 2.5) * pow(fm, 0.5);
    double rho2_min = r2 * pow(fM, 0.5) * pow(fm, 2.5);
    e->amp = fabs(amp) * sqrt(2.0 / rho2_amp);
    e->maj = M * sqrt(2.0 / rho2_maj);
    e->min = m * sqrt(2.0 / rho2_min);
    double pa = 180.0;
    if (M > m)
        pa = 2.0 / sqrt(rho2_min) * M * m / (M * M - m * m) * R2D;
    e->pa_deg = (pa < 180.0 && isfinite(pa)) ? pa : 180.0;
    /* Position errors along the axes are the axis errors / sqrt(8 ln 2),
     * projected on east and north (Condon et al. 1998, eq. 27). */
    double eM = e->maj / sqrt(EIGHT_LN2), em = e->min / sqrt(EIGHT_LN2);
    double t = fit->pa_deg * D2R, st = sin(t), ct = cos(t);
    e->east = sqrt(eM * eM * st * st + em * em * ct * ct);
    e->north = sqrt(eM * eM * ct * ct + em * em * st * st);
    /* Flux = A M m / (b_M b_m): the amplitude and width errors are
     * correlated in correlated noise (Condon et al. 1998, eq. 36). */
    e->flux_rel =
        sqrt(e->amp * e->amp / (amp * amp) +
             tn2 / (M * m) *
                 (e->maj * e->maj / (M * M) + e->min * e->min / (m * m)));
}
