#!/usr/bin/python3
"""Check that an almasweep catalogue reads with h5py, astropy and pandas.

Usage: read_catalogue.py CATALOGUE.h5 [--min-images N] [--same-as REF.h5]
                         [--expect-done FILE]

Checks (docs/catalogue.md is the schema of record):
  - root attributes schema_version == 3, creator "almasweep ...",
    catalogue_id, journal_seq;
  - every table (/runs /units /images /seds /absorption /spectra
    /spectra_channels /sources) is a 1-D, extendible, chunked, shuffle +
    deflate compound dataset with <col>_unit and <col>_description on every
    column and its astropy header next to it;
  - /units.id is unique; every measurement row belongs to a done unit; the
    /units counts equal the rows; /spectra slices cover /spectra_channels;
  - astropy.table.Table.read(path, path=...) reads every table, its column
    units equal the <col>_unit attributes, key columns carry the documented
    units (peak_jy Jy/beam, freq_hz Hz, mjd d, ...); QTable gives Quantity
    columns; pandas.DataFrame reads every table (if pandas is installed);
  - --same-as REF: the same units and the same rows in every table as REF
    (rows compared sorted; timing, host, rank, run and time-stamp columns
    ignored; spectra compared with their channels);
  - --expect-done FILE: every unit id listed in FILE (one per line) is done.
  - --all-tables: every table has rows (so that every reader is checked on
    values, not only on an empty table's header).
  - --table T with --votable VOT, --ours JSON, --csv CSV: an export of table
    T ('almasweep catalogue export') read back by astropy.io.votable, by our
    own VOTable parser ('almasweep votable VOT --format json' > JSON) and by
    pandas.read_csv holds exactly the values of the file (NaN as null) and,
    for the VOTable, the units.
Exit status 0 when all checks pass, 1 otherwise; one line per failure.
"""
import argparse
import collections
import sys

import h5py
import numpy as np

SCHEMA_VERSION = 3
TABLES = ("runs", "units", "images", "seds", "absorption", "spectra",
          "spectra_channels", "sources")
MEASURED = {"images": "n_images", "seds": "n_seds",
            "absorption": "n_absorption", "spectra": "n_spectra"}
EXPECTED_UNITS = {
    "images": {"peak_jy": "Jy/beam", "rms_jy": "Jy/beam", "freq_hz": "Hz",
               "mjd": "d", "flux_jy": "Jy", "bmaj_arcsec": "arcsec",
               "bpa_deg": "deg", "peak_x_pix": "pix", "snr": None,
               "source": None},
    "units": {"bytes_total": "byte", "bytes_fetched": "byte",
              "t_download_s": "s", "t_reduce_s": "s", "attempts": None,
              "status": None},
    "runs": {"ranks": None, "start_utc": None},
    "seds": {"ref_freq_hz": "Hz", "flux_ref_jy": "Jy", "alpha": None},
    "absorption": {"v_lsrk_kms": "km/s", "rest_freq_hz": "Hz",
                   "tau_peak": None},
    "spectra": {"mjd": "d", "freq_min_hz": "Hz", "n_chan": None},
    "spectra_channels": {"freq_hz": "Hz", "flux_jy": "Jy/beam",
                         "ap_flux_jy": "Jy", "tau": None},
    "sources": {"flux_median_jy": "Jy", "first_mjd": "d", "alpha": None},
}
# Columns that differ between two runs of the same sweep.
VOLATILE = {"updated_utc", "run_id", "host", "rank", "bytes_fetched",
            "t_download_s", "t_extract_s", "t_process_s", "t_reduce_s"}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def as_text(v):
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else str(v)


