/* Unit tests: FITS images and cubes to rows (io/fitsimg, jobs/measure),
 * including corrupt, truncated and absurd files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <fitsio.h>

#include "io/fitsimg.h"
#include "jobs/measure.h"
#include "src/reduce/fluxcat.h"

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static char dir[256];

static unsigned long long rs = 0x2545F4914F6CDD1DULL;
static double gauss(void)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        rs ^= rs << 13;
        rs ^= rs >> 7;
        rs ^= rs << 17;
        u[i] = ((rs >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

struct spec {
    int naxis;
    long nx, ny, nchan;
    const char *bunit;
    int beam_keys;   /* BMAJ/BMIN/BPA */
    int beams_table; /* CASA BEAMS extension */
    double cdelt;    /* arcsec */
    const char *ctype3;
    double line_tau; /* absorption at the middle of the band */
    double pb_fwhm;  /* > 0: this is a primary beam image */
    double pbcor;    /* > 0: noise / PB of this FWHM (a pbcor image) */
    double noise;
};

static void dflt(struct spec *s)
{
    memset(s, 0, sizeof *s);
    s->naxis = 4;
    s->nx = s->ny = 64;
    s->nchan = 1;
    s->bunit = "Jy/beam";
    s->beam_keys = 1;
    s->cdelt = 0.2;
    s->ctype3 = "FREQ";
    s->noise = 2e-3;
}

/* 1.5 Jy point source in a 1.0" x 0.8" beam at PA 20, at (32.3, 31.8). */
static double sky(double x, double y)
{
    double t = 20 * M_PI / 180, dx = x - 32.3, dy = y - 31.8;
    double u = -dx * sin(t) + dy * cos(t), v = dx * cos(t) + dy * sin(t);
    double sM = 1.0 / 2.35482 / 0.2, sm = 0.8 / 2.35482 / 0.2;
    return 1.5 * exp(-0.5 * (u * u / (sM * sM) + v * v / (sm * sm)));
}

