/*
 * /dataPortal/<name>: the archive's download URLs.
 *
 * Serves ROOT/dataPortal/<name> with Content-Length, Accept-Ranges: bytes
 * and Content-Disposition: attachment; filename=<name>. A single Range
 * (bytes=a-b, a-, -n) gives 206 with Content-Range, an unsatisfiable one
 * 416; a multi-range request gets the whole file (the ALMA service does
 * not do multipart ranges either). An ASDM may be fetched by its uid
 * (/dataPortal/uid___A002_X1_X2) as on the real portal: the file
 * *uid___A002_X1_X2.asdm.sdm.tar is served under its full name. Files that
 * table access marks Proprietary need HTTP Basic credentials.
 */
#include "sim.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".tar", "application/x-tar"}, {".tgz", "application/gzip"},
        {".gz", "application/gzip"},   {".fits", "application/fits"},
        {".txt", "text/plain"},        {".csv", "text/csv"},
        {".py", "text/x-python"},      {".pdf", "application/pdf"},
        {".html", "text/html"},        {".xml", "text/xml"},
        {".png", "image/png"},
    };
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t e = strlen(types[i].ext);
        if (n >= e && strcasecmp(name + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static int valid_name(const char *name)
{
    return name[0] && !strchr(name, '/') && !strstr(name, "..") &&
           strlen(name) < 512;
}

/* Parses one Range header against a file of `size` bytes. Returns 1 with
 * start and len for a satisfiable single range, 0 to ignore the header (send
 * everything), -1 when unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *start,
                       uint64_t *len)
{
    while (isspace((unsigned char)*h))
        h++;
    if (strncasecmp(h, "bytes=", 6) != 0)
        return 0;
    h += 6;
    if (strchr(h, ','))
        return 0;
    while (isspace((unsigned char)*h))
        h++;
    char *end;
    if (*h == '-') {
        if (!isdigit((unsigned char)h[1]))
            return 0;
        unsigned long long n = strtoull(h + 1, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (*end)
            return 0;
        if (n == 0 || size == 0)
            return -1;
        *start = n >= size ? 0 : size - n;
        *len = size - *start;
        return 1;
    }
    if (!isdigit((unsigned char)*h))
        return 0;
    errno = 0;
    unsigned long long a = strtoull(h, &end, 10);
    if (errno || *end != '-')
        return 0;
    const char *bs = end + 1;
    while (isspace((unsigned char)*bs))
        bs++;
    unsigned long long b = size ? size - 1 : 0;
    if (*bs) {
        if (!isdigit((unsigned char)*bs))
            return 0;
        b = strtoull(bs, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (errno || *end || b < a)
            return 0;
        if (size && b >= size)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *start = a;
    *len = b - a + 1;
    return 1;
}

/* Opens a regular file under the portal directory. Returns fd or -1. */
static int open_file(const struct asw_sim_config *cfg, const char *name,
                     struct stat *sb)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s", cfg->portal_dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, sb) || !S_ISREG(sb->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* uid___A002_X1_X2 -> the name of its .asdm.sdm.tar, malloc'd, or NULL. */
static char *find_asdm(const struct asw_sim_config *cfg, const char *uid)
{
    if (strncmp(uid, "uid___", 6) != 0)
        return NULL;
    DIR *d = opendir(cfg->portal_dir);
    if (!d)
        return NULL;
    char want[600];
    snprintf(want, sizeof(want), "%s.asdm.sdm.tar", uid);
    size_t wl = strlen(want);
    char *found = NULL;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n >= wl && strcmp(e->d_name + n - wl, want) == 0 &&
            (n == wl || e->d_name[n - wl - 1] == '_'))
            found = strdup(e->d_name);
    }
    closedir(d);
    return found;
}

/* data_rights of a file from table access; "Public" when not listed. */
static int is_proprietary(const struct asw_sim_config *cfg, const char *name,
                          int *prop, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    *prop = 0;
    if (asw_sim_db_open(cfg, &db, err, errlen) != SQLITE_OK)
        return -1;
    int rc = 0;
    if (sqlite3_prepare_v2(db, "SELECT data_rights FROM access WHERE name = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        /* No access table: everything is public. */
        goto out;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        *prop = r && strcasecmp(r, "Proprietary") == 0;
    } else if (s != SQLITE_DONE) {
        snprintf(err, errlen, "access table: %s", sqlite3_errmsg(db));
        rc = -1;
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int asw_sim_portal_get(const struct asw_sim_config *cfg, const char *name,
                       const char *range, const char *user,
                       const char *password, struct asw_sim_reply *reply)
{
    struct stat sb;
    char err[512];
    char *alt = NULL;
    int fd = -1, rc = 0, prop;

    if (!valid_name(name))
        return asw_sim_reply_text(reply, 404, "Not found: invalid name");
    fd = open_file(cfg, name, &sb);
    if (fd < 0 && (alt = find_asdm(cfg, name)) != NULL) {
        fd = open_file(cfg, alt, &sb);
        name = alt;
    }
    if (fd < 0) {
        rc = asw_sim_reply_text(reply, 404, "Not found: %s", name);
        goto out;
    }
    if (is_proprietary(cfg, name, &prop, err, sizeof(err))) {
        rc = asw_sim_reply_text(reply, 500, "%s", err);
        goto out;
    }
    if (prop && !(cfg->user && cfg->password && user && password &&
                  strcmp(user, cfg->user) == 0 &&
                  strcmp(password, cfg->password) == 0)) {
        rc = asw_sim_reply_text(reply, 401, "Unauthorized: %s is proprietary",
                                name);
        reply->auth_challenge = 1;
        goto out;
    }
    uint64_t size = (uint64_t)sb.st_size, start = 0, len = size;
    int pr = range ? parse_range(range, size, &start, &len) : 0;
    if (pr < 0) {
        rc = asw_sim_reply_text(reply, 416, "Range Not Satisfiable");
        snprintf(reply->content_range, sizeof(reply->content_range),
                 "bytes */%llu", (unsigned long long)size);
        reply->accept_ranges = 1;
        goto out;
    }
    reply->status = pr > 0 ? 206 : 200;
    if (pr > 0)
        snprintf(reply->content_range, sizeof(reply->content_range),
                 "bytes %llu-%llu/%llu", (unsigned long long)start,
                 (unsigned long long)(start + len - 1),
                 (unsigned long long)size);
    reply->content_type = content_type(name);
    reply->fd = fd;
    fd = -1;
    reply->fd_offset = start;
    reply->fd_length = len;
    reply->accept_ranges = 1;
    reply->filename = strdup(name);
    if (!reply->filename)
        rc = -1;
out:
    if (fd >= 0)
        close(fd);
    free(alt);
    return rc;
}
