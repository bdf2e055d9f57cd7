/*
 * ADQL geometry as SQLite functions.
 *
 * A geometry value is STC-S text, as the archive's s_region column holds
 * it: "Position ICRS ra dec", "Circle ICRS ra dec r", "Polygon ICRS ra1
 * dec1 ...", "Union ICRS ( ... )", a trailing "Not ( ... )" cutting holes,
 * and the simulator's own "Box" and "Range" (RANGE_S2D). Angles are degrees.
 *
 * Tests are done on the unit sphere: distances with atan2(|u x v|, u.v),
 * point-in-polygon in the gnomonic projection about the point (which maps
 * the great-circle edges to straight lines, so the test is exact for
 * polygons smaller than a hemisphere), edge crossings as great-circle arc
 * intersections. Holes count exactly for CONTAINS and conservatively for
 * INTERSECTS (a shape only misses a holed region when it lies entirely
 * inside one hole). INTERSECTION(...) is read as a union. Frames are not
 * converted: everything is taken as ICRS.
 */
#include "sim.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RAD          (M_PI / 180.0)
#define MAX_VERTICES 100000
#define MAX_TERMS    10000
#define RANGE_STEPS  16

struct vec {
    double x, y, z;
};

enum shape_kind { S_POINT, S_CIRCLE, S_POLY };

struct shape {
    enum shape_kind kind;
    struct vec c;  /* point or circle centre */
    double r;      /* circle radius, radians */
    size_t n;      /* polygon vertices */
    struct vec *v; /* owned */
};

struct term {
    struct shape outer;
    size_t nholes;
    struct shape *holes; /* owned */
};

struct region {
    size_t n;
    struct term *t; /* owned */
};

/* ---- vector helpers ---------------------------------------------------- */

static struct vec radec(double ra_deg, double dec_deg)
{
    double ra = ra_deg * RAD, dec = dec_deg * RAD;
    struct vec v = {cos(dec) * cos(ra), cos(dec) * sin(ra), sin(dec)};
    return v;
}

static double dot(struct vec a, struct vec b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}

static struct vec cross(struct vec a, struct vec b)
{
    struct vec c = {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z,
                    a.x * b.y - a.y * b.x};
    return c;
}

static double norm(struct vec a)
{
    return sqrt(dot(a, a));
}

static struct vec scale(struct vec a, double s)
{
    struct vec c = {a.x * s, a.y * s, a.z * s};
    return c;
}

/* Angle between two unit vectors, radians; accurate at all separations. */
static double ang(struct vec a, struct vec b)
{
    return atan2(norm(cross(a, b)), dot(a, b));
}

static void to_radec(struct vec v, double *ra, double *dec)
{
    double r = atan2(v.y, v.x) / RAD;
    if (r < 0)
        r += 360.0;
    *ra = r;
    *dec = atan2(v.z, hypot(v.x, v.y)) / RAD;
}

/* Point at tangent-plane offsets (xi, eta) (radians) from centre c. */
static struct vec tangent_point(double ra0, double dec0, double xi, double eta)
{
    struct vec c = radec(ra0, dec0);
    struct vec e = radec(ra0 + 90.0, 0.0); /* east */
    struct vec n = cross(c, e);            /* north */
    struct vec p = {c.x + xi * e.x + eta * n.x, c.y + xi * e.y + eta * n.y,
                    c.z + xi * e.z + eta * n.z};
    return scale(p, 1.0 / norm(p));
}

/* ---- shape predicates -------------------------------------------------- */

/* Is p inside the polygon? Gnomonic projection about p; vertices in the
 * far hemisphere mean the polygon cannot be small and around p. */
static int pt_in_poly(struct vec p, const struct shape *poly)
{
    struct vec a =
        fabs(p.z) < 0.9 ? (struct vec){0, 0, 1} : (struct vec){1, 0, 0};
    struct vec e1 = cross(a, p);
    e1 = scale(e1, 1.0 / norm(e1));
    struct vec e2 = cross(p, e1);
    int inside = 0;
    double xp = 0, yp = 0;
    for (size_t i = 0; i <= poly->n; i++) {
        struct vec v = poly->v[i % poly->n];
        double d = dot(v, p);
        if (d <= 1e-12)
            return 0;
        double x = dot(v, e1) / d, y = dot(v, e2) / d;
        if (i > 0 && ((y > 0) != (yp > 0))) {
            double xc = xp + (x - xp) * (0 - yp) / (y - yp);
            if (xc > 0)
                inside = !inside;
        }
        xp = x;
        yp = y;
    }
    return inside;
}