static void write_fits(const char *name, const struct spec *s)
{
    char path[512];
    snprintf(path, sizeof path, "!%s/%s", dir, name);
    fitsfile *f;
    int st = 0;
    long naxes[4] = {s->nx, s->ny, s->nchan, 1};
    fits_create_file(&f, path, &st);
    fits_create_img(f, FLOAT_IMG, s->naxis, naxes, &st);
    double v;
    if (s->beam_keys) {
        v = 1.0 / 3600;
        fits_write_key(f, TDOUBLE, "BMAJ", &v, NULL, &st);
        v = 0.8 / 3600;
        fits_write_key(f, TDOUBLE, "BMIN", &v, NULL, &st);
        v = 20;
        fits_write_key(f, TDOUBLE, "BPA", &v, NULL, &st);
    }
    fits_write_key_str(f, "BUNIT", s->bunit, NULL, &st);
    fits_write_key_str(f, "OBJECT", "J1924-2914", NULL, &st);
    fits_write_key_str(f, "CTYPE1", "RA---SIN", NULL, &st);
    fits_write_key_str(f, "CTYPE2", "DEC--SIN", NULL, &st);
    v = 291.2125;
    fits_write_key(f, TDOUBLE, "CRVAL1", &v, NULL, &st);
    v = -29.2417;
    fits_write_key(f, TDOUBLE, "CRVAL2", &v, NULL, &st);
    v = -s->cdelt / 3600;
    fits_write_key(f, TDOUBLE, "CDELT1", &v, NULL, &st);
    v = s->cdelt / 3600;
    fits_write_key(f, TDOUBLE, "CDELT2", &v, NULL, &st);
    v = (double)(s->nx / 2 + 1);
    fits_write_key(f, TDOUBLE, "CRPIX1", &v, NULL, &st);
    fits_write_key(f, TDOUBLE, "CRPIX2", &v, NULL, &st);
    if (s->naxis >= 3) {
        fits_write_key_str(f, "CTYPE3", s->ctype3, NULL, &st);
        int vrad = !strcmp(s->ctype3, "VRAD");
        v = vrad ? -2000.0 : 89.17e9;
        fits_write_key(f, TDOUBLE, "CRVAL3", &v, NULL, &st);
        v = s->nchan > 1 ? (vrad ? 100.0 : 61.035e3) : 1.875e9;
        fits_write_key(f, TDOUBLE, "CDELT3", &v, NULL, &st);
        v = 1;
        fits_write_key(f, TDOUBLE, "CRPIX3", &v, NULL, &st);
        v = 89.188526e9;
        fits_write_key(f, TDOUBLE, "RESTFRQ", &v, NULL, &st);
        fits_write_key_str(f, "SPECSYS", "LSRK", NULL, &st);
    }
    if (s->naxis >= 4) {
        fits_write_key_str(f, "CTYPE4", "STOKES", NULL, &st);
        v = 1;
        fits_write_key(f, TDOUBLE, "CRVAL4", &v, NULL, &st);
    }
    fits_write_key_str(f, "DATE-OBS", "2021-06-01T12:00:00.0", NULL, &st);
    float *p = malloc((size_t)s->nx * s->ny * sizeof *p);
    for (long c = 0; c < s->nchan; c++) {
        double d = c - s->nchan / 2.0;
        double att = exp(-s->line_tau * exp(-4 * log(2.0) * d * d / 16.0));
        for (long y = 0; y < s->ny; y++)
            for (long x = 0; x < s->nx; x++) {
                double val;
                if (s->pb_fwhm > 0) {
                    double r2 = (x - s->nx / 2) * (x - s->nx / 2) +
                                (y - s->ny / 2) * (y - s->ny / 2);
                    val = exp(-4 * log(2.0) * r2 / (s->pb_fwhm * s->pb_fwhm));
                } else {
                    double pb = 1;
                    if (s->pbcor > 0) {
                        double r2 = (x - s->nx / 2) * (x - s->nx / 2) +
                                    (y - s->ny / 2) * (y - s->ny / 2);
                        pb = exp(-4 * log(2.0) * r2 / (s->pbcor * s->pbcor));
                    }
                    val = sky(x, y) * att + s->noise * gauss() / pb;
                }
                p[y * s->nx + x] = (float)val;
            }
        long first[4] = {1, 1, c + 1, 1};
        fits_write_pix(f, TFLOAT, first, s->nx * s->ny, p, &st);
    }
    free(p);
    if (s->beams_table) {
        char *tt[] = {"BMAJ", "BMIN", "BPA", "CHAN", "POL"};
        char *tf[] = {"1E", "1E", "1E", "1J", "1J"};
        char *tu[] = {"arcsec", "arcsec", "deg", "", ""};
        fits_create_tbl(f, BINARY_TBL, 0, 5, tt, tf, tu, "BEAMS", &st);
        for (long c = 0; c < s->nchan; c++) {
            float a = 1.0f, b = 0.8f, pa = 20.0f;
            int ch = (int)c, pol = 0;
            fits_write_col(f, TFLOAT, 1, c + 1, 1, 1, &a, &st);
            fits_write_col(f, TFLOAT, 2, c + 1, 1, 1, &b, &st);
            fits_write_col(f, TFLOAT, 3, c + 1, 1, 1, &pa, &st);
            fits_write_col(f, TINT, 4, c + 1, 1, 1, &ch, &st);
            fits_write_col(f, TINT, 5, c + 1, 1, 1, &pol, &st);
        }
    }
    fits_close_file(f, &st);
    assert_int_equal(st, 0);
}

