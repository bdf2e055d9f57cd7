#!/usr/bin/env python3
"""Checks of the casa-mode sweeps (tests/casa/casa_sweep.sh) against the
truth of the simulated EBs (make_eb.py): the catalogue (h5py), the exported
FITS (astropy) and the files the units left behind.

  check_casa.py accept      SWEEPDIR DATADIR --casa-python PY
  check_casa.py options     SWEEPDIR DATADIR --reference ACCEPT_SWEEPDIR --casa-python PY
  check_casa.py removal     WORKDIR  DATADIR
  check_casa.py failures    SWEEPDIR DATADIR --marker PREFIX --limit S --casa-python PY
  check_casa.py mpilaunch   SWEEPDIR DATADIR --casa-python PY
  check_casa.py unavailable WORKDIR  DATADIR

Prints every figure it checks; exit 0 when all hold, 1 otherwise.
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

C_KMS = 299792.458
FLUX_TOL = 0.03     # per-spw flux within 3 % of the truth ...
MIN_SNR = 50        # ... at SNR >= 50
ALPHA_TOL = 0.05

failures = []


def check(cond, what):
    print('%s  %s' % ('ok  ' if cond else 'FAIL', what))
    if not cond:
        failures.append(what)
    return cond


def s(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def load(sweep):
    with h5py.File(os.path.join(sweep, 'sweep.h5'), 'r') as f:
        units = {s(u['id']): u for u in f['units'][:]}
        images = f['images'][:]
        seds = f['seds'][:] if 'seds' in f else None
        lines = f['absorption'][:] if 'absorption' in f else None
    return units, images, seds, lines


def truths(data):
    out = {}
    for p in glob.glob(os.path.join(data, 'ebs', '*.truth.json')):
        t = json.load(open(p))
        out[t['uid']] = t
    return out


def field_of(t, source):
    """The truth field of a catalogue source (names are cut at 63 bytes)."""
    for f in t['fields']:
        if f['name'] == source or (len(source) >= 60 and f['name'].startswith(source)):
            return f
    return None


def out_dir(sweep, uid):
    return os.path.join(sweep, 'sweep-casa', uid)


def unit_dir(sweep, uid):
    return os.path.join(sweep, 'scratch', 'almasweep', uid)


def venv_casa_version(py):
    """casatools.version_string() of the CASA venv python (run in a scratch
    directory with its own HOME: importing casatools writes a log there)."""
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run([os.path.abspath(py), '-c', 'import casatools; print(casatools.version_string())'],
                             cwd=d, env=dict(os.environ, HOME=d), capture_output=True,
                             text=True, timeout=300)
    lines = out.stdout.strip().splitlines()
    return lines[-1].strip() if out.returncode == 0 and lines else ''


def runs_provenance(a):
    """/runs records the CASA version the workers ran (their results carry
    it; rank 0 stores it): one row, mode casa, casa_version equal to the
    venv's casatools version."""
    if not check(bool(a.casa_python), '--casa-python given (for /runs casa_version)'):
        return
    want = venv_casa_version(a.casa_python)
    with h5py.File(os.path.join(a.sweep, 'sweep.h5'), 'r') as f:
        runs = f['runs'][:]
    got = [s(r['casa_version']) for r in runs]
    check(want != '' and len(runs) == 1 and s(runs[0]['mode']) == 'casa' and
          got == [want],
          '/runs casa_version %s, venv casatools %r' % (got, want))


# ---- accept ------------------------------------------------------------

def flux_rows(images, t, uid):
    """mfs rows of one unit: (field, spw, measured peak, flux, snr, truth)."""
    rows = []
    for r in images:
        if s(r['unit_id']) != uid or s(r['specmode']) != 'mfs':
            continue
        f = field_of(t, s(r['source']))
        if f is None:
            check(False, '%s: row for unknown source %r' % (uid, s(r['source'])))
            continue
        tr = f['spws'][int(r['spw'])]
        rows.append((f, int(r['spw']), float(r['peak_jy']), float(r['flux_jy']),
                     float(r['snr']), tr))
    return rows


def cont_truth(f, freq_hz):
    """The continuum of a truth field at a frequency."""
    return f['flux_100ghz_jy'] * (freq_hz / 100e9) ** f['alpha']


