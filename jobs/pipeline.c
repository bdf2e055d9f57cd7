#include "pipeline.h"

#include "io/download.h"
#include "io/untar.h"
#include "src/log.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const struct asw_backend *asw_backend_find(const char *mode)
{
    if (mode && strcmp(mode, "products") == 0)
        return &asw_backend_products;
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

static int is_tar(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && strcmp(name + n - 4, ".tar") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".tgz") == 0) ||
           (n > 7 && strcmp(name + n - 7, ".tar.gz") == 0);
}

static const struct asw_backend *current;

static int filter_entry(void *user, const char *path)
{
    (void)user;
    return !current->want_entry || current->want_entry(path);
}

static int run(const struct asw_config *cfg, const struct asw_unit *u, int rank,
               const char *dir, struct asw_result *res, struct asw_err *err)
{
    const struct asw_backend *be = asw_backend_find(cfg->mode);
    if (!be)
        return asw_err_set(err, ASW_ECONFIG, "pipeline",
                           "pipeline mode '%s' is not available in this "
                           "build",
                           cfg->mode);
    if (mkdir_p(dir))
        return asw_err_set(err, ASW_EIO, "pipeline", "cannot create %s: %s",
                           dir, strerror(errno));
    double t0 = now_s();
    for (size_t i = 0; i < u->n_files; i++) {
        const struct asw_file *f = &u->files[i];
        if (strchr(f->name, '/') || strcmp(f->name, "..") == 0 ||
            f->name[0] == '.')
            return asw_err_set(err, ASW_EINVAL, "pipeline",
                               "unsafe file name '%s'", f->name);
        char dest[4096];
        if (snprintf(dest, sizeof dest, "%s/%.255s", dir, f->name) >=
            (int)sizeof dest)
            return asw_err_set(err, ASW_EINVAL, "pipeline",
                               "path too long for %s", f->name);
        struct asw_dl_request req;
        asw_dl_request_init(&req, f->url, dest);
        req.expected_bytes = f->size_bytes;
        req.max_retries = cfg->retries;
        req.connect_timeout_s = cfg->connect_timeout_s;
        req.low_speed_time_s = cfg->low_speed_time_s;
        req.mirrors = (const char *const *)cfg->mirrors.v;
        req.n_mirrors = (int)cfg->mirrors.n;
        struct asw_dl_stats st;
        int rc = asw_dl_fetch(&req, &st, err);
        res->bytes_fetched += st.bytes_transferred;
        if (rc)
            return rc;
    }
    double t1 = now_s();
    res->t_download_s = t1 - t0;
    current = be;
    for (size_t i = 0; i < u->n_files; i++) {
        const struct asw_file *f = &u->files[i];
        if (!is_tar(f->name))
            continue;
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%.255s", dir, f->name) >=
            (int)sizeof path)
            continue;
        struct asw_untar_limits lim;
        asw_untar_limits_init(&lim);
        lim.filter = filter_entry;
        lim.filter_user = NULL;
        struct asw_untar_stats ust;
        int rc = asw_untar(path, dir, &lim, &ust, err);
        if (rc)
            return rc;
        /* The tar is no longer needed once extracted: free the scratch. */
        unlink(path);
    }
    double t2 = now_s();
    res->t_extract_s = t2 - t1;
    struct asw_job job = {cfg, u, dir, rank};
    int rc = be->process(&job, res, err);
    res->t_reduce_s = now_s() - t2;
    return rc;
}

void asw_pipeline_run(const struct asw_config *cfg, const struct asw_unit *u,
                      int rank, struct asw_result *res)
{
    memset(res, 0, sizeof *res);
    snprintf(res->unit_id, sizeof res->unit_id, "%s", u->id);
    res->rank = rank;
    res->attempts = u->attempts;
    if (gethostname(res->host, sizeof res->host - 1))
        res->host[0] = '\0';
    char dir[3072];
    snprintf(dir, sizeof dir, "%.2900s/almasweep/%s", cfg->scratch_dir, u->id);
    struct asw_err err = {0};
    int rc = run(cfg, u, rank, dir, res, &err);
    if (rc) {
        res->status = ASW_ST_FAILED;
        asw_err_format(&err, res->error, sizeof res->error);
        asw_warn("unit %s failed: %s", u->id, res->error);
        free(res->images);
        res->images = NULL;
        res->n_images = 0;
    } else {
        res->status = ASW_ST_DONE;
    }
    /* A failed unit keeps its partial downloads for the retry to resume;
     * a done unit leaves nothing behind unless asked to. */
    if (rc == 0 && !cfg->keep_files)
        rm_rf(dir);
    if (rc == ASW_ENOSPC)
        rm_rf(dir);
}
