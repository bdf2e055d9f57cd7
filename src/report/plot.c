/*
 * plot.c - figures on cairo (plot.h).
 *
 * Layout first, then drawing: the y ticks of every panel are chosen for
 * its height, which gives the left margin (the widest label), which all
 * panels share so that stacked panels line up; then the x ticks for the
 * width. Tick sets are tried from dense to sparse, and the first whose
 * labels neither overlap nor crowd the axis wins.
 */
#include "plot.h"

#include <cairo.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT        "DejaVu Sans"
#define TITLE_PX    15.0
#define PTITLE_PX   12.5
#define LABEL_PX    12.0
#define TICK_PX     11.0
#define LEGEND_PX   11.0
#define MAX_TICKS   64
#define MAX_LEGEND  12
#define TEXT_MAX    256
#define PAD_FRAC    0.06
#define MJD_MIN_DAY 40.0

static const struct plot_rgb INK = {0.13, 0.13, 0.13};
static const struct plot_rgb MUTED = {0.33, 0.33, 0.33};
static const struct plot_rgb GRID = {0.90, 0.90, 0.90};
static const struct plot_rgb FRAME = {0.35, 0.35, 0.35};

/* ------------------------------------------------------------------ */
/* Construction                                                        */

static void copystr(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

struct plot *plot_new(const char *name, const char *title, int width,
                      int height)
{
    struct plot *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    copystr(p->name, sizeof p->name, name);
    copystr(p->title, sizeof p->title, title);
    p->width = width > 100 ? width : 100;
    p->height = height > 80 ? height : 80;
    p->scale = 2.0;
    return p;
}

static void series_free(struct plot_series *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->y);
    free(s->lo);
    free(s->hi);
    if (s->tag)
        for (size_t i = 0; i < s->n; i++)
            free(s->tag[i]);
    free(s->tag);
    json_decref(s->meta);
    free(s);
}

static void axes_free(struct plot_axes *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nseries; i++)
        series_free(a->series[i]);
    free(a->series);
    for (size_t i = 0; i < a->ncats; i++)
        free(a->cats[i]);
    free(a->cats);
    free(a->spans);
    free(a->rules);
    free(a);
}

void plot_free(struct plot *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->naxes; i++)
        axes_free(p->axes[i]);
    free(p->axes);
    free(p);
}

struct plot_axes *plot_add_axes(struct plot *p)
{
    struct plot_axes *a = calloc(1, sizeof *a);
    struct plot_axes **t = realloc(p->axes, (p->naxes + 1) * sizeof *t);
    if (!a || !t) {
        free(a);
        if (t)
            p->axes = t;
        return NULL;
    }
    p->axes = t;
    a->xs = a->ys = PLOT_LIN;
    a->xlim[0] = a->xlim[1] = a->ylim[0] = a->ylim[1] = NAN;
    a->legend = 1;
    a->weight = 1;
    p->axes[p->naxes++] = a;
    return a;
}

void plot_labels(struct plot_axes *a, const char *xlabel, const char *ylabel)
{
    copystr(a->xlabel, sizeof a->xlabel, xlabel);
    copystr(a->ylabel, sizeof a->ylabel, ylabel);
}

int plot_categories(struct plot_axes *a, const char *const *cats, size_t n)
{
    char **c = calloc(n ? n : 1, sizeof *c);
    if (!c)
        return ASW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(c[i] = strdup(cats[i] ? cats[i] : ""))) {
            while (i--)
                free(c[i]);
            free(c);
            return ASW_ENOMEM;
        }
    }
    for (size_t i = 0; i < a->ncats; i++)
        free(a->cats[i]);
    free(a->cats);
    a->cats = c;
    a->ncats = n;
    a->ys = PLOT_CAT;
    return 0;
}

struct plot_series *plot_add_series(struct plot_axes *a, enum plot_kind kind,
                                    const char *label, struct plot_rgb color)
{
    struct plot_series *s = calloc(1, sizeof *s);
    struct plot_series **t = realloc(a->series, (a->nseries + 1) * sizeof *t);
    if (!s || !t) {
        free(s);
        if (t)
            a->series = t;
        return NULL;
    }
    a->series = t;
    copystr(s->label, sizeof s->label, label);
    s->kind = kind;
    s->color = color;
    s->marker = PLOT_CIRCLE;
    s->size = kind == PLOT_POINTS ? 3.5 : 1.6;
    s->width = 1;
    s->opacity = 1;
    a->series[a->nseries++] = s;
    return s;
}

int plot_push(struct plot_series *s, double x, double y, double lo, double hi,
              const char *tag)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        double *nx = realloc(s->x, cap * sizeof *nx);
        if (nx)
            s->x = nx;
        double *ny = realloc(s->y, cap * sizeof *ny);
        if (ny)
            s->y = ny;
        double *nl = realloc(s->lo, cap * sizeof *nl);
        if (nl)
            s->lo = nl;
        double *nh = realloc(s->hi, cap * sizeof *nh);
        if (nh)
            s->hi = nh;
        char **nt = realloc(s->tag, cap * sizeof *nt);
        if (nt)
            s->tag = nt;
        if (!nx || !ny || !nl || !nh || !nt)
            return ASW_ENOMEM;
        s->cap = cap;
    }
    char *t = NULL;
    if (tag && !(t = strdup(tag)))
        return ASW_ENOMEM;
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->lo[s->n] = lo;
    s->hi[s->n] = hi;
    s->tag[s->n] = t;
    s->n++;
    return 0;
}

int plot_add_span(struct plot_axes *a, double x0, double x1,
                  struct plot_rgb color, const char *label)
{
    struct plot_span *t = realloc(a->spans, (a->nspans + 1) * sizeof *t);
    if (!t)
        return ASW_ENOMEM;
    a->spans = t;
    struct plot_span *s = &t[a->nspans++];
    s->x0 = x0 < x1 ? x0 : x1;
    s->x1 = x0 < x1 ? x1 : x0;
    s->color = color;
    copystr(s->label, sizeof s->label, label);
    return 0;
}

int plot_add_rule(struct plot_axes *a, int vertical, double v,
                  struct plot_rgb color, int dashed, const char *label)
{
    struct plot_rule *t = realloc(a->rules, (a->nrules + 1) * sizeof *t);
    if (!t)
        return ASW_ENOMEM;
    a->rules = t;
    struct plot_rule *r = &t[a->nrules++];
    r->vertical = vertical;
    r->v = v;
    r->color = color;
    r->dashed = dashed;
    copystr(r->label, sizeof r->label, label);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Dates                                                               */

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long yy = (long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

#define MJD_UNIX_EPOCH 40587.0

void plot_mjd_to_date(double mjd, int *y, int *m, int *d)
{
    if (!isfinite(mjd) || fabs(mjd) > 1e7) {
        *y = *m = *d = 0;
        return;
    }
    civil_from_days((long)floor(mjd - MJD_UNIX_EPOCH), y, m, d);
}

double plot_date_to_mjd(int y, int m, int d)
{
    return (double)days_from_civil(y, (unsigned)m, (unsigned)d) +
           MJD_UNIX_EPOCH;
}

/* ------------------------------------------------------------------ */
/* Text with ^{sup} and _{sub}                                         */

struct seg {
    const char *s;
    size_t len;
    int level; /* 0, +1 superscript, -1 subscript */
};

/* Split s into runs; at most nmax. */
static size_t segments(const char *s, struct seg *out, size_t nmax)
{
    size_t n = 0;
    while (*s && n < nmax) {
        if ((s[0] == '^' || s[0] == '_') && s[1] == '{') {
            const char *e = strchr(s + 2, '}');
            if (e) {
                out[n++] = (struct seg){s + 2, (size_t)(e - s - 2),
                                        s[0] == '^' ? 1 : -1};
                s = e + 1;
                continue;
            }
        }
        const char *e = s + 1;
        while (*e && !((e[0] == '^' || e[0] == '_') && e[1] == '{'))
            e++;
        out[n++] = (struct seg){s, (size_t)(e - s), 0};
        s = e;
    }
    return n;
}

static void set_font(cairo_t *cr, double px, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD
                                : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, px);
}

static double seg_px(double px, int level)
{
    return level ? px * 0.72 : px;
}

static double text_width(cairo_t *cr, const char *s, double px, int bold)
{
    struct seg sg[32];
    size_t n = segments(s, sg, 32);
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        char buf[TEXT_MAX];
        size_t len = sg[i].len < sizeof buf - 1 ? sg[i].len : sizeof buf - 1;
        memcpy(buf, sg[i].s, len);
        buf[len] = 0;
        cairo_text_extents_t te;
        set_font(cr, seg_px(px, sg[i].level), bold);
        cairo_text_extents(cr, buf, &te);
        w += te.x_advance;
    }
    return w;
}

