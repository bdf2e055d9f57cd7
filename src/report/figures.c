/*
 * figures.c - the report's figures (figures.h).
 */
#include "figures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a)   (sizeof(a) / sizeof((a)[0]))
#define C_KMS      299792.458
#define MINUS      "\xe2\x88\x92"
#define MAX_COLOUR 10

/* ------------------------------------------------------------------ */
/* Colours                                                             */

static struct plot_rgb hex(unsigned v)
{
    return (struct plot_rgb){((v >> 16) & 255) / 255.0,
                             ((v >> 8) & 255) / 255.0, (v & 255) / 255.0};
}

struct plot_rgb rep_band_color(int band)
{
    static const unsigned c[11] = {0x222222, 0x7f7f7f, 0xe377c2, 0x1f77b4,
                                   0x17becf, 0xbcbd22, 0x2ca02c, 0xff7f0e,
                                   0xd62728, 0x9467bd, 0x8c564b};
    return hex(band >= 1 && band <= 10 ? c[band] : c[0]);
}

enum plot_marker rep_band_marker(int band)
{
    switch (band) {
    case 3:
    case 9:
        return PLOT_CIRCLE;
    case 6:
    case 10:
        return PLOT_SQUARE;
    case 7:
    case 4:
        return PLOT_TRIANGLE;
    case 5:
    case 8:
        return PLOT_DIAMOND;
    default:
        return PLOT_DOWN;
    }
}

struct plot_rgb rep_status_color(const char *s)
{
    if (strcmp(s, "done") == 0)
        return hex(0x2ca02c);
    if (strcmp(s, "failed") == 0)
        return hex(0xd62728);
    if (strcmp(s, "interrupted") == 0)
        return hex(0xff7f0e);
    if (strcmp(s, "skipped") == 0)
        return hex(0x7f7f7f);
    if (strcmp(s, "pending") == 0)
        return hex(0x1f77b4);
    return hex(0x444444);
}

static const struct plot_rgb GREY = {0.62, 0.62, 0.62};

void rep_fmt(char *buf, size_t n, double v, int decimals)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "\xe2\x80\x93");
        return;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
    if (tmp[0] == '-' && strspn(tmp + 1, "0.") != strlen(tmp + 1))
        snprintf(buf, n, MINUS "%s", tmp + 1);
    else
        snprintf(buf, n, "%s", tmp[0] == '-' ? tmp + 1 : tmp);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static void set_meta(struct plot_series *s, json_t *meta)
{
    json_decref(s->meta);
    s->meta = meta;
}

static struct plot *fail(struct plot *p)
{
    plot_free(p);
    return NULL;
}

/* Spectral indices the page plots: finite and physical (beyond
 * +-ALPHA_MAX a value from the file is not an index, and would make bins
 * of absurd width or overflow the bin number). */
#define ALPHA_MAX 20.0
static int alpha_ok(double a)
{
    return isfinite(a) && fabs(a) <= ALPHA_MAX;
}

/* Height of a horizontal bar chart of n categories. */
static int hbar_height(size_t n)
{
    int h = 84 + 30 * (int)n;
    return h < 200 ? 200 : h;
}

/* ------------------------------------------------------------------ */
/* Flux history                                                        */

struct fimg {
    const struct asw_image *im;
    int band;
    double flux, err;
};

static int cmp_fimg(const void *a, const void *b)
{
    const struct fimg *x = a, *y = b;
    if (x->band != y->band)
        return x->band - y->band;
    return strcmp(x->im->unit_id, y->im->unit_id);
}

struct plot *fig_flux_history(const struct rep_data *d, const struct rep_src *s,
                              char *cap, size_t n)
{
    char name[96], title[160], alt[512] = "";
    snprintf(name, sizeof name, "flux-%s", s->slug);
    snprintf(title, sizeof title, "%s \xe2\x80\x94 flux density history",
             s->name);
    struct plot *p = plot_new(name, title, 600, 380);
    struct plot_axes *ax = p ? plot_add_axes(p) : NULL;
    struct fimg *m = calloc(s->nimg ? s->nimg : 1, sizeof *m);
    double *tmp = calloc(3 * (s->nimg ? s->nimg : 1), sizeof *tmp);
    size_t k = 0;
    if (!ax || !m || !tmp)
        goto oom;
    ax->xs = PLOT_MJD;
    ax->ys = PLOT_LOG;
    plot_labels(ax, "observation date (UTC)", "flux density S (Jy)");
    snprintf(ax->empty, sizeof ax->empty,
             "no usable flux measurement of this source in /images");
    for (size_t i = 0; i < s->nimg; i++) {
        const struct asw_image *im = &d->images[s->img[i]];
        double f, e;
        if (rep_image_usable(im, &f, &e) && isfinite(im->mjd))
            m[k++] = (struct fimg){im, rep_image_band(im), f, e};
    }
    if (k)
        qsort(m, k, sizeof *m, cmp_fimg);
    size_t alt_len = (size_t)snprintf(
        alt, sizeof alt,
        "Flux density of %s against observation date:", s->name);
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && m[j].band == m[i].band)
            j++;
        int band = m[i].band;
        char label[64];
        struct plot_series *si =
            plot_add_series(ax, PLOT_POINTS, "", rep_band_color(band));
        struct plot_series *sm =
            plot_add_series(ax, PLOT_POINTS, "", rep_band_color(band));
        if (!si || !sm)
            goto oom;
        si->size = 2.0;
        si->opacity = 0.4;
        si->marker = sm->marker = rep_band_marker(band);
        sm->size = 4.6;
        set_meta(si, json_pack("{s:s, s:i}", "what", "image", "band", band));
        set_meta(sm,
                 json_pack("{s:s, s:i}", "what", "measurement", "band", band));
        size_t epochs = 0;
        for (size_t a = i; a < j;) {
            size_t b = a;
            while (b < j && strcmp(m[b].im->unit_id, m[a].im->unit_id) == 0)
                b++;
            size_t c = b - a;
            for (size_t q = 0; q < c; q++) {
                tmp[q] = m[a + q].flux;
                tmp[c + q] = m[a + q].err;
                tmp[2 * c + q] = m[a + q].im->mjd;
            }
            double f = rep_median(tmp, c), e = rep_median(tmp + c, c),
                   t = rep_median(tmp + 2 * c, c);
            if (plot_push(sm, t, f, f - e, f + e, m[a].im->unit_id))
                goto oom;
            epochs++;
            a = b;
        }
        for (size_t a = i; a < j; a++)
            if (plot_push(si, m[a].im->mjd, m[a].flux, NAN, NAN, m[a].im->file))
                goto oom;
        snprintf(label, sizeof label, "B%d: %zu epoch%s, %zu image%s", band,
                 epochs, epochs == 1 ? "" : "s", j - i, j - i == 1 ? "" : "s");
        snprintf(sm->label, sizeof sm->label, "%s", label);
        if (alt_len < sizeof alt)
            alt_len += (size_t)snprintf(alt + alt_len, sizeof alt - alt_len,
                                        " %s;", label);
        i = j;
    }
    snprintf(p->alt, sizeof p->alt, "%s", k ? alt : "no usable flux data");
    size_t cl = (size_t)snprintf(
        cap, n,
        "Large markers: one measurement per unit and band, the median of "
        "its usable images (error bar: their median total error, "
        "flux_tot_err_jy or the band's calibration accuracy); small "
        "markers: the images.");
    for (size_t i = 0; i < s->nsrow && cl < n; i++) {
        const struct asw_cat_source_row *r = &d->sources[s->srow[i]];
        char med[32], lo[32], hi[32];
        rep_fmt(med, sizeof med, r->flux_median_jy, 3);
        rep_fmt(lo, sizeof lo, r->flux_min_jy, 3);
        rep_fmt(hi, sizeof hi, r->flux_max_jy, 3);
        cl += (size_t)snprintf(cap + cl, n - cl,
                               " B%d: median %s Jy (%s to %s) over %lld "
                               "epoch%s.",
                               r->band, med, lo, hi, (long long)r->n_epochs,
                               r->n_epochs == 1 ? "" : "s");
    }
    free(m);
    free(tmp);
    return p;
