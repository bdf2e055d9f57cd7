#!/usr/bin/python3
"""Check that an almasweep catalogue reads with h5py and astropy.

Usage: read_catalogue.py CATALOGUE.h5 [--min-images N]

Checks (docs/catalogue.md is the schema of record):
  - root attributes schema_version == 1 and creator "almasweep ...";
  - /units and /images are 1-D, extendible, chunked, shuffle + deflate
    compound datasets, every column has <col>_unit and <col>_description;
  - /units.id is unique, every /images.unit_id is a /units.id and
    /units.n_images matches the number of image rows of each unit;
  - astropy.table.Table.read(path, path=...) reads every table, its column
    units equal the <col>_unit attributes, and the key columns carry the
    documented units (peak_jy Jy/beam, freq_hz Hz, mjd d, ...);
  - QTable.read gives Quantity columns; pandas (if installed) reads rows.
Exit status 0 when all checks pass, 1 otherwise; one line per failure.
"""
import argparse
import collections
import sys

import h5py
import numpy as np
from astropy import units as u
from astropy.table import QTable, Table

TABLES = ("units", "images")
EXPECTED_UNITS = {
    "images": {"peak_jy": "Jy/beam", "rms_jy": "Jy/beam", "freq_hz": "Hz",
               "mjd": "d", "bmaj_arcsec": "arcsec", "bmin_arcsec": "arcsec",
               "bpa_deg": "deg", "peak_x_pix": "pix", "snr": None,
               "source": None},
    "units": {"bytes_total": "byte", "bytes_fetched": "byte",
              "t_download_s": "s", "t_extract_s": "s", "t_process_s": "s",
              "t_reduce_s": "s", "attempts": None, "status": None},
}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def as_text(v):
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else str(v)


def check_h5py(path):
    with h5py.File(path, "r") as f:
        check(int(f.attrs.get("schema_version", -1)) == 1,
              "root attribute schema_version != 1")
        check(as_text(f.attrs.get("creator", "")).startswith("almasweep"),
              "root attribute creator does not start with 'almasweep'")
        data = {}
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
        if len(data) != 2:
            return data
        ids = [as_text(x) for x in data["units"]["id"]]
        check(len(ids) == len(set(ids)), "/units.id has duplicates")
        per_unit = collections.Counter(as_text(x)
                                       for x in data["images"]["unit_id"])
        orphans = set(per_unit) - set(ids)
        check(not orphans, f"/images rows without a /units row: {orphans}")
        for uid, n in zip(ids, data["units"]["n_images"]):
            check(per_unit.get(uid, 0) == n,
                  f"/units {uid}: n_images {n} but "
                  f"{per_unit.get(uid, 0)} /images rows")
        return data


def check_astropy(path, data):
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
        check(t.meta.get("schema_version") == 1,
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
                check(t[col].unit == want,
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
        check(list(df.columns) == list(rows.dtype.names),
              f"pandas /{name}: columns differ")
    return "pandas ok"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalogue")
    ap.add_argument("--min-images", type=int, default=0,
                    help="fail if /images has fewer rows")
    args = ap.parse_args()
    data = check_h5py(args.catalogue)
    tables = check_astropy(args.catalogue, data)
    note = check_pandas(data)
    n_img = len(data.get("images", []))
    check(n_img >= args.min_images,
          f"/images has {n_img} rows, want >= {args.min_images}")
    for line in failures:
        print("FAIL:", line)
    counts = ", ".join(f"/{k} {len(v)} rows" for k, v in tables.items())
    print(f"{args.catalogue}: {counts}; {note}; "
          f"{'OK' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
