#include "wcs.h"

#include "src/err.h"

#include <math.h>
#include <string.h>

#define D2R (M_PI / 180.0)
#define R2D (180.0 / M_PI)

void asw_wcs_set(struct asw_wcs *w, const char *ctype1, const double crval[2],
                 const double crpix[2], const double cdelt[2],
                 const double pc[2][2], const double cd[2][2], double lonpole)
{
    memset(w, 0, sizeof *w);
    size_t n = ctype1 ? strlen(ctype1) : 0;
    /* "RA---SIN": the projection code is the last three characters of the
     * eight; trailing blanks are already stripped by cfitsio. */
    const char *code = n >= 8 ? ctype1 + 5 : "";
    if (strncmp(code, "SIN", 3) == 0)
        w->proj = ASW_PROJ_SIN;
    else if (strncmp(code, "TAN", 3) == 0)
        w->proj = ASW_PROJ_TAN;
    else
        w->proj = ASW_PROJ_NONE;
    for (int i = 0; i < 2; i++) {
        w->crval[i] = crval[i];
        w->crpix[i] = crpix[i];
        for (int j = 0; j < 2; j++) {
            if (cd)
                w->cd[i][j] = cd[i][j];
            else
                w->cd[i][j] = cdelt[i] * (pc ? pc[i][j] : (i == j));
        }
    }
    /* Zenithal projections: LONPOLE defaults to 180 deg (the reference
     * point is the native pole, and delta_0 < theta_0 = 90 deg). */
    w->lonpole = isfinite(lonpole) ? lonpole : 180.0;
}

int asw_wcs_pix2world(const struct asw_wcs *w, double x, double y,
                      double *ra_deg, double *dec_deg)
{
    *ra_deg = *dec_deg = NAN;
    if (w->proj == ASW_PROJ_NONE)
        return ASW_EINVAL;
    double dx = x + 1.0 - w->crpix[0], dy = y + 1.0 - w->crpix[1];
    /* Intermediate world coordinates, converted to radians. */
    double X = (w->cd[0][0] * dx + w->cd[0][1] * dy) * D2R;
    double Y = (w->cd[1][0] * dx + w->cd[1][1] * dy) * D2R;
    double R = sqrt(X * X + Y * Y);
    double phi = (R == 0.0) ? 0.0 : atan2(X, -Y);
    double theta;
    if (w->proj == ASW_PROJ_SIN) {
        if (R > 1.0)
            return ASW_EINVAL;
        theta = acos(R);
    } else {
        theta = atan2(1.0, R);
    }
    double dp = w->crval[1] * D2R, ap = w->crval[0] * D2R;
    double dphi = phi - w->lonpole * D2R;
    double st = sin(theta), ct = cos(theta);
    double sd = st * sin(dp) + ct * cos(dp) * cos(dphi);
    if (sd > 1.0)
        sd = 1.0;
    if (sd < -1.0)
        sd = -1.0;
    double a =
        ap + atan2(-ct * sin(dphi), st * cos(dp) - ct * sin(dp) * cos(dphi));
    double ra = fmod(a * R2D, 360.0);
    if (ra < 0)
        ra += 360.0;
    *ra_deg = ra;
    *dec_deg = asin(sd) * R2D;
    return 0;
}

double asw_wcs_cell_arcsec(const struct asw_wcs *w)
{
    double det = w->cd[0][0] * w->cd[1][1] - w->cd[0][1] * w->cd[1][0];
    double c = sqrt(fabs(det)) * 3600.0;
    return (isfinite(c) && c > 0) ? c : NAN;
}

void asw_wcs_jacobian(const struct asw_wcs *w, double j[2][2])
{
    /* The first intermediate axis points to increasing RA (east). */
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++)
            j[i][k] = w->cd[i][k] * 3600.0;
}

double asw_sep_arcsec(double ra1_deg, double dec1_deg, double ra2_deg,
                      double dec2_deg)
{
    double d1 = dec1_deg * D2R, d2 = dec2_deg * D2R;
    double dl = (ra2_deg - ra1_deg) * D2R;
    double sdl = sin(dl), cdl = cos(dl);
    double num1 = cos(d2) * sdl;
    double num2 = cos(d1) * sin(d2) - sin(d1) * cos(d2) * cdl;
    double den = sin(d1) * sin(d2) + cos(d1) * cos(d2) * cdl;
    return atan2(hypot(num1, num2), den) * R2D * 3600.0;
}
