#include "cube.h"

#include "gauss2d.h"
#include "peak.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CUBE_SAMPLE_CHANNELS 16
#define EIGHT_LN2            5.545177444479562

/* Beam precision matrix in pixel coordinates (for exp(-d^T P d / 2)). */
static int beam_precision(const struct asw_wcs *w, double bmaj, double bmin,
                          double bpa, double P[3])
{
    struct asw_shape s = {bmaj, bmin, bpa};
    double c[3], J[2][2];
    asw_shape_to_cov(&s, c);
    asw_wcs_jacobian(w, J);
    /* pixel covariance = J^-1 c J^-T; its inverse = J^T c^-1 J */
    double det = c[0] * c[2] - c[1] * c[1];
    if (!(det > 0))
        return -1;
    double ci[3] = {c[2] / det, -c[1] / det, c[0] / det};
    double a = J[0][0], b = J[0][1], d = J[1][0], e = J[1][1];
    /* (J^T ci J) */
    double m00 = a * (ci[0] * a + ci[1] * d) + d * (ci[1] * a + ci[2] * d);
    double m01 = a * (ci[0] * b + ci[1] * e) + d * (ci[1] * b + ci[2] * e);
    double m11 = b * (ci[0] * b + ci[1] * e) + e * (ci[1] * b + ci[2] * e);
    /* sigma units: FWHM^2 = 8 ln 2 sigma^2 */
    P[0] = m00 * EIGHT_LN2;
    P[1] = m01 * EIGHT_LN2;
    P[2] = m11 * EIGHT_LN2;
    return isfinite(P[0] + P[1] + P[2]) ? 0 : -1;
}

struct ap_pix {
    size_t i;      /* index in the band of rows */
    double dx, dy; /* offset from the source position */
    double w;      /* weight for the common beam */
};

int asw_reduce_cube(const struct asw_sky_cube *c,
                    const struct asw_reduce_opts *o, struct asw_image *row,
                    double *flux_jy, double *ap_flux_jy, double *chan_noise_jy,
                    struct asw_err *err)
{
    struct asw_reduce_opts co;
    if (o)
        co = *o;
    else
        asw_reduce_opts_init(&co);
    /* The continuum image is measured on the cube's (smaller) region. */
    co.annulus_beams = co.cube_annulus_beams;
    for (long k = 0; k < c->nchan; k++) {
        flux_jy[k] = chan_noise_jy[k] = NAN;
        if (ap_flux_jy)
            ap_flux_jy[k] = NAN;
    }
    double cell = asw_wcs_cell_arcsec(&c->wcs);
    if (!(cell > 0 && cell < 36000.0) || c->nchan < 1)
        return asw_err_set(err, ASW_EINVAL, "reduce",
                           "absurd pixel scale or empty cube");
    double b = asw_reduce_beam_pix(&c->wcs, c->bmaj_arcsec);
    long y0, nr;
    asw_reduce_rows(&c->wcs, c->ny, c->bmaj_arcsec, co.annulus_beams, &y0, &nr);
    size_t np = (size_t)c->nx * (size_t)nr;
    float *plane = malloc(np * sizeof *plane);
    float *acc = malloc(np * sizeof *acc);
    uint32_t *cnt = calloc(np, sizeof *cnt);
    size_t *ann = NULL;
    struct ap_pix *ap = NULL;
    float *vals = NULL;
    int rc = 0;
    if (!plane || !acc || !cnt) {
        rc = asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
        goto out;
    }

