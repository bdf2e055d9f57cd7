/*
 * progress.h - what rank 0 says about a running sweep: on a terminal one
 * live line (units done/total, failures, bytes, rate, ETA) redrawn a few
 * times a second; otherwise a log line every few seconds; at the end a
 * summary table (done, failed, interrupted, skipped, bytes, wall time, per
 * rank utilisation). Plain C, no clock of its own: callers pass the time.
 */
#ifndef ASW_PROGRESS_H
#define ASW_PROGRESS_H

#include "result.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct asw_progress;

struct asw_progress_opts {
    int live;          /* redraw one line (a terminal) instead of logging */
    double interval_s; /* seconds between log lines (live: ignored) */
    FILE *out;         /* where the live line and summary go (stderr) */
};

/*
 * Start tracking units_total units of bytes_total bytes over ranks
 * n_ranks (indices 0 .. n_ranks - 1) at time now (seconds, monotonic).
 * Returns 0 and *out (free with asw_progress_free) or ASW_ENOMEM.
 */
/*
 * Whether this process's stderr ends on a terminal: stderr itself is one,
 * or (Linux, Open MPI) the process was started by an mpirun/mpiexec on
 * this node whose own stderr is a terminal -- mpirun forwards the ranks'
 * output there through pipes, so isatty(2) alone says no. Used by
 * `progress = auto`.
 */
int asw_progress_on_terminal(void);

int asw_progress_new(size_t units_total, int64_t bytes_total, int n_ranks,
                     const struct asw_progress_opts *o, double now,
                     struct asw_progress **out);

/* Free. Accepts NULL. */
void asw_progress_free(struct asw_progress *p);

/* n units were done in earlier runs (skipped by resume), of bytes. */
void asw_progress_skipped(struct asw_progress *p, size_t n, int64_t bytes);

/*
 * A result from rank: its status, whether it is final for the unit (a
 * failure that will be retried is not), the unit's size and the result's
 * bytes and timings (download; processing: extraction and backend).
 */
void asw_progress_result(struct asw_progress *p, int rank,
                         enum asw_status status, int final, int64_t unit_bytes,
                         int64_t bytes_fetched, double t_download_s,
                         double t_process_s);

/* Units and bytes that failed for good without running (rejected). */
void asw_progress_failed_unrun(struct asw_progress *p, int64_t unit_bytes);

/* Show the progress if it is time to (at most every 0.25 s live, every
 * interval_s as log lines). Returns 1 if something was written. */
int asw_progress_tick(struct asw_progress *p, double now);

/* The progress line at now into buf (size n), e.g. "units 120/400 (30.0%)
 * done, 2 failed, 1 retrying | 1.2 GiB at 40.1 MiB/s | ETA 3m05s".
 * Returns buf. */
char *asw_progress_line(const struct asw_progress *p, double now, char *buf,
                        size_t n);

/* The final table at now (ends a live line first). */
void asw_progress_summary(struct asw_progress *p, double now, FILE *out);

#endif