oom:
    free(m);
    free(tmp);
    return fail(p);
}

/* ------------------------------------------------------------------ */
/* SED                                                                 */

struct sed_unit {
    const char *unit;
    double mjd;
    int band;
    double fmin, fmax; /* Hz, of its usable images */
    size_t nimg, nfit;
};

static int cmp_sed_unit(const void *a, const void *b)
{
    const struct sed_unit *x = a, *y = b;
    int fx = isfinite(x->mjd), fy = isfinite(y->mjd);
    if (fx != fy)
        return fy - fx;
    if (fx && x->mjd != y->mjd)
        return x->mjd < y->mjd ? -1 : 1;
    return strcmp(x->unit, y->unit);
}

static struct sed_unit *sed_unit_get(struct sed_unit *u, size_t *nu,
                                     const char *id)
{
    for (size_t i = 0; i < *nu; i++)
        if (strcmp(u[i].unit, id) == 0)
            return &u[i];
    u[*nu] = (struct sed_unit){id, NAN, 0, NAN, NAN, 0, 0};
    return &u[(*nu)++];
}

static void band_merge(int *band, int b)
{
    if (*band == 0)
        *band = b;
    else if (*band != b)
        *band = -1;
}

static void unit_label(char *buf, size_t n, const struct sed_unit *u)
{
    char date[16];
    rep_date(u->mjd, date, sizeof date);
    if (u->band > 0)
        snprintf(buf, n, "%s B%d", date, u->band);
    else
        snprintf(buf, n, "%s", date);
}

