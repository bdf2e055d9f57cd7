/*
 * catalogue_priv.h - what the files of the catalogue module share and
 * nobody else sees: the tables of the file (column arrays; their row structs
 * are public, catrows.h), the HDF5 helpers (catalogue_h5.c), the
 * journal (catalogue_journal.c) and the /sources derivation
 * (catalogue_sources.c). docs/catalogue.md is the schema of record.
 */
#ifndef ASW_IO_CATALOGUE_PRIV_H
#define ASW_IO_CATALOGUE_PRIV_H

#include "catalogue.h"
#include "catrows.h"
#include "h5util.h"

#include "src/schema.h"

#include <hdf5.h>

#include <stdint.h>

#define CAT_MODULE        "catalogue"
#define CAT_META_SUFFIX   ".__table_column_meta__"
#define CAT_CHUNK_ROWS    1024
#define CAT_IO_BLOCK_ROWS 4096
#define CAT_DEFLATE_LEVEL 1
#define CAT_CHUNK_CACHE   (8u << 20)
#define CAT_CONFIG_MAX    ASW_CAT_CONFIG_MAX
#define CAT_HOSTS_MAX     ASW_CAT_HOSTS_MAX
#define CAT_RUN_ID_MAX    ASW_CAT_RUN_ID_MAX
#define CAT_ID_MAX        40 /* catalogue_id: 32 hex digits + NUL */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Tables                                                              */

enum cat_table {
    T_UNITS,
    T_RUNS,
    T_IMAGES,
    T_SEDS,
    T_ABSORPTION,
    T_SPECTRA,
    T_CHANNELS,
    T_SOURCES,
    T_COUNT
};

/* The measurement tables whose rows belong to a unit and are counted in
 * /units (n_images, n_seds, n_absorption, n_spectra), in this order. */
enum { M_IMAGES, M_SEDS, M_ABSORPTION, M_SPECTRA, M_COUNT };

/* Table of measurement kind m. */
extern const enum cat_table cat_mtable[M_COUNT];

/* Every table of the file, indexed by enum cat_table. */
extern const struct asw_schema *const cat_tables[T_COUNT];

/* The rows of /units, /runs, /spectra, /spectra_channels and /sources are
 * struct asw_cat_unit_row, asw_cat_run_row, asw_cat_spectrum_row,
 * asw_cat_channel_row and asw_cat_source_row (catrows.h), shared with the
 * readers. */

/* The column of t called name, or NULL. */
const struct asw_col *cat_find_col(const struct asw_schema *t,
                                   const char *name);

/* A hash of every table's column names, types, sizes and offsets: a
 * journal written by a build with another row layout is refused. */
uint64_t cat_layout_fingerprint(void);

/* ------------------------------------------------------------------ */
/* HDF5 helpers (catalogue_h5.c; errors and ids: io/h5util.h)          */

/* Errors are reported through struct asw_err, never printed by HDF5. */
static inline void cat_h5_quiet(void)
{
    asw_h5_quiet();
}

/* Record an ASW_EHDF5 error of module "catalogue": context, then the
 * outermost and innermost entries of the HDF5 error stack (which is
 * cleared). Returns ASW_EHDF5. */
#define cat_h5fail(err, ...) asw_h5_fail(err, CAT_MODULE, __VA_ARGS__)

/* Close an HDF5 id of any kind if valid. */
static inline void cat_h5close(hid_t id)
{
    asw_h5_close(id);
}

/* The compound type of t: memory layout (file == 0) or the packed
 * little-endian file layout (file != 0). -1 on error. */
hid_t cat_h5_type(const struct asw_schema *t, int file);

/* A memory type holding only the named columns of t at the given offsets
 * of a caller's struct of size rowsize (partial reads). -1 on error. */
hid_t cat_h5_projection(const struct asw_schema *t, const char *const *names,
                        const size_t *offsets, size_t n, size_t rowsize);

/* Create empty table t in file (extendible, chunked, shuffle + deflate,
 * per-column attributes and the astropy header). -1 with err on error. */
hid_t cat_h5_create_table(hid_t file, const struct asw_schema *t,
                          struct asw_err *err);

