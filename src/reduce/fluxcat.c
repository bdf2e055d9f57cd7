#include "fluxcat.h"

#include "src/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_COLS 32
#define CELL_MAX 512

/* Split one CSV line (RFC 4180 quoting) into at most MAX_COLS cells of at
 * most CELL_MAX - 1 characters each (longer cells are cut). Returns the
 * number of cells. */
static int split_csv(const char *s, size_t len, char cells[][CELL_MAX])
{
    int nc = 0;
    size_t i = 0;
    while (nc < MAX_COLS) {
        size_t k = 0;
        int quoted = i < len && s[i] == '"';
        if (quoted)
            i++;
        while (i < len) {
            char c = s[i];
            if (quoted && c == '"') {
                if (i + 1 < len && s[i + 1] == '"') {
                    i++;
                } else {
                    quoted = 0;
                    i++;
                    continue;
                }
            } else if (!quoted && c == ',') {
                break;
            }
            if (k < CELL_MAX - 1)
                cells[nc][k++] = c;
            i++;
        }
        /* strip surrounding blanks */
        while (k > 0 && (cells[nc][k - 1] == ' ' || cells[nc][k - 1] == '\r'))
            k--;
        cells[nc][k] = '\0';
        size_t lead = strspn(cells[nc], " ");
        if (lead)
            memmove(cells[nc], cells[nc] + lead, k - lead + 1);
        nc++;
        if (i >= len)
            break;
        i++; /* the comma */
    }
    return nc;
}

static int col_index(char hdr[][CELL_MAX], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(hdr[i], name) == 0)
            return i;
    return -1;
}

static int parse_int(const char *s, int *v)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || *end || errno || x < -1000000 || x > 1000000)
        return -1;
    *v = (int)x;
    return 0;
}

static int parse_double(const char *s, double *v)
{
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

int asw_fluxcat_parse(const char *text, size_t len, struct asw_fluxcat *cat,
                      struct asw_err *err)
{
    char cells[MAX_COLS][CELL_MAX];
    char hdr[MAX_COLS][CELL_MAX];
    int nh = -1, c_field = -1, c_spw = -1, c_i = -1, c_spix = -1, c_cmt = -1;
    size_t pos = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl != NULL);
        if (ll == 0 || line[0] == '#')
            continue;
        if (nh < 0) {
            nh = split_csv(line, ll, hdr);
            c_field = col_index(hdr, nh, "field");
            c_spw = col_index(hdr, nh, "spw");
            c_i = col_index(hdr, nh, "I");
            c_spix = col_index(hdr, nh, "spix");
            c_cmt = col_index(hdr, nh, "comment");
            if (c_field < 0 || c_spw < 0 || c_i < 0)
                return asw_err_set(err, ASW_EPARSE, "fluxcat",
                                   "flux.csv: no field, spw and I columns in "
                                   "the header");
            continue;
        }
        int nc = split_csv(line, ll, cells);
        struct asw_fluxcat_row r = {.field_id = -1, .spix = NAN};
        if (c_field >= nc || c_spw >= nc || c_i >= nc ||
            parse_int(cells[c_spw], &r.spw) ||
            parse_double(cells[c_i], &r.flux_jy))
            continue;
        if (c_spix >= 0 && c_spix < nc)
            parse_double(cells[c_spix], &r.spix);
        if (parse_int(cells[c_field], &r.field_id)) {
            r.field_id = -1;
            size_t fl = strlen(cells[c_field]);
            if (fl < sizeof r.field) /* a longer name is no field of ours */
                memcpy(r.field, cells[c_field], fl + 1);
        }
        /* "# field=J1924-2914 intents=..." names the field */
        if (c_cmt >= 0 && c_cmt < nc) {
            const char *f = strstr(cells[c_cmt], "field=");
            if (f) {
                f += 6;
                size_t fl = strcspn(f, " \t,\"");
                if (fl > 0 && fl < sizeof r.field) {
                    memcpy(r.field, f, fl);
                    r.field[fl] = '\0';
                }
            }
        }
        if (!r.field[0])
            continue;
        if (cat->n >= ASW_FLUXCAT_MAX_ROWS)
            return asw_err_set(err, ASW_ETOOBIG, "fluxcat",
                               "flux.csv: more than %d rows",
                               ASW_FLUXCAT_MAX_ROWS);
        if (cat->n == cat->cap) { /* geometric growth: linear overall */
            size_t want = cat->cap ? 2 * cat->cap : 64;
            if (want > ASW_FLUXCAT_MAX_ROWS)
                want = ASW_FLUXCAT_MAX_ROWS;
            struct asw_fluxcat_row *v = realloc(cat->rows, want * sizeof *v);
            if (!v)
                return asw_err_set(err, ASW_ENOMEM, "fluxcat", "out of memory");
            cat->rows = v;
            cat->cap = want;
        }
        cat->rows[cat->n++] = r;
    }
    if (nh < 0)
        return asw_err_set(err, ASW_EPARSE, "fluxcat", "flux.csv: empty");
    return 0;
}

int asw_fluxcat_load(const char *path, struct asw_fluxcat *cat,
                     struct asw_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return asw_err_set(err, ASW_EIO, "fluxcat", "%s: %s", path,
                           strerror(errno));
    char *buf = malloc(ASW_FLUXCAT_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return asw_err_set(err, ASW_ENOMEM, "fluxcat", "out of memory");
    }
    size_t n = fread(buf, 1, ASW_FLUXCAT_MAX_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad)
        rc = asw_err_set(err, ASW_EIO, "fluxcat", "%s: read error", path);
    else if (n > ASW_FLUXCAT_MAX_BYTES)
        rc = asw_err_set(err, ASW_ETOOBIG, "fluxcat",
                         "%s: larger than %zu bytes", path,
                         ASW_FLUXCAT_MAX_BYTES);
    else
        rc = asw_fluxcat_parse(buf, n, cat, err);
    free(buf);
    return rc;
}

double asw_fluxcat_lookup(const struct asw_fluxcat *cat, const char *source,
                          int spw)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; cat && i < cat->n; i++) {
        const struct asw_fluxcat_row *r = &cat->rows[i];
        if (r->spw == spw && strcmp(r->field, source) == 0) {
            sum += r->flux_jy;
            n++;
        }
    }
    return n ? sum / (double)n : NAN;
}

void asw_fluxcat_free(struct asw_fluxcat *cat)
{
    if (!cat)
        return;
    free(cat->rows);
    cat->rows = NULL;
    cat->n = cat->cap = 0;
}

int asw_fluxcat_load_optional(const char *path, struct asw_fluxcat *cat,
                              const char *who, struct asw_err *err)
{
    struct asw_err lerr = {0};
    int rc = asw_fluxcat_load(path, cat, &lerr);
    if (rc == ASW_ENOMEM)
        return asw_err_set(err, rc, "fluxcat", "out of memory");
    if (rc)
        asw_warn("%s: %s", who, lerr.msg);
    return 0;
}
