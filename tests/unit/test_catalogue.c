/*
 * test_catalogue.c - io/catalogue: create, upsert, reopen, every table,
 * strings at their limits, the journal (replay, torn tail, foreign
 * journal, lock), crash safety at every crash point (fork + SIGKILL),
 * runs, /sources, verify finding planted faults, export read back by our
 * VOTable parser, merge, summary and list, and that the schema of record
 * documents every column.
 *
 * The files go to a fresh directory under $TMPDIR that is removed at the
 * end; with ASW_CAT_KEEP_DIR set they are written there and kept (for
 * tests/integration/read_catalogue.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "io/catalogue.h"
#include "io/catalogue_priv.h"
#include "io/cattable.h"
#include "io/votable.h"

#include <hdf5.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testdir.h"

/* Sanitized builds run fewer crash scenarios (each forks twice). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

static char dir[512];
static int keep;

static int make_dir(void **state)
{
    const char *k = getenv("ASW_CAT_KEEP_DIR");
    if (k && k[0]) {
        snprintf(dir, sizeof dir, "%s", k);
        keep = 1;
        mkdir(dir, 0755);
        return 0;
    }
    return asw_testdir_make(dir, sizeof dir, "asw_cat");
}

static int remove_dir(void **state)
{
    if (keep)
        return 0;
    return asw_testdir_remove(dir);
}

/* The path of name in the test directory (one of 64 rotating buffers:
 * valid for the next 63 calls). */
