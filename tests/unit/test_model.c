/* Unit tests: uids, the unit and result JSON forms, product names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "jobs/measure.h"
#include "src/result.h"
#include "src/unit.h"

static void uid_forms(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(asw_uid_sanitize("uid://A001/X12a3/Xe9", out, sizeof out),
                     0);
    assert_string_equal(out, "uid___A001_X12a3_Xe9");
    assert_int_equal(
        asw_uid_sanitize("uid___A002_Xd28a9e_X71b8", out, sizeof out), 0);
    assert_string_equal(out, "uid___A002_Xd28a9e_X71b8");
    assert_int_equal(asw_uid_sanitize("uid://foo/bar", out, sizeof out),
                     ASW_EINVAL);
    assert_int_equal(asw_uid_sanitize("uid://A001/X1/../X2", out, sizeof out),
                     ASW_EINVAL);
    assert_int_equal(asw_uid_sanitize("uid://A001/X1/X2", out, 8), ASW_EINVAL);
}

static void unit_json_roundtrip(void **state)
{
    (void)state;
    struct asw_unit u = {0}, v;
    strcpy(u.id, "uid___A001_X1_X2");
    u.kind = ASW_UNIT_MOUS_PRODUCTS;
    strcpy(u.project, "2019.1.00001.S");
    strcpy(u.mous_uid, "uid://A001/X1/X2");
    strcpy(u.band, "4 9");
    u.obs_mjd = 58800.25;
    assert_int_equal(asw_unit_add_source(&u, "J1924-2914"), 0);
    assert_int_equal(asw_unit_add_source(&u, "J1924-2914"), 0);
    assert_int_equal(u.n_sources, 1);
    assert_int_equal(asw_unit_add_file(&u, "a.tar", "http://h/dataPortal/a.tar",
                                       2684354560LL, "#this"),
                     0);
    char *j = asw_unit_to_json(&u);
    assert_non_null(strstr(j, "\"bytes\":2684354560"));
    assert_int_equal(asw_unit_from_json(j, strlen(j), &v, NULL), 0);
    assert_string_equal(v.id, u.id);
    assert_int_equal(v.kind, ASW_UNIT_MOUS_PRODUCTS);
    assert_string_equal(v.band, "4 9");
    assert_int_equal(v.n_files, 1);
    assert_true(v.files[0].size_bytes == 2684354560LL);
    assert_int_equal(v.bytes_total, 2684354560LL);
    assert_true(fabs(v.obs_mjd - 58800.25) < 1e-9);
    free(j);
    asw_unit_clear(&v);
    asw_unit_clear(&u);
    struct asw_err err = {0};
    assert_int_equal(asw_unit_from_json("{\"id\":1}", 8, &v, &err), ASW_EPARSE);
}

static void result_json_roundtrip(void **state)
{
    (void)state;
    struct asw_result r = {0}, s;
    strcpy(r.unit_id, "uid___A001_X1_X2");
    r.status = ASW_ST_DONE;
    r.bytes_fetched = 1LL << 40;
    struct asw_image m;
    asw_image_init(&m);
    strcpy(m.file, "f.fits");
    m.peak_jy = 1.2345678901234567;
    m.spw = 16;
    assert_int_equal(asw_result_add_image(&r, &m), 0);
    char *j = asw_result_to_json(&r);
    assert_int_equal(asw_result_from_json(j, strlen(j), &s, NULL), 0);
    assert_int_equal(s.status, ASW_ST_DONE);
    assert_int_equal(s.n_images, 1);
    assert_true(s.images[0].peak_jy == m.peak_jy); /* exact round trip */
    assert_true(isnan(s.images[0].rms_jy));
    assert_int_equal(s.images[0].spw, 16);
    assert_true(s.bytes_fetched == 1LL << 40);
    free(j);
    asw_result_clear(&s);
    asw_result_clear(&r);
}

/* A spectrum of n channels with distinct peak-pixel and aperture values;
 * ap_flux_jy left NULL when !with_ap. */
static void add_spec(struct asw_result *r, const char *file, size_t n,
                     int with_ap)
{
    struct asw_spectrum sp;
    memset(&sp, 0, sizeof sp);
    snprintf(sp.file, sizeof sp.file, "%s", file);
    snprintf(sp.source, sizeof sp.source, "J1851+0035");
    sp.spw = 25;
    sp.mjd = 59001.25;
    sp.n_chan = n;
    double **arr[] = {&sp.freq_hz,  &sp.flux_jy, &sp.ap_flux_jy,
                      &sp.noise_jy, &sp.cont_jy, &sp.tau};
    for (size_t a = 0; a < sizeof arr / sizeof arr[0]; a++) {
        if (arr[a] == &sp.ap_flux_jy && !with_ap)
            continue;
        *arr[a] = malloc(n * sizeof(double));
        assert_non_null(*arr[a]);
        for (size_t i = 0; i < n; i++)
            (*arr[a])[i] = (double)(a + 1) * 1000.0 + (double)i / 3.0;
    }
    if (with_ap)
        sp.ap_flux_jy[1] = NAN; /* not measured in this channel */
    assert_int_equal(asw_result_add_spectrum(r, &sp), 0);
}

