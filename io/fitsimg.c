#include "fitsimg.h"

#include <fcntl.h>
#include <fitsio.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define C_MS 299792458.0

struct asw_fits {
    fitsfile *f;
    char path[512]; /* for messages (cut) */
    int naxis;
    long naxes[8];
    int freq_axis, stokes_axis;
    int integer; /* BITPIX > 0: BLANK pixels become NaN */
    /* Fast path for plain uncompressed float32 files: pread() at
     * data_off into the caller's buffer and swap the bytes there (one
     * streaming copy, then a pass in cache; cfitsio reads in 28.8 kB
     * pieces and swaps in a pass of its own). -1 when not possible. */
    int fd;
    size_t data_off, data_end;
};

/* Open path for direct reads when its data are big-endian float32 without
 * scaling in a plain file; otherwise leave F->fd -1 (cfitsio reads). */
static void open_raw(struct asw_fits *F, const char *path, int bitpix,
                     LONGLONG dstart, double bytes)
{
    int st = 0;
    double bscale = 1, bzero = 0;
    if (fits_read_key(F->f, TDOUBLE, "BSCALE", &bscale, NULL, &st))
        bscale = 1;
    st = 0;
    if (fits_read_key(F->f, TDOUBLE, "BZERO", &bzero, NULL, &st))
        bzero = 0;
    fits_clear_errmsg();
    size_t plen = strlen(path);
    if (bitpix != FLOAT_IMG || bscale != 1 || bzero != 0 ||
        (plen > 3 && !strcmp(path + plen - 3, ".gz")) || strchr(path, '[') ||
        dstart < 0 || dstart % 4)
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
        (double)sb.st_size >= (double)dstart + bytes) {
        F->fd = fd;
        F->data_off = (size_t)dstart;
        F->data_end = (size_t)dstart + (size_t)bytes;
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        return;
    }
    close(fd);
}

/* Big-endian float32 to native in place. With SSE2 (every x86-64) four
 * at a time: swap the 16-bit halves of each word, then the bytes of each
 * half; the compiler does not vectorise a bswap loop at -O2. */
static void swap32(float *v, size_t n)
{
    unsigned char *b = (unsigned char *)v;
    size_t i = 0;
#if defined(__SSE2__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 4 <= n; i += 4) {
        __m128i x = _mm_loadu_si128((const __m128i *)(b + 4 * i));
        x = _mm_shufflehi_epi16(_mm_shufflelo_epi16(x, 0xB1), 0xB1);
        x = _mm_or_si128(_mm_slli_epi16(x, 8), _mm_srli_epi16(x, 8));
        _mm_storeu_si128((__m128i *)(b + 4 * i), x);
    }
#endif
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, b + 4 * i, 4);
        u = __builtin_bswap32(u);
        memcpy(b + 4 * i, &u, 4);
    }
}

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
    if (fits_read_key(f, TDOUBLE, key, &v, NULL, &st)) {
        fits_clear_errmsg();
        return NAN;
    }
    return isfinite(v) ? v : NAN;
}

/* String keywords are printable ASCII by the FITS standard; anything else
 * (a corrupt header) becomes '?' here, so that the JSON and HDF5 layers
 * only ever see valid text. */
static void key_string(fitsfile *f, const char *key, char *out, size_t n)
{
    int st = 0;
    char v[FLEN_VALUE];
    out[0] = '\0';
    if (!fits_read_key(f, TSTRING, key, v, NULL, &st))
        snprintf(out, n, "%.*s", (int)(n - 1), v);
    else
        fits_clear_errmsg();
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
}

/* Indexed keywords: prefix + i ("CTYPE3"), prefix + i_j ("PC1_2"). */
static void key_stringi(fitsfile *f, const char *prefix, int i, char *out,
                        size_t n)
{
    char key[FLEN_KEYWORD];
    snprintf(key, sizeof key, "%s%d", prefix, i);
    key_string(f, key, out, n);
}

static double key_d1(fitsfile *f, const char *prefix, int i)
{
    char key[FLEN_KEYWORD];
    snprintf(key, sizeof key, "%s%d", prefix, i);
    return key_double(f, key);
}

static double key_d2(fitsfile *f, const char *prefix, int i, int j)
{
    char key[FLEN_KEYWORD];
    snprintf(key, sizeof key, "%s%d_%d", prefix, i, j);
    return key_double(f, key);
}

