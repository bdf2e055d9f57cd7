/*
 * catalogue_journal.c - the write-ahead journal of the catalogue
 * ("<catalogue>.journal", docs/catalogue.md "Crash safety").
 *
 * Layout: a fixed header (magic, version, layout fingerprint, the id of
 * the catalogue it belongs to, CRC), then records appended one after the
 * other: a 32-byte header (magic, type, seq, len, CRC-32 over type, seq,
 * len and payload) and len payload bytes. A record is written with one
 * pwritev at the end of the file; a process killed during it leaves a
 * torn tail that the next scan detects (length past the end, or a CRC
 * mismatch) and cuts off. Nothing is ever written before the end of the
 * intact records, so a torn write can only lose the record being written.
 *
 * The open journal holds an exclusive flock: one writer per catalogue. The
 * kernel drops the lock when the process dies, however it dies.
 */
#include "catalogue_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define JOURNAL_MAGIC   "ASWJRNL1"
#define JOURNAL_VERSION 1
#define REC_MAGIC       0x52575341u /* "ASWR" little-endian */
#define REC_MAX_BYTES   ((uint64_t)1 << 31)

struct journal_hdr {
    char magic[8];
    uint32_t version;
    uint32_t hdr_size;
    uint64_t fingerprint;
    char catalogue_id[CAT_ID_MAX];
    uint32_t crc; /* of the bytes before it */
    uint32_t pad;
};

struct cat_journal {
    char *path;
    int fd;
    uint64_t end; /* offset after the last intact record */
};

/* ------------------------------------------------------------------ */
/* CRC-32 (IEEE 802.3, reflected, as zlib), slicing by 4               */

static uint32_t crc_table[4][256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 4; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
                              crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t cat_crc32(uint32_t crc, const void *buf, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    const unsigned char *p = buf;
    crc = ~crc;
    while (n >= 4) {
        uint32_t w = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        crc ^= w;
        crc = crc_table[3][crc & 0xff] ^ crc_table[2][(crc >> 8) & 0xff] ^
              crc_table[1][(crc >> 16) & 0xff] ^ crc_table[0][crc >> 24];
        p += 4;
        n -= 4;
    }
    while (n--)
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------------ */
/* Crash points (tests)                                                */

static char crash_name[64];
static long crash_left;

void cat_crash_arm(void)
{
    const char *v = getenv("ASW_CAT_CRASH_AT");
    crash_name[0] = '\0';
    crash_left = 0;
    if (!v || !v[0])
        return;
    const char *colon = strchr(v, ':');
    size_t len = colon ? (size_t)(colon - v) : strlen(v);
    if (len >= sizeof crash_name)
        return;
    memcpy(crash_name, v, len);
    crash_name[len] = '\0';
    crash_left = colon ? strtol(colon + 1, NULL, 10) : 1;
    if (crash_left < 1)
        crash_left = 1;
}

int cat_crash_armed_for(const char *point)
{
    return crash_name[0] && crash_left == 1 && strcmp(crash_name, point) == 0;
}

void cat_crash_point(const char *point)
{
    if (!crash_name[0] || strcmp(crash_name, point) != 0)
        return;
    if (--crash_left == 0)
        raise(SIGKILL);
}

/* ------------------------------------------------------------------ */
/* I/O helpers                                                         */

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    char *p = buf;
    while (n) {
        ssize_t k = pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static int pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
    const char *p = buf;
    while (n) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static void fill_header(struct journal_hdr *h, const char *catalogue_id)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, JOURNAL_MAGIC, 8);
    h->version = JOURNAL_VERSION;
    h->hdr_size = sizeof *h;
    h->fingerprint = cat_layout_fingerprint();
    cat_setstr(h->catalogue_id, sizeof h->catalogue_id, catalogue_id);
    h->crc = cat_crc32(0, h, offsetof(struct journal_hdr, crc));
}

static int header_ok(const struct journal_hdr *h)
{
    return memcmp(h->magic, JOURNAL_MAGIC, 8) == 0 &&
           h->version == JOURNAL_VERSION && h->hdr_size == sizeof *h &&
           h->crc == cat_crc32(0, h, offsetof(struct journal_hdr, crc)) &&
           memchr(h->catalogue_id, '\0', sizeof h->catalogue_id);
}

/* Copy the first n bytes of fd to a new file at path. */
static int copy_aside(int fd, uint64_t n, const char *path)
{
    char buf[1 << 16];
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        return -1;
    for (uint64_t off = 0; off < n;) {
        size_t k = n - off < sizeof buf ? (size_t)(n - off) : sizeof buf;
        if (pread_full(fd, buf, k, off) < 0 || pwrite_full(out, buf, k, off)) {
            close(out);
            return -1;
        }
        off += k;
    }
    int rc = fsync(out);
    close(out);
    return rc;
}

/* Start the journal afresh: empty, then a header, made durable. */
static int write_fresh(int fd, const char *catalogue_id)
{
    struct journal_hdr h;
    fill_header(&h, catalogue_id);
    if (ftruncate(fd, 0) < 0 || pwrite_full(fd, &h, sizeof h, 0) < 0 ||
        fsync(fd) < 0)
        return -1;
    return 0;
}

char *cat_journal_path(const char *path)
{
    size_t n = strlen(path) + sizeof ".journal";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s.journal", path);
    return p;
}

/* Lock jpath's current inode; retry when the path was replaced or
 * unlinked by the previous holder between our open and our lock. */
static int open_locked(const char *jpath, int *fdp, struct asw_err *err)
{
    for (int tries = 0; tries < 100; tries++) {
        struct stat a, b;
        int fd = open(jpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: %s", jpath,
                               strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return asw_err_set(err, ASW_EIO, CAT_MODULE,
                                   "%s: in use by another process (a "
                                   "running sweep?)",
                                   jpath);
            return asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: lock: %s", jpath,
                               strerror(e));
        }
        if (fstat(fd, &a) == 0 && stat(jpath, &b) == 0 &&
            a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            *fdp = fd;
            return 0;
        }
        close(fd);
    }
    return asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: cannot lock", jpath);
}

