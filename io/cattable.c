/*
 * cattable.c - the generic read-only table reader (cattable.h).
 *
 * A read is planned once per table: for every column of the caller's
 * schema, the table's compound member of that name (if any, and of a
 * compatible class) goes into a packed memory type. Rows are then read in
 * blocks through that type and scattered into the caller's structs, which
 * were set unknown first. Reading through a packed projection, rather
 * than straight into the structs, leaves the bytes of missing columns
 * untouched whatever HDF5 does with the rest of a compound element.
 */
#include "cattable.h"

#include "catalogue.h"
#include "catrows.h"
#include "h5util.h"

#include <hdf5.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CT_MODULE     "cattable"
#define CT_BLOCK_ROWS 4096
/* Text attributes longer than this are not read (a /runs config is 16 KiB,
 * an attribute is a line or two). */
#define CT_ATTR_MAX (64u << 10)

struct asw_ct {
    hid_t file;
    char *path;
};

/* ---- open ----------------------------------------------------------- */

/* The root attribute schema_version as an integer: 0 and 0 when absent. */
static int read_version(hid_t f, int64_t *v)
{
    *v = 0;
    htri_t has = H5Aexists(f, "schema_version");
    if (has <= 0)
        return has < 0 ? -1 : 0;
    hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    hid_t sp = a < 0 ? -1 : H5Aget_space(a);
    int rc = -1;
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_INTEGER &&
        H5Sget_simple_extent_npoints(sp) == 1 &&
        H5Aread(a, H5T_NATIVE_INT64, v) >= 0)
        rc = 0;
    asw_h5_close(sp);
    asw_h5_close(t);
    asw_h5_close(a);
    return rc;
}

int asw_ct_open(const char *path, struct asw_ct **out, int *version,
                struct asw_err *err)
{
    struct stat st;
    int64_t v = 0;
    hid_t f = -1;
    int rc;
    if (version)
        *version = 0;
    if (!out)
        return asw_err_set(err, ASW_EINVAL, CT_MODULE, "no output");
    *out = NULL;
    if (!path || !path[0])
        return asw_err_set(err, ASW_EINVAL, CT_MODULE, "no catalogue path");
    asw_h5_quiet();
    if (stat(path, &st) != 0)
        return asw_err_set(err, errno == ENOENT ? ASW_ENOTFOUND : ASW_EIO,
                           CT_MODULE, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return asw_err_set(err, ASW_EPARSE, CT_MODULE, "%s: not a regular file",
                           path);
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return asw_err_set(err, ASW_EPARSE, CT_MODULE, "%s: not an HDF5 file",
                           path);
    }
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return asw_h5_fail(err, CT_MODULE, "%s: open", path);
    if (read_version(f, &v) < 0) {
        rc = asw_h5_fail(err, CT_MODULE, "%s: read schema_version", path);
        goto fail;
    }
    if (version)
        *version = v > INT32_MAX || v < INT32_MIN ? -1 : (int)v;
    if (v == 0) {
        rc = asw_err_set(err, ASW_EPARSE, CT_MODULE,
                         "%s: not an almasweep catalogue (no schema_version "
                         "attribute)",
                         path);
        goto fail;
    }
    if (v != ASW_CAT_SCHEMA_VERSION) {
        rc = asw_err_set(err, ASW_EPARSE, CT_MODULE,
                         "%s: schema_version %lld, this build reads %d", path,
                         (long long)v, ASW_CAT_SCHEMA_VERSION);
        goto fail;
    }
    struct asw_ct *c = calloc(1, sizeof *c);
    char *p = strdup(path);
    if (!c || !p) {
        free(c);
        free(p);
        rc = asw_err_set(err, ASW_ENOMEM, CT_MODULE, "out of memory");
        goto fail;
    }
    c->file = f;
    c->path = p;
    *out = c;
    return 0;
fail:
    H5Fclose(f);
    return rc;
}

void asw_ct_close(struct asw_ct *c)
{
    if (!c)
        return;
    asw_h5_close(c->file);
    free(c->path);
    free(c);
}

/* ---- attributes ----------------------------------------------------- */

