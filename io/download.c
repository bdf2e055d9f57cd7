/*
 * download.c - resumable, verified file downloads with libcurl: the API,
 * the helpers both transfer modes share, the single stream and the tail.
 *
 * One single-stream attempt is one HTTP GET appending to "<dest>.part"
 * (with a Range header when the .part is not empty). Everything the
 * transfer learns (status, lengths, write errors, reasons to abort) lands
 * in struct xfer from the curl callbacks and is turned into an ASW_E* code
 * in one place, classify(), which also decides whether the failure is
 * worth a retry. Parallel byte ranges live in download_seg.c.
 *
 * Body bytes go from curl's receive buffer to the file with write(2)
 * directly: no stdio buffer, so no second copy in user space.
 */
#define _GNU_SOURCE /* fallocate */

#include "io/download.h"
#include "io/download_int.h"

#include "src/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MOD          ASW_DL_MOD
#define URL_SHOW_MAX 512

#define DEFAULT_MIN_SEGMENT_BYTES (64LL << 20)
#define DEFAULT_RETRY_RESET_BYTES (64LL << 20)

/* What one attempt learned; filled by the curl callbacks. */
struct xfer {
    const struct asw_dl_request *req;
    const char *show_url; /* userinfo already removed */
    int fd;
    struct asw_dl_wbuf *wb; /* bytes received, not yet written */
    int64_t have;           /* bytes in the .part before this response's body */
    int64_t written;        /* body bytes received during this attempt */
    int64_t drained;        /* bytes of an error body read and dropped */
    int64_t total; /* final file size the server announced, -1 unknown */
    struct asw_dl_hdr hdr;

    int decided;  /* first body byte seen: file mode chosen */
    int discard;  /* the body is an error document */
    int werrno;   /* errno of a failed write, 0 if none */
    int abort_rc; /* permanent failure found in a callback */
    char abort_msg[256];
    int user_abort;
    double t0, last_progress, last_flush;
    char snippet[160]; /* start of an error body, for the message */
    size_t snippet_len;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int asw_dl_global_init(struct asw_err *err)
{
    pthread_once(&global_once, global_init_once);
    if (global_rc != CURLE_OK)
        return asw_err_set(err, ASW_ENET, MOD, "curl_global_init: %s",
                           curl_easy_strerror(global_rc));
    return 0;
}

void asw_dl_global_cleanup(void)
{
    curl_global_cleanup();
}

void asw_dl_request_init(struct asw_dl_request *req, const char *url,
                         const char *dest_path)
{
    memset(req, 0, sizeof *req);
    req->url = url;
    req->dest_path = dest_path;
    req->expected_bytes = -1;
    req->max_retries = 3;
    req->backoff_initial_s = 1.0;
    req->backoff_max_s = 60.0;
    req->connect_timeout_s = 30;
    req->low_speed_limit_bps = 1;
    req->low_speed_time_s = 60;
    req->progress_interval_s = 1.0;
    req->segments = 1;
    req->min_segment_bytes = DEFAULT_MIN_SEGMENT_BYTES;
    req->retry_reset_bytes = DEFAULT_RETRY_RESET_BYTES;
}

double asw_dl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void asw_dl_sleep(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)s,
                          .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int asw_dl_wbuf_flush(struct asw_dl_wbuf *b, int fd)
{
    size_t done = 0;
    while (done < b->len) {
        ssize_t w =
            pwrite(fd, b->p + done, b->len - done, (off_t)(b->off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            /* Keep the unwritten rest at the front for the caller. */
            memmove(b->p, b->p + done, b->len - done);
            b->len -= done;
            b->off += (int64_t)done;
            return -1;
        }
        done += (size_t)w;
    }
    b->off += (int64_t)b->len;
    b->len = 0;
    return 0;
}

void asw_dl_wbuf_free(struct asw_dl_wbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

struct asw_dl_ctx *asw_dl_ctx_new(void)
{
    if (asw_dl_global_init(NULL) != 0)
        return NULL;
    struct asw_dl_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->curl = curl_easy_init();
    if (!ctx->curl) {
        asw_dl_ctx_free(ctx);
        return NULL;
    }
    /* Jitter only has to differ between ranks that fail together. */
    ctx->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
               (uint64_t)(uintptr_t)ctx;
    if (!ctx->rng)
        ctx->rng = 0x9e3779b97f4a7c15ULL;
    return ctx;
}

void asw_dl_ctx_free(struct asw_dl_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < ASW_DL_MAX_PARALLEL; i++) {
        if (ctx->pool[i])
            curl_easy_cleanup(ctx->pool[i]);
        asw_dl_wbuf_free(&ctx->pool_wb[i]);
    }
    asw_dl_wbuf_free(&ctx->wb);
    if (ctx->multi)
        curl_multi_cleanup(ctx->multi);
    if (ctx->curl)
        curl_easy_cleanup(ctx->curl);
    free(ctx);
}

/* Uniform in [0, 1). */
static double rng_unit(struct asw_dl_ctx *ctx)
{
    uint64_t x = ctx->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ctx->rng = x;
    return (double)(x >> 11) / 9007199254740992.0;
}

char *asw_dl_safe_url(const char *url, char *out, size_t n)
{
    if (!n)
        return out;
    if (!url) {
        snprintf(out, n, "%s", "(null)");
        return out;
    }
    const char *auth = strstr(url, "://");
    if (!auth) {
        snprintf(out, n, "%s", url);
        return out;
    }
    auth += 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@')
            at = p;
    if (!at) {
        snprintf(out, n, "%s", url);
        return out;
    }
    snprintf(out, n, "%.*s%s", (int)(auth - url), url, at + 1);
    return out;
}

/* ---- response headers ---------------------------------------------- */

/* Parse a non-negative decimal int64 at s (leading blanks allowed);
 * *end gets the first unparsed character. Returns -1 if there is none. */
static int64_t parse_i64(const char *s, const char **end)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s < '0' || *s > '9') {
        *end = s;
        return -1;
    }
    int64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        if (v > (INT64_MAX - 9) / 10) {
            *end = s;
            return -1;
        }
        v = v * 10 + (*s - '0');
        s++;
    }
    *end = s;
    return v;
}

