# ---- step: calibrate (builtin) -- the project's own calibrator recipe:
# deterministic flags; Tsys and WVR when the data have them; flux scale from
# the catalogue flux (flux.csv) with setjy; bandpass; phase (per
# integration) and amplitude (per scan) gains on every calibrator; fluxscale
# to carry the scale to the other calibrators; applycal of each
# calibrator's own solutions. Science targets are not calibrated: they are
# split off next.
SOLAR_SYSTEM = ('Mars', 'Jupiter', 'Uranus', 'Neptune', 'Callisto', 'Europa',
                'Ganymede', 'Io', 'Titan', 'Ceres', 'Pallas', 'Vesta',
                'Juno')


def read_flux_csv(path, ms_name, fields):
    """Rows of a pipeline flux.csv for this MS: {(field id, spw): (I, spix)}.
    A row matches by MS name (or an empty one) and field id; a row of
    another field id matches by the field=NAME in its comment."""
    import csv
    out = {}
    if not path:
        return out
    byname = {f['name']: f['id'] for f in fields}
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            try:
                ms = (row.get('ms') or '').strip()
                fid = int(row['field'])
                spw = int(row['spw'])
                flux = float(row['I'])
                spix = float(row.get('spix') or 0.0)
            except (KeyError, TypeError, ValueError):
                continue
            if ms and ms != ms_name:
                continue
            comment = row.get('comment') or ''
            if 'field=' in comment:
                name = comment.split('field=', 1)[1].split(' origin=')[0].split(' intents=')[0].strip()
                if name in byname:
                    fid = byname[name]
            out[(fid, spw)] = (flux, spix)
    return out


def tsys_spwmap(vis, msmd, nspw):
    """For each spw, the Tsys spw covering most of its band."""
    import casatools
    import numpy as np
    tb = casatools.table()
    tb.open(os.path.join(vis, 'SYSCAL'))
    try:
        tsys_spws = sorted(set(int(s) for s in tb.getcol('SPECTRAL_WINDOW_ID')))
    finally:
        tb.close()
    spwmap = []
    for s in range(nspw):
        f = msmd.chanfreqs(s)
        lo, hi = float(min(f)), float(max(f))
        best, cover = s, -1.0
        for t in tsys_spws:
            g = msmd.chanfreqs(t)
            ov = min(hi, float(max(g))) - max(lo, float(min(g)))
            if ov > cover:
                best, cover = t, ov
        spwmap.append(best)
    return spwmap


