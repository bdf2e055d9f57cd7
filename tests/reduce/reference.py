#!/usr/bin/env python3
"""Independent reference for `almasweep reduce`, written with astropy and
scipy only (Debian python3-astropy, python3-scipy).

It implements the definitions of docs/science.md from the text, not from
the C code: the peak near the phase centre (search radius 5 beams) refined
by the least-squares quadratic in log(I) over the 3x3 pixels, the robust
noise 1.4826 x MAD (the 0.2 < PB < 0.3 annulus of the flat-noise image when
the pipeline's .pb.fits[.gz] is next to a .pbcor.fits; else the disc of 20
beams around the phase centre minus 5 beams around the source), the noise at
the source (flat noise / PB there), and an elliptical Gaussian least-squares
fit (scipy.optimize.least_squares, parametrised by the axes and position
angle) in a box of +-2 beams around the peak, on the flat-noise image when a
PB is known, PB-corrected at the fitted position.

For cubes (more than one channel) it does the cube reduction the same way:
the rows within 10 beams, the source on the mean of 16 channels, per
channel the peak pixel, the beam-weighted aperture and the noise of at most
2048 annulus pixels, the mean image measured as an image.

usage: reference.py FITS... [--json OUT]   (prints JSON: one object per file)
"""
import argparse
import json
import math
import os
import sys
import time

import warnings

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from scipy.optimize import least_squares

warnings.simplefilter("ignore", FITSFixedWarning)

FWHM = 2.0 * math.sqrt(2.0 * math.log(2.0))
F_SEARCH, F_EXCL, F_ANN, F_ANN_CUBE = 5.0, 5.0, 20.0, 10.0


def header_geometry(h):
    w = WCS(h).celestial
    cd = w.pixel_scale_matrix  # deg / pixel
    cell = math.sqrt(abs(np.linalg.det(cd))) * 3600.0
    bmaj, bmin, bpa = h.get("BMAJ"), h.get("BMIN"), h.get("BPA", 0.0)
    return w, cd * 3600.0, cell, bmaj * 3600.0, bmin * 3600.0, bpa


def plane_index(h):
    """Index tuple selecting (rows, cols) of the first Stokes plane; the
    spectral axis (numpy order) is returned separately."""
    naxis = h["NAXIS"]
    spec = None
    idx = []
    for ax in range(naxis, 2, -1):  # numpy order: NAXISn first
        ctype = h.get("CTYPE%d" % ax, "")
        if ctype.startswith(("FREQ", "VRAD", "VOPT", "VELO")):
            spec = len(idx)
            idx.append(slice(None))
        else:
            idx.append(0)
    return idx, spec


def median_f64(v):
    return float(np.median(v.astype(np.float64)))


def robust_sigma(v):
    v = v.astype(np.float64)
    med = np.median(v)
    # the C code stores |v - med| as float32 before the second median
    dev = np.abs(v - med).astype(np.float32).astype(np.float64)
    return 1.4826 * float(np.median(dev))


def refine(data, ix, iy):
    """Peak of the least-squares quadratic in log(I) over the 3x3 pixels."""
    ny, nx = data.shape
    pk = float(data[iy, ix])
    if ix < 1 or iy < 1 or ix >= nx - 1 or iy >= ny - 1:
        return pk, float(ix), float(iy)
    blk = data[iy - 1:iy + 2, ix - 1:ix + 2].astype(np.float64)
    if not np.all(blk > 0):
        return pk, float(ix), float(iy)
    yy, xx = np.mgrid[-1:2, -1:2]
    A = np.stack([np.ones(9), xx.ravel(), yy.ravel(), xx.ravel() ** 2,
                  (xx * yy).ravel(), yy.ravel() ** 2], axis=1)
    c, *_ = np.linalg.lstsq(A, np.log(blk).ravel(), rcond=None)
    H = np.array([[2 * c[3], c[4]], [c[4], 2 * c[5]]])
    if not (c[3] < 0 and np.linalg.det(H) > 0):
        return pk, float(ix), float(iy)
    ox, oy = np.linalg.solve(H, -c[1:3])
    if abs(ox) > 1 or abs(oy) > 1:
        return pk, float(ix), float(iy)
    lv = c[0] + c[1] * ox + c[2] * oy + c[3] * ox * ox + c[4] * ox * oy + \
        c[5] * oy * oy
    return float(math.exp(lv)), ix + ox, iy + oy


