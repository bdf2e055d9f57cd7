#include "schema.h"

#include "result.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define S        ASW_COL_STR
#define I        ASW_COL_I32
#define L        ASW_COL_I64
#define F        ASW_COL_F64

#define IM(f, t, u, d) ASW_COL(struct asw_image, f, t, u, d)
static const struct asw_col image_cols[] = {
    IM(unit_id, S, "", "the unit (/units id)"),
    IM(file, S, "", "base name of the FITS image"),
    IM(source, S, "", "calibrator name"),
    IM(intent, S, "",
       "pipeline intent from the file name: bp, ph, ch, amp, "
       "pol*"),
    IM(spw, I, "", "spectral window, -1 if unknown"),
    IM(specmode, S, "", "imaging mode from the file name: mfs, cube, cont"),
    IM(band, I, "", "ALMA band from the frequency, -1 if unknown"),
    IM(pbcor, I, "", "1 if the image is primary-beam corrected"),
    IM(freq_hz, F, "Hz", "reference frequency of the spectral axis"),
    IM(bandwidth_hz, F, "Hz", "width of the spectral axis"),
    IM(mjd, F, "d", "observation date (DATE-OBS) as MJD"),
    IM(peak_jy, F, "Jy/beam", "peak brightness near the phase centre"),
    IM(peak_err_jy, F, "Jy/beam", "statistical error of peak_jy"),
    IM(rms_jy, F, "Jy/beam", "robust noise, 1.4826 x MAD in an annulus"),
    IM(rms_theory_jy, F, "Jy/beam", "theoretical noise when known"),
    IM(snr, F, "", "peak_jy / rms_jy"),
    IM(dynamic_range, F, "", "peak over the largest negative excursion"),
    IM(flux_jy, F, "Jy", "integrated flux of the 2-D Gaussian fit"),
    IM(flux_err_jy, F, "Jy", "statistical (fit) error of flux_jy"),
    IM(flux_cal_err_jy, F, "Jy",
       "absolute calibration error: 5% (B3-5), "
       "10% (B6-8), 20% (B9-10) of flux_jy"),
    IM(flux_tot_err_jy, F, "Jy",
       "flux_err_jy and flux_cal_err_jy in "
       "quadrature"),
    IM(peak_over_flux, F, "", "peak_jy / flux_jy (1 for a point source)"),
    IM(ra_deg, F, "deg", "fitted right ascension (ICRS)"),
    IM(dec_deg, F, "deg", "fitted declination (ICRS)"),
    IM(ra_err_arcsec, F, "arcsec", "error of ra_deg"),
    IM(dec_err_arcsec, F, "arcsec", "error of dec_deg"),
    IM(offset_arcsec, F, "arcsec",
       "fitted position offset from the phase "
       "centre"),
    IM(offset_beams, F, "", "offset_arcsec / sqrt(bmaj_arcsec bmin_arcsec)"),
    IM(fit_maj_arcsec, F, "arcsec", "fitted FWHM major axis"),
    IM(fit_min_arcsec, F, "arcsec", "fitted FWHM minor axis"),
    IM(fit_pa_deg, F, "deg", "fitted position angle"),
    IM(fit_maj_err_arcsec, F, "arcsec", "error of fit_maj_arcsec"),
    IM(fit_min_err_arcsec, F, "arcsec", "error of fit_min_arcsec"),
    IM(fit_pa_err_deg, F, "deg", "error of fit_pa_deg"),
    IM(dec_maj_arcsec, F, "arcsec",
       "deconvolved FWHM major axis (0 if "
       "unresolved)"),
    IM(dec_min_arcsec, F, "arcsec", "deconvolved FWHM minor axis"),
    IM(dec_pa_deg, F, "deg", "deconvolved position angle"),
    IM(bmaj_arcsec, F, "arcsec", "restoring beam FWHM major axis"),
    IM(bmin_arcsec, F, "arcsec", "restoring beam FWHM minor axis"),
    IM(bpa_deg, F, "deg", "restoring beam position angle"),
    IM(pix_per_beam, F, "", "pixels across the beam minor axis"),
    IM(nan_fraction, F, "", "fraction of blanked (NaN) pixels"),
    IM(peak_x_pix, F, "pix", "0-based x pixel of the peak"),
    IM(peak_y_pix, F, "pix", "0-based y pixel of the peak"),
    IM(cat_flux_jy, F, "Jy",
       "calibrator catalogue flux (flux.csv or the "
       "flux service), NaN if unknown"),
    IM(cat_flux_ratio, F, "", "flux_jy / cat_flux_jy"),
    IM(qa_flags, I, "", "QA bitmask (docs/catalogue.md)"),
    IM(qa_score, F, "", "QA score, 0 (bad) to 1 (good)"),
    IM(error, S, "", "why the image could not be measured, empty if it was"),
};

