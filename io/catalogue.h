/*
 * catalogue.h - the HDF5 catalogue (docs/catalogue.md is the schema of
 * record). One file, tables as extendible, chunked, compressed compound
 * datasets that h5py, pandas and astropy.table read directly:
 *
 *   /runs              one row per run (provenance)
 *   /units             one row per work unit: status, attempts, error, ...
 *   /images            one row per measured image (struct asw_image)
 *   /seds              one spectral-index fit per (unit, source)
 *   /absorption        one row per absorption feature (struct asw_line)
 *   /spectra           one row per cube spectrum ...
 *   /spectra_channels  ... whose channels are concatenated here
 *   /sources           derived: flux history and band-pair indices
 *
 * Crash safety (docs/catalogue.md, "Crash safety"): the .h5 file is never
 * modified in place. Every result is first appended to a journal next to
 * it ("<path>.journal", CRC-checked records, fdatasync'ed); checkpoints
 * copy the file, apply the journal to the copy, fsync it and rename it
 * over the file, then empty the journal. The file is therefore always a
 * complete, closed HDF5 file, and file + journal always hold every result
 * stored. Opening replays what the file lacks.
 *
 * Only rank 0 ever writes; a writer holds an exclusive lock on the journal
 * (one writer per catalogue). Nothing here is thread-safe. HDF5 errors are
 * translated into struct asw_err (module "catalogue", code ASW_EHDF5) with
 * the HDF5 error stack in the message.
 */
#ifndef ASW_IO_CATALOGUE_H
#define ASW_IO_CATALOGUE_H

#include "src/err.h"
#include "src/result.h"
#include "src/unit.h"

#include <stddef.h>
#include <stdio.h>

/* The schema this build writes and the only one it opens. */
#define ASW_CAT_SCHEMA_VERSION 3

/* An open catalogue (opaque). */
struct asw_cat;

/* How a writer checkpoints and syncs ([output] keys, docs/config.md). */
struct asw_cat_options {
    /* Seconds between checkpoints: one is made after a result when this
     * long has passed since the last one and at least 20 times the last
     * checkpoint's duration (so checkpoints never take more than ~5% of
     * the time). 0: after every result. Always at close. Default 60. */
    double checkpoint_s;
    /* fdatasync the journal after every record (default 1). Without it a
     * result survives the death of the process but not of the node. */
    int journal_fsync;
    /* /sources: two measurements in different bands form a pair when at
     * most this many days apart (default 14). */
    double pair_days;
};

/* Fill *o with the defaults above. */
void asw_cat_options_default(struct asw_cat_options *o);

/*
 * Open the catalogue at path for writing (default options). A missing
 * file is created (empty tables, root attributes) when create_if_missing
 * is non-zero; otherwise it is ASW_ENOTFOUND. An existing file must carry
 * schema_version ASW_CAT_SCHEMA_VERSION (else ASW_EPARSE). Takes the
 * journal's lock (ASW_EIO "in use" when another process holds it), cuts a
 * torn journal tail, replays journal records the file lacks into the
 * in-memory index, and marks runs left "running" by a dead writer as
 * "interrupted". Reads only the small /units and /runs tables, never the
 * measurement tables. Returns 0 and a handle in *out that the caller
 * releases with asw_cat_close(), or a negative ASW_E* code with *out NULL.
 */
int asw_cat_open(const char *path, int create_if_missing, struct asw_cat **out,
                 struct asw_err *err);

/* Replace the options of an open catalogue (copied). Returns 0 or
 * ASW_EINVAL for negative values. */
int asw_cat_set_options(struct asw_cat *c, const struct asw_cat_options *o,
                        struct asw_err *err);

/*
 * Set the root attribute `creator` (default for a new file: "almasweep
 * <ASW_VERSION>"), written at the next checkpoint. creator is copied.
 * Returns 0 or ASW_EINVAL.
 */
int asw_cat_set_creator(struct asw_cat *c, const char *creator,
                        struct asw_err *err);

/*
 * Checkpoint (when anything is pending), release the lock, remove an empty
 * journal and free the handle. Accepts NULL. Returns 0 or the checkpoint's
 * error; the handle is freed either way, and what the checkpoint could not
 * apply stays in the journal for the next open.
 */
int asw_cat_close(struct asw_cat *c, struct asw_err *err);