static const char *at(const char *name)
{
    static char p[64][600];
    static int k;
    k = (k + 1) % 64;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* A fresh path: the catalogue, its journal and leftovers removed. */
static const char *fresh(const char *name)
{
    char j[700];
    const char *p = at(name);
    unlink(p);
    snprintf(j, sizeof j, "%s.journal", p);
    unlink(j);
    snprintf(j, sizeof j, "%s.ckpt", p);
    unlink(j);
    return p;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/*
 * Every write to a regular file -- HDF5's (pwrite, write, ftruncate) and
 * ours (pwritev, copy_file_range, rename) -- goes through these, so that a
 * child can be killed at the N-th one: before it (whole) or after writing
 * half of it (torn). Off unless write_countdown is set (in a child).
 */
static long write_countdown; /* 0: off; the N-th write kills */
static int write_torn;       /* write half, then die */
static long writes_seen;     /* counted while write_count_only */
static int write_count_only;

static int regular(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* 1 when this write is the one to die at. */
static int fatal_write(int fd)
{
    if (!write_countdown && !write_count_only)
        return 0;
    if (fd >= 0 && !regular(fd))
        return 0;
    writes_seen++;
    return write_countdown && writes_seen == write_countdown;
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef int (*ftruncate_fn)(int, off_t);
typedef ssize_t (*cfr_fn)(int, off_t *, int, off_t *, size_t, unsigned);
typedef int (*rename_fn)(const char *, const char *);

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    pwrite_fn real = REAL("pwrite", pwrite_fn);
    if (fatal_write(fd)) {
        if (write_torn)
            real(fd, buf, n / 2, off);
        raise(SIGKILL);
    }
    return real(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    write_fn real = REAL("write", write_fn);
    if (fatal_write(fd)) {
        if (write_torn)
            real(fd, buf, n / 2);
        raise(SIGKILL);
    }
    return real(fd, buf, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    pwritev_fn real = REAL("pwritev", pwritev_fn);
    if (fatal_write(fd)) {
        pwrite_fn pw = REAL("pwrite", pwrite_fn);
        if (write_torn && cnt > 0)
            pw(fd, iov[0].iov_base, iov[0].iov_len / 2, off);
        raise(SIGKILL);
    }
    return real(fd, iov, cnt, off);
}

int ftruncate(int fd, off_t len)
{
    if (fatal_write(fd))
        raise(SIGKILL);
    return REAL("ftruncate", ftruncate_fn)(fd, len);
}

ssize_t copy_file_range(int in, off_t *pin, int out, off_t *pout, size_t n,
                        unsigned flags)
{
    cfr_fn real = REAL("copy_file_range", cfr_fn);
    if (fatal_write(out)) {
        if (write_torn)
            real(in, pin, out, pout, n / 2, flags);
        raise(SIGKILL);
    }
    return real(in, pin, out, pout, n, flags);
}

int rename(const char *from, const char *to)
{
    if (fatal_write(-1))
        raise(SIGKILL);
    return REAL("rename", rename_fn)(from, to);
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

static void add_sed(struct asw_result *r, const char *src, double alpha)
{
    struct asw_sed s;
    asw_sed_init(&s);
    snprintf(s.source, sizeof s.source, "%s", src);
    s.band = 3;
    s.n_spw = 4;
    s.alpha = alpha;
    s.ref_freq_hz = 97.5e9;
    assert_int_equal(asw_result_add_sed(r, &s), 0);
}

static void add_line(struct asw_result *r, const char *file, int chan_lo)
{
    struct asw_line l;
    asw_line_init(&l);
    snprintf(l.file, sizeof l.file, "%s", file);
    snprintf(l.source, sizeof l.source, "J0000+0000");
    snprintf(l.species, sizeof l.species, "HCO+");
    l.chan_lo = chan_lo;
    l.chan_hi = chan_lo + 3;
    l.tau_peak = 0.1 * chan_lo;
    assert_int_equal(asw_result_add_line(r, &l), 0);
}

/* The aperture spectrum of add_spectrum: distinct from the peak pixel's
 * base + i in every channel. */
static double ap_of(double base, size_t i)
{
    return 0.5 * base - 0.25 * (double)i;
}

static void add_spectrum(struct asw_result *r, const char *file, size_t n,
                         double base)
{
    struct asw_spectrum sp;
    memset(&sp, 0, sizeof sp);
    snprintf(sp.file, sizeof sp.file, "%s", file);
    snprintf(sp.source, sizeof sp.source, "J0000+0000");
    sp.spw = 25;
    sp.mjd = 59001;
    sp.n_chan = n;
    sp.freq_hz = malloc(n * sizeof(double));
    sp.flux_jy = malloc(n * sizeof(double));
    sp.ap_flux_jy = malloc(n * sizeof(double));
    sp.tau = malloc(n * sizeof(double));
    assert_non_null(sp.freq_hz);
    for (size_t i = 0; i < n; i++) {
        sp.freq_hz[i] = 100e9 + 1e6 * (double)i;
        sp.flux_jy[i] = base + (double)i;
        sp.ap_flux_jy[i] = ap_of(base, i);
        sp.tau[i] = 0.01 * (double)i;
    }
    /* noise_jy and cont_jy stay NULL: stored as NaN. */
    assert_int_equal(asw_result_add_spectrum(r, &sp), 0);
}

static struct asw_cat *open_path(const char *p, double checkpoint_s)
{
    struct asw_cat *c = NULL;
    struct asw_err err = {0};
    int rc = asw_cat_open(p, 1, &c, &err);
    if (rc)
        fail_msg("open %s: %s", p, err.msg);
    struct asw_cat_options o;
    asw_cat_options_default(&o);
    o.checkpoint_s = checkpoint_s;
    o.journal_fsync = 0; /* process death, not node death, is tested */
    assert_int_equal(asw_cat_set_options(c, &o, &err), 0);
    return c;
}

static struct asw_cat *open_new(const char *name)
{
    return open_path(fresh(name), 60);
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

static void close_ok(struct asw_cat *c)
{
    struct asw_err err = {0};
    if (asw_cat_close(c, &err))
        fail_msg("close: %s", err.msg);
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

/* verify: the number of problems (report printed when non-zero). */
static size_t verify(const char *p)
{
    struct asw_err err = {0};
    char *text = NULL;
    size_t len = 0, problems = 999;
    FILE *out = open_memstream(&text, &len);
    int rc = asw_cat_verify(p, out, &problems, &err);
    fclose(out);
    if (rc)
        fail_msg("verify %s: %s", p, err.msg);
    if (problems)
        fprintf(stderr, "verify %s:\n%s", p, text);
    free(text);
    return problems;
}

/* Every row of table t of file p (memory layout, tidied); caller frees. */
static void *read_table(const char *p, int t, size_t *n)
{
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t mt = cat_h5_type(cat_tables[t], 0);
    void *rows = NULL;
    struct asw_err err = {0};
    assert_int_equal(cat_read_all(f, p, cat_tables[t], mt,
                                  cat_tables[t]->rowsize, &rows, n, &err),
                     0);
    for (size_t i = 0; i < *n; i++)
        cat_tidy_row(cat_tables[t], (char *)rows + i * cat_tables[t]->rowsize);
    H5Tclose(mt);
    H5Fclose(f);
    return rows;
}

/* ---- basics ---------------------------------------------------------- */

static void test_create_reopen_counts(void **state)
{
    struct asw_cat *c = open_new("a.h5");
    struct asw_result r;
    assert_int_equal(count(c, "units"), 0);
    assert_int_equal(count(c, "images"), 0);
    /* Created at once: a complete, empty, verifiable file. */
    assert_true(file_exists(at("a.h5")));
    assert_int_equal(verify(at("a.h5")), 0);
    make_result(&r, "uid___A002_X1_X1", ASW_ST_DONE, 3, "J1924-2914", 97.5e9,
                2.0);
    put(c, &r, NULL);
    make_result(&r, "uid___A002_X1_X2", ASW_ST_DONE, 2, "J1256-0547", 343e9,
                9.0);
    put(c, &r, NULL);
    assert_int_equal(count(c, "units"), 2);
    assert_int_equal(count(c, "images"), 5);
    assert_int_equal(count(c, "seds"), 0);
    size_t n = 0;
    assert_int_equal(asw_cat_count(c, "bogus", &n), ASW_EINVAL);
    close_ok(c);
    /* A clean close leaves no journal behind. */
    assert_false(file_exists(at("a.h5.journal")));
    assert_int_equal(verify(at("a.h5")), 0);
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
    close_ok(c);

    const char *path = at("a.h5");
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
    close_ok(c);

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
    assert_int_equal(asw_cat_open(fresh("missing.h5"), 0, &c, &err),
                     ASW_ENOTFOUND);
    assert_null(c);
    assert_string_equal(err.module, "catalogue");
    /* Nothing was left next to the missing file. */
    assert_false(file_exists(at("missing.h5.journal")));
    struct asw_image *rows = NULL;
    size_t n = 0;
    assert_int_equal(asw_cat_read_images(at("missing.h5"), &rows, &n, &err),
                     ASW_ENOTFOUND);
    assert_int_equal(asw_cat_summary(at("missing.h5"), stderr, &err),
                     ASW_ENOTFOUND);
    assert_int_equal(asw_cat_recover(at("missing.h5"), NULL, &err),
                     ASW_ENOTFOUND);
    assert_int_equal(asw_cat_close(NULL, NULL), 0);
}

static void test_open_not_hdf5(void **state)
{
    const char *p = fresh("text.h5");
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
    /* The text file is untouched, no journal made. */
    assert_false(file_exists(at("text.h5.journal")));
}

/* Set the root attribute schema_version of catalogue p to v. */
static void set_schema_version(const char *p, int v)
{
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, H5T_NATIVE_INT, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
}

static void test_schema_version_mismatch(void **state)
{
    const char *p = fresh("v9.h5");
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "schema_version", H5T_STD_I32LE, sp, H5P_DEFAULT,
                         H5P_DEFAULT);
    int v = 9;
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
    H5Sclose(sp);
    H5Fclose(f);
    struct asw_cat *c = NULL;
    struct asw_err err = {0};
    assert_int_equal(asw_cat_open(p, 1, &c, &err), ASW_EPARSE);
    assert_non_null(strstr(err.msg, "schema_version 9"));
    assert_int_equal(asw_cat_summary(p, stderr, &err), ASW_EPARSE);
    size_t problems;
    assert_int_equal(asw_cat_verify(p, NULL, &problems, &err), ASW_EPARSE);

    /* A version-2 catalogue (no ap_flux_jy in /spectra_channels) with a
     * pending journal: refused by the writer, the tools and the reader
     * with the version in the message, and its journal left alone. */
    assert_int_equal(ASW_CAT_SCHEMA_VERSION, 3);
    const char *p2 = fresh("v2.h5");
    /* A writer that stores a checkpointed and a pending result, then dies
     * (exits without closing: the journal keeps the second). */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct asw_result r;
        c = open_path(p2, 60);
        make_result(&r, "uid___A_XV_X1", ASW_ST_DONE, 1, "J0000+0000", 97e9, 1);
        add_spectrum(&r, "cube.fits", 3, 1.0);
        if (asw_cat_put_result(c, &r, NULL, &err) ||
            asw_cat_checkpoint(c, &err))
            _exit(1);
        asw_result_clear(&r);
        make_result(&r, "uid___A_XV_X2", ASW_ST_DONE, 1, "J0000+0000", 97e9, 1);
        _exit(asw_cat_put_result(c, &r, NULL, &err) ? 1 : 0);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    c = NULL;
    struct stat js;
    char jp[600];
    snprintf(jp, sizeof jp, "%s.journal", p2);
    assert_int_equal(stat(jp, &js), 0);
    off_t jsize = js.st_size;
    assert_true(jsize > 0);
    set_schema_version(p2, 2);
    memset(&err, 0, sizeof err);
    assert_int_equal(asw_cat_open(p2, 1, &c, &err), ASW_EPARSE);
    assert_null(c);
    assert_non_null(strstr(err.msg, "schema_version 2, this build reads 3"));
    assert_int_equal(asw_cat_verify(p2, NULL, &problems, &err), ASW_EPARSE);
    assert_non_null(strstr(err.msg, "schema_version 2"));
    struct asw_ct *ct = NULL;
    int version = -1;
    assert_int_equal(asw_ct_open(p2, &ct, &version, &err), ASW_EPARSE);
    assert_null(ct);
    assert_int_equal(version, 2);
    assert_int_equal(stat(jp, &js), 0);
    assert_true(js.st_size == jsize);
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
    assert_int_equal(asw_cat_checkpoint(c, &err), 0);
    assert_int_equal(verify(at("upsert.h5")), 0);

    /* A done again with 4 images: its old rows went in the checkpoint. */
    make_result(&r, "uid___A_X1_XA", ASW_ST_DONE, 4, "J0001+0001", 97e9, 1);
    r.attempts = 3;
    put(c, &r, NULL);
    assert_int_equal(count(c, "images"), 7);
    close_ok(c);

    /* After reopening, B redone: its rows are replaced. */
    const char *path = at("upsert.h5");
    c = NULL;
    assert_int_equal(asw_cat_open(path, 0, &c, &err), 0);
    make_result(&r, "uid___A_X1_XB", ASW_ST_DONE, 1, "J0002+0002", 97e9, 6);
    put(c, &r, NULL);
    assert_int_equal(count(c, "units"), 3);
    assert_int_equal(count(c, "images"), 6);
    close_ok(c);
    assert_int_equal(verify(path), 0);

    struct asw_image *rows = NULL;
    size_t n = 0;
    assert_int_equal(asw_cat_read_images(path, &rows, &n, &err), 0);
    assert_int_equal(n, 6);
    assert_int_equal(rows_of(rows, n, "uid___A_X1_XA"), 4);
    assert_int_equal(rows_of(rows, n, "uid___A_X1_XB"), 1);
    assert_int_equal(rows_of(rows, n, "uid___A_X1_XC"), 1);
    /* Compaction keeps the order of the rows that stay; new rows go last. */
    assert_string_equal(rows[0].unit_id, "uid___A_X1_XC");
    assert_string_equal(rows[1].unit_id, "uid___A_X1_XA");
    assert_string_equal(rows[5].unit_id, "uid___A_X1_XB");
    assert_true(rows[5].peak_jy == 6.0);
    free(rows);

    struct asw_cat_unit_row *u = read_table(path, T_UNITS, &n);
    assert_int_equal(n, 3);
    /* Rows stay where they were first written; no duplicates. */
    assert_string_equal(u[0].id, "uid___A_X1_XA");
    assert_string_equal(u[0].status, "done");
    assert_string_equal(u[0].error, "");
    assert_int_equal(u[0].n_images, 4);
    assert_int_equal(u[0].attempts, 3);
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
    assert_int_equal(asw_cat_checkpoint(c, &err), 0);
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
    close_ok(c);

    size_t n;
    struct asw_cat_unit_row *u = read_table(at("keep.h5"), T_UNITS, &n);
    assert_int_equal(n, 2);
    assert_string_equal(u[0].project, "2019.1.01234.S");
    assert_string_equal(u[0].kind, "mous-products");
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
    r.status = ASW_ST_DONE;
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
    assert_int_equal(st, ASW_ST_DONE);
    close_ok(c);

    const char *path = at("max.h5");
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

    struct asw_cat_unit_row *u = read_table(path, T_UNITS, &n);
    assert_int_equal(n, 1);
    assert_string_equal(u[0].id, id);
    assert_int_equal(strlen(u[0].error), ASW_ERRTEXT_MAX - 1);
    assert_int_equal(strlen(u[0].host), 63);
    free(u);
    assert_int_equal(verify(path), 0);
}

static void test_failed_rows_dropped(void **state)
{
    /* Only done units have measurements: a failed result's rows are not
     * stored, and a done unit that fails later loses its rows. */
    struct asw_cat *c = open_new("zero.h5");
    struct asw_result r;
    struct asw_err err = {0};
    make_result(&r, "uid___A002_X3_X1", ASW_ST_FAILED, 2, "J1", 97e9, 1);
    r.attempts = 4;
    put(c, &r, NULL);
    make_result(&r, "uid___A002_X3_X2", ASW_ST_DONE, 2, "J1", 97e9, 1);
    put(c, &r, NULL);
    assert_int_equal(count(c, "images"), 2);
    assert_int_equal(asw_cat_checkpoint(c, &err), 0);
    make_result(&r, "uid___A002_X3_X2", ASW_ST_INTERRUPTED, 1, "J1", 97e9, 1);
    put(c, &r, NULL);
    assert_int_equal(count(c, "units"), 2);
    assert_int_equal(count(c, "images"), 0);
    close_ok(c);

    const char *path = at("zero.h5");
    struct asw_image *rows = (struct asw_image *)1;
    size_t n = 7;
    assert_int_equal(asw_cat_read_images(path, &rows, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(rows);
    struct asw_cat_unit_row *u = read_table(path, T_UNITS, &n);
    assert_string_equal(u[0].error, "dl:ENET:connection reset");
    assert_int_equal(u[0].n_images, 0);
    assert_string_equal(u[1].status, "interrupted");
    assert_int_equal(u[1].n_images, 0);
    free(u);
    assert_int_equal(verify(path), 0);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(asw_cat_summary(path, out, &err), 0);
    fclose(out);
    assert_non_null(strstr(text, "units: 2 (failed 1, interrupted 1)\n"));
    assert_non_null(strstr(text, "rows: images 0,"));
    free(text);
}

static void test_reject_foreign_rows(void **state)
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
    make_result(&r, "uid___A002_X4_X1", ASW_ST_DONE, 0, "J1", 97e9, 1);
    add_sed(&r, "J1", -0.5);
    snprintf(r.seds[0].unit_id, sizeof r.seds[0].unit_id, "uid___other");
    assert_int_equal(asw_cat_put_result(c, &r, NULL, &err), ASW_EINVAL);
    assert_non_null(strstr(err.msg, "sed 0"));
    asw_result_clear(&r);
    assert_int_equal(count(c, "units"), 0);
    assert_int_equal(count(c, "images"), 0);
    r.status = ASW_ST_DONE; /* no unit id */
    assert_int_equal(asw_cat_put_result(c, &r, NULL, &err), ASW_EINVAL);
    make_result(&r, "uid___A002_X4_X1", (enum asw_status)42, 0, "", 0, 0);
    assert_int_equal(asw_cat_put_result(c, &r, NULL, &err), ASW_EINVAL);
    assert_int_equal(count(c, "units"), 0);
    close_ok(c);
}

static void test_band_and_dates(void **state)
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

    /* MJD 51544 = 2000-01-01, 40587 = 1970-01-01, 60000 = 2023-02-25. */
    assert_true(asw_cat_parse_mjd("2000-01-01") == 51544);
    assert_true(asw_cat_parse_mjd("1970-01-01") == 40587);
    assert_true(asw_cat_parse_mjd("2023-02-25") == 60000);
    assert_true(asw_cat_parse_mjd("2000-01-01T12:00") == 51544.5);
    assert_true(asw_cat_parse_mjd("2000-01-01T18:00:00Z") == 51544.75);
    assert_true(asw_cat_parse_mjd("59000.5") == 59000.5);
    assert_true(isnan(asw_cat_parse_mjd("2000-13-01")));
    assert_true(isnan(asw_cat_parse_mjd("yesterday")));
    assert_true(isnan(asw_cat_parse_mjd("2000-01-01X")));
    assert_true(isnan(asw_cat_parse_mjd("")));
}

/* ---- every table ------------------------------------------------------ */

static void test_all_tables(void **state)
{
    struct asw_cat *c = open_new("tables.h5");
    struct asw_result r;
    struct asw_err err = {0};
    make_result(&r, "uid___A_X7_X1", ASW_ST_DONE, 1, "J0000+0000", 230e9, 1);
    add_sed(&r, "J0000+0000", -0.7);
    add_line(&r, "cube1.fits", 10);
    add_line(&r, "cube1.fits", 40);
    add_spectrum(&r, "cube1.fits", 5, 1.0);
    add_spectrum(&r, "cube2.fits", 3, 2.0);
    put(c, &r, NULL);
    make_result(&r, "uid___A_X7_X2", ASW_ST_DONE, 1, "J0000+0000", 230e9, 1);
    add_spectrum(&r, "cube3.fits", 4, 3.0);
    add_line(&r, "cube3.fits", 7);
    put(c, &r, NULL);
    assert_int_equal(count(c, "seds"), 1);
    assert_int_equal(count(c, "absorption"), 3);
    assert_int_equal(count(c, "spectra"), 3);
    assert_int_equal(asw_cat_checkpoint(c, &err), 0);
    assert_int_equal(verify(at("tables.h5")), 0);

    /* Redo the first unit: its rows leave every table, the spectra after
     * it move up and their channels with them. */
    make_result(&r, "uid___A_X7_X1", ASW_ST_DONE, 1, "J0000+0000", 230e9, 1);
    add_spectrum(&r, "cube1b.fits", 2, 9.0);
    put(c, &r, NULL);
    close_ok(c);
    const char *p = at("tables.h5");
    assert_int_equal(verify(p), 0);
    size_t n, nc;
    struct asw_cat_spectrum_row *sp = read_table(p, T_SPECTRA, &n);
    struct asw_cat_channel_row *ch = read_table(p, T_CHANNELS, &nc);
    assert_int_equal(n, 2);
    assert_int_equal(nc, 6);
    assert_string_equal(sp[0].file, "cube3.fits");
    assert_int_equal(sp[0].chan_offset, 0);
    assert_int_equal(sp[0].n_chan, 4);
    assert_true(sp[0].freq_min_hz == 100e9);
    assert_true(sp[0].freq_max_hz == 100e9 + 3e6);
    assert_true(ch[0].flux_jy == 3.0 && ch[3].flux_jy == 6.0);
    /* The aperture spectrum is stored beside the peak pixel's, not instead
     * of it, and moves with it. */
    for (size_t i = 0; i < 4; i++)
        assert_true(ch[i].ap_flux_jy == ap_of(3.0, i) &&
                    ch[i].ap_flux_jy != ch[i].flux_jy);
    assert_true(ch[4].ap_flux_jy == ap_of(9.0, 0) &&
                ch[5].ap_flux_jy == ap_of(9.0, 1));
    assert_true(isnan(ch[0].noise_jy));
    assert_true(ch[2].tau == 0.02);
    assert_string_equal(sp[1].file, "cube1b.fits");
    assert_string_equal(sp[1].unit_id, "uid___A_X7_X1");
    assert_int_equal(sp[1].chan_offset, 4);
    assert_true(ch[4].flux_jy == 9.0 && ch[5].flux_jy == 10.0);
    free(sp);
    free(ch);
    struct asw_line *ln = read_table(p, T_ABSORPTION, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ln[0].chan_lo, 7);
    assert_string_equal(ln[0].species, "HCO+");
    free(ln);
    struct asw_sed *sd = read_table(p, T_SEDS, &n);
    assert_int_equal(n, 0);
    free(sd);
}

/* ---- crash safety ----------------------------------------------------- */

/* The script of the crash tests: 12 results over 6 units, with redos that
 * replace rows in every table and failures that drop them. */
#define N_OPS 12
static void script_op(int i, struct asw_result *r)
{
    static const struct {
        int unit, status, images, seds, lines, spectra, attempts;
    } ops[N_OPS] = {
        {0, ASW_ST_DONE, 3, 1, 0, 0, 1}, {1, ASW_ST_FAILED, 0, 0, 0, 0, 1},
        {2, ASW_ST_DONE, 2, 0, 2, 2, 1}, {1, ASW_ST_DONE, 2, 0, 0, 0, 2},
        {0, ASW_ST_DONE, 1, 0, 0, 0, 2}, {3, ASW_ST_DONE, 4, 0, 0, 1, 1},
        {2, ASW_ST_DONE, 1, 0, 1, 1, 2}, {4, ASW_ST_FAILED, 2, 0, 0, 0, 1},
        {4, ASW_ST_DONE, 2, 0, 0, 0, 2}, {3, ASW_ST_FAILED, 0, 0, 0, 0, 2},
        {5, ASW_ST_DONE, 1, 1, 0, 0, 1}, {3, ASW_ST_DONE, 2, 0, 0, 1, 3},
    };
    char id[64], file[64];
    snprintf(id, sizeof id, "uid___A002_Xc_X%d", ops[i].unit);
    make_result(r, id, ops[i].status, (size_t)ops[i].images,
                ops[i].unit % 2 ? "J1924-2914" : "J2253+1608",
                ops[i].unit < 3 ? 97.5e9 : 343.5e9, 1.0 + i);
    r->attempts = ops[i].attempts;
    for (size_t k = 0; k < r->n_images; k++)
        r->images[k].mjd = 59000 + 2 * ops[i].unit;
    for (int k = 0; k < ops[i].seds; k++)
        add_sed(r, "J2253+1608", -0.1 * i);
    for (int k = 0; k < ops[i].lines; k++) {
        snprintf(file, sizeof file, "cube%d_%d.fits", i, k);
        add_line(r, file, i + k);
    }
    for (int k = 0; k < ops[i].spectra; k++) {
        snprintf(file, sizeof file, "cube%d_%d.fits", i, k);
        add_spectrum(r, file, (size_t)(3 + i + k), (double)i);
    }
}

/* A digest of a catalogue's content: every table but /runs, row order
 * and the volatile columns (updated_utc, run_id) ignored. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t digest(const char *p)
{
    uint64_t total = 1469598103934665603ull;
    size_t nch = 0;
    struct asw_cat_channel_row *ch = read_table(p, T_CHANNELS, &nch);
    for (int t = 0; t < T_COUNT; t++) {
        if (t == T_RUNS || t == T_CHANNELS)
            continue;
        const struct asw_schema *s = cat_tables[t];
        size_t n;
        char *rows = read_table(p, t, &n);
        uint64_t *h = calloc(n + 1, sizeof *h);
        for (size_t i = 0; i < n; i++) {
            const char *row = rows + i * s->rowsize;
            uint64_t x = 1469598103934665603ull;
            for (size_t c = 0; c < s->ncols; c++) {
                const struct asw_col *col = &s->cols[c];
                if (strcmp(col->name, "updated_utc") == 0 ||
                    strcmp(col->name, "run_id") == 0 ||
                    strcmp(col->name, "chan_offset") == 0)
                    continue;
                x = fnv(x, row + col->offset, col->size);
            }
            if (t == T_SPECTRA) {
                /* A spectrum is its channels, wherever they sit. */
                const struct asw_cat_spectrum_row *sp = (const void *)row;
                assert_true(sp->chan_offset + sp->n_chan <= (int64_t)nch);
                x = fnv(x, ch + sp->chan_offset,
                        (size_t)sp->n_chan * sizeof *ch);
            }
            h[i] = x;
        }
        qsort(h, n, sizeof *h, cmp_u64);
        total = fnv(total, &t, sizeof t);
        total = fnv(total, h, n * sizeof *h);
        free(h);
        free(rows);
    }
    total = fnv(total, &nch, sizeof nch);
    free(ch);
    return total;
}

static uint64_t expect[N_OPS + 1];

/* Digests of the catalogue after ops [0, p) for every p. */
static void reference_digests(void)
{
    static int done;
    if (done)
        return;
    const char *p = fresh("reference.h5");
    struct asw_cat *c = open_path(p, 60);
    struct asw_err err = {0};
    expect[0] = digest(p);
    for (int i = 0; i < N_OPS; i++) {
        struct asw_result r;
        script_op(i, &r);
        put(c, &r, NULL);
        assert_int_equal(asw_cat_checkpoint(c, &err), 0);
        expect[i + 1] = digest(p);
        assert_int_equal(verify(p), 0);
    }
    close_ok(c);
    for (int i = 0; i < N_OPS; i++)
        assert_true(expect[i] != expect[i + 1]);
    done = 1;
}

/* The index p of expect[] equal to d, or -1. */
static int which_prefix(uint64_t d)
{
    for (int p = 0; p <= N_OPS; p++)
        if (expect[p] == d)
            return p;
    return -1;
}

/*
 * Run the script in a child that is killed at crash point `point` the
 * k-th time it is reached; the child acknowledges each stored result on a
 * pipe. Returns the number of acknowledged results; *killed says whether
 * the child died by SIGKILL.
 */
static int counted_writes; /* from a child run with point "count" */

static int run_child(const char *p, const char *point, int k, int first,
                     double checkpoint_s, int *killed)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        char spec[96];
        if (strcmp(point, "write") == 0 || strcmp(point, "torn") == 0) {
            write_countdown = k;
            write_torn = point[0] == 't';
            point = "none";
        } else if (strcmp(point, "count") == 0) {
            write_count_only = 1;
            point = "none";
        }
        snprintf(spec, sizeof spec, "%s:%d", point, k);
        setenv("ASW_CAT_CRASH_AT", spec, 1);
        struct asw_cat *c = NULL;
        struct asw_err err = {0};
        if (asw_cat_open(p, 1, &c, &err))
            _exit(2);
        struct asw_cat_options o;
        asw_cat_options_default(&o);
        o.checkpoint_s = checkpoint_s;
        o.journal_fsync = 0;
        asw_cat_set_options(c, &o, &err);
        struct asw_cat_run_info info = {"x.ini", "[run]\n", "products", "n0",
                                        NULL,    1,         N_OPS};
        if (asw_cat_run_begin(c, &info, &err))
            _exit(3);
        for (int i = first; i < N_OPS; i++) {
            struct asw_result r;
            script_op(i, &r);
            if (asw_cat_put_result(c, &r, NULL, &err))
                _exit(4);
            asw_result_clear(&r);
            if (write(fd[1], &i, sizeof i) != sizeof i)
                _exit(5);
        }
        if (asw_cat_run_end(c, 0, NULL, &err) || asw_cat_close(c, &err))
            _exit(6);
        if (write_count_only) {
            int n = -(int)writes_seen; /* negative: a count, not an ack */
            if (write(fd[1], &n, sizeof n) != sizeof n)
                _exit(5);
        }
        _exit(0);
    }
    close(fd[1]);
    int i, acked = 0, status = 0;
    while (read(fd[0], &i, sizeof i) == sizeof i) {
        if (i < 0)
            counted_writes = -i;
        else
            acked++;
    }
    close(fd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (!*killed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fail_msg("child exited with status %d", status);
    return acked;
}

static void crash_at(const char *point, int k)
{
    if (getenv("ASW_CAT_VERBOSE"))
        fprintf(stderr, "crash at %s:%d\n", point, k);
    reference_digests();
    const char *p = fresh("crash.h5");
    int killed = 0;
    int acked = run_child(p, point, k, 0, 0, &killed);
    if (!killed)
        fail_msg("%s:%d was never reached", point, k);
    struct asw_err err = {0};
    if (!file_exists(p)) {
        /* Killed while creating it, before the rename: nothing was
         * acknowledged, and the next open creates it again. */
        assert_int_equal(acked, 0);
        assert_int_equal(asw_cat_recover(p, NULL, &err), ASW_ENOTFOUND);
        assert_int_equal(run_child(p, "none", 1, 0, 1e9, &killed), N_OPS);
        assert_true(digest(p) == expect[N_OPS]);
        return;
    }
    /* 1. The file itself, untouched since the kill, is a complete
     * catalogue holding a prefix of the results. */
    assert_int_equal(verify(p), 0);
    int raw = which_prefix(digest(p));
    if (raw < 0 || raw > acked + 1)
        fail_msg("%s:%d: file is not a prefix (got %d, acked %d)", point, k,
                 raw, acked);
    /* 2. After recovery it holds every acknowledged result, and at most
     * the one being stored when the process died. */
    size_t applied = 0;
    assert_int_equal(asw_cat_recover(p, &applied, &err), 0);
    assert_int_equal(verify(p), 0);
    int got = which_prefix(digest(p));
    if (got != acked && got != acked + 1)
        fail_msg("%s:%d: %d results acknowledged, catalogue holds %d", point, k,
                 acked, got);
    /* The run of the dead writer (if its start was stored) is marked
     * interrupted -- unless its end was stored before the kill. */
    size_t n;
    struct asw_cat_run_row *runs = read_table(p, T_RUNS, &n);
    assert_true(n <= 1);
    if (n && strcmp(runs[0].status, "finished") != 0) {
        assert_string_equal(runs[0].status, "interrupted");
        assert_string_equal(runs[0].end_utc, "");
    } else if (n) {
        assert_int_equal(got, N_OPS);
        assert_true(runs[0].end_utc[0] != '\0');
    }
    free(runs);
    /* 3. Resuming the rest gives the uninterrupted catalogue (one
     * checkpoint, at the end: the cheap way to get there). */
    int again = run_child(p, "none", 1, got, 1e9, &killed);
    assert_false(killed);
    assert_int_equal(again, N_OPS - got);
    assert_int_equal(verify(p), 0);
    assert_true(digest(p) == expect[N_OPS]);
}

static void test_crash_points(void **state)
{
    static const char *const points[] = {
        "open-scanned", "journal-torn", "journal-written", "put-acked",
        "ckpt-start",   "ckpt-copied",  "ckpt-compacted",  "ckpt-appended",
        "ckpt-closed",  "ckpt-synced",  "ckpt-renamed",    "ckpt-done"};
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        int ks[] = {1, 5, 11};
        for (int j = 0; j < 3; j += UNDER_SANITIZER ? 2 : 1) {
            if (strcmp(points[i], "open-scanned") == 0 && ks[j] > 1)
                continue; /* reached once per open */
            crash_at(points[i], ks[j]);
        }
    }
}

/*
 * Killed at the N-th write of any kind to any file (HDF5's included), for N
 * spread over the whole script, whole and torn: the same checks as at the
 * named points. This is what catches a design that lets HDF5 write to the
 * catalogue itself (its writes are buffered until a flush or close, between
 * the named points).
 */
static void test_crash_every_write(void **state)
{
    reference_digests();
    const char *p = fresh("writes.h5");
    int killed = 0;
    run_child(p, "count", 0, 0, 0, &killed);
    int total = counted_writes;
    assert_true(total > 100);
    const char *env = getenv("ASW_CAT_WRITE_KILLS");
    int kills = env ? atoi(env) : UNDER_SANITIZER ? 16 : 40;
    int step = total / kills > 0 ? total / kills : 1;
    /* Where in each stretch of `step` writes: varies between runs for
     * coverage; printed, and fixed by ASW_CAT_WRITE_OFFSET, to reproduce. */
    const char *fix = getenv("ASW_CAT_WRITE_OFFSET");
    int first = 1 + (fix ? atoi(fix) : (int)(time(NULL) % step)) % step;
    fprintf(stderr,
            "test_crash_every_write: %d writes, a kill every %d "
            "from the %d-th (ASW_CAT_WRITE_OFFSET=%d)\n",
            total, step, first, first - 1);
    for (int n = first; n <= total; n += step) {
        char point[16];
        snprintf(point, sizeof point, "%s", n % 2 ? "torn" : "write");
        crash_at(point, n);
    }
}

static void test_replay_after_kill(void **state)
{
    /* No checkpoint before the kill: everything is in the journal. */
    reference_digests();
    const char *p = fresh("replay.h5");
    int killed = 0;
    int acked = run_child(p, "put-acked", 8, 0, 1e9, &killed);
    assert_true(killed);
    assert_int_equal(acked, 7);
    assert_true(digest(p) == expect[0]); /* the file: only the empty one */
    assert_true(file_exists(at("replay.h5.journal")));
    /* Opening answers from file + journal before any checkpoint. */
    struct asw_cat *c = NULL;
    struct asw_err err = {0};
    assert_int_equal(asw_cat_open(p, 0, &c, &err), 0);
    enum asw_status st;
    int attempts;
    assert_int_equal(asw_cat_unit_status(c, "uid___A002_Xc_X4", &st, &attempts),
                     0);
    /* Seven results acknowledged, the 8th (op 7: unit 4 failed) written
     * before the kill: it counts too. */
    assert_int_equal(st, ASW_ST_FAILED);
    assert_int_equal(attempts, 1);
    close_ok(c);
    assert_true(digest(p) == expect[8]);
    assert_false(file_exists(at("replay.h5.journal")));
}

static int count_record(void *ud, const struct cat_rec_hdr *h, uint64_t off,
                        const void *payload)
{
    (*(size_t *)ud)++;
    return 0;
}

static void test_torn_journal(void **state)
{
    reference_digests();
    const char *p = fresh("torn.h5");
    int killed = 0;
    int acked = run_child(p, "journal-torn", 4, 0, 1e9, &killed);
    assert_true(killed);
    /* run_begin is the first record: results 1..2 acked, the 3rd torn. */
    assert_int_equal(acked, 2);
    /* Garbage after the torn record changes nothing. */
    FILE *f = fopen(at("torn.h5.journal"), "ab");
    fputs("\x41\x53\x57\x52garbage that is not a record", f);
    fclose(f);
    /* The journal layer: three intact records (the run's start and two
     * results), the tail cut off where they end. */
    struct cat_journal *j = NULL;
    struct asw_err err = {0};
    char id[CAT_ID_MAX];
    hid_t h = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_int_equal(cat_h5_get_str_attr(h, "catalogue_id", id, sizeof id), 0);
    H5Fclose(h);
    int stale = 1;
    assert_int_equal(cat_journal_open(at("torn.h5.journal"), &j, &err), 0);
    assert_int_equal(cat_journal_adopt(j, id, &stale, &err), 0);
    assert_int_equal(stale, 0);
    size_t records = 0;
    uint64_t torn = 0;
    assert_int_equal(cat_journal_scan(j, count_record, &records, &torn, &err),
                     0);
    assert_int_equal(records, 3);
    assert_true(torn > 40);
    uint64_t end = cat_journal_bytes(j);
    cat_journal_close(j, 0);
    struct stat st;
    assert_int_equal(stat(at("torn.h5.journal"), &st), 0);
    assert_true((uint64_t)st.st_size == end + 72);
    /* A flipped byte inside the last intact record: its CRC fails, the
     * scan ends before it. */
    int fd = open(at("torn.h5.journal"), O_RDWR);
    unsigned char byte;
    assert_int_equal(pread(fd, &byte, 1, (off_t)(end + 72 - 100)), 1);
    byte ^= 0x40;
    assert_int_equal(pwrite(fd, &byte, 1, (off_t)(end + 72 - 100)), 1);
    close(fd);
    /* The writer's open meets it: one result left, the rest cut (and
     * said so in the stats). */
    struct asw_cat *c = NULL;
    if (asw_cat_open(p, 0, &c, &err))
        fail_msg("open: %s", err.msg);
    assert_int_equal(count(c, "units"), 1);
    struct asw_cat_stats cs;
    assert_int_equal(asw_cat_get_stats(c, &cs), 0);
    assert_true(cs.torn_bytes > 100);
    assert_int_equal(cs.stale_journal, 0);
    close_ok(c);
    assert_true(digest(p) == expect[1]);
    assert_int_equal(verify(p), 0);
}

static void test_lock(void **state)
{
    const char *p = fresh("lock.h5");
    struct asw_cat *c = open_path(p, 60), *d = NULL;
    struct asw_err err = {0};
    assert_int_equal(asw_cat_open(p, 1, &d, &err), ASW_EIO);
    assert_null(d);
    assert_non_null(strstr(err.msg, "in use"));
    assert_int_equal(asw_cat_recover(p, NULL, &err), 1);
    /* Readers do not need the lock. */
    assert_int_equal(verify(p), 0);
    close_ok(c);
    assert_int_equal(asw_cat_open(p, 0, &d, &err), 0);
    close_ok(d);
}

static void test_foreign_journal(void **state)
{
    /* A journal whose catalogue was deleted is not replayed into a new
     * catalogue of the same name: it is kept aside. */
    reference_digests();
    const char *p = fresh("stale.h5");
    int killed = 0;
    run_child(p, "put-acked", 3, 0, 1e9, &killed);
    assert_true(killed);
    assert_int_equal(unlink(p), 0);
    struct asw_cat *c = open_path(p, 60);
    assert_int_equal(count(c, "units"), 0);
    struct asw_cat_stats cs;
    assert_int_equal(asw_cat_get_stats(c, &cs), 0);
    assert_int_equal(cs.stale_journal, 1);
    close_ok(c);
    DIR *d = opendir(dir);
    int found = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        found += strncmp(de->d_name, "stale.h5.journal.stale-", 23) == 0;
    closedir(d);
    assert_int_equal(found, 1);
    assert_true(digest(p) == expect[0]);
}

/* ---- runs ------------------------------------------------------------- */

static void test_runs(void **state)
{
    const char *p = fresh("runs.h5");
    struct asw_cat *c = open_path(p, 60);
    struct asw_err err = {0};
    struct asw_cat_run_info info = {
        "/etc/sweep.ini", "[run]\nresume = true\n", "products", "n0", "", 3, 5};
    assert_int_equal(asw_cat_run_begin(c, &info, &err), 0);
    assert_int_equal(asw_cat_run_begin(c, &info, &err), ASW_EINVAL);
    char run_id[64];
    snprintf(run_id, sizeof run_id, "%s", asw_cat_run_id(c));
    assert_true(strlen(run_id) > 16);
    struct asw_result r;
    make_result(&r, "uid___A_X8_X1", ASW_ST_DONE, 1, "J1", 97e9, 1);
    put(c, &r, NULL);
    assert_int_equal(asw_cat_run_host(c, "n1", &err), 0);
    assert_int_equal(asw_cat_run_host(c, "n1", &err), 0);
    assert_int_equal(asw_cat_run_host(c, "n0", &err), 0);
    struct asw_cat_run_tally t = {1, 0, 2, 0};
    assert_int_equal(asw_cat_run_end(c, 3, &t, &err), 0);
    assert_string_equal(asw_cat_run_id(c), "");
    close_ok(c);
    size_t n;
    struct asw_cat_run_row *runs = read_table(p, T_RUNS, &n);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].run_id, run_id);
    assert_string_equal(runs[0].status, "finished");
    assert_string_equal(runs[0].hosts, "n0,n1");
    assert_string_equal(runs[0].config, "[run]\nresume = true");
    assert_string_equal(runs[0].config_path, "/etc/sweep.ini");
    assert_string_equal(runs[0].mode, "products");
    assert_int_equal(runs[0].exit_code, 3);
    assert_int_equal(runs[0].ranks, 3);
    assert_int_equal(runs[0].units_planned, 5);
    assert_int_equal(runs[0].units_done, 1);
    assert_int_equal(runs[0].units_skipped, 2);
    assert_true(runs[0].end_utc[0] != '\0');
    free(runs);
    struct asw_cat_unit_row *u = read_table(p, T_UNITS, &n);
    assert_string_equal(u[0].run_id, run_id);
    free(u);
    assert_int_equal(verify(p), 0);
}

