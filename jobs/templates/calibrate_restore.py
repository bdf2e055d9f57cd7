# ---- step: calibrate (restore) -- run the delivered scriptForPI.py (ALMA
# QA2 package: script/, calibration/ with the auxiliary files, raw/ with
# the ASDMs) in its own directory, as the archive's instructions say; the
# calibrated MS it leaves in calibrated/ is the input of the next steps.
# This executes the delivered script: it comes from the archive's package,
# not from the data's names.
def step():
    import glob
    scriptdir = os.path.dirname(ASW['script'])
    top = os.path.dirname(scriptdir)
    for need in ('raw', 'calibration'):
        if not os.path.isdir(os.path.join(top, need)):
            raise StepError('restore needs %s/ next to script/ (the delivered '
                            'package), not found in %s' % (need, top))
    g = {'__name__': '__main__', '__file__': ASW['script']}
    exec('from casatasks import *\nfrom casatools import *', g)
    g['SPACESAVING'] = 1
    g['DOSPLIT'] = True
    os.chdir(scriptdir)
    with open(ASW['script']) as f:
        code = compile(f.read(), ASW['script'], 'exec')
    pos = _logsize()
    try:
        exec(code, g)
    except SystemExit as e:
        if e.code not in (None, 0):
            raise StepError('scriptForPI.py exited with %s' % e.code)
    except Exception as e:
        sev = _severe_since(pos)
        raise StepError('scriptForPI.py: %s%s' % (e, (' [SEVERE: %s]' % sev[0]) if sev else ''))
    os.chdir(ASW['workdir'])
    cands = sorted(glob.glob(os.path.join(top, 'calibrated', '*.ms.split.cal')) +
                   glob.glob(os.path.join(top, 'calibrated', 'calibrated*.ms')))
    want = [c for c in cands if ASW['uid'] in os.path.basename(c)] or cands
    if not want:
        raise StepError('scriptForPI.py left no calibrated MS in %s/calibrated'
                        % top)
    return {'vis': want[0]}


_main(step)
