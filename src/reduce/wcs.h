/*
 * wcs.h - the celestial part of a FITS image's world coordinate system
 * (Calabretta & Greisen 2002): pixel -> (RA, Dec) for the zenithal SIN and
 * TAN projections that CASA and the ALMA pipeline write, and angular
 * separations. Pure arithmetic, no I/O: io/fitsimg.c fills the struct.
 */
#ifndef ASW_REDUCE_WCS_H
#define ASW_REDUCE_WCS_H

enum asw_proj {
    ASW_PROJ_NONE = 0, /* no celestial axes we understand */
    ASW_PROJ_SIN = 1,
    ASW_PROJ_TAN = 2,
};

struct asw_wcs {
    int proj;        /* enum asw_proj */
    double crval[2]; /* RA, Dec of the reference pixel, deg */
    double crpix[2]; /* 1-based reference pixel */
    double cd[2][2]; /* deg per pixel: (x, y)_world = cd (p - crpix) */
    double lonpole;  /* native longitude of the celestial pole, deg */
};

/*
 * Set w from the usual keywords: cdelt (CDELTi), pc (PCi_j, identity when
 * NULL) or, when cd is non-NULL, the CDi_j matrix instead of both. The
 * projection code is taken from the CTYPE1 suffix ("RA---SIN").
 */
void asw_wcs_set(struct asw_wcs *w, const char *ctype1, const double crval[2],
                 const double crpix[2], const double cdelt[2],
                 const double pc[2][2], const double cd[2][2], double lonpole);

/*
 * World coordinates of the 0-based pixel (x, y). Returns 0, or ASW_EINVAL
 * when the projection is unknown or the point is outside it (ra and dec
 * are then NAN).
 */
int asw_wcs_pix2world(const struct asw_wcs *w, double x, double y,
                      double *ra_deg, double *dec_deg);

/* Geometric-mean pixel size, sqrt |det cd| in arcsec (NAN if degenerate). */
double asw_wcs_cell_arcsec(const struct asw_wcs *w);

/*
 * The local linear map from pixel offsets to sky offsets (east, north) in
 * arcsec at the reference pixel: j[0] = east per (dx, dy), j[1] = north.
 * East is the direction of increasing RA.
 */
void asw_wcs_jacobian(const struct asw_wcs *w, double j[2][2]);

/* Angular separation of two directions in arcsec (Vincenty, exact at all
 * separations). */
double asw_sep_arcsec(double ra1_deg, double dec1_deg, double ra2_deg,
                      double dec2_deg);

#endif
