/* Self-checks of the simulator's ADQL translation, LIKE and geometry. */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);              \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

static void expect_sql(const char *adql, const char *want)
{
    char *out = NULL, err[256] = "";
    int rc = asw_sim_adql_to_sql(adql, &out, err, sizeof(err));
    CHECK(rc == 0, "translate [%s]: %s", adql, err);
    if (rc == 0)
        CHECK(strcmp(out, want) == 0,
              "translate [%s]\n  got  [%s]\n  want [%s]", adql, out, want);
    free(out);
}

static void expect_reject(const char *adql)
{
    char *out = NULL, err[256] = "";
    CHECK(asw_sim_adql_to_sql(adql, &out, err, sizeof(err)) != 0,
          "should reject [%s], got [%s]", adql, out ? out : "");
    free(out);
}

static sqlite3 *db;

/* Runs ADQL through the translation; returns the integer of the first
 * column of the first row, -1 for NULL, -99 on error. */
static long long adql_int(const char *adql)
{
    char *sql = NULL, err[256];
    sqlite3_stmt *st = NULL;
    long long v = -99;
    if (asw_sim_adql_to_sql(adql, &sql, err, sizeof(err))) {
        fprintf(stderr, "  translate: %s\n", err);
        return -99;
    }
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "  prepare [%s]: %s\n", sql, sqlite3_errmsg(db));
        free(sql);
        return -99;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL
                ? -1
                : sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "  step [%s]: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    free(sql);
    return v;
}