/* The per-channel beams of a CASA BEAMS binary table, if there is one. The
 * current HDU is restored. Absent or unreadable tables are not errors. */
static void read_beams(fitsfile *f, struct asw_fits_header *h)
{
    int st = 0, hdu = 0;
    fits_get_hdu_num(f, &hdu);
    if (fits_movnam_hdu(f, BINARY_TBL, "BEAMS", 0, &st)) {
        fits_clear_errmsg();
        st = 0;
        fits_movabs_hdu(f, hdu, NULL, &st);
        return;
    }
    long nrows = 0;
    int cm = 0, cn = 0, cp = 0, cc = 0, cpol = 0;
    fits_get_num_rows(f, &nrows, &st);
    fits_get_colnum(f, CASEINSEN, "BMAJ", &cm, &st);
    fits_get_colnum(f, CASEINSEN, "BMIN", &cn, &st);
    fits_get_colnum(f, CASEINSEN, "BPA", &cp, &st);
    fits_get_colnum(f, CASEINSEN, "CHAN", &cc, &st);
    int st2 = 0;
    if (fits_get_colnum(f, CASEINSEN, "POL", &cpol, &st2))
        cpol = 0;
    char unit[FLEN_VALUE] = "";
    if (!st)
        key_stringi(f, "TUNIT", cm, unit, sizeof unit);
    double scale = strncasecmp(unit, "deg", 3) == 0 ? 3600.0 : 1.0;
    long nc = h->nchan;
    if (st || nrows < 1 || nrows > ASW_FITS_MAX_CHANNELS * 4 || nc < 1)
        goto back;
    double *m = malloc((size_t)nrows * sizeof *m);
    double *n = malloc((size_t)nrows * sizeof *n);
    double *p = malloc((size_t)nrows * sizeof *p);
    long *ch = malloc((size_t)nrows * sizeof *ch);
    long *pol = calloc((size_t)nrows, sizeof *pol);
    h->chan_bmaj_arcsec = malloc((size_t)nc * sizeof(double));
    h->chan_bmin_arcsec = malloc((size_t)nc * sizeof(double));
    h->chan_bpa_deg = malloc((size_t)nc * sizeof(double));
    int ok = m && n && p && ch && pol && h->chan_bmaj_arcsec &&
             h->chan_bmin_arcsec && h->chan_bpa_deg;
    if (ok) {
        fits_read_col(f, TDOUBLE, cm, 1, 1, nrows, NULL, m, NULL, &st);
        fits_read_col(f, TDOUBLE, cn, 1, 1, nrows, NULL, n, NULL, &st);
        fits_read_col(f, TDOUBLE, cp, 1, 1, nrows, NULL, p, NULL, &st);
        fits_read_col(f, TLONG, cc, 1, 1, nrows, NULL, ch, NULL, &st);
        if (cpol)
            fits_read_col(f, TLONG, cpol, 1, 1, nrows, NULL, pol, NULL, &st);
        ok = !st;
    }
    long filled = 0;
    for (long c = 0; ok && c < nc; c++)
        h->chan_bmaj_arcsec[c] = h->chan_bmin_arcsec[c] = h->chan_bpa_deg[c] =
            NAN;
    for (long r = 0; ok && r < nrows; r++) {
        if (pol[r] != 0 || ch[r] < 0 || ch[r] >= nc)
            continue;
        double M = m[r] * scale, mm = n[r] * scale;
        if (!(M > 0 && mm > 0 && mm <= M * 1.0001 && M < 36000.0) ||
            !isfinite(p[r]))
            continue;
        h->chan_bmaj_arcsec[ch[r]] = M;
        h->chan_bmin_arcsec[ch[r]] = mm;
        h->chan_bpa_deg[ch[r]] = p[r];
        filled++;
    }
    if (!ok || filled == 0) {
        free(h->chan_bmaj_arcsec);
        free(h->chan_bmin_arcsec);
        free(h->chan_bpa_deg);
        h->chan_bmaj_arcsec = h->chan_bmin_arcsec = h->chan_bpa_deg = NULL;
    }
    free(m);
    free(n);
    free(p);
    free(ch);
    free(pol);
back:
    fits_clear_errmsg();
    st = 0;
    fits_movabs_hdu(f, hdu, NULL, &st);
}