/* Open table t of file; -1 (HDF5 error stack set) on error. */
hid_t cat_h5_open_table(hid_t file, const struct asw_schema *t);

/* Rows of a 1-D dataset into *n. 0 or -1. */
int cat_h5_rows(hid_t ds, hsize_t *n);

/* Read (write != 0: write) rows [start, start + count) through memtype. */
int cat_h5_rows_io(hid_t ds, hid_t memtype, hsize_t start, hsize_t count,
                   void *buf, int write);

/* Append count rows to ds (which has *n rows; *n is updated). 0 or -1. */
int cat_h5_append(hid_t ds, hid_t memtype, hsize_t *n, const void *rows,
                  hsize_t count);

int cat_h5_set_str_attr(hid_t obj, const char *name, const char *value);
int cat_h5_set_int_attr(hid_t obj, const char *name, int64_t value);
int cat_h5_set_double_attr(hid_t obj, const char *name, double value);
int cat_h5_get_str_attr(hid_t obj, const char *name, char *buf, size_t n);
int cat_h5_get_int_attr(hid_t obj, const char *name, int64_t *value);
int cat_h5_get_double_attr(hid_t obj, const char *name, double *value);

/* Make string fields NUL-terminated within their size, zero after it. */
void cat_tidy_row(const struct asw_schema *t, void *row);

/* Open path read-only and check schema_version; *file < 0 on error. */
int cat_open_ro(const char *path, hid_t *file, struct asw_err *err);

/* Check the root attribute schema_version of an open file. */
int cat_check_schema(hid_t file, const char *path, struct asw_err *err);

/*
 * Read every row of table t of file through memtype (rowsize bytes per
 * row) into a malloc'd array (*rows, NULL when *n is 0; caller frees).
 */
int cat_read_all(hid_t file, const char *path, const struct asw_schema *t,
                 hid_t memtype, size_t rowsize, void **rows, size_t *n,
                 struct asw_err *err);

/* ------------------------------------------------------------------ */
/* Journal (catalogue_journal.c)                                       */

enum cat_rec_type { REC_RESULT = 1, REC_RUN = 2 };

/* The header of one journal record, followed by len payload bytes. */
struct cat_rec_hdr {
    uint32_t magic;
    uint32_t type; /* enum cat_rec_type */
    uint64_t seq;  /* 1, 2, ...: strictly increasing across the file's life */
    uint64_t len;  /* payload bytes */
    uint32_t crc;  /* CRC-32 of type, seq, len and the payload */
    uint32_t pad;
};

/* The fixed part of a REC_RESULT payload; then the rows, each array in the
 * in-memory struct layout: images, seds, lines, spectra (chan_offset
 * relative to this record), channels. */
struct cat_rec_result {
    struct asw_cat_unit_row unit;
    uint64_t n_rows[M_COUNT];
    uint64_t n_channels;
};

struct cat_journal;

/* The file name of the journal of catalogue path (malloc'd) or NULL. */
char *cat_journal_path(const char *path);

/*
 * Open (creating it if missing) the journal at jpath and take its
 * exclusive lock (flock, released when the process dies, however). Returns
 * 0, ASW_EIO (the lock is held by another process: message "in use") or
 * ASW_ENOMEM. Call cat_journal_adopt() before anything else.
 */
int cat_journal_open(const char *jpath, struct cat_journal **out,
                     struct asw_err *err);

/*
 * Make the locked journal the one of catalogue_id: a missing or torn
 * header is written afresh; a journal of another catalogue or of another
 * row layout is copied aside to "<jpath>.stale-<its id>" (when it holds
 * records: *stale = 1) and started afresh. Never replays foreign records.
 */
int cat_journal_adopt(struct cat_journal *j, const char *catalogue_id,
                      int *stale, struct asw_err *err);

/*
 * Scan the records after the header, calling fn for each intact one in
 * order with its header, its offset and its payload (borrowed for the
 * call). Scanning stops at the first torn or corrupt record; the file is
 * truncated there so that later appends follow the last intact record,
 * and *torn_bytes tells how much was cut. fn returns 0 to go on.
 */
int cat_journal_scan(struct cat_journal *j,
                     int (*fn)(void *ud, const struct cat_rec_hdr *h,
                               uint64_t off, const void *payload),
                     void *ud, uint64_t *torn_bytes, struct asw_err *err);

