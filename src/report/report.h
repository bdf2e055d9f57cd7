/*
 * report.h - `almasweep report`: a static HTML page about one catalogue,
 * with plots drawn by cairo (plot.h) into PNG files next to it
 * (docs/report.md).
 *
 * DIR/index.html holds run provenance (/runs), sweep statistics, the QA
 * overview, the distribution of spectral indices, per source its flux
 * history per band, its SED with the spectral index fitted per unit and
 * its absorption spectra on optical-depth and velocity axes, and the
 * failed units with their reasons. DIR/plots/ holds the PNGs. Every figure
 * carries the values it plots (a table, and JSON for machines), and a
 * figure whose data the catalogue lacks says "no data" with the reason.
 */
#ifndef ASW_REPORT_REPORT_H
#define ASW_REPORT_REPORT_H

#include "io/cattable.h"
#include "src/err.h"

#include <stddef.h>

struct asw_report_options {
    const char *title;    /* page title; NULL: "almasweep report" */
    const char *source;   /* fnmatch pattern (any case); NULL: all sources */
    size_t max_sources;   /* source sections at most; 0: 200 */
    size_t max_rows;      /* rows read per table; 0: 500000 */
    size_t max_spectra;   /* spectra read; 0: 5000 */
    size_t max_channels;  /* channels of all spectra; 0: 4000000 */
    double scale;         /* PNG pixels per CSS pixel; 0: 2 */
    const char *note;     /* NULL, or a line for the page header */
    const char *cat_path; /* the catalogue's path as shown; may be NULL */
};

struct asw_report_stats {
    size_t sources;       /* source sections written */
    size_t sources_total; /* sources in the catalogue */
    size_t plots;         /* PNG files written */
    size_t plots_empty;   /* of which "no data" */
    size_t units, units_failed, images;
    size_t notes; /* remarks about the data (caps, missing tables) */
};

/* Fill *o with the defaults above (all zero / NULL). */
void asw_report_options_default(struct asw_report_options *o);

/*
 * Write the report of the open catalogue c into directory dir (created
 * with its parents if missing): dir/index.html and dir/plots/<name>.png.
 * PNG files already in dir/plots are removed first (the directory is the
 * report's); index.html is written to a temporary name and renamed, so a
 * reader never sees half a page. o may be NULL (defaults); st (may be
 * NULL) receives counts. Returns 0; ASW_EIO when dir or a file in it
 * cannot be created or written (the message names it); ASW_EPARSE or
 * ASW_EHDF5 when the catalogue cannot be read; ASW_ENOMEM.
 */
int asw_report_write(struct asw_ct *c, const char *dir,
                     const struct asw_report_options *o,
                     struct asw_report_stats *st, struct asw_err *err);

/*
 * Release the process-wide caches of cairo and fontconfig that drawing
 * text fills, so that a leak checker sees a clean exit. Call once, when
 * nothing in the process draws with cairo or uses fontconfig afterwards
 * (the end of `almasweep report`).
 */
void asw_report_cleanup(void);

#endif
