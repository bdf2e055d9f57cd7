/*
 * votable.c - streaming VOTable parser on expat, collector and writers.
 *
 * The parser keeps a stack of element kinds and reacts only to the
 * VOTable elements it knows; everything else is skipped. Cells of the
 * current row are appended to one buffer with their offsets, so a row is
 * a single allocation that is reused for the next row.
 */
#include "votable.h"

#include "src/buf.h"

#include <errno.h>
#include <expat.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOD "votable"

/* Namespace separator handed to expat: a control character that cannot
 * occur in a name or (legally) in a namespace URI. */
#define NS_SEP '\x1f'

/* feed() hands expat at most this much at a time, so the token cap is
 * checked often even when the caller passes one huge buffer. */
#define FEED_SLICE ((size_t)1 << 20)

#define NO_CELL SIZE_MAX

enum kind {
    K_OTHER,
    K_VOTABLE,
    K_RESOURCE,
    K_TABLE,
    K_FIELD,
    K_VALUES,
    K_PARAM,
    K_GROUP,
    K_INFO,
    K_DATA,
    K_TABLEDATA,
    K_BINARY,
    K_BINARY2,
    K_FITS,
    K_STREAM,
    K_TR,
    K_TD,
};

enum table_state { TS_NONE, TS_SELECTED, TS_SKIPPED };

enum lane { LANE_MAIN, LANE_FALLBACK };

enum data_mode { DM_NONE, DM_TABLEDATA, DM_BINARY, DM_BINARY2 };

/* BINARY/BINARY2 primitive types. */
enum btype {
    BT_BOOL,
    BT_BIT,
    BT_UBYTE,
    BT_CHAR,
    BT_UCHAR, /* unicodeChar, UCS-2 big-endian */
    BT_SHORT,
    BT_INT,
    BT_LONG,
    BT_FLOAT,
    BT_DOUBLE,
    BT_FCOMPLEX,
    BT_DCOMPLEX,
};

struct bcol {
    enum btype type;
    size_t esize;  /* bytes per element (bit: see bytes_for) */
    size_t count;  /* elements when fixed */
    int variable;  /* count prefix in the stream */
    int is_scalar; /* arraysize absent or 1 */
};

enum bphase { BP_MASK, BP_COUNT, BP_DATA };

struct resframe {
    char *id, *type, *utype;
    size_t index;
    int is_results;
};

struct asw_vot_parser {
    XML_Parser x;
    struct asw_vot_callbacks cb;
    void *ud;
    /* Internal: the collector's second lane for the fallback table. */
    struct asw_vot_callbacks fb_cb;
    void *fb_ud;
    int fallback;

    struct asw_vot_limits lim;

    unsigned char kinds[ASW_VOT_MAX_DEPTH + 1];
    char *gname[ASW_VOT_MAX_DEPTH + 1]; /* GROUP names, by depth */
    size_t depth;
    int root_seen, root_closed;

    struct resframe res[ASW_VOT_MAX_DEPTH];
    size_t nres, res_count;

    enum table_state tstate;
    enum lane lane;
    size_t table_depth;
    int main_taken, fb_taken;

    struct asw_vot_field *fields;
    size_t nfields, fields_cap;
    int fields_sent;
    enum data_mode dmode;

    /* current row */
    struct asw_buf row;
    size_t *off;
    const char **cells;
    size_t ncells, row_bytes, cell_start, nrows;
    int in_tr, in_td;

    /* INFO */
    size_t info_depth;
    char *info_name, *info_value;
    struct asw_buf text;

    /* BINARY/BINARY2 */
    struct bcol *bcols;
    int in_stream;
    size_t stream_depth;
    unsigned b64_acc;
    int b64_n;
    enum bphase bphase;
    size_t bcol_i;
    unsigned char *mask;
    size_t mask_len, mask_have;
    unsigned char cnt[4];
    size_t cnt_have;
    size_t need;
    size_t brow_in; /* stream bytes consumed by the current row */
    struct asw_buf raw;

    /* token cap bookkeeping */
    unsigned long long fed, last_end;

    int rc;
    int finished;
    struct asw_err err;
};

/* ---- small helpers ------------------------------------------------ */

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Duplicate s (which may be NULL) into *dst; 0 or -1 when out of memory. */
static int dup_opt(char **dst, const char *s)
{
    *dst = NULL;
    if (!s)
        return 0;
    *dst = xstrdup(s);
    return *dst ? 0 : -1;
}

static const char *local_name(const char *name)
{
    const char *s = strrchr(name, NS_SEP);
    return s ? s + 1 : name;
}

static const char *attr(const char **atts, const char *key)
{
    /* VOTable attributes are unqualified; a namespaced one such as
     * xsi:type arrives as "uri<NS_SEP>type" and never matches. */
    for (size_t i = 0; atts[i]; i += 2)
        if (strcmp(atts[i], key) == 0)
            return atts[i + 1];
    return NULL;
}

static enum kind classify(const char *local)
{
    static const struct {
        const char *name;
        enum kind k;
    } names[] = {
        {"VOTABLE", K_VOTABLE}, {"RESOURCE", K_RESOURCE},
        {"TABLE", K_TABLE},     {"FIELD", K_FIELD},
        {"VALUES", K_VALUES},   {"PARAM", K_PARAM},
        {"GROUP", K_GROUP},     {"INFO", K_INFO},
        {"DATA", K_DATA},       {"TABLEDATA", K_TABLEDATA},
        {"BINARY", K_BINARY},   {"BINARY2", K_BINARY2},
        {"FITS", K_FITS},       {"STREAM", K_STREAM},
        {"TR", K_TR},           {"TD", K_TD},
    };
    /* TR and TD are by far the most frequent: test them first. */
    if (local[0] == 'T' && local[2] == '\0') {
        if (local[1] == 'R')
            return K_TR;
        if (local[1] == 'D')
            return K_TD;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(local, names[i].name) == 0)
            return names[i].k;
    return K_OTHER;
}

static unsigned long line(struct asw_vot_parser *p)
{
    return (unsigned long)XML_GetCurrentLineNumber(p->x);
}

/* Record the first error, stop expat, return rc. */
static int fail(struct asw_vot_parser *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct asw_vot_parser *p, int rc, const char *fmt, ...)
{
    if (p->rc)
        return p->rc;
    p->rc = rc;
    p->err.code = rc;
    snprintf(p->err.module, sizeof p->err.module, "%s", MOD);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err.msg, sizeof p->err.msg, fmt, ap);
    va_end(ap);
    XML_StopParser(p->x, XML_FALSE);
    return rc;
}

static int nomem(struct asw_vot_parser *p)
{
    return fail(p, ASW_ENOMEM, "out of memory at line %lu", line(p));
}

/* A callback returned rc: stop with it, keeping the callback's message. */
static int stopped(struct asw_vot_parser *p, int rc, const char *what)
{
    if (!rc)
        return 0;
    if (p->rc)
        return p->rc;
    if (p->err.code && p->err.msg[0]) {
        p->rc = rc;
        p->err.code = rc;
        XML_StopParser(p->x, XML_FALSE);
        return rc;
    }
    return fail(p, rc, "parse stopped by the %s callback (code %d) at line %lu",
                what, rc, line(p));
}

/* The error carrier handed to a callback: cleared, so that a message left
 * by a callback that did not stop cannot leak into a later error. */
static struct asw_err *cb_err(struct asw_vot_parser *p)
{
    asw_err_clear(&p->err);
    return &p->err;
}

static void note_pos(struct asw_vot_parser *p)
{
    XML_Index i = XML_GetCurrentByteIndex(p->x);
    if (i >= 0)
        p->last_end =
            (unsigned long long)i + (unsigned)XML_GetCurrentByteCount(p->x);
}

static struct asw_vot_resource_info cur_res(const struct asw_vot_parser *p)
{
    struct asw_vot_resource_info r = {0};
    if (p->nres) {
        const struct resframe *f = &p->res[p->nres - 1];
        r.id = f->id;
        r.type = f->type;
        r.utype = f->utype;
        r.index = f->index;
        r.depth = p->nres;
    }
    return r;
}

