#include "gen_tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#define DIRS_MAX     64
#define PATH_MAX_LEN 1024

struct asw_gen_tar {
    struct archive *a;
    long mtime;
    int n_dirs;
    char *dirs[DIRS_MAX]; /* directories already written */
};

static int tar_error(struct asw_gen_tar *t, struct asw_err *err,
                     const char *what)
{
    return asw_err_set(err, ASW_EARCHIVE, "archive", "%s: %s", what,
                       archive_error_string(t->a) ? archive_error_string(t->a)
                                                  : "unknown error");
}

int asw_gen_tar_open(struct asw_gen_tar **out, const char *path, long mtime,
                     struct asw_err *err)
{
    struct asw_gen_tar *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t || !(t->a = archive_write_new())) {
        free(t);
        return asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
    }
    t->mtime = mtime;
    archive_write_set_format_pax_restricted(t->a);
    archive_write_add_filter_none(t->a);
    if (archive_write_open_filename(t->a, path) != ARCHIVE_OK) {
        int rc = tar_error(t, err, path);
        archive_write_free(t->a);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

static struct archive_entry *new_entry(const struct asw_gen_tar *t,
                                       const char *name, int dir, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return NULL;
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0755 : 0644);
    archive_entry_set_size(e, dir ? 0 : (la_int64_t)len);
    archive_entry_set_mtime(e, t->mtime, 0);
    archive_entry_set_uid(e, 1000);
    archive_entry_set_gid(e, 1000);
    archive_entry_set_uname(e, "almadata");
    archive_entry_set_gname(e, "alma");
    return e;
}

/* Write "a/", "a/b/", ... for name "a/b/c", skipping those already done. */
static int add_parents(struct asw_gen_tar *t, const char *name,
                       struct asw_err *err)
{
    char dir[PATH_MAX_LEN];
    for (const char *s = strchr(name, '/'); s; s = strchr(s + 1, '/')) {
        size_t len = (size_t)(s - name) + 1;
        if (len >= sizeof dir)
            return asw_err_set(err, ASW_EINVAL, "gen", "path too long");
        memcpy(dir, name, len);
        dir[len] = '\0';
        int seen = 0;
        for (int i = 0; i < t->n_dirs && !seen; i++)
            seen = !strcmp(t->dirs[i], dir);
        if (seen)
            continue;
        if (t->n_dirs == DIRS_MAX)
            return asw_err_set(err, ASW_ETOOBIG, "gen", "too many dirs");
        if (!(t->dirs[t->n_dirs] = strdup(dir)))
            return asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
        t->n_dirs++;
        struct archive_entry *e = new_entry(t, dir, 1, 0);
        if (!e)
            return asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
        int st = archive_write_header(t->a, e);
        archive_entry_free(e);
        if (st != ARCHIVE_OK)
            return tar_error(t, err, dir);
    }
    return 0;
}

int asw_gen_tar_add_mem(struct asw_gen_tar *t, const char *name,
                        const void *data, size_t len, struct asw_err *err)
{
    int rc = add_parents(t, name, err);
    if (rc)
        return rc;
    struct archive_entry *e = new_entry(t, name, 0, len);
    if (!e)
        return asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
    int st = archive_write_header(t->a, e);
    archive_entry_free(e);
    if (st != ARCHIVE_OK)
        return tar_error(t, err, name);
    if (len && archive_write_data(t->a, data, len) != (la_ssize_t)len)
        return tar_error(t, err, name);
    return 0;
}

int asw_gen_tar_add_file(struct asw_gen_tar *t, const char *name,
                         const char *src, struct asw_err *err)
{
    int rc = 0;
    char *buf = NULL;
    FILE *fp = fopen(src, "rb");
    if (!fp)
        return asw_err_set(err, ASW_EIO, "gen", "cannot open %s", src);
    if (fseek(fp, 0, SEEK_END) || ftell(fp) < 0) {
        rc = asw_err_set(err, ASW_EIO, "gen", "cannot size %s", src);
        goto out;
    }
    size_t len = (size_t)ftell(fp);
    rewind(fp);
    /* Product files are small (npix is capped), so one buffer is fine. */
    buf = malloc(len ? len : 1);
    if (!buf) {
        rc = asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
        goto out;
    }
    if (fread(buf, 1, len, fp) != len) {
        rc = asw_err_set(err, ASW_EIO, "gen", "cannot read %s", src);
        goto out;
    }
    rc = asw_gen_tar_add_mem(t, name, buf, len, err);
out:
    free(buf);
    fclose(fp);
    return rc;
}

int asw_gen_tar_close(struct asw_gen_tar *t, struct asw_err *err)
{
    int rc = 0;
    if (!t)
        return 0;
    if (archive_write_close(t->a) != ARCHIVE_OK)
        rc = tar_error(t, err, "close");
    archive_write_free(t->a);
    for (int i = 0; i < t->n_dirs; i++)
        free(t->dirs[i]);
    free(t);
    return rc;
}
