/*
 * catalogue_sources.c - /sources, derived from /images at every
 * checkpoint (docs/catalogue.md, "/sources"): per (source, band) the flux
 * history, and the spectral index to the nearest higher band from pairs of
 * near-contemporaneous measurements, in the spirit of analysisUtils'
 * getALMAFlux / getALMASpectralIndex (shared/reference/science.md §2).
 *
 * The result depends only on the multiset of /images rows, not on their
 * order (medians, sorted keys, deterministic tie-breaks), so a catalogue
 * built in any order -- interrupted and resumed, or merged -- derives the
 * same /sources, and verify can re-derive it and compare exactly.
 */
#include "catalogue_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What one /images row contributes, with names interned. */
struct meas_row {
    uint32_t src, unit;
    int32_t band;
    double freq_hz, mjd, flux_jy, err_jy;
};

/* One measurement = one (source, band, unit): medians over its images. */
struct meas {
    uint32_t unit;
    double freq_hz, mjd, flux_jy, err_jy;
    int used;
};

/* ---- string interning ---------------------------------------------- */

struct strtab {
    char (*s)[ASW_UID_MAX];
    size_t n, cap;
    uint32_t *slots;
    size_t n_slots;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int strtab_grow(struct strtab *t)
{
    size_t n = t->n_slots ? 2 * t->n_slots : 1024;
    uint32_t *slots = malloc(n * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < n; i++)
        slots[i] = UINT32_MAX;
    for (size_t k = 0; k < t->n; k++) {
        size_t i = fnv1a(t->s[k]) & (n - 1);
        while (slots[i] != UINT32_MAX)
            i = (i + 1) & (n - 1);
        slots[i] = (uint32_t)k;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n;
    return 0;
}

/* The number of s in t (added if new), or UINT32_MAX on out-of-memory. */
static uint32_t intern(struct strtab *t, const char *s)
{
    if (2 * (t->n + 1) > t->n_slots && strtab_grow(t) < 0)
        return UINT32_MAX;
    size_t mask = t->n_slots - 1, i = fnv1a(s) & mask;
    for (; t->slots[i] != UINT32_MAX; i = (i + 1) & mask)
        if (strcmp(t->s[t->slots[i]], s) == 0)
            return t->slots[i];
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        void *p = realloc(t->s, cap * sizeof *t->s);
        if (!p)
            return UINT32_MAX;
        t->s = p;
        t->cap = cap;
    }
    cat_setstr(t->s[t->n], sizeof t->s[t->n], s);
    t->slots[i] = (uint32_t)t->n;
    return (uint32_t)t->n++;
}

static void strtab_free(struct strtab *t)
{
    free(t->s);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- statistics ----------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the finite values of v[0..n) (reordered); NAN if none. */
static double median(double *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            v[m++] = v[i];
    if (m == 0)
        return NAN;
    qsort(v, m, sizeof *v, cmp_double);
    return m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
}

/* Absolute flux calibration accuracy by band (science.md §2). */
static double cal_fraction(int band)
{
    return band <= 5 ? 0.05 : band <= 8 ? 0.10 : 0.20;
}

/* ---- reading /images ------------------------------------------------ */

struct img_key {
    char unit_id[ASW_UID_MAX];
    char source[ASW_NAME_MAX / 2 + 16];
    char error[2]; /* only "empty or not" matters */
    int32_t band;
    int32_t qa_flags;
    double freq_hz, mjd, flux_jy, peak_jy, flux_tot_err_jy;
};

/* Measurements unusable for a flux history: no source found, failed fit,
 * brightness not in Jy/beam. */
#define QA_UNUSABLE (ASW_QA_NOT_FOUND | ASW_QA_FIT_FAILED | ASW_QA_UNITS)

/*
 * What an /images row contributes: 1 and *o filled when it is usable, 0
 * when not, -1 on out-of-memory. The one filter of both paths: reading
 * /images from a file, and a writer's images as it stores them.
 */
static int meas_of(struct strtab *srcs, struct strtab *units,
                   const char *unit_id, const char *source, int has_error,
                   int band, int qa_flags, double freq_hz, double mjd,
                   double flux_jy, double peak_jy, double tot_err_jy,
                   struct meas_row *o)
{
    double flux = isfinite(flux_jy) ? flux_jy : peak_jy;
    if (band <= 0)
        band = asw_cat_band(freq_hz);
    if (has_error || !source[0] || band <= 0 || !isfinite(flux) ||
        !(flux > 0) || (qa_flags > 0 && (qa_flags & QA_UNUSABLE)))
        return 0;
    o->src = intern(srcs, source);
    o->unit = intern(units, unit_id);
    if (o->src == UINT32_MAX || o->unit == UINT32_MAX)
        return -1;
    o->band = band;
    o->freq_hz = freq_hz;
    o->mjd = mjd;
    o->flux_jy = flux;
    o->err_jy = isfinite(tot_err_jy) && tot_err_jy > 0
                    ? tot_err_jy
                    : cal_fraction(band) * flux;
    return 1;
}

static int read_rows(hid_t file, const char *path, struct strtab *srcs,
                     struct strtab *units, struct meas_row **out, size_t *n,
                     struct asw_err *err)
{
    static const char *const keys[] = {
        "unit_id", "source", "error",   "band",    "qa_flags",
        "freq_hz", "mjd",    "flux_jy", "peak_jy", "flux_tot_err_jy"};
    static const size_t offs[] = {offsetof(struct img_key, unit_id),
                                  offsetof(struct img_key, source),
                                  offsetof(struct img_key, error),
                                  offsetof(struct img_key, band),
                                  offsetof(struct img_key, qa_flags),
                                  offsetof(struct img_key, freq_hz),
                                  offsetof(struct img_key, mjd),
                                  offsetof(struct img_key, flux_jy),
                                  offsetof(struct img_key, peak_jy),
                                  offsetof(struct img_key, flux_tot_err_jy)};
    hid_t ds = cat_h5_open_table(file, cat_tables[T_IMAGES]);
    /* "error" is read cut to 2 bytes: a projection of a longer string. */
    hid_t mt = -1;
    struct img_key *buf = malloc(CAT_IO_BLOCK_ROWS * sizeof *buf);
    struct meas_row *rows = NULL;
    size_t m = 0;
    hsize_t total = 0;
    int rc = 0;
    *out = NULL;
    *n = 0;
    {
        struct asw_col cols[NELEM(keys)];
        struct asw_schema proj = {"images", "", cols, NELEM(keys),
                                  sizeof(struct img_key)};
        for (size_t i = 0; i < NELEM(keys); i++) {
            cols[i] = *cat_find_col(cat_tables[T_IMAGES], keys[i]);
            cols[i].offset = offs[i];
            if (strcmp(keys[i], "error") == 0)
                cols[i].size = sizeof buf->error;
        }
        mt = cat_h5_type(&proj, 0);
    }
    if (!buf) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    if (ds < 0 || mt < 0 || cat_h5_rows(ds, &total) < 0) {
        rc = cat_h5fail(err, "%s: open /images", path);
        goto out;
    }
    rows = malloc((total ? total : 1) * sizeof *rows);
    if (!rows) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    for (hsize_t r = 0; r < total; r += CAT_IO_BLOCK_ROWS) {
        hsize_t k =
            total - r < CAT_IO_BLOCK_ROWS ? total - r : CAT_IO_BLOCK_ROWS;
        if (cat_h5_rows_io(ds, mt, r, k, buf, 0) < 0) {
            rc = cat_h5fail(err, "%s: read /images", path);
            goto out;
        }
        for (hsize_t i = 0; i < k; i++) {
            struct img_key *b = &buf[i];
            b->unit_id[sizeof b->unit_id - 1] = '\0';
            b->source[sizeof b->source - 1] = '\0';
            int use =
                meas_of(srcs, units, b->unit_id, b->source, b->error[0] != '\0',
                        b->band, b->qa_flags, b->freq_hz, b->mjd, b->flux_jy,
                        b->peak_jy, b->flux_tot_err_jy, &rows[m]);
            if (use < 0) {
                rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
                goto out;
            }
            m += (size_t)use;
        }
    }
    *out = rows;
    *n = m;
    rows = NULL;
out:
    free(rows);
    free(buf);
    cat_h5close(mt);
    cat_h5close(ds);
    return rc;
}

/* ---- derivation ------------------------------------------------------ */

static const struct strtab *sort_srcs, *sort_units;

/* By source name, band, unit name, then the values (a total order, so the
 * outcome does not depend on the order of the rows in the file). */
static int by_key(const void *a, const void *b)
{
    const struct meas_row *x = a, *y = b;
    int c = strcmp(sort_srcs->s[x->src], sort_srcs->s[y->src]);
    if (c)
        return c;
    if (x->band != y->band)
        return x->band < y->band ? -1 : 1;
    c = strcmp(sort_units->s[x->unit], sort_units->s[y->unit]);
    if (c)
        return c;
    const double u[] = {x->mjd, x->freq_hz, x->flux_jy, x->err_jy};
    const double v[] = {y->mjd, y->freq_hz, y->flux_jy, y->err_jy};
    for (int i = 0; i < 4; i++) {
        int nu = isnan(u[i]), nv = isnan(v[i]);
        if (nu != nv)
            return nu - nv;
        if (!nu && u[i] != v[i])
            return u[i] < v[i] ? -1 : 1;
    }
    return 0;
}

/* The group of one (source, band): its rows and its measurements. */
struct group {
    size_t first, n; /* rows */
    struct meas *meas;
    size_t n_meas;
    struct asw_cat_source_row out;
};

struct pair_cand {
    double dt;
    size_t i, j;
};

static int by_dt(const void *a, const void *b)
{
    const struct pair_cand *x = a, *y = b;
    if (x->dt != y->dt)
        return x->dt < y->dt ? -1 : 1;
    if (x->i != y->i)
        return x->i < y->i ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

/*
 * Pair the measurements of lo and hi (each used once, smallest time
 * difference first, at most pair_days apart) and fill the index columns
 * of lo->out. Returns the number of pairs, or -1 on out-of-memory.
 */
static long pair_bands(struct group *lo, struct group *hi, double pair_days)
{
    struct pair_cand *cand = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < lo->n_meas; i++)
        lo->meas[i].used = 0;
    for (size_t j = 0; j < hi->n_meas; j++)
        hi->meas[j].used = 0;
    for (size_t i = 0; i < lo->n_meas; i++) {
        for (size_t j = 0; j < hi->n_meas; j++) {
            double dt = fabs(lo->meas[i].mjd - hi->meas[j].mjd);
            if (!(dt <= pair_days))
                continue;
            if (n == cap) {
                size_t c2 = cap ? 2 * cap : 64;
                void *p = realloc(cand, c2 * sizeof *cand);
                if (!p) {
                    free(cand);
                    return -1;
                }
                cand = p;
                cap = c2;
            }
            cand[n++] = (struct pair_cand){dt, i, j};
        }
    }
    if (n > 1)
        qsort(cand, n, sizeof *cand, by_dt);
    double *alpha = malloc((n ? n : 1) * sizeof *alpha);
    double *dev = malloc((n ? n : 1) * sizeof *dev);
    if (!alpha || !dev) {
        free(alpha);
        free(dev);
        free(cand);
        return -1;
    }
    double sw = 0, swa = 0, last_t = -INFINITY;
    size_t np = 0;
    struct asw_cat_source_row *o = &lo->out;
    for (size_t k = 0; k < n; k++) {
        struct meas *a = &lo->meas[cand[k].i], *b = &hi->meas[cand[k].j];
        if (a->used || b->used)
            continue;
        double lever = log(b->freq_hz / a->freq_hz);
        if (!isfinite(lever) || lever == 0)
            continue;
        a->used = b->used = 1;
        /* Two-point index and its error (science.md §2, item 7). */
        double al = log(b->flux_jy / a->flux_jy) / lever;
        double ra = a->err_jy / a->flux_jy, rb = b->err_jy / b->flux_jy;
        double se = sqrt(ra * ra + rb * rb) / fabs(lever);
        double w = se > 0 ? 1 / (se * se) : 0;
        alpha[np++] = al;
        sw += w;
        swa += w * al;
        double t = 0.5 * (a->mjd + b->mjd);
        if (t > last_t || (t == last_t && al > o->alpha_last)) {
            last_t = t;
            o->alpha_last = al;
            o->alpha_last_err = se;
            o->alpha_last_mjd = t;
            o->alpha_last_dt_days = cand[k].dt;
        }
    }
    if (np) {
        o->n_pairs = (int32_t)np;
        if (sw > 0) {
            o->alpha = swa / sw;
            o->alpha_err = 1 / sqrt(sw);
        } else {
            o->alpha = median(alpha, np);
            o->alpha_err = NAN;
        }
        if (np >= 3) {
            /* getALMASpectralIndex 'mean': the scatter of the pairs. */
            double med = median(alpha, np);
            for (size_t k = 0; k < np; k++)
                dev[k] = fabs(alpha[k] - med);
            o->alpha_err = 1.4826 * median(dev, np);
        }
    }
    free(dev);
    free(alpha);
    free(cand);
    return (long)np;
}

static void clear_index(struct asw_cat_source_row *o)
{
    o->pair_band = -1;
    o->n_pairs = 0;
    o->alpha = o->alpha_err = o->alpha_last = o->alpha_last_err = NAN;
    o->alpha_last_mjd = o->alpha_last_dt_days = NAN;
}

/* /sources from the rows (reordered in place). */
static int derive(struct meas_row *rows, size_t n, const struct strtab *srcs,
                  const struct strtab *units, double pair_days,
                  struct asw_cat_source_row **out, size_t *n_out,
                  struct asw_err *err)
{
    struct group *groups = NULL;
    double *tmp = NULL;
    size_t ng = 0;
    int rc = 0;
    *out = NULL;
    *n_out = 0;
    sort_srcs = srcs;
    sort_units = units;
    if (n > 1)
        qsort(rows, n, sizeof *rows, by_key);
    groups = calloc(n ? n : 1, sizeof *groups);
    tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!groups || !tmp)
        goto oom;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && rows[j].src == rows[i].src &&
                    rows[j].band == rows[i].band;
             j++)
            ;
        struct group *g = &groups[ng++];
        struct asw_cat_source_row *o = &g->out;
        g->first = i;
        g->n = j - i;
        memset(o, 0, sizeof *o);
        cat_setstr(o->source, sizeof o->source, srcs->s[rows[i].src]);
        o->band = rows[i].band;
        o->n_images = (int64_t)(j - i);
        o->first_mjd = o->last_mjd = NAN;
        o->flux_min_jy = o->flux_max_jy = NAN;
        for (size_t k = i; k < j; k++) {
            double t = rows[k].mjd, f = rows[k].flux_jy;
            if (!isnan(t) && !(t >= o->first_mjd))
                o->first_mjd = t;
            if (!isnan(t) && !(t <= o->last_mjd))
                o->last_mjd = t;
            if (!(f >= o->flux_min_jy))
                o->flux_min_jy = f;
            if (!(f <= o->flux_max_jy))
                o->flux_max_jy = f;
        }
        for (size_t k = i; k < j; k++)
            tmp[k - i] = rows[k].flux_jy;
        o->flux_median_jy = median(tmp, j - i);
        for (size_t k = i; k < j; k++)
            tmp[k - i] = rows[k].freq_hz;
        o->freq_median_hz = median(tmp, j - i);
        clear_index(o);
        /* Measurements: one per unit (rows are sorted by unit). */
        size_t nm = 0;
        for (size_t k = i; k < j; k++)
            nm += k == i || rows[k].unit != rows[k - 1].unit;
        g->meas = calloc(nm, sizeof *g->meas);
        if (!g->meas)
            goto oom;
        for (size_t k = i, q; k < j; k = q) {
            for (q = k; q < j && rows[q].unit == rows[k].unit; q++)
                ;
            struct meas *m = &g->meas[g->n_meas++];
            m->unit = rows[k].unit;
            size_t c = q - k;
            for (size_t x = 0; x < c; x++)
                tmp[x] = rows[k + x].flux_jy;
            m->flux_jy = median(tmp, c);
            for (size_t x = 0; x < c; x++)
                tmp[x] = rows[k + x].freq_hz;
            m->freq_hz = median(tmp, c);
            for (size_t x = 0; x < c; x++)
                tmp[x] = rows[k + x].mjd;
            m->mjd = median(tmp, c);
            for (size_t x = 0; x < c; x++)
                tmp[x] = rows[k + x].err_jy;
            m->err_jy = median(tmp, c);
        }
        o->n_epochs = (int64_t)g->n_meas;
    }
    /* Spectral index to the nearest higher band with pairs. */
    for (size_t a = 0; a < ng; a++) {
        for (size_t b = a + 1;
             b < ng && rows[groups[b].first].src == rows[groups[a].first].src;
             b++) {
            long np = pair_bands(&groups[a], &groups[b], pair_days);
            if (np < 0)
                goto oom;
            if (np > 0) {
                groups[a].out.pair_band = groups[b].out.band;
                break;
            }
            clear_index(&groups[a].out);
        }
    }
    *out = malloc((ng ? ng : 1) * sizeof **out);
    if (!*out)
        goto oom;
    for (size_t g = 0; g < ng; g++)
        (*out)[g] = groups[g].out;
    *n_out = ng;
    goto out;
