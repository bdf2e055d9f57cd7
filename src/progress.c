/* progress.c - the live line, log lines and summary of a sweep
 * (progress.h). */
#include "progress.h"

#include "log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIVE_INTERVAL_S 0.25

struct rank_stat {
    size_t units;
    int64_t bytes;
    double t_download_s, t_process_s;
};

struct asw_progress {
    struct asw_progress_opts o;
    size_t total, done, failed, interrupted, skipped, retries;
    int64_t bytes_total;    /* of every unit, skipped ones included */
    int64_t bytes_finished; /* of units over (done or failed for good) */
    int64_t bytes_skipped;
    int64_t bytes_fetched;
    double t0, last;
    int drawn; /* a live line is on screen */
    int n_ranks;
    struct rank_stat *r;
};

int asw_progress_new(size_t units_total, int64_t bytes_total, int n_ranks,
                     const struct asw_progress_opts *o, double now,
                     struct asw_progress **out)
{
    *out = NULL;
    struct asw_progress *p = calloc(1, sizeof *p);
    if (!p)
        return ASW_ENOMEM;
    p->r = calloc((size_t)(n_ranks > 0 ? n_ranks : 1), sizeof *p->r);
    if (!p->r) {
        free(p);
        return ASW_ENOMEM;
    }
    p->o = *o;
    if (!p->o.out)
        p->o.out = stderr;
    p->total = units_total;
    p->bytes_total = bytes_total;
    p->n_ranks = n_ranks;
    p->t0 = p->last = now;
    *out = p;
    return 0;
}

void asw_progress_free(struct asw_progress *p)
{
    if (!p)
        return;
    free(p->r);
    free(p);
}

void asw_progress_skipped(struct asw_progress *p, size_t n, int64_t bytes)
{
    p->skipped += n;
    p->bytes_skipped += bytes;
}

void asw_progress_result(struct asw_progress *p, int rank,
                         enum asw_status status, int final, int64_t unit_bytes,
                         int64_t bytes_fetched, double t_download_s,
                         double t_process_s)
{
    if (rank >= 0 && rank < p->n_ranks) {
        struct rank_stat *r = &p->r[rank];
        r->units++;
        r->bytes += bytes_fetched;
        r->t_download_s += t_download_s;
        r->t_process_s += t_process_s;
    }
    p->bytes_fetched += bytes_fetched;
    if (status == ASW_ST_DONE) {
        p->done++;
        p->bytes_finished += unit_bytes;
    } else if (status == ASW_ST_INTERRUPTED) {
        p->interrupted++;
    } else if (final) {
        p->failed++;
        p->bytes_finished += unit_bytes;
    } else {
        p->retries++;
    }
}

void asw_progress_failed_unrun(struct asw_progress *p, int64_t unit_bytes)
{
    p->failed++;
    p->bytes_finished += unit_bytes;
}