static double adql_double(const char *adql)
{
    char *sql = NULL, err[256];
    sqlite3_stmt *st = NULL;
    double v = NAN;
    if (asw_sim_adql_to_sql(adql, &sql, err, sizeof(err)))
        return NAN;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_double(st, 0);
    else
        fprintf(stderr, "  [%s]: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    free(sql);
    return v;
}

#define IS(adql, want)                                                         \
    do {                                                                       \
        long long got_ = adql_int(adql);                                       \
        CHECK(got_ == (want), "%s -> %lld, want %lld", adql, got_,             \
              (long long)(want));                                              \
    } while (0)

static void test_translation(void)
{
    expect_sql("SELECT TOP 5 * FROM ivoa.obscore WHERE a LIKE 'x%'",
               "SELECT * FROM obscore WHERE a LIKE 'x%' LIMIT 5");
    expect_sql("select distinct top 3 member_ous_uid from ivoa.obscore",
               "select distinct member_ous_uid from obscore LIMIT 3");
    expect_sql("SELECT 'ivoa.obscore TOP 3 ILIKE' FROM ivoa.ObsCore",
               "SELECT 'ivoa.obscore TOP 3 ILIKE' FROM ObsCore");
    expect_sql("SELECT * FROM (SELECT TOP 3 * FROM ivoa.obscore) AS t",
               "SELECT * FROM (SELECT * FROM obscore LIMIT 3) AS t");
    expect_sql("SELECT TOP 10 a FROM t ORDER BY a OFFSET 5",
               "SELECT a FROM t ORDER BY a LIMIT 10 OFFSET 5");
    expect_sql("SELECT a FROM t OFFSET 5", "SELECT a FROM t LIMIT -1 OFFSET 5");
    expect_sql("SELECT a FROM t WHERE b ILIKE 'j19%';",
               "SELECT a FROM t WHERE b MATCH 'j19%'");
    expect_sql("SELECT LOG(x), o.log FROM t AS o -- comment\n",
               "SELECT LN(x), o.log FROM t AS o");
    expect_sql("SELECT \"ivoa\".x FROM t", "SELECT \"ivoa\".x FROM t");
    expect_reject("DELETE FROM obscore");
    expect_reject("PRAGMA writable_schema=1");
    expect_reject("SELECT 'unterminated");
    expect_reject("SELECT (1");
    expect_reject("SELECT TOP x * FROM t");
    expect_reject("");
}

static void test_like(void)
{
    IS("SELECT 'J1924-2914' LIKE 'J19%'", 1);
    IS("SELECT 'j1924-2914' LIKE 'J19%'", 0); /* case-sensitive */
    IS("SELECT 'j1924-2914' ILIKE 'J19%'", 1);
    IS("SELECT 'a_c' LIKE 'a\\_c'", 1);
    IS("SELECT 'abc' LIKE 'a\\_c'", 0);
    IS("SELECT 'abc' LIKE 'a_c'", 1);
    IS("SELECT '100%' LIKE '100\\%'", 1);
    IS("SELECT '1000' LIKE '100\\%'", 0);
    IS("SELECT 'abc' LIKE '%'", 1);
    IS("SELECT '' LIKE '%'", 1);
    IS("SELECT 'xaxbxc' LIKE '%a%b%c'", 1);
    IS("SELECT 'xaxbx' LIKE '%a%b%c'", 0);
    IS("SELECT '3 7' LIKE '%7%'", 1);
    IS("SELECT 'a|b' LIKE 'a!|b' ESCAPE '!'", 1);
    IS("SELECT 'axb' LIKE 'a!%b' ESCAPE '!'", 0);
    IS("SELECT 'a\\b' LIKE 'a\\b' ESCAPE '!'", 1);
    IS("SELECT 'a_b' LIKE 'a!_b' ESCAPE '!'", 1);
    IS("SELECT 'Zürich' LIKE 'Z_rich'", 1); /* _ is one character */
    IS("SELECT NULL LIKE 'a'", -1);
    IS("SELECT TRUNCATE(2.789, 1) * 10", 27);
}

static void test_geometry(void)
{
    /* dist = 0.15 * cos(20 deg) = 0.141 */
    IS("SELECT INTERSECTS(CIRCLE('ICRS', 10, 20, 0.1), "
       "'Circle ICRS 10.15 20 0.05')",
       1);
    IS("SELECT INTERSECTS(CIRCLE('ICRS', 10, 20, 0.1), "
       "'Circle ICRS 10.15 20 0.03')",
       0);
    /* RA wrap at 0 */
    IS("SELECT INTERSECTS(CIRCLE('ICRS', 359.95, 0, 0.1), "
       "'Position ICRS 0.02 0')",
       1);
    /* near the pole RA spacing shrinks */
    IS("SELECT CONTAINS(POINT('ICRS', 180, 89.95), CIRCLE('ICRS', 0, 89.95, "
       "0.11))",
       1);
    const char *poly = "'Polygon ICRS 83.831185 -5.264207 83.827356 -5.260845 "
                       "83.830732 -5.257032 83.834561 -5.260394'";
    char q[512];
    snprintf(q, sizeof(q), "SELECT CONTAINS(POINT('ICRS', 83.831, -5.261), %s)",
             poly);
    IS(q, 1);
    snprintf(q, sizeof(q), "SELECT CONTAINS(POINT('ICRS', 83.84, -5.261), %s)",
             poly);
    IS(q, 0);
    snprintf(q, sizeof(q),
             "SELECT INTERSECTS(CIRCLE('ICRS', 83.84, -5.261, 0.01), %s)",
             poly);
    IS(q, 1);
    snprintf(q, sizeof(q),
             "SELECT INTERSECTS(CIRCLE('ICRS', 83.84, -5.261, 0.001), %s)",
             poly);
    IS(q, 0);

    /* A polygon with a hole. */
    const char *holed = "'Polygon ICRS 0 0 10 0 10 10 0 10 "
                        "Not (Polygon 4 4 6 4 6 6 4 6)'";
    snprintf(q, sizeof(q), "SELECT CONTAINS(POINT('ICRS', 5, 5), %s)", holed);
    IS(q, 0);
    snprintf(q, sizeof(q), "SELECT CONTAINS(POINT('ICRS', 2, 2), %s)", holed);
    IS(q, 1);
    snprintf(q, sizeof(q), "SELECT INTERSECTS(CIRCLE('ICRS', 5, 5, 0.1), %s)",
             holed);
    IS(q, 0);
    snprintf(q, sizeof(q), "SELECT INTERSECTS(CIRCLE('ICRS', 5, 5, 2), %s)",
             holed);
    IS(q, 1);

    IS("SELECT INTERSECTS(POINT('ICRS', 10, 10.5), "
       "'Union ICRS ( Circle 0 0 1 Circle 10 10 1 )')",
       1);
    IS("SELECT INTERSECTS(POINT('ICRS', 5, 5), "
       "'Union ICRS ( Circle 0 0 1 Circle 10 10 1 )')",
       0);
    /* Two thin crossing bars: no vertex of one lies in the other. */
    IS("SELECT INTERSECTS(POLYGON('ICRS', 0, -0.1, 10, -0.1, 10, 0.1, 0, "
       "0.1), POLYGON('ICRS', 4.9, -5, 5.1, -5, 5.1, 5, 4.9, 5))",
       1);
    IS("SELECT INTERSECTS(POLYGON('ICRS', 0, -0.1, 4, -0.1, 4, 0.1, 0, 0.1), "
       "POLYGON('ICRS', 4.9, -5, 5.1, -5, 5.1, 5, 4.9, 5))",
       0);
    /* Circle outside a square but reaching over an edge. */
    IS("SELECT INTERSECTS(CIRCLE('ICRS', 0.5, 1.05, 0.1), "
       "POLYGON('ICRS', 0, 0, 1, 0, 1, 1, 0, 1))",
       1);
    IS("SELECT INTERSECTS(CIRCLE('ICRS', 0.5, 1.05, 0.03), "
       "POLYGON('ICRS', 0, 0, 1, 0, 1, 1, 0, 1))",
       0);
    IS("SELECT CONTAINS(CIRCLE('ICRS', 0.5, 0.5, 0.2), "
       "POLYGON('ICRS', 0, 0, 1, 0, 1, 1, 0, 1))",
       1);
    IS("SELECT CONTAINS(CIRCLE('ICRS', 0.5, 0.9, 0.2), "
       "POLYGON('ICRS', 0, 0, 1, 0, 1, 1, 0, 1))",
       0);
    IS("SELECT CONTAINS(POINT('ICRS', 15, 0), RANGE_S2D(10, 20, -5, 5))", 1);
    IS("SELECT CONTAINS(POINT('ICRS', 25, 0), RANGE_S2D(10, 20, -5, 5))", 0);
    IS("SELECT CONTAINS(POINT('ICRS', 0.5, 0), RANGE_S2D(359, 1, -5, 5))", 1);
    IS("SELECT CONTAINS(POINT('ICRS', 1.5, 0), BOX('ICRS', 1, 0, 2, 2))", 1);
    IS("SELECT INTERSECTS(NULL, CIRCLE('ICRS', 1, 1, 1))", -1);
    IS("SELECT INTERSECTS('Blob 1 2', CIRCLE('ICRS', 1, 1, 1))", -99);
    IS("SELECT INTERSECTS(CIRCLE('ICRS', 1, 100, 1), 'Circle ICRS 1 1 1')",
       -99);

    double d = adql_double("SELECT DISTANCE(POINT('ICRS', 0, 0), "
                           "POINT('ICRS', 1, 0))");
    CHECK(fabs(d - 1.0) < 1e-9, "DISTANCE = %.12f", d);
    d = adql_double("SELECT DISTANCE(10, 89, 190, 89)");
    CHECK(fabs(d - 2.0) < 1e-9, "DISTANCE over the pole = %.12f", d);
    d = adql_double("SELECT AREA(CIRCLE('ICRS', 0, 0, 1))");
    CHECK(fabs(d - M_PI) < 1e-3, "AREA(circle r=1) = %.6f", d);
    d = adql_double("SELECT COORD2(POINT('ICRS', 12.5, -33.25))");
    CHECK(fabs(d + 33.25) < 1e-12, "COORD2 = %.12f", d);
}

static void test_query(void)
{
    char *err = NULL;
    int rc = sqlite3_exec(
        db,
        "CREATE TABLE obscore(target_name TEXT, s_region TEXT, s_ra REAL);"
        "INSERT INTO obscore VALUES ('J1924-2914', "
        "'Circle ICRS 291.21 -29.24 0.01', 291.21),"
        "('J0423-0120', 'Circle ICRS 65.81 -1.34 0.01', 65.81),"
        "('J1924_2914', 'Circle ICRS 291.21 -29.24 0.01', 291.21);",
        NULL, NULL, &err);
    CHECK(rc == SQLITE_OK, "setup: %s", err ? err : "");
    sqlite3_free(err);
    IS("SELECT COUNT(*) FROM ivoa.obscore WHERE "
       "INTERSECTS(CIRCLE('ICRS', 291.2, -29.24, 0.05), s_region) = 1",
       2);
    IS("SELECT COUNT(*) FROM ivoa.obscore WHERE target_name LIKE 'J1924\\_%'",
       1);
    IS("SELECT COUNT(*) FROM (SELECT TOP 2 * FROM ivoa.obscore) AS t", 2);
}

int main(void)
{
    test_translation();
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        asw_sim_adql_register(db) != SQLITE_OK) {
        fprintf(stderr, "cannot set up sqlite\n");
        return 1;
    }
    test_like();
    test_geometry();
    test_query();
    sqlite3_close(db);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("all ADQL checks passed\n");
    return 0;
}