def line_velocity(path, rest_hz):
    """Velocity (km/s, radio, LSRK) and depth of the deepest absorption in
    the spectrum at the cube's centre pixel: parabola through the minimum
    and its neighbours; also the channel width."""
    from astropy.io import fits
    with fits.open(path) as h:
        hd = h[0].header
        d = h[0].data
    while d.ndim > 3:
        d = d[0]
    ny, nx = d.shape[1:]
    spec = np.asarray(d[:, ny // 2, nx // 2], float)
    k = np.arange(spec.size)
    nu = hd['CRVAL3'] + (k + 1 - hd['CRPIX3']) * hd['CDELT3']
    v = C_KMS * (rest_hz - nu) / rest_hz
    cont = np.median(spec)
    i = int(np.nanargmin(spec))
    vi = v[i]
    if 0 < i < spec.size - 1:
        a, b, c = spec[i - 1], spec[i], spec[i + 1]
        den = a - 2 * b + c
        if den > 0:
            vi = v[i] + 0.5 * (a - c) / den * (v[i + 1] - v[i])
    return vi, 1 - spec[i] / cont, abs(v[1] - v[0]), hd.get('SPECSYS', '')


def accept(a):
    units, images, seds, lines = load(a.sweep)
    T = truths(a.data)
    want = ['uid___A002_Xc0ffee_X1', 'uid___A002_Xc0ffee_X2']
    for uid in want:
        u = units.get(uid)
        check(u is not None and s(u['status']) == 'done',
              '%s done (%s)' % (uid, s(u['error']) if u is not None else 'no row'))
    by_unit = {}
    for uid in want:
        t = T[uid]
        rows = flux_rows(images, t, uid)
        by_unit[uid] = rows
        # 2 calibrators (bp, ph) x 4 spws.
        check(len(rows) == 8, '%s: %d mfs rows (2 calibrators x 4 spws)' % (uid, len(rows)))
        n = 0
        for f, spw, peak, flux, snr, tr in rows:
            if not (snr >= MIN_SNR):
                continue
            n += 1
            for what, val in (('peak', peak), ('flux', flux)):
                if what == 'flux' and not math.isfinite(val):
                    continue
                err = val / tr['flux_jy'] - 1
                check(abs(err) <= FLUX_TOL,
                      '%s %s spw%d %s %.4f Jy, truth %.4f Jy (%+.2f %%), SNR %.0f'
                      % (uid[-2:], f['name'], spw, what, val, tr['flux_jy'],
                         100 * err, snr))
        check(n >= 8, '%s: %d rows at SNR >= %d checked' % (uid, n, MIN_SNR))
        # Spectral index from the per-spw fluxes (spws without the line).
        for name in sorted(set(f['name'] for f, *_ in rows)):
            pts = [(tr['freq_hz'], peak) for f, spw, peak, flux, snr, tr in rows
                   if f['name'] == name and not tr['line']]
            f = field_of(t, name)
            if len(pts) >= 2:
                x = np.log([p[0] for p in pts])
                y = np.log([p[1] for p in pts])
                alpha = float(np.polyfit(x, y, 1)[0])
                check(abs(alpha - f['alpha']) <= ALPHA_TOL,
                      '%s %s alpha %.3f from %d spws, truth %.3f'
                      % (uid[-2:], name, alpha, len(pts), f['alpha']))
        # The other modes: one aggregate (cont) image and 4 cubes per field.
        modes = {}
        for r in images:
            if s(r['unit_id']) == uid:
                modes[s(r['specmode'])] = modes.get(s(r['specmode']), 0) + 1
        check(modes.get('cont', 0) == 2 and modes.get('cube', 0) == 8,
              '%s: images by mode %s (cont 2, mfs 8, cube 8)' % (uid, modes))
        for r in images:
            if s(r['unit_id']) == uid and s(r['specmode']) == 'cont':
                f = field_of(t, s(r['source']))
                ref = cont_truth(f, r['freq_hz'])
                check(abs(r['peak_jy'] / ref - 1) < FLUX_TOL,
                      '%s %s aggregate mfs peak %.4f Jy at %.2f GHz, truth %.4f Jy'
                      % (uid[-2:], f['name'], r['peak_jy'], r['freq_hz'] / 1e9, ref))
        # Cubes: LSRK radio velocities (VELREF 257 = 256 radio + 1 LSRK)
        # and one common restoring beam (per-plane beams would come as a
        # BEAMS table with CASAMBM = T).
        from astropy.io import fits
        cubes = glob.glob(os.path.join(out_dir(a.sweep, uid), 'fits', '*.cube.I.pbcor.fits'))
        bad = []
        for p in cubes:
            with fits.open(p) as h:
                hd = h[0].header
                if not (len(h) == 1 and hd.get('BMAJ', 0) > 0 and not hd.get('CASAMBM', False)
                        and hd.get('SPECSYS') == 'LSRK' and hd.get('VELREF') == 257):
                    bad.append(os.path.basename(p))
        check(len(cubes) == 8 and not bad,
              '%s: %d cubes in LSRK radio with one common beam (not so: %s)'
              % (uid, len(cubes), bad))
        # The line in the phase calibrator's spw 0 cube.
        ln = t['line']
        cube = glob.glob(os.path.join(out_dir(a.sweep, uid), 'fits',
                                      'member.%s.%s_ph.spw0.cube.I.pbcor.fits'
                                      % (uid, ln['field'])))
        if check(len(cube) == 1, '%s: the phase calibrator spw0 cube exported' % uid):
            v, depth, dv, frame = line_velocity(cube[0], ln['rest_hz'])
            check(frame == 'LSRK', '%s: cube frame %s' % (uid, frame))
            check(abs(v - ln['v_lsrk_kms']) <= dv,
                  '%s: %s absorption at %.2f km/s (LSRK radio), injected at %.2f km/s, '
                  'channel %.2f km/s' % (uid[-2:], ln['species'], v, ln['v_lsrk_kms'], dv))
            check(abs(depth - (1 - math.exp(-ln['tau_peak']))) < 0.1,
                  '%s: line depth %.3f, injected %.3f (channel-averaged)'
                  % (uid[-2:], depth, 1 - math.exp(-ln['tau_peak'])))
        # The catalogue's own line analysis (jobs/measure.h on the cubes):
        # the injected line, and nothing else in any cube of the unit.
        mine = [r for r in (lines if lines is not None else []) if s(r['unit_id']) == uid]
        check(len(mine) == 1, '%s: /absorption holds %d line(s), 1 injected' % (uid, len(mine)))
        for r in mine:
            check(s(r['source']) == ln['field'] and int(r['spw']) == 0 and
                  s(r['species']).startswith('HNC') and
                  abs(r['v_lsrk_kms'] - ln['v_lsrk_kms']) <= 1.0 and
                  abs(r['tau_peak'] / ln['tau_peak'] - 1) < 0.2 and
                  abs(r['fwhm_kms'] / ln['fwhm_kms'] - 1) < 0.3,
                  '%s /absorption: %s %s spw%d at %.2f km/s (injected %.2f), FWHM %.2f km/s '
                  '(%.2f), tau %.3f (%.3f)'
                  % (uid[-2:], s(r['source']), s(r['species']), r['spw'], r['v_lsrk_kms'],
                     ln['v_lsrk_kms'], r['fwhm_kms'], ln['fwhm_kms'], r['tau_peak'],
                     ln['tau_peak']))
        # The catalogue's spectral index (/seds, over the per-spw mfs
        # images; the phase calibrator's includes the line-diluted spw).
        srows = [r for r in (seds if seds is not None else []) if s(r['unit_id']) == uid]
        check(len(srows) == 2, '%s: /seds holds %d rows (2 calibrators)' % (uid, len(srows)))
        for r in srows:
            f = field_of(t, s(r['source']))
            check(f is not None and abs(r['alpha'] - f['alpha']) <= ALPHA_TOL,
                  '%s /seds: %s alpha %.3f +- %.3f (%d spws), truth %.3f'
                  % (uid[-2:], s(r['source']), r['alpha'], r['alpha_err'], r['n_spw'],
                     f['alpha'] if f else float('nan')))
        # Files kept (no removal options): the ASDM, the MSs, the images.
        ud = unit_dir(a.sweep, uid)
        check(bool(glob.glob(os.path.join(ud, '*', 'science_goal.*', '*', '*', 'raw',
                                          '%s.asdm.sdm' % uid))),
              '%s: ASDM kept' % uid)
        for p in ('casa/%s.ms' % uid, 'casa/%s.cal.ms' % uid, 'casa/cal',
                  'casa/images'):
            check(os.path.isdir(os.path.join(ud, p)), '%s: %s kept' % (uid, p))
        check(len(glob.glob(os.path.join(ud, 'casa', 'images', '*.image'))) == 18,
              '%s: 18 CASA images kept' % uid)
        od = out_dir(a.sweep, uid)
        check(len(glob.glob(os.path.join(od, 'fits', '*.pbcor.fits'))) == 18 and
              len(glob.glob(os.path.join(od, 'fits', '*.pb.fits'))) == 18,
              '%s: 18 pbcor + 18 pb FITS in the output directory' % uid)
        img_log = glob.glob(os.path.join(od, 'logs', 'casa-*-image.log'))
        check(os.path.isfile(os.path.join(od, 'logs', 'casa-version.txt')) and
              len(img_log) == 1, '%s: CASA logs and version kept' % uid)
        # The other weighting (options: briggs) is compared with these beams.
        text = open(img_log[0], errors='replace').read() if img_log else ''
        check("weighting='natural'" in text and "weighting='briggs'" not in text,
              '%s: tclean ran with natural weighting only' % uid)
    # Builtin calibration of B (gain errors) recovers A's fluxes. The flux
    # calibrator (bp) is scaled to its catalogue flux by setjy, so its
    # agreement follows from the flux scale; the phase calibrator's flux is
    # a measurement (fluxscale), and at least its 4 spws must be compared.
    # (That B's raw data really are corrupted is checked by the options
    # sweep: B uncalibrated has a dynamic range < 1/3 of the self-calibrated.)
    A = {(f['name'], spw): peak for f, spw, peak, *_ in by_unit[want[0]]}
    n_transfer = 0
    for f, spw, peak, flux, snr, tr in by_unit[want[1]]:
        k = (f['name'], spw)
        if k in A and snr >= MIN_SNR:
            n_transfer += f['role'] != 'bp'
            check(abs(peak / A[k] - 1) <= FLUX_TOL,
                  'gain errors + builtin: %s (%s) spw%d %.4f Jy vs %.4f Jy without (%+.2f %%)'
                  % (f['name'], f['role'], spw, peak, A[k], 100 * (peak / A[k] - 1)))
    check(n_transfer >= 4, 'gain errors + builtin: %d fluxscale-transferred fluxes compared'
          % n_transfer)


# ---- options --------------------------------------------------------------

def options(a):
    units, images, _, _ = load(a.sweep)
    uid = 'uid___A002_Xc0ffee_X2'
    u = units.get(uid)
    check(u is not None and s(u['status']) == 'done', '%s done' % uid)
    od = out_dir(a.sweep, uid)
    ud = unit_dir(a.sweep, uid)
    # Self-calibration: the gain errors were not calibrated (calibration =
    # none); phase-only self-calibration must raise the dynamic range.
    info = json.load(open(os.path.join(od, 'logs', 'images.json')))
    sc = {e['field']: e for e in info['selfcal']}
    check(len(sc) == 2, 'self-calibration of 2 fields: %s' % sorted(sc))
    for fid, e in sorted(sc.items()):
        b, af = e['dr_before'] or 0, e['dr_after'] or 0
        check(af >= 3 * b and af > 20,
              'field %d: dynamic range %.1f before, %.1f after self-calibration' % (fid, b, af))
    for r in images:
        if s(r['specmode']) == 'cont':
            check(r['dynamic_range'] > 20,
                  '%s: catalogue dynamic range %.1f after self-calibration'
                  % (s(r['source']), r['dynamic_range']))
    modes = sorted(set(s(r['specmode']) for r in images))
    check(modes == ['cont', 'mfs'] and len(images) == 10,
          'modes %s, %d images (2 x (cont + 4 mfs))' % (modes, len(images)))
    # Briggs 0.5 gives a smaller beam than the natural weighting of the
    # same data in the accept sweep.
    img_log = glob.glob(os.path.join(od, 'logs', 'casa-*-image.log'))
    text = open(img_log[0]).read() if img_log else ''
    check("weighting='briggs'" in text and 'robust=0.5' in text,
          'tclean ran with weighting briggs, robust 0.5')
    ref = os.path.join(a.reference, 'sweep.h5')
    if check(os.path.isfile(ref), 'natural-weighting reference %s' % ref):
        _, rimg, _, _ = load(a.reference)
        # The beam depends on the uv coverage and the weights only, not on
        # the calibration: the same data, another weighting.
        nat = {(s(r['source']), int(r['spw']), s(r['specmode'])):
               (r['bmaj_arcsec'], r['bmin_arcsec'])
               for r in rimg if s(r['unit_id']) == uid}
        n = 0
        for r in images:
            k = (s(r['source']), int(r['spw']), s(r['specmode']))
            if k in nat:
                n += 1
                a_b = r['bmaj_arcsec'] * r['bmin_arcsec']
                a_n = nat[k][0] * nat[k][1]
                check(a_b < 0.95 * a_n,
                      '%s spw%d %s: beam %.2f" x %.2f" (briggs 0.5) smaller than '
                      '%.2f" x %.2f" (natural): area ratio %.3f'
                      % (k[0], k[1], k[2], r['bmaj_arcsec'], r['bmin_arcsec'],
                         nat[k][0], nat[k][1], a_b / a_n))
        check(n >= 8, '%d images compared with natural weighting' % n)
    # Removal options: no ASDM, no intermediate MS or tables, no CASA
    # images; the FITS, logs and step results stay.
    check(not glob.glob(os.path.join(ud, '*', 'science_goal.*', '*', '*', 'raw', '*.asdm.sdm')),
          'ASDM removed')
    for p in ('casa/%s.ms' % uid, 'casa/%s.cal.ms' % uid, 'casa/cal', 'casa/images'):
        check(not os.path.exists(os.path.join(ud, p)), '%s removed' % p)
    top = set(os.listdir(os.path.join(ud, 'casa')))
    check(top == CASA_ALWAYS, 'casa/ holds exactly %s (left: %s, missing: %s)'
          % (sorted(CASA_ALWAYS), sorted(top - CASA_ALWAYS), sorted(CASA_ALWAYS - top)))
    check(len(glob.glob(os.path.join(ud, 'casa', 'fits', '*.pbcor.fits'))) == 10,
          '10 pbcor FITS kept in the unit directory')
    check(len(glob.glob(os.path.join(od, 'fits', '*.pbcor.fits'))) == 10,
          '10 pbcor FITS in the output directory')
    check(len(glob.glob(os.path.join(od, 'logs', 'casa-*.log'))) >= 4,
          'CASA logs kept')


# ---- removal ---------------------------------------------------------------

# What a unit's work directory <unit>/casa holds after a done unit, by what
# removes it (docs/casa-mode.md "Removal options").
CASA_ALWAYS = {'fits', 'home', 'logs', 'meta.json', 'split.json', 'images.json'}


def casa_intermediate(uid):
    return {'%s.ms' % uid, '%s.ms.flagversions' % uid, '%s.cal.ms' % uid, 'cal'}


CASA_IMAGES = {'images'}
REMOVAL_RUNS = (('remove_asdm', {'asdm'}), ('remove_intermediate', {'intermediate'}),
                ('remove_casa_images', {'images'}),
                ('all', {'asdm', 'intermediate', 'images'}))
STEPS = ['01-import', '02-metadata', '03-calibrate', '04-split', '05-image']


def tree(path):
    """Every file and directory below path, relative to it, sorted."""
    out = []
    for root, dirs, files in os.walk(path):
        out += [os.path.relpath(os.path.join(root, n), path) for n in dirs + files]
    return sorted(out)


def is_table(p):
    return os.path.isfile(os.path.join(p, 'table.dat'))


def removal(a):
    """S swept once per removal option alone and once with all three
    (builtin calibration, self-calibration, mfs): each removes exactly its
    own files, keeps every other option's files intact (the same files as
    the runs that keep them), and the FITS, logs and step results stay."""
    uid = 'uid___A002_Xc0ffee_X4'
    inter = casa_intermediate(uid)
    inv = {}
    for opt, gone in REMOVAL_RUNS:
        sweep = os.path.join(a.sweep, opt)
        units, images, _, _ = load(sweep)
        u = units.get(uid)
        check(u is not None and s(u['status']) == 'done',
              '%s: %s done (%s)' % (opt, uid, s(u['error']) if u is not None else 'no row'))
        files = sorted(s(r['file']) for r in images)
        check(len(files) == 2, '%s: 2 images (2 calibrators, mfs): %s' % (opt, files))
        ud = unit_dir(sweep, uid)
        cd = os.path.join(ud, 'casa')
        od = out_dir(sweep, uid)
        # The work directory holds exactly what no option of this run removes.
        want = set(CASA_ALWAYS)
        if 'intermediate' not in gone:
            want |= inter
        if 'images' not in gone:
            want |= CASA_IMAGES
        top = set(os.listdir(cd)) if os.path.isdir(cd) else set()
        check(top == want, '%s: casa/ holds exactly %s (not removed: %s; removed: %s)'
              % (opt, sorted(want), sorted(top - want), sorted(want - top)))
        # The ASDM: removed by remove_asdm only, right after import (the
        # launcher shim looked before every step).
        raw = glob.glob(os.path.join(ud, '*', 'science_goal.*', '*', '*', 'raw'))
        asdm = glob.glob(os.path.join(ud, '*', 'science_goal.*', '*', '*', 'raw',
                                      '%s.asdm.sdm' % uid))
        if 'asdm' in gone:
            check(len(raw) == 1 and not asdm, '%s: ASDM removed (raw/ holds %s)'
                  % (opt, os.listdir(raw[0]) if raw else 'no raw/'))
        else:
            check(len(asdm) == 1 and os.path.isfile(os.path.join(asdm[0], 'ASDM.xml')) and
                  os.path.isfile(os.path.join(asdm[0], 'Main.xml')),
                  '%s: ASDM kept (ASDM.xml, Main.xml)' % opt)
        seen = {}
        for st in STEPS:
            out = os.path.join(ud, 'casa', 'logs', st + '.out')
            text = open(out, errors='replace').read() if os.path.isfile(out) else ''
            line = [l for l in text.splitlines() if l.startswith('launcher_shim: before ')]
            seen[st] = line[0].split(': asdm ', 1)[1].split(';', 1)[0] if line else '?'
        want_seen = {st: 'present' if st == '01-import' or 'asdm' not in gone else 'absent'
                     for st in STEPS}
        check(seen == want_seen, '%s: ASDM before each step %s' % (opt, seen))
        # What stays: the contents, recorded to compare between the runs.
        rec = inv[opt] = {}
        if asdm:
            rec['asdm'] = tree(asdm[0])
        if 'intermediate' not in gone:
            for p in sorted(inter):
                rec[p] = tree(os.path.join(cd, p))
            cal = os.path.join(cd, 'cal')
            tabs = sorted(os.listdir(cal)) if os.path.isdir(cal) else []
            check(all(is_table(os.path.join(cd, p)) for p in ('%s.ms' % uid, '%s.cal.ms' % uid))
                  and 'bandpass.bcal' in tabs and any(t.endswith('.fcal') for t in tabs) and
                  sum(t.endswith('.gcal') for t in tabs) >= 3 and
                  all(is_table(os.path.join(cal, t)) for t in tabs),
                  '%s: MS, split MS and calibration tables kept: %s' % (opt, tabs))
        if 'images' not in gone:
            idir = os.path.join(cd, 'images')
            rec['images'] = tree(idir)
            names = [f[:-len('.pbcor.fits')] for f in files]
            exts = ('image', 'image.pbcor', 'pb', 'psf', 'residual', 'model', 'mask')
            prods = [n + '.' + e for n in names for e in exts]
            sc = sorted(os.path.basename(p) for p in glob.glob(os.path.join(idir, 'selfcal_*')))
            check(all(is_table(os.path.join(idir, p)) for p in prods),
                  '%s: CASA images kept (%d images of %d products)' % (opt, len(prods), len(names)))
            check(len([x for x in sc if x.endswith('.gcal')]) == 2 and
                  len([x for x in sc if x.endswith('.image')]) == 2 and
                  all(is_table(os.path.join(idir, x)) for x in sc if x.endswith(('.gcal', '.image'))),
                  '%s: self-calibration tables and images kept: %s' % (opt, sorted(x for x in sc if x.endswith(('.gcal', '.image')))))
        # Always kept: FITS (unit and output directory), logs and results.
        for where, d in (('casa/fits', os.path.join(cd, 'fits')),
                         ('output fits', os.path.join(od, 'fits'))):
            fl = sorted(os.listdir(d)) if os.path.isdir(d) else []
            check(fl == sorted(files + [f[:-len('.pbcor.fits')] + '.pb.fits' for f in files]),
                  '%s: %s holds the 2 pbcor + 2 pb FITS' % (opt, where))
            rec[where] = fl
        ol = sorted(os.listdir(os.path.join(od, 'logs'))) if os.path.isdir(os.path.join(od, 'logs')) else []
        need = ['casa-%s.log' % st for st in STEPS] + \
            ['%s.%s' % (st, x) for st in STEPS for x in ('py', 'out', 'err', 'json')] + \
            ['casa-version.txt', 'meta.json', 'split.json', 'images.json']
        check(all(n in ol for n in need), '%s: output logs kept (missing %s)'
              % (opt, [n for n in need if n not in ol]))
        rec['output logs'] = ol
        rec['casa/logs'] = tree(os.path.join(cd, 'logs'))
        check(all(os.path.isfile(os.path.join(cd, n)) for n in ('meta.json', 'split.json', 'images.json')),
              '%s: meta.json, split.json, images.json kept in casa/' % opt)
    # What an option keeps is the same as what the other runs keep: no
    # option removes part of another's files.
    keys = sorted(set(k for r in inv.values() for k in r))
    for k in keys:
        have = [opt for opt, _ in REMOVAL_RUNS if k in inv.get(opt, {})]
        base = inv[have[0]][k]
        same = all(inv[o][k] == base for o in have[1:])
        check(same and (len(base) > 0 or k in ('casa/logs',)),
              '%s: the same %d entries in the runs that keep it (%s)'
              % (k, len(base), ', '.join(have)))


# ---- failures ----------------------------------------------------------

def failures_(a):
    units, images, _, _ = load(a.sweep)
    T = truths(a.data)
    st = {k: (s(u['status']), s(u['error'])) for k, u in units.items()}
    for k, v in sorted(st.items()):
        print('info  %s: %s %s' % (k, v[0], v[1]))
    check(len(st) == 5, '5 units in /units')
    H, S = 'uid___A002_Xc0ffee_X3', 'uid___A002_Xc0ffee_X4'
    E, K, TT = 'uid___A002_Xc0ffee_X5', 'uid___A002_Xc0ffee_X6', 'uid___A002_Xc0ffee_X7'
    for uid in (H, S):
        check(st.get(uid, ('',))[0] == 'done', '%s done' % uid)
    # Script error: the reason carries CASA's own text, the exception of
    # importasdm and the SEVERE message logged before it (common.py task()),
    # both read back from the step's CASA log.
    e = st.get(E, ('', ''))
    elog = os.path.join(out_dir(a.sweep, E), 'logs', 'casa-01-import.log')
    etext = open(elog, errors='replace').read() if os.path.isfile(elog) else ''
    check(e[0] == 'failed' and
          e[1].startswith('casa:ECHILD:step import: CASA error: importasdm: ') and
          'ASDM conversion error' in e[1] and
          '[SEVERE: ConversionException : cannot convert table Main' in e[1],
          'corrupt ASDM: failed with the CASA exception and SEVERE text: %s' % e[1])
    check('SEVERE' in etext and 'ConversionException : cannot convert table Main' in etext and
          'ASDM conversion error' in etext,
          'corrupt ASDM: that text is in its CASA log %s' % os.path.basename(elog))
    # SIGKILL: the step stalled inside calibrate after bandpass returned
    # (launcher_shim.py wrote its pid) and the test killed that pid; the
    # runner's pid file names the same process; the unit failed with the
    # signal, and no later step ran.
    k = st.get(K, ('', ''))
    kd = os.path.join(unit_dir(a.sweep, K), 'casa', 'logs')
    stalled = os.path.join(a.sweep, 'K-stalled')
    killed = os.path.join(a.sweep, 'K-killed')
    rd = lambda p: open(p).read().strip() if os.path.isfile(p) else ''
    kout = rd(os.path.join(kd, '03-calibrate.out'))
    check(rd(stalled) != '' and rd(stalled) == rd(killed) ==
          rd(os.path.join(kd, '03-calibrate.pid')) and
          'bandpass done, stalling in %s:calibrate' % K in kout,
          'K: CASA pid %s stalled inside step calibrate after bandpass, killed by the test'
          % rd(killed))
    check(k[0] == 'failed' and
          k[1] == 'casa:ECHILD:step calibrate: CASA killed by signal 9 (SIGKILL)',
          'killed CASA: %s' % k[1])
    check(not os.path.exists(os.path.join(kd, '04-split.py')) and
          not os.path.exists(os.path.join(kd, '03-calibrate.json')),
          'K: no step result of calibrate and no later step')
    # Hang: the import step hung (launcher_shim.py) until the wall-time
    # limit killed its process group; nothing of it is left running.
    h = st.get(TT, ('', ''))
    check(h[0] == 'failed' and h[1].startswith('casa:ETIMEOUT:step import:') and
          'wall-time limit of %d s' % a.limit in h[1] and 'process group killed' in h[1],
          'hang: %s' % h[1])
    tout = rd(os.path.join(unit_dir(a.sweep, TT), 'casa', 'logs', '01-import.out'))
    check('launcher_shim: hanging in %s:import' % TT in tout, 'T: the import step hung')
    left = []
    for pid in os.listdir('/proc'):
        try:
            cmd = open('/proc/%s/cmdline' % pid, 'rb').read().decode(errors='replace')
        except (OSError, ValueError):
            continue
        if (TT in cmd or K in cmd) and os.path.abspath(a.sweep) in cmd and \
                pid != str(os.getpid()):
            left.append('%s %s' % (pid, cmd.replace('\0', ' ')[:120]))
    check(not left, 'no CASA process of K or T left: %s' % left)
    # The rank goes on: one worker rank ran all 5 units; after each failed
    # unit it started the next one, or that unit was its last and the
    # sweep then finished normally.
    ranks = set(int(u['rank']) for u in units.values())
    check(ranks == {1}, 'all units ran on rank 1 (the one worker): ranks %s' % sorted(ranks))
    log = open(os.path.join(a.sweep, 'run.log'), errors='replace').read().splitlines()
    seq = []  # (event, unit) of rank 1 in log order
    for line in log:
        if '[1] ' not in line:
            continue
        rest = line.split('[1] ', 1)[1]
        if ': CASA step 01-import' in rest or ': CASA step 00-restore' in rest:
            seq.append(('start', rest.split('unit ', 1)[1].split(':', 1)[0]))
        elif ' failed: ' in rest and 'unit ' in rest:
            seq.append(('failed', rest.split('unit ', 1)[1].split(' ', 1)[0]))
    starts = [u for ev, u in seq if ev == 'start']
    check(sorted(starts) == sorted(st), 'rank 1 started all 5 units once: %s' % starts)
    finished = any('sweep finished: 2 done, 3 failed' in l for l in log)
    went_on = 0
    for uid in (E, K, TT):
        i = [j for j, x in enumerate(seq) if x == ('failed', uid)]
        nxt = [u for ev, u in seq[i[0] + 1:] if ev == 'start'] if i else []
        if nxt:
            went_on += 1
        check(bool(i) and (bool(nxt) or (starts and starts[-1] == uid and finished)),
              '%s failed on rank 1, which then %s' % (
                  uid, ('went on with %s' % nxt[0]) if nxt else
                  'had no unit left; sweep finished: %s' % finished))
    check(went_on >= 2, 'rank 1 went on after %d of the 3 failures' % went_on)
    # Hostile names: imaged (or rejected), never executed.
    for sfx in ('sq', 'dq', 'tq'):
        check(not os.path.exists('%s-%s' % (a.marker, sfx)),
              'marker %s-%s not created' % (a.marker, sfx))
    t = T[H]
    hostile = [f for f in t['fields'] if 'os.system' in f['name']]
    names = set(s(r['source']) for r in images if s(r['unit_id']) == H)
    for f in hostile:
        hit = [n for n in names if f['name'] == n or f['name'].startswith(n)]
        check(len(hit) == 1, 'hostile field imaged under its own name: %r' % f['name'])
    files = [s(r['file']) for r in images if s(r['unit_id']) == H]
    check(len(files) == 5 and all("'" not in x and '"' not in x and ' ' not in x
                                  for x in files),
          '5 images of H with file-safe names: %s' % files)
    for r in images:
        if s(r['unit_id']) == H:
            f = field_of(t, s(r['source']))
            tr = cont_truth(f, r['freq_hz'])
            check(abs(r['peak_jy'] / tr - 1) < FLUX_TOL,
                  'H %r aggregate peak %.4f Jy at %.2f GHz, truth %.4f Jy'
                  % (f['name'][:24], r['peak_jy'], r['freq_hz'] / 1e9, tr))
    s_rows = [r for r in images if s(r['unit_id']) == S]
    check(len(s_rows) == 2, 'S imaged: %d images' % len(s_rows))
    # The failed units' logs are kept, with the reason.
    for uid in (E, K, TT):
        check(os.path.isdir(os.path.join(out_dir(a.sweep, uid), 'logs')),
              '%s: logs kept in the output directory' % uid)


# ---- mpilaunch ----------------------------------------------------------

def mpilaunch(a):
    """S with every CASA step run by the worker rank as a child MPI job
    (mpirun -n 1 as the launcher, in mpicasa's place): done, imaged, and
    each step's output shows it ran as rank 0 of its own 1-rank job (the
    sweep itself is a 2-rank job, whose variables the child must not see)."""
    units, images, _, _ = load(a.sweep)
    uid = 'uid___A002_Xc0ffee_X4'
    u = units.get(uid)
    check(u is not None and s(u['status']) == 'done',
          '%s done under the mpirun launcher (%s)' % (uid, s(u['error']) if u is not None else 'no row'))
    check(len(images) == 2, '%d images (2 calibrators, mfs)' % len(images))
    logs = os.path.join(out_dir(a.sweep, uid), 'logs')
    outs = sorted(glob.glob(os.path.join(logs, '0*.out')))
    steps = [os.path.basename(p)[:-4] for p in outs]
    check(steps == ['01-import', '02-metadata', '03-calibrate', '04-split', '05-image'],
          'steps %s' % steps)
    spaces = set()
    for p in outs:
        text = open(p, errors='replace').read()
        line = [l for l in text.splitlines() if l.startswith('launcher_shim: rank ')]
        ok = len(line) == 1 and line[0].startswith('launcher_shim: rank 0 of an MPI job of size 1 ')
        if ok:
            spaces.add(line[0].rsplit('(', 1)[-1])
        check(ok, '%s: %s' % (os.path.basename(p), line[0] if line else 'not under mpirun'))
    check(len(spaces) == len(outs), 'each step its own MPI job: %d namespaces' % len(spaces))


# ---- unavailable -----------------------------------------------------------

def unavailable(a):
    for name, want in (('generate', 'casa:ECHILD:step calibrate: CASA error: calibration = '
                        'generate needs analysisUtils'),
                       ('restore', 'casa:ECONFIG:calibration = restore needs the delivered '
                        'script/*scriptForPI.py')):
        units, images, _, _ = load(os.path.join(a.sweep, name))
        u = units.get('uid___A002_Xc0ffee_X4')
        err = s(u['error']) if u is not None else ''
        check(u is not None and s(u['status']) == 'failed' and err.startswith(want),
              '%s: %s' % (name, err))
        check(len(images) == 0, '%s: no images' % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('what', choices=('accept', 'options', 'removal', 'failures', 'mpilaunch', 'unavailable'))
    ap.add_argument('sweep')
    ap.add_argument('data')
    ap.add_argument('--reference')
    ap.add_argument('--marker')
    ap.add_argument('--limit', type=int, default=90)
    ap.add_argument('--casa-python', help='the CASA venv python: check /runs casa_version')
    a = ap.parse_args()
    {'accept': accept, 'options': options, 'removal': removal, 'failures': failures_,
     'mpilaunch': mpilaunch, 'unavailable': unavailable}[a.what](a)
    if a.what not in ('unavailable', 'removal'):
        runs_provenance(a)
    if failures:
        print('%d check(s) failed' % len(failures))
        return 1
    print('all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
