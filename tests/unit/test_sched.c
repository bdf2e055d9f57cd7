/* Unit tests: the scheduling policy (src/scheduler.c), driven event by event
 * with a fake clock; no MPI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/config.h"
#include "src/progress.h"
#include "src/scheduler.h"

#define GB (1LL << 30)

static struct asw_sched *make(enum asw_sched_order order, int max_attempts,
                              int slots)
{
    struct asw_sched_params p;
    asw_sched_params_default(&p);
    p.order = order;
    p.max_attempts = max_attempts;
    p.download_slots = slots;
    p.backoff_s = 1;
    p.backoff_max_s = 8;
    p.reserve_after_s = 5;
    struct asw_sched *s = NULL;
    assert_int_equal(asw_sched_new(&p, &s), 0);
    return s;
}

/* The next decision must be an assignment; returns the unit. */
static int expect_assign(struct asw_sched *s, double now, int worker)
{
    struct asw_sched_decision d;
    assert_int_equal(asw_sched_next(s, now, &d), ASW_SCHED_ASSIGN);
    if (worker >= 0)
        assert_int_equal(d.worker, worker);
    return d.unit;
}

static void expect_idle(struct asw_sched *s, double now)
{
    struct asw_sched_decision d;
    assert_int_equal(asw_sched_next(s, now, &d), ASW_SCHED_IDLE);
}

static void bad_params(void **state)
{
    (void)state;
    struct asw_sched_params p;
    struct asw_sched *s = (struct asw_sched *)1;
    asw_sched_params_default(&p);
    p.max_attempts = 0;
    assert_int_equal(asw_sched_new(&p, &s), ASW_EINVAL);
    assert_null(s);
    asw_sched_params_default(&p);
    p.download_slots = -1;
    assert_int_equal(asw_sched_new(&p, &s), ASW_EINVAL);
    asw_sched_free(NULL);
}

static void largest_first(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    int n = asw_sched_add_node(s, 100 * GB);
    assert_int_equal(asw_sched_add_worker(s, n, 1), 0);
    int64_t cost[] = {5, 50, 7, 50, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(asw_sched_add_unit(s, cost[i], GB, 0), i);
    /* 50 (first added), 50, 7, 5, 1 */
    int want[] = {1, 3, 2, 0, 4};
    for (int k = 0; k < 5; k++) {
        int u = expect_assign(s, k, 0);
        assert_int_equal(u, want[k]);
        /* one unit at a time: depth 1 */
        expect_idle(s, k);
        assert_int_equal(asw_sched_result(s, u, k, ASW_ST_DONE, ""),
                         ASW_SCHED_DONE);
    }
    assert_true(asw_sched_finished(s));
    asw_sched_free(s);
}

static void fifo(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_FIFO, 3, 0);
    int n = asw_sched_add_node(s, 100 * GB);
    asw_sched_add_worker(s, n, 1);
    int64_t cost[] = {5, 50, 7};
    for (int i = 0; i < 3; i++)
        asw_sched_add_unit(s, cost[i], GB, 0);
    for (int k = 0; k < 3; k++) {
        int u = expect_assign(s, 0, 0);
        assert_int_equal(u, k);
        asw_sched_result(s, u, 0, ASW_ST_DONE, "");
    }
    asw_sched_free(s);
}

/* Budget 10 GB on one node, two workers: the two 6 GB units never run
 * together; a small one passes the second (backfill). */
static void node_budget(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    int n = asw_sched_add_node(s, 10 * GB);
    asw_sched_add_worker(s, n, 1);
    asw_sched_add_worker(s, n, 1);
    int a = asw_sched_add_unit(s, 60, 6 * GB, 0);
    int b = asw_sched_add_unit(s, 50, 6 * GB, 0);
    int c = asw_sched_add_unit(s, 10, 3 * GB, 0);
    assert_int_equal(expect_assign(s, 0, -1), a);
    assert_int_equal(expect_assign(s, 0, -1), c);
    assert_int_equal(asw_sched_node_used(s, n), 9 * GB);
    expect_idle(s, 0);
    struct asw_sched_stats st;
    asw_sched_get_stats(s, &st);
    assert_int_equal(st.backfills, 1);
    assert_int_equal(st.held, 2);
    /* c ends: b still does not fit next to a */
    asw_sched_result(s, c, 1, ASW_ST_DONE, "");
    expect_idle(s, 1);
    asw_sched_result(s, a, 2, ASW_ST_DONE, "");
    assert_int_equal(expect_assign(s, 2, -1), b);
    assert_int_equal(asw_sched_node_used(s, n), 6 * GB);
    asw_sched_result(s, b, 3, ASW_ST_DONE, "");
    assert_int_equal(asw_sched_node_used(s, n), 0);
    assert_true(asw_sched_finished(s));
    asw_sched_free(s);
}