struct plot *fig_sed(const struct rep_data *d, const struct rep_src *s,
                     char *cap, size_t n)
{
    char name[96], title[160];
    snprintf(name, sizeof name, "sed-%s", s->slug);
    snprintf(title, sizeof title,
             "%s \xe2\x80\x94 spectrum and spectral index per unit", s->name);
    struct plot *p = plot_new(name, title, 600, 380);
    struct plot_axes *ax = p ? plot_add_axes(p) : NULL;
    struct sed_unit *u = calloc(s->nimg + s->nsed + 1, sizeof *u);
    size_t nu = 0, nfits = 0, nflag = 0;
    if (!ax || !u)
        goto oom;
    ax->xs = ax->ys = PLOT_LOG;
    plot_labels(ax, "frequency \xce\xbd (GHz)",
                "flux density S_{\xce\xbd} (Jy)");
    snprintf(ax->empty, sizeof ax->empty,
             "no usable image flux and no /seds fit of this source");
    for (size_t i = 0; i < s->nimg; i++) {
        const struct asw_image *im = &d->images[s->img[i]];
        if (!rep_image_usable(im, NULL, NULL) || !(im->freq_hz > 0))
            continue;
        struct sed_unit *x = sed_unit_get(u, &nu, im->unit_id);
        x->nimg++;
        if (!(x->fmin <= im->freq_hz))
            x->fmin = im->freq_hz;
        if (!(x->fmax >= im->freq_hz))
            x->fmax = im->freq_hz;
        if (!(x->mjd <= im->mjd))
            x->mjd = im->mjd;
        band_merge(&x->band, rep_image_band(im));
    }
    for (size_t i = 0; i < s->nsed; i++) {
        const struct asw_sed *sd = &d->seds[s->sed[i]];
        struct sed_unit *x = sed_unit_get(u, &nu, sd->unit_id);
        x->nfit +=
            alpha_ok(sd->alpha) && sd->flux_ref_jy > 0 && sd->ref_freq_hz > 0;
        if (isfinite(sd->mjd))
            x->mjd = sd->mjd;
        if (sd->band > 0 && x->nimg == 0)
            band_merge(&x->band, sd->band);
    }
    if (nu)
        qsort(u, nu, sizeof *u, cmp_sed_unit);
    size_t first_colour = nu > MAX_COLOUR ? nu - MAX_COLOUR : 0;
    int grey_labelled = 0;
    for (size_t k = 0; k < nu; k++) {
        struct sed_unit *x = &u[k];
        int coloured = k >= first_colour;
        /* The band's colour, paler for the band's earlier units. */
        size_t rank = 0, of = 0;
        for (size_t q = first_colour; q < nu; q++)
            if (u[q].band == x->band) {
                rank += q < k;
                of++;
            }
        double pale =
            of > 1 ? 0.6 * (double)(of - 1 - rank) / (double)(of - 1) : 0;
        struct plot_rgb bc = rep_band_color(x->band > 0 ? x->band : 0);
        struct plot_rgb col = {bc.r + (1 - bc.r) * pale,
                               bc.g + (1 - bc.g) * pale,
                               bc.b + (1 - bc.b) * pale};
        if (!coloured)
            col = GREY;
        enum plot_marker mk = rep_band_marker(x->band > 0 ? x->band : 0);
        char ulabel[48], label[128] = "";
        unit_label(ulabel, sizeof ulabel, x);
        if (!coloured && !grey_labelled) {
            snprintf(label, sizeof label, "%zu earlier units", first_colour);
            grey_labelled = 1;
        }
        if (x->nimg) {
            char nofit[96];
            const char *lab = "";
            if (coloured && x->nfit == 0) {
                snprintf(nofit, sizeof nofit, "%s: no fit", ulabel);
                lab = nofit;
            } else if (!coloured) {
                lab = label;
            }
            struct plot_series *sp = plot_add_series(ax, PLOT_POINTS, lab, col);
            if (!sp)
                goto oom;
            if (lab == label)
                label[0] = 0;
            sp->size = 3.6;
            sp->marker = mk;
            set_meta(sp, json_pack("{s:s, s:s}", "what", "image", "unit_id",
                                   x->unit));
            for (size_t i = 0; i < s->nimg; i++) {
                const struct asw_image *im = &d->images[s->img[i]];
                double f, e;
                if (strcmp(im->unit_id, x->unit) ||
                    !rep_image_usable(im, &f, &e) || !(im->freq_hz > 0))
                    continue;
                if (plot_push(sp, im->freq_hz / 1e9, f, f - e, f + e, im->file))
                    goto oom;
            }
        }
        for (size_t i = 0; i < s->nsed; i++) {
            const struct asw_sed *sd = &d->seds[s->sed[i]];
            if (strcmp(sd->unit_id, x->unit))
                continue;
            if (!alpha_ok(sd->alpha) || !(sd->flux_ref_jy > 0) ||
                !(sd->ref_freq_hz > 0))
                continue;
            nfits++;
            nflag += sd->flags > 0 && (sd->flags & ASW_SED_BAD_FIT);
            double err =
                isfinite(sd->alpha_sys_err) ? sd->alpha_sys_err : sd->alpha_err;
            char a[32], e[32];
            rep_fmt(a, sizeof a, sd->alpha, 2);
            rep_fmt(e, sizeof e, err, 2);
            if (coloured)
                snprintf(label, sizeof label,
                         isfinite(err) ? "%s \xce\xb1=%s\xc2\xb1%s"
                                       : "%s \xce\xb1=%s",
                         ulabel, a, e);
            struct plot_series *sl = plot_add_series(ax, PLOT_LINE, label, col);
            if (!sl)
                goto oom;
            label[0] = 0;
            sl->size = 1.8;
            sl->marker = mk;
            sl->legend_marker = 3.4;
            sl->dashed = sd->flags > 0 && (sd->flags & ASW_SED_BAD_FIT);
            set_meta(sl, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:i, "
                                   "s:i, s:o, s:i, s:i}",
                                   "what", "fit", "unit_id", x->unit, "alpha",
                                   json_real(sd->alpha), "alpha_err",
                                   isfinite(sd->alpha_err)
                                       ? json_real(sd->alpha_err)
                                       : json_null(),
                                   "alpha_sys_err",
                                   isfinite(sd->alpha_sys_err)
                                       ? json_real(sd->alpha_sys_err)
                                       : json_null(),
                                   "flux_ref_jy", json_real(sd->flux_ref_jy),
                                   "ref_freq_hz", json_real(sd->ref_freq_hz),
                                   "band", sd->band, "n_spw", sd->n_spw, "chi2",
                                   isfinite(sd->chi2) ? json_real(sd->chi2)
                                                      : json_null(),
                                   "dof", sd->dof, "flags", sd->flags));
            double lo = x->nimg > 1 && x->fmax > x->fmin
                            ? x->fmin
                            : sd->ref_freq_hz / 1.06;
            double hi = x->nimg > 1 && x->fmax > x->fmin
                            ? x->fmax
                            : sd->ref_freq_hz * 1.06;
            for (int q = 0; q <= 24; q++) {
                double f = lo * pow(hi / lo, q / 24.0);
                double sv =
                    sd->flux_ref_jy * pow(f / sd->ref_freq_hz, sd->alpha);
                if (plot_push(sl, f / 1e9, sv, NAN, NAN, NULL))
                    goto oom;
            }
        }
    }
    /* Many units: the legend beside the plot, not over the points. */
    if (nu - first_colour > 4)
        ax->legend = 2;
    snprintf(p->alt, sizeof p->alt,
             "Flux density of %s against frequency on log axes: %zu units, "
             "%zu spectral-index fits",
             s->name, nu, nfits);
    snprintf(
        cap, n,
        "Points: usable images of each unit (observation), in its band's "
        "colour, paler for earlier units of the band; lines: the power "
        "law S = S_ref (\xce\xbd/\xce\xbd_ref)^\xce\xb1 fitted per "
        "unit (/seds) over "
        "the unit's frequencies, dashed when its reduced chi-square is too "
        "large (BAD_FIT: %zu of %zu). The \xce\xb1 error includes the "
        "inter-spw flux "
        "scatter (alpha_sys_err).",
        nflag, nfits);
    free(u);
    return p;
oom:
    free(u);
    return fail(p);
}

/* ------------------------------------------------------------------ */
/* Absorption                                                          */

const struct asw_spectrum *rep_line_spectrum(const struct rep_data *d,
                                             const struct asw_line *l)
{
    const struct asw_spectrum *best = NULL;
    for (size_t i = 0; i < d->nspectra; i++) {
        const struct asw_spectrum *sp = &d->spectra[i];
        if (strcmp(sp->unit_id, l->unit_id) || sp->spw != l->spw)
            continue;
        if (strcmp(sp->file, l->file) == 0)
            return sp;
        if (!best && strcmp(sp->source, l->source) == 0)
            best = sp;
    }
    return best;
}

static double radio_v(double f, double rest)
{
    return C_KMS * (1 - f / rest);
}

