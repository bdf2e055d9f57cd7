/*
 * qa.h - the image QA of the catalogue: the flux error budget, the
 * threshold checks behind the qa_flags bits (enum asw_qa_flag), and a
 * pipeline-style score from 0 (bad) to 1 (good). Thresholds and scores
 * follow the ALMA pipeline's calibrator and check-source QA; the full
 * definitions are in docs/science.md.
 */
#ifndef ASW_REDUCE_QA_H
#define ASW_REDUCE_QA_H

#include "src/result.h"

/* Thresholds of the QA bits (docs/science.md). */
#define ASW_QA_MAX_OFFSET_BEAMS 0.3  /* offset / sqrt(bmaj bmin) */
#define ASW_QA_MIN_PEAK_FLUX    0.7  /* peak / integrated flux */
#define ASW_QA_MAX_RMS_RATIO    3.0  /* rms / DR-corrected theoretical */
#define ASW_QA_MIN_PIX_BEAM     3.0  /* pixels across the beam minor axis */
#define ASW_QA_MAX_NAN          0.5  /* blank fraction of the analysed disc */
#define ASW_QA_MIN_SNR          10.0 /* peak / rms */
#define ASW_QA_CAT_NSIGMA       3.0  /* flux vs catalogue, in sigma */

/*
 * The pipeline's erfScorer: (1 - floor) (erf(x s + o) + 1) / 2 + floor,
 * s = 6 / sqrt(2) / (good - bad), o = 3 / sqrt(2) (1 - 2 good / (good -
 * bad)). With good 1, bad 5, floor 0.34: 0.999, 0.956, 0.67, 0.38, 0.34 at
 * x = 1..5.
 */
double asw_qa_erf_score(double x, double good, double bad, double floor);

/*
 * The theoretical noise corrected for the dynamic-range limit of a bright
 * calibrator, after the pipeline's 12-m calibrator correction:
 * sigma_th x max(1, min(peak / (1000 sigma_th), 2 + peak / (3000
 * sigma_th))). NAN when sigma_th is unknown.
 */
double asw_qa_dr_sensitivity(double rms_theory_jy, double peak_jy);

/*
 * Complete a measured row: the calibration error of its band
 * (flux_cal_err_jy) and the combined error, the catalogue ratio, the
 * threshold QA bits (OFFSET, EXTENDED, HIGH_RMS, FEW_PIXELS, NAN,
 * LOW_SNR, CAT_MISMATCH) and qa_score. Needs freq_hz or band, and
 * cat_flux_jy and rms_theory_jy when known. A row with an error gets score
 * 0.
 */
void asw_qa_finish(struct asw_image *row);

#endif