#define SD(f, t, u, d) ASW_COL(struct asw_sed, f, t, u, d)
static const struct asw_col sed_cols[] = {
    SD(unit_id, S, "", "the unit (/units id)"),
    SD(source, S, "", "calibrator name"),
    SD(band, I, "", "ALMA band of the spws, -1 if they span several"),
    SD(n_spw, I, "", "spectral windows in the fit"),
    SD(mjd, F, "d", "observation date as MJD"),
    SD(ref_freq_hz, F, "Hz", "reference frequency of the fit"),
    SD(flux_ref_jy, F, "Jy", "fitted flux at ref_freq_hz"),
    SD(flux_ref_err_jy, F, "Jy", "statistical error of flux_ref_jy"),
    SD(alpha, F, "", "spectral index, S proportional to nu^alpha"),
    SD(alpha_err, F, "", "statistical error of alpha"),
    SD(alpha_sys_err, F, "",
       "error of alpha with the ~0.8% inter-spw flux "
       "scatter added"),
    SD(chi2, F, "", "chi-square of the fit"),
    SD(dof, I, "", "degrees of freedom of the fit"),
    SD(lever_arm, F, "", "log10 of the ratio of the extreme frequencies"),
    SD(flags, I, "", "SED flag bits (docs/catalogue.md)"),
};

#define LN(f, t, u, d) ASW_COL(struct asw_line, f, t, u, d)
static const struct asw_col line_cols[] = {
    LN(unit_id, S, "", "the unit (/units id)"),
    LN(file, S, "", "the cube"),
    LN(source, S, "", "calibrator name"),
    LN(spw, I, "", "spectral window"),
    LN(species, S, "", "identified transition, empty if unknown"),
    LN(rest_freq_hz, F, "Hz", "rest frequency of the transition"),
    LN(freq_hz, F, "Hz", "observed centre frequency"),
    LN(v_lsrk_kms, F, "km/s", "LSRK radio velocity of the centre"),
    LN(fwhm_kms, F, "km/s",
       "fitted full width at half depth, before channel smoothing"),
    LN(chan_lo, I, "", "first channel of the feature"),
    LN(chan_hi, I, "", "last channel of the feature"),
    LN(tau_peak, F, "", "fitted peak optical depth, before channel smoothing"),
    LN(tau_peak_err, F, "", "error of tau_peak"),
    LN(saturated, I, "", "1 if tau_peak is a lower limit"),
    LN(tau_int_kms, F, "km/s", "integrated optical depth, int tau dv"),
    LN(tau_int_err_kms, F, "km/s", "error of tau_int_kms"),
    LN(depth_sigma, F, "", "peak depth in units of the channel noise"),
    LN(cont_jy, F, "Jy", "continuum level"),
};

const struct asw_schema asw_schema_images = {
    "images", "one row per measured image", image_cols, NELEM(image_cols),
    sizeof(struct asw_image)};
const struct asw_schema asw_schema_seds = {
    "seds", "one spectral-index fit per (unit, source)", sed_cols,
    NELEM(sed_cols), sizeof(struct asw_sed)};
const struct asw_schema asw_schema_lines = {
    "absorption", "one row per absorption feature", line_cols, NELEM(line_cols),
    sizeof(struct asw_line)};

void asw_row_init(const struct asw_schema *s, void *row)
{
    char *base = row;
    memset(row, 0, s->rowsize);
    for (size_t i = 0; i < s->ncols; i++) {
        const struct asw_col *c = &s->cols[i];
        if (c->type == ASW_COL_F64)
            *(double *)(base + c->offset) = NAN;
        else if (c->type == ASW_COL_I32)
            *(int32_t *)(base + c->offset) = -1;
        else if (c->type == ASW_COL_I64)
            *(int64_t *)(base + c->offset) = -1;
    }
}

json_t *asw_row_to_json(const struct asw_schema *s, const void *row)
{
    const char *base = row;
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (size_t i = 0; i < s->ncols; i++) {
        const struct asw_col *c = &s->cols[i];
        const char *p = base + c->offset;
        json_t *v;
        switch (c->type) {
        case ASW_COL_STR:
            v = json_stringn(p, strnlen(p, c->size));
            break;
        case ASW_COL_I32:
            v = json_integer(*(const int32_t *)p);
            break;
        case ASW_COL_I64:
            v = json_integer(*(const int64_t *)p);
            break;
        default: {
            double d = *(const double *)p;
            v = isfinite(d) ? json_real(d) : json_null();
        }
        }
        if (json_object_set_new(o, c->name, v)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

void asw_row_from_json(const struct asw_schema *s, json_t *o, void *row)
{
    char *base = row;
    asw_row_init(s, row);
    for (size_t i = 0; i < s->ncols; i++) {
        const struct asw_col *c = &s->cols[i];
        json_t *v = json_object_get(o, c->name);
        char *p = base + c->offset;
        switch (c->type) {
        case ASW_COL_STR:
            if (json_is_string(v))
                snprintf(p, c->size, "%s", json_string_value(v));
            break;
        case ASW_COL_I32:
            if (json_is_integer(v))
                *(int32_t *)p = (int32_t)json_integer_value(v);
            break;
        case ASW_COL_I64:
            if (json_is_integer(v))
                *(int64_t *)p = (int64_t)json_integer_value(v);
            break;
        default:
            if (json_is_number(v))
                *(double *)p = json_number_value(v);
        }
    }
}
