/*
 * test_votable.c - io/votable: the four real ALMA archive answers
 * (fixtures/alma-archive), synthetic edge cases (tests/fixtures/votable),
 * caps, errors, the JSON/CSV writers and a flat-memory stress run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "io/votable.h"
#include "src/buf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- fixture paths ------------------------------------------------- */

static char src_dir[4096];
static char shared_dir[4096 + 16];

static void init_dirs(void)
{
    const char *s = getenv("ASW_SOURCE_DIR");
    if (s && *s) {
        snprintf(src_dir, sizeof src_dir, "%s", s);
    } else {
        /* __FILE__ is .../tests/unit/test_votable.c under CMake. */
        snprintf(src_dir, sizeof src_dir, "%s", __FILE__);
        char *cut = strstr(src_dir, "/tests/unit/");
        if (cut)
            *cut = '\0';
        else
            snprintf(src_dir, sizeof src_dir, ".");
    }
    const char *sh = getenv("ASW_SHARED_DIR");
    if (sh && *sh)
        snprintf(shared_dir, sizeof shared_dir, "%s", sh);
    else
        snprintf(shared_dir, sizeof shared_dir, "%s/../shared", src_dir);
}

static const char *real(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/fixtures/alma-archive/%s", shared_dir,
             name);
    return path;
}

