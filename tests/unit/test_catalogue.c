/*
 * test_catalogue.c - io/catalogue: create, upsert, reopen, strings at their
 * limits, summaries, and that the schema of record documents every column.
 *
 * The files go to a fresh directory under $TMPDIR that is removed at the
 * end; with ASW_CAT_KEEP_DIR set they are written there and kept (for
 * tests/integration/read_catalogue.py).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/catalogue.h"

#include <hdf5.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[512];
static int keep;

static int make_dir(void **state)
{
    const char *k = getenv("ASW_CAT_KEEP_DIR");
    if (k && k[0]) {
        snprintf(dir, sizeof dir, "%s", k);
        keep = 1;
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/asw_cat_XXXXXX",
             tmp && tmp[0] ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    if (keep)
        return 0;
    static const char *const names[] = {
        "a.h5",       "missing.h5", "text.h5", "v2.h5",
        "upsert.h5",  "keep.h5",    "max.h5",  "zero.h5",
        "foreign.h5", "summary.h5", "many.h5", "attrs.h5"};
    char p[600];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    return rmdir(dir);
}

/* A fresh path in the test directory (an old file of that name removed). */
static const char *path_of(const char *name)
{
    static char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
    return p;
}

/* A result for unit id with n images of source src at freq_hz. */
static void make_result(struct asw_result *r, const char *id,
                        enum asw_status st, size_t n, const char *src,
                        double freq_hz, double peak0)
{
    memset(r, 0, sizeof *r);
    snprintf(r->unit_id, sizeof r->unit_id, "%s", id);
    r->status = st;
    r->attempts = 1;
    r->t_download_s = 1.5;
    r->bytes_fetched = 1000;
    snprintf(r->host, sizeof r->host, "node01");
    r->rank = 3;
    if (st == ASW_ST_FAILED)
        snprintf(r->error, sizeof r->error, "dl:ENET:connection reset");
    for (size_t i = 0; i < n; i++) {
        struct asw_image img;
        asw_image_init(&img);
        snprintf(img.file, sizeof img.file, "%s_%zu.pbcor.fits", id, i);
        snprintf(img.source, sizeof img.source, "%s", src);
        snprintf(img.intent, sizeof img.intent, "ph");
        snprintf(img.specmode, sizeof img.specmode, "mfs");
        img.spw = (int32_t)i;
        img.freq_hz = freq_hz;
        img.mjd = 59000.25;
        img.peak_jy = peak0 + (double)i;
        img.rms_jy = 1e-3;
        img.snr = img.peak_jy / img.rms_jy;
        img.bmaj_arcsec = 0.5;
        img.bmin_arcsec = 0.4;
        img.bpa_deg = 30;
        assert_int_equal(asw_result_add_image(r, &img), 0);
    }
}

static struct asw_cat *open_new(const char *name)
{
    struct asw_cat *c = NULL;
    struct asw_err err = {0};
    int rc = asw_cat_open(path_of(name), 1, &c, &err);
    if (rc)
        fail_msg("open %s: %s", name, err.msg);
    return c;
}

static void put(struct asw_cat *c, struct asw_result *r,
                const struct asw_unit *u)
{
    struct asw_err err = {0};
    int rc = asw_cat_put_result(c, r, u, &err);
    if (rc)
        fail_msg("put %s: %s", r->unit_id, err.msg);
    asw_result_clear(r);
}

static size_t count(struct asw_cat *c, const char *table)
{
    size_t n = 99999;
    assert_int_equal(asw_cat_count(c, table, &n), 0);
    return n;
}

/* Number of rows of unit id among rows[0..n). */
static size_t rows_of(const struct asw_image *rows, size_t n, const char *id)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(rows[i].unit_id, id) == 0;
    return k;
}

