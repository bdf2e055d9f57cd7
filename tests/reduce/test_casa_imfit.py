#!/usr/bin/env python3
"""`almasweep reduce` against CASA imfit and imstat (label casa).

Synthetic pipeline images (tests/reduce/asw-reduce-synth set) are reduced
by almasweep and, with the real modular CASA, fitted by casatasks.imfit in
the same box (+-2 beams around the peak) and measured by casatasks.imstat
in the same noise region (a mask image of the annulus docs/science.md
defines). Agreement within --tolerance (1%): integrated flux, fitted peak,
fitted axes, robust rms (1.4826 x medabsdevmed; images without a primary
beam, whose noise region is that annulus); position within 1% of the beam.
CASA's own (Condon 1997) flux errors are printed next to ours.

Run with the CASA venv's python, HOME pointed into a fresh work directory
(casaconfig reads ~/.casa at import). Exit codes: 0 pass, 1 fail, 77 skip
(casatools not importable and ASW_REQUIRE_CASA is not 1).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--almasweep", required=True)
    ap.add_argument("--synth", required=True)
    ap.add_argument("--workroot", default=tempfile.gettempdir())
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--tolerance", type=float, default=0.01)
    ap.add_argument("--keep", action="store_true")
    a, _ = ap.parse_known_args()
    require = os.environ.get("ASW_REQUIRE_CASA") == "1"
    os.makedirs(a.workroot, exist_ok=True)
    work = tempfile.mkdtemp(prefix="casa-imfit-",
                            dir=os.path.abspath(a.workroot))
    home = os.path.join(work, "home")
    os.makedirs(home)
    os.environ["HOME"] = home
    os.chdir(work)
    ok = False
    try:
        ok = run(a, work, require)
    finally:
        os.chdir("/")
        if ok is not False and not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work directory kept: %s" % work)
    if ok is None:
        return SKIP
    return 0 if ok else 1


def run(a, work, require):
    try:
        import numpy as np
        import casatools
        from casatasks import imfit, imstat
    except ImportError as exc:
        msg = "cannot import modular CASA with %s: %s" % (sys.executable, exc)
        print(("FAIL: " if require else "SKIP: ") + msg)
        return False if require else None
    print("casatools %s" % casatools.version_string())
    setdir = os.path.join(work, "set")
    subprocess.run([a.synth, "set", setdir, "--n", str(a.n), "--seed", "21"],
                   check=True)
    files = sorted(f for f in os.listdir(setdir) if f.endswith(".pbcor.fits"))
    p = subprocess.run([a.almasweep, "reduce"] +
                       [os.path.join(setdir, f) for f in files],
                       capture_output=True, check=True)
    rows = {os.path.basename(r["file"]): r
            for r in json.loads(p.stdout)["images"]}
    ia = casatools.image()
    tol = a.tolerance
    fails, worst = [], {"flux": 0, "peak": 0, "axes": 0, "rms": 0, "pos": 0}
    err_ratio = []
    for f in files:
        path = os.path.join(setdir, f)
        r = rows[f]
        cell = r["bmin_arcsec"] / r["pix_per_beam"]
        b = r["bmaj_arcsec"] / cell
        bx, by = int(round(r["peak_x_pix"])), int(round(r["peak_y_pix"]))
        ia.open(path)
        shape = ia.shape()
        csys = ia.coordsys()
        crpix = csys.referencepixel()["numeric"]
        csys_rec = csys.torecord()
        ia.close()
        nx, ny = int(shape[0]), int(shape[1])
        h = max(3, math.ceil(2.0 * b))
        box = "%d,%d,%d,%d" % (max(0, bx - h), max(0, by - h),
                               min(nx - 1, bx + h), min(ny - 1, by + h))
        fit = imfit(imagename=path, box=box, rms=r["rms_jy"],
                    noisefwhm="%.6farcsec" % math.sqrt(
                        r["bmaj_arcsec"] * r["bmin_arcsec"]))
        c = fit["results"]["component0"]
        flux = c["flux"]["value"][0]
        flux_err = c["flux"]["error"][0]
        peak = c["peak"]["value"]
        sh = c["shape"]
        maj = sh["majoraxis"]["value"]
        mn = sh["minoraxis"]["value"]
        assert sh["majoraxis"]["unit"] == "arcsec"
        ra = math.degrees(sh["direction"]["m0"]["value"])
        dec = math.degrees(sh["direction"]["m1"]["value"])
        amp = r["flux_jy"] * r["bmaj_arcsec"] * r["bmin_arcsec"] / (
            r["fit_maj_arcsec"] * r["fit_min_arcsec"])
        d = {
            "flux": abs(r["flux_jy"] / flux - 1),
            "peak": abs(amp / peak - 1),
            "axes": max(abs(r["fit_maj_arcsec"] / maj - 1),
                        abs(r["fit_min_arcsec"] / mn - 1)),
            "pos": math.hypot(((r["ra_deg"] - ra + 180) % 360 - 180) *
                              math.cos(math.radians(dec)),
                              r["dec_deg"] - dec) * 3600 / r["bmin_arcsec"],
        }
        err_ratio.append(flux_err / r["flux_err_jy"])
        # imstat in the noise annulus, for images without a primary beam
        if not os.path.exists(path[:-len(".pbcor.fits")] + ".pb.fits.gz"):
            yy, xx = np.mgrid[0:ny, 0:nx]
            cx, cy = crpix[0], crpix[1]
            mask = ((xx - cx) ** 2 + (yy - cy) ** 2 <= (20 * b) ** 2) & \
                ((xx - bx) ** 2 + (yy - by) ** 2 > (5 * b) ** 2)
            mim = os.path.join(work, f + ".mask.im")
            arr = np.zeros(tuple(int(s) for s in shape), dtype=float)
            arr[:, :, 0, 0] = mask.T.astype(float)  # CASA is x-fastest
            ia.fromarray(outfile=mim, pixels=arr, csys=csys_rec,
                         overwrite=True)
            ia.close()
            st = imstat(imagename=path, mask='"%s" > 0.5' % mim)
            rms = 1.4826 * st["medabsdevmed"][0]
            d["rms"] = abs(r["rms_jy"] / rms - 1)
        lim = {"flux": tol, "peak": tol, "axes": tol, "rms": tol, "pos": 0.01}
        for k, v in d.items():
            worst[k] = max(worst[k], v)
            if not v <= lim[k]:
                fails.append("%s: %s differs by %.4f (limit %g)" % (
                    f, k, v, lim[k]))
    err_ratio.sort()
    print("CASA imfit/imstat agreement over %d images: max |ratio - 1| flux "
          "%.2e, peak %.2e, axes %.2e, rms %.2e; position %.2e beam" % (
              len(files), worst["flux"], worst["peak"], worst["axes"],
              worst["rms"], worst["pos"]))
    print("imfit (Condon 1997) flux error / ours (least-squares covariance):"
          " median %.3f, range %.3f-%.3f" % (
              err_ratio[len(err_ratio) // 2], err_ratio[0], err_ratio[-1]))
    for x in fails:
        print("FAIL:", x)
    return not fails


if __name__ == "__main__":
    sys.exit(main())