/* "bytes 100-199/1000", "bytes 100-199/ *", "bytes * /1000" (no blanks). */
static void parse_content_range(struct asw_dl_hdr *h, const char *v)
{
    const char *p = v, *e;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "bytes", 5) != 0)
        return;
    p += 5;
    while (*p == ' ')
        p++;
    if (*p == '*') {
        p++;
    } else {
        int64_t a = parse_i64(p, &e);
        if (a < 0 || *e != '-')
            return;
        int64_t b = parse_i64(e + 1, &e);
        if (b < 0)
            return;
        h->cr_start = a;
        h->cr_end = b;
        p = e;
    }
    if (*p != '/')
        return;
    h->cr_total = parse_i64(p + 1, &e); /* -1 for '*' */
}

void asw_dl_hdr_reset(struct asw_dl_hdr *h)
{
    h->status = 0;
    h->content_length = -1;
    h->cr_start = -1;
    h->cr_end = -1;
    h->cr_total = -1;
    h->retry_after_s = -1;
    h->accept_ranges = 0;
}

void asw_dl_hdr_line(struct asw_dl_hdr *h, const char *p, size_t len)
{
    char line[512];
    size_t l = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, p, l);
    line[l] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    const char *e;

    if (strncmp(line, "HTTP/", 5) == 0) {
        asw_dl_hdr_reset(h);
        const char *sp = strchr(line, ' ');
        int64_t st = sp ? parse_i64(sp, &e) : -1;
        h->status = st > 0 ? (long)st : 0;
    } else if (strncasecmp(line, "Content-Length:", 15) == 0) {
        h->content_length = parse_i64(line + 15, &e);
    } else if (strncasecmp(line, "Content-Range:", 14) == 0) {
        parse_content_range(h, line + 14);
    } else if (strncasecmp(line, "Accept-Ranges:", 14) == 0) {
        const char *v = line + 14;
        while (*v == ' ' || *v == '\t')
            v++;
        h->accept_ranges = strncasecmp(v, "bytes", 5) == 0;
    } else if (strncasecmp(line, "Retry-After:", 12) == 0) {
        /* Only the delta-seconds form; an HTTP date falls back to the
         * ordinary backoff. */
        int64_t v = parse_i64(line + 12, &e);
        h->retry_after_s = v >= 0 && v < 86400 ? (long)v : -1;
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    asw_dl_hdr_line(&x->hdr, p, size * n);
    return size * n;
}

/* ---- shared classification ----------------------------------------- */

int asw_dl_curl_transient(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

int asw_dl_curl_code(CURLcode cc)
{
    switch (cc) {
    case CURLE_OUT_OF_MEMORY:
        return ASW_ENOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return ASW_EINVAL;
    case CURLE_LOGIN_DENIED:
        return ASW_EAUTH;
    case CURLE_ABORTED_BY_CALLBACK:
        return ASW_EINTR;
    default:
        return ASW_ENET;
    }
}

int asw_dl_errno_code(int e)
{
    return (e == ENOSPC || e == EDQUOT || e == EFBIG) ? ASW_ENOSPC : ASW_EIO;
}

const char *asw_dl_printable(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            s[i] = ' ';
    }
    return s;
}