/* A few /units columns, read straight with HDF5 (the API has no reader). */
struct urow {
    char id[ASW_UID_MAX];
    char project[ASW_NAME_MAX];
    char status[16];
    char error[ASW_ERRTEXT_MAX];
    char host[64];
    int64_t n_images;
    int64_t bytes_total;
};

static hid_t strtype(size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    return t;
}

static size_t read_units(const char *path, struct urow **out)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t ds = H5Dopen2(f, "units", H5P_DEFAULT);
    assert_true(ds >= 0);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct urow));
    hid_t s64 = strtype(ASW_UID_MAX), s96 = strtype(ASW_NAME_MAX),
          s16 = strtype(16), s256 = strtype(ASW_ERRTEXT_MAX), sh = strtype(64);
    H5Tinsert(t, "id", offsetof(struct urow, id), s64);
    H5Tinsert(t, "project", offsetof(struct urow, project), s96);
    H5Tinsert(t, "status", offsetof(struct urow, status), s16);
    H5Tinsert(t, "error", offsetof(struct urow, error), s256);
    H5Tinsert(t, "host", offsetof(struct urow, host), sh);
    H5Tinsert(t, "n_images", offsetof(struct urow, n_images), H5T_NATIVE_INT64);
    H5Tinsert(t, "bytes_total", offsetof(struct urow, bytes_total),
              H5T_NATIVE_INT64);
    hid_t sp = H5Dget_space(ds);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(sp, &n, NULL);
    *out = calloc(n ? n : 1, sizeof **out);
    assert_non_null(*out);
    if (n)
        assert_true(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0);
    H5Tclose(s64);
    H5Tclose(s96);
    H5Tclose(s16);
    H5Tclose(s256);
    H5Tclose(sh);
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(f);
    return (size_t)n;
}

static void test_create_reopen_counts(void **state)
{
    struct asw_cat *c = open_new("a.h5");
    struct asw_result r;
    assert_int_equal(count(c, "units"), 0);
    assert_int_equal(count(c, "images"), 0);
    make_result(&r, "uid___A002_X1_X1", ASW_ST_DONE, 3, "J1924-2914", 97.5e9,
                2.0);
    put(c, &r, NULL);
    make_result(&r, "uid___A002_X1_X2", ASW_ST_DONE, 2, "J1256-0547", 343e9,
                9.0);
    put(c, &r, NULL);
    assert_int_equal(count(c, "units"), 2);
    assert_int_equal(count(c, "images"), 5);
    size_t n = 0;
    assert_int_equal(asw_cat_count(c, "seds", &n), ASW_EINVAL);
    assert_int_equal(asw_cat_close(c, NULL), 0);
}

static void test_reopen_keeps_rows(void **state)
{
    struct asw_cat *c = open_new("a.h5");
    struct asw_result r;
    struct asw_err err = {0};
    make_result(&r, "uid___A002_X1_X1", ASW_ST_DONE, 3, "J1924-2914", 97.5e9,
                2.0);
    put(c, &r, NULL);
    make_result(&r, "uid___A002_X1_X2", ASW_ST_FAILED, 0, "", 0, 0);
    r.attempts = 2;
    put(c, &r, NULL);
    assert_int_equal(asw_cat_close(c, &err), 0);

    char path[600];
    snprintf(path, sizeof path, "%s/a.h5", dir);
    c = NULL;
    assert_int_equal(asw_cat_open(path, 0, &c, &err), 0);
    assert_int_equal(count(c, "units"), 2);
    assert_int_equal(count(c, "images"), 3);
    enum asw_status st = ASW_ST_PENDING;
    int attempts = 0;
    assert_int_equal(asw_cat_unit_status(c, "uid___A002_X1_X1", &st, &attempts),
                     0);
    assert_int_equal(st, ASW_ST_DONE);
    assert_int_equal(attempts, 1);
    assert_int_equal(asw_cat_unit_status(c, "uid___A002_X1_X2", &st, &attempts),
                     0);
    assert_int_equal(st, ASW_ST_FAILED);
    assert_int_equal(attempts, 2);
    assert_int_equal(asw_cat_unit_status(c, "uid___A002_X1_X9", &st, NULL),
                     ASW_ENOTFOUND);
    assert_int_equal(asw_cat_close(c, &err), 0);

    struct asw_image *rows = NULL;
    size_t n = 0;
    assert_int_equal(asw_cat_read_images(path, &rows, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].unit_id, "uid___A002_X1_X1");
    assert_string_equal(rows[2].file, "uid___A002_X1_X1_2.pbcor.fits");
    assert_string_equal(rows[1].source, "J1924-2914");
    assert_string_equal(rows[1].intent, "ph");
    assert_string_equal(rows[1].specmode, "mfs");
    assert_int_equal(rows[2].spw, 2);
    assert_true(rows[1].freq_hz == 97.5e9);
    assert_true(rows[2].peak_jy == 4.0);
    assert_true(rows[2].snr == 4000.0);
    assert_true(rows[0].bpa_deg == 30);
    assert_true(isnan(rows[0].peak_x_pix));
    free(rows);
}