static const struct asw_vot_callbacks *lane_cb(struct asw_vot_parser *p,
                                               void **ud)
{
    if (p->lane == LANE_FALLBACK) {
        *ud = p->fb_ud;
        return &p->fb_cb;
    }
    *ud = p->ud;
    return &p->cb;
}

static void field_clear(struct asw_vot_field *f)
{
    free(f->name);
    free(f->id);
    free(f->datatype);
    free(f->arraysize);
    free(f->unit);
    free(f->ucd);
    free(f->utype);
    free(f->xtype);
    free(f->null_value);
    memset(f, 0, sizeof *f);
}

static void fields_reset(struct asw_vot_parser *p)
{
    for (size_t i = 0; i < p->nfields; i++)
        field_clear(&p->fields[i]);
    p->nfields = 0;
    p->fields_sent = 0;
    free(p->off);
    free(p->cells);
    free(p->bcols);
    free(p->mask);
    p->off = NULL;
    p->cells = NULL;
    p->bcols = NULL;
    p->mask = NULL;
    p->nrows = 0;
}

/* ---- FIELDs and rows ---------------------------------------------- */

static int add_field(struct asw_vot_parser *p, const char **atts)
{
    if (p->fields_sent)
        return fail(p, ASW_EPARSE, "FIELD after DATA at line %lu", line(p));
    if (p->nfields >= p->lim.max_fields)
        return fail(p, ASW_ETOOBIG,
                    "TABLE has more than max_fields (%zu) FIELDs at line %lu",
                    p->lim.max_fields, line(p));
    if (p->nfields == p->fields_cap) {
        size_t cap = p->fields_cap ? 2 * p->fields_cap : 16;
        void *n = realloc(p->fields, cap * sizeof *p->fields);
        if (!n)
            return nomem(p);
        p->fields = n;
        p->fields_cap = cap;
    }
    struct asw_vot_field *f = &p->fields[p->nfields];
    memset(f, 0, sizeof *f);
    const char *name = attr(atts, "name");
    const char *id = attr(atts, "ID");
    const char *dt = attr(atts, "datatype");
    char gen[32];
    if (!name && !id)
        snprintf(gen, sizeof gen, "col%zu", p->nfields + 1);
    if (dup_opt(&f->name, name ? name
                          : id ? id
                               : gen) ||
        dup_opt(&f->id, id) || dup_opt(&f->datatype, dt ? dt : "char") ||
        dup_opt(&f->arraysize, attr(atts, "arraysize")) ||
        dup_opt(&f->unit, attr(atts, "unit")) ||
        dup_opt(&f->ucd, attr(atts, "ucd")) ||
        dup_opt(&f->utype, attr(atts, "utype")) ||
        dup_opt(&f->xtype, attr(atts, "xtype"))) {
        field_clear(f);
        return nomem(p);
    }
    p->nfields++;
    return 0;
}

static int send_fields(struct asw_vot_parser *p)
{
    if (p->fields_sent)
        return 0;
    p->fields_sent = 1;
    size_t n = p->nfields ? p->nfields : 1;
    p->off = calloc(n, sizeof *p->off);
    p->cells = calloc(n, sizeof *p->cells);
    if (!p->off || !p->cells)
        return nomem(p);
    void *ud;
    const struct asw_vot_callbacks *cb = lane_cb(p, &ud);
    if (cb->on_fields)
        return stopped(p, cb->on_fields(ud, p->fields, p->nfields, cb_err(p)),
                       "on_fields");
    return 0;
}

static void row_begin(struct asw_vot_parser *p)
{
    asw_buf_reset(&p->row);
    p->ncells = 0;
    p->row_bytes = 0;
    p->in_tr = 1;
}

static int row_emit(struct asw_vot_parser *p)
{
    p->in_tr = 0;
    if (p->nrows >= p->lim.max_rows)
        return fail(p, ASW_ETOOBIG,
                    "more than max_rows (%zu) rows: row index %zu at line %lu",
                    p->lim.max_rows, p->nrows, line(p));
    for (size_t i = p->ncells; i < p->nfields; i++)
        p->off[i] = NO_CELL;
    for (size_t i = 0; i < p->nfields; i++)
        p->cells[i] = p->off[i] == NO_CELL ? NULL : p->row.data + p->off[i];
    void *ud;
    const struct asw_vot_callbacks *cb = lane_cb(p, &ud);
    size_t r = p->nrows++;
    if (cb->on_row)
        return stopped(p, cb->on_row(ud, r, p->cells, p->nfields, cb_err(p)),
                       "on_row");
    return 0;
}

/* Start cell ncells of the current row. */
static int cell_begin(struct asw_vot_parser *p)
{
    if (p->ncells >= p->nfields)
        return fail(p, ASW_EPARSE,
                    "row index %zu has more TD cells than its %zu FIELDs "
                    "at line %lu",
                    p->nrows, p->nfields, line(p));
    p->cell_start = p->row.len;
    p->off[p->ncells] = p->row.len;
    return 0;
}

static int cell_append(struct asw_vot_parser *p, const char *s, size_t n)
{
    size_t have = p->row.len - p->cell_start;
    if (n > p->lim.max_cell_bytes - have)
        return fail(p, ASW_ETOOBIG,
                    "cell exceeds max_cell_bytes (%zu) at row index %zu, "
                    "column %zu ('%s'), line %lu",
                    p->lim.max_cell_bytes, p->nrows, p->ncells,
                    p->fields[p->ncells].name, line(p));
    if (n > p->lim.max_row_bytes - p->row_bytes)
        return fail(p, ASW_ETOOBIG,
                    "row exceeds max_row_bytes (%zu) at row index %zu, "
                    "line %lu",
                    p->lim.max_row_bytes, p->nrows, line(p));
    if (asw_buf_append(&p->row, s, n))
        return nomem(p);
    p->row_bytes += n;
    return 0;
}

/* End the current cell: empty -> NULL, else NUL-terminate. */
static int cell_end(struct asw_vot_parser *p)
{
    if (p->row.len == p->cell_start) {
        p->off[p->ncells] = NO_CELL;
    } else if (asw_buf_append(&p->row, "", 1)) {
        return nomem(p);
    }
    p->ncells++;
    return 0;
}

/* ---- BINARY / BINARY2 --------------------------------------------- */

static int btype_of(const char *dt, enum btype *t, size_t *esize)
{
    static const struct {
        const char *name;
        enum btype t;
        size_t size;
    } types[] = {
        {"boolean", BT_BOOL, 1},
        {"bit", BT_BIT, 1},
        {"unsignedByte", BT_UBYTE, 1},
        {"char", BT_CHAR, 1},
        {"unicodeChar", BT_UCHAR, 2},
        {"short", BT_SHORT, 2},
        {"int", BT_INT, 4},
        {"long", BT_LONG, 8},
        {"float", BT_FLOAT, 4},
        {"double", BT_DOUBLE, 8},
        {"floatComplex", BT_FCOMPLEX, 8},
        {"doubleComplex", BT_DCOMPLEX, 16},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dt, types[i].name) == 0) {
            *t = types[i].t;
            *esize = types[i].size;
            return 0;
        }
    return -1;
}

/* Parse an arraysize ("*", "10", "10*", "3x2", "3x*") into *c. */
static int parse_arraysize(const char *as, struct bcol *c)
{
    c->count = 1;
    c->variable = 0;
    c->is_scalar = 1;
    if (!as || strcmp(as, "1") == 0)
        return 0;
    c->is_scalar = 0;
    const char *s = as;
    size_t total = 1;
    for (;;) {
        if (*s == '*') {
            c->variable = 1;
            s++;
        } else {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(s, &end, 10);
            if (end == s || errno || v == 0 || v > SIZE_MAX / total)
                return -1;
            total *= (size_t)v;
            s = end;
            if (*s == '*') {
                c->variable = 1;
                s++;
            }
        }
        if (*s == '\0')
            break;
        if (*s != 'x' || c->variable)
            return -1;
        s++;
    }
    c->count = total;
    return 0;
}

