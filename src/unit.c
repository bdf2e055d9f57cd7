#include "unit.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *asw_unit_kind_name(enum asw_unit_kind k)
{
    return k == ASW_UNIT_EB_RAW ? "eb-raw" : "mous-products";
}

int asw_unit_kind_parse(const char *s)
{
    if (strcmp(s, "eb-raw") == 0)
        return ASW_UNIT_EB_RAW;
    if (strcmp(s, "mous-products") == 0)
        return ASW_UNIT_MOUS_PRODUCTS;
    return -1;
}

/* One uid part: 'X' followed by hex digits, or an archive id like A001. */
static int uid_part_ok(const char *p, size_t n)
{
    if (n == 0 || n > 20)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]))
            return 0;
    return 1;
}

int asw_uid_sanitize(const char *uid, char *out, size_t n)
{
    const char *p;
    char sep;
    if (strncmp(uid, "uid://", 6) == 0) {
        p = uid + 6;
        sep = '/';
    } else if (strncmp(uid, "uid___", 6) == 0) {
        p = uid + 6;
        sep = '_';
    } else {
        return ASW_EINVAL;
    }
    /* Exactly three parts: A001/X12a3/Xe9. */
    const char *parts[3];
    size_t lens[3];
    for (int i = 0; i < 3; i++) {
        const char *end = i < 2 ? strchr(p, sep) : p + strlen(p);
        if (!end)
            return ASW_EINVAL;
        parts[i] = p;
        lens[i] = (size_t)(end - p);
        if (!uid_part_ok(p, lens[i]))
            return ASW_EINVAL;
        p = i < 2 ? end + 1 : end;
    }
    int w = snprintf(out, n, "uid___%.*s_%.*s_%.*s", (int)lens[0], parts[0],
                     (int)lens[1], parts[1], (int)lens[2], parts[2]);
    return (w < 0 || (size_t)w >= n) ? ASW_EINVAL : 0;
}

static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

int asw_unit_add_file(struct asw_unit *u, const char *name, const char *url,
                      int64_t size_bytes, const char *semantics)
{
    struct asw_file *f = realloc(u->files, (u->n_files + 1) * sizeof *u->files);
    if (!f)
        return ASW_ENOMEM;
    u->files = f;
    struct asw_file *nf = &f[u->n_files];
    nf->name = dupstr(name);
    nf->url = dupstr(url);
    nf->semantics = dupstr(semantics);
    nf->size_bytes = size_bytes;
    if (!nf->name || !nf->url || !nf->semantics) {
        free(nf->name);
        free(nf->url);
        free(nf->semantics);
        return ASW_ENOMEM;
    }
    u->n_files++;
    if (size_bytes > 0)
        u->bytes_total += size_bytes;
    return 0;
}

int asw_unit_add_source(struct asw_unit *u, const char *name)
{
    for (size_t i = 0; i < u->n_sources; i++)
        if (strcmp(u->sources[i], name) == 0)
            return 0;
    char **s = realloc(u->sources, (u->n_sources + 1) * sizeof *s);
    if (!s)
        return ASW_ENOMEM;
    u->sources = s;
    if (!(s[u->n_sources] = strdup(name)))
        return ASW_ENOMEM;
    u->n_sources++;
    return 0;
}

void asw_unit_clear(struct asw_unit *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n_files; i++) {
        free(u->files[i].name);
        free(u->files[i].url);
        free(u->files[i].semantics);
    }
    free(u->files);
    for (size_t i = 0; i < u->n_sources; i++)
        free(u->sources[i]);
    free(u->sources);
    memset(u, 0, sizeof *u);
}

int asw_unit_copy(struct asw_unit *dst, const struct asw_unit *src)
{
    *dst = *src;
    dst->files = NULL;
    dst->n_files = 0;
    dst->sources = NULL;
    dst->n_sources = 0;
    dst->bytes_total = 0;
    for (size_t i = 0; i < src->n_files; i++) {
        const struct asw_file *f = &src->files[i];
        if (asw_unit_add_file(dst, f->name, f->url, f->size_bytes,
                              f->semantics))
            goto fail;
    }
    for (size_t i = 0; i < src->n_sources; i++)
        if (asw_unit_add_source(dst, src->sources[i]))
            goto fail;
    dst->bytes_total = src->bytes_total;
    return 0;
fail:
    asw_unit_clear(dst);
    return ASW_ENOMEM;
}

