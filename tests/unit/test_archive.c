/*
 * Unit tests of the archive client (io/archive.c) against an in-process
 * HTTP server that answers with real archive responses and hand-made
 * ones: the DataLink acceptance fixture of uid://A001/X12a3/Xe9 with its
 * nested product listing, columns found by name in a TAP answer whose
 * column order and set differ, TAP failure documents, the calibrator
 * image selection, the fallback to the product tar, and the row count
 * check of a split query.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "io/archive.h"
#include "io/http.h"
#include "io/votable.h"
#include "src/config.h"

#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOUS     "uid://A001/X12a3/Xe9"
#define PROD_TAR "2017.1.01185.S_uid___A001_X12a3_Xe9_001_of_001.tar"
#define AUX_TAR  "2017.1.01185.S_uid___A001_X12a3_Xe9_auxiliary.tar"

/* ---- the server ----------------------------------------------------- */

struct route {
    const char *path;      /* exact URL path */
    const char *id;        /* DataLink: the ID parameter, NULL: any */
    const char *query_has; /* TAP: a substring of QUERY, NULL: any */
    unsigned status;
    char *body; /* owned */
    int hits;
};

#define MAX_ROUTES 32
static struct route routes[MAX_ROUTES];
static int n_routes;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char last_id[512]; /* the last DataLink ID received, decoded */
static struct MHD_Daemon *daemon_;
static char base_url[64];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

static char *shared_fixture(const char *name)
{
    const char *d = getenv("ASW_SHARED_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/fixtures/alma-archive/%s",
             d ? d : "../shared", name);
    char *s = slurp(path);
    if (!s)
        fail_msg("cannot read %s (ASW_SHARED_DIR)", path);
    return s;
}

static char *vot_fixture(const char *name)
{
    const char *d = getenv("ASW_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/votable/%s", d ? d : ".",
             name);
    char *s = slurp(path);
    if (!s)
        fail_msg("cannot read %s (ASW_SOURCE_DIR)", path);
    return s;
}

/* Add a route; body is taken over. */
static void route(const char *path, const char *id, const char *query_has,
                  unsigned status, char *body)
{
    assert_true(n_routes < MAX_ROUTES);
    assert_non_null(body);
    routes[n_routes++] = (struct route){path, id, query_has, status, body, 0};
}

static void routes_clear(void)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n_routes; i++)
        free(routes[i].body);
    n_routes = 0;
    last_id[0] = '\0';
    pthread_mutex_unlock(&mu);
}

struct req {
    char *post;
    size_t len;
};

/* The decoded value of QUERY in a urlencoded form, malloc'd. */
static char *form_query(const char *form)
{
    const char *p = form ? strstr(form, "QUERY=") : NULL;
    if (!p)
        return NULL;
    p += 6;
    char *v = strndup(p, strcspn(p, "&"));
    return v ? asw_http_unescape(v) : NULL;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **ctx)
{
    (void)cls;
    (void)version;
    struct req *rq = *ctx;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        *ctx = rq;
        return rq ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        char *p = realloc(rq->post, rq->len + *upload_size + 1);
        if (!p)
            return MHD_NO;
        memcpy(p + rq->len, upload, *upload_size);
        rq->len += *upload_size;
        p[rq->len] = '\0';
        rq->post = p;
        *upload_size = 0;
        return MHD_YES;
    }
    const char *id =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ID");
    char *query = strcmp(method, "POST") == 0 ? form_query(rq->post) : NULL;
    const char *body = "no route";
    unsigned status = 404;
    pthread_mutex_lock(&mu);
    if (id)
        snprintf(last_id, sizeof last_id, "%s", id);
    for (int i = 0; i < n_routes; i++) {
        struct route *r = &routes[i];
        if (strcmp(r->path, url) || (r->id && (!id || strcmp(r->id, id))) ||
            (r->query_has && (!query || !strstr(query, r->query_has))))
            continue;
        r->hits++;
        body = r->body;
        status = r->status;
        break;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&mu);
    free(query);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/x-votable+xml");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **ctx,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct req *rq = *ctx;
    if (rq) {
        free(rq->post);
        free(rq);
    }
    *ctx = NULL;
}

static int server_up(void **state)
{
    (void)state;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
        NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sin,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!daemon_)
        return -1;
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%u",
             (unsigned)di->port);
    return 0;
}

