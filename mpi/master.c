/*
 * master.c - rank 0: query the archive, skip what the catalogue holds as
 * done, then serve the workers: hand out units as the scheduler
 * (src/scheduler.h) decides, grant download slots, store every result in
 * the catalogue as it arrives, show progress, and stop cleanly on a
 * signal (docs/protocol.md).
 */
#include "costmodel.h"
#include "exec.h"
#include "node.h"
#include "proto.h"
#include "signals.h"
#include "sweep.h"

#include "asw_version.h"
#include "io/archive.h"
#include "io/catalogue.h"
#include "jobs/pipeline.h"
#include "src/exitcodes.h"
#include "src/log.h"
#include "src/progress.h"
#include "src/scheduler.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct tally {
    size_t done, failed, skipped, retried, interrupted;
};

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

/* Everything rank 0 knows while it serves. */
struct master {
    MPI_Comm comm;
    int size;
    const struct asw_config *cfg;
    struct asw_plan *plan;
    struct asw_cat *cat;
    struct asw_sched *sched;
    size_t *plan_of;    /* scheduler unit -> plan index */
    size_t n_sched;     /* units in the scheduler */
    size_t *by_id;      /* plan indices sorted by unit id */
    int *sched_of_plan; /* plan index -> scheduler unit, -1 */
    int *rank_of;       /* scheduler worker -> rank */
    int *worker_of;     /* rank -> scheduler worker, -1 */
    int *signals_from;  /* stop signals reported per rank */
    int *stopped;       /* ranks that said BYE */
    struct asw_node_info *nodes;
    int n_nodes;
    struct asw_exec *local; /* rank 0's own units (master_works) */
    struct asw_progress *prog;
    struct tally t;
    FILE *trace;
    double t0;
    int stopping, stop_signal, abort_sent, signals_seen;
    double busy_s, cat_s; /* time handling messages, of it the catalogue */
    size_t results;
    double first_assign, last_result;
    struct asw_sched_decision *round; /* decide()'s buffer */
    size_t round_cap;
    int rc;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- trace: JSON lines, one per scheduling event ([scheduler] trace) */

/* s as a JSON string body (quotes and control characters escaped). */
static const char *jstr(const char *s, char *buf, size_t n)
{
    size_t k = 0;
    for (; s && *s && k + 7 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[k++] = '\\';
            buf[k++] = (char)c;
        } else if (c < 0x20) {
            k += (size_t)snprintf(buf + k, n - k, "\\u%04x", c);
        } else {
            buf[k++] = (char)c;
        }
    }
    buf[k] = '\0';
    return buf;
}

static void trace(struct master *m, const char *ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void trace(struct master *m, const char *ev, const char *fmt, ...)
{
    if (!m->trace)
        return;
    fprintf(m->trace, "{\"t\":%.6f,\"ev\":\"%s\"", now_s() - m->t0, ev);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputc(',', m->trace);
        vfprintf(m->trace, fmt, ap);
        va_end(ap);
    }
    fputs("}\n", m->trace);
    /* Line by line: a killed job leaves a usable trace. */
    fflush(m->trace);
}

/* ---- units ------------------------------------------------------- */

static const struct asw_unit *sort_units;

static int by_id(const void *a, const void *b)
{
    return strcmp(sort_units[*(const size_t *)a].id,
                  sort_units[*(const size_t *)b].id);
}

/* The plan index of unit id, or (size_t)-1. */
static size_t find_unit(const struct master *m, const char *id)
{
    size_t lo = 0, hi = m->plan->n_units;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->plan->units[m->by_id[mid]].id, id);
        if (c == 0)
            return m->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (size_t)-1;
}

/* Write a result to the catalogue (durable when this returns 0). */
static int store(struct master *m, const struct asw_unit *u,
                 struct asw_result *r)
{
    struct asw_err err = {0};
    double t = now_s();
    r->attempts = u->attempts;
    int rc = asw_cat_put_result(m->cat, r, u, &err) ||
             asw_cat_run_host(m->cat, r->host, &err) ||
             asw_cat_run_casa_version(m->cat, r->casa_version, &err);
    m->cat_s += now_s() - t;
    if (rc) {
        asw_error("catalogue: %s", err.msg);
        if (!m->rc)
            m->rc = ASW_EXIT_CATALOGUE;
        /* Nothing more is handed out; the units in flight finish. */
        asw_sched_stop(m->sched);
        return -1;
    }
    return 0;
}

