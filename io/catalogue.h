/*
 * catalogue.h - the HDF5 catalogue (docs/catalogue.md is the schema of
 * record). One file, tables as extendible, chunked, compressed compound
 * datasets that h5py, pandas and astropy.table read directly:
 *
 *   /units   one row per work unit: status, attempts, error, sizes, timings
 *   /images  one row per measured image (struct asw_image)
 *
 * Only rank 0 ever writes the catalogue, with serial HDF5; nothing here is
 * thread-safe. HDF5 errors are translated into struct asw_err (module
 * "catalogue", code ASW_EHDF5) with the HDF5 error stack in the message.
 */
#ifndef ASW_IO_CATALOGUE_H
#define ASW_IO_CATALOGUE_H

#include "src/err.h"
#include "src/result.h"
#include "src/unit.h"

#include <stddef.h>
#include <stdio.h>

/* The schema this build writes and the only one it opens. */
#define ASW_CAT_SCHEMA_VERSION 1

/* An open catalogue (opaque). */
struct asw_cat;

/*
 * Open the catalogue at path for reading and writing. A missing file is
 * created (with the root attributes schema_version and creator, and empty
 * /units and /images tables) when create_if_missing is non-zero; otherwise
 * it is ASW_ENOTFOUND. An existing file must carry schema_version
 * ASW_CAT_SCHEMA_VERSION (else ASW_EPARSE); its /units ids and /images
 * unit ids are loaded into an in-memory index for upserts and resume.
 * Returns 0 and a handle in *out that the caller releases with
 * asw_cat_close(), or a negative ASW_E* code with *out set to NULL.
 */
int asw_cat_open(const char *path, int create_if_missing, struct asw_cat **out,
                 struct asw_err *err);

/*
 * Overwrite the root attribute `creator` (default for a new file:
 * "almasweep <ASW_VERSION>"), e.g. with the version string of the running
 * binary. creator is copied. Returns 0, ASW_EINVAL or ASW_EHDF5.
 */
int asw_cat_set_creator(struct asw_cat *c, const char *creator,
                        struct asw_err *err);

/*
 * Flush and close the catalogue and free the handle. Accepts NULL.
 * Returns 0 or ASW_EHDF5; the handle is freed either way.
 */
int asw_cat_close(struct asw_cat *c, struct asw_err *err);

/*
 * Store the result of one unit: upsert its /units row by r->unit_id (a unit
 * that was already stored gets its row rewritten in place and its old
 * /images rows removed by compacting the table), append r->images, then
 * H5Fflush. u, when not NULL, supplies the unit's kind, project, mous_uid,
 * n_files and bytes_total (and must have the same id); when NULL those keep
 * their previous values, or stay empty / -1 for a new row. Image rows whose
 * unit_id is empty are stored with r->unit_id; a different unit_id is
 * ASW_EINVAL and nothing is written. Borrows r and u for the call only.
 * Returns 0, ASW_EINVAL, ASW_ENOMEM or ASW_EHDF5. After an HDF5 failure the
 * index is reloaded from the file; if even that fails, every later call on
 * the handle returns ASW_EHDF5.
 */
int asw_cat_put_result(struct asw_cat *c, const struct asw_result *r,
                       const struct asw_unit *u, struct asw_err *err);

/*
 * Look up the stored status and attempts of unit id (for resume). Either
 * output may be NULL. Returns 0, ASW_ENOTFOUND if the unit has no /units
 * row, or ASW_EPARSE if the stored status string is not one this build
 * knows. Answers from memory; never touches the file.
 */
int asw_cat_unit_status(const struct asw_cat *c, const char *id,
                        enum asw_status *status, int *attempts);

/*
 * Number of rows in table "units" or "images" into *n. Returns 0 or
 * ASW_EINVAL for another table name.
 */
int asw_cat_count(const struct asw_cat *c, const char *table, size_t *n);

/*
 * Write a human-readable summary of the catalogue at path to out: schema
 * and creator, units by status, and per (source, band) the number of images
 * with the median peak (Jy/beam) and median SNR. Opens the file read-only.
 * Returns 0, ASW_ENOTFOUND, ASW_EPARSE, ASW_ENOMEM or ASW_EHDF5.
 */
int asw_cat_summary(const char *path, FILE *out, struct asw_err *err);

/*
 * Read every /images row of the catalogue at path, in file order. On
 * success *rows is a malloc'd array of *n rows (NULL when *n is 0) that
 * the caller frees with free(); every string in it is NUL-terminated.
 * Returns 0, ASW_ENOTFOUND, ASW_EPARSE, ASW_ENOMEM or ASW_EHDF5.
 */
int asw_cat_read_images(const char *path, struct asw_image **rows, size_t *n,
                        struct asw_err *err);

/*
 * The ALMA band (1..10) whose receiver range contains freq_hz, or 0 when
 * none does or freq_hz is NAN. Ranges in GHz: B1 35-50, B2 67-84 (the part
 * of the Band 2 range below Band 3), B3 84-116, B4 125-163, B5 163-211,
 * B6 211-275, B7 275-373, B8 385-500, B9 602-720, B10 787-950; a frequency
 * on a shared edge belongs to the lower band.
 */
int asw_cat_band(double freq_hz);

#endif
