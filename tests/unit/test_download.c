/*
 * test_download.c - asw_dl_fetch against a libmicrohttpd server running in
 * this process on 127.0.0.1 (port chosen by the kernel). The server serves
 * one generated file with Range support and injects faults per test:
 * 503s, connections dropped mid-body, short bodies, stalls, ignored or
 * wrong ranges, 404, Basic auth, redirects and a dead mirror; a second
 * server speaks TLS with a self-signed certificate (also fetched through
 * the sweep's pipeline with [download] ca_file and by `almasweep fetch
 * --ca-file`). The
 * segmented tests also check the ranges asked for, how many transfers ran
 * at once, the sidecar state, and the tail a concurrent reader follows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/download.h"
#include "io/http.h"
#include "src/buf.h"
#include "jobs/pipeline.h"
#include "src/cli/cli.h"
#include "src/config.h"
#include "src/exitcodes.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testdir.h"

#define DATA_LEN ((size_t)1536 * 1024 + 77) /* > CURLOPT_BUFFERSIZE */

enum mode {
    M_NORMAL,
    M_FAIL_503,     /* the first fail_n requests get 503 */
    M_DROP_FIRST,   /* request 1 is cut after drop_at bytes */
    M_SHORT_ALWAYS, /* every response stops halfway through its body */
    M_STALL_FIRST,  /* request 1 stalls after drop_at bytes until released */
    M_IGNORE_RANGE, /* always 200 with the whole file */
    M_WRONG_START,  /* 206 that starts at 0 whatever was asked */
    M_SLOW_ZERO,    /* requests starting at byte 0 trickle (~256 kB/s) */
};

#define MAX_LOG 64

static unsigned char *data;

