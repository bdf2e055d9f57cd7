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
 * A large file can be fetched as several byte ranges in parallel
 * (req->segments, curl multi, one single-range request per segment; the
 * archive does not serve multi-range requests). The .part is then
 * preallocated to the full size, each segment is written in place with
 * pwrite, and the progress of every segment is kept in the sidecar
 * "<dest>.part.state" so that each segment resumes on its own, in this
 * call (retries) or a later one. A .part with a sidecar is never taken for
 * a complete file. A connection that finishes early takes over half of the
 * largest remaining segment, so one slow connection does not hold up the
 * end of the file.
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

/* A reusable transfer context (keeps its CURL easy and multi handles, so
 * connections and TLS sessions to a mirror are reused across files).
 * Opaque. */
struct asw_dl_ctx;

/*
 * The arrived prefix of a file being downloaded, for a reader running
 * concurrently on another thread (extraction while downloading). The
 * downloader publishes how many bytes from the start of the .part are on
 * disk; asw_dl_tail_read waits for them. Opaque.
 */
struct asw_dl_tail;

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

    /* Parallel byte ranges for one file: at most `segments` requests at a
     * time, none for less than min_segment_bytes, so files smaller than
     * twice that stay single-stream. The size must be known (from
     * expected_bytes, else a HEAD request) and the server must answer
     * ranges with 206; otherwise the file is fetched as one stream. */
    int segments;
    int64_t min_segment_bytes;

    /* An attempt that moved the file forward by at least this many bytes
     * does not count against max_retries (a 30 GB file on a link that
     * drops every few GB still completes); 0: every attempt counts. */
    int64_t retry_reset_bytes;

    /* Optional: publish the arrived prefix here (borrowed; see
     * asw_dl_tail_new). Needs an absolute dest_path: the reader may
     * change the working directory (asw_untar does; its own thread's
     * only, unless the kernel refuses a private one). */
    struct asw_dl_tail *tail;
};

struct asw_dl_stats {
    int64_t bytes_transferred; /* file bytes received over all attempts */
    int64_t bytes_resumed;     /* bytes the .part held before the call */
    int64_t size_bytes;        /* final file size (on success) */
    int attempts;              /* HTTP requests made (0: .part was whole) */
    int mirror;                /* index in req->mirrors used last, -1 none */
    long http_status;          /* status of the last response, 0 if none */
    double seconds;            /* wall time of the call, backoff included */
    int segments;              /* byte ranges the file was split into in
                                  this call (stolen halves included); 1 for
                                  a single stream, 0 if nothing was fetched */
    int max_parallel;          /* most transfers running at once */
};

/*
 * Fill *req with the defaults for url and dest_path (both borrowed; they
 * must outlive the fetch): expected_bytes -1, 3 retries, backoff 1 s up to
 * 60 s, connect timeout 30 s, low-speed abort below 1 B/s for 60 s,
 * progress every 1 s, no mirrors, no fsync, a single stream (segments 1,
 * min_segment_bytes 64 MiB), retry_reset_bytes 64 MiB, no tail.
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
 *               and its sidecar are removed);
 *   ASW_ENOSPC  the disk filled up (the .part and sidecar are removed);
 *   ASW_ENET, ASW_EHTTP  retries and mirrors exhausted (the .part and
 *               sidecar are kept so a later call resumes);
 *   ASW_EINTR   the progress callback asked to stop (.part kept);
 *   ASW_EIO, ASW_EINVAL, ASW_ECONFIG  local problems, bad request, unset
 *               credential variable.
 * A permanent error ends the call at once, without trying other mirrors
 * (authentication and sizes are the same on every mirror). In segmented
 * mode max_retries counts per segment. st (optional) is filled in every
 * case.
 */
int asw_dl_ctx_fetch(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                     struct asw_dl_stats *st, struct asw_err *err);

/* asw_dl_ctx_fetch with a temporary context (no connection reuse). */
int asw_dl_fetch(const struct asw_dl_request *req, struct asw_dl_stats *st,
                 struct asw_err *err);

/*
 * Create an empty tail for one download. Returns NULL on out-of-memory;
 * free with asw_dl_tail_free after both the downloader and the reader are
 * done with it. Use a tail for one asw_dl_ctx_fetch call only.
 */
struct asw_dl_tail *asw_dl_tail_new(void);

/* Free a tail. Accepts NULL. */
void asw_dl_tail_free(struct asw_dl_tail *t);

/*
 * Reader side: copy up to n bytes at offset off of the file being
 * downloaded into buf, blocking until they have arrived. Returns the
 * number of bytes copied (> 0), 0 at the end of the completed and verified
 * file, or a negative ASW_E* code with err filled: the download failed
 * (its code), the downloader had to discard bytes already published
 * (ASW_EPROTO, "restarted"), or the tail was cancelled (ASW_EINTR).
 */
long asw_dl_tail_read(struct asw_dl_tail *t, void *buf, size_t n, int64_t off,
                      struct asw_err *err);

/*
 * Reader side: give up reading (e.g. the extraction failed). Wakes a
 * blocked asw_dl_tail_read, which returns ASW_EINTR, and makes
 * asw_dl_tail_cancelled true. The download itself is not stopped; its
 * progress callback may check asw_dl_tail_cancelled.
 */
void asw_dl_tail_cancel(struct asw_dl_tail *t);

/* Whether asw_dl_tail_cancel was called (thread-safe). */
int asw_dl_tail_cancelled(struct asw_dl_tail *t);

/*
 * Copy url into out (size n) without its userinfo ("user:pw@"), for
 * messages. Returns out; truncates to fit.
 */
char *asw_dl_safe_url(const char *url, char *out, size_t n);

#endif
