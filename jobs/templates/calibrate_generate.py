# ---- step: calibrate (generate) -- as almaqso: analysisUtils' script
# generator (almaqa2csg) writes the calibration script for this MS, which
# then runs here. Needs analysisUtils and almaqa2csg importable, from
# [casa] analysis_utils or the interpreter's own path.
def step():
    for d in ASW['analysis_utils']:
        for sub in (d, os.path.join(d, 'analysis_scripts')):
            if os.path.isdir(sub) and sub not in sys.path:
                sys.path.insert(0, sub)
    try:
        import analysisUtils as aU  # noqa: F401
        import almaqa2csg as csg
    except ImportError as e:
        raise StepError('calibration = generate needs analysisUtils and '
                        'almaqa2csg importable by %s (%s): install them and '
                        'set [casa] analysis_utils to their directory'
                        % (sys.executable, e))
    vis = ASW['vis']
    os.chdir(os.path.dirname(vis))
    name = os.path.basename(vis)
    csg.generateReducScript(name, step='calib', chanWid=1,
                            useCalibratorService=False,
                            useLocalAlmaHelper=False)
    script = name + '.scriptForCalibration.py'
    if not os.path.isfile(script):
        raise StepError('almaqa2csg wrote no %s' % script)
    g = {'__name__': '__main__'}
    exec('from casatasks import *\nfrom casatools import *', g)
    with open(script) as f:
        code = compile(f.read(), script, 'exec')
    pos = _logsize()
    try:
        exec(code, g)
    except Exception as e:
        sev = _severe_since(pos)
        raise StepError('%s: %s%s' % (script, e, (' [SEVERE: %s]' % sev[0]) if sev else ''))
    os.chdir(ASW['workdir'])
    return {'vis': vis, 'script': os.path.join(os.path.dirname(vis), script)}


_main(step)
