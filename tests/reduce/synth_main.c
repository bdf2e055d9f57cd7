/*
 * asw-reduce-synth - synthetic calibrator images and cubes as FITS files
 * with their truth, for the reference and CASA agreement tests and the
 * reduction benchmark.
 *
 *   asw-reduce-synth set DIR [--n N] [--seed S] [--npix P]
 *       N pipeline-named per-spw images (4 spws per source and member
 *       OUS), half with their .pb.fits.gz, one flux.csv per OUS, and
 *       DIR/truth.json.
 *   asw-reduce-synth image PATH [--npix P] [--seed S] [--snr X]
 *       one image (no primary beam), e.g. the 4096 x 4096 benchmark.
 *   asw-reduce-synth cube PATH [--nx N] [--ny N] [--nchan N] [--seed S]
 *                              [--line CHAN,FWHM,TAU]...
 *       a cube written channel by channel (memory stays flat).
 */
#include "synth.h"
#include "synth_fits.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *opt(int argc, char **argv, const char *name,
                       const char *dflt)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return argv[i + 1];
    return dflt;
}

static int write_image(const char *path, const struct synth_image *s,
                       const float *data, const char *object, const char *bunit,
                       double freq_hz)
{
    struct synth_fits_meta m = {
        .object = object,
        .bunit = bunit,
        .ra_deg = 187.2779154,
        .dec_deg = 2.0523883,
        .cx = s->cx,
        .cy = s->cy,
        .cell_arcsec = s->cell_arcsec,
        .freq_hz = freq_hz,
        .dfreq_hz = 1.875e9,
        .bmaj_arcsec = s->bmaj_arcsec,
        .bmin_arcsec = s->bmin_arcsec,
        .bpa_deg = s->bpa_deg,
        .mjd = 59000.25,
        .nx = s->nx,
        .ny = s->ny,
        .nchan = 1,
    };
    struct synth_fits *f = synth_fits_create(path, &m);
    if (!f || synth_fits_plane(f, 0, data) || synth_fits_close(f)) {
        fprintf(stderr, "cannot write %s\n", path);
        return -1;
    }
    return 0;
}