/* Median of the finite values of v[0..n), NAN if none (v is copied). */
static double median_finite(const double *v, long n)
{
    double *c = malloc((size_t)(n > 0 ? n : 1) * sizeof *c);
    if (!c)
        return NAN;
    long k = 0;
    for (long i = 0; i < n; i++)
        if (isfinite(v[i]))
            c[k++] = v[i];
    /* insertion sort is fine for the few values of a median beam; use
     * a simple selection for long tables */
    double med = NAN;
    if (k) {
        for (long i = 0; i <= k / 2; i++) {
            long mi = i;
            for (long j = i + 1; j < k; j++)
                if (c[j] < c[mi])
                    mi = j;
            double t = c[i];
            c[i] = c[mi];
            c[mi] = t;
        }
        med = c[k / 2];
    }
    free(c);
    return med;
}

static int read_header(fitsfile *f, const char *path, struct asw_fits_header *h,
                       struct asw_err *err)
{
    /* Axes: RA/Dec first, then find the spectral and Stokes axes. */
    char ctype[8][FLEN_VALUE];
    for (int i = 0; i < h->naxis; i++)
        key_stringi(f, "CTYPE", i + 1, ctype[i], sizeof ctype[i]);
    for (int i = 2; i < h->naxis; i++) {
        if (!strncasecmp(ctype[i], "FREQ", 4) ||
            !strncasecmp(ctype[i], "VRAD", 4) ||
            !strncasecmp(ctype[i], "VOPT", 4) ||
            !strncasecmp(ctype[i], "VELO", 4))
            h->freq_axis = h->freq_axis ? h->freq_axis : i + 1;
        else if (!strncasecmp(ctype[i], "STOKES", 6))
            h->stokes_axis = h->stokes_axis ? h->stokes_axis : i + 1;
    }
    h->nchan = h->freq_axis ? h->naxes[h->freq_axis - 1] : 1;
    h->nstokes = h->stokes_axis ? h->naxes[h->stokes_axis - 1] : 1;
    /* Any other axis longer than 1 is something we do not reduce. */
    for (int i = 2; i < h->naxis; i++)
        if (i + 1 != h->freq_axis && i + 1 != h->stokes_axis && h->naxes[i] > 1)
            return asw_err_set(err, ASW_EINVAL, "fits",
                               "%s: axis %d (%s) of length %ld is neither "
                               "spectral nor Stokes",
                               path, i + 1, ctype[i], h->naxes[i]);
    if (h->nchan > ASW_FITS_MAX_CHANNELS)
        return asw_err_set(err, ASW_ETOOBIG, "fits",
                           "%s: %ld channels (more than %ld)", path, h->nchan,
                           ASW_FITS_MAX_CHANNELS);

    /* Celestial WCS: CD matrix, or CDELT with PC (or CROTA2). */
    double crval[2], crpix[2], cdelt[2], pc[2][2], cd[2][2];
    int have_cd = 0, have_pc = 0;
    for (int i = 0; i < 2; i++) {
        crval[i] = key_d1(f, "CRVAL", i + 1);
        crpix[i] = key_d1(f, "CRPIX", i + 1);
        cdelt[i] = key_d1(f, "CDELT", i + 1);
        for (int j = 0; j < 2; j++) {
            cd[i][j] = key_d2(f, "CD", i + 1, j + 1);
            pc[i][j] = key_d2(f, "PC", i + 1, j + 1);
            have_cd |= isfinite(cd[i][j]);
            have_pc |= isfinite(pc[i][j]);
        }
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            if (!isfinite(cd[i][j]))
                cd[i][j] = 0.0;
            if (!isfinite(pc[i][j]))
                pc[i][j] = (i == j);
        }
    double crota = key_double(f, "CROTA2");
    if (!have_cd && !have_pc && isfinite(crota) && crota != 0.0) {
        double r = crota * M_PI / 180.0;
        /* AIPS convention: CD = CDELT-scaled rotation. */
        pc[0][0] = cos(r);
        pc[0][1] = -sin(r) * cdelt[1] / cdelt[0];
        pc[1][0] = sin(r) * cdelt[0] / cdelt[1];
        pc[1][1] = cos(r);
        have_pc = 1;
    }
    /* A reference pixel that is missing or absurd is put at the centre,
     * where CASA puts the phase centre. */
    if (!(fabs(crpix[0]) <= 1e7))
        crpix[0] = (double)(h->nx / 2 + 1);
    if (!(fabs(crpix[1]) <= 1e7))
        crpix[1] = (double)(h->ny / 2 + 1);
    for (int i = 0; i < 2; i++)
        if (!isfinite(crval[i]))
            crval[i] = 0.0;
    char ctype1[FLEN_VALUE];
    snprintf(ctype1, sizeof ctype1, "%s", ctype[0]);
    if (strncasecmp(ctype[0], "RA", 2) || strncasecmp(ctype[1], "DEC", 3))
        ctype1[0] = '\0'; /* not equatorial: no projection */
    asw_wcs_set(&h->wcs, ctype1, crval, crpix, cdelt, have_pc ? pc : NULL,
                have_cd ? cd : NULL, key_double(f, "LONPOLE"));
    if (!(asw_wcs_cell_arcsec(&h->wcs) > 0))
        return asw_err_set(err, ASW_EINVAL, "fits",
                           "%s: no usable pixel scale (CDELT1/2 or CD "
                           "matrix)",
                           path);
    h->obsra_deg = key_double(f, "OBSRA");
    h->obsdec_deg = key_double(f, "OBSDEC");
    if (!(fabs(h->obsdec_deg) <= 90.0) || !isfinite(h->obsra_deg))
        h->obsra_deg = h->obsdec_deg = NAN;

