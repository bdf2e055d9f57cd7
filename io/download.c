/*
 * download.c - resumable, verified file downloads with libcurl.
 *
 * One attempt is one HTTP GET appending to "<dest>.part" (with a Range
 * header when the .part is not empty). Everything the transfer learns
 * (status, lengths, write errors, reasons to abort) lands in struct xfer
 * from the curl callbacks and is turned into an ASW_E* code in one place,
 * classify(), which also decides whether the failure is worth a retry.
 */
#include "io/download.h"

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

#define MOD              "download"
#define RECV_BUF_BYTES   (512L * 1024) /* CURLOPT_BUFFERSIZE */
#define WRITE_BUF_BYTES  (1024 * 1024) /* stdio buffer of the .part */
#define ERROR_BODY_DRAIN (1024 * 1024) /* read at most this of an error */
#define URL_SHOW_MAX     512

#ifdef CURL_WRITEFUNC_ERROR
#define WRITE_FAIL CURL_WRITEFUNC_ERROR
#else
#define WRITE_FAIL 0
#endif

struct asw_dl_ctx {
    CURL *curl;
    char *wbuf;   /* setvbuf buffer for the .part, WRITE_BUF_BYTES */
    uint64_t rng; /* xorshift state for the backoff jitter */
    char errbuf[CURL_ERROR_SIZE];
};

/* What one attempt learned; filled by the curl callbacks. */
struct xfer {
    const struct asw_dl_request *req;
    const char *show_url; /* userinfo already removed */
    FILE *fp;
    int fd;
    int64_t have;    /* bytes in the .part before this response's body */
    int64_t written; /* body bytes appended during this attempt */
    int64_t drained; /* bytes of an error body read and dropped */
    int64_t total;   /* final file size the server announced, -1 unknown */

    /* headers of the current response (reset at each status line, so the
     * headers of redirects and 1xx responses are forgotten) */
    long status;
    int64_t content_length;
    int64_t cr_start, cr_total; /* Content-Range, -1 when absent or '*' */
    long retry_after_s;         /* -1 when absent */

    int decided;  /* first body byte seen: file mode chosen */
    int discard;  /* the body is an error document */
    int werrno;   /* errno of a failed write, 0 if none */
    int abort_rc; /* permanent failure found in a callback */
    char abort_msg[256];
    int user_abort;
    double t0, last_progress;
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
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)s,
                          .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