/* s cut (at a character boundary, with an ellipsis) to at most maxw px:
 * labels from the catalogue (host names, error texts, source names) must
 * not push the plot area off the figure. */
static void fit_text(cairo_t *cr, const char *s, double px, int bold,
                     double maxw, char *out, size_t n)
{
    copystr(out, n, s);
    if (text_width(cr, out, px, bold) <= maxw)
        return;
    size_t len = strlen(out);
    while (len > 0) {
        do
            len--;
        while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80);
        if (len + 4 > n)
            continue;
        memcpy(out + len, "\xe2\x80\xa6", 4); /* ... and the NUL */
        if (text_width(cr, out, px, bold) <= maxw)
            return;
    }
    copystr(out, n, "\xe2\x80\xa6");
}

/*
 * Draw s with its anchor at (x, y): ha 0 left, 0.5 centre, 1 right; va 0
 * top (cap height), 0.5 middle, 1 bottom (descender); rotated by angle
 * radians about the anchor (cairo's sense: -pi/2 reads bottom to top).
 */
static void draw_text(cairo_t *cr, const char *s, double x, double y, double px,
                      int bold, struct plot_rgb c, double ha, double va,
                      double angle)
{
    struct seg sg[32];
    size_t n = segments(s, sg, 32);
    double w = text_width(cr, s, px, bold);
    /* Baseline from the anchor: DejaVu's cap height is ~0.73 em. */
    double base = 0.73 * px - va * (0.73 * px + 0.22 * px);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, angle);
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    double cx = -ha * w;
    for (size_t i = 0; i < n; i++) {
        char buf[TEXT_MAX];
        size_t len = sg[i].len < sizeof buf - 1 ? sg[i].len : sizeof buf - 1;
        memcpy(buf, sg[i].s, len);
        buf[len] = 0;
        double spx = seg_px(px, sg[i].level);
        set_font(cr, spx, bold);
        double dy = sg[i].level > 0   ? -0.42 * px
                    : sg[i].level < 0 ? 0.2 * px
                                      : 0;
        cairo_move_to(cr, cx, base + dy);
        cairo_show_text(cr, buf);
        cairo_text_extents_t te;
        cairo_text_extents(cr, buf, &te);
        cx += te.x_advance;
    }
    cairo_restore(cr);
}

/* ------------------------------------------------------------------ */
/* Scales and limits                                                   */

static double tr(enum plot_scale s, double v)
{
    return s == PLOT_LOG ? log10(v) : v;
}

static int usable(enum plot_scale s, double v)
{
    return isfinite(v) && (s != PLOT_LOG || v > 0);
}

struct ext {
    double lo, hi;
    int any;
};

static void ext_add(struct ext *e, enum plot_scale s, double v)
{
    if (!usable(s, v))
        return;
    if (!e->any || v < e->lo)
        e->lo = v;
    if (!e->any || v > e->hi)
        e->hi = v;
    e->any = 1;
}

/* The extent of the data of a along x (axis 0) or y (axis 1). */
static struct ext data_extent(const struct plot_axes *a, int axis)
{
    struct ext e = {0, 0, 0};
    enum plot_scale sc = axis ? a->ys : a->xs;
    for (size_t i = 0; i < a->nseries; i++) {
        const struct plot_series *s = a->series[i];
        for (size_t j = 0; j < s->n; j++) {
            double x = s->x[j], y = s->y[j], lo = s->lo[j], hi = s->hi[j];
            switch (s->kind) {
            case PLOT_POINTS:
                if (!isfinite(x) || !isfinite(y))
                    break;
                if (axis == 0) {
                    ext_add(&e, sc, x);
                } else if (usable(a->ys, y) && usable(a->xs, x)) {
                    ext_add(&e, sc, y);
                    ext_add(&e, sc, lo);
                    ext_add(&e, sc, hi);
                }
                break;
            case PLOT_LINE:
            case PLOT_STEP:
                if (usable(a->xs, x) && usable(a->ys, y))
                    ext_add(&e, sc, axis ? y : x);
                break;
            case PLOT_BAND:
                if (!usable(a->xs, x))
                    break;
                if (axis == 0 && (isfinite(lo) || isfinite(hi)))
                    ext_add(&e, sc, x);
                if (axis == 1) {
                    ext_add(&e, sc, lo);
                    ext_add(&e, sc, hi);
                }
                break;
            case PLOT_BARS:
                if (!isfinite(x) || !isfinite(y))
                    break;
                if (axis == 0) {
                    ext_add(&e, sc, x - s->width / 2);
                    ext_add(&e, sc, x + s->width / 2);
                } else {
                    ext_add(&e, sc, y);
                    ext_add(&e, sc, isfinite(lo) ? lo : 0);
                }
                break;
            case PLOT_HBARS:
                if (!isfinite(x) || !isfinite(y))
                    break;
                if (axis == 0) {
                    ext_add(&e, sc, x);
                    ext_add(&e, sc, isfinite(lo) ? lo : 0);
                }
                break;
            }
        }
    }
    return e;
}

int plot_axes_has_data(const struct plot_axes *a)
{
    struct ext ex = data_extent(a, 0), ey = data_extent(a, 1);
    if (a->ys == PLOT_CAT)
        return ex.any && a->ncats > 0;
    return ex.any && ey.any;
}

int plot_has_data(const struct plot *p)
{
    for (size_t i = 0; i < p->naxes; i++)
        if (plot_axes_has_data(p->axes[i]))
            return 1;
    return 0;
}

/* Limits of one axis: fixed ones win, the rest follow the data with a
 * margin of PAD_FRAC of the span each side. */
static void limits(enum plot_scale sc, struct ext e, const double fixed[2],
                   int from_zero, double out[2])
{
    double lo, hi;
    if (!e.any) {
        e.lo = sc == PLOT_LOG ? 1 : 0;
        e.hi = sc == PLOT_LOG ? 10 : 1;
    }
    if (from_zero && sc != PLOT_LOG) {
        e.lo = e.lo < 0 ? e.lo : 0;
        e.hi = e.hi > 0 ? e.hi : 0;
    }
    if (sc == PLOT_LOG) {
        lo = log10(e.lo);
        hi = log10(e.hi);
        if (hi - lo < 0.08) {
            double c = 0.5 * (lo + hi);
            lo = c - 0.04;
            hi = c + 0.04;
        } else {
            double pad = PAD_FRAC * (hi - lo);
            lo -= pad;
            hi += pad;
        }
        lo = pow(10, lo);
        hi = pow(10, hi);
    } else {
        lo = e.lo;
        hi = e.hi;
        double span = hi - lo;
        double min_span = sc == PLOT_MJD
                              ? MJD_MIN_DAY
                              : (fabs(lo) + fabs(hi) > 0 ? 0.2 * fabs(hi) : 1);
        if (sc == PLOT_MJD && span < min_span) {
            double c = 0.5 * (lo + hi);
            lo = c - min_span / 2;
            hi = c + min_span / 2;
        } else if (span <= 0) {
            lo -= min_span / 2;
            hi += min_span / 2;
        } else {
            double pad = PAD_FRAC * span;
            int zero_lo = from_zero && e.lo == 0;
            int zero_hi = from_zero && e.hi == 0;
            if (!zero_lo)
                lo -= pad;
            if (!zero_hi)
                hi += pad;
        }
    }
    out[0] = isfinite(fixed[0]) ? fixed[0] : lo;
    out[1] = isfinite(fixed[1]) ? fixed[1] : hi;
    if (!(out[1] > out[0])) { /* a caller's limits the wrong way round */
        double c = out[0];
        out[0] = sc == PLOT_LOG ? c / 2 : c - 0.5;
        out[1] = sc == PLOT_LOG ? c * 2 : c + 0.5;
    }
}