static const char *synth(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/tests/fixtures/votable/%s", src_dir, name);
    return path;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

static struct asw_vot_table *load(const char *path)
{
    struct asw_vot_table *t = NULL;
    struct asw_err err = {0};
    int rc = asw_vot_parse_file(path, &t, &err);
    if (rc)
        fail_msg("%s: %s (%d)", path, err.msg, rc);
    assert_non_null(t);
    return t;
}

/* Parse expecting failure; return the code and keep the message. */
static int load_fail(const char *path, const struct asw_vot_limits *lim,
                     struct asw_err *err)
{
    struct asw_vot_table *t = (void *)1;
    int rc = asw_vot_parse_file_limits(path, lim, &t, err);
    assert_null(t);
    assert_int_not_equal(rc, 0);
    assert_int_equal(err->code, rc);
    return rc;
}

static int col(const struct asw_vot_table *t, const char *name)
{
    int c = asw_vot_field_index(t, name);
    if (c < 0)
        fail_msg("no FIELD %s", name);
    return c;
}

static const char *cell(const struct asw_vot_table *t, size_t r,
                        const char *name)
{
    return asw_vot_cell(t, r, (size_t)col(t, name));
}

/* Write t as JSON into memory and parse it back with jansson. */
static json_t *to_json(const struct asw_vot_table *t, char **text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    struct asw_err err = {0};
    int rc = asw_vot_write_json(t, f, &err);
    fclose(f);
    if (rc)
        fail_msg("write_json: %s", err.msg);
    json_error_t jerr;
    json_t *j = json_loads(buf, 0, &jerr);
    if (!j)
        fail_msg("JSON does not parse: %s at %d: %s", jerr.text, jerr.line,
                 buf);
    if (text)
        *text = buf;
    else
        free(buf);
    return j;
}

static json_t *jv(json_t *arr, size_t row, const char *key)
{
    json_t *o = json_array_get(arr, row);
    assert_non_null(o);
    json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("row %zu has no key %s", row, key);
    return v;
}

static void assert_jint(json_t *arr, size_t row, const char *key,
                        long long want)
{
    json_t *v = jv(arr, row, key);
    assert_true(json_is_integer(v));
    assert_true(json_integer_value(v) == want);
}

static void assert_jnull(json_t *arr, size_t row, const char *key)
{
    assert_true(json_is_null(jv(arr, row, key)));
}

/* ---- stress: flat memory ------------------------------------------ */

struct stress {
    size_t rows;
    unsigned long long sum;
    int bad;
};

static int stress_row(void *ud, size_t row, const char *const *cells, size_t n,
                      struct asw_err *err)
{
    struct stress *s = ud;
    if (n != 12 || !cells[8] || cells[2] ||
        strtoull(cells[8], NULL, 10) != 3000000000ULL + row)
        s->bad++;
    s->sum += strtoull(cells[8], NULL, 10);
    s->rows++;
    return 0;
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Runs first, so that the process high-water mark is still low. */
static void test_stress_flat_memory(void **state)
{
    /* ~100 MB in about a second unsanitised; 10 MB under ASan. */
    const size_t target = UNDER_ASAN ? (size_t)10 << 20 : (size_t)100 << 20;
    static const char head[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<VOTABLE xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" "
        "version=\"1.4\">\n<RESOURCE type=\"results\">\n"
        "<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n<TABLE>\n"
        "<FIELD name=\"ID\" datatype=\"char\" arraysize=\"*\"/>\n"
        "<FIELD name=\"access_url\" datatype=\"char\" arraysize=\"*\"/>\n"
        "<FIELD name=\"service_def\" datatype=\"char\" arraysize=\"*\"/>\n"
        "<FIELD name=\"error_message\" datatype=\"char\" arraysize=\"*\"/>\n"
        "<FIELD name=\"semantics\" datatype=\"char\" arraysize=\"*\"/>\n"
        "<FIELD name=\"local_semantics\" datatype=\"char\" "
        "arraysize=\"*\"/>\n"
        "<FIELD name=\"description\" datatype=\"char\" arraysize=\"*\"/>\n"
        "<FIELD name=\"content_type\" datatype=\"char\" arraysize=\"*\"/>\n"
        "<FIELD name=\"content_length\" datatype=\"long\"/>\n"
        "<FIELD name=\"content_qualifier\" datatype=\"char\" "
        "arraysize=\"*\"/>\n"
        "<FIELD name=\"link_auth\" datatype=\"char\" arraysize=\"*\"/>\n"
        "<FIELD name=\"link_authorized\" datatype=\"boolean\"/>\n"
        "<DATA><TABLEDATA>\n";
    static const char tail[] = "</TABLEDATA></DATA></TABLE>\n"
                               "<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n"
                               "</RESOURCE></VOTABLE>\n";
    struct stress s = {0};
    struct asw_vot_callbacks cb = {.on_row = stress_row};
    struct asw_vot_parser *p = asw_vot_parser_new(&cb, &s, NULL);
    assert_non_null(p);
    struct asw_err err = {0};
    size_t cap = 64 * 1024, fed = 0, expect_rows = 0;
    unsigned long long expect_sum = 0;
    char *chunk = malloc(cap + 1024);
    assert_non_null(chunk);
    long rss0 = maxrss_kb();
    clock_t t0 = clock();

    assert_int_equal(asw_vot_parser_feed(p, head, strlen(head), &err), 0);
    while (fed < target) {
        size_t n = 0;
        while (n < cap) {
            unsigned long long len = 3000000000ULL + expect_rows;
            n += (size_t)snprintf(
                chunk + n, cap + 1024 - n,
                "<TR><TD>uid://A001/X12a3/X%zx</TD>"
                "<TD>https://almascience.org/dataPortal/2017.1.01185.S_"
                "uid___A002_Xd28a9e_X%zx.asdm.sdm.tar</TD><TD/><TD/>"
                "<TD>#progenitor</TD><TD>raw</TD>"
                "<TD>Download dataset of type: , and class: N/A.</TD>"
                "<TD>application/x-tar</TD><TD>%llu</TD><TD/>"
                "<TD>optional</TD><TD>true</TD></TR>\n",
                expect_rows, expect_rows, len);
            expect_sum += len;
            expect_rows++;
        }
        if (asw_vot_parser_feed(p, chunk, n, &err))
            fail_msg("feed: %s", err.msg);
        fed += n;
    }
    assert_int_equal(asw_vot_parser_feed(p, tail, strlen(tail), &err), 0);
    assert_int_equal(asw_vot_parser_finish(p, &err), 0);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    long rss1 = maxrss_kb();
    print_message("stress: %zu MB, %zu rows in %.2f s CPU; max RSS %ld -> "
                  "%ld KiB\n",
                  fed >> 20, s.rows, secs, rss0, rss1);
    assert_int_equal(s.rows, expect_rows);
    assert_int_equal(asw_vot_parser_rows(p), expect_rows);
    assert_true(s.sum == expect_sum);
    assert_int_equal(s.bad, 0);
    /* The document is 10-100 MB; the parser must not grow with it. */
    assert_true(rss1 - rss0 < 16 * 1024);
    free(chunk);
    asw_vot_parser_free(p);
}

/* ---- real archive answers ----------------------------------------- */

static void test_alma_datalink(void **state)
{
    struct asw_vot_table *t = load(real("alma-datalink.xml"));
    assert_int_equal(t->nfields, 9);
    assert_int_equal(t->nrows, 9);
    assert_string_equal(t->fields[0].name, "ID");
    assert_string_equal(t->fields[7].name, "content_length");
    assert_string_equal(t->fields[7].datatype, "long");
    assert_string_equal(t->fields[7].unit, "byte");
    assert_string_equal(t->fields[7].ucd, "phys.size;meta.file");
    assert_null(t->fields[7].arraysize);
    assert_string_equal(t->fields[8].datatype, "boolean");
    assert_int_equal(asw_vot_field_index(t, "nope"), -1);

    /* The four raw ASDM tars, all above 2^31 bytes (read off the file). */
    static const char *const asdm[] = {"2343569408", "2343861248", "2616798208",
                                       "2680167424"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(cell(t, 5 + i, "semantics"), "#progenitor");
        assert_string_equal(cell(t, 5 + i, "content_length"), asdm[i]);
    }
    assert_string_equal(cell(t, 5, "access_url"),
                        "https://almascience.org/dataPortal/"
                        "2017.1.01185.S_uid___A002_Xd28a9e_X71b8.asdm.sdm.tar");
    assert_string_equal(cell(t, 0, "readable"), "true");
    assert_string_equal(cell(t, 0, "content_length"), "3523");
    /* The service_def row: empty access_url, content_length, readable. */
    assert_null(cell(t, 2, "access_url"));
    assert_null(cell(t, 2, "content_length"));
    assert_null(cell(t, 2, "readable"));
    assert_string_equal(cell(t, 2, "service_def"),
                        "DataLink.2017.1.01185.S_uid___A001_X12a3_Xe9_001_"
                        "of_001.tar");
    assert_null(asw_vot_cell(t, 9, 0));
    assert_null(asw_vot_cell(t, 0, 9));

    /* INFO placeholder, no QUERY_STATUS. */
    assert_int_equal(t->ninfos, 1);
    assert_string_equal(asw_vot_info(t, "placeholder"), "ignore");
    assert_null(asw_vot_info(t, "QUERY_STATUS"));

    /* results + two adhoc:service resources. */
    assert_int_equal(t->nresources, 3);
    assert_string_equal(t->resources[0].type, "results");
    assert_null(t->resources[0].id);
    for (size_t i = 1; i < 3; i++) {
        assert_string_equal(t->resources[i].type, "meta");
        assert_string_equal(t->resources[i].utype, "adhoc:service");
        assert_int_equal(t->resources[i].nparams, 2);
        assert_string_equal(asw_vot_param_value(&t->resources[i], "standardID"),
                            "ivo://ivoa.net/std/DataLink#links-1.0");
        assert_null(t->resources[i].params[0].group);
    }
    const struct asw_vot_resource *r = asw_vot_resource_by_id(
        t, "DataLink.2017.1.01185.S_uid___A001_X12a3_Xe9_auxiliary.tar");
    assert_ptr_equal(r, &t->resources[2]);
    assert_string_equal(asw_vot_param_value(r, "accessURL"),
                        "https://almascience.org/datalink/sync?ID=2017.1."
                        "01185.S_uid___A001_X12a3_Xe9_auxiliary.tar");
    r = asw_vot_resource_by_id(t, cell(t, 2, "service_def"));
    assert_ptr_equal(r, &t->resources[1]);
    assert_string_equal(asw_vot_param_value(r, "accessURL"),
                        "https://almascience.org/datalink/sync?ID=2017.1."
                        "01185.S_uid___A001_X12a3_Xe9_001_of_001.tar");
    assert_null(asw_vot_param_value(r, "inputParams"));

    /* Typed JSON: exact 64-bit sizes, booleans, nulls. */
    json_t *j = to_json(t, NULL);
    assert_int_equal(json_array_size(j), 9);
    assert_jint(j, 5, "content_length", 2343569408LL);
    assert_jint(j, 6, "content_length", 2343861248LL);
    assert_jint(j, 7, "content_length", 2616798208LL);
    assert_jint(j, 8, "content_length", 2680167424LL);
    assert_true(json_is_true(jv(j, 0, "readable")));
    assert_jnull(j, 2, "readable");
    assert_jnull(j, 2, "content_length");
    assert_string_equal(json_string_value(jv(j, 1, "semantics")), "#this");
    json_decref(j);
    asw_vot_table_free(t);
}

static void test_alma_recurse_this(void **state)
{
    struct asw_vot_table *t = load(real("alma-datalink-recurse-this.xml"));
    assert_int_equal(t->nrows, 8);
    assert_int_equal(t->nfields, 9);
    size_t this = 0, cutout = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        const char *s = cell(t, i, "semantics");
        this += strcmp(s, "#this") == 0;
        cutout += strcmp(s, "#cutout") == 0;
    }
    assert_int_equal(this, 6);
    assert_int_equal(cutout, 2);
    assert_string_equal(cell(t, 4, "content_length"), "405008640");
    assert_string_equal(cell(t, 1, "service_def"), "SODA.sync");
    assert_null(cell(t, 1, "access_url"));

    /* The duplicate RESOURCE ID is kept twice, each with its own URL. */
    size_t soda = 0;
    const char *urls[2] = {NULL, NULL};
    for (size_t i = 0; i < t->nresources; i++)
        if (t->resources[i].id &&
            strcmp(t->resources[i].id, "SODA.sync") == 0) {
            assert_int_equal(t->resources[i].nparams, 3);
            assert_string_equal(
                asw_vot_param_value(&t->resources[i], "resourceIdentifier"),
                "ivo://alma.eu/soda");
            if (soda < 2)
                urls[soda] = asw_vot_param_value(&t->resources[i], "accessURL");
            soda++;
        }
    assert_int_equal(soda, 2);
    assert_non_null(strstr(urls[0], "spw0_1_2_3_4_5_6_7_8_9_10_11_12_13_14_"
                                    "15.mfs.I.manual.image.pbcor.fits"));
    assert_non_null(
        strstr(urls[1], "spw0_4_8_12.cube.I.manual.image.pbcor.fits"));
    assert_ptr_equal(asw_vot_resource_by_id(t, "SODA.sync"), &t->resources[1]);
    asw_vot_table_free(t);
}

static void test_alma_shapes(void **state)
{
    struct asw_vot_table *t = load(real("alma-shapes.xml"));
    assert_int_equal(t->nrows, 5);
    assert_int_equal(t->nfields, 5);
    assert_string_equal(asw_vot_info(t, "QUERY_STATUS"), "OK");
    /* INFOs in document order: three before the TABLE, one after. */
    assert_int_equal(t->ninfos, 4);
    assert_string_equal(t->infos[0].name, "QUERY_STATUS");
    assert_string_equal(t->infos[1].name, "QUERY_TIMESTAMP");
    assert_string_equal(t->infos[2].name, "QUERY");
    assert_string_equal(t->infos[3].name, "placeholder");
    assert_non_null(
        strstr(t->infos[2].value, "obs_id='uid://A001/X1465/X2f66.source."));
    assert_string_equal(t->fields[4].xtype, "adql:REGION");
    assert_string_equal(t->fields[3].unit, "GHz");
    assert_string_equal(t->fields[1].utype,
                        "obscore:Char.SpatialAxis.Coverage.Location.Coord."
                        "Position2D.Value2.C1");
    assert_string_equal(cell(t, 0, "s_ra"), "337.25073645418405");
    assert_string_equal(cell(t, 0, "s_region"),
                        "Circle ICRS 337.250736 -69.175076 0.008223");
    const char *u = cell(t, 1, "s_region");
    assert_int_equal(strncmp(u, "Union ICRS ( Polygon 266.149398", 31), 0);
    assert_int_equal(u[strlen(u) - 1], ')');
    assert_non_null(strstr(cell(t, 3, "s_region"), "Not (Polygon"));
    assert_string_equal(cell(t, 4, "obs_publisher_did"),
                        "ADS/JAO.ALMA#2016.1.00298.S");

    char *text;
    json_t *j = to_json(t, &text);
    assert_true(json_real_value(jv(j, 0, "s_ra")) == 337.25073645418405);
    assert_true(json_real_value(jv(j, 3, "s_dec")) == -27.807152863261976);
    /* Floats round-trip textually too. */
    assert_non_null(strstr(text, "\"s_ra\":337.25073645418405,"));
    free(text);
    json_decref(j);
    asw_vot_table_free(t);
}

static void test_ngc4945_legacy(void **state)
{
    struct asw_vot_table *t = load(real("ngc4945-legacy.xml"));
    assert_int_equal(t->nrows, 17);
    assert_int_equal(t->nfields, 36);
    /* FIELDs without datatype are read as char. */
    int mosaic = col(t, "Mosaic");
    assert_string_equal(t->fields[mosaic].datatype, "char");
    assert_string_equal(t->fields[col(t, "Release date")].datatype, "char");
    assert_string_equal(t->fields[col(t, "PWV")].datatype, "float");
    assert_string_equal(t->fields[0].name, "Project code");
    assert_string_equal(t->fields[35].name, "ASA_PROJECT_CODE");

    assert_string_equal(cell(t, 0, "Project code"), "2011.0.00121.S");
    assert_string_equal(cell(t, 0, "Release date"), "2013-08-21");
    assert_null(cell(t, 0, "Mosaic"));
    assert_string_equal(cell(t, 0, "COUNT"), "4");
    assert_string_equal(cell(t, 16, "Project code"), "2016.2.00098.S");
    assert_string_equal(cell(t, 16, "Array"), "7m");
    assert_string_equal(cell(t, 16, "ASA_PROJECT_CODE"), "2016.2.00098.S");
    /* CRLF is normalised by XML: no CR survives in any cell. */
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->nfields; c++) {
            const char *s = asw_vot_cell(t, r, c);
            assert_true(!s || !strchr(s, '\r'));
        }
    /* Entities in the QUERY attribute: &#xA; and &quot;. */
    assert_int_equal(t->ninfos, 3);
    const char *q = asw_vot_info(t, "QUERY");
    assert_non_null(q);
    static const char head[] =
        "SELECT\n distinct asa_ous.asa_project_code AS \"Project code\",\n";
    assert_int_equal(strncmp(q, head, strlen(head)), 0);
    assert_null(strstr(q, "&lt;"));
    assert_non_null(strstr(q, ") < 0.001454))"));
    assert_string_equal(t->infos[2].name, "QUERY_STATUS");
    assert_string_equal(t->infos[2].value, "OK");

    json_t *j = to_json(t, NULL);
    assert_int_equal(json_array_size(j), 17);
    assert_jint(j, 0, "COUNT", 4);
    assert_jnull(j, 0, "Mosaic");
    assert_true(json_real_value(jv(j, 0, "PWV")) == 0.75131315);
    assert_string_equal(json_string_value(jv(j, 0, "Release date")),
                        "2013-08-21");
    json_decref(j);
    asw_vot_table_free(t);
}

/* Any split of the input gives the same table as one file read. */
static void check_same(const struct asw_vot_table *a,
                       const struct asw_vot_table *b)
{
    assert_int_equal(a->nrows, b->nrows);
    assert_int_equal(a->nfields, b->nfields);
    assert_int_equal(a->ninfos, b->ninfos);
    assert_int_equal(a->nresources, b->nresources);
    for (size_t r = 0; r < a->nrows; r++)
        for (size_t c = 0; c < a->nfields; c++) {
            const char *x = a->rows[r][c], *y = b->rows[r][c];
            assert_true((x == NULL) == (y == NULL));
            if (x)
                assert_string_equal(x, y);
        }
}

static void test_chunk_splits(void **state)
{
    static const char *const files[] = {
        "alma-datalink.xml", "alma-datalink-recurse-this.xml",
        "alma-shapes.xml", "ngc4945-legacy.xml"};
    static const size_t sizes[] = {1, 2, 3, 7, 13, 4096};
    for (size_t f = 0; f < 4; f++) {
        size_t len;
        char *doc = slurp(real(files[f]), &len);
        struct asw_vot_table *ref = load(real(files[f]));
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            struct asw_vot_collector *c = asw_vot_collector_new(NULL);
            struct asw_err err = {0};
            for (size_t o = 0; o < len; o += sizes[s]) {
                size_t n = len - o < sizes[s] ? len - o : sizes[s];
                assert_int_equal(asw_vot_collector_feed(c, doc + o, n, &err),
                                 0);
            }
            struct asw_vot_table *t;
            assert_int_equal(asw_vot_collector_finish(c, &t, &err), 0);
            check_same(ref, t);
            asw_vot_table_free(t);
            asw_vot_collector_free(c);
        }
        struct asw_vot_table *m;
        struct asw_err err = {0};
        assert_int_equal(asw_vot_parse_mem(doc, len, &m, &err), 0);
        check_same(ref, m);
        asw_vot_table_free(m);
        asw_vot_table_free(ref);
        free(doc);
    }
}

