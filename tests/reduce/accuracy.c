/*
 * accuracy.c - the reduction against synthetic data with known truth
 * (issue 5 acceptance). Three modes, each a ctest test:
 *
 *   accuracy flux   >= 500 images, synthesis-image noise, sub-pixel
 *                   offsets, varied beams, half with a primary beam:
 *                   flux bias < 1%, pull std in [0.9, 1.1] at SNR >= 20.
 *   accuracy alpha  4-spw Band 3 setups at SNR >= 100: spectral-index bias
 *                   < 0.02, pull std in [0.9, 1.1].
 *   accuracy absorb cubes with absorption lines, white and Hanning-
 *                   smoothed channels: in each depth bin >= 10 sigma
 *                   (10-15, 15-25, 25-60) the 90th percentile of
 *                   |tau_peak/true - 1| <= 10% (Hanning 10-15 sigma:
 *                   16%, see p90_max) and its mean within 2%; the
 *                   integrated optical depth tau_int within 2% on
 *                   average, its pull std in [0.85, 1.2];
 *                   completeness >= 95% at 7 sigma; at most 1 false
 *                   detection per 1000 line-free cubes (--n of each kind).
 *
 * Options: --n N (sample size; absorb: line-free cubes of each kind),
 * absorb only: --ntau N (lines per depth bin and kind, 300) and --n7 N
 * (7-sigma lines per kind, 400); --seed S, --smoke (small samples for the
 * sanitizer build: every path runs, the statistical criteria are printed
 * but not enforced). Prints the figures and exits 1 when a criterion
 * fails. Deterministic for a given seed.
 */
#include "synth.h"

#include "src/reduce/absorb.h"
#include "src/reduce/cube.h"
#include "src/reduce/flux.h"
#include "src/reduce/sed.h"
#include "src/result.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;
static int smoke; /* --smoke: small samples, statistics not enforced */
static int n_tau = -1, n_7 = -1; /* absorb: --ntau, --n7 sample sizes */

static void check(int ok, const char *fmt, double v, double lo, double hi)
{
    printf("  %-52s %10.4f  [%g, %g]  %s\n", fmt, v, lo, hi,
           ok      ? "ok"
           : smoke ? "(not enforced: --smoke)"
                   : "FAIL");
    if (!ok && !smoke)
        failures++;
}

/* A check that holds whatever the sample size (nothing lost). */
static void must(int ok, const char *what, double v)
{
    printf("  %-52s %10.4f  %s\n", what, v, ok ? "ok" : "FAIL");
    if (!ok)
        failures++;
}

struct stats {
    double *v;
    size_t n, cap;
};

static void push(struct stats *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            abort();
    }
    s->v[s->n++] = x;
}