    /* 1. Where is the source: the mean of a few channels spread over the
     * band (one channel could sit in an absorption line). */
    long ns = c->nchan < CUBE_SAMPLE_CHANNELS ? c->nchan : CUBE_SAMPLE_CHANNELS;
    memset(acc, 0, np * sizeof *acc);
    for (long k = 0; k < ns; k++) {
        long ch = (long)(((double)k + 0.5) * (double)c->nchan / (double)ns);
        if ((rc = c->read(c->ctx, ch, y0, nr, plane, err)))
            goto out;
        for (size_t i = 0; i < np; i++)
            if (!isnan(plane[i])) {
                acc[i] += plane[i];
                cnt[i]++;
            }
    }
    for (size_t i = 0; i < np; i++)
        acc[i] = cnt[i] ? acc[i] / (float)cnt[i] : NAN;
    double cx = c->wcs.crpix[0] - 1.0, cy = c->wcs.crpix[1] - 1.0;
    double rs = co.search_beams * b, rex = co.exclude_beams * b;
    double ran = co.cube_annulus_beams * b;
    long bx = -1, by = -1;
    float best = -INFINITY;
    for (long y = y0; y < y0 + nr; y++)
        for (long x = 0; x < c->nx; x++) {
            double dx = x - cx, dy = y - cy;
            float v = acc[(size_t)(y - y0) * (size_t)c->nx + (size_t)x];
            if (dx * dx + dy * dy <= rs * rs && v > best) {
                best = v;
                bx = x;
                by = y;
            }
        }
    if (bx < 0) {
        rc = asw_err_set(err, ASW_EINVAL, "reduce",
                         "no finite pixel near the phase centre of the cube");
        goto out;
    }
    double pk, sx, sy;
    asw_peak_refine(acc, c->nx, y0, nr, bx, by, &pk, &sx, &sy);
    size_t ipk = (size_t)(by - y0) * (size_t)c->nx + (size_t)bx;

    /* 2. The noise annulus (evenly decimated to the cap) and the aperture
     * of radius one beam FWHM around the sub-pixel source position. */
    size_t nann = 0, nap = 0;
    ann = malloc(np * sizeof *ann);
    if (!ann) {
        rc = asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
        goto out;
    }
    /* As for images: a smaller exclusion in a cube too small for it. */
    const double ex_beams[3] = {co.exclude_beams, 3.0, 2.0};
    for (int k = 0; k < 3; k++) {
        if (k > 0 && ex_beams[k] >= ex_beams[k - 1])
            continue;
        rex = ex_beams[k] * b;
        nann = 0;
        for (long y = y0; y < y0 + nr; y++)
            for (long x = 0; x < c->nx; x++) {
                double dx = x - cx, dy = y - cy, ex = x - bx, ey = y - by;
                if (dx * dx + dy * dy <= ran * ran &&
                    ex * ex + ey * ey > rex * rex)
                    ann[nann++] = (size_t)(y - y0) * (size_t)c->nx + (size_t)x;
            }
        if (nann >= 256)
            break;
    }
    for (long y = y0; y < y0 + nr; y++)
        for (long x = 0; x < c->nx; x++) {
            double fx = x - sx, fy = y - sy;
            nap += fx * fx + fy * fy <= b * b;
        }
    if (co.cube_noise_cap > 0 && nann > co.cube_noise_cap) {
        size_t step = (nann + co.cube_noise_cap - 1) / co.cube_noise_cap, k = 0;
        for (size_t i = 0; i < nann; i += step)
            ann[k++] = ann[i];
        nann = k;
    }
    ap = malloc((nap ? nap : 1) * sizeof *ap);
    vals = malloc((nann ? nann : 1) * sizeof *vals);
    if (!ap || !vals) {
        rc = asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
        goto out;
    }
    nap = 0;
    for (long y = y0; y < y0 + nr; y++)
        for (long x = 0; x < c->nx; x++) {
            double fx = x - sx, fy = y - sy;
            if (fx * fx + fy * fy <= b * b)
                ap[nap++] = (struct ap_pix){
                    (size_t)(y - y0) * (size_t)c->nx + (size_t)x, fx, fy, 0};
        }
    double P[3];
    int have_P = beam_precision(&c->wcs, c->bmaj_arcsec, c->bmin_arcsec,
                                c->bpa_deg, P) == 0;
    for (size_t i = 0; have_P && i < nap; i++)
        ap[i].w = exp(-0.5 * (P[0] * ap[i].dx * ap[i].dx +
                              2 * P[1] * ap[i].dx * ap[i].dy +
                              P[2] * ap[i].dy * ap[i].dy));