/* ---- push API ------------------------------------------------------ */

struct counts {
    size_t fields_calls, nfields, rows, infos, params, res_end;
    size_t stop_at;
    int stop_rc;
    int set_msg;
    char last_param_res[128];
    char res_ids[4][128];
};

static int k_fields(void *ud, const struct asw_vot_field *f, size_t n,
                    struct asw_err *err)
{
    struct counts *c = ud;
    c->fields_calls++;
    c->nfields = n;
    return 0;
}

static int k_row(void *ud, size_t row, const char *const *cells, size_t n,
                 struct asw_err *err)
{
    struct counts *c = ud;
    assert_int_equal(row, c->rows);
    assert_int_equal(n, c->nfields);
    c->rows++;
    if (c->stop_rc && row == c->stop_at) {
        if (c->set_msg)
            return asw_err_set(err, c->stop_rc, "test", "enough at %zu", row);
        return c->stop_rc;
    }
    return 0;
}

static int k_info(void *ud, const struct asw_vot_resource_info *res,
                  const char *name, const char *value, const char *text,
                  struct asw_err *err)
{
    struct counts *c = ud;
    c->infos++;
    return 0;
}

static int k_param(void *ud, const struct asw_vot_resource_info *res,
                   const char *group, const char *name, const char *value,
                   struct asw_err *err)
{
    struct counts *c = ud;
    c->params++;
    assert_non_null(res);
    snprintf(c->last_param_res, sizeof c->last_param_res, "%s/%s",
             res->id ? res->id : "-", res->utype ? res->utype : "-");
    return 0;
}

