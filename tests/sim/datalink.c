/*
 * DataLink sync: GET /datalink/sync?ID=... (or POST with field ID).
 *
 * Rows come from table datalink of ROOT/archive.sqlite, looked up by the
 * ID as given (a tar file name for nested expansion) and then by its
 * sanitized form (':' and '/' -> '_', so uid://A001/X1/X2 becomes
 * uid___A001_X1_X2). Errors follow the ALMA service (opencadc/alma
 * LinksTest): no ID -> 400; an ID that holds no uid (uid://foo/bar) ->
 * 400; a well-formed but unknown ID -> 200 with one #error row whose
 * error_message starts "NotFoundFault: ".
 *
 * Layouts: 12 columns (DataLink 1.1, the live service today) or the
 * 9-column 2022 layout with `readable`, FIELD attributes as in the
 * astroquery fixtures. After the results RESOURCE come the adhoc:service
 * RESOURCEs: one per distinct DataLink.<tar> service_def, and one per SODA
 * row (their IDs repeat, as in the real output).
 */
#include "sim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_IDS    64
#define MAX_ROWS   100000
#define DL_TYPE    "application/x-votable+xml;content=datalink"
#define DL_STD     "ivo://ivoa.net/std/DataLink#links-1.0"
#define SODA_STD   "ivo://ivoa.net/std/SODA#sync-1.0"
#define SODA_IVOID "ivo://alma.eu/soda"

/* Columns of table datalink, in the order of the SELECT below. */
enum col {
    C_ID,
    C_ACCESS_NAME,
    C_SERVICE_DEF,
    C_ERROR,
    C_SEMANTICS,
    C_LOCAL_SEMANTICS,
    C_DESCRIPTION,
    C_CONTENT_TYPE,
    C_CONTENT_LENGTH,
    C_CONTENT_QUALIFIER,
    C_LINK_AUTH,
    C_READABLE,
    NCOL
};

struct row {
    char *v[NCOL];     /* NULL = SQL NULL; owned */
    char *soda_target; /* file a SODA row works on, owned or NULL */
};

struct rows {
    struct row *r;
    size_t n, cap;
};

static const char *fields12 =
    "      <FIELD name=\"ID\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.id;meta.main\" />\n"
    "      <FIELD name=\"access_url\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.ref.url\" />\n"
    "      <FIELD name=\"service_def\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.ref\" />\n"
    "      <FIELD name=\"error_message\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.code.error\" />\n"
    "      <FIELD name=\"semantics\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.code\" />\n"
    "      <FIELD name=\"local_semantics\" datatype=\"char\" "
    "arraysize=\"*\" ucd=\"meta.code\">\n"
    "        <DESCRIPTION>local semantics of the link (DataLink-1.1)"
    "</DESCRIPTION>\n      </FIELD>\n"
    "      <FIELD name=\"description\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.note\" />\n"
    "      <FIELD name=\"content_type\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.code.mime\" />\n"
    "      <FIELD name=\"content_length\" datatype=\"long\" "
    "ucd=\"phys.size;meta.file\" unit=\"byte\" />\n"
    "      <FIELD name=\"content_qualifier\" datatype=\"char\" "
    "arraysize=\"*\">\n"
    "        <DESCRIPTION>the nature of the thing the link will deliver "
    "(DataLink-1.1)</DESCRIPTION>\n      </FIELD>\n"
    "      <FIELD name=\"link_auth\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.code\">\n"
    "        <DESCRIPTION>link supports authentication (DataLink-1.1)"
    "</DESCRIPTION>\n      </FIELD>\n"
    "      <FIELD name=\"link_authorized\" datatype=\"boolean\" "
    "ucd=\"meta.code\">\n"
    "        <DESCRIPTION>the current authenticated identity is authorized "
    "(DataLink-1.1)</DESCRIPTION>\n      </FIELD>\n";

/* As alma-datalink.xml (astroquery 8e7a734c). */
static const char *fields9 =
    "      <FIELD name=\"ID\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.id;meta.main\" />\n"
    "      <FIELD name=\"access_url\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.ref.url\" />\n"
    "      <FIELD name=\"service_def\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.ref\" />\n"
    "      <FIELD name=\"error_message\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.code.error\" />\n"
    "      <FIELD name=\"semantics\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.code\" />\n"
    "      <FIELD name=\"description\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.note\" />\n"
    "      <FIELD name=\"content_type\" datatype=\"char\" arraysize=\"*\" "
    "ucd=\"meta.code.mime\" />\n"
    "      <FIELD name=\"content_length\" datatype=\"long\" "
    "ucd=\"phys.size;meta.file\" unit=\"byte\" />\n"
    "      <FIELD name=\"readable\" datatype=\"boolean\">\n"
    "        <DESCRIPTION>the caller is allowed to use this link with the "
    "current authenticated identity</DESCRIPTION>\n"
    "      </FIELD>\n";