static int binary_begin(struct asw_vot_parser *p, const char **atts)
{
    if (attr(atts, "href"))
        return fail(p, ASW_EPARSE,
                    "STREAM with href (external data) not supported at line "
                    "%lu",
                    line(p));
    const char *enc = attr(atts, "encoding");
    if (enc && strcmp(enc, "base64") != 0)
        return fail(p, ASW_EPARSE,
                    "STREAM encoding '%s' not supported (only base64) at line "
                    "%lu",
                    enc, line(p));
    if (p->nfields == 0)
        return fail(p, ASW_EPARSE,
                    "binary STREAM in a TABLE without FIELDs "
                    "at line %lu",
                    line(p));
    if (p->bcols)
        return fail(p, ASW_EPARSE, "second binary STREAM at line %lu", line(p));
    p->bcols = calloc(p->nfields, sizeof *p->bcols);
    if (!p->bcols)
        return nomem(p);
    for (size_t i = 0; i < p->nfields; i++) {
        struct bcol *c = &p->bcols[i];
        const struct asw_vot_field *f = &p->fields[i];
        if (btype_of(f->datatype, &c->type, &c->esize))
            return fail(p, ASW_EPARSE,
                        "binary STREAM: unknown datatype '%s' of FIELD '%s'",
                        f->datatype, f->name);
        if (parse_arraysize(f->arraysize, c))
            return fail(p, ASW_EPARSE,
                        "binary STREAM: bad arraysize '%s' of FIELD '%s'",
                        f->arraysize, f->name);
        if (!c->variable && c->count > p->lim.max_cell_bytes / c->esize)
            return fail(p, ASW_ETOOBIG,
                        "FIELD '%s' arraysize over max_cell_bytes (%zu)",
                        f->name, p->lim.max_cell_bytes);
    }
    p->mask_len = p->dmode == DM_BINARY2 ? (p->nfields + 7) / 8 : 0;
    if (p->mask_len && !(p->mask = malloc(p->mask_len)))
        return nomem(p);
    asw_buf_reset(&p->raw);
    p->in_stream = 1;
    p->stream_depth = p->depth;
    p->b64_acc = 0;
    p->b64_n = 0;
    p->bphase = BP_MASK;
    p->mask_have = 0;
    p->brow_in = 0;
    row_begin(p);
    return 0;
}

static size_t bytes_for(const struct bcol *c, size_t count)
{
    return c->type == BT_BIT ? (count + 7) / 8 : count * c->esize;
}

static uint64_t be(const unsigned char *b, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

/* Shortest %g form of d that reads back to the same double. */
static void fmt_double(char *buf, size_t n, double d)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* Shortest %g form of a 32-bit float that reads back to the same float. */
static void fmt_float(char *buf, size_t n, float f)
{
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, n, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f)
            return;
    }
}

static void fmt_special(char *buf, size_t n, double d)
{
    if (isnan(d))
        snprintf(buf, n, "NaN");
    else
        snprintf(buf, n, "%sInf", d < 0 ? "-" : "+");
}

/* Append one UTF-8 encoded code point. */
static int put_utf8(struct asw_vot_parser *p, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return cell_append(p, u, n);
}

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned long cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Text of element i of a numeric or boolean binary value. */
static int fmt_elem(struct asw_vot_parser *p, const struct bcol *c,
                    const unsigned char *b, int *is_null)
{
    char buf[80];
    *is_null = 0;
    switch (c->type) {
    case BT_BOOL:
        switch (b[0]) {
        case 'T':
        case 't':
        case '1':
            snprintf(buf, sizeof buf, "T");
            break;
        case 'F':
        case 'f':
        case '0':
            snprintf(buf, sizeof buf, "F");
            break;
        default:
            snprintf(buf, sizeof buf, "?");
            *is_null = 1;
        }
        break;
    case BT_UBYTE:
        snprintf(buf, sizeof buf, "%u", b[0]);
        break;
    case BT_SHORT:
        snprintf(buf, sizeof buf, "%d", (int)(int16_t)be(b, 2));
        break;
    case BT_INT:
        snprintf(buf, sizeof buf, "%ld", (long)(int32_t)be(b, 4));
        break;
    case BT_LONG:
        snprintf(buf, sizeof buf, "%lld", (long long)(int64_t)be(b, 8));
        break;
    case BT_FLOAT:
    case BT_FCOMPLEX: {
        size_t n = c->type == BT_FLOAT ? 1 : 2;
        size_t o = 0;
        for (size_t k = 0; k < n; k++) {
            uint32_t u = (uint32_t)be(b + 4 * k, 4);
            float f;
            memcpy(&f, &u, 4);
            if (k)
                buf[o++] = ' ';
            if (isfinite(f))
                fmt_float(buf + o, sizeof buf - o, f);
            else
                fmt_special(buf + o, sizeof buf - o, f);
            o = strlen(buf);
        }
        *is_null = c->type == BT_FLOAT && isnan(strtod(buf, NULL));
        break;
    }
    case BT_DOUBLE:
    case BT_DCOMPLEX: {
        size_t n = c->type == BT_DOUBLE ? 1 : 2;
        size_t o = 0;
        for (size_t k = 0; k < n; k++) {
            uint64_t u = be(b + 8 * k, 8);
            double d;
            memcpy(&d, &u, 8);
            if (k)
                buf[o++] = ' ';
            if (isfinite(d))
                fmt_double(buf + o, sizeof buf - o, d);
            else
                fmt_special(buf + o, sizeof buf - o, d);
            o = strlen(buf);
        }
        *is_null = c->type == BT_DOUBLE && isnan(strtod(buf, NULL));
        break;
    }
    default:
        buf[0] = '\0';
    }
    return cell_append(p, buf, strlen(buf));
}

/* Turn the raw bytes of column bcol_i into its TABLEDATA text. */
static int binary_cell(struct asw_vot_parser *p, size_t count)
{
    size_t col = p->bcol_i;
    const struct bcol *c = &p->bcols[col];
    const unsigned char *b = (const unsigned char *)p->raw.data;
    int rc = 0;
    if (cell_begin(p))
        return p->rc;
    int null = p->mask_len && (p->mask[col / 8] & (0x80 >> (col % 8)));
    if (null || count == 0) {
        p->off[p->ncells++] = NO_CELL;
        return 0;
    }
    if (c->type == BT_CHAR) {
        size_t n = 0;
        while (n < count && b[n])
            n++;
        /* char is ASCII by the standard: keep valid UTF-8, replace the
         * rest so the JSON writer never sees invalid bytes. */
        for (size_t i = 0; i < n && !rc;) {
            size_t l = utf8_len(b + i, n - i);
            if (l) {
                rc = cell_append(p, (const char *)b + i, l);
                i += l;
            } else {
                rc = put_utf8(p, 0xFFFD);
                i++;
            }
        }
    } else if (c->type == BT_UCHAR) {
        for (size_t i = 0; i < count && !rc; i++) {
            unsigned long u = (unsigned long)be(b + 2 * i, 2);
            if (u == 0)
                break;
            if (u >= 0xD800 && u <= 0xDBFF && i + 1 < count) {
                unsigned long lo = (unsigned long)be(b + 2 * i + 2, 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    i++;
                }
            }
            if (u >= 0xD800 && u <= 0xDFFF)
                u = 0xFFFD;
            rc = put_utf8(p, u);
        }
    } else if (c->type == BT_BIT) {
        for (size_t i = 0; i < count && !rc; i++) {
            char t[2] = {(b[i / 8] & (0x80 >> (i % 8))) ? '1' : '0', ' '};
            rc = cell_append(p, t, i + 1 < count ? 2 : 1);
        }
    } else {
        int all_null = 1;
        for (size_t i = 0; i < count && !rc; i++) {
            int en = 0;
            if (i)
                rc = cell_append(p, " ", 1);
            if (!rc)
                rc = fmt_elem(p, c, b + i * c->esize, &en);
            all_null &= en;
        }
        if (!rc && c->is_scalar && all_null) {
            /* A scalar NaN or "?" boolean is the binary null. */
            p->row.len = p->cell_start;
            p->row.data[p->row.len] = '\0';
        }
    }
    if (rc)
        return rc;
    return cell_end(p);
}

