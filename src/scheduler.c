/*
 * scheduler.c - the scheduling policy (scheduler.h): priority order, per-node
 * scratch admission with backfill and aging reservations, retries with
 * backoff, crash counting, download slots.
 */
#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

enum ustate { U_QUEUED = 0, U_HELD, U_DONE, U_FAILED, U_INTERRUPTED };

struct sunit {
    int64_t cost, need;
    int attempts, crashes;
    enum ustate st;
    double not_before;    /* a retry is not handed out before this */
    double blocked_since; /* first passed over for lack of scratch, <0 no */
    int reserved;         /* has held a node for itself */
    int worker;           /* holder when U_HELD */
    size_t pos;           /* index in order[] */
};

struct slot_req {
    int worker, unit;
    int64_t bytes;
    size_t seq; /* arrival */
};

struct snode {
    int64_t budget, used;
    unsigned epoch; /* == s->epoch: nothing fits here in this call */
};

struct sworker {
    int node, depth, held;
    int slot;   /* 0 none, 1 waiting, 2 granted */
    int *units; /* the held units (depth entries), oldest first */
};

struct asw_sched {
    struct asw_sched_params p;
    struct sunit *u;
    size_t n_units, cap_units;
    struct snode *nodes;
    size_t n_nodes;
    struct sworker *w;
    size_t n_workers;
    size_t *order; /* unit indices in priority order */
    int sorted;
    int reject_pass; /* look for units that fit no node */
    size_t first;    /* no U_QUEUED unit before order[first] */
    int stopped;
    unsigned epoch;
    size_t rr;               /* round robin among equally loaded workers */
    struct slot_req *slot_q; /* waiting requests, in arrival order */
    size_t slot_n, slot_cap, slot_seq;
    int slots_in_use;
    size_t n_queued, n_held;
    double last_now;
    int64_t max_budget;
    unsigned rng;
    struct asw_sched_stats st;
};

void asw_sched_params_default(struct asw_sched_params *p)
{
    memset(p, 0, sizeof *p);
    p->order = ASW_SCHED_LARGEST_FIRST;
    p->max_attempts = 3;
    p->max_crashes = 2;
    p->backoff_s = 10;
    p->backoff_max_s = 300;
    p->download_slots = 0;
    p->reserve_after_s = 60;
    p->reject_oversize = 1;
    p->seed = 1;
}

int asw_sched_new(const struct asw_sched_params *p, struct asw_sched **out)
{
    *out = NULL;
    if (!p || p->max_attempts < 1 || p->max_crashes < 1 ||
        !(p->backoff_s >= 0) || !(p->backoff_max_s >= 0) ||
        p->download_slots < 0 || !(p->reserve_after_s >= 0))
        return ASW_EINVAL;
    struct asw_sched *s = calloc(1, sizeof *s);
    if (!s)
        return ASW_ENOMEM;
    s->p = *p;
    s->rng = p->seed ? p->seed : 1;
    *out = s;
    return 0;
}

void asw_sched_free(struct asw_sched *s)
{
    if (!s)
        return;
    free(s->u);
    free(s->nodes);
    for (size_t k = 0; k < s->n_workers; k++)
        free(s->w[k].units);
    free(s->w);
    free(s->order);
    free(s->slot_q);
    free(s);
}

int asw_sched_add_node(struct asw_sched *s, int64_t budget_bytes)
{
    struct snode *n = realloc(s->nodes, (s->n_nodes + 1) * sizeof *n);
    if (!n)
        return ASW_ENOMEM;
    s->nodes = n;
    memset(&n[s->n_nodes], 0, sizeof *n);
    n[s->n_nodes].budget = budget_bytes > 0 ? budget_bytes : 0;
    s->reject_pass = 1;
    return (int)s->n_nodes++;
}

int asw_sched_add_worker(struct asw_sched *s, int node, int depth)
{
    if (node < 0 || (size_t)node >= s->n_nodes || depth < 1)
        return ASW_EINVAL;
    struct sworker *w = realloc(s->w, (s->n_workers + 1) * sizeof *w);
    if (!w)
        return ASW_ENOMEM;
    s->w = w;
    memset(&w[s->n_workers], 0, sizeof *w);
    w[s->n_workers].node = node;
    w[s->n_workers].depth = depth;
    if (!(w[s->n_workers].units = calloc((size_t)depth, sizeof(int))))
        return ASW_ENOMEM;
    return (int)s->n_workers++;
}