static const char *verdict_name(int v)
{
    switch (v) {
    case ASW_SCHED_DONE:
        return "done";
    case ASW_SCHED_RETRY:
        return "retry";
    case ASW_SCHED_FAILED:
        return "failed";
    case ASW_SCHED_INTERRUPTED:
        return "interrupted";
    }
    return "?";
}

/* A result from rank `rank` (owned by the caller). */
static void on_result(struct master *m, int rank, struct asw_result *r)
{
    size_t idx = find_unit(m, r->unit_id);
    int su = idx == (size_t)-1 ? -1 : m->sched_of_plan[idx];
    int w = rank >= 0 && rank < m->size ? m->worker_of[rank] : -1;
    if (su < 0 || w < 0 || asw_sched_unit_worker(m->sched, su) != w) {
        asw_error("protocol: result for '%s' from rank %d, which does not "
                  "hold it",
                  r->unit_id, rank);
        MPI_Abort(m->comm, 70);
    }
    struct asw_unit *u = &m->plan->units[idx];
    double now = now_s();
    m->last_result = now;
    m->results++;
    int v = asw_sched_result(m->sched, su, now, r->status, r->error);
    u->attempts = asw_sched_unit_attempts(m->sched, su);
    switch (v) {
    case ASW_SCHED_DONE:
        m->t.done++;
        asw_info("unit %s done on rank %d: %zu images (attempt %d/%d)", u->id,
                 rank, r->n_images, u->attempts, m->cfg->max_attempts);
        break;
    case ASW_SCHED_RETRY:
        m->t.retried++;
        asw_warn("unit %s failed on rank %d (attempt %d/%d), will retry: %s",
                 u->id, rank, u->attempts, m->cfg->max_attempts, r->error);
        break;
    case ASW_SCHED_FAILED:
        m->t.failed++;
        asw_error("unit %s failed for good after %d attempt(s) (%s): %s", u->id,
                  u->attempts,
                  asw_sched_classify(r->error) == ASW_FAIL_PERMANENT
                      ? "permanent"
                  : asw_sched_classify(r->error) == ASW_FAIL_CRASH
                      ? "its processing crashed again"
                      : "attempts used up",
                  r->error);
        break;
    case ASW_SCHED_INTERRUPTED:
        m->t.interrupted++;
        asw_warn("unit %s interrupted on rank %d (attempt not counted): %s",
                 u->id, rank, r->error);
        break;
    }
    char e[600];
    trace(m, "result",
          "\"unit\":\"%s\",\"rank\":%d,\"node\":%d,\"status\":\"%s\","
          "\"verdict\":\"%s\",\"attempts\":%d,\"bytes\":%lld,"
          "\"t_download\":%.4f,\"t_process\":%.4f,\"error\":\"%s\"",
          u->id, rank, m->nodes[rank].node, asw_status_name(r->status),
          verdict_name(v), u->attempts, (long long)r->bytes_fetched,
          r->t_download_s, r->t_extract_s + r->t_reduce_s,
          jstr(r->error, e, sizeof e));
    store(m, u, r);
    if (m->prog)
        asw_progress_result(m->prog, rank, r->status,
                            v != ASW_SCHED_RETRY && v != ASW_SCHED_INTERRUPTED,
                            u->bytes_total, r->bytes_fetched, r->t_download_s,
                            r->t_extract_s + r->t_reduce_s);
    /* A worker interrupted by a signal of its own stops the job too. */
    if (r->status == ASW_ST_INTERRUPTED && !m->stopping) {
        m->stopping = 1;
        asw_sched_stop(m->sched);
    }
}

