#include "gen_image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fitsio.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#define FOUR_LN2    2.772588722239781
#define DEG_PER_RAD 57.29577951308232

/* ALMA array reference position, ITRF metres (as CASA writes OBSGEO). */
#define ALMA_X 2225142.180269
#define ALMA_Y -5440307.370349
#define ALMA_Z -2481029.851874

/* Precomputed terms of exp(-4 ln2 (u^2/maj^2 + v^2/min^2)) for pixel
 * offsets, with u along the major axis at position angle pa (east of
 * north). The RA axis runs east to the left (CDELT1 < 0). */
struct gauss2d {
    double a, b, c; /* exponent = -(a dx^2 + b dx dy + c dy^2) */
};

static struct gauss2d gauss_setup(double maj_arcsec, double min_arcsec,
                                  double pa_deg, double cell_arcsec)
{
    double t = pa_deg / DEG_PER_RAD, st = sin(t), ct = cos(t);
    double M = maj_arcsec / cell_arcsec, m = min_arcsec / cell_arcsec;
    /* east = -dx, north = dy; u = east sin t + north cos t,
     * v = east cos t - north sin t */
    double ux = -st, uy = ct, vx = -ct, vy = -st;
    struct gauss2d g;
    g.a = FOUR_LN2 * (ux * ux / (M * M) + vx * vx / (m * m));
    g.b = FOUR_LN2 * 2.0 * (ux * uy / (M * M) + vx * vy / (m * m));
    g.c = FOUR_LN2 * (uy * uy / (M * M) + vy * vy / (m * m));
    return g;
}

static double gauss_eval(const struct gauss2d *g, double dx, double dy)
{
    return exp(-(g->a * dx * dx + g->b * dx * dy + g->c * dy * dy));
}

/* Primary beam at pixel (x, y) for a phase centre at pixel c. */
static double pb_at(double x, double y, double c, double cell_arcsec,
                    double fwhm_arcsec)
{
    double r2 =
        ((x - c) * (x - c) + (y - c) * (y - c)) * cell_arcsec * cell_arcsec;
    return exp(-FOUR_LN2 * r2 / (fwhm_arcsec * fwhm_arcsec));
}

/* Correlated noise: white deviates on a padded grid (so the edges are as
 * correlated as the middle) convolved with the beam/sqrt(2) kernel, then
 * shifted and scaled so the n x n realisation has mean 0 and standard
 * deviation exactly im->rms_jy. */
static int render_noise(const struct asw_gen_image *im, double *noise)
{
    int n = im->npix;
    struct gauss2d k =
        gauss_setup(im->bmaj_arcsec / M_SQRT2, im->bmin_arcsec / M_SQRT2,
                    im->bpa_deg, im->cell_arcsec);
    /* 3.5 sigma of the kernel's major axis covers exp(-6.1) */
    double sig_px = im->bmaj_arcsec / M_SQRT2 / im->cell_arcsec / 2.3548;
    int h = (int)ceil(3.5 * sig_px);
    int kw = 2 * h + 1, w = n + 2 * h;
    double *kern = malloc(sizeof *kern * (size_t)kw * (size_t)kw);
    double *white = malloc(sizeof *white * (size_t)w * (size_t)w);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!kern || !white || !r) {
        free(kern);
        free(white);
        gsl_rng_free(r);
        return ASW_ENOMEM;
    }
    gsl_rng_set(r, im->noise_seed);
    for (int j = 0; j < kw; j++)
        for (int i = 0; i < kw; i++)
            kern[j * kw + i] = gauss_eval(&k, i - h, j - h);
    for (size_t i = 0; i < (size_t)w * (size_t)w; i++)
        white[i] = gsl_ran_gaussian_ziggurat(r, 1.0);

    double sum = 0.0, sum2 = 0.0;
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            double acc = 0.0;
            for (int j = 0; j < kw; j++) {
                const double *wr = white + (size_t)(y + j) * w + x;
                const double *kr = kern + (size_t)j * kw;
                for (int i = 0; i < kw; i++)
                    acc += kr[i] * wr[i];
            }
            noise[(size_t)y * n + x] = acc;
            sum += acc;
            sum2 += acc * acc;
        }
    }
    double npx = (double)n * n, mean = sum / npx;
    double sd = sqrt(fmax(sum2 / npx - mean * mean, 1e-300));
    double scale = im->rms_jy / sd;
    for (size_t i = 0; i < (size_t)n * n; i++)
        noise[i] = (noise[i] - mean) * scale;

    free(kern);
    free(white);
    gsl_rng_free(r);
    return 0;
}