/* The same units on two nodes of 10 GB run side by side. */
static void two_nodes(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    int n0 = asw_sched_add_node(s, 10 * GB);
    int n1 = asw_sched_add_node(s, 10 * GB);
    int w0 = asw_sched_add_worker(s, n0, 1);
    asw_sched_add_worker(s, n0, 1);
    int w2 = asw_sched_add_worker(s, n1, 1);
    int a = asw_sched_add_unit(s, 60, 6 * GB, 0);
    int b = asw_sched_add_unit(s, 50, 6 * GB, 0);
    assert_int_equal(expect_assign(s, 0, w0), a);
    /* w1 shares n0 with a: b goes to the other node's worker */
    assert_int_equal(expect_assign(s, 0, w2), b);
    assert_int_equal(asw_sched_node_used(s, n0), 6 * GB);
    assert_int_equal(asw_sched_node_used(s, n1), 6 * GB);
    asw_sched_free(s);
}

/* Prefetch (depth 2): idle workers first, then a second unit each; the
 * prefetched units count against the node's budget. */
static void prefetch_depth(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    int n = asw_sched_add_node(s, 100 * GB);
    asw_sched_add_worker(s, n, 2);
    asw_sched_add_worker(s, n, 2);
    for (int i = 0; i < 6; i++)
        asw_sched_add_unit(s, 100 - i, 10 * GB, 0);
    struct asw_sched_decision d;
    int first[4];
    for (int k = 0; k < 4; k++) {
        assert_int_equal(asw_sched_next(s, 0, &d), ASW_SCHED_ASSIGN);
        first[k] = d.worker;
    }
    assert_int_not_equal(first[0], first[1]);
    assert_int_equal(asw_sched_worker_held(s, 0), 2);
    assert_int_equal(asw_sched_worker_held(s, 1), 2);
    assert_int_equal(asw_sched_node_used(s, n), 40 * GB);
    expect_idle(s, 0);
    asw_sched_free(s);

    /* An idle worker gets the next unit even when the round robin points
     * at a busy one that could still prefetch. */
    s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    n = asw_sched_add_node(s, 100 * GB);
    asw_sched_add_worker(s, n, 2);
    asw_sched_add_worker(s, n, 2);
    int a = asw_sched_add_unit(s, 100, GB, 0);
    int b = asw_sched_add_unit(s, 90, GB, 0);
    asw_sched_add_unit(s, 80, GB, 0);
    assert_int_equal(expect_assign(s, 0, 0), a);
    assert_int_equal(expect_assign(s, 0, 1), b);
    asw_sched_result(s, b, 1, ASW_ST_DONE, "");
    expect_assign(s, 1, 1);
    asw_sched_free(s);

    /* With a 25 GB budget only two 10 GB units are out at once even
     * though the workers could prefetch. */
    s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    n = asw_sched_add_node(s, 25 * GB);
    asw_sched_add_worker(s, n, 2);
    asw_sched_add_worker(s, n, 2);
    for (int i = 0; i < 6; i++)
        asw_sched_add_unit(s, 100 - i, 10 * GB, 0);
    expect_assign(s, 0, -1);
    expect_assign(s, 0, -1);
    expect_idle(s, 0);
    assert_int_equal(asw_sched_node_used(s, n), 20 * GB);
    asw_sched_free(s);
}

/* A unit kept out by scratch for reserve_after_s holds the node: nothing
 * smaller passes it any more, and it runs as soon as there is room. */