/* A unit that fits no node's scratch: failed without running. */
static void on_reject(struct master *m, int su)
{
    size_t idx = m->plan_of[su];
    struct asw_unit *u = &m->plan->units[idx];
    struct asw_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.unit_id, sizeof r.unit_id, "%s", u->id);
    r.status = ASW_ST_FAILED;
    r.rank = -1;
    snprintf(r.error, sizeof r.error,
             "scheduler:ENOSPC:scratch budget: the unit needs %lld bytes, "
             "more than any node's budget (%lld bytes)",
             (long long)asw_sched_unit_need(m->sched, su),
             (long long)asw_sched_max_budget(m->sched));
    m->t.failed++;
    asw_error("unit %s: %s", u->id, r.error);
    trace(m, "reject", "\"unit\":\"%s\",\"need\":%lld", u->id,
          (long long)asw_sched_unit_need(m->sched, su));
    store(m, u, &r);
    if (m->prog)
        asw_progress_failed_unrun(m->prog, u->bytes_total);
}

/* Send unit su to its worker. */
static void hand_out(struct master *m, int su, int w)
{
    size_t idx = m->plan_of[su];
    struct asw_unit *u = &m->plan->units[idx];
    int rank = m->rank_of[w];
    u->attempts = asw_sched_unit_attempts(m->sched, su);
    if (m->first_assign == 0)
        m->first_assign = now_s();
    trace(m, "assign",
          "\"unit\":\"%s\",\"rank\":%d,\"node\":%d,\"need\":%lld,"
          "\"bytes\":%lld,\"attempt\":%d",
          u->id, rank, m->nodes[rank].node,
          (long long)asw_sched_unit_need(m->sched, su),
          (long long)u->bytes_total, u->attempts);
    asw_debug("unit %s -> rank %d (attempt %d)", u->id, rank, u->attempts);
    if (rank == 0) {
        struct asw_unit copy;
        if (asw_unit_copy(&copy, u) || asw_exec_push(m->local, &copy)) {
            asw_error("out of memory");
            MPI_Abort(m->comm, 71);
        }
        return;
    }
    char *json = asw_unit_to_json(u);
    if (!json ||
        asw_msg_send(m->comm, rank, ASW_MSG_WORK, 0, u->id, json, strlen(json)))
        MPI_Abort(m->comm, 71);
    free(json);
}

static void grant(struct master *m, int w)
{
    int rank = m->rank_of[w];
    trace(m, "slot", "\"rank\":%d,\"op\":\"grant\"", rank);
    if (rank == 0)
        asw_exec_grant(m->local);
    else if (asw_msg_send(m->comm, rank, ASW_MSG_SLOT_GRANT, 0, NULL, NULL, 0))
        MPI_Abort(m->comm, 71);
}

/* A download slot for a file of bytes (-1: unknown) of unit_id. */
static void slot_request(struct master *m, int rank, const char *unit_id,
                         int64_t bytes)
{
    int w = m->worker_of[rank];
    size_t idx = find_unit(m, unit_id);
    int su = idx == (size_t)-1 ? -1 : m->sched_of_plan[idx];
    int g = w < 0 ? ASW_EINVAL : asw_sched_slot_acquire(m->sched, w, su, bytes);
    if (g < 0) {
        asw_error("protocol: bad download slot request from rank %d", rank);
        MPI_Abort(m->comm, 70);
    }
    if (g == 1)
        grant(m, w);
    else
        trace(m, "slot", "\"rank\":%d,\"op\":\"wait\"", rank);
}

static void slot_release(struct master *m, int rank)
{
    int w = m->worker_of[rank];
    if (w < 0) {
        asw_error("protocol: slot release from rank %d", rank);
        MPI_Abort(m->comm, 70);
    }
    trace(m, "slot", "\"rank\":%d,\"op\":\"release\"", rank);
    int next = asw_sched_slot_release(m->sched, w);
    if (next >= 0)
        grant(m, next);
}

/* A stop signal, here (from < 0) or reported by rank `from`. The second
 * signal of one rank escalates a drain to an abort. */