static void spectrum_json_roundtrip(void **state)
{
    (void)state;
    struct asw_result r = {0}, s;
    struct asw_err err = {0};
    strcpy(r.unit_id, "uid___A001_X1_X2");
    r.status = ASW_ST_DONE;
    add_spec(&r, "a.cube.fits", 4, 1);
    add_spec(&r, "b.cube.fits", 3, 0);
    char *j = asw_result_to_json(&r);
    assert_non_null(j);
    assert_int_equal(asw_result_from_json(j, strlen(j), &s, &err), 0);
    assert_int_equal(s.n_spectra, 2);
    const struct asw_spectrum *a = &r.spectra[0], *b = &s.spectra[0];
    assert_string_equal(b->file, "a.cube.fits");
    assert_int_equal(b->n_chan, 4);
    assert_true(b->mjd == a->mjd);
    for (size_t i = 0; i < 4; i++) {
        /* exact, and the aperture is not the peak pixel */
        assert_true(b->flux_jy[i] == a->flux_jy[i]);
        assert_true(b->tau[i] == a->tau[i]);
        if (i == 1) {
            assert_true(isnan(b->ap_flux_jy[i]));
            continue;
        }
        assert_true(b->ap_flux_jy[i] == a->ap_flux_jy[i]);
        assert_true(b->ap_flux_jy[i] != b->flux_jy[i]);
    }
    /* No aperture spectrum: it arrives as NaN, never as NULL. */
    b = &s.spectra[1];
    assert_int_equal(b->n_chan, 3);
    assert_non_null(b->ap_flux_jy);
    for (size_t i = 0; i < 3; i++)
        assert_true(isnan(b->ap_flux_jy[i]));
    asw_result_clear(&s);

    /* A spectrum without ap_flux_jy, or with another length, is refused. */
    static const char *bad[] = {
        "{\"status\":\"done\",\"spectra\":[{\"freq_hz\":[1,2],"
        "\"flux_jy\":[1,2],\"noise_jy\":[1,2],\"cont_jy\":[1,2],"
        "\"tau\":[1,2]}]}",
        "{\"status\":\"done\",\"spectra\":[{\"freq_hz\":[1,2],"
        "\"flux_jy\":[1,2],\"ap_flux_jy\":[1],\"noise_jy\":[1,2],"
        "\"cont_jy\":[1,2],\"tau\":[1,2]}]}",
    };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(asw_result_from_json(bad[i], strlen(bad[i]), &s, &err),
                         ASW_EPARSE);
        assert_int_equal(s.n_spectra, 0);
    }
    free(j);
    asw_result_clear(&r);
}

static void product_names(void **state)
{
    (void)state;
    struct asw_product_name p;
    assert_int_equal(
        asw_product_name_parse("x/member.uid___A001_X1465_X2f66.J1924-2914_"
                               "bp.spw16.mfs.I.pbcor.fits",
                               &p),
        0);
    assert_string_equal(p.mous, "uid___A001_X1465_X2f66");
    assert_string_equal(p.source, "J1924-2914");
    assert_string_equal(p.intent, "bp");
    assert_int_equal(p.spw, 16);
    assert_string_equal(p.specmode, "mfs");
    assert_string_equal(p.stokes, "I");
    assert_int_equal(p.pbcor, 1);
    assert_true(asw_intent_is_calibrator(p.intent));
    assert_int_equal(asw_product_name_parse(
                         "member.uid___A001_X1383_X222.141-1952_136-1955_sci."
                         "spw25_27_29.cont.I.pb.fits.gz",
                         &p),
                     0);
    assert_string_equal(p.source, "141-1952_136-1955");
    assert_string_equal(p.intent, "sci");
    assert_int_equal(p.spw, 25);
    assert_int_equal(p.pbcor, 0);
    assert_false(asw_intent_is_calibrator(p.intent));
    assert_int_equal(asw_product_name_parse("README.txt", &p), ASW_EINVAL);
    assert_int_equal(asw_product_name_parse("member.uid___A001_X1_X2.J0_bp."
                                            "spwX.mfs",
                                            &p),
                     ASW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uid_forms),
        cmocka_unit_test(unit_json_roundtrip),
        cmocka_unit_test(result_json_roundtrip),
        cmocka_unit_test(spectrum_json_roundtrip),
        cmocka_unit_test(product_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
