#include "synth_fits.h"

#include <fitsio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct synth_fits {
    fitsfile *f;
    int nx, ny, nchan;
    int beams_table;
    double bmaj, bmin, bpa;
    int st;
};

static void isot(double mjd, char *buf, size_t n)
{
    time_t t = (time_t)((mjd - 40587.0) * 86400.0);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%S.000000", &tm);
}

struct synth_fits *synth_fits_create(const char *path,
                                     const struct synth_fits_meta *m)
{
    struct synth_fits *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    char name[4200];
    snprintf(name, sizeof name, "!%s", path);
    int st = 0;
    long naxes[4] = {m->nx, m->ny, m->nchan, 1};
    fits_create_file(&s->f, name, &st);
    fits_create_img(s->f, FLOAT_IMG, 4, naxes, &st);
    double one = 1.0, zero = 0.0;
    fits_write_key(s->f, TDOUBLE, "BSCALE", &one, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "BZERO", &zero, NULL, &st);
    int beam_kw = isfinite(m->bmaj_arcsec) && !m->beams_table;
    if (beam_kw) {
        double b1 = m->bmaj_arcsec / 3600, b2 = m->bmin_arcsec / 3600;
        fits_write_key(s->f, TDOUBLE, "BMAJ", &b1, NULL, &st);
        fits_write_key(s->f, TDOUBLE, "BMIN", &b2, NULL, &st);
        fits_write_key(s->f, TDOUBLE, "BPA", (void *)&m->bpa_deg, NULL, &st);
    }
    fits_write_key_str(s->f, "BTYPE", "Intensity", NULL, &st);
    fits_write_key_str(s->f, "OBJECT", m->object, NULL, &st);
    fits_write_key_str(s->f, "BUNIT", m->bunit, "Brightness (pixel) unit", &st);
    fits_write_key_str(s->f, "RADESYS", "ICRS", NULL, &st);
    double lonpole = 180.0;
    fits_write_key(s->f, TDOUBLE, "LONPOLE", &lonpole, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "LATPOLE", (void *)&m->dec_deg, NULL, &st);
    for (int j = 1; j <= 4; j++)
        for (int i = 1; i <= 4; i++) {
            char key[16];
            double v = i == j;
            snprintf(key, sizeof key, "PC%d_%d", i, j);
            fits_write_key(s->f, TDOUBLE, key, &v, NULL, &st);
        }
    double cd1 = -m->cell_arcsec / 3600, cd2 = m->cell_arcsec / 3600;
    double p1 = m->cx + 1, p2 = m->cy + 1, p3 = 1.0, s1 = 1.0;
    fits_write_key_str(s->f, "CTYPE1", "RA---SIN", NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CRVAL1", (void *)&m->ra_deg, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CDELT1", &cd1, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CRPIX1", &p1, NULL, &st);
    fits_write_key_str(s->f, "CUNIT1", "deg", NULL, &st);
    fits_write_key_str(s->f, "CTYPE2", "DEC--SIN", NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CRVAL2", (void *)&m->dec_deg, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CDELT2", &cd2, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CRPIX2", &p2, NULL, &st);
    fits_write_key_str(s->f, "CUNIT2", "deg", NULL, &st);
    fits_write_key_str(s->f, "CTYPE3", "FREQ", NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CRVAL3", (void *)&m->freq_hz, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CDELT3", (void *)&m->dfreq_hz, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CRPIX3", &p3, NULL, &st);
    fits_write_key_str(s->f, "CUNIT3", "Hz", NULL, &st);
    fits_write_key_str(s->f, "CTYPE4", "STOKES", NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CRVAL4", &s1, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CDELT4", &s1, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "CRPIX4", &s1, NULL, &st);
    fits_write_key_str(s->f, "CUNIT4", "", NULL, &st);
    fits_write_key(s->f, TDOUBLE, "RESTFRQ", (void *)&m->freq_hz, NULL, &st);
    fits_write_key_str(s->f, "SPECSYS", "LSRK", NULL, &st);
    fits_write_key_str(s->f, "TELESCOP", "ALMA", NULL, &st);
    char date[40];
    isot(m->mjd, date, sizeof date);
    fits_write_key_str(s->f, "DATE-OBS", date, NULL, &st);
    fits_write_key_str(s->f, "TIMESYS", "UTC", NULL, &st);
    fits_write_key(s->f, TDOUBLE, "OBSRA", (void *)&m->ra_deg, NULL, &st);
    fits_write_key(s->f, TDOUBLE, "OBSDEC", (void *)&m->dec_deg, NULL, &st);
    fits_write_key_str(s->f, "ORIGIN", "asw-reduce-synth", NULL, &st);
    s->nx = m->nx;
    s->ny = m->ny;
    s->nchan = m->nchan;
    s->beams_table = m->beams_table && isfinite(m->bmaj_arcsec);
    s->bmaj = m->bmaj_arcsec;
    s->bmin = m->bmin_arcsec;
    s->bpa = m->bpa_deg;
    s->st = st;
    if (st) {
        char msg[FLEN_STATUS];
        fits_get_errstatus(st, msg);
        fprintf(stderr, "synth_fits: %s: %s\n", path, msg);
        int s2 = 0;
        fits_close_file(s->f, &s2);
        free(s);
        return NULL;
    }
    return s;
}

int synth_fits_plane(struct synth_fits *s, long chan, const float *plane)
{
    long first[4] = {1, 1, chan + 1, 1};
    fits_write_pix(s->f, TFLOAT, first, (LONGLONG)s->nx * s->ny, (void *)plane,
                   &s->st);
    return s->st ? -1 : 0;
}

int synth_fits_close(struct synth_fits *s)
{
    if (s->beams_table && !s->st) {
        /* CASA's per-plane beams: BMAJ, BMIN (arcsec), BPA (deg), CHAN,
         * POL; every channel scaled as 1/frequency is not needed here. */
        char *ttype[] = {"BMAJ", "BMIN", "BPA", "CHAN", "POL"};
        char *tform[] = {"1E", "1E", "1E", "1J", "1J"};
        char *tunit[] = {"arcsec", "arcsec", "deg", "", ""};
        fits_create_tbl(s->f, BINARY_TBL, 0, 5, ttype, tform, tunit, "BEAMS",
                        &s->st);
        for (long c = 0; c < s->nchan; c++) {
            float bm = (float)s->bmaj, bn = (float)s->bmin, bp = (float)s->bpa;
            int ch = (int)c, pol = 0;
            fits_write_col(s->f, TFLOAT, 1, c + 1, 1, 1, &bm, &s->st);
            fits_write_col(s->f, TFLOAT, 2, c + 1, 1, 1, &bn, &s->st);
            fits_write_col(s->f, TFLOAT, 3, c + 1, 1, 1, &bp, &s->st);
            fits_write_col(s->f, TINT, 4, c + 1, 1, 1, &ch, &s->st);
            fits_write_col(s->f, TINT, 5, c + 1, 1, 1, &pol, &s->st);
        }
    }
    int st = s->st, s2 = 0;
    fits_close_file(s->f, &s2);
    free(s);
    return (st || s2) ? -1 : 0;
}