    /* 3. Every channel once, in order. Only the columns of the analysis
     * disc are summed: the mean image is measured inside it (the rest of
     * the band is left blank). The sum skips blanks without a branch (the
     * loop vectorises); blanks are rare, so they are counted (per pixel,
     * in cnt) only in planes that have any. */
    long xa = (long)fmax(0.0, floor(cx - ran) - 1);
    long xb = (long)fmin((double)(c->nx - 1), ceil(cx + ran) + 1);
    if (xa > xb) {
        xa = 0;
        xb = c->nx - 1;
    }
    size_t ncol = (size_t)(xb - xa + 1);
    memset(acc, 0, np * sizeof *acc);
    memset(cnt, 0, np * sizeof *cnt);
    for (long k = 0; k < c->nchan; k++) {
        if ((rc = c->read(c->ctx, k, y0, nr, plane, err)))
            goto out;
        int blanks = 0;
        for (long y = 0; y < nr; y++) {
            float *ar = acc + (size_t)y * (size_t)c->nx + (size_t)xa;
            const float *pr = plane + (size_t)y * (size_t)c->nx + (size_t)xa;
            size_t q = 0;
            /* blocks of a fixed 8 so that -O2's SLP vectoriser takes them */
            for (; q + 8 <= ncol; q += 8) {
                float *a = ar + q;
                const float *p = pr + q;
                int bl = 0;
                for (int j = 0; j < 8; j++) {
                    int ok = p[j] == p[j];
                    a[j] += ok ? p[j] : 0.0f;
                    bl |= !ok;
                }
                blanks |= bl;
            }
            for (; q < ncol; q++) {
                int ok = pr[q] == pr[q];
                ar[q] += ok ? pr[q] : 0.0f;
                blanks |= !ok;
            }
        }
        if (blanks)
            for (long y = 0; y < nr; y++)
                for (long x = xa; x <= xb; x++) {
                    size_t i = (size_t)y * (size_t)c->nx + (size_t)x;
                    cnt[i] += plane[i] != plane[i];
                }
        flux_jy[k] = plane[ipk];
        size_t nv = 0;
        for (size_t i = 0; i < nann; i++) {
            float v = plane[ann[i]];
            if (!isnan(v))
                vals[nv++] = v;
        }
        if (nv >= 20)
            chan_noise_jy[k] = asw_robust_sigma(vals, nv);
        if (!ap_flux_jy)
            continue;
        double Pk[3] = {P[0], P[1], P[2]};
        int okP = have_P, own = 0;
        if (c->chan_bmaj_arcsec && c->chan_bmaj_arcsec[k] > 0) {
            okP = beam_precision(&c->wcs, c->chan_bmaj_arcsec[k],
                                 c->chan_bmin_arcsec[k], c->chan_bpa_deg[k],
                                 Pk) == 0;
            own = 1;
        }
        double swv = 0, sww = 0;
        for (size_t i = 0; okP && i < nap; i++) {
            float v = plane[ap[i].i];
            if (isnan(v))
                continue;
            double dx = ap[i].dx, dy = ap[i].dy;
            double w = own ? exp(-0.5 * (Pk[0] * dx * dx + 2 * Pk[1] * dx * dy +
                                         Pk[2] * dy * dy))
                           : ap[i].w;
            swv += w * v;
            sww += w * w;
        }
        ap_flux_jy[k] = sww > 0 ? swv / sww : NAN;
    }

    /* 4. The continuum: the mean over all channels, measured as an image
     * (cnt holds the blank count per pixel now). */
    for (long y = 0; y < nr; y++)
        for (long x = 0; x < c->nx; x++) {
            size_t i = (size_t)y * (size_t)c->nx + (size_t)x;
            uint32_t good = (uint32_t)c->nchan - cnt[i];
            acc[i] = (x >= xa && x <= xb && good) ? acc[i] / (float)good : NAN;
        }
    struct asw_sky_image im = {
        .data = acc,
        .pb = NULL,
        .nx = c->nx,
        .ny = c->ny,
        .y_lo = y0,
        .nrows = nr,
        .wcs = c->wcs,
        .bmaj_arcsec = c->bmaj_arcsec,
        .bmin_arcsec = c->bmin_arcsec,
        .bpa_deg = c->bpa_deg,
        .phase_ra_deg = c->phase_ra_deg,
        .phase_dec_deg = c->phase_dec_deg,
        .pbcor = c->pbcor,
    };
    rc = asw_reduce_image(&im, &co, row, err);
out:
    free(plane);
    free(acc);
    free(cnt);
    free(ann);
    free(ap);
    free(vals);
    return rc;
}