static int cmd_set(const char *dir, int argc, char **argv)
{
    int n = atoi(opt(argc, argv, "--n", "24"));
    unsigned long seed = strtoul(opt(argc, argv, "--seed", "5"), NULL, 10);
    int npix = atoi(opt(argc, argv, "--npix", "128"));
    if (n < 1 || n > 10000 || npix < 16 || npix > 4096)
        return 2;
    mkdir(dir, 0777);
    struct synth_rng *r = synth_rng_alloc(seed);
    float *img = malloc((size_t)npix * npix * sizeof *img);
    float *pb = malloc((size_t)npix * npix * sizeof *pb);
    json_t *imgs = json_array();
    static const double nu[4] = {90.5e9, 92.5e9, 102.5e9, 104.5e9};
    static const int spw[4] = {25, 27, 29, 31};
    struct synth_image s;
    double s0 = 1, alpha = 0, bmaj0 = 1, bmin0 = 1, bpa = 0, dx = 0, dy = 0;
    double snr = 100;
    int use_pb = 0;
    char mous[64] = "", src[32] = "", csv[8192] = "";
    for (int k = 0; k < n; k++) {
        int sp = k % 4;
        if (sp == 0) {
            snprintf(mous, sizeof mous, "uid___A001_X1_X%x", 0x100 + k / 4);
            snprintf(src, sizeof src, "J%02d%02d-%02d%02d", (k / 4) % 24,
                     (7 * k) % 60, (3 * k) % 60, (11 * k) % 60);
            s0 = synth_uniform(r, 0.2, 3.0);
            alpha = synth_uniform(r, -1.0, 0.2);
            bmin0 = synth_uniform(r, 0.5, 2.0);
            bmaj0 = bmin0 / synth_uniform(r, 0.6, 1.0);
            bpa = synth_uniform(r, -90, 90);
            dx = synth_uniform(r, -0.5, 0.5);
            dy = synth_uniform(r, -0.5, 0.5);
            snr = exp(synth_uniform(r, log(30.0), log(3000.0)));
            use_pb = (k / 4) % 2 == 0;
            snprintf(csv, sizeof csv,
                     "ms,field,spw,I,Q,U,V,spix,uvmin,uvmax,comment\n");
        }
        memset(&s, 0, sizeof s);
        double sc = nu[0] / nu[sp];
        s.nx = s.ny = npix;
        s.cell_arcsec = bmin0 * nu[0] / nu[3] / 5.0;
        s.bmaj_arcsec = bmaj0 * sc;
        s.bmin_arcsec = bmin0 * sc;
        s.bpa_deg = bpa;
        s.cx = s.cy = npix / 2;
        s.x_pix = s.cx + dx;
        s.y_pix = s.cy + dy;
        s.flux_jy = s0 * pow(nu[sp] / 97.5e9, alpha);
        s.rms_jy = s0 / snr;
        /* a primary beam 15 beams wide: the 0.2-0.3 annulus falls in the
         * corners of the image, as for compact-configuration calibrators */
        s.pb_fwhm_arcsec = use_pb ? 15.0 * s.bmaj_arcsec : 0.0;
        s.pblimit = 0.2;
        s.seed = synth_ulong(r);
        if (synth_image_render(&s, img, pb))
            return 1;
        char base[256], path[4096], pbpath[4096];
        snprintf(base, sizeof base, "member.%s.%s_bp.spw%d.mfs.I", mous, src,
                 spw[sp]);
        snprintf(path, sizeof path, "%s/%s.pbcor.fits", dir, base);
        snprintf(pbpath, sizeof pbpath, "%s/%s.pb.fits.gz", dir, base);
        if (write_image(path, &s, img, src, "Jy/beam", nu[sp]))
            return 1;
        if (use_pb && write_image(pbpath, &s, pb, src, "", nu[sp]))
            return 1;
        size_t cl = strlen(csv);
        snprintf(csv + cl, sizeof csv - cl,
                 "%s_X1.ms,0,%d,%.6f,0.0,0.0,0.0,%.3f,0.0,0.0,\"# field=%s "
                 "intents=BANDPASS origin=DB\"\n",
                 mous, spw[sp], s.flux_jy, alpha, src);
        if (sp == 3 || k == n - 1) {
            char cp[4096];
            snprintf(cp, sizeof cp, "%s/member.%s.flux.csv", dir, mous);
            FILE *f = fopen(cp, "w");
            if (!f)
                return 1;
            fputs(csv, f);
            fclose(f);
        }
        json_array_append_new(
            imgs,
            json_pack("{s:s, s:s, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, "
                      "s:f, s:f, s:f, s:b, s:f, s:f}",
                      "file", strrchr(path, '/') + 1, "source", src, "spw",
                      spw[sp], "freq_hz", nu[sp], "flux_jy", s.flux_jy,
                      "peak_jy", synth_image_peak(&s), "rms_jy", s.rms_jy,
                      "x_pix", s.x_pix, "y_pix", s.y_pix, "bmaj_arcsec",
                      s.bmaj_arcsec, "bmin_arcsec", s.bmin_arcsec, "bpa_deg",
                      s.bpa_deg, "cell_arcsec", s.cell_arcsec, "pb", use_pb,
                      "pb_fwhm_arcsec", s.pb_fwhm_arcsec, "alpha", alpha));
    }
    char tp[4096];
    snprintf(tp, sizeof tp, "%s/truth.json", dir);
    json_t *t = json_pack("{s:o}", "images", imgs);
    int rc = json_dump_file(t, tp, JSON_INDENT(1)) ? 1 : 0;
    json_decref(t);
    free(img);
    free(pb);
    synth_rng_free(r);
    return rc;
}

