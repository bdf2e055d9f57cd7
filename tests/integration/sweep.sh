#!/usr/bin/env bash
# Integration test: a products-mode sweep against the archive simulator.
# usage: sweep.sh NAME RANKS   (RANKS 0 = one process without mpirun)
# Checks the catalogue against the generator's truth (check_catalogue.py).
set -euo pipefail
name=$1 ranks=$2
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/scripts/lib.sh"
work=$ASW_BUILD_DIR/test-work/$name
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT

gen=$(asw_test_archive "$ASW_BUILD_DIR")

asw_sim_start "$ASW_BUILD_DIR" "$gen" "$work"
cat >"$work/sweep.ini" <<INI
[archive]
mirrors = $ASW_SIM_URL
[pipeline]
mode = products
[scratch]
dir = $work/scratch
[output]
catalogue = $work/sweep.h5
[run]
max_attempts = 2
INI

asw_mpi_env
if [ "$ranks" = 0 ]; then
    "$ASW_BUILD_DIR/almasweep" run --config "$work/sweep.ini"
else
    mpirun -n "$ranks" --oversubscribe "$ASW_BUILD_DIR/almasweep" run \
        --config "$work/sweep.ini"
fi
/usr/bin/python3 "$ASW_SOURCE_DIR/tests/integration/check_catalogue.py" \
    "$work/sweep.h5" "$gen/truth.json" --dump "$work/images.json"
# Nothing may be left in scratch by done units.
left=$(find "$work/scratch" -type f 2>/dev/null | wc -l)
[ "$left" = 0 ] || { echo "scratch not cleaned: $left files" >&2; exit 1; }