struct asw_dl_ctx *asw_dl_ctx_new(void)
{
    if (asw_dl_global_init(NULL) != 0)
        return NULL;
    struct asw_dl_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->curl = curl_easy_init();
    ctx->wbuf = malloc(WRITE_BUF_BYTES);
    if (!ctx->curl || !ctx->wbuf) {
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
    if (ctx->curl)
        curl_easy_cleanup(ctx->curl);
    free(ctx->wbuf);
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
static void parse_content_range(struct xfer *x, const char *v)
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
        if (parse_i64(e + 1, &e) < 0)
            return;
        x->cr_start = a;
        p = e;
    }
    if (*p != '/')
        return;
    x->cr_total = parse_i64(p + 1, &e); /* -1 for '*' */
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    char line[512];
    size_t l = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, p, l);
    line[l] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    const char *e;

    if (strncmp(line, "HTTP/", 5) == 0) {
        const char *sp = strchr(line, ' ');
        int64_t st = sp ? parse_i64(sp, &e) : -1;
        x->status = st > 0 ? (long)st : 0;
        x->content_length = -1;
        x->cr_start = -1;
        x->cr_total = -1;
        x->retry_after_s = -1;
    } else if (strncasecmp(line, "Content-Length:", 15) == 0) {
        x->content_length = parse_i64(line + 15, &e);
    } else if (strncasecmp(line, "Content-Range:", 14) == 0) {
        parse_content_range(x, line + 14);
    } else if (strncasecmp(line, "Retry-After:", 12) == 0) {
        /* Only the delta-seconds form; an HTTP date falls back to the
         * ordinary backoff. */
        int64_t v = parse_i64(line + 12, &e);
        x->retry_after_s = v >= 0 && v < 86400 ? (long)v : -1;
    }
    return len;
}

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
    if (x->status == 200) {
        if (x->have > 0) {
            if (fflush(x->fp) != 0 || ftruncate(x->fd, 0) != 0) {
                x->werrno = errno ? errno : EIO;
                return -1;
            }
            asw_info("download %s: server ignored the range, restarting "
                     "from byte 0",
                     x->show_url);
            x->have = 0;
        }
        x->total = x->content_length;
    } else if (x->status == 206) {
        if (x->cr_start != x->have)
            return fail_in_callback(
                x, ASW_EPROTO,
                "206 response starts at byte %lld, asked for %lld",
                (long long)x->cr_start, (long long)x->have);
        if (x->cr_total >= 0)
            x->total = x->cr_total;
        else if (x->content_length >= 0)
            x->total = x->have + x->content_length;
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
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;

    if (!x->decided && decide(x) != 0)
        return WRITE_FAIL;
    if (x->discard) {
        size_t room = sizeof x->snippet - 1 - x->snippet_len;
        size_t c = len < room ? len : room;
        memcpy(x->snippet + x->snippet_len, p, c);
        x->snippet_len += c;
        x->snippet[x->snippet_len] = '\0';
        x->drained += (int64_t)len;
        /* Stop reading a huge error page; the status says enough. */
        return x->drained > ERROR_BODY_DRAIN ? WRITE_FAIL : len;
    }
    int64_t want = x->req->expected_bytes;
    if (want >= 0 && x->have + x->written + (int64_t)len > want) {
        fail_in_callback(x, ASW_EPROTO,
                         "size mismatch: server sent more than the %lld "
                         "bytes DataLink said",
                         (long long)want);
        return WRITE_FAIL;
    }
    if (fwrite(p, 1, len, x->fp) != len) {
        x->werrno = errno ? errno : EIO;
        return WRITE_FAIL;
    }
    x->written += (int64_t)len;
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = ud;
    const struct asw_dl_request *req = x->req;
    if (!req->progress || !x->decided || x->discard)
        return 0;
    double t = now_s();
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

static int is_transient_curl(CURLcode cc)
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

/* Map a curl failure that is not about the status code. */
static int curl_code(CURLcode cc)
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

/* Printable start of an error body, or "" (for the message only). */
static const char *snippet_text(struct xfer *x)
{
    for (size_t i = 0; i < x->snippet_len; i++) {
        unsigned char c = (unsigned char)x->snippet[i];
        if (c < 0x20 || c > 0x7e)
            x->snippet[i] = ' ';
    }
    return x->snippet;
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
        int code =
            (e == ENOSPC || e == EDQUOT || e == EFBIG) ? ASW_ENOSPC : ASW_EIO;
        return asw_err_set(err, code, MOD, "writing %s.part: %s",
                           x->req->dest_path, strerror(e));
    }
    if (x->abort_rc)
        return asw_err_set(err, x->abort_rc, MOD, "GET %s: %s", u,
                           x->abort_msg);
    if (x->user_abort)
        return asw_err_set(err, ASW_EINTR, MOD,
                           "GET %s: stopped by the progress callback", u);

    long st = x->status;
    if (cc != CURLE_OK && !x->discard) {
        *transient = is_transient_curl(cc);
        const char *m =
            curl_msg && *curl_msg ? curl_msg : curl_easy_strerror(cc);
        return asw_err_set(err, curl_code(cc), MOD, "GET %s: %s (curl %d)", u,
                           m, (int)cc);
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
        if (x->cr_total >= 0 && x->cr_total == x->have &&
            (want < 0 || want == x->have)) {
            x->total = x->have;
            return 0;
        }
        *transient = 1;
        *restart = 1;
        return asw_err_set(err, ASW_EHTTP, MOD,
                           "GET %s: HTTP 416, the .part (%lld bytes) does "
                           "not fit the file (%lld bytes)",
                           u, (long long)x->have, (long long)x->cr_total);
    }
    const char *sn = snippet_text(x);
    const char *sep = *sn ? ": " : "";
    if (st == 401 || st == 403)
        return asw_err_set(err, ASW_EAUTH, MOD,
                           "GET %s: HTTP %ld (credentials refused or "
                           "missing)%s%.120s",
                           u, st, sep, sn);
    if (st == 404 || st == 410)
        return asw_err_set(err, ASW_ENOTFOUND, MOD, "GET %s: HTTP %ld%s%.120s",
                           u, st, sep, sn);
    *transient = st == 408 || st == 429 || (st >= 500 && st <= 599);
    return asw_err_set(err, ASW_EHTTP, MOD, "GET %s: HTTP %ld%s%.120s", u, st,
                       sep, sn);
}

struct creds {
    const char *user;
    const char *password;
};

static void set_options(struct asw_dl_ctx *ctx,
                        const struct asw_dl_request *req, const char *url,
                        const struct creds *cr, struct xfer *x,
                        const char *range)
{
    CURL *h = ctx->curl;
    curl_easy_reset(h); /* keeps the connection and TLS session caches */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ctx->errbuf);
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
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, RECV_BUF_BYTES);
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
    if (range)
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
}

static int open_error(const char *part, int e, struct asw_err *err)
{
    int code = (e == ENOSPC || e == EDQUOT) ? ASW_ENOSPC : ASW_EIO;
    return asw_err_set(err, code, MOD, "opening %s: %s", part, strerror(e));
}

/*
 * One GET appending to part. Returns 0 when the .part holds the whole
 * file, else an ASW_E* code with err filled and *transient / *restart set.
 */
