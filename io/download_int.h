/*
 * download_int.h - internals shared by download.c (the API, the single
 * stream and the tail) and download_seg.c (parallel byte ranges). Not part
 * of the module's interface: nothing outside io/download*.c includes it.
 */
#ifndef ASW_DOWNLOAD_INT_H
#define ASW_DOWNLOAD_INT_H

#include "io/download.h"

#include <curl/curl.h>
#include <stdint.h>

#define ASW_DL_MOD "download"

/* Most transfers one file runs at once (req->segments is clamped). */
#define ASW_DL_MAX_PARALLEL 32

/* Receive buffer of every easy handle: curl's maximum before 8.x. */
#define ASW_DL_RECV_BUF_BYTES (512L * 1024)

/* Read at most this much of an error document before giving up on it. */
#define ASW_DL_ERROR_BODY_DRAIN (1024 * 1024)

#ifdef CURL_WRITEFUNC_ERROR
#define ASW_DL_WRITE_FAIL CURL_WRITEFUNC_ERROR
#else
#define ASW_DL_WRITE_FAIL 0
#endif

/*
 * Write combining. libcurl (7.x) hands a body to the write callback in
 * 16 KiB slices (CURL_MAX_WRITE_SIZE) whatever its receive buffer; one
 * write(2) per slice costs more than copying the slices into a buffer and
 * writing that. The buffer stays small enough to remain in the CPU cache
 * between the copy in and the kernel's copy out: measured on 2 GiB, a
 * 2 MiB buffer cost twice the kernel time of a 128 KiB one
 * (docs/benchmarks.md).
 */
struct asw_dl_wbuf {
    char *p;    /* malloc'd on first use, cap bytes */
    size_t len; /* bytes waiting */
    size_t cap;
    int64_t off; /* file offset of p[0] */
};

/* Buffered bytes older than this are written anyway, so that a slow link
 * still feeds a tail reader and the sidecar's progress. */
#define ASW_DL_FLUSH_EVERY_S 0.2

/* Bytes of the single stream's buffer and of each segment's. */
#define ASW_DL_WBUF_BYTES     ((size_t)128 << 10)
#define ASW_DL_SEG_WBUF_BYTES ((size_t)128 << 10)

/* Write what b holds at b->off and advance b->off. Returns 0 or -1 with
 * errno set (b unchanged then). */
int asw_dl_wbuf_flush(struct asw_dl_wbuf *b, int fd);

/* Free b's memory. */
void asw_dl_wbuf_free(struct asw_dl_wbuf *b);

struct asw_dl_ctx {
    CURL *curl;                      /* single stream and HEAD */
    CURLM *multi;                    /* segments; created on first use */
    CURL *pool[ASW_DL_MAX_PARALLEL]; /* easy handles of the multi */
    struct asw_dl_wbuf wb;           /* the single stream's buffer */
    struct asw_dl_wbuf pool_wb[ASW_DL_MAX_PARALLEL]; /* the segments' */
    uint64_t rng; /* xorshift state for the jitter */
    char errbuf[CURL_ERROR_SIZE];
};

/* HTTP Basic credentials from the environment (borrowed from getenv);
 * both NULL: the netrc file is used. */
struct asw_dl_creds {
    const char *user;
    const char *password;
};

/* The headers of one response (reset at each status line, so those of
 * redirects and 1xx responses are forgotten). */
struct asw_dl_hdr {
    long status;
    int64_t content_length;             /* -1 when absent */
    int64_t cr_start, cr_end, cr_total; /* Content-Range, -1 absent or '*' */
    long retry_after_s;                 /* -1 when absent */
    int accept_ranges;                  /* "Accept-Ranges: bytes" seen */
};

/* Reset *h to "nothing seen yet". */
void asw_dl_hdr_reset(struct asw_dl_hdr *h);

/* Parse one raw header line (len bytes at p, CRLF included) into *h. */
void asw_dl_hdr_line(struct asw_dl_hdr *h, const char *p, size_t len);

