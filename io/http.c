#include "http.h"

#include "src/log.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct asw_buf *b = ud;
    /* Returning less than asked makes curl fail with CURLE_WRITE_ERROR;
     * the caller tells the cap apart by the buffer's state. */
    return asw_buf_append(b, p, size * n) ? 0 : size * n;
}

static int transient_http(long status)
{
    return status >= 500 || status == 429 || status == 408;
}

static void backoff(int attempt)
{
    /* 0.5 s, 1 s, 2 s ... capped at 30 s, with +-50% jitter. */
    double base = 0.5 * (double)(1 << (attempt < 6 ? attempt : 6));
    if (base > 30)
        base = 30;
    double s = base * (0.5 + (double)rand() / RAND_MAX);
    struct timespec ts = {(time_t)s, (long)((s - (long)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int asw_http_request(const char *url, const char *form,
                     const struct asw_http_opts *opts, struct asw_buf *body,
                     long *status, struct asw_err *err)
{
    struct asw_http_opts o = {3, 30, 600, (size_t)1 << 30};
    if (opts) {
        o.retries = opts->retries;
        if (opts->connect_timeout_s)
            o.connect_timeout_s = opts->connect_timeout_s;
        if (opts->timeout_s)
            o.timeout_s = opts->timeout_s;
        if (opts->max_body)
            o.max_body = opts->max_body;
    }
    CURL *h = curl_easy_init();
    if (!h)
        return asw_err_set(err, ASW_ENOMEM, "http", "curl_easy_init failed");
    char ebuf[CURL_ERROR_SIZE];
    int rc = 0;
    size_t start_len = body->len;
    size_t saved_max = body->max;
    body->max = start_len + o.max_body;
    for (int attempt = 0;; attempt++) {
        body->len = start_len;
        if (body->data)
            body->data[start_len] = '\0';
        ebuf[0] = '\0';
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o.connect_timeout_s);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, o.timeout_s);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "almasweep");
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
        if (form)
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
        CURLcode cc = curl_easy_perform(h);
        long st = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        if (cc == CURLE_WRITE_ERROR) {
            rc = asw_err_set(err, ASW_ETOOBIG, "http",
                             "response from %s exceeds %zu bytes", url,
                             o.max_body);
            break;
        }
        int transient = cc != CURLE_OK || transient_http(st);
        if (!transient) {
            *status = st;
            rc = 0;
            break;
        }
        if (attempt >= o.retries) {
            if (cc != CURLE_OK)
                rc = asw_err_set(err, ASW_ENET, "http", "%s: %s", url,
                                 ebuf[0] ? ebuf : curl_easy_strerror(cc));
            else
                rc = asw_err_set(err, ASW_EHTTP, "http", "%s: HTTP %ld", url,
                                 st);
            *status = st;
            break;
        }
        asw_warn("%s: %s, retrying (%d/%d)", url,
                 cc != CURLE_OK ? (ebuf[0] ? ebuf : curl_easy_strerror(cc))
                                : "server error",
                 attempt + 1, o.retries);
        backoff(attempt);
    }
    body->max = saved_max;
    curl_easy_cleanup(h);
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
