/*
 * test_untar.c - asw_untar on tars built here with libarchive's writer:
 * a normal ALMA product layout, hostile entries ("..", absolute paths,
 * escaping symlinks and hard links, a fifo), the filter and the caps; the
 * layout classifier, removal of a failed extraction's entries, and
 * extraction from a streamed source.
 *
 * Each test works in a fresh directory T holding the tar and the unit
 * directory T/unit; "nothing written outside" is checked by listing T.
 */
/* nftw() is XSI. */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/untar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testdir.h"

struct fx {
    char root[256];
    char unit[300];
    char tar[300];
    struct archive *w;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_int_equal(asw_testdir_make(f->root, sizeof f->root, "asw_untar"), 0);
    snprintf(f->unit, sizeof f->unit, "%s/unit", f->root);
    snprintf(f->tar, sizeof f->tar, "%s/t.tar", f->root);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    asw_testdir_remove(f->root);
    free(f);
    return 0;
}

static void tar_open(struct fx *f, int gzip)
{
    f->w = archive_write_new();
    assert_non_null(f->w);
    assert_int_equal(archive_write_set_format_pax_restricted(f->w), ARCHIVE_OK);
    if (gzip)
        assert_int_equal(archive_write_add_filter_gzip(f->w), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(f->w, f->tar), ARCHIVE_OK);
}

static void tar_close(struct fx *f)
{
    assert_int_equal(archive_write_close(f->w), ARCHIVE_OK);
    archive_write_free(f->w);
    f->w = NULL;
}

/* type: AE_IFREG (data), AE_IFDIR, AE_IFLNK (link = target), AE_IFIFO;
 * hard != 0 makes a hard link to link. */
