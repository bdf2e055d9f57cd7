/*
 * votable.h - a streaming VOTable reader (expat) and a collector on top.
 *
 * Two layers:
 *  - a push parser: feed it bytes as they arrive (a curl write callback, a
 *    file read loop) and it calls back with the FIELD list, then one row at
 *    a time, plus every INFO and PARAM. Only the current row is held, so
 *    memory stays flat whatever the size of the document;
 *  - a collector that keeps the selected table, the INFOs and the
 *    RESOURCEs in a struct asw_vot_table, and writers to JSON and CSV.
 *
 * Which table: the first TABLE whose nearest enclosing RESOURCE has type
 * "results" (also when type is absent: "results" is the VOTable default).
 * The collector falls back to the first TABLE of any RESOURCE when the
 * document has no results table (a DataLink answer made only of "meta"
 * resources, say); the push parser reports only the results table.
 *
 * Serialisations: TABLEDATA, BINARY and BINARY2 with a base64 STREAM
 * inside the document. Binary cells are turned into TABLEDATA text
 * (numbers in shortest round-trip form, arrays space-separated, nulls and
 * NaN as NULL), so callers see one form. FITS and STREAMs with an href
 * (external data) fail with ASW_EPARSE.
 *
 * Element names are matched on their local name, so documents with or
 * without the VOTable namespace, or with a prefix (vot:TABLE), all work.
 *
 * Rows and columns are counted from 0 in callbacks and in the table; error
 * messages name the row index and the XML line.
 */
#ifndef ASW_VOTABLE_H
#define ASW_VOTABLE_H

#include "src/err.h"

#include <stddef.h>
#include <stdio.h>

/* Default caps (STYLE.md: every buffer grown from outside input). */
#define ASW_VOT_MAX_CELL_BYTES    ((size_t)1 << 20) /* 1 MiB */
#define ASW_VOT_MAX_ROW_BYTES     ((size_t)8 << 20) /* 8 MiB */
#define ASW_VOT_MAX_FIELDS        ((size_t)4096)
#define ASW_VOT_MAX_TOKEN_BYTES   ((size_t)8 << 20)  /* 8 MiB */
#define ASW_VOT_COLLECT_MAX_ROWS  ((size_t)10000000) /* collector only */
#define ASW_VOT_COLLECT_MAX_BYTES ((size_t)2 << 30)  /* collector only */
#define ASW_VOT_MAX_DEPTH         256 /* element nesting, not adjustable */

/*
 * Caps on outside input. A zero member means "the default". Exceeding a
 * cap fails with ASW_ETOOBIG and a message naming the cap and the row.
 */
struct asw_vot_limits {
    size_t max_cell_bytes;  /* one TD (or INFO text); default 1 MiB */
    size_t max_row_bytes;   /* all TDs of one TR; default 8 MiB */
    size_t max_fields;      /* FIELDs of the table; default 4096 */
    size_t max_rows;        /* push parser: default unlimited;
                               collector: default 10 million */
    size_t max_token_bytes; /* one unfinished XML token held by expat (a
                               huge attribute or comment); default 8 MiB */
    size_t max_total_bytes; /* collector only: bytes of all kept rows;
                               default 2 GiB */
};

/*
 * One FIELD of the selected table. Strings are NULL when the attribute is
 * absent, except name (falls back to the ID, then to "col<N>" counted from
 * 1) and datatype ("char" when absent, as legacy ALMA VOTables omit it).
 */
struct asw_vot_field {
    char *name;
    char *id;
    char *datatype;
    char *arraysize;
    char *unit;
    char *ucd;
    char *utype;
    char *xtype;
    char *null_value; /* <VALUES null="..."> sentinel, NULL if none */
};

/* The RESOURCE enclosing a callback's element, borrowed for the call. */
struct asw_vot_resource_info {
    const char *id;    /* NULL if absent; IDs may repeat in practice */
    const char *type;  /* as written; NULL if absent (means "results") */
    const char *utype; /* e.g. "adhoc:service"; NULL if absent */
    size_t index;      /* 0-based, in order of the RESOURCE start tags */
    size_t depth;      /* 1 for a RESOURCE directly under VOTABLE */
};