struct plot *fig_absorption(const struct rep_data *d, const struct rep_src *s,
                            size_t line, size_t k, char *cap, size_t n)
{
    const struct asw_line *l = &d->lines[line];
    const struct asw_spectrum *sp = rep_line_spectrum(d, l);
    double rest = l->rest_freq_hz > 0 ? l->rest_freq_hz : l->freq_hz;
    char name[96], title[200], xl[160], rf[32];
    const char *species = l->species[0] ? l->species : "unidentified line";
    snprintf(name, sizeof name, "abs-%s-%zu", s->slug, k);
    snprintf(title, sizeof title, "%s \xe2\x80\x94 %s absorption (spw %d)",
             s->name, species, l->spw);
    struct plot *p = plot_new(name, title, 580, 600);
    struct plot_axes *top = p ? plot_add_axes(p) : NULL;
    struct plot_axes *mid = p ? plot_add_axes(p) : NULL;
    struct plot_axes *bot = p ? plot_add_axes(p) : NULL;
    if (!top || !mid || !bot)
        return fail(p);
    const struct plot_rgb ink = {0.2, 0.2, 0.2}, cont = hex(0xe69f00),
                          tauc = hex(0x0072b2), feat = {1.0, 0.86, 0.86},
                          mark = hex(0xd55e00), noise = {0.80, 0.88, 0.96};
    top->weight = 0.85;
    mid->weight = 0.9;
    bot->weight = 1.25;
    snprintf(top->title, sizeof top->title, "whole spectral window");
    snprintf(mid->title, sizeof mid->title, "around the line");
    plot_labels(top, "sky frequency (GHz)", "S_{\xce\xbd} (Jy/beam)");
    if (rest > 0) {
        rep_fmt(rf, sizeof rf, rest / 1e9, 4);
        snprintf(xl, sizeof xl,
                 "radio velocity v_{LSRK} (km/s) for %s at %s GHz",
                 l->rest_freq_hz > 0 ? species : "the line centre", rf);
    } else {
        snprintf(xl, sizeof xl, "radio velocity v_{LSRK} (km/s)");
    }
    plot_labels(mid, "", "S_{\xce\xbd} (Jy/beam)");
    plot_labels(bot, xl, "optical depth \xcf\x84");
    bot->y_from_zero = 1; /* tau is a depth below the continuum */
    mid->hide_xticklabels = 1;
    const char *why = sp ? "" : "the cube's spectrum is not in /spectra";
    snprintf(top->empty, sizeof top->empty, "%s", why);
    snprintf(mid->empty, sizeof mid->empty, "%s", why);
    snprintf(bot->empty, sizeof bot->empty, "%s",
             sp ? "no optical depth values (tau) in this spectrum" : why);

    double v0 = isfinite(l->v_lsrk_kms) ? l->v_lsrk_kms
                : rest > 0              ? radio_v(l->freq_hz, rest)
                                        : NAN;
    double hw = l->fwhm_kms > 0 ? 6 * l->fwhm_kms : 100;
    hw = hw < 30 ? 30 : hw;
    if (isfinite(v0)) {
        mid->xlim[0] = bot->xlim[0] = v0 - hw;
        mid->xlim[1] = bot->xlim[1] = v0 + hw;
    }
    json_t *meta = json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:o}", "what", "spectrum",
        "unit_id", l->unit_id, "file", l->file, "spw", l->spw, "species",
        l->species, "rest_freq_hz", rest > 0 ? json_real(rest) : json_null(),
        "v_lsrk_kms", isfinite(v0) ? json_real(v0) : json_null(), "fwhm_kms",
        isfinite(l->fwhm_kms) ? json_real(l->fwhm_kms) : json_null());
    if (sp && rest > 0 && isfinite(v0)) {
        struct plot_series *fa =
            plot_add_series(top, PLOT_STEP, "flux density", ink);
        struct plot_series *ca =
            plot_add_series(top, PLOT_LINE, "continuum", cont);
        struct plot_series *fz = plot_add_series(mid, PLOT_STEP, "", ink);
        struct plot_series *cz = plot_add_series(mid, PLOT_LINE, "", cont);
        struct plot_series *nb = plot_add_series(bot, PLOT_BAND,
                                                 "\xc2\xb1"
                                                 "1\xcf\x83 noise",
                                                 noise);
        struct plot_series *ta =
            plot_add_series(bot, PLOT_STEP, "\xcf\x84", tauc);
        if (!fa || !ca || !fz || !cz || !nb || !ta)
            goto oom;
        fa->size = fz->size = 1.1;
        ca->dashed = cz->dashed = 1;
        ca->size = cz->size = 1.4;
        ta->size = 1.5;
        set_meta(ta, json_incref(meta));
        for (size_t i = 0; i < sp->n_chan; i++) {
            double f = sp->freq_hz[i], v = radio_v(f, rest);
            if (plot_push(fa, f / 1e9, sp->flux_jy[i], NAN, NAN, NULL) ||
                plot_push(ca, f / 1e9, sp->cont_jy[i], NAN, NAN, NULL))
                goto oom;
            if (!(fabs(v - v0) <= hw))
                continue;
            double sig = sp->cont_jy[i] > 0 && sp->noise_jy[i] >= 0
                             ? sp->noise_jy[i] / sp->cont_jy[i]
                             : NAN;
            if (plot_push(fz, v, sp->flux_jy[i], NAN, NAN, NULL) ||
                plot_push(cz, v, sp->cont_jy[i], NAN, NAN, NULL) ||
                plot_push(nb, v, 0, -sig, sig, NULL) ||
                plot_push(ta, v, sp->tau[i], NAN, NAN, NULL))
                goto oom;
        }
        int lo = l->chan_lo, hi = l->chan_hi;
        if (lo >= 0 && hi >= lo && (size_t)hi < sp->n_chan) {
            /* The feature's channels, out to their edges. */
            double df = sp->n_chan > 1
                            ? 0.5 * fabs(sp->freq_hz[1] - sp->freq_hz[0])
                            : 0;
            double f0 = sp->freq_hz[lo], f1 = sp->freq_hz[hi];
            double fl = (f0 < f1 ? f0 : f1) - df, fh = (f0 < f1 ? f1 : f0) + df;
            if (plot_add_span(top, fl / 1e9, fh / 1e9, feat,
                              "feature channels") ||
                plot_add_span(mid, radio_v(fh, rest), radio_v(fl, rest), feat,
                              "") ||
                plot_add_span(bot, radio_v(fh, rest), radio_v(fl, rest), feat,
                              "feature channels"))
                goto oom;
        }
    }
    if (isfinite(v0) && isfinite(l->tau_peak)) {
        char t[32], e[32], label[96];
        rep_fmt(t, sizeof t, l->tau_peak, 2);
        rep_fmt(e, sizeof e, l->tau_peak_err, 2);
        if (l->saturated == 1)
            snprintf(label, sizeof label, "\xcf\x84_{peak} > %s (saturated)",
                     t);
        else if (isfinite(l->tau_peak_err))
            snprintf(label, sizeof label, "\xcf\x84_{peak} = %s \xc2\xb1 %s", t,
                     e);
        else
            snprintf(label, sizeof label, "\xcf\x84_{peak} = %s", t);
        struct plot_series *pk = plot_add_series(bot, PLOT_POINTS, label, mark);
        if (!pk)
            goto oom;
        pk->marker = l->saturated == 1 ? PLOT_TRIANGLE : PLOT_DIAMOND;
        pk->size = 5;
        set_meta(
            pk, json_pack("{s:s, s:o, s:o, s:o}", "what", "line", "tau_peak",
                          json_real(l->tau_peak), "tau_peak_err",
                          isfinite(l->tau_peak_err) ? json_real(l->tau_peak_err)
                                                    : json_null(),
                          "v_lsrk_kms", json_real(v0)));
        double err = isfinite(l->tau_peak_err) ? l->tau_peak_err : NAN;
        if (plot_push(pk, v0, l->tau_peak, l->tau_peak - err, l->tau_peak + err,
                      l->species[0] ? l->species : NULL))
            goto oom;
    }
    if (isfinite(v0)) {
        char v[32], label[64];
        rep_fmt(v, sizeof v, v0, 1);
        snprintf(label, sizeof label, "v_{LSRK} = %s km/s", v);
        if (plot_add_rule(mid, 1, v0, mark, 1, "") ||
            plot_add_rule(bot, 1, v0, mark, 1, label) ||
            plot_add_rule(bot, 0, 0, GREY, 0, "") ||
            (l->freq_hz > 0 &&
             plot_add_rule(top, 1, l->freq_hz / 1e9, mark, 1, "")))
            goto oom;
    }
    json_decref(meta);
    char ti[32], tie[32], fw[32], v[32];
    rep_fmt(ti, sizeof ti, l->tau_int_kms, 3);
    rep_fmt(tie, sizeof tie, l->tau_int_err_kms, 3);
    rep_fmt(fw, sizeof fw, l->fwhm_kms, 2);
    rep_fmt(v, sizeof v, v0, 2);
    snprintf(p->alt, sizeof p->alt,
             "Absorption by %s toward %s: optical depth against radio "
             "velocity, centre %s km/s",
             species, s->name, v);
    snprintf(cap, n,
             "%s in %s (unit %s): centre %s km/s, FWHM %s km/s, integrated "
             "optical depth %s \xc2\xb1 %s km/s. Top: the whole spectral "
             "window with its fitted continuum; middle and bottom: flux "
             "density and optical depth \xcf\x84 = " MINUS
             "ln(S/S_c) against radio velocity, with the feature's "
             "channels shaded and the \xc2\xb1"
             "1\xcf\x83 noise band "
             "(channel noise over continuum).",
             species, l->file, l->unit_id, v, fw, ti, tie);
    return p;
