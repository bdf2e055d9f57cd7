#include "synth.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FWHM_SIGMA 2.3548200450309493
#define D2R        (M_PI / 180.0)

struct synth_rng {
    gsl_rng *r;
};

struct synth_rng *synth_rng_alloc(unsigned long seed)
{
    struct synth_rng *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    s->r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!s->r) {
        free(s);
        return NULL;
    }
    gsl_rng_set(s->r, seed);
    return s;
}

void synth_rng_free(struct synth_rng *r)
{
    if (!r)
        return;
    gsl_rng_free(r->r);
    free(r);
}

double synth_uniform(struct synth_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * gsl_rng_uniform(r->r);
}

double synth_gauss(struct synth_rng *r)
{
    return gsl_ran_gaussian_ziggurat(r->r, 1.0);
}

unsigned long synth_ulong(struct synth_rng *r)
{
    return gsl_rng_get(r->r);
}

/* Precision matrix (pixels, sigma units) of a Gaussian of FWHM maj x min
 * arcsec at PA pa (east of north) on a grid with east = -x, north = +y. */
static void precision(double maj, double min, double pa, double cell,
                      double P[3])
{
    double sM = maj / FWHM_SIGMA / cell, sm = min / FWHM_SIGMA / cell;
    double t = pa * D2R, s = sin(t), c = cos(t);
    double ux = -s, uy = c; /* major axis */
    double vx = c, vy = s;  /* minor axis */
    P[0] = ux * ux / (sM * sM) + vx * vx / (sm * sm);
    P[1] = ux * uy / (sM * sM) + vx * vy / (sm * sm);
    P[2] = uy * uy / (sM * sM) + vy * vy / (sm * sm);
}

static double gauss_at(const double P[3], double dx, double dy)
{
    return exp(-0.5 * (P[0] * dx * dx + 2 * P[1] * dx * dy + P[2] * dy * dy));
}

/* Correlated noise of unit variance into out (nx*ny), generic PA. */
static int noise_generic(int nx, int ny, double bmaj, double bmin, double bpa,
                         double cell, unsigned long seed, double *out)
{
    double P[3];
    precision(bmaj / M_SQRT2, bmin / M_SQRT2, bpa, cell, P);
    double sk = bmaj / M_SQRT2 / FWHM_SIGMA / cell;
    int h = (int)ceil(4.0 * sk);
    if (h < 1)
        h = 1;
    int kw = 2 * h + 1, wx = nx + 2 * h, wy = ny + 2 * h;
    double *k = malloc(sizeof *k * (size_t)kw * (size_t)kw);
    double *w = malloc(sizeof *w * (size_t)wx * (size_t)wy);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!k || !w || !r) {
        free(k);
        free(w);
        gsl_rng_free(r);
        return -1;
    }
    gsl_rng_set(r, seed);
    double s2 = 0;
    for (int j = 0; j < kw; j++)
        for (int i = 0; i < kw; i++) {
            double v = gauss_at(P, i - h, j - h);
            k[j * kw + i] = v;
            s2 += v * v;
        }
    double norm = 1.0 / sqrt(s2);
    for (int i = 0; i < kw * kw; i++)
        k[i] *= norm;
    for (size_t i = 0; i < (size_t)wx * (size_t)wy; i++)
        w[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
    for (int y = 0; y < ny; y++)
        for (int x = 0; x < nx; x++) {
            double acc = 0;
            for (int j = 0; j < kw; j++) {
                const double *wr = w + (size_t)(y + j) * wx + x;
                const double *kr = k + (size_t)j * kw;
                for (int i = 0; i < kw; i++)
                    acc += kr[i] * wr[i];
            }
            out[(size_t)y * nx + x] = acc;
        }
    free(k);
    free(w);
    gsl_rng_free(r);
    return 0;
}

double synth_image_peak(const struct synth_image *s)
{
    double e = s->extent_arcsec;
    double maj = sqrt(s->bmaj_arcsec * s->bmaj_arcsec + e * e);
    double min = sqrt(s->bmin_arcsec * s->bmin_arcsec + e * e);
    return s->flux_jy * s->bmaj_arcsec * s->bmin_arcsec / (maj * min);
}