    /* Spectral axis. */
    h->restfrq_hz = key_double(f, "RESTFRQ");
    if (!isfinite(h->restfrq_hz))
        h->restfrq_hz = key_double(f, "RESTFREQ");
    if (!(h->restfrq_hz > 1e6 && h->restfrq_hz < 1e13))
        h->restfrq_hz = NAN;
    key_string(f, "SPECSYS", h->specsys, sizeof h->specsys);
    h->freq_hz = h->bandwidth_hz = NAN;
    h->spec_crval = h->spec_cdelt = h->spec_crpix = NAN;
    if (h->freq_axis) {
        int a = h->freq_axis;
        snprintf(h->spec_ctype, sizeof h->spec_ctype, "%.*s",
                 (int)sizeof h->spec_ctype - 1, ctype[a - 1]);
        h->spec_crval = key_d1(f, "CRVAL", a);
        h->spec_cdelt = key_d1(f, "CDELT", a);
        h->spec_crpix = key_d1(f, "CRPIX", a);
        if (!isfinite(h->spec_crpix) || fabs(h->spec_crpix) > 1e9)
            h->spec_crpix = 1.0;
        double *fr = malloc((size_t)h->nchan * sizeof *fr);
        if (!fr)
            return asw_err_set(err, ASW_ENOMEM, "fits", "out of memory");
        if (asw_fits_chan_freqs(h, fr, NULL) == 0) {
            long mid = h->nchan / 2;
            h->freq_hz =
                (h->nchan % 2) ? fr[mid] : 0.5 * (fr[mid - 1] + fr[mid]);
            double w = h->nchan > 1 ? fabs(fr[1] - fr[0]) : fabs(h->spec_cdelt);
            if (!strncasecmp(h->spec_ctype, "VRAD", 4) && h->nchan == 1)
                w = fabs(h->spec_cdelt) / C_MS * h->restfrq_hz;
            h->bandwidth_hz = w * (double)h->nchan;
            if (!(h->bandwidth_hz > 0 && h->bandwidth_hz < 1e12))
                h->bandwidth_hz = NAN;
        }
        free(fr);
        if (!(h->freq_hz > 1e6 && h->freq_hz < 1e13))
            h->freq_hz = NAN;
    }

    /* Beam: keywords; absurd values count as missing. */
    h->bmaj_deg = key_double(f, "BMAJ");
    h->bmin_deg = key_double(f, "BMIN");
    h->bpa_deg = key_double(f, "BPA");
    if (!isfinite(h->bpa_deg))
        h->bpa_deg = 0.0;
    if (!(h->bmaj_deg > 0 && h->bmaj_deg < 10 && h->bmin_deg > 0 &&
          h->bmin_deg <= h->bmaj_deg * 1.0001))
        h->bmaj_deg = h->bmin_deg = h->bpa_deg = NAN;
    read_beams(f, h);
    if (isnan(h->bmaj_deg) && h->chan_bmaj_arcsec) {
        /* No common beam: the median of the channel beams stands in. */
        h->bmaj_deg = median_finite(h->chan_bmaj_arcsec, h->nchan) / 3600.0;
        h->bmin_deg = median_finite(h->chan_bmin_arcsec, h->nchan) / 3600.0;
        h->bpa_deg = median_finite(h->chan_bpa_deg, h->nchan);
        if (!(h->bmin_deg <= h->bmaj_deg))
            h->bmin_deg = h->bmaj_deg;
    }

