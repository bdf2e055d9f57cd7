#!/usr/bin/python3
"""The best tau_peak accuracy a spectrum allows (docs/science.md).

Fits a Gaussian optical-depth line to noisy 256-channel spectra with
everything but the line known (continuum, noise, the channel response) and
the fit started at the truth: scipy least squares, generalised (whitened)
for Hanning-smoothed channels, in the small-tau limit. The same depth bins,
widths and depth definition as tests/reduce/accuracy.c (absorb): the
deepest channel of the observed noiseless spectrum over the channel noise
of the observed spectrum. What almasweep's estimator gives there is to be
compared with this, not with zero.

Usage: /usr/bin/python3 tests/reduce/tau_bound.py [N_PER_BIN] [SEED]
"""
import sys

import numpy as np
from scipy.linalg import cholesky, solve_triangular
from scipy.optimize import least_squares

FOUR_LN2 = 4 * np.log(2)
NCH = 256


def gauss(x, a, c, w):
    return a * np.exp(-FOUR_LN2 * ((x - c) / w) ** 2)


def hanning(v):
    out = v.copy()
    out[1:-1] = 0.25 * v[:-2] + 0.5 * v[1:-1] + 0.25 * v[2:]
    return out


def run(n, seed):
    rng = np.random.default_rng(seed)
    x = np.arange(NCH, dtype=float)
    for han in (0, 1):
        smooth = hanning if han else (lambda v: v)
        sig = np.sqrt(0.375) if han else 1.0
        for lo, hi in ((10, 15), (15, 25), (25, 60)):
            err = []
            for _ in range(n):
                depth = np.exp(rng.uniform(np.log(lo), np.log(hi)))
                w = rng.uniform(2, 8)
                c = rng.uniform(30, NCH - 30)
                shape = smooth(gauss(x, 1, c, w))
                amp = depth * sig / shape.max()
                y = amp * shape + smooth(rng.normal(size=NCH))
                win = np.arange(max(int(c - 2 * w) - 3, 0),
                                min(int(c + 2 * w) + 4, NCH))
                lag = np.abs(win[:, None] - win[None, :])
                if han:
                    rho = np.select([lag == 0, lag == 1, lag == 2],
                                    [1.0, 0.99 * 2 / 3, 0.99 / 6], 0.0)
                else:
                    rho = np.eye(len(win))
                chol = cholesky(rho * sig ** 2, lower=True)

                def resid(p):
                    m = smooth(gauss(x, *p))
                    return solve_triangular(chol, m[win] - y[win], lower=True)

                fit = least_squares(resid, [amp, c, w])
                err.append(fit.x[0] / amp - 1)
            e = np.array(err)
            print("%-7s %2d-%2d sigma: n=%d bias %+.2f%%, |err| median "
                  "%.2f%%, 90%% %.2f%%" %
                  ("Hanning" if han else "white", lo, hi, n, 100 * e.mean(),
                   100 * np.median(abs(e)), 100 * np.percentile(abs(e), 90)))


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 2)