static struct {
    struct MHD_Daemon *d;
    char base[64];
    pthread_mutex_t mu;
    enum mode mode;
    int fail_n;
    int file_requests; /* requests for /file since setup */
    size_t drop_at;
    int requests; /* all paths */
    int hits_m1, hits_m2;
    int connections;
    volatile int released; /* ends a stall */
    char range[64];        /* Range header of the last request, "" if none */
    char auth[128];
    int active, max_active; /* requests being answered at once */
    int barrier;            /* bodies wait for this many active requests */
    int heads;              /* HEAD requests */
    int n_log;
    char log[MAX_LOG][64]; /* Range header of every GET, in arrival order */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct fx {
    char dir[256];
    char dest[300];
    char part[310];
    char state[320];
    char url[128];
};

/* ---- the server --------------------------------------------------- */

struct reader {
    size_t start;    /* file offset of the body */
    size_t len;      /* body bytes */
    int64_t stop_at; /* body offset where the connection dies, -1 never */
    int stall;       /* sleep before dying */
    int slow;        /* trickle */
};

static void reader_free(void *cls)
{
    free(cls);
    pthread_mutex_lock(&S.mu);
    S.active--;
    pthread_mutex_unlock(&S.mu);
}

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct reader *r = cls;
    if (r->stop_at >= 0 && pos >= (uint64_t)r->stop_at) {
        /* Hold the connection open without sending until the test is
         * done with it (5 s at most, so a broken test cannot hang). */
        for (int i = 0; r->stall && !S.released && i < 500; i++)
            usleep(10 * 1000);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t left = r->len - pos;
    if (r->stop_at >= 0 && (uint64_t)r->stop_at - pos < left)
        left = (size_t)((uint64_t)r->stop_at - pos);
    if (pos == 0 && S.barrier > 0) {
        /* Hold every body until `barrier` requests are being answered at
         * once (2 s at most): a client that does not run them in parallel
         * cannot pass. */
        for (int i = 0; i < 200; i++) {
            pthread_mutex_lock(&S.mu);
            int n = S.max_active;
            pthread_mutex_unlock(&S.mu);
            if (n >= S.barrier)
                break;
            usleep(10 * 1000);
        }
    }
    if (r->slow) {
        /* 8 kB per 30 ms; gives up after 5 s so a broken test ends. */
        if (max > 8192)
            max = 8192;
        usleep(30 * 1000);
        if (S.released)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = left < max ? left : max;
    memcpy(buf, data + r->start + pos, n);
    return (ssize_t)n;
}

static enum MHD_Result send_status(struct MHD_Connection *c, unsigned status,
                                   const char *hdr, const char *val)
{
    static const char body[] = "error page";
    struct MHD_Response *r = MHD_create_response_from_buffer(
        sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (hdr)
        MHD_add_response_header(r, hdr, val);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_file(struct MHD_Connection *c, int n,
                                  const char *range, enum mode mode)
{
    size_t start = 0, end = DATA_LEN - 1;
    int partial = 0;
    if (range && mode != M_IGNORE_RANGE) {
        size_t a, b;
        int k = sscanf(range, "bytes=%zu-%zu", &a, &b);
        if (k >= 1) {
            partial = 1;
            start = a;
            if (k == 2 && b < DATA_LEN)
                end = b;
        }
        if (partial && start >= DATA_LEN) {
            char cr[64];
            snprintf(cr, sizeof cr, "bytes */%zu", DATA_LEN);
            return send_status(c, 416, "Content-Range", cr);
        }
    }
    if (mode == M_WRONG_START)
        start = 0;
    struct reader *rd = calloc(1, sizeof *rd);
    rd->start = start;
    rd->len = end - start + 1;
    rd->stop_at = -1;
    if ((mode == M_DROP_FIRST || mode == M_STALL_FIRST) && n == 1) {
        rd->stop_at = (int64_t)S.drop_at;
        rd->stall = mode == M_STALL_FIRST;
    }
    if (mode == M_SHORT_ALWAYS)
        rd->stop_at = (int64_t)(rd->len / 2);
    rd->slow = mode == M_SLOW_ZERO && start == 0;
    pthread_mutex_lock(&S.mu);
    if (++S.active > S.max_active)
        S.max_active = S.active;
    pthread_mutex_unlock(&S.mu);
    struct MHD_Response *r = MHD_create_response_from_callback(
        rd->len, 32 * 1024, read_body, rd, reader_free);
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    if (partial) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", start, end, DATA_LEN);
        MHD_add_response_header(r, "Content-Range", cr);
    }
    enum MHD_Result ret = MHD_queue_response(c, partial ? 206 : 200, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_size, void **req_cls)
{
    /* Answer on the second call, after the whole request was read;
     * answering on the first makes MHD close the connection. */
    static int marker;
    if (*req_cls == NULL) {
        *req_cls = &marker;
        return MHD_YES;
    }
    const char *range =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    const char *auth =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&S.mu);
    if (!strcmp(method, "HEAD"))
        S.heads++;
    else if (S.n_log < MAX_LOG)
        snprintf(S.log[S.n_log++], sizeof S.log[0], "%s", range ? range : "");
    int n = ++S.requests;
    snprintf(S.range, sizeof S.range, "%s", range ? range : "");
    snprintf(S.auth, sizeof S.auth, "%s", auth ? auth : "");
    if (!strncmp(url, "/m1/", 4))
        S.hits_m1++;
    if (!strncmp(url, "/m2/", 4))
        S.hits_m2++;
    enum mode mode = S.mode;
    /* The 503s go to the first requests for /file of this test only: a
     * previous test's abandoned requests (e.g. the other segments of a
     * 404) may still reach the server after setup reset the counters. */
    int nf = !strcmp(url, "/file") ? ++S.file_requests : 0;
    int fail = mode == M_FAIL_503 && nf >= 1 && nf <= S.fail_n;
    pthread_mutex_unlock(&S.mu);

    if (!strcmp(url, "/file"))
        return fail ? send_status(c, 503, "Retry-After", "0")
                    : serve_file(c, nf, range, mode);
    if (!strcmp(url, "/m1/file"))
        return send_status(c, 503, NULL, NULL);
    if (!strcmp(url, "/m2/file"))
        return serve_file(c, n, range, M_NORMAL);
    if (!strcmp(url, "/auth/file")) {
        /* "u:p" in base64 */
        if (!auth || strcmp(auth, "Basic dTpw") != 0)
            return send_status(c, 401, "WWW-Authenticate",
                               "Basic realm=\"ALMA\"");
        return serve_file(c, n, range, M_NORMAL);
    }
    if (!strcmp(url, "/redirect"))
        return send_status(c, 302, "Location", "/file");
    return send_status(c, 404, NULL, NULL);
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&S.mu);
        S.connections++;
        pthread_mutex_unlock(&S.mu);
    }
}

static int server_start(void **state)
{
    /* The server is on loopback; a proxy from the environment would only
     * get in the way. */
    static const char *proxies[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                    "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
    for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
        unsetenv(proxies[i]);
    data = malloc(DATA_LEN);
    uint64_t x = 0x243f6a8885a308d3ULL;
    for (size_t i = 0; i < DATA_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (unsigned char)(x >> 24);
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A thread per connection so a stalled response does not block the
     * others. */
    S.d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
        NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_END);
    if (!S.d)
        return -1;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(S.d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(S.base, sizeof S.base, "http://127.0.0.1:%u",
             (unsigned)info->port);
    return asw_dl_global_init(NULL);
}

static int server_stop(void **state)
{
    MHD_stop_daemon(S.d);
    free(data);
    asw_dl_global_cleanup();
    return 0;
}

/* TLS: a self-signed certificate for IP 127.0.0.1 (and no host name),
 * valid 2000-2100, made once with openssl for this test only. */
static const char tls_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBZzCCAQygAwIBAgIBATAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA5hbG1hc3dl\n"
    "ZXAgdGVzdDAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowGTEXMBUG\n"
    "A1UEAwwOYWxtYXN3ZWVwIHRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATb\n"
    "bIwQmeiVAGm6wH6OFy3FSWnK58y3fD82dMaEhjtV4hHq77MC69wLUdLrkEkkHwxL\n"
    "kjwFybkyGmtCt1yVWmY2o0MwQTAPBgNVHREECDAGhwR/AAABMA8GA1UdEwEB/wQF\n"
    "MAMBAf8wHQYDVR0OBBYEFNZe5wNhwuPlbEYX6+FV7l9SQLb5MAoGCCqGSM49BAMC\n"
    "A0kAMEYCIQDgPNK0k1swOgyBn0rDkJz89IkUerM51mDBJxX73OXkHwIhAMBhL4OW\n"
    "0OWJaOwCk+1jaBtwJ04qi3o5BZVanSyM3KMs\n"
    "-----END CERTIFICATE-----\n";
static const char tls_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8KaSN59lIyHIPdkF\n"
    "JzspJZEe7AD7op1mAW/tBkW/bYahRANCAATbbIwQmeiVAGm6wH6OFy3FSWnK58y3\n"
    "fD82dMaEhjtV4hHq77MC69wLUdLrkEkkHwxLkjwFybkyGmtCt1yVWmY2\n"
    "-----END PRIVATE KEY-----\n";

/* The same file server over TLS with the certificate above; NULL if this
 * libmicrohttpd has no TLS. *port receives the port. */
static struct MHD_Daemon *tls_server_start(unsigned *port)
{
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return NULL;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_TLS,
        0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_HTTPS_MEM_KEY, tls_key,
        MHD_OPTION_HTTPS_MEM_CERT, tls_cert, MHD_OPTION_END);
    if (d)
        *port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return d;
}

/* ---- fixtures and helpers ----------------------------------------- */

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/asw_dl_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->dest, sizeof f->dest, "%s/x.asdm.sdm.tar", f->dir);
    snprintf(f->part, sizeof f->part, "%s.part", f->dest);
    snprintf(f->state, sizeof f->state, "%s.state", f->part);
    snprintf(f->url, sizeof f->url, "%s/file", S.base);
    pthread_mutex_lock(&S.mu);
    S.mode = M_NORMAL;
    S.fail_n = 0;
    S.drop_at = 0;
    S.requests = 0;
    S.file_requests = 0;
    S.hits_m1 = S.hits_m2 = 0;
    S.connections = 0;
    S.released = 0;
    S.range[0] = S.auth[0] = '\0';
    S.active = S.max_active = S.heads = S.n_log = S.barrier = 0;
    pthread_mutex_unlock(&S.mu);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    S.released = 1;
    unlink(f->dest);
    unlink(f->part);
    unlink(f->state);
    char p[320];
    snprintf(p, sizeof p, "%s/netrc", f->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/ca.pem", f->dir);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Test defaults: fast backoff, short timeouts. */
static void req_init(struct asw_dl_request *r, const char *url,
                     const char *dest)
{
    asw_dl_request_init(r, url, dest);
    r->backoff_initial_s = 0.001;
    r->backoff_max_s = 0.01;
    r->connect_timeout_s = 5;
    r->low_speed_time_s = 5;
}

static int requests(void)
{
    pthread_mutex_lock(&S.mu);
    int n = S.requests;
    pthread_mutex_unlock(&S.mu);
    return n;
}

static int64_t file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/* dest must hold exactly data[0..DATA_LEN) and the .part must be gone. */
static void assert_complete(struct fx *f)
{
    assert_int_equal(file_size(f->dest), DATA_LEN);
    assert_int_equal(file_size(f->part), -1);
    FILE *fp = fopen(f->dest, "rb");
    assert_non_null(fp);
    unsigned char *buf = malloc(DATA_LEN);
    assert_int_equal(fread(buf, 1, DATA_LEN, fp), DATA_LEN);
    fclose(fp);
    assert_memory_equal(buf, data, DATA_LEN);
    free(buf);
}

static void write_part(struct fx *f, const void *p, size_t n)
{
    FILE *fp = fopen(f->part, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

struct prog {
    int calls;
    int64_t last_now, last_total;
    double last_rate;
    int stop;
};

static int on_progress(void *user, int64_t now, int64_t total, double rate)
{
    struct prog *p = user;
    p->calls++;
    p->last_now = now;
    p->last_total = total;
    p->last_rate = rate;
    assert_true(rate >= 0);
    return p->stop;
}

static void assert_msg_has(const struct asw_err *e, const char *s)
{
    if (!strstr(e->msg, s))
        fail_msg("message \"%s\" lacks \"%s\"", e->msg, s);
}

/* ---- tests -------------------------------------------------------- */

static void test_plain(void **state)
{
    struct fx *f = *state;
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    r.expected_bytes = (int64_t)DATA_LEN;
    struct prog pg = {0};
    r.progress = on_progress;
    r.progress_user = &pg;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(st.http_status, 200);
    assert_int_equal(st.bytes_transferred, DATA_LEN);
    assert_int_equal(st.bytes_resumed, 0);
    assert_int_equal(st.size_bytes, DATA_LEN);
    assert_int_equal(st.mirror, -1);
    assert_true(st.seconds > 0);
    assert_int_equal(requests(), 1);
    assert_string_equal(S.range, "");
    assert_true(pg.calls >= 1); /* the final report at least */
    assert_int_equal(pg.last_now, DATA_LEN);
    assert_int_equal(pg.last_total, DATA_LEN);
    /* The rate of the final report: at least the file over the call's
     * time (its one attempt took less). */
    assert_true(pg.last_rate >= (double)DATA_LEN / st.seconds * 0.99);
}

static void test_503_then_ok(void **state)
{
    struct fx *f = *state;
    S.mode = M_FAIL_503;
    S.fail_n = 1;
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(requests(), 2);
    assert_int_equal(st.http_status, 200);
}

static void test_503_exhausted(void **state)
{
    struct fx *f = *state;
    S.mode = M_FAIL_503;
    S.fail_n = 1000;
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    r.max_retries = 2;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_EHTTP);
    assert_int_equal(st.attempts, 3);
    assert_int_equal(requests(), 3);
    assert_int_equal(st.http_status, 503);
    assert_msg_has(&err, "HTTP 503");
    assert_msg_has(&err, "gave up after 3 attempts");
    assert_int_equal(file_size(f->dest), -1);
    assert_int_equal(file_size(f->part), -1); /* empty .part removed */
}

static void test_drop_then_resume(void **state)
{
    struct fx *f = *state;
    S.mode = M_DROP_FIRST;
    S.drop_at = 300000;
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    r.expected_bytes = (int64_t)DATA_LEN;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(requests(), 2);
    assert_int_equal(st.http_status, 206);
    /* The second request resumed where the first stopped; every byte
     * crossed the wire once. */
    size_t from = 0;
    assert_int_equal(sscanf(S.range, "bytes=%zu-", &from), 1);
    assert_in_range(from, 1, 300000);
    assert_int_equal(st.bytes_transferred, DATA_LEN);
}

static void test_resume_existing_part(void **state)
{
    struct fx *f = *state;
    write_part(f, data, 500000);
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_string_equal(S.range, "bytes=500000-");
    assert_int_equal(st.bytes_resumed, 500000);
    assert_int_equal(st.bytes_transferred, DATA_LEN - 500000);
    assert_int_equal(st.http_status, 206);
}

/* The server answers a Range with 200: the garbage .part must go. */
static void test_range_ignored_restarts(void **state)
{
    struct fx *f = *state;
    S.mode = M_IGNORE_RANGE;
    unsigned char junk[500000];
    memset(junk, 0xaa, sizeof junk);
    write_part(f, junk, sizeof junk);
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_string_equal(S.range, "bytes=500000-");
    assert_int_equal(st.http_status, 200);
    assert_int_equal(st.bytes_transferred, DATA_LEN);
}

static void test_wrong_range_start(void **state)
{
    struct fx *f = *state;
    S.mode = M_WRONG_START;
    write_part(f, data, 1000);
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, NULL, &err), ASW_EPROTO);
    assert_msg_has(&err, "starts at byte 0, asked for 1000");
    assert_int_equal(requests(), 1);
    assert_int_equal(file_size(f->part), -1);
}

/* Every response stops halfway: retries resume but never finish; the
 * .part keeps what arrived and a later call completes it. */
static void test_short_body(void **state)
{
    struct fx *f = *state;
    S.mode = M_SHORT_ALWAYS;
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    r.max_retries = 1;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_ENET);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(requests(), 2);
    assert_msg_has(&err, "curl 18");
    assert_int_equal(file_size(f->dest), -1);
    int64_t have = file_size(f->part);
    assert_int_equal(have, st.bytes_transferred);
    assert_in_range(have, 1, DATA_LEN - 1);
    assert_memory_equal(data, data, 1);