/* ------------------------------------------------------------------ */
/* Ticks                                                               */

struct tick {
    double v;
    char label[48]; /* "" for a minor tick */
};

struct ticks {
    struct tick t[MAX_TICKS];
    size_t n;
};

static void add_tick(struct ticks *t, double v, const char *label)
{
    if (t->n < MAX_TICKS) {
        t->t[t->n].v = v;
        copystr(t->t[t->n].label, sizeof t->t[t->n].label, label);
        t->n++;
    }
}

static size_t nlabels(const struct ticks *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->t[i].label[0] != 0;
    return n;
}

/* A number as a tick label with dec decimals and a real minus sign. */
static void fmt_num(char *buf, size_t n, double v, int dec)
{
    char tmp[40];
    if (fabs(v) >= 1e6 || (v != 0 && fabs(v) < 1e-4))
        snprintf(tmp, sizeof tmp, "%.3g", v);
    else
        snprintf(tmp, sizeof tmp, "%.*f", dec, v);
    if (tmp[0] == '-' && strspn(tmp, "-0.") == strlen(tmp)) /* "-0.0" */
        memmove(tmp, tmp + 1, strlen(tmp));
    if (tmp[0] == '-')
        snprintf(buf, n, "\xe2\x88\x92%s", tmp + 1);
    else
        copystr(buf, n, tmp);
}

static double nice_step(double span, int target)
{
    double raw = span / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double m = f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10;
    return m * mag;
}

static int step_decimals(double step)
{
    int dec = (int)-floor(log10(step) + 1e-9);
    double m = step / pow(10, floor(log10(step) + 1e-9));
    if (fabs(m - 2.5) < 1e-6)
        dec++;
    return dec > 0 ? dec : 0;
}

static void lin_ticks(double lo, double hi, int target, int integer,
                      struct ticks *t)
{
    t->n = 0;
    double step = nice_step(hi - lo, target);
    if (integer && step < 1)
        step = 1;
    int dec = step_decimals(step);
    for (double k = ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k++) {
        char buf[48];
        double v = k * step;
        if (fabs(v) < step * 1e-9)
            v = 0;
        fmt_num(buf, sizeof buf, v, dec);
        add_tick(t, v, buf);
        if (t->n >= MAX_TICKS)
            break;
    }
}

static void pow10_label(char *buf, size_t n, int k)
{
    if (k >= -3 && k <= 4)
        fmt_num(buf, n, pow(10, k), k < 0 ? -k : 0);
    else if (k < 0)
        snprintf(buf, n, "10^{\xe2\x88\x92%d}", -k);
    else
        snprintf(buf, n, "10^{%d}", k);
}

/* Log ticks: mantissas mant[0..nm) (in tenths: 15 is 1.5) labelled in
 * each decade (every dstep-th decade when only 10 is labelled), minor
 * ticks at the other integer mantissas. */
static void log_ticks(double lo, double hi, const int *mant, size_t nm,
                      int dstep, struct ticks *t)
{
    static const int pos[] = {10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90};
    t->n = 0;
    int k0 = (int)floor(log10(lo)), k1 = (int)ceil(log10(hi));
    if (k1 - k0 > 40)
        return;
    int minor = k1 - k0 <= 6;
    for (int k = k0; k <= k1; k++) {
        for (size_t p = 0; p < sizeof pos / sizeof *pos; p++) {
            int m = pos[p];
            double v = m / 10.0 * pow(10, k);
            if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9))
                continue;
            int labelled = 0;
            for (size_t i = 0; i < nm; i++)
                labelled |= mant[i] == m;
            if (m == 10 && nm == 1 && ((k % dstep) + dstep) % dstep)
                labelled = 0;
            char buf[48] = "";
            if (labelled) {
                int dec = m % 10 ? 1 - k : -k;
                if (m == 10)
                    pow10_label(buf, sizeof buf, k);
                else
                    fmt_num(buf, sizeof buf, v, dec > 0 ? dec : 0);
            } else if (!minor || m % 10) {
                continue;
            }
            add_tick(t, v, buf);
        }
    }
}

/* Date ticks every step days (kind 0), months (1) or years (2). */
static void date_ticks(double lo, double hi, int kind, int step,
                       struct ticks *t)
{
    t->n = 0;
    int y, m, d;
    plot_mjd_to_date(lo, &y, &m, &d);
    if (y == 0)
        return;
    if (kind == 0) {
        for (double v = ceil(lo); v <= hi && t->n < MAX_TICKS; v++) {
            int yy, mm, dd;
            plot_mjd_to_date(v, &yy, &mm, &dd);
            int ok = step <= 2 ? ((long)v % step) == 0
                               : (dd - 1) % step == 0 && dd <= 28;
            if (!ok)
                continue;
            char buf[48];
            snprintf(buf, sizeof buf, "%04d-%02d-%02d", yy, mm, dd);
            add_tick(t, v, buf);
        }
        return;
    }
    if (kind == 1) {
        int yy = y, mm = m;
        for (int i = 0; i < 600 && t->n < MAX_TICKS; i++) {
            double v = plot_date_to_mjd(yy, mm, 1);
            if (v > hi)
                break;
            if (v >= lo && (mm - 1) % step == 0) {
                char buf[48];
                snprintf(buf, sizeof buf, "%04d-%02d", yy, mm);
                add_tick(t, v, buf);
            }
            if (++mm > 12) {
                mm = 1;
                yy++;
            }
        }
        return;
    }
    for (int yy = y; yy < y + 400 && t->n < MAX_TICKS; yy++) {
        double v = plot_date_to_mjd(yy, 1, 1);
        if (v > hi)
            break;
        if (v >= lo && yy % step == 0) {
            char buf[48];
            snprintf(buf, sizeof buf, "%04d", yy);
            add_tick(t, v, buf);
        }
    }
}

/* Whether the labels of t fit along an axis of len px (horizontal: x). */
static int ticks_fit(cairo_t *cr, const struct ticks *t, enum plot_scale sc,
                     double lo, double hi, double len, int horizontal)
{
    double last_end = -1e9;
    double span = tr(sc, hi) - tr(sc, lo);
    for (size_t i = 0; i < t->n; i++) {
        if (!t->t[i].label[0])
            continue;
        double pos = (tr(sc, t->t[i].v) - tr(sc, lo)) / span * len;
        double half = horizontal ? text_width(cr, t->t[i].label, TICK_PX, 0) / 2
                                 : TICK_PX * 0.75;
        double gap = horizontal ? 12 : 10;
        if (pos - half < last_end + gap)
            return 0;
        last_end = pos + half;
    }
    return 1;
}