static void reservation(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    int n = asw_sched_add_node(s, 10 * GB);
    for (int k = 0; k < 3; k++)
        asw_sched_add_worker(s, n, 1);
    int x = asw_sched_add_unit(s, 100, 6 * GB, 0);
    int y = asw_sched_add_unit(s, 90, 6 * GB, 0);
    int small[6];
    for (int k = 0; k < 6; k++)
        small[k] = asw_sched_add_unit(s, 1, GB, 0);
    assert_int_equal(expect_assign(s, 0, -1), x);
    assert_int_equal(expect_assign(s, 0, -1), small[0]);
    assert_int_equal(expect_assign(s, 0, -1), small[1]);
    expect_idle(s, 0); /* all three workers busy */
    asw_sched_result(s, small[0], 1, ASW_ST_DONE, "");
    /* 1 s < 5 s: a small one may still pass y */
    assert_int_equal(expect_assign(s, 1, -1), small[2]);
    asw_sched_result(s, small[1], 10, ASW_ST_DONE, "");
    /* y has waited 10 s: the node is held for it */
    expect_idle(s, 10);
    struct asw_sched_stats st;
    asw_sched_get_stats(s, &st);
    assert_int_equal(st.reservations, 1);
    asw_sched_result(s, x, 11, ASW_ST_DONE, "");
    assert_int_equal(expect_assign(s, 11, -1), y);
    asw_sched_free(s);
}

static void reject_unfit(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    int n0 = asw_sched_add_node(s, 10 * GB);
    asw_sched_add_node(s, 20 * GB);
    asw_sched_add_worker(s, n0, 1);
    int big = asw_sched_add_unit(s, 100, 30 * GB, 0);
    int mid = asw_sched_add_unit(s, 50, 15 * GB, 0);
    int small = asw_sched_add_unit(s, 10, 5 * GB, 0);
    struct asw_sched_decision d;
    assert_int_equal(asw_sched_next(s, 0, &d), ASW_SCHED_REJECT);
    assert_int_equal(d.unit, big);
    assert_int_equal(asw_sched_max_budget(s), 20 * GB);
    /* mid fits node 1, which has no worker yet; node 0's worker takes
     * the small one */
    assert_int_equal(expect_assign(s, 0, 0), small);
    expect_idle(s, 0);
    assert_int_equal(asw_sched_add_worker(s, 1, 1), 1);
    assert_int_equal(expect_assign(s, 0, 1), mid);
    asw_sched_free(s);

    /* Without rejection an oversized unit runs alone on an empty node. */
    struct asw_sched_params p;
    asw_sched_params_default(&p);
    p.reject_oversize = 0;
    assert_int_equal(asw_sched_new(&p, &s), 0);
    n0 = asw_sched_add_node(s, 10 * GB);
    asw_sched_add_worker(s, n0, 1);
    asw_sched_add_worker(s, n0, 1);
    small = asw_sched_add_unit(s, 10, 5 * GB, 0);
    big = asw_sched_add_unit(s, 1, 30 * GB, 0);
    assert_int_equal(expect_assign(s, 0, -1), small);
    expect_idle(s, 0); /* not beside the small one */
    asw_sched_result(s, small, 1, ASW_ST_DONE, "");
    assert_int_equal(expect_assign(s, 1, -1), big);
    asw_sched_free(s);
}

static void retries_backoff(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    int n = asw_sched_add_node(s, 100 * GB);
    asw_sched_add_worker(s, n, 1);
    int u = asw_sched_add_unit(s, 1, GB, 0);
    double t = 0;
    for (int attempt = 1; attempt <= 3; attempt++) {
        assert_int_equal(expect_assign(s, t, 0), u);
        assert_int_equal(asw_sched_unit_attempts(s, u), attempt);
        int v = asw_sched_result(s, u, t, ASW_ST_FAILED,
                                 "download:ENET:connection reset");
        if (attempt < 3) {
            assert_int_equal(v, ASW_SCHED_RETRY);
            /* not before the backoff: 1 s, 2 s (+-25 %) */
            expect_idle(s, t + 0.7 * attempt);
            double wait = asw_sched_next_timer(s, t);
            assert_true(wait >= 0.74 * (1 << (attempt - 1)) &&
                        wait <= 1.26 * (1 << (attempt - 1)));
            assert_false(asw_sched_finished(s));
            t += 10;
        } else {
            assert_int_equal(v, ASW_SCHED_FAILED);
        }
    }
    assert_true(asw_sched_finished(s));
    struct asw_sched_stats st;
    asw_sched_get_stats(s, &st);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.failed, 1);
    asw_sched_free(s);

    /* Attempts of earlier runs count. */
    s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    n = asw_sched_add_node(s, 100 * GB);
    asw_sched_add_worker(s, n, 1);
    u = asw_sched_add_unit(s, 1, GB, 2);
    expect_assign(s, 0, 0);
    assert_int_equal(
        asw_sched_result(s, u, 0, ASW_ST_FAILED, "download:EHTTP:HTTP 503"),
        ASW_SCHED_FAILED);
    asw_sched_free(s);
}

