/*
 * report.c - the report page (report.h): reads the catalogue (data.c),
 * builds every figure (figures.c), renders it to plots/ (plot.c) and
 * writes index.html around them (html.c), section by section, figure by
 * figure, so memory holds the catalogue and one figure at a time.
 */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include "report.h"

#include "data.h"
#include "figures.h"
#include "html.h"
#include "plot.h"

#include "asw_version.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MODULE        "report"
#define CAP_MAX       1024
#define TABLE_ROWS    200 /* rows of a values table under a figure */
#define LIST_ROWS_MAX 500 /* rows of a listing (failed units, flags) */
#define ABS_FIGS_MAX  24  /* absorption figures per source */

void asw_report_options_default(struct asw_report_options *o)
{
    memset(o, 0, sizeof *o);
}

struct ctx {
    FILE *f;
    char plots[4096];
    double scale;
    struct asw_report_stats *st;
    struct asw_err *err;
    const struct rep_data *d;
};

/* ------------------------------------------------------------------ */
/* Files                                                               */

static int mkdir_p(const char *dir, struct asw_err *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return asw_err_set(err, ASW_EINVAL, MODULE, "path too long: %s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return asw_err_set(err, ASW_EIO, MODULE, "cannot create %s: %s",
                               buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return asw_err_set(err, ASW_EIO, MODULE, "cannot create %s: %s", buf,
                           strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return asw_err_set(err, ASW_EIO, MODULE, "%s is not a directory", buf);
    return 0;
}

/* Remove the PNGs of an earlier report (plots/ is the report's own). */
static void clear_pngs(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *e;
    while ((e = readdir(dp))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".png") == 0) {
            char path[4352];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(dp);
}

/* ------------------------------------------------------------------ */
/* Small writers                                                       */

static void td_num(FILE *f, double v, int dec)
{
    char b[48];
    rep_fmt(b, sizeof b, v, dec);
    fputs(isfinite(v) ? "<td class=\"num\">" : "<td class=\"num na\">", f);
    fputs(b, f);
    fputs("</td>", f);
}

static void td_g(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("<td class=\"num na\">&ndash;</td>", f);
        return;
    }
    char b[48];
    snprintf(b, sizeof b, "%.4g", v);
    fputs("<td class=\"num\">", f);
    if (b[0] == '-')
        fprintf(f, "&minus;%s", b + 1);
    else
        fputs(b, f);
    fputs("</td>", f);
}

static void td_int(FILE *f, long long v)
{
    if (v < 0)
        fputs("<td class=\"num na\">&ndash;</td>", f);
    else
        fprintf(f, "<td class=\"num\">%lld</td>", v);
}

static void td_str(FILE *f, const char *s)
{
    fputs("<td>", f);
    html_esc(f, s && s[0] ? s : "");
    fputs("</td>", f);
}

/* A cell that does not wrap (dates, times, ids). */
static void td_nowrap(FILE *f, const char *s)
{
    fputs("<td class=\"d\">", f);
    html_esc(f, s);
    fputs("</td>", f);
}

/* A file name: long, breaks anywhere rather than widen the table. */
static void td_file(FILE *f, const char *s)
{
    fputs("<td class=\"file\">", f);
    html_esc(f, s);
    fputs("</td>", f);
}

static void td_date(FILE *f, double mjd)
{
    char b[16];
    rep_date(mjd, b, sizeof b);
    fprintf(f, "<td class=\"d\">%s</td>", b);
}

/* value ± error, with decimals */
static void td_pm(FILE *f, double v, double e, int dec)
{
    char a[48], b[48];
    rep_fmt(a, sizeof a, v, dec);
    rep_fmt(b, sizeof b, e, dec);
    fprintf(f, "<td class=\"num%s\">%s", isfinite(v) ? "" : " na", a);
    if (isfinite(v) && isfinite(e))
        fprintf(f, " &plusmn; %s", b);
    fputs("</td>", f);
}

static void human_bytes(double b, char *out, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (b >= 1024 && i < 5) {
        b /= 1024;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

/* Render p, write its figure and free it. */
static int figure(struct ctx *x, struct plot *p, const char *kind,
                  const char *source, const char *cap)
{
    if (!p)
        return asw_err_set(x->err, ASW_ENOMEM, MODULE, "out of memory");
    p->scale = x->scale;
    int rc = plot_render(p, x->plots, x->err);
    if (rc == 0) {
        rc = html_figure(x->f, p, kind, source, cap, TABLE_ROWS);
        if (rc)
            asw_err_set(x->err, rc, MODULE, "out of memory");
    }
    if (rc == 0) {
        x->st->plots++;
        x->st->plots_empty += !plot_has_data(p);
    }
    plot_free(p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Page parts                                                          */

static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:14px/1.45 'DejaVu Sans',system-ui,sans-serif;"
    "color:#222;background:#f4f5f7}"
    "main{max-width:1240px;margin:0 auto;padding:0 20px 40px}"
    "header.top{background:#1d2b3a;color:#f2f4f7;padding:22px 20px 16px}"
    "header.top .in{max-width:1240px;margin:0 auto;padding:0 20px}"
    "header.top h1{margin:0 0 4px;font-size:26px;font-weight:600}"
    "header.top .sub{color:#b9c4d0;font-size:13px}"
    "header.top code{color:#fff}"
    "nav{position:sticky;top:0;z-index:2;background:#fff;"
    "border-bottom:1px solid #dde1e6}"
    "nav .in{max-width:1240px;margin:0 auto;padding:8px 20px}"
    "nav a{margin-right:16px;color:#1f5f9e;text-decoration:none;"
    "font-weight:600}"
    "section.card{background:#fff;border:1px solid #dde1e6;"
    "border-radius:6px;padding:14px 20px 18px;margin:20px 0}"
    "h2{font-size:20px;margin:4px 0 12px;color:#1d2b3a}"
    "h3{font-size:17px;margin:18px 0 8px;color:#1d2b3a}"
    "h4{font-size:14px;margin:14px 0 6px;color:#333}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:14px 0 0}"
    ".kpi{background:#fff;border:1px solid #dde1e6;border-radius:6px;"
    "padding:10px 16px;min-width:130px}"
    ".kpi b{display:block;font-size:22px;color:#1d2b3a}"
    ".kpi span{color:#666;font-size:12px}"
    ".kpi.bad b{color:#c0392b}"
    ".notes{background:#fff8e1;border:1px solid #f0d58c;border-radius:6px;"
    "padding:8px 14px;margin:14px 0 0;color:#6b5200}"
    ".notes li{margin:2px 0}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,"
    "minmax(560px,1fr));gap:16px;align-items:start}"
    ".grid3{display:grid;grid-template-columns:repeat(auto-fit,"
    "minmax(340px,1fr));gap:16px;align-items:start}"
    "figure.plot{margin:8px 0;background:#fff}"
    "figure.plot img{max-width:100%;height:auto;display:block;"
    "border:1px solid #e3e6ea;border-radius:4px}"
    "figcaption{color:#555;font-size:12.5px;margin:6px 2px}"
    "details.values summary{cursor:pointer;color:#1f5f9e;font-size:12px}"
    "table{border-collapse:collapse;margin:6px 0 10px;font-size:12.5px}"
    "th,td{border-bottom:1px solid #e6e8eb;padding:3px 9px;text-align:left;"
    "vertical-align:top}"
    "th{background:#f1f3f5;font-weight:600;white-space:nowrap}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}"
    "td.na,.muted{color:#999}"
    "td.d{white-space:nowrap}"
    "td.file{word-break:break-all;min-width:14em}"
    "table.kv{width:100%;margin-top:0}"
    "table.kv th{white-space:normal;font-weight:500}"
    "td.err{color:#a02020;font-family:'DejaVu Sans Mono',monospace;"
    "font-size:12px}"
    "table.values caption{text-align:left;font-weight:600;padding:4px 0}"
    ".scroll{overflow-x:auto}"
    "pre{background:#f6f8fa;border:1px solid #e3e6ea;padding:8px;"
    "font-size:12px;overflow-x:auto;max-height:320px}"
    "section.source{border-top:3px solid #1d2b3a;margin-top:26px}"
    ".badge{display:inline-block;border-radius:3px;padding:0 6px;"
    "font-size:12px;color:#fff;margin-right:4px}"
    "footer{color:#777;font-size:12px;text-align:center;margin:30px 0}";

/* Marks on <html>, after load, whether every image decoded (for people
 * debugging a broken page and for the headless-browser test). */
static const char load_script[] =
    "<script>window.addEventListener('load',function(){"
    "var im=document.images,ok=0;"
    "for(var i=0;i<im.length;i++)"
    "if(im[i].complete&&im[i].naturalWidth>0)ok++;"
    "var h=document.documentElement;"
    "h.setAttribute('data-images',im.length);"
    "h.setAttribute('data-images-ok',ok);"
    "h.setAttribute('data-loaded',ok===im.length?'all':'missing');"
    "h.setAttribute('data-height',Math.ceil(h.scrollHeight));});"
    "</script>\n";

static void band_badge(FILE *f, int band)
{
    char c[8];
    plot_hex(rep_band_color(band), c);
    fprintf(f, "<span class=\"badge\" style=\"background:%s\">B%d</span>", c,
            band);
}

static void header(struct ctx *x, const struct asw_report_options *o)
{
    FILE *f = x->f;
    const struct rep_data *d = x->d;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
          "charset=\"utf-8\">\n<meta name=\"viewport\" "
          "content=\"width=device-width,initial-scale=1\">\n<title>",
          f);
    html_esc(f, o->title ? o->title : "almasweep report");
    fputs("</title>\n<meta name=\"generator\" content=\"almasweep " ASW_VERSION
          "\">\n<style>",
          f);
    fputs(css, f);
    fputs("</style>\n</head>\n<body>\n<header class=\"top\"><div "
          "class=\"in\">\n<h1>",
          f);
    html_esc(f, o->title ? o->title : "almasweep report");
    fputs("</h1>\n<div class=\"sub\">catalogue <code>", f);
    html_esc(f, o->cat_path ? o->cat_path : "?");
    fputs("</code> &middot; ", f);
    html_esc(f, d->creator[0] ? d->creator : "creator unknown");
    fprintf(f, " &middot; schema %d", d->schema_version);
    if (d->catalogue_id[0]) {
        fputs(" &middot; id <code>", f);
        html_esc(f, d->catalogue_id);
        fputs("</code>", f);
    }
    fputs("<br>created ", f);
    html_esc(f, d->created_utc[0] ? d->created_utc : "?");
    fputs(" &middot; last checkpoint ", f);
    html_esc(f, d->updated_utc[0] ? d->updated_utc : "?");
    if (d->nruns) {
        const struct asw_cat_run_row *r = &d->runs[d->nruns - 1];
        fputs(" &middot; last run <code>", f);
        html_esc(f, r->run_id);
        fputs("</code> ", f);
        html_esc(f, r->status);
        if (r->exit_code >= 0)
            fprintf(f, " (exit %d)", r->exit_code);
        fputs(", ", f);
        html_esc(f, r->mode[0] ? r->mode : "?");
        fputs(" mode", f);
    }
    fputs("</div>\n</div></header>\n", f);
    fputs("<nav><div class=\"in\"><a href=\"#overview\">Overview</a>"
          "<a href=\"#runs\">Runs</a><a href=\"#stats\">Sweep statistics</a>"
          "<a href=\"#qa\">QA</a><a href=\"#alpha\">Spectral indices</a>"
          "<a href=\"#absorption\">Absorption</a>"
          "<a href=\"#sources\">Sources</a>"
          "<a href=\"#failed\">Failed units</a></div></nav>\n<main>\n",
          f);
}

static void kpi(FILE *f, const char *label, const char *value, int bad)
{
    fprintf(f, "<div class=\"kpi%s\"><b>", bad ? " bad" : "");
    html_esc(f, value);
    fputs("</b><span>", f);
    html_esc(f, label);
    fputs("</span></div>\n", f);
}

static void overview(struct ctx *x, const struct asw_report_options *o)
{
    FILE *f = x->f;
    const struct rep_data *d = x->d;
    size_t done = 0, failed = 0, usable = 0;
    double t0 = INFINITY, t1 = -INFINITY;
    int bands[11] = {0};
    for (size_t i = 0; i < d->nunits; i++) {
        done += strcmp(d->units[i].status, "done") == 0;
        failed += strcmp(d->units[i].status, "failed") == 0;
    }
    for (size_t i = 0; i < d->nimages; i++) {
        const struct asw_image *im = &d->images[i];
        if (rep_image_usable(im, NULL, NULL))
            usable++;
        if (isfinite(im->mjd)) {
            t0 = im->mjd < t0 ? im->mjd : t0;
            t1 = im->mjd > t1 ? im->mjd : t1;
        }
        int b = rep_image_band(im);
        if (b >= 1 && b <= 10)
            bands[b] = 1;
    }
    char v[64];
    fputs("<section id=\"overview\">\n<div class=\"cards\">\n", f);
    snprintf(v, sizeof v, "%zu / %zu", done, d->nunits);
    kpi(f, "units done", v, 0);
    snprintf(v, sizeof v, "%zu", failed);
    kpi(f, "units failed", v, failed > 0);
    snprintf(v, sizeof v, "%zu", d->nimages);
    kpi(f, "images measured", v, 0);
    snprintf(v, sizeof v, "%zu", usable);
    kpi(f, "images with a usable flux", v, 0);
    snprintf(v, sizeof v, "%zu", d->nsrcs);
    kpi(f, "sources", v, 0);
    snprintf(v, sizeof v, "%zu", d->nseds);
    kpi(f, "spectral-index fits", v, 0);
    snprintf(v, sizeof v, "%zu", d->nlines);
    kpi(f, "absorption lines", v, 0);
    snprintf(v, sizeof v, "%zu", d->nspectra);
    kpi(f, "cube spectra", v, 0);
    if (isfinite(t0)) {
        char a[16], b[16];
        rep_date(t0, a, sizeof a);
        rep_date(t1, b, sizeof b);
        snprintf(v, sizeof v, "%.4s\xe2\x80\x93%.4s", a, b);
        kpi(f, "observed (years)", v, 0);
    }
    size_t nb = 0;
    char bl[64] = "";
    for (int b = 1; b <= 10; b++)
        if (bands[b])
            nb += (size_t)snprintf(bl + nb, sizeof bl - nb, "%sB%d",
                                   nb ? " " : "", b);
    if (nb)
        kpi(f, "bands", bl, 0);
    fputs("</div>\n", f);
    if (d->nnotes || o->note) {
        fputs("<ul class=\"notes\">\n", f);
        if (o->note) {
            fputs("<li>", f);
            html_esc(f, o->note);
            fputs("</li>\n", f);
        }
        for (size_t i = 0; i < d->nnotes; i++) {
            fputs("<li>", f);
            html_esc(f, d->notes[i]);
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
    }
    fputs("</section>\n", f);
}

static void runs(struct ctx *x)
{
    FILE *f = x->f;
    const struct rep_data *d = x->d;
    fputs("<section class=\"card\" id=\"runs\">\n<h2>Runs "
          "(provenance)</h2>\n",
          f);
    if (!d->nruns) {
        fputs("<p class=\"muted\">No /runs rows: the catalogue was not "
              "written by 'almasweep run', or by an older version.</p>\n",
              f);
        fputs("</section>\n", f);
        return;
    }
    fputs("<div class=\"scroll\"><table>\n<tr><th>run</th><th>version</th>"
          "<th>status</th><th>exit</th><th>start (UTC)</th><th>end "
          "(UTC)</th><th>ranks</th><th>mode</th><th>CASA</th>"
          "<th>planned</th><th>done</th><th>failed</th><th>skipped</th>"
          "<th>retried</th><th>hosts</th></tr>\n",
          f);
    for (size_t i = 0; i < d->nruns; i++) {
        const struct asw_cat_run_row *r = &d->runs[i];
        fputs("<tr>", f);
        td_nowrap(f, r->run_id);
        td_str(f, r->version);
        td_str(f, r->status);
        td_int(f, r->exit_code);
        td_nowrap(f, r->start_utc);
        td_nowrap(f, r->end_utc);
        td_int(f, r->ranks);
        td_str(f, r->mode);
        td_str(f, r->casa_version[0] ? r->casa_version : "");
        td_int(f, r->units_planned);
        td_int(f, r->units_done);
        td_int(f, r->units_failed);
        td_int(f, r->units_skipped);
        td_int(f, r->units_retried);
        td_str(f, r->hosts);
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
    for (size_t i = 0; i < d->nruns; i++) {
        const struct asw_cat_run_row *r = &d->runs[i];
        if (!r->config[0] && !r->config_path[0])
            continue;
        fputs("<details><summary>configuration of run ", f);
        html_esc(f, r->run_id);
        fputs(": <code>", f);
        html_esc(f, r->config_path[0] ? r->config_path : "(no path)");
        fputs("</code></summary><pre>", f);
        html_esc(f, r->config);
        fputs("</pre></details>\n", f);
    }
    fputs("</section>\n", f);
}

static int stats(struct ctx *x)
{
    FILE *f = x->f;
    const struct rep_data *d = x->d;
    char cap[CAP_MAX];
    int rc;
    fputs("<section class=\"card\" id=\"stats\">\n<h2>Sweep "
          "statistics</h2>\n<div class=\"grid3\">\n",
          f);
    double fetched = 0, total = 0, wall = 0;
    size_t files = 0, with_err = 0, files_known = 0;
    for (size_t i = 0; i < d->nunits; i++) {
        const struct asw_cat_unit_row *u = &d->units[i];
        fetched += u->bytes_fetched > 0 ? (double)u->bytes_fetched : 0;
        total += u->bytes_total > 0 ? (double)u->bytes_total : 0;
        files += u->n_files > 0 ? (size_t)u->n_files : 0;
        files_known += u->n_files >= 0;
        double t[4] = {u->t_download_s, u->t_extract_s, u->t_process_s,
                       u->t_reduce_s};
        for (int k = 0; k < 4; k++)
            wall += isfinite(t[k]) && t[k] > 0 ? t[k] : 0;
    }
    for (size_t i = 0; i < d->nimages; i++)
        with_err += d->images[i].error[0] != 0;
    size_t channels = 0;
    for (size_t i = 0; i < d->nspectra; i++)
        channels += d->spectra[i].n_chan;
    char a[32], b[32];
    human_bytes(fetched, a, sizeof a);
    human_bytes(total, b, sizeof b);
    fputs("<table class=\"kv\">\n", f);
    fprintf(f, "<tr><th>runs</th><td class=\"num\">%zu</td></tr>\n", d->nruns);
    fprintf(f, "<tr><th>units</th><td class=\"num\">%zu</td></tr>\n",
            d->nunits);
    if (files_known)
        fprintf(f,
                "<tr><th>archive files in the units</th><td "
                "class=\"num\">%zu</td></tr>\n",
                files);
    fprintf(f,
            "<tr><th>bytes of the units / fetched in their last "
            "attempt</th><td class=\"num\">%s / %s</td></tr>\n",
            b, a);
    fprintf(f,
            "<tr><th>wall time of all stages, summed</th><td "
            "class=\"num\">%.1f s</td></tr>\n",
            wall);
    fprintf(f,
            "<tr><th>images (not measured)</th><td class=\"num\">%zu "
            "(%zu)</td></tr>\n",
            d->nimages, with_err);
    fprintf(f,
            "<tr><th>spectral-index fits (/seds)</th><td "
            "class=\"num\">%zu</td></tr>\n",
            d->nseds);
    fprintf(f,
            "<tr><th>absorption lines</th><td class=\"num\">%zu</td>"
            "</tr>\n",
            d->nlines);
    fprintf(f,
            "<tr><th>cube spectra (channels)</th><td class=\"num\">%zu "
            "(%zu)</td></tr>\n",
            d->nspectra, channels);
    fprintf(f,
            "<tr><th>sources (/sources rows)</th><td class=\"num\">%zu "
            "(%zu)</td></tr>\n",
            d->nsrcs, d->nsources);
    if (d->pair_days[0]) {
        fputs("<tr><th>pairing window of /sources</th><td class=\"num\">", f);
        html_esc(f, d->pair_days);
        fputs(" days</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    struct plot *p = fig_units_status(d, cap, sizeof cap);
    if ((rc = figure(x, p, "units-status", NULL, cap)))
        return rc;
    p = fig_stage_time(d, cap, sizeof cap);
    if ((rc = figure(x, p, "stage-time", NULL, cap)))
        return rc;
    p = fig_workers(d, cap, sizeof cap);
    if ((rc = figure(x, p, "workers", NULL, cap)))
        return rc;
    fputs("</div>\n</section>\n", f);
    return 0;
}

static void qa_flag_names(char *buf, size_t n, int flags)
{
    static const char *const names[] = {
        "NOT_FOUND", "OFFSET",     "EXTENDED", "HIGH_RMS", "FEW_PIXELS",  "NAN",
        "LOW_SNR",   "FIT_FAILED", "NO_BEAM",  "UNITS",    "CAT_MISMATCH"};
    size_t k = 0;
    buf[0] = 0;
    for (int b = 0; b < 11 && flags > 0; b++)
        if (flags & (1 << b))
            k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s%s",
                                  k ? " " : "", names[b]);
}

static int qa(struct ctx *x)
{
    FILE *f = x->f;
    const struct rep_data *d = x->d;
    char cap[CAP_MAX];
    int rc;
    fputs("<section class=\"card\" id=\"qa\">\n<h2>Quality "
          "assurance</h2>\n<div class=\"grid\">\n",
          f);
    if ((rc = figure(x, fig_qa_flags(d, cap, sizeof cap), "qa-flags", NULL,
                     cap)) ||
        (rc = figure(x, fig_qa_snr(d, cap, sizeof cap), "qa-snr", NULL, cap)) ||
        (rc = figure(x, fig_qa_catflux(d, cap, sizeof cap), "qa-catflux", NULL,
                     cap)))
        return rc;
    fputs("</div>\n", f);
    size_t nflag = 0, nerr = 0;
    for (size_t i = 0; i < d->nimages; i++) {
        nflag += !d->images[i].error[0] && d->images[i].qa_flags > 0;
        nerr += d->images[i].error[0] != 0;
    }
    if (nerr) {
        fprintf(f,
                "<h4>Images not measured (%zu)</h4>\n<div "
                "class=\"scroll\"><table>\n<tr><th>unit</th><th>image</th>"
                "<th>reason</th></tr>\n",
                nerr);
        size_t shown = 0;
        for (size_t i = 0; i < d->nimages && shown < LIST_ROWS_MAX; i++) {
            const struct asw_image *im = &d->images[i];
            if (!im->error[0])
                continue;
            fputs("<tr>", f);
            td_str(f, im->unit_id);
            td_file(f, im->file);
            fputs("<td class=\"err\">", f);
            html_esc(f, im->error);
            fputs("</td></tr>\n", f);
            shown++;
        }
        fputs("</table></div>\n", f);
        if (nerr > shown)
            fprintf(f, "<p class=\"muted\">and %zu more</p>\n", nerr - shown);
    }
    if (nflag) {
        fprintf(f,
                "<details><summary>Images with QA flags (%zu)</summary>\n"
                "<div class=\"scroll\"><table>\n<tr><th>source</th>"
                "<th>band</th><th>spw</th><th>date</th><th>SNR</th>"
                "<th>QA score</th><th>flags</th><th>image</th></tr>\n",
                nflag);
        size_t shown = 0;
        for (size_t i = 0; i < d->nimages && shown < LIST_ROWS_MAX; i++) {
            const struct asw_image *im = &d->images[i];
            if (im->error[0] || im->qa_flags <= 0)
                continue;
            char fl[256];
            qa_flag_names(fl, sizeof fl, im->qa_flags);
            fputs("<tr>", f);
            td_str(f, im->source);
            td_int(f, rep_image_band(im));
            td_int(f, im->spw);
            td_date(f, im->mjd);
            td_g(f, im->snr);
            td_num(f, im->qa_score, 2);
            td_str(f, fl);
            td_file(f, im->file);
            fputs("</tr>\n", f);
            shown++;
        }
        fputs("</table></div>\n", f);
        if (nflag > shown)
            fprintf(f, "<p class=\"muted\">and %zu more</p>\n", nflag - shown);
        fputs("</details>\n", f);
    }
    fputs("</section>\n", f);
    return 0;
}

static int alpha_section(struct ctx *x)
{
    FILE *f = x->f;
    const struct rep_data *d = x->d;
    char cap[CAP_MAX];
    fputs("<section class=\"card\" id=\"alpha\">\n<h2>Spectral "
          "indices</h2>\n",
          f);
    int rc =
        figure(x, fig_alpha_hist(d, cap, sizeof cap), "alpha-hist", NULL, cap);
    if (rc)
        return rc;
    size_t np = 0;
    for (size_t i = 0; i < d->nsources; i++)
        np += isfinite(d->sources[i].alpha);
    if (np) {
        fputs("<h4>Band-pair indices (/sources)</h4>\n<div "
              "class=\"scroll\"><table>\n<tr><th>source</th><th>bands</th>"
              "<th>pairs</th><th>&alpha; (weighted mean)</th><th>&alpha; "
              "of the last pair</th><th>last pair</th><th>&Delta;t "
              "(days)</th></tr>\n",
              f);
        for (size_t i = 0; i < d->nsources; i++) {
            const struct asw_cat_source_row *r = &d->sources[i];
            if (!isfinite(r->alpha))
                continue;
            fputs("<tr>", f);
            td_str(f, r->source);
            fprintf(f, "<td>B%d &rarr; B%d</td>", r->band, r->pair_band);
            td_int(f, r->n_pairs);
            td_pm(f, r->alpha, r->alpha_err, 2);
            td_pm(f, r->alpha_last, r->alpha_last_err, 2);
            td_date(f, r->alpha_last_mjd);
            td_num(f, r->alpha_last_dt_days, 1);
            fputs("</tr>\n", f);
        }
        fputs("</table></div>\n", f);
    }
    fputs("</section>\n", f);
    return 0;
}

/* Every absorption line against velocity: the overview of the section. */
static struct plot *fig_abs_overview(const struct rep_data *d, char *cap,
                                     size_t n)
{
    struct plot *p = plot_new("abs-overview",
                              "Absorption lines: peak optical depth", 760, 340);
    struct plot_axes *ax = p ? plot_add_axes(p) : NULL;
    if (!ax)
        goto oom;
    ax->ys = PLOT_LOG;
    plot_labels(ax, "radio velocity v_{LSRK} (km/s)",
                "peak optical depth \xcf\x84_{peak}");
    snprintf(ax->empty, sizeof ax->empty,
             "no absorption line in /absorption (%zu cube spectra searched)",
             d->nspectra);
    struct plot_series *s = plot_add_series(ax, PLOT_POINTS, "line",
                                            (struct plot_rgb){0, 0.447, 0.698});
    struct plot_series *sat =
        plot_add_series(ax, PLOT_POINTS, "saturated (lower limit)",
                        (struct plot_rgb){0.835, 0.369, 0});
    if (!s || !sat)
        goto oom;
    s->marker = PLOT_DIAMOND;
    sat->marker = PLOT_TRIANGLE;
    s->size = sat->size = 4.2;
    for (size_t i = 0; i < d->nlines; i++) {
        const struct asw_line *l = &d->lines[i];
        if (!isfinite(l->v_lsrk_kms) || !(l->tau_peak > 0))
            continue;
        char tag[160];
        snprintf(tag, sizeof tag, "%s %s", l->source,
                 l->species[0] ? l->species : "?");
        double e = l->tau_peak_err;
        struct plot_series *t = l->saturated == 1 ? sat : s;
        if (plot_push(t, l->v_lsrk_kms, l->tau_peak,
                      isfinite(e) ? l->tau_peak - e : NAN,
                      isfinite(e) ? l->tau_peak + e : NAN, tag))
            goto oom;
    }
    if (!sat->n)
        sat->label[0] = 0;
    snprintf(p->alt, sizeof p->alt,
             "Peak optical depth against velocity of %zu absorption lines",
             d->nlines);
    snprintf(cap, n,
             "Every line of /absorption: its peak optical depth against its "
             "LSRK radio velocity (error bars: tau_peak_err). The spectra "
             "are under each source.");
    return p;
oom:
    plot_free(p);
    return NULL;
}

static int absorption_section(struct ctx *x)
{
    FILE *f = x->f;
    const struct rep_data *d = x->d;
    char cap[CAP_MAX];
    fputs("<section class=\"card\" id=\"absorption\">\n<h2>Absorption</h2>\n",
          f);
    int rc = figure(x, fig_abs_overview(d, cap, sizeof cap), "abs-overview",
                    NULL, cap);
    fputs("</section>\n", f);
    return rc;
}

/* ---- sources --------------------------------------------------------- */

static int cmp_by_images(const void *a, const void *b)
{
    const struct rep_src *x = *(const struct rep_src *const *)a;
    const struct rep_src *y = *(const struct rep_src *const *)b;
    if (x->nimg != y->nimg)
        return x->nimg > y->nimg ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_by_name(const void *a, const void *b)
{
    const struct rep_src *x = *(const struct rep_src *const *)a;
    const struct rep_src *y = *(const struct rep_src *const *)b;
    return strcmp(x->name, y->name);
}

static void source_summary_row(FILE *f, const struct rep_data *d,
                               const struct rep_src *s)
{
    int bands[11] = {0};
    size_t usable = 0;
    double t0 = INFINITY, t1 = -INFINITY;
    const char *units[64];
    size_t nunits = 0, more_units = 0;
    for (size_t i = 0; i < s->nimg; i++) {
        const struct asw_image *im = &d->images[s->img[i]];
        if (!rep_image_usable(im, NULL, NULL))
            continue;
        usable++;
        int b = rep_image_band(im);
        bands[b >= 1 && b <= 10 ? b : 0] = 1;
        if (isfinite(im->mjd)) {
            t0 = im->mjd < t0 ? im->mjd : t0;
            t1 = im->mjd > t1 ? im->mjd : t1;
        }
        size_t k = 0;
        while (k < nunits && strcmp(units[k], im->unit_id))
            k++;
        if (k == nunits) {
            if (nunits < 64)
                units[nunits++] = im->unit_id;
            else
                more_units = 1;
        }
    }
    fputs("<tr><td><a href=\"#", f);
    html_esc(f, s->slug);
    fputs("\">", f);
    html_esc(f, s->name);
    fputs("</a></td><td>", f);
    for (int b = 1; b <= 10; b++)
        if (bands[b])
            band_badge(f, b);
    fputs("</td>", f);
    fprintf(f, "<td class=\"num\">%zu / %zu</td>", usable, s->nimg);
    fprintf(f, "<td class=\"num\">%zu%s</td>", nunits, more_units ? "+" : "");
    td_date(f, isfinite(t0) ? t0 : NAN);
    td_date(f, isfinite(t1) ? t1 : NAN);
    fprintf(f,
            "<td class=\"num\">%zu</td><td class=\"num\">%zu</td>"
            "<td class=\"num\">%zu</td></tr>\n",
            s->nsed, s->nline, s->nspec);
}

static void source_tables(FILE *f, const struct rep_data *d,
                          const struct rep_src *s)
{
    if (s->nsrow) {
        fputs("<div class=\"scroll\"><table>\n<tr><th>band</th>"
              "<th>images</th><th>epochs</th><th>first</th><th>last</th>"
              "<th>median &nu; (GHz)</th><th>median S (Jy)</th><th>min "
              "S</th><th>max S</th><th>pair band</th><th>pairs</th>"
              "<th>&alpha;</th><th>last &alpha;</th></tr>\n",
              f);
        for (size_t i = 0; i < s->nsrow; i++) {
            const struct asw_cat_source_row *r = &d->sources[s->srow[i]];
            fputs("<tr><td>", f);
            band_badge(f, r->band);
            fputs("</td>", f);
            td_int(f, r->n_images);
            td_int(f, r->n_epochs);
            td_date(f, r->first_mjd);
            td_date(f, r->last_mjd);
            td_num(f, r->freq_median_hz / 1e9, 2);
            td_num(f, r->flux_median_jy, 4);
            td_num(f, r->flux_min_jy, 4);
            td_num(f, r->flux_max_jy, 4);
            if (r->pair_band > 0)
                fprintf(f, "<td>B%d</td>", r->pair_band);
            else
                td_str(f, "");
            td_int(f, r->n_pairs);
            td_pm(f, r->alpha, r->alpha_err, 2);
            td_pm(f, r->alpha_last, r->alpha_last_err, 2);
            fputs("</tr>\n", f);
        }
        fputs("</table></div>\n", f);
    }
}

/* "and N more" under a listing cut at LIST_ROWS_MAX rows. */
static void more_rows(FILE *f, size_t n)
{
    if (n > LIST_ROWS_MAX)
        fprintf(f, "<p class=\"muted\">and %zu more</p>\n", n - LIST_ROWS_MAX);
}

static void sed_flag_names(char *buf, size_t n, int flags)
{
    static const char *const names[] = {"FEW_SPW", "SHORT_LEVER", "IN_BAND",
                                        "BAD_FIT"};
    size_t k = 0;
    buf[0] = 0;
    for (int b = 0; b < 4 && flags > 0; b++)
        if (flags & (1 << b))
            k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s%s",
                                  k ? " " : "", names[b]);
}

static void sed_table(FILE *f, const struct rep_data *d,
                      const struct rep_src *s)
{
    if (!s->nsed)
        return;
    fputs("<h4>Spectral-index fits per unit (/seds)</h4>\n<div "
          "class=\"scroll\"><table>\n<tr><th>unit</th><th>date</th>"
          "<th>band</th><th>spws</th><th>&nu;<sub>ref</sub> (GHz)</th>"
          "<th>S<sub>ref</sub> (Jy)</th><th>&alpha; &plusmn; stat</th>"
          "<th>&alpha; error with scatter</th><th>&chi;&sup2; / dof</th>"
          "<th>lever arm</th><th>flags</th></tr>\n",
          f);
    for (size_t i = 0; i < s->nsed && i < LIST_ROWS_MAX; i++) {
        const struct asw_sed *sd = &d->seds[s->sed[i]];
        char fl[96], chi[64];
        sed_flag_names(fl, sizeof fl, sd->flags);
        fputs("<tr>", f);
        td_str(f, sd->unit_id);
        td_date(f, sd->mjd);
        if (sd->band > 0)
            fprintf(f, "<td>B%d</td>", sd->band);
        else
            td_str(f, "several");
        td_int(f, sd->n_spw);
        td_num(f, sd->ref_freq_hz / 1e9, 3);
        td_pm(f, sd->flux_ref_jy, sd->flux_ref_err_jy, 4);
        td_pm(f, sd->alpha, sd->alpha_err, 3);
        td_num(f, sd->alpha_sys_err, 3);
        if (isfinite(sd->chi2))
            snprintf(chi, sizeof chi, "%.2f / %d", sd->chi2, sd->dof);
        else
            snprintf(chi, sizeof chi, "-");
        td_str(f, chi);
        td_num(f, sd->lever_arm, 3);
        td_str(f, fl);
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
    more_rows(f, s->nsed);
}

static void lines_table(FILE *f, const struct rep_data *d,
                        const struct rep_src *s)
{
    fputs("<div class=\"scroll\"><table>\n<tr><th>species</th><th>unit</th>"
          "<th>spw</th><th>rest &nu; (GHz)</th><th>&nu; (GHz)</th>"
          "<th>v<sub>LSRK</sub> (km/s)</th><th>FWHM (km/s)</th>"
          "<th>&tau;<sub>peak</sub></th><th>&int;&tau;dv (km/s)</th>"
          "<th>depth (&sigma;)</th><th>S<sub>c</sub> (Jy)</th>"
          "<th>channels</th></tr>\n",
          f);
    for (size_t i = 0; i < s->nline && i < LIST_ROWS_MAX; i++) {
        const struct asw_line *l = &d->lines[s->line[i]];
        char ch[48];
        fputs("<tr>", f);
        td_str(f, l->species[0] ? l->species : "?");
        td_str(f, l->unit_id);
        td_int(f, l->spw);
        td_num(f, l->rest_freq_hz / 1e9, 4);
        td_num(f, l->freq_hz / 1e9, 4);
        td_num(f, l->v_lsrk_kms, 2);
        td_num(f, l->fwhm_kms, 2);
        if (l->saturated == 1) {
            char t[32];
            rep_fmt(t, sizeof t, l->tau_peak, 3);
            fprintf(f, "<td class=\"num\">&gt; %s (saturated)</td>", t);
        } else {
            td_pm(f, l->tau_peak, l->tau_peak_err, 3);
        }
        td_pm(f, l->tau_int_kms, l->tau_int_err_kms, 3);
        td_num(f, l->depth_sigma, 1);
        td_num(f, l->cont_jy, 4);
        snprintf(ch, sizeof ch, "%d\xe2\x80\x93%d", l->chan_lo, l->chan_hi);
        td_str(f, ch);
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
    more_rows(f, s->nline);
}

static void spectra_table(FILE *f, const struct rep_data *d,
                          const struct rep_src *s)
{
    fputs("<div class=\"scroll\"><table>\n<tr><th>cube</th><th>unit</th>"
          "<th>spw</th><th>date</th><th>channels</th><th>&nu; range "
          "(GHz)</th><th>median noise (mJy/beam)</th><th>lines</th>"
          "</tr>\n",
          f);
    for (size_t i = 0; i < s->nspec && i < LIST_ROWS_MAX; i++) {
        const struct asw_spectrum *sp = &d->spectra[s->spec[i]];
        double lo = INFINITY, hi = -INFINITY;
        double *tmp = malloc(sp->n_chan * sizeof *tmp);
        double noise = NAN;
        for (size_t k = 0; k < sp->n_chan; k++) {
            double v = sp->freq_hz[k];
            if (isfinite(v)) {
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            if (tmp)
                tmp[k] = sp->noise_jy[k];
        }
        if (tmp)
            noise = rep_median(tmp, sp->n_chan);
        free(tmp);
        size_t nl = 0;
        for (size_t k = 0; k < s->nline; k++) {
            const struct asw_line *l = &d->lines[s->line[k]];
            nl += rep_line_spectrum(d, l) == sp;
        }
        char range[64], a[24], b[24];
        rep_fmt(a, sizeof a, isfinite(lo) ? lo / 1e9 : NAN, 4);
        rep_fmt(b, sizeof b, isfinite(hi) ? hi / 1e9 : NAN, 4);
        snprintf(range, sizeof range, "%s\xe2\x80\x93%s", a, b);
        fputs("<tr>", f);
        td_file(f, sp->file);
        td_str(f, sp->unit_id);
        td_int(f, sp->spw);
        td_date(f, sp->mjd);
        td_int(f, (long long)sp->n_chan);
        td_str(f, range);
        td_num(f, noise * 1e3, 2);
        td_int(f, (long long)nl);
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
    more_rows(f, s->nspec);
}

static int source_section(struct ctx *x, const struct rep_src *s)
{
    FILE *f = x->f;
    const struct rep_data *d = x->d;
    char cap[CAP_MAX];
    int rc;
    fputs("<section class=\"card source\" id=\"", f);
    html_esc(f, s->slug);
    fputs("\" data-source=\"", f);
    html_esc(f, s->name);
    fputs("\">\n<h3>", f);
    html_esc(f, s->name);
    fputs("</h3>\n", f);
    source_tables(f, d, s);
    fputs("<div class=\"grid\">\n", f);
    if ((rc = figure(x, fig_flux_history(d, s, cap, sizeof cap), "flux-history",
                     s->name, cap)) ||
        (rc = figure(x, fig_sed(d, s, cap, sizeof cap), "sed", s->name, cap)))
        return rc;
    fputs("</div>\n", f);
    sed_table(f, d, s);
    if (s->nline) {
        fprintf(f, "<h4>Absorption (%zu line%s)</h4>\n", s->nline,
                s->nline == 1 ? "" : "s");
        lines_table(f, d, s);
        fputs("<div class=\"grid\">\n", f);
        size_t nfig = s->nline < ABS_FIGS_MAX ? s->nline : ABS_FIGS_MAX;
        for (size_t i = 0; i < nfig; i++)
            if ((rc = figure(
                     x,
                     fig_absorption(d, s, s->line[i], i + 1, cap, sizeof cap),
                     "absorption", s->name, cap)))
                return rc;
        fputs("</div>\n", f);
        if (s->nline > nfig)
            fprintf(f,
                    "<p class=\"muted\">The spectra of the first %zu lines "
                    "are drawn; the table lists all.</p>\n",
                    nfig);
    }
    if (s->nspec) {
        fprintf(f, "<h4>Cube spectra searched for absorption (%zu)</h4>\n",
                s->nspec);
        spectra_table(f, d, s);
    } else if (!s->nline) {
        fputs("<p class=\"muted\">No cube spectrum of this source in the "
              "catalogue, so no absorption search.</p>\n",
              f);
    }
    fputs("</section>\n", f);
    return 0;
}

static int sources(struct ctx *x, const struct asw_report_options *o)
{
    FILE *f = x->f;
    const struct rep_data *d = x->d;
    const struct rep_src **sel = calloc(d->nsrcs + 1, sizeof *sel);
    size_t n = 0;
    if (!sel)
        return asw_err_set(x->err, ASW_ENOMEM, MODULE, "out of memory");
    for (size_t i = 0; i < d->nsrcs; i++)
        if (!o->source ||
            fnmatch(o->source, d->srcs[i].name, FNM_CASEFOLD) == 0)
            sel[n++] = &d->srcs[i];
    size_t matched = n, max = o->max_sources ? o->max_sources : 200;
    if (n > max) {
        qsort(sel, n, sizeof *sel, cmp_by_images);
        n = max;
    }
    if (n)
        qsort(sel, n, sizeof *sel, cmp_by_name);
    fputs("<section class=\"card\" id=\"sources\">\n<h2>Sources</h2>\n", f);
    if (o->source) {
        fputs("<p>Sources matching <code>", f);
        html_esc(f, o->source);
        fprintf(f, "</code>: %zu of %zu.</p>\n", matched, d->nsrcs);
    }
    if (matched > n)
        fprintf(f,
                "<p class=\"notes\">%zu sources match; the %zu with the "
                "most images are shown (raise --max-sources).</p>\n",
                matched, n);
    if (!n) {
        fputs("<p class=\"muted\">No source to show.</p>\n", f);
    } else {
        fputs("<div class=\"scroll\"><table>\n<tr><th>source</th>"
              "<th>bands</th><th>usable / all images</th><th>units</th>"
              "<th>first</th><th>last</th><th>SED fits</th><th>absorption "
              "lines</th><th>spectra</th></tr>\n",
              f);
        for (size_t i = 0; i < n; i++)
            source_summary_row(f, d, sel[i]);
        fputs("</table></div>\n", f);
    }
    fputs("</section>\n", f);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = source_section(x, sel[i]);
    x->st->sources = n;
    free(sel);
    return rc;
}

static int failed(struct ctx *x)
{
    FILE *f = x->f;
    const struct rep_data *d = x->d;
    char cap[CAP_MAX];
    fputs("<section class=\"card\" id=\"failed\">\n<h2>Failed units</h2>\n", f);
    int rc = figure(x, fig_fail_reasons(d, cap, sizeof cap), "fail-reasons",
                    NULL, cap);
    if (rc)
        return rc;
    size_t nf = 0, nopen = 0;
    for (size_t i = 0; i < d->nunits; i++) {
        nf += strcmp(d->units[i].status, "failed") == 0;
        nopen += strcmp(d->units[i].status, "interrupted") == 0 ||
                 strcmp(d->units[i].status, "pending") == 0;
    }
    x->st->units_failed = nf;
    if (!nf) {
        fputs("<p>No unit failed.</p>\n", f);
    } else {
        fprintf(f,
                "<div class=\"scroll\"><table id=\"failed-units\">\n"
                "<tr><th>unit</th><th>kind</th><th>project</th>"
                "<th>attempts</th><th>module</th><th>code</th><th>reason</th>"
                "<th>worker</th><th>stored (UTC)</th></tr>\n");
        size_t shown = 0;
        for (size_t i = 0; i < d->nunits && shown < LIST_ROWS_MAX; i++) {
            const struct asw_cat_unit_row *u = &d->units[i];
            if (strcmp(u->status, "failed"))
                continue;
            char mod[64] = "", code[64] = "";
            const char *text = u->error;
            const char *c1 = strchr(u->error, ':');
            const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (c2) {
                snprintf(mod, sizeof mod, "%.*s",
                         (int)(c1 - u->error < 63 ? c1 - u->error : 63),
                         u->error);
                snprintf(code, sizeof code, "%.*s",
                         (int)(c2 - c1 - 1 < 63 ? c2 - c1 - 1 : 63), c1 + 1);
                text = c2 + 1;
            }
            char worker[96];
            snprintf(worker, sizeof worker, "%.64s rank %d", u->host, u->rank);
            fputs("<tr data-unit=\"", f);
            html_esc(f, u->id);
            fputs("\">", f);
            td_str(f, u->id);
            td_str(f, u->kind);
            td_str(f, u->project);
            td_int(f, u->attempts);
            td_str(f, mod);
            td_str(f, code);
            fputs("<td class=\"err\">", f);
            html_esc(f, text[0] ? text : "(no error recorded)");
            fputs("</td>", f);
            td_str(f, u->host[0] ? worker : "");
            td_nowrap(f, u->updated_utc);
            fputs("</tr>\n", f);
            shown++;
        }
        fputs("</table></div>\n", f);
        if (nf > shown)
            fprintf(f, "<p class=\"muted\">and %zu more</p>\n", nf - shown);
        fputs("<p class=\"muted\">A failed unit is retried by the next "
              "'almasweep run' on this catalogue until it has failed "
              "max_attempts times ([run] in the configuration).</p>\n",
              f);
    }
    if (nopen) {
        fprintf(f,
                "<h4>Units not finished (%zu)</h4>\n<div "
                "class=\"scroll\"><table>\n<tr><th>unit</th><th>status</th>"
                "<th>attempts</th><th>last error</th></tr>\n",
                nopen);
        size_t shown = 0;
        for (size_t i = 0; i < d->nunits && shown < LIST_ROWS_MAX; i++) {
            const struct asw_cat_unit_row *u = &d->units[i];
            if (strcmp(u->status, "interrupted") &&
                strcmp(u->status, "pending"))
                continue;
            fputs("<tr>", f);
            td_str(f, u->id);
            td_str(f, u->status);
            td_int(f, u->attempts);
            td_str(f, u->error);
            fputs("</tr>\n", f);
            shown++;
        }
        fputs("</table></div>\n<p class=\"muted\">Rerun 'almasweep run' "
              "with the same configuration to process them (resume is "
              "on by default).</p>\n",
              f);
    }
    fputs("</section>\n", f);
    return 0;
}

static void footer(struct ctx *x)
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(x->f,
            "<footer>Written by almasweep " ASW_VERSION
            " on %s &middot; %zu plots drawn with cairo &middot; "
            "docs/report.md, docs/catalogue.md</footer>\n</main>\n",
            now, x->st->plots);
    fputs(load_script, x->f);
    fputs("</body>\n</html>\n", x->f);
}

/* ------------------------------------------------------------------ */

int asw_report_write(struct asw_ct *c, const char *dir,
                     const struct asw_report_options *opt,
                     struct asw_report_stats *st, struct asw_err *err)
{
    struct asw_report_options defaults;
    struct asw_report_stats dummy;
    struct rep_data d;
    struct ctx x = {0};
    char tmp_path[4200], final_path[4200];
    int rc;
    asw_report_options_default(&defaults);
    const struct asw_report_options *o = opt ? opt : &defaults;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    memset(&d, 0, sizeof d);
    if (!c || !dir || !dir[0])
        return asw_err_set(err, ASW_EINVAL, MODULE,
                           "no catalogue or "
                           "directory");
    struct rep_caps caps = {
        o->max_rows ? o->max_rows : 500000,
        o->max_spectra ? o->max_spectra : 5000,
        o->max_channels ? o->max_channels : 4000000,
    };
    if ((rc = rep_load(c, &caps, &d, err)))
        goto out;
    if ((rc = mkdir_p(dir, err)))
        goto out;
    x.d = &d;
    x.st = st;
    x.err = err;
    x.scale = o->scale > 0 ? o->scale : 2;
    if (snprintf(x.plots, sizeof x.plots, "%s/plots", dir) >=
        (int)sizeof x.plots) {
        rc = asw_err_set(err, ASW_EINVAL, MODULE, "path too long: %s", dir);
        goto out;
    }
    if ((rc = mkdir_p(x.plots, err)))
        goto out;
    clear_pngs(x.plots);
    snprintf(final_path, sizeof final_path, "%s/index.html", dir);
    snprintf(tmp_path, sizeof tmp_path, "%s/.index.html.tmp", dir);
    x.f = fopen(tmp_path, "w");
    if (!x.f) {
        rc = asw_err_set(err, ASW_EIO, MODULE, "cannot write %s: %s", tmp_path,
                         strerror(errno));
        goto out;
    }
    st->sources_total = d.nsrcs;
    st->units = d.nunits;
    st->images = d.nimages;
    st->notes = d.nnotes;
    header(&x, o);
    overview(&x, o);
    runs(&x);
    if ((rc = stats(&x)) || (rc = qa(&x)) || (rc = alpha_section(&x)) ||
        (rc = absorption_section(&x)) || (rc = sources(&x, o)) ||
        (rc = failed(&x)))
        goto out;
    footer(&x);
    if (ferror(x.f) | fclose(x.f)) {
        x.f = NULL;
        rc = asw_err_set(err, ASW_EIO, MODULE, "cannot write %s: %s", tmp_path,
                         strerror(errno));
        goto out;
    }
    x.f = NULL;
    if (rename(tmp_path, final_path) != 0)
        rc = asw_err_set(err, ASW_EIO, MODULE, "cannot rename %s to %s: %s",
                         tmp_path, final_path, strerror(errno));
out:
    if (x.f) {
        fclose(x.f);
        unlink(tmp_path);
    }
    rep_data_free(&d);
    return rc;
}

void asw_report_cleanup(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
