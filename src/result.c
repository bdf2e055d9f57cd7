#include "result.h"

#include "schema.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *status_names[] = {"pending", "done", "failed", "skipped",
                                     "interrupted"};

const char *asw_status_name(enum asw_status s)
{
    return (unsigned)s < 5 ? status_names[s] : "unknown";
}

int asw_status_parse(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return -1;
}

void asw_image_init(struct asw_image *img)
{
    asw_row_init(&asw_schema_images, img);
    img->pbcor = 0;
    img->qa_flags = 0;
}

void asw_sed_init(struct asw_sed *sed)
{
    asw_row_init(&asw_schema_seds, sed);
    sed->flags = 0;
}

void asw_line_init(struct asw_line *line)
{
    asw_row_init(&asw_schema_lines, line);
    line->saturated = 0;
}

/* Append one element of size sz to the array *v of *n elements. */
static int push(void **v, size_t *n, const void *elem, size_t sz)
{
    char *p = realloc(*v, (*n + 1) * sz);
    if (!p)
        return ASW_ENOMEM;
    memcpy(p + *n * sz, elem, sz);
    *v = p;
    (*n)++;
    return 0;
}

int asw_result_add_image(struct asw_result *r, const struct asw_image *img)
{
    return push((void **)&r->images, &r->n_images, img, sizeof *img);
}

int asw_result_add_sed(struct asw_result *r, const struct asw_sed *sed)
{
    return push((void **)&r->seds, &r->n_seds, sed, sizeof *sed);
}

int asw_result_add_line(struct asw_result *r, const struct asw_line *line)
{
    return push((void **)&r->lines, &r->n_lines, line, sizeof *line);
}

int asw_result_add_spectrum(struct asw_result *r, struct asw_spectrum *sp)
{
    int rc = push((void **)&r->spectra, &r->n_spectra, sp, sizeof *sp);
    if (rc)
        asw_spectrum_free(sp);
    return rc;
}

void asw_spectrum_free(struct asw_spectrum *sp)
{
    if (!sp)
        return;
    free(sp->freq_hz);
    free(sp->flux_jy);
    free(sp->ap_flux_jy);
    free(sp->noise_jy);
    free(sp->cont_jy);
    free(sp->tau);
    sp->freq_hz = sp->flux_jy = sp->ap_flux_jy = NULL;
    sp->noise_jy = sp->cont_jy = sp->tau = NULL;
    sp->n_chan = 0;
}

void asw_result_drop_rows(struct asw_result *r)
{
    free(r->images);
    free(r->seds);
    free(r->lines);
    for (size_t i = 0; i < r->n_spectra; i++)
        asw_spectrum_free(&r->spectra[i]);
    free(r->spectra);
    r->images = NULL;
    r->seds = NULL;
    r->lines = NULL;
    r->spectra = NULL;
    r->n_images = r->n_seds = r->n_lines = r->n_spectra = 0;
}

void asw_result_clear(struct asw_result *r)
{
    if (!r)
        return;
    asw_result_drop_rows(r);
    memset(r, 0, sizeof *r);
}

/* NaN is not JSON: unknown numbers travel as null. */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static double getnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void getstr(json_t *o, const char *k, char *dst, size_t n)
{
    const char *s = json_string_value(json_object_get(o, k));
    snprintf(dst, n, "%s", s ? s : "");
}

json_t *asw_image_to_json_obj(const struct asw_image *m)
{
    return asw_row_to_json(&asw_schema_images, m);
}

static json_t *rows_to_json(const struct asw_schema *s, const void *rows,
                            size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(
            a, asw_row_to_json(s, (const char *)rows + i * s->rowsize));
    return a;
}

/* A NULL array travels as n nulls (NaN), like its values when unknown. */
static json_t *darray(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, num(v ? v[i] : NAN));
    return a;
}

static json_t *spectrum_to_json(const struct asw_spectrum *sp)
{
    json_t *o = json_object();
    json_object_set_new(o, "unit_id", json_string(sp->unit_id));
    json_object_set_new(o, "file", json_string(sp->file));
    json_object_set_new(o, "source", json_string(sp->source));
    json_object_set_new(o, "spw", json_integer(sp->spw));
    json_object_set_new(o, "mjd", num(sp->mjd));
    json_object_set_new(o, "freq_hz", darray(sp->freq_hz, sp->n_chan));
    json_object_set_new(o, "flux_jy", darray(sp->flux_jy, sp->n_chan));
    json_object_set_new(o, "ap_flux_jy", darray(sp->ap_flux_jy, sp->n_chan));
    json_object_set_new(o, "noise_jy", darray(sp->noise_jy, sp->n_chan));
    json_object_set_new(o, "cont_jy", darray(sp->cont_jy, sp->n_chan));
    json_object_set_new(o, "tau", darray(sp->tau, sp->n_chan));
    return o;
}

/* Read array k of length n into a new buffer; NULL if absent or short. */
static double *getarray(json_t *o, const char *k, size_t n)
{
    json_t *a = json_object_get(o, k);
    if (!json_is_array(a) || json_array_size(a) != n)
        return NULL;
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        json_t *x = json_array_get(a, i);
        v[i] = json_is_number(x) ? json_number_value(x) : NAN;
    }
    return v;
}

