#!/bin/sh
# asw_casa_version() (provenance) agrees with casatools.version_string().
#   casa_version.sh PYTHON ASW_CASA_VERSION_BINARY WORKDIR
py=$1 bin=$2 work=$3
rm -rf "$work" && mkdir -p "$work.py"
if [ ! -x "$py" ] || ! (cd "$work.py" && HOME=$work.py "$py" -c 'import casatools') >/dev/null 2>&1; then
    rm -rf "$work.py"
    if [ "${ASW_REQUIRE_CASA:-0}" = 1 ]; then echo "FAIL: no CASA venv at $py"; exit 1; fi
    echo "SKIP: no CASA venv at $py"
    exit 77
fi
mkdir -p "$work"
out=$("$bin" "$py" "$work") || { echo "FAIL: $out"; exit 1; }
echo "$out"
want=$(cd "$work.py" && HOME=$work.py "$py" -c 'import casatools; print(casatools.version_string())' 2>/dev/null | tail -1)
rm -rf "$work.py"
got=$(echo "$out" | head -1)
[ "$got" = "$want" ] || { echo "FAIL: asw_casa_version '$got', casatools '$want'"; exit 1; }
[ -z "$(ls "$work")" ] || { echo "FAIL: left files in $work: $(ls "$work")"; exit 1; }
echo "PASS: CASA $got"
