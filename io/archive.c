#include "archive.h"

#include "adql.h"
#include "http.h"
#include "votable.h"

#include "src/buf.h"
#include "src/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What follows a parse failure is kept to find the error text the archive
 * appended (a second XML document); this much of it. */
#define TAIL_MAX ((size_t)64 << 10)
/* Caps on what the collector keeps of one answer. */
#define TAP_MAX_TOTAL      ((size_t)2 << 30)
#define DATALINK_MAX_TOTAL ((size_t)256 << 20)

/* Scratch a unit may need, as a multiple of its download size: a tar is
 * extracted next to itself, single files are used as they are. */
#define TAR_SCRATCH_FACTOR  3
#define FILE_SCRATCH_FACTOR 1
#define RAW_SCRATCH_FACTOR  10

#define DATALINK_STD "ivo://ivoa.net/std/DataLink#links"

/* ---- the connection: mirrors, HTTP client, credentials ------------------ */

struct conn {
    const char *const *mirrors; /* borrowed */
    size_t n_mirrors;
    size_t cur; /* the mirror that answered last */
    struct asw_http_client *http;
    struct asw_http_opts o;
    size_t n_tap;
    size_t n_dl;
};

static int conn_init(struct conn *c, const struct asw_config *cfg,
                     const char *const *mirrors, size_t n, struct asw_err *err)
{
    memset(c, 0, sizeof *c);
    c->mirrors = mirrors;
    c->n_mirrors = n;
    c->o.retries = cfg ? cfg->archive_retries : 3;
    if (cfg && cfg->connect_timeout_s)
        c->o.connect_timeout_s = cfg->connect_timeout_s;
    if (cfg)
        c->o.ca_file = cfg->ca_file; /* [download] ca_file: TAP, DataLink */
    if (cfg && cfg->credentials && strcmp(cfg->credentials, "env") == 0) {
        const char *u = getenv(cfg->user_env), *p = getenv(cfg->password_env);
        if (!u || !*u || !p)
            return asw_err_set(err, ASW_ECONFIG, "archive",
                               "[archive] credentials = env, but $%s or $%s "
                               "is not set",
                               cfg->user_env, cfg->password_env);
        c->o.user = u;
        c->o.password = p;
    }
    c->http = asw_http_client_new();
    if (!c->http)
        return asw_err_set(err, ASW_ENOMEM, "archive", "out of memory");
    c->o.client = c->http;
    return 0;
}

static void conn_close(struct conn *c)
{
    asw_http_client_free(c->http);
    c->http = NULL;
}

/* ---- a response body streamed into the VOTable collector ---------------- */

struct votsink {
    struct asw_vot_collector *c;
    struct asw_vot_limits lim;
    int failed;    /* the collector failed; tail holds the bytes after */
    int fail_code; /* its code */
    struct asw_err perr;
    struct asw_buf tail;
};

static int vs_reset(void *ud)
{
    struct votsink *s = ud;
    asw_vot_collector_free(s->c);
    s->c = asw_vot_collector_new(&s->lim);
    s->failed = 0;
    s->fail_code = 0;
    asw_err_clear(&s->perr);
    asw_buf_reset(&s->tail);
    return s->c ? 0 : ASW_ENOMEM;
}

static int vs_write(void *ud, const char *data, size_t len, struct asw_err *err)
{
    struct votsink *s = ud;
    if (!s->failed) {
        int rc = asw_vot_collector_feed(s->c, data, len, &s->perr);
        if (!rc)
            return 0;
        if (rc == ASW_ENOMEM || rc == ASW_ETOOBIG) {
            if (err)
                *err = s->perr;
            return rc;
        }
        s->failed = 1;
        s->fail_code = rc;
    }
    /* Keep reading what follows, for the error text it may hold. */
    size_t room = TAIL_MAX - s->tail.len;
    if (asw_buf_append(&s->tail, data, len < room ? len : room) || len > room) {
        if (err)
            *err = s->perr;
        return s->fail_code;
    }
    return 0;
}

static void vs_init(struct votsink *s, size_t max_total)
{
    memset(s, 0, sizeof *s);
    s->lim.max_total_bytes = max_total;
    asw_buf_init(&s->tail, TAIL_MAX + 1);
}

static void vs_free(struct votsink *s)
{
    asw_vot_collector_free(s->c);
    s->c = NULL;
    asw_buf_free(&s->tail);
}

/*
 * The overall QUERY_STATUS: every INFO of that name counts, since the
 * archive may say OK before the table and OVERFLOW after it. ERROR beats
 * OVERFLOW beats OK; NULL when the answer has none.
 */
static const char *query_status(const struct asw_vot_table *t)
{
    const char *worst = NULL;
    for (size_t i = 0; i < t->ninfos; i++) {
        const char *n = t->infos[i].name, *v = t->infos[i].value;
        if (!n || !v || strcmp(n, "QUERY_STATUS"))
            continue;
        if (strcasecmp(v, "ERROR") == 0)
            return "ERROR";
        if (strcasecmp(v, "OVERFLOW") == 0 || !worst)
            worst = strcasecmp(v, "OVERFLOW") == 0 ? "OVERFLOW" : v;
    }
    return worst;
}

/* The text of the QUERY_STATUS INFO that says ERROR, if any. */
static const char *error_text(const struct asw_vot_table *t)
{
    for (size_t i = 0; i < t->ninfos; i++)
        if (t->infos[i].name && t->infos[i].value &&
            strcmp(t->infos[i].name, "QUERY_STATUS") == 0 &&
            strcasecmp(t->infos[i].value, "ERROR") == 0)
            return t->infos[i].text;
    return NULL;
}

/* The ERROR text of a QUERY_STATUS INFO in raw bytes that did not parse
 * (the document appended mid-stream), squashed to one line in out. */
