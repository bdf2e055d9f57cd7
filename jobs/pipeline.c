/*
 * pipeline.c - one unit on one worker: scratch check, downloads (behind
 * the job-wide slot hook), extraction during or after each download, the
 * backend, clean-up.
 */
#include "pipeline.h"

#include "casa.h"
#include "io/download.h"
#include "io/untar.h"
#include "src/log.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define MOD "pipeline"

const struct asw_backend *asw_backend_find(const char *mode)
{
    if (mode && strcmp(mode, "products") == 0)
        return &asw_backend_products;
    if (mode && strcmp(mode, "casa") == 0)
        return &asw_backend_casa; /* jobs/casa.c */
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return (mkdir(tmp, 0755) && errno != EEXIST) ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *sb, int type,
                    struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* nftw has no user pointer; the pipeline runs on one thread per process
 * (pipeline.h), like the products backend's walk. */
static int64_t walked_bytes;

static int add_usage(const char *path, const struct stat *sb, int type,
                     struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F)
        walked_bytes += (int64_t)sb->st_blocks * 512;
    return 0;
}

/* Bytes the files under dir occupy on disk (preallocated .parts count
 * whole). */
static int64_t disk_usage(const char *dir)
{
    walked_bytes = 0;
    nftw(dir, add_usage, 16, FTW_PHYS);
    return walked_bytes;
}

static int is_tar(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && strcmp(name + n - 4, ".tar") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".tgz") == 0) ||
           (n > 7 && strcmp(name + n - 7, ".tar.gz") == 0);
}