int asw_dl_status_error(const char *method, long st, const char *u,
                        const char *sn, int *transient, struct asw_err *err)
{
    const char *sep = *sn ? ": " : "";
    *transient = 0;
    if (st == 401 || st == 403)
        return asw_err_set(err, ASW_EAUTH, MOD,
                           "%s %s: HTTP %ld (credentials refused or "
                           "missing)%s%.120s",
                           method, u, st, sep, sn);
    if (st == 404 || st == 410)
        return asw_err_set(err, ASW_ENOTFOUND, MOD, "%s %s: HTTP %ld%s%.120s",
                           method, u, st, sep, sn);
    *transient = st == 408 || st == 429 || (st >= 500 && st <= 599);
    return asw_err_set(err, ASW_EHTTP, MOD, "%s %s: HTTP %ld%s%.120s", method,
                       u, st, sep, sn);
}

double asw_dl_backoff(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                      int retry, long retry_after_s)
{
    double first = req->backoff_initial_s > 0 ? req->backoff_initial_s : 1.0;
    double cap = req->backoff_max_s > 0 ? req->backoff_max_s : 60.0;
    double d = first;
    for (int i = 0; i < retry && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    /* "Equal jitter": half fixed, half random, so ranks that failed
     * together do not come back together. */
    d = d / 2 + rng_unit(ctx) * d / 2;
    if (retry_after_s > 0 && (double)retry_after_s > d)
        d = (double)retry_after_s < cap ? (double)retry_after_s : cap;
    return d;
}

void asw_dl_set_common(CURL *h, const struct asw_dl_request *req,
                       const char *url, const struct asw_dl_creds *cr,
                       char *errbuf)
{
    curl_easy_reset(h); /* keeps the connection and TLS session caches */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "almasweep");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, ASW_DL_RECV_BUF_BYTES);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
                     req->connect_timeout_s > 0 ? req->connect_timeout_s : 30L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT,
                     req->low_speed_limit_bps > 0 ? req->low_speed_limit_bps
                                                  : 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     req->low_speed_time_s > 0 ? req->low_speed_time_s : 60L);
    if (req->timeout_s > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_s);
    /* Verification is not configurable on purpose (STYLE.md). */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (req->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
    if (cr->user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, cr->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, cr->password);
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    } else {
        curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
        if (req->netrc_file)
            curl_easy_setopt(h, CURLOPT_NETRC_FILE, req->netrc_file);
    }
}

/* ---- the single stream --------------------------------------------- */

static int fail_in_callback(struct xfer *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_in_callback(struct xfer *x, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->abort_msg, sizeof x->abort_msg, fmt, ap);
    va_end(ap);
    x->abort_rc = code;
    return -1;
}

/*
 * Called when the final response's body starts (or the transfer ends
 * without one): choose between appending (206 at our offset), restarting
 * (200: the server ignored the range) and discarding (an error status),
 * and check the announced size against DataLink's before any byte lands.
 */
static int decide(struct xfer *x)
{
    x->decided = 1;
    const struct asw_dl_hdr *h = &x->hdr;
    if (h->status == 200) {
        if (x->have > 0) {
            /* Unpublish before truncating, so that a reader never finds
             * fewer bytes than announced. */
            asw_dl_tail_discard(x->req->tail, 0);
            if (ftruncate(x->fd, 0) != 0) {
                x->werrno = errno ? errno : EIO;
                return -1;
            }
            asw_info("download %s: server ignored the range, restarting "
                     "from byte 0",
                     x->show_url);
            x->have = 0;
        }
        x->total = h->content_length;
    } else if (h->status == 206) {
        if (h->cr_start != x->have)
            return fail_in_callback(
                x, ASW_EPROTO,
                "206 response starts at byte %lld, asked for %lld",
                (long long)h->cr_start, (long long)x->have);
        if (h->cr_total >= 0)
            x->total = h->cr_total;
        else if (h->content_length >= 0)
            x->total = x->have + h->content_length;
        else
            x->total = -1;
    } else {
        x->discard = 1;
        return 0;
    }
    int64_t want = x->req->expected_bytes;
    if (want >= 0 && x->total >= 0 && x->total != want)
        return fail_in_callback(x, ASW_EPROTO,
                                "size mismatch: server announces %lld "
                                "bytes, DataLink said %lld",
                                (long long)x->total, (long long)want);
    /* Reserve the rest of the file without changing its size (which is
     * what a resume reads): a full disk fails now rather than later, and
     * writes into reserved blocks are cheaper for the file system. */
    if (x->total > x->have &&
        fallocate(x->fd, FALLOC_FL_KEEP_SIZE, x->have, x->total - x->have) !=
            0 &&
        errno != EOPNOTSUPP && errno != ENOSYS) {
        x->werrno = errno;
        return -1;
    }
    return 0;
}