/* Distance (radians) from p to the great-circle arc a-b (< 180 deg). */
static double dist_arc(struct vec p, struct vec a, struct vec b)
{
    struct vec n = cross(a, b);
    double nn = norm(n);
    double da = ang(p, a), db = ang(p, b);
    double dmin = da < db ? da : db;
    if (nn < 1e-15)
        return dmin;
    n = scale(n, 1.0 / nn);
    double s = dot(p, n);
    struct vec q = {p.x - s * n.x, p.y - s * n.y, p.z - s * n.z};
    if (dot(cross(a, q), n) >= 0 && dot(cross(q, b), n) >= 0) {
        double d = asin(fabs(s) > 1 ? 1 : fabs(s));
        return d < dmin ? d : dmin;
    }
    return dmin;
}

static int on_arc(struct vec x, struct vec a, struct vec b, struct vec n)
{
    return dot(cross(a, x), n) >= -1e-15 && dot(cross(x, b), n) >= -1e-15;
}

static int arcs_cross(struct vec a1, struct vec a2, struct vec b1,
                      struct vec b2)
{
    struct vec n1 = cross(a1, a2), n2 = cross(b1, b2);
    struct vec l = cross(n1, n2);
    double ln = norm(l);
    if (ln < 1e-15)
        return 0;
    l = scale(l, 1.0 / ln);
    for (int s = 0; s < 2; s++) {
        if (on_arc(l, a1, a2, n1) && on_arc(l, b1, b2, n2))
            return 1;
        l = scale(l, -1.0);
    }
    return 0;
}

static int polys_cross(const struct shape *a, const struct shape *b)
{
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < b->n; j++)
            if (arcs_cross(a->v[i], a->v[(i + 1) % a->n], b->v[j],
                           b->v[(j + 1) % b->n]))
                return 1;
    return 0;
}

static double poly_min_edge_dist(const struct shape *poly, struct vec p)
{
    double dmin = M_PI;
    for (size_t i = 0; i < poly->n; i++) {
        double d = dist_arc(p, poly->v[i], poly->v[(i + 1) % poly->n]);
        if (d < dmin)
            dmin = d;
    }
    return dmin;
}

static int shape_intersects(const struct shape *a, const struct shape *b)
{
    if (a->kind > b->kind) { /* order: point < circle < polygon */
        const struct shape *t = a;
        a = b;
        b = t;
    }
    switch (a->kind) {
    case S_POINT:
        if (b->kind == S_POINT)
            return ang(a->c, b->c) < 1e-10;
        if (b->kind == S_CIRCLE)
            return ang(a->c, b->c) <= b->r;
        return pt_in_poly(a->c, b);
    case S_CIRCLE:
        if (b->kind == S_CIRCLE)
            return ang(a->c, b->c) <= a->r + b->r;
        return pt_in_poly(a->c, b) || poly_min_edge_dist(b, a->c) <= a->r;
    case S_POLY:
        for (size_t i = 0; i < a->n; i++)
            if (pt_in_poly(a->v[i], b))
                return 1;
        for (size_t i = 0; i < b->n; i++)
            if (pt_in_poly(b->v[i], a))
                return 1;
        return polys_cross(a, b);
    }
    return 0;
}

/* Is a entirely inside b? */
static int shape_within(const struct shape *a, const struct shape *b)
{
    switch (b->kind) {
    case S_POINT:
        return a->kind == S_POINT && ang(a->c, b->c) < 1e-10;
    case S_CIRCLE:
        if (a->kind == S_POINT)
            return ang(a->c, b->c) <= b->r;
        if (a->kind == S_CIRCLE)
            return ang(a->c, b->c) + a->r <= b->r;
        for (size_t i = 0; i < a->n; i++)
            if (ang(a->v[i], b->c) > b->r)
                return 0;
        return 1;
    case S_POLY:
        if (a->kind == S_POINT)
            return pt_in_poly(a->c, b);
        if (a->kind == S_CIRCLE)
            return pt_in_poly(a->c, b) && poly_min_edge_dist(b, a->c) >= a->r;
        for (size_t i = 0; i < a->n; i++)
            if (!pt_in_poly(a->v[i], b))
                return 0;
        return !polys_cross(a, b);
    }
    return 0;
}

