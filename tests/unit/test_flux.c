/*
 * Unit tests of the calibrator flux service client (io/flux.c): the DATE
 * form, the answer as the service writes it (the pipeline's dbfluxes
 * test document), the "not available" rules, errors, and a query against
 * an in-process server with failover from a dead URL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "io/flux.h"

#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The answer of the pipeline's test (dbfluxes), fields by name. */
static const char *doc(const char *status, const char *flux, const char *spix,
                       const char *extra_field, const char *extra_td, char *buf,
                       size_t n)
{
    snprintf(
        buf, n,
        "<?xml version=\"1.0\"?>\n<VOTABLE>\n  <RESOURCE>\n    <TABLE>\n"
        "<FIELD datatype=\"int\" width=\"1\" name=\"StatusCode\"></FIELD>\n"
        "<FIELD datatype=\"char\" name=\"SourceName\" arraysize=\"16\"/>\n"
        "<FIELD unit=\"Hz\" datatype=\"double\" width=\"10\" "
        "name=\"Frequency\"/>\n"
        "<FIELD datatype=\"char\" name=\"Date\" arraysize=\"32\"/>\n"
        "<FIELD unit=\"Jansky\" datatype=\"double\" width=\"10\" "
        "name=\"FluxDensity\"/>\n"
        "<FIELD unit=\"Jansky\" datatype=\"double\" width=\"10\" "
        "name=\"FluxDensityError\"/>\n"
        "<FIELD unit=\"Unitless\" datatype=\"double\" width=\"10\" "
        "name=\"SpectralIndex\"/>\n"
        "<FIELD unit=\"Unitless\" datatype=\"double\" width=\"10\" "
        "name=\"SpectralIndexError\"/>\n"
        "<FIELD unit=\"Unitless\" datatype=\"double\" width=\"10\" "
        "name=\"Curvature\"/>\n"
        "<FIELD unit=\"Unitless\" datatype=\"double\" width=\"10\" "
        "name=\"CurvatureError\"/>\n"
        "<FIELD datatype=\"int\" width=\"10\" name=\"DataConditions\">"
        "</FIELD>\n"
        "<FIELD datatype=\"float\" width=\"10\" "
        "name=\"Nearest Measurement Date\"></FIELD>\n"
        "<FIELD datatype=\"char\" name=\"Verbose\" arraysize=\"256000\"/>\n"
        "<FIELD datatype=\"char\" name=\"Version\" arraysize=\"20\"></FIELD>\n"
        "%s<DATA>\n<TABLEDATA>\n<TR>\n<TD>%s</TD>\n<TD>J1427-4206</TD>\n"
        "<TD>86837309056.169219970703125</TD>\n<TD>27-March-2013</TD>\n"
        "<TD>%s</TD>\n<TD>0.056</TD>\n<TD>%s</TD>\n<TD>0.012</TD>\n"
        "<TD>0.345</TD>\n<TD>0.067</TD>\n<TD>111</TD>\n<TD>12.5</TD>\n"
        "<TD>extra source catalogue details</TD>\n<TD>2026JUN</TD>\n%s"
        "</TR>\n</TABLEDATA>\n</DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n",
        extra_field, status, flux, spix, extra_td);
    return buf;
}

