/*
 * Fault injection: the fault file, the per-request decision, and the body
 * pacing that realises latency, stalls, bandwidth caps, truncation and
 * connection resets.
 *
 * File syntax (one rule a line, '#' starts a comment):
 *   <path-prefix> key[=value] ...
 * <path-prefix> is matched against the decoded URL path ('*' matches all).
 * Every matching rule applies, in file order; a later rule overrides the
 * knobs an earlier one set. Keys (sizes take k, M, G = 2^10, 2^20, 2^30):
 *   count=N        only the first N matching requests get the fault
 *   skip=N         ... after skipping the first N matching requests
 *   method=M       only requests with this method (GET, HEAD, POST)
 *   contains=S     only when the raw request target (path?query), or for
 *                  a POST the fields re-encoded as in the log, holds S
 *   status=CODE    answer CODE with a short text body
 *   retry_after=S  with status: send Retry-After: S
 *   latency_ms=N   wait N ms before the response headers
 *   stall_ms=N     pause N ms in the body, after stall_after=B bytes
 *   rate_bps=N     cap this connection at N bytes per second
 *   truncate=N     close the connection (FIN) after N body bytes while
 *                  Content-Length announces the whole body
 *   drop_after=N   reset the connection (RST) after N body bytes
 *   hangup         close the connection without sending any response
 *   xml_redeclare[=N]  TAP: after N rows (default 1) append a second
 *                  <?xml ...?> declaration and an error document
 *   query_error=TEXT   TAP: HTTP 200 with QUERY_STATUS ERROR and TEXT (the
 *                  rest of the line; must come last); DataLink: HTTP 200
 *                  with one #error row per ID holding TEXT
 */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_RULES 1000

enum knob {
    K_STATUS = 1 << 0,
    K_RETRY = 1 << 1,
    K_LATENCY = 1 << 2,
    K_STALL = 1 << 3,
    K_STALL_AFTER = 1 << 4,
    K_RATE = 1 << 5,
    K_TRUNCATE = 1 << 6,
    K_DROP = 1 << 7,
    K_HANGUP = 1 << 8,
    K_REDECLARE = 1 << 9,
    K_QERROR = 1 << 10,
};

struct rule {
    int line;
    char *prefix;
    char method[8];
    char *contains;
    long count; /* -1: unlimited */
    long skip;
    long seen; /* matching requests so far */
    unsigned set;
    struct asw_sim_fault f;
    char names[96];
};

struct asw_sim_faults {
    pthread_mutex_t mu;
    char *path;
    struct rule *r;
    size_t n;
};

static atomic_int stopping;
static pthread_mutex_t rate_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total_bps;
static double next_free_s;

