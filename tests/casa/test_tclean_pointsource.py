#!/usr/bin/env python3
"""End-to-end check of the real modular CASA used by almasweep's casa backend.

Simulates a short ALMA Band 3 observation of a point source of known flux
with casatools.simulator, images it with the real casatasks.tclean and checks
with casatools.image that the restored peak at the phase centre comes back at
the input flux (within --tolerance). Run with the CASA venv's python (made by
scripts/bootstrap.sh --casa); tests/casa/CMakeLists.txt registers it as the
ctest test `casa.tclean_pointsource` (label casa).

Everything happens in a fresh directory under --workroot, with HOME pointed
into it so that no ~/.casa of the caller is read or written. The directory is
removed afterwards unless --keep is given or the test failed.

Exit codes: 0 pass, 1 fail, 77 skip (casatools not importable and
ASW_REQUIRE_CASA is not 1).
"""
import argparse
import math
import os
import shutil
import sys
import tempfile
import time

SKIP = 77

# ALMA compact configuration shipped in casadata (43 x 12 m, max baseline
# ~160 m), resolved through CASA's own data path.
ANTENNA_CFG = 'alma/simmos/alma.cycle10.1.cfg'
SOURCE_DIR = ('J2000', '12h00m00.0s', '-30d00m00.0s')  # transits near zenith
FREQ_GHZ = 100.0
NCHAN = 4
CHAN_GHZ = 0.5
IMSIZE = 128
NITER = 100


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--workroot', default=os.environ.get('ASW_BUILD_DIR') or tempfile.gettempdir(),
                    help='parent directory of the temporary work directory')
    ap.add_argument('--flux', type=float, default=1.0, help='input point-source flux in Jy')
    ap.add_argument('--tolerance', type=float, default=0.03,
                    help='allowed relative error of the recovered flux')
    ap.add_argument('--noise', type=float, default=0.05,
                    help='simple visibility noise in Jy (0 for none)')
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    # casaconfig parses sys.argv itself (--noconfig, --configfile, ...); let
    # those through.
    args, _ = ap.parse_known_args()
    return args


def read_cfg(path):
    """Antenna positions (local tangent plane, m), diameters, pad names."""
    x, y, z, d, pads = [], [], [], [], []
    coordsys = 'LOC'
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if line.startswith('#'):
                if 'coordsys=' in line:
                    coordsys = line.split('=', 1)[1].split()[0]
                continue
            parts = line.split()
            x.append(float(parts[0]))
            y.append(float(parts[1]))
            z.append(float(parts[2]))
            d.append(float(parts[3]))
            pads.append(parts[4] if len(parts) > 4 else 'P%02d' % len(pads))
    if coordsys != 'LOC':
        raise RuntimeError('%s: expected coordsys=LOC, got %s' % (path, coordsys))
    return x, y, z, d, pads


def main():
    args = parse_args()
    require = os.environ.get('ASW_REQUIRE_CASA') == '1'
    os.makedirs(args.workroot, exist_ok=True)
    work = tempfile.mkdtemp(prefix='casa-tclean-', dir=os.path.abspath(args.workroot))
    home = os.path.join(work, 'home')
    os.makedirs(home)
    # Must happen before casatools is imported: casaconfig reads
    # ~/.casa/config.py at import time.
    os.environ['HOME'] = home
    os.chdir(work)  # casa-*.log lands here
    ok = False
    try:
        ok = run(args, work, require)
    finally:
        os.chdir('/')
        if ok is not False and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print('work directory kept: %s' % work)
    if ok is None:
        return SKIP
    return 0 if ok else 1