static void date_form(void **state)
{
    (void)state;
    char b[32];
    static const struct {
        double mjd;
        const char *want;
    } cases[] = {
        {56378.0, "27-March-2013"},    {56378.99, "27-March-2013"},
        {60170.0, "14-August-2023"},   {51544.0, "01-January-2000"},
        {60369.5, "29-February-2024"}, {58848.0, "31-December-2019"},
        {0.0, "17-November-1858"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(asw_flux_date(cases[i].mjd, b, sizeof b), 0);
        assert_string_equal(b, cases[i].want);
    }
    assert_int_equal(asw_flux_date(NAN, b, sizeof b), ASW_EINVAL);
    assert_int_equal(asw_flux_date(-1, b, sizeof b), ASW_EINVAL);
    assert_int_equal(asw_flux_date(56378.0, b, 8), ASW_EINVAL);
}

static void parse_answer(void **state)
{
    (void)state;
    char buf[8192];
    struct asw_flux f;
    struct asw_err err = {0};
    const char *d = doc("0", "1.234", "-0.789", "", "", buf, sizeof buf);
    assert_int_equal(asw_flux_parse(d, strlen(d), &f, &err), 0);
    assert_int_equal(f.available, 1);
    assert_int_equal(f.status_code, ASW_FLUX_GRID_CAL);
    assert_string_equal(f.source, "J1427-4206");
    assert_string_equal(f.date, "27-March-2013");
    assert_true(f.freq_hz == 86837309056.169219970703125);
    assert_true(f.flux_jy == 1.234);
    assert_true(f.flux_err_jy == 0.056);
    assert_true(f.spix == -0.789);
    assert_true(f.spix_err == 0.012);
    assert_string_equal(f.data_conditions, "111");
    assert_true(f.age_days == 12.5);
    assert_string_equal(f.version, "2026JUN");
    assert_string_equal(f.clarification, "");

    /* An optional Clarification is kept. */
    d = doc("3", "1.5", "-0.7",
            "<FIELD datatype=\"char\" name=\"Clarification\" "
            "arraysize=\"*\"/>\n",
            "<TD>measurement outside the window</TD>\n", buf, sizeof buf);
    assert_int_equal(asw_flux_parse(d, strlen(d), &f, &err), 0);
    assert_int_equal(f.status_code, ASW_FLUX_FALLBACK);
    assert_string_equal(f.clarification, "measurement outside the window");
}

static void not_available(void **state)
{
    (void)state;
    char buf[8192];
    struct asw_flux f;
    struct asw_err err = {0};
    static const struct {
        const char *status, *flux, *spix, *why;
    } cases[] = {
        {"1", "", "-0.7", "no flux density"},
        {"1", "0", "-0.7", "flux density <= 0"},
        {"1", "-2.5", "-0.7", "flux density <= 0"},
        {"1", "1.2", "-1000", "spectral index -1000"},
        {"4", "1.2", "-0.7", "StatusCode 4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *d = doc(cases[i].status, cases[i].flux, cases[i].spix, "",
                            "", buf, sizeof buf);
        assert_int_equal(asw_flux_parse(d, strlen(d), &f, &err), ASW_ENOTFOUND);
        assert_int_equal(f.available, 0);
        if (!strstr(err.msg, cases[i].why) || !strstr(err.msg, "J1427-4206"))
            fail_msg("case %zu: %s", i, err.msg);
    }
}

static void bad_answers(void **state)
{
    (void)state;
    struct asw_flux f;
    struct asw_err err = {0};
    const char *html = "<html><body>Service Unavailable</body></html>";
    assert_int_equal(asw_flux_parse(html, strlen(html), &f, &err), ASW_EPARSE);
    const char *error =
        "<?xml version=\"1.0\"?><VOTABLE><RESOURCE><INFO "
        "name=\"QUERY_STATUS\" value=\"ERROR\">unknown source</INFO>"
        "</RESOURCE></VOTABLE>";
    assert_int_equal(asw_flux_parse(error, strlen(error), &f, &err),
                     ASW_EQUERY);
    assert_non_null(strstr(err.msg, "unknown source"));
    const char *empty =
        "<?xml version=\"1.0\"?><VOTABLE><RESOURCE><TABLE><FIELD "
        "name=\"FluxDensity\" datatype=\"double\"/><DATA><TABLEDATA>"
        "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>";
    assert_int_equal(asw_flux_parse(empty, strlen(empty), &f, &err),
                     ASW_EPARSE);
    assert_non_null(strstr(err.msg, "0 rows"));
}

/* ---- against a server ---------------------------------------------- */

static char last_query[1024];

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **ctx)
{
    (void)cls;
    (void)method;
    (void)version;
    (void)upload;
    (void)upload_size;
    static int marker;
    if (!*ctx) {
        *ctx = &marker;
        return MHD_YES;
    }
    const char *name =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "NAME");
    const char *date =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "DATE");
    const char *freq =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "FREQUENCY");
    const char *cat =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "CATALOGUE");
    snprintf(last_query, sizeof last_query, "%s %s|%s|%s|%s", url,
             name ? name : "", date ? date : "", freq ? freq : "",
             cat ? cat : "");
    char buf[8192];
    const char *body = doc("1", "7.7245263249054075", "-0.359656945792801", "",
                           "", buf, sizeof buf);
    unsigned status = strcmp(url, "/sc/flux") == 0 ? 200 : 404;
    if (status != 200)
        body = "not here";
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void query_with_failover(void **state)
{
    (void)state;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
        NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_END);
    assert_non_null(d);
    unsigned port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    char good[64], wrong[64];
    snprintf(good, sizeof good, "http://127.0.0.1:%u/sc/flux", port);
    snprintf(wrong, sizeof wrong, "http://127.0.0.1:%u/elsewhere", port);
    const char *urls[] = {"http://127.0.0.1:1/sc/flux", wrong, good};
    struct asw_flux f;
    struct asw_err err = {0};
    int rc = asw_flux_query(urls, 3, "J1427-4206;PKS1424-418", 56378.33,
                            86837309056.169219970703125, 0, &f, &err);
    if (rc)
        fail_msg("query: %s", err.msg);
    assert_true(f.flux_jy == 7.7245263249054075);
    assert_int_equal(f.status_code, ASW_FLUX_LOW_CADENCE);
    /* Only the first alias; the day of the MJD; Hz in full precision. */
    assert_string_equal(last_query, "/sc/flux J1427-4206|27-March-2013|"
                                    "86837309056.16922|5");
    /* Every URL fails: the last error is reported. */
    rc = asw_flux_query(urls, 2, "J1427-4206", 56378, 86.8e9, 0, &f, &err);
    assert_int_equal(rc, ASW_EHTTP);
    assert_non_null(strstr(err.msg, "HTTP 404"));
    assert_int_equal(
        asw_flux_query(urls + 2, 1, "", 56378, 86.8e9, 0, &f, &err),
        ASW_EINVAL);
    assert_int_equal(
        asw_flux_query(urls + 2, 1, "J1427-4206", 56378, -1, 0, &f, &err),
        ASW_EINVAL);
    MHD_stop_daemon(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(date_form),           cmocka_unit_test(parse_answer),
        cmocka_unit_test(not_available),       cmocka_unit_test(bad_answers),
        cmocka_unit_test(query_with_failover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