static void tail_error_text(const char *s, char *out, size_t n)
{
    out[0] = '\0';
    const char *p = s ? strstr(s, "QUERY_STATUS") : NULL;
    if (!p || !(p = strstr(p, "ERROR")) || !(p = strchr(p, '>')))
        return;
    p++;
    size_t k = 0;
    int space = 0;
    for (; *p && *p != '<' && k + 2 < n; p++) {
        if ((unsigned char)*p <= ' ') {
            space = k > 0;
            continue;
        }
        if (space)
            out[k++] = ' ';
        space = 0;
        out[k++] = *p;
    }
    out[k] = '\0';
}

/*
 * Turn a finished transfer into a table or an error. http_rc is what the
 * HTTP layer returned (0, its own error, or the sink's code).
 */
static int read_answer(const char *what, struct votsink *s, int http_rc,
                       long status, struct asw_vot_table **out,
                       struct asw_err *err)
{
    *out = NULL;
    if (http_rc && !s->failed)
        return http_rc; /* network, HTTP status after retries, caps */
    if (s->failed) {
        if (status != 200 && status != 0)
            return asw_err_set(err, ASW_EHTTP, "archive",
                               "%s: HTTP %ld and no readable VOTable (%s)",
                               what, status, s->perr.msg);
        const char *tail = s->tail.data ? s->tail.data : "";
        if (strstr(s->perr.msg, "declaration not at start") ||
            strstr(tail, "<?xml")) {
            char text[256];
            tail_error_text(tail, text, sizeof text);
            return asw_err_set(err, ASW_EPARSE, "archive",
                               "%s: a second XML declaration mid-stream (the "
                               "archive appended an error document after "
                               "the result had started)%s%s",
                               what, text[0] ? ": " : "", text);
        }
        return asw_err_set(err, ASW_EPARSE, "archive",
                           "%s: malformed answer: %s", what, s->perr.msg);
    }
    struct asw_err perr = {0};
    struct asw_vot_table *t = NULL;
    int rc = asw_vot_collector_finish(s->c, &t, &perr);
    if (rc) {
        if (status != 200)
            return asw_err_set(err, ASW_EHTTP, "archive",
                               "%s: HTTP %ld and no readable VOTable (%s)",
                               what, status, perr.msg);
        return asw_err_set(err, rc == ASW_EPARSE ? ASW_EPARSE : rc, "archive",
                           "%s: the answer was cut short or is not a "
                           "VOTable: %s",
                           what, perr.msg);
    }
    const char *qs = query_status(t);
    if ((qs && strcmp(qs, "ERROR") == 0) || status != 200) {
        const char *text = error_text(t);
        if (!qs || strcmp(qs, "ERROR"))
            rc = asw_err_set(err, ASW_EHTTP, "archive", "%s: HTTP %ld", what,
                             status);
        else
            rc = asw_err_set(err, ASW_EQUERY, "archive",
                             "%s: the archive reported an error (HTTP %ld): "
                             "%s",
                             what, status, text && *text ? text : "(no text)");
        asw_vot_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* GET (form NULL) or POST url and parse the VOTable it answers. */
static int fetch_votable(struct conn *c, const char *url, const char *form,
                         size_t max_total, struct asw_vot_table **out,
                         long *status, struct asw_err *err)
{
    struct votsink s;
    vs_init(&s, max_total);
    struct asw_http_sink sink = {vs_write, vs_reset, &s};
    *status = 0;
    int rc = asw_http_request_sink(url, form, &c->o, &sink, status, err);
    rc = read_answer(url, &s, rc, *status, out, err);
    vs_free(&s);
    return rc;
}

/* ---- TAP ----------------------------------------------------------------- */

/* One query on one mirror. On OVERFLOW returns ASW_EOVERFLOW and still
 * hands over the (truncated) table. */
static int tap_one(struct conn *c, const char *mirror, const char *adql,
                   long maxrec, struct asw_vot_table **out, long *status,
                   struct asw_err *err)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/tap/sync", mirror);
    char *q = asw_http_escape(adql);
    if (!q)
        return asw_err_set(err, ASW_ENOMEM, "tap", "out of memory");
    struct asw_buf form;
    asw_buf_init(&form, (size_t)16 << 20);
    int rc = asw_buf_printf(&form,
                            "REQUEST=doQuery&LANG=ADQL&RESPONSEFORMAT="
                            "votable&QUERY=%s",
                            q);
    if (!rc && maxrec > 0)
        rc = asw_buf_printf(&form, "&MAXREC=%ld", maxrec);
    free(q);
    if (rc) {
        asw_buf_free(&form);
        return asw_err_set(err, rc, "tap", "query too long");
    }
    c->n_tap++;
    asw_debug("TAP %s: %s", url, adql);
    rc = fetch_votable(c, url, form.data, TAP_MAX_TOTAL, out, status, err);
    asw_buf_free(&form);
    if (rc)
        return rc;
    const char *qs = query_status(*out);
    if (qs && strcmp(qs, "OVERFLOW") == 0)
        return asw_err_set(err, ASW_EOVERFLOW, "tap",
                           "%s: the archive truncated the answer at %zu rows "
                           "(QUERY_STATUS OVERFLOW)",
                           url, (*out)->nrows);
    return 0;
}

/* Whether another mirror may answer where this one failed. A query the
 * archive understood and rejected (HTTP 400 with QUERY_STATUS ERROR) would
 * be rejected everywhere; a server-side failure under HTTP 200 need not
 * (astroquery #2649: one mirror failed a band_list query). */
static int try_next_mirror(int rc, long status)
{
    switch (rc) {
    case ASW_ENOMEM:
    case ASW_EINVAL:
    case ASW_ETOOBIG:
    case ASW_EOVERFLOW:
    case ASW_ECONFIG:
    case ASW_ENOTFOUND:
        return 0;
    case ASW_EQUERY:
        return status != 400;
    default:
        return 1;
    }
}

/* One request on one mirror, for on_mirrors. */
typedef int (*mirror_fn)(struct conn *c, const char *mirror, void *ctx,
                         long *status, struct asw_err *err);

/* Run fn on the mirrors, from the one that answered last, until one
 * answers or fails in a way another mirror would not cure. */
static int on_mirrors(struct conn *c, mirror_fn fn, void *ctx,
                      struct asw_err *err)
{
    int rc = ASW_ENET;
    size_t k;
    if (!c->n_mirrors)
        return asw_err_set(err, ASW_ECONFIG, "archive", "no mirror configured");
    for (k = 0; k < c->n_mirrors; k++) {
        size_t i = (c->cur + k) % c->n_mirrors;
        long status = 0;
        rc = fn(c, c->mirrors[i], ctx, &status, err);
        if (rc == 0 || rc == ASW_EOVERFLOW)
            c->cur = i;
        if (rc == 0 || !try_next_mirror(rc, status))
            return rc;
        if (k + 1 < c->n_mirrors)
            asw_warn("mirror %s failed (%s); trying %s", c->mirrors[i],
                     err ? err->msg : "", c->mirrors[(i + 1) % c->n_mirrors]);
    }
    if (k > 1 && err) {
        char m[ASW_ERR_MSG_MAX];
        snprintf(m, sizeof m, "%s", err->msg);
        asw_err_set(err, rc, err->module, "all %zu mirrors failed; last: %s", k,
                    m);
    }
    return rc;
}

struct tap_ctx {
    const char *adql;
    long maxrec;
    struct asw_vot_table **out;
};

static int tap_fn(struct conn *c, const char *mirror, void *ctx, long *status,
                  struct asw_err *err)
{
    struct tap_ctx *x = ctx;
    return tap_one(c, mirror, x->adql, x->maxrec, x->out, status, err);
}

static int tap_any(struct conn *c, const char *adql, long maxrec,
                   struct asw_vot_table **out, struct asw_err *err)
{
    struct tap_ctx x = {adql, maxrec, out};
    return on_mirrors(c, tap_fn, &x, err);
}

int asw_tap_query(const char *mirror, const char *adql, long maxrec,
                  struct asw_vot_table **out, struct asw_err *err)
{
    struct conn c;
    const char *m[1] = {mirror};
    *out = NULL;
    int rc = conn_init(&c, NULL, m, 1, err);
    long status = 0;
    if (!rc)
        rc = tap_one(&c, mirror, adql, maxrec, out, &status, err);
    if (rc) {
        asw_vot_table_free(*out);
        *out = NULL;
    }
    conn_close(&c);
    return rc;
}

/* ---- DataLink ------------------------------------------------------------ */

static int dl_one(struct conn *c, const char *mirror, const char *id,
                  struct asw_vot_table **out, long *status, struct asw_err *err)
{
    char *q = asw_http_escape(id);
    if (!q)
        return asw_err_set(err, ASW_ENOMEM, "datalink", "out of memory");
    size_t n = strlen(mirror) + strlen(q) + 32;
    char *url = malloc(n);
    if (!url) {
        free(q);
        return asw_err_set(err, ASW_ENOMEM, "datalink", "out of memory");
    }
    snprintf(url, n, "%s/datalink/sync?ID=%s", mirror, q);
    free(q);
    c->n_dl++;
    int rc = fetch_votable(c, url, NULL, DATALINK_MAX_TOTAL, out, status, err);
    free(url);
    if (rc)
        return rc;
    int c_sem = asw_vot_field_index(*out, "semantics");
    int c_msg = asw_vot_field_index(*out, "error_message");
    if (c_sem < 0) {
        asw_vot_table_free(*out);
        *out = NULL;
        return asw_err_set(err, ASW_EPROTO, "datalink",
                           "%s: the answer has no 'semantics' column", id);
    }
    for (size_t r = 0; r < (*out)->nrows; r++) {
        const char *sem = asw_vot_cell(*out, r, (size_t)c_sem);
        if (sem && strcmp(sem, "#error") == 0) {
            const char *m =
                c_msg >= 0 ? asw_vot_cell(*out, r, (size_t)c_msg) : NULL;
            rc = asw_err_set(err, ASW_ENOTFOUND, "datalink",
                             "DataLink for %s: %s", id,
                             m ? m : "#error row without a message");
            asw_vot_table_free(*out);
            *out = NULL;
            return rc;
        }
    }
    return 0;
}

struct dl_ctx {
    const char *id;
    struct asw_vot_table **out;
};

static int dl_fn(struct conn *c, const char *mirror, void *ctx, long *status,
                 struct asw_err *err)
{
    struct dl_ctx *x = ctx;
    return dl_one(c, mirror, x->id, x->out, status, err);
}

static int dl_any(struct conn *c, const char *id, struct asw_vot_table **out,
                  struct asw_err *err)
{
    struct dl_ctx x = {id, out};
    return on_mirrors(c, dl_fn, &x, err);
}

int asw_datalink_fetch(const char *mirror, const char *id,
                       struct asw_vot_table **out, struct asw_err *err)
{
    struct conn c;
    const char *m[1] = {mirror};
    *out = NULL;
    int rc = conn_init(&c, NULL, m, 1, err);
    long status = 0;
    if (!rc)
        rc = dl_one(&c, mirror, id, out, &status, err);
    conn_close(&c);
    return rc;
}

void asw_dl_list_free(struct asw_dl_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        struct asw_dl_file *f = &l->files[i];
        free(f->name);
        free(f->url);
        free(f->semantics);
        free(f->content_type);
        free(f->parent);
    }
    free(l->files);
    for (size_t i = 0; i < l->n_expanded; i++)
        free(l->expanded[i]);
    free(l->expanded);
    memset(l, 0, sizeof *l);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The file name of a download URL: its last path component, decoded. */
static char *url_file_name(const char *url)
{
    size_t end = strcspn(url, "?#");
    const char *start = url;
    for (size_t i = 0; i < end; i++)
        if (url[i] == '/')
            start = url + i + 1;
    size_t n = (size_t)(url + end - start);
    char *name = malloc(n + 1);
    if (!name)
        return NULL;
    memcpy(name, start, n);
    name[n] = '\0';
    return asw_http_unescape(name);
}

static int safe_name(const char *s)
{
    return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') &&
           !strchr(s, '\\');
}

static int list_add(struct asw_dl_list *l, const char *url, const char *len,
                    const char *sem, const char *type, const char *parent,
                    struct asw_err *err)
{
    char *name = url_file_name(url);
    if (!name)
        return asw_err_set(err, ASW_ENOMEM, "datalink", "out of memory");
    if (!safe_name(name)) {
        free(name);
        return asw_err_set(err, ASW_EPROTO, "datalink",
                           "unusable file name in DataLink URL %s", url);
    }
    struct asw_dl_file *v = realloc(l->files, (l->n + 1) * sizeof *v);
    if (!v) {
        free(name);
        return asw_err_set(err, ASW_ENOMEM, "datalink", "out of memory");
    }
    l->files = v;
    struct asw_dl_file *f = &v[l->n];
    memset(f, 0, sizeof *f);
    f->name = name;
    f->url = strdup(url);
    f->semantics = strdup(sem ? sem : "");
    f->content_type = dup_or_null(type);
    f->parent = dup_or_null(parent);
    char *end = NULL;
    long long b = len && *len ? strtoll(len, &end, 10) : -1;
    f->size_bytes = (end && *end) || b < 0 ? -1 : (int64_t)b;
    l->n++;
    if (!f->url || !f->semantics || (type && !f->content_type) ||
        (parent && !f->parent))
        return asw_err_set(err, ASW_ENOMEM, "datalink", "out of memory");
    return 0;
}

/* The value of parameter key (case-insensitive) in url's query, decoded,
 * malloc'd; NULL if absent. */
static char *query_param(const char *url, const char *key)
{
    const char *q = strchr(url, '?');
    size_t klen = strlen(key);
    while (q) {
        q++;
        size_t n = strcspn(q, "&#");
        if (n > klen && q[klen] == '=' && strncasecmp(q, key, klen) == 0) {
            char *v = strndup(q + klen + 1, n - klen - 1);
            return v ? asw_http_unescape(v) : NULL;
        }
        q = q[n] == '&' ? q + n : NULL;
    }
    return NULL;
}

/* The ID a service row's nested DataLink is asked for: the accessURL's
 * ID of the adhoc:service RESOURCE the row's service_def names, when that
 * is a DataLink service. NULL (not an error) when it is not one. */
static int nested_id(const struct asw_vot_table *t, const char *sd, char **out,
                     struct asw_err *err)
{
    *out = NULL;
    for (size_t i = 0; i < t->nresources; i++) {
        const struct asw_vot_resource *r = &t->resources[i];
        if (!r->id || strcmp(r->id, sd))
            continue;
        const char *std = asw_vot_param_value(r, "standardID");
        const char *url = asw_vot_param_value(r, "accessURL");
        if (!std || strncmp(std, DATALINK_STD, strlen(DATALINK_STD)))
            continue; /* SODA and the like; IDs may repeat */
        if (!url)
            return asw_err_set(err, ASW_EPROTO, "datalink",
                               "service %s has no accessURL", sd);
        *out = query_param(url, "ID");
        if (!*out || !**out) {
            free(*out);
            *out = NULL;
            return asw_err_set(err, ASW_EPROTO, "datalink",
                               "service %s: no ID in accessURL %s", sd, url);
        }
        return 0;
    }
    return 0;
}

/* Add t's downloadable rows to l; with ids, collect the IDs of the nested
 * DataLink services its service rows point at. */
static int listing_rows(struct asw_dl_list *l, const struct asw_vot_table *t,
                        const char *id, const char *parent, char ***ids,
                        size_t *n_ids, struct asw_err *err)
{
    int c_url = asw_vot_field_index(t, "access_url");
    int c_sem = asw_vot_field_index(t, "semantics");
    int c_len = asw_vot_field_index(t, "content_length");
    int c_type = asw_vot_field_index(t, "content_type");
    int c_sd = asw_vot_field_index(t, "service_def");
    if (c_url < 0 || c_sem < 0)
        return asw_err_set(err, ASW_EPROTO, "datalink",
                           "DataLink for %s lacks access_url or semantics", id);
    for (size_t r = 0; r < t->nrows; r++) {
        const char *url = asw_vot_cell(t, r, (size_t)c_url);
        const char *sem = asw_vot_cell(t, r, (size_t)c_sem);
        const char *sd = c_sd >= 0 ? asw_vot_cell(t, r, (size_t)c_sd) : NULL;
        if (sem && strcmp(sem, "#cutout") == 0)
            continue;
        if (url && *url) {
            const char *len =
                c_len >= 0 ? asw_vot_cell(t, r, (size_t)c_len) : NULL;
            const char *type =
                c_type >= 0 ? asw_vot_cell(t, r, (size_t)c_type) : NULL;
            int rc = list_add(l, url, len, sem, type, parent, err);
            if (rc)
                return rc;
            continue;
        }
        if (!ids || !sd || !*sd)
            continue;
        char *nid = NULL;
        int rc = nested_id(t, sd, &nid, err);
        if (rc)
            return rc;
        if (!nid) {
            asw_warn("DataLink for %s: service %s is not a DataLink service; "
                     "not expanded",
                     id, sd);
            continue;
        }
        int seen = 0;
        for (size_t i = 0; i < *n_ids && !seen; i++)
            seen = strcmp((*ids)[i], nid) == 0;
        if (seen) {
            free(nid);
            continue;
        }
        char **v = realloc(*ids, (*n_ids + 1) * sizeof *v);
        if (!v) {
            free(nid);
            return asw_err_set(err, ASW_ENOMEM, "datalink", "out of memory");
        }
        *ids = v;
        v[(*n_ids)++] = nid;
    }
    return 0;
}

static int list_mous(struct conn *c, const char *id, int expand,
                     struct asw_dl_list *l, struct asw_err *err)
{
    memset(l, 0, sizeof *l);
    struct asw_vot_table *t = NULL;
    char **ids = NULL;
    size_t n_ids = 0;
    size_t dl0 = c->n_dl;
    int rc = dl_any(c, id, &t, err);
    if (!rc)
        rc = listing_rows(l, t, id, NULL, expand ? &ids : NULL, &n_ids, err);
    asw_vot_table_free(t);
    t = NULL;
    /* One level: the nested listings' own service rows are not followed. */
    for (size_t i = 0; i < n_ids && !rc; i++) {
        rc = dl_any(c, ids[i], &t, err);
        if (!rc)
            rc = listing_rows(l, t, ids[i], ids[i], NULL, NULL, err);
        asw_vot_table_free(t);
        t = NULL;
    }
    l->expanded = ids;
    l->n_expanded = n_ids;
    l->n_requests = c->n_dl - dl0;
    if (rc)
        asw_dl_list_free(l);
    return rc;
}

int asw_datalink_list(const char *mirror, const char *id, int expand,
                      struct asw_dl_list *out, struct asw_err *err)
{
    struct conn c;
    const char *m[1] = {mirror};
    memset(out, 0, sizeof *out);
    int rc = conn_init(&c, NULL, m, 1, err);
    if (!rc)
        rc = list_mous(&c, id, expand, out, err);
    conn_close(&c);
    return rc;
}

/* ---- units --------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int asw_archive_is_calibrator_image(const char *name)
{
    size_t n = strlen(name);
    size_t cut;
    if (ends_with(name, ".pbcor.fits"))
        cut = n - 11;
    else if (ends_with(name, ".pb.fits.gz"))
        cut = n - 11;
    else
        return 0;
    /* <...>.<source>_<intent>.spw<N>[...].<rest> */
    const char *spw = NULL;
    for (const char *p = name; (p = strstr(p, ".spw")) && p < name + cut; p++)
        if (p[4] >= '0' && p[4] <= '9') {
            spw = p;
            break;
        }
    if (!spw)
        return 0;
    const char *us = NULL;
    for (const char *p = name; p < spw; p++)
        if (*p == '_')
            us = p;
    if (!us)
        return 0;
    size_t ilen = (size_t)(spw - us - 1);
    const char *in = us + 1;
    if (ilen == 0 || memchr(in, '.', ilen))
        return 0;
    static const char *const cal[] = {"bp", "ph", "ch", "amp"};
    for (size_t i = 0; i < sizeof cal / sizeof cal[0]; i++)
        if (strlen(cal[i]) == ilen && strncmp(in, cal[i], ilen) == 0)
            return 1;
    return ilen >= 3 && strncmp(in, "pol", 3) == 0;
}

