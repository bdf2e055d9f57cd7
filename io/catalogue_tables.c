/*
 * catalogue_tables.c - the tables of the catalogue file, each described
 * once by a column array. /images, /seds and /absorption come from
 * src/schema.c (shared with the JSON transport); /units, /runs, /spectra,
 * /spectra_channels and /sources exist only in the file and are described
 * here. docs/catalogue.md documents every column (a unit test checks it).
 */
#include "catalogue_priv.h"

#include <string.h>

#define S ASW_COL_STR
#define I ASW_COL_I32
#define L ASW_COL_I64
#define F ASW_COL_F64

#define UN(f, t, u, d) ASW_COL(struct asw_cat_unit_row, f, t, u, d)
static const struct asw_col unit_cols[] = {
    UN(id, S, "", "sanitized uid of the unit (EB or member OUS), unique"),
    UN(kind, S, "", "eb-raw or mous-products; empty if not known"),
    UN(project, S, "", "ALMA project code"),
    UN(mous_uid, S, "", "member OUS uid, uid://A001/X../X.. form"),
    UN(status, S, "", "pending, done, failed, skipped or interrupted"),
    UN(attempts, I, "", "number of times the unit was tried"),
    UN(error, S, "", "last error as module:code:text, empty when done"),
    UN(n_files, L, "", "number of archive files in the unit, -1 if not known"),
    UN(bytes_total, L, "byte",
       "total size of the unit's files, -1 if not known"),
    UN(bytes_fetched, L, "byte", "bytes downloaded in the last attempt"),
    UN(t_download_s, F, "s", "download wall time"),
    UN(t_extract_s, F, "s", "extraction wall time"),
    UN(t_process_s, F, "s",
       "processing (products selection or CASA) wall time"),
    UN(t_reduce_s, F, "s", "reduction wall time"),
    UN(host, S, "", "host name of the worker"),
    UN(rank, I, "", "MPI rank of the worker"),
    UN(n_images, L, "", "number of /images rows of this unit"),
    UN(n_seds, L, "", "number of /seds rows of this unit"),
    UN(n_absorption, L, "", "number of /absorption rows of this unit"),
    UN(n_spectra, L, "", "number of /spectra rows of this unit"),
    UN(run_id, S, "", "the /runs row of the run that stored this row"),
    UN(updated_utc, S, "", "time the row was stored, ISO 8601 UTC"),
};

#define RU(f, t, u, d) ASW_COL(struct asw_cat_run_row, f, t, u, d)
static const struct asw_col run_cols[] = {
    RU(run_id, S, "", "start time and a random suffix; unique"),
    RU(version, S, "", "almasweep version of the run"),
    RU(status, S, "",
       "running, finished, or interrupted (rank 0 died before the end)"),
    RU(exit_code, I, "", "exit code of rank 0, -1 until the run ends"),
    RU(start_utc, S, "", "start of the run, ISO 8601 UTC"),
    RU(end_utc, S, "", "end of the run, ISO 8601 UTC; empty if it never ended"),
    RU(ranks, I, "", "number of MPI ranks (1 for one process)"),
    RU(hosts, S, "",
       "comma-separated host names: rank 0, then every worker host that "
       "returned a result"),
    RU(mode, S, "", "pipeline mode: products or casa"),
    RU(casa_version, S, "", "CASA version; empty in products mode"),
    RU(units_planned, L, "", "units the archive query gave"),
    RU(units_done, L, "", "units done in this run"),
    RU(units_failed, L, "", "units that failed for good (no attempts left)"),
    RU(units_skipped, L, "", "units skipped: done in an earlier run"),
    RU(units_retried, L, "", "failed attempts retried in this run"),
    RU(config_path, S, "", "path of the configuration file"),
    RU(config, S, "",
       "text of the configuration file, trailing white space removed, cut "
       "at 16383 bytes"),
};

#define SP(f, t, u, d) ASW_COL(struct asw_cat_spectrum_row, f, t, u, d)
static const struct asw_col spectrum_cols[] = {
    SP(unit_id, S, "", "the unit (/units id)"),
    SP(file, S, "", "the cube"),
    SP(source, S, "", "calibrator name"),
    SP(spw, I, "", "spectral window"),
    SP(mjd, F, "d", "observation date as MJD"),
    SP(n_chan, L, "", "number of channels"),
    SP(chan_offset, L, "", "first row of this spectrum in /spectra_channels"),
    SP(freq_min_hz, F, "Hz", "lowest channel frequency"),
    SP(freq_max_hz, F, "Hz", "highest channel frequency"),
};

