/*
 * download.h - one file from the archive to local scratch with libcurl.
 *
 * The transfer writes to "<dest>.part", resumes an existing .part with a
 * Range request, verifies the final size against the server's length and
 * the size DataLink announced, and renames into place only when complete,
 * so a file at dest_path is always whole. Transient failures are retried
 * with exponential backoff and jitter, then failed over to the next mirror;
 * permanent ones (401/403/404, size mismatch, disk full) are not.
 *
 * TLS verification is always on. Credentials come from ~/.netrc (or
 * req->netrc_file) or from environment variables named in the request; they
 * are never logged and URLs in messages have their userinfo removed.
 */
#ifndef ASW_DOWNLOAD_H
#define ASW_DOWNLOAD_H

#include "src/err.h"

#include <stddef.h>
#include <stdint.h>

/* A reusable transfer context (keeps one CURL easy handle, so connections
 * and TLS sessions to a mirror are reused across files). Opaque. */
struct asw_dl_ctx;

/*
 * Progress callback: bytes_now counts the whole file including what a
 * resumed .part already held, bytes_total is -1 until known, rate is the
 * mean rate of the current attempt in bytes per second. Called at most once
 * per req->progress_interval_s while data flows and once more on success.
 * Return 0 to continue, non-zero to abort the transfer (asw_dl_fetch then
 * returns ASW_EINTR and keeps the .part for a later resume).
 */
typedef int (*asw_dl_progress_fn)(void *user, int64_t bytes_now,
                                  int64_t bytes_total, double rate_bps);

struct asw_dl_request {
    const char *url;        /* http(s) URL (may carry userinfo; never shown) */
    const char *dest_path;  /* final path; ".part" is appended while busy */
    int64_t expected_bytes; /* size from DataLink, -1 if unknown */

    int max_retries;          /* retries per mirror after the first try */
    double backoff_initial_s; /* first retry delay (before jitter) */
    double backoff_max_s;     /* cap of the doubling delay */
    long connect_timeout_s;   /* TCP+TLS connect timeout */
    long low_speed_limit_bps; /* abort an attempt slower than this ... */
    long low_speed_time_s;    /* ... for this many seconds */
    long timeout_s;           /* whole-attempt cap, 0 = none */

    /* Names of environment variables holding the HTTP Basic user and
     * password. Both NULL: use the netrc file (optional). */
    const char *user_env;
    const char *password_env;
    const char *netrc_file; /* NULL: curl's default (~/.netrc) */
    const char *ca_file;    /* extra CA bundle, NULL: system default */

    /* Mirror base URLs, e.g. "https://almascience.eso.org"; when url starts
     * with one of them, the same path is tried on the others (in list
     * order, wrapping) after the retries on the first are spent. */
    const char *const *mirrors;
    int n_mirrors;

    int fsync; /* non-zero: fsync the file and its directory on success */

    asw_dl_progress_fn progress; /* optional */
    void *progress_user;
    double progress_interval_s;
};

struct asw_dl_stats {
    int64_t bytes_transferred; /* file bytes received over all attempts */
    int64_t bytes_resumed;     /* bytes the .part held before the call */
    int64_t size_bytes;        /* final file size (on success) */
    int attempts;              /* HTTP requests made (0: .part was whole) */
    int mirror;                /* index in req->mirrors used last, -1 none */
    long http_status;          /* status of the last response, 0 if none */
    double seconds;            /* wall time of the call, backoff included */
};

/*
 * Fill *req with the defaults for url and dest_path (both borrowed; they
 * must outlive the fetch): expected_bytes -1, 3 retries, backoff 1 s up to
 * 60 s, connect timeout 30 s, low-speed abort below 1 B/s for 60 s,
 * progress every 1 s, no mirrors, no fsync.
 */
void asw_dl_request_init(struct asw_dl_request *req, const char *url,
                         const char *dest_path);

/*
 * Initialise libcurl once per process (thread-safe, idempotent). Call it
 * from main before starting threads; asw_dl_fetch also calls it. Returns 0
 * or ASW_ENET with err filled.
 */
int asw_dl_global_init(struct asw_err *err);

/* Release libcurl's global state at exit. Only after all contexts are
 * freed. */
void asw_dl_global_cleanup(void);

/*
 * Create a reusable context. Returns NULL on out-of-memory (or if libcurl
 * cannot be initialised). The caller frees it with asw_dl_ctx_free. A
 * context is used by one thread at a time.
 */
struct asw_dl_ctx *asw_dl_ctx_new(void);

/* Free a context and close its connections. Accepts NULL. */
void asw_dl_ctx_free(struct asw_dl_ctx *ctx);

/*
 * Download req->url to req->dest_path using ctx's connection cache.
 * Returns 0 once dest_path holds the whole file, or a negative code with
 * err filled ("download" module):
 *   ASW_ENOTFOUND (404/410), ASW_EAUTH (401/403) - not retried;
 *   ASW_EPROTO  size mismatch against Content-Length/Content-Range or
 *               expected_bytes (the message names both numbers; the .part
 *               is removed);
 *   ASW_ENOSPC  the disk filled up (the .part is removed);
 *   ASW_ENET, ASW_EHTTP  retries and mirrors exhausted (the .part is kept
 *               so a later call resumes);
 *   ASW_EINTR   the progress callback asked to stop (.part kept);
 *   ASW_EIO, ASW_EINVAL, ASW_ECONFIG  local problems, bad request, unset
 *               credential variable.
 * A permanent error ends the call at once, without trying other mirrors
 * (authentication and sizes are the same on every mirror). st (optional)
 * is filled in every case.
 */
int asw_dl_ctx_fetch(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                     struct asw_dl_stats *st, struct asw_err *err);

/* asw_dl_ctx_fetch with a temporary context (no connection reuse). */
int asw_dl_fetch(const struct asw_dl_request *req, struct asw_dl_stats *st,
                 struct asw_err *err);

/*
 * Copy url into out (size n) without its userinfo ("user:pw@"), for
 * messages. Returns out; truncates to fit.
 */
char *asw_dl_safe_url(const char *url, char *out, size_t n);

#endif