static int server_down(void **state)
{
    (void)state;
    routes_clear();
    MHD_stop_daemon(daemon_);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    routes_clear();
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* A 9-column DataLink listing; rows are "url|semantics|type|length". */
static char *listing(const char *id, const char *const *rows, size_t n)
{
    size_t cap = 4096 + n * 1024;
    char *s = malloc(cap);
    size_t len = (size_t)snprintf(
        s, cap,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<VOTABLE xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" "
        "version=\"1.4\"><RESOURCE type=\"results\"><TABLE>"
        "<FIELD name=\"ID\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"access_url\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"service_def\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"error_message\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"semantics\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"description\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"content_type\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"content_length\" datatype=\"long\"/>"
        "<FIELD name=\"readable\" datatype=\"boolean\"/><DATA><TABLEDATA>\n");
    for (size_t i = 0; i < n; i++) {
        char url[512], sem[64], type[128], bytes[32];
        assert_int_equal(sscanf(rows[i], "%511[^|]|%63[^|]|%127[^|]|%31s", url,
                                sem, type, bytes),
                         4);
        len += (size_t)snprintf(s + len, cap - len,
                                "<TR><TD>%s</TD><TD>%s</TD><TD/><TD/>"
                                "<TD>%s</TD><TD/><TD>%s</TD><TD>%s</TD>"
                                "<TD>true</TD></TR>\n",
                                id, url, sem, type, bytes);
    }
    snprintf(s + len, cap - len,
             "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>\n");
    return s;
}

/* The synthetic auxiliary listing served for the fixture's aux tar: the
 * real one (astroquery's alma-datalink-recurse-aux.xml) has no separate
 * flux.csv either. */
static char *aux_listing(void)
{
    static const char *const rows[] = {
        "https://almascience.org/dataPortal/"
        "uid___A002_Xd28a9e_X71b8.calibration.tgz|#auxiliary|"
        "application/octet-stream|10746450",
        "https://almascience.org/dataPortal/"
        "member.uid___A001_X12a3_Xe9.qa2_report.pdf|#auxiliary|"
        "application/pdf|68341",
    };
    return listing(AUX_TAR, rows, 2);
}

static void serve_fixture(void)
{
    route("/datalink/sync", MOUS, NULL, 200,
          shared_fixture("alma-datalink.xml"));
    route("/datalink/sync", "uid___A001_X12a3_Xe9", NULL, 200,
          shared_fixture("alma-datalink.xml"));
    route("/datalink/sync", PROD_TAR, NULL, 200,
          shared_fixture("alma-datalink-recurse-this.xml"));
    route("/datalink/sync", AUX_TAR, NULL, 200, aux_listing());
}

static const struct asw_dl_file *find_file(const struct asw_dl_list *l,
                                           const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->files[i].name, name) == 0)
            return &l->files[i];
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void template_unit(struct asw_unit *u)
{
    memset(u, 0, sizeof *u);
    snprintf(u->mous_uid, sizeof u->mous_uid, "%s", MOUS);
    snprintf(u->project, sizeof u->project, "2017.1.01185.S");
    snprintf(u->band, sizeof u->band, "3");
    u->obs_mjd = 58000.5;
    assert_int_equal(asw_unit_add_source(u, "J1924-2914"), 0);
}

static const struct asw_unit *find_unit(const struct asw_plan *p,
                                        const char *id)
{
    for (size_t i = 0; i < p->n_units; i++)
        if (strcmp(p->units[i].id, id) == 0)
            return &p->units[i];
    return NULL;
}

/* ---- tests ------------------------------------------------------------- */

/* The acceptance fixture: alma-datalink.xml as the answer for
 * uid://A001/X12a3/Xe9 gives 4 eb-raw units with the exact sizes and one
 * products unit; its nested product listing gives the FITS files and no
 * cutouts. */
