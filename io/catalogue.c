/*
 * catalogue.c - the HDF5 catalogue writer and reader (serial HDF5, rank 0).
 *
 * Every table is described once, by a column array (name, type, offset in
 * the row struct, unit, description). From it come the in-memory compound
 * type, the packed little-endian file type, the per-column attributes and
 * the astropy metadata, so the four cannot drift apart.
 *
 * astropy (write_table_hdf5 with serialize_meta=True, astropy >= 3.0)
 * keeps column units and descriptions as a YAML header, one line per
 * element of a fixed-length string dataset that sits next to the table and
 * is named "<table>.__table_column_meta__". We write the same thing, so
 * Table.read(path, path="/images") gets the units.
 */
#include "catalogue.h"

#include "asw_version.h"
#include "src/schema.h"

#include <hdf5.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MODULE            "catalogue"
#define CHUNK_ROWS        1024
#define IO_BLOCK_ROWS     4096
#define DEFLATE_LEVEL     4
#define CHUNK_CACHE_BYTES (4u << 20)
#define META_SUFFIX       ".__table_column_meta__"

/* ------------------------------------------------------------------ */
/* Table descriptions                                                  */

/* Column and table descriptions come from src/schema.h: struct asw_col
 * and struct asw_schema, shared with the JSON transport. */
#define COL(type, f, t, unit, desc) ASW_COL(type, f, t, unit, desc)
#define FIELD_SIZE(type, f)         ASW_FIELD_SIZE(type, f)

/* One /units row as stored; string sizes follow the model structs. */
struct unit_row {
    char id[ASW_UID_MAX];
    char kind[16];
    char project[FIELD_SIZE(struct asw_unit, project)];
    char mous_uid[FIELD_SIZE(struct asw_unit, mous_uid)];
    char status[16];
    int32_t attempts;
    char error[FIELD_SIZE(struct asw_result, error)];
    int64_t n_files;
    int64_t bytes_total;
    int64_t bytes_fetched;
    double t_download_s;
    double t_extract_s;
    double t_process_s;
    double t_reduce_s;
    char host[FIELD_SIZE(struct asw_result, host)];
    int32_t rank;
    int64_t n_images;
    char updated_utc[24];
};

static const struct asw_col unit_cols[] = {
    COL(struct unit_row, id, ASW_COL_STR, "",
        "sanitized uid of the unit (EB or member OUS), unique"),
    COL(struct unit_row, kind, ASW_COL_STR, "",
        "eb-raw or mous-products; empty if not known"),
    COL(struct unit_row, project, ASW_COL_STR, "", "ALMA project code"),
    COL(struct unit_row, mous_uid, ASW_COL_STR, "",
        "member OUS uid, uid://A001/X../X.. form"),
    COL(struct unit_row, status, ASW_COL_STR, "",
        "pending, done, failed, skipped or interrupted"),
    COL(struct unit_row, attempts, ASW_COL_I32, "",
        "number of times the unit was tried"),
    COL(struct unit_row, error, ASW_COL_STR, "",
        "last error as module:code:text, empty when done"),
    COL(struct unit_row, n_files, ASW_COL_I64, "",
        "number of archive files in the unit, -1 if not known"),
    COL(struct unit_row, bytes_total, ASW_COL_I64, "byte",
        "total size of the unit's files, -1 if not known"),
    COL(struct unit_row, bytes_fetched, ASW_COL_I64, "byte",
        "bytes downloaded in the last attempt"),
    COL(struct unit_row, t_download_s, ASW_COL_F64, "s", "download wall time"),
    COL(struct unit_row, t_extract_s, ASW_COL_F64, "s", "extraction wall time"),
    COL(struct unit_row, t_process_s, ASW_COL_F64, "s",
        "processing (products selection or CASA) wall time"),
    COL(struct unit_row, t_reduce_s, ASW_COL_F64, "s", "reduction wall time"),
    COL(struct unit_row, host, ASW_COL_STR, "", "host name of the worker"),
    COL(struct unit_row, rank, ASW_COL_I32, "", "MPI rank of the worker"),
    COL(struct unit_row, n_images, ASW_COL_I64, "",
        "number of /images rows of this unit"),
    COL(struct unit_row, updated_utc, ASW_COL_STR, "",
        "time the row was written, ISO 8601 UTC"),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct asw_schema units_table = {
    "units", "one row per work unit: status, attempts, error, sizes, timings",
    unit_cols, NELEM(unit_cols), sizeof(struct unit_row)};

/* ------------------------------------------------------------------ */
/* HDF5 errors at the edge                                             */

struct walk {
    unsigned n;
    char first[200]; /* outermost (API) entry */
    char last[240];  /* innermost entry: usually the real cause */
};

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    struct walk *w = data;
    char *dst = w->n == 0 ? w->first : w->last;
    size_t cap = w->n == 0 ? sizeof w->first : sizeof w->last;
    snprintf(dst, cap, "%s: %s", e->func_name ? e->func_name : "?",
             e->desc ? e->desc : "?");
    w->n++;
    return 0;
}

/*
 * Record an ASW_EHDF5 error: the caller's context, then the outermost and
 * innermost entries of the HDF5 error stack, which is then cleared.
 */