oom:
    json_decref(meta);
    return fail(p);
}

/* ------------------------------------------------------------------ */
/* Spectral index distribution                                         */

static double nice_width(double span)
{
    double raw = span / 14;
    if (!(raw > 0.05))
        return 0.05;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5    ? 1
            : f < 2.25 ? 2
            : f < 3.5  ? 2.5
            : f < 7.5  ? 5
                       : 10) *
           mag;
}

struct plot *fig_alpha_hist(const struct rep_data *d, char *cap, size_t n)
{
    struct plot *p =
        plot_new("alpha-hist", "Spectral indices: per-unit fits and band pairs",
                 1000, 380);
    struct plot_axes *ax = p ? plot_add_axes(p) : NULL;
    size_t *cnt = NULL, *bottom = NULL;
    if (!ax)
        return fail(p);
    plot_labels(
        ax, "spectral index \xce\xb1   (S \xe2\x88\x9d \xce\xbd^{\xce\xb1})",
        "number of indices");
    ax->y_from_zero = ax->y_integer = 1;
    snprintf(ax->empty, sizeof ax->empty,
             "no finite spectral index in /seds or /sources");
    double lo = INFINITY, hi = -INFINITY;
    size_t nfit = 0, npair = 0;
    double *all = malloc((d->nseds + d->nsources + 1) * sizeof *all);
    if (!all)
        return fail(p);
    for (size_t i = 0; i < d->nseds; i++)
        if (alpha_ok(d->seds[i].alpha)) {
            double a = d->seds[i].alpha;
            lo = a < lo ? a : lo;
            hi = a > hi ? a : hi;
            all[nfit++] = a;
        }
    for (size_t i = 0; i < d->nsources; i++)
        if (alpha_ok(d->sources[i].alpha)) {
            double a = d->sources[i].alpha;
            lo = a < lo ? a : lo;
            hi = a > hi ? a : hi;
            npair++;
        }
    size_t wild = 0;
    for (size_t i = 0; i < d->nseds; i++)
        wild += isfinite(d->seds[i].alpha) && !alpha_ok(d->seds[i].alpha);
    for (size_t i = 0; i < d->nsources; i++)
        wild += isfinite(d->sources[i].alpha) && !alpha_ok(d->sources[i].alpha);
    if (nfit + npair == 0) {
        free(all);
        snprintf(p->alt, sizeof p->alt, "no spectral indices");
        snprintf(cap, n, "No spectral index in the catalogue yet.");
        return p;
    }
    double w = nice_width(hi - lo);
    long k0 = (long)floor(lo / w), k1 = (long)floor(hi / w);
    while (k1 - k0 > 400) { /* outliers: wider bins, not thousands */
        w *= 2;
        k0 = (long)floor(lo / w);
        k1 = (long)floor(hi / w);
    }
    size_t nb = (size_t)(k1 - k0 + 1);
    cnt = calloc(nb, sizeof *cnt);
    bottom = calloc(nb, sizeof *bottom);
    if (!cnt || !bottom)
        goto oom;
    /* Stacked by band: bands ascending, "several" (-1 or 0) last. */
    for (int b = 1; b <= 11; b++) {
        int band = b <= 10 ? b : -1;
        size_t m = 0;
        memset(cnt, 0, nb * sizeof *cnt);
        for (size_t i = 0; i < d->nseds; i++) {
            const struct asw_sed *sd = &d->seds[i];
            int sb = sd->band >= 1 && sd->band <= 10 ? sd->band : -1;
            if (!alpha_ok(sd->alpha) || sb != band)
                continue;
            long k = (long)floor(sd->alpha / w) - k0;
            if (k >= 0 && (size_t)k < nb) {
                cnt[k]++;
                m++;
            }
        }
        if (!m)
            continue;
        char label[64];
        if (band > 0)
            snprintf(label, sizeof label, "B%d per-unit fits (%zu)", band, m);
        else
            snprintf(label, sizeof label, "multi-band fits (%zu)", m);
        struct plot_series *s = plot_add_series(ax, PLOT_BARS, label,
                                                band > 0 ? rep_band_color(band)
                                                         : rep_band_color(0));
        if (!s)
            goto oom;
        s->width = w;
        s->opacity = 0.85;
        set_meta(s, json_pack("{s:s, s:i, s:f}", "what", "seds", "band", band,
                              "bin_width", w));
        for (size_t k = 0; k < nb; k++) {
            if (!cnt[k])
                continue;
            double x = (k0 + (long)k + 0.5) * w;
            if (plot_push(s, x, (double)(bottom[k] + cnt[k]), (double)bottom[k],
                          NAN, NULL))
                goto oom;
            bottom[k] += cnt[k];
        }
    }
    if (npair) {
        memset(cnt, 0, nb * sizeof *cnt);
        for (size_t i = 0; i < d->nsources; i++) {
            double a = d->sources[i].alpha;
            long k = alpha_ok(a) ? (long)floor(a / w) - k0 : -1;
            if (k >= 0 && (size_t)k < nb)
                cnt[k]++;
        }
        char label[64];
        snprintf(label, sizeof label, "band pairs, /sources (%zu)", npair);
        struct plot_series *s =
            plot_add_series(ax, PLOT_STEP, label, rep_band_color(0));
        if (!s)
            goto oom;
        s->size = 1.6;
        set_meta(s, json_pack("{s:s, s:f}", "what", "sources", "bin_width", w));
        /* Empty bins at both ends close the outline. */
        for (long k = -1; k <= (long)nb; k++) {
            double c = k >= 0 && k < (long)nb ? (double)cnt[k] : 0;
            if (plot_push(s, (k0 + k + 0.5) * w, c, NAN, NAN, NULL))
                goto oom;
        }
    }
    double med = rep_median(all, nfit);
    if (isfinite(med)) {
        char m[32], label[64];
        rep_fmt(m, sizeof m, med, 2);
        snprintf(label, sizeof label, "median per-unit \xce\xb1 = %s", m);
        if (plot_add_rule(ax, 1, med, (struct plot_rgb){0.1, 0.1, 0.1}, 1,
                          label))
            goto oom;
    }
    char wb[32];
    rep_fmt(wb, sizeof wb, w, 2);
    snprintf(p->alt, sizeof p->alt,
             "Histogram of %zu per-unit spectral indices and %zu band-pair "
             "indices",
             nfit, npair);
    snprintf(cap, n,
             "Bars: the spectral indices fitted per unit over its spectral "
             "windows (/seds), stacked by band; outline: the indices between "
             "bands from near-contemporaneous pairs (/sources). Bins %s wide. "
             "Steep-spectrum sources have \xce\xb1 < " MINUS "0.5, flat ones "
             "\xce\xb1 > " MINUS "0.5.%s",
             wb,
             wild ? " Indices beyond \xc2\xb1"
                    "20 are left out (not "
                    "physical)."
                  : "");
    free(all);
    free(cnt);
    free(bottom);
    return p;
oom:
    free(all);
    free(cnt);
    free(bottom);
    return fail(p);
}

