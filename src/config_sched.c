/* config_sched.c - [scheduler] and the progress keys of [run]
 * (config_sched.h). */
#include "config_sched.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void asw_sched_config_defaults(struct asw_sched_config *c)
{
    memset(c, 0, sizeof *c);
    c->download_slots = 8;
    c->prefetch = 1;
    c->retry_backoff_s = 10;
    c->retry_backoff_max_s = 300;
    c->max_crashes = 2;
    c->reserve_after_s = 60;
    c->on_signal = ASW_ON_SIGNAL_ABORT;
    c->progress = ASW_PROGRESS_AUTO;
    c->progress_s = 60;
}

static int parse_bool(const char *v, int *out)
{
    static const char *const t[] = {"1", "true", "yes", "on"};
    static const char *const f[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, t[i]) == 0)
            return *out = 1, 1;
        if (strcasecmp(v, f[i]) == 0)
            return *out = 0, 1;
    }
    return 0;
}

static int parse_int(const char *v, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return 0;
    *out = (int)x;
    return 1;
}

static int parse_seconds(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    while (*end && isspace((unsigned char)*end))
        end++;
    if (errno || end == v || *end || !(x >= lo && x <= hi))
        return 0;
    *out = x;
    return 1;
}

/* Bytes with an optional k, M, G or T suffix (powers of 1024), as
 * [scratch] reserve. */
static int parse_bytes(const char *v, long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || x < 0)
        return 0;
    const char *units = "kKmMgGtT";
    const char *u = *end ? strchr(units, *end) : NULL;
    int shift = u ? 10 * (1 + (int)(u - units) / 2) : 0;
    if (shift)
        end++;
    if (*end || x > (LLONG_MAX >> shift))
        return 0;
    *out = x << shift;
    return 1;
}

static int pick(const char *v, const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0)
            return *out = i, 1;
    return 0;
}

int asw_sched_config_set(struct asw_sched_config *c, const char *section,
                         const char *key, const char *v)
{
    static const char *const orders[] = {"largest", "fifo", NULL};
    static const char *const on_signal[] = {"abort", "drain", NULL};
    static const char *const progress[] = {"auto", "line", "log", "off", NULL};
#define K(s) (strcmp(key, s) == 0)
    if (strcmp(section, "run") == 0) {
        if (K("progress"))
            return pick(v, progress, &c->progress);
        if (K("progress_interval"))
            return parse_seconds(v, 0.1, 86400, &c->progress_s);
        return -1;
    }
    if (strcmp(section, "scheduler") != 0)
        return -1;
    if (K("order"))
        return pick(v, orders, &c->fifo);
    if (K("scratch_budget"))
        return parse_bytes(v, &c->scratch_budget);
    if (K("download_slots"))
        return parse_int(v, 0, 100000, &c->download_slots);
    if (K("prefetch"))
        return parse_int(v, 0, 2, &c->prefetch);
    if (K("master_works"))
        return parse_bool(v, &c->master_works);
    if (K("trace")) {
        free(c->trace);
        c->trace = *v ? strdup(v) : NULL;
        return !*v || c->trace != NULL;
    }
    if (K("retry_backoff"))
        return parse_seconds(v, 0, 86400, &c->retry_backoff_s);
    if (K("retry_backoff_max"))
        return parse_seconds(v, 0, 86400, &c->retry_backoff_max_s);
    if (K("max_crashes"))
        return parse_int(v, 1, 100, &c->max_crashes);
    if (K("reserve_after"))
        return parse_seconds(v, 0, 86400 * 7, &c->reserve_after_s);
    if (K("on_signal"))
        return pick(v, on_signal, &c->on_signal);
#undef K
    return -1;
}

void asw_sched_config_free(struct asw_sched_config *c)
{
    if (!c)
        return;
    free(c->trace);
    c->trace = NULL;
}