static int is_tar_file(const struct asw_dl_file *f)
{
    return ends_with(f->name, ".tar") ||
           (f->content_type && strstr(f->content_type, "x-tar"));
}

static int push_unit(struct asw_plan *plan, struct asw_unit *u)
{
    struct asw_unit *p = realloc(plan->units, (plan->n_units + 1) * sizeof *p);
    if (!p)
        return ASW_ENOMEM;
    plan->units = p;
    p[plan->n_units++] = *u;
    memset(u, 0, sizeof *u);
    return 0;
}

/* EB uid from a raw tar name: <project>_uid___A002_X.._X...asdm.sdm.tar */
static int eb_uid_from_name(const char *name, char *out, size_t n)
{
    const char *p = strstr(name, "uid___");
    if (!p)
        return ASW_EINVAL;
    char tmp[ASW_UID_MAX];
    size_t len = strcspn(p, ".");
    if (len >= sizeof tmp)
        return ASW_EINVAL;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    return asw_uid_sanitize(tmp, out, n);
}

static int has_file(const struct asw_unit *u, const char *name)
{
    for (size_t i = 0; i < u->n_files; i++)
        if (strcmp(u->files[i].name, name) == 0)
            return 1;
    return 0;
}

static int was_expanded(const struct asw_dl_list *l, const char *name)
{
    for (size_t i = 0; i < l->n_expanded; i++)
        if (strcmp(l->expanded[i], name) == 0)
            return 1;
    return 0;
}