/* ---- /sources --------------------------------------------------------- */

static void image_at(struct asw_result *r, const char *src, double freq,
                     double mjd, double flux, double err)
{
    struct asw_image img;
    asw_image_init(&img);
    snprintf(img.file, sizeof img.file, "f%zu_%.0f.fits", r->n_images, mjd);
    snprintf(img.source, sizeof img.source, "%s", src);
    img.freq_hz = freq;
    img.mjd = mjd;
    img.flux_jy = flux;
    img.peak_jy = flux * 0.9;
    img.flux_tot_err_jy = err;
    assert_int_equal(asw_result_add_image(r, &img), 0);
}

static void done_result(struct asw_result *r, const char *id)
{
    memset(r, 0, sizeof *r);
    snprintf(r->unit_id, sizeof r->unit_id, "%s", id);
    r->status = ASW_ST_DONE;
    r->attempts = 1;
}

static void test_sources(void **state)
{
    const double b3 = 97.5e9, b7 = 343.5e9;
    const char *p = fresh("sources.h5");
    struct asw_cat *c = open_path(p, 60);
    struct asw_result r;
    struct asw_err err = {0};
    done_result(&r, "uid___A_X9_XA"); /* B3, 2 images: median 1.1 */
    image_at(&r, "J1", b3, 59000, 1.0, 0.05);
    image_at(&r, "J1", b3 + 2e9, 59000, 1.2, 0.05);
    /* Not usable: an error, and a source not found. */
    image_at(&r, "J1", b3, 59000, 50, 1);
    snprintf(r.images[2].error, sizeof r.images[2].error, "fit failed");
    image_at(&r, "J1", b3, 59000, 60, 1);
    r.images[3].qa_flags = ASW_QA_NOT_FOUND;
    put(c, &r, NULL);
    done_result(&r, "uid___A_X9_XB"); /* B7, 3 days later */
    image_at(&r, "J1", b7, 59003, 0.5, 0.05);
    put(c, &r, NULL);
    done_result(&r, "uid___A_X9_XC");        /* B3 again, 100 days later */
    image_at(&r, "J1", b3, 59100, 2.0, NAN); /* error: 5% of the flux */
    put(c, &r, NULL);
    done_result(&r, "uid___A_X9_XD"); /* B7 20 days after C */
    image_at(&r, "J1", b7, 59120, 0.8, 0.08);
    r.images[0].flux_jy = NAN; /* peak used: 0.72 */
    put(c, &r, NULL);
    close_ok(c);
    assert_int_equal(verify(p), 0);

    size_t n;
    struct asw_cat_source_row *s = read_table(p, T_SOURCES, &n);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].source, "J1");
    assert_int_equal(s[0].band, 3);
    assert_int_equal(s[0].n_images, 3);
    assert_int_equal(s[0].n_epochs, 2);
    assert_true(s[0].first_mjd == 59000 && s[0].last_mjd == 59100);
    assert_true(s[0].flux_median_jy == 1.2);
    assert_true(s[0].flux_min_jy == 1.0 && s[0].flux_max_jy == 2.0);
    /* One pair within 14 days: A (1.1 Jy at 98.5 GHz) and B. */
    assert_int_equal(s[0].pair_band, 7);
    assert_int_equal(s[0].n_pairs, 1);
    double lever = log(b7 / (b3 + 1e9));
    double alpha = log(0.5 / 1.1) / lever;
    double aerr = sqrt(pow(0.05 / 1.1, 2) + pow(0.05 / 0.5, 2)) / lever;
    assert_true(fabs(s[0].alpha - alpha) < 1e-12);
    assert_true(fabs(s[0].alpha_err - aerr) < 1e-12);
    assert_true(s[0].alpha_last == s[0].alpha);
    assert_true(s[0].alpha_last_mjd == 59001.5);
    assert_true(s[0].alpha_last_dt_days == 3);
    assert_int_equal(s[1].band, 7);
    assert_int_equal(s[1].pair_band, -1);
    assert_true(isnan(s[1].alpha));
    assert_true(s[1].flux_min_jy == 0.5);
    assert_true(fabs(s[1].flux_max_jy - 0.72) < 1e-12);
    free(s);

    /* A wider window pairs C and D too (set_options re-derives). */
    c = open_path(p, 60);
    struct asw_cat_options o;
    asw_cat_options_default(&o);
    o.pair_days = 30;
    assert_int_equal(asw_cat_set_options(c, &o, &err), 0);
    close_ok(c);
    assert_int_equal(verify(p), 0);
    s = read_table(p, T_SOURCES, &n);
    assert_int_equal(s[0].n_pairs, 2);
    double a2 = log(0.72 / 2.0) / log(b7 / b3);
    double e2 = sqrt(pow(0.05, 2) + pow(0.08 / 0.72, 2)) / log(b7 / b3);
    double w1 = 1 / (aerr * aerr), w2 = 1 / (e2 * e2);
    assert_true(fabs(s[0].alpha - (w1 * alpha + w2 * a2) / (w1 + w2)) < 1e-12);
    assert_true(fabs(s[0].alpha_last - a2) < 1e-12);
    assert_true(s[0].alpha_last_mjd == 59110);
    free(s);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(asw_cat_summary(p, out, &err), 0);
    fclose(out);
    if (getenv("ASW_CAT_VERBOSE"))
        fputs(text, stderr);
    assert_non_null(strstr(text, "units: 4 (done 4)\n"));
    assert_non_null(strstr(text, "rows: images 7,"));
    assert_non_null(strstr(text, "2020-05-31 2020-09-08"));
    assert_non_null(strstr(text, "(to B7, 2 pairs)"));
    free(text);
}