    S.mode = M_NORMAL;
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(st.bytes_resumed, have);
    assert_int_equal(st.bytes_transferred, (int64_t)DATA_LEN - have);
}

/* Attempts that move the file forward enough do not use up retries:
 * bodies cut halfway bring 786k, 393k, 196k, then 98k and 49k, which are
 * below the 100k that forgive, so the second of those gives up. */
static void test_progress_forgives(void **state)
{
    struct fx *f = *state;
    S.mode = M_SHORT_ALWAYS;
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    r.max_retries = 1;
    r.retry_reset_bytes = 100000;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_ENET);
    assert_int_equal(st.attempts, 5);
    r.retry_reset_bytes = 0; /* every attempt counts */
    unlink(f->part);
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_ENET);
    assert_int_equal(st.attempts, 2);
}

static void test_404_not_retried(void **state)
{
    struct fx *f = *state;
    char url[160];
    snprintf(url, sizeof url, "%s/missing", S.base);
    struct asw_dl_request r;
    req_init(&r, url, f->dest);
    r.max_retries = 5;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_ENOTFOUND);
    assert_int_equal(requests(), 1);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(st.http_status, 404);
    assert_msg_has(&err, "HTTP 404");
    assert_string_equal(err.module, "download");
    assert_int_equal(file_size(f->dest), -1);
    assert_int_equal(file_size(f->part), -1);
}

static void test_size_lie(void **state)
{
    struct fx *f = *state;
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    char want[64], got[64];
    snprintf(got, sizeof got, "%zu", DATA_LEN);

    int64_t lies[2] = {(int64_t)DATA_LEN + 1, (int64_t)DATA_LEN - 1000};
    for (int i = 0; i < 2; i++) {
        S.requests = 0;
        r.expected_bytes = lies[i];
        snprintf(want, sizeof want, "%lld", (long long)lies[i]);
        struct asw_dl_stats st;
        struct asw_err err = {0};
        assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_EPROTO);
        assert_msg_has(&err, got);
        assert_msg_has(&err, want);
        assert_int_equal(requests(), 1); /* not retried */
        assert_int_equal(file_size(f->dest), -1);
        assert_int_equal(file_size(f->part), -1);
    }
}

static void test_userinfo_hidden(void **state)
{
    struct fx *f = *state;
    char url[512];
    snprintf(url, sizeof url, "http://alice:s3cret@%.60s/missing",
             S.base + strlen("http://"));
    struct asw_dl_request r;
    req_init(&r, url, f->dest);
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, NULL, &err), ASW_ENOTFOUND);
    assert_null(strstr(err.msg, "s3cret"));
    assert_null(strstr(err.msg, "alice"));
    assert_msg_has(&err, "http://127.0.0.1:");
    assert_msg_has(&err, "/missing");

    char out[128];
    assert_string_equal(
        asw_dl_safe_url("https://u:p@h.org/a@b", out, sizeof out),
        "https://h.org/a@b");
    assert_string_equal(
        asw_dl_safe_url("https://h.org/x?u=a@b", out, sizeof out),
        "https://h.org/x?u=a@b");
    assert_string_equal(asw_dl_safe_url("https://a@b@h.org", out, sizeof out),
                        "https://h.org");
    assert_string_equal(asw_dl_safe_url("no-scheme", out, sizeof out),
                        "no-scheme");
}

