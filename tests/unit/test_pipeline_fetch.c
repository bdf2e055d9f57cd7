/*
 * test_pipeline_fetch.c - the download / extraction / scratch part of a
 * unit's pipeline (asw_pipeline_run_ex, asw_pipeline_fetch_file) against
 * a libmicrohttpd server in this process serving tars built here: a good
 * ALMA product tar, hostile ones ("../x", "/abs/x", a symlink out), a
 * plain file, a slow one, one whose body always stops halfway and one
 * that drips (about 100 bytes/s); every file also under /auth/, behind
 * HTTP Basic "u:p". The server counts the
 * requests it answers at once. The backend is a test double that lists
 * what the unit directory holds when it runs.
 *
 * Each test works in a fresh directory R: R/scratch is [scratch] dir;
 * "nothing written outside the unit directory" is checked on R and on
 * the absolute target of the hostile tar.
 */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "jobs/pipeline.h"
#include "src/config.h"

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <microhttpd.h>
#include <netinet/in.h>
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

#define MOUS                                                                   \
    "2017.1.01185.S/science_goal.uid___A001_X1284_X265c/"                      \
    "group.uid___A001_X1284_X265d/member.uid___A001_X1284_X265e"
#define FITS                                                                   \
    MOUS "/product/"                                                           \
         "uid___A001_X1284_X265e.J1924-2914_bp.spw16.mfs.I.pbcor.fits"
#define BIG_LEN  ((size_t)1024 * 1024)
#define SLOW_LEN ((size_t)4 * 1024 * 1024)
#define DRIP_LEN ((size_t)300) /* one byte per 10 ms: about 3 s */

struct blob {
    char name[64];
    unsigned char *p;
    size_t len;
    int slow;       /* trickle 64 kB per 20 ms */
    int short_body; /* the connection closes after half of every body */
    int drip;       /* one byte per 10 ms */
};

static struct {
    struct MHD_Daemon *d;
    char base[64];
    pthread_mutex_t mu;
    int requests;
    int auth_refused;       /* /auth/ requests answered 401 */
    int active, max_active; /* bodies being sent at once */
    struct blob blobs[12];
    int n_blobs;
    char abs_target[300]; /* where /abs.tar would write */
    volatile int released;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- tars in memory ------------------------------------------------- */

struct tarw {
    struct archive *a;
    unsigned char *buf;
    size_t cap, used;
};

static void tw_open(struct tarw *t, size_t cap)
{
    t->cap = cap;
    t->buf = malloc(cap);
    t->a = archive_write_new();
    archive_write_set_format_pax_restricted(t->a);
    archive_write_set_bytes_in_last_block(t->a, 1);
    assert_int_equal(archive_write_open_memory(t->a, t->buf, t->cap, &t->used),
                     ARCHIVE_OK);
}

static void tw_add(struct tarw *t, const char *path, unsigned type,
                   const void *data, size_t len, const char *link)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    if (link)
        archive_entry_set_symlink(e, link);
    assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
    if (len)
        assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

static void tw_close(struct tarw *t, const char *name, int slow)
{
    assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
    archive_write_free(t->a);
    struct blob *b = &S.blobs[S.n_blobs++];
    snprintf(b->name, sizeof b->name, "%s", name);
    b->p = t->buf;
    b->len = t->used;
    b->slow = slow;
}

static struct blob *blob(const char *name)
{
    for (int i = 0; i < S.n_blobs; i++)
        if (!strcmp(S.blobs[i].name, name))
            return &S.blobs[i];
    return NULL;
}

static void make_blobs(void)
{
    static char fits[200000];
    for (size_t i = 0; i < sizeof fits; i++)
        fits[i] = (char)(i * 7);
    struct tarw t;

    tw_open(&t, 1 << 20);
    tw_add(&t, MOUS "/", AE_IFDIR, NULL, 0, NULL);
    tw_add(&t, MOUS "/product/", AE_IFDIR, NULL, 0, NULL);
    tw_add(&t, FITS, AE_IFREG, fits, sizeof fits, NULL);
    tw_add(&t, MOUS "/calibration/flux.csv", AE_IFREG, "a,b\n", 4, NULL);
    tw_add(&t, MOUS "/README", AE_IFREG, "readme", 6, NULL);
    tw_close(&t, "good.tar", 0);

    /* Hostile: a good entry first, so that a partial extraction exists
     * and must be cleaned away. */
    tw_open(&t, 1 << 20);
    tw_add(&t, MOUS "/README", AE_IFREG, "readme", 6, NULL);
    tw_add(&t, "../escape.txt", AE_IFREG, "x", 1, NULL);
    tw_close(&t, "dotdot.tar", 0);

    tw_open(&t, 1 << 20);
    tw_add(&t, MOUS "/README", AE_IFREG, "readme", 6, NULL);
    tw_add(&t, S.abs_target, AE_IFREG, "x", 1, NULL);
    tw_close(&t, "abs.tar", 0);

    tw_open(&t, 1 << 20);
    tw_add(&t, MOUS "/README", AE_IFREG, "readme", 6, NULL);
    tw_add(&t, "link", AE_IFLNK, NULL, 0, "../../..");
    tw_add(&t, "link/escape.txt", AE_IFREG, "x", 1, NULL);
    tw_close(&t, "symlink.tar", 0);

    /* Slow: many members so that the first is on disk long before the
     * last byte arrives. */
    tw_open(&t, SLOW_LEN + (1 << 20));
    static char chunk[256 * 1024];
    for (int i = 0; i < 16; i++) {
        char path[300];
        memset(chunk, 'a' + i, sizeof chunk);
        snprintf(path, sizeof path, MOUS "/raw/chunk%02d.bin", i);
        tw_add(&t, path, AE_IFREG, chunk, sizeof chunk, NULL);
    }
    tw_close(&t, "slow.tar", 1);

    /* Slow and hostile from the first entry: extraction during the
     * download must stop the download. */
    tw_open(&t, SLOW_LEN + (1 << 20));
    tw_add(&t, "../escape.txt", AE_IFREG, "x", 1, NULL);
    for (int i = 0; i < 16; i++) {
        char path[300];
        snprintf(path, sizeof path, MOUS "/raw/chunk%02d.bin", i);
        tw_add(&t, path, AE_IFREG, chunk, sizeof chunk, NULL);
    }
    tw_close(&t, "slowbad.tar", 1);

    struct blob *b = &S.blobs[S.n_blobs++];
    snprintf(b->name, sizeof b->name, "big.bin");
    b->p = malloc(BIG_LEN);
    for (size_t i = 0; i < BIG_LEN; i++)
        b->p[i] = (unsigned char)(i * 31 + 7);
    b->len = BIG_LEN;

    b = &S.blobs[S.n_blobs++];
    snprintf(b->name, sizeof b->name, "short.bin");
    b->p = malloc(BIG_LEN);
    memcpy(b->p, S.blobs[S.n_blobs - 2].p, BIG_LEN);
    b->len = BIG_LEN;
    b->short_body = 1;

    b = &S.blobs[S.n_blobs++];
    snprintf(b->name, sizeof b->name, "drip.bin");
    b->p = malloc(DRIP_LEN);
    memset(b->p, 'd', DRIP_LEN);
    b->len = DRIP_LEN;
    b->drip = 1;
}

/* ---- the server ---------------------------------------------------- */

struct reader {
    const struct blob *b;
    size_t start, len;
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
    if (r->b->short_body) {
        /* Content-Length announced the whole body; half of it comes. */
        if (pos >= r->len / 2)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (max > r->len / 2 - pos)
            max = r->len / 2 - pos;
    }
    if (r->b->drip) {
        if (S.released)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        usleep(10 * 1000);
        max = 1;
    }
    if (r->b->slow) {
        if (S.released)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        usleep(20 * 1000);
        if (max > 64 * 1024)
            max = 64 * 1024;
    }
    size_t left = r->len - pos;
    size_t n = left < max ? left : max;
    memcpy(buf, r->b->p + r->start + pos, n);
    return (ssize_t)n;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_size, void **req_cls)
{
    static int marker;
    if (*req_cls == NULL) {
        *req_cls = &marker;
        return MHD_YES;
    }
    pthread_mutex_lock(&S.mu);
    S.requests++;
    pthread_mutex_unlock(&S.mu);
    if (strncmp(url, "/auth/", 6) == 0) {
        /* "u:p" in base64 */
        const char *auth =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!auth || strcmp(auth, "Basic dTpw") != 0) {
            pthread_mutex_lock(&S.mu);
            S.auth_refused++;
            pthread_mutex_unlock(&S.mu);
            static const char no[] = "unauthorized";
            struct MHD_Response *r = MHD_create_response_from_buffer(
                sizeof no - 1, (void *)no, MHD_RESPMEM_PERSISTENT);
            MHD_add_response_header(r, "WWW-Authenticate",
                                    "Basic realm=\"ALMA\"");
            enum MHD_Result ret = MHD_queue_response(c, 401, r);
            MHD_destroy_response(r);
            return ret;
        }
        url += 5;
    }
    const struct blob *b = url[0] == '/' ? blob(url + 1) : NULL;
    if (!b) {
        static const char nf[] = "not found";
        struct MHD_Response *r = MHD_create_response_from_buffer(
            sizeof nf - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret = MHD_queue_response(c, 404, r);
        MHD_destroy_response(r);
        return ret;
    }
    const char *range =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    size_t a = 0, z = b->len - 1;
    int partial = 0;
    if (range) {
        size_t x, y;
        int k = sscanf(range, "bytes=%zu-%zu", &x, &y);
        if (k >= 1 && x < b->len) {
            partial = 1;
            a = x;
            if (k == 2 && y < b->len)
                z = y;
        }
    }
    struct reader *rd = calloc(1, sizeof *rd);
    rd->b = b;
    rd->start = a;
    rd->len = z - a + 1;
    pthread_mutex_lock(&S.mu);
    if (++S.active > S.max_active)
        S.max_active = S.active;
    pthread_mutex_unlock(&S.mu);
    struct MHD_Response *r = MHD_create_response_from_callback(
        rd->len, 64 * 1024, read_body, rd, reader_free);
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    if (partial) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", a, z, b->len);
        MHD_add_response_header(r, "Content-Range", cr);
    }
    enum MHD_Result ret = MHD_queue_response(c, partial ? 206 : 200, r);
    MHD_destroy_response(r);
    return ret;
}

