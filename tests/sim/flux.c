/*
 * The calibrator flux service /sc/flux (GET NAME, DATE, FREQUENCY), as the
 * ALMA pipeline's hifa_importdata asks it. Answers come from the table
 * calflux of ROOT/archive.sqlite (docs/sim-archive-layout.md): the
 * measurement of NAME nearest to DATE, scaled to FREQUENCY with its
 * spectral index, S = S0 (f / f0)^alpha. The document has the FIELDs and
 * layout of the real service (one TR; see the pipeline's dbfluxes tests).
 */
#include "sim.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* |age| beyond this many days: StatusCode 3, a fallback outside the
 * window (unless the row fixes the code). */
#define WINDOW_DAYS 14.0

/* MJD of a civil date (Howard Hinnant's days_from_civil). */
static double civil_mjd(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (double)(era * 146097 + doe - 719468 + 40587);
}

/* "27-March-2013" (month names in full or three letters, any case). */
static int parse_date(const char *s, double *mjd)
{
    static const char *const months[] = {
        "january", "february", "march",     "april",   "may",      "june",
        "july",    "august",   "september", "october", "november", "december"};
    int d = 0, y = 0, n = 0;
    char mon[16];
    if (sscanf(s, "%2d-%15[A-Za-z]-%4d%n", &d, mon, &y, &n) != 3 || s[n] ||
        d < 1 || d > 31 || y < 1900 || y > 2200)
        return -1;
    size_t ml = strlen(mon);
    for (int m = 0; m < 12; m++) {
        if ((ml == strlen(months[m]) || ml == 3) &&
            strncasecmp(mon, months[m], ml) == 0) {
            *mjd = civil_mjd(y, m + 1, d);
            return 0;
        }
    }
    return -1;
}

static void td(struct asw_sim_buf *b, const char *v)
{
    if (!v || !*v) {
        asw_sim_buf_puts(b, "            <TD />\n");
        return;
    }
    asw_sim_buf_puts(b, "            <TD>");
    asw_sim_buf_xml(b, v, strlen(v));
    asw_sim_buf_puts(b, "</TD>\n");
}

