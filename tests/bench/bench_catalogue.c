/*
 * bench_catalogue.c - the catalogue's figures for docs/benchmarks.md:
 *
 *   1. raw batch appends of /images rows (HDF5 alone, 16384-row batches);
 *   2. the per-result path with crash safety on (asw_cat_put_result: one
 *      journal record per result), 10 and 100 rows per result, with and
 *      without fdatasync per result, and the checkpoint that applies the
 *      journal to the file (batched appends, /sources, copy, fsync);
 *   3. opening and resuming a catalogue of --rows /images rows: open (the
 *      index from /units only, the journal scanned) and the status of every
 *      unit, warm and with the file's pages dropped from the page cache;
 *   4. a checkpoint of that catalogue after one new result, and after a
 *      unit redone (its old rows compacted away);
 *   5. bytes per row of the file and of the journal.
 *
 * usage: bench_catalogue [--rows N] [--dir DIR] [--fsync-results N] [--keep]
 * Rows are synthetic but shaped like real ones: measured values are noisy
 * doubles (incompressible mantissas), unmeasured columns NaN, names and
 * file names as the archive has them. Not a test: prints a table.
 */
#define _GNU_SOURCE
#include "io/catalogue.h"
#include "io/catalogue_priv.h"

#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of this process: on a shared, loaded machine the wall time
 * says how busy it is, this says what the code costs. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void unit_id(char *buf, size_t n, size_t k)
{
    snprintf(buf, n, "uid___A001_X%zx_X%zx", 0x1000 + k / 4096, k % 4096);
}

/* One /images row of unit u, image i. */
static void make_row(struct asw_image *m, const char *uid, size_t u, size_t i)
{
    static const char *const intents[] = {"ph", "bp", "amp", "ch"};
    static const double band_ghz[] = {97.5, 233.0, 343.5};
    asw_image_init(m);
    int src = (int)(u * 7 % 800);
    char source[32];
    snprintf(source, sizeof source, "J%04d%+05d", src * 3 % 2400,
             (src * 37) % 1800 - 900);
    int spw = 25 + 2 * (int)(i % 4);
    int band = (int)(u % 3);
    snprintf(m->unit_id, sizeof m->unit_id, "%s", uid);
    snprintf(m->file, sizeof m->file, "member.%s.%s_%s.spw%d.mfs.I.pbcor.fits",
             uid, source, intents[i / 4 % 4], spw);
    snprintf(m->source, sizeof m->source, "%s", source);
    snprintf(m->intent, sizeof m->intent, "%s", intents[i / 4 % 4]);
    snprintf(m->specmode, sizeof m->specmode, "mfs");
    m->spw = spw;
    m->band = band == 0 ? 3 : band == 1 ? 6 : 7;
    m->pbcor = 1;
    m->freq_hz = (band_ghz[band] + 2.0 * (double)(i % 4) - 3) * 1e9;
    m->bandwidth_hz = 1.875e9;
    m->mjd = 57000 + floor(3000 * urand()) + 0.1 + 0.01 * urand();
    m->peak_jy = exp(2 * urand() - 1);
    m->rms_jy = 1e-4 * (1 + urand());
    m->peak_err_jy = m->rms_jy;
    m->snr = m->peak_jy / m->rms_jy;
    m->dynamic_range = 100 + 900 * urand();
    m->flux_jy = m->peak_jy * (1 + 0.01 * urand());
    m->flux_err_jy = 2 * m->rms_jy;
    m->flux_cal_err_jy = 0.05 * m->flux_jy;
    m->flux_tot_err_jy = hypot(m->flux_err_jy, m->flux_cal_err_jy);
    m->peak_over_flux = m->peak_jy / m->flux_jy;
    m->ra_deg = 360 * urand();
    m->dec_deg = 180 * urand() - 90;
    m->ra_err_arcsec = m->dec_err_arcsec = 0.01 * urand();
    m->offset_arcsec = 0.05 * urand();
    m->bmaj_arcsec = 0.5 + urand();
    m->bmin_arcsec = m->bmaj_arcsec * (0.6 + 0.3 * urand());
    m->bpa_deg = 180 * urand() - 90;
    m->offset_beams = m->offset_arcsec / m->bmaj_arcsec;
    m->fit_maj_arcsec = m->bmaj_arcsec * (1 + 0.01 * urand());
    m->fit_min_arcsec = m->bmin_arcsec * (1 + 0.01 * urand());
    m->fit_pa_deg = m->bpa_deg + urand();
    m->fit_maj_err_arcsec = m->fit_min_err_arcsec = 0.001 * urand();
    m->fit_pa_err_deg = urand();
    m->dec_maj_arcsec = m->dec_min_arcsec = m->dec_pa_deg = 0;
    m->pix_per_beam = 5;
    m->nan_fraction = 0;
    m->peak_x_pix = m->peak_y_pix = 64 + urand();
    m->qa_flags = 0;
    m->qa_score = 0.9 + 0.1 * urand();
}