static int k_res_end(void *ud, const struct asw_vot_resource_info *res,
                     struct asw_err *err)
{
    struct counts *c = ud;
    if (c->res_end < 4)
        snprintf(c->res_ids[c->res_end], sizeof c->res_ids[0], "%zu:%s",
                 res->index, res->id ? res->id : "-");
    c->res_end++;
    return 0;
}

static const struct asw_vot_callbacks kcb = {k_fields, k_row, k_info, k_param,
                                             k_res_end};

static int push_file(const char *path, struct counts *c,
                     const struct asw_vot_limits *lim, struct asw_err *err,
                     struct asw_vot_parser **keep)
{
    size_t len;
    char *doc = slurp(path, &len);
    struct asw_vot_parser *p = asw_vot_parser_new(&kcb, c, lim);
    assert_non_null(p);
    int rc = asw_vot_parser_feed(p, doc, len, err);
    if (!rc)
        rc = asw_vot_parser_finish(p, err);
    free(doc);
    if (keep)
        *keep = p;
    else
        asw_vot_parser_free(p);
    return rc;
}

static void test_push_callbacks(void **state)
{
    struct counts c = {0};
    struct asw_err err = {0};
    assert_int_equal(push_file(real("alma-datalink.xml"), &c, NULL, &err, NULL),
                     0);
    assert_int_equal(c.fields_calls, 1);
    assert_int_equal(c.nfields, 9);
    assert_int_equal(c.rows, 9);
    assert_int_equal(c.infos, 1);
    assert_int_equal(c.params, 4);
    assert_string_equal(c.last_param_res,
                        "DataLink.2017.1.01185.S_uid___A001_X12a3_Xe9_"
                        "auxiliary.tar/adhoc:service");
    assert_int_equal(c.res_end, 3);
    assert_string_equal(c.res_ids[0], "0:-");
    assert_string_equal(c.res_ids[2], "2:DataLink.2017.1.01185.S_uid___A001_"
                                      "X12a3_Xe9_auxiliary.tar");
}

static void test_push_stop(void **state)
{
    /* A callback's code stops the parse; the parser names the callback. */
    struct counts c = {.stop_at = 3, .stop_rc = -42};
    struct asw_err err = {0};
    struct asw_vot_parser *p;
    assert_int_equal(push_file(real("alma-datalink.xml"), &c, NULL, &err, &p),
                     -42);
    assert_int_equal(c.rows, 4);
    assert_int_equal(asw_vot_parser_rows(p), 4);
    assert_int_equal(err.code, -42);
    assert_non_null(strstr(err.msg, "on_row"));
    /* Sticky: later calls report the same error. */
    struct asw_err again = {0};
    assert_int_equal(asw_vot_parser_feed(p, "<x/>", 4, &again), -42);
    assert_int_equal(asw_vot_parser_finish(p, &again), -42);
    assert_string_equal(again.msg, err.msg);
    asw_vot_parser_free(p);

    /* feed() after a successful finish() is a caller bug. */
    p = asw_vot_parser_new(NULL, NULL, NULL);
    assert_int_equal(asw_vot_parser_feed(p, "<VOTABLE/>", 10, &err), 0);
    assert_int_equal(asw_vot_parser_finish(p, &err), 0);
    assert_int_equal(asw_vot_parser_feed(p, " ", 1, &err), ASW_EINVAL);
    asw_vot_parser_free(p);

    /* A callback's own message is kept. */
    struct counts c2 = {.stop_at = 0, .stop_rc = ASW_EPROTO, .set_msg = 1};
    assert_int_equal(push_file(real("alma-shapes.xml"), &c2, NULL, &err, NULL),
                     ASW_EPROTO);
    assert_string_equal(err.module, "test");
    assert_string_equal(err.msg, "enough at 0");
}