int synth_image_render(const struct synth_image *s, float *img, float *pb)
{
    size_t n = (size_t)s->nx * (size_t)s->ny;
    double *noise = malloc(n * sizeof *noise);
    if (!noise || noise_generic(s->nx, s->ny, s->bmaj_arcsec, s->bmin_arcsec,
                                s->bpa_deg, s->cell_arcsec, s->seed, noise)) {
        free(noise);
        return -1;
    }
    double e = s->extent_arcsec;
    double maj = sqrt(s->bmaj_arcsec * s->bmaj_arcsec + e * e);
    double min = sqrt(s->bmin_arcsec * s->bmin_arcsec + e * e);
    double P[3];
    precision(maj, min, s->bpa_deg, s->cell_arcsec, P);
    double peak = synth_image_peak(s);
    int use_pb = s->pb_fwhm_arcsec > 0;
    double kpb = 4.0 * log(2.0) * s->cell_arcsec * s->cell_arcsec /
                 (s->pb_fwhm_arcsec * s->pb_fwhm_arcsec);
    double pb_src = 1.0;
    if (use_pb) {
        double dx = s->x_pix - s->cx, dy = s->y_pix - s->cy;
        pb_src = exp(-kpb * (dx * dx + dy * dy));
    }
    for (int y = 0; y < s->ny; y++)
        for (int x = 0; x < s->nx; x++) {
            size_t i = (size_t)y * s->nx + x;
            double sky = peak * gauss_at(P, x - s->x_pix, y - s->y_pix);
            double p = 1.0;
            if (use_pb) {
                double dx = x - s->cx, dy = y - s->cy;
                p = exp(-kpb * (dx * dx + dy * dy));
            }
            double v = (sky * pb_src + s->rms_jy * noise[i]) / p;
            int blank = use_pb && p < s->pblimit;
            img[i] = blank ? NAN : (float)v;
            if (pb)
                pb[i] = use_pb ? (blank ? NAN : (float)p) : 1.0f;
        }
    free(noise);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Cubes                                                               */

struct synth_ws {
    int nx, ny, h;
    double *white, *tmp;
    double *profile; /* the source's beam profile, cached per geometry */
    double key[5];
    gsl_rng *r;
};

struct synth_ws *synth_ws_alloc(int nx, int ny)
{
    struct synth_ws *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->nx = nx;
    w->ny = ny;
    w->h = 16; /* enough for beams up to ~9 pixels */
    size_t wx = (size_t)nx + 2 * (size_t)w->h, wy = (size_t)ny + 2 * w->h;
    w->white = malloc(wx * wy * sizeof *w->white);
    w->tmp = malloc(wx * wy * sizeof *w->tmp);
    w->profile = malloc((size_t)nx * (size_t)ny * sizeof *w->profile);
    w->key[0] = NAN;
    w->r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!w->white || !w->tmp || !w->profile || !w->r) {
        synth_ws_free(w);
        return NULL;
    }
    return w;
}

void synth_ws_free(struct synth_ws *w)
{
    if (!w)
        return;
    free(w->white);
    free(w->tmp);
    free(w->profile);
    gsl_rng_free(w->r);
    free(w);
}

double synth_cube_cont(const struct synth_cube *s, long k)
{
    double nu = s->freq0_hz + (double)k * s->dfreq_hz;
    return s->cont_jy * pow(nu / s->freq0_hz, s->spix);
}

double synth_cube_tau(const struct synth_cube *s, double k)
{
    double t = 0;
    for (int i = 0; i < s->nlines; i++) {
        double u = (k - s->lines[i].centre_ch) / s->lines[i].fwhm_ch;
        t += s->lines[i].tau0 * exp(-4.0 * log(2.0) * u * u);
    }
    return t;
}