oom:
    rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
out:
    for (size_t g = 0; g < ng; g++)
        free(groups[g].meas);
    free(groups);
    free(tmp);
    return rc;
}

int cat_sources_derive(hid_t file, const char *path, double pair_days,
                       struct asw_cat_source_row **out, size_t *n_out,
                       struct asw_err *err)
{
    struct strtab srcs = {0}, units = {0};
    struct meas_row *rows = NULL;
    size_t n = 0;
    int rc = read_rows(file, path, &srcs, &units, &rows, &n, err);
    if (rc == 0)
        rc = derive(rows, n, &srcs, &units, pair_days, out, n_out, err);
    free(rows);
    strtab_free(&srcs);
    strtab_free(&units);
    return rc;
}

/* Replace the rows of /sources of file by rows[0..n). */
static int write_sources(hid_t file, const char *path, double pair_days,
                         const struct asw_cat_source_row *rows, size_t n,
                         struct asw_err *err)
{
    hid_t ds = -1, mt = -1;
    int rc = 0;
    hsize_t zero = 0, count = 0;
    ds = cat_h5_open_table(file, cat_tables[T_SOURCES]);
    mt = cat_h5_type(cat_tables[T_SOURCES], 0);
    if (ds < 0 || mt < 0 || H5Dset_extent(ds, &zero) < 0 ||
        cat_h5_append(ds, mt, &count, rows, n) < 0 ||
        cat_h5_set_double_attr(ds, "pair_days", pair_days) < 0)
        rc = cat_h5fail(err, "%s: write /sources", path);
    cat_h5close(mt);
    /* Closing writes the cached chunks: its failure (a full disk) is a
     * failure of the write, which H5Fclose would not report. */
    if (ds >= 0 && H5Dclose(ds) < 0 && rc == 0)
        rc = cat_h5fail(err, "%s: write /sources", path);
    return rc;
}

