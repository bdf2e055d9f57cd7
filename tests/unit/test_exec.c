/* Unit tests: a rank's executor (mpi/exec.c) without MPI: units through
 * the fetch and process threads, download-slot events, an abort that
 * stops a processing child, and the cost-model stand-in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobs/pipeline.h"
#include "jobs/spawn.h"
#include "mpi/costmodel.h"
#include "mpi/exec.h"
#include "mpi/signals.h"
#include "src/config.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char scratch[256];

static void load_config(struct asw_config *cfg)
{
    char text[512];
    snprintf(scratch, sizeof scratch, "/tmp/asw-test-exec-%d", (int)getpid());
    snprintf(text, sizeof text,
             "[archive]\nmirrors = http://127.0.0.1:1\n"
             "[scratch]\ndir = %s\nreserve = 0\n"
             "[download]\nretries = 0\nconnect_timeout = 2\n",
             scratch);
    struct asw_err err = {0};
    assert_int_equal(asw_config_parse(text, "t.ini", cfg, &err), 0);
}

static void make_unit(struct asw_unit *u, const char *id, const char *file)
{
    memset(u, 0, sizeof *u);
    snprintf(u->id, sizeof u->id, "%s", id);
    u->kind = ASW_UNIT_MOUS_PRODUCTS;
    if (file)
        assert_int_equal(asw_unit_add_file(u, file,
                                           "http://127.0.0.1:1/dataPortal/x",
                                           1000, "#this"),
                         0);
}

/* Wait up to max_s for an event. */
static int next_event(struct asw_exec *x, struct asw_exec_event *ev,
                      double max_s)
{
    double t0 = now_s();
    while (now_s() - t0 < max_s) {
        if (asw_exec_poll(x, ev))
            return 1;
        asw_exec_wait(x, 0.05);
    }
    return 0;
}

/* A backend that sleeps in a child process (as CASA runs). */
static int child_process(const struct asw_job *job, struct asw_result *res,
                         struct asw_err *err)
{
    (void)res;
    char *const argv[] = {"sleep", "30", NULL};
    struct asw_spawn_opts o = {.argv = argv, .cwd = job->unit_dir};
    struct asw_spawn_result r;
    int rc = asw_spawn_run(&o, &r, err);
    if (rc)
        return rc;
    char how[128];
    asw_spawn_describe(&r, &o, how, sizeof how);
    return r.status == ASW_SPAWN_EXITED && r.exit_code == 0
               ? 0
               : asw_err_set(err, ASW_ECHILD, "test", "child %s", how);
}

static const struct asw_backend sleeper = {"sleeper", NULL, child_process};

static int quick_process(const struct asw_job *job, struct asw_result *res,
                         struct asw_err *err)
{
    (void)job;
    (void)err;
    res->t_process_s = 0.001;
    return 0;
}

static const struct asw_backend quick = {"quick", NULL, quick_process};

/* A unit without files goes through both threads and comes back done; a
 * unit whose download fails comes back failed, after a slot request that
 * waited for the grant and its release. */
