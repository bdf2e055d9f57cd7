#include "gen_plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#define C_M_S                  299792458.0
#define ARCSEC_PER_RAD         206264.80624709636
#define MJD_FAR_FUTURE_RELEASE "3000-01-01T00:00:00.000"

/* Grid calibrators with their ICRS positions and a typical 100 GHz flux. */
/* Lowest peak S/N of a calibrator image (asw-gen --min-snr). */
static double min_snr = 30.0;

static const struct cal {
    const char *name;
    double ra_deg;
    double dec_deg;
    double s100_jy;
} cals[] = {
    {"J1924-2914", 291.2127332, -29.2417003, 3.2},
    {"J1751+0939", 267.8867437, 9.6502022, 2.4},
    {"J0423-0120", 65.8158362, -1.3425181, 1.1},
    {"J2253+1608", 343.4906163, 16.1482114, 4.2},
    {"J0538-4405", 84.7098392, -44.0858164, 0.9},
    {"J1256-0547", 194.0465271, -5.7893120, 4.6},
    {"J0510+1800", 77.5098713, 18.0115506, 0.35},
};
#define N_CALS (int)(sizeof cals / sizeof cals[0])

/* Static texts of the synthetic projects. */
static const struct project {
    const char *code;
    double cycle_start_mjd; /* 1 October of the cycle */
    unsigned block;         /* A001 block of its OUS uids */
    const char *title;
    const char *pi_name;
    const char *pi_userid;
    const char *category;
    const char *keyword;
    const char *target_prefix;
} projects[] = {
    /* clang-format off */
    {"2019.1.00001.S", 58757.0, 0x1465,
     "Dense gas in a lensed submillimetre galaxy",
     "Doe, Jane", "jdoe", "Galaxy evolution", "Sub-mm Galaxies (SMG)",
     "SMG"},
    {"2021.1.00002.S", 59488.0, 0x1590,
     "Dust continuum of nearby protoplanetary discs",
     "Rossi, Marco", "mrossi", "Disks and planet formation",
     "Disks around low-mass stars", "DISK"},
    {"2022.1.00003.S", 59853.0, 0x1670,
     "Molecular outflows in a starburst nucleus",
     "Tanaka, Yuki", "ytanaka", "Active galaxies", "Starburst galaxies",
     "NGC"},
    {"2018.1.00004.S", 58392.0, 0x133d,
     "Cold dust in high-redshift quasar hosts",
     "Smith, Alex", "asmith", "Active galaxies",
     "High-z Active Galactic Nuclei (AGN)", "QSO"},
    {"2025.1.00005.S", 60949.0, 0x1b2f,
     "Chemistry of a hot molecular core",
     "Garcia, Lucia", "lgarcia", "ISM and star formation",
     "High-mass star formation", "HMC"},
    /* clang-format on */
};

/* One MOUS of a preset; cal[] are indices into cals[], -1 for none. */
static const struct mous_spec {
    int project; /* index into projects[] */
    int same_sg; /* 1: same science goal and group OUS as the previous */
    int band;
    int dish_m;
    int n_eb;
    int proprietary;
    int cal[3]; /* bp, ph, ch */
    int spw_id[ASW_GEN_MAX_SPW];
    double spw_ghz[ASW_GEN_MAX_SPW];
    unsigned fdm_mask; /* bit i: spw i is FDM (1920 channels) */
} specs[] = {
    /* clang-format off */
    /* pj sg band dish eb prop  bp ph ch   spw ids           sky GHz */
    {0, 0, 3, 12, 2, 0, {0, 1, 5},  {25, 27, 29, 31},
     {90.52, 92.40, 102.52, 104.40}, 0x3},
    {1, 0, 6, 12, 1, 0, {2, 6, -1}, {16, 18, 20, 22},
     {224.00, 226.00, 240.00, 242.00}, 0x0},
    {1, 0, 7, 12, 2, 0, {2, 6, 4},  {16, 18, 20, 22},
     {336.49, 338.44, 348.49, 350.49}, 0x1},
    {2, 0, 3, 12, 2, 0, {3, 2, 6},  {25, 27, 29, 31},
     {86.02, 88.00, 98.02, 100.00}, 0x5},
    {2, 1, 3, 7,  1, 0, {5, 0, -1}, {16, 18, 20, 22},   /* 7-m, same SG */
     {86.02, 88.00, 98.02, 100.00}, 0x5},
    {3, 0, 7, 12, 1, 0, {0, 1, -1}, {16, 18, 20, 22},
     {336.99, 338.99, 348.99, 350.99}, 0x0},
    {4, 0, 6, 12, 1, 1, {5, 4, -1}, {25, 27, 29, 31},   /* proprietary */
     {216.10, 218.22, 230.54, 232.10}, 0x2},
    /* clang-format on */
};

