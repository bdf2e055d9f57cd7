/*
 * untar.c - safe streaming extraction with libarchive.
 *
 * Our checks run before libarchive's ARCHIVE_EXTRACT_SECURE_* flags so that
 * a hostile entry stops the run with a message naming it, and so that the
 * rules do not depend on the libarchive version. The rules:
 *   - entry paths and hard-link targets are relative and have no "..";
 *   - no component above an entry may be a symlink already on disk;
 *   - a symlink target is relative and may only climb with leading ".."
 *     (at most as deep as the link sits), then only descend. The
 *     directories climbed are the link's own parents, which hold the link,
 *     so a later entry cannot swap them for symlinks; every link therefore
 *     resolves inside dest_dir, whatever the order of entries;
 *   - a hard link may not point at a symlink (it would copy the link into
 *     another directory, where its target means something else);
 *   - only regular files, directories and links; no devices, fifos,
 *     sockets.
 * Entries are written relative to dest_dir (libarchive's secure flags
 * refuse absolute paths), entered with chdir on a thread-private working
 * directory (private_cwd).
 */
#define _GNU_SOURCE /* unshare(CLONE_FS) */

#include "io/untar.h"

#include "src/log.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOD "untar"
/* Small enough that a block read stays in the CPU cache until it is
 * written out: 128 KiB blocks cost a third of the kernel time of 1 MiB
 * ones on 2 GiB (docs/benchmarks.md). */
#define READ_BLOCK_BYTES (128 * 1024)
#define SHOW             200 /* longest entry name quoted in a message */

void asw_untar_limits_init(struct asw_untar_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->max_entries = ASW_UNTAR_DEFAULT_MAX_ENTRIES;
    lim->max_entry_bytes = ASW_UNTAR_DEFAULT_MAX_ENTRY_BYTES;
    lim->max_total_bytes = ASW_UNTAR_DEFAULT_MAX_TOTAL_BYTES;
    lim->max_path_len = ASW_UNTAR_DEFAULT_MAX_PATH_LEN;
}

/* Length of the component starting at p (up to '/' or the end). */
static size_t comp_len(const char *p)
{
    return strcspn(p, "/");
}

static int is_dotdot(const char *p, size_t n)
{
    return n == 2 && p[0] == '.' && p[1] == '.';
}

int asw_untar_check_path(const char *path, struct asw_err *err)
{
    if (!path || !*path)
        return asw_err_set(err, ASW_EARCHIVE, MOD,
                           "entry with an empty path name");
    if (path[0] == '/')
        return asw_err_set(err, ASW_EARCHIVE, MOD,
                           "entry \"%.*s\": absolute path refused", SHOW, path);
    for (const char *p = path; *p;) {
        size_t n = comp_len(p);
        if (is_dotdot(p, n))
            return asw_err_set(err, ASW_EARCHIVE, MOD,
                               "entry \"%.*s\": \"..\" component refused", SHOW,
                               path);
        p += n;
        while (*p == '/')
            p++;
    }
    return 0;
}

/*
 * Refuse path if a directory component above its last one is a symlink on
 * disk (relative to the working directory, which is dest_dir). libarchive's
 * SECURE_SYMLINKS refuses this as well; checking here names the entry.
 */
static int check_no_symlink_parent(const char *entry, const char *path,
                                   struct asw_err *err)
{
    char prefix[4096];
    size_t len = strlen(path);
    if (len >= sizeof prefix)
        return asw_err_set(err, ASW_ETOOBIG, MOD,
                           "entry \"%.*s\": path too long", SHOW, entry);
    memcpy(prefix, path, len + 1);
    for (char *p = prefix; *p;) {
        size_t n = comp_len(p);
        if (!p[n])
            break; /* last component: the entry itself */
        p[n] = '\0';
        struct stat sb;
        if (lstat(prefix, &sb) == 0 && S_ISLNK(sb.st_mode))
            return asw_err_set(err, ASW_EARCHIVE, MOD,
                               "entry \"%.*s\": goes through the symlink "
                               "\"%.*s\"",
                               SHOW, entry, SHOW, prefix);
        p[n] = '/';
        p += n;
        while (*p == '/')
            p++;
    }
    return 0;
}

/* Number of directory components above the entry itself ("a/b/c" -> 2),
 * not counting "." and empty ones. */
