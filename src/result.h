/*
 * result.h - what a worker sends back for one unit (ARCHITECTURE.md,
 * "Result"): status, timings and the measured rows. Image rows are fixed-size
 * so that they map directly onto the /images compound type of the catalogue.
 */
#ifndef ASW_RESULT_H
#define ASW_RESULT_H

#include "err.h"
#include "unit.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum asw_status {
    ASW_ST_PENDING = 0,
    ASW_ST_DONE = 1,
    ASW_ST_FAILED = 2,
    ASW_ST_SKIPPED = 3,
    ASW_ST_INTERRUPTED = 4,
};

#define ASW_FILE_MAX    160
#define ASW_ERRTEXT_MAX 256

/* QA bits of /images qa_flags (docs/catalogue.md). */
enum asw_qa_flag {
    ASW_QA_NOT_FOUND = 1 << 0,     /* no source near the phase centre */
    ASW_QA_OFFSET = 1 << 1,        /* offset > 0.3 beam from the centre */
    ASW_QA_EXTENDED = 1 << 2,      /* peak / integrated flux < 0.7 */
    ASW_QA_HIGH_RMS = 1 << 3,      /* rms well above the theoretical */
    ASW_QA_FEW_PIXELS = 1 << 4,    /* fewer than 3 pixels per beam minor */
    ASW_QA_NAN = 1 << 5,           /* large blanked (NaN) fraction */
    ASW_QA_LOW_SNR = 1 << 6,       /* SNR below 10 */
    ASW_QA_FIT_FAILED = 1 << 7,    /* Gaussian fit did not converge */
    ASW_QA_NO_BEAM = 1 << 8,       /* no restoring beam in the header */
    ASW_QA_UNITS = 1 << 9,         /* brightness unit is not Jy/beam */
    ASW_QA_CAT_MISMATCH = 1 << 10, /* flux differs from the catalogue's */
};

struct asw_image {
    char unit_id[ASW_UID_MAX];
    char file[ASW_FILE_MAX];            /* base name of the FITS file */
    char source[ASW_NAME_MAX / 2 + 16]; /* calibrator name */
    char intent[16];                    /* bp, ph, ch, amp, pol, or "" */
    int32_t spw;                        /* -1 if unknown */
    char specmode[16];                  /* mfs, cube, cont, ... */
    int32_t band;                       /* ALMA band, -1 if unknown */
    int32_t pbcor;                      /* 1 primary-beam corrected, 0 not */
    double freq_hz;      /* reference frequency, NAN if unknown */
    double bandwidth_hz; /* width of the spectral axis */
    double mjd;          /* DATE-OBS as MJD, NAN if unknown */
    double peak_jy;      /* peak brightness, Jy/beam */
    double peak_err_jy;
    double rms_jy;          /* robust noise, Jy/beam */
    double rms_theory_jy;   /* theoretical noise when known */
    double snr;             /* peak / rms */
    double dynamic_range;   /* peak / max |negative| or residual measure */
    double flux_jy;         /* integrated flux of the Gaussian fit */
    double flux_err_jy;     /* statistical (fit) error */
    double flux_cal_err_jy; /* band calibration fraction x flux */
    double flux_tot_err_jy; /* both combined in quadrature */
    double peak_over_flux;  /* peak_jy / flux_jy */
    double ra_deg;          /* fitted position */
    double dec_deg;
    double ra_err_arcsec;
    double dec_err_arcsec;
    double offset_arcsec; /* from the phase centre */
    double offset_beams;
    double fit_maj_arcsec; /* fitted FWHM size */
    double fit_min_arcsec;
    double fit_pa_deg;
    double fit_maj_err_arcsec;
    double fit_min_err_arcsec;
    double fit_pa_err_deg;
    double dec_maj_arcsec; /* deconvolved size (0 when unresolved) */
    double dec_min_arcsec;
    double dec_pa_deg;
    double bmaj_arcsec;
    double bmin_arcsec;
    double bpa_deg;
    double pix_per_beam; /* pixels across the beam minor axis */
    double nan_fraction;
    double peak_x_pix; /* 0-based pixel position of the peak */
    double peak_y_pix;
    double cat_flux_jy;    /* catalogue (flux.csv / service) flux */
    double cat_flux_ratio; /* flux_jy / cat_flux_jy */
    int32_t qa_flags;      /* enum asw_qa_flag bits */
    double qa_score;       /* 0 (bad) .. 1 (good) */
    char error[96];        /* why the image could not be measured */
};

/* Flags of /seds flags. */
enum asw_sed_flag {
    ASW_SED_FEW_SPW = 1 << 0,     /* fewer than 3 spectral windows */
    ASW_SED_SHORT_LEVER = 1 << 1, /* frequency lever arm too small */
    ASW_SED_IN_BAND = 1 << 2,     /* all spws in one band: alpha weak */
    ASW_SED_BAD_FIT = 1 << 3,     /* reduced chi-square too large */
};

