/*
 * html.c - page output helpers (html.h).
 */
#include "html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void html_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            /* Control characters from the file are not page content. */
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc('?', f);
            else
                fputc(*s, f);
        }
    }
}

void html_markup(FILE *f, const char *s)
{
    char buf[512];
    while (s && *s) {
        if ((s[0] == '^' || s[0] == '_') && s[1] == '{') {
            const char *e = strchr(s + 2, '}');
            if (e) {
                size_t n = (size_t)(e - s - 2);
                n = n < sizeof buf - 1 ? n : sizeof buf - 1;
                memcpy(buf, s + 2, n);
                buf[n] = 0;
                fputs(s[0] == '^' ? "<sup>" : "<sub>", f);
                html_esc(f, buf);
                fputs(s[0] == '^' ? "</sup>" : "</sub>", f);
                s = e + 1;
                continue;
            }
        }
        size_t n = 1;
        while (s[n] && !((s[n] == '^' || s[n] == '_') && s[n + 1] == '{'))
            n++;
        n = n < sizeof buf - 1 ? n : sizeof buf - 1;
        memcpy(buf, s, n);
        buf[n] = 0;
        html_esc(f, buf);
        s += n;
    }
}

static void cell_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "<td>%.6g</td>", v);
    else
        fputs("<td class=\"na\">&ndash;</td>", f);
}

static int any_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            return 1;
    return 0;
}

static void values_table(FILE *f, const struct plot_axes *a,
                         const struct plot_series *s, size_t max_rows)
{
    int tags = 0;
    for (size_t i = 0; i < s->n && !tags; i++)
        tags = s->tag[i] != NULL;
    int lo = any_finite(s->lo, s->n), hi = any_finite(s->hi, s->n);
    int hbar = s->kind == PLOT_HBARS;
    fputs("<table class=\"values\"><caption>", f);
    html_markup(f, s->label[0] ? s->label : "(unlabelled series)");
    fprintf(f, " <span class=\"muted\">%zu value%s</span></caption><tr>", s->n,
            s->n == 1 ? "" : "s");
    if (tags)
        fputs("<th>what</th>", f);
    fputs("<th>", f);
    html_markup(f, hbar ? "category" : a->xlabel[0] ? a->xlabel : "x");
    fputs("</th><th>", f);
    html_markup(f, hbar           ? (a->xlabel[0] ? a->xlabel : "value")
                   : a->ylabel[0] ? a->ylabel
                                  : "y");
    fputs("</th>", f);
    if (lo)
        fputs(s->kind == PLOT_POINTS ? "<th>lower</th>" : "<th>from</th>", f);
    if (hi)
        fputs("<th>upper</th>", f);
    fputs("</tr>\n", f);
    size_t n = s->n < max_rows ? s->n : max_rows;
    for (size_t i = 0; i < n; i++) {
        fputs("<tr>", f);
        if (tags) {
            fputs("<td>", f);
            html_esc(f, s->tag[i] ? s->tag[i] : "");
            fputs("</td>", f);
        }
        if (hbar) {
            size_t k = (size_t)s->y[i];
            fputs("<td>", f);
            html_esc(f, isfinite(s->y[i]) && s->y[i] >= 0 && k < a->ncats
                            ? a->cats[k]
                            : "?");
            fputs("</td>", f);
            cell_num(f, s->x[i]);
        } else {
            cell_num(f, s->x[i]);
            cell_num(f, s->y[i]);
        }
        if (lo)
            cell_num(f, s->lo[i]);
        if (hi)
            cell_num(f, s->hi[i]);
        fputs("</tr>\n", f);
    }
    if (s->n > n)
        fprintf(f,
                "<tr><td colspan=\"5\" class=\"muted\">and %zu more (all in "
                "the figure's JSON)</td></tr>\n",
                s->n - n);
    fputs("</table>\n", f);
}

int html_figure(FILE *f, const struct plot *p, const char *kind,
                const char *source, const char *caption, size_t max_rows)
{
    json_t *j = plot_json(p);
    if (!j)
        return ASW_ENOMEM;
    char *js = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!js)
        return ASW_ENOMEM;
    int has = plot_has_data(p);
    fprintf(f, "<figure class=\"plot%s\" id=\"fig-", has ? "" : " empty");
    html_esc(f, p->name);
    fputs("\" data-kind=\"", f);
    html_esc(f, kind);
    fputs("\"", f);
    if (source) {
        fputs(" data-source=\"", f);
        html_esc(f, source);
        fputs("\"", f);
    }
    fprintf(f, " data-has-data=\"%d\">\n<img src=\"plots/", has);
    html_esc(f, p->name);
    fprintf(f, ".png\" width=\"%d\" height=\"%d\" alt=\"", p->width, p->height);
    html_esc(f, p->alt[0] ? p->alt : p->title);
    fputs("\">\n<figcaption>", f);
    html_esc(f, caption);
    fputs("</figcaption>\n", f);
    size_t total = 0;
    for (size_t i = 0; i < p->naxes; i++)
        for (size_t k = 0; k < p->axes[i]->nseries; k++)
            total += p->axes[i]->series[k]->n;
    if (total) {
        fprintf(f,
                "<details class=\"values\"><summary>values plotted "
                "(%zu)</summary>\n",
                total);
        for (size_t i = 0; i < p->naxes; i++)
            for (size_t k = 0; k < p->axes[i]->nseries; k++)
                if (p->axes[i]->series[k]->n)
                    values_table(f, p->axes[i], p->axes[i]->series[k],
                                 max_rows);
        fputs("</details>\n", f);
    }
    fputs("<script type=\"application/json\" class=\"plot-data\">", f);
    /* < > & only occur inside JSON strings: as escapes, no text from the
     * catalogue can end the script element or open a comment in it. */
    for (const char *c = js; *c; c++) {
        if (*c == '<')
            fputs("\\u003c", f);
        else if (*c == '>')
            fputs("\\u003e", f);
        else if (*c == '&')
            fputs("\\u0026", f);
        else
            fputc(*c, f);
    }
    fputs("</script>\n</figure>\n", f);
    free(js);
    return 0;
}