int asw_sched_add_unit(struct asw_sched *s, int64_t cost, int64_t need_bytes,
                       int attempts)
{
    if (s->n_units == s->cap_units) {
        size_t cap = s->cap_units ? 2 * s->cap_units : 64;
        struct sunit *u = realloc(s->u, cap * sizeof *u);
        if (!u)
            return ASW_ENOMEM;
        s->u = u;
        size_t *o = realloc(s->order, cap * sizeof *o);
        if (!o)
            return ASW_ENOMEM;
        s->order = o;
        s->cap_units = cap;
    }
    struct sunit *u = &s->u[s->n_units];
    memset(u, 0, sizeof *u);
    u->cost = cost;
    u->need = need_bytes > 0 ? need_bytes : 0;
    u->attempts = attempts > 0 ? attempts : 0;
    u->st = U_QUEUED;
    u->blocked_since = -1;
    u->worker = -1;
    s->order[s->n_units] = s->n_units;
    s->sorted = 0;
    s->reject_pass = 1;
    s->n_queued++;
    s->st.units++;
    return (int)s->n_units++;
}

/* qsort has no user pointer; the scheduler is single-threaded (scheduler.h). */
static const struct sunit *sort_units;

static int by_cost_desc(const void *a, const void *b)
{
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    const struct sunit *ua = &sort_units[ia], *ub = &sort_units[ib];
    if (ua->cost != ub->cost)
        return ua->cost < ub->cost ? 1 : -1;
    return ia < ib ? -1 : ia > ib; /* stable: the archive's order */
}

static void sort_order(struct asw_sched *s)
{
    for (size_t i = 0; i < s->n_units; i++)
        s->order[i] = i;
    if (s->p.order == ASW_SCHED_LARGEST_FIRST && s->n_units > 1) {
        sort_units = s->u;
        qsort(s->order, s->n_units, sizeof *s->order, by_cost_desc);
    }
    for (size_t i = 0; i < s->n_units; i++)
        s->u[s->order[i]].pos = i;
    s->first = 0;
    s->sorted = 1;
}

int64_t asw_sched_max_budget(const struct asw_sched *s)
{
    int64_t m = 0;
    for (size_t i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].budget > m)
            m = s->nodes[i].budget;
    return m;
}

static void set_queued(struct asw_sched *s, size_t i)
{
    s->u[i].st = U_QUEUED;
    s->n_queued++;
    if (s->u[i].pos < s->first)
        s->first = s->u[i].pos;
}

/* The first unit, in priority order, that may go to node n now; -1 if
 * none (also when a waiting unit holds the node for itself). */
static long find_unit(struct asw_sched *s, struct snode *n, double now,
                      int *backfill)
{
    while (s->first < s->n_units && s->u[s->order[s->first]].st != U_QUEUED)
        s->first++;
    int passed = 0;
    for (size_t p = s->first; p < s->n_units; p++) {
        size_t i = s->order[p];
        struct sunit *u = &s->u[i];
        if (u->st != U_QUEUED || u->not_before > now)
            continue;
        if (u->need <= n->budget - n->used) {
            *backfill = passed;
            return (long)i;
        }
        if (u->need > n->budget) {
            /* Larger than every budget: alone on an empty node, if so
             * configured (else it was rejected). */
            if (!s->p.reject_oversize && n->used == 0 &&
                u->need > s->max_budget) {
                *backfill = passed;
                return (long)i;
            }
            continue; /* never here; another node may take it */
        }
        /* It fits this node once units leave: let smaller ones pass for
         * a while, then hold the node for it. */
        if (u->blocked_since < 0)
            u->blocked_since = now;
        if (now - u->blocked_since >= s->p.reserve_after_s) {
            if (!u->reserved) {
                u->reserved = 1;
                s->st.reservations++;
            }
            return -1;
        }
        passed = 1;
    }
    return -1;
}

static void assign(struct asw_sched *s, size_t i, int w)
{
    struct sunit *u = &s->u[i];
    u->st = U_HELD;
    u->worker = w;
    u->attempts++;
    u->blocked_since = -1;
    u->reserved = 0;
    s->w[w].units[s->w[w].held++] = (int)i;
    s->nodes[s->w[w].node].used += u->need;
    s->n_queued--;
    s->n_held++;
    s->st.assignments++;
}