static int binary_start_col(struct asw_vot_parser *p)
{
    while (p->bcol_i < p->nfields) {
        const struct bcol *c = &p->bcols[p->bcol_i];
        asw_buf_reset(&p->raw);
        if (c->variable) {
            p->bphase = BP_COUNT;
            p->cnt_have = 0;
            return 0;
        }
        p->need = bytes_for(c, c->count);
        p->bphase = BP_DATA;
        if (p->need)
            return 0;
        if (binary_cell(p, 0))
            return p->rc;
        p->bcol_i++;
    }
    /* Row complete. */
    if (row_emit(p))
        return p->rc;
    row_begin(p);
    p->bphase = BP_MASK;
    p->mask_have = 0;
    p->bcol_i = 0;
    p->brow_in = 0;
    if (p->mask_len == 0)
        return binary_start_col(p) ? p->rc : 0;
    return 0;
}

static int binary_bytes(struct asw_vot_parser *p, const unsigned char *d,
                        size_t n)
{
    while (n) {
        switch (p->bphase) {
        case BP_MASK: {
            size_t k = p->mask_len - p->mask_have;
            if (k > n)
                k = n;
            if (k)
                memcpy(p->mask + p->mask_have, d, k);
            p->mask_have += k;
            p->brow_in += k;
            d += k;
            n -= k;
            if (p->mask_have == p->mask_len) {
                p->bcol_i = 0;
                if (binary_start_col(p))
                    return p->rc;
            }
            break;
        }
        case BP_COUNT: {
            p->cnt[p->cnt_have++] = *d++;
            p->brow_in++;
            n--;
            if (p->cnt_have == 4) {
                const struct bcol *c = &p->bcols[p->bcol_i];
                uint64_t cnt = be(p->cnt, 4);
                if (cnt > p->lim.max_cell_bytes / c->esize)
                    return fail(p, ASW_ETOOBIG,
                                "binary cell of %llu elements exceeds "
                                "max_cell_bytes (%zu) at row index %zu, "
                                "column %zu ('%s'), line %lu",
                                (unsigned long long)cnt, p->lim.max_cell_bytes,
                                p->nrows, p->bcol_i, p->fields[p->bcol_i].name,
                                line(p));
                /* Reuse need for bytes and cnt_have for the count. */
                p->need = bytes_for(c, (size_t)cnt);
                p->cnt_have = (size_t)cnt;
                p->bphase = BP_DATA;
                if (p->need == 0) {
                    if (binary_cell(p, 0))
                        return p->rc;
                    p->bcol_i++;
                    if (binary_start_col(p))
                        return p->rc;
                }
            }
            break;
        }
        case BP_DATA: {
            size_t k = p->need - p->raw.len;
            if (k > n)
                k = n;
            if (asw_buf_append(&p->raw, d, k))
                return nomem(p);
            p->brow_in += k;
            d += k;
            n -= k;
            if (p->raw.len == p->need) {
                const struct bcol *c = &p->bcols[p->bcol_i];
                size_t count = c->variable ? p->cnt_have : c->count;
                if (binary_cell(p, count))
                    return p->rc;
                p->bcol_i++;
                if (binary_start_col(p))
                    return p->rc;
            }
            break;
        }
        }
    }
    return 0;
}

static int b64_val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Flush a partial base64 quantum (at '=' or at the end of the STREAM). */
static int b64_flush(struct asw_vot_parser *p)
{
    unsigned char out[2];
    size_t n;
    if (p->b64_n == 0)
        return 0;
    if (p->b64_n == 1)
        return fail(p, ASW_EPARSE, "truncated base64 in STREAM at line %lu",
                    line(p));
    if (p->b64_n == 2) {
        out[0] = (unsigned char)(p->b64_acc >> 4);
        n = 1;
    } else {
        out[0] = (unsigned char)(p->b64_acc >> 10);
        out[1] = (unsigned char)(p->b64_acc >> 2);
        n = 2;
    }
    p->b64_acc = 0;
    p->b64_n = 0;
    return binary_bytes(p, out, n);
}

static int b64_chars(struct asw_vot_parser *p, const char *s, size_t len)
{
    unsigned char out[768];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
            continue;
        if (ch == '=') {
            if (n && binary_bytes(p, out, n))
                return p->rc;
            n = 0;
            if (b64_flush(p))
                return p->rc;
            continue;
        }
        int v = b64_val(ch);
        if (v < 0)
            return fail(p, ASW_EPARSE,
                        "invalid base64 character 0x%02x in STREAM at line "
                        "%lu",
                        ch, line(p));
        p->b64_acc = (p->b64_acc << 6 | (unsigned)v) & 0xFFFFFF;
        if (++p->b64_n == 4) {
            out[n++] = (unsigned char)(p->b64_acc >> 16);
            out[n++] = (unsigned char)(p->b64_acc >> 8);
            out[n++] = (unsigned char)p->b64_acc;
            p->b64_acc = 0;
            p->b64_n = 0;
            if (n + 3 > sizeof out) {
                if (binary_bytes(p, out, n))
                    return p->rc;
                n = 0;
            }
        }
    }
    if (n && binary_bytes(p, out, n))
        return p->rc;
    return 0;
}

static int binary_end(struct asw_vot_parser *p)
{
    p->in_stream = 0;
    if (b64_flush(p))
        return p->rc;
    if (p->brow_in)
        return fail(p, ASW_EPARSE,
                    "binary STREAM ends inside row index %zu at line %lu",
                    p->nrows, line(p));
    p->in_tr = 0;
    return 0;
}

/* ---- expat handlers ----------------------------------------------- */

static int res_push(struct asw_vot_parser *p, const char **atts)
{
    struct resframe *f = &p->res[p->nres];
    const char *type = attr(atts, "type");
    if (dup_opt(&f->id, attr(atts, "ID")) || dup_opt(&f->type, type) ||
        dup_opt(&f->utype, attr(atts, "utype"))) {
        free(f->id);
        free(f->type);
        free(f->utype);
        return nomem(p);
    }
    f->index = p->res_count++;
    f->is_results = !type || strcmp(type, "results") == 0;
    p->nres++;
    return 0;
}

static void res_pop(struct asw_vot_parser *p)
{
    struct resframe *f = &p->res[--p->nres];
    free(f->id);
    free(f->type);
    free(f->utype);
}

static void table_begin(struct asw_vot_parser *p)
{
    int results = p->nres == 0 || p->res[p->nres - 1].is_results;
    p->table_depth = p->depth;
    p->dmode = DM_NONE;
    if (results && !p->main_taken) {
        p->tstate = TS_SELECTED;
        p->lane = LANE_MAIN;
        p->main_taken = 1;
    } else if (p->fallback && !p->main_taken && !p->fb_taken) {
        p->tstate = TS_SELECTED;
        p->lane = LANE_FALLBACK;
        p->fb_taken = 1;
    } else {
        p->tstate = TS_SKIPPED;
        return;
    }
    fields_reset(p);
}