    key_string(f, "OBJECT", h->object, sizeof h->object);
    key_string(f, "BUNIT", h->bunit, sizeof h->bunit);
    key_string(f, "SPW", h->kw_spw, sizeof h->kw_spw);
    key_string(f, "FIELD", h->kw_field, sizeof h->kw_field);
    key_string(f, "INTENT", h->kw_intent, sizeof h->kw_intent);
    key_string(f, "SPECMODE", h->kw_specmode, sizeof h->kw_specmode);
    key_string(f, "TYPE", h->kw_type, sizeof h->kw_type);
    char date[FLEN_VALUE];
    key_string(f, "DATE-OBS", date, sizeof date);
    h->mjd = NAN;
    if (!date[0] || asw_iso_to_mjd(date, &h->mjd)) {
        double m = key_double(f, "MJD-OBS");
        h->mjd = (m > 15000 && m < 110000) ? m : NAN;
    }
    return 0;
}

int asw_fits_open(const char *path, struct asw_fits **out,
                  struct asw_fits_header *h, struct asw_err *err)
{
    memset(h, 0, sizeof *h);
    *out = NULL;
    struct asw_fits *F = calloc(1, sizeof *F);
    if (!F)
        return asw_err_set(err, ASW_ENOMEM, "fits", "out of memory");
    snprintf(F->path, sizeof F->path, "%s", path);
    F->fd = -1;
    int st = 0, rc = 0;
    if (fits_open_image(&F->f, path, READONLY, &st)) {
        /* cfitsio can fail after opening (NOT_IMAGE: an empty primary HDU
         * and no image extension) and leave the file open */
        rc = fits_fail(err, st, path, "cannot open image");
        goto out;
    }
    if (fits_get_img_dim(F->f, &h->naxis, &st) ||
        fits_get_img_type(F->f, &h->bitpix, &st) ||
        fits_get_img_size(F->f, 8, h->naxes, &st)) {
        rc = fits_fail(err, st, path, "cannot read the image size");
        goto out;
    }
    if (h->naxis < 2 || h->naxis > 8 || h->naxes[0] < 2 || h->naxes[1] < 2) {
        rc = asw_err_set(err, ASW_EINVAL, "fits", "%s: not an image (NAXIS=%d)",
                         path, h->naxis);
        goto out;
    }
    h->nx = h->naxes[0];
    h->ny = h->naxes[1];
    if ((size_t)h->nx > ASW_FITS_MAX_PIXELS / (size_t)h->ny) {
        rc = asw_err_set(err, ASW_ETOOBIG, "fits",
                         "%s: plane of %ld x %ld pixels is too large", path,
                         h->nx, h->ny);
        goto out;
    }
    /* Data size the header promises, against what the file holds. */
    double planes = 1;
    for (int i = 2; i < h->naxis; i++) {
        if (h->naxes[i] < 1) {
            rc = asw_err_set(err, ASW_EINVAL, "fits", "%s: NAXIS%d=%ld", path,
                             i + 1, h->naxes[i]);
            goto out;
        }
        planes *= (double)h->naxes[i];
    }
    double bytes =
        planes * (double)h->nx * (double)h->ny * (double)(abs(h->bitpix) / 8);
    LONGLONG hstart = 0, dstart = -1, dend = 0;
    struct stat sb;
    size_t plen = strlen(path);
    int gz = plen > 3 && strcmp(path + plen - 3, ".gz") == 0;
    if (!fits_get_hduaddrll(F->f, &hstart, &dstart, &dend, &st) && !gz &&
        stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
        (double)sb.st_size < (double)dstart + bytes) {
        rc = asw_err_set(err, ASW_EFITS, "fits",
                         "%s: truncated: the header promises %.0f bytes of "
                         "data, the file holds %.0f",
                         path, bytes, (double)sb.st_size - (double)dstart);
        goto out;
    }
    st = 0;
    F->naxis = h->naxis;
    memcpy(F->naxes, h->naxes, sizeof F->naxes);
    F->integer = h->bitpix > 0;
    if (!gz)
        open_raw(F, path, h->bitpix, dstart, bytes);
    if ((rc = read_header(F->f, path, h, err)))
        goto out;
    F->freq_axis = h->freq_axis;
    F->stokes_axis = h->stokes_axis;
out:
    fits_clear_errmsg();
    if (rc) {
        asw_fits_close(F);
        asw_fits_header_free(h);
        return rc;
    }
    *out = F;
    return 0;
}