/* A retry is not pinned to the worker (rank) the unit failed on: it goes to
 * whichever worker has room when its backoff is over. */
static void retry_any_worker(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    int n = asw_sched_add_node(s, 100 * GB);
    asw_sched_add_worker(s, n, 1);
    asw_sched_add_worker(s, n, 1);
    int a = asw_sched_add_unit(s, 3, GB, 0);
    int b = asw_sched_add_unit(s, 2, GB, 0);
    int c = asw_sched_add_unit(s, 1, GB, 0);
    assert_int_equal(expect_assign(s, 0, 0), a);
    assert_int_equal(expect_assign(s, 0, 1), b);
    expect_idle(s, 0);
    assert_int_equal(
        asw_sched_result(s, a, 0, ASW_ST_FAILED, "download:ENET:reset"),
        ASW_SCHED_RETRY);
    /* worker 0 takes the next unit while a waits for its backoff */
    assert_int_equal(expect_assign(s, 0.1, 0), c);
    expect_idle(s, 0.1);
    /* worker 1 comes free after the backoff: the retry goes there */
    assert_int_equal(asw_sched_result(s, b, 5, ASW_ST_DONE, NULL),
                     ASW_SCHED_DONE);
    assert_int_equal(expect_assign(s, 5, 1), a);
    assert_int_equal(asw_sched_unit_attempts(s, a), 2);
    assert_int_equal(asw_sched_unit_worker(s, a), 1);
    assert_int_equal(asw_sched_result(s, a, 6, ASW_ST_DONE, NULL),
                     ASW_SCHED_DONE);
    assert_int_equal(asw_sched_result(s, c, 6, ASW_ST_DONE, NULL),
                     ASW_SCHED_DONE);
    assert_true(asw_sched_finished(s));
    asw_sched_free(s);
}

static void permanent_and_crash(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 10, 0);
    int n = asw_sched_add_node(s, 100 * GB);
    asw_sched_add_worker(s, n, 1);
    int nf = asw_sched_add_unit(s, 3, GB, 0);
    int crash = asw_sched_add_unit(s, 2, GB, 0);
    assert_int_equal(expect_assign(s, 0, 0), nf);
    assert_int_equal(asw_sched_result(s, nf, 0, ASW_ST_FAILED,
                                      "download:ENOTFOUND:HTTP 404"),
                     ASW_SCHED_FAILED);
    const char *killed =
        "casa:ECHILD:step tclean: CASA killed by signal 9 (SIGKILL)";
    assert_int_equal(expect_assign(s, 0, 0), crash);
    assert_int_equal(asw_sched_result(s, crash, 0, ASW_ST_FAILED, killed),
                     ASW_SCHED_RETRY);
    assert_int_equal(expect_assign(s, 100, 0), crash);
    /* the second crash ends it although 8 attempts are left */
    assert_int_equal(asw_sched_result(s, crash, 100, ASW_ST_FAILED, killed),
                     ASW_SCHED_FAILED);
    assert_int_equal(asw_sched_unit_attempts(s, crash), 2);
    assert_true(asw_sched_finished(s));
    asw_sched_free(s);
}

static void classify(void **state)
{
    (void)state;
    assert_int_equal(asw_sched_classify("download:ENOTFOUND:HTTP 404"),
                     ASW_FAIL_PERMANENT);
    assert_int_equal(asw_sched_classify("download:EAUTH:HTTP 401"),
                     ASW_FAIL_PERMANENT);
    assert_int_equal(asw_sched_classify("fits:EPARSE:bad header"),
                     ASW_FAIL_PERMANENT);
    assert_int_equal(asw_sched_classify("untar:EARCHIVE:unsafe entry"),
                     ASW_FAIL_PERMANENT);
    assert_int_equal(asw_sched_classify("download:ENET:reset"),
                     ASW_FAIL_TRANSIENT);
    assert_int_equal(asw_sched_classify("download:EHTTP:HTTP 503"),
                     ASW_FAIL_TRANSIENT);
    assert_int_equal(asw_sched_classify("pipeline:ENOSPC:scratch full"),
                     ASW_FAIL_TRANSIENT);
    assert_int_equal(asw_sched_classify("casa:ETIMEOUT:step x: timed out"),
                     ASW_FAIL_TRANSIENT);
    assert_int_equal(asw_sched_classify("casa:ECHILD:step x: CASA error: "
                                        "SEVERE (exit 1)"),
                     ASW_FAIL_TRANSIENT);
    assert_int_equal(asw_sched_classify("casa:ECHILD:step x: CASA killed by "
                                        "signal 11 (SIGSEGV)"),
                     ASW_FAIL_CRASH);
    /* the code must be the code field, not text that mentions it */
    assert_int_equal(asw_sched_classify("download:ENET:not ENOTFOUND:x"),
                     ASW_FAIL_TRANSIENT);
    assert_int_equal(asw_sched_classify(NULL), ASW_FAIL_TRANSIENT);
    assert_int_equal(asw_sched_classify("garbage"), ASW_FAIL_TRANSIENT);
}

