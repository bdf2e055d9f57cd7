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

gen=$ASW_BUILD_DIR/test-work/archive-small
# The archive is shared by the tests; generate it once per build, safely
# when tests run in parallel (mkdir is atomic).
if [ ! -f "$gen/.done" ]; then
    if mkdir "$gen.lock" 2>/dev/null; then
        rm -rf "$gen"
        "$ASW_BUILD_DIR/tests/gen/asw-gen" --out "$gen" --preset small --seed 7
        touch "$gen/.done"
        rmdir "$gen.lock"
    else
        for _ in $(seq 1 300); do [ -f "$gen/.done" ] && break; sleep 0.1; done
    fi
fi

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