static void on_signal(struct master *m, int sig, int from, int force)
{
    trace(m, "signal", "\"signal\":%d,\"from\":%d", sig, from);
    if (!m->stopping || !m->stop_signal) {
        m->stop_signal = sig;
        asw_warn("signal %d (%s)%s: no more units are handed out; %s", sig,
                 strsignal(sig), from > 0 ? " on a worker" : "",
                 m->cfg->sched.on_signal == ASW_ON_SIGNAL_DRAIN && !force
                     ? "the units in flight finish (a second signal "
                       "interrupts them)"
                     : "the units in flight are interrupted");
    }
    m->stopping = 1;
    asw_sched_stop(m->sched);
    if ((m->cfg->sched.on_signal == ASW_ON_SIGNAL_ABORT || force) &&
        !m->abort_sent) {
        m->abort_sent = 1;
        for (int r = 1; r < m->size; r++)
            if (!m->stopped[r])
                asw_msg_send(m->comm, r, ASW_MSG_ABORT, 0, NULL, NULL, 0);
        if (m->local)
            asw_exec_abort(m->local);
    }
}

static void on_message(struct master *m, struct asw_msg *msg)
{
    int src = msg->source;
    switch (msg->hdr.type) {
    case ASW_MSG_READY:
        break;
    case ASW_MSG_RESULT: {
        struct asw_result r;
        struct asw_err err = {0};
        if (asw_result_from_json(msg->payload, msg->hdr.payload_len, &r,
                                 &err) ||
            strcmp(r.unit_id, msg->hdr.unit_id) != 0) {
            asw_error("protocol: bad result for '%s' from rank %d: %s",
                      msg->hdr.unit_id, src, err.msg);
            MPI_Abort(m->comm, 70);
        }
        on_result(m, src, &r);
        asw_result_clear(&r);
        break;
    }
    case ASW_MSG_SLOT_REQ:
        /* payload: "<bytes> <file name>" */
        slot_request(m, src, msg->hdr.unit_id,
                     msg->payload ? strtoll(msg->payload, NULL, 10) : -1);
        break;
    case ASW_MSG_SLOT_REL:
        slot_release(m, src);
        break;
    case ASW_MSG_SIGNAL:
        m->signals_from[src]++;
        on_signal(m, msg->hdr.status, src, m->signals_from[src] >= 2);
        break;
    case ASW_MSG_BYE:
        m->stopped[src] = 1;
        break;
    default:
        asw_error("protocol: unexpected message type %u from rank %d",
                  msg->hdr.type, src);
        MPI_Abort(m->comm, 70);
    }
}

/* An event of rank 0's own executor. */
static void on_local(struct master *m, struct asw_exec_event *ev)
{
    switch (ev->type) {
    case ASW_EXEC_SLOT_WANT:
        slot_request(m, 0, ev->unit_id, ev->bytes);
        break;
    case ASW_EXEC_SLOT_DONE:
        slot_release(m, 0);
        break;
    case ASW_EXEC_RESULT:
        on_result(m, 0, &ev->res);
        asw_result_clear(&ev->res);
        break;
    }
}

/* Take every decision the scheduler has now, as one round (so that a
 * worker given several units at once gets the smallest first), and carry
 * them out. */
static void decide(struct master *m)
{
    struct asw_sched_decision d, *round = m->round;
    size_t n = 0;
    double now = now_s();
    while (asw_sched_next(m->sched, now, &d) != ASW_SCHED_IDLE) {
        if (d.action == ASW_SCHED_REJECT) {
            on_reject(m, d.unit);
            continue;
        }
        if (n == m->round_cap) {
            size_t cap = m->round_cap ? 2 * m->round_cap : 64;
            round = realloc(m->round, cap * sizeof *round);
            if (!round) {
                asw_error("out of memory");
                MPI_Abort(m->comm, 71);
            }
            m->round = round;
            m->round_cap = cap;
        }
        round[n++] = d;
    }
    asw_sched_order_round(m->sched, round, n);
    for (size_t i = 0; i < n; i++)
        hand_out(m, round[i].unit, round[i].worker);
}