static void fixture_acceptance(void **state)
{
    (void)state;
    serve_fixture();
    struct asw_dl_list l;
    struct asw_err err = {0};
    assert_int_equal(asw_datalink_list(base_url, MOUS, 1, &l, &err), 0);
    /* The ID went out URL-encoded and arrived as given. */
    assert_int_equal(l.n_requests, 3);
    assert_int_equal(l.n_expanded, 2);
    assert_string_equal(l.expanded[0], PROD_TAR);
    assert_string_equal(l.expanded[1], AUX_TAR);

    size_t top = 0, nested_this = 0, fits = 0;
    for (size_t i = 0; i < l.n; i++) {
        const struct asw_dl_file *f = &l.files[i];
        assert_string_not_equal(f->semantics, "#cutout");
        assert_non_null(f->url);
        if (!f->parent) {
            top++;
            continue;
        }
        if (strcmp(f->parent, PROD_TAR) == 0) {
            nested_this++;
            assert_string_equal(f->semantics, "#this");
            if (ends_with(f->name, ".fits") || ends_with(f->name, ".fits.gz"))
                fits++;
        }
    }
    assert_int_equal(top, 7); /* README, 2 tars, 4 ASDMs */
    assert_int_equal(nested_this, 6);
    assert_int_equal(fits, 4);
    static const struct {
        const char *name;
        int64_t bytes;
    } want[] = {
        {"member.uid___A001_X12a3_Xe9.README.txt", 3523},
        {PROD_TAR, 556278784},
        {AUX_TAR, 135479296},
        {"member.uid___A001_X12a3_Xe9.50_kms_cloud_sci.spw0_1_2_3_4_5_6_7_8_9_"
         "10_11_12_13_14_15.mfs.I.manual.image.pbcor.fits",
         1359360},
        {"member.uid___A001_X12a3_Xe9.50_kms_cloud_sci.spw0_1_2_3_4_5_6_7_8_9_"
         "10_11_12_13_14_15.mfs.I.manual.pb.fits.gz",
         488550},
        {"member.uid___A001_X12a3_Xe9.50_kms_cloud_sci.spw0_4_8_12.cube.I."
         "manual.image.pbcor.fits",
         405008640},
        {"member.uid___A001_X12a3_Xe9.50_kms_cloud_sci.spw0_4_8_12.cube.I."
         "manual.pb.fits.gz",
         148936128},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct asw_dl_file *f = find_file(&l, want[i].name);
        if (!f)
            fail_msg("%s not listed", want[i].name);
        assert_true(f->size_bytes == want[i].bytes);
    }

    struct asw_unit tmpl;
    template_unit(&tmpl);
    struct asw_plan plan = {0};
    assert_int_equal(asw_archive_units(&l, &tmpl,
                                       ASW_UNITS_EB_RAW | ASW_UNITS_PRODUCTS,
                                       &plan, &err),
                     0);
    assert_int_equal(plan.n_units, 5);
    static const struct {
        const char *id;
        int64_t bytes;
    } ebs[] = {
        {"uid___A002_Xd28a9e_X71b8", 2343569408LL},
        {"uid___A002_Xd28a9e_X7b4d", 2343861248LL},
        {"uid___A002_Xd29c1f_X1f74", 2616798208LL},
        {"uid___A002_Xd29c1f_X5cf", 2680167424LL},
    };
    size_t n_raw = 0, n_products = 0;
    for (size_t i = 0; i < plan.n_units; i++)
        n_raw += plan.units[i].kind == ASW_UNIT_EB_RAW,
            n_products += plan.units[i].kind == ASW_UNIT_MOUS_PRODUCTS;
    assert_int_equal(n_raw, 4);
    assert_int_equal(n_products, 1);
    for (size_t i = 0; i < 4; i++) {
        const struct asw_unit *u = find_unit(&plan, ebs[i].id);
        if (!u)
            fail_msg("no eb-raw unit %s", ebs[i].id);
        assert_int_equal(u->kind, ASW_UNIT_EB_RAW);
        assert_int_equal(u->n_files, 1);
        assert_true(u->bytes_total == ebs[i].bytes);
        assert_true(u->files[0].size_bytes == ebs[i].bytes);
        assert_true(u->scratch_need == 10 * ebs[i].bytes);
        assert_string_equal(u->files[0].semantics, "#progenitor");
        assert_string_equal(u->mous_uid, MOUS);
        assert_string_equal(u->project, "2017.1.01185.S");
    }
    /* The product listing holds only science images (manual imaging):
     * the products unit downloads none of them, nor the 556 MB tar. */
    const struct asw_unit *pu = find_unit(&plan, "uid___A001_X12a3_Xe9");
    assert_non_null(pu);
    assert_int_equal(pu->kind, ASW_UNIT_MOUS_PRODUCTS);
    assert_int_equal(pu->n_files, 0);
    assert_true(pu->bytes_total == 0);
    asw_plan_free(&plan);
    asw_unit_clear(&tmpl);
    asw_dl_list_free(&l);

    /* The sanitized uid form is sent as given. */
    assert_int_equal(
        asw_datalink_list(base_url, "uid___A001_X12a3_Xe9", 0, &l, &err), 0);
    assert_string_equal(last_id, "uid___A001_X12a3_Xe9");
    assert_int_equal(l.n_requests, 1);
    assert_int_equal(l.n_expanded, 0);
    assert_int_equal(l.n, 7);
    asw_dl_list_free(&l);
}