static void drop(struct stats *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static double mean(const struct stats *s)
{
    double m = 0;
    for (size_t i = 0; i < s->n; i++)
        m += s->v[i];
    return s->n ? m / (double)s->n : NAN;
}

static double stdev(const struct stats *s)
{
    double m = mean(s), q = 0;
    for (size_t i = 0; i < s->n; i++)
        q += (s->v[i] - m) * (s->v[i] - m);
    return s->n > 1 ? sqrt(q / (double)(s->n - 1)) : NAN;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pctl(const struct stats *s, double p)
{
    if (!s->n)
        return NAN;
    double *c = malloc(s->n * sizeof *c);
    memcpy(c, s->v, s->n * sizeof *c);
    qsort(c, s->n, sizeof *c, cmpd);
    double r = c[(size_t)fmin((double)(s->n - 1), floor(p * (double)s->n))];
    free(c);
    return r;
}

/* A SIN WCS with square pixels, RA to the left, phase centre at (cx,cy). */
static void make_wcs(struct asw_wcs *w, double cell, double cx, double cy)
{
    double crval[2] = {187.5, -21.25}, crpix[2] = {cx + 1, cy + 1};
    double cdelt[2] = {-cell / 3600.0, cell / 3600.0};
    asw_wcs_set(w, "RA---SIN", crval, crpix, cdelt, NULL, NULL, NAN);
}

/* ------------------------------------------------------------------ */

struct img_case {
    struct synth_image s;
    int use_pb;
};

/* Measure one synthetic image; 0 if a flux was measured. */
static int measure_image(const struct img_case *c, struct asw_image *row,
                         float *img, float *pb)
{
    const struct synth_image *s = &c->s;
    if (synth_image_render(s, img, pb))
        abort();
    struct asw_sky_image im = {
        .data = img,
        .pb = c->use_pb ? pb : NULL,
        .nx = s->nx,
        .ny = s->ny,
        .y_lo = 0,
        .nrows = s->ny,
        .bmaj_arcsec = s->bmaj_arcsec,
        .bmin_arcsec = s->bmin_arcsec,
        .bpa_deg = s->bpa_deg,
        .phase_ra_deg = NAN,
        .phase_dec_deg = NAN,
        .pbcor = c->use_pb,
    };
    make_wcs(&im.wcs, s->cell_arcsec, s->cx, s->cy);
    asw_image_init(row);
    struct asw_err err = {0};
    if (asw_reduce_image(&im, NULL, row, &err)) {
        fprintf(stderr, "reduce: %s\n", err.msg);
        return -1;
    }
    if (row->qa_flags & (ASW_QA_NOT_FOUND | ASW_QA_FIT_FAILED))
        return -1;
    return 0;
}

static void random_image(struct synth_rng *r, struct img_case *c, int npix,
                         double snr_lo, double snr_hi, int allow_extended)
{
    struct synth_image *s = &c->s;
    memset(c, 0, sizeof *c);
    s->nx = s->ny = npix;
    s->bmin_arcsec = 1.0;
    s->bmaj_arcsec = s->bmin_arcsec / synth_uniform(r, 0.6, 1.0);
    s->bpa_deg = synth_uniform(r, -90, 90);
    s->cell_arcsec = s->bmin_arcsec / synth_uniform(r, 3.5, 7.0);
    s->cx = s->cy = npix / 2;
    s->x_pix = s->cx + synth_uniform(r, -0.5, 0.5);
    s->y_pix = s->cy + synth_uniform(r, -0.5, 0.5);
    s->flux_jy = synth_uniform(r, 0.1, 5.0);
    s->extent_arcsec = (allow_extended && synth_uniform(r, 0, 1) < 0.2)
                           ? synth_uniform(r, 0.2, 1.0) * s->bmin_arcsec
                           : 0.0;
    double snr = exp(synth_uniform(r, log(snr_lo), log(snr_hi)));
    s->rms_jy = synth_image_peak(s) / snr;
    c->use_pb = synth_uniform(r, 0, 1) < 0.5;
    s->pb_fwhm_arcsec =
        c->use_pb ? synth_uniform(r, 10, 30) * s->bmaj_arcsec : 0.0;
    s->pblimit = 0.2;
    s->seed = synth_ulong(r);
}

static int run_flux(int n, unsigned long seed)
{
    int npix = 128;
    struct synth_rng *r = synth_rng_alloc(seed);
    float *img = malloc((size_t)npix * npix * sizeof *img);
    float *pb = malloc((size_t)npix * npix * sizeof *pb);
    struct stats rel = {0}, pull = {0}, prel = {0}, rms = {0}, pra = {0},
                 pdec = {0}, bin_pull[3] = {{0}}, bin_rel[3] = {{0}};
    int lost = 0;
    for (int i = 0; i < n; i++) {
        struct img_case c;
        random_image(r, &c, npix, 20.0, 2000.0, 1);
        struct asw_image row;
        if (measure_image(&c, &row, img, pb)) {
            lost++;
            continue;
        }
        const struct synth_image *s = &c.s;
        double t = s->flux_jy;
        push(&rel, row.flux_jy / t - 1.0);
        double p = (row.flux_jy - t) / row.flux_err_jy;
        push(&pull, p);
        double snr = row.snr;
        int b = snr < 50 ? 0 : snr < 200 ? 1 : 2;
        push(&bin_pull[b], p);
        push(&bin_rel[b], row.flux_jy / t - 1.0);
        if (s->extent_arcsec == 0)
            push(&prel, row.peak_jy / synth_image_peak(s) - 1.0);
        /* noise at the source on the image's scale */
        double pbs = 1.0;
        if (c.use_pb) {
            double dx = (double)lround(row.peak_x_pix) - s->cx;
            double dy = (double)lround(row.peak_y_pix) - s->cy;
            double k = 4 * log(2.0) * s->cell_arcsec * s->cell_arcsec /
                       (s->pb_fwhm_arcsec * s->pb_fwhm_arcsec);
            pbs = exp(-k * (dx * dx + dy * dy));
        }
        push(&rms, row.rms_jy / (s->rms_jy / pbs) - 1.0);
        struct asw_wcs w;
        make_wcs(&w, s->cell_arcsec, s->cx, s->cy);
        double ra, dec;
        asw_wcs_pix2world(&w, s->x_pix, s->y_pix, &ra, &dec);
        double dra = (row.ra_deg - ra) * cos(dec * M_PI / 180) * 3600;
        push(&pra, dra / row.ra_err_arcsec);
        push(&pdec, (row.dec_deg - dec) * 3600 / row.dec_err_arcsec);
    }
    printf("flux accuracy: %d images (%d not measured), 128x128, SNR 20-2000 "
           "log-uniform, 3.5-7 px per beam minor, 20%% slightly resolved, "
           "50%% with PB\n",
           n, lost);
    static const char *bins[3] = {"20-50", "50-200", "200-2000"};
    for (int b = 0; b < 3; b++)
        printf("  SNR %-9s n=%4zu  bias %+7.3f%%  pull mean %+6.3f std "
               "%6.3f\n",
               bins[b], bin_rel[b].n, 100 * mean(&bin_rel[b]),
               mean(&bin_pull[b]), stdev(&bin_pull[b]));
    printf("  peak bias (point sources) %+.3f%% (std %.3f%%), rms bias "
           "%+.2f%% (std %.2f%%)\n",
           100 * mean(&prel), 100 * stdev(&prel), 100 * mean(&rms),
           100 * stdev(&rms));
    printf("  position pull std: RA %.3f  Dec %.3f\n", stdev(&pra),
           stdev(&pdec));
    must(lost == 0, "images not measured", lost);
    check(fabs(mean(&rel)) < 0.01, "flux bias (fraction)", mean(&rel), -0.01,
          0.01);
    double ps = stdev(&pull);
    check(ps >= 0.9 && ps <= 1.1, "flux pull std", ps, 0.9, 1.1);
    check(fabs(mean(&pull)) < 0.15, "flux pull mean", mean(&pull), -0.15, 0.15);
    struct stats *all[] = {&rel, &pull, &prel, &rms, &pra, &pdec};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        drop(all[i]);
    for (int b = 0; b < 3; b++) {
        drop(&bin_pull[b]);
        drop(&bin_rel[b]);
    }
    free(img);
    free(pb);
    synth_rng_free(r);
    return 0;
}

/* ------------------------------------------------------------------ */

static int run_alpha(int n, unsigned long seed)
{
    static const double nu[4] = {90.5e9, 92.5e9, 102.5e9, 104.5e9};
    int npix = 128;
    struct synth_rng *r = synth_rng_alloc(seed);
    float *img = malloc((size_t)npix * npix * sizeof *img);
    float *pb = malloc((size_t)npix * npix * sizeof *pb);
    struct stats d = {0}, pull = {0}, sys = {0}, fref = {0}, aerr = {0};
    int lost = 0;
    double min_snr = INFINITY;
    for (int i = 0; i < n; i++) {
        double alpha = synth_uniform(r, -1.2, 0.3);
        double s0 = synth_uniform(r, 0.2, 3.0); /* at 97.5 GHz */
        double bmin0 = 1.0, bmaj0 = bmin0 / synth_uniform(r, 0.6, 1.0);
        double bpa = synth_uniform(r, -90, 90);
        double cell = bmin0 * nu[0] / nu[3] / 5.0;
        double dx = synth_uniform(r, -0.5, 0.5),
               dy = synth_uniform(r, -0.5, 0.5);
        int use_pb = synth_uniform(r, 0, 1) < 0.5;
        double pbf = synth_uniform(r, 10, 30) * bmaj0;
        double smin = INFINITY;
        for (int k = 0; k < 4; k++)
            smin = fmin(smin, s0 * pow(nu[k] / 97.5e9, alpha));
        double snr = exp(synth_uniform(r, log(100.0), log(1000.0)));
        double rmsj = smin / snr; /* every spw at SNR >= 100 */
        struct asw_sed_point pts[4];
        int ok = 1;
        for (int k = 0; k < 4 && ok; k++) {
            struct img_case c = {0};
            struct synth_image *s = &c.s;
            double sc = nu[0] / nu[k];
            s->nx = s->ny = npix;
            s->cell_arcsec = cell;
            s->bmaj_arcsec = bmaj0 * sc;
            s->bmin_arcsec = bmin0 * sc;
            s->bpa_deg = bpa;
            s->cx = s->cy = npix / 2;
            s->x_pix = s->cx + dx;
            s->y_pix = s->cy + dy;
            s->flux_jy = s0 * pow(nu[k] / 97.5e9, alpha);
            s->rms_jy = rmsj;
            c.use_pb = use_pb;
            s->pb_fwhm_arcsec = use_pb ? pbf * sc : 0.0;
            s->pblimit = 0.2;
            s->seed = synth_ulong(r);
            struct asw_image row;
            if (measure_image(&c, &row, img, pb)) {
                ok = 0;
                break;
            }
            min_snr = fmin(min_snr, row.snr);
            pts[k] =
                (struct asw_sed_point){nu[k], row.flux_jy, row.flux_err_jy};
        }
        struct asw_sed sed;
        asw_sed_init(&sed);
        if (!ok || asw_sed_fit(pts, 4, ASW_SED_SPW_SCATTER, &sed, NULL)) {
            lost++;
            continue;
        }
        push(&d, sed.alpha - alpha);
        push(&pull, (sed.alpha - alpha) / sed.alpha_err);
        push(&sys, sed.alpha_sys_err / sed.alpha_err);
        push(&aerr, sed.alpha_err);
        double st = s0 * pow(sed.ref_freq_hz / 97.5e9, alpha);
        push(&fref, (sed.flux_ref_jy - st) / sed.flux_ref_err_jy);
    }
    printf("spectral index: %d 4-spw Band 3 setups (90.5, 92.5, 102.5, "
           "104.5 GHz; %d lost), alpha -1.2..0.3, lowest measured SNR %.0f\n",
           n, lost, min_snr);
    printf("  alpha error: median stat %.4f, sys/stat median %.2f; flux_ref "
           "pull std %.3f\n",
           pctl(&aerr, 0.5), pctl(&sys, 0.5), stdev(&fref));
    must(lost == 0, "setups not measured", lost);
    check(fabs(mean(&d)) < 0.02, "alpha bias", mean(&d), -0.02, 0.02);
    double ps = stdev(&pull);
    check(ps >= 0.9 && ps <= 1.1, "alpha pull std", ps, 0.9, 1.1);
    drop(&d);
    drop(&pull);
    drop(&sys);
    drop(&fref);
    drop(&aerr);
    free(img);
    free(pb);
    synth_rng_free(r);
    return 0;
}

/* ------------------------------------------------------------------ */

struct memcube {
    const float *data;
    long nx, ny;
};

static int mem_read(void *ctx, long chan, long y0, long nrows, float *buf,
                    struct asw_err *err)
{
    (void)err;
    const struct memcube *m = ctx;
    size_t np = (size_t)m->nx * (size_t)m->ny;
    memcpy(buf, m->data + (size_t)chan * np + (size_t)y0 * (size_t)m->nx,
           (size_t)nrows * (size_t)m->nx * sizeof *buf);
    return 0;
}

#define NCH 256

/* Reduce one synthetic cube: the lines found. */
static size_t reduce_cube(const struct synth_cube *s, float *cube,
                          struct asw_line *lines, double *noise_ratio)
{
    if (synth_cube_render(s, cube))
        abort();
    struct memcube mc = {cube, s->nx, s->ny};
    struct asw_sky_cube c = {
        .nx = s->nx,
        .ny = s->ny,
        .nchan = s->nchan,
        .bmaj_arcsec = s->bmaj_arcsec,
        .bmin_arcsec = s->bmin_arcsec,
        .bpa_deg = 0,
        .phase_ra_deg = NAN,
        .phase_dec_deg = NAN,
        .read = mem_read,
        .ctx = &mc,
    };
    make_wcs(&c.wcs, s->cell_arcsec, s->cx, s->cy);
    double freq[NCH], flux[NCH], ap[NCH], noise[NCH], cont[NCH], nout[NCH],
        tau[NCH];
    for (int k = 0; k < s->nchan; k++)
        freq[k] = s->freq0_hz + k * s->dfreq_hz;
    struct asw_image row;
    asw_image_init(&row);
    struct asw_err err = {0};
    if (asw_reduce_cube(&c, NULL, &row, flux, ap, noise, &err)) {
        fprintf(stderr, "cube: %s\n", err.msg);
        abort();
    }
    size_t nl = 0;
    if (asw_absorb_analyse(freq, flux, noise, (size_t)s->nchan, NULL, cont,
                           nout, tau, lines, ASW_ABSORB_MAX_LINES, &nl, &err)) {
        fprintf(stderr, "absorb: %s\n", err.msg);
        abort();
    }
    if (noise_ratio)
        *noise_ratio = nout[NCH / 2] / s->rms_jy;
    return nl;
}

static void random_cube(struct synth_rng *r, struct synth_cube *s)
{
    memset(s, 0, sizeof *s);
    s->nx = s->ny = 32;
    s->nchan = NCH;
    s->cell_arcsec = 1.0;
    s->bmin_arcsec = 2.6;
    s->bmaj_arcsec = 2.6 * synth_uniform(r, 1.0, 1.3);
    s->cx = s->cy = 16;
    s->x_pix = s->cx + synth_uniform(r, -0.5, 0.5);
    s->y_pix = s->cy + synth_uniform(r, -0.5, 0.5);
    s->cont_jy = synth_uniform(r, 0.3, 3.0);
    s->spix = synth_uniform(r, -1.0, 0.0);
    s->freq0_hz = 89.18e9; /* HCO+ (89.188526 GHz) near channel 140 */
    s->dfreq_hz = 61.035e3;
    s->rms_jy = s->cont_jy / synth_uniform(r, 100, 400);
    s->seed = synth_ulong(r);
}

/* The pixel nearest the source: its beam response, as the peak-pixel
 * spectrum sees the source (major axis along y, PA 0). */
static double peak_pixel_response(const struct synth_cube *s)
{
    double dx = (s->x_pix - floor(s->x_pix + 0.5)) * s->cell_arcsec;
    double dy = (s->y_pix - floor(s->y_pix + 0.5)) * s->cell_arcsec;
    return exp(-4 * log(2.0) *
               (dx * dx / (s->bmin_arcsec * s->bmin_arcsec) +
                dy * dy / (s->bmaj_arcsec * s->bmaj_arcsec)));
}

/*
 * The depth of s's lines as the data show it, in units of the channel
 * noise of the data: the deepest channel of the noiseless peak-pixel
 * spectrum below its continuum, after the (1/4, 1/2, 1/4) smoothing when
 * s->hanning (which also brings the channel noise to sqrt(3/8) of
 * rms_jy). This is the "N sigma" of the acceptance criteria: the line
 * before smoothing, or its continuous peak between channels, would be
 * deeper than anything in the spectrum.
 */
static double observed_depth(const struct synth_cube *s)
{
    double sig = s->rms_jy * (s->hanning ? sqrt(0.375) : 1.0), best = 0;
    for (long k = 1; k + 1 < s->nchan; k++) {
        double d[3];
        for (int j = -1; j <= 1; j++)
            d[j + 1] = synth_cube_cont(s, k + j) *
                       (1 - exp(-synth_cube_tau(s, (double)(k + j))));
        double v = s->hanning ? 0.25 * d[0] + 0.5 * d[1] + 0.25 * d[2] : d[1];
        best = fmax(best, v);
    }
    return peak_pixel_response(s) * best / sig;
}

/* Give s one line (FWHM min_fwhm..8 channels) of observed depth
 * depth_sigma (observed_depth). */
static void add_line(struct synth_rng *r, struct synth_cube *s,
                     double depth_sigma, double min_fwhm)
{
    struct synth_line *L = &s->lines[s->nlines++];
    L->centre_ch = synth_uniform(r, 30, NCH - 30);
    L->fwhm_ch = synth_uniform(r, min_fwhm, 8.0);
    double lo = 0, hi = 10;
    for (int it = 0; it < 60; it++) {
        L->tau0 = 0.5 * (lo + hi);
        if (observed_depth(s) < depth_sigma)
            lo = L->tau0;
        else
            hi = L->tau0;
    }
    L->tau0 = 0.5 * (lo + hi);
}

/* The integral of the line's optical depth over velocity (km/s): the
 * Gaussian's tau0 FWHM sqrt(pi / (4 ln 2)) in channels, times the
 * channel width in radio velocity at HCO+'s rest frequency. */
static double true_tau_int(const struct synth_line *L, double dfreq_hz)
{
    double dv = 299792.458 * fabs(dfreq_hz) / 89.188526e9;
    return L->tau0 * L->fwhm_ch * sqrt(M_PI / (4 * log(2.0))) * dv;
}

/* The detected line that covers the true centre, or NULL. */
static const struct asw_line *match(const struct asw_line *l, size_t n,
                                    const struct synth_line *t)
{
    for (size_t i = 0; i < n; i++)
        if (t->centre_ch >= l[i].chan_lo - 1.0 &&
            t->centre_ch <= l[i].chan_hi + 1.0)
            return &l[i];
    return NULL;
}

#define NBIN 3
static const double bin_lo[NBIN] = {10, 15, 25}, bin_hi[NBIN] = {15, 25, 60};
static const char *kind_name[2] = {"white", "Hanning"};

/*
 * The bound on the 90th percentile of |tau_peak/true - 1| per kind and
 * bin: the acceptance's 10%, except for Hanning-smoothed cubes at 10-15
 * sigma. There tau_peak is the line's before the smoothing, which the
 * spectrum constrains less than its depth suggests: the fit with known
 * continuum, noise and response (the best any estimator does) gives 14%
 * (tests/reduce/tau_bound.py, docs/science.md). That bin is guarded against
 * regression, not held to 10%.
 */
static const double p90_max[2][NBIN] = {{0.10, 0.10, 0.10}, {0.16, 0.10, 0.10}};

/*
 * The bounds on tau_int per bin and kind: |bias| (mean of tau_int/true -
 * 1) and the pull std. Over seeds 20250501, 7 and 12 (300 lines per bin
 * and kind) the biases were -0.6% to +1.0% (the mean's own standard error
 * is 0.5% at white 10-15 sigma, 0.7% at Hanning 10-15 sigma) and the pull
 * std 0.99-1.10 (docs/science.md). The pull bounds leave room for the
 * scatter of a std from 300 lines (about 4%) beyond what was measured.
 */
#define TAU_INT_BIAS_MAX 0.02
#define TAU_INT_PULL_MIN 0.85
#define TAU_INT_PULL_MAX 1.2

/* tau_peak and tau_int accuracy in one depth bin of one kind of cube. */
struct tau_bin {
    struct stats rel, arel, pull;
    struct stats irel, ipull; /* tau_int: tau_int/true - 1, pull */
    int miss, extra;
};

static int run_absorb(int n_false, unsigned long seed)
{
    struct synth_rng *r = synth_rng_alloc(seed);
    float *cube = malloc((size_t)32 * 32 * NCH * sizeof *cube);
    struct asw_line lines[ASW_ABSORB_MAX_LINES];
    int na = n_tau >= 0 ? n_tau : smoke ? 10 : 300;
    int nb = n_7 >= 0 ? n_7 : smoke ? 20 : 400;
    struct tau_bin tb[2][NBIN];
    memset(tb, 0, sizeof tb);
    struct stats dv = {0}, noise = {0};
    int id_ok = 0, id_n = 0;
    /* (a) tau_peak per depth bin (log-uniform within it), both kinds */
    for (int h = 0; h < 2; h++)
        for (int b = 0; b < NBIN; b++)
            for (int i = 0; i < na; i++) {
                struct synth_cube s;
                random_cube(r, &s);
                s.hanning = h;
                double depth =
                    exp(synth_uniform(r, log(bin_lo[b]), log(bin_hi[b])));
                add_line(r, &s, depth, 2.0);
                double nr;
                size_t nl = reduce_cube(&s, cube, lines, &nr);
                const struct asw_line *m = match(lines, nl, &s.lines[0]);
                struct tau_bin *t = &tb[h][b];
                t->extra += (int)nl - (m != NULL);
                if (!m) {
                    t->miss++;
                    continue;
                }
                double rel = m->tau_peak / s.lines[0].tau0 - 1.0;
                push(&t->rel, rel);
                push(&t->arel, fabs(rel));
                push(&t->pull,
                     (m->tau_peak - s.lines[0].tau0) / m->tau_peak_err);
                double ti = true_tau_int(&s.lines[0], s.dfreq_hz);
                push(&t->irel, m->tau_int_kms / ti - 1.0);
                push(&t->ipull, (m->tau_int_kms - ti) / m->tau_int_err_kms);
                if (h)
                    continue;
                push(&noise, nr - 1.0);
                /* velocity of the true centre, radio convention */
                double nu = s.freq0_hz + s.lines[0].centre_ch * s.dfreq_hz;
                double vt = 299792.458 * (89.188526e9 - nu) / 89.188526e9;
                id_n++;
                if (!strcmp(m->species, "HCO+")) {
                    id_ok++;
                    push(&dv, fabs(m->v_lsrk_kms - vt) /
                                  (299792.458 * s.dfreq_hz / 89.188526e9));
                }
            }
    /* (b) completeness at 7 sigma, (c) false features in line-free
     * cubes, both kinds */
    int found[2] = {0, 0}, bextra[2] = {0, 0};
    int nfalse[2] = {0, 0}, cubes_false[2] = {0, 0};
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < nb; i++) {
            struct synth_cube s;
            random_cube(r, &s);
            s.hanning = h;
            add_line(r, &s, 7.0, 2.0);
            size_t nl = reduce_cube(&s, cube, lines, NULL);
            const struct asw_line *m = match(lines, nl, &s.lines[0]);
            found[h] += m != NULL;
            bextra[h] += (int)nl - (m != NULL);
        }
        for (int i = 0; i < n_false; i++) {
            struct synth_cube s;
            random_cube(r, &s);
            s.hanning = h;
            size_t nl = reduce_cube(&s, cube, lines, NULL);
            nfalse[h] += (int)nl;
            cubes_false[h] += nl > 0;
        }
    }
    printf("absorption: 32x32x%d cubes, beam 2.6-3.4 px, continuum/noise "
           "100-400 per channel, line FWHM 2-8 channels; depth = the "
           "deepest channel of the noiseless observed spectrum / channel "
           "noise\n",
           NCH);
    printf("  (a) tau_peak, %d lines per depth bin and kind:\n", na);
    for (int h = 0; h < 2; h++)
        for (int b = 0; b < NBIN; b++) {
            struct tau_bin *t = &tb[h][b];
            printf("      %-7s %2.0f-%2.0f sigma: %d missed, %d extra; bias "
                   "%+6.2f%%, |err| median %5.2f%%, 68%% %5.2f%%, 90%% "
                   "%5.2f%%, max %6.2f%%; pull std %.3f\n",
                   kind_name[h], bin_lo[b], bin_hi[b], t->miss, t->extra,
                   100 * mean(&t->rel), 100 * pctl(&t->arel, 0.5),
                   100 * pctl(&t->arel, 0.68), 100 * pctl(&t->arel, 0.9),
                   100 * pctl(&t->arel, 1.0), stdev(&t->pull));
            printf("      %-7s %2.0f-%2.0f sigma: tau_int bias %+6.2f%%, "
                   "median %+6.2f%%, std %5.2f%%; pull mean %+.3f std %.3f\n",
                   kind_name[h], bin_lo[b], bin_hi[b], 100 * mean(&t->irel),
                   100 * pctl(&t->irel, 0.5), 100 * stdev(&t->irel),
                   mean(&t->ipull), stdev(&t->ipull));
        }
    printf("      HCO+ identified %d of %d, |dv| max %.3f channels; channel "
           "noise / true: mean %+.2f%% std %.2f%%\n",
           id_ok, id_n, pctl(&dv, 1.0), 100 * mean(&noise),
           100 * stdev(&noise));
    for (int h = 0; h < 2; h++) {
        if (nb > 0)
            printf("  (b) %-7s %d lines of depth 7 sigma: %d found (%.1f%%), "
                   "%d extra\n",
                   kind_name[h], nb, found[h], 100.0 * found[h] / nb,
                   bextra[h]);
        printf("  (c) %-7s %d line-free cubes: %d false features in %d "
               "cubes\n",
               kind_name[h], n_false, nfalse[h], cubes_false[h]);
    }
    for (int h = 0; h < 2; h++) {
        char what[80];
        /* A sample asked to be empty (--ntau 0, --n7 0) is not checked. */
        for (int b = 0; b < NBIN && na > 0; b++) {
            struct tau_bin *t = &tb[h][b];
            snprintf(what, sizeof what, "(a) %s %.0f-%.0f sigma: missed",
                     kind_name[h], bin_lo[b], bin_hi[b]);
            check(t->miss == 0, what, t->miss, 0, 0);
            /* "Within 10%" as a measurement's 1-sigma error: the 68th
             * percentile of the relative error, in every bin. */
            snprintf(what, sizeof what,
                     "(a) %s %.0f-%.0f sigma: 68%% |tau/true - 1|",
                     kind_name[h], bin_lo[b], bin_hi[b]);
            check(pctl(&t->arel, 0.68) <= 0.10, what, pctl(&t->arel, 0.68), 0,
                  0.10);
            snprintf(what, sizeof what,
                     "(a) %s %.0f-%.0f sigma: 90%% |tau/true - 1|%s",
                     kind_name[h], bin_lo[b], bin_hi[b],
                     p90_max[h][b] > 0.10 ? " (guard)" : "");
            check(pctl(&t->arel, 0.9) <= p90_max[h][b], what,
                  pctl(&t->arel, 0.9), 0, p90_max[h][b]);
            snprintf(what, sizeof what,
                     "(a) %s %.0f-%.0f sigma: bias tau_peak/true - 1",
                     kind_name[h], bin_lo[b], bin_hi[b]);
            check(fabs(mean(&t->rel)) <= 0.02, what, mean(&t->rel), -0.02,
                  0.02);
            snprintf(what, sizeof what,
                     "(a) %s %.0f-%.0f sigma: bias tau_int/true - 1",
                     kind_name[h], bin_lo[b], bin_hi[b]);
            check(fabs(mean(&t->irel)) <= TAU_INT_BIAS_MAX, what,
                  mean(&t->irel), -TAU_INT_BIAS_MAX, TAU_INT_BIAS_MAX);
            snprintf(what, sizeof what,
                     "(a) %s %.0f-%.0f sigma: tau_int pull std", kind_name[h],
                     bin_lo[b], bin_hi[b]);
            double ps = stdev(&t->ipull);
            check(ps >= TAU_INT_PULL_MIN && ps <= TAU_INT_PULL_MAX, what, ps,
                  TAU_INT_PULL_MIN, TAU_INT_PULL_MAX);
        }
        snprintf(what, sizeof what, "(b) %s completeness at 7 sigma",
                 kind_name[h]);
        if (nb > 0)
            check((double)found[h] / nb >= 0.95, what, (double)found[h] / nb,
                  0.95, 1);
        snprintf(what, sizeof what, "(c) %s false per 1000 line-free cubes",
                 kind_name[h]);
        if (n_false > 0)
            check(nfalse[h] * 1000.0 / n_false <= 1.0, what,
                  nfalse[h] * 1000.0 / n_false, 0, 1);
    }
    for (int h = 0; h < 2; h++)
        for (int b = 0; b < NBIN; b++) {
            drop(&tb[h][b].rel);
            drop(&tb[h][b].arel);
            drop(&tb[h][b].pull);
            drop(&tb[h][b].irel);
            drop(&tb[h][b].ipull);
        }
    drop(&dv);
    drop(&noise);
    free(cube);
    synth_rng_free(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s flux|alpha|absorb [--n N] [--seed S]\n",
                argv[0]);
        return 2;
    }
    int n = -1;
    unsigned long seed = 20250501;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke"))
            smoke = 1;
        else if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ntau") && i + 1 < argc)
            n_tau = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--n7") && i + 1 < argc)
            n_7 = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoul(argv[++i], NULL, 10);
    }
    clock_t t0 = clock();
    if (!strcmp(argv[1], "flux"))
        run_flux(n > 0 ? n : 600, seed);
    else if (!strcmp(argv[1], "alpha"))
        run_alpha(n > 0 ? n : 300, seed + 1);
    else if (!strcmp(argv[1], "absorb"))
        run_absorb(n > 0 ? n : 1000, seed + 2);
    else
        return 2;
    printf("%s: %s (%.1f s CPU)\n", argv[1], failures ? "FAILED" : "passed",
           (double)(clock() - t0) / CLOCKS_PER_SEC);
    return failures ? 1 : 0;
}