/* Wait between polls: short after activity, up to 1 ms when idle (ranks
 * may oversubscribe cores, so nobody spins; the master is the hub, so it
 * answers within a millisecond). */
static void idle_wait(struct master *m, double *delay, int busy)
{
    if (busy) {
        *delay = 50e-6;
        return;
    }
    if (m->local) {
        asw_exec_wait(m->local, *delay);
    } else {
        struct timespec ts = {0, (long)(*delay * 1e9)};
        nanosleep(&ts, NULL);
    }
    if (*delay < 1e-3)
        *delay *= 2;
}

static void serve(struct master *m)
{
    double delay = 50e-6;
    decide(m);
    while (!asw_sched_finished(m->sched)) {
        int busy = 0;
        int n = asw_signals_count();
        if (n > m->signals_seen) {
            m->signals_seen = n;
            on_signal(m, asw_signals_first(), -1, n >= 2);
            busy = 1;
        }
        /* A bounded batch, so that signals and rank 0's own units are
         * served between bursts of messages. */
        for (int k = 0; k < 64 && asw_msg_pending(m->comm, MPI_ANY_SOURCE);
             k++) {
            struct asw_msg msg;
            double t = now_s();
            if (asw_msg_recv(m->comm, MPI_ANY_SOURCE, &msg))
                MPI_Abort(m->comm, 70);
            on_message(m, &msg);
            asw_msg_free(&msg);
            decide(m);
            m->busy_s += now_s() - t;
            busy = 1;
        }
        struct asw_exec_event ev;
        while (m->local && asw_exec_poll(m->local, &ev)) {
            double t = now_s();
            on_local(m, &ev);
            decide(m);
            m->busy_s += now_s() - t;
            busy = 1;
        }
        if (!busy)
            decide(m); /* retries whose backoff ended */
        asw_msg_progress();
        if (m->prog)
            asw_progress_tick(m->prog, now_s());
        idle_wait(m, &delay, busy);
    }
}

/* STOP every worker and wait until each has said BYE, answering what
 * still comes (a slot given back after an abort), so that no message is
 * left unreceived. */
static void stop_workers(struct master *m)
{
    if (!m->stopped &&
        !(m->stopped = calloc((size_t)m->size, sizeof *m->stopped)))
        MPI_Abort(m->comm, 71);
    for (int r = 1; r < m->size; r++)
        if (asw_msg_send(m->comm, r, ASW_MSG_STOP, 0, NULL, NULL, 0))
            MPI_Abort(m->comm, 71);
    for (;;) {
        int left = 0;
        for (int r = 1; r < m->size; r++)
            left += !m->stopped[r];
        if (!left)
            break;
        struct asw_msg msg;
        if (asw_msg_recv(m->comm, MPI_ANY_SOURCE, &msg))
            MPI_Abort(m->comm, 70);
        if (msg.hdr.type == ASW_MSG_BYE)
            m->stopped[msg.source] = 1;
        else if (msg.hdr.type != ASW_MSG_SLOT_REL &&
                 msg.hdr.type != ASW_MSG_SIGNAL &&
                 msg.hdr.type != ASW_MSG_READY) {
            asw_error("protocol: message type %u from rank %d after STOP",
                      msg.hdr.type, msg.source);
            MPI_Abort(m->comm, 70);
        }
        asw_msg_free(&msg);
    }
    asw_msg_flush();
}

/* Set up the scheduler: nodes with their budgets, workers (rank 0 too when
 * it works), the units to do. */
