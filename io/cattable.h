/*
 * cattable.h - a generic, read-only reader of catalogue tables
 * (docs/catalogue.md is the schema of record).
 *
 * Rows of any table are read into the caller's structs, described by a
 * struct asw_schema (src/schema.h), matching struct members to the table's
 * columns by name. A column the file lacks, or holds with another kind of
 * type (text where a number is expected), leaves the member "unknown" (NAN,
 * -1 or "", as asw_row_init() sets it) instead of failing the read, so a
 * reader keeps working on catalogues written by an older or newer build
 * whose columns differ. Numbers are converted by HDF5 (int32 into a double
 * member is fine); strings are cut to the member's size.
 *
 * The cube spectra (/spectra rows whose channels are slices of
 * /spectra_channels) are read as struct asw_spectrum (src/result.h), with
 * every offset and length checked against the file.
 *
 * Everything read from the file is capped: rows per table, channels per
 * spectrum and in total. For tools that present a catalogue (the report);
 * the writer is io/catalogue.c. HDF5 errors are translated into struct
 * asw_err (module "cattable").
 */
#ifndef ASW_IO_CATTABLE_H
#define ASW_IO_CATTABLE_H

#include "src/err.h"
#include "src/result.h"
#include "src/schema.h"

#include <stddef.h>

/* An open catalogue, read-only (opaque). */
struct asw_ct;

/* Channels of one spectrum beyond which it is skipped. */
#define ASW_CT_CHAN_MAX (1u << 20)

/*
 * Open the catalogue at path read-only. *version (may be NULL) receives
 * the file's schema_version attribute: 0 when the file is not an HDF5
 * file or has none. Returns 0 and a handle in *out that the caller
 * releases with asw_ct_close(); or ASW_ENOTFOUND (no such file), ASW_EIO
 * (unreadable), ASW_EPARSE (not HDF5, no schema_version, or a version
 * other than ASW_CAT_SCHEMA_VERSION) or ASW_EHDF5, with *out NULL.
 */
int asw_ct_open(const char *path, struct asw_ct **out, int *version,
                struct asw_err *err);

/* Close the file and free the handle. Accepts NULL. */
void asw_ct_close(struct asw_ct *c);

/*
 * Attribute name of the root group (table NULL) or of a table, as text
 * into buf of size n: strings as stored, numbers printed ("%lld" or
 * "%.17g"). Returns 0, or ASW_ENOTFOUND with buf "" when there is no such
 * attribute or it has another type.
 */
int asw_ct_attr(struct asw_ct *c, const char *table, const char *name,
                char *buf, size_t n);

/* What asw_ct_read() found. */
struct asw_ct_info {
    size_t rows_total;   /* rows of the table in the file */
    size_t rows_read;    /* rows returned: at most the cap */
    size_t cols_missing; /* schema columns the table lacks (left unknown) */
    char missing[256];   /* their names, comma-separated, cut to fit */
};

/*
 * Read the first min(rows, max_rows) rows of table s->name into a
 * malloc'd array of s->rowsize-byte rows (*rows; NULL when none are read)
 * that the caller frees with free(). Every row is first set unknown
 * (asw_row_init), then each schema column found in the table by name with
 * a compatible type is filled; every string is NUL-terminated. info (may
 * be NULL) tells the row counts and the columns missing. Returns 0,
 * ASW_ENOTFOUND (the file has no such table), ASW_EPARSE (it is not a
 * one-dimensional table of a compound type), ASW_ENOMEM or ASW_EHDF5.
 */
int asw_ct_read(struct asw_ct *c, const struct asw_schema *s, size_t max_rows,
                void **rows, struct asw_ct_info *info, struct asw_err *err);

/* What asw_ct_read_spectra() found. */
struct asw_ct_spectra_info {
    size_t total;   /* /spectra rows in the file */
    size_t read;    /* spectra returned */
    size_t skipped; /* rows left out: bad offsets or lengths, or a cap */
    char why[160];  /* the reason of the first row left out, or "" */
};

/*
 * Read the spectra of the catalogue (docs/catalogue.md, "/spectra"): each
 * /spectra row with its n_chan channels from row chan_offset of
 * /spectra_channels (a file without chan_offset gets the documented
 * running sum of n_chan). A row whose slice lies outside /spectra_channels,
 * whose n_chan is below 1 or above ASW_CT_CHAN_MAX, or that would take the
 * channels read beyond max_channels is skipped (and counted); at most
 * max_spectra are read. Channel columns the file lacks are NAN. On success
 * *out is a malloc'd array of *n spectra (NULL when none) whose arrays it
 * owns: free it with asw_ct_spectra_free(). A file without /spectra gives
 * no spectra and 0. Returns 0, ASW_EPARSE, ASW_ENOMEM or ASW_EHDF5.
 */
int asw_ct_read_spectra(struct asw_ct *c, size_t max_spectra,
                        size_t max_channels, struct asw_spectrum **out,
                        size_t *n, struct asw_ct_spectra_info *info,
                        struct asw_err *err);

/* Free n spectra from asw_ct_read_spectra() and the array. Accepts NULL. */
void asw_ct_spectra_free(struct asw_spectrum *sp, size_t n);

#endif
