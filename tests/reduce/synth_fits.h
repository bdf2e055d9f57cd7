/*
 * synth_fits.h - write synthetic images and cubes as FITS files with the
 * header CASA's exportfits writes for ALMA pipeline products (4 axes: RA,
 * Dec, frequency, Stokes; SIN projection; BMAJ/BMIN/BPA or a BEAMS table).
 */
#ifndef ASW_TEST_SYNTH_FITS_H
#define ASW_TEST_SYNTH_FITS_H

#include "synth.h"

struct synth_fits_meta {
    const char *object;
    const char *bunit; /* "Jy/beam"; "" for a primary beam */
    double ra_deg, dec_deg;
    double cx, cy; /* 0-based reference pixel */
    double cell_arcsec;
    double freq_hz, dfreq_hz;                 /* first channel, channel width */
    double bmaj_arcsec, bmin_arcsec, bpa_deg; /* NAN: no beam keywords */
    int beams_table; /* write a BEAMS table instead of the keywords */
    double mjd;
    int nx, ny, nchan;
};

/*
 * Create path (replacing it) and write the header; planes are then added
 * in order with synth_fits_plane and the file finished with
 * synth_fits_close. A ".gz" suffix compresses. Returns NULL on error.
 */
struct synth_fits;
struct synth_fits *synth_fits_create(const char *path,
                                     const struct synth_fits_meta *m);
int synth_fits_plane(struct synth_fits *f, long chan, const float *plane);
int synth_fits_close(struct synth_fits *f);

#endif