static int h5fail(struct asw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int h5fail(struct asw_err *err, const char *fmt, ...)
{
    char ctx[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);

    struct walk w = {0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &w);
    H5Eclear2(H5E_DEFAULT);
    if (w.n == 0)
        return asw_err_set(err, ASW_EHDF5, MODULE, "%s", ctx);
    if (w.n == 1)
        return asw_err_set(err, ASW_EHDF5, MODULE, "%s: %s", ctx, w.first);
    return asw_err_set(err, ASW_EHDF5, MODULE, "%s: %s (%s)", ctx, w.first,
                       w.last);
}

/* Errors are reported through struct asw_err, never printed by HDF5. */
static void quiet_hdf5(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Close an HDF5 id of any kind if it is valid (a NULL-safe *_free). */
static void h5close(hid_t id)
{
    if (id < 0)
        return;
    switch (H5Iget_type(id)) {
    case H5I_FILE:
        H5Fclose(id);
        break;
    case H5I_DATASET:
        H5Dclose(id);
        break;
    case H5I_DATATYPE:
        H5Tclose(id);
        break;
    case H5I_DATASPACE:
        H5Sclose(id);
        break;
    case H5I_ATTR:
        H5Aclose(id);
        break;
    case H5I_GENPROP_LST:
        H5Pclose(id);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Types, rows and strings                                             */

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

/*
 * Build a compound type over cols: the memory type uses the given offsets
 * and rowsize; the file type (file != 0) is packed and little-endian, so the
 * file does not depend on the writer's struct padding or byte order.
 */
static hid_t compound_type(const struct asw_col *cols, size_t ncols,
                           size_t rowsize, int file)
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
            h5close(mt);
        if (rc < 0) {
            H5Tclose(t);
            return -1;
        }
        off += file_size(c);
    }
    return t;
}

/* The column of t named name, or NULL. */
static const struct asw_col *find_col(const struct asw_schema *t,
                                      const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

/*
 * A projection of table t onto the named columns, laid out at the given
 * offsets of a caller's struct of size rowsize (partial reads).
 */
static hid_t projection_type(const struct asw_schema *t,
                             const char *const *names, const size_t *offsets,
                             size_t n, size_t rowsize)
{
    struct asw_col cols[8];
    if (n > NELEM(cols))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct asw_col *c = find_col(t, names[i]);
        if (!c)
            return -1;
        cols[i] = *c;
        cols[i].offset = offsets[i];
    }
    return compound_type(cols, n, rowsize, 0);
}

/*
 * Make every string field of a row NUL-terminated within its size and zero
 * after the NUL: files do not depend on stack garbage and compress better.
 */
static void tidy_row(const struct asw_schema *t, void *row)
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

static void setstr(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* ------------------------------------------------------------------ */
/* Attributes and astropy metadata                                     */

static int set_str_attr(hid_t obj, const char *name, const char *value)
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
    h5close(attr);
    h5close(space);
    h5close(type);
    return rc;
}

static int set_int_attr(hid_t obj, const char *name, int value)
{
    hid_t space = -1, attr = -1;
    int rc = -1;
    space = H5Screate(H5S_SCALAR);
    if (space < 0)
        goto out;
    attr =
        H5Acreate2(obj, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, H5T_NATIVE_INT, &value) < 0)
        goto out;
    rc = 0;
out:
    h5close(attr);
    h5close(space);
    return rc;
}

/* Read a string attribute (any string type) into buf of size n. */
static int get_str_attr(hid_t obj, const char *name, char *buf, size_t n)
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
        setstr(buf, n, s);
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
        setstr(buf, n, s);
        free(s);
    }
    rc = 0;
out:
    h5close(mtype);
    h5close(ftype);
    h5close(attr);
    return rc;
}

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
    snprintf(name, sizeof name, "%s%s", t->name, META_SUFFIX);
    if (space < 0)
        goto out;
    ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT,
                    H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, packed) < 0)
        goto out;
    rc = 0;
out:
    h5close(ds);
    h5close(space);
    h5close(type);
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
                           CHUNK_CACHE_BYTES, H5D_CHUNK_CACHE_W0_DEFAULT) < 0) {
        H5Pclose(dapl);
        return -1;
    }
    return dapl;
}

/* Create table t (empty, extendible, chunked, shuffle + deflate). */
static hid_t create_table(hid_t file, const struct asw_schema *t,
                          struct asw_err *err)
{
    hid_t ftype = -1, space = -1, dcpl = -1, dapl = -1, ds = -1;
    hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED};
    hsize_t chunk[1] = {CHUNK_ROWS};
    int ok = 0;

    ftype = compound_type(t->cols, t->ncols, t->rowsize, 1);
    space = H5Screate_simple(1, dims, maxdims);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    dapl = table_dapl();
    if (ftype < 0 || space < 0 || dcpl < 0 || dapl < 0 ||
        H5Pset_chunk(dcpl, 1, chunk) < 0)
        goto out;
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 &&
        (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, DEFLATE_LEVEL) < 0))
        goto out;
    ds = H5Dcreate2(file, t->name, ftype, space, H5P_DEFAULT, dcpl, dapl);
    if (ds < 0 || set_str_attr(ds, "description", t->desc) < 0)
        goto out;
    for (size_t i = 0; i < t->ncols; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s_unit", t->cols[i].name);
        if (set_str_attr(ds, name, t->cols[i].unit) < 0)
            goto out;
        snprintf(name, sizeof name, "%s_description", t->cols[i].name);
        if (set_str_attr(ds, name, t->cols[i].desc) < 0)
            goto out;
    }
    if (write_astropy_meta(file, t) < 0)
        goto out;
    ok = 1;
