#!/usr/bin/env python3
"""Simulate one ALMA-like execution block with casatools and pack it as an
archive raw tar (ALMA layout), with its truth.

Run with the CASA venv's python (docs/casa.md). The EB has >= 8 12-m
antennas taken from casadata's ALMA configuration, 4 spectral windows in
Band 3 (spw 0 narrow, 48 channels, for the absorption line; spws 1-3 wide,
4 channels each), a bandpass/flux calibrator and a phase calibrator of known
flux and spectral index, a science target, optionally a check source and
extra calibrator fields with hostile names, scan intents in the STATE table,
thermal noise that scales with channel width, optional antenna gain errors
(amplitude, phase with drifts, bandpass ripple) and an optional absorption
line (HNC 1-0) in the phase calibrator at a given LSRK radio velocity.

The visibilities are computed here (point sources at the phase centres:
V = S(nu) for XX and YY), so the truth is exact. The MS is then exported as
an ASDM with casatasks.exportasdm and the ASDM's Scan/Subscan/Main tables are
rewritten so that each visit of a field is one scan carrying its intents
(exportasdm writes the whole EB as one OBSERVE_TARGET scan); the result is
checked by importing it back with importasdm (--check-import).

Outputs in --out:
  <project>_<uid>.asdm.sdm.tar   the raw tar (ALMA layout, --format asdm)
                                 or <project>_<uid>.ms.tar (--format ms)
  <uid>.truth.json               fields, spws, per-spw truth fluxes, line
  flux.csv                       catalogue fluxes of the calibrators (as
                                 the pipeline's flux.csv)
Exit 0 on success, 1 on failure.
"""
import argparse
import json
import math
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time

C_KMS = 299792.458
# Rest frequency of HNC(1-0), the injected absorption line.
LINE_REST_HZ = 90.663568e9
LINE_SPECIES = 'HNC(1-0)'
ANTENNA_CFG = 'alma/simmos/alma.cycle10.1.cfg'
# Near the transit of the fields (LST ~19.7 h at ALMA): elevation ~80 deg.
REF_TIME = '2024/06/01/07:30:00'
INTEGRATION_S = 6.0
BLOCK_S = 30.0  # every scan is a multiple of this (see fix_asdm)
# Noise per visibility (one polarisation) for a 250 MHz channel and 6 s.
SIGMA_REF_JY = 0.02
SIGMA_REF_BW_HZ = 250e6

# Spectral windows: (centre or None for the line spw, nchan, width Hz).
SPWS = [(None, 48, 325.5208333e3), (92.0e9, 4, 500e6),
        (102.0e9, 4, 500e6), (104.0e9, 4, 500e6)]

HOSTILE = [
    "J0000+0000'); import os; os.system('touch {m}-sq')",
    'J0000+0000"); import os; os.system("touch {m}-dq")',
    "J0000+0000'''); import os; os.system('''touch {m}-tq')",
]

INTENTS = {
    'bp': 'CALIBRATE_BANDPASS CALIBRATE_FLUX CALIBRATE_WVR',
    'ph': 'CALIBRATE_PHASE CALIBRATE_WVR',
    'ch': 'OBSERVE_CHECK_SOURCE CALIBRATE_WVR',
    'sci': 'OBSERVE_TARGET',
}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--uid', default='uid___A002_Xc0ffee_X1',
                    help='EB uid (sanitized form)')
    ap.add_argument('--mous', default='uid___A001_Xc0ffee_X3')
    ap.add_argument('--project', default='2023.1.00001.S')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--nant', type=int, default=10)
    ap.add_argument('--gain-errors', action='store_true')
    ap.add_argument('--line', action='store_true',
                    help='absorption line in the phase calibrator')
    ap.add_argument('--line-vlsrk', type=float, default=8.0)
    ap.add_argument('--line-fwhm', type=float, default=3.0)
    ap.add_argument('--line-tau', type=float, default=0.7)
    ap.add_argument('--check-source', action='store_true')
    ap.add_argument('--hostile', default='',
                    help='marker path prefix: add three calibrator fields '
                         'whose names try to run "touch <prefix>-sq|dq|tq"')
    ap.add_argument('--format', choices=('asdm', 'ms'), default='asdm')
    ap.add_argument('--check-import', action='store_true',
                    help='import the ASDM back and check fields/intents')
    ap.add_argument('--keep-work', action='store_true')
    args, _ = ap.parse_known_args()
    return args