static void test_auth_env(void **state)
{
    struct fx *f = *state;
    char url[160];
    snprintf(url, sizeof url, "%s/auth/file", S.base);
    struct asw_dl_request r;
    req_init(&r, url, f->dest);
    r.user_env = "ASW_TEST_DL_USER";
    r.password_env = "ASW_TEST_DL_PASS";
    struct asw_dl_stats st;
    struct asw_err err = {0};

    unsetenv("ASW_TEST_DL_PASS");
    setenv("ASW_TEST_DL_USER", "u", 1);
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_ECONFIG);
    assert_msg_has(&err, "ASW_TEST_DL_PASS");
    assert_int_equal(requests(), 0);

    setenv("ASW_TEST_DL_PASS", "wrong", 1);
    r.max_retries = 3;
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_EAUTH);
    assert_msg_has(&err, "HTTP 401");
    assert_null(strstr(err.msg, "wrong"));
    assert_int_equal(requests(), 1);

    setenv("ASW_TEST_DL_PASS", "p", 1);
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_string_equal(S.auth, "Basic dTpw");
    unsetenv("ASW_TEST_DL_USER");
    unsetenv("ASW_TEST_DL_PASS");
}

static void test_netrc(void **state)
{
    struct fx *f = *state;
    char url[160], netrc[320];
    snprintf(url, sizeof url, "%s/auth/file", S.base);
    snprintf(netrc, sizeof netrc, "%s/netrc", f->dir);
    FILE *fp = fopen(netrc, "w");
    assert_non_null(fp);
    fputs("machine 127.0.0.1 login u password p\n", fp);
    fclose(fp);
    struct asw_dl_request r;
    req_init(&r, url, f->dest);
    r.netrc_file = netrc;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, NULL, &err), 0);
    assert_complete(f);
    assert_string_equal(S.auth, "Basic dTpw");
}

static void test_mirror_failover(void **state)
{
    struct fx *f = *state;
    char m1[96], m2[96], url[128];
    snprintf(m1, sizeof m1, "%s/m1", S.base);
    snprintf(m2, sizeof m2, "%s/m2", S.base);
    snprintf(url, sizeof url, "%s/file", m1);
    const char *mirrors[] = {m2, m1}; /* the URL's mirror need not be first */
    struct asw_dl_request r;
    req_init(&r, url, f->dest);
    r.max_retries = 1;
    r.mirrors = mirrors;
    r.n_mirrors = 2;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(S.hits_m1, 2);
    assert_int_equal(S.hits_m2, 1);
    assert_int_equal(st.attempts, 3);
    assert_int_equal(st.mirror, 0);
}

static void test_redirect(void **state)
{
    struct fx *f = *state;
    char url[160];
    snprintf(url, sizeof url, "%s/redirect", S.base);
    struct asw_dl_request r;
    req_init(&r, url, f->dest);
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(requests(), 2);
    assert_int_equal(st.http_status, 200);
}

/* TLS verification is always on: a server whose certificate no trusted CA
 * signed is refused before any HTTP request (and not retried); the same
 * server is accepted once its CA is given; a certificate that does not
 * name the host is refused even then. */
static void test_tls_verified(void **state)
{
    struct fx *f = *state;
    unsigned port = 0;
    struct MHD_Daemon *d = tls_server_start(&port);
    if (!d)
        skip(); /* libmicrohttpd without TLS */
    char url[128], ca[320];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/file", port);
    snprintf(ca, sizeof ca, "%s/ca.pem", f->dir);
    struct asw_dl_request r;
    req_init(&r, url, f->dest);
    r.max_retries = 3;
    struct asw_dl_stats st;
    struct asw_err err = {0};

    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_ENET);
    assert_msg_has(&err, "(curl 60)"); /* CURLE_PEER_FAILED_VERIFICATION */
    assert_int_equal(st.attempts, 1);
    assert_int_equal(requests(), 0);
    assert_int_equal(file_size(f->dest), -1);
    assert_int_equal(file_size(f->part), -1);

    FILE *fp = fopen(ca, "w");
    assert_non_null(fp);
    fputs(tls_cert, fp);
    fclose(fp);
    r.ca_file = ca;
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(requests(), 1);

    unlink(f->dest);
    snprintf(url, sizeof url, "https://localhost:%u/file", port);
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_ENET);
    assert_msg_has(&err, "(curl 60)");
    assert_msg_has(&err, "localhost");
    assert_int_equal(requests(), 1);
    assert_int_equal(file_size(f->dest), -1);
    unlink(ca);
    MHD_stop_daemon(d);
}

/* Run `almasweep fetch ARGS` in a child process (the command installs
 * signal handlers and ends libcurl's global state); its stderr goes to
 * err_path. Returns the exit code, or -1 if it did not exit. */
/* `almasweep fetch` in this process, its stderr into err_path and its
 * stdout discarded. (Not in a forked child: the test server's threads may
 * hold a lock -- malloc's, ASan's -- at the fork, and the child would wait
 * for it forever.) */
static int run_fetch_cli(char **argv, int argc, const char *err_path)
{
    fflush(NULL);
    int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int nul = open("/dev/null", O_WRONLY);
    int save1 = dup(1), save2 = dup(2);
    assert_true(fd >= 0 && nul >= 0 && save1 >= 0 && save2 >= 0);
    assert_true(dup2(fd, 2) >= 0 && dup2(nul, 1) >= 0);
    int rc = asw_cmd_fetch(argc, argv);
    fflush(NULL);
    assert_true(dup2(save2, 2) >= 0 && dup2(save1, 1) >= 0);
    close(fd);
    close(nul);
    close(save1);
    close(save2);
    return rc;
}

static void assert_file_has(const char *path, const char *s)
{
    char buf[4096] = "";
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    if (!strstr(buf, s))
        fail_msg("%s: \"%s\" lacks \"%s\"", path, buf, s);
}

/* The CA bundle reaches the transfer from the sweep's configuration
 * ([download] ca_file, through the pipeline) and from `almasweep fetch
 * --ca-file`: without it the self-signed server is refused (curl 60,
 * before any HTTP request), with it the file arrives whole. */