def beam_pixel_cov(J, bmaj, bmin, bpa):
    """Covariance (sigma^2, pixels) of the beam given J = pixel -> (east,
    north) arcsec."""
    t = math.radians(bpa)
    u = np.array([math.sin(t), math.cos(t)])
    v = np.array([math.cos(t), -math.sin(t)])
    S = (bmaj ** 2 * np.outer(u, u) + bmin ** 2 * np.outer(v, v)) / FWHM ** 2
    Ji = np.linalg.inv(J)
    return Ji @ S @ Ji.T


def gauss_model(p, x, y):
    A, x0, y0, sa, sb, th = p
    ct, st = math.cos(th), math.sin(th)
    dx, dy = x - x0, y - y0
    u = ct * dx + st * dy
    w = -st * dx + ct * dy
    return A * np.exp(-0.5 * (u * u / (sa * sa) + w * w / (sb * sb)))


def fit_gauss(data, bx, by, half, x0, y0, amp, cov):
    ny, nx = data.shape
    xa, xb = max(0, bx - half), min(nx - 1, bx + half)
    ya, yb = max(0, by - half), min(ny - 1, by + half)
    sub = data[ya:yb + 1, xa:xb + 1].astype(np.float64)
    yy, xx = np.mgrid[ya:yb + 1, xa:xb + 1]
    ok = np.isfinite(sub)
    x, y, z = xx[ok].astype(float), yy[ok].astype(float), sub[ok]
    ev, evec = np.linalg.eigh(cov)
    th = math.atan2(evec[1, 1], evec[0, 1])
    p0 = [amp, x0, y0, math.sqrt(ev[1]), math.sqrt(ev[0]), th]
    r = least_squares(lambda p: gauss_model(p, x, y) - z, p0, method="lm",
                      xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=20000)
    A, fx, fy, sa, sb, th = r.x
    return A, fx, fy, abs(sa), abs(sb), th