/* A stop: no more assignments; interrupted units give their attempt
 * back; finished once nothing is held. */
static void stop_interrupt(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    int n = asw_sched_add_node(s, 100 * GB);
    asw_sched_add_worker(s, n, 2);
    int a = asw_sched_add_unit(s, 3, GB, 1);
    int b = asw_sched_add_unit(s, 2, GB, 0);
    asw_sched_add_unit(s, 1, GB, 0);
    assert_int_equal(expect_assign(s, 0, 0), a);
    assert_int_equal(expect_assign(s, 0, 0), b);
    assert_int_equal(asw_sched_unit_attempts(s, a), 2);
    asw_sched_stop(s);
    expect_idle(s, 0);
    assert_false(asw_sched_finished(s));
    assert_int_equal(asw_sched_result(s, a, 1, ASW_ST_INTERRUPTED, ""),
                     ASW_SCHED_INTERRUPTED);
    assert_int_equal(asw_sched_unit_attempts(s, a), 1);
    assert_int_equal(asw_sched_result(s, b, 1, ASW_ST_DONE, ""),
                     ASW_SCHED_DONE);
    assert_true(asw_sched_finished(s));
    expect_idle(s, 2);
    struct asw_sched_stats st;
    asw_sched_get_stats(s, &st);
    assert_int_equal(st.interrupted, 1);
    assert_int_equal(st.done, 1);
    assert_int_equal(st.queued, 1);
    /* a second result for the same unit is the caller's bug */
    assert_int_equal(asw_sched_result(s, a, 2, ASW_ST_DONE, ""), -1);
    asw_sched_free(s);

    /* Without a stop, an interrupted unit is queued again at once. */
    s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    n = asw_sched_add_node(s, 100 * GB);
    asw_sched_add_worker(s, n, 1);
    a = asw_sched_add_unit(s, 3, GB, 0);
    expect_assign(s, 0, 0);
    asw_sched_result(s, a, 0, ASW_ST_INTERRUPTED, "");
    assert_int_equal(expect_assign(s, 0, 0), a);
    assert_int_equal(asw_sched_unit_attempts(s, a), 1);
    asw_sched_free(s);
}

static void download_slots(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 2);
    int n = asw_sched_add_node(s, GB);
    for (int k = 0; k < 4; k++)
        asw_sched_add_worker(s, n, 1);
    assert_int_equal(asw_sched_slot_acquire(s, 0, -1, 10), 1);
    assert_int_equal(asw_sched_slot_acquire(s, 1, -1, 10), 1);
    assert_int_equal(asw_sched_slot_acquire(s, 2, -1, 10), 0);
    assert_int_equal(asw_sched_slot_acquire(s, 3, -1, 10), 0);
    assert_int_equal(asw_sched_slot_acquire(s, 3, -1, 10), ASW_EINVAL);
    struct asw_sched_stats st;
    asw_sched_get_stats(s, &st);
    assert_int_equal(st.slots_in_use, 2);
    assert_int_equal(st.slots_waiting, 2);
    /* equal requests: in request order */
    assert_int_equal(asw_sched_slot_release(s, 1), 2);
    /* worker 3 gives up waiting */
    assert_int_equal(asw_sched_slot_release(s, 3), -1);
    assert_int_equal(asw_sched_slot_release(s, 0), -1);
    asw_sched_get_stats(s, &st);
    assert_int_equal(st.slots_in_use, 1);
    assert_int_equal(st.slots_waiting, 0);
    assert_int_equal(asw_sched_slot_release(s, 2), -1);
    asw_sched_get_stats(s, &st);
    assert_int_equal(st.slots_in_use, 0);
    asw_sched_free(s);

    /* 0: no cap */
    s = make(ASW_SCHED_LARGEST_FIRST, 3, 0);
    n = asw_sched_add_node(s, GB);
    for (int k = 0; k < 50; k++) {
        asw_sched_add_worker(s, n, 1);
        assert_int_equal(asw_sched_slot_acquire(s, k, -1, -1), 1);
    }
    asw_sched_free(s);
}