static int term_intersects(const struct term *a, const struct term *b)
{
    if (!shape_intersects(&a->outer, &b->outer))
        return 0;
    for (size_t i = 0; i < b->nholes; i++)
        if (shape_within(&a->outer, &b->holes[i]))
            return 0;
    for (size_t i = 0; i < a->nholes; i++)
        if (shape_within(&b->outer, &a->holes[i]))
            return 0;
    return 1;
}

static int term_within(const struct term *a, const struct term *b)
{
    if (!shape_within(&a->outer, &b->outer))
        return 0;
    for (size_t i = 0; i < b->nholes; i++)
        if (shape_intersects(&a->outer, &b->holes[i]))
            return 0;
    return 1;
}

static int region_intersects(const struct region *a, const struct region *b)
{
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < b->n; j++)
            if (term_intersects(&a->t[i], &b->t[j]))
                return 1;
    return 0;
}

/* Every term of a inside some term of b (a term spread over two terms of
 * b does not count: a documented approximation). */
static int region_within(const struct region *a, const struct region *b)
{
    if (a->n == 0)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        int in = 0;
        for (size_t j = 0; j < b->n && !in; j++)
            in = term_within(&a->t[i], &b->t[j]);
        if (!in)
            return 0;
    }
    return 1;
}

/* Signed area (steradians) of the spherical triangle a, b, c. */
static double tri_area(struct vec a, struct vec b, struct vec c)
{
    return 2.0 *
           atan2(dot(a, cross(b, c)), 1.0 + dot(a, b) + dot(b, c) + dot(c, a));
}

static double shape_area_sr(const struct shape *s)
{
    if (s->kind == S_CIRCLE)
        return 2.0 * M_PI * (1.0 - cos(s->r));
    if (s->kind == S_POINT)
        return 0.0;
    double sum = 0.0;
    for (size_t i = 1; i + 1 < s->n; i++)
        sum += tri_area(s->v[0], s->v[i], s->v[i + 1]);
    return fabs(sum);
}

/* ---- STC-S parsing ----------------------------------------------------- */

static void shape_free(struct shape *s)
{
    free(s->v);
    s->v = NULL;
}

static void region_free(struct region *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        shape_free(&r->t[i].outer);
        for (size_t j = 0; j < r->t[i].nholes; j++)
            shape_free(&r->t[i].holes[j]);
        free(r->t[i].holes);
    }
    free(r->t);
    free(r);
}

static void region_free_v(void *p)
{
    region_free(p);
}

struct parser {
    const char **tok; /* token starts */
    size_t *len;
    size_t n, i;
    size_t nvert; /* vertices so far, capped */
    char *err;
    size_t errlen;
};

static int tok_is(const struct parser *p, size_t i, const char *w)
{
    return i < p->n && p->len[i] == strlen(w) &&
           strncasecmp(p->tok[i], w, p->len[i]) == 0;
}

