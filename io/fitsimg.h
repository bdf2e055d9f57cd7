/*
 * fitsimg.h - reading calibrator images and cubes (CASA exportfits or ALMA
 * pipeline FITS: 2-D, 3-D or 4-D with RA, Dec, frequency and Stokes axes in
 * any order after the first two) with cfitsio. The header is read and
 * checked once; pixels are then read as bands of rows of one channel at a
 * time, so a cube never has to fit in memory. Every header value is
 * checked: an absurd header is a per-image error or, for optional values,
 * "unknown".
 */
#ifndef ASW_FITSIMG_H
#define ASW_FITSIMG_H

#include "src/err.h"
#include "src/reduce/wcs.h"

#include <stddef.h>

/* Largest plane we agree to read: 32768 x 32768 pixels. */
#define ASW_FITS_MAX_PIXELS ((size_t)1 << 30)
/* Longest spectral axis, and most rows of a BEAMS table. */
#define ASW_FITS_MAX_CHANNELS 1000000L

/* An open image (opaque). */
struct asw_fits;

struct asw_fits_header {
    int naxis;
    long naxes[8];
    int bitpix;
    long nx, ny;     /* plane size */
    long nchan;      /* length of the spectral axis, 1 if none */
    long nstokes;    /* length of the Stokes axis, 1 if none */
    int freq_axis;   /* 1-based spectral axis, 0 if none */
    int stokes_axis; /* 1-based Stokes axis, 0 if none */
    struct asw_wcs wcs;
    double obsra_deg, obsdec_deg;              /* OBSRA/OBSDEC, NAN if absent */
    char spec_ctype[16];                       /* FREQ, VRAD, ... */
    double spec_crval, spec_cdelt, spec_crpix; /* SI units (Hz, m/s) */
    double restfrq_hz;                         /* RESTFRQ, NAN if absent */
    char specsys[16];                          /* SPECSYS, "" if absent */
    double freq_hz;      /* frequency of the middle of the axis, NAN */
    double bandwidth_hz; /* nchan x |channel width|, NAN */
    double bmaj_deg;     /* restoring beam, NAN if none or absurd */
    double bmin_deg;
    double bpa_deg;
    /* Per-channel beams of a CASA BEAMS table (first polarisation), nchan
     * values each in arcsec and degrees, owned; NULL without a table. */
    double *chan_bmaj_arcsec, *chan_bmin_arcsec, *chan_bpa_deg;
    double mjd;      /* DATE-OBS (or MJD-OBS) as MJD, NAN if absent */
    char object[72]; /* OBJECT */
    char bunit[32];  /* BUNIT */
    /* The pipeline's image keywords (imageheader.set_miscinfo), "" when
     * absent. */
    char kw_spw[32], kw_field[72], kw_intent[72], kw_specmode[24];
    char kw_type[32];
};

/*
 * Open the primary image of path (compressed .fits.gz files work too, but
 * cfitsio then holds them in memory) and read its header into *h. A plain
 * file shorter than its header says is reported here as truncated. On
 * success the caller closes *out with asw_fits_close and frees *h with
 * asw_fits_header_free. Returns 0 or ASW_EFITS / ASW_EINVAL / ASW_ETOOBIG
 * / ASW_ENOMEM with err naming the file and the problem.
 */
int asw_fits_open(const char *path, struct asw_fits **out,
                  struct asw_fits_header *h, struct asw_err *err);

/*
 * Read rows y0 .. y0 + nrows - 1 (0-based) of channel chan of the first
 * Stokes plane into buf (nx * nrows floats, row-major). Blank integer
 * pixels become NaN. Returns 0, ASW_EINVAL (out of range) or ASW_EFITS.
 */
int asw_fits_read_rows(struct asw_fits *f, long chan, long y0, long nrows,
                       float *buf, struct asw_err *err);

/*
 * Fill freq[0..nchan) with the frequency of each channel in Hz (FREQ axis,
 * or a radio velocity axis VRAD with RESTFRQ). Returns 0 or ASW_EINVAL
 * when the spectral axis is missing, unsupported or degenerate.
 */
int asw_fits_chan_freqs(const struct asw_fits_header *h, double *freq,
                        struct asw_err *err);

/* Close. Accepts NULL. */
void asw_fits_close(struct asw_fits *f);

/* Free the header's arrays. Accepts NULL. */
void asw_fits_header_free(struct asw_fits_header *h);

/*
 * Convert an ISO date-time "YYYY-MM-DD[Thh:mm:ss[.s]]" to MJD. Returns 0
 * or ASW_EINVAL.
 */
int asw_iso_to_mjd(const char *iso, double *mjd);

#endif
