/*
 * asw-gen-check DIR - verify a synthetic archive directory against its own
 * truth.json: table schema and row counts, DataLink sizes and nesting,
 * tar layout, access rights, FITS headers, and the peak and noise of every
 * calibrator image. Prints one line per problem; exit 0 only if none.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <fitsio.h>
#include <jansson.h>
#include <sqlite3.h>

#include "gen_plan.h"

static int n_fail;
static int n_pass;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    n_fail++;
}

static void expect(int ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void expect(int ok, const char *fmt, ...)
{
    if (ok) {
        n_pass++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    n_fail++;
}

static const char *root;
static sqlite3 *db;

static long long file_size(const char *name)
{
    char p[4096];
    struct stat sb;
    snprintf(p, sizeof p, "%s/dataPortal/%s", root, name);
    return stat(p, &sb) ? -1 : (long long)sb.st_size;
}

/* Run a query returning one integer; text parameters bound in order. */
static long long q_int(const char *sql, int n, ...)
{
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail("sql %s: %s", sql, sqlite3_errmsg(db));
        return -1;
    }
    va_list ap;
    va_start(ap, n);
    for (int i = 1; i <= n; i++)
        sqlite3_bind_text(st, i, va_arg(ap, const char *), -1,
                          SQLITE_TRANSIENT);
    va_end(ap);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void check_schema(void)
{
    static const char *want[][2] = {
        {"obs_publisher_did", "TEXT"},
        {"obs_collection", "TEXT"},
        {"facility_name", "TEXT"},
        {"instrument_name", "TEXT"},
        {"obs_id", "TEXT"},
        {"dataproduct_type", "TEXT"},
        {"calib_level", "INTEGER"},
        {"access_url", "TEXT"},
        {"access_format", "TEXT"},
        {"target_name", "TEXT"},
        {"s_ra", "REAL"},
        {"s_dec", "REAL"},
        {"s_fov", "REAL"},
        {"s_region", "TEXT"},
        {"s_resolution", "REAL"},
        {"t_min", "REAL"},
        {"t_max", "REAL"},
        {"t_exptime", "REAL"},
        {"em_min", "REAL"},
        {"em_max", "REAL"},
        {"em_xel", "INTEGER"},
        {"pol_states", "TEXT"},
        {"proposal_id", "TEXT"},
        {"data_rights", "TEXT"},
        {"obs_release_date", "TEXT"},
        {"band_list", "TEXT"},
        {"bandwidth", "REAL"},
        {"frequency", "REAL"},
        {"frequency_support", "TEXT"},
        {"velocity_resolution", "REAL"},
        {"antenna_arrays", "TEXT"},
        {"is_mosaic", "TEXT"},
        {"qa2_passed", "TEXT"},
        {"spatial_resolution", "REAL"},
        {"group_ous_uid", "TEXT"},
        {"member_ous_uid", "TEXT"},
        {"asdm_uid", "TEXT"},
        {"schedblock_name", "TEXT"},
        {"type", "TEXT"},
        {"scan_intent", "TEXT"},
        {"science_observation", "TEXT"},
        {"obs_title", "TEXT"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        expect(q_int("SELECT COUNT(*) FROM pragma_table_info('obscore') "
                     "WHERE name = ?1 AND type = ?2",
                     2, want[i][0], want[i][1]) == 1,
               "obscore column %s %s missing", want[i][0], want[i][1]);
    expect(q_int("SELECT COUNT(*) FROM pragma_table_info('datalink')", 0) == 14,
           "datalink has not 14 columns");
    expect(q_int("SELECT COUNT(*) FROM pragma_table_info('access')", 0) == 2,
           "access has not 2 columns");
}

/* Every downloadable row names an existing file of exactly that size;
 * every service row leads to a non-empty nested listing; every cutout
 * follows the #this row of a .pbcor.fits. */
static void check_datalink_rows(void)
{
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT query_id, seq, access_name, service_def,"
                       " semantics, content_length FROM datalink",
                       -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *q = (const char *)sqlite3_column_text(st, 0);
        int seq = sqlite3_column_int(st, 1);
        const char *name = (const char *)sqlite3_column_text(st, 2);
        const char *sd = (const char *)sqlite3_column_text(st, 3);
        const char *sem = (const char *)sqlite3_column_text(st, 4);
        if (name) {
            long long want = sqlite3_column_int64(st, 5);
            long long have = file_size(name);
            expect(have >= 0 && have == want,
                   "%s: content_length %lld, file %lld", name, want, have);
        } else if (sd && !strncmp(sd, "DataLink.", 9)) {
            expect(q_int("SELECT COUNT(*) FROM datalink WHERE query_id = ?1", 1,
                         sd + 9) > 0,
                   "%s has no nested rows", sd);
            expect(file_size(sd + 9) > 0, "%s: tar missing", sd);
        } else if (sem && !strcmp(sem, "#cutout")) {
            char s[16];
            snprintf(s, sizeof s, "%d", seq - 1);
            expect(q_int("SELECT COUNT(*) FROM datalink WHERE query_id = ?1"
                         " AND seq = ?2 AND semantics = '#this' AND"
                         " access_name LIKE '%.pbcor.fits'",
                         2, q, s) == 1,
                   "%s seq %d: cutout not after a pbcor row", q, seq);
        } else {
            fail("%s seq %d: row with neither file nor service", q, seq);
        }
    }
    sqlite3_finalize(st);
}

static int is_cal_pbcor(const char *name)
{
    size_t n = strlen(name);
    return n > 11 && !strcmp(name + n - 11, ".pbcor.fits") &&
           (strstr(name, "_bp.spw") || strstr(name, "_ph.spw") ||
            strstr(name, "_ch.spw"));
}

/* A tar of the MOUS: entries in the ALMA layout, some under subdir, each
 * the same size as its individual copy; a product tar (want_cal >= 0)
 * holds exactly want_cal calibrator pbcor images. */
static void check_tar(const char *tar, const char *project, const char *mous_s,
                      const char *subdir, int want_cal)
{
    char p[4096], member[256], sub[256];
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    int n_cal = 0, n_files = 0, n_sub = 0;
    snprintf(p, sizeof p, "%s/dataPortal/%s", root, tar);
    snprintf(member, sizeof member, "/member.%s/", mous_s);
    snprintf(sub, sizeof sub, "/member.%s/%s/", mous_s, subdir);
    archive_read_support_format_all(a);
    archive_read_support_filter_all(a);
    if (archive_read_open_filename(a, p, 10240) != ARCHIVE_OK) {
        fail("%s: %s", tar, archive_error_string(a));
        archive_read_free(a);
        return;
    }
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *path = archive_entry_pathname(e);
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        n_files++;
        n_sub += strstr(path, sub) != NULL;
        expect(!strncmp(path, project, strlen(project)) &&
                   strstr(path, "/science_goal.uid___") &&
                   strstr(path, "/group.uid___") && strstr(path, member),
               "%s: entry %s not in ALMA layout", tar, path);
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (strcmp(subdir, "raw")) /* raw files have no individual copy */
            expect(file_size(base) == archive_entry_size(e),
                   "%s: entry %s size differs from dataPortal copy", tar, base);
        n_cal += is_cal_pbcor(base);
    }
    archive_read_free(a);
    expect(n_sub > 0, "%s: nothing under %s", tar, sub);
    if (want_cal >= 0)
        expect(n_cal == want_cal, "%s: %d calibrator images, truth %d", tar,
               n_cal, want_cal);
}