static int setup(struct master *m, size_t *todo, size_t n_todo)
{
    const struct asw_sched_config *sc = &m->cfg->sched;
    struct asw_sched_params p;
    asw_sched_params_default(&p);
    p.order = sc->fifo ? ASW_SCHED_FIFO : ASW_SCHED_LARGEST_FIRST;
    p.max_attempts = m->cfg->max_attempts;
    p.max_crashes = sc->max_crashes;
    p.backoff_s = sc->retry_backoff_s;
    p.backoff_max_s = sc->retry_backoff_max_s;
    p.download_slots = sc->download_slots;
    p.reserve_after_s = sc->reserve_after_s;
    /* A configured budget is a limit; free space measured at start is an
     * estimate: a unit above it runs alone and the pipeline's own check
     * (free space now, what a resumed unit holds already) decides. */
    p.reject_oversize = sc->scratch_budget > 0;
    p.seed = (unsigned)getpid();
    if (asw_sched_new(&p, &m->sched))
        return -1;
    for (int k = 0; k < m->n_nodes; k++) {
        int64_t budget = 0;
        for (int r = 0; r < m->size; r++)
            if (m->nodes[r].node == k)
                budget = m->nodes[r].budget_bytes;
        if (asw_sched_add_node(m->sched, budget) < 0)
            return -1;
    }
    int depth = 1 + sc->prefetch;
    int rank0_works = sc->master_works || m->size == 1;
    for (int r = rank0_works ? 0 : 1; r < m->size; r++) {
        int w = asw_sched_add_worker(m->sched, m->nodes[r].node, depth);
        if (w < 0)
            return -1;
        m->worker_of[r] = w;
        m->rank_of[w] = r;
    }
    int64_t bytes = 0;
    for (size_t k = 0; k < n_todo; k++) {
        const struct asw_unit *u = &m->plan->units[todo[k]];
        int64_t need = u->scratch_need > 0 ? u->scratch_need : u->bytes_total;
        int su =
            asw_sched_add_unit(m->sched, u->bytes_total, need, u->attempts);
        if (su < 0)
            return -1;
        m->plan_of[su] = todo[k];
        m->sched_of_plan[todo[k]] = su;
        bytes += u->bytes_total > 0 ? u->bytes_total : 0;
    }
    m->n_sched = n_todo;
    if (rank0_works && asw_exec_new(m->cfg, 0, sc->download_slots > 0,
                                    asw_costmodel_backend(), &m->local))
        return -1;
    /* Progress over every unit of the plan; done ones count as skipped. */
    int64_t all = 0, skipped = 0;
    for (size_t i = 0; i < m->plan->n_units; i++) {
        int64_t b = m->plan->units[i].bytes_total;
        all += b > 0 ? b : 0;
    }
    skipped = all - bytes;
    if (sc->progress != ASW_PROGRESS_OFF) {
        struct asw_progress_opts o = {sc->progress == ASW_PROGRESS_LINE ||
                                          (sc->progress == ASW_PROGRESS_AUTO &&
                                           asw_progress_on_terminal()),
                                      sc->progress_s, stderr};
        if (asw_progress_new(m->plan->n_units, all, m->size, &o, now_s(),
                             &m->prog))
            return -1;
        asw_progress_skipped(m->prog, m->t.skipped + m->t.failed, skipped);
    }
    return 0;
}

static void trace_start(struct master *m)
{
    if (!m->trace)
        return;
    const struct asw_sched_config *sc = &m->cfg->sched;
    fprintf(m->trace,
            "{\"t\":0,\"ev\":\"start\",\"ranks\":%d,\"units\":%zu,"
            "\"order\":\"%s\",\"prefetch\":%d,\"download_slots\":%d,"
            "\"master_works\":%s,\"nodes\":[",
            m->size, m->n_sched, sc->fifo ? "fifo" : "largest", sc->prefetch,
            sc->download_slots,
            sc->master_works || m->size == 1 ? "true" : "false");
    for (int k = 0; k < m->n_nodes; k++) {
        int first = 1;
        for (int r = 0; r < m->size; r++) {
            if (m->nodes[r].node != k)
                continue;
            if (first)
                fprintf(m->trace,
                        "%s{\"node\":%d,\"budget\":%lld,\"free\":%lld,"
                        "\"host\":\"%s\",\"ranks\":[%d",
                        k ? "," : "", k, (long long)m->nodes[r].budget_bytes,
                        (long long)m->nodes[r].free_bytes, m->nodes[r].host, r);
            else
                fprintf(m->trace, ",%d", r);
            first = 0;
        }
        fputs("]}", m->trace);
    }
    fputs("]}\n", m->trace);
    fflush(m->trace);
}