/* ------------------------------------------------------------------ */
/* QA                                                                  */

static const struct {
    int bit;
    const char *label;
    int unusable;
} qa_bits[] = {
    {ASW_QA_NOT_FOUND, "NOT_FOUND: no source at the centre", 1},
    {ASW_QA_OFFSET, "OFFSET: > 0.3 beam off centre", 0},
    {ASW_QA_EXTENDED, "EXTENDED: peak/flux < 0.7", 0},
    {ASW_QA_HIGH_RMS, "HIGH_RMS: rms above theory", 0},
    {ASW_QA_FEW_PIXELS, "FEW_PIXELS: < 3 pixels per beam", 0},
    {ASW_QA_NAN, "NAN: blanked pixels", 0},
    {ASW_QA_LOW_SNR, "LOW_SNR: SNR < 10", 0},
    {ASW_QA_FIT_FAILED, "FIT_FAILED: fit did not converge", 1},
    {ASW_QA_NO_BEAM, "NO_BEAM: no beam in the header", 0},
    {ASW_QA_UNITS, "UNITS: not Jy/beam", 1},
    {ASW_QA_CAT_MISMATCH, "CAT_MISMATCH: flux \xe2\x89\xa0 catalogue", 0},
};

struct plot *fig_qa_flags(const struct rep_data *d, char *cap, size_t n)
{
    const char *cats[NELEM(qa_bits) + 3];
    size_t counts[NELEM(qa_bits) + 3] = {0};
    size_t nc = 0, clean = 0, errors = 0, unknown = 0;
    cats[nc++] = "no QA flag";
    for (size_t b = 0; b < NELEM(qa_bits); b++)
        cats[nc++] = qa_bits[b].label;
    for (size_t i = 0; i < d->nimages; i++) {
        const struct asw_image *im = &d->images[i];
        if (im->error[0]) {
            errors++;
            continue;
        }
        if (im->qa_flags < 0) {
            unknown++;
            continue;
        }
        if (im->qa_flags == 0)
            clean++;
        for (size_t b = 0; b < NELEM(qa_bits); b++)
            if (im->qa_flags & qa_bits[b].bit)
                counts[1 + b]++;
    }
    counts[0] = clean;
    size_t i_err = nc;
    cats[nc] = "not measured (error)";
    counts[nc++] = errors;
    size_t i_unk = unknown ? nc : (size_t)-1;
    if (unknown) {
        cats[nc] = "QA not recorded";
        counts[nc++] = unknown;
    }
    struct plot *p =
        plot_new("qa-flags", "Images per QA flag", 600, hbar_height(nc));
    struct plot_axes *ax = p ? plot_add_axes(p) : NULL;
    if (!ax || plot_categories(ax, cats, nc))
        return fail(p);
    ax->x_from_zero = ax->x_integer = 1;
    plot_labels(ax, "images", "");
    snprintf(ax->empty, sizeof ax->empty, "no /images rows");
    struct plot_series *ok =
        plot_add_series(ax, PLOT_HBARS, "no flag", hex(0x2ca02c));
    struct plot_series *warn = plot_add_series(
        ax, PLOT_HBARS, "flag set, image still used", hex(0xff7f0e));
    struct plot_series *bad = plot_add_series(
        ax, PLOT_HBARS, "flag makes the image unusable", hex(0xd62728));
    struct plot_series *gone =
        plot_add_series(ax, PLOT_HBARS, "not measured", GREY);
    if (!ok || !warn || !bad || !gone)
        return fail(p);
    ax->legend = 1;
    if (d->nimages) {
        for (size_t c = 0; c < nc; c++) {
            struct plot_series *s = c == 0                     ? ok
                                    : c == i_err || c == i_unk ? gone
                                    : qa_bits[c - 1].unusable  ? bad
                                                               : warn;
            if (plot_push(s, (double)counts[c], (double)c, NAN, NAN, NULL))
                return fail(p);
        }
    }
    snprintf(p->alt, sizeof p->alt,
             "Bar chart of images per QA flag: %zu images, %zu without flag, "
             "%zu not measured",
             d->nimages, clean, errors);
    snprintf(cap, n,
             "%zu images: %zu without any QA flag, %zu not measured. An image "
             "can carry several flags. NOT_FOUND, FIT_FAILED and UNITS keep "
             "an image out of the flux histories and /sources.",
             d->nimages, clean, errors);
    return p;
}

struct plot *fig_qa_snr(const struct rep_data *d, char *cap, size_t n)
{
    struct plot *p =
        plot_new("qa-snr", "Signal-to-noise ratio of the images", 600, 380);
    struct plot_axes *ax = p ? plot_add_axes(p) : NULL;
    if (!ax)
        return fail(p);
    ax->xs = ax->ys = PLOT_LOG;
    plot_labels(ax, "frequency \xce\xbd (GHz)", "SNR (peak / rms)");
    snprintf(ax->empty, sizeof ax->empty, "no image with a frequency and SNR");
    size_t shown = 0, flagged = 0;
    for (int b = 0; b <= 10; b++) {
        for (int fl = 0; fl < 2; fl++) {
            struct plot_series *s = NULL;
            size_t m = 0;
            for (size_t i = 0; i < d->nimages; i++) {
                const struct asw_image *im = &d->images[i];
                int band = rep_image_band(im);
                if (im->error[0] || !(im->snr > 0) || !(im->freq_hz > 0) ||
                    band != b || (im->qa_flags > 0) != fl)
                    continue;
                if (!s) {
                    char label[64];
                    snprintf(label, sizeof label,
                             fl ? "B%d, QA flag set" : "B%d", b);
                    s = plot_add_series(ax, PLOT_POINTS, b ? label : "",
                                        rep_band_color(b));
                    if (!s)
                        return fail(p);
                    s->marker = rep_band_marker(b);
                    s->open = fl;
                    s->size = 3.2;
                    set_meta(s, json_pack("{s:s, s:i, s:b}", "what", "image",
                                          "band", b, "flagged", fl));
                }
                if (plot_push(s, im->freq_hz / 1e9, im->snr, NAN, NAN,
                              im->file))
                    return fail(p);
                m++;
            }
            shown += m;
            flagged += fl ? m : 0;
        }
    }
    if (plot_add_rule(ax, 0, 10, hex(0xd62728), 1, "SNR 10 (LOW_SNR below)"))
        return fail(p);
    snprintf(p->alt, sizeof p->alt,
             "SNR against frequency for %zu images, %zu with a QA flag", shown,
             flagged);
    snprintf(cap, n,
             "Peak over robust rms of every measured image, coloured by band; "
             "hollow markers carry at least one QA flag (%zu of %zu).",
             flagged, shown);
    return p;
}

