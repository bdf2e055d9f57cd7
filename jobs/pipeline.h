/*
 * pipeline.h - what happens to one unit on one worker: fetch its files to
 * node-local scratch, extract, hand the directory to the backend of the
 * pipeline mode (products or casa), reduce, clean up. A bad unit is data:
 * the outcome is always a result (done or failed with module:code:text).
 */
#ifndef ASW_PIPELINE_H
#define ASW_PIPELINE_H

#include "io/download.h"
#include "io/untar.h"
#include "src/config.h"
#include "src/result.h"
#include "src/unit.h"

#include <stdint.h>

struct asw_job {
    const struct asw_config *cfg;
    const struct asw_unit *unit;
    const char *unit_dir; /* scratch directory of this unit */
    int rank;
};

/*
 * A pipeline backend (IOR's aiori pattern): the products and casa modes
 * implement this interface.
 */
struct asw_backend {
    const char *name;
    /* Whether a tar entry is worth extracting (NULL: everything). */
    int (*want_entry)(const char *path);
    /* Turn the extracted unit directory into result rows. Returns 0 or an
     * error code with err set (the unit then fails). */
    int (*process)(const struct asw_job *job, struct asw_result *res,
                   struct asw_err *err);
};

/* The backend for a [pipeline] mode name, or NULL. */
const struct asw_backend *asw_backend_find(const char *mode);

extern const struct asw_backend asw_backend_products;

/* How a tar is extracted by asw_pipeline_fetch_file. */
enum asw_extract_mode {
    ASW_EXTRACT_NONE = 0,
    ASW_EXTRACT_AFTER,  /* once the file is complete and verified */
    ASW_EXTRACT_DURING, /* from the arrived prefix while it downloads */
};

/*
 * Fetch one file (req, see io/download.h) with ctx and, unless mode is
 * ASW_EXTRACT_NONE, extract it into extract_dir with lim (NULL:
 * defaults). DURING runs the extraction on a second thread reading the
 * .part as it grows (req->dest_path must then be absolute); the result
 * counts only if the download completes and verifies. If the download had
 * to rewrite bytes the extraction already used, the extraction is redone
 * from the complete file; if the extraction fails (unsafe entry, caps,
 * disk full), the download is stopped. remove_tar deletes the file after a
 * successful extraction. dst and ust (optional) receive the statistics.
 * Returns 0 or the first failure's code with err filled (module
 * "download" or "untar").
 */
int asw_pipeline_fetch_file(struct asw_dl_ctx *ctx,
                            const struct asw_dl_request *req,
                            enum asw_extract_mode mode, const char *extract_dir,
                            const struct asw_untar_limits *lim, int remove_tar,
                            struct asw_dl_stats *dst,
                            struct asw_untar_stats *ust, struct asw_err *err);

/*
 * Fill *req for one file of a unit the way every sweep download is made:
 * asw_dl_request_init, then [download] retries, backoff, backoff_max,
 * connect_timeout, low_speed_limit, low_speed_time, ca_file, segments
 * (capped by max_transfers) and min_segment, [archive] mirrors, and the
 * credential variables when [archive] credentials = env. url, dest_path
 * and cfg are borrowed: they (cfg's strings included) must outlive the
 * fetch. Progress, tail and fsync are left at their defaults.
 */
void asw_pipeline_dl_request(const struct asw_config *cfg, const char *url,
                             const char *dest_path, int64_t expected_bytes,
                             struct asw_dl_request *req);

/*
 * Whether the file system of dir has room for need_bytes more plus
 * reserve_bytes (statvfs, blocks available to unprivileged users).
 * Returns 0, ASW_ENOSPC with a "scratch full: ..." message giving the
 * numbers, or ASW_EIO if dir cannot be examined.
 */
int asw_pipeline_scratch_check(const char *dir, int64_t need_bytes,
                               int64_t reserve_bytes, struct asw_err *err);