static int info_begin(struct asw_vot_parser *p, const char **atts)
{
    if (p->info_depth)
        return 0; /* INFO has no child elements; ignore a nested one */
    if (dup_opt(&p->info_name, attr(atts, "name")) ||
        dup_opt(&p->info_value, attr(atts, "value")))
        return nomem(p);
    p->info_depth = p->depth;
    asw_buf_reset(&p->text);
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int info_end(struct asw_vot_parser *p)
{
    p->info_depth = 0;
    char *t = p->text.data;
    size_t n = p->text.len;
    while (n && is_space(*t)) {
        t++;
        n--;
    }
    while (n && is_space(t[n - 1]))
        n--;
    if (t)
        t[n] = '\0';
    struct asw_vot_resource_info r = cur_res(p);
    int rc = 0;
    if (p->cb.on_info)
        rc = p->cb.on_info(p->ud, p->nres ? &r : NULL, p->info_name,
                           p->info_value, n ? t : NULL, cb_err(p));
    free(p->info_name);
    free(p->info_value);
    p->info_name = p->info_value = NULL;
    return stopped(p, rc, "on_info");
}

static int param(struct asw_vot_parser *p, const char **atts, enum kind parent)
{
    if (!p->cb.on_param)
        return 0;
    struct asw_vot_resource_info r = cur_res(p);
    const char *group = parent == K_GROUP ? p->gname[p->depth - 1] : NULL;
    int rc = p->cb.on_param(p->ud, p->nres ? &r : NULL, group,
                            attr(atts, "name"), attr(atts, "value"), cb_err(p));
    return stopped(p, rc, "on_param");
}

static void XMLCALL on_start(void *ud, const char *name, const char **atts)
{
    struct asw_vot_parser *p = ud;
    if (p->rc)
        return;
    note_pos(p);
    const char *local = local_name(name);
    if (p->depth >= ASW_VOT_MAX_DEPTH) {
        fail(p, ASW_ETOOBIG, "elements nested deeper than %d at line %lu",
             ASW_VOT_MAX_DEPTH, line(p));
        return;
    }
    enum kind k = classify(local);
    enum kind parent = p->depth ? (enum kind)p->kinds[p->depth] : K_OTHER;
    p->depth++;
    p->kinds[p->depth] = (unsigned char)k;
    p->gname[p->depth] = NULL;

    if (p->depth == 1) {
        p->root_seen = 1;
        if (k != K_VOTABLE) {
            fail(p, ASW_EPARSE, "root element is <%.64s>, not <VOTABLE>",
                 local);
            return;
        }
    }
    int in_sel = p->tstate == TS_SELECTED;
    switch (k) {
    case K_RESOURCE:
        res_push(p, atts);
        break;
    case K_TABLE:
        if (p->tstate == TS_NONE)
            table_begin(p);
        break;
    case K_FIELD:
        if (in_sel && parent == K_TABLE && p->depth == p->table_depth + 1)
            add_field(p, atts);
        break;
    case K_VALUES:
        if (in_sel && parent == K_FIELD && p->depth == p->table_depth + 2 &&
            p->nfields && !p->fields_sent) {
            struct asw_vot_field *f = &p->fields[p->nfields - 1];
            const char *nv = attr(atts, "null");
            if (nv && !f->null_value && dup_opt(&f->null_value, nv))
                nomem(p);
        }
        break;
    case K_GROUP:
        if (dup_opt(&p->gname[p->depth], attr(atts, "name")))
            nomem(p);
        break;
    case K_PARAM:
        param(p, atts, parent);
        break;
    case K_INFO:
        info_begin(p, atts);
        break;
    case K_DATA:
        if (in_sel && parent == K_TABLE && p->depth == p->table_depth + 1)
            send_fields(p);
        break;
    case K_TABLEDATA:
    case K_BINARY:
    case K_BINARY2:
    case K_FITS:
        if (in_sel && parent == K_DATA && p->dmode == DM_NONE &&
            p->depth == p->table_depth + 2) {
            if (k == K_FITS)
                fail(p, ASW_EPARSE,
                     "FITS serialization not supported at line %lu", line(p));
            p->dmode = k == K_TABLEDATA ? DM_TABLEDATA
                       : k == K_BINARY  ? DM_BINARY
                                        : DM_BINARY2;
        }
        break;
    case K_STREAM:
        if (in_sel && (parent == K_BINARY || parent == K_BINARY2) &&
            p->dmode != DM_TABLEDATA && p->dmode != DM_NONE && !p->in_stream &&
            p->depth == p->table_depth + 3)
            binary_begin(p, atts);
        break;
    case K_TR:
        if (in_sel && parent == K_TABLEDATA && p->dmode == DM_TABLEDATA &&
            p->depth == p->table_depth + 3)
            row_begin(p);
        break;
    case K_TD:
        if (in_sel && parent == K_TR && p->in_tr && !p->in_td) {
            if (cell_begin(p) == 0)
                p->in_td = 1;
        }
        break;
    default:
        break;
    }
}

static void XMLCALL on_end(void *ud, const char *name)
{
    struct asw_vot_parser *p = ud;
    (void)name;
    if (p->rc)
        return;
    note_pos(p);
    enum kind k = (enum kind)p->kinds[p->depth];
    switch (k) {
    case K_TD:
        if (p->in_td && p->kinds[p->depth - 1] == K_TR) {
            p->in_td = 0;
            cell_end(p);
        }
        break;
    case K_TR:
        if (p->in_tr && p->dmode == DM_TABLEDATA &&
            p->kinds[p->depth - 1] == K_TABLEDATA)
            row_emit(p);
        break;
    case K_STREAM:
        if (p->in_stream && p->depth == p->stream_depth)
            binary_end(p);
        break;
    case K_INFO:
        if (p->info_depth == p->depth)
            info_end(p);
        break;
    case K_TABLE:
        if (p->tstate != TS_NONE && p->depth == p->table_depth) {
            if (p->tstate == TS_SELECTED)
                send_fields(p);
            p->tstate = TS_NONE;
        }
        break;
    case K_RESOURCE:
        if (p->nres) {
            struct asw_vot_resource_info r = cur_res(p);
            int rc = 0;
            if (p->cb.on_resource_end)
                rc = p->cb.on_resource_end(p->ud, &r, cb_err(p));
            res_pop(p);
            stopped(p, rc, "on_resource_end");
        }
        break;
    default:
        break;
    }
    free(p->gname[p->depth]);
    p->gname[p->depth] = NULL;
    p->depth--;
    if (p->depth == 0)
        p->root_closed = 1;
}

static void XMLCALL on_chars(void *ud, const char *s, int len)
{
    struct asw_vot_parser *p = ud;
    if (p->rc)
        return;
    note_pos(p);
    if (p->in_td) {
        cell_append(p, s, (size_t)len);
    } else if (p->in_stream) {
        b64_chars(p, s, (size_t)len);
    } else if (p->info_depth) {
        if (p->text.len + (size_t)len > p->lim.max_cell_bytes)
            fail(p, ASW_ETOOBIG,
                 "INFO text exceeds max_cell_bytes (%zu) at line %lu",
                 p->lim.max_cell_bytes, line(p));
        else if (asw_buf_append(&p->text, s, (size_t)len))
            nomem(p);
    }
}

/* Comments, processing instructions, declarations: only note progress. */
static void XMLCALL on_default(void *ud, const char *s, int len)
{
    (void)s;
    (void)len;
    note_pos(ud);
}

/* ---- push API ------------------------------------------------------ */

static void limits_resolve(struct asw_vot_limits *l,
                           const struct asw_vot_limits *in)
{
    struct asw_vot_limits z = {0};
    *l = in ? *in : z;
    if (!l->max_cell_bytes)
        l->max_cell_bytes = ASW_VOT_MAX_CELL_BYTES;
    if (!l->max_row_bytes)
        l->max_row_bytes = ASW_VOT_MAX_ROW_BYTES;
    if (!l->max_fields)
        l->max_fields = ASW_VOT_MAX_FIELDS;
    if (!l->max_rows)
        l->max_rows = SIZE_MAX;
    if (!l->max_token_bytes)
        l->max_token_bytes = ASW_VOT_MAX_TOKEN_BYTES;
    if (!l->max_total_bytes)
        l->max_total_bytes = ASW_VOT_COLLECT_MAX_BYTES;
}

struct asw_vot_parser *asw_vot_parser_new(const struct asw_vot_callbacks *cb,
                                          void *ud,
                                          const struct asw_vot_limits *lim)
{
    struct asw_vot_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->x = XML_ParserCreateNS(NULL, NS_SEP);
    if (!p->x) {
        free(p);
        return NULL;
    }
    if (cb)
        p->cb = *cb;
    p->ud = ud;
    limits_resolve(&p->lim, lim);
    /* Cells are capped one by one in cell_append; the buffer cap is a
     * backstop that also leaves room for the NUL after every cell. */
    asw_buf_init(&p->row, SIZE_MAX / 2);
    asw_buf_init(&p->text, p->lim.max_cell_bytes);
    asw_buf_init(&p->raw, p->lim.max_cell_bytes);
    XML_SetUserData(p->x, p);
    XML_SetElementHandler(p->x, on_start, on_end);
    XML_SetCharacterDataHandler(p->x, on_chars);
    XML_SetDefaultHandlerExpand(p->x, on_default);
    return p;
}

static int expat_error(struct asw_vot_parser *p)
{
    enum XML_Error e = XML_GetErrorCode(p->x);
    if (p->rc)
        return p->rc;
    return fail(p, ASW_EPARSE, "XML error at line %lu, column %lu: %s",
                (unsigned long)XML_GetCurrentLineNumber(p->x),
                (unsigned long)XML_GetCurrentColumnNumber(p->x) + 1,
                XML_ErrorString(e));
}

static int report(struct asw_vot_parser *p, struct asw_err *err)
{
    if (p->rc && err)
        *err = p->err;
    return p->rc;
}

int asw_vot_parser_feed(struct asw_vot_parser *p, const char *data, size_t len,
                        struct asw_err *err)
{
    if (!p->rc && p->finished)
        fail(p, ASW_EINVAL, "feed after finish");
    while (!p->rc && len) {
        size_t n = len < FEED_SLICE ? len : FEED_SLICE;
        if (XML_Parse(p->x, data, (int)n, 0) != XML_STATUS_OK) {
            expat_error(p);
            break;
        }
        p->fed += n;
        data += n;
        len -= n;
        if (p->fed - p->last_end > p->lim.max_token_bytes)
            fail(p, ASW_ETOOBIG,
                 "an unfinished XML token (tag, attribute or comment) "
                 "exceeds max_token_bytes (%zu) after line %lu",
                 p->lim.max_token_bytes,
                 (unsigned long)XML_GetCurrentLineNumber(p->x));
    }
    return report(p, err);
}

int asw_vot_parser_finish(struct asw_vot_parser *p, struct asw_err *err)
{
    if (!p->rc && !p->finished) {
        p->finished = 1;
        if (XML_Parse(p->x, "", 0, 1) != XML_STATUS_OK)
            expat_error(p);
        else if (!p->root_seen)
            fail(p, ASW_EPARSE, "empty document");
        else if (!p->root_closed)
            fail(p, ASW_EPARSE, "document ended before </VOTABLE>");
    }
    return report(p, err);
}

size_t asw_vot_parser_rows(const struct asw_vot_parser *p)
{
    return p->nrows;
}

void asw_vot_parser_free(struct asw_vot_parser *p)
{
    if (!p)
        return;
    XML_ParserFree(p->x);
    fields_reset(p);
    free(p->fields);
    while (p->nres)
        res_pop(p);
    for (size_t i = 0; i <= ASW_VOT_MAX_DEPTH; i++)
        free(p->gname[i]);
    free(p->info_name);
    free(p->info_value);
    asw_buf_free(&p->row);
    asw_buf_free(&p->text);
    asw_buf_free(&p->raw);
    free(p);
}

/* ---- collector ----------------------------------------------------- */

struct lane_store {
    struct asw_vot_collector *c;
    struct asw_vot_field *fields;
    size_t nfields;
    int have_table;
    char ***rows;
    size_t nrows, rows_cap;
};

struct asw_vot_collector {
    struct asw_vot_parser *p;
    struct asw_vot_table *t;
    struct lane_store main, fb;
    size_t max_rows, max_total, total;
    size_t res_cap, info_cap;
};

static void free_rows(char ***rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i]);
    free(rows);
}