static void test_push_max_rows(void **state)
{
    struct counts c = {0};
    struct asw_err err = {0};
    struct asw_vot_limits lim = {.max_rows = 3};
    assert_int_equal(push_file(real("alma-datalink.xml"), &c, &lim, &err, NULL),
                     ASW_ETOOBIG);
    assert_int_equal(c.rows, 3);
    assert_non_null(strstr(err.msg, "max_rows (3)"));
    assert_non_null(strstr(err.msg, "row index 3"));
}

/* ---- synthetic documents ------------------------------------------ */

static void test_datalink11(void **state)
{
    struct asw_vot_table *t = load(synth("datalink11.xml"));
    assert_int_equal(t->nfields, 12);
    assert_int_equal(t->nrows, 3);
    static const char *const names[] = {"ID",
                                        "access_url",
                                        "service_def",
                                        "error_message",
                                        "semantics",
                                        "local_semantics",
                                        "description",
                                        "content_type",
                                        "content_length",
                                        "content_qualifier",
                                        "link_auth",
                                        "link_authorized"};
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(asw_vot_field_index(t, names[i]), (int)i);
    assert_string_equal(cell(t, 0, "content_qualifier"), "#package");
    assert_string_equal(cell(t, 1, "link_auth"), "false");
    /* Row 2 has 11 TDs for 12 FIELDs: the missing one is NULL. */
    assert_string_equal(cell(t, 2, "link_auth"), "optional");
    assert_null(cell(t, 2, "link_authorized"));
    assert_null(cell(t, 2, "content_qualifier"));

    json_t *j = to_json(t, NULL);
    assert_jint(j, 0, "content_length", INT64_MAX);
    assert_jint(j, 2, "content_length", 4294967296LL);
    assert_true(json_is_true(jv(j, 0, "link_authorized")));
    assert_true(json_is_false(jv(j, 1, "link_authorized")));
    assert_jnull(j, 2, "link_authorized");
    assert_string_equal(json_string_value(jv(j, 1, "link_auth")), "false");
    json_decref(j);

    /* A PARAM inside GROUP inputParams carries the group name. */
    const struct asw_vot_resource *r = &t->resources[1];
    assert_string_equal(r->utype, "adhoc:service");
    assert_int_equal(r->nparams, 3);
    assert_null(r->params[1].group);
    assert_string_equal(r->params[2].name, "ID");
    assert_string_equal(r->params[2].group, "inputParams");
    assert_string_equal(asw_vot_param_value(r, "standardID"),
                        "ivo://ivoa.net/std/DataLink#links-1.1");
    asw_vot_table_free(t);
}

static void test_datalink_notfound(void **state)
{
    static const char *const files[] = {"datalink-notfound.xml",
                                        "datalink-notfound-utf16.xml"};
    for (size_t i = 0; i < 2; i++) {
        struct asw_vot_table *t = load(synth(files[i]));
        assert_int_equal(t->nrows, 1);
        assert_string_equal(cell(t, 0, "semantics"), "#error");
        assert_null(cell(t, 0, "access_url"));
        assert_string_equal(cell(t, 0, "ID"), "uid://C0/C1/C2");
        const char *m = cell(t, 0, "error_message");
        assert_int_equal(strncmp(m, "NotFoundFault: uid://C0/C1/C2", 29), 0);
        if (i == 1) /* UTF-16 input comes out as UTF-8. */
            assert_string_equal(m + 29, " \xc3\xa9\xe6\x9d\xb1");
        asw_vot_table_free(t);
    }
}

static void test_tap_error(void **state)
{
    struct asw_vot_table *t = load(synth("tap-error.xml"));
    assert_int_equal(t->nfields, 0);
    assert_int_equal(t->nrows, 0);
    assert_string_equal(asw_vot_info(t, "QUERY_STATUS"), "ERROR");
    assert_string_equal(t->infos[0].text,
                        "IllegalArgumentException: ORA-01489: result of "
                        "string concatenation is too long");
    assert_null(t->infos[1].text);
    json_t *j = to_json(t, NULL);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    asw_vot_table_free(t);
}

static void test_tap_overflow(void **state)
{
    struct asw_vot_table *t = load(synth("tap-overflow.xml"));
    assert_int_equal(t->nrows, 2);
    assert_string_equal(cell(t, 1, "target_name"), "J0423-0120");
    /* OVERFLOW comes after the table: the TAP client must look at every
     * QUERY_STATUS, not just the first. */
    assert_int_equal(t->ninfos, 2);
    assert_string_equal(asw_vot_info(t, "QUERY_STATUS"), "OK");
    assert_string_equal(t->infos[1].name, "QUERY_STATUS");
    assert_string_equal(t->infos[1].value, "OVERFLOW");
    assert_string_equal(t->infos[1].text, "result truncated at MAXREC=2");
    asw_vot_table_free(t);
}

static void test_midstream_xml_decl(void **state)
{
    struct asw_err err = {0};
    assert_int_equal(load_fail(synth("tap-midstream-xmldecl.xml"), NULL, &err),
                     ASW_EPARSE);
    assert_string_equal(err.module, "votable");
    assert_non_null(
        strstr(err.msg, "XML or text declaration not at start of entity"));
    assert_non_null(strstr(err.msg, "line 12, column 46"));

    /* Streaming: the two complete rows came through before the error. */
    struct counts c = {0};
    assert_int_equal(
        push_file(synth("tap-midstream-xmldecl.xml"), &c, NULL, &err, NULL),
        ASW_EPARSE);
    assert_int_equal(c.rows, 2);
}

static void test_truncated(void **state)
{
    struct asw_err err = {0};
    assert_int_equal(load_fail(synth("truncated.xml"), NULL, &err), ASW_EPARSE);
    assert_non_null(strstr(err.msg, "line "));

    /* feed() accepts the prefix; finish() notices the cut. */
    size_t len;
    char *doc = slurp(synth("truncated.xml"), &len);
    struct counts c = {0};
    struct asw_vot_parser *p = asw_vot_parser_new(&kcb, &c, NULL);
    assert_int_equal(asw_vot_parser_feed(p, doc, len, &err), 0);
    assert_int_equal(c.rows, 1);
    assert_int_equal(asw_vot_parser_finish(p, &err), ASW_EPARSE);
    assert_non_null(strstr(err.msg, "XML error at line"));
    asw_vot_parser_free(p);

    /* Cut right after the root's end tag is fine; cut one byte before it
     * is not. */
    size_t dl;
    char *d = slurp(real("alma-shapes.xml"), &dl);
    const char *end = strstr(d, "</VOTABLE>") + strlen("</VOTABLE>");
    struct asw_vot_table *t;
    assert_int_equal(asw_vot_parse_mem(d, (size_t)(end - d), &t, &err), 0);
    asw_vot_table_free(t);
    assert_int_equal(asw_vot_parse_mem(d, (size_t)(end - d) - 1, &t, &err),
                     ASW_EPARSE);
    assert_int_equal(asw_vot_parse_mem(d, 0, &t, &err), ASW_EPARSE);
    free(d);
    free(doc);
}