/* Without adhoc:service RESOURCEs there is no nested listing to choose
 * from: the products unit is the product tar. */
static void fallback_to_product_tar(void **state)
{
    (void)state;
    char *doc = shared_fixture("alma-datalink.xml");
    char *meta = strstr(doc, "  <RESOURCE type=\"meta\"");
    assert_non_null(meta);
    strcpy(meta, "</VOTABLE>\n");
    route("/datalink/sync", MOUS, NULL, 200, doc);
    struct asw_dl_list l;
    struct asw_err err = {0};
    assert_int_equal(asw_datalink_list(base_url, MOUS, 1, &l, &err), 0);
    assert_int_equal(l.n_expanded, 0);
    assert_int_equal(l.n_requests, 1);
    struct asw_unit tmpl;
    template_unit(&tmpl);
    struct asw_plan plan = {0};
    assert_int_equal(
        asw_archive_units(&l, &tmpl, ASW_UNITS_PRODUCTS, &plan, &err), 0);
    assert_int_equal(plan.n_units, 1);
    assert_int_equal(plan.units[0].n_files, 1);
    assert_string_equal(plan.units[0].files[0].name, PROD_TAR);
    assert_true(plan.units[0].bytes_total == 556278784);
    assert_true(plan.units[0].scratch_need == 3 * 556278784LL);
    asw_plan_free(&plan);
    asw_unit_clear(&tmpl);
    asw_dl_list_free(&l);
}

/* From a nested listing only calibrator images (.pbcor.fits, .pb.fits.gz)
 * and flux.csv are taken; names are URL-decoded ('+' in J1751+0939). */
static void products_select_calibrators(void **state)
{
    (void)state;
    char top[4096];
    snprintf(top, sizeof top, "%s",
             "<?xml version=\"1.0\"?><VOTABLE><RESOURCE type=\"results\">"
             "<TABLE><FIELD name=\"semantics\" datatype=\"char\" "
             "arraysize=\"*\"/><FIELD name=\"service_def\" datatype=\"char\" "
             "arraysize=\"*\"/><FIELD name=\"access_url\" datatype=\"char\" "
             "arraysize=\"*\"/><FIELD name=\"content_length\" "
             "datatype=\"long\"/><DATA><TABLEDATA>"
             "<TR><TD>#this</TD><TD/><TD>http://x/dataPortal/p.tar</TD>"
             "<TD>1000000</TD></TR>"
             "<TR><TD>#this</TD><TD>DataLink.p.tar</TD><TD/><TD/></TR>"
             "</TABLEDATA></DATA></TABLE></RESOURCE>"
             "<RESOURCE type=\"meta\" ID=\"DataLink.p.tar\" "
             "utype=\"adhoc:service\"><PARAM name=\"standardID\" "
             "datatype=\"char\" arraysize=\"*\" "
             "value=\"ivo://ivoa.net/std/DataLink#links-1.0\"/>"
             "<PARAM name=\"accessURL\" datatype=\"char\" arraysize=\"*\" "
             "value=\"https://elsewhere/datalink/sync?ID=p.tar\"/>"
             "</RESOURCE></VOTABLE>");
    static const char *const rows[] = {
        "http://x/dataPortal/member.uid___A001_X1_X2.J1924-2914_bp.spw16.mfs."
        "I.pbcor.fits|#this|application/octet-stream|100",
        "http://x/dataPortal/member.uid___A001_X1_X2.J1924-2914_bp.spw16.mfs."
        "I.pb.fits.gz|#this|application/octet-stream|40",
        "http://x/dataPortal/member.uid___A001_X1_X2.J1751%2B0939_ph.spw18_20."
        "mfs.I.pbcor.fits|#this|application/octet-stream|101",
        "http://x/dataPortal/member.uid___A001_X1_X2.J0423-0120_amp.spw16.mfs."
        "I.pbcor.fits|#this|application/octet-stream|102",
        "http://x/dataPortal/member.uid___A001_X1_X2.J0423-0120_polleak.spw16."
        "mfs.IQUV.pbcor.fits|#this|application/octet-stream|103",
        "http://x/dataPortal/member.uid___A001_X1_X2.J1256-0547_ch.spw16.mfs.I."
        "pbcor.fits|#this|application/octet-stream|104",
        "http://x/dataPortal/member.uid___A001_X1_X2.M83_sci.spw16.mfs.I.pbcor."
        "fits|#this|application/octet-stream|5000",
        "http://x/dataPortal/member.uid___A001_X1_X2.J1924-2914_bp.spw16.mfs.I."
        "mask.tgz|#this|application/octet-stream|7",
        "http://x/dataPortal/member.uid___A001_X1_X2.flux.csv|#this|"
        "text/csv|33",
    };
    route("/datalink/sync", "uid___A001_X1_X2", NULL, 200, strdup(top));
    route("/datalink/sync", "p.tar", NULL, 200, listing("p.tar", rows, 9));
    struct asw_dl_list l;
    struct asw_err err = {0};
    assert_int_equal(
        asw_datalink_list(base_url, "uid___A001_X1_X2", 1, &l, &err), 0);
    /* The nested listing was asked of our server, by the accessURL's ID. */
    assert_string_equal(last_id, "p.tar");
    struct asw_unit tmpl;
    template_unit(&tmpl);
    snprintf(tmpl.mous_uid, sizeof tmpl.mous_uid, "uid://A001/X1/X2");
    struct asw_plan plan = {0};
    assert_int_equal(
        asw_archive_units(&l, &tmpl, ASW_UNITS_PRODUCTS, &plan, &err), 0);
    assert_int_equal(plan.n_units, 1);
    const struct asw_unit *u = &plan.units[0];
    assert_string_equal(u->id, "uid___A001_X1_X2");
    assert_int_equal(u->n_files, 7);
    assert_true(u->bytes_total == 100 + 40 + 101 + 102 + 103 + 104 + 33);
    assert_true(u->scratch_need == u->bytes_total);
    int plus = 0;
    for (size_t i = 0; i < u->n_files; i++) {
        assert_null(strstr(u->files[i].name, "_sci"));
        assert_null(strstr(u->files[i].name, "mask"));
        assert_string_not_equal(u->files[i].name, "p.tar");
        plus += strstr(u->files[i].name, "J1751+0939_ph") != NULL;
    }
    assert_int_equal(plus, 1);
    asw_plan_free(&plan);
    asw_unit_clear(&tmpl);
    asw_dl_list_free(&l);
}