static char abs_dir[256];

static int group_setup(void **state)
{
    static const char *proxies[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                    "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
    for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
        unsetenv(proxies[i]);
    snprintf(abs_dir, sizeof abs_dir, "%s/asw_pf_abs_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(abs_dir))
        return -1;
    snprintf(S.abs_target, sizeof S.abs_target, "%s/abs_escape.txt", abs_dir);
    make_blobs();
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    S.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
                               MHD_USE_THREAD_PER_CONNECTION,
                           0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
                           (struct sockaddr *)&sa, MHD_OPTION_END);
    if (!S.d)
        return -1;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(S.d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(S.base, sizeof S.base, "http://127.0.0.1:%u",
             (unsigned)info->port);
    return asw_dl_global_init(NULL);
}

static int group_teardown(void **state)
{
    S.released = 1;
    MHD_stop_daemon(S.d);
    for (int i = 0; i < S.n_blobs; i++)
        free(S.blobs[i].p);
    rmdir(abs_dir);
    asw_dl_global_cleanup();
    return 0;
}

/* Slot hook that records its calls. */
static struct {
    int acquired, released, held, max_held;
    int last_rc;
    int64_t last_bytes; /* size announced for the last file */
    int refuse;         /* acquire fails with ASW_EINTR */
} SL;

/* ---- fixtures ------------------------------------------------------ */

struct fx {
    char root[256];
    char scratch[300];
    char unit_dir[400];
    struct asw_config cfg;
    struct asw_unit u;
    struct asw_result res;
};

static void load_cfg(struct fx *f, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "[archive]\nmirrors = %s\n[scratch]\ndir = %s\nreserve = 0\n"
             "[download]\nretries = 1\nsegments = 2\nmin_segment = 256k\n%s",
             S.base, f->scratch, extra ? extra : "");
    asw_config_free(&f->cfg);
    struct asw_err err = {0};
    if (asw_config_parse(text, "test.ini", &f->cfg, &err))
        fail_msg("config: %s", err.msg);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (asw_testdir_make(f->root, sizeof f->root, "asw_pf"))
        return -1;
    snprintf(f->scratch, sizeof f->scratch, "%s/scratch", f->root);
    snprintf(f->unit_dir, sizeof f->unit_dir,
             "%s/almasweep/uid___A001_X1284_X265e", f->scratch);
    load_cfg(f, NULL);
    snprintf(f->u.id, sizeof f->u.id, "uid___A001_X1284_X265e");
    f->u.kind = ASW_UNIT_MOUS_PRODUCTS;
    S.requests = 0;
    S.auth_refused = 0;
    S.active = S.max_active = 0;
    S.released = 0;
    memset(&SL, 0, sizeof SL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    S.released = 1;
    asw_testdir_remove(f->root);
    asw_config_free(&f->cfg);
    asw_unit_clear(&f->u);
    asw_result_clear(&f->res);
    free(f);
    return 0;
}

static void add_file(struct fx *f, const char *name, int64_t size)
{
    char url[160];
    snprintf(url, sizeof url, "%s/%s", S.base, name);
    assert_int_equal(asw_unit_add_file(&f->u, name, url, size, "#this"), 0);
    f->u.bytes_total += size > 0 ? size : 0;
    f->u.scratch_need = 3 * f->u.bytes_total;
}

/* A file of the unit fetched from path (under the server) as name. */
static void add_file_at(struct fx *f, const char *name, const char *path,
                        int64_t size)
{
    char url[200];
    snprintf(url, sizeof url, "%s/%s", S.base, path);
    assert_int_equal(asw_unit_add_file(&f->u, name, url, size, "#this"), 0);
    f->u.bytes_total += size > 0 ? size : 0;
    f->u.scratch_need = 3 * f->u.bytes_total;
}

static int64_t blob_len(const char *name)
{
    return (int64_t)blob(name)->len;
}

static int exists(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0;
}

/* R holds only scratch/, and scratch only almasweep/ (plus unit dirs
 * when they are kept); nothing landed next to them or at abs_target. */
static void assert_nothing_outside(struct fx *f)
{
    DIR *d = opendir(f->root);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            strcmp(de->d_name, "scratch"))
            fail_msg("unexpected %s/%s", f->root, de->d_name);
    closedir(d);
    char p[600];
    snprintf(p, sizeof p, "%s/escape.txt", f->scratch);
    assert_false(exists(p));
    snprintf(p, sizeof p, "%s/almasweep/escape.txt", f->scratch);
    assert_false(exists(p));
    assert_false(exists(S.abs_target));
}

static void assert_error_has(const struct fx *f, const char *s)
{
    if (!strstr(f->res.error, s))
        fail_msg("error \"%s\" lacks \"%s\"", f->res.error, s);
}

/* ---- the test backend ---------------------------------------------- */

static struct {
    int calls;
    int saw_fits;
    int saw_flux;
    int saw_tar; /* the tar should be gone once extracted */
} B;

static int be_process(const struct asw_job *job, struct asw_result *res,
                      struct asw_err *err)
{
    (void)res;
    (void)err;
    char p[1024];
    B.calls++;
    snprintf(p, sizeof p, "%s/%s", job->unit_dir, FITS);
    struct stat sb;
    B.saw_fits = stat(p, &sb) == 0 && sb.st_size == 200000;
    snprintf(p, sizeof p, "%s/%s/calibration/flux.csv", job->unit_dir, MOUS);
    B.saw_flux = exists(p);
    snprintf(p, sizeof p, "%s/good.tar", job->unit_dir);
    B.saw_tar = exists(p);
    return 0;
}

static const struct asw_backend test_backend = {
    .name = "test",
    .want_entry = NULL,
    .process = be_process,
};

static int slot_acquire(void *user, const char *unit, const char *file,
                        int64_t bytes, struct asw_err *err)
{
    assert_string_equal(unit, "uid___A001_X1284_X265e");
    assert_non_null(file);
    if (SL.refuse)
        return asw_err_set(err, ASW_EINTR, "slots", "job is stopping");
    SL.acquired++;
    if (++SL.held > SL.max_held)
        SL.max_held = SL.held;
    SL.last_bytes = bytes;
    return 0;
}

static void slot_release(void *user, const char *unit, const char *file,
                         int64_t bytes, int rc)
{
    SL.released++;
    SL.held--;
    SL.last_rc = rc;
}

static const struct asw_dl_slots test_slots = {slot_acquire, slot_release,
                                               NULL};

static void run_unit(struct fx *f)
{
    struct asw_pipeline_hooks h = {&test_slots, &test_backend, NULL, NULL};
    memset(&B, 0, sizeof B);
    asw_result_clear(&f->res);
    asw_pipeline_run_ex(&f->cfg, &f->u, 3, &h, &f->res);
}

/* ---- tests --------------------------------------------------------- */

static void good_unit(void **state, const char *extract)
{
    struct fx *f = *state;
    char extra[64];
    snprintf(extra, sizeof extra, "extract = %s\n", extract);
    load_cfg(f, extra);
    memset(&SL, 0, sizeof SL);
    add_file(f, "good.tar", blob_len("good.tar"));
    add_file(f, "big.bin", blob_len("big.bin"));
    run_unit(f);
    assert_int_equal(f->res.status, ASW_ST_DONE);
    assert_string_equal(f->res.error, "");
    assert_int_equal(B.calls, 1);
    assert_true(B.saw_fits);
    assert_true(B.saw_flux);
    assert_false(B.saw_tar);
    assert_int_equal(f->res.bytes_fetched,
                     blob_len("good.tar") + blob_len("big.bin"));
    assert_int_equal(f->res.rank, 3);
    /* one slot per file, never two at once, all given back */
    assert_int_equal(SL.acquired, 2);
    assert_int_equal(SL.released, 2);
    assert_int_equal(SL.max_held, 1);
    assert_int_equal(SL.last_rc, 0);
    assert_int_equal(SL.last_bytes, blob_len("big.bin"));
    assert_false(exists(f->unit_dir)); /* done: cleaned */
    assert_nothing_outside(f);
}

static void test_good_after(void **state)
{
    good_unit(state, "after");
}

static void test_good_during(void **state)
{
    good_unit(state, "during");
}

static void hostile(void **state, const char *tar, const char *extract,
                    const char *entry)
{
    struct fx *f = *state;
    char extra[64];
    snprintf(extra, sizeof extra, "extract = %s\n", extract);
    load_cfg(f, extra);
    add_file(f, tar, blob_len(tar));
    run_unit(f);
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "untar:EARCHIVE:");
    assert_error_has(f, entry);
    assert_int_equal(B.calls, 0);
    /* A hostile tar is not worth resuming: the unit directory goes. */
    assert_false(exists(f->unit_dir));
    assert_nothing_outside(f);
}

