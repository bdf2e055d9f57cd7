/*
 * TAP sync: REQUEST=doQuery, LANG=ADQL, QUERY, RESPONSEFORMAT, MAXREC.
 *
 * The query runs on ROOT/archive.sqlite after adql.c translated it. Only a
 * single read-only SELECT gets through: the translation insists on SELECT
 * or WITH, prepare() must consume the whole text, the statement must be
 * read-only, and an authorizer allows nothing but reads and function calls
 * (and no reads of the simulator's own datalink/access tables).
 *
 * Output is a VOTable 1.4 (v1.3 namespace) TABLEDATA document, like the
 * ALMA service: a leading INFO QUERY_STATUS=OK and, when MAXREC cut the
 * result, a second INFO QUERY_STATUS=OVERFLOW after the TABLE (DALI 1.1).
 * Errors are HTTP 400 with INFO QUERY_STATUS=ERROR holding the message.
 */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define VOT_HEAD                                                               \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                             \
    "<VOTABLE xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" "                 \
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "                 \
    "version=\"1.4\">\n"
#define VOT_TYPE "application/x-votable+xml"

enum fmt { F_VOTABLE, F_CSV, F_TSV };
enum vtype { V_CHAR, V_DOUBLE, V_LONG, V_BOOL };

/* Units of the ObsCore/ALMA columns (reference section 2.1). */
static const struct {
    const char *col, *unit;
} units[] = {
    {"s_ra", "deg"},
    {"s_dec", "deg"},
    {"s_fov", "deg"},
    {"s_resolution", "arcsec"},
    {"t_min", "d"},
    {"t_max", "d"},
    {"t_exptime", "s"},
    {"t_resolution", "s"},
    {"em_min", "m"},
    {"em_max", "m"},
    {"em_resolution", "m"},
    {"spectral_resolution", "kHz"},
    {"bandwidth", "Hz"},
    {"frequency", "GHz"},
    {"velocity_resolution", "m/s"},
    {"spatial_resolution", "arcsec"},
    {"spatial_scale_max", "arcsec"},
    {"gal_longitude", "deg"},
    {"gal_latitude", "deg"},
    {"sensitivity_10kms", "mJy/beam"},
    {"cont_sensitivity_bandwidth", "mJy/beam"},
    {"pwv", "mm"},
    {"access_estsize", "kbyte"},
};

static int error_doc(struct asw_sim_buf *b, const char *msg)
{
    asw_sim_buf_puts(b, VOT_HEAD "  <RESOURCE type=\"results\">\n"
                                 "    <INFO name=\"QUERY_STATUS\" "
                                 "value=\"ERROR\">");
    asw_sim_buf_xml(b, msg, strlen(msg));
    return asw_sim_buf_puts(b, "</INFO>\n  </RESOURCE>\n</VOTABLE>\n");
}

/* A complete error reply: VOTable with QUERY_STATUS=ERROR. */
static int reply_error(struct asw_sim_reply *r, unsigned status,
                       const char *msg)
{
    struct asw_sim_buf b;
    asw_sim_buf_init(&b, 1u << 20);
    if (error_doc(&b, msg)) {
        asw_sim_buf_free(&b);
        return -1;
    }
    free(r->body);
    r->body = asw_sim_buf_steal(&b, &r->body_len);
    r->status = status;
    r->content_type = VOT_TYPE;
    return 0;
}

static enum vtype decl_vtype(const char *decl, int value_type)
{
    if (decl) {
        char up[64];
        size_t i;
        for (i = 0; decl[i] && i < sizeof(up) - 1; i++)
            up[i] = (char)toupper((unsigned char)decl[i]);
        up[i] = '\0';
        if (strstr(up, "BOOL"))
            return V_BOOL;
        if (strstr(up, "INT"))
            return V_LONG;
        if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
            return V_DOUBLE;
        return V_CHAR;
    }
    if (value_type == SQLITE_INTEGER)
        return V_LONG;
    if (value_type == SQLITE_FLOAT)
        return V_DOUBLE;
    return V_CHAR;
}

