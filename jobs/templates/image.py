# ---- step: image -- per calibrator field: optional phase self-calibration
# (dynamic range before and after), then tclean in each requested mode
# (aggregate mfs "cont", mfs per spw, cubes per spw in LSRK radio with a
# common beam), exportfits of the pbcor and pb images under the names C
# chose (the pipeline's product naming), and statistics per image.
def image_stats(imagename):
    """Peak of the image near the centre, robust rms of the residual,
    beam; the dynamic range is peak / rms."""
    import casatools
    import numpy as np
    ia = casatools.image()
    ia.open(imagename + '.image')
    try:
        px = ia.getchunk(dropdeg=True)
        beam = ia.restoringbeam()
    finally:
        ia.close()
    ia.open(imagename + '.residual')
    try:
        res = ia.getchunk(dropdeg=True)
    finally:
        ia.close()
    px = np.asarray(px, float)
    res = np.asarray(res, float)
    if px.ndim == 3:  # cube: the brightest channel
        k = int(np.nanargmax(np.nanmax(px, axis=(0, 1))))
        px, res = px[:, :, k], res[:, :, k]
    n = px.shape[0]
    c = slice(n // 2 - max(2, n // 8), n // 2 + max(2, n // 8) + 1)
    peak = float(np.nanmax(px[c, c]))
    r = res[np.isfinite(res)]
    rms = float(1.4826 * np.median(np.abs(r - np.median(r)))) if r.size else float('nan')
    if 'major' in beam:
        b = beam
    elif 'beams' in beam:
        b = beam['beams']['*0']['*0']
    else:
        b = None
    out = dict(peak_jy=finite(peak), rms_jy=finite(rms),
               dr=finite(peak / rms) if rms > 0 else None)
    if b:
        qa = casatools.quanta()
        out.update(bmaj_arcsec=finite(qa.convert(b['major'], 'arcsec')['value']),
                   bmin_arcsec=finite(qa.convert(b['minor'], 'arcsec')['value']),
                   bpa_deg=finite(qa.convert(b['positionangle'], 'deg')['value']))
    return out


def vis_noise(vis, field, spws):
    """Per spw (ids of vis): the noise of one visibility's real part and
    the number of unflagged samples, from the scatter between adjacent
    channels (1.4826 MAD / sqrt 2: a continuum source cancels, a line
    touches few channels). At most ~5000 rows per spw are read."""
    import casatools
    import numpy as np
    msmd = casatools.msmetadata()
    msmd.open(vis)
    try:
        dd = {}
        for s in spws:
            ids = msmd.datadescids(spw=int(s))
            if len(ids):
                dd[s] = int(ids[0])
    finally:
        msmd.close()
    tb = casatools.table()
    tb.open(vis)
    out = {}
    try:
        for s, d in dd.items():
            q = tb.query('FIELD_ID==%d && DATA_DESC_ID==%d && ANTENNA1!=ANTENNA2'
                         % (int(field), d))
            try:
                n = q.nrows()
                if n == 0:
                    continue
                k = max(1, n // 5000)
                data = q.getcol('DATA', 0, -1, k)
                flag = q.getcol('FLAG', 0, -1, k)
            finally:
                q.close()
            if data.shape[1] < 2:
                continue
            ok = ~(flag[:, 1:, :] | flag[:, :-1, :])
            re = (data[:, 1:, :] - data[:, :-1, :]).real[ok]
            if re.size < 20:
                continue
            sig = 1.4826 * float(np.median(np.abs(re - np.median(re)))) / math.sqrt(2)
            nsamp = n * data.shape[0] * data.shape[1] * (1.0 - float(flag.mean()))
            if sig > 0 and nsamp > 0:
                out[s] = (sig, nsamp, data.shape[1])
    finally:
        tb.close()
    return out


def theory_rms(noise, spws, mode):
    """Natural-weighting image noise for Stokes I (Jy/beam) of an mfs image
    of the spws, or of one channel of a cube of the one spw."""
    if mode == 'cube':
        s = spws[0]
        if s not in noise:
            return None
        sig, n, nchan = noise[s]
        return sig / math.sqrt(n / nchan)
    inv = sum(n / sig ** 2 for sig, n, _ in (noise[s] for s in spws if s in noise))
    return 1.0 / math.sqrt(inv) if inv > 0 else None


def clean(vis, field, spw, mode, imagename, datacolumn, savemodel='none',
          rms=None, start=-1, nchan=-1, reffreq_hz=None):
    # With a noise estimate, clean down to nsigma x that noise: the nsigma
    # of tclean measures the residual, which a bright calibrator's
    # sidelobes dominate until late, so it would force a major cycle every
    # few iterations. Calibrators are point sources at the phase centre:
    # deep minor cycles are safe (cyclefactor, minpsffraction).
    if rms:
        stop = dict(nsigma=0.0, threshold='%.6gJy' % (ASW['nsigma'] * rms))
    else:
        stop = dict(nsigma=ASW['nsigma'], threshold='0Jy')
    kw = dict(vis=vis, field=str(field), spw=spw, imagename=imagename,
              datacolumn=datacolumn, stokes='I', imsize=[ASW['imsize']] * 2,
              cell='%.6farcsec' % ASW['cell_arcsec'], gridder='standard',
              deconvolver='hogbom', weighting=ASW['weighting'],
              niter=ASW['niter'], cyclefactor=0.025, minpsffraction=0.01,
              gain=0.1, pblimit=ASW['pblimit'], pbcor=True,
              interactive=False, savemodel=savemodel,
              parallel=ASW['parallel'])
    kw.update(stop)
    # A clean mask around the phase centre, where a calibrator is: without
    # it the minor cycles chase the mismatch between the wideband dirty
    # source and the PSF over the whole image, and the aggregate image's
    # peak comes out several per cent low.
    if ASW['mask_radius_arcsec'] > 0:
        c = ASW['imsize'] // 2
        kw.update(usemask='user', mask='circle[[%dpix,%dpix],%.3farcsec]'
                  % (c, c, ASW['mask_radius_arcsec']))
    if ASW['weighting'] == 'briggs':
        kw['robust'] = ASW['robust']
    if mode == 'cube':
        kw.update(specmode='cube', outframe='LSRK', veltype='radio',
                  restoringbeam='common', interpolation='linear')
        if nchan > 0:
            kw.update(start=int(start), width=1, nchan=int(nchan))
        else:
            kw.update(nchan=-1)
    else:
        kw.update(specmode='mfs')
        if reffreq_hz and math.isfinite(reffreq_hz):
            kw.update(reffreq='%.1fHz' % reffreq_hz)
    for ext in ('.image', '.image.pbcor', '.pb', '.psf', '.residual',
                '.model', '.sumwt', '.mask'):
        if os.path.isdir(imagename + ext):
            import shutil
            shutil.rmtree(imagename + ext)
    task('tclean', **kw)
    if not os.path.isdir(imagename + '.image.pbcor'):
        raise StepError('tclean wrote no %s.image.pbcor' % os.path.basename(imagename))


def selfcal(vis, field, name, datacolumn, rms):
    """Phase-only self-calibration of one field. A calibrator is a point
    source at the phase centre: with no model in the MS, gaincal takes
    exactly that, so the solutions do not depend on how good the first
    image is (a model cleaned from badly phased data would be wrong).
    Returns the statistics of the image before and the new data column."""
    sc = ASW['selfcal']
    refant = sc['refant'] or pick_refant(vis)
    pre = os.path.join(ASW['imagedir'], 'selfcal_pre_field%d' % field)
    clean(vis, field, '', 'mfs', pre, datacolumn, rms=rms)
    before = image_stats(pre)
    table = os.path.join(ASW['imagedir'], 'selfcal_field%d.gcal' % field)
    task('delmod', vis=vis, otf=True, field=str(field), scr=False)
    task('gaincal', vis=vis, caltable=table, field=str(field),
         solint=sc['solint'], refant=refant, calmode='p',
         minsnr=sc['minsnr'], gaintype='G')
    task('applycal', vis=vis, field=str(field), gaintable=[table],
         interp=['linear'], calwt=False, flagbackup=False)
    log('self-calibrated field %d (%s): dynamic range before %.1f'
        % (field, name, before['dr'] or float('nan')))
    return before, 'corrected'


def step():
    vis = ASW['vis']
    os.makedirs(ASW['imagedir'], exist_ok=True)
    os.makedirs(ASW['fitsdir'], exist_ok=True)
    images = []
    selfcal_out = []
    for fl in ASW['fields']:
        field = fl['id']
        datacolumn = ASW['datacolumn']
        spws = sorted(set(int(x) for j in ASW['jobs'] if j['field'] == field
                          for x in j['spw'].split(',')))
        noise = vis_noise(vis, field, spws)
        before = None
        if fl['selfcal']:
            before, datacolumn = selfcal(vis, field, fl['name'], datacolumn,
                                         theory_rms(noise, spws, 'mfs'))
        for job in [j for j in ASW['jobs'] if j['field'] == field]:
            imagename = os.path.join(ASW['imagedir'], job['name'])
            jspw = [int(x) for x in job['spw'].split(',')]
            rms = theory_rms(noise, jspw, job['mode'])
            clean(vis, field, job['spw'], job['mode'], imagename, datacolumn,
                  rms=rms, start=job['start'], nchan=job['nchan'],
                  reffreq_hz=job['reffreq_hz'])
            pbcor = os.path.join(ASW['fitsdir'], job['name'] + '.pbcor.fits')
            pb = os.path.join(ASW['fitsdir'], job['name'] + '.pb.fits')
            # FITS OBJECT: printable ASCII, at most 68 characters (a longer
            # value is a SEVERE error of exportfits). The full name is in
            # the catalogue.
            obj = ''.join(c if 32 <= ord(c) < 127 else '?' for c in fl['name'])[:68]
            for ext in ('.image.pbcor', '.pb'):
                task('imhead', imagename=imagename + ext, mode='put',
                     hdkey='object', hdvalue=obj)
            task('exportfits', imagename=imagename + '.image.pbcor',
                 fitsimage=pbcor, overwrite=True, velocity=False)
            task('exportfits', imagename=imagename + '.pb', fitsimage=pb,
                 overwrite=True, velocity=False)
            st = image_stats(imagename)
            st.update(rms_theory_jy=finite(rms), name=job['name'],
                      file=os.path.basename(pbcor),
                      pb_file=os.path.basename(pb), field=fl['orig'],
                      mode=job['mode'], selfcal=bool(fl['selfcal']))
            if before is not None and job['mode'] != 'cube':
                st['dr_before'] = before['dr']
            images.append(st)
        if before is not None:
            after = [i for i in images if i['field'] == fl['orig'] and
                     i['mode'] == 'cont']
            after = after or [i for i in images if i['field'] == fl['orig']
                              and i['mode'] == 'mfs']
            selfcal_out.append(dict(field=fl['orig'], dr_before=before['dr'],
                                    dr_after=after[0]['dr'] if after else None))
    write_json(ASW['out'], dict(images=images, selfcal=selfcal_out))
    return {'n_images': len(images)}


_main(step)