static void add(struct fx *f, const char *path, unsigned type, const char *data,
                const char *link, int hard, unsigned perm)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm ? perm : (type == AE_IFDIR ? 0755 : 0644));
    archive_entry_set_mtime(e, 1500000000, 0);
    size_t len = data ? strlen(data) : 0;
    archive_entry_set_size(e, (la_int64_t)len);
    if (link && hard)
        archive_entry_set_hardlink(e, link);
    else if (link)
        archive_entry_set_symlink(e, link);
    assert_int_equal(archive_write_header(f->w, e), ARCHIVE_OK);
    if (len)
        assert_int_equal(archive_write_data(f->w, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

static void add_file(struct fx *f, const char *path, const char *data)
{
    add(f, path, AE_IFREG, data, NULL, 0, 0);
}

static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static int exists(const char *dir, const char *rel)
{
    char p[1024];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return lstat(p, &sb) == 0;
}

/* T must hold exactly the tar and the unit directory. */
static void assert_root_clean(struct fx *f)
{
    DIR *d = opendir(f->root);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (strcmp(de->d_name, "unit") && strcmp(de->d_name, "t.tar"))
            fail_msg("unexpected %s/%s", f->root, de->d_name);
        n++;
    }
    closedir(d);
    assert_in_range(n, 1, 2);
}

#define MOUS                                                                   \
    "2017.1.01185.S/science_goal.uid___A001_X1284_X265c/"                      \
    "group.uid___A001_X1284_X265d/member.uid___A001_X1284_X265e"
#define FITS                                                                   \
    MOUS "/product/"                                                           \
         "uid___A001_X1284_X265e.J1924-2914_bp.spw16.mfs.I.pbcor.fits"
#define PB                                                                     \
    MOUS "/product/"                                                           \
         "uid___A001_X1284_X265e.J1924-2914_bp.spw16.mfs.I.pb.fits.gz"
#define FLUX   MOUS "/calibration/flux.csv"
#define SCRIPT MOUS "/script/scriptForPI.py"
#define README MOUS "/README"

static void write_alma_tar(struct fx *f, int gzip)
{
    tar_open(f, gzip);
    add(f, "2017.1.01185.S/", AE_IFDIR, NULL, NULL, 0, 0);
    add(f, MOUS "/", AE_IFDIR, NULL, NULL, 0, 0700);
    add(f, MOUS "/product/", AE_IFDIR, NULL, NULL, 0, 0);
    add_file(f, FITS, "SIMPLE  =                    T");
    add_file(f, PB, "\x1f\x8b pb");
    add(f, MOUS "/calibration/", AE_IFDIR, NULL, NULL, 0, 0);
    add_file(f, FLUX, "field,spw,freq,flux\nJ1924-2914,16,9.1e10,3.2\n");
    add(f, SCRIPT, AE_IFREG, "print('hi')\n", NULL, 0, 0700);
    add_file(f, README, "readme");
    tar_close(f);
}

static void test_alma_layout(void **state, int gzip)
{
    struct fx *f = *state;
    write_alma_tar(f, gzip);
    struct asw_untar_stats st;
    struct asw_err err = {0};
    int rc = asw_untar(f->tar, f->unit, NULL, &st, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(st.entries, 9);
    assert_int_equal(st.entries_skipped, 0);
    size_t want = strlen("SIMPLE  =                    T") +
                  strlen("\x1f\x8b pb") +
                  strlen("field,spw,freq,flux\nJ1924-2914,16,9.1e10,3.2\n") +
                  strlen("print('hi')\n") + strlen("readme");
    assert_int_equal(st.bytes, want);
    assert_int_equal(st.files_by_area[ASW_ALMA_PRODUCT], 2);
    assert_int_equal(st.files_by_area[ASW_ALMA_CALIBRATION], 1);
    assert_int_equal(st.files_by_area[ASW_ALMA_SCRIPT], 1);
    assert_int_equal(st.files_by_area[ASW_ALMA_MEMBER], 1);
    assert_int_equal(st.files_by_area[ASW_ALMA_NONE], 0);

    char p[1024];
    snprintf(p, sizeof p, "%s/%s", f->unit, FLUX);
    assert_string_equal(read_all(p),
                        "field,spw,freq,flux\nJ1924-2914,16,9.1e10,3.2\n");
    snprintf(p, sizeof p, "%s/%s", f->unit, FITS);
    assert_string_equal(read_all(p), "SIMPLE  =                    T");
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", f->unit, SCRIPT);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0755); /* normalised from 0700 */
    assert_int_equal(sb.st_mtime, 1500000000);
    snprintf(p, sizeof p, "%s/%s", f->unit, README);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);
    assert_root_clean(f);
}

static void test_alma_tar(void **state)
{
    test_alma_layout(state, 0);
}

static void test_alma_tgz(void **state)
{
    test_alma_layout(state, 1);
}

/* A rejected entry: rc, the entry named, ok.txt before it extracted. */
static void expect_refused(struct fx *f, int code, const char *name)
{
    char before[4096], after[4096];
    assert_non_null(getcwd(before, sizeof before));
    struct asw_untar_stats st;
    struct asw_err err = {0};
    int rc = asw_untar(f->tar, f->unit, NULL, &st, &err);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.module, "untar");
    if (!strstr(err.msg, name))
        fail_msg("message \"%s\" does not name \"%s\"", err.msg, name);
    assert_true(exists(f->unit, "ok.txt"));
    assert_int_equal(st.entries, 1);
    assert_root_clean(f);
    assert_non_null(getcwd(after, sizeof after));
    assert_string_equal(before, after);
}

static void test_dotdot(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add_file(f, "sub/../../x", "escaped");
    add_file(f, "after.txt", "never");
    tar_close(f);
    expect_refused(f, ASW_EARCHIVE, "sub/../../x");
    assert_false(exists(f->unit, "after.txt"));
}

static void test_absolute(void **state)
{
    struct fx *f = *state;
    char abs[512];
    snprintf(abs, sizeof abs, "%s/abs_x", f->root);
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add_file(f, abs, "escaped");
    tar_close(f);
    expect_refused(f, ASW_EARCHIVE, abs);
}

static void test_symlink_out_then_file(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add(f, "evil", AE_IFLNK, NULL, "..", 0, 0777);
    add_file(f, "evil/pwned", "escaped");
    tar_close(f);
    expect_refused(f, ASW_EARCHIVE, "\"evil\"");
    assert_false(exists(f->unit, "evil"));
}

static void test_symlink_absolute(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add(f, "evil", AE_IFLNK, NULL, f->root, 0, 0777);
    add_file(f, "evil/pwned", "escaped");
    tar_close(f);
    expect_refused(f, ASW_EARCHIVE, "evil");
}