def run(args, work, require):
    t0 = time.monotonic()
    try:
        import casatools
        import casatasks
        import casaconfig.config as cfg
    except ImportError as exc:
        msg = 'cannot import modular CASA with %s: %s' % (sys.executable, exc)
        if require:
            print('FAIL: ' + msg)
            return False
        print('SKIP: ' + msg)
        return None
    t_import = time.monotonic() - t0
    print('python      %s' % sys.executable)
    print('casatools   %s' % casatools.version_string())
    print('casatasks   %s' % casatasks.version_string())
    print('config      %s' % ', '.join(cfg.load_success()))
    print('measures    %s (auto update: measures=%s data=%s)'
          % (cfg.measurespath, cfg.measures_auto_update, cfg.data_auto_update))

    me = casatools.measures()
    qa = casatools.quanta()
    cl = casatools.componentlist()
    sm = casatools.simulator()
    ia = casatools.image()
    msmd = casatools.msmetadata()
    tb = casatools.table()

    failures = []

    def check(cond, what):
        print('%s  %s' % ('ok  ' if cond else 'FAIL', what))
        if not cond:
            failures.append(what)

    cfgpath = casatools.ctsys.resolve(ANTENNA_CFG)
    if not os.path.isfile(cfgpath):
        print('FAIL: antenna configuration %s not found in CASA data path' % ANTENNA_CFG)
        return False
    x, y, z, diam, pads = read_cfg(cfgpath)
    nant = len(x)
    bmax = max(math.hypot(x[i] - x[j], y[i] - y[j])
               for i in range(nant) for j in range(i + 1, nant))
    lam = 299792458.0 / (FREQ_GHZ * 1e9)
    # ~5 pixels across the synthesized beam (lambda / Bmax).
    cell = round(math.degrees(lam / bmax) * 3600.0 / 5.0, 3)
    print('array       %s: %d antennas, Bmax %.1f m, cell %.3f arcsec' % (ANTENNA_CFG, nant, bmax, cell))

    msname = os.path.join(work, 'point.ms')
    clname = os.path.join(work, 'point.cl')
    srcdir = me.direction(*SOURCE_DIR)

    # ---- model: one point source of known flux ----------------------------
    cl.done()
    cl.addcomponent(dir='%s %s %s' % SOURCE_DIR, flux=args.flux, fluxunit='Jy',
                    freq='%gGHz' % FREQ_GHZ, shape='point')
    cl.rename(clname)
    cl.close()

    # ---- simulate ---------------------------------------------------------
    t1 = time.monotonic()
    sm.open(msname)
    sm.setconfig(telescopename='ALMA', x=x, y=y, z=z, dishdiameter=diam,
                 mount=['alt-az'], antname=['A%02d' % i for i in range(nant)],
                 padname=pads, coordsystem='local',
                 referencelocation=me.observatory('ALMA'))
    sm.setspwindow(spwname='B3', freq='%gGHz' % FREQ_GHZ,
                   deltafreq='%gGHz' % CHAN_GHZ, freqresolution='%gGHz' % CHAN_GHZ,
                   nchannels=NCHAN, stokes='XX YY')
    sm.setfeed(mode='perfect X Y', pol=[''])
    sm.setfield(sourcename='CAL', sourcedirection=srcdir)
    sm.setlimits(shadowlimit=0.001, elevationlimit='8.0deg')
    sm.setauto(autocorrwt=0.0)
    sm.settimes(integrationtime='10s', usehourangle=True,
                referencetime=me.epoch('UTC', '2024/06/01/00:00:00'))
    sm.observe(sourcename='CAL', spwname='B3', starttime='-150s', stoptime='150s')
    sm.setdata()
    sm.predict(complist=clname)
    if args.noise > 0:
        sm.setseed(20240601)
        sm.setnoise(mode='simplenoise', simplenoise='%gJy' % args.noise)
        sm.corrupt()
    sm.close()
    t_sim = time.monotonic() - t1

    msmd.open(msname)
    nrow = msmd.nrows()
    nants_ms = msmd.nantennas()
    msmd.close()
    tb.open(msname)
    data = tb.getcol('DATA')       # (npol, nchan, nrow)
    ant1 = tb.getcol('ANTENNA1')
    ant2 = tb.getcol('ANTENNA2')
    tb.close()
    cross = ant1 != ant2
    amps = abs(data[:, :, cross]).ravel()
    amps.sort()
    med = float(amps[len(amps) // 2])
    print('ms          %s: %d rows, %d antennas, %d cross-corr visibilities, median |V| %.4f Jy'
          % (os.path.basename(msname), nrow, nants_ms, amps.size, med))
    check(nants_ms == nant and nrow > 0, 'MS has %d antennas and %d rows' % (nants_ms, nrow))
    check(abs(med - args.flux) <= args.tolerance * args.flux,
          'median visibility amplitude %.4f Jy ~ %.3f Jy' % (med, args.flux))

    # ---- image with the real tclean -----------------------------------------
    imagename = os.path.join(work, 'point')
    t2 = time.monotonic()
    casatasks.tclean(vis=msname, imagename=imagename, datacolumn='data',
                     specmode='mfs', stokes='I', imsize=[IMSIZE, IMSIZE],
                     cell='%garcsec' % cell, gridder='standard',
                     deconvolver='hogbom', weighting='natural', niter=NITER,
                     gain=0.1, threshold='0Jy', interactive=False, pbcor=False)
    t_tclean = time.monotonic() - t2

    for ext in ('image', 'residual', 'psf', 'model', 'pb'):
        check(os.path.isdir('%s.%s' % (imagename, ext)), 'tclean wrote %s.%s' % (os.path.basename(imagename), ext))
    if not (os.path.isdir(imagename + '.image') and os.path.isdir(imagename + '.residual')):
        return report(failures, t_import, t_sim, t_tclean, t0)

    centre = [IMSIZE // 2, IMSIZE // 2]
    ia.open(imagename + '.image')
    st = ia.statistics()
    peak = float(st['max'][0])
    maxpos = [int(v) for v in st['maxpos'][:2]]
    pv = ia.pixelvalue(centre)
    centre_val = float(pv['value']['value'])
    beam = ia.restoringbeam()
    fit = ia.fitcomponents(region=casatools.regionmanager().box(
        blc=[centre[0] - 8, centre[1] - 8], trc=[centre[0] + 8, centre[1] + 8]))
    ia.close()
    ia.open(imagename + '.residual')
    rst = ia.statistics()
    ia.close()
    resid_max = max(abs(float(rst['max'][0])), abs(float(rst['min'][0])))

    fit_flux = float('nan')
    if fit.get('converged') and fit['results']['nelements'] > 0:
        fit_flux = float(fit['results']['component0']['flux']['value'][0])

    print('beam        %.3f x %.3f arcsec, pa %.1f deg'
          % (qa.convert(beam['major'], 'arcsec')['value'],
             qa.convert(beam['minor'], 'arcsec')['value'],
             qa.convert(beam['positionangle'], 'deg')['value']))
    print('image       peak %.5f Jy/beam at %s, centre %.5f Jy/beam, fitted flux %.5f Jy, '
          '|residual| max %.5f Jy/beam' % (peak, maxpos, centre_val, fit_flux, resid_max))

    tol = args.tolerance * args.flux
    check(qa.convert(beam['major'], 'arcsec')['value'] > 0, 'restoring beam is set')
    check(max(abs(maxpos[0] - centre[0]), abs(maxpos[1] - centre[1])) <= 1,
          'peak at the phase centre pixel %s (found %s)' % (centre, maxpos))
    check(abs(centre_val - args.flux) <= tol,
          'centre value %.5f Jy/beam within %.0f%% of input %.3f Jy (%+.2f%%)'
          % (centre_val, 100 * args.tolerance, args.flux, 100 * (centre_val / args.flux - 1)))
    check(abs(peak - args.flux) <= tol,
          'image peak %.5f Jy/beam within %.0f%% of input (%+.2f%%)'
          % (peak, 100 * args.tolerance, 100 * (peak / args.flux - 1)))
    check(math.isfinite(fit_flux) and abs(fit_flux - args.flux) <= tol,
          'fitted integrated flux %.5f Jy within %.0f%% of input' % (fit_flux, 100 * args.tolerance))
    check(resid_max < 0.02 * args.flux,
          'residual after %d iterations below 2%% of the source (%.5f Jy/beam)' % (NITER, resid_max))

    return report(failures, t_import, t_sim, t_tclean, t0)


def report(failures, t_import, t_sim, t_tclean, t0):
    print('timing      import %.1f s, simulate %.1f s, tclean %.1f s, total %.1f s'
          % (t_import, t_sim, t_tclean, time.monotonic() - t0))
    if failures:
        print('%d check(s) failed' % len(failures))
        return False
    print('all checks passed')
    return True


if __name__ == '__main__':
    sys.exit(main())