static int dir_depth(const char *path)
{
    int depth = 0;
    for (const char *p = path; *p;) {
        size_t n = comp_len(p);
        int last = p[n] == '\0' || p[n + strspn(p + n, "/")] == '\0';
        if (!last && !(n == 1 && p[0] == '.'))
            depth++;
        p += n;
        while (*p == '/')
            p++;
    }
    return depth;
}

static int check_symlink(const char *entry, const char *target,
                         struct asw_err *err)
{
    if (!target || !*target)
        return asw_err_set(err, ASW_EARCHIVE, MOD,
                           "entry \"%.*s\": symlink without a target", SHOW,
                           entry);
    if (target[0] == '/')
        return asw_err_set(err, ASW_EARCHIVE, MOD,
                           "entry \"%.*s\": symlink to the absolute path "
                           "\"%.*s\" refused",
                           SHOW, entry, SHOW, target);
    int climb = 0, descended = 0;
    for (const char *p = target; *p;) {
        size_t n = comp_len(p);
        if (is_dotdot(p, n)) {
            if (descended)
                return asw_err_set(err, ASW_EARCHIVE, MOD,
                                   "entry \"%.*s\": symlink target \"%.*s\" "
                                   "has \"..\" after a name; refused",
                                   SHOW, entry, SHOW, target);
            climb++;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            descended = 1;
        }
        p += n;
        while (*p == '/')
            p++;
    }
    if (climb > dir_depth(entry))
        return asw_err_set(err, ASW_EARCHIVE, MOD,
                           "entry \"%.*s\": symlink target \"%.*s\" points "
                           "outside the destination",
                           SHOW, entry, SHOW, target);
    return 0;
}

static int check_hardlink(const char *entry, const char *target,
                          struct asw_err *err)
{
    struct asw_err sub;
    if (asw_untar_check_path(target, &sub) != 0)
        return asw_err_set(err, ASW_EARCHIVE, MOD,
                           "entry \"%.*s\": hard link target refused: %s", SHOW,
                           entry, sub.msg);
    int rc = check_no_symlink_parent(entry, target, err);
    if (rc)
        return rc;
    struct stat sb;
    if (lstat(target, &sb) == 0 && S_ISLNK(sb.st_mode))
        return asw_err_set(err, ASW_EARCHIVE, MOD,
                           "entry \"%.*s\": hard link to the symlink \"%.*s\" "
                           "refused",
                           SHOW, entry, SHOW, target);
    return 0;
}

static int archive_fail(struct archive *a, const char *what, const char *entry,
                        struct asw_err *err)
{
    int e = archive_errno(a);
    const char *msg = archive_error_string(a);
    int code = (e == ENOSPC || e == EDQUOT) ? ASW_ENOSPC : ASW_EARCHIVE;
    if (entry)
        return asw_err_set(err, code, MOD, "%s, entry \"%.*s\": %s", what, SHOW,
                           entry, msg ? msg : "unknown error");
    return asw_err_set(err, code, MOD, "%s: %s", what,
                       msg ? msg : "unknown error");
}

/* The safety rules of the file comment for one entry. */
static int check_entry(struct archive_entry *ent, const char *path,
                       const struct asw_untar_limits *lim, struct asw_err *err)
{
    size_t plen = strlen(path);
    if (plen > lim->max_path_len)
        return asw_err_set(err, ASW_ETOOBIG, MOD,
                           "entry \"%.*s...\": path of %zu bytes exceeds the "
                           "cap of %zu",
                           SHOW, path, plen, lim->max_path_len);
    int rc = asw_untar_check_path(path, err);
    if (rc)
        return rc;
    rc = check_no_symlink_parent(path, path, err);
    if (rc)
        return rc;

    const char *hard = archive_entry_hardlink(ent);
    if (hard) {
        if (strlen(hard) > lim->max_path_len)
            return asw_err_set(err, ASW_ETOOBIG, MOD,
                               "entry \"%.*s\": link target exceeds the "
                               "path cap of %zu",
                               SHOW, path, lim->max_path_len);
        return check_hardlink(path, hard, err);
    }
    switch (archive_entry_filetype(ent)) {
    case AE_IFREG:
    case AE_IFDIR:
        return 0;
    case AE_IFLNK: {
        const char *t = archive_entry_symlink(ent);
        if (t && strlen(t) > lim->max_path_len)
            return asw_err_set(err, ASW_ETOOBIG, MOD,
                               "entry \"%.*s\": link target exceeds the "
                               "path cap of %zu",
                               SHOW, path, lim->max_path_len);
        return check_symlink(path, t, err);
    }
    default:
        return asw_err_set(err, ASW_EARCHIVE, MOD,
                           "entry \"%.*s\": device, fifo or socket refused "
                           "(type 0%o)",
                           SHOW, path, (unsigned)archive_entry_filetype(ent));
    }
}

