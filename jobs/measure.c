#include "measure.h"

#include "io/fitsimg.h"
#include "src/reduce/band.h"
#include "src/reduce/cube.h"
#include "src/reduce/qa.h"
#include "src/reduce/sed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int asw_intent_is_calibrator(const char *intent)
{
    return strcmp(intent, "bp") == 0 || strcmp(intent, "ph") == 0 ||
           strcmp(intent, "ch") == 0 || strcmp(intent, "amp") == 0 ||
           strncmp(intent, "pol", 3) == 0 || strncmp(intent, "Pol", 3) == 0;
}

int asw_product_name_parse(const char *name, struct asw_product_name *out)
{
    memset(out, 0, sizeof *out);
    out->spw = -1;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *p = base;
    if (strncmp(p, "member.", 7) == 0)
        p += 7;
    /* uid___A001_X1465_X2f66 up to the first '.' */
    size_t ulen = strcspn(p, ".");
    if (strncmp(p, "uid___", 6) || ulen >= sizeof out->mous || !p[ulen])
        return ASW_EINVAL;
    memcpy(out->mous, p, ulen);
    p += ulen + 1;
    /* <source>_<intent>.spw<N...>.<specmode>.<stokes>[.pbcor].fits */
    const char *spw = strstr(p, ".spw");
    if (!spw)
        return ASW_EINVAL;
    const char *us = NULL;
    for (const char *q = p; q < spw; q++)
        if (*q == '_')
            us = q;
    if (!us || us == p || (size_t)(us - p) >= sizeof out->source ||
        (size_t)(spw - us - 1) >= sizeof out->intent)
        return ASW_EINVAL;
    memcpy(out->source, p, (size_t)(us - p));
    memcpy(out->intent, us + 1, (size_t)(spw - us - 1));
    char *end;
    long n = strtol(spw + 4, &end, 10);
    if (end == spw + 4 || n < 0 || n > 100000)
        return ASW_EINVAL;
    out->spw = (int)n;
    while (*end && *end != '.')
        end++; /* spw16_18_20 lists for aggregate continuum */
    if (*end != '.')
        return ASW_EINVAL;
    const char *mode = end + 1;
    size_t mlen = strcspn(mode, ".");
    if (!mode[mlen] || mlen >= sizeof out->specmode)
        return ASW_EINVAL;
    memcpy(out->specmode, mode, mlen);
    const char *stokes = mode + mlen + 1;
    size_t slen = strcspn(stokes, ".");
    if (slen < sizeof out->stokes)
        memcpy(out->stokes, stokes, slen);
    size_t blen = strlen(base);
    out->pbcor = blen > 11 && strcmp(base + blen - 11, ".pbcor.fits") == 0;
    return 0;
}

void asw_measure_opts_init(struct asw_measure_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rms_theory_jy = NAN;
    asw_reduce_opts_init(&o->reduce);
    asw_absorb_opts_init(&o->absorb);
}

/* The pipeline's intent keyword (BANDPASS, PHASE, ...) as the file-name
 * tag. */