static int add_to(struct asw_unit *u, const struct asw_dl_file *f,
                  int64_t *scratch)
{
    if (has_file(u, f->name))
        return 0;
    int rc = asw_unit_add_file(u, f->name, f->url, f->size_bytes, f->semantics);
    if (!rc && f->size_bytes > 0)
        *scratch += f->size_bytes *
                    (is_tar_file(f) ? TAR_SCRATCH_FACTOR : FILE_SCRATCH_FACTOR);
    return rc;
}

static int products_unit(const struct asw_dl_list *l,
                         const struct asw_unit *mous, struct asw_plan *plan,
                         struct asw_err *err)
{
    struct asw_unit pu;
    int64_t scratch = 0;
    int n_tars = 0, rc;
    if ((rc = asw_unit_copy(&pu, mous)))
        return asw_err_set(err, rc, "datalink", "out of memory");
    pu.kind = ASW_UNIT_MOUS_PRODUCTS;
    pu.bytes_total = 0;
    if ((rc = asw_uid_sanitize(mous->mous_uid, pu.id, sizeof pu.id))) {
        asw_unit_clear(&pu);
        return asw_err_set(err, ASW_EPROTO, "datalink",
                           "bad member OUS uid '%s'", mous->mous_uid);
    }
    for (size_t i = 0; i < l->n && !rc; i++) {
        const struct asw_dl_file *f = &l->files[i];
        if (f->parent) {
            /* From a nested listing: the calibrator images and flux.csv. */
            if ((strcmp(f->semantics, "#this") == 0 &&
                 asw_archive_is_calibrator_image(f->name)) ||
                ends_with(f->name, "flux.csv"))
                rc = add_to(&pu, f, &scratch);
        } else if (strcmp(f->semantics, "#this") == 0 && is_tar_file(f)) {
            n_tars++;
            /* No nested listing to choose from: the whole tar. */
            if (!was_expanded(l, f->name))
                rc = add_to(&pu, f, &scratch);
        }
    }
    if (!rc && n_tars == 0 && pu.n_files == 0) {
        asw_warn("%s: no product tar in DataLink; no products unit",
                 mous->mous_uid);
        plan->n_mous_no_products++;
    } else if (!rc) {
        if (pu.n_files == 0)
            asw_info("%s: the product listing names no calibrator image",
                     mous->mous_uid);
        pu.scratch_need = scratch;
        rc = push_unit(plan, &pu);
    }
    asw_unit_clear(&pu);
    return rc ? asw_err_set(err, rc, "datalink", "out of memory") : 0;
}