int asw_gen_image_render(const struct asw_gen_image *im, float *pbcor,
                         float *pb, struct asw_err *err)
{
    int n = im->npix;
    double c = n / 2;
    double *noise = malloc(sizeof *noise * (size_t)n * (size_t)n);
    if (!noise || render_noise(im, noise)) {
        free(noise);
        return asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
    }

    /* A circular source of FWHM e seen through the beam is an elliptical
     * Gaussian with the beam's PA and axes widened in quadrature; its peak
     * in Jy/beam is the flux diluted by the area ratio. */
    double e = im->extent_arcsec;
    double maj = sqrt(im->bmaj_arcsec * im->bmaj_arcsec + e * e);
    double min = sqrt(im->bmin_arcsec * im->bmin_arcsec + e * e);
    double peak =
        im->flux_jy * (im->bmaj_arcsec * im->bmin_arcsec) / (maj * min);
    /* Apparent (PB-attenuated) amplitude; pbcor restores the true one. */
    double amp = peak * pb_at(im->x_pix, im->y_pix, c, im->cell_arcsec,
                              im->pb_fwhm_arcsec);
    struct gauss2d g = gauss_setup(maj, min, im->bpa_deg, im->cell_arcsec);

    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            size_t i = (size_t)y * n + x;
            double p = pb_at(x, y, c, im->cell_arcsec, im->pb_fwhm_arcsec);
            if (p < ASW_GEN_PBLIMIT) {
                pbcor[i] = NAN;
                pb[i] = NAN;
                continue;
            }
            double sky = amp * gauss_eval(&g, x - im->x_pix, y - im->y_pix);
            pbcor[i] = (float)((sky + noise[i]) / p);
            pb[i] = (float)p;
        }
    }
    free(noise);
    return 0;
}

void asw_gen_mjd_isot(double mjd, char *buf, size_t n)
{
    double secs = (mjd - 40587.0) * 86400.0;
    double whole = floor(secs);
    long usec = lround((secs - whole) * 1e6);
    if (usec >= 1000000) {
        whole += 1.0;
        usec -= 1000000;
    }
    time_t t = (time_t)whole;
    struct tm tm;
    gmtime_r(&t, &tm);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%06ld", date, usec);
}

/* Temporary name next to path, keeping the ".gz" that tells cfitsio to
 * compress. */
static void temp_name(char *buf, size_t n, const char *path)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    size_t len = strlen(path);
    int gz = len > 3 && !strcmp(path + len - 3, ".gz");
    snprintf(buf, n, "%.*s.asw-gen-%ld.fits%s", dirlen, path, (long)getpid(),
             gz ? ".gz" : "");
}

static void key_d(fitsfile *f, const char *key, double v, const char *cmt,
                  int *st)
{
    fits_write_key_dbl(f, key, v, 12, cmt, st);
}

static void key_s(fitsfile *f, const char *key, const char *v, const char *cmt,
                  int *st)
{
    fits_write_key_str(f, key, v, cmt, st);
}