static void free_fields(struct asw_vot_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        field_clear(&f[i]);
    free(f);
}

static int c_nomem(struct asw_err *err)
{
    return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory while collecting");
}

/* Count bytes the collector keeps against max_total_bytes. */
static int c_charge(struct asw_vot_collector *c, size_t bytes, size_t row,
                    struct asw_err *err)
{
    if (bytes > c->max_total - c->total)
        return asw_err_set(err, ASW_ETOOBIG, MOD,
                           "table exceeds max_total_bytes (%zu) at row "
                           "index %zu",
                           c->max_total, row);
    c->total += bytes;
    return 0;
}

static size_t slen(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static int c_fields(void *ud, const struct asw_vot_field *f, size_t n,
                    struct asw_err *err)
{
    struct lane_store *s = ud;
    s->have_table = 1;
    s->fields = calloc(n ? n : 1, sizeof *s->fields);
    if (!s->fields)
        return c_nomem(err);
    s->nfields = n;
    for (size_t i = 0; i < n; i++) {
        struct asw_vot_field *d = &s->fields[i];
        if (dup_opt(&d->name, f[i].name) || dup_opt(&d->id, f[i].id) ||
            dup_opt(&d->datatype, f[i].datatype) ||
            dup_opt(&d->arraysize, f[i].arraysize) ||
            dup_opt(&d->unit, f[i].unit) || dup_opt(&d->ucd, f[i].ucd) ||
            dup_opt(&d->utype, f[i].utype) || dup_opt(&d->xtype, f[i].xtype) ||
            dup_opt(&d->null_value, f[i].null_value))
            return c_nomem(err);
    }
    return 0;
}

static int c_row(void *ud, size_t row, const char *const *cells, size_t n,
                 struct asw_err *err)
{
    struct lane_store *s = ud;
    struct asw_vot_collector *c = s->c;
    if (s->nrows >= c->max_rows)
        return asw_err_set(err, ASW_ETOOBIG, MOD,
                           "more than max_rows (%zu) rows: row index %zu",
                           c->max_rows, row);
    size_t bytes = n * sizeof(char *);
    for (size_t i = 0; i < n; i++)
        if (cells[i])
            bytes += strlen(cells[i]) + 1;
    int rc = c_charge(c, bytes + sizeof(char **), row, err);
    if (rc)
        return rc;
    if (s->nrows == s->rows_cap) {
        size_t cap = s->rows_cap ? 2 * s->rows_cap : 64;
        char ***r = realloc(s->rows, cap * sizeof *r);
        if (!r)
            return c_nomem(err);
        s->rows = r;
        s->rows_cap = cap;
    }
    char **blk = malloc(bytes ? bytes : 1);
    if (!blk)
        return c_nomem(err);
    char *str = (char *)(blk + n);
    for (size_t i = 0; i < n; i++) {
        if (!cells[i]) {
            blk[i] = NULL;
            continue;
        }
        size_t l = strlen(cells[i]) + 1;
        memcpy(str, cells[i], l);
        blk[i] = str;
        str += l;
    }
    s->rows[s->nrows++] = blk;
    return 0;
}

static int c_info(void *ud, const struct asw_vot_resource_info *res,
                  const char *name, const char *value, const char *text,
                  struct asw_err *err)
{
    struct lane_store *s = ud;
    struct asw_vot_collector *c = s->c;
    struct asw_vot_table *t = c->t;
    int rc =
        c_charge(c, sizeof *t->infos + slen(name) + slen(value) + slen(text),
                 c->main.nrows + c->fb.nrows, err);
    if (rc)
        return rc;
    if (t->ninfos == c->info_cap) {
        size_t cap = c->info_cap ? 2 * c->info_cap : 8;
        void *n = realloc(t->infos, cap * sizeof *t->infos);
        if (!n)
            return c_nomem(err);
        t->infos = n;
        c->info_cap = cap;
    }
    struct asw_vot_info *i = &t->infos[t->ninfos];
    memset(i, 0, sizeof *i);
    t->ninfos++;
    if (dup_opt(&i->name, name) || dup_opt(&i->value, value) ||
        dup_opt(&i->text, text))
        return c_nomem(err);
    return 0;
}

/* The collected resource with start-tag index idx, created on demand. */
static struct asw_vot_resource *c_res(struct asw_vot_collector *c,
                                      const struct asw_vot_resource_info *r,
                                      struct asw_err *err)
{
    struct asw_vot_table *t = c->t;
    if (r->index >= t->nresources &&
        c_charge(c, (r->index + 1 - t->nresources) * sizeof *t->resources,
                 c->main.nrows + c->fb.nrows, err))
        return NULL;
    if (r->index >= c->res_cap) {
        size_t cap = c->res_cap ? c->res_cap : 4;
        while (cap <= r->index)
            cap *= 2;
        void *n = realloc(t->resources, cap * sizeof *t->resources);
        if (!n) {
            c_nomem(err);
            return NULL;
        }
        t->resources = n;
        memset(t->resources + c->res_cap, 0,
               (cap - c->res_cap) * sizeof *t->resources);
        c->res_cap = cap;
    }
    struct asw_vot_resource *d = &t->resources[r->index];
    if (r->index >= t->nresources)
        t->nresources = r->index + 1;
    /* Entries below nresources may still be blank: an inner RESOURCE can
     * be seen (by a PARAM) before its outer one ends. */
    if (!d->id && !d->type && !d->utype) {
        if (dup_opt(&d->id, r->id) || dup_opt(&d->type, r->type) ||
            dup_opt(&d->utype, r->utype)) {
            c_nomem(err);
            return NULL;
        }
    }
    return d;
}

static int c_param(void *ud, const struct asw_vot_resource_info *res,
                   const char *group, const char *name, const char *value,
                   struct asw_err *err)
{
    struct lane_store *s = ud;
    if (!res)
        return 0;
    struct asw_vot_resource *r = c_res(s->c, res, err);
    if (!r)
        return err->code ? err->code : ASW_ENOMEM;
    int rc = c_charge(
        s->c, sizeof *r->params + slen(name) + slen(value) + slen(group),
        s->c->main.nrows + s->c->fb.nrows, err);
    if (rc)
        return rc;
    /* The capacity is implicit: 4, then doubling at every power of two. */
    size_t k = r->nparams;
    if (k == 0 || (k >= 4 && (k & (k - 1)) == 0)) {
        void *n = realloc(r->params, (k ? 2 * k : 4) * sizeof *r->params);
        if (!n)
            return c_nomem(err);
        r->params = n;
    }
    struct asw_vot_param *q = &r->params[r->nparams];
    memset(q, 0, sizeof *q);
    r->nparams++;
    if (dup_opt(&q->name, name) || dup_opt(&q->value, value) ||
        dup_opt(&q->group, group))
        return c_nomem(err);
    return 0;
}

static int c_res_end(void *ud, const struct asw_vot_resource_info *res,
                     struct asw_err *err)
{
    struct lane_store *s = ud;
    return c_res(s->c, res, err) ? 0 : err->code ? err->code : ASW_ENOMEM;
}

static void store_free(struct lane_store *s)
{
    free_fields(s->fields, s->nfields);
    free_rows(s->rows, s->nrows);
    s->fields = NULL;
    s->rows = NULL;
    s->nfields = s->nrows = s->rows_cap = 0;
}

struct asw_vot_collector *
asw_vot_collector_new(const struct asw_vot_limits *lim)
{
    struct asw_vot_collector *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->t = calloc(1, sizeof *c->t);
    struct asw_vot_limits l;
    limits_resolve(&l, lim);
    c->max_rows =
        lim && lim->max_rows ? lim->max_rows : ASW_VOT_COLLECT_MAX_ROWS;
    c->max_total = l.max_total_bytes;
    /* The collector counts rows itself (with its own default), so the
     * parser's row cap is off. */
    l.max_rows = SIZE_MAX;
    c->main.c = c;
    c->fb.c = c;
    static const struct asw_vot_callbacks cb = {
        .on_fields = c_fields,
        .on_row = c_row,
        .on_info = c_info,
        .on_param = c_param,
        .on_resource_end = c_res_end,
    };
    c->p = c->t ? asw_vot_parser_new(&cb, &c->main, &l) : NULL;
    if (!c->p) {
        asw_vot_collector_free(c);
        return NULL;
    }
    c->p->fallback = 1;
    c->p->fb_cb = cb;
    c->p->fb_ud = &c->fb;
    return c;
}

int asw_vot_collector_feed(struct asw_vot_collector *c, const char *data,
                           size_t len, struct asw_err *err)
{
    return asw_vot_parser_feed(c->p, data, len, err);
}

int asw_vot_collector_finish(struct asw_vot_collector *c,
                             struct asw_vot_table **out, struct asw_err *err)
{
    *out = NULL;
    int rc = asw_vot_parser_finish(c->p, err);
    if (rc)
        return rc;
    struct lane_store *s = c->main.have_table ? &c->main : &c->fb;
    struct asw_vot_table *t = c->t;
    t->fields = s->fields;
    t->nfields = s->nfields;
    t->rows = s->rows;
    t->nrows = s->nrows;
    s->fields = NULL;
    s->rows = NULL;
    s->nfields = s->nrows = 0;
    c->t = NULL;
    *out = t;
    return 0;
}

void asw_vot_collector_free(struct asw_vot_collector *c)
{
    if (!c)
        return;
    asw_vot_parser_free(c->p);
    store_free(&c->main);
    store_free(&c->fb);
    asw_vot_table_free(c->t);
    free(c);
}

int asw_vot_parse_mem_limits(const char *buf, size_t len,
                             const struct asw_vot_limits *lim,
                             struct asw_vot_table **out, struct asw_err *err)
{
    *out = NULL;
    struct asw_vot_collector *c = asw_vot_collector_new(lim);
    if (!c)
        return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
    int rc = asw_vot_collector_feed(c, buf, len, err);
    if (!rc)
        rc = asw_vot_collector_finish(c, out, err);
    asw_vot_collector_free(c);
    return rc;
}

int asw_vot_parse_mem(const char *buf, size_t len, struct asw_vot_table **out,
                      struct asw_err *err)
{
    return asw_vot_parse_mem_limits(buf, len, NULL, out, err);
}

int asw_vot_parse_file_limits(const char *path,
                              const struct asw_vot_limits *lim,
                              struct asw_vot_table **out, struct asw_err *err)
{
    *out = NULL;
    int rc = 0;
    char *chunk = NULL;
    struct asw_vot_collector *c = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return asw_err_set(err, ASW_EIO, MOD, "cannot open %s: %s", path,
                           strerror(errno));
    chunk = malloc(64 * 1024);
    c = asw_vot_collector_new(lim);
    if (!chunk || !c) {
        rc = asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
        goto out;
    }
    for (;;) {
        size_t n = fread(chunk, 1, 64 * 1024, f);
        if (n && (rc = asw_vot_collector_feed(c, chunk, n, err)))
            goto out;
        if (n < 64 * 1024) {
            if (ferror(f)) {
                rc = asw_err_set(err, ASW_EIO, MOD, "cannot read %s: %s", path,
                                 strerror(errno));
                goto out;
            }
            break;
        }
    }
    rc = asw_vot_collector_finish(c, out, err);
out:
    asw_vot_collector_free(c);
    free(chunk);
    fclose(f);
    return rc;
}

int asw_vot_parse_file(const char *path, struct asw_vot_table **out,
                       struct asw_err *err)
{
    return asw_vot_parse_file_limits(path, NULL, out, err);
}

/* ---- table access -------------------------------------------------- */

int asw_vot_field_index(const struct asw_vot_table *t, const char *name)
{
    for (size_t i = 0; i < t->nfields && i < INT_MAX; i++)
        if (strcmp(t->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *asw_vot_cell(const struct asw_vot_table *t, size_t row, size_t col)
{
    if (row >= t->nrows || col >= t->nfields)
        return NULL;
    return t->rows[row][col];
}

const char *asw_vot_info(const struct asw_vot_table *t, const char *name)
{
    for (size_t i = 0; i < t->ninfos; i++)
        if (t->infos[i].name && strcmp(t->infos[i].name, name) == 0)
            return t->infos[i].value;
    return NULL;
}

const struct asw_vot_resource *
asw_vot_resource_by_id(const struct asw_vot_table *t, const char *id)
{
    for (size_t i = 0; i < t->nresources; i++)
        if (t->resources[i].id && strcmp(t->resources[i].id, id) == 0)
            return &t->resources[i];
    return NULL;
}

const char *asw_vot_param_value(const struct asw_vot_resource *r,
                                const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (r->params[i].name && strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return NULL;
}

void asw_vot_table_free(struct asw_vot_table *t)
{
    if (!t)
        return;
    free_fields(t->fields, t->nfields);
    free_rows(t->rows, t->nrows);
    for (size_t i = 0; i < t->ninfos; i++) {
        free(t->infos[i].name);
        free(t->infos[i].value);
        free(t->infos[i].text);
    }
    free(t->infos);
    for (size_t i = 0; i < t->nresources; i++) {
        struct asw_vot_resource *r = &t->resources[i];
        for (size_t j = 0; j < r->nparams; j++) {
            free(r->params[j].name);
            free(r->params[j].value);
            free(r->params[j].group);
        }
        free(r->params);
        free(r->id);
        free(r->type);
        free(r->utype);
    }
    free(t->resources);
    free(t);
}

/* ---- writers ------------------------------------------------------- */

enum jtype { J_STRING, J_BOOL, J_INT, J_FLOAT };

static enum jtype jtype_of(const struct asw_vot_field *f, int *bits,
                           int *is_unsigned)
{
    const char *dt = f->datatype;
    *bits = 64;
    *is_unsigned = 0;
    int scalar = !f->arraysize || strcmp(f->arraysize, "1") == 0;
    if (!scalar)
        return J_STRING;
    if (strcmp(dt, "boolean") == 0)
        return J_BOOL;
    if (strcmp(dt, "unsignedByte") == 0) {
        *bits = 8;
        *is_unsigned = 1;
        return J_INT;
    }
    if (strcmp(dt, "short") == 0) {
        *bits = 16;
        return J_INT;
    }
    if (strcmp(dt, "int") == 0) {
        *bits = 32;
        return J_INT;
    }
    if (strcmp(dt, "long") == 0)
        return J_INT;
    if (strcmp(dt, "float") == 0 || strcmp(dt, "double") == 0)
        return J_FLOAT;
    return J_STRING;
}

/* Trim ASCII white space: *s and *n describe the remaining span. */
static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* Parse a VOTable integer (decimal, or 0x hex holding the bit pattern of
 * a bits-wide integer). 0 on success. */
static int parse_int(const char *s, size_t n, int bits, int is_unsigned,
                     long long *v)
{
    char buf[80];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const char *q = buf;
    int neg = 0;
    if (*q == '+' || *q == '-')
        neg = *q++ == '-';
    char *end;
    errno = 0;
    if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
        if (!((q[2] >= '0' && q[2] <= '9') || (q[2] >= 'a' && q[2] <= 'f') ||
              (q[2] >= 'A' && q[2] <= 'F')))
            return -1;
        unsigned long long u = strtoull(q + 2, &end, 16);
        if (*end || errno)
            return -1;
        if (bits < 64 && u >> bits)
            return -1;
        long long x;
        if (!is_unsigned && bits < 64 && u >> (bits - 1))
            x = (long long)u - (1LL << bits);
        else if (!is_unsigned && bits == 64)
            x = (long long)u; /* two's complement bit pattern */
        else
            x = (long long)u;
        if (neg) {
            if (x == LLONG_MIN)
                return -1;
            x = -x;
        }
        *v = x;
        return 0;
    }
    if (!(*q >= '0' && *q <= '9'))
        return -1;
    long long x = strtoll(buf, &end, 10);
    if (*end || errno == ERANGE)
        return -1;
    if (bits < 64) {
        long long lo = is_unsigned ? 0 : -(1LL << (bits - 1));
        long long hi =
            is_unsigned ? (1LL << bits) - 1 : (1LL << (bits - 1)) - 1;
        if (x < lo || x > hi)
            return -1;
    }
    *v = x;
    return 0;
}

/* 1 true, 0 false, -1 null, -2 invalid. */
static int parse_bool(const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '?'))
        return -1;
    if (n == 1) {
        switch (s[0]) {
        case 'T':
        case 't':
        case '1':
            return 1;
        case 'F':
        case 'f':
        case '0':
            return 0;
        }
        return -2;
    }
    if (n == 4 && strncasecmp(s, "true", 4) == 0)
        return 1;
    if (n == 5 && strncasecmp(s, "false", 5) == 0)
        return 0;
    return -2;
}

static int parse_float(const char *s, size_t n, double *d)
{
    char buf[128];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    *d = strtod(buf, &end);
    return *end ? -1 : 0;
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*c < 0x20)
                fprintf(out, "\\u%04x", *c);
            else
                fputc(*c, out);
        }
    }
    fputc('"', out);
}