static int raw_units(const struct asw_dl_list *l, const struct asw_unit *mous,
                     struct asw_plan *plan, struct asw_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < l->n && !rc; i++) {
        const struct asw_dl_file *f = &l->files[i];
        if (f->parent || strcmp(f->semantics, "#progenitor"))
            continue;
        struct asw_unit eb;
        if ((rc = asw_unit_copy(&eb, mous)))
            break;
        eb.kind = ASW_UNIT_EB_RAW;
        eb.bytes_total = 0;
        if (eb_uid_from_name(f->name, eb.id, sizeof eb.id)) {
            asw_unit_clear(&eb);
            return asw_err_set(err, ASW_EPROTO, "datalink",
                               "raw tar name without an EB uid: %s", f->name);
        }
        if ((rc = asw_unit_add_file(&eb, f->name, f->url, f->size_bytes,
                                    f->semantics))) {
            asw_unit_clear(&eb);
            break;
        }
        eb.scratch_need = RAW_SCRATCH_FACTOR * eb.bytes_total;
        rc = push_unit(plan, &eb);
        asw_unit_clear(&eb);
    }
    return rc ? asw_err_set(err, rc, "datalink", "out of memory") : 0;
}

int asw_archive_units(const struct asw_dl_list *l, const struct asw_unit *mous,
                      unsigned kinds, struct asw_plan *plan,
                      struct asw_err *err)
{
    int rc = 0;
    if (kinds & ASW_UNITS_EB_RAW)
        rc = raw_units(l, mous, plan, err);
    if (!rc && (kinds & ASW_UNITS_PRODUCTS))
        rc = products_unit(l, mous, plan, err);
    return rc;
}

