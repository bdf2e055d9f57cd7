/*
 * schema.h - the columns of every fixed-size row type (images, SEDs,
 * absorption lines), described once: name, type, place in the struct,
 * unit and meaning. The JSON transport (result.c), the HDF5 catalogue
 * (io/catalogue.c) and docs/catalogue.md all follow these tables.
 */
#ifndef ASW_SCHEMA_H
#define ASW_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

enum asw_coltype { ASW_COL_STR, ASW_COL_I32, ASW_COL_I64, ASW_COL_F64 };

struct asw_col {
    const char *name;
    enum asw_coltype type;
    size_t offset;
    size_t size;      /* bytes; strings include the NUL */
    const char *unit; /* astropy/VOUnit string, "" when dimensionless */
    const char *desc;
};

struct asw_schema {
    const char *name; /* catalogue table name */
    const char *desc;
    const struct asw_col *cols;
    size_t ncols;
    size_t rowsize;
};

#define ASW_FIELD_SIZE(type, f) sizeof(((type *)0)->f)
#define ASW_COL(type, f, t, unit, desc)                                        \
    {                                                                          \
#f, t, offsetof(type, f), ASW_FIELD_SIZE(type, f), unit, desc          \
    }

extern const struct asw_schema asw_schema_images;
extern const struct asw_schema asw_schema_seds;
extern const struct asw_schema asw_schema_lines;

/* Set every column of row to "unknown": NAN, -1 or "". */
void asw_row_init(const struct asw_schema *s, void *row);

/* The row as a new JSON object (NaN as null). Caller owns the reference;
 * NULL on out-of-memory. */
json_t *asw_row_to_json(const struct asw_schema *s, const void *row);

/* Fill row from a JSON object; absent or mistyped members stay unknown,
 * long strings are cut. */
void asw_row_from_json(const struct asw_schema *s, json_t *o, void *row);

#endif