static int attr_text(hid_t a, char *buf, size_t n)
{
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a), mt = -1;
    int rc = -1;
    if (t < 0 || sp < 0 || H5Sget_simple_extent_npoints(sp) != 1)
        goto out;
    switch (H5Tget_class(t)) {
    case H5T_STRING:
        mt = H5Tcopy(H5T_C_S1);
        if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            if (H5Tset_size(mt, H5T_VARIABLE) < 0 ||
                H5Tset_cset(mt, H5Tget_cset(t)) < 0 || H5Aread(a, mt, &s) < 0)
                goto out;
            snprintf(buf, n, "%s", s ? s : "");
            H5free_memory(s);
            rc = 0;
        } else {
            size_t sz = H5Tget_size(t);
            char *s = sz && sz <= CT_ATTR_MAX ? calloc(1, sz + 1) : NULL;
            if (s && H5Tset_size(mt, sz + 1) >= 0 && H5Aread(a, mt, s) >= 0) {
                snprintf(buf, n, "%s", s);
                rc = 0;
            }
            free(s);
        }
        break;
    case H5T_INTEGER: {
        long long v;
        if (H5Aread(a, H5T_NATIVE_LLONG, &v) >= 0) {
            snprintf(buf, n, "%lld", v);
            rc = 0;
        }
        break;
    }
    case H5T_FLOAT: {
        double v;
        if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0) {
            snprintf(buf, n, "%.17g", v);
            rc = 0;
        }
        break;
    }
    default:
        break;
    }
out:
    asw_h5_close(mt);
    asw_h5_close(sp);
    asw_h5_close(t);
    return rc;
}

