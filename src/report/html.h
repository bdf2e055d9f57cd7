/*
 * html.h - writing the report page: escaping text from the catalogue
 * (every string read from the file goes through html_esc), and a figure
 * with its image, caption, values table and machine-readable JSON.
 */
#ifndef ASW_REPORT_HTML_H
#define ASW_REPORT_HTML_H

#include "plot.h"

#include <stdio.h>

/* Write s with & < > " ' escaped (safe in text and quoted attributes). */
void html_esc(FILE *f, const char *s);

/* Write text with ^{..} and _{..} as <sup> and <sub> (escaped). */
void html_markup(FILE *f, const char *s);

/*
 * Write p (rendered into plots/<name>.png) as a <figure>: the image with
 * its size and alt text, the caption (plain text, escaped), a collapsed
 * table of the values plotted (at most max_rows rows per series; the JSON
 * has them all), and the figure's JSON (plot_json) in a <script
 * type="application/json" class="plot-data">. kind and source (may be
 * NULL) become data-kind and data-source. Returns 0 or ASW_ENOMEM.
 */
int html_figure(FILE *f, const struct plot *p, const char *kind,
                const char *source, const char *caption, size_t max_rows);

#endif