static void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        for (int c = 0; c < NCOL; c++)
            free(rs->r[i].v[c]);
        free(rs->r[i].soda_target);
    }
    free(rs->r);
    memset(rs, 0, sizeof(*rs));
}

static struct row *rows_new(struct rows *rs)
{
    if (rs->n >= MAX_ROWS)
        return NULL;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 16;
        struct row *nr = realloc(rs->r, cap * sizeof(*nr));
        if (!nr)
            return NULL;
        rs->r = nr;
        rs->cap = cap;
    }
    struct row *r = &rs->r[rs->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

static int alnum_run(const char *s, char sep, const char **end)
{
    const char *p = s;
    while (isalnum((unsigned char)*p))
        p++;
    if (p == s)
        return 0;
    if (sep && *p != sep)
        return 0;
    *end = p;
    return 1;
}

/* Does s hold an ALMA uid, uid://A/B/C or uid___A_B_C, with alphanumeric
 * parts? (The service's regex accepts both forms anywhere in the ID, which
 * is what lets tar names and spw obs_ids through.) */
static int has_uid(const char *s)
{
    static const struct {
        const char *pre;
        char sep;
    } forms[] = {{"uid://", '/'}, {"uid___", '_'}};
    for (int f = 0; f < 2; f++) {
        for (const char *p = strstr(s, forms[f].pre); p;
             p = strstr(p + 1, forms[f].pre)) {
            const char *q = p + 6, *e;
            if (alnum_run(q, forms[f].sep, &e) &&
                alnum_run(e + 1, forms[f].sep, &e) && alnum_run(e + 1, 0, &e))
                return 1;
        }
    }
    return 0;
}

static int fetch_rows(sqlite3_stmt *st, const char *qid, struct rows *rs,
                      char *err, size_t errlen)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, qid, -1, SQLITE_TRANSIENT);
    int rc;
    const char *last_file = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct row *r = rows_new(rs);
        if (!r) {
            snprintf(err, errlen, "too many rows or out of memory");
            return -1;
        }
        for (int c = 0; c < NCOL; c++) {
            if (sqlite3_column_type(st, c) == SQLITE_NULL)
                continue;
            r->v[c] = strdup((const char *)sqlite3_column_text(st, c));
            if (!r->v[c]) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        if (r->v[C_SERVICE_DEF] &&
            strncmp(r->v[C_SERVICE_DEF], "SODA.", 5) == 0) {
            const char *t =
                r->v[C_ACCESS_NAME] ? r->v[C_ACCESS_NAME] : last_file;
            r->soda_target = t ? strdup(t) : NULL;
        }
        if (r->v[C_ACCESS_NAME] && !r->v[C_SERVICE_DEF])
            last_file = r->v[C_ACCESS_NAME];
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "datalink table: %s",
                 sqlite3_errmsg(sqlite3_db_handle(st)));
        return -1;
    }
    return 0;
}

static void td(struct asw_sim_buf *b, const char *v)
{
    if (!v) {
        asw_sim_buf_puts(b, "            <TD />\n");
        return;
    }
    asw_sim_buf_puts(b, "            <TD>");
    asw_sim_buf_xml(b, v, strlen(v));
    asw_sim_buf_puts(b, "</TD>\n");
}

static void access_url(struct asw_sim_buf *b, const char *base,
                       const char *name)
{
    asw_sim_buf_puts(b, base);
    asw_sim_buf_puts(b, "/dataPortal/");
    asw_sim_buf_urlenc(b, name);
}

static void td_access_url(struct asw_sim_buf *b, const char *base,
                          const struct row *r)
{
    if (!r->v[C_ACCESS_NAME] || r->v[C_SERVICE_DEF]) {
        td(b, NULL);
        return;
    }
    struct asw_sim_buf u;
    asw_sim_buf_init(&u, 1u << 16);
    access_url(&u, base, r->v[C_ACCESS_NAME]);
    td(b, u.data ? u.data : "");
    asw_sim_buf_free(&u);
}

static const char *bool_text(const char *readable, int authed)
{
    if (!readable)
        return NULL;
    int v = strcmp(readable, "0") != 0 && strcasecmp(readable, "false") != 0;
    return v || authed ? "true" : "false";
}