static char *doc_with_cell(size_t cell_len, size_t *len)
{
    static const char head[] =
        "<VOTABLE><RESOURCE><TABLE><FIELD name=\"a\"/><FIELD name=\"big\"/>"
        "<DATA><TABLEDATA><TR><TD>first</TD><TD>row</TD></TR><TR><TD>x</TD>"
        "<TD>";
    static const char tail[] =
        "</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>";
    *len = strlen(head) + cell_len + strlen(tail);
    char *d = malloc(*len + 1);
    assert_non_null(d);
    memcpy(d, head, strlen(head));
    memset(d + strlen(head), 'z', cell_len);
    memcpy(d + strlen(head) + cell_len, tail, strlen(tail) + 1);
    return d;
}

static void test_cell_cap(void **state)
{
    size_t len;
    struct asw_err err = {0};
    struct asw_vot_table *t;
    /* Exactly the default cap is fine ... */
    char *d = doc_with_cell(ASW_VOT_MAX_CELL_BYTES, &len);
    assert_int_equal(asw_vot_parse_mem(d, len, &t, &err), 0);
    assert_int_equal(strlen(asw_vot_cell(t, 1, 1)), ASW_VOT_MAX_CELL_BYTES);
    asw_vot_table_free(t);
    free(d);
    /* ... one byte more is not. */
    d = doc_with_cell(ASW_VOT_MAX_CELL_BYTES + 1, &len);
    assert_int_equal(asw_vot_parse_mem(d, len, &t, &err), ASW_ETOOBIG);
    assert_null(t);
    assert_non_null(strstr(err.msg, "max_cell_bytes (1048576)"));
    assert_non_null(strstr(err.msg, "row index 1, column 1 ('big')"));
    free(d);
}

static void test_row_and_field_caps(void **state)
{
    struct asw_err err = {0};
    /* Row cap: the datalink rows hold 182, 187, ... bytes of TD text. */
    struct asw_vot_limits lim = {.max_row_bytes = 185};
    assert_int_equal(load_fail(real("alma-datalink.xml"), &lim, &err),
                     ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "max_row_bytes (185)"));
    assert_non_null(strstr(err.msg, "row index 1"));

    struct asw_vot_limits lf = {.max_fields = 8};
    assert_int_equal(load_fail(real("alma-datalink.xml"), &lf, &err),
                     ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "max_fields (8)"));
    lf.max_fields = 9;
    struct asw_vot_table *t;
    assert_int_equal(
        asw_vot_parse_file_limits(real("alma-datalink.xml"), &lf, &t, &err), 0);
    asw_vot_table_free(t);

    /* Collector row cap. */
    struct asw_vot_limits lr = {.max_rows = 16};
    assert_int_equal(load_fail(real("ngc4945-legacy.xml"), &lr, &err),
                     ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "max_rows (16)"));
    assert_non_null(strstr(err.msg, "row index 16"));
    lr.max_rows = 17;
    assert_int_equal(
        asw_vot_parse_file_limits(real("ngc4945-legacy.xml"), &lr, &t, &err),
        0);
    asw_vot_table_free(t);

    /* Collector total-bytes cap. */
    struct asw_vot_limits lt = {.max_total_bytes = 2000};
    assert_int_equal(load_fail(real("alma-datalink.xml"), &lt, &err),
                     ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "max_total_bytes (2000)"));

    /* INFOs and PARAMs count against max_total_bytes too, so a document
     * of nothing but INFOs cannot grow the collector without bound. */
    struct asw_buf b;
    asw_buf_init(&b, 1 << 20);
    asw_buf_puts(&b, "<VOTABLE><RESOURCE type=\"meta\" ID=\"svc\">");
    for (int i = 0; i < 1000; i++)
        asw_buf_printf(&b, "<PARAM name=\"p%d\" value=\"%d\"/>", i, i);
    asw_buf_puts(&b, "</RESOURCE>");
    for (int i = 0; i < 1000; i++)
        asw_buf_puts(&b, "<INFO name=\"i\" value=\"v\"/>");
    asw_buf_puts(&b, "</VOTABLE>");
    assert_int_equal(asw_vot_parse_mem(b.data, b.len, &t, &err), 0);
    assert_int_equal(t->nresources, 1);
    assert_int_equal(t->resources[0].nparams, 1000);
    assert_string_equal(t->resources[0].params[999].name, "p999");
    assert_string_equal(asw_vot_param_value(&t->resources[0], "p512"), "512");
    assert_int_equal(t->ninfos, 1000);
    asw_vot_table_free(t);
    struct asw_vot_limits lb = {.max_total_bytes = 20000};
    assert_int_equal(asw_vot_parse_mem_limits(b.data, b.len, &lb, &t, &err),
                     ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "max_total_bytes (20000)"));
    asw_buf_free(&b);

    /* INFO text is capped like a cell. */
    struct asw_vot_limits li = {.max_cell_bytes = 40};
    assert_int_equal(load_fail(synth("tap-error.xml"), &li, &err), ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "INFO text"));
}

static void test_token_and_depth_caps(void **state)
{
    struct asw_err err = {0};
    struct asw_vot_table *t;
    /* A 9 MiB attribute is held whole by expat: the token cap stops it. */
    size_t n = (size_t)9 << 20;
    char *d = malloc(n + 64);
    assert_non_null(d);
    strcpy(d, "<VOTABLE><INFO name=\"x\" value=\"");
    size_t o = strlen(d);
    memset(d + o, 'v', n);
    strcpy(d + o + n, "\"/></VOTABLE>");
    assert_int_equal(asw_vot_parse_mem(d, strlen(d), &t, &err), ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "max_token_bytes (8388608)"));
    struct asw_vot_limits lim = {.max_token_bytes = 16 << 20,
                                 .max_cell_bytes = 16 << 20};
    assert_int_equal(asw_vot_parse_mem_limits(d, strlen(d), &lim, &t, &err), 0);
    assert_int_equal(strlen(asw_vot_info(t, "x")), n);
    asw_vot_table_free(t);
    free(d);

    /* Nesting deeper than ASW_VOT_MAX_DEPTH. */
    struct asw_buf b;
    asw_buf_init(&b, 1 << 20);
    asw_buf_puts(&b, "<VOTABLE>");
    for (int i = 0; i < 300; i++)
        asw_buf_puts(&b, "<x>");
    for (int i = 0; i < 300; i++)
        asw_buf_puts(&b, "</x>");
    asw_buf_puts(&b, "</VOTABLE>");
    assert_int_equal(asw_vot_parse_mem(b.data, b.len, &t, &err), ASW_ETOOBIG);
    assert_non_null(strstr(err.msg, "nested deeper than 256"));
    asw_buf_free(&b);
}