/* Write the buffered bytes; they become visible to a tail reader. */
static int flush_body(struct xfer *x)
{
    if (x->wb->len == 0)
        return 0;
    x->last_flush = asw_dl_now();
    if (asw_dl_wbuf_flush(x->wb, x->fd) != 0) {
        x->werrno = errno ? errno : EIO;
        return -1;
    }
    asw_dl_tail_publish(x->req->tail, x->wb->off);
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;

    if (!x->decided && decide(x) != 0)
        return ASW_DL_WRITE_FAIL;
    if (x->discard) {
        size_t room = sizeof x->snippet - 1 - x->snippet_len;
        size_t c = len < room ? len : room;
        memcpy(x->snippet + x->snippet_len, p, c);
        x->snippet_len += c;
        x->snippet[x->snippet_len] = '\0';
        x->drained += (int64_t)len;
        /* Stop reading a huge error page; the status says enough. */
        return x->drained > ASW_DL_ERROR_BODY_DRAIN ? ASW_DL_WRITE_FAIL : len;
    }
    int64_t want = x->req->expected_bytes;
    if (want >= 0 && x->have + x->written + (int64_t)len > want) {
        fail_in_callback(x, ASW_EPROTO,
                         "size mismatch: server sent more than the %lld "
                         "bytes DataLink said",
                         (long long)want);
        return ASW_DL_WRITE_FAIL;
    }
    struct asw_dl_wbuf *b = x->wb;
    if (b->len == 0)
        b->off = x->have + x->written;
    while (len > 0) {
        size_t room = b->cap - b->len;
        size_t k = len < room ? len : room;
        memcpy(b->p + b->len, p, k);
        b->len += k;
        p += k;
        len -= k;
        x->written += (int64_t)k;
        if (b->len == b->cap && flush_body(x) != 0)
            return ASW_DL_WRITE_FAIL;
    }
    return size * n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = ud;
    const struct asw_dl_request *req = x->req;
    double t = asw_dl_now();
    if (x->wb->len > 0 && t - x->last_flush >= ASW_DL_FLUSH_EVERY_S &&
        flush_body(x) != 0)
        return 1; /* classify() reports werrno */
    if (!req->progress || !x->decided || x->discard)
        return 0;
    double every =
        req->progress_interval_s > 0 ? req->progress_interval_s : 1.0;
    if (t - x->last_progress < every)
        return 0;
    x->last_progress = t;
    double dt = t - x->t0;
    double rate = dt > 0 ? (double)x->written / dt : 0.0;
    if (req->progress(req->progress_user, x->have + x->written, x->total,
                      rate) != 0) {
        x->user_abort = 1;
        return 1;
    }
    return 0;
}

/*
 * Turn what one attempt learned into 0 or an ASW_E* code with err filled.
 * *transient says whether another attempt may succeed, *restart that the
 * .part must be emptied first.
 */
static int classify(struct xfer *x, CURLcode cc, const char *curl_msg,
                    int *transient, int *restart, struct asw_err *err)
{
    const char *u = x->show_url;
    *transient = 0;
    *restart = 0;

    if (x->werrno) {
        int e = x->werrno;
        return asw_err_set(err, asw_dl_errno_code(e), MOD,
                           "writing %s.part: %s", x->req->dest_path,
                           strerror(e));
    }
    if (x->abort_rc)
        return asw_err_set(err, x->abort_rc, MOD, "GET %s: %s", u,
                           x->abort_msg);
    if (x->user_abort)
        return asw_err_set(err, ASW_EINTR, MOD,
                           "GET %s: stopped by the progress callback", u);

    long st = x->hdr.status;
    if (cc != CURLE_OK && !x->discard) {
        *transient = asw_dl_curl_transient(cc);
        const char *m =
            curl_msg && *curl_msg ? curl_msg : curl_easy_strerror(cc);
        return asw_err_set(err, asw_dl_curl_code(cc), MOD,
                           "GET %s: %s (curl %d)", u, m, (int)cc);
    }
    if (st == 200 || st == 206) {
        int64_t size = x->have + x->written;
        if (x->total >= 0 && size != x->total) {
            *transient = 1;
            return asw_err_set(err, ASW_ENET, MOD,
                               "GET %s: transfer ended after %lld of %lld "
                               "bytes",
                               u, (long long)size, (long long)x->total);
        }
        int64_t want = x->req->expected_bytes;
        if (want >= 0 && size != want)
            return asw_err_set(err, ASW_EPROTO, MOD,
                               "GET %s: size mismatch: received %lld bytes, "
                               "DataLink said %lld",
                               u, (long long)size, (long long)want);
        x->total = size;
        return 0;
    }
    if (st == 416) {
        /* Our .part is at least as long as the file: either it is whole
         * already or it belongs to another version of the file. */
        int64_t want = x->req->expected_bytes;
        int64_t cr_total = x->hdr.cr_total;
        if (cr_total >= 0 && cr_total == x->have &&
            (want < 0 || want == x->have)) {
            x->total = x->have;
            return 0;
        }
        *transient = 1;
        *restart = 1;
        return asw_err_set(err, ASW_EHTTP, MOD,
                           "GET %s: HTTP 416, the .part (%lld bytes) does "
                           "not fit the file (%lld bytes)",
                           u, (long long)x->have, (long long)cr_total);
    }
    return asw_dl_status_error("GET", st, u,
                               asw_dl_printable(x->snippet, x->snippet_len),
                               transient, err);
}

