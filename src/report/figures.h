/*
 * figures.h - the report's figures, each built from the catalogue data
 * (data.h) as a struct plot (plot.h) with a plain-text caption.
 *
 * Every builder returns a new figure that the caller renders and frees
 * with plot_free(), or NULL on out-of-memory; cap receives the caption.
 * A figure whose data the catalogue lacks is still returned: its panels
 * say "no data" and why. Colours are fixed per ALMA band and per unit
 * status throughout the page.
 */
#ifndef ASW_REPORT_FIGURES_H
#define ASW_REPORT_FIGURES_H

#include "data.h"
#include "plot.h"

/* Colour and marker of an ALMA band (1..10; others: black circle). */
struct plot_rgb rep_band_color(int band);
enum plot_marker rep_band_marker(int band);

/* Colour of a unit status (done, failed, skipped, interrupted, pending). */
struct plot_rgb rep_status_color(const char *status);

/* A number with a real minus sign and %.*f, or "–" when not finite. */
void rep_fmt(char *buf, size_t n, double v, int decimals);

/* Per source: flux density against date, one series per band. */
struct plot *fig_flux_history(const struct rep_data *d, const struct rep_src *s,
                              char *cap, size_t n);

/* Per source: flux density against frequency (log-log) per unit, with
 * the power law of every /seds fit of the unit. */
struct plot *fig_sed(const struct rep_data *d, const struct rep_src *s,
                     char *cap, size_t n);

/* Per absorption line (index into d->lines): the cube's spectrum around
 * it, flux and optical depth against radio velocity, and the whole
 * spectral window against frequency. */
struct plot *fig_absorption(const struct rep_data *d, const struct rep_src *s,
                            size_t line, size_t k, char *cap, size_t n);

/* The distribution of the per-unit spectral indices (/seds), stacked by
 * band, with the band-pair indices of /sources as an outline. */
struct plot *fig_alpha_hist(const struct rep_data *d, char *cap, size_t n);

/* QA: images per QA flag. */
struct plot *fig_qa_flags(const struct rep_data *d, char *cap, size_t n);

/* QA: SNR against frequency, flagged images hollow. */
struct plot *fig_qa_snr(const struct rep_data *d, char *cap, size_t n);

/* QA: measured over calibrator-catalogue flux against frequency. */
struct plot *fig_qa_catflux(const struct rep_data *d, char *cap, size_t n);

/* Sweep: units per status. */
struct plot *fig_units_status(const struct rep_data *d, char *cap, size_t n);

/* Sweep: wall time per stage, summed over units. */
struct plot *fig_stage_time(const struct rep_data *d, char *cap, size_t n);

/* Sweep: units per worker (host and rank), done and failed. */
struct plot *fig_workers(const struct rep_data *d, char *cap, size_t n);

/* Failed units per reason (module:code of their error). */
struct plot *fig_fail_reasons(const struct rep_data *d, char *cap, size_t n);

/* The spectrum of line l (same unit, file and spw), or NULL. */
const struct asw_spectrum *rep_line_spectrum(const struct rep_data *d,
                                             const struct asw_line *l);

#endif