def read_cfg(path):
    x, y, z, d, pads = [], [], [], [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            p = line.split()
            x.append(float(p[0]))
            y.append(float(p[1]))
            z.append(float(p[2]))
            d.append(float(p[3]))
            pads.append(p[4])
    return x, y, z, d, pads


def field_plan(args):
    """Fields: name, direction, role, flux at 100 GHz, spectral index."""
    f = [dict(name='J1924-2914', ra='19h24m51.056s', dec='-29d14m30.12s',
              role='bp', flux=1.6, alpha=-0.55),
         dict(name='J1938-3047', ra='19h38m00.0s', dec='-30d47m00.0s',
              role='ph', flux=0.62, alpha=-0.80),
         dict(name='Target_A', ra='19h35m00.0s', dec='-30d20m00.0s',
              role='sci', flux=0.010, alpha=0.0)]
    if args.check_source:
        f.append(dict(name='J1945-3025', ra='19h45m00.0s', dec='-30d25m00.0s',
                      role='ch', flux=0.21, alpha=-0.40))
    if args.hostile:
        for i, h in enumerate(HOSTILE):
            f.append(dict(name=h.format(m=args.hostile),
                          ra='19h3%dm00.0s' % (2 + 2 * i),
                          dec='-30d0%dm00.0s' % (2 + 2 * i),
                          role='ch', flux=0.30 + 0.05 * i, alpha=-0.6))
    return f


def schedule(fields):
    """Scans as (field index, seconds): bandpass, then phase-referenced
    target visits, check source and hostile fields next to the phase
    calibrator."""
    idx = {f['role']: i for i, f in reversed(list(enumerate(fields)))}
    s = [(idx['bp'], 90)]
    extra = [i for i, f in enumerate(fields) if f['role'] == 'ch']
    for k in range(3):
        s.append((idx['ph'], 30))
        s.append((idx['sci'], 60))
        if k < len(extra):
            s.append((extra[k], 30))
        if k == 2:
            for e in extra[3:]:
                s.append((e, 30))
    s.append((idx['ph'], 30))
    return s


def main():
    args = parse_args()
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix='make-eb-', dir=os.path.abspath(args.out))
    home = os.path.join(work, 'home')
    os.makedirs(home)
    os.environ['HOME'] = home
    cwd = os.getcwd()
    os.chdir(work)
    ok = False
    try:
        ok = run(args, work)
    finally:
        os.chdir(cwd)
        if ok and not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print('work directory kept: %s' % work)
    return 0 if ok else 1


