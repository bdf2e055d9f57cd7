/*
 * test_casa.c - the pieces of the casa backend that need no CASA: the one
 * quoting function for Python string literals (checked by the real Python
 * parser with hostile input), the literal writer, the script templates
 * (every one parses as Python), image geometry and FFT sizes, the SEVERE
 * scan of CASA logs, file-name stems, and the [casa] configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jobs/casa.h"
#include "jobs/pyquote.h"
#include "jobs/spawn.h"
#include "src/buf.h"
#include "src/config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testdir.h"

#define PY "/usr/bin/python3"

static char root[256];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(asw_testdir_make(root, sizeof root, "asw_casa"), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    asw_testdir_remove(root);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Run python3 on a script file; returns its stdout (malloc'd) and exit. */
static char *run_python(const char *script_text, int *exit_code,
                        size_t *out_len)
{
    char script[512], out[512];
    snprintf(script, sizeof script, "%s/t.py", root);
    snprintf(out, sizeof out, "%s/t.out", root);
    write_text(script, script_text);
    char *argv[] = {PY, script, NULL};
    struct asw_spawn_opts o = {
        .argv = argv, .stdout_path = out, .time_limit_s = 30, .cwd = root};
    struct asw_spawn_result r;
    assert_int_equal(asw_spawn_run(&o, &r, NULL), 0);
    assert_int_equal(r.status, ASW_SPAWN_EXITED);
    *exit_code = r.exit_code;
    FILE *f = fopen(out, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    if (out_len)
        *out_len = n;
    return buf;
}

static const char *const hostile[] = {
    "J0000+0000'); import os; os.system('touch MARK')",
    "J0000+0000\"); import os; os.system(\"touch MARK\")",
    "J0000+0000'''); import os; os.system('''touch MARK')",
    "J0000+0000\"\"\"); import os; os.system(\"\"\"touch MARK\")",
    "x' + __import__('os').system('touch MARK') + '",
    "back\\slash\\' and \\\" and trailing\\",
    "\\N{BULLET} \\x41 \\u0041 \\101 {ASW} %s %(x)s #comment",
    "new\nline\r\n\ttab \x01\x1b[31m\x7f end",
    "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 \xe2\x80\xae rlo",
    "'\n__import__('os').system('touch MARK')\n'",
    "",
};

/* Every hostile string, quoted, is read back by Python as exactly its
 * bytes, and nothing it holds runs. */
static void quote_round_trip_in_python(void **state)
{
    (void)state;
    char mark[512];
    snprintf(mark, sizeof mark, "%s/pwned", root);
    struct asw_buf b;
    asw_buf_init(&b, 1 << 20);
    asw_buf_puts(&b, "import sys\nvals = []\n");
    size_t n = sizeof hostile / sizeof *hostile;
    for (size_t i = 0; i < n; i++) {
        /* MARK -> a marker file in the test directory. */
        char s[1024];
        const char *m = strstr(hostile[i], "MARK");
        if (m)
            snprintf(s, sizeof s, "%.*s%s%s", (int)(m - hostile[i]), hostile[i],
                     mark, m + 4);
        else
            snprintf(s, sizeof s, "%s", hostile[i]);
        struct asw_buf lit;
        asw_buf_init(&lit, 1 << 16);
        assert_int_equal(asw_py_quote_str(&lit, s, NULL), 0);
        /* One line of printable ASCII. */
        for (size_t k = 0; k < lit.len; k++)
            assert_true(lit.data[k] >= 0x20 && lit.data[k] < 0x7f);
        asw_buf_printf(&b, "vals.append(%s)\n", lit.data ? lit.data : "''");
        asw_buf_free(&lit);
    }
    asw_buf_puts(&b, "for v in vals:\n"
                     "    sys.stdout.buffer.write(v.encode('utf-8') + "
                     "b'\\0')\n");
    int code;
    size_t len;
    char *out = run_python(b.data, &code, &len);
    assert_int_equal(code, 0);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        char s[1024];
        const char *m = strstr(hostile[i], "MARK");
        if (m)
            snprintf(s, sizeof s, "%.*s%s%s", (int)(m - hostile[i]), hostile[i],
                     mark, m + 4);
        else
            snprintf(s, sizeof s, "%s", hostile[i]);
        assert_true(pos + strlen(s) < len + 1);
        assert_memory_equal(out + pos, s, strlen(s));
        assert_int_equal(out[pos + strlen(s)], '\0');
        pos += strlen(s) + 1;
    }
    assert_int_equal(pos, len);
    free(out);
    asw_buf_free(&b);
    struct stat st;
    assert_int_not_equal(stat(mark, &st), 0);
}

