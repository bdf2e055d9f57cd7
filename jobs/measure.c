#include "measure.h"

#include "io/fitsimg.h"
#include "src/reduce/peak.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int asw_intent_is_calibrator(const char *intent)
{
    return strcmp(intent, "bp") == 0 || strcmp(intent, "ph") == 0 ||
           strcmp(intent, "ch") == 0 || strcmp(intent, "amp") == 0 ||
           strncmp(intent, "pol", 3) == 0 || strncmp(intent, "Pol", 3) == 0;
}

int asw_product_name_parse(const char *name, struct asw_product_name *out)
{
    memset(out, 0, sizeof *out);
    out->spw = -1;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *p = base;
    if (strncmp(p, "member.", 7) == 0)
        p += 7;
    /* uid___A001_X1465_X2f66 up to the first '.' */
    size_t ulen = strcspn(p, ".");
    if (strncmp(p, "uid___", 6) || ulen >= sizeof out->mous || !p[ulen])
        return ASW_EINVAL;
    memcpy(out->mous, p, ulen);
    p += ulen + 1;
    /* <source>_<intent>.spw<N...>.<specmode>.<stokes>[.pbcor].fits */
    const char *spw = strstr(p, ".spw");
    if (!spw)
        return ASW_EINVAL;
    const char *us = NULL;
    for (const char *q = p; q < spw; q++)
        if (*q == '_')
            us = q;
    if (!us || us == p || (size_t)(us - p) >= sizeof out->source ||
        (size_t)(spw - us - 1) >= sizeof out->intent)
        return ASW_EINVAL;
    memcpy(out->source, p, (size_t)(us - p));
    memcpy(out->intent, us + 1, (size_t)(spw - us - 1));
    char *end;
    long n = strtol(spw + 4, &end, 10);
    if (end == spw + 4 || n < 0 || n > 100000)
        return ASW_EINVAL;
    out->spw = (int)n;
    while (*end && *end != '.')
        end++; /* spw16_18_20 lists for aggregate continuum */
    if (*end != '.')
        return ASW_EINVAL;
    const char *mode = end + 1;
    size_t mlen = strcspn(mode, ".");
    if (!mode[mlen] || mlen >= sizeof out->specmode)
        return ASW_EINVAL;
    memcpy(out->specmode, mode, mlen);
    const char *stokes = mode + mlen + 1;
    size_t slen = strcspn(stokes, ".");
    if (slen < sizeof out->stokes)
        memcpy(out->stokes, stokes, slen);
    size_t blen = strlen(base);
    out->pbcor = blen > 11 && strcmp(base + blen - 11, ".pbcor.fits") == 0;
    return 0;
}

int asw_measure_file(const char *path, struct asw_image *row,
                     struct asw_err *err)
{
    asw_image_init(row);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(row->file, sizeof row->file, "%s", base);
    struct asw_product_name pn;
    if (asw_product_name_parse(base, &pn) == 0) {
        snprintf(row->source, sizeof row->source, "%s", pn.source);
        snprintf(row->intent, sizeof row->intent, "%s", pn.intent);
        snprintf(row->specmode, sizeof row->specmode, "%s", pn.specmode);
        row->spw = pn.spw;
        row->pbcor = pn.pbcor;
    }
    struct asw_fits_image img;
    int rc = asw_fits_read(path, &img, err);
    if (rc)
        return rc;
    if (!row->source[0])
        snprintf(row->source, sizeof row->source, "%.*s",
                 (int)sizeof row->source - 1, img.object);
    row->freq_hz = img.freq_hz;
    row->mjd = img.mjd;
    double cell_arcsec = fabs(img.cdelt2_deg) * 3600.0;
    row->bmaj_arcsec = img.bmaj_deg * 3600.0;
    row->bmin_arcsec = img.bmin_deg * 3600.0;
    row->bpa_deg = img.bpa_deg;
    struct asw_plane plane = {
        .data = img.data,
        .nx = img.nx,
        .ny = img.ny,
        .cx = img.crpix1 - 1.0,
        .cy = img.crpix2 - 1.0,
        .beam_pix = cell_arcsec > 0 ? row->bmaj_arcsec / cell_arcsec : NAN,
    };
    struct asw_peak pk;
    rc = asw_peak_measure(&plane, &pk, err);
    if (rc == 0) {
        row->peak_jy = pk.peak;
        row->rms_jy = pk.rms;
        row->snr = pk.rms > 0 ? pk.peak / pk.rms : NAN;
        row->peak_x_pix = pk.x;
        row->peak_y_pix = pk.y;
    } else {
        char msg[ASW_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        asw_err_set(err, rc, "reduce", "%s: %s", base, msg);
    }
    asw_fits_image_free(&img);
    return rc;
}
