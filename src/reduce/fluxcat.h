/*
 * fluxcat.h - the calibrator fluxes the pipeline used, from its flux.csv
 * (archive primer: ms,field,spw,I,Q,U,V,spix,uvmin,uvmax,comment; the
 * comment carries "field=NAME intents=... origin=DB ..."). Measured fluxes
 * are compared with these (cat_flux_jy, QA bit CAT_MISMATCH).
 */
#ifndef ASW_REDUCE_FLUXCAT_H
#define ASW_REDUCE_FLUXCAT_H

#include "src/err.h"

#include <stddef.h>

#define ASW_FLUXCAT_MAX_BYTES ((size_t)16 << 20) /* one flux.csv */
#define ASW_FLUXCAT_MAX_ROWS  200000             /* all of a unit's */

struct asw_fluxcat_row {
    char field[64]; /* field name (from the comment, or the field column
                       when that is not a number) */
    int field_id;   /* -1 if the column is a name */
    int spw;
    double flux_jy; /* Stokes I */
    double spix;
};

struct asw_fluxcat {
    struct asw_fluxcat_row *rows; /* owned */
    size_t n;
    size_t cap; /* allocated rows */
};

/*
 * Parse flux.csv text and append its rows to *cat (which may already hold
 * rows; zero it before the first call). Lines that do not parse are
 * skipped; a header naming the columns is required. Returns 0,
 * ASW_EPARSE (no header), ASW_ETOOBIG (row cap) or ASW_ENOMEM.
 */
int asw_fluxcat_parse(const char *text, size_t len, struct asw_fluxcat *cat,
                      struct asw_err *err);

/* Read the file at path (at most ASW_FLUXCAT_MAX_BYTES) and parse it into
 * *cat. Returns 0, ASW_EIO, ASW_ETOOBIG or a parse error. */
int asw_fluxcat_load(const char *path, struct asw_fluxcat *cat,
                     struct asw_err *err);

/* asw_fluxcat_load for a catalogue that only feeds comparison columns:
 * a file that cannot be read or parsed is logged as a warning (prefixed
 * with who, e.g. a unit id) and costs nothing else. Returns 0 or
 * ASW_ENOMEM (err filled). */
int asw_fluxcat_load_optional(const char *path, struct asw_fluxcat *cat,
                              const char *who, struct asw_err *err);

/* The mean Stokes I of the rows for source and spw (over execution
 * blocks), NAN if there are none. */
double asw_fluxcat_lookup(const struct asw_fluxcat *cat, const char *source,
                          int spw);

/* Free the rows and zero *cat. Accepts NULL. */
void asw_fluxcat_free(struct asw_fluxcat *cat);

#endif