enum asw_sched_action asw_sched_next(struct asw_sched *s, double now,
                                     struct asw_sched_decision *d)
{
    d->action = ASW_SCHED_IDLE;
    d->unit = d->worker = -1;
    s->last_now = now;
    if (s->stopped)
        return d->action;
    if (!s->sorted)
        sort_order(s);
    s->max_budget = asw_sched_max_budget(s);
    if (s->reject_pass && s->n_nodes && s->p.reject_oversize) {
        int64_t maxb = s->max_budget;
        for (size_t p = 0; p < s->n_units; p++) {
            size_t i = s->order[p];
            if (s->u[i].st == U_QUEUED && s->u[i].need > maxb) {
                s->u[i].st = U_FAILED;
                s->n_queued--;
                s->st.failed++;
                d->action = ASW_SCHED_REJECT;
                d->unit = (int)i;
                return d->action;
            }
        }
        s->reject_pass = 0;
    }
    if (!s->n_queued || !s->n_workers)
        return d->action;
    s->epoch++;
    int max_depth = 0;
    for (size_t k = 0; k < s->n_workers; k++)
        if (s->w[k].depth > max_depth)
            max_depth = s->w[k].depth;
    /* The least loaded workers first: an idle worker gets a unit before a
     * busy one gets its next to prefetch. */
    for (int level = 0; level < max_depth; level++) {
        for (size_t k = 0; k < s->n_workers; k++) {
            size_t wi = (s->rr + k) % s->n_workers;
            struct sworker *w = &s->w[wi];
            if (w->held != level || w->held >= w->depth)
                continue;
            struct snode *n = &s->nodes[w->node];
            if (n->epoch == s->epoch)
                continue;
            int backfill = 0;
            long i = find_unit(s, n, now, &backfill);
            if (i < 0) {
                n->epoch = s->epoch;
                continue;
            }
            assign(s, (size_t)i, (int)wi);
            if (backfill)
                s->st.backfills++;
            s->rr = wi + 1;
            d->action = ASW_SCHED_ASSIGN;
            d->unit = (int)i;
            d->worker = (int)wi;
            return d->action;
        }
    }
    return d->action;
}

void asw_sched_order_round(struct asw_sched *s, struct asw_sched_decision *d,
                           size_t n)
{
    for (size_t a = 0; a < n; a++) {
        if (d[a].action != ASW_SCHED_ASSIGN)
            continue;
        int w = d[a].worker;
        /* Only the first decision of each worker starts its group. */
        int seen = 0;
        for (size_t b = 0; b < a && !seen; b++)
            seen = d[b].action == ASW_SCHED_ASSIGN && d[b].worker == w;
        if (seen)
            continue;
        size_t pos[64];
        int units[64];
        size_t k = 0;
        for (size_t b = a; b < n && k < 64; b++)
            if (d[b].action == ASW_SCHED_ASSIGN && d[b].worker == w) {
                pos[k] = b;
                units[k++] = d[b].unit;
            }
        struct sworker *sw = &s->w[w];
        if (k < 2 || (size_t)sw->held != k)
            continue; /* one unit, or the worker holds older ones */
        /* Insertion sort by cost, ascending, stable. */
        for (size_t i = 1; i < k; i++) {
            int u = units[i];
            size_t j = i;
            while (j > 0 && s->u[units[j - 1]].cost > s->u[u].cost) {
                units[j] = units[j - 1];
                j--;
            }
            units[j] = u;
        }
        for (size_t i = 0; i < k; i++) {
            d[pos[i]].unit = units[i];
            sw->units[i] = units[i];
        }
    }
}

/* "module:CODE:text" -> CODE (without the E) compared with name. */
static int has_code(const char *error, const char *code, const char **text)
{
    const char *c = strchr(error, ':');
    if (!c)
        return 0;
    c++;
    size_t n = strlen(code);
    if (strncmp(c, code, n) == 0 && c[n] == ':') {
        *text = c + n + 1;
        return 1;
    }
    return 0;
}