static void rules_free(struct rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].prefix);
        free(r[i].contains);
    }
    free(r);
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    int shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift)
        end++;
    if (*end || (shift && v > (~0ULL >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static void add_name(struct rule *r, const char *name)
{
    size_t len = strlen(r->names);
    snprintf(r->names + len, sizeof(r->names) - len, "%s%s", len ? "+" : "",
             name);
}

/* Parses one non-empty line into r. Returns 0 or -1 with err. */
static int parse_rule(char *line, int lineno, struct rule *r, char *err,
                      size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->line = lineno;
    r->count = -1;
    r->f.truncate_at = -1;
    r->f.drop_after = -1;
    r->f.xml_redeclare = -1;
    char *save = NULL;
    char *tok = strtok_r(line, " \t", &save);
    r->prefix = strdup(tok);
    if (!r->prefix)
        goto oom;
    while ((tok = strtok_r(NULL, " \t", &save))) {
        char *val = strchr(tok, '=');
        if (val)
            *val++ = '\0';
        uint64_t v = 0;
        const char *key = tok;
        if (strcmp(key, "query_error") == 0) {
            /* The text runs to the end of the line. */
            const char *rest = val ? val : "";
            if (val && save && *save)
                val[strlen(val)] = ' '; /* undo strtok_r's cut */
            while (isspace((unsigned char)*rest))
                rest++;
            snprintf(r->f.query_error_text, sizeof(r->f.query_error_text), "%s",
                     *rest ? rest
                           : "ORA-01489: result of string concatenation "
                             "is too long");
            r->f.query_error = 1;
            r->set |= K_QERROR;
            add_name(r, key);
            break;
        }
        if (strcmp(key, "hangup") == 0) {
            r->f.hangup = 1;
            r->set |= K_HANGUP;
            add_name(r, key);
            continue;
        }
        if (strcmp(key, "xml_redeclare") == 0 && !val) {
            r->f.xml_redeclare = 1;
            r->set |= K_REDECLARE;
            add_name(r, key);
            continue;
        }
        if (!val || !*val) {
            snprintf(err, errlen, "line %d: '%s' needs a value", lineno, key);
            return -1;
        }
        if (strcmp(key, "method") == 0) {
            snprintf(r->method, sizeof(r->method), "%s", val);
            continue;
        }
        if (strcmp(key, "contains") == 0) {
            free(r->contains);
            r->contains = strdup(val);
            if (!r->contains)
                goto oom;
            continue;
        }
        if (parse_size(val, &v)) {
            snprintf(err, errlen, "line %d: bad number '%s' for %s", lineno,
                     val, key);
            return -1;
        }
        if (strcmp(key, "count") == 0) {
            r->count = (long)v;
        } else if (strcmp(key, "skip") == 0) {
            r->skip = (long)v;
        } else if (strcmp(key, "status") == 0) {
            if (v < 100 || v > 599) {
                snprintf(err, errlen, "line %d: bad status %llu", lineno,
                         (unsigned long long)v);
                return -1;
            }
            r->f.status = (unsigned)v;
            r->set |= K_STATUS;
            add_name(r, key);
        } else if (strcmp(key, "retry_after") == 0) {
            r->f.retry_after_s = (int)v;
            r->set |= K_RETRY;
        } else if (strcmp(key, "latency_ms") == 0) {
            r->f.latency_ms = (long)v;
            r->set |= K_LATENCY;
            add_name(r, key);
        } else if (strcmp(key, "stall_ms") == 0) {
            r->f.stall_ms = (long)v;
            r->set |= K_STALL;
            add_name(r, key);
        } else if (strcmp(key, "stall_after") == 0) {
            r->f.stall_after = v;
            r->set |= K_STALL_AFTER;
        } else if (strcmp(key, "rate_bps") == 0) {
            r->f.rate_bps = v;
            r->set |= K_RATE;
            add_name(r, key);
        } else if (strcmp(key, "truncate") == 0) {
            r->f.truncate_at = (int64_t)v;
            r->set |= K_TRUNCATE;
            add_name(r, key);
        } else if (strcmp(key, "drop_after") == 0) {
            r->f.drop_after = (int64_t)v;
            r->set |= K_DROP;
            add_name(r, key);
        } else if (strcmp(key, "xml_redeclare") == 0) {
            r->f.xml_redeclare = (long)v;
            r->set |= K_REDECLARE;
            add_name(r, key);
        } else {
            snprintf(err, errlen, "line %d: unknown key '%s'", lineno, key);
            return -1;
        }
    }
    if (!r->set) {
        snprintf(err, errlen, "line %d: rule without a fault", lineno);
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int read_rules(const char *path, struct rule **out, size_t *nout,
                      char *err, size_t errlen)
{
    *out = NULL;
    *nout = 0;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct rule *rules = NULL;
    size_t n = 0;
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *hash = strchr(line, '#');
        /* A '#' inside query_error text is kept: only a '#' at the start
         * of a word starts a comment. */
        while (hash && hash != line && !isspace((unsigned char)hash[-1]))
            hash = strchr(hash + 1, '#');
        if (hash && !strstr(line, "query_error="))
            *hash = '\0';
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            continue;
        if (n >= MAX_RULES) {
            snprintf(err, errlen, "%s: more than %d rules", path, MAX_RULES);
            rc = -1;
            break;
        }
        struct rule *nr = realloc(rules, (n + 1) * sizeof(*nr));
        if (!nr) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        rules = nr;
        char msg[256];
        if (parse_rule(p, lineno, &rules[n], msg, sizeof(msg))) {
            n++;
            snprintf(err, errlen, "%s: %s", path, msg);
            rc = -1;
            break;
        }
        n++;
    }
    fclose(fp);
    if (rc) {
        rules_free(rules, n);
        return -1;
    }
    *out = rules;
    *nout = n;
    return 0;
}

int asw_sim_faults_load(const char *path, struct asw_sim_faults **out,
                        char *err, size_t errlen)
{
    struct asw_sim_faults *f = calloc(1, sizeof(*f));
    *out = NULL;
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&f->mu, NULL);
    if (path) {
        f->path = strdup(path);
        if (!f->path || read_rules(path, &f->r, &f->n, err, errlen)) {
            asw_sim_faults_free(f);
            return -1;
        }
    }
    *out = f;
    return 0;
}

int asw_sim_faults_reload(struct asw_sim_faults *f, char *err, size_t errlen)
{
    if (!f->path)
        return 0;
    struct rule *r;
    size_t n;
    if (read_rules(f->path, &r, &n, err, errlen))
        return -1;
    pthread_mutex_lock(&f->mu);
    struct rule *old = f->r;
    size_t oldn = f->n;
    f->r = r;
    f->n = n;
    pthread_mutex_unlock(&f->mu);
    rules_free(old, oldn);
    return 0;
}

void asw_sim_faults_free(struct asw_sim_faults *f)
{
    if (!f)
        return;
    rules_free(f->r, f->n);
    free(f->path);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static void merge(struct asw_sim_fault *o, const struct rule *r)
{
    const struct asw_sim_fault *f = &r->f;
    if (r->set & K_STATUS)
        o->status = f->status;
    if (r->set & K_RETRY)
        o->retry_after_s = f->retry_after_s;
    if (r->set & K_LATENCY)
        o->latency_ms = f->latency_ms;
    if (r->set & K_STALL)
        o->stall_ms = f->stall_ms;
    if (r->set & K_STALL_AFTER)
        o->stall_after = f->stall_after;
    if (r->set & K_RATE)
        o->rate_bps = f->rate_bps;
    if (r->set & K_TRUNCATE)
        o->truncate_at = f->truncate_at;
    if (r->set & K_DROP)
        o->drop_after = f->drop_after;
    if (r->set & K_HANGUP)
        o->hangup = 1;
    if (r->set & K_REDECLARE)
        o->xml_redeclare = f->xml_redeclare;
    if (r->set & K_QERROR) {
        o->query_error = 1;
        memcpy(o->query_error_text, f->query_error_text,
               sizeof(o->query_error_text));
    }
    size_t len = strlen(o->applied);
    snprintf(o->applied + len, sizeof(o->applied) - len, "%sL%d:%s",
             len ? "," : "", r->line, r->names);
}

void asw_sim_faults_match(struct asw_sim_faults *f, const char *method,
                          const char *path, const char *uri,
                          struct asw_sim_fault *out)
{
    memset(out, 0, sizeof(*out));
    out->truncate_at = -1;
    out->drop_after = -1;
    out->xml_redeclare = -1;
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++) {
        struct rule *r = &f->r[i];
        if (strcmp(r->prefix, "*") != 0 &&
            strncmp(path, r->prefix, strlen(r->prefix)) != 0)
            continue;
        if (r->method[0] && strcasecmp(r->method, method) != 0)
            continue;
        if (r->contains && !strstr(uri, r->contains))
            continue;
        r->seen++;
        if (r->seen <= r->skip)
            continue;
        if (r->count >= 0 && r->seen - r->skip > r->count)
            continue;
        merge(out, r);
    }
    pthread_mutex_unlock(&f->mu);
}

int asw_sim_fault_shapes_body(const struct asw_sim_fault *f)
{
    return f->stall_ms > 0 || f->rate_bps > 0 || f->truncate_at >= 0 ||
           f->drop_after >= 0 || total_bps > 0;
}

/* ---- sleeping and pacing ----------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sleeps in short slices so that shutdown is never held up by a stall. */
static int sleep_until(double end_s)
{
    for (;;) {
        if (atomic_load(&stopping))
            return -1;
        double d = end_s - now_s();
        if (d <= 0)
            return 0;
        if (d > 0.05)
            d = 0.05;
        struct timespec ts = {0, (long)(d * 1e9)};
        nanosleep(&ts, NULL);
    }
}

int asw_sim_sleep_ms(long ms)
{
    return sleep_until(now_s() + ms / 1000.0);
}

void asw_sim_shutdown_begin(void)
{
    atomic_store(&stopping, 1);
}

void asw_sim_set_total_rate(uint64_t bps)
{
    pthread_mutex_lock(&rate_mu);
    total_bps = bps;
    pthread_mutex_unlock(&rate_mu);
}

/* A reset rather than an orderly close: disconnecting a TCP socket with
 * connect(AF_UNSPEC) makes Linux send RST at once, so the client sees
 * "connection reset" instead of a short body. */
static void reset_socket(int fd)
{
    if (fd < 0)
        return;
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    struct sockaddr sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_family = AF_UNSPEC;
    (void)connect(fd, &sa, sizeof(sa));
}

static size_t min_sz(size_t a, uint64_t b)
{
    return b < a ? (size_t)b : a;
}

int asw_sim_fault_pace(const struct asw_sim_fault *f, struct asw_sim_pace *p,
                       int sock_fd, uint64_t pos, size_t *n)
{
    size_t want = *n;
    if (!p->started) {
        p->started = 1;
        p->t0_ns = (int64_t)(now_s() * 1e9);
        p->base_pos = pos;
    }
    if (f->drop_after >= 0 && pos >= (uint64_t)f->drop_after) {
        reset_socket(sock_fd);
        return -1;
    }
    if (f->truncate_at >= 0 && pos >= (uint64_t)f->truncate_at)
        return -1;
    if (f->drop_after >= 0)
        want = min_sz(want, (uint64_t)f->drop_after - pos);
    if (f->truncate_at >= 0)
        want = min_sz(want, (uint64_t)f->truncate_at - pos);
    if (f->stall_ms > 0 && !p->stalled) {
        if (pos >= f->stall_after) {
            p->stalled = 1;
            if (asw_sim_sleep_ms(f->stall_ms))
                return -1;
            /* The rate cap restarts after a stall rather than bursting to
             * catch up. */
            p->t0_ns = (int64_t)(now_s() * 1e9);
            p->base_pos = pos;
        } else {
            want = min_sz(want, f->stall_after - pos);
        }
    }
    if (f->rate_bps > 0) {
        want = min_sz(want, f->rate_bps / 16 > 512 ? f->rate_bps / 16 : 512);
        double target =
            p->t0_ns * 1e-9 + (double)(pos + want - p->base_pos) / f->rate_bps;
        if (sleep_until(target))
            return -1;
    }
    pthread_mutex_lock(&rate_mu);
    uint64_t total = total_bps;
    double my_end = 0;
    if (total) {
        want = min_sz(want, total / 16 > 512 ? total / 16 : 512);
        double now = now_s();
        if (next_free_s < now)
            next_free_s = now;
        next_free_s += (double)want / total;
        my_end = next_free_s;
    }
    pthread_mutex_unlock(&rate_mu);
    if (total && sleep_until(my_end))
        return -1;
    if (want == 0)
        want = 1; /* never answer 0 bytes: MHD would treat it as a stall */
    *n = want;
    return 0;
}
