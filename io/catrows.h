/*
 * catrows.h - the rows of the tables that exist only in the catalogue file
 * (/units, /runs, /spectra, /spectra_channels, /sources) as C structs, and
 * their schemas: column names, types, units and descriptions, described
 * once (io/catalogue_tables.c; docs/catalogue.md is the schema of record).
 * The writer (io/catalogue*.c) stores these rows; readers (the report,
 * through io/cattable.h) read them back by column name. The rows of
 * /images, /seds and /absorption are struct asw_image, asw_sed and
 * asw_line (src/result.h, described in src/schema.h).
 */
#ifndef ASW_IO_CATROWS_H
#define ASW_IO_CATROWS_H

#include "src/result.h"
#include "src/schema.h"

#include <stdint.h>

#define ASW_CAT_RUN_ID_MAX 32
#define ASW_CAT_HOSTS_MAX  512
#define ASW_CAT_CONFIG_MAX 16384

/* One /units row. */
struct asw_cat_unit_row {
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
    char run_id[ASW_CAT_RUN_ID_MAX];
    char updated_utc[24];
};

/* One /runs row. */
struct asw_cat_run_row {
    char run_id[ASW_CAT_RUN_ID_MAX];
    char version[32];
    char status[16];
    int32_t exit_code;
    char start_utc[24];
    char end_utc[24];
    int32_t ranks;
    char hosts[ASW_CAT_HOSTS_MAX];
    char mode[16];
    char casa_version[64];
    int64_t units_planned;
    int64_t units_done;
    int64_t units_failed;
    int64_t units_skipped;
    int64_t units_retried;
    char config_path[256];
    char config[ASW_CAT_CONFIG_MAX];
};

/* One /spectra row: a cube's spectrum, its channels in /spectra_channels
 * rows [chan_offset, chan_offset + n_chan). */
struct asw_cat_spectrum_row {
    char unit_id[ASW_UID_MAX];
    char file[ASW_FILE_MAX];
    char source[ASW_NAME_MAX / 2 + 16];
    int32_t spw;
    double mjd;
    int64_t n_chan;
    int64_t chan_offset;
    double freq_min_hz;
    double freq_max_hz;
};

/* One /spectra_channels row. */
struct asw_cat_channel_row {
    double freq_hz;
    double flux_jy;    /* peak pixel, Jy/beam */
    double ap_flux_jy; /* beam-weighted aperture, Jy (point-source flux) */
    double noise_jy;
    double cont_jy;
    double tau;
};

/* One /sources row (derived from /images): per (source, band) the flux
 * history and the spectral index to the nearest higher band. */
struct asw_cat_source_row {
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

/* The schemas of those rows (static; the table names are the schema
 * names: "units", "runs", "spectra", "spectra_channels", "sources"). */
extern const struct asw_schema asw_cat_schema_units;
extern const struct asw_schema asw_cat_schema_runs;
extern const struct asw_schema asw_cat_schema_spectra;
extern const struct asw_schema asw_cat_schema_channels;
extern const struct asw_schema asw_cat_schema_sources;

#endif
