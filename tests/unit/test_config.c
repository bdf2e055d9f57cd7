/* Unit tests: configuration parsing and ${VAR} expansion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/config.h"

static void expand_default_and_nesting(void **state)
{
    (void)state;
    struct asw_err err = {0};
    unsetenv("ASW_T_UNSET");
    setenv("ASW_T_SET", "/scratch", 1);
    char *s = asw_config_expand("${ASW_T_SET}/x", &err);
    assert_string_equal(s, "/scratch/x");
    free(s);
    s = asw_config_expand("${ASW_T_UNSET:-${ASW_T_SET:-no}}/y", &err);
    assert_string_equal(s, "/scratch/y");
    free(s);
    s = asw_config_expand("${ASW_T_UNSET:-/tmp}", &err);
    assert_string_equal(s, "/tmp");
    free(s);
    assert_null(asw_config_expand("${ASW_T_UNSET}", &err));
    assert_int_equal(err.code, ASW_ECONFIG);
    assert_non_null(strstr(err.msg, "ASW_T_UNSET"));
    assert_null(asw_config_expand("${ASW_T_SET", &err));
    assert_null(asw_config_expand("${BAD NAME}", &err));
}

static void parse_full(void **state)
{
    (void)state;
    struct asw_config c;
    struct asw_err err = {0};
    setenv("ASW_T_MIRROR", "http://127.0.0.1:9", 1);
    const char *text =
        "[archive]\n"
        "mirrors = ${ASW_T_MIRROR}, https://almascience.eso.org\n"
        "targets = J1924-2914, J1751+0939 , NGC 253\n"
        "bands = 3, 7\n"
        "cycles = 2019\n"
        "public_only = no\n"
        "[pipeline]\nmode = products\n"
        "[output]\ncatalogue = out.h5\n"
        "[run]\nmax_attempts = 5\nresume = false\n";
    assert_int_equal(asw_config_parse(text, "t.ini", &c, &err), 0);
    assert_int_equal(c.mirrors.n, 2);
    assert_string_equal(c.mirrors.v[0], "http://127.0.0.1:9");
    assert_int_equal(c.targets.n, 3);
    assert_string_equal(c.targets.v[1], "J1751+0939");
    assert_string_equal(c.targets.v[2], "NGC 253");
    assert_int_equal(c.bands.n, 2);
    assert_string_equal(c.bands.v[1], "7");
    assert_int_equal(c.public_only, 0);
    assert_int_equal(c.max_attempts, 5);
    assert_int_equal(c.resume, 0);
    assert_string_equal(c.catalogue, "out.h5");
    assert_string_equal(c.mode, "products");
    assert_non_null(c.scratch_dir);
    asw_config_free(&c);
}

static void defaults(void **state)
{
    (void)state;
    struct asw_config c;
    assert_int_equal(
        asw_config_parse("[archive]\nmirrors=http://x\n", "t", &c, NULL), 0);
    assert_int_equal(c.public_only, 1);
    assert_int_equal(c.resume, 1);
    assert_int_equal(c.max_attempts, 3);
    assert_int_equal(c.targets.n, 0);
    asw_config_free(&c);
}

static void errors_name_the_line(void **state)
{
    (void)state;
    struct asw_config c;
    struct asw_err err = {0};
    assert_int_equal(asw_config_parse("[archive]\nmirrors=http://x\n\n"
                                      "bandz = 3\n",
                                      "t.ini", &c, &err),
                     ASW_ECONFIG);
    assert_non_null(strstr(err.msg, "t.ini:4"));
    assert_non_null(strstr(err.msg, "bandz"));
    assert_int_equal(
        asw_config_parse("[archive]\nmirrors=http://x\nbands=3, 11\n", "t", &c,
                         &err),
        ASW_ECONFIG);
    assert_non_null(strstr(err.msg, "'11'"));
    assert_int_equal(
        asw_config_parse("[archive]\nmirrors=ftp://x\n", "t", &c, &err),
        ASW_ECONFIG);
    assert_int_equal(
        asw_config_parse("[archive]\ncycles=2019\n", "t", &c, &err),
        ASW_ECONFIG);
    assert_non_null(strstr(err.msg, "mirrors"));
    assert_int_equal(asw_config_parse("[archive]\nmirrors=http://x\n"
                                      "cycles=19' OR 1=1\n",
                                      "t", &c, &err),
                     ASW_ECONFIG);
    assert_int_equal(asw_config_parse("[pipeline]\nmode=fast\n", "t", &c, &err),
                     ASW_ECONFIG);
    assert_int_equal(asw_config_parse("[run]\nmax_attempts=0\n", "t", &c, &err),
                     ASW_ECONFIG);
}

static void long_lists_continue(void **state)
{
    (void)state;
    struct asw_config c;
    struct asw_err err = {0};
    assert_int_equal(asw_config_parse("[archive]\nmirrors=http://x\n"
                                      "targets = J0006-0623, J0237+2848,\n"
                                      "  J0238+1636, J0319+4130\n"
                                      "targets = J0334-4008\n",
                                      "t", &c, &err),
                     0);
    assert_int_equal(c.targets.n, 5);
    assert_string_equal(c.targets.v[3], "J0319+4130");
    assert_string_equal(c.targets.v[4], "J0334-4008");
    asw_config_free(&c);
    char text[400] = "[archive]\nmirrors=http://x\ntargets=";
    size_t n = strlen(text);
    memset(text + n, 'J', 250);
    text[n + 250] = '\0';
    assert_int_equal(asw_config_parse(text, "t.ini", &c, &err), ASW_ECONFIG);
    assert_non_null(strstr(err.msg, "t.ini:3"));
    assert_non_null(strstr(err.msg, "longer than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expand_default_and_nesting),
        cmocka_unit_test(parse_full),
        cmocka_unit_test(defaults),
        cmocka_unit_test(errors_name_the_line),
        cmocka_unit_test(long_lists_continue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