static void intent_tag(const char *kw, char *out, size_t n)
{
    static const struct {
        const char *kw, *tag;
    } map[] = {{"BANDPASS", "bp"},   {"PHASE", "ph"}, {"CHECK", "ch"},
               {"AMPLITUDE", "amp"}, {"FLUX", "amp"}, {"POL", "pol"},
               {"TARGET", "sci"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncasecmp(kw, map[i].kw, strlen(map[i].kw)) == 0) {
            snprintf(out, n, "%s", map[i].tag);
            return;
        }
}

/* Text that reaches JSON and HDF5 must be valid UTF-8: file names and
 * messages from outside are cut to printable ASCII. */
static void ascii_clean(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

/* The message without the path it may start with (io/ names the file). */
static const char *strip_path(const char *msg, const char *path)
{
    size_t pl = strlen(path);
    if (strncmp(msg, path, pl) == 0 && msg[pl] == ':' && msg[pl + 1] == ' ')
        return msg + pl + 2;
    return msg;
}

static int is_jy_beam(const char *u)
{
    char s[32];
    size_t k = 0;
    for (const char *p = u; *p && k < sizeof s - 1; p++)
        if (*p != ' ')
            s[k++] = *p;
    s[k] = '\0';
    return !strcasecmp(s, "Jy/beam") || !strcasecmp(s, "Jybeam-1") ||
           !strcasecmp(s, "Jy.beam-1");
}

/* The pipeline's primary beam next to a .pbcor.fits, if it exists. */
static int find_pb(const char *path, char *out, size_t n)
{
    size_t len = strlen(path);
    const char *suf = ".pbcor.fits";
    size_t sl = strlen(suf);
    if (len <= sl || strcmp(path + len - sl, suf) || len + 8 >= n)
        return -1;
    static const char *const tries[] = {".pb.fits.gz", ".pb.fits"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(out, n, "%.*s%s", (int)(len - sl), path, tries[i]);
        if (access(out, R_OK) == 0)
            return 0;
    }
    return -1;
}

static int rows_reader(void *ctx, long chan, long y0, long nrows, float *buf,
                       struct asw_err *err)
{
    return asw_fits_read_rows(ctx, chan, y0, nrows, buf, err);
}

/* Read the whole first plane of the primary beam at pb_path if it matches
 * the image's size; NULL otherwise (a missing or odd PB is not an error:
 * the noise then comes from the fallback annulus). */
static float *read_pb(const char *pb_path, long nx, long ny)
{
    struct asw_fits *F;
    struct asw_fits_header h;
    struct asw_err e = {0};
    if (asw_fits_open(pb_path, &F, &h, &e))
        return NULL;
    float *pb = NULL;
    if (h.nx == nx && h.ny == ny) {
        pb = malloc((size_t)nx * (size_t)ny * sizeof *pb);
        if (pb && asw_fits_read_rows(F, 0, 0, ny, pb, &e)) {
            free(pb);
            pb = NULL;
        }
    }
    asw_fits_close(F);
    asw_fits_header_free(&h);
    return pb;
}

struct measured {
    struct asw_spectrum sp; /* n_chan 0 for images */
    struct asw_line lines[ASW_ABSORB_MAX_LINES];
    size_t n_lines;
};

static int measure_cube(struct asw_fits *F, const struct asw_fits_header *h,
                        const struct asw_measure_opts *o,
                        const struct asw_sky_image *geo, struct asw_image *row,
                        struct measured *m, struct asw_err *err)
{
    size_t n = (size_t)h->nchan;
    double *freq = malloc(n * sizeof *freq), *flux = malloc(n * sizeof *flux);
    double *noise = malloc(n * sizeof *noise), *ap = malloc(n * sizeof *ap);
    double *cont = malloc(n * sizeof *cont), *nout = malloc(n * sizeof *nout);
    double *tau = malloc(n * sizeof *tau);
    int rc = 0;
    if (!freq || !flux || !noise || !ap || !cont || !nout || !tau) {
        rc = asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
        goto out;
    }
    if ((rc = asw_fits_chan_freqs(h, freq, err)))
        goto out;
    struct asw_sky_cube c = {
        .nx = h->nx,
        .ny = h->ny,
        .nchan = h->nchan,
        .wcs = h->wcs,
        .bmaj_arcsec = geo->bmaj_arcsec,
        .bmin_arcsec = geo->bmin_arcsec,
        .bpa_deg = geo->bpa_deg,
        .chan_bmaj_arcsec = h->chan_bmaj_arcsec,
        .chan_bmin_arcsec = h->chan_bmin_arcsec,
        .chan_bpa_deg = h->chan_bpa_deg,
        .phase_ra_deg = geo->phase_ra_deg,
        .phase_dec_deg = geo->phase_dec_deg,
        .pbcor = geo->pbcor,
        .read = rows_reader,
        .ctx = F,
    };
    if ((rc = asw_reduce_cube(&c, &o->reduce, row, flux, ap, noise, err)))
        goto out;
    struct asw_absorb_opts ao = o->absorb;
    ao.lsrk = !strncasecmp(h->specsys, "LSRK", 4);
    struct asw_err aerr = {0};
    if (asw_absorb_analyse(freq, flux, noise, n, &ao, cont, nout, tau, m->lines,
                           ASW_ABSORB_MAX_LINES, &m->n_lines,
                           &aerr) == ASW_ENOMEM) {
        rc = asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
        goto out;
    }
    /* Too few channels for an analysis: the raw spectrum is still kept,
     * with the image noise per channel. */
    if (aerr.code)
        memcpy(nout, noise, n * sizeof *nout);
    m->sp.n_chan = n;
    m->sp.freq_hz = freq;
    m->sp.flux_jy = flux;
    m->sp.ap_flux_jy = ap;
    m->sp.noise_jy = nout;
    m->sp.cont_jy = cont;
    m->sp.tau = tau;
    free(noise);
    return 0;
out:
    free(freq);
    free(flux);
    free(noise);
    free(ap);
    free(cont);
    free(nout);
    free(tau);
    return rc;
}

/* Measure path into *row and *m; the caller records errors. */
static int measure(const char *path, const struct asw_measure_opts *o,
                   struct asw_image *row, struct measured *m,
                   struct asw_err *err)
{
    struct asw_fits *F = NULL;
    struct asw_fits_header h;
    float *data = NULL, *pb = NULL;
    int rc = asw_fits_open(path, &F, &h, err);
    if (rc)
        return rc;
    /* Identification: the file name first, the image keywords after. */
    if (!row->source[0])
        snprintf(row->source, sizeof row->source, "%.*s",
                 (int)sizeof row->source - 1,
                 h.kw_field[0] ? h.kw_field : h.object);
    if (row->spw < 0 && h.kw_spw[0]) {
        long s = strtol(h.kw_spw, NULL, 10);
        row->spw = (s >= 0 && s < 100000) ? (int32_t)s : -1;
    }
    if (!row->intent[0])
        intent_tag(h.kw_intent, row->intent, sizeof row->intent);
    if (!row->specmode[0])
        snprintf(row->specmode, sizeof row->specmode, "%.*s",
                 (int)sizeof row->specmode - 1,
                 h.kw_specmode[0] ? h.kw_specmode
                                  : (h.nchan > 1 ? "cube" : ""));
    if (!row->pbcor && !strcasecmp(h.kw_type, "pbcorimage"))
        row->pbcor = 1;
    row->freq_hz = h.freq_hz;
    row->bandwidth_hz = h.bandwidth_hz;
    row->mjd = h.mjd;
    row->band = asw_band_of_freq(h.freq_hz);

    if (h.bunit[0] && !is_jy_beam(h.bunit)) {
        row->qa_flags |= ASW_QA_UNITS;
        rc = asw_err_set(err, ASW_EINVAL, "reduce",
                         "brightness unit '%s' is not Jy/beam", h.bunit);
        goto out;
    }
    if (!h.bunit[0])
        row->qa_flags |= ASW_QA_UNITS; /* assumed Jy/beam */
    struct asw_sky_image im = {
        .nx = h.nx,
        .ny = h.ny,
        .wcs = h.wcs,
        .bmaj_arcsec = h.bmaj_deg * 3600.0,
        .bmin_arcsec = h.bmin_deg * 3600.0,
        .bpa_deg = h.bpa_deg,
        .phase_ra_deg = h.obsra_deg,
        .phase_dec_deg = h.obsdec_deg,
        .pbcor = row->pbcor,
    };
    if (h.nchan > 1) {
        rc = measure_cube(F, &h, o, &im, row, m, err);
    } else {
        char pbp[4096];
        const char *pbpath = o->pb_path;
        if (!pbpath && find_pb(path, pbp, sizeof pbp) == 0)
            pbpath = pbp;
        if (pbpath)
            pb = read_pb(pbpath, h.nx, h.ny);
        if (pb) {
            im.y_lo = 0;
            im.nrows = h.ny;
        } else {
            asw_reduce_rows(&h.wcs, h.ny, im.bmaj_arcsec,
                            o->reduce.annulus_beams, &im.y_lo, &im.nrows);
        }
        data = malloc((size_t)h.nx * (size_t)im.nrows * sizeof *data);
        if (!data) {
            rc = asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
            goto out;
        }
        if ((rc = asw_fits_read_rows(F, 0, im.y_lo, im.nrows, data, err)))
            goto out;
        im.data = data;
        im.pb = pb;
        rc = asw_reduce_image(&im, &o->reduce, row, err);
    }
    if (!rc && (row->qa_flags & ASW_QA_NO_BEAM))
        rc = asw_err_set(err, ASW_EINVAL, "reduce",
                         "no usable restoring beam (BMAJ/BMIN or BEAMS "
                         "table): no flux");
out:
    free(data);
    free(pb);
    asw_fits_close(F);
    asw_fits_header_free(&h);
    return rc;
}

int asw_measure_into(const char *path, const struct asw_measure_opts *o,
                     struct asw_result *res, struct asw_err *err)
{
    struct asw_measure_opts dflt;
    if (!o) {
        asw_measure_opts_init(&dflt);
        o = &dflt;
    }
    struct asw_image row;
    asw_image_init(&row);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (o->unit_id)
        snprintf(row.unit_id, sizeof row.unit_id, "%s", o->unit_id);
    snprintf(row.file, sizeof row.file, "%s", base);
    struct asw_product_name pn;
    if (asw_product_name_parse(base, &pn) == 0) {
        snprintf(row.source, sizeof row.source, "%s", pn.source);
        snprintf(row.intent, sizeof row.intent, "%s", pn.intent);
        snprintf(row.specmode, sizeof row.specmode, "%s", pn.specmode);
        row.spw = pn.spw;
        row.pbcor = pn.pbcor;
    }
    struct measured *m = calloc(1, sizeof *m);
    if (!m)
        return asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
    struct asw_err e = {0};
    int rc = measure(path, o, &row, m, &e);
    if (rc == ASW_ENOMEM)
        goto done;
    if (rc) {
        /* The row's error column is "module:CODE:text"; the row names the
         * file already. */
        const char *mod = e.module[0] ? e.module : "reduce";
        const char *msg = strip_path(e.msg, path);
        char full[ASW_ERR_MSG_MAX + 64];
        snprintf(full, sizeof full, "%s:%s:%s", mod, asw_errname(rc), msg);
        size_t fl = strnlen(full, sizeof row.error - 1);
        memcpy(row.error, full, fl); /* cut to the column's width */
        row.error[fl] = '\0';
        asw_err_set(err, rc, mod, "%s: %s", base, msg);
    }
    ascii_clean(row.file);
    ascii_clean(row.source);
    ascii_clean(row.intent);
    ascii_clean(row.specmode);
    ascii_clean(row.error);
    if (row.source[0])
        row.cat_flux_jy = asw_fluxcat_lookup(o->cat, row.source, row.spw);
    row.rms_theory_jy = o->rms_theory_jy;
    asw_qa_finish(&row);
    int arc = asw_result_add_image(res, &row);
    if (!arc && m->sp.n_chan) {
        struct asw_spectrum *sp = &m->sp;
        snprintf(sp->unit_id, sizeof sp->unit_id, "%s", row.unit_id);
        snprintf(sp->file, sizeof sp->file, "%s", row.file);
        snprintf(sp->source, sizeof sp->source, "%s", row.source);
        sp->spw = row.spw;
        sp->mjd = row.mjd;
        for (size_t i = 0; !arc && i < m->n_lines; i++) {
            struct asw_line *L = &m->lines[i];
            snprintf(L->unit_id, sizeof L->unit_id, "%s", row.unit_id);
            snprintf(L->file, sizeof L->file, "%s", row.file);
            snprintf(L->source, sizeof L->source, "%s", row.source);
            L->spw = row.spw;
            arc = asw_result_add_line(res, L);
        }
        if (!arc)
            arc = asw_result_add_spectrum(res, sp); /* takes the arrays */
        else
            asw_spectrum_free(sp);
        m->sp.n_chan = 0;
    }
    if (arc) {
        rc = asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
        goto done;
    }
done:
    if (m->sp.n_chan)
        asw_spectrum_free(&m->sp);
    free(m);
    if (rc == ASW_ENOMEM)
        asw_err_set(err, ASW_ENOMEM, "reduce", "out of memory");
    return rc;
}

int asw_measure_file(const char *path, struct asw_image *row,
                     struct asw_err *err)
{
    struct asw_result r;
    memset(&r, 0, sizeof r);
    int rc = asw_measure_into(path, NULL, &r, err);
    if (r.n_images)
        *row = r.images[0];
    else
        asw_image_init(row);
    asw_result_clear(&r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Spectral indices                                                    */

static void group_key(const struct asw_image *im, char *key, size_t n)
{
    struct asw_product_name pn;
    if (asw_product_name_parse(im->file, &pn) == 0)
        snprintf(key, n, "%s|%s", pn.mous, im->source);
    else
        snprintf(key, n, "|%s|%.0f", im->source,
                 isfinite(im->mjd) ? floor(im->mjd) : -1.0);
}

static int sed_usable(const struct asw_image *im)
{
    const int bad = ASW_QA_NOT_FOUND | ASW_QA_FIT_FAILED | ASW_QA_NO_BEAM;
    return !im->error[0] && !(im->qa_flags & bad) && im->flux_jy > 0 &&
           im->flux_err_jy > 0 && im->freq_hz > 0 && im->source[0] &&
           (im->specmode[0] == '\0' || !strcmp(im->specmode, "mfs"));
}

int asw_measure_seds(struct asw_result *res, size_t first, struct asw_err *err)
{
    size_t n = res->n_images > first ? res->n_images - first : 0;
    if (n < 2)
        return 0;
    char *done = calloc(n, 1);
    struct asw_sed_point *pts = malloc(n * sizeof *pts);
    int rc = 0;
    if (!done || !pts) {
        rc = asw_err_set(err, ASW_ENOMEM, "sed", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct asw_image *a = &res->images[first + i];
        if (done[i] || !sed_usable(a))
            continue;
        char ka[256], kb[256];
        group_key(a, ka, sizeof ka);
        size_t np = 0;
        double mjd = 0;
        size_t nmjd = 0;
        for (size_t j = i; j < n; j++) {
            const struct asw_image *b = &res->images[first + j];
            if (done[j] || !sed_usable(b))
                continue;
            group_key(b, kb, sizeof kb);
            if (strcmp(ka, kb))
                continue;
            done[j] = 1;
            pts[np++] =
                (struct asw_sed_point){b->freq_hz, b->flux_jy, b->flux_err_jy};
            if (isfinite(b->mjd)) {
                mjd += b->mjd;
                nmjd++;
            }
        }
        struct asw_sed sed;
        asw_sed_init(&sed);
        if (asw_sed_fit(pts, np, ASW_SED_SPW_SCATTER, &sed, NULL))
            continue; /* one frequency only: no index */
        snprintf(sed.unit_id, sizeof sed.unit_id, "%s", a->unit_id);
        snprintf(sed.source, sizeof sed.source, "%s", a->source);
        sed.mjd = nmjd ? mjd / (double)nmjd : NAN;
        if (asw_result_add_sed(res, &sed)) {
            rc = asw_err_set(err, ASW_ENOMEM, "sed", "out of memory");
            goto out;
        }
    }
out:
    free(done);
    free(pts);
    return rc;
}