/* Choose the ticks of an axis of len px. */
static void choose_ticks(cairo_t *cr, enum plot_scale sc, double lo, double hi,
                         double len, int horizontal, int integer,
                         struct ticks *out)
{
    struct ticks t;
    size_t maxn = horizontal ? 9 : 8;
    out->n = 0;
    if (sc == PLOT_LIN) {
        static const int targets[] = {10, 8, 6, 5, 4, 3, 2};
        for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
            lin_ticks(lo, hi, targets[i], integer, &t);
            if (nlabels(&t) <= maxn &&
                ticks_fit(cr, &t, sc, lo, hi, len, horizontal)) {
                *out = t;
                return;
            }
            *out = t;
        }
        return;
    }
    if (sc == PLOT_LOG) {
        static const int dense[] = {10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90},
                         half[] = {10, 15, 20, 30, 40, 50, 70},
                         all[] = {10, 20, 30, 40, 50, 60, 70, 80, 90},
                         m1235[] = {10, 15, 20, 30, 50, 70},
                         m235[] = {10, 20, 30, 50}, m125[] = {10, 20, 50},
                         m13[] = {10, 30}, m1[] = {10};
        const struct {
            const int *m;
            size_t n;
            int dstep;
        } cands[] = {{dense, 11, 1}, {half, 7, 1}, {all, 9, 1}, {m1235, 6, 1},
                     {m235, 4, 1},   {m125, 3, 1}, {m13, 2, 1}, {m1, 1, 1},
                     {m1, 1, 2},     {m1, 1, 3},   {m1, 1, 5}};
        for (size_t i = 0; i < sizeof cands / sizeof *cands; i++) {
            log_ticks(lo, hi, cands[i].m, cands[i].n, cands[i].dstep, &t);
            size_t nl = nlabels(&t);
            if (nl >= 3 && nl <= maxn &&
                ticks_fit(cr, &t, sc, lo, hi, len, horizontal)) {
                *out = t;
                return;
            }
        }
        /* A range too narrow for three 1-2-5 labels: plain numbers. */
        static const int targets[] = {8, 6, 5, 4, 3, 2};
        for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
            lin_ticks(lo, hi, targets[i], 0, &t);
            if (nlabels(&t) >= 2 && nlabels(&t) <= maxn &&
                ticks_fit(cr, &t, sc, lo, hi, len, horizontal)) {
                *out = t;
                return;
            }
        }
        log_ticks(lo, hi, m1, 1, 1, out);
        return;
    }
    if (sc == PLOT_MJD) {
        static const int cand[][2] = {
            {0, 1}, {0, 2}, {0, 5}, {0, 10}, {1, 1},  {1, 2},  {1, 3},  {1, 6},
            {2, 1}, {2, 2}, {2, 5}, {2, 10}, {2, 20}, {2, 50}, {2, 100}};
        for (size_t i = 0; i < sizeof cand / sizeof *cand; i++) {
            if (cand[i][0] == 0 && (hi - lo) / cand[i][1] > 60)
                continue;
            if (cand[i][0] == 1 && (hi - lo) / (30.0 * cand[i][1]) > 60)
                continue;
            date_ticks(lo, hi, cand[i][0], cand[i][1], &t);
            if (nlabels(&t) >= 2 && nlabels(&t) <= 7 &&
                ticks_fit(cr, &t, sc, lo, hi, len, horizontal)) {
                *out = t;
                return;
            }
        }
        /* Fewer than two calendar ticks fit: first and last day. */
        char buf[48];
        int y, m, d;
        plot_mjd_to_date(lo, &y, &m, &d);
        snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
        add_tick(out, ceil(lo), buf);
        return;
    }
}

/* ------------------------------------------------------------------ */
/* Layout                                                              */

struct layout {
    struct ticks xt, yt;
    double left, right, top, bottom; /* margins of the panel area */
    double y0, y1;                   /* panel area vertical extent */
};

static double map_x(const struct plot_axes *a, double v)
{
    double l = tr(a->xs, a->lim_x[0]), h = tr(a->xs, a->lim_x[1]);
    return a->box[0] + (tr(a->xs, v) - l) / (h - l) * (a->box[2] - a->box[0]);
}

static double map_y(const struct plot_axes *a, double v)
{
    double l = tr(a->ys, a->lim_y[0]), h = tr(a->ys, a->lim_y[1]);
    if (a->ys == PLOT_CAT) /* category 0 at the top */
        return a->box[1] + (v - l) / (h - l) * (a->box[3] - a->box[1]);
    return a->box[3] - (tr(a->ys, v) - l) / (h - l) * (a->box[3] - a->box[1]);
}

/* Clamp a value to the drawable range of a log axis. */
static double clamp_log(enum plot_scale sc, double v, double lim_lo)
{
    if (sc == PLOT_LOG && !(v > 0))
        return lim_lo / 10;
    return v;
}

/* ------------------------------------------------------------------ */
/* Drawing                                                             */

static void set_rgb(cairo_t *cr, struct plot_rgb c, double alpha)
{
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

static void marker_path(cairo_t *cr, enum plot_marker m, double x, double y,
                        double r)
{
    switch (m) {
    case PLOT_SQUARE:
        cairo_rectangle(cr, x - r * 0.88, y - r * 0.88, 1.76 * r, 1.76 * r);
        break;
    case PLOT_TRIANGLE:
        cairo_move_to(cr, x, y - 1.2 * r);
        cairo_line_to(cr, x + 1.05 * r, y + 0.75 * r);
        cairo_line_to(cr, x - 1.05 * r, y + 0.75 * r);
        cairo_close_path(cr);
        break;
    case PLOT_DOWN:
        cairo_move_to(cr, x, y + 1.2 * r);
        cairo_line_to(cr, x + 1.05 * r, y - 0.75 * r);
        cairo_line_to(cr, x - 1.05 * r, y - 0.75 * r);
        cairo_close_path(cr);
        break;
    case PLOT_DIAMOND:
        cairo_move_to(cr, x, y - 1.25 * r);
        cairo_line_to(cr, x + 1.0 * r, y);
        cairo_line_to(cr, x, y + 1.25 * r);
        cairo_line_to(cr, x - 1.0 * r, y);
        cairo_close_path(cr);
        break;
    default:
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, r, 0, 2 * M_PI);
    }
}

static void draw_marker(cairo_t *cr, const struct plot_series *s, double x,
                        double y)
{
    marker_path(cr, s->marker, x, y, s->size);
    if (s->open) {
        cairo_set_source_rgba(cr, 1, 1, 1, s->opacity);
        cairo_fill_preserve(cr);
        set_rgb(cr, s->color, s->opacity);
        cairo_set_line_width(cr, 1.5);
        cairo_stroke(cr);
    } else {
        set_rgb(cr, s->color, s->opacity);
        cairo_fill(cr);
    }
}

static void dash(cairo_t *cr, int on)
{
    static const double d[] = {5.0, 3.5};
    cairo_set_dash(cr, d, on ? 2 : 0, 0);
}

/* Stroke the current path in the series' colour, width and dash. */
static void stroke_series(cairo_t *cr, const struct plot_series *s)
{
    set_rgb(cr, s->color, s->opacity);
    cairo_set_line_width(cr, s->size);
    dash(cr, s->dashed);
    cairo_stroke(cr);
    dash(cr, 0);
}