int asw_fits_read_rows(struct asw_fits *F, long chan, long y0, long nrows,
                       float *buf, struct asw_err *err)
{
    long nx = F->naxes[0], ny = F->naxes[1];
    long nchan = F->freq_axis ? F->naxes[F->freq_axis - 1] : 1;
    if (chan < 0 || chan >= nchan || y0 < 0 || nrows < 1 || y0 + nrows > ny)
        return asw_err_set(err, ASW_EINVAL, "fits",
                           "%s: rows %ld+%ld of channel %ld out of range",
                           F->path, y0, nrows, chan);
    long first[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    first[1] = y0 + 1;
    if (F->freq_axis)
        first[F->freq_axis - 1] = chan + 1;
    if (F->fd >= 0) {
        /* The offset of the first pixel: FITS order, axis 1 fastest. */
        size_t off = 0, stride = 1;
        for (int i = 0; i < F->naxis; i++) {
            off += (size_t)(first[i] - 1) * stride;
            stride *= (size_t)F->naxes[i];
        }
        size_t n = (size_t)nx * (size_t)nrows;
        size_t b0 = F->data_off + 4 * off, len = 4 * n, done = 0;
        if (b0 + len <= F->data_end) {
            while (done < len) {
                ssize_t r = pread(F->fd, (char *)buf + done, len - done,
                                  (off_t)(b0 + done));
                if (r <= 0)
                    break;
                done += (size_t)r;
            }
            if (done == len) {
                swap32(buf, n);
                return 0;
            }
        }
        /* short read (the file changed under us): cfitsio reports it */
    }
    float nanval = NAN;
    int st = 0, anynul = 0;
    /* Float data pass NaN through untouched; only integer data need the
     * BLANK check (and pay for it). */
    if (fits_read_pix(F->f, TFLOAT, first, (LONGLONG)nx * nrows,
                      F->integer ? &nanval : NULL, buf, &anynul, &st))
        return fits_fail(err, st, F->path, "cannot read the pixels");
    return 0;
}

int asw_fits_chan_freqs(const struct asw_fits_header *h, double *freq,
                        struct asw_err *err)
{
    if (!h->freq_axis || !isfinite(h->spec_crval) || !isfinite(h->spec_cdelt) ||
        (h->nchan > 1 && h->spec_cdelt == 0))
        return asw_err_set(err, ASW_EINVAL, "fits",
                           "no usable spectral axis (CTYPE '%s')",
                           h->spec_ctype);
    int vrad = !strncasecmp(h->spec_ctype, "VRAD", 4);
    if (strncasecmp(h->spec_ctype, "FREQ", 4) &&
        !(vrad && isfinite(h->restfrq_hz)))
        return asw_err_set(err, ASW_EINVAL, "fits",
                           "spectral axis '%s' is not supported (FREQ, or "
                           "VRAD with RESTFRQ)",
                           h->spec_ctype);
    for (long c = 0; c < h->nchan; c++) {
        double v =
            h->spec_crval + ((double)(c + 1) - h->spec_crpix) * h->spec_cdelt;
        freq[c] = vrad ? h->restfrq_hz * (1.0 - v / C_MS) : v;
    }
    return 0;
}

void asw_fits_close(struct asw_fits *F)
{
    if (!F)
        return;
    int st = 0;
    if (F->f)
        fits_close_file(F->f, &st);
    fits_clear_errmsg();
    if (F->fd >= 0)
        close(F->fd);
    free(F);
}

void asw_fits_header_free(struct asw_fits_header *h)
{
    if (!h)
        return;
    free(h->chan_bmaj_arcsec);
    free(h->chan_bmin_arcsec);
    free(h->chan_bpa_deg);
    h->chan_bmaj_arcsec = h->chan_bmin_arcsec = h->chan_bpa_deg = NULL;
}
