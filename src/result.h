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

struct asw_image {
    char unit_id[ASW_UID_MAX];
    char file[ASW_FILE_MAX];            /* base name of the FITS file */
    char source[ASW_NAME_MAX / 2 + 16]; /* calibrator name */
    char intent[16];                    /* bp, ph, ch, amp, pol, or "" */
    int32_t spw;                        /* -1 if unknown */
    char specmode[16];                  /* mfs, cube, cont, ... */
    double freq_hz; /* reference frequency, NAN if unknown */
    double mjd;     /* DATE-OBS as MJD, NAN if unknown */
    double peak_jy; /* peak brightness, Jy/beam */
    double rms_jy;  /* robust noise, Jy/beam */
    double snr;     /* peak / rms */
    double bmaj_arcsec;
    double bmin_arcsec;
    double bpa_deg;
    double peak_x_pix; /* 0-based pixel position of the peak */
    double peak_y_pix;
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
    struct asw_image *images; /* owned, n_images */
    size_t n_images;
};

const char *asw_status_name(enum asw_status s);
int asw_status_parse(const char *s);

/* Append a copy of *img. Returns 0 or ASW_ENOMEM. */
int asw_result_add_image(struct asw_result *r, const struct asw_image *img);

/* Free the rows and zero *r. Accepts NULL. */
void asw_result_clear(struct asw_result *r);

/* Fill an image row with "unknown" values (NAN, -1, ""). */
void asw_image_init(struct asw_image *img);

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