#define CH(f, t, u, d) ASW_COL(struct asw_cat_channel_row, f, t, u, d)
static const struct asw_col channel_cols[] = {
    CH(freq_hz, F, "Hz", "channel frequency"),
    CH(flux_jy, F, "Jy/beam", "peak-pixel spectrum"),
    /* sum(w I) / sum(w^2) with w the beam, 1 at its centre: for a point
     * source I = S w (Jy/beam), so the value is S, a flux density in Jy
     * (as /images flux_jy against peak_jy). */
    CH(ap_flux_jy, F, "Jy",
       "beam-weighted aperture spectrum, sum(w I) / sum(w^2) over one beam "
       "FWHM: the flux density of a point source; NaN where not measured"),
    CH(noise_jy, F, "Jy/beam", "channel noise"),
    CH(cont_jy, F, "Jy/beam", "fitted continuum"),
    CH(tau, F, "", "optical depth -ln(S/Sc), NaN where undefined"),
};

#define SO(f, t, u, d) ASW_COL(struct asw_cat_source_row, f, t, u, d)
static const struct asw_col source_cols[] = {
    SO(source, S, "", "calibrator name"),
    SO(band, I, "", "ALMA band"),
    SO(n_images, L, "", "usable /images rows (docs/catalogue.md)"),
    SO(n_epochs, L, "", "units (observations) among them"),
    SO(first_mjd, F, "d", "first observation"),
    SO(last_mjd, F, "d", "last observation"),
    SO(freq_median_hz, F, "Hz", "median frequency of the images"),
    SO(flux_median_jy, F, "Jy", "median flux density"),
    SO(flux_min_jy, F, "Jy", "lowest flux density"),
    SO(flux_max_jy, F, "Jy", "highest flux density"),
    SO(pair_band, I, "",
       "the nearest higher band with near-contemporaneous pairs, -1 if "
       "none"),
    SO(n_pairs, I, "", "measurement pairs at most pair_days apart"),
    SO(alpha, F, "",
       "spectral index band -> pair_band, 1/sigma^2-weighted mean over the "
       "pairs"),
    SO(alpha_err, F, "",
       "error of alpha: 1.4826 x MAD of the pair indices (>= 3 pairs), "
       "else the weighted-mean error"),
    SO(alpha_last, F, "", "spectral index of the most recent pair"),
    SO(alpha_last_err, F, "", "error of alpha_last"),
    SO(alpha_last_mjd, F, "d", "mean date of the most recent pair"),
    SO(alpha_last_dt_days, F, "d", "time between the two measurements of it"),
};

const struct asw_schema asw_cat_schema_units = {
    "units", "one row per work unit: status, attempts, error, sizes, timings",
    unit_cols, NELEM(unit_cols), sizeof(struct asw_cat_unit_row)};
const struct asw_schema asw_cat_schema_runs = {
    "runs", "one row per run of almasweep on this catalogue (provenance)",
    run_cols, NELEM(run_cols), sizeof(struct asw_cat_run_row)};
const struct asw_schema asw_cat_schema_spectra = {
    "spectra", "one row per cube spectrum; channels in /spectra_channels",
    spectrum_cols, NELEM(spectrum_cols), sizeof(struct asw_cat_spectrum_row)};
const struct asw_schema asw_cat_schema_channels = {
    "spectra_channels", "the channels of every /spectra row, concatenated",
    channel_cols, NELEM(channel_cols), sizeof(struct asw_cat_channel_row)};
const struct asw_schema asw_cat_schema_sources = {
    "sources",
    "derived from /images: flux history and band-pair spectral index per "
    "(source, band)",
    source_cols, NELEM(source_cols), sizeof(struct asw_cat_source_row)};

const struct asw_schema *const cat_tables[T_COUNT] = {
    [T_UNITS] = &asw_cat_schema_units,
    [T_RUNS] = &asw_cat_schema_runs,
    [T_IMAGES] = &asw_schema_images,
    [T_SEDS] = &asw_schema_seds,
    [T_ABSORPTION] = &asw_schema_lines,
    [T_SPECTRA] = &asw_cat_schema_spectra,
    [T_CHANNELS] = &asw_cat_schema_channels,
    [T_SOURCES] = &asw_cat_schema_sources,
};

const enum cat_table cat_mtable[M_COUNT] = {T_IMAGES, T_SEDS, T_ABSORPTION,
                                            T_SPECTRA};

const struct asw_col *cat_find_col(const struct asw_schema *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

uint64_t cat_layout_fingerprint(void)
{
    uint64_t h = 1469598103934665603ull;
    uint64_t v = sizeof(struct cat_rec_result);
    h = fnv(h, &v, sizeof v);
    for (int t = 0; t < T_COUNT; t++) {
        const struct asw_schema *s = cat_tables[t];
        h = fnv(h, s->name, strlen(s->name) + 1);
        v = s->rowsize;
        h = fnv(h, &v, sizeof v);
        for (size_t i = 0; i < s->ncols; i++) {
            const struct asw_col *c = &s->cols[i];
            uint64_t w[3] = {(uint64_t)c->type, c->offset, c->size};
            h = fnv(h, c->name, strlen(c->name) + 1);
            h = fnv(h, w, sizeof w);
        }
    }
    return h;
}