static void human(double b, char *out, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (b >= 1024 && i < 5) {
        b /= 1024;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

/* statvfs: bytes available to unprivileged users in dir's file system. */
static int free_bytes(const char *dir, int64_t *avail, struct asw_err *err)
{
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        return asw_err_set(err, ASW_EIO, MOD, "statvfs %s: %s", dir,
                           strerror(errno));
    *avail = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    return 0;
}

/* The "scratch full" message: numbers first, as a result's error text is
 * short (ASW_ERRTEXT_MAX) and the path may be long. */
static int full(struct asw_err *err, const char *dir, int64_t need,
                int64_t reserve, int64_t avail, const char *detail)
{
    char n[32], r[32], a[32];
    human((double)need, n, sizeof n);
    human((double)reserve, r, sizeof r);
    human((double)avail, a, sizeof a);
    return asw_err_set(err, ASW_ENOSPC, MOD,
                       "scratch full: need %s (%lld bytes%s) more plus a "
                       "reserve of %s, only %s (%lld bytes) free in %s",
                       n, (long long)need, detail, r, a, (long long)avail, dir);
}

int asw_pipeline_scratch_check(const char *dir, int64_t need_bytes,
                               int64_t reserve_bytes, struct asw_err *err)
{
    int64_t avail = 0;
    int rc = free_bytes(dir, &avail, err);
    if (rc)
        return rc;
    if (need_bytes < 0)
        need_bytes = 0;
    if (reserve_bytes < 0)
        reserve_bytes = 0;
    if (need_bytes + reserve_bytes <= avail)
        return 0;
    return full(err, dir, need_bytes, reserve_bytes, avail, "");
}

/* ---- one file, extracted during or after its download ------------- */

/* The extraction thread of ASW_EXTRACT_DURING. */
struct during {
    struct asw_dl_tail *tail;
    int64_t off;
    int source_failed; /* the tail, not the archive, ended the read */
    const char *name;
    const char *dir;
    const struct asw_untar_limits *lim;
    struct asw_untar_stats st;
    struct asw_err err;
    int rc;
    /* the caller's progress callback, wrapped */
    asw_dl_progress_fn progress;
    void *progress_user;
};

static long tail_source(void *user, void *buf, size_t n, struct asw_err *err)
{
    struct during *d = user;
    long r = asw_dl_tail_read(d->tail, buf, n, d->off, err);
    if (r > 0)
        d->off += r;
    else if (r < 0)
        d->source_failed = 1;
    return r;
}

static void *during_main(void *arg)
{
    struct during *d = arg;
    d->rc = asw_untar_stream(tail_source, d, d->name, d->dir, d->lim, &d->st,
                             &d->err);
    /* An archive that cannot be extracted need not be downloaded further;
     * the download's progress callback sees this. */
    if (d->rc && !d->source_failed)
        asw_dl_tail_cancel(d->tail);
    return NULL;
}

static int during_progress(void *user, int64_t now, int64_t total, double bps)
{
    struct during *d = user;
    if (asw_dl_tail_cancelled(d->tail))
        return 1;
    return d->progress ? d->progress(d->progress_user, now, total, bps) : 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int asw_pipeline_fetch_file(struct asw_dl_ctx *ctx,
                            const struct asw_dl_request *req_in,
                            enum asw_extract_mode mode, const char *extract_dir,
                            const struct asw_untar_limits *lim, int remove_tar,
                            struct asw_dl_stats *dst,
                            struct asw_untar_stats *ust, struct asw_err *err)
{
    struct asw_untar_stats ulocal;
    if (!ust)
        ust = &ulocal;
    memset(ust, 0, sizeof *ust);
    if (mode != ASW_EXTRACT_NONE && !extract_dir)
        return asw_err_set(err, ASW_EINVAL, MOD, "no extraction directory");
    if (mode != ASW_EXTRACT_DURING) {
        int rc = asw_dl_ctx_fetch(ctx, req_in, dst, err);
        if (rc || mode == ASW_EXTRACT_NONE)
            return rc;
        rc = asw_untar(req_in->dest_path, extract_dir, lim, ust, err);
        if (rc == 0 && remove_tar)
            unlink(req_in->dest_path);
        return rc;
    }

    struct during d;
    memset(&d, 0, sizeof d);
    d.tail = asw_dl_tail_new();
    if (!d.tail)
        return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
    d.name = base_name(req_in->dest_path);
    d.dir = extract_dir;
    d.lim = lim;
    d.progress = req_in->progress;
    d.progress_user = req_in->progress_user;
    struct asw_dl_request req = *req_in;
    req.tail = d.tail;
    req.progress = during_progress;
    req.progress_user = &d;
    if (req.progress_interval_s <= 0 || req.progress_interval_s > 0.25)
        req.progress_interval_s = 0.25; /* notice a failed extraction soon */

    pthread_t th;
    if (pthread_create(&th, NULL, during_main, &d) != 0) {
        asw_dl_tail_free(d.tail);
        return asw_err_set(err, ASW_ENOMEM, MOD,
                           "cannot start the extraction thread");
    }
    struct asw_err derr = {0};
    int rc = asw_dl_ctx_fetch(ctx, &req, dst, &derr);
    /* The download has finished the tail, so the reader ends too. */
    pthread_join(th, NULL);
    asw_dl_tail_free(d.tail);

    if (d.rc && !d.source_failed) {
        /* The archive itself failed (and stopped the download). */
        if (err)
            *err = d.err;
        *ust = d.st;
        return d.rc;
    }
    if (rc) {
        if (err)
            *err = derr;
        return rc;
    }
    if (d.rc) {
        /* The download rewrote bytes the extraction had used: extract
         * again from the verified file. */
        asw_info("%s: extracting again after the download restarted (%s)",
                 d.name, d.err.msg);
        rc = asw_untar(req_in->dest_path, extract_dir, lim, ust, err);
    } else {
        *ust = d.st;
    }
    if (rc == 0 && remove_tar)
        unlink(req_in->dest_path);
    return rc;
}

/* ---- the unit ------------------------------------------------------ */

struct unit_run {
    const struct asw_config *cfg;
    const struct asw_unit *u;
    const struct asw_pipeline_hooks *hooks;
    const struct asw_backend *be;
};

static const struct asw_backend *current;

static int filter_entry(void *user, const char *path)
{
    (void)user;
    return !current->want_entry || current->want_entry(path);
}

static int stop_progress(void *user, int64_t now, int64_t total, double bps)
{
    const struct asw_pipeline_hooks *h = user;
    return h->stop(h->stop_user);
}

/* Scratch needed beyond what dir holds already (a resumed unit). */
static int check_space(const struct asw_config *cfg, const struct asw_unit *u,
                       const char *dir, struct asw_err *err)
{
    int64_t need = u->scratch_need > 0 ? u->scratch_need : u->bytes_total;
    if (need <= 0)
        return 0;
    int64_t there = disk_usage(dir), avail = 0;
    int rc = free_bytes(dir, &avail, err);
    if (rc)
        return rc;
    int64_t more = need > there ? need - there : 0;
    int64_t reserve = cfg->scratch_reserve_bytes;
    if (more + reserve <= avail)
        return 0;
    char detail[96];
    snprintf(detail, sizeof detail, " of scratch_need %lld, %lld there",
             (long long)need, (long long)there);
    return full(err, dir, more, reserve, avail, detail);
}

void asw_pipeline_dl_request(const struct asw_config *cfg, const char *url,
                             const char *dest_path, int64_t expected_bytes,
                             struct asw_dl_request *req)
{
    asw_dl_request_init(req, url, dest_path);
    req->expected_bytes = expected_bytes;
    req->max_retries = cfg->retries;
    req->backoff_initial_s = cfg->backoff_s;
    req->backoff_max_s = cfg->backoff_max_s;
    req->connect_timeout_s = cfg->connect_timeout_s;
    req->low_speed_limit_bps = (long)cfg->low_speed_limit_bps;
    req->low_speed_time_s = cfg->low_speed_time_s;
    req->ca_file = cfg->ca_file;
    req->mirrors = (const char *const *)cfg->mirrors.v;
    req->n_mirrors = (int)cfg->mirrors.n;
    req->segments =
        cfg->segments < cfg->max_transfers ? cfg->segments : cfg->max_transfers;
    req->min_segment_bytes = cfg->min_segment_bytes;
    if (cfg->credentials && strcmp(cfg->credentials, "env") == 0) {
        req->user_env = cfg->user_env;
        req->password_env = cfg->password_env;
    }
}

static int fetch_files(struct unit_run *ur, struct asw_dl_ctx *ctx,
                       const char *dir, struct asw_result *res,
                       struct asw_err *err)
{
    const struct asw_config *cfg = ur->cfg;
    const struct asw_unit *u = ur->u;
    const struct asw_pipeline_hooks *hooks = ur->hooks;
    const struct asw_dl_slots *slots = hooks ? hooks->slots : NULL;
    struct asw_untar_limits lim;
    asw_untar_limits_init(&lim);
    lim.filter = filter_entry;
    lim.remove_on_error = 1;
    current = ur->be;
    double t_extract = 0;

    for (size_t i = 0; i < u->n_files; i++) {
        const struct asw_file *f = &u->files[i];
        if (strchr(f->name, '/') || strcmp(f->name, "..") == 0 ||
            f->name[0] == '.')
            return asw_err_set(err, ASW_EINVAL, MOD, "unsafe file name '%s'",
                               f->name);
        char dest[4096];
        if (snprintf(dest, sizeof dest, "%s/%.255s", dir, f->name) >=
            (int)sizeof dest)
            return asw_err_set(err, ASW_EINVAL, MOD, "path too long for %s",
                               f->name);
        struct asw_dl_request req;
        asw_pipeline_dl_request(cfg, f->url, dest, f->size_bytes, &req);
        if (hooks && hooks->stop) {
            req.progress = stop_progress;
            req.progress_user = (void *)hooks;
            req.progress_interval_s = 0.25;
        }
        enum asw_extract_mode mode = !is_tar(f->name)      ? ASW_EXTRACT_NONE
                                     : cfg->extract_during ? ASW_EXTRACT_DURING
                                                           : ASW_EXTRACT_AFTER;
        if (slots && slots->acquire) {
            int rc =
                slots->acquire(slots->user, u->id, f->name, f->size_bytes, err);
            if (rc)
                return rc;
        }
        struct asw_dl_stats st;
        struct asw_untar_stats ust;
        double t0 = now_s();
        int rc = asw_pipeline_fetch_file(ctx, &req, mode, dir, &lim, 1, &st,
                                         &ust, err);
        if (slots && slots->release)
            slots->release(slots->user, u->id, f->name, st.bytes_transferred,
                           rc);
        res->bytes_fetched += st.bytes_transferred;
        double dt = now_s() - t0;
        if (mode != ASW_EXTRACT_NONE && rc == 0) {
            /* Extraction after the download is timed on its own; during
             * the download it hides in the download's time. */
            double t_dl = st.seconds < dt ? st.seconds : dt;
            t_extract += dt - t_dl;
            res->t_download_s += t_dl;
            asw_debug(
                "%s: %llu files (product %llu, calibration %llu, raw "
                "%llu), %llu skipped",
                f->name, (unsigned long long)ust.entries,
                (unsigned long long)ust.files_by_area[ASW_ALMA_PRODUCT],
                (unsigned long long)ust.files_by_area[ASW_ALMA_CALIBRATION],
                (unsigned long long)ust.files_by_area[ASW_ALMA_RAW],
                (unsigned long long)ust.entries_skipped);
        } else {
            res->t_download_s += dt;
        }
        if (rc)
            return rc;
    }
    res->t_extract_s = t_extract;
    return 0;
}

/* The fetch phase: unit directory, scratch check, downloads and
 * extraction. */
static int run_fetch(struct unit_run *ur, const char *dir_in,
                     struct asw_result *res, struct asw_err *err)
{
    const struct asw_unit *u = ur->u;
    if (!ur->be)
        return asw_err_set(err, ASW_ECONFIG, MOD,
                           "pipeline mode '%s' is not available in this "
                           "build",
                           ur->cfg->mode);
    if (mkdir_p(dir_in))
        return asw_err_set(err, errno == ENOSPC ? ASW_ENOSPC : ASW_EIO, MOD,
                           "cannot create %s: %s", dir_in, strerror(errno));
    /* Absolute, because extraction changes the working directory while
     * a download may be running (extract = during). */
    char dir[PATH_MAX];
    if (!realpath(dir_in, dir))
        return asw_err_set(err, ASW_EIO, MOD, "realpath %s: %s", dir_in,
                           strerror(errno));
    int rc = check_space(ur->cfg, u, dir, err);
    if (rc)
        return rc;
    struct asw_dl_ctx *ctx = asw_dl_ctx_new();
    if (!ctx)
        return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
    rc = fetch_files(ur, ctx, dir, res, err);
    asw_dl_ctx_free(ctx);
    return rc;
}

/* The process phase: the backend on the fetched directory. */
static int run_process(struct unit_run *ur, int rank, const char *dir_in,
                       struct asw_result *res, struct asw_err *err)
{
    const struct asw_pipeline_hooks *hooks = ur->hooks;
    if (hooks && hooks->stop && hooks->stop(hooks->stop_user))
        return asw_err_set(err, ASW_EINTR, MOD,
                           "interrupted before "
                           "processing");
    char dir[PATH_MAX];
    if (!realpath(dir_in, dir))
        return asw_err_set(err, ASW_EIO, MOD, "realpath %s: %s", dir_in,
                           strerror(errno));
    double t0 = now_s();
    struct asw_job job = {ur->cfg, ur->u, dir, rank};
    int rc = ur->be->process(&job, res, err);
    res->t_reduce_s = now_s() - t0;
    return rc;
}

/* The unit's scratch directory (not yet made absolute). */
static void unit_dir(const struct asw_config *cfg, const struct asw_unit *u,
                     char *dir, size_t n)
{
    snprintf(dir, n, "%.2900s/almasweep/%s", cfg->scratch_dir, u->id);
}

static struct unit_run unit_run_of(const struct asw_config *cfg,
                                   const struct asw_unit *u,
                                   const struct asw_pipeline_hooks *hooks)
{
    struct unit_run ur = {
        cfg, u, hooks,
        hooks && hooks->backend ? hooks->backend : asw_backend_find(cfg->mode)};
    return ur;
}

/* Status, error text and clean-up of a unit that ended with rc. */
static void finish(const struct asw_config *cfg, const struct asw_unit *u,
                   const char *dir, int rc, struct asw_err *err,
                   struct asw_result *res)
{
    if (rc == ASW_ENOSPC && strncmp(err->msg, "scratch full", 12) != 0) {
        /* asw_err_set writes over err: copy what it reads first. */
        char msg[ASW_ERR_MSG_MAX], mod[ASW_ERR_MODULE_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        snprintf(mod, sizeof mod, "%s", err->module);
        asw_err_set(err, rc, mod, "scratch full: %.*s", ASW_ERR_MSG_MAX - 20,
                    msg);
    }
    if (rc) {
        res->status = rc == ASW_EINTR ? ASW_ST_INTERRUPTED : ASW_ST_FAILED;
        asw_err_format(err, res->error, sizeof res->error);
        asw_warn("unit %s %s: %s", u->id,
                 rc == ASW_EINTR ? "interrupted" : "failed", res->error);
        free(res->images);
        res->images = NULL;
        res->n_images = 0;
    } else {
        res->status = ASW_ST_DONE;
    }
    /* A failed unit keeps its partial downloads for the retry to resume;
     * a done unit leaves nothing behind unless asked to. Without space,
     * or with data that cannot be used (size mismatch, hostile or broken
     * tar), there is nothing worth keeping. */
    if ((rc == 0 && !cfg->keep_files) || rc == ASW_ENOSPC || rc == ASW_EPROTO ||
        rc == ASW_EARCHIVE || rc == ASW_ETOOBIG)
        rm_rf(dir);
}

int asw_pipeline_fetch(const struct asw_config *cfg, const struct asw_unit *u,
                       int rank, const struct asw_pipeline_hooks *hooks,
                       struct asw_result *res)
{
    memset(res, 0, sizeof *res);
    snprintf(res->unit_id, sizeof res->unit_id, "%s", u->id);
    res->rank = rank;
    res->attempts = u->attempts;
    if (gethostname(res->host, sizeof res->host - 1))
        res->host[0] = '\0';
    char dir[3072];
    unit_dir(cfg, u, dir, sizeof dir);
    struct unit_run ur = unit_run_of(cfg, u, hooks);
    struct asw_err err = {0};
    int rc = run_fetch(&ur, dir, res, &err);
    if (!rc)
        return 0;
    finish(cfg, u, dir, rc, &err, res);
    return 1;
}

void asw_pipeline_process(const struct asw_config *cfg,
                          const struct asw_unit *u, int rank,
                          const struct asw_pipeline_hooks *hooks,
                          struct asw_result *res)
{
    char dir[3072];
    unit_dir(cfg, u, dir, sizeof dir);
    struct unit_run ur = unit_run_of(cfg, u, hooks);
    struct asw_err err = {0};
    int rc = run_process(&ur, rank, dir, res, &err);
    finish(cfg, u, dir, rc, &err, res);
}

void asw_pipeline_run_ex(const struct asw_config *cfg, const struct asw_unit *u,
                         int rank, const struct asw_pipeline_hooks *hooks,
                         struct asw_result *res)
{
    if (asw_pipeline_fetch(cfg, u, rank, hooks, res) == 0)
        asw_pipeline_process(cfg, u, rank, hooks, res);
}

void asw_pipeline_run(const struct asw_config *cfg, const struct asw_unit *u,
                      int rank, struct asw_result *res)
{
    asw_pipeline_run_ex(cfg, u, rank, NULL, res);
}