/* ---- a writer's copy of the input ----------------------------------- */

struct cat_srcs {
    struct strtab srcs, units;
    struct meas_row *rows; /* the /images of the file, as contributions */
    size_t n, cap;
    struct meas_row *next; /* of the file being written */
    size_t n_next, cap_next;
    int valid; /* rows describe the file */
};

struct cat_srcs *cat_srcs_new(void)
{
    return calloc(1, sizeof(struct cat_srcs));
}

void cat_srcs_free(struct cat_srcs *s)
{
    if (!s)
        return;
    strtab_free(&s->srcs);
    strtab_free(&s->units);
    free(s->rows);
    free(s->next);
    free(s);
}

static int next_room(struct cat_srcs *s, size_t more)
{
    if (s->n_next + more <= s->cap_next)
        return 0;
    size_t cap = s->cap_next ? s->cap_next : 1024;
    while (cap < s->n_next + more)
        cap *= 2;
    void *p = realloc(s->next, cap * sizeof *s->next);
    if (!p)
        return -1;
    s->next = p;
    s->cap_next = cap;
    return 0;
}

int cat_srcs_begin(struct cat_srcs *s, int (*doomed)(void *ud, const char *),
                   void *ud, struct asw_err *err)
{
    s->n_next = 0;
    if (!s->valid)
        return 0;
    /* Which units lose their rows: decided once per unit, not per row. */
    char *gone = malloc(s->units.n ? s->units.n : 1);
    if (!gone || next_room(s, s->n) < 0) {
        free(gone);
        return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    }
    for (size_t u = 0; u < s->units.n; u++)
        gone[u] = (char)doomed(ud, s->units.s[u]);
    for (size_t i = 0; i < s->n; i++)
        if (!gone[s->rows[i].unit])
            s->next[s->n_next++] = s->rows[i];
    free(gone);
    return 0;
}

