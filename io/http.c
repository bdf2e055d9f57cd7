#include "http.h"

#include "src/log.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ERRBODY_MAX                                                            \
    2048                   /* start of a transient error body, kept for        \
                                the message */
#define RETRY_AFTER_MAX 60 /* seconds; a longer Retry-After is capped */

struct asw_http_client {
    CURL *h;
};

struct asw_http_client *asw_http_client_new(void)
{
    struct asw_http_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->h = curl_easy_init();
    if (!c->h) {
        free(c);
        return NULL;
    }
    return c;
}

void asw_http_client_free(struct asw_http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->h);
    free(c);
}

/* One attempt's state, shared by the header and body callbacks. */
struct xfer {
    CURL *h;
    const struct asw_http_sink *sink;
    struct asw_err *err;
    int sink_rc;        /* the sink stopped the transfer with this code */
    int status_checked; /* the first body byte has been seen */
    int discard;        /* transient status: keep the body out of the sink */
    char errbody[ERRBODY_MAX + 1];
    size_t errbody_len;
    long retry_after_s;
};

static int transient_http(long status)
{
    return status >= 500 || status == 429 || status == 408;
}

/* curl failures that another attempt cannot cure. */
static int permanent_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_LOGIN_DENIED:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_FILESIZE_EXCEEDED:
        return 1;
    default:
        return 0;
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
        x->retry_after_s = 0; /* a new response (after a redirect) */
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        char tmp[32];
        size_t k = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
        memcpy(tmp, p + 12, k);
        tmp[k] = '\0';
        char *end;
        long v = strtol(tmp, &end, 10);
        /* Only delta-seconds; an HTTP date falls back to our backoff. */
        if (end != tmp && v > 0)
            x->retry_after_s = v > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : v;
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    if (!x->status_checked) {
        long st = 0;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &st);
        x->discard = transient_http(st);
        x->status_checked = 1;
    }
    if (x->discard) {
        size_t k = ERRBODY_MAX - x->errbody_len;
        if (k > len)
            k = len;
        memcpy(x->errbody + x->errbody_len, p, k);
        x->errbody_len += k;
        x->errbody[x->errbody_len] = '\0';
        return len;
    }
    if (x->sink && x->sink->write) {
        int rc = x->sink->write(x->sink->ud, p, len, x->err);
        if (rc) {
            x->sink_rc = rc;
            return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
        }
    }
    return len;
}

static double rand01(void)
{
    /* Jitter only: rand() is good enough and needs no seeding policy. */
    return (double)rand() / RAND_MAX;
}

