/*
 * download_seg.c - one file as parallel byte ranges (curl multi).
 *
 * The .part is preallocated to the file's size and each segment [start,
 * end) is written in place with pwrite as its bytes arrive; `done` counts
 * the bytes from start that are on disk. The segment list lives in the
 * sidecar "<dest>.part.state", written before the .part grows to full
 * size (so a full-size .part never exists without it), then about once a
 * second while segments change, and when the call returns:
 *
 *     almasweep-part-state 1
 *     size <file bytes>
 *     seg <start> <end> <done>      (one line per segment, any order)
 *
 * Every request asks for one range, "bytes=<start+done>-<end-1>", and its
 * 206 answer must start there and announce the expected total. A segment
 * that fails is retried after a backoff of its own (req->max_retries per
 * segment); when one runs out of retries the call gives up with the state
 * kept, so the next mirror (or a later call) continues every segment where
 * it stopped. A transfer that finishes while others still have a lot to go
 * takes over the upper half of the largest remaining segment; the owner of
 * that segment stops at the new end (its connection is then closed).
 */
#define _GNU_SOURCE /* fallocate */

#include "io/download.h"
#include "io/download_int.h"

#include "src/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOD          ASW_DL_MOD
#define STATE_MAGIC  "almasweep-part-state 1"
#define MAX_SEGMENTS 1024 /* entries in the state, stolen halves included */
#define SAVE_EVERY_S 1.0
#define POLL_MAX_MS  100
#define SPLIT_ALIGN  ((int64_t)64 * 1024)

struct seg {
    int64_t start, end; /* [start, end) of the file */
    int64_t done;       /* bytes from start on disk */
    int fails;          /* failed attempts that count against retries */
    double not_before;  /* backoff: earliest start of the next request */
    int conn;           /* index of the transfer working on it, -1 none */
};

struct run;

/* One transfer in flight. */
struct conn {
    struct run *run;
    CURL *h;
    struct asw_dl_wbuf *wb; /* received, not yet written; wb->off is the
                               segment's start + done */
    int seg;                /* index in run->segs, -1 when idle */
    int64_t pos;            /* file offset of the next body byte */
    int64_t req_start;      /* the range asked for */
    int64_t written;        /* body bytes received by this transfer */
    double last_flush;      /* when the buffer was last written */
    struct asw_dl_hdr hdr;
    int decided, discard;
    int reached_end; /* stopped on purpose at the segment's end */
    int no_ranges;   /* the server answered 200 */
    int werrno;
    int abort_rc;
    char abort_msg[200];
    char snippet[160];
    size_t snippet_len;
    int64_t drained;
    char errbuf[CURL_ERROR_SIZE];
};

struct run {
    struct asw_dl_ctx *ctx;
    const struct asw_dl_request *req;
    const char *url, *show, *part, *state;
    const struct asw_dl_creds *cr;
    struct asw_dl_stats *st;
    int fd;
    int64_t total;
    int total_from_datalink; /* for the wording of size mismatches */
    int64_t min_seg;
    struct seg *segs;
    int n_segs;
    struct conn conns[ASW_DL_MAX_PARALLEL];
    int n_conns; /* transfers allowed at once */
    int active;
    int64_t new_bytes; /* written in this call */
    int dirty;         /* the state file is behind */
};

char *asw_dl_state_path(const char *part)
{
    size_t n = strlen(part);
    char *s = malloc(n + sizeof ".state");
    if (s) {
        memcpy(s, part, n);
        memcpy(s + n, ".state", sizeof ".state");
    }
    return s;
}

/* ---- the HEAD probe ------------------------------------------------ */

static size_t head_header(char *p, size_t size, size_t n, void *ud)
{
    asw_dl_hdr_line(ud, p, size * n);
    return size * n;
}

