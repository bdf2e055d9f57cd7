# ---- step: split -- the calibrator fields (chosen by intent in C; science
# targets excluded) and the science spws into their own MS, with the map
# from the original field and spw ids to the new ones (split renumbers).
def step():
    import casatools
    vis = ASW['vis']
    out = ASW['outputvis']
    msmd = casatools.msmetadata()
    msmd.open(vis)
    try:
        names = [str(n) for n in msmd.fieldnames()]
        dirs = [msmd.phasecenter(i) for i in range(len(names))]
        freqs = {s: float(msmd.chanfreqs(s)[0]) for s in ASW['spws']}
        cols = msmd.datacolumn() if hasattr(msmd, 'datacolumn') else None
    finally:
        msmd.close()
    datacolumn = ASW['datacolumn']
    if datacolumn == 'corrected':
        tb = casatools.table()
        tb.open(vis)
        try:
            if 'CORRECTED_DATA' not in tb.colnames():
                raise StepError('calibration left no CORRECTED_DATA column in %s' % vis)
        finally:
            tb.close()
    task('split', vis=vis, outputvis=out,
         field=','.join(str(f) for f in ASW['fields']),
         spw=','.join(str(s) for s in ASW['spws']),
         intent=ASW['intent'], datacolumn=datacolumn, keepflags=True)
    msmd.open(out)
    try:
        new_names = [str(n) for n in msmd.fieldnames()]
        new_dirs = [msmd.phasecenter(i) for i in range(len(new_names))]
        new_freqs = [float(msmd.chanfreqs(s)[0]) for s in range(msmd.nspw())]
    finally:
        msmd.close()

    def same_dir(a, b):
        return (abs(a['m0']['value'] - b['m0']['value']) < 1e-9 and
                abs(a['m1']['value'] - b['m1']['value']) < 1e-9)

    fmap = []
    for f in ASW['fields']:
        hit = [i for i, n in enumerate(new_names)
               if n == names[f] and same_dir(new_dirs[i], dirs[f])]
        if len(hit) != 1:
            raise StepError('field %d not found once in the split MS' % f)
        fmap.append(dict(orig=f, id=hit[0]))
    smap = []
    for s in ASW['spws']:
        hit = [i for i, v in enumerate(new_freqs) if abs(v - freqs[s]) < 1.0]
        if len(hit) != 1:
            raise StepError('spw %d not found once in the split MS' % s)
        smap.append(dict(orig=s, id=hit[0]))
    write_json(ASW['out'], dict(vis=out, fields=fmap, spws=smap))
    return {'vis': out, 'nfields': len(fmap), 'nspws': len(smap)}


_main(step)
