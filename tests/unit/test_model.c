/* Unit tests: uids, the unit and result JSON forms, product names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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
        cmocka_unit_test(product_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