static void test_open_missing(void **state)
{
    struct asw_cat *c = (struct asw_cat *)1;
    struct asw_err err = {0};
    assert_int_equal(asw_cat_open(path_of("missing.h5"), 0, &c, &err),
                     ASW_ENOTFOUND);
    assert_null(c);
    assert_string_equal(err.module, "catalogue");
    struct asw_image *rows = NULL;
    size_t n = 0;
    assert_int_equal(
        asw_cat_read_images(path_of("missing.h5"), &rows, &n, &err),
        ASW_ENOTFOUND);
    assert_int_equal(asw_cat_summary(path_of("missing.h5"), stderr, &err),
                     ASW_ENOTFOUND);
    assert_int_equal(asw_cat_close(NULL, NULL), 0);
}

static void test_open_not_hdf5(void **state)
{
    const char *p = path_of("text.h5");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("this is not HDF5\n", f);
    fclose(f);
    struct asw_cat *c = NULL;
    struct asw_err err = {0};
    assert_int_equal(asw_cat_open(p, 1, &c, &err), ASW_EHDF5);
    assert_null(c);
    assert_int_equal(err.code, ASW_EHDF5);
    /* The HDF5 error stack made it into the message. */
    assert_non_null(strstr(err.msg, "H5Fopen"));
    assert_non_null(strstr(err.msg, "text.h5"));
}

static void test_schema_version_mismatch(void **state)
{
    const char *p = path_of("v2.h5");
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "schema_version", H5T_STD_I32LE, sp, H5P_DEFAULT,
                         H5P_DEFAULT);
    int v = 2;
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
    H5Sclose(sp);
    H5Fclose(f);
    struct asw_cat *c = NULL;
    struct asw_err err = {0};
    assert_int_equal(asw_cat_open(p, 1, &c, &err), ASW_EPARSE);
    assert_non_null(strstr(err.msg, "schema_version 2"));
    assert_int_equal(asw_cat_summary(p, stderr, &err), ASW_EPARSE);
}

