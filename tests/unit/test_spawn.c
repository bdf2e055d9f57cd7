/*
 * test_spawn.c - the subprocess runner (jobs/spawn.c): launcher templates,
 * the scrubbed environment, exit codes, signals, the wall-time limit that
 * kills the whole process group (also a child that ignores SIGTERM and a
 * grandchild it left behind), output files, cwd and the pid file. The
 * children are /usr/bin/python3 one-liners (argv arrays, no shell).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jobs/spawn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testdir.h"

#define PY "/usr/bin/python3"

static char root[256];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(asw_testdir_make(root, sizeof root, "asw_spawn"), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    asw_testdir_remove(root);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void path_in_root(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", root, name);
}

/* Run python3 -c code with opts; returns the result. */
static struct asw_spawn_result run_py(const char *code, double limit,
                                      char *const *envp, const char *cwd,
                                      const char *outname)
{
    char out[512], pid[512];
    path_in_root(out, sizeof out, outname);
    path_in_root(pid, sizeof pid, "child.pid");
    char *argv[] = {PY, "-c", (char *)code, NULL};
    struct asw_spawn_opts o = {.argv = argv,
                               .envp = envp,
                               .cwd = cwd,
                               .stdout_path = out,
                               .pid_path = pid,
                               .time_limit_s = limit,
                               .term_grace_s = 0.5};
    struct asw_spawn_result r;
    struct asw_err err = {0};
    assert_int_equal(asw_spawn_run(&o, &r, &err), 0);
    return r;
}

static void template_words_and_placeholders(void **state)
{
    (void)state;
    const struct asw_template_var vars[] = {
        {"python", "/opt/casa venv/bin/python"},
        {"script", "/scratch/u 1/step's \"x\".py"},
        {"n", "4"},
    };
    char **argv = NULL;
    struct asw_err err = {0};
    assert_int_equal(asw_argv_from_template(
                         "  {python}\t-m casashell --nologger -c {script} ",
                         vars, 3, &argv, &err),
                     0);
    assert_string_equal(argv[0], "/opt/casa venv/bin/python");
    assert_string_equal(argv[1], "-m");
    assert_string_equal(argv[2], "casashell");
    assert_string_equal(argv[3], "--nologger");
    assert_string_equal(argv[4], "-c");
    /* A value stays one argv element, spaces and quotes included. */
    assert_string_equal(argv[5], "/scratch/u 1/step's \"x\".py");
    assert_null(argv[6]);
    asw_argv_free(argv);

    assert_int_equal(
        asw_argv_from_template("mpicasa -n {n} casa --agg -c {script} x{{y}}z",
                               vars, 3, &argv, &err),
        0);
    assert_string_equal(argv[2], "4");
    assert_string_equal(argv[7], "x{y}z");
    asw_argv_free(argv);

    assert_int_equal(
        asw_argv_from_template("{python} {nope}", vars, 3, &argv, &err),
        ASW_ECONFIG);
    assert_non_null(strstr(err.msg, "{nope}"));
    assert_null(argv);
    assert_int_equal(asw_argv_from_template("{python", vars, 3, &argv, &err),
                     ASW_ECONFIG);
    assert_int_equal(asw_argv_from_template("a}b", vars, 3, &argv, &err),
                     ASW_ECONFIG);
    assert_int_equal(asw_argv_from_template(" \t ", vars, 3, &argv, &err),
                     ASW_ECONFIG);
}

static void env_scrub_set_unset(void **state)
{
    (void)state;
    char *src[] = {"PATH=/usr/bin",
                   "OMPI_COMM_WORLD_RANK=1",
                   "OMPI_MCA_ess_base_jobid=42",
                   "PMIX_RANK=1",
                   "PMI_SIZE=2",
                   "OMPI_ALLOW_RUN_AS_ROOT=1",
                   "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                   "HYDRA_CONTROL_FD=3",
                   "OMPIX=kept",
                   "HOME=/root",
                   NULL};
    struct asw_env e;
    assert_int_equal(asw_env_init(&e, src, 1), 0);
    assert_string_equal(asw_env_get(&e, "PATH"), "/usr/bin");
    assert_string_equal(asw_env_get(&e, "OMPI_ALLOW_RUN_AS_ROOT"), "1");
    assert_string_equal(asw_env_get(&e, "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"), "1");
    assert_string_equal(asw_env_get(&e, "OMPIX"), "kept");
    assert_null(asw_env_get(&e, "OMPI_COMM_WORLD_RANK"));
    assert_null(asw_env_get(&e, "OMPI_MCA_ess_base_jobid"));
    assert_null(asw_env_get(&e, "PMIX_RANK"));
    assert_null(asw_env_get(&e, "PMI_SIZE"));
    assert_null(asw_env_get(&e, "HYDRA_CONTROL_FD"));
    assert_int_equal(e.n, 5);
    assert_null(e.v[e.n]);
    assert_int_equal(asw_env_set(&e, "HOME", "/scratch/home"), 0);
    assert_string_equal(asw_env_get(&e, "HOME"), "/scratch/home");
    assert_int_equal(asw_env_set(&e, "NEW", "v=w"), 0);
    assert_string_equal(asw_env_get(&e, "NEW"), "v=w");
    assert_int_equal(asw_env_set(&e, "BAD=NAME", "x"), ASW_EINVAL);
    asw_env_unset(&e, "PATH");
    assert_null(asw_env_get(&e, "PATH"));
    assert_int_equal(e.n, 5);
    assert_null(e.v[e.n]);
    asw_env_free(&e);

    /* Without scrubbing everything stays. */
    assert_int_equal(asw_env_init(&e, src, 0), 0);
    assert_int_equal(e.n, 10);
    asw_env_free(&e);
    asw_env_free(NULL);
}

