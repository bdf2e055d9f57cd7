/* Unit tests: the pipeline's flux.csv (src/reduce/fluxcat). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/reduce/fluxcat.h"

static const char csv[] =
    "ms,field,spw,I,Q,U,V,spix,uvmin,uvmax,comment\n"
    "uid___A002_Xd28a9e_X71b8.ms,0,25,1.25000,0.0,0.0,0.0,-0.700,0.0,0.0,"
    "\"# field=J1924-2914 intents=AMPLITUDE,BANDPASS origin=DB age=1.0\"\n"
    "uid___A002_Xd28a9e_X71b8.ms,0,27,1.20000,0.0,0.0,0.0,-0.700,0.0,0.0,"
    "\"# field=J1924-2914 intents=AMPLITUDE,BANDPASS origin=DB age=1.0\"\n"
    "uid___A002_Xd28a9e_X8c2f.ms,0,25,1.35000,0.0,0.0,0.0,-0.700,0.0,0.0,"
    "\"# field=J1924-2914 intents=AMPLITUDE,BANDPASS origin=DB age=2.0\"\n"
    "uid___A002_Xd28a9e_X71b8.ms,J1751+0939,25,0.9,0,0,0,-0.3,0,0,\n"
    "garbage line without enough cells\n"
    "x.ms,0,notanumber,1.0,0,0,0,0,0,0,\"# field=J0000+0000\"\n";

static void parse_and_lookup(void **state)
{
    (void)state;
    struct asw_fluxcat c = {0};
    assert_int_equal(asw_fluxcat_parse(csv, strlen(csv), &c, NULL), 0);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.rows[0].field, "J1924-2914");
    assert_int_equal(c.rows[0].field_id, 0);
    assert_true(fabs(c.rows[0].spix + 0.7) < 1e-12);
    /* the mean over execution blocks */
    assert_true(fabs(asw_fluxcat_lookup(&c, "J1924-2914", 25) - 1.3) < 1e-12);
    assert_true(fabs(asw_fluxcat_lookup(&c, "J1924-2914", 27) - 1.2) < 1e-12);
    /* the field column holds a name when there is no comment */
    assert_true(fabs(asw_fluxcat_lookup(&c, "J1751+0939", 25) - 0.9) < 1e-12);
    assert_true(isnan(asw_fluxcat_lookup(&c, "J1924-2914", 99)));
    assert_true(isnan(asw_fluxcat_lookup(NULL, "J1924-2914", 25)));
    /* a second file appends */
    assert_int_equal(asw_fluxcat_parse(csv, strlen(csv), &c, NULL), 0);
    assert_int_equal(c.n, 8);
    asw_fluxcat_free(&c);
    assert_true(c.rows == NULL && c.n == 0);
    asw_fluxcat_free(NULL);
}

static void hostile_text(void **state)
{
    (void)state;
    struct asw_fluxcat c = {0};
    struct asw_err e = {0};
    assert_int_equal(asw_fluxcat_parse("", 0, &c, &e), ASW_EPARSE);
    assert_int_equal(asw_fluxcat_parse("a,b,c\n1,2,3\n", 12, &c, &e),
                     ASW_EPARSE);
    /* a 100 kB cell, an unterminated quote and NUL bytes: parsed or
     * skipped, never overrun */
    size_t n = 200000;
    char *big = malloc(n);
    size_t k = (size_t)snprintf(big, n, "field,spw,I,comment\nJ1,3,1.5,\"");
    memset(big + k, 'x', n - k);
    big[k + 5] = '\0';
    assert_int_equal(asw_fluxcat_parse(big, n, &c, &e), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.rows[0].field, "J1");
    asw_fluxcat_free(&c);
    /* a field name longer than the column is left out, not cut */
    snprintf(big, n, "field,spw,I,comment\n0,3,1.5,\"# field=%0100d\"\n", 7);
    assert_int_equal(asw_fluxcat_parse(big, strlen(big), &c, &e), 0);
    assert_int_equal(c.n, 0);
    free(big);
    asw_fluxcat_free(&c);
}

static void row_cap(void **state)
{
    (void)state;
    size_t rows = ASW_FLUXCAT_MAX_ROWS + 5, n = 20 + rows * 12;
    char *t = malloc(n), *p = t;
    p += sprintf(p, "field,spw,I\n");
    for (size_t i = 0; i < rows; i++)
        p += sprintf(p, "J%d,1,1.0\n", (int)(i % 1000));
    struct asw_fluxcat c = {0};
    struct asw_err e = {0};
    assert_int_equal(asw_fluxcat_parse(t, (size_t)(p - t), &c, &e),
                     ASW_ETOOBIG);
    assert_int_equal(c.n, ASW_FLUXCAT_MAX_ROWS);
    asw_fluxcat_free(&c);
    free(t);
    assert_int_equal(asw_fluxcat_load("/nonexistent/flux.csv", &c, &e),
                     ASW_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_and_lookup),
        cmocka_unit_test(hostile_text),
        cmocka_unit_test(row_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
