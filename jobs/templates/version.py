# ---- step: version -- the CASA version, for provenance
def step():
    import casatools
    out = {'casatools': casatools.version_string()}
    try:
        import casatasks
        out['casatasks'] = casatasks.version_string()
    except Exception as e:
        out['casatasks'] = 'unavailable: %s' % e
    log('casatools %s' % out['casatools'])
    return out


_main(step)