static void quote_rejects_nul_and_bad_utf8(void **state)
{
    (void)state;
    struct asw_buf b;
    asw_buf_init(&b, 1024);
    asw_buf_puts(&b, "keep");
    struct asw_err err = {0};
    assert_int_equal(asw_py_quote(&b, "a\0b", 3, &err), ASW_EINVAL);
    assert_non_null(strstr(err.msg, "NUL"));
    const char *bad[] = {
        "\xff",     "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xe4\xb8", "ok\x80",   "\xe0\x80\xaf"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(asw_py_quote_str(&b, bad[i], &err), ASW_EINVAL);
        assert_non_null(strstr(err.msg, "UTF-8"));
    }
    /* Rejected input leaves the buffer as it was. */
    assert_string_equal(b.data, "keep");
    /* Exact forms. */
    asw_buf_reset(&b);
    assert_int_equal(
        asw_py_quote_str(&b, "a'b\"c\\d\ne\x01\xc3\xa9\xf0\x9f\x98\x80", NULL),
        0);
    assert_string_equal(b.data, "'a\\'b\\\"c\\\\d\\ne\\x01\\u00e9\\U0001f600'");
    /* A cap on the buffer fails cleanly. */
    struct asw_buf small;
    asw_buf_init(&small, 8);
    assert_int_equal(asw_py_quote_str(&small, "0123456789", &err), ASW_ETOOBIG);
    assert_true(small.len == 0);
    asw_buf_free(&small);
    asw_buf_free(&b);
}

static void writer_nested_literal(void **state)
{
    (void)state;
    struct asw_buf b;
    asw_buf_init(&b, 1 << 16);
    struct asw_pywriter w;
    asw_pyw_init(&w, &b, NULL);
    asw_pyw_begin_dict(&w);
    asw_pyw_key(&w, "name");
    asw_pyw_str(&w, hostile[2]);
    asw_pyw_key(&w, "n");
    asw_pyw_int(&w, -42);
    asw_pyw_key(&w, "x");
    asw_pyw_double(&w, 2.0);
    asw_pyw_key(&w, "nan");
    asw_pyw_double(&w, NAN);
    asw_pyw_key(&w, "flags");
    asw_pyw_begin_list(&w);
    asw_pyw_bool(&w, 1);
    asw_pyw_bool(&w, 0);
    asw_pyw_none(&w);
    asw_pyw_begin_dict(&w);
    asw_pyw_key(&w, "k'ey");
    asw_pyw_double(&w, 0.1);
    asw_pyw_end_dict(&w);
    asw_pyw_end_list(&w);
    asw_pyw_key(&w, "empty");
    asw_pyw_begin_list(&w);
    asw_pyw_end_list(&w);
    asw_pyw_end_dict(&w);
    assert_int_equal(asw_pyw_finish(&w), 0);
    char script[8192];
    snprintf(script, sizeof script,
             "import json, math\n"
             "A = %s\n"
             "assert math.isnan(A.pop('nan'))\n"
             "assert isinstance(A['x'], float)\n"
             "print(json.dumps(A, sort_keys=True))\n",
             b.data);
    int code;
    char *out = run_python(script, &code, NULL);
    assert_int_equal(code, 0);
    assert_string_equal(out, "{\"empty\": [], \"flags\": [true, false, null, "
                             "{\"k'ey\": 0.1}], \"n\": -42, \"name\": "
                             "\"J0000+0000'''); import os; "
                             "os.system('''touch MARK')\", \"x\": 2.0}\n");
    free(out);

    /* Unbalanced and misuse are errors. */
    asw_buf_reset(&b);
    asw_pyw_init(&w, &b, NULL);
    asw_pyw_begin_dict(&w);
    assert_int_equal(asw_pyw_finish(&w), ASW_EINVAL);
    asw_pyw_init(&w, &b, NULL);
    asw_pyw_end_list(&w);
    assert_int_equal(asw_pyw_finish(&w), ASW_EINVAL);
    asw_pyw_init(&w, &b, NULL);
    asw_pyw_begin_list(&w);
    asw_pyw_str(&w, "nul\xff");
    asw_pyw_end_list(&w);
    assert_int_equal(asw_pyw_finish(&w), ASW_EINVAL);
    asw_buf_free(&b);
}

