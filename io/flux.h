/*
 * flux.h - client of the ALMA calibrator flux service (/sc/flux), which
 * the pipeline's hifa_importdata asks for a calibrator's catalogue flux
 * density at a date and frequency (protocol notes, section 4). The
 * reduction stores that flux next to the measured one.
 *
 * Request: GET <base>/sc/flux?NAME=..&DATE=DD-MonthName-YYYY&FREQUENCY=<Hz>
 * (plus WEIGHTED=true&RESULT=1&VERBOSE=1&CATALOGUE=5, as the pipeline
 * sends). Answer: a VOTable-style document with one row, read by FIELD
 * name.
 */
#ifndef ASW_FLUX_H
#define ASW_FLUX_H

#include "src/err.h"

#include <stddef.h>

/* StatusCode values (pipeline dbfluxes.py, log_result). */
enum asw_flux_status {
    ASW_FLUX_GRID_CAL = 0,    /* grid-cal heuristic */
    ASW_FLUX_LOW_CADENCE = 1, /* low-cadence heuristic */
    ASW_FLUX_OUTSIDE = 2,     /* needed data outside the window */
    ASW_FLUX_FALLBACK = 3,    /* fallback outside the window */
    ASW_FLUX_NO_VALID = 4,    /* no valid flux */
};

/* One answer. Numbers are NAN and strings empty when the service left
 * them out. */
struct asw_flux {
    int status_code;          /* enum asw_flux_status, -1 if absent */
    int available;            /* a usable flux: > 0, spectral index valid */
    char source[64];          /* SourceName as echoed */
    char date[32];            /* Date as echoed */
    double freq_hz;           /* Frequency as echoed */
    double flux_jy;           /* FluxDensity */
    double flux_err_jy;       /* FluxDensityError */
    double spix;              /* SpectralIndex */
    double spix_err;          /* SpectralIndexError */
    char data_conditions[16]; /* DataConditions, e.g. "9001" */
    double age_days;          /* Nearest Measurement Date: signed age */
    char version[32];         /* Version */
    char clarification[256];  /* Clarification (a warning), if any */
};

/*
 * Write the service's DATE form of mjd, "27-March-2013" (UTC day), into
 * buf of size n. Returns 0 or ASW_EINVAL (not finite, before 1858 or too
 * small a buffer).
 */
int asw_flux_date(double mjd, char *buf, size_t n);

/*
 * Parse a flux service answer held in memory into *out. Returns 0 when a
 * usable flux was found; ASW_ENOTFOUND when the service answered but has
 * no valid flux (FluxDensity null or <= 0, SpectralIndex -1000, or
 * StatusCode 4), with *out filled as far as it goes and err naming the
 * reason and any Clarification; ASW_EPARSE for an answer that is not a
 * one-row table with at least FluxDensity; ASW_EQUERY when the answer is
 * a QUERY_STATUS ERROR document.
 */
int asw_flux_parse(const char *body, size_t len, struct asw_flux *out,
                   struct asw_err *err);

/*
 * Ask the flux service for name (only the part before a ';' if any, as
 * the pipeline does) at mjd and freq_hz. urls are the service URLs to try
 * in order, e.g. "https://almascience.org/sc/flux" then
 * "https://asa.alma.cl/sc/flux": the next one is tried when one cannot be
 * reached or answers with an HTTP error. retries is per URL. Returns as
 * asw_flux_parse, or ASW_ENET / ASW_EHTTP when no URL answered.
 */
int asw_flux_query(const char *const *urls, size_t n_urls, const char *name,
                   double mjd, double freq_hz, int retries,
                   struct asw_flux *out, struct asw_err *err);

#endif
