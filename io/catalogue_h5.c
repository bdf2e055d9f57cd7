/*
 * catalogue_h5.c - the HDF5 side of the catalogue: compound types built
 * from the column arrays, attributes, the astropy header, table creation
 * and row I/O (HDF5 errors are translated into struct asw_err by
 * io/h5util.c).
 *
 * From one column array come the in-memory compound type, the packed
 * little-endian file type, the per-column attributes and the astropy
 * metadata, so the four cannot drift apart.
 *
 * astropy (write_table_hdf5 with serialize_meta=True, astropy >= 3.0)
 * keeps column units and descriptions as a YAML header, one line per
 * element of a fixed-length string dataset that sits next to the table and
 * is named "<table>.__table_column_meta__". We write the same thing, so
 * Table.read(path, path="/images") gets the units.
 */
#include "catalogue_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Types and rows                                                      */

static hid_t str_type(size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    if (H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, H5T_CSET_ASCII) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static hid_t scalar_type(enum asw_coltype type, int file)
{
    switch (type) {
    case ASW_COL_I32:
        return file ? H5T_STD_I32LE : H5T_NATIVE_INT32;
    case ASW_COL_I64:
        return file ? H5T_STD_I64LE : H5T_NATIVE_INT64;
    case ASW_COL_F64:
        return file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE;
    default:
        return -1;
    }
}

static size_t file_size(const struct asw_col *c)
{
    return c->type == ASW_COL_STR ? c->size : c->type == ASW_COL_I32 ? 4 : 8;
}

static hid_t compound(const struct asw_col *cols, size_t ncols, size_t rowsize,
                      int file)
{
    size_t size = rowsize;
    if (file) {
        size = 0;
        for (size_t i = 0; i < ncols; i++)
            size += file_size(&cols[i]);
    }
    hid_t t = H5Tcreate(H5T_COMPOUND, size);
    if (t < 0)
        return -1;
    size_t off = 0;
    for (size_t i = 0; i < ncols; i++) {
        const struct asw_col *c = &cols[i];
        hid_t mt = c->type == ASW_COL_STR ? str_type(c->size)
                                          : scalar_type(c->type, file);
        herr_t rc =
            mt < 0 ? -1 : H5Tinsert(t, c->name, file ? off : c->offset, mt);
        if (c->type == ASW_COL_STR)
            cat_h5close(mt);
        if (rc < 0) {
            H5Tclose(t);
            return -1;
        }
        off += file_size(c);
    }
    return t;
}

hid_t cat_h5_type(const struct asw_schema *t, int file)
{
    return compound(t->cols, t->ncols, t->rowsize, file);
}

hid_t cat_h5_projection(const struct asw_schema *t, const char *const *names,
                        const size_t *offsets, size_t n, size_t rowsize)
{
    struct asw_col cols[16];
    if (n > NELEM(cols))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct asw_col *c = cat_find_col(t, names[i]);
        if (!c)
            return -1;
        cols[i] = *c;
        cols[i].offset = offsets[i];
    }
    return compound(cols, n, rowsize, 0);
}

void cat_tidy_row(const struct asw_schema *t, void *row)
{
    for (size_t i = 0; i < t->ncols; i++) {
        const struct asw_col *c = &t->cols[i];
        if (c->type != ASW_COL_STR)
            continue;
        char *s = (char *)row + c->offset;
        size_t len = strnlen(s, c->size);
        if (len == c->size)
            len = c->size - 1;
        memset(s + len, 0, c->size - len);
    }
}

void cat_setstr(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

void cat_utc_now(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (!gmtime_r(&ts.tv_sec, &tm) ||
        !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        cat_setstr(buf, n, "");
}

/* ------------------------------------------------------------------ */
/* Attributes                                                          */

int cat_h5_set_str_attr(hid_t obj, const char *name, const char *value)
{
    hid_t type = -1, space = -1, attr = -1;
    int rc = -1;
    htri_t exists = H5Aexists(obj, name);
    if (exists < 0 || (exists > 0 && H5Adelete(obj, name) < 0))
        goto out;
    /* Variable-length UTF-8: h5py hands these back as str, not bytes. */
    type = H5Tcopy(H5T_C_S1);
    if (type < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 ||
        H5Tset_cset(type, H5T_CSET_UTF8) < 0)
        goto out;
    space = H5Screate(H5S_SCALAR);
    if (space < 0)
        goto out;
    attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, type, &value) < 0)
        goto out;
    rc = 0;
out:
    cat_h5close(attr);
    cat_h5close(space);
    cat_h5close(type);
    return rc;
}