static void free_master(struct master *m)
{
    asw_exec_free(m->local);
    asw_sched_free(m->sched);
    asw_progress_free(m->prog);
    free(m->plan_of);
    free(m->by_id);
    free(m->sched_of_plan);
    free(m->rank_of);
    free(m->worker_of);
    free(m->signals_from);
    free(m->stopped);
    free(m->nodes);
    free(m->round);
    if (m->trace)
        fclose(m->trace);
}

static int alloc_master(struct master *m, size_t n_units)
{
    size_t n = n_units ? n_units : 1, sz = (size_t)m->size;
    m->plan_of = calloc(n, sizeof *m->plan_of);
    m->by_id = calloc(n, sizeof *m->by_id);
    m->sched_of_plan = calloc(n, sizeof *m->sched_of_plan);
    m->rank_of = calloc(sz, sizeof *m->rank_of);
    m->worker_of = calloc(sz, sizeof *m->worker_of);
    m->signals_from = calloc(sz, sizeof *m->signals_from);
    m->stopped = calloc(sz, sizeof *m->stopped);
    if (!m->plan_of || !m->by_id || !m->sched_of_plan || !m->rank_of ||
        !m->worker_of || !m->signals_from || !m->stopped)
        return -1;
    for (size_t i = 0; i < n_units; i++) {
        m->sched_of_plan[i] = -1;
        m->by_id[i] = i;
    }
    for (int r = 0; r < m->size; r++)
        m->worker_of[r] = -1;
    sort_units = m->plan->units;
    if (n_units > 1)
        qsort(m->by_id, n_units, sizeof *m->by_id, by_id);
    return 0;
}

/* The end of the run on stderr: the summary table and, after a signal,
 * what to do next. */
static void report_end(struct master *m, double now)
{
    double makespan =
        m->first_assign > 0 ? m->last_result - m->first_assign : 0;
    double per = m->results ? m->busy_s / (double)m->results : 0;
    double cat = m->results ? m->cat_s / (double)m->results : 0;
    if (m->prog)
        asw_progress_summary(m->prog, now, stderr);
    asw_info("scheduling: makespan %.3f s (first unit out to last result), "
             "master %.3f ms per result (of it the catalogue %.3f ms)",
             makespan, 1e3 * per, 1e3 * cat);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    trace(m, "end",
          "\"makespan\":%.6f,\"results\":%zu,\"master_ms_per_result\":%.4f,"
          "\"catalogue_ms_per_result\":%.4f,\"done\":%zu,\"failed\":%zu,"
          "\"interrupted\":%zu,\"signal\":%d,\"rank0_cpu_s\":%.3f",
          makespan, m->results, 1e3 * per, 1e3 * cat, m->t.done, m->t.failed,
          m->t.interrupted, m->stop_signal, cpu);
}