static void test_hostile_after(void **state)
{
    hostile(state, "dotdot.tar", "after", "../escape.txt");
    asw_unit_clear(&((struct fx *)*state)->u);
    snprintf(((struct fx *)*state)->u.id, ASW_UID_MAX,
             "uid___A001_X1284_X265e");
    hostile(state, "abs.tar", "after", "absolute path");
    asw_unit_clear(&((struct fx *)*state)->u);
    snprintf(((struct fx *)*state)->u.id, ASW_UID_MAX,
             "uid___A001_X1284_X265e");
    hostile(state, "symlink.tar", "after", "outside the destination");
}

static void test_hostile_during(void **state)
{
    hostile(state, "dotdot.tar", "during", "../escape.txt");
    asw_unit_clear(&((struct fx *)*state)->u);
    snprintf(((struct fx *)*state)->u.id, ASW_UID_MAX,
             "uid___A001_X1284_X265e");
    hostile(state, "abs.tar", "during", "absolute path");
    asw_unit_clear(&((struct fx *)*state)->u);
    snprintf(((struct fx *)*state)->u.id, ASW_UID_MAX,
             "uid___A001_X1284_X265e");
    hostile(state, "symlink.tar", "during", "outside the destination");
}

/* DataLink says one size, the server another: failed with both. */
static void test_size_lie(void **state)
{
    struct fx *f = *state;
    add_file(f, "big.bin", blob_len("big.bin") + 100);
    run_unit(f);
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "download:EPROTO:");
    assert_error_has(f, "size mismatch");
    char n[32];
    snprintf(n, sizeof n, "%lld", (long long)blob_len("big.bin") + 100);
    assert_error_has(f, n);
    assert_false(exists(f->unit_dir));
}