/* A round at the start: each worker gets two units, the smaller first;
 * the scheduler's idea of what each worker processes next follows. Later
 * a worker that still holds a unit gets its next one as it comes. */
static void round_order(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 1);
    int n = asw_sched_add_node(s, 100 * GB);
    asw_sched_add_worker(s, n, 2);
    asw_sched_add_worker(s, n, 2);
    for (int i = 0; i < 6; i++)
        asw_sched_add_unit(s, 100 - 10 * i, GB, 0);
    struct asw_sched_decision d[8];
    size_t k = 0;
    while (asw_sched_next(s, 0, &d[k]) != ASW_SCHED_IDLE)
        k++;
    assert_int_equal(k, 4);
    /* largest first: w0 0, w1 1, w0 2, w1 3 */
    assert_int_equal(d[0].unit, 0);
    assert_int_equal(d[2].unit, 2);
    asw_sched_order_round(s, d, k);
    assert_int_equal(d[0].worker, 0);
    assert_int_equal(d[0].unit, 2);
    assert_int_equal(d[1].worker, 1);
    assert_int_equal(d[1].unit, 3);
    assert_int_equal(d[2].unit, 0);
    assert_int_equal(d[3].unit, 1);
    /* unit 2 is what worker 0 waits for now: its request goes first */
    assert_int_equal(asw_sched_slot_acquire(s, 1, 3, 100), 1);
    assert_int_equal(asw_sched_slot_acquire(s, 0, 0, 1), 0);
    assert_int_equal(asw_sched_slot_release(s, 0), -1);
    assert_int_equal(asw_sched_slot_acquire(s, 0, 2, 100), 0);
    assert_int_equal(asw_sched_slot_release(s, 1), 0);
    assert_int_equal(asw_sched_slot_release(s, 0), -1);
    /* worker 0 ends unit 2 and gets unit 4: alone in its round, after 0 */
    asw_sched_result(s, 2, 1, ASW_ST_DONE, "");
    assert_int_equal(asw_sched_next(s, 1, &d[0]), ASW_SCHED_ASSIGN);
    assert_int_equal(d[0].unit, 4);
    asw_sched_order_round(s, d, 1);
    assert_int_equal(d[0].unit, 4);
    assert_int_equal(asw_sched_slot_acquire(s, 1, 1, 100), 1);
    assert_int_equal(asw_sched_slot_acquire(s, 0, 4, 1), 0);
    assert_int_equal(asw_sched_slot_release(s, 0), -1);
    assert_int_equal(asw_sched_slot_acquire(s, 0, 0, 100), 0);
    /* worker 0's oldest is unit 0 now: urgent before nothing else */
    assert_int_equal(asw_sched_slot_release(s, 1), 0);
    asw_sched_free(s);
}

/* One slot, three waiting requests: the worker that waits for the file of
 * the unit it processes next goes first, before a prefetch; among
 * prefetches the smaller file first; a prefetch becomes urgent once the
 * unit before it is over. */
static void slot_priority(void **state)
{
    (void)state;
    struct asw_sched *s = make(ASW_SCHED_LARGEST_FIRST, 3, 1);
    int n = asw_sched_add_node(s, 100 * GB);
    for (int k = 0; k < 4; k++)
        asw_sched_add_worker(s, n, 2);
    int u[8];
    for (int i = 0; i < 8; i++)
        u[i] = asw_sched_add_unit(s, 100 - i, GB, 0);
    int held[4][2];
    for (int k = 0; k < 8; k++) {
        struct asw_sched_decision d;
        assert_int_equal(asw_sched_next(s, 0, &d), ASW_SCHED_ASSIGN);
        held[d.worker][asw_sched_worker_held(s, d.worker) - 1] = d.unit;
    }
    (void)u;
    /* worker 0 downloads its first unit */
    assert_int_equal(asw_sched_slot_acquire(s, 0, held[0][0], 500), 1);
    /* a big prefetch, a small prefetch, a worker waiting for its first */
    assert_int_equal(asw_sched_slot_acquire(s, 1, held[1][1], 900), 0);
    assert_int_equal(asw_sched_slot_acquire(s, 2, held[2][1], 100), 0);
    assert_int_equal(asw_sched_slot_acquire(s, 3, held[3][0], 800), 0);
    assert_int_equal(asw_sched_slot_release(s, 0), 3);
    assert_int_equal(asw_sched_slot_release(s, 3), 2);
    /* worker 1's first unit ends: its prefetch is what it waits for now,
     * and goes before worker 0's new, smaller prefetch */
    assert_int_equal(asw_sched_slot_acquire(s, 0, held[0][1], 10), 0);
    assert_int_equal(asw_sched_result(s, held[1][0], 1, ASW_ST_DONE, ""),
                     ASW_SCHED_DONE);
    assert_int_equal(asw_sched_slot_release(s, 2), 1);
    assert_int_equal(asw_sched_slot_release(s, 1), 0);
    asw_sched_free(s);
}