int cat_journal_open(const char *jpath, struct cat_journal **out,
                     struct asw_err *err)
{
    struct cat_journal *j = calloc(1, sizeof *j);
    struct stat st;
    int rc;
    *out = NULL;
    if (!j || !(j->path = strdup(jpath))) {
        free(j);
        return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    }
    j->fd = -1;
    if ((rc = open_locked(jpath, &j->fd, err)) < 0)
        goto fail;
    if (fstat(j->fd, &st) < 0) {
        rc = asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: %s", jpath,
                         strerror(errno));
        goto fail;
    }
    j->end = (uint64_t)st.st_size;
    *out = j;
    return 0;
fail:
    cat_journal_close(j, 0);
    return rc;
}

int cat_journal_adopt(struct cat_journal *j, const char *catalogue_id,
                      int *stale, struct asw_err *err)
{
    struct journal_hdr h;
    struct stat st;
    *stale = 0;
    if (fstat(j->fd, &st) < 0)
        goto io;
    if ((uint64_t)st.st_size < sizeof h ||
        pread_full(j->fd, &h, sizeof h, 0) < 0 || !header_ok(&h)) {
        /* New, or killed while its header was being written (no record
         * can follow an incomplete header). */
        if (write_fresh(j->fd, catalogue_id) < 0)
            goto io;
    } else if (strcmp(h.catalogue_id, catalogue_id) != 0 ||
               h.fingerprint != cat_layout_fingerprint()) {
        /* Another catalogue's journal (the .h5 was replaced) or another
         * build's row layout: keep its records aside, never replay them. */
        if ((uint64_t)st.st_size > sizeof h) {
            char *aside = malloc(strlen(j->path) + 64);
            if (!aside)
                return asw_err_set(err, ASW_ENOMEM, CAT_MODULE,
                                   "out of memory");
            sprintf(aside, "%s.stale-%.12s", j->path, h.catalogue_id);
            int bad = copy_aside(j->fd, (uint64_t)st.st_size, aside);
            free(aside);
            if (bad)
                goto io;
            *stale = 1;
        }
        if (write_fresh(j->fd, catalogue_id) < 0)
            goto io;
    }
    if (fstat(j->fd, &st) < 0)
        goto io;
    j->end = (uint64_t)st.st_size;
    return 0;
io:
    return asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: %s", j->path,
                       strerror(errno));
}

static uint32_t rec_crc(const struct cat_rec_hdr *h)
{
    uint32_t c = cat_crc32(0, &h->type, sizeof h->type);
    c = cat_crc32(c, &h->seq, sizeof h->seq);
    return cat_crc32(c, &h->len, sizeof h->len);
}