def run(args, work):
    import numpy as np
    import casatools
    import casatasks

    t0 = time.monotonic()
    rng = np.random.default_rng(args.seed)
    me = casatools.measures()
    qa = casatools.quanta()
    sm = casatools.simulator()
    tb = casatools.table()

    x, y, z, d, pads = read_cfg(casatools.ctsys.resolve(ANTENNA_CFG))
    # A centrally condensed subset, as ALMA's configurations are: the
    # innermost 70 % of the antennas and the rest spread over the outer
    # pads (natural and Briggs weighting then give clearly different beams).
    r = np.hypot(np.array(x) - np.mean(x), np.array(y) - np.mean(y))
    order = list(np.argsort(r))
    n_in = max(2, int(round(0.7 * args.nant)))
    n_out = args.nant - n_in
    outer = order[n_in:]
    sel = order[:n_in] + [outer[int(k)] for k in
                          np.linspace(len(outer) - 1, 0, n_out, endpoint=False)]
    sel = sorted(int(i) for i in sel)
    x = [x[i] for i in sel]
    y = [y[i] for i in sel]
    z = [z[i] for i in sel]
    d = [d[i] for i in sel]
    pads = [pads[i] for i in sel]
    nant = len(x)
    names = ['DA%02d' % (41 + i) for i in range(nant)]

    fields = field_plan(args)
    sched = schedule(fields)
    ph = [i for i, f in enumerate(fields) if f['role'] == 'ph'][0]

    # The line spw is centred on the line's topocentric frequency at the
    # middle of the EB, so the cube holds the whole line.
    total_s = sum(s for _, s in sched)
    ref_epoch = me.epoch('UTC', REF_TIME)
    t_start_s = -total_s / 2.0
    mid = me.epoch('UTC', qa.add(ref_epoch['m0'], '0s'))
    obs = me.observatory('ALMA')
    me.doframe(obs)
    me.doframe(mid)
    me.doframe(me.direction('J2000', fields[ph]['ra'], fields[ph]['dec']))
    f_lsrk = LINE_REST_HZ * (1.0 - args.line_vlsrk / C_KMS)
    # LSRK -> TOPO: convert 1 Hz offsets to get the ratio.
    topo = me.measure(me.frequency('LSRK', qa.quantity(f_lsrk, 'Hz')), 'TOPO')
    f_line_topo = topo['m0']['value']
    spws = []
    for i, (centre, nchan, width) in enumerate(SPWS):
        if centre is None:
            centre = round(f_line_topo / 1e3) * 1e3
        f0 = centre - width * (nchan / 2.0 - 0.5)
        spws.append(dict(id=i, nchan=nchan, width_hz=width, chan0_hz=f0,
                         centre_hz=centre))

    msname = os.path.join(work, 'sim.ms')
    sm.open(msname)
    sm.setconfig(telescopename='ALMA', x=x, y=y, z=z, dishdiameter=d,
                 mount=['alt-az'], antname=names, padname=pads,
                 coordsystem='local', referencelocation=obs)
    for s in spws:
        sm.setspwindow(spwname='SPW%d' % s['id'], freq='%.3fHz' % s['chan0_hz'],
                       deltafreq='%.6fHz' % s['width_hz'],
                       freqresolution='%.6fHz' % s['width_hz'],
                       nchannels=s['nchan'], stokes='XX YY')
    sm.setfeed(mode='perfect X Y', pol=[''])
    for f in fields:
        sm.setfield(sourcename=f['name'],
                    sourcedirection=me.direction('J2000', f['ra'], f['dec']))
    sm.setlimits(shadowlimit=0.001, elevationlimit='8.0deg')
    sm.setauto(autocorrwt=0.0)
    sm.settimes(integrationtime='%gs' % INTEGRATION_S, usehourangle=False,
                referencetime=ref_epoch)
    t = t_start_s
    for fi, dur in sched:
        for s in spws:
            sm.observe(sourcename=fields[fi]['name'], spwname='SPW%d' % s['id'],
                       starttime='%gs' % t, stoptime='%gs' % (t + dur))
        t += dur
    sm.close()

    fix_ms(tb, msname, fields, sched, spws, args, rng, np, me, qa, obs)
    truth = make_truth(args, fields, spws, np, me, qa, obs, ref_epoch, ph,
                       f_lsrk)
    sorted_ms = os.path.join(work, '%s.ms' % args.uid)
    tb.open(msname)
    q = tb.query('', sortlist='TIME,DATA_DESC_ID,ANTENNA1,ANTENNA2')
    c = q.copy(sorted_ms, deep=True)
    c.close()
    q.close()
    tb.close()

    member = '%s/science_goal.uid___A001_Xc0ffee_X1/group.uid___A001_Xc0ffee_X2/member.%s' % (
        args.project, args.mous)
    if args.format == 'asdm':
        asdm = os.path.join(work, '%s.asdm.sdm' % args.uid)
        casatasks.exportasdm(vis=sorted_ms, asdm=asdm, datacolumn='DATA',
                             subscanduration='%gs' % BLOCK_S,
                             archiveid='A002', rangeid='Xc0ffee',
                             apcorrected=False, verbose=False)
        if not os.path.isfile(os.path.join(asdm, 'Main.xml')):
            print('FAIL: exportasdm wrote no ASDM')
            return False
        nscan = fix_asdm(asdm, fields, sched)
        print('asdm        %s: %d scans with intents' % (os.path.basename(asdm), nscan))
        if args.check_import and not check_import(casatasks, casatools, asdm, work,
                                                  fields, sched):
            return False
        top = asdm
        tarname = '%s_%s.asdm.sdm.tar' % (args.project, args.uid)
    else:
        top = sorted_ms
        tarname = '%s_%s.ms.tar' % (args.project, args.uid)
    tarpath = os.path.join(args.out, tarname)
    with tarfile.open(tarpath + '.tmp', 'w', format=tarfile.PAX_FORMAT) as tf:
        tf.add(top, arcname='%s/raw/%s' % (member, os.path.basename(top)))
    os.replace(tarpath + '.tmp', tarpath)

    truth['tar'] = tarname
    truth['tar_bytes'] = os.path.getsize(tarpath)
    with open(os.path.join(args.out, '%s.truth.json' % args.uid), 'w') as f:
        json.dump(truth, f, indent=1)
    write_flux_csv(os.path.join(args.out, '%s.flux.csv' % args.uid), args,
                   truth)
    print('wrote       %s (%d bytes) in %.1f s' % (tarpath, truth['tar_bytes'],
                                                  time.monotonic() - t0))
    return True


