/*
 * log.h - leveled logging to stderr, prefixed with time, rank and host so
 * that the interleaved output of many ranks stays readable.
 */
#ifndef ASW_LOG_H
#define ASW_LOG_H

enum asw_log_level {
    ASW_LOG_ERROR = 0,
    ASW_LOG_WARN,
    ASW_LOG_INFO,
    ASW_LOG_DEBUG,
};

/* Set the rank shown in the prefix (-1: none) and the maximum level. */
void asw_log_init(int rank, enum asw_log_level level);

/* Set the level from a name ("error", "warn", "info", "debug"). */
int asw_log_set_level_name(const char *name);

/*
 * Tell the logger whether a live progress line (src/progress.c) is drawn on
 * stderr (1) or not (0). While one is, the next log line first erases it
 * ("\r", erase to end of line) instead of running on after it; the progress
 * redraws it at its next tick.
 */
void asw_log_live_line(int drawn);

void asw_log(enum asw_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define asw_error(...) asw_log(ASW_LOG_ERROR, __VA_ARGS__)
#define asw_warn(...)  asw_log(ASW_LOG_WARN, __VA_ARGS__)
#define asw_info(...)  asw_log(ASW_LOG_INFO, __VA_ARGS__)
#define asw_debug(...) asw_log(ASW_LOG_DEBUG, __VA_ARGS__)

#endif