static int json_value(FILE *out, const struct asw_vot_field *f,
                      const char *cell, size_t row, struct asw_err *err)
{
    int bits, is_unsigned;
    enum jtype jt = jtype_of(f, &bits, &is_unsigned);
    if (!cell || (f->null_value && strcmp(cell, f->null_value) == 0)) {
        fputs("null", out);
        return 0;
    }
    const char *s = cell;
    size_t n = strlen(cell);
    if (jt != J_STRING)
        trim(&s, &n);
    if (jt != J_STRING && f->null_value) {
        const char *nv = f->null_value;
        size_t nn = strlen(nv);
        trim(&nv, &nn);
        if (nn == n && memcmp(nv, s, n) == 0) {
            fputs("null", out);
            return 0;
        }
    }
    switch (jt) {
    case J_STRING:
        json_string(out, cell);
        return 0;
    case J_BOOL: {
        int b = parse_bool(s, n);
        if (b == -2)
            return asw_err_set(err, ASW_EPARSE, MOD,
                               "field '%s' row index %zu: '%.40s' is not a "
                               "VOTable boolean",
                               f->name, row, cell);
        fputs(b < 0 ? "null" : b ? "true" : "false", out);
        return 0;
    }
    case J_INT: {
        long long v;
        if (n == 0) {
            fputs("null", out);
            return 0;
        }
        if (parse_int(s, n, bits, is_unsigned, &v))
            return asw_err_set(err, ASW_EPARSE, MOD,
                               "field '%s' (%s) row index %zu: '%.40s' is "
                               "not an integer in range",
                               f->name, f->datatype, row, cell);
        fprintf(out, "%lld", v);
        return 0;
    }
    case J_FLOAT: {
        double d;
        if (n == 0) {
            fputs("null", out);
            return 0;
        }
        if (parse_float(s, n, &d))
            return asw_err_set(err, ASW_EPARSE, MOD,
                               "field '%s' (%s) row index %zu: '%.40s' is "
                               "not a number",
                               f->name, f->datatype, row, cell);
        if (!isfinite(d)) {
            fputs("null", out);
            return 0;
        }
        char buf[40];
        fmt_double(buf, sizeof buf, d);
        fputs(buf, out);
        return 0;
    }
    }
    return 0;
}