int cat_journal_scan(struct cat_journal *j,
                     int (*fn)(void *ud, const struct cat_rec_hdr *h,
                               uint64_t off, const void *payload),
                     void *ud, uint64_t *torn_bytes, struct asw_err *err)
{
    struct stat st;
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    uint64_t off = sizeof(struct journal_hdr), size;
    *torn_bytes = 0;
    if (fstat(j->fd, &st) < 0)
        return asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: %s", j->path,
                           strerror(errno));
    size = (uint64_t)st.st_size;
    while (off + sizeof(struct cat_rec_hdr) <= size) {
        struct cat_rec_hdr h;
        if (pread_full(j->fd, &h, sizeof h, off) < 0) {
            rc = asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: read: %s", j->path,
                             strerror(errno));
            goto out;
        }
        if (h.magic != REC_MAGIC || h.len > REC_MAX_BYTES ||
            h.len > size - off - sizeof h)
            break;
        if (h.len > cap) {
            char *p = realloc(buf, (size_t)h.len);
            if (!p) {
                rc = asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
                goto out;
            }
            buf = p;
            cap = (size_t)h.len;
        }
        if (pread_full(j->fd, buf, (size_t)h.len, off + sizeof h) < 0) {
            rc = asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: read: %s", j->path,
                             strerror(errno));
            goto out;
        }
        if (cat_crc32(rec_crc(&h), buf, (size_t)h.len) != h.crc)
            break;
        if ((rc = fn(ud, &h, off, buf)) != 0)
            goto out;
        off += sizeof h + h.len;
    }
    if (off < size) {
        /* A torn or corrupt tail: the record being written when the
         * writer died. Cut it so that new records follow intact ones. */
        *torn_bytes = size - off;
        if (ftruncate(j->fd, (off_t)off) < 0 || fsync(j->fd) < 0) {
            rc = asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: truncate: %s",
                             j->path, strerror(errno));
            goto out;
        }
    }
    j->end = off;
out:
    free(buf);
    return rc;
}

int cat_journal_append(struct cat_journal *j, uint32_t type, uint64_t seq,
                       const void *const *parts, const size_t *sizes,
                       size_t nparts, int sync, uint64_t *off,
                       struct asw_err *err)
{
    struct iovec iov[8];
    struct cat_rec_hdr h = {REC_MAGIC, type, seq, 0, 0, 0};
    if (nparts + 1 > NELEM(iov))
        return asw_err_set(err, ASW_EINVAL, CAT_MODULE, "too many parts");
    for (size_t i = 0; i < nparts; i++)
        h.len += sizes[i];
    if (h.len > REC_MAX_BYTES)
        return asw_err_set(err, ASW_ETOOBIG, CAT_MODULE,
                           "journal record of %llu bytes (cap %llu)",
                           (unsigned long long)h.len,
                           (unsigned long long)REC_MAX_BYTES);
    uint32_t crc = rec_crc(&h);
    size_t total = sizeof h;
    iov[0].iov_base = &h;
    iov[0].iov_len = sizeof h;
    for (size_t i = 0; i < nparts; i++) {
        crc = cat_crc32(crc, parts[i], sizes[i]);
        iov[i + 1].iov_base = (void *)parts[i];
        iov[i + 1].iov_len = sizes[i];
        total += sizes[i];
    }
    h.crc = crc;
    if (cat_crash_armed_for("journal-torn")) {
        /* Die in the middle of the record (tests): half of it written. */
        size_t half = total / 2, k = 0;
        for (size_t i = 0; i <= nparts && k < half; i++) {
            size_t w = iov[i].iov_len < half - k ? iov[i].iov_len : half - k;
            if (pwrite_full(j->fd, iov[i].iov_base, w, j->end + k) < 0)
                break;
            k += w;
        }
        cat_crash_point("journal-torn");
    }
    cat_crash_point("journal-torn");
    size_t done = 0;
    int iovcnt = (int)nparts + 1;
    struct iovec *v = iov;
    while (done < total) {
        ssize_t k = pwritev(j->fd, v, iovcnt, (off_t)(j->end + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            /* Leave no partial record behind (a full disk, say). */
            if (ftruncate(j->fd, (off_t)j->end) < 0) {
                /* the next scan cuts it */
            }
            return asw_err_set(err, e == ENOSPC ? ASW_ENOSPC : ASW_EIO,
                               CAT_MODULE, "%s: write: %s", j->path,
                               strerror(e));
        }
        done += (size_t)k;
        while (iovcnt && (size_t)k >= v->iov_len) {
            k -= (ssize_t)v->iov_len;
            v++;
            iovcnt--;
        }
        if (iovcnt && k) {
            v->iov_base = (char *)v->iov_base + k;
            v->iov_len -= (size_t)k;
        }
    }
    if (sync && fdatasync(j->fd) < 0)
        return asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: fdatasync: %s",
                           j->path, strerror(errno));
    *off = j->end;
    j->end += total;
    cat_crash_point("journal-written");
    return 0;
}