/* ---- the ObsCore rows and the split of a large selection ---------------- */

struct row {
    char *mous, *project, *target, *band;
    double t_min;
};

struct rows {
    struct row *v;
    size_t n, cap;
};

static void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].mous);
        free(rs->v[i].project);
        free(rs->v[i].target);
        free(rs->v[i].band);
    }
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}

static int rows_take(struct rows *rs, const struct asw_vot_table *t,
                     struct asw_err *err)
{
    int c_mous = asw_vot_field_index(t, "member_ous_uid");
    int c_proj = asw_vot_field_index(t, "proposal_id");
    int c_tgt = asw_vot_field_index(t, "target_name");
    int c_band = asw_vot_field_index(t, "band_list");
    int c_tmin = asw_vot_field_index(t, "t_min");
    if (c_mous < 0 || c_proj < 0 || c_tgt < 0 || c_band < 0)
        return asw_err_set(err, ASW_EPROTO, "tap",
                           "the ObsCore answer lacks member_ous_uid, "
                           "proposal_id, target_name or band_list");
    for (size_t r = 0; r < t->nrows; r++) {
        if (rs->n == rs->cap) {
            size_t cap = rs->cap ? 2 * rs->cap : 256;
            struct row *v = realloc(rs->v, cap * sizeof *v);
            if (!v)
                return asw_err_set(err, ASW_ENOMEM, "tap", "out of memory");
            rs->v = v;
            rs->cap = cap;
        }
        struct row *w = &rs->v[rs->n++];
        const char *tmin =
            c_tmin >= 0 ? asw_vot_cell(t, r, (size_t)c_tmin) : NULL;
        w->mous = dup_or_null(asw_vot_cell(t, r, (size_t)c_mous));
        w->project = dup_or_null(asw_vot_cell(t, r, (size_t)c_proj));
        w->target = dup_or_null(asw_vot_cell(t, r, (size_t)c_tgt));
        w->band = dup_or_null(asw_vot_cell(t, r, (size_t)c_band));
        char *end = NULL;
        w->t_min = tmin ? strtod(tmin, &end) : NAN;
        if (end && *end)
            w->t_min = NAN;
        if ((asw_vot_cell(t, r, (size_t)c_mous) && !w->mous) ||
            (asw_vot_cell(t, r, (size_t)c_proj) && !w->project) ||
            (asw_vot_cell(t, r, (size_t)c_tgt) && !w->target) ||
            (asw_vot_cell(t, r, (size_t)c_band) && !w->band))
            return asw_err_set(err, ASW_ENOMEM, "tap", "out of memory");
    }
    return 0;
}

struct split {
    const struct asw_config *cfg;
    struct conn *c;
    long limit; /* MAXREC per query, 0: the server's */
    struct rows rows;
    size_t n_parts;
    int split; /* the selection had to be split */
};

/* The dimensions a selection is split along, coarsest first. */
enum level { L_ALL, L_CYCLE, L_BAND, L_PROJECT, L_MOUS };

static const char *level_name(int level)
{
    static const char *const names[] = {"whole selection", "cycle", "band",
                                        "project", "member OUS"};
    return names[level];
}

static void describe(const struct asw_adql_part *p, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s%s%s%s%s", p->cycle ? " cycle=" : "",
             p->cycle ? p->cycle : "", p->band_list ? " band_list=" : "",
             p->band_list ? p->band_list : "", p->project ? " project=" : "",
             p->project ? p->project : "", p->mous_uid ? " mous=" : "",
             p->mous_uid ? p->mous_uid : "");
    if (!buf[0])
        snprintf(buf, n, " whole selection");
}

/* The distinct values of col within part; an empty string stands for
 * NULL or empty. The caller frees the strings and the array. */