/* "x -> d/.." looks inside, but becomes "./.." once "d -> ." exists. */
static void test_symlink_dotdot_after_name(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add(f, "x", AE_IFLNK, NULL, "d/..", 0, 0777);
    add(f, "d", AE_IFLNK, NULL, ".", 0, 0777);
    tar_close(f);
    expect_refused(f, ASW_EARCHIVE, "\"x\"");
}

static void test_symlink_climbs_too_far(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add(f, "a/b/s", AE_IFLNK, NULL, "../../../x", 0, 0777);
    tar_close(f);
    expect_refused(f, ASW_EARCHIVE, "a/b/s");
}

/* Links that stay inside are extracted; a file through one is not. */
static void test_symlink_inside(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add_file(f, "product/img.fits", "img");
    add(f, "latest", AE_IFLNK, NULL, "product", 0, 0777);
    add(f, "a/b/up", AE_IFLNK, NULL, "../../product/img.fits", 0, 0777);
    add_file(f, "latest/through.fits", "through a link");
    tar_close(f);

    struct asw_untar_stats st;
    struct asw_err err = {0};
    int rc = asw_untar(f->tar, f->unit, NULL, &st, &err);
    assert_int_equal(rc, ASW_EARCHIVE);
    assert_non_null(strstr(err.msg, "latest/through.fits"));
    assert_non_null(strstr(err.msg, "symlink"));
    assert_int_equal(st.entries, 4);
    char p[1024], t[256];
    snprintf(p, sizeof p, "%s/latest", f->unit);
    ssize_t n = readlink(p, t, sizeof t - 1);
    assert_int_equal(n, strlen("product"));
    t[n] = '\0';
    assert_string_equal(t, "product");
    snprintf(p, sizeof p, "%s/a/b/up", f->unit);
    assert_string_equal(read_all(p), "img"); /* resolves inside */
    assert_false(exists(f->unit, "product/through.fits"));
    assert_root_clean(f);
}

static void test_hardlink_out(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add(f, "h", AE_IFREG, NULL, "../t.tar", 1, 0);
    tar_close(f);
    expect_refused(f, ASW_EARCHIVE, "\"h\"");
    assert_false(exists(f->unit, "h"));
}

/* A hard link to a symlink would move "../x" to a shallower place. */
static void test_hardlink_to_symlink(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add(f, "a/s", AE_IFLNK, NULL, "../ok.txt", 0, 0777);
    add(f, "h", AE_IFREG, NULL, "a/s", 1, 0);
    tar_close(f);
    struct asw_untar_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_untar(f->tar, f->unit, NULL, &st, &err), ASW_EARCHIVE);
    assert_non_null(strstr(err.msg, "\"h\""));
    assert_int_equal(st.entries, 2);
    assert_false(exists(f->unit, "h"));
}

static void test_fifo(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add(f, "pipe", AE_IFIFO, NULL, NULL, 0, 0);
    tar_close(f);
    expect_refused(f, ASW_EARCHIVE, "pipe");
    assert_false(exists(f->unit, "pipe"));
}

static int only_fits_and_flux(void *user, const char *path)
{
    int *calls = user;
    (*calls)++;
    size_t n = strlen(path);
    return (n >= 5 && !strcmp(path + n - 5, ".fits")) ||
           (n >= 8 && !strcmp(path + n - 8, "flux.csv"));
}

static void test_filter(void **state)
{
    struct fx *f = *state;
    write_alma_tar(f, 0);
    int calls = 0;
    struct asw_untar_limits lim;
    asw_untar_limits_init(&lim);
    lim.filter = only_fits_and_flux;
    lim.filter_user = &calls;
    struct asw_untar_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_untar(f->tar, f->unit, &lim, &st, &err), 0);
    assert_int_equal(calls, 9);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.entries_skipped, 7);
    assert_true(exists(f->unit, FITS));
    assert_true(exists(f->unit, FLUX));
    assert_false(exists(f->unit, PB));
    assert_false(exists(f->unit, SCRIPT));
    assert_false(exists(f->unit, README));
    assert_int_equal(st.bytes,
                     strlen("SIMPLE  =                    T") +
                         strlen("field,spw,freq,flux\nJ1924-2914,16,9.1e10,"
                                "3.2\n"));
}