static void units_and_slots(void **state)
{
    (void)state;
    struct asw_config cfg;
    load_config(&cfg);
    struct asw_exec *x;
    assert_int_equal(asw_exec_new(&cfg, 3, 1, &quick, &x), 0);
    struct asw_unit u;
    make_unit(&u, "uid___A001_X1_X1", NULL);
    assert_int_equal(asw_exec_push(x, &u), 0);
    assert_string_equal(u.id, ""); /* moved */
    make_unit(&u, "uid___A001_X1_X2", "member.x.fits");
    assert_int_equal(asw_exec_push(x, &u), 0);
    assert_int_equal(asw_exec_held(x), 2);

    struct asw_exec_event ev;
    int done = 0, wanted = 0, released = 0, failed = 0;
    double t0 = now_s();
    while ((done + failed < 2) && now_s() - t0 < 20) {
        if (!next_event(x, &ev, 1))
            continue;
        switch (ev.type) {
        case ASW_EXEC_SLOT_WANT:
            wanted++;
            assert_string_equal(ev.unit_id, "uid___A001_X1_X2");
            assert_string_equal(ev.file, "member.x.fits");
            assert_true(ev.bytes == 1000);
            assert_int_equal(asw_exec_wants_slot(x), 1);
            asw_exec_grant(x);
            break;
        case ASW_EXEC_SLOT_DONE:
            released++;
            assert_int_not_equal(ev.rc, 0);
            break;
        case ASW_EXEC_RESULT:
            if (strcmp(ev.unit_id, "uid___A001_X1_X1") == 0) {
                assert_int_equal(ev.res.status, ASW_ST_DONE);
                assert_int_equal(ev.res.rank, 3);
                done++;
            } else {
                assert_int_equal(ev.res.status, ASW_ST_FAILED);
                assert_non_null(strstr(ev.res.error, "download:ENET"));
                failed++;
            }
            asw_result_clear(&ev.res);
            break;
        }
    }
    assert_int_equal(done, 1);
    assert_int_equal(failed, 1);
    assert_int_equal(wanted, 1);
    assert_int_equal(released, 1);
    assert_int_equal(asw_exec_held(x), 0);
    asw_exec_free(x);
    asw_config_free(&cfg);
}

/* An abort stops the processing child (its own process group) at once:
 * the unit comes back interrupted, not failed, long before the child's
 * 30 s; a unit queued behind it comes back interrupted untouched. */
static void abort_stops_child(void **state)
{
    (void)state;
    struct asw_config cfg;
    load_config(&cfg);
    struct asw_exec *x;
    assert_int_equal(asw_exec_new(&cfg, 1, 0, &sleeper, &x), 0);
    struct asw_unit u;
    make_unit(&u, "uid___A001_X2_X1", NULL);
    asw_exec_push(x, &u);
    make_unit(&u, "uid___A001_X2_X2", NULL);
    asw_exec_push(x, &u);
    /* wait until the child runs */
    int seen = 0;
    for (int i = 0; i < 100 && !seen; i++) {
        usleep(50000);
        seen = system("pgrep -x -P $PPID sleep >/dev/null 2>&1") == 0 || i > 20;
    }
    double t0 = now_s();
    asw_exec_abort(x);
    asw_exec_abort(x); /* idempotent */
    assert_int_equal(asw_exec_stopping(), 1);
    struct asw_exec_event ev;
    int n = 0;
    while (n < 2 && next_event(x, &ev, 15)) {
        assert_int_equal(ev.type, ASW_EXEC_RESULT);
        assert_int_equal(ev.res.status, ASW_ST_INTERRUPTED);
        assert_non_null(strstr(ev.res.error, "EINTR"));
        asw_result_clear(&ev.res);
        n++;
    }
    assert_int_equal(n, 2);
    assert_true(now_s() - t0 < 10);
    asw_exec_free(x);
    asw_config_free(&cfg);
}

static void costmodel(void **state)
{
    (void)state;
    unsetenv("ASW_BENCH_COST");
    assert_null(asw_costmodel_backend());
    assert_true(asw_costmodel_seconds("u", 1000000000) < 0);
    setenv("ASW_BENCH_COST", "10,0.2", 1);
    assert_non_null(asw_costmodel_backend());
    double a = asw_costmodel_seconds("uid___A001_X1_X1", 1000000000);
    double b = asw_costmodel_seconds("uid___A001_X1_X2", 1000000000);
    assert_true(a >= 8 && a <= 12 && b >= 8 && b <= 12 && a != b);
    /* fixed per unit */
    assert_true(a == asw_costmodel_seconds("uid___A001_X1_X1", 1000000000));
    assert_true(asw_costmodel_seconds("uid___A001_X1_X1", 500000000) == a / 2);
    setenv("ASW_BENCH_COST", "-1", 1);
    assert_null(asw_costmodel_backend());
    unsetenv("ASW_BENCH_COST");
}

static int cleanup(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", scratch);
    return system(cmd) == 0 ? 0 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(costmodel),
        cmocka_unit_test(units_and_slots),
        cmocka_unit_test(abort_stops_child),
    };
    return cmocka_run_group_tests(tests, NULL, cleanup);
}