out:
    h5close(dapl);
    h5close(dcpl);
    h5close(space);
    h5close(ftype);
    if (!ok) {
        h5fail(err, "create table /%s", t->name);
        h5close(ds);
        return -1;
    }
    return ds;
}

static hid_t open_table(hid_t file, const struct asw_schema *t)
{
    hid_t dapl = table_dapl();
    hid_t ds = dapl < 0 ? -1 : H5Dopen2(file, t->name, dapl);
    h5close(dapl);
    return ds;
}

static int table_rows(hid_t ds, hsize_t *n)
{
    hid_t space = H5Dget_space(ds);
    int rc = space < 0 || H5Sget_simple_extent_dims(space, n, NULL) != 1;
    h5close(space);
    return rc ? -1 : 0;
}

/* Read (write != 0: write) rows [start, start + count) through memtype. */
static int rows_io(hid_t ds, hid_t memtype, hsize_t start, hsize_t count,
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
    h5close(mspace);
    h5close(fspace);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The handle and its index (unit id -> rows)                          */

struct entry {
    char id[ASW_UID_MAX];
    int64_t unit_row;  /* row in /units, -1 if none (orphan images) */
    int64_t img_first; /* lowest /images row of the unit */
    int64_t img_count; /* number of /images rows of the unit */
    int status;        /* enum asw_status, -1 if the string is unknown */
    int attempts;
    unsigned pass; /* compaction pass that last moved img_first */
};

struct asw_cat {
    char *path;
    hid_t file;
    hid_t units, images;         /* datasets */
    hid_t units_mem, images_mem; /* full-row memory types */
    hsize_t n_units, n_images;   /* rows in the datasets */
    struct entry *entries;       /* n_entries used, cap_entries */
    size_t n_entries, cap_entries;
    size_t *slots;  /* open addressing, SIZE_MAX = empty */
    size_t n_slots; /* power of two */
    unsigned pass;
    int broken; /* the index no longer matches the file */
};

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct entry *index_find(const struct asw_cat *c, const char *id)
{
    if (!c->n_slots)
        return NULL;
    size_t mask = c->n_slots - 1;
    for (size_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
        if (c->slots[i] == SIZE_MAX)
            return NULL;
        if (strcmp(c->entries[c->slots[i]].id, id) == 0)
            return &c->entries[c->slots[i]];
    }
}

static int index_grow(struct asw_cat *c)
{
    size_t n = c->n_slots ? c->n_slots * 2 : 256;
    size_t *slots = malloc(n * sizeof *slots);
    if (!slots)
        return ASW_ENOMEM;
    for (size_t i = 0; i < n; i++)
        slots[i] = SIZE_MAX;
    for (size_t e = 0; e < c->n_entries; e++) {
        size_t i = hash_id(c->entries[e].id) & (n - 1);
        while (slots[i] != SIZE_MAX)
            i = (i + 1) & (n - 1);
        slots[i] = e;
    }
    free(c->slots);
    c->slots = slots;
    c->n_slots = n;
    return 0;
}

/* The entry for id, added (no unit row, no images) if missing; or NULL. */
static struct entry *index_get(struct asw_cat *c, const char *id)
{
    struct entry *e = index_find(c, id);
    if (e)
        return e;
    if (2 * (c->n_entries + 1) > c->n_slots && index_grow(c) < 0)
        return NULL;
    if (c->n_entries == c->cap_entries) {
        size_t cap = c->cap_entries ? 2 * c->cap_entries : 256;
        struct entry *p = realloc(c->entries, cap * sizeof *p);
        if (!p)
            return NULL;
        c->entries = p;
        c->cap_entries = cap;
    }
    e = &c->entries[c->n_entries];
    memset(e, 0, sizeof *e);
    setstr(e->id, sizeof e->id, id);
    e->unit_row = -1;
    e->img_first = -1;
    e->status = -1;
    size_t mask = c->n_slots - 1, i = hash_id(id) & mask;
    while (c->slots[i] != SIZE_MAX)
        i = (i + 1) & mask;
    c->slots[i] = c->n_entries++;
    return e;
}

static void index_clear(struct asw_cat *c)
{
    c->n_entries = 0;
    for (size_t i = 0; i < c->n_slots; i++)
        c->slots[i] = SIZE_MAX;
}

/* The id/status/attempts columns of /units, read in blocks. */
struct unit_key {
    char id[ASW_UID_MAX];
    char status[16];
    int32_t attempts;
};

struct image_key {
    char unit_id[ASW_UID_MAX];
};

/* (Re)build the index from the file: /units rows, then /images unit ids. */
static int index_load(struct asw_cat *c, struct asw_err *err)
{
    static const char *const ukeys[] = {"id", "status", "attempts"};
    static const size_t uoffs[] = {offsetof(struct unit_key, id),
                                   offsetof(struct unit_key, status),
                                   offsetof(struct unit_key, attempts)};
    static const char *const ikeys[] = {"unit_id"};
    static const size_t ioffs[] = {offsetof(struct image_key, unit_id)};
    hid_t utype =
        projection_type(&units_table, ukeys, uoffs, 3, sizeof(struct unit_key));
    hid_t itype = projection_type(&asw_schema_images, ikeys, ioffs, 1,
                                  sizeof(struct image_key));
    struct unit_key *ub = malloc(IO_BLOCK_ROWS * sizeof *ub);
    struct image_key *ib = malloc(IO_BLOCK_ROWS * sizeof *ib);
    int rc = 0;

    index_clear(c);
    if (!ub || !ib) {
        rc = asw_err_set(err, ASW_ENOMEM, MODULE, "out of memory");
        goto out;
    }
    if (utype < 0 || itype < 0 || table_rows(c->units, &c->n_units) < 0 ||
        table_rows(c->images, &c->n_images) < 0) {
        rc = h5fail(err, "%s: inspect tables", c->path);
        goto out;
    }
    for (hsize_t r = 0; r < c->n_units; r += IO_BLOCK_ROWS) {
        hsize_t k =
            c->n_units - r < IO_BLOCK_ROWS ? c->n_units - r : IO_BLOCK_ROWS;
        if (rows_io(c->units, utype, r, k, ub, 0) < 0) {
            rc = h5fail(err, "%s: read /units", c->path);
            goto out;
        }
        for (hsize_t i = 0; i < k; i++) {
            ub[i].id[sizeof ub[i].id - 1] = '\0';
            ub[i].status[sizeof ub[i].status - 1] = '\0';
            struct entry *e = index_get(c, ub[i].id);
            if (!e) {
                rc = asw_err_set(err, ASW_ENOMEM, MODULE, "out of memory");
                goto out;
            }
            if (e->unit_row >= 0) {
                rc = asw_err_set(err, ASW_EPARSE, MODULE,
                                 "%s: unit %s twice in /units (rows %lld and "
                                 "%llu)",
                                 c->path, e->id, (long long)e->unit_row,
                                 (unsigned long long)(r + i));
                goto out;
            }
            e->unit_row = (int64_t)(r + i);
            e->status = asw_status_parse(ub[i].status);
            e->attempts = ub[i].attempts;
        }
    }
    for (hsize_t r = 0; r < c->n_images; r += IO_BLOCK_ROWS) {
        hsize_t k =
            c->n_images - r < IO_BLOCK_ROWS ? c->n_images - r : IO_BLOCK_ROWS;
        if (rows_io(c->images, itype, r, k, ib, 0) < 0) {
            rc = h5fail(err, "%s: read /images", c->path);
            goto out;
        }
        for (hsize_t i = 0; i < k; i++) {
            ib[i].unit_id[sizeof ib[i].unit_id - 1] = '\0';
            struct entry *e = index_get(c, ib[i].unit_id);
            if (!e) {
                rc = asw_err_set(err, ASW_ENOMEM, MODULE, "out of memory");
                goto out;
            }
            if (e->img_count++ == 0)
                e->img_first = (int64_t)(r + i);
        }
    }
out:
    free(ib);
    free(ub);
    h5close(itype);
    h5close(utype);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Open and close                                                      */

static int check_schema(hid_t file, const char *path, struct asw_err *err)
{
    int version = 0;
    htri_t has = H5Aexists(file, "schema_version");
    if (has < 0)
        return h5fail(err, "%s: read schema_version", path);
    if (!has)
        return asw_err_set(err, ASW_EPARSE, MODULE,
                           "%s: not an almasweep catalogue (no "
                           "schema_version attribute)",
                           path);
    hid_t attr = H5Aopen(file, "schema_version", H5P_DEFAULT);
    herr_t rc = attr < 0 ? -1 : H5Aread(attr, H5T_NATIVE_INT, &version);
    h5close(attr);
    if (rc < 0)
        return h5fail(err, "%s: read schema_version", path);
    if (version != ASW_CAT_SCHEMA_VERSION)
        return asw_err_set(err, ASW_EPARSE, MODULE,
                           "%s: schema_version %d, this build reads %d", path,
                           version, ASW_CAT_SCHEMA_VERSION);
    return 0;
}

/* Open table t of c's file, creating it if the file lacks it. */
static hid_t open_or_create(struct asw_cat *c, const struct asw_schema *t,
                            struct asw_err *err)
{
    htri_t has = H5Lexists(c->file, t->name, H5P_DEFAULT);
    if (has < 0) {
        h5fail(err, "%s: look up /%s", c->path, t->name);
        return -1;
    }
    if (!has)
        return create_table(c->file, t, err);
    hid_t ds = open_table(c->file, t);
    if (ds < 0)
        h5fail(err, "%s: open /%s", c->path, t->name);
    return ds;
}

int asw_cat_open(const char *path, int create_if_missing, struct asw_cat **out,
                 struct asw_err *err)
{
    struct asw_cat *c = NULL;
    struct stat st;
    int rc = 0;

    if (!out || !path || !path[0])
        return asw_err_set(err, ASW_EINVAL, MODULE, "no catalogue path");
    *out = NULL;
    quiet_hdf5();
    c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return asw_err_set(err, ASW_ENOMEM, MODULE, "out of memory");
    }
    c->file = c->units = c->images = c->units_mem = c->images_mem = -1;

    if (stat(path, &st) == 0) {
        c->file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        if (c->file < 0) {
            rc = h5fail(err, "%s: open", path);
            goto out;
        }
        if ((rc = check_schema(c->file, path, err)) < 0)
            goto out;
    } else if (errno != ENOENT) {
        rc = asw_err_set(err, ASW_EIO, MODULE, "%s: %s", path, strerror(errno));
        goto out;
    } else if (!create_if_missing) {
        rc = asw_err_set(err, ASW_ENOTFOUND, MODULE, "%s: no such catalogue",
                         path);
        goto out;
    } else {
        c->file = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
        if (c->file < 0 ||
            set_int_attr(c->file, "schema_version", ASW_CAT_SCHEMA_VERSION) <
                0 ||
            set_str_attr(c->file, "creator", "almasweep " ASW_VERSION) < 0) {
            rc = h5fail(err, "%s: create", path);
            goto out;
        }
    }
    c->units = open_or_create(c, &units_table, err);
    c->images = open_or_create(c, &asw_schema_images, err);
    if (c->units < 0 || c->images < 0) {
        rc = err ? err->code : ASW_EHDF5;
        goto out;
    }
    c->units_mem =
        compound_type(unit_cols, NELEM(unit_cols), sizeof(struct unit_row), 0);
    c->images_mem =
        compound_type(asw_schema_images.cols, asw_schema_images.ncols,
                      sizeof(struct asw_image), 0);
    if (c->units_mem < 0 || c->images_mem < 0) {
        rc = h5fail(err, "%s: build row types", path);
        goto out;
    }
    if ((rc = index_load(c, err)) < 0)
        goto out;
    if (H5Fflush(c->file, H5F_SCOPE_LOCAL) < 0) {
        rc = h5fail(err, "%s: flush", path);
        goto out;
    }
out:
    if (rc < 0) {
        asw_cat_close(c, NULL);
        return rc;
    }
    *out = c;
    return 0;
}

int asw_cat_set_creator(struct asw_cat *c, const char *creator,
                        struct asw_err *err)
{
    if (!c || !creator)
        return asw_err_set(err, ASW_EINVAL, MODULE, "no creator");
    if (set_str_attr(c->file, "creator", creator) < 0)
        return h5fail(err, "%s: write creator", c->path);
    return 0;
}

int asw_cat_close(struct asw_cat *c, struct asw_err *err)
{
    int rc = 0;
    if (!c)
        return 0;
    if (c->file >= 0 && H5Fflush(c->file, H5F_SCOPE_LOCAL) < 0)
        rc = h5fail(err, "%s: flush", c->path);
    h5close(c->images_mem);
    h5close(c->units_mem);
    h5close(c->images);
    h5close(c->units);
    if (c->file >= 0 && H5Fclose(c->file) < 0 && rc == 0)
        rc = h5fail(err, "%s: close", c->path);
    free(c->slots);
    free(c->entries);
    free(c->path);
    free(c);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Upsert                                                              */

/*
 * Remove every /images row of e by streaming the rows after its first one
 * down over the gap, then shrinking the table. Rows only move towards the
 * start, so a block is always read before anything is written over it.
 * Entries whose first row lies in the moved range get their new position.
 */
static int remove_images(struct asw_cat *c, struct entry *e)
{
    const hsize_t start = (hsize_t)e->img_first;
    struct asw_image *buf = malloc(IO_BLOCK_ROWS * sizeof *buf);
    hsize_t w = start;
    if (!buf)
        return ASW_ENOMEM;
    c->pass++;
    for (hsize_t r = start; r < c->n_images; r += IO_BLOCK_ROWS) {
        hsize_t k =
            c->n_images - r < IO_BLOCK_ROWS ? c->n_images - r : IO_BLOCK_ROWS;
        hsize_t kept = 0;
        if (rows_io(c->images, c->images_mem, r, k, buf, 0) < 0)
            goto fail;
        for (hsize_t i = 0; i < k; i++) {
            buf[i].unit_id[sizeof buf[i].unit_id - 1] = '\0';
            if (strcmp(buf[i].unit_id, e->id) == 0)
                continue;
            struct entry *o = index_find(c, buf[i].unit_id);
            if (o && o->pass != c->pass && o->img_first >= (int64_t)start) {
                o->pass = c->pass;
                o->img_first = (int64_t)(w + kept);
            }
            if (kept != i)
                buf[kept] = buf[i];
            kept++;
        }
        if (w + kept != r + k &&
            rows_io(c->images, c->images_mem, w, kept, buf, 1) < 0)
            goto fail;
        w += kept;
    }
    if (H5Dset_extent(c->images, &w) < 0)
        goto fail;
    c->n_images = w;
    e->img_first = -1;
    e->img_count = 0;
    free(buf);
    return 0;
fail:
    free(buf);
    return ASW_EHDF5;
}

static int append_images(struct asw_cat *c, struct entry *e,
                         const struct asw_result *r)
{
    hsize_t n = r->n_images;
    hsize_t total = c->n_images + n;
    struct asw_image *rows = NULL;
    if (n == 0)
        return 0;
    rows = malloc(n * sizeof *rows);
    if (!rows)
        return ASW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        rows[i] = r->images[i];
        setstr(rows[i].unit_id, sizeof rows[i].unit_id, r->unit_id);
        tidy_row(&asw_schema_images, &rows[i]);
    }
    int rc =
        H5Dset_extent(c->images, &total) < 0 ||
                rows_io(c->images, c->images_mem, c->n_images, n, rows, 1) < 0
            ? ASW_EHDF5
            : 0;
    free(rows);
    if (rc == 0) {
        e->img_first = (int64_t)c->n_images;
        e->img_count = (int64_t)n;
        c->n_images = total;
    }
    return rc;
}

static void utc_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        setstr(buf, n, "");
}

