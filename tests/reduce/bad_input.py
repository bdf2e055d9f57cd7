#!/usr/bin/env python3
"""Feed `almasweep reduce` broken FITS files (standard library only).

Hand-made cases (truncations, garbage, empty, absurd header values, wrong
units, missing beam, all-blank data) must each give exit code 6 and one
image row whose `error` says why; 300 random mutations of a good image and
a good cube (bytes flipped in the header or data, random truncation) must
give exit 0 or 6 with valid JSON. No run may die on a signal, time out, or
print a sanitizer report.
"""
import glob
import json
import os
import random
import subprocess
import sys

almasweep, work = sys.argv[1], sys.argv[2]
good = sorted(glob.glob(os.path.join(work, "good", "*.pbcor.fits")))[0]
cube = os.path.join(work, "good", "cube.fits")
failures = []


def run(path, expect=None, label=""):
    try:
        p = subprocess.run([almasweep, "reduce", path], capture_output=True,
                           timeout=60)
    except subprocess.TimeoutExpired:
        failures.append("%s: timed out" % label)
        return None
    err = p.stderr.decode(errors="replace")
    if p.returncode < 0 or p.returncode >= 128 or "Sanitizer" in err or \
            "runtime error" in err:
        failures.append("%s: exit %d %s" % (label, p.returncode, err[-300:]))
        return None
    if p.returncode not in (0, 6):
        failures.append("%s: exit %d" % (label, p.returncode))
        return None
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        failures.append("%s: output is not JSON" % label)
        return None
    if len(doc.get("images", [])) != 1:
        failures.append("%s: %d image rows" % (label, len(doc["images"])))
        return None
    row = doc["images"][0]
    if p.returncode == 6 and not row.get("error"):
        failures.append("%s: exit 6 without an error in the row" % label)
    if p.returncode == 0 and row.get("error"):
        failures.append("%s: exit 0 with error %s" % (label, row["error"]))
    if expect is not None and p.returncode != expect:
        failures.append("%s: exit %d, expected %d (%s)" % (
            label, p.returncode, expect, row.get("error")))
    return row


def card(data, key, text):
    """Replace the header card that starts with key."""
    for off in range(0, min(len(data), 2880 * 8), 80):
        if data[off:off + 8].decode("ascii", "replace").rstrip() == key:
            data[off:off + 80] = text.ljust(80).encode()[:80]
            return data
    raise KeyError(key)


def write(name, data):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(bytes(data))
    return path


raw = bytearray(open(good, "rb").read())
craw = bytearray(open(cube, "rb").read())
cases = {
    "truncated-header.fits": raw[:1000],
    "truncated-data.fits": raw[:2880 * 2 + 4000],
    "truncated-cube.fits": craw[:len(craw) // 2],
    "empty.fits": bytearray(),
    "garbage.fits": bytearray(random.Random(1).randbytes(20000)),
    "jy-pixel.fits": card(bytearray(raw), "BUNIT",
                          "BUNIT   = 'Jy/pixel'"),
    "kelvin.fits": card(bytearray(raw), "BUNIT", "BUNIT   = 'K'"),
    "no-beam.fits": card(card(bytearray(raw), "BMAJ", "COMMENT x"), "BMIN",
                         "COMMENT y"),
    "nan-beam.fits": card(bytearray(raw), "BMAJ", "BMAJ    = NAN"),
    "absurd-beam.fits": card(bytearray(raw), "BMAJ", "BMAJ    = 1E300"),
    "zero-cdelt.fits": card(card(bytearray(raw), "CDELT1", "CDELT1  = 0.0"),
                            "CDELT2", "CDELT2  = 0.0"),
    "huge-naxis.fits": card(card(bytearray(raw), "NAXIS1",
                                 "NAXIS1  = 2000000000"), "NAXIS2",
                            "NAXIS2  = 2000000000"),
    "negative-naxis.fits": card(bytearray(raw), "NAXIS3", "NAXIS3  = -5"),
    "naxis-zero.fits": card(bytearray(raw), "NAXIS", "NAXIS   = 0"),
    "bitpix-odd.fits": card(bytearray(raw), "BITPIX", "BITPIX  = 17"),
    "crpix-far.fits": card(card(bytearray(raw), "CRPIX1",
                                "CRPIX1  = 1E6"), "CRPIX2",
                           "CRPIX2  = -1E6"),
}
# every pixel blank: NaN is 0x7fc00000 in big-endian float32
hdr_end = raw.find(b"END" + b" " * 77) + 80
hdr_len = ((hdr_end + 2879) // 2880) * 2880
blank = bytearray(raw)
blank[hdr_len:] = b"\x7f\xc0\x00\x00" * ((len(raw) - hdr_len) // 4)
cases["all-blank.fits"] = blank

expect_ok = {"crpix-far.fits": None, "bitpix-odd.fits": None}
for name, data in sorted(cases.items()):
    path = write(name, data)
    run(path, expect=expect_ok.get(name, 6), label=name)
run(os.path.join(work, "no-such-file.fits"), expect=6, label="missing")
run(good, expect=0, label="the good image")
run(cube, expect=0, label="the good cube")

# Random mutations.
rng = random.Random(20250501)
counts = {0: 0, 6: 0}
for i in range(300):
    src = raw if i % 3 else craw
    d = bytearray(src)
    kind = rng.random()
    if kind < 0.15:
        d = d[:rng.randrange(len(d))]
    else:
        lo, hi = (0, 2880 * 2) if kind < 0.75 else (2880, len(d))
        for _ in range(rng.randint(1, 8)):
            d[rng.randrange(lo, min(hi, len(d)))] = rng.randrange(256)
    path = write("mutant.fits", d)
    row = run(path, label="mutation %d" % i)
    if row is not None:
        counts[6 if row.get("error") else 0] += 1

# All at once: one row per file, exit 6.
paths = [os.path.join(work, n) for n in sorted(cases)] + [good]
p = subprocess.run([almasweep, "reduce"] + paths, capture_output=True)
doc = json.loads(p.stdout)
if p.returncode != 6 or len(doc["images"]) != len(paths):
    failures.append("batch: exit %d, %d rows for %d files" % (
        p.returncode, len(doc["images"]), len(paths)))
print("bad input: %d hand-made cases, 300 mutations (%d measured, %d "
      "per-image errors), batch of %d" % (len(cases) + 1, counts[0],
                                          counts[6], len(paths)))
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
