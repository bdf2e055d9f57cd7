/*
 * The flux service client (io/flux.c) against the archive simulator's
 * /sc/flux, checked against the generator's truth: for every calibrator
 * image of the demo archive, the catalogue flux at the image's date and
 * frequency is the image's true flux; the two reference answers of the
 * protocol notes come back exactly; an unknown source has no flux.
 * Needs ASW_BUILD_DIR (asw-gen, asw-sim); skipped without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "io/flux.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char work[2048], url[128];
static pid_t sim_pid = -1;
static json_t *truth;

static int up(void **state)
{
    (void)state;
    const char *build = getenv("ASW_BUILD_DIR");
    if (!build)
        return 0; /* the tests skip */
    snprintf(work, sizeof work, "%s/test-work/flux-sim", build);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && mkdir -p '%s' && '%s/tests/gen/asw-gen' --out "
             "'%s/archive' --preset demo --seed 1 --npix 32 >/dev/null",
             work, work, build, work);
    if (system(cmd) != 0)
        return -1;
    char port_file[2100], root[2100], log[2100], exe[2100];
    snprintf(port_file, sizeof port_file, "%s/sim.port", work);
    snprintf(root, sizeof root, "%s/archive", work);
    snprintf(log, sizeof log, "%s/sim.log", work);
    snprintf(exe, sizeof exe, "%s/tests/sim/asw-sim", build);
    sim_pid = fork();
    if (sim_pid == 0) {
        execl(exe, exe, "--root", root, "--port", "0", "--port-file", port_file,
              "--log", log, "--exit-with-parent", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(port_file, "r");
        unsigned port = 0;
        if (f && fscanf(f, "%u", &port) == 1 && port) {
            fclose(f);
            snprintf(url, sizeof url, "http://127.0.0.1:%u/sc/flux", port);
            break;
        }
        if (f)
            fclose(f);
        usleep(100000);
    }
    if (!url[0])
        return -1;
    char tpath[2100];
    snprintf(tpath, sizeof tpath, "%s/archive/truth.json", work);
    truth = json_load_file(tpath, 0, NULL);
    return truth ? 0 : -1;
}

static int down(void **state)
{
    (void)state;
    if (sim_pid > 0) {
        kill(sim_pid, SIGTERM);
        waitpid(sim_pid, NULL, 0);
    }
    json_decref(truth);
    return 0;
}

static void every_image(void **state)
{
    (void)state;
    if (!truth)
        skip();
    const char *urls[] = {url};
    json_t *images = json_object_get(truth, "images");
    size_t i, n = 0;
    json_t *im;
    json_array_foreach(images, i, im)
    {
        const char *src = json_string_value(json_object_get(im, "source"));
        double mjd = json_real_value(json_object_get(im, "mjd"));
        double f_hz = json_real_value(json_object_get(im, "freq_hz"));
        double flux = json_real_value(json_object_get(im, "flux_jy"));
        struct asw_flux f;
        struct asw_err err = {0};
        if (asw_flux_query(urls, 1, src, mjd, f_hz, 0, &f, &err))
            fail_msg("%s at MJD %.3f, %.4g Hz: %s", src, mjd, f_hz, err.msg);
        if (!(fabs(f.flux_jy - flux) <= 1e-9 * flux))
            fail_msg("%s: catalogue %.10g Jy, truth %.10g Jy", src, f.flux_jy,
                     flux);
        /* Measured on the image's date: age within the day asked for. */
        assert_true(f.age_days <= 0 && f.age_days > -1);
        assert_int_equal(f.status_code, ASW_FLUX_GRID_CAL);
        assert_string_equal(f.source, src);
        assert_true(f.available);
        n++;
    }
    assert_true(n >= 60);
}

static void reference_answers(void **state)
{
    (void)state;
    if (!truth)
        skip();
    const char *urls[] = {url};
    struct asw_flux f;
    struct asw_err err = {0};
    /* Protocol notes, section 4: J1427-4206, 27-March-2013, 86.84 GHz. */
    assert_int_equal(asw_flux_query(urls, 1, "J1427-4206", 56378.0,
                                    86837309056.16922, 0, &f, &err),
                     0);
    assert_int_equal(f.status_code, 1);
    assert_true(fabs(f.flux_jy - 7.7245) < 5e-5);
    assert_true(fabs(f.spix - -0.3597) < 5e-5);
    assert_true(f.age_days == 27);
    assert_string_equal(f.data_conditions, "9001");
    assert_string_equal(f.date, "27-March-2013");
    /* J1957-3845, 14-August-2023, 224 GHz. */
    assert_int_equal(asw_flux_query(urls, 1, "J1957-3845", 60170.4,
                                    224000001907.34863, 0, &f, &err),
                     0);
    assert_int_equal(f.status_code, 0);
    assert_true(fabs(f.flux_jy - 1.3490) < 5e-5);
    assert_true(fabs(f.spix - -0.6812) < 5e-5);
    assert_true(f.age_days == -3);
    assert_string_equal(f.data_conditions, "5111");
    /* Far from any measurement: a fallback outside the window, with a
     * clarification. */
    assert_int_equal(
        asw_flux_query(urls, 1, "J1924-2914", 57000.0, 1e11, 0, &f, &err), 0);
    assert_int_equal(f.status_code, 3);
    assert_non_null(strstr(f.clarification, "outside"));
    /* No such source: StatusCode 4, no flux. */
    assert_int_equal(
        asw_flux_query(urls, 1, "J0000+0000", 56378.0, 1e11, 0, &f, &err),
        ASW_ENOTFOUND);
    assert_int_equal(f.status_code, 4);
    assert_false(f.available);
    assert_non_null(strstr(err.msg, "no measurement of J0000+0000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_image),
        cmocka_unit_test(reference_answers),
    };
    return cmocka_run_group_tests(tests, up, down);
}
