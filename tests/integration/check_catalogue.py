#!/usr/bin/env python3
"""Check a sweep's catalogue against the synthetic archive's truth.

Every public, 12-m calibrator image of the truth must have exactly one
/images row, its peak within 5% of the true peak; every unit must be done.
--dump writes the rows (sorted, timing-free) for comparing two runs.
"""
import argparse
import json
import sys

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("catalogue")
    ap.add_argument("truth")
    ap.add_argument("--dump")
    ap.add_argument("--tolerance", type=float, default=0.05)
    ap.add_argument("--include-7m", action="store_true",
                    help="the sweep included 7-m array data")
    a = ap.parse_args()
    truth = json.load(open(a.truth))
    public = {m["mous_uid"] for m in truth["mous"]
              if m.get("data_rights", "Public") == "Public"
              and (a.include_7m or not m["array"].startswith("7"))}
    def calibrator(intent):
        return intent in ("bp", "ph", "ch", "amp") or intent.startswith("pol")

    expect = {i["file"]: i for i in truth["images"]
              if i["mous_uid"] in public and calibrator(i["intent"])}
    with h5py.File(a.catalogue, "r") as f:
        units = f["units"][:]
        images = f["images"][:]
    errors = []
    st = [u["status"].decode() for u in units]
    if any(s != "done" for s in st):
        errors.append("units not done: %s" % [
            (u["id"].decode(), u["status"].decode(), u["error"].decode())
            for u in units if u["status"].decode() != "done"])
    files = [r["file"].decode() for r in images]
    if len(files) != len(set(files)):
        errors.append("duplicate /images rows")
    missing = set(expect) - set(files)
    extra = set(files) - set(expect)
    if missing:
        errors.append("missing images: %s" % sorted(missing)[:5])
    if extra:
        errors.append("unexpected images: %s" % sorted(extra)[:5])
    worst = 0.0
    for r in images:
        t = expect.get(r["file"].decode())
        if t is None:
            continue
        rel = abs(r["peak_jy"] - t["peak_jy"]) / t["peak_jy"]
        worst = max(worst, rel)
        if not rel <= a.tolerance:
            errors.append("%s: peak %.5g vs truth %.5g (%.1f%%)" % (
                r["file"].decode(), r["peak_jy"], t["peak_jy"], 100 * rel))
        if r["source"].decode() != t["source"] or r["spw"] != t["spw"]:
            errors.append("%s: source/spw %s/%d vs %s/%d" % (
                r["file"].decode(), r["source"].decode(), r["spw"],
                t["source"], t["spw"]))
    print("catalogue: %d units, %d images (expected %d), worst peak error "
          "%.2f%%" % (len(units), len(images), len(expect), 100 * worst))
    if a.dump:
        keep = [n for n in images.dtype.names]
        rows = sorted(
            ({k: (v.decode() if isinstance(v, bytes) else
                  (None if isinstance(v, float) and np.isnan(v) else
                   v.item() if hasattr(v, "item") else v))
              for k, v in zip(keep, r)} for r in images),
            key=lambda d: d["file"])
        json.dump(rows, open(a.dump, "w"), indent=1, sort_keys=True)
    for e in errors:
        print("FAIL:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