/* Random events on 3 nodes: the budget of a node is never exceeded, no
 * unit is held twice, attempts stay within the limit, and everything
 * ends in a final state. */
static void random_invariants(void **state)
{
    (void)state;
    unsigned seed = 12345;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff)
    for (int round = 0; round < 20; round++) {
        struct asw_sched *s =
            make(round % 2 ? ASW_SCHED_FIFO : ASW_SCHED_LARGEST_FIRST, 3, 3);
        int64_t budget[3] = {10 * GB, 16 * GB, 7 * GB};
        for (int k = 0; k < 3; k++)
            asw_sched_add_node(s, budget[k]);
        int nw = 7;
        for (int k = 0; k < nw; k++)
            asw_sched_add_worker(s, k % 3, 1 + k % 3);
        int nu = 60;
        for (int i = 0; i < nu; i++) {
            int64_t need = (1 + RND() % 80) * GB / 10;
            asw_sched_add_unit(s, need, need, 0);
        }
        int held[64];
        int nh = 0;
        double t = 0;
        for (int step = 0; step < 5000 && !asw_sched_finished(s); step++) {
            struct asw_sched_decision d;
            while (asw_sched_next(s, t, &d) != ASW_SCHED_IDLE) {
                if (d.action == ASW_SCHED_REJECT)
                    continue;
                for (int k = 0; k < nh; k++)
                    assert_int_not_equal(held[k], d.unit);
                assert_true(nh < 64);
                held[nh++] = d.unit;
                assert_true(asw_sched_worker_held(s, d.worker) <=
                            1 + d.worker % 3);
                for (int k = 0; k < 3; k++)
                    assert_true(asw_sched_node_used(s, k) <= budget[k]);
            }
            if (nh) {
                int k = (int)(RND() % (unsigned)nh);
                int u = held[k];
                held[k] = held[--nh];
                int r = (int)(RND() % 10);
                enum asw_status st = r < 6   ? ASW_ST_DONE
                                     : r < 9 ? ASW_ST_FAILED
                                             : ASW_ST_INTERRUPTED;
                asw_sched_result(s, u, t, st,
                                 r == 8 ? "download:ENOTFOUND:x"
                                        : "download:ENET:x");
                assert_true(asw_sched_unit_attempts(s, u) <= 3);
            }
            t += 0.5 + (RND() % 100) / 10.0;
        }
        assert_true(asw_sched_finished(s));
        struct asw_sched_stats st;
        asw_sched_get_stats(s, &st);
        assert_int_equal(st.done + st.failed, (size_t)nu);
        for (int k = 0; k < 3; k++)
            assert_int_equal(asw_sched_node_used(s, k), 0);
        asw_sched_free(s);
    }
#undef RND
}

