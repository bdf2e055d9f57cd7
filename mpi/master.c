#include "proto.h"
#include "sweep.h"

#include "asw_version.h"
#include "io/archive.h"
#include "io/catalogue.h"
#include "jobs/pipeline.h"
#include "src/exitcodes.h"
#include "src/log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct queue {
    size_t *v; /* indices into plan.units, FIFO */
    size_t head, tail, cap;
};

static int q_push(struct queue *q, size_t i)
{
    if (q->tail == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        size_t *v = realloc(q->v, cap * sizeof *v);
        if (!v)
            return -1;
        q->v = v;
        q->cap = cap;
    }
    q->v[q->tail++] = i;
    return 0;
}

static const struct asw_unit *sort_units;

/* Largest first: the long units start early and the tail is short. */
static int by_size_desc(const void *a, const void *b)
{
    const struct asw_unit *ua = &sort_units[*(const size_t *)a];
    const struct asw_unit *ub = &sort_units[*(const size_t *)b];
    if (ua->bytes_total != ub->bytes_total)
        return ua->bytes_total < ub->bytes_total ? 1 : -1;
    return strcmp(ua->id, ub->id);
}

struct tally {
    size_t done, failed, skipped, retried;
};

/* Store a result; requeue a failed unit that has attempts left. */
static int record(struct asw_cat *cat, const struct asw_config *cfg,
                  struct asw_unit *u, size_t idx, struct asw_result *r,
                  struct queue *q, struct tally *t)
{
    struct asw_err err = {0};
    r->attempts = u->attempts;
    if (asw_cat_put_result(cat, r, u, &err) ||
        asw_cat_run_host(cat, r->host, &err)) {
        asw_error("catalogue: %s", err.msg);
        return ASW_EXIT_CATALOGUE;
    }
    if (r->status == ASW_ST_DONE) {
        t->done++;
        asw_info("unit %s done: %zu images (%d/%d attempts)", u->id,
                 r->n_images, u->attempts, cfg->max_attempts);
    } else if (u->attempts < cfg->max_attempts) {
        t->retried++;
        asw_warn("unit %s failed (attempt %d/%d), will retry: %s", u->id,
                 u->attempts, cfg->max_attempts, r->error);
        if (q_push(q, idx))
            return ASW_EXIT_CATALOGUE;
    } else {
        t->failed++;
        asw_error("unit %s failed after %d attempts: %s", u->id, u->attempts,
                  r->error);
    }
    return 0;
}

/* The catalogue's options from [output], and its /runs row for this run
 * (provenance: version, configuration, ranks, hosts). */
static int begin_run(struct asw_cat *cat, const struct asw_config *cfg,
                     int size, size_t n_units, struct asw_err *err)
{
    struct asw_cat_options o;
    char host[64] = "";
    asw_cat_options_default(&o);
    o.checkpoint_s = cfg->checkpoint_s;
    o.journal_fsync = cfg->journal_fsync;
    o.pair_days = cfg->pair_days;
    gethostname(host, sizeof host - 1);
    struct asw_cat_run_info info = {cfg->path, cfg->text, cfg->mode, host,
                                    NULL,      size,      n_units};
    return asw_cat_set_options(cat, &o, err) ||
                   asw_cat_run_begin(cat, &info, err)
               ? -1
               : 0;
}

static void stop_all(MPI_Comm comm, int size)
{
    for (int w = 1; w < size; w++)
        asw_msg_send(comm, w, ASW_MSG_STOP, 0, NULL, NULL, 0);
}

static int dispatch(MPI_Comm comm, int worker, struct asw_unit *u)
{
    u->attempts++;
    char *json = asw_unit_to_json(u);
    if (!json)
        return -1;
    int rc =
        asw_msg_send(comm, worker, ASW_MSG_WORK, 0, u->id, json, strlen(json));
    free(json);
    return rc;
}

static size_t find_unit(const struct asw_plan *p, const char *id)
{
    for (size_t i = 0; i < p->n_units; i++)
        if (strcmp(p->units[i].id, id) == 0)
            return i;
    return (size_t)-1;
}