static int write_unit_row(struct asw_cat *c, struct entry *e,
                          const struct asw_result *r, const struct asw_unit *u)
{
    struct unit_row row;
    memset(&row, 0, sizeof row);
    if (e->unit_row >= 0 && !u) {
        /* Keep what only the unit knows. */
        if (rows_io(c->units, c->units_mem, (hsize_t)e->unit_row, 1, &row, 0) <
            0)
            return ASW_EHDF5;
    } else if (!u) {
        row.n_files = -1;
        row.bytes_total = -1;
    }
    if (u) {
        setstr(row.kind, sizeof row.kind, asw_unit_kind_name(u->kind));
        setstr(row.project, sizeof row.project, u->project);
        setstr(row.mous_uid, sizeof row.mous_uid, u->mous_uid);
        row.n_files = (int64_t)u->n_files;
        row.bytes_total = u->bytes_total;
    }
    setstr(row.id, sizeof row.id, r->unit_id);
    setstr(row.status, sizeof row.status, asw_status_name(r->status));
    row.attempts = r->attempts;
    setstr(row.error, sizeof row.error, r->error);
    row.bytes_fetched = r->bytes_fetched;
    row.t_download_s = r->t_download_s;
    row.t_extract_s = r->t_extract_s;
    row.t_process_s = r->t_process_s;
    row.t_reduce_s = r->t_reduce_s;
    setstr(row.host, sizeof row.host, r->host);
    row.rank = r->rank;
    row.n_images = (int64_t)r->n_images;
    utc_now(row.updated_utc, sizeof row.updated_utc);
    tidy_row(&units_table, &row);

    hsize_t at = e->unit_row >= 0 ? (hsize_t)e->unit_row : c->n_units;
    if (e->unit_row < 0) {
        hsize_t total = c->n_units + 1;
        if (H5Dset_extent(c->units, &total) < 0)
            return ASW_EHDF5;
    }
    if (rows_io(c->units, c->units_mem, at, 1, &row, 1) < 0)
        return ASW_EHDF5;
    if (e->unit_row < 0) {
        e->unit_row = (int64_t)at;
        c->n_units++;
    }
    e->status = (int)r->status;
    e->attempts = r->attempts;
    return 0;
}

