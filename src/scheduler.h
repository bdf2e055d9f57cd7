/*
 * scheduler.h - the sweep's scheduling policy in plain C: events in, decisions
 * out. No MPI and no clock of its own (every call takes the time), so that
 * tests/unit/test_sched.c drives it step by step and mpi/master.c only
 * moves messages (docs/protocol.md, "Scheduling").
 *
 * Units are handed out in priority order, largest expected cost first (or
 * in the archive's order, ASW_SCHED_FIFO), to workers with room: a worker
 * holds up to `depth` units at once (the one it processes and the ones it
 * prefetches). A unit goes to a worker only if it fits the scratch budget
 * of the worker's node: the scratch_need of every unit held by the ranks
 * of a node, prefetched ones included, never adds up to more than the
 * node's budget. Smaller units may pass a large one that does not fit yet
 * (backfill), until the large one has waited reserve_after_s; from then on
 * nothing smaller is admitted on a node that could hold it, so the node
 * drains for it. A unit that fits no node at all is rejected, or, with
 * reject_oversize off (budgets that only estimate free space), runs alone
 * on a node that holds nothing else.
 *
 * Failed units are classified from their error ("module:CODE:text"):
 * permanent failures fail for good at once, transient ones are retried
 * after an exponential backoff until max_attempts, and a unit whose
 * processing killed its worker's CASA max_crashes times fails for good.
 * Interrupted units give their attempt back.
 *
 * A job-wide count of download slots is granted first to downloads a
 * worker waits for (the file belongs to the oldest unit it holds, the one
 * it processes next), then to prefetches; smaller files first within each
 * group, then in request order. A starving worker is fed before a busy one
 * reads ahead, and short transfers do not queue behind long ones.
 *
 * Not thread-safe: one thread (the master's) owns a scheduler.
 */
#ifndef ASW_SCHEDULER_H
#define ASW_SCHEDULER_H

#include "result.h"

#include <stddef.h>
#include <stdint.h>

enum asw_sched_order {
    ASW_SCHED_LARGEST_FIRST = 0, /* by expected cost, descending */
    ASW_SCHED_FIFO = 1,          /* in the order the units were added */
};

struct asw_sched_params {
    enum asw_sched_order order;
    int max_attempts;       /* attempts before a unit fails for good, >= 1 */
    int max_crashes;        /* processing crashes before it does, >= 1 */
    double backoff_s;       /* delay before the first retry (then doubled) */
    double backoff_max_s;   /* cap of the delay */
    int download_slots;     /* concurrent downloads job-wide, 0 = no cap */
    double reserve_after_s; /* scratch wait before a unit reserves a node */
    int reject_oversize;    /* a unit no node's budget holds: reject it
                               (1), or run it alone on an empty node and
                               let the worker's own check decide (0) */
    unsigned seed;          /* of the backoff's jitter */
};

/* Fill *p with the defaults: largest first, 3 attempts, 2 crashes, backoff
 * 10 s doubling up to 300 s, no slot cap, reserve after 60 s, oversized
 * units rejected, seed 1. */
void asw_sched_params_default(struct asw_sched_params *p);

/* A scheduler (opaque). */
struct asw_sched;

/*
 * Create an empty scheduler with a copy of *p. Returns 0 and *out (free
 * with asw_sched_free), ASW_EINVAL for bad parameters or ASW_ENOMEM.
 */
int asw_sched_new(const struct asw_sched_params *p, struct asw_sched **out);

/* Free a scheduler. Accepts NULL. */
void asw_sched_free(struct asw_sched *s);

/* Add a node with this scratch budget in bytes. Returns its index (0, 1,
 * ...) or ASW_ENOMEM. */
int asw_sched_add_node(struct asw_sched *s, int64_t budget_bytes);

/* Add a worker on node `node` that holds up to depth (>= 1) units.
 * Returns its index or ASW_EINVAL / ASW_ENOMEM. */
int asw_sched_add_worker(struct asw_sched *s, int node, int depth);

/*
 * Add a unit: expected cost (any unit, e.g. bytes; the priority),
 * scratch need in bytes, and the attempts it has used in earlier runs.
 * Returns its index (0, 1, ... in the order of the calls) or ASW_ENOMEM.
 */
int asw_sched_add_unit(struct asw_sched *s, int64_t cost, int64_t need_bytes,
                       int attempts);

enum asw_sched_action {
    ASW_SCHED_IDLE = 0, /* nothing to do now */
    ASW_SCHED_ASSIGN,   /* send unit to worker */
    ASW_SCHED_REJECT,   /* unit fits no node: it failed for good */
};

struct asw_sched_decision {
    enum asw_sched_action action;
    int unit;
    int worker;
};

/*
 * The next decision at time now (seconds, any monotonic origin). Call it
 * until it answers ASW_SCHED_IDLE after every event. An assignment counts
 * as an attempt of the unit and holds its scratch need on the worker's
 * node until asw_sched_result(). Returns the action (also in d->action).
 */