static void test_entry_cap(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "f1", "1");
    add_file(f, "f2", "2");
    add_file(f, "f3", "3");
    add_file(f, "f4", "4");
    add_file(f, "f5", "5");
    tar_close(f);
    struct asw_untar_limits lim = {.max_entries = 3};
    struct asw_untar_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_untar(f->tar, f->unit, &lim, &st, &err), ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "\"f4\""));
    assert_non_null(strstr(err.msg, "3 entries"));
    assert_int_equal(st.entries, 3);
    assert_true(exists(f->unit, "f3"));
    assert_false(exists(f->unit, "f4"));
}

static void test_size_caps(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "small", "0123456789");
    add_file(f, "big", "0123456789012345678901234567890123456789");
    tar_close(f);

    struct asw_untar_limits lim = {.max_entry_bytes = 20};
    struct asw_untar_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_untar(f->tar, f->unit, &lim, &st, &err), ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "\"big\""));
    assert_non_null(strstr(err.msg, "40 bytes"));
    assert_false(exists(f->unit, "big"));

    struct asw_untar_limits tot = {.max_total_bytes = 45};
    assert_int_equal(asw_untar(f->tar, f->unit, &tot, &st, &err), ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "45 bytes in total"));
    assert_int_equal(st.bytes, 10);

    struct asw_untar_limits ok = {.max_total_bytes = 50};
    assert_int_equal(asw_untar(f->tar, f->unit, &ok, &st, &err), 0);
    assert_int_equal(st.bytes, 50);
}

static void test_path_cap(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add_file(f, "short", "x");
    add_file(f, "a/rather/long/path/name.fits", "y");
    tar_close(f);
    struct asw_untar_limits lim = {.max_path_len = 16};
    struct asw_untar_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_untar(f->tar, f->unit, &lim, &st, &err), ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "28 bytes"));
    assert_int_equal(st.entries, 1);
}

static void test_truncated(void **state)
{
    struct fx *f = *state;
    char big[8192];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tar_open(f, 0);
    add_file(f, "ok.txt", "fine");
    add_file(f, "big.bin", big);
    tar_close(f);
    /* Cut in the middle of big.bin's data. */
    assert_int_equal(truncate(f->tar, 512 * 6 + 3000), 0);
    struct asw_untar_stats st;
    struct asw_err err = {0};
    int rc = asw_untar(f->tar, f->unit, NULL, &st, &err);
    assert_int_equal(rc, ASW_EARCHIVE);
    assert_non_null(strstr(err.msg, "big.bin"));
    assert_int_equal(st.entries, 1);
}

static void test_not_an_archive(void **state)
{
    struct fx *f = *state;
    FILE *fp = fopen(f->tar, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not a tar file at all\n", fp);
    fclose(fp);
    struct asw_err err = {0};
    assert_int_equal(asw_untar(f->tar, f->unit, NULL, NULL, &err),
                     ASW_EARCHIVE);
    assert_true(strlen(err.msg) > 10);

    assert_int_equal(asw_untar("/nonexistent/x.tar", f->unit, NULL, NULL, &err),
                     ASW_EARCHIVE);
    assert_non_null(strstr(err.msg, "opening"));
}

/* "tar -C dir ." style names. */
static void test_dot_prefix(void **state)
{
    struct fx *f = *state;
    tar_open(f, 0);
    add(f, "./", AE_IFDIR, NULL, NULL, 0, 0);
    add(f, "./sub/", AE_IFDIR, NULL, NULL, 0, 0);
    add_file(f, "./sub/flux.csv", "a,b\n");
    tar_close(f);
    struct asw_untar_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_untar(f->tar, f->unit, NULL, &st, &err), 0);
    assert_int_equal(st.entries, 3);
    char p[1024];
    snprintf(p, sizeof p, "%s/sub/flux.csv", f->unit);
    assert_string_equal(read_all(p), "a,b\n");
    assert_root_clean(f);
}

static void test_check_path(void **state)
{
    (void)state;
    struct asw_err err = {0};
    assert_int_equal(asw_untar_check_path("a/b/c.fits", &err), 0);
    assert_int_equal(asw_untar_check_path("./a/..b/c..", &err), 0);
    assert_int_equal(asw_untar_check_path("a/../b", &err), ASW_EARCHIVE);
    assert_int_equal(asw_untar_check_path("..", &err), ASW_EARCHIVE);
    assert_int_equal(asw_untar_check_path("a/..", &err), ASW_EARCHIVE);
    assert_int_equal(asw_untar_check_path("a//../b", &err), ASW_EARCHIVE);
    assert_int_equal(asw_untar_check_path("/etc/passwd", &err), ASW_EARCHIVE);
    assert_int_equal(asw_untar_check_path("", &err), ASW_EARCHIVE);
}