/* ---- verify finds planted faults --------------------------------------- */

static const char *small_catalogue(const char *name)
{
    const char *p = fresh(name);
    struct asw_cat *c = open_path(p, 60);
    struct asw_result r;
    make_result(&r, "uid___A_XA_X1", ASW_ST_DONE, 3, "J1", 97e9, 1);
    add_sed(&r, "J1", -0.5);
    put(c, &r, NULL);
    make_result(&r, "uid___A_XA_X2", ASW_ST_DONE, 2, "J1", 343e9, 1);
    add_spectrum(&r, "c.fits", 4, 1);
    put(c, &r, NULL);
    make_result(&r, "uid___A_XA_X3", ASW_ST_FAILED, 0, "", 0, 0);
    put(c, &r, NULL);
    close_ok(c);
    assert_int_equal(verify(p), 0);
    return p;
}

/* Overwrite `count` rows of table t at row `at` with rows. */
static void write_rows(const char *p, int t, hsize_t row, const void *rows,
                       hsize_t n, int append)
{
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, cat_tables[t]->name, H5P_DEFAULT);
    hid_t mt = cat_h5_type(cat_tables[t], 0);
    hsize_t len = 0;
    assert_int_equal(cat_h5_rows(ds, &len), 0);
    if (append)
        assert_int_equal(cat_h5_append(ds, mt, &len, rows, n), 0);
    else
        assert_int_equal(cat_h5_rows_io(ds, mt, row, n, (void *)rows, 1), 0);
    H5Tclose(mt);
    H5Dclose(ds);
    H5Fclose(f);
}