int asw_dl_head(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                const char *url, const char *show_url,
                const struct asw_dl_creds *cr, int64_t *size_bytes, int *ranges,
                int *transient, struct asw_err *err)
{
    struct asw_dl_hdr hdr;
    asw_dl_hdr_reset(&hdr);
    *size_bytes = -1;
    *ranges = 0;
    *transient = 0;
    CURL *h = ctx->curl;
    asw_dl_set_common(h, req, url, cr, ctx->errbuf);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, head_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hdr);
    ctx->errbuf[0] = '\0';
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        *transient = asw_dl_curl_transient(cc);
        return asw_err_set(
            err, asw_dl_curl_code(cc), MOD, "HEAD %s: %s (curl %d)", show_url,
            ctx->errbuf[0] ? ctx->errbuf : curl_easy_strerror(cc), (int)cc);
    }
    if (hdr.status != 200)
        return asw_dl_status_error("HEAD", hdr.status, show_url, "", transient,
                                   err);
    *size_bytes = hdr.content_length;
    *ranges = hdr.accept_ranges;
    return 0;
}

/* ---- the state file ------------------------------------------------ */

static int save_state(struct run *r)
{
    size_t n = strlen(r->state);
    char *tmp = malloc(n + sizeof ".tmp");
    if (!tmp)
        return ASW_ENOMEM;
    memcpy(tmp, r->state, n);
    memcpy(tmp + n, ".tmp", sizeof ".tmp");
    int rc = 0;
    FILE *fp = fopen(tmp, "w");
    if (!fp) {
        rc = asw_dl_errno_code(errno);
        goto out;
    }
    fprintf(fp, "%s\nsize %lld\n", STATE_MAGIC, (long long)r->total);
    for (int i = 0; i < r->n_segs; i++)
        fprintf(fp, "seg %lld %lld %lld\n", (long long)r->segs[i].start,
                (long long)r->segs[i].end, (long long)r->segs[i].done);
    if (fflush(fp) != 0 || ferror(fp)) {
        rc = asw_dl_errno_code(errno);
        fclose(fp);
        unlink(tmp);
        goto out;
    }
    if (fclose(fp) != 0 || rename(tmp, r->state) != 0) {
        rc = asw_dl_errno_code(errno);
        unlink(tmp);
        goto out;
    }
    r->dirty = 0;
out:
    free(tmp);
    return rc;
}

