#!/usr/bin/env python3
"""Compare `almasweep reduce` JSON with reference.py JSON (and the truth):
peak and rms within 1e-6 relative, Gaussian flux within 0.5%, positions
within 1% of the beam, and every flux within 5 sigma of the truth."""
import json
import math
import os
import sys


def main():
    c = json.load(open(sys.argv[1]))
    r = json.load(open(sys.argv[2]))
    t = json.load(open(sys.argv[3]))
    truth = {i["file"]: i for i in t["images"]}
    ref = {os.path.basename(i["file"]): i for i in r["images"]}
    errs, worst = [], {"peak": 0, "rms": 0, "flux": 0, "pos": 0, "pull": 0}
    for row in c["images"]:
        name = os.path.basename(row["file"])
        rf, tr = ref[name], truth[name]
        if row["error"]:
            errs.append("%s: %s" % (name, row["error"]))
            continue
        d = {
            "peak": abs(row["peak_jy"] / rf["peak_jy"] - 1),
            "rms": abs(row["rms_jy"] / rf["rms_jy"] - 1),
            "flux": abs(row["flux_jy"] / rf["flux_jy"] - 1),
            "pos": math.hypot(
                (row["ra_deg"] - rf["ra_deg"]) * 3600 *
                math.cos(math.radians(rf["dec_deg"])),
                (row["dec_deg"] - rf["dec_deg"]) * 3600) / row["bmin_arcsec"],
            "pull": abs(row["flux_jy"] - tr["flux_jy"]) / row["flux_err_jy"],
        }
        lim = {"peak": 1e-6, "rms": 1e-6, "flux": 5e-3, "pos": 0.01,
               "pull": 5.0}
        for k, v in d.items():
            worst[k] = max(worst[k], v)
            if not v <= lim[k]:
                errs.append("%s: %s differs by %.3g (limit %g)" % (
                    name, k, v, lim[k]))
    print("reference agreement over %d images: max |peak ratio - 1| %.2e, "
          "|rms ratio - 1| %.2e, |flux ratio - 1| %.2e, position %.2e "
          "beam; max |flux - truth| %.2f sigma" % (
              len(c["images"]), worst["peak"], worst["rms"], worst["flux"],
              worst["pos"], worst["pull"]))
    for e in errs:
        print("FAIL:", e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