enum asw_sched_action asw_sched_next(struct asw_sched *s, double now,
                                     struct asw_sched_decision *d);

/*
 * Order one round of decisions: the ones asw_sched_next gave back to back,
 * before any is carried out. A worker that receives several units while it
 * held none gets them smallest first: it starts processing sooner while
 * the larger ones download (the start of a sweep, where every worker gets
 * 1 + prefetch units at once). Reorders the ASSIGN decisions among d[0..n)
 * in place (each worker's decisions keep the positions they had) and the
 * worker's processing order as the scheduler sees it.
 */
void asw_sched_order_round(struct asw_sched *s, struct asw_sched_decision *d,
                           size_t n);

enum asw_sched_verdict {
    ASW_SCHED_DONE = 0,
    ASW_SCHED_RETRY,       /* queued again after a backoff */
    ASW_SCHED_FAILED,      /* failed for good (permanent, attempts, crashes) */
    ASW_SCHED_INTERRUPTED, /* given back: attempt not counted */
};

/*
 * The result of an assigned unit: frees its place on its worker and node.
 * error is the result's "module:CODE:text" (may be NULL or empty).
 * Returns the verdict, or -1 if the unit was not assigned (a protocol
 * error of the caller).
 */
int asw_sched_result(struct asw_sched *s, int unit, double now,
                     enum asw_status status, const char *error);

enum asw_fail_class {
    ASW_FAIL_TRANSIENT = 0, /* network, HTTP, scratch full, time-outs, I/O */
    ASW_FAIL_PERMANENT,     /* not found, refused, malformed, unsafe data */
    ASW_FAIL_CRASH,         /* the processing child was killed by a signal */
};

/*
 * The class of a result error "module:CODE:text". ENOTFOUND, EAUTH,
 * EPARSE, EINVAL, EPROTO, EARCHIVE, ETOOBIG, ECONFIG, EFITS and EQUERY are
 * permanent; ECHILD whose text says the child was killed by a signal is a
 * crash; everything else (ENET, EHTTP, ENOSPC, ETIMEOUT, EIO, ENOMEM,
 * other ECHILD, unknown codes, NULL) is transient.
 */
enum asw_fail_class asw_sched_classify(const char *error);

/* Stop handing out work (a signal): asw_sched_next() answers IDLE from now
 * on; units still queued stay as they were. */
void asw_sched_stop(struct asw_sched *s);

/*
 * Whether the sweep is over: nothing held by a worker and, unless
 * stopped, nothing queued or waiting for a retry.
 */
int asw_sched_finished(const struct asw_sched *s);

/* Seconds from now until the earliest retry becomes due, or -1 if no unit
 * waits for one. */
double asw_sched_next_timer(const struct asw_sched *s, double now);

/*
 * Download slots. A worker asks for one before each file of unit (which it
 * holds; -1 if unknown) of bytes (-1 if unknown): returns 1 when granted at
 * once, 0 when it has to wait (see the order above), or ASW_EINVAL (bad
 * worker, or it already holds or waits for one) / ASW_ENOMEM.
 */
int asw_sched_slot_acquire(struct asw_sched *s, int worker, int unit,
                           int64_t bytes);

/* A worker gives its slot back (or withdraws its waiting request).
 * Returns the worker granted a slot in its place, or -1. */
int asw_sched_slot_release(struct asw_sched *s, int worker);

struct asw_sched_stats {
    size_t units;   /* added */
    size_t queued;  /* waiting for a worker (retries due included) */
    size_t backoff; /* waiting for a retry's backoff to end */
    size_t held;    /* assigned, no result yet */
    size_t done, failed, interrupted;
    size_t retries;      /* RETRY verdicts */
    int slots_in_use;    /* download slots granted */
    int slots_waiting;   /* requests waiting */
    size_t assignments;  /* ASSIGN decisions */
    size_t backfills;    /* ... of a unit past a larger one kept out */
    size_t reservations; /* times a node was held for a waiting unit */
};

/* Fill *st. */
void asw_sched_get_stats(const struct asw_sched *s, struct asw_sched_stats *st);

/* Attempts used by unit (earlier runs included), or -1 for a bad index. */
int asw_sched_unit_attempts(const struct asw_sched *s, int unit);

/* The worker holding unit, or -1. */
int asw_sched_unit_worker(const struct asw_sched *s, int unit);

/* The scratch need the scheduler accounts for unit (bytes), or -1. */
int64_t asw_sched_unit_need(const struct asw_sched *s, int unit);

/* Bytes of scratch held on node, or -1 for a bad index. */
int64_t asw_sched_node_used(const struct asw_sched *s, int node);

/* The largest node budget (bytes), 0 without nodes. */
int64_t asw_sched_max_budget(const struct asw_sched *s);

/* Units held by worker, or -1 for a bad index. */
int asw_sched_worker_held(const struct asw_sched *s, int worker);

/* The node of worker, or -1 for a bad index. */
int asw_sched_worker_node(const struct asw_sched *s, int worker);

#endif