int cat_srcs_add(struct cat_srcs *s, const struct asw_image *im, size_t n,
                 struct asw_err *err)
{
    if (!s->valid)
        return 0; /* the file will be read instead */
    if (next_room(s, n) < 0)
        return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct asw_image *m = &im[i];
        int use = meas_of(&s->srcs, &s->units, m->unit_id, m->source,
                          m->error[0] != '\0', m->band, m->qa_flags, m->freq_hz,
                          m->mjd, m->flux_jy, m->peak_jy, m->flux_tot_err_jy,
                          &s->next[s->n_next]);
        if (use < 0)
            return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        s->n_next += (size_t)use;
    }
    return 0;
}

int cat_srcs_write(struct cat_srcs *s, hid_t file, const char *path,
                   double pair_days, struct asw_err *err)
{
    struct asw_cat_source_row *out = NULL;
    size_t n_out = 0;
    int rc = 0;
    if (!s->valid) {
        /* First checkpoint of this writer: read /images once. */
        free(s->next);
        s->next = NULL;
        s->n_next = s->cap_next = 0;
        rc = read_rows(file, path, &s->srcs, &s->units, &s->next, &s->n_next,
                       err);
        s->cap_next = s->n_next;
        if (rc < 0)
            return rc;
    }
    /* derive() reorders the rows: harmless, any order derives the same. */
    rc = derive(s->next, s->n_next, &s->srcs, &s->units, pair_days, &out,
                &n_out, err);
    if (rc == 0)
        rc = write_sources(file, path, pair_days, out, n_out, err);
    free(out);
    return rc;
}

void cat_srcs_commit(struct cat_srcs *s, int ok)
{
    if (!ok) {
        s->n_next = 0;
        return;
    }
    struct meas_row *t = s->rows;
    size_t cap = s->cap;
    s->rows = s->next;
    s->n = s->n_next;
    s->cap = s->cap_next;
    s->next = t;
    s->cap_next = cap;
    s->n_next = 0;
    s->valid = 1;
}

int cat_sources_write(hid_t file, const char *path, double pair_days,
                      struct asw_err *err)
{
    struct asw_cat_source_row *rows = NULL;
    size_t n = 0;
    int rc = cat_sources_derive(file, path, pair_days, &rows, &n, err);
    if (rc == 0)
        rc = write_sources(file, path, pair_days, rows, n, err);
    free(rows);
    return rc;
}
