/* Unit tests: ADQL quoting and the query builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/adql.h"

static void quote_doubles_quotes(void **state)
{
    (void)state;
    struct asw_buf b;
    asw_buf_init(&b, 1024);
    assert_int_equal(asw_adql_quote(&b, "J1924-2914' OR '1'='1"), 0);
    assert_string_equal(b.data, "'J1924-2914'' OR ''1''=''1'");
    asw_buf_reset(&b);
    assert_int_equal(asw_adql_quote(&b, "a\nb"), ASW_EINVAL);
    asw_buf_free(&b);
}

static void match_wildcards(void **state)
{
    (void)state;
    struct asw_buf b;
    asw_buf_init(&b, 1024);
    assert_int_equal(asw_adql_match(&b, "target_name", "J1924-2914"), 0);
    assert_string_equal(b.data, "target_name = 'J1924-2914'");
    asw_buf_reset(&b);
    assert_int_equal(asw_adql_match(&b, "target_name", "J19*_x%?"), 0);
    assert_string_equal(b.data, "target_name LIKE 'J19%\\_x\\%_'");
    asw_buf_free(&b);
}

static void build_selection(void **state)
{
    (void)state;
    struct asw_config c;
    assert_int_equal(asw_config_parse("[archive]\nmirrors=http://x\n"
                                      "targets=J1924-2914' OR '1'='1, J0*\n"
                                      "bands=3 7\ncycles=2019\n",
                                      "t", &c, NULL),
                     0);
    struct asw_buf b;
    asw_buf_init(&b, 1 << 16);
    assert_int_equal(asw_adql_build(&c, &b, NULL), 0);
    const char *q = b.data;
    assert_non_null(strstr(q, "FROM ivoa.obscore WHERE science_observation "
                              "= 'F'"));
    assert_non_null(strstr(q, "target_name = 'J1924-2914'' OR ''1''=''1'"));
    assert_non_null(strstr(q, "target_name LIKE 'J0%'"));
    assert_non_null(strstr(q, "band_list = '7' OR band_list LIKE '7 %'"));
    assert_non_null(strstr(q, "proposal_id LIKE '2019.%'"));
    assert_non_null(strstr(q, "data_rights = 'Public'"));
    assert_non_null(strstr(q, "antenna_arrays LIKE '%:DA%'"));
    /* The hostile name never closes its literal: count the quotes. */
    size_t quotes = 0;
    for (const char *p = q; *p; p++)
        quotes += *p == '\'';
    assert_int_equal(quotes % 2, 0);
    asw_buf_free(&b);
    asw_config_free(&c);
}

/* Build the query for a configuration text; returns the malloc'd ADQL. */
static char *adql_for(const char *ini)
{
    struct asw_config c;
    struct asw_err err = {0};
    if (asw_config_parse(ini, "t", &c, &err))
        fail_msg("config: %s", err.msg);
    struct asw_buf b;
    asw_buf_init(&b, 1 << 16);
    assert_int_equal(asw_adql_build(&c, &b, NULL), 0);
    asw_config_free(&c);
    return b.data;
}

static void selection_dates_cone_freq(void **state)
{
    (void)state;
    char *q = adql_for("[archive]\nmirrors=http://x\n"
                       "date_from = 2019-10-01\ndate_to = 2020-02-29\n"
                       "cone = 291.2127332, -29.2417003, 0.5\n"
                       "freq_min_ghz = 200\nfreq_max_ghz = 250\n"
                       "velocity_resolution_max = 10000\n");
    /* MJD 58757 = 2019-10-01; 2020-02-29 is a leap day, its whole day
     * counts: t_min < MJD 58909 (2020-03-01). */
    assert_non_null(strstr(q, " AND t_min >= 58757 AND t_min < 58909"));
    assert_non_null(strstr(q, " AND INTERSECTS(CIRCLE('ICRS', 291.2127332, "
                              "-29.2417003, 0.5), s_region) = 1"));
    /* A spw overlaps [200, 250] GHz: its em_max (its lowest frequency)
     * at or above c/250 GHz and its em_min at or below c/200 GHz. */
    const char *p = strstr(q, " AND em_max >= ");
    assert_non_null(p);
    assert_true(strtod(p + 15, NULL) == 0.299792458 / 250);
    p = strstr(q, " AND em_min <= ");
    assert_non_null(p);
    assert_true(strtod(p + 15, NULL) == 0.299792458 / 200);
    assert_non_null(strstr(q, " AND velocity_resolution <= 10000"));
    assert_non_null(strstr(q, "antenna_arrays LIKE '%:DA%'"));
    assert_non_null(strstr(q, " AND data_rights = 'Public'"));
    free(q);

    /* 7-m included: no array condition. */
    q = adql_for("[archive]\nmirrors=http://x\ninclude_7m = yes\n");
    assert_null(strstr(q, "antenna_arrays LIKE"));
    free(q);
}

static void credentials_and_public(void **state)
{
    (void)state;
    /* Credentials configured: public_only defaults to false ... */
    char *q = adql_for("[archive]\nmirrors=http://x\ncredentials = netrc\n");
    assert_null(strstr(q, "data_rights ="));
    free(q);
    /* ... unless set explicitly. */
    q = adql_for("[archive]\nmirrors=http://x\ncredentials = env\n"
                 "public_only = true\n");
    assert_non_null(strstr(q, "data_rights = 'Public'"));
    free(q);
    q = adql_for("[archive]\nmirrors=http://x\ncredentials = none\n");
    assert_non_null(strstr(q, "data_rights = 'Public'"));
    free(q);
    struct asw_config c;
    assert_int_equal(asw_config_parse("[archive]\nmirrors=http://x\n"
                                      "credentials = env\n",
                                      "t", &c, NULL),
                     0);
    assert_string_equal(c.user_env, "ALMA_USER");
    assert_string_equal(c.password_env, "ALMA_PASSWORD");
    asw_config_free(&c);
}

