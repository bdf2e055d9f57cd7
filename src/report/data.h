/*
 * data.h - the catalogue as the report sees it: every table read through
 * the generic reader (io/cattable.h) into the catalogue's own row structs
 * (io/catrows.h, src/result.h; a column the file lacks stays unknown), the
 * rows grouped by source, and the measurement rules the page follows
 * (which images count for a flux history, what one measurement is), the
 * same as the catalogue's /sources derivation (docs/catalogue.md).
 */
#ifndef ASW_REPORT_DATA_H
#define ASW_REPORT_DATA_H

#include "io/catrows.h"
#include "io/cattable.h"
#include "src/result.h"

#include <stddef.h>
#include <stdint.h>

/* Row indices of one source in every table. */
struct rep_src {
    char name[ASW_NAME_MAX / 2 + 16];
    char slug[48]; /* file-name-safe and unique: s012-J1924-2914 */
    size_t *img, nimg;
    size_t *sed, nsed;
    size_t *line, nline;
    size_t *spec, nspec;
    size_t *srow, nsrow;
};

/* Caps on what is read (struct asw_report_options). */
struct rep_caps {
    size_t max_rows;     /* per table */
    size_t max_spectra;  /* /spectra rows */
    size_t max_channels; /* channels of all spectra */
};

struct rep_data {
    char creator[128], catalogue_id[48], created_utc[40], updated_utc[40];
    char pair_days[32];
    int schema_version;
    struct asw_cat_run_row *runs;
    size_t nruns;
    struct asw_cat_unit_row *units;
    size_t nunits;
    struct asw_image *images;
    size_t nimages;
    struct asw_sed *seds;
    size_t nseds;
    struct asw_line *lines;
    size_t nlines;
    struct asw_spectrum *spectra;
    size_t nspectra;
    struct asw_cat_source_row *sources;
    size_t nsources;
    struct rep_src *srcs; /* sorted by name */
    size_t nsrcs;
    char **notes; /* what the page must say about the data (caps, gaps) */
    size_t nnotes;
};

/*
 * Read every table of the open catalogue c into *d (zeroed first), within
 * caps. A table the file lacks, columns it lacks, rows beyond a cap and
 * spectra that could not be read become notes, not errors. Returns 0,
 * ASW_ENOMEM, ASW_EPARSE or ASW_EHDF5; free *d with rep_data_free() in
 * every case.
 */
int rep_load(struct asw_ct *c, const struct rep_caps *caps, struct rep_data *d,
             struct asw_err *err);

/* Free everything *d holds. Accepts NULL. */
void rep_data_free(struct rep_data *d);

/* Add a note (printf-style, copied). 0 or ASW_ENOMEM. */
int rep_note(struct rep_data *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The source named name, or NULL. */
const struct rep_src *rep_find_src(const struct rep_data *d, const char *name);

/* The image's band: its own, else from its frequency (0 if none). */
int rep_image_band(const struct asw_image *im);

/*
 * Whether an image counts for flux histories (docs/catalogue.md,
 * "/sources"): no error, a source, a band, a positive flux (flux_jy, else
 * peak_jy) and none of the QA bits NOT_FOUND, FIT_FAILED, UNITS. *flux
 * and *err_jy (may be NULL) get the flux and its error (flux_tot_err_jy,
 * else the band's calibration accuracy times the flux).
 */
int rep_image_usable(const struct asw_image *im, double *flux, double *err_jy);

/* Absolute flux calibration accuracy of a band (0.05, 0.10, 0.20). */
double rep_cal_fraction(int band);

/* Median of the finite values of v[0..n) (reordered); NAN if none. */
double rep_median(double *v, size_t n);

/* "YYYY-MM-DD" of an MJD into buf, "-" when unknown. */
void rep_date(double mjd, char *buf, size_t n);

#endif