static void draw_series(cairo_t *cr, const struct plot_axes *a,
                        const struct plot_series *s)
{
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    switch (s->kind) {
    case PLOT_POINTS:
        cairo_set_line_width(cr, 1.1);
        set_rgb(cr, s->color, s->opacity * 0.85);
        for (size_t i = 0; i < s->n; i++) {
            if (!usable(a->xs, s->x[i]) || !usable(a->ys, s->y[i]))
                continue;
            double px = map_x(a, s->x[i]);
            if (isfinite(s->lo[i]) && isfinite(s->hi[i])) {
                double y0 = map_y(a, clamp_log(a->ys, s->lo[i], a->lim_y[0]));
                double y1 = map_y(a, s->hi[i]);
                cairo_move_to(cr, px, y0);
                cairo_line_to(cr, px, y1);
                cairo_move_to(cr, px - 2.5, y0);
                cairo_line_to(cr, px + 2.5, y0);
                cairo_move_to(cr, px - 2.5, y1);
                cairo_line_to(cr, px + 2.5, y1);
            }
        }
        cairo_stroke(cr);
        for (size_t i = 0; i < s->n; i++)
            if (usable(a->xs, s->x[i]) && usable(a->ys, s->y[i]))
                draw_marker(cr, s, map_x(a, s->x[i]), map_y(a, s->y[i]));
        break;
    case PLOT_LINE: {
        int pen = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (!usable(a->xs, s->x[i]) || !usable(a->ys, s->y[i])) {
                pen = 0;
                continue;
            }
            double px = map_x(a, s->x[i]), py = map_y(a, s->y[i]);
            if (pen)
                cairo_line_to(cr, px, py);
            else
                cairo_move_to(cr, px, py);
            pen = 1;
        }
        stroke_series(cr, s);
        break;
    }
    case PLOT_STEP: {
        int pen = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (!usable(a->xs, s->x[i]) || !usable(a->ys, s->y[i])) {
                pen = 0;
                continue;
            }
            /* Channel edges halfway to the neighbours. */
            double xl = i > 0 && isfinite(s->x[i - 1])
                            ? 0.5 * (s->x[i - 1] + s->x[i])
                        : i + 1 < s->n && isfinite(s->x[i + 1])
                            ? s->x[i] - 0.5 * (s->x[i + 1] - s->x[i])
                            : s->x[i];
            double xr = i + 1 < s->n && isfinite(s->x[i + 1])
                            ? 0.5 * (s->x[i] + s->x[i + 1])
                        : i > 0 && isfinite(s->x[i - 1])
                            ? s->x[i] + 0.5 * (s->x[i] - s->x[i - 1])
                            : s->x[i];
            double py = map_y(a, s->y[i]);
            if (pen)
                cairo_line_to(cr, map_x(a, xl), py);
            else
                cairo_move_to(cr, map_x(a, xl), py);
            cairo_line_to(cr, map_x(a, xr), py);
            pen = 1;
        }
        stroke_series(cr, s);
        break;
    }
    case PLOT_BAND: {
        /* Runs of points with both bounds finite. */
        size_t i = 0;
        while (i < s->n) {
            while (i < s->n && !(usable(a->xs, s->x[i]) && isfinite(s->lo[i]) &&
                                 isfinite(s->hi[i])))
                i++;
            size_t j = i;
            while (j < s->n && usable(a->xs, s->x[j]) && isfinite(s->lo[j]) &&
                   isfinite(s->hi[j]))
                j++;
            if (j > i + 1) {
                for (size_t k = i; k < j; k++) {
                    double py =
                        map_y(a, clamp_log(a->ys, s->hi[k], a->lim_y[0]));
                    if (k == i)
                        cairo_move_to(cr, map_x(a, s->x[k]), py);
                    else
                        cairo_line_to(cr, map_x(a, s->x[k]), py);
                }
                for (size_t k = j; k-- > i;)
                    cairo_line_to(
                        cr, map_x(a, s->x[k]),
                        map_y(a, clamp_log(a->ys, s->lo[k], a->lim_y[0])));
                cairo_close_path(cr);
                set_rgb(cr, s->color, s->opacity);
                cairo_fill(cr);
            }
            i = j;
        }
        break;
    }
    case PLOT_BARS:
        for (size_t i = 0; i < s->n; i++) {
            if (!isfinite(s->x[i]) || !usable(a->ys, s->y[i]))
                continue;
            double base = isfinite(s->lo[i]) ? s->lo[i] : 0;
            double x0 = map_x(a, s->x[i] - s->width / 2);
            double x1 = map_x(a, s->x[i] + s->width / 2);
            double y0 = map_y(a, clamp_log(a->ys, base, a->lim_y[0]));
            double y1 = map_y(a, s->y[i]);
            cairo_rectangle(cr, x0, y1, x1 - x0, y0 - y1);
            set_rgb(cr, s->color, s->opacity);
            cairo_fill_preserve(cr);
            cairo_set_source_rgb(cr, 1, 1, 1);
            cairo_set_line_width(cr, 0.8);
            cairo_stroke(cr);
        }
        break;
    case PLOT_HBARS:
        for (size_t i = 0; i < s->n; i++) {
            if (!isfinite(s->x[i]) || !isfinite(s->y[i]))
                continue;
            double base = isfinite(s->lo[i]) ? s->lo[i] : 0;
            double h = (a->box[3] - a->box[1]) / (double)a->ncats;
            double yc = map_y(a, s->y[i]);
            double bh = h * 0.64 < 26 ? h * 0.64 : 26;
            double x0 = map_x(a, clamp_log(a->xs, base, a->lim_x[0]));
            double x1 = map_x(a, s->x[i]);
            cairo_rectangle(cr, x0, yc - bh / 2, x1 - x0, bh);
            set_rgb(cr, s->color, s->opacity);
            cairo_fill(cr);
        }
        break;
    }
}

/* Whether another horizontal bar of category y reaches beyond x. */
static int hbar_outdone(const struct plot_axes *a, const struct plot_series *s,
                        double y, double x)
{
    for (size_t k = 0; k < a->nseries; k++) {
        const struct plot_series *o = a->series[k];
        if (o == s || o->kind != PLOT_HBARS)
            continue;
        for (size_t i = 0; i < o->n; i++)
            if (o->y[i] == y && o->x[i] > x)
                return 1;
    }
    return 0;
}

/* Value labels at the ends of horizontal bars (counts, seconds): the end
 * value of the outermost bar of a category, so stacked bars show their
 * total. */
static void label_hbars(cairo_t *cr, const struct plot_axes *a)
{
    for (size_t si = 0; si < a->nseries; si++) {
        const struct plot_series *s = a->series[si];
        if (s->kind != PLOT_HBARS)
            continue;
        for (size_t i = 0; i < s->n; i++) {
            if (!isfinite(s->x[i]) || !isfinite(s->y[i]) ||
                hbar_outdone(a, s, s->y[i], s->x[i]))
                continue;
            char buf[48];
            double v = s->x[i];
            if (fabs(v - round(v)) < 1e-9 && fabs(v) < 1e12)
                snprintf(buf, sizeof buf, "%.0f", v);
            else
                snprintf(buf, sizeof buf, "%.3g", v);
            double px = map_x(a, s->x[i]);
            double w = text_width(cr, buf, TICK_PX, 0);
            int inside = px + 4 + w > a->box[2];
            draw_text(cr, buf, inside ? px - 4 : px + 4, map_y(a, s->y[i]),
                      TICK_PX, 0, inside ? (struct plot_rgb){1, 1, 1} : INK,
                      inside ? 1 : 0, 0.5, 0);
        }
    }
}

struct legend_item {
    const char *label;
    int type; /* 0 series, 1 span, 2 rule */
    const void *obj;
};

/* Whether a rule lies inside the limits drawn. */
static int rule_visible(const struct plot_axes *a, const struct plot_rule *r)
{
    enum plot_scale sc = r->vertical ? a->xs : a->ys;
    const double *lim = r->vertical ? a->lim_x : a->lim_y;
    return usable(sc, r->v) && r->v >= lim[0] && r->v <= lim[1];
}