/* Every template, with parameters, is a Python program that parses; the
 * hostile names inside them stay data. */
static void templates_parse(void **state)
{
    (void)state;
    static const char *const steps[] = {
        "version", "import", "metadata",          "calibrate_builtin",
        "split",   "image",  "calibrate_restore", "calibrate_generate"};
    assert_non_null(asw_casa_template_find("common"));
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        struct asw_buf params, script;
        asw_buf_init(&params, 1 << 16);
        asw_buf_init(&script, 1 << 22);
        struct asw_pywriter w;
        asw_pyw_init(&w, &params, NULL);
        asw_pyw_begin_dict(&w);
        asw_pyw_key(&w, "step");
        asw_pyw_str(&w, steps[i]);
        asw_pyw_key(&w, "name");
        asw_pyw_str(&w, hostile[0]);
        asw_pyw_end_dict(&w);
        assert_int_equal(asw_pyw_finish(&w), 0);
        assert_int_equal(asw_casa_script(&script, steps[i], params.data, NULL),
                         0);
        assert_non_null(strstr(script.data, "\nASW = {"));
        assert_non_null(strstr(script.data, "_main(step)"));
        char py[1 << 16];
        char path[512];
        snprintf(path, sizeof path, "%s/step.py", root);
        write_text(path, script.data);
        snprintf(py, sizeof py,
                 "import ast\n"
                 "src = open('%s').read()\n"
                 "tree = ast.parse(src)\n"
                 "a = [n for n in tree.body if isinstance(n, ast.Assign) and "
                 "n.targets[0].id == 'ASW'][0]\n"
                 "d = ast.literal_eval(a.value)\n"
                 "print(d['name'])\n",
                 path);
        int code;
        char *out = run_python(py, &code, NULL);
        assert_int_equal(code, 0);
        char want[512];
        snprintf(want, sizeof want, "%s\n", hostile[0]);
        assert_string_equal(out, want);
        free(out);
        asw_buf_free(&params);
        asw_buf_free(&script);
    }
    struct asw_buf s;
    asw_buf_init(&s, 1024);
    struct asw_err err = {0};
    assert_int_equal(asw_casa_script(&s, "no-such-step", "{}", &err),
                     ASW_ENOTFOUND);
    asw_buf_free(&s);
}

static int smooth(int m)
{
    static const int p[] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++)
        while (m % p[i] == 0)
            m /= p[i];
    return m == 1;
}

static void fft_sizes(void **state)
{
    (void)state;
    assert_int_equal(asw_casa_fft_size(0), 2);
    assert_int_equal(asw_casa_fft_size(1), 2);
    assert_int_equal(asw_casa_fft_size(97), 98);
    assert_int_equal(asw_casa_fft_size(116), 120);
    assert_int_equal(asw_casa_fft_size(131), 140);
    assert_int_equal(asw_casa_fft_size(1025), 1050);
    assert_int_equal(asw_casa_fft_size(2048), 2048);
    for (int n = 1; n <= 5000; n++) {
        int m = asw_casa_fft_size(n);
        assert_true(m >= n && m % 2 == 0 && smooth(m));
        for (int k = (n + 1) / 2 * 2; k < m; k += 2)
            assert_false(smooth(k));
    }
}