static int write_status(FILE *out, struct asw_err *err)
{
    if (fflush(out) || ferror(out))
        return asw_err_set(err, ASW_EIO, MOD, "write error: %s",
                           strerror(errno));
    return 0;
}

int asw_vot_write_json(const struct asw_vot_table *t, FILE *out,
                       struct asw_err *err)
{
    fputc('[', out);
    for (size_t r = 0; r < t->nrows; r++) {
        fputs(r ? ",\n{" : "\n{", out);
        for (size_t c = 0; c < t->nfields; c++) {
            if (c)
                fputc(',', out);
            json_string(out, t->fields[c].name);
            fputc(':', out);
            int rc = json_value(out, &t->fields[c], t->rows[r][c], r, err);
            if (rc)
                return rc;
        }
        fputc('}', out);
        if (ferror(out))
            return write_status(out, err);
    }
    fputs(t->nrows ? "\n]\n" : "]\n", out);
    return write_status(out, err);
}

static void csv_cell(FILE *out, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

int asw_vot_write_csv(const struct asw_vot_table *t, FILE *out,
                      struct asw_err *err)
{
    for (size_t c = 0; c < t->nfields; c++) {
        if (c)
            fputc(',', out);
        csv_cell(out, t->fields[c].name);
    }
    fputs("\r\n", out);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->nfields; c++) {
            if (c)
                fputc(',', out);
            csv_cell(out, t->rows[r][c]);
        }
        fputs("\r\n", out);
        if (ferror(out))
            return write_status(out, err);
    }
    return write_status(out, err);
}