int asw_ct_attr(struct asw_ct *c, const char *table, const char *name,
                char *buf, size_t n)
{
    if (!buf || n == 0)
        return ASW_EINVAL;
    buf[0] = 0;
    if (!c || !name)
        return ASW_EINVAL;
    hid_t obj = table ? H5Oopen(c->file, table, H5P_DEFAULT) : c->file;
    hid_t a = -1;
    int rc = ASW_ENOTFOUND;
    if (obj >= 0 && H5Aexists(obj, name) > 0 &&
        (a = H5Aopen(obj, name, H5P_DEFAULT)) >= 0 && attr_text(a, buf, n) == 0)
        rc = 0;
    else
        buf[0] = 0;
    asw_h5_close(a);
    if (table)
        asw_h5_close(obj);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

/* ---- generic rows --------------------------------------------------- */

/* Where one found column goes: from packed_off in the read buffer to
 * dst_off in the caller's row. */
struct colmap {
    size_t packed_off, dst_off, size;
    enum asw_coltype type;
};

struct plan {
    hid_t memtype; /* packed projection, -1 when no column matched */
    struct colmap *map;
    size_t nmap, packed;
};

static void plan_free(struct plan *p)
{
    asw_h5_close(p->memtype);
    free(p->map);
    p->memtype = -1;
    p->map = NULL;
}

/* Whether member idx of compound ftype can fill a column of type t. */
static int compatible(hid_t ftype, int idx, enum asw_coltype t)
{
    H5T_class_t cls = H5Tget_member_class(ftype, (unsigned)idx);
    if (t != ASW_COL_STR)
        return cls == H5T_INTEGER || cls == H5T_FLOAT;
    if (cls != H5T_STRING)
        return 0;
    hid_t mt = H5Tget_member_type(ftype, (unsigned)idx);
    int fixed = mt >= 0 && H5Tis_variable_str(mt) == 0;
    asw_h5_close(mt);
    return fixed;
}

static void note_missing(struct asw_ct_info *info, const char *name)
{
    if (!info)
        return;
    size_t len = strlen(info->missing);
    if (info->cols_missing++ && len + 1 < sizeof info->missing)
        info->missing[len++] = ',';
    if (len < sizeof info->missing)
        snprintf(info->missing + len, sizeof info->missing - len, "%s", name);
}

/* Plan the read of schema s from dataset ds (checked to be a 1-D table of
 * a compound type). */
static int plan_make(hid_t ds, const char *path, const struct asw_schema *s,
                     struct plan *p, struct asw_ct_info *info,
                     struct asw_err *err)
{
    hid_t ftype = H5Dget_type(ds), sp = H5Dget_space(ds);
    int rc = 0;
    p->memtype = -1;
    p->nmap = p->packed = 0;
    p->map = calloc(s->ncols ? s->ncols : 1, sizeof *p->map);
    if (!p->map) {
        rc = asw_err_set(err, ASW_ENOMEM, CT_MODULE, "out of memory");
        goto out;
    }
    if (ftype < 0 || sp < 0) {
        rc = asw_h5_fail(err, CT_MODULE, "%s: /%s: type", path, s->name);
        goto out;
    }
    if (H5Tget_class(ftype) != H5T_COMPOUND ||
        H5Sget_simple_extent_ndims(sp) != 1) {
        rc = asw_err_set(err, ASW_EPARSE, CT_MODULE,
                         "%s: /%s is not a table (1-D compound dataset)", path,
                         s->name);
        goto out;
    }
    for (size_t i = 0; i < s->ncols; i++) {
        const struct asw_col *col = &s->cols[i];
        int idx = H5Tget_member_index(ftype, col->name);
        if (idx < 0 || !compatible(ftype, idx, col->type)) {
            note_missing(info, col->name);
            continue;
        }
        struct colmap *m = &p->map[p->nmap++];
        m->packed_off = (p->packed + 7) & ~(size_t)7;
        m->dst_off = col->offset;
        m->size = col->size;
        m->type = col->type;
        p->packed = m->packed_off + col->size;
    }
    H5Eclear2(H5E_DEFAULT); /* H5Tget_member_index of a missing name */
    if (p->nmap == 0)
        goto out;
    p->packed = (p->packed + 7) & ~(size_t)7;
    p->memtype = H5Tcreate(H5T_COMPOUND, p->packed);
    for (size_t i = 0, k = 0; rc == 0 && i < s->ncols; i++) {
        const struct asw_col *col = &s->cols[i];
        if (k >= p->nmap || p->map[k].dst_off != col->offset)
            continue;
        hid_t mt;
        if (col->type == ASW_COL_STR) {
            mt = H5Tcopy(H5T_C_S1);
            if (mt >= 0 && (H5Tset_size(mt, col->size) < 0 ||
                            H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0)) {
                asw_h5_close(mt);
                mt = -1;
            }
        } else {
            mt = H5Tcopy(col->type == ASW_COL_I32   ? H5T_NATIVE_INT32
                         : col->type == ASW_COL_I64 ? H5T_NATIVE_INT64
                                                    : H5T_NATIVE_DOUBLE);
        }
        if (p->memtype < 0 || mt < 0 ||
            H5Tinsert(p->memtype, col->name, p->map[k].packed_off, mt) < 0)
            rc = asw_h5_fail(err, CT_MODULE, "%s: /%s: memory type", path,
                             s->name);
        asw_h5_close(mt);
        k++;
    }
out:
    asw_h5_close(sp);
    asw_h5_close(ftype);
    if (rc)
        plan_free(p);
    return rc;
}

/* Read rows [start, start + count) of ds into dst (count rows of
 * s->rowsize bytes), setting every row unknown first. */
static int plan_read(hid_t ds, const char *path, const struct asw_schema *s,
                     const struct plan *p, hsize_t start, size_t count,
                     void *dst, struct asw_err *err)
{
    char *out = dst;
    for (size_t i = 0; i < count; i++)
        asw_row_init(s, out + i * s->rowsize);
    if (p->nmap == 0 || count == 0)
        return 0;
    size_t block = count < CT_BLOCK_ROWS ? count : CT_BLOCK_ROWS;
    char *buf = malloc(block * p->packed);
    hid_t fs = H5Dget_space(ds), ms = -1;
    int rc = 0;
    if (!buf) {
        rc = asw_err_set(err, ASW_ENOMEM, CT_MODULE, "out of memory");
        goto out;
    }
    for (size_t done = 0; done < count; done += block) {
        size_t k = count - done < block ? count - done : block;
        hsize_t off = start + done, cnt = k;
        asw_h5_close(ms);
        ms = H5Screate_simple(1, &cnt, NULL);
        if (fs < 0 || ms < 0 ||
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &off, NULL, &cnt, NULL) <
                0 ||
            H5Dread(ds, p->memtype, ms, fs, H5P_DEFAULT, buf) < 0) {
            rc = asw_h5_fail(err, CT_MODULE, "%s: read /%s rows %llu..%llu",
                             path, s->name, (unsigned long long)off,
                             (unsigned long long)(off + cnt));
            goto out;
        }
        for (size_t r = 0; r < k; r++) {
            char *row = out + (done + r) * s->rowsize;
            const char *src = buf + r * p->packed;
            for (size_t j = 0; j < p->nmap; j++) {
                const struct colmap *m = &p->map[j];
                memcpy(row + m->dst_off, src + m->packed_off, m->size);
                if (m->type == ASW_COL_STR) {
                    /* NUL-terminated, zero after the NUL. */
                    char *str = row + m->dst_off;
                    size_t len = strnlen(str, m->size - 1);
                    memset(str + len, 0, m->size - len);
                }
            }
        }
    }
out:
    free(buf);
    asw_h5_close(ms);
    asw_h5_close(fs);
    return rc;
}

