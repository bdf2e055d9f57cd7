#include "result.h"

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
    memset(img, 0, sizeof *img);
    img->spw = -1;
    img->freq_hz = img->mjd = NAN;
    img->peak_jy = img->rms_jy = img->snr = NAN;
    img->bmaj_arcsec = img->bmin_arcsec = img->bpa_deg = NAN;
    img->peak_x_pix = img->peak_y_pix = NAN;
}

int asw_result_add_image(struct asw_result *r, const struct asw_image *img)
{
    struct asw_image *p =
        realloc(r->images, (r->n_images + 1) * sizeof *r->images);
    if (!p)
        return ASW_ENOMEM;
    r->images = p;
    r->images[r->n_images++] = *img;
    return 0;
}

void asw_result_clear(struct asw_result *r)
{
    if (!r)
        return;
    free(r->images);
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
    json_t *o = json_object();
    json_object_set_new(o, "unit_id", json_string(m->unit_id));
    json_object_set_new(o, "file", json_string(m->file));
    json_object_set_new(o, "source", json_string(m->source));
    json_object_set_new(o, "intent", json_string(m->intent));
    json_object_set_new(o, "spw", json_integer(m->spw));
    json_object_set_new(o, "specmode", json_string(m->specmode));
    json_object_set_new(o, "freq_hz", num(m->freq_hz));
    json_object_set_new(o, "mjd", num(m->mjd));
    json_object_set_new(o, "peak_jy", num(m->peak_jy));
    json_object_set_new(o, "rms_jy", num(m->rms_jy));
    json_object_set_new(o, "snr", num(m->snr));
    json_object_set_new(o, "bmaj_arcsec", num(m->bmaj_arcsec));
    json_object_set_new(o, "bmin_arcsec", num(m->bmin_arcsec));
    json_object_set_new(o, "bpa_deg", num(m->bpa_deg));
    json_object_set_new(o, "peak_x_pix", num(m->peak_x_pix));
    json_object_set_new(o, "peak_y_pix", num(m->peak_y_pix));
    return o;
}

static void image_from_jobj(json_t *o, struct asw_image *m)
{
    asw_image_init(m);
    getstr(o, "unit_id", m->unit_id, sizeof m->unit_id);
    getstr(o, "file", m->file, sizeof m->file);
    getstr(o, "source", m->source, sizeof m->source);
    getstr(o, "intent", m->intent, sizeof m->intent);
    getstr(o, "specmode", m->specmode, sizeof m->specmode);
    json_t *spw = json_object_get(o, "spw");
    m->spw = json_is_integer(spw) ? (int32_t)json_integer_value(spw) : -1;
    m->freq_hz = getnum(o, "freq_hz");
    m->mjd = getnum(o, "mjd");
    m->peak_jy = getnum(o, "peak_jy");
    m->rms_jy = getnum(o, "rms_jy");
    m->snr = getnum(o, "snr");
    m->bmaj_arcsec = getnum(o, "bmaj_arcsec");
    m->bmin_arcsec = getnum(o, "bmin_arcsec");
    m->bpa_deg = getnum(o, "bpa_deg");
    m->peak_x_pix = getnum(o, "peak_x_pix");
    m->peak_y_pix = getnum(o, "peak_y_pix");
}

char *asw_result_to_json(const struct asw_result *r)
{
    json_t *o = json_object();
    json_t *imgs = json_array();
    if (!o || !imgs) {
        json_decref(o);
        json_decref(imgs);
        return NULL;
    }
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
    for (size_t i = 0; i < r->n_images; i++)
        json_array_append_new(imgs, asw_image_to_json_obj(&r->images[i]));
    json_object_set_new(o, "images", imgs);
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    return s;
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
    r->attempts = (int32_t)json_integer_value(json_object_get(o, "attempts"));
    r->rank = (int32_t)json_integer_value(json_object_get(o, "rank"));
    r->t_download_s = getnum(o, "t_download_s");
    r->t_extract_s = getnum(o, "t_extract_s");
    r->t_process_s = getnum(o, "t_process_s");
    r->t_reduce_s = getnum(o, "t_reduce_s");
    r->bytes_fetched = json_integer_value(json_object_get(o, "bytes_fetched"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "images"), i, v)
    {
        struct asw_image m;
        image_from_jobj(v, &m);
        if (asw_result_add_image(r, &m)) {
            asw_result_clear(r);
            json_decref(o);
            return asw_err_set(err, ASW_ENOMEM, "result", "out of memory");
        }
    }
    json_decref(o);
    return 0;
}