/* A body that always stops short of its Content-Length: the transfer is
 * retried ([download] retries = 1), then the unit fails with the reason;
 * what arrived stays for the unit's next attempt to resume. One stream
 * and segments. */
static void short_body_unit(void **state, int segments)
{
    struct fx *f = *state;
    load_cfg(f, segments > 1 ? "" : "segments = 1\n");
    add_file(f, "short.bin", blob_len("short.bin"));
    run_unit(f);
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "download:ENET:");
    assert_error_has(f, "/short.bin");
    assert_error_has(f, "(curl 18)"); /* CURLE_PARTIAL_FILE */
    if (segments == 1)
        assert_error_has(f, "gave up after 2 attempts");
    assert_int_equal(B.calls, 0);
    assert_int_equal(SL.released, SL.acquired);
    assert_int_equal(SL.last_rc, ASW_ENET);
    char part[600];
    snprintf(part, sizeof part, "%s/short.bin.part", f->unit_dir);
    struct stat sb;
    assert_int_equal(stat(part, &sb), 0);
    assert_true(f->res.bytes_fetched > 0);
    assert_true(f->res.bytes_fetched < blob_len("short.bin"));
}

static void test_short_body_single(void **state)
{
    short_body_unit(state, 1);
}

static void test_short_body_segmented(void **state)
{
    short_body_unit(state, 2);
}

/* [archive] credentials = env: the unit's downloads send the user and
 * password from the variables user_env and password_env name; without
 * them (another credentials setting) the same file is refused. */