def spectrum(f, freqs_hz, np):
    return f['flux'] * (freqs_hz / 100e9) ** f['alpha']


def fix_ms(tb, msname, fields, sched, spws, args, rng, np, me, qa, obs):
    """One polarisation setup, intents in STATE, scan numbers per visit, one
    observation time range; then the visibilities."""
    tb.open(msname + '/DATA_DESCRIPTION', nomodify=False)
    tb.putcol('POLARIZATION_ID', np.zeros(tb.nrows(), np.int32))
    tb.close()
    tb.open(msname + '/POLARIZATION', nomodify=False)
    if tb.nrows() > 1:
        tb.removerows(list(range(1, tb.nrows())))
    tb.close()

    roles = sorted(set(f['role'] for f in fields))
    tb.open(msname + '/STATE', nomodify=False)
    n0 = tb.nrows()
    tb.addrows(len(roles) - n0)
    modes = [','.join('%s#ON_SOURCE' % i for i in INTENTS[r].split()) for r in roles]
    tb.putcol('OBS_MODE', np.array(modes))
    tb.putcol('CAL', np.zeros(len(roles)))
    tb.putcol('LOAD', np.zeros(len(roles)))
    tb.putcol('REF', np.zeros(len(roles), bool))
    tb.putcol('SIG', np.ones(len(roles), bool))
    tb.putcol('SUB_SCAN', np.ones(len(roles), np.int32))
    tb.putcol('FLAG_ROW', np.zeros(len(roles), bool))
    tb.close()

    tb.open(msname, nomodify=False)
    time_ = tb.getcol('TIME')
    fid = tb.getcol('FIELD_ID')
    ddid = tb.getcol('DATA_DESC_ID')
    a1 = tb.getcol('ANTENNA1')
    a2 = tb.getcol('ANTENNA2')
    interval = float(tb.getcell('INTERVAL', 0))
    tb.putcol('STATE_ID', np.array([roles.index(fields[f]['role']) for f in fid],
                                   np.int32))
    t0 = time_.min()
    edges = np.cumsum([0] + [s for _, s in sched])
    scan = np.searchsorted(edges, time_ - t0 + interval / 2.0, side='right')
    tb.putcol('SCAN_NUMBER', scan.astype(np.int32))
    tspan = (time_.min() - interval / 2, time_.max() + interval / 2)

    nant = int(max(a1.max(), a2.max())) + 1
    ph = [i for i, f in enumerate(fields) if f['role'] == 'ph'][0]
    # Line: optical depth profile in the phase calibrator, computed per
    # topocentric channel with the LSRK conversion at the EB's middle.
    line = None
    if args.line:
        line = {}
        me.doframe(obs)
        me.doframe(me.epoch('UTC', REF_TIME))
        me.doframe(me.direction('J2000', fields[ph]['ra'], fields[ph]['dec']))
        for s in spws:
            fr = s['chan0_hz'] + s['width_hz'] * np.arange(s['nchan'])
            v = np.array([C_KMS * (1 - me.measure(me.frequency('TOPO', qa.quantity(x, 'Hz')),
                                                  'LSRK')['m0']['value'] / LINE_REST_HZ)
                          for x in fr])
            tau = args.line_tau * np.exp(-4 * math.log(2) *
                                         ((v - args.line_vlsrk) / args.line_fwhm) ** 2)
            line[s['id']] = np.exp(-tau)
    # Gain errors: amplitude and phase per antenna, spw and polarisation,
    # phase drifting linearly in time, and a per-channel ripple.
    gains = None
    if args.gain_errors:
        gains = {}
        tt = (time_ - t0)
        for s in spws:
            nch = s['nchan']
            amp = 1.0 + 0.12 * rng.standard_normal((nant, 2))
            ph0 = rng.uniform(-np.pi, np.pi, (nant, 2))
            drift = np.radians(25.0) / 600.0 * rng.standard_normal((nant, 2))
            ripple = 1.0 + 0.05 * np.sin(2 * np.pi * np.arange(nch) / max(nch, 2)
                                         + rng.uniform(0, 2 * np.pi, (nant, 2, 1)))
            slope = np.radians(15.0) * rng.standard_normal((nant, 2, 1)) * \
                (np.arange(nch) / max(nch - 1, 1) - 0.5)
            amp[0] = 1.0
            ph0[0] = 0.0
            drift[0] = 0.0
            gains[s['id']] = (amp, ph0, drift, ripple, slope)
    for s in spws:
        rows = np.where(ddid == s['id'])[0]
        sub = tb.selectrows(rows.tolist())
        data = sub.getcol('DATA')
        fr = s['chan0_hz'] + s['width_hz'] * np.arange(s['nchan'])
        for i, f in enumerate(fields):
            m = fid[rows] == i
            spec = spectrum(f, fr, np)
            if line is not None and i == ph:
                spec = spec * line[s['id']]
            data[:, :, m] = spec[None, :, None]
        if gains is not None:
            amp, ph0, drift, ripple, slope = gains[s['id']]
            tt = time_[rows] - t0
            i1, i2 = a1[rows], a2[rows]
            for p in range(2):
                g1 = (amp[i1, p][None, :] * ripple[i1, p, :].T *
                      np.exp(1j * (ph0[i1, p] + drift[i1, p] * tt)[None, :] +
                             1j * slope[i1, p, :].T))
                g2 = (amp[i2, p][None, :] * ripple[i2, p, :].T *
                      np.exp(1j * (ph0[i2, p] + drift[i2, p] * tt)[None, :] +
                             1j * slope[i2, p, :].T))
                data[p] = data[p] * g1 * np.conj(g2)
        sigma = SIGMA_REF_JY * math.sqrt(SIGMA_REF_BW_HZ * 6.0 /
                                         (s['width_hz'] * interval))
        noise = sigma * (rng.standard_normal(data.shape) +
                         1j * rng.standard_normal(data.shape)) / math.sqrt(2)
        data = data + noise
        data[:, :, a1[rows] == a2[rows]] = 0
        sub.putcol('DATA', data.astype(np.complex64))
        sub.putcol('SIGMA', np.full((2, len(rows)), sigma, np.float32))
        sub.putcol('WEIGHT', np.full((2, len(rows)), 1.0 / sigma ** 2, np.float32))
        sub.close()
    tb.close()
    tb.open(msname + '/OBSERVATION', nomodify=False)
    tb.putcell('TIME_RANGE', 0, np.array(tspan))
    tb.putcell('PROJECT', 0, args.project)
    tb.close()