static int attempt(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                   const char *url, const char *show_url, const char *part,
                   const struct creds *cr, struct asw_dl_stats *st,
                   long *retry_after_s, int *transient, int *restart,
                   struct asw_err *err)
{
    struct xfer x;
    memset(&x, 0, sizeof x);
    x.req = req;
    x.show_url = show_url;
    x.fd = -1;
    x.total = -1;
    x.content_length = -1;
    x.cr_start = -1;
    x.cr_total = -1;
    x.retry_after_s = -1;
    *transient = 0;
    *restart = 0;
    *retry_after_s = -1;

    x.fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (x.fd < 0)
        return open_error(part, errno, err);
    struct stat sb;
    if (fstat(x.fd, &sb) != 0) {
        int e = errno;
        close(x.fd);
        return open_error(part, e, err);
    }
    x.have = (int64_t)sb.st_size;
    if (req->expected_bytes >= 0 && x.have > req->expected_bytes) {
        asw_warn("download %s: %s has %lld bytes, more than the %lld "
                 "expected; restarting",
                 show_url, part, (long long)x.have,
                 (long long)req->expected_bytes);
        if (ftruncate(x.fd, 0) != 0) {
            int e = errno;
            close(x.fd);
            return open_error(part, e, err);
        }
        x.have = 0;
    }
    x.fp = fdopen(x.fd, "a");
    if (!x.fp) {
        int e = errno;
        close(x.fd);
        return open_error(part, e, err);
    }
    setvbuf(x.fp, ctx->wbuf, _IOFBF, WRITE_BUF_BYTES);

    char range[48];
    snprintf(range, sizeof range, "%lld-", (long long)x.have);
    set_options(ctx, req, url, cr, &x, x.have > 0 ? range : NULL);
    ctx->errbuf[0] = '\0';
    x.t0 = now_s();
    x.last_progress = x.t0;

    CURLcode cc = curl_easy_perform(ctx->curl);

    long code = 0;
    if (curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &code) ==
            CURLE_OK &&
        code > 0)
        x.status = code;
    if (cc == CURLE_OK && !x.decided)
        decide(&x); /* empty body */
    if (fflush(x.fp) != 0 && !x.werrno)
        x.werrno = errno ? errno : EIO;
    if (fclose(x.fp) != 0 && !x.werrno)
        x.werrno = errno ? errno : EIO;

    st->bytes_transferred += x.written;
    st->http_status = x.status;
    *retry_after_s = x.retry_after_s;
    int rc = classify(&x, cc, ctx->errbuf, transient, restart, err);
    if (rc == 0 && req->progress)
        req->progress(req->progress_user, x.total, x.total,
                      (double)x.written / (now_s() - x.t0 + 1e-9));
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

static double backoff_s(struct asw_dl_ctx *ctx,
                        const struct asw_dl_request *req, int retry,
                        long retry_after_s)
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

int asw_dl_ctx_fetch(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                     struct asw_dl_stats *st, struct asw_err *err)
{
    struct asw_dl_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->mirror = -1;
    double t0 = now_s();
    char *part = NULL, *alt = NULL;
    char show[URL_SHOW_MAX];
    int rc;

    if (!ctx || !req || !req->url || !*req->url || !req->dest_path ||
        !*req->dest_path || req->max_retries < 0 ||
        (req->n_mirrors > 0 && !req->mirrors)) {
        rc = asw_err_set(err, ASW_EINVAL, MOD, "bad download request");
        goto out;
    }
    asw_dl_safe_url(req->url, show, sizeof show);

    struct creds cr = {NULL, NULL};
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

    struct stat sb;
    if (stat(part, &sb) == 0) {
        st->bytes_resumed = (int64_t)sb.st_size;
        /* A whole .part from an interrupted run only needs the rename. */
        if (req->expected_bytes > 0 &&
            (int64_t)sb.st_size == req->expected_bytes) {
            asw_info("download %s: %s is already complete", show, part);
            rc = finish(req, part, st, err);
            goto out;
        }
    }

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
        long retry_after = -1;
        for (int a = 0; a <= req->max_retries; a++) {
            if (a > 0) {
                double d = backoff_s(ctx, req, a - 1, retry_after);
                asw_warn("download %s: attempt %d failed (%s); retrying in "
                         "%.1f s",
                         show, st->attempts, err ? err->msg : "", d);
                sleep_s(d);
            }
            int transient, restart;
            st->attempts++;
            rc = attempt(ctx, req, url, show, part, &cr, st, &retry_after,
                         &transient, &restart, err);
            if (rc == 0) {
                rc = finish(req, part, st, err);
                goto out;
            }
            if (!transient)
                goto out;
            if (restart) {
                asw_info("download %s: %s", show, err ? err->msg : "");
                if (truncate(part, 0) != 0) {
                    rc = open_error(part, errno, err);
                    goto out;
                }
                /* One free retry: the .part was stale, not the server. */
                if (!restarted) {
                    restarted = 1;
                    a--;
                }
            }
        }
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
        if (rc == ASW_ENOSPC || rc == ASW_EPROTO ||
            (stat(part, &sb) == 0 && sb.st_size == 0))
            unlink(part);
    }
    st->seconds = now_s() - t0;
    free(part);
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
