#include "archive.h"

#include "adql.h"
#include "http.h"
#include "votable.h"

#include "src/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TAP_BODY      ((size_t)4 << 30)
#define MAX_DATALINK_BODY ((size_t)64 << 20)

/* Scratch a unit may need, as a multiple of its download size. */
#define PRODUCTS_SCRATCH_FACTOR 3
#define RAW_SCRATCH_FACTOR      10

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
        if (strcmp(v, "ERROR") == 0)
            return "ERROR";
        if (strcmp(v, "OVERFLOW") == 0 || !worst)
            worst = strcmp(v, "OVERFLOW") == 0 ? "OVERFLOW" : v;
    }
    return worst;
}

/* The text of the QUERY_STATUS INFO that says ERROR, if any. */
static const char *error_text(const struct asw_vot_table *t)
{
    for (size_t i = 0; i < t->ninfos; i++)
        if (t->infos[i].name && t->infos[i].value &&
            strcmp(t->infos[i].name, "QUERY_STATUS") == 0 &&
            strcmp(t->infos[i].value, "ERROR") == 0)
            return t->infos[i].text;
    return NULL;
}

static int parse_answer(const char *what, const struct asw_buf *body,
                        long status, struct asw_vot_table **out,
                        struct asw_err *err)
{
    struct asw_err perr = {0};
    struct asw_vot_table *t = NULL;
    int rc =
        asw_vot_parse_mem(body->data ? body->data : "", body->len, &t, &perr);
    if (rc) {
        if (status != 200)
            return asw_err_set(err, ASW_EHTTP, "tap",
                               "%s: HTTP %ld and no readable VOTable (%s)",
                               what, status, perr.msg);
        return asw_err_set(err, ASW_EPARSE, "tap",
                           "%s: malformed or truncated answer: %s", what,
                           perr.msg);
    }
    const char *qs = query_status(t);
    if ((qs && strcmp(qs, "ERROR") == 0) || status != 200) {
        const char *text = error_text(t);
        rc = asw_err_set(err, ASW_EQUERY, "tap",
                         "%s: the archive reported an error (HTTP %ld): %s",
                         what, status, text && *text ? text : "(no text)");
        asw_vot_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int asw_tap_query(const char *mirror, const char *adql, long maxrec,
                  struct asw_vot_table **out, struct asw_err *err)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/tap/sync", mirror);
    char *q = asw_http_escape(adql);
    if (!q)
        return asw_err_set(err, ASW_ENOMEM, "tap", "out of memory");
    struct asw_buf form, body;
    asw_buf_init(&form, 1 << 20);
    asw_buf_init(&body, MAX_TAP_BODY);
    int rc = asw_buf_printf(&form,
                            "REQUEST=doQuery&LANG=ADQL&RESPONSEFORMAT="
                            "votable&QUERY=%s",
                            q);
    if (!rc && maxrec > 0)
        rc = asw_buf_printf(&form, "&MAXREC=%ld", maxrec);
    free(q);
    if (rc) {
        rc = asw_err_set(err, rc, "tap", "query too long");
        goto out;
    }
    struct asw_http_opts o = {.retries = 3, .max_body = MAX_TAP_BODY};
    long status = 0;
    rc = asw_http_request(url, form.data, &o, &body, &status, err);
    if (rc)
        goto out;
    rc = parse_answer(url, &body, status, out, err);
    if (rc)
        goto out;
    const char *qs = query_status(*out);
    if (qs && strcmp(qs, "OVERFLOW") == 0) {
        rc = asw_err_set(err, ASW_EOVERFLOW, "tap",
                         "%s: the archive truncated the result at %zu rows "
                         "(QUERY_STATUS OVERFLOW); narrow the selection or "
                         "raise [archive] maxrec",
                         url, (*out)->nrows);
        asw_vot_table_free(*out);
        *out = NULL;
    }
out:
    asw_buf_free(&form);
    asw_buf_free(&body);
    return rc;
}

int asw_datalink_fetch(const char *mirror, const char *id,
                       struct asw_vot_table **out, struct asw_err *err)
{
    char *q = asw_http_escape(id);
    if (!q)
        return asw_err_set(err, ASW_ENOMEM, "datalink", "out of memory");
    char url[2048];
    snprintf(url, sizeof url, "%s/datalink/sync?ID=%s", mirror, q);
    free(q);
    struct asw_buf body;
    asw_buf_init(&body, MAX_DATALINK_BODY);
    struct asw_http_opts o = {.retries = 3, .max_body = MAX_DATALINK_BODY};
    long status = 0;
    int rc = asw_http_request(url, NULL, &o, &body, &status, err);
    if (!rc)
        rc = parse_answer(url, &body, status, out, err);
    asw_buf_free(&body);
    if (rc)
        return rc;
    int c_sem = asw_vot_field_index(*out, "semantics");
    int c_msg = asw_vot_field_index(*out, "error_message");
    if (c_sem < 0) {
        asw_vot_table_free(*out);
        *out = NULL;
        return asw_err_set(err, ASW_EPROTO, "datalink",
                           "%s: answer has no 'semantics' column", url);
    }
    for (size_t r = 0; r < (*out)->nrows; r++) {
        const char *sem = asw_vot_cell(*out, r, c_sem);
        if (sem && strcmp(sem, "#error") == 0) {
            const char *m = c_msg >= 0 ? asw_vot_cell(*out, r, c_msg) : NULL;
            rc = asw_err_set(err, ASW_ENOTFOUND, "datalink", "%s: %s", id,
                             m ? m : "#error row without a message");
            asw_vot_table_free(*out);
            *out = NULL;
            return rc;
        }
    }
    return 0;
}

/* One member OUS as seen in the ObsCore rows. */
struct mous {
    struct asw_unit u; /* the template: project, band, sources, date */
};

static struct mous *find_or_add(struct mous **v, size_t *n, const char *uid)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i].u.mous_uid, uid) == 0)
            return &(*v)[i];
    struct mous *p = realloc(*v, (*n + 1) * sizeof *p);
    if (!p)
        return NULL;
    *v = p;
    memset(&p[*n], 0, sizeof p[*n]);
    snprintf(p[*n].u.mous_uid, sizeof p[*n].u.mous_uid, "%s", uid);
    p[*n].u.obs_mjd = NAN;
    return &p[(*n)++];
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