/*
 * Callbacks of the push parser; any may be NULL. Every callback returns 0
 * to go on, or nonzero (a negative ASW_E* code) to stop the parse: feed()
 * or finish() then return that code. err is never NULL; a callback that
 * stops may write its own message there, otherwise the parser writes one
 * naming the callback. Strings and arrays passed in are borrowed and live
 * until the callback returns, except fields (see on_fields).
 */
struct asw_vot_callbacks {
    /* The FIELDs of the selected table, once, when its DATA starts (or at
     * the end of the TABLE when it has no DATA). fields stay valid until
     * the parser is freed. */
    int (*on_fields)(void *ud, const struct asw_vot_field *fields,
                     size_t nfields, struct asw_err *err);
    /* One TR of the selected table: ncells == nfields; cells[i] is NULL
     * for an empty or missing TD. */
    int (*on_row)(void *ud, size_t row, const char *const *cells, size_t ncells,
                  struct asw_err *err);
    /* Every INFO, in document order (VOTABLE, RESOURCE and TABLE level).
     * res is NULL outside any RESOURCE. value and text (the element
     * content, trimmed of surrounding white space) are NULL when absent. */
    int (*on_info)(void *ud, const struct asw_vot_resource_info *res,
                   const char *name, const char *value, const char *text,
                   struct asw_err *err);
    /* Every PARAM, in document order. group is the name of the enclosing
     * GROUP (e.g. "inputParams"), NULL when the PARAM is not in one. */
    int (*on_param)(void *ud, const struct asw_vot_resource_info *res,
                    const char *group, const char *name, const char *value,
                    struct asw_err *err);
    /* A RESOURCE end tag. */
    int (*on_resource_end)(void *ud, const struct asw_vot_resource_info *res,
                           struct asw_err *err);
};

struct asw_vot_parser;

/*
 * Create a push parser. cb is copied; ud is passed to every callback; lim
 * may be NULL (defaults). Returns NULL when out of memory. The caller owns
 * the parser and frees it with asw_vot_parser_free().
 */
struct asw_vot_parser *asw_vot_parser_new(const struct asw_vot_callbacks *cb,
                                          void *ud,
                                          const struct asw_vot_limits *lim);

/*
 * Parse the next len bytes of the document (any split, even inside a
 * UTF-8 sequence or a tag). Returns 0, ASW_EPARSE for malformed XML (with
 * expat's message, line and column), ASW_ETOOBIG when a cap is exceeded,
 * ASW_ENOMEM, or a callback's stop code. Errors are sticky: later calls
 * return the same code and message.
 */
int asw_vot_parser_feed(struct asw_vot_parser *p, const char *data, size_t len,
                        struct asw_err *err);

/*
 * Tell the parser the document has ended. Returns 0 when it was complete,
 * ASW_EPARSE when it was cut short (root element not closed) or is not a
 * VOTable, or the sticky error of an earlier call.
 */
int asw_vot_parser_finish(struct asw_vot_parser *p, struct asw_err *err);

/* Rows delivered to on_row so far. */
size_t asw_vot_parser_rows(const struct asw_vot_parser *p);

/* Free the parser and everything it owns. Accepts NULL. */
void asw_vot_parser_free(struct asw_vot_parser *p);

/* ---- collector ---------------------------------------------------- */

struct asw_vot_info {
    char *name;  /* NULL if absent */
    char *value; /* NULL if absent */
    char *text;  /* trimmed content, NULL if none */
};

struct asw_vot_param {
    char *name;
    char *value; /* NULL if absent */
    char *group; /* enclosing GROUP name, NULL if none */
};

struct asw_vot_resource {
    char *id; /* NULL if absent; not unique */
    char *type;
    char *utype;
    struct asw_vot_param *params; /* PARAMs whose nearest RESOURCE is this
                                     one, in document order */
    size_t nparams;
};

/*
 * A collected VOTable: the selected table, every INFO in document order,
 * and every RESOURCE in start-tag order (the results one included).
 * rows[r][c] is a NUL-terminated string or NULL (empty or missing TD).
 * PARAMs outside any RESOURCE are not kept.
 */
struct asw_vot_table {
    struct asw_vot_field *fields;
    size_t nfields;
    char ***rows;
    size_t nrows;
    struct asw_vot_info *infos;
    size_t ninfos;
    struct asw_vot_resource *resources;
    size_t nresources;
};