static int tok_num(const struct parser *p, size_t i, double *out)
{
    if (i >= p->n)
        return 0;
    char buf[64];
    if (p->len[i] >= sizeof(buf))
        return 0;
    memcpy(buf, p->tok[i], p->len[i]);
    buf[p->len[i]] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static int is_shape_kw(const struct parser *p, size_t i)
{
    static const char *kw[] = {"Position", "Point", "Circle", "Polygon",
                               "Box",      "Range", "Union",  "Intersection",
                               "Not",      NULL};
    for (int k = 0; kw[k]; k++)
        if (tok_is(p, i, kw[k]))
            return 1;
    return 0;
}

static int is_paren(const struct parser *p, size_t i, char c)
{
    return i < p->n && p->len[i] == 1 && p->tok[i][0] == c;
}

/* Skips frame, reference position and flavour words (ICRS, BARYCENTER,
 * SPHERICAL2, ...) after a shape keyword. */
static void skip_words(struct parser *p)
{
    double d;
    while (p->i < p->n && !is_paren(p, p->i, '(') && !is_paren(p, p->i, ')') &&
           !is_shape_kw(p, p->i) && !tok_num(p, p->i, &d))
        p->i++;
}

static int fail(struct parser *p, const char *msg)
{
    snprintf(p->err, p->errlen, "%s", msg);
    return -1;
}

static int poly_from_radec(struct parser *p, struct shape *s, const double *xy,
                           size_t npts)
{
    if (p->nvert + npts > MAX_VERTICES)
        return fail(p, "polygon too large");
    p->nvert += npts;
    s->kind = S_POLY;
    s->n = npts;
    s->v = malloc(npts * sizeof(*s->v));
    if (!s->v)
        return fail(p, "out of memory");
    for (size_t k = 0; k < npts; k++) {
        if (fabs(xy[2 * k + 1]) > 90.0)
            return fail(p, "polygon vertex with |dec| > 90");
        s->v[k] = radec(xy[2 * k], xy[2 * k + 1]);
    }
    return 0;
}

/* Box centre (ra, dec) with full widths w, h along the tangent axes. */
static int box_to_poly(struct parser *p, struct shape *s, const double *a)
{
    double xy[8];
    static const int sx[4] = {-1, 1, 1, -1}, sy[4] = {-1, -1, 1, 1};
    for (int k = 0; k < 4; k++) {
        struct vec v = tangent_point(a[0], a[1], sx[k] * tan(a[2] * RAD / 2),
                                     sy[k] * tan(a[3] * RAD / 2));
        to_radec(v, &xy[2 * k], &xy[2 * k + 1]);
    }
    return poly_from_radec(p, s, xy, 4);
}

/* RANGE_S2D(ra1, ra2, dec1, dec2) as a polygon whose edges along the
 * parallels are subdivided (they are small circles, not great circles). */
static int range_to_poly(struct parser *p, struct shape *s, const double *a)
{
    double ra1 = a[0], ra2 = a[1], d1 = a[2], d2 = a[3];
    if (ra2 < ra1)
        ra2 += 360.0;
    if (ra2 - ra1 >= 180.0 || d2 <= d1)
        return fail(p, "RANGE_S2D must span less than 180 deg in RA "
                       "and have dec1 < dec2");
    double xy[4 * RANGE_STEPS * 2];
    size_t k = 0;
    for (int i = 0; i < RANGE_STEPS; i++, k++) { /* bottom, west to east */
        xy[2 * k] = ra1 + (ra2 - ra1) * i / RANGE_STEPS;
        xy[2 * k + 1] = d1;
    }
    for (int i = 0; i < RANGE_STEPS; i++, k++) { /* east, south to north */
        xy[2 * k] = ra2;
        xy[2 * k + 1] = d1 + (d2 - d1) * i / RANGE_STEPS;
    }
    for (int i = 0; i < RANGE_STEPS; i++, k++) { /* top, east to west */
        xy[2 * k] = ra2 - (ra2 - ra1) * i / RANGE_STEPS;
        xy[2 * k + 1] = d2;
    }
    for (int i = 0; i < RANGE_STEPS; i++, k++) { /* west, north to south */
        xy[2 * k] = ra1;
        xy[2 * k + 1] = d2 - (d2 - d1) * i / RANGE_STEPS;
    }
    return poly_from_radec(p, s, xy, k);
}

static int parse_shape(struct parser *p, struct shape *s)
{
    size_t kw = p->i++;
    skip_words(p);
    size_t start = p->i, cnt = 0;
    double d;
    while (tok_num(p, p->i, &d)) {
        p->i++;
        cnt++;
    }
    if (cnt > 2 * MAX_VERTICES)
        return fail(p, "polygon too large");
    double *a = malloc((cnt ? cnt : 1) * sizeof(*a));
    if (!a)
        return fail(p, "out of memory");
    for (size_t k = 0; k < cnt; k++)
        tok_num(p, start + k, &a[k]);
    int rc = 0;
    memset(s, 0, sizeof(*s));
    if (tok_is(p, kw, "Position") || tok_is(p, kw, "Point")) {
        if (cnt != 2 || fabs(a[1]) > 90) {
            rc = fail(p, "Position needs ra dec");
        } else {
            s->kind = S_POINT;
            s->c = radec(a[0], a[1]);
        }
    } else if (tok_is(p, kw, "Circle")) {
        if (cnt != 3 || fabs(a[1]) > 90 || a[2] < 0 || a[2] > 180)
            rc = fail(p, "Circle needs ra dec radius");
        else {
            s->kind = S_CIRCLE;
            s->c = radec(a[0], a[1]);
            s->r = a[2] * RAD;
        }
    } else if (tok_is(p, kw, "Polygon")) {
        if (cnt < 6 || cnt % 2)
            rc = fail(p, "Polygon needs at least 3 ra dec pairs");
        else
            rc = poly_from_radec(p, s, a, cnt / 2);
    } else if (tok_is(p, kw, "Box")) {
        if (cnt != 4 || fabs(a[1]) > 90 || a[2] <= 0 || a[3] <= 0 ||
            a[2] >= 180 || a[3] >= 180)
            rc = fail(p, "Box needs ra dec width height");
        else
            rc = box_to_poly(p, s, a);
    } else if (tok_is(p, kw, "Range")) {
        if (cnt != 4)
            rc = fail(p, "Range needs ra1 ra2 dec1 dec2");
        else
            rc = range_to_poly(p, s, a);
    } else {
        rc = fail(p, "unknown shape");
    }
    free(a);
    /* Trailing words such as "unit deg" are ignored. */
    skip_words(p);
    return rc;
}

static int add_term(struct parser *p, struct region *r, struct shape *s)
{
    if (r->n >= MAX_TERMS)
        return fail(p, "region has too many shapes");
    struct term *nt = realloc(r->t, (r->n + 1) * sizeof(*nt));
    if (!nt)
        return fail(p, "out of memory");
    r->t = nt;
    memset(&r->t[r->n], 0, sizeof(r->t[r->n]));
    r->t[r->n].outer = *s;
    r->n++;
    return 0;
}

static int parse_list(struct parser *p, struct region *r, int depth);

/* "( list )": the terms of the list are moved into r. */
static int parse_group(struct parser *p, struct region *r, int depth)
{
    if (depth > 16)
        return fail(p, "region nested too deeply");
    if (!is_paren(p, p->i, '('))
        return fail(p, "expected '('");
    p->i++;
    if (parse_list(p, r, depth + 1))
        return -1;
    if (!is_paren(p, p->i, ')'))
        return fail(p, "expected ')'");
    p->i++;
    return 0;
}

static int parse_list(struct parser *p, struct region *r, int depth)
{
    while (p->i < p->n && !is_paren(p, p->i, ')')) {
        if (tok_is(p, p->i, "Union") || tok_is(p, p->i, "Intersection")) {
            p->i++;
            skip_words(p);
            if (parse_group(p, r, depth))
                return -1;
        } else if (tok_is(p, p->i, "Not")) {
            p->i++;
            struct region holes = {0};
            int rc = parse_group(p, &holes, depth);
            if (rc == 0 && r->n > 0) {
                struct term *t = &r->t[r->n - 1];
                struct shape *nh =
                    realloc(t->holes, (t->nholes + holes.n) * sizeof(*nh));
                if (!nh) {
                    rc = fail(p, "out of memory");
                } else {
                    t->holes = nh;
                    for (size_t k = 0; k < holes.n; k++) {
                        t->holes[t->nholes++] = holes.t[k].outer;
                        holes.t[k].outer.v = NULL;
                    }
                }
            }
            for (size_t k = 0; k < holes.n; k++) {
                shape_free(&holes.t[k].outer);
                for (size_t j = 0; j < holes.t[k].nholes; j++)
                    shape_free(&holes.t[k].holes[j]);
                free(holes.t[k].holes);
            }
            free(holes.t);
            if (rc)
                return -1;
        } else if (is_shape_kw(p, p->i)) {
            struct shape s = {0};
            if (parse_shape(p, &s)) {
                shape_free(&s);
                return -1;
            }
            if (add_term(p, r, &s)) {
                shape_free(&s);
                return -1;
            }
        } else {
            return fail(p, "unexpected token");
        }
    }
    return 0;
}

/* Parses STC-S text. Returns the region (free with region_free) or NULL
 * with a message in err. */
static struct region *parse_region(const char *text, char *err, size_t errlen)
{
    struct parser p = {0};
    struct region *r = calloc(1, sizeof(*r));
    size_t cap = 64;
    p.tok = malloc(cap * sizeof(*p.tok));
    p.len = malloc(cap * sizeof(*p.len));
    p.err = err;
    p.errlen = errlen;
    if (!r || !p.tok || !p.len) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (const char *s = text; *s;) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        const char *b = s;
        if (*s == '(' || *s == ')')
            s++;
        else
            while (*s && !isspace((unsigned char)*s) && *s != '(' && *s != ')')
                s++;
        if (p.n == cap) {
            if (cap > 4 * MAX_VERTICES) {
                snprintf(err, errlen, "region too large");
                goto fail;
            }
            cap *= 2;
            const char **nt = realloc(p.tok, cap * sizeof(*nt));
            if (nt)
                p.tok = nt;
            size_t *nl = realloc(p.len, cap * sizeof(*nl));
            if (nl)
                p.len = nl;
            if (!nt || !nl) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
        }
        p.tok[p.n] = b;
        p.len[p.n++] = (size_t)(s - b);
    }
    if (parse_list(&p, r, 0))
        goto fail;
    if (p.i != p.n) {
        snprintf(err, errlen, "unbalanced ')'");
        goto fail;
    }
    if (r->n == 0) {
        snprintf(err, errlen, "empty region");
        goto fail;
    }
    free(p.tok);
    free(p.len);
    return r;
fail:
    free(p.tok);
    free(p.len);
    region_free(r);
    return NULL;
}