static const int preset_demo[] = {0, 1, 2, 3, 4, 5, 6};
static const int preset_small[] = {0, 3, 4, 6};
static const int preset_tiny[] = {0};

const char *asw_gen_intent_tag(int intent)
{
    static const char *tags[] = {"bp", "ph", "ch", "sci"};
    return intent >= 0 && intent <= ASW_GEN_SCI ? tags[intent] : "?";
}

const char *asw_gen_intent_scan(int intent)
{
    static const char *scans[] = {"BANDPASS FLUX WVR", "PHASE WVR", "CHECK WVR",
                                  "TARGET WVR"};
    return intent >= 0 && intent <= ASW_GEN_SCI ? scans[intent] : "?";
}

static double uniform(gsl_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * gsl_rng_uniform(r);
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* A002 (EB) uid blocks grow with time; this keeps that look. */
static void eb_uid(char *buf, size_t n, double mjd, gsl_rng *r)
{
    unsigned long block =
        0xd28a9eUL + (unsigned long)((mjd - 58270.0) * 1855.0);
    unsigned long serial = 0x100 + gsl_rng_uniform_int(r, 0xfe00);
    snprintf(buf, n, "uid://A002/X%lx/X%lx", block, serial);
}

void asw_gen_sanitize(char *dst, size_t n, const char *uid)
{
    size_t i = 0;
    for (; uid[i] && i + 1 < n; i++)
        dst[i] = (uid[i] == ':' || uid[i] == '/') ? '_' : uid[i];
    dst[i] = '\0';
}

/* 12-m antennas are DA/DV/PM, 7-m are CM; pads A0xx or J5xx/N6xx. */
static void antenna_list(char *buf, size_t n, int dish_m, gsl_rng *r)
{
    int count = dish_m == 12 ? 43 + (int)gsl_rng_uniform_int(r, 6)
                             : 10 + (int)gsl_rng_uniform_int(r, 2);
    int pads[137]; /* the 12-m pads A001..A137, each used once */
    for (int i = 0; i < 137; i++)
        pads[i] = i + 1;
    if (dish_m == 12)
        gsl_ran_shuffle(r, pads, 137, sizeof pads[0]);
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && len + 16 < n; i++) {
        char ant[16], pad[16];
        if (dish_m == 7) {
            snprintf(ant, sizeof ant, "CM%02d", i + 1);
            snprintf(pad, sizeof pad, "%s%d", i % 3 == 2 ? "N" : "J",
                     i % 3 == 2 ? 601 + i : 501 + i);
        } else {
            /* DA41-DA65, then DV01-DV25, then PM01-PM04 */
            if (i < 25)
                snprintf(ant, sizeof ant, "DA%02d", 41 + i);
            else if (i < 45)
                snprintf(ant, sizeof ant, "DV%02d", i - 24);
            else
                snprintf(ant, sizeof ant, "PM%02d", i - 44);
            snprintf(pad, sizeof pad, "A%03d", pads[i]);
        }
        len += (size_t)snprintf(buf + len, n - len, "%s%s:%s", i ? " " : "",
                                pad, ant);
    }
}

/* A science target a few degrees from the phase calibrator, named from
 * its position as surveys do (SMG_J175214+0852). */