static int set_scalar_attr(hid_t obj, const char *name, hid_t ftype,
                           hid_t mtype, const void *value)
{
    hid_t space = -1, attr = -1;
    int rc = -1;
    htri_t exists = H5Aexists(obj, name);
    if (exists < 0 || (exists > 0 && H5Adelete(obj, name) < 0))
        return -1;
    space = H5Screate(H5S_SCALAR);
    if (space < 0)
        goto out;
    attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, mtype, value) < 0)
        goto out;
    rc = 0;
out:
    cat_h5close(attr);
    cat_h5close(space);
    return rc;
}

int cat_h5_set_int_attr(hid_t obj, const char *name, int64_t value)
{
    /* schema_version stays a 32-bit integer, as in version 1. */
    if (strcmp(name, "schema_version") == 0) {
        int32_t v = (int32_t)value;
        return set_scalar_attr(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &v);
    }
    return set_scalar_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

int cat_h5_set_double_attr(hid_t obj, const char *name, double value)
{
    return set_scalar_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                           &value);
}

int cat_h5_get_str_attr(hid_t obj, const char *name, char *buf, size_t n)
{
    hid_t attr = -1, ftype = -1, mtype = -1;
    int rc = -1;
    buf[0] = '\0';
    attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        goto out;
    ftype = H5Aget_type(attr);
    if (ftype < 0 || H5Tget_class(ftype) != H5T_STRING)
        goto out;
    mtype = H5Tcopy(H5T_C_S1);
    if (mtype < 0)
        goto out;
    if (H5Tis_variable_str(ftype) > 0) {
        char *s = NULL;
        if (H5Tset_size(mtype, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0 ||
            H5Aread(attr, mtype, &s) < 0)
            goto out;
        cat_setstr(buf, n, s);
        H5free_memory(s);
    } else {
        size_t size = H5Tget_size(ftype);
        char *s = calloc(1, size + 1);
        if (!s)
            goto out;
        if (H5Tset_size(mtype, size + 1) < 0 || H5Aread(attr, mtype, s) < 0) {
            free(s);
            goto out;
        }
        cat_setstr(buf, n, s);
        free(s);
    }
    rc = 0;
out:
    cat_h5close(mtype);
    cat_h5close(ftype);
    cat_h5close(attr);
    return rc;
}

int cat_h5_get_int_attr(hid_t obj, const char *name, int64_t *value)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    herr_t rc = attr < 0 ? -1 : H5Aread(attr, H5T_NATIVE_INT64, value);
    cat_h5close(attr);
    return rc < 0 ? -1 : 0;
}

int cat_h5_get_double_attr(hid_t obj, const char *name, double *value)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    herr_t rc = attr < 0 ? -1 : H5Aread(attr, H5T_NATIVE_DOUBLE, value);
    cat_h5close(attr);
    return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* The astropy header                                                  */

/* Append s to the YAML line as a single-quoted scalar ('' escapes '). */
static void yaml_quote(char *line, size_t n, const char *s)
{
    size_t len = strlen(line);
    if (len + 1 < n)
        line[len++] = '\'';
    for (; *s && len + 3 < n; s++) {
        if (*s == '\'')
            line[len++] = '\'';
        line[len++] = *s;
    }
    if (len + 1 < n)
        line[len++] = '\'';
    line[len] = '\0';
}

static const char *yaml_datatype(enum asw_coltype t)
{
    switch (t) {
    case ASW_COL_STR:
        return "string";
    case ASW_COL_I32:
        return "int32";
    case ASW_COL_I64:
        return "int64";
    default:
        return "float64";
    }
}

#define YAML_LINE_MAX 320

/*
 * The astropy header lines for table t, as write_table_hdf5 with
 * serialize_meta=True writes them (astropy.table.meta.get_yaml_from_table):
 *   datatype:
 *   - {name: peak_jy, unit: Jy/beam, datatype: float64, description: ...}
 *   meta: !!omap
 *   - {key: value}
 * Returns a malloc'd array of nlines * YAML_LINE_MAX bytes, or NULL.
 */
