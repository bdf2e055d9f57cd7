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


def clean(vis, field, spw, mode, imagename, datacolumn, savemodel='none'):
    kw = dict(vis=vis, field=str(field), spw=spw, imagename=imagename,
              datacolumn=datacolumn, stokes='I', imsize=[ASW['imsize']] * 2,
              cell='%.6farcsec' % ASW['cell_arcsec'], gridder='standard',
              deconvolver='hogbom', weighting=ASW['weighting'],
              niter=ASW['niter'], nsigma=ASW['nsigma'], threshold='0Jy',
              # Calibrators are point sources at the phase centre: deep
              # minor cycles are safe and save major cycles.
              cyclefactor=0.25, gain=0.1, pblimit=ASW['pblimit'], pbcor=True,
              interactive=False, savemodel=savemodel,
              parallel=ASW['parallel'])
    if ASW['weighting'] == 'briggs':
        kw['robust'] = ASW['robust']
    if mode == 'cube':
        kw.update(specmode='cube', outframe='LSRK', veltype='radio',
                  restoringbeam='common', nchan=-1,
                  interpolation='linear')
    else:
        kw.update(specmode='mfs')
    for ext in ('.image', '.image.pbcor', '.pb', '.psf', '.residual',
                '.model', '.sumwt', '.mask'):
        if os.path.isdir(imagename + ext):
            import shutil
            shutil.rmtree(imagename + ext)
    task('tclean', **kw)
    if not os.path.isdir(imagename + '.image.pbcor'):
        raise StepError('tclean wrote no %s.image.pbcor' % os.path.basename(imagename))


def selfcal(vis, field, name, datacolumn):
    """Phase-only self-calibration of one field from an aggregate mfs
    model; returns the dynamic range before and the new data column."""
    sc = ASW['selfcal']
    refant = sc['refant'] or pick_refant(vis)
    pre = os.path.join(ASW['imagedir'], 'selfcal_pre_field%d' % field)
    clean(vis, field, '', 'mfs', pre, datacolumn, savemodel='modelcolumn')
    before = image_stats(pre)
    table = os.path.join(ASW['imagedir'], 'selfcal_field%d.gcal' % field)
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
        before = None
        if fl['selfcal']:
            before, datacolumn = selfcal(vis, field, fl['name'], datacolumn)
        for job in [j for j in ASW['jobs'] if j['field'] == field]:
            imagename = os.path.join(ASW['imagedir'], job['name'])
            clean(vis, field, job['spw'], job['mode'], imagename, datacolumn)
            pbcor = os.path.join(ASW['fitsdir'], job['name'] + '.pbcor.fits')
            pb = os.path.join(ASW['fitsdir'], job['name'] + '.pb.fits')
            task('exportfits', imagename=imagename + '.image.pbcor',
                 fitsimage=pbcor, overwrite=True, velocity=False)
            task('exportfits', imagename=imagename + '.pb', fitsimage=pb,
                 overwrite=True, velocity=False)
            st = image_stats(imagename)
            st.update(name=job['name'], file=os.path.basename(pbcor),
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
