/*
 * make_catalogue.c - a synthetic catalogue with every table populated, for
 * the report test: written through the catalogue API (asw_cat_put_result)
 * like a sweep writes it, so that every plot of the report has data even
 * before the reduction fills every column.
 *
 *   asw-report-catalogue OUT.h5
 *
 * Contents (deterministic): two runs; 12 done units over four sources
 * (one with a hostile name that the page must escape), Bands 3, 6 and 7,
 * 2019-2024; images with QA flags, one failed fit and one unmeasured
 * image; per unit and source an SED fit; two cube spectra of one source
 * with HCO+ and HCN absorption (one line saturated) and one spectrum
 * without a line; three failed units with different reasons and one
 * interrupted unit.
 */
#include "io/catalogue.h"
#include "src/result.h"
#include "src/unit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define C_KMS 299792.458

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: deterministic noise. */
static double urand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) /
           9007199254740992.0;
}

static double grand(void)
{
    double u = urand(), v = urand();
    return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static void die(const char *what, const struct asw_err *err)
{
    fprintf(stderr, "asw-report-catalogue: %s: %s\n", what,
            err ? err->msg : "");
    exit(1);
}

struct src {
    const char *name;
    double s100;  /* flux at 100 GHz, Jy */
    double alpha; /* spectral index */
    double var;   /* fractional variability between epochs */
};

static const struct src sources[] = {
    {"J1924-2914", 3.2, -0.62, 0.20},
    {"J0538-4405", 1.1, -0.35, 0.30},
    {"J2253+1608", 6.5, -0.78, 0.15},
    {"<b>J0000&\"x'", 0.4, -1.05, 0.10}, /* the page must escape it */
};

/* spw centre frequencies (GHz) per band */
static const double band_freqs[11][4] = {
    [3] = {90.5, 92.5, 102.5, 104.5},
    [6] = {224.0, 226.0, 240.0, 242.0},
    [7] = {336.5, 338.5, 348.5, 350.5},
};

static void fill_image(struct asw_image *im, const char *unit, const char *src,
                       int band, int spw, double f_ghz, double mjd, double flux)
{
    asw_image_init(im);
    snprintf(im->unit_id, sizeof im->unit_id, "%s", unit);
    snprintf(im->source, sizeof im->source, "%s", src);
    snprintf(im->file, sizeof im->file,
             "member.%s.%.40s_ph.spw%d.mfs.I.pbcor.fits", unit, src, spw);
    snprintf(im->intent, sizeof im->intent, "ph");
    snprintf(im->specmode, sizeof im->specmode, "mfs");
    im->spw = spw;
    im->band = band;
    im->pbcor = 1;
    im->freq_hz = f_ghz * 1e9;
    im->bandwidth_hz = 1.875e9;
    im->mjd = mjd;
    im->rms_jy = 0.0004 * (band == 7 ? 2.5 : band == 6 ? 1.6 : 1);
    im->peak_jy = flux * (1 + 0.002 * grand());
    im->peak_err_jy = im->rms_jy;
    im->snr = im->peak_jy / im->rms_jy;
    im->dynamic_range = im->snr / 3;
    im->flux_jy = flux;
    im->flux_err_jy = 1.5 * im->rms_jy;
    im->flux_cal_err_jy = (band <= 5 ? 0.05 : 0.10) * flux;
    im->flux_tot_err_jy = hypot(im->flux_err_jy, im->flux_cal_err_jy);
    im->peak_over_flux = im->peak_jy / flux;
    im->ra_deg = 291.2;
    im->dec_deg = -29.24;
    im->bmaj_arcsec = 1.2 * 100 / f_ghz;
    im->bmin_arcsec = 0.9 * 100 / f_ghz;
    im->bpa_deg = 80;
    im->pix_per_beam = 5;
    im->nan_fraction = 0.01;
    im->offset_arcsec = 0.02;
    im->offset_beams = 0.02;
    im->cat_flux_jy = flux * (1 + 0.06 * grand());
    im->cat_flux_ratio = flux / im->cat_flux_jy;
    im->qa_flags = 0;
    im->qa_score = 0.95;
}

/* A cube spectrum toward a source with absorption lines at v (km/s). */
static void make_spectrum(struct asw_spectrum *sp, const char *unit,
                          const char *src, int spw, double mjd, double f0_ghz,
                          size_t n, double cont, const double *rest_ghz,
                          const double *v_kms, const double *fwhm_kms,
                          const double *tau, size_t nlines)
{
    memset(sp, 0, sizeof *sp);
    snprintf(sp->unit_id, sizeof sp->unit_id, "%s", unit);
    snprintf(sp->source, sizeof sp->source, "%s", src);
    snprintf(sp->file, sizeof sp->file,
             "member.%s.%.40s_bp.spw%d.cube.I.pbcor.fits", unit, src, spw);
    sp->spw = spw;
    sp->mjd = mjd;
    sp->n_chan = n;
    sp->freq_hz = malloc(n * sizeof(double));
    sp->flux_jy = malloc(n * sizeof(double));
    sp->ap_flux_jy = malloc(n * sizeof(double));
    sp->noise_jy = malloc(n * sizeof(double));
    sp->cont_jy = malloc(n * sizeof(double));
    sp->tau = malloc(n * sizeof(double));
    if (!sp->freq_hz || !sp->flux_jy || !sp->ap_flux_jy || !sp->noise_jy ||
        !sp->cont_jy || !sp->tau)
        die("out of memory", NULL);
    double df = 0.244e6; /* 244 kHz channels, ~0.8 km/s at 89 GHz */
    for (size_t i = 0; i < n; i++) {
        /* descending frequency like many ALMA spws */
        double f = f0_ghz * 1e9 + ((double)n / 2 - (double)i) * df;
        double t = 0;
        for (size_t k = 0; k < nlines; k++) {
            double v = C_KMS * (1 - f / (rest_ghz[k] * 1e9));
            double sig = fwhm_kms[k] / 2.3548;
            t += tau[k] * exp(-0.5 * pow((v - v_kms[k]) / sig, 2));
        }
        double c = cont * (1 + 0.01 * ((double)i / (double)n - 0.5));
        double noise = 0.004 * cont;
        double s = c * exp(-t) + noise * grand();
        sp->freq_hz[i] = f;
        sp->cont_jy[i] = c;
        sp->noise_jy[i] = noise;
        sp->flux_jy[i] = s;
        /* the aperture: the same line, less noise (no draw, so the other
         * random values stay as they were) */
        sp->ap_flux_jy[i] = c * exp(-t) + 0.5 * noise * sin(0.7 * (double)i);
        sp->tau[i] = s > 0 ? -log(s / c) : NAN;
    }
}

static void fill_line(struct asw_line *l, const struct asw_spectrum *sp,
                      const char *species, double rest_ghz, double v,
                      double fwhm, double tau, int saturated)
{
    asw_line_init(l);
    snprintf(l->unit_id, sizeof l->unit_id, "%s", sp->unit_id);
    snprintf(l->file, sizeof l->file, "%s", sp->file);
    snprintf(l->source, sizeof l->source, "%s", sp->source);
    snprintf(l->species, sizeof l->species, "%s", species);
    l->spw = sp->spw;
    l->rest_freq_hz = rest_ghz * 1e9;
    l->freq_hz = rest_ghz * 1e9 * (1 - v / C_KMS);
    l->v_lsrk_kms = v;
    l->fwhm_kms = fwhm;
    /* channels within one FWHM of the centre */
    int lo = -1, hi = -1;
    for (size_t i = 0; i < sp->n_chan; i++) {
        double vi = C_KMS * (1 - sp->freq_hz[i] / l->rest_freq_hz);
        if (fabs(vi - v) <= fwhm) {
            if (lo < 0)
                lo = (int)i;
            hi = (int)i;
        }
    }
    l->chan_lo = lo;
    l->chan_hi = hi;
    l->tau_peak = saturated ? 3.2 : tau;
    l->tau_peak_err = saturated ? NAN : 0.02 + 0.03 * tau;
    l->saturated = saturated;
    l->tau_int_kms = 1.0645 * tau * fwhm;
    l->tau_int_err_kms = 0.05 * l->tau_int_kms + 0.02;
    l->depth_sigma = (1 - exp(-tau)) / 0.004;
    l->cont_jy = sp->cont_jy[sp->n_chan / 2];
}

struct unit_plan {
    const char *id;
    int band;
    double mjd;
    int srcs[3]; /* indices into sources, -1 ends */
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: asw-report-catalogue OUT.h5\n");
        return 2;
    }
    const char *path = argv[1];
    char jpath[4096];
    snprintf(jpath, sizeof jpath, "%s.journal", path);
    unlink(path);
    unlink(jpath);

    struct asw_err err = {0};
    struct asw_cat *c = NULL;
    if (asw_cat_open(path, 1, &c, &err))
        die("open", &err);
    struct asw_cat_options opt;
    asw_cat_options_default(&opt);
    opt.checkpoint_s = 3600;
    opt.journal_fsync = 0;
    if (asw_cat_set_options(c, &opt, &err))
        die("options", &err);

    static const struct unit_plan plan[] = {
        {"uid___A001_X1001_X10", 3, 58650.2, {0, 1, -1}},
        {"uid___A001_X1001_X11", 7, 58655.3, {0, 1, -1}},
        {"uid___A001_X1001_X12", 6, 58990.1, {0, 2, -1}},
        {"uid___A001_X1001_X13", 3, 59120.4, {0, 2, 3}},
        {"uid___A001_X1001_X14", 3, 59480.6, {0, 1, -1}},
        {"uid___A001_X1001_X15", 7, 59486.2, {0, 2, -1}},
        {"uid___A001_X1001_X16", 6, 59850.8, {1, 3, -1}},
        {"uid___A001_X1001_X17", 3, 60010.1, {0, 2, -1}},
        {"uid___A001_X1001_X18", 7, 60015.9, {0, 1, 3}},
        {"uid___A001_X1001_X19", 3, 60370.3, {0, 1, 2}},
        {"uid___A001_X1001_X1a", 6, 60380.5, {0, 2, -1}},
        {"uid___A001_X1001_X1b", 3, 60400.7, {2, 3, -1}},
    };
    static const struct {
        const char *id, *error;
        enum asw_status status;
        int attempts;
    } bad[] = {
        {"uid___A001_X2002_X20",
         "download:ENET:connection reset by peer after 3 retries",
         ASW_ST_FAILED, 3},
        {"uid___A001_X2002_X21", "casa:ECHILD:tclean exited with status 1",
         ASW_ST_FAILED, 3},
        {"uid___A001_X2002_X22",
         "extract:EARCHIVE:unsafe tar entry '../../etc/passwd' <refused>",
         ASW_ST_FAILED, 3},
        {"uid___A001_X2002_X23", "", ASW_ST_INTERRUPTED, 1},
    };

    /* Run 1 stores the first half; run 2 the rest and the failures. */
    for (int run = 0; run < 2; run++) {
        struct asw_cat_run_info info = {
            "/etc/almasweep/grid-b3-b7.ini",
            "[archive]\ntargets =\nbands = 3 6 7\n\n[pipeline]\nmode = "
            "products\n\n[output]\ncatalogue = sweep.h5\n",
            "products",
            "node01",
            NULL,
            4,
            16};
        if (asw_cat_run_begin(c, &info, &err))
            die("run begin", &err);
        struct asw_cat_run_tally tally = {0};
        size_t from = run == 0 ? 0 : 6, to = run == 0 ? 6 : 12;
        for (size_t u = from; u < to; u++) {
            const struct unit_plan *pl = &plan[u];
            struct asw_result r;
            memset(&r, 0, sizeof r);
            snprintf(r.unit_id, sizeof r.unit_id, "%s", pl->id);
            r.status = ASW_ST_DONE;
            r.attempts = u == 4 ? 2 : 1;
            r.t_download_s = 40 + 10 * urand();
            r.t_extract_s = 3 + urand();
            r.t_process_s = 20 + 5 * urand();
            r.t_reduce_s = 2 + urand();
            r.bytes_fetched = 700000000 + (int64_t)(1e8 * urand());
            snprintf(r.host, sizeof r.host, "node0%d", 1 + (int)(u % 2));
            r.rank = 1 + (int)(u % 3);
            int spw = 17;
            for (int k = 0; k < 3 && pl->srcs[k] >= 0; k++) {
                const struct src *s = &sources[pl->srcs[k]];
                double epoch = 1 + s->var * sin(pl->mjd / 97.0 + k);
                double fl[4];
                for (int q = 0; q < 4; q++) {
                    double f = band_freqs[pl->band][q];
                    fl[q] = s->s100 * epoch * pow(f / 100, s->alpha) *
                            (1 + 0.008 * grand());
                    struct asw_image im;
                    fill_image(&im, pl->id, s->name, pl->band, spw + 2 * q, f,
                               pl->mjd, fl[q]);
                    /* QA variety: some flags, one failed fit, one error */
                    if (u == 3 && q == 1)
                        im.qa_flags = ASW_QA_OFFSET | ASW_QA_EXTENDED;
                    if (u == 5 && q == 3)
                        im.qa_flags = ASW_QA_LOW_SNR;
                    if (u == 8 && q == 2) {
                        im.qa_flags = ASW_QA_FIT_FAILED;
                        im.flux_jy = NAN;
                    }
                    if (u == 9 && q == 0 && k == 2) {
                        asw_image_init(&im);
                        snprintf(im.unit_id, sizeof im.unit_id, "%s", pl->id);
                        snprintf(im.source, sizeof im.source, "%s", s->name);
                        snprintf(im.file, sizeof im.file,
                                 "member.%s.broken.fits", pl->id);
                        snprintf(im.error, sizeof im.error,
                                 "fits:EFITS:no image data in HDU 0");
                    }
                    if (asw_result_add_image(&r, &im))
                        die("out of memory", NULL);
                }
                /* the SED fit of this unit and source */
                struct asw_sed sd;
                asw_sed_init(&sd);
                snprintf(sd.unit_id, sizeof sd.unit_id, "%s", pl->id);
                snprintf(sd.source, sizeof sd.source, "%s", s->name);
                sd.band = pl->band;
                sd.n_spw = 4;
                sd.mjd = pl->mjd;
                double sx = 0, sy = 0, sxx = 0, sxy = 0;
                for (int q = 0; q < 4; q++) {
                    double x = log(band_freqs[pl->band][q]), y = log(fl[q]);
                    sx += x;
                    sy += y;
                    sxx += x * x;
                    sxy += x * y;
                }
                double a = (4 * sxy - sx * sy) / (4 * sxx - sx * sx);
                double ref = exp(sx / 4);
                sd.ref_freq_hz = ref * 1e9;
                sd.flux_ref_jy = exp(sy / 4);
                sd.flux_ref_err_jy = 0.003 * sd.flux_ref_jy;
                sd.alpha = a;
                sd.alpha_err = pl->band == 3 ? 0.04 : 0.12;
                sd.alpha_sys_err = sd.alpha_err * 1.6;
                sd.chi2 = 1.3 + urand();
                sd.dof = 2;
                sd.lever_arm =
                    log10(band_freqs[pl->band][3] / band_freqs[pl->band][0]);
                sd.flags =
                    ASW_SED_IN_BAND | (u == 6 && k == 1 ? ASW_SED_BAD_FIT : 0);
                if (asw_result_add_sed(&r, &sd))
                    die("out of memory", NULL);
            }
            if (u == 3 || u == 9) {
                /* J1924-2914 cubes: HCO+ (and HCN) absorption */
                static const double rest[2] = {89.188526, 88.631602};
                double v[2] = {u == 3 ? 4.8 : 5.3, 5.1};
                double fwhm[2] = {3.2, 2.6};
                double tau[2] = {u == 3 ? 0.85 : 3.6, 0.32};
                struct asw_spectrum sp;
                make_spectrum(&sp, pl->id, sources[0].name, 25, pl->mjd, 89.186,
                              480, 3.1, rest, v, fwhm, tau, 1);
                struct asw_line l;
                fill_line(&l, &sp, "HCO+", rest[0], v[0], fwhm[0], tau[0],
                          u == 9);
                if (asw_result_add_line(&r, &l) ||
                    asw_result_add_spectrum(&r, &sp))
                    die("out of memory", NULL);
                if (u == 3) {
                    make_spectrum(&sp, pl->id, sources[0].name, 27, pl->mjd,
                                  88.630, 400, 3.2, rest + 1, v + 1, fwhm + 1,
                                  tau + 1, 1);
                    fill_line(&l, &sp, "HCN", rest[1], v[1], fwhm[1], tau[1],
                              0);
                    if (asw_result_add_line(&r, &l) ||
                        asw_result_add_spectrum(&r, &sp))
                        die("out of memory", NULL);
                    /* a spectrum searched without a detection */
                    make_spectrum(&sp, pl->id, sources[2].name, 29, pl->mjd,
                                  97.98, 240, 6.0, rest, v, fwhm, tau, 0);
                    if (asw_result_add_spectrum(&r, &sp))
                        die("out of memory", NULL);
                }
            }
            struct asw_unit unit;
            memset(&unit, 0, sizeof unit);
            snprintf(unit.id, sizeof unit.id, "%s", pl->id);
            unit.kind = ASW_UNIT_MOUS_PRODUCTS;
            snprintf(unit.project, sizeof unit.project, "2019.1.0%04zu.S",
                     u + 1);
            snprintf(unit.mous_uid, sizeof unit.mous_uid,
                     "uid://A001/X1001/X%zx", 0x10 + u);
            unit.bytes_total = r.bytes_fetched;
            if (asw_cat_put_result(c, &r, &unit, &err))
                die("put", &err);
            asw_result_clear(&r);
            tally.done++;
        }
        if (run == 1) {
            for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
                struct asw_result r;
                memset(&r, 0, sizeof r);
                snprintf(r.unit_id, sizeof r.unit_id, "%s", bad[b].id);
                snprintf(r.error, sizeof r.error, "%s", bad[b].error);
                r.status = bad[b].status;
                r.attempts = bad[b].attempts;
                r.t_download_s = 12;
                r.t_extract_s = NAN;
                r.t_process_s = NAN;
                r.t_reduce_s = NAN;
                r.bytes_fetched = 1000;
                /* a long host name: the plot must cut its label */
                snprintf(r.host, sizeof r.host, "%s",
                         b == 0 ? "gpu-node-117.cluster.very-long-domain"
                                  ".example.org"
                                : "node02");
                r.rank = 2;
                if (asw_cat_put_result(c, &r, NULL, &err))
                    die("put failed", &err);
                tally.failed += bad[b].status == ASW_ST_FAILED;
            }
            tally.retried = 1;
        }
        if (asw_cat_run_end(c, run == 0 ? 0 : 3, &tally, &err))
            die("run end", &err);
    }
    if (asw_cat_close(c, &err))
        die("close", &err);
    printf("%s\n", path);
    return 0;
}