static char *yaml_header(const struct asw_schema *t, size_t *nlines)
{
    size_t n = 1 + t->ncols + 4;
    char *buf = calloc(n, YAML_LINE_MAX);
    if (!buf)
        return NULL;
    size_t k = 0;
    snprintf(buf + YAML_LINE_MAX * k++, YAML_LINE_MAX, "datatype:");
    for (size_t i = 0; i < t->ncols; i++) {
        const struct asw_col *c = &t->cols[i];
        char *line = buf + YAML_LINE_MAX * k++;
        snprintf(line, YAML_LINE_MAX, "- {name: %s, ", c->name);
        if (c->unit[0]) {
            strcat(line, "unit: ");
            yaml_quote(line, YAML_LINE_MAX, c->unit);
            strcat(line, ", ");
        }
        size_t len = strlen(line);
        snprintf(line + len, YAML_LINE_MAX - len,
                 "datatype: %s, description: ", yaml_datatype(c->type));
        yaml_quote(line, YAML_LINE_MAX - 1, c->desc);
        strcat(line, "}");
    }
    snprintf(buf + YAML_LINE_MAX * k++, YAML_LINE_MAX, "meta: !!omap");
    snprintf(buf + YAML_LINE_MAX * k++, YAML_LINE_MAX, "- {schema_version: %d}",
             ASW_CAT_SCHEMA_VERSION);
    snprintf(buf + YAML_LINE_MAX * k++, YAML_LINE_MAX, "- {table: %s}",
             t->name);
    char *line = buf + YAML_LINE_MAX * k++;
    snprintf(line, YAML_LINE_MAX, "- {description: ");
    yaml_quote(line, YAML_LINE_MAX - 1, t->desc);
    strcat(line, "}");
    *nlines = k;
    return buf;
}

/* Write "<table>.__table_column_meta__" next to the table. */
static int write_astropy_meta(hid_t file, const struct asw_schema *t)
{
    size_t nlines = 0, width = 1;
    char *lines = yaml_header(t, &nlines);
    char *packed = NULL;
    hid_t type = -1, space = -1, ds = -1;
    int rc = -1;
    char name[64];
    if (!lines)
        goto out;
    for (size_t i = 0; i < nlines; i++) {
        size_t len = strlen(lines + YAML_LINE_MAX * i);
        width = len > width ? len : width;
    }
    /* Null-padded to the longest line, exactly as astropy writes it. */
    packed = calloc(nlines, width);
    if (!packed)
        goto out;
    for (size_t i = 0; i < nlines; i++)
        memcpy(packed + width * i, lines + YAML_LINE_MAX * i,
               strlen(lines + YAML_LINE_MAX * i));
    type = H5Tcopy(H5T_C_S1);
    if (type < 0 || H5Tset_size(type, width) < 0 ||
        H5Tset_strpad(type, H5T_STR_NULLPAD) < 0)
        goto out;
    hsize_t dims[1] = {nlines};
    space = H5Screate_simple(1, dims, NULL);
    snprintf(name, sizeof name, "%s%s", t->name, CAT_META_SUFFIX);
    if (space < 0)
        goto out;
    ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT,
                    H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, packed) < 0)
        goto out;
    rc = 0;
out:
    cat_h5close(ds);
    cat_h5close(space);
    cat_h5close(type);
    free(packed);
    free(lines);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Datasets                                                            */

static hid_t table_dapl(void)
{
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl >= 0 &&
        H5Pset_chunk_cache(dapl, H5D_CHUNK_CACHE_NSLOTS_DEFAULT,
                           CAT_CHUNK_CACHE, H5D_CHUNK_CACHE_W0_DEFAULT) < 0) {
        H5Pclose(dapl);
        return -1;
    }
    return dapl;
}

/* Rows per chunk: about 1 MiB of uncompressed rows, at least 16. The
 * config text makes a /runs row 17 KiB, an /images row under 1 KiB. */
static hsize_t chunk_rows(const struct asw_schema *t)
{
    hsize_t n = (1u << 20) / t->rowsize;
    if (n > CAT_CHUNK_ROWS)
        n = CAT_CHUNK_ROWS;
    return n < 16 ? 16 : n;
}

hid_t cat_h5_create_table(hid_t file, const struct asw_schema *t,
                          struct asw_err *err)
{
    hid_t ftype = -1, space = -1, dcpl = -1, dapl = -1, ds = -1;
    hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED};
    hsize_t chunk[1] = {chunk_rows(t)};
    int ok = 0;

    ftype = cat_h5_type(t, 1);
    space = H5Screate_simple(1, dims, maxdims);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    dapl = table_dapl();
    if (ftype < 0 || space < 0 || dcpl < 0 || dapl < 0 ||
        H5Pset_chunk(dcpl, 1, chunk) < 0)
        goto out;
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 &&
        (H5Pset_shuffle(dcpl) < 0 ||
         H5Pset_deflate(dcpl, CAT_DEFLATE_LEVEL) < 0))
        goto out;
    ds = H5Dcreate2(file, t->name, ftype, space, H5P_DEFAULT, dcpl, dapl);
    if (ds < 0 || cat_h5_set_str_attr(ds, "description", t->desc) < 0)
        goto out;
    for (size_t i = 0; i < t->ncols; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s_unit", t->cols[i].name);
        if (cat_h5_set_str_attr(ds, name, t->cols[i].unit) < 0)
            goto out;
        snprintf(name, sizeof name, "%s_description", t->cols[i].name);
        if (cat_h5_set_str_attr(ds, name, t->cols[i].desc) < 0)
            goto out;
    }
    if (write_astropy_meta(file, t) < 0)
        goto out;
    ok = 1;