static void geometry_rules(void **state)
{
    (void)state;
    struct asw_casa_geometry g;
    /* 100 GHz, sigma_uv 80 m (a uniform disk of radius 160 m), 12 m. */
    assert_int_equal(asw_casa_geometry(100e9, 100e9, 80.0, 12.0, 0.2, 1024, &g),
                     0);
    /* 2.3548 / (2 pi 80 / 2.998 mm) = 1.4045e-5 rad = 2.897 arcsec. */
    assert_true(fabs(g.beam_arcsec - 2.897) < 2e-3);
    assert_true(fabs(g.cell_arcsec - 0.57) < 1e-9);
    assert_true(fabs(g.pb_fwhm_arcsec - 58.23) < 0.01);
    /* 58.23" x 1.5223 / 0.57" = 155.5 -> 156 -> FFT size 160. */
    assert_int_equal(g.imsize, 160);
    /* The cap is the largest FFT size not above max_imsize. */
    assert_int_equal(asw_casa_geometry(100e9, 100e9, 80.0, 12.0, 0.2, 101, &g),
                     0);
    assert_int_equal(g.imsize, 100);
    /* Long baselines at high frequency: capped. */
    assert_int_equal(
        asw_casa_geometry(340e9, 350e9, 8000.0, 12.0, 0.2, 2048, &g), 0);
    assert_int_equal(g.imsize, 2048);
    assert_true(g.cell_arcsec > 0 && g.cell_arcsec < 0.005);
    /* The lowest frequency sets the field, the highest the cell. */
    struct asw_casa_geometry g2;
    assert_int_equal(asw_casa_geometry(50e9, 100e9, 80.0, 12.0, 0.2, 4096, &g2),
                     0);
    assert_true(fabs(g2.cell_arcsec - 0.57) < 1e-9);
    assert_true(fabs(g2.pb_fwhm_arcsec - 2 * 58.23) < 0.02);
    /* 7-m dishes see a larger field. */
    struct asw_casa_geometry g7;
    assert_int_equal(asw_casa_geometry(100e9, 100e9, 80.0, 7.0, 0.2, 4096, &g7),
                     0);
    assert_true(g7.imsize > 160);
    assert_int_equal(asw_casa_geometry(0, 1e9, 1, 12, 0.2, 100, &g),
                     ASW_EINVAL);
    assert_int_equal(asw_casa_geometry(1e9, 1e9, NAN, 12, 0.2, 100, &g),
                     ASW_EINVAL);
    assert_int_equal(asw_casa_geometry(2e9, 1e9, 10, 12, 0.2, 100, &g),
                     ASW_EINVAL);
}

static void severe_scan(void **state)
{
    (void)state;
    const char *log =
        "2026-11-21 06:07:34\tINFO\ttclean::::casa\tstarting\n"
        "2026-11-21 06:07:34\tSEVERE\tMeasTable::dUTC(Double) (file x, "
        "line 4290)\tLeap second table TAI_UTC seems out-of-date.\n"
        "2026-11-21 06:07:34\tSEVERE\tMeasTable::dUTC(Double) (file x, "
        "line 4290)+\tUntil the table is updated (see the CASA "
        "documentation or your system admin),\n"
        "2026-11-21 06:07:34\tSEVERE\tMeasTable::dUTC(Double) (file x, "
        "line 4290)+\ttimes and coordinates derived from UTC could be "
        "wrong by 1s or more.\n";
    char out[256];
    assert_int_equal(asw_casa_log_severe(log, strlen(log), out, sizeof out), 0);
    assert_string_equal(out, "");
    char both[2048];
    snprintf(both, sizeof both,
             "%s2026-11-21 06:07:35\tSEVERE\timportasdm::::casa\tThe ASDM "
             "is broken: Main.xml\r\n"
             "2026-11-21 06:07:36\tSEVERE\tx::y\tsecond\n",
             log);
    assert_int_equal(asw_casa_log_severe(both, strlen(both), out, sizeof out),
                     1);
    assert_string_equal(out, "The ASDM is broken: Main.xml");
    /* Truncated to the buffer. */
    assert_int_equal(asw_casa_log_severe(both, strlen(both), out, 8), 1);
    assert_string_equal(out, "The ASD");
}

static void name_stems(void **state)
{
    (void)state;
    char s[41];
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        asw_casa_name_stem(hostile[i], s, sizeof s);
        assert_true(strlen(s) > 0 && strlen(s) < sizeof s);
        for (const char *p = s; *p; p++)
            assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                   "opqrstuvwxyz0123456789+-_",
                                   *p));
    }
    asw_casa_name_stem("J1924-2914", s, sizeof s);
    assert_string_equal(s, "J1924-2914");
    asw_casa_name_stem("", s, sizeof s);
    assert_string_equal(s, "field");
    asw_casa_name_stem("a/b.c d", s, sizeof s);
    assert_string_equal(s, "a_b_c_d");
}

