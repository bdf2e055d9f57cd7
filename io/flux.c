#include "flux.h"

#include "http.h"
#include "votable.h"

#include "src/buf.h"
#include "src/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FLUX_BODY ((size_t)1 << 20)

int asw_flux_date(double mjd, char *buf, size_t n)
{
    static const char *const months[] = {
        "January", "February", "March",     "April",   "May",      "June",
        "July",    "August",   "September", "October", "November", "December"};
    if (!isfinite(mjd) || mjd < 0 || mjd > 1e7)
        return ASW_EINVAL;
    /* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm). */
    long z = (long)floor(mjd) - 40587 + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    int w = snprintf(buf, n, "%02ld-%s-%04ld", d, months[m - 1], y);
    return w < 0 || (size_t)w >= n ? ASW_EINVAL : 0;
}

static const char *cell(const struct asw_vot_table *t, const char *name)
{
    int c = asw_vot_field_index(t, name);
    return c >= 0 ? asw_vot_cell(t, 0, (size_t)c) : NULL;
}

static double number(const char *s)
{
    if (!s || !*s)
        return NAN;
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    return *end ? NAN : v;
}

static void copy(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s ? s : "");
}

static void flux_init(struct asw_flux *out)
{
    memset(out, 0, sizeof *out);
    out->status_code = -1;
    out->freq_hz = out->flux_jy = out->flux_err_jy = NAN;
    out->spix = out->spix_err = out->age_days = NAN;
}

int asw_flux_parse(const char *body, size_t len, struct asw_flux *out,
                   struct asw_err *err)
{
    struct asw_vot_table *t = NULL;
    struct asw_err perr = {0};
    flux_init(out);
    if (asw_vot_parse_mem(body, len, &t, &perr))
        return asw_err_set(err, ASW_EPARSE, "flux",
                           "the flux service answer is not a VOTable: %s",
                           perr.msg);
    int rc = 0;
    for (size_t i = 0; i < t->ninfos; i++) {
        const struct asw_vot_info *in = &t->infos[i];
        if (in->name && in->value && strcmp(in->name, "QUERY_STATUS") == 0 &&
            strcasecmp(in->value, "ERROR") == 0) {
            rc = asw_err_set(err, ASW_EQUERY, "flux",
                             "the flux service reported an error: %s",
                             in->text ? in->text : "(no text)");
            goto out;
        }
    }
    if (t->nrows != 1 || asw_vot_field_index(t, "FluxDensity") < 0) {
        rc = asw_err_set(err, ASW_EPARSE, "flux",
                         "the flux service answer has %zu rows%s (one row "
                         "with FluxDensity expected)",
                         t->nrows,
                         asw_vot_field_index(t, "FluxDensity") < 0
                             ? " and no FluxDensity column"
                             : "");
        goto out;
    }
    const char *st = cell(t, "StatusCode");
    double stv = number(st);
    out->status_code = isfinite(stv) ? (int)stv : -1;
    copy(out->source, sizeof out->source, cell(t, "SourceName"));
    copy(out->date, sizeof out->date, cell(t, "Date"));
    out->freq_hz = number(cell(t, "Frequency"));
    out->flux_jy = number(cell(t, "FluxDensity"));
    out->flux_err_jy = number(cell(t, "FluxDensityError"));
    out->spix = number(cell(t, "SpectralIndex"));
    out->spix_err = number(cell(t, "SpectralIndexError"));
    copy(out->data_conditions, sizeof out->data_conditions,
         cell(t, "DataConditions"));
    out->age_days = number(cell(t, "Nearest Measurement Date"));
    copy(out->version, sizeof out->version, cell(t, "Version"));
    copy(out->clarification, sizeof out->clarification,
         cell(t, "Clarification"));
    /* The pipeline's rule: a null or non-positive flux, or the spectral
     * index sentinel -1000, means the catalogue has nothing usable. */
    const char *why = NULL;
    if (!(out->flux_jy > 0))
        why = isnan(out->flux_jy) ? "no flux density" : "flux density <= 0";
    else if (out->spix == -1000)
        why = "spectral index -1000";
    else if (out->status_code == ASW_FLUX_NO_VALID)
        why = "StatusCode 4 (no valid flux)";
    out->available = why == NULL;
    if (why)
        rc = asw_err_set(err, ASW_ENOTFOUND, "flux",
                         "no catalogue flux for %s on %s: %s%s%s",
                         out->source[0] ? out->source : "?",
                         out->date[0] ? out->date : "?", why,
                         out->clarification[0] ? "; " : "", out->clarification);
out:
    asw_vot_table_free(t);
    return rc;
}

int asw_flux_query(const char *const *urls, size_t n_urls, const char *name,
                   double mjd, double freq_hz, int retries,
                   struct asw_flux *out, struct asw_err *err)
{
    char date[32], fname[256], freq[64];
    flux_init(out);
    if (asw_flux_date(mjd, date, sizeof date))
        return asw_err_set(err, ASW_EINVAL, "flux", "bad date (MJD %g)", mjd);
    if (!(freq_hz > 0) || !isfinite(freq_hz))
        return asw_err_set(err, ASW_EINVAL, "flux", "bad frequency %g Hz",
                           freq_hz);
    /* The pipeline sends the first alias of "J1924-2914;PKS1921-293". */
    size_t k = strcspn(name, ";");
    if (k == 0 || k >= sizeof fname)
        return asw_err_set(err, ASW_EINVAL, "flux", "bad source name '%s'",
                           name);
    memcpy(fname, name, k);
    fname[k] = '\0';
    /* The shortest text that reads back as the same double. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(freq, sizeof freq, "%.*g", prec, freq_hz);
        if (strtod(freq, NULL) == freq_hz)
            break;
    }
    char *qn = asw_http_escape(fname);
    if (!qn)
        return asw_err_set(err, ASW_ENOMEM, "flux", "out of memory");
    int rc = ASW_ENET;
    if (!n_urls)
        rc = asw_err_set(err, ASW_EINVAL, "flux", "no flux service URL");
    for (size_t i = 0; i < n_urls; i++) {
        struct asw_buf url, body;
        asw_buf_init(&url, 8192);
        asw_buf_init(&body, MAX_FLUX_BODY);
        long status = 0;
        struct asw_http_opts o = {.retries = retries,
                                  .max_body = MAX_FLUX_BODY};
        if (asw_buf_printf(&url,
                           "%s?NAME=%s&DATE=%s&FREQUENCY=%s&WEIGHTED=true"
                           "&RESULT=1&VERBOSE=1&CATALOGUE=5",
                           urls[i], qn, date, freq)) {
            rc = asw_err_set(err, ASW_ENOMEM, "flux", "out of memory");
        } else {
            rc = asw_http_request(url.data, NULL, &o, &body, &status, err);
            if (!rc && status != 200) {
                char start[200];
                snprintf(start, sizeof start, "%s", body.data ? body.data : "");
                for (char *p = start; *p; p++)
                    if ((unsigned char)*p < ' ')
                        *p = ' ';
                rc = asw_err_set(err, ASW_EHTTP, "flux", "%s: HTTP %ld: %s",
                                 urls[i], status, start);
            } else if (!rc) {
                rc = asw_flux_parse(body.data ? body.data : "", body.len, out,
                                    err);
            }
        }
        asw_buf_free(&url);
        asw_buf_free(&body);
        if (rc != ASW_ENET && rc != ASW_EHTTP)
            break;
        if (i + 1 < n_urls)
            asw_warn("flux service %s failed (%s); trying %s", urls[i],
                     err ? err->msg : "", urls[i + 1]);
    }
    free(qn);
    return rc;
}
