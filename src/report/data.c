/*
 * data.c - reading the catalogue for the report (data.h).
 */
#include "data.h"

#include "plot.h"

#include "io/catalogue.h"
#include "src/schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rep_note(struct rep_data *d, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **t = realloc(d->notes, (d->nnotes + 1) * sizeof *t);
    if (!t)
        return ASW_ENOMEM;
    d->notes = t;
    if (!(t[d->nnotes] = strdup(buf)))
        return ASW_ENOMEM;
    d->nnotes++;
    return 0;
}

void rep_data_free(struct rep_data *d)
{
    if (!d)
        return;
    free(d->runs);
    free(d->units);
    free(d->images);
    free(d->seds);
    free(d->lines);
    asw_ct_spectra_free(d->spectra, d->nspectra);
    free(d->sources);
    for (size_t i = 0; i < d->nsrcs; i++) {
        free(d->srcs[i].img);
        free(d->srcs[i].sed);
        free(d->srcs[i].line);
        free(d->srcs[i].spec);
        free(d->srcs[i].srow);
    }
    free(d->srcs);
    for (size_t i = 0; i < d->nnotes; i++)
        free(d->notes[i]);
    free(d->notes);
    memset(d, 0, sizeof *d);
}

/* Read one table; a missing table or columns and a cap become notes. */
static int load_table(struct asw_ct *c, struct rep_data *d,
                      const struct asw_schema *s, size_t max_rows, void **rows,
                      size_t *n, struct asw_err *err)
{
    struct asw_ct_info info;
    *rows = NULL;
    *n = 0;
    int rc = asw_ct_read(c, s, max_rows, rows, &info, err);
    if (rc == ASW_ENOTFOUND) {
        asw_err_clear(err);
        return rep_note(d,
                        "the catalogue has no /%s table: its panels say "
                        "\"no data\"",
                        s->name);
    }
    if (rc)
        return rc;
    *n = info.rows_read;
    if (info.cols_missing &&
        (rc = rep_note(d,
                       "/%s lacks %zu column%s the report shows (%s): "
                       "shown as unknown",
                       s->name, info.cols_missing,
                       info.cols_missing > 1 ? "s" : "", info.missing)))
        return rc;
    if (info.rows_total > info.rows_read &&
        (rc = rep_note(d,
                       "/%s has %zu rows; the report read the first %zu "
                       "(raise --max-rows)",
                       s->name, info.rows_total, info.rows_read)))
        return rc;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_src(const void *key, const void *elt)
{
    return strcmp(key, ((const struct rep_src *)elt)->name);
}

const struct rep_src *rep_find_src(const struct rep_data *d, const char *name)
{
    if (!d->nsrcs)
        return NULL;
    return bsearch(name, d->srcs, d->nsrcs, sizeof *d->srcs, cmp_src);
}

static int push_idx(size_t **v, size_t *n, size_t i)
{
    size_t *t = realloc(*v, (*n + 1) * sizeof *t);
    if (!t)
        return ASW_ENOMEM;
    t[(*n)++] = i;
    *v = t;
    return 0;
}

/* A source name as a file name part: [A-Za-z0-9.-], '+' as 'p'. */
static void slugify(char *out, size_t n, size_t idx, const char *name)
{
    size_t k = (size_t)snprintf(out, n, "s%03zu-", idx);
    for (const char *p = name; *p && k + 1 < n && k < 40; p++) {
        char ch = *p;
        if (ch == '+')
            ch = 'p';
        else if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
            ch = '_';
        out[k++] = ch;
    }
    out[k] = 0;
}

/* Group the rows of every table by source name. */
static int group_sources(struct rep_data *d)
{
    size_t total =
        d->nimages + d->nseds + d->nlines + d->nspectra + d->nsources;
    const char **names = malloc((total ? total : 1) * sizeof *names);
    size_t m = 0;
    if (!names)
        return ASW_ENOMEM;
    for (size_t i = 0; i < d->nimages; i++)
        names[m++] = d->images[i].source;
    for (size_t i = 0; i < d->nseds; i++)
        names[m++] = d->seds[i].source;
    for (size_t i = 0; i < d->nlines; i++)
        names[m++] = d->lines[i].source;
    for (size_t i = 0; i < d->nspectra; i++)
        names[m++] = d->spectra[i].source;
    for (size_t i = 0; i < d->nsources; i++)
        names[m++] = d->sources[i].source;
    if (m)
        qsort(names, m, sizeof *names, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < m; i++)
        if (names[i][0] && (u == 0 || strcmp(names[u - 1], names[i])))
            names[u++] = names[i];
    d->srcs = calloc(u ? u : 1, sizeof *d->srcs);
    if (!d->srcs) {
        free(names);
        return ASW_ENOMEM;
    }
    d->nsrcs = u;
    for (size_t i = 0; i < u; i++) {
        snprintf(d->srcs[i].name, sizeof d->srcs[i].name, "%s", names[i]);
        slugify(d->srcs[i].slug, sizeof d->srcs[i].slug, i + 1, names[i]);
    }
    free(names);
    int rc = 0;
#define GROUP(arr, cnt, field, vec)                                            \
    for (size_t i = 0; rc == 0 && i < d->cnt; i++) {                           \
        struct rep_src *s =                                                    \
            (struct rep_src *)rep_find_src(d, d->arr[i].field);                \
        if (s)                                                                 \
            rc = push_idx(&s->vec, &s->n##vec, i);                             \
    }
    GROUP(images, nimages, source, img)
    GROUP(seds, nseds, source, sed)
    GROUP(lines, nlines, source, line)
    GROUP(spectra, nspectra, source, spec)
    GROUP(sources, nsources, source, srow)
#undef GROUP
    return rc;
}

int rep_load(struct asw_ct *c, const struct rep_caps *caps, struct rep_data *d,
             struct asw_err *err)
{
    void *b;
    int rc;
    memset(d, 0, sizeof *d);
    asw_ct_attr(c, NULL, "creator", d->creator, sizeof d->creator);
    asw_ct_attr(c, NULL, "catalogue_id", d->catalogue_id,
                sizeof d->catalogue_id);
    asw_ct_attr(c, NULL, "created_utc", d->created_utc, sizeof d->created_utc);
    asw_ct_attr(c, NULL, "updated_utc", d->updated_utc, sizeof d->updated_utc);
    asw_ct_attr(c, "sources", "pair_days", d->pair_days, sizeof d->pair_days);
    char v[32];
    if (asw_ct_attr(c, NULL, "schema_version", v, sizeof v) == 0)
        d->schema_version = atoi(v);
    /* /runs rows carry 16 KiB of configuration each: fewer of them. */
    size_t max_runs = caps->max_rows < 2000 ? caps->max_rows : 2000;
    if ((rc = load_table(c, d, &asw_cat_schema_runs, max_runs, &b, &d->nruns,
                         err)))
        return rc;
    d->runs = b;
    if ((rc = load_table(c, d, &asw_cat_schema_units, caps->max_rows, &b,
                         &d->nunits, err)))
        return rc;
    d->units = b;
    if ((rc = load_table(c, d, &asw_schema_images, caps->max_rows, &b,
                         &d->nimages, err)))
        return rc;
    d->images = b;
    if ((rc = load_table(c, d, &asw_schema_seds, caps->max_rows, &b, &d->nseds,
                         err)))
        return rc;
    d->seds = b;
    if ((rc = load_table(c, d, &asw_schema_lines, caps->max_rows, &b,
                         &d->nlines, err)))
        return rc;
    d->lines = b;
    if ((rc = load_table(c, d, &asw_cat_schema_sources, caps->max_rows, &b,
                         &d->nsources, err)))
        return rc;
    d->sources = b;
    struct asw_ct_spectra_info si;
    rc = asw_ct_read_spectra(c, caps->max_spectra, caps->max_channels,
                             &d->spectra, &d->nspectra, &si, err);
    if (rc)
        return rc;
    if (si.skipped && (rc = rep_note(d, "%zu of %zu spectra not shown: %s",
                                     si.skipped, si.total, si.why)))
        return rc;
    return group_sources(d);
}

int rep_image_band(const struct asw_image *im)
{
    if (im->band >= 1 && im->band <= 10)
        return im->band;
    return asw_cat_band(im->freq_hz);
}

double rep_cal_fraction(int band)
{
    return band <= 5 ? 0.05 : band <= 8 ? 0.10 : 0.20;
}

int rep_image_usable(const struct asw_image *im, double *flux, double *err_jy)
{
    const int unusable = ASW_QA_NOT_FOUND | ASW_QA_FIT_FAILED | ASW_QA_UNITS;
    double f = isfinite(im->flux_jy) ? im->flux_jy : im->peak_jy;
    int band = rep_image_band(im);
    if (im->error[0] || !im->source[0] || band <= 0 || !isfinite(f) ||
        !(f > 0) || (im->qa_flags > 0 && (im->qa_flags & unusable)))
        return 0;
    if (flux)
        *flux = f;
    if (err_jy)
        *err_jy = isfinite(im->flux_tot_err_jy) && im->flux_tot_err_jy > 0
                      ? im->flux_tot_err_jy
                      : rep_cal_fraction(band) * f;
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double rep_median(double *v, size_t n)
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

void rep_date(double mjd, char *buf, size_t n)
{
    int y, m, d;
    plot_mjd_to_date(mjd, &y, &m, &d);
    if (y == 0 || y < 1000 || y > 9999)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%04d-%02d-%02d", y, m, d);
}