static void bad_selection_values(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "date_from = 2019-13-01",  "date_from = 2019-02-29",
        "date_to = 20190101",      "date_from = yesterday",
        "cone = 10, 20",           "cone = 10, 95, 1",
        "cone = 10, 20, 0",        "cone = 10, 20, 1, 4",
        "freq_min_ghz = -1",       "freq_max_ghz = 1e400",
        "freq_min_ghz = nan",      "velocity_resolution_max = x",
        "credentials = yes",       "user_env = A-B",
        "max_rows_per_query = -5", "retries = 99",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char ini[256];
        snprintf(ini, sizeof ini, "[archive]\nmirrors=http://x\n%s\n", bad[i]);
        struct asw_config c;
        struct asw_err err = {0};
        if (asw_config_parse(ini, "t", &c, &err) != ASW_ECONFIG)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err.msg, "[archive]"));
    }
    /* Ranges the wrong way round. */
    struct asw_config c;
    struct asw_err err = {0};
    assert_int_equal(asw_config_parse("[archive]\nmirrors=http://x\n"
                                      "date_from=2020-01-02\n"
                                      "date_to=2020-01-01\n",
                                      "t", &c, &err),
                     ASW_ECONFIG);
    assert_non_null(strstr(err.msg, "date_to is before date_from"));
    assert_int_equal(asw_config_parse("[archive]\nmirrors=http://x\n"
                                      "freq_min_ghz=300\nfreq_max_ghz=200\n",
                                      "t", &c, &err),
                     ASW_ECONFIG);
}

static void numbers(void **state)
{
    (void)state;
    struct asw_buf b;
    asw_buf_init(&b, 1024);
    assert_int_equal(asw_adql_number(&b, 0.1), 0);
    assert_string_equal(b.data, "0.1");
    asw_buf_reset(&b);
    assert_int_equal(asw_adql_number(&b, -29.2417003), 0);
    assert_string_equal(b.data, "-29.2417003");
    asw_buf_reset(&b);
    assert_int_equal(asw_adql_number(&b, 1e-300), 0);
    assert_true(strtod(b.data, NULL) == 1e-300);
    assert_int_equal(asw_adql_number(&b, NAN), ASW_EINVAL);
    assert_int_equal(asw_adql_number(&b, INFINITY), ASW_EINVAL);
    asw_buf_free(&b);
}

static void split_parts(void **state)
{
    (void)state;
    struct asw_config c;
    assert_int_equal(asw_config_parse("[archive]\nmirrors=http://x\n"
                                      "targets=J1924-2914\n",
                                      "t", &c, NULL),
                     0);
    struct asw_buf b;
    asw_buf_init(&b, 1 << 16);
    struct asw_adql_part p = {
        .cycle = "20_9", .band_list = "4 9", .project = "2019.1.0' OR 1=1 --"};
    assert_int_equal(asw_adql_build_part(&c, ASW_ADQL_ROWS, NULL, &p, &b, NULL),
                     0);
    /* The cycle prefix matches literally ('_' escaped), then '.%'. */
    assert_non_null(strstr(b.data, " AND proposal_id LIKE '20\\_9.%'"));
    assert_non_null(strstr(b.data, " AND band_list = '4 9'"));
    assert_non_null(
        strstr(b.data, " AND proposal_id = '2019.1.0'' OR 1=1 --'"));
    assert_non_null(strstr(b.data, "target_name = 'J1924-2914'"));
    asw_buf_reset(&b);
    struct asw_adql_part nul = {.mous_uid = "", .cycle = ""};
    assert_int_equal(
        asw_adql_build_part(&c, ASW_ADQL_COUNT, NULL, &nul, &b, NULL), 0);
    assert_true(strncmp(b.data, "SELECT COUNT(*) AS n FROM ivoa.obscore", 38) ==
                0);
    assert_non_null(
        strstr(b.data, "(member_ous_uid IS NULL OR member_ous_uid = '')"));
    assert_non_null(
        strstr(b.data, "(proposal_id IS NULL OR proposal_id = '')"));
    asw_buf_reset(&b);
    assert_int_equal(
        asw_adql_build_part(&c, ASW_ADQL_DISTINCT, "band_list", NULL, &b, NULL),
        0);
    assert_true(strncmp(b.data, "SELECT DISTINCT band_list FROM", 30) == 0);
    asw_buf_reset(&b);
    /* Only known columns are pasted into a query. */
    assert_int_equal(asw_adql_build_part(&c, ASW_ADQL_DISTINCT,
                                         "band_list; DROP TABLE x", NULL, &b,
                                         NULL),
                     ASW_EINVAL);
    asw_buf_free(&b);
    asw_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quote_doubles_quotes),
        cmocka_unit_test(match_wildcards),
        cmocka_unit_test(build_selection),
        cmocka_unit_test(selection_dates_cone_freq),
        cmocka_unit_test(credentials_and_public),
        cmocka_unit_test(bad_selection_values),
        cmocka_unit_test(numbers),
        cmocka_unit_test(split_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
