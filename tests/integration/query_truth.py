#!/usr/bin/env python3
"""What `almasweep query` must answer for a configuration, from the truth.

usage: query_truth.py TRUTH INI UNITS_JSON [--portal DIR] [--expect-empty]

Reads the [archive] selection of INI (the keys of docs/config.md) and
decides, from the generator's truth.json alone, which member OUSs match:
a MOUS matches when one of its calibrator rows (one per calibrator field
and spectral window, as in ivoa.obscore) meets every condition. It then
compares the units `almasweep query --format json` printed (UNITS_JSON):
  products mode: one unit per matching MOUS, holding exactly its
    calibrator images (.pbcor.fits and .pb.fits.gz) and its flux.csv;
  casa mode: one eb-raw unit per execution block of a matching MOUS.
With --portal, every file's size must be the size of the file the
simulator serves. Exit 0 when everything matches; prints the differences.
"""
import configparser
import fnmatch
import json
import math
import os
import sys

C_M_S = 299792458.0


def sanitize(uid):
    return uid.replace("uid://", "uid___").replace("/", "_")


def mjd_of(date, days_after=0):
    y, m, d = (int(x) for x in date.split("-"))
    # days from 1970-01-01, then MJD
    import datetime
    days = (datetime.date(y, m, d) - datetime.date(1970, 1, 1)).days
    return days + 40587 + days_after


def match_name(pattern, value):
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatchcase(value, pattern)
    return pattern == value


def split_list(v, commas_only=False):
    if commas_only:
        return [x.strip() for x in v.split(",") if x.strip()]
    return [x for x in v.replace(",", " ").split() if x]


def ang_dist(ra1, dec1, ra2, dec2):
    r = math.radians
    c = (math.sin(r(dec1)) * math.sin(r(dec2)) +
         math.cos(r(dec1)) * math.cos(r(dec2)) * math.cos(r(ra1 - ra2)))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def selection(ini):
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    cp.read(ini)
    a = cp["archive"] if cp.has_section("archive") else {}
    get = lambda k: (a.get(k) or "").strip()
    mode = (cp["pipeline"].get("mode", "products")
            if cp.has_section("pipeline") else "products")
    s = {
        "targets": split_list(get("targets"), True),
        "bands": split_list(get("bands")),
        "cycles": split_list(get("cycles")),
        "projects": split_list(get("projects"), True),
        "include_7m": get("include_7m").lower() in ("1", "true", "yes", "on"),
        "mode": mode.strip(),
    }
    creds = get("credentials")
    po = get("public_only").lower()
    s["public_only"] = (po in ("1", "true", "yes", "on") if po
                        else creds in ("", "none"))
    s["mjd_from"] = mjd_of(get("date_from")) if get("date_from") else None
    s["mjd_to"] = mjd_of(get("date_to"), 1) if get("date_to") else None
    s["cone"] = ([float(x) for x in split_list(get("cone"))]
                 if get("cone") else None)
    s["fmin"] = float(get("freq_min_ghz")) if get("freq_min_ghz") else None
    s["fmax"] = float(get("freq_max_ghz")) if get("freq_max_ghz") else None
    s["vmax"] = (float(get("velocity_resolution_max"))
                 if get("velocity_resolution_max") else None)
    return s


def row_matches(s, m, f, spw):
    """One obscore row: calibrator field f of MOUS m in spectral window
    spw."""
    if s["targets"] and not any(match_name(t, f["name"])
                                for t in s["targets"]):
        return False
    if s["bands"] and m["band"] not in s["bands"]:
        return False
    if s["cycles"] and not any(m["project"].startswith(c + ".")
                               for c in s["cycles"]):
        return False
    if s["projects"] and not any(match_name(p, m["project"])
                                 for p in s["projects"]):
        return False
    t_min = m["ebs"][0]["mjd_start"]
    if s["mjd_from"] is not None and not t_min >= s["mjd_from"]:
        return False
    if s["mjd_to"] is not None and not t_min < s["mjd_to"]:
        return False
    lo = (spw["freq_hz"] - spw["bw_hz"] / 2) / 1e9
    hi = (spw["freq_hz"] + spw["bw_hz"] / 2) / 1e9
    if s["fmax"] is not None and not lo <= s["fmax"]:
        return False
    if s["fmin"] is not None and not hi >= s["fmin"]:
        return False
    if s["vmax"] is not None:
        v = C_M_S * (spw["bw_hz"] / spw["nchan"]) / spw["freq_hz"]
        if not v <= s["vmax"]:
            return False
    if s["cone"]:
        ra, dec, r = s["cone"]
        # the field's footprint: a circle of half the primary-beam FoV
        fov = math.degrees(1.13 * (C_M_S / spw["freq_hz"]) / m["dish_m"])
        if ang_dist(ra, dec, f["ra_deg"], f["dec_deg"]) > r + fov / 2:
            return False
    if not s["include_7m"] and m["array"] != "12m":
        return False
    if s["public_only"] and m["data_rights"] != "Public":
        return False
    return True


def expected(truth, s):
    want = []
    for m in truth["mous"]:
        if any(row_matches(s, m, f, spw)
               for f in m["fields"] if f["intent"] != "sci"
               for spw in m["spw_setup"]):
            want.append(m)
    return want


def main():
    args = [x for x in sys.argv[1:] if not x.startswith("--")]
    opts = sys.argv[1:]
    portal = None
    if "--portal" in opts:
        portal = opts[opts.index("--portal") + 1]
        args.remove(portal)
    truth = json.load(open(args[0]))
    s = selection(args[1])
    units = json.load(open(args[2]))
    want = expected(truth, s)
    errors = []
    images = {}
    for i in truth["images"]:
        images.setdefault(i["mous_uid"], []).extend([i["file"], i["pb_file"]])
    if s["mode"] == "casa":
        exp = {}
        for m in want:
            for eb, tar in zip(m["ebs"], m["asdm_tars"]):
                exp[sanitize(eb["asdm_uid"])] = [tar]
        kind = "eb-raw"
    else:
        exp = {sanitize(m["mous_uid"]):
               sorted(images.get(m["mous_uid"], []) + [m["flux_csv"]])
               for m in want}
        kind = "mous-products"
    got = {u["id"]: sorted(f["name"] for f in u["files"]) for u in units}
    if sorted(got) != sorted(exp):
        errors.append("units %s, expected %s" % (sorted(got), sorted(exp)))
    for uid, files in exp.items():
        if uid in got and got[uid] != files:
            errors.append("%s: files %s, expected %s" % (
                uid, sorted(set(got[uid]) ^ set(files))[:6], len(files)))
    for u in units:
        if u["kind"] != kind:
            errors.append("%s: kind %s, expected %s" % (u["id"], u["kind"],
                                                         kind))
        total = 0
        for f in u["files"]:
            total += f["bytes"]
            if portal:
                size = os.path.getsize(os.path.join(portal, f["name"]))
                if f["bytes"] != size:
                    errors.append("%s: %d bytes, the file has %d" % (
                        f["name"], f["bytes"], size))
        if u["bytes_total"] != total:
            errors.append("%s: bytes_total %d, files sum to %d" % (
                u["id"], u["bytes_total"], total))
    if "--expect-empty" in opts and exp:
        errors.append("the case should select nothing but the truth "
                      "selects %s" % sorted(exp))
    if "--expect-empty" not in opts and not exp:
        errors.append("the case selects nothing: it tests too little")
    print("%d units (%s), expected %d" % (len(units), kind, len(exp)))
    for e in errors:
        print("FAIL:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