/* One spectral-index fit per (unit, source, date). */
struct asw_sed {
    char unit_id[ASW_UID_MAX];
    char source[ASW_NAME_MAX / 2 + 16];
    int32_t band; /* band of the spws, -1 if several */
    int32_t n_spw;
    double mjd;
    double ref_freq_hz;
    double flux_ref_jy;
    double flux_ref_err_jy;
    double alpha;
    double alpha_err;     /* statistical */
    double alpha_sys_err; /* with the inter-spw flux scatter added */
    double chi2;
    int32_t dof;
    double lever_arm; /* log10(nu_max / nu_min) */
    int32_t flags;    /* enum asw_sed_flag bits */
};

/* One absorption feature in a cube. */
struct asw_line {
    char unit_id[ASW_UID_MAX];
    char file[ASW_FILE_MAX];
    char source[ASW_NAME_MAX / 2 + 16];
    int32_t spw;
    char species[24]; /* HCO+, HCN, CO(2-1), ... or "" unknown */
    double rest_freq_hz;
    double freq_hz;    /* observed centre */
    double v_lsrk_kms; /* radio velocity of the centre */
    double fwhm_kms;
    int32_t chan_lo; /* first and last channel of the feature */
    int32_t chan_hi;
    double tau_peak;
    double tau_peak_err;
    int32_t saturated;  /* 1: tau_peak is a lower limit */
    double tau_int_kms; /* integral of tau dv */
    double tau_int_err_kms;
    double depth_sigma; /* peak depth in units of the channel noise */
    double cont_jy;     /* continuum level */
};

/* The spectrum of one cube toward the source (variable length). */
struct asw_spectrum {
    char unit_id[ASW_UID_MAX];
    char file[ASW_FILE_MAX];
    char source[ASW_NAME_MAX / 2 + 16];
    int32_t spw;
    double mjd;
    size_t n_chan;
    double *freq_hz; /* owned arrays of n_chan */
    double *flux_jy; /* peak-pixel spectrum (Jy/beam) */
    /* Beam-weighted aperture spectrum, sum(w I) / sum(w^2) over one beam
     * FWHM (src/reduce/cube.h): the flux density of a point source (Jy);
     * NAN where not measured. A NULL array reads as all NAN. */
    double *ap_flux_jy;
    double *noise_jy; /* per-channel noise */
    double *cont_jy;  /* fitted continuum */
    double *tau;      /* -ln(S / Sc), NAN where undefined */
};

struct asw_result {
    char unit_id[ASW_UID_MAX];
    enum asw_status status;
    char error[ASW_ERRTEXT_MAX]; /* module:code:text, "" when done */
    int32_t attempts;
    double t_download_s;
    double t_extract_s;
    double t_process_s;
    double t_reduce_s;
    int64_t bytes_fetched;
    char host[64];
    int32_t rank;
    char casa_version[64];    /* CASA that processed the unit, "" if none */
    struct asw_image *images; /* owned, n_images */
    size_t n_images;
    struct asw_sed *seds; /* owned, n_seds */
    size_t n_seds;
    struct asw_line *lines; /* owned, n_lines */
    size_t n_lines;
    struct asw_spectrum *spectra; /* owned, n_spectra */
    size_t n_spectra;
};

const char *asw_status_name(enum asw_status s);
int asw_status_parse(const char *s);

/* Append a copy of *img. Returns 0 or ASW_ENOMEM. */
int asw_result_add_image(struct asw_result *r, const struct asw_image *img);
int asw_result_add_sed(struct asw_result *r, const struct asw_sed *sed);
int asw_result_add_line(struct asw_result *r, const struct asw_line *line);

/* Append *sp, taking ownership of its arrays (on failure they are freed). */
int asw_result_add_spectrum(struct asw_result *r, struct asw_spectrum *sp);

/* Free the arrays of a spectrum. Accepts NULL. */
void asw_spectrum_free(struct asw_spectrum *sp);

/* Drop all measured rows (images, seds, lines, spectra). */
void asw_result_drop_rows(struct asw_result *r);

/* Free the rows and zero *r. Accepts NULL. */
void asw_result_clear(struct asw_result *r);

/* Fill a row with "unknown" values (NAN, -1, ""). */
void asw_image_init(struct asw_image *img);
void asw_sed_init(struct asw_sed *sed);
void asw_line_init(struct asw_line *line);

/*
 * JSON form (the MPI payload and `reduce --format json`). to_json returns a
 * malloc'd string the caller frees (NULL on out-of-memory); from_json fills
 * *r and returns 0 or ASW_EPARSE.
 */
char *asw_result_to_json(const struct asw_result *r);
int asw_result_from_json(const char *json, size_t len, struct asw_result *r,
                         struct asw_err *err);

/* One image row as a new JSON object (caller owns the reference). */
json_t *asw_image_to_json_obj(const struct asw_image *m);

#endif