def step():
    import casatools
    vis = ASW['vis']
    cal = ASW['caldir']
    os.makedirs(cal, exist_ok=True)
    spw = ','.join(str(s) for s in ASW['spws'])
    cal_fields = ASW['cal_fields']
    flux_fields = ASW['flux_fields']
    bp_fields = ASW['bp_fields']
    msmd = casatools.msmetadata()
    msmd.open(vis)
    try:
        fields = [dict(id=i, name=str(n)) for i, n in enumerate(msmd.fieldnames())]
        present = [str(i) for i in msmd.intents()]
        refant = ASW['refant'] or pick_refant(vis)
        nspw = msmd.nspw()
        centre = {s: float(sum(msmd.chanfreqs(s)) / len(msmd.chanfreqs(s)))
                  for s in ASW['spws']}
        spwmap = tsys_spwmap(vis, msmd, nspw) if ASW['has_tsys'] else []
    finally:
        msmd.close()
    log('reference antenna %s' % refant)

    # Deterministic flags.
    task('flagdata', vis=vis, mode='manual', autocorr=True, flagbackup=False)
    task('flagdata', vis=vis, mode='shadow', flagbackup=False)
    for pat in ('CALIBRATE_POINTING', 'CALIBRATE_ATMOSPHERE',
                'CALIBRATE_SIDEBAND_RATIO', 'CALIBRATE_FOCUS'):
        if any(pat in i for i in present):
            task('flagdata', vis=vis, mode='manual', intent='*%s*' % pat,
                 flagbackup=False)

    prior, prior_interp, prior_map = [], [], []
    if ASW['has_tsys']:
        t = os.path.join(cal, 'tsys.tbl')
        task('gencal', vis=vis, caltable=t, caltype='tsys')
        prior.append(t)
        prior_interp.append('linear,linear')
        prior_map.append(spwmap)
    if ASW['has_wvr']:
        t = os.path.join(cal, 'wvr.tbl')
        task('wvrgcal', vis=vis, caltable=t, toffset=0, wvrflag=[])
        prior.append(t)
        prior_interp.append('nearest')
        prior_map.append([])

    # Flux scale: the catalogue flux of each flux calibrator, per spw.
    table = read_flux_csv(ASW['flux_csv'], ASW['ms_name'], fields)
    setjy = []
    for f in flux_fields:
        name = fields[f]['name']
        rows = {s: v for (fid, s), v in table.items() if fid == f}
        if not rows:
            if name in SOLAR_SYSTEM:
                task('setjy', vis=vis, field=str(f), spw=spw,
                     standard='Butler-JPL-Horizons 2012', usescratch=False)
                setjy.append(dict(field=f, model='Butler-JPL-Horizons 2012'))
                continue
            raise StepError('no catalogue flux for the flux calibrator (field '
                            '%d) in %s: builtin calibration needs [casa] '
                            'flux_csv with its flux' % (f, ASW['flux_csv'] or
                                                        'no flux.csv'))
        for s in ASW['spws']:
            if s in rows:
                flux, spix = rows[s]
                ref = centre[s]
                # flux.csv gives I at the spw's centre frequency.
            else:
                # Nearest listed spw, extrapolated with its spectral index.
                near = min(rows, key=lambda k: abs(k - s))
                flux, spix = rows[near]
                ref = centre.get(near, centre[s])
            task('setjy', vis=vis, field=str(f), spw=str(s), standard='manual',
                 fluxdensity=[flux, 0, 0, 0], spix=[spix],
                 reffreq='%.1fHz' % ref, usescratch=False)
            setjy.append(dict(field=f, spw=s, flux_jy=flux, spix=spix))

    bpphase = os.path.join(cal, 'bpphase.gcal')
    bandpass = os.path.join(cal, 'bandpass.bcal')
    phase_int = os.path.join(cal, 'phase_int.gcal')
    ampli = os.path.join(cal, 'ampli_inf.gcal')
    fluxtab = os.path.join(cal, 'flux_inf.fcal')
    bpf = ','.join(str(f) for f in bp_fields)
    allf = ','.join(str(f) for f in cal_fields)
    task('gaincal', vis=vis, caltable=bpphase, field=bpf, spw=spw,
         solint='int', refant=refant, calmode='p', minsnr=2.0,
         gaintable=prior, interp=prior_interp, spwmap=prior_map)
    task('bandpass', vis=vis, caltable=bandpass, field=bpf, spw=spw,
         solint='inf', combine='scan', refant=refant, solnorm=True,
         bandtype='B', minsnr=2.0, gaintable=prior + [bpphase],
         interp=prior_interp + ['linear'], spwmap=prior_map + [[]])
    task('gaincal', vis=vis, caltable=phase_int, field=allf, spw=spw,
         solint='int', refant=refant, calmode='p', minsnr=2.0,
         gaintable=prior + [bandpass], interp=prior_interp + ['linear,linear'],
         spwmap=prior_map + [[]])
    task('gaincal', vis=vis, caltable=ampli, field=allf, spw=spw,
         solint='inf', refant=refant, calmode='ap', minsnr=2.0,
         gaintable=prior + [bandpass, phase_int],
         interp=prior_interp + ['linear,linear', 'linear'],
         spwmap=prior_map + [[], []])
    transfer = [f for f in cal_fields if f not in flux_fields]
    fluxscale = {}
    if transfer:
        fs = task('fluxscale', vis=vis, caltable=ampli, fluxtable=fluxtab,
                  reference=','.join(str(f) for f in flux_fields),
                  transfer=','.join(str(f) for f in transfer))
        for k, v in (fs or {}).items():
            if not str(k).isdigit() or not isinstance(v, dict):
                continue
            per = {}
            for s in ASW['spws']:
                e = v.get(str(s))
                if isinstance(e, dict) and 'fluxd' in e:
                    per[str(s)] = finite(e['fluxd'][0])
            fluxscale[str(k)] = per
    else:
        fluxtab = ampli
    for f in cal_fields:
        task('applycal', vis=vis, field=str(f),
             gaintable=prior + [bandpass, phase_int, fluxtab],
             gainfield=[''] * len(prior) + ['', str(f), str(f)],
             interp=prior_interp + ['linear,linear', 'linear', 'linear'],
             spwmap=prior_map + [[], [], []], calwt=False, flagbackup=False)
    return {'refant': refant, 'setjy': setjy, 'fluxscale': fluxscale,
            'tables': prior + [bandpass, phase_int, fluxtab]}


_main(step)