/*
 * Set the options every request of req shares on h after resetting it:
 * URL, error buffer, TLS verification, protocols, redirects, timeouts and
 * low-speed limit, receive buffer, credentials. The caller adds range and
 * callbacks.
 */
void asw_dl_set_common(CURL *h, const struct asw_dl_request *req,
                       const char *url, const struct asw_dl_creds *cr,
                       char *errbuf);

/* Whether another attempt may cure a curl failure. */
int asw_dl_curl_transient(CURLcode cc);

/* The ASW_E* code for a curl failure that is not about the status. */
int asw_dl_curl_code(CURLcode cc);

/* The ASW_E* code for a failed write or allocation (errno e). */
int asw_dl_errno_code(int e);

/*
 * Fill err for an HTTP status that is not a success (method "GET" or
 * "HEAD", show_url without credentials, snippet the printable start of
 * the error body or "") and set *transient. Returns the code (ASW_EAUTH,
 * ASW_ENOTFOUND, ASW_EHTTP).
 */
int asw_dl_status_error(const char *method, long status, const char *show_url,
                        const char *snippet, int *transient,
                        struct asw_err *err);

/* Make the bytes of an error body printable in place; returns s. */
const char *asw_dl_printable(char *s, size_t len);

/* Monotonic seconds. */
double asw_dl_now(void);

/* Sleep s seconds (EINTR-safe). */
void asw_dl_sleep(double s);

/* The delay before retry number `retry` (0-based): doubling from
 * backoff_initial_s up to backoff_max_s, equal jitter, at least the
 * server's Retry-After (capped too). */
double asw_dl_backoff(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                      int retry, long retry_after_s);

/* ---- the tail, publisher side (no-ops when t is NULL) -------------- */

/* Read the published bytes through fd (duplicated). Called whenever the
 * downloader opens the .part; a different file than before discards
 * what was published. */
void asw_dl_tail_attach(struct asw_dl_tail *t, int fd);

/* The first `prefix` bytes of the .part are final. */
void asw_dl_tail_publish(struct asw_dl_tail *t, int64_t prefix);

/* Bytes below what was published are being rewritten: a reader past
 * `prefix` can no longer trust what it read and fails. */
void asw_dl_tail_discard(struct asw_dl_tail *t, int64_t prefix);

/* The download ended: rc 0 with the file's size, or the error. */
void asw_dl_tail_finish(struct asw_dl_tail *t, int rc, int64_t size,
                        const struct asw_err *err);

/* ---- parallel byte ranges (download_seg.c) ------------------------- */

/* seg_run's answer when the server ignores ranges: fetch as one stream. */
#define ASW_DL_NO_RANGES 1

/* Path of the sidecar of part ("<part>.state"), malloc'd, or NULL. */
char *asw_dl_state_path(const char *part);

/*
 * HEAD url: the file's size (*size_bytes, -1 unknown) and whether the
 * server announces byte ranges. Returns 0, or a permanent error (404, 401)
 * with err filled, or a transient one with *transient set.
 */
int asw_dl_head(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                const char *url, const char *show_url,
                const struct asw_dl_creds *cr, int64_t *size_bytes, int *ranges,
                int *transient, struct asw_err *err);

/*
 * Fetch url into part (total_bytes long, -1: take the size from the
 * sidecar) as parallel ranges, resuming from the sidecar state_path.
 * Returns 0 when the .part is whole (the sidecar is then gone),
 * ASW_DL_NO_RANGES when the server answered a range with 200 (the .part
 * and sidecar are removed), or a negative code with err filled and
 * *transient set when another mirror may help. Adds to *st.
 */
int asw_dl_seg_run(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                   const char *url, const char *show_url, const char *part,
                   const char *state_path, int64_t total_bytes,
                   const struct asw_dl_creds *cr, struct asw_dl_stats *st,
                   int *transient, struct asw_err *err);

#endif