def make_truth(args, fields, spws, np, me, qa, obs, ref_epoch, ph, f_lsrk):
    """Per field and spw: the flux an mfs image of the spw shows (the mean
    over its channels, the line included) and the continuum at the spw's
    centre."""
    out = dict(uid=args.uid, mous=args.mous, project=args.project,
               mjd_start=float(me.epoch('UTC', REF_TIME)['m0']['value']),
               seed=args.seed, gain_errors=bool(args.gain_errors),
               spws=spws, fields=[], line=None,
               sigma_ref_jy=SIGMA_REF_JY)
    line_prof = {}
    if args.line:
        me.doframe(obs)
        me.doframe(ref_epoch)
        me.doframe(me.direction('J2000', fields[ph]['ra'], fields[ph]['dec']))
        for s in spws:
            fr = s['chan0_hz'] + s['width_hz'] * np.arange(s['nchan'])
            v = np.array([C_KMS * (1 - me.measure(me.frequency('TOPO', qa.quantity(x, 'Hz')),
                                                  'LSRK')['m0']['value'] / LINE_REST_HZ)
                          for x in fr])
            line_prof[s['id']] = np.exp(-args.line_tau * np.exp(
                -4 * math.log(2) * ((v - args.line_vlsrk) / args.line_fwhm) ** 2))
        out['line'] = dict(field=fields[ph]['name'], spw=0, species=LINE_SPECIES,
                           rest_hz=LINE_REST_HZ, v_lsrk_kms=args.line_vlsrk,
                           fwhm_kms=args.line_fwhm, tau_peak=args.line_tau,
                           f_lsrk_hz=f_lsrk)
    for i, f in enumerate(fields):
        per = []
        for s in spws:
            fr = s['chan0_hz'] + s['width_hz'] * np.arange(s['nchan'])
            spec = spectrum(f, fr, np)
            has_line = args.line and i == ph and s['id'] in line_prof and \
                line_prof[s['id']].min() < 0.99
            if args.line and i == ph:
                spec = spec * line_prof[s['id']]
            per.append(dict(spw=s['id'], freq_hz=float(fr.mean()),
                            flux_jy=float(spec.mean()),
                            cont_jy=float(spectrum(f, np.array([fr.mean()]), np)[0]),
                            line=bool(has_line)))
        out['fields'].append(dict(id=i, name=f['name'], role=f['role'],
                                  flux_100ghz_jy=f['flux'], alpha=f['alpha'],
                                  ra=f['ra'], dec=f['dec'], spws=per))
    return out