static void test_entities_utf8(void **state)
{
    struct asw_vot_table *t = load(synth("entities-utf8.xml"));
    assert_int_equal(t->nfields, 4);
    assert_int_equal(t->nrows, 3);
    assert_string_equal(t->fields[0].name, "text");
    assert_string_equal(t->fields[1].name, "only_id");
    assert_string_equal(t->fields[1].id, "only_id");
    assert_string_equal(t->fields[2].name, "legacy");
    assert_string_equal(t->fields[2].datatype, "char");
    assert_string_equal(t->fields[3].name, "col4");
    assert_string_equal(asw_vot_cell(t, 0, 0), "a<b>c & \"d\" 'e'");
    assert_string_equal(asw_vot_cell(t, 0, 1),
                        "J\xc3\xbcrgen \xe6\x9d\xb1\xe4\xba\xac "
                        "\xf0\x9f\x98\x80");
    assert_string_equal(asw_vot_cell(t, 0, 2), "x < y && z");
    assert_string_equal(asw_vot_cell(t, 0, 3), "  42 ");
    assert_string_equal(asw_vot_cell(t, 1, 0), "line1\nline2");
    assert_string_equal(asw_vot_cell(t, 1, 1),
                        "Atacama Large Millimeter/submillimeter Array");
    assert_string_equal(asw_vot_cell(t, 1, 2), "abcd");
    assert_null(asw_vot_cell(t, 1, 3));
    assert_null(asw_vot_cell(t, 2, 0));
    assert_null(asw_vot_cell(t, 2, 3));
    assert_string_equal(t->infos[0].text, "caf\xc3\xa9 & cr\xc3\xa8me");
    /* xsi:type is not the VOTable type attribute. */
    assert_int_equal(t->nresources, 1);
    assert_null(t->resources[0].type);
    assert_string_equal(t->resources[0].id, "res&1");

    json_t *j = to_json(t, NULL);
    assert_string_equal(json_string_value(jv(j, 0, "only_id")),
                        "J\xc3\xbcrgen \xe6\x9d\xb1\xe4\xba\xac "
                        "\xf0\x9f\x98\x80");
    assert_jint(j, 0, "col4", 42);
    json_decref(j);
    asw_vot_table_free(t);
}

