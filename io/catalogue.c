/*
 * catalogue.c - the catalogue writer: the handle, its in-memory index,
 * the journal replay on open, storing results and runs, and checkpoints.
 *
 * The argument for crash safety (docs/catalogue.md has the long form):
 *  1. The .h5 file is only ever replaced by rename(2) of a complete, closed
 *     and fsync'ed copy. rename is atomic, so whenever the process dies the
 *     path names either the old or the new complete file; HDF5 never writes
 *     to it, so H5Fflush's lack of atomicity cannot tear it.
 *  2. A result is acknowledged (put returns 0) only after its journal
 *     record is written whole (and fdatasync'ed). A record cut short by a
 *     kill fails its length or CRC check and is dropped: it was never
 *     acknowledged.
 *  3. Every record has a sequence number; the file stores in journal_seq
 *     the last one it contains. Opening replays the records after it, so a
 *     kill between the rename and the journal reset loses and doubles
 *     nothing. Records are whole-unit upserts, so the last one for a unit
 *     is its state.
 *  4. One writer at a time: the journal's flock, which dies with the
 *     process.
 */
#define _GNU_SOURCE /* copy_file_range */
#include "catalogue_priv.h"

#include "asw_version.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define NO_REC           UINT64_MAX
#define STAGE_ROWS       16384
#define JOURNAL_CKPT_MAX ((uint64_t)1 << 30) /* checkpoint beyond 1 GiB */
#define CHANNELS_MAX     ((uint64_t)1 << 28) /* per result */

/* ------------------------------------------------------------------ */
/* The handle                                                          */

struct entry {
    char id[ASW_UID_MAX];
    int64_t unit_row;           /* row in the file's /units, -1 if none */
    int status;                 /* enum asw_status, -1 if unknown string */
    int attempts;               /* latest (file or journal) */
    int64_t n[M_COUNT];         /* latest row counts */
    int64_t file_n[M_COUNT];    /* row counts in the file */
    uint64_t rec_off, rec_seq;  /* latest pending journal record */
    uint64_t first_seq;         /* first pending record: file order */
    char kind[16];              /* what only the unit knows, kept for */
    char project[ASW_NAME_MAX]; /* results stored without it */
    char mous_uid[ASW_UID_MAX];
    int64_t n_files, bytes_total;
    char updated_utc[24];
    unsigned rm;     /* checkpoint: bit m set = remove its rows of table m */
    int64_t new_row; /* checkpoint: /units row assigned */
};

struct run_entry {
    char run_id[CAT_RUN_ID_MAX];
    char status[16];
    int64_t row; /* row in the file's /runs, -1 if none */
    uint64_t rec_off, rec_seq;
    int64_t new_row;
};

struct asw_cat {
    char *path, *jpath, *tmp_path;
    char catalogue_id[CAT_ID_MAX];
    char creator[128];
    int meta_dirty; /* creator or pair_days to be written */
    double file_pair_days;
    struct asw_cat_options opt;
    struct cat_journal *j;
    uint64_t file_seq; /* journal_seq of the file */
    uint64_t next_seq;
    struct entry *entries;
    size_t n_entries, cap_entries;
    size_t *slots;  /* open addressing, SIZE_MAX = empty */
    size_t n_slots; /* power of two */
    size_t n_units; /* entries with a /units row or a record */
    int64_t n_rows[M_COUNT];
    size_t n_pending;
    struct run_entry *runs;
    size_t n_runs, cap_runs;
    struct asw_cat_run_row *run; /* the active run, or NULL */
    double last_ckpt_end, last_ckpt_s;
    struct asw_cat_stats stats;
    struct cat_srcs *srcs; /* what /sources is derived from */
    void *scratch;         /* rows being journaled */
    size_t scratch_cap;
};

static void cat_free(struct asw_cat *c);

void asw_cat_options_default(struct asw_cat_options *o)
{
    o->checkpoint_s = 60;
    o->journal_fsync = 1;
    o->pair_days = 14;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Index: unit id -> entry                                             */

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct entry *index_find(const struct asw_cat *c, const char *id)
{
    if (!c->n_slots)
        return NULL;
    size_t mask = c->n_slots - 1;
    for (size_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
        if (c->slots[i] == SIZE_MAX)
            return NULL;
        if (strcmp(c->entries[c->slots[i]].id, id) == 0)
            return &c->entries[c->slots[i]];
    }
}

static int index_grow(struct asw_cat *c)
{
    size_t n = c->n_slots ? c->n_slots * 2 : 256;
    size_t *slots = malloc(n * sizeof *slots);
    if (!slots)
        return ASW_ENOMEM;
    for (size_t i = 0; i < n; i++)
        slots[i] = SIZE_MAX;
    for (size_t e = 0; e < c->n_entries; e++) {
        size_t i = hash_id(c->entries[e].id) & (n - 1);
        while (slots[i] != SIZE_MAX)
            i = (i + 1) & (n - 1);
        slots[i] = e;
    }
    free(c->slots);
    c->slots = slots;
    c->n_slots = n;
    return 0;
}

/* The entry for id, added (no row, no record) if missing; or NULL. */
static struct entry *index_get(struct asw_cat *c, const char *id)
{
    struct entry *e = index_find(c, id);
    if (e)
        return e;
    if (2 * (c->n_entries + 1) > c->n_slots && index_grow(c) < 0)
        return NULL;
    if (c->n_entries == c->cap_entries) {
        size_t cap = c->cap_entries ? 2 * c->cap_entries : 256;
        struct entry *p = realloc(c->entries, cap * sizeof *p);
        if (!p)
            return NULL;
        c->entries = p;
        c->cap_entries = cap;
    }
    e = &c->entries[c->n_entries];
    memset(e, 0, sizeof *e);
    cat_setstr(e->id, sizeof e->id, id);
    e->unit_row = -1;
    e->status = -1;
    e->rec_off = NO_REC;
    e->n_files = e->bytes_total = -1;
    size_t mask = c->n_slots - 1, i = hash_id(id) & mask;
    while (c->slots[i] != SIZE_MAX)
        i = (i + 1) & mask;
    c->slots[i] = c->n_entries++;
    return e;
}

static struct run_entry *run_find(struct asw_cat *c, const char *id)
{
    for (size_t i = 0; i < c->n_runs; i++)
        if (strcmp(c->runs[i].run_id, id) == 0)
            return &c->runs[i];
    return NULL;
}

static struct run_entry *run_get(struct asw_cat *c, const char *id)
{
    struct run_entry *r = run_find(c, id);
    if (r)
        return r;
    if (c->n_runs == c->cap_runs) {
        size_t cap = c->cap_runs ? 2 * c->cap_runs : 16;
        struct run_entry *p = realloc(c->runs, cap * sizeof *p);
        if (!p)
            return NULL;
        c->runs = p;
        c->cap_runs = cap;
    }
    r = &c->runs[c->n_runs++];
    memset(r, 0, sizeof *r);
    cat_setstr(r->run_id, sizeof r->run_id, id);
    r->row = -1;
    r->rec_off = NO_REC;
    return r;
}

/* Bring entry e to the state of unit row u (from the file or a record). */
static void entry_set(struct asw_cat *c, struct entry *e,
                      const struct asw_cat_unit_row *u)
{
    const int64_t n[M_COUNT] = {u->n_images, u->n_seds, u->n_absorption,
                                u->n_spectra};
    if (e->unit_row < 0 && e->rec_off == NO_REC)
        c->n_units++;
    for (int m = 0; m < M_COUNT; m++) {
        c->n_rows[m] += n[m] - e->n[m];
        e->n[m] = n[m];
    }
    e->status = asw_status_parse(u->status);
    e->attempts = u->attempts;
    cat_setstr(e->kind, sizeof e->kind, u->kind);
    cat_setstr(e->project, sizeof e->project, u->project);
    cat_setstr(e->mous_uid, sizeof e->mous_uid, u->mous_uid);
    e->n_files = u->n_files;
    e->bytes_total = u->bytes_total;
    cat_setstr(e->updated_utc, sizeof e->updated_utc, u->updated_utc);
}

/* ------------------------------------------------------------------ */
/* Loading the file                                                    */

struct unit_key {
    char id[ASW_UID_MAX];
    char status[16];
    int32_t attempts;
    char kind[16];
    char project[ASW_NAME_MAX];
    char mous_uid[ASW_UID_MAX];
    int64_t n_files, bytes_total;
    int64_t n[M_COUNT];
    char updated_utc[24];
};

struct run_key {
    char run_id[CAT_RUN_ID_MAX];
    char status[16];
};

/* The index from /units (a projection: /images is never read here) and
 * the run ids from /runs. */
static int load_index(struct asw_cat *c, hid_t f, struct asw_err *err)
{
    static const char *const ukeys[] = {
        "id",           "status",    "attempts",    "kind",     "project",
        "mous_uid",     "n_files",   "bytes_total", "n_images", "n_seds",
        "n_absorption", "n_spectra", "updated_utc"};
    static const size_t uoffs[] = {offsetof(struct unit_key, id),
                                   offsetof(struct unit_key, status),
                                   offsetof(struct unit_key, attempts),
                                   offsetof(struct unit_key, kind),
                                   offsetof(struct unit_key, project),
                                   offsetof(struct unit_key, mous_uid),
                                   offsetof(struct unit_key, n_files),
                                   offsetof(struct unit_key, bytes_total),
                                   offsetof(struct unit_key, n[0]),
                                   offsetof(struct unit_key, n[1]),
                                   offsetof(struct unit_key, n[2]),
                                   offsetof(struct unit_key, n[3]),
                                   offsetof(struct unit_key, updated_utc)};
    static const char *const rkeys[] = {"run_id", "status"};
    static const size_t roffs[] = {offsetof(struct run_key, run_id),
                                   offsetof(struct run_key, status)};
    hid_t ut = cat_h5_projection(cat_tables[T_UNITS], ukeys, uoffs,
                                 NELEM(ukeys), sizeof(struct unit_key));
    hid_t rt = cat_h5_projection(cat_tables[T_RUNS], rkeys, roffs, 2,
                                 sizeof(struct run_key));
    hid_t ds = -1;
    struct unit_key *ub = malloc(CAT_IO_BLOCK_ROWS * sizeof *ub);
    void *rbuf = NULL;
    size_t nr = 0;
    hsize_t n = 0;
    int rc = 0;
    if (!ub) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    ds = cat_h5_open_table(f, cat_tables[T_UNITS]);
    if (ut < 0 || rt < 0 || ds < 0 || cat_h5_rows(ds, &n) < 0) {
        rc = cat_h5fail(err, "%s: open /units", c->path);
        goto out;
    }
    for (hsize_t r = 0; r < n; r += CAT_IO_BLOCK_ROWS) {
        hsize_t k = n - r < CAT_IO_BLOCK_ROWS ? n - r : CAT_IO_BLOCK_ROWS;
        if (cat_h5_rows_io(ds, ut, r, k, ub, 0) < 0) {
            rc = cat_h5fail(err, "%s: read /units", c->path);
            goto out;
        }
        for (hsize_t i = 0; i < k; i++) {
            struct unit_key *u = &ub[i];
            struct asw_cat_unit_row row;
            memset(&row, 0, sizeof row);
            memcpy(row.id, u->id, sizeof row.id);
            row.id[sizeof row.id - 1] = '\0';
            memcpy(row.status, u->status, sizeof row.status);
            row.status[sizeof row.status - 1] = '\0';
            row.attempts = u->attempts;
            cat_setstr(row.kind, sizeof row.kind, u->kind);
            cat_setstr(row.project, sizeof row.project, u->project);
            cat_setstr(row.mous_uid, sizeof row.mous_uid, u->mous_uid);
            cat_setstr(row.updated_utc, sizeof row.updated_utc, u->updated_utc);
            row.n_files = u->n_files;
            row.bytes_total = u->bytes_total;
            row.n_images = u->n[M_IMAGES];
            row.n_seds = u->n[M_SEDS];
            row.n_absorption = u->n[M_ABSORPTION];
            row.n_spectra = u->n[M_SPECTRA];
            struct entry *e = index_get(c, row.id);
            if (!e) {
                rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
                goto out;
            }
            if (e->unit_row >= 0) {
                rc = asw_err_set(err, ASW_EPARSE, CAT_MODULE,
                                 "%s: unit %s twice in /units (rows %lld and "
                                 "%llu)",
                                 c->path, e->id, (long long)e->unit_row,
                                 (unsigned long long)(r + i));
                goto out;
            }
            entry_set(c, e, &row);
            e->unit_row = (int64_t)(r + i);
            memcpy(e->file_n, e->n, sizeof e->n);
        }
    }
    rc = cat_read_all(f, c->path, cat_tables[T_RUNS], rt,
                      sizeof(struct run_key), &rbuf, &nr, err);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < nr; i++) {
        struct run_key *k = (struct run_key *)rbuf + i;
        k->run_id[sizeof k->run_id - 1] = '\0';
        k->status[sizeof k->status - 1] = '\0';
        if (run_find(c, k->run_id)) {
            rc = asw_err_set(err, ASW_EPARSE, CAT_MODULE,
                             "%s: run %s twice in /runs", c->path, k->run_id);
            goto out;
        }
        struct run_entry *re = run_get(c, k->run_id);
        if (!re) {
            rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
            goto out;
        }
        re->row = (int64_t)i;
        cat_setstr(re->status, sizeof re->status, k->status);
    }
out:
    free(rbuf);
    free(ub);
    cat_h5close(ds);
    cat_h5close(rt);
    cat_h5close(ut);
    return rc;
}

