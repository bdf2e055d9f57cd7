/* Unit tests: ADQL quoting and the query builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quote_doubles_quotes),
        cmocka_unit_test(match_wildcards),
        cmocka_unit_test(build_selection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