static int cmp_start(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

static int add_seg(struct run *r, int64_t start, int64_t end, int64_t done)
{
    if (r->n_segs >= MAX_SEGMENTS)
        return ASW_ETOOBIG;
    struct seg *v = realloc(r->segs, (size_t)(r->n_segs + 1) * sizeof *v);
    if (!v)
        return ASW_ENOMEM;
    r->segs = v;
    struct seg *s = &v[r->n_segs++];
    memset(s, 0, sizeof *s);
    s->start = start;
    s->end = end;
    s->done = done;
    s->conn = -1;
    r->dirty = 1;
    return 0;
}

/*
 * Read the sidecar into r->segs. Returns 0 when it is usable: the right
 * size (r->total, or adopted when still -1), segments tiling [0, size)
 * exactly, and a .part of that size. -1 when there is no sidecar, -2 when
 * it cannot be used (the caller starts over).
 */
static int load_state(struct run *r)
{
    FILE *fp = fopen(r->state, "r");
    if (!fp)
        return -1;
    char line[256];
    long long size = -1;
    int ok = fgets(line, sizeof line, fp) &&
             strncmp(line, STATE_MAGIC, strlen(STATE_MAGIC)) == 0 &&
             fgets(line, sizeof line, fp) &&
             sscanf(line, "size %lld", &size) == 1 && size > 0;
    while (ok && fgets(line, sizeof line, fp)) {
        long long a, b, d;
        if (sscanf(line, "seg %lld %lld %lld", &a, &b, &d) != 3 || a < 0 ||
            b <= a || d < 0 || d > b - a || add_seg(r, a, b, d) != 0)
            ok = 0;
    }
    fclose(fp);
    if (ok && r->total >= 0 && size != r->total)
        ok = 0;
    if (ok && r->n_segs > 0) {
        struct seg *sorted = malloc((size_t)r->n_segs * sizeof *sorted);
        ok = sorted != NULL;
        if (ok) {
            memcpy(sorted, r->segs, (size_t)r->n_segs * sizeof *sorted);
            qsort(sorted, (size_t)r->n_segs, sizeof *sorted, cmp_start);
            int64_t at = 0;
            for (int i = 0; i < r->n_segs && ok; i++) {
                ok = sorted[i].start == at;
                at = sorted[i].end;
            }
            ok = ok && at == size;
            free(sorted);
        }
    }
    struct stat sb;
    if (ok && (fstat(r->fd, &sb) != 0 || (int64_t)sb.st_size != size))
        ok = 0;
    if (!ok) {
        free(r->segs);
        r->segs = NULL;
        r->n_segs = 0;
        return -2;
    }
    r->total = size;
    r->dirty = 0;
    return 0;
}

/*
 * A fresh plan: keep what a single-stream .part already holds as a done
 * first segment and split the rest into up to n_conns equal segments of
 * at least min_seg bytes (into min_seg chunks when a tail reader follows).
 * The sidecar is written before the .part grows.
 */
static int new_plan(struct run *r, struct asw_err *err)
{
    struct stat sb;
    if (fstat(r->fd, &sb) != 0)
        return asw_err_set(err, ASW_EIO, MOD, "stat %s: %s", r->part,
                           strerror(errno));
    int64_t have = (int64_t)sb.st_size;
    if (have > r->total) {
        asw_dl_tail_discard(r->req->tail, 0);
        if (ftruncate(r->fd, 0) != 0)
            return asw_err_set(err, asw_dl_errno_code(errno), MOD,
                               "truncating %s: %s", r->part, strerror(errno));
        have = 0;
    }
    int rc = 0;
    if (have > 0)
        rc = add_seg(r, 0, have, have);
    int64_t rest = r->total - have;
    int64_t k = rest / (r->min_seg > 0 ? r->min_seg : 1);
    /* One segment per transfer, unless a tail reader follows the file:
     * then chunks of min_seg, taken lowest offset first, so that the
     * arrived prefix grows at the rate of all transfers together rather
     * than at that of the first one. */
    if (k > r->n_conns && !r->req->tail)
        k = r->n_conns;
    if (k > MAX_SEGMENTS / 2)
        k = MAX_SEGMENTS / 2; /* room for steals */
    if (k < 1)
        k = 1;
    int64_t step = rest / k;
    for (int64_t i = 0; i < k && !rc && rest > 0; i++) {
        int64_t a = have + i * step;
        int64_t b = i == k - 1 ? r->total : have + (i + 1) * step;
        rc = add_seg(r, a, b, 0);
    }
    if (rc)
        return asw_err_set(err, rc, MOD, "out of memory");
    r->st->segments += (int)k;
    if ((rc = save_state(r)) != 0)
        return asw_err_set(err, rc, MOD, "writing %s: %s", r->state,
                           strerror(errno));
    /* Reserve the blocks now: a full scratch disk fails here, at once,
     * rather than gigabytes later. File systems without fallocate get a
     * sparse file. */
    if (rest > 0 && fallocate(r->fd, 0, have, rest) != 0) {
        int e = errno;
        if (e != EOPNOTSUPP && e != ENOSYS)
            return asw_err_set(err, asw_dl_errno_code(e), MOD,
                               "reserving %lld bytes for %s: %s",
                               (long long)rest, r->part, strerror(e));
        if (ftruncate(r->fd, r->total) != 0)
            return asw_err_set(err, asw_dl_errno_code(errno), MOD,
                               "extending %s: %s", r->part, strerror(errno));
    }
    return 0;
}

/* ---- one transfer -------------------------------------------------- */

static size_t conn_header(char *p, size_t size, size_t n, void *ud)
{
    struct conn *c = ud;
    asw_dl_hdr_line(&c->hdr, p, size * n);
    return size * n;
}

static int conn_fail(struct conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int conn_fail(struct conn *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->abort_msg, sizeof c->abort_msg, fmt, ap);
    va_end(ap);
    c->abort_rc = code;
    return -1;
}

/* The body starts: it must be the range asked for, of the file we know. */
static int conn_decide(struct conn *c)
{
    struct run *r = c->run;
    const struct asw_dl_hdr *h = &c->hdr;
    c->decided = 1;
    if (h->status == 200) {
        /* A range covering the whole file may be answered with 200. */
        if (c->req_start == 0 && r->segs[c->seg].end == r->total &&
            (h->content_length < 0 || h->content_length == r->total))
            return 0;
        c->no_ranges = 1;
        return -1;
    }
    if (h->status != 206) {
        c->discard = 1;
        return 0;
    }
    if (h->cr_total >= 0 && h->cr_total != r->total)
        return conn_fail(c, ASW_EPROTO,
                         "size mismatch: server announces %lld bytes, %s "
                         "%lld",
                         (long long)h->cr_total,
                         r->total_from_datalink ? "DataLink said" : "expected",
                         (long long)r->total);
    if (h->cr_start != c->req_start)
        return conn_fail(c, ASW_EPROTO,
                         "206 response starts at byte %lld, asked for %lld",
                         (long long)h->cr_start, (long long)c->req_start);
    return 0;
}

/* Write what the transfer buffered; it then counts as done. */
static int conn_flush(struct conn *c)
{
    struct run *r = c->run;
    int64_t before = c->wb->off;
    c->last_flush = asw_dl_now();
    int rc = asw_dl_wbuf_flush(c->wb, r->fd);
    r->segs[c->seg].done += c->wb->off - before;
    if (rc != 0)
        c->werrno = errno ? errno : EIO;
    return rc;
}

static size_t conn_body(char *p, size_t size, size_t n, void *ud)
{
    struct conn *c = ud;
    struct run *r = c->run;
    size_t len = size * n;
    if (!c->decided && conn_decide(c) != 0)
        return ASW_DL_WRITE_FAIL;
    if (c->discard) {
        size_t room = sizeof c->snippet - 1 - c->snippet_len;
        size_t k = len < room ? len : room;
        memcpy(c->snippet + c->snippet_len, p, k);
        c->snippet_len += k;
        c->snippet[c->snippet_len] = '\0';
        c->drained += (int64_t)len;
        return c->drained > ASW_DL_ERROR_BODY_DRAIN ? ASW_DL_WRITE_FAIL : len;
    }
    struct seg *s = &r->segs[c->seg];
    /* The end may have moved down since the request (a steal). */
    int64_t room = s->end - c->pos;
    size_t take = (int64_t)len < room ? len : (size_t)(room > 0 ? room : 0);
    struct asw_dl_wbuf *b = c->wb;
    for (size_t off = 0; off < take;) {
        size_t k = b->cap - b->len < take - off ? b->cap - b->len : take - off;
        memcpy(b->p + b->len, p + off, k);
        b->len += k;
        off += k;
        if (b->len == b->cap && conn_flush(c) != 0)
            return ASW_DL_WRITE_FAIL;
    }
    c->pos += (int64_t)take;
    c->written += (int64_t)take;
    r->new_bytes += (int64_t)take;
    r->st->bytes_transferred += (int64_t)take;
    if (take < len) {
        c->reached_end = 1;
        return ASW_DL_WRITE_FAIL;
    }
    return len;
}

static int start_conn(struct run *r, int ci, int si, struct asw_err *err)
{
    struct asw_dl_ctx *ctx = r->ctx;
    struct conn *c = &r->conns[ci];
    struct seg *s = &r->segs[si];
    struct asw_dl_wbuf *wb = &ctx->pool_wb[ci];
    if (!ctx->pool[ci] && !(ctx->pool[ci] = curl_easy_init()))
        return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
    if (!wb->p) {
        if (!(wb->p = malloc(ASW_DL_SEG_WBUF_BYTES)))
            return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
        wb->cap = ASW_DL_SEG_WBUF_BYTES;
    }
    memset(c, 0, sizeof *c);
    c->run = r;
    c->h = ctx->pool[ci];
    c->wb = wb;
    c->seg = si;
    c->req_start = s->start + s->done;
    c->pos = c->req_start;
    wb->len = 0;
    wb->off = c->req_start;
    c->last_flush = asw_dl_now();
    asw_dl_hdr_reset(&c->hdr);
    char range[64];
    snprintf(range, sizeof range, "%lld-%lld", (long long)c->req_start,
             (long long)(s->end - 1));
    asw_dl_set_common(c->h, r->req, r->url, r->cr, c->errbuf);
    curl_easy_setopt(c->h, CURLOPT_RANGE, range);
    curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, conn_header);
    curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, conn_body);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
    if (curl_multi_add_handle(ctx->multi, c->h) != CURLM_OK) {
        c->seg = -1; /* not running: stop_all must not remove it */
        return asw_err_set(err, ASW_ENOMEM, MOD, "curl_multi_add_handle");
    }
    s->conn = ci;
    r->active++;
    r->st->attempts++;
    if (r->active > r->st->max_parallel)
        r->st->max_parallel = r->active;
    return 0;
}