static void exit_code_output_cwd_env(void **state)
{
    (void)state;
    char *src[] = {"PATH=/usr/bin:/bin", "OMPI_COMM_WORLD_RANK=3",
                   "PMIX_NAMESPACE=x", "ASW_T=visible", NULL};
    struct asw_env e;
    assert_int_equal(asw_env_init(&e, src, 1), 0);
    struct asw_spawn_result r =
        run_py("import os, sys\n"
               "print(os.getcwd())\n"
               "print(os.environ.get('ASW_T'), os.environ.get('OMPI_COMM_WORLD_"
               "RANK'), os.environ.get('PMIX_NAMESPACE'))\n"
               "print('to stderr', file=sys.stderr)\n"
               "sys.exit(3)\n",
               10, e.v, root, "out.txt");
    asw_env_free(&e);
    assert_int_equal(r.status, ASW_SPAWN_EXITED);
    assert_int_equal(r.exit_code, 3);
    char out[512];
    path_in_root(out, sizeof out, "out.txt");
    char *text = slurp(out);
    assert_non_null(text);
    char real[4096];
    assert_non_null(realpath(root, real));
    assert_non_null(strstr(text, real));
    assert_non_null(strstr(text, "visible None None"));
    /* stderr went to the same file (no stderr_path). */
    assert_non_null(strstr(text, "to stderr"));
    free(text);
    /* The pid file names the child. */
    path_in_root(out, sizeof out, "child.pid");
    text = slurp(out);
    assert_non_null(text);
    assert_int_equal(atol(text), (long)r.pid);
    free(text);
    char buf[128];
    assert_string_equal(asw_spawn_describe(&r, NULL, buf, sizeof buf),
                        "exit 3");
}

static void separate_stderr(void **state)
{
    (void)state;
    char out[512], err_path[512];
    path_in_root(out, sizeof out, "o.txt");
    path_in_root(err_path, sizeof err_path, "e.txt");
    char *argv[] = {PY, "-c",
                    "import sys; print('OUT'); print('ERR', file=sys.stderr)",
                    NULL};
    struct asw_spawn_opts o = {
        .argv = argv, .stdout_path = out, .stderr_path = err_path};
    struct asw_spawn_result r;
    assert_int_equal(asw_spawn_run(&o, &r, NULL), 0);
    assert_int_equal(r.exit_code, 0);
    char *a = slurp(out), *b = slurp(err_path);
    assert_string_equal(a, "OUT\n");
    assert_string_equal(b, "ERR\n");
    free(a);
    free(b);
}

static void killed_by_signal(void **state)
{
    (void)state;
    struct asw_spawn_result r =
        run_py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 10,
               NULL, NULL, "sig.txt");
    assert_int_equal(r.status, ASW_SPAWN_SIGNALED);
    assert_int_equal(r.signal, SIGKILL);
    char buf[128];
    asw_spawn_describe(&r, NULL, buf, sizeof buf);
    assert_string_equal(buf, "killed by signal 9 (SIGKILL)");
}

static int alive(pid_t pid)
{
    /* Reparented to init and reaped, or still a zombie of init for a
     * moment: poll until it is gone. */
    for (int i = 0; i < 100; i++) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return 0;
        char path[64], st = 0;
        snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
        FILE *f = fopen(path, "r");
        if (f) {
            long p;
            char name[256];
            if (fscanf(f, "%ld %255s %c", &p, name, &st) != 3)
                st = 0;
            fclose(f);
        }
        if (st == 'Z')
            return 0;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    return 1;
}

