/*
 * catalogue_tools.c - read-only access to a catalogue by path: summary,
 * list, verify, export (CSV, VOTable), read_images, and the band and date
 * helpers. None of these writes; none reads a pending journal except to
 * count it (asw_cat_recover() applies it).
 */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include "catalogue_priv.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

int asw_cat_band(double freq_hz)
{
    static const double ghz[][2] = {
        {35, 50},   {67, 84},   {84, 116},  {125, 163}, {163, 211},
        {211, 275}, {275, 373}, {385, 500}, {602, 720}, {787, 950},
    };
    if (isnan(freq_hz))
        return 0;
    double f = freq_hz / 1e9;
    for (size_t i = 0; i < NELEM(ghz); i++)
        if (f >= ghz[i][0] && f <= ghz[i][1])
            return (int)i + 1;
    return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static long days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_mjd(double mjd, char *buf, size_t n)
{
    if (!isfinite(mjd)) {
        cat_setstr(buf, n, "-");
        return;
    }
    long z = (long)floor(mjd) - 40587 + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    if (y < 0 || y > 9999) {
        cat_setstr(buf, n, "-");
        return;
    }
    snprintf(buf, n, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
}

double asw_cat_parse_mjd(const char *s)
{
    int y, mo, d, h = 0, mi = 0, len = 0;
    double sec = 0;
    char *end;
    if (!s || !*s)
        return NAN;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &len) == 3 && len == 10) {
        const char *p = s + len;
        if (*p == 'T' || *p == ' ') {
            int l2 = 0;
            if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &l2) != 2 || l2 != 5)
                return NAN;
            p += 1 + l2;
            if (*p == ':') {
                sec = strtod(p + 1, &end);
                if (end == p + 1)
                    return NAN;
                p = end;
            }
        }
        if (*p == 'Z')
            p++;
        if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
            !(sec >= 0 && sec < 61))
            return NAN;
        return (double)days_from_civil(y, mo, d) + 40587 +
               (h * 3600 + mi * 60 + sec) / 86400.0;
    }
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        return NAN;
    return v;
}

/* The table called name, or -1. */
static int table_by_name(const char *name)
{
    for (int t = 0; t < T_COUNT; t++)
        if (strcmp(cat_tables[t]->name, name) == 0)
            return t;
    return -1;
}

/* ------------------------------------------------------------------ */
/* read_images                                                         */

int asw_cat_read_images(const char *path, struct asw_image **rows, size_t *n,
                        struct asw_err *err)
{
    hid_t file = -1, memtype = -1;
    void *buf = NULL;
    size_t count = 0;
    if (!rows || !n)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no output");
    *rows = NULL;
    *n = 0;
    int rc = cat_open_ro(path, &file, err);
    if (rc < 0)
        return rc;
    memtype = cat_h5_type(cat_tables[T_IMAGES], 0);
    rc = cat_read_all(file, path, cat_tables[T_IMAGES], memtype,
                      sizeof(struct asw_image), &buf, &count, err);
    if (rc == 0) {
        *rows = buf;
        *n = count;
        for (size_t i = 0; i < count; i++)
            cat_tidy_row(cat_tables[T_IMAGES], &(*rows)[i]);
    }
    cat_h5close(memtype);
    H5Fclose(file);
    return rc;
}

/* Read a whole table of the file in its memory layout, tidied. */
static int read_table(hid_t f, const char *path, int t, void **rows, size_t *n,
                      struct asw_err *err)
{
    hid_t mt = cat_h5_type(cat_tables[t], 0);
    int rc = cat_read_all(f, path, cat_tables[t], mt, cat_tables[t]->rowsize,
                          rows, n, err);
    cat_h5close(mt);
    for (size_t i = 0; rc == 0 && i < *n; i++)
        cat_tidy_row(cat_tables[t], (char *)*rows + i * cat_tables[t]->rowsize);
    return rc;
}

static hsize_t table_len(hid_t f, int t)
{
    hsize_t n = 0;
    hid_t ds = cat_h5_open_table(f, cat_tables[t]);
    if (ds < 0 || cat_h5_rows(ds, &n) < 0)
        n = 0;
    cat_h5close(ds);
    H5Eclear2(H5E_DEFAULT);
    return n;
}

/* ------------------------------------------------------------------ */
/* Summary                                                             */