static void write_header(fitsfile *f, const struct asw_gen_fits_meta *m,
                         int *st)
{
    double crpix = m->npix / 2 + 1; /* 1-based, as CASA for even sizes */
    char isot[40];

    key_d(f, "BSCALE", 1.0, "PHYSICAL = PIXEL*BSCALE + BZERO", st);
    key_d(f, "BZERO", 0.0, NULL, st);
    key_d(f, "BMAJ", m->bmaj_arcsec / 3600.0, NULL, st);
    key_d(f, "BMIN", m->bmin_arcsec / 3600.0, NULL, st);
    key_d(f, "BPA", m->bpa_deg, NULL, st);
    key_s(f, "BTYPE", "Intensity", NULL, st);
    key_s(f, "OBJECT", m->object, NULL, st);
    key_s(f, "BUNIT", m->bunit, "Brightness (pixel) unit", st);
    key_s(f, "RADESYS", "ICRS", NULL, st);
    key_d(f, "LONPOLE", 180.0, NULL, st);
    key_d(f, "LATPOLE", m->dec_deg, NULL, st);
    for (int j = 1; j <= 4; j++) {
        for (int i = 1; i <= 4; i++) {
            char key[16];
            snprintf(key, sizeof key, "PC%d_%d", i, j);
            key_d(f, key, i == j ? 1.0 : 0.0, NULL, st);
        }
    }
    key_s(f, "CTYPE1", "RA---SIN", NULL, st);
    key_d(f, "CRVAL1", m->ra_deg, NULL, st);
    key_d(f, "CDELT1", -m->cell_arcsec / 3600.0, NULL, st);
    key_d(f, "CRPIX1", crpix, NULL, st);
    key_s(f, "CUNIT1", "deg", NULL, st);
    key_s(f, "CTYPE2", "DEC--SIN", NULL, st);
    key_d(f, "CRVAL2", m->dec_deg, NULL, st);
    key_d(f, "CDELT2", m->cell_arcsec / 3600.0, NULL, st);
    key_d(f, "CRPIX2", crpix, NULL, st);
    key_s(f, "CUNIT2", "deg", NULL, st);
    key_s(f, "CTYPE3", "FREQ", NULL, st);
    key_d(f, "CRVAL3", m->freq_hz, NULL, st);
    key_d(f, "CDELT3", m->bw_hz, NULL, st);
    key_d(f, "CRPIX3", 1.0, NULL, st);
    key_s(f, "CUNIT3", "Hz", NULL, st);
    key_s(f, "CTYPE4", "STOKES", NULL, st);
    key_d(f, "CRVAL4", 1.0, NULL, st);
    key_d(f, "CDELT4", 1.0, NULL, st);
    key_d(f, "CRPIX4", 1.0, NULL, st);
    key_s(f, "CUNIT4", "", NULL, st);
    key_d(f, "PV2_1", 0.0, NULL, st);
    key_d(f, "PV2_2", 0.0, NULL, st);
    key_d(f, "RESTFRQ", m->freq_hz, "Rest Frequency (Hz)", st);
    key_s(f, "SPECSYS", "LSRK", "Spectral reference frame", st);
    key_d(f, "ALTRVAL", -0.0, "Alternate frequency reference value", st);
    key_d(f, "ALTRPIX", 1.0, "Alternate frequency reference pixel", st);
    int velref = 257;
    fits_write_key(f, TINT, "VELREF", &velref,
                   "1 LSR, 2 HEL, 3 OBS, +256 Radio", st);
    fits_write_comment(f,
                       "casacore non-standard usage: 4 LSD, 5 GEO, 6 SOU, "
                       "7 GAL",
                       st);
    key_s(f, "TELESCOP", "ALMA", NULL, st);
    key_s(f, "OBSERVER", m->observer, NULL, st);
    asw_gen_mjd_isot(m->mjd_obs, isot, sizeof isot);
    key_s(f, "DATE-OBS", isot, NULL, st);
    key_s(f, "TIMESYS", "UTC", NULL, st);
    key_d(f, "OBSRA", m->ra_deg, NULL, st);
    key_d(f, "OBSDEC", m->dec_deg, NULL, st);
    key_d(f, "OBSGEO-X", ALMA_X, NULL, st);
    key_d(f, "OBSGEO-Y", ALMA_Y, NULL, st);
    key_d(f, "OBSGEO-Z", ALMA_Z, NULL, st);
    asw_gen_mjd_isot(m->mjd_written, isot, sizeof isot);
    key_s(f, "DATE", isot, "Date FITS file was written", st);
    key_s(f, "ORIGIN", "CASA 6.5.4-9", NULL, st);
}

int asw_gen_fits_write(const char *path, const struct asw_gen_fits_meta *meta,
                       const float *data, struct asw_err *err)
{
    char tmp[4096], clobber[4200];
    fitsfile *f = NULL;
    int st = 0, rc = 0;
    long naxes[4] = {meta->npix, meta->npix, 1, 1};

    temp_name(tmp, sizeof tmp, path);
    snprintf(clobber, sizeof clobber, "!%s", tmp);
    fits_create_file(&f, clobber, &st);
    fits_create_img(f, FLOAT_IMG, 4, naxes, &st);
    /* cfitsio's two boilerplate COMMENT cards are not in CASA exports */
    if (!st) {
        int s2 = 0;
        fits_delete_key(f, "COMMENT", &s2);
        s2 = 0;
        fits_delete_key(f, "COMMENT", &s2);
    }
    write_header(f, meta, &st);
    fits_write_img(f, TFLOAT, 1, (LONGLONG)meta->npix * meta->npix,
                   (void *)data, &st);
    int cst = 0;
    if (f)
        fits_close_file(f, &cst);
    if (st || cst) {
        char msg[FLEN_STATUS];
        fits_get_errstatus(st ? st : cst, msg);
        remove(tmp);
        return asw_err_set(err, ASW_EFITS, "fits", "%s: %s", path, msg);
    }
    if (rename(tmp, path)) {
        remove(tmp);
        rc = asw_err_set(err, ASW_EIO, "gen", "rename to %s failed", path);
    }
    return rc;
}