/* Reject a result before anything is written. */
static int check_result(const struct asw_result *r, const struct asw_unit *u,
                        struct asw_err *err)
{
    if (!r)
        return asw_err_set(err, ASW_EINVAL, MODULE, "no result");
    if (!memchr(r->unit_id, '\0', sizeof r->unit_id) || !r->unit_id[0])
        return asw_err_set(err, ASW_EINVAL, MODULE, "result without unit id");
    if (!asw_status_name(r->status) ||
        asw_status_parse(asw_status_name(r->status)) != (int)r->status)
        return asw_err_set(err, ASW_EINVAL, MODULE, "unit %s: bad status %d",
                           r->unit_id, (int)r->status);
    if (u && strncmp(u->id, r->unit_id, sizeof u->id) != 0)
        return asw_err_set(err, ASW_EINVAL, MODULE,
                           "result for %s given with unit %.*s", r->unit_id,
                           (int)sizeof u->id, u->id);
    if (r->n_images && !r->images)
        return asw_err_set(err, ASW_EINVAL, MODULE, "unit %s: no image rows",
                           r->unit_id);
    for (size_t i = 0; i < r->n_images; i++) {
        const char *id = r->images[i].unit_id;
        if (id[0] && strncmp(id, r->unit_id, sizeof r->unit_id) != 0)
            return asw_err_set(err, ASW_EINVAL, MODULE,
                               "unit %s: image %zu belongs to unit %.*s",
                               r->unit_id, i, (int)sizeof r->unit_id, id);
    }
    return 0;
}