static void test_upsert_replaces(void **state)
{
    struct asw_cat *c = open_new("upsert.h5");
    struct asw_result r;
    struct asw_err err = {0};
    make_result(&r, "uid___A_X1_XA", ASW_ST_DONE, 3, "J0001+0001", 97e9, 1);
    put(c, &r, NULL);
    make_result(&r, "uid___A_X1_XB", ASW_ST_DONE, 2, "J0002+0002", 97e9, 5);
    put(c, &r, NULL);
    make_result(&r, "uid___A_X1_XC", ASW_ST_DONE, 1, "J0003+0003", 97e9, 7);
    put(c, &r, NULL);

    /* A redone as failed: its row is rewritten, its images are gone. */
    make_result(&r, "uid___A_X1_XA", ASW_ST_FAILED, 0, "", 0, 0);
    r.attempts = 2;
    put(c, &r, NULL);
    assert_int_equal(count(c, "units"), 3);
    assert_int_equal(count(c, "images"), 3);
    enum asw_status st;
    int attempts;
    assert_int_equal(asw_cat_unit_status(c, "uid___A_X1_XA", &st, &attempts),
                     0);
    assert_int_equal(st, ASW_ST_FAILED);
    assert_int_equal(attempts, 2);

    /* A done again with 4 images: appended after B and C. */
    make_result(&r, "uid___A_X1_XA", ASW_ST_DONE, 4, "J0001+0001", 97e9, 1);
    r.attempts = 3;
    put(c, &r, NULL);
    assert_int_equal(count(c, "images"), 7);
    assert_int_equal(asw_cat_close(c, &err), 0);

    /* After reopening, the index is rebuilt from the file: B redone. */
    char path[600];
    snprintf(path, sizeof path, "%s/upsert.h5", dir);
    c = NULL;
    assert_int_equal(asw_cat_open(path, 0, &c, &err), 0);
    make_result(&r, "uid___A_X1_XB", ASW_ST_DONE, 1, "J0002+0002", 97e9, 6);
    put(c, &r, NULL);
    assert_int_equal(count(c, "units"), 3);
    assert_int_equal(count(c, "images"), 6);
    assert_int_equal(asw_cat_close(c, &err), 0);

    struct asw_image *rows = NULL;
    size_t n = 0;
    assert_int_equal(asw_cat_read_images(path, &rows, &n, &err), 0);
    assert_int_equal(n, 6);
    assert_int_equal(rows_of(rows, n, "uid___A_X1_XA"), 4);
    assert_int_equal(rows_of(rows, n, "uid___A_X1_XB"), 1);
    assert_int_equal(rows_of(rows, n, "uid___A_X1_XC"), 1);
    /* Compaction keeps the order of the rows that stay. */
    assert_string_equal(rows[0].unit_id, "uid___A_X1_XC");
    assert_string_equal(rows[1].unit_id, "uid___A_X1_XA");
    assert_string_equal(rows[5].unit_id, "uid___A_X1_XB");
    assert_true(rows[5].peak_jy == 6.0);
    free(rows);

    struct urow *u = NULL;
    size_t nu = read_units(path, &u);
    assert_int_equal(nu, 3);
    /* Rows stay where they were first written; no duplicates. */
    assert_string_equal(u[0].id, "uid___A_X1_XA");
    assert_string_equal(u[0].status, "done");
    assert_string_equal(u[0].error, "");
    assert_int_equal(u[0].n_images, 4);
    assert_string_equal(u[1].id, "uid___A_X1_XB");
    assert_int_equal(u[1].n_images, 1);
    assert_string_equal(u[2].id, "uid___A_X1_XC");
    free(u);
}

static void test_upsert_unit_fields(void **state)
{
    struct asw_cat *c = open_new("keep.h5");
    struct asw_unit unit;
    struct asw_result r;
    struct asw_err err = {0};
    memset(&unit, 0, sizeof unit);
    snprintf(unit.id, sizeof unit.id, "uid___A002_X2_X1");
    snprintf(unit.project, sizeof unit.project, "2019.1.01234.S");
    unit.kind = ASW_UNIT_MOUS_PRODUCTS;
    unit.bytes_total = 123456789;

    make_result(&r, "uid___A002_X2_X1", ASW_ST_FAILED, 0, "", 0, 0);
    put(c, &r, &unit);
    /* Without the unit, what only the unit knows is kept. */
    make_result(&r, "uid___A002_X2_X1", ASW_ST_DONE, 1, "J1", 230e9, 1);
    put(c, &r, NULL);
    /* A new unit without a struct asw_unit: sizes are unknown (-1). */
    make_result(&r, "uid___A002_X2_X2", ASW_ST_DONE, 0, "", 0, 0);
    put(c, &r, NULL);

    /* A unit whose id differs from the result's is refused. */
    make_result(&r, "uid___A002_X2_X3", ASW_ST_DONE, 0, "", 0, 0);
    assert_int_equal(asw_cat_put_result(c, &r, &unit, &err), ASW_EINVAL);
    asw_result_clear(&r);
    assert_int_equal(count(c, "units"), 2);
    assert_int_equal(asw_cat_close(c, &err), 0);

    char path[600];
    snprintf(path, sizeof path, "%s/keep.h5", dir);
    struct urow *u = NULL;
    assert_int_equal(read_units(path, &u), 2);
    assert_string_equal(u[0].project, "2019.1.01234.S");
    assert_int_equal(u[0].bytes_total, 123456789);
    assert_string_equal(u[0].status, "done");
    assert_int_equal(u[1].bytes_total, -1);
    assert_string_equal(u[1].project, "");
    free(u);
}