/* Give extracted files sane permissions whatever the tar says, so scratch
 * can always be read and cleaned up. */
static void normalise_mode(struct archive_entry *ent)
{
    unsigned t = (unsigned)archive_entry_filetype(ent);
    if (t == AE_IFDIR)
        archive_entry_set_perm(ent, 0755);
    else if (t == AE_IFREG)
        archive_entry_set_perm(ent,
                               (archive_entry_perm(ent) & 0100) ? 0755 : 0644);
}

static int copy_data(struct archive *ar, struct archive *aw, const char *path,
                     const struct asw_untar_limits *lim,
                     struct asw_untar_stats *st, struct asw_err *err)
{
    uint64_t entry_bytes = 0;
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int r = archive_read_data_block(ar, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return archive_fail(ar, "reading", path, err);
        entry_bytes += size;
        if (entry_bytes > lim->max_entry_bytes)
            return asw_err_set(err, ASW_ETOOBIG, MOD,
                               "entry \"%.*s\": more than the cap of %llu "
                               "bytes",
                               SHOW, path,
                               (unsigned long long)lim->max_entry_bytes);
        if (st->bytes + size > lim->max_total_bytes)
            return asw_err_set(err, ASW_ETOOBIG, MOD,
                               "entry \"%.*s\": the archive exceeds the cap "
                               "of %llu bytes in total",
                               SHOW, path,
                               (unsigned long long)lim->max_total_bytes);
        /* libarchive reports a failed write(2) (a full disk included) as
         * ARCHIVE_WARN and later extends the file to its declared size,
         * so a warning here is a failure: the file would have a hole. */
        la_ssize_t w = archive_write_data_block(aw, buf, size, off);
        if (w < ARCHIVE_OK)
            return archive_fail(aw, "writing", path, err);
        st->bytes += size;
    }
}

/* ---- removing what a failed call wrote ----------------------------- */

struct written {
    char **v;
    size_t n, cap;
    int oom; /* a path could not be recorded: say so when cleaning */
};

static void written_add(struct written *w, const char *path)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        char **v = realloc(w->v, cap * sizeof *v);
        if (!v) {
            w->oom = 1;
            return;
        }
        w->v = v;
        w->cap = cap;
    }
    if (!(w->v[w->n] = strdup(path))) {
        w->oom = 1;
        return;
    }
    w->n++;
}

/* Record the directories above path that do not exist yet: extracting
 * the entry creates them, so a cleanup removes them too (and nothing that
 * was there before). Runs in dest_dir. */
static void written_add_parents(struct written *w, const char *path)
{
    char prefix[4096];
    size_t len = strlen(path);
    if (len >= sizeof prefix)
        return;
    memcpy(prefix, path, len + 1);
    for (char *p = prefix; *p;) {
        size_t n = comp_len(p);
        if (!p[n])
            break;
        p[n] = '\0';
        struct stat sb;
        if (lstat(prefix, &sb) != 0)
            written_add(w, prefix);
        p[n] = '/';
        p += n;
        while (*p == '/')
            p++;
    }
}

/* Remove the recorded entries, newest first, so files go before the
 * directories holding them. Runs in dest_dir; a path that now leads
 * through a symlink is left alone. */
