# ---- step: metadata -- what C needs to plan the unit, as JSON: fields and
# their intents, spectral windows and frequencies, antennas, baselines and
# uv distances, calibration tables present (SYSCAL, WVR).
def step():
    import casatools
    import numpy as np
    vis = ASW['vis']
    msmd = casatools.msmetadata()
    tb = casatools.table()
    msmd.open(vis)
    try:
        names = [str(n) for n in msmd.fieldnames()]
        fields = []
        for i, name in enumerate(names):
            pc = msmd.phasecenter(i)
            try:
                intents = sorted(str(x) for x in msmd.intentsforfield(i))
            except Exception:
                intents = []
            fields.append(dict(
                id=i, name=name,
                ra_deg=finite(math.degrees(pc['m0']['value']) % 360.0),
                dec_deg=finite(math.degrees(pc['m1']['value'])),
                intents=intents))
        spw_names = msmd.namesforspws()
        spws = []
        with_data = set()
        for i in range(len(names)):
            with_data.update(int(s) for s in msmd.spwsforfield(i))
        for s in range(msmd.nspw()):
            f = np.asarray(msmd.chanfreqs(s), float)
            w = np.abs(np.asarray(msmd.chanwidths(s), float))
            name = str(spw_names[s]) if s < len(spw_names) else ''
            nchan = int(len(f))
            if 'WVR' in name.upper() or (nchan == 4 and 170e9 < f.mean() < 200e9):
                kind = 'wvr'
            elif 'SQLD' in name.upper():
                kind = 'sqld'
            elif nchan == 1 or 'CH_AVG' in name.upper():
                kind = 'chavg'
            else:
                kind = 'science'
            spws.append(dict(
                id=s, name=name, nchan=nchan, kind=kind, has_data=s in with_data,
                chan0_hz=finite(f[0]), chan_width_hz=finite(w.mean()),
                min_freq_hz=finite(f.min() - w[f.argmin()] / 2),
                max_freq_hz=finite(f.max() + w[f.argmax()] / 2),
                centre_hz=finite(0.5 * (f.min() + f.max())),
                bandwidth_hz=finite(w.sum()),
                ref_freq_hz=finite(msmd.reffreq(s)['m0']['value'])))
        ants = []
        for a in range(msmd.nantennas()):
            d = msmd.antennadiameter(a)
            ants.append(dict(id=a, name=str(msmd.antennanames(a)[0]),
                             station=str(msmd.antennastations(a)[0]),
                             diameter_m=finite(d['value'])))
        present_intents = sorted(str(x) for x in msmd.intents())
        t = msmd.timerangeforobs(0)
        t0 = t['begin']['m0']['value']
        t1 = t['end']['m0']['value']
        telescope = str(msmd.observatorynames()[0])
    finally:
        msmd.close()
    tb.open(os.path.join(vis, 'ANTENNA'))
    try:
        pos = np.asarray(tb.getcol('POSITION'), float).T  # ITRF x, y, z (m)
    finally:
        tb.close()
    bl = []
    for a in range(len(pos)):
        for b in range(a + 1, len(pos)):
            bl.append(float(np.linalg.norm(pos[a] - pos[b])))
    # Projected uv distances of the cross-correlations, sampled so that a
    # large MS is read in bounded memory.
    tb.open(vis)
    try:
        nrow = tb.nrows()
        step_ = max(1, nrow // 200000)
        uvw = tb.getcol('UVW', 0, -1, step_)
        a1 = tb.getcol('ANTENNA1', 0, -1, step_)
        a2 = tb.getcol('ANTENNA2', 0, -1, step_)
    finally:
        tb.close()
    cross = a1 != a2
    uvd = np.hypot(uvw[0, cross], uvw[1, cross]) if cross.any() else np.zeros(1)
    # Second moments of the uv coverage (m^2): the curvature of the
    # naturally weighted PSF at its peak, hence the beam's axes (C side).
    if cross.any():
        u, v = uvw[0, cross], uvw[1, cross]
        uu, vv, uv = float(np.mean(u * u)), float(np.mean(v * v)), float(np.mean(u * v))
    else:
        uu = vv = uv = 0.0
    has_syscal = False
    if os.path.isdir(os.path.join(vis, 'SYSCAL')):
        tb.open(os.path.join(vis, 'SYSCAL'))
        try:
            # exportasdm and some old data carry SYSCAL rows without any
            # Tsys spectrum: nothing gencal could use.
            has_syscal = (tb.nrows() > 0 and 'TSYS_SPECTRUM' in tb.colnames()
                          and tb.iscelldefined('TSYS_SPECTRUM', 0))
        finally:
            tb.close()
    has_wvr = any(s['kind'] == 'wvr' and s['has_data'] for s in spws)
    import casatools as _ct
    meta = dict(vis=vis, telescope=telescope,
                casa_version=_ct.version_string(),
                mjd_start=finite(t0), mjd_end=finite(t1),
                intents=present_intents, fields=fields, spws=spws,
                antennas=ants,
                baselines=dict(n=len(bl), min_m=finite(min(bl) if bl else 0),
                               max_m=finite(max(bl) if bl else 0)),
                uv=dict(max_m=finite(uvd.max()),
                        p90_m=finite(np.percentile(uvd, 90)),
                        uu_m2=finite(uu), vv_m2=finite(vv), uv_m2=finite(uv)),
                has_syscal=bool(has_syscal), has_wvr=bool(has_wvr))
    write_json(ASW['out'], meta)
    log('%d fields, %d spws, %d antennas, uv max %.1f m'
        % (len(fields), len(spws), len(ants), uvd.max()))
    return {'out': ASW['out']}


_main(step)
