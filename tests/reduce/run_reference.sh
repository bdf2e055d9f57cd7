#!/bin/sh
# Peer agreement: `almasweep reduce` against the independent astropy + scipy
# reference (tests/reduce/reference.py) on synthetic pipeline images.
#   run_reference.sh ALMASWEEP ASW-REDUCE-SYNTH WORKDIR
# Skips (77) when Debian's python3 lacks astropy or scipy.
set -eu
almasweep=$1 synth=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
if ! "$py" -c "import astropy, scipy" 2>/dev/null; then
    echo "SKIP: $py has no astropy/scipy (apt-get install python3-astropy python3-scipy)"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work"
"$synth" set "$work/set" --n 32 --seed 11
rc=0
"$almasweep" reduce "$work"/set/*.pbcor.fits >"$work/almasweep.json" || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: almasweep reduce exit $rc"; exit 1; }
"$py" "$here/reference.py" "$work"/set/*.pbcor.fits --json "$work/reference.json"
exec "$py" "$here/compare_reference.py" "$work/almasweep.json" \
    "$work/reference.json" "$work/set/truth.json"