static void written_remove(struct written *w)
{
    for (size_t i = w->n; i-- > 0;) {
        const char *p = w->v[i];
        struct stat sb;
        if (check_no_symlink_parent(p, p, NULL) != 0 || lstat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            (void)rmdir(p); /* only if empty: it may hold older files */
        else
            (void)unlink(p);
    }
    if (w->oom)
        asw_warn("untar: out of memory while recording entries; some "
                 "partial files may remain");
}

static void written_free(struct written *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
}

/* ---- the ALMA layout ----------------------------------------------- */

static const char *const area_names[ASW_ALMA_N_AREAS] = {
    "none",   "member", "raw", "product", "calibration",
    "script", "qa",     "log", "other",
};

const char *asw_alma_area_name(enum asw_alma_area a)
{
    return (unsigned)a < ASW_ALMA_N_AREAS ? area_names[a] : "none";
}

/* Copy the uid after `prefix` in the component [p, p+n) into out, if the
 * component is "<prefix>uid___..." and fits. */
static int take_uid(const char *p, size_t n, const char *prefix, char *out,
                    size_t outn)
{
    size_t pl = strlen(prefix);
    if (n <= pl || strncmp(p, prefix, pl) != 0 || n - pl >= outn ||
        strncmp(p + pl, "uid___", 6) != 0)
        return -1;
    memcpy(out, p + pl, n - pl);
    out[n - pl] = '\0';
    return 0;
}

enum asw_alma_area asw_untar_classify(const char *path,
                                      struct asw_alma_path *out)
{
    struct asw_alma_path local;
    struct asw_alma_path *o = out ? out : &local;
    memset(o, 0, sizeof *o);
    o->rest = "";
    if (!path)
        return ASW_ALMA_NONE;
    const char *p = path;
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    while (*p == '/')
        p++;
    /* project, science goal, group, member */
    const char *comp[4];
    size_t len[4];
    for (int i = 0; i < 4; i++) {
        size_t n = comp_len(p);
        if (n == 0)
            return ASW_ALMA_NONE;
        comp[i] = p;
        len[i] = n;
        p += n;
        if (i < 3 && *p != '/')
            return ASW_ALMA_NONE;
        while (*p == '/')
            p++;
    }
    /* "2017.1.01185.S": four digits and a dot, no odd characters. */
    int proj_ok = len[0] >= 6 && len[0] < sizeof o->project;
    for (size_t i = 0; proj_ok && i < len[0]; i++) {
        char c = comp[0][i];
        proj_ok = i < 4 ? (c >= '0' && c <= '9')
                        : (i == 4 ? c == '.'
                                  : (c == '.' || (c >= '0' && c <= '9') ||
                                     (c >= 'A' && c <= 'Z')));
    }
    if (!proj_ok ||
        take_uid(comp[1], len[1], "science_goal.", o->sous, sizeof o->sous) ||
        take_uid(comp[2], len[2], "group.", o->gous, sizeof o->gous) ||
        take_uid(comp[3], len[3], "member.", o->mous, sizeof o->mous)) {
        memset(o, 0, sizeof *o);
        o->rest = "";
        return ASW_ALMA_NONE;
    }
    memcpy(o->project, comp[0], len[0]);
    o->project[len[0]] = '\0';
    size_t n = comp_len(p);
    if (n == 0 || p[n] == '\0') {
        /* The member directory itself, or a file directly in it. */
        o->area = ASW_ALMA_MEMBER;
        o->rest = p;
        return o->area;
    }
    o->area = ASW_ALMA_OTHER;
    for (int a = ASW_ALMA_RAW; a < ASW_ALMA_OTHER; a++)
        if (strlen(area_names[a]) == n && strncmp(p, area_names[a], n) == 0)
            o->area = (enum asw_alma_area)a;
    p += n;
    while (*p == '/')
        p++;
    o->rest = p;
    return o->area;
}

/* ---- extraction ---------------------------------------------------- */

/*
 * Give the calling thread a working directory of its own (Linux
 * unshare(CLONE_FS); no privilege needed), once per thread, so that the
 * chdir into the destination moves only this thread: a download, a
 * catalogue write or a spawned CASA on another thread keeps resolving
 * relative paths where it did. Where the call is refused (an unusual
 * seccomp policy), the working directory stays shared, as documented.
 */
static _Thread_local int cwd_private;

static void private_cwd(void)
{
    if (cwd_private)
        return;
    if (unshare(CLONE_FS) == 0)
        cwd_private = 1;
    else
        asw_debug("untar: unshare(CLONE_FS): %s; the working directory "
                  "is shared with other threads",
                  strerror(errno));
}

/* The streamed source, as libarchive's read callback sees it. */
struct source {
    asw_untar_read_fn rd;
    void *user;
    char *buf;
    int rc; /* the source's own failure, 0 if none */
    struct asw_err err;
};

static la_ssize_t source_read(struct archive *a, void *ud, const void **out)
{
    struct source *s = ud;
    long n = s->rd(s->user, s->buf, READ_BLOCK_BYTES, &s->err);
    if (n < 0) {
        s->rc = (int)n;
        archive_set_error(a, EIO, "%s", s->err.msg);
        return -1;
    }
    *out = s->buf;
    return (la_ssize_t)n;
}

static void fill_limits(struct asw_untar_limits *lim,
                        const struct asw_untar_limits *lim_in)
{
    asw_untar_limits_init(lim);
    if (!lim_in)
        return;
    lim->filter = lim_in->filter;
    lim->filter_user = lim_in->filter_user;
    lim->remove_on_error = lim_in->remove_on_error;
    if (lim_in->max_entries)
        lim->max_entries = lim_in->max_entries;
    if (lim_in->max_entry_bytes)
        lim->max_entry_bytes = lim_in->max_entry_bytes;
    if (lim_in->max_total_bytes)
        lim->max_total_bytes = lim_in->max_total_bytes;
    if (lim_in->max_path_len)
        lim->max_path_len = lim_in->max_path_len;
}

/*
 * Extract everything ar (opened) holds into dest_dir under lim. Frees ar.
 * src, when not NULL, is the streamed source whose own error wins over
 * libarchive's report of it.
 */
static int extract(struct archive *ar, struct source *src, const char *dest_dir,
                   const struct asw_untar_limits *lim,
                   struct asw_untar_stats *st, struct asw_err *err)
{
    struct archive *aw = NULL;
    struct written wr = {0};
    int cwd = -1, rc = 0;
    uint64_t seen = 0;

    aw = archive_write_disk_new();
    if (!aw) {
        rc = asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
        goto out;
    }
    archive_write_disk_set_options(
        aw, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);

    if (mkdir(dest_dir, 0755) != 0 && errno != EEXIST) {
        rc = asw_err_set(err, errno == ENOSPC ? ASW_ENOSPC : ASW_EIO, MOD,
                         "mkdir %s: %s", dest_dir, strerror(errno));
        goto out;
    }
    private_cwd();
    cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0 || chdir(dest_dir) != 0) {
        rc = asw_err_set(err, ASW_EIO, MOD, "cannot enter %s: %s", dest_dir,
                         strerror(errno));
        if (cwd >= 0)
            close(cwd);
        cwd = -1;
        goto out;
    }

    for (;;) {
        struct archive_entry *ent;
        int r = archive_read_next_header(ar, &ent);
        if (r == ARCHIVE_EOF)
            break;
        if (r == ARCHIVE_RETRY)
            continue;
        if (r < ARCHIVE_WARN) {
            rc = archive_fail(ar, "reading header", NULL, err);
            goto out;
        }
        const char *path = archive_entry_pathname(ent);
        if (!path) {
            rc = asw_err_set(err, ASW_EARCHIVE, MOD,
                             "entry %llu: path name not readable",
                             (unsigned long long)seen + 1);
            goto out;
        }
        if (++seen > lim->max_entries) {
            rc = asw_err_set(err, ASW_ETOOBIG, MOD,
                             "entry \"%.*s\": more than the cap of %llu "
                             "entries",
                             SHOW, path, (unsigned long long)lim->max_entries);
            goto out;
        }
        rc = check_entry(ent, path, lim, err);
        if (rc)
            goto out;
        if (archive_entry_size_is_set(ent)) {
            la_int64_t sz = archive_entry_size(ent);
            if (sz > 0 && (uint64_t)sz > lim->max_entry_bytes) {
                rc = asw_err_set(err, ASW_ETOOBIG, MOD,
                                 "entry \"%.*s\": %lld bytes exceeds the cap "
                                 "of %llu",
                                 SHOW, path, (long long)sz,
                                 (unsigned long long)lim->max_entry_bytes);
                goto out;
            }
            if (sz > 0 && st->bytes + (uint64_t)sz > lim->max_total_bytes) {
                rc = asw_err_set(err, ASW_ETOOBIG, MOD,
                                 "entry \"%.*s\": the archive exceeds the cap "
                                 "of %llu bytes in total",
                                 SHOW, path,
                                 (unsigned long long)lim->max_total_bytes);
                goto out;
            }
        }
        if (lim->filter && !lim->filter(lim->filter_user, path)) {
            st->entries_skipped++;
            if (archive_read_data_skip(ar) < ARCHIVE_WARN) {
                rc = archive_fail(ar, "skipping", path, err);
                goto out;
            }
            continue;
        }
        normalise_mode(ent);
        /* Recorded before it exists, so a half-written file goes too. */
        if (lim->remove_on_error) {
            written_add_parents(&wr, path);
            written_add(&wr, path);
        }
        r = archive_write_header(aw, ent);
        if (r < ARCHIVE_WARN) {
            rc = archive_fail(aw, "extracting", path, err);
            goto out;
        }
        if (r == ARCHIVE_WARN)
            asw_debug("untar %s: %s", path, archive_error_string(aw));
        rc = copy_data(ar, aw, path, lim, st, err);
        if (rc)
            goto out;
        r = archive_write_finish_entry(aw);
        if (r < ARCHIVE_WARN) {
            rc = archive_fail(aw, "finishing", path, err);
            goto out;
        }
        st->entries++;
        if (archive_entry_filetype(ent) == AE_IFREG &&
            !archive_entry_hardlink(ent))
            st->files_by_area[asw_untar_classify(path, NULL)]++;
    }

out:
    if (aw) {
        /* Close applies deferred directory times; its failure matters
         * only if nothing else went wrong first. */
        if (archive_write_close(aw) < ARCHIVE_WARN && rc == 0)
            rc = archive_fail(aw, "closing", NULL, err);
        archive_write_free(aw);
    }
    archive_read_free(ar);
    if (rc && src && src->rc) {
        /* libarchive only saw EIO: report what the source said. */
        rc = src->rc;
        if (err)
            *err = src->err;
    }
    if (rc && lim->remove_on_error && cwd >= 0)
        written_remove(&wr);
    written_free(&wr);
    if (cwd >= 0) {
        if (fchdir(cwd) != 0 && rc == 0)
            rc = asw_err_set(err, ASW_EIO, MOD,
                             "cannot return to the working directory: %s",
                             strerror(errno));
        close(cwd);
    }
    return rc;
}