static void check_mous(json_t *m)
{
    const char *uid = json_string_value(json_object_get(m, "mous_uid"));
    const char *project = json_string_value(json_object_get(m, "project"));
    const char *rights = json_string_value(json_object_get(m, "data_rights"));
    int n_images = (int)json_integer_value(json_object_get(m, "n_images"));
    json_t *prod = json_object_get(m, "product_tars");
    json_t *asdm = json_object_get(m, "asdm_tars");
    json_t *aux = json_object_get(m, "aux_tars");
    char s[ASW_GEN_UID_MAX], want[32];
    size_t i;
    json_t *v;

    if (!uid || !project || !rights || !json_is_array(prod) ||
        !json_is_array(asdm)) {
        fail("truth: incomplete mous entry");
        return;
    }
    asw_gen_sanitize(s, sizeof s, uid);
    expect(q_int("SELECT COUNT(*) FROM datalink WHERE query_id = ?1 AND "
                 "semantics = '#documentation'",
                 1, s) == 1,
           "%s: README row", uid);
    snprintf(want, sizeof want, "%zu", 2 * json_array_size(prod));
    expect(q_int("SELECT COUNT(*) FROM datalink WHERE query_id = ?1 AND "
                 "semantics = '#this'",
                 1, s) == atoll(want),
           "%s: #this rows", uid);
    expect(q_int("SELECT COUNT(*) FROM datalink WHERE query_id = ?1 AND "
                 "semantics = '#progenitor'",
                 1, s) == (long long)json_array_size(asdm),
           "%s: #progenitor rows", uid);
    expect(q_int("SELECT COUNT(*) FROM datalink WHERE query_id = ?1 AND "
                 "semantics = '#auxiliary' AND access_name IS NOT NULL",
                 1, s) == (long long)json_array_size(aux),
           "%s: #auxiliary rows", uid);
    expect(q_int("SELECT COUNT(*) FROM datalink WHERE query_id = ?1 AND "
                 "id != ?2",
                 2, s, uid) == 0,
           "%s: ID column differs from the MOUS uid", uid);
    expect(q_int("SELECT COUNT(*) FROM obscore WHERE member_ous_uid = ?1", 1,
                 uid) ==
               json_integer_value(json_object_get(m, "n_obscore_rows")),
           "%s: obscore row count", uid);
    expect(q_int("SELECT COUNT(*) FROM obscore WHERE member_ous_uid = ?1 "
                 "AND (data_rights != ?2 OR proposal_id != ?3)",
                 3, uid, rights, project) == 0,
           "%s: obscore data_rights/proposal_id", uid);

    json_array_foreach(prod, i, v)
    {
        const char *tar = json_string_value(v);
        expect(q_int("SELECT COUNT(*) FROM datalink WHERE query_id = ?1 AND "
                     "access_name = ?2 AND semantics = '#this'",
                     2, s, tar) == 1,
               "%s: product tar %s not listed", uid, tar);
        sqlite3_stmt *st;
        int n_cal = 0;
        sqlite3_prepare_v2(db,
                           "SELECT access_name FROM datalink WHERE "
                           "query_id = ?1 AND semantics = '#this'",
                           -1, &st, NULL);
        sqlite3_bind_text(st, 1, tar, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW)
            n_cal += is_cal_pbcor((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        expect(n_cal == n_images, "%s: nested listing has %d images, truth %d",
               tar, n_cal, n_images);
        check_tar(tar, project, s, "product", n_images);
    }
    json_array_foreach(aux, i, v)
    {
        const char *tar = json_string_value(v);
        const char *csv = json_string_value(json_object_get(m, "flux_csv"));
        expect(csv && q_int("SELECT COUNT(*) FROM datalink WHERE query_id = "
                            "?1 AND access_name = ?2 AND semantics = "
                            "'#auxiliary'",
                            2, tar, csv) == 1,
               "%s: flux.csv not in nested aux listing", tar);
        check_tar(tar, project, s, "calibration", -1);
    }
    json_array_foreach(asdm, i, v)
    {
        const char *tar = json_string_value(v);
        expect(q_int("SELECT COUNT(*) FROM datalink WHERE query_id = ?1 AND "
                     "access_name = ?2",
                     2, s, tar) == 1,
               "%s: %s not listed", uid, tar);
        long long size = file_size(tar);
        expect(size > 2048 && size < 65536, "%s: %lld bytes", tar, size);
        check_tar(tar, project, s, "raw", -1);
    }

    /* Rights: every file of a proprietary MOUS is in access, none of a
     * public one. */
    long long n_files =
        q_int("SELECT COUNT(*) FROM datalink WHERE access_name IS NOT NULL "
              "AND (query_id = ?1 OR query_id IN (SELECT substr(service_def,"
              " 10) FROM datalink WHERE query_id = ?1 AND service_def LIKE "
              "'DataLink.%'))",
              1, s);
    long long n_locked =
        q_int("SELECT COUNT(*) FROM datalink d JOIN access a ON "
              "a.name = d.access_name WHERE a.data_rights = 'Proprietary' "
              "AND (d.query_id = ?1 OR d.query_id IN (SELECT substr("
              "service_def, 10) FROM datalink WHERE query_id = ?1 AND "
              "service_def LIKE 'DataLink.%'))",
              1, s);
    if (!strcmp(rights, "Proprietary"))
        expect(n_files > 0 && n_locked == n_files,
               "%s: %lld of %lld files locked", uid, n_locked, n_files);
    else
        expect(n_locked == 0, "%s: public but %lld files locked", uid,
               n_locked);
}

static int read_plane(const char *name, int npix, float *buf, char *object,
                      double *bmaj, double *freq, double *cdelt1)
{
    char p[4096];
    fitsfile *f;
    int st = 0, anynul;
    long naxes[4] = {0, 0, 0, 0};
    int naxis = 0;
    snprintf(p, sizeof p, "%s/dataPortal/%s", root, name);
    if (fits_open_file(&f, p, READONLY, &st)) {
        fail("%s: cannot open (cfitsio %d)", name, st);
        return -1;
    }
    fits_get_img_dim(f, &naxis, &st);
    fits_get_img_size(f, 4, naxes, &st);
    if (object)
        fits_read_key(f, TSTRING, "OBJECT", object, NULL, &st);
    if (bmaj)
        fits_read_key(f, TDOUBLE, "BMAJ", bmaj, NULL, &st);
    if (freq)
        fits_read_key(f, TDOUBLE, "CRVAL3", freq, NULL, &st);
    if (cdelt1)
        fits_read_key(f, TDOUBLE, "CDELT1", cdelt1, NULL, &st);
    if (!st && (naxis != 4 || naxes[0] != npix || naxes[1] != npix ||
                naxes[2] != 1 || naxes[3] != 1)) {
        fail("%s: shape %d axes %ldx%ldx%ldx%ld", name, naxis, naxes[0],
             naxes[1], naxes[2], naxes[3]);
        st = -1;
    }
    float nulval = NAN;
    if (!st)
        fits_read_img(f, TFLOAT, 1, (LONGLONG)npix * npix, &nulval, buf,
                      &anynul, &st);
    int cst = 0;
    fits_close_file(f, &cst);
    if (st) {
        fail("%s: read failed (%d)", name, st);
        return -1;
    }
    return 0;
}

static double jnum(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static void check_image(json_t *im, int npix)
{
    const char *file = json_string_value(json_object_get(im, "file"));
    const char *pbf = json_string_value(json_object_get(im, "pb_file"));
    const char *src = json_string_value(json_object_get(im, "source"));
    const char *uid = json_string_value(json_object_get(im, "mous_uid"));
    char obs_id[512], object[FLEN_VALUE] = "";
    double peak = jnum(im, "peak_jy"), rms = jnum(im, "rms_jy");
    double x0 = jnum(im, "x_pix"), y0 = jnum(im, "y_pix");
    double bmaj = 0, freq = 0, cdelt1 = 0;
    size_t npx = (size_t)npix * npix;
    float *img = malloc(sizeof *img * npx), *pb = malloc(sizeof *pb * npx);

    if (!file || !pbf || !src || !uid || !img || !pb) {
        fail("truth: incomplete image entry");
        goto out;
    }
    snprintf(obs_id, sizeof obs_id, "%s.source.%s.spw.%d", uid, src,
             (int)json_integer_value(json_object_get(im, "spw")));
    expect(q_int("SELECT COUNT(*) FROM obscore WHERE obs_id = ?1 AND "
                 "member_ous_uid = ?2 AND target_name = ?3 AND "
                 "science_observation = 'F'",
                 3, obs_id, uid, src) == 1,
           "%s: no obscore row", obs_id);
    if (read_plane(file, npix, img, object, &bmaj, &freq, &cdelt1) ||
        read_plane(pbf, npix, pb, NULL, NULL, NULL, NULL))
        goto out;
    expect(!strcmp(object, src), "%s: OBJECT '%s'", file, object);
    expect(fabs(bmaj * 3600 - jnum(im, "bmaj_arcsec")) < 1e-6,
           "%s: BMAJ %g arcsec, truth %g", file, bmaj * 3600,
           jnum(im, "bmaj_arcsec"));
    expect(fabs(freq - jnum(im, "freq_hz")) < 1.0, "%s: CRVAL3", file);
    expect(cdelt1 < 0, "%s: CDELT1 not negative", file);

    /* Peak: the brightest pixel near the truth position. A pixel is at
     * most 0.71 pixel = 0.14 BMIN from the true position (cell = BMIN/5),
     * which costs up to 6 % of the peak. */
    int xi = (int)lround(x0), yi = (int)lround(y0);
    double vmax = -INFINITY;
    for (int y = yi - 2; y <= yi + 2; y++)
        for (int x = xi - 2; x <= xi + 2; x++)
            if (x >= 0 && y >= 0 && x < npix && y < npix)
                vmax = fmax(vmax, img[(size_t)y * npix + x]);
    expect(vmax > 0.93 * peak - 5 * rms && vmax < peak + 5 * rms,
           "%s: peak %g, truth %g (rms %g)", file, vmax, peak, rms);

    /* Noise: std of the flat-noise image (pbcor * pb) away from the
     * source. */
    double r_ex = 3 * jnum(im, "bmaj_arcsec") / jnum(im, "cell_arcsec");
    double sum = 0, sum2 = 0;
    long n = 0;
    for (int y = 0; y < npix; y++) {
        for (int x = 0; x < npix; x++) {
            size_t k = (size_t)y * npix + x;
            double d2 = (x - x0) * (x - x0) + (y - y0) * (y - y0);
            if (!isfinite(img[k]) || !isfinite(pb[k]) || d2 < r_ex * r_ex)
                continue;
            double v = (double)img[k] * pb[k];
            sum += v;
            sum2 += v * v;
            n++;
        }
    }
    /* Too few pixels off the source (tiny --npix) measure nothing. */
    if (n > 100) {
        double sd = sqrt(sum2 / n - (sum / n) * (sum / n));
        expect(fabs(sd / rms - 1) < 0.25, "%s: noise %g, truth %g", file, sd,
               rms);
    }
out:
    free(img);
    free(pb);
}

int main(int argc, char **argv)
{
    char p[4096];
    json_error_t jerr;
    if (argc != 2) {
        fprintf(stderr, "usage: asw-gen-check DIR\n");
        return 2;
    }
    root = argv[1];
    snprintf(p, sizeof p, "%s/truth.json", root);
    json_t *truth = json_load_file(p, 0, &jerr);
    if (!truth) {
        printf("FAIL: %s: %s\n", p, jerr.text);
        return 1;
    }
    snprintf(p, sizeof p, "%s/archive.sqlite", root);
    if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        printf("FAIL: %s: %s\n", p, sqlite3_errmsg(db));
        json_decref(truth);
        sqlite3_close(db);
        return 1;
    }
    int npix = (int)json_integer_value(json_object_get(truth, "npix"));
    json_t *mous = json_object_get(truth, "mous");
    json_t *images = json_object_get(truth, "images");
    size_t i;
    json_t *v;
    long long obs_rows = 0, n_images = 0;

    check_schema();
    check_datalink_rows();
    expect(json_array_size(mous) > 0, "truth has no MOUS");
    json_array_foreach(mous, i, v)
    {
        check_mous(v);
        obs_rows += json_integer_value(json_object_get(v, "n_obscore_rows"));
        n_images += json_integer_value(json_object_get(v, "n_images"));
    }
    expect(q_int("SELECT COUNT(*) FROM obscore", 0) == obs_rows,
           "obscore has %lld rows, truth %lld",
           q_int("SELECT COUNT(*) FROM obscore", 0), obs_rows);
    expect((long long)json_array_size(images) == n_images,
           "truth lists %zu images, MOUS sum %lld", json_array_size(images),
           n_images);
    json_array_foreach(images, i, v) check_image(v, npix);

    printf("asw-gen-check: %d checks passed, %d failed (%zu MOUS, %zu "
           "images)\n",
           n_pass, n_fail, json_array_size(mous), json_array_size(images));
    sqlite3_close(db);
    json_decref(truth);
    return n_fail ? 1 : 0;
}