static int units_for_mous(const struct asw_config *cfg, const char *mirror,
                          struct mous *m, struct asw_plan *plan,
                          struct asw_err *err)
{
    struct asw_vot_table *t = NULL;
    int rc = asw_datalink_fetch(mirror, m->u.mous_uid, &t, err);
    if (rc)
        return rc;
    int c_url = asw_vot_field_index(t, "access_url");
    int c_sem = asw_vot_field_index(t, "semantics");
    int c_len = asw_vot_field_index(t, "content_length");
    int c_type = asw_vot_field_index(t, "content_type");
    if (c_url < 0 || c_len < 0 || c_type < 0) {
        asw_vot_table_free(t);
        return asw_err_set(err, ASW_EPROTO, "datalink",
                           "%s: answer lacks access_url, content_length or "
                           "content_type",
                           m->u.mous_uid);
    }
    int products = strcmp(cfg->mode, "products") == 0;
    struct asw_unit pu;
    if ((rc = asw_unit_copy(&pu, &m->u)))
        goto out;
    pu.kind = ASW_UNIT_MOUS_PRODUCTS;
    if ((rc = asw_uid_sanitize(m->u.mous_uid, pu.id, sizeof pu.id))) {
        asw_err_set(err, rc, "datalink", "bad member OUS uid '%s'",
                    m->u.mous_uid);
        asw_unit_clear(&pu);
        goto out;
    }
    for (size_t r = 0; r < (t)->nrows && !rc; r++) {
        const char *url = asw_vot_cell(t, r, c_url);
        const char *sem = asw_vot_cell(t, r, c_sem);
        const char *len = asw_vot_cell(t, r, c_len);
        const char *type = asw_vot_cell(t, r, c_type);
        if (!url || !*url || !sem)
            continue; /* service rows (nested DataLink, SODA) */
        const char *name = strrchr(url, '/');
        name = name ? name + 1 : url;
        long long bytes = len && *len ? strtoll(len, NULL, 10) : -1;
        if (!products && strcmp(sem, "#progenitor") == 0) {
            struct asw_unit eb;
            if ((rc = asw_unit_copy(&eb, &m->u)))
                break;
            eb.kind = ASW_UNIT_EB_RAW;
            eb.bytes_total = 0;
            if (eb_uid_from_name(name, eb.id, sizeof eb.id) ||
                (rc = asw_unit_add_file(&eb, name, url, bytes, sem))) {
                if (!rc)
                    rc =
                        asw_err_set(err, ASW_EPROTO, "datalink",
                                    "raw tar name without an EB uid: %s", name);
                asw_unit_clear(&eb);
                break;
            }
            eb.scratch_need = RAW_SCRATCH_FACTOR * eb.bytes_total;
            rc = push_unit(plan, &eb);
        } else if (products && strcmp(sem, "#this") == 0 && type &&
                   strstr(type, "x-tar")) {
            rc = asw_unit_add_file(&pu, name, url, bytes, sem);
        }
    }
    if (!rc && products && pu.n_files) {
        pu.scratch_need = PRODUCTS_SCRATCH_FACTOR * pu.bytes_total;
        rc = push_unit(plan, &pu);
    } else if (!rc && products) {
        asw_warn("%s: no product tar in DataLink; nothing to do",
                 m->u.mous_uid);
    }
    asw_unit_clear(&pu);
    if (rc == ASW_ENOMEM)
        asw_err_set(err, rc, "datalink", "out of memory");
out:
    asw_vot_table_free(t);
    return rc;
}

