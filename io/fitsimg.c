#include "fitsimg.h"

#include <fitsio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Translate a cfitsio status once, here at the edge. */
static int fits_fail(struct asw_err *err, int status, const char *path,
                     const char *what)
{
    char text[FLEN_STATUS];
    fits_get_errstatus(status, text);
    fits_clear_errmsg();
    return asw_err_set(err, ASW_EFITS, "fits", "%s: %s: %s", path, what, text);
}

int asw_iso_to_mjd(const char *iso, double *mjd)
{
    int y, mo, d, h = 0, mi = 0;
    double s = 0;
    int n = sscanf(iso, "%d-%d-%dT%d:%d:%lf", &y, &mo, &d, &h, &mi, &s);
    if (n < 3 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 24 ||
        mi < 0 || mi > 59 || s < 0 || s > 61 || y < 1900 || y > 2200)
        return ASW_EINVAL;
    /* Days from the civil date (Gregorian), then MJD epoch 1858-11-17. */
    int a = (14 - mo) / 12;
    long yy = y + 4800 - a;
    long mm = mo + 12 * a - 3;
    long jdn = d + (153 * mm + 2) / 5 + 365 * yy + yy / 4 - yy / 100 +
               yy / 400 - 32045;
    *mjd = (double)(jdn - 2400001) + (h + (mi + s / 60.0) / 60.0) / 24.0;
    return 0;
}

static double key_double(fitsfile *f, const char *key)
{
    int st = 0;
    double v;
    if (fits_read_key(f, TDOUBLE, key, &v, NULL, &st))
        return NAN;
    return v;
}

static void key_string(fitsfile *f, const char *key, char *out, size_t n)
{
    int st = 0;
    char v[FLEN_VALUE];
    out[0] = '\0';
    if (!fits_read_key(f, TSTRING, key, v, NULL, &st))
        snprintf(out, n, "%.*s", (int)(n - 1), v);
}

/* Find the axis whose CTYPE starts with prefix (1-based), 0 if none. */
static int find_axis(fitsfile *f, int naxis, const char *prefix)
{
    for (int i = 1; i <= naxis; i++) {
        char key[16], v[FLEN_VALUE];
        int st = 0;
        snprintf(key, sizeof key, "CTYPE%d", i);
        if (!fits_read_key(f, TSTRING, key, v, NULL, &st) &&
            strncasecmp(v, prefix, strlen(prefix)) == 0)
            return i;
    }
    return 0;
}

int asw_fits_read(const char *path, struct asw_fits_image *img,
                  struct asw_err *err)
{
    memset(img, 0, sizeof *img);
    fitsfile *f = NULL;
    int st = 0, naxis = 0, rc = 0;
    long naxes[8] = {0};
    if (fits_open_image(&f, path, READONLY, &st))
        return fits_fail(err, st, path, "cannot open image");
    if (fits_get_img_dim(f, &naxis, &st) ||
        fits_get_img_size(f, 8, naxes, &st)) {
        rc = fits_fail(err, st, path, "cannot read the image size");
        goto out;
    }
    if (naxis < 2 || naxis > 8 || naxes[0] < 2 || naxes[1] < 2) {
        rc = asw_err_set(err, ASW_EINVAL, "fits", "%s: not an image (NAXIS=%d)",
                         path, naxis);
        goto out;
    }
    img->nx = naxes[0];
    img->ny = naxes[1];
    img->nplanes = 1;
    for (int i = 2; i < naxis; i++) {
        if (naxes[i] < 1) {
            rc = asw_err_set(err, ASW_EINVAL, "fits", "%s: NAXIS%d=%ld", path,
                             i + 1, naxes[i]);
            goto out;
        }
        img->nplanes *= naxes[i];
    }
    size_t npix = (size_t)img->nx * (size_t)img->ny;
    if ((size_t)img->nx > ASW_FITS_MAX_PIXELS / (size_t)img->ny) {
        rc = asw_err_set(err, ASW_ETOOBIG, "fits",
                         "%s: plane of %ld x %ld pixels is too large", path,
                         img->nx, img->ny);
        goto out;
    }
    img->data = malloc(npix * sizeof *img->data);
    if (!img->data) {
        rc = asw_err_set(err, ASW_ENOMEM, "fits", "%s: out of memory", path);
        goto out;
    }
    long first[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    float nanval = NAN;
    int anynul = 0;
    if (fits_read_pix(f, TFLOAT, first, (LONGLONG)npix, &nanval, img->data,
                      &anynul, &st)) {
        rc = fits_fail(err, st, path, "cannot read the pixels");
        goto out;
    }
    img->bmaj_deg = key_double(f, "BMAJ");
    img->bmin_deg = key_double(f, "BMIN");
    img->bpa_deg = key_double(f, "BPA");
    img->cdelt1_deg = key_double(f, "CDELT1");
    img->cdelt2_deg = key_double(f, "CDELT2");
    img->crpix1 = key_double(f, "CRPIX1");
    img->crpix2 = key_double(f, "CRPIX2");
    if (isnan(img->crpix1) || fabs(img->crpix1) > 1e7)
        img->crpix1 = (double)img->nx / 2.0 + 1.0;
    if (isnan(img->crpix2) || fabs(img->crpix2) > 1e7)
        img->crpix2 = (double)img->ny / 2.0 + 1.0;
    img->freq_hz = img->bandwidth_hz = NAN;
    int fa = find_axis(f, naxis, "FREQ");
    if (fa) {
        char key[16];
        snprintf(key, sizeof key, "CRVAL%d", fa);
        img->freq_hz = key_double(f, key);
        snprintf(key, sizeof key, "CDELT%d", fa);
        img->bandwidth_hz = fabs(key_double(f, key));
    }
    /* Beams outside (0, 10 deg) are absurd headers: treat as missing. */
    if (!(img->bmaj_deg > 0 && img->bmaj_deg < 10 && img->bmin_deg > 0 &&
          img->bmin_deg <= img->bmaj_deg * 1.0001))
        img->bmaj_deg = img->bmin_deg = img->bpa_deg = NAN;
    if (!(img->freq_hz > 1e6 && img->freq_hz < 1e13))
        img->freq_hz = NAN;
    key_string(f, "OBJECT", img->object, sizeof img->object);
    key_string(f, "BUNIT", img->bunit, sizeof img->bunit);
    char date[FLEN_VALUE];
    key_string(f, "DATE-OBS", date, sizeof date);
    if (!date[0] || asw_iso_to_mjd(date, &img->mjd))
        img->mjd = NAN;
out:
    st = 0;
    if (f)
        fits_close_file(f, &st);
    if (rc)
        asw_fits_image_free(img);
    return rc;
}

void asw_fits_image_free(struct asw_fits_image *img)
{
    if (!img)
        return;
    free(img->data);
    img->data = NULL;
}