/* verify's report on p, which must hold a problem mentioning want. */
static void expect_problem(const char *p, const char *want)
{
    struct asw_err err = {0};
    char *text = NULL;
    size_t len = 0, problems = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(asw_cat_verify(p, out, &problems, &err), 0);
    fclose(out);
    if (!problems || !strstr(text, want))
        fail_msg("verify %s: want a problem with '%s', got:\n%s", p, want,
                 text);
    free(text);
}

static void test_verify_finds_faults(void **state)
{
    size_t n;
    /* A duplicated /images row. */
    const char *p = small_catalogue("bad1.h5");
    struct asw_image *im = read_table(p, T_IMAGES, &n);
    write_rows(p, T_IMAGES, 0, &im[0], 1, 1);
    free(im);
    expect_problem(p, "duplicates");
    expect_problem(p, "n_images 3 but 4 /images rows");

    /* A row of a unit that is not done. */
    p = small_catalogue("bad2.h5");
    im = read_table(p, T_IMAGES, &n);
    snprintf(im[0].unit_id, sizeof im[0].unit_id, "uid___A_XA_X3");
    write_rows(p, T_IMAGES, 0, &im[0], 1, 0);
    free(im);
    expect_problem(p, "unit uid___A_XA_X3 is failed, not done");

    /* A row of a unit that does not exist. */
    p = small_catalogue("bad3.h5");
    struct asw_sed *sd = read_table(p, T_SEDS, &n);
    snprintf(sd[0].unit_id, sizeof sd[0].unit_id, "uid___nobody");
    write_rows(p, T_SEDS, 0, &sd[0], 1, 0);
    free(sd);
    expect_problem(p, "unit uid___nobody not in /units");

    /* /sources that /images does not give. */
    p = small_catalogue("bad4.h5");
    struct asw_cat_source_row *so = read_table(p, T_SOURCES, &n);
    assert_true(n > 0);
    so[0].flux_max_jy *= 2;
    write_rows(p, T_SOURCES, 0, &so[0], 1, 0);
    free(so);
    expect_problem(p, "flux_max_jy differs from /images");

    /* A missing unit attribute. */
    p = small_catalogue("bad5.h5");
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "images", H5P_DEFAULT);
    assert_true(H5Adelete(ds, "peak_jy_unit") >= 0);
    H5Dclose(ds);
    H5Fclose(f);
    expect_problem(p, "attribute peak_jy_unit missing");

    /* Spectra offsets that do not cover the channels. */
    p = small_catalogue("bad6.h5");
    struct asw_cat_channel_row ch = {.freq_hz = 1, .flux_jy = 2};
    write_rows(p, T_CHANNELS, 0, &ch, 1, 1);
    expect_problem(p, "/spectra covers 4 channels, /spectra_channels has 5");

    /* A unit twice. */
    p = small_catalogue("bad7.h5");
    struct asw_cat_unit_row *u = read_table(p, T_UNITS, &n);
    write_rows(p, T_UNITS, 0, &u[2], 1, 1);
    free(u);
    expect_problem(p, "unit uid___A_XA_X3 twice");
}