static void test_tls_ca_file_setting(void **state)
{
    struct fx *f = *state;
    unsigned port = 0;
    struct MHD_Daemon *d = tls_server_start(&port);
    if (!d)
        skip(); /* libmicrohttpd without TLS */
    char url[128], ca[320], work[300];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/file", port);
    snprintf(ca, sizeof ca, "%s/ca.pem", f->dir);
    snprintf(work, sizeof work, "%s/w", f->dir);
    assert_int_equal(mkdir(work, 0755), 0);
    FILE *fp = fopen(ca, "w");
    assert_non_null(fp);
    fputs(tls_cert, fp);
    fclose(fp);

    /* The sweep: one unit with the file, [download] ca_file through a
     * ${VAR} as every key allows. */
    struct asw_unit u;
    memset(&u, 0, sizeof u);
    snprintf(u.id, sizeof u.id, "uid___A001_X1_X2");
    u.kind = ASW_UNIT_MOUS_PRODUCTS;
    assert_int_equal(
        asw_unit_add_file(&u, "x.bin", url, (int64_t)DATA_LEN, "#this"), 0);
    u.bytes_total = u.scratch_need = (int64_t)DATA_LEN;
    char got[600];
    snprintf(got, sizeof got, "%s/scratch/almasweep/%s/x.bin", work, u.id);
    setenv("ASW_T_DL_CADIR", f->dir, 1);
    for (int with_ca = 0; with_ca <= 1; with_ca++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "[archive]\nmirrors = https://127.0.0.1:%u\n"
                 "[scratch]\ndir = %s/scratch\nreserve = 0\n"
                 "[download]\nretries = 2\nbackoff = 0.01\n"
                 "backoff_max = 0.01\nsegments = 1\n%s",
                 port, work,
                 with_ca ? "ca_file = ${ASW_T_DL_CADIR}/ca.pem\n" : "");
        struct asw_config cfg;
        struct asw_err err = {0};
        if (asw_config_parse(text, "t.ini", &cfg, &err))
            fail_msg("config: %s", err.msg);
        struct asw_result res;
        memset(&res, 0, sizeof res);
        int over = asw_pipeline_fetch(&cfg, &u, 0, NULL, &res);
        if (!with_ca) {
            /* refused at once: a certificate error is not retried */
            assert_int_equal(over, 1);
            assert_int_equal(res.status, ASW_ST_FAILED);
            if (!strstr(res.error, "download:ENET:") ||
                !strstr(res.error, "(curl 60)"))
                fail_msg("%s", res.error);
            assert_int_equal(requests(), 0);
            assert_int_equal(file_size(got), -1);
        } else {
            if (over)
                fail_msg("%s", res.error);
            assert_int_equal(requests(), 1);
            assert_int_equal(file_size(got), (int64_t)DATA_LEN);
        }
        asw_result_clear(&res);
        asw_config_free(&cfg);
    }
    unsetenv("ASW_T_DL_CADIR");
    asw_unit_clear(&u);

    /* The archive queries' client (io/http.c, TAP and DataLink): the
     * same CA setting. */
    for (int with_ca = 0; with_ca <= 1; with_ca++) {
        struct asw_http_opts ho = {.retries = 0, .connect_timeout_s = 5};
        ho.ca_file = with_ca ? ca : NULL;
        struct asw_buf body;
        asw_buf_init(&body, 2 * DATA_LEN);
        long status = 0;
        struct asw_err herr = {0};
        int hrc = asw_http_request(url, NULL, &ho, &body, &status, &herr);
        if (with_ca) {
            if (hrc)
                fail_msg("http with ca_file: %s", herr.msg);
            assert_int_equal(status, 200);
            assert_int_equal(body.len, DATA_LEN);
        } else {
            assert_int_not_equal(hrc, 0);
            assert_int_equal(status, 0);
        }
        asw_buf_free(&body);
    }
    assert_int_equal(requests(), 2);

    /* almasweep fetch, without and with --ca-file */
    char dest[320], errf[320], out[400];
    snprintf(dest, sizeof dest, "%s/cli", work);
    snprintf(errf, sizeof errf, "%s/fetch.err", work);
    snprintf(out, sizeof out, "%s/file", dest);
    char *plain[] = {"fetch", "--quiet", "--retries", "1", "--backoff",
                     "0.01",  "--dest",  dest,        url, NULL};
    assert_int_equal(run_fetch_cli(plain, 9, errf), ASW_EXIT_UNITS_FAILED);
    assert_file_has(errf, "(curl 60)");
    assert_int_equal(requests(), 2); /* none more */
    assert_int_equal(file_size(out), -1);
    char *with[] = {"fetch", "--quiet", "-s", "1", "--ca-file",
                    ca,      "--dest",  dest, url, NULL};
    assert_int_equal(run_fetch_cli(with, 9, errf), ASW_EXIT_OK);
    assert_int_equal(requests(), 3);
    assert_int_equal(file_size(out), (int64_t)DATA_LEN);
    /* a bundle that cannot be read is a usage error, naming it */
    char missing[340];
    snprintf(missing, sizeof missing, "%s/missing.pem", f->dir);
    char *bad[] = {"fetch", "--ca-file", missing, "--dest", dest, url, NULL};
    assert_int_equal(run_fetch_cli(bad, 6, errf), ASW_EXIT_USAGE);
    assert_file_has(errf, "--ca-file");
    assert_file_has(errf, "missing.pem: No such file or directory");
    assert_int_equal(requests(), 3);

    asw_testdir_remove(work);
    unlink(ca);
    MHD_stop_daemon(d);
}

/* The archive's #1740 case: a stalled transfer is cut by the low-speed
 * limit and resumed. The stalled connection stays open until the fetch
 * returns, so only the client's own timeout can have ended attempt 1. */
static void test_stall_then_resume(void **state)
{
    struct fx *f = *state;
    S.mode = M_STALL_FIRST;
    S.drop_at = 1000;
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    r.low_speed_limit_bps = 100000;
    r.low_speed_time_s = 1;
    r.max_retries = 1;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    S.released = 1;
    assert_complete(f);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(requests(), 2);
    assert_true(st.seconds >= 0.9);
    assert_true(st.seconds < 4.5);
    assert_string_equal(S.range, "bytes=1000-");
}

static void test_enospc(void **state)
{
    struct fx *f = *state;
    /* A file-size limit makes write(2) fail like a full disk would. */
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 200000;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    struct asw_dl_stats st;
    struct asw_err err = {0};
    int rc = asw_dl_fetch(&r, &st, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, ASW_ENOSPC);
    assert_msg_has(&err, ".part");
    assert_int_equal(requests(), 1); /* not retried */
    assert_int_equal(file_size(f->part), -1);
    assert_int_equal(file_size(f->dest), -1);
}

static void test_progress_abort(void **state)
{
    struct fx *f = *state;
    S.mode = M_STALL_FIRST; /* so the body is still arriving */
    S.drop_at = 100000;
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    struct prog pg = {.stop = 1};
    r.progress = on_progress;
    r.progress_user = &pg;
    r.progress_interval_s = 1e-6;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_EINTR);
    S.released = 1;
    assert_int_equal(pg.calls, 1);
    assert_int_equal(requests(), 1);
    assert_int_equal(pg.last_total, DATA_LEN);
    /* What arrived stays for a resume. */
    assert_int_equal(file_size(f->part), pg.last_now);
    assert_in_range(pg.last_now, 1, 100000);
}

/* A whole .part: with a known size no request at all, without one the
 * server's 416 says it is whole. */
