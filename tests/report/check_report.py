#!/usr/bin/python3
"""Check an almasweep report (docs/report.md) against its catalogue.

    check_report.py --catalogue C.h5 --report DIR --dom DOM.html
                    --screenshot SHOT.png --pngstat PNGSTAT
                    [--allow-empty KIND,...] [--hostile NAME]
                    [--expect-note TEXT ...]
    check_report.py --strip IN.h5 OUT.h5

The first form reads the catalogue with h5py (a column the file lacks is
unknown: NaN, -1 or ""), recomputes what every plot should show following
docs/catalogue.md, and compares it with the values each figure carries in
its JSON (what plot.c drew), with the pixels of its PNG at those values,
and with the page Chromium rendered (--dump-dom): every image loaded and
non-empty, every figure with data unless its kind is allowed empty, axis
ranges that follow the data, the failed units with their reasons, the runs,
and the screenshot non-empty. The second form writes a copy of IN with
columns removed and one of another type, like an older catalogue.
"""
import argparse
import html
import json
import math
import os
import subprocess
import sys
from collections import Counter, defaultdict
from html.parser import HTMLParser

import h5py
import numpy as np

C_KMS = 299792.458
QA_UNUSABLE = 1 | 128 | 512  # NOT_FOUND, FIT_FAILED, UNITS
BAND_EDGES = [(1, 35, 50), (2, 67, 84), (3, 84, 116), (4, 125, 163),
              (5, 163, 211), (6, 211, 275), (7, 275, 373), (8, 385, 500),
              (9, 602, 720), (10, 787, 950)]
FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg, file=sys.stderr)


def close(a, b, rel=1e-9, abs_=1e-12):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)


def num(v):
    """JSON null is NaN."""
    return float("nan") if v is None else float(v)


# ---------------------------------------------------------------------
# Catalogue

def s(v):
    return v.decode() if isinstance(v, bytes) else str(v)


class Table:
    """Rows of a table as dicts; missing columns read as unknown."""

    def __init__(self, f, name):
        self.rows = []
        if name not in f:
            return
        data = f[name][:]
        for r in data:
            self.rows.append({k: (s(r[k]) if data.dtype[k].kind == "S"
                                  else r[k].item())
                              for k in data.dtype.names})

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)


def get(row, key, kind):
    if key in row:
        return row[key]
    return {"f": float("nan"), "i": -1, "s": ""}[kind]


def band_of(freq_hz):
    if not (freq_hz == freq_hz):
        return 0
    g = freq_hz / 1e9
    for b, lo, hi in BAND_EDGES:
        if lo < g <= hi or (b == 1 and g == lo):
            return b
    return 0


def image_band(im):
    b = get(im, "band", "i")
    return b if 1 <= b <= 10 else band_of(get(im, "freq_hz", "f"))


def usable(im):
    """docs/catalogue.md, /sources: (flux, error) or None."""
    flux = get(im, "flux_jy", "f")
    if not math.isfinite(flux):
        flux = get(im, "peak_jy", "f")
    band = image_band(im)
    qa = get(im, "qa_flags", "i")
    if (get(im, "error", "s") or not get(im, "source", "s") or band <= 0
            or not math.isfinite(flux) or not flux > 0
            or (qa > 0 and qa & QA_UNUSABLE)):
        return None
    err = get(im, "flux_tot_err_jy", "f")
    if not (math.isfinite(err) and err > 0):
        err = (0.05 if band <= 5 else 0.10 if band <= 8 else 0.20) * flux
    return flux, err


