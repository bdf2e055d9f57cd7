/* costmodel.c - processing stood in by a sleep (costmodel.h). */
#include "costmodel.h"

#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct model {
    double s_per_gb, jitter;
    char crash[64], fail[64];
};

/* The next comma-separated field of *p into buf (cut to n), *p moved past
 * it. */
static void next_field(const char **p, char *buf, size_t n)
{
    const char *e = strchr(*p, ',');
    size_t len = e ? (size_t)(e - *p) : strlen(*p);
    snprintf(buf, n, "%.*s", (int)len, *p);
    *p += len + (e != NULL);
}

static int model_get(struct model *m)
{
    const char *v = getenv("ASW_BENCH_COST");
    memset(m, 0, sizeof *m);
    if (!v || !*v)
        return -1;
    int n = sscanf(v, "%lf,%lf", &m->s_per_gb, &m->jitter);
    if (n < 1 || !(m->s_per_gb >= 0) || !(m->jitter >= 0 && m->jitter < 1))
        return -1;
    /* CRASH and FAIL: the third and fourth fields, may be empty. */
    const char *p = v;
    char skip[64];
    next_field(&p, skip, sizeof skip);
    next_field(&p, skip, sizeof skip);
    next_field(&p, m->crash, sizeof m->crash);
    next_field(&p, m->fail, sizeof m->fail);
    return 0;
}

/* FNV-1a: a fixed number in [0, 1) per unit id. */
static double unit_hash(const char *id)
{
    unsigned h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return (double)(h >> 8) / (double)(1u << 24);
}

double asw_costmodel_seconds(const char *id, int64_t bytes)
{
    struct model m;
    if (model_get(&m))
        return -1;
    double base = m.s_per_gb * (double)(bytes > 0 ? bytes : 0) / 1e9;
    return base * (1 + m.jitter * (2 * unit_hash(id) - 1));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int process(const struct asw_job *job, struct asw_result *res,
                   struct asw_err *err)
{
    struct model m;
    model_get(&m);
    double want = asw_costmodel_seconds(job->unit->id, job->unit->bytes_total);
    double t0 = now_s(), t;
    /* In steps, so that a stop interrupts it as it would CASA. */
    while ((t = now_s() - t0) < want) {
        if (asw_exec_stopping())
            return asw_err_set(err, ASW_EINTR, "costmodel",
                               "interrupted after %.2f of %.2f s", t, want);
        double left = want - t < 0.02 ? want - t : 0.02;
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
    res->t_process_s = now_s() - t0;
    if (m.crash[0] && strstr(job->unit->id, m.crash))
        return asw_err_set(err, ASW_ECHILD, "costmodel",
                           "step process: CASA killed by signal 9 (SIGKILL)");
    if (m.fail[0] && strstr(job->unit->id, m.fail))
        return asw_err_set(err, ASW_ECHILD, "costmodel",
                           "step process: CASA exit 1");
    return 0;
}

static const struct asw_backend costmodel = {"costmodel", NULL, process};

const struct asw_backend *asw_costmodel_backend(void)
{
    struct model m;
    return model_get(&m) ? NULL : &costmodel;
}
