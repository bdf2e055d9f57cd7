/*
 * synth.h - synthetic calibrator images and cubes with known truth for the
 * reduction's accuracy tests, reference comparisons and benchmarks.
 *
 * Noise is that of a synthesis image: white Gaussian noise convolved with
 * a Gaussian whose axes are the restoring beam's over sqrt(2), scaled so
 * that its standard deviation is rms_jy in expectation (not renormalised
 * per realisation); its autocorrelation is then the restoring beam. The
 * source is an elliptical Gaussian (the beam, widened in quadrature by a
 * circular intrinsic size) evaluated at pixel centres. PB: a Gaussian of
 * the given FWHM centred on the phase centre; the written image is
 * (sky x PB + noise) / PB, blank (NaN) where PB < pblimit.
 */
#ifndef ASW_TEST_SYNTH_H
#define ASW_TEST_SYNTH_H

#include <stddef.h>

struct synth_image {
    int nx, ny;
    double cell_arcsec;
    double bmaj_arcsec, bmin_arcsec, bpa_deg;
    double flux_jy;       /* integrated flux (= peak for a point source) */
    double extent_arcsec; /* intrinsic circular FWHM, 0 = point source */
    double x_pix, y_pix;  /* true 0-based position */
    double cx, cy;        /* 0-based phase centre (CRPIX - 1) */
    double rms_jy;        /* noise before PB correction */
    double pb_fwhm_arcsec;
    double pblimit;
    unsigned long seed;
};

/*
 * Render s into img (nx*ny floats) and, when pb is non-NULL and
 * pb_fwhm_arcsec > 0, the primary beam into pb. Returns 0 or -1 (out of
 * memory).
 */
int synth_image_render(const struct synth_image *s, float *img, float *pb);

/* The true peak brightness (Jy/beam) of s's source. */
double synth_image_peak(const struct synth_image *s);

#define SYNTH_MAX_LINES 4

struct synth_line {
    double tau0;      /* peak optical depth */
    double centre_ch; /* fractional channel */
    double fwhm_ch;   /* FWHM in channels */
};

struct synth_cube {
    int nx, ny, nchan;
    double cell_arcsec;
    double bmaj_arcsec, bmin_arcsec; /* bpa is 0: separable noise kernel */
    double x_pix, y_pix, cx, cy;
    double cont_jy; /* continuum flux at channel 0 */
    double spix;    /* across the band */
    double freq0_hz, dfreq_hz;
    double rms_jy; /* per-channel noise */
    int nlines;
    struct synth_line lines[SYNTH_MAX_LINES];
    int hanning; /* smooth along frequency with (1/4, 1/2, 1/4), as
                    ALMA's online Hanning smoothing correlates channels */
    unsigned long seed;
};

/* Render the whole cube (nx*ny*nchan floats, channel slowest). Returns 0
 * or -1. */
int synth_cube_render(const struct synth_cube *s, float *cube);

/* Render channel k of s into plane (nx*ny floats); the noise of channel k
 * depends only on (seed, k). ws is a workspace from synth_ws_alloc. */
struct synth_ws;
struct synth_ws *synth_ws_alloc(int nx, int ny);
void synth_ws_free(struct synth_ws *w);
int synth_cube_plane(const struct synth_cube *s, long k, float *plane,
                     struct synth_ws *w);

/* The true continuum (no absorption) and spectrum at channel k. */
double synth_cube_cont(const struct synth_cube *s, long k);
double synth_cube_tau(const struct synth_cube *s, double k);

/* Small deterministic RNG helpers (GSL mt19937). */
struct synth_rng;
struct synth_rng *synth_rng_alloc(unsigned long seed);
void synth_rng_free(struct synth_rng *r);
double synth_uniform(struct synth_rng *r, double lo, double hi);
double synth_gauss(struct synth_rng *r);
unsigned long synth_ulong(struct synth_rng *r);

#endif