/* Open table name of c: ASW_ENOTFOUND when the file has none. */
static int open_table(struct asw_ct *c, const char *name, hid_t *ds,
                      hsize_t *rows, struct asw_err *err)
{
    *ds = -1;
    *rows = 0;
    htri_t has = H5Lexists(c->file, name, H5P_DEFAULT);
    if (has <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return asw_err_set(err, ASW_ENOTFOUND, CT_MODULE, "%s: no table /%s",
                           c->path, name);
    }
    hid_t d = H5Dopen2(c->file, name, H5P_DEFAULT);
    hid_t sp = d < 0 ? -1 : H5Dget_space(d);
    if (sp < 0) {
        asw_h5_close(d);
        return asw_h5_fail(err, CT_MODULE, "%s: open /%s", c->path, name);
    }
    hsize_t dims[1] = {0};
    if (H5Sget_simple_extent_ndims(sp) == 1)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    asw_h5_close(sp);
    *ds = d;
    *rows = dims[0];
    return 0;
}

int asw_ct_read(struct asw_ct *c, const struct asw_schema *s, size_t max_rows,
                void **rows, struct asw_ct_info *info, struct asw_err *err)
{
    struct plan p = {-1, NULL, 0, 0};
    hid_t ds = -1;
    hsize_t total = 0;
    void *buf = NULL;
    if (!rows)
        return asw_err_set(err, ASW_EINVAL, CT_MODULE, "no output");
    *rows = NULL;
    if (info)
        memset(info, 0, sizeof *info);
    if (!c || !s || s->rowsize == 0)
        return asw_err_set(err, ASW_EINVAL, CT_MODULE, "no table");
    int rc = open_table(c, s->name, &ds, &total, err);
    if (rc)
        return rc;
    if ((rc = plan_make(ds, c->path, s, &p, info, err)) < 0)
        goto out;
    size_t n = total < (hsize_t)max_rows ? (size_t)total : max_rows;
    if (info) {
        info->rows_total = total > SIZE_MAX ? SIZE_MAX : (size_t)total;
        info->rows_read = n;
    }
    if (n == 0)
        goto out;
    if (n > SIZE_MAX / s->rowsize || !(buf = malloc(n * s->rowsize))) {
        rc = asw_err_set(err, ASW_ENOMEM, CT_MODULE,
                         "%s: /%s: out of memory for %zu rows", c->path,
                         s->name, n);
        goto out;
    }
    if ((rc = plan_read(ds, c->path, s, &p, 0, n, buf, err)) < 0)
        goto out;
    *rows = buf;
    buf = NULL;
out:
    if (rc && info)
        info->rows_read = 0;
    free(buf);
    plan_free(&p);
    asw_h5_close(ds);
    return rc;
}

/* ---- spectra -------------------------------------------------------- */

void asw_ct_spectra_free(struct asw_spectrum *sp, size_t n)
{
    if (!sp)
        return;
    for (size_t i = 0; i < n; i++)
        asw_spectrum_free(&sp[i]);
    free(sp);
}

__attribute__((format(printf, 2, 3))) static void
skip(struct asw_ct_spectra_info *info, const char *fmt, ...)
{
    if (info->skipped++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(info->why, sizeof info->why, fmt, ap);
        va_end(ap);
    }
}