int asw_cat_put_result(struct asw_cat *c, const struct asw_result *r,
                       const struct asw_unit *u, struct asw_err *err)
{
    if (!c)
        return asw_err_set(err, ASW_EINVAL, MODULE, "no catalogue");
    if (c->broken)
        return asw_err_set(err, ASW_EHDF5, MODULE,
                           "%s: unusable after an earlier error; reopen it",
                           c->path);
    int rc = check_result(r, u, err);
    if (rc < 0)
        return rc;
    quiet_hdf5();

    struct entry *e = index_get(c, r->unit_id);
    if (!e)
        return asw_err_set(err, ASW_ENOMEM, MODULE, "out of memory");
    const char *step = "remove old images";
    if (e->img_count > 0 && (rc = remove_images(c, e)) < 0)
        goto fail;
    step = "append images";
    if ((rc = append_images(c, e, r)) < 0)
        goto fail;
    step = "write unit row";
    if ((rc = write_unit_row(c, e, r, u)) < 0)
        goto fail;
    step = "flush";
    if (H5Fflush(c->file, H5F_SCOPE_LOCAL) < 0) {
        rc = ASW_EHDF5;
        goto fail;
    }
    return 0;
fail:
    if (rc == ASW_ENOMEM)
        asw_err_set(err, rc, MODULE, "unit %s: %s: out of memory", r->unit_id,
                    step);
    else
        h5fail(err, "%s: unit %s: %s", c->path, r->unit_id, step);
    /* Make the index match whatever reached the file. */
    if (index_load(c, NULL) < 0)
        c->broken = 1;
    return rc;
}