static void science_target(struct asw_gen_field *f, const char *prefix,
                           const struct cal *ph, gsl_rng *r)
{
    double dec = clamp(ph->dec_deg + uniform(r, -4.0, 4.0), -89.0, 89.0);
    double ra = fmod(
        ph->ra_deg + uniform(r, -4.0, 4.0) / cos(dec * M_PI / 180.0) + 360.0,
        360.0);
    int rah = (int)(ra / 15.0);
    int ram = (int)((ra / 15.0 - rah) * 60.0);
    int ras = (int)(((ra / 15.0 - rah) * 60.0 - ram) * 60.0);
    double ad = fabs(dec);
    int dd = (int)ad, dm = (int)((ad - dd) * 60.0);
    snprintf(f->name, sizeof f->name, "%s_J%02d%02d%02d%c%02d%02d", prefix, rah,
             ram, ras, dec < 0 ? '-' : '+', dd, dm);
    f->intent = ASW_GEN_SCI;
    f->ra_deg = ra;
    f->dec_deg = dec;
    f->flux_ref_jy = uniform(r, 0.005, 0.05);
    f->spix = uniform(r, 2.0, 3.5); /* thermal dust */
    f->snr = uniform(r, 20.0, 200.0);
}

/* Beam at 100 GHz-ish reference for band and array, arcsec. */
static double beam_major(int band, int dish_m, gsl_rng *r)
{
    if (dish_m == 7)
        return uniform(r, 11.0, 14.0) * 100.0 / (band == 3 ? 93.0 : 230.0);
    switch (band) {
    case 3:
        return uniform(r, 1.0, 3.0);
    case 6:
        return uniform(r, 0.3, 1.2);
    default:
        return uniform(r, 0.3, 0.9);
    }
}

static int preset_specs(const char *preset, const int **list, int *n)
{
    if (!strcmp(preset, "demo")) {
        *list = preset_demo;
        *n = (int)(sizeof preset_demo / sizeof preset_demo[0]);
    } else if (!strcmp(preset, "small")) {
        *list = preset_small;
        *n = (int)(sizeof preset_small / sizeof preset_small[0]);
    } else if (!strcmp(preset, "tiny")) {
        *list = preset_tiny;
        *n = (int)(sizeof preset_tiny / sizeof preset_tiny[0]);
    } else {
        return ASW_EINVAL;
    }
    return 0;
}

static void fill_mous(struct asw_gen_mous *m, const struct mous_spec *sp,
                      int tiny, const double *spix, gsl_rng *r)
{
    const struct project *pj = &projects[sp->project];
    snprintf(m->project, sizeof m->project, "%s", pj->code);
    m->band = sp->band;
    m->dish_m = sp->dish_m;
    m->proprietary = sp->proprietary;
    m->title = pj->title;
    m->pi_name = pj->pi_name;
    m->pi_userid = pj->pi_userid;
    m->category = pj->category;
    m->keyword = pj->keyword;
    m->pwv_mm = uniform(r, m->band >= 6 ? 0.4 : 1.0, m->band >= 6 ? 1.5 : 3.5);

    /* Spectral setup; the tiny preset keeps one spw. */
    m->n_spw = tiny ? 1 : ASW_GEN_MAX_SPW;
    for (int s = 0; s < m->n_spw; s++) {
        m->spw[s].id = sp->spw_id[s];
        m->spw[s].freq_hz = sp->spw_ghz[s] * 1e9;
        m->spw[s].bw_hz = 1.875e9;
        m->spw[s].nchan = (sp->fdm_mask >> s) & 1 ? 1920 : 128;
    }

    /* Execution blocks: the first within the cycle's first 300 days, the
     * second a few days later. */
    m->n_eb = tiny ? 1 : sp->n_eb;
    double t = pj->cycle_start_mjd + (double)gsl_rng_uniform_int(r, 300) +
               uniform(r, 0.0, 0.95);
    if (sp->proprietary) /* observed in the last weeks, still proprietary */
        t = pj->cycle_start_mjd + 60.0 + uniform(r, 0.0, 40.0);
    for (int e = 0; e < m->n_eb; e++) {
        struct asw_gen_eb *eb = &m->eb[e];
        eb->mjd_start = t;
        eb->mjd_end = t + uniform(r, 0.04, 0.07);
        eb_uid(eb->uid, sizeof eb->uid, t, r);
        t = eb->mjd_end + uniform(r, 0.1, 3.0);
    }
    if (sp->proprietary) {
        snprintf(m->release, sizeof m->release, "%s", MJD_FAR_FUTURE_RELEASE);
    } else {
        /* one-year proprietary period from the last EB, at midnight */
        double rel = floor(m->eb[m->n_eb - 1].mjd_end) + 365.0 +
                     (double)gsl_rng_uniform_int(r, 30);
        time_t secs = (time_t)((rel - 40587.0) * 86400.0);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(m->release, sizeof m->release, "%Y-%m-%dT%H:%M:%S.000", &tm);
    }

    antenna_list(m->antennas, sizeof m->antennas, m->dish_m, r);

    /* Reference beam at the first spw. */
    m->bmaj_ref_arcsec = beam_major(m->band, m->dish_m, r);
    m->bmin_ref_arcsec = m->bmaj_ref_arcsec * uniform(r, 0.6, 0.95);
    m->bpa_ref_deg = uniform(r, -90.0, 90.0);

    /* Calibrator fields. */
    m->n_field = 0;
    for (int k = 0; k < 3; k++) {
        if (sp->cal[k] < 0 || (tiny && k == ASW_GEN_CH))
            continue;
        const struct cal *c = &cals[sp->cal[k]];
        struct asw_gen_field *f = &m->field[m->n_field++];
        snprintf(f->name, sizeof f->name, "%s", c->name);
        f->intent = k;
        f->ra_deg = c->ra_deg;
        f->dec_deg = c->dec_deg;
        /* epoch-to-epoch variability of a blazar, ~15 % */
        f->flux_ref_jy = c->s100_jy * exp(gsl_ran_gaussian(r, 0.15));
        f->spix = spix[sp->cal[k]];
        /* Keep every spw inside 0.05..5 Jy by scaling the epoch's flux
         * rather than clipping per spw, which would flatten the spectral
         * index the truth records. */
        double f_lo = m->spw[0].freq_hz, f_hi = m->spw[0].freq_hz;
        for (int s = 1; s < m->n_spw; s++) {
            f_lo = fmin(f_lo, m->spw[s].freq_hz);
            f_hi = fmax(f_hi, m->spw[s].freq_hz);
        }
        double s_max = f->flux_ref_jy * pow(f_lo / 100e9, f->spix);
        double s_min = f->flux_ref_jy * pow(f_hi / 100e9, f->spix);
        if (s_max > 4.9)
            f->flux_ref_jy *= 4.9 / s_max;
        else if (s_min < 0.06)
            f->flux_ref_jy *= 0.06 / s_min;
        f->snr = exp(uniform(r, log(min_snr), log(2000.0)));
        f->texp_s = m->n_eb * (k == ASW_GEN_BP   ? uniform(r, 300.0, 600.0)
                               : k == ASW_GEN_PH ? uniform(r, 240.0, 480.0)
                                                 : uniform(r, 60.0, 120.0));
    }
}