static void test_part_already_complete(void **state)
{
    struct fx *f = *state;
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    struct asw_dl_stats st;
    struct asw_err err = {0};

    write_part(f, data, DATA_LEN);
    r.expected_bytes = (int64_t)DATA_LEN;
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(st.attempts, 0);
    assert_int_equal(requests(), 0);

    unlink(f->dest);
    write_part(f, data, DATA_LEN);
    r.expected_bytes = -1;
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(st.http_status, 416);
    assert_int_equal(st.bytes_transferred, 0);
}

/* A .part longer than the file (another version): restart from 0. */
static void test_part_too_long(void **state)
{
    struct fx *f = *state;
    unsigned char *big = calloc(1, DATA_LEN + 10);
    write_part(f, big, DATA_LEN + 10);
    free(big);
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    r.max_retries = 0; /* the restart must not need a retry */
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(st.attempts, 2);
    assert_string_equal(S.range, "");
}

static void test_ctx_reuses_connection(void **state)
{
    struct fx *f = *state;
    struct asw_dl_ctx *ctx = asw_dl_ctx_new();
    assert_non_null(ctx);
    struct asw_dl_request r;
    req_init(&r, f->url, f->dest);
    r.fsync = 1;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_ctx_fetch(ctx, &r, NULL, &err), 0);
    assert_complete(f);
    unlink(f->dest);
    assert_int_equal(asw_dl_ctx_fetch(ctx, &r, NULL, &err), 0);
    assert_complete(f);
    asw_dl_ctx_free(ctx);
    asw_dl_ctx_free(NULL);
    assert_int_equal(requests(), 2);
    assert_int_equal(S.connections, 1);
}

static void test_bad_request(void **state)
{
    struct fx *f = *state;
    struct asw_dl_request r;
    req_init(&r, NULL, f->dest);
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_EINVAL);
    assert_int_equal(st.attempts, 0);

    req_init(&r, "ftp://127.0.0.1/x", f->dest);
    r.max_retries = 3;
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_EINVAL);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(file_size(f->part), -1);
}

/* ---- parallel byte ranges ----------------------------------------- */

#define SEG_MIN ((int64_t)256 * 1024)

static void seg_init(struct asw_dl_request *r, struct fx *f, int segments)
{
    req_init(r, f->url, f->dest);
    r->segments = segments;
    r->min_segment_bytes = SEG_MIN;
}

/* Whether some logged GET asked for exactly "bytes=a-b". */
static int logged(int64_t a, int64_t b)
{
    char want[64];
    snprintf(want, sizeof want, "bytes=%lld-%lld", (long long)a, (long long)b);
    pthread_mutex_lock(&S.mu);
    int found = 0;
    for (int i = 0; i < S.n_log; i++)
        found |= !strcmp(S.log[i], want);
    pthread_mutex_unlock(&S.mu);
    return found;
}

/* Four ranges of a known size, at once, tiling the file. */
static void test_seg_plain(void **state)
{
    struct fx *f = *state;
    struct asw_dl_request r;
    seg_init(&r, f, 4);
    r.expected_bytes = (int64_t)DATA_LEN;
    S.barrier = 4;
    struct prog pg = {0};
    r.progress = on_progress;
    r.progress_user = &pg;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(file_size(f->state), -1);
    assert_int_equal(requests(), 4);
    assert_int_equal(S.heads, 0);
    assert_int_equal(st.attempts, 4);
    assert_int_equal(st.segments, 4);
    assert_int_equal(st.max_parallel, 4);
    assert_int_equal(S.max_active, 4); /* really in parallel */
    assert_true(st.seconds < 1.5);     /* the barrier did not time out */
    assert_int_equal(st.bytes_transferred, DATA_LEN);
    int64_t step = (int64_t)DATA_LEN / 4;
    assert_true(logged(0, step - 1));
    assert_true(logged(step, 2 * step - 1));
    assert_true(logged(3 * step, (int64_t)DATA_LEN - 1));
    assert_int_equal(pg.last_now, DATA_LEN);
    assert_int_equal(pg.last_total, DATA_LEN);
}

/* Without a DataLink size a HEAD finds it first. */
static void test_seg_head_probe(void **state)
{
    struct fx *f = *state;
    struct asw_dl_request r;
    seg_init(&r, f, 3);
    /* Thirds of the file are below twice this: no stealing. */
    r.min_segment_bytes = 300 * 1024;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(S.heads, 1);
    assert_int_equal(requests(), 4);
    assert_int_equal(st.attempts, 4);
    assert_int_equal(st.segments, 3);
}

/* Below twice the minimum segment: one plain GET. */
static void test_seg_small_file_single(void **state)
{
    struct fx *f = *state;
    struct asw_dl_request r;
    seg_init(&r, f, 4);
    r.min_segment_bytes = (int64_t)DATA_LEN / 2 + 1;
    r.expected_bytes = (int64_t)DATA_LEN;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(requests(), 1);
    assert_string_equal(S.range, "");
    assert_int_equal(st.segments, 1);
}

/* One segment's connection dies: only that segment resumes, from where
 * it stopped, and every byte crosses the wire once. */
static void test_seg_drop_resumes_segment(void **state)
{
    struct fx *f = *state;
    S.mode = M_DROP_FIRST;
    S.drop_at = 100000;
    struct asw_dl_request r;
    seg_init(&r, f, 4);
    r.expected_bytes = (int64_t)DATA_LEN;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(requests(), 5);
    assert_int_equal(st.attempts, 5);
    assert_int_equal(st.bytes_transferred, DATA_LEN);
    /* The first request to arrive was cut; one later request resumes it
     * from inside its range (where is up to TCP: bytes in flight when
     * the connection died are lost) up to the same end. */
    long long a, b, ra, rb;
    int resumed = 0;
    assert_int_equal(sscanf(S.log[0], "bytes=%lld-%lld", &a, &b), 2);
    for (int i = 1; i < S.n_log; i++)
        if (sscanf(S.log[i], "bytes=%lld-%lld", &ra, &rb) == 2 && ra > a &&
            ra <= a + 100000 && rb == b)
            resumed++;
    assert_int_equal(resumed, 1);
}

/* Write a .part holding data where done says and zeros elsewhere, and
 * its sidecar with the segments [0,h) [h,2h) [2h,size). */
static void write_seg_state(struct fx *f, const int64_t done[3])
{
    int64_t h = (int64_t)DATA_LEN / 3;
    int64_t st[3] = {0, h, 2 * h}, en[3] = {h, 2 * h, (int64_t)DATA_LEN};
    unsigned char *buf = calloc(1, DATA_LEN);
    for (int i = 0; i < 3; i++)
        memcpy(buf + st[i], data + st[i], (size_t)done[i]);
    write_part(f, buf, DATA_LEN);
    free(buf);
    FILE *fp = fopen(f->state, "w");
    assert_non_null(fp);
    fprintf(fp, "almasweep-part-state 1\nsize %zu\n", DATA_LEN);
    for (int i = 0; i < 3; i++)
        fprintf(fp, "seg %lld %lld %lld\n", (long long)st[i], (long long)en[i],
                (long long)done[i]);
    fclose(fp);
}

