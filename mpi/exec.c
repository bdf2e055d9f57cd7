/*
 * exec.c - a rank's units on a fetch thread and a process thread
 * (exec.h).
 */
#include "exec.h"

#include "jobs/pipeline.h"
#include "signals.h"
#include "src/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KILL_GRACE_S 10.0

struct item {
    struct asw_unit u;
    struct asw_result res;
    struct item *next;
};

struct evnode {
    struct asw_exec_event ev;
    struct evnode *next;
};

enum slot_state { SLOT_NONE = 0, SLOT_WAITING, SLOT_GRANTED, SLOT_ABANDONED };

struct asw_exec {
    const struct asw_config *cfg;
    int rank;
    pthread_mutex_t mu;
    pthread_cond_t fetch_cv, proc_cv, slot_cv, main_cv;
    struct item *todo, *todo_tail;   /* to fetch */
    struct item *ready, *ready_tail; /* fetched, to process */
    struct evnode *ev, *ev_tail;
    size_t held;
    enum slot_state slot;
    int quit;
    int processing;
    int fetch_done;  /* the fetch thread has ended */
    double abort_at; /* monotonic time of the abort, 0: none */
    int killed;      /* SIGKILL sent */
    atomic_int aborted;
    pthread_t fetch_th, proc_th;
    int threads;
    struct asw_dl_slots slots;
    struct asw_pipeline_hooks hooks;
};

static atomic_int any_stopping;

int asw_exec_stopping(void)
{
    return atomic_load(&any_stopping);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* An absolute CLOCK_MONOTONIC deadline for pthread_cond_timedwait (the
 * condition variables use that clock). */
static struct timespec deadline(double s)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long ns = (long long)(s * 1e9) + ts.tv_nsec;
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}

/* Queue an event (mu held). Returns 0 or ASW_ENOMEM. */
static int post(struct asw_exec *x, const struct asw_exec_event *ev)
{
    struct evnode *n = malloc(sizeof *n);
    if (!n)
        return ASW_ENOMEM;
    n->ev = *ev;
    n->next = NULL;
    if (x->ev_tail)
        x->ev_tail->next = n;
    else
        x->ev = n;
    x->ev_tail = n;
    pthread_cond_signal(&x->main_cv);
    return 0;
}

/* The unit is over: hand its result to the main thread (mu held). */
static void post_result(struct asw_exec *x, struct item *it)
{
    struct asw_exec_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = ASW_EXEC_RESULT;
    snprintf(ev.unit_id, sizeof ev.unit_id, "%s", it->u.id);
    ev.res = it->res;
    if (post(x, &ev)) {
        /* Without memory the protocol cannot go on. */
        asw_error("out of memory");
        abort();
    }
    asw_unit_clear(&it->u);
    free(it);
}

static int stop_hook(void *user)
{
    struct asw_exec *x = user;
    return atomic_load(&x->aborted);
}

static int slot_acquire(void *user, const char *unit_id, const char *file,
                        int64_t bytes, struct asw_err *err)
{
    struct asw_exec *x = user;
    struct asw_exec_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = ASW_EXEC_SLOT_WANT;
    snprintf(ev.unit_id, sizeof ev.unit_id, "%s", unit_id);
    snprintf(ev.file, sizeof ev.file, "%s", file);
    ev.bytes = bytes;
    pthread_mutex_lock(&x->mu);
    int rc = 0;
    if (atomic_load(&x->aborted)) {
        rc = ASW_EINTR;
    } else if (post(x, &ev)) {
        rc = ASW_ENOMEM;
    } else {
        x->slot = SLOT_WAITING;
        while (x->slot == SLOT_WAITING && !atomic_load(&x->aborted)) {
            struct timespec ts = deadline(0.25);
            pthread_cond_timedwait(&x->slot_cv, &x->mu, &ts);
        }
        if (x->slot != SLOT_GRANTED) {
            x->slot = SLOT_ABANDONED;
            rc = ASW_EINTR;
        }
    }
    pthread_mutex_unlock(&x->mu);
    if (rc)
        return asw_err_set(err, rc, "sweep",
                           rc == ASW_EINTR ? "interrupted before downloading %s"
                                           : "out of memory",
                           file);
    return 0;
}

static void slot_release(void *user, const char *unit_id, const char *file,
                         int64_t bytes, int rc)
{
    struct asw_exec *x = user;
    struct asw_exec_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = ASW_EXEC_SLOT_DONE;
    snprintf(ev.unit_id, sizeof ev.unit_id, "%s", unit_id);
    snprintf(ev.file, sizeof ev.file, "%s", file);
    ev.bytes = bytes;
    ev.rc = rc;
    pthread_mutex_lock(&x->mu);
    if (x->slot == SLOT_GRANTED) {
        x->slot = SLOT_NONE;
        if (post(x, &ev)) {
            asw_error("out of memory");
            abort();
        }
    }
    pthread_mutex_unlock(&x->mu);
}