/* Name and render parameters of one image of field f in spw s (-1 for the
 * aggregate continuum image of a science target). */
static void fill_image(struct asw_gen_image *im, const struct asw_gen_mous *m,
                       int fi, int s, int npix, gsl_rng *r)
{
    const struct asw_gen_field *f = &m->field[fi];
    im->field = fi;
    im->spw = s;
    im->npix = npix;
    if (s >= 0) {
        im->freq_hz = m->spw[s].freq_hz;
        im->bw_hz = m->spw[s].bw_hz;
        snprintf(im->file, sizeof im->file,
                 "member.%s.%s_%s.spw%d.mfs.I.pbcor.fits", m->mous_s, f->name,
                 asw_gen_intent_tag(f->intent), m->spw[s].id);
        snprintf(im->pb_file, sizeof im->pb_file,
                 "member.%s.%s_%s.spw%d.mfs.I.pb.fits.gz", m->mous_s, f->name,
                 asw_gen_intent_tag(f->intent), m->spw[s].id);
    } else {
        char spws[64] = "";
        size_t len = 0;
        double lo = 1e300, hi = 0.0;
        for (int k = 0; k < m->n_spw; k++) {
            len += (size_t)snprintf(spws + len, sizeof spws - len, "%s%d",
                                    k ? "_" : "", m->spw[k].id);
            lo = fmin(lo, m->spw[k].freq_hz - m->spw[k].bw_hz / 2);
            hi = fmax(hi, m->spw[k].freq_hz + m->spw[k].bw_hz / 2);
        }
        im->freq_hz = (lo + hi) / 2;
        im->bw_hz = hi - lo;
        snprintf(im->file, sizeof im->file,
                 "member.%s.%s_sci.spw%s.cont.I.pbcor.fits", m->mous_s, f->name,
                 spws);
        snprintf(im->pb_file, sizeof im->pb_file,
                 "member.%s.%s_sci.spw%s.cont.I.pb.fits.gz", m->mous_s, f->name,
                 spws);
    }

    /* Beam scales as 1/frequency; every field has its own uv-coverage. */
    double scale = m->spw[0].freq_hz / im->freq_hz;
    im->bmaj_arcsec =
        m->bmaj_ref_arcsec * scale * (1.0 + gsl_ran_gaussian(r, 0.02));
    im->bmin_arcsec =
        fmin(im->bmaj_arcsec,
             m->bmin_ref_arcsec * scale * (1.0 + gsl_ran_gaussian(r, 0.02)));
    im->bpa_deg = m->bpa_ref_deg + gsl_ran_gaussian(r, 3.0);
    im->cell_arcsec = im->bmin_arcsec / 5.0;
    im->pb_fwhm_arcsec =
        1.13 * (C_M_S / im->freq_hz) / m->dish_m * ARCSEC_PER_RAD;

    double flux = f->flux_ref_jy * pow(im->freq_hz / 100e9, f->spix);
    double snr = f->snr;
    if (f->intent == ASW_GEN_SCI) {
        im->extent_arcsec = 2.0 * im->bmaj_arcsec;
    } else {
        flux = clamp(flux, 0.05, 5.0);
        snr = clamp(snr * exp(gsl_ran_gaussian(r, 0.1)), min_snr, 2000.0);
        im->extent_arcsec = 0.0;
    }
    im->flux_jy = flux;
    im->rms_jy = flux / snr;
    /* CASA puts the phase centre on pixel npix/2 (0-based). */
    im->x_pix = npix / 2 + uniform(r, -0.5, 0.5);
    im->y_pix = npix / 2 + uniform(r, -0.5, 0.5);
    im->noise_seed = gsl_rng_get(r);
}

