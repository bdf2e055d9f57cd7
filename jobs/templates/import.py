# ---- step: import -- ASDM to MS (importasdm), or check a delivered MS
def step():
    import casatools
    vis = ASW['vis']
    if ASW['input_kind'] == 'asdm':
        task('importasdm', asdm=ASW['asdm'], vis=vis, asis=ASW['asis'],
             bdfflags=ASW['bdfflags'], lazy=ASW['lazy'],
             process_flags=ASW['process_flags'], overwrite=True)
    if not os.path.isdir(vis):
        raise StepError('no measurement set at %s after import' % vis)
    msmd = casatools.msmetadata()
    msmd.open(vis)
    try:
        nrows = int(msmd.nrows())
        nfields = int(msmd.nfields())
    finally:
        msmd.close()
    if nrows == 0:
        raise StepError('the measurement set %s has no rows' % vis)
    log('%s: %d rows, %d fields' % (vis, nrows, nfields))
    return {'vis': vis, 'nrows': nrows, 'nfields': nfields}


_main(step)