static size_t legend_items(const struct plot_axes *a, struct legend_item *it,
                           size_t max, size_t *hidden)
{
    size_t n = 0;
    *hidden = 0;
    if (!a->legend)
        return 0;
    for (size_t i = 0; i < a->nseries; i++)
        if (a->series[i]->label[0] && a->series[i]->n) {
            if (n < max)
                it[n++] =
                    (struct legend_item){a->series[i]->label, 0, a->series[i]};
            else
                (*hidden)++;
        }
    for (size_t i = 0; i < a->nspans; i++)
        if (a->spans[i].label[0]) {
            if (n < max)
                it[n++] =
                    (struct legend_item){a->spans[i].label, 1, &a->spans[i]};
            else
                (*hidden)++;
        }
    for (size_t i = 0; i < a->nrules; i++)
        if (a->rules[i].label[0] && rule_visible(a, &a->rules[i])) {
            if (n < max)
                it[n++] =
                    (struct legend_item){a->rules[i].label, 2, &a->rules[i]};
            else
                (*hidden)++;
        }
    return n;
}

#define LEGEND_ROW 16.0

/* Size of a's legend; 0 items when it has none. */
static size_t legend_size(cairo_t *cr, const struct plot_axes *a, double *lw,
                          double *lh)
{
    struct legend_item it[MAX_LEGEND];
    size_t hidden;
    size_t n = legend_items(a, it, MAX_LEGEND, &hidden);
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double tw = text_width(cr, it[i].label, LEGEND_PX, 0);
        w = tw > w ? tw : w;
    }
    if (hidden) {
        char more[48];
        snprintf(more, sizeof more, "and %zu more", hidden);
        double tw = text_width(cr, more, LEGEND_PX, 0);
        w = tw > w ? tw : w;
    }
    *lw = w + 40;
    *lh = (double)(n + (hidden > 0)) * LEGEND_ROW + 8;
    return n;
}

static int overlaps(double ax0, double ay0, double ax1, double ay1, double bx0,
                    double by0, double bx1, double by1)
{
    return ax0 < bx1 && bx0 < ax1 && ay0 < by1 && by0 < ay1;
}

/* How much of a's data a legend at the rectangle would hide. */
static size_t cover_cost(const struct plot_axes *a, double x0, double y0,
                         double x1, double y1)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nseries; i++) {
        const struct plot_series *s = a->series[i];
        size_t stride = s->n > 2000 ? s->n / 2000 : 1;
        for (size_t j = 0; j < s->n; j += stride) {
            if (s->kind == PLOT_HBARS) {
                if (!isfinite(s->x[j]) || !isfinite(s->y[j]))
                    continue;
                double base = isfinite(s->lo[j]) ? s->lo[j] : 0;
                double h = (a->box[3] - a->box[1]) / (double)a->ncats;
                double yc = map_y(a, s->y[j]);
                /* The bar and its value label. */
                n += 4 * (size_t)overlaps(map_x(a, base), yc - h / 2,
                                          map_x(a, s->x[j]) + 40, yc + h / 2,
                                          x0, y0, x1, y1);
                continue;
            }
            if (s->kind == PLOT_BARS) {
                if (!isfinite(s->x[j]) || !usable(a->ys, s->y[j]))
                    continue;
                double base = isfinite(s->lo[j]) ? s->lo[j] : 0;
                n +=
                    4 * (size_t)overlaps(
                            map_x(a, s->x[j] - s->width / 2), map_y(a, s->y[j]),
                            map_x(a, s->x[j] + s->width / 2),
                            map_y(a, clamp_log(a->ys, base, a->lim_y[0])), x0,
                            y0, x1, y1);
                continue;
            }
            if (!usable(a->xs, s->x[j]))
                continue;
            double px = map_x(a, s->x[j]);
            double ys[3] = {s->y[j], s->lo[j], s->hi[j]};
            for (int k = 0; k < 3; k++) {
                if (!usable(a->ys, ys[k]))
                    continue;
                double py = map_y(a, ys[k]);
                n += (k == 0 ? 3 : 1) * (px >= x0 - 4 && px <= x1 + 4 &&
                                         py >= y0 - 4 && py <= y1 + 4);
            }
        }
    }
    return n;
}

/*
 * Where a's legend goes: the inside corner hiding the least data, or,
 * when every corner hides some and there is room, outside to the right
 * of the plot area (which then narrows). Call with the box and limits
 * set; the caller chooses the x ticks afterwards.
 */
static void legend_place(cairo_t *cr, struct plot_axes *a)
{
    double lw, lh;
    a->legend_n = legend_size(cr, a, &lw, &lh);
    if (!a->legend_n)
        return;
    a->legend_wh[0] = lw;
    a->legend_wh[1] = lh;
    double bx0 = a->box[0], by0 = a->box[1], bx1 = a->box[2], by1 = a->box[3];
    /* Corners first, then the middles of the edges. */
    double cx = 0.5 * (bx0 + bx1 - lw), cy = 0.5 * (by0 + by1 - lh);
    double cand[8][2] = {{bx1 - 8 - lw, by0 + 8},
                         {bx0 + 8, by0 + 8},
                         {bx1 - 8 - lw, by1 - 8 - lh},
                         {bx0 + 8, by1 - 8 - lh},
                         {cx, by0 + 8},
                         {cx, by1 - 8 - lh},
                         {bx1 - 8 - lw, cy},
                         {bx0 + 8, cy}};
    size_t best = 0, best_cost = (size_t)-1;
    int fits = a->legend != 2 && lw <= bx1 - bx0 - 16 && lh <= by1 - by0 - 16;
    for (size_t i = 0; fits && i < 8; i++) {
        size_t c = cover_cost(a, cand[i][0], cand[i][1], cand[i][0] + lw,
                              cand[i][1] + lh);
        if (c < best_cost) {
            best_cost = c;
            best = i;
        }
    }
    if (fits && best_cost == 0) {
        a->legend_at[0] = cand[best][0];
        a->legend_at[1] = cand[best][1];
        return;
    }
    if (lw + 12 <= (a->legend == 2 ? 0.5 : 0.4) * (bx1 - bx0) &&
        lh <= by1 - by0) {
        a->box[2] = bx1 - lw - 12;
        a->legend_at[0] = a->box[2] + 10;
        a->legend_at[1] = by0;
        return;
    }
    if (!fits) {
        a->legend_n = 0;
        return;
    }
    a->legend_at[0] = cand[best][0];
    a->legend_at[1] = cand[best][1];
}

static void draw_legend(cairo_t *cr, const struct plot_axes *a)
{
    struct legend_item it[MAX_LEGEND];
    size_t hidden;
    size_t n = legend_items(a, it, MAX_LEGEND, &hidden);
    if (!a->legend_n || n == 0)
        return;
    double lw, lh;
    legend_size(cr, a, &lw, &lh);
    double lx = a->legend_at[0], ly = a->legend_at[1], row = LEGEND_ROW;
    cairo_rectangle(cr, lx, ly, lw, lh);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.88);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    for (size_t i = 0; i < n; i++) {
        double cy = ly + 4 + row * ((double)i + 0.5), sx = lx + 8;
        if (it[i].type == 0) {
            const struct plot_series *s = it[i].obj;
            if (s->kind == PLOT_POINTS) {
                draw_marker(cr, s, sx + 11, cy);
            } else if (s->kind == PLOT_LINE || s->kind == PLOT_STEP) {
                cairo_move_to(cr, sx, cy);
                cairo_line_to(cr, sx + 22, cy);
                stroke_series(cr, s);
                if (s->legend_marker > 0) {
                    marker_path(cr, s->marker, sx + 11, cy, s->legend_marker);
                    set_rgb(cr, s->color, s->opacity);
                    cairo_fill(cr);
                }
            } else {
                cairo_rectangle(cr, sx + 3, cy - 5, 16, 10);
                set_rgb(cr, s->color, s->opacity);
                cairo_fill(cr);
            }
        } else if (it[i].type == 1) {
            const struct plot_span *sp = it[i].obj;
            cairo_rectangle(cr, sx + 3, cy - 5, 16, 10);
            set_rgb(cr, sp->color, 1);
            cairo_fill(cr);
        } else {
            const struct plot_rule *r = it[i].obj;
            cairo_move_to(cr, sx, cy);
            cairo_line_to(cr, sx + 22, cy);
            set_rgb(cr, r->color, 1);
            cairo_set_line_width(cr, 1.4);
            dash(cr, r->dashed);
            cairo_stroke(cr);
            dash(cr, 0);
        }
        draw_text(cr, it[i].label, sx + 30, cy, LEGEND_PX, 0, INK, 0, 0.5, 0);
    }
    if (hidden) {
        char more[48];
        snprintf(more, sizeof more, "and %zu more", hidden);
        draw_text(cr, more, lx + 38, ly + 4 + row * ((double)n + 0.5),
                  LEGEND_PX, 0, MUTED, 0, 0.5, 0);
    }
}

