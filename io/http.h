/*
 * http.h - small in-memory HTTP requests (TAP, DataLink, flux service) with
 * retries on transient failures and failover across mirrors. Downloads of
 * files go through download.h instead.
 */
#ifndef ASW_HTTP_H
#define ASW_HTTP_H

#include "src/buf.h"
#include "src/err.h"

struct asw_http_opts {
    int retries;            /* extra attempts on transient failures */
    long connect_timeout_s; /* 0: 30 s */
    long timeout_s;         /* whole request, 0: 600 s */
    size_t max_body;        /* cap on the response body, 0: 1 GiB */
};

/*
 * GET url (form == NULL) or POST the url-encoded form (already encoded,
 * "A=1&B=2") to url. The body is appended to *body (capped by max_body);
 * *status receives the final HTTP status. Transient failures (connection
 * errors, timeouts, 5xx, 429) are retried with exponential backoff and
 * jitter; any other HTTP status is returned to the caller as is, not as an
 * error, since TAP and DataLink carry error documents in 4xx bodies.
 * Returns 0, ASW_ENET, ASW_ETOOBIG or ASW_ENOMEM.
 */
int asw_http_request(const char *url, const char *form,
                     const struct asw_http_opts *opts, struct asw_buf *body,
                     long *status, struct asw_err *err);

/*
 * Percent-encode s for a URL query or form value. Returns a malloc'd string
 * the caller frees, or NULL on out-of-memory.
 */
char *asw_http_escape(const char *s);

#endif