/* ---- SQLite functions -------------------------------------------------- */

static int any_null(int argc, sqlite3_value **argv)
{
    for (int i = 0; i < argc; i++)
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            return 1;
    return 0;
}

/* A numeric argument (numbers in text, as ADQL literals come, are fine). */
static int num_arg(sqlite3_value *v, double *out)
{
    int t = sqlite3_value_numeric_type(v);
    if (t != SQLITE_INTEGER && t != SQLITE_FLOAT)
        return 0;
    *out = sqlite3_value_double(v);
    return isfinite(*out);
}

/* Region of argument i, cached with sqlite3_get_auxdata when the argument
 * is a constant. *owned is set when the caller must hand it back through
 * keep_region(). */
static struct region *region_arg(sqlite3_context *ctx, sqlite3_value **argv,
                                 int i, const char *fn, int *owned)
{
    *owned = 0;
    struct region *r = sqlite3_get_auxdata(ctx, i);
    if (r)
        return r;
    const char *text = (const char *)sqlite3_value_text(argv[i]);
    char err[160], msg[400];
    if (!text) {
        sqlite3_result_error_nomem(ctx);
        return NULL;
    }
    r = parse_region(text, err, sizeof(err));
    if (!r) {
        snprintf(msg, sizeof(msg), "%s: cannot read region '%.120s': %s", fn,
                 text, err);
        sqlite3_result_error(ctx, msg, -1);
        return NULL;
    }
    *owned = 1;
    return r;
}