static double file_mb(const char *p, off_t *bytes)
{
    struct stat st;
    if (stat(p, &st) != 0)
        return 0;
    if (bytes)
        *bytes = st.st_size;
    return (double)st.st_size / 1e6;
}

/* Drop the file's pages from the page cache (a cold open). */
static void drop_cache(const char *p)
{
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return;
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

static void die(const char *what, const struct asw_err *err)
{
    fprintf(stderr, "bench_catalogue: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static struct asw_cat *open_cat(const char *p, int fsync_, double ckpt_s)
{
    struct asw_cat *c = NULL;
    struct asw_err err = {0};
    struct asw_cat_options o;
    if (asw_cat_open(p, 1, &c, &err))
        die("open", &err);
    asw_cat_options_default(&o);
    o.journal_fsync = fsync_;
    o.checkpoint_s = ckpt_s;
    asw_cat_set_options(c, &o, &err);
    return c;
}

/* Put n_results results of k rows, units [first, first + n_results). */
static double put_results(struct asw_cat *c, size_t first, size_t n_results,
                          size_t k, struct asw_image *rows)
{
    struct asw_err err = {0};
    char uid[64];
    double busy = 0;
    for (size_t u = first; u < first + n_results; u++) {
        unit_id(uid, sizeof uid, u);
        for (size_t i = 0; i < k; i++)
            make_row(&rows[i], uid, u, i);
        struct asw_result r;
        memset(&r, 0, sizeof r);
        snprintf(r.unit_id, sizeof r.unit_id, "%s", uid);
        r.status = ASW_ST_DONE;
        r.attempts = 1;
        r.images = rows;
        r.n_images = k;
        snprintf(r.host, sizeof r.host, "node%03zu", u % 64);
        double t = now();
        if (asw_cat_put_result(c, &r, NULL, &err))
            die("put", &err);
        busy += now() - t;
    }
    return busy;
}

static void rm_catalogue(const char *p)
{
    char j[1200];
    unlink(p);
    snprintf(j, sizeof j, "%s.journal", p);
    unlink(j);
}

/* A checkpoint of c, timed: wall (by step) and CPU. */
static void timed_checkpoint(struct asw_cat *c, const char *what)
{
    struct asw_err err = {0};
    struct asw_cat_stats st;
    double cpu = cpu_now();
    if (asw_cat_checkpoint(c, &err))
        die("checkpoint", &err);
    cpu = cpu_now() - cpu;
    asw_cat_get_stats(c, &st);
    printf("| %s | %.3f s (CPU %.3f s): copy %.3f, apply %.3f, /sources "
           "%.3f, commit (close, fsync, rename) %.3f |\n",
           what, st.last_checkpoint_s, cpu, st.last_copy_s, st.last_apply_s,
           st.last_sources_s, st.last_commit_s);
}

int main(int argc, char **argv)
{
    size_t rows = 1000000, fsync_results = 2000;
    int keep = 0;
    char dir[1024] = "";
    static const struct option opts[] = {
        {"rows", required_argument, 0, 'n'},
        {"dir", required_argument, 0, 'd'},
        {"fsync-results", required_argument, 0, 'f'},
        {"keep", no_argument, 0, 'k'},
        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "n:d:f:", opts, NULL)) != -1) {
        if (o == 'n')
            rows = strtoul(optarg, NULL, 10);
        else if (o == 'd')
            snprintf(dir, sizeof dir, "%s", optarg);
        else if (o == 'f')
            fsync_results = strtoul(optarg, NULL, 10);
        else if (o == 'k')
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_catalogue [--rows N] [--dir DIR] "
                            "[--fsync-results N] [--keep]\n");
            return 1;
        }
    }
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/bench_cat_XXXXXX",
                 tmp && *tmp ? tmp : "/var/tmp");
        if (!mkdtemp(dir))
            die("mkdtemp", NULL);
    }
    char p[1100];
    struct asw_err err = {0};
    struct asw_image *buf = malloc(16384 * sizeof *buf);
    if (!buf)
        die("out of memory", NULL);
    printf("catalogue benchmark: %zu /images rows, sizeof row %zu bytes in "
           "memory, %s\n\n",
           rows, sizeof(struct asw_image), dir);

    /* 1. Raw batch appends. */
    snprintf(p, sizeof p, "%s/raw.h5", dir);
    unlink(p);
    cat_h5_quiet();
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ds = cat_h5_create_table(f, cat_tables[T_IMAGES], &err);
    hid_t mt = cat_h5_type(cat_tables[T_IMAGES], 0);
    hsize_t n = 0;
    double busy = 0, busy_cpu = 0;
    char uid[64];
    for (size_t done = 0; done < rows;) {
        size_t k = rows - done < 16384 ? rows - done : 16384;
        for (size_t i = 0; i < k; i++) {
            size_t u = (done + i) / 20;
            unit_id(uid, sizeof uid, u);
            make_row(&buf[i], uid, u, (done + i) % 20);
        }
        double t = now(), tc = cpu_now();
        if (cat_h5_append(ds, mt, &n, buf, k) < 0)
            die("raw append", NULL);
        busy += now() - t;
        busy_cpu += cpu_now() - tc;
        done += k;
    }
    double t = now(), t_cpu = cpu_now();
    H5Tclose(mt);
    H5Dclose(ds);
    H5Fclose(f);
    busy += now() - t;
    busy_cpu += cpu_now() - t_cpu;
    off_t raw_bytes = 0;
    file_mb(p, &raw_bytes);
    printf("| measurement | figure |\n|---|---|\n");
    printf("| raw batch appends (HDF5 only, 16384-row batches) | %.0f rows/s "
           "(%.2f s); %.0f rows per CPU-second |\n",
           (double)rows / busy, busy, (double)rows / busy_cpu);
    printf("| file bytes per /images row | %.1f (in memory %zu) |\n",
           (double)raw_bytes / (double)rows, sizeof(struct asw_image));
    unlink(p);

    /* 1b. The filter settings, on 200,000 rows: CPU per row and size. */
    static const int filters[][2] = {{1, 1}, {1, 4}, {0, 1}, {0, 4}, {1, -1}};
    for (size_t q = 0; q < NELEM(filters); q++) {
        size_t nrows = rows < 200000 ? rows : 200000;
        snprintf(p, sizeof p, "%s/filters.h5", dir);
        f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        hid_t ft = cat_h5_type(cat_tables[T_IMAGES], 1);
        hsize_t d0 = 0, mx = H5S_UNLIMITED, ch = CAT_CHUNK_ROWS;
        hid_t sp = H5Screate_simple(1, &d0, &mx);
        hid_t dc = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dc, 1, &ch);
        if (filters[q][0])
            H5Pset_shuffle(dc);
        if (filters[q][1] >= 0)
            H5Pset_deflate(dc, (unsigned)filters[q][1]);
        ds = H5Dcreate2(f, "images", ft, sp, H5P_DEFAULT, dc, H5P_DEFAULT);
        mt = cat_h5_type(cat_tables[T_IMAGES], 0);
        n = 0;
        busy_cpu = 0;
        rng = 0x9e3779b97f4a7c15ull;
        for (size_t done = 0; done < nrows;) {
            size_t k = nrows - done < 16384 ? nrows - done : 16384;
            for (size_t i = 0; i < k; i++) {
                size_t u = (done + i) / 20;
                unit_id(uid, sizeof uid, u);
                make_row(&buf[i], uid, u, (done + i) % 20);
            }
            t_cpu = cpu_now();
            cat_h5_append(ds, mt, &n, buf, k);
            busy_cpu += cpu_now() - t_cpu;
            done += k;
        }
        t_cpu = cpu_now();
        H5Dclose(ds);
        H5Fclose(f);
        busy_cpu += cpu_now() - t_cpu;
        H5Tclose(mt);
        H5Tclose(ft);
        H5Sclose(sp);
        H5Pclose(dc);
        off_t fb = 0;
        file_mb(p, &fb);
        char what[64];
        if (filters[q][1] >= 0)
            snprintf(what, sizeof what, "%sdeflate %d",
                     filters[q][0] ? "shuffle + " : "", filters[q][1]);
        else
            snprintf(what, sizeof what, "shuffle, no deflate");
        printf("| filters: %s%s | %.0f rows per CPU-second, %.1f bytes/row "
               "|\n",
               what, q == 0 ? " (the catalogue's)" : "",
               (double)nrows / busy_cpu, (double)fb / (double)nrows);
        unlink(p);
    }

    /* 2. The per-result path, journal fsync off: all rows. */
    size_t per[2] = {10, 100};
    struct asw_cat_stats st;
    for (int q = 0; q < 2; q++) {
        size_t k = per[q], nres = rows / k;
        snprintf(p, sizeof p, "%s/cat%zu.h5", dir, k);
        rm_catalogue(p);
        struct asw_cat *c = open_cat(p, 0, 1e9);
        double cp = cpu_now();
        double tp = put_results(c, 0, nres, k, buf);
        cp = cpu_now() - cp; /* includes making the rows: an upper bound */
        asw_cat_get_stats(c, &st);
        double jb = (double)st.journal_bytes;
        t = now();
        double cc = cpu_now();
        if (asw_cat_close(c, &err))
            die("close", &err);
        double tc = now() - t;
        cc = cpu_now() - cc;
        printf("| per result, %zu rows/result, journal, no fsync | %.0f "
               "rows/s (%zu results in %.2f s; > %.0f rows per CPU-second); "
               "journal %.0f bytes/row |\n",
               k, (double)(nres * k) / tp, nres, tp, (double)(nres * k) / cp,
               jb / (double)(nres * k));
        printf("| checkpoint applying those %zu rows (batched appends + "
               "/sources + copy + fsync) | %.2f s = %.0f rows/s (%.0f rows "
               "per CPU-second); end to end %.0f rows/s |\n",
               nres * k, tc, (double)(nres * k) / tc, (double)(nres * k) / cc,
               (double)(nres * k) / (tp + tc));
        off_t b = 0;
        file_mb(p, &b);
        printf("| catalogue bytes per /images row (%zu rows/unit) | %.1f |\n",
               k, (double)b / (double)(nres * k));
    }

    /* 2b. The per-result path with fdatasync per result. */
    for (int q = 0; q < 2; q++) {
        size_t k = per[q];
        snprintf(p, sizeof p, "%s/fsync%zu.h5", dir, k);
        rm_catalogue(p);
        struct asw_cat *c = open_cat(p, 1, 1e9);
        double tp = put_results(c, 0, fsync_results, k, buf);
        asw_cat_close(c, &err);
        printf("| per result, %zu rows/result, journal + fdatasync per "
               "result | %.0f rows/s = %.0f results/s (%.2f ms each) |\n",
               k, (double)(fsync_results * k) / tp, (double)fsync_results / tp,
               1e3 * tp / (double)fsync_results);
        rm_catalogue(p);
    }

    /* 3. Open and resume: the catalogue with 10 rows per unit (more units
     * than with 100: the harder case for the index). */
    size_t k = per[0], nres = rows / k;
    snprintf(p, sizeof p, "%s/cat%zu.h5", dir, k);
    for (int cold = 0; cold < 2; cold++) {
        double best_open = 1e9, best_all = 1e9, best_cpu = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            if (cold)
                drop_cache(p);
            struct asw_cat *c = NULL;
            t = now();
            double cpu = cpu_now();
            if (asw_cat_open(p, 0, &c, &err))
                die("reopen", &err);
            double to = now() - t;
            size_t done = 0;
            for (size_t u = 0; u < nres; u++) {
                enum asw_status s;
                unit_id(uid, sizeof uid, u);
                done += asw_cat_unit_status(c, uid, &s, NULL) == 0 &&
                        s == ASW_ST_DONE;
            }
            double ta = now() - t;
            cpu = cpu_now() - cpu;
            best_cpu = cpu < best_cpu ? cpu : best_cpu;
            if (done != nres)
                die("resume: units missing", NULL);
            asw_cat_close(c, &err);
            best_open = to < best_open ? to : best_open;
            best_all = ta < best_all ? ta : best_all;
        }
        printf("| open + resume, %zu rows, %zu units, %s page cache (best of "
               "3) | open %.3f s, + status of every unit %.3f s (CPU %.3f "
               "s) |\n",
               rows, nres, cold ? "cold" : "warm", best_open, best_all,
               best_cpu);
    }
    /* ... with a journal of 1000 results (10,000 rows) pending: a writer
     * child stores them and dies without a checkpoint. */
    {
        /* A writer child stores 1000 results and dies; we open after. */
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            struct asw_cat *c = open_cat(p, 0, 1e9);
            put_results(c, nres + 1000, 1000, 10, buf);
            _exit(0); /* no close: the journal holds the 1000 results */
        }
        int status;
        waitpid(pid, &status, 0);
        struct asw_cat *c = NULL;
        t = now();
        if (asw_cat_open(p, 0, &c, &err))
            die("open with journal", &err);
        double to = now() - t;
        asw_cat_get_stats(c, &st);
        printf("| open with a journal of 1,000 results (10,000 rows) "
               "pending | %.3f s (%zu records replayed into the index) |\n",
               to, st.pending);
        timed_checkpoint(c, "checkpoint of those 1,000 results (first of "
                            "the writer: /sources reads /images)");
        asw_cat_close(c, &err);
    }

    /* 4. Checkpoints of the big catalogue: a new result; a redone unit. */
    {
        struct asw_cat *c = open_cat(p, 1, 1e9);
        put_results(c, nres + 5000, 1, 100, buf);
        timed_checkpoint(c, "first checkpoint of a writer, one new result "
                            "(100 rows; /sources reads /images once)");
        put_results(c, nres + 5001, 1, 100, buf);
        timed_checkpoint(c, "later checkpoint, one new result (100 rows)");
        put_results(c, 17, 1, 10, buf); /* unit 17 again: compaction */
        timed_checkpoint(c, "checkpoint after a unit near the start redone "
                            "(the rows after it move up)");
        asw_cat_close(c, &err);
    }
    off_t b = 0;
    file_mb(p, &b);
    printf("| final file | %.1f MB |\n", (double)b / 1e6);
    for (int q = 0; q < 2 && !keep; q++) {
        snprintf(p, sizeof p, "%s/cat%zu.h5", dir, per[q]);
        rm_catalogue(p);
    }
    if (!keep)
        rmdir(dir);
    free(buf);
    return 0;
}