int synth_cube_plane(const struct synth_cube *s, long k, float *plane,
                     struct synth_ws *w)
{
    int nx = s->nx, ny = s->ny;
    /* Separable kernel: beam / sqrt(2), major axis along y (PA 0). */
    double sx = s->bmin_arcsec / M_SQRT2 / FWHM_SIGMA / s->cell_arcsec;
    double sy = s->bmaj_arcsec / M_SQRT2 / FWHM_SIGMA / s->cell_arcsec;
    int hx = (int)ceil(4 * sx), hy = (int)ceil(4 * sy);
    if (hx > w->h || hy > w->h)
        return -1;
    /* white noise only where the kernel reaches */
    int h = hx > hy ? hx : hy;
    int wx = nx + 2 * h, wy = ny + 2 * h;
    double kx[33], ky[33], nx2 = 0, ny2 = 0;
    for (int i = -hx; i <= hx; i++) {
        kx[i + hx] = exp(-0.5 * i * i / (sx * sx));
        nx2 += kx[i + hx] * kx[i + hx];
    }
    for (int j = -hy; j <= hy; j++) {
        ky[j + hy] = exp(-0.5 * j * j / (sy * sy));
        ny2 += ky[j + hy] * ky[j + hy];
    }
    double norm = 1.0 / sqrt(nx2 * ny2);
    gsl_rng_set(w->r, s->seed * 7919UL + (unsigned long)k * 104729UL + 1UL);
    for (size_t i = 0; i < (size_t)wx * (size_t)wy; i++)
        w->white[i] = gsl_ran_gaussian_ziggurat(w->r, 1.0);
    /* along x into tmp (rows h-hy .. ), then along y */
    for (int y = 0; y < wy; y++)
        for (int x = 0; x < nx; x++) {
            double acc = 0;
            const double *wr = w->white + (size_t)y * wx + x + h - hx;
            for (int i = 0; i <= 2 * hx; i++)
                acc += kx[i] * wr[i];
            w->tmp[(size_t)y * wx + x] = acc;
        }
    double key[5] = {s->bmaj_arcsec, s->bmin_arcsec, s->cell_arcsec, s->x_pix,
                     s->y_pix};
    if (memcmp(key, w->key, sizeof key)) {
        double P[3];
        precision(s->bmaj_arcsec, s->bmin_arcsec, 0.0, s->cell_arcsec, P);
        for (int y = 0; y < ny; y++)
            for (int x = 0; x < nx; x++)
                w->profile[(size_t)y * nx + x] =
                    gauss_at(P, x - s->x_pix, y - s->y_pix);
        memcpy(w->key, key, sizeof key);
    }
    double S = synth_cube_cont(s, k) * exp(-synth_cube_tau(s, (double)k));
    for (int y = 0; y < ny; y++)
        for (int x = 0; x < nx; x++) {
            double acc = 0;
            for (int j = 0; j <= 2 * hy; j++)
                acc += ky[j] * w->tmp[(size_t)(y + h - hy + j) * wx + x];
            double sky = S * w->profile[(size_t)y * nx + x];
            plane[(size_t)y * nx + x] = (float)(sky + s->rms_jy * norm * acc);
        }
    return 0;
}

int synth_cube_render(const struct synth_cube *s, float *cube)
{
    struct synth_ws *w = synth_ws_alloc(s->nx, s->ny);
    if (!w)
        return -1;
    size_t np = (size_t)s->nx * (size_t)s->ny;
    int rc = 0;
    for (long k = 0; k < s->nchan && !rc; k++)
        rc = synth_cube_plane(s, k, cube + (size_t)k * np, w);
    synth_ws_free(w);
    if (!rc && s->hanning && s->nchan > 2) {
        float *prev = malloc(np * sizeof *prev),
              *cur = malloc(np * sizeof *cur);
        if (!prev || !cur) {
            free(prev);
            free(cur);
            return -1;
        }
        memcpy(prev, cube, np * sizeof *prev);
        for (long k = 1; k + 1 < s->nchan; k++) {
            float *c = cube + (size_t)k * np, *nx = c + np;
            memcpy(cur, c, np * sizeof *cur);
            for (size_t i = 0; i < np; i++)
                c[i] = 0.25f * prev[i] + 0.5f * cur[i] + 0.25f * nx[i];
            memcpy(prev, cur, np * sizeof *prev);
        }
        free(prev);
        free(cur);
    }
    return rc;
}