static int open_error(const char *part, int e, struct asw_err *err)
{
    return asw_err_set(err, asw_dl_errno_code(e), MOD, "opening %s: %s", part,
                       strerror(e));
}

/*
 * One GET appending to part. Returns 0 when the .part holds the whole
 * file, else an ASW_E* code with err filled and *transient / *restart set.
 */
static int attempt(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                   const char *url, const char *show_url, const char *part,
                   const struct asw_dl_creds *cr, struct asw_dl_stats *st,
                   long *retry_after_s, int *transient, int *restart,
                   struct asw_err *err)
{
    struct xfer x;
    memset(&x, 0, sizeof x);
    x.req = req;
    x.show_url = show_url;
    x.total = -1;
    asw_dl_hdr_reset(&x.hdr);
    *transient = 0;
    *restart = 0;
    *retry_after_s = -1;

    if (!ctx->wb.p) {
        ctx->wb.p = malloc(ASW_DL_WBUF_BYTES);
        if (!ctx->wb.p)
            return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
        ctx->wb.cap = ASW_DL_WBUF_BYTES;
    }
    ctx->wb.len = 0;
    x.wb = &ctx->wb;
    /* O_RDWR so that the tail can read through a duplicate. Bytes go at
     * explicit offsets (pwrite), always the end of what is there. */
    x.fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (x.fd < 0)
        return open_error(part, errno, err);
    struct stat sb;
    if (fstat(x.fd, &sb) != 0) {
        int e = errno;
        close(x.fd);
        return open_error(part, e, err);
    }
    x.have = (int64_t)sb.st_size;
    asw_dl_tail_attach(req->tail, x.fd);
    if (req->expected_bytes >= 0 && x.have > req->expected_bytes) {
        asw_warn("download %s: %s has %lld bytes, more than the %lld "
                 "expected; restarting",
                 show_url, part, (long long)x.have,
                 (long long)req->expected_bytes);
        asw_dl_tail_discard(req->tail, 0);
        if (ftruncate(x.fd, 0) != 0) {
            int e = errno;
            close(x.fd);
            return open_error(part, e, err);
        }
        x.have = 0;
    }
    asw_dl_tail_publish(req->tail, x.have);

    char range[48];
    snprintf(range, sizeof range, "%lld-", (long long)x.have);
    CURL *h = ctx->curl;
    asw_dl_set_common(h, req, url, cr, ctx->errbuf);
    if (x.have > 0)
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    ctx->errbuf[0] = '\0';
    x.t0 = asw_dl_now();
    x.last_progress = x.t0;
    x.last_flush = x.t0;

    CURLcode cc = curl_easy_perform(h);

    long code = 0;
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
        code > 0)
        x.hdr.status = code;
    if (cc == CURLE_OK && !x.decided)
        decide(&x); /* empty body */
    if (!x.werrno)
        flush_body(&x);
    if (x.werrno && x.wb->len > 0) {
        /* What could not be written is not in the .part. */
        x.written -= (int64_t)x.wb->len;
        x.wb->len = 0;
    }
    if (close(x.fd) != 0 && !x.werrno)
        x.werrno = errno ? errno : EIO;

    st->bytes_transferred += x.written;
    st->http_status = x.hdr.status;
    *retry_after_s = x.hdr.retry_after_s;
    int rc = classify(&x, cc, ctx->errbuf, transient, restart, err);
    if (rc == 0 && req->progress)
        req->progress(req->progress_user, x.total, x.total,
                      (double)x.written / (asw_dl_now() - x.t0 + 1e-9));
    return rc;
}