static void draw_empty(cairo_t *cr, const struct plot_axes *a)
{
    double cx = 0.5 * (a->box[0] + a->box[2]);
    double cy = 0.5 * (a->box[1] + a->box[3]);
    cairo_rectangle(cr, a->box[0], a->box[1], a->box[2] - a->box[0],
                    a->box[3] - a->box[1]);
    cairo_set_source_rgb(cr, 0.965, 0.965, 0.965);
    cairo_fill_preserve(cr);
    set_rgb(cr, FRAME, 1);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    struct plot_rgb grey = {0.45, 0.45, 0.45};
    draw_text(cr, "no data", cx, cy - 10, 14, 1, grey, 0.5, 0.5, 0);
    if (a->empty[0])
        draw_text(cr, a->empty, cx, cy + 12, LABEL_PX, 0, grey, 0.5, 0.5, 0);
}

static void draw_axes(cairo_t *cr, struct plot_axes *a, const struct layout *L)
{
    double x0 = a->box[0], y0 = a->box[1], x1 = a->box[2], y1 = a->box[3];
    if (a->title[0])
        draw_text(cr, a->title, x0, y0 - 6, PTITLE_PX, 1, INK, 0, 1, 0);
    if (a->ylabel[0])
        draw_text(cr, a->ylabel, 14, 0.5 * (y0 + y1), LABEL_PX, 0, INK, 0.5,
                  0.5, -M_PI / 2);
    if (a->xlabel[0] && !a->hide_xticklabels)
        draw_text(cr, a->xlabel, 0.5 * (x0 + x1), y1 + 22 + TICK_PX, LABEL_PX,
                  0, INK, 0.5, 0, 0);
    if (a->drawn_empty) {
        draw_empty(cr, a);
        return;
    }
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill(cr);
    /* Grid at the labelled ticks. */
    cairo_set_line_width(cr, 0.8);
    set_rgb(cr, GRID, 1);
    for (size_t i = 0; i < L->xt.n; i++)
        if (L->xt.t[i].label[0]) {
            double px = round(map_x(a, L->xt.t[i].v)) + 0.5;
            cairo_move_to(cr, px, y0);
            cairo_line_to(cr, px, y1);
        }
    if (a->ys != PLOT_CAT)
        for (size_t i = 0; i < L->yt.n; i++)
            if (L->yt.t[i].label[0]) {
                double py = round(map_y(a, L->yt.t[i].v)) + 0.5;
                cairo_move_to(cr, x0, py);
                cairo_line_to(cr, x1, py);
            }
    cairo_stroke(cr);

    cairo_save(cr);
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    cairo_clip(cr);
    for (size_t i = 0; i < a->nspans; i++) {
        const struct plot_span *s = &a->spans[i];
        double sx0 = map_x(a, s->x0), sx1 = map_x(a, s->x1);
        cairo_rectangle(cr, sx0, y0, sx1 - sx0 < 1 ? 1 : sx1 - sx0, y1 - y0);
        set_rgb(cr, s->color, 1);
        cairo_fill(cr);
    }
    for (size_t i = 0; i < a->nseries; i++)
        draw_series(cr, a, a->series[i]);
    for (size_t i = 0; i < a->nrules; i++) {
        const struct plot_rule *r = &a->rules[i];
        if (r->vertical && !usable(a->xs, r->v))
            continue;
        if (!r->vertical && !usable(a->ys, r->v))
            continue;
        if (r->vertical) {
            cairo_move_to(cr, map_x(a, r->v), y0);
            cairo_line_to(cr, map_x(a, r->v), y1);
        } else {
            cairo_move_to(cr, x0, map_y(a, r->v));
            cairo_line_to(cr, x1, map_y(a, r->v));
        }
        set_rgb(cr, r->color, 1);
        cairo_set_line_width(cr, 1.2);
        dash(cr, r->dashed);
        cairo_stroke(cr);
        dash(cr, 0);
    }
    cairo_restore(cr);
    label_hbars(cr, a);

    /* Frame and ticks. */
    cairo_rectangle(cr, x0 + 0.5, y0 + 0.5, x1 - x0 - 1, y1 - y0 - 1);
    set_rgb(cr, FRAME, 1);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    for (size_t i = 0; i < L->xt.n; i++) {
        double px = round(map_x(a, L->xt.t[i].v)) + 0.5;
        double len = L->xt.t[i].label[0] ? 5 : 3;
        cairo_move_to(cr, px, y1);
        cairo_line_to(cr, px, y1 - len);
        cairo_move_to(cr, px, y0);
        cairo_line_to(cr, px, y0 + len);
    }
    for (size_t i = 0; i < L->yt.n && a->ys != PLOT_CAT; i++) {
        double py = round(map_y(a, L->yt.t[i].v)) + 0.5;
        double len = L->yt.t[i].label[0] ? 5 : 3;
        cairo_move_to(cr, x0, py);
        cairo_line_to(cr, x0 + len, py);
        cairo_move_to(cr, x1, py);
        cairo_line_to(cr, x1 - len, py);
    }
    cairo_stroke(cr);
    if (!a->hide_xticklabels)
        for (size_t i = 0; i < L->xt.n; i++)
            if (L->xt.t[i].label[0])
                draw_text(cr, L->xt.t[i].label, map_x(a, L->xt.t[i].v), y1 + 5,
                          TICK_PX, 0, MUTED, 0.5, 0, 0);
    for (size_t i = 0; i < L->yt.n; i++)
        if (L->yt.t[i].label[0])
            draw_text(cr, L->yt.t[i].label, x0 - 6, map_y(a, L->yt.t[i].v),
                      TICK_PX, 0, a->ys == PLOT_CAT ? INK : MUTED, 1, 0.5, 0);
    draw_legend(cr, a);
}