/* ---- export ------------------------------------------------------------ */

static void test_export(void **state)
{
    const char *p = fresh("export.h5");
    struct asw_cat *c = open_path(p, 60);
    struct asw_result r;
    struct asw_err err = {0};
    make_result(&r, "uid___A_XB_X1", ASW_ST_DONE, 3, "J1924-2914", 97.5e9, 0.1);
    snprintf(r.images[1].source, sizeof r.images[1].source, "A&B, \"q\" <x>");
    r.images[2].peak_jy = 1.0 / 3.0;
    put(c, &r, NULL);
    close_ok(c);

    /* CSV. */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(asw_cat_export(p, "images", ASW_CAT_CSV, out, &err), 0);
    fclose(out);
    assert_int_equal(strncmp(text, "unit_id,file,source,intent,spw,", 31), 0);
    assert_non_null(strstr(text, ",\"A&B, \"\"q\"\" <x>\",ph,1,mfs,"));
    assert_non_null(strstr(text, ",0.33333333333333331,"));
    /* NaN is an empty field: rms_theory_jy follows rms_jy (0.001). */
    assert_non_null(strstr(text, ",0.001,,"));
    free(text);
    assert_int_equal(asw_cat_export(p, "nope", ASW_CAT_CSV, stdout, &err),
                     ASW_EINVAL);

    /* VOTable, read back by our own parser: every cell as written. */
    const char *vp = at("export.vot");
    out = fopen(vp, "w");
    assert_int_equal(asw_cat_export(p, "images", ASW_CAT_VOTABLE, out, &err),
                     0);
    fclose(out);
    struct asw_vot_table *t = NULL;
    assert_int_equal(asw_vot_parse_file(vp, &t, &err), 0);
    const struct asw_schema *s = cat_tables[T_IMAGES];
    assert_int_equal(t->nfields, s->ncols);
    assert_int_equal(t->nrows, 3);
    int peak = asw_vot_field_index(t, "peak_jy");
    assert_string_equal(t->fields[peak].unit, "Jy/beam");
    assert_string_equal(t->fields[peak].ucd, "phot.flux.density;stat.max");
    assert_string_equal(t->fields[peak].datatype, "double");
    size_t nrows;
    struct asw_image *rows = read_table(p, T_IMAGES, &nrows);
    for (size_t i = 0; i < t->nrows; i++) {
        const char *row = (const char *)&rows[i];
        for (size_t k = 0; k < s->ncols; k++) {
            const struct asw_col *col = &s->cols[k];
            const char *cell = asw_vot_cell(t, i, k);
            const char *v = row + col->offset;
            if (col->type == ASW_COL_STR) {
                assert_string_equal(cell ? cell : "", v);
            } else if (col->type == ASW_COL_I32) {
                assert_non_null(cell);
                assert_int_equal(strtol(cell, NULL, 10), *(const int32_t *)v);
            } else if (col->type == ASW_COL_F64) {
                double d = *(const double *)v;
                if (isnan(d))
                    assert_null(cell);
                else
                    assert_true(cell && strtod(cell, NULL) == d);
            }
        }
    }
    free(rows);
    asw_vot_table_free(t);
}