def check_h5py(path):
    data = {}
    with h5py.File(path, "r") as f:
        check(int(f.attrs.get("schema_version", -1)) == SCHEMA_VERSION,
              f"root attribute schema_version != {SCHEMA_VERSION}")
        check(as_text(f.attrs.get("creator", "")).startswith("almasweep"),
              "root attribute creator does not start with 'almasweep'")
        check(len(as_text(f.attrs.get("catalogue_id", ""))) == 32,
              "root attribute catalogue_id missing")
        check("journal_seq" in f.attrs, "root attribute journal_seq missing")
        for name in TABLES:
            if not check(name in f, f"/{name} missing"):
                continue
            ds = f[name]
            check(ds.ndim == 1 and ds.dtype.names is not None,
                  f"/{name} is not a 1-D compound dataset")
            check(ds.maxshape == (None,), f"/{name} is not extendible")
            check(ds.chunks is not None, f"/{name} is not chunked")
            check(ds.compression == "gzip" and ds.shuffle,
                  f"/{name} lacks shuffle + deflate")
            check(f"{name}.__table_column_meta__" in f,
                  f"/{name}.__table_column_meta__ (astropy header) missing")
            for col in ds.dtype.names:
                for suffix in ("_unit", "_description"):
                    check(col + suffix in ds.attrs,
                          f"/{name} attribute {col}{suffix} missing")
                check(as_text(ds.attrs.get(col + "_description", "")) != "",
                      f"/{name}.{col} has an empty description")
            data[name] = ds[:]
    if "units" not in data:
        return data
    units = data["units"]
    ids = [as_text(x) for x in units["id"]]
    check(len(ids) == len(set(ids)), "/units.id has duplicates")
    status = {as_text(i): as_text(s) for i, s in zip(units["id"],
                                                     units["status"])}
    for table, col in MEASURED.items():
        if table not in data:
            continue
        per_unit = collections.Counter(as_text(x)
                                       for x in data[table]["unit_id"])
        for uid, n in per_unit.items():
            check(status.get(uid) == "done",
                  f"/{table}: {n} rows of unit {uid} "
                  f"({status.get(uid, 'not in /units')})")
        for uid, n in zip(ids, units[col]):
            check(per_unit.get(uid, 0) == n,
                  f"/units {uid}: {col} {n} but {per_unit.get(uid, 0)} "
                  f"/{table} rows")
    if "spectra" in data and "spectra_channels" in data:
        sp = data["spectra"]
        ends = np.cumsum(sp["n_chan"]) if len(sp) else np.array([0])
        check(len(sp) == 0 or (np.array_equal(sp["chan_offset"],
                                              ends - sp["n_chan"])
                               and ends[-1] == len(data["spectra_channels"])),
              "/spectra slices do not cover /spectra_channels")
    return data


def check_astropy(path, data):
    from astropy import units as u
    from astropy.table import QTable, Table
    with h5py.File(path, "r") as f:
        unit_attrs = {name: {c: as_text(f[name].attrs[c + "_unit"])
                             for c in f[name].dtype.names}
                      for name in TABLES if name in f}
    tables = {}
    for name in TABLES:
        try:
            t = Table.read(path, path="/" + name)
        except Exception as e:  # report, keep checking the rest
            check(False, f"Table.read(path='/{name}') failed: {e!r}")
            continue
        tables[name] = t
        check(len(t) == len(data.get(name, [])),
              f"astropy /{name}: {len(t)} rows, h5py {len(data.get(name, []))}")
        check(t.meta.get("schema_version") == SCHEMA_VERSION,
              f"astropy /{name}: meta schema_version missing")
        for col in t.colnames:
            want = unit_attrs[name].get(col, "")
            got = t[col].unit
            if want:
                check(got is not None and got == u.Unit(want),
                      f"astropy /{name}.{col}: unit {got}, attribute {want}")
            else:
                check(got is None,
                      f"astropy /{name}.{col}: unit {got}, expected none")
            check(bool(t[col].description),
                  f"astropy /{name}.{col}: no description")
        for col, want in EXPECTED_UNITS[name].items():
            if not check(col in t.colnames, f"astropy /{name}.{col} missing"):
                continue
            if want is None:
                check(t[col].unit is None,
                      f"astropy /{name}.{col}: unexpected unit {t[col].unit}")
            else:
                check(t[col].unit == u.Unit(want),
                      f"astropy /{name}.{col}: unit {t[col].unit} != {want}")
        # astropy keeps fixed-length strings as bytes unless asked.
        s = Table.read(path, path="/" + name, character_as_bytes=False)
        for col in s.colnames:
            if s[col].dtype.kind in "SU":
                check(s[col].dtype.kind == "U",
                      f"astropy /{name}.{col}: strings not decoded")
    if "images" in tables:
        q = QTable.read(path, path="/images")
        is_q = check(isinstance(q["peak_jy"], u.Quantity)
                     and q["peak_jy"].unit == u.Jy / u.beam,
                     "QTable /images.peak_jy is not a Jy/beam Quantity")
        if is_q and len(q):
            check(np.allclose(q["peak_jy"].to_value(u.Jy / u.beam),
                              data["images"]["peak_jy"], equal_nan=True),
                  "astropy and h5py disagree on /images.peak_jy")
    return tables