static void timeout_kills_the_group(void **state)
{
    (void)state;
    char gpid[512], code[2048];
    path_in_root(gpid, sizeof gpid, "grandchild.pid");
    /* The child starts a grandchild in its group, records its pid, then
     * hangs. */
    snprintf(code, sizeof code,
             "import subprocess, time\n"
             "p = subprocess.Popen(['" PY "', '-c', 'import time; "
             "time.sleep(120)'])\n"
             "open('%s', 'w').write(str(p.pid))\n"
             "time.sleep(120)\n",
             gpid);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct asw_spawn_result r = run_py(code, 1.0, NULL, NULL, "hang.txt");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt =
        (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    assert_int_equal(r.status, ASW_SPAWN_TIMEOUT);
    assert_true(dt >= 1.0 && dt < 10.0);
    char *text = slurp(gpid);
    assert_non_null(text);
    pid_t g = (pid_t)atol(text);
    free(text);
    assert_true(g > 1);
    assert_false(alive(g));
    char buf[128];
    struct asw_spawn_opts o = {.time_limit_s = 1.0};
    asw_spawn_describe(&r, &o, buf, sizeof buf);
    assert_non_null(strstr(buf, "wall-time limit of 1 s"));
}

static void timeout_sigterm_ignored(void **state)
{
    (void)state;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct asw_spawn_result r =
        run_py("import signal, time\n"
               "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
               "time.sleep(120)\n",
               0.5, NULL, NULL, "ign.txt");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt =
        (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    assert_int_equal(r.status, ASW_SPAWN_TIMEOUT);
    /* SIGTERM ignored: SIGKILL after the 0.5 s grace. */
    assert_int_equal(r.signal, SIGKILL);
    assert_true(dt >= 1.0 && dt < 10.0);
}

static void no_timeout_when_fast(void **state)
{
    (void)state;
    struct asw_spawn_result r = run_py("pass", 30, NULL, NULL, "fast.txt");
    assert_int_equal(r.status, ASW_SPAWN_EXITED);
    assert_int_equal(r.exit_code, 0);
    assert_true(r.seconds < 30);
}

static void cannot_start(void **state)
{
    (void)state;
    char *argv[] = {"/nonexistent/almasweep-casa", NULL};
    struct asw_spawn_opts o = {.argv = argv};
    struct asw_spawn_result r;
    struct asw_err err = {0};
    assert_int_equal(asw_spawn_run(&o, &r, &err), ASW_ECHILD);
    assert_non_null(strstr(err.msg, "/nonexistent/almasweep-casa"));
    char *argv2[] = {"almasweep-no-such-program-in-path", NULL};
    o.argv = argv2;
    assert_int_equal(asw_spawn_run(&o, &r, &err), ASW_ECHILD);
    /* An unwritable log is named. */
    char *argv3[] = {PY, "-c", "pass", NULL};
    o.argv = argv3;
    o.stdout_path = "/nonexistent/dir/out.txt";
    assert_int_equal(asw_spawn_run(&o, &r, &err), ASW_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/out.txt"));
    o.stdout_path = NULL;
    o.cwd = "/nonexistent/dir";
    assert_int_equal(asw_spawn_run(&o, &r, &err), ASW_EINVAL);
}

/* A relative executable path means the caller's directory, even when the
 * child starts elsewhere. */
static void relative_program_with_cwd(void **state)
{
    (void)state;
    char link[512], here[4096];
    path_in_root(link, sizeof link, "py");
    assert_int_equal(symlink(PY, link), 0);
    assert_non_null(getcwd(here, sizeof here));
    assert_int_equal(chdir(root), 0);
    char *argv[] = {"./py", "-c", "import sys; sys.exit(7)", NULL};
    struct asw_spawn_opts o = {.argv = argv, .cwd = "/"};
    struct asw_spawn_result r;
    int rc = asw_spawn_run(&o, &r, NULL);
    assert_int_equal(chdir(here), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(r.exit_code, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(template_words_and_placeholders),
        cmocka_unit_test(env_scrub_set_unset),
        cmocka_unit_test(exit_code_output_cwd_env),
        cmocka_unit_test(separate_stderr),
        cmocka_unit_test(killed_by_signal),
        cmocka_unit_test(timeout_kills_the_group),
        cmocka_unit_test(timeout_sigterm_ignored),
        cmocka_unit_test(no_timeout_when_fast),
        cmocka_unit_test(cannot_start),
        cmocka_unit_test(relative_program_with_cwd),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