static int distinct(struct split *s, const struct asw_adql_part *part,
                    const char *col, char ***out, size_t *n,
                    struct asw_err *err)
{
    struct asw_buf q;
    asw_buf_init(&q, (size_t)1 << 20);
    struct asw_vot_table *t = NULL;
    *out = NULL;
    *n = 0;
    int rc = asw_adql_build_part(s->cfg, ASW_ADQL_DISTINCT, col, part, &q, err);
    if (!rc)
        rc = tap_any(s->c, q.data, 0, &t, err);
    asw_buf_free(&q);
    if (rc == ASW_EOVERFLOW) {
        char m[ASW_ERR_MSG_MAX];
        snprintf(m, sizeof m, "%s", err ? err->msg : "");
        rc = asw_err_set(err, rc, "tap",
                         "cannot list the values of %s to split the query: "
                         "%s",
                         col, m);
    }
    int c_col = t ? asw_vot_field_index(t, col) : -1;
    if (!rc && c_col < 0)
        rc = asw_err_set(err, ASW_EPROTO, "tap",
                         "the DISTINCT %s answer has no such column", col);
    for (size_t r = 0; !rc && r < t->nrows; r++) {
        const char *v = asw_vot_cell(t, r, (size_t)c_col);
        char **a = realloc(*out, (*n + 1) * sizeof *a);
        if (!a || !(a[*n] = strdup(v ? v : ""))) {
            if (a)
                *out = a;
            rc = asw_err_set(err, ASW_ENOMEM, "tap", "out of memory");
            break;
        }
        *out = a;
        (*n)++;
    }
    asw_vot_table_free(t);
    return rc;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int fetch_part(struct split *s, const struct asw_adql_part *part,
                      int level, int known_overflow, struct asw_err *err);

/* Split part along the dimension below level and fetch every piece. */
static int split_part(struct split *s, const struct asw_adql_part *part,
                      int level, struct asw_err *err)
{
    char where[512];
    describe(part, where, sizeof where);
    s->split = 1;
    if (level >= L_MOUS)
        return asw_err_set(err, ASW_EOVERFLOW, "tap",
                           "the rows of one member OUS (%s) exceed the "
                           "archive's row limit (MAXREC %ld); raise [archive] "
                           "max_rows_per_query",
                           part->mous_uid ? part->mous_uid : "?", s->limit);
    static const char *const cols[] = {
        [L_CYCLE] = "proposal_id",
        [L_BAND] = "band_list",
        [L_PROJECT] = "proposal_id",
        [L_MOUS] = "member_ous_uid",
    };
    int next = level + 1;
    char **vals = NULL;
    size_t nv = 0;
    int rc = distinct(s, part, cols[next], &vals, &nv, err);
    if (rc)
        return rc;
    if (next == L_CYCLE) {
        /* Cycles are the text before the first '.' of the project codes;
         * a code without one is its own part (matched exactly). */
        size_t w = 0;
        for (size_t i = 0; i < nv; i++) {
            char *dot = strchr(vals[i], '.');
            if (dot)
                *dot = '\0';
            else if (vals[i][0]) {
                /* mark as exact: keep a leading '=' (never in a code) */
                size_t k = strlen(vals[i]);
                char *e = malloc(k + 2);
                if (!e) {
                    strv_free(vals, nv);
                    return asw_err_set(err, ASW_ENOMEM, "tap", "out of memory");
                }
                e[0] = '=';
                memcpy(e + 1, vals[i], k + 1);
                free(vals[i]);
                vals[i] = e;
            }
            int dup = 0;
            for (size_t j = 0; j < w && !dup; j++)
                dup = strcmp(vals[j], vals[i]) == 0;
            if (dup)
                free(vals[i]);
            else
                vals[w++] = vals[i];
        }
        nv = w;
    }
    asw_info("query part%s: more than %ld rows; split by %s into %zu parts",
             where, s->limit, level_name(next), nv);
    for (size_t i = 0; i < nv && !rc; i++) {
        struct asw_adql_part child = *part;
        switch (next) {
        case L_CYCLE:
            if (vals[i][0] == '=')
                child.project = vals[i] + 1;
            else
                child.cycle = vals[i];
            break;
        case L_BAND:
            child.band_list = vals[i];
            break;
        case L_PROJECT:
            child.project = vals[i];
            break;
        default:
            child.mous_uid = vals[i];
            break;
        }
        /* A single value is the same set of rows: it overflows again. */
        rc = fetch_part(s, &child, next, nv == 1, err);
    }
    strv_free(vals, nv);
    return rc;
}

static int fetch_part(struct split *s, const struct asw_adql_part *part,
                      int level, int known_overflow, struct asw_err *err)
{
    if (known_overflow)
        return split_part(s, part, level, err);
    struct asw_buf q;
    asw_buf_init(&q, (size_t)1 << 20);
    struct asw_vot_table *t = NULL;
    int rc = asw_adql_build_part(s->cfg, ASW_ADQL_ROWS, NULL, part, &q, err);
    if (!rc)
        rc = tap_any(s->c, q.data, s->limit, &t, err);
    asw_buf_free(&q);
    if (rc == 0) {
        s->n_parts++;
        rc = rows_take(&s->rows, t, err);
    }
    asw_vot_table_free(t);
    if (rc == ASW_EOVERFLOW)
        rc = split_part(s, part, level, err);
    return rc;
}

static long long count_rows(struct split *s, struct asw_err *err)
{
    struct asw_buf q;
    asw_buf_init(&q, (size_t)1 << 20);
    struct asw_vot_table *t = NULL;
    int rc = asw_adql_build_part(s->cfg, ASW_ADQL_COUNT, NULL, NULL, &q, err);
    if (!rc)
        rc = tap_any(s->c, q.data, 0, &t, err);
    asw_buf_free(&q);
    long long n = -1;
    if (!rc) {
        int col = asw_vot_field_index(t, "n");
        if (col < 0 && t->nfields == 1)
            col = 0;
        const char *v = col >= 0 ? asw_vot_cell(t, 0, (size_t)col) : NULL;
        char *end = NULL;
        n = v ? strtoll(v, &end, 10) : -1;
        if (t->nrows != 1 || !v || *end || n < 0)
            rc = asw_err_set(err, ASW_EPROTO, "tap",
                             "the COUNT(*) answer is not one number");
    }
    asw_vot_table_free(t);
    return rc ? rc : n;
}

/* ---- the plan ------------------------------------------------------------ */

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    return strcmp(x->mous ? x->mous : "", y->mous ? y->mous : "");
}