/* A full-size .part with a sidecar is resumed range by range, never
 * taken for a complete file, even when asked for a single stream. */
static void test_seg_resume_from_state(void **state)
{
    struct fx *f = *state;
    int64_t h = (int64_t)DATA_LEN / 3;
    int64_t done[3] = {1000, h, 5000}; /* the middle one is complete */
    for (int single = 0; single < 2; single++) {
        unlink(f->dest);
        S.n_log = 0;
        S.requests = 0;
        write_seg_state(f, done);
        struct asw_dl_request r;
        seg_init(&r, f, single ? 1 : 4);
        r.min_segment_bytes = 300 * 1024; /* no stealing: exact ranges */
        r.expected_bytes = (int64_t)DATA_LEN;
        struct asw_dl_stats st;
        struct asw_err err = {0};
        assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
        assert_complete(f);
        assert_int_equal(file_size(f->state), -1);
        assert_int_equal(st.bytes_resumed, 1000 + h + 5000);
        assert_int_equal(st.bytes_transferred,
                         (int64_t)DATA_LEN - (1000 + h + 5000));
        assert_true(logged(1000, h - 1));
        assert_true(logged(2 * h + 5000, (int64_t)DATA_LEN - 1));
        assert_int_equal(requests(), 2);
    }
}

/* A sidecar that does not fit (other size) is dropped: fresh start. */
static void test_seg_bad_state_restarts(void **state)
{
    struct fx *f = *state;
    int64_t done[3] = {1000, 1000, 1000};
    write_seg_state(f, done);
    FILE *fp = fopen(f->state, "w");
    fprintf(fp, "almasweep-part-state 1\nsize 99\nseg 0 99 0\n");
    fclose(fp);
    struct asw_dl_request r;
    seg_init(&r, f, 2);
    r.min_segment_bytes = 400 * 1024; /* halves below twice this */
    r.expected_bytes = (int64_t)DATA_LEN;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(st.bytes_transferred, DATA_LEN);
    assert_int_equal(requests(), 2);
}

/* A server that answers ranges with the whole file: one stream. */
static void test_seg_ranges_ignored(void **state)
{
    struct fx *f = *state;
    S.mode = M_IGNORE_RANGE;
    struct asw_dl_request r;
    seg_init(&r, f, 4);
    r.expected_bytes = (int64_t)DATA_LEN;
    r.max_retries = 0;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(file_size(f->state), -1);
    assert_int_equal(st.segments, 1);
    /* Some GET asked for no range: the fallback to one stream. (Requests
     * of the abandoned segments may reach the server later.) */
    int plain = 0;
    for (int i = 0; i < S.n_log; i++)
        plain += S.log[i][0] == '\0';
    assert_int_equal(plain, 1);
}

/* DataLink's size disagrees with the server's: permanent, nothing left. */
static void test_seg_size_lie(void **state)
{
    struct fx *f = *state;
    struct asw_dl_request r;
    seg_init(&r, f, 4);
    r.expected_bytes = (int64_t)DATA_LEN + 4096;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_EPROTO);
    char got[32], want[32];
    snprintf(got, sizeof got, "%zu", DATA_LEN);
    snprintf(want, sizeof want, "%zu", DATA_LEN + 4096);
    assert_msg_has(&err, "size mismatch");
    assert_msg_has(&err, got);
    assert_msg_has(&err, want);
    assert_int_equal(file_size(f->part), -1);
    assert_int_equal(file_size(f->state), -1);
    assert_int_equal(file_size(f->dest), -1);
    /* Caught on the first answers, not by asking for bytes past the end. */
    assert_true(requests() <= 4);
}

static void test_seg_404(void **state)
{
    struct fx *f = *state;
    char url[160];
    snprintf(url, sizeof url, "%s/missing", S.base);
    struct asw_dl_request r;
    seg_init(&r, f, 4);
    r.url = url;
    r.expected_bytes = (int64_t)DATA_LEN;
    r.max_retries = 3;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, NULL, &err), ASW_ENOTFOUND);
    assert_msg_has(&err, "HTTP 404");
    assert_int_equal(file_size(f->part), -1);
    assert_int_equal(file_size(f->state), -1);
    /* Unknown size: the HEAD already says 404, no GET follows. */
    r.expected_bytes = -1;
    struct asw_dl_stats st;
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_ENOTFOUND);
    assert_msg_has(&err, "HEAD");
    assert_int_equal(S.heads, 1);
    assert_int_equal(st.attempts, 1);
}

/* 503 on two segment requests: each retried on its own. */
static void test_seg_503_per_segment(void **state)
{
    struct fx *f = *state;
    S.mode = M_FAIL_503;
    S.fail_n = 2;
    struct asw_dl_request r;
    seg_init(&r, f, 4);
    r.expected_bytes = (int64_t)DATA_LEN;
    r.max_retries = 2; /* under load one segment may get both 503s */
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    /* The server answered 503 twice and served 4 segments: 6 requests
     * for /file, each one an attempt of the client. (requests() may also
     * count a previous test's late requests for another URL.) */
    pthread_mutex_lock(&S.mu);
    int nf = S.file_requests;
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(nf, 6);
    assert_int_equal(st.attempts, 6);
}

/* A segment that keeps failing exhausts its retries: the call fails
 * but keeps the .part and sidecar for the next one. */
static void test_seg_gives_up_keeps_state(void **state)
{
    struct fx *f = *state;
    S.mode = M_SHORT_ALWAYS;
    struct asw_dl_request r;
    seg_init(&r, f, 2);
    r.expected_bytes = (int64_t)DATA_LEN;
    r.max_retries = 1;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), ASW_ENET);
    assert_msg_has(&err, "gave up");
    assert_int_equal(file_size(f->part), DATA_LEN); /* preallocated */
    assert_true(file_size(f->state) > 0);
    int64_t got = st.bytes_transferred;
    assert_in_range(got, 1, DATA_LEN - 1);

    S.mode = M_NORMAL;
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    assert_complete(f);
    assert_int_equal(file_size(f->state), -1);
    assert_int_equal(st.bytes_resumed, got);
    assert_int_equal(st.bytes_transferred, (int64_t)DATA_LEN - got);
}

/* The space is reserved before any request: a full disk fails at once. */
static void test_seg_enospc_at_once(void **state)
{
    struct fx *f = *state;
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 200000;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    struct asw_dl_request r;
    seg_init(&r, f, 4);
    r.expected_bytes = (int64_t)DATA_LEN;
    struct asw_err err = {0};
    int rc = asw_dl_fetch(&r, NULL, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, ASW_ENOSPC);
    assert_msg_has(&err, "reserving");
    assert_int_equal(requests(), 0);
    assert_int_equal(file_size(f->part), -1);
    assert_int_equal(file_size(f->state), -1);
}

/* The range at byte 0 trickles: the others finish and take over halves
 * of it, so the file completes long before the slow one would. */