int plot_render(struct plot *p, const char *dir, struct asw_err *err)
{
    int rc = 0;
    double sc = p->scale > 0 ? p->scale : 1;
    cairo_surface_t *surf = cairo_image_surface_create(
        CAIRO_FORMAT_ARGB32, (int)(p->width * sc), (int)(p->height * sc));
    cairo_t *cr = cairo_create(surf);
    struct layout *L = calloc(p->naxes ? p->naxes : 1, sizeof *L);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS || !L) {
        rc = asw_err_set(err, ASW_ENOMEM, "report", "out of memory (plot)");
        goto out;
    }
    cairo_scale(cr, sc, sc);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);

    double top = 10;
    if (p->title[0]) {
        char t[sizeof p->title];
        double tpx = TITLE_PX, maxw = p->width - 28;
        double tw = text_width(cr, p->title, tpx, 1);
        if (tw > maxw) /* smaller, down to 11 px, then cut */
            tpx = tpx * maxw / tw > 11 ? tpx * maxw / tw : 11;
        fit_text(cr, p->title, tpx, 1, maxw, t, sizeof t);
        draw_text(cr, t, 14, 10, tpx, 1, INK, 0, 0, 0);
        top += TITLE_PX + 12;
    }
    double wsum = 0;
    for (size_t i = 0; i < p->naxes; i++)
        wsum += p->axes[i]->weight > 0 ? p->axes[i]->weight : 1;
    /* Vertical layout, then limits and y ticks, then the common left
     * margin, then x ticks. */
    double avail = p->height - top, y = top, left = 40;
    for (size_t i = 0; i < p->naxes; i++) {
        struct plot_axes *a = p->axes[i];
        double h = avail * (a->weight > 0 ? a->weight : 1) / wsum;
        L[i].y0 = y;
        L[i].y1 = y + h;
        y += h;
        L[i].top = a->title[0] ? PTITLE_PX + 12 : 6;
        L[i].bottom = a->hide_xticklabels ? 8
                      : a->xlabel[0]      ? TICK_PX + LABEL_PX + 22
                                          : TICK_PX + 12;
        a->drawn_empty = !plot_axes_has_data(a);
        limits(a->xs, data_extent(a, 0), a->xlim, a->x_from_zero, a->lim_x);
        if (a->ys == PLOT_CAT) {
            a->lim_y[0] = -0.5;
            a->lim_y[1] = (double)a->ncats - 0.5;
            L[i].yt.n = 0;
            for (size_t k = 0; k < a->ncats; k++) {
                char lab[48];
                fit_text(cr, a->cats[k], TICK_PX, 0, 0.42 * p->width, lab,
                         sizeof lab);
                add_tick(&L[i].yt, (double)k, lab);
            }
        } else {
            limits(a->ys, data_extent(a, 1), a->ylim, a->y_from_zero, a->lim_y);
        }
        double ylen = L[i].y1 - L[i].bottom - (L[i].y0 + L[i].top);
        if (a->drawn_empty) {
            L[i].xt.n = L[i].yt.n = 0;
        } else if (a->ys != PLOT_CAT) {
            choose_ticks(cr, a->ys, a->lim_y[0], a->lim_y[1], ylen, 0,
                         a->y_integer, &L[i].yt);
        }
        double w = 0;
        for (size_t k = 0; k < L[i].yt.n; k++) {
            double tw = text_width(cr, L[i].yt.t[k].label, TICK_PX, 0);
            w = tw > w ? tw : w;
        }
        double need = w + 10 + (a->ylabel[0] ? LABEL_PX + 16 : 8);
        left = need > left ? need : left;
    }
    for (size_t i = 0; i < p->naxes; i++) {
        struct plot_axes *a = p->axes[i];
        a->box[0] = left;
        a->box[2] = p->width - 18;
        a->box[1] = L[i].y0 + L[i].top;
        a->box[3] = L[i].y1 - L[i].bottom;
        a->legend_n = 0;
        if (!a->drawn_empty) {
            legend_place(cr, a);
            choose_ticks(cr, a->xs, a->lim_x[0], a->lim_x[1],
                         a->box[2] - a->box[0], 1, a->x_integer, &L[i].xt);
        }
        draw_axes(cr, a, &L[i]);
    }
    cairo_surface_flush(surf);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.png", dir, p->name);
    cairo_status_t st = cairo_surface_write_to_png(surf, path);
    if (st != CAIRO_STATUS_SUCCESS)
        rc = asw_err_set(err, ASW_EIO, "report", "%s: %s", path,
                         cairo_status_to_string(st));
out:
    free(L);
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    return rc;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

void plot_hex(struct plot_rgb c, char *buf)
{
    snprintf(buf, 8, "#%02x%02x%02x", (int)lround(c.r * 255),
             (int)lround(c.g * 255), (int)lround(c.b * 255));
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *num_array(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, num(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static const char *scale_name(enum plot_scale s)
{
    return s == PLOT_LOG   ? "log"
           : s == PLOT_MJD ? "mjd"
           : s == PLOT_CAT ? "category"
                           : "linear";
}

static const char *kind_name(enum plot_kind k)
{
    static const char *const names[] = {"points", "line", "step",
                                        "band",   "bars", "hbars"};
    return names[k];
}

static json_t *series_json(const struct plot_series *s)
{
    char hex[8];
    plot_hex(s->color, hex);
    json_t *tags = json_array();
    for (size_t i = 0; tags && i < s->n; i++)
        json_array_append_new(tags,
                              s->tag[i] ? json_string(s->tag[i]) : json_null());
    static const char *const markers[] = {"circle", "square", "triangle",
                                          "diamond", "down"};
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:b, s:I, s:o*, s:o*, s:o*, "
                     "s:o*, s:o*, s:O?}",
                     "label", s->label, "kind", kind_name(s->kind), "color",
                     hex, "marker", markers[s->marker], "size", s->size, "open",
                     s->open, "n", (json_int_t)s->n, "x", num_array(s->x, s->n),
                     "y", num_array(s->y, s->n), "lo", num_array(s->lo, s->n),
                     "hi", num_array(s->hi, s->n), "tag", tags, "meta",
                     s->meta);
}

json_t *plot_json(const struct plot *p)
{
    json_t *panels = json_array();
    for (size_t i = 0; panels && i < p->naxes; i++) {
        const struct plot_axes *a = p->axes[i];
        json_t *series = json_array(), *cats = json_array();
        for (size_t k = 0; series && k < a->nseries; k++)
            json_array_append_new(series, series_json(a->series[k]));
        for (size_t k = 0; cats && k < a->ncats; k++)
            json_array_append_new(cats, json_string(a->cats[k]));
        json_t *rules = json_array();
        for (size_t k = 0; rules && k < a->nrules; k++) {
            char rh[8];
            plot_hex(a->rules[k].color, rh);
            json_array_append_new(
                rules, json_pack("{s:b, s:o, s:s, s:s}", "vertical",
                                 a->rules[k].vertical, "v", num(a->rules[k].v),
                                 "color", rh, "label", a->rules[k].label));
        }
        json_t *legend =
            a->legend_n
                ? json_pack("[f,f,f,f]", a->legend_at[0], a->legend_at[1],
                            a->legend_wh[0], a->legend_wh[1])
                : NULL;
        json_t *o = json_pack(
            "{s:s, s:b, s:s*, s:{s:s, s:s, s:[o,o], s:b}, "
            "s:{s:s, s:s, s:[o,o]}, s:[f,f,f,f], s:o*, s:o*, s:o*, s:o*}",
            "title", a->title, "empty", a->drawn_empty, "empty_reason",
            a->drawn_empty ? a->empty : NULL, "x", "label", a->xlabel, "scale",
            scale_name(a->xs), "lim", num(a->lim_x[0]), num(a->lim_x[1]),
            "ticklabels", !a->hide_xticklabels, "y", "label", a->ylabel,
            "scale", scale_name(a->ys), "lim", num(a->lim_y[0]),
            num(a->lim_y[1]), "box", a->box[0], a->box[1], a->box[2], a->box[3],
            "categories", cats, "series", series, "legend", legend, "rules",
            rules);
        if (!o || json_array_append_new(panels, o)) {
            json_decref(panels);
            return NULL;
        }
    }
    if (!panels)
        return NULL;
    return json_pack("{s:s, s:s, s:i, s:i, s:f, s:b, s:o}", "name", p->name,
                     "title", p->title, "width", p->width, "height", p->height,
                     "scale", p->scale, "has_data", plot_has_data(p), "panels",
                     panels);
}