static void backoff(long initial_ms, int attempt, long retry_after_s)
{
    /* initial, 2x, 4x ... capped at 30 s, with +-50% jitter, and never
     * less than the server's Retry-After. */
    double base = (double)initial_ms / 1000.0 *
                  (double)(1L << (attempt < 10 ? attempt : 10));
    if (base > 30)
        base = 30;
    double s = base * (0.5 + rand01());
    if (s < (double)retry_after_s)
        s = (double)retry_after_s;
    struct timespec ts = {(time_t)s, (long)((s - (double)(long)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* A DALI error document's text (the INFO QUERY_STATUS="ERROR"), moved to
 * the start of s, so that a 5xx carrying one names the archive's cause. */
static void dali_error_first(char *s)
{
    char *p = strstr(s, "QUERY_STATUS");
    if (!p || !(p = strstr(p, "ERROR")) || !(p = strchr(p, '>')))
        return;
    p++;
    size_t n = strcspn(p, "<");
    memmove(s, p, n);
    s[n] = '\0';
}

/* The start of an error body as one line of printable text. */
static void squash(char *s)
{
    char *w = s;
    int space = 0;
    for (char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isspace(c) || c < 0x20) {
            space = w != s;
            continue;
        }
        if (space)
            *w++ = ' ';
        space = 0;
        *w++ = (char)c;
    }
    *w = '\0';
}

static void setup(CURL *h, const char *url, const char *form,
                  const struct asw_http_opts *o, char *ebuf, struct xfer *x)
{
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    /* Verification is not configurable on purpose (STYLE.md). */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file && *o->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    if (o->user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, o->password ? o->password : "");
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    } else {
        curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
    }
    curl_easy_setopt(h, CURLOPT_USERAGENT, "almasweep");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    if (form)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
}

int asw_http_request_sink(const char *url, const char *form,
                          const struct asw_http_opts *opts,
                          const struct asw_http_sink *sink, long *status,
                          struct asw_err *err)
{
    struct asw_http_opts o = {.retries = 3,
                              .connect_timeout_s = 30,
                              .timeout_s = 900,
                              .backoff_ms = 500};
    if (opts) {
        o.retries = opts->retries > 0 ? opts->retries : 0;
        if (opts->connect_timeout_s)
            o.connect_timeout_s = opts->connect_timeout_s;
        if (opts->timeout_s)
            o.timeout_s = opts->timeout_s;
        if (opts->backoff_ms)
            o.backoff_ms = opts->backoff_ms;
        o.client = opts->client;
        o.user = opts->user;
        o.password = opts->password;
        o.ca_file = opts->ca_file;
    }
    CURL *h = o.client ? o.client->h : curl_easy_init();
    if (!h)
        return asw_err_set(err, ASW_ENOMEM, "http", "curl_easy_init failed");
    char ebuf[CURL_ERROR_SIZE];
    int rc = 0;
    *status = 0;
    for (int attempt = 0;; attempt++) {
        struct xfer x = {.h = h, .sink = sink, .err = err};
        ebuf[0] = '\0';
        if (sink && sink->reset && (rc = sink->reset(sink->ud))) {
            rc = asw_err_set(err, rc, "http", "out of memory");
            break;
        }
        setup(h, url, form, &o, ebuf, &x);
        CURLcode cc = curl_easy_perform(h);
        long st = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        *status = st;
        if (cc == CURLE_WRITE_ERROR && x.sink_rc) {
            rc = x.sink_rc; /* the sink's verdict, message already in err */
            break;
        }
        int transient = (cc != CURLE_OK && !permanent_curl(cc)) ||
                        (cc == CURLE_OK && transient_http(st));
        if (cc == CURLE_OK && !transient) {
            rc = 0;
            break;
        }
        const char *why;
        char what[600];
        if (cc == CURLE_PARTIAL_FILE) {
            snprintf(what, sizeof what,
                     "the answer was cut short (HTTP %ld: %s)", st,
                     ebuf[0] ? ebuf : curl_easy_strerror(cc));
        } else if (cc != CURLE_OK) {
            snprintf(what, sizeof what, "%s",
                     ebuf[0] ? ebuf : curl_easy_strerror(cc));
        } else {
            dali_error_first(x.errbody);
            squash(x.errbody);
            snprintf(what, sizeof what, "HTTP %ld%s%.300s", st,
                     x.errbody[0] ? ": " : "", x.errbody);
        }
        why = what;
        if (!transient || attempt >= o.retries) {
            int code = cc != CURLE_OK ? ASW_ENET : ASW_EHTTP;
            if (transient && o.retries > 0)
                rc = asw_err_set(err, code, "http", "%s: %s (after %d tries)",
                                 url, why, attempt + 1);
            else
                rc = asw_err_set(err, code, "http", "%s: %s", url, why);
            break;
        }
        asw_warn("%s: %s; retrying (%d/%d)", url, why, attempt + 1, o.retries);
        backoff(o.backoff_ms, attempt, x.retry_after_s);
    }
    if (!o.client)
        curl_easy_cleanup(h);
    return rc;
}

/* The buffer sink of asw_http_request. */
struct bufsink {
    struct asw_buf *b;
    size_t start;
    size_t cap;
    const char *url;
};

static int buf_write(void *ud, const char *data, size_t len,
                     struct asw_err *err)
{
    struct bufsink *s = ud;
    if (s->b->len + len > s->cap)
        return asw_err_set(err, ASW_ETOOBIG, "http",
                           "response from %s exceeds %zu bytes", s->url,
                           s->cap - s->start);
    if (asw_buf_append(s->b, data, len))
        return asw_err_set(err, ASW_ENOMEM, "http", "out of memory");
    return 0;
}

static int buf_reset(void *ud)
{
    struct bufsink *s = ud;
    s->b->len = s->start;
    if (s->b->data)
        s->b->data[s->start] = '\0';
    return 0;
}

int asw_http_request(const char *url, const char *form,
                     const struct asw_http_opts *opts, struct asw_buf *body,
                     long *status, struct asw_err *err)
{
    size_t max = opts && opts->max_body ? opts->max_body : (size_t)1 << 30;
    struct bufsink s = {body, body->len, body->len + max, url};
    size_t saved = body->max;
    if (body->max < s.cap)
        body->max = s.cap;
    struct asw_http_sink sink = {buf_write, buf_reset, &s};
    int rc = asw_http_request_sink(url, form, opts, &sink, status, err);
    body->max = saved;
    return rc;
}

char *asw_http_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    char *p = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *asw_http_unescape(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0) {
            *w++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return s;
}