/*
 * Apply the journal to the file now: copy the file, apply every pending
 * record to the copy (units rewritten in place, a redone unit's old rows
 * removed from every table, new rows appended, /sources derived again),
 * fsync it, rename it over the file, empty the journal. Returns 0,
 * ASW_EIO, ASW_ENOMEM or ASW_EHDF5; on error the file and the journal are
 * as before and a later checkpoint retries.
 */
int asw_cat_checkpoint(struct asw_cat *c, struct asw_err *err);

/*
 * Store the result of one unit: its /units row by r->unit_id (upsert) and,
 * when r->status is done, its image, SED, absorption and spectrum rows,
 * which replace every row the unit had (rows of a result that is not done
 * are not stored). u, when not NULL, supplies kind, project, mous_uid,
 * n_files and bytes_total (and must have the same id); when NULL those
 * keep their previous values, or stay empty / -1 for a new unit. Rows
 * whose unit_id is empty are stored with r->unit_id; another unit_id is
 * ASW_EINVAL and nothing is stored. The result is durable when this
 * returns 0 (journal record written, and synced unless journal_fsync is
 * off); a checkpoint may follow (see struct asw_cat_options). Borrows r
 * and u for the call. Returns 0, ASW_EINVAL, ASW_ENOMEM, ASW_ETOOBIG,
 * ASW_EIO, ASW_ENOSPC, or the error of the checkpoint that followed (the
 * result is stored even then).
 */
int asw_cat_put_result(struct asw_cat *c, const struct asw_result *r,
                       const struct asw_unit *u, struct asw_err *err);

/*
 * The stored status and attempts of unit id (for resume), including
 * results not yet checkpointed. Either output may be NULL. Returns 0,
 * ASW_ENOTFOUND if the unit has no /units row, or ASW_EPARSE if the stored
 * status string is not one this build knows. Answers from memory.
 */
int asw_cat_unit_status(const struct asw_cat *c, const char *id,
                        enum asw_status *status, int *attempts);

/*
 * Number of rows of table "units", "runs", "images", "seds", "absorption"
 * or "spectra" into *n, including results not yet checkpointed. Returns 0
 * or ASW_EINVAL for another name.
 */
int asw_cat_count(const struct asw_cat *c, const char *table, size_t *n);

/* What a writer has done so far (for logs and benchmarks). */
struct asw_cat_stats {
    size_t checkpoints;       /* made by this handle */
    double last_checkpoint_s; /* wall time of the last one, and of its */
    double last_copy_s;       /* steps: copying the file, */
    double last_apply_s;      /* compaction, appends and row rewrites, */
    double last_sources_s;    /* deriving /sources, */
    double last_commit_s;     /* closing, fsync and rename */
    size_t last_rows;         /* measurement rows appended by it */
    size_t pending;           /* journal records not yet in the file */
    unsigned long long journal_bytes; /* bytes of those records */
    /* At open: bytes cut off the journal's end (a record being written
     * when the last writer died), and whether a journal of another
     * catalogue was set aside ("<journal>.stale-<id>"). */
    unsigned long long torn_bytes;
    int stale_journal;
};

/* Fill *st. Returns 0 or ASW_EINVAL. */
int asw_cat_get_stats(const struct asw_cat *c, struct asw_cat_stats *st);

/* ---- runs (provenance) -------------------------------------------- */

struct asw_cat_run_info {
    const char *config_path;  /* may be NULL */
    const char *config_text;  /* may be NULL; cut at 16383 bytes */
    const char *mode;         /* "products" or "casa"; may be NULL */
    const char *host;         /* rank 0's host name; may be NULL */
    const char *casa_version; /* NULL or "" when unknown / products */
    int ranks;
    size_t units_planned;
};

struct asw_cat_run_tally {
    size_t done, failed, skipped, retried;
};

/*
 * Start a /runs row (status "running", start time now) for this writer;
 * later /units rows carry its run_id. Strings are copied. Returns 0,
 * ASW_EINVAL (a run is already active) or a journal error.
 */
int asw_cat_run_begin(struct asw_cat *c, const struct asw_cat_run_info *info,
                      struct asw_err *err);

/* Add host to the active run's hosts unless listed. Returns 0 (also when
 * no run is active or the list is full) or a journal error. */
int asw_cat_run_host(struct asw_cat *c, const char *host, struct asw_err *err);

/* Add a CASA version (a unit's result) to the active run's casa_version
 * unless listed: one version, or a comma-separated list when ranks ran
 * different CASA versions. Returns 0 (also for NULL or "", when no run is
 * active or the list is full) or a journal error. */