enum asw_fail_class asw_sched_classify(const char *error)
{
    static const char *const permanent[] = {
        "ENOTFOUND", "EAUTH",   "EPARSE",  "EINVAL", "EPROTO",
        "EARCHIVE",  "ETOOBIG", "ECONFIG", "EFITS",  "EQUERY"};
    const char *text = "";
    if (!error || !*error)
        return ASW_FAIL_TRANSIENT;
    for (size_t i = 0; i < sizeof permanent / sizeof *permanent; i++)
        if (has_code(error, permanent[i], &text))
            return ASW_FAIL_PERMANENT;
    /* jobs/spawn.c describes a child ended by a signal as "killed by
     * signal N (SIGX)"; a CASA that crashes a worker twice on the same
     * data will do so again. */
    if (has_code(error, "ECHILD", &text) && strstr(text, "killed by signal"))
        return ASW_FAIL_CRASH;
    return ASW_FAIL_TRANSIENT;
}

/* A uniform number in [0, 1) (xorshift32). */
static double jitter(struct asw_sched *s)
{
    unsigned x = s->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s->rng = x;
    return (double)(x >> 8) / (double)(1u << 24);
}

static double backoff(struct asw_sched *s, int failures)
{
    double d = s->p.backoff_s;
    for (int k = 1; k < failures && d < s->p.backoff_max_s; k++)
        d *= 2;
    if (d > s->p.backoff_max_s)
        d = s->p.backoff_max_s;
    /* +-25 %: retries of units that failed together spread out. */
    return d * (0.75 + 0.5 * jitter(s));
}

int asw_sched_result(struct asw_sched *s, int unit, double now,
                     enum asw_status status, const char *error)
{
    if (unit < 0 || (size_t)unit >= s->n_units || s->u[unit].st != U_HELD)
        return -1;
    struct sunit *u = &s->u[unit];
    struct sworker *w = &s->w[u->worker];
    for (int k = 0; k < w->held; k++) {
        if (w->units[k] == unit) {
            memmove(&w->units[k], &w->units[k + 1],
                    (size_t)(w->held - k - 1) * sizeof *w->units);
            break;
        }
    }
    w->held--;
    s->nodes[w->node].used -= u->need;
    u->worker = -1;
    s->n_held--;
    s->last_now = now;
    if (status == ASW_ST_DONE) {
        u->st = U_DONE;
        s->st.done++;
        return ASW_SCHED_DONE;
    }
    if (status == ASW_ST_INTERRUPTED) {
        if (u->attempts > 0)
            u->attempts--;
        if (s->stopped) {
            u->st = U_INTERRUPTED;
            s->st.interrupted++;
        } else {
            u->not_before = 0;
            set_queued(s, (size_t)unit);
        }
        return ASW_SCHED_INTERRUPTED;
    }
    enum asw_fail_class c = asw_sched_classify(error);
    if (c == ASW_FAIL_CRASH)
        u->crashes++;
    if (c == ASW_FAIL_PERMANENT ||
        (c == ASW_FAIL_CRASH && u->crashes >= s->p.max_crashes) ||
        u->attempts >= s->p.max_attempts) {
        u->st = U_FAILED;
        s->st.failed++;
        return ASW_SCHED_FAILED;
    }
    u->not_before = now + backoff(s, u->attempts);
    set_queued(s, (size_t)unit);
    s->st.retries++;
    return ASW_SCHED_RETRY;
}

void asw_sched_stop(struct asw_sched *s)
{
    s->stopped = 1;
}

int asw_sched_finished(const struct asw_sched *s)
{
    return s->n_held == 0 && (s->stopped || s->n_queued == 0);
}

double asw_sched_next_timer(const struct asw_sched *s, double now)
{
    double t = -1;
    for (size_t i = 0; i < s->n_units; i++) {
        const struct sunit *u = &s->u[i];
        if (u->st == U_QUEUED && u->not_before > now &&
            (t < 0 || u->not_before - now < t))
            t = u->not_before - now;
    }
    return t;
}

