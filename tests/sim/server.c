/*
 * libmicrohttpd glue: one thread per connection (a slow or stalled
 * download never blocks another), routing, query and form parameters, the
 * request log, and turning endpoint replies into responses.
 *
 * Request log (--log), one line per request, written with a single
 * write(2) on an O_APPEND descriptor and so never interleaved:
 *   <time> <method> <target> <range> <status> <bytes> <ms> <end> <faults>
 *   <form>
 * time is UTC ISO 8601 with milliseconds at request start; target the raw
 * path?query; range the Range header or '-'; status 000 when the
 * connection was closed without a response (hangup); bytes the body bytes
 * handed to the connection ('-' when a whole-file or buffer response did
 * not complete); ms the duration; end one of ok, error, timeout, shutdown,
 * read-error, client-abort; faults the fault rules applied ("L3:status") or
 * '-'; form the POST fields re-encoded as k=v&k=v (capped) or '-'. Fields
 * never contain spaces.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define BODY_BLOCK   (64u * 1024u)
#define LOG_FORM_MAX 2000

struct asw_sim_server {
    struct MHD_Daemon *d;
    struct asw_sim_config cfg;
    struct asw_sim_faults *faults;
    int log_fd;
    unsigned port;
};

struct request {
    struct asw_sim_server *srv;
    struct MHD_Connection *conn;
    char *uri; /* raw request target */
    struct timespec t0;
    char method[8];
    int started;
    int is_head;
    int form_toobig;
    int have_form;
    struct MHD_PostProcessor *pp;
    struct asw_sim_params params;
    char range[128];
    struct asw_sim_fault fault;
    struct asw_sim_pace pace;
    unsigned status;
    int responded;
    /* body */
    int callback;        /* body goes through body_reader() */
    uint64_t body_len;   /* announced length */
    uint64_t bytes_sent; /* handed to MHD by body_reader() */
    int fd;
    uint64_t fd_off;
    char *mem;
};

static void request_free(struct request *rq)
{
    if (!rq)
        return;
    if (rq->pp)
        MHD_destroy_post_processor(rq->pp);
    asw_sim_params_free(&rq->params);
    if (rq->fd >= 0)
        close(rq->fd);
    free(rq->mem);
    free(rq->uri);
    free(rq);
}

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct request *rq = calloc(1, sizeof(*rq));
    if (!rq)
        return NULL;
    rq->srv = cls;
    rq->conn = conn;
    rq->fd = -1;
    rq->uri = strdup(uri ? uri : "");
    clock_gettime(CLOCK_REALTIME, &rq->t0);
    return rq;
}

/* ---- request log -------------------------------------------------------- */

/* Appends s with whitespace and control characters replaced, so a log
 * field never splits. */
static void log_field(struct asw_sim_buf *b, const char *s)
{
    if (!s || !*s) {
        asw_sim_buf_puts(b, "-");
        return;
    }
    for (const char *p = s; *p; p++) {
        char c = (unsigned char)*p <= ' ' || *p == 0x7f ? '_' : *p;
        asw_sim_buf_add(b, &c, 1);
    }
}

static const char *end_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "ok";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read-error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client-abort";
    default:
        return "error";
    }
}

