/*
 * plot.h - scientific figures drawn with cairo into PNG files.
 *
 * A figure (struct plot) has a title and one or more panels (axes)
 * stacked vertically. A panel has x and y scales (linear, logarithmic,
 * dates given as MJD, or categories), axis labels with units, and series:
 * points with error bars, lines, step lines, filled bands, vertical bars
 * (histograms) and horizontal bars (counts per category), plus shaded
 * x-spans and reference lines. Limits not fixed by the caller follow the
 * data. Ticks are chosen for the scale (1-2-5 and decades on log axes,
 * calendar years, months or days on date axes); a legend is placed in the
 * corner of the panel where it hides the fewest points. A panel with
 * nothing to draw says so ("no data: ...") instead of showing empty axes.
 *
 * Every value drawn stays in the figure: plot_json() describes the panels
 * (pixel box, scales, limits) and every series with its values, so the
 * page can list what a plot shows and a test can check it pixel by pixel.
 *
 * Text may carry ^{superscript} and _{subscript}. Sizes are CSS pixels;
 * the PNG is drawn at plot->scale device pixels per CSS pixel.
 */
#ifndef ASW_REPORT_PLOT_H
#define ASW_REPORT_PLOT_H

#include "src/err.h"

#include <jansson.h>
#include <stddef.h>

struct plot_rgb {
    double r, g, b; /* 0..1 */
};

enum plot_scale { PLOT_LIN, PLOT_LOG, PLOT_MJD, PLOT_CAT };

enum plot_kind {
    PLOT_POINTS, /* markers, error bars from lo to hi when given */
    PLOT_LINE,   /* polyline; a NAN value breaks it */
    PLOT_STEP,   /* steps centred on x (channelised spectra) */
    PLOT_BAND,   /* area between lo and hi along x */
    PLOT_BARS,   /* vertical bars centred on x, from lo (NAN: 0) to y */
    PLOT_HBARS,  /* horizontal bars on category y, from lo (NAN: 0) to x */
};

enum plot_marker {
    PLOT_CIRCLE,
    PLOT_SQUARE,
    PLOT_TRIANGLE,
    PLOT_DIAMOND,
    PLOT_DOWN, /* triangle pointing down */
};

struct plot_series {
    char label[128]; /* legend text; "" keeps it out of the legend */
    enum plot_kind kind;
    struct plot_rgb color;
    enum plot_marker marker;
    double size;          /* marker radius or line width, CSS px */
    double width;         /* bar width in x data units (PLOT_BARS) */
    double opacity;       /* 0..1 */
    int open;             /* hollow markers */
    double legend_marker; /* lines: marker radius in the legend, 0 none */
    int dashed;
    size_t n, cap;
    double *x, *y, *lo, *hi;
    char **tag;   /* per point, may be NULL: what the point is */
    json_t *meta; /* what the series is (listed with its values) */
};

struct plot_span {
    double x0, x1;
    struct plot_rgb color;
    char label[96];
};

struct plot_rule {
    int vertical; /* 1: x = v, 0: y = v */
    double v;
    struct plot_rgb color;
    int dashed;
    char label[96]; /* legend text, "" for none */
};

struct plot_axes {
    char title[160];
    char xlabel[128], ylabel[128];
    enum plot_scale xs, ys;
    double xlim[2], ylim[2]; /* NAN: from the data */
    int y_from_zero;         /* the y range includes 0 (bars, counts) */
    int x_from_zero;
    int x_integer, y_integer; /* ticks at whole numbers only (counts) */
    int hide_xticklabels;     /* a panel above another with the same x */
    int legend;               /* 1 (default): draw it; 2: always to the
                                 right of the plot area */
    double weight;            /* share of the figure height */
    char **cats;              /* category labels of a PLOT_CAT axis */
    size_t ncats;
    struct plot_series **series;
    size_t nseries;
    struct plot_span *spans;
    size_t nspans;
    struct plot_rule *rules;
    size_t nrules;
    char empty[192]; /* why there is nothing to draw; "" = say "no data" */
    /* Set by plot_render(): */
    double box[4];             /* plot area x0, y0, x1, y1 in CSS px */
    double lim_x[2], lim_y[2]; /* the limits drawn */
    int drawn_empty;           /* 1 when the panel said "no data" */
    size_t legend_n;           /* legend entries drawn */
    double legend_at[2];       /* its top left corner, */
    double legend_wh[2];       /* width and height */
};

struct plot {
    char name[96];   /* file stem: <name>.png */
    char title[256]; /* drawn at the top */
    int width, height;
    double scale;
    struct plot_axes **axes;
    size_t naxes;
    char alt[512]; /* alternative text for the page */
};

/* A new figure of width x height CSS pixels (scale 2). Returns NULL on
 * out-of-memory; free with plot_free(). name and title are copied. */
struct plot *plot_new(const char *name, const char *title, int width,
                      int height);

/* Free a figure and everything in it. Accepts NULL. */
void plot_free(struct plot *p);

/* Add a panel below the existing ones (weight 1, linear scales, limits
 * from the data, legend on). Owned by p; NULL on out-of-memory. */
struct plot_axes *plot_add_axes(struct plot *p);

/* Set the axis labels (copied). */
void plot_labels(struct plot_axes *a, const char *xlabel, const char *ylabel);

/* Make the y axis categorical with labels cats[0..n) from top to bottom
 * (copied). Returns 0 or ASW_ENOMEM. */
int plot_categories(struct plot_axes *a, const char *const *cats, size_t n);

/* A new series of a, drawn in the order added. label is copied. Defaults:
 * circle markers of radius 3.5, line width 1.6, opacity 1. Owned by a;
 * NULL on out-of-memory. */
struct plot_series *plot_add_series(struct plot_axes *a, enum plot_kind kind,
                                    const char *label, struct plot_rgb color);

/* Append a value: x, y and lo, hi (NAN for none); tag (may be NULL) is
 * copied. Returns 0 or ASW_ENOMEM. */
int plot_push(struct plot_series *s, double x, double y, double lo, double hi,
              const char *tag);

/* Shade x0..x1 of a (label copied, "" for none). 0 or ASW_ENOMEM. */
int plot_add_span(struct plot_axes *a, double x0, double x1,
                  struct plot_rgb color, const char *label);

/* A reference line x = v (vertical) or y = v. 0 or ASW_ENOMEM. */
int plot_add_rule(struct plot_axes *a, int vertical, double v,
                  struct plot_rgb color, int dashed, const char *label);

/* Whether a has anything to draw. */
int plot_axes_has_data(const struct plot_axes *a);

/*
 * Lay out and draw p into dir/<name>.png. Panels without data show their
 * "no data" message. Fills every panel's box and limits. Returns 0,
 * ASW_EIO (the PNG could not be written) or ASW_ENOMEM.
 */
int plot_render(struct plot *p, const char *dir, struct asw_err *err);

/*
 * The figure as a new JSON object (after plot_render): name, size,
 * scale, and per panel its title, scales, labels, limits, pixel box and
 * series with their values (NAN as null), tags and meta. Caller owns the
 * reference; NULL on out-of-memory.
 */
json_t *plot_json(const struct plot *p);

/* Whether any panel of p has data. */
int plot_has_data(const struct plot *p);

/* "#rrggbb" of c into buf (8 bytes). */
void plot_hex(struct plot_rgb c, char *buf);

/* Calendar date of an MJD into y, m (1..12), d (1..31). */
void plot_mjd_to_date(double mjd, int *y, int *m, int *d);

/* MJD of a calendar date at 0h UTC. */
double plot_date_to_mjd(int y, int m, int d);

#endif