static void test_credentials_env(void **state)
{
    struct fx *f = *state;
    const char *env_cfg = "[archive]\ncredentials = env\n"
                          "user_env = ASW_T_PF_USER\n"
                          "password_env = ASW_T_PF_PASS\n";
    setenv("ASW_T_PF_USER", "u", 1);
    setenv("ASW_T_PF_PASS", "p", 1);

    /* right credentials: done, nothing refused (one stream and
     * segments: the segmented HEAD needs them too) */
    for (int seg = 1; seg <= 2; seg++) {
        char extra[256];
        snprintf(extra, sizeof extra, "segments = %d\n%s", seg, env_cfg);
        load_cfg(f, extra);
        asw_unit_clear(&f->u);
        snprintf(f->u.id, sizeof f->u.id, "uid___A001_X1284_X265e");
        add_file_at(f, "good.tar", "auth/good.tar", blob_len("good.tar"));
        add_file_at(f, "big.bin", "auth/big.bin", blob_len("big.bin"));
        S.auth_refused = 0;
        run_unit(f);
        if (f->res.status != ASW_ST_DONE)
            fail_msg("segments %d: %s", seg, f->res.error);
        assert_int_equal(S.auth_refused, 0);
        assert_true(B.saw_fits);
        assert_int_equal(f->res.bytes_fetched,
                         blob_len("good.tar") + blob_len("big.bin"));
    }

    /* a wrong password: failed at once (401 is not retried), and the
     * password is not in the message */
    setenv("ASW_T_PF_PASS", "wrong-pw", 1);
    load_cfg(f, "segments = 1\n[archive]\ncredentials = env\n"
                "user_env = ASW_T_PF_USER\npassword_env = ASW_T_PF_PASS\n");
    asw_unit_clear(&f->u);
    snprintf(f->u.id, sizeof f->u.id, "uid___A001_X1284_X265e");
    add_file_at(f, "big.bin", "auth/big.bin", blob_len("big.bin"));
    S.requests = S.auth_refused = 0;
    run_unit(f);
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "download:EAUTH:");
    assert_error_has(f, "HTTP 401");
    assert_null(strstr(f->res.error, "wrong-pw"));
    assert_int_equal(S.requests, 1);
    assert_int_equal(S.auth_refused, 1);

    /* a variable not set: failed before any request, naming it */
    unsetenv("ASW_T_PF_PASS");
    S.requests = 0;
    run_unit(f);
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "download:ECONFIG:");
    assert_error_has(f, "ASW_T_PF_PASS");
    assert_int_equal(S.requests, 0);

    /* credentials = netrc (here: an empty netrc) ignores the variables */
    setenv("ASW_T_PF_PASS", "p", 1);
    char home[400], netrc[420];
    snprintf(home, sizeof home, "%s/home", f->root);
    assert_int_equal(mkdir(home, 0700), 0);
    snprintf(netrc, sizeof netrc, "%s/.netrc", home);
    FILE *fp = fopen(netrc, "w");
    assert_non_null(fp);
    fclose(fp);
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", home, 1);
    load_cfg(f, "segments = 1\n[archive]\ncredentials = netrc\n");
    S.auth_refused = 0;
    run_unit(f);
    if (old_home)
        setenv("HOME", old_home, 1);
    else
        unsetenv("HOME");
    free(old_home);
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "download:EAUTH:");
    assert_int_equal(S.auth_refused, 1);
    unsetenv("ASW_T_PF_USER");
    unsetenv("ASW_T_PF_PASS");
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The request every sweep download is made with carries the [download]
 * and [archive] keys; without them, the defaults of docs/config.md (not
 * asw_dl_request_init's 3 retries and 60 s). */
static void test_dl_request_from_config(void **state)
{
    struct fx *f = *state;
    struct asw_dl_request req;
    load_cfg(f, NULL);
    asw_pipeline_dl_request(&f->cfg, "http://x/a.tar", "/d/a.tar", 77, &req);
    assert_string_equal(req.url, "http://x/a.tar");
    assert_string_equal(req.dest_path, "/d/a.tar");
    assert_int_equal(req.expected_bytes, 77);
    assert_int_equal(req.max_retries, 1);
    assert_true(req.backoff_initial_s == 1.0);
    assert_true(req.backoff_max_s == 60.0);
    assert_int_equal(req.connect_timeout_s, 30);
    assert_int_equal(req.low_speed_limit_bps, 1);
    assert_int_equal(req.low_speed_time_s, 120);
    assert_null(req.ca_file);
    assert_null(req.user_env);

    /* ca_file: ${VAR} expanded, a relative path made absolute (libcurl
     * may open it after an extraction changed the working directory) */
    char ca[400], cwd[4096], abs_root[4096];
    snprintf(ca, sizeof ca, "%s/ca.pem", f->root);
    FILE *fp = fopen(ca, "w");
    assert_non_null(fp);
    fputs("not checked here\n", fp);
    fclose(fp);
    assert_non_null(realpath(f->root, abs_root));
    setenv("ASW_T_PF_CADIR", f->root, 1);
    load_cfg(f, "retries = 7\nbackoff = 0.25\nbackoff_max = 3\n"
                "connect_timeout = 11\nlow_speed_limit = 2M\n"
                "low_speed_time = 13\nsegments = 6\nmax_transfers = 5\n"
                "min_segment = 1M\nca_file = ${ASW_T_PF_CADIR}/ca.pem\n"
                "[archive]\nmirrors = http://m2\ncredentials = env\n"
                "user_env = ASW_T_U\npassword_env = ASW_T_P\n");
    unsetenv("ASW_T_PF_CADIR");
    asw_pipeline_dl_request(&f->cfg, "http://x/a.tar", "/d/a.tar", -1, &req);
    assert_int_equal(req.max_retries, 7);
    assert_true(req.backoff_initial_s == 0.25);
    assert_true(req.backoff_max_s == 3.0);
    assert_int_equal(req.connect_timeout_s, 11);
    assert_int_equal(req.low_speed_limit_bps, 2L << 20);
    assert_int_equal(req.low_speed_time_s, 13);
    assert_int_equal(req.segments, 5);
    assert_int_equal(req.min_segment_bytes, 1 << 20);
    assert_int_equal(req.n_mirrors, 2);
    assert_string_equal(req.mirrors[1], "http://m2");
    assert_string_equal(req.user_env, "ASW_T_U");
    assert_string_equal(req.password_env, "ASW_T_P");
    char want[4200];
    snprintf(want, sizeof want, "%s/ca.pem", abs_root);
    assert_string_equal(req.ca_file, want);

    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->root), 0);
    load_cfg(f, "ca_file = ca.pem\n");
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(f->cfg.ca_file, want);

    /* a file that cannot be read is refused when the file is read, with
     * the line, the key and the reason */
    struct asw_config c;
    struct asw_err err = {0};
    char text[1200];
    snprintf(text, sizeof text,
             "[archive]\nmirrors = http://x\n[download]\n"
             "ca_file = %s/missing.pem\n",
             f->root);
    assert_int_equal(asw_config_parse(text, "t.ini", &c, &err), ASW_ECONFIG);
    if (!strstr(err.msg, "t.ini:4: bad value for [download] ca_file: "
                         "cannot read '") ||
        !strstr(err.msg, "missing.pem': No such file or directory"))
        fail_msg("%s", err.msg);
    snprintf(text, sizeof text,
             "[archive]\nmirrors = http://x\n[download]\nca_file = %s\n",
             f->root);
    assert_int_equal(asw_config_parse(text, "t.ini", &c, &err), ASW_ECONFIG);
    if (!strstr(err.msg, "ca_file") || !strstr(err.msg, "not a regular file"))
        fail_msg("%s", err.msg);
    unlink(ca);
}

/* [download] low_speed_limit and low_speed_time reach the transfer: a
 * file that drips at about 100 bytes/s (3 s in all) is abandoned after
 * about a second when 1 kB/s is required, and retried ([download]
 * retries); the same file completes when 5 bytes/s suffice. With the
 * defaults (1 byte/s, 120 s) the first case would complete too. */
static void test_low_speed(void **state)
{
    struct fx *f = *state;
    load_cfg(f, "segments = 1\nbackoff = 0.01\nbackoff_max = 0.01\n"
                "low_speed_limit = 1k\nlow_speed_time = 1\n");
    add_file(f, "drip.bin", blob_len("drip.bin"));
    double t0 = mono_s();
    run_unit(f);
    double dt = mono_s() - t0;
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "download:ENET:");
    assert_error_has(f, "(curl 28)"); /* CURLE_OPERATION_TIMEDOUT */
    assert_error_has(f, "gave up after 2 attempts");
    if (S.requests != 2)
        fail_msg("%d requests: %s", S.requests, f->res.error);
    assert_true(f->res.bytes_fetched > 0);
    assert_true(f->res.bytes_fetched < blob_len("drip.bin"));
    /* two attempts of about a second; a slack for a loaded machine */
    if (dt > 4.5)
        fail_msg("took %.2f s: the low-speed abort did not cut it", dt);

    load_cfg(f, "segments = 1\nlow_speed_limit = 5\nlow_speed_time = 1\n");
    S.requests = 0;
    t0 = mono_s();
    run_unit(f);
    dt = mono_s() - t0;
    if (f->res.status != ASW_ST_DONE)
        fail_msg("%s", f->res.error);
    /* resumed from what the failed run kept */
    if (S.requests != 1)
        fail_msg("%d requests", S.requests);
    assert_true(dt > 0.5);
}

/* [download] backoff and backoff_max reach the retries: a file whose body
 * always stops short fails after retries + 1 attempts, and the time
 * between them follows the delays (equal jitter: d/2 .. d). */