struct plot *fig_qa_catflux(const struct rep_data *d, char *cap, size_t n)
{
    struct plot *p =
        plot_new("qa-catflux",
                 "Measured flux over the calibrator-catalogue flux", 600, 380);
    struct plot_axes *ax = p ? plot_add_axes(p) : NULL;
    if (!ax)
        return fail(p);
    ax->xs = PLOT_LOG;
    plot_labels(ax, "frequency \xce\xbd (GHz)", "S_{measured} / S_{catalogue}");
    snprintf(ax->empty, sizeof ax->empty,
             "no image has a calibrator-catalogue flux (cat_flux_jy)");
    size_t m = 0, mism = 0;
    for (int b = 0; b <= 10; b++) {
        struct plot_series *s = NULL;
        for (size_t i = 0; i < d->nimages; i++) {
            const struct asw_image *im = &d->images[i];
            double r = isfinite(im->cat_flux_ratio) ? im->cat_flux_ratio
                       : im->cat_flux_jy > 0 ? im->flux_jy / im->cat_flux_jy
                                             : NAN;
            if (im->error[0] || !isfinite(r) || !(im->freq_hz > 0) ||
                rep_image_band(im) != b)
                continue;
            if (!s) {
                char label[16];
                snprintf(label, sizeof label, "B%d", b);
                s = plot_add_series(ax, PLOT_POINTS, b ? label : "",
                                    rep_band_color(b));
                if (!s)
                    return fail(p);
                s->marker = rep_band_marker(b);
                s->size = 3.2;
                set_meta(s,
                         json_pack("{s:s, s:i}", "what", "image", "band", b));
            }
            if (plot_push(s, im->freq_hz / 1e9, r, NAN, NAN, im->file))
                return fail(p);
            m++;
            mism += im->qa_flags > 0 && (im->qa_flags & ASW_QA_CAT_MISMATCH);
        }
    }
    if (m && plot_add_rule(ax, 0, 1, GREY, 1, "equal"))
        return fail(p);
    snprintf(p->alt, sizeof p->alt,
             "Ratio of measured to catalogue flux for %zu images", m);
    snprintf(cap, n,
             "Integrated flux of the fit over the calibrator catalogue's "
             "flux at the image's frequency (flux.csv or the flux service), "
             "%zu images; %zu flagged CAT_MISMATCH.",
             m, mism);
    return p;
}

/* ------------------------------------------------------------------ */
/* Sweep statistics                                                    */

struct plot *fig_units_status(const struct rep_data *d, char *cap, size_t n)
{
    static const char *const names[] = {"done", "failed", "interrupted",
                                        "skipped", "pending"};
    const char *cats[6];
    size_t cnt[6] = {0}, nc = NELEM(names);
    for (size_t i = 0; i < nc; i++)
        cats[i] = names[i];
    for (size_t i = 0; i < d->nunits; i++) {
        size_t k = 0;
        while (k < NELEM(names) && strcmp(d->units[i].status, names[k]))
            k++;
        if (k == NELEM(names)) {
            cats[NELEM(names)] = "other";
            nc = NELEM(names) + 1;
        }
        cnt[k]++;
    }
    struct plot *p =
        plot_new("units-status", "Units by status", 370, hbar_height(nc));
    struct plot_axes *ax = p ? plot_add_axes(p) : NULL;
    if (!ax || plot_categories(ax, cats, nc))
        return fail(p);
    ax->x_from_zero = ax->x_integer = 1;
    ax->legend = 0;
    plot_labels(ax, "units", "");
    snprintf(ax->empty, sizeof ax->empty, "no /units rows");
    for (size_t k = 0; d->nunits && k < nc; k++) {
        struct plot_series *s =
            plot_add_series(ax, PLOT_HBARS, "", rep_status_color(cats[k]));
        if (!s || plot_push(s, (double)cnt[k], (double)k, NAN, NAN, NULL))
            return fail(p);
        set_meta(s, json_pack("{s:s}", "status", cats[k]));
    }
    snprintf(p->alt, sizeof p->alt,
             "Units by status: %zu done, %zu failed, %zu interrupted, %zu "
             "skipped, %zu pending",
             cnt[0], cnt[1], cnt[2], cnt[3], cnt[4]);
    snprintf(cap, n,
             "%zu units in /units, by the status of their last "
             "attempt.",
             d->nunits);
    return p;
}

struct plot *fig_stage_time(const struct rep_data *d, char *cap, size_t n)
{
    static const char *const cats[] = {"download", "extract",
                                       "process (products/CASA)", "reduce"};
    double sum[4] = {0};
    size_t with = 0;
    for (size_t i = 0; i < d->nunits; i++) {
        const struct asw_cat_unit_row *u = &d->units[i];
        double t[4] = {u->t_download_s, u->t_extract_s, u->t_process_s,
                       u->t_reduce_s};
        int any = 0;
        for (int k = 0; k < 4; k++)
            if (isfinite(t[k]) && t[k] >= 0) {
                sum[k] += t[k];
                any = 1;
            }
        with += any;
    }
    struct plot *p =
        plot_new("stage-time", "Wall time per stage", 370, hbar_height(4));
    struct plot_axes *ax = p ? plot_add_axes(p) : NULL;
    if (!ax || plot_categories(ax, cats, 4))
        return fail(p);
    ax->x_from_zero = 1;
    ax->legend = 0;
    plot_labels(ax, "seconds, summed over units", "");
    snprintf(ax->empty, sizeof ax->empty, "no unit timings in /units");
    struct plot_series *s = plot_add_series(ax, PLOT_HBARS, "", hex(0x4c72b0));
    if (!s)
        return fail(p);
    for (int k = 0; with && k < 4; k++)
        if (plot_push(s, sum[k], k, NAN, NAN, NULL))
            return fail(p);
    double total = sum[0] + sum[1] + sum[2] + sum[3];
    snprintf(p->alt, sizeof p->alt,
             "Wall time per stage summed over %zu units: %.1f s in all", with,
             total);
    snprintf(cap, n,
             "Download, extraction, processing and reduction wall time of "
             "the last attempt of each unit, summed over %zu units "
             "(%.1f s in all; the ranks work in parallel).",
             with, total);
    return p;
}