def reduce_plane(img, pb, pbcor, w, J, cell, bmaj, bmin, bpa, crpix,
                 ann_beams):
    ny, nx = img.shape
    b = bmaj / cell
    cx, cy = crpix[0] - 1.0, crpix[1] - 1.0
    yy, xx = np.mgrid[0:ny, 0:nx]
    r2 = (xx - cx) ** 2 + (yy - cy) ** 2
    finite = np.isfinite(img)
    search = (r2 <= (F_SEARCH * b) ** 2) & finite
    vals = np.where(search, img, -np.inf)
    k = int(np.argmax(vals))  # first maximum in raster order
    by, bx = divmod(k, nx)
    peak, px, py = refine(img, bx, by)
    flat = img * pb if (pb is not None and pbcor) else img
    s2 = (xx - bx) ** 2 + (yy - by) ** 2
    outside = s2 > (F_EXCL * b) ** 2
    sel = None
    if pb is not None:
        ann = (pb > 0.2) & (pb < 0.3) & outside & np.isfinite(flat)
        need = 20.0 * 1.1331 * b * (bmin / cell)
        if ann.sum() >= 100 and ann.sum() >= need:
            sel = ann
    if sel is None:
        enough = max(100.0, 10.0 * 1.1331 * b * (bmin / cell))
        for exb in (F_EXCL, 3.0, 2.0):
            sel = (r2 <= (ann_beams * b) ** 2) & \
                (s2 > (exb * b) ** 2) & np.isfinite(flat)
            if sel.sum() >= enough:
                break
    sflat = robust_sigma(flat[sel])
    pb_src = 1.0
    if pb is not None and pbcor and 0 < pb[by, bx] <= 1.5:
        pb_src = float(pb[by, bx])
    rms = sflat / pb_src
    out = {"peak_jy": peak, "rms_jy": rms, "peak_x_pix": px,
           "peak_y_pix": py, "snr": peak / rms}
    if peak / rms < 5:
        return out
    fdata = flat if (pb is not None and pbcor) else img
    cov = beam_pixel_cov(J, bmaj, bmin, bpa)
    half = max(3, math.ceil(2.0 * b))
    amp0 = peak * pb_src if fdata is flat and pb is not None and pbcor \
        else peak
    A, fx, fy, sa, sb, th = fit_gauss(fdata, bx, by, half, px, py, amp0, cov)
    # the fitted ellipse on the sky
    c = np.array([[math.cos(th), -math.sin(th)], [math.sin(th),
                                                   math.cos(th)]])
    Sp = c @ np.diag([sa * sa, sb * sb]) @ c.T
    Ss = J @ Sp @ J.T * FWHM ** 2
    ev = np.linalg.eigvalsh(Ss)
    maj, mn = math.sqrt(ev[1]), math.sqrt(ev[0])
    if maj > 1.5 * bmaj:
        half2 = min(256, math.ceil(2.0 * maj / cell))
        if half2 > half:
            A, fx, fy, sa, sb, th = fit_gauss(fdata, bx, by, half2, fx, fy,
                                              A, Sp)
            c = np.array([[math.cos(th), -math.sin(th)],
                          [math.sin(th), math.cos(th)]])
            Sp = c @ np.diag([sa * sa, sb * sb]) @ c.T
            ev = np.linalg.eigvalsh(J @ Sp @ J.T * FWHM ** 2)
            maj, mn = math.sqrt(ev[1]), math.sqrt(ev[0])
    if pb is not None and pbcor:
        from scipy.ndimage import map_coordinates
        A = A / float(map_coordinates(np.nan_to_num(pb), [[fy], [fx]],
                                      order=1)[0])
    flux = A * maj * mn / (bmaj * bmin)
    ra, dec = w.all_pix2world([[fx, fy]], 0)[0]
    out.update({"flux_jy": flux, "fit_maj_arcsec": maj,
                "fit_min_arcsec": mn, "x0": fx, "y0": fy,
                "ra_deg": float(ra), "dec_deg": float(dec)})
    return out


def find_pb(path):
    if not path.endswith(".pbcor.fits"):
        return None
    for suf in (".pb.fits.gz", ".pb.fits"):
        p = path[:-len(".pbcor.fits")] + suf
        if os.path.exists(p):
            return p
    return None