/* Append one record of type/seq made of the concatenation of the nparts
 * buffers; fdatasync when sync. *off receives its offset. */
int cat_journal_append(struct cat_journal *j, uint32_t type, uint64_t seq,
                       const void *const *parts, const size_t *sizes,
                       size_t nparts, int sync, uint64_t *off,
                       struct asw_err *err);

/* Read the payload of the record at off into a malloc'd buffer (caller
 * frees) after checking its CRC. */
int cat_journal_read(struct cat_journal *j, uint64_t off, struct cat_rec_hdr *h,
                     void **payload, struct asw_err *err);

/* Drop every record (truncate to the header); fsync when sync. */
int cat_journal_reset(struct cat_journal *j, int sync, struct asw_err *err);

/* Count, without locking or changing it, the intact records of the
 * journal at jpath (if it belongs to catalogue_id) with seq > after_seq. */
int cat_journal_peek(const char *jpath, const char *catalogue_id,
                     uint64_t after_seq, size_t *n_after);

/* Bytes of records in the journal. */
uint64_t cat_journal_bytes(const struct cat_journal *j);

/* Close the journal; with remove_if_empty, unlink it first when it holds
 * no record (an empty journal carries no information). Releases the lock.
 * Accepts NULL. */
void cat_journal_close(struct cat_journal *j, int remove_if_empty);

/* CRC-32 (zlib polynomial) of buf, continuing from crc. */
uint32_t cat_crc32(uint32_t crc, const void *buf, size_t n);

/* ------------------------------------------------------------------ */
/* Test hook                                                           */

/*
 * Kill the process (SIGKILL) at the named point when ASW_CAT_CRASH_AT is
 * "point" or "point:N" and this is the N-th time (default 1) the point is
 * reached since the environment was read by cat_crash_arm(). Used by the
 * crash tests; costs one branch when unarmed.
 */
void cat_crash_arm(void);
void cat_crash_point(const char *point);
/* 1 when the armed point is name (without counting), for torn writes. */
int cat_crash_armed_for(const char *point);

/* ------------------------------------------------------------------ */
/* /sources (catalogue_sources.c)                                      */

/*
 * Derive the /sources rows from the /images table of file (read in
 * blocks): per (source, band) the flux history and the spectral index to
 * the nearest higher band with pairs of measurements at most pair_days
 * apart. *rows is malloc'd (caller frees), sorted by source then band.
 */
int cat_sources_derive(hid_t file, const char *path, double pair_days,
                       struct asw_cat_source_row **rows, size_t *n,
                       struct asw_err *err);

/* Rewrite table /sources of file (and its pair_days attribute). */
int cat_sources_write(hid_t file, const char *path, double pair_days,
                      struct asw_err *err);

/*
 * A writer's copy of what /sources is derived from (about 48 bytes per
 * usable /images row), so that a checkpoint does not read /images again:
 * the first one reads the file, later ones remove the rows of the units
 * being replaced and add the rows being appended. Per checkpoint:
 * cat_srcs_begin (doomed(ud, unit_id) says whether a unit's rows go),
 * cat_srcs_add for every appended image, cat_srcs_write to derive and
 * write /sources, cat_srcs_commit(ok) once the file is (or is not)
 * committed. The derivation is the one cat_sources_derive() makes from a
 * file: verify compares the two.
 */
struct cat_srcs;
struct cat_srcs *cat_srcs_new(void);
void cat_srcs_free(struct cat_srcs *s);
int cat_srcs_begin(struct cat_srcs *s, int (*doomed)(void *ud, const char *),
                   void *ud, struct asw_err *err);
int cat_srcs_add(struct cat_srcs *s, const struct asw_image *im, size_t n,
                 struct asw_err *err);
int cat_srcs_write(struct cat_srcs *s, hid_t file, const char *path,
                   double pair_days, struct asw_err *err);
void cat_srcs_commit(struct cat_srcs *s, int ok);

/* ------------------------------------------------------------------ */
/* Misc                                                                */

void cat_utc_now(char *buf, size_t n);
void cat_setstr(char *dst, size_t n, const char *src);

#endif