static int serve(MPI_Comm comm, int size, const struct asw_config *cfg,
                 struct asw_plan *plan, struct asw_cat *cat, struct queue *q,
                 struct tally *t)
{
    int in_flight = 0, rc = 0;
    int *idle = calloc((size_t)size, sizeof *idle);
    int n_idle = 0, running = size - 1;
    if (!idle)
        return ASW_EXIT_CATALOGUE;
    while (running > 0) {
        struct asw_msg m;
        if (asw_msg_recv(comm, MPI_ANY_SOURCE, &m))
            MPI_Abort(comm, 70);
        if (m.hdr.type == ASW_MSG_RESULT) {
            in_flight--;
            struct asw_result r;
            struct asw_err err = {0};
            size_t idx = find_unit(plan, m.hdr.unit_id);
            if (idx == (size_t)-1 ||
                asw_result_from_json(m.payload, m.hdr.payload_len, &r, &err)) {
                asw_error("protocol: bad result for '%s' from rank %d: %s",
                          m.hdr.unit_id, m.source, err.msg);
                MPI_Abort(comm, 70);
            }
            int rr = record(cat, cfg, &plan->units[idx], idx, &r, q, t);
            asw_result_clear(&r);
            if (rr && !rc)
                rc = rr;
        } else if (m.hdr.type != ASW_MSG_READY) {
            asw_error("protocol: unexpected message type %u from rank %d",
                      m.hdr.type, m.source);
            MPI_Abort(comm, 70);
        }
        asw_msg_free(&m);
        idle[n_idle++] = m.source;
        /* Hand out work to every idle worker; stop them when nothing is
         * queued and nothing in flight could come back for a retry. */
        while (n_idle && q->head < q->tail && !rc) {
            int w = idle[--n_idle];
            if (dispatch(comm, w, &plan->units[q->v[q->head++]]))
                MPI_Abort(comm, 71);
            in_flight++;
        }
        if (in_flight == 0 && (q->head == q->tail || rc)) {
            while (n_idle) {
                asw_msg_send(comm, idle[--n_idle], ASW_MSG_STOP, 0, NULL, NULL,
                             0);
                running--;
            }
        }
    }
    free(idle);
    return rc;
}

static int serve_alone(const struct asw_config *cfg, struct asw_plan *plan,
                       struct asw_cat *cat, struct queue *q, struct tally *t)
{
    while (q->head < q->tail) {
        size_t idx = q->v[q->head++];
        struct asw_unit *u = &plan->units[idx];
        u->attempts++;
        struct asw_result r;
        asw_pipeline_run(cfg, u, 0, &r);
        int rc = record(cat, cfg, u, idx, &r, q, t);
        asw_result_clear(&r);
        if (rc)
            return rc;
    }
    return 0;
}

int asw_master_run(MPI_Comm comm, const struct asw_config *cfg)
{
    int size;
    MPI_Comm_size(comm, &size);
    struct asw_plan plan;
    struct asw_err err = {0};
    struct asw_cat *cat = NULL;
    struct queue q = {0};
    struct tally t = {0};
    int rc = asw_archive_plan(cfg, &plan, &err);
    if (rc) {
        asw_error("archive: %s", err.msg);
        stop_all(comm, size);
        return ASW_EXIT_ARCHIVE;
    }
    asw_info("archive %s: %zu rows, %zu member OUSs, %zu units", plan.mirror,
             plan.n_rows, plan.n_mous, plan.n_units);
    if (asw_cat_open(cfg->catalogue, 1, &cat, &err) ||
        begin_run(cat, cfg, size, plan.n_units, &err)) {
        asw_error("catalogue %s: %s", cfg->catalogue, err.msg);
        stop_all(comm, size);
        rc = ASW_EXIT_CATALOGUE;
        goto out;
    }
    for (size_t i = 0; i < plan.n_units; i++) {
        enum asw_status st;
        int attempts = 0;
        struct asw_unit *u = &plan.units[i];
        if (asw_cat_unit_status(cat, u->id, &st, &attempts) == 0 &&
            cfg->resume) {
            u->attempts = attempts;
            if (st == ASW_ST_DONE) {
                t.skipped++;
                continue;
            }
            if (st == ASW_ST_FAILED && attempts >= cfg->max_attempts) {
                t.failed++;
                continue;
            }
        }
        if (q_push(&q, i)) {
            rc = ASW_EXIT_CATALOGUE;
            stop_all(comm, size);
            goto out;
        }
    }
    sort_units = plan.units;
    if (q.tail > 1)
        qsort(q.v, q.tail, sizeof *q.v, by_size_desc);
    asw_info("%zu units to process, %zu already done, %zu failed for good, "
             "%d worker rank(s)",
             q.tail, t.skipped, t.failed, size > 1 ? size - 1 : 1);
    rc = size > 1 ? serve(comm, size, cfg, &plan, cat, &q, &t)
                  : serve_alone(cfg, &plan, cat, &q, &t);
    asw_info("sweep finished: %zu done, %zu failed, %zu skipped (done "
             "before), %zu retries",
             t.done, t.failed, t.skipped, t.retried);
    if (!rc && t.failed)
        rc = ASW_EXIT_UNITS_FAILED;
    struct asw_cat_run_tally tally = {t.done, t.failed, t.skipped, t.retried};
    if (asw_cat_run_end(cat, rc, &tally, &err)) {
        asw_error("catalogue %s: %s", cfg->catalogue, err.msg);
        rc = ASW_EXIT_CATALOGUE;
    }
out:
    if (cat && asw_cat_close(cat, &err)) {
        asw_error("catalogue %s: %s", cfg->catalogue, err.msg);
        rc = ASW_EXIT_CATALOGUE;
    }
    free(q.v);
    asw_plan_free(&plan);
    return rc;
}