def check_pandas(data):
    try:
        import pandas as pd
    except ImportError:
        return "pandas not installed, skipped"
    for name, rows in data.items():
        df = pd.DataFrame(rows)
        check(list(df.columns) == list(rows.dtype.names)
              and len(df) == len(rows), f"pandas /{name}: columns differ")
    return "pandas ok"


def canonical_rows(data, name):
    """The rows of a table as sorted tuples, volatile columns left out;
    a spectrum carries its channels instead of their offset."""
    rows = data[name]
    cols = [c for c in rows.dtype.names
            if c not in VOLATILE and c != "chan_offset"]
    out = []
    for r in rows:
        key = []
        for c in cols:
            v = r[c]
            if isinstance(v, (bytes, np.bytes_)):
                key.append(v.decode())
            elif isinstance(v, (float, np.floating)) and np.isnan(v):
                key.append("nan")
            else:
                key.append(v.item() if hasattr(v, "item") else v)
        if name == "spectra":
            ch = data["spectra_channels"][
                r["chan_offset"]:r["chan_offset"] + r["n_chan"]]
            key.append(tuple(np.nan_to_num(ch.view(np.float64), nan=1e300)
                             .tolist()))
        out.append(tuple(key))
    return cols, sorted(out, key=repr)


def check_same(data, ref_path):
    ref = check_h5py_quiet(ref_path)
    for name in TABLES:
        if name in ("runs", "spectra_channels"):
            continue  # runs differ by design; channels go with /spectra
        if not check(name in data and name in ref,
                     f"/{name} is missing from one of the catalogues"):
            continue
        cols, mine = canonical_rows(data, name)
        _, theirs = canonical_rows(ref, name)
        if not check(mine == theirs,
                     f"/{name}: {len(mine)} rows differ from the "
                     f"{len(theirs)} rows of {ref_path}"):
            a, b = set(mine), set(theirs)
            for row in sorted(a - b, key=repr)[:3]:
                failures.append(f"  only here: {dict(zip(cols, row))}")
            for row in sorted(b - a, key=repr)[:3]:
                failures.append(f"  only in reference: {dict(zip(cols, row))}")
    return "same rows as %s" % ref_path


def check_h5py_quiet(path):
    with h5py.File(path, "r") as f:
        return {name: f[name][:] for name in TABLES if name in f}


def same_value(kind, h5v, other):
    """Is other (from an export) the value h5v of the file?"""
    if kind == "S":
        h = h5v.decode() if isinstance(h5v, bytes) else str(h5v)
        o = "" if other is None or other is np.ma.masked else other
        o = o.decode() if isinstance(o, bytes) else str(o)
        return h == o
    if kind == "f":
        if np.isnan(h5v):
            return other is None or other is np.ma.masked or (
                isinstance(other, float) and np.isnan(other))
        return other is not None and other is not np.ma.masked and \
            float(other) == float(h5v)
    return other is not None and int(other) == int(h5v)


