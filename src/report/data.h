/*
 * data.h - the catalogue as the report sees it: every table read through
 * the generic reader (io/cattable.h) into the report's own row structs
 * (only the columns it shows; a column the file lacks stays unknown), the
 * rows grouped by source, and the measurement rules the page follows
 * (which images count for a flux history, what one measurement is), the
 * same as the catalogue's /sources derivation (docs/catalogue.md).
 */
#ifndef ASW_REPORT_DATA_H
#define ASW_REPORT_DATA_H

#include "io/cattable.h"
#include "src/result.h"

#include <stddef.h>
#include <stdint.h>

/* One /runs row (provenance). */
struct rep_run {
    char run_id[32];
    char version[32];
    char status[16];
    int32_t exit_code;
    char start_utc[24];
    char end_utc[24];
    int32_t ranks;
    char hosts[512];
    char mode[16];
    char casa_version[64];
    int64_t units_planned;
    int64_t units_done;
    int64_t units_failed;
    int64_t units_skipped;
    int64_t units_retried;
    char config_path[256];
    char config[16384];
};

/* One /units row. */
struct rep_unit {
    char id[ASW_UID_MAX];
    char kind[16];
    char project[ASW_NAME_MAX];
    char mous_uid[ASW_UID_MAX];
    char status[16];
    int32_t attempts;
    char error[ASW_ERRTEXT_MAX];
    int64_t n_files;
    int64_t bytes_total;
    int64_t bytes_fetched;
    double t_download_s;
    double t_extract_s;
    double t_process_s;
    double t_reduce_s;
    char host[64];
    int32_t rank;
    int64_t n_images;
    int64_t n_seds;
    int64_t n_absorption;
    int64_t n_spectra;
    char run_id[32];
    char updated_utc[24];
};

/* One /sources row (flux history and band-pair index per source, band). */
struct rep_source_row {
    char source[ASW_NAME_MAX / 2 + 16];
    int32_t band;
    int64_t n_images;
    int64_t n_epochs;
    double first_mjd;
    double last_mjd;
    double freq_median_hz;
    double flux_median_jy;
    double flux_min_jy;
    double flux_max_jy;
    int32_t pair_band;
    int32_t n_pairs;
    double alpha;
    double alpha_err;
    double alpha_last;
    double alpha_last_err;
    double alpha_last_mjd;
    double alpha_last_dt_days;
};

/* The columns of those rows, by name, for the generic reader. */
extern const struct asw_schema rep_schema_runs;
extern const struct asw_schema rep_schema_units;
extern const struct asw_schema rep_schema_sources;

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
    struct rep_run *runs;
    size_t nruns;
    struct rep_unit *units;
    size_t nunits;
    struct asw_image *images;
    size_t nimages;
    struct asw_sed *seds;
    size_t nseds;
    struct asw_line *lines;
    size_t nlines;
    struct asw_spectrum *spectra;
    size_t nspectra;
    struct rep_source_row *sources;
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