/* ---- merge -------------------------------------------------------------- */

static void set_updated(const char *p, size_t row, const char *utc)
{
    size_t n;
    struct asw_cat_unit_row *u = read_table(p, T_UNITS, &n);
    assert_true(row < n);
    snprintf(u[row].updated_utc, sizeof u[row].updated_utc, "%s", utc);
    write_rows(p, T_UNITS, row, &u[row], 1, 0);
    free(u);
}

static void test_merge(void **state)
{
    const char *a = fresh("merge_a.h5");
    struct asw_cat *c = open_path(a, 60);
    struct asw_result r;
    struct asw_err err = {0};
    struct asw_cat_run_info info = {NULL, NULL, "products", "na", NULL, 1, 4};
    assert_int_equal(asw_cat_run_begin(c, &info, &err), 0);
    make_result(&r, "uid___M_X1", ASW_ST_DONE, 2, "J1", 97e9, 1);
    put(c, &r, NULL);
    make_result(&r, "uid___M_X2", ASW_ST_FAILED, 0, "", 0, 0);
    put(c, &r, NULL);
    make_result(&r, "uid___M_X4", ASW_ST_DONE, 1, "J4", 97e9, 1);
    put(c, &r, NULL);
    assert_int_equal(asw_cat_run_end(c, 3, NULL, &err), 0);
    close_ok(c);
    set_updated(a, 2, "2020-01-01T00:00:00Z");

    const char *b = fresh("merge_b.h5");
    c = open_path(b, 60);
    info.host = "nb";
    assert_int_equal(asw_cat_run_begin(c, &info, &err), 0);
    make_result(&r, "uid___M_X1", ASW_ST_FAILED, 0, "", 0, 0);
    put(c, &r, NULL);
    make_result(&r, "uid___M_X2", ASW_ST_DONE, 3, "J2", 343e9, 1);
    add_spectrum(&r, "m.fits", 6, 4);
    put(c, &r, NULL);
    make_result(&r, "uid___M_X3", ASW_ST_DONE, 1, "J3", 230e9, 1);
    put(c, &r, NULL);
    make_result(&r, "uid___M_X4", ASW_ST_DONE, 2, "J4", 97e9, 7);
    put(c, &r, NULL);
    assert_int_equal(asw_cat_run_end(c, 0, NULL, &err), 0);
    close_ok(c);
    set_updated(b, 3, "2030-01-01T00:00:00Z");

    const char *m = fresh("merge_m.h5");
    const char *in[] = {a, b};
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(asw_cat_merge(m, in, 2, out, &err), 0);
    fclose(out);
    assert_non_null(strstr(text, "merge_a.h5: 3 of 3 units taken"));
    /* From b: X2 (done beats failed), X3 (new), X4 (newer); not X1. */
    assert_non_null(strstr(text, "merge_b.h5: 3 of 4 units taken"));
    free(text);
    assert_int_equal(verify(m), 0);
    size_t n;
    struct asw_cat_unit_row *u = read_table(m, T_UNITS, &n);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(u[i].status, "done");
        if (strcmp(u[i].id, "uid___M_X4") == 0) {
            assert_int_equal(u[i].n_images, 2);
            assert_string_equal(u[i].updated_utc, "2030-01-01T00:00:00Z");
        }
        if (strcmp(u[i].id, "uid___M_X1") == 0)
            assert_int_equal(u[i].n_images, 2);
    }
    free(u);
    struct asw_cat_run_row *runs = read_table(m, T_RUNS, &n);
    assert_int_equal(n, 2);
    free(runs);
    struct asw_image *im = read_table(m, T_IMAGES, &n);
    assert_int_equal(n, 2 + 3 + 1 + 2);
    size_t x4 = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(im[i].unit_id, "uid___M_X4") == 0)
            x4 += im[i].peak_jy >= 7;
    assert_int_equal(x4, 2);
    free(im);
    struct asw_cat_channel_row *ch = read_table(m, T_CHANNELS, &n);
    assert_int_equal(n, 6);
    assert_true(ch[5].flux_jy == 9);
    free(ch);
    /* Merging again changes nothing (ties keep what is there). */
    uint64_t d = digest(m);
    assert_int_equal(asw_cat_merge(m, in, 2, NULL, &err), 0);
    assert_true(digest(m) == d);
    assert_int_equal(asw_cat_merge(m, &m, 1, NULL, &err), ASW_EINVAL);
}