int asw_cat_summary(const char *path, FILE *out, struct asw_err *err)
{
    hid_t f = -1;
    char creator[128], id[CAT_ID_MAX];
    struct asw_cat_unit_row *units = NULL;
    struct asw_cat_run_row *runs = NULL;
    struct asw_cat_source_row *src = NULL;
    size_t nu = 0, nr = 0, ns = 0;
    void *b;
    if (!out)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no output stream");
    int rc = cat_open_ro(path, &f, err);
    if (rc < 0)
        return rc;
    if (cat_h5_get_str_attr(f, "creator", creator, sizeof creator) < 0)
        cat_setstr(creator, sizeof creator, "unknown");
    if (cat_h5_get_str_attr(f, "catalogue_id", id, sizeof id) < 0)
        cat_setstr(id, sizeof id, "?");
    H5Eclear2(H5E_DEFAULT);
    if ((rc = read_table(f, path, T_UNITS, &b, &nu, err)) < 0)
        goto out;
    units = b;
    if ((rc = read_table(f, path, T_RUNS, &b, &nr, err)) < 0)
        goto out;
    runs = b;
    if ((rc = read_table(f, path, T_SOURCES, &b, &ns, err)) < 0)
        goto out;
    src = b;
    fprintf(out, "catalogue: %s (schema_version %d, creator %s, id %.12s)\n",
            path, ASW_CAT_SCHEMA_VERSION, creator, id);
    fprintf(out, "runs: %zu", nr);
    if (nr)
        fprintf(out, " (last %s: %s, exit %d, %s .. %s)", runs[nr - 1].run_id,
                runs[nr - 1].status, (int)runs[nr - 1].exit_code,
                runs[nr - 1].start_utc,
                runs[nr - 1].end_utc[0] ? runs[nr - 1].end_utc : "?");
    fputc('\n', out);
    size_t by_status[ASW_ST_INTERRUPTED + 2] = {0};
    for (size_t i = 0; i < nu; i++) {
        int s = asw_status_parse(units[i].status);
        by_status[s < 0 ? ASW_ST_INTERRUPTED + 1 : s]++;
    }
    fprintf(out, "units: %zu", nu);
    const char *sep = " (";
    for (int s = 0; s <= ASW_ST_INTERRUPTED + 1; s++) {
        if (!by_status[s])
            continue;
        fprintf(out, "%s%s %zu", sep,
                s <= ASW_ST_INTERRUPTED ? asw_status_name(s) : "unknown",
                by_status[s]);
        sep = ", ";
    }
    fprintf(out, "%s\n", nu ? ")" : "");
    fprintf(out,
            "rows: images %llu, seds %llu, absorption %llu, spectra %llu "
            "(%llu channels), sources %zu\n",
            (unsigned long long)table_len(f, T_IMAGES),
            (unsigned long long)table_len(f, T_SEDS),
            (unsigned long long)table_len(f, T_ABSORPTION),
            (unsigned long long)table_len(f, T_SPECTRA),
            (unsigned long long)table_len(f, T_CHANNELS), ns);
    if (ns) {
        fprintf(out, "%-24s %-4s %6s %6s %-10s %-10s %10s %10s %10s  %s\n",
                "source", "band", "images", "epochs", "first", "last",
                "median_jy", "min_jy", "max_jy", "alpha");
        for (size_t i = 0; i < ns; i++) {
            const struct asw_cat_source_row *s = &src[i];
            char first[16], last[16], band[16], alpha[80];
            civil_from_mjd(s->first_mjd, first, sizeof first);
            civil_from_mjd(s->last_mjd, last, sizeof last);
            snprintf(band, sizeof band, "B%d", (int)s->band);
            if (s->pair_band > 0)
                snprintf(alpha, sizeof alpha,
                         "%+.3f +- %.3f (to B%d, %d pairs)", s->alpha,
                         s->alpha_err, (int)s->pair_band, (int)s->n_pairs);
            else
                cat_setstr(alpha, sizeof alpha, "-");
            fprintf(out,
                    "%-24s %-4s %6lld %6lld %-10s %-10s %10.4g %10.4g "
                    "%10.4g  %s\n",
                    s->source, band, (long long)s->n_images,
                    (long long)s->n_epochs, first, last, s->flux_median_jy,
                    s->flux_min_jy, s->flux_max_jy, alpha);
        }
    }
out:
    free(src);
    free(runs);
    free(units);
    H5Fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ */
/* List                                                                */

int asw_cat_list(const char *path, const struct asw_cat_filter *flt, FILE *out,
                 size_t *shown, struct asw_err *err)
{
    hid_t f = -1, ds = -1, mt = -1;
    struct asw_image *buf = NULL;
    hsize_t n = 0;
    size_t count = 0;
    struct asw_cat_filter all = {NULL, 0, NAN, 0};
    if (!flt)
        flt = &all;
    if (shown)
        *shown = 0;
    if (!out)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no output stream");
    int rc = cat_open_ro(path, &f, err);
    if (rc < 0)
        return rc;
    ds = cat_h5_open_table(f, cat_tables[T_IMAGES]);
    mt = cat_h5_type(cat_tables[T_IMAGES], 0);
    buf = malloc(CAT_IO_BLOCK_ROWS * sizeof *buf);
    if (!buf) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    if (ds < 0 || mt < 0 || cat_h5_rows(ds, &n) < 0) {
        rc = cat_h5fail(err, "%s: open /images", path);
        goto out;
    }
    fprintf(out, "%-20s %-4s %4s %-10s %12s %9s %11s %11s %9s %5s  %-24s %s\n",
            "source", "band", "spw", "date", "mjd", "freq_ghz", "peak_jy",
            "flux_jy", "snr", "qa", "unit_id", "file");
    for (hsize_t r = 0; r < n; r += CAT_IO_BLOCK_ROWS) {
        hsize_t k = n - r < CAT_IO_BLOCK_ROWS ? n - r : CAT_IO_BLOCK_ROWS;
        if (cat_h5_rows_io(ds, mt, r, k, buf, 0) < 0) {
            rc = cat_h5fail(err, "%s: read /images", path);
            goto out;
        }
        for (hsize_t i = 0; i < k; i++) {
            struct asw_image *m = &buf[i];
            cat_tidy_row(cat_tables[T_IMAGES], m);
            int band = m->band > 0 ? m->band : asw_cat_band(m->freq_hz);
            if (flt->source && flt->source[0] &&
                fnmatch(flt->source, m->source, FNM_CASEFOLD) != 0)
                continue;
            if (flt->band && band != flt->band)
                continue;
            if (!isnan(flt->since_mjd) && !(m->mjd >= flt->since_mjd))
                continue;
            char date[16], b[16];
            civil_from_mjd(m->mjd, date, sizeof date);
            if (band > 0)
                snprintf(b, sizeof b, "B%d", band);
            else
                cat_setstr(b, sizeof b, "?");
            fprintf(out,
                    "%-20s %-4s %4d %-10s %12.5f %9.4f %11.5g %11.5g %9.4g "
                    "%5d  %-24s %s\n",
                    m->source, b, (int)m->spw, date, m->mjd, m->freq_hz / 1e9,
                    m->peak_jy, m->flux_jy, m->snr, (int)m->qa_flags,
                    m->unit_id, m->file);
            if (++count == flt->limit && flt->limit)
                goto out;
        }
    }
out:
    if (shown)
        *shown = count;
    free(buf);
    cat_h5close(mt);
    cat_h5close(ds);
    H5Fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Verify                                                              */

struct report {
    FILE *out;
    size_t n;
};

static void problem(struct report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct report *r, const char *fmt, ...)
{
    r->n++;
    if (!r->out || r->n > 200) {
        if (r->out && r->n == 201)
            fprintf(r->out, "problem: ... (more problems not shown)\n");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs("problem: ", r->out);
    vfprintf(r->out, fmt, ap);
    fputc('\n', r->out);
    va_end(ap);
}

/* Structure of table t: columns, attributes, chunking, astropy header. */
static void check_structure(hid_t f, int t, struct report *r)
{
    const struct asw_schema *s = cat_tables[t];
    hid_t ds = cat_h5_open_table(f, s), type = -1, dcpl = -1, space = -1;
    char meta[96];
    if (ds < 0) {
        H5Eclear2(H5E_DEFAULT);
        problem(r, "/%s missing", s->name);
        return;
    }
    type = H5Dget_type(ds);
    if (H5Tget_class(type) != H5T_COMPOUND ||
        H5Tget_nmembers(type) != (int)s->ncols) {
        problem(r, "/%s: not a compound of %zu columns", s->name, s->ncols);
        goto out;
    }
    for (size_t i = 0; i < s->ncols; i++) {
        const struct asw_col *c = &s->cols[i];
        char *name = H5Tget_member_name(type, (unsigned)i);
        hid_t mt = H5Tget_member_type(type, (unsigned)i);
        H5T_class_t cls = H5Tget_class(mt);
        size_t size = H5Tget_size(mt);
        int ok = name && strcmp(name, c->name) == 0;
        if (ok && c->type == ASW_COL_STR)
            ok = cls == H5T_STRING && size == c->size;
        else if (ok && c->type == ASW_COL_F64)
            ok = cls == H5T_FLOAT && size == 8;
        else if (ok)
            ok = cls == H5T_INTEGER &&
                 size == (c->type == ASW_COL_I32 ? 4u : 8u);
        if (!ok)
            problem(r, "/%s column %zu: %s is not %s as documented", s->name, i,
                    name ? name : "?", c->name);
        H5free_memory(name);
        cat_h5close(mt);
        char attr[96], v[512];
        snprintf(attr, sizeof attr, "%s_unit", c->name);
        if (cat_h5_get_str_attr(ds, attr, v, sizeof v) < 0 ||
            strcmp(v, c->unit) != 0)
            problem(r, "/%s: attribute %s missing or not '%s'", s->name, attr,
                    c->unit);
        snprintf(attr, sizeof attr, "%s_description", c->name);
        if (cat_h5_get_str_attr(ds, attr, v, sizeof v) < 0 || !v[0])
            problem(r, "/%s: attribute %s missing", s->name, attr);
    }
    dcpl = H5Dget_create_plist(ds);
    space = H5Dget_space(ds);
    hsize_t dims[1], maxdims[1];
    if (H5Pget_layout(dcpl) != H5D_CHUNKED ||
        H5Sget_simple_extent_dims(space, dims, maxdims) != 1 ||
        maxdims[0] != H5S_UNLIMITED)
        problem(r, "/%s: not an extendible chunked table", s->name);
    snprintf(meta, sizeof meta, "%s%s", s->name, CAT_META_SUFFIX);
    if (H5Lexists(f, meta, H5P_DEFAULT) <= 0)
        problem(r, "/%s missing (astropy header)", meta);
out:
    H5Eclear2(H5E_DEFAULT);
    cat_h5close(space);
    cat_h5close(dcpl);
    cat_h5close(type);
    cat_h5close(ds);
}

/* Unit ids of /units, sorted, with their row for lookups. */
struct uref {
    const char *id;
    size_t row;
    int64_t seen[M_COUNT];
};

static int by_uref(const void *a, const void *b)
{
    return strcmp(((const struct uref *)a)->id, ((const struct uref *)b)->id);
}

static struct uref *uref_find(struct uref *v, size_t n, const char *id)
{
    struct uref key = {id, 0, {0}};
    return bsearch(&key, v, n, sizeof *v, by_uref);
}

/* A 64-bit hash of the bytes of a tidied row (for duplicate detection). */
struct rowhash {
    uint64_t h;
    size_t row;
};

static int by_hash(const void *a, const void *b)
{
    const struct rowhash *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

/* The bytes that identify a row: (unit_id, file) for /images, the whole
 * row elsewhere (struct padding zeroed). */
static uint64_t row_key_hash(int t, const char *row)
{
    uint64_t h = 1469598103934665603ull;
    const struct asw_schema *s = cat_tables[t];
    if (t == T_IMAGES) {
        const struct asw_image *m = (const void *)row;
        h = hash_bytes(h, m->unit_id, sizeof m->unit_id);
        return hash_bytes(h, m->file, sizeof m->file);
    }
    for (size_t i = 0; i < s->ncols; i++) {
        const struct asw_col *c = &s->cols[i];
        h = hash_bytes(h, row + c->offset, c->size);
    }
    return h;
}

static int rows_same(int t, const char *a, const char *b)
{
    const struct asw_schema *s = cat_tables[t];
    if (t == T_IMAGES) {
        const struct asw_image *x = (const void *)a, *y = (const void *)b;
        return strcmp(x->unit_id, y->unit_id) == 0 &&
               strcmp(x->file, y->file) == 0;
    }
    for (size_t i = 0; i < s->ncols; i++) {
        const struct asw_col *c = &s->cols[i];
        if (memcmp(a + c->offset, b + c->offset, c->size) != 0)
            return 0;
    }
    return 1;
}

/* Measurement table m: every row belongs to a done unit, counts match,
 * no duplicates. Rows are streamed; hashes kept for duplicates. */
static int check_rows(hid_t f, const char *path, int m, struct uref *u,
                      size_t nu, const struct asw_cat_unit_row *units,
                      struct report *r, struct asw_err *err)
{
    int t = cat_mtable[m];
    const struct asw_schema *s = cat_tables[t];
    hid_t ds = cat_h5_open_table(f, s), mt = cat_h5_type(s, 0);
    hsize_t n = 0;
    char *buf = malloc(CAT_IO_BLOCK_ROWS * s->rowsize);
    char *a = malloc(s->rowsize), *b = malloc(s->rowsize);
    char *clean = malloc(s->rowsize);
    struct rowhash *hs = NULL;
    size_t uid = cat_find_col(s, "unit_id")->offset;
    int rc = 0;
    if (!buf || !a || !b || !clean) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    if (ds < 0 || mt < 0 || cat_h5_rows(ds, &n) < 0) {
        rc = cat_h5fail(err, "%s: open /%s", path, s->name);
        goto out;
    }
    hs = malloc((n ? n : 1) * sizeof *hs);
    if (!hs) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    int64_t expect_off = 0;
    for (hsize_t q = 0; q < n; q += CAT_IO_BLOCK_ROWS) {
        hsize_t k = n - q < CAT_IO_BLOCK_ROWS ? n - q : CAT_IO_BLOCK_ROWS;
        if (cat_h5_rows_io(ds, mt, q, k, buf, 0) < 0) {
            rc = cat_h5fail(err, "%s: read /%s", path, s->name);
            goto out;
        }
        for (hsize_t i = 0; i < k; i++) {
            char *row = buf + i * s->rowsize;
            cat_tidy_row(s, row);
            /* Padding between members is not data: zero it for hashing. */
            memset(clean, 0, s->rowsize);
            for (size_t c = 0; c < s->ncols; c++)
                memcpy(clean + s->cols[c].offset, row + s->cols[c].offset,
                       s->cols[c].size);
            hs[q + i].h = row_key_hash(t, clean);
            hs[q + i].row = (size_t)(q + i);
            struct uref *ur = uref_find(u, nu, row + uid);
            if (!ur)
                problem(r, "/%s row %llu: unit %s not in /units", s->name,
                        (unsigned long long)(q + i), row + uid);
            else if (strcmp(units[ur->row].status, "done") != 0)
                problem(r, "/%s row %llu: unit %s is %s, not done", s->name,
                        (unsigned long long)(q + i), row + uid,
                        units[ur->row].status);
            if (ur)
                ur->seen[m]++;
            if (m == M_SPECTRA) {
                const struct asw_cat_spectrum_row *sp = (const void *)row;
                if (sp->chan_offset != expect_off || sp->n_chan < 0)
                    problem(r,
                            "/spectra row %llu: chan_offset %lld, n_chan "
                            "%lld; expected offset %lld",
                            (unsigned long long)(q + i),
                            (long long)sp->chan_offset, (long long)sp->n_chan,
                            (long long)expect_off);
                expect_off =
                    sp->chan_offset + (sp->n_chan > 0 ? sp->n_chan : 0);
            }
        }
    }
    if (m == M_SPECTRA) {
        hsize_t nc = table_len(f, T_CHANNELS);
        if ((hsize_t)expect_off != nc)
            problem(r,
                    "/spectra covers %lld channels, /spectra_channels has "
                    "%llu",
                    (long long)expect_off, (unsigned long long)nc);
    }
    if (n > 1)
        qsort(hs, n, sizeof *hs, by_hash);
    for (hsize_t i = 1; i < n; i++) {
        if (hs[i].h != hs[i - 1].h)
            continue;
        if (cat_h5_rows_io(ds, mt, hs[i - 1].row, 1, a, 0) < 0 ||
            cat_h5_rows_io(ds, mt, hs[i].row, 1, b, 0) < 0) {
            rc = cat_h5fail(err, "%s: read /%s", path, s->name);
            goto out;
        }
        cat_tidy_row(s, a);
        cat_tidy_row(s, b);
        if (rows_same(t, a, b))
            problem(r, "/%s rows %zu and %zu are duplicates (unit %s)", s->name,
                    hs[i - 1].row, hs[i].row, a + uid);
    }
    static const char *const counts[M_COUNT] = {"n_images", "n_seds",
                                                "n_absorption", "n_spectra"};
    for (size_t i = 0; i < nu; i++) {
        const struct asw_cat_unit_row *ur = &units[u[i].row];
        const int64_t want[M_COUNT] = {ur->n_images, ur->n_seds,
                                       ur->n_absorption, ur->n_spectra};
        if (want[m] != u[i].seen[m])
            problem(r, "/units %s: %s %lld but %lld /%s rows", ur->id,
                    counts[m], (long long)want[m], (long long)u[i].seen[m],
                    s->name);
    }
out:
    free(clean);
    free(hs);
    free(b);
    free(a);
    free(buf);
    cat_h5close(mt);
    cat_h5close(ds);
    return rc;
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int check_sources(hid_t f, const char *path, struct report *r,
                         struct asw_err *err)
{
    struct asw_cat_source_row *have = NULL, *want = NULL;
    size_t nh = 0, nw = 0;
    double pair_days = NAN;
    void *b = NULL;
    hid_t ds = cat_h5_open_table(f, cat_tables[T_SOURCES]);
    if (ds < 0 || cat_h5_get_double_attr(ds, "pair_days", &pair_days) < 0) {
        H5Eclear2(H5E_DEFAULT);
        cat_h5close(ds);
        problem(r, "/sources: attribute pair_days missing");
        return 0;
    }
    cat_h5close(ds);
    int rc = read_table(f, path, T_SOURCES, &b, &nh, err);
    if (rc < 0)
        return rc;
    have = b;
    rc = cat_sources_derive(f, path, pair_days, &want, &nw, err);
    if (rc < 0)
        goto out;
    if (nh != nw) {
        problem(r, "/sources has %zu rows, /images gives %zu", nh, nw);
        goto out;
    }
    const struct asw_schema *s = cat_tables[T_SOURCES];
    for (size_t i = 0; i < nh; i++) {
        for (size_t c = 0; c < s->ncols; c++) {
            const struct asw_col *col = &s->cols[c];
            const char *x = (const char *)&have[i] + col->offset;
            const char *y = (const char *)&want[i] + col->offset;
            int same = col->type == ASW_COL_F64
                           ? same_double(*(const double *)x, *(const double *)y)
                           : memcmp(x, y, col->size) == 0;
            if (!same) {
                problem(r, "/sources row %zu (%s B%d): %s differs from /images",
                        i, have[i].source, (int)have[i].band, col->name);
                break;
            }
        }
    }
out:
    free(want);
    free(have);
    return rc;
}

int asw_cat_verify(const char *path, FILE *report, size_t *problems,
                   struct asw_err *err)
{
    hid_t f = -1;
    struct report r = {report, 0};
    struct asw_cat_unit_row *units = NULL;
    struct asw_cat_run_row *runs = NULL;
    struct uref *u = NULL;
    size_t nu = 0, nr = 0;
    char id[CAT_ID_MAX] = "", v[128];
    int64_t seq = -1;
    void *b;
    if (problems)
        *problems = 0;
    int rc = cat_open_ro(path, &f, err);
    if (rc < 0)
        return rc;
    if (cat_h5_get_str_attr(f, "catalogue_id", id, sizeof id) < 0 || !id[0])
        problem(&r, "root attribute catalogue_id missing");
    if (cat_h5_get_int_attr(f, "journal_seq", &seq) < 0 || seq < 0)
        problem(&r, "root attribute journal_seq missing");
    if (cat_h5_get_str_attr(f, "creator", v, sizeof v) < 0 ||
        strncmp(v, "almasweep", 9) != 0)
        problem(&r, "root attribute creator missing");
    H5Eclear2(H5E_DEFAULT);
    for (int t = 0; t < T_COUNT; t++)
        check_structure(f, t, &r);
    if (r.n)
        goto done; /* the data checks need the documented layout */

    if ((rc = read_table(f, path, T_UNITS, &b, &nu, err)) < 0)
        goto out;
    units = b;
    if ((rc = read_table(f, path, T_RUNS, &b, &nr, err)) < 0)
        goto out;
    runs = b;
    u = calloc(nu ? nu : 1, sizeof *u);
    if (!u) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nu; i++) {
        u[i].id = units[i].id;
        u[i].row = i;
        const struct asw_cat_unit_row *x = &units[i];
        int st = asw_status_parse(x->status);
        if (!x->id[0])
            problem(&r, "/units row %zu: empty id", i);
        if (st < 0)
            problem(&r, "/units %s: unknown status '%s'", x->id, x->status);
        if (x->attempts < 0)
            problem(&r, "/units %s: attempts %d", x->id, (int)x->attempts);
        if (st != ASW_ST_DONE &&
            (x->n_images || x->n_seds || x->n_absorption || x->n_spectra))
            problem(&r, "/units %s: %s but has measurements", x->id, x->status);
        int known = !x->run_id[0];
        for (size_t k = 0; k < nr && !known; k++)
            known = strcmp(runs[k].run_id, x->run_id) == 0;
        if (!known)
            problem(&r, "/units %s: run %s not in /runs", x->id, x->run_id);
    }
    if (nu > 1)
        qsort(u, nu, sizeof *u, by_uref);
    for (size_t i = 1; i < nu; i++)
        if (strcmp(u[i].id, u[i - 1].id) == 0)
            problem(&r, "/units: unit %s twice (rows %zu and %zu)", u[i].id,
                    u[i - 1].row, u[i].row);
    for (int m = 0; m < M_COUNT; m++)
        if ((rc = check_rows(f, path, m, u, nu, units, &r, err)) < 0)
            goto out;
    for (size_t i = 0; i < nr; i++) {
        const struct asw_cat_run_row *x = &runs[i];
        if (!x->run_id[0])
            problem(&r, "/runs row %zu: empty run_id", i);
        if (strcmp(x->status, "running") && strcmp(x->status, "finished") &&
            strcmp(x->status, "interrupted"))
            problem(&r, "/runs %s: unknown status '%s'", x->run_id, x->status);
        for (size_t k = 0; k < i; k++)
            if (strcmp(runs[k].run_id, x->run_id) == 0)
                problem(&r, "/runs: run %s twice", x->run_id);
    }
    if ((rc = check_sources(f, path, &r, err)) < 0)
        goto out;
done:
    if (report && id[0] && seq >= 0) {
        size_t pending = 0;
        char *jpath = cat_journal_path(path);
        if (jpath &&
            cat_journal_peek(jpath, id, (uint64_t)seq, &pending) == 0 &&
            pending)
            fprintf(report,
                    "note: %zu journal records not yet in the file (a sweep "
                    "is running, or run `almasweep catalogue verify` to "
                    "apply them)\n",
                    pending);
        free(jpath);
    }
    if (problems)
        *problems = r.n;
out:
    free(u);
    free(runs);
    free(units);
    H5Fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Export                                                              */

static const char *ucd_of(const char *name)
{
    static const struct {
        const char *col, *ucd;
    } map[] = {
        {"source", "meta.id;src"},
        {"unit_id", "meta.id"},
        {"id", "meta.id;meta.main"},
        {"run_id", "meta.id"},
        {"file", "meta.file"},
        {"mjd", "time.epoch"},
        {"first_mjd", "time.start"},
        {"last_mjd", "time.end"},
        {"alpha_last_mjd", "time.epoch"},
        {"freq_hz", "em.freq"},
        {"rest_freq_hz", "em.freq;phys.atmol.transition"},
        {"ref_freq_hz", "em.freq"},
        {"freq_median_hz", "em.freq"},
        {"freq_min_hz", "em.freq;stat.min"},
        {"freq_max_hz", "em.freq;stat.max"},
        {"bandwidth_hz", "instr.bandwidth"},
        {"band", "instr.bandpass"},
        {"peak_jy", "phot.flux.density;stat.max"},
        {"flux_jy", "phot.flux.density"},
        {"ap_flux_jy", "phot.flux.density"},
        {"flux_ref_jy", "phot.flux.density"},
        {"cat_flux_jy", "phot.flux.density"},
        {"flux_median_jy", "phot.flux.density;stat.median"},
        {"flux_min_jy", "phot.flux.density;stat.min"},
        {"flux_max_jy", "phot.flux.density;stat.max"},
        {"cont_jy", "phot.flux.density"},
        {"rms_jy", "instr.det.noise"},
        {"noise_jy", "instr.det.noise"},
        {"snr", "stat.snr"},
        {"ra_deg", "pos.eq.ra;meta.main"},
        {"dec_deg", "pos.eq.dec;meta.main"},
        {"bmaj_arcsec", "instr.beam"},
        {"bmin_arcsec", "instr.beam"},
        {"bpa_deg", "pos.posAng;instr.beam"},
        {"alpha", "spect.index"},
        {"alpha_last", "spect.index"},
        {"v_lsrk_kms", "spect.dopplerVeloc.radio"},
        {"tau_peak", "phys.absorption.opticalDepth"},
        {"tau", "phys.absorption.opticalDepth"},
    };
    for (size_t i = 0; i < NELEM(map); i++)
        if (strcmp(map[i].col, name) == 0)
            return map[i].ucd;
    if (strstr(name, "_err"))
        return "stat.error";
    return NULL;
}

/* XML text: &<>"' escaped; bytes XML 1.0 cannot hold become '?'. */
static void xml_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') ||
                ch >= 0x7f)
                fputc('?', out);
            else
                fputc(ch, out);
        }
    }
}

static void csv_text(FILE *out, const char *s)
{
    int quote = strpbrk(s, ",\"\r\n") != NULL ||
                (s[0] && (isspace((unsigned char)s[0]) ||
                          isspace((unsigned char)s[strlen(s) - 1])));
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void put_value(FILE *out, const struct asw_col *c, const char *row,
                      int xml)
{
    const char *p = row + c->offset;
    switch (c->type) {
    case ASW_COL_STR:
        if (xml)
            xml_text(out, p);
        else
            csv_text(out, p);
        break;
    case ASW_COL_I32:
        fprintf(out, "%d", (int)*(const int32_t *)p);
        break;
    case ASW_COL_I64:
        fprintf(out, "%lld", (long long)*(const int64_t *)p);
        break;
    default: {
        double d = *(const double *)p;
        if (isnan(d))
            break; /* empty: null */
        if (isinf(d))
            fputs(d > 0 ? (xml ? "+Inf" : "inf") : (xml ? "-Inf" : "-inf"),
                  out);
        else
            fprintf(out, "%.17g", d);
    }
    }
}

static void votable_head(FILE *out, const struct asw_schema *s,
                         const char *path)
{
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<VOTABLE version=\"1.4\" "
          "xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" "
          "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
          " <RESOURCE type=\"results\">\n",
          out);
    fprintf(out, "  <INFO name=\"schema_version\" value=\"%d\"/>\n",
            ASW_CAT_SCHEMA_VERSION);
    fputs("  <INFO name=\"catalogue\" value=\"", out);
    xml_text(out, path);
    fputs("\"/>\n  <TABLE name=\"", out);
    xml_text(out, s->name);
    fputs("\">\n   <DESCRIPTION>", out);
    xml_text(out, s->desc);
    fputs("</DESCRIPTION>\n", out);
    for (size_t i = 0; i < s->ncols; i++) {
        const struct asw_col *c = &s->cols[i];
        const char *ucd = ucd_of(c->name);
        fprintf(out, "   <FIELD name=\"%s\" datatype=\"%s\"", c->name,
                c->type == ASW_COL_STR   ? "char"
                : c->type == ASW_COL_I32 ? "int"
                : c->type == ASW_COL_I64 ? "long"
                                         : "double");
        if (c->type == ASW_COL_STR)
            fputs(" arraysize=\"*\"", out);
        if (c->unit[0]) {
            /* VOUnit 1.0 deprecates "pix" (astropy says so): "pixel". */
            fputs(" unit=\"", out);
            xml_text(out, strcmp(c->unit, "pix") == 0 ? "pixel" : c->unit);
            fputc('"', out);
        }
        if (ucd)
            fprintf(out, " ucd=\"%s\"", ucd);
        fputs("><DESCRIPTION>", out);
        xml_text(out, c->desc);
        fputs("</DESCRIPTION></FIELD>\n", out);
    }
    fputs("   <DATA><TABLEDATA>\n", out);
}

int asw_cat_export(const char *path, const char *table,
                   enum asw_cat_format format, FILE *out, struct asw_err *err)
{
    int t = table ? table_by_name(table) : -1;
    if (t < 0)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE,
                           "no table '%s' (units, runs, images, seds, "
                           "absorption, spectra, spectra_channels, sources)",
                           table ? table : "");
    if (!out)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no output stream");
    const struct asw_schema *s = cat_tables[t];
    hid_t f = -1, ds = -1, mt = -1;
    hsize_t n = 0;
    size_t block = CAT_IO_BLOCK_ROWS * sizeof(struct asw_image) / s->rowsize;
    char *buf = malloc((block ? block : 1) * s->rowsize);
    int xml = format == ASW_CAT_VOTABLE;
    int rc = cat_open_ro(path, &f, err);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    if (!buf) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    if (block == 0)
        block = 1;
    ds = cat_h5_open_table(f, s);
    mt = cat_h5_type(s, 0);
    if (ds < 0 || mt < 0 || cat_h5_rows(ds, &n) < 0) {
        rc = cat_h5fail(err, "%s: open /%s", path, s->name);
        goto out;
    }
    if (xml) {
        votable_head(out, s, path);
    } else {
        for (size_t i = 0; i < s->ncols; i++)
            fprintf(out, "%s%s", i ? "," : "", s->cols[i].name);
        fputc('\n', out);
    }
    for (hsize_t q = 0; q < n; q += block) {
        hsize_t k = n - q < block ? n - q : block;
        if (cat_h5_rows_io(ds, mt, q, k, buf, 0) < 0) {
            rc = cat_h5fail(err, "%s: read /%s", path, s->name);
            goto out;
        }
        for (hsize_t i = 0; i < k; i++) {
            const char *row = buf + i * s->rowsize;
            cat_tidy_row(s, (char *)row);
            if (xml)
                fputs("    <TR>", out);
            for (size_t c = 0; c < s->ncols; c++) {
                if (xml)
                    fputs("<TD>", out);
                else if (c)
                    fputc(',', out);
                put_value(out, &s->cols[c], row, xml);
                if (xml)
                    fputs("</TD>", out);
            }
            fputs(xml ? "</TR>\n" : "\n", out);
        }
    }
    if (xml)
        fputs("   </TABLEDATA></DATA>\n  </TABLE>\n </RESOURCE>\n</VOTABLE>\n",
              out);
    if (fflush(out) != 0 || ferror(out))
        rc = asw_err_set(err, ASW_EIO, CAT_MODULE, "write error");
out:
    free(buf);
    cat_h5close(mt);
    cat_h5close(ds);
    H5Fclose(f);
    return rc;
}