int asw_ct_read_spectra(struct asw_ct *c, size_t max_spectra,
                        size_t max_channels, struct asw_spectrum **out,
                        size_t *n, struct asw_ct_spectra_info *info,
                        struct asw_err *err)
{
    struct asw_cat_spectrum_row *rows = NULL;
    struct asw_cat_channel_row *ch = NULL;
    struct asw_spectrum *sp = NULL;
    struct asw_ct_info ti;
    struct asw_ct_spectra_info dummy;
    struct plan p = {-1, NULL, 0, 0};
    hid_t ds = -1;
    hsize_t nch_total = 0;
    size_t m = 0, used = 0;
    void *b = NULL;
    if (!out || !n)
        return asw_err_set(err, ASW_EINVAL, CT_MODULE, "no output");
    *out = NULL;
    *n = 0;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    int rc = asw_ct_read(c, &asw_cat_schema_spectra, max_spectra, &b, &ti, err);
    if (rc == ASW_ENOTFOUND) {
        asw_err_clear(err);
        return 0;
    }
    if (rc)
        return rc;
    rows = b;
    info->total = ti.rows_total;
    if (ti.rows_total > ti.rows_read) {
        snprintf(info->why, sizeof info->why, "more than %zu spectra",
                 max_spectra);
        info->skipped = ti.rows_total - ti.rows_read;
    }
    if (ti.rows_read == 0)
        goto out;
    rc = open_table(c, asw_cat_schema_channels.name, &ds, &nch_total, err);
    if (rc == ASW_ENOTFOUND) {
        asw_err_clear(err);
        rc = 0;
        snprintf(info->why, sizeof info->why, "no /spectra_channels table");
        info->skipped = ti.rows_total;
        goto out;
    }
    if (rc || (rc = plan_make(ds, c->path, &asw_cat_schema_channels, &p, NULL,
                              err)) < 0)
        goto out;
    sp = calloc(ti.rows_read, sizeof *sp);
    if (!sp) {
        rc = asw_err_set(err, ASW_ENOMEM, CT_MODULE, "out of memory");
        goto out;
    }
    int64_t running = 0; /* the documented chan_offset of this row */
    for (size_t i = 0; i < ti.rows_read; i++) {
        const struct asw_cat_spectrum_row *r = &rows[i];
        int64_t len = r->n_chan;
        int64_t off = r->chan_offset >= 0 ? r->chan_offset : running;
        if (len > 0)
            running += len;
        if (len < 1 || len > (int64_t)ASW_CT_CHAN_MAX) {
            skip(info, "/spectra row %zu: n_chan %lld out of range", i,
                 (long long)len);
            continue;
        }
        if (off < 0 || (hsize_t)off > nch_total ||
            (hsize_t)len > nch_total - (hsize_t)off) {
            skip(info,
                 "/spectra row %zu: channels %lld..%lld beyond "
                 "/spectra_channels (%llu rows)",
                 i, (long long)off, (long long)(off + len),
                 (unsigned long long)nch_total);
            continue;
        }
        if ((size_t)len > max_channels - used) {
            skip(info, "more than %zu channels in all", max_channels);
            continue;
        }
        size_t k = (size_t)len;
        struct asw_cat_channel_row *t = realloc(ch, k * sizeof *ch);
        if (!t) {
            rc = asw_err_set(err, ASW_ENOMEM, CT_MODULE, "out of memory");
            goto out;
        }
        ch = t;
        rc = plan_read(ds, c->path, &asw_cat_schema_channels, &p, (hsize_t)off,
                       k, ch, err);
        if (rc)
            goto out;
        struct asw_spectrum *s = &sp[m];
        snprintf(s->unit_id, sizeof s->unit_id, "%s", r->unit_id);
        snprintf(s->file, sizeof s->file, "%s", r->file);
        snprintf(s->source, sizeof s->source, "%s", r->source);
        s->spw = r->spw;
        s->mjd = r->mjd;
        s->freq_hz = malloc(k * sizeof(double));
        s->flux_jy = malloc(k * sizeof(double));
        s->ap_flux_jy = malloc(k * sizeof(double));
        s->noise_jy = malloc(k * sizeof(double));
        s->cont_jy = malloc(k * sizeof(double));
        s->tau = malloc(k * sizeof(double));
        m++; /* owned by sp from here: freed on error too */
        if (!s->freq_hz || !s->flux_jy || !s->ap_flux_jy || !s->noise_jy ||
            !s->cont_jy || !s->tau) {
            rc = asw_err_set(err, ASW_ENOMEM, CT_MODULE, "out of memory");
            goto out;
        }
        s->n_chan = k;
        for (size_t j = 0; j < k; j++) {
            s->freq_hz[j] = ch[j].freq_hz;
            s->flux_jy[j] = ch[j].flux_jy;
            s->ap_flux_jy[j] = ch[j].ap_flux_jy;
            s->noise_jy[j] = ch[j].noise_jy;
            s->cont_jy[j] = ch[j].cont_jy;
            s->tau[j] = ch[j].tau;
        }
        used += k;
    }
out:
    free(rows);
    free(ch);
    plan_free(&p);
    asw_h5_close(ds);
    if (rc) {
        asw_ct_spectra_free(sp, m);
        return rc;
    }
    if (m == 0) {
        free(sp);
        sp = NULL;
    }
    info->read = m;
    *out = sp;
    *n = m;
    return 0;
}