/* Shortest text that reads back as the same double. */
static void fmt_double(char *buf, size_t n, double v)
{
    if (isnan(v)) {
        snprintf(buf, n, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, n, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* Text of column i of the current row; *null set for SQL NULL. Returns a
 * pointer valid until the next step, or into tmp. */
static const char *cell(sqlite3_stmt *st, int i, enum vtype vt, char *tmp,
                        size_t tmpn, size_t *len, int *null)
{
    int t = sqlite3_column_type(st, i);
    *null = t == SQLITE_NULL;
    if (*null) {
        *len = 0;
        return "";
    }
    if (vt == V_BOOL && t == SQLITE_INTEGER) {
        const char *s = sqlite3_column_int64(st, i) ? "true" : "false";
        *len = strlen(s);
        return s;
    }
    if (t == SQLITE_FLOAT) {
        fmt_double(tmp, tmpn, sqlite3_column_double(st, i));
        *len = strlen(tmp);
        return tmp;
    }
    if (t == SQLITE_INTEGER) {
        snprintf(tmp, tmpn, "%lld", (long long)sqlite3_column_int64(st, i));
        *len = strlen(tmp);
        return tmp;
    }
    const char *s = (const char *)sqlite3_column_text(st, i);
    *len = (size_t)sqlite3_column_bytes(st, i);
    return s ? s : "";
}

static int authorizer(void *u, int action, const char *a, const char *b,
                      const char *dbname, const char *trigger)
{
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_READ:
        if (a &&
            (strcasecmp(a, "datalink") == 0 || strcasecmp(a, "access") == 0))
            return SQLITE_DENY;
        return SQLITE_OK;
    default:
        return SQLITE_DENY;
    }
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int progress(void *arg)
{
    return mono_s() > *(const double *)arg;
}

static void write_header(struct asw_sim_buf *b, enum fmt fmt, sqlite3_stmt *st,
                         int ncol, const enum vtype *vt, const char *adql)
{
    if (fmt != F_VOTABLE) {
        for (int i = 0; i < ncol; i++) {
            const char *name = sqlite3_column_name(st, i);
            asw_sim_buf_puts(b, i ? (fmt == F_CSV ? "," : "\t") : "");
            asw_sim_buf_puts(b, name ? name : "");
        }
        asw_sim_buf_puts(b, "\n");
        return;
    }
    char ts[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000", &tm);
    asw_sim_buf_puts(b, VOT_HEAD "  <RESOURCE type=\"results\">\n"
                                 "    <INFO name=\"QUERY_STATUS\" "
                                 "value=\"OK\" />\n");
    asw_sim_buf_printf(
        b, "    <INFO name=\"QUERY_TIMESTAMP\" value=\"%s\" />\n", ts);
    asw_sim_buf_puts(b, "    <INFO name=\"QUERY\" value=\"");
    asw_sim_buf_xml(b, adql, strlen(adql));
    asw_sim_buf_puts(b, "\" />\n    <TABLE>\n");
    static const char *dt[] = {"char", "double", "long", "boolean"};
    for (int i = 0; i < ncol; i++) {
        const char *name = sqlite3_column_name(st, i);
        const char *origin = sqlite3_column_origin_name(st, i);
        asw_sim_buf_puts(b, "      <FIELD name=\"");
        asw_sim_buf_xml(b, name ? name : "", name ? strlen(name) : 0);
        asw_sim_buf_printf(b, "\" datatype=\"%s\"", dt[vt[i]]);
        if (vt[i] == V_CHAR)
            asw_sim_buf_puts(b, " arraysize=\"*\"");
        for (size_t k = 0; origin && k < sizeof(units) / sizeof(units[0]); k++)
            if (strcmp(origin, units[k].col) == 0)
                asw_sim_buf_printf(b, " unit=\"%s\"", units[k].unit);
        if (origin && strcmp(origin, "s_region") == 0)
            asw_sim_buf_puts(b, " xtype=\"adql:REGION\"");
        asw_sim_buf_puts(b, " />\n");
    }
    asw_sim_buf_puts(b, "      <DATA>\n        <TABLEDATA>\n");
}

static void write_row(struct asw_sim_buf *b, enum fmt fmt, sqlite3_stmt *st,
                      int ncol, const enum vtype *vt)
{
    char tmp[64];
    if (fmt == F_VOTABLE)
        asw_sim_buf_puts(b, "          <TR>\n");
    for (int i = 0; i < ncol; i++) {
        size_t len;
        int null;
        const char *s = cell(st, i, vt[i], tmp, sizeof(tmp), &len, &null);
        if (fmt == F_VOTABLE) {
            if (null) {
                asw_sim_buf_puts(b, "            <TD />\n");
                continue;
            }
            asw_sim_buf_puts(b, "            <TD>");
            asw_sim_buf_xml(b, s, len);
            asw_sim_buf_puts(b, "</TD>\n");
        } else if (fmt == F_CSV) {
            if (i)
                asw_sim_buf_puts(b, ",");
            if (memchr(s, ',', len) || memchr(s, '"', len) ||
                memchr(s, '\n', len) || memchr(s, '\r', len)) {
                asw_sim_buf_puts(b, "\"");
                for (size_t k = 0; k < len; k++)
                    asw_sim_buf_add(b, s[k] == '"' ? "\"\"" : &s[k],
                                    s[k] == '"' ? 2 : 1);
                asw_sim_buf_puts(b, "\"");
            } else {
                asw_sim_buf_add(b, s, len);
            }
        } else {
            if (i)
                asw_sim_buf_puts(b, "\t");
            for (size_t k = 0; k < len; k++)
                asw_sim_buf_add(
                    b,
                    s[k] == '\t' || s[k] == '\n' || s[k] == '\r' ? " " : &s[k],
                    1);
        }
    }
    asw_sim_buf_puts(b, fmt == F_VOTABLE ? "          </TR>\n" : "\n");
}

static int parse_format(const char *f, enum fmt *out)
{
    if (!f || !*f || strcasecmp(f, "votable") == 0 ||
        strncasecmp(f, "application/x-votable+xml", 25) == 0 ||
        strcasecmp(f, "text/xml") == 0 || strcasecmp(f, "votable/td") == 0) {
        *out = F_VOTABLE;
        return 0;
    }
    if (strcasecmp(f, "csv") == 0 || strncasecmp(f, "text/csv", 8) == 0) {
        *out = F_CSV;
        return 0;
    }
    if (strcasecmp(f, "tsv") == 0 ||
        strncasecmp(f, "text/tab-separated-values", 25) == 0) {
        *out = F_TSV;
        return 0;
    }
    return -1;
}

static int run_query(const struct asw_sim_config *cfg, const char *adql,
                     long long maxrec, enum fmt fmt,
                     const struct asw_sim_fault *fault,
                     struct asw_sim_reply *reply)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *sql = NULL;
    enum vtype *vt = NULL;
    char err[1024];
    char msg[1200];
    struct asw_sim_buf b;
    int rc = 0;
    asw_sim_buf_init(&b, ASW_SIM_MAX_REPLY_BYTES);

    if (asw_sim_db_open(cfg, &db, err, sizeof(err)) != SQLITE_OK) {
        rc = reply_error(reply, 500, err);
        goto out;
    }
    if (asw_sim_adql_register(db) != SQLITE_OK) {
        rc = reply_error(reply, 500, "cannot register ADQL functions");
        goto out;
    }
    if (asw_sim_adql_to_sql(adql, &sql, err, sizeof(err))) {
        snprintf(msg, sizeof(msg), "ADQL error: %s", err);
        rc = reply_error(reply, 400, msg);
        goto out;
    }
    sqlite3_set_authorizer(db, authorizer, NULL);
    double deadline = mono_s() + cfg->query_timeout_s;
    sqlite3_progress_handler(db, 10000, progress, &deadline);

    const char *tail = NULL;
    int src = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
    if (src != SQLITE_OK || !st) {
        snprintf(msg, sizeof(msg), "ADQL error: %s",
                 src == SQLITE_OK ? "empty query" : sqlite3_errmsg(db));
        rc = reply_error(reply, 400, msg);
        goto out;
    }
    while (tail && isspace((unsigned char)*tail))
        tail++;
    if (tail && *tail) {
        rc = reply_error(reply, 400,
                         "ADQL error: only a single SELECT statement is "
                         "allowed");
        goto out;
    }
    int ncol = sqlite3_column_count(st);
    if (!sqlite3_stmt_readonly(st) || ncol == 0) {
        rc = reply_error(reply, 400,
                         "ADQL error: only SELECT queries are allowed");
        goto out;
    }
    vt = calloc((size_t)ncol, sizeof(*vt));
    if (!vt) {
        rc = -1;
        goto out;
    }
    src = sqlite3_step(st);
    for (int i = 0; i < ncol; i++)
        vt[i] = decl_vtype(sqlite3_column_decltype(st, i),
                           src == SQLITE_ROW ? sqlite3_column_type(st, i)
                                             : SQLITE_NULL);
    write_header(&b, fmt, st, ncol, vt, adql);
    long long nrows = 0;
    int overflow = 0, redeclared = 0;
    while (src == SQLITE_ROW) {
        if (fault->xml_redeclare >= 0 && nrows >= fault->xml_redeclare &&
            fmt == F_VOTABLE) {
            /* What the ALMA service once did on a late Oracle error: an
             * error document appended to the streamed result. */
            asw_sim_buf_puts(&b, "\n");
            error_doc(&b, fault->query_error
                              ? fault->query_error_text
                              : "ORA-01489: result of string concatenation "
                                "is too long");
            redeclared = 1;
            break;
        }
        if (maxrec >= 0 && nrows >= maxrec) {
            overflow = 1;
            break;
        }
        write_row(&b, fmt, st, ncol, vt);
        nrows++;
        if (b.toobig || b.oom)
            break;
        src = sqlite3_step(st);
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        if (src == SQLITE_INTERRUPT)
            snprintf(msg, sizeof(msg), "query exceeded the time limit of %d s",
                     cfg->query_timeout_s);
        else
            snprintf(msg, sizeof(msg), "ADQL error: %s", sqlite3_errmsg(db));
        rc = reply_error(reply, 400, msg);
        goto out;
    }
    if (b.toobig || b.oom) {
        rc = reply_error(reply, 400,
                         "result too large for a sync query; use MAXREC");
        goto out;
    }
    if (fmt == F_VOTABLE && !redeclared) {
        asw_sim_buf_puts(&b, "        </TABLEDATA>\n      </DATA>\n"
                             "    </TABLE>\n");
        if (overflow)
            asw_sim_buf_puts(&b, "    <INFO name=\"QUERY_STATUS\" "
                                 "value=\"OVERFLOW\" />\n");
        asw_sim_buf_puts(&b, "  </RESOURCE>\n</VOTABLE>\n");
    }
    if (b.toobig || b.oom) {
        rc = -1;
        goto out;
    }
    free(reply->body);
    reply->body = asw_sim_buf_steal(&b, &reply->body_len);
    reply->status = 200;
    reply->content_type = fmt == F_VOTABLE ? VOT_TYPE
                          : fmt == F_CSV   ? "text/csv"
                                           : "text/tab-separated-values";
out:
    asw_sim_buf_free(&b);
    free(vt);
    free(sql);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int asw_sim_tap_sync(const struct asw_sim_config *cfg,
                     const struct asw_sim_params *params,
                     const struct asw_sim_fault *fault,
                     struct asw_sim_reply *reply)
{
    const char *req = asw_sim_params_get(params, "REQUEST");
    const char *lang = asw_sim_params_get(params, "LANG");
    const char *query = asw_sim_params_get(params, "QUERY");
    const char *format = asw_sim_params_get(params, "RESPONSEFORMAT");
    const char *maxrec_s = asw_sim_params_get(params, "MAXREC");
    enum fmt fmt;
    long long maxrec = -1;
    char msg[256];

    if (!format)
        format = asw_sim_params_get(params, "FORMAT");
    if (req && strcasecmp(req, "doQuery") != 0) {
        snprintf(msg, sizeof(msg), "unsupported REQUEST: %.100s", req);
        return reply_error(reply, 400, msg);
    }
    if (lang && strncasecmp(lang, "ADQL", 4) != 0) {
        snprintf(msg, sizeof(msg), "unsupported LANG: %.100s", lang);
        return reply_error(reply, 400, msg);
    }
    if (!query || !*query)
        return reply_error(reply, 400, "missing parameter: QUERY");
    if (parse_format(format, &fmt)) {
        snprintf(msg, sizeof(msg), "unsupported RESPONSEFORMAT: %.100s",
                 format);
        return reply_error(reply, 400, msg);
    }
    if (maxrec_s) {
        char *end;
        errno = 0;
        maxrec = strtoll(maxrec_s, &end, 10);
        if (errno || end == maxrec_s || *end || maxrec < 0) {
            snprintf(msg, sizeof(msg), "invalid MAXREC: %.60s", maxrec_s);
            return reply_error(reply, 400, msg);
        }
    }
    if (asw_sim_params_get(params, "UPLOAD"))
        return reply_error(reply, 400, "UPLOAD is not supported");
    if (fault->query_error && fault->xml_redeclare < 0) {
        if (reply_error(reply, 200, fault->query_error_text))
            return -1;
        return 0;
    }
    return run_query(cfg, query, maxrec, fmt, fault, reply);
}