def median(v):
    v = sorted(x for x in v if math.isfinite(x))
    if not v:
        return float("nan")
    m = len(v)
    return v[m // 2] if m % 2 else 0.5 * (v[m // 2 - 1] + v[m // 2])


class Catalogue:
    def __init__(self, path):
        with h5py.File(path, "r") as f:
            self.images = Table(f, "images")
            self.seds = Table(f, "seds")
            self.lines = Table(f, "absorption")
            self.units = Table(f, "units")
            self.runs = Table(f, "runs")
            self.sources = Table(f, "sources")
            self.spectra = Table(f, "spectra")
            self.channels = (f["spectra_channels"][:]
                             if "spectra_channels" in f else None)

    def spectrum(self, unit, file, spw):
        for r in self.spectra:
            if (r["unit_id"], r["file"], r["spw"]) == (unit, file, spw):
                o, n = r["chan_offset"], r["n_chan"]
                if o < 0 or n < 1 or o + n > len(self.channels):
                    return None  # the report skips it (docs/report.md)
                return self.channels[o:o + n]
        return None

    def source_names(self):
        names = set()
        for t in (self.images, self.seds, self.lines, self.spectra,
                  self.sources):
            names.update(r["source"] for r in t if r.get("source"))
        return sorted(names)


# ---------------------------------------------------------------------
# The rendered page

class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = {}
        self.imgs = []
        self.figures = []
        self.fig = None
        self.script = None
        self.rows = {}       # data-unit -> text of the row
        self.row = None
        self.sections = []   # data-source of source sections
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = a
        elif tag == "figure" and "plot" in a.get("class", ""):
            self.fig = {"attrs": a, "img": None, "json": None}
            self.figures.append(self.fig)
        elif tag == "img":
            self.imgs.append(a)
            if self.fig is not None:
                self.fig["img"] = a
        elif tag == "script" and a.get("class") == "plot-data":
            self.script = []
        elif tag == "tr" and "data-unit" in a:
            self.row = [a["data-unit"], []]
        elif tag == "section" and "source" in a.get("class", ""):
            self.sections.append(a.get("data-source"))

    def handle_endtag(self, tag):
        if tag == "script" and self.script is not None:
            self.fig["json"] = json.loads("".join(self.script))
            self.script = None
        elif tag == "figure":
            self.fig = None
        elif tag == "tr" and self.row is not None:
            self.rows[self.row[0]] = " ".join(self.row[1])
            self.row = None

    def handle_data(self, data):
        if self.script is not None:
            self.script.append(data)
            return
        if self.row is not None:
            self.row[1].append(data)
        self.text.append(data)


def figures(page, kind, source=None):
    return [f for f in page.figures if f["attrs"].get("data-kind") == kind
            and (source is None or f["attrs"].get("data-source") == source)]


def series(fig, what=None, panel=None):
    out = []
    for i, p in enumerate(fig["json"]["panels"]):
        if panel is not None and i != panel:
            continue
        for sr in p["series"]:
            meta = sr.get("meta") or {}
            if what is None or meta.get("what") == what:
                out.append(sr)
    return out


# ---------------------------------------------------------------------
# PNGs

class Pixels:
    """PNG facts from one run of asw-report-pngstat for all files: checks
    register files and probes with callbacks, run() calls them back."""

    def __init__(self, tool):
        self.tool, self.files, self.probes = tool, [], []
        self.on_file, self.on_probe = [], []

    def _index(self, path):
        if path not in self.files:
            self.files.append(path)
        return self.files.index(path)

    def stat(self, path, callback):
        self.on_file.append((self._index(path), callback))

    def probe(self, path, x, y, r, callback):
        self.probes.append((self._index(path), x, y, r))
        self.on_probe.append(callback)

    def run(self):
        if not self.files:
            return
        inp = "".join("%d %d %d %d\n" % p for p in self.probes)
        out = subprocess.run([self.tool] + self.files, input=inp.encode(),
                             capture_output=True, check=True)
        res = json.loads(out.stdout)
        for i, cb in self.on_file:
            cb(res["files"][i])
        for got, cb in zip(res["probes"], self.on_probe):
            cb(got)


def transform(scale, v):
    return math.log10(v) if scale == "log" else v


def to_pixel(panel, x, y, dev):
    (x0, y0, x1, y1) = panel["box"]
    xs, ys = panel["x"]["scale"], panel["y"]["scale"]
    lx, ly = panel["x"]["lim"], panel["y"]["lim"]
    px = x0 + (transform(xs, x) - transform(xs, lx[0])) / (
        transform(xs, lx[1]) - transform(xs, lx[0])) * (x1 - x0)
    py = y1 - (transform(ys, y) - transform(ys, ly[0])) / (
        transform(ys, ly[1]) - transform(ys, ly[0])) * (y1 - y0)
    return int(round(px * dev)), int(round(py * dev))


def hex_rgb(h):
    return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))