/* A unit that ended while the executor was being aborted was interrupted,
 * whatever the failure its interruption caused (a download cut, a CASA
 * killed by our SIGTERM). */
static void mark_interrupted(struct asw_exec *x, struct asw_result *r)
{
    if (!atomic_load(&x->aborted) || r->status == ASW_ST_DONE ||
        r->status == ASW_ST_INTERRUPTED)
        return;
    char was[ASW_ERRTEXT_MAX];
    snprintf(was, sizeof was, "%s", r->error);
    snprintf(r->error, sizeof r->error, "sweep:EINTR:interrupted (%.200s)",
             was);
    r->status = ASW_ST_INTERRUPTED;
    asw_result_drop_rows(r);
}

/* An interrupted result for a unit that never started. */
static void never_started(struct asw_exec *x, struct item *it)
{
    memset(&it->res, 0, sizeof it->res);
    snprintf(it->res.unit_id, sizeof it->res.unit_id, "%s", it->u.id);
    it->res.status = ASW_ST_INTERRUPTED;
    it->res.rank = x->rank;
    it->res.attempts = it->u.attempts;
    snprintf(it->res.error, sizeof it->res.error,
             "sweep:EINTR:interrupted before it started");
}

static void *fetch_main(void *arg)
{
    struct asw_exec *x = arg;
    asw_signals_block_thread();
    pthread_mutex_lock(&x->mu);
    for (;;) {
        while (!x->todo && !x->quit)
            pthread_cond_wait(&x->fetch_cv, &x->mu);
        if (!x->todo)
            break;
        struct item *it = x->todo;
        x->todo = it->next;
        if (!x->todo)
            x->todo_tail = NULL;
        it->next = NULL;
        pthread_mutex_unlock(&x->mu);
        int over = 1;
        if (atomic_load(&x->aborted))
            never_started(x, it);
        else
            over = asw_pipeline_fetch(x->cfg, &it->u, x->rank, &x->hooks,
                                      &it->res) != 0;
        if (over)
            mark_interrupted(x, &it->res);
        pthread_mutex_lock(&x->mu);
        if (over) {
            post_result(x, it);
        } else {
            if (x->ready_tail)
                x->ready_tail->next = it;
            else
                x->ready = it;
            x->ready_tail = it;
            pthread_cond_signal(&x->proc_cv);
        }
    }
    x->fetch_done = 1;
    pthread_cond_signal(&x->proc_cv);
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

static void *proc_main(void *arg)
{
    struct asw_exec *x = arg;
    asw_signals_block_thread();
    pthread_mutex_lock(&x->mu);
    for (;;) {
        /* Until the fetch thread has ended: it may still hand over. */
        while (!x->ready && !(x->quit && x->fetch_done))
            pthread_cond_wait(&x->proc_cv, &x->mu);
        if (!x->ready)
            break;
        struct item *it = x->ready;
        x->ready = it->next;
        if (!x->ready)
            x->ready_tail = NULL;
        it->next = NULL;
        x->processing = 1;
        pthread_mutex_unlock(&x->mu);
        asw_pipeline_process(x->cfg, &it->u, x->rank, &x->hooks, &it->res);
        mark_interrupted(x, &it->res);
        pthread_mutex_lock(&x->mu);
        x->processing = 0;
        post_result(x, it);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

static void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

int asw_exec_new(const struct asw_config *cfg, int rank, int use_slots,
                 const struct asw_backend *backend, struct asw_exec **out)
{
    *out = NULL;
    struct asw_exec *x = calloc(1, sizeof *x);
    if (!x)
        return ASW_ENOMEM;
    x->cfg = cfg;
    x->rank = rank;
    pthread_mutex_init(&x->mu, NULL);
    cond_init_mono(&x->fetch_cv);
    cond_init_mono(&x->proc_cv);
    cond_init_mono(&x->slot_cv);
    cond_init_mono(&x->main_cv);
    atomic_init(&x->aborted, 0);
    x->slots.acquire = slot_acquire;
    x->slots.release = slot_release;
    x->slots.user = x;
    x->hooks.slots = use_slots ? &x->slots : NULL;
    x->hooks.backend = backend;
    x->hooks.stop = stop_hook;
    x->hooks.stop_user = x;
    if (pthread_create(&x->fetch_th, NULL, fetch_main, x) != 0) {
        asw_exec_free(x);
        return ASW_ENOMEM;
    }
    x->threads = 1;
    if (pthread_create(&x->proc_th, NULL, proc_main, x) != 0) {
        asw_exec_free(x);
        return ASW_ENOMEM;
    }
    x->threads = 2;
    *out = x;
    return 0;
}

int asw_exec_push(struct asw_exec *x, struct asw_unit *u)
{
    struct item *it = calloc(1, sizeof *it);
    if (!it)
        return ASW_ENOMEM;
    it->u = *u;
    memset(u, 0, sizeof *u);
    pthread_mutex_lock(&x->mu);
    if (x->todo_tail)
        x->todo_tail->next = it;
    else
        x->todo = it;
    x->todo_tail = it;
    x->held++;
    pthread_cond_signal(&x->fetch_cv);
    pthread_mutex_unlock(&x->mu);
    return 0;
}

int asw_exec_poll(struct asw_exec *x, struct asw_exec_event *ev)
{
    pthread_mutex_lock(&x->mu);
    struct evnode *n = x->ev;
    if (n) {
        x->ev = n->next;
        if (!x->ev)
            x->ev_tail = NULL;
        if (n->ev.type == ASW_EXEC_RESULT)
            x->held--;
    }
    pthread_mutex_unlock(&x->mu);
    if (!n)
        return 0;
    *ev = n->ev;
    free(n);
    return 1;
}

void asw_exec_wait(struct asw_exec *x, double max_s)
{
    pthread_mutex_lock(&x->mu);
    if (!x->ev && max_s > 0) {
        struct timespec ts = deadline(max_s);
        pthread_cond_timedwait(&x->main_cv, &x->mu, &ts);
    }
    int kill_now = x->abort_at > 0 && !x->killed && x->processing &&
                   now_s() - x->abort_at > KILL_GRACE_S;
    if (kill_now)
        x->killed = 1;
    pthread_mutex_unlock(&x->mu);
    if (kill_now)
        asw_signal_children(SIGKILL);
}

void asw_exec_grant(struct asw_exec *x)
{
    pthread_mutex_lock(&x->mu);
    if (x->slot == SLOT_WAITING) {
        x->slot = SLOT_GRANTED;
        pthread_cond_broadcast(&x->slot_cv);
    } else if (x->slot == SLOT_ABANDONED) {
        struct asw_exec_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = ASW_EXEC_SLOT_DONE;
        ev.rc = ASW_EINTR;
        x->slot = SLOT_NONE;
        if (post(x, &ev)) {
            asw_error("out of memory");
            abort();
        }
    }
    pthread_mutex_unlock(&x->mu);
}

void asw_exec_abort(struct asw_exec *x)
{
    if (atomic_exchange(&x->aborted, 1))
        return;
    atomic_store(&any_stopping, 1);
    pthread_mutex_lock(&x->mu);
    x->abort_at = now_s();
    int processing = x->processing;
    pthread_cond_broadcast(&x->slot_cv);
    pthread_cond_broadcast(&x->fetch_cv);
    pthread_cond_broadcast(&x->proc_cv);
    pthread_mutex_unlock(&x->mu);
    /* CASA runs in a process group of its own: stop it there. */
    if (processing)
        asw_signal_children(SIGTERM);
}

int asw_exec_wants_slot(struct asw_exec *x)
{
    pthread_mutex_lock(&x->mu);
    int w = x->slot == SLOT_WAITING;
    pthread_mutex_unlock(&x->mu);
    return w;
}

size_t asw_exec_held(struct asw_exec *x)
{
    pthread_mutex_lock(&x->mu);
    size_t n = x->held;
    pthread_mutex_unlock(&x->mu);
    return n;
}

void asw_exec_free(struct asw_exec *x)
{
    if (!x)
        return;
    if (asw_exec_held(x))
        asw_exec_abort(x);
    pthread_mutex_lock(&x->mu);
    x->quit = 1;
    pthread_cond_broadcast(&x->fetch_cv);
    pthread_cond_broadcast(&x->proc_cv);
    pthread_cond_broadcast(&x->slot_cv);
    pthread_mutex_unlock(&x->mu);
    if (x->threads >= 1)
        pthread_join(x->fetch_th, NULL);
    if (x->threads == 1)
        x->fetch_done = 1;
    if (x->threads >= 2)
        pthread_join(x->proc_th, NULL);
    struct evnode *n = x->ev;
    while (n) {
        struct evnode *next = n->next;
        if (n->ev.type == ASW_EXEC_RESULT)
            asw_result_clear(&n->ev.res);
        free(n);
        n = next;
    }
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->fetch_cv);
    pthread_cond_destroy(&x->proc_cv);
    pthread_cond_destroy(&x->slot_cv);
    pthread_cond_destroy(&x->main_cv);
    free(x);
}