static void human_bytes(double b, char *out, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (b >= 1024 && i < 5) {
        b /= 1024;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void human_time(double s, char *out, size_t n)
{
    if (!(s >= 0) || s > 1e8) {
        snprintf(out, n, "--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(out, n, "%lds", t);
}

char *asw_progress_line(const struct asw_progress *p, double now, char *buf,
                        size_t n)
{
    double el = now - p->t0;
    size_t over = p->done + p->failed + p->skipped;
    double pct = p->total ? 100.0 * (double)over / (double)p->total : 100.0;
    char fetched[32], rate[32], eta[32];
    human_bytes((double)p->bytes_fetched, fetched, sizeof fetched);
    human_bytes(el > 0 ? (double)p->bytes_fetched / el : 0, rate, sizeof rate);
    /* The remaining bytes at the rate units have finished so far. */
    int64_t left = p->bytes_total - p->bytes_skipped - p->bytes_finished;
    double eta_s = -1;
    if (over >= p->total)
        eta_s = 0;
    else if (p->bytes_finished > 0 && el > 0)
        eta_s = (double)left / ((double)p->bytes_finished / el);
    human_time(eta_s, eta, sizeof eta);
    int k =
        snprintf(buf, n, "units %zu/%zu (%.1f%%) done", over, p->total, pct);
    if (k >= 0 && (size_t)k < n && p->failed)
        k += snprintf(buf + k, n - (size_t)k, ", %zu failed", p->failed);
    if (k >= 0 && (size_t)k < n && p->retries)
        k += snprintf(buf + k, n - (size_t)k, ", %zu retries", p->retries);
    if (k >= 0 && (size_t)k < n && p->interrupted)
        k += snprintf(buf + k, n - (size_t)k, ", %zu interrupted",
                      p->interrupted);
    if (k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, " | %s at %s/s | ETA %s", fetched,
                 rate, eta);
    return buf;
}

int asw_progress_tick(struct asw_progress *p, double now)
{
    double every = p->o.live ? LIVE_INTERVAL_S : p->o.interval_s;
    if (now - p->last < every)
        return 0;
    p->last = now;
    char line[256];
    asw_progress_line(p, now, line, sizeof line);
    if (p->o.live) {
        /* \r and erase-to-end: the line is redrawn in place. */
        fprintf(p->o.out, "\r\033[K%s", line);
        fflush(p->o.out);
        p->drawn = 1;
        if (p->o.out == stderr)
            asw_log_live_line(1);
    } else {
        asw_info("progress: %s", line);
    }
    return 1;
}

void asw_progress_summary(struct asw_progress *p, double now, FILE *out)
{
    if (!out)
        out = p->o.out;
    if (p->drawn) {
        fputs("\r\033[K", p->o.out);
        p->drawn = 0;
        if (p->o.out == stderr)
            asw_log_live_line(0);
    }
    double wall = now - p->t0;
    char fetched[32], rate[32], wall_s[32];
    human_bytes((double)p->bytes_fetched, fetched, sizeof fetched);
    human_bytes(wall > 0 ? (double)p->bytes_fetched / wall : 0, rate,
                sizeof rate);
    human_time(wall, wall_s, sizeof wall_s);
    fprintf(out,
            "sweep summary: %zu units, wall %s (%.1f s)\n"
            "  done %zu, failed %zu, interrupted %zu, skipped (done before) "
            "%zu, retries %zu\n"
            "  fetched %s at %s/s\n",
            p->total, wall_s, wall, p->done, p->failed, p->interrupted,
            p->skipped, p->retries, fetched, rate);
    int any = 0;
    for (int i = 0; i < p->n_ranks; i++)
        any |= p->r[i].units > 0;
    if (!any)
        return;
    fprintf(out, "  %5s %7s %12s %11s %11s %7s\n", "rank", "results", "fetched",
            "download s", "process s", "busy %");
    for (int i = 0; i < p->n_ranks; i++) {
        const struct rank_stat *r = &p->r[i];
        if (!r->units)
            continue;
        char b[32];
        human_bytes((double)r->bytes, b, sizeof b);
        /* busy: processing time over wall time (downloads overlap it when
         * prefetching, so they are shown apart). */
        fprintf(out, "  %5d %7zu %12s %11.1f %11.1f %7.1f\n", i, r->units, b,
                r->t_download_s, r->t_process_s,
                wall > 0 ? 100.0 * r->t_process_s / wall : 0.0);
    }
}

/* The parent pid and command name of pid, from /proc/<pid>/stat. */
static int proc_parent(long pid, long *ppid, char *comm, size_t n)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t len = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[len] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses,
     * so it ends at the last ')'. */
    char *open = strchr(line, '('), *close = strrchr(line, ')');
    if (!open || !close || close < open)
        return -1;
    snprintf(comm, n, "%.*s", (int)(close - open - 1), open + 1);
    char state;
    return sscanf(close + 1, " %c %ld", &state, ppid) == 2 ? 0 : -1;
}

int asw_progress_on_terminal(void)
{
    if (isatty(2))
        return 1;
    static const char *launchers[] = {"mpirun", "mpiexec", "orterun",
                                      "prterun"};
    long pid = (long)getppid();
    for (int depth = 0; depth < 3 && pid > 1; depth++) {
        char comm[64], path[64], target[PATH_MAX];
        long ppid;
        if (proc_parent(pid, &ppid, comm, sizeof comm))
            return 0;
        for (size_t i = 0; i < sizeof launchers / sizeof *launchers; i++) {
            if (strcmp(comm, launchers[i]) != 0)
                continue;
            snprintf(path, sizeof path, "/proc/%ld/fd/2", pid);
            ssize_t k = readlink(path, target, sizeof target - 1);
            if (k <= 0)
                return 0;
            target[k] = '\0';
            return strncmp(target, "/dev/pts/", 9) == 0 ||
                   strncmp(target, "/dev/tty", 8) == 0;
        }
        pid = ppid;
    }
    return 0;
}