static void calibrator_names(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "member.uid___A001_X1_X2.J1924-2914_bp.spw16.mfs.I.pbcor.fits",
        "member.uid___A001_X1_X2.J1924-2914_ph.spw16_18.mfs.I.pb.fits.gz",
        "uid___A001_X1_X2.J1924-2914_ch.spw5.cube.I.pbcor.fits",
        "member.uid___A001_X1_X2.J1924-2914_amp.spw16.mfs.I.pbcor.fits",
        "member.uid___A001_X1_X2.J1924-2914_pol.spw16.mfs.IQUV.pbcor.fits",
        "member.uid___A001_X1_X2.My_Source_Name_polcal.spw1.mfs.I.pbcor.fits",
    };
    static const char *const no[] = {
        "member.uid___A001_X1_X2.M83_sci.spw16.mfs.I.pbcor.fits",
        "member.uid___A001_X1_X2.J1924-2914_bp.spw16.mfs.I.mask.tgz",
        "member.uid___A001_X1_X2.J1924-2914_bp.spw16.mfs.I.pb.fits",
        "member.uid___A001_X1_X2.J1924-2914_bp.spw16.mfs.I.pbcor.fits.gz",
        "member.uid___A001_X1_X2.J1924-2914_bpx.spw16.mfs.I.pbcor.fits",
        "member.uid___A001_X1_X2.J1924-2914_bp.spwX.mfs.I.pbcor.fits",
        "member.uid___A001_X1_X2.J1924-2914.spw16.mfs.I.pbcor.fits",
        "2017.1.01185.S_uid___A001_X12a3_Xe9_001_of_001.tar",
        "member.uid___A001_X1_X2.flux.csv",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!asw_archive_is_calibrator_image(yes[i]))
            fail_msg("not taken as a calibrator image: %s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (asw_archive_is_calibrator_image(no[i]))
            fail_msg("taken as a calibrator image: %s", no[i]);
}