static int units_cmp(const void *a, const void *b)
{
    return strcmp(((const struct asw_unit *)a)->id,
                  ((const struct asw_unit *)b)->id);
}

/* Fill the template of the MOUS whose rows are rs->v[a..b). */
static int mous_template(const struct rows *rs, size_t a, size_t b,
                         struct asw_unit *u)
{
    memset(u, 0, sizeof *u);
    u->obs_mjd = NAN;
    const struct row *first = &rs->v[a];
    snprintf(u->mous_uid, sizeof u->mous_uid, "%s", first->mous);
    snprintf(u->project, sizeof u->project, "%s",
             first->project ? first->project : "");
    snprintf(u->band, sizeof u->band, "%s", first->band ? first->band : "");
    for (size_t r = a; r < b; r++) {
        const struct row *w = &rs->v[r];
        if (w->target && *w->target && asw_unit_add_source(u, w->target))
            return ASW_ENOMEM;
        if (!isnan(w->t_min) && (isnan(u->obs_mjd) || w->t_min < u->obs_mjd))
            u->obs_mjd = w->t_min;
    }
    return 0;
}

int asw_archive_plan(const struct asw_config *cfg, struct asw_plan *plan,
                     struct asw_err *err)
{
    memset(plan, 0, sizeof *plan);
    plan->rows_counted = -1;
    struct conn c;
    struct split s = {.cfg = cfg, .c = &c};
    struct asw_buf q;
    asw_buf_init(&q, (size_t)1 << 20);
    int rc = conn_init(&c, cfg, (const char *const *)cfg->mirrors.v,
                       cfg->mirrors.n, err);
    if (!rc)
        rc = asw_adql_build(cfg, &q, err);
    if (rc)
        goto out;
    if (!(plan->adql = strdup(q.data))) {
        rc = asw_err_set(err, ASW_ENOMEM, "archive", "out of memory");
        goto out;
    }
    s.limit = cfg->max_rows_per_query ? cfg->max_rows_per_query : cfg->maxrec;

    struct asw_adql_part all = {0};
    rc = fetch_part(&s, &all, L_ALL, 0, err);
    if (rc)
        goto out;
    plan->mirror = strdup(c.mirrors[c.cur]);
    if (!plan->mirror) {
        rc = asw_err_set(err, ASW_ENOMEM, "archive", "out of memory");
        goto out;
    }
    if (s.split) {
        /* The parts must add up to the whole: no row lost, none twice. */
        long long n = count_rows(&s, err);
        if (n < 0) {
            rc = (int)n;
            goto out;
        }
        plan->rows_counted = n;
        if ((size_t)n != s.rows.n) {
            rc = asw_err_set(err, ASW_EPROTO, "tap",
                             "the %zu parts of the split query hold %zu rows "
                             "but COUNT(*) of the selection says %lld (did "
                             "the archive change meanwhile?)",
                             s.n_parts, s.rows.n, n);
            goto out;
        }
        asw_info("split query: %zu parts, %zu rows, equal to COUNT(*)",
                 s.n_parts, s.rows.n);
    }
    plan->n_rows = s.rows.n;
    plan->n_parts = s.n_parts;

    if (s.rows.n > 1)
        qsort(s.rows.v, s.rows.n, sizeof *s.rows.v, row_cmp);
    int products = strcmp(cfg->mode, "products") == 0;
    unsigned kinds = products ? ASW_UNITS_PRODUCTS : ASW_UNITS_EB_RAW;
    size_t a = 0;
    while (a < s.rows.n && !rc) {
        size_t b = a + 1;
        while (b < s.rows.n && !row_cmp(&s.rows.v[a], &s.rows.v[b]))
            b++;
        if (!s.rows.v[a].mous || !*s.rows.v[a].mous) {
            asw_warn("%zu ObsCore rows without member_ous_uid ignored", b - a);
            a = b;
            continue;
        }
        struct asw_unit tmpl;
        struct asw_dl_list l;
        plan->n_mous++;
        if (mous_template(&s.rows, a, b, &tmpl)) {
            asw_unit_clear(&tmpl);
            rc = asw_err_set(err, ASW_ENOMEM, "archive", "out of memory");
            break;
        }
        rc = list_mous(&c, tmpl.mous_uid, products, &l, err);
        if (!rc)
            rc = asw_archive_units(&l, &tmpl, kinds, plan, err);
        asw_dl_list_free(&l);
        asw_unit_clear(&tmpl);
        if (plan->n_mous % 200 == 0)
            asw_info("DataLink: %zu member OUSs, %zu units so far",
                     plan->n_mous, plan->n_units);
        a = b;
    }
    if (rc)
        goto out;
    if (plan->n_units > 1)
        qsort(plan->units, plan->n_units, sizeof *plan->units, units_cmp);
out:
    plan->n_tap_queries = c.n_tap;
    plan->n_datalink = c.n_dl;
    rows_free(&s.rows);
    conn_close(&c);
    asw_buf_free(&q);
    if (rc)
        asw_plan_free(plan);
    return rc;
}

void asw_plan_free(struct asw_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n_units; i++)
        asw_unit_clear(&plan->units[i]);
    free(plan->units);
    free(plan->adql);
    free(plan->mirror);
    memset(plan, 0, sizeof *plan);
    plan->rows_counted = -1;
}

int asw_archive_get_votable(const char *url, struct asw_vot_table **out,
                            struct asw_err *err)
{
    struct conn c;
    const char *m[1] = {url};
    *out = NULL;
    int rc = conn_init(&c, NULL, m, 1, err);
    long status = 0;
    if (!rc)
        rc = fetch_votable(&c, url, NULL, TAP_MAX_TOTAL, out, &status, err);
    conn_close(&c);
    return rc;
}