/* fsync the directory holding path (so a rename survives a crash). */
static void fsync_parent(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int finish(const struct asw_dl_request *req, const char *part,
                  struct asw_dl_stats *st, struct asw_err *err)
{
    if (req->fsync) {
        int fd = open(part, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return asw_err_set(err, e == ENOSPC ? ASW_ENOSPC : ASW_EIO, MOD,
                               "fsync %s: %s", part, strerror(e));
        }
        close(fd);
    }
    if (rename(part, req->dest_path) != 0)
        return asw_err_set(err, ASW_EIO, MOD, "rename %s -> %s: %s", part,
                           req->dest_path, strerror(errno));
    if (req->fsync)
        fsync_parent(req->dest_path);
    struct stat sb;
    if (stat(req->dest_path, &sb) == 0)
        st->size_bytes = (int64_t)sb.st_size;
    return 0;
}

/* Index of the mirror base url starts with, -1 if none. The base must end
 * at a path boundary so "https://a.org" does not match "https://a.org.x". */
static int match_mirror(const struct asw_dl_request *req, size_t *base_len)
{
    for (int i = 0; i < req->n_mirrors; i++) {
        const char *b = req->mirrors[i];
        size_t n = b ? strlen(b) : 0;
        if (!n || strncmp(req->url, b, n) != 0)
            continue;
        char next = req->url[n];
        if (b[n - 1] == '/' || next == '/' || next == '\0' || next == '?') {
            *base_len = n;
            return i;
        }
    }
    return -1;
}

/*
 * The retries of one mirror as a single stream. Returns 0 when the .part
 * is whole, else the last attempt's code with *transient set when another
 * mirror may help.
 */
static int single_stream(struct asw_dl_ctx *ctx,
                         const struct asw_dl_request *req, const char *url,
                         const char *show, const char *part,
                         const struct asw_dl_creds *cr, struct asw_dl_stats *st,
                         int *restarted, int *transient, struct asw_err *err)
{
    long retry_after = -1;
    int failures = 0, rc = ASW_ENET;
    st->segments = 1;
    if (st->max_parallel < 1)
        st->max_parallel = 1;
    for (;;) {
        int restart;
        int64_t before = st->bytes_transferred;
        st->attempts++;
        rc = attempt(ctx, req, url, show, part, cr, st, &retry_after, transient,
                     &restart, err);
        if (rc == 0 || !*transient)
            return rc;
        if (restart) {
            asw_info("download %s: %s", show, err ? err->msg : "");
            asw_dl_tail_discard(req->tail, 0);
            if (truncate(part, 0) != 0)
                return open_error(part, errno, err);
            /* One free retry: the .part was stale, not the server. */
            if (!*restarted) {
                *restarted = 1;
                continue;
            }
        }
        /* Progress forgives: only attempts that got little count. */
        if (req->retry_reset_bytes > 0 &&
            st->bytes_transferred - before >= req->retry_reset_bytes)
            failures = 0;
        else
            failures++;
        if (failures > req->max_retries)
            return rc;
        double d = asw_dl_backoff(ctx, req, failures - 1, retry_after);
        asw_warn("download %s: attempt %d failed (%s); retrying in %.1f s",
                 show, st->attempts, err ? err->msg : "", d);
        asw_dl_sleep(d);
    }
}

static int file_exists(const char *path, int64_t *size)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return 0;
    if (size)
        *size = (int64_t)sb.st_size;
    return 1;
}

/*
 * Whether to split the file: a sidecar from an earlier call always
 * continues as segments; otherwise the size must be known (DataLink or a
 * HEAD that also announces ranges) and big enough. Sets *total (-1 when a
 * sidecar must supply it). Returns 0 or a permanent HEAD error.
 */
static int choose_mode(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                       const char *show, const char *state,
                       const struct asw_dl_creds *cr, struct asw_dl_stats *st,
                       int *segmented, int64_t *total, struct asw_err *err)
{
    *segmented = 0;
    *total = req->expected_bytes;
    if (file_exists(state, NULL)) {
        *segmented = 1;
        return 0;
    }
    if (req->segments <= 1)
        return 0;
    int64_t min_seg = req->min_segment_bytes > 0 ? req->min_segment_bytes : 1;
    if (*total < 0) {
        int64_t size = -1;
        int ranges = 0, transient = 0;
        struct asw_err herr = {0};
        st->attempts++;
        int rc = asw_dl_head(ctx, req, req->url, show, cr, &size, &ranges,
                             &transient, &herr);
        if (rc && !transient) {
            if (err)
                *err = herr;
            return rc;
        }
        if (rc) {
            /* The single stream has its own retries. */
            asw_info("download %s: HEAD failed (%s); one stream", show,
                     herr.msg);
            return 0;
        }
        if (!ranges || size < 0) {
            asw_info("download %s: no byte ranges announced; one stream", show);
            return 0;
        }
        *total = size;
    }
    *segmented = *total >= 2 * min_seg;
    return 0;
}