static void fill(char *s, size_t size, char ch)
{
    memset(s, ch, size - 1);
    s[size - 1] = '\0';
}

static void test_strings_max_length(void **state)
{
    struct asw_cat *c = open_new("max.h5");
    struct asw_result r;
    struct asw_image img;
    struct asw_err err = {0};
    memset(&r, 0, sizeof r);
    fill(r.unit_id, sizeof r.unit_id, 'u');
    fill(r.error, sizeof r.error, 'e');
    fill(r.host, sizeof r.host, 'h');
    r.status = ASW_ST_FAILED;
    asw_image_init(&img);
    fill(img.unit_id, sizeof img.unit_id, 'u');
    fill(img.source, sizeof img.source, 's');
    fill(img.intent, sizeof img.intent, 'i');
    fill(img.specmode, sizeof img.specmode, 'm');
    /* Not terminated at all: stored cut to the field, terminated. */
    memset(img.file, 'f', sizeof img.file);
    assert_int_equal(asw_result_add_image(&r, &img), 0);
    char id[sizeof r.unit_id];
    memcpy(id, r.unit_id, sizeof id);
    put(c, &r, NULL);
    enum asw_status st;
    assert_int_equal(asw_cat_unit_status(c, id, &st, NULL), 0);
    assert_int_equal(st, ASW_ST_FAILED);
    assert_int_equal(asw_cat_close(c, &err), 0);

    char path[600];
    snprintf(path, sizeof path, "%s/max.h5", dir);
    struct asw_image *rows = NULL;
    size_t n = 0;
    assert_int_equal(asw_cat_read_images(path, &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].unit_id, id);
    assert_int_equal(strlen(rows[0].source), sizeof img.source - 1);
    assert_int_equal(strlen(rows[0].intent), sizeof img.intent - 1);
    assert_int_equal(strlen(rows[0].specmode), sizeof img.specmode - 1);
    assert_int_equal(strlen(rows[0].file), sizeof img.file - 1);
    assert_int_equal(rows[0].file[0], 'f');
    free(rows);

    struct urow *u = NULL;
    assert_int_equal(read_units(path, &u), 1);
    assert_string_equal(u[0].id, id);
    assert_int_equal(strlen(u[0].error), ASW_ERRTEXT_MAX - 1);
    assert_int_equal(strlen(u[0].host), 63);
    free(u);
}