int asw_master_run(MPI_Comm comm, const struct asw_config *cfg)
{
    struct master m;
    memset(&m, 0, sizeof m);
    m.comm = comm;
    m.cfg = cfg;
    MPI_Comm_size(comm, &m.size);
    struct asw_plan plan;
    struct asw_err err = {0};
    size_t *todo = NULL, n_todo = 0;
    memset(&plan, 0, sizeof plan);
    m.plan = &plan;
    m.t0 = now_s();
    /* Collective: every rank takes part before anything can fail. */
    if (asw_node_discover(comm, cfg, &m.nodes, &m.n_nodes)) {
        asw_error("out of memory");
        MPI_Abort(comm, 71);
    }
    int rc = asw_archive_plan(cfg, &plan, &err);
    if (rc) {
        asw_error("archive: %s", err.msg);
        rc = ASW_EXIT_ARCHIVE;
        goto out_stop;
    }
    asw_info("archive %s: %zu rows, %zu member OUSs, %zu units", plan.mirror,
             plan.n_rows, plan.n_mous, plan.n_units);
    if (asw_cat_open(cfg->catalogue, 1, &m.cat, &err) ||
        begin_run(m.cat, cfg, m.size, plan.n_units, &err)) {
        asw_error("catalogue %s: %s", cfg->catalogue, err.msg);
        rc = ASW_EXIT_CATALOGUE;
        goto out_stop;
    }
    if (!(todo = calloc(plan.n_units ? plan.n_units : 1, sizeof *todo)) ||
        alloc_master(&m, plan.n_units)) {
        asw_error("out of memory");
        rc = ASW_EXIT_CATALOGUE;
        goto out_stop;
    }
    for (size_t i = 0; i < plan.n_units; i++) {
        enum asw_status st;
        int attempts = 0;
        struct asw_unit *u = &plan.units[i];
        if (asw_cat_unit_status(m.cat, u->id, &st, &attempts) == 0 &&
            cfg->resume) {
            u->attempts = attempts;
            if (st == ASW_ST_DONE) {
                m.t.skipped++;
                continue;
            }
            if (st == ASW_ST_FAILED && attempts >= cfg->max_attempts) {
                m.t.failed++;
                continue;
            }
        }
        todo[n_todo++] = i;
    }
    if (cfg->sched.trace && !(m.trace = fopen(cfg->sched.trace, "w")))
        asw_warn("trace %s: cannot write it", cfg->sched.trace);
    if (setup(&m, todo, n_todo)) {
        asw_error("out of memory");
        rc = ASW_EXIT_CATALOGUE;
        goto out_stop;
    }
    size_t skipped_before = m.t.skipped, failed_before = m.t.failed;
    asw_info("%zu units to process, %zu already done, %zu failed for good, "
             "%d worker rank(s)%s, %d node(s), prefetch %d, %s first",
             n_todo, skipped_before, failed_before,
             m.size > 1 ? m.size - 1 + (cfg->sched.master_works ? 1 : 0) : 1,
             m.local && m.size > 1 ? " (rank 0 works too)" : "", m.n_nodes,
             cfg->sched.prefetch,
             cfg->sched.fifo ? "archive order" : "largest");
    for (int k = 0; k < m.n_nodes; k++)
        for (int r = 0; r < m.size; r++)
            if (m.nodes[r].node == k) {
                asw_info("node %d (%s): scratch budget %.3f GB", k,
                         m.nodes[r].host, m.nodes[r].budget_bytes / 1e9);
                break;
            }
    trace_start(&m);
    serve(&m);
    stop_workers(&m);
    rc = m.rc;
    report_end(&m, now_s());
    asw_info("sweep finished: %zu done, %zu failed, %zu interrupted, %zu "
             "skipped (done before), %zu retries",
             m.t.done, m.t.failed, m.t.interrupted, m.t.skipped, m.t.retried);
    if (!rc && m.stopping) {
        rc = ASW_EXIT_INTERRUPTED;
    } else if (!rc && m.t.failed) {
        rc = ASW_EXIT_UNITS_FAILED;
    }
    struct asw_cat_run_tally tally = {m.t.done, m.t.failed, m.t.skipped,
                                      m.t.retried};
    if (asw_cat_run_end(m.cat, rc, &tally, &err)) {
        asw_error("catalogue %s: %s", cfg->catalogue, err.msg);
        rc = ASW_EXIT_CATALOGUE;
    }
    goto out;
out_stop:
    stop_workers(&m);
out:
    if (m.cat && asw_cat_close(m.cat, &err)) {
        asw_error("catalogue %s: %s", cfg->catalogue, err.msg);
        rc = ASW_EXIT_CATALOGUE;
    }
    if (rc == ASW_EXIT_INTERRUPTED) {
        struct asw_sched_stats st = {0};
        if (m.sched)
            asw_sched_get_stats(m.sched, &st);
        fprintf(stderr,
                "almasweep: interrupted%s%s: %zu unit(s) handed out (running "
                "or prefetched) recorded as interrupted, %zu not handed out; "
                "the catalogue is complete up to here. Rerun the same "
                "command to continue.\n",
                m.stop_signal ? " by " : "",
                m.stop_signal ? strsignal(m.stop_signal) : "", m.t.interrupted,
                st.queued + st.backoff);
    }
    free_master(&m);
    free(todo);
    asw_plan_free(&plan);
    return rc;
}