static void datalink_layouts_and_errors(void **state)
{
    (void)state;
    route("/datalink/sync", "uid://A001/X1/X11", NULL, 200,
          vot_fixture("datalink11.xml"));
    route("/datalink/sync", "uid://C0/C1/C2", NULL, 200,
          vot_fixture("datalink-notfound.xml"));
    route("/datalink/sync", "uid://A001/X1/X400", NULL, 400,
          strdup("UsageFault: invalid ID"));
    struct asw_dl_list l;
    struct asw_err err = {0};
    /* DataLink 1.1, 12 columns. */
    assert_int_equal(
        asw_datalink_list(base_url, "uid://A001/X1/X11", 0, &l, &err), 0);
    assert_true(l.n >= 1);
    for (size_t i = 0; i < l.n; i++)
        assert_true(l.files[i].size_bytes > 0);
    asw_dl_list_free(&l);
    /* #error: a clear error with the service's message. */
    assert_int_equal(asw_datalink_list(base_url, "uid://C0/C1/C2", 1, &l, &err),
                     ASW_ENOTFOUND);
    assert_non_null(strstr(err.msg, "NotFoundFault: uid://C0/C1/C2"));
    assert_int_equal(l.n, 0);
    /* HTTP 400 with a text body. */
    assert_int_equal(
        asw_datalink_list(base_url, "uid://A001/X1/X400", 1, &l, &err),
        ASW_EHTTP);
    assert_non_null(strstr(err.msg, "HTTP 400"));
}