int asw_cat_run_casa_version(struct asw_cat *c, const char *version,
                             struct asw_err *err);

/* End the active run: status "finished", exit code, end time, tallies. */
int asw_cat_run_end(struct asw_cat *c, int exit_code,
                    const struct asw_cat_run_tally *t, struct asw_err *err);

/* The active run's id (borrowed until the handle is closed), or "". */
const char *asw_cat_run_id(const struct asw_cat *c);

/* ---- by path ------------------------------------------------------- */

/*
 * Apply a pending journal to the catalogue at path (open + close as a
 * writer), as any writer would on open. *applied (may be NULL) receives
 * the number of journal records applied. Returns 0, 1 when another
 * process (a running sweep) holds the catalogue and nothing was done, or
 * a negative ASW_E* code.
 */
int asw_cat_recover(const char *path, size_t *applied, struct asw_err *err);

/*
 * Write a human-readable summary of the catalogue at path to out: schema,
 * creator, runs, units by status, rows per table, and per (source, band)
 * the /sources flux history and spectral index. Read-only. Returns 0,
 * ASW_ENOTFOUND, ASW_EPARSE, ASW_ENOMEM or ASW_EHDF5.
 */
int asw_cat_summary(const char *path, FILE *out, struct asw_err *err);

/* Filters of asw_cat_list(); zero / NULL / NAN members select all. */
struct asw_cat_filter {
    const char *source; /* shell pattern (fnmatch), case-insensitive */
    int band;           /* 1..10, 0 = any */
    double since_mjd;   /* mjd >= since_mjd; NAN = any */
    size_t limit;       /* at most this many rows, 0 = all */
};

/* Print the /images rows of the catalogue at path matching f, one per
 * line with a header, in file order. *shown (may be NULL) receives the
 * count. Read-only. Returns as asw_cat_summary(). */
int asw_cat_list(const char *path, const struct asw_cat_filter *f, FILE *out,
                 size_t *shown, struct asw_err *err);

/*
 * Check the catalogue at path against docs/catalogue.md: attributes and
 * tables present with the expected columns, unit ids unique, every row of
 * /images, /seds, /absorption and /spectra belonging to a done unit, no
 * duplicate rows, /units counts equal to the rows, /spectra offsets
 * covering /spectra_channels exactly, /runs ids unique, /sources equal to
 * a fresh derivation. One line per problem goes to report (may be NULL);
 * *problems receives their number. Read-only (it does not apply a pending
 * journal: see asw_cat_recover()). Returns 0 when the check ran (whatever
 * it found), or ASW_ENOTFOUND, ASW_EPARSE, ASW_ENOMEM, ASW_EHDF5 when the
 * file could not be read at all.
 */
int asw_cat_verify(const char *path, FILE *report, size_t *problems,
                   struct asw_err *err);

enum asw_cat_format { ASW_CAT_CSV, ASW_CAT_VOTABLE };

/*
 * Write table (a name of asw_cat_count(), or "spectra_channels" or
 * "sources") of the catalogue at path to out as CSV (header line, RFC 4180
 * quoting, NaN as an empty field) or as a VOTable 1.4 TABLEDATA document
 * (FIELDs with unit, ucd and DESCRIPTION; NaN as an empty TD). Numbers are
 * written in round-trip precision. Returns 0, ASW_EINVAL (unknown table),
 * ASW_EIO (write error) or as asw_cat_summary().
 */
int asw_cat_export(const char *path, const char *table,
                   enum asw_cat_format format, FILE *out, struct asw_err *err);

/*
 * Merge the catalogues inputs[0..n) into the catalogue at out_path
 * (created if missing). Unit by unit, the row that is done beats one that
 * is not, then the newer updated_utc wins (ties keep what out_path has);
 * a winning unit brings all its rows, replacing the loser's. /runs rows
 * are added unless their run_id is present. Each input's pending journal
 * is applied first. log (may be NULL) gets one line per input. Returns 0,
 * 1 when an input or out_path is held by a running sweep, or a negative
 * ASW_E* code.
 */
int asw_cat_merge(const char *out_path, const char *const *inputs, size_t n,
                  FILE *log, struct asw_err *err);

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

/*
 * A date as MJD: "YYYY-MM-DD", "YYYY-MM-DDThh:mm[:ss[.fff]][Z]" (UTC), or a
 * plain number taken as an MJD. Returns NAN when s is none of these.
 */
double asw_cat_parse_mjd(const char *s);

#endif