def check_export(path, table, vot=None, ours=None, csv=None):
    with h5py.File(path, "r") as f:
        rows = f[table][:]
        units = {c: as_text(f[table].attrs[c + "_unit"])
                 for c in rows.dtype.names}
    cols = rows.dtype.names
    kinds = {c: rows.dtype[c].kind for c in cols}
    readers = []
    if vot:
        import warnings
        from astropy import units as u
        from astropy.io.votable import parse_single_table
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            t = parse_single_table(vot).to_table()
        check(not w, f"astropy warns on {vot}: {[str(x.message) for x in w]}")
        check(list(t.colnames) == list(cols), f"{vot}: columns differ")
        for c in cols:
            want = units[c]
            got = t[c].unit
            check((got is None and not want) or
                  (want and got is not None and u.Unit(got) == u.Unit(want)),
                  f"{vot}: {c} unit {got}, file {want!r}")
        readers.append(("astropy.io.votable", lambda i, c: t[c][i], len(t)))
    if ours:
        import json
        js = json.load(open(ours))
        readers.append(("almasweep votable", lambda i, c: js[i].get(c),
                        len(js)))
    if csv:
        import pandas as pd
        df = pd.read_csv(csv, keep_default_na=False, dtype=str)
        check(list(df.columns) == list(cols), f"{csv}: columns differ")

        def cell(i, c):
            v = df[c].iloc[i]
            if kinds[c] == "f":
                return None if v == "" else float(v)
            return v
        readers.append(("pandas.read_csv", cell, len(df)))
    for who, get, n in readers:
        if not check(n == len(rows), f"{who}: {n} rows of /{table}, file "
                     f"{len(rows)}"):
            continue
        bad = 0
        for i, r in enumerate(rows):
            for c in cols:
                if not same_value(kinds[c], r[c], get(i, c)):
                    bad += 1
                    if bad <= 3:
                        failures.append(f"{who}: /{table} row {i} {c}: "
                                        f"{get(i, c)!r} != {r[c]!r}")
        check(bad == 0, f"{who}: {bad} values of /{table} differ")
    return "export of /%s read back by %s" % (
        table, ", ".join(w for w, _, _ in readers))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalogue")
    ap.add_argument("--min-images", type=int, default=0,
                    help="fail if /images has fewer rows")
    ap.add_argument("--same-as", metavar="REF",
                    help="fail unless every table has the rows of REF")
    ap.add_argument("--expect-done", metavar="FILE",
                    help="fail unless every unit id in FILE is done")
    ap.add_argument("--all-tables", action="store_true",
                    help="fail if any table is empty")
    ap.add_argument("--quick", action="store_true",
                    help="h5py only: skip the astropy and pandas checks")
    ap.add_argument("--table", help="the exported table (with the below)")
    ap.add_argument("--votable", help="a VOTable export of --table")
    ap.add_argument("--ours", help="that VOTable as 'almasweep votable' "
                    "JSON")
    ap.add_argument("--csv", help="a CSV export of --table")
    args = ap.parse_args()
    data = check_h5py(args.catalogue)
    if args.quick:
        tables, note = data, "h5py only"
    else:
        tables = check_astropy(args.catalogue, data)
        note = check_pandas(data)
    n_img = len(data.get("images", []))
    check(n_img >= args.min_images,
          f"/images has {n_img} rows, want >= {args.min_images}")
    if args.all_tables:
        for name in TABLES:
            check(len(data.get(name, [])) > 0, f"/{name} is empty")
    if args.same_as:
        note += "; " + check_same(data, args.same_as)
    if args.table:
        note += "; " + check_export(args.catalogue, args.table, args.votable,
                                    args.ours, args.csv)
    if args.expect_done and "units" in data:
        status = {as_text(i): as_text(s) for i, s in
                  zip(data["units"]["id"], data["units"]["status"])}
        want = [line.strip() for line in open(args.expect_done)
                if line.strip()]
        for uid in want:
            check(status.get(uid) == "done",
                  f"unit {uid} was stored as done before the kill, now "
                  f"{status.get(uid, 'missing')}")
        note += f"; {len(want)} units done as logged"
    for line in failures:
        print("FAIL:", line)
    counts = ", ".join(f"/{k} {len(v)}" for k, v in tables.items())
    print(f"{args.catalogue}: {counts} rows; {note}; "
          f"{'OK' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