int asw_sched_slot_acquire(struct asw_sched *s, int worker, int unit,
                           int64_t bytes)
{
    if (worker < 0 || (size_t)worker >= s->n_workers || s->w[worker].slot)
        return ASW_EINVAL;
    if (s->p.download_slots == 0 || s->slots_in_use < s->p.download_slots) {
        s->w[worker].slot = 2;
        s->slots_in_use++;
        return 1;
    }
    if (s->slot_n == s->slot_cap) {
        size_t cap = s->slot_cap ? 2 * s->slot_cap : 16;
        struct slot_req *q = realloc(s->slot_q, cap * sizeof *q);
        if (!q)
            return ASW_ENOMEM;
        s->slot_q = q;
        s->slot_cap = cap;
    }
    struct slot_req *r = &s->slot_q[s->slot_n++];
    r->worker = worker;
    r->unit = unit >= 0 && (size_t)unit < s->n_units ? unit : -1;
    r->bytes = bytes >= 0 ? bytes : INT64_MAX;
    r->seq = s->slot_seq++;
    s->w[worker].slot = 1;
    return 0;
}

/* Whether the worker of request r waits for it: the file belongs to the
 * oldest unit the worker holds (or the unit is not known). */
static int urgent(const struct asw_sched *s, const struct slot_req *r)
{
    const struct sworker *w = &s->w[r->worker];
    return r->unit < 0 || w->held == 0 || w->units[0] == r->unit;
}

/* The request to grant next: urgent first, then the smaller file, then
 * the older request. */
static size_t best_request(const struct asw_sched *s)
{
    size_t best = 0;
    int best_urgent = urgent(s, &s->slot_q[0]);
    for (size_t i = 1; i < s->slot_n; i++) {
        const struct slot_req *a = &s->slot_q[i], *b = &s->slot_q[best];
        int ua = urgent(s, a);
        if (ua != best_urgent      ? ua > best_urgent
            : a->bytes != b->bytes ? a->bytes < b->bytes
                                   : a->seq < b->seq) {
            best = i;
            best_urgent = ua;
        }
    }
    return best;
}

static void drop_request(struct asw_sched *s, size_t i)
{
    memmove(&s->slot_q[i], &s->slot_q[i + 1],
            (s->slot_n - i - 1) * sizeof *s->slot_q);
    s->slot_n--;
}

int asw_sched_slot_release(struct asw_sched *s, int worker)
{
    if (worker < 0 || (size_t)worker >= s->n_workers)
        return -1;
    struct sworker *w = &s->w[worker];
    if (w->slot == 1) {
        for (size_t i = 0; i < s->slot_n; i++) {
            if (s->slot_q[i].worker == worker) {
                drop_request(s, i);
                break;
            }
        }
        w->slot = 0;
        return -1;
    }
    if (w->slot != 2)
        return -1;
    w->slot = 0;
    s->slots_in_use--;
    if (!s->slot_n)
        return -1;
    size_t i = best_request(s);
    int next = s->slot_q[i].worker;
    drop_request(s, i);
    s->w[next].slot = 2;
    s->slots_in_use++;
    return next;
}

void asw_sched_get_stats(const struct asw_sched *s, struct asw_sched_stats *st)
{
    *st = s->st;
    st->queued = st->backoff = 0;
    for (size_t i = 0; i < s->n_units; i++) {
        if (s->u[i].st != U_QUEUED)
            continue;
        if (s->u[i].not_before > s->last_now)
            st->backoff++;
        else
            st->queued++;
    }
    st->held = s->n_held;
    st->slots_in_use = s->slots_in_use;
    st->slots_waiting = (int)s->slot_n;
}

int asw_sched_unit_attempts(const struct asw_sched *s, int unit)
{
    return unit < 0 || (size_t)unit >= s->n_units ? -1 : s->u[unit].attempts;
}

int asw_sched_unit_worker(const struct asw_sched *s, int unit)
{
    return unit < 0 || (size_t)unit >= s->n_units ? -1 : s->u[unit].worker;
}

int64_t asw_sched_unit_need(const struct asw_sched *s, int unit)
{
    return unit < 0 || (size_t)unit >= s->n_units ? -1 : s->u[unit].need;
}

int64_t asw_sched_node_used(const struct asw_sched *s, int node)
{
    return node < 0 || (size_t)node >= s->n_nodes ? -1 : s->nodes[node].used;
}

int asw_sched_worker_held(const struct asw_sched *s, int worker)
{
    return worker < 0 || (size_t)worker >= s->n_workers ? -1
                                                        : s->w[worker].held;
}

int asw_sched_worker_node(const struct asw_sched *s, int worker)
{
    return worker < 0 || (size_t)worker >= s->n_workers ? -1
                                                        : s->w[worker].node;
}