static int spectrum_from_json(json_t *o, struct asw_spectrum *sp)
{
    memset(sp, 0, sizeof *sp);
    getstr(o, "unit_id", sp->unit_id, sizeof sp->unit_id);
    getstr(o, "file", sp->file, sizeof sp->file);
    getstr(o, "source", sp->source, sizeof sp->source);
    json_t *spw = json_object_get(o, "spw");
    sp->spw = json_is_integer(spw) ? (int32_t)json_integer_value(spw) : -1;
    sp->mjd = getnum(o, "mjd");
    sp->n_chan = json_array_size(json_object_get(o, "freq_hz"));
    sp->freq_hz = getarray(o, "freq_hz", sp->n_chan);
    sp->flux_jy = getarray(o, "flux_jy", sp->n_chan);
    sp->ap_flux_jy = getarray(o, "ap_flux_jy", sp->n_chan);
    sp->noise_jy = getarray(o, "noise_jy", sp->n_chan);
    sp->cont_jy = getarray(o, "cont_jy", sp->n_chan);
    sp->tau = getarray(o, "tau", sp->n_chan);
    if (!sp->freq_hz || !sp->flux_jy || !sp->ap_flux_jy || !sp->noise_jy ||
        !sp->cont_jy || !sp->tau) {
        asw_spectrum_free(sp);
        return ASW_EPARSE;
    }
    return 0;
}

char *asw_result_to_json(const struct asw_result *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "unit_id", json_string(r->unit_id));
    json_object_set_new(o, "status", json_string(asw_status_name(r->status)));
    json_object_set_new(o, "error", json_string(r->error));
    json_object_set_new(o, "attempts", json_integer(r->attempts));
    json_object_set_new(o, "t_download_s", num(r->t_download_s));
    json_object_set_new(o, "t_extract_s", num(r->t_extract_s));
    json_object_set_new(o, "t_process_s", num(r->t_process_s));
    json_object_set_new(o, "t_reduce_s", num(r->t_reduce_s));
    json_object_set_new(o, "bytes_fetched", json_integer(r->bytes_fetched));
    json_object_set_new(o, "host", json_string(r->host));
    json_object_set_new(o, "rank", json_integer(r->rank));
    if (r->casa_version[0])
        json_object_set_new(o, "casa_version", json_string(r->casa_version));
    json_object_set_new(
        o, "images", rows_to_json(&asw_schema_images, r->images, r->n_images));
    json_object_set_new(o, "seds",
                        rows_to_json(&asw_schema_seds, r->seds, r->n_seds));
    json_object_set_new(o, "lines",
                        rows_to_json(&asw_schema_lines, r->lines, r->n_lines));
    json_t *sp = json_array();
    for (size_t i = 0; sp && i < r->n_spectra; i++)
        json_array_append_new(sp, spectrum_to_json(&r->spectra[i]));
    json_object_set_new(o, "spectra", sp);
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    return s;
}

/* Read array key of rows of schema s, appending with add(). */
static int rows_from_json(json_t *o, const char *key,
                          const struct asw_schema *s, struct asw_result *r,
                          int (*add)(struct asw_result *, const void *))
{
    size_t i;
    json_t *v;
    char row[4096];
    if (s->rowsize > sizeof row)
        return ASW_EINVAL;
    json_array_foreach(json_object_get(o, key), i, v)
    {
        asw_row_from_json(s, v, row);
        int rc = add(r, row);
        if (rc)
            return rc;
    }
    return 0;
}

static int add_image(struct asw_result *r, const void *p)
{
    return asw_result_add_image(r, p);
}

static int add_sed(struct asw_result *r, const void *p)
{
    return asw_result_add_sed(r, p);
}

static int add_line(struct asw_result *r, const void *p)
{
    return asw_result_add_line(r, p);
}

int asw_result_from_json(const char *json, size_t len, struct asw_result *r,
                         struct asw_err *err)
{
    json_error_t je;
    memset(r, 0, sizeof *r);
    json_t *o = json_loadb(json, len, 0, &je);
    const char *st = json_string_value(json_object_get(o, "status"));
    if (!o || !st || asw_status_parse(st) < 0) {
        json_decref(o);
        return asw_err_set(err, ASW_EPARSE, "result", "bad result JSON: %s",
                           o ? "status" : je.text);
    }
    r->status = (enum asw_status)asw_status_parse(st);
    getstr(o, "unit_id", r->unit_id, sizeof r->unit_id);
    getstr(o, "error", r->error, sizeof r->error);
    getstr(o, "host", r->host, sizeof r->host);
    getstr(o, "casa_version", r->casa_version, sizeof r->casa_version);
    r->attempts = (int32_t)json_integer_value(json_object_get(o, "attempts"));
    r->rank = (int32_t)json_integer_value(json_object_get(o, "rank"));
    r->t_download_s = getnum(o, "t_download_s");
    r->t_extract_s = getnum(o, "t_extract_s");
    r->t_process_s = getnum(o, "t_process_s");
    r->t_reduce_s = getnum(o, "t_reduce_s");
    r->bytes_fetched = json_integer_value(json_object_get(o, "bytes_fetched"));
    int rc = rows_from_json(o, "images", &asw_schema_images, r, add_image);
    if (!rc)
        rc = rows_from_json(o, "seds", &asw_schema_seds, r, add_sed);
    if (!rc)
        rc = rows_from_json(o, "lines", &asw_schema_lines, r, add_line);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "spectra"), i, v)
    {
        struct asw_spectrum sp;
        if (rc)
            break;
        rc = spectrum_from_json(v, &sp);
        if (!rc)
            rc = asw_result_add_spectrum(r, &sp);
    }
    json_decref(o);
    if (rc) {
        asw_result_clear(r);
        return asw_err_set(err, rc, "result", "bad rows in result JSON");
    }
    return 0;
}