int asw_cat_unit_status(const struct asw_cat *c, const char *id,
                        enum asw_status *status, int *attempts)
{
    if (!c || !id)
        return ASW_EINVAL;
    const struct entry *e = index_find(c, id);
    if (!e || e->unit_row < 0)
        return ASW_ENOTFOUND;
    if (e->status < 0)
        return ASW_EPARSE;
    if (status)
        *status = (enum asw_status)e->status;
    if (attempts)
        *attempts = e->attempts;
    return 0;
}

int asw_cat_count(const struct asw_cat *c, const char *table, size_t *n)
{
    if (!c || !table || !n)
        return ASW_EINVAL;
    if (strcmp(table, "units") == 0)
        *n = (size_t)c->n_units;
    else if (strcmp(table, "images") == 0)
        *n = (size_t)c->n_images;
    else
        return ASW_EINVAL;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reading a catalogue by path                                         */

/* Open path read-only and check its schema; *file < 0 on error. */
static int open_ro(const char *path, hid_t *file, struct asw_err *err)
{
    struct stat st;
    *file = -1;
    quiet_hdf5();
    if (!path || !path[0])
        return asw_err_set(err, ASW_EINVAL, MODULE, "no catalogue path");
    if (stat(path, &st) != 0)
        return asw_err_set(err, errno == ENOENT ? ASW_ENOTFOUND : ASW_EIO,
                           MODULE, "%s: %s", path, strerror(errno));
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return h5fail(err, "%s: open", path);
    int rc = check_schema(f, path, err);
    if (rc < 0) {
        H5Fclose(f);
        return rc;
    }
    *file = f;
    return 0;
}

/* Read all rows of table t through memtype into a malloc'd array. */
static int read_all(hid_t file, const char *path, const struct asw_schema *t,
                    hid_t memtype, size_t rowsize, void **rows, size_t *n,
                    struct asw_err *err)
{
    hid_t ds = open_table(file, t);
    hsize_t count = 0;
    int rc = 0;
    *rows = NULL;
    *n = 0;
    if (ds < 0 || memtype < 0 || table_rows(ds, &count) < 0) {
        rc = h5fail(err, "%s: open /%s", path, t->name);
        goto out;
    }
    if (count > 0) {
        *rows = calloc((size_t)count, rowsize);
        if (!*rows) {
            rc = asw_err_set(err, ASW_ENOMEM, MODULE, "out of memory");
            goto out;
        }
        if (rows_io(ds, memtype, 0, count, *rows, 0) < 0) {
            free(*rows);
            *rows = NULL;
            rc = h5fail(err, "%s: read /%s", path, t->name);
            goto out;
        }
    }
    *n = (size_t)count;
out:
    h5close(ds);
    return rc;
}

int asw_cat_read_images(const char *path, struct asw_image **rows, size_t *n,
                        struct asw_err *err)
{
    hid_t file = -1, memtype = -1;
    void *buf = NULL;
    size_t count = 0;
    if (!rows || !n)
        return asw_err_set(err, ASW_EINVAL, MODULE, "no output");
    *rows = NULL;
    *n = 0;
    int rc = open_ro(path, &file, err);
    if (rc < 0)
        return rc;
    memtype = compound_type(asw_schema_images.cols, asw_schema_images.ncols,
                            sizeof(struct asw_image), 0);
    rc = read_all(file, path, &asw_schema_images, memtype,
                  sizeof(struct asw_image), &buf, &count, err);
    if (rc == 0) {
        *rows = buf;
        *n = count;
        for (size_t i = 0; i < count; i++)
            tidy_row(&asw_schema_images, &(*rows)[i]);
    }
    h5close(memtype);
    H5Fclose(file);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Summary                                                             */

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

struct sum_row {
    char source[FIELD_SIZE(struct asw_image, source)];
    double freq_hz;
    double peak_jy;
    double snr;
    int band; /* filled after reading */
};

static int by_source_band(const void *a, const void *b)
{
    const struct sum_row *x = a, *y = b;
    int c = strcmp(x->source, y->source);
    return c ? c : (x->band > y->band) - (x->band < y->band);
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the finite values among v[0..n) (reordered); NAN if none. */
static double median(double *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            v[m++] = v[i];
    if (m == 0)
        return NAN;
    qsort(v, m, sizeof *v, by_double);
    return m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
}

struct status_key {
    char status[16];
};

static int summarize_units(hid_t file, const char *path, FILE *out,
                           struct asw_err *err)
{
    static const char *const keys[] = {"status"};
    static const size_t offs[] = {offsetof(struct status_key, status)};
    hid_t memtype =
        projection_type(&units_table, keys, offs, 1, sizeof(struct status_key));
    struct status_key *rows = NULL;
    size_t n = 0, by_status[ASW_ST_INTERRUPTED + 2] = {0};
    void *buf = NULL;
    int rc = read_all(file, path, &units_table, memtype,
                      sizeof(struct status_key), &buf, &n, err);
    h5close(memtype);
    if (rc < 0)
        return rc;
    rows = buf;
    for (size_t i = 0; i < n; i++) {
        rows[i].status[sizeof rows[i].status - 1] = '\0';
        int s = asw_status_parse(rows[i].status);
        by_status[s < 0 ? ASW_ST_INTERRUPTED + 1 : s]++;
    }
    fprintf(out, "units: %zu", n);
    const char *sep = " (";
    for (int s = 0; s <= ASW_ST_INTERRUPTED + 1; s++) {
        if (!by_status[s])
            continue;
        fprintf(out, "%s%s %zu", sep,
                s <= ASW_ST_INTERRUPTED ? asw_status_name(s) : "unknown",
                by_status[s]);
        sep = ", ";
    }
    fprintf(out, "%s\n", n ? ")" : "");
    free(rows);
    return 0;
}

static int summarize_images(hid_t file, const char *path, FILE *out,
                            struct asw_err *err)
{
    static const char *const keys[] = {"source", "freq_hz", "peak_jy", "snr"};
    static const size_t offs[] = {
        offsetof(struct sum_row, source), offsetof(struct sum_row, freq_hz),
        offsetof(struct sum_row, peak_jy), offsetof(struct sum_row, snr)};
    hid_t memtype = projection_type(&asw_schema_images, keys, offs, 4,
                                    sizeof(struct sum_row));
    struct sum_row *rows = NULL;
    double *peak = NULL, *snr = NULL;
    size_t n = 0;
    void *buf = NULL;
    int rc = read_all(file, path, &asw_schema_images, memtype,
                      sizeof(struct sum_row), &buf, &n, err);
    h5close(memtype);
    if (rc < 0)
        return rc;
    rows = buf;
    fprintf(out, "images: %zu\n", n);
    if (n == 0)
        goto out;
    peak = malloc(n * sizeof *peak);
    snr = malloc(n * sizeof *snr);
    if (!peak || !snr) {
        rc = asw_err_set(err, ASW_ENOMEM, MODULE, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].source[sizeof rows[i].source - 1] = '\0';
        rows[i].band = asw_cat_band(rows[i].freq_hz);
    }
    qsort(rows, n, sizeof *rows, by_source_band);
    fprintf(out, "%-24s %-4s %7s %14s %12s\n", "source", "band", "images",
            "median_peak_jy", "median_snr");
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && by_source_band(&rows[i], &rows[j]) == 0; j++) {
            peak[j - i] = rows[j].peak_jy;
            snr[j - i] = rows[j].snr;
        }
        char band[8];
        if (rows[i].band)
            snprintf(band, sizeof band, "B%d", rows[i].band);
        else
            setstr(band, sizeof band, "?");
        fprintf(out, "%-24s %-4s %7zu %14.6g %12.6g\n",
                rows[i].source[0] ? rows[i].source : "?", band, j - i,
                median(peak, j - i), median(snr, j - i));
    }
out:
    free(snr);
    free(peak);
    free(rows);
    return rc;
}

int asw_cat_summary(const char *path, FILE *out, struct asw_err *err)
{
    hid_t file = -1;
    char creator[128];
    if (!out)
        return asw_err_set(err, ASW_EINVAL, MODULE, "no output stream");
    int rc = open_ro(path, &file, err);
    if (rc < 0)
        return rc;
    if (get_str_attr(file, "creator", creator, sizeof creator) < 0) {
        H5Eclear2(H5E_DEFAULT);
        setstr(creator, sizeof creator, "unknown");
    }
    fprintf(out, "catalogue: %s (schema_version %d, creator %s)\n", path,
            ASW_CAT_SCHEMA_VERSION, creator);
    rc = summarize_units(file, path, out, err);
    if (rc == 0)
        rc = summarize_images(file, path, out, err);
    H5Fclose(file);
    return rc;
}
