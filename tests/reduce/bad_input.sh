#!/bin/sh
# Bad input: corrupt, truncated and absurd files give per-image errors and
# exit code 6 from `almasweep reduce`, never a crash (tests/reduce/
# bad_input.py; under the ASan build any sanitizer report fails it).
#   bad_input.sh ALMASWEEP ASW-REDUCE-SYNTH WORKDIR
set -eu
almasweep=$1 synth=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
"$synth" set "$work/good" --n 1 --seed 4
"$synth" cube "$work/good/cube.fits" --nx 32 --ny 32 --nchan 64 \
    --line 30,4,0.5
exec /usr/bin/python3 "$here/bad_input.py" "$almasweep" "$work"