/*
 * Download slots: the worker side of a job-wide limit on concurrent
 * downloads (rank 0 grants slots over MPI so that 500 ranks do not hammer
 * one mirror; mpi/ implements the callbacks). The pipeline calls acquire
 * before each file transfer and release after it, failed or not, on the
 * thread running asw_pipeline_run_ex, never nested: a worker holds at
 * most one slot, and one slot covers one file fetched with up to
 * min([download] segments, max_transfers) connections (including its
 * retries and backoff sleeps).
 */
struct asw_dl_slots {
    /* Block until a slot is granted for file_name (bytes: its size, -1 if
     * unknown). Return 0, or a negative ASW_E* code with err filled: the
     * unit then fails without downloading (ASW_EINTR: interrupted). */
    int (*acquire)(void *user, const char *unit_id, const char *file_name,
                   int64_t bytes, struct asw_err *err);
    /* Give the slot back; rc is the transfer's result, bytes what it
     * received. */
    void (*release)(void *user, const char *unit_id, const char *file_name,
                    int64_t bytes, int rc);
    void *user;
};

/* Optional plug-ins of one run; all fields may be NULL. */
struct asw_pipeline_hooks {
    const struct asw_dl_slots *slots;  /* job-wide download slots */
    const struct asw_backend *backend; /* instead of cfg->mode's backend */
    /* Polled while files download (several times a second); non-zero
     * stops the unit: status interrupted, partial downloads kept. */
    int (*stop)(void *user);
    void *stop_user;
};

/*
 * Run unit u end to end as rank `rank` and fill *res (which the caller
 * clears): check that scratch has room for u->scratch_need plus
 * [scratch] reserve, fetch the files into <scratch>/almasweep/<unit id>
 * (segmented, resumable), extract the tars (during or after their
 * download, [download] extract), run the backend. Never fails as a
 * function: failures are recorded in res ("scratch full" for ASW_ENOSPC,
 * status interrupted for ASW_EINTR). hooks may be NULL.
 *
 * Extraction changes the working directory of its own thread only (see
 * asw_untar). It is asw_pipeline_fetch followed, when that succeeded, by
 * asw_pipeline_process.
 */
void asw_pipeline_run_ex(const struct asw_config *cfg, const struct asw_unit *u,
                         int rank, const struct asw_pipeline_hooks *hooks,
                         struct asw_result *res);

/*
 * The two halves of asw_pipeline_run_ex, so that a worker downloads its
 * next unit while it processes the current one (mpi/exec.c).
 *
 * asw_pipeline_fetch fills *res (which the caller clears) with the unit's
 * identity and download timings: scratch check, downloads, extraction.
 * Returns 0 when the unit is ready for asw_pipeline_process, or 1 when it
 * is over already (res is final: failed, or interrupted when hooks->stop
 * stopped a download).
 *
 * asw_pipeline_process runs the backend on the fetched directory and
 * completes *res (status, error, rows) and the clean-up, as
 * asw_pipeline_run_ex does. When hooks->stop answers non-zero before it
 * starts, the unit is interrupted and its files stay in scratch.
 *
 * At most one fetch and one process run at a time per process, each on
 * its own thread: the fetch phase's file-local state (the extraction
 * filter, the scratch walk) and the backends' (the products walk) are
 * separate, and every path they use is absolute (the unit directory goes
 * through realpath). Extraction changes only its own thread's working
 * directory (asw_untar; where the kernel refuses a private one, the
 * process's: cfg->scratch_dir should then be absolute, and mpi/sweep.c
 * makes it so).
 */
int asw_pipeline_fetch(const struct asw_config *cfg, const struct asw_unit *u,
                       int rank, const struct asw_pipeline_hooks *hooks,
                       struct asw_result *res);
void asw_pipeline_process(const struct asw_config *cfg,
                          const struct asw_unit *u, int rank,
                          const struct asw_pipeline_hooks *hooks,
                          struct asw_result *res);

/* asw_pipeline_run_ex without hooks. */
void asw_pipeline_run(const struct asw_config *cfg, const struct asw_unit *u,
                      int rank, struct asw_result *res);

#endif