/* ---- list ---------------------------------------------------------------- */

static void test_list(void **state)
{
    const char *p = fresh("list.h5");
    struct asw_cat *c = open_path(p, 60);
    struct asw_result r;
    struct asw_err err = {0};
    done_result(&r, "uid___L_X1");
    image_at(&r, "J1924-2914", 97.5e9, 59000, 1, 0.1);
    image_at(&r, "J1924-2914", 343.5e9, 59100, 1, 0.1);
    image_at(&r, "J2253+1608", 97.5e9, 59200, 1, 0.1);
    put(c, &r, NULL);
    close_ok(c);
    struct {
        struct asw_cat_filter f;
        size_t want;
    } cases[] = {
        {{NULL, 0, NAN, 0}, 3},     {{"J1924-2914", 0, NAN, 0}, 2},
        {{"j19*", 0, NAN, 0}, 2},   {{NULL, 3, NAN, 0}, 2},
        {{"J1924*", 7, NAN, 0}, 1}, {{NULL, 0, 59100, 0}, 2},
        {{NULL, 0, NAN, 1}, 1},     {{"nothing", 0, NAN, 0}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = NULL;
        size_t len = 0, shown = 99;
        FILE *out = open_memstream(&text, &len);
        assert_int_equal(asw_cat_list(p, &cases[i].f, out, &shown, &err), 0);
        fclose(out);
        if (shown != cases[i].want)
            fail_msg("case %zu: %zu rows, want %zu:\n%s", i, shown,
                     cases[i].want, text);
        size_t lines = 0;
        for (char *q = text; *q; q++)
            lines += *q == '\n';
        assert_int_equal(lines, shown + 1);
        free(text);
    }
}

/* ---- many units, reopen ---------------------------------------------------
 */

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
    close_ok(c);

    const char *path = at("many.h5");
    c = NULL;
    assert_int_equal(asw_cat_open(path, 0, &c, &err), 0);
    /* Redo one near the end of the first read block after reopening. */
    make_result(&r, "uid___A002_X9_X1f4", ASW_ST_DONE, 3, "J2253+1608", 230e9,
                -2);
    put(c, &r, NULL);
    assert_int_equal(count(c, "images"), UNITS * PER - 2 * PER + 5);
    close_ok(c);
    assert_int_equal(verify(path), 0);

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
    /* Units in the order they were first stored; survivors keep theirs. */
    assert_string_equal(rows[5 * PER - 1].unit_id, "uid___A002_X9_X4");
    assert_string_equal(rows[5 * PER].unit_id, "uid___A002_X9_X5");
    assert_string_equal(rows[5 * PER + 2].unit_id, "uid___A002_X9_X6");
    assert_string_equal(rows[n - 1].unit_id, "uid___A002_X9_X1f4");
    free(rows);
}

/* ---- the file as other tools see it ----------------------------------------
 */

static void test_column_attrs(void **state)
{
    const char *path = small_catalogue("attrs.h5");
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

    int64_t version = 0, seq = -1;
    assert_int_equal(cat_h5_get_int_attr(f, "schema_version", &version), 0);
    assert_int_equal(version, ASW_CAT_SCHEMA_VERSION);
    assert_int_equal(cat_h5_get_int_attr(f, "journal_seq", &seq), 0);
    assert_true(seq > 0);
    char id[64];
    assert_int_equal(cat_h5_get_str_attr(f, "catalogue_id", id, sizeof id), 0);
    assert_int_equal(strlen(id), 32);
    H5Fclose(f);
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
    static char doc[1 << 18];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    doc[len] = '\0';
    fclose(f);

    const char *path = small_catalogue("docs.h5");
    hid_t h = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    for (int i = 0; i < T_COUNT; i++) {
        /* Every table has its section, every column its row in it. */
        char head[96];
        snprintf(head, sizeof head, "\n## /%s", cat_tables[i]->name);
        const char *sec = strstr(doc, head);
        if (!sec)
            fail_msg("docs/catalogue.md: no section '## /%s'",
                     cat_tables[i]->name);
        const char *end = strstr(sec + 1, "\n## ");
        hid_t ds = H5Dopen2(h, cat_tables[i]->name, H5P_DEFAULT);
        hid_t t = H5Dget_type(ds);
        int nm = H5Tget_nmembers(t);
        for (int k = 0; k < nm; k++) {
            char *name = H5Tget_member_name(t, (unsigned)k);
            char want[128];
            snprintf(want, sizeof want, "| `%s` |", name);
            const char *hit = strstr(sec, want);
            if (!hit || (end && hit > end))
                fail_msg("docs/catalogue.md: /%s column %s undocumented",
                         cat_tables[i]->name, name);
            /* The unit in the docs is the unit in the file. */
            const struct asw_col *col = cat_find_col(cat_tables[i], name);
            const char *q = hit + strlen(want);
            q = strchr(q, '|') + 1; /* after the type cell */
            while (*q == ' ')
                q++;
            size_t ul = strcspn(q, " |");
            if (strlen(col->unit) != ul || strncmp(q, col->unit, ul) != 0)
                fail_msg("docs/catalogue.md: /%s.%s unit '%.*s', file '%s'",
                         cat_tables[i]->name, name, (int)ul, q, col->unit);
            H5free_memory(name);
        }
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
        cmocka_unit_test(test_failed_rows_dropped),
        cmocka_unit_test(test_reject_foreign_rows),
        cmocka_unit_test(test_band_and_dates),
        cmocka_unit_test(test_all_tables),
        cmocka_unit_test(test_crash_points),
        cmocka_unit_test(test_crash_every_write),
        cmocka_unit_test(test_replay_after_kill),
        cmocka_unit_test(test_torn_journal),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_foreign_journal),
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_verify_finds_faults),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_many_units),
        cmocka_unit_test(test_column_attrs),
        cmocka_unit_test(test_docs_cover_columns),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