/*
 * Parse a whole document held in memory. lim may be NULL. On success
 * returns 0 and *out is a table the caller frees with
 * asw_vot_table_free(); on error returns a negative code, *out is NULL.
 * A document without any TABLE (a TAP error) gives a table with no fields
 * and no rows but its INFOs.
 */
int asw_vot_parse_mem_limits(const char *buf, size_t len,
                             const struct asw_vot_limits *lim,
                             struct asw_vot_table **out, struct asw_err *err);

/* asw_vot_parse_mem_limits() with the default limits. */
int asw_vot_parse_mem(const char *buf, size_t len, struct asw_vot_table **out,
                      struct asw_err *err);

/*
 * Parse a file, read in 64 KiB chunks through the push parser. Returns as
 * asw_vot_parse_mem_limits(), plus ASW_EIO when the file cannot be read.
 */
int asw_vot_parse_file_limits(const char *path,
                              const struct asw_vot_limits *lim,
                              struct asw_vot_table **out, struct asw_err *err);

/* asw_vot_parse_file_limits() with the default limits. */
int asw_vot_parse_file(const char *path, struct asw_vot_table **out,
                       struct asw_err *err);

struct asw_vot_collector;

/*
 * A collector fed like the push parser, for bodies that arrive in pieces
 * (a curl write callback). lim may be NULL. Returns NULL when out of
 * memory; free with asw_vot_collector_free().
 */
struct asw_vot_collector *
asw_vot_collector_new(const struct asw_vot_limits *lim);

/* Feed bytes. Returns as asw_vot_parser_feed(). */
int asw_vot_collector_feed(struct asw_vot_collector *c, const char *data,
                           size_t len, struct asw_err *err);

/*
 * End the document. On success returns 0 and hands the table to the
 * caller in *out (free with asw_vot_table_free()); the collector may then
 * only be freed. On error returns a negative code and *out is NULL.
 */
int asw_vot_collector_finish(struct asw_vot_collector *c,
                             struct asw_vot_table **out, struct asw_err *err);

/* Free a collector and any table it still holds. Accepts NULL. */
void asw_vot_collector_free(struct asw_vot_collector *c);

/* Index of the first FIELD called name (exact match), or -1. */
int asw_vot_field_index(const struct asw_vot_table *t, const char *name);

/*
 * The cell at (row, col), borrowed from t; NULL when empty, missing or
 * out of range.
 */
const char *asw_vot_cell(const struct asw_vot_table *t, size_t row, size_t col);

/* The value of the first INFO called name, borrowed from t, or NULL. */
const char *asw_vot_info(const struct asw_vot_table *t, const char *name);

/* The first RESOURCE with this ID, borrowed from t, or NULL. */
const struct asw_vot_resource *
asw_vot_resource_by_id(const struct asw_vot_table *t, const char *id);

/* The value of the first PARAM called name in r, borrowed, or NULL. */
const char *asw_vot_param_value(const struct asw_vot_resource *r,
                                const char *name);

/* Free a table and all its strings. Accepts NULL. */
void asw_vot_table_free(struct asw_vot_table *t);

/* ---- writers ------------------------------------------------------ */

/*
 * Write t as a JSON array with one object per row, keys the FIELD names in
 * order, values typed by datatype: boolean -> true/false (T/F/true/false/
 * 1/0, any case; "?" -> null); short, int, long, unsignedByte -> exact
 * 64-bit integers (decimal or 0x hex); float, double -> numbers that
 * round-trip (NaN and infinities -> null); char, unicodeChar, arrays and
 * other types -> strings as given. Empty cells and cells equal to the
 * FIELD's VALUES null sentinel -> null. Returns 0, ASW_EPARSE naming the
 * field and row of a value that does not fit its datatype, or ASW_EIO on
 * a write error; on error out may hold a partial document.
 */
int asw_vot_write_json(const struct asw_vot_table *t, FILE *out,
                       struct asw_err *err);

/*
 * Write t as CSV (RFC 4180): a header of FIELD names, then the cells as
 * given, quoted when they hold a comma, quote, CR or LF, empty for null;
 * lines end in CRLF. Returns 0 or ASW_EIO.
 */
int asw_vot_write_csv(const struct asw_vot_table *t, FILE *out,
                      struct asw_err *err);

#endif