static const char *at(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* Measure one file into a fresh result; returns the code. */
static int measure(const char *name, const struct asw_measure_opts *o,
                   struct asw_result *r)
{
    memset(r, 0, sizeof *r);
    struct asw_err e = {0};
    int rc = asw_measure_into(at(name), o, r, &e);
    assert_int_equal(r->n_images, 1); /* a row, whatever happened */
    if (rc)
        assert_true(r->images[0].error[0] != '\0');
    return rc;
}

#define IMG "member.uid___A001_X1465_X2f66.J1924-2914_ph.spw27.mfs.I"

static void pipeline_image_with_pb_and_catalogue(void **state)
{
    (void)state;
    struct spec s;
    dflt(&s);
    s.pbcor = 60;
    write_fits(IMG ".pbcor.fits", &s);
    s.pb_fwhm = 60;
    s.bunit = "";
    write_fits(IMG ".pb.fits", &s);
    struct asw_fluxcat cat = {0};
    const char *csv = "ms,field,spw,I,Q,U,V,spix,uvmin,uvmax,comment\n"
                      "a.ms,1,27,2.0,0,0,0,-0.7,0,0,\"# field=J1924-2914\"\n";
    assert_int_equal(asw_fluxcat_parse(csv, strlen(csv), &cat, NULL), 0);
    struct asw_measure_opts o;
    asw_measure_opts_init(&o);
    o.cat = &cat;
    o.unit_id = "u1";
    struct asw_result r;
    assert_int_equal(measure(IMG ".pbcor.fits", &o, &r), 0);
    const struct asw_image *m = &r.images[0];
    assert_string_equal(m->unit_id, "u1");
    assert_string_equal(m->source, "J1924-2914");
    assert_string_equal(m->intent, "ph");
    assert_string_equal(m->specmode, "mfs");
    assert_int_equal(m->spw, 27);
    assert_int_equal(m->pbcor, 1);
    assert_int_equal(m->band, 3);
    NEAR(m->freq_hz, 89.17e9, 1);
    NEAR(m->bandwidth_hz, 1.875e9, 1);
    NEAR(m->mjd, 59366.5, 1e-6);
    NEAR(m->bmaj_arcsec, 1.0, 1e-9);
    NEAR(m->flux_jy, 1.5, 0.02);
    NEAR(m->flux_cal_err_jy, 0.05 * m->flux_jy, 1e-12);
    NEAR(m->cat_flux_jy, 2.0, 0);
    NEAR(m->cat_flux_ratio, m->flux_jy / 2.0, 1e-12);
    assert_true(m->qa_flags & ASW_QA_CAT_MISMATCH); /* 25% off, 5% band */
    /* the 64-pixel image and a 60-pixel PB hold the 0.2-0.3 annulus */
    NEAR(m->rms_jy, 2e-3, 3e-4);
    assert_string_equal(m->error, "");
    asw_result_clear(&r);
    asw_fluxcat_free(&cat);
}

static void two_axis_image_and_beams_table(void **state)
{
    (void)state;
    struct spec s;
    dflt(&s);
    s.naxis = 2;
    write_fits("plain.fits", &s);
    struct asw_result r;
    assert_int_equal(measure("plain.fits", NULL, &r), 0);
    assert_true(isnan(r.images[0].freq_hz));
    assert_int_equal(r.images[0].band, -1);
    assert_string_equal(r.images[0].source, "J1924-2914"); /* OBJECT */
    NEAR(r.images[0].flux_jy, 1.5, 0.03);
    asw_result_clear(&r);

    dflt(&s);
    s.beam_keys = 0;
    s.beams_table = 1;
    write_fits("beams.fits", &s);
    assert_int_equal(measure("beams.fits", NULL, &r), 0);
    NEAR(r.images[0].bmin_arcsec, 0.8, 1e-6);
    NEAR(r.images[0].flux_jy, 1.5, 0.03);
    asw_result_clear(&r);
}

static void bad_headers_are_row_errors(void **state)
{
    (void)state;
    struct spec s;
    struct asw_result r;
    dflt(&s);
    s.bunit = "Jy/pixel";
    write_fits("jypix.fits", &s);
    assert_int_equal(measure("jypix.fits", NULL, &r), ASW_EINVAL);
    assert_true(r.images[0].qa_flags & ASW_QA_UNITS);
    assert_non_null(strstr(r.images[0].error, "Jy/pixel"));
    NEAR(r.images[0].qa_score, 0.0, 0);
    asw_result_clear(&r);

    dflt(&s);
    s.beam_keys = 0;
    write_fits("nobeam.fits", &s);
    assert_int_equal(measure("nobeam.fits", NULL, &r), ASW_EINVAL);
    assert_true(r.images[0].qa_flags & ASW_QA_NO_BEAM);
    NEAR(r.images[0].peak_jy, 1.5, 0.05); /* still measured */
    assert_true(isnan(r.images[0].flux_jy));
    asw_result_clear(&r);

    dflt(&s);
    s.cdelt = 0;
    write_fits("nocell.fits", &s);
    assert_int_equal(measure("nocell.fits", NULL, &r), ASW_EINVAL);
    asw_result_clear(&r);

    dflt(&s);
    s.noise = NAN; /* every pixel blank */
    write_fits("blank.fits", &s);
    assert_int_equal(measure("blank.fits", NULL, &r), ASW_EINVAL);
    asw_result_clear(&r);
}

/* Rewrite the 80-character card starting with key in the header. */
static void patch_card(const char *name, const char *key, const char *card)
{
    FILE *f = fopen(at(name), "r+b");
    assert_non_null(f);
    char c[81] = {0};
    for (long pos = 0; pos < 2880 * 4; pos += 80) {
        fseek(f, pos, SEEK_SET);
        if (fread(c, 1, 80, f) != 80)
            break;
        if (!strncmp(c, key, strlen(key))) {
            char nc[81];
            snprintf(nc, sizeof nc, "%-80s", card);
            fseek(f, pos, SEEK_SET);
            fwrite(nc, 1, 80, f);
            break;
        }
    }
    fclose(f);
}

static void corrupt_files_are_row_errors(void **state)
{
    (void)state;
    struct spec s;
    struct asw_result r;
    dflt(&s);
    write_fits("trunc.fits", &s);
    assert_int_equal(truncate(at("trunc.fits"), 2880 + 5000), 0);
    assert_int_equal(measure("trunc.fits", NULL, &r), ASW_EFITS);
    assert_non_null(strstr(r.images[0].error, "truncated"));
    asw_result_clear(&r);

    FILE *f = fopen(at("garbage.fits"), "wb");
    for (int i = 0; i < 5000; i++)
        fputc((int)(gauss() * 50) & 0xff, f);
    fclose(f);
    assert_int_equal(measure("garbage.fits", NULL, &r), ASW_EFITS);
    asw_result_clear(&r);

    f = fopen(at("empty.fits"), "wb");
    fclose(f);
    assert_int_equal(measure("empty.fits", NULL, &r), ASW_EFITS);
    asw_result_clear(&r);
    assert_int_equal(measure("does-not-exist.fits", NULL, &r), ASW_EFITS);
    asw_result_clear(&r);

    /* a header that promises a 100000 x 100000 plane */
    dflt(&s);
    write_fits("huge.fits", &s);
    patch_card("huge.fits", "NAXIS1  ", "NAXIS1  =               100000");
    patch_card("huge.fits", "NAXIS2  ", "NAXIS2  =               100000");
    int rc = measure("huge.fits", NULL, &r);
    assert_true(rc == ASW_ETOOBIG || rc == ASW_EFITS);
    asw_result_clear(&r);

    /* an axis that is neither spectral nor Stokes */
    dflt(&s);
    s.nchan = 3;
    s.ctype3 = "TIME";
    write_fits("time.fits", &s);
    assert_int_equal(measure("time.fits", NULL, &r), ASW_EINVAL);
    asw_result_clear(&r);

    /* NaN and absurd beam keywords count as missing */
    dflt(&s);
    write_fits("absurd.fits", &s);
    patch_card("absurd.fits", "BMAJ    ", "BMAJ    =                 1E40");
    assert_int_equal(measure("absurd.fits", NULL, &r), ASW_EINVAL);
    assert_true(r.images[0].qa_flags & ASW_QA_NO_BEAM);
    asw_result_clear(&r);
}

#define CUBE "member.uid___A001_X1_X2.J1851+0035_bp.spw25.cube.I.pbcor.fits"

static void cube_spectrum_and_line(void **state)
{
    (void)state;
    struct spec s;
    dflt(&s);
    s.nchan = 128;
    s.line_tau = 0.4;
    s.noise = 3e-3;
    write_fits(CUBE, &s);
    struct asw_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(asw_measure_into(at(CUBE), NULL, &r, NULL), 0);
    assert_int_equal(r.n_spectra, 1);
    assert_int_equal(r.spectra[0].n_chan, 128);
    assert_string_equal(r.images[0].specmode, "cube");
    NEAR(r.images[0].bandwidth_hz, 128 * 61.035e3, 1);
    assert_int_equal(r.n_lines, 1);
    const struct asw_line *L = &r.lines[0];
    assert_string_equal(L->species, "HCO+");
    assert_string_equal(L->source, "J1851+0035");
    assert_int_equal(L->spw, 25);
    NEAR(L->tau_peak, 0.4, 0.04);
    assert_true(L->chan_lo <= 64 && L->chan_hi >= 64);
    /* the aperture spectrum, kept in the result, measures the same point
     * source */
    const double *ap = r.spectra[0].ap_flux_jy;
    assert_non_null(ap);
    NEAR(ap[5], r.spectra[0].cont_jy[5], 0.05);
    asw_result_clear(&r);

    /* a radio-velocity axis gives the same frequencies */
    dflt(&s);
    s.nchan = 32;
    s.ctype3 = "VRAD";
    write_fits("vrad.fits", &s);
    struct asw_fits *F;
    struct asw_fits_header h;
    assert_int_equal(asw_fits_open(at("vrad.fits"), &F, &h, NULL), 0);
    double fr[32];
    assert_int_equal(asw_fits_chan_freqs(&h, fr, NULL), 0);
    NEAR(fr[0], 89.188526e9 * (1 + 2000.0 / 299792458.0), 1e-3);
    assert_true(fr[1] < fr[0]);
    float buf[64 * 3];
    assert_int_equal(asw_fits_read_rows(F, 31, 10, 3, buf, NULL), 0);
    assert_int_equal(asw_fits_read_rows(F, 32, 10, 3, buf, NULL), ASW_EINVAL);
    assert_int_equal(asw_fits_read_rows(F, 0, 63, 2, buf, NULL), ASW_EINVAL);
    asw_fits_close(F);
    asw_fits_header_free(&h);
}

static void seds_per_source_and_ous(void **state)
{
    (void)state;
    struct asw_result r;
    memset(&r, 0, sizeof r);
    static const double nu[4] = {90.5e9, 92.5e9, 102.5e9, 104.5e9};
    for (int i = 0; i < 6; i++) {
        struct asw_image m;
        asw_image_init(&m);
        snprintf(m.file, sizeof m.file,
                 "member.uid___A001_X1_X%d.J0001+0001_bp.spw%d.mfs.I.pbcor."
                 "fits",
                 i < 4 ? 2 : 3, 25 + 2 * (i % 4));
        snprintf(m.source, sizeof m.source, "J0001+0001");
        snprintf(m.specmode, sizeof m.specmode, "mfs");
        m.freq_hz = nu[i % 4];
        m.flux_jy = pow(nu[i % 4] / 97.5e9, -0.5);
        m.flux_err_jy = 0.01;
        m.qa_flags = 0;
        asw_result_add_image(&r, &m);
    }
    assert_int_equal(asw_measure_seds(&r, 0, NULL), 0);
    assert_int_equal(r.n_seds, 2); /* one per member OUS */
    assert_int_equal(r.seds[0].n_spw, 4);
    NEAR(r.seds[0].alpha, -0.5, 1e-9);
    assert_int_equal(r.seds[1].n_spw, 2);
    asw_result_clear(&r);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/asw-test-reduce-fits-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipeline_image_with_pb_and_catalogue),
        cmocka_unit_test(two_axis_image_and_beams_table),
        cmocka_unit_test(bad_headers_are_row_errors),
        cmocka_unit_test(corrupt_files_are_row_errors),
        cmocka_unit_test(cube_spectrum_and_line),
        cmocka_unit_test(seds_per_source_and_ous),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