char *asw_unit_to_json(const struct asw_unit *u)
{
    json_t *o = json_object();
    json_t *files = json_array();
    json_t *srcs = json_array();
    char *out = NULL;
    if (!o || !files || !srcs)
        goto out;
    for (size_t i = 0; i < u->n_files; i++) {
        const struct asw_file *f = &u->files[i];
        json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:s}", "name",
                                               f->name, "url", f->url, "bytes",
                                               (json_int_t)f->size_bytes,
                                               "semantics", f->semantics));
    }
    for (size_t i = 0; i < u->n_sources; i++)
        json_array_append_new(srcs, json_string(u->sources[i]));
    json_object_set_new(o, "id", json_string(u->id));
    json_object_set_new(o, "kind", json_string(asw_unit_kind_name(u->kind)));
    json_object_set_new(o, "project", json_string(u->project));
    json_object_set_new(o, "mous_uid", json_string(u->mous_uid));
    json_object_set_new(o, "band", json_string(u->band));
    json_object_set_new(o, "obs_mjd",
                        isfinite(u->obs_mjd) ? json_real(u->obs_mjd)
                                             : json_null());
    json_object_set(o, "sources", srcs);
    json_object_set_new(o, "bytes_total", json_integer(u->bytes_total));
    json_object_set_new(o, "scratch_need", json_integer(u->scratch_need));
    json_object_set_new(o, "attempts", json_integer(u->attempts));
    json_object_set(o, "files", files);
    out = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT |
                            JSON_REAL_PRECISION(17));
out:
    json_decref(files);
    json_decref(srcs);
    json_decref(o);
    return out;
}

static int copy_str(json_t *o, const char *key, char *dst, size_t n)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || strlen(s) >= n)
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int asw_unit_from_json(const char *json, size_t len, struct asw_unit *u,
                       struct asw_err *err)
{
    json_error_t je;
    memset(u, 0, sizeof *u);
    json_t *o = json_loadb(json, len, 0, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return asw_err_set(err, ASW_EPARSE, "unit", "bad unit JSON: %s",
                           je.text);
    }
    int rc = ASW_EPARSE;
    const char *kind = json_string_value(json_object_get(o, "kind"));
    if (copy_str(o, "id", u->id, sizeof u->id) ||
        copy_str(o, "project", u->project, sizeof u->project) ||
        copy_str(o, "mous_uid", u->mous_uid, sizeof u->mous_uid) ||
        copy_str(o, "band", u->band, sizeof u->band) || !kind ||
        asw_unit_kind_parse(kind) < 0) {
        asw_err_set(err, rc, "unit", "unit JSON lacks a field or is too long");
        goto out;
    }
    u->kind = (enum asw_unit_kind)asw_unit_kind_parse(kind);
    json_t *mjd = json_object_get(o, "obs_mjd");
    u->obs_mjd = json_is_number(mjd) ? json_number_value(mjd) : NAN;
    u->attempts = (int)json_integer_value(json_object_get(o, "attempts"));
    u->scratch_need = json_integer_value(json_object_get(o, "scratch_need"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "sources"), i, v)
    {
        if (!json_is_string(v) || asw_unit_add_source(u, json_string_value(v)))
            goto bad;
    }
    json_array_foreach(json_object_get(o, "files"), i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *url = json_string_value(json_object_get(v, "url"));
        const char *sem = json_string_value(json_object_get(v, "semantics"));
        json_t *b = json_object_get(v, "bytes");
        if (!name || !url || !sem || !json_is_integer(b) ||
            asw_unit_add_file(u, name, url, json_integer_value(b), sem))
            goto bad;
    }
    u->bytes_total = json_integer_value(json_object_get(o, "bytes_total"));
    rc = 0;
    goto out;
bad:
    asw_err_set(err, rc, "unit", "bad file or source entry in unit JSON");
out:
    if (rc)
        asw_unit_clear(u);
    json_decref(o);
    return rc;
}