static void test_classify(void **state)
{
    (void)state;
    struct asw_alma_path ap;
    assert_int_equal(asw_untar_classify(FITS, &ap), ASW_ALMA_PRODUCT);
    assert_string_equal(ap.project, "2017.1.01185.S");
    assert_string_equal(ap.sous, "uid___A001_X1284_X265c");
    assert_string_equal(ap.gous, "uid___A001_X1284_X265d");
    assert_string_equal(ap.mous, "uid___A001_X1284_X265e");
    assert_string_equal(
        ap.rest, "uid___A001_X1284_X265e.J1924-2914_bp.spw16.mfs.I.pbcor.fits");
    assert_string_equal(asw_alma_area_name(ap.area), "product");

    assert_int_equal(asw_untar_classify("./" FLUX, &ap), ASW_ALMA_CALIBRATION);
    assert_string_equal(ap.rest, "flux.csv");
    assert_int_equal(asw_untar_classify(README, &ap), ASW_ALMA_MEMBER);
    assert_string_equal(ap.rest, "README");
    assert_int_equal(asw_untar_classify(MOUS "/", &ap), ASW_ALMA_MEMBER);
    assert_string_equal(ap.rest, "");
    assert_int_equal(asw_untar_classify(MOUS "/product/", &ap),
                     ASW_ALMA_PRODUCT);
    assert_string_equal(ap.rest, "");
    assert_int_equal(
        asw_untar_classify(MOUS "/raw/uid___A002_Xd28a9e_X71b8.asdm.sdm/"
                                "Main.xml",
                           &ap),
        ASW_ALMA_RAW);
    assert_string_equal(ap.rest, "uid___A002_Xd28a9e_X71b8.asdm.sdm/Main.xml");
    assert_int_equal(asw_untar_classify(MOUS "/qa/x.html", NULL), ASW_ALMA_QA);
    assert_int_equal(asw_untar_classify(MOUS "/log/x.log", NULL), ASW_ALMA_LOG);
    assert_int_equal(asw_untar_classify(MOUS "/script/s.py", NULL),
                     ASW_ALMA_SCRIPT);
    assert_int_equal(asw_untar_classify(MOUS "/products/x", NULL),
                     ASW_ALMA_OTHER);
    assert_int_equal(asw_untar_classify(MOUS "/rawdata/x", NULL),
                     ASW_ALMA_OTHER);

    /* Not the layout: nothing is filled in. */
    const char *bad[] = {
        "x.fits",
        "2017.1.01185.S/",
        "2017.1.01185.S/science_goal.uid___A001_X1_X2/group.uid___A001_X1_X3",
        "2017.1.01185.S/science_goal.uid___A/group.uid___B/x/product/y",
        "2017.1.01185.S/goal.uid___A/group.uid___B/member.uid___C/product/y",
        "2017/science_goal.uid___A/group.uid___B/member.uid___C/product/y",
        "2017.1.0118$.S/science_goal.uid___A/group.uid___B/member.uid___C/r",
        "2017.1.01185.S/science_goal.X/group.uid___B/member.uid___C/product",
        NULL,
    };
    for (int i = 0; i < 9; i++) {
        memset(&ap, 0x55, sizeof ap);
        assert_int_equal(asw_untar_classify(bad[i], &ap), ASW_ALMA_NONE);
        assert_int_equal(ap.area, ASW_ALMA_NONE);
        assert_string_equal(ap.project, "");
        assert_string_equal(ap.mous, "");
        assert_string_equal(ap.rest, "");
    }
    assert_string_equal(asw_alma_area_name(ASW_ALMA_N_AREAS), "none");
}

/* With remove_on_error, a refused entry takes away what the call wrote
 * before it, parent directories it created included, and nothing that
 * was there before. */
