#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int log_rank = -1;
static enum asw_log_level log_level = ASW_LOG_INFO;
/* A live progress line is on stderr; atomic: download and extraction
 * threads log too. */
static atomic_int live_drawn;

void asw_log_init(int rank, enum asw_log_level level)
{
    log_rank = rank;
    log_level = level;
}

void asw_log_live_line(int drawn)
{
    atomic_store(&live_drawn, drawn);
}

int asw_log_set_level_name(const char *name)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, names[i]) == 0) {
            log_level = (enum asw_log_level)i;
            return 0;
        }
    }
    return -1;
}

void asw_log(enum asw_log_level level, const char *fmt, ...)
{
    static const char *tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (level > log_level)
        return;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[2048];
    int off;
    if (log_rank >= 0)
        off = snprintf(line, sizeof line, "%s [%d] %-5s ", stamp, log_rank,
                       tags[level]);
    else
        off = snprintf(line, sizeof line, "%s %-5s ", stamp, tags[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + off, sizeof line - (size_t)off, fmt, ap);
    va_end(ap);
    /* One write per line so that lines of different ranks do not mix. */
    int erase = atomic_exchange(&live_drawn, 0);
    fprintf(stderr, "%s%s\n", erase ? "\r\033[K" : "", line);
}