static void casa_config(void **state)
{
    (void)state;
    struct asw_config c;
    struct asw_err err = {0};
    const char *text =
        "[archive]\nmirrors = http://127.0.0.1:9\n"
        "[pipeline]\nmode = casa\n"
        "[casa]\n"
        "launcher = mpicasa -n {n} {casa} --nologger --nogui --agg -c "
        "{script}\n"
        "ranks = 4\n"
        "calibration = none\n"
        "tclean_modes = mfs, cube\n"
        "intents = bp ph\n"
        "weighting = briggs\n"
        "robust = -0.5\n"
        "selfcal = yes\n"
        "remove_asdm = true\n"
        "remove_intermediate = on\n"
        "remove_casa_images = 1\n"
        "step_time_limit = 90\n"
        "flux_csv = /data/flux.csv\n";
    assert_int_equal(asw_config_parse(text, "t.ini", &c, &err), 0);
    assert_string_equal(c.mode, "casa");
    assert_string_equal(c.casa.launcher,
                        "mpicasa -n {n} {casa} --nologger --nogui --agg -c "
                        "{script}");
    assert_int_equal(c.casa.ranks, 4);
    assert_string_equal(c.casa.calibration, "none");
    assert_int_equal(c.casa.modes, ASW_CASA_MFS | ASW_CASA_CUBE);
    assert_int_equal(c.casa.intents, ASW_CASA_BP | ASW_CASA_PH);
    assert_string_equal(c.casa.weighting, "briggs");
    assert_true(fabs(c.casa.robust + 0.5) < 1e-12);
    assert_int_equal(c.casa.selfcal, 1);
    assert_int_equal(c.casa.remove_asdm + c.casa.remove_intermediate +
                         c.casa.remove_casa_images,
                     3);
    assert_int_equal(c.casa.step_time_limit_s, 90);
    assert_string_equal(c.casa.flux_csv, "/data/flux.csv");
    asw_config_free(&c);

    /* Defaults. */
    assert_int_equal(
        asw_config_parse("[archive]\nmirrors = http://x\n", "t", &c, &err), 0);
    assert_string_equal(c.casa.launcher, "{python} {script}");
    assert_string_equal(c.casa.calibration, "builtin");
    assert_int_equal(c.casa.modes, ASW_CASA_MFS | ASW_CASA_MFS_SPW);
    assert_string_equal(c.casa.weighting, "natural");
    assert_int_equal(c.casa.selfcal, 0);
    assert_null(c.casa.flux_csv);
    asw_config_free(&c);

    static const char *const bad[] = {
        "calibration = magic", "tclean_modes = mfs, pictures",
        "weighting = robust",  "robust = 3",
        "ranks = 0",           "step_time_limit = -1",
        "intents = sci",       "tclean_modes = ",
        "selfcal = maybe",     "launcher = "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char t[512];
        snprintf(t, sizeof t, "[archive]\nmirrors = http://x\n[casa]\n%s\n",
                 bad[i]);
        assert_int_equal(asw_config_parse(t, "t.ini", &c, &err), ASW_ECONFIG);
        assert_non_null(strstr(err.msg, "[casa]"));
    }
    assert_int_equal(
        asw_config_parse("[archive]\nmirrors = http://x\n[casa]\nlaunchr = "
                         "x\n",
                         "t.ini", &c, &err),
        ASW_ECONFIG);
    assert_non_null(strstr(err.msg, "unknown key 'launchr'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quote_round_trip_in_python),
        cmocka_unit_test(quote_rejects_nul_and_bad_utf8),
        cmocka_unit_test(writer_nested_literal),
        cmocka_unit_test(templates_parse),
        cmocka_unit_test(fft_sizes),
        cmocka_unit_test(geometry_rules),
        cmocka_unit_test(severe_scan),
        cmocka_unit_test(name_stems),
        cmocka_unit_test(casa_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
