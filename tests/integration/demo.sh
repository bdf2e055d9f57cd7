#!/usr/bin/env bash
# The demo sweep (scripts/demo-run.sh) ends with "catalogue: <path>" and
# that catalogue holds one /images row per public calibrator image of the
# demo archive (12-m and 7-m), each peak within 5% of the truth.
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
out=$ASW_BUILD_DIR/test-work/demo.out
mkdir -p "$(dirname "$out")"
"$ASW_SOURCE_DIR/scripts/demo-run.sh" "$ASW_BUILD_DIR" >"$out" 2>&1 ||
    { cat "$out"; exit 1; }
last=$(tail -n 1 "$out")
case "$last" in
"catalogue: "*) cat=${last#catalogue: } ;;
*) echo "FAIL: last line is '$last'" >&2; exit 1 ;;
esac
/usr/bin/python3 "$ASW_SOURCE_DIR/tests/integration/check_catalogue.py" \
    "$cat" "$ASW_BUILD_DIR/demo/archive/truth.json" --include-7m
