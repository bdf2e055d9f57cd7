/*
 * http.h - small HTTP requests (TAP, DataLink, flux service) with retries
 * on transient failures. The body goes to a sink (a VOTable parser fed
 * from the curl write callback) or into a capped buffer. Downloads of
 * files go through download.h instead; failover across mirrors is the
 * caller's (io/archive.c), since only it knows which URLs are equivalent.
 */
#ifndef ASW_HTTP_H
#define ASW_HTTP_H

#include "src/buf.h"
#include "src/err.h"

/*
 * A reusable connection cache: requests made with the same client reuse
 * its keep-alive connections (one TLS handshake for thousands of DataLink
 * calls). Not thread-safe: one client per thread.
 */
struct asw_http_client;

/* Create a client. Returns NULL when out of memory; free with
 * asw_http_client_free(). */
struct asw_http_client *asw_http_client_new(void);

/* Free a client and close its connections. Accepts NULL. */
void asw_http_client_free(struct asw_http_client *c);

struct asw_http_opts {
    int retries;            /* extra attempts on transient failures */
    long connect_timeout_s; /* 0: 30 s */
    long timeout_s;         /* whole request, 0: 600 s */
    size_t max_body;        /* cap on a buffered body, 0: 1 GiB */
    long backoff_ms;        /* first retry delay before jitter, 0: 500 ms;
                               doubles per retry, capped at 30 s */
    struct asw_http_client *client; /* NULL: a one-off connection */
    /* HTTP Basic credentials, borrowed, never logged. NULL user: the
     * netrc file, if any (curl's optional netrc). */
    const char *user;
    const char *password;
    /* CA bundle replacing the system's (CURLOPT_CAINFO), borrowed; NULL or
     * "": the system's. Verification itself is always on. */
    const char *ca_file;
};

/*
 * Where a response body goes. write gets the body in pieces as it arrives
 * and returns 0, or a negative ASW_E* code to abandon the request (not
 * retried; asw_http_request_sink returns that code and whatever write
 * put in its err). reset is called before each attempt, the first
 * included, so a retry starts from an empty sink. Either may be NULL.
 */
struct asw_http_sink {
    int (*write)(void *ud, const char *data, size_t len, struct asw_err *err);
    int (*reset)(void *ud);
    void *ud;
};

/*
 * GET url (form == NULL) or POST the url-encoded form ("A=1&B=2", already
 * encoded) to url, streaming the body of the final response into sink.
 * Transient failures are retried with exponential backoff and jitter (and
 * at least the server's Retry-After, up to 60 s): connection errors,
 * timeouts, a body cut short, HTTP 5xx, 429 and 408; their bodies never
 * reach the sink. Any other status is returned in *status with its body
 * in the sink, not as an error, since TAP and DataLink carry error
 * documents in 4xx bodies. Returns 0, ASW_ENET (network, or a body cut
 * short, after the retries), ASW_EHTTP (transient status after the
 * retries; err holds the start of the body), ASW_ENOMEM or the sink's
 * code.
 */
int asw_http_request_sink(const char *url, const char *form,
                          const struct asw_http_opts *opts,
                          const struct asw_http_sink *sink, long *status,
                          struct asw_err *err);

/*
 * asw_http_request_sink into a buffer: the body is appended to *body,
 * capped by opts->max_body (ASW_ETOOBIG beyond).
 */
int asw_http_request(const char *url, const char *form,
                     const struct asw_http_opts *opts, struct asw_buf *body,
                     long *status, struct asw_err *err);

/*
 * Percent-encode s for a URL query or form value. Returns a malloc'd string
 * the caller frees, or NULL on out-of-memory.
 */
char *asw_http_escape(const char *s);

/*
 * Decode the %XX escapes of s in place ('+' stays: it is literal in URL
 * paths, and in the IDs this decodes). Returns s.
 */
char *asw_http_unescape(char *s);

#endif