static void stop_conn(struct run *r, struct conn *c)
{
    curl_multi_remove_handle(r->ctx->multi, c->h);
    if (c->seg >= 0)
        r->segs[c->seg].conn = -1;
    c->seg = -1;
    r->active--;
}

static int64_t remaining(const struct seg *s)
{
    return s->end - s->start - s->done;
}

/*
 * Give idle transfer slots work: first segments waiting to start (lowest
 * offset first, which feeds a tail reader soonest), then halves of the
 * largest running segment when nothing else waits.
 */
static int schedule(struct run *r, double now, struct asw_err *err)
{
    for (int ci = 0; ci < r->n_conns; ci++) {
        if (r->conns[ci].seg >= 0)
            continue;
        int best = -1, waiting = 0;
        for (int i = 0; i < r->n_segs; i++) {
            struct seg *s = &r->segs[i];
            if (s->conn >= 0 || remaining(s) <= 0)
                continue;
            waiting = 1;
            if (s->not_before > now)
                continue;
            if (best < 0 || s->start < r->segs[best].start)
                best = i;
        }
        if (best < 0 && !waiting) {
            int victim = -1;
            for (int i = 0; i < r->n_segs; i++) {
                struct seg *s = &r->segs[i];
                int64_t left =
                    s->conn >= 0 ? s->end - r->conns[s->conn].pos : 0;
                if (left >= 2 * r->min_seg &&
                    (victim < 0 ||
                     left > r->segs[victim].end -
                                r->conns[r->segs[victim].conn].pos))
                    victim = i;
            }
            if (victim >= 0 && r->n_segs < MAX_SEGMENTS) {
                struct seg *v = &r->segs[victim];
                /* Above what its transfer has received (buffered bytes
                 * included), so nothing is written twice. */
                int64_t from = r->conns[v->conn].pos;
                int64_t at = from + (v->end - from) / 2;
                at -= at % SPLIT_ALIGN;
                if (at > from && at < v->end) {
                    int64_t end = v->end;
                    int rc = add_seg(r, at, end, 0);
                    if (rc)
                        return asw_err_set(err, rc, MOD, "out of memory");
                    r->segs[victim].end = at; /* add_seg may move segs */
                    r->st->segments++;
                    best = r->n_segs - 1;
                    asw_debug("download %s: split at byte %lld", r->show,
                              (long long)at);
                }
            }
        }
        if (best < 0)
            continue;
        int rc = start_conn(r, ci, best, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Bytes from 0 that are on disk without a gap. */
static int64_t prefix(const struct run *r)
{
    int64_t at = 0;
    for (;;) {
        int i;
        for (i = 0; i < r->n_segs; i++)
            if (r->segs[i].start == at)
                break;
        if (i == r->n_segs)
            return at;
        const struct seg *s = &r->segs[i];
        if (s->done < s->end - s->start)
            return at + s->done;
        at = s->end;
    }
}

static int all_done(const struct run *r)
{
    for (int i = 0; i < r->n_segs; i++)
        if (remaining(&r->segs[i]) > 0)
            return 0;
    return 1;
}

/*
 * A transfer ended. Returns 0 (done, or retry scheduled), a negative code
 * that ends the run (err filled, *transient set), or ASW_DL_NO_RANGES.
 */
static int conn_done(struct run *r, struct conn *c, CURLcode cc, double now,
                     int *transient, struct asw_err *err)
{
    struct seg *s = &r->segs[c->seg];
    int si = c->seg;
    long code = 0;
    if (curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
        code > 0)
        c->hdr.status = code;
    r->st->http_status = c->hdr.status;
    if (!c->werrno && c->wb->len > 0)
        conn_flush(c);
    stop_conn(r, c);
    r->dirty = 1;
    *transient = 0;

    if (c->werrno)
        return asw_err_set(err, asw_dl_errno_code(c->werrno), MOD,
                           "writing %s: %s", r->part, strerror(c->werrno));
    if (c->abort_rc)
        return asw_err_set(err, c->abort_rc, MOD, "GET %s: %s", r->show,
                           c->abort_msg);
    if (c->no_ranges)
        return ASW_DL_NO_RANGES;
    if (remaining(s) == 0) {
        s->fails = 0;
        return 0;
    }
    int rc, tr = 0;
    if (cc != CURLE_OK && !c->discard) {
        tr = asw_dl_curl_transient(cc);
        rc = asw_err_set(err, asw_dl_curl_code(cc), MOD,
                         "GET %s (bytes %lld-%lld): %s (curl %d)", r->show,
                         (long long)c->req_start, (long long)(s->end - 1),
                         c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc),
                         (int)cc);
    } else if (cc == CURLE_OK && c->decided && !c->discard && c->written > 0) {
        /* The server sent a shorter range than asked for (allowed): ask
         * for the rest at once, it is not a failure. */
        s->not_before = now;
        return 0;
    } else if (cc == CURLE_OK && c->decided && !c->discard) {
        tr = 1;
        rc = asw_err_set(err, ASW_ENET, MOD,
                         "GET %s: range %lld-%lld ended at byte %lld", r->show,
                         (long long)c->req_start, (long long)(s->end - 1),
                         (long long)c->pos);
    } else if (c->hdr.status == 416) {
        if (c->hdr.cr_total >= 0 && c->hdr.cr_total != r->total)
            return asw_err_set(err, ASW_EPROTO, MOD,
                               "GET %s: size mismatch: server announces %lld "
                               "bytes, %s %lld",
                               r->show, (long long)c->hdr.cr_total,
                               r->total_from_datalink ? "DataLink said"
                                                      : "expected",
                               (long long)r->total);
        tr = 1;
        rc = asw_err_set(err, ASW_EHTTP, MOD, "GET %s: HTTP 416", r->show);
    } else {
        rc = asw_dl_status_error("GET", c->hdr.status, r->show,
                                 asw_dl_printable(c->snippet, c->snippet_len),
                                 &tr, err);
    }
    if (!tr) {
        *transient = 0;
        return rc;
    }
    const struct asw_dl_request *req = r->req;
    if (req->retry_reset_bytes > 0 && c->written >= req->retry_reset_bytes)
        s->fails = 0;
    else
        s->fails++;
    if (s->fails > req->max_retries) {
        *transient = 1;
        return rc;
    }
    double d = asw_dl_backoff(r->ctx, req, s->fails - 1, c->hdr.retry_after_s);
    asw_warn("download %s: segment %d (bytes %lld-%lld) failed (%s); "
             "retrying in %.1f s",
             r->show, si, (long long)(s->start + s->done),
             (long long)(s->end - 1), err ? err->msg : "", d);
    s->not_before = now + d;
    return 0;
}

/* Abandon the transfers still running, keeping what they received. */
static void stop_all(struct run *r)
{
    for (int i = 0; i < r->n_conns; i++) {
        struct conn *c = &r->conns[i];
        if (c->seg < 0)
            continue;
        if (!c->werrno && c->wb->len > 0)
            (void)conn_flush(c);
        stop_conn(r, c);
    }
}

/* Delay until the earliest backoff ends (ms, at most POLL_MAX_MS). */
static int poll_ms(const struct run *r, double now)
{
    double next = now + POLL_MAX_MS / 1000.0;
    for (int i = 0; i < r->n_segs; i++) {
        const struct seg *s = &r->segs[i];
        if (s->conn < 0 && remaining(s) > 0 && s->not_before < next)
            next = s->not_before;
    }
    double ms = (next - now) * 1000.0;
    return ms < 1 ? 1 : (int)ms;
}

int asw_dl_seg_run(struct asw_dl_ctx *ctx, const struct asw_dl_request *req,
                   const char *url, const char *show_url, const char *part,
                   const char *state_path, int64_t total_bytes,
                   const struct asw_dl_creds *cr, struct asw_dl_stats *st,
                   int *transient, struct asw_err *err)
{
    struct run r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.req = req;
    r.url = url;
    r.show = show_url;
    r.part = part;
    r.state = state_path;
    r.cr = cr;
    r.st = st;
    r.total = total_bytes;
    r.total_from_datalink = req->expected_bytes >= 0;
    r.min_seg = req->min_segment_bytes > 0 ? req->min_segment_bytes : 1;
    r.n_conns = req->segments < 1 ? 1 : req->segments;
    if (r.n_conns > ASW_DL_MAX_PARALLEL)
        r.n_conns = ASW_DL_MAX_PARALLEL;
    for (int i = 0; i < ASW_DL_MAX_PARALLEL; i++)
        r.conns[i].seg = -1;
    *transient = 0;
    int rc = 0;

    if (!ctx->multi && !(ctx->multi = curl_multi_init()))
        return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
    r.fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r.fd < 0)
        return asw_err_set(err, asw_dl_errno_code(errno), MOD, "opening %s: %s",
                           part, strerror(errno));
    asw_dl_tail_attach(req->tail, r.fd);

    int loaded = load_state(&r);
    if (loaded == -2 && r.total >= 0) {
        /* The .part was preallocated for that plan: its bytes are not a
         * prefix of the file. */
        asw_warn("download %s: unusable %s; starting over", show_url,
                 state_path);
        asw_dl_tail_discard(req->tail, 0);
        if (ftruncate(r.fd, 0) != 0) {
            rc = asw_err_set(err, asw_dl_errno_code(errno), MOD,
                             "truncating %s: %s", part, strerror(errno));
            goto out;
        }
    }
    if (loaded != 0) {
        if (r.total < 0) {
            /* A sidecar we cannot read and no size to start over with:
             * the single stream resumes nothing but always works. */
            asw_warn("download %s: unusable %s; restarting as one stream",
                     show_url, state_path);
            rc = ASW_DL_NO_RANGES;
            goto out;
        }
        if ((rc = new_plan(&r, err)) != 0)
            goto out;
    } else {
        for (int i = 0; i < r.n_segs; i++) {
            st->bytes_resumed += r.segs[i].done;
            if (remaining(&r.segs[i]) > 0)
                st->segments++;
        }
        asw_info("download %s: resuming %d segments (%lld of %lld bytes "
                 "there)",
                 show_url, st->segments, (long long)st->bytes_resumed,
                 (long long)r.total);
    }

    double t0 = asw_dl_now(), last_save = t0, last_progress = t0;
    double every =
        req->progress_interval_s > 0 ? req->progress_interval_s : 1.0;
    int64_t published = -1;
    while (!all_done(&r)) {
        double now = asw_dl_now();
        if ((rc = schedule(&r, now, err)) != 0)
            break;
        if (r.active == 0) {
            asw_dl_sleep(poll_ms(&r, now) / 1000.0);
            continue;
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(ctx->multi, &running);
        if (mc != CURLM_OK) {
            rc = asw_err_set(err, ASW_ENET, MOD, "curl_multi_perform: %s",
                             curl_multi_strerror(mc));
            break;
        }
        CURLMsg *m;
        int left;
        now = asw_dl_now();
        while (!rc && (m = curl_multi_info_read(ctx->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct conn *c = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            rc = conn_done(&r, c, m->data.result, now, transient, err);
        }
        for (int i = 0; !rc && i < r.n_conns; i++) {
            struct conn *c = &r.conns[i];
            if (c->seg >= 0 && c->wb->len > 0 &&
                now - c->last_flush >= ASW_DL_FLUSH_EVERY_S &&
                conn_flush(c) != 0)
                rc = asw_err_set(err, asw_dl_errno_code(c->werrno), MOD,
                                 "writing %s: %s", part, strerror(c->werrno));
        }
        if (rc)
            break;
        int64_t p = prefix(&r);
        if (p != published) {
            asw_dl_tail_publish(req->tail, p);
            published = p;
        }
        if (req->progress && now - last_progress >= every) {
            last_progress = now;
            int64_t have = 0;
            for (int i = 0; i < r.n_segs; i++)
                have += r.segs[i].done;
            double rate = (double)r.new_bytes / (now - t0 + 1e-9);
            if (req->progress(req->progress_user, have, r.total, rate)) {
                rc = asw_err_set(err, ASW_EINTR, MOD,
                                 "GET %s: stopped by the progress callback",
                                 show_url);
                break;
            }
        }
        if (r.dirty && now - last_save >= SAVE_EVERY_S) {
            last_save = now;
            (void)save_state(&r); /* best effort: the next save retries */
        }
        if (running)
            curl_multi_poll(ctx->multi, NULL, 0, poll_ms(&r, now), NULL);
    }
    stop_all(&r);
    if (rc == 0 && req->progress) {
        double dt = asw_dl_now() - t0;
        req->progress(req->progress_user, r.total, r.total,
                      (double)r.new_bytes / (dt + 1e-9));
    }

out:
    if (rc == 0) {
        if (close(r.fd) != 0)
            rc = asw_err_set(err, asw_dl_errno_code(errno), MOD,
                             "closing %s: %s", part, strerror(errno));
        r.fd = -1;
        if (rc == 0)
            unlink(state_path);
    } else if (rc == ASW_DL_NO_RANGES) {
        /* The .part is preallocated: only a clean slate suits one stream. */
        close(r.fd);
        r.fd = -1;
        unlink(state_path);
        unlink(part);
    } else {
        int64_t have = 0;
        for (int i = 0; i < r.n_segs; i++)
            have += r.segs[i].done;
        if (r.n_segs > 0 && have == 0 && rc != ASW_EINTR) {
            /* Nothing worth resuming: do not leave a full-size file of
             * zeros on scratch. */
            unlink(state_path);
            unlink(part);
        } else if (r.n_segs > 0 && r.dirty) {
            (void)save_state(&r);
        }
    }
    if (r.fd >= 0)
        close(r.fd);
    free(r.segs);
    return rc;
}
