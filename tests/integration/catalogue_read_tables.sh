#!/usr/bin/env bash
# h5py, astropy (with the units) and pandas read every table of a
# catalogue in which every table has rows: the report's synthetic
# catalogue (tests/report/make_catalogue.c, written through the catalogue
# API as a sweep writes it: spectra, channels and absorption lines, which
# a products sweep of the simulator does not make). `catalogue verify`
# passes on it, and export to VOTable and CSV of the cube tables reads
# back identically.
#
# usage: catalogue_read_tables.sh MAKE_CATALOGUE
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
mkcat=$1
B=$ASW_BUILD_DIR
py=/usr/bin/python3
read_cat=$ASW_SOURCE_DIR/tests/integration/read_catalogue.py
work=$B/test-work/catalogue-read-tables
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$mkcat" "$work/full.h5" >/dev/null
"$B/almasweep" catalogue verify "$work/full.h5" >"$work/verify.out" ||
    { cat "$work/verify.out"; fail "the synthetic catalogue does not verify"; }
"$py" "$read_cat" "$work/full.h5" --all-tables ||
    fail "a table does not read with h5py, astropy and pandas"
for t in spectra spectra_channels absorption; do
    "$B/almasweep" catalogue export "$work/full.h5" --table "$t" \
        -o "$work/$t.vot" || fail "export $t"
    "$B/almasweep" catalogue export "$work/full.h5" --table "$t" \
        --format csv -o "$work/$t.csv" || fail "export $t csv"
    "$B/almasweep" votable "$work/$t.vot" --format json >"$work/$t.json" ||
        fail "our VOTable parser rejects the $t export"
    "$py" "$read_cat" "$work/full.h5" --quick --table "$t" \
        --votable "$work/$t.vot" --ours "$work/$t.json" --csv "$work/$t.csv" ||
        fail "export of /$t does not read back identically"
done
echo "catalogue-read-tables: every table with rows read by h5py, astropy," \
    "pandas; cube tables exported and read back"