static void test_backoff(void **state)
{
    struct fx *f = *state;
    /* 3 retries after 10 ms, 20 ms, 20 ms: well under a second; the
     * default (1 s doubling) would sleep at least 0.5 + 1 + 2 s. */
    load_cfg(f, "segments = 1\nretries = 3\nbackoff = 0.01\n"
                "backoff_max = 0.02\n");
    add_file(f, "short.bin", blob_len("short.bin"));
    double t0 = mono_s();
    run_unit(f);
    double dt = mono_s() - t0;
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "gave up after 4 attempts");
    if (dt > 1.0)
        fail_msg("3 retries took %.2f s", dt);

    /* 4 retries after 0.25 s each, capped: 0.5 .. 1 s of sleep; without
     * the cap 0.25, 0.5, 1, 2 s: at least 1.875 s. */
    char part[600];
    snprintf(part, sizeof part, "%s/short.bin.part", f->unit_dir);
    unlink(part);
    load_cfg(f, "segments = 1\nretries = 4\nbackoff = 0.25\n"
                "backoff_max = 0.25\n");
    t0 = mono_s();
    run_unit(f);
    dt = mono_s() - t0;
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "gave up after 5 attempts");
    if (dt < 0.5 || dt > 1.8)
        fail_msg("4 capped retries took %.2f s", dt);
}

/* [download] max_transfers caps the connections of one worker whatever
 * segments asks for; without the cap the same file runs more at once. */
static void test_max_transfers(void **state)
{
    struct fx *f = *state;
    load_cfg(f, "segments = 8\nmax_transfers = 2\nextract = after\n");
    add_file(f, "slow.tar", blob_len("slow.tar"));
    run_unit(f);
    if (f->res.status != ASW_ST_DONE)
        fail_msg("%s", f->res.error);
    assert_int_equal(S.max_active, 2);

    load_cfg(f, "segments = 8\nmax_transfers = 8\nextract = after\n");
    S.max_active = 0;
    run_unit(f);
    if (f->res.status != ASW_ST_DONE)
        fail_msg("%s", f->res.error);
    assert_in_range(S.max_active, 3, 8);
}

/* [scratch] dir defaults to $SLURM_TMPDIR, then $TMPDIR, then /tmp (an
 * empty variable counts as unset), and a configured dir is a template
 * with ${VAR} and ${VAR:-default}. */
static void test_scratch_default(void **state)
{
    (void)state;
    char *old_slurm =
        getenv("SLURM_TMPDIR") ? strdup(getenv("SLURM_TMPDIR")) : NULL;
    char *old_tmp = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    const char *base = "[archive]\nmirrors = http://x\n";
    struct asw_config cfg;
    struct asw_err err = {0};

    setenv("SLURM_TMPDIR", "/slurm/job7", 1);
    setenv("TMPDIR", "/tmpdir", 1);
    assert_int_equal(asw_config_parse(base, "t.ini", &cfg, &err), 0);
    assert_string_equal(cfg.scratch_dir, "/slurm/job7");
    asw_config_free(&cfg);

    setenv("SLURM_TMPDIR", "", 1);
    assert_int_equal(asw_config_parse(base, "t.ini", &cfg, &err), 0);
    assert_string_equal(cfg.scratch_dir, "/tmpdir");
    asw_config_free(&cfg);

    unsetenv("SLURM_TMPDIR");
    assert_int_equal(asw_config_parse(base, "t.ini", &cfg, &err), 0);
    assert_string_equal(cfg.scratch_dir, "/tmpdir");
    asw_config_free(&cfg);

    unsetenv("TMPDIR");
    assert_int_equal(asw_config_parse(base, "t.ini", &cfg, &err), 0);
    assert_string_equal(cfg.scratch_dir, "/tmp");
    asw_config_free(&cfg);

    setenv("SLURM_TMPDIR", "/slurm/job8", 1);
    assert_int_equal(
        asw_config_parse(
            "[archive]\nmirrors = http://x\n[scratch]\n"
            "dir = ${SLURM_TMPDIR:-/local}/asw-${ASW_T_NODE:-n0}\n",
            "t.ini", &cfg, &err),
        0);
    assert_string_equal(cfg.scratch_dir, "/slurm/job8/asw-n0");
    asw_config_free(&cfg);

    if (old_slurm)
        setenv("SLURM_TMPDIR", old_slurm, 1);
    else
        unsetenv("SLURM_TMPDIR");
    if (old_tmp)
        setenv("TMPDIR", old_tmp, 1);
    else
        unsetenv("TMPDIR");
    free(old_slurm);
    free(old_tmp);
}

/* A unit whose need exceeds the free space fails before any request. */
static void test_scratch_full_before(void **state)
{
    struct fx *f = *state;
    add_file(f, "big.bin", blob_len("big.bin"));
    f->u.scratch_need = (int64_t)1 << 60;
    run_unit(f);
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "pipeline:ENOSPC:scratch full:");
    /* the numbers, in bytes */
    assert_error_has(f, "(1152921504606846976 bytes of scratch_need "
                        "1152921504606846976, 0 there) more plus a reserve "
                        "of 0 B, only ");
    assert_error_has(f, "bytes) free in /");
    assert_int_equal(S.requests, 0);
    assert_int_equal(SL.acquired, 0);
    assert_false(exists(f->unit_dir));
}

/* The disk fills up during the download: "scratch full", nothing left. */
static void test_scratch_full_during(void **state, int segments)
{
    struct fx *f = *state;
    load_cfg(f, segments > 1 ? "" : "segments = 1\n");
    add_file(f, "big.bin", blob_len("big.bin"));
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 300000;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    run_unit(f);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(f->res.status, ASW_ST_FAILED);
    assert_error_has(f, "download:ENOSPC:scratch full:");
    assert_false(exists(f->unit_dir));
    assert_int_equal(SL.released, SL.acquired);
}

static void test_scratch_full_single(void **state)
{
    test_scratch_full_during(state, 1);
}

static void test_scratch_full_segmented(void **state)
{
    test_scratch_full_during(state, 2);
}

/* A refused slot: interrupted, nothing fetched. */
static void test_slot_refused(void **state)
{
    struct fx *f = *state;
    add_file(f, "big.bin", blob_len("big.bin"));
    memset(&SL, 0, sizeof SL);
    SL.refuse = 1;
    run_unit(f);
    SL.refuse = 0;
    assert_int_equal(f->res.status, ASW_ST_INTERRUPTED);
    assert_error_has(f, "slots:EINTR:job is stopping");
    assert_int_equal(S.requests, 0);
}

