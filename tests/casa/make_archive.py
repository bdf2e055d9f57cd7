#!/usr/bin/env python3
"""Build an archive-simulator root (docs/sim-archive-layout.md) that serves
the raw tars made by make_eb.py: archive.sqlite with the obscore, datalink
and access tables, and dataPortal/<tar> (hard links, or copies).

  make_archive.py --root DIR EBDIR/uid.truth.json [...]

Each EB becomes its own member OUS (from its truth: mous, project) with one
obscore row per (calibrator or science field, spw) and a DataLink listing
holding the EB's raw tar as #progenitor. Run with any python3 (sqlite3).
"""
import argparse
import json
import os
import shutil
import sqlite3
import sys

OBSCORE = [
    ('obs_publisher_did', 'TEXT'), ('obs_collection', 'TEXT'),
    ('facility_name', 'TEXT'), ('instrument_name', 'TEXT'),
    ('obs_id', 'TEXT'), ('dataproduct_type', 'TEXT'),
    ('calib_level', 'INTEGER'), ('access_url', 'TEXT'),
    ('access_format', 'TEXT'), ('target_name', 'TEXT'), ('s_ra', 'REAL'),
    ('s_dec', 'REAL'), ('s_fov', 'REAL'), ('s_region', 'TEXT'),
    ('s_resolution', 'REAL'), ('t_min', 'REAL'), ('t_max', 'REAL'),
    ('t_exptime', 'REAL'), ('em_min', 'REAL'), ('em_max', 'REAL'),
    ('em_xel', 'INTEGER'), ('pol_states', 'TEXT'), ('proposal_id', 'TEXT'),
    ('data_rights', 'TEXT'), ('obs_release_date', 'TEXT'),
    ('band_list', 'TEXT'), ('bandwidth', 'REAL'), ('frequency', 'REAL'),
    ('frequency_support', 'TEXT'), ('velocity_resolution', 'REAL'),
    ('antenna_arrays', 'TEXT'), ('is_mosaic', 'TEXT'), ('qa2_passed', 'TEXT'),
    ('spatial_resolution', 'REAL'), ('group_ous_uid', 'TEXT'),
    ('member_ous_uid', 'TEXT'), ('asdm_uid', 'TEXT'),
    ('schedblock_name', 'TEXT'), ('type', 'TEXT'), ('scan_intent', 'TEXT'),
    ('science_observation', 'TEXT'), ('obs_title', 'TEXT'),
]
SCAN_INTENT = {'bp': 'BANDPASS FLUX WVR', 'ph': 'PHASE WVR',
               'ch': 'CHECK WVR', 'sci': 'TARGET'}


def slash_uid(u):
    """uid___A001_X1_X2 -> uid://A001/X1/X2"""
    p = u[len('uid___'):].split('_')
    return 'uid://%s/%s/%s' % tuple(p)


def hms_to_deg(ra, dec):
    h, m, s = ra.replace('h', ' ').replace('m', ' ').replace('s', '').split()
    ra_deg = 15.0 * (float(h) + float(m) / 60 + float(s) / 3600)
    sign = -1 if dec.strip().startswith('-') else 1
    d, m, s = dec.strip('+-').replace('d', ' ').replace('m', ' ').replace('s', '').split()
    return ra_deg, sign * (float(d) + float(m) / 60 + float(s) / 3600)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--root', required=True)
    ap.add_argument('truth', nargs='+')
    a = ap.parse_args()
    os.makedirs(os.path.join(a.root, 'dataPortal'), exist_ok=True)
    db_path = os.path.join(a.root, 'archive.sqlite')
    if os.path.exists(db_path):
        os.remove(db_path)
    db = sqlite3.connect(db_path)
    db.execute('CREATE TABLE obscore(%s)' % ', '.join('%s %s' % c for c in OBSCORE))
    db.execute('CREATE TABLE datalink(query_id TEXT NOT NULL, seq INTEGER NOT NULL, '
               'id TEXT, access_name TEXT, service_def TEXT, error_message TEXT, '
               'semantics TEXT, local_semantics TEXT, description TEXT, '
               'content_type TEXT, content_length INTEGER, content_qualifier TEXT, '
               'link_auth TEXT, readable INTEGER)')
    db.execute('CREATE TABLE access(name TEXT PRIMARY KEY, data_rights TEXT)')
    cols = [c for c, _ in OBSCORE]
    for path in a.truth:
        t = json.load(open(path))
        src = os.path.join(os.path.dirname(path), t['tar'])
        dst = os.path.join(a.root, 'dataPortal', t['tar'])
        if os.path.exists(dst):
            os.remove(dst)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        mous = slash_uid(t['mous'])
        eb = slash_uid(t['uid'])
        gous = mous[:-1] + ('0' if mous[-1] != '0' else '1')
        t0 = t.get('mjd_start', 60462.0)
        for f in t['fields']:
            ra, dec = hms_to_deg(f['ra'], f['dec'])
            for s in t['spws']:
                f0 = s['chan0_hz']
                f1 = f0 + s['width_hz'] * (s['nchan'] - 1)
                lo, hi = min(f0, f1) - s['width_hz'] / 2, max(f0, f1) + s['width_hz'] / 2
                row = dict(
                    obs_publisher_did='ADS/JAO.ALMA#%s' % t['project'],
                    obs_collection='ALMA', facility_name='JAO',
                    instrument_name='ALMA', obs_id=mous,
                    dataproduct_type='cube', calib_level=2,
                    access_url='', access_format='application/x-votable+xml',
                    target_name=f['name'], s_ra=ra, s_dec=dec, s_fov=0.0175,
                    s_region='Circle ICRS %f %f 0.0087' % (ra, dec),
                    s_resolution=3.5, t_min=t0, t_max=t0 + 0.01,
                    t_exptime=600.0, em_min=299792458.0 / hi,
                    em_max=299792458.0 / lo, em_xel=s['nchan'],
                    pol_states='/XX/YY/', proposal_id=t['project'],
                    data_rights='Public',
                    obs_release_date='2024-06-02T00:00:00.000',
                    band_list='3', bandwidth=hi - lo,
                    frequency=(lo + hi) / 2e9,
                    frequency_support='[%.3f..%.3fGHz,%.2fkHz,XX YY]' % (lo / 1e9, hi / 1e9, s['width_hz'] / 1e3),
                    velocity_resolution=299792458.0 * s['width_hz'] / ((lo + hi) / 2),
                    antenna_arrays=' '.join('A%03d:DA%02d' % (i, 41 + i) for i in range(10)),
                    is_mosaic='F', qa2_passed='T', spatial_resolution=3.5,
                    group_ous_uid=gous, member_ous_uid=mous, asdm_uid=eb,
                    schedblock_name='sim_a_03_TM1', type='S',
                    scan_intent=SCAN_INTENT.get(f['role'], 'TARGET'),
                    science_observation='T' if f['role'] == 'sci' else 'F',
                    obs_title='almasweep casa-mode test data')
                db.execute('INSERT INTO obscore(%s) VALUES(%s)' % (
                    ', '.join(cols), ', '.join('?' * len(cols))),
                    [row[c] for c in cols])
        qid = t['mous']
        db.execute('INSERT INTO datalink VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
                   (qid, 1, mous, t['tar'], None, None, '#progenitor', None,
                    'Raw data of execution block %s' % eb, 'application/x-tar',
                    os.path.getsize(src), None, 'false', 1))
    db.commit()
    db.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