static struct archive *reader_new(void)
{
    struct archive *ar = archive_read_new();
    if (ar) {
        archive_read_support_filter_all(ar);
        archive_read_support_format_all(ar);
    }
    return ar;
}

int asw_untar(const char *tar_path, const char *dest_dir,
              const struct asw_untar_limits *lim_in,
              struct asw_untar_stats *st_out, struct asw_err *err)
{
    struct asw_untar_stats local;
    struct asw_untar_stats *st = st_out ? st_out : &local;
    memset(st, 0, sizeof *st);
    struct asw_untar_limits lim;
    fill_limits(&lim, lim_in);
    if (!tar_path || !*tar_path || !dest_dir || !*dest_dir)
        return asw_err_set(err, ASW_EINVAL, MOD, "bad untar arguments");
    struct archive *ar = reader_new();
    if (!ar)
        return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
    /* Opened before extract's chdir so a relative tar_path works. */
    if (archive_read_open_filename(ar, tar_path, READ_BLOCK_BYTES) !=
        ARCHIVE_OK) {
        int rc = archive_fail(ar, "opening", NULL, err);
        archive_read_free(ar);
        return rc;
    }
    return extract(ar, NULL, dest_dir, &lim, st, err);
}

int asw_untar_stream(asw_untar_read_fn rd, void *rd_user, const char *name,
                     const char *dest_dir,
                     const struct asw_untar_limits *lim_in,
                     struct asw_untar_stats *st_out, struct asw_err *err)
{
    struct asw_untar_stats local;
    struct asw_untar_stats *st = st_out ? st_out : &local;
    memset(st, 0, sizeof *st);
    struct asw_untar_limits lim;
    fill_limits(&lim, lim_in);
    if (!rd || !dest_dir || !*dest_dir)
        return asw_err_set(err, ASW_EINVAL, MOD, "bad untar arguments");
    struct source src = {rd, rd_user, malloc(READ_BLOCK_BYTES), 0, {0}};
    struct archive *ar = src.buf ? reader_new() : NULL;
    if (!ar) {
        free(src.buf);
        return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
    }
    int rc;
    if (archive_read_open(ar, &src, NULL, source_read, NULL) != ARCHIVE_OK) {
        if (src.rc) {
            rc = src.rc;
            if (err)
                *err = src.err;
        } else {
            rc =
                archive_fail(ar, name ? name : "opening the stream", NULL, err);
        }
        archive_read_free(ar);
        free(src.buf);
        return rc;
    }
    rc = extract(ar, &src, dest_dir, &lim, st, err);
    free(src.buf);
    return rc;
}