static void write_log(struct request *rq, enum MHD_RequestTerminationCode toe)
{
    if (rq->srv->log_fd < 0)
        return;
    struct asw_sim_buf b;
    asw_sim_buf_init(&b, 1u << 20);
    char ts[48];
    struct tm tm;
    gmtime_r(&rq->t0.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long ms = (long)((now.tv_sec - rq->t0.tv_sec) * 1000 +
                     (now.tv_nsec - rq->t0.tv_nsec) / 1000000);
    asw_sim_buf_printf(&b, "%s.%03ldZ ", ts, rq->t0.tv_nsec / 1000000);
    log_field(&b, rq->method);
    asw_sim_buf_puts(&b, " ");
    log_field(&b, rq->uri);
    asw_sim_buf_puts(&b, " ");
    log_field(&b, rq->range);
    asw_sim_buf_printf(&b, " %03u ", rq->responded ? rq->status : 0);
    if (rq->is_head || !rq->responded)
        asw_sim_buf_puts(&b, "0");
    else if (rq->callback)
        asw_sim_buf_printf(&b, "%llu", (unsigned long long)rq->bytes_sent);
    else if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        asw_sim_buf_printf(&b, "%llu", (unsigned long long)rq->body_len);
    else
        asw_sim_buf_puts(&b, "-");
    asw_sim_buf_printf(&b, " %ld %s ", ms, end_name(toe));
    log_field(&b, rq->fault.applied);
    asw_sim_buf_puts(&b, " ");
    if (!rq->have_form) {
        asw_sim_buf_puts(&b, "-");
    } else {
        struct asw_sim_buf f;
        asw_sim_buf_init(&f, LOG_FORM_MAX);
        for (size_t i = 0; i < rq->params.n; i++) {
            if (i)
                asw_sim_buf_puts(&f, "&");
            asw_sim_buf_urlenc(&f, rq->params.v[i].key);
            asw_sim_buf_puts(&f, "=");
            asw_sim_buf_urlenc(&f, rq->params.v[i].val);
        }
        log_field(&b, f.data);
        if (f.toobig)
            asw_sim_buf_puts(&b, "...");
        asw_sim_buf_free(&f);
    }
    asw_sim_buf_puts(&b, "\n");
    if (b.data) {
        ssize_t w = write(rq->srv->log_fd, b.data, b.len);
        (void)w;
    }
    asw_sim_buf_free(&b);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *rq = *req_cls;
    if (!rq)
        return;
    write_log(rq, toe);
    request_free(rq);
    *req_cls = NULL;
}

/* ---- parameters --------------------------------------------------------- */

static enum MHD_Result get_arg_cb(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
    struct request *rq = cls;
    if (asw_sim_params_add(&rq->params, key, value ? value : "",
                           value ? strlen(value) : 0, 0))
        rq->form_toobig = 1;
    return MHD_YES;
}

static enum MHD_Result post_cb(void *cls, enum MHD_ValueKind kind,
                               const char *key, const char *filename,
                               const char *content_type,
                               const char *transfer_encoding, const char *data,
                               uint64_t off, size_t size)
{
    struct request *rq = cls;
    rq->have_form = 1;
    if (asw_sim_params_add(&rq->params, key, data ? data : "", size, off > 0)) {
        rq->form_toobig = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

/* ---- responses ---------------------------------------------------------- */

static ssize_t body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct request *rq = cls;
    if (pos >= rq->body_len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = max;
    if (rq->body_len - pos < n)
        n = (size_t)(rq->body_len - pos);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int sock = ci ? ci->connect_fd : -1;
    if (asw_sim_fault_pace(&rq->fault, &rq->pace, sock, pos, &n))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (rq->mem) {
        memcpy(buf, rq->mem + pos, n);
    } else {
        ssize_t r = pread(rq->fd, buf, n, (off_t)(rq->fd_off + pos));
        if (r <= 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        n = (size_t)r;
    }
    rq->bytes_sent += n;
    return (ssize_t)n;
}

static enum MHD_Result queue_reply(struct request *rq, struct asw_sim_reply *rp)
{
    struct MHD_Response *resp;
    int shaped = asw_sim_fault_shapes_body(&rq->fault) && !rq->is_head;
    if (rp->fd >= 0) {
        rq->body_len = rp->fd_length;
        if (shaped) {
            rq->fd = rp->fd;
            rq->fd_off = rp->fd_offset;
            rp->fd = -1;
            rq->callback = 1;
            resp = MHD_create_response_from_callback(rq->body_len, BODY_BLOCK,
                                                     body_reader, rq, NULL);
        } else {
            resp = MHD_create_response_from_fd_at_offset64(
                rp->fd_length, rp->fd, rp->fd_offset);
            if (resp)
                rp->fd = -1; /* MHD closes it */
        }
    } else {
        rq->body_len = rp->body_len;
        if (shaped) {
            rq->mem = rp->body;
            rp->body = NULL;
            rq->callback = 1;
            resp = MHD_create_response_from_callback(rq->body_len, BODY_BLOCK,
                                                     body_reader, rq, NULL);
        } else {
            resp = MHD_create_response_from_buffer(
                rp->body_len, rp->body ? rp->body : (char *)"",
                rp->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
            if (resp)
                rp->body = NULL;
        }
    }
    if (!resp)
        return MHD_NO;
    if (rp->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                rp->content_type);
    if (rp->accept_ranges)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    if (rp->content_range[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE,
                                rp->content_range);
    if (rp->filename) {
        char cd[700];
        snprintf(cd, sizeof(cd), "attachment; filename=%s", rp->filename);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
    }
    if (rp->retry_after_s > 0) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%d", rp->retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result ret;
    rq->status = rp->status;
    rq->responded = 1;
    if (rp->auth_challenge) {
        rq->status = MHD_HTTP_UNAUTHORIZED;
        ret = MHD_queue_basic_auth_fail_response(rq->conn, "ALMA", resp);
    } else {
        ret = MHD_queue_response(rq->conn, rp->status, resp);
    }
    MHD_destroy_response(resp);
    return ret;
}

/* Did the client send the configured Basic credentials? Also returns the
 * decoded pair (free both with MHD_free). */
static int basic_auth(struct request *rq, char **user, char **pass)
{
    *pass = NULL;
    *user = MHD_basic_auth_get_username_password(rq->conn, pass);
    const struct asw_sim_config *cfg = &rq->srv->cfg;
    return cfg->user && cfg->password && *user && *pass &&
           strcmp(*user, cfg->user) == 0 && strcmp(*pass, cfg->password) == 0;
}

static int method_is(const struct request *rq, const char *a, const char *b)
{
    return strcmp(rq->method, a) == 0 || (b && strcmp(rq->method, b) == 0);
}

static enum MHD_Result respond(struct request *rq, const char *url)
{
    struct asw_sim_server *srv = rq->srv;
    struct asw_sim_reply rp;
    int rc = 0;
    asw_sim_reply_init(&rp);

    /* contains= also sees the POST fields (a TAP query), re-encoded as
     * in the log. */
    struct asw_sim_buf target;
    asw_sim_buf_init(&target, ASW_SIM_MAX_FORM_BYTES * 3u + 4096u);
    asw_sim_buf_puts(&target, rq->uri);
    for (size_t i = 0; rq->have_form && i < rq->params.n; i++) {
        asw_sim_buf_puts(&target, i ? "&" : " ");
        asw_sim_buf_urlenc(&target, rq->params.v[i].key);
        asw_sim_buf_puts(&target, "=");
        asw_sim_buf_urlenc(&target, rq->params.v[i].val);
    }
    asw_sim_faults_match(srv->faults, rq->method, url,
                         target.data ? target.data : rq->uri, &rq->fault);
    asw_sim_buf_free(&target);
    if (rq->fault.hangup)
        return MHD_NO;
    if (rq->fault.latency_ms > 0 && asw_sim_sleep_ms(rq->fault.latency_ms))
        return MHD_NO;

    if (rq->fault.status) {
        rc = asw_sim_reply_text(&rp, rq->fault.status,
                                "simulated fault: HTTP %u", rq->fault.status);
        rp.retry_after_s = rq->fault.retry_after_s;
    } else if (rq->form_toobig) {
        rc = asw_sim_reply_text(&rp, 413, "request parameters too large");
    } else if (strcmp(url, "/sim/health") == 0) {
        if (method_is(rq, "GET", "HEAD"))
            rc = asw_sim_reply_text(&rp, 200, "ok");
        else
            rc = asw_sim_reply_text(&rp, 405, "method not allowed");
    } else if (strcmp(url, "/tap/availability") == 0) {
        /* VOSI availability, for clients that probe before querying. */
        rc = asw_sim_reply_text(
            &rp, 200,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<vosi:availability "
            "xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">"
            "<vosi:available>true</vosi:available></vosi:availability>");
        rp.content_type = "text/xml";
    } else if (strcmp(url, "/tap/sync") == 0) {
        if (method_is(rq, "GET", "POST"))
            rc = asw_sim_tap_sync(&srv->cfg, &rq->params, &rq->fault, &rp);
        else
            rc = asw_sim_reply_text(&rp, 405, "method not allowed");
    } else if (strcmp(url, "/datalink/sync") == 0) {
        if (method_is(rq, "GET", "POST")) {
            char *user, *pass;
            int authed = basic_auth(rq, &user, &pass);
            MHD_free(user);
            MHD_free(pass);
            rc = asw_sim_datalink_sync(&srv->cfg, &rq->params, authed,
                                       &rq->fault, &rp);
        } else {
            rc = asw_sim_reply_text(&rp, 405, "method not allowed");
        }
    } else if (strcmp(url, "/sc/flux") == 0) {
        if (method_is(rq, "GET", NULL))
            rc = asw_sim_flux(&srv->cfg, &rq->params, &rp);
        else
            rc = asw_sim_reply_text(&rp, 405, "method not allowed");
    } else if (strncmp(url, "/dataPortal/", 12) == 0) {
        if (method_is(rq, "GET", "HEAD")) {
            char *user, *pass;
            basic_auth(rq, &user, &pass);
            rc = asw_sim_portal_get(&srv->cfg, url + 12,
                                    rq->range[0] ? rq->range : NULL, user, pass,
                                    &rp);
            MHD_free(user);
            MHD_free(pass);
        } else {
            rc = asw_sim_reply_text(&rp, 405, "method not allowed");
        }
    } else {
        rc = asw_sim_reply_text(&rp, 404, "Not found: %s", url);
    }
    if (rc) {
        asw_sim_reply_clear(&rp);
        asw_sim_reply_init(&rp);
        if (asw_sim_reply_text(&rp, 500, "internal error (out of memory)"))
            return MHD_NO;
    }
    enum MHD_Result ret = queue_reply(rq, &rp);
    asw_sim_reply_clear(&rp);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
    struct request *rq = *req_cls;
    if (!rq)
        return MHD_NO; /* out of memory in uri_cb */
    if (!rq->started) {
        rq->started = 1;
        snprintf(rq->method, sizeof(rq->method), "%s", method);
        rq->is_head = strcmp(method, "HEAD") == 0;
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, get_arg_cb, rq);
        const char *range =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Range");
        if (range)
            snprintf(rq->range, sizeof(rq->range), "%s", range);
        if (strcmp(method, "POST") == 0) {
            rq->have_form = 1;
            rq->pp = MHD_create_post_processor(conn, 64 * 1024, post_cb, rq);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (rq->pp && !rq->form_toobig &&
            MHD_post_process(rq->pp, upload_data, *upload_data_size) != MHD_YES)
            rq->form_toobig = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->pp) {
        /* The last urlencoded value is only delivered here. */
        MHD_destroy_post_processor(rq->pp);
        rq->pp = NULL;
    }
    return respond(rq, url);
}

/* fmt comes from libmicrohttpd itself, so a non-literal format is fine. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    fprintf(stderr, "asw-sim: microhttpd: ");
    vfprintf(stderr, fmt, ap);
}

int asw_sim_server_start(const struct asw_sim_config *cfg,
                         struct asw_sim_faults *faults, int log_fd,
                         struct asw_sim_server **out)
{
    struct asw_sim_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    *out = NULL;
    if (!s)
        return -1;
    s->cfg = *cfg;
    s->faults = faults;
    s->log_fd = log_fd;
    const char *host =
        strcmp(cfg->host, "localhost") == 0 ? "127.0.0.1" : cfg->host;
    if (strchr(host, ':')) {
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)cfg->port);
        if (inet_pton(AF_INET6, host, &sin6.sin6_addr) != 1 ||
            !IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr)) {
            fprintf(stderr, "asw-sim: %s is not a loopback address\n", host);
            free(s);
            return -1;
        }
        flags |= MHD_USE_IPv6;
        sa = (struct sockaddr *)&sin6;
    } else {
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)cfg->port);
        if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
            (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
            fprintf(stderr, "asw-sim: %s is not a loopback address\n", host);
            free(s);
            return -1;
        }
        sa = (struct sockaddr *)&sin;
    }
    s->d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, handler, s,
        /* the logger must come first to catch every message */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_URI_LOG_CALLBACK, uri_cb, s, MHD_OPTION_NOTIFY_COMPLETED,
        completed_cb, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_END);
    if (!s->d) {
        fprintf(stderr, "asw-sim: cannot listen on %s port %u\n", host,
                cfg->port);
        free(s);
        return -1;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->port;
    if (!s->cfg.base_url[0])
        snprintf(s->cfg.base_url, sizeof(s->cfg.base_url),
                 strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host,
                 s->port);
    *out = s;
    return 0;
}

unsigned asw_sim_server_port(const struct asw_sim_server *s)
{
    return s->port;
}

const char *asw_sim_server_base_url(const struct asw_sim_server *s)
{
    return s->cfg.base_url;
}

void asw_sim_server_stop(struct asw_sim_server *s)
{
    if (!s)
        return;
    asw_sim_shutdown_begin();
    MHD_stop_daemon(s->d);
    free(s);
}