int cat_journal_read(struct cat_journal *j, uint64_t off, struct cat_rec_hdr *h,
                     void **payload, struct asw_err *err)
{
    *payload = NULL;
    if (off + sizeof *h > j->end || pread_full(j->fd, h, sizeof *h, off) < 0 ||
        h->magic != REC_MAGIC || h->len > j->end - off - sizeof *h)
        return asw_err_set(err, ASW_EIO, CAT_MODULE,
                           "%s: record at %llu unreadable", j->path,
                           (unsigned long long)off);
    char *p = malloc(h->len ? (size_t)h->len : 1);
    if (!p)
        return asw_err_set(err, ASW_ENOMEM, CAT_MODULE, "out of memory");
    if (pread_full(j->fd, p, (size_t)h->len, off + sizeof *h) < 0 ||
        cat_crc32(rec_crc(h), p, (size_t)h->len) != h->crc) {
        free(p);
        return asw_err_set(err, ASW_EIO, CAT_MODULE,
                           "%s: record at %llu corrupt", j->path,
                           (unsigned long long)off);
    }
    *payload = p;
    return 0;
}

int cat_journal_reset(struct cat_journal *j, int sync, struct asw_err *err)
{
    if (ftruncate(j->fd, (off_t)sizeof(struct journal_hdr)) < 0 ||
        (sync && fsync(j->fd) < 0))
        return asw_err_set(err, ASW_EIO, CAT_MODULE, "%s: truncate: %s",
                           j->path, strerror(errno));
    j->end = sizeof(struct journal_hdr);
    return 0;
}

uint64_t cat_journal_bytes(const struct cat_journal *j)
{
    return j->end - sizeof(struct journal_hdr);
}

void cat_journal_close(struct cat_journal *j, int remove_if_empty)
{
    if (!j)
        return;
    if (j->fd >= 0) {
        /* Unlinked while still locked: a process that opened the old
         * inode notices after taking the lock and starts over. */
        if (remove_if_empty && j->end <= sizeof(struct journal_hdr))
            unlink(j->path);
        close(j->fd);
    }
    free(j->path);
    free(j);
}

int cat_journal_peek(const char *jpath, const char *catalogue_id,
                     uint64_t after_seq, size_t *n_after)
{
    struct journal_hdr h;
    struct stat st;
    char *buf = NULL;
    size_t cap = 0;
    *n_after = 0;
    int fd = open(jpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < sizeof h ||
        pread_full(fd, &h, sizeof h, 0) < 0 || !header_ok(&h) ||
        strcmp(h.catalogue_id, catalogue_id) != 0) {
        close(fd);
        return 0;
    }
    uint64_t off = sizeof h, size = (uint64_t)st.st_size;
    while (off + sizeof(struct cat_rec_hdr) <= size) {
        struct cat_rec_hdr r;
        if (pread_full(fd, &r, sizeof r, off) < 0 || r.magic != REC_MAGIC ||
            r.len > REC_MAX_BYTES || r.len > size - off - sizeof r)
            break;
        if (r.len > cap) {
            char *p = realloc(buf, (size_t)r.len);
            if (!p)
                break;
            buf = p;
            cap = (size_t)r.len;
        }
        if (pread_full(fd, buf, (size_t)r.len, off + sizeof r) < 0 ||
            cat_crc32(rec_crc(&r), buf, (size_t)r.len) != r.crc)
            break;
        *n_after += r.seq > after_seq;
        off += sizeof r + r.len;
    }
    free(buf);
    close(fd);
    return 0;
}