def reduce_cube(hdu, h, idx, spec, w, J, cell, bmaj, bmin, bpa, crpix):
    data = hdu.data
    nchan = data.shape[spec]
    ny, nx = data.shape[-2], data.shape[-1]
    b = bmaj / cell
    cx, cy = crpix[0] - 1.0, crpix[1] - 1.0
    r = F_ANN_CUBE * b + 1.0
    y0 = int(max(0, math.floor(cy - r)))
    y1 = int(min(ny - 1, math.ceil(cy + r)))

    def rows(c0, c1):
        sl = list(idx)
        sl[spec] = slice(c0, c1)
        return np.asarray(data[tuple(sl) + (slice(y0, y1 + 1),
                                            slice(None))], dtype=np.float32)

    ns = min(nchan, 16)
    chans = [int((k + 0.5) * nchan / ns) for k in range(ns)]
    samp = np.nanmean(np.stack([rows(c, c + 1)[0] for c in chans]), axis=0)
    yy, xx = np.mgrid[y0:y1 + 1, 0:nx]
    r2 = (xx - cx) ** 2 + (yy - cy) ** 2
    vals = np.where((r2 <= (F_SEARCH * b) ** 2) & np.isfinite(samp), samp,
                    -np.inf)
    k = int(np.argmax(vals))
    by, bx = divmod(k, nx)
    _, sx, sy = refine(samp, bx, by)
    ann = np.flatnonzero(((r2 <= (F_ANN_CUBE * b) ** 2) &
                          ((xx - bx) ** 2 + (yy - (by + y0)) ** 2 >
                           (F_EXCL * b) ** 2)).ravel())
    if len(ann) > 2048:
        ann = ann[::-(-len(ann) // 2048)]
    cov = beam_pixel_cov(J, bmaj, bmin, bpa)
    P = np.linalg.inv(cov)
    dx, dy = xx - sx, yy - (sy + y0)
    apm = (dx * dx + dy * dy <= b * b).ravel()
    wgt = np.exp(-0.5 * (P[0, 0] * dx * dx + 2 * P[0, 1] * dx * dy +
                         P[1, 1] * dy * dy)).ravel()[apm]
    flux = np.empty(nchan)
    apf = np.empty(nchan)
    noise = np.empty(nchan)
    acc = np.zeros((y1 - y0 + 1) * nx)
    cnt = np.zeros((y1 - y0 + 1) * nx)
    blk = 64
    for c0 in range(0, nchan, blk):
        c1 = min(nchan, c0 + blk)
        cube = rows(c0, c1).reshape(c1 - c0, -1)
        fin = np.isfinite(cube)
        acc += np.where(fin, cube, 0).sum(axis=0)
        cnt += fin.sum(axis=0)
        flux[c0:c1] = cube[:, by * nx + bx]
        a = cube[:, ann].astype(np.float64)
        med = np.median(a, axis=1)
        noise[c0:c1] = 1.4826 * np.median(np.abs(a - med[:, None]), axis=1)
        apv = cube[:, apm]
        apf[c0:c1] = (apv @ wgt) / (wgt @ wgt)
    mean = (acc / np.maximum(cnt, 1)).reshape(y1 - y0 + 1, nx)
    mean[cnt.reshape(mean.shape) == 0] = np.nan
    full = np.full((ny, nx), np.nan)
    full[y0:y1 + 1] = mean
    out = reduce_plane(full, None, False, w, J, cell, bmaj, bmin, bpa, crpix,
                       F_ANN_CUBE)
    out["n_chan"] = nchan
    out["flux_spectrum_mean"] = float(np.nanmean(flux))
    out["noise_median"] = float(np.nanmedian(noise))
    out["ap_mean"] = float(np.nanmean(apf))
    return out


def reduce_file(path):
    with fits.open(path, memmap=True) as hdul:
        hdu = hdul[0]
        h = hdu.header
        w, J, cell, bmaj, bmin, bpa = header_geometry(h)
        crpix = w.wcs.crpix
        idx, spec = plane_index(h)
        nchan = hdu.data.shape[spec] if spec is not None else 1
        if nchan > 1:
            out = reduce_cube(hdu, h, idx, spec, w, J, cell, bmaj, bmin,
                              bpa, crpix)
        else:
            sl = [0 if isinstance(i, slice) else i for i in idx]
            img = np.asarray(hdu.data[tuple(sl)], dtype=np.float32)
            pbp = find_pb(path)
            pb = None
            if pbp:
                with fits.open(pbp) as ph:
                    pd = ph[0].data
                    pb = np.asarray(pd.reshape(pd.shape[-2:]),
                                    dtype=np.float32)
                if pb.shape != img.shape:
                    pb = None
            out = reduce_plane(img, pb, pb is not None, w, J, cell, bmaj, bmin,
                               bpa, crpix, F_ANN)
    out["file"] = path
    return out


def main():
    t0 = time.perf_counter()
    ap = argparse.ArgumentParser()
    ap.add_argument("fits", nargs="+")
    ap.add_argument("--json")
    a = ap.parse_args()
    res = [reduce_file(p) for p in a.fits]
    doc = {"images": res, "seconds": time.perf_counter() - t0}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)
    else:
        json.dump(doc, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
