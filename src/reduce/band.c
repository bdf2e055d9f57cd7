#include "band.h"

#include <math.h>
#include <stddef.h>

int asw_band_of_freq(double freq_hz)
{
    static const double ghz[][2] = {
        {35, 50},   {67, 84},   {84, 116},  {125, 163}, {163, 211},
        {211, 275}, {275, 373}, {385, 500}, {602, 720}, {787, 950},
    };
    if (!isfinite(freq_hz))
        return -1;
    double f = freq_hz / 1e9;
    for (size_t i = 0; i < sizeof ghz / sizeof ghz[0]; i++)
        if (f >= ghz[i][0] && f <= ghz[i][1])
            return (int)i + 1;
    return -1;
}

double asw_band_cal_frac(int band)
{
    if (band >= 1 && band <= 5)
        return 0.05;
    if (band >= 6 && band <= 8)
        return 0.10;
    if (band >= 9 && band <= 10)
        return 0.20;
    return NAN;
}