static void test_malformed_tables(void **state)
{
    struct asw_err err = {0};
    assert_int_equal(load_fail(synth("too-many-tds.xml"), NULL, &err),
                     ASW_EPARSE);
    assert_non_null(strstr(err.msg, "row index 1 has more TD cells than its "
                                    "2 FIELDs"));
    assert_int_equal(load_fail(synth("not-votable.xml"), NULL, &err),
                     ASW_EPARSE);
    assert_non_null(strstr(err.msg, "root element is <html>"));
    assert_int_equal(load_fail("/nonexistent/x.xml", NULL, &err), ASW_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.xml"));
}

static void test_table_selection(void **state)
{
    /* Only type="meta" tables: the collector falls back to the first. */
    struct asw_vot_table *t = load(synth("meta-only.xml"));
    assert_int_equal(t->nfields, 2);
    assert_int_equal(t->nrows, 2);
    assert_string_equal(asw_vot_cell(t, 1, 0), "b");
    asw_vot_table_free(t);
    /* The push parser reports only a results table. */
    struct counts c = {0};
    struct asw_err err = {0};
    assert_int_equal(push_file(synth("meta-only.xml"), &c, NULL, &err, NULL),
                     0);
    assert_int_equal(c.fields_calls, 0);
    assert_int_equal(c.rows, 0);

    /* A RESOURCE without type is a results one; empty TABLEDATA. */
    t = load(synth("empty-result.xml"));
    assert_int_equal(t->nfields, 2);
    assert_int_equal(t->nrows, 0);
    assert_string_equal(t->fields[1].unit, "deg");
    char *text;
    json_t *j = to_json(t, &text);
    assert_string_equal(text, "[]\n");
    free(text);
    json_decref(j);
    asw_vot_table_free(t);
}

static void test_json_types(void **state)
{
    struct asw_vot_table *t = load(synth("json-types.xml"));
    assert_int_equal(t->nrows, 8);
    assert_string_equal(t->fields[3].null_value, "-999");
    char *text;
    json_t *j = to_json(t, &text);
    /* long: exact at 2^62, the extremes, 2^62 - 1. */
    assert_jint(j, 0, "big", 4611686018427387904LL);
    assert_jint(j, 1, "big", INT64_MAX);
    assert_jint(j, 2, "big", INT64_MIN);
    assert_jint(j, 4, "big", 4611686018427387903LL);
    assert_jnull(j, 3, "big");
    assert_non_null(strstr(text, "\"big\":4611686018427387904,"));
    assert_non_null(strstr(text, "\"big\":-9223372036854775808,"));
    /* boolean variants */
    assert_true(json_is_true(jv(j, 0, "flag")));
    assert_true(json_is_false(jv(j, 1, "flag")));
    assert_true(json_is_true(jv(j, 2, "flag")));
    assert_jnull(j, 3, "flag");
    assert_true(json_is_true(jv(j, 4, "flag")));
    assert_true(json_is_false(jv(j, 5, "flag")));
    assert_true(json_is_false(jv(j, 6, "flag")));
    assert_jnull(j, 7, "flag");
    /* short, int, unsignedByte: hex, blanks, the null sentinel. */
    assert_jint(j, 0, "s", -32768);
    assert_jint(j, 1, "s", 32767);
    assert_jint(j, 2, "s", 12);
    assert_jint(j, 0, "i", 2147483647);
    assert_jnull(j, 1, "i");
    assert_jint(j, 2, "i", -1);
    assert_jint(j, 4, "i", -2147483648LL);
    assert_jint(j, 0, "ub", 255);
    assert_jint(j, 1, "ub", 10);
    /* float/double: round-trip, NaN/Inf -> null. */
    assert_true(json_real_value(jv(j, 0, "f")) == 0.75131315);
    assert_jnull(j, 1, "f");
    assert_jnull(j, 2, "f");
    assert_jnull(j, 3, "f");
    assert_true(json_real_value(jv(j, 0, "d")) == 337.25073645418405);
    assert_true(json_real_value(jv(j, 1, "d")) == 0.1);
    assert_true(json_real_value(jv(j, 2, "d")) == 1e300);
    assert_true(json_real_value(jv(j, 4, "d")) == 2.2250738585072014e-308);
    assert_true(json_real_value(jv(j, 6, "d")) == -1.5e-7);
    assert_true(json_real_value(jv(j, 4, "f")) == 3.4028235e38);
    assert_non_null(strstr(text, "\"d\":0.1,"));
    assert_non_null(strstr(text, "\"d\":-0,"));
    /* strings, arrays, legacy */
    assert_string_equal(json_string_value(jv(j, 1, "name")),
                        "say \"hi\",\\\ttab");
    assert_string_equal(json_string_value(jv(j, 2, "name")),
                        "\xf0\x9f\x98\x80");
    assert_string_equal(json_string_value(jv(j, 4, "name")), "line1\nline2");
    assert_string_equal(json_string_value(jv(j, 0, "vec")), "1 2 3");
    assert_string_equal(json_string_value(jv(j, 2, "vec")), "NaN NaN NaN");
    assert_jnull(j, 1, "vec");
    assert_string_equal(json_string_value(jv(j, 0, "legacy")), "Y");
    assert_jnull(j, 3, "name");
    /* keys in FIELD order */
    assert_int_equal(strncmp(text, "[\n{\"big\":", 9), 0);
    free(text);
    json_decref(j);
    asw_vot_table_free(t);
}

static void expect_json_error(const char *file, const char *a, const char *b)
{
    struct asw_vot_table *t = load(synth(file));
    FILE *f = fopen("/dev/null", "w");
    struct asw_err err = {0};
    assert_int_equal(asw_vot_write_json(t, f, &err), ASW_EPARSE);
    fclose(f);
    if (!strstr(err.msg, a) || !strstr(err.msg, b))
        fail_msg("message '%s' lacks '%s' or '%s'", err.msg, a, b);
    asw_vot_table_free(t);
}

static void test_json_errors(void **state)
{
    expect_json_error("json-bad-long.xml", "'content_length' (long)",
                      "row index 1");
    expect_json_error("json-overflow-long.xml", "'content_length'",
                      "9223372036854775808");
    expect_json_error("json-bad-bool.xml", "'readable'", "row index 1");
}

static void test_csv(void **state)
{
    struct asw_vot_table *t = load(synth("json-types.xml"));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct asw_err err = {0};
    assert_int_equal(asw_vot_write_csv(t, f, &err), 0);
    fclose(f);
    const char *want_head = "big,flag,s,i,ub,f,d,name,vec,legacy\r\n"
                            "4611686018427387904,T,-32768,2147483647,255,"
                            "0.75131315,337.25073645418405,J1924-2914,"
                            "1 2 3,Y\r\n"
                            "9223372036854775807,false,0x7fff,-999,0x0A,NaN,"
                            "0.1,\"say \"\"hi\"\",\\\ttab\",,\r\n";
    assert_int_equal(strncmp(buf, want_head, strlen(want_head)), 0);
    assert_non_null(strstr(buf, ",\"line1\nline2\",4 5 6,\r\n"));
    assert_non_null(strstr(buf, ",\"a,b\",,\r\n"));
    /* header + 8 rows */
    size_t lines = 0;
    for (char *p = buf; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    assert_int_equal(lines, 9);
    free(buf);
    asw_vot_table_free(t);
}

static void test_binary2(void **state)
{
    struct asw_vot_table *t = load(synth("binary2.xml"));
    assert_int_equal(t->nfields, 10);
    assert_int_equal(t->nrows, 3);
    assert_string_equal(asw_vot_info(t, "QUERY_STATUS"), "OK");
    static const char *const want[3][10] = {
        {"4611686018427387904", "J1924-2914", "3.25", "T", "-7", "1.5 -2.25",
         "J\xc3\xbcrgen", "AB", "255", "-32768"},
        {"-1", NULL, NULL, "F", NULL, "0 0", NULL, "WXYZ", "0", "12"},
        {"9223372036854775807", NULL, NULL, NULL, "2147483647", "+Inf 0.001",
         "\xe6\x9d\xb1\xf0\x9f\x98\x80", NULL, "7", "1"},
    };
    for (size_t r = 0; r < 3; r++)
        for (size_t c = 0; c < 10; c++) {
            const char *g = asw_vot_cell(t, r, c);
            if (!want[r][c]) {
                if (g)
                    fail_msg("(%zu,%zu) want NULL got '%s'", r, c, g);
            } else {
                if (!g || strcmp(g, want[r][c]))
                    fail_msg("(%zu,%zu) want '%s' got '%s'", r, c, want[r][c],
                             g ? g : "NULL");
            }
        }
    json_t *j = to_json(t, NULL);
    assert_jint(j, 0, "id", 4611686018427387904LL);
    assert_true(json_is_false(jv(j, 1, "ok")));
    assert_jnull(j, 2, "ok");
    json_decref(j);
    asw_vot_table_free(t);

    /* BINARY (no null mask): the masked int is a plain 0 there. */
    t = load(synth("binary.xml"));
    assert_int_equal(t->nrows, 3);
    assert_string_equal(asw_vot_cell(t, 1, 4), "0");
    assert_null(asw_vot_cell(t, 1, 2)); /* NaN double */
    assert_string_equal(asw_vot_cell(t, 2, 6), "\xe6\x9d\xb1\xf0\x9f\x98\x80");
    asw_vot_table_free(t);

    /* byte-at-a-time feeding gives the same cells */
    size_t len;
    char *doc = slurp(synth("binary2.xml"), &len);
    struct asw_vot_table *ref = load(synth("binary2.xml"));
    struct asw_vot_collector *c = asw_vot_collector_new(NULL);
    struct asw_err err = {0};
    for (size_t i = 0; i < len; i++)
        assert_int_equal(asw_vot_collector_feed(c, doc + i, 1, &err), 0);
    assert_int_equal(asw_vot_collector_finish(c, &t, &err), 0);
    check_same(ref, t);
    asw_vot_table_free(t);
    asw_vot_table_free(ref);
    asw_vot_collector_free(c);
    free(doc);

    assert_int_equal(load_fail(synth("binary2-short.xml"), NULL, &err),
                     ASW_EPARSE);
    assert_non_null(strstr(err.msg, "ends inside row index 2"));
}

int main(void)
{
    init_dirs();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_flat_memory),
        cmocka_unit_test(test_alma_datalink),
        cmocka_unit_test(test_alma_recurse_this),
        cmocka_unit_test(test_alma_shapes),
        cmocka_unit_test(test_ngc4945_legacy),
        cmocka_unit_test(test_chunk_splits),
        cmocka_unit_test(test_push_callbacks),
        cmocka_unit_test(test_push_stop),
        cmocka_unit_test(test_push_max_rows),
        cmocka_unit_test(test_datalink11),
        cmocka_unit_test(test_datalink_notfound),
        cmocka_unit_test(test_tap_error),
        cmocka_unit_test(test_tap_overflow),
        cmocka_unit_test(test_midstream_xml_decl),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_cell_cap),
        cmocka_unit_test(test_row_and_field_caps),
        cmocka_unit_test(test_token_and_depth_caps),
        cmocka_unit_test(test_entities_utf8),
        cmocka_unit_test(test_malformed_tables),
        cmocka_unit_test(test_table_selection),
        cmocka_unit_test(test_json_types),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_binary2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