static void td_num(struct asw_sim_buf *b, double v)
{
    char tmp[40];
    if (isnan(v)) {
        td(b, NULL);
        return;
    }
    /* Shortest text that reads back as the same double. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    td(b, tmp);
}

struct answer {
    int status;
    double flux, flux_err, spix, spix_err, age;
    char dc[16];
    char clarification[200];
};

static void write_doc(struct asw_sim_buf *b, const char *name, const char *freq,
                      const char *date, const struct answer *a)
{
    char st[8];
    snprintf(st, sizeof(st), "%d", a->status);
    asw_sim_buf_puts(
        b,
        "<?xml version=\"1.0\"?>\n<VOTABLE>\n  <RESOURCE>\n    <TABLE>\n"
        "      <FIELD datatype=\"int\" width=\"1\" name=\"StatusCode\">"
        "</FIELD>\n"
        "      <FIELD datatype=\"char\" name=\"SourceName\" arraysize=\"*\"/>\n"
        "      <FIELD unit=\"Hz\" datatype=\"double\" width=\"10\" "
        "name=\"Frequency\"/>\n"
        "      <FIELD datatype=\"char\" name=\"Date\" arraysize=\"32\"/>\n"
        "      <FIELD unit=\"Jansky\" datatype=\"double\" width=\"10\" "
        "name=\"FluxDensity\"/>\n"
        "      <FIELD unit=\"Jansky\" datatype=\"double\" width=\"10\" "
        "name=\"FluxDensityError\"/>\n"
        "      <FIELD unit=\"Unitless\" datatype=\"double\" width=\"10\" "
        "name=\"SpectralIndex\"/>\n"
        "      <FIELD unit=\"Unitless\" datatype=\"double\" width=\"10\" "
        "name=\"SpectralIndexError\"/>\n"
        "      <FIELD datatype=\"int\" width=\"10\" name=\"DataConditions\">"
        "</FIELD>\n"
        "      <FIELD datatype=\"float\" width=\"10\" "
        "name=\"Nearest Measurement Date\"></FIELD>\n"
        "      <FIELD datatype=\"char\" name=\"Verbose\" "
        "arraysize=\"256000\"/>\n"
        "      <FIELD datatype=\"char\" name=\"Version\" arraysize=\"20\">"
        "</FIELD>\n");
    if (a->clarification[0])
        asw_sim_buf_puts(b, "      <FIELD datatype=\"char\" "
                            "name=\"Clarification\" arraysize=\"*\"/>\n");
    asw_sim_buf_puts(b, "      <DATA>\n        <TABLEDATA>\n          <TR>\n");
    td(b, st);
    td(b, name);
    td(b, freq);
    td(b, date);
    td_num(b, a->flux);
    td_num(b, a->flux_err);
    td_num(b, a->spix);
    td_num(b, a->spix_err);
    td(b, a->dc);
    td_num(b, a->age);
    td(b, "asw-sim flux service (synthetic measurements)");
    td(b, "SIM-1");
    if (a->clarification[0])
        td(b, a->clarification);
    asw_sim_buf_puts(b, "          </TR>\n        </TABLEDATA>\n      </DATA>\n"
                        "    </TABLE>\n  </RESOURCE>\n</VOTABLE>\n");
}

/* The measurement of name nearest to mjd, scaled to freq_hz. */
static int lookup(sqlite3 *db, const char *name, double mjd, double freq_hz,
                  struct answer *a, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    memset(a, 0, sizeof(*a));
    a->flux = a->flux_err = a->spix_err = a->age = NAN;
    a->status = 4;
    a->spix = -1000;
    snprintf(a->dc, sizeof(a->dc), "0");
    if (sqlite3_prepare_v2(db,
                           "SELECT mjd, freq_hz, flux_jy, flux_err_jy, spix, "
                           "spix_err, status, data_conditions, "
                           "(SELECT COUNT(*) FROM calflux WHERE name = ?1) "
                           "FROM calflux WHERE name = ?1 "
                           "ORDER BY abs(mjd - ?2), mjd LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "calflux table: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 2, mjd);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        double m = sqlite3_column_double(st, 0);
        double f0 = sqlite3_column_double(st, 1);
        double s0 = sqlite3_column_double(st, 2);
        double e0 = sqlite3_column_double(st, 3);
        double alpha = sqlite3_column_double(st, 4);
        double scale = pow(freq_hz / f0, alpha);
        a->flux = s0 * scale;
        a->flux_err = e0 * scale;
        a->spix = alpha;
        a->spix_err = sqlite3_column_double(st, 5);
        a->age = mjd - m;
        if (sqlite3_column_type(st, 6) != SQLITE_NULL)
            a->status = sqlite3_column_int(st, 6);
        else
            a->status = fabs(a->age) <= WINDOW_DAYS ? 0 : 3;
        if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
            snprintf(a->dc, sizeof(a->dc), "%s",
                     (const char *)sqlite3_column_text(st, 7));
        } else {
            int nmeas = sqlite3_column_int(st, 8);
            snprintf(a->dc, sizeof(a->dc), "%d00%d", nmeas > 9 ? 9 : nmeas,
                     fabs(a->age) <= WINDOW_DAYS);
        }
        if (a->status == 3)
            snprintf(a->clarification, sizeof(a->clarification),
                     "nearest measurement %.1f days from the date, outside "
                     "the %.0f-day window",
                     a->age, WINDOW_DAYS);
        rc = SQLITE_DONE;
    } else if (rc == SQLITE_DONE) {
        snprintf(a->clarification, sizeof(a->clarification),
                 "no measurement of %.100s in the catalogue", name);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "calflux table: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

int asw_sim_flux(const struct asw_sim_config *cfg,
                 const struct asw_sim_params *params,
                 struct asw_sim_reply *reply)
{
    const char *name = asw_sim_params_get(params, "NAME");
    const char *date = asw_sim_params_get(params, "DATE");
    const char *freq = asw_sim_params_get(params, "FREQUENCY");
    double mjd, freq_hz;
    char *end = NULL;
    if (!name || !*name || !date || !freq)
        return asw_sim_reply_text(reply, 400,
                                  "NAME, DATE and FREQUENCY are required");
    if (parse_date(date, &mjd))
        return asw_sim_reply_text(reply, 400,
                                  "bad DATE '%.40s' (DD-MonthName-YYYY)", date);
    freq_hz = strtod(freq, &end);
    if (end == freq || *end || !(freq_hz > 0) || !isfinite(freq_hz))
        return asw_sim_reply_text(reply, 400, "bad FREQUENCY '%.40s' (Hz)",
                                  freq);
    sqlite3 *db = NULL;
    char err[512];
    struct answer a;
    int rc = 0;
    if (asw_sim_db_open(cfg, &db, err, sizeof(err)) != SQLITE_OK ||
        lookup(db, name, mjd, freq_hz, &a, err, sizeof(err))) {
        rc = asw_sim_reply_text(reply, 500, "%s", err);
        sqlite3_close(db);
        return rc;
    }
    sqlite3_close(db);
    struct asw_sim_buf b;
    asw_sim_buf_init(&b, 1u << 20);
    write_doc(&b, name, freq, date, &a);
    if (b.toobig || b.oom) {
        asw_sim_buf_free(&b);
        return -1;
    }
    free(reply->body);
    reply->body = asw_sim_buf_steal(&b, &reply->body_len);
    reply->status = 200;
    reply->content_type = "text/xml";
    return 0;
}