/* [scheduler] and the progress keys of [run] (src/config_sched.c). */
static void config_keys(void **state)
{
    (void)state;
    struct asw_config c;
    struct asw_err err = {0};
    const char *base = "[archive]\nmirrors = http://x\n";
    char text[1024];
    assert_int_equal(asw_config_parse(base, "t.ini", &c, &err), 0);
    assert_int_equal(c.sched.prefetch, 1);
    assert_int_equal(c.sched.download_slots, 8);
    assert_int_equal(c.sched.fifo, 0);
    assert_int_equal(c.sched.master_works, 0);
    assert_true(c.sched.scratch_budget == 0);
    assert_int_equal(c.sched.on_signal, ASW_ON_SIGNAL_ABORT);
    assert_int_equal(c.sched.progress, ASW_PROGRESS_AUTO);
    assert_null(c.sched.trace);
    asw_config_free(&c);
    snprintf(text, sizeof text,
             "%s[scheduler]\norder = fifo\nprefetch = 2\n"
             "scratch_budget = 3G\ndownload_slots = 0\nmaster_works = yes\n"
             "trace = t.jsonl\nretry_backoff = 0.5\nretry_backoff_max = 4\n"
             "max_crashes = 1\nreserve_after = 0\non_signal = drain\n"
             "[run]\nprogress = log\nprogress_interval = 2.5\n",
             base);
    assert_int_equal(asw_config_parse(text, "t.ini", &c, &err), 0);
    assert_int_equal(c.sched.fifo, 1);
    assert_int_equal(c.sched.prefetch, 2);
    assert_true(c.sched.scratch_budget == 3LL << 30);
    assert_int_equal(c.sched.download_slots, 0);
    assert_int_equal(c.sched.master_works, 1);
    assert_string_equal(c.sched.trace, "t.jsonl");
    assert_true(c.sched.retry_backoff_s == 0.5);
    assert_true(c.sched.retry_backoff_max_s == 4);
    assert_int_equal(c.sched.max_crashes, 1);
    assert_true(c.sched.reserve_after_s == 0);
    assert_int_equal(c.sched.on_signal, ASW_ON_SIGNAL_DRAIN);
    assert_int_equal(c.sched.progress, ASW_PROGRESS_LOG);
    assert_true(c.sched.progress_s == 2.5);
    asw_config_free(&c);
    static const char *const bad[] = {
        "[scheduler]\nprefetch = 3\n",
        "[scheduler]\norder = smallest\n",
        "[scheduler]\nscratch_budget = 10X\n",
        "[scheduler]\ndownload_slots = -1\n",
        "[scheduler]\nmax_crashes = 0\n",
        "[scheduler]\non_signal = ignore\n",
        "[scheduler]\nnot_a_key = 1\n",
        "[run]\nprogress = loud\n",
        "[run]\nprogress_interval = 0\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(text, sizeof text, "%s%s", base, bad[i]);
        assert_int_equal(asw_config_parse(text, "t.ini", &c, &err),
                         ASW_ECONFIG);
    }
}

static void progress_line(void **state)
{
    (void)state;
    struct asw_progress *p;
    struct asw_progress_opts o = {0, 10, stderr};
    char line[256];
    /* 10 units of 100 MB, 2 done before, 3 ranks */
    assert_int_equal(asw_progress_new(10, 1000000000, 3, &o, 100, &p), 0);
    asw_progress_skipped(p, 2, 200000000);
    asw_progress_line(p, 100, line, sizeof line);
    assert_non_null(strstr(line, "units 2/10 (20.0%) done"));
    assert_non_null(strstr(line, "ETA --"));
    asw_progress_result(p, 1, ASW_ST_DONE, 1, 100000000, 100 << 20, 5, 5);
    asw_progress_result(p, 2, ASW_ST_FAILED, 0, 100000000, 0, 1, 0);
    asw_progress_result(p, 2, ASW_ST_FAILED, 1, 100000000, 0, 1, 0);
    /* 200 MB finished in 20 s: 600 MB left -> 60 s */
    asw_progress_line(p, 120, line, sizeof line);
    assert_non_null(strstr(line, "units 4/10 (40.0%) done, 1 failed, "
                                 "1 retries"));
    assert_non_null(strstr(line, "100.0 MiB at 5.0 MiB/s"));
    assert_non_null(strstr(line, "ETA 1m00s"));
    /* log lines only every interval */
    assert_int_equal(asw_progress_tick(p, 105), 0);
    assert_int_equal(asw_progress_tick(p, 111), 1);
    assert_int_equal(asw_progress_tick(p, 112), 0);
    asw_progress_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_params),
        cmocka_unit_test(largest_first),
        cmocka_unit_test(fifo),
        cmocka_unit_test(node_budget),
        cmocka_unit_test(two_nodes),
        cmocka_unit_test(prefetch_depth),
        cmocka_unit_test(reservation),
        cmocka_unit_test(reject_unfit),
        cmocka_unit_test(retries_backoff),
        cmocka_unit_test(retry_any_worker),
        cmocka_unit_test(permanent_and_crash),
        cmocka_unit_test(classify),
        cmocka_unit_test(stop_interrupt),
        cmocka_unit_test(download_slots),
        cmocka_unit_test(slot_priority),
        cmocka_unit_test(round_order),
        cmocka_unit_test(random_invariants),
        cmocka_unit_test(config_keys),
        cmocka_unit_test(progress_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