void asw_gen_plan_set_min_snr(double snr)
{
    if (snr >= 1.0 && snr < 2000.0)
        min_snr = snr;
}

int asw_gen_plan_build(struct asw_gen_plan **out, const char *preset,
                       unsigned long seed, int npix, struct asw_err *err)
{
    const int *list;
    int n, rc = 0;
    struct asw_gen_plan *p = NULL;
    gsl_rng *r = NULL;

    *out = NULL;
    if (!preset || preset_specs(preset, &list, &n))
        return asw_err_set(err, ASW_EINVAL, "gen",
                           "unknown preset '%s' (demo, small, tiny)",
                           preset ? preset : "");
    if (npix < ASW_GEN_NPIX_MIN || npix > ASW_GEN_NPIX_MAX)
        return asw_err_set(err, ASW_EINVAL, "gen", "npix %d outside %d..%d",
                           npix, ASW_GEN_NPIX_MIN, ASW_GEN_NPIX_MAX);
    int tiny = !strcmp(preset, "tiny");

    p = calloc(1, sizeof *p);
    r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!p || !r) {
        rc = asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
        goto out;
    }
    gsl_rng_set(r, seed);
    p->seed = seed;
    snprintf(p->preset, sizeof p->preset, "%s", preset);
    p->npix = npix;
    p->n_mous = n;
    p->mous = calloc((size_t)n, sizeof *p->mous);
    p->image = calloc((size_t)n * ASW_GEN_MAX_FIELD * (ASW_GEN_MAX_SPW + 1),
                      sizeof *p->image);
    if (!p->mous || !p->image) {
        rc = asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
        goto out;
    }

    /* Spectral indices belong to the sources, drawn once. */
    double spix[N_CALS];
    for (int c = 0; c < N_CALS; c++)
        spix[c] = clamp(-0.7 + gsl_ran_gaussian(r, 0.12), -1.2, -0.2);

    /* OUS uids are consecutive within a project: science goal, group,
     * member; a second member of the same group takes the next serial. */
    int prev_project = -1;
    unsigned serial = 0;
    for (int i = 0; i < n; i++) {
        const struct mous_spec *sp = &specs[list[i]];
        const struct project *pj = &projects[sp->project];
        struct asw_gen_mous *m = &p->mous[i];
        int shared = sp->same_sg && i > 0 && prev_project == sp->project;
        if (sp->project != prev_project)
            serial = 0x100 + (unsigned)gsl_rng_uniform_int(r, 0x2000);
        else if (!shared)
            serial += 1 + (unsigned)gsl_rng_uniform_int(r, 8);
        if (shared) {
            memcpy(m->sg_uid, p->mous[i - 1].sg_uid, sizeof m->sg_uid);
            memcpy(m->group_uid, p->mous[i - 1].group_uid, sizeof m->group_uid);
        } else {
            snprintf(m->sg_uid, sizeof m->sg_uid, "uid://A001/X%x/X%x",
                     pj->block, serial++);
            snprintf(m->group_uid, sizeof m->group_uid, "uid://A001/X%x/X%x",
                     pj->block, serial++);
        }
        snprintf(m->mous_uid, sizeof m->mous_uid, "uid://A001/X%x/X%x",
                 pj->block, serial++);
        asw_gen_sanitize(m->mous_s, sizeof m->mous_s, m->mous_uid);
        prev_project = sp->project;

        fill_mous(m, sp, tiny, spix, r);
        snprintf(m->sb_name, sizeof m->sb_name, "%s_%c_%02d_%s",
                 pj->target_prefix, 'a' + (int)(serial % 26), m->band,
                 m->dish_m == 7 ? "7M" : "TM1");

        /* The science target: shared by the members of one group. */
        struct asw_gen_field *sci = &m->field[m->n_field];
        if (shared) {
            const struct asw_gen_mous *pm = &p->mous[i - 1];
            *sci = pm->field[pm->n_field - 1];
        } else {
            const struct asw_gen_field *ph = &m->field[ASW_GEN_PH];
            struct cal phc = {ph->name, ph->ra_deg, ph->dec_deg, 0.0};
            science_target(sci, pj->target_prefix, &phc, r);
        }
        sci->texp_s = m->n_eb * uniform(r, 1200.0, 3000.0);
        m->n_field++;

        /* Images: every calibrator in every spw, then the target's
         * aggregate continuum image. */
        m->first_image = p->n_image;
        for (int fi = 0; fi < m->n_field; fi++) {
            if (m->field[fi].intent == ASW_GEN_SCI) {
                struct asw_gen_image *im = &p->image[p->n_image++];
                im->mous = i;
                fill_image(im, m, fi, -1, npix, r);
                continue;
            }
            for (int s = 0; s < m->n_spw; s++) {
                struct asw_gen_image *im = &p->image[p->n_image++];
                im->mous = i;
                fill_image(im, m, fi, s, npix, r);
                m->n_cal_images++;
            }
        }
        m->n_images = p->n_image - m->first_image;
    }