struct worker {
    char name[96];
    size_t done, failed;
};

static int cmp_worker(const void *a, const void *b)
{
    const struct worker *x = a, *y = b;
    size_t nx = x->done + x->failed, ny = y->done + y->failed;
    if (nx != ny)
        return nx > ny ? -1 : 1;
    return strcmp(x->name, y->name);
}

#define MAX_WORKERS 24

struct plot *fig_workers(const struct rep_data *d, char *cap, size_t n)
{
    struct worker *w = calloc(d->nunits + 1, sizeof *w);
    size_t nw = 0;
    if (!w)
        return NULL;
    for (size_t i = 0; i < d->nunits; i++) {
        const struct asw_cat_unit_row *u = &d->units[i];
        int done = strcmp(u->status, "done") == 0;
        int failed = strcmp(u->status, "failed") == 0;
        if (!done && !failed)
            continue;
        /* The short host name (hostname -s), as people call nodes. */
        char name[96];
        const char *h = u->host[0] ? u->host : "?";
        int hl = (int)strcspn(h, ".");
        hl = hl > 0 && hl < 64 ? hl : 64;
        if (u->rank >= 0)
            snprintf(name, sizeof name, "%.*s rank %d", hl, h, u->rank);
        else
            snprintf(name, sizeof name, "%.*s", hl, h);
        size_t k = 0;
        while (k < nw && strcmp(w[k].name, name))
            k++;
        if (k == nw)
            snprintf(w[nw++].name, sizeof w->name, "%s", name);
        w[k].done += done;
        w[k].failed += failed;
    }
    if (nw)
        qsort(w, nw, sizeof *w, cmp_worker);
    if (nw > MAX_WORKERS) {
        struct worker *o = &w[MAX_WORKERS - 1];
        snprintf(o->name, sizeof o->name, "%zu other workers",
                 nw - MAX_WORKERS + 1);
        for (size_t k = MAX_WORKERS; k < nw; k++) {
            o->done += w[k].done;
            o->failed += w[k].failed;
        }
        nw = MAX_WORKERS;
    }
    const char **cats = calloc(nw + 1, sizeof *cats);
    struct plot *p =
        plot_new("workers", "Units per worker", 370, hbar_height(nw ? nw : 1));
    struct plot_axes *ax = p && cats ? plot_add_axes(p) : NULL;
    for (size_t k = 0; ax && k < nw; k++)
        cats[k] = w[k].name;
    if (!ax || plot_categories(ax, cats, nw))
        goto oom;
    ax->x_from_zero = ax->x_integer = 1;
    plot_labels(ax, "units", "");
    snprintf(ax->empty, sizeof ax->empty, "no unit done or failed yet");
    struct plot_series *sd =
        plot_add_series(ax, PLOT_HBARS, "done", rep_status_color("done"));
    struct plot_series *sf =
        plot_add_series(ax, PLOT_HBARS, "failed", rep_status_color("failed"));
    if (!sd || !sf)
        goto oom;
    size_t nf = 0;
    for (size_t k = 0; k < nw; k++) {
        if (plot_push(sd, (double)w[k].done, (double)k, NAN, NAN, NULL))
            goto oom;
        if (w[k].failed && plot_push(sf, (double)(w[k].done + w[k].failed),
                                     (double)k, (double)w[k].done, NAN, NULL))
            goto oom;
        nf += w[k].failed;
    }
    ax->legend = nf > 0;
    snprintf(p->alt, sizeof p->alt,
             "Units done and failed per worker, %zu "
             "workers",
             nw);
    snprintf(cap, n,
             "Units whose last attempt ran on each worker (host and MPI "
             "rank), done and failed.");
    free(w);
    free(cats);
    return p;
oom:
    free(w);
    free(cats);
    return fail(p);
}

struct reason {
    char key[80];
    size_t n;
};

static int cmp_reason(const void *a, const void *b)
{
    const struct reason *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->key, y->key);
}

#define MAX_REASONS 16

struct plot *fig_fail_reasons(const struct rep_data *d, char *cap, size_t n)
{
    struct reason *r = calloc(d->nunits + 1, sizeof *r);
    size_t nr = 0, nfail = 0;
    if (!r)
        return NULL;
    for (size_t i = 0; i < d->nunits; i++) {
        const struct asw_cat_unit_row *u = &d->units[i];
        if (strcmp(u->status, "failed"))
            continue;
        nfail++;
        /* module:code of module:code:text */
        char key[80];
        const char *c1 = strchr(u->error, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!u->error[0])
            snprintf(key, sizeof key, "(no error recorded)");
        else if (c2)
            snprintf(key, sizeof key, "%.*s",
                     (int)(c2 - u->error < 79 ? c2 - u->error : 79), u->error);
        else
            snprintf(key, sizeof key, "%.40s", u->error);
        size_t k = 0;
        while (k < nr && strcmp(r[k].key, key))
            k++;
        if (k == nr)
            snprintf(r[nr++].key, sizeof r->key, "%s", key);
        r[k].n++;
    }
    if (nr)
        qsort(r, nr, sizeof *r, cmp_reason);
    if (nr > MAX_REASONS) {
        struct reason *o = &r[MAX_REASONS - 1];
        snprintf(o->key, sizeof o->key, "%zu other reasons",
                 nr - MAX_REASONS + 1);
        for (size_t k = MAX_REASONS; k < nr; k++)
            o->n += r[k].n;
        nr = MAX_REASONS;
    }
    const char **cats = calloc(nr + 1, sizeof *cats);
    struct plot *p = plot_new("fail-reasons", "Failed units by reason", 600,
                              hbar_height(nr ? nr : 1));
    struct plot_axes *ax = p && cats ? plot_add_axes(p) : NULL;
    for (size_t k = 0; ax && k < nr; k++)
        cats[k] = r[k].key;
    if (!ax || plot_categories(ax, cats, nr))
        goto oom;
    ax->x_from_zero = ax->x_integer = 1;
    ax->legend = 0;
    plot_labels(ax, "failed units", "");
    snprintf(ax->empty, sizeof ax->empty, "no failed units");
    struct plot_series *s =
        plot_add_series(ax, PLOT_HBARS, "", rep_status_color("failed"));
    if (!s)
        goto oom;
    for (size_t k = 0; k < nr; k++)
        if (plot_push(s, (double)r[k].n, (double)k, NAN, NAN, r[k].key))
            goto oom;
    snprintf(p->alt, sizeof p->alt, "%zu failed units in %zu reasons", nfail,
             nr);
    snprintf(cap, n,
             "Failed units (no attempts left) grouped by module and error "
             "code of their last error (module:code:text); the table below "
             "has every message.");
    free(r);
    free(cats);
    return p;
oom:
    free(r);
    free(cats);
    return fail(p);
}
