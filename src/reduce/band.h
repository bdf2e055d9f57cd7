/*
 * band.h - ALMA receiver bands and their absolute flux-calibration
 * accuracy (ALMA Technical Handbook / Proposer's Guide: 5% in Bands 3-5,
 * 10% in 6-8, 20% in 9-10; docs/science.md).
 */
#ifndef ASW_REDUCE_BAND_H
#define ASW_REDUCE_BAND_H

/*
 * The band (1..10) whose receiver range holds freq_hz, or -1. The edges
 * are those of io/catalogue.c's asw_cat_band (B1 35-50, B2 67-84, B3
 * 84-116, B4 125-163, B5 163-211, B6 211-275, B7 275-373, B8 385-500, B9
 * 602-720, B10 787-950 GHz); a shared edge belongs to the lower band.
 */
int asw_band_of_freq(double freq_hz);

/*
 * Fractional absolute flux-calibration error of a band: 0.05 for B1-5
 * (B1 and B2 are not in the Handbook's table; they are given the low-band
 * value), 0.10 for B6-8, 0.20 for B9-10, NAN for an unknown band.
 */
double asw_band_cal_frac(int band);

#endif