static int units_cmp(const void *a, const void *b)
{
    return strcmp(((const struct asw_unit *)a)->id,
                  ((const struct asw_unit *)b)->id);
}

int asw_archive_plan(const struct asw_config *cfg, struct asw_plan *plan,
                     struct asw_err *err)
{
    memset(plan, 0, sizeof *plan);
    struct asw_buf q;
    asw_buf_init(&q, 1 << 20);
    struct mous *ms = NULL;
    size_t nm = 0;
    struct asw_vot_table *t = NULL;
    int rc = asw_adql_build(cfg, &q, err);
    if (rc)
        goto out;
    plan->adql = strdup(q.data);
    rc = ASW_ENET;
    for (size_t i = 0; i < cfg->mirrors.n; i++) {
        rc = asw_tap_query(cfg->mirrors.v[i], q.data, cfg->maxrec, &t, err);
        if (rc == 0) {
            plan->mirror = strdup(cfg->mirrors.v[i]);
            break;
        }
        /* Only a mirror that cannot be reached is a reason to fail over;
         * an answer that is an error would be the same on every mirror. */
        if (rc != ASW_ENET && rc != ASW_EHTTP)
            goto out;
        asw_warn("mirror %s failed (%s); trying the next", cfg->mirrors.v[i],
                 err ? err->msg : "");
    }
    if (rc)
        goto out;
    int c_mous = asw_vot_field_index(t, "member_ous_uid");
    int c_proj = asw_vot_field_index(t, "proposal_id");
    int c_tgt = asw_vot_field_index(t, "target_name");
    int c_band = asw_vot_field_index(t, "band_list");
    int c_tmin = asw_vot_field_index(t, "t_min");
    if (c_mous < 0 || c_proj < 0 || c_tgt < 0 || c_band < 0) {
        rc = asw_err_set(err, ASW_EPROTO, "tap",
                         "ObsCore answer lacks member_ous_uid, proposal_id, "
                         "target_name or band_list");
        goto out;
    }
    plan->n_rows = (t)->nrows;
    for (size_t r = 0; r < plan->n_rows; r++) {
        const char *uid = asw_vot_cell(t, r, c_mous);
        if (!uid || !*uid)
            continue;
        struct mous *m = find_or_add(&ms, &nm, uid);
        if (!m) {
            rc = asw_err_set(err, ASW_ENOMEM, "tap", "out of memory");
            goto out;
        }
        const char *proj = asw_vot_cell(t, r, c_proj);
        const char *band = asw_vot_cell(t, r, c_band);
        const char *tgt = asw_vot_cell(t, r, c_tgt);
        const char *tmin = c_tmin >= 0 ? asw_vot_cell(t, r, c_tmin) : NULL;
        snprintf(m->u.project, sizeof m->u.project, "%s", proj ? proj : "");
        snprintf(m->u.band, sizeof m->u.band, "%s", band ? band : "");
        if (tgt && *tgt && asw_unit_add_source(&m->u, tgt)) {
            rc = asw_err_set(err, ASW_ENOMEM, "tap", "out of memory");
            goto out;
        }
        if (tmin && *tmin) {
            double v = strtod(tmin, NULL);
            if (isnan(m->u.obs_mjd) || v < m->u.obs_mjd)
                m->u.obs_mjd = v;
        }
    }
    plan->n_mous = nm;
    for (size_t i = 0; i < nm; i++) {
        rc = units_for_mous(cfg, plan->mirror, &ms[i], plan, err);
        if (rc)
            goto out;
    }
    if (plan->n_units > 1)
        qsort(plan->units, plan->n_units, sizeof *plan->units, units_cmp);
out:
    for (size_t i = 0; i < nm; i++)
        asw_unit_clear(&ms[i].u);
    free(ms);
    asw_vot_table_free(t);
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
}

int asw_archive_get_votable(const char *url, struct asw_vot_table **out,
                            struct asw_err *err)
{
    struct asw_buf body;
    asw_buf_init(&body, MAX_TAP_BODY);
    struct asw_http_opts o = {.retries = 3, .max_body = MAX_TAP_BODY};
    long status = 0;
    int rc = asw_http_request(url, NULL, &o, &body, &status, err);
    if (!rc)
        rc = parse_answer(url, &body, status, out, err);
    asw_buf_free(&body);
    return rc;
}