static int cmd_image(const char *path, int argc, char **argv)
{
    int npix = atoi(opt(argc, argv, "--npix", "4096"));
    unsigned long seed = strtoul(opt(argc, argv, "--seed", "9"), NULL, 10);
    double snr = atof(opt(argc, argv, "--snr", "500"));
    if (npix < 16 || npix > 16384)
        return 2;
    struct synth_image s = {0};
    s.nx = s.ny = npix;
    s.bmin_arcsec = 0.3;
    s.bmaj_arcsec = 0.36;
    s.bpa_deg = 35;
    s.cell_arcsec = 0.06;
    s.cx = s.cy = npix / 2;
    s.x_pix = s.cx + 0.3;
    s.y_pix = s.cy - 0.2;
    s.flux_jy = 1.2;
    s.rms_jy = 1.2 / snr;
    s.seed = seed;
    float *img = malloc((size_t)npix * npix * sizeof *img);
    if (!img || synth_image_render(&s, img, NULL))
        return 1;
    int rc = write_image(path, &s, img, "J1924-2914", "Jy/beam", 97.5e9);
    free(img);
    return rc ? 1 : 0;
}

static int cmd_cube(const char *path, int argc, char **argv)
{
    struct synth_cube s = {0};
    s.nx = atoi(opt(argc, argv, "--nx", "64"));
    s.ny = atoi(opt(argc, argv, "--ny", "64"));
    s.nchan = atoi(opt(argc, argv, "--nchan", "256"));
    s.seed = strtoul(opt(argc, argv, "--seed", "3"), NULL, 10);
    if (s.nx < 16 || s.ny < 16 || s.nchan < 1 || s.nchan > 100000)
        return 2;
    s.cell_arcsec = 0.2;
    s.bmin_arcsec = 1.0;
    s.bmaj_arcsec = 1.2;
    s.cx = s.nx / 2;
    s.cy = s.ny / 2;
    s.x_pix = s.cx + 0.2;
    s.y_pix = s.cy - 0.3;
    s.cont_jy = 1.5;
    s.spix = -0.7;
    s.freq0_hz = 89.18e9;
    s.dfreq_hz = 61.035e3;
    s.rms_jy = 1.5 / 200.0;
    for (int i = 0; i + 1 < argc && s.nlines < SYNTH_MAX_LINES; i++)
        if (!strcmp(argv[i], "--line")) {
            struct synth_line *L = &s.lines[s.nlines];
            if (sscanf(argv[i + 1], "%lf,%lf,%lf", &L->centre_ch, &L->fwhm_ch,
                       &L->tau0) == 3)
                s.nlines++;
        }
    struct synth_fits_meta m = {
        .object = "J1851+0035",
        .bunit = "Jy/beam",
        .ra_deg = 282.8,
        .dec_deg = 0.59,
        .cx = s.cx,
        .cy = s.cy,
        .cell_arcsec = s.cell_arcsec,
        .freq_hz = s.freq0_hz,
        .dfreq_hz = s.dfreq_hz,
        .bmaj_arcsec = s.bmaj_arcsec,
        .bmin_arcsec = s.bmin_arcsec,
        .bpa_deg = 0,
        .beams_table = opt(argc, argv, "--beams-table", NULL) != NULL,
        .mjd = 59500.5,
        .nx = s.nx,
        .ny = s.ny,
        .nchan = s.nchan,
    };
    struct synth_fits *f = synth_fits_create(path, &m);
    struct synth_ws *w = synth_ws_alloc(s.nx, s.ny);
    float *plane = malloc((size_t)s.nx * s.ny * sizeof *plane);
    if (!f || !w || !plane)
        return 1;
    for (long k = 0; k < s.nchan; k++)
        if (synth_cube_plane(&s, k, plane, w) || synth_fits_plane(f, k, plane))
            return 1;
    synth_ws_free(w);
    free(plane);
    return synth_fits_close(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: asw-reduce-synth set DIR | image PATH | cube "
                        "PATH [options]\n");
        return 2;
    }
    if (!strcmp(argv[1], "set"))
        return cmd_set(argv[2], argc, argv);
    if (!strcmp(argv[1], "image"))
        return cmd_image(argv[2], argc, argv);
    if (!strcmp(argv[1], "cube"))
        return cmd_cube(argv[2], argc, argv);
    return 2;
}
