#include "qa.h"

#include "band.h"

#include <math.h>

double asw_qa_erf_score(double x, double good, double bad, double floor)
{
    double s = 6.0 / M_SQRT2 / (good - bad);
    double o = 3.0 / M_SQRT2 * (1.0 - 2.0 * good / (good - bad));
    return (1.0 - floor) * (erf(x * s + o) + 1.0) / 2.0 + floor;
}

double asw_qa_dr_sensitivity(double rms_theory_jy, double peak_jy)
{
    if (!(rms_theory_jy > 0))
        return NAN;
    double ndr = 1.0;
    if (peak_jy > 0) {
        double r = peak_jy / rms_theory_jy;
        ndr = fmax(1.0, fmin(r / 1000.0, 2.0 + r / 3000.0));
    }
    return rms_theory_jy * ndr;
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

void asw_qa_finish(struct asw_image *row)
{
    if (row->band < 1)
        row->band = asw_band_of_freq(row->freq_hz);
    double fcal = asw_band_cal_frac(row->band);
    double S = row->flux_jy;
    if (isfinite(S) && isfinite(fcal)) {
        row->flux_cal_err_jy = fcal * fabs(S);
        row->flux_tot_err_jy = hypot(row->flux_err_jy, row->flux_cal_err_jy);
    }
    if (isfinite(S) && row->cat_flux_jy > 0)
        row->cat_flux_ratio = S / row->cat_flux_jy;

    int f = row->qa_flags;
    double score = 1.0;
    if (row->error[0]) {
        row->qa_score = 0.0;
        return;
    }
    if (f & ASW_QA_NOT_FOUND) {
        row->qa_score = 0.0;
        return;
    }
    /* Pipeline check-source scores: offset and peak/flux. */
    if (isfinite(row->offset_beams)) {
        if (row->offset_beams > ASW_QA_MAX_OFFSET_BEAMS)
            f |= ASW_QA_OFFSET;
        score = min2(score, fmax(0.33, 1.0 - fmin(1.0, row->offset_beams)));
    }
    if (isfinite(row->peak_over_flux)) {
        if (row->peak_over_flux < ASW_QA_MIN_PEAK_FLUX)
            f |= ASW_QA_EXTENDED;
        score = min2(score, fmax(0.33, 1.0 - fabs(1.0 - row->peak_over_flux)));
    }
    /* Image rms against the DR-corrected theoretical noise. */
    double sens = asw_qa_dr_sensitivity(row->rms_theory_jy, row->peak_jy);
    if (isfinite(sens) && row->rms_jy > 0) {
        double x = row->rms_jy / sens;
        if (x > ASW_QA_MAX_RMS_RATIO)
            f |= ASW_QA_HIGH_RMS;
        score = min2(score, asw_qa_erf_score(x, 1.0, 5.0, 0.34));
    }
    if (row->pix_per_beam < ASW_QA_MIN_PIX_BEAM)
        f |= ASW_QA_FEW_PIXELS;
    if (row->nan_fraction > ASW_QA_MAX_NAN)
        f |= ASW_QA_NAN;
    if (row->snr < ASW_QA_MIN_SNR)
        f |= ASW_QA_LOW_SNR;
    if (isfinite(row->cat_flux_ratio)) {
        double rel = hypot(row->flux_err_jy / S, isfinite(fcal) ? fcal : 0.0);
        if (fabs(row->cat_flux_ratio - 1.0) > ASW_QA_CAT_NSIGMA * rel)
            f |= ASW_QA_CAT_MISMATCH;
    }
    /* Warnings (the pipeline's "suboptimal" 0.66) and failures (0.34). */
    if (f & (ASW_QA_FEW_PIXELS | ASW_QA_NAN | ASW_QA_LOW_SNR |
             ASW_QA_CAT_MISMATCH | ASW_QA_UNITS))
        score = min2(score, 0.66);
    if (f & (ASW_QA_FIT_FAILED | ASW_QA_NO_BEAM))
        score = min2(score, 0.34);
    row->qa_flags = f;
    row->qa_score = score;
}