int asw_dl_ctx_fetch(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                     struct asw_dl_stats *st, struct asw_err *err)
{
    struct asw_dl_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->mirror = -1;
    double t0 = asw_dl_now();
    char *part = NULL, *state = NULL, *alt = NULL;
    char show[URL_SHOW_MAX];
    int rc;

    if (!ctx || !req || !req->url || !*req->url || !req->dest_path ||
        !*req->dest_path || req->max_retries < 0 ||
        (req->n_mirrors > 0 && !req->mirrors) ||
        (req->tail && req->dest_path[0] != '/')) {
        rc = asw_err_set(err, ASW_EINVAL, MOD, "bad download request");
        goto out;
    }
    asw_dl_safe_url(req->url, show, sizeof show);

    struct asw_dl_creds cr = {NULL, NULL};
    if (req->user_env || req->password_env) {
        const char *names[2] = {req->user_env, req->password_env};
        const char *vals[2];
        for (int i = 0; i < 2; i++) {
            vals[i] = names[i] ? getenv(names[i]) : NULL;
            if (!vals[i]) {
                rc = asw_err_set(err, ASW_ECONFIG, MOD,
                                 "credential variable %s (%s) is not set",
                                 names[i] ? names[i] : "(none)",
                                 i ? "password" : "user");
                goto out;
            }
        }
        cr.user = vals[0];
        cr.password = vals[1];
    }

    size_t dlen = strlen(req->dest_path);
    part = malloc(dlen + sizeof ".part");
    if (!part) {
        rc = asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
        goto out;
    }
    memcpy(part, req->dest_path, dlen);
    memcpy(part + dlen, ".part", sizeof ".part");
    state = asw_dl_state_path(part);
    if (!state) {
        rc = asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
        goto out;
    }

    int64_t have = 0;
    int has_part = file_exists(part, &have);
    if (!has_part && file_exists(state, NULL))
        unlink(state); /* a sidecar without its .part means nothing */
    if (has_part && !file_exists(state, NULL)) {
        st->bytes_resumed = have;
        /* A whole .part from an interrupted run only needs the rename. A
         * segmented .part is full-sized from the start, which is why this
         * needs the sidecar to be absent. */
        if (req->expected_bytes > 0 && have == req->expected_bytes) {
            asw_info("download %s: %s is already complete", show, part);
            rc = finish(req, part, st, err);
            goto out;
        }
    }

    int segmented;
    int64_t total;
    rc = choose_mode(ctx, req, show, state, &cr, st, &segmented, &total, err);
    if (rc)
        goto out;

    size_t base_len = 0;
    int m0 = match_mirror(req, &base_len);
    int n_cand = m0 >= 0 ? req->n_mirrors : 1;
    int restarted = 0;
    rc = ASW_ENET;
    for (int k = 0; k < n_cand; k++) {
        const char *url = req->url;
        if (k > 0) {
            int mi = (m0 + k) % req->n_mirrors;
            const char *b = req->mirrors[mi];
            free(alt);
            alt = malloc(strlen(b) + strlen(req->url + base_len) + 1);
            if (!alt) {
                rc = asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
                goto out;
            }
            strcpy(alt, b);
            strcat(alt, req->url + base_len);
            url = alt;
            asw_dl_safe_url(url, show, sizeof show);
            asw_warn("download: failing over to %s", show);
        }
        if (m0 >= 0)
            st->mirror = (m0 + k) % req->n_mirrors;
        int transient = 0;
        if (segmented) {
            rc = asw_dl_seg_run(ctx, req, url, show, part, state, total, &cr,
                                st, &transient, err);
            if (rc == ASW_DL_NO_RANGES) {
                asw_info("download %s: ranges not served; one stream", show);
                segmented = 0;
                asw_dl_tail_discard(req->tail, 0);
            }
        }
        if (!segmented)
            rc = single_stream(ctx, req, url, show, part, &cr, st, &restarted,
                               &transient, err);
        if (rc == 0) {
            rc = finish(req, part, st, err);
            goto out;
        }
        if (!transient)
            goto out;
    }
    if (err && err->code) {
        char last[ASW_ERR_MSG_MAX];
        snprintf(last, sizeof last, "%s", err->msg);
        asw_err_set(err, rc, MOD, "%.*s (gave up after %d attempts)",
                    ASW_ERR_MSG_MAX - 40, last, st->attempts);
    }

out:
    if (rc != 0 && part) {
        /* A .part we cannot trust, or one that only holds the space the
         * disk lacks, goes; any other keeps its bytes for a resume. */
        int64_t size = -1;
        int has_state = state && file_exists(state, NULL);
        if (rc == ASW_ENOSPC || rc == ASW_EPROTO ||
            (!has_state && file_exists(part, &size) && size == 0)) {
            unlink(part);
            if (state)
                unlink(state);
        }
    }
    if (req && req->tail) {
        if (rc == 0) {
            /* The reader may not have a descriptor yet (nothing had to be
             * fetched); the renamed file is the same one otherwise. */
            int fd = open(req->dest_path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                asw_dl_tail_attach(req->tail, fd);
                close(fd);
            }
        }
        asw_dl_tail_finish(req->tail, rc, st->size_bytes, err);
    }
    st->seconds = asw_dl_now() - t0;
    free(part);
    free(state);
    free(alt);
    return rc;
}