static void test_zero_images(void **state)
{
    struct asw_cat *c = open_new("zero.h5");
    struct asw_result r;
    struct asw_err err = {0};
    make_result(&r, "uid___A002_X3_X1", ASW_ST_FAILED, 0, "", 0, 0);
    r.attempts = 4;
    put(c, &r, NULL);
    assert_int_equal(count(c, "units"), 1);
    assert_int_equal(count(c, "images"), 0);
    assert_int_equal(asw_cat_close(c, &err), 0);

    char path[600];
    snprintf(path, sizeof path, "%s/zero.h5", dir);
    struct asw_image *rows = (struct asw_image *)1;
    size_t n = 7;
    assert_int_equal(asw_cat_read_images(path, &rows, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(rows);
    struct urow *u = NULL;
    assert_int_equal(read_units(path, &u), 1);
    assert_string_equal(u[0].error, "dl:ENET:connection reset");
    assert_int_equal(u[0].n_images, 0);
    free(u);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(asw_cat_summary(path, out, &err), 0);
    fclose(out);
    assert_non_null(strstr(text, "units: 1 (failed 1)\n"));
    assert_non_null(strstr(text, "images: 0\n"));
    free(text);
}

static void test_reject_foreign_image(void **state)
{
    struct asw_cat *c = open_new("foreign.h5");
    struct asw_result r;
    struct asw_err err = {0};
    make_result(&r, "uid___A002_X4_X1", ASW_ST_DONE, 2, "J1", 97e9, 1);
    snprintf(r.images[1].unit_id, sizeof r.images[1].unit_id,
             "uid___A002_X4_X2");
    assert_int_equal(asw_cat_put_result(c, &r, NULL, &err), ASW_EINVAL);
    assert_non_null(strstr(err.msg, "uid___A002_X4_X2"));
    asw_result_clear(&r);
    assert_int_equal(count(c, "units"), 0);
    assert_int_equal(count(c, "images"), 0);
    r.status = ASW_ST_DONE; /* no unit id */
    assert_int_equal(asw_cat_put_result(c, &r, NULL, &err), ASW_EINVAL);
    make_result(&r, "uid___A002_X4_X1", (enum asw_status)42, 0, "", 0, 0);
    assert_int_equal(asw_cat_put_result(c, &r, NULL, &err), ASW_EINVAL);
    assert_int_equal(count(c, "units"), 0);
    assert_int_equal(asw_cat_close(c, &err), 0);
}

static void test_band_edges(void **state)
{
    assert_int_equal(asw_cat_band(NAN), 0);
    assert_int_equal(asw_cat_band(30e9), 0);
    assert_int_equal(asw_cat_band(40e9), 1);
    assert_int_equal(asw_cat_band(75e9), 2);
    assert_int_equal(asw_cat_band(84e9), 2); /* shared edge: lower band */
    assert_int_equal(asw_cat_band(84.1e9), 3);
    assert_int_equal(asw_cat_band(120e9), 0);
    assert_int_equal(asw_cat_band(145e9), 4);
    assert_int_equal(asw_cat_band(183e9), 5);
    assert_int_equal(asw_cat_band(230e9), 6);
    assert_int_equal(asw_cat_band(343e9), 7);
    assert_int_equal(asw_cat_band(380e9), 0);
    assert_int_equal(asw_cat_band(460e9), 8);
    assert_int_equal(asw_cat_band(650e9), 9);
    assert_int_equal(asw_cat_band(870e9), 10);
    assert_int_equal(asw_cat_band(951e9), 0);
}

static void test_summary(void **state)
{
    struct asw_cat *c = open_new("summary.h5");
    struct asw_result r;
    struct asw_err err = {0};
    /* J1924 in B3: peaks 1,2,3 and 10 -> median 2.5; in B7: 4,5,6 -> 5. */
    make_result(&r, "uid___A_X5_X1", ASW_ST_DONE, 3, "J1924-2914", 97e9, 1);
    put(c, &r, NULL);
    make_result(&r, "uid___A_X5_X2", ASW_ST_DONE, 1, "J1924-2914", 100e9, 10);
    put(c, &r, NULL);
    make_result(&r, "uid___A_X5_X3", ASW_ST_DONE, 3, "J1924-2914", 343e9, 4);
    put(c, &r, NULL);
    make_result(&r, "uid___A_X5_X4", ASW_ST_DONE, 1, "J0006-0623", 10e9, 1);
    put(c, &r, NULL);
    make_result(&r, "uid___A_X5_X5", ASW_ST_FAILED, 0, "", 0, 0);
    put(c, &r, NULL);
    assert_int_equal(asw_cat_set_creator(c, "almasweep 9.9.9-test", &err), 0);
    assert_int_equal(asw_cat_close(c, &err), 0);

    char path[600];
    snprintf(path, sizeof path, "%s/summary.h5", dir);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(asw_cat_summary(path, out, &err), 0);
    fclose(out);
    if (getenv("ASW_CAT_VERBOSE"))
        fputs(text, stderr);
    assert_non_null(strstr(text, "creator almasweep 9.9.9-test"));
    assert_non_null(strstr(text, "units: 5 (done 4, failed 1)\n"));
    assert_non_null(strstr(text, "images: 8\n"));
    char line[200];
    snprintf(line, sizeof line, "%-24s %-4s %7d %14.6g %12.6g\n", "J1924-2914",
             "B3", 4, 2.5, 2500.0);
    assert_non_null(strstr(text, line));
    snprintf(line, sizeof line, "%-24s %-4s %7d %14.6g %12.6g\n", "J1924-2914",
             "B7", 3, 5.0, 5000.0);
    assert_non_null(strstr(text, line));
    snprintf(line, sizeof line, "%-24s %-4s %7d %14.6g %12.6g\n", "J0006-0623",
             "?", 1, 1.0, 1000.0);
    assert_non_null(strstr(text, line));
    /* Sorted by source: J0006 before J1924. */
    assert_true(strstr(text, "J0006-0623") < strstr(text, "J1924-2914"));
    free(text);
}

static void test_many_units(void **state)
{
    /* Enough rows to grow the index and to compact across read blocks. */
    enum { UNITS = 700, PER = 8 };
    struct asw_cat *c = open_new("many.h5");
    struct asw_result r;
    struct asw_err err = {0};
    char id[64];
    for (int i = 0; i < UNITS; i++) {
        snprintf(id, sizeof id, "uid___A002_X9_X%x", i);
        make_result(&r, id, ASW_ST_DONE, PER, "J2253+1608", 230e9, i);
        put(c, &r, NULL);
    }
    make_result(&r, "uid___A002_X9_X5", ASW_ST_DONE, 2, "J2253+1608", 230e9,
                -1);
    put(c, &r, NULL);
    assert_int_equal(count(c, "units"), UNITS);
    assert_int_equal(count(c, "images"), UNITS * PER - PER + 2);
    assert_int_equal(asw_cat_close(c, &err), 0);

    char path[600];
    snprintf(path, sizeof path, "%s/many.h5", dir);
    c = NULL;
    assert_int_equal(asw_cat_open(path, 0, &c, &err), 0);
    /* Redo one near the end of the first read block after reopening. */
    make_result(&r, "uid___A002_X9_X1f4", ASW_ST_DONE, 3, "J2253+1608", 230e9,
                -2);
    put(c, &r, NULL);
    assert_int_equal(count(c, "images"), UNITS * PER - 2 * PER + 5);
    assert_int_equal(asw_cat_close(c, &err), 0);

    struct asw_image *rows = NULL;
    size_t n = 0;
    assert_int_equal(asw_cat_read_images(path, &rows, &n, &err), 0);
    assert_int_equal(n, UNITS * PER - 2 * PER + 5);
    for (int i = 0; i < UNITS; i++) {
        snprintf(id, sizeof id, "uid___A002_X9_X%x", i);
        size_t want = i == 5 ? 2 : i == 0x1f4 ? 3 : PER;
        if (rows_of(rows, n, id) != want)
            fail_msg("%s: %zu rows, want %zu", id, rows_of(rows, n, id), want);
    }
    /* Survivors keep their order: unit 4's rows, then unit 6's. */
    assert_string_equal(rows[5 * PER - 1].unit_id, "uid___A002_X9_X4");
    assert_string_equal(rows[5 * PER].unit_id, "uid___A002_X9_X6");
    assert_string_equal(rows[n - 1].unit_id, "uid___A002_X9_X1f4");
    free(rows);
}

static void test_column_attrs(void **state)
{
    struct asw_cat *c = open_new("attrs.h5");
    struct asw_err err = {0};
    assert_int_equal(asw_cat_close(c, &err), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/attrs.h5", dir);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t ds = H5Dopen2(f, "images", H5P_DEFAULT);
    hid_t a = H5Aopen(ds, "peak_jy_unit", H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    char *s = NULL;
    assert_true(H5Aread(a, t, &s) >= 0);
    assert_string_equal(s, "Jy/beam");
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
    H5Dclose(ds);

    /* The astropy header lists peak_jy with its unit. */
    ds = H5Dopen2(f, "images.__table_column_meta__", H5P_DEFAULT);
    assert_true(ds >= 0);
    t = H5Dget_type(ds);
    size_t w = H5Tget_size(t);
    hid_t sp = H5Dget_space(ds);
    hsize_t nl = 0;
    H5Sget_simple_extent_dims(sp, &nl, NULL);
    char *buf = calloc(nl * w + 1, 1);
    assert_true(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    int found = 0;
    for (hsize_t i = 0; i < nl; i++)
        found +=
            strncmp(buf + i * w, "- {name: peak_jy, unit: 'Jy/beam',", 34) == 0;
    assert_int_equal(found, 1);
    assert_int_equal(strncmp(buf, "datatype:", 9), 0);
    free(buf);
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(ds);

    int version = 0;
    a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_INT, &version);
    H5Aclose(a);
    assert_int_equal(version, ASW_CAT_SCHEMA_VERSION);
    H5Fclose(f);
}

static herr_t add_name(hid_t t, const char *table, const char *doc)
{
    int n = H5Tget_nmembers(t);
    for (int i = 0; i < n; i++) {
        char *name = H5Tget_member_name(t, (unsigned)i);
        char want[128];
        snprintf(want, sizeof want, "| `%s` |", name);
        if (!strstr(doc, want))
            fail_msg("docs/catalogue.md: /%s column %s undocumented", table,
                     name);
        H5free_memory(name);
    }
    return 0;
}

static void test_docs_cover_columns(void **state)
{
    const char *src = getenv("ASW_SOURCE_DIR");
    if (!src)
        skip();
    char p[600];
    snprintf(p, sizeof p, "%s/docs/catalogue.md", src);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    static char doc[1 << 16];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    doc[len] = '\0';
    fclose(f);

    struct asw_cat *c = open_new("attrs.h5");
    struct asw_err err = {0};
    assert_int_equal(asw_cat_close(c, &err), 0);
    snprintf(p, sizeof p, "%s/attrs.h5", dir);
    hid_t h = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    static const char *const tables[] = {"units", "images"};
    for (int i = 0; i < 2; i++) {
        hid_t ds = H5Dopen2(h, tables[i], H5P_DEFAULT);
        hid_t t = H5Dget_type(ds);
        add_name(t, tables[i], doc);
        H5Tclose(t);
        H5Dclose(ds);
    }
    H5Fclose(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_reopen_counts),
        cmocka_unit_test(test_reopen_keeps_rows),
        cmocka_unit_test(test_open_missing),
        cmocka_unit_test(test_open_not_hdf5),
        cmocka_unit_test(test_schema_version_mismatch),
        cmocka_unit_test(test_upsert_replaces),
        cmocka_unit_test(test_upsert_unit_fields),
        cmocka_unit_test(test_strings_max_length),
        cmocka_unit_test(test_zero_images),
        cmocka_unit_test(test_reject_foreign_image),
        cmocka_unit_test(test_band_edges),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_many_units),
        cmocka_unit_test(test_column_attrs),
        cmocka_unit_test(test_docs_cover_columns),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