static void test_seg_steal_from_slow(void **state)
{
    struct fx *f = *state;
    S.mode = M_SLOW_ZERO;
    struct asw_dl_request r;
    seg_init(&r, f, 4);
    r.min_segment_bytes = 64 * 1024;
    r.expected_bytes = (int64_t)DATA_LEN;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    S.released = 1;
    assert_complete(f);
    assert_true(st.segments > 4);
    assert_true(requests() > 4);
    /* The first quarter alone takes ~1.4 s at the trickle rate. */
    assert_true(st.seconds < 1.2);
    assert_int_equal(st.bytes_transferred, DATA_LEN);
}

/* ---- the tail ----------------------------------------------------- */

struct tail_reader {
    struct asw_dl_tail *t;
    unsigned char *got;
    int64_t n;
    long rc;
    struct asw_err err;
};

static void *tail_main(void *arg)
{
    struct tail_reader *tr = arg;
    for (;;) {
        size_t want = 50000; /* odd size: reads straddle segments */
        if (tr->n + (int64_t)want > (int64_t)DATA_LEN + 10)
            want = (size_t)((int64_t)DATA_LEN + 10 - tr->n);
        long r =
            asw_dl_tail_read(tr->t, tr->got + tr->n, want, tr->n, &tr->err);
        if (r <= 0) {
            tr->rc = r;
            return NULL;
        }
        tr->n += r;
    }
}

/* A concurrent reader sees exactly the file, then the end. */
static void test_tail_follows(void **state, int segments)
{
    struct fx *f = *state;
    S.mode = M_SLOW_ZERO; /* the prefix grows slowly, then jumps */
    char dest[400];
    char cwd[300];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(dest, sizeof dest, "%s", f->dest);
    struct tail_reader tr = {
        asw_dl_tail_new(), malloc(DATA_LEN + 10), 0, 1, {0}};
    assert_non_null(tr.t);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, tail_main, &tr), 0);
    struct asw_dl_request r;
    seg_init(&r, f, segments);
    r.expected_bytes = (int64_t)DATA_LEN;
    r.tail = tr.t;
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, &st, &err), 0);
    pthread_join(th, NULL);
    S.released = 1;
    assert_complete(f);
    assert_int_equal(tr.rc, 0);
    assert_int_equal(tr.n, DATA_LEN);
    assert_memory_equal(tr.got, data, DATA_LEN);
    /* With a reader, the plan is min_segment chunks (6 here), not one
     * range per transfer. */
    if (segments > 1)
        assert_true(st.segments >= (int)(DATA_LEN / SEG_MIN));
    free(tr.got);
    asw_dl_tail_free(tr.t);
}

static void test_tail_single(void **state)
{
    test_tail_follows(state, 1);
}

static void test_tail_segmented(void **state)
{
    test_tail_follows(state, 4);
}

/* A reader must never be handed bytes that the download later replaces:
 * a junk .part the server does not resume either stays unread or breaks
 * the reader. */
static void test_tail_restart_breaks_reader(void **state)
{
    struct fx *f = *state;
    S.mode = M_IGNORE_RANGE;
    unsigned char junk[300000];
    memset(junk, 0xaa, sizeof junk);
    int broken = 0;
    for (int round = 0; round < 5; round++) {
        unlink(f->dest);
        write_part(f, junk, sizeof junk);
        struct tail_reader tr = {
            asw_dl_tail_new(), malloc(DATA_LEN + 10), 0, 1, {0}};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, tail_main, &tr), 0);
        struct asw_dl_request r;
        req_init(&r, f->url, f->dest);
        r.tail = tr.t;
        struct asw_err err = {0};
        assert_int_equal(asw_dl_fetch(&r, NULL, &err), 0);
        pthread_join(th, NULL);
        assert_complete(f);
        if (tr.rc == 0) {
            assert_int_equal(tr.n, DATA_LEN);
            assert_memory_equal(tr.got, data, DATA_LEN);
        } else {
            assert_int_equal(tr.rc, ASW_EPROTO);
            assert_msg_has(&tr.err, "restarted");
            broken++;
        }
        free(tr.got);
        asw_dl_tail_free(tr.t);
    }
    (void)broken; /* either outcome is right; wrong bytes never are */
}

/* A failed download ends the reader with the download's code; a
 * cancelled tail ends it with ASW_EINTR; relative paths are refused. */
static void test_tail_failure_and_cancel(void **state)
{
    struct fx *f = *state;
    char url[160];
    snprintf(url, sizeof url, "%s/missing", S.base);
    struct tail_reader tr = {
        asw_dl_tail_new(), malloc(DATA_LEN + 10), 0, 1, {0}};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, tail_main, &tr), 0);
    struct asw_dl_request r;
    req_init(&r, url, f->dest);
    r.tail = tr.t;
    struct asw_err err = {0};
    assert_int_equal(asw_dl_fetch(&r, NULL, &err), ASW_ENOTFOUND);
    pthread_join(th, NULL);
    assert_int_equal(tr.rc, ASW_ENOTFOUND);
    assert_int_equal(tr.n, 0);
    asw_dl_tail_free(tr.t);

    tr.t = asw_dl_tail_new();
    assert_int_equal(asw_dl_tail_cancelled(tr.t), 0);
    assert_int_equal(pthread_create(&th, NULL, tail_main, &tr), 0);
    asw_dl_tail_cancel(tr.t);
    pthread_join(th, NULL);
    assert_int_equal(tr.rc, ASW_EINTR);
    assert_int_equal(asw_dl_tail_cancelled(tr.t), 1);

    req_init(&r, f->url, "relative/x.tar");
    r.tail = tr.t;
    assert_int_equal(asw_dl_fetch(&r, NULL, &err), ASW_EINVAL);
    asw_dl_tail_free(tr.t);
    asw_dl_tail_free(NULL);
    free(tr.got);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_plain),
        T(test_503_then_ok),
        T(test_503_exhausted),
        T(test_drop_then_resume),
        T(test_resume_existing_part),
        T(test_range_ignored_restarts),
        T(test_wrong_range_start),
        T(test_short_body),
        T(test_progress_forgives),
        T(test_404_not_retried),
        T(test_size_lie),
        T(test_userinfo_hidden),
        T(test_auth_env),
        T(test_netrc),
        T(test_mirror_failover),
        T(test_redirect),
        T(test_tls_verified),
        T(test_tls_ca_file_setting),
        T(test_stall_then_resume),
        T(test_enospc),
        T(test_progress_abort),
        T(test_part_already_complete),
        T(test_part_too_long),
        T(test_ctx_reuses_connection),
        T(test_bad_request),
        T(test_seg_plain),
        T(test_seg_head_probe),
        T(test_seg_small_file_single),
        T(test_seg_drop_resumes_segment),
        T(test_seg_resume_from_state),
        T(test_seg_bad_state_restarts),
        T(test_seg_ranges_ignored),
        T(test_seg_size_lie),
        T(test_seg_404),
        T(test_seg_503_per_segment),
        T(test_seg_gives_up_keeps_state),
        T(test_seg_enospc_at_once),
        T(test_seg_steal_from_slow),
        T(test_tail_single),
        T(test_tail_segmented),
        T(test_tail_restart_breaks_reader),
        T(test_tail_failure_and_cancel),
    };
    return cmocka_run_group_tests(tests, server_start, server_stop);
}