int asw_dl_fetch(const struct asw_dl_request *req, struct asw_dl_stats *st,
                 struct asw_err *err)
{
    int rc = asw_dl_global_init(err);
    if (rc)
        return rc;
    struct asw_dl_ctx *ctx = asw_dl_ctx_new();
    if (!ctx) {
        if (st) {
            memset(st, 0, sizeof *st);
            st->mirror = -1;
        }
        return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
    }
    rc = asw_dl_ctx_fetch(ctx, req, st, err);
    asw_dl_ctx_free(ctx);
    return rc;
}

/* ---- the tail ------------------------------------------------------ */

struct asw_dl_tail {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;    /* duplicate of the downloader's .part, -1 none */
    dev_t dev; /* identity of that file */
    ino_t ino;
    int64_t published; /* bytes from 0 known to be final */
    int64_t read_max;  /* furthest byte handed to the reader */
    int finished;      /* the download returned */
    int rc;            /* its code */
    int64_t size;      /* the file's size on success */
    int broken;        /* bytes the reader may have used were rewritten */
    int cancelled;
    struct asw_err err;
};

struct asw_dl_tail *asw_dl_tail_new(void)
{
    struct asw_dl_tail *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->fd = -1;
    return t;
}

void asw_dl_tail_free(struct asw_dl_tail *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void asw_dl_tail_attach(struct asw_dl_tail *t, int fd)
{
    if (!t)
        return;
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return;
    pthread_mutex_lock(&t->mu);
    if (t->fd < 0 || t->dev != sb.st_dev || t->ino != sb.st_ino) {
        if (t->fd >= 0) {
            close(t->fd);
            if (t->read_max > 0)
                t->broken = 1; /* another file than the one read so far */
        }
        t->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        t->dev = sb.st_dev;
        t->ino = sb.st_ino;
        t->published = 0;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void asw_dl_tail_publish(struct asw_dl_tail *t, int64_t prefix)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    if (prefix > t->published) {
        t->published = prefix;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
}

void asw_dl_tail_discard(struct asw_dl_tail *t, int64_t prefix)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    if (t->read_max > prefix)
        t->broken = 1;
    if (t->published > prefix)
        t->published = prefix;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void asw_dl_tail_finish(struct asw_dl_tail *t, int rc, int64_t size,
                        const struct asw_err *err)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    if (!t->finished) {
        t->finished = 1;
        t->rc = rc;
        t->size = size;
        if (rc == 0)
            t->published = size;
        else if (err)
            t->err = *err;
        else
            asw_err_set(&t->err, rc, MOD, "download failed");
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

long asw_dl_tail_read(struct asw_dl_tail *t, void *buf, size_t n, int64_t off,
                      struct asw_err *err)
{
    if (!t || off < 0)
        return asw_err_set(err, ASW_EINVAL, MOD, "bad tail read");
    pthread_mutex_lock(&t->mu);
    for (;;) {
        if (t->cancelled) {
            pthread_mutex_unlock(&t->mu);
            return asw_err_set(err, ASW_EINTR, MOD, "tail cancelled");
        }
        if (t->broken) {
            pthread_mutex_unlock(&t->mu);
            return asw_err_set(err, ASW_EPROTO, MOD,
                               "the download restarted under the reader");
        }
        if (t->finished && t->rc) {
            int rc = t->rc;
            if (err)
                *err = t->err;
            pthread_mutex_unlock(&t->mu);
            return rc;
        }
        if (t->finished && off >= t->size) {
            pthread_mutex_unlock(&t->mu);
            return 0;
        }
        if (t->fd >= 0 && off < t->published)
            break;
        pthread_cond_wait(&t->cv, &t->mu);
    }
    int64_t avail = t->published - off;
    size_t want = (int64_t)n < avail ? n : (size_t)avail;
    int fd = t->fd;
    /* pread under the lock: attach may swap the descriptor otherwise. The
     * bytes are in the page cache, so this is a copy, not a wait. */
    ssize_t r;
    do
        r = pread(fd, buf, want, (off_t)off);
    while (r < 0 && errno == EINTR);
    int e = errno;
    if (r > 0 && off + r > t->read_max)
        t->read_max = off + r;
    pthread_mutex_unlock(&t->mu);
    if (r < 0)
        return asw_err_set(err, ASW_EIO, MOD, "reading the .part: %s",
                           strerror(e));
    if (r == 0)
        return asw_err_set(err, ASW_EIO, MOD,
                           "the .part is shorter than published");
    return (long)r;
}

void asw_dl_tail_cancel(struct asw_dl_tail *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->cancelled = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

int asw_dl_tail_cancelled(struct asw_dl_tail *t)
{
    if (!t)
        return 0;
    pthread_mutex_lock(&t->mu);
    int c = t->cancelled;
    pthread_mutex_unlock(&t->mu);
    return c;
}