static int stop_soon(void *user)
{
    int *calls = user;
    return ++*calls >= 2;
}

/* The stop hook interrupts a download; the partial file stays. */
static void test_stop_hook(void **state)
{
    struct fx *f = *state;
    load_cfg(f, "segments = 1\n");
    add_file(f, "slow.tar", blob_len("slow.tar"));
    int calls = 0;
    struct asw_pipeline_hooks h = {NULL, &test_backend, stop_soon, &calls};
    asw_pipeline_run_ex(&f->cfg, &f->u, 0, &h, &f->res);
    assert_int_equal(f->res.status, ASW_ST_INTERRUPTED);
    assert_error_has(f, "EINTR");
    char part[600];
    snprintf(part, sizeof part, "%s/slow.tar.part", f->unit_dir);
    struct stat sb;
    assert_int_equal(stat(part, &sb), 0);
    assert_true(sb.st_size > 0 && (size_t)sb.st_size < blob("slow.tar")->len);
}

/* Extraction during the download really overlaps: the first member is
 * on disk while most of the tar is still on the wire. */
struct overlap {
    char first[700];
    int seen_early;
    char cwd[4096]; /* this thread's working directory before */
    int cwd_moved;  /* it changed while the extraction ran */
};

static int watch_first(void *user, int64_t now, int64_t total, double bps)
{
    struct overlap *o = user;
    char here[4096];
    if (total > 0 && now < total / 2 && exists(o->first)) {
        o->seen_early = 1;
        /* The extraction thread has entered its directory by now; this
         * (the downloading) thread must not have moved with it. */
        if (!getcwd(here, sizeof here) || strcmp(here, o->cwd) != 0)
            o->cwd_moved = 1;
    }
    return 0;
}

static void test_during_overlaps(void **state)
{
    struct fx *f = *state;
    char dir[400], dest[500], url[160];
    snprintf(dir, sizeof dir, "%s/x", f->root);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(dest, sizeof dest, "%s/slow.tar", dir);
    snprintf(url, sizeof url, "%s/slow.tar", S.base);
    struct overlap o = {{0}, 0, {0}, 0};
    snprintf(o.first, sizeof o.first, "%s/%s/raw/chunk00.bin", dir, MOUS);
    assert_non_null(getcwd(o.cwd, sizeof o.cwd));
    struct asw_dl_ctx *ctx = asw_dl_ctx_new();
    struct asw_dl_request req;
    asw_dl_request_init(&req, url, dest);
    req.expected_bytes = blob_len("slow.tar");
    req.progress = watch_first;
    req.progress_user = &o;
    req.progress_interval_s = 0.05;
    struct asw_dl_stats st;
    struct asw_untar_stats ust;
    struct asw_err err = {0};
    assert_int_equal(asw_pipeline_fetch_file(ctx, &req, ASW_EXTRACT_DURING, dir,
                                             NULL, 0, &st, &ust, &err),
                     0);
    asw_dl_ctx_free(ctx);
    assert_true(o.seen_early);
    assert_false(o.cwd_moved);
    assert_int_equal(ust.files_by_area[ASW_ALMA_RAW], 16);
    assert_int_equal(ust.bytes, 16 * 256 * 1024);
    assert_true(exists(dest)); /* remove_tar 0 keeps it */
    char last[700];
    snprintf(last, sizeof last, "%s/%s/raw/chunk15.bin", dir, MOUS);
    struct stat sb;
    assert_int_equal(stat(last, &sb), 0);
    assert_int_equal(sb.st_size, 256 * 1024);
}

/* A hostile tar found while it downloads stops the download at once;
 * the error is the archive's. */
static void test_during_stops_download(void **state)
{
    struct fx *f = *state;
    char dir[400], dest[500], url[160];
    snprintf(dir, sizeof dir, "%s/x", f->root);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(dest, sizeof dest, "%s/slowbad.tar", dir);
    snprintf(url, sizeof url, "%s/slowbad.tar", S.base);
    struct asw_dl_ctx *ctx = asw_dl_ctx_new();
    struct asw_dl_request req;
    asw_dl_request_init(&req, url, dest);
    req.expected_bytes = blob_len("slowbad.tar");
    struct asw_dl_stats st;
    struct asw_err err = {0};
    assert_int_equal(asw_pipeline_fetch_file(ctx, &req, ASW_EXTRACT_DURING, dir,
                                             NULL, 1, &st, NULL, &err),
                     ASW_EARCHIVE);
    asw_dl_ctx_free(ctx);
    assert_string_equal(err.module, "untar");
    assert_non_null(strstr(err.msg, "../escape.txt"));
    /* The whole tar takes ~1.3 s at the trickle rate. */
    assert_true(st.bytes_transferred < blob_len("slowbad.tar") / 2);
    assert_true(st.seconds < 0.9);
    char p[600];
    snprintf(p, sizeof p, "%s/escape.txt", f->root);
    assert_false(exists(p));
}

/* A relative destination with extraction during the download is refused
 * (the extraction changes the working directory). */
static void test_during_needs_absolute(void **state)
{
    char url[160];
    snprintf(url, sizeof url, "%s/good.tar", S.base);
    struct asw_dl_ctx *ctx = asw_dl_ctx_new();
    struct asw_dl_request req;
    asw_dl_request_init(&req, url, "rel/good.tar");
    struct asw_err err = {0};
    assert_int_equal(asw_pipeline_fetch_file(ctx, &req, ASW_EXTRACT_DURING,
                                             "rel", NULL, 0, NULL, NULL, &err),
                     ASW_EINVAL);
    asw_dl_ctx_free(ctx);
}

static void test_scratch_check(void **state)
{
    struct fx *f = *state;
    struct asw_err err = {0};
    assert_int_equal(asw_pipeline_scratch_check(f->root, 1, 0, &err), 0);
    assert_int_equal(
        asw_pipeline_scratch_check(f->root, 1, (int64_t)1 << 60, &err),
        ASW_ENOSPC);
    assert_non_null(strstr(err.msg, "scratch full"));
    assert_non_null(strstr(err.msg, f->root));
    assert_int_equal(asw_pipeline_scratch_check("/nonexistent/x", 1, 0, &err),
                     ASW_EIO);
}

/* The [download] and [scratch] keys of this issue: defaults, sizes with
 * suffixes, and values refused with the key named. */