out:
    gsl_rng_free(r);
    if (rc) {
        asw_gen_plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void asw_gen_plan_free(struct asw_gen_plan *plan)
{
    if (!plan)
        return;
    free(plan->mous);
    free(plan->image);
    free(plan);
}

double asw_gen_plan_mjd(const struct asw_gen_plan *plan, int mous)
{
    return plan->mous[mous].eb[0].mjd_start;
}

void asw_gen_name_product_tar(const struct asw_gen_mous *m, char *buf, size_t n)
{
    snprintf(buf, n, "%s_%s_001_of_001.tar", m->project, m->mous_s);
}

void asw_gen_name_aux_tar(const struct asw_gen_mous *m, char *buf, size_t n)
{
    snprintf(buf, n, "%s_%s_auxiliary.tar", m->project, m->mous_s);
}

void asw_gen_name_readme(const struct asw_gen_mous *m, char *buf, size_t n)
{
    snprintf(buf, n, "member.%s.README.txt", m->mous_s);
}

void asw_gen_name_flux_csv(const struct asw_gen_mous *m, char *buf, size_t n)
{
    snprintf(buf, n, "member.%s.flux.csv", m->mous_s);
}

void asw_gen_name_script(const struct asw_gen_mous *m, char *buf, size_t n)
{
    snprintf(buf, n, "member.%s.scriptForPI.py", m->mous_s);
}

void asw_gen_name_asdm_tar(const struct asw_gen_mous *m, int eb, char *buf,
                           size_t n)
{
    char s[ASW_GEN_UID_MAX];
    asw_gen_sanitize(s, sizeof s, m->eb[eb].uid);
    snprintf(buf, n, "%s_%s.asdm.sdm.tar", m->project, s);
}