/* A TAP answer in the VOTable fixture files' failure forms. */
static void tap_failures(void **state)
{
    (void)state;
    route("/err/tap/sync", NULL, NULL, 200, vot_fixture("tap-error.xml"));
    route("/err400/tap/sync", NULL, NULL, 400, vot_fixture("tap-error.xml"));
    route("/over/tap/sync", NULL, NULL, 200, vot_fixture("tap-overflow.xml"));
    route("/redecl/tap/sync", NULL, NULL, 200,
          vot_fixture("tap-midstream-xmldecl.xml"));
    route("/trunc/tap/sync", NULL, NULL, 200, vot_fixture("truncated.xml"));
    route("/html/tap/sync", NULL, NULL, 200,
          strdup("<html><body>maintenance</body></html>"));
    route("/ok/tap/sync", NULL, NULL, 200, vot_fixture("empty-result.xml"));
    struct {
        const char *path;
        int rc;
        const char *text;
    } cases[] = {
        {"/err", ASW_EQUERY, "ORA-01489: result of string concatenation"},
        {"/err400", ASW_EQUERY, "(HTTP 400): IllegalArgumentException"},
        {"/over", ASW_EOVERFLOW, "truncated the answer at 2 rows"},
        {"/redecl", ASW_EPARSE, "second XML declaration mid-stream"},
        {"/trunc", ASW_EPARSE, "cut short"},
        {"/html", ASW_EPARSE, "root element is <html>"},
        {"/ok", 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char mirror[128];
        snprintf(mirror, sizeof mirror, "%s%s", base_url, cases[i].path);
        struct asw_vot_table *t = NULL;
        struct asw_err err = {0};
        int rc = asw_tap_query(mirror, "SELECT 1", 10, &t, &err);
        if (rc != cases[i].rc || !strstr(err.msg, cases[i].text))
            fail_msg("%s: rc %d (%s), expected %d with '%s'", cases[i].path, rc,
                     err.msg, cases[i].rc, cases[i].text);
        if (rc)
            assert_null(t);
        else
            assert_non_null(t);
        asw_vot_table_free(t);
    }
    /* The redeclared answer's own error text is reported too. */
    struct asw_vot_table *t = NULL;
    struct asw_err err = {0};
    char mirror[128];
    snprintf(mirror, sizeof mirror, "%s/redecl", base_url);
    asw_tap_query(mirror, "SELECT 1", 10, &t, &err);
    assert_non_null(strstr(err.msg, "ORA-01489"));
}

/* An ObsCore answer whose columns come in another order, with extra
 * columns and without t_min: read by FIELD name. */
static const char tap_reordered[] =
    "<?xml version=\"1.0\"?><VOTABLE xmlns=\"http://www.ivoa.net/xml/VOTable/"
    "v1.3\"><RESOURCE type=\"results\"><INFO name=\"QUERY_STATUS\" "
    "value=\"OK\"/><TABLE>"
    "<FIELD name=\"frequency\" datatype=\"double\"/>"
    "<FIELD name=\"collections\" datatype=\"char\" arraysize=\"*\"/>"
    "<FIELD name=\"band_list\" datatype=\"char\" arraysize=\"*\"/>"
    "<FIELD name=\"target_name\" datatype=\"char\" arraysize=\"*\"/>"
    "<FIELD name=\"pi_name\" datatype=\"char\" arraysize=\"*\"/>"
    "<FIELD name=\"member_ous_uid\" datatype=\"char\" arraysize=\"*\"/>"
    "<FIELD name=\"s_ra\" datatype=\"double\"/>"
    "<FIELD name=\"proposal_id\" datatype=\"char\" arraysize=\"*\"/>"
    "<DATA><TABLEDATA>"
    "<TR><TD>91.5</TD><TD/><TD>3</TD><TD>J1924-2914</TD><TD>Doe</TD>"
    "<TD>uid://A001/X12a3/Xe9</TD><TD>291.2</TD><TD>2017.1.01185.S</TD></TR>"
    "<TR><TD>93.5</TD><TD>x</TD><TD>3</TD><TD>J0423-0120</TD><TD>Doe</TD>"
    "<TD>uid://A001/X12a3/Xe9</TD><TD>65.8</TD><TD>2017.1.01185.S</TD></TR>"
    "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>";

static void tap_columns_by_name(void **state)
{
    (void)state;
    serve_fixture();
    route("/tap/sync", NULL, NULL, 200, strdup(tap_reordered));
    char ini[512];
    snprintf(ini, sizeof ini,
             "[archive]\nmirrors = %s\nretries = 0\n[pipeline]\nmode = casa\n",
             base_url);
    struct asw_config cfg;
    struct asw_err err = {0};
    assert_int_equal(asw_config_parse(ini, "t", &cfg, &err), 0);
    struct asw_plan plan;
    if (asw_archive_plan(&cfg, &plan, &err))
        fail_msg("plan: %s", err.msg);
    assert_int_equal(plan.n_rows, 2);
    assert_int_equal(plan.n_mous, 1);
    assert_int_equal(plan.n_units, 4);
    assert_int_equal(plan.n_tap_queries, 1);
    assert_int_equal(plan.n_datalink, 1); /* casa mode: no nested listing */
    assert_string_equal(plan.mirror, base_url);
    for (size_t i = 0; i < plan.n_units; i++) {
        const struct asw_unit *u = &plan.units[i];
        assert_string_equal(u->project, "2017.1.01185.S");
        assert_string_equal(u->band, "3");
        assert_string_equal(u->mous_uid, MOUS);
        assert_int_equal(u->n_sources, 2);
        assert_string_equal(u->sources[0], "J1924-2914");
        assert_string_equal(u->sources[1], "J0423-0120");
        assert_true(isnan(u->obs_mjd));
    }
    asw_plan_free(&plan);

    /* Without band_list the answer cannot be used. */
    routes_clear();
    serve_fixture();
    char *noband = strdup(tap_reordered);
    char *p = strstr(noband, "name=\"band_list\"");
    memcpy(p + 6, "bandlist_", 9);
    route("/tap/sync", NULL, NULL, 200, noband);
    assert_int_equal(asw_archive_plan(&cfg, &plan, &err), ASW_EPROTO);
    assert_non_null(strstr(err.msg, "band_list"));
    assert_int_equal(plan.n_units, 0);
    asw_config_free(&cfg);
}

/* A 5xx that carries a DALI error document: after the retries, the
 * message names the archive's cause, not just the status. */
static void server_error_with_text(void **state)
{
    (void)state;
    route("/tap/sync", NULL, NULL, 503, vot_fixture("tap-error.xml"));
    char ini[512];
    snprintf(ini, sizeof ini, "[archive]\nmirrors = %s\nretries = 0\n",
             base_url);
    struct asw_config cfg;
    struct asw_err err = {0};
    assert_int_equal(asw_config_parse(ini, "t", &cfg, &err), 0);
    struct asw_plan plan;
    assert_int_equal(asw_archive_plan(&cfg, &plan, &err), ASW_EHTTP);
    assert_non_null(strstr(err.msg, "HTTP 503: IllegalArgumentException: "
                                    "ORA-01489"));
    asw_config_free(&cfg);
}

/* A dead first mirror: the second answers, and is the plan's mirror. */
static void mirror_failover(void **state)
{
    (void)state;
    serve_fixture();
    route("/tap/sync", NULL, NULL, 200, strdup(tap_reordered));
    char ini[512];
    snprintf(ini, sizeof ini,
             "[archive]\nmirrors = http://127.0.0.1:1, %s\nretries = 0\n"
             "[pipeline]\nmode = casa\n",
             base_url);
    struct asw_config cfg;
    struct asw_err err = {0};
    assert_int_equal(asw_config_parse(ini, "t", &cfg, &err), 0);
    struct asw_plan plan;
    if (asw_archive_plan(&cfg, &plan, &err))
        fail_msg("plan: %s", err.msg);
    assert_string_equal(plan.mirror, base_url);
    assert_int_equal(plan.n_units, 4);
    asw_plan_free(&plan);
    asw_config_free(&cfg);
}

static char *rows_doc(const char *overflow, const char *const *projects,
                      size_t n)
{
    char *s = malloc(8192);
    size_t len = (size_t)snprintf(
        s, 8192,
        "<?xml version=\"1.0\"?><VOTABLE><RESOURCE type=\"results\">"
        "<INFO name=\"QUERY_STATUS\" value=\"OK\"/><TABLE>"
        "<FIELD name=\"member_ous_uid\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"proposal_id\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"target_name\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"band_list\" datatype=\"char\" arraysize=\"*\"/>"
        "<DATA><TABLEDATA>");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, 8192 - len,
                                "<TR><TD>" MOUS "</TD><TD>%s</TD>"
                                "<TD>J1924-2914</TD><TD>3</TD></TR>",
                                projects[i]);
    snprintf(s + len, 8192 - len,
             "</TABLEDATA></DATA></TABLE>%s</RESOURCE></VOTABLE>",
             overflow ? overflow : "");
    return s;
}