/* Must come last in a function: SQLite may free r at once. */
static void keep_region(sqlite3_context *ctx, int i, struct region *r,
                        int owned)
{
    if (owned)
        sqlite3_set_auxdata(ctx, i, r, region_free_v);
}

static void predicate(sqlite3_context *ctx, sqlite3_value **argv,
                      const char *fn, int within)
{
    if (any_null(2, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    int own_a, own_b;
    struct region *a = region_arg(ctx, argv, 0, fn, &own_a);
    if (!a)
        return;
    struct region *b = region_arg(ctx, argv, 1, fn, &own_b);
    if (!b) {
        keep_region(ctx, 0, a, own_a);
        return;
    }
    int res = within ? region_within(a, b) : region_intersects(a, b);
    sqlite3_result_int(ctx, res);
    keep_region(ctx, 0, a, own_a);
    keep_region(ctx, 1, b, own_b);
}

static void intersects_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    predicate(ctx, argv, "INTERSECTS", 0);
}

/* CONTAINS(a, b): 1 when a lies inside b. */
static void contains_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    predicate(ctx, argv, "CONTAINS", 1);
}

static void result_printf(sqlite3_context *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void result_printf(sqlite3_context *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    if (!s)
        sqlite3_result_error_nomem(ctx);
    else
        sqlite3_result_text(ctx, s, -1, sqlite3_free);
}

/* A single point (Position or Circle centre) of a geometry argument. */
static int point_of(sqlite3_context *ctx, sqlite3_value **argv, int i,
                    const char *fn, double *ra, double *dec)
{
    int owned;
    struct region *r = region_arg(ctx, argv, i, fn, &owned);
    if (!r)
        return -1;
    int ok = r->n == 1 && r->t[0].outer.kind != S_POLY;
    if (ok)
        to_radec(r->t[0].outer.c, ra, dec);
    else
        sqlite3_result_error(ctx, "expected a POINT", -1);
    if (owned)
        region_free(r);
    return ok ? 0 : -1;
}

/* POINT([sys,] ra, dec) */
static void point_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    double ra, dec;
    if (any_null(argc, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    int o = argc == 3 ? 1 : 0;
    if (!num_arg(argv[o], &ra) || !num_arg(argv[o + 1], &dec) ||
        fabs(dec) > 90) {
        sqlite3_result_error(ctx, "POINT: bad coordinates", -1);
        return;
    }
    result_printf(ctx, "Position ICRS %.15g %.15g", ra, dec);
}

/* CIRCLE([sys,] ra, dec, r) or CIRCLE(point, r) */
static void circle_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    double ra, dec, r;
    if (any_null(argc, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    if (argc == 2) {
        if (point_of(ctx, argv, 0, "CIRCLE", &ra, &dec))
            return;
    } else {
        int o = argc == 4 ? 1 : 0;
        if (!num_arg(argv[o], &ra) || !num_arg(argv[o + 1], &dec)) {
            sqlite3_result_error(ctx, "CIRCLE: bad coordinates", -1);
            return;
        }
    }
    if (!num_arg(argv[argc - 1], &r) || r < 0 || r > 180 || fabs(dec) > 90) {
        sqlite3_result_error(ctx, "CIRCLE: bad centre or radius", -1);
        return;
    }
    result_printf(ctx, "Circle ICRS %.15g %.15g %.15g", ra, dec, r);
}

/* POLYGON([sys,] ra1, dec1, ra2, dec2, ra3, dec3, ...) or
 * POLYGON([sys,] p1, p2, p3, ...) */
static void polygon_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (any_null(argc, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    double d;
    int o = 0;
    if (argc > 0 && !num_arg(argv[0], &d) &&
        strncasecmp((const char *)sqlite3_value_text(argv[0]), "Position", 8) !=
            0)
        o = 1; /* coordinate system */
    struct asw_sim_buf b;
    asw_sim_buf_init(&b, 1u << 22);
    asw_sim_buf_puts(&b, "Polygon ICRS");
    int npts = 0;
    if (argc > o && num_arg(argv[o], &d)) {
        if ((argc - o) % 2) {
            asw_sim_buf_free(&b);
            sqlite3_result_error(ctx, "POLYGON: odd number of coordinates", -1);
            return;
        }
        for (int i = o; i < argc; i++) {
            if (!num_arg(argv[i], &d)) {
                asw_sim_buf_free(&b);
                sqlite3_result_error(ctx, "POLYGON: bad coordinate", -1);
                return;
            }
            asw_sim_buf_printf(&b, " %.15g", d);
        }
        npts = (argc - o) / 2;
    } else {
        for (int i = o; i < argc; i++) {
            double ra, dec;
            if (point_of(ctx, argv, i, "POLYGON", &ra, &dec)) {
                asw_sim_buf_free(&b);
                return;
            }
            asw_sim_buf_printf(&b, " %.15g %.15g", ra, dec);
            npts++;
        }
    }
    if (npts < 3 || b.toobig || b.oom) {
        asw_sim_buf_free(&b);
        sqlite3_result_error(ctx, "POLYGON: needs 3 or more vertices", -1);
        return;
    }
    size_t len;
    char *s = asw_sim_buf_steal(&b, &len);
    sqlite3_result_text(ctx, s, (int)len, free);
}

/* BOX([sys,] ra, dec, width, height) */
static void box_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    double a[4];
    if (any_null(argc, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    int o = argc == 5 ? 1 : 0;
    for (int i = 0; i < 4; i++)
        if (!num_arg(argv[o + i], &a[i])) {
            sqlite3_result_error(ctx, "BOX: bad argument", -1);
            return;
        }
    result_printf(ctx, "Box ICRS %.15g %.15g %.15g %.15g", a[0], a[1], a[2],
                  a[3]);
}

/* RANGE_S2D(ra1, ra2, dec1, dec2), as astroquery sends for RA/Dec ranges */
static void range_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    double a[4];
    if (any_null(argc, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    for (int i = 0; i < 4; i++)
        if (!num_arg(argv[i], &a[i])) {
            sqlite3_result_error(ctx, "RANGE_S2D: bad argument", -1);
            return;
        }
    result_printf(ctx, "Range ICRS %.15g %.15g %.15g %.15g", a[0], a[1], a[2],
                  a[3]);
}

/* DISTANCE(p1, p2) or DISTANCE(ra1, dec1, ra2, dec2), degrees */
static void distance_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    double c[4];
    if (any_null(argc, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    if (argc == 4) {
        for (int i = 0; i < 4; i++)
            if (!num_arg(argv[i], &c[i])) {
                sqlite3_result_error(ctx, "DISTANCE: bad argument", -1);
                return;
            }
    } else if (point_of(ctx, argv, 0, "DISTANCE", &c[0], &c[1]) ||
               point_of(ctx, argv, 1, "DISTANCE", &c[2], &c[3])) {
        return;
    }
    sqlite3_result_double(ctx, ang(radec(c[0], c[1]), radec(c[2], c[3])) / RAD);
}

static void coord_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    double ra, dec;
    if (any_null(argc, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    int which = *(const int *)sqlite3_user_data(ctx);
    if (point_of(ctx, argv, 0, which == 1 ? "COORD1" : "COORD2", &ra, &dec))
        return;
    sqlite3_result_double(ctx, which == 1 ? ra : dec);
}

static void coordsys_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (any_null(argc, argv))
        sqlite3_result_null(ctx);
    else
        sqlite3_result_text(ctx, "ICRS", -1, SQLITE_STATIC);
}

/* AREA(g) in square degrees (holes subtracted, union overlaps not). */
static void area_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (any_null(argc, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    int owned;
    struct region *r = region_arg(ctx, argv, 0, "AREA", &owned);
    if (!r)
        return;
    double sr = 0;
    for (size_t i = 0; i < r->n; i++) {
        sr += shape_area_sr(&r->t[i].outer);
        for (size_t j = 0; j < r->t[i].nholes; j++)
            sr -= shape_area_sr(&r->t[i].holes[j]);
    }
    sqlite3_result_double(ctx, sr / (RAD * RAD));
    keep_region(ctx, 0, r, owned);
}

/* CENTROID(g): circle centre, or the normalised mean of the vertices. */
static void centroid_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (any_null(argc, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    int owned;
    struct region *r = region_arg(ctx, argv, 0, "CENTROID", &owned);
    if (!r)
        return;
    struct vec sum = {0, 0, 0};
    for (size_t i = 0; i < r->n; i++) {
        const struct shape *s = &r->t[i].outer;
        if (s->kind != S_POLY) {
            sum.x += s->c.x;
            sum.y += s->c.y;
            sum.z += s->c.z;
        }
        for (size_t k = 0; s->kind == S_POLY && k < s->n; k++) {
            sum.x += s->v[k].x / s->n;
            sum.y += s->v[k].y / s->n;
            sum.z += s->v[k].z / s->n;
        }
    }
    double ra, dec;
    to_radec(sum, &ra, &dec);
    result_printf(ctx, "Position ICRS %.15g %.15g", ra, dec);
    keep_region(ctx, 0, r, owned);
}

/* REGION(stcs): validates and returns the text. */
static void region_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (any_null(argc, argv)) {
        sqlite3_result_null(ctx);
        return;
    }
    int owned;
    struct region *r = region_arg(ctx, argv, 0, "REGION", &owned);
    if (!r)
        return;
    sqlite3_result_value(ctx, argv[0]);
    keep_region(ctx, 0, r, owned);
}

int asw_sim_geom_register(sqlite3 *db)
{
    static const int one = 1, two = 2;
    static const struct {
        const char *name;
        int nargs;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
        const void *data;
    } fns[] = {
        {"intersects", 2, intersects_fn, NULL},
        {"contains", 2, contains_fn, NULL},
        {"point", 2, point_fn, NULL},
        {"point", 3, point_fn, NULL},
        {"circle", 2, circle_fn, NULL},
        {"circle", 3, circle_fn, NULL},
        {"circle", 4, circle_fn, NULL},
        {"polygon", -1, polygon_fn, NULL},
        {"box", 4, box_fn, NULL},
        {"box", 5, box_fn, NULL},
        {"range_s2d", 4, range_fn, NULL},
        {"distance", 2, distance_fn, NULL},
        {"distance", 4, distance_fn, NULL},
        {"coord1", 1, coord_fn, &one},
        {"coord2", 1, coord_fn, &two},
        {"coordsys", 1, coordsys_fn, NULL},
        {"area", 1, area_fn, NULL},
        {"centroid", 1, centroid_fn, NULL},
        {"region", 1, region_fn, NULL},
    };
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int rc = sqlite3_create_function(
            db, fns[i].name, fns[i].nargs, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
            (void *)fns[i].data, fns[i].fn, NULL, NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}