static void write_row(struct asw_sim_buf *b, const struct asw_sim_config *cfg,
                      const struct row *r, int authed)
{
    const char *readable = bool_text(r->v[C_READABLE], authed);
    asw_sim_buf_puts(b, "          <TR>\n");
    td(b, r->v[C_ID]);
    td_access_url(b, cfg->base_url, r);
    td(b, r->v[C_SERVICE_DEF]);
    td(b, r->v[C_ERROR]);
    td(b, r->v[C_SEMANTICS]);
    if (cfg->datalink_columns == 12)
        td(b, r->v[C_LOCAL_SEMANTICS]);
    td(b, r->v[C_DESCRIPTION]);
    td(b, r->v[C_CONTENT_TYPE]);
    td(b, r->v[C_CONTENT_LENGTH]);
    if (cfg->datalink_columns == 12) {
        td(b, r->v[C_CONTENT_QUALIFIER]);
        td(b, r->v[C_LINK_AUTH]);
    }
    td(b, readable);
    asw_sim_buf_puts(b, "          </TR>\n");
}

static void param(struct asw_sim_buf *b, const char *name, const char *value)
{
    asw_sim_buf_printf(b,
                       "    <PARAM name=\"%s\" datatype=\"char\" "
                       "arraysize=\"%zu\" value=\"",
                       name, strlen(value));
    asw_sim_buf_xml(b, value, strlen(value));
    asw_sim_buf_puts(b, "\" />\n");
}

static void service_resource(struct asw_sim_buf *b, const char *id,
                             const char *ivoid, const char *std,
                             const char *url)
{
    asw_sim_buf_puts(b, "  <RESOURCE type=\"meta\" ID=\"");
    asw_sim_buf_xml(b, id, strlen(id));
    asw_sim_buf_puts(b, "\" utype=\"adhoc:service\">\n");
    if (ivoid)
        param(b, "resourceIdentifier", ivoid);
    param(b, "standardID", std);
    param(b, "accessURL", url);
    asw_sim_buf_puts(b, "    <GROUP name=\"inputParams\" />\n"
                        "  </RESOURCE>\n");
}

static void write_services(struct asw_sim_buf *b,
                           const struct asw_sim_config *cfg,
                           const struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        const struct row *r = &rs->r[i];
        const char *sd = r->v[C_SERVICE_DEF];
        if (!sd)
            continue;
        struct asw_sim_buf url;
        asw_sim_buf_init(&url, 1u << 16);
        if (strncmp(sd, "DataLink.", 9) == 0) {
            int seen = 0;
            for (size_t j = 0; j < i && !seen; j++)
                seen = rs->r[j].v[C_SERVICE_DEF] &&
                       strcmp(rs->r[j].v[C_SERVICE_DEF], sd) == 0;
            if (!seen) {
                asw_sim_buf_printf(&url, "%s/datalink/sync?ID=", cfg->base_url);
                asw_sim_buf_urlenc(&url, sd + 9);
                service_resource(b, sd, NULL, DL_STD, url.data);
            }
        } else if (strncmp(sd, "SODA.", 5) == 0) {
            asw_sim_buf_printf(&url, "%s/soda/sync?ID=", cfg->base_url);
            if (r->soda_target)
                asw_sim_buf_urlenc(&url, r->soda_target);
            service_resource(b, sd, SODA_IVOID, SODA_STD, url.data);
        }
        asw_sim_buf_free(&url);
    }
}

/* An #error row for id: "NotFoundFault: <id>", or text when given. */
static int add_error_row(struct rows *rs, const char *id, const char *text)
{
    struct row *r = rows_new(rs);
    if (!r)
        return -1;
    size_t n = strlen(id) + (text ? strlen(text) : 0) + 32;
    r->v[C_ID] = strdup(id);
    r->v[C_ERROR] = malloc(n);
    r->v[C_SEMANTICS] = strdup("#error");
    if (!r->v[C_ID] || !r->v[C_ERROR] || !r->v[C_SEMANTICS])
        return -1;
    if (text)
        snprintf(r->v[C_ERROR], n, "%s", text);
    else
        snprintf(r->v[C_ERROR], n, "NotFoundFault: %s", id);
    return 0;
}

int asw_sim_datalink_sync(const struct asw_sim_config *cfg,
                          const struct asw_sim_params *params, int authed,
                          const struct asw_sim_fault *fault,
                          struct asw_sim_reply *reply)
{
    const char *ids[MAX_IDS];
    size_t nid = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct rows rs = {0};
    struct asw_sim_buf b;
    char err[512];
    int rc = 0;
    asw_sim_buf_init(&b, ASW_SIM_MAX_REPLY_BYTES);