static void test_config_keys(void **state)
{
    (void)state;
    struct asw_config cfg;
    struct asw_err err = {0};
    const char *base = "[archive]\nmirrors = http://x\n";
    assert_int_equal(asw_config_parse(base, "t.ini", &cfg, &err), 0);
    assert_int_equal(cfg.segments, 4);
    assert_int_equal(cfg.min_segment_bytes, 64LL << 20);
    assert_int_equal(cfg.max_transfers, 4);
    assert_int_equal(cfg.extract_during, 1);
    assert_int_equal(cfg.scratch_reserve_bytes, 1LL << 30);
    assert_true(cfg.backoff_s == 1.0);
    assert_true(cfg.backoff_max_s == 60.0);
    assert_int_equal(cfg.connect_timeout_s, 30);
    assert_int_equal(cfg.low_speed_limit_bps, 1);
    assert_int_equal(cfg.low_speed_time_s, 120);
    assert_null(cfg.ca_file);
    asw_config_free(&cfg);

    char text[512];
    snprintf(text, sizeof text,
             "%s[download]\nsegments = 16\nmin_segment = 3M\n"
             "max_transfers = 2\nextract = after\n[scratch]\n"
             "reserve = 2G\n",
             base);
    assert_int_equal(asw_config_parse(text, "t.ini", &cfg, &err), 0);
    assert_int_equal(cfg.segments, 16);
    assert_int_equal(cfg.min_segment_bytes, 3LL << 20);
    assert_int_equal(cfg.max_transfers, 2);
    assert_int_equal(cfg.extract_during, 0);
    assert_int_equal(cfg.scratch_reserve_bytes, 2LL << 30);
    asw_config_free(&cfg);

    setenv("ASW_T_PF_BACKOFF", "0.5", 1);
    snprintf(text, sizeof text,
             "%s[download]\nbackoff = ${ASW_T_PF_BACKOFF}\n"
             "backoff_max = 7.5\nconnect_timeout = 12\n"
             "low_speed_limit = 4k\nlow_speed_time = 9\nca_file =\n",
             base);
    assert_int_equal(asw_config_parse(text, "t.ini", &cfg, &err), 0);
    unsetenv("ASW_T_PF_BACKOFF");
    assert_true(cfg.backoff_s == 0.5);
    assert_true(cfg.backoff_max_s == 7.5);
    assert_int_equal(cfg.connect_timeout_s, 12);
    assert_int_equal(cfg.low_speed_limit_bps, 4096);
    assert_int_equal(cfg.low_speed_time_s, 9);
    assert_null(cfg.ca_file); /* empty: the system's CAs */
    asw_config_free(&cfg);
    snprintf(text, sizeof text, "%s[download]\nlow_speed_limit = 250\n", base);
    assert_int_equal(asw_config_parse(text, "t.ini", &cfg, &err), 0);
    assert_int_equal(cfg.low_speed_limit_bps, 250);
    asw_config_free(&cfg);

    /* The new keys: refused with the line, the key and what is allowed. */
    static const struct {
        const char *text, *key, *says;
    } bad_dl[] = {
        {"backoff = 0\n", "backoff: '0'", "more than 0"},
        {"backoff = -1\n", "backoff: '-1'", "more than 0"},
        {"backoff = 1s\n", "backoff: '1s'", "seconds"},
        {"backoff = 3601\n", "backoff: '3601'", "at most 3600"},
        {"backoff_max = 0\n", "backoff_max: '0'", "more than 0"},
        {"backoff_max = -5\n", "backoff_max: '-5'", "more than 0"},
        {"connect_timeout = 0\n", "connect_timeout: '0'", "1 to 3600"},
        {"connect_timeout = -3\n", "connect_timeout: '-3'", "1 to 3600"},
        {"low_speed_limit = 0\n", "low_speed_limit: '0'", "at least 1"},
        {"low_speed_limit = -1k\n", "low_speed_limit: '-1k'", "at least 1"},
        {"low_speed_limit = 1.5k\n", "low_speed_limit: '1.5k'", "suffixes"},
        {"low_speed_time = 0\n", "low_speed_time: '0'", "1 to 86400"},
        {"low_speed_time = 2.5\n", "low_speed_time: '2.5'", "1 to 86400"},
    };
    for (size_t i = 0; i < sizeof bad_dl / sizeof bad_dl[0]; i++) {
        snprintf(text, sizeof text, "%s[download]\n%s", base, bad_dl[i].text);
        assert_int_equal(asw_config_parse(text, "t.ini", &cfg, &err),
                         ASW_ECONFIG);
        if (!strstr(err.msg, "t.ini:4: bad value for [download] ") ||
            !strstr(err.msg, bad_dl[i].key) || !strstr(err.msg, bad_dl[i].says))
            fail_msg("'%s': %s", bad_dl[i].text, err.msg);
    }
    /* The cap below the first delay makes no sense: refused, naming both. */
    snprintf(text, sizeof text, "%s[download]\nbackoff = 10\nbackoff_max = 5\n",
             base);
    assert_int_equal(asw_config_parse(text, "t.ini", &cfg, &err), ASW_ECONFIG);
    if (!strstr(err.msg, "[download] backoff_max (5 s) is below backoff "
                         "(10 s)"))
        fail_msg("%s", err.msg);

    const char *bad[] = {
        "[download]\nsegments = 0\n",      "[download]\nsegments = 33\n",
        "[download]\nmin_segment = 0\n",   "[download]\nmin_segment = 1.5M\n",
        "[download]\nmin_segment = 4X\n",  "[download]\nmax_transfers = 0\n",
        "[download]\nextract = maybe\n",   "[scratch]\nreserve = -1\n",
        "[scratch]\nreserve = 9999999T\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s%s", base, bad[i]);
        assert_int_equal(asw_config_parse(text, "t.ini", &cfg, &err),
                         ASW_ECONFIG);
        if (!strstr(err.msg, "bad value"))
            fail_msg("'%s': %s", bad[i], err.msg);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_good_after),
        T(test_good_during),
        T(test_hostile_after),
        T(test_hostile_during),
        T(test_size_lie),
        T(test_short_body_single),
        T(test_short_body_segmented),
        T(test_credentials_env),
        T(test_max_transfers),
        T(test_dl_request_from_config),
        T(test_low_speed),
        T(test_backoff),
        T(test_scratch_full_before),
        T(test_scratch_full_single),
        T(test_scratch_full_segmented),
        T(test_slot_refused),
        T(test_stop_hook),
        T(test_during_overlaps),
        T(test_during_stops_download),
        T(test_during_needs_absolute),
        T(test_scratch_check),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_scratch_default),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