static void test_remove_on_error(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mkdir(f->unit, 0755), 0);
    char p[1024];
    snprintf(p, sizeof p, "%s/old.txt", f->unit);
    FILE *fp = fopen(p, "w");
    fputs("old", fp);
    fclose(fp);
    tar_open(f, 0);
    add(f, MOUS "/", AE_IFDIR, NULL, NULL, 0, 0);
    add_file(f, FITS, "SIMPLE");
    add_file(f, "top.txt", "t");
    add_file(f, "../escape", "x");
    tar_close(f);
    struct asw_untar_limits lim;
    asw_untar_limits_init(&lim);
    lim.remove_on_error = 1;
    struct asw_err err = {0};
    assert_int_equal(asw_untar(f->tar, f->unit, &lim, NULL, &err),
                     ASW_EARCHIVE);
    assert_false(exists(f->unit, FITS));
    assert_false(exists(f->unit, "top.txt"));
    assert_false(exists(f->unit, "2017.1.01185.S"));
    assert_true(exists(f->unit, "old.txt"));
    assert_root_clean(f);

    /* Without it, the entries before the bad one stay (the default). */
    lim.remove_on_error = 0;
    assert_int_equal(asw_untar(f->tar, f->unit, &lim, NULL, &err),
                     ASW_EARCHIVE);
    assert_true(exists(f->unit, FITS));
    assert_true(exists(f->unit, "top.txt"));
}

/* A streamed source: the tar read through a callback in odd-sized bites,
 * and a source that fails midway with its own code and message. */
struct src {
    FILE *fp;
    size_t bite;
    long fail_after; /* bytes, -1 never */
    long given;
};

static long src_read(void *user, void *buf, size_t n, struct asw_err *err)
{
    struct src *s = user;
    if (s->fail_after >= 0 && s->given >= s->fail_after)
        return asw_err_set(err, ASW_ENET, "download", "the mirror went away");
    if (n > s->bite)
        n = s->bite;
    size_t r = fread(buf, 1, n, s->fp);
    s->given += (long)r;
    return (long)r;
}

static void test_stream(void **state)
{
    struct fx *f = *state;
    write_alma_tar(f, 1); /* gzip: the filter works on a stream too */
    struct src s = {fopen(f->tar, "rb"), 777, -1, 0};
    struct asw_untar_stats st;
    struct asw_err err = {0};
    assert_int_equal(
        asw_untar_stream(src_read, &s, "t.tgz", f->unit, NULL, &st, &err), 0);
    fclose(s.fp);
    assert_int_equal(st.entries, 9);
    assert_int_equal(st.files_by_area[ASW_ALMA_PRODUCT], 2);
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", f->unit, FLUX);
    assert_string_equal(read_all(p),
                        "field,spw,freq,flux\nJ1924-2914,16,9.1e10,3.2\n");

    /* The source fails after the first entries: its error is reported,
     * not libarchive's view of it. */
    tar_open(f, 0);
    static char big[20000];
    memset(big, 'b', sizeof big - 1); /* add() takes a C string */
    add_file(f, "a.txt", "a");
    add(f, "b.bin", AE_IFREG, big, NULL, 0, 0);
    tar_close(f);
    struct src s2 = {fopen(f->tar, "rb"), 4096, 8192, 0};
    struct asw_untar_limits lim;
    asw_untar_limits_init(&lim);
    lim.remove_on_error = 1;
    assert_int_equal(
        asw_untar_stream(src_read, &s2, "t.tar", f->unit, &lim, &st, &err),
        ASW_ENET);
    fclose(s2.fp);
    assert_string_equal(err.module, "download");
    assert_string_equal(err.msg, "the mirror went away");
    assert_false(exists(f->unit, "a.txt"));
    assert_false(exists(f->unit, "b.bin"));

    /* A source failing before any byte. */
    struct src s3 = {fopen(f->tar, "rb"), 4096, 0, 0};
    assert_int_equal(
        asw_untar_stream(src_read, &s3, "t.tar", f->unit, NULL, &st, &err),
        ASW_ENET);
    fclose(s3.fp);
    assert_string_equal(err.msg, "the mirror went away");
    assert_int_equal(
        asw_untar_stream(NULL, NULL, NULL, f->unit, NULL, &st, &err),
        ASW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_alma_tar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alma_tgz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_out_then_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_symlink_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_dotdot_after_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_symlink_climbs_too_far, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_symlink_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hardlink_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hardlink_to_symlink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_an_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dot_prefix, setup, teardown),
        cmocka_unit_test(test_check_path),
        cmocka_unit_test(test_classify),
        cmocka_unit_test_setup_teardown(test_remove_on_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