# Half the side of a square inside a marker of radius 1, and where its
# centre lies below the anchor (plot.c marker_path).
INSIDE = {"circle": (0.6, 0), "square": (0.75, 0), "triangle": (0.4, 0.12),
          "diamond": (0.5, 0), "down": (0.4, -0.12)}


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = 0 if dx == dy == 0 else max(0, min(1, ((px - ax) * dx + (py - ay)
                                               * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def check_pixels(tool, report, fig, kinds):
    """Every marker of the listed kinds is drawn in its colour at its
    place: 85% of the pixels of a square inside a filled marker (error bars
    and fit lines of its colour cover less), or for a hollow marker some
    pixel of its ring. A marker that something drawn later may cover (a
    marker, an error bar or a line of another series) is not probed."""
    j = fig["json"]
    dev = j["scale"]
    probes, want = [], []
    for p in j["panels"]:
        if p["empty"]:
            continue
        # What is drawn, in order: (series, index, kind, geometry, reach)
        drawn = []
        for si, sr in enumerate(p["series"]):
            pts = [(to_pixel(p, x, y, dev) if x is not None and
                    y is not None and (p["y"]["scale"] != "log" or y > 0)
                    else None) for x, y in zip(sr["x"], sr["y"])]
            if sr["kind"] == "points":
                for k, q in enumerate(pts):
                    if q is None:
                        continue
                    # A hollow marker is white inside: it hides anything.
                    drawn.append((si, k, "disk", q, sr["size"] * dev * 1.3)
                                 + (("hollow",) if sr["open"] else ()))
                    lo, hi = sr["lo"][k], sr["hi"][k]
                    if lo is not None and hi is not None and lo > 0:
                        a = to_pixel(p, sr["x"][k], lo, dev)
                        b = to_pixel(p, sr["x"][k], hi, dev)
                        drawn.append((si, k, "seg", (a, b), 1.2 * dev))
            elif sr["kind"] in ("line", "step"):
                for k in range(1, len(pts)):
                    if pts[k - 1] and pts[k]:
                        drawn.append((si, k, "seg", (pts[k - 1], pts[k]),
                                      sr["size"] * dev))
        # Reference lines are drawn after the series.
        for rule in p.get("rules", []):
            v = rule["v"]
            if v is None:
                continue
            (bx0, by0, bx1, by1) = (c * dev for c in p["box"])
            if rule["vertical"]:
                px, _ = to_pixel(p, v, p["y"]["lim"][0], dev)
                g = ((px, by0), (px, by1))
            else:
                _, py = to_pixel(p, p["x"]["lim"][0], v, dev)
                g = ((bx0, py), (bx1, py))
            drawn.append((-1, 0, "seg", g, 1.2 * dev, rule["color"]))
        for n, (si, k, kind, q, _, *_) in enumerate(drawn):
            sr = p["series"][si]
            if kind != "disk" or (sr.get("meta") or {}).get(
                    "what") not in kinds:
                continue
            size = sr["size"] * dev
            half, below = INSIDE[sr["marker"]]
            r = int(size) + 1 if sr["open"] else max(1, int(half * size))
            cx, cy = q[0], q[1] + int(round(below * size))
            # Clipped at the frame, or under the legend (drawn last).
            x0, y0, x1, y1 = (v * dev for v in p["box"])
            covered = not (x0 + r < cx < x1 - r and y0 + r < cy < y1 - r)
            if p.get("legend"):
                lx, ly, lw, lh = (v * dev for v in p["legend"])
                covered |= (lx - r <= cx <= lx + lw + r and
                            ly - r <= cy <= ly + lh + r)
            for (sj, _, kj, g, reach, *col) in ([] if covered else
                                                drawn[n + 1:]):
                colour = col[0] if col else p["series"][sj]["color"]
                if colour == sr["color"]:
                    continue  # the same colour hides nothing
                d = (math.hypot(g[0] - cx, g[1] - cy) if kj == "disk" else
                     seg_dist(cx, cy, g[0][0], g[0][1], g[1][0], g[1][1]))
                if d < reach + r * 1.42 + 1:
                    covered = True
                    break
            if covered:
                continue
            probes.append((cx, cy, r))
            want.append((hex_rgb(sr["color"]), sr["label"], sr["x"][k],
                         sr["y"][k], sr["open"]))
    path = os.path.join(report, fig["img"]["src"])
    for (cx, cy, r), (rgb, label, x, y, hollow) in zip(probes, want):
        def judge(got, rgb=rgb, label=label, x=x, y=y, hollow=hollow):
            match = [sum((a - b) ** 2 for a, b in zip(px, rgb)) ** 0.5 <= 40
                     for px in got]
            frac = sum(match) / max(len(match), 1)
            if (hollow and not any(match)) or (not hollow and frac < 0.85):
                fail("%s: marker of %s (%s) not drawn at (%g, %g): %.0f%% "
                     "of the pixels there have its colour"
                     % (fig["attrs"]["id"], label or "a series", sr_hex(rgb),
                        x, y, 100 * frac))
        tool.probe(path, cx, cy, r, judge)
    return len(probes)


def sr_hex(rgb):
    return "#%02x%02x%02x" % rgb


# ---------------------------------------------------------------------
# Checks

def check_axes(fig):
    """Limits contain the data and follow it (no fixed, unrelated range)."""
    for p in fig["json"]["panels"]:
        if p["empty"]:
            continue
        for axis in ("x", "y"):
            sc = p[axis]["scale"]
            lo, hi = p[axis]["lim"]
            if sc == "category":
                continue
            vals = []
            for sr in p["series"]:
                vs = sr[axis]
                if axis == "y" and sr["kind"] == "points":
                    vs = vs + sr["lo"] + sr["hi"]
                if sr["kind"] in ("band", "bars") and axis == "y":
                    vs = sr["lo"] + sr["hi"] + sr["y"]
                vals += [v for v in vs if v is not None and
                         (sc != "log" or v > 0)]
            if not vals:
                continue
            dmin, dmax = min(vals), max(vals)
            fid = fig["attrs"]["id"]
            if sc == "log":
                if not (lo <= dmin * (1 + 1e-9) and hi >= dmax * (1 - 1e-9)):
                    fail("%s: %s range %g..%g misses data %g..%g"
                         % (fid, axis, lo, hi, dmin, dmax))
                span, dspan = math.log10(hi / lo), math.log10(dmax / dmin)
                if span > 1.3 * dspan + 0.1:
                    fail("%s: %s range %g..%g much wider than data %g..%g"
                         % (fid, axis, lo, hi, dmin, dmax))
            else:
                # Bars and counts start at zero; step outlines close there.
                if p[axis]["scale"] == "linear" and axis == "y" and (
                        any(sr["kind"] in ("bars", "step")
                            for sr in p["series"])):
                    dmin = min(dmin, 0)
                tol = 1e-9 * max(abs(dmin), abs(dmax), 1)
                if not (lo <= dmin + tol and hi >= dmax - tol):
                    fail("%s: %s range %g..%g misses data %g..%g"
                         % (fid, axis, lo, hi, dmin, dmax))
                floor = 40.0 if sc == "mjd" else 0.2 * abs(dmax) or 1
                if hi - lo > 1.3 * (dmax - dmin) + floor:
                    fail("%s: %s range %g..%g much wider than data %g..%g"
                         % (fid, axis, lo, hi, dmin, dmax))


def check_flux_history(cat, page, name, tool, report):
    figs = figures(page, "flux-history", name)
    if len(figs) != 1:
        fail("%s: %d flux-history figures" % (name, len(figs)))
        return
    fig = figs[0]
    exp_meas, exp_img = {}, Counter()
    groups = defaultdict(list)
    for im in cat.images:
        if im["source"] != name:
            continue
        u = usable(im)
        if u is None or not math.isfinite(get(im, "mjd", "f")):
            continue
        b = image_band(im)
        groups[(b, im["unit_id"])].append((u[0], u[1], im["mjd"]))
        exp_img[(b, im["file"], im["mjd"], u[0])] += 1
    for k, v in groups.items():
        exp_meas[k] = (median([x[2] for x in v]), median([x[0] for x in v]),
                       median([x[1] for x in v]))
    got_meas, got_img = {}, Counter()
    for sr in series(fig, "measurement"):
        b = sr["meta"]["band"]
        for t, x, y, lo in zip(sr["tag"], sr["x"], sr["y"], sr["lo"]):
            got_meas[(b, t)] = (x, y, y - lo)
    for sr in series(fig, "image"):
        b = sr["meta"]["band"]
        for t, x, y in zip(sr["tag"], sr["x"], sr["y"]):
            got_img[(b, t, x, y)] += 1
    if set(got_meas) != set(exp_meas):
        fail("%s flux history: measurements %s, catalogue %s"
             % (name, sorted(got_meas), sorted(exp_meas)))
    for k in exp_meas:
        if k in got_meas and not all(close(a, b, 1e-9) for a, b in
                                     zip(got_meas[k], exp_meas[k])):
            fail("%s flux history %s: plotted %s, catalogue %s"
                 % (name, k, got_meas[k], exp_meas[k]))
    if got_img != exp_img:
        fail("%s flux history: images differ from the catalogue" % name)
    has = fig["json"]["has_data"]
    if has != bool(exp_meas):
        fail("%s flux history: has_data %s with %d measurements"
             % (name, has, len(exp_meas)))
    check_axes(fig)
    return check_pixels(tool, report, fig, ("measurement",))


def check_sed(cat, page, name, tool, report):
    figs = figures(page, "sed", name)
    if len(figs) != 1:
        fail("%s: %d SED figures" % (name, len(figs)))
        return 0
    fig = figs[0]
    exp_fit = {}
    for r in cat.seds:
        a, s0 = get(r, "alpha", "f"), get(r, "flux_ref_jy", "f")
        ref = get(r, "ref_freq_hz", "f")
        if (r["source"] == name and math.isfinite(a) and abs(a) <= 20 and
                s0 > 0 and ref > 0):
            exp_fit[r["unit_id"]] = (a, s0, ref)
    got_fit = {}
    for sr in series(fig, "fit"):
        m = sr["meta"]
        got_fit[m["unit_id"]] = (m["alpha"], m["flux_ref_jy"],
                                 m["ref_freq_hz"])
        for x, y in zip(sr["x"], sr["y"]):
            want = m["flux_ref_jy"] * (x * 1e9 / m["ref_freq_hz"]) ** m[
                "alpha"]
            if not close(y, want, 1e-9):
                fail("%s SED fit %s: line %g at %g GHz, power law %g"
                     % (name, m["unit_id"], y, x, want))
    if got_fit != exp_fit:
        fail("%s SED: fits %s, catalogue %s" % (name, got_fit, exp_fit))
    exp_pts, got_pts = Counter(), Counter()
    for im in cat.images:
        u = usable(im)
        if im["source"] == name and u and get(im, "freq_hz", "f") > 0:
            exp_pts[(im["unit_id"], im["file"], im["freq_hz"] / 1e9,
                     u[0])] += 1
    for sr in series(fig, "image"):
        for t, x, y in zip(sr["tag"], sr["x"], sr["y"]):
            got_pts[(sr["meta"]["unit_id"], t, x, y)] += 1
    if exp_pts != got_pts:
        fail("%s SED: points differ from the catalogue's usable images"
             % name)
    check_axes(fig)
    return check_pixels(tool, report, fig, ("image",))


def check_alpha(cat, page):
    figs = figures(page, "alpha-hist")
    if len(figs) != 1:
        fail("%d alpha-hist figures" % len(figs))
        return
    fig = figs[0]
    bars = series(fig, "seds")
    if not bars and not series(fig, "sources"):
        if any(math.isfinite(get(r, "alpha", "f")) for r in cat.seds):
            fail("alpha-hist: no bars but /seds has indices")
        return
    w = (bars or series(fig, "sources"))[0]["meta"]["bin_width"]
    exp, got = Counter(), Counter()
    for r in cat.seds:
        a = get(r, "alpha", "f")
        if math.isfinite(a) and abs(a) <= 20:  # figures.c ALPHA_MAX
            b = r["band"] if 1 <= r["band"] <= 10 else -1
            exp[(b, math.floor(a / w))] += 1
    for sr in bars:
        for x, y, lo in zip(sr["x"], sr["y"], sr["lo"]):
            got[(sr["meta"]["band"], math.floor(x / w))] += int(round(y - lo))
    if exp != got:
        fail("alpha-hist: per-unit counts %s, catalogue %s"
             % (sorted(got.items()), sorted(exp.items())))
    exp_p = Counter(math.floor(get(r, "alpha", "f") / w) for r in
                    cat.sources if math.isfinite(get(r, "alpha", "f")) and
                    abs(get(r, "alpha", "f")) <= 20)
    got_p = Counter()
    for sr in series(fig, "sources"):
        for x, y in zip(sr["x"], sr["y"]):
            if y:
                got_p[math.floor(x / w)] += int(round(y))
    if exp_p != got_p:
        fail("alpha-hist: band-pair counts %s, catalogue %s"
             % (sorted(got_p.items()), sorted(exp_p.items())))
    check_axes(fig)


def check_absorption(cat, page, name):
    lines = [r for r in cat.lines if r["source"] == name]
    figs = figures(page, "absorption", name)
    if len(figs) != len(lines):
        fail("%s: %d absorption figures for %d lines"
             % (name, len(figs), len(lines)))
        return
    for r, fig in zip(lines, figs):
        taus = series(fig, "spectrum", panel=2)
        peaks = series(fig, "line", panel=2)
        if not peaks or not close(peaks[0]["y"][0], r["tau_peak"]):
            fail("%s %s: tau_peak marker missing or not %g"
                 % (name, r["species"], r["tau_peak"]))
        ch = cat.spectrum(r["unit_id"], r["file"], r["spw"])
        if ch is None:
            if taus:
                fail("%s %s: a tau curve without a spectrum" % (name,
                                                              r["species"]))
            continue
        if len(taus) != 1:
            fail("%s %s: %d tau curves" % (name, r["species"], len(taus)))
            continue
        m = taus[0]["meta"]
        if (m["unit_id"], m["file"], m["spw"]) != (r["unit_id"], r["file"],
                                                   r["spw"]):
            fail("%s %s: tau curve of another cube" % (name, r["species"]))
        rest = r["rest_freq_hz"] if r["rest_freq_hz"] > 0 else r["freq_hz"]
        v0 = r["v_lsrk_kms"]
        hw = max(6 * r["fwhm_kms"], 30) if r["fwhm_kms"] > 0 else 100
        v = C_KMS * (1 - ch["freq_hz"] / rest)
        sel = np.abs(v - v0) <= hw
        want_x, want_y = v[sel], ch["tau"][sel]
        got_x = np.array([num(x) for x in taus[0]["x"]])
        got_y = np.array([num(y) for y in taus[0]["y"]])
        if (len(got_x) != len(want_x) or
                not np.allclose(got_x, want_x, rtol=1e-12, atol=1e-9) or
                not np.allclose(got_y, want_y, rtol=1e-12, atol=1e-12,
                                equal_nan=True)):
            fail("%s %s: tau curve differs from /spectra_channels"
                 % (name, r["species"]))
        lim = fig["json"]["panels"][2]["x"]["lim"]
        if not (close(lim[0], v0 - hw) and close(lim[1], v0 + hw)):
            fail("%s %s: velocity axis %s, want %g +- %g"
                 % (name, r["species"], lim, v0, hw))
        if fig["json"]["panels"][2]["x"]["label"].find("km/s") < 0:
            fail("%s: velocity axis without km/s" % name)


def check_qa(cat, page):
    fig = figures(page, "qa-flags")[0]
    cats = fig["json"]["panels"][0]["categories"]
    got = {}
    for sr in fig["json"]["panels"][0]["series"]:
        for x, y in zip(sr["x"], sr["y"]):
            got[cats[int(y)]] = int(x)
    exp = Counter()
    bits = ["NOT_FOUND", "OFFSET", "EXTENDED", "HIGH_RMS", "FEW_PIXELS",
            "NAN", "LOW_SNR", "FIT_FAILED", "NO_BEAM", "UNITS",
            "CAT_MISMATCH"]
    for im in cat.images:
        qa = get(im, "qa_flags", "i")
        if get(im, "error", "s"):
            exp["not measured (error)"] += 1
        elif qa < 0:
            exp["QA not recorded"] += 1
        else:
            if qa == 0:
                exp["no QA flag"] += 1
            for i, b in enumerate(bits):
                if qa & (1 << i):
                    exp[next(c for c in cats if c.startswith(b + ":"))] += 1
    for c in cats:
        if got.get(c, 0) != exp.get(c, 0):
            fail("qa-flags %s: plotted %s, catalogue %s"
                 % (c, got.get(c), exp.get(c, 0)))


def check_units(cat, page):
    fig = figures(page, "units-status")[0]
    p = fig["json"]["panels"][0]
    got = {p["categories"][int(y)]: int(x) for sr in p["series"]
           for x, y in zip(sr["x"], sr["y"])}
    exp = Counter(u["status"] for u in cat.units)
    for k, v in exp.items():
        if got.get(k, 0) != v:
            fail("units-status %s: plotted %s, catalogue %d"
                 % (k, got.get(k), v))
    for u in cat.units:
        if u["status"] != "failed":
            continue
        row = page.rows.get(u["id"])
        text = u["error"].split(":", 2)[-1] if u["error"] else ""
        if row is None or text not in row:
            fail("failed unit %s: no row with its reason %r"
                 % (u["id"], text))
    alltext = " ".join(page.text)
    for r in cat.runs:
        if r["run_id"] not in alltext:
            fail("run %s not on the page" % r["run_id"])


def strip(src, dst):
    """A copy of src as an older catalogue: columns missing, one retyped;
    one spectrum whose channels lie outside /spectra_channels, and one
    absurd spectral index."""
    drop = {"images": {"flux_jy", "flux_tot_err_jy", "qa_flags",
                       "cat_flux_jy", "cat_flux_ratio"},
            "seds": {"alpha_sys_err"},
            "units": {"t_extract_s"}}
    with h5py.File(src, "r") as fi, h5py.File(dst, "w") as fo:
        for k, v in fi.attrs.items():
            fo.attrs[k] = v
        for name in fi:
            ds = fi[name]
            data = ds[:]
            if name in drop:
                keep = [n for n in data.dtype.names if n not in drop[name]]
                descr = []
                for n in keep:
                    t = data.dtype[n]
                    if name == "images" and n == "band":
                        t = np.dtype("<f8")  # another type, same meaning
                    descr.append((n, t))
                new = np.zeros(data.shape, dtype=descr)
                for n in keep:
                    new[n] = data[n]
                data = new
            if name == "seds" and len(data):
                # Not an index: plotted nowhere, the page says so.
                data["alpha"][0] = 1e300
            if name == "spectra" and len(data):
                # A slice beyond /spectra_channels: skipped, not read.
                data = data.copy()
                data["chan_offset"][-1] = 1 << 40
            out = fo.create_dataset(name, data=data, maxshape=(None,),
                                    chunks=True)
            for k, v in ds.attrs.items():
                out.attrs[k] = v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strip", nargs=2)
    ap.add_argument("--catalogue")
    ap.add_argument("--report")
    ap.add_argument("--dom")
    ap.add_argument("--screenshot")
    ap.add_argument("--pngstat")
    ap.add_argument("--allow-empty", default="")
    ap.add_argument("--hostile")
    ap.add_argument("--expect-note", action="append", default=[])
    a = ap.parse_args()
    if a.strip:
        strip(*a.strip)
        return 0
    cat = Catalogue(a.catalogue)
    page = Page()
    with open(a.dom, encoding="utf-8") as f:
        dom = f.read()
    page.feed(dom)
    allow = set(x for x in a.allow_empty.split(",") if x)
    pixels = Pixels(a.pngstat)

    # The page as Chromium loaded it.
    n_img = len(page.imgs)
    if page.root.get("data-loaded") != "all" or page.root.get(
            "data-images-ok") != str(n_img) or page.root.get(
            "data-images") != str(n_img):
        fail("images not all loaded: %s of %s (%d <img>)"
             % (page.root.get("data-images-ok"),
                page.root.get("data-images"), n_img))
    if not page.figures:
        fail("no figures")
    kinds = Counter(f["attrs"]["data-kind"] for f in page.figures)
    for k in ("units-status", "stage-time", "workers", "qa-flags", "qa-snr",
              "qa-catflux", "alpha-hist", "abs-overview", "fail-reasons"):
        if kinds[k] != 1:
            fail("%d figures of kind %s" % (kinds[k], k))
    for fig in page.figures:
        img, j = fig["img"], fig["json"]
        fid = fig["attrs"]["id"]
        if img is None or j is None:
            fail("%s: no image or no JSON" % fid)
            continue
        path = os.path.join(a.report, img["src"])
        if not os.path.isfile(path):
            fail("%s: %s missing" % (fid, path))
            continue
        def png_ok(st, fid=fid, w=round(j["width"] * j["scale"]),
                   h=round(j["height"] * j["scale"])):
            if (st["width"], st["height"]) != (w, h):
                fail("%s: PNG %dx%d, figure %dx%d" % (fid, st["width"],
                                                      st["height"], w, h))
            if st["std"] < 8 or st["distinct"] < 24:
                fail("%s: PNG looks empty (std %.1f, %d colours)"
                     % (fid, st["std"], st["distinct"]))
        pixels.stat(path, png_ok)
        if not img.get("alt"):
            fail("%s: no alt text" % fid)
        has = j["has_data"]
        if fig["attrs"]["data-has-data"] != ("1" if has else "0"):
            fail("%s: data-has-data disagrees with the JSON" % fid)
        if not has and fig["attrs"]["data-kind"] not in allow:
            fail("%s: no data" % fid)
        for p in j["panels"]:
            # A panel above another with the same x axis shows neither its
            # tick labels nor its x label.
            if not p["empty"] and not (
                    (p["x"]["label"] or not p["x"]["ticklabels"]) and
                    (p["y"]["label"] or p["y"]["scale"] == "category")):
                fail("%s: an axis without a label" % fid)
    for k in allow:
        if kinds[k] and all(f["json"]["has_data"] for f in
                            figures(page, k)):
            print("note: %s allowed empty but has data" % k)

    # The values of every plot against the catalogue.
    names = cat.source_names()
    if sorted(page.sections) != names:
        fail("source sections %s, catalogue sources %s"
             % (page.sections, names))
    probes = 0
    for name in names:
        probes += check_flux_history(cat, page, name, pixels,
                                     a.report) or 0
        probes += check_sed(cat, page, name, pixels, a.report) or 0
        check_absorption(cat, page, name)
    check_alpha(cat, page)
    check_qa(cat, page)
    check_units(cat, page)
    for f in figures(page, "qa-snr") + figures(page, "qa-catflux"):
        check_axes(f)
        probes += check_pixels(pixels, a.report, f, ("image",))
    for f in figures(page, "abs-overview"):
        check_axes(f)
    if a.hostile:
        with open(os.path.join(a.report, "index.html"),
                  encoding="utf-8") as f:
            raw = f.read()
        if a.hostile.split("&")[0] in raw:
            fail("the hostile source name is in the page unescaped")
        if a.hostile not in page.sections:
            fail("the hostile source has no section")
    text = " ".join(page.text)
    for note in a.expect_note:
        if note not in text:
            fail("the page does not say %r" % note)

    shot = {}

    def shot_ok(st):
        shot.update(st)
        if st["width"] != 1280 or st["std"] < 20 or st["distinct"] < 500:
            fail("screenshot looks wrong: %s" % {k: st[k] for k in
                                                  ("width", "height", "std",
                                                   "distinct")})
    pixels.stat(a.screenshot, shot_ok)
    pixels.run()
    print("%s: %d figures (%s), %d sources, %d pixels probed, "
          "screenshot %dx%d"
          % (a.report, len(page.figures),
             ", ".join("%s %d" % kv for kv in sorted(kinds.items())),
             len(names), probes, shot["width"], shot["height"]))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