out:
    cat_h5close(dapl);
    cat_h5close(dcpl);
    cat_h5close(space);
    cat_h5close(ftype);
    if (!ok) {
        cat_h5fail(err, "create table /%s", t->name);
        cat_h5close(ds);
        return -1;
    }
    return ds;
}

hid_t cat_h5_open_table(hid_t file, const struct asw_schema *t)
{
    hid_t dapl = table_dapl();
    hid_t ds = dapl < 0 ? -1 : H5Dopen2(file, t->name, dapl);
    cat_h5close(dapl);
    return ds;
}

int cat_h5_rows(hid_t ds, hsize_t *n)
{
    hid_t space = H5Dget_space(ds);
    int rc = space < 0 || H5Sget_simple_extent_dims(space, n, NULL) != 1;
    cat_h5close(space);
    return rc ? -1 : 0;
}

int cat_h5_rows_io(hid_t ds, hid_t memtype, hsize_t start, hsize_t count,
                   void *buf, int write)
{
    if (count == 0)
        return 0;
    hid_t fspace = H5Dget_space(ds);
    hid_t mspace = H5Screate_simple(1, &count, NULL);
    int rc = -1;
    if (fspace < 0 || mspace < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count,
                            NULL) < 0)
        goto out;
    if (write)
        rc = H5Dwrite(ds, memtype, mspace, fspace, H5P_DEFAULT, buf) < 0 ? -1
                                                                         : 0;
    else
        rc =
            H5Dread(ds, memtype, mspace, fspace, H5P_DEFAULT, buf) < 0 ? -1 : 0;
out:
    cat_h5close(mspace);
    cat_h5close(fspace);
    return rc;
}

int cat_h5_append(hid_t ds, hid_t memtype, hsize_t *n, const void *rows,
                  hsize_t count)
{
    if (count == 0)
        return 0;
    hsize_t total = *n + count;
    if (H5Dset_extent(ds, &total) < 0 ||
        cat_h5_rows_io(ds, memtype, *n, count, (void *)rows, 1) < 0)
        return -1;
    *n = total;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Read-only access by path                                            */

int cat_check_schema(hid_t file, const char *path, struct asw_err *err)
{
    int64_t version = 0;
    htri_t has = H5Aexists(file, "schema_version");
    if (has < 0)
        return cat_h5fail(err, "%s: read schema_version", path);
    if (!has)
        return asw_err_set(err, ASW_EPARSE, CAT_MODULE,
                           "%s: not an almasweep catalogue (no "
                           "schema_version attribute)",
                           path);
    if (cat_h5_get_int_attr(file, "schema_version", &version) < 0)
        return cat_h5fail(err, "%s: read schema_version", path);
    if (version != ASW_CAT_SCHEMA_VERSION)
        return asw_err_set(err, ASW_EPARSE, CAT_MODULE,
                           "%s: schema_version %lld, this build reads %d", path,
                           (long long)version, ASW_CAT_SCHEMA_VERSION);
    return 0;
}

int cat_open_ro(const char *path, hid_t *file, struct asw_err *err)
{
    struct stat st;
    *file = -1;
    cat_h5_quiet();
    if (!path || !path[0])
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no catalogue path");
    if (stat(path, &st) != 0)
        return asw_err_set(err, errno == ENOENT ? ASW_ENOTFOUND : ASW_EIO,
                           CAT_MODULE, "%s: %s", path, strerror(errno));
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return cat_h5fail(err, "%s: open", path);
    int rc = cat_check_schema(f, path, err);
    if (rc < 0) {
        H5Fclose(f);
        return rc;
    }
    *file = f;
    return 0;
}

int cat_read_all(hid_t file, const char *path, const struct asw_schema *t,
                 hid_t memtype, size_t rowsize, void **rows, size_t *n,
                 struct asw_err *err)
{
    hid_t ds = cat_h5_open_table(file, t);
    hsize_t count = 0;
    int rc = 0;
    *rows = NULL;
    *n = 0;
    if (ds < 0 || memtype < 0 || cat_h5_rows(ds, &count) < 0) {
        rc = cat_h5fail(err, "%s: open /%s", path, t->name);
        goto out;
    }
    if (count > 0) {
        *rows = calloc((size_t)count, rowsize);
        if (!*rows) {
            rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
            goto out;
        }
        if (cat_h5_rows_io(ds, memtype, 0, count, *rows, 0) < 0) {
            free(*rows);
            *rows = NULL;
            rc = cat_h5fail(err, "%s: read /%s", path, t->name);
            goto out;
        }
    }
    *n = (size_t)count;
out:
    cat_h5close(ds);
    return rc;
}