/* Open the file read-only and load what the writer needs from it. */
static int load_file(struct asw_cat *c, struct asw_err *err)
{
    hid_t f = -1;
    int64_t seq = 0;
    int rc = cat_open_ro(c->path, &f, err);
    if (rc < 0)
        return rc;
    if (cat_h5_get_str_attr(f, "catalogue_id", c->catalogue_id,
                            sizeof c->catalogue_id) < 0 ||
        !c->catalogue_id[0] ||
        cat_h5_get_int_attr(f, "journal_seq", &seq) < 0 || seq < 0) {
        rc = asw_err_set(err, ASW_EPARSE, CAT_MODULE,
                         "%s: root attributes catalogue_id / journal_seq "
                         "missing",
                         c->path);
        goto out;
    }
    c->file_seq = (uint64_t)seq;
    if (cat_h5_get_str_attr(f, "creator", c->creator, sizeof c->creator) < 0)
        cat_setstr(c->creator, sizeof c->creator, "");
    for (int t = 0; t < T_COUNT; t++) {
        htri_t has = H5Lexists(f, cat_tables[t]->name, H5P_DEFAULT);
        if (has <= 0) {
            rc = asw_err_set(err, ASW_EPARSE, CAT_MODULE,
                             "%s: table /%s missing", c->path,
                             cat_tables[t]->name);
            goto out;
        }
    }
    hid_t src = cat_h5_open_table(f, cat_tables[T_SOURCES]);
    if (src < 0 ||
        cat_h5_get_double_attr(src, "pair_days", &c->file_pair_days) < 0)
        c->file_pair_days = NAN;
    cat_h5close(src);
    H5Eclear2(H5E_DEFAULT);
    rc = load_index(c, f, err);
out:
    H5Fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int fsync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int rc = fsync_path(dirname(copy), 1);
    free(copy);
    return rc;
}

/* Copy src to a new file dst with src's permission bits. */
static int copy_file(const char *src, const char *dst)
{
    struct stat st;
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
    if (in < 0 || fstat(in, &st) < 0)
        goto out;
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0777);
    if (out < 0)
        goto out;
    off_t left = st.st_size;
    int fallback = 0;
    while (left > 0 && !fallback) {
        ssize_t k = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && left == st.st_size &&
            (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
             errno == EOPNOTSUPP))
            fallback = 1;
        else if (k <= 0)
            goto out;
        else
            left -= k;
    }
    if (fallback) {
        char buf[1 << 16];
        for (;;) {
            ssize_t k = read(in, buf, sizeof buf);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                goto out;
            if (k == 0)
                break;
            for (ssize_t w = 0; w < k;) {
                ssize_t x = write(out, buf + w, (size_t)(k - w));
                if (x < 0 && errno == EINTR)
                    continue;
                if (x < 0)
                    goto out;
                w += x;
            }
        }
    }
    rc = 0;
out:
    if (out >= 0 && close(out) < 0)
        rc = -1;
    if (in >= 0)
        close(in);
    return rc;
}

/*
 * Replace path by the complete file tmp: fsync it, rename, fsync the
 * directory. Fails only before the rename: once renamed, the file is the
 * catalogue (a failed directory fsync only weakens durability against a
 * crash of the node, where the old file and the journal remain).
 */
static int commit_file(const char *tmp, const char *path)
{
    if (fsync_path(tmp, 0) < 0)
        return -1;
    cat_crash_point("ckpt-synced");
    if (rename(tmp, path) < 0)
        return -1;
    cat_crash_point("ckpt-renamed");
    (void)fsync_dir_of(path);
    return 0;
}

/*
 * Is there room for a checkpoint: a copy of the file plus the rows of the
 * journal (uncompressed: an upper bound) plus 4 MiB? HDF5 1.10 handles a
 * full disk badly (it can crash in H5Fclose), so it is never started on a
 * disk that cannot take the result. 0, or -1 with errno ENOSPC.
 */
static int room_for_checkpoint(const struct asw_cat *c)
{
    struct stat st;
    struct statvfs vfs;
    char *copy = strdup(c->path);
    if (!copy)
        return 0;
    int rc = statvfs(dirname(copy), &vfs);
    free(copy);
    if (rc != 0 || stat(c->path, &st) != 0)
        return 0; /* cannot tell: let the writes say */
    unsigned long long need =
        (unsigned long long)st.st_size + cat_journal_bytes(c->j) + (4ull << 20);
    unsigned long long have =
        (unsigned long long)vfs.f_bavail * (unsigned long long)vfs.f_frsize;
    if (have >= need)
        return 0;
    errno = ENOSPC;
    return -1;
}