def write_flux_csv(path, args, truth):
    """The catalogue flux of the calibrators as the pipeline's flux.csv."""
    with open(path, 'w') as f:
        f.write('ms,field,spw,I,Q,U,V,spix,uvmin,uvmax,comment\n')
        for fl in truth['fields']:
            if fl['role'] == 'sci':
                continue
            for s in fl['spws']:
                f.write('%s.ms,%d,%d,%.6f,0.0,0.0,0.0,%.4f,0.0,0.0,'
                        '"# field=%s origin=simulation"\n'
                        % (args.uid, fl['id'], s['spw'], s['cont_jy'],
                           fl['alpha'], fl['name'].replace('"', '""')))


# ---- ASDM post-processing ----------------------------------------------

ROW = re.compile(r'<row>.*?</row>', re.S)


def tag(row, name):
    m = re.search(r'<%s>(.*?)</%s>' % (name, name), row, re.S)
    return m.group(1).strip() if m else None


def settag(row, name, value):
    return re.sub(r'<%s>.*?</%s>' % (name, name),
                  '<%s> %s </%s>' % (name, value, name), row, count=1, flags=re.S)


def fix_asdm(asdm, fields, sched):
    """exportasdm writes one scan per EB with intent OBSERVE_TARGET and
    subscans of --subscanduration per field and spw. Rewrite the Scan,
    Subscan and Main tables so that each visit of a field (a run of
    consecutive 30 s blocks) is one scan with the field's intents and the
    subscans of its spws numbered within it."""
    def rd(name):
        with open(os.path.join(asdm, name), encoding='latin-1') as f:
            return f.read()

    def wr(name, text):
        with open(os.path.join(asdm, name), 'w', encoding='latin-1') as f:
            f.write(text)

    sub = rd('Subscan.xml')
    rows = ROW.findall(sub)
    # Subscans sorted by start time; a new scan starts when the time jumps
    # to a new block of a different visit.
    info = []
    for r in rows:
        info.append(dict(row=r, scan=int(tag(r, 'scanNumber')),
                         sub=int(tag(r, 'subscanNumber')),
                         start=int(tag(r, 'startTime')),
                         end=int(tag(r, 'endTime')), field=tag(r, 'fieldName')))
    t0 = min(i['start'] for i in info)
    edges = []
    acc = 0
    for _, s in sched:
        edges.append(acc)
        acc += s
    visit_of = []
    for i in info:
        rel = (i['start'] - t0) / 1e9
        v = max(k for k, e in enumerate(edges) if e <= rel + 1e-3)
        visit_of.append(v)
    order = sorted(range(len(info)), key=lambda k: (visit_of[k], info[k]['start'],
                                                    info[k]['sub']))
    newnum = {}
    counters = {}
    for k in order:
        v = visit_of[k]
        counters[v] = counters.get(v, 0) + 1
        newnum[(info[k]['scan'], info[k]['sub'])] = (v + 1, counters[v])
    out_rows = []
    for k in order:
        r = info[k]['row']
        sc, ss = newnum[(info[k]['scan'], info[k]['sub'])]
        r = settag(r, 'scanNumber', sc)
        r = settag(r, 'subscanNumber', ss)
        out_rows.append(r)
    head = sub[:sub.index('<row>')]
    tail = sub[sub.rindex('</row>') + len('</row>'):]
    wr('Subscan.xml', head + '\n  '.join(out_rows) + tail)

    main = rd('Main.xml')
    mrows = ROW.findall(main)
    fixed = []
    for r in mrows:
        key = (int(tag(r, 'scanNumber')), int(tag(r, 'subscanNumber')))
        sc, ss = newnum[key]
        r = settag(r, 'scanNumber', sc)
        r = settag(r, 'subscanNumber', ss)
        fixed.append((sc, ss, r))
    fixed.sort(key=lambda t: (t[0], t[1]))
    head = main[:main.index('<row>')]
    tail = main[main.rindex('</row>') + len('</row>'):]
    wr('Main.xml', head + '\n  '.join(r for _, _, r in fixed) + tail)

    scan = rd('Scan.xml')
    srow = ROW.findall(scan)[0]
    out = []
    for v, (fi, dur) in enumerate(sched):
        ks = [k for k in range(len(info)) if visit_of[k] == v]
        if not ks:
            continue
        intents = INTENTS[fields[fi]['role']].split()
        n = len(intents)
        r = settag(srow, 'scanNumber', v + 1)
        r = settag(r, 'startTime', min(info[k]['start'] for k in ks))
        r = settag(r, 'endTime', max(info[k]['end'] for k in ks))
        r = settag(r, 'numIntent', n)
        r = settag(r, 'numSubscan', len(ks))
        r = re.sub(r'<scanIntent>.*?</scanIntent>',
                   '<scanIntent> 1 %d %s</scanIntent>' % (n, ' '.join(intents)), r, flags=re.S)
        r = re.sub(r'<calDataType>.*?</calDataType>',
                   '<calDataType> 1 %d %s</calDataType>' % (n, ' '.join(['FULL_RESOLUTION_CROSS'] * n)),
                   r, flags=re.S)
        r = re.sub(r'<calibrationOnLine>.*?</calibrationOnLine>',
                   '<calibrationOnLine> 1 %d %s </calibrationOnLine>' % (n, ' '.join(['false'] * n)),
                   r, flags=re.S)
        out.append(r)
    head = scan[:scan.index('<row>')]
    tail = scan[scan.rindex('</row>') + len('</row>'):]
    wr('Scan.xml', head + '\n  '.join(out) + tail)
    return len(out)


def check_import(casatasks, casatools, asdm, work, fields, sched):
    vis = os.path.join(work, 'roundtrip.ms')
    casatasks.importasdm(asdm=asdm, vis=vis, asis='', bdfflags=False,
                         lazy=False, process_flags=False, with_pointing_correction=False)
    msmd = casatools.msmetadata()
    msmd.open(vis)
    names = list(msmd.fieldnames())
    nscan = len(msmd.scannumbers())
    bp = list(msmd.fieldsforintent('CALIBRATE_BANDPASS*', asnames=True))
    phf = list(msmd.fieldsforintent('CALIBRATE_PHASE*', asnames=True))
    msmd.close()
    ok = (names == [f['name'] for f in fields] and nscan == len(sched) and
          bp == [f['name'] for f in fields if f['role'] == 'bp'] and
          phf == [f['name'] for f in fields if f['role'] == 'ph'])
    print('%s  importasdm round trip: %d fields, %d scans, bandpass %s, phase %s'
          % ('ok  ' if ok else 'FAIL', len(names), nscan, bp, phf))
    shutil.rmtree(vis, ignore_errors=True)
    return ok


if __name__ == '__main__':
    sys.exit(main())