static char *one_column(const char *name, const char *const *vals, size_t n)
{
    char *s = malloc(4096);
    size_t len = (size_t)snprintf(
        s, 4096,
        "<?xml version=\"1.0\"?><VOTABLE><RESOURCE type=\"results\">"
        "<INFO name=\"QUERY_STATUS\" value=\"OK\"/><TABLE><FIELD name=\"%s\" "
        "datatype=\"char\" arraysize=\"*\"/><DATA><TABLEDATA>",
        name);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, 4096 - len, "<TR><TD>%s</TD></TR>",
                                vals[i]);
    snprintf(s + len, 4096 - len,
             "</TABLEDATA></DATA></TABLE></RESOURCE>"
             "</VOTABLE>");
    return s;
}

/* A truncated answer is split by cycle; the parts' rows must add up to
 * COUNT(*), and a count that disagrees fails the plan. */
static void split_and_count(void **state)
{
    (void)state;
    static const char *const p17[] = {"2017.1.01185.S"};
    static const char *const p18[] = {"2018.1.00001.S", "2018.1.00001.S"};
    static const char *const both[] = {"2017.1.01185.S", "2018.1.00001.S"};
    for (int wrong = 0; wrong < 2; wrong++) {
        routes_clear();
        serve_fixture();
        static const char *const three[] = {"3"}, *const four[] = {"4"};
        route("/tap/sync", NULL, "COUNT(*)", 200,
              one_column("n", wrong ? four : three, 1));
        route("/tap/sync", NULL, "DISTINCT proposal_id", 200,
              one_column("proposal_id", both, 2));
        route("/tap/sync", NULL, "LIKE '2017.%'", 200, rows_doc(NULL, p17, 1));
        route("/tap/sync", NULL, "LIKE '2018.%'", 200, rows_doc(NULL, p18, 2));
        route("/tap/sync", NULL, NULL, 200,
              rows_doc("<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>", p17,
                       1));
        char ini[512];
        snprintf(ini, sizeof ini,
                 "[archive]\nmirrors = %s\nretries = 0\n"
                 "max_rows_per_query = 2\n[pipeline]\nmode = casa\n",
                 base_url);
        struct asw_config cfg;
        struct asw_err err = {0};
        assert_int_equal(asw_config_parse(ini, "t", &cfg, &err), 0);
        struct asw_plan plan;
        int rc = asw_archive_plan(&cfg, &plan, &err);
        if (wrong) {
            assert_int_equal(rc, ASW_EPROTO);
            assert_non_null(strstr(err.msg, "COUNT(*)"));
            assert_non_null(strstr(err.msg, "says 4"));
            assert_int_equal(plan.n_units, 0);
        } else {
            if (rc)
                fail_msg("plan: %s", err.msg);
            assert_int_equal(plan.n_parts, 2);
            assert_int_equal(plan.n_rows, 3);
            assert_true(plan.rows_counted == 3);
            /* whole, DISTINCT, 2 parts, COUNT */
            assert_int_equal(plan.n_tap_queries, 5);
            asw_plan_free(&plan);
        }
        asw_config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(fixture_acceptance, reset),
        cmocka_unit_test_setup(fallback_to_product_tar, reset),
        cmocka_unit_test_setup(products_select_calibrators, reset),
        cmocka_unit_test(calibrator_names),
        cmocka_unit_test_setup(datalink_layouts_and_errors, reset),
        cmocka_unit_test_setup(tap_failures, reset),
        cmocka_unit_test_setup(tap_columns_by_name, reset),
        cmocka_unit_test_setup(server_error_with_text, reset),
        cmocka_unit_test_setup(mirror_failover, reset),
        cmocka_unit_test_setup(split_and_count, reset),
    };
    return cmocka_run_group_tests(tests, server_up, server_down);
}