static void new_catalogue_id(char *buf, size_t n)
{
    unsigned char r[16];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t k = getrandom(r + got, sizeof r - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    if (got < sizeof r) { /* no entropy source: time and pid */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t a = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        uint64_t b = (uint64_t)getpid() * 2654435761u ^ a;
        memcpy(r, &a, 8);
        memcpy(r + 8, &b, 8);
    }
    for (size_t i = 0; i < sizeof r && 2 * i + 2 < n; i++)
        snprintf(buf + 2 * i, 3, "%02x", r[i]);
}

/* Create the file: every table empty, the root attributes; written as tmp
 * and renamed into place like any checkpoint. */
static int create_file(struct asw_cat *c, struct asw_err *err)
{
    hid_t f = -1;
    int rc = 0;
    char now[24];
    new_catalogue_id(c->catalogue_id, sizeof c->catalogue_id);
    cat_setstr(c->creator, sizeof c->creator, "almasweep " ASW_VERSION);
    cat_utc_now(now, sizeof now);
    unlink(c->tmp_path);
    f = H5Fcreate(c->tmp_path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0 ||
        cat_h5_set_int_attr(f, "schema_version", ASW_CAT_SCHEMA_VERSION) < 0 ||
        cat_h5_set_str_attr(f, "creator", c->creator) < 0 ||
        cat_h5_set_str_attr(f, "catalogue_id", c->catalogue_id) < 0 ||
        cat_h5_set_int_attr(f, "journal_seq", 0) < 0 ||
        cat_h5_set_str_attr(f, "created_utc", now) < 0 ||
        cat_h5_set_str_attr(f, "updated_utc", now) < 0) {
        rc = cat_h5fail(err, "%s: create", c->path);
        goto out;
    }
    for (int t = 0; t < T_COUNT; t++) {
        hid_t ds = cat_h5_create_table(f, cat_tables[t], err);
        if (ds < 0) {
            rc = ASW_EHDF5;
            goto out;
        }
        if (t == T_SOURCES &&
            cat_h5_set_double_attr(ds, "pair_days", c->opt.pair_days) < 0) {
            cat_h5close(ds);
            rc = cat_h5fail(err, "%s: create", c->path);
            goto out;
        }
        if (H5Dclose(ds) < 0) {
            rc = cat_h5fail(err, "%s: create", c->path);
            goto out;
        }
    }
    c->file_pair_days = c->opt.pair_days;
    if (H5Fclose(f) < 0) {
        f = -1;
        rc = cat_h5fail(err, "%s: close", c->path);
        goto out;
    }
    f = -1;
    if (commit_file(c->tmp_path, c->path) < 0)
        rc = asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: %s", c->path,
                         strerror(errno));
out:
    cat_h5close(f);
    if (rc < 0)
        unlink(c->tmp_path);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Journal records                                                     */

/* Check a REC_RESULT payload's sizes; the parts' pointers into it. */
struct rec_view {
    const struct cat_rec_result *hdr;
    const void *rows[M_COUNT];
    const struct asw_cat_channel_row *channels;
};

static int view_result(const void *payload, uint64_t len, struct rec_view *v)
{
    const char *p = payload;
    uint64_t need = sizeof(struct cat_rec_result);
    if (len < need)
        return -1;
    v->hdr = payload;
    for (int m = 0; m < M_COUNT; m++) {
        uint64_t n = v->hdr->n_rows[m],
                 size = cat_tables[cat_mtable[m]]->rowsize;
        if (n > len / size)
            return -1;
        v->rows[m] = p + need;
        need += n * size;
        if (need > len)
            return -1;
    }
    if (v->hdr->n_channels > len / sizeof(struct asw_cat_channel_row))
        return -1;
    v->channels = (const void *)(p + need);
    need += v->hdr->n_channels * sizeof(struct asw_cat_channel_row);
    if (need != len || !memchr(v->hdr->unit.id, '\0', sizeof v->hdr->unit.id))
        return -1;
    /* Spectra: channels concatenated in row order. */
    const struct asw_cat_spectrum_row *sp = v->rows[M_SPECTRA];
    uint64_t off = 0;
    for (uint64_t i = 0; i < v->hdr->n_rows[M_SPECTRA]; i++) {
        if (sp[i].n_chan < 0 || (uint64_t)sp[i].chan_offset != off)
            return -1;
        off += (uint64_t)sp[i].n_chan;
    }
    return off == v->hdr->n_channels ? 0 : -1;
}

struct scan_state {
    struct asw_cat *c;
    uint64_t last_seq;
    size_t applied;
    struct asw_err *err;
};

static int scan_cb(void *ud, const struct cat_rec_hdr *h, uint64_t off,
                   const void *payload)
{
    struct scan_state *s = ud;
    struct asw_cat *c = s->c;
    if (h->seq > s->last_seq)
        s->last_seq = h->seq;
    if (h->seq <= c->file_seq)
        return 0; /* already in the file (killed before the reset) */
    if (h->type == REC_RESULT) {
        struct rec_view v;
        if (view_result(payload, h->len, &v) < 0)
            return asw_err_set(s->err, ASW_EPARSE, CAT_MODULE,
                               "journal record %llu malformed",
                               (unsigned long long)h->seq);
        struct entry *e = index_get(c, v.hdr->unit.id);
        if (!e)
            return asw_err_set(s->err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        entry_set(c, e, &v.hdr->unit);
        if (e->rec_off == NO_REC) {
            c->n_pending++;
            e->first_seq = h->seq;
        }
        e->rec_off = off;
        e->rec_seq = h->seq;
    } else if (h->type == REC_RUN) {
        const struct asw_cat_run_row *r = payload;
        if (h->len != sizeof *r || !memchr(r->run_id, '\0', sizeof r->run_id))
            return asw_err_set(s->err, ASW_EPARSE, CAT_MODULE,
                               "journal record %llu malformed",
                               (unsigned long long)h->seq);
        struct run_entry *re = run_get(c, r->run_id);
        if (!re)
            return asw_err_set(s->err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        if (re->rec_off == NO_REC)
            c->n_pending++;
        re->rec_off = off;
        re->rec_seq = h->seq;
        cat_setstr(re->status, sizeof re->status, r->status);
    }
    s->applied++;
    return 0;
}

/* Journal a run row and note it in the index. */
static int journal_run(struct asw_cat *c, const struct asw_cat_run_row *row,
                       struct asw_err *err)
{
    const void *parts[1] = {row};
    size_t sizes[1] = {sizeof *row};
    uint64_t off;
    int rc = cat_journal_append(c->j, REC_RUN, c->next_seq, parts, sizes, 1,
                                c->opt.journal_fsync, &off, err);
    if (rc < 0)
        return rc;
    struct run_entry *re = run_get(c, row->run_id);
    if (!re)
        return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    if (re->rec_off == NO_REC)
        c->n_pending++;
    re->rec_off = off;
    re->rec_seq = c->next_seq++;
    cat_setstr(re->status, sizeof re->status, row->status);
    return 0;
}

/* The full row of run re: its pending record, else the file's row. */
static int read_run(struct asw_cat *c, const struct run_entry *re,
                    struct asw_cat_run_row *row, struct asw_err *err)
{
    if (re->rec_off != NO_REC) {
        struct cat_rec_hdr h;
        void *p = NULL;
        int rc = cat_journal_read(c->j, re->rec_off, &h, &p, err);
        if (rc < 0)
            return rc;
        memcpy(row, p, sizeof *row);
        free(p);
        return 0;
    }
    hid_t f = -1, ds = -1, mt = -1;
    int rc = cat_open_ro(c->path, &f, err);
    if (rc < 0)
        return rc;
    ds = cat_h5_open_table(f, cat_tables[T_RUNS]);
    mt = cat_h5_type(cat_tables[T_RUNS], 0);
    if (ds < 0 || mt < 0 || cat_h5_rows_io(ds, mt, (hsize_t)re->row, 1, row, 0))
        rc = cat_h5fail(err, "%s: read /runs", c->path);
    cat_h5close(mt);
    cat_h5close(ds);
    H5Fclose(f);
    cat_tidy_row(cat_tables[T_RUNS], row);
    return rc;
}

/* Runs left "running" belong to a writer that died: we hold the lock. */
static int mark_dead_runs(struct asw_cat *c, struct asw_err *err)
{
    struct asw_cat_run_row *row = malloc(sizeof *row);
    int rc = 0;
    if (!row)
        return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    for (size_t i = 0; i < c->n_runs && rc == 0; i++) {
        if (strcmp(c->runs[i].status, "running") != 0)
            continue;
        if ((rc = read_run(c, &c->runs[i], row, err)) < 0)
            break;
        cat_setstr(row->status, sizeof row->status, "interrupted");
        rc = journal_run(c, row, err);
    }
    free(row);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Open and close                                                      */

int asw_cat_open(const char *path, int create_if_missing, struct asw_cat **out,
                 struct asw_err *err)
{
    struct asw_cat *c = NULL;
    struct stat st;
    int rc = 0, stale = 0;
    if (!out || !path || !path[0])
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no catalogue path");
    *out = NULL;
    cat_h5_quiet();
    cat_crash_arm();
    c = calloc(1, sizeof *c);
    if (!c)
        return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    asw_cat_options_default(&c->opt);
    c->path = strdup(path);
    c->jpath = cat_journal_path(path);
    c->tmp_path = malloc(strlen(path) + sizeof ".ckpt");
    if (!c->path || !c->jpath || !c->tmp_path) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    sprintf(c->tmp_path, "%s.ckpt", path);

    if (stat(path, &st) != 0 && errno != ENOENT) {
        rc = asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: %s", path,
                         strerror(errno));
        goto out;
    }
    /* Not a catalogue at all (a text file, say): say so before touching
     * anything next to it. */
    if (stat(path, &st) == 0) {
        hid_t f;
        if ((rc = cat_open_ro(path, &f, err)) < 0)
            goto out;
        H5Fclose(f);
    } else if (!create_if_missing) {
        rc = asw_err_set(err, ASW_ENOTFOUND, CAT_MODULE,
                         "%s: no such catalogue", path);
        goto out;
    }
    if ((rc = cat_journal_open(c->jpath, &c->j, err)) < 0)
        goto out;
    /* We hold the lock: a checkpoint copy left by a dead writer is junk. */
    unlink(c->tmp_path);
    if (stat(path, &st) == 0) {
        if ((rc = load_file(c, err)) < 0)
            goto out;
    } else if (!create_if_missing) {
        rc = asw_err_set(err, ASW_ENOTFOUND, CAT_MODULE,
                         "%s: no such catalogue", path);
        goto out;
    } else if ((rc = create_file(c, err)) < 0) {
        goto out;
    }
    if ((rc = cat_journal_adopt(c->j, c->catalogue_id, &stale, err)) < 0)
        goto out;
    struct scan_state s = {c, c->file_seq, 0, err};
    uint64_t torn = 0;
    if ((rc = cat_journal_scan(c->j, scan_cb, &s, &torn, err)) < 0)
        goto out;
    c->next_seq = s.last_seq + 1;
    c->stats.torn_bytes = torn;
    c->stats.stale_journal = stale;
    cat_crash_point("open-scanned");
    if ((rc = mark_dead_runs(c, err)) < 0)
        goto out;
    c->last_ckpt_end = mono_now();
out:
    if (rc < 0) {
        cat_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int asw_cat_set_options(struct asw_cat *c, const struct asw_cat_options *o,
                        struct asw_err *err)
{
    if (!c || !o || !(o->checkpoint_s >= 0) || !(o->pair_days >= 0))
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "bad options");
    c->opt = *o;
    if (!(c->file_pair_days == o->pair_days))
        c->meta_dirty = 1; /* derive /sources with the new window */
    return 0;
}

int asw_cat_set_creator(struct asw_cat *c, const char *creator,
                        struct asw_err *err)
{
    if (!c || !creator)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no creator");
    cat_setstr(c->creator, sizeof c->creator, creator);
    c->meta_dirty = 1;
    return 0;
}

/* Free the handle; an empty journal is removed (nothing is lost). */
static void cat_free(struct asw_cat *c)
{
    if (!c)
        return;
    cat_journal_close(c->j, 1);
    cat_srcs_free(c->srcs);
    free(c->scratch);
    free(c->run);
    free(c->runs);
    free(c->slots);
    free(c->entries);
    free(c->tmp_path);
    free(c->jpath);
    free(c->path);
    free(c);
}

int asw_cat_close(struct asw_cat *c, struct asw_err *err)
{
    int rc = 0;
    if (!c)
        return 0;
    if (c->j && (c->n_pending || c->meta_dirty))
        rc = asw_cat_checkpoint(c, err);
    cat_free(c);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Checkpoint                                                          */

struct ckpt {
    struct asw_cat *c;
    double t_sources; /* seconds spent deriving /sources */
    size_t appended;  /* measurement rows appended */
    hid_t f;
    hid_t ds[T_COUNT], mt[T_COUNT];
    hsize_t rows[T_COUNT];
    char *stage[T_COUNT]; /* rows waiting for one H5Dwrite */
    size_t staged[T_COUNT];
    struct asw_err *err;
};

static int stage_flush(struct ckpt *k, int t)
{
    if (!k->staged[t])
        return 0;
    if (cat_h5_append(k->ds[t], k->mt[t], &k->rows[t], k->stage[t],
                      k->staged[t]) < 0)
        return cat_h5fail(k->err, "%s: append /%s", k->c->path,
                          cat_tables[t]->name);
    k->staged[t] = 0;
    return 0;
}

/* Queue n rows of table t for appending. */
static int stage(struct ckpt *k, int t, const void *rows, size_t n)
{
    size_t size = cat_tables[t]->rowsize;
    if (t != T_CHANNELS)
        k->appended += n;
    const char *p = rows;
    if (!k->stage[t] && !(k->stage[t] = malloc(STAGE_ROWS * size)))
        return asw_err_set(k->err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    while (n) {
        size_t room = STAGE_ROWS - k->staged[t], take = n < room ? n : room;
        memcpy(k->stage[t] + k->staged[t] * size, p, take * size);
        k->staged[t] += take;
        p += take * size;
        n -= take;
        if (k->staged[t] == STAGE_ROWS) {
            int rc = stage_flush(k, t);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Is row (of table t) one whose unit's old rows are being removed? */
static int doomed(const struct asw_cat *c, int m, const char *unit_id)
{
    const struct entry *e = index_find(c, unit_id);
    return e && (e->rm >> m & 1);
}

/*
 * Remove the rows of the doomed units from measurement table m by moving
 * the rows after them down (order kept), then shrinking the table. Rows
 * only move towards the start, so a block is read before it is written.
 */
static int compact(struct ckpt *k, int m)
{
    int t = cat_mtable[m];
    const struct asw_schema *s = cat_tables[t];
    size_t uid = cat_find_col(s, "unit_id")->offset;
    char *buf = malloc(CAT_IO_BLOCK_ROWS * s->rowsize);
    hsize_t w = 0, n = k->rows[t];
    if (!buf)
        return asw_err_set(k->err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    for (hsize_t r = 0; r < n; r += CAT_IO_BLOCK_ROWS) {
        hsize_t cnt = n - r < CAT_IO_BLOCK_ROWS ? n - r : CAT_IO_BLOCK_ROWS;
        hsize_t kept = 0;
        if (cat_h5_rows_io(k->ds[t], k->mt[t], r, cnt, buf, 0) < 0)
            goto fail;
        for (hsize_t i = 0; i < cnt; i++) {
            char *row = buf + i * s->rowsize;
            row[uid + ASW_UID_MAX - 1] = '\0';
            if (doomed(k->c, m, row + uid))
                continue;
            if (kept != i)
                memcpy(buf + kept * s->rowsize, row, s->rowsize);
            kept++;
        }
        if (w + kept != r + cnt &&
            cat_h5_rows_io(k->ds[t], k->mt[t], w, kept, buf, 1) < 0)
            goto fail;
        w += kept;
    }
    if (H5Dset_extent(k->ds[t], &w) < 0)
        goto fail;
    k->rows[t] = w;
    free(buf);
    return 0;
fail:
    free(buf);
    return cat_h5fail(k->err, "%s: compact /%s", k->c->path, s->name);
}

/* /spectra and its channels: the channels are concatenated in row order
 * (chan_offset = sum of the n_chan before), which compaction keeps. */
static int compact_spectra(struct ckpt *k)
{
    struct asw_cat_spectrum_row *buf = malloc(CAT_IO_BLOCK_ROWS * sizeof *buf);
    struct asw_cat_channel_row *cb = malloc(CAT_IO_BLOCK_ROWS * sizeof *cb);
    int64_t *seg = NULL; /* n_chan of every row, negative when removed */
    hsize_t n = k->rows[T_SPECTRA], w = 0, wc = 0;
    int64_t off = 0;
    int rc = 0;
    if (!buf || !cb || !(seg = malloc((n ? n : 1) * sizeof *seg))) {
        rc = asw_err_set(k->err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    for (hsize_t r = 0; r < n; r += CAT_IO_BLOCK_ROWS) {
        hsize_t cnt = n - r < CAT_IO_BLOCK_ROWS ? n - r : CAT_IO_BLOCK_ROWS;
        hsize_t kept = 0;
        if (cat_h5_rows_io(k->ds[T_SPECTRA], k->mt[T_SPECTRA], r, cnt, buf, 0) <
            0)
            goto h5;
        for (hsize_t i = 0; i < cnt; i++) {
            buf[i].unit_id[ASW_UID_MAX - 1] = '\0';
            int gone = doomed(k->c, M_SPECTRA, buf[i].unit_id);
            seg[r + i] = gone ? -1 - buf[i].n_chan : buf[i].n_chan;
            if (gone)
                continue;
            buf[kept] = buf[i];
            buf[kept].chan_offset = off;
            off += buf[i].n_chan;
            kept++;
        }
        if (cat_h5_rows_io(k->ds[T_SPECTRA], k->mt[T_SPECTRA], w, kept, buf,
                           1) < 0)
            goto h5;
        w += kept;
    }
    if (H5Dset_extent(k->ds[T_SPECTRA], &w) < 0)
        goto h5;
    k->rows[T_SPECTRA] = w;
    /* Channels: walk the segments in order, keeping the kept ones. */
    hsize_t nc = k->rows[T_CHANNELS], s = 0;
    int64_t left = n ? seg[0] : 0;
    for (hsize_t r = 0; r < nc; r += CAT_IO_BLOCK_ROWS) {
        hsize_t cnt = nc - r < CAT_IO_BLOCK_ROWS ? nc - r : CAT_IO_BLOCK_ROWS;
        hsize_t kept = 0;
        if (cat_h5_rows_io(k->ds[T_CHANNELS], k->mt[T_CHANNELS], r, cnt, cb,
                           0) < 0)
            goto h5;
        for (hsize_t i = 0; i < cnt; i++) {
            while (s < n && (left == 0 || left == -1)) {
                s++;
                left = s < n ? seg[s] : 0;
            }
            if (s >= n) {
                rc = asw_err_set(k->err, ASW_EPARSE, CAT_MODULE,
                                 "%s: /spectra_channels longer than "
                                 "/spectra says",
                                 k->c->path);
                goto out;
            }
            if (left > 0) {
                cb[kept++] = cb[i];
                left--;
            } else {
                left++;
            }
        }
        if (wc + kept != r + cnt &&
            cat_h5_rows_io(k->ds[T_CHANNELS], k->mt[T_CHANNELS], wc, kept, cb,
                           1) < 0)
            goto h5;
        wc += kept;
    }
    if (H5Dset_extent(k->ds[T_CHANNELS], &wc) < 0)
        goto h5;
    k->rows[T_CHANNELS] = wc;
    goto out;
h5:
    rc = cat_h5fail(k->err, "%s: compact /spectra", k->c->path);
out:
    free(seg);
    free(cb);
    free(buf);
    return rc;
}

/* Units in the order they first appeared since the last checkpoint. */
static int by_first_seq(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a;
    const struct entry *y = *(struct entry *const *)b;
    return (x->first_seq > y->first_seq) - (x->first_seq < y->first_seq);
}

/* A /units row to rewrite in place. */
struct unit_update {
    int64_t row;
    struct asw_cat_unit_row unit;
};

static int by_row(const void *a, const void *b)
{
    const struct unit_update *x = a, *y = b;
    return (x->row > y->row) - (x->row < y->row);
}

/* Apply one unit's latest record: stage its rows, queue its /units row
 * (a new one in urows, a rewrite in ups). */
static int apply_result(struct ckpt *k, struct entry *e,
                        struct asw_cat_unit_row *urows, size_t *n_new,
                        struct unit_update *ups, size_t *n_ups)
{
    struct cat_rec_hdr h;
    void *p = NULL;
    struct rec_view v;
    int rc = cat_journal_read(k->c->j, e->rec_off, &h, &p, k->err);
    if (rc < 0)
        return rc;
    if (h.type != REC_RESULT || view_result(p, h.len, &v) < 0) {
        free(p);
        return asw_err_set(k->err, ASW_EPARSE, CAT_MODULE,
                           "journal record %llu malformed",
                           (unsigned long long)h.seq);
    }
    for (int m = 0; m < M_COUNT && rc == 0; m++) {
        int t = cat_mtable[m];
        if (m == M_SPECTRA) {
            /* Offsets relative to the record become absolute. */
            const struct asw_cat_spectrum_row *sp = v.rows[m];
            int64_t base =
                (int64_t)(k->rows[T_CHANNELS] + k->staged[T_CHANNELS]);
            for (uint64_t i = 0; i < v.hdr->n_rows[m] && rc == 0; i++) {
                struct asw_cat_spectrum_row row = sp[i];
                row.chan_offset += base;
                rc = stage(k, t, &row, 1);
            }
            if (rc == 0)
                rc = stage(k, T_CHANNELS, v.channels, v.hdr->n_channels);
        } else {
            rc = stage(k, t, v.rows[m], v.hdr->n_rows[m]);
            if (rc == 0 && m == M_IMAGES)
                rc = cat_srcs_add(k->c->srcs, v.rows[m], v.hdr->n_rows[m],
                                  k->err);
        }
    }
    if (rc == 0) {
        if (e->unit_row >= 0) {
            ups[*n_ups].row = e->unit_row;
            ups[(*n_ups)++].unit = v.hdr->unit;
        } else {
            e->new_row = (int64_t)(k->rows[T_UNITS] + *n_new);
            urows[(*n_new)++] = v.hdr->unit;
        }
    }
    free(p);
    return rc;
}

static int apply_runs(struct ckpt *k)
{
    struct asw_cat *c = k->c;
    struct asw_cat_run_row *row = malloc(sizeof *row);
    int rc = 0;
    if (!row)
        return asw_err_set(k->err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    for (size_t i = 0; i < c->n_runs && rc == 0; i++) {
        struct run_entry *re = &c->runs[i];
        re->new_row = re->row;
        if (re->rec_off == NO_REC)
            continue;
        if ((rc = read_run(c, re, row, k->err)) < 0)
            break;
        if (re->row < 0) {
            re->new_row = (int64_t)k->rows[T_RUNS];
            if (cat_h5_append(k->ds[T_RUNS], k->mt[T_RUNS], &k->rows[T_RUNS],
                              row, 1) < 0)
                rc = cat_h5fail(k->err, "%s: append /runs", c->path);
        } else if (cat_h5_rows_io(k->ds[T_RUNS], k->mt[T_RUNS],
                                  (hsize_t)re->row, 1, row, 1) < 0) {
            rc = cat_h5fail(k->err, "%s: write /runs", c->path);
        }
    }
    free(row);
    return rc;
}

/* For cat_srcs_begin: are unit_id's /images rows being replaced? */
static int images_doomed(void *ud, const char *unit_id)
{
    return doomed(ud, M_IMAGES, unit_id);
}

/* Everything between opening the copy and closing it. */
static int apply_all(struct ckpt *k, struct entry **order, size_t n_order)
{
    struct asw_cat *c = k->c;
    struct asw_cat_unit_row *urows = NULL;
    struct unit_update *ups = NULL;
    size_t n_new = 0, n_ups = 0;
    int rc = 0;
    /* Which tables lose old rows of units redone since the file. */
    unsigned any = 0;
    for (size_t i = 0; i < n_order; i++) {
        struct entry *e = order[i];
        e->rm = 0;
        for (int m = 0; m < M_COUNT; m++)
            if (e->file_n[m] > 0)
                e->rm |= 1u << m;
        any |= e->rm;
    }
    if (!c->srcs && !(c->srcs = cat_srcs_new())) {
        rc = asw_err_set(k->err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    if ((rc = cat_srcs_begin(c->srcs, images_doomed, c, k->err)) < 0)
        goto out;
    for (int m = 0; m < M_COUNT && rc == 0; m++)
        if (any >> m & 1)
            rc = m == M_SPECTRA ? compact_spectra(k) : compact(k, m);
    if (rc < 0)
        goto out;
    cat_crash_point("ckpt-compacted");
    urows = malloc((n_order ? n_order : 1) * sizeof *urows);
    ups = malloc((n_order ? n_order : 1) * sizeof *ups);
    if (!urows || !ups) {
        rc = asw_err_set(k->err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_order && rc == 0; i++)
        rc = apply_result(k, order[i], urows, &n_new, ups, &n_ups);
    for (int t = 0; t < T_COUNT && rc == 0; t++)
        rc = stage_flush(k, t);
    if (rc < 0)
        goto out;
    /* Rewrites in row order, consecutive rows in one write: each chunk of
     * /units is then decompressed and compressed once, whatever the order
     * in which the units came back. */
    if (n_ups > 1)
        qsort(ups, n_ups, sizeof *ups, by_row);
    for (size_t i = 0, j; i < n_ups; i = j) {
        for (j = i + 1; j < n_ups && ups[j].row == ups[j - 1].row + 1; j++)
            ;
        for (size_t q = i; q < j; q++)
            urows[n_new + (q - i)] = ups[q].unit; /* scratch after the new */
        if (cat_h5_rows_io(k->ds[T_UNITS], k->mt[T_UNITS], (hsize_t)ups[i].row,
                           j - i, urows + n_new, 1) < 0) {
            rc = cat_h5fail(k->err, "%s: write /units", c->path);
            goto out;
        }
    }
    if (cat_h5_append(k->ds[T_UNITS], k->mt[T_UNITS], &k->rows[T_UNITS], urows,
                      n_new) < 0) {
        rc = cat_h5fail(k->err, "%s: append /units", c->path);
        goto out;
    }
    cat_crash_point("ckpt-appended");
    if ((rc = apply_runs(k)) < 0)
        goto out;
    double t0 = mono_now();
    if ((rc = cat_srcs_write(c->srcs, k->f, c->path, c->opt.pair_days,
                             k->err)) < 0)
        goto out;
    k->t_sources = mono_now() - t0;
    char now[24];
    cat_utc_now(now, sizeof now);
    if (cat_h5_set_int_attr(k->f, "journal_seq", (int64_t)(c->next_seq - 1)) <
            0 ||
        cat_h5_set_str_attr(k->f, "updated_utc", now) < 0 ||
        (c->meta_dirty && c->creator[0] &&
         cat_h5_set_str_attr(k->f, "creator", c->creator) < 0))
        rc = cat_h5fail(k->err, "%s: write attributes", c->path);
out:
    free(ups);
    free(urows);
    return rc;
}

int asw_cat_checkpoint(struct asw_cat *c, struct asw_err *err)
{
    if (!c || !c->j)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no catalogue");
    if (!c->n_pending && !c->meta_dirty)
        return 0;
    double t0 = mono_now();
    struct ckpt k;
    struct entry **order = NULL;
    size_t n_order = 0;
    int rc = 0, committed = 0;
    memset(&k, 0, sizeof k);
    k.c = c;
    k.err = err;
    k.f = -1;
    for (int t = 0; t < T_COUNT; t++)
        k.ds[t] = k.mt[t] = -1;
    cat_h5_quiet();

    order = malloc((c->n_entries ? c->n_entries : 1) * sizeof *order);
    if (!order) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c->n_entries; i++)
        if (c->entries[i].rec_off != NO_REC)
            order[n_order++] = &c->entries[i];
    if (n_order > 1)
        qsort(order, n_order, sizeof *order, by_first_seq);

    cat_crash_point("ckpt-start");
    unlink(c->tmp_path);
    if (room_for_checkpoint(c) < 0) {
        rc = asw_err_set(err, ASW_ENOSPC, CAT_MODULE,
                         "%s: no room for a checkpoint (a copy of the file "
                         "and the journal); the results are kept in the "
                         "journal",
                         c->path);
        goto out;
    }
    if (copy_file(c->path, c->tmp_path) < 0) {
        rc = asw_err_set(err, errno == ENOSPC ? ASW_ENOSPC : ASW_EIO,
                         CAT_MODULE, "%s: copy to %s: %s", c->path, c->tmp_path,
                         strerror(errno));
        goto out;
    }
    cat_crash_point("ckpt-copied");
    double t_copied = mono_now();
    k.f = H5Fopen(c->tmp_path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (k.f < 0) {
        rc = cat_h5fail(err, "%s: open", c->tmp_path);
        goto out;
    }
    for (int t = 0; t < T_COUNT; t++) {
        k.ds[t] = cat_h5_open_table(k.f, cat_tables[t]);
        k.mt[t] = cat_h5_type(cat_tables[t], 0);
        if (k.ds[t] < 0 || k.mt[t] < 0 ||
            cat_h5_rows(k.ds[t], &k.rows[t]) < 0) {
            rc = cat_h5fail(err, "%s: open /%s", c->tmp_path,
                            cat_tables[t]->name);
            goto out;
        }
    }
    if ((rc = apply_all(&k, order, n_order)) < 0)
        goto out;
    double t_applied = mono_now();
    /* HDF5 writes cached chunks when a dataset is closed and reports a
     * failed write (a full disk) there, not in H5Fclose: every close is
     * checked, or a file with missing rows could be committed. */
    herr_t closed = H5Fflush(k.f, H5F_SCOPE_LOCAL);
    for (int t = 0; t < T_COUNT; t++) {
        if (H5Dclose(k.ds[t]) < 0)
            closed = -1;
        k.ds[t] = -1;
    }
    if (H5Fclose(k.f) < 0)
        closed = -1;
    k.f = -1;
    if (closed < 0) {
        rc = cat_h5fail(err, "%s: write", c->tmp_path);
        goto out;
    }
    cat_crash_point("ckpt-closed");
    if (commit_file(c->tmp_path, c->path) < 0) {
        rc = asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: replace: %s", c->path,
                         strerror(errno));
        /* Renamed or not, the path holds a complete file; if the rename
         * happened, journal_seq makes the next open skip what it holds. */
        goto out;
    }
    /* The file now holds everything: bring the index to it. */
    committed = 1;
    for (size_t i = 0; i < n_order; i++) {
        struct entry *e = order[i];
        if (e->unit_row < 0)
            e->unit_row = e->new_row;
        memcpy(e->file_n, e->n, sizeof e->n);
        e->rec_off = NO_REC;
        e->rm = 0;
    }
    for (size_t i = 0; i < c->n_runs; i++) {
        c->runs[i].row = c->runs[i].new_row;
        c->runs[i].rec_off = NO_REC;
    }
    c->n_pending = 0;
    c->meta_dirty = 0;
    c->file_pair_days = c->opt.pair_days;
    c->file_seq = c->next_seq - 1;
    rc = cat_journal_reset(c->j, c->opt.journal_fsync, err);
    double t_end = mono_now();
    c->stats.checkpoints++;
    c->stats.last_checkpoint_s = t_end - t0;
    c->stats.last_copy_s = t_copied - t0;
    c->stats.last_apply_s = t_applied - t_copied - k.t_sources;
    c->stats.last_sources_s = k.t_sources;
    c->stats.last_commit_s = t_end - t_applied;
    c->stats.last_rows = k.appended;
    cat_crash_point("ckpt-done");
out:
    for (int t = 0; t < T_COUNT; t++) {
        cat_h5close(k.ds[t]);
        cat_h5close(k.mt[t]);
        free(k.stage[t]);
    }
    if (k.f >= 0)
        H5Fclose(k.f);
    if (rc < 0)
        unlink(c->tmp_path);
    for (size_t i = 0; i < n_order && rc < 0; i++)
        order[i]->rm = 0;
    if (c->srcs)
        cat_srcs_commit(c->srcs, committed);
    free(order);
    c->last_ckpt_end = mono_now();
    c->last_ckpt_s = c->last_ckpt_end - t0;
    return rc;
}

/* After a record: checkpoint when the options say it is time. */
static int maybe_checkpoint(struct asw_cat *c, struct asw_err *err)
{
    double since = mono_now() - c->last_ckpt_end;
    double wait = c->opt.checkpoint_s;
    if (wait > 0 && 20 * c->last_ckpt_s > wait)
        wait = 20 * c->last_ckpt_s;
    if (c->opt.checkpoint_s == 0 || since >= wait ||
        cat_journal_bytes(c->j) > JOURNAL_CKPT_MAX)
        return asw_cat_checkpoint(c, err);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Storing results                                                     */

/* Journal unit row ur (counts filled here) with its rows, then index it. */
static int put_rows(struct asw_cat *c, struct asw_cat_unit_row *ur,
                    const void *const rows[M_COUNT], const size_t n[M_COUNT],
                    const struct asw_cat_channel_row *ch, size_t n_ch,
                    struct asw_err *err)
{
    struct cat_rec_result hdr;
    const void *parts[6];
    size_t sizes[6];
    uint64_t off;
    struct entry *e = index_get(c, ur->id);
    if (!e)
        return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    ur->n_images = (int64_t)n[M_IMAGES];
    ur->n_seds = (int64_t)n[M_SEDS];
    ur->n_absorption = (int64_t)n[M_ABSORPTION];
    ur->n_spectra = (int64_t)n[M_SPECTRA];
    cat_tidy_row(cat_tables[T_UNITS], ur);
    memset(&hdr, 0, sizeof hdr);
    hdr.unit = *ur;
    for (int m = 0; m < M_COUNT; m++) {
        hdr.n_rows[m] = n[m];
        parts[1 + m] = rows[m];
        sizes[1 + m] = n[m] * cat_tables[cat_mtable[m]]->rowsize;
    }
    hdr.n_channels = n_ch;
    parts[0] = &hdr;
    sizes[0] = sizeof hdr;
    parts[5] = ch;
    sizes[5] = n_ch * sizeof *ch;
    int rc = cat_journal_append(c->j, REC_RESULT, c->next_seq, parts, sizes, 6,
                                c->opt.journal_fsync, &off, err);
    if (rc < 0)
        return rc;
    if (e->rec_off == NO_REC) {
        c->n_pending++;
        e->first_seq = c->next_seq;
    }
    entry_set(c, e, ur);
    e->rec_off = off;
    e->rec_seq = c->next_seq++;
    cat_crash_point("put-acked");
    return 0;
}

/* Reject a result before anything is written. */
static int check_result(const struct asw_result *r, const struct asw_unit *u,
                        struct asw_err *err)
{
    if (!r)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no result");
    if (!memchr(r->unit_id, '\0', sizeof r->unit_id) || !r->unit_id[0])
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE,
                           "result without unit id");
    if (asw_status_parse(asw_status_name(r->status)) != (int)r->status)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE,
                           "unit %s: bad status %d", r->unit_id,
                           (int)r->status);
    if (u && strncmp(u->id, r->unit_id, sizeof u->id) != 0)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE,
                           "result for %s given with unit %.*s", r->unit_id,
                           (int)sizeof u->id, u->id);
    if ((r->n_images && !r->images) || (r->n_seds && !r->seds) ||
        (r->n_lines && !r->lines) || (r->n_spectra && !r->spectra))
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "unit %s: no rows",
                           r->unit_id);
    const struct {
        const char *what;
        const char *base;
        size_t n, size, off;
    } kinds[] = {
        {"image", (const char *)r->images, r->n_images, sizeof *r->images,
         offsetof(struct asw_image, unit_id)},
        {"sed", (const char *)r->seds, r->n_seds, sizeof *r->seds,
         offsetof(struct asw_sed, unit_id)},
        {"line", (const char *)r->lines, r->n_lines, sizeof *r->lines,
         offsetof(struct asw_line, unit_id)},
        {"spectrum", (const char *)r->spectra, r->n_spectra, sizeof *r->spectra,
         offsetof(struct asw_spectrum, unit_id)},
    };
    for (size_t k = 0; k < NELEM(kinds); k++)
        for (size_t i = 0; i < kinds[k].n; i++) {
            const char *id = kinds[k].base + i * kinds[k].size + kinds[k].off;
            if (id[0] && strncmp(id, r->unit_id, ASW_UID_MAX) != 0)
                return asw_err_set(err, ASW_EINVAL, CAT_MODULE,
                                   "unit %s: %s %zu belongs to unit %.*s",
                                   r->unit_id, kinds[k].what, i, ASW_UID_MAX,
                                   id);
        }
    return 0;
}

/* A scratch buffer of at least n bytes (kept in the handle). */
static void *scratch(struct asw_cat *c, size_t n)
{
    if (n > c->scratch_cap) {
        void *p = realloc(c->scratch, n);
        if (!p)
            return NULL;
        c->scratch = p;
        c->scratch_cap = n;
    }
    return c->scratch;
}

static double arr_at(const double *a, size_t i)
{
    return a ? a[i] : NAN;
}

int asw_cat_put_result(struct asw_cat *c, const struct asw_result *r,
                       const struct asw_unit *u, struct asw_err *err)
{
    if (!c || !c->j)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no catalogue");
    int rc = check_result(r, u, err);
    if (rc < 0)
        return rc;
    struct asw_cat_unit_row ur;
    memset(&ur, 0, sizeof ur);
    const struct entry *e = index_find(c, r->unit_id);
    cat_setstr(ur.id, sizeof ur.id, r->unit_id);
    if (u) {
        cat_setstr(ur.kind, sizeof ur.kind, asw_unit_kind_name(u->kind));
        cat_setstr(ur.project, sizeof ur.project, u->project);
        cat_setstr(ur.mous_uid, sizeof ur.mous_uid, u->mous_uid);
        ur.n_files = (int64_t)u->n_files;
        ur.bytes_total = u->bytes_total;
    } else if (e) {
        cat_setstr(ur.kind, sizeof ur.kind, e->kind);
        cat_setstr(ur.project, sizeof ur.project, e->project);
        cat_setstr(ur.mous_uid, sizeof ur.mous_uid, e->mous_uid);
        ur.n_files = e->n_files;
        ur.bytes_total = e->bytes_total;
    } else {
        ur.n_files = ur.bytes_total = -1;
    }
    cat_setstr(ur.status, sizeof ur.status, asw_status_name(r->status));
    ur.attempts = r->attempts;
    cat_setstr(ur.error, sizeof ur.error, r->error);
    ur.bytes_fetched = r->bytes_fetched;
    ur.t_download_s = r->t_download_s;
    ur.t_extract_s = r->t_extract_s;
    ur.t_process_s = r->t_process_s;
    ur.t_reduce_s = r->t_reduce_s;
    cat_setstr(ur.host, sizeof ur.host, r->host);
    ur.rank = r->rank;
    cat_setstr(ur.run_id, sizeof ur.run_id, c->run ? c->run->run_id : "");
    cat_utc_now(ur.updated_utc, sizeof ur.updated_utc);

    /* Only a done unit has measurements (docs/catalogue.md). */
    int done = r->status == ASW_ST_DONE;
    size_t n[M_COUNT] = {0}, n_ch = 0;
    if (done) {
        n[M_IMAGES] = r->n_images;
        n[M_SEDS] = r->n_seds;
        n[M_ABSORPTION] = r->n_lines;
        n[M_SPECTRA] = r->n_spectra;
        for (size_t i = 0; i < r->n_spectra; i++) {
            n_ch += r->spectra[i].n_chan;
            if (n_ch > CHANNELS_MAX)
                return asw_err_set(err, ASW_ETOOBIG, CAT_MODULE,
                                   "unit %s: more than %llu channels",
                                   r->unit_id,
                                   (unsigned long long)CHANNELS_MAX);
        }
    }
    /* Copies with the unit id set and strings tidied, in one buffer. */
    size_t bytes[M_COUNT + 1], total = 0;
    for (int m = 0; m < M_COUNT; m++) {
        bytes[m] = n[m] * cat_tables[cat_mtable[m]]->rowsize;
        total += bytes[m];
    }
    bytes[M_COUNT] = n_ch * sizeof(struct asw_cat_channel_row);
    total += bytes[M_COUNT];
    char *buf = scratch(c, total ? total : 1);
    if (!buf)
        return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    const void *rows[M_COUNT];
    const void *src[M_COUNT] = {r->images, r->seds, r->lines, NULL};
    char *p = buf;
    for (int m = 0; m < M_COUNT; m++) {
        const struct asw_schema *s = cat_tables[cat_mtable[m]];
        size_t uid = cat_find_col(s, "unit_id")->offset;
        rows[m] = p;
        for (size_t i = 0; i < n[m]; i++, p += s->rowsize) {
            if (m == M_SPECTRA) {
                const struct asw_spectrum *sp = &r->spectra[i];
                struct asw_cat_spectrum_row *row = (void *)p;
                memset(row, 0, sizeof *row);
                cat_setstr(row->file, sizeof row->file, sp->file);
                cat_setstr(row->source, sizeof row->source, sp->source);
                row->spw = sp->spw;
                row->mjd = sp->mjd;
                row->n_chan = (int64_t)sp->n_chan;
                row->freq_min_hz = row->freq_max_hz = NAN;
                for (size_t q = 0; q < sp->n_chan; q++) {
                    double f = arr_at(sp->freq_hz, q);
                    if (!isnan(f) && !(f >= row->freq_min_hz))
                        row->freq_min_hz = f;
                    if (!isnan(f) && !(f <= row->freq_max_hz))
                        row->freq_max_hz = f;
                }
            } else {
                memcpy(p, (const char *)src[m] + i * s->rowsize, s->rowsize);
            }
            cat_setstr(p + uid, ASW_UID_MAX, r->unit_id);
            cat_tidy_row(s, p);
        }
    }
    struct asw_cat_channel_row *ch = (void *)p;
    int64_t off = 0;
    for (size_t i = 0; i < n[M_SPECTRA]; i++) {
        const struct asw_spectrum *sp = &r->spectra[i];
        ((struct asw_cat_spectrum_row *)rows[M_SPECTRA])[i].chan_offset = off;
        for (size_t q = 0; q < sp->n_chan; q++, off++) {
            ch[off].freq_hz = arr_at(sp->freq_hz, q);
            ch[off].flux_jy = arr_at(sp->flux_jy, q);
            ch[off].ap_flux_jy = arr_at(sp->ap_flux_jy, q);
            ch[off].noise_jy = arr_at(sp->noise_jy, q);
            ch[off].cont_jy = arr_at(sp->cont_jy, q);
            ch[off].tau = arr_at(sp->tau, q);
        }
    }
    rc = put_rows(c, &ur, rows, n, ch, n_ch, err);
    if (rc < 0)
        return rc;
    return maybe_checkpoint(c, err);
}

int asw_cat_unit_status(const struct asw_cat *c, const char *id,
                        enum asw_status *status, int *attempts)
{
    if (!c || !id)
        return ASW_EINVAL;
    const struct entry *e = index_find(c, id);
    if (!e || (e->unit_row < 0 && e->rec_off == NO_REC))
        return ASW_ENOTFOUND;
    if (e->status < 0)
        return ASW_EPARSE;
    if (status)
        *status = (enum asw_status)e->status;
    if (attempts)
        *attempts = e->attempts;
    return 0;
}

int asw_cat_count(const struct asw_cat *c, const char *table, size_t *n)
{
    static const char *const names[M_COUNT] = {"images", "seds", "absorption",
                                               "spectra"};
    if (!c || !table || !n)
        return ASW_EINVAL;
    if (strcmp(table, "units") == 0) {
        *n = c->n_units;
        return 0;
    }
    if (strcmp(table, "runs") == 0) {
        *n = c->n_runs;
        return 0;
    }
    for (int m = 0; m < M_COUNT; m++)
        if (strcmp(table, names[m]) == 0) {
            *n = (size_t)c->n_rows[m];
            return 0;
        }
    return ASW_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Runs                                                                */

int asw_cat_run_begin(struct asw_cat *c, const struct asw_cat_run_info *info,
                      struct asw_err *err)
{
    if (!c || !c->j || !info || c->run)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE,
                           "a run is already active");
    struct asw_cat_run_row *row = calloc(1, sizeof *row);
    if (!row)
        return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    char id[CAT_ID_MAX];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    new_catalogue_id(id, sizeof id);
    strftime(row->run_id, sizeof row->run_id, "%Y%m%dT%H%M%SZ", &tm);
    size_t len = strlen(row->run_id);
    snprintf(row->run_id + len, sizeof row->run_id - len, "-%.8s", id);
    cat_setstr(row->version, sizeof row->version, ASW_VERSION);
    cat_setstr(row->status, sizeof row->status, "running");
    row->exit_code = -1;
    cat_utc_now(row->start_utc, sizeof row->start_utc);
    row->ranks = info->ranks;
    cat_setstr(row->hosts, sizeof row->hosts, info->host);
    cat_setstr(row->mode, sizeof row->mode, info->mode);
    cat_setstr(row->casa_version, sizeof row->casa_version, info->casa_version);
    row->units_planned = (int64_t)info->units_planned;
    cat_setstr(row->config_path, sizeof row->config_path, info->config_path);
    cat_setstr(row->config, sizeof row->config, info->config_text);
    /* Trailing white space carries nothing, and VOTable readers (astropy)
     * drop it: keep exports identical to the file. */
    for (size_t n = strlen(row->config);
         n && isspace((unsigned char)row->config[n - 1]); n--)
        row->config[n - 1] = '\0';
    cat_tidy_row(cat_tables[T_RUNS], row);
    int rc = journal_run(c, row, err);
    if (rc < 0) {
        free(row);
        return rc;
    }
    c->run = row;
    return maybe_checkpoint(c, err);
}

/* Is host one of the comma-separated names in list? */
static int listed(const char *list, const char *host)
{
    size_t n = strlen(host);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, host, n) == 0)
            return 1;
        p += len + (comma != NULL);
    }
    return 0;
}

int asw_cat_run_host(struct asw_cat *c, const char *host, struct asw_err *err)
{
    if (!c || !c->run || !host || !host[0] || listed(c->run->hosts, host))
        return 0;
    size_t len = strlen(c->run->hosts);
    if (len + strlen(host) + 2 > sizeof c->run->hosts)
        return 0;
    snprintf(c->run->hosts + len, sizeof c->run->hosts - len, "%s%s",
             len ? "," : "", host);
    return journal_run(c, c->run, err);
}

int asw_cat_run_casa_version(struct asw_cat *c, const char *version,
                             struct asw_err *err)
{
    if (!c || !c->run || !version || !version[0] ||
        listed(c->run->casa_version, version))
        return 0;
    size_t len = strlen(c->run->casa_version);
    if (len + strlen(version) + 2 > sizeof c->run->casa_version)
        return 0;
    snprintf(c->run->casa_version + len, sizeof c->run->casa_version - len,
             "%s%s", len ? "," : "", version);
    return journal_run(c, c->run, err);
}

int asw_cat_run_end(struct asw_cat *c, int exit_code,
                    const struct asw_cat_run_tally *t, struct asw_err *err)
{
    if (!c || !c->run)
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "no active run");
    struct asw_cat_run_row *row = c->run;
    cat_setstr(row->status, sizeof row->status, "finished");
    row->exit_code = exit_code;
    cat_utc_now(row->end_utc, sizeof row->end_utc);
    if (t) {
        row->units_done = (int64_t)t->done;
        row->units_failed = (int64_t)t->failed;
        row->units_skipped = (int64_t)t->skipped;
        row->units_retried = (int64_t)t->retried;
    }
    int rc = journal_run(c, row, err);
    free(c->run);
    c->run = NULL;
    return rc;
}

int asw_cat_get_stats(const struct asw_cat *c, struct asw_cat_stats *st)
{
    if (!c || !st)
        return ASW_EINVAL;
    *st = c->stats;
    st->pending = c->n_pending;
    st->journal_bytes = c->j ? cat_journal_bytes(c->j) : 0;
    return 0;
}

const char *asw_cat_run_id(const struct asw_cat *c)
{
    return c && c->run ? c->run->run_id : "";
}

/* ------------------------------------------------------------------ */
/* Recover and merge                                                   */

int asw_cat_recover(const char *path, size_t *applied, struct asw_err *err)
{
    struct asw_cat *c = NULL;
    if (applied)
        *applied = 0;
    int rc = asw_cat_open(path, 0, &c, err);
    if (rc == ASW_EIO && err && strstr(err->msg, "in use"))
        return 1;
    if (rc < 0)
        return rc;
    if (applied)
        *applied = c->n_pending;
    return asw_cat_close(c, err);
}

/* Does unit row u (from an input) beat what c holds for its id? */
static int merge_wins(const struct asw_cat *c, const struct asw_cat_unit_row *u)
{
    const struct entry *e = index_find(c, u->id);
    if (!e || (e->unit_row < 0 && e->rec_off == NO_REC))
        return 1;
    int done_new = strcmp(u->status, "done") == 0;
    int done_old = e->status == ASW_ST_DONE;
    if (done_new != done_old)
        return done_new;
    return strcmp(u->updated_utc, e->updated_utc) > 0;
}

/* The rows of table t in input file f, grouped by unit: row numbers
 * sorted by (unit entry, row). */
struct groups {
    uint32_t *unit; /* per row: index into the input's unit list */
    hsize_t *order; /* rows sorted by unit */
    size_t *first;  /* per unit: first position in order; n_units + 1 */
    hsize_t n;
};

static void groups_free(struct groups *g)
{
    free(g->unit);
    free(g->order);
    free(g->first);
    memset(g, 0, sizeof *g);
}

struct uid_key {
    char unit_id[ASW_UID_MAX];
};

/* Lookup of input unit ids: sorted array of (id, index). */
struct id_index {
    const struct asw_cat_unit_row *units;
    size_t *sorted;
    size_t n;
};

static const struct asw_cat_unit_row *sort_units_base;

static int by_unit_id(const void *a, const void *b)
{
    return strcmp(sort_units_base[*(const size_t *)a].id,
                  sort_units_base[*(const size_t *)b].id);
}

static long id_lookup(const struct id_index *ix, const char *id)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ix->units[ix->sorted[mid]].id, id);
        if (c == 0)
            return (long)ix->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int build_groups(hid_t f, const char *path, int t,
                        const struct id_index *ix, struct groups *g,
                        struct asw_err *err)
{
    static const char *const keys[] = {"unit_id"};
    static const size_t offs[] = {0};
    hid_t ds = cat_h5_open_table(f, cat_tables[t]);
    hid_t mt =
        cat_h5_projection(cat_tables[t], keys, offs, 1, sizeof(struct uid_key));
    struct uid_key *buf = malloc(CAT_IO_BLOCK_ROWS * sizeof *buf);
    size_t *count = NULL;
    int rc = 0;
    memset(g, 0, sizeof *g);
    if (!buf) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    if (ds < 0 || mt < 0 || cat_h5_rows(ds, &g->n) < 0) {
        rc = cat_h5fail(err, "%s: open /%s", path, cat_tables[t]->name);
        goto out;
    }
    g->unit = malloc((g->n ? g->n : 1) * sizeof *g->unit);
    g->order = malloc((g->n ? g->n : 1) * sizeof *g->order);
    g->first = calloc(ix->n + 2, sizeof *g->first);
    count = calloc(ix->n + 1, sizeof *count);
    if (!g->unit || !g->order || !g->first || !count) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    for (hsize_t r = 0; r < g->n; r += CAT_IO_BLOCK_ROWS) {
        hsize_t k = g->n - r < CAT_IO_BLOCK_ROWS ? g->n - r : CAT_IO_BLOCK_ROWS;
        if (cat_h5_rows_io(ds, mt, r, k, buf, 0) < 0) {
            rc = cat_h5fail(err, "%s: read /%s", path, cat_tables[t]->name);
            goto out;
        }
        for (hsize_t i = 0; i < k; i++) {
            buf[i].unit_id[ASW_UID_MAX - 1] = '\0';
            long u = id_lookup(ix, buf[i].unit_id);
            /* Rows of an unknown unit (not in /units) go to slot n. */
            g->unit[r + i] = u < 0 ? (uint32_t)ix->n : (uint32_t)u;
            count[g->unit[r + i]]++;
        }
    }
    for (size_t u = 0; u <= ix->n; u++)
        g->first[u + 1] = g->first[u] + count[u];
    memset(count, 0, (ix->n + 1) * sizeof *count);
    for (hsize_t r = 0; r < g->n; r++) {
        uint32_t u = g->unit[r];
        g->order[g->first[u] + count[u]++] = r;
    }
out:
    free(count);
    free(buf);
    cat_h5close(mt);
    cat_h5close(ds);
    if (rc < 0)
        groups_free(g);
    return rc;
}

/* Read the rows order[a..b) of table t (runs of consecutive rows). */
static int read_rows(hid_t ds, hid_t mt, size_t rowsize, const hsize_t *order,
                     size_t a, size_t b, char *out)
{
    for (size_t i = a; i < b;) {
        size_t j = i + 1;
        while (j < b && order[j] == order[j - 1] + 1)
            j++;
        if (cat_h5_rows_io(ds, mt, order[i], j - i, out + (i - a) * rowsize,
                           0) < 0)
            return -1;
        i = j;
    }
    return 0;
}

/* Merge one input file into c. */
static int merge_one(struct asw_cat *c, const char *in, size_t *taken,
                     size_t *total, struct asw_err *err)
{
    hid_t f = -1, ds[T_COUNT], mt[T_COUNT];
    struct asw_cat_unit_row *units = NULL;
    struct asw_cat_run_row *runs = NULL;
    size_t nu = 0, nr = 0;
    struct groups g[M_COUNT];
    struct id_index ix = {0};
    char *rows[M_COUNT] = {0};
    struct asw_cat_channel_row *ch = NULL;
    size_t ch_cap = 0;
    int rc;
    memset(g, 0, sizeof g);
    for (int t = 0; t < T_COUNT; t++)
        ds[t] = mt[t] = -1;
    if ((rc = cat_open_ro(in, &f, err)) < 0)
        return rc;
    for (int t = 0; t < T_COUNT; t++) {
        ds[t] = cat_h5_open_table(f, cat_tables[t]);
        mt[t] = cat_h5_type(cat_tables[t], 0);
        if (ds[t] < 0 || mt[t] < 0) {
            rc = cat_h5fail(err, "%s: open /%s", in, cat_tables[t]->name);
            goto out;
        }
    }
    void *b = NULL;
    if ((rc = cat_read_all(f, in, cat_tables[T_UNITS], mt[T_UNITS],
                           sizeof *units, &b, &nu, err)) < 0)
        goto out;
    units = b;
    if ((rc = cat_read_all(f, in, cat_tables[T_RUNS], mt[T_RUNS], sizeof *runs,
                           &b, &nr, err)) < 0)
        goto out;
    runs = b;
    ix.units = units;
    ix.n = nu;
    ix.sorted = malloc((nu ? nu : 1) * sizeof *ix.sorted);
    if (!ix.sorted) {
        rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nu; i++) {
        cat_tidy_row(cat_tables[T_UNITS], &units[i]);
        ix.sorted[i] = i;
    }
    sort_units_base = units;
    if (nu > 1)
        qsort(ix.sorted, nu, sizeof *ix.sorted, by_unit_id);
    for (int m = 0; m < M_COUNT; m++)
        if ((rc = build_groups(f, in, cat_mtable[m], &ix, &g[m], err)) < 0)
            goto out;
    *total += nu;
    for (size_t u = 0; u < nu; u++) {
        struct asw_cat_unit_row ur = units[u];
        if (!merge_wins(c, &ur))
            continue;
        size_t n[M_COUNT];
        const void *rp[M_COUNT];
        for (int m = 0; m < M_COUNT; m++) {
            int t = cat_mtable[m];
            size_t a = g[m].first[u], z = g[m].first[u + 1];
            size_t size = cat_tables[t]->rowsize;
            char *p = realloc(rows[m], (z - a ? z - a : 1) * size);
            if (!p) {
                rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
                goto out;
            }
            rows[m] = p;
            if (read_rows(ds[t], mt[t], size, g[m].order, a, z, p) < 0) {
                rc = cat_h5fail(err, "%s: read /%s", in, cat_tables[t]->name);
                goto out;
            }
            for (size_t i = 0; i < z - a; i++)
                cat_tidy_row(cat_tables[t], p + i * size);
            n[m] = z - a;
            rp[m] = p;
        }
        if (strcmp(ur.status, "done") != 0)
            memset(n, 0, sizeof n);
        /* Channels of the unit's spectra, made relative to the record. */
        struct asw_cat_spectrum_row *sp = (void *)rows[M_SPECTRA];
        size_t n_ch = 0;
        for (size_t i = 0; i < n[M_SPECTRA]; i++)
            n_ch += (size_t)(sp[i].n_chan > 0 ? sp[i].n_chan : 0);
        if (n_ch > ch_cap) {
            void *p = realloc(ch, n_ch * sizeof *ch);
            if (!p) {
                rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
                goto out;
            }
            ch = p;
            ch_cap = n_ch;
        }
        size_t at = 0;
        for (size_t i = 0; i < n[M_SPECTRA]; i++) {
            hsize_t cnt = (hsize_t)(sp[i].n_chan > 0 ? sp[i].n_chan : 0);
            if (cat_h5_rows_io(ds[T_CHANNELS], mt[T_CHANNELS],
                               (hsize_t)sp[i].chan_offset, cnt, ch + at,
                               0) < 0) {
                rc = cat_h5fail(err, "%s: read /spectra_channels", in);
                goto out;
            }
            sp[i].chan_offset = (int64_t)at;
            at += cnt;
        }
        if ((rc = put_rows(c, &ur, rp, n, ch, n_ch, err)) < 0)
            goto out;
        (*taken)++;
    }
    for (size_t i = 0; i < nr; i++) {
        cat_tidy_row(cat_tables[T_RUNS], &runs[i]);
        if (!run_find(c, runs[i].run_id) &&
            (rc = journal_run(c, &runs[i], err)) < 0)
            goto out;
    }
out:
    for (int m = 0; m < M_COUNT; m++) {
        groups_free(&g[m]);
        free(rows[m]);
    }
    for (int t = 0; t < T_COUNT; t++) {
        cat_h5close(ds[t]);
        cat_h5close(mt[t]);
    }
    free(ch);
    free(ix.sorted);
    free(runs);
    free(units);
    H5Fclose(f);
    return rc;
}

int asw_cat_merge(const char *out_path, const char *const *inputs, size_t n,
                  FILE *log, struct asw_err *err)
{
    struct asw_cat *c = NULL;
    int rc;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(inputs[i], out_path) == 0)
            return asw_err_set(err, ASW_EINVAL, CAT_MODULE,
                               "%s: input is also the output", inputs[i]);
        rc = asw_cat_recover(inputs[i], NULL, err);
        if (rc != 0)
            return rc;
    }
    rc = asw_cat_open(out_path, 1, &c, err);
    if (rc == ASW_EIO && err && strstr(err->msg, "in use"))
        return 1;
    if (rc < 0)
        return rc;
    /* One checkpoint at the end, not one per minute of merging. */
    c->opt.checkpoint_s = 1e9;
    c->opt.journal_fsync = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t taken = 0, total = 0;
        rc = merge_one(c, inputs[i], &taken, &total, err);
        if (rc == 0 && log)
            fprintf(log, "%s: %zu of %zu units taken\n", inputs[i], taken,
                    total);
    }
    if (rc < 0) {
        asw_cat_close(c, NULL);
        return rc;
    }
    /* Make the merged records durable before they reach the file. */
    if (fsync_path(c->jpath, 0) < 0) {
        asw_cat_close(c, NULL);
        return asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: fsync: %s", c->jpath,
                           strerror(errno));
    }
    return asw_cat_close(c, err);
}