    for (size_t i = 0; i < params->n; i++) {
        if (strcasecmp(params->v[i].key, "ID") != 0 || !params->v[i].val[0])
            continue;
        if (nid == MAX_IDS) {
            rc = asw_sim_reply_text(
                reply, 400, "UsageFault: more than %d ID values", MAX_IDS);
            goto out;
        }
        ids[nid++] = params->v[i].val;
    }
    const char *format = asw_sim_params_get(params, "RESPONSEFORMAT");
    int manifest = 0;
    if (format && *format) {
        if (strcasecmp(format, "application/x-download-manifest+txt") == 0) {
            manifest = 1;
        } else if (strcasecmp(format, "votable") != 0 &&
                   strncasecmp(format, "application/x-votable+xml", 25) != 0) {
            rc = asw_sim_reply_text(reply, 400,
                                    "UsageFault: unsupported "
                                    "RESPONSEFORMAT: %.100s",
                                    format);
            goto out;
        }
    }
    if (nid == 0) {
        rc = asw_sim_reply_text(reply, 400,
                                "UsageFault: missing required parameter ID");
        goto out;
    }
    if (asw_sim_db_open(cfg, &db, err, sizeof(err)) != SQLITE_OK) {
        rc = asw_sim_reply_text(reply, 500, "%s", err);
        goto out;
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT id, access_name, service_def, "
                           "error_message, semantics, local_semantics, "
                           "description, content_type, content_length, "
                           "content_qualifier, link_auth, readable "
                           "FROM datalink WHERE query_id = ?1 ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = asw_sim_reply_text(reply, 500, "datalink table: %s",
                                sqlite3_errmsg(db));
        goto out;
    }
    for (size_t k = 0; k < nid; k++) {
        size_t before = rs.n;
        if (fault && fault->query_error) {
            /* The injected failure: one #error row per ID. */
            if (add_error_row(&rs, ids[k], fault->query_error_text)) {
                rc = -1;
                goto out;
            }
            continue;
        }
        if (fetch_rows(st, ids[k], &rs, err, sizeof(err))) {
            rc = asw_sim_reply_text(reply, 500, "%s", err);
            goto out;
        }
        if (rs.n == before) {
            char *san = strdup(ids[k]);
            if (!san) {
                rc = -1;
                goto out;
            }
            for (char *p = san; *p; p++)
                if (*p == ':' || *p == '/')
                    *p = '_';
            int frc = strcmp(san, ids[k]) != 0
                          ? fetch_rows(st, san, &rs, err, sizeof(err))
                          : 0;
            free(san);
            if (frc) {
                rc = asw_sim_reply_text(reply, 500, "%s", err);
                goto out;
            }
        }
        if (rs.n == before) {
            if (!has_uid(ids[k])) {
                rc = asw_sim_reply_text(
                    reply, 400, "UsageFault: invalid ID: %.200s", ids[k]);
                goto out;
            }
            if (add_error_row(&rs, ids[k], NULL)) {
                rc = -1;
                goto out;
            }
        }
    }

    if (manifest) {
        for (size_t i = 0; i < rs.n; i++) {
            const struct row *r = &rs.r[i];
            if (r->v[C_ACCESS_NAME] && !r->v[C_SERVICE_DEF]) {
                asw_sim_buf_puts(&b, "OK\t");
                access_url(&b, cfg->base_url, r->v[C_ACCESS_NAME]);
                asw_sim_buf_puts(&b, "\n");
            } else if (r->v[C_ERROR]) {
                asw_sim_buf_printf(&b, "ERROR\t%s\n", r->v[C_ERROR]);
            }
        }
    } else {
        asw_sim_buf_puts(
            &b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<VOTABLE xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" "
                "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                "version=\"1.4\">\n"
                "  <RESOURCE type=\"results\">\n    <TABLE>\n");
        asw_sim_buf_puts(&b, cfg->datalink_columns == 12 ? fields12 : fields9);
        asw_sim_buf_puts(&b, "      <DATA>\n        <TABLEDATA>\n");
        for (size_t i = 0; i < rs.n; i++)
            write_row(&b, cfg, &rs.r[i], authed);
        asw_sim_buf_puts(&b, "        </TABLEDATA>\n      </DATA>\n"
                             "    </TABLE>\n"
                             "    <INFO name=\"placeholder\" "
                             "value=\"ignore\" />\n  </RESOURCE>\n");
        write_services(&b, cfg, &rs);
        asw_sim_buf_puts(&b, "</VOTABLE>\n");
    }
    if (b.toobig || b.oom) {
        rc = asw_sim_reply_text(reply, 500, "DataLink reply too large");
        goto out;
    }
    free(reply->body);
    reply->body = asw_sim_buf_steal(&b, &reply->body_len);
    reply->status = 200;
    reply->content_type =
        manifest ? "application/x-download-manifest+txt" : DL_TYPE;
out:
    asw_sim_buf_free(&b);
    rows_free(&rs);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
